/* cli_decision: the safeguards a rollout was started with, and who set
 * them aside: whether a rollback backs each database up before its
 * first revert (or who said --no-backup, or that the plan says
 * rollback_backup: false), and an apply's --reapply of a rolled-back
 * plan; and what operators said to it while it runs (a pause, with who
 * and why; every tune). Worded once, from the rollout's view, for
 * `rollout status` and the execution record (Markdown and JSON).
 *
 * Pure functions of the view: thread-safe.
 */
#ifndef CLI_DECISION_H
#define CLI_DECISION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sk_view.h"
#include "sk_wire.h"

/* The backup decision of a rollback into buf (always NUL-terminated):
 * "skipped: --no-backup by NAME (key K)", "skipped: the plan says
 * rollback_backup: false", both, or "taken in each database before its
 * first revert"; "" for a rollout that reverts nothing. */
void cli_decision_backup(const sk_rollout_view *v, char *buf, size_t len);

/* An apply's --reapply into buf: "--reapply by NAME (key K) after rollout
 * R of the plan was rolled back"; "" when it was not one. */
void cli_decision_reapply(const sk_rollout_view *v, char *buf, size_t len);

/* A pause into buf: "by NAME (key K) at 2026-12-03T10:00:00Z: REASON"
 * (no ": REASON" without one); "" when v is not paused. */
void cli_decision_pause(const sk_rollout_view *v, char *buf, size_t len);

/* Every tune so far into buf: "batch_max 2000, max_rows_per_second
 * 500"; "" when never tuned. */
void cli_decision_tune(const sk_rollout_view *v, char *buf, size_t len);

#endif

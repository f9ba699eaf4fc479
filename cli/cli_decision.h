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

#include "sk_wire.h"

/* Whether v's agents were told to revert without a backup. False for a
 * rollout that reverts nothing. */
bool cli_decision_backup_skipped(const sk_rollout_view *v);

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

/* The pause and the tune as keys of obj: "paused" (null unless paused:
 * operator, operator_key, at_ms, reason) and "tune" (null unless tuned:
 * max_rows_per_second, a number or "none", absent when never tuned;
 * batch_min, batch_max, absent when never tuned). Returns 0, or -1 out
 * of memory. */
int cli_decision_opctl_json(json_t *obj, const sk_rollout_view *v);

/* Both as keys of obj: "backup_before_revert" (null unless v reverts:
 * skipped, skipped_by — "--no-backup", "rollback_backup: false" or "" —
 * operator and operator_key of the --no-backup, "" otherwise) and
 * "reapply" (null unless an apply with --reapply: of_rollout, the rolled
 * back apply, operator, operator_key). Returns 0, or -1 out of memory. */
int cli_decision_json(json_t *obj, const sk_rollout_view *v);

#endif

/* coord_line: stop the line (skein stop --all, --lift, --status): one
 * switch that pauses every running rollout at its next safe point,
 * except those named, and makes rollouts started while it is on start
 * paused; the lift resumes exactly the rollouts the stop paused (a
 * rollout an operator paused on their own stays paused).
 *
 * The stop and the lift are journaled (LineStop), and so is each pause
 * and resume they make (OperatorControl with line, coord_opctl_line), so
 * replay restores both without re-deriving anything. A coordinator
 * killed between the stop's record and its pauses restarts stopped with
 * those rollouts running; coord_line_settle pauses them.
 *
 * Not thread-safe: the coordinator's loop owns it.
 */
#ifndef COORD_LINE_H
#define COORD_LINE_H

#include <stdbool.h>
#include <stdint.h>

#include "coord_auth.h"
#include "coord_journal.h"
#include "coord_registry.h"
#include "sk_err.h"
#include "sk_wire.h"

typedef struct coord_line {
	bool stopped;
	char by[SK_NAME_MAX];
	char by_key[SK_NAME_MAX];
	int64_t since_ms;
	char reason[SK_REASON_MAX];
	char except[SK_LINE_EXCEPT_MAX][SK_ID_MAX];
	size_t nexcept;
} coord_line;

/* Answer req (SK_CLI_STOP) from actor at now_ms. SK_STOP_ALL: journal
 * the stop, then pause every running rollout that may be paused, is not
 * paused and not excepted; SK_STOP_LIFT: journal the lift, then resume
 * every rollout the stop paused (starting a phase a pause held back);
 * SK_STOP_STATUS changes nothing. *held says agents have something to
 * hear. On failure nothing changed and err says why: SK_ESTATE (stop of
 * a stopped line, lift of a running one), SK_EINVAL (a reason with a
 * control character, an exception named twice or with status/lift),
 * SK_ENOTFOUND (an exception that is no rollout), or the journal's. A
 * lift whose next phase cannot be journaled is applied and fails. */
int coord_line_answer(coord_line *l, coord_registry *rollouts, coord_journal *j,
    const sk_cli_request *req, const coord_actor *actor, int64_t now_ms,
    bool *held, sk_err *err) SK_WARN_UNUSED;

/* A rollout started while the line is stopped starts paused by it; said
 * (an event) when live. Not journaled: replay calls it again after the
 * rollout's created record, with the line as it was then. No-op when
 * the line runs or ro may not be paused. */
void coord_line_adopt(const coord_line *l, coord_rollout *ro, int64_t now_ms, bool live);

/* Apply a journaled stop or lift (replay): the line's state, and the
 * pauses and resumes it made, which are derived from the rollouts as
 * replay has them at that point of the journal, as they were then. */
void coord_line_replay(
    coord_line *l, coord_registry *rollouts, const coord_line_record *rec);

/* The line as the CLI shows it into out: its state and the rollouts it
 * holds paused (the first SK_LINE_PAUSED_MAX). */
void coord_line_view(
    const coord_line *l, const coord_registry *rollouts, sk_line_view *out);

#endif

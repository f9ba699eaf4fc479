/* sk_view_mode: how the CLI and the HTTP API word a rollout of each mode (enum sk_mode) and
 * its outcomes, one row of data per mode: what status marks it with, what
 * the execution record calls it and its verdicts, in what order a
 * database's steps are listed. The printers read the row and never test
 * the mode: adding a mode is adding a row (and its row in the
 * coordinator's coord_mode).
 *
 * Also what the states the coordinator sends mean (a state name to an
 * outcome), so that printers compare outcomes, not words. Pure lookups:
 * thread-safe.
 */
#ifndef SK_VIEW_MODE_H
#define SK_VIEW_MODE_H

#include <stdbool.h>

/* How a region, a database or a run came out. */
enum sk_view_outcome {
	SK_VIEW_OUT_OK,     /* succeeded (a rehearsal: READY) */
	SK_VIEW_OUT_FAILED, /* failed, refused (a rehearsal: BLOCKED) */
	SK_VIEW_OUT_NONE,   /* not yet: pending, running, or unknown */
	SK_VIEW_OUT_MAX
};

typedef struct sk_view_mode_row {
	int mode; /* enum sk_mode: this row's own index */
	/* What status marks a run of it with, " (rehearsal)"; NULL: none.
	 * With undoes: " (rollback of r-...)". */
	const char *label;
	/* It undoes another rollout (of_rollout): status names it, the
	 * record has a "Rolls back" row and counts the steps reverted. */
	bool undoes;
	/* Its regions get verdicts (verdict[]) rather than their state,
	 * and `rollout wait` ends on one. */
	bool verdicts;
	/* A database's steps are listed in the order run (a rollback's:
	 * newest first), not the plan's with the unreached ones. */
	bool steps_as_run;
	const char *title;          /* the record's Mode */
	const char *halted;         /* the record's label of the reason */
	const char *failed_because; /* ... of a failed database's reasons */
	const char *verdict[SK_VIEW_OUT_MAX]; /* a database's, by outcome */
} sk_view_mode_row;

/* The row of mode; a mode this CLI does not know (a newer coordinator's)
 * reads as apply. Never NULL. */
const sk_view_mode_row *sk_view_mode_of(int mode);

/* What the state a coordinator sends for a region or a rollout means:
 * "succeeded" and "ready" are SK_VIEW_OUT_OK; "failed", "blocked" and
 * "refused" SK_VIEW_OUT_FAILED; any other SK_VIEW_OUT_NONE. */
int sk_view_state_outcome(const char *state);

#endif

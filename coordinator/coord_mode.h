/* coord_mode: what each rollout mode (enum sk_mode) means to the
 * coordinator, as one row of data per mode: how it paces its regions,
 * which phases and regions it runs and in what order, what it does to the
 * databases, what its end states are and what its events call them. The
 * state machine, the control requests and the narration read the row and
 * never test the mode itself: adding a mode is adding a row.
 *
 * The rows are constant: every function here is thread-safe.
 */
#ifndef COORD_MODE_H
#define COORD_MODE_H

#include <stdbool.h>

#include "coord_state.h"

/* How a mode tells its regions to run. */
enum coord_pacing {
	/* Phase by phase: a phase starts when every region of the one
	 * before succeeded; the first failure or refusal halts the run. */
	COORD_PACE_PHASES,
	/* Every region at once, never halting early: the run ends when
	 * every region has answered. */
	COORD_PACE_ALL_AT_ONCE,
};

/* What a mode does to the databases. */
enum coord_effect {
	COORD_EFFECT_NONE,  /* changes nothing (rehearse) */
	COORD_EFFECT_APPLY, /* runs the steps and writes the ledger */
	COORD_EFFECT_UNDO,  /* reverts what an apply rollout did */
};

typedef struct coord_mode {
	int mode;         /* enum sk_mode: this row's own index */
	const char *noun; /* what its events call a run: "rollout" */
	int pacing;       /* enum coord_pacing */
	int effect;       /* enum coord_effect */
	/* `skein rollout start` starts it; else it is made from another
	 * rollout (a rollback from the apply it undoes). */
	bool startable;
	/* Starting the same signed plan again after a run of it succeeded
	 * answers with that run (unless it was undone since): running it
	 * again would change nothing. Else a finished run is history. */
	bool answers_again;
	/* A run holds locks in every region at once (a rehearsal's ACCESS
	 * EXCLUSIVE locks last as long as it does): a plan gets at most one
	 * such run per coord_control_ctx.rehearsal_interval_ms. */
	bool limited_per_plan;
	/* An operator may pause it (and resume, tune): the next phase and
	 * step wait. Not a run that holds its locks everywhere while it
	 * lasts (a rehearsal), which a pause would only make hold longer. */
	bool pausable;
	bool reverse_phases;     /* runs the plan's phases last first */
	bool only_named_regions; /* runs only in coord_origin.only_regions */
	int ok_state;            /* enum coord_rollout_state: every region ok */
	int failed_state;        /* ... a region failed or refused */
	/* What it calls a region's COORD_R_SUCCEEDED and COORD_R_FAILED
	 * (journaled and shown; the other states keep their names). */
	const char *region_succeeded;
	const char *region_failed;
	/* Words of its events. */
	const char *verdict_ok;     /* "succeeded", "READY" */
	const char *verdict_failed; /* "failed", "BLOCKED" */
	const char *region_done;    /* a region's success: "succeeded" */
	const char *db_done;        /* a database's: "all steps done" */
	/* A database's failure, or NULL when only the region's failure is
	 * news. */
	const char *db_failed;
	const char *start_note; /* COORD_PACE_ALL_AT_ONCE: said at the start */
} coord_mode;

/* The row of mode (enum sk_mode), or NULL for a mode the coordinator does
 * not know. */
const coord_mode *coord_mode_of(int mode);

/* The name m gives a region state: its own words for success and
 * failure, the canonical name (coord_region_state_name) otherwise. */
const char *coord_mode_region_state_name(const coord_mode *m, int state);

/* True if runs of a and b over the same plan must not run at once: both
 * change the databases, one undoing what the other does, in an order
 * nobody chose. */
bool coord_mode_conflict(const coord_mode *a, const coord_mode *b);

#endif

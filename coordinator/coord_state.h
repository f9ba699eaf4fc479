/* coord_state: the states a region's run and a rollout can be in, one row
 * of data per state: its name (as journaled and shown) and what it means
 * to the state machine. Adding a state is adding an enum value and a row.
 * How a mode names a state (a rehearsal's "ready") is coord_mode's.
 *
 * Every function here is a pure lookup: thread-safe, no allocation.
 */
#ifndef COORD_STATE_H
#define COORD_STATE_H

#include <stdbool.h>

enum coord_region_state {
	COORD_R_PENDING,
	COORD_R_DISPATCHED,
	COORD_R_RUNNING,
	COORD_R_SUCCEEDED,
	COORD_R_FAILED,
	COORD_R_REFUSED,
	COORD_R_MAX
};

enum coord_rollout_state {
	COORD_RO_RUNNING,
	COORD_RO_SUCCEEDED,
	COORD_RO_FAILED,
	COORD_RO_READY,   /* rehearse: every region READY */
	COORD_RO_BLOCKED, /* rehearse: some region BLOCKED or refused */
	COORD_RO_ABORTED, /* stopline: skein rollout abort */
	COORD_RO_MAX
};

/* The canonical name of a region state ("pending", ..., "refused");
 * "unknown" out of range. */
const char *coord_region_state_name(int state);

/* The name of a rollout state ("running", "succeeded", "failed",
 * "ready", "blocked"); "unknown" out of range. */
const char *coord_rollout_state_name(int state);

/* The rollout state named name, or -1 when no state has that name. */
int coord_rollout_state_parse(const char *name);

/* True once a region's run has ended, however it ended. False out of
 * range. */
bool coord_region_done(int state);

/* True if the run ended well (the region succeeded). */
bool coord_region_ok(int state);

/* True if the region was sent the plan and took it: it may have changed
 * something there, so a rollback has something to undo. */
bool coord_region_reached(int state);

#endif

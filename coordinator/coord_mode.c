/* coord_mode: the rows. The words end up in events and in the view, so
 * that `skein rollout wait` and status read the same in every mode. */
#include "coord_mode.h"

#include <stddef.h>

#include "sk_wire.h"

static const coord_mode rows[SK_MODE_MAX] = {
	[SK_MODE_APPLY] = {
		.mode = SK_MODE_APPLY,
		.noun = "rollout",
		.pacing = COORD_PACE_PHASES,
		.effect = COORD_EFFECT_APPLY,
		.startable = true,
		.answers_again = true,
		.pausable = true,
		.ok_state = COORD_RO_SUCCEEDED,
		.failed_state = COORD_RO_FAILED,
		.region_succeeded = "succeeded",
		.region_failed = "failed",
		.verdict_ok = "succeeded",
		.verdict_failed = "failed",
		.region_done = "succeeded",
		.db_done = "all steps done",
	},
	/* A rehearsal changes nothing, so there is no canary to protect:
	 * every region at once, and nothing succeeds or fails, it is READY
	 * or BLOCKED. It locks what its steps lock, everywhere, for as long
	 * as it runs: rehearsals of a plan are rate-limited. */
	[SK_MODE_REHEARSE] = {
		.mode = SK_MODE_REHEARSE,
		.noun = "rehearsal",
		.pacing = COORD_PACE_ALL_AT_ONCE,
		.effect = COORD_EFFECT_NONE,
		.startable = true,
		.limited_per_plan = true,
		.ok_state = COORD_RO_READY,
		.failed_state = COORD_RO_BLOCKED,
		.region_succeeded = "ready",
		.region_failed = "blocked",
		.verdict_ok = "READY",
		.verdict_failed = "BLOCKED",
		.region_done = "READY (every database)",
		.db_done = "READY",
		.db_failed = "BLOCKED",
		.start_note = "every change is rolled back",
	},
	/* A rollback undoes an apply where it reached, the canary last. */
	[SK_MODE_ROLLBACK] = {
		.mode = SK_MODE_ROLLBACK,
		.noun = "rollback",
		.pacing = COORD_PACE_PHASES,
		.effect = COORD_EFFECT_UNDO,
		.pausable = true,
		.reverse_phases = true,
		.only_named_regions = true,
		.ok_state = COORD_RO_SUCCEEDED,
		.failed_state = COORD_RO_FAILED,
		.region_succeeded = "succeeded",
		.region_failed = "failed",
		.verdict_ok = "succeeded",
		.verdict_failed = "failed",
		.region_done = "succeeded",
		.db_done = "every completed step reverted",
	},
};

const coord_mode *
coord_mode_of(int mode)
{
	if (mode < 0 || mode >= SK_MODE_MAX || rows[mode].noun == NULL)
		return NULL;
	return &rows[mode];
}

const char *
coord_mode_region_state_name(const coord_mode *m, int state)
{
	if (state == COORD_R_SUCCEEDED)
		return m->region_succeeded;
	if (state == COORD_R_FAILED)
		return m->region_failed;
	return coord_region_state_name(state);
}

bool
coord_mode_conflict(const coord_mode *a, const coord_mode *b)
{
	return a->effect != COORD_EFFECT_NONE &&
	    b->effect != COORD_EFFECT_NONE && a->effect != b->effect;
}

/* coord_state: the state rows. The names are part of the journal and the
 * CLI's view (RegionView.state, RolloutView.state): never rename one. */
#include "coord_state.h"

#include <string.h>

static const struct region_row {
	const char *name;
	bool done;    /* the run has ended */
	bool ok;      /* ... well */
	bool reached; /* the agent took the plan */
} region_rows[COORD_R_MAX] = {
	[COORD_R_PENDING] = { "pending", false, false, false },
	[COORD_R_DISPATCHED] = { "dispatched", false, false, true },
	[COORD_R_RUNNING] = { "running", false, false, true },
	[COORD_R_SUCCEEDED] = { "succeeded", true, true, true },
	[COORD_R_FAILED] = { "failed", true, false, true },
	[COORD_R_REFUSED] = { "refused", true, false, false },
};

static const char *const rollout_names[COORD_RO_MAX] = {
	[COORD_RO_RUNNING] = "running",
	[COORD_RO_SUCCEEDED] = "succeeded",
	[COORD_RO_FAILED] = "failed",
	[COORD_RO_READY] = "ready",
	[COORD_RO_BLOCKED] = "blocked",
	[COORD_RO_ABORTED] = "aborted",
};

static const struct region_row *
region_row(int state)
{
	return state >= 0 && state < COORD_R_MAX ? &region_rows[state] : NULL;
}

const char *
coord_region_state_name(int state)
{
	const struct region_row *r = region_row(state);

	return r != NULL ? r->name : "unknown";
}

const char *
coord_rollout_state_name(int state)
{
	if (state < 0 || state >= COORD_RO_MAX)
		return "unknown";
	return rollout_names[state];
}

int
coord_rollout_state_parse(const char *name)
{
	for (int s = 0; s < COORD_RO_MAX; s++)
		if (strcmp(rollout_names[s], name) == 0)
			return s;
	return -1;
}

bool
coord_region_done(int state)
{
	const struct region_row *r = region_row(state);

	return r != NULL && r->done;
}

bool
coord_region_ok(int state)
{
	const struct region_row *r = region_row(state);

	return r != NULL && r->ok;
}

bool
coord_region_reached(int state)
{
	const struct region_row *r = region_row(state);

	return r != NULL && r->reached;
}

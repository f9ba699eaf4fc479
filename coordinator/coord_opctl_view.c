/* coord_opctl_view: a rollout's operator controls in its view
 * (coord_opctl_view.h). */
#include "coord_opctl_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_progress.h"
#include "coord_state.h"

static const char *const db_states[] = {
	[COORD_DB_WAITING] = "waiting",
	[COORD_DB_RUNNING] = "running",
	[COORD_DB_DONE] = "done",
	[COORD_DB_FAILED] = "failed",
};

/* True if rr's leftovers are shown: the whole rollout was aborted, or
 * rr on its own. */
static bool
shows_left(const coord_rollout *ro, const coord_region_run *rr)
{
	return ro->state == COORD_RO_ABORTED || rr->aborted;
}

/* What an abort left in each database of each aborted region that was
 * reached (a region that never started has nothing: the CLI says so
 * from its state). */
static int
left(const coord_rollout *ro, sk_rollout_view *out)
{
	size_t n = 0;

	for (size_t i = 0; i < ro->nregions; i++)
		if (shows_left(ro, &ro->regions[i]))
			n += ro->regions[i].progress.ndbs;
	if (n == 0)
		return SK_OK;
	if ((out->left = calloc(n, sizeof(*out->left))) == NULL)
		return SK_ENOMEM;
	for (size_t i = 0; i < ro->nregions; i++) {
		const coord_region_run *rr = &ro->regions[i];

		if (!shows_left(ro, rr))
			continue;
		for (size_t k = 0; k < rr->progress.ndbs; k++) {
			const coord_db_progress *d = &rr->progress.dbs[k];
			sk_left_view *l = &out->left[out->nleft++];

			snprintf(l->region, sizeof(l->region), "%s", rr->name);
			snprintf(l->database, sizeof(l->database), "%s", d->name);
			snprintf(l->state, sizeof(l->state), "%s",
			    d->state >= 0 && d->state <= COORD_DB_FAILED ?
				db_states[d->state] :
				"unknown");
			l->steps_done = d->steps_done;
			l->steps_total = rr->progress.steps_per_db;
			snprintf(l->step, sizeof(l->step), "%s", d->step);
			l->step_finished = d->state == COORD_DB_DONE ||
			    (d->step[0] != '\0' && strcmp(d->ended_step, d->step) == 0);
		}
	}
	return SK_OK;
}

int
coord_opctl_view(const coord_rollout *ro, sk_rollout_view *out, sk_err *err)
{
	size_t np = 0;

	out->paused_by_line = ro->ctl.paused && ro->ctl.by_line;
	if (ro->ctl.nhist > 0) {
		out->controls = malloc(ro->ctl.nhist * sizeof(*out->controls));
		if (out->controls == NULL)
			goto oom;
		memcpy(out->controls, ro->ctl.hist,
		    ro->ctl.nhist * sizeof(*out->controls));
		out->ncontrols = ro->ctl.nhist;
	}
	for (size_t i = 0; i < ro->nregions; i++)
		np += ro->regions[i].paused;
	if (np > 0) {
		out->region_pauses = calloc(np, sizeof(*out->region_pauses));
		if (out->region_pauses == NULL)
			goto oom;
		for (size_t i = 0; i < ro->nregions; i++) {
			const coord_region_run *rr = &ro->regions[i];
			sk_region_pause_view *p;

			if (!rr->paused)
				continue;
			p = &out->region_pauses[out->nregion_pauses++];
			snprintf(p->region, sizeof(p->region), "%s", rr->name);
			snprintf(p->by, sizeof(p->by), "%s", rr->paused_by);
			snprintf(p->by_key, sizeof(p->by_key), "%s", rr->paused_by_key);
			snprintf(p->reason, sizeof(p->reason), "%s", rr->pause_reason);
			p->at_ms = rr->paused_ms;
		}
	}
	if ((ro->state == COORD_RO_ABORTED || coord_rollout_any_aborted(ro)) &&
	    left(ro, out) != SK_OK)
		goto oom;
	return SK_OK;
oom:
	return sk_err_set(err, SK_ENOMEM, "describe rollout %s: out of memory", ro->id);
}

/* coord_rollout_query: what a rollout answers without changing: which
 * regions a rollback of it would undo, and the view `skein rollout status`
 * shows (its words from coord_narrate). Read-only over the state
 * coord_rollout.c keeps. */
#include "coord_rollout.h"
#include "coord_opctl_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_flags.h"
#include "coord_mode.h"
#include "coord_narrate.h"
#include "coord_state.h"
#include "sk_util.h"

/* ---- rollback ----------------------------------------------------------- */

/* True if rr took the plan: a region aborted before it started failed
 * without ever running (nothing there to undo). */
static bool
reached(const coord_region_run *rr)
{
	return coord_region_reached(rr->state) && !rr->abort_unstarted;
}

/* Refuse a rollback of a rollout whose mode applied nothing to undo. */
static int
not_undoable(const coord_rollout *ro, sk_err *err)
{
	const coord_mode *m = ro->rules;

	if (m->effect == COORD_EFFECT_NONE)
		return sk_err_set(err, SK_ESTATE,
		    "roll back rollout %s: it is a %s, which changed "
		    "nothing; there is nothing to roll back",
		    ro->id, m->noun);
	return sk_err_set(err, SK_ESTATE,
	    "roll back rollout %s: it is itself the %s of %s; to "
	    "apply the change again, start the plan again",
	    ro->id, m->noun, ro->of_rollout);
}

int
coord_rollout_rollback_regions(const coord_rollout *ro, const char *region,
    const char ***out, size_t *n, sk_err *err)
{
	const char **list;
	bool aborted = ro->state == COORD_RO_ABORTED || coord_rollout_any_aborted(ro);

	*out = NULL;
	*n = 0;
	if (ro->rules->effect != COORD_EFFECT_APPLY)
		return not_undoable(ro, err);
	if (ro->state == COORD_RO_RUNNING) {
		sk_err_set(err, SK_ESTATE,
		    "roll back rollout %s: it is still running", ro->id);
		snprintf(err->hint, sizeof(err->hint),
		    "wait for it to end (skein rollout wait %s), then roll it back",
		    ro->id);
		return err->code;
	}
	for (size_t i = 0; aborted && i < ro->nregions; i++) {
		/* stopline: an aborted rollout's running regions (or, after a
		 * scoped abort, every region still running when it halted)
		 * finish their step first; what they leave is what the
		 * rollback undoes. */
		const coord_region_run *rr = &ro->regions[i];

		if (!coord_region_reached(rr->state) || coord_region_done(rr->state))
			continue;
		sk_err_set(err, SK_ESTATE,
		    "roll back rollout %s: it was aborted%s, and region %s has "
		    "not yet reported how its running step ended",
		    ro->id, ro->state == COORD_RO_ABORTED ? "" : " in some regions",
		    rr->name);
		snprintf(err->hint, sizeof(err->hint),
		    "wait a moment (skein rollout status %s), then roll back",
		    ro->id);
		return err->code;
	}
	list = calloc(ro->nregions ? ro->nregions : 1, sizeof(*list));
	if (list == NULL)
		return sk_err_set(err, SK_ENOMEM,
		    "roll back rollout %s: out of memory", ro->id);
	if (region != NULL && region[0] != '\0') {
		const coord_region_run *rr = coord_rollout_region(ro, region);

		if (rr == NULL) {
			char names[512] = "";
			size_t off = 0;

			for (size_t i = 0;
			     i < ro->plan->nregions && off < sizeof(names); i++)
				off += (size_t)snprintf(names + off,
				    sizeof(names) - off, "%s%s", i ? ", " : "",
				    ro->plan->regions[i]);
			free(list);
			return sk_err_set(err, SK_EINVAL,
			    "roll back rollout %s in region %s: plan %s has no "
			    "region %s (its regions: %s)",
			    ro->id, region, ro->plan->name, region, names);
		}
		if (!reached(rr)) {
			free(list);
			return sk_err_set(err, SK_ESTATE,
			    "roll back rollout %s in region %s: the rollout never "
			    "ran there (%s), so there is nothing to undo",
			    ro->id, region,
			    coord_mode_region_state_name(ro->rules, rr->state));
		}
		list[(*n)++] = rr->name;
	} else {
		for (size_t i = 0; i < ro->nregions; i++)
			if (reached(&ro->regions[i]))
				list[(*n)++] = ro->regions[i].name;
		if (*n == 0) {
			free(list);
			return sk_err_set(err, SK_ESTATE,
			    "roll back rollout %s: it reached no region, so there "
			    "is nothing to undo",
			    ro->id);
		}
	}
	*out = list;
	return SK_OK;
}

/* ---- view --------------------------------------------------------------- */

/* The databases of every region that has not ended, in region order: an
 * ended region's outcome is its state and error. */
static int
view_databases(const coord_rollout *ro, sk_rollout_view *out)
{
	size_t n = 0;

	for (size_t i = 0; i < ro->nregions; i++)
		if (!coord_region_done(ro->regions[i].state))
			n += ro->regions[i].progress.ndbs;
	if (n == 0)
		return SK_OK;
	out->databases = malloc(n * sizeof(*out->databases));
	if (out->databases == NULL)
		return SK_ENOMEM;
	for (size_t i = 0; i < ro->nregions; i++) {
		const coord_region_run *rr = &ro->regions[i];

		if (coord_region_done(rr->state))
			continue;
		for (size_t k = 0; k < rr->progress.ndbs; k++)
			coord_narrate_database(ro, rr, &rr->progress.dbs[k],
			    &out->databases[out->ndatabases++]);
	}
	return SK_OK;
}

int
coord_rollout_view(
    const coord_rollout *ro, uint64_t since, sk_rollout_view *out, sk_err *err)
{
	size_t first = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", ro->id);
	snprintf(out->plan_id, sizeof(out->plan_id), "%s", ro->plan->id);
	snprintf(out->plan_name, sizeof(out->plan_name), "%s", ro->plan->name);
	snprintf(out->state, sizeof(out->state), "%s",
	    coord_rollout_state_name(ro->state));
	snprintf(out->reason, sizeof(out->reason), "%s", ro->reason);
	out->mode = ro->mode;
	snprintf(out->of_rollout, sizeof(out->of_rollout), "%s", ro->of_rollout);
	snprintf(out->started_by, sizeof(out->started_by), "%s", ro->started_by);
	snprintf(out->started_by_key, sizeof(out->started_by_key), "%s",
	    ro->started_by_key);
	if (ro->rules->effect == COORD_EFFECT_UNDO) {
		out->no_backup = ro->no_backup;
		out->plan_no_rollback_backup = ro->plan->no_rollback_backup;
	}
	out->reapply = ro->reapply;
	snprintf(out->reapply_of, sizeof(out->reapply_of), "%s", ro->reapply_of);
	/* A pause ends with the rollout (coord_rollout.c), so paused is
	 * only ever true while it runs. */
	out->paused = ro->ctl.paused;
	if (out->paused) {
		snprintf(out->paused_by, sizeof(out->paused_by), "%s", ro->ctl.paused_by);
		snprintf(out->paused_by_key, sizeof(out->paused_by_key), "%s",
		    ro->ctl.paused_by_key);
		out->paused_ms = ro->ctl.paused_ms;
		snprintf(out->pause_reason, sizeof(out->pause_reason), "%s",
		    ro->ctl.reason);
	}
	out->has_tune = ro->ctl.tuned;
	out->tune = ro->ctl.tune;
	out->current_phase = ro->phase;
	out->created_ms = ro->created_ms;
	out->finished_ms = ro->finished_ms;
	out->phases = calloc(ro->nphases ? ro->nphases : 1, sizeof(*out->phases));
	if (out->phases == NULL)
		goto oom;
	out->nphases = ro->nphases;
	for (size_t p = 0; p < ro->nphases; p++) {
		sk_phase_view *pv = &out->phases[p];

		snprintf(pv->name, sizeof(pv->name), "%s", ro->phases[p]->name);
		snprintf(pv->state, sizeof(pv->state), "%s",
		    coord_narrate_phase_state(ro, p));
		pv->regions = calloc(ro->nregions + 1, sizeof(*pv->regions));
		if (pv->regions == NULL)
			goto oom;
		for (size_t i = 0; i < ro->nregions; i++)
			if (ro->regions[i].phase == p)
				coord_narrate_region(ro, &ro->regions[i],
				    &pv->regions[pv->nregions++]);
	}
	if (view_databases(ro, out) != SK_OK ||
	    coord_opctl_view(ro, out, err) != SK_OK || /* stopline */
	    coord_rollout_backups(ro, &out->backups, &out->nbackups, err) != SK_OK ||
	    coord_gate_view(ro, sk_now_ms(), out, err) != SK_OK ||
	    coord_flags_view(ro, out) != SK_OK) /* flags */
		goto oom;
	while (first < ro->nevents && ro->events[first].seq <= since)
		first++;
	if (first < ro->nevents) {
		out->events = malloc((ro->nevents - first) * sizeof(*out->events));
		if (out->events == NULL)
			goto oom;
		memcpy(out->events, ro->events + first,
		    (ro->nevents - first) * sizeof(*out->events));
		out->nevents = ro->nevents - first;
	}
	return SK_OK;
oom:
	sk_rollout_view_fini(out);
	return sk_err_set(err, SK_ENOMEM, "describe rollout %s: out of memory", ro->id);
}

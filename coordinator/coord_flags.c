/* coord_flags: the flags-first pass of a rollback (coord_flags.h). */
#include "coord_flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_narrate.h"
#include "coord_state.h"

/* ro's run of region, or NULL (looked up here, not through
 * coord_rollout.c, which calls in: no circle between the two). */
static coord_region_run *
region_of(const coord_rollout *ro, const char *region)
{
	for (size_t i = 0; region != NULL && i < ro->nregions; i++)
		if (strcmp(ro->regions[i].name, region) == 0)
			return &ro->regions[i];
	return NULL;
}

void
coord_flags_init(coord_rollout *ro)
{
	ro->flags_first = ro->rules->effect == COORD_EFFECT_UNDO &&
	    sk_plan_has_flags(ro->plan);
	ro->flags_done = !ro->flags_first;
	for (size_t i = 0; i < ro->nregions; i++) {
		ro->regions[i].flags_state = COORD_R_PENDING;
		sk_err_clear(&ro->regions[i].flags_error);
		ro->regions[i].flags_detail[0] = '\0';
	}
	if (ro->flags_first)
		coord_rollout_event(ro, NULL,
		    "flags first: flipping the plan's flags back in %zu region%s "
		    "before any revert script runs",
		    ro->nregions, ro->nregions == 1 ? "" : "s");
}

bool
coord_flags_pending(const coord_rollout *ro)
{
	return ro->flags_first && !ro->flags_done;
}

bool
coord_flags_wants(const coord_rollout *ro, const char *region)
{
	const coord_region_run *rr = region_of(ro, region);

	return coord_flags_pending(ro) && rr != NULL &&
	    !coord_region_done(rr->flags_state);
}

void
coord_flags_dispatched(coord_rollout *ro, const char *region, int64_t now_ms)
{
	coord_region_run *rr = region_of(ro, region);

	(void)now_ms;
	if (rr != NULL && rr->flags_state == COORD_R_PENDING) {
		rr->flags_state = COORD_R_DISPATCHED;
		coord_rollout_event(
		    ro, rr->name, "%s: flags first: told to flip", rr->name);
	}
}

/* Fold r into rr's pass; true if its state changed. */
static bool
fold(coord_region_run *rr, const sk_report *r)
{
	int before = rr->flags_state;

	switch (r->event) {
	case SK_EV_PLAN_ACCEPTED:
	case SK_EV_DB_STARTED:
		if (rr->flags_state < COORD_R_RUNNING)
			rr->flags_state = COORD_R_RUNNING;
		rr->flags_detail[0] = '\0';
		break;
	case SK_EV_DB_WAITING:
		if (rr->flags_state < COORD_R_RUNNING)
			rr->flags_state = COORD_R_RUNNING;
		/* Cut at the field's size: what it waits for, not all of it. */
		(void)snprintf(rr->flags_detail, sizeof(rr->flags_detail),
		    "%s: waiting (attempt %u), retrying: %.100s", r->database,
		    r->attempt, r->error.code != SK_OK ? r->error.msg : r->detail);
		break;
	case SK_EV_PLAN_SUCCEEDED:
		rr->flags_state = COORD_R_SUCCEEDED;
		rr->flags_detail[0] = '\0';
		break;
	case SK_EV_PLAN_FAILED:
	case SK_EV_PLAN_REFUSED:
		rr->flags_state = r->event == SK_EV_PLAN_FAILED ? COORD_R_FAILED :
								  COORD_R_REFUSED;
		rr->flags_error = r->error;
		break;
	default:
		break;
	}
	return rr->flags_state != before;
}

/* Where the pass stands once every region answered, or GOING. */
static int
outcome(coord_rollout *ro, char *reason, size_t reason_len)
{
	size_t failed = 0, off = 0;

	for (size_t i = 0; i < ro->nregions; i++) {
		const coord_region_run *rr = &ro->regions[i];

		if (!coord_region_done(rr->flags_state))
			return COORD_FLAGS_GOING;
		if (!coord_region_ok(rr->flags_state))
			failed++;
	}
	if (failed == 0) {
		ro->flags_done = true;
		return COORD_FLAGS_FLIPPED;
	}
	if (reason != NULL && reason_len > 0) {
		reason[0] = '\0';
		off = (size_t)snprintf(reason, reason_len,
		    "flags first: the flags did not flip back in %zu region%s, so "
		    "no revert ran: ",
		    failed, failed == 1 ? "" : "s");
		for (size_t i = 0; i < ro->nregions && off < reason_len; i++) {
			const coord_region_run *rr = &ro->regions[i];

			if (coord_region_ok(rr->flags_state))
				continue;
			off += (size_t)snprintf(reason + off, reason_len - off,
			    "%s: %.300s; ", rr->name, rr->flags_error.msg);
		}
	}
	return COORD_FLAGS_FAILED;
}

int
coord_flags_report(coord_rollout *ro, const char *region, const sk_report *r,
    char *reason, size_t reason_len)
{
	coord_region_run *rr = region_of(ro, region);
	size_t flipped = 0;
	int out;

	if (!coord_flags_pending(ro) || rr == NULL || coord_region_done(rr->flags_state))
		return COORD_FLAGS_GOING;
	if (r->event == SK_EV_FLAG && r->has_flag)
		coord_rollout_event(ro, region,
		    "%s/%s: flags first: %s%s%s %s -> %s", region, r->database,
		    r->flag.name, r->flag.every_tenant ? "" : " for ",
		    r->flag.every_tenant ? "" : r->flag.tenant,
		    r->flag.old_absent ? "(unset)" : r->flag.old_value,
		    r->flag.new_absent ? "(unset)" : r->flag.new_value);
	if (!fold(rr, r))
		return COORD_FLAGS_GOING;
	if (rr->flags_state == COORD_R_SUCCEEDED) {
		for (size_t i = 0; i < ro->nregions; i++)
			flipped += ro->regions[i].flags_state == COORD_R_SUCCEEDED;
		coord_rollout_event(ro, region,
		    "%s: flags first: flipped (%zu/%zu regions)", region,
		    flipped, ro->nregions);
	} else if (coord_region_done(rr->flags_state)) {
		coord_rollout_event(ro, region, "%s: flags first: failed: %s",
		    region, rr->flags_error.msg);
	}
	out = outcome(ro, reason, reason_len);
	if (out == COORD_FLAGS_FLIPPED)
		coord_rollout_event(ro, NULL,
		    "flags first: flipped back in every region; the reverts start");
	return out;
}

void
coord_flags_replay_report(coord_rollout *ro, const char *region, const sk_report *r)
{
	coord_region_run *rr = region_of(ro, region);

	if (!coord_flags_pending(ro) || rr == NULL || coord_region_done(rr->flags_state))
		return;
	if (fold(rr, r))
		(void)outcome(ro, NULL, 0);
}

int
coord_flags_view(const coord_rollout *ro, sk_rollout_view *out)
{
	if (!ro->flags_first)
		return SK_OK;
	out->flags_first = calloc(ro->nregions + 1, sizeof(*out->flags_first));
	if (out->flags_first == NULL)
		return SK_ENOMEM;
	out->nflags_first = ro->nregions;
	for (size_t i = 0; i < ro->nregions; i++) {
		const coord_region_run *rr = &ro->regions[i];
		sk_region_view *v = &out->flags_first[i];

		snprintf(v->name, sizeof(v->name), "%s", rr->name);
		snprintf(v->state, sizeof(v->state), "%s",
		    coord_region_state_name(rr->flags_state));
		snprintf(v->detail, sizeof(v->detail), "%s", rr->flags_detail);
		v->error = rr->flags_error;
	}
	return SK_OK;
}

/* coord_rollout: the phase state machine. Pure logic over the journal, so
 * that it can be unit tested without sockets. */
#include "coord_rollout.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_log.h"
#include "sk_util.h"

#define EVENTS_MAX 50000

static const char *const region_state_names[] = {
	[COORD_R_PENDING] = "pending",
	[COORD_R_DISPATCHED] = "dispatched",
	[COORD_R_RUNNING] = "running",
	[COORD_R_SUCCEEDED] = "succeeded",
	[COORD_R_FAILED] = "failed",
	[COORD_R_REFUSED] = "refused",
};

static const char *const rollout_state_names[] = {
	[COORD_RO_RUNNING] = "running",
	[COORD_RO_SUCCEEDED] = "succeeded",
	[COORD_RO_FAILED] = "failed",
};

const char *
coord_region_state_name(int state)
{
	if (state < COORD_R_PENDING || state > COORD_R_REFUSED)
		return "unknown";
	return region_state_names[state];
}

const char *
coord_rollout_state_name(int state)
{
	if (state < COORD_RO_RUNNING || state > COORD_RO_FAILED)
		return "unknown";
	return rollout_state_names[state];
}

static int
region_state_from_name(const char *name)
{
	for (int i = COORD_R_PENDING; i <= COORD_R_REFUSED; i++)
		if (strcmp(region_state_names[i], name) == 0)
			return i;
	return COORD_R_PENDING;
}

static bool
region_done(int state)
{
	return state >= COORD_R_SUCCEEDED;
}

static void
set_state(coord_region_run *rr, int state, int64_t now_ms)
{
	rr->state = state;
	snprintf(rr->view.state, sizeof(rr->view.state), "%s",
	    coord_region_state_name(state));
	rr->view.updated_ms = now_ms;
}

coord_rollout *
coord_rollout_create(const char *id, sk_plan *plan, const uint8_t *signed_plan,
    size_t len, int64_t now_ms)
{
	coord_rollout *ro = calloc(1, sizeof(*ro));

	if (ro == NULL)
		goto fail;
	ro->plan = plan;
	snprintf(ro->id, sizeof(ro->id), "%s", id);
	ro->created_ms = now_ms;
	/* Event numbers start from the clock so that they keep rising across
	 * a coordinator restart and `skein rollout wait` never misses one. */
	ro->next_event = (uint64_t)sk_now_us();
	ro->signed_plan = malloc(len ? len : 1);
	ro->regions =
	    calloc(plan->nregions ? plan->nregions : 1, sizeof(*ro->regions));
	if (ro->signed_plan == NULL || ro->regions == NULL)
		goto fail;
	memcpy(ro->signed_plan, signed_plan, len);
	ro->signed_plan_len = len;
	ro->nregions = plan->nregions;
	for (size_t i = 0; i < plan->nregions; i++) {
		coord_region_run *rr = &ro->regions[i];

		snprintf(rr->view.name, sizeof(rr->view.name), "%s", plan->regions[i]);
		rr->view.steps_total = (uint32_t)plan->nsteps;
		rr->ndatabases = 1;
		set_state(rr, COORD_R_PENDING, now_ms);
		for (size_t p = 0; p < plan->nphases; p++)
			for (size_t k = 0; k < plan->phases[p].nregions; k++)
				if (strcmp(plan->phases[p].regions[k],
					plan->regions[i]) == 0)
					rr->phase = (uint32_t)p;
	}
	return ro;
fail:
	if (ro == NULL)
		sk_plan_destroy(plan);
	coord_rollout_destroy(ro);
	return NULL;
}

void
coord_rollout_destroy(coord_rollout *ro)
{
	if (ro == NULL)
		return;
	sk_plan_destroy(ro->plan);
	free(ro->signed_plan);
	free(ro->regions);
	free(ro->events);
	free(ro);
}

static coord_region_run *
find_region(coord_rollout *ro, const char *name)
{
	for (size_t i = 0; i < ro->nregions; i++)
		if (strcmp(ro->regions[i].view.name, name) == 0)
			return &ro->regions[i];
	return NULL;
}

void
coord_rollout_event(coord_rollout *ro, const char *region, const char *fmt, ...)
{
	sk_event_view *e;
	va_list ap;

	if (ro->nevents >= EVENTS_MAX)
		return;
	if (ro->nevents == ro->events_cap) {
		size_t cap = ro->events_cap ? ro->events_cap * 2 : 64;
		sk_event_view *n = realloc(ro->events, cap * sizeof(*n));

		if (n == NULL)
			return; /* events are a convenience; state is unaffected */
		ro->events = n;
		ro->events_cap = cap;
	}
	e = &ro->events[ro->nevents++];
	memset(e, 0, sizeof(*e));
	e->seq = ++ro->next_event;
	e->at_ms = sk_now_ms();
	snprintf(e->region, sizeof(e->region), "%s", region ? region : "");
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
}

static void
phase_event(coord_rollout *ro, uint32_t phase)
{
	const sk_phase *p = &ro->plan->phases[phase];
	char list[512] = "";
	size_t off = 0;

	for (size_t i = 0; i < p->nregions && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    i ? ", " : "", p->regions[i]);
	coord_rollout_event(ro, NULL, "phase %u/%zu %s started: %s", phase + 1,
	    ro->plan->nphases, p->name, list);
}

int
coord_rollout_start(coord_rollout *ro, coord_journal *j, int64_t now_ms, sk_err *err)
{
	if (coord_journal_phase(j, ro->id, 0, now_ms, err) != SK_OK)
		return err->code;
	ro->phase = 0;
	phase_event(ro, 0);
	return SK_OK;
}

bool
coord_rollout_wants(const coord_rollout *ro, const char *region)
{
	if (ro->state != COORD_RO_RUNNING)
		return false;
	for (size_t i = 0; i < ro->nregions; i++) {
		const coord_region_run *rr = &ro->regions[i];

		if (strcmp(rr->view.name, region) == 0)
			return rr->phase == ro->phase && !region_done(rr->state);
	}
	return false;
}

static int
journal_region(coord_rollout *ro, coord_region_run *rr, coord_journal *j, sk_err *err)
{
	return coord_journal_region(j, ro->id, &rr->view, err);
}

int
coord_rollout_dispatched(coord_rollout *ro, const char *region,
    coord_journal *j, int64_t now_ms, sk_err *err)
{
	coord_region_run *rr = find_region(ro, region);

	if (rr == NULL || rr->state != COORD_R_PENDING)
		return SK_OK;
	set_state(rr, COORD_R_DISPATCHED, now_ms);
	coord_rollout_event(ro, region, "%s: plan sent to agent", region);
	return journal_region(ro, rr, j, err);
}

/* Halt or advance after a region finished. */
static int
advance(coord_rollout *ro, coord_journal *j, int64_t now_ms, bool *changed, sk_err *err)
{
	bool all_ok = true;
	size_t total = 0, ok = 0;

	if (ro->state != COORD_RO_RUNNING)
		return SK_OK;
	for (size_t i = 0; i < ro->nregions; i++) {
		coord_region_run *rr = &ro->regions[i];

		if (rr->phase != ro->phase)
			continue;
		if (rr->state == COORD_R_FAILED || rr->state == COORD_R_REFUSED) {
			char reason[SK_ERR_MSG_MAX];

			snprintf(reason, sizeof(reason), "%.900s",
			    rr->view.error.msg);
			if (coord_journal_finished(j, ro->id, "failed", reason,
				now_ms, err) != SK_OK)
				return err->code;
			ro->state = COORD_RO_FAILED;
			ro->finished_ms = now_ms;
			snprintf(ro->reason, sizeof(ro->reason), "%s", reason);
			coord_rollout_event(ro, NULL,
			    "rollout halted in phase %s: %s; later phases not started",
			    ro->plan->phases[ro->phase].name, reason);
			return SK_OK;
		}
		if (rr->state != COORD_R_SUCCEEDED)
			all_ok = false;
	}
	if (!all_ok)
		return SK_OK;
	if (ro->phase + 1 < ro->plan->nphases) {
		if (coord_journal_phase(j, ro->id, ro->phase + 1, now_ms, err) != SK_OK)
			return err->code;
		ro->phase++;
		phase_event(ro, ro->phase);
		*changed = true;
		return SK_OK;
	}
	if (coord_journal_finished(j, ro->id, "succeeded", "", now_ms, err) != SK_OK)
		return err->code;
	ro->state = COORD_RO_SUCCEEDED;
	ro->finished_ms = now_ms;
	for (size_t i = 0; i < ro->nregions; i++) {
		total++;
		ok += ro->regions[i].state == COORD_R_SUCCEEDED;
	}
	coord_rollout_event(ro, NULL, "rollout succeeded in %zu/%zu regions", ok, total);
	return SK_OK;
}

static void
err_text(const sk_err *e, char *buf, size_t len)
{
	if (e->sqlstate[0])
		snprintf(buf, len, "%s (SQLSTATE %s)", e->msg, e->sqlstate);
	else
		snprintf(buf, len, "%s", e->msg);
}

int
coord_rollout_report(coord_rollout *ro, const char *region, const sk_report *r,
    coord_journal *j, bool *changed, sk_err *err)
{
	coord_region_run *rr = find_region(ro, region);
	int64_t now = sk_now_ms();
	char etext[SK_ERR_MSG_MAX + 32];
	char dur[32];
	int before;

	*changed = false;
	if (rr == NULL || region_done(rr->state) || rr->phase > ro->phase)
		return SK_OK;
	before = rr->state;
	err_text(&r->error, etext, sizeof(etext));
	sk_duration_format(r->duration_ms, dur, sizeof(dur));
	if (r->database[0])
		snprintf(rr->view.database, sizeof(rr->view.database), "%s", r->database);
	if (r->step_id[0])
		snprintf(rr->view.step, sizeof(rr->view.step), "%s", r->step_id);
	rr->view.updated_ms = now;
	switch (r->event) {
	case SK_EV_PLAN_ACCEPTED:
		rr->view.steps_done = 0;
		rr->view.detail[0] = '\0';
		set_state(rr, COORD_R_RUNNING, now);
		coord_rollout_event(
		    ro, region, "%s: plan verified and accepted", region);
		break;
	case SK_EV_PLAN_REFUSED:
		rr->view.error = r->error;
		set_state(rr, COORD_R_REFUSED, now);
		coord_rollout_event(ro, region, "%s: plan refused: %s", region, etext);
		break;
	case SK_EV_DB_WAITING:
		snprintf(rr->view.detail, sizeof(rr->view.detail), "waiting: %.240s",
		    r->error.code != SK_OK ? r->error.msg : r->detail);
		if (rr->state < COORD_R_RUNNING)
			set_state(rr, COORD_R_RUNNING, now);
		coord_rollout_event(ro, region,
		    "%s/%s: waiting (attempt %u): %s", region, r->database,
		    r->attempt, r->error.code != SK_OK ? etext : r->detail);
		break;
	case SK_EV_DB_STARTED:
		rr->view.detail[0] = '\0';
		if (rr->state < COORD_R_RUNNING)
			set_state(rr, COORD_R_RUNNING, now);
		break;
	case SK_EV_STEP_STARTED:
		coord_rollout_event(ro, region, "%s/%s: step %s started",
		    region, r->database, r->step_id);
		break;
	case SK_EV_STEP_FINISHED:
		rr->view.steps_done++;
		if (r->rows > 0)
			coord_rollout_event(ro, region,
			    "%s/%s: step %s applied in %s (%lld rows)", region,
			    r->database, r->step_id, dur, (long long)r->rows);
		else
			coord_rollout_event(ro, region, "%s/%s: step %s applied in %s",
			    region, r->database, r->step_id, dur);
		break;
	case SK_EV_STEP_SKIPPED:
		rr->view.steps_done++;
		coord_rollout_event(ro, region,
		    "%s/%s: step %s already applied (ledger), skipped", region,
		    r->database, r->step_id);
		break;
	case SK_EV_STEP_FAILED:
		coord_rollout_event(ro, region, "%s/%s: step %s failed: %s",
		    region, r->database, r->step_id, etext);
		break;
	case SK_EV_DB_FINISHED:
		coord_rollout_event(
		    ro, region, "%s/%s: all steps done", region, r->database);
		break;
	case SK_EV_DB_FAILED:
		rr->view.error = r->error;
		break;
	case SK_EV_PLAN_SUCCEEDED:
		rr->view.error.code = SK_OK;
		rr->view.detail[0] = '\0';
		set_state(rr, COORD_R_SUCCEEDED, now);
		coord_rollout_event(ro, region, "%s: succeeded in %s", region, dur);
		break;
	case SK_EV_PLAN_FAILED:
		rr->view.error = r->error;
		set_state(rr, COORD_R_FAILED, now);
		coord_rollout_event(ro, region, "%s: failed: %s", region, etext);
		break;
	default:
		break;
	}
	if (rr->state == before)
		return SK_OK;
	if (journal_region(ro, rr, j, err) != SK_OK)
		return err->code;
	if (region_done(rr->state))
		return advance(ro, j, now, changed, err);
	return SK_OK;
}

int
coord_rollout_settle(coord_rollout *ro, coord_journal *j, bool *changed, sk_err *err)
{
	*changed = false;
	return advance(ro, j, sk_now_ms(), changed, err);
}

void
coord_rollout_note_databases(coord_rollout *ro, const char *region, uint32_t ndatabases)
{
	coord_region_run *rr = find_region(ro, region);

	if (rr == NULL || ndatabases == 0)
		return;
	rr->ndatabases = ndatabases;
	rr->view.steps_total = (uint32_t)ro->plan->nsteps * ndatabases;
}

void
coord_rollout_replay_region(coord_rollout *ro, const sk_region_view *v)
{
	coord_region_run *rr = find_region(ro, v->name);

	if (rr == NULL)
		return;
	rr->view = *v;
	rr->state = region_state_from_name(v->state);
	/* A region that was running when the coordinator stopped is asked
	 * again; the agent's ledger makes the repeat harmless. */
}

void
coord_rollout_replay_phase(coord_rollout *ro, uint32_t phase, int64_t at_ms)
{
	(void)at_ms;
	if (phase < ro->plan->nphases)
		ro->phase = phase;
}

void
coord_rollout_replay_finished(
    coord_rollout *ro, const char *state, const char *reason, int64_t at_ms)
{
	ro->state = strcmp(state, "succeeded") == 0 ? COORD_RO_SUCCEEDED :
						      COORD_RO_FAILED;
	ro->finished_ms = at_ms;
	snprintf(ro->reason, sizeof(ro->reason), "%s", reason);
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
	out->current_phase = ro->phase;
	out->created_ms = ro->created_ms;
	out->finished_ms = ro->finished_ms;
	out->phases = calloc(ro->plan->nphases, sizeof(*out->phases));
	if (out->phases == NULL)
		goto oom;
	out->nphases = ro->plan->nphases;
	for (size_t p = 0; p < ro->plan->nphases; p++) {
		sk_phase_view *pv = &out->phases[p];
		const char *st;

		snprintf(pv->name, sizeof(pv->name), "%s", ro->plan->phases[p].name);
		if (p < ro->phase)
			st = "succeeded";
		else if (p > ro->phase)
			st = ro->state == COORD_RO_FAILED ? "not-started" : "pending";
		else
			st = coord_rollout_state_name(ro->state);
		snprintf(pv->state, sizeof(pv->state), "%s", st);
		pv->regions =
		    calloc(ro->plan->phases[p].nregions + 1, sizeof(*pv->regions));
		if (pv->regions == NULL)
			goto oom;
		for (size_t i = 0; i < ro->nregions; i++)
			if (ro->regions[i].phase == p)
				pv->regions[pv->nregions++] = ro->regions[i].view;
	}
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

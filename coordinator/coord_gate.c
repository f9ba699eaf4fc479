/* coord_gate: the phase gates' state machine — entry gates (approval,
 * window) before a phase starts, exit gates (soak) after its regions
 * succeeded — with each transition journaled before it is acted on. */
#include "coord_gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_gate_narrate.h"
#include "coord_gate_sample.h"
#include "coord_mode.h"
#include "coord_rollout.h"
#include "sk_plan.h"
#include "sk_window.h"

int
coord_gates_init(coord_gates *g, size_t nphases, size_t nregions, sk_err *err)
{
	memset(g, 0, sizeof(*g));
	g->phases = calloc(nphases ? nphases : 1, sizeof(*g->phases));
	g->sent = calloc(nregions ? nregions : 1, sizeof(*g->sent));
	if (g->phases == NULL || g->sent == NULL) {
		free(g->phases);
		free(g->sent);
		return sk_err_set(err, SK_ENOMEM, "create rollout gates: out of memory");
	}
	g->nphases = nphases;
	g->nregions = nregions;
	return SK_OK;
}

void
coord_gates_fini(coord_gates *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; g->phases != NULL && i < g->nphases; i++)
		free(g->phases[i].items);
	free(g->phases);
	free(g->sent);
	free(g->approvals);
	memset(g, 0, sizeof(*g));
}

/* Gates hold rollouts that apply a plan phase by phase; a rehearsal
 * changes nothing and a rollback must not wait for a window. */
static bool
applies(const coord_rollout *ro)
{
	return ro->rules->effect == COORD_EFFECT_APPLY &&
	    ro->rules->pacing == COORD_PACE_PHASES;
}

static bool
has_entry(const sk_phase *ph)
{
	return ph->approval_count > 0 || sk_window_set(&ph->window);
}

static bool
has_exit(const sk_phase *ph)
{
	return ph->soak_ms > 0 || sk_phase_samples(ph);
}

static coord_gate_phase *
current(const coord_rollout *ro)
{
	if (ro->phase >= ro->gates.nphases)
		return NULL;
	return &ro->gates.phases[ro->phase];
}

bool
coord_gate_entry_open(const coord_rollout *ro)
{
	const coord_gate_phase *gp = current(ro);

	if (!applies(ro) || gp == NULL || !has_entry(ro->phases[ro->phase]))
		return true;
	return gp->entry_open;
}

int
coord_gate_phase_index(const coord_rollout *ro, const char *name)
{
	for (size_t i = 0; i < ro->nphases; i++)
		if (strcmp(ro->phases[i]->name, name) == 0)
			return (int)i;
	return -1;
}

uint32_t
coord_gate_approvals(const coord_rollout *ro, uint32_t p)
{
	uint32_t n = 0;

	/* add_approval keeps one per operator and phase. */
	for (size_t i = 0; i < ro->gates.napprovals; i++)
		n += ro->gates.approvals[i].phase == p;
	return n;
}

int
coord_gate_add_approval(
    coord_rollout *ro, const coord_approval *a, bool *counted, sk_err *err)
{
	coord_gates *g = &ro->gates;

	*counted = false;
	for (size_t i = 0; i < g->napprovals; i++)
		if (g->approvals[i].phase == a->phase &&
		    strcmp(g->approvals[i].operator_name, a->operator_name) == 0)
			return SK_OK;
	if (g->napprovals == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 8;
		coord_approval *v = realloc(g->approvals, cap * sizeof(*v));

		if (v == NULL)
			return sk_err_set(err, SK_ENOMEM,
			    "approve rollout %s: out of memory", ro->id);
		g->approvals = v;
		g->cap = cap;
	}
	g->approvals[g->napprovals++] = *a;
	*counted = true;
	return SK_OK;
}

static int
journal(coord_rollout *ro, coord_journal *j, uint32_t p, int event,
    int64_t now_ms, sk_err *err)
{
	coord_gate_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.phase = p;
	rec.event = event;
	rec.served_ms = ro->gates.phases[p].served_ms;
	rec.at_ms = now_ms;
	return coord_journal_gate(j, ro->id, &rec, err);
}

int
coord_gate_enter(coord_rollout *ro, coord_journal *j, int64_t now_ms,
    bool *opened, sk_err *err)
{
	coord_gate_phase *gp = current(ro);
	const sk_phase *ph;
	bool window_open = true;
	int64_t opens = 0;
	bool approved;

	*opened = false;
	if (!applies(ro) || gp == NULL || gp->entry_open || ro->state != COORD_RO_RUNNING)
		return SK_OK;
	ph = ro->phases[ro->phase];
	if (!has_entry(ph)) {
		gp->entry_open = true;
		return SK_OK;
	}
	approved = coord_gate_approvals(ro, ro->phase) >= ph->approval_count;
	sk_window_eval(&ph->window, now_ms, &window_open, &opens);
	gp->window_opens_ms = window_open ? 0 : opens;
	if (!approved || !window_open) {
		if (!gp->entry_waited) {
			gp->entry_waited = true;
			coord_gate_narrate_waiting(ro, ro->phase);
		}
		return SK_OK;
	}
	if (journal(ro, j, ro->phase, COORD_GATE_EV_ENTRY_OPEN, now_ms, err) != SK_OK)
		return err->code;
	gp->entry_open = true;
	*opened = true;
	coord_gate_narrate(ro, ro->phase, COORD_GATE_EV_ENTRY_OPEN);
	return SK_OK;
}

/* The soak phase p's exit gate must serve: the soak, or more after a
 * resume of a gate's pause (coord_gate_sample.h). */
static int64_t
due_of(const coord_rollout *ro, uint32_t p)
{
	const coord_gate_phase *gp = &ro->gates.phases[p];

	return gp->due_ms > ro->phases[p]->soak_ms ? gp->due_ms : ro->phases[p]->soak_ms;
}

/* Whether the running exit gate of phase p has served what it must. */
static bool
exit_due(const coord_rollout *ro, uint32_t p)
{
	return ro->gates.phases[p].served_ms >= due_of(ro, p);
}

/* After a resume, sampled items get this much more soak to be counted. */
static int64_t
grace_ms(const sk_phase *ph)
{
	return sk_phase_samples(ph) ?
	    (int64_t)(ph->min_samples + 1) * ph->sample_interval_ms :
	    0;
}

int
coord_gate_exit(coord_rollout *ro, coord_journal *j, int64_t now_ms,
    bool *passed, sk_err *err)
{
	coord_gate_phase *gp = current(ro);
	uint32_t p = ro->phase;

	*passed = false;
	if (!applies(ro) || gp == NULL || !has_exit(ro->phases[p])) {
		*passed = true;
		return SK_OK;
	}
	if (gp->exit == COORD_GATE_EXIT_NONE ||
	    (gp->exit == COORD_GATE_EXIT_PAUSED && !ro->ctl.paused)) {
		bool resumed = gp->exit == COORD_GATE_EXIT_PAUSED;

		if (journal(ro, j, p, COORD_GATE_EV_EXIT_STARTED, now_ms, err) != SK_OK)
			return err->code;
		gp->exit = COORD_GATE_EXIT_RUNNING;
		if (!resumed)
			gp->started_ms = now_ms;
		/* A resume samples again: the items get their intervals. */
		gp->due_ms = resumed ? gp->served_ms + grace_ms(ro->phases[p]) : 0;
		ro->gates.watch_ms = now_ms;
		ro->gates.next_sample_ms = 0;
		coord_gate_narrate(ro, p, COORD_GATE_EV_EXIT_STARTED);
	}
	if (gp->exit == COORD_GATE_EXIT_RUNNING && exit_due(ro, p) &&
	    sk_phase_samples(ro->phases[p])) {
		sk_gate_judged missing;
		char reason[SK_ERR_MSG_MAX];

		if (!coord_gate_samples_complete(ro, p, &missing)) {
			snprintf(reason, sizeof(reason),
			    "gate %.90s in %s%s%s has %u of %u good samples at the "
			    "end of the soak%s",
			    missing.gate, missing.region,
			    missing.database[0] ? "/" : "", missing.database,
			    missing.samples, ro->phases[p]->min_samples,
			    missing.erred ? " (its latest erred)" : "");
			return coord_gate_pause(
			    ro, j, p, &missing, reason, now_ms, err);
		}
	}
	if (gp->exit == COORD_GATE_EXIT_RUNNING && exit_due(ro, p)) {
		if (journal(ro, j, p, COORD_GATE_EV_EXIT_PASSED, now_ms, err) != SK_OK)
			return err->code;
		gp->exit = COORD_GATE_EXIT_PASSED;
		gp->ended_ms = now_ms;
		gp->journaled_ms = gp->served_ms;
		coord_gate_narrate(ro, p, COORD_GATE_EV_EXIT_PASSED);
	}
	*passed = gp->exit == COORD_GATE_EXIT_PASSED;
	return SK_OK;
}

/* Count the soak of the running exit gate of the current phase. */
static int
soak_tick(coord_rollout *ro, coord_journal *j, int64_t now_ms, bool *due, sk_err *err)
{
	coord_gate_phase *gp = current(ro);
	coord_gates *g = &ro->gates;
	bool issued;

	if (gp == NULL || gp->exit != COORD_GATE_EXIT_RUNNING)
		return SK_OK;
	if (ro->ctl.paused) {
		g->watch_ms = 0; /* a pause holds the soak */
		return SK_OK;
	}
	if (g->watch_ms == 0 || now_ms < g->watch_ms) {
		g->watch_ms = now_ms;
		return SK_OK;
	}
	gp->served_ms += now_ms - g->watch_ms;
	g->watch_ms = now_ms;
	if (gp->served_ms - gp->journaled_ms >= COORD_GATE_SOAK_JOURNAL_MS &&
	    !exit_due(ro, ro->phase)) {
		if (journal(ro, j, ro->phase, COORD_GATE_EV_SOAK, now_ms, err) != SK_OK)
			return err->code;
		gp->journaled_ms = gp->served_ms;
	}
	if (exit_due(ro, ro->phase))
		*due = true;
	coord_gate_sample_round(ro, now_ms, &issued);
	if (issued)
		*due = true; /* agents have a SAMPLE to hear */
	return SK_OK;
}

int
coord_gate_tick(
    coord_rollout *ro, coord_journal *j, int64_t now_ms, bool *due, sk_err *err)
{
	bool opened = false;

	*due = false;
	if (!applies(ro) || ro->state != COORD_RO_RUNNING)
		return SK_OK;
	if (coord_gate_enter(ro, j, now_ms, &opened, err) != SK_OK)
		return err->code;
	*due = opened;
	return soak_tick(ro, j, now_ms, due, err);
}

void
coord_gate_replay(coord_rollout *ro, const coord_gate_record *rec)
{
	coord_gate_phase *gp;

	if (rec->phase >= ro->gates.nphases)
		return;
	gp = &ro->gates.phases[rec->phase];
	switch (rec->event) {
	case COORD_GATE_EV_ENTRY_OPEN:
		gp->entry_open = true;
		break;
	case COORD_GATE_EV_EXIT_STARTED:
		if (gp->exit == COORD_GATE_EXIT_PAUSED)
			gp->due_ms = gp->served_ms + grace_ms(ro->phases[rec->phase]);
		else
			gp->started_ms = rec->at_ms;
		gp->exit = COORD_GATE_EXIT_RUNNING;
		break;
	case COORD_GATE_EV_SOAK:
		break;
	case COORD_GATE_EV_EXIT_PASSED:
		gp->exit = COORD_GATE_EXIT_PASSED;
		gp->ended_ms = rec->at_ms;
		break;
	case COORD_GATE_EV_HALTED:
	case COORD_GATE_EV_PAUSED:
		gp->exit = rec->event == COORD_GATE_EV_HALTED ?
		    COORD_GATE_EXIT_HALTED :
		    COORD_GATE_EXIT_PAUSED;
		gp->ended_ms = rec->at_ms;
		if (rec->has_judged && gp->njudged < SK_GATE_JUDGED_MAX)
			gp->judged[gp->njudged++] = rec->judged;
		break;
	default:
		return;
	}
	if (rec->served_ms > gp->served_ms)
		gp->served_ms = rec->served_ms;
	gp->journaled_ms = gp->served_ms;
}

/* ---- view ----------------------------------------------------------------- */

static const char *
exit_outcome(int exit)
{
	switch (exit) {
	case COORD_GATE_EXIT_PASSED:
		return "passed";
	case COORD_GATE_EXIT_HALTED:
		return "halted";
	case COORD_GATE_EXIT_PAUSED:
		return "paused";
	default:
		return "";
	}
}

/* Whether phase p's gates were reached: the rollout got there and the
 * phase has a gate. */
static bool
reached(const coord_rollout *ro, uint32_t p)
{
	return applies(ro) && p <= ro->phase && sk_phase_has_gates(ro->phases[p]);
}

static void
fill(const coord_rollout *ro, uint32_t p, int64_t now_ms, sk_gate_view *out)
{
	const sk_phase *ph = ro->phases[p];
	const coord_gate_phase *gp = &ro->gates.phases[p];
	bool entry_open = !has_entry(ph) || gp->entry_open;

	(void)now_ms;
	memset(out, 0, sizeof(*out));
	snprintf(out->phase, sizeof(out->phase), "%s", ph->name);
	snprintf(out->outcome, sizeof(out->outcome), "%s", exit_outcome(gp->exit));
	/* A phase with entry gates only has passed them once it started. */
	if (!has_exit(ph) && has_entry(ph) && entry_open)
		snprintf(out->outcome, sizeof(out->outcome), "passed");
	if (ro->state == COORD_RO_RUNNING && p == ro->phase) {
		const char *w = "";

		if (!entry_open)
			w = coord_gate_approvals(ro, p) < ph->approval_count ?
			    "approval" :
			    "window";
		else if (gp->exit == COORD_GATE_EXIT_RUNNING)
			w = exit_due(ro, p) ? "samples" : "soak";
		snprintf(out->waiting_for, sizeof(out->waiting_for), "%s", w);
	}
	out->soak_served_ms = gp->served_ms < ph->soak_ms ? gp->served_ms : ph->soak_ms;
	out->soak_ms = ph->soak_ms;
	out->min_samples = sk_phase_samples(ph) ? ph->min_samples : 0;
	for (size_t i = 0; i < gp->njudged && i < SK_GATE_JUDGED_MAX; i++)
		out->judged[out->njudged++] = gp->judged[i];
	/* The latest value of each sampled item; the samples of the one
	 * with fewest. */
	for (size_t i = 0; i < gp->nitems; i++) {
		if (i == 0 || gp->items[i].good < out->samples)
			out->samples = gp->items[i].good;
		if (out->njudged < SK_GATE_JUDGED_MAX)
			out->judged[out->njudged++] = gp->items[i].last;
	}
	out->approvals_needed = ph->approval_count;
	for (size_t i = 0; i < ro->gates.napprovals; i++) {
		const coord_approval *a = &ro->gates.approvals[i];

		if (a->phase != p)
			continue;
		out->approvals++;
		if (out->napproved_by < SK_GATE_APPROVERS_MAX)
			snprintf(out->approved_by[out->napproved_by++],
			    sizeof(out->approved_by[0]), "%s", a->operator_name);
	}
	if (!entry_open)
		out->window_opens_ms = gp->window_opens_ms;
	if (sk_window_set(&ph->window))
		snprintf(out->window_tz, sizeof(out->window_tz), "%s",
		    ph->window.tz != NULL ? ph->window.tz : "UTC");
	out->started_ms = gp->started_ms;
	out->ended_ms = gp->ended_ms;
}

int
coord_gate_view(const coord_rollout *ro, int64_t now_ms, sk_rollout_view *v, sk_err *err)
{
	size_t n = 0;

	v->gates = NULL;
	v->approvals = NULL;
	v->ngates = v->napprovals = 0;
	v->has_gate = false;
	for (uint32_t p = 0; p < ro->nphases; p++)
		n += reached(ro, p);
	if (n > 0) {
		v->gates = calloc(n, sizeof(*v->gates));
		if (v->gates == NULL)
			goto oom;
		for (uint32_t p = 0; p < ro->nphases; p++)
			if (reached(ro, p))
				fill(ro, p, now_ms, &v->gates[v->ngates++]);
	}
	if (ro->gates.napprovals > 0) {
		v->approvals = calloc(ro->gates.napprovals, sizeof(*v->approvals));
		if (v->approvals == NULL)
			goto oom;
		for (size_t i = 0; i < ro->gates.napprovals; i++) {
			const coord_approval *a = &ro->gates.approvals[i];
			sk_approval_view *o = &v->approvals[v->napprovals++];

			snprintf(o->phase, sizeof(o->phase), "%s",
			    a->phase < ro->nphases ? ro->phases[a->phase]->name : "");
			snprintf(o->operator_name, sizeof(o->operator_name),
			    "%s", a->operator_name);
			snprintf(o->key_id, sizeof(o->key_id), "%s", a->key_id);
			o->at_ms = a->at_ms;
		}
	}
	if (reached(ro, ro->phase) && ro->state == COORD_RO_RUNNING) {
		fill(ro, ro->phase, now_ms, &v->gate);
		v->has_gate = v->gate.waiting_for[0] != '\0' ||
		    strcmp(v->gate.outcome, "paused") == 0;
	}
	return SK_OK;
oom:
	free(v->gates);
	free(v->approvals);
	v->gates = NULL;
	v->approvals = NULL;
	v->ngates = v->napprovals = 0;
	return sk_err_set(err, SK_ENOMEM, "view rollout %s: out of memory", ro->id);
}

/* coord_gate_sample: sampled exit gates — rounds of SAMPLE commands out,
 * GATE_SAMPLE reports in, each judged: hold, halt, or pause for a human.
 * Every decision is journaled before it is acted on. */
#include "coord_gate_sample.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_gate_narrate.h"
#include "coord_mode.h"
#include "coord_narrate.h"
#include "coord_opctl_apply.h"
#include "coord_rollout.h"
#include "sk_log.h"
#include "sk_plan.h"

static bool
applies(const coord_rollout *ro)
{
	return ro->rules->effect == COORD_EFFECT_APPLY &&
	    ro->rules->pacing == COORD_PACE_PHASES && ro->state == COORD_RO_RUNNING;
}

/* The index in the plan of ro's phase p (SAMPLE commands and reports
 * name plan phases). */
static uint32_t
plan_index(const coord_rollout *ro, uint32_t p)
{
	return (uint32_t)(ro->phases[p] - ro->plan->phases);
}

/* The run of region name when it is in ro's phase p; its index in *i. */
static const coord_region_run *
phase_region(const coord_rollout *ro, uint32_t p, const char *name, size_t *i)
{
	for (size_t k = 0; k < ro->nregions; k++)
		if (ro->regions[k].phase == p &&
		    strcmp(ro->regions[k].name, name) == 0) {
			*i = k;
			return &ro->regions[k];
		}
	return NULL;
}

static const coord_gate_item *
item_find(const coord_gate_phase *gp, const char *region, const char *db,
    const char *gate)
{
	for (size_t i = 0; i < gp->nitems; i++)
		if (strcmp(gp->items[i].region, region) == 0 &&
		    strcmp(gp->items[i].database, db) == 0 &&
		    strcmp(gp->items[i].gate, gate) == 0)
			return &gp->items[i];
	return NULL;
}

static coord_gate_item *
item_get(coord_gate_phase *gp, const char *region, const char *db, const char *gate)
{
	coord_gate_item *it = (coord_gate_item *)item_find(gp, region, db, gate);

	if (it != NULL)
		return it;
	if (gp->nitems == gp->items_cap) {
		size_t cap = gp->items_cap ? 2 * gp->items_cap : 16;
		coord_gate_item *v = realloc(gp->items, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		gp->items = v;
		gp->items_cap = cap;
	}
	it = &gp->items[gp->nitems++];
	memset(it, 0, sizeof(*it));
	snprintf(it->region, sizeof(it->region), "%s", region);
	snprintf(it->database, sizeof(it->database), "%s", db);
	snprintf(it->gate, sizeof(it->gate), "%s", gate);
	return it;
}

static void
add_judged(coord_gate_phase *gp, const sk_gate_judged *j)
{
	if (gp->njudged < SK_GATE_JUDGED_MAX)
		gp->judged[gp->njudged++] = *j;
	else
		gp->judged[SK_GATE_JUDGED_MAX - 1] = *j;
}

static int
journal_decision(coord_rollout *ro, coord_journal *j, uint32_t p, int event,
    const sk_gate_judged *why, int64_t now_ms, sk_err *err)
{
	coord_gate_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.phase = p;
	rec.event = event;
	rec.served_ms = ro->gates.phases[p].served_ms;
	rec.has_judged = true;
	rec.judged = *why;
	rec.at_ms = now_ms;
	return coord_journal_gate(j, ro->id, &rec, err);
}

int
coord_gate_pause(coord_rollout *ro, coord_journal *j, uint32_t p,
    const sk_gate_judged *why, const char *reason, int64_t now_ms, sk_err *err)
{
	coord_gate_phase *gp = &ro->gates.phases[p];
	coord_opctl_record rec = { .kind = SK_CMD_PAUSE,
		.actor = "gate",
		.actor_key = "",
		.reason = reason,
		.at_ms = now_ms };

	if (journal_decision(ro, j, p, COORD_GATE_EV_PAUSED, why, now_ms, err) != SK_OK ||
	    coord_journal_opctl(j, ro->id, &rec, err) != SK_OK)
		return err->code;
	gp->exit = COORD_GATE_EXIT_PAUSED;
	gp->ended_ms = now_ms;
	add_judged(gp, why);
	/* Applied exactly as the journaled record is on replay: the pause,
	 * its generation and the rollout's control history alike. */
	coord_opctl_apply(ro, &rec);
	ro->gates.watch_ms = 0;
	coord_gate_narrate(ro, p, COORD_GATE_EV_PAUSED);
	coord_narrate_opctl(ro, &rec);
	sk_warn("rollout %s paused by its gate: %s", ro->id, reason);
	return SK_OK;
}

/* The threshold of signal in ph; false when ph has none for it. */
static bool
threshold_of(const sk_phase *ph, const char *signal, double *max)
{
	for (size_t i = 0; i < ph->nhealth; i++)
		if (strcmp(ph->health[i].signal, signal) == 0) {
			*max = ph->health[i].max;
			return true;
		}
	return false;
}

/* A check's seen value as a number when it is one; else 0. */
static double
seen_number(const char *seen)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(seen, &end);
	if (seen[0] == '\0' || end == NULL || *end != '\0' || errno != 0 ||
	    !isfinite(v))
		return 0;
	return v;
}

int
coord_gate_sample_fold(coord_rollout *ro, const char *region,
    const sk_report *r, coord_journal *j, int64_t now_ms, bool replay,
    int *verdict, char *reason, size_t len, sk_err *err)
{
	uint32_t p = ro->phase;
	coord_gate_phase *gp;
	const sk_phase *ph;
	coord_gate_item *it;
	sk_gate_judged jd;
	char gate[96];
	size_t ri;

	*verdict = COORD_GATE_GO_ON;
	reason[0] = '\0';
	if (!applies(ro) || p >= ro->gates.nphases || r->sample_round == 0 ||
	    r->phase != plan_index(ro, p) || phase_region(ro, p, region, &ri) == NULL)
		return SK_OK;
	gp = &ro->gates.phases[p];
	ph = ro->phases[p];
	if (gp->exit != COORD_GATE_EXIT_RUNNING)
		return SK_OK;
	if (r->has_check)
		snprintf(gate, sizeof(gate), "check %s", r->check.name);
	else if (r->has_health)
		snprintf(gate, sizeof(gate), "health %s", r->health.signal);
	else if (r->error.code != SK_OK)
		snprintf(gate, sizeof(gate), "sample");
	else
		return SK_OK;
	it = item_get(gp, region, r->database, gate);
	if (it == NULL)
		return sk_err_set(err, SK_ENOMEM,
		    "gate sample of rollout %s: out of memory", ro->id);
	if (r->sample_round <= it->last_round)
		return SK_OK; /* counted already */
	it->last_round = r->sample_round;
	memset(&jd, 0, sizeof(jd));
	snprintf(jd.gate, sizeof(jd.gate), "%s", gate);
	snprintf(jd.region, sizeof(jd.region), "%s", region);
	snprintf(jd.database, sizeof(jd.database), "%s", r->database);
	jd.at_ms = r->at_ms;
	if (r->error.code != SK_OK) {
		jd.erred = true;
		jd.samples = it->good;
		it->erred = true;
		it->last = jd;
		if (replay)
			return SK_OK;
		snprintf(reason, len, "gate %s in %s%s%s erred: %.600s", gate,
		    region, r->database[0] ? "/" : "", r->database, r->error.msg);
		*verdict = COORD_GATE_PAUSED;
		return coord_gate_pause(ro, j, p, &jd, reason, now_ms, err);
	}
	if (r->has_check) {
		jd.passed = r->check.passed;
		jd.value = seen_number(r->check.seen);
	} else {
		if (!threshold_of(ph, r->health.signal, &jd.threshold))
			return SK_OK; /* not a signal this gate judges */
		jd.value = r->health.value;
		jd.passed = jd.value <= jd.threshold;
	}
	it->erred = false;
	if (jd.passed)
		it->good++;
	jd.samples = it->good;
	it->last = jd;
	if (jd.passed || replay)
		return SK_OK;
	if (r->has_check)
		snprintf(reason, len,
		    "gate check %s in %s/%s failed: seen %.200s, expected %.200s",
		    r->check.name, region, r->database, r->check.seen,
		    r->check.expected);
	else
		snprintf(reason, len,
		    "gate health %s in %s%s%s failed: %g is over the threshold %g",
		    r->health.signal, region, r->database[0] ? "/" : "",
		    r->database, jd.value, jd.threshold);
	if (journal_decision(ro, j, p, COORD_GATE_EV_HALTED, &jd, now_ms, err) != SK_OK)
		return err->code;
	gp->exit = COORD_GATE_EXIT_HALTED;
	gp->ended_ms = now_ms;
	add_judged(gp, &jd);
	coord_gate_narrate(ro, p, COORD_GATE_EV_HALTED);
	*verdict = COORD_GATE_HALT;
	return SK_OK;
}

/* Whether item gate of region in db has min good samples; else fill
 * *missing. */
static bool
enough(const coord_gate_phase *gp, const char *region, const char *db,
    const char *gate, uint32_t min, sk_gate_judged *missing)
{
	const coord_gate_item *it = item_find(gp, region, db, gate);

	if (it != NULL && it->good >= min)
		return true;
	memset(missing, 0, sizeof(*missing));
	snprintf(missing->gate, sizeof(missing->gate), "%s", gate);
	snprintf(missing->region, sizeof(missing->region), "%s", region);
	snprintf(missing->database, sizeof(missing->database), "%s", db);
	missing->samples = it != NULL ? it->good : 0;
	missing->erred = it != NULL && it->erred;
	return false;
}

bool
coord_gate_samples_complete(const coord_rollout *ro, uint32_t p, sk_gate_judged *missing)
{
	const coord_gate_phase *gp = &ro->gates.phases[p];
	const sk_phase *ph = ro->phases[p];
	uint32_t min = ph->min_samples;
	char gate[96];

	for (size_t i = 0; i < ro->nregions; i++) {
		const coord_region_run *rr = &ro->regions[i];
		size_t ndbs = rr->progress.ndbs;

		if (rr->phase != p)
			continue;
		for (size_t h = 0; h < ph->nhealth; h++)
			if (strcmp(ph->health[h].signal, "http") == 0 &&
			    !enough(gp, rr->name, "", "health http", min, missing))
				return false;
		/* A region whose agent named no database (none reported)
		 * is judged as one database it never sampled. */
		for (size_t d = 0; d < (ndbs > 0 ? ndbs : 1); d++) {
			const char *db = ndbs > 0 ? rr->progress.dbs[d].name : "?";

			for (size_t c = 0; c < ph->ngate_checks; c++) {
				snprintf(gate, sizeof(gate), "check %s",
				    ph->gate_checks[c].name);
				if (!enough(gp, rr->name, db, gate, min, missing))
					return false;
			}
			for (size_t h = 0; h < ph->nhealth; h++) {
				if (strcmp(ph->health[h].signal, "http") == 0)
					continue;
				snprintf(gate, sizeof(gate), "health %s",
				    ph->health[h].signal);
				if (!enough(gp, rr->name, db, gate, min, missing))
					return false;
			}
		}
	}
	return true;
}

void
coord_gate_sample_round(coord_rollout *ro, int64_t now_ms, bool *issued)
{
	coord_gates *g = &ro->gates;
	const sk_phase *ph;

	*issued = false;
	if (!applies(ro) || ro->ctl.paused || ro->phase >= g->nphases)
		return;
	ph = ro->phases[ro->phase];
	if (g->phases[ro->phase].exit != COORD_GATE_EXIT_RUNNING ||
	    !sk_phase_samples(ph) || now_ms < g->next_sample_ms)
		return;
	/* Rounds are clock values, so they keep rising across a restart
	 * and a report of an old round is never counted twice. */
	g->round = (uint64_t)now_ms > g->round ? (uint64_t)now_ms : g->round + 1;
	g->next_sample_ms = now_ms + ph->sample_interval_ms;
	*issued = true;
}

bool
coord_gate_sample_command(coord_rollout *ro, const char *region, sk_command *out)
{
	coord_gates *g = &ro->gates;
	size_t i;

	if (!applies(ro) || ro->ctl.paused || g->round == 0 || ro->phase >= g->nphases ||
	    g->phases[ro->phase].exit != COORD_GATE_EXIT_RUNNING ||
	    phase_region(ro, ro->phase, region, &i) == NULL || g->sent[i] >= g->round)
		return false;
	memset(out, 0, sizeof(*out));
	out->kind = SK_CMD_SAMPLE;
	snprintf(out->rollout_id, sizeof(out->rollout_id), "%s", ro->id);
	out->signed_plan = ro->signed_plan;
	out->signed_plan_len = ro->signed_plan_len;
	out->mode = ro->mode;
	out->sample_phase = plan_index(ro, ro->phase);
	out->sample_round = g->round;
	g->sent[i] = g->round;
	return true;
}

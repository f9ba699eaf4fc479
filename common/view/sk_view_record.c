/* sk_view_record: the execution record of a rollout (`skein rollout
 * report`), built from the reports the coordinator kept. The reports are
 * folded into a sk_rec_model (region -> database -> step) once; the CLI's
 * verdict lines (cli_rehearsal.c) and Markdown (cli_report_md.c) and the
 * JSON (sk_view_report_json.c) are printers over it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sk_view_mode.h"
#include "sk_view_move.h"
#include "sk_view_record.h"
#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_util.h"

/* ---- model -------------------------------------------------------------- */

static bool
grow(sk_rec_model *m, void **p, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 8;
	void *n;

	if (need <= *cap)
		return true;
	while (c < need)
		c *= 2;
	n = realloc(*p, c * size);
	if (n == NULL) {
		m->oom = true;
		return false;
	}
	*p = n;
	*cap = c;
	return true;
}

static void
rvec_push(sk_rec_model *m, sk_rec_rvec *v, const sk_report *r)
{
	if (grow(m, (void **)&v->v, &v->cap, v->n + 1, sizeof(*v->v)))
		v->v[v->n++] = r;
}

/* Note r's blockers on l (a step's or the phase checks'): a pid already
 * named updates its entry (the latest state and age, last seen, one more
 * sighting), a new one is added. The agent repeats LOCK_WAIT while a step
 * or phase check waits, naming the same sessions each time: the record
 * lists each once. */
static void
note_blockers(sk_rec_model *m, sk_rec_locks *s, const sk_report *r)
{
	size_t nb = r->nblockers < SK_BLOCKERS_MAX ? r->nblockers : SK_BLOCKERS_MAX;

	rvec_push(m, &s->waits, r);
	for (size_t k = 0; k < nb; k++) {
		const sk_blocker *b = &r->blockers[k];
		sk_rec_blocker *e = NULL;

		for (size_t i = 0; i < s->nblockers; i++)
			if (s->blockers[i].b->pid == b->pid) {
				e = &s->blockers[i];
				break;
			}
		if (e == NULL) {
			if (!grow(m, (void **)&s->blockers, &s->bcap,
				s->nblockers + 1, sizeof(*s->blockers)))
				return;
			e = &s->blockers[s->nblockers++];
			e->first_ms = r->at_ms;
			e->last_ms = r->at_ms;
			e->seen = 0;
		}
		e->b = b;
		if (r->at_ms < e->first_ms)
			e->first_ms = r->at_ms;
		if (r->at_ms > e->last_ms)
			e->last_ms = r->at_ms;
		e->seen++;
	}
}

static sk_rec_region *
region_get(sk_rec_model *m, const char *name, const char *phase,
    const sk_region_view *view)
{
	sk_rec_region *g;

	for (size_t i = 0; i < m->nregions; i++)
		if (strcmp(m->regions[i].name, name) == 0)
			return &m->regions[i];
	if (!grow(m, (void **)&m->regions, &m->cap, m->nregions + 1, sizeof(*m->regions)))
		return NULL;
	g = &m->regions[m->nregions++];
	memset(g, 0, sizeof(*g));
	g->name = name;
	g->phase = phase;
	g->view = view;
	return g;
}

/* The kind of step id in plan; 0 when plan is NULL or has no such step. */
static int
plan_kind(const sk_plan *plan, const char *id)
{
	for (size_t i = 0; plan != NULL && i < plan->nsteps; i++)
		if (strcmp(plan->steps[i].id, id) == 0)
			return plan->steps[i].kind;
	return 0;
}

static sk_rec_step *
step_get(sk_rec_model *m, sk_rec_db *d, const char *id)
{
	sk_rec_step *s;

	for (size_t i = 0; i < d->nsteps; i++)
		if (strcmp(d->steps[i].id, id) == 0)
			return &d->steps[i];
	if (!grow(m, (void **)&d->steps, &d->cap, d->nsteps + 1, sizeof(*d->steps)))
		return NULL;
	s = &d->steps[d->nsteps++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->kind = plan_kind(m->src->plan, id);
	return s;
}

static sk_rec_db *
db_get(sk_rec_model *m, sk_rec_region *g, const char *name)
{
	const sk_plan *plan = m->src->plan;
	sk_rec_db *d;

	for (size_t i = 0; i < g->ndbs; i++)
		if (strcmp(g->dbs[i].name, name) == 0)
			return &g->dbs[i];
	if (!grow(m, (void **)&g->dbs, &g->cap, g->ndbs + 1, sizeof(*g->dbs)))
		return NULL;
	d = &g->dbs[g->ndbs++];
	memset(d, 0, sizeof(*d));
	d->name = name;
	/* Apply and rehearse walk the plan in order: list every step, so
	 * that the ones never reached show. A rollback lists what it did, in
	 * the order it did it (newest step first). */
	if (plan != NULL && !sk_view_mode_of(m->mode)->steps_as_run)
		for (size_t i = 0; i < plan->nsteps; i++)
			(void)step_get(m, d, plan->steps[i].id);
	return d;
}

static void
step_end(sk_rec_step *s, const sk_report *r, const char *result)
{
	s->result = result;
	s->end_ms = r->at_ms;
	s->duration_ms = r->duration_ms;
	if (s->start_ms == 0 && r->at_ms > 0)
		s->start_ms = r->at_ms - r->duration_ms;
	if (r->rows > 0)
		s->rows = r->rows;
	if (r->lock_waits > s->locks.lock_waits)
		s->locks.lock_waits = r->lock_waits;
	if (r->lock_wait_ms > s->locks.lock_wait_ms)
		s->locks.lock_wait_ms = r->lock_wait_ms;
	/* A backfill's totals (other kinds send none). */
	if (r->batch > 0)
		s->batches = r->batch;
	if (r->throttled_ms > 0)
		s->throttled_ms = r->throttled_ms;
	if (r->throttled_by[0] != '\0')
		s->throttled_by = r->throttled_by;
}

static void
fold_step(sk_rec_model *m, sk_rec_db *d, const sk_report *r)
{
	sk_rec_step *s = step_get(m, d, r->step_id);

	if (s == NULL)
		return;
	if (r->attempt > s->attempts)
		s->attempts = r->attempt;
	switch (r->event) {
	case SK_EV_STEP_STARTED:
		if (s->start_ms == 0)
			s->start_ms = r->at_ms;
		if (s->result == NULL)
			s->result = "started";
		break;
	case SK_EV_STEP_FINISHED:
		step_end(s, r, "applied");
		break;
	case SK_EV_STEP_SKIPPED:
		step_end(s, r, "skipped");
		break;
	case SK_EV_STEP_FAILED:
		step_end(s, r, "failed");
		s->error = &r->error;
		if (r->nblockers > 0)
			note_blockers(m, &s->locks, r);
		break;
	case SK_EV_STEP_REVERTED:
		step_end(s, r, "reverted");
		break;
	case SK_EV_STEP_REHEARSED:
		step_end(s, r, "rehearsed");
		/* What the rehearsal learned, e.g. a backfill's estimate. */
		s->detail = r->detail;
		break;
	case SK_EV_STEP_NOT_REHEARSABLE:
		step_end(s, r, "not-rehearsable");
		s->detail = r->detail;
		break;
	case SK_EV_LOCK_WAIT:
		/* Sent while a step waits and again after each lock timeout;
		 * each carries the step's count of lock timeouts so far. */
		if (r->lock_waits > s->locks.lock_waits)
			s->locks.lock_waits = r->lock_waits;
		if (r->lock_wait_ms > s->locks.lock_wait_ms)
			s->locks.lock_wait_ms = r->lock_wait_ms;
		if (r->nblockers > 0)
			note_blockers(m, &s->locks, r);
		break;
	case SK_EV_CHECK:
		rvec_push(m, &s->checks, r);
		break;
	case SK_EV_PROGRESS:
		if (s->result == NULL || strcmp(s->result, "started") == 0) {
			/* Its start may be among the reports not kept. */
			s->result = "started";
			s->rows = r->rows;
			s->batches = r->batch;
			s->throttled_ms = r->throttled_ms;
			s->progress_ms = r->at_ms;
		}
		break;
	default:
		break;
	}
}

/* A LOCK_WAIT without a step: a phase's pre- or post-checks waited. Each
 * run of them (the pre-checks, then the post-checks) counts its lock
 * timeouts and their time from 0, every report carrying the run's totals
 * so far: a count that falls starts the next run, and what each report
 * adds to its run's counts is added to the database's. */
static void
fold_phase_lock_wait(sk_rec_model *m, sk_rec_db *d, const sk_report *r)
{
	sk_rec_locks *l = &d->phase_locks;

	if (r->lock_waits < d->run_lock_waits || r->lock_wait_ms < d->run_lock_wait_ms) {
		d->run_lock_waits = 0;
		d->run_lock_wait_ms = 0;
	}
	if (r->lock_waits > d->run_lock_waits) {
		l->lock_waits += r->lock_waits - d->run_lock_waits;
		d->run_lock_waits = r->lock_waits;
	}
	if (r->lock_wait_ms > d->run_lock_wait_ms) {
		l->lock_wait_ms += r->lock_wait_ms - d->run_lock_wait_ms;
		d->run_lock_wait_ms = r->lock_wait_ms;
	}
	if (r->nblockers > 0)
		note_blockers(m, l, r);
}

static void
fold_db(sk_rec_model *m, sk_rec_db *d, const sk_report *r)
{
	switch (r->event) {
	case SK_EV_DB_STARTED:
		if (d->start_ms == 0)
			d->start_ms = r->at_ms;
		return;
	case SK_EV_DB_FINISHED:
	case SK_EV_DB_FAILED:
		d->end_event = r->event;
		d->end_ms = r->at_ms;
		d->error = r->event == SK_EV_DB_FAILED ? &r->error : NULL;
		if (d->start_ms == 0 && r->duration_ms > 0)
			d->start_ms = r->at_ms - r->duration_ms;
		return;
	case SK_EV_BACKUP:
		if (r->has_backup)
			d->backup = r;
		return;
	case SK_EV_CHECK:
		/* A check of a step the plan has (or the report names) belongs
		 * to the step; preflight and phase checks to the database. */
		if (r->step_id[0] != '\0' && strcmp(r->check.when, "preflight") != 0)
			break;
		rvec_push(m, &d->checks, r);
		return;
	case SK_EV_LOCK_WAIT:
		if (r->step_id[0] != '\0')
			break;
		fold_phase_lock_wait(m, d, r);
		return;
	default:
		if (r->step_id[0] == '\0')
			return;
		break;
	}
	fold_step(m, d, r);
}

void
sk_rec_build(sk_rec_model *m, const sk_rec_src *src)
{
	const sk_rollout_view *v = src->view;

	memset(m, 0, sizeof(*m));
	m->src = src;
	m->mode = v->mode;
	for (size_t p = 0; p < v->nphases; p++)
		for (size_t i = 0; i < v->phases[p].nregions; i++)
			(void)region_get(m, v->phases[p].regions[i].name,
			    v->phases[p].name, &v->phases[p].regions[i]);
	for (size_t i = 0; i < src->nreports; i++) {
		const sk_region_report *rr = &src->reports[i];
		const sk_report *r = &rr->report;
		sk_rec_region *g = region_get(m, rr->region, "", NULL);
		sk_rec_db *d;

		if (g == NULL)
			continue;
		switch (r->event) {
		case SK_EV_PLAN_ACCEPTED:
			if (g->accepted_ms == 0)
				g->accepted_ms = r->at_ms;
			continue;
		case SK_EV_PLAN_REFUSED:
		case SK_EV_PLAN_SUCCEEDED:
		case SK_EV_PLAN_FAILED:
			g->final = r;
			continue;
		default:
			break;
		}
		if (r->database[0] == '\0' || (d = db_get(m, g, r->database)) == NULL)
			continue;
		fold_db(m, d, r);
	}
}

void
sk_rec_free(sk_rec_model *m)
{
	for (size_t i = 0; i < m->nregions; i++) {
		sk_rec_region *g = &m->regions[i];

		for (size_t k = 0; k < g->ndbs; k++) {
			sk_rec_db *d = &g->dbs[k];

			for (size_t s = 0; s < d->nsteps; s++) {
				free(d->steps[s].checks.v);
				free(d->steps[s].locks.waits.v);
				free(d->steps[s].locks.blockers);
			}
			free(d->steps);
			free(d->checks.v);
			free(d->phase_locks.waits.v);
			free(d->phase_locks.blockers);
		}
		free(g->dbs);
	}
	free(m->regions);
}

/* Attempts as reported; a step that ran without saying so ran once, one
 * that was skipped or never reached did not run. */
uint32_t
sk_rec_step_attempts(const sk_rec_step *st)
{
	if (st->result == NULL || strcmp(st->result, "skipped") == 0 ||
	    strcmp(st->result, "not-rehearsable") == 0)
		return 0;
	return st->attempts > 0 ? st->attempts : 1;
}

uint32_t
sk_rec_step_lock_waits(const sk_rec_step *st)
{
	/* The lock timeouts the agent counted, not the LOCK_WAIT reports:
	 * an attempt sends several while it waits. */
	return st->locks.lock_waits;
}

bool
sk_rec_db_has_phase_locks(const sk_rec_db *d)
{
	const sk_rec_locks *l = &d->phase_locks;

	return l->lock_waits > 0 || l->lock_wait_ms > 0 || l->nblockers > 0;
}

/* ---- verdicts and reasons ----------------------------------------------- */

int
sk_rec_db_outcome(const sk_rec_db *d)
{
	return d->end_event == SK_EV_DB_FINISHED ? SK_VIEW_OUT_OK :
	    d->end_event == SK_EV_DB_FAILED      ? SK_VIEW_OUT_FAILED :
						   SK_VIEW_OUT_NONE;
}

const char *
sk_rec_db_verdict(int mode, const sk_rec_db *d)
{
	return sk_view_mode_of(mode)->verdict[sk_rec_db_outcome(d)];
}

int
sk_rec_region_outcome(const sk_rec_region *g)
{
	return sk_view_state_outcome(g->view ? g->view->state : "");
}

const char *
sk_rec_region_verdict(int mode, const sk_rec_region *g)
{
	const sk_view_mode_row *m = sk_view_mode_of(mode);
	const char *state = g->view ? g->view->state : "";

	if (!m->verdicts)
		return state[0] ? state : "unknown";
	return m->verdict[sk_rec_region_outcome(g)];
}

void
sk_rec_err_line(const sk_err *e, char *buf, size_t len)
{
	/* Agents often name the SQLSTATE in the message already. */
	if (e->sqlstate[0] && strstr(e->msg, e->sqlstate) == NULL)
		snprintf(buf, len, "%s (SQLSTATE %s)", e->msg, e->sqlstate);
	else
		snprintf(buf, len, "%s", e->msg);
}

void
sk_rec_blocker_line(const char *step, const sk_blocker *b, char *buf, size_t len)
{
	char age[32];

	sk_duration_format(b->age_ms, age, sizeof(age));
	snprintf(buf, len,
	    "%s%s blocked by pid %d (%s, transaction %s old, user %s, "
	    "application %s): %s",
	    step != NULL ? "step " : "phase checks", step != NULL ? step : "",
	    b->pid, b->state[0] ? b->state : "?", age, b->user[0] ? b->user : "?",
	    b->application[0] ? b->application : "-", b->query);
}

static void
check_line(const sk_report *r, char *buf, size_t len)
{
	const sk_check_result *c = &r->check;

	snprintf(buf, len, "%s check %s%s%s: saw %s, expected %s", c->when,
	    c->name, r->step_id[0] ? " of step " : "", r->step_id,
	    c->seen[0] ? c->seen : "nothing", c->expected);
}

/* Every reason a database failed or is BLOCKED, most specific first:
 * failed checks with the value seen, failed statements with SQLSTATE,
 * the sessions that blocked a step; the database's own error when none of
 * those explains it. */
void
sk_rec_db_reasons(const sk_rec_db *d, sk_rec_emit_fn emit, void *arg)
{
	char buf[2048];
	size_t n = 0;

	for (size_t i = 0; i < d->checks.n; i++)
		if (!d->checks.v[i]->check.passed) {
			check_line(d->checks.v[i], buf, sizeof(buf));
			emit(arg, buf);
			n++;
		}
	for (size_t s = 0; s < d->nsteps; s++) {
		const sk_rec_step *st = &d->steps[s];

		bool check_failed = false;

		for (size_t i = 0; i < st->checks.n; i++)
			if (!st->checks.v[i]->check.passed) {
				check_line(st->checks.v[i], buf, sizeof(buf));
				emit(arg, buf);
				check_failed = true;
				n++;
			}
		/* A step failed by its own check: the check line says it all. */
		if (st->error != NULL && st->error->code != SK_OK &&
		    !(check_failed && st->error->code == SK_ECHECK)) {
			char e[SK_ERR_MSG_MAX + 32];

			sk_rec_err_line(st->error, e, sizeof(e));
			snprintf(buf, sizeof(buf), "step %s failed: %s", st->id, e);
			emit(arg, buf);
			n++;
		}
	}
	for (size_t s = 0; s < d->nsteps; s++) {
		const sk_rec_step *st = &d->steps[s];
		const sk_rec_rvec *w = &st->locks.waits;

		/* The latest report names who blocked the step last. */
		if (w->n == 0 || st->error == NULL)
			continue;
		for (size_t b = 0; b < w->v[w->n - 1]->nblockers; b++) {
			sk_rec_blocker_line(st->id,
			    &w->v[w->n - 1]->blockers[b], buf, sizeof(buf));
			emit(arg, buf);
			n++;
		}
	}
	if (n == 0 && d->error != NULL && d->error->code != SK_OK) {
		sk_rec_err_line(d->error, buf, sizeof(buf));
		emit(arg, buf);
	}
}

/* ---- time --------------------------------------------------------------- */

void
sk_rec_fmt_iso(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char s[32];

	if (ms <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", s, (int)(ms % 1000));
}

void
sk_rec_fmt_dur(int64_t ms, char *buf, size_t len)
{
	if (ms <= 0)
		snprintf(buf, len, ms == 0 ? "0ms" : "-");
	else
		sk_duration_format(ms, buf, len);
}

int
sk_rec_plan_of(const uint8_t *signed_plan, size_t len, sk_plan **out, sk_err *err)
{
	uint8_t *payload = NULL;
	size_t plen = 0;
	uint8_t signer[SK_KEY_ID_LEN];
	int kind, rc;

	*out = NULL;
	if (len == 0)
		return SK_OK;
	rc = sk_envelope_peek(&payload, &plen, &kind, signer, signed_plan, len, err);
	if (rc == SK_OK)
		rc = sk_plan_decode(payload, plen, out, err);
	if (rc != SK_OK)
		*out = NULL;
	free(payload);
	return rc;
}

/* coord_progress: folding agent reports into progress figures. A report
 * costs a scan of the region's databases (a few, at most
 * COORD_DATABASES_MAX); nothing here is journaled or allocates per report
 * beyond a new database's entry. A backfill's PROGRESS reports (at most
 * one a second per batch) overwrite one fixed-size entry each. */
#include "coord_progress.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
coord_progress_init(coord_progress *p, uint32_t steps_per_db)
{
	memset(p, 0, sizeof(*p));
	p->steps_per_db = steps_per_db;
	p->ndatabases = 1;
	p->steps_total = steps_per_db;
}

void
coord_progress_fini(coord_progress *p)
{
	if (p == NULL)
		return;
	free(p->dbs);
	p->dbs = NULL;
	p->ndbs = p->dbs_cap = 0;
}

static void
hold_none(coord_hold_info *h)
{
	memset(h, 0, sizeof(*h));
}

static void
hold_cause(coord_hold_info *h, int kind, const char *step, const char *cause)
{
	hold_none(h);
	h->kind = kind;
	snprintf(h->step, sizeof(h->step), "%s", step);
	/* A cause is a one-line summary: cut to the field on purpose. */
	snprintf(h->cause, sizeof(h->cause), "%.*s", (int)sizeof(h->cause) - 1, cause);
}

/* A lock wait; the blocker is the first the agent named, if any. */
static void
hold_lock(coord_hold_info *h, const sk_report *r)
{
	hold_none(h);
	h->kind = COORD_HOLD_LOCK;
	if (r->nblockers > 0) {
		h->has_blocker = true;
		h->blocker_pid = r->blockers[0].pid;
		snprintf(h->blocker_state, sizeof(h->blocker_state), "%s",
		    r->blockers[0].state);
	}
}

/* Why a database waits to start: the error, else the agent's detail. */
static const char *
waiting_cause(const sk_report *r)
{
	return r->error.code != SK_OK ? r->error.msg : r->detail;
}

static bool
ends_step(int event)
{
	switch (event) {
	case SK_EV_STEP_FINISHED:
	case SK_EV_STEP_SKIPPED:
	case SK_EV_STEP_REVERTED:
	case SK_EV_STEP_REHEARSED:
	case SK_EV_STEP_NOT_REHEARSABLE:
		return true;
	default:
		return false;
	}
}

/* The entry for database name, added (running) if new; NULL when the
 * region already tracks COORD_DATABASES_MAX or memory is short. */
static coord_db_progress *
db_entry(coord_progress *p, const char *name)
{
	coord_db_progress *d;

	for (size_t i = 0; i < p->ndbs; i++)
		if (strcmp(p->dbs[i].name, name) == 0)
			return &p->dbs[i];
	if (p->ndbs >= COORD_DATABASES_MAX)
		return NULL;
	if (p->ndbs == p->dbs_cap) {
		size_t cap = p->dbs_cap ? p->dbs_cap * 2 : 4;
		coord_db_progress *n = realloc(p->dbs, cap * sizeof(*n));

		if (n == NULL)
			return NULL; /* progress is a convenience */
		p->dbs = n;
		p->dbs_cap = cap;
	}
	d = &p->dbs[p->ndbs++];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->state = COORD_DB_RUNNING;
	return d;
}

/* A PROGRESS report of a step: its figures replace the database's,
 * unless the step already ended there (a late report). */
static void
backfill_note(coord_db_progress *d, const sk_report *r)
{
	coord_backfill *b = &d->backfill;

	if (r->step_id[0] == '\0' || strcmp(r->step_id, d->ended_step) == 0)
		return;
	memset(b, 0, sizeof(*b));
	snprintf(b->step, sizeof(b->step), "%s", r->step_id);
	b->rows = r->rows;
	b->rows_total = r->rows_total;
	b->rows_scanned = r->rows_scanned;
	b->rate = r->rate;
	b->eta_ms = r->eta_ms;
	b->batch_size = r->batch_size;
	b->batches = r->batch;
	snprintf(b->throttle, sizeof(b->throttle), "%s", r->throttle);
	b->throttled_ms = r->throttled_ms;
	b->at_ms = r->at_ms;
	if (r->has_move) { /* moves */
		const sk_move_report *m = &r->move;

		snprintf(b->move_phase, sizeof(b->move_phase), "%s", m->phase);
		snprintf(b->move_table, sizeof(b->move_table), "%s", m->table);
		snprintf(b->move_from, sizeof(b->move_from), "%s", m->source_region);
		snprintf(b->move_to, sizeof(b->move_to), "%s", m->target_region);
		b->rows = m->rows;
		b->rows_total = m->rows_total;
		b->rate = m->rate;
		b->eta_ms = m->eta_ms;
		b->bytes = m->bytes;
		b->bytes_total = m->bytes_total;
		b->lag_ms = m->lag_ms;
		b->changes = m->changes;
		b->freeze_ms = m->freeze_ms;
	}
}

/* Whether r ends the backfill d runs, if any: its step ends, another
 * step starts, or the database stops. */
static bool
ends_backfill(const coord_db_progress *d, const sk_report *r)
{
	if (d->backfill.step[0] == '\0')
		return false;
	switch (r->event) {
	case SK_EV_STEP_STARTED:
		return strcmp(r->step_id, d->backfill.step) != 0;
	case SK_EV_STEP_FAILED:
	case SK_EV_DB_WAITING:
	case SK_EV_DB_STARTED:
	case SK_EV_DB_FINISHED:
	case SK_EV_DB_FAILED:
		return true;
	default:
		return ends_step(r->event);
	}
}

/* Apply r to the database it names. */
static void
db_note(coord_progress *p, const sk_report *r, int64_t now_ms)
{
	coord_db_progress *d;

	if (r->database[0] == '\0' || (d = db_entry(p, r->database)) == NULL)
		return;
	d->updated_ms = now_ms;
	if (r->step_id[0])
		snprintf(d->step, sizeof(d->step), "%s", r->step_id);
	if (ends_backfill(d, r))
		memset(&d->backfill, 0, sizeof(d->backfill));
	if (r->event == SK_EV_STEP_STARTED && strcmp(r->step_id, d->ended_step) == 0)
		d->ended_step[0] = '\0'; /* the step runs again */
	if (ends_step(r->event) || r->event == SK_EV_STEP_FAILED)
		snprintf(d->ended_step, sizeof(d->ended_step), "%s", r->step_id);
	if (ends_step(r->event)) {
		d->steps_done++;
		hold_none(&d->hold);
		return;
	}
	switch (r->event) {
	case SK_EV_DB_WAITING:
		d->state = COORD_DB_WAITING;
		hold_cause(&d->hold, COORD_HOLD_START, "", waiting_cause(r));
		break;
	case SK_EV_PROGRESS:
		backfill_note(d, r);
		/* A step that reports progress holds its locks. */
		d->state = COORD_DB_RUNNING;
		hold_none(&d->hold);
		break;
	case SK_EV_DB_STARTED:
	case SK_EV_STEP_STARTED:
		d->state = COORD_DB_RUNNING;
		hold_none(&d->hold);
		break;
	case SK_EV_LOCK_WAIT:
		d->state = COORD_DB_RUNNING;
		hold_lock(&d->hold, r);
		break;
	case SK_EV_STEP_FAILED:
		hold_cause(
		    &d->hold, COORD_HOLD_STEP_FAILED, r->step_id, r->error.msg);
		break;
	case SK_EV_DB_FINISHED:
		d->state = COORD_DB_DONE;
		hold_none(&d->hold);
		break;
	case SK_EV_DB_FAILED:
		d->state = COORD_DB_FAILED;
		hold_cause(&d->hold, COORD_HOLD_FAILED, "", r->error.msg);
		break;
	default:
		break;
	}
}

/* Apply r to the region as a whole. Events not named leave its hold as
 * it was: a check, a backup or progress says nothing about a wait. */
static void
region_note(coord_progress *p, const sk_report *r)
{
	if (r->database[0])
		snprintf(p->database, sizeof(p->database), "%s", r->database);
	if (r->step_id[0])
		snprintf(p->step, sizeof(p->step), "%s", r->step_id);
	if (ends_step(r->event)) {
		p->steps_done++;
		hold_none(&p->hold);
		return;
	}
	switch (r->event) {
	case SK_EV_PLAN_ACCEPTED:
		p->steps_done = 0;
		hold_none(&p->hold);
		break;
	case SK_EV_DB_WAITING:
		hold_cause(&p->hold, COORD_HOLD_START, "", waiting_cause(r));
		break;
	case SK_EV_DB_STARTED:
	case SK_EV_STEP_STARTED:
	case SK_EV_DB_FINISHED:
	case SK_EV_DB_FAILED:
	case SK_EV_PLAN_SUCCEEDED:
		hold_none(&p->hold);
		break;
	case SK_EV_STEP_FAILED:
		/* No longer waiting: the failure is the news. */
		hold_cause(
		    &p->hold, COORD_HOLD_STEP_FAILED, r->step_id, r->error.msg);
		break;
	case SK_EV_LOCK_WAIT:
		if (r->nblockers > 0)
			hold_lock(&p->hold, r);
		break;
	default:
		break;
	}
}

void
coord_progress_note(coord_progress *p, const sk_report *r, int64_t now_ms)
{
	p->noted = true;
	if (r->event == SK_EV_PLAN_ACCEPTED)
		p->ndbs = 0; /* a new run of the plan in this region */
	else
		db_note(p, r, now_ms);
	region_note(p, r);
}

void
coord_progress_set_databases(coord_progress *p, uint32_t n)
{
	if (n == 0)
		return;
	p->ndatabases = n;
	p->steps_total = p->steps_per_db * n;
}

void
coord_progress_count(const coord_progress *p, coord_db_counts *out)
{
	memset(out, 0, sizeof(*out));
	out->total = p->ndatabases > p->ndbs ? p->ndatabases : p->ndbs;
	for (size_t i = 0; i < p->ndbs; i++) {
		const coord_db_progress *d = &p->dbs[i];

		if (d->state == COORD_DB_DONE)
			out->done++;
		else if (d->state == COORD_DB_FAILED)
			out->failed++;
		else if (d->state == COORD_DB_WAITING)
			out->waiting++;
		else if (d->hold.kind == COORD_HOLD_LOCK)
			out->locked++;
	}
}

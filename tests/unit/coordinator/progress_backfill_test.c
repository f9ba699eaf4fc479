/* progress_backfill_test: a backfill's PROGRESS reports become its
 * database's figures (rows done, scanned and total, rate, ETA, batch
 * size and count, throttle and time throttled) in the status view, with
 * the step's kind from the plan; the step's end, the next step's start or
 * the database's end clears them, and a late report of an ended step does
 * not bring them back. A coordinator rebuilt from its journal shows the
 * same databases and the same figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "coord_journal.h"
#include "coord_narrate.h"
#include "coord_progress.h"
#include "coord_rollout.h"
#include "coord_testfix.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_wire.h"

#define NOW_MS 1714550400000

static const uint8_t signed_plan[] = { 'e', 'n', 'v', 0x00, 0x02 };

/* ---- reports ------------------------------------------------------------ */

static sk_report
rep(int event, const char *db, const char *step)
{
	static uint64_t seq;
	sk_report r;

	memset(&r, 0, sizeof(r));
	r.seq = ++seq;
	r.event = event;
	r.at_ms = NOW_MS + (int64_t)seq;
	snprintf(r.rollout_id, sizeof(r.rollout_id), "ro-1");
	snprintf(r.database, sizeof(r.database), "%s", db);
	snprintf(r.step_id, sizeof(r.step_id), "%s", step);
	return r;
}

/* A PROGRESS report: scanned of total rows, done of them changed. */
static sk_report
progress(const char *db, const char *step, int64_t done, int64_t scanned,
    int64_t total, const char *throttle)
{
	sk_report r = rep(SK_EV_PROGRESS, db, step);

	r.rows = done;
	r.rows_scanned = scanned;
	r.rows_total = total;
	r.batch = scanned / 4800;
	r.batch_size = 4800;
	r.rate = 24300.0;
	r.eta_ms = 35000;
	r.throttled_ms = throttle[0] ? 12000 : 0;
	snprintf(r.throttle, sizeof(r.throttle), "%s", throttle);
	return r;
}

static void
note(coord_progress *p, sk_report r)
{
	coord_progress_note(p, &r, NOW_MS);
}

static const coord_db_progress *
db(const coord_progress *p, const char *name)
{
	for (size_t i = 0; i < p->ndbs; i++)
		if (strcmp(p->dbs[i].name, name) == 0)
			return &p->dbs[i];
	fail_msg("no database %s", name);
	return NULL;
}

/* ---- progress alone ----------------------------------------------------- */

static void
test_progress_report_becomes_the_databases_backfill_figures(void **state)
{
	coord_progress p;
	const coord_backfill *b;

	(void)state;
	coord_progress_init(&p, 2);
	note(&p, rep(SK_EV_PLAN_ACCEPTED, "", ""));
	note(&p, rep(SK_EV_STEP_STARTED, "app", "0002_fill"));
	assert_string_equal(db(&p, "app")->backfill.step, "");
	note(&p, progress("app", "0002_fill", 1100000, 1160000, 2000000, ""));
	b = &db(&p, "app")->backfill;
	assert_string_equal(b->step, "0002_fill");
	assert_int_equal(b->rows, 1100000);
	assert_int_equal(b->rows_scanned, 1160000);
	assert_int_equal(b->rows_total, 2000000);
	assert_true(b->rate == 24300.0);
	assert_int_equal(b->eta_ms, 35000);
	assert_int_equal(b->batch_size, 4800);
	assert_int_equal(b->batches, 1160000 / 4800);
	assert_string_equal(b->throttle, "");
	assert_int_equal(b->throttled_ms, 0);
	assert_int_equal(db(&p, "app")->state, COORD_DB_RUNNING);

	/* The next report replaces the figures: paused now, then running
	 * again with the time paused kept. */
	note(&p,
	    progress("app", "0002_fill", 1200000, 1260000, 2000000,
		"replication lag 12.3 s > 10 s"));
	assert_string_equal(b->throttle, "replication lag 12.3 s > 10 s");
	assert_int_equal(b->throttled_ms, 12000);
	assert_int_equal(b->rows, 1200000);
	note(&p, progress("app", "0002_fill", 1300000, 1360000, 2000000, ""));
	assert_string_equal(b->throttle, "");
	assert_int_equal(b->rows_scanned, 1360000);
	/* A lock wait of a batch keeps the figures. */
	{
		sk_report w = rep(SK_EV_LOCK_WAIT, "app", "0002_fill");

		note(&p, w);
		assert_string_equal(b->step, "0002_fill");
		assert_int_equal(db(&p, "app")->hold.kind, COORD_HOLD_LOCK);
	}
	coord_progress_fini(&p);
}

static void
test_progress_figures_end_with_the_step(void **state)
{
	coord_progress p;
	sk_report fin;

	(void)state;
	coord_progress_init(&p, 3);
	note(&p, rep(SK_EV_PLAN_ACCEPTED, "", ""));
	note(&p, progress("app", "0002_fill", 10, 20, 100, ""));
	note(&p, progress("crm", "0002_fill", 10, 20, 100, ""));
	note(&p, progress("eu", "0002_fill", 10, 20, 100, ""));
	note(&p, progress("ops", "0002_fill", 10, 20, 100, ""));

	/* Finished: rows, batches and throttles are the record's now. */
	fin = rep(SK_EV_STEP_FINISHED, "app", "0002_fill");
	fin.rows = 100;
	fin.batch = 5;
	snprintf(fin.throttled_by, sizeof(fin.throttled_by), "rate=1200,lag=0");
	note(&p, fin);
	assert_string_equal(db(&p, "app")->backfill.step, "");
	assert_int_equal(db(&p, "app")->backfill.rows, 0);
	assert_int_equal(db(&p, "app")->steps_done, 1);

	/* Failed, or the database stopped. */
	note(&p, rep(SK_EV_STEP_FAILED, "crm", "0002_fill"));
	assert_string_equal(db(&p, "crm")->backfill.step, "");
	note(&p, rep(SK_EV_DB_FAILED, "eu", ""));
	assert_string_equal(db(&p, "eu")->backfill.step, "");

	/* Another step starts (the agent lost the step's end): the figures
	 * were the old step's. The same step starting again keeps them. */
	note(&p, rep(SK_EV_STEP_STARTED, "ops", "0002_fill"));
	assert_string_equal(db(&p, "ops")->backfill.step, "0002_fill");
	note(&p, rep(SK_EV_STEP_STARTED, "ops", "0003_next"));
	assert_string_equal(db(&p, "ops")->backfill.step, "");
	coord_progress_fini(&p);
}

static void
test_progress_late_report_of_an_ended_step_is_ignored(void **state)
{
	coord_progress p;

	(void)state;
	coord_progress_init(&p, 2);
	note(&p, rep(SK_EV_PLAN_ACCEPTED, "", ""));
	note(&p, progress("app", "0002_fill", 10, 20, 100, ""));
	note(&p, rep(SK_EV_STEP_FINISHED, "app", "0002_fill"));
	/* A worker's last word, sent before the end but numbered after it. */
	note(&p, progress("app", "0002_fill", 90, 95, 100, ""));
	assert_string_equal(db(&p, "app")->backfill.step, "");
	/* The step run again (a later run in the same database) reports
	 * afresh. */
	note(&p, rep(SK_EV_STEP_STARTED, "app", "0002_fill"));
	note(&p, progress("app", "0002_fill", 5, 6, 100, ""));
	assert_string_equal(db(&p, "app")->backfill.step, "0002_fill");
	assert_int_equal(db(&p, "app")->backfill.rows, 5);
	/* A new run of the plan starts afresh too. */
	note(&p, rep(SK_EV_PLAN_ACCEPTED, "", ""));
	assert_int_equal(p.ndbs, 0);
	coord_progress_fini(&p);
}

/* A PROGRESS report without a step says nothing of a backfill. */
static void
test_progress_without_a_step_sets_no_figures(void **state)
{
	coord_progress p;

	(void)state;
	coord_progress_init(&p, 2);
	note(&p, progress("app", "", 10, 20, 100, ""));
	assert_string_equal(db(&p, "app")->backfill.step, "");
	assert_int_equal(db(&p, "app")->backfill.rows, 0);
	coord_progress_fini(&p);
}

/* ---- a rollout, its view and its journal -------------------------------- */

/* One phase of region af; steps 0001_add (sql), 0002_fill (backfill) and
 * 0003_widen (expand). */
static sk_plan *
make_plan(void)
{
	sk_plan *plan = calloc(1, sizeof(*plan));
	sk_step *s;

	assert_non_null(plan);
	plan->id = coord_testfix_strdup("plan-bf");
	plan->name = coord_testfix_strdup("fill-domain");
	plan->created_unix = NOW_MS / 1000;
	plan->expires_unix = NOW_MS / 1000 + 86400;
	plan->phases = calloc(1, sizeof(*plan->phases));
	plan->regions = calloc(1, sizeof(*plan->regions));
	assert_non_null(plan->phases);
	assert_non_null(plan->regions);
	plan->nphases = 1;
	plan->phases[0].name = coord_testfix_strdup("all");
	plan->phases[0].regions = calloc(1, sizeof(char *));
	assert_non_null(plan->phases[0].regions);
	plan->phases[0].regions[0] = coord_testfix_strdup("af");
	plan->phases[0].nregions = 1;
	plan->regions[0] = coord_testfix_strdup("af");
	plan->nregions = 1;
	plan->steps = calloc(3, sizeof(*plan->steps));
	assert_non_null(plan->steps);
	plan->nsteps = 3;
	s = &plan->steps[0];
	s->id = coord_testfix_strdup("0001_add");
	s->kind = SK_STEP_SQL;
	s->sql = coord_testfix_strdup("ALTER TABLE accounts ADD COLUMN domain text;");
	s = &plan->steps[1];
	s->id = coord_testfix_strdup("0002_fill");
	s->kind = SK_STEP_BACKFILL;
	s->backfill = calloc(1, sizeof(*s->backfill));
	assert_non_null(s->backfill);
	s->backfill->table = coord_testfix_strdup("accounts");
	s->backfill->update =
	    coord_testfix_strdup("SET domain = split_part(t.email, '@', 2)");
	s->backfill->where = coord_testfix_strdup("t.domain IS NULL");
	sk_backfill_tuning_default(&s->backfill->tuning);
	s = &plan->steps[2];
	s->id = coord_testfix_strdup("0003_widen");
	s->kind = SK_STEP_EXPAND;
	s->expand = calloc(1, sizeof(*s->expand));
	assert_non_null(s->expand);
	s->expand->table = coord_testfix_strdup("accounts");
	s->expand->column = coord_testfix_strdup("id_big");
	s->expand->type = coord_testfix_strdup("bigint");
	s->expand->from = coord_testfix_strdup("id");
	sk_backfill_tuning_default(&s->expand->tuning);
	for (size_t i = 0; i < plan->nsteps; i++)
		assert_int_equal(sk_step_checksum(&plan->steps[i],
				     plan->steps[i].checksum, NULL),
		    SK_OK);
	return plan;
}

typedef coord_testfix_dir fixture;

static int
setup(void **state)
{
	fixture *f;
	sk_err err;

	if (coord_testfix_dir_setup(state, "progress") != 0)
		return -1;
	f = *state;
	if (coord_journal_open(f->dir, NULL, NULL, &f->j, &err) != SK_OK ||
	    coord_journal_created(f->j, "ro-1", NOW_MS, signed_plan,
		sizeof(signed_plan), NULL, &err) != SK_OK ||
	    coord_rollout_create("ro-1", make_plan(), signed_plan,
		sizeof(signed_plan), NULL, NOW_MS, &f->ro, &err) != SK_OK ||
	    coord_rollout_start(f->ro, f->j, NOW_MS, &err) != SK_OK ||
	    coord_rollout_dispatched(f->ro, "af", f->j, NOW_MS, &err) != SK_OK)
		return -1;
	return 0;
}

/* One agent message of n reports from af, as the server takes it:
 * journaled, kept, then applied in order. */
static void
deliver(fixture *f, const sk_report *rs, size_t n)
{
	sk_region_report reps[8];
	coord_journal_report recs[8];
	sk_err err;

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		snprintf(reps[i].region, sizeof(reps[i].region), "af");
		reps[i].report = rs[i];
		recs[i].rollout_id = f->ro->id;
		recs[i].report = &reps[i];
	}
	assert_int_equal(coord_journal_reports(f->j, recs, n, &err), SK_OK);
	for (size_t i = 0; i < n; i++)
		coord_rollout_keep_report(f->ro, "af", &rs[i]);
	for (size_t i = 0; i < n; i++) {
		bool changed;

		coord_rollout_note_databases(f->ro, "af", 2);
		assert_int_equal(
		    coord_rollout_report(f->ro, "af", &rs[i], f->j, &changed, &err),
		    SK_OK);
	}
}

static void
deliver1(fixture *f, sk_report r)
{
	deliver(f, &r, 1);
}

/* ---- replay, as coord_server.c does it ---------------------------------- */

static void
rb_created(void *arg, const char *id, int64_t at_ms, const uint8_t *plan,
    size_t len, const coord_origin *origin)
{
	fixture *f = arg;
	sk_err err;

	assert_int_equal(coord_rollout_create(id, make_plan(), plan, len,
			     origin, at_ms, &f->again, &err),
	    SK_OK);
}

static void
rb_report(void *arg, const char *id, const sk_region_report *r)
{
	fixture *f = arg;

	(void)id;
	coord_rollout_keep_report(f->again, r->region, &r->report);
	coord_rollout_replay_report(f->again, r->region, &r->report);
}

static void
rb_region(void *arg, const char *id, const coord_region_record *rec)
{
	fixture *f = arg;

	(void)id;
	coord_rollout_replay_region(f->again, rec);
}

static void
rb_phase(void *arg, const char *id, uint32_t phase, int64_t at_ms)
{
	fixture *f = arg;

	(void)id;
	coord_rollout_replay_phase(f->again, phase, at_ms);
}

static void
rb_finished(void *arg, const char *id, const char *st, const char *reason, int64_t at_ms)
{
	fixture *f = arg;

	(void)id;
	coord_rollout_replay_finished(f->again, st, reason, at_ms);
}

static const coord_journal_visitor rebuilder = {
	.created = rb_created,
	.region = rb_region,
	.phase = rb_phase,
	.finished = rb_finished,
	.report = rb_report,
};

static coord_rollout *
rebuild(fixture *f)
{
	sk_err err;

	coord_journal_close(f->j);
	f->j = NULL;
	assert_int_equal(coord_journal_open(f->dir, &rebuilder, f, &f->j, &err), SK_OK);
	assert_non_null(f->again);
	/* The agent reports the database count again with its next message. */
	coord_rollout_note_databases(f->again, "af", 2);
	return f->again;
}

static const sk_database_view *
view_db(const sk_rollout_view *v, const char *name)
{
	for (size_t i = 0; i < v->ndatabases; i++)
		if (strcmp(v->databases[i].name, name) == 0)
			return &v->databases[i];
	fail_msg("no database %s in the view", name);
	return NULL;
}

/* ---- the view ----------------------------------------------------------- */

static void
test_view_carries_the_backfill_figures_and_the_steps_kind(void **state)
{
	fixture *f = *state;
	sk_rollout_view v;
	const sk_database_view *d;
	sk_err err;

	deliver1(f, rep(SK_EV_PLAN_ACCEPTED, "", ""));
	deliver1(f, rep(SK_EV_STEP_FINISHED, "app", "0001_add"));
	deliver1(f, rep(SK_EV_STEP_STARTED, "app", "0002_fill"));
	deliver1(f,
	    progress("app", "0002_fill", 1100000, 1160000, 2000000,
		"replication lag 12.3 s > 10 s"));
	assert_int_equal(coord_rollout_view(f->ro, 0, &v, &err), SK_OK);
	d = view_db(&v, "app");
	assert_string_equal(d->progress_step, "0002_fill");
	assert_string_equal(d->progress_kind, "backfill");
	assert_string_equal(d->step, "0002_fill");
	assert_int_equal(d->rows_done, 1100000);
	assert_int_equal(d->rows_scanned, 1160000);
	assert_int_equal(d->rows_total, 2000000);
	assert_true(d->rate == 24300.0);
	assert_int_equal(d->eta_ms, 35000);
	assert_int_equal(d->batch_size, 4800);
	assert_int_equal(d->batches, 1160000 / 4800);
	assert_string_equal(d->throttle, "replication lag 12.3 s > 10 s");
	assert_int_equal(d->throttled_ms, 12000);
	sk_rollout_view_fini(&v);

	/* The step's end clears them from the view. */
	deliver1(f, rep(SK_EV_STEP_FINISHED, "app", "0002_fill"));
	assert_int_equal(coord_rollout_view(f->ro, 0, &v, &err), SK_OK);
	d = view_db(&v, "app");
	assert_string_equal(d->progress_step, "");
	assert_string_equal(d->progress_kind, "");
	assert_int_equal(d->rows_done, 0);
	assert_int_equal(d->rows_total, 0);
	assert_string_equal(d->throttle, "");
	sk_rollout_view_fini(&v);

	/* An expand's backfill is named as one. */
	deliver1(f, rep(SK_EV_STEP_STARTED, "app", "0003_widen"));
	deliver1(f, progress("app", "0003_widen", 10, 10, 50, ""));
	assert_int_equal(coord_rollout_view(f->ro, 0, &v, &err), SK_OK);
	assert_string_equal(view_db(&v, "app")->progress_kind, "expand");
	sk_rollout_view_fini(&v);
}

/* Two databases: what one reports does not touch the other's figures. */
static void
test_view_keeps_each_databases_own_backfill(void **state)
{
	fixture *f = *state;
	sk_rollout_view v;
	sk_err err;
	sk_report rs[4];

	rs[0] = rep(SK_EV_PLAN_ACCEPTED, "", "");
	rs[1] = progress("app", "0002_fill", 100, 200, 1000, "");
	rs[2] = progress("crm", "0002_fill", 7, 8, 10, "operator pause");
	rs[3] = rep(SK_EV_STEP_FINISHED, "crm", "0002_fill");
	deliver(f, rs, 4);
	assert_int_equal(coord_rollout_view(f->ro, 0, &v, &err), SK_OK);
	assert_int_equal(v.ndatabases, 2);
	assert_string_equal(view_db(&v, "app")->progress_step, "0002_fill");
	assert_int_equal(view_db(&v, "app")->rows_scanned, 200);
	assert_string_equal(view_db(&v, "crm")->progress_step, "");
	sk_rollout_view_fini(&v);
}

static void
assert_same_database(const sk_database_view *x, const sk_database_view *y)
{
	assert_string_equal(x->region, y->region);
	assert_string_equal(x->name, y->name);
	assert_string_equal(x->state, y->state);
	assert_string_equal(x->step, y->step);
	assert_int_equal(x->steps_done, y->steps_done);
	assert_int_equal(x->steps_total, y->steps_total);
	assert_string_equal(x->detail, y->detail);
	assert_int_equal(x->blocker_pid, y->blocker_pid);
	assert_string_equal(x->progress_step, y->progress_step);
	assert_string_equal(x->progress_kind, y->progress_kind);
	assert_int_equal(x->rows_done, y->rows_done);
	assert_int_equal(x->rows_total, y->rows_total);
	assert_int_equal(x->rows_scanned, y->rows_scanned);
	assert_true(x->rate == y->rate);
	assert_int_equal(x->eta_ms, y->eta_ms);
	assert_int_equal(x->batch_size, y->batch_size);
	assert_int_equal(x->batches, y->batches);
	assert_string_equal(x->throttle, y->throttle);
	assert_int_equal(x->throttled_ms, y->throttled_ms);
}

/* The server's path, message by message, then a restart: every database
 * and every region figure is as it was (the time a database was last
 * heard of is the report's own after a replay). */
static void
test_replay_rebuilds_the_same_database_views(void **state)
{
	fixture *f = *state;
	sk_rollout_view a, b;
	sk_err err;
	sk_report rs[5];
	sk_report w = rep(SK_EV_LOCK_WAIT, "crm", "0001_add");

	/* One message: accepted, app runs its first step and starts the
	 * backfill (the region record of "running" is journaled while
	 * this message's later reports are already in the journal). */
	rs[0] = rep(SK_EV_PLAN_ACCEPTED, "", "");
	rs[1] = rep(SK_EV_DB_STARTED, "app", "");
	rs[2] = rep(SK_EV_STEP_FINISHED, "app", "0001_add");
	rs[3] = rep(SK_EV_STEP_STARTED, "app", "0002_fill");
	rs[4] = progress("app", "0002_fill", 500, 600, 2000, "");
	deliver(f, rs, 5);
	w.nblockers = 1;
	w.blockers[0].pid = 4242;
	snprintf(w.blockers[0].state, sizeof(w.blockers[0].state), "active");
	deliver1(f, w);
	deliver1(f,
	    progress("app", "0002_fill", 1100000, 1160000, 2000000,
		"coordinator silent 65 s"));

	assert_int_equal(coord_rollout_view(f->ro, 0, &a, &err), SK_OK);
	rebuild(f);
	assert_int_equal(coord_rollout_view(f->again, 0, &b, &err), SK_OK);
	assert_int_equal(a.ndatabases, 2);
	assert_int_equal(b.ndatabases, a.ndatabases);
	for (size_t i = 0; i < a.ndatabases; i++)
		assert_same_database(&a.databases[i], &b.databases[i]);
	assert_string_equal(view_db(&b, "app")->throttle, "coordinator silent 65 s");
	assert_int_equal(view_db(&b, "crm")->blocker_pid, 4242);
	assert_string_equal(a.phases[0].regions[0].state, b.phases[0].regions[0].state);
	assert_string_equal(a.phases[0].regions[0].step, b.phases[0].regions[0].step);
	assert_string_equal(
	    a.phases[0].regions[0].database, b.phases[0].regions[0].database);
	assert_int_equal(a.phases[0].regions[0].steps_done,
	    b.phases[0].regions[0].steps_done);
	assert_int_equal(a.phases[0].regions[0].steps_total,
	    b.phases[0].regions[0].steps_total);
	assert_string_equal(
	    a.phases[0].regions[0].detail, b.phases[0].regions[0].detail);
	sk_rollout_view_fini(&a);
	sk_rollout_view_fini(&b);

	/* The step ends after the restart: the rebuilt coordinator clears
	 * the figures like the first one would have. */
	{
		bool changed;
		sk_report fin = rep(SK_EV_STEP_FINISHED, "app", "0002_fill");

		assert_int_equal(coord_rollout_report(f->again, "af", &fin,
				     f->j, &changed, &err),
		    SK_OK);
	}
	assert_int_equal(coord_rollout_view(f->again, 0, &b, &err), SK_OK);
	assert_string_equal(view_db(&b, "app")->progress_step, "");
	sk_rollout_view_fini(&b);
}

/* A region that ended lists no databases, live or replayed. */
static void
test_replay_of_an_ended_region_lists_no_backfill(void **state)
{
	fixture *f = *state;
	sk_rollout_view v;
	sk_err err;
	sk_report rs[4];

	rs[0] = rep(SK_EV_PLAN_ACCEPTED, "", "");
	rs[1] = progress("app", "0002_fill", 100, 200, 1000, "");
	rs[2] = rep(SK_EV_DB_FAILED, "app", "");
	rs[3] = rep(SK_EV_PLAN_FAILED, "", "");
	rs[3].error.code = SK_ESQL;
	snprintf(rs[3].error.msg, sizeof(rs[3].error.msg), "apply step 0002_fill: boom");
	deliver(f, rs, 4);
	rebuild(f);
	assert_int_equal(coord_rollout_view(f->again, 0, &v, &err), SK_OK);
	assert_int_equal(v.ndatabases, 0);
	assert_string_equal(v.state, "failed");
	sk_rollout_view_fini(&v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_progress_report_becomes_the_databases_backfill_figures),
		cmocka_unit_test(test_progress_figures_end_with_the_step),
		cmocka_unit_test(test_progress_late_report_of_an_ended_step_is_ignored),
		cmocka_unit_test(test_progress_without_a_step_sets_no_figures),
#define T(fn) \
cmocka_unit_test_setup_teardown(fn, setup, coord_testfix_dir_teardown)
		T(test_view_carries_the_backfill_figures_and_the_steps_kind),
		T(test_view_keeps_each_databases_own_backfill),
		T(test_replay_rebuilds_the_same_database_views),
		T(test_replay_of_an_ended_region_lists_no_backfill),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

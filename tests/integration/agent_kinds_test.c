/* Integration tests of step kinds through the executor, in every mode:
 * kind check (a step that only runs checks) applied, failed, rehearsed
 * and rolled back, and a kind this agent does not know refused before
 * anything runs. Real PostgreSQL from the `pg` fixture.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgfixture.h"
#include "reports.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_exec.h"
#include "agent_ledger.h"
#include "sk_util.h"

#define REGION "r1"

static char fixture_port[16];

typedef struct world {
	char name[64];
	char ci[256];
	sk_db_config db;
	collector c;
} world;

static void
world_open(world *w, const char *tag)
{
	memset(w, 0, sizeof(*w));
	pgfixture_create_db(fixture_port, tag, w->name, sizeof(w->name));
	pgfixture_conninfo(w->ci, sizeof(w->ci), fixture_port, w->name);
	w->db.name = w->name;
	w->db.conninfo = w->ci;
	collector_init(&w->c, NULL);
}

static void
world_close(world *w)
{
	collector_fini(&w->c);
}

static int
run(world *w, const sk_plan *plan, int mode, sk_err *err)
{
	agent_exec_opts o;

	memset(&o, 0, sizeof(o));
	o.region = REGION;
	o.rollout_id = mode == SK_MODE_ROLLBACK ? "ro-back" : "ro-kinds";
	o.databases = &w->db;
	o.ndatabases = 1;
	o.parallel = 1;
	o.report = collect;
	o.report_arg = &w->c;
	o.retry_min_ms = 20;
	o.retry_max_ms = 200;
	o.mode = mode;
	/* The kinds are under test here, not the backup a rollback takes
	 * first (agent_modes_test). */
	o.no_backup = true;
	sk_err_clear(err);
	return agent_exec_run(plan, &o, err);
}

static void
check_set(sk_check *c, const char *name, const char *sql, const char *op,
    const char *value)
{
	memset(c, 0, sizeof(*c));
	c->name = sk_strdup(name);
	c->sql = sk_strdup(sql);
	c->expect = SK_EXPECT_COMPARE;
	c->op = sk_strdup(op);
	c->value = sk_strdup(value);
}

/* 0001: create and fill a table (revert drops it); 0002: a check step
 * asserting the row count is `want`; 0003: add a column (revert drops
 * it). One phase "main" in REGION. */
static sk_plan *
plan_make(const char *want)
{
	sk_plan *p = calloc(1, sizeof(*p));
	sk_step *s;

	assert_non_null(p);
	p->name = sk_strdup("kinds");
	p->id = sk_strdup("plan-kinds");
	p->phases = calloc(1, sizeof(*p->phases));
	assert_non_null(p->phases);
	p->nphases = 1;
	p->phases[0].name = sk_strdup("main");
	p->phases[0].regions = calloc(1, sizeof(char *));
	assert_non_null(p->phases[0].regions);
	p->phases[0].regions[0] = sk_strdup(REGION);
	p->phases[0].nregions = 1;
	p->steps = calloc(3, sizeof(*p->steps));
	assert_non_null(p->steps);
	p->nsteps = 3;

	s = &p->steps[0];
	s->id = sk_strdup("0001_items");
	s->kind = SK_STEP_SQL;
	s->sql = sk_strdup("CREATE TABLE items (id int PRIMARY KEY); "
			   "INSERT INTO items SELECT generate_series(1, 3)");
	s->revert = sk_strdup("DROP TABLE items");
	s = &p->steps[1];
	s->id = sk_strdup("0002_three_items");
	s->kind = SK_STEP_CHECK;
	s->checks = calloc(1, sizeof(*s->checks));
	assert_non_null(s->checks);
	s->nchecks = 1;
	check_set(&s->checks[0], "three_items", "SELECT count(*) FROM items", "=", want);
	s = &p->steps[2];
	s->id = sk_strdup("0003_note");
	s->kind = SK_STEP_SQL;
	s->sql = sk_strdup("ALTER TABLE items ADD COLUMN note text");
	s->revert = sk_strdup("ALTER TABLE items DROP COLUMN note");
	for (size_t i = 0; i < p->nsteps; i++) {
		p->steps[i].lock_timeout_ms = 2000;
		p->steps[i].statement_timeout_ms = 60000;
		assert_int_equal(
		    sk_step_checksum(&p->steps[i], p->steps[i].checksum, NULL), SK_OK);
	}
	return p;
}

static long
count(const world *w, const char *sql)
{
	return pgfixture_long_db(fixture_port, w->name, sql);
}

static void
test_check_step_applies_records_its_checks_and_reverts_its_row(void **state)
{
	sk_plan *plan = plan_make("3");
	char buf[64];
	sk_report r;
	sk_err err;
	world w;

	(void)state;
	world_open(&w, "kcheck");
	if (run(&w, plan, SK_MODE_APPLY, &err) != SK_OK)
		fail_msg("apply: %s", err.msg);
	assert_int_equal(count(&w, "SELECT count(*) FROM skein.steps"), 3);
	assert_string_equal(pgfixture_scalar_db(fixture_port, w.name,
				"SELECT kind || ',' || transactional FROM skein.steps "
				"WHERE step_id = '0002_three_items'",
				buf, sizeof(buf)),
	    "check,true");
	/* Its check was reported and recorded, as a check of the step. */
	assert_int_equal(
	    find_report(&w.c, SK_EV_CHECK, w.name, "0002_three_items", &r), 1);
	assert_true(r.check.passed);
	assert_string_equal(r.check.when, "check");
	assert_string_equal(r.check.seen, "3");
	assert_int_equal(count(&w,
			     "SELECT count(*) FROM skein.checks WHERE "
			     "step_id = '0002_three_items' AND \"when\" = 'check' "
			     "AND passed"),
	    1);
	assert_int_equal(
	    find_report(&w.c, SK_EV_STEP_FINISHED, w.name, "0002_three_items", NULL), 1);

	/* A rollback reverts both SQL steps and takes the check step's row
	 * away without a revert script, so the plan can be applied again. */
	collector_fini(&w.c);
	collector_init(&w.c, NULL);
	if (run(&w, plan, SK_MODE_ROLLBACK, &err) != SK_OK)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(count(&w, "SELECT count(*) FROM skein.steps"), 0);
	assert_int_equal(count(&w, "SELECT count(*) FROM skein.reverts"), 3);
	assert_int_equal(count(&w,
			     "SELECT count(*) FROM pg_catalog.pg_class "
			     "WHERE relname = 'items'"),
	    0);
	assert_int_equal(
	    find_report(&w.c, SK_EV_STEP_REVERTED, w.name, "0002_three_items", NULL), 1);
	world_close(&w);
	sk_plan_destroy(plan);
}

static void
test_failing_check_step_stops_the_plan_and_records_no_row(void **state)
{
	sk_plan *plan = plan_make("4");
	sk_report r;
	sk_err err;
	world w;

	(void)state;
	world_open(&w, "kcheckfail");
	assert_int_equal(run(&w, plan, SK_MODE_APPLY, &err), SK_ECHECK);
	assert_contains(err.msg, "apply step 0002_three_items in r1/");
	assert_contains(err.msg, "check three_items (check) failed: expected = 4, saw 3");
	/* The step before it stays applied; it and the one after are not. */
	assert_int_equal(count(&w, "SELECT count(*) FROM skein.steps"), 1);
	assert_int_equal(count(&w, "SELECT count(*) FROM items"), 3);
	assert_int_equal(count(&w,
			     "SELECT count(*) FROM pg_catalog.pg_attribute "
			     "WHERE attrelid = 'items'::regclass AND attname = 'note'"),
	    0);
	assert_int_equal(
	    find_report(&w.c, SK_EV_STEP_FAILED, w.name, "0002_three_items", &r), 1);
	assert_string_equal(r.error.msg, err.msg);
	assert_int_equal(
	    find_report(&w.c, SK_EV_STEP_STARTED, w.name, "0003_note", NULL), 0);
	/* What the check saw is in the ledger, with the failure. */
	assert_int_equal(count(&w,
			     "SELECT count(*) FROM skein.checks WHERE "
			     "step_id = '0002_three_items' AND NOT passed"),
	    1);
	assert_int_equal(count(&w,
			     "SELECT count(*) FROM skein.events WHERE "
			     "step_id = '0002_three_items' AND event = 'step-failed'"),
	    1);
	world_close(&w);
	sk_plan_destroy(plan);
}

static void
test_check_step_is_rehearsed_and_nothing_is_written(void **state)
{
	sk_plan *plan = plan_make("3");
	sk_err err;
	world w;

	(void)state;
	world_open(&w, "kcheckreh");
	if (run(&w, plan, SK_MODE_REHEARSE, &err) != SK_OK)
		fail_msg("rehearse: %s", err.msg);
	assert_int_equal(find_report(&w.c, SK_EV_STEP_REHEARSED, w.name,
			     "0002_three_items", NULL),
	    1);
	assert_int_equal(count(&w,
			     "SELECT count(*) FROM pg_catalog.pg_namespace "
			     "WHERE nspname = 'skein'"),
	    0);
	world_close(&w);
	sk_plan_destroy(plan);

	/* Rehearsed against a plan whose check fails: BLOCKED, naming it. */
	plan = plan_make("4");
	world_open(&w, "kcheckreh2");
	assert_int_equal(run(&w, plan, SK_MODE_REHEARSE, &err), SK_ECHECK);
	assert_contains(err.msg, "BLOCKED");
	assert_contains(
	    err.msg, "step 0002_three_items: check three_items (check) failed");
	assert_int_equal(count(&w,
			     "SELECT count(*) FROM pg_catalog.pg_class "
			     "WHERE relname = 'items'"),
	    0);
	world_close(&w);
	sk_plan_destroy(plan);
}

static void
test_unknown_kind_is_refused_before_anything_runs(void **state)
{
	sk_plan *plan = plan_make("3");
	sk_err err;
	world w;

	(void)state;
	/* As an older agent meets a kind from a newer plan format. */
	plan->steps[2].kind = 99;
	world_open(&w, "kunknown");
	assert_int_equal(run(&w, plan, SK_MODE_APPLY, &err), SK_EINVAL);
	assert_contains(err.msg,
	    "step 0003_note is of kind unknown: this agent does not know step "
	    "kind 99");
	assert_int_equal(find_report(&w.c, SK_EV_STEP_STARTED, w.name, NULL, NULL), 0);
	assert_int_equal(count(&w,
			     "SELECT count(*) FROM pg_catalog.pg_class "
			     "WHERE relname = 'items'"),
	    0);
	world_close(&w);
	sk_plan_destroy(plan);
}

static int
setup_fixture(void **state)
{
	(void)state;
	return pgfixture_port(fixture_port, sizeof(fixture_port)) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_check_step_applies_records_its_checks_and_reverts_its_row),
		cmocka_unit_test(test_failing_check_step_stops_the_plan_and_records_no_row),
		cmocka_unit_test(test_check_step_is_rehearsed_and_nothing_is_written),
		cmocka_unit_test(test_unknown_kind_is_refused_before_anything_runs),
	};

	return cmocka_run_group_tests(tests, setup_fixture, NULL);
}

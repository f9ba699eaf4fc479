/* The operator's pause in the executor, against real PostgreSQL (issue 9
 * item 3): with its agent_control paused, a database holds before its
 * next step — the step it is in finishes, none starts — reporting once
 * that it is paused and once that it goes on; a rollback holds between
 * its reverts the same way; a stop while paused ends the run without
 * failing the database. Databases come from the shared `pg` fixture
 * cluster (SKEIN_PGFIXTURE). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgfixture.h"
#include "reports.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_control.h"
#include "agent_exec.h"
#include "sk_util.h"

#define REGION "r1"

static char fixture_port[16];

/* A plan of steps "0001_a" (sql1) and "0002_b" (sql2), each with a
 * revert, in one phase running in REGION. */
static sk_plan *
plan_make(const char *sql1, const char *sql2)
{
	static const char *const ids[] = { "0001_a", "0002_b" };
	static const char *const reverts[] = { "DROP TABLE paused_a",
		"DROP TABLE paused_b" };
	const char *sql[] = { sql1, sql2 };
	sk_plan *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->name = sk_strdup("pausing");
	p->id = sk_strdup("plan-pause");
	p->steps = calloc(2, sizeof(*p->steps));
	p->phases = calloc(1, sizeof(*p->phases));
	assert_non_null(p->steps);
	assert_non_null(p->phases);
	p->nsteps = 2;
	for (size_t i = 0; i < 2; i++) {
		sk_step *s = &p->steps[i];

		s->id = sk_strdup(ids[i]);
		s->kind = SK_STEP_SQL;
		s->sql = sk_strdup(sql[i]);
		s->revert = sk_strdup(reverts[i]);
		s->lock_timeout_ms = 5000;
		s->statement_timeout_ms = 60000;
		assert_int_equal(sk_step_checksum(s, s->checksum, NULL), SK_OK);
	}
	p->nphases = 1;
	p->phases[0].name = sk_strdup("main");
	p->phases[0].regions = calloc(1, sizeof(char *));
	assert_non_null(p->phases[0].regions);
	p->phases[0].regions[0] = sk_strdup(REGION);
	p->phases[0].nregions = 1;
	return p;
}

typedef struct run {
	pthread_t thread;
	const sk_plan *plan;
	agent_exec_opts opts;
	sk_db_config db;
	int rc;
	sk_err err;
} run;

static void *
run_main(void *arg)
{
	run *r = arg;

	r->rc = agent_exec_run(r->plan, &r->opts, &r->err);
	return NULL;
}

/* Run plan in mode on database name (conninfo ci) on a thread of its
 * own, reporting to c, told by control, stopped by stop. */
static void
run_start(run *r, const sk_plan *plan, int mode, char *name, char *ci,
    collector *c, agent_control *control, atomic_int *stop)
{
	memset(r, 0, sizeof(*r));
	r->plan = plan;
	r->db.name = name;
	r->db.conninfo = ci;
	r->opts.region = REGION;
	r->opts.rollout_id = "ro-pause";
	r->opts.databases = &r->db;
	r->opts.ndatabases = 1;
	r->opts.parallel = 1;
	r->opts.report = collect;
	r->opts.report_arg = c;
	r->opts.stop = stop;
	r->opts.retry_min_ms = 20;
	r->opts.retry_max_ms = 200;
	r->opts.mode = mode;
	r->opts.no_backup = true;
	r->opts.control = control;
	assert_int_equal(pthread_create(&r->thread, NULL, run_main, r), 0);
}

static int
run_join(run *r)
{
	pthread_join(r->thread, NULL);
	if (r->rc != SK_OK)
		print_error("run: %s\n", r->err.msg);
	return r->rc;
}

static long
ledger_rows(const char *name)
{
	return pgfixture_long_db(fixture_port, name,
	    "SELECT count(*) FROM skein.steps WHERE plan_name = 'pausing'");
}

static bool
has_table(const char *name, const char *table)
{
	char sql[128], buf[64];

	snprintf(sql, sizeof(sql), "SELECT to_regclass('public.%s') IS NOT NULL", table);
	return strcmp(pgfixture_scalar_db(fixture_port, name, sql, buf, sizeof(buf)),
		   "t") == 0;
}

/* Wait (up to REPORT_WAIT_MS) for a DB_WAITING report saying the
 * database is paused before step. */
static void
wait_paused_before(collector *c, const char *step)
{
	char needle[96];
	int64_t until = sk_mono_ms() + REPORT_WAIT_MS;

	snprintf(needle, sizeof(needle), "paused by the operator before step %s", step);
	while (count_detail(c, SK_EV_DB_WAITING, NULL, NULL, needle) == 0) {
		if (sk_mono_ms() > until)
			fail_msg("no report: %s", needle);
		sk_sleep_ms(20);
	}
}

static void
test_paused_database_holds_before_its_next_step_until_resumed(void **state)
{
	char name[64], ci[256];
	sk_plan *plan = plan_make(
	    "CREATE TABLE paused_a (x int)", "CREATE TABLE paused_b (x int)");
	agent_control control;
	collector c;
	run r;

	(void)state;
	pgfixture_create_db(fixture_port, "pause", name, sizeof(name));
	pgfixture_conninfo(ci, sizeof(ci), fixture_port, name);
	collector_init(&c, NULL);
	agent_control_init(&control);
	agent_control_set_paused(&control, true);

	run_start(&r, plan, SK_MODE_APPLY, name, ci, &c, &control, NULL);
	wait_paused_before(&c, "0001_a");
	sk_sleep_ms(500);
	assert_false(has_table(name, "paused_a"));
	assert_int_equal(ledger_rows(name), 0);
	assert_int_equal(find_report(&c, SK_EV_STEP_STARTED, NULL, NULL, NULL), 0);
	agent_control_set_paused(&control, false);
	assert_int_equal(run_join(&r), SK_OK);
	assert_true(has_table(name, "paused_a"));
	assert_true(has_table(name, "paused_b"));
	assert_int_equal(ledger_rows(name), 2);
	/* One report each way, however long the pause. */
	assert_int_equal(
	    count_detail(&c, SK_EV_DB_WAITING, NULL, NULL, "paused by the operator"), 1);
	assert_int_equal(count_detail(&c, SK_EV_DB_STARTED, NULL, NULL,
			     "resumed by the operator before step 0001_a"),
	    1);

	/* A rollback holds between its reverts: the newest is reverted
	 * first, so it holds before 0002_b's, with nothing reverted. */
	collector_fini(&c);
	collector_init(&c, NULL);
	agent_control_set_paused(&control, true);
	run_start(&r, plan, SK_MODE_ROLLBACK, name, ci, &c, &control, NULL);
	wait_paused_before(&c, "0002_b");
	sk_sleep_ms(300);
	assert_true(has_table(name, "paused_b"));
	assert_int_equal(find_report(&c, SK_EV_STEP_REVERTED, NULL, NULL, NULL), 0);
	agent_control_set_paused(&control, false);
	assert_int_equal(run_join(&r), SK_OK);
	assert_false(has_table(name, "paused_a"));
	assert_false(has_table(name, "paused_b"));

	agent_control_fini(&control);
	collector_fini(&c);
	pgfixture_drop_db(fixture_port, name);
	sk_plan_destroy(plan);
}

static void
test_pause_lets_the_running_step_finish_and_holds_the_next(void **state)
{
	char name[64], ci[256];
	sk_plan *plan = plan_make("CREATE TABLE paused_a (x int); SELECT pg_sleep(1)",
	    "CREATE TABLE paused_b (x int)");
	agent_control control;
	collector c;
	run r;

	(void)state;
	pgfixture_create_db(fixture_port, "pause", name, sizeof(name));
	pgfixture_conninfo(ci, sizeof(ci), fixture_port, name);
	collector_init(&c, NULL);
	agent_control_init(&control);

	run_start(&r, plan, SK_MODE_APPLY, name, ci, &c, &control, NULL);
	assert_true(wait_report(&c, SK_EV_STEP_STARTED, NULL, "0001_a", NULL));
	agent_control_set_paused(&control, true);
	wait_paused_before(&c, "0002_b");
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FINISHED, NULL, "0001_a", NULL), 1);
	sk_sleep_ms(500);
	assert_true(has_table(name, "paused_a"));
	assert_false(has_table(name, "paused_b"));
	assert_int_equal(ledger_rows(name), 1);
	assert_int_equal(find_report(&c, SK_EV_STEP_STARTED, NULL, "0002_b", NULL), 0);
	agent_control_set_paused(&control, false);
	assert_int_equal(run_join(&r), SK_OK);
	assert_true(has_table(name, "paused_b"));
	assert_int_equal(ledger_rows(name), 2);

	agent_control_fini(&control);
	collector_fini(&c);
	pgfixture_drop_db(fixture_port, name);
	sk_plan_destroy(plan);
}

static void
test_stop_while_paused_ends_without_failing_the_database(void **state)
{
	char name[64], ci[256];
	sk_plan *plan = plan_make(
	    "CREATE TABLE paused_a (x int)", "CREATE TABLE paused_b (x int)");
	agent_control control;
	atomic_int stop;
	collector c;
	run r;

	(void)state;
	pgfixture_create_db(fixture_port, "pause", name, sizeof(name));
	pgfixture_conninfo(ci, sizeof(ci), fixture_port, name);
	collector_init(&c, NULL);
	agent_control_init(&control);
	agent_control_set_paused(&control, true);
	atomic_init(&stop, 0);

	run_start(&r, plan, SK_MODE_APPLY, name, ci, &c, &control, &stop);
	wait_paused_before(&c, "0001_a");
	atomic_store(&stop, 1);
	pthread_join(r.thread, NULL);
	assert_int_not_equal(r.rc, SK_OK);
	assert_int_equal(find_report(&c, SK_EV_DB_FAILED, NULL, NULL, NULL), 0);
	assert_int_equal(count_detail(&c, SK_EV_DB_STARTED, NULL, NULL, "resumed"), 0);
	assert_false(has_table(name, "paused_a"));
	assert_int_equal(ledger_rows(name), 0);

	agent_control_fini(&control);
	collector_fini(&c);
	pgfixture_drop_db(fixture_port, name);
	sk_plan_destroy(plan);
}

static int
setup_fixture(void **state)
{
	(void)state;
	return pgfixture_port(fixture_port, sizeof(fixture_port)) != 0 ? -1 : 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_paused_database_holds_before_its_next_step_until_resumed),
		cmocka_unit_test(test_pause_lets_the_running_step_finish_and_holds_the_next),
		cmocka_unit_test(test_stop_while_paused_ends_without_failing_the_database),
	};

	return cmocka_run_group_tests(tests, setup_fixture, NULL);
}

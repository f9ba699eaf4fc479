/* agent_exec against real PostgreSQL: plans built by hand, applied with
 * agent_exec_run to databases created in the shared `pg` fixture cluster
 * (SKEIN_PGFIXTURE), and checked through the ledger, the reports and the
 * databases' own catalogs. Each test creates its own databases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgfixture.h"
#include "reports.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "agent_exec.h"
#include "agent_ledger.h"
#include "sk_sql.h"
#include "sk_util.h"

#define REGION "r1"
#define WAIT_MS 30000

static char fixture_port[16];

/* ---- helpers: the fixture cluster -------------------------------------- */

static void
report_fail(const char *what, const char *text)
{
	print_error("%s: %s\n", what, text != NULL ? text : "(null)");
	fail();
}

/* A fresh database with a unique name; its conninfo goes to conninfo. */
static void
db_create(const char *tag, char *name, size_t nlen, char *conninfo, size_t clen)
{
	pgfixture_create_db(fixture_port, tag, name, nlen);
	pgfixture_conninfo(conninfo, clen, fixture_port, name);
}

/* The agent's configuration of one database: name and conninfo only. */
static sk_db_config
db_config(char *name, char *conninfo)
{
	sk_db_config db;

	memset(&db, 0, sizeof(db));
	db.name = name;
	db.conninfo = conninfo;
	return db;
}

/* ---- helpers: plans ---------------------------------------------------- */

typedef struct step_spec {
	const char *id;
	const char *sql;
	const char *verify;
	bool no_transaction;
} step_spec;

static sk_plan *
plan_make(const char *name, const char *id, const step_spec *specs, size_t n)
{
	sk_plan *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->name = sk_strdup(name);
	p->id = sk_strdup(id);
	p->steps = calloc(n, sizeof(*p->steps));
	assert_non_null(p->steps);
	p->nsteps = n;
	for (size_t i = 0; i < n; i++) {
		sk_step *s = &p->steps[i];

		s->id = sk_strdup(specs[i].id);
		s->kind = SK_STEP_SQL;
		s->sql = sk_strdup(specs[i].sql);
		s->verify = sk_strdup(specs[i].verify);
		if (s->verify != NULL)
			s->verify_path = sk_strdup("verify/check.sql");
		s->no_transaction = specs[i].no_transaction;
		assert_int_equal(sk_step_checksum(s, s->checksum, NULL), SK_OK);
	}
	return p;
}

/* Append a check to a step's or phase's list. */
static void
check_add(sk_check **list, size_t *n, const char *name, const char *sql,
    int expect, const char *op, const char *value, const char *sqlstate)
{
	sk_check *grown = realloc(*list, (*n + 1) * sizeof(**list));
	sk_check *c;

	assert_non_null(grown);
	*list = grown;
	c = &grown[(*n)++];
	memset(c, 0, sizeof(*c));
	c->name = sk_strdup(name);
	c->sql = sk_strdup(sql);
	c->expect = expect;
	c->op = sk_strdup(op);
	c->value = sk_strdup(value);
	c->sqlstate = sk_strdup(sqlstate);
}

/* Give plan one phase "main" running in REGION. */
static sk_phase *
phase_add(sk_plan *p)
{
	p->phases = calloc(1, sizeof(*p->phases));
	assert_non_null(p->phases);
	p->nphases = 1;
	p->phases[0].name = sk_strdup("main");
	p->phases[0].regions = calloc(1, sizeof(char *));
	assert_non_null(p->phases[0].regions);
	p->phases[0].regions[0] = sk_strdup(REGION);
	p->phases[0].nregions = 1;
	return &p->phases[0];
}

/* Name the indexes a step creates concurrently. */
static void
step_indexes(sk_step *s, const char *name)
{
	s->concurrent_indexes = calloc(1, sizeof(char *));
	assert_non_null(s->concurrent_indexes);
	s->concurrent_indexes[0] = sk_strdup(name);
	s->nconcurrent_indexes = 1;
}

static void
step_limits(sk_step *s, int64_t lock_ms, uint32_t retries, int64_t backoff_ms)
{
	s->lock_timeout_ms = lock_ms;
	s->statement_timeout_ms = 60000;
	s->lock_retries = retries;
	s->retry_backoff_ms = backoff_ms;
}

/* ---- helpers: reports -------------------------------------------------- */

static agent_exec_opts
opts_for(const sk_db_config *dbs, size_t n, collector *c, atomic_int *stop)
{
	agent_exec_opts o;

	memset(&o, 0, sizeof(o));
	o.region = REGION;
	o.rollout_id = "ro-test";
	o.databases = dbs;
	o.ndatabases = n;
	o.parallel = 4;
	o.report = collect;
	o.report_arg = c;
	o.stop = stop;
	o.retry_min_ms = 20;
	o.retry_max_ms = 200;
	return o;
}

/* agent_exec_run on its own thread, for tests that act while it runs. */
typedef struct async_run {
	pthread_t thread;
	const sk_plan *plan;
	agent_exec_opts opts;
	atomic_int done;
	int rc;
	sk_err err;
} async_run;

static void *
async_main(void *arg)
{
	async_run *a = arg;

	a->rc = agent_exec_run(a->plan, &a->opts, &a->err);
	atomic_store(&a->done, 1);
	return NULL;
}

static void
async_start(async_run *a, const sk_plan *plan, agent_exec_opts opts)
{
	memset(a, 0, sizeof(*a));
	a->plan = plan;
	a->opts = opts;
	atomic_init(&a->done, 0);
	assert_int_equal(pthread_create(&a->thread, NULL, async_main, a), 0);
}

static int
async_join(async_run *a)
{
	pthread_join(a->thread, NULL);
	return a->rc;
}

static void
hex_of(const sk_step *s, char out[AGENT_LEDGER_HEX_LEN])
{
	sk_hex(s->checksum, SK_CHECKSUM_LEN, out);
}

/* ---- tests ------------------------------------------------------------- */

static void
test_steps_applied_once_and_recorded(void **state)
{
	static const step_spec steps[] = {
		{ "0001_create", "CREATE TABLE items (id int PRIMARY KEY, v text)",
		    NULL, false },
		{ "0002_seed", "INSERT INTO items VALUES (1, 'a')",
		    "SELECT count(*) = 1 FROM items", false },
	};
	char name[64], ci[256], buf[160], hex[AGENT_LEDGER_HEX_LEN], want[160];
	sk_plan *plan = plan_make("shop", "plan-1", steps, 2);
	collector c;
	sk_db_config db;
	agent_exec_opts o;
	sk_report r;
	sk_err err;

	(void)state;
	collector_init(&c, NULL);
	db_create("once", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	sk_err_clear(&err);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);

	assert_int_equal(
	    pgfixture_long_db(fixture_port, name, "SELECT count(*) FROM items"), 1);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    2);
	snprintf(want, sizeof(want), "%d", AGENT_LEDGER_VERSION);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT value FROM skein.meta WHERE key = 'schema_version'",
				buf, sizeof(buf)),
	    want);
	hex_of(&plan->steps[1], hex);
	snprintf(want, sizeof(want), "%s,true,1,plan-1,ro-test,r1", hex);
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name,
		"SELECT checksum || ',' || transactional "
		"|| ',' || rows || ',' || plan_id || ',' || rollout_id || ',' || region "
		"FROM skein.steps WHERE plan_name = 'shop' AND step_id = '0002_seed'",
		buf, sizeof(buf)),
	    want);
	assert_int_equal(find_report(&c, SK_EV_DB_STARTED, name, NULL, NULL), 1);
	assert_int_equal(find_report(&c, SK_EV_STEP_STARTED, name, NULL, NULL), 2);
	assert_int_equal(find_report(&c, SK_EV_STEP_FINISHED, name, NULL, NULL), 2);
	assert_int_equal(find_report(&c, SK_EV_DB_FINISHED, name, NULL, NULL), 1);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FINISHED, name, "0002_seed", &r), 1);
	assert_string_equal(r.rollout_id, "ro-test");
	assert_string_equal(r.plan_id, "plan-1");
	assert_int_equal(r.rows, 1);
	assert_int_equal(r.attempt, 1);
	assert_true(r.at_ms > 0);
	assert_int_equal(r.error.code, SK_OK);
	/* The lock was given back: nobody holds it in this database any more
	 * (other tests run beside this one in the same cluster). */
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM pg_locks "
			     "WHERE locktype = 'advisory' AND database = "
			     "(SELECT oid FROM pg_database "
			     "WHERE datname = current_database())"),
	    0);

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_rerun_skips_every_step_and_sql_runs_once(void **state)
{
	static const step_spec steps[] = {
		{ "0001_create", "CREATE TABLE hits (n int)", NULL, false },
		{ "0002_insert", "INSERT INTO hits VALUES (1)", NULL, false },
	};
	char name[64], ci[256];
	sk_plan *plan1 = plan_make("counter", "plan-a", steps, 2);
	sk_plan *plan2 = plan_make("counter", "plan-b", steps, 2);
	collector c1, c2;
	sk_db_config db;
	agent_exec_opts o;
	sk_err err;

	(void)state;
	collector_init(&c1, NULL);
	collector_init(&c2, NULL);
	db_create("rerun", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c1, NULL);
	if (agent_exec_run(plan1, &o, &err) != SK_OK)
		report_fail("first run", err.msg);
	o = opts_for(&db, 1, &c2, NULL);
	if (agent_exec_run(plan2, &o, &err) != SK_OK)
		report_fail("second run", err.msg);

	assert_int_equal(
	    pgfixture_long_db(fixture_port, name, "SELECT count(*) FROM hits"), 1);
	assert_int_equal(find_report(&c2, SK_EV_STEP_SKIPPED, name, NULL, NULL), 2);
	assert_int_equal(find_report(&c2, SK_EV_STEP_STARTED, name, NULL, NULL), 0);
	assert_int_equal(find_report(&c2, SK_EV_DB_FINISHED, name, NULL, NULL), 1);
	/* The ledger still names the plan id that actually ran the steps. */
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps "
			     "WHERE plan_id = 'plan-a'"),
	    2);

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c1);
	collector_fini(&c2);
	sk_plan_destroy(plan1);
	sk_plan_destroy(plan2);
}

static void
test_failing_step_rolls_back_and_reports_sqlstate(void **state)
{
	static const step_spec steps[] = {
		{ "0001_ok", "CREATE TABLE first_ok (x int)", NULL, false },
		{ "0002_bad", "CREATE TABLE partial (x int);\nSELECT * FROM no_such_table;",
		    NULL, false },
		{ "0003_later", "CREATE TABLE later (x int)", NULL, false },
	};
	char name[64], ci[256], want[160], buf[128];
	sk_plan *plan = plan_make("broken", "plan-x", steps, 3);
	collector c;
	sk_db_config db;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	int rc;

	(void)state;
	collector_init(&c, NULL);
	db_create("fail", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	rc = agent_exec_run(plan, &o, &err);

	assert_int_equal(rc, SK_ESQL);
	assert_string_equal(err.sqlstate, "42P01");
	assert_true(strncmp(err.sqlstate, "42", 2) == 0);
	snprintf(want, sizeof(want), "apply step 0002_bad in r1/%s: ", name);
	assert_contains(err.msg, want);
	assert_contains(err.msg, "no_such_table");
	/* No partial schema, later steps untouched, only step 1 recorded. */
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name,
		"SELECT to_regclass('public.partial')", buf, sizeof(buf)),
	    "");
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name,
		"SELECT to_regclass('public.later')", buf, sizeof(buf)),
	    "");
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name,
		"SELECT to_regclass('public.first_ok')", buf, sizeof(buf)),
	    "first_ok");
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT string_agg(step_id, ',') "
				"FROM skein.steps",
				buf, sizeof(buf)),
	    "0001_ok");
	/* The failure outlived its rolled-back transaction. */
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT step_id || ',' || event || ',' "
				"|| sqlstate FROM skein.events",
				buf, sizeof(buf)),
	    "0002_bad,step-failed,42P01");

	assert_int_equal(find_report(&c, SK_EV_STEP_FAILED, name, "0002_bad", &r), 1);
	assert_string_equal(r.error.sqlstate, "42P01");
	assert_contains(r.error.msg, want);
	assert_int_equal(find_report(&c, SK_EV_DB_FAILED, name, NULL, &r), 1);
	assert_int_equal(r.error.code, SK_ESQL);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_STARTED, name, "0003_later", NULL), 0);
	assert_int_equal(find_report(&c, SK_EV_DB_FINISHED, name, NULL, NULL), 0);

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_drift_is_refused_with_both_checksums_and_nothing_applied(void **state)
{
	static const step_spec v1[] = {
		{ "0001_table", "CREATE TABLE drifty (x int)", NULL, false },
	};
	static const step_spec v2[] = {
		{ "0001_table", "CREATE TABLE drifty (x int, y int)", NULL, false },
		{ "0002_more", "CREATE TABLE more (x int)", NULL, false },
	};
	char name[64], ci[256], buf[128], old_hex[AGENT_LEDGER_HEX_LEN],
	    new_hex[AGENT_LEDGER_HEX_LEN], want[32];
	sk_plan *p1 = plan_make("drift", "plan-1", v1, 1);
	sk_plan *p2 = plan_make("drift", "plan-2", v2, 2);
	collector c;
	sk_db_config db;
	agent_exec_opts o;
	sk_report r;
	sk_err err;

	(void)state;
	collector_init(&c, NULL);
	db_create("drift", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	if (agent_exec_run(p1, &o, &err) != SK_OK)
		report_fail("first run", err.msg);
	assert_int_equal(agent_exec_run(p2, &o, &err), SK_EDRIFT);

	hex_of(&p1->steps[0], old_hex);
	hex_of(&p2->steps[0], new_hex);
	assert_contains(err.msg, "apply step 0001_table in r1/");
	assert_contains(err.msg, "drift");
	snprintf(want, sizeof(want), "%.16s", old_hex);
	assert_contains(err.msg, want);
	snprintf(want, sizeof(want), "%.16s", new_hex);
	assert_contains(err.msg, want);
	assert_contains(err.detail, old_hex);
	assert_contains(err.detail, new_hex);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT to_regclass('public.more')", buf, sizeof(buf)),
	    "");
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM information_schema.columns "
			     "WHERE table_name = 'drifty'"),
	    1);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT checksum FROM skein.steps", buf, sizeof(buf)),
	    old_hex);
	assert_int_equal(find_report(&c, SK_EV_DB_FAILED, name, NULL, &r), 1);
	assert_int_equal(r.error.code, SK_EDRIFT);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_STARTED, name, "0002_more", NULL), 0);

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(p1);
	sk_plan_destroy(p2);
}

static void
test_verify_returning_false_fails_step_and_rolls_back(void **state)
{
	static const step_spec steps[] = {
		{ "0001_fill", "CREATE TABLE checked (x int); INSERT INTO checked VALUES (1)",
		    "SELECT true AS shape_ok; SELECT count(*) = 2 AS two_rows, 'x' FROM checked",
		    false },
	};
	char name[64], ci[256], buf[128];
	sk_plan *plan = plan_make("verify", "plan-v", steps, 1);
	collector c;
	sk_db_config db;
	agent_exec_opts o;
	sk_err err;

	(void)state;
	collector_init(&c, NULL);
	db_create("verify", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	assert_int_not_equal(agent_exec_run(plan, &o, &err), SK_OK);
	assert_contains(err.msg, "apply step 0001_fill in r1/");
	assert_contains(err.msg, "verify verify/check.sql");
	assert_contains(err.msg, "row 1");
	assert_contains(err.msg, "two_rows");
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name,
		"SELECT to_regclass('public.checked')", buf, sizeof(buf)),
	    "");
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    0);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FAILED, name, "0001_fill", NULL), 1);

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_non_transactional_step_runs_outside_a_transaction(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE big (id int, v text)", NULL, false },
		{ "0002_index", "CREATE INDEX CONCURRENTLY IF NOT EXISTS big_v_idx ON big (v)",
		    NULL, true },
	};
	char name[64], ci[256], buf[128];
	sk_plan *plan = plan_make("concurrently", "plan-c", steps, 2);
	collector c;
	sk_db_config db;
	agent_exec_opts o;
	sk_err err;

	(void)state;
	collector_init(&c, NULL);
	db_create("notx", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT indexname FROM pg_indexes "
				"WHERE tablename = 'big'",
				buf, sizeof(buf)),
	    "big_v_idx");
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT transactional FROM skein.steps "
				"WHERE step_id = '0002_index'",
				buf, sizeof(buf)),
	    "f");
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT transactional FROM skein.steps "
				"WHERE step_id = '0001_table'",
				buf, sizeof(buf)),
	    "t");

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* A cluster of a test's own lives beside the fixture's (so that the
 * `postgres` user can reach it, and the fixture's stopall catches it if
 * the test dies); the teardown stops and removes it. */
static char scratch_parent[512];
static char scratch_name[64];

static int
pgcluster(const char *op, const char *name)
{
	const char *tool = getenv("SKEIN_PGCLUSTER");
	char cmd[1400];

	if (tool == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "bash '%s' %s '%s' %s >/dev/null", tool, op,
	    scratch_parent, name);
	return system(cmd);
}

static int
teardown_scratch(void **state)
{
	char cmd[1200];

	(void)state;
	if (scratch_name[0] == '\0')
		return 0;
	(void)pgcluster("stop", scratch_name);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", scratch_parent, scratch_name);
	if (system(cmd) != 0)
		print_error("could not remove %s/%s\n", scratch_parent, scratch_name);
	scratch_name[0] = '\0';
	return 0;
}

static void
test_down_database_waits_while_the_other_succeeds_then_applies(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE landed (x int)", NULL, false },
	};
	char name[64], ci[256], down_ci[256], path[700], port[16], buf[64];
	sk_plan *plan = plan_make("late", "plan-l", steps, 1);
	sk_db_config dbs[2];
	collector c;
	async_run a;
	sk_report r;
	FILE *f;

	(void)state;
	collector_init(&c, NULL);
	db_create("up", name, sizeof(name), ci, sizeof(ci));
	snprintf(port, sizeof(port), "%d", pgfixture_free_port());
	snprintf(down_ci, sizeof(down_ci),
	    "host=127.0.0.1 port=%s user=postgres dbname=postgres", port);
	dbs[0] = db_config("down", down_ci);
	dbs[1] = db_config(name, ci);
	async_start(&a, plan, opts_for(dbs, 2, &c, NULL));

	assert_true(wait_report(&c, SK_EV_DB_FINISHED, name, NULL, NULL));
	assert_true(wait_report(&c, SK_EV_DB_WAITING, "down", NULL, &r));
	assert_int_equal(r.error.code, SK_ECONN);
	assert_contains(r.error.msg, "apply plan late in r1/down");
	assert_false(atomic_load(&a.done));
	assert_int_equal(
	    pgfixture_long_db(fixture_port, name, "SELECT count(*) FROM landed"), 0);

	/* Bring a server up on the port the agent keeps trying: it must
	 * notice without help and apply the plan there. */
	snprintf(scratch_name, sizeof(scratch_name), "late-%ld", (long)getpid());
	snprintf(path, sizeof(path), "%s/%s", scratch_parent, scratch_name);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%s/port", scratch_parent, scratch_name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", port);
	fclose(f);
	assert_int_equal(pgcluster("start", scratch_name), 0);

	if (async_join(&a) != SK_OK)
		report_fail("run", a.err.msg);
	assert_int_equal(find_report(&c, SK_EV_DB_FINISHED, "down", NULL, NULL), 1);
	assert_int_equal(find_report(&c, SK_EV_DB_FAILED, "down", NULL, NULL), 0);
	assert_string_equal(
	    pgfixture_scalar_db(port, "postgres",
		"SELECT to_regclass('public.landed')", buf, sizeof(buf)),
	    "landed");

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_stop_abandons_a_down_database_without_failing_it(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE never (x int)", NULL, false },
	};
	char down_ci[256];
	sk_plan *plan = plan_make("stopped", "plan-s", steps, 1);
	sk_db_config db;
	atomic_int stop;
	collector c;
	async_run a;
	int64_t t0;

	(void)state;
	collector_init(&c, NULL);
	atomic_init(&stop, 0);
	snprintf(down_ci, sizeof(down_ci),
	    "host=127.0.0.1 port=%d user=postgres dbname=postgres",
	    pgfixture_free_port());
	db = db_config("down", down_ci);
	async_start(&a, plan, opts_for(&db, 1, &c, &stop));
	assert_true(wait_report(&c, SK_EV_DB_WAITING, "down", NULL, NULL));
	t0 = sk_mono_ms();
	atomic_store(&stop, 1);
	assert_int_equal(async_join(&a), SK_ESTATE);
	assert_true(sk_mono_ms() - t0 < 5000);
	assert_contains(a.err.msg, "apply plan stopped in r1/down: stopped");
	assert_int_equal(find_report(&c, SK_EV_DB_FAILED, "down", NULL, NULL), 0);
	assert_int_equal(find_report(&c, SK_EV_DB_STARTED, "down", NULL, NULL), 0);

	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_held_ledger_lock_waits_then_proceeds_when_released(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE locked_out (x int)", NULL, false },
	};
	char name[64], ci[256], sql[128], want[64], buf[64];
	sk_plan *plan = plan_make("locking", "plan-k", steps, 1);
	sk_db_config db;
	collector c;
	async_run a;
	sk_report r;
	PGconn *holder;

	(void)state;
	collector_init(&c, NULL);
	db_create("lock", name, sizeof(name), ci, sizeof(ci));
	holder = pgfixture_connect(fixture_port, name, NULL);
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%" PRId64 ")",
	    AGENT_LEDGER_LOCK_KEY);
	pgfixture_exec(holder, sql);

	db = db_config(name, ci);
	async_start(&a, plan, opts_for(&db, 1, &c, NULL));
	assert_true(wait_report(&c, SK_EV_DB_WAITING, name, NULL, &r));
	snprintf(want, sizeof(want), "ledger lock held by pid %d",
	    PQbackendPID(holder));
	assert_string_equal(r.detail, want);
	sk_sleep_ms(300);
	assert_false(atomic_load(&a.done));
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name,
		"SELECT to_regclass('public.locked_out')", buf, sizeof(buf)),
	    "");

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%" PRId64 ")",
	    AGENT_LEDGER_LOCK_KEY);
	pgfixture_exec(holder, sql);
	if (async_join(&a) != SK_OK)
		report_fail("run", a.err.msg);
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name,
		"SELECT to_regclass('public.locked_out')", buf, sizeof(buf)),
	    "locked_out");
	assert_int_equal(find_report(&c, SK_EV_DB_FINISHED, name, NULL, NULL), 1);

	PQfinish(holder);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_connection_lost_mid_step_resumes_from_the_ledger(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE resumed (x int)", NULL, false },
		{ "0002_slow", "INSERT INTO resumed VALUES (1); SELECT pg_sleep(1.5)",
		    NULL, false },
	};
	char name[64], ci[256], sql[512], buf[128];
	sk_plan *plan = plan_make("resume", "plan-r", steps, 2);
	sk_db_config db;
	collector c;
	async_run a;
	sk_report r;
	PGconn *admin;
	int64_t until;

	(void)state;
	collector_init(&c, NULL);
	db_create("resume", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	async_start(&a, plan, opts_for(&db, 1, &c, NULL));
	assert_true(wait_report(&c, SK_EV_STEP_STARTED, name, "0002_slow", NULL));
	/* End the agent's session while it is inside the step's pg_sleep:
	 * wait for that (bounded) rather than guess how long it takes to get
	 * there on a loaded machine. */
	snprintf(sql, sizeof(sql),
	    "SELECT count(pg_terminate_backend(pid)) "
	    "FROM pg_stat_activity WHERE datname = '%s' AND application_name = "
	    "'skein-agent/r1' AND wait_event = 'PgSleep'",
	    name);
	admin = pgfixture_connect(fixture_port, name, NULL);
	until = sk_mono_ms() + WAIT_MS;
	while (strcmp(pgfixture_scalar(admin, sql, buf, sizeof(buf)), "1") != 0) {
		assert_string_equal(buf, "0");
		assert_true(sk_mono_ms() < until);
		sk_sleep_ms(20);
	}
	PQfinish(admin);

	if (async_join(&a) != SK_OK)
		report_fail("run", a.err.msg);
	assert_int_equal(
	    pgfixture_long_db(fixture_port, name, "SELECT count(*) FROM resumed"), 1);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    2);
	/* libpq may report the termination (57P01) or just the closed
	 * socket (no SQLSTATE); either way the attempt is on record. */
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT step_id || ',' || event || ',' || "
				"coalesce(sqlstate, '57P01') FROM skein.events",
				buf, sizeof(buf)),
	    "0002_slow,step-interrupted,57P01");
	assert_true(find_report(&c, SK_EV_DB_WAITING, name, NULL, &r) >= 1);
	assert_int_equal(r.error.code, SK_ECONN);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_STARTED, name, "0002_slow", NULL), 2);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FINISHED, name, "0002_slow", &r), 1);
	assert_int_equal(r.attempt, 2);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_SKIPPED, name, "0001_table", NULL), 1);
	assert_int_equal(find_report(&c, SK_EV_DB_FAILED, name, NULL, NULL), 0);

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_many_databases_apply_in_parallel(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE fan (x int)", NULL, false },
		{ "0002_row", "INSERT INTO fan SELECT generate_series(1, 10)",
		    NULL, false },
	};
	enum { NDB = 6 };
	char names[NDB][64], cis[NDB][256];
	sk_plan *plan = plan_make("fanout", "plan-f", steps, 2);
	sk_db_config dbs[NDB];
	collector c;
	agent_exec_opts o;
	sk_report r;
	sk_err err;

	(void)state;
	collector_init(&c, NULL);
	for (int i = 0; i < NDB; i++) {
		db_create("fan", names[i], sizeof(names[i]), cis[i], sizeof(cis[i]));
		dbs[i] = db_config(names[i], cis[i]);
	}
	o = opts_for(dbs, NDB, &c, NULL);
	o.parallel = 3;
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);
	for (int i = 0; i < NDB; i++) {
		assert_int_equal(pgfixture_long_db(fixture_port, names[i],
				     "SELECT count(*) FROM fan"),
		    10);
		assert_int_equal(
		    find_report(&c, SK_EV_STEP_FINISHED, names[i], "0002_row", &r), 1);
		assert_int_equal(r.rows, 10);
		pgfixture_drop_db(fixture_port, names[i]);
	}
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* ---- checks, locks, indexes, preflight, backups ------------------------- */

/* The number of reports matching event and db whose check has name. */
static size_t
count_checks(collector *c, const char *db, const char *name, bool passed, sk_report *out)
{
	size_t hits = 0;

	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->n; i++) {
		const sk_report *r = &c->r[i];

		if (r->event != SK_EV_CHECK || strcmp(r->database, db) != 0 ||
		    !r->has_check || strcmp(r->check.name, name) != 0 ||
		    r->check.passed != passed)
			continue;
		if (hits++ == 0 && out != NULL)
			*out = *r;
	}
	pthread_mutex_unlock(&c->mu);
	return hits;
}

static void
test_passing_checks_are_reported_and_recorded_with_the_step(void **state)
{
	static const step_spec steps[] = {
		{ "0001_orders", "CREATE TABLE orders (id int, amount int)", NULL, false },
		{ "0002_seed", "INSERT INTO orders VALUES (1, 10), (2, 20)", NULL, false },
	};
	char name[64], ci[256], buf[256];
	sk_plan *plan = plan_make("checked", "plan-ck", steps, 2);
	sk_step *s = &plan->steps[1];
	collector c;
	sk_db_config db;
	agent_exec_opts o;
	sk_report r;
	sk_err err;

	(void)state;
	check_add(&s->pre, &s->npre, "empty_before",
	    "SELECT count(*) FROM orders", SK_EXPECT_COMPARE, "=", "0", NULL);
	check_add(&s->post, &s->npost, "two_rows",
	    "SELECT count(*) FROM orders", SK_EXPECT_COMPARE, "=", "2", NULL);
	check_add(&s->post, &s->npost, "no_negative",
	    "SELECT id FROM orders WHERE amount < 0", SK_EXPECT_NO_ROWS, NULL,
	    NULL, NULL);
	collector_init(&c, NULL);
	db_create("ckok", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);

	assert_int_equal(count_checks(&c, name, "empty_before", true, &r), 1);
	assert_string_equal(r.step_id, "0002_seed");
	assert_string_equal(r.check.when, "pre");
	assert_string_equal(r.check.seen, "0");
	assert_int_equal(count_checks(&c, name, "two_rows", true, &r), 1);
	assert_string_equal(r.check.when, "post");
	assert_string_equal(r.check.seen, "2");
	assert_int_equal(count_checks(&c, name, "no_negative", true, NULL), 1);
	/* Recorded in the step's own transaction, with what was seen. */
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT string_agg(step_id || ':' || \"when\" || ':' "
				"|| name || ':' || passed || ':' || seen, ',' ORDER BY id) "
				"FROM skein.checks",
				buf, sizeof(buf)),
	    "0002_seed:pre:empty_before:true:0,0002_seed:post:two_rows:true:2,"
	    "0002_seed:post:no_negative:true:no rows");
	assert_int_equal(
	    pgfixture_long_db(fixture_port, name, "SELECT count(*) FROM orders"), 2);

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_failing_pre_check_blocks_the_step_and_applies_nothing(void **state)
{
	static const step_spec steps[] = {
		{ "0001_add_col", "ALTER TABLE accounts ADD COLUMN region text",
		    NULL, false },
		{ "0002_later", "CREATE TABLE later_one (x int)", NULL, false },
	};
	char name[64], ci[256], buf[256];
	sk_plan *plan = plan_make("blocked", "plan-b", steps, 2);
	sk_step *s = &plan->steps[0];
	collector c;
	sk_db_config db;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	PGconn *setup;

	(void)state;
	check_add(&s->pre, &s->npre, "no_orphans",
	    "SELECT count(*) FROM accounts WHERE owner IS NULL",
	    SK_EXPECT_COMPARE, "=", "0", NULL);
	collector_init(&c, NULL);
	db_create("ckpre", name, sizeof(name), ci, sizeof(ci));
	setup = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(setup,
	    "CREATE TABLE accounts (id int, owner text);"
	    "INSERT INTO accounts VALUES (1, NULL), (2, NULL), (3, 'x')");
	PQfinish(setup);
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_ECHECK);
	assert_contains(err.msg, "apply step 0001_add_col in r1/");
	assert_contains(err.msg, "no_orphans");
	assert_contains(err.msg, "saw 2");

	/* Nothing applied: no column, no later step, no ledger row. */
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM information_schema.columns "
			     "WHERE table_name = 'accounts'"),
	    2);
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name,
		"SELECT to_regclass('public.later_one')", buf, sizeof(buf)),
	    "");
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    0);
	/* The result outlived the rolled-back transaction. */
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT name || ':' || passed || ':' || seen "
				"|| ':' || expected FROM skein.checks",
				buf, sizeof(buf)),
	    "no_orphans:false:2:= 0");
	assert_int_equal(count_checks(&c, name, "no_orphans", false, &r), 1);
	assert_string_equal(r.check.seen, "2");
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FAILED, name, "0001_add_col", &r), 1);
	assert_int_equal(r.error.code, SK_ECHECK);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_STARTED, name, "0002_later", NULL), 0);

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_failing_post_check_rolls_the_step_back(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE widgets (id int)", NULL, false },
		{ "0002_fill",
		    "CREATE TABLE widget_log (x int); "
		    "INSERT INTO widgets VALUES (1), (2), (3)",
		    NULL, false },
	};
	char name[64], ci[256], buf[128];
	sk_plan *plan = plan_make("postfail", "plan-pf", steps, 2);
	sk_step *s = &plan->steps[1];
	collector c;
	sk_db_config db;
	agent_exec_opts o;
	sk_err err;

	(void)state;
	check_add(&s->post, &s->npost, "at_most_two",
	    "SELECT count(*) FROM widgets", SK_EXPECT_COMPARE, "<=", "2", NULL);
	collector_init(&c, NULL);
	db_create("ckpost", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_ECHECK);
	assert_contains(err.msg, "apply step 0002_fill in r1/");
	assert_contains(err.msg, "at_most_two");
	assert_contains(err.msg, "saw 3");
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name,
		"SELECT to_regclass('public.widget_log')", buf, sizeof(buf)),
	    "");
	assert_int_equal(
	    pgfixture_long_db(fixture_port, name, "SELECT count(*) FROM widgets"), 0);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT string_agg(step_id, ',') FROM skein.steps",
				buf, sizeof(buf)),
	    "0001_table");
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT step_id || ':' || name || ':' || passed "
				"FROM skein.checks",
				buf, sizeof(buf)),
	    "0002_fill:at_most_two:false");

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_constraint_test_that_succeeds_fails_the_step_and_leaves_no_row(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE ledger_lines (id int, amount int)",
		    NULL, false },
		/* Meant to forbid negative amounts, but the CHECK is wrong. */
		{ "0002_constraint",
		    "ALTER TABLE ledger_lines ADD CONSTRAINT amount_positive "
		    "CHECK (amount > -100)",
		    NULL, false },
	};
	char name[64], ci[256];
	sk_plan *plan = plan_make("constraint", "plan-ct", steps, 2);
	sk_step *s = &plan->steps[1];
	collector c;
	sk_db_config db;
	agent_exec_opts o;
	sk_report r;
	sk_err err;

	(void)state;
	check_add(&s->post, &s->npost, "negative_refused",
	    "INSERT INTO ledger_lines VALUES (1, -5)", SK_EXPECT_FAILS, NULL,
	    NULL, "23514");
	collector_init(&c, NULL);
	db_create("ckfails", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_ECHECK);
	assert_contains(err.msg, "negative_refused");
	assert_contains(err.msg, "fails with 23514");
	assert_int_equal(count_checks(&c, name, "negative_refused", false, &r), 1);
	assert_contains(r.check.seen, "succeeded");
	/* The row the test inserted is gone, and so is the constraint. */
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM ledger_lines"),
	    0);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM pg_constraint "
			     "WHERE conname = 'amount_positive'"),
	    0);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps "
			     "WHERE step_id = '0002_constraint'"),
	    0);

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_phase_checks_guard_the_database(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE phased (x int)", NULL, false },
	};
	char name[64], ci[256], buf[128];
	sk_plan *plan = plan_make("phased", "plan-ph", steps, 1);
	sk_phase *ph = phase_add(plan);
	collector c;
	sk_db_config db;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	PGconn *setup;

	(void)state;
	check_add(&ph->pre, &ph->npre, "maintenance_off",
	    "SELECT count(*) FROM maintenance", SK_EXPECT_COMPARE, "=", "0", NULL);
	check_add(&ph->post, &ph->npost, "phased_exists",
	    "SELECT to_regclass('public.phased') IS NOT NULL",
	    SK_EXPECT_COMPARE, "=", "true", NULL);
	collector_init(&c, NULL);
	db_create("phase", name, sizeof(name), ci, sizeof(ci));
	setup = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(setup,
	    "CREATE TABLE maintenance (x int); INSERT INTO maintenance VALUES (1)");
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);

	/* Pre-check fails: nothing runs. */
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_ECHECK);
	assert_contains(err.msg, "phase main pre-check");
	assert_contains(err.msg, "maintenance_off");
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name,
		"SELECT to_regclass('public.phased')", buf, sizeof(buf)),
	    "");
	assert_int_equal(count_checks(&c, name, "maintenance_off", false, &r), 1);
	assert_string_equal(r.step_id, "");
	assert_string_equal(r.detail, "main");
	assert_int_equal(find_report(&c, SK_EV_STEP_STARTED, name, NULL, NULL), 0);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT phase || ':' || coalesce(step_id, '-') || ':' "
				"|| name || ':' || passed FROM skein.checks",
				buf, sizeof(buf)),
	    "main:-:maintenance_off:false");

	/* Once it holds, the step runs and the post-check passes. */
	pgfixture_exec(setup, "DELETE FROM maintenance");
	collector_fini(&c);
	collector_init(&c, NULL);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("second run", err.msg);
	assert_int_equal(count_checks(&c, name, "phased_exists", true, NULL), 1);

	/* A post-check that no longer holds fails even a complete database. */
	pgfixture_exec(setup, "DROP TABLE phased");
	collector_fini(&c);
	collector_init(&c, NULL);
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_ECHECK);
	assert_contains(err.msg, "phase main post-check");
	assert_int_equal(find_report(&c, SK_EV_DB_FAILED, name, NULL, &r), 1);
	assert_int_equal(r.error.code, SK_ECHECK);

	PQfinish(setup);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* Reads a table over and over while a step retries, keeping the worst
 * latency: if the step's lock request queued readers behind it for long,
 * this would see it. */
typedef struct reader {
	pthread_t thread;
	char ci[256];
	atomic_int stop;
	int64_t worst_ms;
	int failures;
	int reads;
	char last_error[256];
} reader;

static void *
reader_main(void *arg)
{
	reader *rd = arg;
	PGconn *c = PQconnectdb(rd->ci);

	if (PQstatus(c) != CONNECTION_OK) {
		rd->failures++;
		PQfinish(c);
		return NULL;
	}
	PQclear(PQexec(c, "SET statement_timeout = '2s'"));
	while (!atomic_load(&rd->stop)) {
		int64_t t0 = sk_mono_ms(), ms;
		PGresult *r = PQexec(c, "SELECT count(*) FROM hot");

		ms = sk_mono_ms() - t0;
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			rd->failures++;
			snprintf(rd->last_error, sizeof(rd->last_error), "%s",
			    PQresultErrorMessage(r));
		}
		PQclear(r);
		if (ms > rd->worst_ms)
			rd->worst_ms = ms;
		rd->reads++;
		sk_sleep_ms(10);
	}
	PQfinish(c);
	return NULL;
}

/* A lock that never frees, held by a transaction that outlives the
 * step's lock_timeout: the step does not keep queueing behind it (at most
 * one attempt, while the transaction is still young); it waits for it to
 * end without queueing, and once the retry budget (three attempts of 200
 * ms and pauses of up to 50 and 100 ms: 750 ms) is spent gives up with
 * SK_ELOCK naming it. */
static void
test_long_lock_holder_waited_out_then_gives_up_naming_it(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE hot (id int)", NULL, false },
		{ "0002_alter", "ALTER TABLE hot ADD COLUMN flag bool", NULL, false },
	};
	char name[64], ci[256], want[64], buf[512];
	sk_plan *plan = plan_make("locked", "plan-lk", steps, 2);
	sk_db_config db;
	collector c;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	PGconn *holder;
	reader rd;
	int64_t t0, took;

	(void)state;
	step_limits(&plan->steps[1], 200, 2, 50);
	collector_init(&c, NULL);
	db_create("lockto", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	/* Step 1 only, so that the table exists for the holder. */
	plan->nsteps = 1;
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("first run", err.msg);
	plan->nsteps = 2;
	collector_fini(&c);
	collector_init(&c, NULL);

	holder = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(holder, "BEGIN; LOCK TABLE hot IN ACCESS SHARE MODE");
	memset(&rd, 0, sizeof(rd));
	snprintf(rd.ci, sizeof(rd.ci), "%s", ci);
	atomic_init(&rd.stop, 0);
	assert_int_equal(pthread_create(&rd.thread, NULL, reader_main, &rd), 0);

	t0 = sk_mono_ms();
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_ELOCK);
	took = sk_mono_ms() - t0;
	atomic_store(&rd.stop, 1);
	pthread_join(rd.thread, NULL);

	snprintf(want, sizeof(want), "blocked by pid %d", PQbackendPID(holder));
	assert_contains(err.msg, "apply step 0002_alter in r1/");
	assert_contains(err.msg,
	    "without queueing for a long transaction to end (the step's retry "
	    "budget, 750ms: 3 attempts of 200 ms");
	assert_contains(err.msg, want);
	assert_contains(err.msg, "idle in transaction");
	assert_contains(err.msg, "LOCK TABLE hot");
	assert_string_equal(err.sqlstate, "55P03");
	assert_contains(err.detail, "ms of them without queueing");
	/* The budget, and not much more: bounded. */
	assert_true(took >= 750);
	assert_true(took < 3000);

	/* One attempt at most (made while the holder was younger than
	 * lock_timeout, if it was), then the wait. */
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FAILED, name, "0002_alter", &r), 1);
	assert_int_equal(r.attempt, 1);
	assert_true(r.lock_waits <= 1);
	assert_true(r.lock_wait_ms >= 700);
	assert_true(r.nblockers >= 1);
	assert_int_equal(r.blockers[0].pid, PQbackendPID(holder));
	assert_int_equal(r.error.code, SK_ELOCK);
	assert_true(find_report(&c, SK_EV_LOCK_WAIT, name, "0002_alter", &r) >= 1);
	assert_int_equal(r.blockers[0].pid, PQbackendPID(holder));
	assert_string_equal(r.blockers[0].state, "idle in transaction");
	snprintf(buf, sizeof(buf),
	    "waiting for pid %d's transaction to end "
	    "without queueing",
	    PQbackendPID(holder));
	assert_true(count_detail(&c, SK_EV_LOCK_WAIT, name, "0002_alter", buf) >= 1);

	/* No queue built up: readers waited at most about one lock_timeout. */
	if (rd.failures != 0)
		report_fail("reader", rd.last_error);
	assert_true(rd.reads > 5);
	if (rd.worst_ms >= 200 + 300) {
		snprintf(buf, sizeof(buf), "worst read %" PRId64 " ms", rd.worst_ms);
		report_fail("queue behind the step", buf);
	}
	/* The column is not there and the failure is on record. */
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM information_schema.columns "
			     "WHERE table_name = 'hot' AND column_name = 'flag'"),
	    0);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT step_id || ',' || sqlstate FROM skein.events "
				"WHERE event = 'step-failed'",
				buf, sizeof(buf)),
	    "0002_alter,55P03");

	pgfixture_exec(holder, "ROLLBACK");
	PQfinish(holder);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_lock_timeout_retry_succeeds_once_the_lock_frees(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE warm (id int)", NULL, false },
		{ "0002_alter", "ALTER TABLE warm ADD COLUMN note text", NULL, false },
	};
	char name[64], ci[256], buf[512], want[32];
	sk_plan *plan = plan_make("unlocked", "plan-ul", steps, 2);
	sk_db_config db;
	collector c;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	rollback_later rl;
	PGconn *holder;

	(void)state;
	step_limits(&plan->steps[1], 150, 10, 50);
	collector_init(&c, NULL);
	db_create("lockok", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	plan->nsteps = 1;
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("first run", err.msg);
	plan->nsteps = 2;

	holder = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(holder, "BEGIN; LOCK TABLE warm IN ACCESS SHARE MODE");
	snprintf(want, sizeof(want), "pid %d", PQbackendPID(holder));
	rollback_later_start(&rl, holder, 500);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);
	rollback_later_join(&rl);

	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FINISHED, name, "0002_alter", &r), 1);
	assert_true(r.lock_waits >= 1);
	assert_int_equal(r.attempt, r.lock_waits + 1);
	assert_true(r.lock_wait_ms >= 150);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM information_schema.columns "
			     "WHERE table_name = 'warm' AND column_name = 'note'"),
	    1);
	/* The ledger keeps how hard it was. */
	snprintf(buf, sizeof(buf),
	    "SELECT (attempts = lock_waits + 1 AND lock_waits >= 1 AND "
	    "lock_wait_ms >= 150 AND blockers LIKE '%%%s%%')::text "
	    "FROM skein.steps WHERE step_id = '0002_alter'",
	    want);
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name, buf, buf, sizeof(buf)), "true");

	PQfinish(holder);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_invalid_index_left_by_an_interrupted_build_is_rebuilt(void **state)
{
	static const step_spec steps[] = {
		{ "0001_index",
		    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "
		    "users_email_key ON users (email)",
		    NULL, true },
	};
	char name[64], ci[256];
	sk_plan *plan = plan_make("cic", "plan-cic", steps, 1);
	sk_db_config db;
	collector c;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	PGconn *setup;

	(void)state;
	step_indexes(&plan->steps[0], "users_email_key");
	collector_init(&c, NULL);
	db_create("cic", name, sizeof(name), ci, sizeof(ci));
	setup = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(setup,
	    "CREATE TABLE users (id int, email text);"
	    "INSERT INTO users VALUES (1, 'a'), (2, 'a'), (3, 'b')");
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);

	/* Duplicates: the build fails and leaves an INVALID index. */
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_ESQL);
	assert_string_equal(err.sqlstate, "23505");
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM pg_index WHERE NOT indisvalid"),
	    1);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    0);

	/* Once the data is fixed, IF NOT EXISTS alone would keep the broken
	 * index; the agent drops it and builds it again. */
	pgfixture_exec(setup, "DELETE FROM users WHERE id = 2");
	collector_fini(&c);
	collector_init(&c, NULL);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("second run", err.msg);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM pg_index WHERE NOT indisvalid"),
	    0);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM pg_index i JOIN pg_class c "
			     "ON c.oid = i.indexrelid WHERE c.relname = "
			     "'users_email_key' AND i.indisvalid AND i.indisunique"),
	    1);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FINISHED, name, "0001_index", &r), 1);
	assert_contains(r.detail, "dropped INVALID index public.users_email_key");
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps WHERE NOT transactional"),
	    1);

	PQfinish(setup);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_invalid_index_marked_by_hand_is_detected_and_rebuilt(void **state)
{
	static const step_spec steps[] = {
		{ "0001_index",
		    "CREATE INDEX CONCURRENTLY IF NOT EXISTS items_v_idx "
		    "ON items (v)",
		    NULL, true },
	};
	char name[64], ci[256];
	sk_plan *plan = plan_make("cic2", "plan-cic2", steps, 1);
	sk_db_config db;
	collector c;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	PGconn *setup;

	(void)state;
	step_indexes(&plan->steps[0], "items_v_idx");
	collector_init(&c, NULL);
	db_create("cicinv", name, sizeof(name), ci, sizeof(ci));
	setup = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(setup,
	    "CREATE TABLE items (id int, v text);"
	    "CREATE INDEX items_v_idx ON items (v);"
	    "UPDATE pg_index SET indisvalid = false "
	    "WHERE indexrelid = 'items_v_idx'::regclass");
	PQfinish(setup);
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM pg_index WHERE NOT indisvalid"),
	    0);
	assert_int_equal(
	    pgfixture_long_db(fixture_port, name,
		"SELECT count(*) FROM pg_indexes WHERE indexname = 'items_v_idx'"),
	    1);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FINISHED, name, "0001_index", &r), 1);
	assert_contains(r.detail, "dropped INVALID index");

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_built_index_without_ledger_row_is_recorded_not_rebuilt(void **state)
{
	/* No IF NOT EXISTS: running it again would fail with 42P07. */
	static const step_spec steps[] = {
		{ "0001_index", "CREATE INDEX CONCURRENTLY done_v_idx ON done (v)",
		    NULL, true },
	};
	char name[64], ci[256], before[32], after[32];
	sk_plan *plan = plan_make("cic3", "plan-cic3", steps, 1);
	sk_db_config db;
	collector c;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	PGconn *setup;

	(void)state;
	step_indexes(&plan->steps[0], "done_v_idx");
	collector_init(&c, NULL);
	db_create("cicdone", name, sizeof(name), ci, sizeof(ci));
	setup = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(setup,
	    "CREATE TABLE done (id int, v text);"
	    "CREATE INDEX done_v_idx ON done (v)");
	PQfinish(setup);
	pgfixture_scalar_db(fixture_port, name,
	    "SELECT 'done_v_idx'::regclass::oid", before, sizeof(before));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);
	/* The same index (same oid): it was not built again. */
	pgfixture_scalar_db(fixture_port, name,
	    "SELECT 'done_v_idx'::regclass::oid", after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    1);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FINISHED, name, "0001_index", &r), 1);
	assert_contains(r.detail, "not run again");

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_concurrent_index_lock_timeout_is_retried_and_rebuilt(void **state)
{
	static const step_spec steps[] = {
		{ "0001_index",
		    "CREATE INDEX CONCURRENTLY IF NOT EXISTS busy_v_idx "
		    "ON busy (v)",
		    NULL, true },
	};
	char name[64], ci[256];
	sk_plan *plan = plan_make("cic4", "plan-cic4", steps, 1);
	sk_db_config db;
	collector c;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	rollback_later rl;
	PGconn *holder;

	(void)state;
	step_indexes(&plan->steps[0], "busy_v_idx");
	step_limits(&plan->steps[0], 200, 20, 50);
	collector_init(&c, NULL);
	db_create("cicbusy", name, sizeof(name), ci, sizeof(ci));
	holder = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(holder,
	    "CREATE TABLE busy (id int, v text);"
	    "INSERT INTO busy SELECT g, g::text FROM generate_series(1, 100) g");
	/* A writer whose transaction stays open: the build waits for it
	 * after creating the index, and times out. */
	pgfixture_exec(holder, "BEGIN; INSERT INTO busy VALUES (0, 'x')");
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	rollback_later_start(&rl, holder, 900);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);
	rollback_later_join(&rl);

	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FINISHED, name, "0001_index", &r), 1);
	assert_true(r.lock_waits >= 1);
	assert_int_equal(r.attempt, r.lock_waits + 1);
	assert_contains(r.detail, "dropped INVALID index public.busy_v_idx");
	assert_true(find_report(&c, SK_EV_LOCK_WAIT, name, "0001_index", &r) >= 1);
	assert_int_equal(r.blockers[0].pid, PQbackendPID(holder));
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM pg_index WHERE NOT indisvalid"),
	    0);
	assert_int_equal(
	    pgfixture_long_db(fixture_port, name,
		"SELECT count(*) FROM pg_indexes WHERE indexname = 'busy_v_idx'"),
	    1);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    1);

	PQfinish(holder);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_preflight_failure_blocks_the_database_and_names_the_check(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE never_made (x int)", NULL, false },
	};
	char name[64], ci[256], buf[256];
	sk_plan *plan = plan_make("preflight", "plan-pre", steps, 1);
	collector c;
	sk_db_config db;
	agent_exec_opts o;
	sk_report r;
	sk_err err;

	(void)state;
	plan->preflight.min_server_version = 990000;
	plan->preflight.extensions = calloc(1, sizeof(char *));
	assert_non_null(plan->preflight.extensions);
	plan->preflight.extensions[0] = sk_strdup("plpgsql");
	plan->preflight.nextensions = 1;
	collector_init(&c, NULL);
	db_create("pre", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_EPREFLIGHT);
	assert_contains(err.msg, "apply plan preflight in r1/");
	assert_contains(err.msg, "preflight blocked");
	assert_contains(err.msg, "server_version");
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name,
		"SELECT to_regclass('public.never_made')", buf, sizeof(buf)),
	    "");
	assert_int_equal(count_checks(&c, name, "server_version", false, &r), 1);
	assert_string_equal(r.check.when, "preflight");
	assert_int_equal(count_checks(&c, name, "extension:plpgsql", true, NULL), 1);
	assert_int_equal(find_report(&c, SK_EV_DB_FAILED, name, NULL, &r), 1);
	assert_int_equal(r.error.code, SK_EPREFLIGHT);
	assert_contains(r.error.msg, "server_version");
	assert_int_equal(find_report(&c, SK_EV_STEP_STARTED, name, NULL, NULL), 0);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT string_agg(name || ':' || passed, ',' ORDER BY name) "
				"FROM skein.checks WHERE \"when\" = 'preflight'",
				buf, sizeof(buf)),
	    "extension:plpgsql:true,server_version:false");

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static char backup_root[128];

static int
teardown_backups(void **state)
{
	char cmd[700];

	(void)state;
	if (backup_root[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", backup_root);
		if (system(cmd) != 0)
			print_error("could not remove %s\n", backup_root);
		backup_root[0] = '\0';
	}
	return 0;
}

static void
test_backup_is_taken_verified_and_recorded_before_the_first_change(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE after_backup (x int)", NULL, false },
	};
	char name[64], ci[256], buf[1024], path[600], want[640];
	sk_plan *plan = plan_make("backed", "plan-bk", steps, 1);
	collector c;
	sk_db_config db;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	struct stat st;

	(void)state;
	plan->backup = true;
	snprintf(backup_root, sizeof(backup_root), "/tmp/h4-backups-%ld",
	    (long)getpid());
	assert_int_equal(mkdir(backup_root, 0700), 0);
	collector_init(&c, NULL);
	db_create("bk", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	o.backup_dir = backup_root;
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);

	assert_int_equal(find_report(&c, SK_EV_BACKUP, name, NULL, &r), 1);
	assert_true(r.has_backup);
	assert_true(r.backup.size > 0);
	assert_contains(r.backup.path, backup_root);
	assert_contains(r.backup.restore_command, "pg_restore");
	assert_int_equal(stat(r.backup.path, &st), 0);
	assert_int_equal((int64_t)st.st_size, r.backup.size);
	snprintf(path, sizeof(path), "%s", r.backup.path);
	snprintf(want, sizeof(want), "%s,%" PRId64, path, r.backup.size);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT path || ',' || size FROM skein.backups "
				"WHERE plan_name = 'backed'",
				buf, sizeof(buf)),
	    want);
	/* The dump was taken before the step: it does not hold the table. */
	snprintf(buf, sizeof(buf),
	    "pg_restore --list '%s' | grep -c after_backup", path);
	assert_int_not_equal(system(buf), 0);
	snprintf(buf, sizeof(buf), "pg_restore --list '%s' >/dev/null", path);
	assert_int_equal(system(buf), 0);

	/* A rerun with nothing left to do takes no second backup. */
	collector_fini(&c);
	collector_init(&c, NULL);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("rerun", err.msg);
	assert_int_equal(find_report(&c, SK_EV_BACKUP, name, NULL, NULL), 0);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.backups"),
	    1);

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_failing_backup_stops_the_database_before_any_step(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE not_after_failed_backup (x int)",
		    NULL, false },
	};
	char name[64], ci[256], bad_ci[300], buf[256], role[64];
	sk_plan *plan = plan_make("nobackup", "plan-nb", steps, 1);
	collector c;
	sk_db_config db;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	PGconn *setup;

	(void)state;
	plan->backup = true;
	snprintf(backup_root, sizeof(backup_root), "/tmp/h4-backups-%ld",
	    (long)getpid());
	assert_int_equal(mkdir(backup_root, 0700), 0);
	collector_init(&c, NULL);
	db_create("bkfail", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);

	/* No backup_dir at all. */
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_EBACKUP);
	assert_contains(err.msg, "plan asks for a backup; agent.yaml sets no backup_dir");
	assert_int_equal(find_report(&c, SK_EV_DB_FAILED, name, NULL, &r), 1);
	assert_int_equal(r.error.code, SK_EBACKUP);

	/* A role that may not read a table: pg_dump's own reason. Roles are
	 * cluster-wide: one name per test process. */
	snprintf(role, sizeof(role), "h4_weak_%ld", (long)getpid());
	setup = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(setup, "CREATE TABLE secret (x int)");
	snprintf(buf, sizeof(buf),
	    "DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN", role, role);
	pgfixture_exec(setup, buf);
	pgfixture_exec(setup, "REVOKE ALL ON secret FROM PUBLIC");
	PQfinish(setup);
	snprintf(bad_ci, sizeof(bad_ci),
	    "host=127.0.0.1 port=%s user=%s dbname=%s", fixture_port, role, name);
	db.backup_conninfo = bad_ci;
	o.backup_dir = backup_root;
	collector_fini(&c);
	collector_init(&c, NULL);
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_EBACKUP);
	assert_contains(err.msg, "permission denied");
	assert_int_equal(find_report(&c, SK_EV_STEP_STARTED, name, NULL, NULL), 0);
	assert_int_equal(find_report(&c, SK_EV_BACKUP, name, NULL, NULL), 0);

	/* Nothing changed, nothing recorded, no dump left behind. */
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT to_regclass('public.not_after_failed_backup')",
				buf, sizeof(buf)),
	    "");
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    0);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.backups"),
	    0);
	snprintf(buf, sizeof(buf), "test -z \"$(ls -A '%s')\"", backup_root);
	assert_int_equal(system(buf), 0);

	pgfixture_drop_db(fixture_port, name);
	snprintf(buf, sizeof(buf), "DROP ROLE %s", role);
	pgfixture_exec_db(fixture_port, "postgres", buf);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_pooled_database_takes_the_lock_per_transaction(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE pooled_t (x int)", NULL, false },
		{ "0002_index",
		    "CREATE INDEX CONCURRENTLY IF NOT EXISTS pooled_x_idx "
		    "ON public.pooled_t (x)",
		    NULL, true },
	};
	char name[64], ci[256], sql[128], want[64], buf[64];
	sk_plan *plan = plan_make("pooled", "plan-po", steps, 2);
	sk_db_config db;
	collector c;
	async_run a;
	sk_report r;
	PGconn *holder;

	(void)state;
	step_indexes(&plan->steps[1], "pooled_x_idx");
	collector_init(&c, NULL);
	db_create("pool", name, sizeof(name), ci, sizeof(ci));
	holder = pgfixture_connect(fixture_port, name, NULL);
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%" PRId64 ")",
	    AGENT_LEDGER_LOCK_KEY);
	pgfixture_exec(holder, sql);

	db = db_config(name, ci);
	db.pooler = SK_POOLER_TRANSACTION;
	async_start(&a, plan, opts_for(&db, 1, &c, NULL));
	/* Every transaction needs the ledger lock: the step waits. */
	assert_true(wait_report(&c, SK_EV_DB_WAITING, name, NULL, &r));
	snprintf(want, sizeof(want), "ledger lock held by another session");
	assert_string_equal(r.detail, want);
	sk_sleep_ms(300);
	assert_false(atomic_load(&a.done));
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name,
		"SELECT to_regclass('public.pooled_t')", buf, sizeof(buf)),
	    "");

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%" PRId64 ")",
	    AGENT_LEDGER_LOCK_KEY);
	pgfixture_exec(holder, sql);
	if (async_join(&a) != SK_OK)
		report_fail("run", a.err.msg);
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name,
		"SELECT to_regclass('public.pooled_t')", buf, sizeof(buf)),
	    "pooled_t");
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM pg_index WHERE NOT indisvalid"),
	    0);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    2);

	PQfinish(holder);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* rows counts the rows every statement of the step changed, not only the
 * last statement's, and a SELECT's rows are not rows changed. */
static void
test_rows_count_every_statement_and_no_selects(void **state)
{
	static const step_spec steps[] = {
		{ "0001_multi",
		    "CREATE TABLE r (n int); "
		    "INSERT INTO r SELECT generate_series(1, 5); "
		    "UPDATE r SET n = n + 10 WHERE n <= 2; "
		    "SELECT * FROM r",
		    NULL, false },
		{ "0002_select", "SELECT generate_series(1, 100)", NULL, false },
		{ "0003_cic", "CREATE INDEX CONCURRENTLY r_n ON r (n)", NULL, true },
	};
	char name[64], ci[256], buf[64];
	sk_plan *plan = plan_make("rows", "plan-rows", steps, 3);
	sk_db_config db;
	collector c;
	agent_exec_opts o;
	sk_report r;
	sk_err err;

	(void)state;
	step_indexes(&plan->steps[2], "r_n");
	collector_init(&c, NULL);
	db_create("rows", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FINISHED, name, "0001_multi", &r), 1);
	assert_int_equal(r.rows, 7);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FINISHED, name, "0002_select", &r), 1);
	assert_int_equal(r.rows, 0);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT string_agg(step_id || '=' || "
				"coalesce(rows::text, 'none'), ',' "
				"ORDER BY step_id) FROM skein.steps",
				buf, sizeof(buf)),
	    "0001_multi=7,0002_select=none,0003_cic=none");

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* statement_timeout (57014) is not a lock timeout: no retry, a clear
 * error, nothing applied. */
static void
test_statement_timeout_fails_at_once_without_retry(void **state)
{
	static const step_spec steps[] = {
		{ "0001_slow", "CREATE TABLE slow (n int); SELECT pg_sleep(5)",
		    NULL, false },
	};
	char name[64], ci[256];
	sk_plan *plan = plan_make("slow", "plan-slow", steps, 1);
	sk_db_config db;
	collector c;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	int64_t t0, took;

	(void)state;
	step_limits(&plan->steps[0], 1000, 5, 50);
	plan->steps[0].statement_timeout_ms = 300;
	collector_init(&c, NULL);
	db_create("stmtto", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	t0 = sk_mono_ms();
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_ESQL);
	took = sk_mono_ms() - t0;
	assert_string_equal(err.sqlstate, "57014");
	assert_contains(err.msg, "apply step 0001_slow");
	assert_contains(err.msg, "statement timeout");
	assert_contains(err.hint, "statement_timeout (300 ms)");
	assert_true(took < 3000);
	assert_int_equal(find_report(&c, SK_EV_STEP_FAILED, name, "0001_slow", &r), 1);
	assert_int_equal(r.attempt, 1);
	assert_int_equal(r.lock_waits, 0);
	assert_int_equal(find_report(&c, SK_EV_LOCK_WAIT, name, NULL, NULL), 0);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM pg_class WHERE relname = 'slow'"),
	    0);

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* lock_retries 0: one attempt, then SK_ELOCK naming the blocker. A lock
 * timeout in a post-check is reported like one in the SQL, its holder
 * (by then a long transaction) waited for without queueing until the
 * retry budget is spent, and the step's SQL is rolled back with it. */
static void
test_lock_retries_zero_and_post_check_lock_timeout(void **state)
{
	static const step_spec steps[] = {
		{ "0001_tables", "CREATE TABLE a (n int); CREATE TABLE b (n int)",
		    NULL, false },
		{ "0002_alter", "ALTER TABLE a ADD COLUMN m int", NULL, false },
	};
	char name[64], ci[256], want[64];
	sk_plan *plan = plan_make("zero", "plan-zero", steps, 2);
	sk_db_config db;
	collector c;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	PGconn *holder;

	(void)state;
	collector_init(&c, NULL);
	db_create("zero", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	plan->nsteps = 1;
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("first run", err.msg);
	plan->nsteps = 2;
	collector_fini(&c);
	collector_init(&c, NULL);

	holder = pgfixture_connect(fixture_port, name, NULL);
	snprintf(want, sizeof(want), "blocked by pid %d", PQbackendPID(holder));

	/* The SQL waits: one attempt only. A lock_timeout the holder's
	 * transaction is surely younger than when the step looks, so that
	 * the step queues (and times out) rather than waits it out. */
	step_limits(&plan->steps[1], 1000, 0, 50);
	pgfixture_exec(holder, "BEGIN; LOCK TABLE a IN ACCESS SHARE MODE");
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_ELOCK);
	assert_contains(err.msg, "gave up after 1 lock timeout of 1000 ms");
	assert_contains(err.msg, want);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FAILED, name, "0002_alter", &r), 1);
	assert_int_equal(r.attempt, 1);
	assert_int_equal(r.lock_waits, 1);
	pgfixture_exec(holder, "ROLLBACK");

	/* The post-check waits: retried, then given up, naming the session
	 * that holds the lock (the check is watched like the SQL); the
	 * column the SQL added is rolled back with it. */
	collector_fini(&c);
	collector_init(&c, NULL);
	step_limits(&plan->steps[1], 200, 1, 50);
	check_add(&plan->steps[1].post, &plan->steps[1].npost, "b_empty",
	    "SELECT count(*) FROM b", SK_EXPECT_COMPARE, "=", "0", NULL);
	pgfixture_exec(holder, "BEGIN; LOCK TABLE b IN ACCESS EXCLUSIVE MODE");
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_ELOCK);
	assert_string_equal(err.sqlstate, "55P03");
	assert_contains(err.msg,
	    "without queueing for a long transaction to end (the step's retry "
	    "budget, 450ms: 2 attempts of 200 ms");
	assert_contains(err.msg, want);
	assert_null(strstr(err.msg, "was not seen"));
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FAILED, name, "0002_alter", &r), 1);
	assert_int_equal(r.attempt, 1);
	assert_int_equal(r.lock_waits, 1);
	assert_int_equal(r.error.code, SK_ELOCK);
	assert_true(r.nblockers >= 1);
	assert_int_equal(r.blockers[0].pid, PQbackendPID(holder));
	/* The watcher's reports name the holder: the first LOCK_WAIT (a
	 * sample taken before the lock timeout) carries it, and a sample's
	 * detail spells it out. */
	assert_true(find_report(&c, SK_EV_LOCK_WAIT, name, "0002_alter", &r) >= 2);
	assert_true(r.nblockers >= 1);
	assert_int_equal(r.blockers[0].pid, PQbackendPID(holder));
	assert_true(count_detail(&c, SK_EV_LOCK_WAIT, name, "0002_alter",
			want + strlen("blocked by ")) >= 1);
	assert_true(count_detail(&c, SK_EV_LOCK_WAIT, name, "0002_alter",
			"lock timeout after 200 ms (1 of 1 retries used); "
			"retrying when pid") == 1);
	assert_int_equal(find_report(&c, SK_EV_CHECK, name, "0002_alter", &r), 1);
	assert_string_equal(r.check.name, "b_empty");
	assert_false(r.check.passed);
	assert_contains(r.check.seen, "55P03");
	pgfixture_exec(holder, "ROLLBACK");
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM information_schema.columns "
			     "WHERE table_name = 'a' AND column_name = 'm'"),
	    0);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps "
			     "WHERE step_id = '0002_alter'"),
	    0);

	PQfinish(holder);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* A deadlock (40P01) in which PostgreSQL picks the step as the victim
 * rolled the step's transaction back: it is retried like a lock timeout
 * and succeeds once the other transaction is done. */
static void
test_deadlock_victim_step_is_retried(void **state)
{
	static const step_spec steps[] = {
		{ "0001_tables", "CREATE TABLE da (n int); CREATE TABLE db (n int)",
		    NULL, false },
		{ "0002_both",
		    "LOCK TABLE da IN ACCESS EXCLUSIVE MODE; "
		    "LOCK TABLE db IN ACCESS EXCLUSIVE MODE; "
		    "ALTER TABLE da ADD COLUMN m int",
		    NULL, false },
	};
	char name[64], ci[256];
	sk_plan *plan = plan_make("deadlock", "plan-dl", steps, 2);
	sk_db_config db;
	collector c;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	async_run a;
	PGconn *holder, *probe;
	PGresult *res;
	int64_t until;

	(void)state;
	collector_init(&c, NULL);
	db_create("deadlk", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	plan->nsteps = 1;
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("first run", err.msg);
	plan->nsteps = 2;
	collector_fini(&c);
	collector_init(&c, NULL);
	/* Long enough that the deadlock is found, not timed out. */
	step_limits(&plan->steps[1], 20000, 3, 50);

	holder = pgfixture_connect(fixture_port, name, NULL);
	probe = pgfixture_connect(fixture_port, name, NULL);
	/* The step's backend finds the deadlock first (deadlock_timeout 1s
	 * by default), so the step is the victim. */
	pgfixture_exec(holder,
	    "SET deadlock_timeout = '60s'; BEGIN; "
	    "LOCK TABLE db IN ACCESS EXCLUSIVE MODE");
	async_start(&a, plan, o);
	/* Wait until the step holds da and waits for db. */
	until = sk_mono_ms() + WAIT_MS;
	for (;;) {
		char buf[16];

		pgfixture_scalar(probe,
		    "SELECT count(*) FROM pg_locks WHERE NOT granted AND "
		    "relation = 'db'::regclass",
		    buf, sizeof(buf));
		if (strcmp(buf, "1") == 0)
			break;
		assert_true(sk_mono_ms() < until);
		sk_sleep_ms(20);
	}
	/* Close the cycle: the holder now wants da. */
	assert_int_equal(
	    PQsendQuery(holder, "LOCK TABLE da IN ACCESS EXCLUSIVE MODE"), 1);
	while ((res = PQgetResult(holder)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			report_fail("holder", PQresultErrorMessage(res));
		PQclear(res);
	}
	pgfixture_exec(holder, "ROLLBACK");
	if (async_join(&a) != SK_OK)
		report_fail("run", a.err.msg);

	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FINISHED, name, "0002_both", &r), 1);
	assert_int_equal(r.attempt, 2);
	assert_int_equal(r.lock_waits, 1);
	assert_true(find_report(&c, SK_EV_LOCK_WAIT, name, "0002_both", &r) >= 1);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM information_schema.columns "
			     "WHERE table_name = 'da' AND column_name = 'm'"),
	    1);

	PQfinish(holder);
	PQfinish(probe);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* skein's advisory lock is per database (pg_locks.database): held in one
 * database of a cluster, it holds up only that one; the agent's other
 * database on the same cluster applies meanwhile. */
static void
test_ledger_lock_is_per_database_on_one_cluster(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE per_db (x int)", NULL, false },
	};
	char na[64], nb[64], cia[256], cib[256], sql[128], buf[64];
	sk_plan *plan = plan_make("perdb", "plan-pd", steps, 1);
	sk_db_config dbs[2];
	collector c;
	async_run a;
	sk_report r;
	PGconn *holder;

	(void)state;
	collector_init(&c, NULL);
	db_create("pda", na, sizeof(na), cia, sizeof(cia));
	db_create("pdb", nb, sizeof(nb), cib, sizeof(cib));
	holder = pgfixture_connect(fixture_port, na, NULL);
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%" PRId64 ")",
	    AGENT_LEDGER_LOCK_KEY);
	pgfixture_exec(holder, sql);
	dbs[0] = db_config(na, cia);
	dbs[1] = db_config(nb, cib);
	async_start(&a, plan, opts_for(dbs, 2, &c, NULL));
	assert_true(wait_report(&c, SK_EV_DB_FINISHED, nb, NULL, &r));
	assert_true(wait_report(&c, SK_EV_DB_WAITING, na, NULL, &r));
	assert_false(atomic_load(&a.done));
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, na,
		"SELECT to_regclass('public.per_db')", buf, sizeof(buf)),
	    "");
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, nb,
		"SELECT to_regclass('public.per_db')", buf, sizeof(buf)),
	    "per_db");
	PQfinish(holder);
	if (async_join(&a) != SK_OK)
		report_fail("run", a.err.msg);
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, na,
		"SELECT to_regclass('public.per_db')", buf, sizeof(buf)),
	    "per_db");

	pgfixture_drop_db(fixture_port, na);
	pgfixture_drop_db(fixture_port, nb);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* A step may SET LOCAL search_path (even to a schema with tables named
 * like the ledger's); the ledger row and check results written after its
 * SQL still land in skein.*, and the session's search_path is untouched
 * afterwards. */
static void
test_set_local_search_path_in_a_step_keeps_the_ledger_right(void **state)
{
	static const step_spec steps[] = {
		{ "0001_app",
		    "CREATE SCHEMA app; SET LOCAL search_path = app; "
		    "CREATE TABLE steps (x int); CREATE TABLE checks (x int); "
		    "CREATE TABLE events (x int)",
		    NULL, false },
		{ "0002_plain", "CREATE TABLE plain (x int)", NULL, false },
	};
	char name[64], ci[256], buf[128];
	sk_plan *plan = plan_make("paths", "plan-sp", steps, 2);
	sk_db_config db;
	collector c;
	agent_exec_opts o;
	sk_err err;

	(void)state;
	check_add(&plan->steps[0].post, &plan->steps[0].npost, "app_steps_empty",
	    "SELECT count(*) FROM steps", SK_EXPECT_COMPARE, "=", "0", NULL);
	collector_init(&c, NULL);
	db_create("spath", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT string_agg(step_id, ',' ORDER BY step_id) "
				"FROM skein.steps",
				buf, sizeof(buf)),
	    "0001_app,0002_plain");
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.checks "
			     "WHERE name = 'app_steps_empty' AND passed"),
	    1);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT (SELECT count(*) FROM app.steps) + "
			     "(SELECT count(*) FROM app.checks)"),
	    0);
	/* The next step ran with the session's own search_path. */
	assert_string_equal(
	    pgfixture_scalar_db(fixture_port, name,
		"SELECT to_regclass('public.plain')", buf, sizeof(buf)),
	    "plain");

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* Two CREATE INDEX CONCURRENTLY without IF NOT EXISTS, on a
 * schema-qualified table, one index name quoted: an interrupted run built
 * the first (valid) and left the second INVALID. The rerun keeps the
 * first (running it again would fail with 42P07), rebuilds the second. */
static void
test_two_cic_first_valid_second_invalid_completes(void **state)
{
	static const step_spec steps[] = {
		{ "0001_indexes",
		    "CREATE INDEX CONCURRENTLY \"Items V\" ON app.items (v);\n"
		    "CREATE INDEX CONCURRENTLY items_id_idx ON app.items (id)",
		    NULL, true },
	};
	char name[64], ci[256];
	sk_plan *plan = plan_make("cic3", "plan-cic3", steps, 1);
	sk_sql_script *script = NULL;
	sk_db_config db;
	collector c;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	PGconn *setup;

	(void)state;
	assert_int_equal(
	    sk_sql_parse(plan->steps[0].sql, "x.sql", &script, &err), SK_OK);
	assert_int_equal(sk_sql_concurrent_indexes(script, &plan->steps[0].concurrent_indexes,
			     &plan->steps[0].nconcurrent_indexes, &err),
	    SK_OK);
	sk_sql_script_destroy(script);
	assert_int_equal(plan->steps[0].nconcurrent_indexes, 2);
	assert_string_equal(plan->steps[0].concurrent_indexes[0], "app.\"Items V\"");
	collector_init(&c, NULL);
	db_create("cic2x", name, sizeof(name), ci, sizeof(ci));
	setup = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(setup,
	    "CREATE SCHEMA app; CREATE TABLE app.items (id int, v text);"
	    "INSERT INTO app.items VALUES (1, 'a');"
	    "CREATE INDEX \"Items V\" ON app.items (v);"
	    "CREATE INDEX items_id_idx ON app.items (id);"
	    "UPDATE pg_index SET indisvalid = false "
	    "WHERE indexrelid = 'app.items_id_idx'::regclass");
	PQfinish(setup);
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM pg_index i JOIN pg_class c "
			     "ON c.oid = i.indexrelid WHERE i.indisvalid AND "
			     "c.relname IN ('Items V', 'items_id_idx')"),
	    2);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM pg_index WHERE NOT indisvalid"),
	    0);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FINISHED, name, "0001_indexes", &r), 1);
	assert_contains(r.detail, "dropped INVALID index app.items_id_idx");
	assert_contains(
	    r.detail, "index already valid, not built again: app.\"Items V\"");
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    1);

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* Phase checks in an apply are watched and retried like a step's, under
 * the limits of the first (pre) or last (post) step. A post-check waiting
 * for a lock that frees after its first lock timeout is retried, and the
 * database succeeds. */
static void
test_phase_post_check_lock_timeout_is_retried_until_the_lock_frees(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE phase_made (x int)", NULL, false },
	};
	char name[64], ci[256], buf[256], pid[32];
	sk_plan *plan = plan_make("phretry", "plan-phr", steps, 1);
	sk_phase *ph = phase_add(plan);
	sk_db_config db;
	collector c;
	agent_exec_opts o;
	async_run a;
	sk_report r;
	PGconn *holder;
	int64_t until;

	(void)state;
	step_limits(&plan->steps[0], 200, 20, 50);
	check_add(&ph->post, &ph->npost, "audit_empty",
	    "SELECT count(*) FROM audit_log", SK_EXPECT_COMPARE, "=", "0", NULL);
	collector_init(&c, NULL);
	db_create("phretry", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	holder = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(holder, "CREATE TABLE audit_log (n int)");
	pgfixture_exec(holder, "BEGIN; LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE");
	snprintf(pid, sizeof(pid), "pid %d", PQbackendPID(holder));

	async_start(&a, plan, o);
	/* Let go only once the post-check has timed out at least once. */
	until = sk_mono_ms() + WAIT_MS;
	while (count_detail(&c, SK_EV_LOCK_WAIT, name, "",
		   "lock timeout after 200 ms") == 0 &&
	    !atomic_load(&a.done) && sk_mono_ms() < until)
		sk_sleep_ms(10);
	pgfixture_exec(holder, "ROLLBACK");
	if (async_join(&a) != SK_OK)
		report_fail("run", a.err.msg);

	/* The step committed before the post-check ran. */
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FINISHED, name, "0001_table", &r), 1);
	assert_int_equal(r.lock_waits, 0);
	assert_int_equal(find_report(&c, SK_EV_DB_FINISHED, name, NULL, NULL), 1);
	/* The waits were the phase check's: reported without a step, the
	 * sampled ones naming the holder, one per lock timeout saying so. */
	assert_true(count_detail(&c, SK_EV_LOCK_WAIT, name, "",
			"lock timeout after 200 ms") >= 1);
	assert_true(count_detail(&c, SK_EV_LOCK_WAIT, name, "", pid) >= 1);
	assert_int_equal(count_detail(&c, SK_EV_LOCK_WAIT, name, "0001_table", ""), 0);
	assert_true(find_report(&c, SK_EV_LOCK_WAIT, name, "", &r) >= 1);
	assert_true(r.nblockers >= 1);
	assert_int_equal(r.blockers[0].pid, PQbackendPID(holder));
	/* The timed-out attempt's result was reported, then the passing one;
	 * only the last attempt's is on record. */
	assert_true(count_checks(&c, name, "audit_empty", false, &r) >= 1);
	assert_contains(r.check.seen, "55P03");
	assert_string_equal(r.step_id, "");
	assert_int_equal(count_checks(&c, name, "audit_empty", true, &r), 1);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT string_agg(name || ':' || passed, ',') "
				"FROM skein.checks WHERE phase = 'main'",
				buf, sizeof(buf)),
	    "audit_empty:true");
	assert_int_equal(
	    pgfixture_long_db(fixture_port, name,
		"SELECT count(*) FROM skein.steps WHERE step_id = '0001_table'"),
	    1);

	PQfinish(holder);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* A lock that never frees: the phase check times out once, waits for the
 * holder (a long transaction by then) without queueing, and once the
 * retry budget of the step whose limits apply is spent fails the
 * database with SK_ELOCK naming the holder. A pre-check blocked so leaves
 * nothing applied; a post-check runs after the steps committed, so they
 * stay, and the next run completes once the lock is gone. */
static void
test_phase_check_lock_held_forever_gives_up_naming_the_holder(void **state)
{
	static const step_spec steps[] = {
		{ "0001_table", "CREATE TABLE phase_kept (x int)", NULL, false },
		{ "0002_index", "CREATE INDEX phase_kept_x ON phase_kept (x)",
		    NULL, false },
	};
	char name[64], ci[256], buf[256], want[64];
	sk_plan *plan = plan_make("phheld", "plan-phh", steps, 2);
	sk_phase *ph = phase_add(plan);
	sk_db_config db;
	collector c;
	agent_exec_opts o;
	sk_report r;
	sk_err err;
	PGconn *holder;
	int64_t t0, took;

	(void)state;
	/* The pre-checks run under the first step's limits, the post-checks
	 * under the last's. */
	step_limits(&plan->steps[0], 150, 1, 50);
	step_limits(&plan->steps[1], 200, 2, 50);
	check_add(&ph->pre, &ph->npre, "gate_open", "SELECT count(*) FROM gate",
	    SK_EXPECT_COMPARE, "=", "0", NULL);
	check_add(&ph->post, &ph->npost, "audit_empty",
	    "SELECT count(*) FROM audit_log", SK_EXPECT_COMPARE, "=", "0", NULL);
	collector_init(&c, NULL);
	db_create("phheld", name, sizeof(name), ci, sizeof(ci));
	db = db_config(name, ci);
	o = opts_for(&db, 1, &c, NULL);
	holder = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(holder,
	    "CREATE TABLE gate (n int); CREATE TABLE audit_log (n int)");
	snprintf(want, sizeof(want), "blocked by pid %d", PQbackendPID(holder));

	/* Pre-check blocked: one attempt of 150 ms, then the wait up to the
	 * budget (2 x 150 + 50 ms); nothing applied. */
	pgfixture_exec(holder, "BEGIN; LOCK TABLE gate IN ACCESS EXCLUSIVE MODE");
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_ELOCK);
	assert_contains(err.msg, "phase main pre-check");
	assert_contains(err.msg,
	    "without queueing for a long transaction to end (the step's retry "
	    "budget, 350ms: 2 attempts of 150 ms");
	assert_contains(err.msg, want);
	assert_string_equal(err.sqlstate, "55P03");
	assert_contains(err.hint, "of step 0001_table");
	assert_int_equal(find_report(&c, SK_EV_STEP_STARTED, name, NULL, NULL), 0);
	assert_true(count_detail(&c, SK_EV_LOCK_WAIT, name, "",
			want + strlen("blocked by ")) >= 1);
	assert_int_equal(count_checks(&c, name, "gate_open", false, NULL), 1);
	assert_int_equal(
	    pgfixture_long_db(fixture_port, name,
		"SELECT count(*) FROM pg_class WHERE relname = 'phase_kept'"),
	    0);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    0);
	pgfixture_exec(holder, "ROLLBACK");

	/* Post-check blocked: one attempt of 200 ms (the last step's
	 * limits), then the wait up to their budget (3 x 200 + 50 + 100). */
	collector_fini(&c);
	collector_init(&c, NULL);
	pgfixture_exec(holder, "BEGIN; LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE");
	t0 = sk_mono_ms();
	assert_int_equal(agent_exec_run(plan, &o, &err), SK_ELOCK);
	took = sk_mono_ms() - t0;
	assert_contains(err.msg, "apply plan phheld in r1/");
	assert_contains(err.msg, "phase main post-check: gave up after waiting");
	assert_contains(err.msg,
	    "without queueing for a long transaction to end (the step's retry "
	    "budget, 750ms: 3 attempts of 200 ms");
	assert_contains(err.msg, want);
	assert_contains(err.msg, "idle in transaction");
	assert_string_equal(err.sqlstate, "55P03");
	assert_contains(err.detail, "1 lock timeout,");
	assert_contains(err.hint, "of step 0002_index");
	assert_true(took >= 750);
	assert_true(took < 10000);
	assert_int_equal(find_report(&c, SK_EV_DB_FAILED, name, NULL, &r), 1);
	assert_int_equal(r.error.code, SK_ELOCK);
	assert_contains(r.error.msg, want);
	assert_true(find_report(&c, SK_EV_LOCK_WAIT, name, "", &r) >= 3);
	assert_true(r.nblockers >= 1);
	assert_int_equal(r.blockers[0].pid, PQbackendPID(holder));
	assert_string_equal(r.blockers[0].state, "idle in transaction");
	assert_int_equal(
	    count_detail(&c, SK_EV_LOCK_WAIT, name, "", "lock timeout after 200 ms"), 1);
	assert_true(count_detail(&c, SK_EV_LOCK_WAIT, name, "",
			want + strlen("blocked by ")) >= 1);
	assert_true(count_detail(&c, SK_EV_LOCK_WAIT, name, "",
			"transaction to end without queueing") >= 1);
	assert_int_equal(count_checks(&c, name, "audit_empty", false, &r), 1);
	assert_contains(r.check.seen, "55P03");
	/* The steps committed and stay; the last attempt's result is on
	 * record. */
	assert_int_equal(find_report(&c, SK_EV_STEP_FINISHED, name, NULL, NULL), 2);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    2);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM pg_class WHERE relname IN "
			     "('phase_kept', 'phase_kept_x')"),
	    2);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT string_agg(passed::text || ':' || left(seen, 5), ',') "
				"FROM skein.checks WHERE name = 'audit_empty'",
				buf, sizeof(buf)),
	    "false:error");
	pgfixture_exec(holder, "ROLLBACK");

	/* Once the lock is gone the post-checks hold and nothing runs twice. */
	collector_fini(&c);
	collector_init(&c, NULL);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run after the lock freed", err.msg);
	assert_int_equal(find_report(&c, SK_EV_STEP_SKIPPED, name, NULL, NULL), 2);
	assert_int_equal(find_report(&c, SK_EV_STEP_STARTED, name, NULL, NULL), 0);
	assert_int_equal(count_checks(&c, name, "audit_empty", true, NULL), 1);
	assert_int_equal(find_report(&c, SK_EV_LOCK_WAIT, name, NULL, NULL), 0);

	PQfinish(holder);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static int
setup_fixture(void **state)
{
	const char *dir = getenv("SKEIN_PGFIXTURE");

	(void)state;
	if (pgfixture_port(fixture_port, sizeof(fixture_port)) != 0)
		return -1;
	snprintf(scratch_parent, sizeof(scratch_parent), "%s", dir);
	if (strrchr(scratch_parent, '/') != NULL)
		*strrchr(scratch_parent, '/') = '\0';
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps_applied_once_and_recorded),
		cmocka_unit_test(test_rerun_skips_every_step_and_sql_runs_once),
		cmocka_unit_test(test_failing_step_rolls_back_and_reports_sqlstate),
		cmocka_unit_test(
		    test_drift_is_refused_with_both_checksums_and_nothing_applied),
		cmocka_unit_test(test_verify_returning_false_fails_step_and_rolls_back),
		cmocka_unit_test(test_non_transactional_step_runs_outside_a_transaction),
		cmocka_unit_test_teardown(
		    test_down_database_waits_while_the_other_succeeds_then_applies,
		    teardown_scratch),
		cmocka_unit_test(test_stop_abandons_a_down_database_without_failing_it),
		cmocka_unit_test(test_held_ledger_lock_waits_then_proceeds_when_released),
		cmocka_unit_test(test_connection_lost_mid_step_resumes_from_the_ledger),
		cmocka_unit_test(test_many_databases_apply_in_parallel),
		cmocka_unit_test(
		    test_passing_checks_are_reported_and_recorded_with_the_step),
		cmocka_unit_test(test_failing_pre_check_blocks_the_step_and_applies_nothing),
		cmocka_unit_test(test_failing_post_check_rolls_the_step_back),
		cmocka_unit_test(
		    test_constraint_test_that_succeeds_fails_the_step_and_leaves_no_row),
		cmocka_unit_test(test_phase_checks_guard_the_database),
		cmocka_unit_test(test_long_lock_holder_waited_out_then_gives_up_naming_it),
		cmocka_unit_test(test_lock_timeout_retry_succeeds_once_the_lock_frees),
		cmocka_unit_test(test_invalid_index_left_by_an_interrupted_build_is_rebuilt),
		cmocka_unit_test(test_invalid_index_marked_by_hand_is_detected_and_rebuilt),
		cmocka_unit_test(
		    test_built_index_without_ledger_row_is_recorded_not_rebuilt),
		cmocka_unit_test(test_concurrent_index_lock_timeout_is_retried_and_rebuilt),
		cmocka_unit_test(
		    test_preflight_failure_blocks_the_database_and_names_the_check),
		cmocka_unit_test_teardown(
		    test_backup_is_taken_verified_and_recorded_before_the_first_change,
		    teardown_backups),
		cmocka_unit_test_teardown(test_failing_backup_stops_the_database_before_any_step,
		    teardown_backups),
		cmocka_unit_test(test_pooled_database_takes_the_lock_per_transaction),
		cmocka_unit_test(test_rows_count_every_statement_and_no_selects),
		cmocka_unit_test(test_statement_timeout_fails_at_once_without_retry),
		cmocka_unit_test(test_lock_retries_zero_and_post_check_lock_timeout),
		cmocka_unit_test(test_deadlock_victim_step_is_retried),
		cmocka_unit_test(test_ledger_lock_is_per_database_on_one_cluster),
		cmocka_unit_test(
		    test_set_local_search_path_in_a_step_keeps_the_ledger_right),
		cmocka_unit_test(test_two_cic_first_valid_second_invalid_completes),
		cmocka_unit_test(
		    test_phase_post_check_lock_timeout_is_retried_until_the_lock_frees),
		cmocka_unit_test(
		    test_phase_check_lock_held_forever_gives_up_naming_the_holder),
	};

	return cmocka_run_group_tests(tests, setup_fixture, NULL);
}

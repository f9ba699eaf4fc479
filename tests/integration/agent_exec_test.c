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
#include "sk_util.h"

#define REGION "r1"
#define WAIT_MS 30000

static char fixture_port[16];
static int db_counter;

/* ---- helpers: the fixture cluster -------------------------------------- */

static void
report_fail(const char *what, const char *text)
{
	print_error("%s: %s\n", what, text != NULL ? text : "(null)");
	fail();
}

#define assert_contains(hay, needle)                                \
do {                                                                \
const char *h_ = (hay), *n_ = (needle);                             \
if (h_ == NULL || strstr(h_, n_) == NULL) {                         \
print_error("expected \"%s\" in \"%s\"\n", n_, h_ ? h_ : "(null)"); \
fail();                                                             \
}                                                                   \
} while (0)

static PGconn *
connect_port(const char *port, const char *db)
{
	char ci[256];
	PGconn *c;

	snprintf(ci, sizeof(ci),
	    "host=127.0.0.1 port=%s user=postgres dbname=%s", port, db);
	c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK)
		report_fail("connect", PQerrorMessage(c));
	return c;
}

static void
exec_on(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK) {
		print_error("sql: %s\n", sql);
		report_fail("exec", PQresultErrorMessage(r));
	}
	PQclear(r);
}

/* First column of the first row as text ("" for NULL, "<none>" for no
 * row), into buf. */
static const char *
sql_text_port(const char *port, const char *db, const char *sql, char *buf, size_t len)
{
	PGconn *c = connect_port(port, db);
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		print_error("sql: %s\n", sql);
		report_fail("query", PQresultErrorMessage(r));
	}
	snprintf(buf, len, "%s", PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "<none>");
	PQclear(r);
	PQfinish(c);
	return buf;
}

static const char *
sql_text(const char *db, const char *sql, char *buf, size_t len)
{
	return sql_text_port(fixture_port, db, sql, buf, len);
}

static long
sql_long(const char *db, const char *sql)
{
	char buf[64];

	return strtol(sql_text(db, sql, buf, sizeof(buf)), NULL, 10);
}

/* A fresh database with a unique name; its conninfo goes to conninfo. */
static void
db_create(const char *tag, char *name, size_t nlen, char *conninfo, size_t clen)
{
	PGconn *c = connect_port(fixture_port, "postgres");
	char sql[256];

	snprintf(name, nlen, "it_%s_%ld_%d", tag, (long)getpid(), ++db_counter);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", name);
	exec_on(c, sql);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	exec_on(c, sql);
	PQfinish(c);
	snprintf(conninfo, clen,
	    "host=127.0.0.1 port=%s user=postgres dbname=%s", fixture_port, name);
}

static void
db_drop(const char *name)
{
	PGconn *c = connect_port(fixture_port, "postgres");
	char sql[512];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
	exec_on(c, sql);
	PQfinish(c);
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
		sk_step_text_checksum(s, s->checksum);
	}
	return p;
}

/* ---- helpers: reports -------------------------------------------------- */

typedef struct collector {
	pthread_mutex_t mu;
	sk_report *r;
	size_t n, cap;
} collector;

static void
collect(void *arg, const sk_report *rep)
{
	collector *c = arg;

	pthread_mutex_lock(&c->mu);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		sk_report *nr = realloc(c->r, cap * sizeof(*nr));

		if (nr == NULL) {
			pthread_mutex_unlock(&c->mu);
			return;
		}
		c->r = nr;
		c->cap = cap;
	}
	c->r[c->n++] = *rep;
	pthread_mutex_unlock(&c->mu);
}

static void
collector_init(collector *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
}

static void
collector_fini(collector *c)
{
	free(c->r);
	pthread_mutex_destroy(&c->mu);
}

/* The first report matching event, db and (if not NULL) step, copied to
 * out (may be NULL). Returns how many match. */
static size_t
find_report(collector *c, int event, const char *db, const char *step, sk_report *out)
{
	size_t hits = 0;

	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->n; i++) {
		const sk_report *r = &c->r[i];

		if (r->event != event || strcmp(r->database, db) != 0 ||
		    (step != NULL && strcmp(r->step_id, step) != 0))
			continue;
		if (hits++ == 0 && out != NULL)
			*out = *r;
	}
	pthread_mutex_unlock(&c->mu);
	return hits;
}

static bool
wait_report(collector *c, int event, const char *db, const char *step, sk_report *out)
{
	int64_t until = sk_mono_ms() + WAIT_MS;

	while (sk_mono_ms() < until) {
		if (find_report(c, event, db, step, out) > 0)
			return true;
		sk_sleep_ms(20);
	}
	return false;
}

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
	collector_init(&c);
	db_create("once", name, sizeof(name), ci, sizeof(ci));
	db.name = name;
	db.conninfo = ci;
	o = opts_for(&db, 1, &c, NULL);
	sk_err_clear(&err);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);

	assert_int_equal(sql_long(name, "SELECT count(*) FROM items"), 1);
	assert_int_equal(sql_long(name, "SELECT count(*) FROM skein.steps"), 2);
	assert_string_equal(
	    sql_text(name, "SELECT value FROM skein.meta WHERE key = 'schema_version'",
		buf, sizeof(buf)),
	    "1");
	hex_of(&plan->steps[1], hex);
	snprintf(want, sizeof(want), "%s,true,1,plan-1,ro-test,r1", hex);
	assert_string_equal(
	    sql_text(name,
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
	assert_int_equal(sql_long(name,
			     "SELECT count(*) FROM pg_locks "
			     "WHERE locktype = 'advisory' AND database = "
			     "(SELECT oid FROM pg_database "
			     "WHERE datname = current_database())"),
	    0);

	db_drop(name);
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
	collector_init(&c1);
	collector_init(&c2);
	db_create("rerun", name, sizeof(name), ci, sizeof(ci));
	db.name = name;
	db.conninfo = ci;
	o = opts_for(&db, 1, &c1, NULL);
	if (agent_exec_run(plan1, &o, &err) != SK_OK)
		report_fail("first run", err.msg);
	o = opts_for(&db, 1, &c2, NULL);
	if (agent_exec_run(plan2, &o, &err) != SK_OK)
		report_fail("second run", err.msg);

	assert_int_equal(sql_long(name, "SELECT count(*) FROM hits"), 1);
	assert_int_equal(find_report(&c2, SK_EV_STEP_SKIPPED, name, NULL, NULL), 2);
	assert_int_equal(find_report(&c2, SK_EV_STEP_STARTED, name, NULL, NULL), 0);
	assert_int_equal(find_report(&c2, SK_EV_DB_FINISHED, name, NULL, NULL), 1);
	/* The ledger still names the plan id that actually ran the steps. */
	assert_int_equal(sql_long(name,
			     "SELECT count(*) FROM skein.steps "
			     "WHERE plan_id = 'plan-a'"),
	    2);

	db_drop(name);
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
	collector_init(&c);
	db_create("fail", name, sizeof(name), ci, sizeof(ci));
	db.name = name;
	db.conninfo = ci;
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
	    sql_text(name, "SELECT to_regclass('public.partial')", buf, sizeof(buf)), "");
	assert_string_equal(
	    sql_text(name, "SELECT to_regclass('public.later')", buf, sizeof(buf)), "");
	assert_string_equal(sql_text(name, "SELECT to_regclass('public.first_ok')",
				buf, sizeof(buf)),
	    "first_ok");
	assert_string_equal(sql_text(name,
				"SELECT string_agg(step_id, ',') "
				"FROM skein.steps",
				buf, sizeof(buf)),
	    "0001_ok");
	/* The failure outlived its rolled-back transaction. */
	assert_string_equal(sql_text(name,
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

	db_drop(name);
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
	collector_init(&c);
	db_create("drift", name, sizeof(name), ci, sizeof(ci));
	db.name = name;
	db.conninfo = ci;
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
	assert_string_equal(
	    sql_text(name, "SELECT to_regclass('public.more')", buf, sizeof(buf)), "");
	assert_int_equal(sql_long(name,
			     "SELECT count(*) FROM information_schema.columns "
			     "WHERE table_name = 'drifty'"),
	    1);
	assert_string_equal(
	    sql_text(name, "SELECT checksum FROM skein.steps", buf, sizeof(buf)),
	    old_hex);
	assert_int_equal(find_report(&c, SK_EV_DB_FAILED, name, NULL, &r), 1);
	assert_int_equal(r.error.code, SK_EDRIFT);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_STARTED, name, "0002_more", NULL), 0);

	db_drop(name);
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
	collector_init(&c);
	db_create("verify", name, sizeof(name), ci, sizeof(ci));
	db.name = name;
	db.conninfo = ci;
	o = opts_for(&db, 1, &c, NULL);
	assert_int_not_equal(agent_exec_run(plan, &o, &err), SK_OK);
	assert_contains(err.msg, "apply step 0001_fill in r1/");
	assert_contains(err.msg, "verify verify/check.sql");
	assert_contains(err.msg, "row 1");
	assert_contains(err.msg, "two_rows");
	assert_string_equal(
	    sql_text(name, "SELECT to_regclass('public.checked')", buf, sizeof(buf)), "");
	assert_int_equal(sql_long(name, "SELECT count(*) FROM skein.steps"), 0);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FAILED, name, "0001_fill", NULL), 1);

	db_drop(name);
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
	collector_init(&c);
	db_create("notx", name, sizeof(name), ci, sizeof(ci));
	db.name = name;
	db.conninfo = ci;
	o = opts_for(&db, 1, &c, NULL);
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);
	assert_string_equal(sql_text(name,
				"SELECT indexname FROM pg_indexes "
				"WHERE tablename = 'big'",
				buf, sizeof(buf)),
	    "big_v_idx");
	assert_string_equal(sql_text(name,
				"SELECT transactional FROM skein.steps "
				"WHERE step_id = '0002_index'",
				buf, sizeof(buf)),
	    "f");
	assert_string_equal(sql_text(name,
				"SELECT transactional FROM skein.steps "
				"WHERE step_id = '0001_table'",
				buf, sizeof(buf)),
	    "t");

	db_drop(name);
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
	collector_init(&c);
	db_create("up", name, sizeof(name), ci, sizeof(ci));
	snprintf(port, sizeof(port), "%d", pgfixture_free_port());
	snprintf(down_ci, sizeof(down_ci),
	    "host=127.0.0.1 port=%s user=postgres dbname=postgres", port);
	dbs[0].name = "down";
	dbs[0].conninfo = down_ci;
	dbs[1].name = name;
	dbs[1].conninfo = ci;
	async_start(&a, plan, opts_for(dbs, 2, &c, NULL));

	assert_true(wait_report(&c, SK_EV_DB_FINISHED, name, NULL, NULL));
	assert_true(wait_report(&c, SK_EV_DB_WAITING, "down", NULL, &r));
	assert_int_equal(r.error.code, SK_ECONN);
	assert_contains(r.error.msg, "apply plan late in r1/down");
	assert_false(atomic_load(&a.done));
	assert_int_equal(sql_long(name, "SELECT count(*) FROM landed"), 0);

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
	    sql_text_port(port, "postgres",
		"SELECT to_regclass('public.landed')", buf, sizeof(buf)),
	    "landed");

	db_drop(name);
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
	collector_init(&c);
	atomic_init(&stop, 0);
	snprintf(down_ci, sizeof(down_ci),
	    "host=127.0.0.1 port=%d user=postgres dbname=postgres",
	    pgfixture_free_port());
	db.name = "down";
	db.conninfo = down_ci;
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
	collector_init(&c);
	db_create("lock", name, sizeof(name), ci, sizeof(ci));
	holder = connect_port(fixture_port, name);
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%" PRId64 ")",
	    AGENT_LEDGER_LOCK_KEY);
	exec_on(holder, sql);

	db.name = name;
	db.conninfo = ci;
	async_start(&a, plan, opts_for(&db, 1, &c, NULL));
	assert_true(wait_report(&c, SK_EV_DB_WAITING, name, NULL, &r));
	snprintf(want, sizeof(want), "ledger lock held by pid %d",
	    PQbackendPID(holder));
	assert_string_equal(r.detail, want);
	sk_sleep_ms(300);
	assert_false(atomic_load(&a.done));
	assert_string_equal(sql_text(name, "SELECT to_regclass('public.locked_out')",
				buf, sizeof(buf)),
	    "");

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%" PRId64 ")",
	    AGENT_LEDGER_LOCK_KEY);
	exec_on(holder, sql);
	if (async_join(&a) != SK_OK)
		report_fail("run", a.err.msg);
	assert_string_equal(sql_text(name, "SELECT to_regclass('public.locked_out')",
				buf, sizeof(buf)),
	    "locked_out");
	assert_int_equal(find_report(&c, SK_EV_DB_FINISHED, name, NULL, NULL), 1);

	PQfinish(holder);
	db_drop(name);
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

	(void)state;
	collector_init(&c);
	db_create("resume", name, sizeof(name), ci, sizeof(ci));
	db.name = name;
	db.conninfo = ci;
	async_start(&a, plan, opts_for(&db, 1, &c, NULL));
	assert_true(wait_report(&c, SK_EV_STEP_STARTED, name, "0002_slow", NULL));
	sk_sleep_ms(400);
	snprintf(sql, sizeof(sql),
	    "SELECT count(pg_terminate_backend(pid)) "
	    "FROM pg_stat_activity WHERE datname = '%s' AND application_name = "
	    "'skein-agent/r1'",
	    name);
	assert_string_equal(sql_text(name, sql, buf, sizeof(buf)), "1");

	if (async_join(&a) != SK_OK)
		report_fail("run", a.err.msg);
	assert_int_equal(sql_long(name, "SELECT count(*) FROM resumed"), 1);
	assert_int_equal(sql_long(name, "SELECT count(*) FROM skein.steps"), 2);
	/* libpq may report the termination (57P01) or just the closed
	 * socket (no SQLSTATE); either way the attempt is on record. */
	assert_string_equal(sql_text(name,
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

	db_drop(name);
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
	collector_init(&c);
	for (int i = 0; i < NDB; i++) {
		db_create("fan", names[i], sizeof(names[i]), cis[i], sizeof(cis[i]));
		dbs[i].name = names[i];
		dbs[i].conninfo = cis[i];
	}
	o = opts_for(dbs, NDB, &c, NULL);
	o.parallel = 3;
	if (agent_exec_run(plan, &o, &err) != SK_OK)
		report_fail("run", err.msg);
	for (int i = 0; i < NDB; i++) {
		assert_int_equal(sql_long(names[i], "SELECT count(*) FROM fan"), 10);
		assert_int_equal(
		    find_report(&c, SK_EV_STEP_FINISHED, names[i], "0002_row", &r), 1);
		assert_int_equal(r.rows, 10);
		db_drop(names[i]);
	}
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
	};

	return cmocka_run_group_tests(tests, setup_fixture, NULL);
}

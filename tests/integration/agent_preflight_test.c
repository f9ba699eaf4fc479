/* agent_preflight against real PostgreSQL: each preflight check passing
 * and failing (server version, roles, extensions, a long transaction from
 * a second connection, connection share, ledger prerequisites), the error
 * naming every failing check, and preflight creating nothing. Uses the
 * shared `pg` fixture cluster (SKEIN_PGFIXTURE). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgfixture.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "agent_ledger.h"
#include "agent_preflight.h"
#include "sk_pg.h"

static char fixture_port[16];
static char db_name[64];
static PGconn *conn;

static PGconn *
connect_to(const char *db)
{
	return pgfixture_connect(fixture_port, db, "preflight-test");
}

static int
setup_db(void **state)
{
	(void)state;
	pgfixture_create_db(fixture_port, "preflight", db_name, sizeof(db_name));
	conn = connect_to(db_name);
	return 0;
}

static int
teardown_db(void **state)
{
	(void)state;
	PQfinish(conn);
	conn = NULL;
	pgfixture_drop_db(fixture_port, db_name);
	return 0;
}

/* What the callback saw. */
typedef struct seen {
	sk_check_result r[16];
	size_t n;
} seen;

static void
collect(void *arg, const sk_check_result *res)
{
	seen *s = arg;

	assert_true(s->n < 16);
	s->r[s->n++] = *res;
}

static const sk_check_result *
find(const seen *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->r[i].name, name) == 0)
			return &s->r[i];
	print_error("no result named %s\n", name);
	fail();
	return NULL;
}

static void
test_all_checks_pass(void **state)
{
	char *roles[] = { "postgres" };
	char *exts[] = { "plpgsql" };
	sk_preflight pf;
	seen s;
	sk_err err;

	(void)state;
	memset(&pf, 0, sizeof(pf));
	memset(&s, 0, sizeof(s));
	pf.min_server_version = 90600;
	pf.roles = roles;
	pf.nroles = 1;
	pf.extensions = exts;
	pf.nextensions = 1;
	pf.max_transaction_age_ms = 3600 * 1000;
	pf.max_connections_share = 0.9;
	assert_int_equal(agent_preflight_run(conn, &pf, collect, &s, &err), SK_OK);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.r[0].name, "server_version");
	assert_string_equal(s.r[1].name, "role:postgres");
	assert_string_equal(s.r[2].name, "extension:plpgsql");
	assert_string_equal(s.r[3].name, "transaction_age");
	assert_string_equal(s.r[4].name, "connections");
	for (size_t i = 0; i < s.n; i++) {
		assert_true(s.r[i].passed);
		assert_string_equal(s.r[i].when, "preflight");
	}
	assert_contains(s.r[0].seen, "(150");
	assert_string_equal(s.r[0].expected, ">= 9.6.0 (90600)");
	assert_contains(s.r[2].seen, "installed (");
	assert_contains(s.r[4].seen, "/200 (");
	assert_string_equal(s.r[4].expected, "< 90% of max_connections");
	/* No callback is fine; nothing to check is fine. */
	assert_int_equal(agent_preflight_run(conn, &pf, NULL, NULL, &err), SK_OK);
	memset(&pf, 0, sizeof(pf));
	memset(&s, 0, sizeof(s));
	assert_int_equal(agent_preflight_run(conn, &pf, collect, &s, &err), SK_OK);
	assert_int_equal(s.n, 0);
}

static void
test_failing_checks_are_all_named(void **state)
{
	char *roles[] = { "postgres", "app_owner_missing" };
	char *exts[] = { "plpgsql", "no_such_extension" };
	const sk_check_result *r;
	sk_preflight pf;
	seen s;
	sk_err err;

	(void)state;
	memset(&pf, 0, sizeof(pf));
	memset(&s, 0, sizeof(s));
	pf.min_server_version = 990000;
	pf.roles = roles;
	pf.nroles = 2;
	pf.extensions = exts;
	pf.nextensions = 2;
	pf.max_connections_share = 0.001; /* we alone are 1/200 */
	assert_int_equal(
	    agent_preflight_run(conn, &pf, collect, &s, &err), SK_EPREFLIGHT);
	assert_int_equal(s.n, 6);
	r = find(&s, "server_version");
	assert_false(r->passed);
	assert_contains(r->seen, "15.");
	assert_string_equal(r->expected, ">= 99.0 (990000)");
	assert_true(find(&s, "role:postgres")->passed);
	r = find(&s, "role:app_owner_missing");
	assert_false(r->passed);
	assert_string_equal(r->seen, "missing");
	assert_true(find(&s, "extension:plpgsql")->passed);
	r = find(&s, "extension:no_such_extension");
	assert_false(r->passed);
	assert_string_equal(r->seen, "not installed (not available on the server)");
	r = find(&s, "connections");
	assert_false(r->passed);
	assert_contains(r->seen, "/200 (");

	assert_int_equal(err.code, SK_EPREFLIGHT);
	assert_contains(err.msg, "preflight: 4 checks failed: ");
	assert_contains(err.msg, "server_version: expected >= 99.0 (990000), saw 15.");
	assert_contains(err.msg, "role:app_owner_missing: expected exists, saw missing");
	assert_contains(err.msg, "extension:no_such_extension: expected installed");
	assert_contains(err.msg, "connections: expected < 0.1% of max_connections, saw ");
	assert_null(strstr(err.msg, "role:postgres"));
}

static void
test_extension_available_but_not_installed(void **state)
{
	char buf[16];
	char *exts[] = { "pg_trgm" };
	sk_preflight pf;
	seen s;
	sk_err err;

	(void)state;
	if (strcmp(pgfixture_scalar(conn,
		       "SELECT count(*) FROM pg_available_extensions "
		       "WHERE name = 'pg_trgm'",
		       buf, sizeof(buf)),
		"1") != 0)
		skip();
	memset(&pf, 0, sizeof(pf));
	memset(&s, 0, sizeof(s));
	pf.extensions = exts;
	pf.nextensions = 1;
	assert_int_equal(
	    agent_preflight_run(conn, &pf, collect, &s, &err), SK_EPREFLIGHT);
	assert_contains(s.r[0].seen, "not installed (available: ");
	pgfixture_exec(conn, "CREATE EXTENSION pg_trgm");
	memset(&s, 0, sizeof(s));
	assert_int_equal(agent_preflight_run(conn, &pf, collect, &s, &err), SK_OK);
	assert_true(s.r[0].passed);
}

/* Only this database's sessions count: an older transaction in another
 * database of the cluster (here "postgres"; in CI, other test programs')
 * holds no lock a step here could wait for. */
static void
test_long_transaction_from_another_session_blocks(void **state)
{
	char pid[16], want[64], elsewhere_pid[16], not_want[64];
	PGconn *other = connect_to(db_name), *elsewhere = connect_to("postgres");
	const sk_check_result *r;
	sk_preflight pf;
	seen s;
	sk_err err;

	(void)state;
	pgfixture_scalar(elsewhere, "SELECT pg_backend_pid()", elsewhere_pid,
	    sizeof(elsewhere_pid));
	pgfixture_exec(elsewhere, "BEGIN; SELECT pg_catalog.txid_current()");
	snprintf(not_want, sizeof(not_want), "(pid %s,", elsewhere_pid);
	pgfixture_scalar(other, "SELECT pg_backend_pid()", pid, sizeof(pid));
	pgfixture_exec(other, "BEGIN; SELECT pg_catalog.txid_current()");
	usleep(1200 * 1000);
	memset(&pf, 0, sizeof(pf));
	pf.max_transaction_age_ms = 500;
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    agent_preflight_run(conn, &pf, collect, &s, &err), SK_EPREFLIGHT);
	r = find(&s, "transaction_age");
	assert_false(r->passed);
	snprintf(want, sizeof(want),
	    "(pid %s, idle in transaction, user postgres)", pid);
	assert_contains(r->seen, want);
	assert_null(strstr(r->seen, not_want));
	assert_string_equal(r->expected, "no transaction older than 500ms");
	assert_contains(err.msg,
	    "transaction_age: expected no transaction older than 500ms, saw ");

	/* A generous limit passes with the same transaction open. */
	pf.max_transaction_age_ms = 3600 * 1000;
	memset(&s, 0, sizeof(s));
	assert_int_equal(agent_preflight_run(conn, &pf, collect, &s, &err), SK_OK);
	assert_contains(s.r[0].seen, want);

	/* Once it ends, there is none (our own transaction never counts, nor
	 * the one still open, older than the limit, in another database). */
	pgfixture_exec(other, "COMMIT");
	pf.max_transaction_age_ms = 500;
	pgfixture_exec(conn, "BEGIN");
	usleep(700 * 1000);
	memset(&s, 0, sizeof(s));
	assert_int_equal(agent_preflight_run(conn, &pf, collect, &s, &err), SK_OK);
	assert_contains(find(&s, "transaction_age")->seen, "no open transaction");
	pgfixture_exec(conn, "COMMIT");
	pgfixture_exec(elsewhere, "COMMIT");
	PQfinish(elsewhere);
	PQfinish(other);
}

/* A role without pg_read_all_stats cannot see other roles' transactions:
 * the check says so rather than pass in silence; with the grant it sees
 * them. Connections are counted either way. */
static void
test_unprivileged_role_is_told_what_it_cannot_see(void **state)
{
	char ci[256], want[96], pid[16], role[64], sql[256];
	PGconn *other = connect_to(db_name), *limited = NULL;
	const sk_check_result *r;
	sk_preflight pf;
	seen s;
	sk_err err;
	long used;

	(void)state;
	/* Roles are cluster-wide: one name per test process. */
	snprintf(role, sizeof(role), "sk_pf_limited_%ld", (long)getpid());
	snprintf(sql, sizeof(sql),
	    "DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN", role, role);
	pgfixture_exec(conn, sql);
	snprintf(ci, sizeof(ci), "host=127.0.0.1 port=%s user=%s dbname=%s",
	    fixture_port, role, db_name);
	assert_int_equal(sk_pg_connect(ci, "preflight-test", &limited, &err), SK_OK);
	pgfixture_scalar(other, "SELECT pg_backend_pid()", pid, sizeof(pid));
	pgfixture_exec(other, "BEGIN; SELECT pg_catalog.txid_current()");
	usleep(700 * 1000);

	memset(&pf, 0, sizeof(pf));
	pf.max_transaction_age_ms = 500;
	pf.max_connections_share = 1.0;
	memset(&s, 0, sizeof(s));
	assert_int_equal(agent_preflight_run(limited, &pf, collect, &s, &err), SK_OK);
	r = find(&s, "transaction_age");
	assert_true(r->passed);
	assert_contains(r->seen, "no open transaction; ");
	assert_contains(r->seen, "of other roles not visible without pg_read_all_stats");
	/* The test's own postgres sessions are counted, unseen or not. */
	r = find(&s, "connections");
	used = strtol(r->seen, NULL, 10);
	assert_true(used >= 3);

	snprintf(sql, sizeof(sql), "GRANT pg_read_all_stats TO %s", role);
	pgfixture_exec(conn, sql);
	memset(&s, 0, sizeof(s));
	assert_int_equal(agent_preflight_run(limited, &pf, collect, &s, &err),
	    SK_EPREFLIGHT);
	r = find(&s, "transaction_age");
	assert_false(r->passed);
	snprintf(want, sizeof(want),
	    "(pid %s, idle in transaction, user postgres)", pid);
	assert_contains(r->seen, want);
	assert_null(strstr(r->seen, "not visible"));

	pgfixture_exec(other, "COMMIT");
	PQfinish(other);
	PQfinish(limited);
	snprintf(sql, sizeof(sql), "DROP ROLE %s", role);
	pgfixture_exec(conn, sql);
}

static void
test_requires_reads_the_ledger_and_creates_none(void **state)
{
	char buf[16];
	sk_prereq reqs[3] = {
		{ .plan = "base", .step = NULL },
		{ .plan = "base", .step = "s1" },
		{ .plan = "base", .step = "s2" },
	};
	agent_ledger_step row;
	const sk_check_result *r;
	sk_preflight pf;
	seen s;
	sk_err err;

	(void)state;
	memset(&pf, 0, sizeof(pf));
	pf.requires = reqs;
	pf.nrequires = 2;
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    agent_preflight_run(conn, &pf, collect, &s, &err), SK_EPREFLIGHT);
	r = find(&s, "requires:base");
	assert_false(r->passed);
	assert_string_equal(r->seen, "no ledger in this database");
	assert_false(find(&s, "requires:base/s1")->passed);
	assert_contains(err.msg,
	    "requires:base: expected recorded in the ledger, saw no ledger");
	/* Nothing was created. */
	assert_string_equal(pgfixture_scalar(conn,
				"SELECT count(*) FROM pg_namespace WHERE nspname = 'skein'",
				buf, sizeof(buf)),
	    "0");

	assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_OK);
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    agent_preflight_run(conn, &pf, collect, &s, &err), SK_EPREFLIGHT);
	assert_string_equal(find(&s, "requires:base")->seen, "not recorded");

	memset(&row, 0, sizeof(row));
	row.plan_name = "base";
	row.step_id = "s1";
	row.checksum_hex = "ab";
	row.rows = -1;
	assert_int_equal(agent_ledger_record_step(conn, &row, &err), SK_OK);
	memset(&s, 0, sizeof(s));
	assert_int_equal(agent_preflight_run(conn, &pf, collect, &s, &err), SK_OK);
	assert_string_equal(find(&s, "requires:base")->seen, "1 step recorded");
	assert_string_equal(find(&s, "requires:base/s1")->seen, "recorded");

	pf.nrequires = 3;
	memset(&s, 0, sizeof(s));
	assert_int_equal(
	    agent_preflight_run(conn, &pf, collect, &s, &err), SK_EPREFLIGHT);
	r = find(&s, "requires:base/s2");
	assert_false(r->passed);
	assert_string_equal(r->seen, "not recorded");
	assert_contains(err.msg, "1 check failed: requires:base/s2");
}

static void
test_lost_connection_is_an_error(void **state)
{
	char pid[16], sql[128], buf[16];
	PGconn *admin = connect_to("postgres");
	sk_preflight pf;
	sk_err err;
	int waited_ms = 0;

	(void)state;
	pgfixture_scalar(conn, "SELECT pg_backend_pid()", pid, sizeof(pid));
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%s)", pid);
	pgfixture_exec(admin, sql);
	/* The backend is gone only once it has handled the signal: wait for
	 * that (a loaded machine can take a while) instead of guessing. */
	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE pid = %s", pid);
	while (strcmp(pgfixture_scalar(admin, sql, buf, sizeof(buf)), "0") != 0) {
		assert_true(waited_ms < 30 * 1000);
		usleep(20 * 1000);
		waited_ms += 20;
	}
	PQfinish(admin);
	memset(&pf, 0, sizeof(pf));
	pf.min_server_version = 90600;
	assert_int_equal(agent_preflight_run(conn, &pf, NULL, NULL, &err), SK_ECONN);
	assert_contains(err.msg, "preflight server_version: ");
}

static int
setup_fixture(void **state)
{
	(void)state;
	return pgfixture_port(fixture_port, sizeof(fixture_port));
}

#define DB_TEST(f) cmocka_unit_test_setup_teardown(f, setup_db, teardown_db)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DB_TEST(test_all_checks_pass),
		DB_TEST(test_failing_checks_are_all_named),
		DB_TEST(test_extension_available_but_not_installed),
		DB_TEST(test_long_transaction_from_another_session_blocks),
		DB_TEST(test_unprivileged_role_is_told_what_it_cannot_see),
		DB_TEST(test_requires_reads_the_ledger_and_creates_none),
		DB_TEST(test_lost_connection_is_an_error),
	};

	return cmocka_run_group_tests(tests, setup_fixture, NULL);
}

/* agent_ledger and sk_pg against real PostgreSQL: schema creation and
 * upgrade, lookups and inserts, and how database errors become sk_err
 * (SQLSTATE, detail, hint; no password in a connection error). Uses the
 * shared `pg` fixture cluster (SKEIN_PGFIXTURE). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgfixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "agent_ledger.h"
#include "sk_pg.h"
#include "sk_util.h"

static char fixture_port[16];

/* A new database and a connection to it made by sk_pg_connect. */
static PGconn *
fresh_db(char *name, size_t len)
{
	pgfixture_create_db(fixture_port, "ledger", name, len);
	return pgfixture_connect(fixture_port, name, "skein-agent/test");
}

static void
drop_db(PGconn *conn, const char *name)
{
	PQfinish(conn);
	pgfixture_drop_db(fixture_port, name);
}

static void
test_ensure_creates_the_current_schema_and_is_idempotent(void **state)
{
	char name[64], buf[64];
	PGconn *conn = fresh_db(name, sizeof(name));
	int before = -1, v = -1;
	sk_err err;

	(void)state;
	assert_int_equal(agent_ledger_version(conn, &v, &err), SK_OK);
	assert_int_equal(v, 0);
	assert_int_equal(agent_ledger_ensure(conn, &before, &err), SK_OK);
	assert_int_equal(before, 0);
	assert_int_equal(agent_ledger_version(conn, &v, &err), SK_OK);
	assert_int_equal(v, AGENT_LEDGER_VERSION);
	assert_int_equal(agent_ledger_ensure(conn, &before, &err), SK_OK);
	assert_int_equal(before, AGENT_LEDGER_VERSION);
	assert_string_equal(pgfixture_scalar(conn,
				"SELECT count(*) FROM pg_tables "
				"WHERE schemaname = 'skein'",
				buf, sizeof(buf)),
	    "12"); /* v2's six, v3's backfills and expansions, v4's flags, v5's moves */
	/* No transaction or lock left behind. */
	assert_int_equal(PQtransactionStatus(conn), PQTRANS_IDLE);
	assert_string_equal(pgfixture_scalar(conn,
				"SELECT count(*) FROM pg_locks "
				"WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
				buf, sizeof(buf)),
	    "0");
	drop_db(conn, name);
}

static void
test_ensure_refuses_a_newer_ledger(void **state)
{
	char name[64], buf[64];
	PGconn *conn = fresh_db(name, sizeof(name));
	sk_err err;

	(void)state;
	assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_OK);
	assert_int_equal(sk_pg_exec(conn, "bump",
			     "UPDATE skein.meta SET value = '99' "
			     "WHERE key = 'schema_version'",
			     NULL, &err),
	    SK_OK);
	assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_ESTATE);
	assert_contains(err.msg, "ledger version 99");
	assert_contains(err.msg, "upgrade skein-agent");
	assert_string_equal(pgfixture_scalar(conn,
				"SELECT value FROM skein.meta", buf, sizeof(buf)),
	    "99");
	drop_db(conn, name);
}

static void
test_garbled_schema_version_is_an_error(void **state)
{
	char name[64];
	PGconn *conn = fresh_db(name, sizeof(name));
	int v;
	sk_err err;

	(void)state;
	assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_OK);
	assert_int_equal(sk_pg_exec(conn, "garble",
			     "UPDATE skein.meta SET value = "
			     "'one' WHERE key = 'schema_version'",
			     NULL, &err),
	    SK_OK);
	assert_int_equal(agent_ledger_version(conn, &v, &err), SK_ESTATE);
	assert_contains(err.msg, "'one' is not a version");
	assert_int_equal(
	    sk_pg_exec(conn, "empty", "DELETE FROM skein.meta", NULL, &err), SK_OK);
	assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_ESTATE);
	assert_contains(err.msg, "no schema_version");
	drop_db(conn, name);
}

static void
test_foreign_skein_table_fails_upgrade_and_changes_nothing(void **state)
{
	char name[64], buf[64];
	PGconn *conn = fresh_db(name, sizeof(name));
	sk_err err;

	(void)state;
	/* Someone else's skein.steps: the upgrade fails as a whole. */
	assert_int_equal(sk_pg_exec(conn, "squat",
			     "CREATE SCHEMA skein; "
			     "CREATE TABLE skein.steps (x int)",
			     NULL, &err),
	    SK_OK);
	assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_ESQL);
	assert_string_equal(err.sqlstate, "42P07");
	assert_contains(err.msg, "upgrade ledger to version 1: ");
	assert_int_equal(PQtransactionStatus(conn), PQTRANS_IDLE);
	assert_string_equal(pgfixture_scalar(conn, "SELECT to_regclass('skein.meta') IS NULL",
				buf, sizeof(buf)),
	    "t");
	drop_db(conn, name);
}

static void
test_record_and_look_up_steps(void **state)
{
	char name[64], hex[AGENT_LEDGER_HEX_LEN], buf[128];
	PGconn *conn = fresh_db(name, sizeof(name));
	agent_ledger_step row;
	bool found = true;
	sk_err err;

	(void)state;
	assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_OK);
	assert_int_equal(agent_ledger_lookup(conn, "p", "s1", &found, hex, &err), SK_OK);
	assert_false(found);

	memset(&row, 0, sizeof(row));
	row.plan_name = "p";
	row.step_id = "s1";
	row.checksum_hex = "00ff";
	row.plan_id = "id-1";
	row.region = "af";
	row.kind = "sql";
	row.transactional = true;
	row.started_ms = INT64_C(1700000000123);
	row.finished_ms = INT64_C(1700000000623);
	row.rows = -1;
	assert_int_equal(sk_pg_exec(conn, "begin", "BEGIN", NULL, &err), SK_OK);
	assert_int_equal(agent_ledger_record_step(conn, &row, &err), SK_OK);
	assert_int_equal(sk_pg_exec(conn, "commit", "COMMIT", NULL, &err), SK_OK);

	assert_int_equal(agent_ledger_lookup(conn, "p", "s1", &found, hex, &err), SK_OK);
	assert_true(found);
	assert_string_equal(hex, "00ff");
	assert_string_equal(
	    pgfixture_scalar(conn,
		"SELECT duration_ms || ',' || "
		"coalesce(rows::text, 'null') || ',' || coalesce(rollout_id, 'null') || "
		"',' || extract(epoch FROM started_at)::numeric(16,3) FROM skein.steps",
		buf, sizeof(buf)),
	    "500,null,null,1700000000.123");

	/* A second row for the same step is refused by the key. */
	assert_int_equal(agent_ledger_record_step(conn, &row, &err), SK_ESQL);
	assert_string_equal(err.sqlstate, "23505");
	assert_contains(err.msg, "record step s1 of plan p in the ledger: ");
	drop_db(conn, name);
}

static void
test_step_row_rolls_back_with_its_transaction(void **state)
{
	char name[64], hex[AGENT_LEDGER_HEX_LEN];
	PGconn *conn = fresh_db(name, sizeof(name));
	agent_ledger_step row;
	bool found = true;
	sk_err err;

	(void)state;
	assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_OK);
	memset(&row, 0, sizeof(row));
	row.plan_name = "p";
	row.step_id = "s1";
	row.checksum_hex = "ab";
	row.rows = 3;
	assert_int_equal(sk_pg_exec(conn, "begin", "BEGIN", NULL, &err), SK_OK);
	assert_int_equal(agent_ledger_record_step(conn, &row, &err), SK_OK);
	assert_int_equal(sk_pg_exec(conn, "rollback", "ROLLBACK", NULL, &err), SK_OK);
	assert_int_equal(agent_ledger_lookup(conn, "p", "s1", &found, hex, &err), SK_OK);
	assert_false(found);
	drop_db(conn, name);
}

static void
test_record_event_stores_null_for_empty_fields(void **state)
{
	char name[64], buf[160];
	PGconn *conn = fresh_db(name, sizeof(name));
	agent_ledger_event ev;
	sk_err err;

	(void)state;
	assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_OK);
	memset(&ev, 0, sizeof(ev));
	ev.plan_name = "p";
	ev.step_id = "s2";
	ev.event = "step-failed";
	ev.sqlstate = "";
	ev.message = "apply step s2 in af/app: it's \"quoted\"; DROP TABLE x; --";
	assert_int_equal(agent_ledger_record_event(conn, &ev, &err), SK_OK);
	assert_string_equal(
	    pgfixture_scalar(conn,
		"SELECT event || ',' || (sqlstate IS NULL) "
		"|| ',' || (at IS NOT NULL) || ',' || message FROM skein.events",
		buf, sizeof(buf)),
	    "step-failed,true,true,apply step s2 in af/app: it's \"quoted\"; DROP TABLE x; --");
	drop_db(conn, name);
}

static void
test_pg_error_carries_sqlstate_detail_and_hint(void **state)
{
	char name[64];
	PGconn *conn = fresh_db(name, sizeof(name));
	PGresult *res = (PGresult *)1;
	sk_err err;

	(void)state;
	assert_int_equal(sk_pg_exec(conn, "raise",
			     "DO $$BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'the detail', "
			     "HINT = 'the hint', ERRCODE = '22023'; END$$",
			     &res, &err),
	    SK_ESQL);
	assert_null(res);
	assert_string_equal(err.msg, "raise: boom");
	assert_string_equal(err.sqlstate, "22023");
	assert_string_equal(err.detail, "the detail");
	assert_string_equal(err.hint, "the hint");
	assert_false(sk_pg_err_is_connection(&err));

	/* The session is usable after the error, with the safe search_path. */
	assert_int_equal(
	    sk_pg_exec(conn, "path", "SHOW search_path", &res, &err), SK_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "public");
	PQclear(res);
	assert_int_equal(
	    sk_pg_exec(conn, "app", "SHOW application_name", &res, &err), SK_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "skein-agent/test");
	PQclear(res);

	/* Parameters are data, never SQL. */
	{
		const char *p[1] = { "x'); DROP TABLE skein.meta; --" };

		assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_OK);
		assert_int_equal(
		    sk_pg_execp(conn, "param", "SELECT $1::text", 1, p, &res, &err),
		    SK_OK);
		assert_string_equal(PQgetvalue(res, 0, 0), p[0]);
		PQclear(res);
	}
	assert_int_equal(
	    sk_pg_exec(conn, "copy", "COPY (SELECT 1) TO STDOUT", NULL, &err), SK_ESQL);
	assert_contains(err.msg, "COPY");
	assert_int_equal(sk_pg_exec(conn, "after copy", "SELECT 1", NULL, &err), SK_OK);
	drop_db(conn, name);
}

static void
test_pg_connect_error_never_shows_the_password(void **state)
{
	char ci[256];
	PGconn *conn = (PGconn *)1;
	sk_err err;

	(void)state;
	snprintf(ci, sizeof(ci),
	    "host=127.0.0.1 port=%d user=postgres "
	    "password=Sekr1tPass dbname=app",
	    pgfixture_free_port());
	assert_int_equal(sk_pg_connect(ci, "t", &conn, &err), SK_ECONN);
	assert_null(conn);
	assert_true(sk_pg_err_is_connection(&err));
	assert_contains(err.msg, "connect to database app: ");
	assert_null(strstr(err.msg, "Sekr1tPass"));

	/* A string that does not parse may be quoted by libpq: withheld. */
	assert_int_equal(sk_pg_connect("host=127.0.0.1 password=Sekr1tPass bogus",
			     "t", &conn, &err),
	    SK_ECONN);
	assert_null(strstr(err.msg, "Sekr1tPass"));
	assert_null(strstr(err.msg, "bogus"));

	snprintf(ci, sizeof(ci), "postgresql://postgres:Sekr1tPass@127.0.0.1:%d/app",
	    pgfixture_free_port());
	assert_int_equal(sk_pg_connect(ci, "t", &conn, &err), SK_ECONN);
	assert_null(strstr(err.msg, "Sekr1tPass"));
}

/* The schema a version-1 agent created, verbatim: databases in the field
 * have exactly this. */
static const char v1_ddl[] =
    "CREATE SCHEMA IF NOT EXISTS skein;\n"
    "CREATE TABLE skein.meta (key text PRIMARY KEY, value text NOT NULL);\n"
    "CREATE TABLE skein.steps (\n"
    "  plan_name text NOT NULL, step_id text NOT NULL, checksum text NOT NULL,\n"
    "  plan_id text, rollout_id text, region text, kind text,\n"
    "  transactional boolean NOT NULL, started_at timestamptz,\n"
    "  finished_at timestamptz, duration_ms bigint, rows bigint,\n"
    "  PRIMARY KEY (plan_name, step_id));\n"
    "CREATE TABLE skein.events (\n"
    "  id bigserial PRIMARY KEY,\n"
    "  at timestamptz NOT NULL DEFAULT pg_catalog.now(),\n"
    "  plan_name text, plan_id text, rollout_id text, region text,\n"
    "  step_id text, event text NOT NULL, sqlstate text, message text,\n"
    "  detail text);\n"
    "CREATE INDEX events_step_idx ON skein.events (plan_name, step_id);\n"
    "INSERT INTO skein.meta VALUES ('schema_version', '1');\n";

static void
test_upgrade_from_version_1_keeps_rows(void **state)
{
	char name[64], hex[AGENT_LEDGER_HEX_LEN], buf[160];
	PGconn *conn = fresh_db(name, sizeof(name));
	agent_ledger_step row;
	bool found = false;
	int before = -1, v = -1;
	sk_err err;

	(void)state;
	assert_int_equal(sk_pg_exec(conn, "v1", v1_ddl, NULL, &err), SK_OK);
	assert_int_equal(sk_pg_exec(conn, "v1 rows",
			     "INSERT INTO skein.steps (plan_name, step_id, checksum, "
			     "rollout_id, transactional, duration_ms, rows) "
			     "VALUES ('p', 's1', 'aa', 'r-old', true, 12, 3);"
			     "INSERT INTO skein.events (plan_name, event) "
			     "VALUES ('p', 'drift')",
			     NULL, &err),
	    SK_OK);
	assert_int_equal(agent_ledger_ensure(conn, &before, &err), SK_OK);
	assert_int_equal(before, 1);
	assert_int_equal(agent_ledger_version(conn, &v, &err), SK_OK);
	assert_int_equal(v, AGENT_LEDGER_VERSION);
	assert_int_equal(agent_ledger_lookup(conn, "p", "s1", &found, hex, &err), SK_OK);
	assert_true(found);
	assert_string_equal(hex, "aa");
	assert_string_equal(pgfixture_scalar(conn,
				"SELECT rollout_id || ',' || duration_ms || ',' || rows "
				"|| ',' || (attempts IS NULL) || ',' || "
				"(blockers IS NULL) FROM skein.steps",
				buf, sizeof(buf)),
	    "r-old,12,3,true,true");
	assert_string_equal(pgfixture_scalar(conn, "SELECT event FROM skein.events",
				buf, sizeof(buf)),
	    "drift");
	assert_string_equal(pgfixture_scalar(conn,
				"SELECT count(*) FROM pg_tables "
				"WHERE schemaname = 'skein'",
				buf, sizeof(buf)),
	    "12"); /* v2's six, v3's backfills and expansions, v4's flags, v5's moves */

	/* A new step lands beside the old one with the new columns. */
	memset(&row, 0, sizeof(row));
	row.plan_name = "p";
	row.step_id = "s2";
	row.checksum_hex = "bb";
	row.rows = -1;
	row.attempts = 2;
	assert_int_equal(agent_ledger_record_step(conn, &row, &err), SK_OK);
	assert_string_equal(pgfixture_scalar(conn, "SELECT count(*) FROM skein.steps",
				buf, sizeof(buf)),
	    "2");
	drop_db(conn, name);
}

static void
test_upgrade_failure_keeps_version_1(void **state)
{
	char name[64], buf[64];
	PGconn *conn = fresh_db(name, sizeof(name));
	sk_err err;

	(void)state;
	assert_int_equal(sk_pg_exec(conn, "v1", v1_ddl, NULL, &err), SK_OK);
	/* Someone else's table in the way of version 2. */
	assert_int_equal(sk_pg_exec(conn, "squat",
			     "CREATE TABLE skein.checks (x int)", NULL, &err),
	    SK_OK);
	assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_ESQL);
	assert_contains(err.msg, "upgrade ledger to version 2: ");
	assert_string_equal(pgfixture_scalar(conn,
				"SELECT value FROM skein.meta", buf, sizeof(buf)),
	    "1");
	assert_string_equal(pgfixture_scalar(conn,
				"SELECT count(*) FROM information_schema.columns "
				"WHERE table_schema = 'skein' AND table_name = "
				"'steps' AND column_name = 'attempts'",
				buf, sizeof(buf)),
	    "0");
	drop_db(conn, name);
}

static void
test_reads_without_a_ledger_create_nothing(void **state)
{
	char name[64], hex[AGENT_LEDGER_HEX_LEN], buf[64];
	PGconn *conn = fresh_db(name, sizeof(name));
	char **ids = (char **)1;
	bool found = true, exists = true;
	size_t n = 9;
	int v = -1;
	sk_err err;

	(void)state;
	/* Inside a transaction, as rehearsal runs: it must stay usable. */
	assert_int_equal(sk_pg_exec(conn, "begin", "BEGIN", NULL, &err), SK_OK);
	assert_int_equal(agent_ledger_exists(conn, &exists, &v, &err), SK_OK);
	assert_false(exists);
	assert_int_equal(v, 0);
	assert_int_equal(agent_ledger_exists(conn, &exists, NULL, &err), SK_OK);
	assert_int_equal(agent_ledger_lookup(conn, "p", "s1", &found, hex, &err), SK_OK);
	assert_false(found);
	assert_int_equal(agent_ledger_applied(conn, "p", &ids, &n, &err), SK_OK);
	assert_null(ids);
	assert_int_equal(n, 0);
	assert_int_equal(PQtransactionStatus(conn), PQTRANS_INTRANS);
	assert_int_equal(sk_pg_exec(conn, "commit", "COMMIT", NULL, &err), SK_OK);
	assert_string_equal(pgfixture_scalar(conn,
				"SELECT count(*) FROM pg_namespace WHERE nspname = 'skein'",
				buf, sizeof(buf)),
	    "0");

	assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_OK);
	assert_int_equal(agent_ledger_exists(conn, &exists, &v, &err), SK_OK);
	assert_true(exists);
	assert_int_equal(v, AGENT_LEDGER_VERSION);
	drop_db(conn, name);
}

static void
record(PGconn *conn, const char *plan, const char *step, const char *hex,
    const char *rollout, int64_t finished_ms)
{
	agent_ledger_step row;
	sk_err err;

	memset(&row, 0, sizeof(row));
	row.plan_name = plan;
	row.step_id = step;
	row.checksum_hex = hex;
	row.rollout_id = rollout;
	row.region = "af";
	row.transactional = true;
	row.started_ms = finished_ms - 10;
	row.finished_ms = finished_ms;
	row.rows = -1;
	if (agent_ledger_record_step(conn, &row, &err) != SK_OK) {
		print_error("%s\n", err.msg);
		fail();
	}
}

static void
test_record_step_v2_columns(void **state)
{
	char name[64], buf[256];
	PGconn *conn = fresh_db(name, sizeof(name));
	agent_ledger_step row;
	sk_err err;

	(void)state;
	assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_OK);
	memset(&row, 0, sizeof(row));
	row.plan_name = "p";
	row.step_id = "s1";
	row.checksum_hex = "cc";
	row.rows = 0;
	row.attempts = 3;
	row.lock_waits = 2;
	row.lock_wait_ms = 6100;
	row.blockers = "pid 123 (idle in transaction for 41s, user app)";
	assert_int_equal(agent_ledger_record_step(conn, &row, &err), SK_OK);
	assert_string_equal(pgfixture_scalar(conn,
				"SELECT attempts || ',' || lock_waits || ',' || "
				"lock_wait_ms || ',' || blockers FROM skein.steps",
				buf, sizeof(buf)),
	    "3,2,6100,pid 123 (idle in transaction for 41s, user app)");
	drop_db(conn, name);
}

static void
test_revert_step_moves_the_row(void **state)
{
	char name[64], hex[AGENT_LEDGER_HEX_LEN], buf[256];
	PGconn *conn = fresh_db(name, sizeof(name));
	char **ids = NULL;
	bool found = true;
	size_t n = 0;
	sk_err err;

	(void)state;
	assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_OK);
	record(conn, "p", "s2", "b2", "r-apply", INT64_C(1700000002000));
	record(conn, "p", "s1", "b1", "r-apply", INT64_C(1700000001000));
	record(conn, "other", "s1", "o1", "r-x", INT64_C(1700000000000));
	assert_int_equal(agent_ledger_applied(conn, "p", &ids, &n, &err), SK_OK);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], "s1"); /* finished first */
	assert_string_equal(ids[1], "s2");
	sk_strv_free(ids, n);
	sk_strv_free(NULL, 0);

	/* Rolled back with its transaction: nothing moves. */
	assert_int_equal(sk_pg_exec(conn, "begin", "BEGIN", NULL, &err), SK_OK);
	assert_int_equal(
	    agent_ledger_revert_step(conn, "p", "s2", "r-back", "af", 40, &err), SK_OK);
	assert_int_equal(sk_pg_exec(conn, "rollback", "ROLLBACK", NULL, &err), SK_OK);
	assert_int_equal(agent_ledger_lookup(conn, "p", "s2", &found, hex, &err), SK_OK);
	assert_true(found);
	assert_string_equal(pgfixture_scalar(conn, "SELECT count(*) FROM skein.reverts",
				buf, sizeof(buf)),
	    "0");

	assert_int_equal(sk_pg_exec(conn, "begin", "BEGIN", NULL, &err), SK_OK);
	assert_int_equal(
	    agent_ledger_revert_step(conn, "p", "s2", "r-back", "af", 40, &err), SK_OK);
	assert_int_equal(sk_pg_exec(conn, "commit", "COMMIT", NULL, &err), SK_OK);
	assert_int_equal(agent_ledger_lookup(conn, "p", "s2", &found, hex, &err), SK_OK);
	assert_false(found);
	assert_string_equal(pgfixture_scalar(conn,
				"SELECT plan_name || ',' || step_id || ',' || checksum "
				"|| ',' || applied_rollout_id || ',' || rollout_id || "
				"',' || region || ',' || duration_ms || ',' || "
				"extract(epoch FROM applied_at)::bigint "
				"FROM skein.reverts",
				buf, sizeof(buf)),
	    "p,s2,b2,r-apply,r-back,af,40,1700000002");
	assert_int_equal(agent_ledger_applied(conn, "p", &ids, &n, &err), SK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "s1");
	sk_strv_free(ids, n);

	/* Not recorded (any more): SK_ENOTFOUND, nothing changed. */
	assert_int_equal(
	    agent_ledger_revert_step(conn, "p", "s2", "r-back", "af", 1, &err),
	    SK_ENOTFOUND);
	assert_contains(err.msg, "record revert of step s2 of plan p in the ledger: ");
	assert_string_equal(pgfixture_scalar(conn, "SELECT count(*) FROM skein.reverts",
				buf, sizeof(buf)),
	    "1");
	assert_string_equal(pgfixture_scalar(conn, "SELECT count(*) FROM skein.steps",
				buf, sizeof(buf)),
	    "2");

	/* Reverted, the step can be applied again. */
	record(conn, "p", "s2", "b2", "r-again", INT64_C(1700000003000));
	assert_int_equal(agent_ledger_lookup(conn, "p", "s2", &found, hex, &err), SK_OK);
	assert_true(found);
	drop_db(conn, name);
}

static void
test_record_check_and_backup(void **state)
{
	char name[64], buf[2048], want[2048];
	PGconn *conn = fresh_db(name, sizeof(name));
	agent_ledger_check c;
	sk_check_result res;
	sk_backup_info b;
	sk_err err;

	(void)state;
	assert_int_equal(agent_ledger_ensure(conn, NULL, &err), SK_OK);
	memset(&res, 0, sizeof(res));
	snprintf(res.name, sizeof(res.name), "no_orphans");
	snprintf(res.when, sizeof(res.when), "post");
	snprintf(res.seen, sizeof(res.seen), "3");
	snprintf(res.expected, sizeof(res.expected), "= 0");
	memset(&c, 0, sizeof(c));
	c.plan_name = "p";
	c.plan_id = "id-1";
	c.rollout_id = "r-1";
	c.region = "af";
	c.phase = "canary";
	c.step_id = "s1";
	c.result = &res;
	/* In a transaction that rolls back, the row goes with it. */
	assert_int_equal(sk_pg_exec(conn, "begin", "BEGIN", NULL, &err), SK_OK);
	assert_int_equal(agent_ledger_record_check(conn, &c, &err), SK_OK);
	assert_int_equal(sk_pg_exec(conn, "rollback", "ROLLBACK", NULL, &err), SK_OK);
	assert_string_equal(pgfixture_scalar(conn, "SELECT count(*) FROM skein.checks",
				buf, sizeof(buf)),
	    "0");
	assert_int_equal(agent_ledger_record_check(conn, &c, &err), SK_OK);
	res.passed = true;
	c.step_id = NULL;
	c.mode = "rollback";
	c.database = "accounts";
	assert_int_equal(agent_ledger_record_check(conn, &c, &err), SK_OK);
	snprintf(want, sizeof(want),
	    "p,id-1,r-1,af,%s,canary,s1,apply,post,no_orphans,f,3,= 0 | "
	    "p,id-1,r-1,af,accounts,canary,-,rollback,post,no_orphans,t,3,= 0",
	    name);
	assert_string_equal(
	    pgfixture_scalar(conn,
		"SELECT string_agg(concat_ws(',', plan_name, plan_id, rollout_id, "
		"region, database, phase, coalesce(step_id, '-'), mode, \"when\", "
		"name, passed, seen, expected), ' | ' ORDER BY id) FROM skein.checks",
		buf, sizeof(buf)),
	    want);
	assert_int_equal(
	    agent_ledger_record_check(conn, &(agent_ledger_check){ 0 }, &err), SK_EINVAL);

	memset(&b, 0, sizeof(b));
	snprintf(b.path, sizeof(b.path),
	    "/var/backups/af_app_p_r-1_20260101T000000Z.dump");
	b.size = 123456;
	b.duration_ms = 789;
	snprintf(b.restore_command, sizeof(b.restore_command),
	    "pg_restore --clean --if-exists --no-owner -d 'dbname=app' "
	    "'/var/backups/af_app_p_r-1_20260101T000000Z.dump'");
	assert_int_equal(
	    agent_ledger_record_backup(conn, "p", "id-1", "r-1", "af", &b, &err), SK_OK);
	snprintf(want, sizeof(want), "p,id-1,r-1,af,%s,%s,123456,789,%s", name,
	    b.path, b.restore_command);
	assert_string_equal(pgfixture_scalar(conn,
				"SELECT concat_ws(',', plan_name, plan_id, rollout_id, region, "
				"database, path, size, duration_ms, restore_command) "
				"FROM skein.backups",
				buf, sizeof(buf)),
	    want);
	drop_db(conn, name);
}

static int
setup_fixture(void **state)
{
	(void)state;
	return pgfixture_port(fixture_port, sizeof(fixture_port));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ensure_creates_the_current_schema_and_is_idempotent),
		cmocka_unit_test(test_upgrade_from_version_1_keeps_rows),
		cmocka_unit_test(test_upgrade_failure_keeps_version_1),
		cmocka_unit_test(test_reads_without_a_ledger_create_nothing),
		cmocka_unit_test(test_record_step_v2_columns),
		cmocka_unit_test(test_revert_step_moves_the_row),
		cmocka_unit_test(test_record_check_and_backup),
		cmocka_unit_test(test_ensure_refuses_a_newer_ledger),
		cmocka_unit_test(test_garbled_schema_version_is_an_error),
		cmocka_unit_test(test_foreign_skein_table_fails_upgrade_and_changes_nothing),
		cmocka_unit_test(test_record_and_look_up_steps),
		cmocka_unit_test(test_step_row_rolls_back_with_its_transaction),
		cmocka_unit_test(test_record_event_stores_null_for_empty_fields),
		cmocka_unit_test(test_pg_error_carries_sqlstate_detail_and_hint),
		cmocka_unit_test(test_pg_connect_error_never_shows_the_password),
	};

	return cmocka_run_group_tests(tests, setup_fixture, NULL);
}

/* agent_locks against real PostgreSQL: transaction-local timeouts, a lock
 * timeout recognised as such, the sessions blocking a waiting step named
 * with pid, state, user, application and query, and the long
 * transactions a step waits out without queueing: the tables its SQL
 * locks, who holds a conflicting lock on them, whether that transaction
 * is still the same. Uses the shared `pg` fixture cluster
 * (SKEIN_PGFIXTURE). */
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

#include "agent_locks.h"
#include "sk_pg.h"

static char fixture_port[16];
static char db_name[64];
static PGconn *conn;

static PGconn *
connect_as(const char *db, const char *app)
{
	return pgfixture_connect(fixture_port, db, app);
}

static int
pid_of(PGconn *c)
{
	char buf[16];

	return atoi(pgfixture_scalar(c, "SELECT pg_backend_pid()", buf, sizeof(buf)));
}

static int
setup_db(void **state)
{
	(void)state;
	pgfixture_create_db(fixture_port, "locks", db_name, sizeof(db_name));
	conn = connect_as(db_name, "locks-test");
	pgfixture_exec(conn, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
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

static void
test_timeouts_are_local_to_the_transaction(void **state)
{
	char buf[32];
	sk_err err;

	(void)state;
	assert_int_equal(agent_set_local_timeouts(conn, 3000, 0, &err), SK_ESTATE);
	assert_contains(err.msg, "not inside an open transaction");
	assert_string_equal(
	    pgfixture_scalar(conn, "SHOW lock_timeout", buf, sizeof(buf)), "0");

	pgfixture_exec(conn, "SET statement_timeout = '1h'");
	pgfixture_exec(conn, "BEGIN");
	assert_int_equal(agent_set_local_timeouts(conn, -1, 0, &err), SK_EINVAL);
	assert_int_equal(agent_set_local_timeouts(conn, 3000, 0, &err), SK_OK);
	assert_string_equal(
	    pgfixture_scalar(conn, "SHOW lock_timeout", buf, sizeof(buf)), "3s");
	assert_string_equal(
	    pgfixture_scalar(conn, "SHOW statement_timeout", buf, sizeof(buf)), "0");
	assert_int_equal(agent_set_local_timeouts(conn, 250, 1800000, &err), SK_OK);
	assert_string_equal(
	    pgfixture_scalar(conn, "SHOW lock_timeout", buf, sizeof(buf)), "250ms");
	assert_string_equal(
	    pgfixture_scalar(conn, "SHOW statement_timeout", buf, sizeof(buf)), "30min");
	pgfixture_exec(conn, "COMMIT");
	/* Nothing outlives the transaction: the session's own values are back. */
	assert_string_equal(
	    pgfixture_scalar(conn, "SHOW lock_timeout", buf, sizeof(buf)), "0");
	assert_string_equal(
	    pgfixture_scalar(conn, "SHOW statement_timeout", buf, sizeof(buf)), "1h");
}

static void
test_lock_timeout_is_recognised(void **state)
{
	PGconn *holder = connect_as(db_name, "holder");
	sk_err err;

	(void)state;
	pgfixture_exec(holder, "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
	pgfixture_exec(conn, "BEGIN");
	assert_int_equal(agent_set_local_timeouts(conn, 200, 0, &err), SK_OK);
	assert_int_equal(
	    sk_pg_exec(conn, "read t", "SELECT * FROM t", NULL, &err), SK_ESQL);
	assert_string_equal(err.sqlstate, "55P03");
	assert_true(agent_err_is_lock_timeout(&err));
	pgfixture_exec(conn, "ROLLBACK");
	pgfixture_exec(holder, "ROLLBACK");
	PQfinish(holder);

	/* Other errors are not lock timeouts. */
	assert_int_equal(
	    sk_pg_exec(conn, "read", "SELECT * FROM nope", NULL, &err), SK_ESQL);
	assert_false(agent_err_is_lock_timeout(&err));
	sk_err_clear(&err);
	assert_false(agent_err_is_lock_timeout(&err));
	assert_false(agent_err_is_lock_timeout(NULL));
}

/* Wait until pid waits for a lock (up to 30 s: a loaded machine running
 * other test programs can be slow to get the query there). */
static void
wait_for_lock_wait(int pid)
{
	char sql[160], buf[16];

	snprintf(sql, sizeof(sql),
	    "SELECT count(*) FROM pg_stat_activity WHERE pid = %d "
	    "AND wait_event_type = 'Lock'",
	    pid);
	for (int i = 0; i < 1200; i++) {
		if (strcmp(pgfixture_scalar(conn, sql, buf, sizeof(buf)), "1") == 0)
			return;
		usleep(25 * 1000);
	}
	fail_msg("pid %d never waited for a lock", pid);
}

static void
drain(PGconn *c)
{
	PGresult *r;

	while ((r = PQgetResult(c)) != NULL)
		PQclear(r);
}

static void
test_blockers_name_the_holder(void **state)
{
	PGconn *holder = connect_as(db_name, "holder-app");
	PGconn *waiter = connect_as(db_name, "waiter");
	int hpid = pid_of(holder), wpid = pid_of(waiter);
	sk_blocker b[SK_BLOCKERS_MAX];
	char line[512], want[128];
	size_t n = 99;
	sk_err err;

	(void)state;
	/* Nothing blocks an idle session. */
	assert_int_equal(
	    agent_blockers(conn, wpid, b, SK_BLOCKERS_MAX, &n, &err), SK_OK);
	assert_int_equal(n, 0);

	pgfixture_exec(holder, "BEGIN");
	pgfixture_exec(holder, "LOCK TABLE t\n\t IN   ACCESS EXCLUSIVE MODE");
	usleep(1100 * 1000);
	assert_int_equal(PQsendQuery(waiter, "SELECT count(*) FROM t"), 1);
	wait_for_lock_wait(wpid);

	assert_int_equal(
	    agent_blockers(conn, wpid, b, SK_BLOCKERS_MAX, &n, &err), SK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(b[0].pid, hpid);
	assert_string_equal(b[0].state, "idle in transaction");
	assert_true(b[0].age_ms >= 1000);
	assert_true(b[0].age_ms < 60000);
	assert_string_equal(b[0].user, "postgres");
	assert_string_equal(b[0].application, "holder-app");
	assert_string_equal(b[0].query, "LOCK TABLE t IN ACCESS EXCLUSIVE MODE");

	agent_blockers_format(b, n, line, sizeof(line));
	snprintf(want, sizeof(want), "pid %d (idle in transaction for ", hpid);
	assert_contains(line, want);
	assert_contains(line,
	    "s, user postgres, application holder-app, "
	    "query: LOCK TABLE t IN ACCESS EXCLUSIVE MODE)");

	pgfixture_exec(holder, "ROLLBACK");
	drain(waiter);
	PQfinish(holder);
	PQfinish(waiter);
}

static void
test_blockers_oldest_first_and_limited(void **state)
{
	PGconn *old = connect_as(db_name, "old");
	PGconn *young = connect_as(db_name, "young");
	PGconn *waiter = connect_as(db_name, "waiter");
	int opid = pid_of(old), ypid = pid_of(young), wpid = pid_of(waiter);
	sk_blocker b[SK_BLOCKERS_MAX];
	size_t n = 0;
	sk_err err;

	(void)state;
	pgfixture_exec(old, "BEGIN; SELECT * FROM t");
	usleep(50 * 1000);
	pgfixture_exec(young, "BEGIN; SELECT * FROM t");
	assert_int_equal(PQsendQuery(waiter, "ALTER TABLE t ADD COLUMN x int"), 1);
	wait_for_lock_wait(wpid);

	assert_int_equal(
	    agent_blockers(conn, wpid, b, SK_BLOCKERS_MAX, &n, &err), SK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(b[0].pid, opid);
	assert_int_equal(b[1].pid, ypid);
	assert_true(b[0].age_ms >= b[1].age_ms);
	assert_int_equal(agent_blockers(conn, wpid, b, 1, &n, &err), SK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(b[0].pid, opid);
	assert_int_equal(agent_blockers(conn, wpid, b, 0, &n, &err), SK_OK);
	assert_int_equal(n, 0);

	pgfixture_exec(old, "ROLLBACK");
	pgfixture_exec(young, "ROLLBACK");
	drain(waiter);
	PQfinish(old);
	PQfinish(young);
	PQfinish(waiter);
}

static void
test_blockers_format(void **state)
{
	sk_blocker b[2];
	char line[256], tiny[24];

	(void)state;
	memset(b, 0, sizeof(b));
	b[0].pid = 123;
	snprintf(b[0].state, sizeof(b[0].state), "idle in transaction");
	b[0].age_ms = 41000;
	snprintf(b[0].user, sizeof(b[0].user), "app");
	snprintf(b[0].query, sizeof(b[0].query), "UPDATE accounts SET x = 1");
	b[1].pid = 0;
	snprintf(b[1].state, sizeof(b[1].state), "prepared transaction");
	b[1].age_ms = -1;
	agent_blockers_format(b, 2, line, sizeof(line));
	assert_string_equal(line,
	    "pid 123 (idle in transaction for 41s, user app, query: UPDATE "
	    "accounts SET x = 1); pid 0 (prepared transaction)");
	agent_blockers_format(b, 0, line, sizeof(line));
	assert_string_equal(line, "");
	agent_blockers_format(b, 2, tiny, sizeof(tiny));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	assert_true(strncmp(tiny, "pid 123 (idle in", 16) == 0);
}

static void
test_lock_targets_come_from_the_parse_tree(void **state)
{
	agent_lock_target t[AGENT_LOCK_TARGETS_MAX];
	size_t n;

	(void)state;
	n = agent_lock_targets("ALTER TABLE t ADD COLUMN c int", t, 8);
	assert_int_equal(n, 1);
	assert_string_equal(t[0].schema, "public");
	assert_string_equal(t[0].table, "t");
	assert_int_equal(t[0].modes, AGENT_LOCK_ACCESS_EXCLUSIVE);

	/* A table the script creates is nobody else's; one named twice is
	 * one target with both modes; a qualified, quoted name is kept as
	 * PostgreSQL reads it. */
	n = agent_lock_targets(
	    "CREATE TABLE fresh (id int);\n"
	    "ALTER TABLE fresh ADD COLUMN x int;\n"
	    "ALTER TABLE a ADD CONSTRAINT a_b FOREIGN KEY (b) REFERENCES b (id) "
	    "NOT VALID;\n"
	    "ALTER TABLE a VALIDATE CONSTRAINT a_b;\n"
	    "CREATE INDEX CONCURRENTLY i ON \"Sales\".\"Orders\" (id);\n"
	    "CREATE INDEX j ON Plain (id);",
	    t, 8);
	assert_int_equal(n, 3);
	assert_string_equal(t[0].table, "a");
	assert_int_equal(t[0].modes,
	    AGENT_LOCK_SHARE_ROW_EXCLUSIVE | AGENT_LOCK_SHARE_UPDATE_EXCLUSIVE);
	assert_string_equal(t[1].schema, "Sales");
	assert_string_equal(t[1].table, "Orders");
	assert_int_equal(t[1].modes, AGENT_LOCK_SHARE_UPDATE_EXCLUSIVE);
	assert_string_equal(t[2].table, "plain");
	assert_int_equal(t[2].modes, AGENT_LOCK_SHARE);

	/* What the ops do not say is learned from an attempt instead. */
	assert_int_equal(agent_lock_targets("UPDATE t SET id = 2; SELECT 1; "
					    "LOCK TABLE t IN SHARE MODE",
			     t, 8),
	    0);
	assert_int_equal(agent_lock_targets(NULL, t, 8), 0);
	assert_int_equal(agent_lock_targets("ALTER TABLE (", t, 8), 0);
	assert_int_equal(agent_lock_targets("TRUNCATE a, b, c", t, 2), 2);
	assert_int_equal(agent_lock_targets("TRUNCATE a", t, 0), 0);
}

static void
test_lock_conflicts_follow_postgresql(void **state)
{
	const unsigned all = (1u << 8) - 1;

	(void)state;
	assert_int_equal(agent_lock_conflicts(AGENT_LOCK_ACCESS_EXCLUSIVE), all);
	assert_int_equal(agent_lock_conflicts(AGENT_LOCK_ACCESS_SHARE),
	    AGENT_LOCK_ACCESS_EXCLUSIVE);
	/* CREATE INDEX (SHARE) waits for writers, not for readers. */
	assert_true(agent_lock_conflicts(AGENT_LOCK_SHARE) & AGENT_LOCK_ROW_EXCLUSIVE);
	assert_false(agent_lock_conflicts(AGENT_LOCK_SHARE) & AGENT_LOCK_ACCESS_SHARE);
	/* CONCURRENTLY (SHARE UPDATE EXCLUSIVE) waits for neither. */
	assert_false(agent_lock_conflicts(AGENT_LOCK_SHARE_UPDATE_EXCLUSIVE) &
	    (AGENT_LOCK_ROW_EXCLUSIVE | AGENT_LOCK_ACCESS_SHARE));
	assert_int_equal(agent_lock_conflicts(AGENT_LOCK_SHARE | AGENT_LOCK_ACCESS_SHARE),
	    agent_lock_conflicts(AGENT_LOCK_SHARE));
	assert_int_equal(agent_lock_conflicts(0), 0);
}

static void
test_long_holders_are_old_conflicting_transactions_only(void **state)
{
	PGconn *reader = connect_as(db_name, "long-reader");
	PGconn *young = connect_as(db_name, "young-reader");
	int rpid = pid_of(reader);
	agent_lock_target alter[1], index[1], missing[1];
	agent_long_xact x[SK_BLOCKERS_MAX];
	size_t n = 99;
	sk_err err;

	(void)state;
	assert_int_equal(
	    agent_lock_targets("ALTER TABLE t ADD COLUMN c int", alter, 1), 1);
	assert_int_equal(agent_lock_targets("CREATE INDEX ON t (id)", index, 1), 1);
	assert_int_equal(
	    agent_lock_targets("ALTER TABLE nope ADD c int", missing, 1), 1);

	pgfixture_exec(reader, "BEGIN; SELECT * FROM t");
	usleep(400 * 1000);
	pgfixture_exec(young, "BEGIN; SELECT * FROM t");

	/* Older than 300 ms: the reader, not the young one. */
	assert_int_equal(
	    agent_long_holders(conn, alter, 1, 300, x, SK_BLOCKERS_MAX, &n, &err), SK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(x[0].pid, rpid);
	assert_int_equal(x[0].b.pid, rpid);
	assert_string_equal(x[0].b.state, "idle in transaction");
	assert_string_equal(x[0].b.application, "long-reader");
	assert_string_equal(x[0].b.query, "BEGIN; SELECT * FROM t");
	assert_true(x[0].b.age_ms >= 400);
	assert_true(x[0].xact_start_us > 0);
	/* Any age: both, oldest first; at most max. */
	assert_int_equal(
	    agent_long_holders(conn, alter, 1, 0, x, SK_BLOCKERS_MAX, &n, &err), SK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(x[0].pid, rpid);
	assert_int_equal(agent_long_holders(conn, alter, 1, 0, x, 1, &n, &err), SK_OK);
	assert_int_equal(n, 1);
	/* A reader's ACCESS SHARE does not hold up CREATE INDEX; a table
	 * that does not exist is held by nobody; and nothing is asked for
	 * no tables. */
	assert_int_equal(
	    agent_long_holders(conn, index, 1, 0, x, SK_BLOCKERS_MAX, &n, &err), SK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(
	    agent_long_holders(conn, missing, 1, 0, x, SK_BLOCKERS_MAX, &n, &err), SK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(
	    agent_long_holders(conn, alter, 0, 0, x, SK_BLOCKERS_MAX, &n, &err), SK_OK);
	assert_int_equal(n, 0);
	/* A writer holds up CREATE INDEX. */
	pgfixture_exec(young, "ROLLBACK; BEGIN; UPDATE t SET id = id");
	assert_int_equal(
	    agent_long_holders(conn, index, 1, 0, x, SK_BLOCKERS_MAX, &n, &err), SK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(x[0].pid, pid_of(young));

	pgfixture_exec(reader, "ROLLBACK");
	pgfixture_exec(young, "ROLLBACK");
	PQfinish(reader);
	PQfinish(young);
}

static void
test_open_xacts_follow_one_transaction(void **state)
{
	PGconn *s = connect_as(db_name, "follow");
	int pid = pid_of(s), other = 1;
	agent_long_xact x[SK_BLOCKERS_MAX];
	int64_t start;
	size_t n = 99;
	sk_err err;

	(void)state;
	/* Not in a transaction: nothing to wait for. */
	assert_int_equal(
	    agent_open_xacts(conn, &pid, NULL, 1, 0, x, SK_BLOCKERS_MAX, &n, &err),
	    SK_OK);
	assert_int_equal(n, 0);

	pgfixture_exec(s, "BEGIN; SELECT 1");
	usleep(200 * 1000);
	assert_int_equal(agent_open_xacts(conn, &pid, NULL, 1, 100, x,
			     SK_BLOCKERS_MAX, &n, &err),
	    SK_OK);
	assert_int_equal(n, 1);
	start = x[0].xact_start_us;
	assert_int_equal(agent_open_xacts(conn, &pid, NULL, 1, 60000, x,
			     SK_BLOCKERS_MAX, &n, &err),
	    SK_OK);
	assert_int_equal(n, 0);
	/* The same transaction, by its start. */
	assert_int_equal(agent_open_xacts(conn, &pid, &start, 1, 0, x,
			     SK_BLOCKERS_MAX, &n, &err),
	    SK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(x[0].xact_start_us, start);
	/* The session's next transaction is another one. */
	pgfixture_exec(s, "COMMIT; BEGIN; SELECT 2");
	assert_int_equal(agent_open_xacts(conn, &pid, &start, 1, 0, x,
			     SK_BLOCKERS_MAX, &n, &err),
	    SK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(
	    agent_open_xacts(conn, &pid, NULL, 1, 0, x, SK_BLOCKERS_MAX, &n, &err),
	    SK_OK);
	assert_int_equal(n, 1);
	assert_true(x[0].xact_start_us > start);
	/* A pid with no session, and nothing asked. */
	assert_int_equal(agent_open_xacts(conn, &other, NULL, 1, 0, x,
			     SK_BLOCKERS_MAX, &n, &err),
	    SK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(
	    agent_open_xacts(conn, &pid, NULL, 0, 0, x, SK_BLOCKERS_MAX, &n, &err),
	    SK_OK);
	assert_int_equal(n, 0);

	pgfixture_exec(s, "ROLLBACK");
	PQfinish(s);
}

static void
test_long_wait_detail(void **state)
{
	agent_long_xact x[2];
	char line[256], tiny[16];

	(void)state;
	memset(x, 0, sizeof(x));
	x[0].pid = 123;
	snprintf(x[0].b.state, sizeof(x[0].b.state), "idle in transaction");
	x[0].b.age_ms = 41000;
	x[1].pid = 456;
	agent_long_wait_detail(line, sizeof(line), x, 1, 12000);
	assert_string_equal(line,
	    "waiting for pid 123's transaction to end without queueing for "
	    "its lock (idle in transaction for 41s); gives up in 12s");
	agent_long_wait_detail(line, sizeof(line), x, 2, -1);
	assert_string_equal(line,
	    "waiting for the transactions of pids 123 and 456 to end without "
	    "queueing for their locks (pid 123 idle in transaction for 41s)");
	agent_long_wait_detail(line, sizeof(line), x, 0, 5);
	assert_string_equal(line, "");
	agent_long_wait_detail(tiny, sizeof(tiny), x, 1, 5);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
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
		DB_TEST(test_timeouts_are_local_to_the_transaction),
		DB_TEST(test_lock_timeout_is_recognised),
		DB_TEST(test_blockers_name_the_holder),
		DB_TEST(test_blockers_oldest_first_and_limited),
		cmocka_unit_test(test_blockers_format),
		cmocka_unit_test(test_lock_targets_come_from_the_parse_tree),
		cmocka_unit_test(test_lock_conflicts_follow_postgresql),
		DB_TEST(test_long_holders_are_old_conflicting_transactions_only),
		DB_TEST(test_open_xacts_follow_one_transaction),
		cmocka_unit_test(test_long_wait_detail),
	};

	return cmocka_run_group_tests(tests, setup_fixture, NULL);
}

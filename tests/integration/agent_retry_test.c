/* agent_retry against real PostgreSQL: the retry budget, and a long
 * transaction waited out without queueing — the step's backend is never
 * seen in the lock queue while a long reader holds its table, its one
 * attempt follows the reader's end at once, a stop ends the wait, and
 * without a usable monitor the engine queues as it always did. Drives the
 * engine itself with a one-statement attempt; agent_exec_test and
 * agent_modes_test cover it through the executor and the rollback. Uses
 * the shared `pg` fixture cluster (SKEIN_PGFIXTURE). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgfixture.h"
#include "reports.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "agent_db.h"
#include "agent_retry.h"
#include "agent_watch.h"
#include "sk_pg.h"
#include "sk_util.h"

static char fixture_port[16];

/* One database, a step connection and its context, and the engine run
 * in a thread of its own so that the test can look at the database while
 * it waits. */
typedef struct run {
	char db[64], ci[256];
	PGconn *conn;
	agent_watch watch;
	atomic_int stop;
	collector c;
	agent_db_ctx ctx;
	sk_step limits;
	agent_attempts a;
	/* The attempt: ALTER TABLE in a transaction under the limits. */
	char *sql;
	int pid;
	int calls;
	/* The engine's outcome, and when it returned (mono ms). */
	pthread_t thread;
	atomic_int done;
	int rc;
	sk_err err;
	int64_t ended_ms;
} run;

static void
ctx_emit(void *arg, sk_report *r)
{
	collector *c = arg;

	snprintf(r->database, sizeof(r->database), "%s", c->db);
	collect(c, r);
}

static int
one_attempt(void *arg, sk_err *err)
{
	run *t = arg;
	PGresult *res = NULL;
	int rc;

	t->calls++;
	rc = agent_tx_begin(&t->ctx, &t->limits, err);
	if (rc != SK_OK)
		return rc;
	rc = agent_attempts_sql(
	    &t->a, t->conn, "alter", t->sql, t->pid, &res, NULL, err);
	PQclear(res);
	if (rc == SK_OK)
		rc = sk_pg_exec(t->conn, "commit", "COMMIT", NULL, err);
	agent_tx_rollback(t->conn);
	return rc;
}

/* Set t up on a fresh database holding table t; watched through a
 * monitor on monitor_ci (NULL: the database's own; "": no monitor). */
static void
run_init(run *t, const char *tag, const char *monitor_ci)
{
	static char alter[] = "ALTER TABLE t ADD COLUMN c int";

	memset(t, 0, sizeof(*t));
	pgfixture_create_db(fixture_port, tag, t->db, sizeof(t->db));
	pgfixture_conninfo(t->ci, sizeof(t->ci), fixture_port, t->db);
	t->conn = pgfixture_connect(fixture_port, t->db, "retry-step");
	t->pid = PQbackendPID(t->conn);
	pgfixture_exec(t->conn, "CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
	collector_init(&t->c, t->db);
	atomic_init(&t->stop, 0);
	atomic_init(&t->done, 0);
	agent_watch_init(&t->watch, monitor_ci != NULL ? monitor_ci : t->ci,
	    false, "r1", t->db);
	t->ctx.conn = t->conn;
	t->ctx.region = "r1";
	t->ctx.database = t->db;
	t->ctx.stop = &t->stop;
	t->ctx.emit = ctx_emit;
	t->ctx.emit_arg = &t->c;
	t->ctx.watch = monitor_ci != NULL && monitor_ci[0] == '\0' ? NULL : &t->watch;
	t->limits.id = "0001_alter";
	t->limits.sql = alter;
	t->limits.lock_timeout_ms = 200;
	t->limits.lock_retries = 5;
	t->limits.retry_backoff_ms = 100;
	t->sql = t->limits.sql;
}

static void
run_fini(run *t)
{
	agent_watch_fini(&t->watch);
	PQfinish(t->conn);
	collector_fini(&t->c);
	pgfixture_drop_db(fixture_port, t->db);
}

static void *
run_main(void *arg)
{
	run *t = arg;

	t->rc = agent_retry(&t->a, one_attempt, t, &t->err);
	t->ended_ms = sk_mono_ms();
	atomic_store(&t->done, 1);
	return NULL;
}

static void
run_start(run *t)
{
	agent_attempts_init(&t->a, &t->ctx, &t->limits, t->limits.id);
	assert_int_equal(pthread_create(&t->thread, NULL, run_main, t), 0);
}

static void
run_join(run *t)
{
	pthread_join(t->thread, NULL);
}

/* Whether the step's backend waits in the lock queue now: an ungranted
 * lock in pg_locks, or a Lock wait event. */
static bool
step_queued(run *t, PGconn *probe)
{
	char sql[256], buf[16];

	snprintf(sql, sizeof(sql),
	    "SELECT (EXISTS (SELECT 1 FROM pg_locks WHERE pid = %d AND NOT granted) "
	    "OR EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %d "
	    "AND wait_event_type = 'Lock'))::text",
	    t->pid, t->pid);
	return strcmp(pgfixture_scalar(probe, sql, buf, sizeof(buf)), "true") == 0;
}

static long
column_count(run *t)
{
	return pgfixture_long_db(fixture_port, t->db,
	    "SELECT count(*) FROM information_schema.columns "
	    "WHERE table_name = 't' AND column_name = 'c'");
}

static void
test_budget_is_the_longest_the_retries_could_take(void **state)
{
	sk_step s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.lock_timeout_ms = 300;
	s.lock_retries = 3;
	s.retry_backoff_ms = 200;
	assert_int_equal(agent_retry_budget_ms(&s), 4 * 300 + 200 + 400 + 800);
	s.lock_retries = 0;
	assert_int_equal(agent_retry_budget_ms(&s), 300);
	/* The backoff doubles up to 30 s: 100 ms ... 25.6 s, then 21 pauses
	 * of 30 s, and 31 attempts. */
	s.lock_timeout_ms = 200;
	s.lock_retries = 30;
	s.retry_backoff_ms = 100;
	assert_int_equal(agent_retry_budget_ms(&s), 31 * 200 + 51100 + 21 * 30000);
	/* A first backoff above the cap is taken once, then capped. */
	s.lock_retries = 2;
	s.retry_backoff_ms = 40000;
	assert_int_equal(agent_retry_budget_ms(&s), 3 * 200 + 40000 + 30000);
	/* No lock_timeout: attempts queue without limit; no budget. */
	s.lock_timeout_ms = 0;
	assert_int_equal(agent_retry_budget_ms(&s), 0);
	/* Huge figures saturate instead of overflowing. */
	s.lock_timeout_ms = INT64_MAX / 4;
	s.lock_retries = UINT32_MAX;
	assert_int_equal(agent_retry_budget_ms(&s), INT64_MAX / 2);
	s.lock_timeout_ms = 1000;
	assert_true(agent_retry_budget_ms(&s) > (int64_t)UINT32_MAX * 30000);
}

/* A reader that has held the table for longer than lock_timeout: the
 * engine never joins the lock queue (sampled ten times), reports that it
 * waits for the reader without queueing, and its one attempt lands as
 * soon as the reader ends. */
static void
test_long_reader_waited_out_without_queueing(void **state)
{
	PGconn *reader, *probe;
	int64_t released;
	sk_report r;
	char want[96];
	run t;

	(void)state;
	run_init(&t, "rtlong", NULL);
	reader = pgfixture_connect(fixture_port, t.db, "long-reader");
	probe = pgfixture_connect(fixture_port, t.db, "probe");
	pgfixture_exec(reader, "BEGIN; SELECT * FROM t");
	sk_sleep_ms(400);

	run_start(&t);
	for (int i = 0; i < 10; i++) {
		sk_sleep_ms(100);
		assert_false(atomic_load(&t.done));
		assert_false(step_queued(&t, probe));
	}
	pgfixture_exec(reader, "ROLLBACK");
	released = sk_mono_ms();
	run_join(&t);

	if (t.rc != SK_OK)
		fail_msg("run: %s", t.err.msg);
	assert_int_equal(t.calls, 1);
	assert_int_equal(t.a.attempt, 1);
	assert_int_equal(t.a.lock_waits, 0);
	assert_true(t.a.unqueued_ms >= 900);
	assert_true(t.a.lock_wait_ms >= t.a.unqueued_ms);
	assert_true(t.ended_ms - released < 500);
	assert_int_equal(column_count(&t), 1);
	snprintf(want, sizeof(want),
	    "waiting for pid %d's transaction to end without queueing",
	    PQbackendPID(reader));
	assert_true(count_detail(&t.c, SK_EV_LOCK_WAIT, NULL, "0001_alter", want) >= 1);
	assert_true(find_report(&t.c, SK_EV_LOCK_WAIT, NULL, "0001_alter", &r) >= 1);
	assert_int_equal(r.nblockers, 1);
	assert_int_equal(r.blockers[0].pid, PQbackendPID(reader));
	assert_string_equal(r.blockers[0].application, "long-reader");

	PQfinish(reader);
	PQfinish(probe);
	run_fini(&t);
}

/* A long reader that outlasts the budget (200 + 50..100 ... for 1 retry:
 * 300 ms): SK_ELOCK naming it, nothing changed, no attempt made. */
static void
test_long_reader_outlasting_the_budget_fails_naming_it(void **state)
{
	PGconn *reader;
	char want[64];
	run t;

	(void)state;
	run_init(&t, "rtbudget", NULL);
	t.limits.lock_retries = 1;
	reader = pgfixture_connect(fixture_port, t.db, "long-reader");
	pgfixture_exec(reader, "BEGIN; SELECT * FROM t");
	sk_sleep_ms(300);

	run_start(&t);
	run_join(&t);
	assert_int_equal(t.rc, SK_ELOCK);
	assert_string_equal(t.err.sqlstate, "55P03");
	assert_contains(t.err.msg,
	    "without queueing for a long transaction to end (the step's retry "
	    "budget, 500ms: 2 attempts of 200 ms");
	snprintf(want, sizeof(want), "blocked by pid %d (idle in transaction",
	    PQbackendPID(reader));
	assert_contains(t.err.msg, want);
	assert_contains(t.err.detail, "0 lock timeouts");
	assert_int_equal(t.calls, 0);
	assert_int_equal(column_count(&t), 0);

	pgfixture_exec(reader, "ROLLBACK");
	PQfinish(reader);
	run_fini(&t);
}

/* A stop request ends the wait at once. */
static void
test_stop_ends_the_wait(void **state)
{
	PGconn *reader;
	int64_t stopped;
	run t;

	(void)state;
	run_init(&t, "rtstop", NULL);
	t.limits.lock_retries = 20;
	reader = pgfixture_connect(fixture_port, t.db, "long-reader");
	pgfixture_exec(reader, "BEGIN; SELECT * FROM t");
	sk_sleep_ms(300);

	run_start(&t);
	sk_sleep_ms(300);
	atomic_store(&t.stop, 1);
	stopped = sk_mono_ms();
	run_join(&t);
	assert_int_equal(t.rc, SK_ESTATE);
	assert_true(t.a.stopped);
	assert_contains(t.err.msg, "stopped while waiting for a long transaction to end");
	assert_true(t.ended_ms - stopped < 500);
	assert_int_equal(t.calls, 0);
	assert_int_equal(column_count(&t), 0);

	pgfixture_exec(reader, "ROLLBACK");
	PQfinish(reader);
	run_fini(&t);
}

/* Without a monitor (none, or one that cannot connect) the engine cannot
 * see the reader: it queues and retries as it always did. */
static void
test_without_a_monitor_attempts_queue_as_before(void **state)
{
	static const char *const monitors[] = { "",
		"host=127.0.0.1 port=1 user=postgres dbname=postgres connect_timeout=2" };
	PGconn *reader;
	run t;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		run_init(&t, "rtnomon", monitors[i]);
		t.limits.lock_retries = 1;
		reader = pgfixture_connect(fixture_port, t.db, "long-reader");
		pgfixture_exec(reader, "BEGIN; SELECT * FROM t");
		sk_sleep_ms(300);

		run_start(&t);
		run_join(&t);
		assert_int_equal(t.rc, SK_ELOCK);
		assert_contains(t.err.msg, "gave up after 2 lock timeouts of 200 ms");
		assert_int_equal(t.calls, 2);
		assert_int_equal(column_count(&t), 0);

		pgfixture_exec(reader, "ROLLBACK");
		PQfinish(reader);
		run_fini(&t);
	}
}

/* What the parse tree does not name (here DML, whose lock has no op) is
 * learned from the first timed-out attempt: then no more queueing. */
static void
test_long_holder_learned_from_a_timed_out_attempt(void **state)
{
	static char update[] = "UPDATE t SET id = id + 1";
	PGconn *locker, *probe;
	int64_t released;
	run t;

	(void)state;
	run_init(&t, "rtlearn", NULL);
	t.sql = update;
	t.limits.sql = update;
	locker = pgfixture_connect(fixture_port, t.db, "locker");
	probe = pgfixture_connect(fixture_port, t.db, "probe");
	pgfixture_exec(locker, "BEGIN; LOCK TABLE t IN SHARE MODE");
	sk_sleep_ms(300);

	run_start(&t);
	/* The first attempt queues for up to 200 ms; after that, never. */
	sk_sleep_ms(500);
	for (int i = 0; i < 5; i++) {
		sk_sleep_ms(100);
		assert_false(step_queued(&t, probe));
	}
	pgfixture_exec(locker, "ROLLBACK");
	released = sk_mono_ms();
	run_join(&t);
	if (t.rc != SK_OK)
		fail_msg("run: %s", t.err.msg);
	assert_int_equal(t.calls, 2);
	assert_int_equal(t.a.lock_waits, 1);
	assert_int_equal(t.a.attempt, 2);
	assert_true(t.ended_ms - released < 500);
	assert_true(count_detail(&t.c, SK_EV_LOCK_WAIT, NULL, "0001_alter",
			"lock timeout after 200 ms (1 of 5 retries used); "
			"retrying when pid") == 1);

	PQfinish(locker);
	PQfinish(probe);
	run_fini(&t);
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
		cmocka_unit_test(test_budget_is_the_longest_the_retries_could_take),
		cmocka_unit_test(test_long_reader_waited_out_without_queueing),
		cmocka_unit_test(test_long_reader_outlasting_the_budget_fails_naming_it),
		cmocka_unit_test(test_stop_ends_the_wait),
		cmocka_unit_test(test_without_a_monitor_attempts_queue_as_before),
		cmocka_unit_test(test_long_holder_learned_from_a_timed_out_attempt),
	};

	return cmocka_run_group_tests(tests, setup_fixture, NULL);
}

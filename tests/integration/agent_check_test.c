/* agent_check against real PostgreSQL: every kind of check passing and
 * failing, what each reports as seen and expected, query errors, and a
 * FAILS check never leaving anything behind. Uses the shared `pg` fixture
 * cluster (SKEIN_PGFIXTURE). */
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

#include "agent_check.h"
#include "sk_pg.h"

static char fixture_port[16];
static char db_name[64];
static PGconn *conn;

/* Each test gets a fresh database with table t (id int primary key, n int
 * CHECK (n >= 0)) holding three rows, and an open transaction. */
static int
setup_db(void **state)
{
	(void)state;
	pgfixture_create_db(fixture_port, "check", db_name, sizeof(db_name));
	conn = pgfixture_connect(fixture_port, db_name, "check-test");
	pgfixture_exec(conn,
	    "CREATE TABLE t (id int PRIMARY KEY, n int CONSTRAINT n_nonneg "
	    "CHECK (n >= 0), label text);"
	    "INSERT INTO t VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, NULL)");
	pgfixture_exec(conn, "BEGIN");
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

static sk_check
compare(const char *sql, const char *op, const char *value)
{
	sk_check c;

	memset(&c, 0, sizeof(c));
	c.name = "c";
	c.sql = (char *)sql;
	c.expect = SK_EXPECT_COMPARE;
	c.op = (char *)op;
	c.value = (char *)value;
	return c;
}

static void
eval_ok(const sk_check *c, sk_check_result *res)
{
	sk_err err;

	sk_err_clear(&err);
	if (agent_check_eval(conn, c, "pre", res, &err) != SK_OK) {
		print_error("eval %s: %s\n", c->sql, err.msg);
		fail();
	}
	assert_int_equal(PQtransactionStatus(conn), PQTRANS_INTRANS);
}

static void
test_compare_passes_and_fails_with_seen_value(void **state)
{
	sk_check c;
	sk_check_result res;

	(void)state;
	c = compare("SELECT count(*) FROM t WHERE n < 0", "=", "0");
	c.name = "no_negative";
	eval_ok(&c, &res);
	assert_true(res.passed);
	assert_string_equal(res.name, "no_negative");
	assert_string_equal(res.when, "pre");
	assert_string_equal(res.seen, "0");
	assert_string_equal(res.expected, "= 0");

	c = compare("SELECT count(*) FROM t", "=", "0");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_string_equal(res.seen, "3");

	/* Every operator, numerically: 10 < 9 would hold as text. */
	c = compare("SELECT 10", "<", "9");
	eval_ok(&c, &res);
	assert_false(res.passed);
	c = compare("SELECT 10", ">", "9");
	eval_ok(&c, &res);
	assert_true(res.passed);
	c = compare("SELECT 10", ">=", "10.0");
	eval_ok(&c, &res);
	assert_true(res.passed);
	c = compare("SELECT 10", "<=", "9.99");
	eval_ok(&c, &res);
	assert_false(res.passed);
	c = compare("SELECT 10", "!=", "10");
	eval_ok(&c, &res);
	assert_false(res.passed);
	c = compare("SELECT 10", "!=", "11");
	eval_ok(&c, &res);
	assert_true(res.passed);
	/* Beyond a double's precision. */
	c = compare("SELECT 9007199254740993::bigint", ">", "9007199254740992");
	eval_ok(&c, &res);
	assert_true(res.passed);
	c = compare("SELECT 1.50::numeric", "=", "1.5");
	eval_ok(&c, &res);
	assert_true(res.passed);
	c = compare("SELECT -0.5::numeric", "<", "0");
	eval_ok(&c, &res);
	assert_true(res.passed);
	c = compare("SELECT 1e6::float8", "=", "1000000");
	eval_ok(&c, &res);
	assert_true(res.passed);

	/* Text, and booleans written as true/false. */
	c = compare("SELECT label FROM t WHERE id = 1", "=", "a");
	eval_ok(&c, &res);
	assert_true(res.passed);
	c = compare("SELECT label FROM t WHERE id = 2", "=", "a");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_string_equal(res.seen, "b");
	c = compare("SELECT EXISTS (SELECT 1 FROM t)", "=", "true");
	eval_ok(&c, &res);
	assert_true(res.passed);
	assert_string_equal(res.seen, "t");
	c = compare("SELECT EXISTS (SELECT 1 FROM t WHERE n > 100)", "=", "true");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_string_equal(res.seen, "f");
	c = compare("SELECT EXISTS (SELECT 1 FROM t WHERE n > 100)", "=", "false");
	eval_ok(&c, &res);
	assert_true(res.passed);
}

static void
test_compare_needs_exactly_one_non_null_row(void **state)
{
	sk_check c;
	sk_check_result res;

	(void)state;
	c = compare("SELECT n FROM t WHERE id > 1", "=", "20");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_string_equal(res.seen, "2 rows");
	c = compare("SELECT n FROM t WHERE id > 99", "=", "20");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_string_equal(res.seen, "no rows");
	c = compare("SELECT label FROM t WHERE id = 3", "!=", "x");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_string_equal(res.seen, "NULL");
}

static void
test_no_rows_passes_and_fails(void **state)
{
	sk_check c;
	sk_check_result res;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.name = "orphans";
	c.expect = SK_EXPECT_NO_ROWS;
	c.sql = "SELECT id FROM t WHERE n > 100";
	eval_ok(&c, &res);
	assert_true(res.passed);
	assert_string_equal(res.seen, "no rows");
	assert_string_equal(res.expected, "no rows");

	c.sql = "SELECT id FROM t WHERE n >= 20";
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_string_equal(res.seen, "2 rows");
	c.sql = "SELECT id FROM t WHERE n = 20";
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_string_equal(res.seen, "1 row");
}

static sk_check
fails(const char *sql, const char *sqlstate)
{
	sk_check c;

	memset(&c, 0, sizeof(c));
	c.name = "constraint";
	c.expect = SK_EXPECT_FAILS;
	c.sql = (char *)sql;
	c.sqlstate = (char *)sqlstate;
	return c;
}

static void
test_fails_passes_with_the_expected_sqlstate(void **state)
{
	char buf[32];
	sk_check c;
	sk_check_result res;

	(void)state;
	c = fails("INSERT INTO t VALUES (4, -1, 'neg')", "23514");
	eval_ok(&c, &res);
	assert_true(res.passed);
	assert_string_equal(res.expected, "fails with 23514");
	assert_contains(res.seen, "23514: ");
	assert_contains(res.seen, "n_nonneg");
	/* The caller's transaction goes on, with nothing of the check. */
	assert_string_equal(
	    pgfixture_scalar(conn, "SELECT count(*) FROM t", buf, sizeof(buf)), "3");

	c = fails("INSERT INTO t VALUES (1, 5, 'dup')", "23505");
	eval_ok(&c, &res);
	assert_true(res.passed);
	assert_contains(res.seen, "23505: duplicate key");
}

static void
test_fails_that_succeeds_fails_and_leaves_no_row(void **state)
{
	char buf[32];
	sk_check c;
	sk_check_result res;
	sk_err err;

	(void)state;
	c = fails("INSERT INTO t VALUES (5, 50, 'allowed')", "23514");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_string_equal(res.seen, "succeeded");
	assert_string_equal(pgfixture_scalar(conn, "SELECT count(*) FROM t WHERE id = 5",
				buf, sizeof(buf)),
	    "0");
	/* Still nothing after the caller commits. */
	pgfixture_exec(conn, "COMMIT");
	assert_string_equal(pgfixture_scalar(conn, "SELECT count(*) FROM t WHERE id = 5",
				buf, sizeof(buf)),
	    "0");

	assert_int_equal(agent_check_fail(&err, &res), SK_ECHECK);
	assert_int_equal(err.code, SK_ECHECK);
	assert_string_equal(err.msg,
	    "check constraint (pre) failed: expected fails with 23514, saw succeeded");
	pgfixture_exec(conn, "BEGIN");
}

static sk_check
succeeds(const char *sql)
{
	sk_check c;

	memset(&c, 0, sizeof(c));
	c.name = "verify";
	c.expect = SK_EXPECT_SUCCEEDS;
	c.sql = (char *)sql;
	return c;
}

static void
test_succeeds_passes_whatever_the_query_returns(void **state)
{
	char buf[32];
	sk_check c;
	sk_check_result res;

	(void)state;
	/* Sqitch's verify idiom: 1, not true, is a pass. */
	c = succeeds("SELECT 1/count(*) FROM t WHERE id = 1");
	eval_ok(&c, &res);
	assert_true(res.passed);
	assert_string_equal(res.expected, "succeeds");
	assert_string_equal(res.seen, "succeeded");
	c = succeeds("SELECT id FROM t WHERE false");
	eval_ok(&c, &res);
	assert_true(res.passed);
	/* Whatever it did is undone; the caller's transaction goes on. */
	c = succeeds("DELETE FROM t; SELECT 1");
	eval_ok(&c, &res);
	assert_true(res.passed);
	assert_string_equal(
	    pgfixture_scalar(conn, "SELECT count(*) FROM t", buf, sizeof(buf)), "3");
}

static void
test_succeeds_fails_on_an_error_and_the_transaction_goes_on(void **state)
{
	char buf[32];
	sk_check c;
	sk_check_result res;
	sk_err err;

	(void)state;
	c = succeeds("SELECT 1/count(*) FROM t WHERE id = 99");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_contains(res.seen, "22012: ");
	c = succeeds("DO $$BEGIN RAISE EXCEPTION 'no users table'; END$$");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_contains(res.seen, "P0001: ");
	assert_int_equal(agent_check_fail(&err, &res), SK_ECHECK);
	assert_contains(err.msg, "check verify (pre) failed: expected succeeds");
	assert_string_equal(
	    pgfixture_scalar(conn, "SELECT count(*) FROM t", buf, sizeof(buf)), "3");
}

static void
test_fails_with_another_sqlstate_fails(void **state)
{
	char buf[32];
	sk_check c;
	sk_check_result res;

	(void)state;
	/* A duplicate key where a check violation was expected: the test did
	 * not test the constraint it names. */
	c = fails("INSERT INTO t VALUES (1, 5, 'dup')", "23514");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_contains(res.seen, "23505: ");
	c = fails("INSERT INTO missing VALUES (1)", "23514");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_contains(res.seen, "42P01: ");
	assert_string_equal(
	    pgfixture_scalar(conn, "SELECT count(*) FROM t", buf, sizeof(buf)), "3");
}

static void
test_fails_outside_a_transaction_changes_nothing(void **state)
{
	char buf[32];
	sk_check c;
	sk_check_result res;
	sk_err err;

	(void)state;
	pgfixture_exec(conn, "COMMIT");
	c = fails("INSERT INTO t VALUES (6, 60, 'x')", "23514");
	assert_int_equal(agent_check_eval(conn, &c, "post", &res, &err), SK_OK);
	assert_false(res.passed);
	assert_int_equal(PQtransactionStatus(conn), PQTRANS_IDLE);
	assert_string_equal(
	    pgfixture_scalar(conn, "SELECT count(*) FROM t", buf, sizeof(buf)), "3");
	pgfixture_exec(conn, "BEGIN");
}

static void
test_query_error_is_reported_and_aborts(void **state)
{
	sk_check c;
	sk_check_result res;
	sk_err err;

	(void)state;
	c = compare("SELECT count(*) FROM nowhere", "=", "0");
	c.name = "bad_query";
	sk_err_clear(&err);
	assert_int_equal(agent_check_eval(conn, &c, "post", &res, &err), SK_ESQL);
	assert_false(res.passed);
	assert_string_equal(res.name, "bad_query");
	assert_string_equal(res.when, "post");
	assert_contains(res.seen, "error 42P01: ");
	assert_contains(res.seen, "nowhere");
	assert_string_equal(err.sqlstate, "42P01");
	assert_contains(err.msg, "run check bad_query (post): ");
	assert_int_equal(PQtransactionStatus(conn), PQTRANS_INERROR);

	/* In an aborted transaction, a FAILS check cannot even start. */
	c = fails("INSERT INTO t VALUES (7, -1, 'x')", "23514");
	assert_int_equal(agent_check_eval(conn, &c, "post", &res, &err), SK_ESQL);
	assert_false(res.passed);
	assert_string_equal(err.sqlstate, "25P02");
	pgfixture_exec(conn, "ROLLBACK");
	pgfixture_exec(conn, "BEGIN");
}

static void
test_malformed_checks_are_refused(void **state)
{
	sk_check c;
	sk_check_result res;
	sk_err err;

	(void)state;
	c = compare("SELECT 1", "~", "1");
	assert_int_equal(agent_check_eval(conn, &c, "pre", &res, &err), SK_EINVAL);
	assert_false(res.passed);
	assert_contains(err.msg, "comparison \"~ 1\"");
	c = fails("SELECT 1", "235");
	assert_int_equal(agent_check_eval(conn, &c, "pre", &res, &err), SK_EINVAL);
	assert_false(res.passed);
	c.expect = 42;
	assert_int_equal(agent_check_eval(conn, &c, "pre", &res, &err), SK_EINVAL);
	c = compare(NULL, "=", "1");
	assert_int_equal(agent_check_eval(conn, &c, "pre", &res, &err), SK_EINVAL);
	assert_contains(err.msg, "run check c (pre): no SQL");
	assert_int_equal(PQtransactionStatus(conn), PQTRANS_INTRANS);
}

static void
test_compare_function(void **state)
{
	bool ok = true;

	(void)state;
	assert_false(agent_check_compare("1", "=~", "1", &ok));
	assert_false(ok);
	assert_true(agent_check_compare("007", "=", "7", &ok));
	assert_true(ok);
	assert_true(agent_check_compare("-0", "=", "0", &ok));
	assert_true(ok);
	assert_true(agent_check_compare("-2", "<", "-1", &ok));
	assert_true(ok);
	assert_true(agent_check_compare("-2.5", "<", "-2.25", &ok));
	assert_true(ok);
	assert_true(agent_check_compare("abc", "<", "abd", &ok));
	assert_true(ok);
	assert_true(agent_check_compare("NaN", "=", "NaN", &ok));
	assert_true(ok);
	assert_true(agent_check_compare(NULL, "!=", "x", &ok));
	assert_false(ok);
	assert_true(agent_check_compare("f", "<", "true", &ok));
	assert_true(ok);
	assert_true(agent_check_compare("t", "<>", "TRUE", &ok));
	assert_false(ok);
}

/* A number against a non-number never holds: compared as text, "abc" or
 * "NaN" would sort above "0" and a "> 0" check would pass. */
static void
test_compare_number_against_text_never_holds(void **state)
{
	const char *ops[] = { "=", "!=", "<", "<=", ">", ">=" };
	sk_check c;
	sk_check_result res;
	bool ok = true;

	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		assert_true(agent_check_compare("abc", ops[i], "0", &ok));
		assert_false(ok);
		assert_true(agent_check_compare("NaN", ops[i], "0", &ok));
		assert_false(ok);
		assert_true(agent_check_compare("", ops[i], "0", &ok));
		assert_false(ok);
		assert_true(agent_check_compare("5", ops[i], "abc", &ok));
		assert_false(ok);
	}
	/* Numbers still compare as numbers, in any notation. */
	assert_true(agent_check_compare("10", ">", "9", &ok));
	assert_true(ok);
	assert_true(agent_check_compare("10", ">", "9.5", &ok));
	assert_true(ok);
	assert_true(agent_check_compare("1e+06", "=", "1000000", &ok));
	assert_true(ok);
	assert_true(agent_check_compare(
	    "99999999999999999999", ">", "99999999999999999998", &ok));
	assert_true(ok);

	/* Through the database: a text column against a number fails. */
	c = compare("SELECT label FROM t WHERE id = 1", ">", "0");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_string_equal(res.seen, "a");
	c = compare("SELECT 'NaN'::numeric", ">", "0");
	eval_ok(&c, &res);
	assert_false(res.passed);
	/* "10" vs "9" from a query: numeric, not text order. */
	c = compare("SELECT '10'::text", ">", "9");
	eval_ok(&c, &res);
	assert_true(res.passed);
	/* Booleans. */
	c = compare("SELECT count(*) > 2 FROM t", "=", "true");
	eval_ok(&c, &res);
	assert_true(res.passed);
	assert_string_equal(res.seen, "t");
	c = compare("SELECT false", "=", "TRUE");
	eval_ok(&c, &res);
	assert_false(res.passed);
}

static void
test_compare_zero_columns_says_so(void **state)
{
	sk_check c;
	sk_check_result res;

	(void)state;
	c = compare("SELECT", "=", "0");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_string_equal(res.seen, "1 row with no columns");
	c = compare("SELECT 1, 2", "=", "1"); /* first column counts */
	eval_ok(&c, &res);
	assert_true(res.passed);
}

/* True when s is well-formed UTF-8. */
static bool
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t n = *p < 0x80 ? 1 :
		    *p >= 0xf0       ? 4 :
		    *p >= 0xe0       ? 3 :
		    *p >= 0xc2       ? 2 :
				       0;

		if (n == 0)
			return false;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n;
	}
	return true;
}

/* Long values are cut for the report on a character boundary; bytes that
 * are not UTF-8 (a LATIN1 client encoding here, a SQL_ASCII database in
 * real life) are never read past and never reported as broken UTF-8. The
 * comparison uses the whole value. */
static void
test_long_and_non_utf8_values_are_cut_safely(void **state)
{
	sk_check c;
	sk_check_result res;

	(void)state;
	c = compare("SELECT repeat('\xc3\xa9', 5000)", "!=", "x");
	eval_ok(&c, &res);
	assert_true(res.passed);
	assert_true(strlen(res.seen) > 200 && strlen(res.seen) < sizeof(res.seen));
	assert_true(valid_utf8(res.seen));
	assert_int_equal(strlen(res.seen) % 2, 0);

	/* The expected value is cut the same way. */
	{
		char *value = malloc(3001);

		assert_non_null(value);
		for (int i = 0; i < 1500; i++)
			memcpy(value + 2 * i, "\xc3\xa9", 2);
		value[3000] = '\0';
		c = compare("SELECT 1", "=", value);
		eval_ok(&c, &res);
		assert_false(res.passed);
		assert_true(valid_utf8(res.expected));
		assert_true(strncmp(res.expected, "= \xc3\xa9", 4) == 0);
		free(value);
	}

	/* 'caf\xc3\xa9' arrives as "caf\xe9": a lead byte with its
	 * continuation missing, at the very end of the value. */
	pgfixture_exec(conn, "SET LOCAL client_encoding = 'LATIN1'");
	c = compare("SELECT 'caf' || chr(233)", "=", "caf\xe9");
	eval_ok(&c, &res);
	assert_true(res.passed);
	assert_string_equal(res.seen, "caf?");
	c = compare("SELECT 'caf' || chr(233) || ' au lait'", "=", "x");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_string_equal(res.seen, "caf? au lait");
	pgfixture_exec(conn, "SET LOCAL client_encoding = 'UTF8'");
}

/* The constraint under test raised the right SQLSTATE, but a function
 * caught it: the statement succeeded, so the check fails (and nothing it
 * did is left). */
static void
test_fails_caught_inside_a_function_fails(void **state)
{
	char buf[32];
	sk_check c;
	sk_check_result res;

	(void)state;
	c = fails("DO $$BEGIN INSERT INTO t VALUES (7, 1, 'kept'); "
		  "INSERT INTO t VALUES (8, -1, 'neg'); "
		  "EXCEPTION WHEN check_violation THEN "
		  "INSERT INTO t VALUES (9, 1, 'caught'); END$$",
	    "23514");
	eval_ok(&c, &res);
	assert_false(res.passed);
	assert_string_equal(res.seen, "succeeded");
	assert_string_equal(
	    pgfixture_scalar(conn, "SELECT count(*) FROM t", buf, sizeof(buf)), "3");
}

/* A constraint test stuck behind a lock: the lock timeout is an
 * evaluation error carrying 55P03 (the step retries it), not a check that
 * "saw the wrong SQLSTATE". Expecting 55P03 itself still works. */
static void
test_fails_lock_timeout_is_an_error_not_a_verdict(void **state)
{
	PGconn *holder;
	char buf[32];
	sk_check c;
	sk_check_result res;
	sk_err err;

	(void)state;
	holder = pgfixture_connect(fixture_port, db_name, "check-holder");
	pgfixture_exec(holder, "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
	pgfixture_exec(conn, "SET LOCAL lock_timeout = '100ms'");

	c = fails("INSERT INTO t VALUES (4, -1, 'neg')", "23514");
	sk_err_clear(&err);
	assert_int_not_equal(agent_check_eval(conn, &c, "post", &res, &err), SK_OK);
	assert_string_equal(err.sqlstate, "55P03");
	assert_contains(err.msg, "run check constraint (post)");
	assert_false(res.passed);
	assert_contains(res.seen, "error 55P03");
	pgfixture_exec(conn, "ROLLBACK; BEGIN; SET LOCAL lock_timeout = '100ms'");

	c = fails("INSERT INTO t VALUES (4, -1, 'neg')", "55P03");
	eval_ok(&c, &res);
	assert_true(res.passed);

	/* A statement timeout likewise. */
	pgfixture_exec(holder, "ROLLBACK");
	pgfixture_exec(conn, "SET LOCAL statement_timeout = '100ms'");
	c = fails("SELECT pg_sleep(5)", "23514");
	sk_err_clear(&err);
	assert_int_not_equal(agent_check_eval(conn, &c, "post", &res, &err), SK_OK);
	assert_string_equal(err.sqlstate, "57014");
	assert_false(res.passed);
	pgfixture_exec(conn, "ROLLBACK");
	assert_string_equal(
	    pgfixture_scalar(conn, "SELECT count(*) FROM t", buf, sizeof(buf)), "3");
	pgfixture_exec(conn, "BEGIN");
	PQfinish(holder);
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
		DB_TEST(test_compare_passes_and_fails_with_seen_value),
		DB_TEST(test_compare_needs_exactly_one_non_null_row),
		DB_TEST(test_no_rows_passes_and_fails),
		DB_TEST(test_fails_passes_with_the_expected_sqlstate),
		DB_TEST(test_fails_that_succeeds_fails_and_leaves_no_row),
		DB_TEST(test_fails_with_another_sqlstate_fails),
		DB_TEST(test_succeeds_passes_whatever_the_query_returns),
		DB_TEST(test_succeeds_fails_on_an_error_and_the_transaction_goes_on),
		DB_TEST(test_fails_outside_a_transaction_changes_nothing),
		DB_TEST(test_query_error_is_reported_and_aborts),
		DB_TEST(test_malformed_checks_are_refused),
		cmocka_unit_test(test_compare_function),
		DB_TEST(test_compare_number_against_text_never_holds),
		DB_TEST(test_compare_zero_columns_says_so),
		DB_TEST(test_long_and_non_utf8_values_are_cut_safely),
		DB_TEST(test_fails_caught_inside_a_function_fails),
		DB_TEST(test_fails_lock_timeout_is_an_error_not_a_verdict),
	};

	return cmocka_run_group_tests(tests, setup_fixture, NULL);
}

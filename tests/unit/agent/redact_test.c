/* Unit tests of agent_redact: what of a database may leave the region. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "agent_check.h"
#include "agent_redact.h"
#include "sk_err.h"

static void
expect_sql(const char *in, const char *want)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", in);
	agent_redact_sql(buf);
	if (strcmp(buf, want) != 0)
		fail_msg("redact \"%s\": got \"%s\", want \"%s\"", in, buf, want);
}

static void
test_sql_values_are_masked_and_names_kept(void **state)
{
	(void)state;
	expect_sql("UPDATE users SET email = 'alice@x.example' WHERE id = 42",
	    "UPDATE users SET email = '?' WHERE id = ?");
	expect_sql("SELECT t1.c2 FROM t1 WHERE t1.n > 3.5e3",
	    "SELECT t1.c2 FROM t1 WHERE t1.n > ?");
	expect_sql("INSERT INTO \"Emails\" VALUES ('it''s mine', E'x\\ny')",
	    "INSERT INTO \"Emails\" VALUES ('?', E'?')");
	expect_sql("SELECT $$secret body$$, $f$a$$b$f$", "SELECT '?', '?'");
	/* A query cut off inside a constant (pg_stat_activity truncates). */
	expect_sql("UPDATE users SET email = 'alice@exa", "UPDATE users SET email = '?'");
	expect_sql("SELECT 'a", "SELECT '?");
	/* An empty constant holds nothing; $1 is a parameter, not a value. */
	expect_sql("SELECT '' WHERE id = $1", "SELECT '' WHERE id = $1");
	expect_sql("", "");
}

static void
test_only_data_exception_messages_lose_their_quotes(void **state)
{
	char m[256];

	(void)state;
	snprintf(m, sizeof(m), "invalid input syntax for type integer: \"12ab\"");
	agent_redact_message(m, "22P02");
	assert_string_equal(m, "invalid input syntax for type integer: \"?\"");
	snprintf(m, sizeof(m), "value \"99999999999\" is out of range for type integer");
	agent_redact_message(m, "22003");
	assert_string_equal(m, "value \"?\" is out of range for type integer");
	snprintf(m, sizeof(m),
	    "duplicate key value violates unique constraint \"u_email\"");
	agent_redact_message(m, "23505");
	assert_string_equal(
	    m, "duplicate key value violates unique constraint \"u_email\"");
	agent_redact_message(m, NULL);
	assert_string_equal(
	    m, "duplicate key value violates unique constraint \"u_email\"");
}

static void
expect_seen(const char *seen, bool report_value, const char *want)
{
	sk_check_result res;
	char out[256];

	memset(&res, 0, sizeof(res));
	snprintf(res.seen, sizeof(res.seen), "%s", seen);
	res.report_value = report_value;
	agent_redact_seen(&res, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fail_msg("seen \"%s\": got \"%s\", want \"%s\"", seen, out, want);
}

static void
test_figures_cross_and_text_values_do_not(void **state)
{
	(void)state;
	expect_seen("3", false, "3");
	expect_seen("-2.5", false, "-2.5");
	expect_seen("t", false, "t");
	expect_seen("NULL", false, "NULL");
	expect_seen("no rows", false, "no rows");
	expect_seen("12 rows", false, "12 rows");
	expect_seen("1 row with no columns", false, "1 row with no columns");
	expect_seen("succeeded (INSERT 0 1)", false, "succeeded (INSERT 0 1)");
	expect_seen("alice@x.example", false, AGENT_REDACTED);
	expect_seen("3 apples", false, AGENT_REDACTED);
	expect_seen("nan", false, AGENT_REDACTED);
	expect_seen("alice@x.example", true, "alice@x.example");
	expect_seen("23505: duplicate key value violates unique constraint \"u\"",
	    false, "23505: duplicate key value violates unique constraint \"u\"");
	expect_seen("error 22P02: invalid input syntax for type integer: \"ab\"",
	    false, "error 22P02: invalid input syntax for type integer: \"?\"");
}

static void
test_report_loses_the_database_detail_and_keeps_its_own(void **state)
{
	sk_report r;

	(void)state;
	memset(&r, 0, sizeof(r));
	snprintf(r.database, sizeof(r.database), "app");
	sk_err_set(&r.error, SK_ESQL, "could not create unique index \"u\"");
	snprintf(r.error.sqlstate, sizeof(r.error.sqlstate), "23505");
	snprintf(r.error.detail, sizeof(r.error.detail),
	    "Key (email)=(alice@x.example) is duplicated.");
	r.error.db_detail = true;
	r.has_check = true;
	snprintf(r.check.seen, sizeof(r.check.seen), "alice@x.example");
	agent_redact_report(&r, "af");
	assert_null(strstr(r.error.detail, "alice"));
	assert_non_null(strstr(r.error.detail, "skein.events in af/app"));
	assert_false(r.error.db_detail);
	assert_string_equal(r.check.seen, AGENT_REDACTED);
	assert_string_equal(r.error.sqlstate, "23505");

	/* Where the database is stays with the agent. */
	memset(&r, 0, sizeof(r));
	sk_err_set(&r.error, SK_ECONN,
	    "connect: connection to server at \"10.0.0.5\", port 5432 failed: "
	    "Connection refused");
	agent_redact_report(&r, "af");
	assert_string_equal(r.error.msg,
	    "connect: connection to server at \"?\", port ? failed: Connection refused");
	sk_err_set(&r.error, SK_ECONN,
	    "connection to server on socket \"/run/postgresql/.s.PGSQL.5432\" failed");
	agent_redact_report(&r, "af");
	assert_string_equal(r.error.msg, "connection to server on socket \"?\" failed");

	/* skein's own detail (attempts, checksums) is not the database's. */
	memset(&r, 0, sizeof(r));
	sk_err_set(&r.error, SK_ELOCK, "gave up");
	snprintf(r.error.detail, sizeof(r.error.detail), "5 attempts, 900 ms");
	agent_redact_report(&r, "af");
	assert_string_equal(r.error.detail, "5 attempts, 900 ms");
}

static void
test_a_failed_check_names_no_text_value(void **state)
{
	sk_check_result res;
	sk_err err;

	(void)state;
	memset(&res, 0, sizeof(res));
	snprintf(res.name, sizeof(res.name), "first_email");
	snprintf(res.when, sizeof(res.when), "post");
	snprintf(res.expected, sizeof(res.expected), "= nobody");
	snprintf(res.seen, sizeof(res.seen), "alice@x.example");
	assert_int_equal(agent_check_fail(&err, &res), SK_ECHECK);
	assert_string_equal(err.msg,
	    "check first_email (post) failed: expected = nobody, saw " AGENT_REDACTED);
	res.report_value = true;
	assert_int_equal(agent_check_fail(&err, &res), SK_ECHECK);
	assert_non_null(strstr(err.msg, "saw alice@x.example"));
	snprintf(res.seen, sizeof(res.seen), "7");
	res.report_value = false;
	assert_int_equal(agent_check_fail(&err, &res), SK_ECHECK);
	assert_non_null(strstr(err.msg, "saw 7"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sql_values_are_masked_and_names_kept),
		cmocka_unit_test(test_only_data_exception_messages_lose_their_quotes),
		cmocka_unit_test(test_figures_cross_and_text_values_do_not),
		cmocka_unit_test(test_report_loses_the_database_detail_and_keeps_its_own),
		cmocka_unit_test(test_a_failed_check_names_no_text_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

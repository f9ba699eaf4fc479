/* probe_test: agent_probe_parse, the number an HTTP probe's body starts
 * with: numbers in every form strtod reads, white space and trailing
 * words; and every body that is not a number refused with a message and
 * no value. (agent_health_test probes a real server.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent_probe.h"

static double
parse_ok(const char *body, size_t len)
{
	double v = -1;
	sk_err err;

	sk_err_clear(&err);
	if (agent_probe_parse(body, len, &v, &err) != SK_OK) {
		print_error("parse \"%.*s\": %s\n", (int)len, body, err.msg);
		fail();
	}
	return v;
}

static void
expect_refused(const char *body, size_t len, const char *want)
{
	double v = 99;
	sk_err err;

	sk_err_clear(&err);
	assert_int_equal(agent_probe_parse(body, len, &v, &err), SK_EINVAL);
	if (strstr(err.msg, want) == NULL) {
		print_error("expected \"%s\" in \"%s\"\n", want, err.msg);
		fail();
	}
	assert_true(v == 0);
}

#define S(lit) lit, sizeof(lit) - 1

static void
test_parse_reads_numbers(void **state)
{
	(void)state;
	assert_true(parse_ok(S("42")) == 42);
	assert_true(parse_ok(S("-0.5")) == -0.5);
	assert_true(parse_ok(S("1e3")) == 1000);
	assert_true(parse_ok(S("0")) == 0);
	assert_true(parse_ok(S("  7.25\n")) == 7.25);
	/* The first token only: words after it are the application's. */
	assert_true(parse_ok(S("3 errors in the last minute\n")) == 3);
	assert_true(parse_ok(S("\t12\r\nok")) == 12);
}

/* The body is not terminated: parsing stops at len. */
static void
test_parse_stops_at_len(void **state)
{
	const char body[] = { '1', '2', '3', '4' };

	(void)state;
	assert_true(parse_ok(body, 2) == 12);
	assert_true(parse_ok(body, 4) == 1234);
}

static void
test_parse_refuses_what_is_not_a_number(void **state)
{
	char longtok[100];

	(void)state;
	expect_refused(S(""), "empty");
	expect_refused(S("   \n\t"), "empty");
	expect_refused(S("ok"), "\"ok\" is not a finite number");
	expect_refused(S("12abc"), "\"12abc\" is not a finite number");
	expect_refused(S("nan"), "not a finite number");
	expect_refused(S("inf"), "not a finite number");
	expect_refused(S("-Infinity"), "not a finite number");
	expect_refused(S("1e999"), "not a finite number");
	expect_refused(S("<html><body>500</body></html>"), "not a finite number");
	memset(longtok, '1', sizeof(longtok));
	expect_refused(longtok, sizeof(longtok), "100 bytes long");
	/* A NUL ends the token: "\0" alone is empty. */
	expect_refused("\0"
		       "5",
	    2, "empty");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_reads_numbers),
		cmocka_unit_test(test_parse_stops_at_len),
		cmocka_unit_test(test_parse_refuses_what_is_not_a_number),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for sk_window: weekdays and hours in a zone, daylight
 * saving, windows across midnight, HH:MM:SS, and that the process's TZ
 * is left as it was. Instants are Unix seconds computed independently
 * (Python zoneinfo). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sk_plan.h"
#include "sk_window.h"

static char *weekdays[] = { "mon", "tue", "wed", "thu", "fri" };
static char *friday[] = { "fri" };

static void
eval(const sk_window *w, int64_t now_s, bool want_open, int64_t want_opens_s)
{
	bool open = !want_open;
	int64_t opens = -1;

	sk_window_eval(w, now_s * 1000, &open, &opens);
	assert_int_equal(open, want_open);
	assert_int_equal(opens, want_opens_s * 1000);
}

static void
test_window_weekdays_in_berlin(void **state)
{
	sk_window w = {
		.days = weekdays, .ndays = 5, .from = "09:00", .until = "17:00", .tz = "Europe/Berlin"
	};

	(void)state;
	eval(&w, 1796198400, true, 0);           /* Wed 09:00 CET: opens */
	eval(&w, 1796198399, false, 1796198400); /* a second before */
	eval(&w, 1796227200, false, 1796284800); /* Wed 17:00: closed; Thu 09:00 */
	eval(&w, 1796468400, false, 1796630400); /* Sat noon: Mon 09:00 */
}

static void
test_window_daylight_saving(void **state)
{
	sk_window w = { .from = "09:00", .until = "10:00", .tz = "Europe/Berlin" };
	sk_window gap = { .from = "02:30", .until = "04:00", .tz = "Europe/Berlin" };

	(void)state;
	/* Sat 28 March 2026 noon UTC: the next 09:00 is Sunday's, after the
	 * clocks went forward: 07:00 UTC, not 08:00. */
	eval(&w, 1774699200, false, 1774767600);
	/* Sun 29 March 01:00 CET: 02:30 does not exist that night; the
	 * window opens when the clock says 03:30 CEST. */
	eval(&gap, 1774742400, false, 1774747800);
}

static void
test_window_across_midnight(void **state)
{
	sk_window w = {
		.days = friday, .ndays = 1, .from = "22:00", .until = "06:00", .tz = "UTC"
	};

	(void)state;
	eval(&w, 1796421600, true, 0);           /* Fri 22:00 */
	eval(&w, 1796439600, true, 0);           /* Sat 03:00: Friday's night */
	eval(&w, 1796454000, false, 1797026400); /* Sat 07:00: next Friday */
}

static void
test_window_seconds_and_whole_days(void **state)
{
	sk_window w = { .from = "10:00:10", .until = "10:00:20" };
	sk_window days = { .days = friday, .ndays = 1 };
	sk_window none = { 0 };

	(void)state;
	eval(&w, 1796292005, false, 1796292010); /* Thu 10:00:05 UTC */
	eval(&w, 1796292010, true, 0);
	eval(&w, 1796292020, false, 1796292010 + 86400);
	eval(&days, 1796292005, false, 1796342400); /* Fri 00:00 UTC */
	eval(&none, 1796292005, true, 0);
}

static void
test_window_leaves_tz_alone(void **state)
{
	sk_window w = { .from = "09:00", .until = "17:00", .tz = "Asia/Tokyo" };
	char buf[64];
	bool open;
	int64_t opens;

	(void)state;
	setenv("TZ", "America/New_York", 1);
	sk_window_eval(&w, 1796198400000, &open, &opens);
	assert_string_equal(getenv("TZ"), "America/New_York");
	unsetenv("TZ");
	sk_window_eval(&w, 1796198400000, &open, &opens);
	assert_null(getenv("TZ"));
	sk_window_local(1796198400000, "Europe/Berlin", buf, sizeof(buf));
	assert_string_equal(buf, "Wed 09:00:00 Europe/Berlin");
	sk_window_local(1796198400000, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "Wed 08:00:00 UTC");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_weekdays_in_berlin),
		cmocka_unit_test(test_window_daylight_saving),
		cmocka_unit_test(test_window_across_midnight),
		cmocka_unit_test(test_window_seconds_and_whole_days),
		cmocka_unit_test(test_window_leaves_tz_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* dashboard_test: the page embedded at build time (coord_dashboard.h) is
 * one self-contained HTML document: its CSS and JavaScript inlined, no
 * external URL, no NUL inside, and the length the header says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coord_dashboard.h"

static const char *
page(void)
{
	return (const char *)coord_dashboard_html;
}

static void
test_dashboard_length_matches_and_no_nul_inside(void **state)
{
	(void)state;
	assert_true(coord_dashboard_html_len > 1000);
	assert_null(memchr(coord_dashboard_html, '\0', coord_dashboard_html_len));
	/* The generator ends the array with a NUL it does not count, so the
	 * page is also a C string. */
	assert_int_equal(coord_dashboard_html[coord_dashboard_html_len], 0);
	assert_int_equal(strlen(page()), coord_dashboard_html_len);
}

static void
test_dashboard_is_one_html_document(void **state)
{
	const char *end = "</html>\n";

	(void)state;
	assert_memory_equal(page(), "<!DOCTYPE html>", 15);
	assert_string_equal(page() + coord_dashboard_html_len - strlen(end), end);
	assert_non_null(strstr(page(), "<meta charset=\"utf-8\">"));
	assert_non_null(strstr(page(), "<html lang=\"en\">"));
}

static void
test_dashboard_inlines_its_css_and_js(void **state)
{
	(void)state;
	assert_null(strstr(page(), "href=\"dashboard.css\""));
	assert_null(strstr(page(), "src=\"dashboard.js\""));
	assert_non_null(strstr(page(), "<style>\n"));
	assert_non_null(strstr(page(), "<script>\n/* skein dashboard"));
	/* One script, ended once: the inlined JS must not close it early. */
	assert_non_null(strstr(page(), "</script>"));
	assert_null(strstr(strstr(page(), "</script>") + 1, "</script"));
}

static void
test_dashboard_names_no_external_url(void **state)
{
	(void)state;
	assert_null(strstr(page(), "http://"));
	assert_null(strstr(page(), "https://"));
	assert_null(strstr(page(), "src=\"//"));
	assert_null(strstr(page(), "href=\"//"));
	assert_null(strstr(page(), "@import"));
}

static void
test_dashboard_reads_only_the_api(void **state)
{
	(void)state;
	/* The page asks the read-only API, and nothing but GET. */
	assert_non_null(strstr(page(), "var API = '/api/v1';"));
	assert_null(strstr(page(), "method:"));
	assert_null(strstr(page(), "XMLHttpRequest"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dashboard_length_matches_and_no_nul_inside),
		cmocka_unit_test(test_dashboard_is_one_html_document),
		cmocka_unit_test(test_dashboard_inlines_its_css_and_js),
		cmocka_unit_test(test_dashboard_names_no_external_url),
		cmocka_unit_test(test_dashboard_reads_only_the_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

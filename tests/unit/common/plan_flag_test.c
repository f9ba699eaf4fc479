/* Unit tests for flag steps on paper: plan.yaml's kind: flag and every
 * mistake in it (at its line and column, no plan built), residency
 * resolved through the inventory, templates, and the body on the wire
 * (round trip, checksum, decode refusing a tampered body). */
#define _GNU_SOURCE /* nftw, memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>

#include <cmocka.h>

#include "sk_config.h"
#include "sk_plan.h"
#include "sk_plan_build.h"

#define NOW 1795000000
#define HEAD                                                            \
"name: p\nphases:\n  - name: all\n    regions: [af, in, ksa]\nsteps:\n" \
    "  - id: s1\n    sql: s1.sql\n    revert: s1_down.sql\n"

static sk_region regions[] = {
	{ .name = (char *)"af", .residency = (char *)"af" },
	{ .name = (char *)"in", .residency = (char *)"in" },
	{ .name = (char *)"ksa", .residency = (char *)"ksa" },
};
static const sk_inventory inv = {
	.dir = (char *)"regions", .regions = regions, .nregions = 3
};

static char tmpdir[64];

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sk-flag-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	write_file("s1.sql", "CREATE TABLE t (id int);\n");
	write_file("s1_down.sql", "DROP TABLE t;\n");
	return 0;
}

static int
teardown_tmp(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static sk_plan *
build(const char *steps, const sk_inventory *in, sk_err *err)
{
	sk_plan *plan = NULL;
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/plan.yaml", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, HEAD "%s", steps);
	fclose(f);
	sk_err_clear(err);
	if (sk_plan_build(tmpdir, in, NOW, &plan, err) != SK_OK) {
		assert_null(plan);
		return NULL;
	}
	return plan;
}

static void
test_flag_step_builds_with_residency_and_tenants(void **state)
{
	sk_plan *plan;
	const sk_flag *f;
	sk_err err;

	(void)state;
	plan = build("  - id: pilots_on\n    kind: flag\n"
		     "    flag: feature.reporting_v1\n    value: On\n"
		     "    tenants: [hotel-af-001, hotel-af-002]\n"
		     "    residency: [af]\n",
	    &inv, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(plan->nsteps, 2);
	assert_int_equal(plan->steps[1].kind, SK_STEP_FLAG);
	f = plan->steps[1].flag;
	assert_non_null(f);
	assert_string_equal(f->name, "feature.reporting_v1");
	assert_string_equal(f->value, "true"); /* On, normalised */
	assert_int_equal(f->ntenants, 2);
	assert_string_equal(f->tenants[1], "hotel-af-002");
	assert_int_equal(f->nregions, 1);
	assert_string_equal(f->regions[0], "af");
	assert_true(sk_flag_in_region(f, "af"));
	assert_false(sk_flag_in_region(f, "in"));
	assert_null(f->set_template);
	sk_plan_destroy(plan);

	/* No tenants, no residency: every tenant, every region. */
	plan = build("  - id: all_off\n    kind: flag\n    flag: x\n    value: off\n",
	    NULL, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	f = plan->steps[1].flag;
	assert_string_equal(f->value, "false");
	assert_int_equal(f->ntenants, 0);
	assert_true(sk_flag_in_region(f, "ksa"));
	sk_plan_destroy(plan);
}

static void
test_flag_step_with_template_builds(void **state)
{
	sk_plan *plan;
	sk_err err;

	(void)state;
	plan = build("  - id: t\n    kind: flag\n    flag: feature.reporting_v1\n"
		     "    value: \"true\"\n    tenants: [a]\n    template:\n"
		     "      set: \"UPDATE ts SET f = :'value' WHERE tenant = :'tenant'\"\n"
		     "      get: \"SELECT f FROM ts WHERE tenant = :'tenant' AND "
		     ":'flag' = :'flag'\"\n",
	    NULL, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	assert_non_null(plan->steps[1].flag->set_template);
	assert_non_null(strstr(plan->steps[1].flag->get_template, ":'flag'"));
	sk_plan_destroy(plan);
}

static void
test_flag_step_mistakes_are_refused_where_they_are(void **state)
{
	static const struct {
		const char *steps;
		const sk_inventory *inv;
		const char *want;
	} bad[] = {
		{ "  - id: f\n    kind: flag\n    value: true\n", NULL,
		    "missing required key \"flag\"" },
		{ "  - id: f\n    kind: flag\n    flag: Feature!\n    value: true\n",
		    NULL, "plan.yaml:11:11: steps[1].flag: " },
		{ "  - id: f\n    kind: flag\n    flag: Feature!\n    value: true\n",
		    NULL, "is not a flag name" },
		{ "  - id: f\n    kind: flag\n    flag: x\n", NULL,
		    "missing required key \"value\"" },
		{ "  - id: f\n    kind: flag\n    flag: x\n    value: true\n"
		  "    tenants: hotel-1\n",
		    NULL, "expected a list of tenant ids" },
		{ "  - id: f\n    kind: flag\n    flag: x\n    value: true\n"
		  "    tenants: []\n",
		    NULL, "tenants is an empty list" },
		{ "  - id: f\n    kind: flag\n    flag: x\n    value: true\n"
		  "    residency: [af]\n",
		    NULL, "selects by residency: pass --regions DIR" },
		{ "  - id: f\n    kind: flag\n    flag: x\n    value: true\n"
		  "    residency: [eu]\n",
		    &inv, "residency \"eu\" matches no region" },
		{ "  - id: f\n    kind: flag\n    flag: x\n    value: true\n"
		  "    tenants: [a]\n    template:\n"
		  "      set: \"UPDATE s SET v = 1; DROP TABLE s\"\n"
		  "      get: \"SELECT v FROM s\"\n",
		    NULL, "template.set holds ';'" },
		{ "  - id: f\n    kind: flag\n    flag: x\n    value: true\n"
		  "    tenants: [a]\n    template:\n"
		  "      set: \"UPDATE s SET v = :'other'\"\n"
		  "      get: \"SELECT v FROM s\"\n",
		    NULL, "unknown placeholder" },
		{ "  - id: f\n    kind: flag\n    flag: x\n    value: true\n"
		  "    tenants: [a]\n    template:\n      set: \"UPDATE s SET v = 1\"\n",
		    NULL, "missing required key \"get\"" },
		{ "  - id: f\n    kind: flag\n    flag: x\n    value: true\n"
		  "    template:\n      set: \"UPDATE s SET v = 1\"\n"
		  "      get: \"SELECT v FROM s\"\n",
		    NULL, "has a template but no tenants" },
		{ "  - id: f\n    kind: flag\n    flag: x\n    value: true\n"
		  "    revert: s1_down.sql\n",
		    NULL, "is a flag step with a revert script" },
		{ "  - id: f\n    kind: flag\n    flag: x\n    value: true\n"
		  "    table: t\n",
		    NULL, "a step of kind flag has no table" },
		{ "  - id: f\n    sql: s1.sql\n    flag: x\n", NULL,
		    "a step of kind sql has no flag" },
	};
	sk_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sk_plan *plan = build(bad[i].steps, bad[i].inv, &err);

		if (plan != NULL)
			fail_msg("case %zu built", i);
		if (strstr(err.msg, bad[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg,
			    bad[i].want);
	}
}

static void
test_flag_body_round_trips_and_tamper_is_refused(void **state)
{
	sk_plan *plan, *back = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	const sk_flag *f;
	sk_err err;
	char *p;

	(void)state;
	plan = build("  - id: t\n    kind: flag\n    flag: feature.reporting_v1\n"
		     "    value: yes\n    tenants: [a, b]\n    residency: [in, ksa]\n"
		     "    template:\n      set: \"UPDATE ts SET f = :'value'\"\n"
		     "      get: \"SELECT f FROM ts WHERE id = :'tenant'\"\n",
	    &inv, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(sk_plan_encode(plan, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_plan_decode(buf, len, &back, &err), SK_OK);
	f = back->steps[1].flag;
	assert_non_null(f);
	assert_string_equal(f->name, "feature.reporting_v1");
	assert_string_equal(f->value, "true");
	assert_int_equal(f->ntenants, 2);
	assert_string_equal(f->tenants[0], "a");
	assert_int_equal(f->nregions, 2);
	assert_string_equal(f->regions[1], "ksa");
	assert_int_equal(f->nresidency, 2);
	assert_string_equal(f->set_template, "UPDATE ts SET f = :'value'");
	assert_memory_equal(
	    back->steps[1].checksum, plan->steps[1].checksum, SK_CHECKSUM_LEN);
	sk_plan_destroy(back);
	back = NULL;
	/* The value changed on the wire: the checksum no longer holds. */
	p = memmem(buf, len, "feature.reporting_v1", 20);
	assert_non_null(p);
	p[0] = 'g';
	assert_int_not_equal(sk_plan_decode(buf, len, &back, &err), SK_OK);
	assert_null(back);
	assert_non_null(strstr(err.msg, "checksum"));
	free(buf);
	sk_plan_destroy(plan);
}

static void
test_flag_values_normalise(void **state)
{
	static const char *const in[] = { "TRUE", "on", "Yes", "1", "false",
		"OFF", "no", "0", "beta", NULL };
	static const char *const want[] = { "true", "true", "true", "true",
		"false", "false", "false", "false", "beta" };
	char *out = NULL;
	sk_err err;

	(void)state;
	for (size_t i = 0; in[i] != NULL; i++) {
		assert_int_equal(sk_flag_value_normalize(in[i], &out, &err), SK_OK);
		assert_string_equal(out, want[i]);
		free(out);
	}
	assert_int_equal(sk_flag_value_normalize("", &out, &err), SK_EINVAL);
	assert_int_equal(sk_flag_value_normalize("a\nb", &out, &err), SK_EINVAL);
	assert_true(sk_flag_name_valid("feature.reporting_v1"));
	assert_false(sk_flag_name_valid("Feature"));
	assert_false(sk_flag_name_valid(""));
	assert_false(sk_flag_name_valid("a b"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flag_step_builds_with_residency_and_tenants),
		cmocka_unit_test(test_flag_step_with_template_builds),
		cmocka_unit_test(test_flag_step_mistakes_are_refused_where_they_are),
		cmocka_unit_test(test_flag_body_round_trips_and_tamper_is_refused),
		cmocka_unit_test(test_flag_values_normalise),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}

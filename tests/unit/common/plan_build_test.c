/* Unit tests for sk_plan_build: plan directories from tests/data/plans and
 * plans written per test into a temporary directory, against a small
 * inventory built in memory. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sk_plan.h"

#define NOW 1795000000

#define assert_msg(err, sub)                                \
do {                                                        \
if (strstr((err)->msg, (sub)) == NULL)                      \
fail_msg("message \"%s\" lacks \"%s\"", (err)->msg, (sub)); \
} while (0)

/* Sorted by name, as sk_inventory_load leaves it. */
static sk_region test_regions[] = {
	{ .name = (char *)"af", .residency = (char *)"af" },
	{ .name = (char *)"in", .residency = (char *)"in" },
	{ .name = (char *)"in2", .residency = (char *)"in" },
	{ .name = (char *)"ksa", .residency = (char *)"ksa" },
};
static const sk_inventory test_inv = {
	.dir = (char *)"regions",
	.regions = test_regions,
	.nregions = 4,
};

static char tmpdir[64];

static void
plan_dir(char *buf, size_t len, const char *name)
{
	const char *d = getenv("SKEIN_TEST_DATA");

	if (d == NULL)
		fail_msg("SKEIN_TEST_DATA is not set");
	snprintf(buf, len, "%s/plans/%s", d, name);
}

static sk_plan *
build_ok(const char *name, const sk_inventory *inv)
{
	char dir[512];
	sk_plan *plan = NULL;
	sk_err err;

	plan_dir(dir, sizeof(dir), name);
	if (sk_plan_build(dir, inv, NOW, &plan, &err) != SK_OK)
		fail_msg("build %s: %s", name, err.msg);
	assert_non_null(plan);
	return plan;
}

/* Build dir expecting failure with code and every non-NULL substring in
 * the message; *out must stay as it was. */
static void
build_fails_dir(const char *dir, const sk_inventory *inv, int code,
    const char *sub1, const char *sub2)
{
	sk_plan *sentinel = (sk_plan *)&sentinel;
	sk_plan *plan = sentinel;
	sk_err err;

	sk_err_clear(&err);
	assert_int_equal(sk_plan_build(dir, inv, NOW, &plan, &err), code);
	assert_ptr_equal(plan, sentinel);
	assert_msg(&err, sub1);
	if (sub2 != NULL)
		assert_msg(&err, sub2);
}

static void
build_fails(const char *name, const sk_inventory *inv, int code,
    const char *sub1, const char *sub2)
{
	char dir[512];

	plan_dir(dir, sizeof(dir), name);
	build_fails_dir(dir, inv, code, sub1, sub2);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sk-plan-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmp(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_tmp(const char *name, const char *data, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void
test_plan_build_quickstart_resolves_residency(void **state)
{
	uint8_t sum[SK_CHECKSUM_LEN];
	sk_plan *plan;

	(void)state;
	plan = build_ok("quickstart", &test_inv);
	assert_string_equal(plan->name, "quickstart");
	assert_int_equal(strlen(plan->id), 14);
	assert_memory_equal(plan->id, "p-", 2);
	assert_int_equal(plan->created_unix, NOW);
	assert_int_equal(plan->expires_unix, NOW + 72 * 3600);
	assert_int_equal(plan->nphases, 2);
	assert_string_equal(plan->phases[0].name, "canary");
	assert_int_equal(plan->phases[0].nregions, 1);
	assert_string_equal(plan->phases[0].regions[0], "af");
	assert_int_equal(plan->phases[0].nresidency, 0);
	assert_string_equal(plan->phases[1].name, "rest");
	assert_int_equal(plan->phases[1].nregions, 3);
	assert_string_equal(plan->phases[1].regions[0], "in");
	assert_string_equal(plan->phases[1].regions[1], "in2");
	assert_string_equal(plan->phases[1].regions[2], "ksa");
	assert_int_equal(plan->phases[1].nresidency, 2);
	assert_string_equal(plan->phases[1].residency[0], "in");
	assert_string_equal(plan->phases[1].residency[1], "ksa");
	assert_int_equal(plan->nregions, 4);
	assert_string_equal(plan->regions[0], "af");
	assert_string_equal(plan->regions[3], "ksa");

	assert_int_equal(plan->nsteps, 2);
	assert_string_equal(plan->steps[0].id, "0001_create_accounts");
	assert_int_equal(plan->steps[0].kind, SK_STEP_SQL);
	assert_false(plan->steps[0].no_transaction);
	assert_non_null(strstr(plan->steps[0].sql, "CREATE TABLE accounts"));
	assert_string_equal(plan->steps[0].revert, "DROP TABLE accounts;\n");
	assert_non_null(strstr(plan->steps[0].verify, "pg_tables"));
	assert_string_equal(plan->steps[0].sql_path, "0001_create_accounts.sql");
	assert_string_equal(
	    plan->steps[0].revert_path, "0001_create_accounts.revert.sql");
	assert_string_equal(
	    plan->steps[0].verify_path, "0001_create_accounts.verify.sql");
	sk_step_text_checksum(&plan->steps[0], sum);
	assert_memory_equal(plan->steps[0].checksum, sum, SK_CHECKSUM_LEN);

	assert_string_equal(plan->steps[1].id, "0002_accounts_email_idx");
	assert_true(plan->steps[1].no_transaction);
	assert_string_equal(plan->steps[1].sql_path, "sql/0002_accounts_email_idx.sql");
	assert_null(plan->steps[1].revert);
	assert_null(plan->steps[1].revert_path);
	assert_null(plan->steps[1].verify);
	sk_step_text_checksum(&plan->steps[1], sum);
	assert_memory_equal(plan->steps[1].checksum, sum, SK_CHECKSUM_LEN);
	assert_memory_not_equal(
	    plan->steps[0].checksum, plan->steps[1].checksum, SK_CHECKSUM_LEN);
	sk_plan_destroy(plan);
}

static void
test_plan_build_union_keeps_phase_order(void **state)
{
	sk_plan *plan;

	(void)state;
	plan = build_ok("union", &test_inv);
	assert_int_equal(plan->expires_unix, NOW + 5400);
	assert_int_equal(plan->phases[0].nregions, 3);
	assert_string_equal(plan->phases[0].regions[0], "ksa");
	assert_string_equal(plan->phases[0].regions[1], "in2");
	assert_string_equal(plan->phases[0].regions[2], "in");
	assert_int_equal(plan->nregions, 4);
	assert_string_equal(plan->regions[0], "ksa");
	assert_string_equal(plan->regions[1], "in2");
	assert_string_equal(plan->regions[2], "in");
	assert_string_equal(plan->regions[3], "af");
	assert_false(plan->steps[0].no_transaction);
	assert_string_equal(plan->steps[0].sql, "\n  SELECT 1;\n");
	sk_plan_destroy(plan);
}

static void
test_plan_build_by_name_needs_no_inventory(void **state)
{
	sk_plan *a, *b;

	(void)state;
	a = build_ok("by-name", NULL);
	assert_int_equal(a->nregions, 2);
	assert_string_equal(a->regions[1], "eu-west");
	assert_int_equal(a->expires_unix, NOW + 72 * 3600);
	/* Each build is a new plan. */
	b = build_ok("by-name", NULL);
	assert_string_not_equal(a->id, b->id);
	assert_memory_equal(a->steps[0].checksum, b->steps[0].checksum, SK_CHECKSUM_LEN);
	sk_plan_destroy(a);
	sk_plan_destroy(b);
	/* With an inventory, a region it lacks is refused. */
	build_fails("by-name", &test_inv, SK_EINVAL,
	    "plan.yaml:5:19: phases[0].regions[1]: phase all names region "
	    "\"eu-west\", which is not in the inventory regions",
	    NULL);
}

static void
test_plan_build_rejects_bad_plan_dirs(void **state)
{
	(void)state;
	build_fails("malformed", &test_inv, SK_EINVAL,
	    "plans/malformed/plan.yaml:5:6: did not find expected ',' or ']' "
	    "while parsing a flow sequence that started at line 4, column 14",
	    NULL);
	build_fails("wrong-type", &test_inv, SK_EINVAL,
	    "plan.yaml:7:7: phases[1].regions: expected a list of region names, "
	    "got a mapping",
	    NULL);
	build_fails("missing-sql", &test_inv, SK_EIO,
	    "plans/missing-sql/plan.yaml:9:10: steps[1].sql: ",
	    "plans/missing-sql/s2.sql: No such file or directory");
	build_fails("empty-sql", &test_inv, SK_EINVAL,
	    "plan.yaml:8:13: steps[0].verify: SQL file ",
	    "empty-sql/s1.verify.sql is empty");
	build_fails("nul-sql", &test_inv, SK_EINVAL,
	    "plan.yaml:7:10: steps[0].sql: SQL file ",
	    "nul-sql/s1.sql holds a NUL byte at offset 9");
	build_fails("bad-utf8-sql", &test_inv, SK_EINVAL,
	    "plan.yaml:8:13: steps[0].revert: SQL file ",
	    "s1.revert.sql is not valid UTF-8 (byte offset 11)");
	build_fails("unknown-region", &test_inv, SK_EINVAL,
	    "plan.yaml:4:19: phases[0].regions[1]: phase all names region \"mars\", "
	    "which is not in the inventory regions",
	    NULL);
	build_fails("two-phases", &test_inv, SK_EINVAL,
	    "plan.yaml:5:5: phases[1]: region in is in phase canary and in phase "
	    "rest",
	    NULL);
	build_fails("dup-step", &test_inv, SK_EINVAL,
	    "plan.yaml:8:9: steps[1].id: duplicate step id \"s1\" (first at line 6, "
	    "column 9)",
	    NULL);
	build_fails("quickstart", NULL, SK_EINVAL,
	    "plan.yaml:9:16: phases[1].residency: phase rest selects by residency: "
	    "pass --regions DIR so the plan names its regions",
	    NULL);
	build_fails("no-such-plan", &test_inv, SK_EIO, "no-such-plan/plan.yaml", NULL);
}

static void
test_plan_build_rejects_residency_matching_nothing(void **state)
{
	sk_inventory small = { .dir = (char *)"r", .regions = test_regions, .nregions = 3 };

	(void)state;
	build_fails("quickstart", &small, SK_EINVAL,
	    "plan.yaml:9:21: phases[1].residency[1]: residency \"ksa\" matches no "
	    "region in the inventory r",
	    NULL);
}

#define PHASES "phases:\n  - name: all\n    regions: [af]\n"
#define STEPS "steps:\n  - id: s1\n    sql: s1.sql\n"

static const struct {
	const char *yaml;
	const char *want;
} bad_plans[] = {
	{ "name: p\n" PHASES STEPS "    revrt: s1.sql\n",
	    "plan.yaml:8:5: steps[0]: unknown key \"revrt\" (allowed: id, sql, "
	    "revert, verify, transaction)" },
	{ "name: p\nowner: me\n" PHASES STEPS,
	    "plan.yaml:2:1: unknown key \"owner\" (allowed: name, expires, phases, steps)" },
	{ "name: p\n" PHASES STEPS "name: q\n",
	    "plan.yaml:8:1: duplicate key \"name\" (first at line 1, column 1)" },
	{ "name: p\n" PHASES "steps:\n  - id: s1\n    sql: s1.sql\n    sql: s2.sql\n",
	    "plan.yaml:8:5: steps[0]: duplicate key \"sql\" (first at line 7, column 5)" },
	{ "name: 'my plan'\n" PHASES STEPS,
	    "plan.yaml:1:7: name: \"my plan\" is not a valid plan name" },
	{ PHASES STEPS, "plan.yaml:1:1: missing required key \"name\"" },
	{ "name: p\n" PHASES "steps:\n  - id: -s1\n    sql: s1.sql\n",
	    "plan.yaml:6:9: steps[0].id: \"-s1\" is not a valid step name" },
	{ "name: p\nexpires: 3 weeks\n" PHASES STEPS,
	    "plan.yaml:2:10: expires: parse duration \"3 weeks\"" },
	{ "name: p\nexpires: 0s\n" PHASES STEPS, "plan.yaml:2:10: expires: " },
	{ "name: p\nexpires: [72h]\n" PHASES STEPS,
	    "plan.yaml:2:10: expires: expected a string, got a list" },
	{ "name: p\nphases:\n  - name: all\n    regions: [af]\n"
	  "  - name: all\n    regions: [in]\n" STEPS,
	    "plan.yaml:5:11: phases[1].name: duplicate phase name \"all\"" },
	{ "name: p\nphases:\n  - name: all\n" STEPS,
	    "plan.yaml:3:5: phases[0]: phase all needs regions, residency or both" },
	{ "name: p\nphases:\n  - name: all\n    regions: []\n" STEPS,
	    "plan.yaml:3:5: phases[0]: phase all selects no regions" },
	{ "name: p\nphases:\n  - name: all\n    regions: af\n" STEPS,
	    "plan.yaml:4:14: phases[0].regions: expected a list of region names, got "
	    "a string \"af\"" },
	{ "name: p\nphases:\n  - name: all\n    regions: [af, 'a/b']\n" STEPS,
	    "plan.yaml:4:19: phases[0].regions[1]: \"a/b\" is not a valid region name" },
	{ "name: p\nphases:\n  - name: all\n    regions: [af]\n    residency: [eu]\n" STEPS,
	    "plan.yaml:5:17: phases[0].residency[0]: residency \"eu\" matches no region" },
	{ "name: p\nphases: []\n" STEPS,
	    "plan.yaml:2:9: phases: expected a list of phases, got an empty list" },
	{ "name: p\nphases:\n  - all\n" STEPS,
	    "plan.yaml:3:5: phases[0]: expected a phase mapping with name and regions "
	    "or residency, got a string \"all\"" },
	{ "name: p\n" PHASES, "plan.yaml:1:1: missing required key \"steps\"" },
	{ "name: p\n" PHASES "steps:\n  s1: s1.sql\n",
	    "plan.yaml:6:3: steps: expected a list of steps, got a mapping" },
	{ "name: p\n" PHASES "steps:\n  - id: s1\n",
	    "plan.yaml:6:5: steps[0]: missing required key \"sql\"" },
	{ "name: p\n" PHASES STEPS "    transaction: maybe\n",
	    "plan.yaml:8:18: steps[0].transaction: expected true or false, got a "
	    "string \"maybe\"" },
	{ "name: p\n" PHASES "steps:\n  - id: s1\n    sql: sub\n",
	    "plan.yaml:7:10: steps[0].sql: read SQL file " },
	{ "name: p\n" PHASES "steps:\n  - id: s1\n    sql: sub\n",
	    "/sub: not a regular file" },
};

static void
test_plan_build_rejects_bad_plan_yaml(void **state)
{
	char sub[256];

	(void)state;
	write_tmp("s1.sql", "SELECT 1;\n", 10);
	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	for (size_t i = 0; i < sizeof(bad_plans) / sizeof(bad_plans[0]); i++) {
		sk_plan *sentinel = (sk_plan *)&sentinel;
		sk_plan *plan = sentinel;
		sk_err err;

		write_tmp("plan.yaml", bad_plans[i].yaml, strlen(bad_plans[i].yaml));
		sk_err_clear(&err);
		assert_int_equal(
		    sk_plan_build(tmpdir, &test_inv, NOW, &plan, &err), SK_EINVAL);
		assert_ptr_equal(plan, sentinel);
		if (strstr(err.msg, bad_plans[i].want) == NULL)
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i,
			    err.msg, bad_plans[i].want);
		assert_true(strncmp(err.msg, tmpdir, strlen(tmpdir)) == 0);
	}
}

static void
test_plan_build_rejects_sql_over_8mib(void **state)
{
	const size_t big = 8 * 1024 * 1024 + 1;
	char *text = malloc(big);
	static const char yaml[] = "name: p\n" PHASES STEPS;
	char want[256];

	(void)state;
	assert_non_null(text);
	memset(text, ' ', big);
	memcpy(text, "SELECT 1;", 9);
	write_tmp("s1.sql", text, big);
	write_tmp("plan.yaml", yaml, sizeof(yaml) - 1);
	snprintf(want, sizeof(want),
	    "plan.yaml:7:10: steps[0].sql: read SQL file "
	    "%s/s1.sql: 8388609 bytes is more than the 8388608 byte limit",
	    tmpdir);
	build_fails_dir(tmpdir, &test_inv, SK_EINVAL, want, NULL);
	/* Exactly 8 MiB is accepted. */
	write_tmp("s1.sql", text, big - 1);
	{
		sk_plan *plan = NULL;
		sk_err err;

		if (sk_plan_build(tmpdir, &test_inv, NOW, &plan, &err) != SK_OK)
			fail_msg("%s", err.msg);
		assert_int_equal(strlen(plan->steps[0].sql), big - 1);
		sk_plan_destroy(plan);
	}
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_build_quickstart_resolves_residency),
		cmocka_unit_test(test_plan_build_union_keeps_phase_order),
		cmocka_unit_test(test_plan_build_by_name_needs_no_inventory),
		cmocka_unit_test(test_plan_build_rejects_bad_plan_dirs),
		cmocka_unit_test(test_plan_build_rejects_residency_matching_nothing),
		cmocka_unit_test_setup_teardown(
		    test_plan_build_rejects_bad_plan_yaml, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_plan_build_rejects_sql_over_8mib, setup_tmp, teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

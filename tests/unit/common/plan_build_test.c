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
#include "sk_plan_build.h"

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
	{
		sk_err err;

		assert_int_equal(sk_step_checksum(&plan->steps[0], sum, &err), SK_OK);
	}
	assert_memory_equal(plan->steps[0].checksum, sum, SK_CHECKSUM_LEN);

	assert_string_equal(plan->steps[1].id, "0002_accounts_email_idx");
	assert_true(plan->steps[1].no_transaction);
	assert_string_equal(plan->steps[1].sql_path, "sql/0002_accounts_email_idx.sql");
	assert_null(plan->steps[1].revert);
	assert_null(plan->steps[1].revert_path);
	assert_null(plan->steps[1].verify);
	{
		sk_err err;

		assert_int_equal(sk_step_checksum(&plan->steps[1], sum, &err), SK_OK);
	}
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
	    "plan.yaml:8:5: steps[0]: unknown key \"revrt\" (allowed: id, kind, "
	    "sql, revert, verify, transaction, pre, post, checks, lock_timeout, "
	    "statement_timeout, lock_retries, retry_backoff, waive, table, update, where, column, type, from, using, reverse, batch, max_rows_per_second, max_replication_lag, throttle_query, autovacuum, dead_man, workers, flag, value, tenants, residency, template, tenant, to, tables, discover, stay, event, route, freeze_timeout, max_lag, purge, max_copy_rate, parallel)" },
	{ "name: p\nowner: me\n" PHASES STEPS,
	    "plan.yaml:2:1: unknown key \"owner\" (allowed: name, expires, "
	    "defaults, backup, rollback_backup, preflight, phases, steps)" },
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
	    "/sub: is a directory, not a regular file" },
	/* defaults: */
	{ "name: p\ndefaults:\n  lock_timout: 3s\n" PHASES STEPS,
	    "plan.yaml:3:3: defaults: unknown key \"lock_timout\" (allowed: "
	    "lock_timeout, statement_timeout, lock_retries, retry_backoff)" },
	{ "name: p\ndefaults:\n  lock_timeout: 3 secs\n" PHASES STEPS,
	    "plan.yaml:3:17: defaults.lock_timeout: parse duration \"3 secs\"" },
	{ "name: p\ndefaults:\n  lock_timeout: -3s\n" PHASES STEPS,
	    "plan.yaml:3:17: defaults.lock_timeout: parse duration \"-3s\"" },
	{ "name: p\ndefaults:\n  retry_backoff: 0ms\n" PHASES STEPS,
	    "plan.yaml:3:18: defaults.retry_backoff: expected a duration greater "
	    "than zero, got \"0ms\"" },
	{ "name: p\ndefaults:\n  lock_retries: -1\n" PHASES STEPS,
	    "plan.yaml:3:17: defaults.lock_retries: expected an integer from 0 to "
	    "100, got \"-1\"" },
	{ "name: p\ndefaults: 3s\n" PHASES STEPS,
	    "plan.yaml:2:11: defaults: expected a mapping of lock_timeout, " },
	/* per-step limits */
	{ "name: p\n" PHASES STEPS "    statement_timeout: forever\n",
	    "plan.yaml:8:24: steps[0].statement_timeout: parse duration "
	    "\"forever\"" },
	{ "name: p\n" PHASES STEPS "    retry_backoff: 0\n",
	    "plan.yaml:8:20: steps[0].retry_backoff: expected a duration greater "
	    "than zero, got \"0\"" },
	{ "name: p\n" PHASES STEPS "    lock_retries: 101\n",
	    "plan.yaml:8:19: steps[0].lock_retries: expected an integer from 0 to "
	    "100, got \"101\"" },
	{ "name: p\n" PHASES STEPS "    lock_retries: 2.5\n",
	    "plan.yaml:8:19: steps[0].lock_retries: expected an integer from 0 to "
	    "100, got \"2.5\"" },
	{ "name: p\n" PHASES STEPS "    lock_timeout: [3s]\n",
	    "plan.yaml:8:19: steps[0].lock_timeout: expected a duration such as "
	    "3s, 30m or 0 for no limit, got a list" },
	/* backup: */
	{ "name: p\nbackup: sometimes\n" PHASES STEPS,
	    "plan.yaml:2:9: backup: expected true or false, got a string "
	    "\"sometimes\"" },
	{ "name: p\nrollback_backup: [no]\n" PHASES STEPS,
	    "plan.yaml:2:18: rollback_backup: expected true or false, got a list" },
	/* preflight: */
	{ "name: p\npreflight:\n  max_connections: 120%\n" PHASES STEPS,
	    "plan.yaml:3:20: preflight.max_connections: expected a share of "
	    "max_connections above 0 and at most 100% (e.g. 80% or 0.8), got "
	    "\"120%\"" },
	{ "name: p\npreflight:\n  max_connections: 0%\n" PHASES STEPS,
	    "plan.yaml:3:20: preflight.max_connections: expected a share of "
	    "max_connections above 0" },
	{ "name: p\npreflight:\n  max_connections: 1.5\n" PHASES STEPS,
	    "plan.yaml:3:20: preflight.max_connections: expected a share of "
	    "max_connections above 0 and at most 100% (e.g. 80% or 0.8), got "
	    "\"1.5\"" },
	{ "name: p\npreflight:\n  max_connections: 80 %\n" PHASES STEPS,
	    "plan.yaml:3:20: preflight.max_connections: expected a share" },
	{ "name: p\npreflight:\n  server_version: fifteen\n" PHASES STEPS,
	    "plan.yaml:3:19: preflight.server_version: expected a PostgreSQL "
	    "version such as \"15\", \"15.2\" or \"9.6\", got \"fifteen\"" },
	{ "name: p\npreflight:\n  server_version: \"15.2.1\"\n" PHASES STEPS,
	    "plan.yaml:3:19: preflight.server_version: expected a PostgreSQL "
	    "version" },
	{ "name: p\npreflight:\n  max_transaction_age: 5 min\n" PHASES STEPS,
	    "plan.yaml:3:24: preflight.max_transaction_age: parse duration "
	    "\"5 min\"" },
	{ "name: p\npreflight:\n  roles: app_rw\n" PHASES STEPS,
	    "plan.yaml:3:10: preflight.roles: expected a list of role names, got a "
	    "string \"app_rw\"" },
	{ "name: p\npreflight:\n  extensions: ['']\n" PHASES STEPS,
	    "plan.yaml:3:16: preflight.extensions[0]: expected a string, got an "
	    "empty string" },
	{ "name: p\npreflight:\n  require: []\n" PHASES STEPS,
	    "plan.yaml:3:3: preflight: unknown key \"require\" (allowed: "
	    "server_version, roles, extensions, max_transaction_age, "
	    "max_connections, requires)" },
	{ "name: p\npreflight:\n  requires:\n    - step: s1\n" PHASES STEPS,
	    "plan.yaml:4:7: preflight.requires[0]: missing required key \"plan\"" },
	{ "name: p\npreflight:\n  requires:\n    - plan: 'a b'\n" PHASES STEPS,
	    "plan.yaml:4:13: preflight.requires[0].plan: \"a b\" is not a valid "
	    "plan name" },
	{ "name: p\npreflight:\n  requires:\n    - plan: base\n      stp: s1\n" PHASES STEPS,
	    "plan.yaml:5:7: preflight.requires[0]: unknown key \"stp\" (allowed: "
	    "plan, step)" },
	/* checks */
	{ "name: p\n" PHASES STEPS "    pre:\n      - name: c\n        sql: SELECT 1\n        expect: 0\n"
	  "        expct: 1\n",
	    "plan.yaml:12:9: steps[0].pre[0]: unknown key \"expct\" (allowed: name, "
	    "sql, file, expect, no_rows, fails_with, succeeds, report_value)" },
	{ "name: p\n" PHASES STEPS "    pre:\n      - name: c\n        sql: SELECT 1\n        file: c.sql\n"
	  "        expect: 0\n",
	    "plan.yaml:11:15: steps[0].pre[0].file: check c has both sql and "
	    "file: give one" },
	{ "name: p\n" PHASES STEPS "    pre:\n      - name: c\n        expect: 0\n",
	    "plan.yaml:9:9: steps[0].pre[0]: check c needs sql (inline SQL) or "
	    "file (a SQL file)" },
	{ "name: p\n" PHASES STEPS "    post:\n      - name: c\n        sql: SELECT 1\n",
	    "plan.yaml:9:9: steps[0].post[0]: check c has no expectation: give one "
	    "of expect, no_rows: true, fails_with or succeeds: true" },
	{ "name: p\n" PHASES STEPS "    post:\n      - name: c\n        sql: SELECT 1\n"
	  "        succeeds: false\n",
	    "plan.yaml:11:19: steps[0].post[0].succeeds: succeeds can only be true; "
	    "to expect a failure use fails_with" },
	{ "name: p\n" PHASES STEPS "    post:\n      - name: c\n        sql: SELECT 1\n"
	  "        expect: 1\n        succeeds: true\n",
	    "plan.yaml:12:19: steps[0].post[0].succeeds: check c has both expect and "
	    "succeeds: give exactly one expectation" },
	{ "name: p\n" PHASES STEPS "    pre:\n      - name: c\n        sql: SELECT 1\n        expect: 0\n"
	  "        fails_with: 23514\n",
	    "plan.yaml:12:21: steps[0].pre[0].fails_with: check c has both expect "
	    "and fails_with: give exactly one expectation" },
	{ "name: p\n" PHASES STEPS "    pre:\n      - name: c\n        sql: SELECT 1\n        no_rows: true\n"
	  "        expect: 1\n",
	    "plan.yaml:11:18: steps[0].pre[0].no_rows: check c has both expect and "
	    "no_rows: give exactly one expectation" },
	{ "name: p\n" PHASES STEPS "    post:\n      - name: c\n        sql: INSERT INTO t VALUES (1)\n"
	  "        fails_with: 2351\n",
	    "plan.yaml:11:21: steps[0].post[0].fails_with: fails_with \"2351\" is "
	    "not a SQLSTATE (five characters of 0-9 A-Z, e.g. 23514)" },
	{ "name: p\n" PHASES STEPS "    post:\n      - name: c\n        sql: INSERT INTO t VALUES (1)\n"
	  "        fails_with: check_violaton\n",
	    "plan.yaml:11:21: steps[0].post[0].fails_with: fails_with "
	    "\"check_violaton\" is not a SQLSTATE" },
	{ "name: p\n" PHASES STEPS "    post:\n      - name: c\n        sql: INSERT INTO t VALUES (1)\n"
	  "        fails_with: 23514x\n",
	    "plan.yaml:11:21: steps[0].post[0].fails_with: fails_with \"23514x\" is "
	    "not a SQLSTATE" },
	{ "name: p\n" PHASES STEPS "    pre:\n      - name: c\n        sql: SELECT 1\n        expect: 0\n"
	  "      - name: c\n        sql: SELECT 2\n        expect: 0\n",
	    "plan.yaml:12:15: steps[0].pre[1].name: duplicate check name \"c\" "
	    "(first at line 9, column 15)" },
	{ "name: p\n" PHASES STEPS
	  "    pre:\n      - name: 'c d'\n        sql: SELECT 1\n        expect: 0\n",
	    "plan.yaml:9:15: steps[0].pre[0].name: \"c d\" is not a valid check "
	    "name" },
	{ "name: p\n" PHASES STEPS
	  "    pre:\n      - name: c\n        sql: SELECT 1\n        expect: '>='\n",
	    "plan.yaml:11:17: steps[0].pre[0].expect: expect \">=\" has no value to "
	    "compare with" },
	{ "name: p\n" PHASES STEPS
	  "    pre:\n      - name: c\n        sql: SELECT 1\n        expect: ''\n",
	    "plan.yaml:11:17: steps[0].pre[0].expect: expect \"\" has no value to "
	    "compare with" },
	{ "name: p\n" PHASES STEPS
	  "    pre:\n      - name: c\n        sql: SELECT 1\n        no_rows: false\n",
	    "plan.yaml:11:18: steps[0].pre[0].no_rows: no_rows can only be true" },
	{ "name: p\n" PHASES STEPS
	  "    pre:\n      - name: c\n        sql: '  '\n        expect: 0\n",
	    "plan.yaml:10:14: steps[0].pre[0].sql: check c has empty SQL" },
	{ "name: p\n" PHASES STEPS "    pre: {name: c}\n",
	    "plan.yaml:8:10: steps[0].pre: expected a list of checks, got a "
	    "mapping" },
	{ "name: p\nphases:\n  - name: all\n    regions: [af]\n    post:\n"
	  "      - name: c\n        sql: SELECT 1\n" STEPS,
	    "plan.yaml:6:9: phases[0].post[0]: check c has no expectation" },
	{ "name: p\nphases:\n  - name: all\n    regions: [af]\n    pre: [x]\n" STEPS,
	    "plan.yaml:5:11: phases[0].pre[0]: expected a check mapping with name, "
	    "sql or file, and expect, no_rows, fails_with or succeeds, got a "
	    "string \"x\"" },
	/* waive: */
	{ "name: p\n" PHASES STEPS "    waive:\n      - rule: drop-column\n",
	    "plan.yaml:9:9: steps[0].waive[0]: waiver of rule drop-column needs a "
	    "reason: say why the step is safe anyway" },
	{ "name: p\n" PHASES STEPS
	  "    waive:\n      - rule: drop-column\n        reason: ' '\n",
	    "plan.yaml:10:17: steps[0].waive[0].reason: waiver of rule drop-column "
	    "has an empty reason" },
	{ "name: p\n" PHASES STEPS
	  "    waive:\n      - rule: Drop_Column\n        reason: why\n",
	    "plan.yaml:9:15: steps[0].waive[0].rule: \"Drop_Column\" is not a lint "
	    "rule id (a-z 0-9 -, e.g. drop-column)" },
	{ "name: p\n" PHASES STEPS "    waive:\n      - reason: why\n",
	    "plan.yaml:9:9: steps[0].waive[0]: missing required key \"rule\"" },
	{ "name: p\n" PHASES STEPS "    waive:\n      - rule: drop-column\n"
	  "        reason: x\n      - rule: drop-column\n        reason: y\n",
	    "plan.yaml:11:15: steps[0].waive[1].rule: rule drop-column is waived "
	    "twice in step s1" },
	{ "name: p\n" PHASES STEPS
	  "    waive:\n      - rule: a\n        reason: x\n        why: y\n",
	    "plan.yaml:11:9: steps[0].waive[0]: unknown key \"why\" (allowed: rule, "
	    "reason)" },
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

static sk_plan *
build_tmp_ok(const char *yaml)
{
	sk_plan *plan = NULL;
	sk_err err;

	write_tmp("plan.yaml", yaml, strlen(yaml));
	if (sk_plan_build(tmpdir, &test_inv, NOW, &plan, &err) != SK_OK)
		fail_msg("build: %s", err.msg);
	assert_non_null(plan);
	return plan;
}

static const char full_yaml[] = "name: full\n"
				"defaults:\n"
				"  lock_timeout: 2s\n"
				"  statement_timeout: 10m\n"
				"  lock_retries: 7\n"
				"  retry_backoff: 250ms\n"
				"backup: true\n"
				"rollback_backup: false\n"
				"preflight:\n"
				"  server_version: \"15.2\"\n"
				"  roles: [app_rw, app_ro]\n"
				"  extensions: [pgcrypto]\n"
				"  max_transaction_age: 5m\n"
				"  max_connections: 80%\n"
				"  requires:\n"
				"    - plan: base\n"
				"      step: 0026_api_keys\n"
				"    - plan: other\n"
				"phases:\n"
				"  - name: canary\n"
				"    regions: [af]\n"
				"    pre:\n"
				"      - name: no_long_tx\n"
				"        sql: SELECT count(*) FROM pg_stat_activity\n"
				"        expect: 0\n"
				"    post:\n"
				"      - name: orders_ok\n"
				"        file: checks/orders_ok.sql\n"
				"        no_rows: true\n"
				"  - name: rest\n"
				"    regions: [in]\n"
				"steps:\n"
				"  - id: s1\n"
				"    sql: s1.sql\n"
				"    lock_timeout: 0\n"
				"    retry_backoff: 1s\n"
				"    pre:\n"
				"      - name: big\n"
				"        sql: SELECT count(*) FROM t\n"
				"        expect: \">= 1\"\n"
				"      - name: ne\n"
				"        sql: SELECT 1\n"
				"        expect: \"<>abc \"\n"
				"    post:\n"
				"      - name: rejects\n"
				"        sql: INSERT INTO t VALUES (-1)\n"
				"        fails_with: check_violation\n"
				"      - name: rejects2\n"
				"        sql: INSERT INTO t VALUES (NULL)\n"
				"        fails_with: 23502\n"
				"      - name: custom\n"
				"        sql: SELECT f()\n"
				"        fails_with: P0001\n"
				"    waive:\n"
				"      - rule: drop-column\n"
				"        reason: \"nobody reads it since v12\"\n"
				"  - id: s2\n"
				"    sql: s1.sql\n"
				"    transaction: false\n"
				"    statement_timeout: 0s\n"
				"    lock_retries: 0\n";

static void
assert_check(const sk_check *c, const char *name, const char *sql, int expect,
    const char *op, const char *value, const char *sqlstate)
{
	assert_string_equal(c->name, name);
	assert_string_equal(c->sql, sql);
	assert_int_equal(c->expect, expect);
	if (op == NULL)
		assert_null(c->op);
	else
		assert_string_equal(c->op, op);
	if (value == NULL)
		assert_null(c->value);
	else
		assert_string_equal(c->value, value);
	if (sqlstate == NULL)
		assert_null(c->sqlstate);
	else
		assert_string_equal(c->sqlstate, sqlstate);
}

static void
test_plan_build_reads_every_safety_key(void **state)
{
	char sub[256];
	sk_plan *plan, *back = NULL;
	const sk_step *s1, *s2;
	const sk_preflight *pf;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/checks", tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_tmp("s1.sql", "SELECT 1;\n", 10);
	write_tmp("checks/orders_ok.sql", "SELECT 1 WHERE false;\n", 22);
	plan = build_tmp_ok(full_yaml);

	assert_true(plan->backup);
	assert_true(plan->no_rollback_backup);
	pf = &plan->preflight;
	assert_int_equal(pf->min_server_version, 150002);
	assert_int_equal(pf->nroles, 2);
	assert_string_equal(pf->roles[0], "app_rw");
	assert_string_equal(pf->roles[1], "app_ro");
	assert_int_equal(pf->nextensions, 1);
	assert_string_equal(pf->extensions[0], "pgcrypto");
	assert_int_equal(pf->max_transaction_age_ms, 5 * 60 * 1000);
	assert_true(pf->max_connections_share > 0.7999 &&
	    pf->max_connections_share < 0.8001);
	assert_int_equal(pf->nrequires, 2);
	assert_string_equal(pf->requires[0].plan, "base");
	assert_string_equal(pf->requires[0].step, "0026_api_keys");
	assert_string_equal(pf->requires[1].plan, "other");
	assert_null(pf->requires[1].step);

	assert_int_equal(plan->phases[0].npre, 1);
	assert_check(&plan->phases[0].pre[0], "no_long_tx",
	    "SELECT count(*) FROM pg_stat_activity", SK_EXPECT_COMPARE, "=",
	    "0", NULL);
	assert_null(plan->phases[0].pre[0].path);
	assert_int_equal(plan->phases[0].npost, 1);
	assert_check(&plan->phases[0].post[0], "orders_ok",
	    "SELECT 1 WHERE false;\n", SK_EXPECT_NO_ROWS, NULL, NULL, NULL);
	assert_string_equal(plan->phases[0].post[0].path, "checks/orders_ok.sql");
	assert_int_equal(plan->phases[1].npre, 0);
	assert_null(plan->phases[1].pre);
	assert_int_equal(plan->phases[1].npost, 0);

	s1 = &plan->steps[0];
	assert_int_equal(s1->lock_timeout_ms, 0); /* overridden: none */
	assert_int_equal(s1->statement_timeout_ms, 600000); /* defaults */
	assert_int_equal(s1->lock_retries, 7);
	assert_int_equal(s1->retry_backoff_ms, 1000);
	assert_int_equal(s1->npre, 2);
	assert_check(&s1->pre[0], "big", "SELECT count(*) FROM t",
	    SK_EXPECT_COMPARE, ">=", "1", NULL);
	assert_check(&s1->pre[1], "ne", "SELECT 1", SK_EXPECT_COMPARE,
	    "!=", "abc", NULL);
	assert_int_equal(s1->npost, 3);
	assert_check(&s1->post[0], "rejects", "INSERT INTO t VALUES (-1)",
	    SK_EXPECT_FAILS, NULL, NULL, "23514");
	assert_check(&s1->post[1], "rejects2", "INSERT INTO t VALUES (NULL)",
	    SK_EXPECT_FAILS, NULL, NULL, "23502");
	assert_check(&s1->post[2], "custom", "SELECT f()", SK_EXPECT_FAILS,
	    NULL, NULL, "P0001");
	assert_int_equal(s1->nwaivers, 1);
	assert_string_equal(s1->waivers[0].rule, "drop-column");
	assert_string_equal(s1->waivers[0].reason, "nobody reads it since v12");

	s2 = &plan->steps[1];
	assert_true(s2->no_transaction);
	assert_int_equal(s2->lock_timeout_ms, 2000);
	assert_int_equal(s2->statement_timeout_ms, 0);
	assert_int_equal(s2->lock_retries, 0);
	assert_int_equal(s2->retry_backoff_ms, 250);
	assert_int_equal(s2->npre + s2->npost + s2->nwaivers, 0);

	/* The built plan passes the decoder's validation and survives it. */
	assert_int_equal(sk_plan_encode(plan, &buf, &len, &err), SK_OK);
	if (sk_plan_decode(buf, len, &back, &err) != SK_OK)
		fail_msg("decode: %s", err.msg);
	assert_int_equal(back->steps[0].npost, 3);
	assert_string_equal(back->steps[0].post[0].sqlstate, "23514");
	assert_int_equal(back->steps[1].retry_backoff_ms, 250);
	assert_int_equal(back->preflight.min_server_version, 150002);
	assert_true(back->backup);
	assert_true(back->no_rollback_backup);
	free(buf);
	sk_plan_destroy(back);
	sk_plan_destroy(plan);
}

static void
test_plan_build_defaults_without_safety_keys(void **state)
{
	static const char yaml[] = "name: p\n" PHASES STEPS;
	sk_plan *plan;

	(void)state;
	write_tmp("s1.sql", "SELECT 1;\n", 10);
	plan = build_tmp_ok(yaml);
	assert_false(plan->backup);
	/* A rollback backs up before its reverts unless the plan says not. */
	assert_false(plan->no_rollback_backup);
	assert_int_equal(plan->preflight.min_server_version, 0);
	assert_int_equal(plan->preflight.nroles, 0);
	assert_int_equal(plan->preflight.nrequires, 0);
	assert_true(plan->preflight.max_connections_share == 0);
	assert_int_equal(plan->steps[0].lock_timeout_ms, SK_DEFAULT_LOCK_TIMEOUT_MS);
	assert_int_equal(plan->steps[0].statement_timeout_ms,
	    SK_DEFAULT_STATEMENT_TIMEOUT_MS);
	assert_int_equal(plan->steps[0].lock_retries, SK_DEFAULT_LOCK_RETRIES);
	assert_int_equal(plan->steps[0].retry_backoff_ms, SK_DEFAULT_RETRY_BACKOFF_MS);
	assert_int_equal(plan->steps[0].npre + plan->steps[0].npost, 0);
	assert_int_equal(plan->steps[0].nwaivers, 0);
	assert_int_equal(plan->phases[0].npre + plan->phases[0].npost, 0);
	sk_plan_destroy(plan);
}

/* Spellings of server_version, max_connections and expect. */
static void
test_plan_build_accepts_value_spellings(void **state)
{
	static const struct {
		const char *version;
		uint32_t num;
	} versions[] = { { "15", 150000 }, { "\"15\"", 150000 }, { "15.2", 150002 },
		{ "\"9.6\"", 90600 }, { "9.6.3", 90603 }, { "16.10", 160010 } };
	static const struct {
		const char *share;
		double want;
	} shares[] = { { "80%", 0.8 }, { "0.8", 0.8 }, { "100%", 1.0 },
		{ "1", 1.0 }, { "12.5%", 0.125 } };
	static const struct {
		const char *expect, *op, *value;
	} expects[] = { { "0", "=", "0" }, { "true", "=", "true" },
		{ "\"= abc\"", "=", "abc" }, { "\"!= 0\"", "!=", "0" },
		{ "\"< 5\"", "<", "5" }, { "\"<=5\"", "<=", "5" },
		{ "\"> -1\"", ">", "-1" }, { "\"<> x y\"", "!=", "x y" },
		{ "'>= 1.5'", ">=", "1.5" } };
	char yaml[512];

	(void)state;
	write_tmp("s1.sql", "SELECT 1;\n", 10);
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		sk_plan *plan;

		snprintf(yaml, sizeof(yaml),
		    "name: p\npreflight:\n  server_version: %s\n" PHASES STEPS,
		    versions[i].version);
		plan = build_tmp_ok(yaml);
		assert_int_equal(plan->preflight.min_server_version, versions[i].num);
		sk_plan_destroy(plan);
	}
	for (size_t i = 0; i < sizeof(shares) / sizeof(shares[0]); i++) {
		sk_plan *plan;
		double d;

		snprintf(yaml, sizeof(yaml),
		    "name: p\npreflight:\n  max_connections: %s\n" PHASES STEPS,
		    shares[i].share);
		plan = build_tmp_ok(yaml);
		d = plan->preflight.max_connections_share - shares[i].want;
		assert_true(d > -1e-9 && d < 1e-9);
		sk_plan_destroy(plan);
	}
	for (size_t i = 0; i < sizeof(expects) / sizeof(expects[0]); i++) {
		sk_plan *plan;

		snprintf(yaml, sizeof(yaml),
		    "name: p\n" PHASES STEPS "    pre:\n      - name: c\n        sql: SELECT 1\n"
		    "        expect: %s\n",
		    expects[i].expect);
		plan = build_tmp_ok(yaml);
		assert_check(&plan->steps[0].pre[0], "c", "SELECT 1",
		    SK_EXPECT_COMPARE, expects[i].op, expects[i].value, NULL);
		sk_plan_destroy(plan);
	}
}

static void
test_plan_build_check_file_must_exist(void **state)
{
	static const char yaml[] = "name: p\n" PHASES STEPS
				   "    post:\n      - name: c\n        file: nope.sql\n"
				   "        no_rows: true\n";
	char want[256];

	(void)state;
	write_tmp("s1.sql", "SELECT 1;\n", 10);
	write_tmp("plan.yaml", yaml, sizeof(yaml) - 1);
	snprintf(want, sizeof(want),
	    "plan.yaml:10:15: steps[0].post[0].file: read SQL file %s/nope.sql: "
	    "No such file or directory",
	    tmpdir);
	build_fails_dir(tmpdir, &test_inv, SK_EIO, want, NULL);
	/* An empty check file is refused like an empty step file. */
	write_tmp("nope.sql", "\n  \n", 4);
	build_fails_dir(tmpdir, &test_inv, SK_EINVAL,
	    "plan.yaml:10:15: steps[0].post[0].file: SQL file ", "nope.sql is empty");
}

/* kind: check, a step whose checks are its content. */
static void
test_plan_build_check_step(void **state)
{
	static const char yaml[] =
	    "name: p\n" PHASES STEPS "  - id: s2\n    kind: check\n    checks:\n"
	    "      - name: seeded\n        sql: SELECT count(*) FROM t\n"
	    "        expect: \">= 1\"\n";
	static const struct {
		const char *step;
		const char *want;
	} bad[] = {
		{ "  - id: s2\n    kind: backfil\n    sql: s1.sql\n",
		    "plan.yaml:9:11: steps[1].kind: unknown step kind \"backfil\" (expected sql, "
		    "check, backfill, expand, contract, flag, move_tenant or purge_tenant)" },
		{ "  - id: s2\n    kind: check\n",
		    "plan.yaml:8:5: steps[1]: step s2 is a check step without checks" },
		{ "  - id: s2\n    kind: check\n    sql: s1.sql\n    checks:\n"
		  "      - name: c\n        sql: SELECT 1\n        expect: \"= 1\"\n",
		    "step s2 is a check step but has SQL" },
		{ "  - id: s2\n    kind: check\n    revert: s1.sql\n    checks:\n"
		  "      - name: c\n        sql: SELECT 1\n        expect: \"= 1\"\n",
		    "step s2 is a check step with a revert script" },
		{ "  - id: s2\n    kind: sql\n    sql: s1.sql\n    checks:\n"
		  "      - name: c\n        sql: SELECT 1\n        expect: \"= 1\"\n",
		    "step s2 is of kind sql but carries the checks of a check step" },
	};
	char text[1024];
	sk_plan *plan = NULL;
	sk_err err;

	(void)state;
	write_tmp("s1.sql", "CREATE TABLE t (id int);\n", 25);
	write_tmp("plan.yaml", yaml, sizeof(yaml) - 1);
	if (sk_plan_build(tmpdir, &test_inv, NOW, &plan, &err) != SK_OK)
		fail_msg("build: %s", err.msg);
	assert_int_equal(plan->steps[0].kind, SK_STEP_SQL);
	assert_int_equal(plan->steps[1].kind, SK_STEP_CHECK);
	assert_null(plan->steps[1].sql);
	assert_int_equal(plan->steps[1].nchecks, 1);
	assert_string_equal(plan->steps[1].checks[0].name, "seeded");
	assert_string_equal(plan->steps[1].checks[0].op, ">=");
	assert_int_equal(sk_step_verify_checksum(&plan->steps[1], &err), SK_OK);
	sk_plan_destroy(plan);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "name: p\n" PHASES STEPS "%s",
		    bad[i].step);
		write_tmp("plan.yaml", text, strlen(text));
		build_fails_dir(tmpdir, &test_inv, SK_EINVAL, bad[i].want, NULL);
	}
}

/* Build tmpdir expecting code and every non-NULL substring, with nothing
 * of /etc/passwd in the message, detail or hint. */
static void
hostile_fails(int code, const char *sub1, const char *sub2)
{
	sk_plan *sentinel = (sk_plan *)&sentinel;
	sk_plan *plan = sentinel;
	sk_err err;

	sk_err_clear(&err);
	assert_int_equal(sk_plan_build(tmpdir, &test_inv, NOW, &plan, &err), code);
	assert_ptr_equal(plan, sentinel);
	assert_msg(&err, sub1);
	if (sub2 != NULL)
		assert_msg(&err, sub2);
	if (strstr(err.msg, "root:") != NULL ||
	    strstr(err.detail, "root:") != NULL || strstr(err.hint, "root:") != NULL)
		fail_msg("the error quotes /etc/passwd: %s | %s", err.msg, err.detail);
}

static void
tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* A plan directory from a pull request is hostile: only regular files
 * inside it are read, and what is refused is refused before it is read. */
static void
test_plan_build_reads_only_regular_files_inside_the_plan(void **state)
{
	static const char yaml_fmt[] =
	    "name: p\n" PHASES "steps:\n  - id: s1\n    sql: %s\n";
	char yaml[512], path[512], want[512];
	sk_plan *plan = NULL;
	sk_err err;

	(void)state;
	write_tmp("s1.sql", "CREATE TABLE t (id int);\n", 25);

	/* sql: an absolute path, even to a file that would parse. */
	snprintf(yaml, sizeof(yaml), yaml_fmt, "/etc/passwd");
	write_tmp("plan.yaml", yaml, strlen(yaml));
	hostile_fails(SK_EINVAL,
	    "plan.yaml:7:10: steps[0].sql: read SQL file /etc/passwd: not a path "
	    "relative to the directory",
	    NULL);

	/* sql: climbing out with "..". */
	snprintf(yaml, sizeof(yaml), yaml_fmt, "../../../etc/hostname");
	write_tmp("plan.yaml", yaml, strlen(yaml));
	snprintf(want, sizeof(want),
	    "plan.yaml:7:10: steps[0].sql: read SQL file %s/../../../etc/hostname: "
	    "it climbs out of the directory",
	    tmpdir);
	hostile_fails(SK_EINVAL, want, NULL);

	/* A link inside the plan to a file outside it. */
	tmp_path(path, sizeof(path), "passwd.sql");
	assert_int_equal(symlink("/etc/passwd", path), 0);
	snprintf(yaml, sizeof(yaml), yaml_fmt, "passwd.sql");
	write_tmp("plan.yaml", yaml, strlen(yaml));
	hostile_fails(SK_EINVAL, "plan.yaml:7:10: steps[0].sql: read SQL file ",
	    "/passwd.sql: it resolves to a file outside the directory");

	/* A link that stays inside is fine. */
	tmp_path(path, sizeof(path), "alias.sql");
	assert_int_equal(symlink("s1.sql", path), 0);
	snprintf(yaml, sizeof(yaml), yaml_fmt, "alias.sql");
	write_tmp("plan.yaml", yaml, strlen(yaml));
	if (sk_plan_build(tmpdir, &test_inv, NOW, &plan, &err) != SK_OK)
		fail_msg("build through a link inside: %s", err.msg);
	assert_string_equal(plan->steps[0].sql, "CREATE TABLE t (id int);\n");
	sk_plan_destroy(plan);

	/* A FIFO as a SQL file: refused at once, never waited on. */
	tmp_path(path, sizeof(path), "fifo.sql");
	assert_int_equal(mkfifo(path, 0644), 0);
	snprintf(yaml, sizeof(yaml), yaml_fmt, "fifo.sql");
	write_tmp("plan.yaml", yaml, strlen(yaml));
	hostile_fails(SK_EINVAL, "plan.yaml:7:10: steps[0].sql: read SQL file ",
	    "/fifo.sql: is a FIFO, not a regular file");

	/* A directory as a SQL file. */
	tmp_path(path, sizeof(path), "dir.sql");
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(yaml, sizeof(yaml), yaml_fmt, "dir.sql");
	write_tmp("plan.yaml", yaml, strlen(yaml));
	hostile_fails(SK_EINVAL, "plan.yaml:7:10: steps[0].sql: read SQL file ",
	    "/dir.sql: is a directory, not a regular file");

	/* 1 GiB (sparse): refused by its size before a byte is read. */
	write_tmp("huge.sql", "", 0);
	tmp_path(path, sizeof(path), "huge.sql");
	assert_int_equal(truncate(path, (off_t)1 << 30), 0);
	snprintf(yaml, sizeof(yaml), yaml_fmt, "huge.sql");
	write_tmp("plan.yaml", yaml, strlen(yaml));
	hostile_fails(SK_EINVAL, "plan.yaml:7:10: steps[0].sql: read SQL file ",
	    "/huge.sql: 1073741824 bytes is more than the 8388608 byte limit");

	/* A check file and a revert script are held to the same rules. */
	snprintf(yaml, sizeof(yaml), "name: p\n" PHASES STEPS "    revert: passwd.sql\n");
	write_tmp("plan.yaml", yaml, strlen(yaml));
	hostile_fails(SK_EINVAL, "plan.yaml:8:13: steps[0].revert: read SQL file ",
	    "it resolves to a file outside the directory");
	snprintf(yaml, sizeof(yaml),
	    "name: p\n" PHASES STEPS "    post:\n      - name: c\n        file: /etc/passwd\n"
	    "        no_rows: true\n");
	write_tmp("plan.yaml", yaml, strlen(yaml));
	hostile_fails(SK_EINVAL,
	    "plan.yaml:10:15: steps[0].post[0].file: read SQL file /etc/passwd: ",
	    "not a path relative to the directory");
}

/* plan.yaml itself: a FIFO must not hang the build, a link must not
 * leave the plan directory. */
static void
test_plan_build_refuses_a_hostile_plan_yaml(void **state)
{
	char path[512];

	(void)state;
	tmp_path(path, sizeof(path), "plan.yaml");
	assert_int_equal(mkfifo(path, 0644), 0);
	hostile_fails(SK_EINVAL, "read plan file ",
	    "/plan.yaml: is a FIFO, not a regular file");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	hostile_fails(SK_EINVAL, "read plan file ",
	    "/plan.yaml: it resolves to a file outside the directory");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0755), 0);
	hostile_fails(SK_EINVAL, "read plan file ",
	    "/plan.yaml: is a directory, not a regular file");
	assert_int_equal(rmdir(path), 0);
	write_tmp("plan.yaml", "", 0);
	assert_int_equal(truncate(path, (off_t)1 << 30), 0);
	hostile_fails(SK_EINVAL, "read plan file ",
	    "/plan.yaml: 1073741824 bytes is more than the 1048576 byte limit");
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
		cmocka_unit_test_setup_teardown(
		    test_plan_build_reads_every_safety_key, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_plan_build_defaults_without_safety_keys,
		    setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_plan_build_accepts_value_spellings, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_plan_build_check_file_must_exist, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_plan_build_check_step, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_plan_build_reads_only_regular_files_inside_the_plan,
		    setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_plan_build_refuses_a_hostile_plan_yaml,
		    setup_tmp, teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for tenant move steps on paper (issue 11, plan side):
 * plan.yaml's kind: move_tenant and every mistake in it (at its line and
 * column, no plan built), the body on the wire (round trip, checksum
 * over every field), decode refusing a hand-made body that breaks the
 * kind's rules, and plan show. */
#define _GNU_SOURCE /* nftw, memmem, open_memstream */
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
#include "sk_plan_print.h"
#include "skein.pb-c.h"

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
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sk-move-XXXXXX");
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

/* The head of a move step (lines 9 to 14 of plan.yaml). */
#define MOVE                                                     \
"  - id: mv\n    kind: move_tenant\n"                            \
    "    tenant: {column: tenant_id, value: \"hotel-af-007\"}\n" \
    "    from: af\n    to: in\n"                                 \
    "    tables: [tenants, bookings, invoices]\n"

#define GOOD                                                      \
MOVE "    stay:\n      - table: police_submissions\n"             \
     "        index: {table: moved_artifacts, columns: [id]}\n"   \
     "    event: {table: outbox}\n"                               \
     "    route:\n"                                               \
     "      source: \"UPDATE tenant_directory SET region = 'in' " \
     "WHERE tenant_id = 'hotel-af-007'\"\n"                       \
     "      target: \"UPDATE tenant_directory SET region = 'in' " \
     "WHERE tenant_id = 'hotel-af-007'\"\n"                       \
     "      back:\n"                                              \
     "        source: \"UPDATE tenant_directory SET region = "    \
     "'af' WHERE tenant_id = 'hotel-af-007'\"\n"                  \
     "        target: \"UPDATE tenant_directory SET region = "    \
     "'af' WHERE tenant_id = 'hotel-af-007'\"\n"                  \
     "    freeze_timeout: 500ms\n    max_lag: 2s\n"

static void
test_move_step_builds_with_defaults_and_every_key(void **state)
{
	const sk_move_tenant *m;
	sk_plan *plan;
	sk_err err;

	(void)state;
	plan = build(GOOD, &inv, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(plan->steps[1].kind, SK_STEP_MOVE_TENANT);
	assert_string_equal(sk_step_kind_name(SK_STEP_MOVE_TENANT), "move_tenant");
	m = plan->steps[1].move;
	assert_non_null(m);
	assert_string_equal(m->column, "tenant_id");
	assert_string_equal(m->value, "hotel-af-007");
	assert_string_equal(m->from, "af");
	assert_string_equal(m->to, "in");
	assert_int_equal(m->ntables, 3);
	assert_string_equal(m->tables[2], "invoices");
	assert_false(m->discover);
	assert_int_equal(m->nstay, 1);
	assert_string_equal(m->stay[0].table, "police_submissions");
	assert_string_equal(m->stay[0].index_table, "moved_artifacts");
	assert_int_equal(m->stay[0].nindex_columns, 1);
	assert_string_equal(m->stay[0].index_columns[0], "id");
	assert_string_equal(m->event_table, "outbox");
	assert_string_equal(m->event_type, SK_MOVE_EVENT_DEFAULT);
	assert_non_null(strstr(m->route_source, "tenant_directory"));
	assert_non_null(strstr(m->route_back_source, "region = 'af'"));
	assert_non_null(strstr(m->route_back_target, "region = 'af'"));
	assert_int_equal(m->freeze_timeout_ms, 500);
	assert_int_equal(m->max_lag_ms, 2000);
	sk_plan_destroy(plan);

	/* max_copy_rate in decimal and binary units */
	plan = build(MOVE "    max_copy_rate: 20MB\n", &inv, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(plan->steps[1].move->max_copy_bytes_per_s, 20000000);
	sk_plan_destroy(plan);
	plan = build(MOVE "    max_copy_rate: 1.5MiB\n", &inv, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(plan->steps[1].move->max_copy_bytes_per_s, 1572864);
	sk_plan_destroy(plan);

	/* parallel: absent is the default, 1 and 8 are taken as written */
	plan = build(MOVE, &inv, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(plan->steps[1].move->parallel, 0);
	assert_int_equal(sk_move_parallel(plan->steps[1].move), SK_MOVE_PARALLEL_DEFAULT);
	sk_plan_destroy(plan);
	plan = build(MOVE "    parallel: 1\n", &inv, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(sk_move_parallel(plan->steps[1].move), 1);
	sk_plan_destroy(plan);
	plan = build(MOVE "    parallel: 8\n", &inv, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(sk_move_parallel(plan->steps[1].move), 8);
	sk_plan_destroy(plan);

	/* The least a move needs: defaults for the rest, tables found by
	 * the agent. */
	plan = build("  - id: mv\n    kind: move_tenant\n"
		     "    tenant: {column: tenant_id, value: 42}\n"
		     "    from: in\n    to: ksa\n    discover: true\n",
	    NULL, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	m = plan->steps[1].move;
	assert_string_equal(m->value, "42");
	assert_true(m->discover);
	assert_int_equal(m->ntables, 0);
	assert_null(m->event_table);
	assert_null(m->route_source);
	assert_int_equal(m->freeze_timeout_ms, SK_MOVE_FREEZE_TIMEOUT_DEFAULT_MS);
	assert_int_equal(m->max_lag_ms, SK_MOVE_MAX_LAG_DEFAULT_MS);
	sk_plan_destroy(plan);
}

static void
test_move_step_mistakes_are_refused_where_they_are(void **state)
{
	static const struct {
		const char *steps;
		const char *want;
	} bad[] = {
		/* 0: missing tenant */
		{ "  - id: mv\n    kind: move_tenant\n    from: af\n    to: in\n"
		  "    tables: [t]\n",
		    "plan.yaml:9:5: steps[1]: a move_tenant step needs tenant: a "
		    "mapping of column and value" },
		/* 1: bad column name */
		{ "  - id: mv\n    kind: move_tenant\n"
		  "    tenant: {column: \"tenant id\", value: x}\n"
		  "    from: af\n    to: in\n    tables: [t]\n",
		    "plan.yaml:11:22: steps[1].tenant.column: tenant column "
		    "\"tenant id\" is not an SQL identifier" },
		/* 2: from == to */
		{ "  - id: mv\n    kind: move_tenant\n"
		  "    tenant: {column: tenant_id, value: x}\n"
		  "    from: af\n    to: af\n    tables: [t]\n",
		    "plan.yaml:13:9: steps[1].to: from and to are both af" },
		/* 3: from not in the plan */
		{ "  - id: mv\n    kind: move_tenant\n"
		  "    tenant: {column: tenant_id, value: x}\n"
		  "    from: eu\n    to: af\n    tables: [t]\n",
		    "plan.yaml:12:11: steps[1].from: region eu is not a region of "
		    "the plan" },
		/* 4: route with ';' */
		{ MOVE "    route:\n      source: \"UPDATE d SET r = 'in'; DROP "
		       "TABLE d\"\n",
		    "plan.yaml:16:15: steps[1].route.source: route.source holds "
		    "';'" },
		/* 5: freeze_timeout 0 */
		{ MOVE "    freeze_timeout: 0\n",
		    "plan.yaml:15:21: steps[1].freeze_timeout: expected a duration "
		    "greater than zero" },
		/* 6: freeze_timeout negative */
		{ MOVE "    freeze_timeout: -1s\n",
		    "plan.yaml:15:21: steps[1].freeze_timeout: " },
		/* 7: a stay table also in tables */
		{ MOVE "    stay:\n      - table: bookings\n"
		       "        index: {table: moved_artifacts, columns: [id]}\n",
		    "plan.yaml:16:16: steps[1].stay[0].table: table bookings is in "
		    "tables and in stay" },
		/* 8: an unknown key */
		{ MOVE "    freeze: 1s\n", "plan.yaml:15:5: steps[1]: " },
		/* 9: an unknown key in tenant */
		{ "  - id: mv\n    kind: move_tenant\n"
		  "    tenant: {column: tenant_id, value: x, region: af}\n"
		  "    from: af\n    to: in\n    tables: [t]\n",
		    "plan.yaml:11:43: steps[1].tenant: unknown key \"region\"" },
		/* 10: tables and discover */
		{ MOVE "    discover: true\n",
		    "plan.yaml:15:15: steps[1].discover: discover: true with "
		    "tables" },
		/* 11: neither */
		{ "  - id: mv\n    kind: move_tenant\n"
		  "    tenant: {column: tenant_id, value: x}\n"
		  "    from: af\n    to: in\n",
		    "needs tables (in dependency order) or discover: true" },
		/* 12: a control character in the value */
		{ "  - id: mv\n    kind: move_tenant\n"
		  "    tenant: {column: tenant_id, value: \"a\\tb\"}\n"
		  "    from: af\n    to: in\n    tables: [t]\n",
		    "steps[1].tenant.value: tenant value has a control character at "
		    "byte 2" },
		/* 13: a bad table name */
		{ "  - id: mv\n    kind: move_tenant\n"
		  "    tenant: {column: tenant_id, value: x}\n"
		  "    from: af\n    to: in\n    tables: [t, \"x; drop\"]\n",
		    "plan.yaml:14:17: steps[1].tables[1]: table \"x; drop\" is not "
		    "an SQL identifier" },
		/* 14: a move's key on another kind */
		{ "  - id: mv\n    sql: s1.sql\n    tenant: {column: a, value: b}\n",
		    "a step of kind sql has no tenant" },
		/* 15: another kind's key on a move */
		{ MOVE "    update: \"SET a = 1\"\n",
		    "a step of kind move_tenant has no update" },
		/* 16: a stay without index columns */
		{ MOVE "    stay:\n      - table: docs\n"
		       "        index: {table: moved_artifacts, columns: []}\n",
		    "steps[1].stay[0].index.columns: " },
		/* 17: a move with a revert script */
		{ MOVE "    revert: s1_down.sql\n",
		    "is a move_tenant step with a revert script" },
		/* 18: max_lag 0 */
		{ MOVE "    max_lag: 0\n",
		    "plan.yaml:15:14: steps[1].max_lag: expected a duration greater "
		    "than zero" },
		/* 19: a route that closes a parenthesis it did not open */
		{ MOVE "    route: {target: \"UPDATE d SET r = 1) --\"}\n",
		    "steps[1].route.target: route.target " },
		/* 20: a route without back */
		{ MOVE "    route: {target: \"UPDATE d SET r = 1\"}\n",
		    "plan.yaml:15:12: steps[1].route: route needs back: {source, "
		    "target}: a rollback moves the tenant back to af" },
		/* 21: an empty back */
		{ MOVE "    route: {target: \"UPDATE d SET r = 1\", back: {}}\n",
		    "steps[1].route.back: route.back needs source, target or both" },
		/* 22: a back statement with ';' */
		{ MOVE "    route: {target: \"UPDATE d SET r = 1\", back: {source: "
		       "\"UPDATE d SET r = 2; DROP TABLE d\"}}\n",
		    "steps[1].route.back.source: route.back.source holds ';'" },
		/* 24: a rate that is not one */
		{ MOVE "    max_copy_rate: fast\n",
		    "plan.yaml:15:20: steps[1].max_copy_rate: max_copy_rate "
		    "\"fast\" is not a rate in bytes per second" },
		/* 25: a negative rate */
		{ MOVE "    max_copy_rate: -5MB\n", "max_copy_rate \"-5MB\" is not a rate" },
		/* 26: an unknown unit */
		{ MOVE "    max_copy_rate: 5TB\n", "max_copy_rate \"5TB\" is not a rate" },
		/* 27: parallel 0, 9, -1, a word, a list: 1 to 8 only */
		{ MOVE "    parallel: 0\n",
		    "plan.yaml:15:15: steps[1].parallel: expected an integer "
		    "from 1 to 8, got \"0\"" },
		{ MOVE "    parallel: 9\n",
		    "plan.yaml:15:15: steps[1].parallel: expected an integer "
		    "from 1 to 8, got \"9\"" },
		{ MOVE "    parallel: -1\n", "expected an integer from 1 to 8, got \"-1\"" },
		{ MOVE "    parallel: two\n",
		    "expected an integer from 1 to 8, got \"two\"" },
		{ MOVE "    parallel: [2]\n",
		    "steps[1].parallel: expected an integer from 1 to 8" },
		/* 23: an unknown key in back */
		{ MOVE "    route: {target: \"UPDATE d SET r = 1\", back: {to: x}}\n",
		    "steps[1].route.back: unknown key \"to\"" },
		/* 27: purge on the move itself (a purge_tenant step's job) */
		{ MOVE "    purge: true\n",
		    "plan.yaml:15:12: steps[1].purge: a move_tenant step has no "
		    "purge: the source rows stay, fenced, until a later step of "
		    "kind purge_tenant deletes them" },
	};
	sk_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sk_plan *plan = build(bad[i].steps, &inv, &err);

		if (plan != NULL)
			fail_msg("case %zu built", i);
		if (strstr(err.msg, bad[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg,
			    bad[i].want);
	}
}

static void
test_move_route_statements_are_linted(void **state)
{
	sk_plan *plan;
	sk_err err;

	(void)state;
	/* The routing statements are the move's only SQL: a TRUNCATE there
	 * is refused like one in a SQL step. */
	plan = build(MOVE "    route: {target: \"TRUNCATE tenant_directory\", "
			  "back: {target: \"UPDATE d SET r = 1\"}}\n",
	    &inv, &err);
	assert_null(plan);
	assert_int_equal(err.code, SK_ELINT);
	assert_non_null(strstr(err.msg, "truncate"));
	/* route.back's statements too */
	plan = build(MOVE "    route: {target: \"UPDATE d SET r = 1\", "
			  "back: {source: \"TRUNCATE tenant_directory\"}}\n",
	    &inv, &err);
	assert_null(plan);
	assert_int_equal(err.code, SK_ELINT);
	assert_non_null(strstr(err.msg, "truncate"));
	plan = build(MOVE "    route: {target: \"TRUNCATE tenant_directory\", "
			  "back: {target: \"UPDATE d SET r = 1\"}}\n"
			  "    waive:\n      - rule: truncate\n"
			  "        reason: the directory is rebuilt\n",
	    &inv, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	sk_plan_destroy(plan);
}

static void
test_move_body_round_trips_with_its_checksum(void **state)
{
	sk_plan *plan, *back = NULL;
	uint8_t *buf = NULL, sum[SK_CHECKSUM_LEN];
	size_t len = 0;
	const sk_move_tenant *m;
	sk_move_tenant *w;
	sk_err err;
	char *p;

	(void)state;
	plan = build(GOOD, &inv, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(sk_plan_encode(plan, &buf, &len, &err), SK_OK);
	if (sk_plan_decode(buf, len, &back, &err) != SK_OK)
		fail_msg("%s", err.msg);
	m = back->steps[1].move;
	assert_non_null(m);
	assert_int_equal(back->steps[1].kind, SK_STEP_MOVE_TENANT);
	assert_string_equal(m->column, "tenant_id");
	assert_string_equal(m->value, "hotel-af-007");
	assert_string_equal(m->from, "af");
	assert_string_equal(m->to, "in");
	assert_int_equal(m->ntables, 3);
	assert_string_equal(m->tables[0], "tenants");
	assert_int_equal(m->nstay, 1);
	assert_string_equal(m->stay[0].index_columns[0], "id");
	assert_string_equal(m->event_type, "tenant.region_changed.v1");
	assert_string_equal(m->route_target, plan->steps[1].move->route_target);
	assert_int_equal(m->freeze_timeout_ms, 500);
	assert_int_equal(m->max_lag_ms, 2000);
	assert_memory_equal(
	    back->steps[1].checksum, plan->steps[1].checksum, SK_CHECKSUM_LEN);
	assert_int_equal(sk_step_verify_checksum(&back->steps[1], &err), SK_OK);

	/* Every field is in the checksum: changing any one is another step. */
	w = back->steps[1].move;
	w->freeze_timeout_ms = 501;
	assert_int_equal(sk_step_checksum(&back->steps[1], sum, &err), SK_OK);
	assert_memory_not_equal(sum, plan->steps[1].checksum, SK_CHECKSUM_LEN);
	w->freeze_timeout_ms = 500;
	w->max_lag_ms = 2001;
	assert_int_equal(sk_step_checksum(&back->steps[1], sum, &err), SK_OK);
	assert_memory_not_equal(sum, plan->steps[1].checksum, SK_CHECKSUM_LEN);
	w->max_lag_ms = 2000;
	w->stay[0].index_columns[0][0] = 'j';
	assert_int_equal(sk_step_checksum(&back->steps[1], sum, &err), SK_OK);
	assert_memory_not_equal(sum, plan->steps[1].checksum, SK_CHECKSUM_LEN);
	w->stay[0].index_columns[0][0] = 'i';
	assert_int_equal(sk_step_checksum(&back->steps[1], sum, &err), SK_OK);
	assert_memory_equal(sum, plan->steps[1].checksum, SK_CHECKSUM_LEN);
	/* parallel: 2 and 3 are other steps; 1 is the default's own step */
	w->parallel = 2;
	assert_int_equal(sk_step_checksum(&back->steps[1], sum, &err), SK_OK);
	assert_memory_not_equal(sum, plan->steps[1].checksum, SK_CHECKSUM_LEN);
	w->parallel = 3;
	assert_int_equal(sk_step_checksum(&back->steps[1], sum, &err), SK_OK);
	assert_memory_not_equal(sum, plan->steps[1].checksum, SK_CHECKSUM_LEN);
	w->parallel = SK_MOVE_PARALLEL_DEFAULT;
	assert_int_equal(sk_step_checksum(&back->steps[1], sum, &err), SK_OK);
	assert_memory_equal(sum, plan->steps[1].checksum, SK_CHECKSUM_LEN);
	w->parallel = 0;
	sk_plan_destroy(back);
	back = NULL;

	/* parallel crosses the wire with the checksum that covers it */
	{
		sk_plan *p1 = build(GOOD "    parallel: 5\n", &inv, &err);
		uint8_t *b1 = NULL;
		size_t l1 = 0;

		if (p1 == NULL)
			fail_msg("%s", err.msg);
		assert_memory_not_equal(p1->steps[1].checksum,
		    plan->steps[1].checksum, SK_CHECKSUM_LEN);
		assert_int_equal(sk_plan_encode(p1, &b1, &l1, &err), SK_OK);
		if (sk_plan_decode(b1, l1, &back, &err) != SK_OK)
			fail_msg("%s", err.msg);
		assert_int_equal(sk_move_parallel(back->steps[1].move), 5);
		assert_memory_equal(back->steps[1].checksum,
		    p1->steps[1].checksum, SK_CHECKSUM_LEN);
		sk_plan_destroy(back);
		back = NULL;
		free(b1);
		sk_plan_destroy(p1);
	}

	/* The tenant changed on the wire: the checksum no longer holds. */
	p = memmem(buf, len, "hotel-af-007", 12);
	assert_non_null(p);
	p[11] = '8';
	assert_int_not_equal(sk_plan_decode(buf, len, &back, &err), SK_OK);
	assert_null(back);
	assert_non_null(strstr(err.msg, "checksum"));
	free(buf);
	sk_plan_destroy(plan);
}

/* A purge_tenant step: the tenant, from, to and tables of the move it
 * cleans up after; a move's other keys are refused where they are; it
 * round-trips with a checksum of its own. */
static void
test_purge_step_builds_and_refuses_a_moves_keys(void **state)
{
	static const struct {
		const char *extra, *want;
	} bad[] = {
		{ "    stay:\n      - table: p\n        index: {table: i, columns: [id]}\n",
		    "plan.yaml:16:7: steps[1].stay: a step of kind purge_tenant has no stay" },
		{ "    route: {target: \"UPDATE d SET r = 1\"}\n",
		    "a step of kind purge_tenant has no route" },
		{ "    freeze_timeout: 1s\n",
		    "a step of kind purge_tenant has no freeze_timeout" },
		{ "    event: {table: outbox}\n",
		    "a step of kind purge_tenant has no event" },
		{ "    revert: s1_down.sql\n",
		    "is a purge_tenant step with a revert script" },
		{ "    parallel: 2\n",
		    "plan.yaml:15:15: steps[1].parallel: a step of kind "
		    "purge_tenant has no parallel" },
	};
	sk_plan *plan, *back = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char steps[1024];
	sk_err err;

	(void)state;
	snprintf(steps, sizeof(steps), "%s",
	    "  - id: mv\n    kind: purge_tenant\n"
	    "    tenant: {column: tenant_id, value: \"hotel-af-007\"}\n"
	    "    from: af\n    to: in\n"
	    "    tables: [tenants, bookings, invoices]\n");
	plan = build(steps, &inv, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(plan->steps[1].kind, SK_STEP_PURGE_TENANT);
	assert_string_equal(plan->steps[1].move->from, "af");
	assert_int_equal(sk_plan_encode(plan, &buf, &len, &err), SK_OK);
	if (sk_plan_decode(buf, len, &back, &err) != SK_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(back->steps[1].kind, SK_STEP_PURGE_TENANT);
	assert_string_equal(back->steps[1].move->to, "in");
	assert_memory_equal(
	    back->steps[1].checksum, plan->steps[1].checksum, SK_CHECKSUM_LEN);
	sk_plan_destroy(back);
	free(buf);
	sk_plan_destroy(plan);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char with[1200];

		snprintf(with, sizeof(with), "%s%s", steps, bad[i].extra);
		plan = build(with, &inv, &err);
		if (plan != NULL)
			fail_msg("case %zu built", i);
		if (strstr(err.msg, bad[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.msg,
			    bad[i].want);
	}
}

/* A plan of one move step, made field by field on the wire, with body
 * as given; decoded. */
static int
decode_hand_made(Skein__V1__MoveTenantBody *body, sk_plan **out, sk_err *err)
{
	Skein__V1__Plan pb = SKEIN__V1__PLAN__INIT;
	Skein__V1__Phase ph = SKEIN__V1__PHASE__INIT;
	Skein__V1__Step st = SKEIN__V1__STEP__INIT;
	Skein__V1__Phase *phs[1] = { &ph };
	Skein__V1__Step *sts[1] = { &st };
	char *names[2] = { (char *)"af", (char *)"in" };
	uint8_t sum[SK_CHECKSUM_LEN] = { 0 }, *buf;
	size_t len;
	int rc;

	pb.format = SK_PLAN_FORMAT;
	pb.id = (char *)"p-1";
	pb.name = (char *)"hand";
	pb.created_unix = NOW;
	pb.expires_unix = NOW + 3600;
	ph.name = (char *)"all";
	ph.n_regions = 2;
	ph.regions = names;
	pb.n_phases = 1;
	pb.phases = phs;
	pb.n_regions = 2;
	pb.regions = names;
	st.id = (char *)"mv";
	st.kind = SKEIN__V1__STEP_KIND__STEP_KIND_MOVE_TENANT;
	st.checksum.data = sum;
	st.checksum.len = sizeof(sum);
	st.body_case = SKEIN__V1__STEP__BODY_MOVE_TENANT;
	st.move_tenant = body;
	pb.n_steps = 1;
	pb.steps = sts;
	len = skein__v1__plan__get_packed_size(&pb);
	buf = malloc(len);
	assert_non_null(buf);
	skein__v1__plan__pack(&pb, buf);
	rc = sk_plan_decode(buf, len, out, err);
	free(buf);
	return rc;
}

static void
test_decode_refuses_a_hand_made_move_with_an_invalid_field(void **state)
{
	Skein__V1__MoveTenantBody b = SKEIN__V1__MOVE_TENANT_BODY__INIT;
	Skein__V1__MoveStay stay = SKEIN__V1__MOVE_STAY__INIT;
	Skein__V1__MoveStay *stays[1] = { &stay };
	char *tables[2] = { (char *)"tenants", (char *)"bookings" };
	char *cols[1] = { (char *)"id" };
	sk_plan *plan = NULL;
	sk_err err;

	(void)state;
	b.tenant_column = (char *)"tenant_id";
	b.tenant_value = (char *)"hotel-af-007";
	b.from = (char *)"af";
	b.to = (char *)"in";
	b.n_tables = 2;
	b.tables = tables;
	b.freeze_timeout_ms = 1000;
	b.max_lag_ms = 1000;
	/* Sound but for its all-zero checksum: refused for that alone,
	 * which shows the body reached the checksum. */
	assert_int_equal(decode_hand_made(&b, &plan, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "step mv checksum does not match"));

	b.tenant_column = (char *)"tenant_id; drop";
	assert_int_equal(decode_hand_made(&b, &plan, &err), SK_EINVAL);
	assert_null(plan);
	assert_non_null(strstr(err.msg,
	    "decode plan hand: step mv: has tenant column \"tenant_id; drop\", "
	    "which is not an SQL identifier"));
	b.tenant_column = (char *)"tenant_id";

	b.to = (char *)"af";
	assert_int_equal(decode_hand_made(&b, &plan, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "has from and to both af"));
	b.to = (char *)"ksa";
	assert_int_equal(decode_hand_made(&b, &plan, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg,
	    "moves the tenant to region ksa, which is not a region of the plan"));
	b.to = (char *)"in";

	b.freeze_timeout_ms = -5;
	assert_int_equal(decode_hand_made(&b, &plan, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "has freeze_timeout -5 ms"));
	b.freeze_timeout_ms = 1000;

	b.route_source = (char *)"UPDATE d SET r = 1; DROP TABLE d";
	assert_int_equal(decode_hand_made(&b, &plan, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "route.source holds ';'"));
	b.route_source = (char *)"";

	b.tenant_value = (char *)"a\nb";
	assert_int_equal(decode_hand_made(&b, &plan, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "tenant value with a control character"));
	b.tenant_value = (char *)"hotel-af-007";

	stay.table = (char *)"bookings";
	stay.index_table = (char *)"moved_artifacts";
	stay.n_index_columns = 1;
	stay.index_columns = cols;
	b.n_stay = 1;
	b.stay = stays;
	assert_int_equal(decode_hand_made(&b, &plan, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "both in tables and in stay"));

	b.n_stay = 0;
	b.discover = true;
	assert_int_equal(decode_hand_made(&b, &plan, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "has both tables and discover: true"));
	b.discover = false;

	/* parallel past its bound on the wire */
	b.parallel = 9;
	assert_int_equal(decode_hand_made(&b, &plan, &err), SK_EINVAL);
	assert_null(plan);
	assert_non_null(strstr(err.msg, "it must be 1 to 8"));
	b.parallel = 0;

	/* An event type without the outbox it goes into. */
	b.event_type = (char *)"tenant.region_changed.v1";
	assert_int_equal(decode_hand_made(&b, &plan, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "an event type without its table"));
	assert_null(plan);
}

static void
test_plan_show_prints_the_move(void **state)
{
	sk_plan *plan;
	sk_err err;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	plan = build(GOOD, &inv, &err);
	if (plan == NULL)
		fail_msg("%s", err.msg);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	sk_plan_print(f, plan, NULL);
	fclose(f);
	assert_non_null(strstr(text, "mv  move_tenant step"));
	assert_non_null(
	    strstr(text, "move tenant tenant_id = 'hotel-af-007' from af to in"));
	assert_non_null(
	    strstr(text, "tables tenants, bookings, invoices (in this order)"));
	assert_non_null(strstr(text,
	    "stays police_submissions, indexed in moved_artifacts by id"));
	assert_non_null(strstr(text, "event tenant.region_changed.v1 into outbox"));
	assert_non_null(strstr(text, "freeze_timeout 500 ms, max_lag 2000 ms"));
	assert_null(strstr(text, "not done by this version")); /* no purge */
	assert_non_null(strstr(text, "copy 1 table at once (one transaction)"));
	free(text);
	text = NULL;
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(sk_plan_print_json(f, plan, NULL, &err), SK_OK);
	fclose(f);
	assert_non_null(strstr(text, "\"move_tenant\": {"));
	assert_non_null(strstr(text, "\"tenant_value\": \"hotel-af-007\""));
	assert_non_null(strstr(text, "\"freeze_timeout_ms\": 500"));
	assert_non_null(strstr(text, "\"parallel\": 1"));
	assert_non_null(strstr(text, "\"index_columns\": ["));
	free(text);
	sk_plan_destroy(plan);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_move_step_builds_with_defaults_and_every_key),
		cmocka_unit_test(test_move_step_mistakes_are_refused_where_they_are),
		cmocka_unit_test(test_move_route_statements_are_linted),
		cmocka_unit_test(test_move_body_round_trips_with_its_checksum),
		cmocka_unit_test(test_purge_step_builds_and_refuses_a_moves_keys),
		cmocka_unit_test(test_decode_refuses_a_hand_made_move_with_an_invalid_field),
		cmocka_unit_test(test_plan_show_prints_the_move),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}

/* Unit tests for the data kinds on paper: sk_sql_fragment_check, the
 * batch statement, plan.yaml's backfill, expand and contract steps and
 * every mistake in them, and the bodies on the wire (round trip, decode
 * refusals, checksums). */
#define _XOPEN_SOURCE 700 /* nftw */
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

#include "sk_plan.h"
#include "sk_plan_build.h"
#include "sk_sql.h"

#define NOW 1795000000
#define HEAD "name: p\nphases:\n  - name: all\n    regions: [af]\nsteps:\n"

static char tmpdir[64];

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sk-bf-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmp(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_plan(const char *steps)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/plan.yaml", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, HEAD "%s", steps);
	fclose(f);
}

static sk_plan *
build(const char *steps, sk_err *err)
{
	sk_plan *plan = NULL;

	write_plan(steps);
	if (sk_plan_build(tmpdir, NULL, NOW, &plan, err) != SK_OK)
		return NULL;
	return plan;
}

/* ---- fragments ----------------------------------------------------------- */

static void
test_fragment_check_sees_what_the_scanner_sees(void **state)
{
	static const char *const good[] = { "t.flag", "SET n = (n + 1)",
		"t.name = ')' AND t.x = $$;$$", "a -- ) ; comment\n",
		"t.a IN (1, (2))", NULL };
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "a) OR (b", "closes a parenthesis it did not open, at byte 2" },
		{ "(a", "leaves 1 parenthesis open" },
		{ "((a)", "leaves 1 parenthesis open" },
		{ "n = 1; DROP TABLE t", "holds ';' at byte 6" },
		{ "x = 'unterminated", "f:1: " },
	};
	sk_err err;

	(void)state;
	for (size_t i = 0; good[i] != NULL; i++)
		if (sk_sql_fragment_check(good[i], "f", &err) != SK_OK)
			fail_msg("refused \"%s\": %s", good[i], err.msg);
	assert_int_equal(sk_sql_fragment_check(NULL, "f", &err), SK_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sk_err_clear(&err);
		assert_int_equal(
		    sk_sql_fragment_check(bad[i].text, "f", &err), SK_EINVAL);
		if (strstr(err.msg, bad[i].want) == NULL)
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"",
			    bad[i].text, err.msg, bad[i].want);
	}
}

static void
test_batch_statement_keeps_the_key_range_apart(void **state)
{
	sk_backfill b = { .table = (char *)"public.items",
		.update = (char *)"SET n = n + 1 FROM d",
		.where = (char *)"t.flag OR d.x" };
	char *sql = NULL;
	sk_err err;

	(void)state;
	assert_int_equal(sk_backfill_statement(&b, "(t.id) <= (5)", &sql, &err), SK_OK);
	/* where's OR stays inside its parentheses. */
	assert_string_equal(sql,
	    "UPDATE public.items AS t\nSET n = n + 1 FROM d\nWHERE ((t.id) <= (5)) "
	    "AND (\nt.flag OR d.x\n)");
	free(sql);
	b.update = (char *)"SET n = 1 WHERE true";
	assert_int_equal(sk_backfill_statement(&b, "true", &sql, &err), SK_EINVAL);
	assert_null(sql);
	assert_non_null(strstr(err.msg, "syntax error at or near \"WHERE\""));
	b.update = (char *)"SET n = 1";
	b.where = (char *)"true) OR (true";
	assert_int_equal(sk_backfill_statement(&b, "true", &sql, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "where closes a parenthesis"));
	b.where = NULL;
	b.update = (char *)"SET n = 1 RETURNING *";
	/* RETURNING is still one UPDATE; a second statement is not. */
	assert_int_equal(sk_backfill_statement(&b, "true", &sql, &err), SK_EINVAL);
}

/* ---- plan.yaml ---------------------------------------------------------- */

static void
test_build_reads_a_backfill_and_its_tuning(void **state)
{
	sk_plan *plan;
	sk_err err;
	const sk_backfill *b;

	(void)state;
	plan = build("  - id: fill\n    kind: backfill\n    table: items\n"
		     "    update: SET n = n + 1\n    where: t.flag\n"
		     "    batch: { min: 10, max: 900, target: 50ms }\n"
		     "    max_rows_per_second: 2500\n    max_replication_lag: 5s\n"
		     "    throttle_query: SELECT false\n    autovacuum: false\n"
		     "    dead_man: 30s\n    workers: 3\n",
	    &err);
	if (plan == NULL)
		fail_msg("build: %s", err.msg);
	b = plan->steps[0].backfill;
	assert_int_equal(plan->steps[0].kind, SK_STEP_BACKFILL);
	assert_non_null(b);
	assert_string_equal(b->table, "items");
	assert_string_equal(b->where, "t.flag");
	assert_int_equal(b->tuning.batch_min, 10);
	assert_int_equal(b->tuning.batch_max, 900);
	assert_int_equal(b->tuning.batch_target_ms, 50);
	assert_true(b->tuning.max_rows_per_second == 2500.0);
	assert_int_equal(b->tuning.max_replication_lag_ms, 5000);
	assert_string_equal(b->tuning.throttle_query, "SELECT false");
	assert_true(b->tuning.ignore_autovacuum);
	assert_int_equal(b->tuning.dead_man_ms, 30000);
	assert_int_equal(b->tuning.workers, 3);
	sk_plan_destroy(plan);

	/* The defaults. */
	plan = build("  - id: fill\n    kind: backfill\n    table: items\n"
		     "    update: SET n = 0\n",
	    &err);
	if (plan == NULL)
		fail_msg("build: %s", err.msg);
	b = plan->steps[0].backfill;
	assert_null(b->where);
	assert_int_equal(b->tuning.batch_min, SK_BACKFILL_BATCH_MIN);
	assert_int_equal(b->tuning.batch_max, SK_BACKFILL_BATCH_MAX);
	assert_int_equal(b->tuning.batch_target_ms, SK_BACKFILL_TARGET_MS);
	assert_int_equal(b->tuning.dead_man_ms, SK_BACKFILL_DEAD_MAN_MS);
	assert_int_equal(b->tuning.workers, 1);
	assert_false(b->tuning.ignore_autovacuum);
	sk_plan_destroy(plan);
}

static void
test_build_refuses_every_bad_backfill(void **state)
{
	static const struct {
		const char *step, *want;
	} bad[] = {
		{ "    table: items\n", "steps[0]: missing required key \"update\"" },
		{ "    update: SET n = 1\n", "missing required key \"table\"" },
		{ "    table: items\n    update: SET n = (1\n",
		    "plan.yaml:9:13: steps[0].update: update leaves 1 parenthesis open" },
		{ "    table: items\n    update: SET n = 1 WHERE true\n",
		    "plan.yaml:9:13: steps[0].update: update:3: syntax error at or near "
		    "\"WHERE\"" },
		{ "    table: items\n    update: SET n = 1\n    where: a) OR (b\n",
		    "plan.yaml:10:12: steps[0].where: where closes a parenthesis" },
		{ "    table: items; DROP TABLE x\n    update: SET n = 1\n",
		    "steps[0].table: table holds ';'" },
		{ "    table: items\n    update: SET n = 1\n    batch: { min: 10, max: 5 }\n",
		    "batch min 10 is above batch max 5" },
		{ "    table: items\n    update: SET n = 1\n    batch: { min: 0 }\n",
		    "steps[0].batch.min" },
		{ "    table: items\n    update: SET n = 1\n    batch: { size: 5 }\n",
		    "unknown key \"size\"" },
		{ "    table: items\n    update: SET n = 1\n    workers: 17\n",
		    "steps[0].workers" },
		{ "    table: items\n    update: SET n = 1\n    max_rows_per_second: -1\n",
		    "steps[0].max_rows_per_second" },
		{ "    table: items\n    update: SET n = 1\n    throttle_query: SELECT 1; "
		  "SELECT 2\n",
		    "throttle_query must be one query" },
		{ "    table: items\n    update: SET n = 1\n    column: x\n",
		    "steps[0].column: a step of kind backfill has no column" },
		{ "    table: items\n    update: SET n = 1\n    transaction: false\n",
		    "is a backfill step but has fields of a SQL step" },
		{ "    table: items\n    update: SET n = 1\n    sql: x.sql\n",
		    "is a backfill step but has fields of a SQL step (sql" },
	};
	char text[1024];
	sk_err err;
	FILE *f;

	(void)state;
	snprintf(text, sizeof(text), "%s/x.sql", tmpdir);
	f = fopen(text, "w");
	assert_non_null(f);
	fputs("UPDATE items SET n = 1;\n", f);
	fclose(f);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
		    "  - id: fill\n    kind: backfill\n%s", bad[i].step);
		sk_err_clear(&err);
		if (build(text, &err) != NULL)
			fail_msg("case %zu built", i);
		assert_int_equal(err.code, SK_EINVAL);
		if (strstr(err.msg, bad[i].want) == NULL)
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i,
			    err.msg, bad[i].want);
	}
	/* A SQL step does not take the data kinds' keys. */
	sk_err_clear(&err);
	assert_null(build("  - id: s\n    sql: s.sql\n    table: x\n", &err));
}

static void
test_build_reads_expand_and_contract(void **state)
{
	static const struct {
		const char *step, *want;
	} bad[] = {
		{ "    kind: expand\n    table: t\n    column: b\n    from: a\n",
		    "missing required key \"type\"" },
		{ "    kind: expand\n    table: t\n    column: a\n    from: a\n    type: "
		  "text\n",
		    "column and from are both \"a\"" },
		{ "    kind: expand\n    table: t\n    column: b\n    from: a\n    type: "
		  "text)\n",
		    "steps[0].type: type closes a parenthesis" },
		{ "    kind: expand\n    table: t\n    column: b\n    from: a\n    type: "
		  "int\n    update: SET b = 1\n",
		    "a step of kind expand has no update" },
		{ "    kind: contract\n    table: t\n    column: b\n    from: a\n    type: "
		  "int\n",
		    "a step of kind contract has no type" },
		{ "    kind: contract\n    table: t\n    column: b\n",
		    "missing required key \"from\"" },
	};
	char text[1024];
	sk_plan *plan;
	sk_err err;

	(void)state;
	plan = build("  - id: e\n    kind: expand\n    table: items\n    column: qty2\n"
		     "    type: bigint\n    from: qty\n    using: t.qty::bigint\n"
		     "    batch: { target: 100ms }\n"
		     "  - id: c\n    kind: contract\n    table: items\n    column: qty2\n"
		     "    from: qty\n",
	    &err);
	if (plan == NULL)
		fail_msg("build: %s", err.msg);
	assert_int_equal(plan->steps[0].kind, SK_STEP_EXPAND);
	assert_string_equal(plan->steps[0].expand->column, "qty2");
	assert_string_equal(plan->steps[0].expand->forward, "t.qty::bigint");
	assert_null(plan->steps[0].expand->backward);
	assert_int_equal(plan->steps[0].expand->tuning.batch_target_ms, 100);
	assert_int_equal(plan->steps[1].kind, SK_STEP_CONTRACT);
	assert_null(plan->steps[1].expand->type);
	/* The same columns, another kind: another checksum. */
	assert_memory_not_equal(
	    plan->steps[0].checksum, plan->steps[1].checksum, SK_CHECKSUM_LEN);
	sk_plan_destroy(plan);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "  - id: e\n%s", bad[i].step);
		sk_err_clear(&err);
		if (build(text, &err) != NULL)
			fail_msg("case %zu built", i);
		if (strstr(err.msg, bad[i].want) == NULL)
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i,
			    err.msg, bad[i].want);
	}
}

static void
test_expand_derives_its_backfill(void **state)
{
	sk_expand e = { .table = (char *)"items",
		.column = (char *)"new\"col",
		.from = (char *)"old" };
	sk_backfill b;
	sk_err err;

	(void)state;
	sk_backfill_tuning_default(&e.tuning);
	assert_int_equal(sk_expand_backfill(&e, &b, &err), SK_OK);
	assert_string_equal(b.update, "SET \"new\"\"col\" = (\nt.\"old\"\n)");
	assert_string_equal(b.where, "t.\"new\"\"col\" IS DISTINCT FROM (\nt.\"old\"\n)");
	sk_backfill_fini(&b);
}

/* ---- on the wire --------------------------------------------------------- */

static void
test_bodies_round_trip_and_tuning_is_not_content(void **state)
{
	uint8_t *buf = NULL, sum[SK_CHECKSUM_LEN];
	sk_plan *plan, *out = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	plan = build("  - id: fill\n    kind: backfill\n    table: items\n"
		     "    update: SET n = n + 1\n    where: t.flag\n    workers: 2\n"
		     "    throttle_query: SELECT false\n"
		     "  - id: e\n    kind: expand\n    table: items\n    column: b\n"
		     "    type: text\n    from: a\n    reverse: t.b\n"
		     "  - id: c\n    kind: contract\n    table: items\n    column: b\n"
		     "    from: a\n",
	    &err);
	if (plan == NULL)
		fail_msg("build: %s", err.msg);
	assert_int_equal(sk_plan_encode(plan, &buf, &len, &err), SK_OK);
	if (sk_plan_decode(buf, len, &out, &err) != SK_OK)
		fail_msg("decode: %s", err.msg);
	assert_string_equal(out->steps[0].backfill->update, "SET n = n + 1");
	assert_string_equal(out->steps[0].backfill->where, "t.flag");
	assert_int_equal(out->steps[0].backfill->tuning.workers, 2);
	assert_string_equal(
	    out->steps[0].backfill->tuning.throttle_query, "SELECT false");
	assert_string_equal(out->steps[1].expand->backward, "t.b");
	assert_null(out->steps[1].expand->forward);
	assert_int_equal(out->steps[2].kind, SK_STEP_CONTRACT);
	assert_string_equal(out->steps[2].expand->from, "a");
	/* Tuning is not content: the checksum does not move. */
	out->steps[0].backfill->tuning.workers = 9;
	out->steps[0].backfill->tuning.batch_max = 7;
	assert_int_equal(sk_step_checksum(&out->steps[0], sum, &err), SK_OK);
	assert_memory_equal(sum, out->steps[0].checksum, SK_CHECKSUM_LEN);
	/* Whitespace is not drift; the update is. */
	free(out->steps[0].backfill->update);
	out->steps[0].backfill->update = strdup("SET   n = n\n + 1");
	assert_int_equal(sk_step_checksum(&out->steps[0], sum, &err), SK_OK);
	assert_memory_equal(sum, out->steps[0].checksum, SK_CHECKSUM_LEN);
	free(out->steps[0].backfill->update);
	out->steps[0].backfill->update = strdup("SET n = n + 2");
	assert_int_equal(sk_step_checksum(&out->steps[0], sum, &err), SK_OK);
	assert_memory_not_equal(sum, out->steps[0].checksum, SK_CHECKSUM_LEN);
	sk_plan_destroy(out);
	free(buf);

	/* A body that breaks its kind's rules is refused on decode. */
	plan->steps[0].backfill->tuning.workers = 0;
	assert_int_equal(sk_plan_encode(plan, &buf, &len, &err), SK_OK);
	out = NULL;
	assert_int_equal(sk_plan_decode(buf, len, &out, &err), SK_EINVAL);
	assert_null(out);
	assert_non_null(strstr(err.msg, "workers 0 is not in [1, 16]"));
	free(buf);
	plan->steps[0].backfill->tuning.workers = 1;
	free(plan->steps[0].backfill->where);
	plan->steps[0].backfill->where = strdup("x) OR (y");
	assert_int_equal(sk_plan_encode(plan, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_plan_decode(buf, len, &out, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "where closes a parenthesis"));
	free(buf);
	/* A backfill without its body. */
	sk_backfill_fini(plan->steps[0].backfill);
	free(plan->steps[0].backfill);
	plan->steps[0].backfill = NULL;
	assert_int_equal(sk_plan_encode(plan, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_plan_decode(buf, len, &out, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "is a backfill step without its body"));
	free(buf);
	sk_plan_destroy(plan);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fragment_check_sees_what_the_scanner_sees),
		cmocka_unit_test(test_batch_statement_keeps_the_key_range_apart),
		cmocka_unit_test_setup_teardown(test_build_reads_a_backfill_and_its_tuning,
		    setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_build_refuses_every_bad_backfill, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_build_reads_expand_and_contract, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_expand_derives_its_backfill),
		cmocka_unit_test_setup_teardown(test_bodies_round_trip_and_tuning_is_not_content,
		    setup_tmp, teardown_tmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* plan_print_test: `skein plan show` of the data kinds, from the plan
 * directory tests/data/plans/backfill built as an operator builds it: a
 * backfill's table, update (all its lines), where and every knob of its
 * tuning; an expand's columns, type, using and reverse (or what stands
 * in for them) and tuning; a contract's table and columns. The JSON has
 * the same under the kind's key, null under the others; a plan decoded
 * from its wire form (a signed plan's) prints the same. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sk_plan.h"
#include "sk_plan_build.h"
#include "sk_plan_print.h"

#define NOW 1795000000

static sk_plan *
build(void)
{
	const char *data = getenv("SKEIN_TEST_DATA");
	char dir[512];
	sk_plan *plan = NULL;
	sk_err err;

	if (data == NULL)
		fail_msg("SKEIN_TEST_DATA is not set");
	snprintf(dir, sizeof(dir), "%s/plans/backfill", data);
	if (sk_plan_build(dir, NULL, NOW, &plan, &err) != SK_OK)
		fail_msg("build %s: %s", dir, err.msg);
	return plan;
}

static char *
text_of(const sk_plan *p)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	char *copy;

	assert_non_null(f);
	sk_plan_print(f, p, NULL);
	fclose(f);
	/* A copy: inlined, GCC's -Wdangling-pointer (-O2) takes text for
	 * the local whose address open_memstream was given. */
	copy = strdup(text);
	assert_non_null(copy);
	free(text);
	return copy;
}

static json_t *
json_of(const sk_plan *p)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	json_error_t jerr;
	json_t *root;
	sk_err err;

	assert_non_null(f);
	assert_int_equal(sk_plan_print_json(f, p, NULL, &err), SK_OK);
	fclose(f);
	root = json_loads(text, 0, &jerr);
	if (root == NULL)
		fail_msg("plan JSON does not parse: %s\n%s", jerr.text, text);
	free(text);
	return root;
}

/* The lines of text from the one that starts with first, n of them,
 * must be want (each line's leading spaces kept). */
static void
assert_lines(const char *text, const char *first, const char *want)
{
	const char *at = strstr(text, first);

	if (at == NULL)
		fail_msg("no line \"%s\" in:\n%s", first, text);
	while (at > text && at[-1] != '\n')
		at--;
	if (strncmp(at, want, strlen(want)) != 0)
		fail_msg("expected:\n%s\n--- got:\n%.*s", want, (int)strlen(want), at);
}

static void
test_show_backfill_prints_its_body_and_every_knob(void **state)
{
	sk_plan *p = build();
	char *text = text_of(p);

	(void)state;
	assert_lines(text, "2. 0002_fill_domain",
	    "  2. 0002_fill_domain  backfill step  checksum ");
	assert_lines(text, "     table app.accounts\n",
	    "     table app.accounts\n"
	    "     update SET domain = lower(split_part(t.email, '@', 2))\n"
	    "            FROM app.tenants AS tn\n"
	    "     where t.domain IS NULL AND tn.id = t.tenant_id\n"
	    "     batch min 500, max 20000 rows, target 250ms; workers 4\n"
	    "     max_rows_per_second 5000, max_replication_lag 10s, "
	    "autovacuum false, dead_man 2m\n"
	    "     throttle_query SELECT count(*) > 10 FROM pg_stat_activity "
	    "WHERE wait_event_type = 'Lock'\n"
	    "     lock_timeout 3s, statement_timeout 30m, lock_retries 5, "
	    "retry_backoff 1s\n");
	free(text);
	sk_plan_destroy(p);
}

static void
test_show_expand_and_contract(void **state)
{
	sk_plan *p = build();
	char *text = text_of(p);

	(void)state;
	/* Defaults: the old column as it is, no way back, the default
	 * tuning (batch 100..50000, 200ms, dead man 1m, one worker,
	 * waits for autovacuum, no limits). */
	assert_lines(text, "3. 0003_widen_id",
	    "  3. 0003_widen_id  expand step  checksum ");
	assert_lines(text, "     table app.accounts, column id_big bigint",
	    "     table app.accounts, column id_big bigint, from id\n"
	    "     using none (id as it is)\n"
	    "     reverse none (a write of id_big alone leaves id as it is)\n"
	    "     batch min 100, max 50000 rows, target 200ms; workers 1\n"
	    "     max_rows_per_second none, max_replication_lag none, "
	    "autovacuum true (waits for it), dead_man 1m\n"
	    "     throttle_query none\n");
	assert_lines(text, "     table app.payments",
	    "     table app.payments, column amount_cents bigint, from amount\n"
	    "     using round(t.amount * 100)::bigint\n"
	    "     reverse t.amount_cents / 100.0\n");
	assert_lines(text, "5. 0005_drop_id",
	    "  5. 0005_drop_id  contract step  checksum ");
	assert_lines(text, "     table app.accounts, column id_big, from id (",
	    "     table app.accounts, column id_big, from id (dropped, with the "
	    "trigger that kept id_big in step)\n"
	    "     lock_timeout 3s");
	/* A SQL step has none of it. */
	assert_lines(text, "1. 0001_add_domain",
	    "  1. 0001_add_domain  in a transaction  checksum ");
	{
		char one[1024];
		const char *at = strstr(text, "1. 0001_add_domain");

		/* Its lines, up to the next step's. */
		snprintf(one, sizeof(one), "%s", at);
		assert_non_null(strstr(one, "\n  2. "));
		*strstr(one, "\n  2. ") = '\0';
		assert_null(strstr(one, "table"));
		assert_null(strstr(one, "batch"));
	}
	free(text);
	sk_plan_destroy(p);
}

static void
test_show_json_has_each_body_under_its_kind(void **state)
{
	sk_plan *p = build();
	json_t *root = json_of(p), *steps = json_object_get(root, "steps");
	json_t *bf, *t, *ex, *ct;

	(void)state;
	assert_int_equal(json_array_size(steps), 5);
	/* SQL: null under every data kind. */
	assert_true(
	    json_is_null(json_object_get(json_array_get(steps, 0), "backfill")));
	assert_true(json_is_null(json_object_get(json_array_get(steps, 0), "expand")));
	assert_true(
	    json_is_null(json_object_get(json_array_get(steps, 0), "contract")));

	bf = json_object_get(json_array_get(steps, 1), "backfill");
	assert_string_equal(
	    json_string_value(json_object_get(bf, "table")), "app.accounts");
	assert_string_equal(json_string_value(json_object_get(bf, "update")),
	    "SET domain = lower(split_part(t.email, '@', 2))\nFROM app.tenants AS tn\n");
	assert_string_equal(json_string_value(json_object_get(bf, "where")),
	    "t.domain IS NULL AND tn.id = t.tenant_id");
	t = json_object_get(bf, "tuning");
	assert_int_equal(json_integer_value(json_object_get(t, "batch_min")), 500);
	assert_int_equal(json_integer_value(json_object_get(t, "batch_max")), 20000);
	assert_int_equal(
	    json_integer_value(json_object_get(t, "batch_target_ms")), 250);
	assert_true(json_real_value(json_object_get(t, "max_rows_per_second")) == 5000.0);
	assert_int_equal(
	    json_integer_value(json_object_get(t, "max_replication_lag_ms")), 10000);
	assert_string_equal(json_string_value(json_object_get(t, "throttle_query")),
	    "SELECT count(*) > 10 FROM pg_stat_activity WHERE wait_event_type = "
	    "'Lock'");
	assert_true(json_is_false(json_object_get(t, "autovacuum")));
	assert_int_equal(json_integer_value(json_object_get(t, "dead_man_ms")), 120000);
	assert_int_equal(json_integer_value(json_object_get(t, "workers")), 4);
	assert_true(json_is_null(json_object_get(json_array_get(steps, 1), "expand")));

	ex = json_object_get(json_array_get(steps, 2), "expand");
	assert_string_equal(json_string_value(json_object_get(ex, "column")), "id_big");
	assert_string_equal(json_string_value(json_object_get(ex, "type")), "bigint");
	assert_string_equal(json_string_value(json_object_get(ex, "from")), "id");
	assert_true(json_is_null(json_object_get(ex, "using")));
	assert_true(json_is_null(json_object_get(ex, "reverse")));
	t = json_object_get(ex, "tuning");
	assert_int_equal(json_integer_value(json_object_get(t, "batch_min")), 100);
	assert_int_equal(json_integer_value(json_object_get(t, "batch_max")), 50000);
	assert_int_equal(json_integer_value(json_object_get(t, "dead_man_ms")), 60000);
	assert_true(json_is_true(json_object_get(t, "autovacuum")));
	assert_true(json_is_null(json_object_get(t, "throttle_query")));
	ex = json_object_get(json_array_get(steps, 3), "expand");
	assert_string_equal(json_string_value(json_object_get(ex, "using")),
	    "round(t.amount * 100)::bigint");
	assert_string_equal(json_string_value(json_object_get(ex, "reverse")),
	    "t.amount_cents / 100.0");

	ct = json_object_get(json_array_get(steps, 4), "contract");
	assert_int_equal(json_object_size(ct), 3);
	assert_string_equal(
	    json_string_value(json_object_get(ct, "table")), "app.accounts");
	assert_string_equal(json_string_value(json_object_get(ct, "column")), "id_big");
	assert_string_equal(json_string_value(json_object_get(ct, "from")), "id");
	assert_true(json_is_null(json_object_get(json_array_get(steps, 4), "expand")));
	json_decref(root);
	sk_plan_destroy(p);
}

/* `plan show SIGNED` prints the decoded plan: the same text. */
static void
test_show_of_the_decoded_plan_is_the_same(void **state)
{
	sk_plan *p = build(), *q = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char *a, *b;
	sk_err err;

	(void)state;
	assert_int_equal(sk_plan_encode(p, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_plan_decode(buf, len, &q, &err), SK_OK);
	a = text_of(p);
	b = text_of(q);
	assert_string_equal(a, b);
	free(a);
	free(b);
	free(buf);
	sk_plan_destroy(p);
	sk_plan_destroy(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_show_backfill_prints_its_body_and_every_knob),
		cmocka_unit_test(test_show_expand_and_contract),
		cmocka_unit_test(test_show_json_has_each_body_under_its_kind),
		cmocka_unit_test(test_show_of_the_decoded_plan_is_the_same),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

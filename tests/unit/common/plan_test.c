/* plan_test: the plan codec and its validation, step checksums, and the
 * text and JSON descriptions. Plans are built by hand, not from YAML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "sk_plan.h"
#include "sk_plan_print.h"
#include "sk_util.h"
#include "skein.pb-c.h"

#define CREATED INT64_C(1764000000)

/* A NULL-terminated list of string literals as an owned char ** of n. */
static char **
strv(size_t *n, ...)
{
	char **v = calloc(8, sizeof(*v));
	const char *s;
	va_list ap;

	assert_non_null(v);
	*n = 0;
	va_start(ap, n);
	while ((s = va_arg(ap, const char *)) != NULL)
		v[(*n)++] = sk_strdup(s);
	va_end(ap);
	return v;
}

static void
set_step(sk_step *s, const char *id, const char *sql, bool notx, const char *revert)
{
	s->id = sk_strdup(id);
	s->kind = SK_STEP_SQL;
	s->sql = sk_strdup(sql);
	s->revert = sk_strdup(revert);
	s->verify = NULL;
	s->no_transaction = notx;
	s->sql_path = malloc(strlen(id) + 5);
	sprintf(s->sql_path, "%s.sql", id);
	s->revert_path = revert ? sk_strdup("revert.sql") : NULL;
	s->verify_path = NULL;
	{
		sk_err err;

		if (sk_step_checksum(s, s->checksum, &err) != SK_OK)
			fail_msg("checksum %s: %s", id, err.msg);
	}
}

/* Two phases (canary: af; rest: in, ksa by residency), two steps. */
static sk_plan *
make_plan(void)
{
	sk_plan *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->id = sk_strdup("p-k3x9q2m8w4ab");
	p->name = sk_strdup("add_orders_region");
	p->created_unix = CREATED;
	p->expires_unix = CREATED + 72 * 3600;
	p->phases = calloc(2, sizeof(*p->phases));
	p->nphases = 2;
	p->phases[0].name = sk_strdup("canary");
	p->phases[0].regions = strv(&p->phases[0].nregions, "af", NULL);
	p->phases[1].name = sk_strdup("rest");
	p->phases[1].regions = strv(&p->phases[1].nregions, "in", "ksa", NULL);
	p->phases[1].residency = strv(&p->phases[1].nresidency, "apac", NULL);
	p->regions = strv(&p->nregions, "af", "in", "ksa", NULL);
	p->steps = calloc(2, sizeof(*p->steps));
	p->nsteps = 2;
	set_step(&p->steps[0], "0001_add_column",
	    "ALTER TABLE orders ADD COLUMN region text;", false,
	    "ALTER TABLE orders DROP COLUMN region;");
	set_step(&p->steps[1], "0002_index",
	    "CREATE INDEX CONCURRENTLY orders_region ON orders (region);", true, NULL);
	p->steps[1].verify = sk_strdup("SELECT 1 FROM pg_indexes");
	p->steps[1].verify_path = sk_strdup("0002_verify.sql");
	return p;
}

static void
set_check(sk_check *c, const char *name, const char *sql, int expect,
    const char *op, const char *value, const char *sqlstate)
{
	c->name = sk_strdup(name);
	c->sql = sk_strdup(sql);
	c->expect = expect;
	c->op = op ? sk_strdup(op) : NULL;
	c->value = value ? sk_strdup(value) : NULL;
	c->sqlstate = sqlstate ? sk_strdup(sqlstate) : NULL;
}

/* make_plan with every field of format 1's safety additions set. */
static sk_plan *
make_full_plan(void)
{
	sk_plan *p = make_plan();
	sk_step *s0 = &p->steps[0], *s1 = &p->steps[1];
	sk_phase *ph = &p->phases[0];

	p->backup = true;
	p->no_rollback_backup = true;
	p->preflight.min_server_version = 150002;
	p->preflight.roles = strv(&p->preflight.nroles, "app_rw", "app_ro", NULL);
	p->preflight.extensions = strv(&p->preflight.nextensions, "pgcrypto", NULL);
	p->preflight.max_transaction_age_ms = 300000;
	p->preflight.max_connections_share = 0.8;
	p->preflight.requires = calloc(2, sizeof(*p->preflight.requires));
	p->preflight.nrequires = 2;
	p->preflight.requires[0].plan = sk_strdup("base");
	p->preflight.requires[0].step = sk_strdup("0026_api_keys");
	p->preflight.requires[1].plan = sk_strdup("other");

	ph->pre = calloc(1, sizeof(*ph->pre));
	ph->npre = 1;
	set_check(&ph->pre[0], "no_long_tx", "SELECT count(*) FROM pg_stat_activity",
	    SK_EXPECT_COMPARE, "=", "0", NULL);
	ph->post = calloc(1, sizeof(*ph->post));
	ph->npost = 1;
	set_check(&ph->post[0], "orders_ok", "SELECT 1 WHERE false",
	    SK_EXPECT_NO_ROWS, NULL, NULL, NULL);

	s0->pre = calloc(2, sizeof(*s0->pre));
	s0->npre = 2;
	set_check(&s0->pre[0], "big", "SELECT count(*) FROM orders",
	    SK_EXPECT_COMPARE, ">=", "1", NULL);
	set_check(&s0->pre[1], "ne", "SELECT 'x'", SK_EXPECT_COMPARE, "!=", "abc", NULL);
	s0->pre[1].report_value = true;
	s0->post = calloc(1, sizeof(*s0->post));
	s0->npost = 1;
	set_check(&s0->post[0], "rejects", "INSERT INTO orders VALUES (-1)",
	    SK_EXPECT_FAILS, NULL, NULL, "23514");
	s0->lock_timeout_ms = 2000;
	s0->statement_timeout_ms = 600000;
	s0->lock_retries = 7;
	s0->retry_backoff_ms = 250;
	s0->waivers = calloc(1, sizeof(*s0->waivers));
	s0->nwaivers = 1;
	s0->waivers[0].rule = sk_strdup("drop-column");
	s0->waivers[0].reason = sk_strdup("nobody reads it");
	sk_step_text_checksum(s0, s0->text_checksum);

	s1->lock_timeout_ms = 0;
	s1->statement_timeout_ms = 0;
	s1->lock_retries = 0;
	s1->retry_backoff_ms = 1000;
	s1->concurrent_indexes = strv(&s1->nconcurrent_indexes, "orders_region",
	    "app.\"Orders_idx\"", NULL);
	sk_step_text_checksum(s1, s1->text_checksum);
	return p;
}

static void
assert_checks_equal(const sk_check *a, const sk_check *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(a[i].name, b[i].name);
		assert_string_equal(a[i].sql, b[i].sql);
		assert_int_equal(a[i].expect, b[i].expect);
		if (b[i].op == NULL)
			assert_null(a[i].op);
		else
			assert_string_equal(a[i].op, b[i].op);
		if (b[i].value == NULL)
			assert_null(a[i].value);
		else
			assert_string_equal(a[i].value, b[i].value);
		if (b[i].sqlstate == NULL)
			assert_null(a[i].sqlstate);
		else
			assert_string_equal(a[i].sqlstate, b[i].sqlstate);
		assert_null(a[i].path); /* not carried on the wire */
		assert_int_equal(a[i].report_value, b[i].report_value);
	}
}

static uint8_t *
encode(const sk_plan *p, size_t *len)
{
	uint8_t *buf = NULL;
	sk_err err;

	assert_int_equal(sk_plan_encode(p, &buf, len, &err), SK_OK);
	assert_non_null(buf);
	return buf;
}

/* Encode p, decode it, expect code with cause in the message, and no
 * plan. Frees p. */
static void
expect_decode_fails(sk_plan *p, int code, const char *cause)
{
	sk_plan *out = NULL;
	size_t len = 0;
	uint8_t *buf = encode(p, &len);
	sk_err err;

	assert_int_equal(sk_plan_decode(buf, len, &out, &err), code);
	assert_int_equal(err.code, code);
	assert_null(out);
	if (strstr(err.msg, cause) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, cause);
	free(buf);
	sk_plan_destroy(p);
}

static void
test_plan_round_trips_through_protobuf(void **state)
{
	sk_plan *p = make_plan(), *q = NULL;
	size_t len = 0;
	uint8_t *buf = encode(p, &len);
	sk_err err;

	(void)state;
	assert_int_equal(sk_plan_decode(buf, len, &q, &err), SK_OK);
	assert_string_equal(q->id, p->id);
	assert_string_equal(q->name, p->name);
	assert_int_equal(q->created_unix, p->created_unix);
	assert_int_equal(q->expires_unix, p->expires_unix);
	assert_int_equal(q->nphases, 2);
	assert_string_equal(q->phases[1].name, "rest");
	assert_int_equal(q->phases[1].nregions, 2);
	assert_string_equal(q->phases[1].regions[1], "ksa");
	assert_int_equal(q->phases[1].nresidency, 1);
	assert_string_equal(q->phases[1].residency[0], "apac");
	assert_int_equal(q->phases[0].nresidency, 0);
	assert_int_equal(q->nregions, 3);
	assert_string_equal(q->regions[2], "ksa");
	assert_int_equal(q->nsteps, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(q->steps[i].id, p->steps[i].id);
		assert_int_equal(q->steps[i].kind, SK_STEP_SQL);
		assert_string_equal(q->steps[i].sql, p->steps[i].sql);
		assert_int_equal(q->steps[i].no_transaction, p->steps[i].no_transaction);
		assert_memory_equal(q->steps[i].checksum, p->steps[i].checksum,
		    SK_CHECKSUM_LEN);
		assert_string_equal(q->steps[i].sql_path, p->steps[i].sql_path);
	}
	assert_string_equal(q->steps[0].revert, p->steps[0].revert);
	assert_string_equal(q->steps[0].revert_path, "revert.sql");
	assert_null(q->steps[0].verify); /* absent stays absent */
	assert_null(q->steps[0].verify_path);
	assert_null(q->steps[1].revert);
	assert_string_equal(q->steps[1].verify, p->steps[1].verify);
	assert_true(sk_plan_addresses(q, "ksa"));
	assert_false(sk_plan_addresses(q, "eu"));
	assert_false(sk_plan_addresses(q, NULL));
	/* Encoding is deterministic: the decoded plan encodes identically. */
	{
		size_t len2 = 0;
		uint8_t *buf2 = encode(q, &len2);

		assert_int_equal(len2, len);
		assert_memory_equal(buf2, buf, len);
		free(buf2);
	}
	free(buf);
	sk_plan_destroy(p);
	sk_plan_destroy(q);
	sk_plan_destroy(NULL);
}

static void
test_plan_round_trips_every_safety_field(void **state)
{
	sk_plan *p = make_full_plan(), *q = NULL;
	size_t len = 0, len2 = 0;
	uint8_t *buf = encode(p, &len), *buf2;
	sk_err err;

	(void)state;
	if (sk_plan_decode(buf, len, &q, &err) != SK_OK)
		fail_msg("decode: %s", err.msg);
	assert_true(q->backup);
	assert_true(q->no_rollback_backup);
	assert_int_equal(q->preflight.min_server_version, 150002);
	assert_int_equal(q->preflight.nroles, 2);
	assert_string_equal(q->preflight.roles[1], "app_ro");
	assert_int_equal(q->preflight.nextensions, 1);
	assert_string_equal(q->preflight.extensions[0], "pgcrypto");
	assert_int_equal(q->preflight.max_transaction_age_ms, 300000);
	assert_true(q->preflight.max_connections_share == 0.8);
	assert_int_equal(q->preflight.nrequires, 2);
	assert_string_equal(q->preflight.requires[0].plan, "base");
	assert_string_equal(q->preflight.requires[0].step, "0026_api_keys");
	assert_string_equal(q->preflight.requires[1].plan, "other");
	assert_null(q->preflight.requires[1].step);

	assert_int_equal(q->phases[0].npre, 1);
	assert_checks_equal(q->phases[0].pre, p->phases[0].pre, 1);
	assert_int_equal(q->phases[0].npost, 1);
	assert_checks_equal(q->phases[0].post, p->phases[0].post, 1);
	assert_int_equal(q->phases[1].npre + q->phases[1].npost, 0);
	assert_null(q->phases[1].pre);

	for (size_t i = 0; i < 2; i++) {
		const sk_step *a = &q->steps[i], *b = &p->steps[i];

		assert_int_equal(a->npre, b->npre);
		assert_checks_equal(a->pre, b->pre, b->npre);
		assert_int_equal(a->npost, b->npost);
		assert_checks_equal(a->post, b->post, b->npost);
		assert_int_equal(a->lock_timeout_ms, b->lock_timeout_ms);
		assert_int_equal(a->statement_timeout_ms, b->statement_timeout_ms);
		assert_int_equal(a->lock_retries, b->lock_retries);
		assert_int_equal(a->retry_backoff_ms, b->retry_backoff_ms);
		assert_int_equal(a->nwaivers, b->nwaivers);
		assert_int_equal(a->nconcurrent_indexes, b->nconcurrent_indexes);
		assert_memory_equal(a->text_checksum, b->text_checksum, SK_CHECKSUM_LEN);
	}
	assert_int_equal(q->steps[0].lock_retries, 7);
	assert_string_equal(q->steps[0].waivers[0].rule, "drop-column");
	assert_string_equal(q->steps[0].waivers[0].reason, "nobody reads it");
	assert_string_equal(q->steps[1].concurrent_indexes[1], "app.\"Orders_idx\"");
	assert_int_equal(q->steps[1].nwaivers, 0);
	assert_null(q->steps[1].waivers);

	buf2 = encode(q, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(buf2, buf, len);
	free(buf2);
	free(buf);
	sk_plan_destroy(p);
	sk_plan_destroy(q);
}

/* A plan without a text checksum (all zero) leaves it off the wire and
 * decodes with zeros; the caller computes it when it needs it. */
static void
test_decode_accepts_absent_text_checksum(void **state)
{
	sk_plan *p = make_full_plan(), *q = NULL;
	size_t len = 0;
	uint8_t *buf;
	uint8_t zero[SK_CHECKSUM_LEN] = { 0 };
	sk_err err;

	(void)state;
	memset(p->steps[0].text_checksum, 0, SK_CHECKSUM_LEN);
	buf = encode(p, &len);
	assert_int_equal(sk_plan_decode(buf, len, &q, &err), SK_OK);
	assert_memory_equal(q->steps[0].text_checksum, zero, SK_CHECKSUM_LEN);
	assert_memory_equal(q->steps[1].text_checksum,
	    p->steps[1].text_checksum, SK_CHECKSUM_LEN);
	free(buf);
	sk_plan_destroy(p);
	sk_plan_destroy(q);
}

static void
replace(char **field, const char *v)
{
	free(*field);
	*field = v ? sk_strdup(v) : NULL;
}

static void
test_decode_rejects_bad_checks(void **state)
{
	static const char *const bad_ops[] = { "==", "~", "<>", "=>", "" };
	static const char *const bad_states[] = { "2351", "235144", "2351a",
		"23 14", "" };
	sk_plan *p;

	(void)state;
	p = make_full_plan();
	replace(&p->steps[0].pre[1].name, "big");
	expect_decode_fails(
	    p, SK_EINVAL, "duplicate step 0001_add_column pre-check name big");

	p = make_full_plan();
	replace(&p->phases[0].post[0].name, "a b");
	expect_decode_fails(p, SK_EINVAL, "invalid phase canary post-check name \"a b\"");

	p = make_full_plan();
	replace(&p->steps[0].post[0].name, "");
	expect_decode_fails(p, SK_EINVAL, "invalid step 0001_add_column post-check name");

	/* The same name in pre and post, or in two steps, is fine: unique
	 * within its list. Tested by the round trip's plan having "big" once;
	 * here a post-check named like a pre-check decodes. */
	p = make_full_plan();
	replace(&p->steps[0].post[0].name, "big");
	{
		sk_plan *q = NULL;
		size_t len = 0;
		uint8_t *buf = encode(p, &len);
		sk_err err;

		assert_int_equal(sk_plan_decode(buf, len, &q, &err), SK_OK);
		sk_plan_destroy(q);
		free(buf);
		sk_plan_destroy(p);
	}

	p = make_full_plan();
	replace(&p->steps[0].pre[0].sql, "");
	expect_decode_fails(
	    p, SK_EINVAL, "step 0001_add_column pre-check big has no SQL");

	p = make_full_plan();
	replace(&p->phases[0].pre[0].sql, " \n\t");
	expect_decode_fails(p, SK_EINVAL, "phase canary pre-check no_long_tx has no SQL");

	for (size_t i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
		p = make_full_plan();
		replace(&p->steps[0].pre[0].op, bad_ops[i]);
		expect_decode_fails(p, SK_EINVAL, "pre-check big compares with operator");
	}
	p = make_full_plan();
	replace(&p->steps[0].pre[0].value, NULL);
	expect_decode_fails(p, SK_EINVAL, "pre-check big compares with an empty value");
	p = make_full_plan();
	replace(&p->steps[0].pre[0].sqlstate, "23514");
	expect_decode_fails(p, SK_EINVAL,
	    "pre-check big compares a value but also names a SQLSTATE");

	for (size_t i = 0; i < sizeof(bad_states) / sizeof(bad_states[0]); i++) {
		p = make_full_plan();
		replace(&p->steps[0].post[0].sqlstate, bad_states[i]);
		expect_decode_fails(p, SK_EINVAL,
		    "post-check rejects expects a failure with SQLSTATE");
	}
	p = make_full_plan();
	replace(&p->steps[0].post[0].op, "=");
	expect_decode_fails(p, SK_EINVAL,
	    "post-check rejects expects a failure but also has an operator or value");

	p = make_full_plan();
	replace(&p->phases[0].post[0].value, "1");
	expect_decode_fails(p, SK_EINVAL,
	    "phase canary post-check orders_ok expects no rows but also has");
	p = make_full_plan();
	replace(&p->phases[0].post[0].sqlstate, "23514");
	expect_decode_fails(
	    p, SK_EINVAL, "post-check orders_ok expects no rows but also has");

	p = make_full_plan();
	p->steps[0].pre[0].expect = 0;
	expect_decode_fails(p, SK_EINVAL, "pre-check big has unknown expectation 0");
	p = make_full_plan();
	p->steps[0].pre[0].expect = 9;
	expect_decode_fails(p, SK_EINVAL, "pre-check big has unknown expectation 9");
}

static void
test_decode_rejects_bad_limits_and_waivers(void **state)
{
	sk_plan *p;

	(void)state;
	p = make_full_plan();
	p->steps[0].lock_timeout_ms = -1;
	expect_decode_fails(p, SK_EINVAL, "step 0001_add_column has a negative limit");
	p = make_full_plan();
	p->steps[1].statement_timeout_ms = -5;
	expect_decode_fails(p, SK_EINVAL, "step 0002_index has a negative limit");
	p = make_full_plan();
	p->steps[1].retry_backoff_ms = INT64_MIN;
	expect_decode_fails(p, SK_EINVAL, "step 0002_index has a negative limit");
	p = make_full_plan();
	p->steps[0].lock_retries = SK_LOCK_RETRIES_MAX + 1;
	expect_decode_fails(p, SK_EINVAL,
	    "step 0001_add_column has lock_retries 101 (at most 100)");

	p = make_full_plan();
	replace(&p->steps[0].waivers[0].rule, "");
	expect_decode_fails(p, SK_EINVAL, "waives rule \"\"");
	p = make_full_plan();
	replace(&p->steps[0].waivers[0].rule, "Drop_Column");
	expect_decode_fails(p, SK_EINVAL, "waives rule \"Drop_Column\"");
	p = make_full_plan();
	replace(&p->steps[0].waivers[0].reason, "");
	expect_decode_fails(p, SK_EINVAL,
	    "step 0001_add_column waives rule drop-column without a reason");
	p = make_full_plan();
	replace(&p->steps[0].waivers[0].reason, "   ");
	expect_decode_fails(p, SK_EINVAL, "waives rule drop-column without a reason");

	p = make_full_plan();
	replace(&p->steps[1].concurrent_indexes[0], "");
	expect_decode_fails(p, SK_EINVAL,
	    "step 0002_index lists an empty concurrent index name");

	p = make_full_plan();
	p->steps[1].text_checksum[0] ^= 1;
	expect_decode_fails(p, SK_EINVAL, "step 0002_index text checksum does not match");
}

static void
test_decode_rejects_bad_preflight(void **state)
{
	sk_plan *p;

	(void)state;
	p = make_full_plan();
	p->preflight.max_connections_share = 1.01;
	expect_decode_fails(p, SK_EINVAL,
	    "preflight max_connections share 1.01 is not between 0 and 1");
	p = make_full_plan();
	p->preflight.max_connections_share = -0.5;
	expect_decode_fails(p, SK_EINVAL, "is not between 0 and 1");
	p = make_full_plan();
	p->preflight.max_connections_share = NAN;
	expect_decode_fails(p, SK_EINVAL, "is not between 0 and 1");
	p = make_full_plan();
	p->preflight.max_transaction_age_ms = -1;
	expect_decode_fails(
	    p, SK_EINVAL, "preflight max_transaction_age -1 ms is negative");
	p = make_full_plan();
	replace(&p->preflight.requires[0].plan, "a/b");
	expect_decode_fails(p, SK_EINVAL, "preflight requires invalid plan name \"a/b\"");
	p = make_full_plan();
	replace(&p->preflight.requires[1].plan, NULL);
	expect_decode_fails(p, SK_EINVAL, "preflight requires invalid plan name \"\"");
	p = make_full_plan();
	replace(&p->preflight.requires[0].step, "../x");
	expect_decode_fails(p, SK_EINVAL,
	    "preflight requires plan base step with invalid name \"../x\"");
	p = make_full_plan();
	replace(&p->preflight.roles[0], "");
	expect_decode_fails(p, SK_EINVAL, "preflight lists an empty role name");
	p = make_full_plan();
	replace(&p->preflight.extensions[0], " ");
	expect_decode_fails(p, SK_EINVAL, "preflight lists an empty extension name");
}

static void
test_step_checksum_matches_canonical_form(void **state)
{
	sk_step s = { .kind = SK_STEP_SQL, .sql = "SELECT 1" };
	uint8_t sum[SK_CHECKSUM_LEN];
	char hex[2 * SK_CHECKSUM_LEN + 1];

	(void)state;
	/* Pinned values, computed independently as SHA-256 of
	 * "skein-step-v1\0" "1\0" "tx\0" "SELECT 1" (and "notx"). */
	sk_step_text_checksum(&s, sum);
	sk_hex(sum, sizeof(sum), hex);
	assert_string_equal(hex,
	    "5732c4ffa18683b3e442f2b6efcadf7d60da3ef7c911e7b598281c07b06a1362");
	s.no_transaction = true;
	sk_step_text_checksum(&s, sum);
	sk_hex(sum, sizeof(sum), hex);
	assert_string_equal(hex,
	    "9b37827f53adb3337523e5f5ad7de4e966af462f8c47ce06ccc5090d0daeafaa");
}

static void
test_step_checksum_changes_with_sql_and_mode_only(void **state)
{
	sk_step s = { .kind = SK_STEP_SQL, .sql = "ALTER TABLE t ADD c int;" };
	uint8_t a[SK_CHECKSUM_LEN], b[SK_CHECKSUM_LEN];

	(void)state;
	sk_step_text_checksum(&s, a);
	s.sql = "ALTER TABLE t ADD c bigint;";
	sk_step_text_checksum(&s, b);
	assert_memory_not_equal(a, b, SK_CHECKSUM_LEN);
	s.sql = "ALTER TABLE t ADD c int; ";
	sk_step_text_checksum(&s, b);
	assert_memory_not_equal(a, b, SK_CHECKSUM_LEN);
	s.sql = "ALTER TABLE t ADD c int;";
	s.no_transaction = true;
	sk_step_text_checksum(&s, b);
	assert_memory_not_equal(a, b, SK_CHECKSUM_LEN);
	s.no_transaction = false;
	s.kind = 2;
	sk_step_text_checksum(&s, b);
	assert_memory_not_equal(a, b, SK_CHECKSUM_LEN);
	/* Revert, verify, id and paths are not content: editing them is not
	 * drift. */
	s.kind = SK_STEP_SQL;
	s.revert = "ALTER TABLE t DROP c;";
	s.verify = "SELECT c FROM t";
	s.id = "renamed";
	s.sql_path = "elsewhere.sql";
	sk_step_text_checksum(&s, b);
	assert_memory_equal(a, b, SK_CHECKSUM_LEN);
}

static void
test_decode_rejects_tampered_checksum(void **state)
{
	sk_plan *p = make_plan();

	(void)state;
	p->steps[1].checksum[31] ^= 0x01;
	expect_decode_fails(p, SK_EINVAL, "0002_index checksum");

	/* SQL edited after the checksum was taken (a change PostgreSQL's
	 * parser sees: a different column type). */
	p = make_plan();
	free(p->steps[0].sql);
	p->steps[0].sql = sk_strdup("ALTER TABLE orders ADD COLUMN region int;");
	expect_decode_fails(p, SK_EINVAL, "0001_add_column checksum");
}

static void
test_decode_rejects_duplicate_step_ids_and_phase_names(void **state)
{
	sk_plan *p = make_plan();

	(void)state;
	free(p->steps[1].id);
	p->steps[1].id = sk_strdup("0001_add_column");
	expect_decode_fails(p, SK_EINVAL, "duplicate step id 0001_add_column");

	p = make_plan();
	free(p->phases[1].name);
	p->phases[1].name = sk_strdup("canary");
	expect_decode_fails(p, SK_EINVAL, "duplicate phase name canary");

	p = make_plan();
	free(p->regions[2]);
	p->regions[2] = sk_strdup("af");
	expect_decode_fails(p, SK_EINVAL, "duplicate region af");

	p = make_plan();
	free(p->phases[1].regions[1]);
	p->phases[1].regions[1] = sk_strdup("in");
	expect_decode_fails(p, SK_EINVAL, "duplicate region of phase rest in");
}

static void
test_decode_rejects_bad_names(void **state)
{
	static const char *const bad[] = { "", "../etc", "a b", "-x", ".x",
		"a/b", "x\n" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sk_plan *p = make_plan();

		free(p->name);
		p->name = sk_strdup(bad[i]);
		expect_decode_fails(p, SK_EINVAL, "invalid name");

		p = make_plan();
		free(p->id);
		p->id = sk_strdup(bad[i]);
		expect_decode_fails(p, SK_EINVAL, "invalid id");

		p = make_plan();
		free(p->steps[0].id);
		p->steps[0].id = sk_strdup(bad[i]);
		expect_decode_fails(p, SK_EINVAL, "invalid step id");

		p = make_plan();
		free(p->phases[0].name);
		p->phases[0].name = sk_strdup(bad[i]);
		expect_decode_fails(p, SK_EINVAL, "invalid phase name");

		p = make_plan();
		free(p->regions[0]);
		p->regions[0] = sk_strdup(bad[i]);
		expect_decode_fails(p, SK_EINVAL, "invalid region");

		p = make_plan();
		free(p->phases[1].residency[0]);
		p->phases[1].residency[0] = sk_strdup(bad[i]);
		expect_decode_fails(p, SK_EINVAL, "invalid residency of phase rest");
	}
}

static void
test_decode_rejects_format_2(void **state)
{
	sk_plan *p = make_plan(), *out = NULL;
	Skein__V1__Plan *pb;
	uint8_t *buf, *buf2;
	size_t len = 0, len2;
	sk_err err;

	(void)state;
	buf = encode(p, &len);
	pb = skein__v1__plan__unpack(NULL, len, buf);
	assert_non_null(pb);
	assert_int_equal(pb->format, 1);
	pb->format = 2;
	len2 = skein__v1__plan__get_packed_size(pb);
	buf2 = malloc(len2);
	assert_non_null(buf2);
	skein__v1__plan__pack(pb, buf2);
	assert_int_equal(sk_plan_decode(buf2, len2, &out, &err), SK_EINVAL);
	assert_null(out);
	assert_non_null(strstr(err.msg, "unsupported format 2"));
	/* And a plan without any format (0) is not format 1 either. */
	pb->format = 0;
	len2 = skein__v1__plan__pack(pb, buf2);
	assert_int_equal(sk_plan_decode(buf2, len2, &out, &err), SK_EINVAL);
	assert_null(out);
	skein__v1__plan__free_unpacked(pb, NULL);
	free(buf);
	free(buf2);
	sk_plan_destroy(p);
}

static void
test_decode_rejects_expiry_not_after_creation(void **state)
{
	sk_plan *p = make_plan();

	(void)state;
	p->expires_unix = p->created_unix - 1;
	expect_decode_fails(p, SK_EINVAL, "is not after creation");
	p = make_plan();
	p->expires_unix = p->created_unix;
	expect_decode_fails(p, SK_EINVAL, "is not after creation");
	p = make_plan();
	p->created_unix = 0;
	expect_decode_fails(p, SK_EINVAL, "is not after creation");
}

static void
test_decode_rejects_empty_or_inconsistent_structure(void **state)
{
	sk_plan *p = make_plan();
	size_t saved;

	(void)state;
	saved = p->nsteps;
	p->nsteps = 0;
	{
		sk_plan *out = NULL;
		size_t len = 0;
		uint8_t *buf = encode(p, &len);
		sk_err err;

		assert_int_equal(sk_plan_decode(buf, len, &out, &err), SK_EINVAL);
		assert_null(out);
		assert_non_null(strstr(err.msg, "no steps"));
		free(buf);
	}
	p->nsteps = saved;
	saved = p->nphases;
	p->nphases = 0;
	{
		sk_plan *out = NULL;
		size_t len = 0;
		uint8_t *buf = encode(p, &len);
		sk_err err;

		assert_int_equal(sk_plan_decode(buf, len, &out, &err), SK_EINVAL);
		assert_null(out);
		assert_non_null(strstr(err.msg, "no phases"));
		free(buf);
	}
	p->nphases = saved;
	sk_plan_destroy(p);

	p = make_plan();
	free(p->phases[0].regions[0]);
	p->phases[0].regions[0] = sk_strdup("eu");
	expect_decode_fails(p, SK_EINVAL, "phase canary region eu is not in");

	p = make_plan();
	p->nregions = 3;
	free(p->regions[2]);
	p->regions[2] = sk_strdup("eu");
	free(p->phases[1].regions[1]);
	p->phases[1].nregions = 1;
	expect_decode_fails(p, SK_EINVAL, "region eu is in no phase");

	p = make_plan();
	free(p->phases[0].regions[0]);
	p->phases[0].nregions = 0;
	expect_decode_fails(p, SK_EINVAL, "phase canary addresses no regions");

	p = make_plan();
	p->steps[0].kind = 99;
	expect_decode_fails(p, SK_EINVAL, "step 0001_add_column: has unknown kind 99");

	p = make_plan();
	p->steps[0].sql[0] = '\0';
	assert_int_equal(
	    sk_step_checksum(&p->steps[0], p->steps[0].checksum, NULL), SK_OK);
	expect_decode_fails(p, SK_EINVAL, "has no SQL");
}

static void
free_check_list(sk_check *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].name);
		free(c[i].sql);
		free(c[i].op);
		free(c[i].value);
		free(c[i].sqlstate);
		free(c[i].path);
	}
	free(c);
}

/* Turn step i of p into a check step with one check. */
static void
make_check_step(sk_plan *p, size_t i)
{
	sk_step *st = &p->steps[i];
	sk_err err;

	free(st->sql);
	st->sql = NULL;
	free(st->verify);
	st->verify = NULL;
	st->no_transaction = false;
	memset(st->text_checksum, 0, SK_CHECKSUM_LEN);
	st->kind = SK_STEP_CHECK;
	st->checks = calloc(1, sizeof(*st->checks));
	assert_non_null(st->checks);
	st->nchecks = 1;
	set_check(&st->checks[0], "no_orphans",
	    "SELECT count(*) FROM orders WHERE region IS NULL",
	    SK_EXPECT_COMPARE, "=", "0", NULL);
	if (sk_step_checksum(st, st->checksum, &err) != SK_OK)
		fail_msg("checksum: %s", err.msg);
}

static void
test_check_step_round_trips_and_its_checks_are_its_content(void **state)
{
	sk_plan *p = make_plan(), *out = NULL;
	uint8_t before[SK_CHECKSUM_LEN], *buf;
	size_t len = 0;
	sk_err err;

	(void)state;
	make_check_step(p, 1);
	assert_string_equal(sk_step_kind_name(SK_STEP_CHECK), "check");
	assert_int_equal(sk_step_kind_by_name("check"), SK_STEP_CHECK);
	assert_int_equal(sk_step_kind_by_name("backfill"), SK_STEP_BACKFILL);
	assert_int_equal(sk_step_kind_by_name("flag"), SK_STEP_FLAG);
	assert_int_equal(sk_step_kind_by_name("move"), 0);
	buf = encode(p, &len);
	assert_int_equal(sk_plan_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out->steps[1].kind, SK_STEP_CHECK);
	assert_null(out->steps[1].sql);
	assert_int_equal(out->steps[1].nchecks, 1);
	assert_string_equal(out->steps[1].checks[0].name, "no_orphans");
	assert_string_equal(out->steps[1].checks[0].value, "0");
	assert_memory_equal(
	    out->steps[1].checksum, p->steps[1].checksum, SK_CHECKSUM_LEN);
	free(buf);
	sk_plan_destroy(out);

	/* A changed expectation is another step; whitespace is not. */
	memcpy(before, p->steps[1].checksum, SK_CHECKSUM_LEN);
	free(p->steps[1].checks[0].value);
	p->steps[1].checks[0].value = sk_strdup("1");
	assert_int_equal(
	    sk_step_checksum(&p->steps[1], p->steps[1].checksum, &err), SK_OK);
	assert_memory_not_equal(before, p->steps[1].checksum, SK_CHECKSUM_LEN);
	free(p->steps[1].checks[0].value);
	p->steps[1].checks[0].value = sk_strdup("0");
	free(p->steps[1].checks[0].sql);
	p->steps[1].checks[0].sql =
	    sk_strdup("select count(*)\n  from orders where region is null -- x");
	assert_int_equal(
	    sk_step_checksum(&p->steps[1], p->steps[1].checksum, &err), SK_OK);
	assert_memory_equal(before, p->steps[1].checksum, SK_CHECKSUM_LEN);
	/* Its content tampered with after signing: refused. */
	free(p->steps[1].checks[0].op);
	p->steps[1].checks[0].op = sk_strdup("!=");
	expect_decode_fails(p, SK_EINVAL,
	    "step 0002_index checksum does not match its content");
}

static void
test_decode_rejects_a_step_that_breaks_its_kind(void **state)
{
	sk_plan *p;

	(void)state;
	p = make_plan();
	make_check_step(p, 1);
	p->steps[1].sql = sk_strdup("SELECT 1");
	expect_decode_fails(p, SK_EINVAL, "step 0002_index: is a check step but has SQL");

	p = make_plan();
	make_check_step(p, 1);
	free_check_list(p->steps[1].checks, p->steps[1].nchecks);
	p->steps[1].checks = NULL;
	p->steps[1].nchecks = 0;
	expect_decode_fails(
	    p, SK_EINVAL, "step 0002_index: is a check step without checks");

	p = make_plan();
	make_check_step(p, 1);
	p->steps[1].no_transaction = true;
	expect_decode_fails(p, SK_EINVAL,
	    "step 0002_index: is a check step but has fields of a SQL step");

	p = make_plan();
	make_check_step(p, 1);
	free(p->steps[1].checks[0].sql);
	p->steps[1].checks[0].sql = sk_strdup("");
	expect_decode_fails(p, SK_EINVAL, "check no_orphans");
}

/* The agent and the coordinator both ask sk_plan_phase_of which phase a
 * region is in; a signed plan listing a region in two phases would let
 * them disagree (first against last), so decode refuses it. */
static void
test_decode_rejects_region_in_two_phases(void **state)
{
	sk_plan *p = make_plan();

	(void)state;
	sk_strv_free(p->phases[1].regions, p->phases[1].nregions);
	p->phases[1].regions = strv(&p->phases[1].nregions, "in", "af", "ksa", NULL);
	expect_decode_fails(p, SK_EINVAL,
	    "region af is in phase canary and in phase rest; a region belongs "
	    "to one phase");
}

static void
test_phase_of_names_the_one_phase_of_a_region(void **state)
{
	sk_plan *p = make_plan(), *out = NULL;
	size_t len = 0;
	uint8_t *buf;
	sk_err err;

	(void)state;
	assert_ptr_equal(sk_plan_phase_of(p, "af"), &p->phases[0]);
	assert_ptr_equal(sk_plan_phase_of(p, "ksa"), &p->phases[1]);
	assert_null(sk_plan_phase_of(p, "eu"));
	assert_null(sk_plan_phase_of(p, NULL));
	assert_null(sk_plan_phase_of(NULL, "af"));
	/* The same answer after the round trip every agent makes. */
	buf = encode(p, &len);
	assert_int_equal(sk_plan_decode(buf, len, &out, &err), SK_OK);
	assert_string_equal(sk_plan_phase_of(out, "in")->name, "rest");
	assert_string_equal(sk_plan_phase_of(out, "af")->name, "canary");
	free(buf);
	sk_plan_destroy(out);
	sk_plan_destroy(p);
}

static void
test_decode_rejects_truncated_and_random_bytes(void **state)
{
	uint8_t seed[randombytes_SEEDBYTES] = { 'p', 'l', 'a', 'n' };
	sk_plan *p = make_plan(), *out = NULL;
	size_t len = 0;
	uint8_t *buf = encode(p, &len);
	sk_err err;

	(void)state;
	for (size_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n > 0 ? n : 1);
		int rc;

		memcpy(cut, buf, n);
		rc = sk_plan_decode(cut, n, &out, &err);
		assert_true(rc == SK_EDECODE || rc == SK_EINVAL);
		assert_null(out);
		free(cut);
	}
	for (int i = 0; i < 2000; i++) {
		size_t n = (size_t)(i % 300);
		uint8_t *junk = malloc(n > 0 ? n : 1);
		int rc;

		seed[4] = (uint8_t)i;
		seed[5] = (uint8_t)(i >> 8);
		randombytes_buf_deterministic(junk, n, seed);
		rc = sk_plan_decode(junk, n, &out, &err);
		assert_true(rc == SK_EDECODE || rc == SK_EINVAL);
		assert_null(out);
		free(junk);
	}
	assert_int_equal(sk_plan_decode(NULL, 0, &out, &err), SK_EINVAL);
	assert_null(out);
	free(buf);
	sk_plan_destroy(p);
}

static char *
capture(void (*fn)(FILE *, const sk_plan *, const char *), const sk_plan *p,
    const char *signer)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	assert_non_null(f);
	fn(f, p, signer);
	fclose(f);
	return text;
}

static void
test_print_describes_plan_for_humans(void **state)
{
	sk_plan *p = make_plan();
	char *text;
	char hex[2 * SK_CHECKSUM_LEN + 1];

	(void)state;
	p->created_unix = (int64_t)time(NULL);
	p->expires_unix = p->created_unix + 72 * 3600 - 30;
	text = capture(sk_plan_print, p, "0123456789abcdef");
	assert_non_null(strstr(text, "add_orders_region (p-k3x9q2m8w4ab)"));
	assert_non_null(strstr(text, "expires in 71h59m"));
	assert_non_null(strstr(text, "signer   0123456789abcdef"));
	assert_non_null(strstr(text, "rest: in, ksa (residency apac)"));
	assert_non_null(strstr(text, "0002_index  no transaction"));
	assert_non_null(strstr(text, "0001_add_column  in a transaction"));
	sk_hex(p->steps[0].checksum, SK_CHECKSUM_LEN, hex);
	hex[16] = '\0';
	assert_non_null(strstr(text, hex));
	assert_non_null(strstr(text, "revert revert.sql"));
	assert_non_null(strstr(text, "verify 0002_verify.sql"));
	free(text);

	p->created_unix = CREATED;
	p->expires_unix = CREATED + 3600;
	text = capture(sk_plan_print, p, NULL);
	assert_non_null(strstr(text, "2025-11-24T16:00:00Z"));
	assert_non_null(strstr(text, "EXPIRED"));
	assert_null(strstr(text, "signer"));
	free(text);
	sk_plan_destroy(p);
}

static void
test_print_shows_safety_fields(void **state)
{
	sk_plan *p = make_full_plan();
	char *text;
	static const char *const want[] = {
		"backup   yes",
		"rollback reverts without a backup (rollback_backup: false)",
		"server version >= 15.2 (150002)",
		"roles app_rw, app_ro",
		"extensions pgcrypto",
		"max transaction age 5m",
		"max connections 80%",
		"requires plan base step 0026_api_keys",
		"requires plan other (any step)",
		"pre-check no_long_tx: expects = 0",
		"post-check orders_ok: expects no rows",
		"lock_timeout 2s, statement_timeout 10m, lock_retries 7, "
		"retry_backoff 250ms",
		"lock_timeout none, statement_timeout none, lock_retries 0, "
		"retry_backoff 1s",
		"pre-check big: expects >= 1",
		"pre-check ne: expects != abc",
		"post-check rejects: expects fails with 23514",
		"waives drop-column: nobody reads it",
		"concurrent indexes orders_region, app.\"Orders_idx\"",
		"post-check rejects: expects fails with 23514 (checks/rejects.sql)",
	};

	(void)state;
	p->steps[0].post[0].path = sk_strdup("checks/rejects.sql");
	text = capture(sk_plan_print, p, NULL);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(text, want[i]) == NULL)
			fail_msg("output lacks \"%s\":\n%s", want[i], text);
	free(text);
	sk_plan_destroy(p);

	/* A major version alone prints alone. */
	p = make_full_plan();
	p->preflight.min_server_version = 160000;
	text = capture(sk_plan_print, p, NULL);
	assert_non_null(strstr(text, "server version >= 16 (160000)"));
	free(text);
	sk_plan_destroy(p);

	/* Without the additions: no backup, no preflight. */
	p = make_plan();
	text = capture(sk_plan_print, p, NULL);
	assert_non_null(strstr(text, "backup   no\n"));
	assert_non_null(strstr(text,
	    "rollback backs up each database before its "
	    "first revert\n"));
	assert_non_null(strstr(text, "preflight none\n"));
	assert_null(strstr(text, "-check"));
	free(text);
	sk_plan_destroy(p);
}

static void
print_json_ok(FILE *f, const sk_plan *p, const char *signer)
{
	sk_err err;

	assert_int_equal(sk_plan_print_json(f, p, signer, &err), SK_OK);
}

static void
test_print_json_parses_and_has_the_fields(void **state)
{
	sk_plan *p = make_plan();
	char hex[2 * SK_CHECKSUM_LEN + 1];
	json_error_t jerr;
	json_t *root, *steps, *s0, *s1, *phases, *ph1;
	char *text;

	(void)state;
	/* Not UTF-8: still described, not dropped. */
	free(p->steps[0].revert);
	p->steps[0].revert = sk_strdup("-- caf\xe9\nSELECT 1;");
	text = capture(print_json_ok, p, "0123456789abcdef");
	root = json_loads(text, 0, &jerr);
	if (root == NULL)
		fail_msg("JSON does not parse: %s: %s", jerr.text, text);
	assert_string_equal(
	    json_string_value(json_object_get(root, "id")), "p-k3x9q2m8w4ab");
	assert_string_equal(json_string_value(json_object_get(root, "name")),
	    "add_orders_region");
	assert_int_equal(json_integer_value(json_object_get(root, "created")), CREATED);
	assert_int_equal(json_integer_value(json_object_get(root, "expires")),
	    CREATED + 72 * 3600);
	assert_string_equal(json_string_value(json_object_get(root, "signer")),
	    "0123456789abcdef");
	assert_int_equal(json_array_size(json_object_get(root, "regions")), 3);

	phases = json_object_get(root, "phases");
	assert_int_equal(json_array_size(phases), 2);
	ph1 = json_array_get(phases, 1);
	assert_string_equal(json_string_value(json_object_get(ph1, "name")), "rest");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(ph1, "regions"), 1)), "ksa");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(ph1, "residency"), 0)),
	    "apac");

	steps = json_object_get(root, "steps");
	assert_int_equal(json_array_size(steps), 2);
	s0 = json_array_get(steps, 0);
	s1 = json_array_get(steps, 1);
	assert_string_equal(
	    json_string_value(json_object_get(s0, "id")), "0001_add_column");
	assert_string_equal(json_string_value(json_object_get(s0, "kind")), "sql");
	assert_true(json_is_true(json_object_get(s0, "transaction")));
	assert_true(json_is_false(json_object_get(s1, "transaction")));
	sk_hex(p->steps[0].checksum, SK_CHECKSUM_LEN, hex);
	assert_string_equal(json_string_value(json_object_get(s0, "checksum")), hex);
	assert_string_equal(
	    json_string_value(json_object_get(s0, "sql")), p->steps[0].sql);
	assert_string_equal(json_string_value(json_object_get(s0, "revert")),
	    "-- caf?\nSELECT 1;");
	assert_true(json_is_null(json_object_get(s0, "verify")));
	assert_string_equal(json_string_value(json_object_get(s0, "sql_path")),
	    "0001_add_column.sql");
	assert_true(json_is_null(json_object_get(s1, "revert")));
	assert_string_equal(json_string_value(json_object_get(s1, "verify_path")),
	    "0002_verify.sql");
	assert_true(json_is_false(json_object_get(root, "backup")));
	assert_true(json_is_true(json_object_get(root, "rollback_backup")));
	assert_int_equal(json_array_size(json_object_get(s0, "pre")), 0);
	assert_true(json_is_null(json_object_get(s0, "text_checksum")));
	json_decref(root);
	free(text);
	sk_plan_destroy(p);

	/* Every safety field is there. */
	p = make_full_plan();
	text = capture(print_json_ok, p, NULL);
	root = json_loads(text, 0, &jerr);
	if (root == NULL)
		fail_msg("JSON does not parse: %s: %s", jerr.text, text);
	assert_true(json_is_true(json_object_get(root, "backup")));
	assert_true(json_is_false(json_object_get(root, "rollback_backup")));
	{
		json_t *pf = json_object_get(root, "preflight");
		json_t *req = json_array_get(json_object_get(pf, "requires"), 0);
		json_t *chk, *st0, *st1, *w;

		assert_int_equal(
		    json_integer_value(json_object_get(pf, "min_server_version")),
		    150002);
		assert_string_equal(json_string_value(json_array_get(
					json_object_get(pf, "roles"), 1)),
		    "app_ro");
		assert_string_equal(json_string_value(json_array_get(
					json_object_get(pf, "extensions"), 0)),
		    "pgcrypto");
		assert_int_equal(
		    json_integer_value(json_object_get(pf, "max_transaction_age_ms")),
		    300000);
		assert_true(json_real_value(json_object_get(
				pf, "max_connections_share")) == 0.8);
		assert_string_equal(
		    json_string_value(json_object_get(req, "plan")), "base");
		assert_string_equal(json_string_value(json_object_get(req, "step")),
		    "0026_api_keys");
		chk = json_array_get(
		    json_object_get(
			json_array_get(json_object_get(root, "phases"), 0), "post"),
		    0);
		assert_string_equal(
		    json_string_value(json_object_get(chk, "name")), "orders_ok");
		assert_string_equal(
		    json_string_value(json_object_get(chk, "expect")), "no_rows");
		assert_string_equal(
		    json_string_value(json_object_get(chk, "expected")), "no rows");
		st0 = json_array_get(json_object_get(root, "steps"), 0);
		st1 = json_array_get(json_object_get(root, "steps"), 1);
		chk = json_array_get(json_object_get(st0, "post"), 0);
		assert_string_equal(
		    json_string_value(json_object_get(chk, "expect")), "fails");
		assert_string_equal(
		    json_string_value(json_object_get(chk, "sqlstate")), "23514");
		assert_true(json_is_null(json_object_get(chk, "op")));
		chk = json_array_get(json_object_get(st0, "pre"), 0);
		assert_string_equal(json_string_value(json_object_get(chk, "op")), ">=");
		assert_string_equal(
		    json_string_value(json_object_get(chk, "value")), "1");
		assert_int_equal(
		    json_integer_value(json_object_get(st0, "lock_timeout_ms")), 2000);
		assert_int_equal(
		    json_integer_value(json_object_get(st0, "statement_timeout_ms")),
		    600000);
		assert_int_equal(
		    json_integer_value(json_object_get(st0, "lock_retries")), 7);
		assert_int_equal(
		    json_integer_value(json_object_get(st0, "retry_backoff_ms")), 250);
		w = json_array_get(json_object_get(st0, "waivers"), 0);
		assert_string_equal(
		    json_string_value(json_object_get(w, "rule")), "drop-column");
		assert_string_equal(json_string_value(json_object_get(w, "reason")),
		    "nobody reads it");
		assert_string_equal(
		    json_string_value(json_array_get(
			json_object_get(st1, "concurrent_indexes"), 0)),
		    "orders_region");
		sk_hex(p->steps[1].text_checksum, SK_CHECKSUM_LEN, hex);
		assert_string_equal(
		    json_string_value(json_object_get(st1, "text_checksum")), hex);
	}
	json_decref(root);
	free(text);

	/* Without a signer there is no signer member. */
	text = capture(print_json_ok, p, NULL);
	root = json_loads(text, 0, &jerr);
	assert_non_null(root);
	assert_null(json_object_get(root, "signer"));
	json_decref(root);
	free(text);
	sk_plan_destroy(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_round_trips_through_protobuf),
		cmocka_unit_test(test_plan_round_trips_every_safety_field),
		cmocka_unit_test(test_decode_accepts_absent_text_checksum),
		cmocka_unit_test(test_decode_rejects_bad_checks),
		cmocka_unit_test(test_decode_rejects_bad_limits_and_waivers),
		cmocka_unit_test(test_decode_rejects_bad_preflight),
		cmocka_unit_test(test_step_checksum_matches_canonical_form),
		cmocka_unit_test(test_step_checksum_changes_with_sql_and_mode_only),
		cmocka_unit_test(test_decode_rejects_tampered_checksum),
		cmocka_unit_test(test_decode_rejects_duplicate_step_ids_and_phase_names),
		cmocka_unit_test(test_decode_rejects_bad_names),
		cmocka_unit_test(test_decode_rejects_format_2),
		cmocka_unit_test(test_decode_rejects_expiry_not_after_creation),
		cmocka_unit_test(test_decode_rejects_empty_or_inconsistent_structure),
		cmocka_unit_test(test_decode_rejects_region_in_two_phases),
		cmocka_unit_test(test_check_step_round_trips_and_its_checks_are_its_content),
		cmocka_unit_test(test_decode_rejects_a_step_that_breaks_its_kind),
		cmocka_unit_test(test_phase_of_names_the_one_phase_of_a_region),
		cmocka_unit_test(test_decode_rejects_truncated_and_random_bytes),
		cmocka_unit_test(test_print_describes_plan_for_humans),
		cmocka_unit_test(test_print_shows_safety_fields),
		cmocka_unit_test(test_print_json_parses_and_has_the_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for a phase's gates in plan.yaml (sk_plan_build_gates.c)
 * and in the codec (sk_plan_gates.c): every key built, the round trip
 * through protobuf, and each bad value refused with its error, at build
 * and at decode. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sk_plan.h"
#include "sk_plan_build.h"
#include "skein.pb-c.h"

#define NOW 1795000000

static char tmpdir[64];

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
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sk-gates-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmp(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_tmp(const char *name, const char *data)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, strlen(data), f), strlen(data));
	fclose(f);
}

#define HEAD "name: p\nphases:\n  - name: canary\n    regions: [af]\n"
#define TAIL                           \
"  - name: rest\n    regions: [ksa]\n" \
    "steps:\n  - id: s1\n    sql: s1.sql\n"

static const char full_yaml[] = HEAD
    "    soak: 30s\n"
    "    checks: [ {name: orphans, sql: \"SELECT count(*) FROM t WHERE x "
    "IS NULL\", expect: 0} ]\n"
    "    health: {replication_lag: 5s, rollbacks_per_s: 1, deadlocks: 0, "
    "lock_waits: 3, http: 0.5}\n"
    "    sample: {every: 2s, min: 3}\n"
    "    approval: {count: 2, from: [alice, bob], not_by_starter: true}\n"
    "    window: {days: [mon, tue, wed, thu, fri], from: \"09:00\", until: "
    "\"17:00:30\", tz: Europe/Berlin}\n" TAIL;

static sk_plan *
build_yaml(const char *yaml, sk_err *err, int *rc)
{
	sk_plan *plan = NULL;

	write_tmp("s1.sql", "SELECT 1;\n");
	write_tmp("plan.yaml", yaml);
	sk_err_clear(err);
	*rc = sk_plan_build(tmpdir, NULL, NOW, &plan, err);
	return plan;
}

static void
assert_full_gates(const sk_phase *ph)
{
	assert_int_equal(ph->soak_ms, 30000);
	assert_int_equal(ph->ngate_checks, 1);
	assert_string_equal(ph->gate_checks[0].name, "orphans");
	assert_int_equal(ph->gate_checks[0].expect, SK_EXPECT_COMPARE);
	assert_string_equal(ph->gate_checks[0].value, "0");
	assert_int_equal(ph->nhealth, 5);
	assert_string_equal(ph->health[0].signal, "replication_lag");
	assert_true(ph->health[0].max == 5.0);
	assert_string_equal(ph->health[1].signal, "rollbacks_per_s");
	assert_true(ph->health[1].max == 1.0);
	assert_string_equal(ph->health[2].signal, "deadlocks");
	assert_true(ph->health[2].max == 0.0);
	assert_string_equal(ph->health[4].signal, "http");
	assert_true(ph->health[4].max == 0.5);
	assert_int_equal(ph->sample_interval_ms, 2000);
	assert_int_equal(ph->min_samples, 3);
	assert_int_equal(ph->approval_count, 2);
	assert_int_equal(ph->napprovers, 2);
	assert_string_equal(ph->approvers[1], "bob");
	assert_true(ph->not_by_starter);
	assert_int_equal(ph->window.ndays, 5);
	assert_string_equal(ph->window.days[4], "fri");
	assert_string_equal(ph->window.from, "09:00");
	assert_string_equal(ph->window.until, "17:00:30");
	assert_string_equal(ph->window.tz, "Europe/Berlin");
	assert_true(sk_phase_has_gates(ph));
	assert_true(sk_phase_samples(ph));
}

static void
test_gates_build_reads_every_key_and_round_trips(void **state)
{
	sk_plan *plan, *back = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;
	int rc;

	(void)state;
	plan = build_yaml(full_yaml, &err, &rc);
	if (rc != SK_OK)
		fail_msg("build: %s", err.msg);
	assert_full_gates(&plan->phases[0]);
	assert_false(sk_phase_has_gates(&plan->phases[1]));
	assert_int_equal(sk_plan_encode(plan, &buf, &len, &err), SK_OK);
	if (sk_plan_decode(buf, len, &back, &err) != SK_OK)
		fail_msg("decode: %s", err.msg);
	assert_full_gates(&back->phases[0]);
	assert_false(sk_phase_has_gates(&back->phases[1]));
	assert_null(back->phases[1].window.tz);
	assert_int_equal(back->phases[1].approval_count, 0);
	free(buf);
	sk_plan_destroy(plan);
	sk_plan_destroy(back);
}

static void
test_gates_build_defaults_sampling(void **state)
{
	sk_plan *plan;
	sk_err err;
	int rc;

	(void)state;
	plan = build_yaml(HEAD "    soak: 10s\n    health: {deadlocks: 0}\n"
			       "    approval: {}\n" TAIL,
	    &err, &rc);
	if (rc != SK_OK)
		fail_msg("build: %s", err.msg);
	assert_int_equal(plan->phases[0].sample_interval_ms, 5000);
	assert_int_equal(plan->phases[0].min_samples, 3);
	assert_int_equal(plan->phases[0].approval_count, 1);
	assert_int_equal(plan->phases[0].napprovers, 0);
	sk_plan_destroy(plan);
}

static const struct {
	const char *yaml;
	const char *want;
} bad_gates[] = {
	{ HEAD "    soak: soon\n" TAIL, "soon" },
	{ HEAD "    soak: 5s\n    health: {cpu: 3}\n" TAIL, "unknown health signal \"cpu\"" },
	{ HEAD "    soak: 5s\n    health: {deadlocks: -1}\n" TAIL, "finite number >= 0" },
	{ HEAD "    soak: 5s\n    health: {deadlocks: .inf}\n" TAIL, "finite number >= 0" },
	{ HEAD "    soak: 5s\n    health: {lock_waits: many}\n" TAIL,
	    "finite number >= 0, got \"many\"" },
	{ HEAD "    soak: 5s\n    health: {}\n" TAIL, "at least one health signal" },
	{ HEAD "    health: {deadlocks: 0}\n" TAIL, "but no soak" },
	{ HEAD "    soak: 5s\n    sample: {every: 1s}\n" TAIL,
	    "no checks or health to sample" },
	{ HEAD "    soak: 5s\n    health: {deadlocks: 0}\n    sample: {every: 0}\n" TAIL,
	    "greater than zero" },
	{ HEAD "    soak: 5s\n    health: {deadlocks: 0}\n    sample: {min: 0}\n" TAIL,
	    "min" },
	{ HEAD "    soak: 5s\n    health: {deadlocks: 0}\n    sample: {often: 1}\n" TAIL,
	    "unknown key \"often\"" },
	{ HEAD "    approval: {count: 3, from: [alice, bob]}\n" TAIL,
	    "count 3 is more than the 2 operators" },
	{ HEAD "    approval: {count: 0}\n" TAIL, "count" },
	{ HEAD "    approval: {from: [alice, alice]}\n" TAIL,
	    "operator alice is named twice" },
	{ HEAD "    approval: {from: [\"-x\"]}\n" TAIL, "not an operator name" },
	{ HEAD "    window: {days: [monday]}\n" TAIL, "\"monday\" is not a weekday" },
	{ HEAD "    window: {days: [mon, mon]}\n" TAIL, "day mon is listed twice" },
	{ HEAD "    window: {from: \"09:00\"}\n" TAIL, "both from and until" },
	{ HEAD "    window: {from: \"9:00\", until: \"17:00\"}\n" TAIL,
	    "\"9:00\" is not a time of day" },
	{ HEAD "    window: {from: \"09:00\", until: \"24:00\"}\n" TAIL,
	    "\"24:00\" is not a time of day" },
	{ HEAD "    window: {from: \"09:00\", until: \"09:00:00\"}\n" TAIL, "never open" },
	{ HEAD "    window: {tz: UTC}\n" TAIL, "needs days, from and until" },
	{ HEAD "    window: {days: [mon], tz: Mars/Olympus}\n" TAIL,
	    "unknown time zone \"Mars/Olympus\"" },
	{ HEAD "    window: {days: [mon], tz: ../../etc/passwd}\n" TAIL,
	    "unknown time zone" },
	{ HEAD "    checks: [ {name: c, sql: \"SELECT 1\", expect: 1} ]\n" TAIL,
	    "but no soak" },
	{ HEAD "    soak: 5s\n    checks: [ {name: c, expect: 1} ]\n" TAIL, "sql" },
};

static void
test_gates_build_rejects_bad_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_gates) / sizeof(bad_gates[0]); i++) {
		sk_plan *plan;
		sk_err err;
		int rc;

		plan = build_yaml(bad_gates[i].yaml, &err, &rc);
		if (rc == SK_OK) {
			sk_plan_destroy(plan);
			fail_msg("case %zu built", i);
		}
		assert_null(plan);
		assert_int_equal(rc, SK_EINVAL);
		if (strstr(err.msg, bad_gates[i].want) == NULL)
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i,
			    err.msg, bad_gates[i].want);
	}
}

/* A string field the mutation replaced, put back before the protobuf is
 * freed (free_unpacked frees what it unpacked). */
static char **swapped_at;
static char *swapped;

static void
swap(char **at, char *v)
{
	swapped_at = at;
	swapped = *at;
	*at = v;
}

/* Encode the full plan, let mutate change its first phase's protobuf,
 * and expect decode to refuse it with want. */
static void
decode_refuses(void (*mutate)(Skein__V1__Phase *), const char *want)
{
	sk_plan *plan, *back = NULL;
	Skein__V1__Plan *pb;
	uint8_t *buf = NULL, *buf2;
	size_t len = 0, len2;
	sk_err err;
	int rc;

	plan = build_yaml(full_yaml, &err, &rc);
	assert_int_equal(rc, SK_OK);
	assert_int_equal(sk_plan_encode(plan, &buf, &len, &err), SK_OK);
	pb = skein__v1__plan__unpack(NULL, len, buf);
	assert_non_null(pb);
	mutate(pb->phases[0]);
	len2 = skein__v1__plan__get_packed_size(pb);
	buf2 = malloc(len2);
	assert_non_null(buf2);
	skein__v1__plan__pack(pb, buf2);
	back = (sk_plan *)&back;
	sk_err_clear(&err);
	assert_int_equal(sk_plan_decode(buf2, len2, &back, &err), SK_EINVAL);
	assert_ptr_equal(back, (sk_plan *)&back);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, want);
	if (swapped_at != NULL)
		*swapped_at = swapped;
	swapped_at = NULL;
	skein__v1__plan__free_unpacked(pb, NULL);
	free(buf);
	free(buf2);
	sk_plan_destroy(plan);
}

static char bad_text[] = "bogus";
static char bad_day[] = "funday";
static char bad_clock[] = "25:00";
static char bad_tz[] = "No/Such_Zone";
static char empty_text[] = "";

static void
m_signal(Skein__V1__Phase *p)
{
	swap(&p->health[0]->signal, bad_text);
}

static void
m_max_nan(Skein__V1__Phase *p)
{
	p->health[1]->max = NAN;
}

static void
m_soak_negative(Skein__V1__Phase *p)
{
	p->soak_ms = -1;
}

static void
m_no_interval(Skein__V1__Phase *p)
{
	p->sample_interval_ms = 0;
}

static void
m_no_min(Skein__V1__Phase *p)
{
	p->min_samples = 0;
}

static void
m_count_over(Skein__V1__Phase *p)
{
	p->approval->count = 3;
}

static void
m_count_zero(Skein__V1__Phase *p)
{
	p->approval->count = 0;
}

static void
m_day(Skein__V1__Phase *p)
{
	swap(&p->window->days[0], bad_day);
}

static void
m_clock(Skein__V1__Phase *p)
{
	swap(&p->window->until, bad_clock);
}

static void
m_tz(Skein__V1__Phase *p)
{
	swap(&p->window->tz, bad_tz);
}

static void
m_gate_check_sql(Skein__V1__Phase *p)
{
	swap(&p->gate_checks[0]->sql, empty_text);
}

static void
test_gates_decode_rejects_bad_values(void **state)
{
	(void)state;
	decode_refuses(m_signal, "health signal \"bogus\" is unknown");
	decode_refuses(m_max_nan, "health rollbacks_per_s has threshold nan");
	decode_refuses(m_soak_negative, "negative soak");
	decode_refuses(m_no_interval, "no sample interval");
	decode_refuses(m_no_min, "min_samples 0");
	decode_refuses(m_count_over, "needs 3 approvals from 2 operators");
	decode_refuses(m_count_zero, "count of at least 1");
	decode_refuses(m_day, "window day \"funday\"");
	decode_refuses(m_clock, "window until \"25:00\"");
	decode_refuses(m_tz, "time zone \"No/Such_Zone\"");
	decode_refuses(m_gate_check_sql, "gate-check orphans has no SQL");
}

static void
test_gates_parsers(void **state)
{
	int s = -7;

	(void)state;
	assert_true(sk_clock_parse("00:00", &s));
	assert_int_equal(s, 0);
	assert_true(sk_clock_parse("23:59:59", &s));
	assert_int_equal(s, 86399);
	assert_true(sk_clock_parse("09:30", &s));
	assert_int_equal(s, 9 * 3600 + 1800);
	s = -7;
	assert_false(sk_clock_parse("9:30", &s));
	assert_false(sk_clock_parse("09:60", &s));
	assert_false(sk_clock_parse("09:30:", &s));
	assert_false(sk_clock_parse("09:30:60", &s));
	assert_false(sk_clock_parse(NULL, &s));
	assert_int_equal(s, -7);
	assert_int_equal(sk_weekday_parse("mon"), 0);
	assert_int_equal(sk_weekday_parse("sun"), 6);
	assert_int_equal(sk_weekday_parse("Mon"), -1);
	assert_true(sk_tz_valid("UTC"));
	assert_true(sk_tz_valid("Europe/Berlin"));
	assert_false(sk_tz_valid("Europe"));
	assert_false(sk_tz_valid("/etc/passwd"));
	assert_false(sk_tz_valid("Europe/../UTC"));
	assert_false(sk_tz_valid(""));
	assert_true(sk_health_signal_known("lock_waits"));
	assert_false(sk_health_signal_known("LOCK_WAITS"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gates_build_reads_every_key_and_round_trips,
		    setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_gates_build_defaults_sampling, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_gates_build_rejects_bad_values, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(
		    test_gates_decode_rejects_bad_values, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_gates_parsers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

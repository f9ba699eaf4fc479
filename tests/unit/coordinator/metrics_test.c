/* metrics_test: /metrics of a realistically populated coordinator: a
 * rollout started by a signed request, an agent's reports, forged and
 * replayed control requests refused. The text passes `promtool check
 * metrics` (Debian package prometheus) and says the values it should:
 * each refusal counted under its reason, the agent seen, the step
 * counted, the journal's fsyncs timed. A rollout of 1,000 databases
 * renders in well under a second (the figure is printed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "coord_agents.h"
#include "coord_counters.h"
#include "coord_metrics.h"
#include "coord_testfix.h"
#include "sk_util.h"

typedef struct mfix {
	coord_testfix_staff *staff; /* holds pointers into itself: not copied */
	coord_counters counters;
	coord_agents agents;
	sk_strbuf text;
} mfix;

static int
setup(void **state)
{
	void *st = NULL;
	mfix *f = calloc(1, sizeof(*f));
	sk_err err;

	if (f == NULL || coord_testfix_staff_setup(&st, "metrics", false) != 0)
		return -1;
	f->staff = st;
	if (coord_counters_init(&f->counters, f->staff->fx.inv.nregions, &err) != SK_OK ||
	    coord_agents_init(&f->agents, &f->staff->fx.inv, &err) != SK_OK)
		return -1;
	f->staff->fx.ctx.counters = &f->counters;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	mfix *f = *state;
	void *st = f->staff;
	int rc = coord_testfix_staff_teardown(&st);

	coord_counters_fini(&f->counters);
	coord_agents_fini(&f->agents);
	sk_strbuf_fini(&f->text);
	free(f);
	return rc;
}

static const char *
render(mfix *f)
{
	coord_metrics_src src = {
		.rollouts = &f->staff->fx.rollouts,
		.agents = &f->agents,
		.counters = &f->counters,
		.journal = f->staff->fx.journal,
		.now_ms = sk_now_ms(),
	};
	sk_err err;

	sk_strbuf_fini(&f->text);
	assert_int_equal(coord_metrics_render(&src, &f->text, &err), SK_OK);
	assert_non_null(f->text.s);
	return f->text.s;
}

/* The value of the sample whose line starts with series (name and
 * labels exactly as rendered); fails the test when there is none. */
static double
value_of(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	fail_msg("no sample %s in:\n%s", series, text);
	return -1;
}

/* promtool check metrics on text: its exit status (0: clean). */
static int
promtool(mfix *f, const char *text)
{
	char path[128], cmd[256];
	FILE *fp;
	int rc;

	snprintf(path, sizeof(path), "%s/metrics.txt", f->staff->fx.dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "promtool check metrics said %d on:\n%s\n", rc, text);
	return rc;
}

static void
agent_polls(mfix *f, size_t i, uint32_t ndatabases)
{
	sk_agent_msg m;

	memset(&m, 0, sizeof(m));
	snprintf(m.region, sizeof(m.region), "%s", f->agents.v[i].region);
	snprintf(m.version, sizeof(m.version), "0.9.0");
	m.wait = true;
	m.hold_ms = 20000;
	m.ndatabases = ndatabases;
	m.boot_id = 7;
	coord_agents_note(&f->agents.v[i], &m, sk_now_ms());
}

static void
test_metrics_of_a_running_rollout_pass_promtool_and_say_what_happened(void **state)
{
	mfix *f = *state;
	coord_testfix *fx = &f->staff->fx;
	char id[SK_ID_MAX], series[256];
	sk_cli_request req;
	sk_cli_response resp;
	sk_report r;
	coord_rollout *ro;
	uint8_t *msg, *copy;
	size_t len;
	const char *text;

	ro = coord_testfix_start(fx, f->staff->op, "m1", true, SK_MODE_APPLY, id);
	assert_non_null(ro);
	agent_polls(f, 0, 1); /* af */
	/* af takes the plan and finishes its first step after two lock
	 * timeouts; the agent's reports are counted as the server does. */
	coord_testfix_report(fx, ro, "af", SK_EV_PLAN_ACCEPTED);
	coord_testfix_report_step(fx, ro, "af", SK_EV_STEP_STARTED, "0001_add_region");
	memset(&r, 0, sizeof(r));
	r.event = SK_EV_STEP_FINISHED;
	r.duration_ms = 7000;
	r.lock_waits = 2;
	r.lock_wait_ms = 3500;
	coord_counters_report(&f->counters, 0, &r);
	coord_testfix_report_step(fx, ro, "af", SK_EV_STEP_FINISHED, "0001_add_region");
	/* A finished backfill and a finished move, counted; a move running
	 * in database mv, shown. */
	memset(&r, 0, sizeof(r));
	r.event = SK_EV_STEP_FINISHED;
	r.batch = 40;
	r.rows = 20000;
	r.throttled_ms = 1250;
	coord_counters_report(&f->counters, 0, &r);
	memset(&r, 0, sizeof(r));
	r.event = SK_EV_STEP_FINISHED;
	r.has_move = true;
	r.move.bytes = 5000000000LL;
	coord_counters_report(&f->counters, 0, &r);
	{
		static const int events[] = { SK_EV_DB_STARTED,
			SK_EV_STEP_STARTED, SK_EV_PROGRESS };
		bool changed;
		sk_err err;

		for (size_t e = 0; e < 3; e++) {
			memset(&r, 0, sizeof(r));
			r.event = events[e];
			snprintf(r.rollout_id, sizeof(r.rollout_id), "%s", id);
			snprintf(r.database, sizeof(r.database), "mv");
			snprintf(r.step_id, sizeof(r.step_id), "0002_fill_region");
			r.at_ms = sk_now_ms();
			r.has_move = e == 2;
			snprintf(r.move.phase, sizeof(r.move.phase), "copy");
			r.move.bytes = 123456789012LL;
			r.move.lag_ms = 2500;
			assert_int_equal(coord_rollout_report(ro, "af", &r,
					     fx->journal, &changed, &err),
			    SK_OK);
		}
	}

	/* Forged: a signature that fails; a key nobody pinned; a replay;
	 * a request from two minutes ago; garbage; beyond the role. */
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_STATUS;
	msg = coord_testfix_sign(&req, f->staff->viewer, sk_now_ms(), NULL, &len);
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, msg, len);
	copy[len - 3] ^= 0x01; /* inside the signature, at the end */
	coord_testfix_answer(fx, copy, len, &resp);
	assert_false(resp.ok);
	sk_cli_response_fini(&resp);
	coord_testfix_answer(fx, msg, len, &resp); /* the real one: taken */
	assert_true(resp.ok);
	sk_cli_response_fini(&resp);
	coord_testfix_answer(fx, msg, len, &resp); /* again: a replay */
	assert_false(resp.ok);
	sk_cli_response_fini(&resp);
	free(msg);
	free(copy);
	msg = coord_testfix_sign(&req, f->staff->stranger, sk_now_ms(), NULL, &len);
	coord_testfix_answer(fx, msg, len, &resp);
	assert_false(resp.ok);
	sk_cli_response_fini(&resp);
	free(msg);
	msg = coord_testfix_sign(
	    &req, f->staff->viewer, sk_now_ms() - 120000, NULL, &len);
	coord_testfix_answer(fx, msg, len, &resp);
	assert_false(resp.ok);
	sk_cli_response_fini(&resp);
	free(msg);
	coord_testfix_answer(fx, (const uint8_t *)"\x0a\x03zzz", 5, &resp);
	assert_false(resp.ok);
	sk_cli_response_fini(&resp);
	req.op = SK_CLI_ROLLBACK;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	msg = coord_testfix_sign(&req, f->staff->viewer, sk_now_ms(), NULL, &len);
	coord_testfix_answer(fx, msg, len, &resp);
	assert_false(resp.ok);
	sk_cli_response_fini(&resp);
	free(msg);

	text = render(f);
	assert_int_equal(promtool(f, text), 0);
	assert_true(value_of(text, "skein_refused_messages_total{socket=\"control\",reason=\"bad_signature\"}") ==
	    1);
	assert_true(value_of(text, "skein_refused_messages_total{socket=\"control\",reason=\"replay\"}") ==
	    1);
	assert_true(value_of(text, "skein_refused_messages_total{socket=\"control\",reason=\"unknown_key\"}") ==
	    1);
	assert_true(value_of(text, "skein_refused_messages_total{socket=\"control\",reason=\"expired\"}") ==
	    1);
	assert_true(value_of(text, "skein_refused_messages_total{socket=\"control\",reason=\"malformed\"}") ==
	    1);
	assert_true(value_of(text, "skein_refused_messages_total{socket=\"control\",reason=\"forbidden\"}") ==
	    1);
	assert_true(value_of(text, "skein_refused_messages_total{socket=\"agent\",reason=\"bad_signature\"}") ==
	    0);
	assert_true(value_of(text, "skein_rollouts{state=\"running\"}") == 1);
	assert_true(value_of(text, "skein_rollouts{state=\"succeeded\"}") == 0);
	snprintf(series, sizeof(series),
	    "skein_region_state{rollout=\"%s\",region=\"af\",state=\"running\"}", id);
	assert_true(value_of(text, series) == 1);
	snprintf(series, sizeof(series),
	    "skein_region_state{rollout=\"%s\",region=\"in\",state=\"pending\"}", id);
	assert_true(value_of(text, series) == 1);
	snprintf(series, sizeof(series),
	    "skein_phase_state{rollout=\"%s\",phase=\"canary\",state=\"running\"}",
	    id);
	assert_true(value_of(text, series) == 1);
	snprintf(series, sizeof(series), "skein_rollout_phase{rollout=\"%s\"}", id);
	assert_true(value_of(text, series) == 1);
	assert_true(value_of(text, "skein_agent_connected{region=\"af\"}") == 1);
	assert_true(value_of(text, "skein_agent_connected{region=\"ksa\"}") == 0);
	assert_true(value_of(text, "skein_agent_last_seen_timestamp_seconds{region=\"af\"}") >
	    (double)(sk_now_ms() / 1000 - 60));
	assert_true(value_of(text, "skein_steps_applied_total{region=\"af\"}") == 3);
	assert_true(value_of(text, "skein_backfill_rows_total{region=\"af\"}") == 20000);
	assert_true(value_of(text, "skein_backfill_throttled_seconds_total{region=\"af\"}") ==
	    1.25);
	assert_non_null(
	    strstr(text, "skein_move_bytes_total{region=\"af\"} 5000000000\n"));
	snprintf(series, sizeof(series),
	    "skein_move_bytes{rollout=\"%s\",region=\"af\"} 123456789012\n", id);
	assert_non_null(strstr(text, series));
	snprintf(series, sizeof(series),
	    "skein_move_lag_seconds{rollout=\"%s\",region=\"af\"}", id);
	assert_true(value_of(text, series) == 2.5);
	assert_true(value_of(text, "skein_lock_waits_total{region=\"af\"}") == 2);
	assert_true(
	    value_of(text, "skein_lock_wait_seconds_total{region=\"af\"}") == 3.5);
	/* The 7 s step, and the two of no duration. */
	assert_true(
	    value_of(text,
		"skein_step_duration_seconds_bucket{region=\"af\",le=\"5\"}") == 2);
	assert_true(
	    value_of(text,
		"skein_step_duration_seconds_bucket{region=\"af\",le=\"10\"}") == 3);
	assert_true(
	    value_of(text, "skein_step_duration_seconds_count{region=\"af\"}") == 3);
	/* The start and the reports were journaled, each fsync'ed. */
	assert_true(value_of(text, "skein_journal_fsync_seconds_count") >= 3);
	assert_true(value_of(text, "skein_journal_fsync_seconds_bucket{le=\"+Inf\"}") ==
	    value_of(text, "skein_journal_fsync_seconds_count"));
}

static void
test_metrics_escape_label_values(void **state)
{
	mfix *f = *state;
	coord_testfix *fx = &f->staff->fx;
	char id[SK_ID_MAX];
	coord_rollout *ro;
	const char *text;

	ro = coord_testfix_start(fx, f->staff->op, "m2", false, SK_MODE_APPLY, id);
	assert_non_null(ro);
	/* An id as no coordinator makes one, to see it escaped. */
	snprintf(ro->id, sizeof(ro->id), "ro\"x\\y\nz");
	text = render(f);
	assert_non_null(
	    strstr(text, "skein_rollout_phase{rollout=\"ro\\\"x\\\\y\\nz\"} 1\n"));
	assert_int_equal(promtool(f, text), 0);
}

/* Finished rollouts beyond the newest COORD_METRICS_FINISHED_MAX get no
 * series of their own; they are still counted by state. */
static void
test_metrics_bound_finished_rollouts(void **state)
{
	mfix *f = *state;
	coord_testfix *fx = &f->staff->fx;
	char ids[7][SK_ID_MAX], name[16], series[128];
	const char *text;
	sk_err err;

	for (int i = 0; i < 7; i++) {
		coord_rollout *ro;

		snprintf(name, sizeof(name), "b%d", i);
		ro = coord_testfix_start(
		    fx, f->staff->op, name, false, SK_MODE_APPLY, ids[i]);
		assert_non_null(ro);
		assert_int_equal(
		    coord_rollout_abort(ro, fx->journal, "test", sk_now_ms(), &err),
		    SK_OK);
	}
	text = render(f);
	assert_true(value_of(text, "skein_rollouts{state=\"aborted\"}") == 7);
	for (int i = 0; i < 7; i++) {
		snprintf(series, sizeof(series),
		    "skein_rollout_phase{rollout=\"%s\"}", ids[i]);
		assert_int_equal(strstr(text, series) != NULL, i >= 2);
	}
	assert_int_equal(promtool(f, text), 0);
}

static double
seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A rollout whose canary runs 1,000 databases, each in a backfill. */
static void
test_metrics_of_a_thousand_databases_render_fast(void **state)
{
	mfix *f = *state;
	coord_testfix *fx = &f->staff->fx;
	char id[SK_ID_MAX];
	coord_rollout *ro;
	const char *text;
	double t0, ms;
	bool changed;
	sk_err err;

	ro = coord_testfix_start(fx, f->staff->op, "m3", true, SK_MODE_APPLY, id);
	assert_non_null(ro);
	agent_polls(f, 0, 1000);
	coord_rollout_note_databases(ro, "af", 1000);
	coord_testfix_report(fx, ro, "af", SK_EV_PLAN_ACCEPTED);
	for (int d = 0; d < 1000; d++) {
		static const int events[] = { SK_EV_DB_STARTED,
			SK_EV_STEP_STARTED, SK_EV_PROGRESS };

		for (size_t e = 0; e < 3; e++) {
			sk_report r;

			memset(&r, 0, sizeof(r));
			r.event = events[e];
			snprintf(r.rollout_id, sizeof(r.rollout_id), "%s", id);
			snprintf(r.database, sizeof(r.database), "app_%04d", d);
			snprintf(r.step_id, sizeof(r.step_id), "0002_fill_region");
			r.at_ms = sk_now_ms();
			r.rows = 1000 + d;
			r.rows_total = 100000;
			r.batch = 3;
			r.batch_size = 500;
			r.rate = 250.0;
			if (d % 10 == 0)
				snprintf(r.throttle, sizeof(r.throttle), "replica lag");
			assert_int_equal(coord_rollout_report(ro, "af", &r,
					     fx->journal, &changed, &err),
			    SK_OK);
		}
	}
	t0 = seconds_now();
	text = render(f);
	ms = (seconds_now() - t0) * 1000.0;
	printf("metrics of a rollout of 1000 databases: %zu bytes rendered in "
	       "%.2f ms\n",
	    f->text.len, ms);
	assert_true(ms < 1000.0);
	{
		char series[256];

		snprintf(series, sizeof(series),
		    "skein_backfill_rate_rows_per_second{rollout=\"%s\",region=\"af\"}",
		    id);
		assert_true(value_of(text, series) == 250000.0);
		snprintf(series, sizeof(series),
		    "skein_backfill_throttled{rollout=\"%s\",region=\"af\"}", id);
		assert_true(value_of(text, series) == 100);
		snprintf(series, sizeof(series),
		    "skein_backfill_rows{rollout=\"%s\",region=\"af\"}", id);
		assert_true(value_of(text, series) == 1000.0 * 1000 + 999 * 1000 / 2);
	}
	assert_int_equal(promtool(f, text), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_metrics_of_a_running_rollout_pass_promtool_and_say_what_happened,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_metrics_escape_label_values, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_metrics_bound_finished_rollouts, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_metrics_of_a_thousand_databases_render_fast, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

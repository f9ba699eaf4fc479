/* report_backfill_test: what `skein rollout report` says of each backfill
 * in each database: its rows, duration, batches, average rows per
 * second and the time it paused, in total and by reason (the agent's
 * "reason=ms,..." parsed, nonsense pairs skipped), in Markdown and under
 * stable JSON keys; a backfill still running shows its latest progress;
 * a plan without backfills gets no such section. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli.h"
#include "sk_view_record.h"
#include "coord_testfix.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_wire.h"

#define T0 1714550400000 /* 2024-05-01T08:00:00Z */

/* 0001_add (sql), 0002_fill (backfill), 0003_widen (expand). */
static sk_plan *
make_plan(void)
{
	static const char *const ids[] = { "0001_add", "0002_fill", "0003_widen" };
	static const int kinds[] = { SK_STEP_SQL, SK_STEP_BACKFILL, SK_STEP_EXPAND };
	sk_plan *plan = calloc(1, sizeof(*plan));

	assert_non_null(plan);
	plan->id = coord_testfix_strdup("plan-bf");
	plan->name = coord_testfix_strdup("fill-domain");
	plan->steps = calloc(3, sizeof(*plan->steps));
	assert_non_null(plan->steps);
	plan->nsteps = 3;
	for (size_t i = 0; i < 3; i++) {
		plan->steps[i].id = coord_testfix_strdup(ids[i]);
		plan->steps[i].kind = kinds[i];
	}
	return plan;
}

typedef struct input {
	sk_rollout_view view;
	sk_phase_view phase;
	sk_region_view regions[2];
	sk_region_report reps[32];
	size_t n;
	sk_plan *plan;
	sk_rec_src src;
} input;

static sk_report *
add(input *in, const char *region, const char *db, const char *step, int event, int64_t at)
{
	sk_region_report *rr;

	assert_true(in->n < 32);
	rr = &in->reps[in->n++];
	memset(rr, 0, sizeof(*rr));
	snprintf(rr->region, sizeof(rr->region), "%s", region);
	rr->report.seq = in->n;
	rr->report.event = event;
	snprintf(rr->report.rollout_id, sizeof(rr->report.rollout_id), "r-bf");
	snprintf(rr->report.database, sizeof(rr->report.database), "%s", db);
	snprintf(rr->report.step_id, sizeof(rr->report.step_id), "%s", step);
	rr->report.at_ms = T0 + at;
	return &rr->report;
}

static sk_report *
progress(input *in, const char *db, const char *step, int64_t at, int64_t rows,
    int64_t batch, int64_t throttled)
{
	sk_report *r = add(in, "af", db, step, SK_EV_PROGRESS, at);

	r->rows = rows;
	r->rows_scanned = rows;
	r->rows_total = 2000000;
	r->batch = batch;
	r->batch_size = 4800;
	r->rate = 24000;
	r->throttled_ms = throttled;
	return r;
}

/* af/app ran the backfill to its end (throttled by rate and autovacuum)
 * and the expand's backfill without a pause; af/crm is halfway through
 * the backfill. */
static void
make_input(input *in)
{
	sk_report *r;

	memset(in, 0, sizeof(*in));
	snprintf(in->view.id, sizeof(in->view.id), "r-bf");
	snprintf(in->view.plan_id, sizeof(in->view.plan_id), "plan-bf");
	snprintf(in->view.plan_name, sizeof(in->view.plan_name), "fill-domain");
	snprintf(in->view.state, sizeof(in->view.state), "running");
	in->view.created_ms = T0;
	snprintf(in->regions[0].name, sizeof(in->regions[0].name), "af");
	snprintf(in->regions[0].state, sizeof(in->regions[0].state), "running");
	snprintf(in->phase.name, sizeof(in->phase.name), "all");
	in->phase.regions = in->regions;
	in->phase.nregions = 1;
	in->view.phases = &in->phase;
	in->view.nphases = 1;
	in->plan = make_plan();

	add(in, "af", "", "", SK_EV_PLAN_ACCEPTED, 0);
	add(in, "af", "app", "", SK_EV_DB_STARTED, 100);
	r = add(in, "af", "app", "0001_add", SK_EV_STEP_FINISHED, 500);
	r->duration_ms = 400;
	add(in, "af", "app", "0002_fill", SK_EV_STEP_STARTED, 1000);
	progress(in, "app", "0002_fill", 2000, 24000, 5, 0);
	progress(in, "app", "0002_fill", 60000, 1500000, 313, 4600);
	r = add(in, "af", "app", "0002_fill", SK_EV_STEP_FINISHED, 83000);
	r->duration_ms = 82000;
	r->rows = 2000000;
	r->batch = 417;
	r->throttled_ms = 4600;
	snprintf(r->throttled_by, sizeof(r->throttled_by),
	    "rate=1200,lag=0,query=0,autovacuum=3400,coordinator=0,operator=0");
	add(in, "af", "app", "0003_widen", SK_EV_STEP_STARTED, 83100);
	r = add(in, "af", "app", "0003_widen", SK_EV_STEP_FINISHED, 85100);
	r->duration_ms = 2000;
	r->rows = 9;
	r->batch = 1;
	snprintf(r->throttled_by, sizeof(r->throttled_by),
	    "rate=0,lag=0,query=0,autovacuum=0,coordinator=0,operator=0");
	add(in, "af", "app", "", SK_EV_DB_FINISHED, 85200);

	add(in, "af", "crm", "", SK_EV_DB_STARTED, 100);
	add(in, "af", "crm", "0001_add", SK_EV_STEP_FINISHED, 600);
	add(in, "af", "crm", "0002_fill", SK_EV_STEP_STARTED, 1000);
	progress(in, "crm", "0002_fill", 11000, 500, 3, 100);
	in->src = (sk_rec_src){ .view = &in->view,
		.plan = in->plan,
		.reports = in->reps,
		.nreports = in->n };
}

static char *
capture_md(const sk_rec_src *src)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	sk_err err;

	assert_non_null(fp);
	assert_int_equal(cli_report_md(fp, src, &err), SK_OK);
	fclose(fp);
	return buf;
}

static json_t *
capture_json(const sk_rec_src *src)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	json_error_t jerr;
	json_t *root;
	sk_err err;

	assert_non_null(fp);
	assert_int_equal(cli_report_json(fp, src, &err), SK_OK);
	fclose(fp);
	root = json_loads(buf, 0, &jerr);
	if (root == NULL)
		fail_msg("report JSON does not parse: %s\n%s", jerr.text, buf);
	free(buf);
	return root;
}

static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return true;
	}
	return false;
}

#define assert_has_line(text, line)                            \
do {                                                           \
if (!has_line((text), (line)))                                 \
fail_msg("line not found: [%s]\n--- in:\n%s", (line), (text)); \
} while (0)

/* ---- tests -------------------------------------------------------------- */

static void
test_report_md_totals_each_backfill_per_database(void **state)
{
	input in;
	char *md;

	(void)state;
	make_input(&in);
	md = capture_md(&in.src);
	assert_has_line(md, "## Backfills");
	assert_has_line(md,
	    "| Region | Database | Step | Result | Rows | Duration | Batches | "
	    "Rows/s | Throttled | Throttled by |");
	/* 2,000,000 rows in 82 s: 24,390 a second on average; paused
	 * 4.6 s, by the rate limit and by autovacuum (reasons that took no
	 * time are left out). */
	assert_has_line(md,
	    "| af | app | 0002_fill | applied | 2000000 | 1m22s | 417 | 24390 | "
	    "4.6s | rate 1.2s, autovacuum 3.4s |");
	/* An expand runs a backfill too; it never paused. */
	assert_has_line(md,
	    "| af | app | 0003_widen | applied | 9 | 2s | 1 | 4.5 | 0ms | - |");
	/* Still running: its latest progress, 10 s in; by reason at its end. */
	assert_has_line(md,
	    "| af | crm | 0002_fill | started | 500 | 10s | 3 | 50 | 100ms | - |");
	/* SQL steps are not backfills; the section comes before the regions. */
	assert_null(strstr(md, "| 0001_add | applied | 400"));
	assert_true(strstr(md, "## Backfills") < strstr(md, "## Region af"));
	free(md);
	sk_plan_destroy(in.plan);
}

static void
test_report_json_has_backfill_figures_under_stable_keys(void **state)
{
	input in;
	json_t *root, *dbs, *steps, *bf, *by;
	const char *key;
	json_t *v;
	size_t i = 0;
	static const char *const order[] = { "rate", "lag", "query",
		"autovacuum", "coordinator", "operator" };

	(void)state;
	make_input(&in);
	root = capture_json(&in.src);
	dbs = json_object_get(
	    json_array_get(json_object_get(root, "regions"), 0), "databases");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(dbs, 0), "name")), "app");
	steps = json_object_get(json_array_get(dbs, 0), "steps");
	assert_true(
	    json_is_null(json_object_get(json_array_get(steps, 0), "backfill")));
	bf = json_object_get(json_array_get(steps, 1), "backfill");
	assert_true(json_is_object(bf));
	assert_int_equal(json_integer_value(json_object_get(bf, "rows")), 2000000);
	assert_int_equal(json_integer_value(json_object_get(bf, "duration_ms")), 82000);
	assert_int_equal(json_integer_value(json_object_get(bf, "batches")), 417);
	assert_true(json_is_real(json_object_get(bf, "rows_per_second")));
	assert_true(json_real_value(json_object_get(bf, "rows_per_second")) > 24390.2);
	assert_true(json_real_value(json_object_get(bf, "rows_per_second")) < 24390.3);
	assert_int_equal(json_integer_value(json_object_get(bf, "throttled_ms")), 4600);
	by = json_object_get(bf, "throttled_by");
	assert_int_equal(json_object_size(by), 6);
	json_object_foreach(by, key, v)
	{
		assert_string_equal(key, order[i++]);
		assert_true(json_is_integer(v));
	}
	assert_int_equal(json_integer_value(json_object_get(by, "rate")), 1200);
	assert_int_equal(json_integer_value(json_object_get(by, "autovacuum")), 3400);
	assert_int_equal(json_integer_value(json_object_get(by, "lag")), 0);
	/* The running one: figures so far, no reasons yet. */
	steps = json_object_get(json_array_get(dbs, 1), "steps");
	bf = json_object_get(json_array_get(steps, 1), "backfill");
	assert_int_equal(json_integer_value(json_object_get(bf, "rows")), 500);
	assert_int_equal(json_integer_value(json_object_get(bf, "duration_ms")), 10000);
	assert_int_equal(json_integer_value(json_object_get(bf, "throttled_ms")), 100);
	assert_int_equal(json_object_size(json_object_get(bf, "throttled_by")), 0);
	json_decref(root);
	sk_plan_destroy(in.plan);
}

/* A rehearsal's backfill (its first batch, rolled back) and a rollback's
 * revert of one are not runs of it: no row, and null in JSON. */
static void
test_report_backfill_rows_only_for_runs(void **state)
{
	input in;
	sk_report *r;
	char *md;
	json_t *root, *steps;

	(void)state;
	make_input(&in);
	in.n = 2; /* accepted, app started */
	r = add(&in, "af", "app", "0002_fill", SK_EV_STEP_REHEARSED, 900);
	r->rows = 133;
	r->rows_scanned = 200;
	r->rows_total = 2000000;
	r->batch = 1;
	r->duration_ms = 4;
	snprintf(r->detail, sizeof(r->detail),
	    "first batch: 133 rows changed of 200 in 4 ms");
	in.src.nreports = in.n;
	md = capture_md(&in.src);
	assert_null(strstr(md, "Backfills"));
	free(md);
	root = capture_json(&in.src);
	steps = json_object_get(
	    json_array_get(
		json_object_get(json_array_get(json_object_get(root, "regions"), 0),
		    "databases"),
		0),
	    "steps");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(steps, 1), "result")),
	    "rehearsed");
	assert_true(
	    json_is_null(json_object_get(json_array_get(steps, 1), "backfill")));
	json_decref(root);
	sk_plan_destroy(in.plan);
}

/* The plan could not be read: steps that report batches are backfills
 * all the same. A plan of SQL steps only gets no section. */
static void
test_report_backfills_without_a_plan_and_without_backfills(void **state)
{
	input in;
	char *md;

	(void)state;
	make_input(&in);
	in.src.plan = NULL;
	md = capture_md(&in.src);
	assert_has_line(md,
	    "| af | app | 0002_fill | applied | 2000000 | 1m22s | 417 | 24390 | "
	    "4.6s | rate 1.2s, autovacuum 3.4s |");
	free(md);
	/* Only the SQL step's reports: no section. */
	in.src.plan = in.plan;
	in.src.nreports = 3;
	md = capture_md(&in.src);
	assert_null(strstr(md, "Backfills"));
	free(md);
	sk_plan_destroy(in.plan);
}

static void
test_report_throttled_by_parses_pairs_and_skips_nonsense(void **state)
{
	sk_rec_throttle t[SK_REC_THROTTLES_MAX];
	size_t n;

	(void)state;
	n = sk_rec_throttles_parse(
	    "rate=1200,lag=0,query=0,autovacuum=3400,coordinator=0,operator=0",
	    t, SK_REC_THROTTLES_MAX);
	assert_int_equal(n, 6);
	assert_string_equal(t[0].reason, "rate");
	assert_int_equal(t[0].ms, 1200);
	assert_string_equal(t[3].reason, "autovacuum");
	assert_int_equal(t[3].ms, 3400);
	assert_string_equal(t[5].reason, "operator");
	/* Empty, NULL, and pairs that are not reason=ms. */
	assert_int_equal(sk_rec_throttles_parse("", t, SK_REC_THROTTLES_MAX), 0);
	assert_int_equal(sk_rec_throttles_parse(NULL, t, SK_REC_THROTTLES_MAX), 0);
	n = sk_rec_throttles_parse(
	    "rate,=5,lag=-3,query=1x,a b=1,,lag=7,rate=9,lag=8,"
	    "averyveryverylongreasonname=1,big=99999999999999999999",
	    t, SK_REC_THROTTLES_MAX);
	assert_int_equal(n, 2);
	assert_string_equal(t[0].reason, "lag");
	assert_int_equal(t[0].ms, 7);
	assert_string_equal(t[1].reason, "rate");
	assert_int_equal(t[1].ms, 9);
	/* At most max. */
	assert_int_equal(sk_rec_throttles_parse("a=1,b=2,c=3", t, 2), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_md_totals_each_backfill_per_database),
		cmocka_unit_test(test_report_json_has_backfill_figures_under_stable_keys),
		cmocka_unit_test(test_report_backfills_without_a_plan_and_without_backfills),
		cmocka_unit_test(test_report_backfill_rows_only_for_runs),
		cmocka_unit_test(test_report_throttled_by_parses_pairs_and_skips_nonsense),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* report_test: the execution record and the rehearsal verdicts, printed
 * from a fixed list of reports: the Markdown has the lines an operator
 * pastes into a change record (steps with times, attempts, lock waits,
 * rows; checks with values; the backup and its exact restore command;
 * waivers; reasons for a failure), the JSON has the same content under
 * stable keys, and the rehearsal says READY, BLOCKED with every reason,
 * or that a region gave no verdict. */
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
#include "coord_testfix.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_wire.h"

#define T0 1714550400000 /* 2024-05-01T08:00:00Z */

/* ---- fixed input -------------------------------------------------------- */

static sk_plan *
make_plan(void)
{
	static const char *const ids[] = { "0001_add_region", "0002_backfill",
		"0003_index" };
	sk_plan *plan = calloc(1, sizeof(*plan));

	assert_non_null(plan);
	plan->id = coord_testfix_strdup("plan-7f3a");
	plan->name = coord_testfix_strdup("add-region-column");
	plan->steps = calloc(3, sizeof(*plan->steps));
	assert_non_null(plan->steps);
	plan->nsteps = 3;
	for (size_t i = 0; i < 3; i++) {
		plan->steps[i].id = coord_testfix_strdup(ids[i]);
		plan->steps[i].kind = SK_STEP_SQL;
		plan->steps[i].sql = coord_testfix_strdup("SELECT 1;");
	}
	plan->steps[1].waivers = calloc(1, sizeof(sk_waiver));
	assert_non_null(plan->steps[1].waivers);
	plan->steps[1].nwaivers = 1;
	plan->steps[1].waivers[0].rule = coord_testfix_strdup("SK104");
	plan->steps[1].waivers[0].reason =
	    coord_testfix_strdup("the table has 200 rows | small enough");
	return plan;
}

typedef struct input {
	sk_rollout_view view;
	sk_phase_view phases[2];
	sk_region_view regions[3];
	sk_event_view note;
	sk_region_report reps[64];
	size_t n;
	sk_plan *plan;
	sk_rec_src src;
} input;

static sk_report *
add(input *in, const char *region, const char *db, const char *step, int event, int64_t at)
{
	sk_region_report *rr;

	assert_true(in->n < 64);
	rr = &in->reps[in->n++];
	memset(rr, 0, sizeof(*rr));
	snprintf(rr->region, sizeof(rr->region), "%s", region);
	rr->report.seq = in->n;
	rr->report.event = event;
	/* Same size, both NUL-terminated (snprintf here trips GCC's
	 * -Wrestrict: both live in *in). */
	_Static_assert(sizeof(rr->report.rollout_id) == sizeof(in->view.id),
	    "rollout id sizes differ");
	memcpy(rr->report.rollout_id, in->view.id, sizeof(rr->report.rollout_id));
	snprintf(rr->report.database, sizeof(rr->report.database), "%s", db);
	snprintf(rr->report.step_id, sizeof(rr->report.step_id), "%s", step);
	rr->report.at_ms = T0 + at;
	return &rr->report;
}

static void
check(sk_report *r, const char *name, const char *when, bool passed,
    const char *seen, const char *expected)
{
	r->has_check = true;
	snprintf(r->check.name, sizeof(r->check.name), "%s", name);
	snprintf(r->check.when, sizeof(r->check.when), "%s", when);
	r->check.passed = passed;
	snprintf(r->check.seen, sizeof(r->check.seen), "%s", seen);
	snprintf(r->check.expected, sizeof(r->check.expected), "%s", expected);
}

static void
set_err(sk_err *e, int code, const char *sqlstate, const char *msg)
{
	e->code = code;
	snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", sqlstate);
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

static void
set_error(sk_report *r, int code, const char *sqlstate, const char *msg)
{
	set_err(&r->error, code, sqlstate, msg);
}

static void
region_view(sk_region_view *v, const char *name, const char *state)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->state, sizeof(v->state), "%s", state);
}

/* Two phases: canary af, then in and ksa. */
static void
setup_view(input *in, int mode, const char *id, const char *state,
    const char *af, const char *rin, const char *ksa)
{
	memset(in, 0, sizeof(*in));
	snprintf(in->view.id, sizeof(in->view.id), "%s", id);
	snprintf(in->view.plan_id, sizeof(in->view.plan_id), "plan-7f3a");
	snprintf(in->view.plan_name, sizeof(in->view.plan_name), "add-region-column");
	snprintf(in->view.state, sizeof(in->view.state), "%s", state);
	in->view.mode = mode;
	in->view.created_ms = T0;
	in->view.finished_ms = T0 + 12000;
	region_view(&in->regions[0], "af", af);
	region_view(&in->regions[1], "in", rin);
	region_view(&in->regions[2], "ksa", ksa);
	snprintf(in->phases[0].name, sizeof(in->phases[0].name), "canary");
	in->phases[0].regions = &in->regions[0];
	in->phases[0].nregions = 1;
	snprintf(in->phases[1].name, sizeof(in->phases[1].name), "rest");
	in->phases[1].regions = &in->regions[1];
	in->phases[1].nregions = 2;
	in->view.phases = in->phases;
	in->view.nphases = 2;
	in->plan = make_plan();
}

static void
finish_src(input *in)
{
	in->src = (sk_rec_src){ .view = &in->view,
		.plan = in->plan,
		.reports = in->reps,
		.nreports = in->n };
}

/* An apply: af applied every step (a backup, checks, a lock wait behind
 * an idle transaction); in failed at step 2 on a lock timeout; ksa was
 * never reached. */
static void
apply_input(input *in)
{
	sk_report *r;

	setup_view(in, SK_MODE_APPLY, "r-test", "failed", "succeeded", "failed",
	    "pending");
	snprintf(in->view.reason, sizeof(in->view.reason),
	    "apply step 0002_backfill in in/app: lock timeout after 3 attempts");
	set_err(&in->regions[1].error, SK_ELOCK, "55P03",
	    "apply step 0002_backfill in in/app: lock timeout after 3 attempts");

	add(in, "af", "", "", SK_EV_PLAN_ACCEPTED, 500);
	add(in, "af", "app", "", SK_EV_DB_STARTED, 1000);
	check(add(in, "af", "app", "", SK_EV_CHECK, 1010), "server_version",
	    "preflight", true, "150004", ">= 150000");
	r = add(in, "af", "app", "", SK_EV_BACKUP, 1900);
	r->has_backup = true;
	snprintf(r->backup.path, sizeof(r->backup.path), "/backups/app-r-test.dump");
	r->backup.size = 123456;
	r->backup.duration_ms = 1200;
	snprintf(r->backup.restore_command, sizeof(r->backup.restore_command),
	    "pg_restore --clean --if-exists -d 'dbname=app' /backups/app-r-test.dump");
	add(in, "af", "app", "0001_add_region", SK_EV_STEP_STARTED, 2000);
	check(add(in, "af", "app", "0001_add_region", SK_EV_CHECK, 2010),
	    "no_orphans", "pre", true, "0", "= 0");
	r = add(in, "af", "app", "0001_add_region", SK_EV_STEP_FINISHED, 2250);
	r->duration_ms = 250;
	r->attempt = 1;
	add(in, "af", "app", "0002_backfill", SK_EV_STEP_STARTED, 3000);
	r = add(in, "af", "app", "0002_backfill", SK_EV_LOCK_WAIT, 6000);
	r->attempt = 1;
	r->lock_waits = 1;
	r->lock_wait_ms = 3000;
	r->nblockers = 1;
	r->blockers[0].pid = 4242;
	snprintf(r->blockers[0].state, sizeof(r->blockers[0].state),
	    "idle in transaction");
	r->blockers[0].age_ms = 45000;
	snprintf(r->blockers[0].query, sizeof(r->blockers[0].query),
	    "UPDATE accounts SET x = 1");
	snprintf(r->blockers[0].user, sizeof(r->blockers[0].user), "app");
	snprintf(r->blockers[0].application, sizeof(r->blockers[0].application), "psql");
	r = add(in, "af", "app", "0002_backfill", SK_EV_STEP_FINISHED, 10500);
	r->duration_ms = 7500;
	r->attempt = 3;
	r->lock_waits = 2;
	r->lock_wait_ms = 6000;
	r->rows = 200;
	check(add(in, "af", "app", "0002_backfill", SK_EV_CHECK, 10400),
	    "all_backfilled", "post", true, "0", "= 0");
	r = add(in, "af", "app", "0003_index", SK_EV_STEP_SKIPPED, 10600);
	add(in, "af", "app", "", SK_EV_DB_FINISHED, 10700);
	add(in, "af", "", "", SK_EV_PLAN_SUCCEEDED, 10800);

	add(in, "in", "", "", SK_EV_PLAN_ACCEPTED, 11000);
	add(in, "in", "app", "", SK_EV_DB_STARTED, 11000);
	add(in, "in", "app", "0001_add_region", SK_EV_STEP_STARTED, 11000);
	r = add(in, "in", "app", "0001_add_region", SK_EV_STEP_FINISHED, 11100);
	r->duration_ms = 100;
	r = add(in, "in", "app", "0002_backfill", SK_EV_STEP_FAILED, 11900);
	r->duration_ms = 800;
	r->attempt = 3;
	r->lock_waits = 3;
	r->lock_wait_ms = 750;
	set_error(r, SK_ELOCK, "55P03",
	    "apply step 0002_backfill in in/app: lock timeout after 3 attempts");
	r->nblockers = 1;
	r->blockers[0].pid = 777;
	snprintf(r->blockers[0].state, sizeof(r->blockers[0].state), "active");
	r->blockers[0].age_ms = 90000;
	snprintf(r->blockers[0].query, sizeof(r->blockers[0].query),
	    "LOCK TABLE accounts");
	r = add(in, "in", "app", "", SK_EV_DB_FAILED, 11950);
	set_error(r, SK_ELOCK, "55P03",
	    "apply step 0002_backfill in in/app: lock timeout after 3 attempts");
	r = add(in, "in", "", "", SK_EV_PLAN_FAILED, 12000);
	set_error(r, SK_ELOCK, "55P03",
	    "apply step 0002_backfill in in/app: lock timeout after 3 attempts");
	finish_src(in);
}

/* ---- helpers ------------------------------------------------------------ */

/* Run printer into a string (caller frees). */
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

#define assert_has_line(text, line)                            \
do {                                                           \
if (!has_line((text), (line)))                                 \
fail_msg("line not found: [%s]\n--- in:\n%s", (line), (text)); \
} while (0)

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

static void
free_input(input *in)
{
	sk_plan_destroy(in->plan);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_report_md_has_every_step_check_backup_and_waiver(void **state)
{
	input *in = calloc(1, sizeof(*in));
	char *md;

	(void)state;
	assert_non_null(in);
	apply_input(in);
	md = capture_md(&in->src);

	assert_has_line(md, "# Execution record: rollout r-test");
	assert_has_line(md, "| Mode | apply |");
	assert_has_line(md, "| Plan | add-region-column |");
	assert_has_line(md, "| State | failed |");
	assert_has_line(md, "| Started | 2024-05-01T08:00:00.000Z |");
	assert_has_line(md, "| Duration | 12s |");
	assert_has_line(md, "| Regions | af, in, ksa |");
	assert_has_line(md,
	    "| Halted | apply step 0002_backfill in in/app: lock timeout after 3 attempts |");
	/* The waiver, its pipe escaped. */
	assert_has_line(md,
	    "| 0002_backfill | SK104 | the table has 200 rows \\| small enough |");

	assert_has_line(md, "## Region af (phase canary): succeeded");
	assert_has_line(md, "### Database app: applied");
	assert_has_line(md, "- Started: 2024-05-01T08:00:01.000Z");
	assert_has_line(md, "- Finished: 2024-05-01T08:00:10.700Z");
	assert_has_line(md,
	    "- Backup: `/backups/app-r-test.dump`, 123456 bytes, taken in 1.2s");
	/* The restore command, exactly, on a line of its own. */
	assert_has_line(md,
	    "pg_restore --clean --if-exists -d 'dbname=app' /backups/app-r-test.dump");
	assert_has_line(md,
	    "| server_version | preflight | - | 150004 | >= 150000 | pass |");
	assert_has_line(md, "| no_orphans | pre | 0001_add_region | 0 | = 0 | pass |");
	assert_has_line(md, "| all_backfilled | post | 0002_backfill | 0 | = 0 | pass |");
	assert_has_line(md,
	    "| 0001_add_region | applied | 2024-05-01T08:00:02.000Z | "
	    "2024-05-01T08:00:02.250Z | 250ms | 1 | 0 | 0ms | 0 |");
	assert_has_line(md,
	    "| 0002_backfill | applied | 2024-05-01T08:00:03.000Z | "
	    "2024-05-01T08:00:10.500Z | 7.5s | 3 | 2 | 6s | 200 |");
	assert_has_line(md,
	    "| 0003_index | skipped | 2024-05-01T08:00:10.600Z | "
	    "2024-05-01T08:00:10.600Z | 0ms | 0 | 0 | 0ms | 0 |");
	assert_has_line(md,
	    "- step 0002_backfill blocked by pid 4242 (idle in transaction, "
	    "transaction 45s old, user app, application psql): UPDATE accounts SET x = 1");

	/* The failed region: why, with SQLSTATE and the blocker; the step
	 * never reached is listed as such. */
	assert_has_line(md, "## Region in (phase rest): failed");
	assert_has_line(md, "### Database app: failed");
	assert_has_line(md, "Failed because:");
	assert_has_line(md,
	    "- step 0002_backfill failed: apply step 0002_backfill in in/app: lock "
	    "timeout after 3 attempts (SQLSTATE 55P03)");
	assert_has_line(md,
	    "- step 0002_backfill blocked by pid 777 (active, transaction 1m30s old, "
	    "user ?, application -): LOCK TABLE accounts");
	assert_has_line(md, "| 0003_index | not-run | - | - | - | 0 | 0 | 0ms | 0 |");
	assert_has_line(md, "## Region ksa (phase rest): pending");
	assert_has_line(md, "No database reported.");
	free(md);
	free_input(in);
	free(in);
}

static void
test_report_json_has_the_same_content_under_stable_keys(void **state)
{
	input *in = calloc(1, sizeof(*in));
	json_t *root, *ro, *af, *db, *step, *w, *inr, *reasons;

	(void)state;
	assert_non_null(in);
	apply_input(in);
	root = capture_json(&in->src);

	assert_int_equal(json_integer_value(json_object_get(root, "format")), 1);
	ro = json_object_get(root, "rollout");
	assert_string_equal(json_string_value(json_object_get(ro, "id")), "r-test");
	assert_string_equal(json_string_value(json_object_get(ro, "mode")), "apply");
	assert_string_equal(json_string_value(json_object_get(ro, "state")), "failed");
	assert_int_equal(json_integer_value(json_object_get(ro, "duration_ms")), 12000);
	w = json_array_get(json_object_get(root, "waivers"), 0);
	assert_string_equal(
	    json_string_value(json_object_get(w, "step")), "0002_backfill");
	assert_string_equal(json_string_value(json_object_get(w, "rule")), "SK104");
	assert_int_equal(json_array_size(json_object_get(root, "regions")), 3);

	af = json_array_get(json_object_get(root, "regions"), 0);
	assert_string_equal(json_string_value(json_object_get(af, "name")), "af");
	assert_string_equal(json_string_value(json_object_get(af, "phase")), "canary");
	assert_string_equal(
	    json_string_value(json_object_get(af, "verdict")), "succeeded");
	assert_true(json_is_null(json_object_get(af, "error")));
	db = json_array_get(json_object_get(af, "databases"), 0);
	assert_string_equal(json_string_value(json_object_get(db, "name")), "app");
	assert_string_equal(json_string_value(json_object_get(db, "verdict")), "applied");
	assert_int_equal(json_integer_value(json_object_get(db, "duration_ms")), 9700);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(db, "backup"), "restore_command")),
	    "pg_restore --clean --if-exists -d 'dbname=app' /backups/app-r-test.dump");
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(db, "backup"), "size")),
	    123456);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(db, "checks"), 0), "when")),
	    "preflight");
	assert_int_equal(json_array_size(json_object_get(db, "steps")), 3);
	step = json_array_get(json_object_get(db, "steps"), 1);
	assert_string_equal(
	    json_string_value(json_object_get(step, "id")), "0002_backfill");
	assert_string_equal(
	    json_string_value(json_object_get(step, "result")), "applied");
	assert_int_equal(json_integer_value(json_object_get(step, "attempts")), 3);
	assert_int_equal(json_integer_value(json_object_get(step, "lock_waits")), 2);
	assert_int_equal(
	    json_integer_value(json_object_get(step, "lock_wait_ms")), 6000);
	assert_int_equal(json_integer_value(json_object_get(step, "rows")), 200);
	assert_int_equal(json_integer_value(json_object_get(step, "duration_ms")), 7500);
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(step, "blockers"), 0), "pid")),
	    4242);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(step, "checks"), 0), "name")),
	    "all_backfilled");

	inr = json_array_get(json_object_get(root, "regions"), 1);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(inr, "error"), "sqlstate")),
	    "55P03");
	db = json_array_get(json_object_get(inr, "databases"), 0);
	assert_string_equal(json_string_value(json_object_get(db, "verdict")), "failed");
	reasons = json_object_get(db, "reasons");
	assert_true(json_array_size(reasons) >= 2);
	assert_non_null(strstr(
	    json_string_value(json_array_get(reasons, 0)), "(SQLSTATE 55P03)"));
	step = json_array_get(json_object_get(db, "steps"), 2);
	assert_string_equal(
	    json_string_value(json_object_get(step, "result")), "not-run");
	assert_true(json_is_null(json_object_get(db, "backup")));
	assert_int_equal(json_integer_value(json_object_get(root, "reports")),
	    (json_int_t)in->n);
	json_decref(root);
	free_input(in);
	free(in);
}

/* A rehearsal: af READY with a step that cannot be rehearsed; in BLOCKED
 * by a failed check and a failed statement; ksa never took the plan. */
static void
rehearsal_input(input *in)
{
	sk_report *r;

	setup_view(in, SK_MODE_REHEARSE, "r-reh", "running", "ready", "blocked",
	    "dispatched");
	add(in, "af", "app", "", SK_EV_DB_STARTED, 100);
	r = add(in, "af", "app", "0001_add_region", SK_EV_STEP_REHEARSED, 200);
	r->duration_ms = 50;
	add(in, "af", "app", "0002_backfill", SK_EV_STEP_REHEARSED, 300);
	r = add(in, "af", "app", "0003_index", SK_EV_STEP_NOT_REHEARSABLE, 310);
	snprintf(r->detail, sizeof(r->detail),
	    "runs outside a transaction (CREATE INDEX CONCURRENTLY)");
	add(in, "af", "app", "", SK_EV_DB_FINISHED, 320);
	add(in, "af", "", "", SK_EV_PLAN_SUCCEEDED, 330);

	check(add(in, "in", "app", "0001_add_region", SK_EV_CHECK, 400),
	    "no_orphans", "pre", false, "3", "= 0");
	r = add(in, "in", "app", "0002_backfill", SK_EV_STEP_FAILED, 500);
	set_error(r, SK_ESQL, "42P01", "relation \"accounts\" does not exist");
	r = add(in, "in", "app", "", SK_EV_DB_FAILED, 510);
	set_error(r, SK_ECHECK, "", "rehearse in in/app: pre check no_orphans: saw 3");
	r = add(in, "in", "", "", SK_EV_PLAN_FAILED, 520);
	set_error(r, SK_ECHECK, "", "rehearse in in/app: pre check no_orphans: saw 3");
	finish_src(in);
}

static void
test_rehearsal_prints_ready_blocked_reasons_and_silent_regions(void **state)
{
	input *in = calloc(1, sizeof(*in));
	cli_verdicts counts;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	(void)state;
	assert_non_null(in);
	rehearsal_input(in);
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	cli_rehearsal_print(fp, &in->src, &counts);
	fclose(fp);

	assert_int_equal(counts.total, 3);
	assert_int_equal(counts.ready, 1);
	assert_int_equal(counts.blocked, 1);
	assert_int_equal(counts.silent, 1);
	assert_has_line(buf, "rehearsal r-reh of plan add-region-column (plan-7f3a):");
	assert_has_line(buf, "  af/app: READY");
	assert_has_line(buf,
	    "      not rehearsable: step 0003_index: runs outside a transaction "
	    "(CREATE INDEX CONCURRENTLY)");
	assert_has_line(buf, "  in/app: BLOCKED");
	assert_has_line(buf,
	    "      - pre check no_orphans of step 0001_add_region: saw 3, expected = 0");
	assert_has_line(buf,
	    "      - step 0002_backfill failed: relation \"accounts\" does not "
	    "exist (SQLSTATE 42P01)");
	assert_has_line(buf,
	    "  ksa: NO VERDICT: the agent never took the plan (is it connected?)");
	assert_has_line(buf,
	    "rehearsal r-reh: BLOCKED in 1/3 regions (in); no verdict from 1 (ksa)");
	free(buf);

	/* Everyone READY: the summary says so and nothing is BLOCKED. */
	snprintf(in->regions[1].state, sizeof(in->regions[1].state), "ready");
	snprintf(in->regions[2].state, sizeof(in->regions[2].state), "ready");
	in->n = 6; /* af's reports only */
	finish_src(in);
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	cli_rehearsal_print(fp, &in->src, &counts);
	fclose(fp);
	assert_int_equal(counts.ready, 3);
	assert_int_equal(counts.blocked + counts.silent, 0);
	assert_has_line(buf, "rehearsal r-reh: READY in 3/3 regions");
	assert_null(strstr(buf, "BLOCKED"));
	free(buf);
	free_input(in);
	free(in);
}

static void
test_report_md_of_rehearsal_and_rollback(void **state)
{
	input *in = calloc(1, sizeof(*in));
	sk_report *r;
	json_t *root, *db;
	char *md;

	(void)state;
	assert_non_null(in);
	rehearsal_input(in);
	md = capture_md(&in->src);
	assert_has_line(md, "| Mode | rehearsal (every change rolled back) |");
	assert_has_line(md, "## Region af (phase canary): READY");
	assert_has_line(md, "### Database app: READY");
	assert_has_line(md, "## Region in (phase rest): BLOCKED");
	assert_has_line(md, "### Database app: BLOCKED");
	assert_has_line(md, "Blocked because:");
	assert_has_line(md,
	    "- pre check no_orphans of step 0001_add_region: saw 3, expected = 0");
	assert_has_line(md, "| no_orphans | pre | 0001_add_region | 3 | = 0 | FAIL |");
	assert_has_line(md,
	    "- Not rehearsable: step 0003_index: runs outside a transaction "
	    "(CREATE INDEX CONCURRENTLY)");
	free(md);
	root = capture_json(&in->src);
	db = json_array_get(
	    json_object_get(json_array_get(json_object_get(root, "regions"), 0),
		"databases"),
	    0);
	assert_string_equal(json_string_value(json_object_get(db, "verdict")), "READY");
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(db, "not_rehearsable"), 0), "step")),
	    "0003_index");
	json_decref(root);
	free_input(in);

	/* A rollback: what was reverted, newest first, and what it undoes. */
	setup_view(in, SK_MODE_ROLLBACK, "r-back", "succeeded", "succeeded",
	    "pending", "pending");
	snprintf(in->view.of_rollout, sizeof(in->view.of_rollout), "r-test");
	in->note.at_ms = T0;
	snprintf(in->note.text, sizeof(in->note.text),
	    "12 reports were not kept: a rollout keeps at most 50000");
	in->view.events = &in->note;
	in->view.nevents = 1;
	r = add(in, "af", "app", "0002_backfill", SK_EV_STEP_REVERTED, 100);
	r->duration_ms = 40;
	r = add(in, "af", "app", "0001_add_region", SK_EV_STEP_REVERTED, 200);
	r->duration_ms = 30;
	add(in, "af", "app", "", SK_EV_DB_FINISHED, 210);
	finish_src(in);
	md = capture_md(&in->src);
	assert_has_line(md, "| Mode | rollback |");
	assert_has_line(md, "| Rolls back | r-test |");
	assert_has_line(md,
	    "> Note: 12 reports were not kept: a rollout keeps at most 50000");
	assert_has_line(md, "### Database app: rolled back");
	assert_has_line(md, "Steps reverted: 2");
	assert_non_null(strstr(md, "| 0002_backfill | reverted |"));
	assert_true(strstr(md, "| 0002_backfill | reverted |") <
	    strstr(md, "| 0001_add_region | reverted |"));
	assert_null(strstr(md, "0003_index")); /* a rollback lists what it did */
	assert_has_line(md,
	    "| Backup before revert | taken in each database "
	    "before its first revert |");
	assert_has_line(md, "- Backup: none");
	assert_null(strstr(md, "| Re-apply |"));
	free(md);
	root = capture_json(&in->src);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(root, "rollout"), "of_rollout")),
	    "r-test");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(root, "notes"), 0)),
	    "12 reports were not kept: a rollout keeps at most 50000");
	{
		json_t *b = json_object_get(
		    json_object_get(root, "rollout"), "backup_before_revert");

		assert_true(json_is_false(json_object_get(b, "skipped")));
		assert_string_equal(
		    json_string_value(json_object_get(b, "skipped_by")), "");
		assert_true(json_is_null(
		    json_object_get(json_object_get(root, "rollout"), "reapply")));
	}
	json_decref(root);
	free_input(in);
	free(in);
}

/* The record shows each decision and who made it: a rollback's backup
 * before its first revert (where, per database) or whose --no-backup or
 * which plan setting skipped it; an apply's --reapply and by whom. */
static void
test_report_shows_backup_and_reapply_decisions_and_who_made_them(void **state)
{
	input *in = calloc(1, sizeof(*in));
	json_t *root, *ro, *b, *db;
	sk_report *r;
	char *md;

	(void)state;
	assert_non_null(in);
	/* A rollback whose agents backed up before reverting. */
	setup_view(in, SK_MODE_ROLLBACK, "r-back", "succeeded", "succeeded",
	    "pending", "pending");
	snprintf(in->view.of_rollout, sizeof(in->view.of_rollout), "r-test");
	snprintf(in->view.started_by, sizeof(in->view.started_by), "vera");
	snprintf(in->view.started_by_key, sizeof(in->view.started_by_key),
	    "0011223344556677");
	r = add(in, "af", "app", "", SK_EV_BACKUP, 50);
	r->has_backup = true;
	snprintf(r->backup.path, sizeof(r->backup.path), "/b/af_app_rb.dump");
	r->backup.size = 2048;
	snprintf(r->backup.restore_command, sizeof(r->backup.restore_command),
	    "pg_restore --clean --if-exists -d 'dbname=app' /b/af_app_rb.dump");
	add(in, "af", "app", "0001_add_region", SK_EV_STEP_REVERTED, 100);
	add(in, "af", "app", "", SK_EV_DB_FINISHED, 110);
	finish_src(in);
	md = capture_md(&in->src);
	assert_has_line(md,
	    "| Backup before revert | taken in each database "
	    "before its first revert |");
	assert_has_line(md, "- Backup: `/b/af_app_rb.dump`, 2048 bytes, taken in 0ms");
	free(md);
	root = capture_json(&in->src);
	ro = json_object_get(root, "rollout");
	b = json_object_get(ro, "backup_before_revert");
	assert_true(json_is_false(json_object_get(b, "skipped")));
	db = json_array_get(
	    json_object_get(json_array_get(json_object_get(root, "regions"), 0),
		"databases"),
	    0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(db, "backup"), "path")),
	    "/b/af_app_rb.dump");
	json_decref(root);
	free_input(in);

	/* --no-backup: who said it, in the header and per database. */
	setup_view(in, SK_MODE_ROLLBACK, "r-back", "succeeded", "succeeded",
	    "pending", "pending");
	snprintf(in->view.of_rollout, sizeof(in->view.of_rollout), "r-test");
	snprintf(in->view.started_by, sizeof(in->view.started_by), "vera");
	snprintf(in->view.started_by_key, sizeof(in->view.started_by_key),
	    "0011223344556677");
	in->view.no_backup = true;
	add(in, "af", "app", "0001_add_region", SK_EV_STEP_REVERTED, 100);
	add(in, "af", "app", "", SK_EV_DB_FINISHED, 110);
	finish_src(in);
	md = capture_md(&in->src);
	assert_has_line(md,
	    "| Backup before revert | skipped: --no-backup by vera "
	    "(key 0011223344556677) |");
	assert_has_line(md,
	    "- Backup: none (skipped: --no-backup by vera (key "
	    "0011223344556677))");
	free(md);
	root = capture_json(&in->src);
	b = json_object_get(json_object_get(root, "rollout"), "backup_before_revert");
	assert_true(json_is_true(json_object_get(b, "skipped")));
	assert_string_equal(
	    json_string_value(json_object_get(b, "skipped_by")), "--no-backup");
	assert_string_equal(json_string_value(json_object_get(b, "operator")), "vera");
	assert_string_equal(json_string_value(json_object_get(b, "operator_key")),
	    "0011223344556677");
	json_decref(root);

	/* The plan's rollback_backup: false. */
	in->view.no_backup = false;
	in->view.plan_no_rollback_backup = true;
	md = capture_md(&in->src);
	assert_has_line(md,
	    "| Backup before revert | skipped: the plan says "
	    "rollback_backup: false |");
	free(md);
	root = capture_json(&in->src);
	b = json_object_get(json_object_get(root, "rollout"), "backup_before_revert");
	assert_true(json_is_true(json_object_get(b, "skipped")));
	assert_string_equal(json_string_value(json_object_get(b, "skipped_by")),
	    "rollback_backup: false");
	assert_string_equal(json_string_value(json_object_get(b, "operator")), "");
	json_decref(root);
	free_input(in);

	/* An apply with --reapply: by whom, after which rolled-back apply. */
	apply_input(in);
	snprintf(in->view.started_by, sizeof(in->view.started_by), "otto");
	snprintf(in->view.started_by_key, sizeof(in->view.started_by_key),
	    "8899aabbccddeeff");
	in->view.reapply = true;
	snprintf(in->view.reapply_of, sizeof(in->view.reapply_of), "r-old");
	md = capture_md(&in->src);
	assert_has_line(md,
	    "| Re-apply | --reapply by otto (key 8899aabbccddeeff) "
	    "after rollout r-old of the plan was rolled back |");
	assert_null(strstr(md, "| Backup before revert |"));
	free(md);
	root = capture_json(&in->src);
	ro = json_object_get(root, "rollout");
	assert_true(json_is_null(json_object_get(ro, "backup_before_revert")));
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(ro, "reapply"), "of_rollout")),
	    "r-old");
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(ro, "reapply"), "operator")),
	    "otto");
	json_decref(root);
	free_input(in);
	free(in);
}

/* The agent repeats LOCK_WAIT while a step waits, naming the same
 * sessions each time: the record names each blocking pid once per step,
 * with its latest state, when it was first and last seen and how often. */
static sk_report *
lock_wait(input *in, const char *region, const char *step, int64_t at,
    int32_t pid, int64_t age_ms, const char *state)
{
	sk_report *r = add(in, region, "app", step, SK_EV_LOCK_WAIT, at);

	r->nblockers = 1;
	r->blockers[0].pid = pid;
	r->blockers[0].age_ms = age_ms;
	snprintf(r->blockers[0].state, sizeof(r->blockers[0].state), "%s", state);
	snprintf(r->blockers[0].query, sizeof(r->blockers[0].query),
	    "UPDATE accounts SET x = 1");
	snprintf(r->blockers[0].user, sizeof(r->blockers[0].user), "app");
	snprintf(r->blockers[0].application, sizeof(r->blockers[0].application), "psql");
	return r;
}

static size_t
count_substr(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void
test_report_blockers_are_listed_once_per_pid(void **state)
{
	input *in = calloc(1, sizeof(*in));
	json_t *root, *steps, *bl, *b;
	sk_report *r;
	char *md;

	(void)state;
	assert_non_null(in);
	apply_input(in);
	/* af/0002_backfill: apply_input named pid 4242 once at +6s; three
	 * more reports name it again (older each time), one names 5151 too. */
	in->n--; /* re-add the plan's last report after the extra waits */
	lock_wait(in, "af", "0002_backfill", 7000, 4242, 46000, "idle in transaction");
	r = lock_wait(in, "af", "0002_backfill", 8000, 4242, 47000,
	    "idle in transaction");
	r->nblockers = 2;
	r->blockers[1].pid = 5151;
	r->blockers[1].age_ms = 1000;
	snprintf(r->blockers[1].state, sizeof(r->blockers[1].state), "active");
	snprintf(r->blockers[1].query, sizeof(r->blockers[1].query), "SELECT 1");
	lock_wait(in, "af", "0002_backfill", 9000, 4242, 48000, "active");
	/* the same pid blocking a different step is listed for that step */
	lock_wait(in, "af", "0003_index", 10550, 4242, 49000, "active");
	r = add(in, "in", "", "", SK_EV_PLAN_FAILED, 12000);
	set_error(r, SK_ELOCK, "55P03",
	    "apply step 0002_backfill in in/app: lock timeout after 3 attempts");
	finish_src(in);

	md = capture_md(&in->src);
	/* Once for 0002_backfill, its latest state and age, first and last
	 * time; once for 0003_index; 5151 once without a range. */
	assert_int_equal(
	    count_substr(md, "step 0002_backfill blocked by pid 4242"), 1);
	assert_has_line(md,
	    "- step 0002_backfill blocked by pid 4242 (active, transaction 48s "
	    "old, user app, application psql): UPDATE accounts SET x = 1 (seen 4 "
	    "times, 2024-05-01T08:00:06.000Z to 2024-05-01T08:00:09.000Z)");
	assert_int_equal(count_substr(md, "step 0003_index blocked by pid 4242"), 1);
	assert_int_equal(count_substr(md, "blocked by pid 5151"), 1);
	assert_has_line(md,
	    "- step 0002_backfill blocked by pid 5151 (active, transaction 1s "
	    "old, user ?, application -): SELECT 1");
	/* The failed region's blocker is still a reason and listed once. */
	assert_int_equal(count_substr(md, "blocked by pid 777"), 2);
	free(md);

	root = capture_json(&in->src);
	steps = json_object_get(
	    json_array_get(
		json_object_get(json_array_get(json_object_get(root, "regions"), 0),
		    "databases"),
		0),
	    "steps");
	bl = json_object_get(json_array_get(steps, 1), "blockers");
	assert_int_equal(json_array_size(bl), 2);
	b = json_array_get(bl, 0);
	assert_int_equal(json_integer_value(json_object_get(b, "pid")), 4242);
	assert_int_equal(json_integer_value(json_object_get(b, "seen")), 4);
	assert_int_equal(json_integer_value(json_object_get(b, "at_ms")), T0 + 6000);
	assert_int_equal(
	    json_integer_value(json_object_get(b, "last_seen_ms")), T0 + 9000);
	assert_int_equal(json_integer_value(json_object_get(b, "age_ms")), 48000);
	assert_string_equal(json_string_value(json_object_get(b, "state")), "active");
	b = json_array_get(bl, 1);
	assert_int_equal(json_integer_value(json_object_get(b, "pid")), 5151);
	assert_int_equal(json_integer_value(json_object_get(b, "seen")), 1);
	assert_int_equal(json_integer_value(json_object_get(b, "at_ms")), T0 + 8000);
	assert_int_equal(
	    json_integer_value(json_object_get(b, "last_seen_ms")), T0 + 8000);
	bl = json_object_get(json_array_get(steps, 2), "blockers");
	assert_int_equal(json_array_size(bl), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_array_get(bl, 0), "pid")), 4242);
	json_decref(root);
	free_input(in);
	free(in);
}

/* A phase's pre- and post-checks wait for locks outside any step: the
 * agent sends their LOCK_WAIT reports without a step id. The record shows
 * them under the database (the lock timeouts of the pre- and post-check
 * runs added up, each blocking pid once); a database whose phase checks
 * never waited shows nothing of it. */
static void
test_report_phase_check_lock_waits_under_the_database(void **state)
{
	input *in = calloc(1, sizeof(*in));
	json_t *root, *dbs, *p, *bl, *b;
	sk_report *r;
	char *md;

	(void)state;
	assert_non_null(in);

	/* Without step-less lock waits: nothing new in md or json. */
	apply_input(in);
	md = capture_md(&in->src);
	assert_null(strstr(md, "Phase checks"));
	assert_null(strstr(md, "phase checks blocked"));
	free(md);
	root = capture_json(&in->src);
	for (size_t i = 0; i < 2; i++) {
		dbs = json_object_get(
		    json_array_get(json_object_get(root, "regions"), i), "databases");
		assert_int_equal(json_array_size(dbs), 1);
		p = json_object_get(json_array_get(dbs, 0), "phase_lock_waits");
		assert_non_null(p);
		assert_true(json_is_null(p));
	}
	json_decref(root);
	free_input(in);

	/* af/app: the pre-checks are blocked by pid 4242 (named while they
	 * wait, then after a 2s lock timeout), the post-checks by pid 5151
	 * (one 500ms lock timeout; their counts start again from 0). */
	apply_input(in);
	in->n--; /* re-add the plan's last report after the waits */
	r = lock_wait(in, "af", "", 1500, 4242, 5000, "idle in transaction");
	r->attempt = 1;
	r = lock_wait(in, "af", "", 1800, 4242, 7000, "idle in transaction");
	r->attempt = 1;
	r->lock_waits = 1;
	r->lock_wait_ms = 2000;
	r = lock_wait(in, "af", "", 10650, 5151, 1000, "active");
	r->attempt = 1;
	r->lock_waits = 1;
	r->lock_wait_ms = 500;
	r = add(in, "in", "", "", SK_EV_PLAN_FAILED, 12000);
	set_error(r, SK_ELOCK, "55P03",
	    "apply step 0002_backfill in in/app: lock timeout after 3 attempts");
	finish_src(in);

	md = capture_md(&in->src);
	assert_has_line(md,
	    "Phase checks waited for locks: 2 lock waits, 2.5s lock wait time.");
	assert_int_equal(count_substr(md, "Phase checks waited for locks"), 1);
	assert_int_equal(count_substr(md, "phase checks blocked by pid 4242"), 1);
	assert_has_line(md,
	    "- phase checks blocked by pid 4242 (idle in transaction, "
	    "transaction 7s old, user app, application psql): UPDATE accounts "
	    "SET x = 1 (seen 2 times, 2024-05-01T08:00:01.500Z to "
	    "2024-05-01T08:00:01.800Z)");
	assert_int_equal(count_substr(md, "phase checks blocked by pid 5151"), 1);
	assert_has_line(md,
	    "- phase checks blocked by pid 5151 (active, transaction 1s old, "
	    "user app, application psql): UPDATE accounts SET x = 1");
	/* Under af/app, not under in/app, and no step took them. */
	assert_true(strstr(md, "Phase checks waited") < strstr(md, "## Region in"));
	assert_int_equal(
	    count_substr(md, "step 0002_backfill blocked by pid 4242"), 1);
	assert_null(strstr(md, "step 0002_backfill blocked by pid 5151"));
	assert_has_line(md,
	    "| 0001_add_region | applied | 2024-05-01T08:00:02.000Z | "
	    "2024-05-01T08:00:02.250Z | 250ms | 1 | 0 | 0ms | 0 |");
	free(md);

	root = capture_json(&in->src);
	dbs = json_object_get(
	    json_array_get(json_object_get(root, "regions"), 0), "databases");
	p = json_object_get(json_array_get(dbs, 0), "phase_lock_waits");
	assert_true(json_is_object(p));
	assert_int_equal(json_integer_value(json_object_get(p, "lock_waits")), 2);
	assert_int_equal(json_integer_value(json_object_get(p, "lock_wait_ms")), 2500);
	bl = json_object_get(p, "blockers");
	assert_int_equal(json_array_size(bl), 2);
	b = json_array_get(bl, 0);
	assert_int_equal(json_integer_value(json_object_get(b, "pid")), 4242);
	assert_string_equal(json_string_value(json_object_get(b, "state")),
	    "idle in transaction");
	assert_int_equal(json_integer_value(json_object_get(b, "age_ms")), 7000);
	assert_string_equal(json_string_value(json_object_get(b, "query")),
	    "UPDATE accounts SET x = 1");
	assert_string_equal(json_string_value(json_object_get(b, "user")), "app");
	assert_string_equal(
	    json_string_value(json_object_get(b, "application")), "psql");
	assert_int_equal(json_integer_value(json_object_get(b, "at_ms")), T0 + 1500);
	assert_int_equal(
	    json_integer_value(json_object_get(b, "last_seen_ms")), T0 + 1800);
	assert_int_equal(json_integer_value(json_object_get(b, "seen")), 2);
	assert_int_equal(json_object_size(b), 9);
	b = json_array_get(bl, 1);
	assert_int_equal(json_integer_value(json_object_get(b, "pid")), 5151);
	assert_int_equal(json_integer_value(json_object_get(b, "seen")), 1);
	assert_int_equal(json_integer_value(json_object_get(b, "at_ms")), T0 + 10650);
	assert_int_equal(
	    json_integer_value(json_object_get(b, "last_seen_ms")), T0 + 10650);
	/* The steps' lock waits are unchanged. */
	b = json_array_get(json_object_get(json_array_get(dbs, 0), "steps"), 1);
	assert_int_equal(json_integer_value(json_object_get(b, "lock_waits")), 2);
	assert_int_equal(json_integer_value(json_object_get(b, "lock_wait_ms")), 6000);
	assert_int_equal(json_array_size(json_object_get(b, "blockers")), 1);
	/* in/app's phase checks never waited. */
	dbs = json_object_get(
	    json_array_get(json_object_get(root, "regions"), 1), "databases");
	assert_true(json_is_null(
	    json_object_get(json_array_get(dbs, 0), "phase_lock_waits")));
	json_decref(root);
	free_input(in);
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_md_has_every_step_check_backup_and_waiver),
		cmocka_unit_test(test_report_json_has_the_same_content_under_stable_keys),
		cmocka_unit_test(
		    test_rehearsal_prints_ready_blocked_reasons_and_silent_regions),
		cmocka_unit_test(test_report_md_of_rehearsal_and_rollback),
		cmocka_unit_test(
		    test_report_shows_backup_and_reapply_decisions_and_who_made_them),
		cmocka_unit_test(test_report_blockers_are_listed_once_per_pid),
		cmocka_unit_test(test_report_phase_check_lock_waits_under_the_database),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

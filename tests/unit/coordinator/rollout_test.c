/* rollout_test: the rollout phase state machine over a real journal.
 * Canary first, the next phase only after every region of the previous one
 * succeeded, a halt on the first failure or refusal, stray reports ignored,
 * and a restart that rebuilds the same rollout from the journal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "coord_journal.h"
#include "coord_rollout.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_wire.h"

#define NOW_MS 1714550400000

static const uint8_t signed_plan[] = { 'e', 'n', 'v', 0x00, 0x01, 0xfe };

/* ---- a plan built by hand ---------------------------------------------- */

static char *
dup_str(const char *s)
{
	char *d = sk_strdup(s);

	assert_non_null(d);
	return d;
}

/* phases is NULL-separated groups of region names, ending with two NULLs,
 * e.g. {"af", NULL, "in", "ksa", NULL, NULL}. Everything is malloc'ed: the
 * rollout takes the plan and frees it with sk_plan_destroy. */
static sk_plan *
make_plan(const char *const *phases)
{
	static const char *const phase_names[] = { "canary", "rest", "last" };
	sk_plan *plan = calloc(1, sizeof(*plan));
	size_t i = 0;

	assert_non_null(plan);
	plan->id = dup_str("plan-7f3a");
	plan->name = dup_str("add-region-column");
	plan->created_unix = NOW_MS / 1000;
	plan->expires_unix = NOW_MS / 1000 + 86400;
	plan->phases = calloc(3, sizeof(*plan->phases));
	plan->regions = calloc(8, sizeof(*plan->regions));
	assert_non_null(plan->phases);
	assert_non_null(plan->regions);
	while (phases[i] != NULL) {
		sk_phase *p = &plan->phases[plan->nphases];

		assert_true(plan->nphases < 3);
		p->name = dup_str(phase_names[plan->nphases]);
		p->regions = calloc(4, sizeof(*p->regions));
		assert_non_null(p->regions);
		for (; phases[i] != NULL; i++) {
			assert_true(p->nregions < 4 && plan->nregions < 8);
			p->regions[p->nregions++] = dup_str(phases[i]);
			plan->regions[plan->nregions++] = dup_str(phases[i]);
		}
		plan->nphases++;
		i++; /* past the group's NULL */
	}
	plan->steps = calloc(2, sizeof(*plan->steps));
	assert_non_null(plan->steps);
	plan->nsteps = 2;
	plan->steps[0].id = dup_str("0001_add_region");
	plan->steps[0].kind = SK_STEP_SQL;
	plan->steps[0].sql = dup_str("ALTER TABLE accounts ADD COLUMN region text;");
	plan->steps[0].sql_path = dup_str("0001_add_region.sql");
	plan->steps[1].id = dup_str("0002_backfill");
	plan->steps[1].kind = SK_STEP_SQL;
	plan->steps[1].sql = dup_str("UPDATE accounts SET region = 'af';");
	plan->steps[1].revert = dup_str("UPDATE accounts SET region = NULL;");
	plan->steps[1].sql_path = dup_str("0002_backfill.sql");
	plan->steps[1].revert_path = dup_str("0002_backfill.revert.sql");
	for (size_t s = 0; s < plan->nsteps; s++)
		sk_step_text_checksum(&plan->steps[s], plan->steps[s].checksum);
	return plan;
}

static const char *const two_phases[] = { "af", NULL, "in", "ksa", NULL, NULL };
static const char *const three_phases[] = { "af", NULL, "in", NULL, "ksa", NULL, NULL };

/* ---- fixture ------------------------------------------------------------ */

typedef struct fixture {
	char dir[64];
	coord_journal *j;
	coord_rollout *ro;
} fixture;

static int
setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sk-rollout-test-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];
	int rc;

	coord_rollout_destroy(f->ro);
	coord_journal_close(f->j);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* Journal "created", build the rollout and start phase 0, as the server
 * does. */
static coord_rollout *
start_rollout(fixture *f, const char *const *phases)
{
	sk_err err;

	assert_int_equal(coord_journal_open(f->dir, NULL, NULL, &f->j, &err), SK_OK);
	assert_int_equal(coord_journal_created(f->j, "ro-1", NOW_MS,
			     signed_plan, sizeof(signed_plan), &err),
	    SK_OK);
	f->ro = coord_rollout_create("ro-1", make_plan(phases), signed_plan,
	    sizeof(signed_plan), NOW_MS);
	assert_non_null(f->ro);
	assert_int_equal(coord_rollout_start(f->ro, f->j, NOW_MS, &err), SK_OK);
	return f->ro;
}

static const coord_region_run *
region(const coord_rollout *ro, const char *name)
{
	for (size_t i = 0; i < ro->nregions; i++)
		if (strcmp(ro->regions[i].view.name, name) == 0)
			return &ro->regions[i];
	fail_msg("no region %s in rollout", name);
	return NULL;
}

static off_t
journal_size(const fixture *f)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/journal", f->dir);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* Apply one report and return *changed. */
static bool
report_err(fixture *f, const char *reg, int event, int code,
    const char *sqlstate, const char *msg)
{
	sk_report r;
	bool changed = true;
	sk_err err;

	memset(&r, 0, sizeof(r));
	r.seq = 1;
	r.event = event;
	snprintf(r.rollout_id, sizeof(r.rollout_id), "ro-1");
	snprintf(r.plan_id, sizeof(r.plan_id), "plan-7f3a");
	snprintf(r.database, sizeof(r.database), "accounts");
	snprintf(r.step_id, sizeof(r.step_id), "0002_backfill");
	r.duration_ms = 1500;
	if (code != SK_OK) {
		r.error.code = code;
		snprintf(r.error.sqlstate, sizeof(r.error.sqlstate), "%s", sqlstate);
		snprintf(r.error.msg, sizeof(r.error.msg), "%s", msg);
	}
	assert_int_equal(
	    coord_rollout_report(f->ro, reg, &r, f->j, &changed, &err), SK_OK);
	return changed;
}

static bool
report(fixture *f, const char *reg, int event)
{
	return report_err(f, reg, event, SK_OK, "", "");
}

static void
dispatch(fixture *f, const char *reg)
{
	sk_err err;

	assert_int_equal(
	    coord_rollout_dispatched(f->ro, reg, f->j, NOW_MS + 1, &err), SK_OK);
}

/* Dispatch, accept and succeed one region; returns the final *changed. */
static bool
run_region_to_success(fixture *f, const char *reg)
{
	dispatch(f, reg);
	assert_false(report(f, reg, SK_EV_PLAN_ACCEPTED));
	assert_false(report(f, reg, SK_EV_STEP_FINISHED));
	assert_false(report(f, reg, SK_EV_STEP_SKIPPED));
	return report(f, reg, SK_EV_PLAN_SUCCEEDED);
}

#define LOCK_TIMEOUT_MSG \
"apply step 0002_backfill in af: lock timeout after 5 attempts (55P03)"

/* ---- tests -------------------------------------------------------------- */

static void
test_rollout_phase0_wants_only_canary_regions(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases);

	assert_int_equal(ro->state, COORD_RO_RUNNING);
	assert_int_equal(ro->phase, 0);
	assert_int_equal(ro->nregions, 3);
	assert_true(coord_rollout_wants(ro, "af"));
	assert_false(coord_rollout_wants(ro, "in"));
	assert_false(coord_rollout_wants(ro, "ksa"));
	assert_false(coord_rollout_wants(ro, "eu"));
	assert_int_equal(region(ro, "af")->phase, 0);
	assert_int_equal(region(ro, "in")->phase, 1);
	assert_int_equal(region(ro, "ksa")->phase, 1);
	for (size_t i = 0; i < ro->nregions; i++) {
		assert_int_equal(ro->regions[i].state, COORD_R_PENDING);
		assert_string_equal(ro->regions[i].view.state, "pending");
		assert_int_equal(ro->regions[i].view.steps_total, 2);
	}
	assert_int_equal(ro->signed_plan_len, sizeof(signed_plan));
	assert_memory_equal(ro->signed_plan, signed_plan, sizeof(signed_plan));
}

static void
test_rollout_dispatch_moves_pending_to_dispatched_once(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases);
	off_t size;

	size = journal_size(f);
	dispatch(f, "af");
	assert_int_equal(region(ro, "af")->state, COORD_R_DISPATCHED);
	assert_string_equal(region(ro, "af")->view.state, "dispatched");
	assert_true(journal_size(f) > size);
	/* Dispatched is not finished: still wanted until it reports. */
	assert_true(coord_rollout_wants(ro, "af"));

	/* Again, or for a region not in the plan: nothing changes or is
	 * journaled. */
	size = journal_size(f);
	dispatch(f, "af");
	dispatch(f, "eu");
	assert_int_equal(region(ro, "af")->state, COORD_R_DISPATCHED);
	assert_int_equal(journal_size(f), size);

	assert_false(report(f, "af", SK_EV_PLAN_ACCEPTED));
	dispatch(f, "af");
	assert_int_equal(region(ro, "af")->state, COORD_R_RUNNING);
}

static void
test_rollout_canary_success_starts_next_phase(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases);

	dispatch(f, "af");
	assert_false(report(f, "af", SK_EV_PLAN_ACCEPTED));
	assert_int_equal(region(ro, "af")->state, COORD_R_RUNNING);
	assert_string_equal(region(ro, "af")->view.state, "running");
	assert_false(report(f, "af", SK_EV_STEP_FINISHED));
	assert_false(report(f, "af", SK_EV_STEP_FINISHED));
	assert_int_equal(region(ro, "af")->view.steps_done, 2);
	assert_int_equal(ro->phase, 0);

	assert_true(report(f, "af", SK_EV_PLAN_SUCCEEDED));
	assert_int_equal(region(ro, "af")->state, COORD_R_SUCCEEDED);
	assert_int_equal(ro->phase, 1);
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	assert_false(coord_rollout_wants(ro, "af"));
	assert_true(coord_rollout_wants(ro, "in"));
	assert_true(coord_rollout_wants(ro, "ksa"));
}

static void
test_rollout_succeeds_only_when_every_region_of_last_phase_succeeds(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases);

	assert_true(run_region_to_success(f, "af"));
	dispatch(f, "ksa");
	assert_false(report(f, "ksa", SK_EV_PLAN_ACCEPTED));
	assert_false(run_region_to_success(f, "in"));
	/* in is done, ksa still running: the rollout is not. */
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	assert_int_equal(ro->finished_ms, 0);
	assert_true(coord_rollout_wants(ro, "ksa"));
	assert_false(coord_rollout_wants(ro, "in"));

	assert_false(report(f, "ksa", SK_EV_PLAN_SUCCEEDED));
	assert_int_equal(ro->state, COORD_RO_SUCCEEDED);
	assert_int_equal(ro->phase, 1);
	assert_true(ro->finished_ms > 0);
	assert_string_equal(ro->reason, "");
	for (size_t i = 0; i < ro->nregions; i++) {
		assert_int_equal(ro->regions[i].state, COORD_R_SUCCEEDED);
		assert_false(coord_rollout_wants(ro, ro->regions[i].view.name));
	}
}

static void
test_rollout_walks_three_phases_in_order(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, three_phases);

	assert_false(coord_rollout_wants(ro, "ksa"));
	assert_true(run_region_to_success(f, "af"));
	assert_int_equal(ro->phase, 1);
	assert_true(coord_rollout_wants(ro, "in"));
	assert_false(coord_rollout_wants(ro, "ksa"));
	assert_true(run_region_to_success(f, "in"));
	assert_int_equal(ro->phase, 2);
	assert_true(coord_rollout_wants(ro, "ksa"));
	assert_false(run_region_to_success(f, "ksa"));
	assert_int_equal(ro->state, COORD_RO_SUCCEEDED);
}

static void
test_rollout_halts_on_canary_failure(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases);
	const coord_region_run *af;

	dispatch(f, "af");
	assert_false(report(f, "af", SK_EV_PLAN_ACCEPTED));
	assert_false(report_err(
	    f, "af", SK_EV_PLAN_FAILED, SK_ESQL, "55P03", LOCK_TIMEOUT_MSG));
	af = region(ro, "af");
	assert_int_equal(af->state, COORD_R_FAILED);
	assert_string_equal(af->view.state, "failed");
	assert_int_equal(af->view.error.code, SK_ESQL);
	assert_string_equal(af->view.error.sqlstate, "55P03");
	assert_string_equal(af->view.error.msg, LOCK_TIMEOUT_MSG);
	assert_int_equal(ro->state, COORD_RO_FAILED);
	assert_int_equal(ro->phase, 0);
	assert_true(ro->finished_ms > 0);
	assert_non_null(strstr(ro->reason, LOCK_TIMEOUT_MSG));

	/* Later phases are never wanted, and their reports change nothing. */
	assert_false(coord_rollout_wants(ro, "af"));
	assert_false(coord_rollout_wants(ro, "in"));
	assert_false(coord_rollout_wants(ro, "ksa"));
	assert_false(report(f, "in", SK_EV_PLAN_ACCEPTED));
	assert_false(report(f, "in", SK_EV_PLAN_SUCCEEDED));
	assert_int_equal(region(ro, "in")->state, COORD_R_PENDING);
	assert_int_equal(region(ro, "ksa")->state, COORD_R_PENDING);
	assert_int_equal(ro->phase, 0);
	assert_int_equal(ro->state, COORD_RO_FAILED);
}

static void
test_rollout_refusal_counts_as_failure(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases);

	dispatch(f, "af");
	assert_false(report_err(f, "af", SK_EV_PLAN_REFUSED, SK_ECRYPTO, "",
	    "verify plan: signer 3f2a9c1d is not pinned"));
	assert_int_equal(region(ro, "af")->state, COORD_R_REFUSED);
	assert_string_equal(region(ro, "af")->view.state, "refused");
	assert_int_equal(region(ro, "af")->view.error.code, SK_ECRYPTO);
	assert_int_equal(ro->state, COORD_RO_FAILED);
	assert_non_null(strstr(ro->reason, "signer 3f2a9c1d is not pinned"));
	assert_false(coord_rollout_wants(ro, "in"));
	assert_false(coord_rollout_wants(ro, "ksa"));
}

/* A failure in a wide phase halts the rollout; the phase's other region,
 * already running, still finishes and is recorded, and the halt stands. */
static void
test_rollout_failure_in_later_phase_lets_running_peer_finish(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases);
	char reason[sizeof(ro->reason)];

	assert_true(run_region_to_success(f, "af"));
	dispatch(f, "in");
	dispatch(f, "ksa");
	assert_false(report(f, "in", SK_EV_PLAN_ACCEPTED));
	assert_false(report(f, "ksa", SK_EV_PLAN_ACCEPTED));
	assert_false(report_err(f, "in", SK_EV_PLAN_FAILED, SK_ESQL, "23505",
	    "apply step 0002_backfill in in: duplicate key"));
	assert_int_equal(ro->state, COORD_RO_FAILED);
	assert_int_equal(ro->phase, 1);
	snprintf(reason, sizeof(reason), "%s", ro->reason);
	assert_non_null(strstr(reason, "duplicate key"));
	assert_false(coord_rollout_wants(ro, "ksa"));

	assert_false(report(f, "ksa", SK_EV_PLAN_SUCCEEDED));
	assert_int_equal(region(ro, "ksa")->state, COORD_R_SUCCEEDED);
	assert_int_equal(ro->state, COORD_RO_FAILED);
	assert_string_equal(ro->reason, reason);
	assert_string_equal(region(ro, "in")->view.error.sqlstate, "23505");
}

static void
test_rollout_ignores_reports_for_unknown_and_finished_regions(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases);
	size_t nevents;
	off_t size;

	assert_true(run_region_to_success(f, "af"));
	size = journal_size(f);
	nevents = ro->nevents;

	assert_false(report_err(f, "eu", SK_EV_PLAN_FAILED, SK_ESQL, "XX000", "boom"));
	assert_false(report_err(f, "af", SK_EV_PLAN_FAILED, SK_ESQL, "XX000",
	    "late failure from a finished region"));
	assert_false(report(f, "af", SK_EV_PLAN_ACCEPTED));

	assert_int_equal(region(ro, "af")->state, COORD_R_SUCCEEDED);
	assert_int_equal(region(ro, "af")->view.error.code, SK_OK);
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	assert_int_equal(ro->phase, 1);
	assert_int_equal(ro->nevents, nevents);
	assert_int_equal(journal_size(f), size);
}

/* ---- replay ------------------------------------------------------------- */

typedef struct rebuild {
	coord_rollout *ro;
	const char *const *phases;
	size_t created, other;
} rebuild;

static void
rb_created(void *arg, const char *id, int64_t at_ms, const uint8_t *plan, size_t len)
{
	rebuild *b = arg;

	assert_null(b->ro);
	b->ro = coord_rollout_create(id, make_plan(b->phases), plan, len, at_ms);
	assert_non_null(b->ro);
	b->created++;
}

static void
rb_region(void *arg, const char *id, const sk_region_view *v)
{
	rebuild *b = arg;

	assert_non_null(b->ro);
	assert_string_equal(id, b->ro->id);
	coord_rollout_replay_region(b->ro, v);
	b->other++;
}

static void
rb_phase(void *arg, const char *id, uint32_t phase, int64_t at_ms)
{
	rebuild *b = arg;

	assert_non_null(b->ro);
	assert_string_equal(id, b->ro->id);
	coord_rollout_replay_phase(b->ro, phase, at_ms);
	b->other++;
}

static void
rb_finished(void *arg, const char *id, const char *st, const char *reason, int64_t at_ms)
{
	rebuild *b = arg;

	assert_non_null(b->ro);
	assert_string_equal(id, b->ro->id);
	coord_rollout_replay_finished(b->ro, st, reason, at_ms);
	b->other++;
}

static const coord_journal_visitor rebuilder = {
	.created = rb_created,
	.region = rb_region,
	.phase = rb_phase,
	.finished = rb_finished,
};

/* Close the live journal, reopen it with a visitor that rebuilds the
 * rollout, and compare. If crash_at >= 0, first cut the file just after
 * the record that starts at that offset, as a kill -9 between two appends
 * would leave it. */
static coord_rollout *
rebuild_after(fixture *f, const char *const *phases, off_t crash_at)
{
	coord_journal *j = NULL;
	rebuild b = { .phases = phases };
	sk_err err;

	coord_journal_close(f->j);
	f->j = NULL;
	if (crash_at >= 0) {
		char path[128];
		uint8_t hdr[4];
		FILE *fp;
		off_t end;

		snprintf(path, sizeof(path), "%s/journal", f->dir);
		fp = fopen(path, "rb");
		assert_non_null(fp);
		assert_int_equal(fseeko(fp, crash_at, SEEK_SET), 0);
		assert_int_equal(fread(hdr, 1, sizeof(hdr), fp), sizeof(hdr));
		fclose(fp);
		end = crash_at + 24 +
		    (off_t)(hdr[0] | hdr[1] << 8 | hdr[2] << 16 |
			(uint32_t)hdr[3] << 24);
		assert_true(end < journal_size(f));
		assert_int_equal(truncate(path, end), 0);
	}
	assert_int_equal(coord_journal_open(f->dir, &rebuilder, &b, &j, &err), SK_OK);
	f->j = j;
	assert_int_equal(b.created, 1);
	assert_true(b.other > 0);
	return b.ro;
}

static coord_rollout *
rebuild_from_journal(fixture *f, const char *const *phases)
{
	return rebuild_after(f, phases, -1);
}

static void
assert_same_rollout(const coord_rollout *a, const coord_rollout *b)
{
	assert_string_equal(a->id, b->id);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->phase, b->phase);
	assert_string_equal(a->reason, b->reason);
	assert_int_equal(a->created_ms, b->created_ms);
	assert_int_equal(a->signed_plan_len, b->signed_plan_len);
	assert_memory_equal(a->signed_plan, b->signed_plan, a->signed_plan_len);
	assert_int_equal(a->nregions, b->nregions);
	for (size_t i = 0; i < a->nregions; i++) {
		const coord_region_run *x = &a->regions[i], *y = &b->regions[i];

		assert_string_equal(x->view.name, y->view.name);
		assert_int_equal(x->state, y->state);
		assert_string_equal(x->view.state, y->view.state);
		assert_int_equal(x->phase, y->phase);
		assert_int_equal(x->view.error.code, y->view.error.code);
		assert_string_equal(x->view.error.sqlstate, y->view.error.sqlstate);
		assert_string_equal(x->view.error.msg, y->view.error.msg);
	}
}

static void
test_rollout_replay_rebuilds_running_rollout_in_second_phase(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases), *again;

	assert_true(run_region_to_success(f, "af"));
	dispatch(f, "in");
	assert_false(report(f, "in", SK_EV_PLAN_ACCEPTED));
	dispatch(f, "ksa");
	again = rebuild_from_journal(f, two_phases);
	assert_same_rollout(ro, again);
	assert_int_equal(again->phase, 1);
	assert_int_equal(again->state, COORD_RO_RUNNING);
	assert_int_equal(region(again, "af")->state, COORD_R_SUCCEEDED);
	assert_int_equal(region(again, "in")->state, COORD_R_RUNNING);
	assert_int_equal(region(again, "ksa")->state, COORD_R_DISPATCHED);
	assert_true(coord_rollout_wants(again, "in"));
	assert_false(coord_rollout_wants(again, "af"));
	coord_rollout_destroy(again);
}

static void
test_rollout_replay_rebuilds_halted_rollout(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases), *again;

	dispatch(f, "af");
	assert_false(report(f, "af", SK_EV_PLAN_ACCEPTED));
	assert_false(report_err(
	    f, "af", SK_EV_PLAN_FAILED, SK_ESQL, "55P03", LOCK_TIMEOUT_MSG));
	again = rebuild_from_journal(f, two_phases);
	assert_same_rollout(ro, again);
	assert_int_equal(again->state, COORD_RO_FAILED);
	assert_int_equal(again->finished_ms, ro->finished_ms);
	assert_non_null(strstr(again->reason, LOCK_TIMEOUT_MSG));
	assert_string_equal(region(again, "af")->view.error.sqlstate, "55P03");
	assert_false(coord_rollout_wants(again, "in"));
	coord_rollout_destroy(again);
}

static void
test_rollout_replay_rebuilds_succeeded_rollout(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, three_phases), *again;

	assert_true(run_region_to_success(f, "af"));
	assert_true(run_region_to_success(f, "in"));
	assert_false(run_region_to_success(f, "ksa"));
	assert_int_equal(ro->state, COORD_RO_SUCCEEDED);
	again = rebuild_from_journal(f, three_phases);
	assert_same_rollout(ro, again);
	assert_int_equal(again->phase, 2);
	assert_int_equal(again->state, COORD_RO_SUCCEEDED);
	coord_rollout_destroy(again);
}

/* A running rollout rebuilt from the journal must still be able to move:
 * some region is wanted, or a report can still finish it. */
/* What the server does once per rollout after replay. */
static void
settle(fixture *f, coord_rollout *ro)
{
	bool changed;
	sk_err err;

	assert_int_equal(coord_rollout_settle(ro, f->j, &changed, &err), SK_OK);
}

static bool
can_progress(const coord_rollout *ro)
{
	for (size_t i = 0; i < ro->nregions; i++)
		if (coord_rollout_wants(ro, ro->regions[i].view.name))
			return true;
	return false;
}

/* The canary's "succeeded" reached the journal, the coordinator died
 * before "phase 1 started" did. */
static void
test_rollout_replay_after_crash_before_phase_record_still_advances(void **state)
{
	fixture *f = *state;
	coord_rollout *again;
	off_t before;

	start_rollout(f, two_phases);
	dispatch(f, "af");
	assert_false(report(f, "af", SK_EV_PLAN_ACCEPTED));
	before = journal_size(f);
	assert_true(report(f, "af", SK_EV_PLAN_SUCCEEDED));
	again = rebuild_after(f, two_phases, before);
	settle(f, again);
	assert_int_equal(region(again, "af")->state, COORD_R_SUCCEEDED);
	assert_int_equal(again->state, COORD_RO_RUNNING);
	if (again->phase == 0 && !can_progress(again)) {
		coord_rollout_destroy(again);
		fail_msg("rebuilt rollout is stuck in phase 0 with every region "
			 "succeeded: nothing is wanted and no report can advance it");
	}
	coord_rollout_destroy(again);
}

/* The canary's "failed" reached the journal, the rollout's "finished"
 * did not. */
static void
test_rollout_replay_after_crash_before_finished_record_still_halts(void **state)
{
	fixture *f = *state;
	coord_rollout *again;
	off_t before;

	start_rollout(f, two_phases);
	dispatch(f, "af");
	assert_false(report(f, "af", SK_EV_PLAN_ACCEPTED));
	before = journal_size(f);
	assert_false(report_err(
	    f, "af", SK_EV_PLAN_FAILED, SK_ESQL, "55P03", LOCK_TIMEOUT_MSG));
	again = rebuild_after(f, two_phases, before);
	settle(f, again);
	assert_int_equal(region(again, "af")->state, COORD_R_FAILED);
	if (again->state == COORD_RO_RUNNING && !can_progress(again)) {
		coord_rollout_destroy(again);
		fail_msg("rebuilt rollout stays \"running\" forever although its "
			 "canary failed: nothing is wanted and no report can halt it");
	}
	coord_rollout_destroy(again);
}

/* ---- view --------------------------------------------------------------- */

static void
test_rollout_view_has_phases_regions_and_events_after_since(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases);
	sk_rollout_view v;
	uint64_t since;
	size_t total;
	sk_err err;

	assert_true(run_region_to_success(f, "af"));
	dispatch(f, "in");
	assert_false(report(f, "in", SK_EV_PLAN_ACCEPTED));

	assert_int_equal(coord_rollout_view(ro, 0, &v, &err), SK_OK);
	assert_string_equal(v.id, "ro-1");
	assert_string_equal(v.plan_id, "plan-7f3a");
	assert_string_equal(v.plan_name, "add-region-column");
	assert_string_equal(v.state, "running");
	assert_int_equal(v.current_phase, 1);
	assert_int_equal(v.created_ms, NOW_MS);
	assert_int_equal(v.nphases, 2);
	assert_string_equal(v.phases[0].name, "canary");
	assert_string_equal(v.phases[0].state, "succeeded");
	assert_int_equal(v.phases[0].nregions, 1);
	assert_string_equal(v.phases[0].regions[0].name, "af");
	assert_string_equal(v.phases[0].regions[0].state, "succeeded");
	assert_string_equal(v.phases[1].name, "rest");
	assert_string_equal(v.phases[1].state, "running");
	assert_int_equal(v.phases[1].nregions, 2);
	assert_string_equal(v.phases[1].regions[0].name, "in");
	assert_string_equal(v.phases[1].regions[0].state, "running");
	assert_string_equal(v.phases[1].regions[1].name, "ksa");
	assert_string_equal(v.phases[1].regions[1].state, "pending");
	total = v.nevents;
	assert_int_equal(total, ro->nevents);
	assert_true(total >= 5);
	for (size_t i = 1; i < total; i++)
		assert_true(v.events[i].seq > v.events[i - 1].seq);
	assert_non_null(strstr(v.events[0].text, "canary"));
	since = v.events[2].seq;
	sk_rollout_view_fini(&v);

	assert_int_equal(coord_rollout_view(ro, since, &v, &err), SK_OK);
	assert_int_equal(v.nevents, total - 3);
	for (size_t i = 0; i < v.nevents; i++)
		assert_true(v.events[i].seq > since);
	assert_int_equal(v.events[0].seq, ro->events[3].seq);
	assert_string_equal(
	    v.events[v.nevents - 1].text, ro->events[ro->nevents - 1].text);
	since = v.events[v.nevents - 1].seq;
	sk_rollout_view_fini(&v);

	assert_int_equal(coord_rollout_view(ro, since, &v, &err), SK_OK);
	assert_int_equal(v.nevents, 0);
	assert_null(v.events);
	assert_int_equal(v.nphases, 2);
	sk_rollout_view_fini(&v);
}

static void
test_rollout_view_of_halted_rollout_marks_later_phases_not_started(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, three_phases);
	sk_rollout_view v;
	sk_err err;

	assert_true(run_region_to_success(f, "af"));
	dispatch(f, "in");
	assert_false(report_err(
	    f, "in", SK_EV_PLAN_FAILED, SK_ESQL, "55P03", LOCK_TIMEOUT_MSG));
	assert_int_equal(coord_rollout_view(ro, 0, &v, &err), SK_OK);
	assert_string_equal(v.state, "failed");
	assert_int_equal(v.nphases, 3);
	assert_string_equal(v.phases[0].state, "succeeded");
	assert_string_equal(v.phases[1].state, "failed");
	assert_string_equal(v.phases[2].state, "not-started");
	assert_string_equal(v.phases[2].regions[0].state, "pending");
	assert_string_equal(v.phases[1].regions[0].error.sqlstate, "55P03");
	assert_non_null(strstr(v.reason, LOCK_TIMEOUT_MSG));
	assert_true(v.finished_ms > 0);
	sk_rollout_view_fini(&v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_rollout_phase0_wants_only_canary_regions),
		T(test_rollout_dispatch_moves_pending_to_dispatched_once),
		T(test_rollout_canary_success_starts_next_phase),
		T(test_rollout_succeeds_only_when_every_region_of_last_phase_succeeds),
		T(test_rollout_walks_three_phases_in_order),
		T(test_rollout_halts_on_canary_failure),
		T(test_rollout_refusal_counts_as_failure),
		T(test_rollout_failure_in_later_phase_lets_running_peer_finish),
		T(test_rollout_ignores_reports_for_unknown_and_finished_regions),
		T(test_rollout_replay_rebuilds_running_rollout_in_second_phase),
		T(test_rollout_replay_rebuilds_halted_rollout),
		T(test_rollout_replay_rebuilds_succeeded_rollout),
		T(test_rollout_replay_after_crash_before_phase_record_still_advances),
		T(test_rollout_replay_after_crash_before_finished_record_still_halts),
		T(test_rollout_view_has_phases_regions_and_events_after_since),
		T(test_rollout_view_of_halted_rollout_marks_later_phases_not_started),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

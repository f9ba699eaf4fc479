/* rollout_test: the rollout phase state machine over a real journal.
 * Canary first, the next phase only after every region of the previous one
 * succeeded, a halt on the first failure or refusal, stray reports ignored,
 * and a restart that rebuilds the same rollout from the journal. The
 * other modes: a rehearsal asks every region at once and never halts
 * early; a rollback runs phases in reverse, only where the original
 * reached, and refuses regions it cannot undo. Kept reports survive a
 * restart, resends are not kept twice, and memory is bounded. */
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
#include "coord_narrate.h"
#include "coord_rollout.h"
#include "coord_testfix.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_wire.h"

#define NOW_MS 1714550400000

static const uint8_t signed_plan[] = { 'e', 'n', 'v', 0x00, 0x01, 0xfe };

/* ---- a plan built by hand ---------------------------------------------- */

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
	plan->id = coord_testfix_strdup("plan-7f3a");
	plan->name = coord_testfix_strdup("add-region-column");
	plan->created_unix = NOW_MS / 1000;
	plan->expires_unix = NOW_MS / 1000 + 86400;
	plan->phases = calloc(3, sizeof(*plan->phases));
	plan->regions = calloc(8, sizeof(*plan->regions));
	assert_non_null(plan->phases);
	assert_non_null(plan->regions);
	while (phases[i] != NULL) {
		sk_phase *p = &plan->phases[plan->nphases];

		assert_true(plan->nphases < 3);
		p->name = coord_testfix_strdup(phase_names[plan->nphases]);
		p->regions = calloc(4, sizeof(*p->regions));
		assert_non_null(p->regions);
		for (; phases[i] != NULL; i++) {
			assert_true(p->nregions < 4 && plan->nregions < 8);
			p->regions[p->nregions++] = coord_testfix_strdup(phases[i]);
			plan->regions[plan->nregions++] =
			    coord_testfix_strdup(phases[i]);
		}
		plan->nphases++;
		i++; /* past the group's NULL */
	}
	plan->steps = calloc(2, sizeof(*plan->steps));
	assert_non_null(plan->steps);
	plan->nsteps = 2;
	plan->steps[0].id = coord_testfix_strdup("0001_add_region");
	plan->steps[0].kind = SK_STEP_SQL;
	plan->steps[0].sql =
	    coord_testfix_strdup("ALTER TABLE accounts ADD COLUMN region text;");
	plan->steps[0].sql_path = coord_testfix_strdup("0001_add_region.sql");
	plan->steps[1].id = coord_testfix_strdup("0002_backfill");
	plan->steps[1].kind = SK_STEP_SQL;
	plan->steps[1].sql =
	    coord_testfix_strdup("UPDATE accounts SET region = 'af';");
	plan->steps[1].revert =
	    coord_testfix_strdup("UPDATE accounts SET region = NULL;");
	plan->steps[1].sql_path = coord_testfix_strdup("0002_backfill.sql");
	plan->steps[1].revert_path = coord_testfix_strdup("0002_backfill.revert.sql");
	for (size_t s = 0; s < plan->nsteps; s++)
		assert_int_equal(sk_step_checksum(&plan->steps[s],
				     plan->steps[s].checksum, NULL),
		    SK_OK);
	return plan;
}

static const char *const two_phases[] = { "af", NULL, "in", "ksa", NULL, NULL };
static const char *const three_phases[] = { "af", NULL, "in", NULL, "ksa", NULL, NULL };

/* ---- fixture ------------------------------------------------------------ */

typedef coord_testfix_dir fixture;

static int
setup(void **state)
{
	return coord_testfix_dir_setup(state, "rollout");
}

/* Journal "created", build the rollout and start phase 0, as the server
 * does. origin NULL: apply. */
static coord_rollout *
start_mode(fixture *f, const char *const *phases, const coord_origin *origin)
{
	sk_err err;

	assert_int_equal(coord_journal_open(f->dir, NULL, NULL, &f->j, &err), SK_OK);
	assert_int_equal(coord_journal_created(f->j, "ro-1", NOW_MS,
			     signed_plan, sizeof(signed_plan), origin, &err),
	    SK_OK);
	assert_int_equal(coord_rollout_create("ro-1", make_plan(phases), signed_plan,
			     sizeof(signed_plan), origin, NOW_MS, &f->ro, &err),
	    SK_OK);
	assert_non_null(f->ro);
	assert_int_equal(coord_rollout_start(f->ro, f->j, NOW_MS, &err), SK_OK);
	return f->ro;
}

static coord_rollout *
start_rollout(fixture *f, const char *const *phases)
{
	return start_mode(f, phases, NULL);
}

static const coord_region_run *
region(const coord_rollout *ro, const char *name)
{
	for (size_t i = 0; i < ro->nregions; i++)
		if (strcmp(ro->regions[i].name, name) == 0)
			return &ro->regions[i];
	fail_msg("no region %s in rollout", name);
	return NULL;
}

/* The region as `skein rollout status` shows it: its state's name in the
 * rollout's mode, its error, figures and detail, rendered from its state.
 * Valid until the next call. */
static const sk_region_view *
shown(const coord_rollout *ro, const char *name)
{
	static sk_region_view v;

	coord_narrate_region(ro, region(ro, name), &v);
	return &v;
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
		assert_string_equal(shown(ro, ro->regions[i].name)->state, "pending");
		assert_int_equal(shown(ro, ro->regions[i].name)->steps_total, 2);
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
	assert_string_equal(shown(ro, "af")->state, "dispatched");
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
	assert_string_equal(shown(ro, "af")->state, "running");
	assert_false(report(f, "af", SK_EV_STEP_FINISHED));
	assert_false(report(f, "af", SK_EV_STEP_FINISHED));
	assert_int_equal(shown(ro, "af")->steps_done, 2);
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
		assert_false(coord_rollout_wants(ro, ro->regions[i].name));
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
	assert_string_equal(shown(ro, "af")->state, "failed");
	assert_int_equal(af->error.code, SK_ESQL);
	assert_string_equal(af->error.sqlstate, "55P03");
	assert_string_equal(af->error.msg, LOCK_TIMEOUT_MSG);
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
	assert_string_equal(shown(ro, "af")->state, "refused");
	assert_int_equal(region(ro, "af")->error.code, SK_ECRYPTO);
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
	assert_string_equal(region(ro, "in")->error.sqlstate, "23505");
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
	assert_int_equal(region(ro, "af")->error.code, SK_OK);
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	assert_int_equal(ro->phase, 1);
	assert_int_equal(ro->nevents, nevents);
	assert_int_equal(journal_size(f), size);
}

/* A rollout that cannot be made leaves the plan with the caller, intact,
 * and says why: the caller destroys it once (ASan catches a double free
 * or a use after free), and nothing is half-made. */
static void
test_rollout_create_failure_leaves_the_plan_with_the_caller(void **state)
{
	static const char *const eu[] = { "eu" };
	const coord_origin unknown_mode = { .mode = 7, .of_rollout = "" };
	const coord_origin rollback_nowhere = { .mode = SK_MODE_ROLLBACK,
		.of_rollout = "ro-1",
		.only_regions = eu,
		.nonly_regions = 1 };
	char long_id[SK_ID_MAX + 8];
	sk_plan *plan = make_plan(two_phases);
	coord_rollout *ro = (coord_rollout *)&ro;
	sk_err err;

	(void)state;
	memset(long_id, 'r', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	sk_err_clear(&err);
	assert_int_equal(coord_rollout_create(long_id, plan, signed_plan,
			     sizeof(signed_plan), NULL, NOW_MS, &ro, &err),
	    SK_EINVAL);
	assert_null(ro);
	assert_int_equal(err.code, SK_EINVAL);
	assert_non_null(strstr(err.msg, "the id is 71 bytes, the most is 63"));

	ro = (coord_rollout *)&ro;
	assert_int_equal(coord_rollout_create("ro-1", plan, signed_plan,
			     sizeof(signed_plan), &unknown_mode, NOW_MS, &ro, &err),
	    SK_EINVAL);
	assert_null(ro);
	assert_non_null(
	    strstr(err.msg, "create rollout ro-1 of plan add-region-column"));
	assert_non_null(strstr(err.msg, "mode 7 is not one this coordinator knows"));

	assert_int_equal(coord_rollout_create("rb-1", plan, signed_plan,
			     sizeof(signed_plan), &rollback_nowhere, NOW_MS, &ro, &err),
	    SK_EINVAL);
	assert_null(ro);
	assert_non_null(strstr(err.msg, "create rollback rb-1"));
	assert_non_null(strstr(err.msg, "none of the plan's regions"));

	/* Still the caller's and whole: it can still make a rollout. */
	assert_string_equal(plan->name, "add-region-column");
	assert_int_equal(plan->nregions, 3);
	assert_int_equal(coord_rollout_create("ro-1", plan, signed_plan,
			     sizeof(signed_plan), NULL, NOW_MS, &ro, &err),
	    SK_OK);
	assert_non_null(ro);
	assert_ptr_equal(ro->plan, plan);
	coord_rollout_destroy(ro); /* frees the plan: it owned it */

	plan = make_plan(two_phases);
	assert_int_equal(coord_rollout_create(long_id, plan, signed_plan,
			     sizeof(signed_plan), NULL, NOW_MS, &ro, &err),
	    SK_EINVAL);
	sk_plan_destroy(plan);
}

/* ---- replay ------------------------------------------------------------- */

typedef struct rebuild {
	coord_rollout *ro;
	const char *const *phases;
	size_t created, other;
} rebuild;

static void
rb_created(void *arg, const char *id, int64_t at_ms, const uint8_t *plan,
    size_t len, const coord_origin *origin)
{
	rebuild *b = arg;
	sk_err err;

	assert_null(b->ro);
	assert_int_equal(coord_rollout_create(id, make_plan(b->phases), plan,
			     len, origin, at_ms, &b->ro, &err),
	    SK_OK);
	assert_non_null(b->ro);
	b->created++;
}

static void
rb_report(void *arg, const char *id, const sk_region_report *r)
{
	rebuild *b = arg;

	assert_non_null(b->ro);
	assert_string_equal(id, b->ro->id);
	coord_rollout_keep_report(b->ro, r->region, &r->report);
	coord_rollout_replay_report(b->ro, r->region, &r->report);
}

static void
rb_region(void *arg, const char *id, const coord_region_record *rec)
{
	rebuild *b = arg;

	assert_non_null(b->ro);
	assert_string_equal(id, b->ro->id);
	coord_rollout_replay_region(b->ro, rec);
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
	.report = rb_report,
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
		sk_region_view xv, yv;

		coord_narrate_region(a, x, &xv);
		coord_narrate_region(b, y, &yv);
		assert_string_equal(x->name, y->name);
		assert_int_equal(x->state, y->state);
		assert_string_equal(xv.state, yv.state);
		assert_int_equal(x->phase, y->phase);
		assert_int_equal(x->error.code, y->error.code);
		assert_string_equal(x->error.sqlstate, y->error.sqlstate);
		assert_string_equal(x->error.msg, y->error.msg);
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
	assert_string_equal(region(again, "af")->error.sqlstate, "55P03");
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
		if (coord_rollout_wants(ro, ro->regions[i].name))
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

/* ---- rehearsal ---------------------------------------------------------- */

static const coord_origin rehearse_origin = { .mode = SK_MODE_REHEARSE,
	.of_rollout = "" };

static void
test_rehearsal_asks_every_region_at_once(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_mode(f, three_phases, &rehearse_origin);

	assert_int_equal(ro->mode, SK_MODE_REHEARSE);
	assert_int_equal(ro->nphases, 3);
	assert_true(coord_rollout_wants(ro, "af"));
	assert_true(coord_rollout_wants(ro, "in"));
	assert_true(coord_rollout_wants(ro, "ksa"));
	assert_false(coord_rollout_wants(ro, "eu"));
	assert_non_null(strstr(ro->events[0].text, "every region at once"));

	/* The last phase's region reports before the canary: not ignored. */
	dispatch(f, "ksa");
	assert_false(report(f, "ksa", SK_EV_PLAN_ACCEPTED));
	assert_int_equal(region(ro, "ksa")->state, COORD_R_RUNNING);
	assert_false(report(f, "ksa", SK_EV_STEP_REHEARSED));
	assert_int_equal(shown(ro, "ksa")->steps_done, 1);
	assert_false(report(f, "ksa", SK_EV_PLAN_SUCCEEDED));
	assert_int_equal(region(ro, "ksa")->state, COORD_R_SUCCEEDED);
	assert_string_equal(shown(ro, "ksa")->state, "ready");
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	/* Finished regions are not asked again; the others still are. */
	assert_false(coord_rollout_wants(ro, "ksa"));
	assert_true(coord_rollout_wants(ro, "af"));
}

static void
test_rehearsal_never_halts_early_and_ends_blocked(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_mode(f, two_phases, &rehearse_origin);
	sk_rollout_view v;
	sk_err err;

	/* The canary is BLOCKED: a rehearsal goes on everywhere. */
	dispatch(f, "af");
	assert_false(report_err(f, "af", SK_EV_PLAN_FAILED, SK_ECHECK, "",
	    "rehearse in af/accounts: pre check no_orphans: saw 3, expected = 0"));
	assert_int_equal(region(ro, "af")->state, COORD_R_FAILED);
	assert_string_equal(shown(ro, "af")->state, "blocked");
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	assert_true(coord_rollout_wants(ro, "in"));
	assert_true(coord_rollout_wants(ro, "ksa"));
	assert_false(run_region_to_success(f, "in"));
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	assert_false(run_region_to_success(f, "ksa"));

	assert_int_equal(ro->state, COORD_RO_BLOCKED);
	assert_true(ro->finished_ms > 0);
	assert_non_null(strstr(ro->reason, "blocked in 1/3 regions (af)"));
	assert_non_null(strstr(ro->reason, "no_orphans"));
	assert_int_equal(coord_rollout_view(ro, 0, &v, &err), SK_OK);
	assert_string_equal(v.state, "blocked");
	assert_int_equal(v.mode, SK_MODE_REHEARSE);
	assert_string_equal(v.phases[0].state, "blocked");
	assert_string_equal(v.phases[1].state, "ready");
	assert_string_equal(v.phases[1].regions[0].state, "ready");
	sk_rollout_view_fini(&v);
}

static void
test_rehearsal_is_ready_when_every_region_is_and_survives_replay(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_mode(f, two_phases, &rehearse_origin), *again;

	assert_false(run_region_to_success(f, "in"));
	assert_false(run_region_to_success(f, "af"));
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	assert_false(run_region_to_success(f, "ksa"));
	assert_int_equal(ro->state, COORD_RO_READY);
	assert_string_equal(coord_rollout_state_name(ro->state), "ready");

	again = rebuild_from_journal(f, two_phases);
	assert_same_rollout(ro, again);
	assert_int_equal(again->mode, SK_MODE_REHEARSE);
	assert_int_equal(again->state, COORD_RO_READY);
	assert_int_equal(region(again, "af")->state, COORD_R_SUCCEEDED);
	assert_string_equal(shown(again, "af")->state, "ready");
	coord_rollout_destroy(again);
}

/* A rehearsal whose last report reached the journal but not its end. */
static void
test_rehearsal_replay_after_crash_still_ends(void **state)
{
	fixture *f = *state;
	coord_rollout *again;
	off_t before;

	start_mode(f, two_phases, &rehearse_origin);
	assert_false(run_region_to_success(f, "af"));
	assert_false(run_region_to_success(f, "in"));
	dispatch(f, "ksa");
	assert_false(report(f, "ksa", SK_EV_PLAN_ACCEPTED));
	before = journal_size(f);
	assert_false(report_err(f, "ksa", SK_EV_PLAN_FAILED, SK_ESQL, "42P01",
	    "rehearse step 0002_backfill in ksa/accounts: relation does not exist"));
	again = rebuild_after(f, two_phases, before);
	assert_int_equal(again->state, COORD_RO_RUNNING);
	settle(f, again);
	assert_int_equal(again->state, COORD_RO_BLOCKED);
	assert_non_null(strstr(again->reason, "ksa"));
	coord_rollout_destroy(again);
}

/* ---- rollback ----------------------------------------------------------- */

/* Build the rollback of f->ro in regions (as the server does), make it
 * f->ro and keep the original in f->orig. */
static coord_rollout *
start_rollback(fixture *f, const char *region, const char *const *phases)
{
	const char **names = NULL;
	size_t n = 0;
	coord_origin origin;
	sk_err err;

	assert_int_equal(
	    coord_rollout_rollback_regions(f->ro, region, &names, &n, &err), SK_OK);
	origin = (coord_origin){ .mode = SK_MODE_ROLLBACK,
		.of_rollout = f->ro->id,
		.only_regions = names,
		.nonly_regions = n };
	assert_int_equal(coord_journal_created(f->j, "rb-1", NOW_MS + 10,
			     signed_plan, sizeof(signed_plan), &origin, &err),
	    SK_OK);
	f->orig = f->ro;
	assert_int_equal(coord_rollout_create("rb-1", make_plan(phases), signed_plan,
			     sizeof(signed_plan), &origin, NOW_MS + 10, &f->ro, &err),
	    SK_OK);
	free(names);
	assert_non_null(f->ro);
	assert_int_equal(coord_rollout_start(f->ro, f->j, NOW_MS + 10, &err), SK_OK);
	return f->ro;
}

/* af (canary) and in succeeded, ksa failed: all three reached. */
static void
apply_three_phases_last_fails(fixture *f)
{
	start_rollout(f, three_phases);
	assert_true(run_region_to_success(f, "af"));
	assert_true(run_region_to_success(f, "in"));
	dispatch(f, "ksa");
	assert_false(report_err(
	    f, "ksa", SK_EV_PLAN_FAILED, SK_ESQL, "55P03", LOCK_TIMEOUT_MSG));
	assert_int_equal(f->ro->state, COORD_RO_FAILED);
}

static void
test_rollback_runs_phases_in_reverse_canary_last(void **state)
{
	fixture *f = *state;
	coord_rollout *rb;

	apply_three_phases_last_fails(f);
	rb = start_rollback(f, NULL, three_phases);
	assert_int_equal(rb->mode, SK_MODE_ROLLBACK);
	assert_string_equal(rb->of_rollout, "ro-1");
	assert_int_equal(rb->nregions, 3);
	assert_int_equal(rb->nphases, 3);
	assert_string_equal(rb->phases[0]->name, "last");
	assert_string_equal(rb->phases[2]->name, "canary");
	assert_non_null(strstr(rb->events[0].text, "rollback of ro-1"));

	assert_true(coord_rollout_wants(rb, "ksa"));
	assert_false(coord_rollout_wants(rb, "in"));
	assert_false(coord_rollout_wants(rb, "af"));
	dispatch(f, "ksa");
	assert_false(report(f, "ksa", SK_EV_PLAN_ACCEPTED));
	assert_false(report(f, "ksa", SK_EV_STEP_REVERTED));
	assert_int_equal(shown(rb, "ksa")->steps_done, 1);
	assert_true(report(f, "ksa", SK_EV_PLAN_SUCCEEDED));
	assert_true(coord_rollout_wants(rb, "in"));
	assert_false(coord_rollout_wants(rb, "af"));
	assert_true(run_region_to_success(f, "in"));
	assert_true(coord_rollout_wants(rb, "af"));
	assert_false(run_region_to_success(f, "af"));
	assert_int_equal(rb->state, COORD_RO_SUCCEEDED);
}

static void
test_rollback_only_where_the_original_reached(void **state)
{
	fixture *f = *state;
	coord_rollout *rb;
	sk_rollout_view v;
	sk_err err;

	/* The canary failed: in and ksa were never sent the plan. */
	start_rollout(f, three_phases);
	dispatch(f, "af");
	assert_false(report_err(
	    f, "af", SK_EV_PLAN_FAILED, SK_ESQL, "55P03", LOCK_TIMEOUT_MSG));
	rb = start_rollback(f, NULL, three_phases);
	assert_int_equal(rb->nregions, 1);
	assert_string_equal(rb->regions[0].name, "af");
	assert_int_equal(rb->nphases, 1);
	assert_string_equal(rb->phases[0]->name, "canary");
	assert_true(coord_rollout_wants(rb, "af"));
	assert_false(coord_rollout_wants(rb, "in"));
	assert_false(coord_rollout_wants(rb, "ksa"));
	assert_int_equal(coord_rollout_view(rb, 0, &v, &err), SK_OK);
	assert_int_equal(v.nphases, 1);
	assert_int_equal(v.mode, SK_MODE_ROLLBACK);
	assert_string_equal(v.of_rollout, "ro-1");
	sk_rollout_view_fini(&v);
	assert_false(run_region_to_success(f, "af"));
	assert_int_equal(rb->state, COORD_RO_SUCCEEDED);
}

static void
test_rollback_of_one_region(void **state)
{
	fixture *f = *state;
	coord_rollout *rb;

	apply_three_phases_last_fails(f);
	rb = start_rollback(f, "in", three_phases);
	assert_int_equal(rb->nregions, 1);
	assert_string_equal(rb->regions[0].name, "in");
	assert_int_equal(rb->nphases, 1);
	assert_string_equal(rb->phases[0]->name, "rest");
	assert_false(coord_rollout_wants(rb, "af"));
	assert_false(coord_rollout_wants(rb, "ksa"));
	assert_false(run_region_to_success(f, "in"));
	assert_int_equal(rb->state, COORD_RO_SUCCEEDED);
}

static void
test_rollback_halts_at_first_failure_canary_untouched(void **state)
{
	fixture *f = *state;
	coord_rollout *rb;

	apply_three_phases_last_fails(f);
	rb = start_rollback(f, NULL, three_phases);
	dispatch(f, "ksa");
	assert_false(report_err(f, "ksa", SK_EV_PLAN_FAILED, SK_ESQL, "2BP01",
	    "revert step 0002_backfill in ksa/accounts: cannot drop column"));
	assert_int_equal(rb->state, COORD_RO_FAILED);
	assert_non_null(strstr(rb->reason, "cannot drop column"));
	assert_false(coord_rollout_wants(rb, "in"));
	assert_false(coord_rollout_wants(rb, "af"));
	assert_int_equal(region(rb, "af")->state, COORD_R_PENDING);
}

static void
test_rollback_refuses_what_it_cannot_undo(void **state)
{
	fixture *f = *state;
	const char **names = (const char **)&names;
	coord_rollout *reh;
	size_t n = 99;
	off_t size;
	sk_err err;

	start_rollout(f, three_phases);
	/* Still running. */
	sk_err_clear(&err);
	assert_int_equal(
	    coord_rollout_rollback_regions(f->ro, NULL, &names, &n, &err), SK_ESTATE);
	assert_null(names);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err.msg, "still running"));
	assert_non_null(strstr(err.hint, "skein rollout wait ro-1"));

	dispatch(f, "af");
	assert_false(report_err(
	    f, "af", SK_EV_PLAN_FAILED, SK_ESQL, "55P03", LOCK_TIMEOUT_MSG));
	size = journal_size(f);
	/* A region the plan does not have: named, with the plan's regions. */
	assert_int_equal(
	    coord_rollout_rollback_regions(f->ro, "eu", &names, &n, &err), SK_EINVAL);
	assert_null(names);
	assert_non_null(strstr(err.msg, "region eu"));
	assert_non_null(strstr(err.msg, "af, in, ksa"));
	/* A region of the plan the rollout never reached. */
	assert_int_equal(
	    coord_rollout_rollback_regions(f->ro, "ksa", &names, &n, &err), SK_ESTATE);
	assert_non_null(strstr(err.msg, "never ran there"));
	assert_int_equal(journal_size(f), size);

	/* A rehearsal changed nothing; a rollback is not rolled back. */
	assert_int_equal(
	    coord_rollout_create("reh-1", make_plan(three_phases), signed_plan,
		sizeof(signed_plan), &rehearse_origin, NOW_MS, &reh, &err),
	    SK_OK);
	assert_non_null(reh);
	reh->state = COORD_RO_READY;
	assert_int_equal(
	    coord_rollout_rollback_regions(reh, NULL, &names, &n, &err), SK_ESTATE);
	assert_non_null(strstr(err.msg, "rehearsal"));
	coord_rollout_destroy(reh);
	start_rollback(f, NULL, three_phases);
	assert_false(run_region_to_success(f, "af"));
	assert_int_equal(
	    coord_rollout_rollback_regions(f->ro, NULL, &names, &n, &err), SK_ESTATE);
	assert_non_null(strstr(err.msg, "itself the rollback of ro-1"));
}

static void
test_rollback_replays_mode_regions_and_order(void **state)
{
	fixture *f = *state;
	coord_rollout *rb, *again;
	coord_journal *j = NULL;
	rebuild b = { .phases = three_phases };
	sk_err err;

	apply_three_phases_last_fails(f);
	/* Start from an empty journal holding only the rollback. */
	coord_journal_close(f->j);
	f->j = NULL;
	{
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -f '%s/journal'", f->dir);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(coord_journal_open(f->dir, NULL, NULL, &f->j, &err), SK_OK);
	rb = start_rollback(f, "in", three_phases);
	dispatch(f, "in");
	assert_false(report(f, "in", SK_EV_PLAN_ACCEPTED));
	coord_journal_close(f->j);
	f->j = NULL;
	assert_int_equal(coord_journal_open(f->dir, &rebuilder, &b, &j, &err), SK_OK);
	f->j = j;
	again = b.ro;
	assert_non_null(again);
	assert_int_equal(again->mode, SK_MODE_ROLLBACK);
	assert_string_equal(again->of_rollout, "ro-1");
	assert_int_equal(again->nregions, 1);
	assert_string_equal(again->regions[0].name, "in");
	assert_int_equal(again->nphases, 1);
	assert_int_equal(region(again, "in")->state, COORD_R_RUNNING);
	assert_true(coord_rollout_wants(again, "in"));
	assert_false(coord_rollout_wants(again, "af"));
	(void)rb;
	coord_rollout_destroy(again);
}

/* ---- kept reports ------------------------------------------------------- */

static void
make_report(sk_report *r, uint64_t seq, int event, const char *step)
{
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	r->event = event;
	snprintf(r->rollout_id, sizeof(r->rollout_id), "ro-1");
	snprintf(r->plan_id, sizeof(r->plan_id), "plan-7f3a");
	snprintf(r->database, sizeof(r->database), "accounts");
	snprintf(r->step_id, sizeof(r->step_id), "%s", step);
	r->at_ms = NOW_MS + (int64_t)seq;
	r->duration_ms = 10 * (int64_t)seq;
}

/* Journal a batch and keep it, as the server does. */
static void
keep_batch(fixture *f, const char *reg, const sk_report *rs, size_t n)
{
	sk_region_report reps[8];
	coord_journal_report recs[8];
	size_t m = 0;
	sk_err err;

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		if (coord_rollout_report_is_duplicate(f->ro, reg, &rs[i]))
			continue;
		snprintf(reps[m].region, sizeof(reps[m].region), "%s", reg);
		reps[m].report = rs[i];
		recs[m].rollout_id = f->ro->id;
		recs[m].report = &reps[m];
		m++;
	}
	assert_int_equal(coord_journal_reports(f->j, recs, m, &err), SK_OK);
	for (size_t i = 0; i < m; i++)
		coord_rollout_keep_report(f->ro, reg, &reps[i].report);
}

static void
test_reports_are_kept_in_order_and_survive_replay(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases), *again;
	sk_region_report *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	sk_report rs[4];
	sk_err err;

	make_report(&rs[0], 1, SK_EV_STEP_STARTED, "0001_add_region");
	make_report(&rs[1], 2, SK_EV_CHECK, "0001_add_region");
	rs[1].has_check = true;
	snprintf(rs[1].check.name, sizeof(rs[1].check.name), "no_nulls");
	snprintf(rs[1].check.seen, sizeof(rs[1].check.seen), "0");
	rs[1].check.passed = true;
	make_report(&rs[2], 3, SK_EV_STEP_FINISHED, "0001_add_region");
	make_report(&rs[3], 4, SK_EV_STEP_FINISHED, "0002_backfill");
	keep_batch(f, "af", rs, 3);
	keep_batch(f, "in", rs + 3, 1);
	/* A report from a region the rollout does not have is not kept. */
	coord_rollout_keep_report(ro, "eu", &rs[0]);
	assert_int_equal(ro->nkept, 4);

	assert_int_equal(coord_rollout_reports(ro, &a, &na, &err), SK_OK);
	assert_int_equal(na, 4);
	assert_string_equal(a[0].region, "af");
	assert_int_equal(a[0].report.event, SK_EV_STEP_STARTED);
	assert_true(a[1].report.has_check);
	assert_string_equal(a[1].report.check.name, "no_nulls");
	assert_string_equal(a[3].region, "in");
	assert_string_equal(a[3].report.step_id, "0002_backfill");
	assert_int_equal(a[3].report.duration_ms, 40);

	again = rebuild_from_journal(f, two_phases);
	assert_int_equal(coord_rollout_reports(again, &b, &nb, &err), SK_OK);
	assert_int_equal(nb, na);
	for (size_t i = 0; i < na; i++) {
		assert_string_equal(a[i].region, b[i].region);
		assert_int_equal(a[i].report.seq, b[i].report.seq);
		assert_int_equal(a[i].report.event, b[i].report.event);
		assert_int_equal(a[i].report.at_ms, b[i].report.at_ms);
		assert_string_equal(a[i].report.step_id, b[i].report.step_id);
	}
	assert_string_equal(b[1].report.check.name, "no_nulls");
	/* After the restart a resend is still recognized. */
	assert_true(coord_rollout_report_is_duplicate(again, "af", &rs[1]));
	assert_false(coord_rollout_report_is_duplicate(again, "in", &rs[1]));
	free(a);
	free(b);
	coord_rollout_destroy(again);
}

static void
test_reports_resent_are_not_kept_twice(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases);
	sk_report rs[3], reboot;
	off_t size;

	make_report(&rs[0], 5, SK_EV_STEP_STARTED, "0001_add_region");
	make_report(&rs[1], 6, SK_EV_STEP_FINISHED, "0001_add_region");
	make_report(&rs[2], 7, SK_EV_STEP_STARTED, "0002_backfill");
	keep_batch(f, "af", rs, 2);
	size = journal_size(f);
	/* The coordinator died before acknowledging: all three come again. */
	keep_batch(f, "af", rs, 3);
	assert_int_equal(ro->nkept, 3);
	assert_true(journal_size(f) > size);
	size = journal_size(f);
	keep_batch(f, "af", rs, 3);
	assert_int_equal(ro->nkept, 3);
	assert_int_equal(journal_size(f), size);
	/* An agent restart numbers from 1 again: new reports, kept. */
	make_report(&reboot, 1, SK_EV_STEP_STARTED, "0002_backfill");
	reboot.at_ms = NOW_MS + 100000;
	assert_false(coord_rollout_report_is_duplicate(ro, "af", &reboot));
	keep_batch(f, "af", &reboot, 1);
	assert_int_equal(ro->nkept, 4);
}

static void
test_reports_beyond_the_limit_are_counted_not_kept(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases);
	sk_report r;
	size_t nevents;
	bool noted = false;

	/* Progress stops being kept at half the limit ... */
	for (uint64_t i = 1; i <= COORD_REPORTS_MAX / 2 + 10; i++) {
		make_report(&r, i, SK_EV_PROGRESS, "0002_backfill");
		coord_rollout_keep_report(ro, "af", &r);
	}
	assert_int_equal(ro->nkept, COORD_REPORTS_MAX / 2);
	assert_int_equal(ro->reports_dropped, 10);
	/* ... outcomes at the limit. */
	nevents = ro->nevents;
	for (uint64_t i = 1; i <= COORD_REPORTS_MAX; i++) {
		make_report(&r, 100000 + i, SK_EV_STEP_FINISHED, "0002_backfill");
		coord_rollout_keep_report(ro, "in", &r);
	}
	assert_int_equal(ro->nkept, COORD_REPORTS_MAX);
	assert_int_equal(ro->reports_dropped, 10 + COORD_REPORTS_MAX / 2);
	for (size_t i = 0; i < ro->nevents; i++)
		noted |= strstr(ro->events[i].text, "counted, not kept") != NULL;
	assert_true(noted);
	assert_int_equal(ro->nevents, nevents); /* said once, at the first drop */
}

/* A lock-wait report naming pid as the blocker. */
static void
report_lock_wait(fixture *f, const char *reg, int32_t pid)
{
	sk_report r;
	bool changed = true;
	sk_err err;

	memset(&r, 0, sizeof(r));
	r.seq = 1;
	r.event = SK_EV_LOCK_WAIT;
	snprintf(r.rollout_id, sizeof(r.rollout_id), "ro-1");
	snprintf(r.plan_id, sizeof(r.plan_id), "plan-7f3a");
	snprintf(r.database, sizeof(r.database), "accounts");
	snprintf(r.step_id, sizeof(r.step_id), "0002_backfill");
	r.attempt = 1;
	r.nblockers = 1;
	r.blockers[0].pid = pid;
	snprintf(r.blockers[0].state, sizeof(r.blockers[0].state), "idle in transaction");
	assert_int_equal(
	    coord_rollout_report(f->ro, reg, &r, f->j, &changed, &err), SK_OK);
	assert_false(changed);
}

/* The region's detail says what it waits for while it waits, and no
 * longer once the step is over or the region has ended: `rollout status`
 * must not show a failed or finished region waiting for a lock. */
static void
test_rollout_lock_wait_detail_is_cleared_when_the_wait_is_over(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases);
	sk_rollout_view v;
	sk_err err;

	dispatch(f, "af");
	assert_false(report(f, "af", SK_EV_PLAN_ACCEPTED));
	report_lock_wait(f, "af", 4242);
	assert_string_equal(shown(ro, "af")->detail,
	    "waiting for a lock held by pid 4242 (idle in transaction)");
	/* The step went through: nothing is waited for. */
	assert_false(report(f, "af", SK_EV_STEP_FINISHED));
	assert_string_equal(shown(ro, "af")->detail, "");
	report_lock_wait(f, "af", 4242);
	assert_false(report(f, "af", SK_EV_STEP_SKIPPED));
	assert_string_equal(shown(ro, "af")->detail, "");
	/* The step failed: the detail says so, not that it still waits. */
	report_lock_wait(f, "af", 4343);
	assert_false(report_err(
	    f, "af", SK_EV_STEP_FAILED, SK_ELOCK, "55P03", LOCK_TIMEOUT_MSG));
	assert_null(strstr(shown(ro, "af")->detail, "waiting"));
	assert_non_null(strstr(shown(ro, "af")->detail,
	    "step 0002_backfill failed: " LOCK_TIMEOUT_MSG));
	/* The region failed: no detail; the error is in its view's error. */
	assert_false(report_err(
	    f, "af", SK_EV_PLAN_FAILED, SK_ELOCK, "55P03", LOCK_TIMEOUT_MSG));
	assert_int_equal(region(ro, "af")->state, COORD_R_FAILED);
	assert_string_equal(shown(ro, "af")->detail, "");
	assert_string_equal(region(ro, "af")->error.msg, LOCK_TIMEOUT_MSG);
	assert_int_equal(coord_rollout_view(ro, 0, &v, &err), SK_OK);
	assert_string_equal(v.phases[0].regions[0].name, "af");
	assert_string_equal(v.phases[0].regions[0].state, "failed");
	assert_string_equal(v.phases[0].regions[0].detail, "");
	sk_rollout_view_fini(&v);
}

/* A region that ends straight from a lock wait (the agent's last word
 * was the wait, then the plan's outcome) shows no wait either. */
static void
test_rollout_lock_wait_detail_is_cleared_when_the_region_ends(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, three_phases);

	dispatch(f, "af");
	assert_false(report(f, "af", SK_EV_PLAN_ACCEPTED));
	report_lock_wait(f, "af", 4242);
	assert_true(report(f, "af", SK_EV_PLAN_SUCCEEDED));
	assert_int_equal(region(ro, "af")->state, COORD_R_SUCCEEDED);
	assert_string_equal(shown(ro, "af")->detail, "");

	dispatch(f, "in");
	assert_false(report(f, "in", SK_EV_PLAN_ACCEPTED));
	report_lock_wait(f, "in", 5151);
	assert_non_null(strstr(shown(ro, "in")->detail, "pid 5151"));
	assert_false(report_err(
	    f, "in", SK_EV_PLAN_FAILED, SK_ELOCK, "55P03", LOCK_TIMEOUT_MSG));
	assert_string_equal(shown(ro, "in")->detail, "");
	assert_int_equal(ro->state, COORD_RO_FAILED);
	/* Reports after the end change nothing, a late wait included. */
	report_lock_wait(f, "in", 5151);
	assert_string_equal(shown(ro, "in")->detail, "");
}

/* True if the journal file holds text anywhere. */
static bool
journal_has(const fixture *f, const char *text)
{
	char path[128];
	size_t n = strlen(text), len;
	char *buf;
	FILE *fp;
	bool found = false;

	snprintf(path, sizeof(path), "%s/journal", f->dir);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	len = (size_t)journal_size(f);
	buf = malloc(len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, len, fp), len);
	fclose(fp);
	for (size_t i = 0; !found && i + n <= len; i++)
		found = memcmp(buf + i, text, n) == 0;
	free(buf);
	return found;
}

/* What a region waits for is progress, shown but never journaled: the
 * journal holds the region's state (a rehearsal's "ready" too) and its
 * error, not the words status prints. */
static void
test_rollout_journal_holds_state_not_display_text(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_mode(f, two_phases, &rehearse_origin);
	sk_report r;
	bool changed;
	sk_err err;

	dispatch(f, "af");
	memset(&r, 0, sizeof(r));
	r.seq = 1;
	r.event = SK_EV_DB_WAITING;
	snprintf(r.database, sizeof(r.database), "accounts");
	snprintf(r.detail, sizeof(r.detail), "too many clients already");
	assert_int_equal(
	    coord_rollout_report(ro, "af", &r, f->j, &changed, &err), SK_OK);
	/* The wait moved the region to running: journaled, and shown. */
	assert_int_equal(region(ro, "af")->state, COORD_R_RUNNING);
	assert_string_equal(shown(ro, "af")->detail, "waiting: too many clients already");
	report_lock_wait(f, "af", 4242);
	assert_false(report(f, "af", SK_EV_PLAN_SUCCEEDED));
	assert_string_equal(shown(ro, "af")->state, "ready");
	assert_false(journal_has(f, "waiting"));
	assert_false(journal_has(f, "pid 4242"));
	assert_false(journal_has(f, "ready"));
	assert_true(journal_has(f, "af"));
}

/* A report for database db of region reg; pid > 0 makes it name a
 * blocker (SK_EV_LOCK_WAIT). */
static void
report_db(fixture *f, const char *reg, const char *db, int event,
    const char *step, int32_t pid)
{
	sk_report r;
	bool changed = true;
	sk_err err;

	memset(&r, 0, sizeof(r));
	r.seq = 1;
	r.event = event;
	snprintf(r.rollout_id, sizeof(r.rollout_id), "ro-1");
	snprintf(r.database, sizeof(r.database), "%s", db);
	snprintf(r.step_id, sizeof(r.step_id), "%s", step);
	if (pid > 0) {
		r.nblockers = 1;
		r.blockers[0].pid = pid;
		snprintf(r.blockers[0].state, sizeof(r.blockers[0].state),
		    "idle in transaction");
	}
	assert_int_equal(
	    coord_rollout_report(f->ro, reg, &r, f->j, &changed, &err), SK_OK);
}

static const sk_database_view *
view_db(const sk_rollout_view *v, const char *reg, const char *db)
{
	for (size_t i = 0; i < v->ndatabases; i++)
		if (strcmp(v->databases[i].region, reg) == 0 &&
		    strcmp(v->databases[i].name, db) == 0)
			return &v->databases[i];
	return NULL;
}

/* Two databases of one region run in parallel: one waits for a lock
 * while the other moves on. The other's step ending must not erase the
 * wait: each database keeps its own step and detail, and the region's
 * detail sums them up. */
static void
test_rollout_two_databases_keep_their_own_progress(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases);
	sk_rollout_view v;
	sk_err err;
	const sk_database_view *a, *b;

	dispatch(f, "af");
	coord_rollout_note_databases(ro, "af", 2);
	assert_false(report(f, "af", SK_EV_PLAN_ACCEPTED));
	report_db(f, "af", "accounts", SK_EV_STEP_STARTED, "0001_add", 0);
	report_db(f, "af", "billing", SK_EV_STEP_STARTED, "0001_add", 0);
	report_db(f, "af", "accounts", SK_EV_LOCK_WAIT, "0001_add", 4242);
	/* billing finishes its first step and starts the next one. */
	report_db(f, "af", "billing", SK_EV_STEP_FINISHED, "0001_add", 0);
	report_db(f, "af", "billing", SK_EV_STEP_STARTED, "0002_backfill", 0);
	assert_string_equal(shown(ro, "af")->detail,
	    "0 of 2 databases done, 1 waiting for a lock");

	assert_int_equal(coord_rollout_view(ro, 0, &v, &err), SK_OK);
	assert_int_equal(v.ndatabases, 2);
	a = view_db(&v, "af", "accounts");
	b = view_db(&v, "af", "billing");
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(a->state, "running");
	assert_string_equal(a->step, "0001_add");
	assert_int_equal(a->steps_done, 0);
	assert_int_equal(a->steps_total, 2);
	assert_int_equal(a->blocker_pid, 4242);
	assert_string_equal(a->detail,
	    "waiting for a lock held by pid 4242 (idle in transaction)");
	assert_string_equal(b->state, "running");
	assert_string_equal(b->step, "0002_backfill");
	assert_int_equal(b->steps_done, 1);
	assert_int_equal(b->blocker_pid, 0);
	assert_string_equal(b->detail, "");
	sk_rollout_view_fini(&v);

	/* billing is done; accounts still waits. */
	report_db(f, "af", "billing", SK_EV_STEP_FINISHED, "0002_backfill", 0);
	report_db(f, "af", "billing", SK_EV_DB_FINISHED, "", 0);
	assert_string_equal(shown(ro, "af")->detail,
	    "1 of 2 databases done, 1 waiting for a lock");
	/* The wait is over once accounts' step ends. */
	report_db(f, "af", "accounts", SK_EV_STEP_FINISHED, "0001_add", 0);
	assert_string_equal(shown(ro, "af")->detail, "1 of 2 databases done");
	assert_int_equal(coord_rollout_view(ro, 0, &v, &err), SK_OK);
	a = view_db(&v, "af", "accounts");
	assert_non_null(a);
	assert_int_equal(a->blocker_pid, 0);
	assert_string_equal(a->detail, "");
	assert_string_equal(view_db(&v, "af", "billing")->state, "done");
	sk_rollout_view_fini(&v);

	/* A failed database is counted as such. */
	report_db(f, "af", "accounts", SK_EV_DB_FAILED, "0002_backfill", 0);
	assert_string_equal(shown(ro, "af")->detail, "1 of 2 databases done, 1 failed");
	/* The region ended: no detail, and no databases in the view. */
	assert_false(report_err(
	    f, "af", SK_EV_PLAN_FAILED, SK_ELOCK, "55P03", LOCK_TIMEOUT_MSG));
	assert_string_equal(shown(ro, "af")->detail, "");
	assert_int_equal(coord_rollout_view(ro, 0, &v, &err), SK_OK);
	assert_int_equal(v.ndatabases, 0);
	assert_null(v.databases);
	sk_rollout_view_fini(&v);
}

/* A new run of the plan in a region (the agent accepted it again, e.g.
 * after a coordinator restart) starts its databases' progress afresh. */
static void
test_rollout_databases_restart_with_the_plan(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start_rollout(f, two_phases);

	dispatch(f, "af");
	coord_rollout_note_databases(ro, "af", 3);
	assert_false(report(f, "af", SK_EV_PLAN_ACCEPTED));
	report_db(f, "af", "accounts", SK_EV_DB_FINISHED, "", 0);
	report_db(f, "af", "billing", SK_EV_DB_WAITING, "", 0);
	assert_string_equal(shown(ro, "af")->detail,
	    "1 of 3 databases done, 1 waiting to start");
	assert_int_equal(region(ro, "af")->progress.ndbs, 2);
	assert_false(report(f, "af", SK_EV_PLAN_ACCEPTED));
	assert_int_equal(region(ro, "af")->progress.ndbs, 0);
	assert_string_equal(shown(ro, "af")->detail, "0 of 3 databases done");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) \
cmocka_unit_test_setup_teardown(fn, setup, coord_testfix_dir_teardown)
		T(test_rollout_phase0_wants_only_canary_regions),
		T(test_rollout_dispatch_moves_pending_to_dispatched_once),
		T(test_rollout_canary_success_starts_next_phase),
		T(test_rollout_succeeds_only_when_every_region_of_last_phase_succeeds),
		T(test_rollout_walks_three_phases_in_order),
		T(test_rollout_halts_on_canary_failure),
		T(test_rollout_refusal_counts_as_failure),
		T(test_rollout_failure_in_later_phase_lets_running_peer_finish),
		T(test_rollout_ignores_reports_for_unknown_and_finished_regions),
		T(test_rollout_create_failure_leaves_the_plan_with_the_caller),
		T(test_rollout_replay_rebuilds_running_rollout_in_second_phase),
		T(test_rollout_replay_rebuilds_halted_rollout),
		T(test_rollout_replay_rebuilds_succeeded_rollout),
		T(test_rollout_replay_after_crash_before_phase_record_still_advances),
		T(test_rollout_replay_after_crash_before_finished_record_still_halts),
		T(test_rollout_view_has_phases_regions_and_events_after_since),
		T(test_rollout_view_of_halted_rollout_marks_later_phases_not_started),
		T(test_rollout_lock_wait_detail_is_cleared_when_the_wait_is_over),
		T(test_rollout_lock_wait_detail_is_cleared_when_the_region_ends),
		T(test_rollout_two_databases_keep_their_own_progress),
		T(test_rollout_databases_restart_with_the_plan),
		T(test_rollout_journal_holds_state_not_display_text),
		T(test_rehearsal_asks_every_region_at_once),
		T(test_rehearsal_never_halts_early_and_ends_blocked),
		T(test_rehearsal_is_ready_when_every_region_is_and_survives_replay),
		T(test_rehearsal_replay_after_crash_still_ends),
		T(test_rollback_runs_phases_in_reverse_canary_last),
		T(test_rollback_only_where_the_original_reached),
		T(test_rollback_of_one_region),
		T(test_rollback_halts_at_first_failure_canary_untouched),
		T(test_rollback_refuses_what_it_cannot_undo),
		T(test_rollback_replays_mode_regions_and_order),
		T(test_reports_are_kept_in_order_and_survive_replay),
		T(test_reports_resent_are_not_kept_twice),
		T(test_reports_beyond_the_limit_are_counted_not_kept),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

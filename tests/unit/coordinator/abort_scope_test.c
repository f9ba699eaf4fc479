/* abort_scope_test: skein rollout abort ID --region R (coord_opctl,
 * coord_rollout), answered without a socket as the skein CLI sends it.
 * A running region aborted on its own hears ABORT (no other region
 * does), ends failed with who aborted it and why once it reports, and
 * the rollout then halts; a pending one fails at once and a later phase
 * never starts; every refusal (viewer, unsigned, finished rollout,
 * unknown, twice named, finished or already aborted region) changes
 * nothing; and the journal's replay restores all of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coord_auth.h"
#include "coord_control.h"
#include "coord_journal.h"
#include "coord_line.h"
#include "coord_opctl.h"
#include "coord_registry.h"
#include "coord_rollout.h"
#include "coord_testfix.h"
#include "sk_key.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_wire.h"

typedef coord_testfix_staff fixture;

static int
setup(void **state)
{
	return coord_testfix_staff_setup(state, "abort-scope", true);
}

/* Each test on a fixture of its own. */
#define T(fn) \
cmocka_unit_test_setup_teardown(fn, setup, coord_testfix_staff_teardown)

/* ---- helpers for a scoped abort ----------------------------------------- */

/* Start plan name (a SQL step) in apply mode as admin; its id into id;
 * the rollout. */
static coord_rollout *
start(fixture *f, const char *name, char *id)
{
	return coord_testfix_start(&f->fx, f->admin, name, false, SK_MODE_APPLY, id);
}

/* req as key signs it now, answered into resp. */
static coord_control_effect
ask_as(fixture *f, const sk_seckey *key, const sk_cli_request *req, sk_cli_response *resp)
{
	return coord_testfix_ask_as(&f->fx, key, req, resp);
}

/* An abort of rollout id in regions (n of them), with reason. */
static sk_cli_request
abort_req(const char *id, const char *const *regions, size_t n, const char *reason)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_ABORT;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.reason, sizeof(req.reason), "%s", reason != NULL ? reason : "");
	for (size_t i = 0; i < n; i++)
		snprintf(req.regions[req.nregions++], SK_NAME_MAX, "%s", regions[i]);
	return req;
}

/* Dispatch region of ro and have it take the plan and start its first
 * step in database app. */
static void
run_region(fixture *f, coord_rollout *ro, const char *region)
{
	sk_err err;

	assert_true(coord_rollout_wants(ro, region));
	assert_int_equal(
	    coord_rollout_dispatched(ro, region, f->fx.journal, sk_now_ms(), &err),
	    SK_OK);
	coord_testfix_report(&f->fx, ro, region, SK_EV_PLAN_ACCEPTED);
	coord_testfix_report_step(
	    &f->fx, ro, region, SK_EV_DB_STARTED, "0001_add_region");
	coord_testfix_report_step(
	    &f->fx, ro, region, SK_EV_STEP_STARTED, "0001_add_region");
}

/* ---- a running region ----------------------------------------------------- */

static void
test_running_region_aborted_hears_abort_and_fails_the_rollout_once_it_reports(
    void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = start(f, "plan-a", id);
	const char *in[] = { "in" };
	sk_cli_request req = abort_req(id, in, 1, "bad index");
	sk_command cmds[COORD_OPCTL_COMMANDS_MAX];
	sk_cli_response resp;
	coord_control_effect e;
	coord_region_run *rin, *rksa;
	const char **names = NULL;
	size_t n = 0;
	sk_err err;

	run_region(f, ro, "af");
	coord_testfix_report(&f->fx, ro, "af", SK_EV_PLAN_SUCCEEDED);
	assert_int_equal(ro->phase, 1);
	run_region(f, ro, "in");
	run_region(f, ro, "ksa");
	rin = coord_rollout_region(ro, "in");
	rksa = coord_rollout_region(ro, "ksa");

	e = ask_as(f, f->op, &req, &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_string_equal(resp.rollouts[0].state, "running");
	assert_int_equal(resp.rollouts[0].ncontrols, 1);
	assert_int_equal(resp.rollouts[0].controls[0].kind, SK_CMD_ABORT);
	assert_int_equal(resp.rollouts[0].controls[0].nregions, 1);
	assert_string_equal(resp.rollouts[0].controls[0].regions[0], "in");
	assert_string_equal(resp.rollouts[0].controls[0].actor, "op");
	/* What it left: in's database only (af and ksa were not aborted). */
	assert_int_equal(resp.rollouts[0].nleft, 1);
	assert_string_equal(resp.rollouts[0].left[0].region, "in");
	assert_string_equal(resp.rollouts[0].left[0].step, "0001_add_region");
	assert_false(resp.rollouts[0].left[0].step_finished);
	sk_cli_response_fini(&resp);

	assert_true(rin->aborted);
	assert_false(rin->abort_unstarted);
	assert_int_equal(rin->state, COORD_R_RUNNING);
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	/* Only in's agent hears ABORT, with who and why. */
	assert_int_equal(coord_testfix_commands(ro, "in", cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_ABORT);
	assert_string_equal(cmds[0].actor, "op");
	assert_string_equal(cmds[0].reason, "bad index");
	assert_int_equal(coord_testfix_commands(ro, "ksa", cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_RESUME);
	assert_int_equal(coord_testfix_commands(ro, "af", cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_RESUME);

	/* ksa finishes its steps; the rollout waits for in. */
	coord_testfix_report(&f->fx, ro, "ksa", SK_EV_PLAN_SUCCEEDED);
	assert_int_equal(rksa->state, COORD_R_SUCCEEDED);
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	assert_int_equal(
	    coord_rollout_rollback_regions(ro, NULL, &names, &n, &err), SK_ESTATE);
	assert_non_null(strstr(err.msg, "still running"));
	/* in finishes its running step and fails the rest as aborted: the
	 * region ends failed with who and why, the rollout halts. */
	coord_testfix_report_step(
	    &f->fx, ro, "in", SK_EV_STEP_FINISHED, "0001_add_region");
	coord_testfix_report(&f->fx, ro, "in", SK_EV_PLAN_FAILED);
	assert_int_equal(rin->state, COORD_R_FAILED);
	assert_non_null(strstr(rin->error.msg, "region in aborted by op (key "));
	assert_non_null(strstr(rin->error.msg, ": bad index"));
	assert_int_equal(ro->state, COORD_RO_FAILED);
	assert_non_null(strstr(ro->reason, "aborted by op"));
	/* A rollback of the failed rollout runs where it ran. */
	assert_int_equal(
	    coord_rollout_rollback_regions(ro, NULL, &names, &n, &err), SK_OK);
	assert_int_equal(n, 3);
	free(names);
	assert_int_equal(coord_testfix_journal_opctl(&f->fx).kinds[SK_CMD_ABORT], 1);
}

/* A region that reports success after the abort (its running step was
 * its last) still ends failed as aborted: the operator's word stands. */
static void
test_aborted_region_that_reports_success_still_ends_failed(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = start(f, "plan-a", id);
	const char *af[] = { "af" };
	sk_cli_request req = abort_req(id, af, 1, "");
	sk_cli_response resp;

	run_region(f, ro, "af");
	assert_true(ask_as(f, f->op, &req, &resp).held);
	assert_true(resp.ok);
	sk_cli_response_fini(&resp);
	coord_testfix_report(&f->fx, ro, "af", SK_EV_PLAN_SUCCEEDED);
	assert_int_equal(ro->regions[0].state, COORD_R_FAILED);
	assert_non_null(strstr(ro->regions[0].error.msg, "aborted by op"));
	assert_int_equal(ro->state, COORD_RO_FAILED);
	assert_int_equal(ro->phase, 0); /* rest never started */
	assert_false(coord_rollout_wants(ro, "in"));
}

/* ---- a pending region ---------------------------------------------------- */

static void
test_pending_region_aborted_fails_at_once_and_no_later_phase_starts(void **state)
{
	fixture *f = *state;
	char a[SK_ID_MAX], b[SK_ID_MAX];
	coord_rollout *ra = start(f, "plan-a", a);
	coord_rollout *rb = start(f, "plan-b", b);
	const char *ksa[] = { "ksa" }, *af[] = { "af" };
	sk_cli_request req = abort_req(a, ksa, 1, "ksa freeze");
	sk_command cmds[COORD_OPCTL_COMMANDS_MAX];
	sk_cli_response resp;
	coord_region_run *rk = coord_rollout_region(ra, "ksa");
	const char **names = NULL;
	size_t n = 0;
	sk_err err;

	run_region(f, ra, "af");
	assert_true(ask_as(f, f->op, &req, &resp).held);
	assert_true(resp.ok);
	assert_int_equal(resp.rollouts[0].nleft, 0); /* nothing ran in ksa */
	sk_cli_response_fini(&resp);
	assert_true(rk->abort_unstarted);
	assert_int_equal(rk->state, COORD_R_FAILED);
	assert_non_null(strstr(rk->error.msg, "region ksa aborted by op"));
	assert_non_null(strstr(rk->error.msg, "had not started"));
	assert_int_equal(ra->state, COORD_RO_RUNNING); /* af runs on */
	assert_int_equal(coord_testfix_commands(ra, "af", cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_RESUME);
	/* The canary ends well; the rollout halts there: rest never starts. */
	coord_testfix_report(&f->fx, ra, "af", SK_EV_PLAN_SUCCEEDED);
	assert_int_equal(ra->state, COORD_RO_FAILED);
	assert_int_equal(ra->phase, 0);
	assert_false(coord_rollout_wants(ra, "in"));
	assert_int_equal(coord_rollout_region(ra, "in")->state, COORD_R_PENDING);
	assert_non_null(strstr(ra->reason, "region ksa aborted by op"));
	/* The rollback undoes af only: nothing ran in ksa. */
	assert_int_equal(
	    coord_rollout_rollback_regions(ra, NULL, &names, &n, &err), SK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "af");
	free(names);

	/* A pending region of the current phase: the rollout halts now. */
	req = abort_req(b, af, 1, NULL);
	assert_true(ask_as(f, f->op, &req, &resp).held);
	assert_true(resp.ok);
	assert_string_equal(resp.rollouts[0].state, "failed");
	sk_cli_response_fini(&resp);
	assert_int_equal(rb->state, COORD_RO_FAILED);
	assert_false(coord_rollout_wants(rb, "af"));
	assert_int_equal(
	    coord_rollout_rollback_regions(rb, NULL, &names, &n, &err), SK_ESTATE);
	assert_non_null(strstr(err.msg, "reached no region"));
}

/* ---- refusals ------------------------------------------------------------ */

/* req as op is refused with code and what; nothing changed in ro. */
static void
refused_nothing_changed(fixture *f, const sk_seckey *key, coord_rollout *ro,
    const sk_cli_request *req, int code, const char *what)
{
	uint64_t gen = ro->ctl.gen;
	size_t nhist = ro->ctl.nhist;
	int records = coord_testfix_journal_opctl(&f->fx).records, states[3];
	sk_cli_response resp;
	coord_control_effect e;

	for (size_t i = 0; i < 3; i++)
		states[i] = ro->regions[i].state;
	e = ask_as(f, key, req, &resp);
	assert_false(resp.ok);
	assert_int_equal(resp.error.code, code);
	if (strstr(resp.error.msg, what) == NULL)
		fail_msg("refusal '%s' does not say '%s'", resp.error.msg, what);
	assert_false(e.held);
	sk_cli_response_fini(&resp);
	assert_int_equal(ro->ctl.gen, gen);
	assert_int_equal(ro->ctl.nhist, nhist);
	assert_int_equal(coord_testfix_journal_opctl(&f->fx).records, records);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(ro->regions[i].state, states[i]);
}

static void
test_scoped_abort_refusals_change_nothing(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = start(f, "plan-a", id);
	const char *zz[] = { "zz" }, *twice[] = { "in", "in" },
		   *af[] = { "af" }, *in[] = { "in" }, *ksa[] = { "ksa" };
	sk_cli_request req;
	sk_cli_response resp;
	int records;

	run_region(f, ro, "af");
	req = abort_req(id, in, 1, "x");
	refused_nothing_changed(
	    f, f->viewer, ro, &req, SK_EREFUSED, "needs role operator");
	coord_testfix_unsigned_req_refused(&f->fx, &req);
	req = abort_req(id, zz, 1, NULL);
	refused_nothing_changed(
	    f, f->op, ro, &req, SK_EINVAL, "the rollout has no region zz");
	req = abort_req(id, twice, 2, NULL);
	refused_nothing_changed(f, f->op, ro, &req, SK_EINVAL, "region in named twice");
	req = abort_req(id, in, 1, "two\nlines");
	refused_nothing_changed(f, f->op, ro, &req, SK_EINVAL, "control character");
	/* A region that finished. */
	coord_testfix_report(&f->fx, ro, "af", SK_EV_PLAN_SUCCEEDED);
	req = abort_req(id, af, 1, NULL);
	refused_nothing_changed(f, f->op, ro, &req, SK_ESTATE,
	    "the region has finished (succeeded)");
	/* One already aborted (running on to its step's end), alone or
	 * with another. */
	run_region(f, ro, "in");
	run_region(f, ro, "ksa");
	req = abort_req(id, in, 1, NULL);
	assert_true(ask_as(f, f->op, &req, &resp).held);
	sk_cli_response_fini(&resp);
	records = coord_testfix_journal_opctl(&f->fx).records;
	assert_int_equal(records, 1);
	refused_nothing_changed(f, f->op, ro, &req, SK_ESTATE, "already aborted there");
	req = abort_req(id, (const char *[]){ "ksa", "in" }, 2, NULL);
	refused_nothing_changed(f, f->op, ro, &req, SK_ESTATE, "already aborted there");
	assert_false(coord_rollout_region(ro, "ksa")->aborted);
	/* A finished rollout: in reports its end, the rollout halts. */
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	coord_testfix_report(&f->fx, ro, "in", SK_EV_PLAN_FAILED);
	assert_int_equal(ro->state, COORD_RO_FAILED);
	req = abort_req(id, ksa, 1, NULL);
	refused_nothing_changed(
	    f, f->op, ro, &req, SK_ESTATE, "it has finished (failed)");
	req = abort_req("r-nope", ksa, 1, NULL);
	refused_nothing_changed(f, f->op, ro, &req, SK_ENOTFOUND, "no such rollout");
}

/* ---- replay -------------------------------------------------------------- */

static void
test_replay_keeps_regions_aborted(void **state)
{
	fixture *f = *state;
	char a[SK_ID_MAX], b[SK_ID_MAX], c[SK_ID_MAX];
	coord_rollout *ra = start(f, "plan-a", a);
	coord_rollout *rb = start(f, "plan-b", b);
	coord_rollout *rc = start(f, "plan-c", c), *x;
	const char *af[] = { "af" }, *ksa[] = { "ksa" };
	const char *regions[] = { "in" };
	coord_opctl_record rec = { .kind = SK_CMD_ABORT,
		.actor = "op",
		.actor_key = "",
		.reason = "crash",
		.at_ms = sk_now_ms(),
		.regions = regions,
		.nregions = 1 };
	sk_cli_request req;
	sk_cli_response resp;
	bool changed = false;
	sk_err err;
	coord_testfix_replayed r;

	/* a: af aborted while running, not yet reported. */
	run_region(f, ra, "af");
	req = abort_req(a, af, 1, "lag");
	assert_true(ask_as(f, f->op, &req, &resp).held);
	sk_cli_response_fini(&resp);
	/* b: ksa aborted while pending. */
	run_region(f, rb, "af");
	req = abort_req(b, ksa, 1, NULL);
	assert_true(ask_as(f, f->op, &req, &resp).held);
	sk_cli_response_fini(&resp);
	/* c: in aborted, the coordinator killed before in's failure was
	 * journaled (only the abort's record is). */
	run_region(f, rc, "af");
	assert_int_equal(coord_journal_opctl(f->fx.journal, c, &rec, &err), SK_OK);

	coord_testfix_replay(&f->fx, true, &r);
	x = coord_registry_find(&r.rollouts, a);
	assert_true(x->regions[0].aborted);
	assert_false(x->regions[0].abort_unstarted);
	assert_string_equal(x->regions[0].aborted_by, "op");
	assert_string_equal(x->regions[0].abort_reason, "lag");
	assert_int_equal(x->regions[0].state, COORD_R_RUNNING);
	assert_int_equal(x->state, COORD_RO_RUNNING);
	assert_false(coord_rollout_wants(x, "af"));
	assert_int_equal(x->ctl.gen, ra->ctl.gen);
	assert_int_equal(x->ctl.nhist, 1);
	assert_int_equal(x->ctl.hist[0].nregions, 1);
	/* Its agent reports to the restarted coordinator: it ends failed. */
	{
		sk_report rep;

		memset(&rep, 0, sizeof(rep));
		rep.event = SK_EV_PLAN_FAILED;
		assert_int_equal(coord_rollout_report(x, "af", &rep,
				     f->fx.journal, &changed, &err),
		    SK_OK);
	}
	assert_int_equal(x->state, COORD_RO_FAILED);
	assert_non_null(strstr(x->regions[0].error.msg, "aborted by op"));
	x = coord_registry_find(&r.rollouts, b);
	assert_int_equal(x->regions[2].state, COORD_R_FAILED);
	assert_true(x->regions[2].abort_unstarted);
	assert_string_equal(x->regions[2].error.msg,
	    coord_rollout_region(rb, "ksa")->error.msg);
	assert_int_equal(x->ctl.gen, rb->ctl.gen);
	x = coord_registry_find(&r.rollouts, c);
	assert_true(x->regions[1].aborted);
	assert_int_equal(x->regions[1].state, COORD_R_PENDING);
	/* Settling after replay finishes what the crash interrupted. */
	assert_int_equal(coord_rollout_settle(x, f->fx.journal, &changed, &err), SK_OK);
	assert_int_equal(x->regions[1].state, COORD_R_FAILED);
	assert_non_null(strstr(x->regions[1].error.msg, "aborted by op"));
	assert_false(coord_rollout_wants(x, "in"));
	coord_registry_fini(&r.rollouts);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_running_region_aborted_hears_abort_and_fails_the_rollout_once_it_reports),
		T(test_aborted_region_that_reports_success_still_ends_failed),
		T(test_pending_region_aborted_fails_at_once_and_no_later_phase_starts),
		T(test_scoped_abort_refusals_change_nothing),
		T(test_replay_keeps_regions_aborted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* stopline_test: scoped pause, abort and the line stop (coord_opctl,
 * coord_line), answered without a socket as the skein CLI sends them. A
 * region pause holds that region (not dispatched, phase not complete);
 * an abort ends the rollout "aborted" and its agents hear ABORT; a stop
 * pauses every running rollout but the excepted, a rollout started while
 * stopped starts paused, and the lift resumes exactly those the stop
 * paused. Every refusal (viewer, unsigned, unknown or finished rollout,
 * unknown region, a stop of a stopped line, a lift of a running one, an
 * unknown --except) changes nothing, and the journal's replay restores
 * all of it with the same generations. */
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
	return coord_testfix_staff_setup(state, "stopline", true);
}

/* ---- helpers ------------------------------------------------------------- */

/* Ask, as key, to pause (or resume) rollout id in region only. */
static coord_control_effect
region_op(fixture *f, const sk_seckey *key, bool pause, const char *id,
    const char *region, const char *reason, sk_cli_response *resp)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = pause ? SK_CLI_PAUSE : SK_CLI_RESUME;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.reason, sizeof(req.reason), "%s", reason != NULL ? reason : "");
	snprintf(req.regions[0], SK_NAME_MAX, "%s", region);
	req.nregions = 1;
	return coord_testfix_ask_as(&f->fx, key, &req, resp);
}

/* Ask, as key, to stop the line (action), excepting except (or NULL). */
static coord_control_effect
stop(fixture *f, const sk_seckey *key, int action, const char *reason,
    const char *except, sk_cli_response *resp)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_STOP;
	req.stop_action = action;
	snprintf(req.reason, sizeof(req.reason), "%s", reason != NULL ? reason : "");
	if (except != NULL)
		snprintf(req.except[req.nexcept++], SK_ID_MAX, "%s", except);
	return coord_testfix_ask_as(&f->fx, key, &req, resp);
}

static void
expect_refusal(sk_cli_response *resp, coord_control_effect e, int code, const char *what)
{
	assert_false(resp->ok);
	assert_int_equal(resp->error.code, code);
	if (strstr(resp->error.msg, what) == NULL)
		fail_msg("refusal '%s' does not say '%s'", resp->error.msg, what);
	assert_false(e.held);
	assert_false(e.started);
	sk_cli_response_fini(resp);
}

/* ---- scoped pause ------------------------------------------------------- */

static void
test_region_pause_holds_that_region_and_its_phase(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = coord_testfix_start(
	    &f->fx, f->admin, "plan-a", false, SK_MODE_APPLY, id);
	sk_cli_response resp;
	sk_command cmds[COORD_OPCTL_COMMANDS_MAX];
	coord_control_effect e;

	e = region_op(f, f->op, true, id, "af", "replica lag", &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_int_equal(resp.rollouts[0].nregion_pauses, 1);
	assert_string_equal(resp.rollouts[0].region_pauses[0].region, "af");
	assert_string_equal(resp.rollouts[0].region_pauses[0].by, "op");
	assert_string_equal(resp.rollouts[0].region_pauses[0].reason, "replica lag");
	assert_false(resp.rollouts[0].paused);
	assert_int_equal(resp.rollouts[0].ncontrols, 1);
	assert_int_equal(resp.rollouts[0].controls[0].kind, SK_CMD_PAUSE);
	assert_int_equal(resp.rollouts[0].controls[0].nregions, 1);
	sk_cli_response_fini(&resp);
	assert_false(coord_rollout_wants(ro, "af"));
	/* Its agent holds; the region's pause is what it hears. */
	assert_int_equal(coord_testfix_commands(ro, "af", cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_PAUSE);
	assert_string_equal(cmds[0].actor, "op");
	/* An agent of another region that runs it is told to go on. */
	assert_int_equal(coord_testfix_commands(ro, "in", cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_RESUME);
	/* af finishes its running step and the plan: the phase does not
	 * complete while af is paused. */
	coord_testfix_report(&f->fx, ro, "af", SK_EV_PLAN_SUCCEEDED);
	assert_int_equal(ro->phase, 0);
	assert_false(coord_rollout_wants(ro, "in"));
	e = region_op(f, f->op, false, id, "af", NULL, &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_int_equal(resp.rollouts[0].nregion_pauses, 0);
	sk_cli_response_fini(&resp);
	assert_int_equal(ro->phase, 1);
	assert_true(coord_rollout_wants(ro, "in"));
	/* A paused region of a later phase is not started. */
	e = region_op(f, f->op, true, id, "ksa", NULL, &resp);
	assert_true(resp.ok);
	sk_cli_response_fini(&resp);
	assert_false(coord_rollout_wants(ro, "ksa"));
	assert_true(coord_rollout_wants(ro, "in"));
}

static void
test_region_pause_refusals_change_nothing(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = coord_testfix_start(
	    &f->fx, f->admin, "plan-a", false, SK_MODE_APPLY, id);
	sk_cli_response resp;
	sk_cli_request req;
	coord_control_effect e;
	uint64_t gen = ro->ctl.gen;

	e = region_op(f, f->op, true, id, "mars", NULL, &resp);
	expect_refusal(&resp, e, SK_EINVAL, "has no region mars");
	e = region_op(f, f->op, false, id, "af", NULL, &resp);
	expect_refusal(&resp, e, SK_ESTATE, "not paused there");
	e = region_op(f, f->viewer, true, id, "af", NULL, &resp);
	expect_refusal(&resp, e, SK_EREFUSED, "needs role operator");
	e = region_op(f, f->op, true, "r-nope", "af", NULL, &resp);
	expect_refusal(&resp, e, SK_ENOTFOUND, "no such rollout");
	e = region_op(f, f->op, true, id, "af", "two\nlines", &resp);
	expect_refusal(&resp, e, SK_EINVAL, "control character");
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_PAUSE;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.regions[0], SK_NAME_MAX, "af");
	snprintf(req.regions[1], SK_NAME_MAX, "af");
	req.nregions = 2;
	e = coord_testfix_ask_as(&f->fx, f->op, &req, &resp);
	expect_refusal(&resp, e, SK_EINVAL, "named twice");
	/* The whole rollout paused: a region cannot be paused on its own. */
	assert_true(coord_testfix_opctl(&f->fx, f->op, SK_CLI_PAUSE, id, "", NULL, &resp)
			.held);
	sk_cli_response_fini(&resp);
	gen = ro->ctl.gen;
	e = region_op(f, f->op, true, id, "af", NULL, &resp);
	expect_refusal(&resp, e, SK_ESTATE, "whole rollout is paused");
	coord_testfix_unsigned_refused(&f->fx, SK_CLI_PAUSE, id);
	assert_int_equal(ro->ctl.gen, gen);
	assert_false(ro->regions[0].paused);
	assert_int_equal(coord_testfix_journal_opctl(&f->fx).records, 1);
}

/* ---- abort -------------------------------------------------------------- */

static void
test_abort_ends_the_rollout_and_its_agents_hear_it(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = coord_testfix_start(
	    &f->fx, f->admin, "plan-a", false, SK_MODE_APPLY, id);
	sk_cli_response resp;
	sk_cli_request req;
	sk_command cmds[COORD_OPCTL_COMMANDS_MAX];
	coord_control_effect e;
	const char **names = NULL;
	size_t n = 0;
	sk_err err;

	coord_testfix_report(&f->fx, ro, "af", SK_EV_PLAN_ACCEPTED);
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_ABORT;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.reason, sizeof(req.reason), "wrong plan");
	e = coord_testfix_ask_as(&f->fx, f->viewer, &req, &resp);
	expect_refusal(&resp, e, SK_EREFUSED, "needs role operator");
	coord_testfix_unsigned_refused(&f->fx, SK_CLI_ABORT, id);
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	e = coord_testfix_ask_as(&f->fx, f->op, &req, &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_string_equal(resp.rollouts[0].state, "aborted");
	assert_int_equal(resp.rollouts[0].ncontrols, 1);
	assert_int_equal(resp.rollouts[0].controls[0].kind, SK_CMD_ABORT);
	assert_string_equal(resp.rollouts[0].controls[0].actor, "op");
	assert_string_equal(resp.rollouts[0].controls[0].reason, "wrong plan");
	sk_cli_response_fini(&resp);
	assert_int_equal(ro->state, COORD_RO_ABORTED);
	assert_false(coord_rollout_wants(ro, "af"));
	assert_false(coord_rollout_wants(ro, "in"));
	assert_int_equal(coord_testfix_commands(ro, "af", cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_ABORT);
	/* Its running region has not said how its step ended: no rollback. */
	assert_int_equal(
	    coord_rollout_rollback_regions(ro, NULL, &names, &n, &err), SK_ESTATE);
	assert_non_null(strstr(err.msg, "has not yet reported"));
	/* Aborting it again, or an unknown one: refused, nothing changes. */
	e = coord_testfix_ask_as(&f->fx, f->op, &req, &resp);
	expect_refusal(&resp, e, SK_ESTATE, "it has finished (aborted)");
	snprintf(req.rollout_id, sizeof(req.rollout_id), "r-nope");
	e = coord_testfix_ask_as(&f->fx, f->op, &req, &resp);
	expect_refusal(&resp, e, SK_ENOTFOUND, "no such rollout");
	assert_int_equal(coord_testfix_journal_opctl(&f->fx).kinds[SK_CMD_ABORT], 1);
	/* The region reports its end (the agent failed it as aborted): now
	 * the rollback may run there. */
	coord_testfix_report(&f->fx, ro, "af", SK_EV_PLAN_FAILED);
	assert_int_equal(ro->state, COORD_RO_ABORTED);
	assert_int_equal(
	    coord_rollout_rollback_regions(ro, NULL, &names, &n, &err), SK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "af");
	free(names);
}

/* ---- stop the line ------------------------------------------------------ */

static void
test_stop_pauses_all_but_excepted_and_lift_resumes_only_those(void **state)
{
	fixture *f = *state;
	char a[SK_ID_MAX], b[SK_ID_MAX], c[SK_ID_MAX], d[SK_ID_MAX];
	coord_rollout *ra = coord_testfix_start(
	    &f->fx, f->admin, "plan-a", false, SK_MODE_APPLY, a);
	coord_rollout *rb = coord_testfix_start(
	    &f->fx, f->admin, "plan-b", false, SK_MODE_APPLY, b);
	coord_rollout *rc = coord_testfix_start(
	    &f->fx, f->admin, "plan-c", false, SK_MODE_APPLY, c);
	coord_rollout *rd;
	sk_cli_response resp;
	coord_control_effect e;

	assert_true(
	    coord_testfix_opctl(&f->fx, f->op, SK_CLI_PAUSE, c, "mine", NULL, &resp)
		.held);
	sk_cli_response_fini(&resp);
	/* A viewer may look at the line, not stop it; a lift of a running
	 * line is refused. */
	e = stop(f, f->viewer, SK_STOP_STATUS, NULL, NULL, &resp);
	assert_true(resp.ok);
	assert_true(resp.has_line);
	assert_false(resp.line.stopped);
	assert_false(e.held);
	sk_cli_response_fini(&resp);
	e = stop(f, f->viewer, SK_STOP_ALL, NULL, NULL, &resp);
	expect_refusal(&resp, e, SK_EREFUSED, "needs role operator");
	e = stop(f, f->op, SK_STOP_LIFT, NULL, NULL, &resp);
	expect_refusal(&resp, e, SK_ESTATE, "not stopped");
	e = stop(f, f->op, SK_STOP_ALL, "incident", "r-nope", &resp);
	expect_refusal(&resp, e, SK_ENOTFOUND, "no such rollout");
	coord_testfix_unsigned_refused(&f->fx, SK_CLI_STOP, "");
	assert_false(f->fx.line.stopped);
	assert_false(ra->ctl.paused);

	e = stop(f, f->op, SK_STOP_ALL, "incident 42", b, &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_true(resp.has_line);
	assert_true(resp.line.stopped);
	assert_string_equal(resp.line.by, "op");
	assert_string_equal(resp.line.reason, "incident 42");
	assert_int_equal(resp.line.npaused, 1);
	assert_string_equal(resp.line.paused[0], a);
	sk_cli_response_fini(&resp);
	assert_true(ra->ctl.paused);
	assert_true(ra->ctl.by_line);
	assert_false(rb->ctl.paused);
	assert_true(rc->ctl.paused);
	assert_false(rc->ctl.by_line);
	assert_false(coord_rollout_wants(ra, "af"));
	assert_true(coord_rollout_wants(rb, "af"));
	e = stop(f, f->op, SK_STOP_ALL, NULL, NULL, &resp);
	expect_refusal(&resp, e, SK_ESTATE, "already stopped");
	/* Started while stopped: starts paused, by the line. */
	rd = coord_testfix_start(&f->fx, f->admin, "plan-d", false, SK_MODE_APPLY, d);
	assert_true(rd->ctl.paused);
	assert_true(rd->ctl.by_line);
	assert_false(coord_rollout_wants(rd, "af"));

	e = stop(f, f->op, SK_STOP_LIFT, NULL, NULL, &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_false(resp.line.stopped);
	sk_cli_response_fini(&resp);
	assert_false(ra->ctl.paused);
	assert_false(rd->ctl.paused);
	assert_true(rc->ctl.paused); /* paused by an operator: stays */
	assert_true(coord_rollout_wants(ra, "af"));
}

/* ---- replay ------------------------------------------------------------- */

static void
test_replay_restores_region_pauses_aborts_and_the_line(void **state)
{
	fixture *f = *state;
	char a[SK_ID_MAX], b[SK_ID_MAX], c[SK_ID_MAX], d[SK_ID_MAX];
	coord_rollout *ra = coord_testfix_start(
	    &f->fx, f->admin, "plan-a", false, SK_MODE_APPLY, a);
	coord_rollout *rb = coord_testfix_start(
	    &f->fx, f->admin, "plan-b", false, SK_MODE_APPLY, b);
	coord_rollout *rc = coord_testfix_start(
	    &f->fx, f->admin, "plan-c", false, SK_MODE_APPLY, c);
	coord_rollout *rd, *x;
	sk_cli_response resp;
	sk_cli_request req;
	coord_testfix_replayed r;

	assert_true(region_op(f, f->op, true, a, "af", "lag", &resp).held);
	sk_cli_response_fini(&resp);
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_ABORT;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", b);
	assert_true(coord_testfix_ask_as(&f->fx, f->op, &req, &resp).held);
	sk_cli_response_fini(&resp);
	assert_true(stop(f, f->admin, SK_STOP_ALL, "freeze", NULL, &resp).held);
	sk_cli_response_fini(&resp);
	rd = coord_testfix_start(&f->fx, f->admin, "plan-d", false, SK_MODE_APPLY, d);

	coord_testfix_replay(&f->fx, true, &r);
	assert_true(r.line.stopped);
	assert_string_equal(r.line.by, "admin");
	assert_string_equal(r.line.reason, "freeze");
	x = coord_registry_find(&r.rollouts, a);
	assert_true(x->regions[0].paused);
	assert_string_equal(x->regions[0].pause_reason, "lag");
	assert_true(x->ctl.paused && x->ctl.by_line);
	assert_int_equal(x->ctl.gen, ra->ctl.gen);
	assert_int_equal(x->ctl.nhist, ra->ctl.nhist);
	x = coord_registry_find(&r.rollouts, b);
	assert_int_equal(x->state, COORD_RO_ABORTED);
	assert_int_equal(x->ctl.gen, rb->ctl.gen);
	x = coord_registry_find(&r.rollouts, c);
	assert_true(x->ctl.paused && x->ctl.by_line);
	assert_int_equal(x->ctl.gen, rc->ctl.gen);
	x = coord_registry_find(&r.rollouts, d);
	assert_true(x->ctl.paused && x->ctl.by_line);
	assert_int_equal(x->ctl.gen, rd->ctl.gen);
	coord_registry_fini(&r.rollouts);

	/* Lifted, then replayed: every rollout the stop held runs again. */
	assert_true(stop(f, f->admin, SK_STOP_LIFT, NULL, NULL, &resp).held);
	sk_cli_response_fini(&resp);
	coord_testfix_replay(&f->fx, true, &r);
	assert_false(r.line.stopped);
	x = coord_registry_find(&r.rollouts, d);
	assert_false(x->ctl.paused);
	assert_int_equal(x->ctl.gen, rd->ctl.gen);
	x = coord_registry_find(&r.rollouts, a);
	assert_false(x->ctl.paused);
	assert_true(x->regions[0].paused); /* its own pause stays */
	coord_registry_fini(&r.rollouts);
}

int
main(void)
{
#define T(fn) \
cmocka_unit_test_setup_teardown(fn, setup, coord_testfix_staff_teardown)
	const struct CMUnitTest tests[] = {
		T(test_region_pause_holds_that_region_and_its_phase),
		T(test_region_pause_refusals_change_nothing),
		T(test_abort_ends_the_rollout_and_its_agents_hear_it),
		T(test_stop_pauses_all_but_excepted_and_lift_resumes_only_those),
		T(test_replay_restores_region_pauses_aborts_and_the_line),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}

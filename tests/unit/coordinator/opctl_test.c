/* opctl_test: an operator's pause, resume and tune of a running rollout
 * (coord_opctl), answered without a socket, as the skein CLI sends them
 * (signed operator requests). A pause is journaled with who and why,
 * holds the next phase and dispatches nothing; a resume starts the phase
 * it held back; tunes merge. Every refusal — a role below operator, an
 * unknown signer, an unknown or finished rollout, a rehearsal, a second
 * pause, a resume of what is not paused, a bad reason, a tune of a plan
 * with no backfill, an empty tune, a batch out of bounds or batch_min
 * above batch_max once merged — changes nothing: not the rollout, not the
 * journal's operator records. The journal's replay restores the pause
 * and the merged tune with the same control generation; a pause ends
 * with its rollout; and each agent running a rollout is sent the state
 * it has not applied, again after COORD_OPCTL_RESEND_MS, and never in a
 * loop. */
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
	return coord_testfix_staff_setup(state, "opctl", false);
}

/* opctl, expecting a refusal with code and a message containing what;
 * the effect says nothing happened. */
static void
refused(fixture *f, const sk_seckey *key, int op, const char *id,
    const char *reason, const sk_tune *t, int code, const char *what)
{
	sk_cli_response resp;
	coord_control_effect e =
	    coord_testfix_opctl(&f->fx, key, op, id, reason, t, &resp);

	assert_false(resp.ok);
	assert_int_equal(resp.error.code, code);
	if (strstr(resp.error.msg, what) == NULL)
		fail_msg("refusal '%s' does not say '%s'", resp.error.msg, what);
	assert_false(e.held);
	assert_false(e.started);
	sk_cli_response_fini(&resp);
}
/* ---- pause and resume --------------------------------------------------- */

static void
test_opctl_pause_holds_the_next_phase_and_resume_starts_it(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = coord_testfix_start(
	    &f->fx, f->admin, "plan-a", false, SK_MODE_APPLY, id);
	sk_cli_response resp;
	coord_control_effect e;
	coord_testfix_opctls c;

	assert_true(coord_rollout_wants(ro, "af"));
	e = coord_testfix_opctl(
	    &f->fx, f->op, SK_CLI_PAUSE, id, "replica lag", NULL, &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_string_equal(resp.rollout_id, id);
	assert_int_equal(resp.nrollouts, 1);
	assert_true(resp.rollouts[0].paused);
	assert_string_equal(resp.rollouts[0].paused_by, "op");
	assert_string_not_equal(resp.rollouts[0].paused_by_key, "");
	assert_string_equal(resp.rollouts[0].pause_reason, "replica lag");
	assert_true(resp.rollouts[0].paused_ms > 0);
	sk_cli_response_fini(&resp);
	c = coord_testfix_journal_opctl(&f->fx);
	assert_int_equal(c.records, 1);
	assert_int_equal(c.kinds[SK_CMD_PAUSE], 1);
	assert_string_equal(c.last_actor, "op");
	assert_string_equal(c.last_reason, "replica lag");

	/* Paused: nothing is dispatched, and the canary's success does not
	 * start the next phase. */
	assert_false(coord_rollout_wants(ro, "af"));
	assert_false(coord_testfix_report(&f->fx, ro, "af", SK_EV_PLAN_ACCEPTED));
	assert_false(coord_testfix_report(&f->fx, ro, "af", SK_EV_PLAN_SUCCEEDED));
	assert_int_equal(ro->phase, 0);
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	assert_false(coord_rollout_wants(ro, "in"));

	e = coord_testfix_opctl(&f->fx, f->op, SK_CLI_RESUME, id, NULL, NULL, &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_false(resp.rollouts[0].paused);
	sk_cli_response_fini(&resp);
	assert_false(ro->ctl.paused);
	assert_int_equal(ro->phase, 1);
	assert_true(coord_rollout_wants(ro, "in"));
	assert_true(coord_rollout_wants(ro, "ksa"));
	c = coord_testfix_journal_opctl(&f->fx);
	assert_int_equal(c.kinds[SK_CMD_RESUME], 1);
	assert_int_equal(ro->ctl.gen, 2);
}

static void
test_opctl_refusals_change_nothing(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX], reh[SK_ID_MAX], done[SK_ID_MAX];
	coord_rollout *ro = coord_testfix_start(
	    &f->fx, f->admin, "plan-a", true, SK_MODE_APPLY, id);
	coord_rollout *rh = coord_testfix_start(
	    &f->fx, f->admin, "plan-r", false, SK_MODE_REHEARSE, reh);
	coord_rollout *fin = coord_testfix_start(
	    &f->fx, f->admin, "plan-f", false, SK_MODE_APPLY, done);
	sk_tune t = { .batch_max = 1000 };
	sk_cli_response resp;
	coord_opctl before;

	(void)rh;
	for (size_t i = 0; i < fin->nregions; i++)
		fin->regions[i].state = COORD_R_SUCCEEDED;
	fin->state = COORD_RO_SUCCEEDED;

	before = ro->ctl;
	refused(f, f->viewer, SK_CLI_PAUSE, id, "", NULL, SK_EREFUSED,
	    "operator viewer (viewer) may not pause: that needs role operator");
	refused(f, f->viewer, SK_CLI_TUNE, id, "", &t, SK_EREFUSED,
	    "may not tune: that needs role operator");
	refused(f, f->stranger, SK_CLI_PAUSE, id, "", NULL, SK_ECRYPTO,
	    "is not a pinned key");
	coord_testfix_unsigned_refused(&f->fx, SK_CLI_PAUSE, id);
	coord_testfix_unsigned_refused(&f->fx, SK_CLI_RESUME, id);
	refused(f, f->op, SK_CLI_PAUSE, "r-nosuch", "", NULL, SK_ENOTFOUND,
	    "pause rollout r-nosuch: no such rollout");
	refused(f, f->op, SK_CLI_PAUSE, done, "", NULL, SK_ESTATE,
	    "it has finished (succeeded); there is nothing to pause");
	refused(f, f->op, SK_CLI_TUNE, done, "", &t, SK_ESTATE,
	    "there is nothing to tune");
	refused(f, f->op, SK_CLI_PAUSE, reh, "", NULL, SK_ESTATE,
	    "a rehearsal cannot be paused or tuned");
	refused(f, f->op, SK_CLI_RESUME, id, "", NULL, SK_ESTATE, "resume rollout");
	refused(f, f->op, SK_CLI_PAUSE, id, "two\nlines", NULL, SK_EINVAL,
	    "control character");
	assert_memory_equal(&before, &ro->ctl, sizeof(before));
	assert_int_equal(coord_testfix_journal_opctl(&f->fx).records, 0);

	/* A second pause, then a viewer's resume. */
	assert_true(coord_testfix_opctl(
	    &f->fx, f->op, SK_CLI_PAUSE, id, "first", NULL, &resp)
			.held);
	sk_cli_response_fini(&resp);
	before = ro->ctl;
	refused(f, f->op, SK_CLI_PAUSE, id, "second", NULL, SK_ESTATE,
	    "is already paused, by op at ");
	refused(f, f->viewer, SK_CLI_RESUME, id, "", NULL, SK_EREFUSED,
	    "may not resume: that needs role operator");
	assert_memory_equal(&before, &ro->ctl, sizeof(before));
	assert_true(ro->ctl.paused);
	assert_string_equal(ro->ctl.reason, "first");
	assert_int_equal(coord_testfix_journal_opctl(&f->fx).records, 1);
}

/* ---- tunes -------------------------------------------------------------- */

static void
test_opctl_tunes_merge_and_bad_ones_change_nothing(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX], plain[SK_ID_MAX];
	coord_rollout *ro = coord_testfix_start(
	    &f->fx, f->admin, "plan-b", true, SK_MODE_APPLY, id);
	sk_tune empty = { 0 }, max = { .batch_max = 1000 },
		rate = { .has_rate = true, .max_rows_per_second = 250 },
		big = { .batch_min = SK_BACKFILL_BATCH_LIMIT + 1 },
		min_over_plan = { .batch_min = 60000 },
		min_over_tune = { .batch_min = 2000 },
		both = { .batch_min = 500, .batch_max = 400 },
		none = { .has_rate = true };
	sk_cli_response resp;
	coord_opctl before;

	coord_testfix_start(&f->fx, f->admin, "plan-c", false, SK_MODE_APPLY, plain);
	refused(f, f->op, SK_CLI_TUNE, plain, "", &max, SK_ESTATE,
	    "has no backfill or expand step: nothing to tune");
	refused(f, f->op, SK_CLI_TUNE, id, "", &empty, SK_EINVAL, "nothing to tune");
	refused(f, f->op, SK_CLI_TUNE, id, "", &big, SK_EINVAL, "is not in [1, 1000000]");
	refused(f, f->op, SK_CLI_TUNE, id, "", &min_over_plan, SK_EINVAL,
	    "step 0002_fill_region would run batches of at least 60000 and at "
	    "most 50000 rows");
	refused(f, f->op, SK_CLI_TUNE, id, "", &both, SK_EINVAL,
	    "batch_min above batch_max");
	assert_false(ro->ctl.tuned);
	assert_int_equal(ro->ctl.gen, 0);

	assert_true(
	    coord_testfix_opctl(&f->fx, f->op, SK_CLI_TUNE, id, "", &max, &resp).held);
	assert_true(resp.ok);
	assert_true(resp.rollouts[0].has_tune);
	assert_int_equal(resp.rollouts[0].tune.batch_max, 1000);
	sk_cli_response_fini(&resp);
	assert_true(coord_testfix_opctl(&f->fx, f->op, SK_CLI_TUNE, id, "", &rate, &resp)
			.held);
	sk_cli_response_fini(&resp);
	assert_true(ro->ctl.tuned);
	assert_int_equal(ro->ctl.tune.batch_max, 1000);
	assert_true(ro->ctl.tune.has_rate && ro->ctl.tune.max_rows_per_second == 250);
	assert_int_equal(ro->ctl.gen, 2);

	/* Above the batch_max an earlier tune set: refused, nothing changes. */
	before = ro->ctl;
	refused(f, f->op, SK_CLI_TUNE, id, "", &min_over_tune, SK_EINVAL,
	    "at least 2000 and at most 1000 rows");
	assert_memory_equal(&before, &ro->ctl, sizeof(before));
	assert_int_equal(coord_testfix_journal_opctl(&f->fx).kinds[SK_CMD_TUNE], 2);

	/* none: no limit, which is not "unchanged". */
	assert_true(coord_testfix_opctl(&f->fx, f->op, SK_CLI_TUNE, id, "", &none, &resp)
			.held);
	sk_cli_response_fini(&resp);
	assert_true(ro->ctl.tune.has_rate);
	assert_true(ro->ctl.tune.max_rows_per_second == 0);
	assert_int_equal(ro->ctl.tune.batch_max, 1000);
}

/* ---- the journal -------------------------------------------------------- */

static void
assert_same_ctl(const coord_opctl *a, const coord_opctl *b)
{
	assert_int_equal(a->paused, b->paused);
	assert_string_equal(a->paused_by, b->paused_by);
	assert_string_equal(a->paused_by_key, b->paused_by_key);
	assert_int_equal(a->paused_ms, b->paused_ms);
	assert_string_equal(a->reason, b->reason);
	assert_int_equal(a->tuned, b->tuned);
	assert_int_equal(a->tune.has_rate, b->tune.has_rate);
	assert_true(a->tune.max_rows_per_second == b->tune.max_rows_per_second);
	assert_int_equal(a->tune.batch_min, b->tune.batch_min);
	assert_int_equal(a->tune.batch_max, b->tune.batch_max);
	assert_int_equal(a->gen, b->gen);
}

static void
test_opctl_journal_replay_restores_pause_and_merged_tune(void **state)
{
	fixture *f = *state;
	char a[SK_ID_MAX], b[SK_ID_MAX];
	coord_rollout *ra =
	    coord_testfix_start(&f->fx, f->admin, "plan-a", true, SK_MODE_APPLY, a);
	coord_rollout *rb =
	    coord_testfix_start(&f->fx, f->admin, "plan-b", true, SK_MODE_APPLY, b);
	sk_tune t1 = { .batch_max = 4000 }, t2 = { true, 900, 200, 0 };
	sk_cli_response resp;
	coord_testfix_replayed r;
	coord_rollout *ra2, *rb2;

	/* a: tuned twice, paused, then the canary succeeds (held); b:
	 * paused, resumed, tuned. */
	assert_true(
	    coord_testfix_opctl(&f->fx, f->op, SK_CLI_TUNE, a, "", &t1, &resp).held);
	sk_cli_response_fini(&resp);
	assert_true(
	    coord_testfix_opctl(&f->fx, f->op, SK_CLI_TUNE, a, "", &t2, &resp).held);
	sk_cli_response_fini(&resp);
	assert_true(coord_testfix_opctl(
	    &f->fx, f->admin, SK_CLI_PAUSE, a, "maintenance", NULL, &resp)
			.held);
	sk_cli_response_fini(&resp);
	coord_testfix_report(&f->fx, ra, "af", SK_EV_PLAN_SUCCEEDED);
	assert_true(
	    coord_testfix_opctl(&f->fx, f->op, SK_CLI_PAUSE, b, "", NULL, &resp).held);
	sk_cli_response_fini(&resp);
	assert_true(coord_testfix_opctl(&f->fx, f->op, SK_CLI_RESUME, b, "", NULL, &resp)
			.held);
	sk_cli_response_fini(&resp);
	assert_true(
	    coord_testfix_opctl(&f->fx, f->op, SK_CLI_TUNE, b, "", &t1, &resp).held);
	sk_cli_response_fini(&resp);

	coord_testfix_replay(&f->fx, false, &r);
	ra2 = coord_registry_find(&r.rollouts, a);
	rb2 = coord_registry_find(&r.rollouts, b);
	assert_non_null(ra2);
	assert_non_null(rb2);
	assert_same_ctl(&ra->ctl, &ra2->ctl);
	assert_same_ctl(&rb->ctl, &rb2->ctl);
	assert_true(ra2->ctl.paused);
	assert_string_equal(ra2->ctl.paused_by, "admin");
	assert_string_equal(ra2->ctl.reason, "maintenance");
	assert_int_equal(ra2->ctl.tune.batch_min, 200);
	assert_int_equal(ra2->ctl.tune.batch_max, 4000);
	assert_true(ra2->ctl.tune.max_rows_per_second == 900);
	assert_int_equal(ra2->ctl.gen, 3);
	assert_false(rb2->ctl.paused);
	assert_int_equal(rb2->ctl.gen, 3);

	/* Restarted while paused with its phase done: settling keeps the
	 * next phase back until the resume. */
	{
		bool changed = true;
		sk_err err;

		assert_int_equal(
		    coord_rollout_settle(ra2, f->fx.journal, &changed, &err), SK_OK);
		assert_false(changed);
		assert_int_equal(ra2->phase, 0);
		assert_false(coord_rollout_wants(ra2, "in"));
	}
	coord_registry_fini(&r.rollouts);
}

static void
test_opctl_a_pause_ends_with_its_rollout(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = coord_testfix_start(
	    &f->fx, f->admin, "plan-a", false, SK_MODE_APPLY, id);
	sk_cli_response resp;
	coord_opctl_peer peer;
	sk_command cmds[COORD_OPCTL_COMMANDS_MAX];
	char running[1][SK_NAME_MAX];
	sk_run_control applied[1];
	sk_agent_msg m;
	coord_testfix_replayed r;
	uint64_t gen;

	assert_true(coord_testfix_opctl(&f->fx, f->op, SK_CLI_PAUSE, id, "", NULL, &resp)
			.held);
	sk_cli_response_fini(&resp);
	gen = ro->ctl.gen;
	/* af's agent applied the pause; then af fails: the rollout halts,
	 * and its pause ends. */
	memset(&m, 0, sizeof(m));
	snprintf(running[0], SK_NAME_MAX, "%s", id);
	snprintf(applied[0].rollout_id, SK_ID_MAX, "%s", id);
	applied[0].control_gen = gen;
	m.running = running;
	m.nrunning = 1;
	m.applied = applied;
	m.napplied = 1;
	coord_opctl_peer_reset(&peer);
	coord_opctl_peer_note(&peer, &m);
	assert_int_equal(coord_opctl_commands(&peer, ro, 0, cmds), 0);
	coord_testfix_report(&f->fx, ro, "af", SK_EV_PLAN_FAILED);
	assert_int_equal(ro->state, COORD_RO_FAILED);
	assert_false(ro->ctl.paused);
	assert_int_equal(ro->ctl.gen, gen + 1);
	/* The agent still running it hears RESUME, so it does not wait
	 * forever for a resume nobody can give. */
	assert_int_equal(coord_opctl_commands(&peer, ro, 0, cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_RESUME);
	refused(f, f->op, SK_CLI_RESUME, id, "", NULL, SK_ESTATE,
	    "it has finished (failed)");
	coord_testfix_replay(&f->fx, false, &r);
	assert_same_ctl(&ro->ctl, &coord_registry_find(&r.rollouts, id)->ctl);
	coord_registry_fini(&r.rollouts);
}

/* ---- what an agent hears ------------------------------------------------ */

static void
test_opctl_commands_bring_each_agent_up_to_date_once(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX], other[SK_ID_MAX];
	coord_rollout *ro = coord_testfix_start(
	    &f->fx, f->admin, "plan-a", true, SK_MODE_APPLY, id);
	coord_rollout *ro2 = coord_testfix_start(
	    &f->fx, f->admin, "plan-b", true, SK_MODE_APPLY, other);
	sk_tune t = { .batch_max = 800 };
	sk_cli_response resp;
	coord_opctl_peer peer;
	sk_command cmds[COORD_OPCTL_COMMANDS_MAX], run;
	char running[1][SK_NAME_MAX];
	sk_run_control applied[1];
	sk_agent_msg m;

	memset(&m, 0, sizeof(m));
	snprintf(running[0], SK_NAME_MAX, "%s", id);
	m.running = running;
	m.nrunning = 1;
	coord_opctl_peer_reset(&peer);
	coord_opctl_peer_note(&peer, &m);
	/* Never paused or tuned: nothing to say. */
	assert_int_equal(coord_opctl_commands(&peer, ro, 0, cmds), 0);

	assert_true(
	    coord_testfix_opctl(&f->fx, f->op, SK_CLI_TUNE, id, "", &t, &resp).held);
	sk_cli_response_fini(&resp);
	assert_true(
	    coord_testfix_opctl(&f->fx, f->op, SK_CLI_PAUSE, id, "why", NULL, &resp)
		.held);
	sk_cli_response_fini(&resp);
	assert_int_equal(coord_opctl_commands(&peer, ro, 1000, cmds), 2);
	assert_int_equal(cmds[0].kind, SK_CMD_PAUSE);
	assert_string_equal(cmds[0].rollout_id, id);
	assert_string_equal(cmds[0].actor, "op");
	assert_string_equal(cmds[0].reason, "why");
	assert_int_equal(cmds[0].control_gen, 2);
	assert_int_equal(cmds[1].kind, SK_CMD_TUNE);
	assert_true(cmds[1].has_tune);
	assert_int_equal(cmds[1].tune.batch_max, 800);
	assert_int_equal(cmds[1].control_gen, 2);
	assert_null(cmds[0].signed_plan);
	/* Sent and not yet applied: not again at once (the agent's next
	 * poll must not spin), but again after the resend interval. */
	assert_int_equal(coord_opctl_commands(&peer, ro, 1500, cmds), 0);
	coord_opctl_peer_note(&peer, &m);
	assert_int_equal(coord_opctl_commands(&peer, ro, 1500, cmds), 0);
	assert_int_equal(
	    coord_opctl_commands(&peer, ro, 1000 + COORD_OPCTL_RESEND_MS, cmds), 2);
	/* Applied: nothing more. */
	snprintf(applied[0].rollout_id, SK_ID_MAX, "%s", id);
	applied[0].control_gen = 2;
	m.applied = applied;
	m.napplied = 1;
	coord_opctl_peer_note(&peer, &m);
	assert_int_equal(coord_opctl_commands(&peer, ro, 99999, cmds), 0);
	/* A rollout the agent does not run: nothing, even paused. */
	assert_true(
	    coord_testfix_opctl(&f->fx, f->op, SK_CLI_PAUSE, other, "", NULL, &resp)
		.held);
	sk_cli_response_fini(&resp);
	assert_int_equal(coord_opctl_commands(&peer, ro2, 99999, cmds), 0);
	/* A new boot of the agent, which runs it again with nothing
	 * applied: it hears the state at once. */
	coord_opctl_peer_reset(&peer);
	m.applied = NULL;
	m.napplied = 0;
	coord_opctl_peer_note(&peer, &m);
	assert_int_equal(coord_opctl_commands(&peer, ro, 99999, cmds), 2);
	/* A resume is a new generation: heard at once, within the resend
	 * interval of the pause. */
	assert_true(coord_testfix_opctl(&f->fx, f->op, SK_CLI_RESUME, id, "", NULL, &resp)
			.held);
	sk_cli_response_fini(&resp);
	assert_int_equal(coord_opctl_commands(&peer, ro, 100000, cmds), 2);
	assert_int_equal(cmds[0].kind, SK_CMD_RESUME);
	assert_int_equal(cmds[0].control_gen, 3);
	/* A RUN starts in the rollout's state. */
	memset(&run, 0, sizeof(run));
	coord_opctl_run_state(ro, &run);
	assert_int_equal(run.control_gen, 3);
	assert_true(run.has_tune);
	assert_int_equal(run.tune.batch_max, 800);
}

#define T(fn) \
cmocka_unit_test_setup_teardown(fn, setup, coord_testfix_staff_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_opctl_pause_holds_the_next_phase_and_resume_starts_it),
		T(test_opctl_refusals_change_nothing),
		T(test_opctl_tunes_merge_and_bad_ones_change_nothing),
		T(test_opctl_journal_replay_restores_pause_and_merged_tune),
		T(test_opctl_a_pause_ends_with_its_rollout),
		T(test_opctl_commands_bring_each_agent_up_to_date_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

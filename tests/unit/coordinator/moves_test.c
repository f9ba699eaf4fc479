/* Unit tests for the coordinator's part of tenant moves (coord_moves):
 * RUN_PLAN to a move's target carries the source peer (its move
 * endpoint and pinned key), and nothing to the source; the source hears
 * MOVE_SERVE (the TARGET peer, the signed plan) once the target's run is
 * dispatched, although it is in a later phase; again while its agent
 * does not list the move in serving_moves, and not once it does; a
 * rollback moves the tenant back with the sides swapped (peers marked
 * back); a start whose plan moves out of a region without a
 * move_endpoint is refused naming the region and step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coord_moves.h"
#include "coord_testfix.h"
#include "sk_util.h"

static int
setup(void **state)
{
	return coord_testfix_staff_setup(state, "moves", false);
}

static int
teardown(void **state)
{
	return coord_testfix_staff_teardown(state);
}

/* The fixture's regions af, in, ksa (inventory order) with move
 * endpoints (ksa's unless without_ksa) and distinct agent keys. */
static void
inventory(coord_testfix *fx, bool without_ksa)
{
	static const char *const endpoints[] = { "tcp://127.0.0.1:7411",
		"tcp://127.0.0.1:7412", "tcp://127.0.0.1:7413" };

	for (size_t i = 0; i < 3; i++) {
		fx->regions[i].move_endpoint = (char *)endpoints[i];
		memset(fx->regions[i].agent_key.pk, 0x10 + (int)i,
		    sizeof(fx->regions[i].agent_key.pk));
	}
	if (without_ksa)
		fx->regions[2].move_endpoint = NULL;
}

/* The fixture's plan (SQL step; af canary, then in and ksa) and a
 * move_tenant step moving hotel h1 from ksa (phase 2) to af (phase 1). */
static sk_plan *
move_plan(const char *name)
{
	sk_plan *plan = coord_testfix_plan(name, name, false);
	sk_step *s = &plan->steps[1];
	sk_move_tenant *m;

	s->id = coord_testfix_strdup("0002_move_h1");
	s->kind = SK_STEP_MOVE_TENANT;
	m = calloc(1, sizeof(*m));
	assert_non_null(m);
	m->column = coord_testfix_strdup("hotel_id");
	m->value = coord_testfix_strdup("h1");
	m->from = coord_testfix_strdup("ksa");
	m->to = coord_testfix_strdup("af");
	m->tables = calloc(1, sizeof(*m->tables));
	assert_non_null(m->tables);
	m->tables[0] = coord_testfix_strdup("bookings");
	m->ntables = 1;
	m->freeze_timeout_ms = 5000;
	m->max_lag_ms = 1000;
	s->move = m;
	plan->nsteps = 2;
	return plan;
}

/* Start move_plan(name) as the admin in mode: the answer into resp. */
static coord_control_effect
start(coord_testfix_staff *st, const char *name, int mode, sk_cli_response *resp)
{
	sk_cli_request req;
	coord_control_effect eff;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_START;
	req.mode = mode;
	req.signed_plan =
	    coord_testfix_seal(&st->fx, move_plan(name), &req.signed_plan_len);
	eff = coord_testfix_ask_as(&st->fx, st->admin, &req, resp);
	free(req.signed_plan);
	return eff;
}

static coord_rollout *
started(coord_testfix_staff *st, const char *name, int mode)
{
	sk_cli_response resp;
	coord_rollout *ro;

	assert_true(start(st, name, mode, &resp).started);
	if (!resp.ok)
		fail_msg("start: %s", resp.error.msg);
	ro = coord_registry_find(&st->fx.rollouts, resp.rollout_id);
	assert_non_null(ro);
	sk_cli_response_fini(&resp);
	return ro;
}

static void
dispatch(coord_testfix *fx, coord_rollout *ro, const char *region)
{
	sk_err err;

	assert_int_equal(
	    coord_rollout_dispatched(ro, region, fx->journal, sk_now_ms(), &err), SK_OK);
}

static void
test_run_plan_to_target_carries_source_peer(void **state)
{
	coord_testfix_staff *st = *state;
	coord_rollout *ro;
	sk_move_peer *peers = NULL;
	size_t n = 99;
	sk_err err;

	inventory(&st->fx, false);
	ro = started(st, "move_run", SK_MODE_APPLY);
	assert_int_equal(
	    coord_moves_run_peers(ro, &st->fx.inv, "af", &peers, &n, &err), SK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(peers[0].step_id, "0002_move_h1");
	assert_int_equal(peers[0].role, SK_MOVE_ROLE_SOURCE);
	assert_string_equal(peers[0].region, "ksa");
	assert_string_equal(peers[0].address, "tcp://127.0.0.1:7413");
	assert_memory_equal(peers[0].agent_key, st->fx.regions[2].agent_key.pk,
	    SK_MOVE_KEY_LEN);
	free(peers);

	/* The source, and a bystander, get no peers in their RUN_PLAN. */
	assert_int_equal(
	    coord_moves_run_peers(ro, &st->fx.inv, "ksa", &peers, &n, &err), SK_OK);
	assert_int_equal(n, 0);
	assert_null(peers);
	assert_int_equal(
	    coord_moves_run_peers(ro, &st->fx.inv, "in", &peers, &n, &err), SK_OK);
	assert_int_equal(n, 0);
	assert_null(peers);

	/* Rehearsal too. */
	ro = started(st, "move_rehearse", SK_MODE_REHEARSE);
	assert_int_equal(
	    coord_moves_run_peers(ro, &st->fx.inv, "af", &peers, &n, &err), SK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(peers[0].address, "tcp://127.0.0.1:7413");
	free(peers);
}

static void
test_source_hears_move_serve_once_target_dispatched(void **state)
{
	coord_testfix_staff *st = *state;
	coord_rollout *ro;
	sk_command cmd;
	bool any = true;
	char serving[2][SK_MOVE_KEY_MAX];
	sk_err err;

	inventory(&st->fx, false);
	ro = started(st, "move_serve", SK_MODE_APPLY);
	/* Before the target's run is dispatched: nothing. */
	assert_int_equal(
	    coord_moves_serve(ro, &st->fx.inv, "ksa", NULL, 0, &cmd, &any, &err), SK_OK);
	assert_false(any);
	/* ksa is in phase 2 and pending; af (phase 1) is dispatched. */
	assert_false(coord_rollout_wants(ro, "ksa"));
	dispatch(&st->fx, ro, "af");
	assert_int_equal(
	    coord_moves_serve(ro, &st->fx.inv, "ksa", NULL, 0, &cmd, &any, &err), SK_OK);
	assert_true(any);
	assert_int_equal(cmd.kind, SK_CMD_MOVE_SERVE);
	assert_string_equal(cmd.rollout_id, ro->id);
	assert_ptr_equal(cmd.signed_plan, ro->signed_plan);
	assert_int_equal(cmd.signed_plan_len, ro->signed_plan_len);
	assert_int_equal(cmd.nmove_peers, 1);
	assert_string_equal(cmd.move_peers[0].step_id, "0002_move_h1");
	assert_int_equal(cmd.move_peers[0].role, SK_MOVE_ROLE_TARGET);
	assert_string_equal(cmd.move_peers[0].region, "af");
	assert_string_equal(cmd.move_peers[0].address, "");
	assert_memory_equal(cmd.move_peers[0].agent_key,
	    st->fx.regions[0].agent_key.pk, SK_MOVE_KEY_LEN);
	free(cmd.move_peers);

	/* The target and a bystander hear no MOVE_SERVE. */
	assert_int_equal(
	    coord_moves_serve(ro, &st->fx.inv, "af", NULL, 0, &cmd, &any, &err), SK_OK);
	assert_false(any);
	assert_int_equal(
	    coord_moves_serve(ro, &st->fx.inv, "in", NULL, 0, &cmd, &any, &err), SK_OK);
	assert_false(any);

	/* The source's agent lists another move only: sent again. */
	snprintf(serving[0], sizeof(serving[0]), "%s/0002_other", ro->id);
	snprintf(serving[1], sizeof(serving[1]), "other/0002_move_h1");
	assert_int_equal(
	    coord_moves_serve(ro, &st->fx.inv, "ksa",
		(const char(*)[SK_MOVE_KEY_MAX])serving, 2, &cmd, &any, &err),
	    SK_OK);
	assert_true(any);
	free(cmd.move_peers);

	/* Once listed: not sent again. */
	snprintf(serving[1], sizeof(serving[1]), "%s/0002_move_h1", ro->id);
	assert_int_equal(
	    coord_moves_serve(ro, &st->fx.inv, "ksa",
		(const char(*)[SK_MOVE_KEY_MAX])serving, 2, &cmd, &any, &err),
	    SK_OK);
	assert_false(any);

	/* The target running: still served while it lacks it. */
	assert_false(coord_testfix_report(&st->fx, ro, "af", SK_EV_PLAN_ACCEPTED));
	assert_int_equal(
	    coord_moves_serve(ro, &st->fx.inv, "ksa", NULL, 0, &cmd, &any, &err), SK_OK);
	assert_true(any);
	free(cmd.move_peers);

	/* The target's run over: no more. */
	coord_testfix_report(&st->fx, ro, "af", SK_EV_PLAN_SUCCEEDED);
	assert_int_equal(
	    coord_moves_serve(ro, &st->fx.inv, "ksa", NULL, 0, &cmd, &any, &err), SK_OK);
	assert_false(any);
}

/* A rollback's runs: from (ksa) drives the move back, to (af) serves
 * it; the peers say back, and af's serving key ends in "/back". The
 * functions read the rollout's mode only, so an apply's rollout with its
 * mode set stands in for the rollback's. */
static void
test_rollback_moves_back_with_the_sides_swapped(void **state)
{
	coord_testfix_staff *st = *state;
	coord_rollout *ro;
	sk_move_peer *peers = NULL;
	sk_command cmd;
	char serving[1][SK_MOVE_KEY_MAX];
	bool any = false;
	size_t n = 99;
	sk_err err;

	inventory(&st->fx, false);
	ro = started(st, "move_back", SK_MODE_APPLY);
	ro->mode = SK_MODE_ROLLBACK;
	assert_int_equal(
	    coord_moves_run_peers(ro, &st->fx.inv, "ksa", &peers, &n, &err), SK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(peers[0].role, SK_MOVE_ROLE_SOURCE);
	assert_string_equal(peers[0].region, "af");
	assert_string_equal(peers[0].address, "tcp://127.0.0.1:7411");
	assert_true(peers[0].back);
	assert_memory_equal(peers[0].agent_key, st->fx.regions[0].agent_key.pk,
	    SK_MOVE_KEY_LEN);
	free(peers);
	assert_int_equal(
	    coord_moves_run_peers(ro, &st->fx.inv, "af", &peers, &n, &err), SK_OK);
	assert_int_equal(n, 0);

	/* af serves once ksa's run is dispatched, whatever af's own. */
	assert_int_equal(
	    coord_moves_serve(ro, &st->fx.inv, "af", NULL, 0, &cmd, &any, &err), SK_OK);
	assert_false(any);
	dispatch(&st->fx, ro, "ksa");
	assert_int_equal(
	    coord_moves_serve(ro, &st->fx.inv, "af", NULL, 0, &cmd, &any, &err), SK_OK);
	assert_true(any);
	assert_int_equal(cmd.nmove_peers, 1);
	assert_int_equal(cmd.move_peers[0].role, SK_MOVE_ROLE_TARGET);
	assert_string_equal(cmd.move_peers[0].region, "ksa");
	assert_true(cmd.move_peers[0].back);
	free(cmd.move_peers);
	assert_int_equal(
	    coord_moves_serve(ro, &st->fx.inv, "ksa", NULL, 0, &cmd, &any, &err), SK_OK);
	assert_false(any);
	/* Listed as the forward move: sent again; as the move back: done. */
	snprintf(serving[0], sizeof(serving[0]), "%s/0002_move_h1", ro->id);
	assert_int_equal(
	    coord_moves_serve(ro, &st->fx.inv, "af",
		(const char(*)[SK_MOVE_KEY_MAX])serving, 1, &cmd, &any, &err),
	    SK_OK);
	assert_true(any);
	free(cmd.move_peers);
	snprintf(serving[0], sizeof(serving[0]), "%s/0002_move_h1/back", ro->id);
	assert_int_equal(
	    coord_moves_serve(ro, &st->fx.inv, "af",
		(const char(*)[SK_MOVE_KEY_MAX])serving, 1, &cmd, &any, &err),
	    SK_OK);
	assert_false(any);

	/* A rollback needs to's move_endpoint: the check says so. */
	st->fx.regions[0].move_endpoint = NULL;
	assert_int_equal(coord_moves_check(ro->plan, &st->fx.inv, true, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "back from region af"));
	assert_non_null(strstr(err.hint, "regions/af.yaml"));
	assert_int_equal(coord_moves_check(ro->plan, &st->fx.inv, false, &err), SK_OK);
}

static void
test_start_refused_without_move_endpoint(void **state)
{
	coord_testfix_staff *st = *state;
	sk_cli_response resp;

	inventory(&st->fx, true);
	assert_false(start(st, "move_no_endpoint", SK_MODE_APPLY, &resp).started);
	assert_false(resp.ok);
	assert_int_equal(resp.error.code, SK_EINVAL);
	if (strstr(resp.error.msg,
		"step 0002_move_h1 moves a tenant from region "
		"ksa, which has no move_endpoint") == NULL)
		fail_msg("error: %s", resp.error.msg);
	assert_non_null(strstr(resp.error.hint, "regions/ksa.yaml"));
	sk_cli_response_fini(&resp);
	assert_int_equal(st->fx.rollouts.n, 0);

	/* Rehearsals too. */
	assert_false(start(st, "move_no_endpoint", SK_MODE_REHEARSE, &resp).started);
	assert_false(resp.ok);
	sk_cli_response_fini(&resp);
	assert_int_equal(st->fx.rollouts.n, 0);

	/* With it, the same plan starts. */
	inventory(&st->fx, false);
	assert_true(start(st, "move_no_endpoint", SK_MODE_APPLY, &resp).started);
	assert_true(resp.ok);
	sk_cli_response_fini(&resp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_run_plan_to_target_carries_source_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_source_hears_move_serve_once_target_dispatched, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_start_refused_without_move_endpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_rollback_moves_back_with_the_sides_swapped, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

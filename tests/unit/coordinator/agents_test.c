/* agents_test: what the coordinator knows of each region's agent and
 * says of it: connected from its first poll until its window (three poll
 * holds plus the grace) passes without one; "never connected" and "not
 * connected for 2m10s" in words; `skein agents` answered to a viewer
 * and refused to a key nobody pinned (nothing listed); a running
 * rollout's pending region annotated in status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coord_agents.h"
#include "coord_testfix.h"
#include "sk_util.h"

typedef struct afix {
	coord_testfix_staff *staff;
	coord_agents agents;
} afix;

static int
setup(void **state)
{
	void *st = NULL;
	afix *f = calloc(1, sizeof(*f));
	sk_err err;

	if (f == NULL || coord_testfix_staff_setup(&st, "agents", false) != 0)
		return -1;
	f->staff = st;
	if (coord_agents_init(&f->agents, &f->staff->fx.inv, &err) != SK_OK)
		return -1;
	f->staff->fx.ctx.agents = &f->agents;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	afix *f = *state;
	void *st = f->staff;
	int rc = coord_testfix_staff_teardown(&st);

	coord_agents_fini(&f->agents);
	free(f);
	return rc;
}

static void
poll_at(afix *f, size_t i, int64_t now_ms)
{
	sk_agent_msg m;
	char running[1][SK_NAME_MAX] = { "r-1" };

	memset(&m, 0, sizeof(m));
	snprintf(m.region, sizeof(m.region), "%s", f->agents.v[i].region);
	snprintf(m.version, sizeof(m.version), "1.2.3");
	m.wait = true;
	m.hold_ms = 10000;
	m.ndatabases = 4;
	m.running = running;
	m.nrunning = 1;
	coord_agents_note(&f->agents.v[i], &m, now_ms);
}

static void
test_agent_is_connected_within_its_window_only(void **state)
{
	afix *f = *state;
	int64_t t = 1000000;
	char buf[160];

	assert_false(coord_agent_is_connected(&f->agents.v[0], t));
	poll_at(f, 0, t);
	assert_int_equal(f->agents.v[0].window_ms, 3 * 10000 + COORD_AGENT_GRACE_MS);
	assert_true(coord_agent_is_connected(&f->agents.v[0], t + 35000));
	assert_false(coord_agent_is_connected(&f->agents.v[0], t + 35001));
	coord_agents_sweep(&f->agents, t + 35000);
	assert_true(f->agents.v[0].connected);
	coord_agents_sweep(&f->agents, t + 130000);
	assert_false(f->agents.v[0].connected);
	coord_agents_away(
	    &f->agents, f->agents.v[0].region, t + 130000, buf, sizeof(buf));
	snprintf(buf + 100, 60, "agent of %s not connected for 2m10s",
	    f->agents.v[0].region);
	assert_string_equal(buf, buf + 100);
	coord_agents_away(
	    &f->agents, f->agents.v[1].region, sk_now_ms(), buf, sizeof(buf));
	assert_non_null(strstr(buf, "never connected (the coordinator started "));
	poll_at(f, 0, t + 140000);
	coord_agents_away(
	    &f->agents, f->agents.v[0].region, t + 140000, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void
test_agents_answered_to_a_viewer_and_refused_to_a_stranger(void **state)
{
	afix *f = *state;
	sk_cli_request req;
	sk_cli_response resp;

	poll_at(f, 0, sk_now_ms());
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_AGENTS;
	coord_testfix_ask_as(&f->staff->fx, f->staff->viewer, &req, &resp);
	assert_true(resp.ok);
	assert_int_equal(resp.nagents, f->agents.n);
	assert_string_equal(resp.agents[0].region, f->agents.v[0].region);
	assert_true(resp.agents[0].connected);
	assert_string_equal(resp.agents[0].version, "1.2.3");
	assert_int_equal(resp.agents[0].ndatabases, 4);
	assert_int_equal(resp.agents[0].nrunning, 1);
	assert_string_equal(resp.agents[0].running[0], "r-1");
	assert_false(resp.agents[1].connected);
	assert_int_equal(resp.agents[1].last_seen_ms, 0);
	sk_cli_response_fini(&resp);
	coord_testfix_ask_as(&f->staff->fx, f->staff->stranger, &req, &resp);
	assert_false(resp.ok);
	assert_int_equal(resp.nagents, 0);
	sk_cli_response_fini(&resp);
}

static void
test_status_says_a_pending_region_waits_for_its_agent(void **state)
{
	afix *f = *state;
	coord_testfix *fx = &f->staff->fx;
	char id[SK_ID_MAX];
	sk_cli_request req;
	sk_cli_response resp;
	bool found = false;

	assert_non_null(
	    coord_testfix_start(fx, f->staff->op, "a1", false, SK_MODE_APPLY, id));
	poll_at(f, 0, sk_now_ms()); /* af's agent is there */
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_STATUS;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	coord_testfix_ask_as(fx, f->staff->viewer, &req, &resp);
	assert_true(resp.ok);
	for (size_t p = 0; p < resp.rollouts[0].nphases; p++)
		for (size_t r = 0; r < resp.rollouts[0].phases[p].nregions; r++) {
			const sk_region_view *rv =
			    &resp.rollouts[0].phases[p].regions[r];

			if (strcmp(rv->name, "af") == 0) {
				assert_null(strstr(rv->detail, "agent of"));
			} else {
				assert_string_equal(rv->state, "pending");
				assert_non_null(strstr(rv->detail, "never connected"));
				found = true;
			}
		}
	assert_true(found);
	sk_cli_response_fini(&resp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_agent_is_connected_within_its_window_only, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_agents_answered_to_a_viewer_and_refused_to_a_stranger,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_status_says_a_pending_region_waits_for_its_agent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

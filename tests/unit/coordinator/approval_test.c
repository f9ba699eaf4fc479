/* approval_test: the phase gates of a rollout without sockets
 * (coordinator/coord_gate.c, coord_approval.c): approvals by signed
 * operator requests — refused, counting nothing and journaling no
 * approval, when signed by an unpinned key, by the starter under
 * not_by_starter, by an operator not in from, by a viewer, for a phase
 * without approval or one the rollout lacks, for an unknown rollout,
 * twice by the same operator, or replayed byte for byte — and the gates
 * holding the rollout: the canary's soak counted on ticks (not skipped),
 * then the next phase held until its second approval opens it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "coord_auth.h"
#include "coord_control.h"
#include "coord_journal.h"
#include "coord_registry.h"
#include "coord_rollout.h"
#include "coord_testfix.h"
#include "sk_key.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_wire.h"

typedef struct fixture {
	coord_testfix fx;
	/* Operators admin, alice, bob, carol (approvers), viewer; and a key
	 * nobody pinned (fx's keys, borrowed). */
	sk_seckey *admin, *alice, *bob, *carol, *viewer, *stranger;
} fixture;

/* A plan of one step over af (canary) then in and ksa, valid for a day. */
static uint8_t *
signed_plan(const fixture *f, size_t *len)
{
	sk_plan *plan = coord_testfix_plan("plan-c0ffee", "add-region-column", false);

	/* Gates: the canary soaks 10 s; the rest needs 2 approvals from
	 * alice, bob and admin, not by its starter. */
	plan->phases[0].soak_ms = 10000;
	plan->phases[1].approval_count = 2;
	plan->phases[1].approvers = calloc(4, sizeof(char *));
	assert_non_null(plan->phases[1].approvers);
	plan->phases[1].approvers[0] = coord_testfix_strdup("alice");
	plan->phases[1].approvers[1] = coord_testfix_strdup("bob");
	plan->phases[1].approvers[2] = coord_testfix_strdup("admin");
	plan->phases[1].napprovers = 3;
	plan->phases[1].not_by_starter = true;
	return coord_testfix_seal(&f->fx, plan, len);
}

static int
setup(void **state)
{
	static const coord_testfix_who who[6] = { { "admin", SK_ROLE_ADMIN },
		{ "alice", SK_ROLE_APPROVER }, { "bob", SK_ROLE_APPROVER },
		{ "carol", SK_ROLE_APPROVER }, { "viewer", SK_ROLE_VIEWER },
		{ "stranger", 0 } };
	fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || coord_testfix_setup(&f->fx, "approval", who, 6, false) != 0)
		return -1;
	f->admin = f->fx.keys[0];
	f->alice = f->fx.keys[1];
	f->bob = f->fx.keys[2];
	f->carol = f->fx.keys[3];
	f->viewer = f->fx.keys[4];
	f->stranger = f->fx.keys[5];
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;
	int rc = coord_testfix_teardown(&f->fx);

	free(f);
	return rc;
}

/* What the journal holds, replayed: approvals, gate records, refusals. */
typedef struct journal_counts {
	int approvals, gates, refused;
	size_t envelope_len;
	int64_t served_ms;
} journal_counts;

static void
count_approval(void *arg, const char *id, const coord_approval_record *rec)
{
	journal_counts *c = arg;

	(void)id;
	c->approvals++;
	c->envelope_len = rec->envelope_len;
}

static void
count_gate(void *arg, const char *id, const coord_gate_record *rec)
{
	journal_counts *c = arg;

	(void)id;
	c->gates++;
	c->served_ms = rec->served_ms;
}

static void
count_refused(void *arg, int64_t at, const char *op, const char *actor,
    const char *key, const char *reason)
{
	journal_counts *c = arg;

	(void)at;
	(void)op;
	(void)actor;
	(void)key;
	(void)reason;
	c->refused++;
}

static journal_counts
journal_read(const fixture *f)
{
	static const coord_journal_visitor v = { .approval = count_approval,
		.gate = count_gate,
		.refused = count_refused };
	journal_counts c;

	memset(&c, 0, sizeof(c));
	coord_testfix_journal_visit(f->fx.dir, &v, &c);
	return c;
}

/* Start the plan as admin; the rollout into *ro. */
static void
start(fixture *f, coord_rollout **ro)
{
	sk_cli_request req;
	sk_cli_response resp;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_START;
	req.mode = SK_MODE_APPLY;
	req.signed_plan = signed_plan(f, &req.signed_plan_len);
	assert_true(coord_testfix_ask_as(&f->fx, f->admin, &req, &resp).started);
	free(req.signed_plan);
	assert_true(resp.ok);
	*ro = coord_registry_find(&f->fx.rollouts, resp.rollout_id);
	assert_non_null(*ro);
	sk_cli_response_fini(&resp);
}

static sk_cli_request
approval(const char *id, const char *phase)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_APPROVE;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.phase, sizeof(req.phase), "%s", phase);
	return req;
}

/* key's approval of phase of id is refused with code and want. */
static void
refused(fixture *f, const sk_seckey *key, const char *id, const char *phase,
    int code, const char *want)
{
	sk_cli_request req = approval(id, phase);
	sk_cli_response resp;

	assert_false(coord_testfix_ask_as(&f->fx, key, &req, &resp).held);
	assert_false(resp.ok);
	assert_int_equal(resp.error.code, code);
	if (strstr(resp.error.msg, want) == NULL)
		fail_msg("refusal \"%s\" lacks \"%s\"", resp.error.msg, want);
	sk_cli_response_fini(&resp);
}

static void
test_approval_refusals_count_nothing(void **state)
{
	fixture *f = *state;
	sk_cli_request req;
	sk_cli_response resp;
	coord_rollout *ro;
	uint8_t *msg;
	size_t len = 0;
	journal_counts c;

	start(f, &ro);
	req = approval(ro->id, "rest");
	msg = coord_testfix_sign(&req, f->alice, sk_now_ms(), NULL, &len);
	/* Before its phase is reached: counted, the phase not open. */
	assert_false(coord_testfix_answer(&f->fx, msg, len, &resp).held);
	assert_true(resp.ok);
	assert_int_equal(resp.rollouts[0].napprovals, 1);
	assert_string_equal(resp.rollouts[0].approvals[0].operator_name, "alice");
	sk_cli_response_fini(&resp);
	assert_int_equal(coord_gate_approvals(ro, 1), 1);

	/* The same signed bytes again: a replay. */
	coord_testfix_answer(&f->fx, msg, len, &resp);
	assert_false(resp.ok);
	assert_int_equal(resp.error.code, SK_EREFUSED);
	sk_cli_response_fini(&resp);
	free(msg);
	refused(f, f->alice, ro->id, "rest", SK_EREFUSED, "has approved it already");
	refused(f, f->admin, ro->id, "rest", SK_EREFUSED, "started the rollout");
	refused(f, f->carol, ro->id, "rest", SK_EREFUSED,
	    "not one of the phase's approvers");
	refused(f, f->viewer, ro->id, "rest", SK_EREFUSED, "needs role approver");
	refused(f, f->stranger, ro->id, "rest", SK_ECRYPTO, "");
	refused(f, f->bob, ro->id, "canary", SK_EINVAL, "the phase needs no approval");
	refused(f, f->bob, ro->id, "nosuch", SK_EINVAL, "no such phase");
	refused(f, f->bob, "r-nosuch", "rest", SK_ENOTFOUND, "no such rollout");
	assert_int_equal(coord_gate_approvals(ro, 1), 1);
	c = journal_read(f);
	assert_int_equal(c.approvals, 1);
	assert_true(c.envelope_len == len);
	assert_int_equal(c.refused, 3); /* replay, viewer, stranger: coord_auth */
}

/* A report of event from region of ro, at now. */
static void
report(fixture *f, coord_rollout *ro, const char *region, int event)
{
	sk_report r;
	bool changed;
	sk_err err;

	memset(&r, 0, sizeof(r));
	r.event = event;
	r.at_ms = sk_now_ms();
	snprintf(r.rollout_id, sizeof(r.rollout_id), "%s", ro->id);
	assert_int_equal(
	    coord_rollout_report(ro, region, &r, f->fx.journal, &changed, &err), SK_OK);
}

static void
test_gates_hold_the_rollout(void **state)
{
	fixture *f = *state;
	sk_cli_request req;
	sk_cli_response resp;
	coord_rollout *ro;
	bool changed;
	int64_t t0;
	sk_err err;

	start(f, &ro);
	assert_true(coord_rollout_wants(ro, "af"));
	assert_false(coord_rollout_wants(ro, "in"));
	report(f, ro, "af", SK_EV_PLAN_ACCEPTED);
	t0 = sk_now_ms();
	report(f, ro, "af", SK_EV_PLAN_SUCCEEDED);
	/* Every canary region succeeded: the soak holds the next phase. */
	assert_int_equal(ro->phase, 0);
	assert_int_equal(ro->gates.phases[0].exit, COORD_GATE_EXIT_RUNNING);
	assert_int_equal(
	    coord_rollout_tick(ro, f->fx.journal, t0 + 4000, &changed, &err), SK_OK);
	assert_false(changed);
	assert_int_equal(ro->phase, 0);
	assert_true(ro->gates.phases[0].served_ms >= 3900);
	assert_int_equal(journal_read(f).gates, 2); /* started, soak progress */
	/* A pause holds the soak: the time paused does not count. */
	ro->ctl.paused = true;
	assert_int_equal(
	    coord_rollout_tick(ro, f->fx.journal, t0 + 9000, &changed, &err), SK_OK);
	ro->ctl.paused = false;
	assert_int_equal(
	    coord_rollout_tick(ro, f->fx.journal, t0 + 60000, &changed, &err), SK_OK);
	assert_int_equal(ro->phase, 0);
	assert_true(ro->gates.phases[0].served_ms < 5000);
	assert_int_equal(
	    coord_rollout_tick(ro, f->fx.journal, t0 + 66500, &changed, &err), SK_OK);
	assert_true(changed);
	/* The soak served, the rest waits for its second approval. */
	assert_int_equal(ro->phase, 1);
	assert_int_equal(ro->gates.phases[0].exit, COORD_GATE_EXIT_PASSED);
	assert_false(coord_rollout_wants(ro, "in"));
	req = approval(ro->id, "rest");
	assert_false(coord_testfix_ask_as(&f->fx, f->alice, &req, &resp).held);
	assert_true(resp.ok);
	assert_true(resp.rollouts[0].has_gate);
	assert_string_equal(resp.rollouts[0].gate.waiting_for, "approval");
	assert_int_equal(resp.rollouts[0].gate.approvals, 1);
	sk_cli_response_fini(&resp);
	assert_false(coord_rollout_wants(ro, "in"));
	assert_true(coord_testfix_ask_as(&f->fx, f->bob, &req, &resp).held);
	assert_true(resp.ok);
	sk_cli_response_fini(&resp);
	assert_true(coord_rollout_wants(ro, "in"));
	assert_true(coord_rollout_wants(ro, "ksa"));
	/* Now it has started, a further approval is refused. */
	refused(f, f->admin, ro->id, "rest", SK_ESTATE, "the phase has started");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_approval_refusals_count_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_gates_hold_the_rollout, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

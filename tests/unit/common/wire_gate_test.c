/* wire_gate_test: the phase gates on the wire (sk_wire_gate.c): the
 * approve request, and a rollout view's current gate, approvals and
 * every phase's gate — each round-tripped; a peer's bytes refused with
 * nothing left allocated: a phase or operator name that does not fit, an
 * empty approve, more judged items or approvers than a view carries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sk_err.h"
#include "sk_wire.h"
#include "skein.pb-c.h"

static uint8_t *
pack_pb(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	protobuf_c_message_pack(m, buf);
	return buf;
}

static void
test_approve_request_round_trips(void **state)
{
	sk_cli_request in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.op = SK_CLI_APPROVE;
	snprintf(in.rollout_id, sizeof(in.rollout_id), "r-abc");
	snprintf(in.phase, sizeof(in.phase), "rest");
	assert_int_equal(sk_cli_request_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_request_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.op, SK_CLI_APPROVE);
	assert_string_equal(out.rollout_id, "r-abc");
	assert_string_equal(out.phase, "rest");
	assert_string_equal(sk_cli_op_name(SK_CLI_APPROVE), "approve");
	sk_cli_request_fini(&out);
	free(buf);
}

static void
test_approve_request_refuses_bad_bytes(void **state)
{
	Skein__V1__CliRequest pb;
	Skein__V1__ApproveRequest ap;
	char phase[200];
	sk_cli_request out;
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	skein__v1__cli_request__init(&pb);
	skein__v1__approve_request__init(&ap);
	/* A phase name that does not fit. */
	pb.op_case = SKEIN__V1__CLI_REQUEST__OP_APPROVE;
	memset(phase, 'p', sizeof(phase) - 1);
	phase[sizeof(phase) - 1] = '\0';
	ap.rollout_id = (char *)"r-abc";
	ap.phase = phase;
	pb.approve = &ap;
	buf = pack_pb(&pb.base, &len);
	assert_int_equal(sk_cli_request_decode(buf, len, &out, &err), SK_EDECODE);
	assert_non_null(strstr(err.msg, "phase"));
	free(buf);
}

static void
fill_gate(sk_gate_view *g, const char *phase)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->phase, sizeof(g->phase), "%s", phase);
	snprintf(g->waiting_for, sizeof(g->waiting_for), "soak");
	g->soak_served_ms = 12000;
	g->soak_ms = 30000;
	g->samples = 2;
	g->min_samples = 3;
	g->njudged = 2;
	snprintf(g->judged[0].gate, sizeof(g->judged[0].gate), "check orphans");
	snprintf(g->judged[0].region, sizeof(g->judged[0].region), "af");
	snprintf(g->judged[0].database, sizeof(g->judged[0].database), "app");
	g->judged[0].value = 0;
	g->judged[0].passed = true;
	g->judged[0].samples = 2;
	snprintf(g->judged[1].gate, sizeof(g->judged[1].gate), "health deadlocks");
	g->judged[1].value = 3;
	g->judged[1].threshold = 1;
	g->judged[1].erred = true;
	g->approvals = 1;
	g->approvals_needed = 2;
	g->napproved_by = 1;
	snprintf(g->approved_by[0], sizeof(g->approved_by[0]), "alice");
	g->window_opens_ms = 1796198400000;
	snprintf(g->window_tz, sizeof(g->window_tz), "Europe/Berlin");
	g->started_ms = 5;
	g->ended_ms = 6;
}

static void
test_view_gates_round_trip(void **state)
{
	sk_cli_response in, out;
	sk_rollout_view v;
	sk_gate_view gates[2];
	sk_approval_view approvals[2];
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(&in, 0, sizeof(in));
	memset(&v, 0, sizeof(v));
	snprintf(v.id, sizeof(v.id), "r-abc");
	snprintf(v.state, sizeof(v.state), "running");
	v.has_gate = true;
	fill_gate(&v.gate, "canary");
	fill_gate(&gates[0], "canary");
	fill_gate(&gates[1], "rest");
	snprintf(gates[1].outcome, sizeof(gates[1].outcome), "halted");
	v.gates = gates;
	v.ngates = 2;
	memset(approvals, 0, sizeof(approvals));
	snprintf(approvals[0].phase, sizeof(approvals[0].phase), "rest");
	snprintf(approvals[0].operator_name, sizeof(approvals[0].operator_name), "alice");
	snprintf(approvals[0].key_id, sizeof(approvals[0].key_id), "0bfeca7a");
	approvals[0].at_ms = 77;
	snprintf(approvals[1].phase, sizeof(approvals[1].phase), "rest");
	snprintf(approvals[1].operator_name, sizeof(approvals[1].operator_name), "bob");
	v.approvals = approvals;
	v.napprovals = 2;
	in.ok = true;
	in.rollouts = &v;
	in.nrollouts = 1;
	assert_int_equal(sk_cli_response_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_response_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.nrollouts, 1);
	{
		const sk_rollout_view *o = &out.rollouts[0];

		assert_true(o->has_gate);
		assert_string_equal(o->gate.phase, "canary");
		assert_string_equal(o->gate.waiting_for, "soak");
		assert_int_equal(o->gate.soak_served_ms, 12000);
		assert_int_equal(o->gate.njudged, 2);
		assert_string_equal(o->gate.judged[0].gate, "check orphans");
		assert_string_equal(o->gate.judged[0].database, "app");
		assert_true(o->gate.judged[0].passed);
		assert_true(o->gate.judged[1].erred);
		assert_true(o->gate.judged[1].threshold == 1);
		assert_int_equal(o->gate.napproved_by, 1);
		assert_string_equal(o->gate.approved_by[0], "alice");
		assert_int_equal(o->gate.window_opens_ms, 1796198400000);
		assert_string_equal(o->gate.window_tz, "Europe/Berlin");
		assert_int_equal(o->ngates, 2);
		assert_string_equal(o->gates[1].phase, "rest");
		assert_string_equal(o->gates[1].outcome, "halted");
		assert_int_equal(o->napprovals, 2);
		assert_string_equal(o->approvals[0].operator_name, "alice");
		assert_string_equal(o->approvals[0].key_id, "0bfeca7a");
		assert_int_equal(o->approvals[0].at_ms, 77);
		assert_string_equal(o->approvals[1].operator_name, "bob");
	}
	sk_cli_response_fini(&out);
	free(buf);
}

static void
test_view_gates_refuse_bad_bytes(void **state)
{
	Skein__V1__CliResponse resp;
	Skein__V1__RolloutView rv;
	Skein__V1__RolloutView *rvp = &rv;
	Skein__V1__GateView gate;
	Skein__V1__GateView__Judged j;
	Skein__V1__GateView__Judged *many[SK_GATE_JUDGED_MAX + 1];
	Skein__V1__ApprovalView ap;
	Skein__V1__ApprovalView *app = &ap;
	char longname[100];
	sk_cli_response out;
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	skein__v1__cli_response__init(&resp);
	skein__v1__rollout_view__init(&rv);
	skein__v1__gate_view__init(&gate);
	skein__v1__gate_view__judged__init(&j);
	skein__v1__approval_view__init(&ap);
	rv.id = (char *)"r-abc";
	rv.state = (char *)"running";
	resp.rollouts = &rvp;
	resp.n_rollouts = 1;
	/* More judged items than a view carries. */
	for (size_t i = 0; i <= SK_GATE_JUDGED_MAX; i++)
		many[i] = &j;
	gate.phase = (char *)"canary";
	gate.judged = many;
	gate.n_judged = SK_GATE_JUDGED_MAX + 1;
	rv.gate = &gate;
	buf = pack_pb(&resp.base, &len);
	assert_int_equal(sk_cli_response_decode(buf, len, &out, &err), SK_EDECODE);
	assert_null(out.rollouts);
	free(buf);
	/* An operator name that does not fit. */
	gate.n_judged = 0;
	memset(longname, 'o', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ap.phase = (char *)"rest";
	ap.operator_ = longname;
	rv.approvals = &app;
	rv.n_approvals = 1;
	buf = pack_pb(&resp.base, &len);
	assert_int_equal(sk_cli_response_decode(buf, len, &out, &err), SK_EDECODE);
	assert_null(out.rollouts);
	assert_non_null(strstr(err.msg, "operator name"));
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_approve_request_round_trips),
		cmocka_unit_test(test_approve_request_refuses_bad_bytes),
		cmocka_unit_test(test_view_gates_round_trip),
		cmocka_unit_test(test_view_gates_refuse_bad_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

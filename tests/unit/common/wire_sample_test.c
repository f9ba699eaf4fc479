/* wire_sample_test: the sampled gate's wire (sk_wire_sample.c): GATE_SAMPLE
 * reports with a health value, a gate check or an error round trip in
 * agent messages and region reports; SAMPLE commands carry their phase and
 * round; a health signal name over 31 bytes or empty, a value that is not
 * a finite number, and a SAMPLE without its request are refused with
 * nothing allocated. */
#include <math.h>
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
	buf = malloc(*len > 0 ? *len : 1);
	assert_non_null(buf);
	protobuf_c_message_pack(m, buf);
	return buf;
}

static sk_report
health_report(const char *db, const char *signal, double value)
{
	sk_report r;

	memset(&r, 0, sizeof(r));
	r.seq = 7;
	r.event = SK_EV_GATE_SAMPLE;
	snprintf(r.rollout_id, sizeof(r.rollout_id), "r-1");
	snprintf(r.plan_id, sizeof(r.plan_id), "p-1");
	snprintf(r.database, sizeof(r.database), "%s", db);
	r.has_health = true;
	snprintf(r.health.signal, sizeof(r.health.signal), "%s", signal);
	r.health.value = value;
	r.sample_round = 41;
	r.phase = 2;
	return r;
}

static void
test_agent_msg_round_trips_gate_samples(void **state)
{
	sk_report reps[3];
	sk_agent_msg m, out;
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	memset(&m, 0, sizeof(m));
	snprintf(m.region, sizeof(m.region), "af");
	reps[0] = health_report("orders", "replication_lag", 1.25);
	/* A gate check: no health, the check's result. */
	reps[1] = health_report("orders", "x", 0);
	reps[1].has_health = false;
	reps[1].has_check = true;
	snprintf(reps[1].check.name, sizeof(reps[1].check.name), "no_orphans");
	snprintf(reps[1].check.when, sizeof(reps[1].check.when), "gate");
	reps[1].check.passed = false;
	snprintf(reps[1].check.seen, sizeof(reps[1].check.seen), "3");
	snprintf(reps[1].check.expected, sizeof(reps[1].check.expected), "= 0");
	/* An erred probe: agent-wide, no database. */
	reps[2] = health_report("", "http", 0);
	sk_err_set(&reps[2].error, SK_ENET, "probe http://127.0.0.1:1/: refused");
	m.reports = reps;
	m.nreports = 3;
	assert_int_equal(sk_agent_msg_encode(&m, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_agent_msg_decode(buf, len, &out, &err), SK_OK);
	free(buf);
	assert_int_equal(out.nreports, 3);

	assert_int_equal(out.reports[0].event, SK_EV_GATE_SAMPLE);
	assert_true(out.reports[0].has_health);
	assert_false(out.reports[0].has_check);
	assert_string_equal(out.reports[0].health.signal, "replication_lag");
	assert_true(out.reports[0].health.value == 1.25);
	assert_int_equal(out.reports[0].sample_round, 41);
	assert_int_equal(out.reports[0].phase, 2);
	assert_string_equal(out.reports[0].database, "orders");
	assert_int_equal(out.reports[0].error.code, SK_OK);

	assert_false(out.reports[1].has_health);
	assert_true(out.reports[1].has_check);
	assert_string_equal(out.reports[1].check.when, "gate");
	assert_string_equal(out.reports[1].check.seen, "3");
	assert_false(out.reports[1].check.passed);
	assert_int_equal(out.reports[1].sample_round, 41);

	assert_true(out.reports[2].has_health);
	assert_string_equal(out.reports[2].health.signal, "http");
	assert_string_equal(out.reports[2].database, "");
	assert_int_equal(out.reports[2].error.code, SK_ENET);
	assert_string_equal(
	    out.reports[2].error.msg, "probe http://127.0.0.1:1/: refused");
	sk_agent_msg_fini(&out);
}

/* The coordinator journals reports as region reports: the sample's
 * fields survive that too. */
static void
test_region_report_round_trips_health_sample(void **state)
{
	sk_region_report rr, out;
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	memset(&rr, 0, sizeof(rr));
	snprintf(rr.region, sizeof(rr.region), "ksa");
	rr.report = health_report("db1", "rollbacks_per_s", 12.5);
	assert_int_equal(sk_region_report_encode(&rr, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_region_report_decode(buf, len, &out, &err), SK_OK);
	free(buf);
	assert_true(out.report.has_health);
	assert_string_equal(out.report.health.signal, "rollbacks_per_s");
	assert_true(out.report.health.value == 12.5);
	assert_int_equal(out.report.sample_round, 41);
	assert_int_equal(out.report.phase, 2);
}

/* A signal name of exactly 31 bytes fits; the decoder keeps it. */
static void
test_report_accepts_31_byte_signal(void **state)
{
	sk_report r = health_report("db", "", 3);
	sk_agent_msg m, out;
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	memset(r.health.signal, 's', 31);
	r.health.signal[31] = '\0';
	memset(&m, 0, sizeof(m));
	m.reports = &r;
	m.nreports = 1;
	assert_int_equal(sk_agent_msg_encode(&m, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_agent_msg_decode(buf, len, &out, &err), SK_OK);
	free(buf);
	assert_int_equal(strlen(out.reports[0].health.signal), 31);
	sk_agent_msg_fini(&out);
}

/* Feed one raw Report holding health hs in an AgentMessage; expect
 * SK_EDECODE whose message holds want, and nothing allocated. */
static void
expect_health_refused(const char *signal, double value, const char *want)
{
	Skein__V1__AgentMessage am;
	Skein__V1__Report rep, *repp = &rep;
	Skein__V1__HealthSample hs;
	uint8_t nonce[SK_NONCE_LEN] = { 0 };
	sk_agent_msg out;
	uint8_t *buf;
	size_t len;
	sk_err err;

	skein__v1__agent_message__init(&am);
	am.region = (char *)"af";
	am.nonce.data = nonce;
	am.nonce.len = SK_NONCE_LEN;
	skein__v1__report__init(&rep);
	rep.event = SKEIN__V1__REPORT_EVENT__REPORT_EVENT_GATE_SAMPLE;
	rep.rollout_id = (char *)"r-1";
	skein__v1__health_sample__init(&hs);
	hs.signal = (char *)signal;
	hs.value = value;
	rep.health = &hs;
	am.reports = &repp;
	am.n_reports = 1;
	buf = pack_pb(&am.base, &len);
	memset(&out, 0x5a, sizeof(out));
	sk_err_clear(&err);
	assert_int_equal(sk_agent_msg_decode(buf, len, &out, &err), SK_EDECODE);
	assert_non_null(strstr(err.msg, want));
	assert_null(out.reports);
	assert_int_equal(out.nreports, 0);
	free(buf);
	/* The same report with a good sample decodes: the refusal was the
	 * sample's. */
	hs.signal = (char *)"deadlocks";
	hs.value = 1;
	buf = pack_pb(&am.base, &len);
	assert_int_equal(sk_agent_msg_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.nreports, 1);
	sk_agent_msg_fini(&out);
	free(buf);
}

static void
test_report_refuses_signal_over_31_bytes(void **state)
{
	char name[33];

	(void)state;
	memset(name, 'x', 32);
	name[32] = '\0';
	expect_health_refused(name, 1, "health signal name is 32 bytes");
}

static void
test_report_refuses_empty_signal(void **state)
{
	(void)state;
	expect_health_refused("", 1, "without a signal name");
}

static void
test_report_refuses_value_not_finite(void **state)
{
	(void)state;
	expect_health_refused("lock_waits", NAN, "not a finite number");
	expect_health_refused("lock_waits", INFINITY, "not a finite number");
	expect_health_refused("lock_waits", -INFINITY, "not a finite number");
}

static void
test_control_round_trips_sample_command(void **state)
{
	uint8_t plan[5] = { 1, 2, 3, 4, 5 };
	sk_command cmds[2];
	sk_control m, out;
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	memset(&m, 0, sizeof(m));
	memset(cmds, 0, sizeof(cmds));
	m.seq = 9;
	snprintf(m.region, sizeof(m.region), "in");
	cmds[0].kind = SK_CMD_SAMPLE;
	snprintf(cmds[0].rollout_id, sizeof(cmds[0].rollout_id), "r-1");
	cmds[0].signed_plan = plan;
	cmds[0].signed_plan_len = sizeof(plan);
	cmds[0].sample_phase = 1;
	cmds[0].sample_round = 1234567890123ULL;
	/* Another kind's stray phase and round do not travel. */
	cmds[1].kind = SK_CMD_PAUSE;
	snprintf(cmds[1].rollout_id, sizeof(cmds[1].rollout_id), "r-1");
	cmds[1].sample_phase = 3;
	cmds[1].sample_round = 3;
	m.commands = cmds;
	m.ncommands = 2;
	assert_int_equal(sk_control_encode(&m, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_control_decode(buf, len, &out, &err), SK_OK);
	free(buf);
	assert_int_equal(out.ncommands, 2);
	assert_int_equal(out.commands[0].kind, SK_CMD_SAMPLE);
	assert_int_equal(out.commands[0].sample_phase, 1);
	assert_int_equal(out.commands[0].sample_round, 1234567890123ULL);
	assert_int_equal(out.commands[0].signed_plan_len, sizeof(plan));
	assert_memory_equal(out.commands[0].signed_plan, plan, sizeof(plan));
	assert_int_equal(out.commands[1].kind, SK_CMD_PAUSE);
	assert_int_equal(out.commands[1].sample_phase, 0);
	assert_int_equal(out.commands[1].sample_round, 0);
	sk_control_fini(&out);
}

static void
test_control_refuses_sample_without_request(void **state)
{
	Skein__V1__Control c;
	Skein__V1__Command cmd, *cmdp = &cmd;
	Skein__V1__SampleRequest sr;
	uint8_t nonce[SK_NONCE_LEN] = { 0 };
	sk_control out;
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	skein__v1__control__init(&c);
	c.region = (char *)"af";
	c.nonce.data = nonce;
	c.nonce.len = SK_NONCE_LEN;
	skein__v1__command__init(&cmd);
	cmd.kind = SKEIN__V1__COMMAND_KIND__COMMAND_KIND_SAMPLE;
	cmd.rollout_id = (char *)"r-1";
	c.commands = &cmdp;
	c.n_commands = 1;
	buf = pack_pb(&c.base, &len);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(sk_control_decode(buf, len, &out, &err), SK_EDECODE);
	assert_non_null(strstr(err.msg, "SAMPLE command 0 has no phase and round"));
	assert_null(out.commands);
	assert_int_equal(out.ncommands, 0);
	free(buf);
	/* With its request it decodes. */
	skein__v1__sample_request__init(&sr);
	sr.phase = 0;
	sr.round = 1;
	cmd.sample = &sr;
	buf = pack_pb(&c.base, &len);
	assert_int_equal(sk_control_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.commands[0].sample_round, 1);
	sk_control_fini(&out);
	free(buf);
}

static void
test_names_of_sample_event_and_command(void **state)
{
	(void)state;
	assert_string_equal(sk_event_name(SK_EV_GATE_SAMPLE), "gate-sample");
	assert_string_equal(sk_command_name(SK_CMD_SAMPLE), "sample");
	assert_int_equal(SK_EV_GATE_SAMPLE,
	    SKEIN__V1__REPORT_EVENT__REPORT_EVENT_GATE_SAMPLE);
	assert_int_equal(SK_CMD_SAMPLE, SKEIN__V1__COMMAND_KIND__COMMAND_KIND_SAMPLE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_msg_round_trips_gate_samples),
		cmocka_unit_test(test_region_report_round_trips_health_sample),
		cmocka_unit_test(test_report_accepts_31_byte_signal),
		cmocka_unit_test(test_report_refuses_signal_over_31_bytes),
		cmocka_unit_test(test_report_refuses_empty_signal),
		cmocka_unit_test(test_report_refuses_value_not_finite),
		cmocka_unit_test(test_control_round_trips_sample_command),
		cmocka_unit_test(test_control_refuses_sample_without_request),
		cmocka_unit_test(test_names_of_sample_event_and_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

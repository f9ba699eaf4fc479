/* wire_stopline_test: scoped pauses, aborts and the line stop on the
 * wire (issue 10 item 3): pause and resume with --region, abort and stop
 * requests, the ABORT command, a view's control history, region pauses
 * and abort leftovers, and the line in an answer — each round-tripped;
 * and what a peer may get wrong refused: a stop action out of range,
 * more regions or exceptions than fit, a region that does not fit, a
 * resume carried in a pause without a region, an empty abort or stop. */
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
round_trip(const sk_cli_request *in, sk_cli_request *out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	assert_int_equal(sk_cli_request_encode(in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_request_decode(buf, len, out, &err), SK_OK);
	free(buf);
}

static void
test_requests_round_trip_scoped_pause_resume_abort_and_stop(void **state)
{
	sk_cli_request in, out;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.op = SK_CLI_PAUSE;
	snprintf(in.rollout_id, sizeof(in.rollout_id), "r-1");
	snprintf(in.reason, sizeof(in.reason), "lag");
	snprintf(in.regions[0], SK_NAME_MAX, "af");
	snprintf(in.regions[1], SK_NAME_MAX, "in");
	in.nregions = 2;
	round_trip(&in, &out);
	assert_int_equal(out.op, SK_CLI_PAUSE);
	assert_int_equal(out.nregions, 2);
	assert_string_equal(out.regions[1], "in");
	assert_string_equal(out.reason, "lag");

	/* A scoped resume travels in a PauseRequest and comes back a resume. */
	in.op = SK_CLI_RESUME;
	round_trip(&in, &out);
	assert_int_equal(out.op, SK_CLI_RESUME);
	assert_string_equal(out.rollout_id, "r-1");
	assert_int_equal(out.nregions, 2);
	/* An unscoped resume is the bare id, as before. */
	in.nregions = 0;
	round_trip(&in, &out);
	assert_int_equal(out.op, SK_CLI_RESUME);
	assert_int_equal(out.nregions, 0);

	memset(&in, 0, sizeof(in));
	in.op = SK_CLI_ABORT;
	snprintf(in.rollout_id, sizeof(in.rollout_id), "r-2");
	snprintf(in.reason, sizeof(in.reason), "wrong plan");
	round_trip(&in, &out);
	assert_int_equal(out.op, SK_CLI_ABORT);
	assert_string_equal(out.rollout_id, "r-2");
	assert_string_equal(out.reason, "wrong plan");
	assert_int_equal(out.nregions, 0);

	memset(&in, 0, sizeof(in));
	in.op = SK_CLI_STOP;
	in.stop_action = SK_STOP_ALL;
	snprintf(in.reason, sizeof(in.reason), "incident");
	snprintf(in.except[0], SK_ID_MAX, "r-3");
	in.nexcept = 1;
	round_trip(&in, &out);
	assert_int_equal(out.op, SK_CLI_STOP);
	assert_int_equal(out.stop_action, SK_STOP_ALL);
	assert_int_equal(out.nexcept, 1);
	assert_string_equal(out.except[0], "r-3");
	in.stop_action = SK_STOP_STATUS;
	in.nexcept = 0;
	round_trip(&in, &out);
	assert_int_equal(out.op, SK_CLI_STOP);
	assert_int_equal(out.stop_action, SK_STOP_STATUS);
}

/* A scoped abort carries its regions (AbortRequest field 3), in order. */
static void
test_scoped_abort_round_trips_its_regions(void **state)
{
	sk_cli_request in, out;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.op = SK_CLI_ABORT;
	snprintf(in.rollout_id, sizeof(in.rollout_id), "r-2");
	snprintf(in.reason, sizeof(in.reason), "bad index in af");
	snprintf(in.regions[0], SK_NAME_MAX, "af");
	snprintf(in.regions[1], SK_NAME_MAX, "in");
	in.nregions = 2;
	round_trip(&in, &out);
	assert_int_equal(out.op, SK_CLI_ABORT);
	assert_string_equal(out.rollout_id, "r-2");
	assert_string_equal(out.reason, "bad index in af");
	assert_int_equal(out.nregions, 2);
	assert_string_equal(out.regions[0], "af");
	assert_string_equal(out.regions[1], "in");
}

static void
test_abort_command_round_trips(void **state)
{
	sk_control in, out;
	sk_command cmd;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(&in, 0, sizeof(in));
	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = SK_CMD_ABORT;
	snprintf(cmd.rollout_id, sizeof(cmd.rollout_id), "r-1");
	snprintf(cmd.actor, sizeof(cmd.actor), "otto");
	cmd.control_gen = 4;
	in.commands = &cmd;
	in.ncommands = 1;
	in.seq = 9;
	assert_int_equal(sk_control_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_control_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.ncommands, 1);
	assert_int_equal(out.commands[0].kind, SK_CMD_ABORT);
	assert_int_equal(out.commands[0].control_gen, 4);
	assert_string_equal(out.commands[0].actor, "otto");
	assert_string_equal(sk_command_name(SK_CMD_ABORT), "abort");
	assert_string_equal(sk_event_name(SK_EV_DEAD_MAN), "dead-man");
	sk_control_fini(&out);
	free(buf);
}

static void
test_response_round_trips_controls_pauses_leftovers_and_line(void **state)
{
	sk_cli_response in, out;
	sk_rollout_view v;
	sk_control_view c[2];
	sk_region_pause_view p;
	sk_left_view l;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(&in, 0, sizeof(in));
	memset(&v, 0, sizeof(v));
	memset(c, 0, sizeof(c));
	memset(&p, 0, sizeof(p));
	memset(&l, 0, sizeof(l));
	snprintf(v.id, sizeof(v.id), "r-1");
	snprintf(v.state, sizeof(v.state), "aborted");
	c[0].kind = SK_CMD_PAUSE;
	c[0].line = true;
	snprintf(c[0].actor, sizeof(c[0].actor), "otto");
	snprintf(c[0].reason, sizeof(c[0].reason), "incident");
	c[0].at_ms = 1000;
	c[1].kind = SK_CMD_ABORT;
	snprintf(c[1].regions[0], SK_NAME_MAX, "af");
	c[1].nregions = 1;
	v.controls = c;
	v.ncontrols = 2;
	snprintf(p.region, sizeof(p.region), "ksa");
	snprintf(p.by, sizeof(p.by), "otto");
	p.at_ms = 7;
	v.region_pauses = &p;
	v.nregion_pauses = 1;
	v.paused_by_line = true;
	snprintf(l.region, sizeof(l.region), "af");
	snprintf(l.database, sizeof(l.database), "app");
	snprintf(l.step, sizeof(l.step), "0001_slow");
	l.steps_done = 1;
	l.steps_total = 3;
	l.step_finished = true;
	v.left = &l;
	v.nleft = 1;
	in.ok = true;
	in.rollouts = &v;
	in.nrollouts = 1;
	in.has_line = true;
	in.line.stopped = true;
	snprintf(in.line.by, sizeof(in.line.by), "otto");
	snprintf(in.line.except[0], SK_ID_MAX, "r-9");
	in.line.nexcept = 1;
	snprintf(in.line.paused[0], SK_ID_MAX, "r-1");
	in.line.npaused = 1;
	in.line.since_ms = 42;
	assert_int_equal(sk_cli_response_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_response_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.nrollouts, 1);
	assert_int_equal(out.rollouts[0].ncontrols, 2);
	assert_true(out.rollouts[0].controls[0].line);
	assert_string_equal(out.rollouts[0].controls[0].reason, "incident");
	assert_int_equal(out.rollouts[0].controls[0].at_ms, 1000);
	assert_int_equal(out.rollouts[0].controls[1].kind, SK_CMD_ABORT);
	assert_string_equal(out.rollouts[0].controls[1].regions[0], "af");
	assert_int_equal(out.rollouts[0].nregion_pauses, 1);
	assert_string_equal(out.rollouts[0].region_pauses[0].region, "ksa");
	assert_true(out.rollouts[0].paused_by_line);
	assert_int_equal(out.rollouts[0].nleft, 1);
	assert_string_equal(out.rollouts[0].left[0].step, "0001_slow");
	assert_int_equal(out.rollouts[0].left[0].steps_total, 3);
	assert_true(out.rollouts[0].left[0].step_finished);
	assert_true(out.has_line);
	assert_true(out.line.stopped);
	assert_string_equal(out.line.by, "otto");
	assert_int_equal(out.line.since_ms, 42);
	assert_string_equal(out.line.except[0], "r-9");
	assert_string_equal(out.line.paused[0], "r-1");
	sk_cli_response_fini(&out);
	free(buf);
	/* Without a line, none comes back. */
	in.has_line = false;
	assert_int_equal(sk_cli_response_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_response_decode(buf, len, &out, &err), SK_OK);
	assert_false(out.has_line);
	sk_cli_response_fini(&out);
	free(buf);
}

/* pb packed must decode to SK_EDECODE naming what. */
static void
refused(const Skein__V1__CliRequest *pb, const char *what)
{
	sk_cli_request out;
	size_t len = 0;
	uint8_t *buf = pack_pb(&pb->base, &len);
	sk_err err;

	assert_int_equal(sk_cli_request_decode(buf, len, &out, &err), SK_EDECODE);
	if (strstr(err.msg, what) == NULL)
		fail_msg("'%s' does not say '%s'", err.msg, what);
	free(buf);
}

static void
test_decoders_refuse_bad_stopline_requests(void **state)
{
	Skein__V1__CliRequest pb;
	Skein__V1__StopRequest stop;
	Skein__V1__PauseRequest pause;
	Skein__V1__AbortRequest abort_req;
	char *many[SK_OP_REGIONS_MAX + 1], *except[SK_LINE_EXCEPT_MAX + 1];
	char longname[SK_NAME_MAX + 8];

	(void)state;
	for (size_t i = 0; i <= SK_OP_REGIONS_MAX; i++)
		many[i] = "af";
	for (size_t i = 0; i <= SK_LINE_EXCEPT_MAX; i++)
		except[i] = "r-1";
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';

	skein__v1__cli_request__init(&pb);
	skein__v1__stop_request__init(&stop);
	stop.action = (Skein__V1__StopAction)7;
	pb.op_case = SKEIN__V1__CLI_REQUEST__OP_STOP;
	pb.stop = &stop;
	refused(&pb, "unknown stop action 7");
	stop.action = SKEIN__V1__STOP_ACTION__STOP_ACTION_ALL;
	stop.except = except;
	stop.n_except = SK_LINE_EXCEPT_MAX + 1;
	refused(&pb, "at most");

	skein__v1__pause_request__init(&pause);
	pause.rollout_id = "r-1";
	pause.regions = many;
	pause.n_regions = SK_OP_REGIONS_MAX + 1;
	pb.op_case = SKEIN__V1__CLI_REQUEST__OP_PAUSE;
	pb.pause = &pause;
	refused(&pb, "at most");
	many[0] = longname;
	pause.n_regions = 1;
	refused(&pb, "region");
	pause.n_regions = 0;
	pause.resume = true;
	refused(&pb, "names no region");

	skein__v1__abort_request__init(&abort_req);
	abort_req.rollout_id = longname;
	pb.op_case = SKEIN__V1__CLI_REQUEST__OP_ABORT;
	pb.abort = &abort_req;
	refused(&pb, "rollout id");
	/* A scoped abort: too many regions, or one that does not fit. */
	many[0] = "af";
	abort_req.rollout_id = "r-1";
	abort_req.regions = many;
	abort_req.n_regions = SK_OP_REGIONS_MAX + 1;
	refused(&pb, "at most");
	many[0] = longname;
	abort_req.n_regions = 1;
	refused(&pb, "region");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_requests_round_trip_scoped_pause_resume_abort_and_stop),
		cmocka_unit_test(test_scoped_abort_round_trips_its_regions),
		cmocka_unit_test(test_abort_command_round_trips),
		cmocka_unit_test(
		    test_response_round_trips_controls_pauses_leftovers_and_line),
		cmocka_unit_test(test_decoders_refuse_bad_stopline_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* wire_opctl_test: the operator's word to a running rollout on the wire
 * (issue 9 item 3): pause, resume and tune requests, the PAUSE, RESUME
 * and TUNE commands with their control generation, the generations an
 * agent says it applied, and the pause and tune of a rollout's view —
 * each round-tripped, and each way a peer's bytes can be wrong refused
 * with nothing allocated: a negative batch, a rate that is negative, NaN
 * or infinite, identifiers that do not fit, an empty tune; a reason too
 * long is cut, not refused. Also sk_tune's merge and words. */
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

static const uint8_t nonce[SK_NONCE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
	12, 13, 14, 15, 16 };

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

static char *
repeat_char(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- round trips -------------------------------------------------------- */

static void
test_cli_request_round_trips_pause_resume_and_tune(void **state)
{
	sk_cli_request in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.op = SK_CLI_PAUSE;
	snprintf(in.rollout_id, sizeof(in.rollout_id), "r-abc");
	snprintf(in.reason, sizeof(in.reason), "replica lag in the canary");
	assert_int_equal(sk_cli_request_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_request_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.op, SK_CLI_PAUSE);
	assert_string_equal(out.rollout_id, "r-abc");
	assert_string_equal(out.reason, "replica lag in the canary");
	assert_true(sk_tune_is_empty(&out.tune));
	sk_cli_request_fini(&out);
	free(buf);

	memset(&in, 0, sizeof(in));
	in.op = SK_CLI_RESUME;
	snprintf(in.rollout_id, sizeof(in.rollout_id), "r-abc");
	assert_int_equal(sk_cli_request_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_request_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.op, SK_CLI_RESUME);
	assert_string_equal(out.rollout_id, "r-abc");
	assert_string_equal(out.reason, "");
	sk_cli_request_fini(&out);
	free(buf);

	/* "none" (a rate of 0, set) is not "unchanged" (not set). */
	memset(&in, 0, sizeof(in));
	in.op = SK_CLI_TUNE;
	snprintf(in.rollout_id, sizeof(in.rollout_id), "r-abc");
	in.tune =
	    (sk_tune){ .has_rate = true, .max_rows_per_second = 0, .batch_max = 700 };
	assert_int_equal(sk_cli_request_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_request_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.op, SK_CLI_TUNE);
	assert_true(out.tune.has_rate);
	assert_true(out.tune.max_rows_per_second == 0);
	assert_int_equal(out.tune.batch_min, 0);
	assert_int_equal(out.tune.batch_max, 700);
	sk_cli_request_fini(&out);
	free(buf);

	in.tune = (sk_tune){ .batch_min = 50 };
	assert_int_equal(sk_cli_request_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_request_decode(buf, len, &out, &err), SK_OK);
	assert_false(out.tune.has_rate);
	assert_int_equal(out.tune.batch_min, 50);
	assert_int_equal(out.tune.batch_max, 0);
	sk_cli_request_fini(&out);
	free(buf);
}

static void
test_control_round_trips_pause_resume_and_tune_commands(void **state)
{
	sk_command cmds[4];
	sk_control in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(cmds, 0, sizeof(cmds));
	cmds[0].kind = SK_CMD_PAUSE;
	cmds[0].control_gen = 3;
	snprintf(cmds[0].actor, sizeof(cmds[0].actor), "otto");
	snprintf(cmds[0].reason, sizeof(cmds[0].reason), "lag");
	cmds[1].kind = SK_CMD_TUNE;
	cmds[1].control_gen = 3;
	cmds[1].has_tune = true;
	cmds[1].tune = (sk_tune){ true, 250.5, 100, 2000 };
	cmds[2].kind = SK_CMD_RESUME;
	cmds[2].control_gen = 4;
	/* A RUN starts in the rollout's state: its generation and tune. */
	cmds[3].kind = SK_CMD_RUN_PLAN;
	cmds[3].control_gen = 4;
	cmds[3].has_tune = true;
	cmds[3].tune = (sk_tune){ .batch_max = 9 };
	for (size_t i = 0; i < 4; i++)
		snprintf(cmds[i].rollout_id, SK_ID_MAX, "r-abc");
	memset(&in, 0, sizeof(in));
	in.seq = 42;
	snprintf(in.region, sizeof(in.region), "af");
	memcpy(in.nonce, nonce, SK_NONCE_LEN);
	in.commands = cmds;
	in.ncommands = 4;
	assert_int_equal(sk_control_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_control_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.ncommands, 4);
	assert_int_equal(out.commands[0].kind, SK_CMD_PAUSE);
	assert_int_equal(out.commands[0].control_gen, 3);
	assert_string_equal(out.commands[0].actor, "otto");
	assert_string_equal(out.commands[0].reason, "lag");
	assert_false(out.commands[0].has_tune);
	assert_int_equal(out.commands[1].kind, SK_CMD_TUNE);
	assert_true(out.commands[1].has_tune);
	assert_true(out.commands[1].tune.has_rate);
	assert_true(out.commands[1].tune.max_rows_per_second == 250.5);
	assert_int_equal(out.commands[1].tune.batch_min, 100);
	assert_int_equal(out.commands[1].tune.batch_max, 2000);
	assert_int_equal(out.commands[2].kind, SK_CMD_RESUME);
	assert_int_equal(out.commands[2].control_gen, 4);
	assert_int_equal(out.commands[3].kind, SK_CMD_RUN_PLAN);
	assert_true(out.commands[3].has_tune);
	assert_false(out.commands[3].tune.has_rate);
	assert_int_equal(out.commands[3].tune.batch_max, 9);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(out.commands[i].rollout_id, "r-abc");
	sk_control_fini(&out);
	free(buf);
}

static void
test_agent_msg_round_trips_applied_generations(void **state)
{
	char running[2][SK_NAME_MAX] = { "r-one", "r-two" };
	sk_run_control applied[2] = { { "r-one", 7 }, { "r-two", 0 } };
	sk_agent_msg in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(&in, 0, sizeof(in));
	snprintf(in.region, sizeof(in.region), "af");
	memcpy(in.nonce, nonce, SK_NONCE_LEN);
	in.running = running;
	in.nrunning = 2;
	in.applied = applied;
	in.napplied = 2;
	assert_int_equal(sk_agent_msg_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_agent_msg_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.napplied, 2);
	assert_string_equal(out.applied[0].rollout_id, "r-one");
	assert_int_equal(out.applied[0].control_gen, 7);
	assert_string_equal(out.applied[1].rollout_id, "r-two");
	assert_int_equal(out.applied[1].control_gen, 0);
	sk_agent_msg_fini(&out);
	assert_null(out.applied);
	assert_int_equal(out.napplied, 0);
	free(buf);

	/* An agent that predates pauses says nothing: none applied. */
	in.applied = NULL;
	in.napplied = 0;
	assert_int_equal(sk_agent_msg_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_agent_msg_decode(buf, len, &out, &err), SK_OK);
	assert_null(out.applied);
	assert_int_equal(out.napplied, 0);
	assert_int_equal(out.nrunning, 2);
	sk_agent_msg_fini(&out);
	free(buf);
}

static void
test_cli_response_round_trips_a_views_pause_and_tune(void **state)
{
	sk_rollout_view views[2];
	sk_cli_response in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(views, 0, sizeof(views));
	snprintf(views[0].id, SK_ID_MAX, "r-paused");
	views[0].paused = true;
	snprintf(views[0].paused_by, SK_NAME_MAX, "otto");
	snprintf(views[0].paused_by_key, SK_NAME_MAX, "ad92d9c19325370d");
	views[0].paused_ms = 1764756000123;
	snprintf(views[0].pause_reason, SK_REASON_MAX, "replica lag");
	views[0].has_tune = true;
	views[0].tune = (sk_tune){ true, 0, 0, 5000 };
	snprintf(views[1].id, SK_ID_MAX, "r-plain");
	memset(&in, 0, sizeof(in));
	in.ok = true;
	in.rollouts = views;
	in.nrollouts = 2;
	assert_int_equal(sk_cli_response_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_response_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.nrollouts, 2);
	assert_true(out.rollouts[0].paused);
	assert_string_equal(out.rollouts[0].paused_by, "otto");
	assert_string_equal(out.rollouts[0].paused_by_key, "ad92d9c19325370d");
	assert_int_equal(out.rollouts[0].paused_ms, 1764756000123);
	assert_string_equal(out.rollouts[0].pause_reason, "replica lag");
	assert_true(out.rollouts[0].has_tune);
	assert_true(out.rollouts[0].tune.has_rate);
	assert_true(out.rollouts[0].tune.max_rows_per_second == 0);
	assert_int_equal(out.rollouts[0].tune.batch_max, 5000);
	assert_false(out.rollouts[1].paused);
	assert_string_equal(out.rollouts[1].paused_by, "");
	assert_false(out.rollouts[1].has_tune);
	sk_cli_response_fini(&out);
	free(buf);
}

/* ---- refusals ----------------------------------------------------------- */

/* The bad tunes a peer could send; each must be refused. */
static const Skein__V1__Tune *
bad_tune(size_t i)
{
	static Skein__V1__Tune t;

	skein__v1__tune__init(&t);
	switch (i) {
	case 0:
		t.batch_min = -1;
		break;
	case 1:
		t.batch_max = -5000;
		break;
	case 2:
		t.max_rows_per_second_set = true;
		t.max_rows_per_second = -1;
		break;
	case 3:
		t.max_rows_per_second_set = true;
		t.max_rows_per_second = NAN;
		break;
	case 4:
		t.max_rows_per_second_set = true;
		t.max_rows_per_second = INFINITY;
		break;
	default:
		return NULL;
	}
	return &t;
}

static void
test_decoders_refuse_bad_tunes_with_nothing_allocated(void **state)
{
	const Skein__V1__Tune *t;

	(void)state;
	for (size_t i = 0; (t = bad_tune(i)) != NULL; i++) {
		Skein__V1__CliRequest req;
		Skein__V1__TuneRequest tr = SKEIN__V1__TUNE_REQUEST__INIT;
		Skein__V1__Control ctl = SKEIN__V1__CONTROL__INIT;
		Skein__V1__Command cmd = SKEIN__V1__COMMAND__INIT, *cmdp = &cmd;
		Skein__V1__CliResponse resp = SKEIN__V1__CLI_RESPONSE__INIT;
		Skein__V1__RolloutView rv = SKEIN__V1__ROLLOUT_VIEW__INIT, *rvp = &rv;
		sk_cli_request q;
		sk_control c;
		sk_cli_response r;
		uint8_t *buf;
		size_t len;
		sk_err err;

		skein__v1__cli_request__init(&req);
		tr.rollout_id = (char *)"r-abc";
		tr.tune = (Skein__V1__Tune *)t;
		req.op_case = SKEIN__V1__CLI_REQUEST__OP_TUNE;
		req.tune = &tr;
		buf = pack_pb(&req.base, &len);
		assert_int_equal(sk_cli_request_decode(buf, len, &q, &err), SK_EDECODE);
		assert_non_null(strstr(err.msg, "tune"));
		assert_null(q.signed_plan);
		free(buf);

		ctl.region = (char *)"af";
		ctl.nonce.data = (uint8_t *)nonce;
		ctl.nonce.len = SK_NONCE_LEN;
		cmd.kind = SKEIN__V1__COMMAND_KIND__COMMAND_KIND_TUNE;
		cmd.rollout_id = (char *)"r-abc";
		cmd.tune = (Skein__V1__Tune *)t;
		ctl.commands = &cmdp;
		ctl.n_commands = 1;
		buf = pack_pb(&ctl.base, &len);
		assert_int_equal(sk_control_decode(buf, len, &c, &err), SK_EDECODE);
		assert_null(c.commands);
		assert_int_equal(c.ncommands, 0);
		free(buf);

		rv.id = (char *)"r-abc";
		rv.tune = (Skein__V1__Tune *)t;
		resp.rollouts = &rvp;
		resp.n_rollouts = 1;
		buf = pack_pb(&resp.base, &len);
		assert_int_equal(sk_cli_response_decode(buf, len, &r, &err), SK_EDECODE);
		assert_null(r.rollouts);
		assert_int_equal(r.nrollouts, 0);
		free(buf);
	}
}

static void
test_decoders_refuse_empty_bodies_and_overlong_names(void **state)
{
	char *id = repeat_char('r', SK_ID_MAX);
	char *name = repeat_char('n', SK_NAME_MAX);
	Skein__V1__CliRequest req;
	Skein__V1__TuneRequest tr = SKEIN__V1__TUNE_REQUEST__INIT;
	Skein__V1__PauseRequest pr = SKEIN__V1__PAUSE_REQUEST__INIT;
	Skein__V1__Control ctl = SKEIN__V1__CONTROL__INIT;
	Skein__V1__Command cmd = SKEIN__V1__COMMAND__INIT, *cmdp = &cmd;
	Skein__V1__AgentMessage am = SKEIN__V1__AGENT_MESSAGE__INIT;
	Skein__V1__RunControl rc = SKEIN__V1__RUN_CONTROL__INIT, *rcp = &rc;
	Skein__V1__CliResponse resp = SKEIN__V1__CLI_RESPONSE__INIT;
	Skein__V1__RolloutView rv = SKEIN__V1__ROLLOUT_VIEW__INIT, *rvp = &rv;
	sk_cli_request q;
	sk_control c;
	sk_agent_msg m;
	sk_cli_response r;
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	skein__v1__cli_request__init(&req);
	/* A tune request without its tune. */
	tr.rollout_id = (char *)"r-abc";
	req.op_case = SKEIN__V1__CLI_REQUEST__OP_TUNE;
	req.tune = &tr;
	buf = pack_pb(&req.base, &len);
	assert_int_equal(sk_cli_request_decode(buf, len, &q, &err), SK_EDECODE);
	assert_non_null(strstr(err.msg, "empty tune"));
	free(buf);

	/* Rollout ids that do not fit, in each request. */
	pr.rollout_id = id;
	req.op_case = SKEIN__V1__CLI_REQUEST__OP_PAUSE;
	req.pause = &pr;
	buf = pack_pb(&req.base, &len);
	assert_int_equal(sk_cli_request_decode(buf, len, &q, &err), SK_EDECODE);
	assert_non_null(strstr(err.msg, "rollout id"));
	free(buf);
	req.op_case = SKEIN__V1__CLI_REQUEST__OP_RESUME_ROLLOUT_ID;
	req.resume_rollout_id = id;
	buf = pack_pb(&req.base, &len);
	assert_int_equal(sk_cli_request_decode(buf, len, &q, &err), SK_EDECODE);
	free(buf);

	/* An operator's name that does not fit, in a command and a view. */
	ctl.region = (char *)"af";
	ctl.nonce.data = (uint8_t *)nonce;
	ctl.nonce.len = SK_NONCE_LEN;
	cmd.kind = SKEIN__V1__COMMAND_KIND__COMMAND_KIND_PAUSE;
	cmd.rollout_id = (char *)"r-abc";
	cmd.actor = name;
	ctl.commands = &cmdp;
	ctl.n_commands = 1;
	buf = pack_pb(&ctl.base, &len);
	assert_int_equal(sk_control_decode(buf, len, &c, &err), SK_EDECODE);
	assert_non_null(strstr(err.msg, "operator name"));
	assert_null(c.commands);
	free(buf);
	rv.id = (char *)"r-abc";
	rv.paused = true;
	rv.paused_by = name;
	resp.rollouts = &rvp;
	resp.n_rollouts = 1;
	buf = pack_pb(&resp.base, &len);
	assert_int_equal(sk_cli_response_decode(buf, len, &r, &err), SK_EDECODE);
	assert_null(r.rollouts);
	free(buf);

	/* An applied generation of a rollout id that does not fit. */
	am.region = (char *)"af";
	am.nonce.data = (uint8_t *)nonce;
	am.nonce.len = SK_NONCE_LEN;
	rc.rollout_id = id;
	rc.control_gen = 1;
	am.applied = &rcp;
	am.n_applied = 1;
	buf = pack_pb(&am.base, &len);
	assert_int_equal(sk_agent_msg_decode(buf, len, &m, &err), SK_EDECODE);
	assert_null(m.applied);
	assert_int_equal(m.napplied, 0);
	free(buf);
	free(id);
	free(name);
}

static void
test_reasons_longer_than_the_field_are_cut_not_refused(void **state)
{
	char *reason = repeat_char('x', 3 * SK_REASON_MAX);
	Skein__V1__CliRequest req;
	Skein__V1__PauseRequest pr = SKEIN__V1__PAUSE_REQUEST__INIT;
	Skein__V1__CliResponse resp = SKEIN__V1__CLI_RESPONSE__INIT;
	Skein__V1__RolloutView rv = SKEIN__V1__ROLLOUT_VIEW__INIT, *rvp = &rv;
	sk_cli_request q;
	sk_cli_response r;
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	skein__v1__cli_request__init(&req);
	pr.rollout_id = (char *)"r-abc";
	pr.reason = reason;
	req.op_case = SKEIN__V1__CLI_REQUEST__OP_PAUSE;
	req.pause = &pr;
	buf = pack_pb(&req.base, &len);
	assert_int_equal(sk_cli_request_decode(buf, len, &q, &err), SK_OK);
	assert_int_equal(strlen(q.reason), SK_REASON_MAX - 1);
	sk_cli_request_fini(&q);
	free(buf);
	rv.id = (char *)"r-abc";
	rv.pause_reason = reason;
	resp.rollouts = &rvp;
	resp.n_rollouts = 1;
	buf = pack_pb(&resp.base, &len);
	assert_int_equal(sk_cli_response_decode(buf, len, &r, &err), SK_OK);
	assert_int_equal(strlen(r.rollouts[0].pause_reason), SK_REASON_MAX - 1);
	sk_cli_response_fini(&r);
	free(buf);
	free(reason);
}

/* Every truncation and many bit flips of each new message decode or are
 * refused; ASan says nothing leaks or overreads. */
static void
test_decoders_survive_truncated_and_flipped_opctl_messages(void **state)
{
	sk_cli_request in;
	sk_command cmd;
	sk_control ctl;
	uint8_t *enc[2];
	size_t lens[2];
	uint64_t rng = 0x5eedf00dULL;
	sk_err err;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.op = SK_CLI_TUNE;
	snprintf(in.rollout_id, sizeof(in.rollout_id), "r-abc");
	in.tune = (sk_tune){ true, 10, 20, 30 };
	assert_int_equal(sk_cli_request_encode(&in, &enc[0], &lens[0], &err), SK_OK);
	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = SK_CMD_PAUSE;
	cmd.control_gen = 9;
	snprintf(cmd.rollout_id, sizeof(cmd.rollout_id), "r-abc");
	snprintf(cmd.actor, sizeof(cmd.actor), "otto");
	snprintf(cmd.reason, sizeof(cmd.reason), "why");
	cmd.has_tune = true;
	cmd.tune = in.tune;
	memset(&ctl, 0, sizeof(ctl));
	snprintf(ctl.region, sizeof(ctl.region), "af");
	memcpy(ctl.nonce, nonce, SK_NONCE_LEN);
	ctl.commands = &cmd;
	ctl.ncommands = 1;
	assert_int_equal(sk_control_encode(&ctl, &enc[1], &lens[1], &err), SK_OK);
	for (size_t k = 0; k < 2; k++) {
		for (size_t n = 0; n <= lens[k]; n++) {
			uint8_t *copy = malloc(n + 1);
			sk_cli_request q;
			sk_control c;

			assert_non_null(copy);
			memcpy(copy, enc[k], n);
			if (k == 0 && sk_cli_request_decode(copy, n, &q, &err) == SK_OK)
				sk_cli_request_fini(&q);
			if (k == 1 && sk_control_decode(copy, n, &c, &err) == SK_OK)
				sk_control_fini(&c);
			for (int flip = 0; flip < 40 && n > 0; flip++) {
				rng ^= rng << 13;
				rng ^= rng >> 7;
				rng ^= rng << 17;
				copy[rng % n] ^= (uint8_t)(1u << (rng % 8));
				if (k == 0 &&
				    sk_cli_request_decode(copy, n, &q, &err) == SK_OK)
					sk_cli_request_fini(&q);
				if (k == 1 && sk_control_decode(copy, n, &c, &err) == SK_OK)
					sk_control_fini(&c);
			}
			free(copy);
		}
		free(enc[k]);
	}
}

/* ---- tunes and names ---------------------------------------------------- */

static void
test_tunes_merge_field_by_field_and_read_in_words(void **state)
{
	sk_tune t = { 0 }, a = { .batch_max = 2000 }, b = { true, 500, 100, 0 },
		none = { .has_rate = true };
	char words[160];

	(void)state;
	assert_true(sk_tune_is_empty(&t));
	sk_tune_format(&t, words, sizeof(words));
	assert_string_equal(words, "nothing");
	sk_tune_merge(&t, &a);
	sk_tune_merge(&t, &b);
	assert_false(sk_tune_is_empty(&t));
	assert_int_equal(t.batch_min, 100);
	assert_int_equal(t.batch_max, 2000); /* b left it unchanged */
	assert_true(t.has_rate && t.max_rows_per_second == 500);
	sk_tune_format(&t, words, sizeof(words));
	assert_string_equal(
	    words, "max_rows_per_second 500, batch_min 100, batch_max 2000");
	sk_tune_merge(&t, &none);
	assert_true(t.has_rate && t.max_rows_per_second == 0);
	sk_tune_format(&t, words, sizeof(words));
	assert_string_equal(words,
	    "max_rows_per_second no limit, batch_min 100, batch_max 2000");
}

static void
test_names_cover_the_new_commands_and_requests(void **state)
{
	(void)state;
	assert_string_equal(sk_command_name(SK_CMD_RUN_PLAN), "run");
	assert_string_equal(sk_command_name(SK_CMD_PAUSE), "pause");
	assert_string_equal(sk_command_name(SK_CMD_RESUME), "resume");
	assert_string_equal(sk_command_name(SK_CMD_TUNE), "tune");
	assert_string_equal(sk_command_name(SK_CMD_MAX), "unknown");
	assert_string_equal(sk_command_name(0), "unknown");
	assert_string_equal(sk_cli_op_name(SK_CLI_PAUSE), "pause");
	assert_string_equal(sk_cli_op_name(SK_CLI_RESUME), "resume");
	assert_string_equal(sk_cli_op_name(SK_CLI_TUNE), "tune");
	assert_string_equal(sk_cli_op_name(SK_CLI_TUNE + 1), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_request_round_trips_pause_resume_and_tune),
		cmocka_unit_test(test_control_round_trips_pause_resume_and_tune_commands),
		cmocka_unit_test(test_agent_msg_round_trips_applied_generations),
		cmocka_unit_test(test_cli_response_round_trips_a_views_pause_and_tune),
		cmocka_unit_test(test_decoders_refuse_bad_tunes_with_nothing_allocated),
		cmocka_unit_test(test_decoders_refuse_empty_bodies_and_overlong_names),
		cmocka_unit_test(test_reasons_longer_than_the_field_are_cut_not_refused),
		cmocka_unit_test(test_decoders_survive_truncated_and_flipped_opctl_messages),
		cmocka_unit_test(test_tunes_merge_field_by_field_and_read_in_words),
		cmocka_unit_test(test_names_cover_the_new_commands_and_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

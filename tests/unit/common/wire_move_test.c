/* Unit tests for what tenant moves add to the agent wire: a command's
 * move peers and the MOVE_SERVE kind round trip, an agent message's
 * serving_moves round trip, and a Control whose peer has a key that is
 * not 32 bytes, an unknown role, an overlong address or too many peers
 * refused with nothing left allocated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sk_wire.h"
#include "skein.pb-c.h"

static void
peer_fill(sk_move_peer *p, const char *step, int role, const char *region,
    const char *address, uint8_t key_byte)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->step_id, sizeof(p->step_id), "%s", step);
	p->role = role;
	snprintf(p->region, sizeof(p->region), "%s", region);
	snprintf(p->address, sizeof(p->address), "%s", address);
	memset(p->agent_key, key_byte, sizeof(p->agent_key));
}

static void
control_fill(sk_control *c, sk_command *cmd)
{
	memset(c, 0, sizeof(*c));
	c->seq = 7;
	snprintf(c->region, sizeof(c->region), "in");
	c->commands = cmd;
	c->ncommands = 1;
}

static void
test_command_move_peers_round_trip(void **state)
{
	sk_move_peer peers[2];
	sk_command cmd;
	sk_control c, out;
	uint8_t plan[3] = { 1, 2, 3 };
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	peer_fill(&peers[0], "move_hotel_1", SK_MOVE_ROLE_SOURCE, "af",
	    "tcp://127.0.0.1:7411", 0xa1);
	peer_fill(&peers[1], "move_hotel_2", SK_MOVE_ROLE_SOURCE, "ksa",
	    "tcp://127.0.0.1:7413", 0xb2);
	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = SK_CMD_RUN_PLAN;
	snprintf(cmd.rollout_id, sizeof(cmd.rollout_id), "r-1");
	cmd.signed_plan = plan;
	cmd.signed_plan_len = sizeof(plan);
	cmd.move_peers = peers;
	cmd.nmove_peers = 2;
	control_fill(&c, &cmd);
	assert_int_equal(sk_control_encode(&c, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_control_decode(buf, len, &out, &err), SK_OK);
	free(buf);
	assert_int_equal(out.ncommands, 1);
	assert_int_equal(out.commands[0].nmove_peers, 2);
	assert_memory_equal(
	    &out.commands[0].move_peers[0], &peers[0], sizeof(peers[0]));
	assert_memory_equal(
	    &out.commands[0].move_peers[1], &peers[1], sizeof(peers[1]));
	sk_control_fini(&out);

	/* MOVE_SERVE with a TARGET peer (no address). */
	peer_fill(&peers[0], "move_hotel_1", SK_MOVE_ROLE_TARGET, "in", "", 0xc3);
	cmd.kind = SK_CMD_MOVE_SERVE;
	cmd.nmove_peers = 1;
	assert_int_equal(sk_control_encode(&c, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_control_decode(buf, len, &out, &err), SK_OK);
	free(buf);
	assert_int_equal(out.commands[0].kind, SK_CMD_MOVE_SERVE);
	assert_string_equal(sk_command_name(SK_CMD_MOVE_SERVE), "move-serve");
	assert_int_equal(out.commands[0].nmove_peers, 1);
	assert_int_equal(out.commands[0].move_peers[0].role, SK_MOVE_ROLE_TARGET);
	assert_string_equal(out.commands[0].move_peers[0].address, "");
	assert_memory_equal(
	    &out.commands[0].move_peers[0], &peers[0], sizeof(peers[0]));
	assert_int_equal(out.commands[0].signed_plan_len, sizeof(plan));
	sk_control_fini(&out);

	/* A command without peers decodes without any. */
	cmd.nmove_peers = 0;
	cmd.move_peers = NULL;
	assert_int_equal(sk_control_encode(&c, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_control_decode(buf, len, &out, &err), SK_OK);
	free(buf);
	assert_null(out.commands[0].move_peers);
	assert_int_equal(out.commands[0].nmove_peers, 0);
	sk_control_fini(&out);
}

static void
test_encode_refuses_too_many_peers(void **state)
{
	sk_move_peer *peers = calloc(SK_MOVE_PEERS_MAX + 1, sizeof(*peers));
	sk_command cmd;
	sk_control c;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	assert_non_null(peers);
	for (size_t i = 0; i <= SK_MOVE_PEERS_MAX; i++)
		peer_fill(&peers[i], "s", SK_MOVE_ROLE_SOURCE, "af", "tcp://h:1", 1);
	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = SK_CMD_RUN_PLAN;
	cmd.move_peers = peers;
	cmd.nmove_peers = SK_MOVE_PEERS_MAX + 1;
	control_fill(&c, &cmd);
	assert_int_equal(sk_control_encode(&c, &buf, &len, &err), SK_EINVAL);
	assert_null(buf);
	assert_non_null(strstr(err.msg, "move peers"));
	free(peers);
}

/* A Control of one MOVE_SERVE command whose peers are pbs, packed. */
static uint8_t *
pack_control(Skein__V1__MovePeer **pbs, size_t n, size_t *len)
{
	Skein__V1__Control pc;
	Skein__V1__Command cmd, *cmdp = &cmd;
	uint8_t nonce[SK_NONCE_LEN] = { 0 };
	uint8_t *buf;

	skein__v1__control__init(&pc);
	skein__v1__command__init(&cmd);
	pc.region = "af";
	pc.nonce.data = nonce;
	pc.nonce.len = sizeof(nonce);
	cmd.kind = SKEIN__V1__COMMAND_KIND__COMMAND_KIND_MOVE_SERVE;
	cmd.rollout_id = "r-1";
	cmd.move_peers = pbs;
	cmd.n_move_peers = n;
	pc.commands = &cmdp;
	pc.n_commands = 1;
	*len = skein__v1__control__get_packed_size(&pc);
	buf = malloc(*len);
	assert_non_null(buf);
	skein__v1__control__pack(&pc, buf);
	return buf;
}

static void
expect_refused(Skein__V1__MovePeer **pbs, size_t n, const char *want)
{
	sk_control out;
	uint8_t *buf;
	size_t len;
	sk_err err;

	buf = pack_control(pbs, n, &len);
	memset(&err, 0, sizeof(err));
	assert_int_equal(sk_control_decode(buf, len, &out, &err), SK_EDECODE);
	free(buf);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err.msg, want);
	assert_null(out.commands);
	assert_int_equal(out.ncommands, 0);
}

static void
test_decode_refuses_bad_peers(void **state)
{
	Skein__V1__MovePeer pb, *pbp = &pb;
	Skein__V1__MovePeer **many;
	uint8_t key[33];
	char address[SK_MOVE_ADDRESS_MAX + 1];
	sk_control out;
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	memset(key, 7, sizeof(key));
	skein__v1__move_peer__init(&pb);
	pb.step_id = "move_hotel_1";
	pb.role = SKEIN__V1__MOVE_ROLE__MOVE_ROLE_TARGET;
	pb.region = "in";
	pb.address = "";
	pb.agent_key.data = key;
	pb.agent_key.len = 32;

	/* The good one decodes. */
	buf = pack_control(&pbp, 1, &len);
	assert_int_equal(sk_control_decode(buf, len, &out, &err), SK_OK);
	free(buf);
	assert_int_equal(out.commands[0].kind, SK_CMD_MOVE_SERVE);
	assert_int_equal(out.commands[0].nmove_peers, 1);
	sk_control_fini(&out);

	pb.agent_key.len = 31; /* truncated */
	expect_refused(&pbp, 1, "key of 31 bytes");
	pb.agent_key.len = 33; /* overlong */
	expect_refused(&pbp, 1, "key of 33 bytes");
	pb.agent_key.len = 0; /* none */
	expect_refused(&pbp, 1, "key of 0 bytes");
	pb.agent_key.len = 32;

	pb.role = SKEIN__V1__MOVE_ROLE__MOVE_ROLE_UNSPECIFIED;
	expect_refused(&pbp, 1, "unknown role");
	pb.role = (Skein__V1__MoveRole)9;
	expect_refused(&pbp, 1, "unknown role");
	pb.role = SKEIN__V1__MOVE_ROLE__MOVE_ROLE_TARGET;

	memset(address, 'a', sizeof(address) - 1);
	address[sizeof(address) - 1] = '\0';
	pb.address = address;
	expect_refused(&pbp, 1, "address of 256 bytes");
	pb.address = "";

	pb.step_id = "";
	expect_refused(&pbp, 1, "without a step id");
	pb.step_id = "move_hotel_1";

	many = calloc(SK_MOVE_PEERS_MAX + 1, sizeof(*many));
	assert_non_null(many);
	for (size_t i = 0; i <= SK_MOVE_PEERS_MAX; i++)
		many[i] = &pb;
	expect_refused(many, SK_MOVE_PEERS_MAX + 1, "move peers");
	free(many);
}

static void
test_agent_msg_serving_moves_round_trip(void **state)
{
	sk_agent_msg in, out;
	char serving[2][SK_MOVE_KEY_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;
	Skein__V1__AgentMessage pb;
	char *longp;
	char lng[SK_MOVE_KEY_MAX + 1];
	uint8_t nonce[SK_NONCE_LEN] = { 0 };

	(void)state;
	memset(&in, 0, sizeof(in));
	snprintf(in.region, sizeof(in.region), "af");
	snprintf(serving[0], sizeof(serving[0]), "r-1/move_hotel_1");
	snprintf(serving[1], sizeof(serving[1]), "r-2/move_hotel_9");
	in.serving_moves = serving;
	in.nserving_moves = 2;
	assert_int_equal(sk_agent_msg_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_agent_msg_decode(buf, len, &out, &err), SK_OK);
	free(buf);
	assert_int_equal(out.nserving_moves, 2);
	assert_string_equal(out.serving_moves[0], "r-1/move_hotel_1");
	assert_string_equal(out.serving_moves[1], "r-2/move_hotel_9");
	sk_agent_msg_fini(&out);
	assert_null(out.serving_moves);
	assert_int_equal(out.nserving_moves, 0);

	/* One over SK_MOVE_KEY_MAX - 1 bytes is refused. */
	skein__v1__agent_message__init(&pb);
	pb.region = "af";
	pb.nonce.data = nonce;
	pb.nonce.len = sizeof(nonce);
	memset(lng, 'x', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	longp = lng;
	pb.serving_moves = &longp;
	pb.n_serving_moves = 1;
	len = skein__v1__agent_message__get_packed_size(&pb);
	buf = malloc(len);
	assert_non_null(buf);
	skein__v1__agent_message__pack(&pb, buf);
	assert_int_equal(sk_agent_msg_decode(buf, len, &out, &err), SK_EDECODE);
	free(buf);
	assert_non_null(strstr(err.msg, "serving move"));
	assert_null(out.serving_moves);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_move_peers_round_trip),
		cmocka_unit_test(test_encode_refuses_too_many_peers),
		cmocka_unit_test(test_decode_refuses_bad_peers),
		cmocka_unit_test(test_agent_msg_serving_moves_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

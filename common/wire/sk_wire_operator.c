/* sk_wire_operator: what an operator sends the coordinator beside the
 * CLI's other requests (sk_wire_cli.c): the signed request that carries
 * every command, and the word to a running rollout — pause, resume, tune
 * — with the pause and tune a rollout's view shows and the tune its
 * commands carry to the agents. Decoded at the edge like every message
 * (sk_wire.c). */
#include "sk_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_wire_int.h"
#include "skein.pb-c.h"

/* ---- pause, resume, tune requests ---------------------------------------- */

void
wire_opctl_request_to_pb(
    Skein__V1__CliRequest *pb, opctl_request_store *s, const sk_cli_request *m)
{
	switch (m->op) {
	case SK_CLI_PAUSE:
		skein__v1__pause_request__init(&s->pause);
		s->pause.rollout_id = (char *)m->rollout_id;
		s->pause.reason = (char *)m->reason;
		pb->op_case = SKEIN__V1__CLI_REQUEST__OP_PAUSE;
		pb->pause = &s->pause;
		/* stopline: --region, and a scoped resume, which only a
		 * PauseRequest can carry. */
		for (size_t i = 0; i < m->nregions && i < SK_OP_REGIONS_MAX; i++)
			s->regions[i] = (char *)m->regions[i];
		s->pause.regions = s->regions;
		s->pause.n_regions = m->nregions;
		break;
	case SK_CLI_RESUME:
		if (m->nregions > 0) {
			/* A scoped resume, carried as a PauseRequest. */
			skein__v1__pause_request__init(&s->pause);
			s->pause.rollout_id = (char *)m->rollout_id;
			s->pause.reason = (char *)m->reason;
			s->pause.resume = true;
			for (size_t i = 0;
			     i < m->nregions && i < SK_OP_REGIONS_MAX; i++)
				s->regions[i] = (char *)m->regions[i];
			s->pause.regions = s->regions;
			s->pause.n_regions = m->nregions;
			pb->op_case = SKEIN__V1__CLI_REQUEST__OP_PAUSE;
			pb->pause = &s->pause;
			break;
		}
		pb->op_case = SKEIN__V1__CLI_REQUEST__OP_RESUME_ROLLOUT_ID;
		pb->resume_rollout_id = (char *)m->rollout_id;
		break;
	default: /* SK_CLI_TUNE */
		skein__v1__tune_request__init(&s->tune_req);
		wire_tune_to_pb(&s->tune, &m->tune);
		s->tune_req.rollout_id = (char *)m->rollout_id;
		s->tune_req.tune = &s->tune;
		pb->op_case = SKEIN__V1__CLI_REQUEST__OP_TUNE;
		pb->tune = &s->tune_req;
		break;
	}
}

int
wire_opctl_request_from_pb(
    sk_cli_request *out, const Skein__V1__CliRequest *pb, sk_err *err)
{
	switch (pb->op_case) {
	case SKEIN__V1__CLI_REQUEST__OP_PAUSE:
		out->op = SK_CLI_PAUSE;
		if (pb->pause == NULL)
			return sk_err_set(err, SK_EDECODE, "decode request: empty pause");
		wire_copy_text(out->reason, sizeof(out->reason), pb->pause->reason);
		if (wire_pause_regions_from_pb(out, pb->pause, err) != SK_OK)
			return err->code;
		if (pb->pause->resume && out->nregions == 0)
			return sk_err_set(err, SK_EDECODE,
			    "decode request: a resume in a pause names no region");
		if (pb->pause->resume)
			out->op = SK_CLI_RESUME;
		return wire_copy_id(out->rollout_id, sizeof(out->rollout_id),
		    pb->pause->rollout_id, "rollout id", err);
	case SKEIN__V1__CLI_REQUEST__OP_RESUME_ROLLOUT_ID:
		out->op = SK_CLI_RESUME;
		return wire_copy_id(out->rollout_id, sizeof(out->rollout_id),
		    pb->resume_rollout_id, "rollout id", err);
	case SKEIN__V1__CLI_REQUEST__OP_TUNE:
		out->op = SK_CLI_TUNE;
		if (pb->tune == NULL || pb->tune->tune == NULL)
			return sk_err_set(err, SK_EDECODE, "decode request: empty tune");
		if (wire_tune_from_pb(&out->tune, pb->tune->tune,
			"decode request", err) != SK_OK)
			return err->code;
		return wire_copy_id(out->rollout_id, sizeof(out->rollout_id),
		    pb->tune->rollout_id, "rollout id", err);
	default:
		return sk_err_set(err, SK_EDECODE, "decode request: no operation");
	}
}

/* ---- a view's pause and tune ---------------------------------------------- */

void
wire_view_opctl_to_pb(
    Skein__V1__RolloutView *pb, Skein__V1__Tune *tune, const sk_rollout_view *v)
{
	pb->paused = v->paused;
	pb->paused_by = (char *)v->paused_by;
	pb->paused_by_key = (char *)v->paused_by_key;
	pb->paused_unix_ms = v->paused_ms;
	pb->pause_reason = (char *)v->pause_reason;
	if (v->has_tune) {
		wire_tune_to_pb(tune, &v->tune);
		pb->tune = tune;
	}
}

int
wire_view_opctl_from_pb(
    sk_rollout_view *v, const Skein__V1__RolloutView *pb, sk_err *err)
{
	v->paused = pb->paused;
	v->paused_ms = pb->paused_unix_ms;
	if (wire_copy_id(v->paused_by, sizeof(v->paused_by), pb->paused_by,
		"operator name", err) != SK_OK)
		return err->code;
	wire_copy_text(v->paused_by_key, sizeof(v->paused_by_key), pb->paused_by_key);
	wire_copy_text(v->pause_reason, sizeof(v->pause_reason), pb->pause_reason);
	if (pb->tune == NULL)
		return SK_OK;
	v->has_tune = true;
	return wire_tune_from_pb(&v->tune, pb->tune, "decode rollout view", err);
}

/* ---- operator requests ---------------------------------------------------- */

int
sk_operator_request_encode(
    const sk_operator_request *m, uint8_t **out, size_t *len, sk_err *err)
{
	Skein__V1__OperatorRequest pb = SKEIN__V1__OPERATOR_REQUEST__INIT;
	uint8_t *buf;
	size_t n;

	pb.request.data = m->request;
	pb.request.len = m->request_len;
	pb.at_unix_ms = m->at_ms;
	pb.nonce.data = (uint8_t *)(uintptr_t)m->nonce;
	pb.nonce.len = SK_NONCE_LEN;
	n = skein__v1__operator_request__get_packed_size(&pb);
	buf = malloc(n > 0 ? n : 1);
	if (buf == NULL)
		return sk_err_set(
		    err, SK_ENOMEM, "encode operator request: out of memory");
	skein__v1__operator_request__pack(&pb, buf);
	*out = buf;
	*len = n;
	return SK_OK;
}

int
sk_operator_request_decode(
    const uint8_t *buf, size_t len, sk_operator_request *out, sk_err *err)
{
	Skein__V1__OperatorRequest *pb;
	int rc = SK_OK;

	memset(out, 0, sizeof(*out));
	pb = skein__v1__operator_request__unpack(NULL, len, buf);
	if (pb == NULL)
		return sk_err_set(err, SK_EDECODE,
		    "decode operator request: not a valid OperatorRequest (%zu bytes)",
		    len);
	if (pb->nonce.len != SK_NONCE_LEN) {
		rc = sk_err_set(err, SK_EDECODE,
		    "decode operator request: nonce of %zu bytes (want %d)",
		    pb->nonce.len, SK_NONCE_LEN);
		goto out;
	}
	if (pb->request.len == 0 || pb->request.len > SK_CLI_REQUEST_MAX) {
		rc = sk_err_set(err, SK_EDECODE,
		    "decode operator request: request of %zu bytes", pb->request.len);
		goto out;
	}
	out->request = malloc(pb->request.len);
	if (out->request == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "decode operator request: out of memory");
		goto out;
	}
	memcpy(out->request, pb->request.data, pb->request.len);
	out->request_len = pb->request.len;
	out->at_ms = pb->at_unix_ms;
	memcpy(out->nonce, pb->nonce.data, SK_NONCE_LEN);
out:
	skein__v1__operator_request__free_unpacked(pb, NULL);
	return rc;
}

void
sk_operator_request_fini(sk_operator_request *m)
{
	if (m == NULL)
		return;
	free(m->request);
	memset(m, 0, sizeof(*m));
}

const char *
sk_cli_op_name(int op)
{
	static const char *const names[] = {
		[SK_CLI_START] = "start",
		[SK_CLI_STATUS] = "status",
		[SK_CLI_ROLLBACK] = "rollback",
		[SK_CLI_REPORT] = "report",
		[SK_CLI_PAUSE] = "pause",
		[SK_CLI_RESUME] = "resume",
		[SK_CLI_TUNE] = "tune",
		[SK_CLI_ABORT] = "abort",
		[SK_CLI_STOP] = "stop",
		[SK_CLI_APPROVE] = "approve",
		[SK_CLI_AGENTS] = "agents",
	};

	if (op <= 0 || (size_t)op >= sizeof(names) / sizeof(names[0]) || names[op] == NULL)
		return "unknown";
	return names[op];
}

const char *
sk_command_name(int kind)
{
	static const char *const names[SK_CMD_MAX] = {
		[SK_CMD_RUN_PLAN] = "run",
		[SK_CMD_PAUSE] = "pause",
		[SK_CMD_RESUME] = "resume",
		[SK_CMD_TUNE] = "tune",
		[SK_CMD_ABORT] = "abort",
		[SK_CMD_SAMPLE] = "sample",
		[SK_CMD_MOVE_SERVE] = "move-serve",
	};

	if (kind <= 0 || kind >= SK_CMD_MAX || names[kind] == NULL)
		return "unknown";
	return names[kind];
}

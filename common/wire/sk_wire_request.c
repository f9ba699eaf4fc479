/* sk_wire_request: the CLI's request to the coordinator (CliRequest) in
 * protobuf-c form, decoded at the edge like every other message (see
 * sk_wire.c); its responses are sk_wire_cli.c's. */
#include "sk_wire.h"

#include <stdlib.h>
#include <string.h>

#include "sk_wire_int.h"
#include "skein.pb-c.h"

int
wire_mode_check(int mode, const char *what, sk_err *err)
{
	if (mode < 0 || mode >= SK_MODE_MAX)
		return sk_err_set(
		    err, SK_EDECODE, "decode %s: unknown mode %d", what, mode);
	return SK_OK;
}

int
sk_cli_request_encode(const sk_cli_request *m, uint8_t **out, size_t *len, sk_err *err)
{
	Skein__V1__CliRequest pb;
	Skein__V1__RollbackRequest rb;
	opctl_request_store opctl;
	stopline_request_store stopline;
	Skein__V1__ApproveRequest approve;

	skein__v1__cli_request__init(&pb);
	pb.events_since = m->events_since;
	switch (m->op) {
	case SK_CLI_START:
		pb.op_case = SKEIN__V1__CLI_REQUEST__OP_START_SIGNED_PLAN;
		pb.start_signed_plan.data = m->signed_plan;
		pb.start_signed_plan.len = m->signed_plan_len;
		pb.start_mode = (Skein__V1__RolloutMode)m->mode;
		pb.reapply = m->reapply;
		break;
	case SK_CLI_ROLLBACK:
		skein__v1__rollback_request__init(&rb);
		rb.rollout_id = (char *)m->rollout_id;
		rb.region = (char *)m->region;
		rb.no_backup = m->no_backup;
		pb.op_case = SKEIN__V1__CLI_REQUEST__OP_ROLLBACK;
		pb.rollback = &rb;
		break;
	case SK_CLI_REPORT:
		pb.op_case = SKEIN__V1__CLI_REQUEST__OP_REPORT_ROLLOUT_ID;
		pb.report_rollout_id = (char *)m->rollout_id;
		break;
	case SK_CLI_PAUSE:
	case SK_CLI_RESUME:
	case SK_CLI_TUNE:
		wire_opctl_request_to_pb(&pb, &opctl, m);
		break;
	case SK_CLI_ABORT:
	case SK_CLI_STOP:
		wire_stopline_request_to_pb(&pb, &stopline, m);
		break;
	case SK_CLI_APPROVE:
		wire_approve_to_pb(&pb, &approve, m);
		break;
	case SK_CLI_AGENTS:
		pb.op_case = SKEIN__V1__CLI_REQUEST__OP_AGENTS;
		pb.agents = true;
		break;
	default:
		pb.op_case = SKEIN__V1__CLI_REQUEST__OP_STATUS_ROLLOUT_ID;
		pb.status_rollout_id = (char *)m->rollout_id;
		break;
	}
	return wire_pack_msg(&pb.base, out, len, err);
}

int
sk_cli_request_decode(const uint8_t *buf, size_t len, sk_cli_request *out, sk_err *err)
{
	Skein__V1__CliRequest *pb;
	int rc = SK_OK;

	memset(out, 0, sizeof(*out));
	pb = skein__v1__cli_request__unpack(NULL, len, buf);
	if (pb == NULL)
		return sk_err_set(err, SK_EDECODE,
		    "decode request: not a valid CliRequest (%zu bytes)", len);
	out->events_since = pb->events_since;
	switch (pb->op_case) {
	case SKEIN__V1__CLI_REQUEST__OP_START_SIGNED_PLAN:
		out->op = SK_CLI_START;
		out->mode = (int)pb->start_mode;
		out->reapply = pb->reapply;
		rc = wire_mode_check(out->mode, "request", err);
		if (rc == SK_OK && out->mode == SK_MODE_ROLLBACK)
			rc = sk_err_set(err, SK_EDECODE,
			    "decode request: a start cannot be in rollback mode");
		if (rc != SK_OK)
			break;
		out->signed_plan = malloc(pb->start_signed_plan.len + 1);
		if (out->signed_plan == NULL) {
			rc = sk_err_set(err, SK_ENOMEM, "decode request: out of memory");
			break;
		}
		if (pb->start_signed_plan.len > 0)
			memcpy(out->signed_plan, pb->start_signed_plan.data,
			    pb->start_signed_plan.len);
		out->signed_plan_len = pb->start_signed_plan.len;
		break;
	case SKEIN__V1__CLI_REQUEST__OP_STATUS_ROLLOUT_ID:
		out->op = SK_CLI_STATUS;
		rc = wire_copy_id(out->rollout_id, sizeof(out->rollout_id),
		    pb->status_rollout_id, "rollout id", err);
		break;
	case SKEIN__V1__CLI_REQUEST__OP_ROLLBACK:
		out->op = SK_CLI_ROLLBACK;
		if (pb->rollback == NULL) {
			rc = sk_err_set(
			    err, SK_EDECODE, "decode request: empty rollback");
			break;
		}
		rc = wire_copy_id(out->rollout_id, sizeof(out->rollout_id),
		    pb->rollback->rollout_id, "rollout id", err);
		if (rc == SK_OK)
			rc = wire_copy_id(out->region, sizeof(out->region),
			    pb->rollback->region, "region", err);
		out->no_backup = pb->rollback->no_backup;
		break;
	case SKEIN__V1__CLI_REQUEST__OP_REPORT_ROLLOUT_ID:
		out->op = SK_CLI_REPORT;
		rc = wire_copy_id(out->rollout_id, sizeof(out->rollout_id),
		    pb->report_rollout_id, "rollout id", err);
		break;
	case SKEIN__V1__CLI_REQUEST__OP_ABORT:
	case SKEIN__V1__CLI_REQUEST__OP_STOP:
		rc = wire_stopline_request_from_pb(out, pb, err);
		break;
	case SKEIN__V1__CLI_REQUEST__OP_APPROVE:
		rc = wire_approve_from_pb(out, pb, err);
		break;
	case SKEIN__V1__CLI_REQUEST__OP_AGENTS:
		out->op = SK_CLI_AGENTS;
		break;
	default: /* pause, resume, tune; or none */
		rc = wire_opctl_request_from_pb(out, pb, err);
		break;
	}
	skein__v1__cli_request__free_unpacked(pb, NULL);
	if (rc != SK_OK)
		sk_cli_request_fini(out);
	return rc;
}

void
sk_cli_request_fini(sk_cli_request *m)
{
	if (m == NULL)
		return;
	free(m->signed_plan);
	m->signed_plan = NULL;
	m->signed_plan_len = 0;
}

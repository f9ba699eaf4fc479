/* coord_replay: the journal's records applied to the coordinator's
 * rollouts, its stopped line and its control sequence at start
 * (coord_replay.h). */
#include "coord_replay.h"

#include "coord_approval.h"
#include "coord_gate.h"
#include "coord_opctl.h"
#include "coord_rollout.h"
#include "coord_signed_plan.h"
#include "sk_log.h"
#include "sk_plan.h"

static void
replay_created(void *arg, const char *id, int64_t at_ms, const uint8_t *sp,
    size_t len, const coord_origin *origin)
{
	coord_replay *srv = arg;
	sk_plan *plan = NULL;
	coord_rollout *ro = NULL;
	sk_err err;

	if (coord_signed_plan_decode(sp, len, &plan, &err) != SK_OK) {
		sk_error("replay rollout %s: %s", id, err.msg);
		return;
	}
	if (coord_rollout_create(id, plan, sp, len, origin, at_ms, &ro, &err) != SK_OK) {
		sk_error("journal replay: %s; its records are ignored", err.msg);
		sk_plan_destroy(plan);
		return;
	}
	if (coord_registry_add(srv->rollouts, ro, &err) != SK_OK) {
		sk_error("replay rollout %s: %s", id, err.msg);
		coord_rollout_destroy(ro);
		return;
	}
	/* stopline: started while the line was stopped: paused, as then. */
	coord_line_adopt(srv->line, ro, at_ms, false);
}

static void
replay_report(void *arg, const char *id, const sk_region_report *r)
{
	coord_replay *srv = arg;
	coord_rollout *ro = coord_registry_find(srv->rollouts, id);

	if (ro == NULL)
		return;
	coord_rollout_keep_report(ro, r->region, &r->report);
	coord_rollout_replay_report(ro, r->region, &r->report);
}

static void
replay_region(void *arg, const char *id, const coord_region_record *rec)
{
	coord_replay *srv = arg;
	coord_rollout *ro = coord_registry_find(srv->rollouts, id);

	if (ro != NULL)
		coord_rollout_replay_region(ro, rec);
}

static void
replay_phase(void *arg, const char *id, uint32_t phase, int64_t at_ms)
{
	coord_replay *srv = arg;
	coord_rollout *ro = coord_registry_find(srv->rollouts, id);

	if (ro != NULL)
		coord_rollout_replay_phase(ro, phase, at_ms);
}

static void
replay_finished(void *arg, const char *id, const char *state,
    const char *reason, int64_t at_ms)
{
	coord_replay *srv = arg;
	coord_rollout *ro = coord_registry_find(srv->rollouts, id);

	if (ro != NULL)
		coord_rollout_replay_finished(ro, state, reason, at_ms);
}

static void
replay_opctl(void *arg, const char *id, const coord_opctl_record *rec)
{
	coord_replay *srv = arg;
	coord_rollout *ro = coord_registry_find(srv->rollouts, id);

	if (ro != NULL)
		coord_opctl_replay(ro, rec);
}

/* stopline */
static void
replay_line(void *arg, const coord_line_record *rec)
{
	coord_replay *srv = arg;

	coord_line_replay(srv->line, srv->rollouts, rec);
}

static void
replay_gate(void *arg, const char *id, const coord_gate_record *rec)
{
	coord_replay *srv = arg;
	coord_rollout *ro = coord_registry_find(srv->rollouts, id);

	if (ro != NULL)
		coord_gate_replay(ro, rec);
}

static void
replay_approval(void *arg, const char *id, const coord_approval_record *rec)
{
	coord_replay *srv = arg;
	coord_rollout *ro = coord_registry_find(srv->rollouts, id);

	if (ro != NULL)
		coord_approval_replay(ro, rec);
}

static void
replay_seq(void *arg, uint64_t reserved)
{
	coord_replay *srv = arg;

	if (reserved > *srv->seq_reserved)
		*srv->seq_reserved = reserved;
}

const coord_journal_visitor coord_replay_visitor = {
	.created = replay_created,
	.region = replay_region,
	.phase = replay_phase,
	.finished = replay_finished,
	.seq = replay_seq,
	.report = replay_report,
	.opctl = replay_opctl,
	.line = replay_line,
	.gate = replay_gate,
	.approval = replay_approval,
};

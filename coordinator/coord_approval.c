/* coord_approval: an operator's approval of a phase — who may, when, and
 * what it leaves in the journal. */
#include "coord_approval.h"

#include <stdio.h>
#include <string.h>

#include "coord_gate.h"
#include "coord_gate_narrate.h"
#include "coord_mode.h"
#include "sk_log.h"
#include "sk_plan.h"

static bool
in_from(const sk_phase *ph, const char *name)
{
	for (size_t i = 0; i < ph->napprovers; i++)
		if (strcmp(ph->approvers[i], name) == 0)
			return true;
	return false;
}

/* Add hint to err; its code. */
static int
hinted(sk_err *err, const char *hint)
{
	snprintf(err->hint, sizeof(err->hint), "%s", hint);
	return err->code;
}

/* Refuse with code: "approve rollout R phase P by O: <why>", and a hint. */
#define REFUSE(err, code, hnt, why, ro, phase, who)                         \
(sk_err_set((err), (code), "approve rollout %s phase %s by %s: " why, (ro), \
     (phase), (who)),                                                       \
    hinted((err), (hnt)))

int
coord_approval_check(const coord_rollout *ro, const char *phase,
    const coord_actor *actor, uint32_t *p, sk_err *err)
{
	const sk_phase *ph;
	int i;

	if (ro->state != COORD_RO_RUNNING)
		return REFUSE(err, SK_ESTATE, "a finished rollout needs no approval",
		    "the rollout has finished", ro->id, phase, actor->name);
	if (ro->rules->effect != COORD_EFFECT_APPLY || ro->rules->pacing != COORD_PACE_PHASES)
		return REFUSE(err, SK_ESTATE,
		    "only a rollout that applies a plan phase by phase waits for "
		    "approvals",
		    "this rollout passes its "
		    "gates",
		    ro->id, phase, actor->name);
	i = coord_gate_phase_index(ro, phase);
	if (i < 0)
		return REFUSE(err, SK_EINVAL,
		    "skein rollout status ID lists the rollout's phases",
		    "the rollout has no such "
		    "phase",
		    ro->id, phase, actor->name);
	ph = ro->phases[i];
	if (ph->approval_count == 0)
		return REFUSE(err, SK_EINVAL,
		    "only phases with approval: in plan.yaml take approvals",
		    "the phase needs no "
		    "approval",
		    ro->id, phase, actor->name);
	if ((uint32_t)i < ro->phase ||
	    ((uint32_t)i == ro->phase && ro->gates.phases[i].entry_open))
		return REFUSE(err, SK_ESTATE, "an approval is for a phase to come",
		    "the phase has started", ro->id, phase, actor->name);
	if (ph->napprovers > 0 && !in_from(ph, actor->name))
		return REFUSE(err, SK_EREFUSED,
		    "the phase's approval lists who may approve it (skein plan "
		    "show)",
		    "the operator is not one "
		    "of the phase's approvers",
		    ro->id, phase, actor->name);
	if (ph->not_by_starter && strcmp(ro->started_by, actor->name) == 0)
		return REFUSE(err, SK_EREFUSED,
		    "another operator must approve it (not_by_starter)",
		    "the operator started the "
		    "rollout",
		    ro->id, phase, actor->name);
	for (size_t k = 0; k < ro->gates.napprovals; k++)
		if (ro->gates.approvals[k].phase == (uint32_t)i &&
		    strcmp(ro->gates.approvals[k].operator_name, actor->name) == 0)
			return REFUSE(err, SK_EREFUSED,
			    "an operator's approval counts once; another operator "
			    "must approve",
			    "the operator has "
			    "approved it already",
			    ro->id, phase, actor->name);
	*p = (uint32_t)i;
	return SK_OK;
}

int
coord_approval_answer(coord_registry *rollouts, coord_journal *j, const char *rollout_id,
    const char *phase, const coord_actor *actor, const uint8_t *envelope,
    size_t len, int64_t now_ms, coord_rollout **out, bool *opened, sk_err *err)
{
	coord_rollout *ro = coord_registry_find(rollouts, rollout_id);
	coord_approval a;
	coord_approval_record rec;
	bool counted;
	uint32_t p;

	*opened = false;
	*out = ro;
	if (ro == NULL) {
		sk_err_set(err, SK_ENOTFOUND,
		    "approve rollout %s: no such rollout", rollout_id);
		snprintf(err->hint, sizeof(err->hint),
		    "skein rollout status lists the rollouts");
		return err->code;
	}
	if (coord_approval_check(ro, phase, actor, &p, err) != SK_OK)
		return err->code;
	memset(&a, 0, sizeof(a));
	a.phase = p;
	snprintf(a.operator_name, sizeof(a.operator_name), "%s", actor->name);
	snprintf(a.key_id, sizeof(a.key_id), "%s", actor->key_id);
	a.at_ms = now_ms;
	rec = (coord_approval_record){ .phase = ro->phases[p]->name,
		.operator_name = a.operator_name,
		.key_id = a.key_id,
		.at_ms = now_ms,
		.envelope = envelope,
		.envelope_len = len };
	if (coord_journal_approval(j, ro->id, &rec, err) != SK_OK)
		return err->code;
	if (coord_gate_add_approval(ro, &a, &counted, err) != SK_OK)
		return err->code;
	coord_gate_narrate_approval(ro, &a, counted);
	sk_info("rollout %s phase %s approved by %s (%u/%u)", ro->id,
	    ro->phases[p]->name, a.operator_name, coord_gate_approvals(ro, p),
	    ro->phases[p]->approval_count);
	if (p != ro->phase)
		return SK_OK;
	return coord_gate_enter(ro, j, now_ms, opened, err);
}

void
coord_approval_replay(coord_rollout *ro, const coord_approval_record *rec)
{
	coord_approval a;
	bool counted;
	sk_err err;
	int p = coord_gate_phase_index(ro, rec->phase != NULL ? rec->phase : "");

	if (p < 0)
		return;
	memset(&a, 0, sizeof(a));
	a.phase = (uint32_t)p;
	snprintf(a.operator_name, sizeof(a.operator_name), "%s",
	    rec->operator_name != NULL ? rec->operator_name : "");
	snprintf(a.key_id, sizeof(a.key_id), "%s",
	    rec->key_id != NULL ? rec->key_id : "");
	a.at_ms = rec->at_ms;
	if (coord_gate_add_approval(ro, &a, &counted, &err) != SK_OK)
		sk_error("replay approval of rollout %s: %s", ro->id, err.msg);
}

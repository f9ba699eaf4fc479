/* agent_kinds: which kind runs a step. */
#include "agent_kinds.h"

#include <stdio.h>

const agent_step_kind *
agent_step_kind_of(const sk_step *step)
{
	switch (step->kind) {
	case SK_STEP_SQL:
		return step->no_transaction ? &agent_kind_concurrent : &agent_kind_sql;
	case SK_STEP_CHECK:
		return &agent_kind_check;
	case SK_STEP_BACKFILL:
		return &agent_kind_backfill;
	case SK_STEP_EXPAND:
		return &agent_kind_expand;
	case SK_STEP_CONTRACT:
		return &agent_kind_contract;
	case SK_STEP_FLAG:
		return &agent_kind_flag;
	case SK_STEP_MOVE_TENANT:
		return &agent_kind_move;
	case SK_STEP_PURGE_TENANT:
		return &agent_kind_purge;
	default:
		return NULL;
	}
}

void
agent_step_kind_refusal(const sk_step *step, char *buf, size_t len)
{
	const char *name = sk_step_kind_name(step->kind);

	/* A kind the plan library decodes but no agent file runs: say which,
	 * so that an operator knows it is the step, not the binary, that is
	 * ahead. */
	if (name != NULL)
		snprintf(buf, len, "%s steps are not run by this agent version", name);
	else
		snprintf(buf, len, "this agent does not know step kind %d", step->kind);
}

/* agent_kinds: which kind runs a step. */
#include "agent_kinds.h"

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
	default:
		return NULL;
	}
}

/* agent_kind_backfill: a step that applies an UPDATE in batches of the
 * table's key, resumable, throttled and watched (agent_backfill.h). It
 * is not transactional as a whole: each batch commits with its
 * checkpoint, so that it runs exactly once anyway, and the step's ledger
 * row is written when the last batch is done. Its rehearsal runs the
 * first batch; its revert is the optional script, with the checkpoints
 * forgotten, so that applying it again starts over.
 */
#include "agent_kinds.h"

#include "agent_backfill.h"
#include "agent_checkpoint.h"
#include "sk_util.h"

static int
backfill_apply(agent_step_run *s, sk_err *err)
{
	return agent_backfill_apply(s, s->step->backfill, NULL, err);
}

static int
backfill_rehearse(agent_step_run *s, sk_err *err)
{
	return agent_backfill_rehearse(s, s->step->backfill, err);
}

static void
backfill_scripts(const sk_step *step,
    void (*fn)(void *arg, const char *sql, const char *what), void *arg)
{
	agent_backfill_scripts(step->backfill, fn, arg);
}

static int
forget_checkpoints(agent_step_run *s, void *arg, sk_err *err)
{
	(void)arg;
	return agent_checkpoint_forget(s->c->conn, s->c->plan->name, s->step->id, err);
}

/* The revert script (when there is one), the checkpoints and the ledger
 * change commit together. */
static int
backfill_revert(agent_step_run *s, sk_err *err)
{
	return agent_step_revert_with(s, forget_checkpoints, NULL, err);
}

const agent_step_kind agent_kind_backfill = {
	.name = "backfill",
	.transactional = false,
	.apply = backfill_apply,
	.rehearse = backfill_rehearse,
	.describe = NULL,
	.scripts = backfill_scripts,
	/* Its data usually goes with the column an earlier step added and
	 * its revert drops; a revert script is for the rest. */
	.needs_revert = false,
	.revert = backfill_revert,
};

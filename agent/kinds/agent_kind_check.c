/* agent_kind_check: a step that only runs checks — the step holds when
 * they do. Its checks (when "check") run in one transaction with its pre-
 * and post-checks and its ledger row; they change nothing, so the
 * transaction writes only the ledger, and a rollback has nothing to undo
 * but the ledger row. A failing check fails the step and leaves no row,
 * so the plan stops there, as it would on a failing post-check.
 */
#include "agent_kinds.h"

#include <stdio.h>

#include "sk_util.h"

/* The step's own checks, between its pre and post checks. */
static int
check_work(agent_step_run *s, void *arg, sk_err *err)
{
	(void)arg;
	return agent_step_checks(s, s->step->checks, s->step->nchecks, "check", err);
}

static int
check_apply(agent_step_run *s, sk_err *err)
{
	return agent_step_apply_with(s, check_work, NULL, err);
}

static int
check_rehearse(agent_step_run *s, sk_err *err)
{
	const sk_step *step = s->step;
	int rc;

	rc = agent_step_checks(s, step->checks, step->nchecks, "check", err);
	if (rc == SK_OK)
		rc = agent_step_checks(s, step->post, step->npost, "post", err);
	return rc;
}

static void
check_scripts(const sk_step *step,
    void (*fn)(void *arg, const char *sql, const char *what), void *arg)
{
	agent_step_scripts_checks(step->checks, step->nchecks, fn, arg);
	agent_step_scripts_checks(step->post, step->npost, fn, arg);
}

/* Nothing to undo but the ledger row, so that the plan can be applied
 * again after the rollback. */
static int
check_revert(agent_step_run *s, sk_err *err)
{
	return agent_step_record_revert(s, 0, err);
}

const agent_step_kind agent_kind_check = {
	.name = "check",
	.transactional = true,
	.apply = check_apply,
	.rehearse = check_rehearse,
	.describe = NULL,
	.scripts = check_scripts,
	.needs_revert = false,
	.revert = check_revert,
};

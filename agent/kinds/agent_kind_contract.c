/* agent_kind_contract: the second half of a two-phase rename or type
 * change (docs/backfills.md, "Two-phase renames and type changes"): once
 * this database's ledger holds a completed expand of the same column from
 * the same old column, drop its sync trigger and function and the old
 * column, in one transaction with the step's checks and ledger row. Its
 * revert is the step's script, as for SQL: a dropped column's data is
 * gone, and only the plan's author knows how to bring it back.
 */
#include "agent_kinds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_expansion.h"
#include "sk_util.h"

/* The expand this contract ends, locked, or SK_ESTATE naming what the
 * ledger holds instead. */
static int
contract_find(agent_step_run *s, agent_expansion *x, sk_err *err)
{
	const sk_expand *e = s->step->expand;
	bool found;
	int rc;

	rc = agent_expansion_find(
	    s->c->conn, e->table, e->column, e->from, false, x, &found, err);
	if (rc != SK_OK || (found && x->completed && !x->contracted))
		return rc;
	if (!found)
		sk_err_set(err, SK_ESTATE,
		    "contract of %s.%s: this database's ledger has no completed "
		    "expand of column %s from %s; run the expand (and let it "
		    "finish) first",
		    e->table, e->from, e->column, e->from);
	else if (!x->completed)
		sk_err_set(err, SK_ESTATE,
		    "contract of %s.%s: the expand of column %s from %s (plan %s, "
		    "step %s) has not finished its backfill in this database; let "
		    "it finish first",
		    e->table, e->from, e->column, e->from, x->plan_name, x->step_id);
	else
		sk_err_set(err, SK_ESTATE,
		    "contract of %s.%s: the expand of column %s from %s (plan %s, "
		    "step %s) was contracted already; column %s is gone",
		    e->table, e->from, e->column, e->from, x->plan_name,
		    x->step_id, e->from);
	snprintf(err->hint, sizeof(err->hint),
	    "a contract drops the old column only where an expand step added "
	    "%s, kept it in step with %s and backfilled it (skein.expansions "
	    "says so); nothing was changed",
	    e->column, e->from);
	return SK_ESTATE;
}

/* Drop the trigger, the function and the old column, and mark the
 * expand contracted, in the open transaction. */
static int
contract_ddl(agent_step_run *s, const agent_expansion *x, sk_err *err)
{
	char *sql = NULL;
	int rc;

	rc = agent_expansion_drop_sql(s->c->conn, x, s->step->expand->from, &sql, err);
	if (rc == SK_OK && sql[0] != '\0')
		rc = agent_step_sql(s, sql, err);
	if (rc == SK_OK)
		rc = agent_expansion_set_contracted(
		    s->c->conn, x->plan_name, x->step_id, true, err);
	free(sql);
	return rc;
}

/* The expand it ends, found and ended (arg: its agent_expansion). */
static int
contract_work(agent_step_run *s, void *arg, sk_err *err)
{
	agent_expansion *x = arg;
	int rc;

	rc = contract_find(s, x, err);
	if (rc == SK_OK)
		rc = contract_ddl(s, x, err);
	return rc;
}

static int
contract_apply(agent_step_run *s, sk_err *err)
{
	agent_expansion x;
	int rc;

	memset(&x, 0, sizeof(x));
	rc = agent_step_apply_with(s, contract_work, &x, err);
	/* x.plan_name is empty when another agent recorded the step. */
	if (rc == SK_OK && x.plan_name[0] != '\0')
		agent_step_note(s, "ended the expand of plan ", x.plan_name);
	return rc;
}

static int
contract_rehearse(agent_step_run *s, sk_err *err)
{
	agent_expansion x;
	int rc;

	rc = contract_find(s, &x, err);
	if (rc == SK_OK)
		rc = contract_ddl(s, &x, err);
	if (rc == SK_OK)
		rc = agent_step_checks(s, s->step->post, s->step->npost, "post", err);
	return rc;
}

static void
contract_scripts(const sk_step *step,
    void (*fn)(void *arg, const char *sql, const char *what), void *arg)
{
	agent_step_scripts_checks(step->post, step->npost, fn, arg);
}

/* After the revert script, in its transaction: when the script brought
 * the old column back, the expand is open again (*(bool *)arg). */
static int
reopen_expand(agent_step_run *s, void *arg, sk_err *err)
{
	const sk_expand *e = s->step->expand;
	bool *back = arg, found = false;
	agent_expansion x;
	int rc;

	rc = agent_expansion_find(
	    s->c->conn, e->table, e->column, e->from, true, &x, &found, err);
	if (rc == SK_OK && found && x.contracted)
		rc = agent_expansion_has_column(
		    s->c->conn, x.relid, e->from, back, err);
	if (rc == SK_OK && *back)
		rc = agent_expansion_set_contracted(
		    s->c->conn, x.plan_name, x.step_id, false, err);
	if (rc == SK_OK && *back)
		agent_step_note(s, "the expand is open again: plan ", x.plan_name);
	return rc;
}

/* The revert script and the ledger change commit together. When the
 * script brought the old column back, the expand is open again (its
 * rollback may drop the new column); its trigger is not: the two columns
 * are no longer kept in step. */
static int
contract_revert(agent_step_run *s, sk_err *err)
{
	bool back = false;

	return agent_step_revert_with(s, reopen_expand, &back, err);
}

const agent_step_kind agent_kind_contract = {
	.name = "contract",
	.transactional = true,
	.apply = contract_apply,
	.rehearse = contract_rehearse,
	.describe = NULL,
	.scripts = contract_scripts,
	/* A dropped column's data is gone: only a script brings it back. */
	.needs_revert = true,
	.revert = contract_revert,
};

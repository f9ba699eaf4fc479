/* agent_kind_sql: a step of SQL that runs in one transaction together
 * with its checks, its verify script and its ledger row, so that it runs
 * exactly once (docs/safety.md). Its revert runs the same way, with the
 * ledger change.
 */
#include "agent_kinds.h"

#include <stdio.h>

#include "agent_stmt.h"
#include "sk_util.h"

/* The step's SQL and its verify script, between its checks. */
static int
sql_work(agent_step_run *s, void *arg, sk_err *err)
{
	const sk_step *step = s->step;
	PGconn *conn = s->c->conn;
	int rc;

	(void)arg;
	rc = agent_step_sql(s, step->sql, err);
	/* The ledger row must commit with the step's effects; SQL that ends
	 * the transaction itself breaks that promise. */
	if (rc == SK_OK && PQtransactionStatus(conn) != PQTRANS_INTRANS)
		rc = sk_err_set(err, SK_EINVAL,
		    "the step's SQL ended its transaction; remove COMMIT/ROLLBACK "
		    "or mark the step no_transaction");
	if (rc == SK_OK && step->verify != NULL)
		rc = agent_stmt_verify(conn, step, err);
	return rc;
}

static int
sql_apply(agent_step_run *s, sk_err *err)
{
	return agent_step_apply_with(s, sql_work, NULL, err);
}

static int
sql_rehearse(agent_step_run *s, sk_err *err)
{
	const sk_step *step = s->step;
	PGconn *conn = s->c->conn;
	int rc;

	rc = agent_step_sql(s, step->sql, err);
	/* The rehearsal refused transaction control before it began; this
	 * is the last line of defence, and it comes too late to undo
	 * anything. */
	if (rc == SK_OK && PQtransactionStatus(conn) != PQTRANS_INTRANS)
		rc = sk_err_set(err, SK_ESTATE,
		    "the step's SQL ended the rehearsal's transaction");
	if (rc == SK_OK && step->verify != NULL)
		rc = agent_stmt_verify(conn, step, err);
	if (rc == SK_OK)
		rc = agent_step_checks(s, step->post, step->npost, "post", err);
	return rc;
}

static void
sql_scripts(const sk_step *step,
    void (*fn)(void *arg, const char *sql, const char *what), void *arg)
{
	fn(arg, step->sql, step->sql_path != NULL ? step->sql_path : "SQL");
	fn(arg, step->verify, step->verify_path != NULL ? step->verify_path : "verify");
	agent_step_scripts_checks(step->post, step->npost, fn, arg);
}

/* The revert script and the ledger change commit together or not at
 * all. */
static int
sql_revert(agent_step_run *s, sk_err *err)
{
	return agent_step_revert_with(s, NULL, NULL, err);
}

const agent_step_kind agent_kind_sql = {
	.name = "sql",
	.transactional = true,
	.apply = sql_apply,
	.rehearse = sql_rehearse,
	.describe = NULL,
	.scripts = sql_scripts,
	.needs_revert = true,
	.revert = sql_revert,
};

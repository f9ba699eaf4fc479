/* agent_kind_concurrent: a step of SQL that must run outside a
 * transaction (CREATE INDEX CONCURRENTLY, ...). Its statements run one by
 * one outside a transaction, its checks and ledger row in transactions of
 * their own; killed between the two, it runs again, so it must be
 * idempotent. An INVALID index that an interrupted CREATE INDEX
 * CONCURRENTLY left behind is dropped first, and every index the step
 * creates must be valid afterwards. It cannot be rehearsed.
 */
#include "agent_kinds.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_locks.h"
#include "agent_stmt.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_sql.h"
#include "sk_util.h"

/* An index the step creates concurrently, as found in the catalog. */
enum index_state { INDEX_ABSENT, INDEX_VALID, INDEX_INVALID };

/* Look up each index the step creates concurrently, in the open
 * transaction. names[k] receives the schema-qualified, quoted name. */
static int
find_indexes(agent_step_run *s, int *state, char (*names)[2 * SK_NAME_MAX + 8],
    sk_err *err)
{
	const sk_step *step = s->step;
	PGresult *res = NULL;
	int rc;

	for (size_t k = 0; k < step->nconcurrent_indexes; k++) {
		const char *param[1] = { step->concurrent_indexes[k] };

		rc = sk_pg_execp(s->c->conn, "look up index",
		    "SELECT i.indisvalid, pg_catalog.quote_ident(n.nspname) || '.' "
		    "|| pg_catalog.quote_ident(c.relname) "
		    "FROM pg_catalog.pg_index i "
		    "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
		    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		    "WHERE i.indexrelid = pg_catalog.to_regclass($1)",
		    1, param, &res, err);
		if (rc != SK_OK)
			return rc;
		state[k] = INDEX_ABSENT;
		names[k][0] = '\0';
		if (PQntuples(res) == 1) {
			state[k] = strcmp(PQgetvalue(res, 0, 0), "t") == 0 ?
			    INDEX_VALID :
			    INDEX_INVALID;
			snprintf(names[k], sizeof(names[k]), "%s",
			    PQgetvalue(res, 0, 1));
		}
		PQclear(res);
		res = NULL;
	}
	return SK_OK;
}

/* The step's statements, one by one: PostgreSQL runs a string of several
 * statements as one implicit transaction, which CREATE INDEX
 * CONCURRENTLY refuses. *only_cic tells whether each of them is a CREATE
 * INDEX CONCURRENTLY. */
static int
split_step(const sk_step *step, sk_sql_script **script, bool *only_cic, sk_err *err)
{
	int rc;

	*only_cic = false;
	rc = sk_sql_parse(
	    step->sql != NULL ? step->sql : "", step->sql_path, script, err);
	if (rc != SK_OK)
		return rc;
	*only_cic = (*script)->nstmts > 0;
	for (size_t k = 0; k < (*script)->nstmts; k++) {
		const sk_sql_stmt *st = &(*script)->stmts[k];
		bool cic = false;

		for (size_t o = 0; o < st->nops; o++)
			if (st->ops[o].kind == SK_SQL_CREATE_INDEX && st->ops[o].concurrent)
				cic = true;
		if (!cic)
			*only_cic = false;
	}
	return SK_OK;
}

/* The index statement k of script creates concurrently: its position in
 * the step's concurrent_indexes (counted as sk_sql_concurrent_indexes
 * lists them), or SIZE_MAX when the statement is not a lone, named CREATE
 * INDEX CONCURRENTLY, or when the count does not match the plan's list. */
static size_t
cic_index_of(const sk_step *step, const sk_sql_script *script, size_t k)
{
	size_t seen = 0, found = SIZE_MAX, creates = 0;

	for (size_t i = 0; i < script->nstmts; i++)
		for (size_t o = 0; o < script->stmts[i].nops; o++) {
			const sk_sql_op *op = &script->stmts[i].ops[o];

			if (i == k && op->kind == SK_SQL_CREATE_INDEX)
				creates++;
			if (op->kind != SK_SQL_CREATE_INDEX ||
			    !op->concurrent || op->name == NULL)
				continue;
			if (i == k)
				found = seen;
			seen++;
		}
	if (creates != 1 || seen != step->nconcurrent_indexes)
		return SIZE_MAX;
	return found;
}

/* Run the statements outside a transaction, watched. A CREATE INDEX
 * CONCURRENTLY whose index a previous, interrupted run already built
 * (state INDEX_VALID) is not run again: without IF NOT EXISTS it would
 * fail. */
static int
run_outside(agent_step_run *s, const sk_sql_script *script, const int *state,
    const char (*names)[2 * SK_NAME_MAX + 8], sk_err *err)
{
	PGconn *conn = s->c->conn;
	int rc = SK_OK;

	/* Through a pooler the backend is not ours to name. */
	s->pid = s->c->pooled ? 0 : PQbackendPID(conn);

	for (size_t k = 0; rc == SK_OK && k < script->nstmts; k++) {
		size_t x = cic_index_of(s->step, script, k);

		if (x != SIZE_MAX && state[x] == INDEX_VALID) {
			agent_step_note(s,
			    "index already valid, not built again: ", names[x]);
			continue;
		}
		rc = agent_step_sql(s, script->stmts[k].text, err);
		if (rc == SK_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
			rc = sk_err_set(err, SK_EINVAL,
			    "the step's SQL left a transaction open; remove BEGIN");
	}
	agent_tx_rollback(conn);
	return rc;
}

static int
concurrent_apply(agent_step_run *s, sk_err *err)
{
	const agent_db_ctx *c = s->c;
	const sk_step *step = s->step;
	size_t nidx = step->nconcurrent_indexes;
	char(*names)[2 * SK_NAME_MAX + 8] = NULL;
	sk_sql_script *script = NULL;
	int *state = NULL;
	bool only_cic = false, all_valid = nidx > 0, timeouts_set = false;
	char sql[2 * SK_NAME_MAX + 64];
	int rc;

	names = calloc(nidx + 1, sizeof(*names));
	state = calloc(nidx + 1, sizeof(*state));
	if (names == NULL || state == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "out of memory");
		goto out;
	}
	rc = split_step(step, &script, &only_cic, err);
	if (rc != SK_OK)
		goto out;

	/* Pre-checks and the catalog, in a transaction of their own. */
	rc = agent_step_begin_apply(s, err);
	if (rc != SK_OK)
		goto out;
	if (!s->recorded_meanwhile)
		rc = agent_step_checks(s, step->pre, step->npre, "pre", err);
	if (rc == SK_OK && !s->recorded_meanwhile)
		rc = find_indexes(s, state, names, err);
	agent_tx_rollback(c->conn);
	if (rc != SK_OK || s->recorded_meanwhile)
		goto out;

	/* The drops and the statements wait for locks too. */
	if (!c->pooled) {
		rc = agent_set_session_timeouts(c->conn, step->lock_timeout_ms,
		    step->statement_timeout_ms, err);
		if (rc != SK_OK)
			goto out;
		timeouts_set = true;
	}
	for (size_t k = 0; k < nidx; k++) {
		if (state[k] != INDEX_VALID)
			all_valid = false;
		if (state[k] != INDEX_INVALID)
			continue;
		/* Left by an interrupted CREATE INDEX CONCURRENTLY: unusable,
		 * yet it makes IF NOT EXISTS skip the build. */
		agent_step_note(s, "dropped INVALID index ", names[k]);
		sk_info("step %s in %s/%s: dropping INVALID index %s left by an "
			"interrupted run",
		    step->id, c->region, c->database, names[k]);
		snprintf(sql, sizeof(sql),
		    "DROP INDEX CONCURRENTLY IF EXISTS %s", names[k]);
		rc = sk_pg_exec(c->conn, "drop INVALID index", sql, NULL, err);
		if (rc != SK_OK)
			goto out;
	}
	if (only_cic && all_valid) {
		/* Built by a run that died before its ledger row. */
		agent_step_note(s, "every index already exists and is valid; ",
		    "not run again");
	} else {
		rc = run_outside(s, script, state,
		    (const char(*)[2 * SK_NAME_MAX + 8]) names, err);
		if (rc != SK_OK)
			goto out;
	}
	if (timeouts_set) {
		agent_reset_session_timeouts(c->conn);
		timeouts_set = false;
	}

	/* Verify, post-checks and the ledger row commit together. */
	rc = agent_step_begin(s, err);
	if (rc != SK_OK)
		goto out;
	if (nidx > 0)
		rc = find_indexes(s, state, names, err);
	for (size_t k = 0; rc == SK_OK && k < nidx; k++)
		if (state[k] != INDEX_VALID)
			rc = sk_err_set(err, SK_ESTATE, "index %s is %s after the step",
			    step->concurrent_indexes[k],
			    state[k] == INDEX_ABSENT ? "missing" : "INVALID");
	if (rc == SK_OK && step->verify != NULL)
		rc = agent_stmt_verify(c->conn, step, err);
	if (rc == SK_OK)
		rc = agent_step_checks(s, step->post, step->npost, "post", err);
	if (rc == SK_OK)
		rc = agent_step_record(s, false, err);
	if (rc == SK_OK)
		rc = agent_step_commit(s, err);
	if (rc != SK_OK)
		agent_tx_rollback(c->conn);
out:
	if (timeouts_set)
		agent_reset_session_timeouts(c->conn);
	sk_sql_script_destroy(script);
	free(names);
	free(state);
	return rc;
}

/* Why a step cannot be rehearsed, for STEP_NOT_REHEARSABLE. */
static void
concurrent_describe(const sk_step *step, bool pre_checked, char *buf, size_t len)
{
	sk_sql_script *script = NULL;
	const char *what = NULL;
	sk_err err;

	if (sk_sql_parse(step->sql != NULL ? step->sql : "", step->sql_path,
		&script, &err) == SK_OK) {
		for (size_t k = 0; what == NULL && k < script->nstmts; k++)
			for (size_t o = 0; o < script->stmts[k].nops; o++)
				if (script->stmts[k].ops[o].kind == SK_SQL_NO_TX &&
				    script->stmts[k].ops[o].what != NULL) {
					what = script->stmts[k].ops[o].what;
					break;
				}
	}
	if (what != NULL)
		snprintf(buf, len, "%s cannot run in a transaction; not rehearsed%s",
		    what, pre_checked ? " (its pre-checks were)" : "");
	else
		snprintf(buf, len,
		    "the step runs outside a transaction (transaction: false); "
		    "not rehearsed%s",
		    pre_checked ? " (its pre-checks were)" : "");
	sk_sql_script_destroy(script);
}

/* One attempt at reverting a non-transactional step (DROP INDEX
 * CONCURRENTLY, ...): its statements one by one outside a transaction,
 * then the ledger change. Cut off between the two, the revert runs again
 * next time, so such a revert must be idempotent (IF EXISTS). */
static int
concurrent_revert(agent_step_run *s, sk_err *err)
{
	const agent_db_ctx *c = s->c;
	const sk_step *step = s->step;
	sk_sql_script *script = NULL;
	int64_t t0 = sk_mono_ms();
	int rc;

	s->pid = c->pooled ? 0 : PQbackendPID(c->conn);
	rc = sk_sql_parse(step->revert, step->revert_path, &script, err);
	if (rc != SK_OK)
		return rc;
	if (!c->pooled)
		rc = agent_set_session_timeouts(c->conn, step->lock_timeout_ms,
		    step->statement_timeout_ms, err);
	for (size_t k = 0; rc == SK_OK && k < script->nstmts; k++) {
		rc = agent_step_sql(s, script->stmts[k].text, err);
		if (rc == SK_OK && PQtransactionStatus(c->conn) != PQTRANS_IDLE)
			rc = sk_err_set(err, SK_ESTATE,
			    "the revert script left a transaction open");
	}
	agent_tx_rollback(c->conn);
	if (!c->pooled)
		agent_reset_session_timeouts(c->conn);
	sk_sql_script_destroy(script);
	if (rc == SK_OK)
		rc = agent_step_record_revert(s, sk_mono_ms() - t0, err);
	if (rc != SK_OK)
		agent_tx_rollback(c->conn);
	return rc;
}

const agent_step_kind agent_kind_concurrent = {
	.name = "concurrent",
	.transactional = false,
	.apply = concurrent_apply,
	.rehearse = NULL,
	.describe = concurrent_describe,
	.scripts = NULL,
	.needs_revert = true,
	.revert = concurrent_revert,
};

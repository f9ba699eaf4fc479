/* agent_rollback: a rollback in one database. The revert scripts of the
 * steps the ledger records run last step first, each committing together
 * with the move of its ledger row from skein.steps to skein.reverts, so
 * that the plan can be applied again afterwards. Everything that would
 * make the rollback stop half-way for want of a script is checked before
 * the first revert runs.
 */
#include "agent_modes_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_ledger.h"
#include "agent_locks.h"
#include "agent_stmt.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_sql.h"
#include "sk_util.h"

/* Cap of the pause between lock-timeout retries of a revert. */
#define LOCK_BACKOFF_MAX_MS 30000

static size_t
step_index(const sk_plan *plan, const char *id)
{
	for (size_t i = 0; i < plan->nsteps; i++)
		if (strcmp(plan->steps[i].id, id) == 0)
			return i;
	return plan->nsteps;
}

/* Append ", id" (or "id") to a list buffer. */
static void
list_add(char *buf, size_t len, const char *id)
{
	size_t used = strlen(buf);

	if (used + 1 < len)
		snprintf(buf + used, len - used, "%s%s", used > 0 ? ", " : "", id);
}

/* Everything that must hold before the first revert runs, so that a
 * refused rollback changes nothing: every recorded step is in this plan,
 * with the checksum it was applied with, and has a revert script free of
 * transaction control. Fills recorded. */
static int
rollback_preconditions(mode_run *m, bool *recorded, sk_err *err)
{
	const agent_db_ctx *c = m->c;
	const sk_plan *plan = c->plan;
	char **ids = NULL, hex[AGENT_LEDGER_HEX_LEN];
	char unknown[256] = "", norevert[256] = "";
	size_t n = 0, idx;
	bool found;
	int rc;

	rc = agent_ledger_applied(c->conn, plan->name, &ids, &n, err);
	if (rc != SK_OK)
		return rc;
	for (size_t k = 0; k < n; k++) {
		idx = step_index(plan, ids[k]);
		if (idx == plan->nsteps)
			list_add(unknown, sizeof(unknown), ids[k]);
		else
			recorded[idx] = true;
	}
	sk_strv_free(ids, n);
	for (size_t i = 0; rc == SK_OK && i < plan->nsteps; i++) {
		const sk_step *step = &plan->steps[i];
		char what[SK_NAME_MAX + 32];

		if (!recorded[i])
			continue;
		rc = agent_ledger_lookup(
		    c->conn, plan->name, step->id, &found, hex, err);
		if (rc != SK_OK)
			return rc;
		if (found && strcmp(hex, c->hex[i]) != 0 &&
		    !(c->text_hex != NULL && c->text_hex[i][0] != '\0' &&
			strcmp(hex, c->text_hex[i]) == 0)) {
			sk_err_set(err, SK_EDRIFT,
			    "step %s is recorded with checksum %.16s... but the "
			    "plan has %.16s...: its revert script belongs to other "
			    "SQL",
			    step->id, hex, c->hex[i]);
			snprintf(err->detail, sizeof(err->detail),
			    "ledger checksum %s, plan checksum %s", hex, c->hex[i]);
			snprintf(err->hint, sizeof(err->hint),
			    "roll back with the plan that applied the step");
			return SK_EDRIFT;
		}
		if (step->revert == NULL) {
			list_add(norevert, sizeof(norevert), step->id);
			continue;
		}
		/* A non-transactional revert runs statement by statement
		 * outside a transaction; transaction control is refused in
		 * either kind, and a script that does not parse is refused
		 * before anything runs. */
		snprintf(what, sizeof(what), "%s",
		    step->revert_path != NULL ? step->revert_path : "revert");
		rc = mode_refuse_tx_control(step->revert, what, err);
		if (rc != SK_OK)
			return sk_err_wrap(err, "step %s", step->id);
	}
	if (unknown[0] == '\0' && norevert[0] == '\0')
		return SK_OK;
	sk_err_set(err, SK_ESTATE, "%s%s%s%s%s",
	    norevert[0] != '\0' ? "no revert script for step " : "", norevert,
	    norevert[0] != '\0' && unknown[0] != '\0' ? "; " : "",
	    unknown[0] != '\0' ? "recorded but not in this plan: step " : "", unknown);
	snprintf(err->hint, sizeof(err->hint),
	    "nothing was reverted; %s, or restore the database from the backup "
	    "taken before the plan",
	    norevert[0] != '\0' ? "add a revert script to each step named" :
				  "roll back with the plan that applied them");
	return SK_ESTATE;
}

/* The ledger change of a revert, in the open transaction or (outside
 * one) in its own. */
static int
record_revert(mode_run *m, const sk_step *step, int64_t duration_ms, sk_err *err)
{
	const agent_db_ctx *c = m->c;
	bool own = PQtransactionStatus(c->conn) == PQTRANS_IDLE;
	int rc;

	if (own) {
		rc = agent_tx_begin(c, NULL, err);
		if (rc != SK_OK)
			return rc;
	}
	rc = agent_ledger_revert_step(c->conn, c->plan->name, step->id,
	    c->rollout_id, c->region, duration_ms, err);
	if (rc == SK_OK && own)
		rc = sk_pg_exec(c->conn, "commit", "COMMIT", NULL, err);
	return rc;
}

/* One attempt at reverting a transactional step: the revert script and
 * the ledger change commit together or not at all. */
static int
revert_in_tx(mode_run *m, const sk_step *step, int64_t *rows, sk_err *err)
{
	const agent_db_ctx *c = m->c;
	PGresult *res = NULL;
	int64_t t0;
	int pid = 0, rc;

	rc = agent_tx_begin(c, step, err);
	if (rc != SK_OK)
		return rc;
	rc = agent_backend_pid(c->conn, c->pooled, &pid, err);
	t0 = sk_mono_ms();
	if (rc == SK_OK)
		rc = mode_run_watched(m, NULL, step->revert, pid, &res, rows, err);
	if (rc == SK_OK) {
		if (PQtransactionStatus(c->conn) != PQTRANS_INTRANS)
			rc = sk_err_set(err, SK_ESTATE,
			    "the revert script ended its transaction");
	}
	PQclear(res);
	if (rc == SK_OK)
		rc = record_revert(m, step, sk_mono_ms() - t0, err);
	if (rc == SK_OK)
		rc = sk_pg_exec(c->conn, "commit", "COMMIT", NULL, err);
	if (rc != SK_OK)
		agent_tx_rollback(c->conn);
	return rc;
}

/* One attempt at reverting a non-transactional step (DROP INDEX
 * CONCURRENTLY, ...): its statements one by one outside a transaction,
 * then the ledger change. Cut off between the two, the revert runs again
 * next time, so such a revert must be idempotent (IF EXISTS). */
static int
revert_outside(mode_run *m, const sk_step *step, int64_t *rows, sk_err *err)
{
	const agent_db_ctx *c = m->c;
	sk_sql_script *script = NULL;
	PGresult *res = NULL;
	int pid = c->pooled ? 0 : PQbackendPID(c->conn);
	int64_t t0 = sk_mono_ms(), n;
	int rc;

	rc = sk_sql_parse(step->revert, step->revert_path, &script, err);
	if (rc != SK_OK)
		return rc;
	if (!c->pooled)
		rc = agent_set_session_timeouts(c->conn, step->lock_timeout_ms,
		    step->statement_timeout_ms, err);
	for (size_t k = 0; rc == SK_OK && k < script->nstmts; k++) {
		rc = mode_run_watched(
		    m, NULL, script->stmts[k].text, pid, &res, &n, err);
		if (rc == SK_OK && n >= 0)
			*rows = (*rows < 0 ? 0 : *rows) + n;
		PQclear(res);
		res = NULL;
		if (rc == SK_OK && PQtransactionStatus(c->conn) != PQTRANS_IDLE)
			rc = sk_err_set(err, SK_ESTATE,
			    "the revert script left a transaction open");
	}
	agent_tx_rollback(c->conn);
	if (!c->pooled)
		agent_reset_session_timeouts(c->conn);
	sk_sql_script_destroy(script);
	if (rc == SK_OK)
		rc = record_revert(m, step, sk_mono_ms() - t0, err);
	if (rc != SK_OK)
		agent_tx_rollback(c->conn);
	return rc;
}

/* Record a failed revert in the ledger's events; a failure to do so is
 * logged: the error being recorded matters more. */
static void
record_failure(const mode_run *m, const sk_step *step, const sk_err *cause)
{
	const agent_db_ctx *c = m->c;
	agent_ledger_event ev;
	sk_err err;

	if (PQstatus(c->conn) != CONNECTION_OK)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.plan_name = c->plan->name;
	ev.plan_id = c->plan->id;
	ev.rollout_id = c->rollout_id;
	ev.region = c->region;
	ev.step_id = step->id;
	ev.event = "revert-failed";
	ev.sqlstate = cause->sqlstate;
	ev.message = cause->msg;
	ev.detail = cause->detail;
	sk_err_clear(&err);
	if (agent_ledger_record_event(c->conn, &ev, &err) != SK_OK)
		sk_warn("record revert-failed event for step %s in %s/%s: %s",
		    step->id, c->region, c->database, err.msg);
}

/* Revert step i, retrying lock timeouts with jittered, doubling pauses up
 * to the step's lock_retries, and report it. */
static int
revert_step(mode_run *m, size_t i, sk_err *err)
{
	const agent_db_ctx *c = m->c;
	const sk_step *step = &c->plan->steps[i];
	int64_t t0 = sk_mono_ms(), attempt_t0, rows, pause;
	int64_t delay = step->retry_backoff_ms > 0 ? step->retry_backoff_ms : 1;
	char detail[256], what[96];
	int rc;

	m->step = step;
	m->attempt = 1;
	m->lock_waits = 0;
	m->lock_wait_ms = 0;
	m->nblockers = 0;
	mode_emit(m, SK_EV_STEP_STARTED, step->id, 1, 0, 0, "revert", NULL);
	for (;;) {
		rows = -1;
		attempt_t0 = sk_mono_ms();
		rc = step->no_transaction ? revert_outside(m, step, &rows, err) :
					    revert_in_tx(m, step, &rows, err);
		if (rc == SK_OK || sk_pg_err_is_connection(err) ||
		    !agent_err_is_retryable(err))
			break;
		m->lock_waits++;
		m->lock_wait_ms += sk_mono_ms() - attempt_t0;
		if (m->lock_waits > step->lock_retries) {
			if (agent_err_is_lock_timeout(err))
				snprintf(what, sizeof(what),
				    "gave up after %" PRIu32
				    " lock timeouts of %" PRId64 " ms",
				    m->lock_waits, step->lock_timeout_ms);
			else
				snprintf(what, sizeof(what),
				    "gave up after %" PRIu32
				    " lock conflicts, the last a %s",
				    m->lock_waits, agent_err_conflict_name(err));
			mode_lock_error(m, what, err);
			rc = err->code;
			snprintf(err->hint, sizeof(err->hint),
			    "end or wait out the blocking session, then roll back "
			    "again: the reverts already done stay done");
			break;
		}
		pause = agent_backoff(&m->rng, &delay, LOCK_BACKOFF_MAX_MS);
		agent_lock_retry_detail(detail, sizeof(detail), err,
		    step->lock_timeout_ms, m->lock_waits, step->lock_retries, pause);
		mode_emit_lock_wait(m, detail, err);
		if (mode_sleep_or_stop(c, pause))
			return sk_err_set(err, SK_ESTATE,
			    "roll back plan %s in %s/%s: stopped while the revert "
			    "of step %s waited to retry a lock timeout",
			    c->plan->name, c->region, c->database, step->id);
		m->attempt++;
	}
	if (rc == SK_OK) {
		mode_emit(m, SK_EV_STEP_REVERTED, step->id, m->attempt,
		    sk_mono_ms() - t0, rows, NULL, NULL);
		return SK_OK;
	}
	sk_err_wrap(err, "roll back step %s in %s/%s", step->id, c->region, c->database);
	if (sk_pg_err_is_connection(err))
		return rc;
	record_failure(m, step, err);
	mode_emit(m, SK_EV_STEP_FAILED, step->id, m->attempt, sk_mono_ms() - t0,
	    0, "revert", err);
	return rc;
}

int
agent_rollback_db(const agent_db_ctx *c, sk_err *err)
{
	mode_run m;
	bool *recorded;
	int rc;

	rc = mode_check_ctx(c, "roll back", err);
	if (rc != SK_OK)
		return rc;
	mode_init(&m, c);
	recorded = calloc(c->plan->nsteps + 1, sizeof(*recorded));
	if (recorded == NULL)
		return sk_err_set(err, SK_ENOMEM,
		    "roll back plan %s in %s/%s: out of memory", c->plan->name,
		    c->region, c->database);
	rc = rollback_preconditions(&m, recorded, err);
	if (rc != SK_OK) {
		sk_err_wrap(err, "roll back plan %s in %s/%s%s", c->plan->name,
		    c->region, c->database,
		    sk_pg_err_is_connection(err) ? "" : ": refused");
		goto out;
	}
	for (size_t k = c->plan->nsteps; k > 0; k--) {
		const sk_step *step = &c->plan->steps[k - 1];

		if (!recorded[k - 1]) {
			mode_emit(&m, SK_EV_STEP_SKIPPED, step->id, 0, 0, 0,
			    "not in the ledger; nothing to revert", NULL);
			continue;
		}
		if (mode_stopped(c)) {
			rc = sk_err_set(err, SK_ESTATE,
			    "roll back plan %s in %s/%s: stopped before step %s",
			    c->plan->name, c->region, c->database, step->id);
			goto out;
		}
		rc = revert_step(&m, k - 1, err);
		if (rc != SK_OK)
			goto out;
	}
out:
	agent_tx_rollback(c->conn);
	mode_fini(&m);
	free(recorded);
	return rc;
}

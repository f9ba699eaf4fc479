/* agent_rehearse: a rehearsal in one database. The plan's transactional
 * steps run with their checks in one transaction that is always rolled
 * back, each under a savepoint; the answer is READY (SK_OK) or BLOCKED
 * with every reason found: failed preflight checks, drift, transaction
 * control in a script, then the first step that fails. Nothing is written
 * to the ledger, which is not even created. docs/safety.md, "Rehearsal
 * and rollback", says what a rehearsal can still change (sequences).
 */
#include "agent_modes_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_locks.h"
#include "agent_stmt.h"
#include "agent_preflight.h"
#include "sk_pg.h"
#include "sk_sql.h"
#include "sk_util.h"

/* The reasons a database is BLOCKED: the first one whole (code, SQLSTATE,
 * detail, hint), the rest in one "; "-separated line. */
typedef struct verdict {
	size_t n;
	sk_err first;
	char text[SK_ERR_MSG_MAX];
} verdict;

/* Why a step cannot be rehearsed, for STEP_NOT_REHEARSABLE. */
static void
not_rehearsable_detail(const sk_step *step, bool pre_checked, char *buf, size_t len)
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

static void
verdict_add(verdict *v, const char *step_id, const sk_err *e)
{
	size_t used = strlen(v->text);
	char state[12] = "";

	/* The first reason's SQLSTATE travels in the error itself (and is
	 * printed after the message); the others' only in the text. */
	if (v->n++ == 0)
		v->first = *e;
	else if (e->sqlstate[0] != '\0' && strstr(e->msg, e->sqlstate) == NULL)
		snprintf(state, sizeof(state), " (%s)", e->sqlstate);
	/* The reasons are a summary: truncating a long list is fine. */
	if (used + 1 < sizeof(v->text) &&
	    snprintf(v->text + used, sizeof(v->text) - used, "%s%s%s%s%s",
		used > 0 ? "; " : "", step_id != NULL ? "step " : "",
		step_id != NULL ? step_id : "", step_id != NULL ? ": " : "", e->msg) < 0)
		return;
	used = strlen(v->text);
	if (used + 1 < sizeof(v->text) &&
	    snprintf(v->text + used, sizeof(v->text) - used, "%s", state) < 0)
		return;
}

static void
on_preflight(void *arg, const sk_check_result *res)
{
	mode_emit_check(arg, NULL, res);
}

/* Phase checks in the rehearsal's transaction, under limits' timeouts,
 * watched (pid: the transaction's backend). */
static int
phase_checks(mode_run *m, const sk_check *checks, size_t n, const char *when,
    const sk_step *limits, int pid, sk_err *err)
{
	const agent_db_ctx *c = m->c;
	int rc;

	if (n == 0)
		return SK_OK;
	m->step = NULL;
	m->nblockers = 0;
	rc = agent_set_local_timeouts(c->conn, limits->lock_timeout_ms,
	    limits->statement_timeout_ms, err);
	if (rc == SK_OK)
		rc = mode_eval_checks(m, NULL, checks, n, when, limits, pid, err);
	if (rc == SK_ELOCK)
		snprintf(err->hint, sizeof(err->hint),
		    "a rehearsal does not retry lock timeouts; rehearse again "
		    "when the blocking session is gone");
	if (rc != SK_OK)
		sk_err_wrap(err, "phase %s %s-check",
		    c->phase->name != NULL ? c->phase->name : "-", when);
	return rc;
}

/* Rehearse step i inside the open transaction, under a savepoint. On
 * failure err says why, unwrapped (the caller adds the step). */
static int
rehearse_step(mode_run *m, size_t i, int pid, sk_err *err)
{
	const agent_db_ctx *c = m->c;
	const sk_step *step = &c->plan->steps[i];
	PGresult *res = NULL;
	int64_t t0 = sk_mono_ms(), rows = -1;
	char detail[256];
	int rc;

	m->step = step;
	m->attempt = 1;
	m->nblockers = 0;
	/* The savepoint scopes the step's SET LOCAL; it also keeps what a
	 * FAILS check rolls back to its own. */
	rc = sk_pg_exec(
	    c->conn, "open savepoint", "SAVEPOINT skein_rehearse", NULL, err);
	if (rc == SK_OK)
		rc = agent_set_local_timeouts(c->conn, step->lock_timeout_ms,
		    step->statement_timeout_ms, err);
	/* A non-transactional step's pre-checks still tell something: they
	 * see what the earlier steps did. Its SQL and post-checks cannot. */
	if (rc == SK_OK)
		rc = mode_eval_checks(
		    m, step->id, step->pre, step->npre, "pre", step, pid, err);
	if (rc == SK_OK && !step->no_transaction) {
		rc = mode_run_watched(m, NULL,
		    step->sql != NULL ? step->sql : "", pid, &res, &rows, err);
		if (rc != SK_OK && agent_err_is_lock_timeout(err)) {
			snprintf(detail, sizeof(detail),
			    "lock timeout after %" PRId64 " ms",
			    step->lock_timeout_ms);
			mode_lock_error(m, detail, err);
			rc = err->code;
			snprintf(err->hint, sizeof(err->hint),
			    "a rehearsal does not retry lock timeouts (the apply "
			    "retries up to %" PRIu32 " times); rehearse again when "
			    "the blocking session is gone",
			    step->lock_retries);
		}
		PQclear(res);
		res = NULL;
		/* refuse_tx_control saw to it; this is the last line of
		 * defence, and it comes too late to undo anything. */
		if (rc == SK_OK && PQtransactionStatus(c->conn) != PQTRANS_INTRANS)
			rc = sk_err_set(err, SK_ESTATE,
			    "the step's SQL ended the rehearsal's transaction");
		if (rc == SK_OK && step->verify != NULL)
			rc = agent_stmt_verify(c->conn, step, err);
		if (rc == SK_OK)
			rc = mode_eval_checks(m, step->id, step->post,
			    step->npost, "post", step, pid, err);
	}
	if (rc == SK_ELOCK && err->hint[0] == '\0')
		/* A check's lock timeout (the SQL's has its hint already). */
		snprintf(err->hint, sizeof(err->hint),
		    "a rehearsal does not retry lock timeouts (the apply "
		    "retries up to %" PRIu32 " times); rehearse again when "
		    "the blocking session is gone",
		    step->lock_retries);
	if (rc == SK_OK)
		rc = sk_pg_exec(c->conn, "release savepoint",
		    "RELEASE SAVEPOINT skein_rehearse", NULL, err);
	if (rc != SK_OK)
		return rc;
	if (step->no_transaction) {
		not_rehearsable_detail(step, step->npre > 0, detail, sizeof(detail));
		mode_emit(m, SK_EV_STEP_NOT_REHEARSABLE, step->id, 1, 0, 0,
		    detail, NULL);
	} else {
		mode_emit(m, SK_EV_STEP_REHEARSED, step->id, 1,
		    sk_mono_ms() - t0, rows, NULL, NULL);
	}
	return SK_OK;
}

/* Add a reason when sql holds transaction control; *clean becomes false. */
static void
scan_script(verdict *v, const char *step_id, const char *sql, const char *what,
    bool *clean)
{
	sk_err e;

	sk_err_clear(&e);
	if (mode_refuse_tx_control(sql, what, &e) != SK_OK) {
		verdict_add(v, step_id, &e);
		*clean = false;
	}
}

static void
scan_checks(verdict *v, const char *step_id, const sk_check *checks, size_t n,
    bool *clean)
{
	char what[SK_NAME_MAX + 16];

	for (size_t k = 0; k < n; k++) {
		snprintf(what, sizeof(what), "check %s",
		    checks[k].name != NULL ? checks[k].name : "-");
		scan_script(v, step_id, checks[k].sql, what, clean);
	}
}

/* Check that every script the rehearsal would send is free of transaction
 * control, adding a reason for each that is not. Returns whether all
 * were clean. */
static bool
scripts_clean(mode_run *m, const bool *recorded, verdict *v)
{
	const sk_plan *plan = m->c->plan;
	const sk_phase *ph = m->c->phase;
	bool clean = true;

	if (ph != NULL) {
		scan_checks(v, NULL, ph->pre, ph->npre, &clean);
		scan_checks(v, NULL, ph->post, ph->npost, &clean);
	}
	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *s = &plan->steps[i];

		if (recorded[i])
			continue;
		scan_checks(v, s->id, s->pre, s->npre, &clean);
		if (s->no_transaction)
			continue;
		scan_script(v, s->id, s->sql,
		    s->sql_path != NULL ? s->sql_path : "SQL", &clean);
		scan_script(v, s->id, s->verify,
		    s->verify_path != NULL ? s->verify_path : "verify", &clean);
		scan_checks(v, s->id, s->post, s->npost, &clean);
	}
	return clean;
}

/* What the ledger says, without creating it: recorded[i] for steps
 * already applied. Drift and a ledger newer than this agent are reasons
 * (the apply would refuse both before changing anything) and clear
 * *runnable. Returns SK_OK unless the database could not be asked. */
static int
read_ledger(mode_run *m, bool *recorded, verdict *v, bool *runnable, sk_err *err)
{
	const agent_db_ctx *c = m->c;
	const sk_plan *plan = c->plan;
	char hex[AGENT_LEDGER_HEX_LEN];
	bool exists = false, found;
	int version = 0, rc;
	sk_err e;

	sk_err_clear(&e);
	rc = agent_ledger_exists(c->conn, &exists, &version, &e);
	if (rc != SK_OK) {
		if (sk_pg_err_is_connection(&e)) {
			*err = e;
			return rc;
		}
		verdict_add(v, NULL, &e);
		*runnable = false;
		return SK_OK;
	}
	if (!exists)
		return SK_OK;
	if (version > AGENT_LEDGER_VERSION) {
		sk_err_set(&e, SK_ESTATE,
		    "the database has ledger version %d but this agent knows only "
		    "up to %d",
		    version, AGENT_LEDGER_VERSION);
		snprintf(e.hint, sizeof(e.hint), "upgrade skein-agent");
		verdict_add(v, NULL, &e);
		*runnable = false;
		return SK_OK;
	}
	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *step = &plan->steps[i];

		rc = agent_ledger_lookup(
		    c->conn, plan->name, step->id, &found, hex, err);
		if (rc != SK_OK)
			return rc;
		recorded[i] = found;
		if (!found || strcmp(hex, c->hex[i]) == 0 ||
		    (c->text_hex != NULL && c->text_hex[i][0] != '\0' &&
			strcmp(hex, c->text_hex[i]) == 0))
			continue;
		sk_err_set(&e, SK_EDRIFT,
		    "drift: ledger has checksum %.16s... but the plan has %.16s...",
		    hex, c->hex[i]);
		snprintf(e.detail, sizeof(e.detail),
		    "ledger checksum %s, plan checksum %s", hex, c->hex[i]);
		snprintf(e.hint, sizeof(e.hint),
		    "a step that ran is never changed: restore its SQL, or add the "
		    "change as a new step with a new id");
		verdict_add(v, step->id, &e);
		sk_err_wrap(&e, "rehearse step %s in %s/%s", step->id,
		    c->region, c->database);
		mode_emit(m, SK_EV_STEP_FAILED, step->id, 0, 0, 0, NULL, &e);
		*runnable = false;
	}
	return SK_OK;
}

/* The rehearsal's transaction: phase pre-checks before the first step to
 * run, the steps, the phase post-checks. Stops at the first failure, which
 * goes to v (later steps usually build on the failed one). Returns an
 * error only for what ends the rehearsal itself (a lost connection, a
 * stop); the caller rolls back. */
static int
rehearse_steps(mode_run *m, const bool *recorded, verdict *v, sk_err *err)
{
	const agent_db_ctx *c = m->c;
	const sk_plan *plan = c->plan;
	const sk_phase *ph = c->phase;
	char skipped[160] = "";
	size_t first = 0;
	int pid = 0, rc;
	sk_err e;

	while (first < plan->nsteps && recorded[first])
		first++;
	sk_err_clear(&e);
	rc = agent_tx_begin(c, NULL, &e);
	if (rc == SK_OK)
		rc = agent_backend_pid(c->conn, c->pooled, &pid, &e);
	if (rc == SK_OK && first < plan->nsteps && ph != NULL)
		rc = phase_checks(
		    m, ph->pre, ph->npre, "pre", &plan->steps[first], pid, &e);
	if (rc != SK_OK)
		goto fail;

	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *step = &plan->steps[i];

		if (recorded[i]) {
			mode_emit(m, SK_EV_STEP_SKIPPED, step->id, 0, 0, 0,
			    "already in the ledger", NULL);
			continue;
		}
		if (mode_stopped(c))
			return sk_err_set(
			    err, SK_ESTATE, "stopped before step %s", step->id);
		m->lock_waits = 0;
		m->lock_wait_ms = 0;
		rc = rehearse_step(m, i, pid, &e);
		if (rc != SK_OK) {
			if (skipped[0] != '\0' && e.hint[0] == '\0')
				snprintf(e.hint, sizeof(e.hint),
				    "not rehearsed before this step: %s; if the "
				    "step depends on them, the rehearsal cannot tell",
				    skipped);
			if (sk_pg_err_is_connection(&e))
				goto fail;
			verdict_add(v, step->id, &e);
			sk_err_wrap(&e, "rehearse step %s in %s/%s", step->id,
			    c->region, c->database);
			mode_emit(m, SK_EV_STEP_FAILED, step->id, 1, 0, 0, NULL, &e);
			return SK_OK;
		}
		if (step->no_transaction) {
			size_t used = strlen(skipped);

			if (used + 1 < sizeof(skipped))
				snprintf(skipped + used, sizeof(skipped) - used,
				    "%s%s", used > 0 ? ", " : "", step->id);
		}
	}
	/* As in apply: even when every step was already in the ledger. */
	if (ph != NULL && plan->nsteps > 0) {
		rc = phase_checks(m, ph->post, ph->npost, "post",
		    &plan->steps[plan->nsteps - 1], pid, &e);
		if (rc != SK_OK)
			goto fail;
	}
	return SK_OK;
fail:
	/* A lost connection, or a stop while a pooled ledger lock was
	 * held elsewhere: no verdict, the caller decides. */
	if (sk_pg_err_is_connection(&e) || e.code == SK_ESTATE) {
		*err = e;
		return e.code;
	}
	verdict_add(v, NULL, &e);
	return SK_OK;
}

int
agent_rehearse_db(const agent_db_ctx *c, sk_err *err)
{
	mode_run m;
	verdict v;
	bool *recorded = NULL, runnable = true;
	sk_err e;
	int rc;

	rc = mode_check_ctx(c, "rehearse", err);
	if (rc != SK_OK)
		return rc;
	mode_init(&m, c);
	memset(&v, 0, sizeof(v));
	recorded = calloc(c->plan->nsteps + 1, sizeof(*recorded));
	if (recorded == NULL)
		return sk_err_set(err, SK_ENOMEM,
		    "rehearse plan %s in %s/%s: out of memory", c->plan->name,
		    c->region, c->database);

	/* Preflight first, like apply; a failure is a reason, and the steps
	 * are still rehearsed so that the verdict lists all there is. */
	sk_err_clear(&e);
	rc = agent_preflight_run(c->conn, &c->plan->preflight, on_preflight, &m, &e);
	if (rc != SK_OK) {
		if (sk_pg_err_is_connection(&e)) {
			*err = e;
			goto out;
		}
		verdict_add(&v, NULL, &e);
		rc = SK_OK;
	}
	rc = read_ledger(&m, recorded, &v, &runnable, err);
	if (rc != SK_OK)
		goto out;
	if (runnable && scripts_clean(&m, recorded, &v))
		rc = rehearse_steps(&m, recorded, &v, err);
out:
	/* The one thing a rehearsal must always do. */
	agent_tx_rollback(c->conn);
	mode_fini(&m);
	free(recorded);
	if (rc != SK_OK)
		return sk_err_wrap(err, "rehearse plan %s in %s/%s",
		    c->plan->name, c->region, c->database);
	if (v.n == 0)
		return SK_OK;
	if (err != NULL) {
		*err = v.first;
		/* Truncation is acceptable: each reason was also reported
		 * when it was found (STEP_FAILED, CHECK). */
		snprintf(err->msg, sizeof(err->msg), "%s", v.text);
		sk_err_wrap(err, "rehearse plan %s in %s/%s: BLOCKED",
		    c->plan->name, c->region, c->database);
	}
	return v.first.code != SK_OK ? v.first.code : SK_ESTATE;
}

/* agent_rehearse: a rehearsal in one database. The plan's transactional
 * steps run with their checks in one transaction that is always rolled
 * back, each under a savepoint; the answer is READY (SK_OK) or BLOCKED
 * with every reason found: failed preflight checks, drift, transaction
 * control in a script, then the first step that fails. Nothing is written
 * to the ledger, which is not even created. docs/safety.md, "Rehearsal
 * and rollback", says what a rehearsal can still change (sequences).
 */
#include "agent_modes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_kinds.h"
#include "agent_locks.h"
#include "agent_preflight.h"
#include "agent_step.h"
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
	agent_db_emit_check(arg, NULL, res);
}

/* The hint of a lock timeout in a rehearsal. */
static void
no_retry_hint(sk_err *err, const sk_step *limits)
{
	if (err->hint[0] == '\0')
		snprintf(err->hint, sizeof(err->hint),
		    "a rehearsal does not retry lock timeouts (the apply "
		    "retries up to %" PRIu32 " times); rehearse again when "
		    "the blocking session is gone",
		    limits->lock_retries);
}

/* Phase checks in the rehearsal's transaction, under limits' timeouts,
 * watched (pid: the transaction's backend). */
static int
phase_checks(const agent_db_ctx *c, const sk_check *checks, size_t n,
    const char *when, const sk_step *limits, int pid, sk_err *err)
{
	agent_step_run s;
	int rc;

	if (n == 0)
		return SK_OK;
	rc = agent_step_run_init(&s, c, SIZE_MAX, limits, true, err);
	if (rc != SK_OK)
		return rc;
	s.pid = pid;
	rc = agent_set_local_timeouts(c->conn, limits->lock_timeout_ms,
	    limits->statement_timeout_ms, err);
	if (rc == SK_OK)
		rc = agent_step_checks(&s, checks, n, when, err);
	if (rc == SK_ELOCK)
		snprintf(err->hint, sizeof(err->hint),
		    "a rehearsal does not retry lock timeouts; rehearse again "
		    "when the blocking session is gone");
	if (rc != SK_OK)
		sk_err_wrap(err, "phase %s %s-check",
		    c->phase->name != NULL ? c->phase->name : "-", when);
	agent_step_run_fini(&s);
	return rc;
}

/* Rehearse s's step inside the open transaction, under a savepoint,
 * through its kind. On failure err says why, unwrapped (the caller adds
 * the step). */
static int
rehearse_step(agent_step_run *s, const agent_step_kind *kind, sk_err *err)
{
	const agent_db_ctx *c = s->c;
	const sk_step *step = s->step;
	int64_t t0 = sk_mono_ms();
	char detail[256];
	int rc;

	/* The savepoint scopes the step's SET LOCAL; it also keeps what a
	 * FAILS check rolls back to its own. */
	rc = sk_pg_exec(
	    c->conn, "open savepoint", "SAVEPOINT skein_rehearse", NULL, err);
	if (rc == SK_OK)
		rc = agent_set_local_timeouts(c->conn, step->lock_timeout_ms,
		    step->statement_timeout_ms, err);
	/* A step that cannot be rehearsed still has its pre-checks tell
	 * something: they see what the earlier steps did. */
	if (rc == SK_OK)
		rc = agent_step_checks(s, step->pre, step->npre, "pre", err);
	if (rc == SK_OK && kind->rehearse != NULL)
		rc = kind->rehearse(s, err);
	if (rc == SK_ELOCK)
		no_retry_hint(err, step);
	if (rc == SK_OK)
		rc = sk_pg_exec(c->conn, "release savepoint",
		    "RELEASE SAVEPOINT skein_rehearse", NULL, err);
	if (rc != SK_OK)
		return rc;
	if (kind->rehearse == NULL) {
		kind->describe(step, step->npre > 0, detail, sizeof(detail));
		s->rows = -1;
		agent_step_emit(s, SK_EV_STEP_NOT_REHEARSABLE, 0, detail, NULL);
	} else {
		agent_step_emit(s, SK_EV_STEP_REHEARSED, sk_mono_ms() - t0, NULL, NULL);
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
	if (agent_step_refuse_tx_control(sql, what, &e) != SK_OK) {
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

/* What a kind's scripts callback scans into. */
typedef struct scan {
	verdict *v;
	const char *step_id;
	bool *clean;
} scan;

static void
scan_one(void *arg, const char *sql, const char *what)
{
	scan *sc = arg;

	scan_script(sc->v, sc->step_id, sql, what, sc->clean);
}

/* Check that every script the rehearsal would send is free of transaction
 * control, and that this agent knows every step's kind, adding a reason
 * for each that is not. Returns whether all were clean. */
static bool
scripts_clean(const agent_db_ctx *c, const bool *recorded, verdict *v)
{
	const sk_plan *plan = c->plan;
	const sk_phase *ph = c->phase;
	bool clean = true;

	if (ph != NULL) {
		scan_checks(v, NULL, ph->pre, ph->npre, &clean);
		scan_checks(v, NULL, ph->post, ph->npost, &clean);
	}
	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *st = &plan->steps[i];
		const agent_step_kind *kind = agent_step_kind_of(st);
		scan sc = { v, st->id, &clean };

		if (recorded[i])
			continue;
		if (kind == NULL) {
			sk_err e;
			char why[128];

			agent_step_kind_refusal(st, why, sizeof(why));
			sk_err_set(&e, SK_EINVAL, "%s", why);
			snprintf(e.hint, sizeof(e.hint), "upgrade skein-agent");
			verdict_add(v, st->id, &e);
			clean = false;
			continue;
		}
		scan_checks(v, st->id, st->pre, st->npre, &clean);
		if (kind->scripts != NULL)
			kind->scripts(st, scan_one, &sc);
	}
	return clean;
}

/* What the ledger says, without creating it: recorded[i] for steps
 * already applied. Drift and a ledger newer than this agent are reasons
 * (the apply would refuse both before changing anything) and clear
 * *runnable. Returns SK_OK unless the database could not be asked. */
static int
read_ledger(const agent_db_ctx *c, bool *recorded, verdict *v, bool *runnable,
    sk_err *err)
{
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
		agent_db_emit(c, SK_EV_STEP_FAILED, step->id, 0, 0, 0, NULL, &e);
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
rehearse_steps(const agent_db_ctx *c, const bool *recorded, verdict *v, sk_err *err)
{
	const sk_plan *plan = c->plan;
	const sk_phase *ph = c->phase;
	char skipped[160] = "";
	agent_step_run s;
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
		    c, ph->pre, ph->npre, "pre", &plan->steps[first], pid, &e);
	if (rc != SK_OK)
		goto fail;

	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *step = &plan->steps[i];

		if (recorded[i]) {
			agent_db_emit(c, SK_EV_STEP_SKIPPED, step->id, 0, 0, 0,
			    "already in the ledger", NULL);
			continue;
		}
		if (agent_db_stopped(c))
			return sk_err_set(
			    err, SK_ESTATE, "stopped before step %s", step->id);
		rc = agent_step_run_init(&s, c, i, NULL, true, &e);
		if (rc != SK_OK)
			goto fail;
		s.pid = pid;
		rc = rehearse_step(&s, agent_step_kind_of(step), &e);
		if (rc != SK_OK) {
			if (skipped[0] != '\0' && e.hint[0] == '\0')
				snprintf(e.hint, sizeof(e.hint),
				    "not rehearsed before this step: %s; if the "
				    "step depends on them, the rehearsal cannot tell",
				    skipped);
			if (sk_pg_err_is_connection(&e)) {
				agent_step_run_fini(&s);
				goto fail;
			}
			verdict_add(v, step->id, &e);
			sk_err_wrap(&e, "rehearse step %s in %s/%s", step->id,
			    c->region, c->database);
			s.rows = -1;
			agent_step_emit(&s, SK_EV_STEP_FAILED, 0, NULL, &e);
			agent_step_run_fini(&s);
			return SK_OK;
		}
		agent_step_run_fini(&s);
		if (step->no_transaction) {
			size_t used = strlen(skipped);

			if (used + 1 < sizeof(skipped))
				snprintf(skipped + used, sizeof(skipped) - used,
				    "%s%s", used > 0 ? ", " : "", step->id);
		}
	}
	/* As in apply: even when every step was already in the ledger. */
	if (ph != NULL && plan->nsteps > 0) {
		rc = phase_checks(c, ph->post, ph->npost, "post",
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
agent_rehearse_db(const agent_db_ctx *ctx, sk_err *err)
{
	agent_db_ctx local;
	const agent_db_ctx *c = &local;
	agent_watch watch;
	verdict v;
	bool *recorded = NULL, runnable = true;
	sk_err e;
	int rc;

	rc = agent_db_ctx_check(ctx, "rehearse", err);
	if (rc != SK_OK)
		return rc;
	/* Called without the executor's monitor: keep one of our own. */
	local = *ctx;
	agent_watch_init(&watch, ctx->conninfo, ctx->pooled, ctx->region, ctx->database);
	if (local.watch == NULL)
		local.watch = &watch;
	memset(&v, 0, sizeof(v));
	recorded = calloc(c->plan->nsteps + 1, sizeof(*recorded));
	if (recorded == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "out of memory");
		goto out;
	}

	/* Preflight first, like apply; a failure is a reason, and the steps
	 * are still rehearsed so that the verdict lists all there is. */
	sk_err_clear(&e);
	rc = agent_preflight_run(
	    c->conn, &c->plan->preflight, on_preflight, &local, &e);
	if (rc != SK_OK) {
		if (sk_pg_err_is_connection(&e)) {
			*err = e;
			goto out;
		}
		verdict_add(&v, NULL, &e);
		rc = SK_OK;
	}
	rc = read_ledger(c, recorded, &v, &runnable, err);
	if (rc != SK_OK)
		goto out;
	if (runnable && scripts_clean(c, recorded, &v))
		rc = rehearse_steps(c, recorded, &v, err);
out:
	/* The one thing a rehearsal must always do. */
	agent_tx_rollback(c->conn);
	agent_watch_fini(&watch);
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

/* agent_step: what every step kind does the same way — its transaction,
 * its checks, its watched statements, its ledger row and its reports —
 * so that a kind's file holds only what is its own (agent_step.h).
 */
#include "agent_step.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_check.h"
#include "agent_ledger.h"
#include "agent_locks.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_sql.h"
#include "sk_util.h"

int
agent_step_run_init(agent_step_run *s, const agent_db_ctx *c, size_t i,
    const sk_step *limits, bool no_retry, sk_err *err)
{
	const sk_step *step = i < c->plan->nsteps ? &c->plan->steps[i] : NULL;
	size_t cap;

	memset(s, 0, sizeof(*s));
	if (step != NULL)
		cap = step->npre + step->npost + step->nchecks;
	else
		cap = c->phase != NULL ? c->phase->npre + c->phase->npost : 0;
	s->res = calloc(cap + 1, sizeof(*s->res));
	if (s->res == NULL)
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	s->capres = cap;
	s->c = c;
	s->step = step;
	s->i = i;
	s->no_retry = no_retry;
	s->rows = -1;
	s->started_ms = sk_now_ms();
	agent_attempts_init(&s->a, c, step != NULL ? step : limits,
	    step != NULL ? step->id : NULL);
	return SK_OK;
}

void
agent_step_run_fini(agent_step_run *s)
{
	free(s->res);
	s->res = NULL;
}

typedef struct retry_arg {
	agent_step_run *s;
	int (*fn)(agent_step_run *, sk_err *);
} retry_arg;

static int
one_attempt(void *arg, sk_err *err)
{
	retry_arg *r = arg;

	r->s->nres = 0;
	r->s->rows = -1;
	r->s->pid = 0;
	return r->fn(r->s, err);
}

int
agent_step_retry(agent_step_run *s, int (*fn)(agent_step_run *, sk_err *), sk_err *err)
{
	retry_arg r = { s, fn };

	return agent_retry(&s->a, one_attempt, &r, err);
}

int
agent_step_phase_checks(agent_step_run *s, sk_err *err)
{
	int rc;

	rc = agent_step_begin(s, err);
	if (rc != SK_OK)
		return rc;
	rc = agent_step_checks(
	    s, s->phase_checks, s->nphase_checks, s->phase_when, err);
	agent_tx_rollback(s->c->conn);
	return rc;
}

/* Through a pooler no session lock keeps other agents out between our
 * transactions, so each step looks at the ledger again under the lock its
 * transaction holds: a step another agent recorded meanwhile is done. */
static int
recheck_ledger(agent_step_run *s, sk_err *err)
{
	const agent_db_ctx *c = s->c;
	char hex[AGENT_LEDGER_HEX_LEN];
	bool found = false;
	int rc;

	if (!c->pooled || s->step == NULL)
		return SK_OK;
	rc = agent_ledger_lookup(c->conn, c->plan->name, s->step->id, &found, hex, err);
	if (rc != SK_OK || !found)
		return rc;
	if (strcmp(hex, c->hex[s->i]) != 0 &&
	    (c->text_hex == NULL || strcmp(hex, c->text_hex[s->i]) != 0))
		return sk_err_set(err, SK_EDRIFT,
		    "drift: another agent recorded the step meanwhile with "
		    "checksum %.16s... but the plan has %.16s...",
		    hex, c->hex[s->i]);
	s->recorded_meanwhile = true;
	return SK_OK;
}

int
agent_step_begin(agent_step_run *s, sk_err *err)
{
	int rc;

	rc = agent_tx_begin(s->c, s->a.limits, err);
	if (rc != SK_OK)
		return rc;
	rc = agent_backend_pid(s->c->conn, s->c->pooled, &s->pid, err);
	if (rc != SK_OK)
		agent_tx_rollback(s->c->conn);
	return rc;
}

int
agent_step_begin_apply(agent_step_run *s, sk_err *err)
{
	int rc;

	rc = agent_step_begin(s, err);
	if (rc == SK_OK)
		rc = recheck_ledger(s, err);
	if (rc != SK_OK)
		agent_tx_rollback(s->c->conn);
	return rc;
}

int
agent_step_checks(agent_step_run *s, const sk_check *checks, size_t n,
    const char *when, sk_err *err)
{
	agent_check_watch w = { s->a.limits, s->pid, agent_attempts_watch, &s->a };
	const char *id = s->step != NULL ? s->step->id : NULL;
	size_t failed = SIZE_MAX;
	char what[SK_NAME_MAX + 96];
	sk_check_result *res;
	int rc;

	if (s->nres + n > s->capres) {
		res = realloc(s->res, (s->nres + n) * sizeof(*res));
		if (res == NULL)
			return sk_err_set(err, SK_ENOMEM, "out of memory");
		s->res = res;
		s->capres = s->nres + n;
	}
	for (size_t k = 0; k < n; k++) {
		res = &s->res[s->nres++];
		memset(res, 0, sizeof(*res));
		rc = agent_check_eval_watched(
		    s->c->conn, &checks[k], when, &w, res, err);
		agent_db_emit_check(s->c, id, res);
		if (rc != SK_OK && s->no_retry && agent_err_is_lock_timeout(err)) {
			snprintf(what, sizeof(what),
			    "check %s (%s): lock timeout after %" PRId64 " ms",
			    res->name, res->when, s->a.limits->lock_timeout_ms);
			agent_attempts_lock_error(&s->a, what, err);
			return err->code;
		}
		/* Its query failed: the value seen names the error. */
		if (rc != SK_OK)
			return rc;
		if (!res->passed && failed == SIZE_MAX)
			failed = s->nres - 1;
	}
	if (failed != SIZE_MAX)
		return agent_check_fail(err, &s->res[failed]);
	return SK_OK;
}

int
agent_step_sql(agent_step_run *s, const char *sql, sk_err *err)
{
	PGresult *res = NULL;
	int64_t rows = -1;
	char what[96];
	int rc;

	rc = agent_attempts_sql(&s->a, s->c->conn, NULL, sql != NULL ? sql : "",
	    s->pid, &res, &rows, err);
	PQclear(res);
	if (rc == SK_OK && rows >= 0)
		s->rows = (s->rows < 0 ? 0 : s->rows) + rows;
	if (rc != SK_OK && s->no_retry && agent_err_is_lock_timeout(err)) {
		snprintf(what, sizeof(what), "lock timeout after %" PRId64 " ms",
		    s->a.limits->lock_timeout_ms);
		agent_attempts_lock_error(&s->a, what, err);
		rc = err->code;
	}
	return rc;
}

void
agent_step_note(agent_step_run *s, const char *what, const char *arg)
{
	size_t used = strlen(s->note);
	char line[sizeof(s->note)];

	/* A retry that does the same again says it once. */
	snprintf(line, sizeof(line), "%s%s", what, arg);
	if (strstr(s->note, line) != NULL)
		return;
	if (used < sizeof(s->note))
		snprintf(s->note + used, sizeof(s->note) - used, "%s%s%s",
		    used > 0 ? "; " : "", what, arg);
}

int
agent_step_record(agent_step_run *s, bool transactional, sk_err *err)
{
	const agent_db_ctx *c = s->c;
	const agent_attempts *a = &s->a;
	char blockers[512];
	agent_ledger_step row;
	int rc;

	agent_blockers_format(a->blockers, a->nblockers, blockers, sizeof(blockers));
	memset(&row, 0, sizeof(row));
	row.plan_name = c->plan->name;
	row.step_id = s->step->id;
	row.checksum_hex = c->hex[s->i];
	row.plan_id = c->plan->id;
	row.rollout_id = c->rollout_id;
	row.region = c->region;
	row.kind = sk_step_kind_name(s->step->kind);
	row.transactional = transactional;
	row.started_ms = s->started_ms;
	row.finished_ms = sk_now_ms();
	row.rows = s->rows;
	row.attempts = a->attempt;
	row.lock_waits = a->lock_waits;
	row.lock_wait_ms = a->lock_wait_ms;
	row.blockers = blockers[0] != '\0' ? blockers : NULL;
	rc = agent_ledger_record_step(c->conn, &row, err);
	for (size_t k = 0; rc == SK_OK && k < s->nres; k++)
		rc = agent_db_record_check(c, s->step->id, "apply", &s->res[k], err);
	return rc;
}

int
agent_step_commit(agent_step_run *s, sk_err *err)
{
	return sk_pg_exec(s->c->conn, "commit", "COMMIT", NULL, err);
}

int
agent_step_record_revert(agent_step_run *s, int64_t duration_ms, sk_err *err)
{
	const agent_db_ctx *c = s->c;
	bool own = PQtransactionStatus(c->conn) == PQTRANS_IDLE;
	int rc;

	if (own) {
		rc = agent_tx_begin(c, NULL, err);
		if (rc != SK_OK)
			return rc;
	}
	rc = agent_ledger_revert_step(c->conn, c->plan->name, s->step->id,
	    c->rollout_id, c->region, duration_ms, err);
	if (rc == SK_OK && own)
		rc = agent_step_commit(s, err);
	if (rc != SK_OK && own)
		agent_tx_rollback(c->conn);
	return rc;
}

int
agent_step_apply_with(agent_step_run *s,
    int (*work)(agent_step_run *s, void *arg, sk_err *err), void *arg, sk_err *err)
{
	return agent_step_apply_checked(s, work, arg, true, err);
}

int
agent_step_apply_checked(agent_step_run *s,
    int (*work)(agent_step_run *s, void *arg, sk_err *err), void *arg,
    bool checks, sk_err *err)
{
	const sk_step *step = s->step;
	PGconn *conn = s->c->conn;
	int rc;

	rc = agent_step_begin_apply(s, err);
	if (rc != SK_OK)
		return rc;
	if (s->recorded_meanwhile) {
		agent_tx_rollback(conn);
		return SK_OK;
	}
	rc = checks ? agent_step_checks(s, step->pre, step->npre, "pre", err) : SK_OK;
	if (rc == SK_OK && work != NULL)
		rc = work(s, arg, err);
	if (rc == SK_OK && checks)
		rc = agent_step_checks(s, step->post, step->npost, "post", err);
	if (rc == SK_OK)
		rc = agent_step_record(s, true, err);
	if (rc == SK_OK)
		rc = agent_step_commit(s, err);
	if (rc != SK_OK)
		agent_tx_rollback(conn);
	return rc;
}

int
agent_step_revert_with(agent_step_run *s,
    int (*also)(agent_step_run *s, void *arg, sk_err *err), void *arg, sk_err *err)
{
	PGconn *conn = s->c->conn;
	int64_t t0;
	int rc;

	rc = agent_step_begin(s, err);
	if (rc != SK_OK)
		return rc;
	t0 = sk_mono_ms();
	if (s->step->revert != NULL)
		rc = agent_step_sql(s, s->step->revert, err);
	if (rc == SK_OK && PQtransactionStatus(conn) != PQTRANS_INTRANS)
		rc = sk_err_set(
		    err, SK_ESTATE, "the revert script ended its transaction");
	if (rc == SK_OK && also != NULL)
		rc = also(s, arg, err);
	if (rc == SK_OK)
		rc = agent_step_record_revert(s, sk_mono_ms() - t0, err);
	if (rc == SK_OK)
		rc = agent_step_commit(s, err);
	if (rc != SK_OK)
		agent_tx_rollback(conn);
	return rc;
}

void
agent_step_emit(agent_step_run *s, int event, int64_t duration_ms,
    const char *detail, const sk_err *err)
{
	const agent_attempts *a = &s->a;
	sk_report r;

	agent_report_init(&r, event, s->step != NULL ? s->step->id : NULL, a->attempt);
	r.duration_ms = duration_ms;
	r.rows = s->rows < 0 ? 0 : s->rows;
	r.lock_waits = a->lock_waits;
	r.lock_wait_ms = a->lock_wait_ms;
	if (event == SK_EV_STEP_FAILED || event == SK_EV_STEP_FINISHED ||
	    event == SK_EV_STEP_REVERTED) {
		r.nblockers = a->nblockers;
		memcpy(r.blockers, a->blockers, a->nblockers * sizeof(*a->blockers));
	}
	r.rows_scanned = s->rows_scanned;
	r.batch = s->batches;
	r.rows_total = s->rows_total;
	r.throttled_ms = s->throttled_ms;
	snprintf(r.throttled_by, sizeof(r.throttled_by), "%s", s->throttled_by);
	if (s->move != NULL) { /* moves */
		r.has_move = true;
		r.move = *s->move;
	}
	if (detail == NULL && s->note[0] != '\0')
		detail = s->note;
	if (detail != NULL)
		snprintf(r.detail, sizeof(r.detail), "%s", detail);
	if (err != NULL)
		r.error = *err;
	agent_db_send(s->c, &r);
}

int
agent_step_refuse_tx_control(const char *sql, const char *what, sk_err *err)
{
	sk_sql_script *script = NULL;
	int rc;

	if (sql == NULL)
		return SK_OK;
	rc = sk_sql_parse(sql, what, &script, err);
	if (rc != SK_OK)
		return rc;
	for (size_t k = 0; rc == SK_OK && k < script->nstmts; k++) {
		const sk_sql_stmt *st = &script->stmts[k];

		for (size_t o = 0; o < st->nops; o++) {
			if (st->ops[o].kind != SK_SQL_TX_CONTROL)
				continue;
			rc = sk_err_set(err, SK_EINVAL,
			    "%s:%d: %s would end or split skein's transaction",
			    what, st->line,
			    st->ops[o].what != NULL ? st->ops[o].what :
						      "transaction control");
			snprintf(err->hint, sizeof(err->hint),
			    "remove transaction control from the script; a step "
			    "that must run outside a transaction says "
			    "transaction: false");
			break;
		}
	}
	sk_sql_script_destroy(script);
	return rc;
}

void
agent_step_scripts_checks(const sk_check *checks, size_t n,
    void (*fn)(void *arg, const char *sql, const char *what), void *arg)
{
	char what[SK_NAME_MAX + 16];

	for (size_t k = 0; k < n; k++) {
		snprintf(what, sizeof(what), "check %s",
		    checks[k].name != NULL ? checks[k].name : "-");
		fn(arg, checks[k].sql, what);
	}
}

int
agent_step_pre_checks_alone(agent_step_run *s, sk_err *err)
{
	int rc;

	if (s->step->npre == 0)
		return SK_OK;
	rc = agent_step_begin(s, err);
	if (rc != SK_OK)
		return rc;
	rc = agent_step_checks(s, s->step->pre, s->step->npre, "pre", err);
	agent_tx_rollback(s->c->conn);
	return rc;
}

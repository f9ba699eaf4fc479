/* agent_modes: the machinery the two ways a rollout runs in a database
 * besides applying the plan have in common — rehearsal (agent_rehearse.c)
 * and rollback (agent_rollback.c): reporting through the context's emit
 * callback, running a statement while a second connection watches who
 * blocks it, checks and verify scripts, and refusing transaction control.
 * docs/safety.md ("Rehearsal and rollback") is the operator's view.
 */
#include "agent_modes_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_check.h"
#include "agent_locks.h"
#include "agent_stmt.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_sql.h"
#include "sk_util.h"

bool
mode_stopped(const agent_db_ctx *c)
{
	return agent_stop_set(c->stop);
}

bool
mode_sleep_or_stop(const agent_db_ctx *c, int64_t ms)
{
	return agent_sleep_or_stop(c->stop, ms);
}

void
mode_init(mode_run *m, const agent_db_ctx *c)
{
	memset(m, 0, sizeof(*m));
	m->c = c;
	m->rng = (uint64_t)sk_now_us() | 1;
	snprintf(m->appname, sizeof(m->appname), "skein-agent/%s/monitor",
	    c->region != NULL ? c->region : "-");
}

void
mode_fini(mode_run *m)
{
	PQfinish(m->monitor);
	m->monitor = NULL;
}

int
mode_check_ctx(const agent_db_ctx *c, const char *verb, sk_err *err)
{
	if (c == NULL || c->conn == NULL || c->plan == NULL ||
	    c->plan->name == NULL || c->region == NULL || c->database == NULL ||
	    (c->plan->nsteps > 0 && c->hex == NULL))
		return sk_err_set(err, SK_EINVAL, "%s plan: incomplete context", verb);
	for (size_t i = 0; i < c->plan->nsteps; i++)
		if (c->plan->steps[i].id == NULL)
			return sk_err_set(err, SK_EINVAL,
			    "%s plan %s: step %zu has no id", verb,
			    c->plan->name, i + 1);
	if (PQtransactionStatus(c->conn) != PQTRANS_IDLE)
		return sk_err_set(err, SK_ESTATE,
		    "%s plan %s in %s/%s: the session is inside a transaction",
		    verb, c->plan->name, c->region, c->database);
	return SK_OK;
}

void
agent_report_init(sk_report *r, int event, const char *step_id, uint32_t attempt)
{
	memset(r, 0, sizeof(*r));
	r->event = event;
	snprintf(r->step_id, sizeof(r->step_id), "%s", step_id != NULL ? step_id : "");
	r->attempt = attempt;
	sk_err_clear(&r->error);
}

void
agent_report_check(sk_report *r, const char *step_id,
    const sk_check_result *res, const sk_phase *phase)
{
	agent_report_init(r, SK_EV_CHECK, step_id, 0);
	r->has_check = true;
	r->check = *res;
	/* A check of no step (preflight, phase) says where it belongs. */
	if (phase != NULL && phase->name != NULL)
		snprintf(r->detail, sizeof(r->detail), "%s", phase->name);
}

static void
send_report(const mode_run *m, sk_report *r)
{
	if (m->c->emit != NULL)
		m->c->emit(m->c->emit_arg, r);
}

void
mode_emit(const mode_run *m, int event, const char *step_id, uint32_t attempt,
    int64_t duration_ms, int64_t rows, const char *detail, const sk_err *err)
{
	sk_report r;

	agent_report_init(&r, event, step_id, attempt);
	r.duration_ms = duration_ms;
	r.rows = rows < 0 ? 0 : rows;
	r.lock_waits = m->lock_waits;
	r.lock_wait_ms = m->lock_wait_ms;
	if (event == SK_EV_STEP_FAILED || event == SK_EV_STEP_REVERTED) {
		r.nblockers = m->nblockers;
		memcpy(r.blockers, m->blockers, m->nblockers * sizeof(*m->blockers));
	}
	if (detail != NULL)
		snprintf(r.detail, sizeof(r.detail), "%s", detail);
	if (err != NULL)
		r.error = *err;
	send_report(m, &r);
}

void
mode_emit_check(const mode_run *m, const char *step_id, const sk_check_result *res)
{
	sk_report r;

	agent_report_check(&r, step_id, res, m->c->phase);
	send_report(m, &r);
}

void
mode_emit_lock_wait(const mode_run *m, const char *detail, const sk_err *err)
{
	sk_report r;

	agent_report_init(&r, SK_EV_LOCK_WAIT, m->step != NULL ? m->step->id : NULL,
	    m->step != NULL ? m->attempt : 0);
	r.nblockers = m->nblockers;
	memcpy(r.blockers, m->blockers, m->nblockers * sizeof(*m->blockers));
	r.lock_waits = m->lock_waits;
	r.lock_wait_ms = m->lock_wait_ms;
	if (detail != NULL)
		snprintf(r.detail, sizeof(r.detail), "%s", detail);
	else
		agent_blockers_format(
		    m->blockers, m->nblockers, r.detail, sizeof(r.detail));
	if (err != NULL)
		r.error = *err;
	send_report(m, &r);
}

/* Ask the monitor who blocks pid and report it when someone does. */
static void
watch(void *arg, int pid)
{
	mode_run *m = arg;
	const agent_db_ctx *c = m->c;
	sk_blocker list[SK_BLOCKERS_MAX];
	size_t n = 0;
	sk_err err;
	int rc;

	if (pid <= 0 || m->monitor_failed || c->conninfo == NULL)
		return;
	if (m->monitor == NULL) {
		if (c->pooled)
			rc = sk_pg_connect_pooled(
			    c->conninfo, m->appname, &m->monitor, &err);
		else
			rc = sk_pg_connect(c->conninfo, m->appname, &m->monitor, &err);
		if (rc != SK_OK) {
			sk_debug("watch step %s in %s/%s: %s",
			    m->step != NULL ? m->step->id : "-", c->region,
			    c->database, err.msg);
			m->monitor_failed = true;
			return;
		}
	}
	if (agent_blockers(m->monitor, pid, list, SK_BLOCKERS_MAX, &n, &err) != SK_OK) {
		sk_debug("watch step %s in %s/%s: %s",
		    m->step != NULL ? m->step->id : "-", c->region, c->database,
		    err.msg);
		PQfinish(m->monitor);
		m->monitor = NULL;
		m->monitor_failed = true;
		return;
	}
	if (n == 0)
		return;
	memcpy(m->blockers, list, n * sizeof(*list));
	m->nblockers = n;
	mode_emit_lock_wait(m, NULL, NULL);
}

int
mode_run_watched(mode_run *m, const char *what, const char *sql, int pid,
    PGresult **out, int64_t *rows, sk_err *err)
{
	return agent_stmt_run(
	    m->c->conn, what, sql, m->step, pid, watch, m, out, rows, err);
}

void
mode_lock_error(const mode_run *m, const char *what, sk_err *err)
{
	char who[SK_ERR_MSG_MAX / 2], sqlstate[6];

	snprintf(sqlstate, sizeof(sqlstate), "%s", err->sqlstate);
	agent_blockers_format(m->blockers, m->nblockers, who, sizeof(who));
	sk_err_set(err, SK_ELOCK, "%s; %s%s", what,
	    who[0] != '\0' ? "blocked by " : "",
	    who[0] != '\0' ? who : "the blocking session was not seen");
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate);
}

int
mode_refuse_tx_control(const char *sql, const char *what, sk_err *err)
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

int
mode_eval_checks(mode_run *m, const char *step_id, const sk_check *checks,
    size_t n, const char *when, const sk_step *limits, int pid, sk_err *err)
{
	agent_check_watch w = { limits, pid, watch, m };
	sk_check_result res, first;
	bool failed = false;
	char what[SK_NAME_MAX + 96];
	int rc;

	memset(&first, 0, sizeof(first));
	for (size_t k = 0; k < n; k++) {
		memset(&res, 0, sizeof(res));
		rc = agent_check_eval_watched(
		    m->c->conn, &checks[k], when, &w, &res, err);
		mode_emit_check(m, step_id, &res);
		if (rc != SK_OK && err != NULL && agent_err_is_lock_timeout(err)) {
			snprintf(what, sizeof(what),
			    "check %s (%s): lock timeout after %" PRId64 " ms",
			    res.name, res.when,
			    limits != NULL ? limits->lock_timeout_ms : 0);
			mode_lock_error(m, what, err);
			return err->code;
		}
		if (rc != SK_OK)
			return rc;
		if (!res.passed && !failed) {
			first = res;
			failed = true;
		}
	}
	return failed ? agent_check_fail(err, &first) : SK_OK;
}

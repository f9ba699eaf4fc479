/* agent_db: the database session every part of the agent shares:
 * reports, transactions begun with skein's ledger lock when pooled, and
 * the ledger's records of checks and failures.
 */
#include "agent_db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_locks.h"
#include "agent_stmt.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_util.h"

/* Backoff while another session holds the ledger lock of a pooled
 * database (taken per transaction). */
#define XACT_LOCK_RETRY_MIN_MS 100
#define XACT_LOCK_RETRY_MAX_MS 2000

/* ---- reports ------------------------------------------------------------ */

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

void
agent_db_send(const agent_db_ctx *c, sk_report *r)
{
	if (c->emit != NULL)
		c->emit(c->emit_arg, r);
}

void
agent_db_emit(const agent_db_ctx *c, int event, const char *step_id, uint32_t attempt,
    int64_t duration_ms, int64_t rows, const char *detail, const sk_err *err)
{
	sk_report r;

	agent_report_init(&r, event, step_id, attempt);
	r.duration_ms = duration_ms;
	r.rows = rows < 0 ? 0 : rows;
	if (detail != NULL)
		snprintf(r.detail, sizeof(r.detail), "%s", detail);
	if (err != NULL)
		r.error = *err;
	agent_db_send(c, &r);
}

void
agent_db_emit_check(
    const agent_db_ctx *c, const char *step_id, const sk_check_result *res)
{
	sk_report r;

	agent_report_check(&r, step_id, res, c->phase);
	agent_db_send(c, &r);
}

bool
agent_db_stopped(const agent_db_ctx *c)
{
	return agent_stop_set(c->stop);
}

bool
agent_db_sleep_or_stop(const agent_db_ctx *c, int64_t ms)
{
	return agent_sleep_or_stop(c->stop, ms);
}

/* How often a paused database looks whether it may go on (and whether
 * it must stop). */
#define PAUSE_SLICE_MS 200

/* stopline: true while the coordinator has been silent past the
 * dead-man limit. */
static bool
dead_man_silent(const agent_db_ctx *c)
{
	int64_t dead = agent_control_dead_man(c->control);

	return dead > 0 && agent_control_silence_ms(c->control) > dead;
}

/* stopline: hold before step_id while the coordinator is silent past
 * the dead-man limit; once it is heard again, report how long
 * (SK_EV_DEAD_MAN). SK_ESTATE when stopped meanwhile. */
static int
hold_dead_man(const agent_db_ctx *c, const char *verb, const char *step_id, sk_err *err)
{
	int64_t t0 = sk_mono_ms(), silent;
	char detail[160];

	if (!dead_man_silent(c))
		return SK_OK;
	silent = agent_control_silence_ms(c->control);
	sk_warn("%s %s/%s: the coordinator has been silent for %" PRId64
		" s (dead_man %" PRId64 " s): holding before step %s",
	    verb, c->region, c->database, silent / 1000,
	    agent_control_dead_man(c->control) / 1000, step_id);
	while (dead_man_silent(c) && !agent_control_aborted(c->control)) {
		if (agent_db_sleep_or_stop(c, PAUSE_SLICE_MS))
			return sk_err_set(err, SK_ESTATE,
			    "%s plan %s in %s/%s: stopped in a dead-man pause "
			    "before step %s",
			    verb, c->plan->name, c->region, c->database, step_id);
	}
	/* The step goes in the detail, not step_id: it has not started, and
	 * the coordinator's progress reads step_id as the database's step. */
	snprintf(detail, sizeof(detail),
	    "before step %s (silent %" PRId64 " s when it began)", step_id,
	    silent / 1000);
	sk_info("%s %s/%s: heard the coordinator again after a dead-man pause "
		"of %" PRId64 " ms before step %s",
	    verb, c->region, c->database, sk_mono_ms() - t0, step_id);
	agent_db_emit(c, SK_EV_DEAD_MAN, NULL, 0, sk_mono_ms() - t0, 0, detail, NULL);
	return SK_OK;
}

int
agent_db_hold_while_paused(
    const agent_db_ctx *c, const char *verb, const char *step_id, sk_err *err)
{
	char detail[SK_NAME_MAX + 64];
	int64_t t0 = sk_mono_ms();

	if (hold_dead_man(c, verb, step_id, err) != SK_OK)
		return err->code;
	if (agent_control_aborted(c->control))
		return sk_err_set(err, SK_EREFUSED,
		    "%s plan %s in %s/%s: aborted by the operator before step %s",
		    verb, c->plan->name, c->region, c->database, step_id);
	if (!agent_control_paused(c->control))
		return SK_OK;
	snprintf(detail, sizeof(detail),
	    "paused by the operator before step %s", step_id);
	sk_info("%s %s/%s: %s", verb, c->region, c->database, detail);
	agent_db_emit(c, SK_EV_DB_WAITING, NULL, 0, 0, 0, detail, NULL);
	while (agent_control_paused(c->control) && !agent_control_aborted(c->control)) {
		if (agent_db_sleep_or_stop(c, PAUSE_SLICE_MS))
			return sk_err_set(err, SK_ESTATE,
			    "%s plan %s in %s/%s: stopped while paused before "
			    "step %s",
			    verb, c->plan->name, c->region, c->database, step_id);
	}
	if (agent_control_aborted(c->control)) /* stopline */
		return sk_err_set(err, SK_EREFUSED,
		    "%s plan %s in %s/%s: aborted by the operator while paused "
		    "before step %s",
		    verb, c->plan->name, c->region, c->database, step_id);
	snprintf(detail, sizeof(detail),
	    "resumed by the operator before step %s", step_id);
	sk_info("%s %s/%s: %s", verb, c->region, c->database, detail);
	agent_db_emit(c, SK_EV_DB_STARTED, NULL, 0, sk_mono_ms() - t0, 0, detail, NULL);
	return SK_OK;
}

/* ---- the context ------------------------------------------------------ */

int
agent_db_ctx_check(const agent_db_ctx *c, const char *verb, sk_err *err)
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

/* ---- transactions ------------------------------------------------------- */

void
agent_tx_rollback(PGconn *conn)
{
	sk_pg_rollback(conn);
}

int
agent_tx_begin(const agent_db_ctx *c, const sk_step *step, sk_err *err)
{
	char key_text[24];
	const char *key[1] = { key_text };
	int64_t delay = XACT_LOCK_RETRY_MIN_MS;
	uint64_t rng = (uint64_t)sk_now_us() | 1;
	uint32_t tries = 0;
	PGresult *res = NULL;
	sk_report r;
	bool got;
	int rc;

	snprintf(key_text, sizeof(key_text), "%" PRId64, AGENT_LEDGER_LOCK_KEY);
	for (;;) {
		rc = sk_pg_exec(c->conn, "begin transaction", "BEGIN", NULL, err);
		if (rc != SK_OK)
			return rc;
		if (!c->pooled)
			break;
		/* Through a transaction pooler the session lock would stay
		 * with a server connection other clients then use; the
		 * transaction's own lock goes away with it. */
		rc = sk_pg_execp(c->conn, "take ledger lock",
		    "SELECT pg_catalog.pg_try_advisory_xact_lock($1::bigint)",
		    1, key, &res, err);
		if (rc != SK_OK)
			goto fail;
		got = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		res = NULL;
		if (got) {
			rc = sk_pg_exec(c->conn, "set search_path",
			    "SET LOCAL search_path = public", NULL, err);
			if (rc != SK_OK)
				goto fail;
			break;
		}
		agent_tx_rollback(c->conn);
		if (c->emit != NULL) {
			memset(&r, 0, sizeof(r));
			r.event = SK_EV_DB_WAITING;
			r.attempt = ++tries;
			snprintf(r.detail, sizeof(r.detail),
			    "ledger lock held by another session");
			c->emit(c->emit_arg, &r);
		}
		if (agent_sleep_or_stop(c->stop,
			agent_backoff(&rng, &delay, XACT_LOCK_RETRY_MAX_MS)))
			return sk_err_set(err, SK_ESTATE,
			    "begin transaction in %s/%s: stopped while the ledger "
			    "lock was held by another session",
			    c->region, c->database);
	}
	if (step != NULL) {
		rc = agent_set_local_timeouts(c->conn, step->lock_timeout_ms,
		    step->statement_timeout_ms, err);
		if (rc != SK_OK)
			goto fail;
	}
	return SK_OK;
fail:
	PQclear(res);
	agent_tx_rollback(c->conn);
	return rc;
}

/* ---- the ledger's records ---------------------------------------------- */

int
agent_db_record_check(const agent_db_ctx *c, const char *step_id,
    const char *mode, const sk_check_result *res, sk_err *err)
{
	agent_ledger_check rec;

	memset(&rec, 0, sizeof(rec));
	rec.plan_name = c->plan->name;
	rec.plan_id = c->plan->id;
	rec.rollout_id = c->rollout_id;
	rec.region = c->region;
	rec.phase = c->phase != NULL ? c->phase->name : NULL;
	rec.step_id = step_id;
	rec.result = res;
	rec.database = c->database;
	rec.mode = mode;
	return agent_ledger_record_check(c->conn, &rec, err);
}

void
agent_db_record_checks_after(const agent_db_ctx *c, const char *step_id,
    const sk_check_result *res, size_t n)
{
	sk_err err;

	if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		sk_err_clear(&err);
		if (agent_db_record_check(c, step_id, "apply", &res[i], &err) != SK_OK) {
			sk_warn("record check %s in %s/%s: %s", res[i].name,
			    c->region, c->database, err.msg);
			return;
		}
	}
}

void
agent_db_record_event(const agent_db_ctx *c, const char *event,
    const char *step_id, const sk_err *cause)
{
	agent_ledger_event ev;
	sk_err err;

	if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.plan_name = c->plan->name;
	ev.plan_id = c->plan->id;
	ev.rollout_id = c->rollout_id;
	ev.region = c->region;
	ev.step_id = step_id;
	ev.event = event;
	ev.sqlstate = cause->sqlstate;
	ev.message = cause->msg;
	ev.detail = cause->detail;
	sk_err_clear(&err);
	if (agent_ledger_record_event(c->conn, &ev, &err) != SK_OK)
		sk_warn("record %s event for step %s in %s/%s: %s", event,
		    step_id != NULL ? step_id : "-", c->region, c->database, err.msg);
}

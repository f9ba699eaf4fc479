/* agent_modes: the machinery the two ways a rollout runs in a database
 * besides applying the plan have in common — rehearsal (agent_rehearse.c)
 * and rollback (agent_rollback.c): reporting through the context's emit
 * callback, running a statement while a second connection watches who
 * blocks it, checks and verify scripts, and refusing transaction control.
 * docs/safety.md ("Rehearsal and rollback") is the operator's view.
 */
#include "agent_modes_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_check.h"
#include "agent_locks.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_sql.h"
#include "sk_util.h"

/* The first look at a waiting statement, and how often after that. */
#define WATCH_FIRST_MS 200
#define WATCH_EVERY_MS 1000
/* How often a sleeping database looks at *stop. */
#define STOP_POLL_MS 50

bool
mode_stopped(const agent_db_ctx *c)
{
	return c->stop != NULL && atomic_load(c->stop) != 0;
}

bool
mode_sleep_or_stop(const agent_db_ctx *c, int64_t ms)
{
	int64_t until = sk_mono_ms() + ms, left;

	while (!mode_stopped(c)) {
		left = until - sk_mono_ms();
		if (left <= 0)
			return false;
		sk_sleep_ms(left < STOP_POLL_MS ? left : STOP_POLL_MS);
	}
	return true;
}

int64_t
mode_backoff(uint64_t *rng, int64_t *delay, int64_t cap)
{
	int64_t cur = *delay > 0 ? *delay : 1, half = cur / 2;
	uint64_t x = *rng != 0 ? *rng : 0x9e3779b97f4a7c15u;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*rng = x;
	*delay = cur >= cap / 2 ? cap : cur * 2;
	return half + (int64_t)(x % (uint64_t)(cur - half + 1));
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

static void
report_init(sk_report *r, int event, const char *step_id, uint32_t attempt)
{
	memset(r, 0, sizeof(*r));
	r->event = event;
	snprintf(r->step_id, sizeof(r->step_id), "%s", step_id != NULL ? step_id : "");
	r->attempt = attempt;
	sk_err_clear(&r->error);
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

	report_init(&r, event, step_id, attempt);
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
	const sk_phase *ph = m->c->phase;
	sk_report r;

	report_init(&r, SK_EV_CHECK, step_id, 0);
	r.has_check = true;
	r.check = *res;
	/* As the apply walk does: a check of no step says its phase. */
	if (ph != NULL && ph->name != NULL)
		snprintf(r.detail, sizeof(r.detail), "%s", ph->name);
	send_report(m, &r);
}

void
mode_emit_lock_wait(const mode_run *m, const char *detail, const sk_err *err)
{
	sk_report r;

	report_init(&r, SK_EV_LOCK_WAIT, m->step->id, m->attempt);
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

int64_t
mode_rows(PGresult *res)
{
	const char *s = res != NULL ? PQcmdTuples(res) : "";
	char *end;
	long long n;

	if (s[0] == '\0')
		return -1;
	n = strtoll(s, &end, 10);
	return *end == '\0' && n >= 0 ? (int64_t)n : -1;
}

int
mode_backend_pid(const agent_db_ctx *c, int *pid, sk_err *err)
{
	PGresult *res = NULL;
	int rc;

	if (!c->pooled) {
		*pid = PQbackendPID(c->conn);
		return SK_OK;
	}
	rc = sk_pg_exec(c->conn, "find backend pid",
	    "SELECT pg_catalog.pg_backend_pid()", &res, err);
	if (rc != SK_OK)
		return rc;
	*pid = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	return SK_OK;
}

/* The first look comes before lock_timeout fires, so that even a short
 * timeout gets its blocker named: once the statement has failed, nobody
 * waits for the lock any more and pg_blocking_pids has nothing to say. */
static int64_t
first_watch_ms(const sk_step *step)
{
	int64_t ms = WATCH_FIRST_MS;

	if (step != NULL && step->lock_timeout_ms > 0 && step->lock_timeout_ms / 2 < ms)
		ms = step->lock_timeout_ms / 2;
	return ms < 20 ? 20 : ms;
}

/* Ask the monitor who blocks pid and report it when someone does. */
static void
watch(mode_run *m, int pid)
{
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
			sk_debug("watch step %s in %s/%s: %s", m->step->id,
			    c->region, c->database, err.msg);
			m->monitor_failed = true;
			return;
		}
	}
	if (agent_blockers(m->monitor, pid, list, SK_BLOCKERS_MAX, &n, &err) != SK_OK) {
		sk_debug("watch step %s in %s/%s: %s", m->step->id, c->region,
		    c->database, err.msg);
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

/* Leave a connection stuck in COPY usable again: plan SQL has no client
 * side to feed or drain it. */
static void
abandon_copy(PGconn *conn, PGresult *res)
{
	char *buf;

	if (PQresultStatus(res) == PGRES_COPY_IN)
		(void)PQputCopyEnd(
		    conn, "COPY FROM STDIN is not supported in a skein step");
	else if (PQresultStatus(res) == PGRES_COPY_OUT)
		while (PQgetCopyData(conn, &buf, 0) > 0)
			PQfreemem(buf);
}

int
mode_run_watched(mode_run *m, const char *what, const char *sql, int pid,
    PGresult **out, sk_err *err)
{
	PGconn *conn = m->c->conn;
	PGresult *res, *last = NULL;
	struct pollfd pfd;
	bool copy = false;
	int64_t next = sk_mono_ms() + first_watch_ms(m->step), now;
	int rc = SK_OK;

	*out = NULL;
	if (!PQsendQuery(conn, sql))
		return sk_pg_error(err, conn, NULL, what);
	for (;;) {
		if (!PQconsumeInput(conn)) {
			rc = sk_pg_error(err, conn, NULL, what);
			goto out;
		}
		while (!PQisBusy(conn)) {
			res = PQgetResult(conn);
			if (res == NULL)
				goto done;
			switch (PQresultStatus(res)) {
			case PGRES_COPY_IN:
			case PGRES_COPY_OUT:
			case PGRES_COPY_BOTH:
				abandon_copy(conn, res);
				copy = true;
				PQclear(res);
				continue;
			default:
				break;
			}
			/* The server runs nothing after an error; keep it. */
			if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR) {
				PQclear(res);
				continue;
			}
			PQclear(last);
			last = res;
		}
		now = sk_mono_ms();
		if (now >= next) {
			watch(m, pid);
			next = sk_mono_ms() + WATCH_EVERY_MS;
			continue;
		}
		pfd.fd = PQsocket(conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0) {
			rc = sk_pg_error(err, conn, NULL, what);
			goto out;
		}
		if (poll(&pfd, 1, (int)(next - now)) < 0 && errno != EINTR) {
			rc = sk_err_errno(err, SK_ECONN, errno, "%s: wait for the server",
			    what != NULL ? what : "run SQL");
			goto out;
		}
	}
done:
	if (last == NULL || PQresultStatus(last) == PGRES_COMMAND_OK ||
	    PQresultStatus(last) == PGRES_TUPLES_OK ||
	    PQresultStatus(last) == PGRES_EMPTY_QUERY) {
		if (copy) {
			rc = sk_err_set(err, SK_ESQL,
			    "%s: COPY to or from the client is not supported",
			    what != NULL ? what : "run SQL");
			goto out;
		}
		*out = last;
		return SK_OK;
	}
	rc = sk_pg_error(err, conn, last, what);
out:
	PQclear(last);
	return rc;
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
    size_t n, const char *when, sk_err *err)
{
	sk_check_result res, first;
	bool failed = false;
	int rc;

	memset(&first, 0, sizeof(first));
	for (size_t k = 0; k < n; k++) {
		memset(&res, 0, sizeof(res));
		rc = agent_check_eval(m->c->conn, &checks[k], when, &res, err);
		mode_emit_check(m, step_id, &res);
		if (rc != SK_OK)
			return rc;
		if (!res.passed && !failed) {
			first = res;
			failed = true;
		}
	}
	return failed ? agent_check_fail(err, &first) : SK_OK;
}

int
mode_verify(const mode_run *m, const sk_step *step, sk_err *err)
{
	const char *name = step->verify_path != NULL ? step->verify_path : "script";
	PGresult *res = NULL;
	char what[SK_NAME_MAX + 64];
	int rc;

	snprintf(what, sizeof(what), "verify %s", name);
	rc = sk_pg_exec(m->c->conn, what, step->verify, &res, err);
	if (rc != SK_OK)
		return rc;
	for (int i = 0; i < PQntuples(res); i++) {
		if (PQnfields(res) < 1 || PQgetisnull(res, i, 0) ||
		    strcmp(PQgetvalue(res, i, 0), "t") != 0) {
			rc = sk_err_set(err, SK_ESTATE,
			    "verify %s returned false in row %d (%s = %.64s)", name,
			    i + 1, PQnfields(res) < 1 ? "?" : PQfname(res, 0),
			    PQnfields(res) < 1         ? "no columns" :
				PQgetisnull(res, i, 0) ? "NULL" :
							 PQgetvalue(res, i, 0));
			break;
		}
	}
	PQclear(res);
	return rc;
}

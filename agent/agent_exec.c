/* agent_exec: runs a plan's steps against each managed database, one
 * thread and one connection per database, with the ledger deciding what
 * still has to run.
 *
 * Recovery is by reconnecting and re-reading the ledger, never by
 * remembering: when a connection is lost the server rolls back the open
 * transaction, so a transactional step either committed together with its
 * ledger row or left no trace. A non-transactional step that was
 * interrupted (its SQL ran, its ledger row was not yet written) is run
 * again, which is why such steps must be idempotent (CREATE INDEX
 * CONCURRENTLY IF NOT EXISTS, ...). A failing verify script fails its step
 * with SK_ESTATE; a failing statement with SK_ESQL and its SQLSTATE.
 *
 * When *stop is set, a database waiting for its server or for the ledger
 * lock gives up at once and a database applying steps stops before its
 * next step (the running one is finished). Such a database emits no
 * DB_FAILED: the plan resumes from the ledger when it runs again.
 */
#include "agent_exec.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_ledger.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_util.h"

#define DEFAULT_RETRY_MIN_MS 500
#define DEFAULT_RETRY_MAX_MS 10000
/* How often a sleeping database looks at *stop. */
#define STOP_POLL_MS 50

typedef struct exec_run exec_run;

/* One database's run: owned by the worker thread handling it. */
typedef struct db_run {
	exec_run *run;
	const sk_db_config *db;
	PGconn *conn;
	bool *recorded;     /* per step: in the ledger with our checksum */
	uint32_t *attempts; /* per step: times started in this run */
	uint64_t rng;
	uint32_t conn_attempt; /* connection attempts so far */
	int64_t delay_ms;      /* next connection backoff */
	bool stopped;
	/* A step cut off by a lost connection, recorded in the ledger's
	 * events once we are connected again. */
	bool interrupted;
	char interrupted_step[SK_NAME_MAX];
	sk_err interrupted_err;
	int rc;
	sk_err err;
} db_run;

/* What every worker shares. Only `next` changes, under mu. */
struct exec_run {
	const sk_plan *plan;
	const agent_exec_opts *opts;
	int64_t retry_min_ms;
	int64_t retry_max_ms;
	char appname[SK_NAME_MAX + 16];
	char lock_key[24];
	char lock_classid[16];
	char lock_objid[16];
	char (*hex)[AGENT_LEDGER_HEX_LEN]; /* per step */
	db_run *dbs;
	pthread_mutex_t mu;
	size_t next;
};

/* ---- small helpers ------------------------------------------------------ */

static bool
stop_requested(const exec_run *run)
{
	return run->opts->stop != NULL && atomic_load(run->opts->stop) != 0;
}

/* Sleep ms in short slices; returns true if *stop was set meanwhile. */
static bool
sleep_or_stop(const exec_run *run, int64_t ms)
{
	int64_t until = sk_mono_ms() + ms;
	int64_t left;

	while (!stop_requested(run)) {
		left = until - sk_mono_ms();
		if (left <= 0)
			return false;
		sk_sleep_ms(left < STOP_POLL_MS ? left : STOP_POLL_MS);
	}
	return true;
}

/* xorshift64: jitter only needs to keep agents from retrying in step. */
static uint64_t
next_random(db_run *d)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return d->rng;
}

/* A delay between half and all of *delay, then double *delay up to the
 * cap: exponential backoff with jitter. */
static int64_t
backoff(db_run *d, int64_t *delay)
{
	int64_t cur = *delay, half = cur / 2;
	int64_t ms = half + (int64_t)(next_random(d) % (uint64_t)(cur - half + 1));

	*delay = cur >= d->run->retry_max_ms / 2 ? d->run->retry_max_ms : cur * 2;
	return ms;
}

static void
emit(db_run *d, int event, const char *step_id, uint32_t attempt,
    int64_t duration_ms, int64_t rows, const char *detail, const sk_err *err)
{
	const agent_exec_opts *o = d->run->opts;
	sk_report r;

	if (o->report == NULL)
		return;
	memset(&r, 0, sizeof(r));
	r.event = event;
	snprintf(r.rollout_id, sizeof(r.rollout_id), "%s",
	    o->rollout_id != NULL ? o->rollout_id : "");
	snprintf(r.plan_id, sizeof(r.plan_id), "%s",
	    d->run->plan->id != NULL ? d->run->plan->id : "");
	snprintf(r.database, sizeof(r.database), "%s", d->db->name);
	snprintf(r.step_id, sizeof(r.step_id), "%s", step_id != NULL ? step_id : "");
	r.at_ms = sk_now_ms();
	r.duration_ms = duration_ms;
	r.rows = rows;
	r.attempt = attempt;
	if (detail != NULL)
		snprintf(r.detail, sizeof(r.detail), "%s", detail);
	if (err != NULL)
		r.error = *err;
	else
		sk_err_clear(&r.error);
	o->report(o->report_arg, &r);
}

/* PQcmdTuples when it is a number, else -1. */
static int64_t
result_rows(PGresult *res)
{
	const char *s = res != NULL ? PQcmdTuples(res) : "";
	char *end;
	long long n;

	if (s[0] == '\0')
		return -1;
	n = strtoll(s, &end, 10);
	return *end == '\0' && n >= 0 ? (int64_t)n : -1;
}

static void
disconnect(db_run *d)
{
	PQfinish(d->conn);
	d->conn = NULL;
}

/* Best-effort ROLLBACK of whatever transaction is open. */
static void
abort_tx(PGconn *conn)
{
	PGresult *res;

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK ||
	    PQtransactionStatus(conn) == PQTRANS_IDLE)
		return;
	res = PQexec(conn, "ROLLBACK");
	PQclear(res);
}

/* Record an event in the ledger; a failure to do so is logged, not
 * returned, because the error being recorded matters more. */
static void
record_event(db_run *d, const char *event, const char *step_id, const sk_err *cause)
{
	const exec_run *run = d->run;
	agent_ledger_event ev;
	sk_err err;

	if (d->conn == NULL || PQstatus(d->conn) != CONNECTION_OK)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.plan_name = run->plan->name;
	ev.plan_id = run->plan->id;
	ev.rollout_id = run->opts->rollout_id;
	ev.region = run->opts->region;
	ev.step_id = step_id;
	ev.event = event;
	ev.sqlstate = cause->sqlstate;
	ev.message = cause->msg;
	ev.detail = cause->detail;
	sk_err_clear(&err);
	if (agent_ledger_record_event(d->conn, &ev, &err) != SK_OK) {
		sk_warn("record %s event for step %s in %s/%s: %s", event,
		    step_id != NULL ? step_id : "-", run->opts->region,
		    d->db->name, err.msg);
	}
}

/* ---- getting a usable session ------------------------------------------ */

/* Wait for skein's advisory lock, reporting who holds it. */
static int
take_lock(db_run *d, sk_err *err)
{
	exec_run *run = d->run;
	const char *key[1] = { run->lock_key };
	const char *who[2] = { run->lock_classid, run->lock_objid };
	int64_t delay = run->retry_min_ms;
	uint32_t tries = 0;
	PGresult *res = NULL;
	char detail[128];
	bool got;
	int rc;

	for (;;) {
		rc = sk_pg_execp(d->conn, "take ledger lock",
		    "SELECT pg_catalog.pg_try_advisory_lock($1::bigint)", 1,
		    key, &res, err);
		if (rc != SK_OK)
			return rc;
		got = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		res = NULL;
		if (got)
			return SK_OK;

		/* A bigint advisory key shows in pg_locks as its two halves
		 * with objsubid 1. */
		rc = sk_pg_execp(d->conn, "find ledger lock holder",
		    "SELECT l.pid FROM pg_catalog.pg_locks l "
		    "WHERE l.locktype = 'advisory' AND l.granted "
		    "AND l.classid = $1::oid AND l.objid = $2::oid AND l.objsubid = 1 "
		    "AND l.database = (SELECT o.oid FROM pg_catalog.pg_database o "
		    "WHERE o.datname = pg_catalog.current_database()) LIMIT 1",
		    2, who, &res, err);
		if (rc != SK_OK)
			return rc;
		if (PQntuples(res) == 1)
			snprintf(detail, sizeof(detail),
			    "ledger lock held by pid %s", PQgetvalue(res, 0, 0));
		else
			snprintf(detail, sizeof(detail),
			    "ledger lock held by another session");
		PQclear(res);
		res = NULL;
		emit(d, SK_EV_DB_WAITING, NULL, ++tries, 0, 0, detail, NULL);
		if (sleep_or_stop(run, backoff(d, &delay))) {
			d->stopped = true;
			return sk_err_set(err, SK_ESTATE,
			    "apply plan %s in %s/%s: stopped while waiting: %s",
			    run->plan->name, run->opts->region, d->db->name, detail);
		}
	}
}

/* Connect (retrying while the server is unreachable), take the lock and
 * bring the ledger up to date. On success d->conn is ready; on failure it
 * is NULL and err says why (d->stopped tells a requested stop apart). */
static int
open_session(db_run *d, sk_err *err)
{
	exec_run *run = d->run;
	char detail[64];
	int64_t ms;
	int rc;

	for (;;) {
		if (stop_requested(run)) {
			d->stopped = true;
			return sk_err_set(err, SK_ESTATE,
			    "apply plan %s in %s/%s: stopped before completion",
			    run->plan->name, run->opts->region, d->db->name);
		}
		d->conn_attempt++;
		rc = sk_pg_connect(d->db->conninfo, run->appname, &d->conn, err);
		if (rc == SK_OK)
			rc = take_lock(d, err);
		if (rc == SK_OK)
			rc = agent_ledger_ensure(d->conn, NULL, err);
		if (rc == SK_OK) {
			d->delay_ms = run->retry_min_ms;
			return SK_OK;
		}
		disconnect(d);
		if (d->stopped)
			return rc;
		sk_err_wrap(err, "apply plan %s in %s/%s", run->plan->name,
		    run->opts->region, d->db->name);
		if (!sk_pg_err_is_connection(err))
			return rc;
		ms = backoff(d, &d->delay_ms);
		snprintf(detail, sizeof(detail), "retrying in %" PRId64 " ms", ms);
		emit(d, SK_EV_DB_WAITING, NULL, d->conn_attempt, 0, 0, detail, err);
		if (sleep_or_stop(run, ms)) {
			d->stopped = true;
			return sk_err_set(err, SK_ESTATE,
			    "apply plan %s in %s/%s: stopped while waiting for the database",
			    run->plan->name, run->opts->region, d->db->name);
		}
	}
}

/* ---- steps -------------------------------------------------------------- */

/* Run step's verify script on the open connection: it must not fail and
 * the first column of every row it returns must be true. */
static int
run_verify(db_run *d, const sk_step *step, sk_err *err)
{
	const char *name = step->verify_path != NULL ? step->verify_path : "script";
	PGresult *res = NULL;
	char what[SK_NAME_MAX + 64];
	int rc;

	snprintf(what, sizeof(what), "verify %s", name);
	rc = sk_pg_exec(d->conn, what, step->verify, &res, err);
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

/* Apply step i: its SQL, its verify script and its ledger row, in one
 * transaction unless the step is marked no_transaction. */
static int
apply_step(db_run *d, size_t i, int64_t *rows, sk_err *err)
{
	exec_run *run = d->run;
	const sk_step *step = &run->plan->steps[i];
	bool tx = !step->no_transaction;
	agent_ledger_step row;
	PGresult *res = NULL;
	int64_t started = sk_now_ms();
	int rc;

	*rows = -1;
	if (tx) {
		rc = sk_pg_exec(d->conn, NULL, "BEGIN", NULL, err);
		if (rc != SK_OK)
			goto out;
	}
	rc = sk_pg_exec(d->conn, NULL, step->sql != NULL ? step->sql : "", &res, err);
	if (rc != SK_OK)
		goto out;
	*rows = result_rows(res);
	PQclear(res);
	res = NULL;
	/* The ledger row must commit with the step's effects; SQL that ends
	 * the transaction itself (or opens one) breaks that promise. */
	if (PQtransactionStatus(d->conn) != (tx ? PQTRANS_INTRANS : PQTRANS_IDLE)) {
		rc = sk_err_set(err, SK_EINVAL,
		    tx ? "the step's SQL ended its transaction; remove COMMIT/ROLLBACK "
			 "or mark the step no_transaction" :
			 "the step's SQL left a transaction open; remove BEGIN");
		goto out;
	}
	if (step->verify != NULL) {
		rc = run_verify(d, step, err);
		if (rc != SK_OK)
			goto out;
	}
	memset(&row, 0, sizeof(row));
	row.plan_name = run->plan->name;
	row.step_id = step->id;
	row.checksum_hex = run->hex[i];
	row.plan_id = run->plan->id;
	row.rollout_id = run->opts->rollout_id;
	row.region = run->opts->region;
	row.kind = "sql";
	row.transactional = tx;
	row.started_ms = started;
	row.finished_ms = sk_now_ms();
	row.rows = *rows;
	rc = agent_ledger_record_step(d->conn, &row, err);
	if (rc != SK_OK)
		goto out;
	if (tx)
		rc = sk_pg_exec(d->conn, NULL, "COMMIT", NULL, err);
out:
	PQclear(res);
	if (rc != SK_OK) {
		abort_tx(d->conn);
		sk_err_wrap(err, "apply step %s in %s/%s", step->id,
		    run->opts->region, d->db->name);
	}
	return rc;
}

/* Fail the database with drift if any step is recorded with another
 * checksum; fill d->recorded. Checking every step before running any
 * means a drifted plan changes nothing. */
static int
check_ledger(db_run *d, sk_err *err)
{
	exec_run *run = d->run;
	char hex[AGENT_LEDGER_HEX_LEN];
	bool found;
	int rc;

	for (size_t i = 0; i < run->plan->nsteps; i++) {
		const sk_step *step = &run->plan->steps[i];

		rc = agent_ledger_lookup(
		    d->conn, run->plan->name, step->id, &found, hex, err);
		if (rc != SK_OK)
			return sk_err_wrap(err, "apply plan %s in %s/%s",
			    run->plan->name, run->opts->region, d->db->name);
		d->recorded[i] = found;
		if (!found || strcmp(hex, run->hex[i]) == 0)
			continue;
		sk_err_set(err, SK_EDRIFT,
		    "apply step %s in %s/%s: drift: ledger has checksum %.16s... but "
		    "the plan has %.16s...",
		    step->id, run->opts->region, d->db->name, hex, run->hex[i]);
		snprintf(err->detail, sizeof(err->detail),
		    "ledger checksum %s, plan checksum %s", hex, run->hex[i]);
		snprintf(err->hint, sizeof(err->hint),
		    "a step that ran is never changed: restore its SQL, or add the "
		    "change as a new step with a new id");
		record_event(d, "drift", step->id, err);
		emit(d, SK_EV_STEP_FAILED, step->id, 0, 0, 0, NULL, err);
		return SK_EDRIFT;
	}
	return SK_OK;
}

/* Walk the plan on an open session. Returns SK_OK when every step is in
 * the ledger; a connection error means "reconnect and walk again". */
static int
walk_steps(db_run *d, sk_err *err)
{
	exec_run *run = d->run;
	int64_t t0, rows;
	int rc;

	rc = check_ledger(d, err);
	if (rc != SK_OK)
		return rc;
	for (size_t i = 0; i < run->plan->nsteps; i++) {
		const sk_step *step = &run->plan->steps[i];

		if (d->recorded[i]) {
			emit(d, SK_EV_STEP_SKIPPED, step->id, d->attempts[i], 0,
			    0, "already in the ledger", NULL);
			continue;
		}
		if (stop_requested(run)) {
			d->stopped = true;
			return sk_err_set(err, SK_ESTATE,
			    "apply plan %s in %s/%s: stopped before step %s",
			    run->plan->name, run->opts->region, d->db->name,
			    step->id);
		}
		d->attempts[i]++;
		emit(d, SK_EV_STEP_STARTED, step->id, d->attempts[i], 0, 0, NULL, NULL);
		t0 = sk_mono_ms();
		rc = apply_step(d, i, &rows, err);
		if (rc == SK_OK) {
			d->recorded[i] = true;
			emit(d, SK_EV_STEP_FINISHED, step->id, d->attempts[i],
			    sk_mono_ms() - t0, rows < 0 ? 0 : rows, NULL, NULL);
			continue;
		}
		if (sk_pg_err_is_connection(err)) {
			d->interrupted = true;
			snprintf(d->interrupted_step,
			    sizeof(d->interrupted_step), "%s", step->id);
			d->interrupted_err = *err;
			return rc;
		}
		record_event(d, "step-failed", step->id, err);
		emit(d, SK_EV_STEP_FAILED, step->id, d->attempts[i],
		    sk_mono_ms() - t0, 0, NULL, err);
		return rc;
	}
	return SK_OK;
}

static void
release_lock(db_run *d)
{
	const char *key[1] = { d->run->lock_key };
	sk_err err;

	if (d->conn == NULL || PQstatus(d->conn) != CONNECTION_OK)
		return;
	/* Closing the session would release it too; unlocking first keeps
	 * the lock's lifetime obvious in pg_locks. */
	if (sk_pg_execp(d->conn, "release ledger lock",
		"SELECT pg_catalog.pg_advisory_unlock($1::bigint)", 1, key,
		NULL, &err) != SK_OK)
		sk_debug("%s", err.msg);
}

static void
run_database(db_run *d)
{
	exec_run *run = d->run;
	PQconninfoOption *parsed;
	int64_t t0 = sk_mono_ms();
	int rc;

	parsed = PQconninfoParse(d->db->conninfo != NULL ? d->db->conninfo : "", NULL);
	if (d->db->conninfo == NULL || parsed == NULL) {
		/* Not quoted: a conninfo may hold a password. */
		rc = sk_err_set(&d->err, SK_EINVAL,
		    "apply plan %s in %s/%s: the database's conninfo does not parse",
		    run->plan->name, run->opts->region, d->db->name);
		goto fail;
	}
	PQconninfoFree(parsed);

	for (;;) {
		rc = open_session(d, &d->err);
		if (rc != SK_OK) {
			if (d->stopped)
				goto out;
			goto fail;
		}
		if (d->interrupted) {
			record_event(d, "step-interrupted", d->interrupted_step,
			    &d->interrupted_err);
			d->interrupted = false;
		}
		emit(d, SK_EV_DB_STARTED, NULL, d->conn_attempt, 0, 0, NULL, NULL);
		rc = walk_steps(d, &d->err);
		if (rc == SK_OK) {
			release_lock(d);
			emit(d, SK_EV_DB_FINISHED, NULL, d->conn_attempt,
			    sk_mono_ms() - t0, 0, NULL, NULL);
			goto out;
		}
		if (d->stopped)
			goto out;
		if (!sk_pg_err_is_connection(&d->err))
			goto fail;
		/* The server rolled back whatever was open; the ledger will
		 * say where to pick up. */
		disconnect(d);
		emit(d, SK_EV_DB_WAITING,
		    d->interrupted ? d->interrupted_step : NULL, d->conn_attempt,
		    0, 0, "connection lost; reconnecting", &d->err);
		if (sleep_or_stop(run, backoff(d, &d->delay_ms))) {
			d->stopped = true;
			rc = sk_err_set(&d->err, SK_ESTATE,
			    "apply plan %s in %s/%s: stopped while reconnecting",
			    run->plan->name, run->opts->region, d->db->name);
			goto out;
		}
	}
fail:
	emit(d, SK_EV_DB_FAILED, NULL, d->conn_attempt, sk_mono_ms() - t0, 0,
	    NULL, &d->err);
	sk_log_err(SK_LOG_ERROR, &d->err);
out:
	disconnect(d);
	d->rc = rc;
}

static void *
worker(void *arg)
{
	exec_run *run = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&run->mu);
		i = run->next++;
		pthread_mutex_unlock(&run->mu);
		if (i >= run->opts->ndatabases)
			return NULL;
		run_database(&run->dbs[i]);
	}
}

/* ---- entry point -------------------------------------------------------- */

static int
check_args(const sk_plan *plan, const agent_exec_opts *opts, sk_err *err)
{
	if (plan == NULL || opts == NULL || plan->name == NULL || opts->region == NULL)
		return sk_err_set(err, SK_EINVAL, "apply plan: no plan or options");
	if (opts->ndatabases > 0 && opts->databases == NULL)
		return sk_err_set(
		    err, SK_EINVAL, "apply plan %s: no databases", plan->name);
	for (size_t i = 0; i < plan->nsteps; i++)
		if (plan->steps[i].id == NULL)
			return sk_err_set(err, SK_EINVAL,
			    "apply plan %s: step %zu has no id", plan->name, i + 1);
	for (size_t i = 0; i < opts->ndatabases; i++)
		if (opts->databases[i].name == NULL)
			return sk_err_set(err, SK_EINVAL,
			    "apply plan %s: database %zu has no name",
			    plan->name, i + 1);
	return SK_OK;
}

int
agent_exec_run(const sk_plan *plan, const agent_exec_opts *opts, sk_err *err)
{
	exec_run run;
	pthread_t *threads = NULL;
	size_t nthreads, started = 0;
	uint64_t key;
	int rc;

	rc = check_args(plan, opts, err);
	if (rc != SK_OK)
		return rc;
	if (opts->ndatabases == 0)
		return SK_OK;

	memset(&run, 0, sizeof(run));
	run.plan = plan;
	run.opts = opts;
	run.retry_min_ms =
	    opts->retry_min_ms > 0 ? opts->retry_min_ms : DEFAULT_RETRY_MIN_MS;
	run.retry_max_ms =
	    opts->retry_max_ms > 0 ? opts->retry_max_ms : DEFAULT_RETRY_MAX_MS;
	if (run.retry_max_ms < run.retry_min_ms)
		run.retry_max_ms = run.retry_min_ms;
	snprintf(run.appname, sizeof(run.appname), "skein-agent/%s", opts->region);
	key = (uint64_t)AGENT_LEDGER_LOCK_KEY;
	snprintf(run.lock_key, sizeof(run.lock_key), "%" PRId64, AGENT_LEDGER_LOCK_KEY);
	snprintf(run.lock_classid, sizeof(run.lock_classid), "%" PRIu32,
	    (uint32_t)(key >> 32));
	snprintf(run.lock_objid, sizeof(run.lock_objid), "%" PRIu32,
	    (uint32_t)(key & 0xffffffffu));
	pthread_mutex_init(&run.mu, NULL);

	run.hex = calloc(plan->nsteps + 1, sizeof(*run.hex));
	run.dbs = calloc(opts->ndatabases, sizeof(*run.dbs));
	if (run.hex == NULL || run.dbs == NULL) {
		rc = sk_err_set(
		    err, SK_ENOMEM, "apply plan %s: out of memory", plan->name);
		goto out;
	}
	for (size_t i = 0; i < plan->nsteps; i++)
		sk_hex(plan->steps[i].checksum, SK_CHECKSUM_LEN, run.hex[i]);
	for (size_t i = 0; i < opts->ndatabases; i++) {
		db_run *d = &run.dbs[i];

		d->run = &run;
		d->db = &opts->databases[i];
		d->delay_ms = run.retry_min_ms;
		d->rng = (uint64_t)sk_now_us() ^
		    ((uint64_t)(i + 1) * 0x9e3779b97f4a7c15u);
		if (d->rng == 0)
			d->rng = 1;
		d->recorded = calloc(plan->nsteps + 1, sizeof(*d->recorded));
		d->attempts = calloc(plan->nsteps + 1, sizeof(*d->attempts));
		if (d->recorded == NULL || d->attempts == NULL) {
			rc = sk_err_set(err, SK_ENOMEM,
			    "apply plan %s: out of memory", plan->name);
			goto out;
		}
	}

	nthreads = opts->parallel > 0 ? (size_t)opts->parallel : 1;
	if (nthreads > opts->ndatabases)
		nthreads = opts->ndatabases;
	threads = calloc(nthreads, sizeof(*threads));
	if (threads != NULL)
		for (; started < nthreads; started++)
			if (pthread_create(&threads[started], NULL, worker, &run) != 0)
				break;
	/* Without threads the work still gets done, one database at a time. */
	if (started == 0)
		worker(&run);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);

	for (size_t i = 0; i < opts->ndatabases; i++) {
		if (run.dbs[i].rc != SK_OK) {
			rc = run.dbs[i].rc;
			if (err != NULL)
				*err = run.dbs[i].err;
			break;
		}
	}
out:
	if (run.dbs != NULL) {
		for (size_t i = 0; i < opts->ndatabases; i++) {
			free(run.dbs[i].recorded);
			free(run.dbs[i].attempts);
		}
	}
	free(threads);
	free(run.dbs);
	free(run.hex);
	pthread_mutex_destroy(&run.mu);
	return rc;
}

/* agent_exec: runs a plan against each managed database, one thread and
 * one connection per database, with the ledger deciding what still has to
 * run. This file holds the per-database walk: session, drift, the order
 * of things and the operator's pause between steps; the modes as data
 * (apply, rehearse, rollback).
 * Preflight and the backup are in agent_exec_guard.c; a step goes through
 * its kind (agent/kinds/) and the retry engine in agent_exec_step.c; the
 * context every part shares is made in agent_exec_db.c.
 *
 * Recovery is by reconnecting and re-reading the ledger, never by
 * remembering: when a connection is lost the server rolls back the open
 * transaction, so a transactional step either committed together with its
 * ledger row or left no trace. A non-transactional step that was
 * interrupted (its SQL ran, its ledger row was not yet written) is run
 * again, which is why such steps must be idempotent; an INVALID index an
 * interrupted CREATE INDEX CONCURRENTLY left behind is dropped first.
 *
 * When *stop is set, a database waiting for its server or for the ledger
 * lock gives up at once and a database applying steps stops before its
 * next step (the running one is finished). Such a database emits no
 * DB_FAILED: the plan resumes from the ledger when it runs again.
 */
#include "agent_exec_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_kinds.h"
#include "agent_locks.h"
#include "agent_modes.h"
#include "agent_stmt.h"
#include "sk_log.h"
#include "sk_util.h"

#define DEFAULT_RETRY_MIN_MS 500
#define DEFAULT_RETRY_MAX_MS 10000

/* ---- small helpers ------------------------------------------------------ */

static int64_t
backoff(db_run *d, int64_t *delay)
{
	return agent_backoff(&d->rng, delay, d->run->retry_max_ms);
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
		exec_emit(d, SK_EV_DB_WAITING, NULL, ++tries, 0, 0, detail, NULL);
		if (exec_sleep_or_stop(run, backoff(d, &delay))) {
			d->stopped = true;
			return sk_err_set(err, SK_ESTATE,
			    "%s plan %s in %s/%s: stopped while waiting: %s",
			    run->mode->verb, run->plan->name, run->opts->region,
			    d->db->name, detail);
		}
	}
}

/* Make sure the ledger is there: created or upgraded when applying or
 * rolling back; only read when rehearsing, which must change nothing. */
static int
prepare_ledger(db_run *d, sk_err *err)
{
	bool exists;

	if (d->run->mode->writes_ledger)
		return agent_ledger_ensure(d->conn, NULL, err);
	return agent_ledger_exists(d->conn, &exists, NULL, err);
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
		if (exec_stop_requested(run)) {
			d->stopped = true;
			return sk_err_set(err, SK_ESTATE,
			    "%s plan %s in %s/%s: stopped before completion",
			    run->mode->verb, run->plan->name, run->opts->region,
			    d->db->name);
		}
		d->conn_attempt++;
		if (d->pooled)
			rc = sk_pg_connect_pooled(
			    d->db->conninfo, run->appname, &d->conn, err);
		else
			rc = sk_pg_connect(
			    d->db->conninfo, run->appname, &d->conn, err);
		/* Through a pooler every transaction takes the lock itself
		 * (agent_tx_begin); waiting for it once here reports a held
		 * lock instead of blocking in the ledger upgrade. */
		if (rc == SK_OK && !d->pooled)
			rc = take_lock(d, err);
		else if (rc == SK_OK &&
		    (rc = agent_tx_begin(exec_ctx(d), NULL, err)) == SK_OK)
			agent_tx_rollback(d->conn);
		if (d->pooled && rc == SK_ESTATE && exec_stop_requested(run))
			d->stopped = true;
		if (rc == SK_OK)
			rc = prepare_ledger(d, err);
		if (rc == SK_OK) {
			d->delay_ms = run->retry_min_ms;
			return SK_OK;
		}
		exec_disconnect(d);
		if (d->stopped)
			return rc;
		sk_err_wrap(err, "%s plan %s in %s/%s", run->mode->verb,
		    run->plan->name, run->opts->region, d->db->name);
		if (!sk_pg_err_is_connection(err))
			return rc;
		ms = backoff(d, &d->delay_ms);
		snprintf(detail, sizeof(detail), "retrying in %" PRId64 " ms", ms);
		exec_emit(d, SK_EV_DB_WAITING, NULL, d->conn_attempt, 0, 0,
		    detail, err);
		if (exec_sleep_or_stop(run, ms)) {
			d->stopped = true;
			return sk_err_set(err, SK_ESTATE,
			    "%s plan %s in %s/%s: stopped while waiting for the database",
			    run->mode->verb, run->plan->name, run->opts->region,
			    d->db->name);
		}
	}
}

/* ---- the walk ----------------------------------------------------------- */

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
		/* A row written before normalized checksums carries the
		 * format-1 checksum of the same SQL. */
		if (!found || strcmp(hex, run->hex[i]) == 0 ||
		    (run->text_hex[i][0] != '\0' && strcmp(hex, run->text_hex[i]) == 0))
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
		agent_db_record_event(exec_ctx(d), "drift", step->id, err);
		exec_emit(d, SK_EV_STEP_FAILED, step->id, 0, 0, 0, NULL, err);
		return SK_EDRIFT;
	}
	return SK_OK;
}

/* Index of the first step not in the ledger, or nsteps. */
static size_t
first_pending(const db_run *d)
{
	size_t i = 0;

	while (i < d->run->plan->nsteps && d->recorded[i])
		i++;
	return i;
}

/* Walk the plan on an open session. Returns SK_OK when every step is in
 * the ledger and the phase's post-checks hold; a connection error means
 * "reconnect and walk again". */
static int
walk_steps(db_run *d, sk_err *err)
{
	exec_run *run = d->run;
	const sk_plan *plan = run->plan;
	const sk_phase *ph = run->phase;
	size_t first;
	int rc;

	if (!d->preflight_done) {
		rc = exec_run_preflight(d, err);
		if (rc != SK_OK)
			return rc;
		d->preflight_done = true;
	}
	rc = check_ledger(d, err);
	if (rc != SK_OK)
		return rc;
	first = first_pending(d);
	if (first < plan->nsteps) {
		if (ph != NULL && !d->phase_pre_done) {
			rc = exec_run_phase_checks(d, ph->pre, ph->npre, "pre",
			    &plan->steps[first], err);
			if (rc != SK_OK)
				return rc;
			d->phase_pre_done = true;
		}
		if (plan->backup && !d->backup_done) {
			rc = exec_take_backup(d, err);
			if (rc != SK_OK)
				return rc;
		}
	}
	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *step = &plan->steps[i];

		if (d->recorded[i]) {
			exec_emit(d, SK_EV_STEP_SKIPPED, step->id,
			    d->attempts[i], 0, 0, "already in the ledger", NULL);
			continue;
		}
		if (exec_stop_requested(run)) {
			d->stopped = true;
			return sk_err_set(err, SK_ESTATE,
			    "apply plan %s in %s/%s: stopped before step %s",
			    plan->name, run->opts->region, d->db->name, step->id);
		}
		rc = agent_db_hold_while_paused(exec_ctx(d), "apply", step->id, err);
		if (rc != SK_OK) {
			/* stopline: an abort fails the database (reported), a
			 * stop does not. */
			d->stopped = rc != SK_EREFUSED;
			return rc;
		}
		rc = exec_step(d, i, err);
		if (rc != SK_OK)
			return rc;
		d->recorded[i] = true;
	}
	/* Always, even when every step was already in the ledger: an agent
	 * stopped after the last step must not skip them on its restart. */
	if (ph != NULL && plan->nsteps > 0)
		return exec_run_phase_checks(d, ph->post, ph->npost, "post",
		    &plan->steps[plan->nsteps - 1], err);
	return SK_OK;
}

static int
rehearse_walk(db_run *d, sk_err *err)
{
	return agent_rehearse_db(exec_ctx(d), err);
}

/* The rollback walks with the executor's guard: the backup before the
 * first revert (agent_exec_guard.c). */
static int
rollback_walk(db_run *d, sk_err *err)
{
	agent_db_ctx c = *exec_ctx(d);

	c.before_revert = exec_backup_before_revert;
	c.before_revert_arg = d;
	return agent_rollback_db(&c, err);
}

/* The modes, indexed by sk_mode. A rehearsal must change nothing, not
 * even the ledger's version. */
static const exec_mode modes[SK_MODE_MAX] = {
	[SK_MODE_APPLY] = { "apply", true, walk_steps },
	[SK_MODE_REHEARSE] = { "rehearse", false, rehearse_walk },
	[SK_MODE_ROLLBACK] = { "roll back", true, rollback_walk },
};

static void
release_lock(db_run *d)
{
	const char *key[1] = { d->run->lock_key };
	sk_err err;

	if (d->pooled || d->conn == NULL || PQstatus(d->conn) != CONNECTION_OK)
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
		    "%s plan %s in %s/%s: the database's conninfo does not parse",
		    run->mode->verb, run->plan->name, run->opts->region, d->db->name);
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
		if (d->interrupted && run->mode->writes_ledger) {
			agent_db_record_event(exec_ctx(d), "step-interrupted",
			    d->interrupted_step, &d->interrupted_err);
			d->interrupted = false;
		}
		exec_emit(d, SK_EV_DB_STARTED, NULL, d->conn_attempt, 0, 0,
		    run->opts->mode != SK_MODE_APPLY ? sk_mode_name(run->opts->mode) : NULL,
		    NULL);
		rc = run->mode->walk(d, &d->err);
		if (rc == SK_OK) {
			release_lock(d);
			exec_emit(d, SK_EV_DB_FINISHED, NULL, d->conn_attempt,
			    sk_mono_ms() - t0, 0, NULL, NULL);
			goto out;
		}
		if (d->stopped || exec_stop_requested(run))
			goto out;
		if (!sk_pg_err_is_connection(&d->err))
			goto fail;
		/* The server rolled back whatever was open; the ledger will
		 * say where to pick up. */
		exec_disconnect(d);
		exec_emit(d, SK_EV_DB_WAITING,
		    d->interrupted ? d->interrupted_step : NULL, d->conn_attempt,
		    0, 0, "connection lost; reconnecting", &d->err);
		if (exec_sleep_or_stop(run, backoff(d, &d->delay_ms))) {
			d->stopped = true;
			rc = sk_err_set(&d->err, SK_ESTATE,
			    "%s plan %s in %s/%s: stopped while reconnecting",
			    run->mode->verb, run->plan->name, run->opts->region,
			    d->db->name);
			goto out;
		}
	}
fail:
	exec_emit(d, SK_EV_DB_FAILED, NULL, d->conn_attempt, sk_mono_ms() - t0,
	    0, NULL, &d->err);
	sk_log_err(SK_LOG_ERROR, &d->err);
out:
	exec_disconnect(d);
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
		sk_log_scope(run->opts->rollout_id, NULL);
		run_database(&run->dbs[i]);
	}
}

/* ---- entry point -------------------------------------------------------- */

static int
check_args(const sk_plan *plan, const agent_exec_opts *opts, sk_err *err)
{
	if (plan == NULL || opts == NULL || plan->name == NULL || opts->region == NULL)
		return sk_err_set(err, SK_EINVAL, "apply plan: no plan or options");
	if (opts->mode < 0 || opts->mode >= SK_MODE_MAX)
		return sk_err_set(err, SK_EINVAL,
		    "apply plan %s: unknown mode %d", plan->name, opts->mode);
	if (opts->ndatabases > 0 && opts->databases == NULL)
		return sk_err_set(
		    err, SK_EINVAL, "apply plan %s: no databases", plan->name);
	for (size_t i = 0; i < plan->nsteps; i++) {
		if (plan->steps[i].id == NULL)
			return sk_err_set(err, SK_EINVAL,
			    "apply plan %s: step %zu has no id", plan->name, i + 1);
		/* Decode refuses kinds it does not know; an agent built
		 * without a kind's file must refuse it before running any
		 * step, not halfway through the plan. */
		if (agent_step_kind_of(&plan->steps[i]) == NULL) {
			char why[128];

			agent_step_kind_refusal(&plan->steps[i], why, sizeof(why));
			sk_err_set(err, SK_EINVAL,
			    "apply plan %s: step %s is of kind %s: %s",
			    plan->name, plan->steps[i].id,
			    sk_step_kind_name(plan->steps[i].kind) != NULL ?
				sk_step_kind_name(plan->steps[i].kind) :
				"unknown",
			    why);
			if (err != NULL)
				snprintf(err->hint, sizeof(err->hint),
				    "upgrade skein-agent");
			return SK_EINVAL;
		}
	}
	for (size_t i = 0; i < opts->ndatabases; i++)
		if (opts->databases[i].name == NULL)
			return sk_err_set(err, SK_EINVAL,
			    "apply plan %s: database %zu has no name",
			    plan->name, i + 1);
	return SK_OK;
}

static bool
all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
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
	run.mode = &modes[opts->mode];
	run.phase = sk_plan_phase_of(plan, opts->region);
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
	run.text_hex = calloc(plan->nsteps + 1, sizeof(*run.text_hex));
	run.dbs = calloc(opts->ndatabases, sizeof(*run.dbs));
	if (run.hex == NULL || run.text_hex == NULL || run.dbs == NULL) {
		rc = sk_err_set(
		    err, SK_ENOMEM, "apply plan %s: out of memory", plan->name);
		goto out;
	}
	for (size_t i = 0; i < plan->nsteps; i++) {
		sk_hex(plan->steps[i].checksum, SK_CHECKSUM_LEN, run.hex[i]);
		if (!all_zero(plan->steps[i].text_checksum, SK_CHECKSUM_LEN))
			sk_hex(plan->steps[i].text_checksum, SK_CHECKSUM_LEN,
			    run.text_hex[i]);
	}
	for (size_t i = 0; i < opts->ndatabases; i++) {
		db_run *d = &run.dbs[i];

		d->run = &run;
		d->db = &opts->databases[i];
		d->pooled = d->db->pooler == SK_POOLER_TRANSACTION;
		d->delay_ms = run.retry_min_ms;
		agent_watch_init(&d->watch, d->db->conninfo, d->pooled,
		    opts->region, d->db->name);
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
	free(run.text_hex);
	pthread_mutex_destroy(&run.mu);
	return rc;
}

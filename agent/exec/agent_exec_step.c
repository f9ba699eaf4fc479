/* agent_exec_step: how one step runs (docs/safety.md).
 *
 * A transactional step is one transaction: the ledger lock (pooled),
 * SET LOCAL lock_timeout and statement_timeout, pre-checks, the SQL, the
 * verify script, post-checks, the ledger row and the check results, then
 * COMMIT. The SQL, and each check's statement, is sent asynchronously so
 * that the thread can watch it while it waits: a second "monitor"
 * connection reads pg_blocking_pids of the step's backend and reports who
 * blocks it. A lock timeout rolls the
 * transaction back and retries after a jittered, doubling pause, up to
 * lock_retries times; since the step gives up its lock request after
 * lock_timeout, sessions queued behind it wait at most that long.
 *
 * A non-transactional step (CREATE INDEX CONCURRENTLY, ...) runs its
 * statements one by one outside a transaction, with its checks and its
 * ledger row in transactions of their own. An INVALID index that an
 * interrupted CREATE INDEX CONCURRENTLY left behind is dropped first, and
 * every index the step creates must be valid afterwards.
 *
 * A phase's pre- and post-checks go through the same attempts loop
 * (exec_phase_checks): watched like a step's checks and retried on a lock
 * timeout under the limits of the first or last step.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_check.h"
#include "agent_exec_int.h"
#include "agent_locks.h"
#include "agent_stmt.h"
#include "sk_log.h"
#include "sk_sql.h"
#include "sk_util.h"

/* Cap of the pause between lock-timeout retries. */
#define LOCK_BACKOFF_MAX_MS 30000
/* How long a monitor that failed to connect is left alone. */
#define MONITOR_RETRY_MS 5000

/* An index the step creates concurrently, as found in the catalog. */
enum index_state { INDEX_ABSENT, INDEX_VALID, INDEX_INVALID };

/* One step's run, across its attempts; or a phase's checks, run the same
 * way under the limits of one of the plan's steps. */
typedef struct step_run {
	db_run *d;
	size_t i;
	const sk_step *step; /* the step; for phase checks: whose limits apply */
	const char *id;      /* the step id reported; NULL for phase checks */
	uint32_t *attempt;   /* &d->attempts[i], or the phase checks' own */
	char what[SK_NAME_MAX + 32]; /* "step ID" or "phase P pre-check" */
	const sk_check *checks;      /* phase checks only */
	size_t nchecks;
	const char *when;
	uint32_t lock_waits;
	int64_t lock_wait_ms;
	sk_blocker blockers[SK_BLOCKERS_MAX]; /* the last non-empty list */
	size_t nblockers;
	sk_check_result *res; /* the current attempt's check results */
	size_t nres;
	int64_t rows;
	int64_t started_ms;      /* wall clock, first attempt */
	char note[256];          /* what the step did besides its SQL */
	bool recorded_meanwhile; /* pooled: another agent ran it meanwhile */
} step_run;

/* ---- watching a running statement -------------------------------------- */

static void
emit_lock_wait(step_run *s, const char *detail, const sk_err *err)
{
	db_run *d = s->d;
	sk_report r;

	agent_report_init(&r, SK_EV_LOCK_WAIT, s->id, *s->attempt);
	r.nblockers = s->nblockers;
	memcpy(r.blockers, s->blockers, s->nblockers * sizeof(*s->blockers));
	r.lock_waits = s->lock_waits;
	r.lock_wait_ms = s->lock_wait_ms;
	if (detail != NULL)
		snprintf(r.detail, sizeof(r.detail), "%s", detail);
	else
		agent_blockers_format(
		    s->blockers, s->nblockers, r.detail, sizeof(r.detail));
	if (err != NULL)
		r.error = *err;
	exec_send(d, &r);
}

/* Ask the monitor connection who blocks pid; report it when someone does.
 * Every failure here is only logged: watching must never fail a step. */
static void
watch(void *arg, int pid)
{
	step_run *s = arg;
	db_run *d = s->d;
	sk_blocker list[SK_BLOCKERS_MAX];
	size_t n = 0;
	sk_err err;
	int rc;

	if (pid <= 0)
		return;
	if (d->monitor == NULL) {
		if (sk_mono_ms() < d->monitor_retry_at)
			return;
		if (d->pooled)
			rc = sk_pg_connect_pooled(d->db->conninfo,
			    d->run->monitor_appname, &d->monitor, &err);
		else
			rc = sk_pg_connect(d->db->conninfo,
			    d->run->monitor_appname, &d->monitor, &err);
		if (rc != SK_OK) {
			sk_debug("watch %s in %s/%s: %s", s->what,
			    d->run->opts->region, d->db->name, err.msg);
			d->monitor_retry_at = sk_mono_ms() + MONITOR_RETRY_MS;
			return;
		}
	}
	if (agent_blockers(d->monitor, pid, list, SK_BLOCKERS_MAX, &n, &err) != SK_OK) {
		sk_debug("watch %s in %s/%s: %s", s->what, d->run->opts->region,
		    d->db->name, err.msg);
		if (PQstatus(d->monitor) != CONNECTION_OK) {
			PQfinish(d->monitor);
			d->monitor = NULL;
		}
		return;
	}
	if (n == 0)
		return;
	memcpy(s->blockers, list, n * sizeof(*list));
	s->nblockers = n;
	emit_lock_wait(s, NULL, NULL);
}

/* agent_stmt_run on the step's connection, watched (pid: its backend;
 * 0 for none). */
static int
run_watched(step_run *s, const char *sql, int pid, PGresult **out,
    int64_t *rows, sk_err *err)
{
	return agent_stmt_run(
	    s->d->conn, NULL, sql, s->step, pid, watch, s, out, rows, err);
}

/* ---- the pieces of an attempt ------------------------------------------- */

/* Evaluate checks in the open transaction, reporting each result and
 * keeping it in s->res; each check's statement is watched like the step's
 * SQL (pid: the transaction's backend). All are evaluated; SK_ECHECK (for
 * the first that did not hold) when any failed. */
static int
eval_checks(step_run *s, const sk_check *checks, size_t n, const char *when,
    int pid, sk_err *err)
{
	agent_check_watch w = { s->step, pid, watch, s };
	size_t failed = SIZE_MAX;
	int rc;

	for (size_t k = 0; k < n; k++) {
		sk_check_result *res = &s->res[s->nres];

		rc = agent_check_eval_watched(
		    s->d->conn, &checks[k], when, &w, res, err);
		if (rc != SK_OK) {
			/* Its query failed: the value seen names the error. */
			exec_emit_check(s->d, s->id, res);
			s->nres++;
			return rc;
		}
		exec_emit_check(s->d, s->id, res);
		if (!res->passed && failed == SIZE_MAX)
			failed = s->nres;
		s->nres++;
	}
	if (failed != SIZE_MAX)
		return agent_check_fail(err, &s->res[failed]);
	return SK_OK;
}

/* The step's ledger row and its check results, in the open transaction
 * (or, outside one, each committing on its own). */
static int
record_done(step_run *s, bool transactional, sk_err *err)
{
	db_run *d = s->d;
	exec_run *run = d->run;
	char blockers[512];
	agent_ledger_step row;
	int rc;

	agent_blockers_format(s->blockers, s->nblockers, blockers, sizeof(blockers));
	memset(&row, 0, sizeof(row));
	row.plan_name = run->plan->name;
	row.step_id = s->step->id;
	row.checksum_hex = run->hex[s->i];
	row.plan_id = run->plan->id;
	row.rollout_id = run->opts->rollout_id;
	row.region = run->opts->region;
	row.kind = "sql";
	row.transactional = transactional;
	row.started_ms = s->started_ms;
	row.finished_ms = sk_now_ms();
	row.rows = s->rows;
	row.attempts = d->attempts[s->i];
	row.lock_waits = s->lock_waits;
	row.lock_wait_ms = s->lock_wait_ms;
	row.blockers = blockers[0] != '\0' ? blockers : NULL;
	rc = agent_ledger_record_step(d->conn, &row, err);
	for (size_t k = 0; rc == SK_OK && k < s->nres; k++)
		rc = exec_record_check(d, s->step->id, &s->res[k], err);
	return rc;
}

/* Through a pooler no session lock keeps other agents out between our
 * transactions, so each step looks at the ledger again under the lock its
 * transaction holds: a step another agent recorded meanwhile is done. */
static int
recheck_ledger(step_run *s, sk_err *err)
{
	db_run *d = s->d;
	exec_run *run = d->run;
	char hex[AGENT_LEDGER_HEX_LEN];
	bool found = false;
	int rc;

	if (!d->pooled)
		return SK_OK;
	rc = agent_ledger_lookup(
	    d->conn, run->plan->name, s->step->id, &found, hex, err);
	if (rc != SK_OK || !found)
		return rc;
	if (strcmp(hex, run->hex[s->i]) != 0 && strcmp(hex, run->text_hex[s->i]) != 0)
		return sk_err_set(err, SK_EDRIFT,
		    "drift: another agent recorded the step meanwhile with "
		    "checksum %.16s... but the plan has %.16s...",
		    hex, run->hex[s->i]);
	s->recorded_meanwhile = true;
	return SK_OK;
}

/* ---- a transactional attempt -------------------------------------------- */

static int
tx_attempt(step_run *s, sk_err *err)
{
	db_run *d = s->d;
	const sk_step *step = s->step;
	PGresult *res = NULL;
	int64_t rows = -1;
	int pid = 0, rc;

	rc = exec_begin(d, step, err);
	if (rc != SK_OK)
		return rc;
	rc = agent_backend_pid(d->conn, d->pooled, &pid, err);
	if (rc == SK_OK)
		rc = recheck_ledger(s, err);
	if (rc == SK_OK && s->recorded_meanwhile) {
		agent_tx_rollback(d->conn);
		return SK_OK;
	}
	if (rc == SK_OK)
		rc = eval_checks(s, step->pre, step->npre, "pre", pid, err);
	if (rc == SK_OK)
		rc = run_watched(s, step->sql != NULL ? step->sql : "", pid,
		    &res, &rows, err);
	if (rc != SK_OK)
		goto out;
	s->rows = rows;
	PQclear(res);
	res = NULL;
	/* The ledger row must commit with the step's effects; SQL that ends
	 * the transaction itself breaks that promise. */
	if (PQtransactionStatus(d->conn) != PQTRANS_INTRANS) {
		rc = sk_err_set(err, SK_EINVAL,
		    "the step's SQL ended its transaction; remove COMMIT/ROLLBACK "
		    "or mark the step no_transaction");
		goto out;
	}
	if (step->verify != NULL)
		rc = agent_stmt_verify(d->conn, step, err);
	if (rc == SK_OK)
		rc = eval_checks(s, step->post, step->npost, "post", pid, err);
	if (rc == SK_OK)
		rc = record_done(s, true, err);
	if (rc == SK_OK)
		rc = sk_pg_exec(d->conn, "commit", "COMMIT", NULL, err);
out:
	PQclear(res);
	if (rc != SK_OK)
		agent_tx_rollback(d->conn);
	return rc;
}

/* ---- a non-transactional attempt ---------------------------------------- */

/* Look up each index the step creates concurrently, in the open
 * transaction. names[k] receives the schema-qualified, quoted name. */
static int
find_indexes(step_run *s, int *state, char (*names)[2 * SK_NAME_MAX + 8], sk_err *err)
{
	const sk_step *step = s->step;
	PGresult *res = NULL;
	int rc;

	for (size_t k = 0; k < step->nconcurrent_indexes; k++) {
		const char *param[1] = { step->concurrent_indexes[k] };

		rc = sk_pg_execp(s->d->conn, "look up index",
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

/* Add "what arg" to the step's note, "; "-separated. */
static void
append_note(step_run *s, const char *what, const char *arg)
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
run_outside(step_run *s, const sk_sql_script *script, const int *state,
    const char (*names)[2 * SK_NAME_MAX + 8], sk_err *err)
{
	db_run *d = s->d;
	PGresult *res = NULL;
	/* Through a pooler the backend is not ours to name. */
	int pid = d->pooled ? 0 : PQbackendPID(d->conn);
	int64_t rows;
	int rc = SK_OK;

	for (size_t k = 0; rc == SK_OK && k < script->nstmts; k++) {
		size_t x = cic_index_of(s->step, script, k);

		if (x != SIZE_MAX && state[x] == INDEX_VALID) {
			append_note(s,
			    "index already valid, not built again: ", names[x]);
			continue;
		}
		rc = run_watched(s, script->stmts[k].text, pid, &res, &rows, err);
		if (rc == SK_OK && rows >= 0)
			s->rows = (s->rows < 0 ? 0 : s->rows) + rows;
		PQclear(res);
		res = NULL;
		if (rc == SK_OK && PQtransactionStatus(d->conn) != PQTRANS_IDLE)
			rc = sk_err_set(err, SK_EINVAL,
			    "the step's SQL left a transaction open; remove BEGIN");
	}
	agent_tx_rollback(d->conn);
	return rc;
}

static int
notx_attempt(step_run *s, sk_err *err)
{
	db_run *d = s->d;
	const sk_step *step = s->step;
	size_t nidx = step->nconcurrent_indexes;
	char(*names)[2 * SK_NAME_MAX + 8] = NULL;
	sk_sql_script *script = NULL;
	int *state = NULL;
	bool only_cic = false, all_valid = nidx > 0, timeouts_set = false;
	char sql[2 * SK_NAME_MAX + 64];
	int pid = 0, rc;

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
	rc = exec_begin(d, step, err);
	if (rc != SK_OK)
		goto out;
	rc = agent_backend_pid(d->conn, d->pooled, &pid, err);
	if (rc == SK_OK)
		rc = recheck_ledger(s, err);
	if (rc == SK_OK && !s->recorded_meanwhile)
		rc = eval_checks(s, step->pre, step->npre, "pre", pid, err);
	if (rc == SK_OK && !s->recorded_meanwhile)
		rc = find_indexes(s, state, names, err);
	agent_tx_rollback(d->conn);
	if (rc != SK_OK || s->recorded_meanwhile)
		goto out;

	/* The drops and the statements wait for locks too. */
	if (!d->pooled) {
		rc = agent_set_session_timeouts(d->conn, step->lock_timeout_ms,
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
		append_note(s, "dropped INVALID index ", names[k]);
		sk_info("step %s in %s/%s: dropping INVALID index %s left by an "
			"interrupted run",
		    step->id, d->run->opts->region, d->db->name, names[k]);
		snprintf(sql, sizeof(sql),
		    "DROP INDEX CONCURRENTLY IF EXISTS %s", names[k]);
		rc = sk_pg_exec(d->conn, "drop INVALID index", sql, NULL, err);
		if (rc != SK_OK)
			goto out;
	}
	if (only_cic && all_valid) {
		/* Built by a run that died before its ledger row. */
		append_note(s, "every index already exists and is valid; ",
		    "not run again");
	} else {
		rc = run_outside(s, script, state,
		    (const char(*)[2 * SK_NAME_MAX + 8]) names, err);
		if (rc != SK_OK)
			goto out;
	}
	if (timeouts_set) {
		agent_reset_session_timeouts(d->conn);
		timeouts_set = false;
	}

	/* Verify, post-checks and the ledger row commit together. */
	rc = exec_begin(d, step, err);
	if (rc != SK_OK)
		goto out;
	rc = agent_backend_pid(d->conn, d->pooled, &pid, err);
	if (rc == SK_OK && nidx > 0)
		rc = find_indexes(s, state, names, err);
	for (size_t k = 0; rc == SK_OK && k < nidx; k++)
		if (state[k] != INDEX_VALID)
			rc = sk_err_set(err, SK_ESTATE, "index %s is %s after the step",
			    step->concurrent_indexes[k],
			    state[k] == INDEX_ABSENT ? "missing" : "INVALID");
	if (rc == SK_OK && step->verify != NULL)
		rc = agent_stmt_verify(d->conn, step, err);
	if (rc == SK_OK)
		rc = eval_checks(s, step->post, step->npost, "post", pid, err);
	if (rc == SK_OK)
		rc = record_done(s, false, err);
	if (rc == SK_OK)
		rc = sk_pg_exec(d->conn, "commit", "COMMIT", NULL, err);
	if (rc != SK_OK)
		agent_tx_rollback(d->conn);
out:
	if (timeouts_set)
		agent_reset_session_timeouts(d->conn);
	sk_sql_script_destroy(script);
	free(names);
	free(state);
	return rc;
}

/* ---- the step ----------------------------------------------------------- */

static void
emit_step(step_run *s, int event, int64_t duration_ms, const sk_err *err)
{
	sk_report r;

	agent_report_init(&r, event, s->step->id, s->d->attempts[s->i]);
	r.duration_ms = duration_ms;
	r.rows = s->rows < 0 ? 0 : s->rows;
	r.lock_waits = s->lock_waits;
	r.lock_wait_ms = s->lock_wait_ms;
	if (event == SK_EV_STEP_FAILED || event == SK_EV_STEP_FINISHED) {
		r.nblockers = s->nblockers;
		memcpy(r.blockers, s->blockers, s->nblockers * sizeof(*s->blockers));
	}
	if (s->note[0] != '\0')
		snprintf(r.detail, sizeof(r.detail), "%s", s->note);
	if (err != NULL)
		r.error = *err;
	exec_send(s->d, &r);
}

/* "apply step ID in REGION/DB" before err's message, for a step; a phase's
 * checks leave it to their caller, which names the phase. */
static void
wrap_step(step_run *s, sk_err *err)
{
	if (s->id != NULL)
		sk_err_wrap(err, "apply step %s in %s/%s", s->id,
		    s->d->run->opts->region, s->d->db->name);
}

/* The error of a step (or phase checks) whose lock timeouts outlasted
 * its retries: SK_ELOCK naming the sessions last seen blocking it. */
static int
give_up(step_run *s, sk_err *err)
{
	char who[SK_ERR_MSG_MAX / 2], sqlstate[6];

	snprintf(sqlstate, sizeof(sqlstate), "%s", err->sqlstate);
	agent_blockers_format(s->blockers, s->nblockers, who, sizeof(who));
	if (agent_err_is_lock_timeout(err))
		sk_err_set(err, SK_ELOCK,
		    "gave up after %" PRIu32 " lock timeout%s of %" PRId64 " ms; %s%s",
		    s->lock_waits, s->lock_waits == 1 ? "" : "s",
		    s->step->lock_timeout_ms, who[0] != '\0' ? "blocked by " : "",
		    who[0] != '\0' ? who : "the blocking session was not seen");
	else
		sk_err_set(err, SK_ELOCK,
		    "gave up after %" PRIu32 " lock conflicts, the last a %s "
		    "(%s); %s%s",
		    s->lock_waits, agent_err_conflict_name(err), sqlstate,
		    who[0] != '\0' ? "last blocked by " : "",
		    who[0] != '\0' ? who : "no blocking session seen");
	wrap_step(s, err);
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate);
	snprintf(err->detail, sizeof(err->detail),
	    "%" PRIu32 " attempts, %" PRId64 " ms spent waiting for locks",
	    *s->attempt, s->lock_wait_ms);
	if (s->id != NULL)
		snprintf(err->hint, sizeof(err->hint),
		    "end or wait out the blocking session (pg_stat_activity), or "
		    "run the step when the table is quieter; raise lock_retries "
		    "only if waiting longer is acceptable");
	else
		snprintf(err->hint, sizeof(err->hint),
		    "end or wait out the blocking session (pg_stat_activity) and "
		    "run the plan again; the %s uses the lock_timeout and "
		    "lock_retries of step %s",
		    s->what, s->step->id);
	return SK_ELOCK;
}

/* Run attempt until it succeeds or fails for good. A lock timeout,
 * deadlock or serialization failure (the attempt rolled its transaction
 * back) counts a lock wait, is reported as LOCK_WAIT and is retried after
 * a jittered, doubling pause from the step's retry_backoff, up to its
 * lock_retries; past them SK_ELOCK (give_up). A stop requested during a
 * pause sets d->stopped and returns SK_ESTATE. s->nres and s->rows are
 * those of the last attempt. */
static int
run_attempts(step_run *s, int (*attempt)(step_run *, sk_err *), sk_err *err)
{
	db_run *d = s->d;
	const sk_step *lim = s->step;
	int64_t attempt_t0, pause;
	int64_t delay = lim->retry_backoff_ms > 0 ? lim->retry_backoff_ms : 1;
	char detail[256];
	int rc;

	for (;;) {
		s->nres = 0;
		s->rows = -1;
		attempt_t0 = sk_mono_ms();
		rc = attempt(s, err);
		if (rc == SK_OK || sk_pg_err_is_connection(err) ||
		    !agent_err_is_retryable(err))
			return rc;
		s->lock_waits++;
		s->lock_wait_ms += sk_mono_ms() - attempt_t0;
		if (s->lock_waits > lim->lock_retries)
			return give_up(s, err);
		pause = exec_backoff(d, &delay, LOCK_BACKOFF_MAX_MS);
		agent_lock_retry_detail(detail, sizeof(detail), err,
		    lim->lock_timeout_ms, s->lock_waits, lim->lock_retries, pause);
		emit_lock_wait(s, detail, err);
		if (exec_sleep_or_stop(d->run, pause)) {
			d->stopped = true;
			sk_err_set(err, SK_ESTATE,
			    "stopped while waiting to retry a lock timeout");
			wrap_step(s, err);
			return SK_ESTATE;
		}
		(*s->attempt)++;
	}
}

int
exec_step(db_run *d, size_t i, sk_err *err)
{
	exec_run *run = d->run;
	const sk_step *step = &run->plan->steps[i];
	int64_t t0 = sk_mono_ms();
	size_t nchecks = step->npre + step->npost;
	step_run s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.d = d;
	s.i = i;
	s.step = step;
	s.id = step->id;
	s.attempt = &d->attempts[i];
	snprintf(s.what, sizeof(s.what), "step %s", step->id);
	s.rows = -1;
	s.started_ms = sk_now_ms();
	s.res = calloc(nchecks + 1, sizeof(*s.res));
	if (s.res == NULL)
		return sk_err_set(err, SK_ENOMEM, "apply step %s in %s/%s: out of memory",
		    step->id, run->opts->region, d->db->name);

	d->attempts[i]++;
	emit_step(&s, SK_EV_STEP_STARTED, 0, NULL);
	rc = run_attempts(&s, step->no_transaction ? notx_attempt : tx_attempt, err);
	if (d->stopped)
		goto out;
	if (rc == SK_OK && s.recorded_meanwhile) {
		snprintf(s.note, sizeof(s.note), "recorded meanwhile by another agent");
		emit_step(&s, SK_EV_STEP_SKIPPED, sk_mono_ms() - t0, NULL);
		goto out;
	}
	if (rc == SK_OK) {
		emit_step(&s, SK_EV_STEP_FINISHED, sk_mono_ms() - t0, NULL);
		goto out;
	}
	if (err->code == SK_ESTATE && exec_stop_requested(run)) {
		/* Stopped while waiting for the pooled ledger lock: the plan
		 * resumes from the ledger next time. */
		d->stopped = true;
		goto out;
	}
	if (err->code != SK_ELOCK)
		wrap_step(&s, err);
	if (strcmp(err->sqlstate, "57014") == 0 && err->hint[0] == '\0')
		/* Not retried: the same work would take as long again. */
		snprintf(err->hint, sizeof(err->hint),
		    "a statement of the step ran longer than its statement_timeout "
		    "(%" PRId64 " ms) and was cancelled; it is not retried. Raise "
		    "statement_timeout for the step, or split the work",
		    step->statement_timeout_ms);
	if (sk_pg_err_is_connection(err)) {
		/* Nothing can be recorded now; the next session will. */
		d->interrupted = true;
		snprintf(d->interrupted_step, sizeof(d->interrupted_step), "%s",
		    step->id);
		d->interrupted_err = *err;
		goto out;
	}
	/* The transaction is gone: record what the checks saw, and why. */
	exec_record_checks_after(d, step->id, s.res, s.nres);
	exec_record_event(d, "step-failed", step->id, err);
	emit_step(&s, SK_EV_STEP_FAILED, sk_mono_ms() - t0, err);
out:
	free(s.res);
	return rc;
}

/* ---- a phase's checks --------------------------------------------------- */

/* One attempt: the checks in a transaction that is always rolled back. */
static int
phase_attempt(step_run *s, sk_err *err)
{
	db_run *d = s->d;
	int pid = 0, rc;

	rc = exec_begin(d, s->step, err);
	if (rc != SK_OK)
		return rc;
	rc = agent_backend_pid(d->conn, d->pooled, &pid, err);
	if (rc == SK_OK)
		rc = eval_checks(s, s->checks, s->nchecks, s->when, pid, err);
	agent_tx_rollback(d->conn);
	return rc;
}

int
exec_phase_checks(db_run *d, const sk_check *checks, size_t n, const char *when,
    const sk_step *limits, sk_check_result *res, size_t *nres, sk_err *err)
{
	const sk_phase *ph = d->run->phase;
	uint32_t attempt = 1;
	step_run s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.d = d;
	s.step = limits;
	s.attempt = &attempt;
	snprintf(s.what, sizeof(s.what), "phase %s %s-check",
	    ph != NULL && ph->name != NULL ? ph->name : "-", when);
	s.checks = checks;
	s.nchecks = n;
	s.when = when;
	s.res = res;
	s.rows = -1;
	rc = run_attempts(&s, phase_attempt, err);
	*nres = s.nres;
	return rc;
}

/* agent_exec_int: what agent_exec.c (the per-database walk),
 * agent_exec_guard.c (preflight, phase checks, backup) and
 * agent_exec_step.c (running one step, and the phase checks' watched,
 * retried attempts) share. Internal to the executor: nothing outside
 * those three files includes it.
 */
#ifndef AGENT_EXEC_INT_H
#define AGENT_EXEC_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "agent_exec.h"
#include "agent_ledger.h"
#include "agent_modes.h"
#include "sk_pg.h"

typedef struct exec_run exec_run;

/* One database's run: owned by the worker thread handling it. */
typedef struct db_run {
	exec_run *run;
	const sk_db_config *db;
	bool pooled; /* through a transaction pooler: no session state */
	PGconn *conn;
	/* Opened on first need to watch a waiting step; never inside a
	 * transaction, so that it cannot hold up CREATE INDEX CONCURRENTLY. */
	PGconn *monitor;
	int64_t monitor_retry_at; /* mono ms: do not reconnect before */
	bool *recorded;     /* per step: in the ledger with our checksum */
	uint32_t *attempts; /* per step: times tried in this run */
	uint64_t rng;
	uint32_t conn_attempt; /* connection attempts so far */
	int64_t delay_ms;      /* next connection backoff */
	bool preflight_done;
	bool phase_pre_done;
	bool backup_done;
	bool stopped;
	/* A step cut off by a lost connection, recorded in the ledger's
	 * events once we are connected again. */
	bool interrupted;
	char interrupted_step[SK_NAME_MAX];
	sk_err interrupted_err;
	agent_db_ctx ctx; /* refreshed by exec_ctx */
	int rc;
	sk_err err;
} db_run;

/* What every worker shares. Only `next` changes, under mu. */
struct exec_run {
	const sk_plan *plan;
	const agent_exec_opts *opts;
	const sk_phase *phase; /* the phase containing opts->region, or NULL */
	const char *verb;      /* "apply", "rehearse", "roll back" */
	int64_t retry_min_ms;
	int64_t retry_max_ms;
	char appname[SK_NAME_MAX + 16];
	char monitor_appname[SK_NAME_MAX + 24];
	char lock_key[24];
	char lock_classid[16];
	char lock_objid[16];
	char (*hex)[AGENT_LEDGER_HEX_LEN];      /* per step */
	char (*text_hex)[AGENT_LEDGER_HEX_LEN]; /* per step; "" when none */
	db_run *dbs;
	pthread_mutex_t mu;
	size_t next;
};

/* agent_exec.c (check reporting and recording: agent_exec_guard.c) */
bool exec_stop_requested(const exec_run *run);
bool exec_sleep_or_stop(const exec_run *run, int64_t ms);
int64_t exec_backoff(db_run *d, int64_t *delay, int64_t cap);
void exec_send(db_run *d, sk_report *r);
void exec_emit(db_run *d, int event, const char *step_id, uint32_t attempt,
    int64_t duration_ms, int64_t rows, const char *detail, const sk_err *err);
void exec_disconnect(db_run *d);
void exec_record_event(
    db_run *d, const char *event, const char *step_id, const sk_err *cause);
void exec_emit_check(db_run *d, const char *step_id, const sk_check_result *res);
int exec_record_check(db_run *d, const char *step_id,
    const sk_check_result *res, sk_err *err) SK_WARN_UNUSED;
void exec_record_checks_after(
    db_run *d, const char *step_id, const sk_check_result *res, size_t n);
const agent_db_ctx *exec_ctx(db_run *d);
int exec_begin(db_run *d, const sk_step *step, sk_err *err) SK_WARN_UNUSED;

/* agent_exec_guard.c: the plan's preflight (SK_EPREFLIGHT naming every
 * failed check); the region's phase checks with the limits of step
 * `limits`, watched and retried as exec_phase_checks says (SK_ECHECK,
 * SK_ELOCK); the backup (SK_EBACKUP). Each reports and records what it
 * saw. */
int exec_run_preflight(db_run *d, sk_err *err) SK_WARN_UNUSED;
int exec_run_phase_checks(db_run *d, const sk_check *checks, size_t n,
    const char *when, const sk_step *limits, sk_err *err) SK_WARN_UNUSED;
int exec_take_backup(db_run *d, sk_err *err) SK_WARN_UNUSED;

/* agent_exec_step.c: run step i (not in the ledger) to completion,
 * retrying lock timeouts, and report it (STEP_STARTED, CHECK, LOCK_WAIT,
 * STEP_FINISHED or STEP_FAILED). On a lost connection it records nothing,
 * sets d->interrupted and returns the connection error. */
int exec_step(db_run *d, size_t i, sk_err *err) SK_WARN_UNUSED;

/* agent_exec_step.c: evaluate the phase's checks (n of them, `when` "pre"
 * or "post") the way a step's are: in a transaction that is always rolled
 * back, under the lock and statement timeouts of step limits, each
 * statement watched for blockers (LOCK_WAIT without a step id), every
 * result reported (CHECK); a lock timeout, deadlock or serialization
 * failure is retried with limits' backoff up to its lock_retries, then
 * SK_ELOCK naming the blockers. res (n entries) receives the last
 * attempt's results, *nres how many; the caller records them and names
 * the phase in the error. SK_ECHECK for the first check that did not
 * hold; SK_ESTATE with d->stopped set when stopped between attempts. */
int exec_phase_checks(db_run *d, const sk_check *checks, size_t n,
    const char *when, const sk_step *limits, sk_check_result *res, size_t *nres,
    sk_err *err) SK_WARN_UNUSED;

#endif

/* agent_exec_int: what agent_exec.c (the per-database walk),
 * agent_exec_db.c (the context and reports of one database's run),
 * agent_exec_guard.c (preflight, backup) and agent_exec_step.c (one step
 * through its kind, a phase's checks) share. Internal to the executor:
 * nothing outside those four files includes it.
 */
#ifndef AGENT_EXEC_INT_H
#define AGENT_EXEC_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "agent_db.h"
#include "agent_exec.h"
#include "agent_ledger.h"
#include "agent_watch.h"
#include "sk_pg.h"

typedef struct exec_run exec_run;

/* One database's run: owned by the worker thread handling it. */
typedef struct db_run {
	exec_run *run;
	const sk_db_config *db;
	bool pooled; /* through a transaction pooler: no session state */
	PGconn *conn;
	agent_watch watch;  /* who blocks a waiting statement */
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
	const struct exec_mode *mode; /* what runs in each database */
	int64_t retry_min_ms;
	int64_t retry_max_ms;
	char appname[SK_NAME_MAX + 16];
	char lock_key[24];
	char lock_classid[16];
	char lock_objid[16];
	char (*hex)[AGENT_LEDGER_HEX_LEN];      /* per step */
	char (*text_hex)[AGENT_LEDGER_HEX_LEN]; /* per step; "" when none */
	db_run *dbs;
	pthread_mutex_t mu;
	size_t next;
};

/* A mode (sk_mode) as data: how the executor names it, whether it
 * creates or upgrades the ledger, and the walk it runs on each open
 * session. */
typedef struct exec_mode {
	const char *verb; /* "apply", "rehearse", "roll back" */
	bool writes_ledger;
	int (*walk)(db_run *d, sk_err *err);
} exec_mode;

/* agent_exec_db.c */
bool exec_stop_requested(const exec_run *run);
bool exec_sleep_or_stop(const exec_run *run, int64_t ms);
void exec_send(db_run *d, sk_report *r);
void exec_emit(db_run *d, int event, const char *step_id, uint32_t attempt,
    int64_t duration_ms, int64_t rows, const char *detail, const sk_err *err);
void exec_disconnect(db_run *d);
/* The context handed to the kinds and the modes, for d's current
 * connection. */
const agent_db_ctx *exec_ctx(db_run *d);

/* agent_exec_guard.c: the plan's preflight (SK_EPREFLIGHT naming every
 * failed check) and the backup (SK_EBACKUP). Each reports and records
 * what it saw. */
int exec_run_preflight(db_run *d, sk_err *err) SK_WARN_UNUSED;
int exec_take_backup(db_run *d, sk_err *err) SK_WARN_UNUSED;

/* agent_exec_guard.c: agent_db_ctx.before_revert of a rollback (arg is
 * the db_run): the verified backup of the database before its first
 * revert, reported and recorded like a plan's backup, unless the
 * rollback command said --no-backup or the plan says rollback_backup:
 * false. SK_EBACKUP, with a hint, when it cannot be taken (no backup_dir
 * included). */
int exec_backup_before_revert(void *arg, sk_err *err) SK_WARN_UNUSED;

/* agent_exec_step.c: apply step i (not in the ledger) through its kind
 * to completion, retrying lock conflicts, and report it (STEP_STARTED,
 * CHECK, LOCK_WAIT, STEP_FINISHED, STEP_SKIPPED or STEP_FAILED). On a
 * lost connection it records nothing, sets d->interrupted and returns the
 * connection error. */
int exec_step(db_run *d, size_t i, sk_err *err) SK_WARN_UNUSED;

/* agent_exec_step.c: evaluate the phase's checks (n of them, `when` "pre"
 * or "post") in a transaction that is always rolled back, under the
 * lock and statement timeouts of step limits, watched and retried like a
 * step's (SK_ELOCK past limits' lock_retries); every result is reported
 * and recorded. SK_ECHECK for the first check that did not hold; errors
 * name the phase. A stop while waiting sets d->stopped. */
int exec_run_phase_checks(db_run *d, const sk_check *checks, size_t n,
    const char *when, const sk_step *limits, sk_err *err) SK_WARN_UNUSED;

#endif

/* agent_modes_int: what agent_modes.c (reporting, watching a running
 * statement, checks) shares with agent_rehearse.c and agent_rollback.c.
 * Internal to the modes: nothing else includes it. One mode_run per
 * database and call; used by that call's thread only.
 */
#ifndef AGENT_MODES_INT_H
#define AGENT_MODES_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "agent_modes.h"

/* One database's rehearsal or rollback. */
typedef struct mode_run {
	const agent_db_ctx *c;
	char appname[SK_NAME_MAX + 32];
	/* Opened on the first long wait to ask who blocks us; never holds a
	 * transaction. Not retried once it failed: watching is a courtesy
	 * and must never fail a step. */
	PGconn *monitor;
	bool monitor_failed;
	uint64_t rng;
	/* The step running now, for what watching reports. */
	const sk_step *step;
	uint32_t attempt;
	uint32_t lock_waits;
	int64_t lock_wait_ms;
	sk_blocker blockers[SK_BLOCKERS_MAX]; /* the last non-empty list */
	size_t nblockers;
} mode_run;

void mode_init(mode_run *m, const agent_db_ctx *c);
/* Close the monitor connection, if any. */
void mode_fini(mode_run *m);

/* SK_EINVAL unless c is complete (connection, plan with step ids, hex
 * per step, region, database); SK_ESTATE when c->conn is inside a
 * transaction. verb ("rehearse", "roll back") starts the message. */
int mode_check_ctx(const agent_db_ctx *c, const char *verb, sk_err *err) SK_WARN_UNUSED;

/* Whether *c->stop is set. */
bool mode_stopped(const agent_db_ctx *c);

/* Sleep ms in short slices; returns true if *c->stop was set meanwhile. */
bool mode_sleep_or_stop(const agent_db_ctx *c, int64_t ms);

/* Report event through c->emit. rows < 0 is sent as 0; the step's lock
 * waits go with every event, its blockers with STEP_FAILED and
 * STEP_REVERTED. detail and err may be NULL. */
void mode_emit(const mode_run *m, int event, const char *step_id, uint32_t attempt,
    int64_t duration_ms, int64_t rows, const char *detail, const sk_err *err);

/* Report a check result (SK_EV_CHECK); detail names the phase. */
void mode_emit_check(
    const mode_run *m, const char *step_id, const sk_check_result *res);

/* Report SK_EV_LOCK_WAIT for m->step (NULL: no step, a phase's checks)
 * with m's blockers; detail NULL means the blockers, formatted. */
void mode_emit_lock_wait(const mode_run *m, const char *detail, const sk_err *err);

/* agent_stmt_run on c->conn, watched for m->step: a monitor connection
 * asks who blocks pid (0: nobody to ask about) and reports it
 * (SK_EV_LOCK_WAIT, m->blockers). The verify script, the rows of a result
 * and the retry backoff are agent_stmt's (agent_stmt.h). */
int mode_run_watched(mode_run *m, const char *what, const char *sql, int pid,
    PGresult **out, int64_t *rows, sk_err *err) SK_WARN_UNUSED;

/* Turn err, a lock timeout, into SK_ELOCK: "WHAT; blocked by pid ..." (the
 * blockers the monitor saw last). Keeps SQLSTATE 55P03. */
void mode_lock_error(const mode_run *m, const char *what, sk_err *err);

/* Fail with SK_EINVAL ("WHAT:LINE: COMMIT would end or split skein's
 * transaction") when sql holds transaction control (COMMIT, ROLLBACK,
 * SAVEPOINT, PREPARE TRANSACTION, ...). In a rehearsal such a statement
 * would commit or abandon the transaction everything relies on being
 * rolled back, and run what follows it for real; in a revert it would
 * commit the revert apart from its ledger change. A script that does not
 * parse fails too (sk_sql_parse's error). NULL sql passes. */
int mode_refuse_tx_control(const char *sql, const char *what, sk_err *err) SK_WARN_UNUSED;

/* Evaluate checks in the open transaction, reporting each result; each
 * check's statement is watched like a step's SQL (pid: the transaction's
 * backend, 0 for none; limits: the step whose lock_timeout is in force,
 * NULL for default timing). All are evaluated; SK_ECHECK for the first
 * that did not hold. A check whose query fails returns that error (the
 * transaction is then aborted); a lock timeout becomes SK_ELOCK, "check
 * NAME (WHEN): lock timeout after N ms; blocked by pid ..." (SQLSTATE
 * 55P03 kept). m->step is the step the checks belong to (NULL: a phase's
 * checks). */
int mode_eval_checks(mode_run *m, const char *step_id, const sk_check *checks,
    size_t n, const char *when, const sk_step *limits, int pid,
    sk_err *err) SK_WARN_UNUSED;

#endif

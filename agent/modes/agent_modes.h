/* agent_modes: what a rollout does in one database besides applying the
 * plan (sk_mode): rehearsing it (run and roll back, change nothing) and
 * rolling it back (the reverts of completed steps, newest first).
 *
 * agent_exec owns the per-database thread: it connects, takes the ledger
 * lock (direct connections), checks the ledger, then hands the open
 * session to agent_rehearse_db or agent_rollback_db according to
 * agent_exec_opts.mode. These functions walk the plan on that session and
 * report through ctx->emit; agent_exec then reports DB_FINISHED or
 * DB_FAILED (with err) and closes the connection.
 *
 * A connection lost in the middle (sk_pg_err_is_connection(err)) makes
 * agent_exec reconnect and call the function again, so both must be
 * restartable from the ledger, like the apply walk.
 */
#ifndef AGENT_MODES_H
#define AGENT_MODES_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "agent_ledger.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_wire.h"

/* Fill in rollout_id, plan_id, database and at_ms (when 0) of r and send
 * it. Thread-safe; does not block for long. */
typedef void (*agent_emit_fn)(void *arg, sk_report *r);

/* Clear r and set its event, step id (NULL: none) and attempt: the start
 * of every report an agent sends. */
void agent_report_init(sk_report *r, int event, const char *step_id, uint32_t attempt);

/* Start r as the SK_EV_CHECK report of res; its detail names phase (when
 * not NULL), so that a check of no step says where it belongs. */
void agent_report_check(sk_report *r, const char *step_id,
    const sk_check_result *res, const sk_phase *phase);

/* One database's session as agent_exec hands it over. Everything is
 * borrowed and lives until the call returns. */
typedef struct agent_db_ctx {
	/* Connected by sk_pg_connect (or its pooled variant) and outside a
	 * transaction. Direct (pooled == false): skein's session advisory
	 * lock is held and search_path is "public" for the session; the
	 * ledger exists and is current (apply, rollback) or exists in some
	 * version or not at all (rehearse: agent_ledger_ensure was NOT
	 * called, nothing has been written). Pooled: no session state of any
	 * kind; begin every transaction with agent_tx_begin. */
	PGconn *conn;
	const sk_plan *plan;
	const sk_phase *phase; /* the phase that contains region; may be NULL */
	const char *region;
	const char *database;
	const char *rollout_id;
	/* Per step (plan->nsteps entries): hex of the step's checksum, and of
	 * its format-1 text checksum ("" when the plan carries none). A
	 * ledger row matching either is the same step. */
	const char (*hex)[AGENT_LEDGER_HEX_LEN];
	const char (*text_hex)[AGENT_LEDGER_HEX_LEN];
	bool pooled; /* connection through a transaction-pooling PgBouncer */
	atomic_int *stop; /* non-zero: stop before the next step; may be NULL */
	agent_emit_fn emit;
	void *emit_arg;
	/* The database's conninfo, e.g. to open a monitor connection (use
	 * sk_pg_connect; never hold a transaction open on it). Holds secrets:
	 * never log it. */
	const char *conninfo;
} agent_db_ctx;

/* Begin a transaction the way every transaction skein opens must start:
 * BEGIN; with ctx->pooled, pg_try_advisory_xact_lock on the ledger key and
 * SET LOCAL search_path = public (while another session holds the key the
 * transaction is rolled back, DB_WAITING is emitted and it is tried again
 * with backoff; a *stop meanwhile fails with SK_ESTATE); then, when step
 * is not NULL, SET LOCAL lock_timeout and statement_timeout from the
 * step's limits. On success the transaction is open; on failure none is.
 * Implemented in agent_exec.c. */
int agent_tx_begin(const agent_db_ctx *ctx, const sk_step *step, sk_err *err) SK_WARN_UNUSED;

/* Best-effort ROLLBACK of whatever transaction is open on conn (none, or
 * an aborted one). Implemented in agent_exec.c. */
void agent_tx_rollback(PGconn *conn);

/* Rehearse the plan in this database: run each transactional step that is
 * not yet in the ledger, with its checks, inside a transaction that is
 * rolled back, and report STEP_REHEARSED or STEP_NOT_REHEARSABLE per
 * step. Changes nothing in the database (not even the ledger). Returns
 * SK_OK when the database is READY; otherwise the first reason it is
 * BLOCKED. Implemented in agent_modes.c. */
int agent_rehearse_db(const agent_db_ctx *ctx, sk_err *err) SK_WARN_UNUSED;

/* Roll the plan back in this database: run the revert scripts of the
 * steps recorded in the ledger, newest first, each in a transaction with
 * its ledger change, reporting STEP_REVERTED. Returns SK_OK when every
 * completed step was reverted. Implemented in agent_modes.c. */
int agent_rollback_db(const agent_db_ctx *ctx, sk_err *err) SK_WARN_UNUSED;

#endif

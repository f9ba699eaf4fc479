/* agent_modes: what a rollout does in one database besides applying the
 * plan (sk_mode): rehearsing it (run and roll back, change nothing) and
 * rolling it back (the reverts of completed steps, newest first).
 *
 * agent_exec owns the per-database thread: it connects, takes the ledger
 * lock (direct connections), checks the ledger, then hands the open
 * session to agent_rehearse_db (agent_rehearse.c) or agent_rollback_db
 * (agent_rollback.c) according to agent_exec_opts.mode. These walk the
 * plan on that session, each step through its kind (agent_kinds.h), and
 * report through ctx->emit; agent_exec then reports DB_FINISHED or
 * DB_FAILED (with err) and closes the connection.
 *
 * A connection lost in the middle (sk_pg_err_is_connection(err)) makes
 * agent_exec reconnect and call the function again, so both must be
 * restartable from the ledger, like the apply walk.
 */
#ifndef AGENT_MODES_H
#define AGENT_MODES_H

#include "agent_db.h"
#include "sk_err.h"

/* Rehearse the plan in this database: run each step that is not yet in
 * the ledger and whose kind can be rehearsed, with its checks, inside a
 * transaction that is rolled back, and report STEP_REHEARSED or
 * STEP_NOT_REHEARSABLE per step. Changes nothing in the database (not
 * even the ledger). Returns SK_OK when the database is READY; otherwise
 * the first reason it is BLOCKED, the others listed in err's message. */
int agent_rehearse_db(const agent_db_ctx *ctx, sk_err *err) SK_WARN_UNUSED;

/* Roll the plan back in this database: revert the steps recorded in the
 * ledger, newest first, each through its kind with its ledger change,
 * reporting STEP_REVERTED. Refused before anything runs when a recorded
 * step has no revert script (and its kind needs one), was recorded with
 * another checksum, or is not in this plan; then, when there is a step to
 * revert, ctx->before_revert (the backup) runs, and its failure refuses
 * the rollback too. Returns SK_OK when every completed step was
 * reverted. With ctx->flags_only (a rollback's flags-first pass) only
 * the steps whose kind flips first are reverted, without a backup; the
 * other steps, and steps not in the plan, are left to the full pass. */
int agent_rollback_db(const agent_db_ctx *ctx, sk_err *err) SK_WARN_UNUSED;

#endif

/* agent_db: one database's session as every part of the agent sees it —
 * the executor, the step kinds and the modes (rehearse, rollback): the
 * context (agent_db_ctx), reports sent through it, transactions begun the
 * way skein begins every transaction, and what is written to the ledger
 * about checks and failures.
 *
 * Functions are as thread-safe as the connection in the context (one
 * thread per database); the emit callback must be thread-safe.
 */
#ifndef AGENT_DB_H
#define AGENT_DB_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent_control.h"
#include "agent_ledger.h"
#include "agent_watch.h"
#include "sk_err.h"
#include "sk_key.h"
#include "sk_plan.h"
#include "sk_wire.h"

/* moves: move.h's (C11 allows the typedef twice); the executor only
 * carries the peers, the move step reads them. */
typedef struct move_peer move_peer;

/* Fill in rollout_id, plan_id, database and at_ms (when 0) of r and send
 * it. Thread-safe; does not block for long. */
typedef void (*agent_emit_fn)(void *arg, sk_report *r);

/* One database's session as agent_exec hands it over. Everything is
 * borrowed and lives until the call it is passed to returns. */
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
	/* Who blocks a waiting statement: the database's monitor
	 * connection, kept across steps. NULL: each mode call keeps its own. */
	agent_watch *watch;
	/* Rollback: what must happen before the first revert (the verified
	 * backup of the database, or the reason there is none), called with
	 * before_revert_arg once the rollback's preconditions held and there
	 * is something to revert; SK_OK lets the reverts run, anything else
	 * refuses the rollback with nothing reverted. NULL: nothing. */
	int (*before_revert)(void *arg, sk_err *err);
	void *before_revert_arg;
	/* The session's word while the rollout runs (agent_control.h); NULL:
	 * never paused or tuned, the coordinator always heard. */
	agent_control *control;
	/* flags: rollback only the steps whose kind flips first (a
	 * rollback's flags-first pass); no backup is taken for them. */
	bool flags_only;
	/* moves: the SOURCE peer of each move step into this region, as
	 * the coordinator's RUN said (move.h; borrowed from the run; none:
	 * NULL, 0). A move step finds its own by step id. */
	const move_peer *move_peers;
	size_t nmove_peers;
	/* moves: this agent's key, which signs its side of a move's
	 * verification (borrowed; NULL in tests that run no move). */
	const sk_seckey *key;
} agent_db_ctx;

/* SK_EINVAL unless c is complete (connection, plan with step ids, hex
 * per step, region, database); SK_ESTATE when c->conn is inside a
 * transaction. verb ("rehearse", "roll back") starts the message. */
int agent_db_ctx_check(const agent_db_ctx *c, const char *verb, sk_err *err) SK_WARN_UNUSED;

/* Clear r and set its event, step id (NULL: none) and attempt: the start
 * of every report an agent sends. */
void agent_report_init(sk_report *r, int event, const char *step_id, uint32_t attempt);

/* Start r as the SK_EV_CHECK report of res; its detail names phase (when
 * not NULL), so that a check of no step says where it belongs. */
void agent_report_check(sk_report *r, const char *step_id,
    const sk_check_result *res, const sk_phase *phase);

/* Send r through c->emit (nothing when c has none). */
void agent_db_send(const agent_db_ctx *c, sk_report *r);

/* Report event with the given figures (rows < 0 is sent as 0); detail and
 * err may be NULL. */
void agent_db_emit(const agent_db_ctx *c, int event, const char *step_id,
    uint32_t attempt, int64_t duration_ms, int64_t rows, const char *detail,
    const sk_err *err);

/* Report a check result (SK_EV_CHECK); detail names c's phase. */
void agent_db_emit_check(
    const agent_db_ctx *c, const char *step_id, const sk_check_result *res);

/* Whether *c->stop is set. */
bool agent_db_stopped(const agent_db_ctx *c);

/* Sleep ms in short slices; returns true if *c->stop was set meanwhile. */
bool agent_db_sleep_or_stop(const agent_db_ctx *c, int64_t ms);

/* Hold before step step_id (the next to run; verb "apply", "roll back"
 * names what) while the operator has the rollout paused (c->control):
 * the step before it has finished and none starts. Reports once that the
 * database is paused (DB_WAITING, "paused by the operator before step
 * X") and once that it goes on (DB_STARTED, with the time paused), and
 * logs both. The session stays open, with skein's lock held. SK_OK at
 * once when not paused; SK_ESTATE (a requested stop, no report) when
 * *c->stop is set while paused. */
int agent_db_hold_while_paused(const agent_db_ctx *c, const char *verb,
    const char *step_id, sk_err *err) SK_WARN_UNUSED;

/* Begin a transaction the way every transaction skein opens must start:
 * BEGIN; with c->pooled, pg_try_advisory_xact_lock on the ledger key and
 * SET LOCAL search_path = public (while another session holds the key the
 * transaction is rolled back, DB_WAITING is emitted and it is tried again
 * with backoff; a *stop meanwhile fails with SK_ESTATE); then, when step
 * is not NULL, SET LOCAL lock_timeout and statement_timeout from the
 * step's limits. On success the transaction is open; on failure none is. */
int agent_tx_begin(const agent_db_ctx *c, const sk_step *step, sk_err *err) SK_WARN_UNUSED;

/* Best-effort ROLLBACK of whatever transaction is open on conn (none, or
 * an aborted one). */
void agent_tx_rollback(PGconn *conn);

/* Record a check result in the ledger (skein.checks) for step_id (NULL:
 * a preflight or phase check), in the open transaction or on its own.
 * mode is what ran it ("apply"). Database errors as agent_ledger's. */
int agent_db_record_check(const agent_db_ctx *c, const char *step_id,
    const char *mode, const sk_check_result *res, sk_err *err) SK_WARN_UNUSED;

/* Record n results outside a transaction (after a rollback); a failure
 * is logged, not returned: the error that made us roll back matters
 * more. Nothing happens on a broken connection. */
void agent_db_record_checks_after(const agent_db_ctx *c, const char *step_id,
    const sk_check_result *res, size_t n);

/* Record event ("step-failed", "drift", "revert-failed", ...) for step_id
 * with cause's SQLSTATE, message and detail in skein.events; best effort
 * (logged), and nothing on a broken connection. */
void agent_db_record_event(const agent_db_ctx *c, const char *event,
    const char *step_id, const sk_err *cause);

#endif

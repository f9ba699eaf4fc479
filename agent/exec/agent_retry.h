/* agent_retry: the one engine that runs a step's work (or a phase's
 * checks) against a busy database, in every mode: apply, rollback and —
 * without retries — rehearsal. It
 *
 *   - runs statements watched: while one waits, the database's monitor
 *     connection names who blocks it, reported as LOCK_WAIT;
 *   - does not queue behind a long transaction: before each attempt it
 *     asks the monitor whether a transaction open longer than the step's
 *     lock_timeout holds a lock that conflicts with one the step will
 *     take, and if so waits, without joining the lock queue, until that
 *     transaction ends, then attempts at once (see "Long transactions"
 *     below);
 *   - retries an attempt that failed on a lock timeout, deadlock or
 *     serialization failure (the attempt rolled its transaction back)
 *     after a jittered, doubling pause from the step's retry_backoff, up
 *     to its lock_retries, reporting each retry;
 *   - gives up with SK_ELOCK naming the sessions last seen blocking it.
 *
 * Since every attempt gives up its lock request after lock_timeout,
 * sessions queued behind it wait at most that long (docs/safety.md).
 *
 * Long transactions. A step's lock request that waits in PostgreSQL's
 * lock queue stalls every later request on the table, writes included,
 * for as long as it waits. Against a transaction that has been open for
 * longer than lock_timeout (a long report, a session idle in
 * transaction) an attempt would only time out and try again, stalling
 * the writers each time; so the engine waits for that transaction to end
 * without queueing, polling on the monitor connection every 25 ms
 * whether the backend still runs the same transaction (pid and
 * xact_start), and attempts as soon as it has ended. It learns of such a
 * transaction in two ways:
 *
 *   - before any attempt, from the tables the step's SQL locks, read from
 *     its parse tree with the lock mode of each statement
 *     (agent_lock_targets: ALTER TABLE, CREATE INDEX, TRUNCATE, ...),
 *     and pg_locks on the monitor (agent_long_holders);
 *   - after an attempt that timed out, from the sessions seen blocking it
 *     that are in a transaction open longer than lock_timeout: what the
 *     parse tree does not say (DML, LOCK TABLE, the table a foreign key
 *     references, a phase's checks) costs one attempt, no more.
 *
 * Younger blockers (the churn of short writes) are queued behind as
 * before: the attempt is bounded by lock_timeout, and a timeout with no
 * long transaction behind it is retried after the backoff. Autovacuum
 * workers are not waited for (a queued lock request cancels them), nor
 * prepared transactions (no backend to watch).
 *
 * The wait is bounded by the step's retry budget (agent_retry_budget_ms):
 * the longest that lock_retries + 1 attempts of lock_timeout with the
 * pauses between them could take, counted from the start of the run
 * (less what a failed attempt spent past one lock_timeout: its own work).
 * A long transaction that outlasts it fails the run with SK_ELOCK naming
 * it, nothing changed. A stop request ends the wait (SK_ESTATE,
 * a->stopped). While it waits the engine reports LOCK_WAIT about every
 * second, naming the transaction and saying that it waits without
 * queueing. Without a monitor (c->watch NULL, or it cannot connect), with
 * lock_timeout 0 (no limit), or in a rehearsal (which does not use this
 * engine's retries) the engine queues as described first.
 *
 * One agent_attempts per step run, used by the database's thread only.
 */
#ifndef AGENT_RETRY_H
#define AGENT_RETRY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent_db.h"
#include "agent_locks.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_wire.h"

typedef struct agent_attempts {
	const agent_db_ctx *c;
	const sk_step *limits; /* whose lock_timeout, retries, backoff apply */
	const char *step_id;   /* reported; NULL: a phase's checks */
	uint32_t attempt;      /* the attempt running now, from 1 */
	uint32_t lock_waits;   /* attempts that ended in a lock conflict */
	int64_t lock_wait_ms;  /* time those attempts took */
	sk_blocker blockers[SK_BLOCKERS_MAX]; /* the last non-empty list */
	size_t nblockers;
	uint64_t rng;
	bool stopped; /* a stop was requested while waiting to retry */
	/* Long transactions: the script whose tables are looked at before
	 * an attempt (see agent_attempts_lock_sql), its tables once parsed,
	 * the long transactions the last timed-out attempt showed, and the
	 * time spent waiting for such transactions without queueing (also
	 * counted in lock_wait_ms). */
	const char *lock_sql;
	bool targets_parsed;
	agent_lock_target targets[AGENT_LOCK_TARGETS_MAX];
	size_t ntargets;
	agent_long_xact learned[SK_BLOCKERS_MAX];
	size_t nlearned;
	int64_t unqueued_ms;
} agent_attempts;

/* Start a step's run: attempt 1, no waits. limits must not be NULL.
 * step_id may be NULL (a phase's checks). Statements are watched through
 * c->watch (NULL: not watched). Holds nothing: there is no fini. */
void agent_attempts_init(agent_attempts *a, const agent_db_ctx *c,
    const sk_step *limits, const char *step_id);

/* The SQL whose table locks agent_retry looks at before each attempt
 * (borrowed; it must outlive the run). By default the step's sql when
 * step_id is not NULL (apply), none for a phase's checks; a rollback
 * gives the revert script. NULL: none; long transactions are then only
 * learned from a timed-out attempt. */
void agent_attempts_lock_sql(agent_attempts *a, const char *sql);

/* The retry budget of a step with limits: the longest lock_retries + 1
 * attempts of lock_timeout_ms and the lock_retries pauses between them
 * could take, each pause at most its un-jittered backoff (retry_backoff
 * doubling, capped at 30 s). E.g. lock_timeout 300 ms, 3 retries,
 * backoff 200 ms: 4 x 300 + 200 + 400 + 800 = 2600 ms. 0 when
 * lock_timeout_ms is 0 (no limit). Saturates at INT64_MAX / 2. */
int64_t agent_retry_budget_ms(const sk_step *limits);

/* agent_stmt_run on conn, watched: before lock_timeout fires and then
 * every second, the monitor asks who blocks pid (0: nobody to ask about)
 * and reports it (LOCK_WAIT, a->blockers). what (may be NULL) names the
 * operation in errors. Ownership and errors as agent_stmt_run. */
int agent_attempts_sql(agent_attempts *a, PGconn *conn, const char *what,
    const char *sql, int pid, PGresult **out, int64_t *rows, sk_err *err) SK_WARN_UNUSED;

/* The watch callback of agent_attempts_sql, for agent_check_watch:
 * arg is the agent_attempts. */
void agent_attempts_watch(void *arg, int pid);

/* Report SK_EV_LOCK_WAIT with a's figures and blockers; detail NULL means
 * the blockers, formatted. */
void agent_attempts_emit_lock_wait(
    const agent_attempts *a, const char *detail, const sk_err *err);

/* Turn err, a lock timeout, into SK_ELOCK: "WHAT; blocked by pid ..."
 * (the blockers seen last, or "the blocking session was not seen").
 * Keeps the SQLSTATE. */
void agent_attempts_lock_error(const agent_attempts *a, const char *what, sk_err *err);

/* One attempt: do the work, leaving no transaction open. */
typedef int (*agent_attempt_fn)(void *arg, sk_err *err);

/* Run attempt(arg) until it succeeds or fails for good. Before each
 * attempt, a long transaction holding the step's tables is waited out
 * without queueing (above). A retryable conflict (agent_err_is_retryable)
 * counts a lock wait, is reported as LOCK_WAIT and is tried again — at
 * once after the long transactions a lock timeout showed have ended,
 * else after the backoff — up to the limits' lock_retries; past them
 * SK_ELOCK: "gave up after N lock timeouts of T ms; blocked by ..." (or
 * "... lock conflicts, the last a deadlock (40P01); last blocked by
 * ..."), with the conflict's SQLSTATE and the detail "N attempts, M ms
 * spent waiting for locks". A long transaction that outlasts the retry
 * budget: SK_ELOCK "gave up after waiting D without queueing for a long
 * transaction to end (the step's retry budget, B: N attempts of T ms and
 * the backoff between them); blocked by ...", SQLSTATE 55P03, detail "K
 * lock timeouts, M ms spent waiting for locks, U ms of them without
 * queueing". The caller adds where and a
 * hint. A lost connection or another error is returned as it came. A stop
 * requested during a pause or a wait sets a->stopped and fails with
 * SK_ESTATE "stopped while waiting to retry a lock timeout" (or "... for
 * a long transaction to end"). */
int agent_retry(agent_attempts *a, agent_attempt_fn attempt, void *arg,
    sk_err *err) SK_WARN_UNUSED;

#endif

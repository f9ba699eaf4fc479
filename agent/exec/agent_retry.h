/* agent_retry: the one engine that runs a step's work (or a phase's
 * checks) against a busy database, in every mode: apply, rollback and —
 * without retries — rehearsal. It
 *
 *   - runs statements watched: while one waits, the database's monitor
 *     connection names who blocks it, reported as LOCK_WAIT;
 *   - retries an attempt that failed on a lock timeout, deadlock or
 *     serialization failure (the attempt rolled its transaction back)
 *     after a jittered, doubling pause from the step's retry_backoff, up
 *     to its lock_retries, reporting each retry;
 *   - gives up with SK_ELOCK naming the sessions last seen blocking it.
 *
 * Since every attempt gives up its lock request after lock_timeout,
 * sessions queued behind it wait at most that long (docs/safety.md).
 * One agent_attempts per step run, used by the database's thread only.
 */
#ifndef AGENT_RETRY_H
#define AGENT_RETRY_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent_db.h"
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
} agent_attempts;

/* Start a step's run: attempt 1, no waits. limits must not be NULL.
 * step_id may be NULL (a phase's checks). Statements are watched through
 * c->watch (NULL: not watched). Holds nothing: there is no fini. */
void agent_attempts_init(agent_attempts *a, const agent_db_ctx *c,
    const sk_step *limits, const char *step_id);

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

/* Run attempt(arg) until it succeeds or fails for good. A retryable
 * conflict (agent_err_is_retryable) counts a lock wait, is reported as
 * LOCK_WAIT and is tried again after the backoff, up to the limits'
 * lock_retries; past them SK_ELOCK: "gave up after N lock timeouts of T
 * ms; blocked by ..." (or "... lock conflicts, the last a deadlock
 * (40P01); last blocked by ..."), with the conflict's SQLSTATE and the
 * detail "N attempts, M ms spent waiting for locks"; the caller adds
 * where and a hint. A lost connection or another error is returned as it
 * came. A stop requested during a pause sets a->stopped and fails with
 * SK_ESTATE "stopped while waiting to retry a lock timeout". */
int agent_retry(agent_attempts *a, agent_attempt_fn attempt, void *arg,
    sk_err *err) SK_WARN_UNUSED;

#endif

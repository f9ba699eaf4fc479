/* agent_locks: the lock discipline of a step: transaction-local lock and
 * statement timeouts (SET LOCAL only, so that skein works through
 * PgBouncer transaction pooling), who blocks a waiting step
 * (pg_blocking_pids), for the progress stream and error messages, and
 * the long transactions a step should wait out without joining the lock
 * queue: which tables its SQL locks in which mode (from the parse tree),
 * who holds a conflicting lock on them, and whether that transaction is
 * still open (docs/safety.md, "Long transactions").
 *
 * Functions are as thread-safe as the connection they are given (one
 * thread per connection); the formatting helpers are pure.
 */
#ifndef AGENT_LOCKS_H
#define AGENT_LOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "sk_err.h"
#include "sk_wire.h"

/* SET LOCAL lock_timeout and statement_timeout (0 = no limit, i.e. '0')
 * in the caller's open transaction, through set_config(..., true). Fails
 * with SK_ESTATE outside a transaction (a local setting would vanish at
 * once), SK_EINVAL for a negative value, SK_ESQL/SK_ECONN on database
 * errors. */
int agent_set_local_timeouts(PGconn *conn, int64_t lock_timeout_ms,
    int64_t statement_timeout_ms, sk_err *err) SK_WARN_UNUSED;

/* Session lock_timeout and statement_timeout, for statements that run
 * outside a transaction (CREATE INDEX CONCURRENTLY, ...). Direct
 * connections only: through a pooler a session setting would outlive us
 * on another client's server connection. SK_ESQL/SK_ECONN on database
 * errors. */
int agent_set_session_timeouts(PGconn *conn, int64_t lock_timeout_ms,
    int64_t statement_timeout_ms, sk_err *err) SK_WARN_UNUSED;

/* Best-effort RESET of both; does nothing on a NULL or broken conn. */
void agent_reset_session_timeouts(PGconn *conn);

/* The sessions blocking backend pid (pg_blocking_pids joined with
 * pg_stat_activity): pid, state, transaction age, usename,
 * application_name, first 150 chars of the query with whitespace
 * collapsed; at most max, oldest transaction first. A prepared
 * transaction holding the lock appears as pid 0 with state "prepared
 * transaction". A session holding only a session-level lock outside any
 * transaction gets the age of its current state instead. Run on a
 * connection other than pid's. *n is 0 when nothing blocks pid (or pid
 * does not exist). Without pg_read_all_stats, other users' sessions show
 * an empty state and "<insufficient privilege>" as query. SK_ESQL/SK_ECONN
 * on database errors. */
int agent_blockers(PGconn *conn, int pid, sk_blocker *out, size_t max,
    size_t *n, sk_err *err) SK_WARN_UNUSED;

/* One line naming blockers for error messages: "pid 123 (idle in
 * transaction for 41s, user app, query: UPDATE ...)" joined with "; ";
 * ", application NAME" follows the user when the session set one. "" when
 * n is 0. Always NUL-terminates buf (len > 0), truncating if needed. */
void agent_blockers_format(const sk_blocker *b, size_t n, char *buf, size_t len);

/* The server backend pid of conn's session (of its open transaction when
 * pooled: through PgBouncer PQbackendPID names the pooler's, so the
 * server is asked). */
int agent_backend_pid(PGconn *conn, bool pooled, int *pid, sk_err *err) SK_WARN_UNUSED;

/* PostgreSQL's table lock modes, weakest first, as bits of a mask. */
enum agent_lock_mode {
	AGENT_LOCK_ACCESS_SHARE = 1u << 0,
	AGENT_LOCK_ROW_SHARE = 1u << 1,
	AGENT_LOCK_ROW_EXCLUSIVE = 1u << 2,
	AGENT_LOCK_SHARE_UPDATE_EXCLUSIVE = 1u << 3,
	AGENT_LOCK_SHARE = 1u << 4,
	AGENT_LOCK_SHARE_ROW_EXCLUSIVE = 1u << 5,
	AGENT_LOCK_EXCLUSIVE = 1u << 6,
	AGENT_LOCK_ACCESS_EXCLUSIVE = 1u << 7,
};

/* Tables looked at per step; a script naming more keeps the first. */
#define AGENT_LOCK_TARGETS_MAX 8

/* A table a step's SQL locks, as written (schema "public" when the name
 * was not qualified: the step's search_path), and the modes (a mask of
 * enum agent_lock_mode) its statements take on it. */
typedef struct agent_lock_target {
	char schema[64];
	char table[64];
	unsigned modes;
} agent_lock_target;

/* The tables sql locks, into out (at most max), from its parse tree
 * (sk_sql ops): ALTER TABLE subcommands, CREATE INDEX [CONCURRENTLY],
 * REINDEX TABLE, TRUNCATE, DROP TABLE, CREATE POLICY, ... each with the
 * mode PostgreSQL takes for it. A table the script creates first is left
 * out. Statements whose lock is not known this way (DML, LOCK TABLE, the
 * table a foreign key references, an index's table) are left out too:
 * the caller learns those from a timed-out attempt. Returns how many; 0
 * when sql is NULL or does not parse. Pure; thread-safe. */
size_t agent_lock_targets(const char *sql, agent_lock_target *out, size_t max);

/* The lock modes that conflict with any of modes (a mask), as a mask. */
unsigned agent_lock_conflicts(unsigned modes);

/* A transaction that holds a step up: its backend, its xact_start as
 * microseconds since the epoch (the server's own figure, compared only
 * with itself), and the session as reported (age_ms: of the transaction,
 * when read). */
typedef struct agent_long_xact {
	int pid;
	int64_t xact_start_us;
	sk_blocker b;
} agent_long_xact;

/* The sessions holding, granted, a lock on one of targets (nt of them)
 * in a mode that conflicts with the target's modes, in a transaction open
 * longer than min_age_ms: at most max into out, oldest first, *n of them.
 * Autovacuum workers are left out (a waiting lock request cancels them,
 * so queueing is how to get past one), and so are prepared transactions
 * (no backend to watch) and conn's own session. A table that does not
 * exist is no match. Run on a connection other than the step's.
 * SK_ESQL/SK_ECONN on database errors. */
int agent_long_holders(PGconn *conn, const agent_lock_target *targets,
    size_t nt, int64_t min_age_ms, agent_long_xact *out, size_t max, size_t *n,
    sk_err *err) SK_WARN_UNUSED;

/* Of the sessions in pids (np of them), those in a transaction open longer
 * than min_age_ms; when starts is not NULL, only those still in the
 * transaction that started at starts[i] (xact_start_us; 0: any). At most
 * max into out, oldest first, *n of them; autovacuum workers left out.
 * Reads pg_stat_activity only, not pg_locks: cheap enough to poll.
 * SK_ESQL/SK_ECONN on database errors. */
int agent_open_xacts(PGconn *conn, const int *pids, const int64_t *starts,
    size_t np, int64_t min_age_ms, agent_long_xact *out, size_t max, size_t *n,
    sk_err *err) SK_WARN_UNUSED;

/* True when err is a lock timeout (SQLSTATE 55P03 lock_not_available). */
bool agent_err_is_lock_timeout(const sk_err *err);

/* Whether err is a concurrency failure that rolled the whole transaction
 * back and is worth another attempt: a lock timeout (55P03), a deadlock
 * (40P01, PostgreSQL chose this transaction as the victim) or a
 * serialization failure (40001). A statement timeout (57014) is not. */
bool agent_err_is_retryable(const sk_err *err);

/* "lock timeout", "deadlock", "serialization failure" (or "error"). */
const char *agent_err_conflict_name(const sk_err *err);

/* The detail of a lock-wait report about to retry after err (a lock
 * timeout of lock_timeout_ms or another lock conflict): how many of
 * retries are used and the pause before the next attempt (pause_ms < 0:
 * the text stops before it, for the caller to say what comes next). */
void agent_lock_retry_detail(char *buf, size_t len, const sk_err *err,
    int64_t lock_timeout_ms, uint32_t used, uint32_t retries, int64_t pause_ms);

/* The detail of a lock-wait report while the step waits, without
 * queueing, for the n transactions of x to end: "waiting for pid 123's
 * transaction to end without queueing for its lock (idle in transaction
 * for 41s); gives up in 12s" (left_ms < 0: no "gives up"). */
void agent_long_wait_detail(
    char *buf, size_t len, const agent_long_xact *x, size_t n, int64_t left_ms);

#endif

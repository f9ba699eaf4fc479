/* agent_locks: the lock discipline of a step: transaction-local lock and
 * statement timeouts (SET LOCAL only, so that skein works through
 * PgBouncer transaction pooling), and who blocks a waiting step
 * (pg_blocking_pids), for the progress stream and error messages.
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
 * retries are used and the pause before the next attempt. */
void agent_lock_retry_detail(char *buf, size_t len, const sk_err *err,
    int64_t lock_timeout_ms, uint32_t used, uint32_t retries, int64_t pause_ms);

#endif

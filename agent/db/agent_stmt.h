/* agent_stmt: running a step's SQL the way every mode and kind does
 * (through the retry engine, agent_retry.h): a
 * statement sent asynchronously so that the thread can watch who blocks
 * it while it waits, the verify script, and the jittered backoff between
 * lock-timeout retries. Functions are as thread-safe as the connection
 * they are given (one thread per connection).
 */
#ifndef AGENT_STMT_H
#define AGENT_STMT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "sk_err.h"
#include "sk_plan.h"

/* Called while a statement waits, with the backend pid it was given: the
 * caller asks a monitor connection who blocks pid and reports it. Must
 * never fail the statement (log, do not return errors). */
typedef void (*agent_stmt_watch_fn)(void *arg, int pid);

/* Run sql on conn like sk_pg_exec, but wait on the socket so that the
 * statement can be watched: watch(arg, pid) is called first before
 * step's lock_timeout fires (so that even a short timeout gets its
 * blocker named), then every second. step may be NULL (default timing);
 * watch may be NULL (nothing is watched). COPY to or from the client is
 * abandoned and fails with SK_ESQL. On success *out holds the last result
 * (NULL for an empty string) for the caller to clear; on failure *out is
 * NULL. rows (may be NULL) receives the rows changed by all of sql's
 * statements together (agent_stmt_rows of each), -1 when none reports a
 * count or on failure. Errors as sk_pg_exec, what naming the operation. */
int agent_stmt_run(PGconn *conn, const char *what, const char *sql,
    const sk_step *step, int pid, agent_stmt_watch_fn watch, void *arg,
    PGresult **out, int64_t *rows, sk_err *err) SK_WARN_UNUSED;

/* PQcmdTuples of res when it is a number, else -1 (also for NULL, and
 * for a SELECT, whose count is of rows returned, not changed). */
int64_t agent_stmt_rows(PGresult *res);

/* Run step's verify script on conn: it must not fail and the first
 * column of every row it returns must be true; SK_ESTATE naming the row
 * otherwise, sk_pg_exec's errors when it fails. */
int agent_stmt_verify(PGconn *conn, const sk_step *step, sk_err *err) SK_WARN_UNUSED;

/* A pause between half and all of *delay, then double *delay up to cap:
 * exponential backoff with jitter (xorshift64 on *rng; 0 is reseeded).
 * Jitter only needs to keep agents from retrying in step. */
int64_t agent_backoff(uint64_t *rng, int64_t *delay, int64_t cap);

/* Whether *stop (may be NULL: never) is set. */
bool agent_stop_set(atomic_int *stop);

/* Sleep ms in short slices; returns true if *stop was set meanwhile. */
bool agent_sleep_or_stop(atomic_int *stop, int64_t ms);

#endif

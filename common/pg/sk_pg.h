/* sk_pg: libpq helpers. Every connection skein opens goes through here so
 * that it gets a safe search_path, an application_name and a connect
 * timeout, and so that every database error becomes an sk_err with its
 * SQLSTATE, detail and hint exactly once.
 */
#ifndef SK_PG_H
#define SK_PG_H

#include <libpq-fe.h>

#include "sk_err.h"

/* Connect with conninfo (a libpq connection string or URI). Adds
 * connect_timeout=5 unless conninfo sets one, sets application_name to
 * appname, and search_path to "public" so that the caller's own schemas
 * cannot shadow pg_catalog functions used by skein. On failure
 * *out is NULL and err is SK_ECONN with libpq's message (without the
 * password). */
int sk_pg_connect(const char *conninfo, const char *appname, PGconn **out,
    sk_err *err) SK_WARN_UNUSED;

/* sk_pg_connect for a connection through a transaction-pooling PgBouncer:
 * the same, except that it sets no session state (no search_path), since
 * a session setting would leak to whichever client gets the server
 * connection next. Callers SET LOCAL search_path in each transaction. */
int sk_pg_connect_pooled(const char *conninfo, const char *appname,
    PGconn **out, sk_err *err) SK_WARN_UNUSED;

/* Run sql (possibly several statements, simple query protocol). If out is
 * not NULL the last result is stored there for the caller to PQclear;
 * otherwise it is cleared here. On a database error sets err to SK_ESQL
 * with SQLSTATE, detail and hint, and prefixes the message with what; on a
 * broken connection SK_ECONN. */
int sk_pg_exec(PGconn *conn, const char *what, const char *sql, PGresult **out,
    sk_err *err) SK_WARN_UNUSED;

/* Run one parameterised statement (text parameters). Same error and
 * ownership rules as sk_pg_exec. */
int sk_pg_execp(PGconn *conn, const char *what, const char *sql, int nparams,
    const char *const *params, PGresult **out, sk_err *err) SK_WARN_UNUSED;

/* Leave a connection that res put into COPY usable again (a step's SQL
 * has no client side to feed or drain it): end COPY IN with an error,
 * drain COPY OUT. The caller still collects the results that follow. */
void sk_pg_abandon_copy(PGconn *conn, const PGresult *res);

/* Abandon conn's open transaction, if it has one (ROLLBACK; its own
 * failure ignored: the error that made the caller roll back is the one
 * to report). Accepts NULL and a broken connection. */
void sk_pg_rollback(PGconn *conn);

/* Fill err from a failed result (or from conn if res is NULL). */
int sk_pg_error(sk_err *err, PGconn *conn, const PGresult *res, const char *what);

/* True if err describes a lost or refused connection rather than an error
 * in the SQL (SQLSTATE class 08, 57P01..57P03, or SK_ECONN). */
int sk_pg_err_is_connection(const sk_err *err);

#endif

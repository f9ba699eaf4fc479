/* agent_locks: transaction-local timeouts and the sessions that block a
 * step. Reading pg_blocking_pids is cheap enough to do once per lock
 * timeout; it is never done in a loop of its own. */
#include "agent_locks.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_redact.h"
#include "sk_pg.h"
#include "sk_util.h"

/* set_config of lock_timeout and statement_timeout, transaction-local or
 * for the session. */
static int
set_timeouts(PGconn *conn, const char *what, int64_t lock_timeout_ms,
    int64_t statement_timeout_ms, bool local, sk_err *err)
{
	char lock[32], stmt[32];
	const char *params[2] = { lock, stmt };

	/* "0" disables the limit; "<n>ms" is exact whatever the unit. */
	if (lock_timeout_ms == 0)
		snprintf(lock, sizeof(lock), "0");
	else
		snprintf(lock, sizeof(lock), "%" PRId64 "ms", lock_timeout_ms);
	if (statement_timeout_ms == 0)
		snprintf(stmt, sizeof(stmt), "0");
	else
		snprintf(stmt, sizeof(stmt), "%" PRId64 "ms", statement_timeout_ms);
	return sk_pg_execp(conn, what,
	    local ? "SELECT pg_catalog.set_config('lock_timeout', $1, true), "
		    "pg_catalog.set_config('statement_timeout', $2, true)" :
		    "SELECT pg_catalog.set_config('lock_timeout', $1, false), "
		    "pg_catalog.set_config('statement_timeout', $2, false)",
	    2, params, NULL, err);
}

int
agent_set_local_timeouts(PGconn *conn, int64_t lock_timeout_ms,
    int64_t statement_timeout_ms, sk_err *err)
{
	if (lock_timeout_ms < 0 || statement_timeout_ms < 0)
		return sk_err_set(err, SK_EINVAL,
		    "set step timeouts: negative timeout (lock %" PRId64
		    "ms, statement %" PRId64 "ms)",
		    lock_timeout_ms, statement_timeout_ms);
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS)
		return sk_err_set(err, SK_ESTATE,
		    "set step timeouts: not inside an open transaction "
		    "(SET LOCAL would not last)");
	return set_timeouts(conn, "set step timeouts", lock_timeout_ms,
	    statement_timeout_ms, true, err);
}

int
agent_set_session_timeouts(PGconn *conn, int64_t lock_timeout_ms,
    int64_t statement_timeout_ms, sk_err *err)
{
	return set_timeouts(conn, "set timeouts", lock_timeout_ms,
	    statement_timeout_ms, false, err);
}

void
agent_reset_session_timeouts(PGconn *conn)
{
	PGresult *res;

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
		return;
	res = PQexec(conn, "RESET lock_timeout; RESET statement_timeout");
	PQclear(res);
}

/* Copy at most len - 1 bytes of src without cutting a UTF-8 character. */
static void
copy_utf8(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len) {
		n = len - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int
agent_blockers(
    PGconn *conn, int pid, sk_blocker *out, size_t max, size_t *n, sk_err *err)
{
	char pidtext[16], limit[16], what[64];
	const char *params[2] = { pidtext, limit };
	PGresult *res = NULL;
	int rc, rows;

	*n = 0;
	if (max == 0)
		return SK_OK;
	snprintf(pidtext, sizeof(pidtext), "%d", pid);
	snprintf(limit, sizeof(limit), "%zu", max > 1000 ? (size_t)1000 : max);
	snprintf(what, sizeof(what), "list sessions blocking pid %d", pid);
	/* DISTINCT: a parallel query's workers can list a holder twice. A
	 * prepared transaction has no backend and shows as pid 0. */
	rc = sk_pg_execp(conn, what,
	    "SELECT b.pid, "
	    "  CASE WHEN b.pid = 0 THEN 'prepared transaction' "
	    "       ELSE coalesce(a.state, '') END, "
	    "  coalesce((extract(epoch FROM pg_catalog.clock_timestamp() - "
	    "    coalesce(a.xact_start, a.state_change)) * 1000)::bigint, -1), "
	    "  coalesce(a.usename::text, ''), "
	    "  coalesce(a.application_name, ''), "
	    "  pg_catalog.left(pg_catalog.btrim(pg_catalog.regexp_replace("
	    "    coalesce(a.query, ''), '[[:space:]]+', ' ', 'g')), 150) "
	    "FROM (SELECT DISTINCT pg_catalog.unnest("
	    "        pg_catalog.pg_blocking_pids($1::int)) AS pid) b "
	    "LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = b.pid "
	    "ORDER BY coalesce(a.xact_start, a.state_change) NULLS LAST, b.pid "
	    "LIMIT $2::int",
	    2, params, &res, err);
	if (rc != SK_OK)
		return rc;
	rows = PQntuples(res);
	for (int i = 0; i < rows && (size_t)i < max; i++) {
		sk_blocker *b = &out[i];

		memset(b, 0, sizeof(*b));
		b->pid = (int32_t)strtol(PQgetvalue(res, i, 0), NULL, 10);
		copy_utf8(b->state, sizeof(b->state), PQgetvalue(res, i, 1));
		b->age_ms = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		copy_utf8(b->user, sizeof(b->user), PQgetvalue(res, i, 3));
		copy_utf8(b->application, sizeof(b->application),
		    PQgetvalue(res, i, 4));
		copy_utf8(b->query, sizeof(b->query), PQgetvalue(res, i, 5));
		/* Another session's query may carry its rows' values; only its
		 * shape leaves the region. */
		agent_redact_sql(b->query);
		*n = (size_t)i + 1;
	}
	PQclear(res);
	return SK_OK;
}

/* Append formatted text at *used, keeping buf NUL-terminated when it does
 * not fit. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
    SK_PRINTF(4, 5);

static void
append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*used + 1 >= len)
		return;
	va_start(ap, fmt);
	w = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (w < 0)
		return;
	*used += (size_t)w;
	if (*used >= len)
		*used = len - 1;
}

void
agent_blockers_format(const sk_blocker *b, size_t n, char *buf, size_t len)
{
	size_t used = 0;
	char age[32];

	if (buf == NULL || len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *sep = "";

		append(buf, len, &used, "%spid %" PRId32 " (",
		    i > 0 ? "; " : "", b[i].pid);
		if (b[i].state[0] != '\0') {
			append(buf, len, &used, "%s", b[i].state);
			sep = ", ";
		}
		if (b[i].age_ms >= 0) {
			sk_duration_format(b[i].age_ms, age, sizeof(age));
			append(buf, len, &used, "%sfor %s",
			    b[i].state[0] != '\0' ? " " : "", age);
			sep = ", ";
		}
		if (b[i].user[0] != '\0') {
			append(buf, len, &used, "%suser %s", sep, b[i].user);
			sep = ", ";
		}
		if (b[i].application[0] != '\0') {
			append(buf, len, &used, "%sapplication %s", sep,
			    b[i].application);
			sep = ", ";
		}
		if (b[i].query[0] != '\0')
			append(buf, len, &used, "%squery: %s", sep, b[i].query);
		append(buf, len, &used, ")");
	}
}

bool
agent_err_is_lock_timeout(const sk_err *err)
{
	return err != NULL && strcmp(err->sqlstate, "55P03") == 0;
}

bool
agent_err_is_retryable(const sk_err *err)
{
	return agent_err_is_lock_timeout(err) ||
	    (err != NULL &&
		(strcmp(err->sqlstate, "40P01") == 0 ||
		    strcmp(err->sqlstate, "40001") == 0));
}

const char *
agent_err_conflict_name(const sk_err *err)
{
	if (err == NULL)
		return "error";
	if (strcmp(err->sqlstate, "55P03") == 0)
		return "lock timeout";
	if (strcmp(err->sqlstate, "40P01") == 0)
		return "deadlock";
	if (strcmp(err->sqlstate, "40001") == 0)
		return "serialization failure";
	return "error";
}

void
agent_lock_retry_detail(char *buf, size_t len, const sk_err *err,
    int64_t lock_timeout_ms, uint32_t used, uint32_t retries, int64_t pause_ms)
{
	if (agent_err_is_lock_timeout(err))
		snprintf(buf, len,
		    "lock timeout after %" PRId64 " ms (%" PRIu32 " of %" PRIu32
		    " retries used); retrying in %" PRId64 " ms",
		    lock_timeout_ms, used, retries, pause_ms);
	else
		snprintf(buf, len,
		    "%s (%s) (%" PRIu32 " of %" PRIu32
		    " retries used); retrying in %" PRId64 " ms",
		    agent_err_conflict_name(err), err->sqlstate, used, retries,
		    pause_ms);
}

int
agent_backend_pid(PGconn *conn, bool pooled, int *pid, sk_err *err)
{
	PGresult *res = NULL;
	int rc;

	if (!pooled) {
		*pid = PQbackendPID(conn);
		return SK_OK;
	}
	rc = sk_pg_exec(conn, "find backend pid",
	    "SELECT pg_catalog.pg_backend_pid()", &res, err);
	if (rc != SK_OK)
		return rc;
	*pid = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	return SK_OK;
}

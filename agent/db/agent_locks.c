/* agent_locks: transaction-local timeouts, the sessions that block a
 * step, and the long transactions a step waits out without queueing.
 * Reading pg_blocking_pids or pg_locks is cheap enough to do once per
 * attempt; only pg_stat_activity (agent_open_xacts) is read in a loop. */
#include "agent_locks.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_redact.h"
#include "sk_pg.h"
#include "sk_sql.h"
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

/* The columns every query here ends with, after the session's state and
 * transaction age: user, application, query (blocker_from_row). */
#define SESSION_COLS                                                \
"coalesce(a.usename::text, ''), coalesce(a.application_name, ''), " \
    "pg_catalog.left(pg_catalog.btrim(pg_catalog.regexp_replace("   \
    "coalesce(a.query, ''), '[[:space:]]+', ' ', 'g')), 150) "

/* Fill b (but its pid) from row of res, whose columns from col on are
 * state, age in ms, user, application and query. */
static void
blocker_from_row(const PGresult *res, int row, int col, sk_blocker *b)
{
	memset(b, 0, sizeof(*b));
	copy_utf8(b->state, sizeof(b->state), PQgetvalue(res, row, col));
	b->age_ms = strtoll(PQgetvalue(res, row, col + 1), NULL, 10);
	copy_utf8(b->user, sizeof(b->user), PQgetvalue(res, row, col + 2));
	copy_utf8(b->application, sizeof(b->application),
	    PQgetvalue(res, row, col + 3));
	copy_utf8(b->query, sizeof(b->query), PQgetvalue(res, row, col + 4));
	/* Another session's query may carry its rows' values; only its
	 * shape leaves the region. */
	agent_redact_sql(b->query);
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
	    "  " SESSION_COLS "FROM (SELECT DISTINCT pg_catalog.unnest("
	    "        pg_catalog.pg_blocking_pids($1::int)) AS pid) b "
	    "LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = b.pid "
	    "ORDER BY coalesce(a.xact_start, a.state_change) NULLS LAST, b.pid "
	    "LIMIT $2::int",
	    2, params, &res, err);
	if (rc != SK_OK)
		return rc;
	rows = PQntuples(res);
	for (int i = 0; i < rows && (size_t)i < max; i++) {
		blocker_from_row(res, i, 1, &out[i]);
		out[i].pid = (int32_t)strtol(PQgetvalue(res, i, 0), NULL, 10);
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
	size_t n = 0;

	if (buf == NULL || len == 0)
		return;
	buf[0] = '\0';
	if (agent_err_is_lock_timeout(err))
		append(buf, len, &n,
		    "lock timeout after %" PRId64 " ms (%" PRIu32 " of %" PRIu32
		    " retries used)",
		    lock_timeout_ms, used, retries);
	else
		append(buf, len, &n, "%s (%s) (%" PRIu32 " of %" PRIu32 " retries used)",
		    agent_err_conflict_name(err), err->sqlstate, used, retries);
	if (pause_ms >= 0)
		append(buf, len, &n, "; retrying in %" PRId64 " ms", pause_ms);
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

/* ---- long transactions ------------------------------------------------ */

/* pg_locks.mode of each bit of enum agent_lock_mode, weakest first. */
static const char *const mode_names[] = {
	"AccessShareLock",
	"RowShareLock",
	"RowExclusiveLock",
	"ShareUpdateExclusiveLock",
	"ShareLock",
	"ShareRowExclusiveLock",
	"ExclusiveLock",
	"AccessExclusiveLock",
};
#define NMODES (sizeof(mode_names) / sizeof(mode_names[0]))

/* PostgreSQL's conflict table (lock.c, LockConflicts), row per mode. */
static const unsigned conflicts_of[NMODES] = {
	AGENT_LOCK_ACCESS_EXCLUSIVE,
	AGENT_LOCK_EXCLUSIVE | AGENT_LOCK_ACCESS_EXCLUSIVE,
	AGENT_LOCK_SHARE | AGENT_LOCK_SHARE_ROW_EXCLUSIVE |
	    AGENT_LOCK_EXCLUSIVE | AGENT_LOCK_ACCESS_EXCLUSIVE,
	AGENT_LOCK_SHARE_UPDATE_EXCLUSIVE | AGENT_LOCK_SHARE |
	    AGENT_LOCK_SHARE_ROW_EXCLUSIVE | AGENT_LOCK_EXCLUSIVE |
	    AGENT_LOCK_ACCESS_EXCLUSIVE,
	AGENT_LOCK_ROW_EXCLUSIVE | AGENT_LOCK_SHARE_UPDATE_EXCLUSIVE |
	    AGENT_LOCK_SHARE_ROW_EXCLUSIVE | AGENT_LOCK_EXCLUSIVE |
	    AGENT_LOCK_ACCESS_EXCLUSIVE,
	AGENT_LOCK_ROW_EXCLUSIVE | AGENT_LOCK_SHARE_UPDATE_EXCLUSIVE |
	    AGENT_LOCK_SHARE | AGENT_LOCK_SHARE_ROW_EXCLUSIVE |
	    AGENT_LOCK_EXCLUSIVE | AGENT_LOCK_ACCESS_EXCLUSIVE,
	AGENT_LOCK_ROW_SHARE | AGENT_LOCK_ROW_EXCLUSIVE |
	    AGENT_LOCK_SHARE_UPDATE_EXCLUSIVE | AGENT_LOCK_SHARE |
	    AGENT_LOCK_SHARE_ROW_EXCLUSIVE | AGENT_LOCK_EXCLUSIVE |
	    AGENT_LOCK_ACCESS_EXCLUSIVE,
	(1u << NMODES) - 1,
};

unsigned
agent_lock_conflicts(unsigned modes)
{
	unsigned c = 0;

	for (size_t i = 0; i < NMODES; i++)
		if (modes & (1u << i))
			c |= conflicts_of[i];
	return c;
}

/* The mode PostgreSQL takes on op's table, 0 for an op that names no
 * table or whose lock is not known from the op alone. Checked against
 * PostgreSQL 15: pg_locks of the session after each statement in an open
 * transaction. */
static unsigned
op_lock_mode(const sk_sql_op *op)
{
	if (op->table == NULL)
		return 0;
	switch (op->kind) {
	case SK_SQL_CREATE_INDEX:
	case SK_SQL_REINDEX: /* TABLE only: INDEX names no table */
		return op->concurrent ? AGENT_LOCK_SHARE_UPDATE_EXCLUSIVE :
					AGENT_LOCK_SHARE;
	case SK_SQL_VALIDATE_CONSTRAINT:
		return AGENT_LOCK_SHARE_UPDATE_EXCLUSIVE;
	case SK_SQL_ADD_CONSTRAINT:
		/* The referenced table gets the same; the op does not name
		 * it, so a long holder there is learned from an attempt. */
		return op->contype == SK_SQL_CON_FOREIGN ?
		    AGENT_LOCK_SHARE_ROW_EXCLUSIVE :
		    AGENT_LOCK_ACCESS_EXCLUSIVE;
	case SK_SQL_DETACH_PARTITION:
		return op->concurrent ? AGENT_LOCK_SHARE_UPDATE_EXCLUSIVE :
					AGENT_LOCK_ACCESS_EXCLUSIVE;
	case SK_SQL_DROP_TABLE:
	case SK_SQL_DROP_COLUMN:
	case SK_SQL_RENAME_TABLE:
	case SK_SQL_RENAME_COLUMN:
	case SK_SQL_ALTER_COLUMN_TYPE:
	case SK_SQL_ADD_COLUMN:
	case SK_SQL_SET_NOT_NULL:
	case SK_SQL_DROP_NOT_NULL:
	case SK_SQL_ENABLE_RLS:
	case SK_SQL_CREATE_POLICY:
	case SK_SQL_RENAME_CONSTRAINT:
	case SK_SQL_DROP_CONSTRAINT:
	case SK_SQL_CHECK_NOT_NULL:
	case SK_SQL_TRUNCATE:
	case SK_SQL_REWRITE:
		return AGENT_LOCK_ACCESS_EXCLUSIVE;
	default:
		/* LOCK TABLE's mode is not in the op; DML has no op. */
		return 0;
	}
}

/* The index of (schema, table) in t (n entries), or n. */
static size_t
target_find(const agent_lock_target *t, size_t n, const char *schema, const char *table)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].schema, schema) == 0 && strcmp(t[i].table, table) == 0)
			return i;
	return n;
}

size_t
agent_lock_targets(const char *sql, agent_lock_target *out, size_t max)
{
	/* Tables the script creates: nobody else can hold a lock on them. */
	agent_lock_target made[AGENT_LOCK_TARGETS_MAX];
	size_t n = 0, nmade = 0, k;
	sk_sql_script *script = NULL;
	sk_err err;

	if (sql == NULL || max == 0 || sk_sql_parse(sql, NULL, &script, &err) != SK_OK)
		return 0;
	for (size_t i = 0; i < script->nstmts; i++) {
		const sk_sql_stmt *st = &script->stmts[i];

		for (size_t o = 0; o < st->nops; o++) {
			const sk_sql_op *op = &st->ops[o];
			const char *schema = op->schema != NULL ? op->schema : "public";
			unsigned mode = op_lock_mode(op);

			if (op->table == NULL || strlen(schema) >= sizeof(out->schema) ||
			    strlen(op->table) >= sizeof(out->table))
				continue;
			if (op->kind == SK_SQL_CREATE_TABLE &&
			    nmade < AGENT_LOCK_TARGETS_MAX) {
				snprintf(made[nmade].schema,
				    sizeof(made[nmade].schema), "%s", schema);
				snprintf(made[nmade].table,
				    sizeof(made[nmade].table), "%s", op->table);
				nmade++;
				continue;
			}
			if (mode == 0 ||
			    target_find(made, nmade, schema, op->table) < nmade)
				continue;
			k = target_find(out, n, schema, op->table);
			if (k == n) {
				if (n == max)
					continue;
				memset(&out[n], 0, sizeof(out[n]));
				snprintf(out[n].schema, sizeof(out[n].schema),
				    "%s", schema);
				snprintf(out[n].table, sizeof(out[n].table),
				    "%s", op->table);
				n++;
			}
			out[k].modes |= mode;
		}
	}
	sk_sql_script_destroy(script);
	return n;
}

/* The columns of a long transaction: pid, xact_start in microseconds,
 * then the session's (blocker_from_row from column 2). */
#define XACT_COLS                                                    \
"a.pid, (pg_catalog.date_part('epoch', a.xact_start) * 1000000)"     \
    "::bigint, coalesce(a.state, ''), "                              \
    "(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - " \
    "a.xact_start) * 1000)::bigint, " SESSION_COLS

/* Which sessions count: in a transaction open longer than $1 ms, not an
 * autovacuum worker, not the asking session. */
#define XACT_WHERE                                             \
"a.xact_start < pg_catalog.clock_timestamp() - $1::bigint * "  \
    "interval '1 millisecond' "                                \
    "AND a.backend_type IS DISTINCT FROM 'autovacuum worker' " \
    "AND a.pid <> pg_catalog.pg_backend_pid() "

/* Rows of XACT_COLS into out (at most max), *n of them. */
static void
xacts_from_rows(const PGresult *res, agent_long_xact *out, size_t max, size_t *n)
{
	int rows = PQntuples(res);

	*n = 0;
	for (int i = 0; i < rows && (size_t)i < max; i++) {
		agent_long_xact *x = &out[i];

		blocker_from_row(res, i, 2, &x->b);
		x->pid = (int)strtol(PQgetvalue(res, i, 0), NULL, 10);
		x->b.pid = x->pid;
		x->xact_start_us = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		*n = (size_t)i + 1;
	}
}

/* The pg_locks.mode names of a mask, space-separated, into buf. */
static void
mode_list(unsigned mask, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NMODES; i++)
		if (mask & (1u << i))
			append(buf, len, &used, "%s%s", used > 0 ? " " : "",
			    mode_names[i]);
}

int
agent_long_holders(PGconn *conn, const agent_lock_target *targets, size_t nt,
    int64_t min_age_ms, agent_long_xact *out, size_t max, size_t *n, sk_err *err)
{
	char sql[2048], age[24], limit[24];
	char modes[AGENT_LOCK_TARGETS_MAX][256];
	const char *params[2 + 3 * AGENT_LOCK_TARGETS_MAX];
	size_t used = 0;
	PGresult *res = NULL;
	int rc, np = 2;

	*n = 0;
	if (nt == 0 || max == 0)
		return SK_OK;
	if (nt > AGENT_LOCK_TARGETS_MAX)
		nt = AGENT_LOCK_TARGETS_MAX;
	snprintf(age, sizeof(age), "%" PRId64, min_age_ms);
	snprintf(limit, sizeof(limit), "%zu", max > 1000 ? (size_t)1000 : max);
	params[0] = age;
	params[1] = limit;
	/* Relation oids belong to one database: match ours only. A table
	 * that does not exist (yet) has no oid and matches nothing. */
	append(sql, sizeof(sql), &used,
	    "SELECT " XACT_COLS "FROM pg_catalog.pg_stat_activity a "
	    "WHERE " XACT_WHERE "AND a.pid IN ("
	    "SELECT l.pid FROM pg_catalog.pg_locks l JOIN (VALUES ");
	for (size_t i = 0; i < nt; i++) {
		mode_list(agent_lock_conflicts(targets[i].modes), modes[i],
		    sizeof(modes[i]));
		params[np] = targets[i].schema;
		params[np + 1] = targets[i].table;
		params[np + 2] = modes[i];
		append(sql, sizeof(sql), &used, "%s($%d::text, $%d::text, $%d::text)",
		    i > 0 ? ", " : "", np + 1, np + 2, np + 3);
		np += 3;
	}
	append(sql, sizeof(sql), &used,
	    ") AS w(nsp, rel, modes) ON l.relation = pg_catalog.to_regclass("
	    "pg_catalog.quote_ident(w.nsp) || '.' || "
	    "pg_catalog.quote_ident(w.rel)) "
	    "WHERE l.locktype = 'relation' AND l.granted "
	    "AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d "
	    "WHERE d.datname = pg_catalog.current_database()) "
	    "AND l.mode = ANY (pg_catalog.string_to_array(w.modes, ' '))) "
	    "ORDER BY a.xact_start, a.pid LIMIT $2::int");
	rc = sk_pg_execp(conn, "list long transactions holding the step's tables",
	    sql, np, params, &res, err);
	if (rc != SK_OK)
		return rc;
	xacts_from_rows(res, out, max, n);
	PQclear(res);
	return SK_OK;
}

/* "{a,b,c}" of n integers into buf (the array literal of a parameter). */
static void
int_array(char *buf, size_t len, const int *ints, const int64_t *longs, size_t n)
{
	size_t used = 0;

	append(buf, len, &used, "{");
	for (size_t i = 0; i < n; i++) {
		if (ints != NULL)
			append(buf, len, &used, "%s%d", i > 0 ? "," : "", ints[i]);
		else
			append(buf, len, &used, "%s%" PRId64, i > 0 ? "," : "",
			    longs != NULL ? longs[i] : 0);
	}
	append(buf, len, &used, "}");
}

int
agent_open_xacts(PGconn *conn, const int *pids, const int64_t *starts, size_t np,
    int64_t min_age_ms, agent_long_xact *out, size_t max, size_t *n, sk_err *err)
{
	char age[24], limit[24], pidtext[16 * SK_BLOCKERS_MAX + 2];
	char starttext[24 * SK_BLOCKERS_MAX + 2];
	const char *params[4] = { age, limit, pidtext, starttext };
	PGresult *res = NULL;
	int rc;

	*n = 0;
	if (np == 0 || max == 0)
		return SK_OK;
	if (np > SK_BLOCKERS_MAX)
		np = SK_BLOCKERS_MAX;
	snprintf(age, sizeof(age), "%" PRId64, min_age_ms);
	snprintf(limit, sizeof(limit), "%zu", max > 1000 ? (size_t)1000 : max);
	int_array(pidtext, sizeof(pidtext), pids, NULL, np);
	int_array(starttext, sizeof(starttext), NULL, starts, np);
	rc = sk_pg_execp(conn, "look at long transactions",
	    "SELECT " XACT_COLS "FROM pg_catalog.pg_stat_activity a "
	    "JOIN ROWS FROM (pg_catalog.unnest($3::int[]), "
	    "pg_catalog.unnest($4::bigint[])) AS w(pid, xs) "
	    "ON a.pid = w.pid "
	    "WHERE " XACT_WHERE "AND (w.xs = 0 OR "
	    "(pg_catalog.date_part('epoch', a.xact_start) * 1000000)::bigint "
	    "= w.xs) "
	    "ORDER BY a.xact_start, a.pid LIMIT $2::int",
	    4, params, &res, err);
	if (rc != SK_OK)
		return rc;
	xacts_from_rows(res, out, max, n);
	PQclear(res);
	return SK_OK;
}

void
agent_long_wait_detail(
    char *buf, size_t len, const agent_long_xact *x, size_t n, int64_t left_ms)
{
	char age[32], left[32];
	size_t used = 0;

	if (buf == NULL || len == 0)
		return;
	buf[0] = '\0';
	if (n == 0)
		return;
	sk_duration_format(x[0].b.age_ms >= 0 ? x[0].b.age_ms : 0, age, sizeof(age));
	if (n == 1) {
		append(buf, len, &used,
		    "waiting for pid %d's transaction to end without queueing "
		    "for its lock (%s%sfor %s)",
		    x[0].pid, x[0].b.state, x[0].b.state[0] != '\0' ? " " : "", age);
	} else {
		append(buf, len, &used, "waiting for the transactions of pids");
		for (size_t i = 0; i < n; i++)
			append(buf, len, &used, "%s %d",
			    i == 0 ? "" : (i + 1 == n ? " and" : ","), x[i].pid);
		append(buf, len, &used,
		    " to end without queueing for their locks (pid %d %s%sfor %s)",
		    x[0].pid, x[0].b.state, x[0].b.state[0] != '\0' ? " " : "", age);
	}
	if (left_ms >= 0) {
		sk_duration_format(left_ms, left, sizeof(left));
		append(buf, len, &used, "; gives up in %s", left);
	}
}

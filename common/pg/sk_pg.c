/* sk_pg: libpq connections with skein's safety settings, and the one place
 * where a database error becomes an sk_err (SQLSTATE, primary message,
 * detail, hint). Connection strings may hold a password: no message built
 * here ever quotes one. */
#include "sk_pg.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Copy a libpq message into dst, folding its line breaks and indentation
 * into single spaces and dropping the trailing newline. */
static void
copy_flat(char *dst, size_t len, const char *src)
{
	size_t n = 0;
	bool space = false;

	if (len == 0)
		return;
	for (; src != NULL && *src != '\0' && n + 1 < len; src++) {
		if (*src == '\n' || *src == '\r' || *src == '\t') {
			space = n > 0;
			continue;
		}
		if (space && n + 2 < len)
			dst[n++] = ' ';
		space = false;
		dst[n++] = *src;
	}
	while (n > 0 && isspace((unsigned char)dst[n - 1]))
		n--;
	dst[n] = '\0';
}

/* True if conninfo sets keyword (libpq accepts key=value and URIs; a
 * string that does not parse sets nothing). */
static bool
conninfo_sets(const char *conninfo, const char *keyword)
{
	PQconninfoOption *opts, *o;
	bool found = false;

	opts = PQconninfoParse(conninfo, NULL);
	if (opts == NULL)
		return false;
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, keyword) == 0 && o->val != NULL &&
		    o->val[0] != '\0')
			found = true;
	PQconninfoFree(opts);
	return found;
}

/* True if s contains "password" in any letter case. */
static bool
mentions_password(const char *s)
{
	static const char word[] = "password";

	for (; *s != '\0'; s++) {
		size_t i = 0;

		while (word[i] != '\0' &&
		    tolower((unsigned char)s[i]) == (unsigned char)word[i])
			i++;
		if (word[i] == '\0')
			return true;
	}
	return false;
}

/* Remove every occurrence of secret from buf, replacing it with "***". */
static void
redact(char *buf, size_t len, const char *secret)
{
	char tmp[SK_ERR_MSG_MAX];
	size_t slen, n = 0;
	const char *p, *hit;

	if (secret == NULL || secret[0] == '\0')
		return;
	slen = strlen(secret);
	p = buf;
	while ((hit = strstr(p, secret)) != NULL && n + 1 < sizeof(tmp)) {
		n += (size_t)snprintf(
		    tmp + n, sizeof(tmp) - n, "%.*s***", (int)(hit - p), p);
		if (n >= sizeof(tmp))
			n = sizeof(tmp) - 1;
		p = hit + slen;
	}
	if (p == buf)
		return;
	snprintf(tmp + n, sizeof(tmp) - n, "%s", p);
	snprintf(buf, len, "%s", tmp);
}

/* The connect failure message, free of the password. If the string does
 * not even parse, libpq's complaint may quote any fragment of it, so a
 * string that mentions a password gets a generic message instead. */
static int
connect_error(sk_err *err, const char *conninfo, PGconn *conn)
{
	PQconninfoOption *opts, *o;
	char *parse_msg = NULL;
	char text[SK_ERR_MSG_MAX];
	const char *db = conn != NULL ? PQdb(conn) : NULL;

	opts = PQconninfoParse(conninfo, &parse_msg);
	if (opts == NULL) {
		if (parse_msg == NULL)
			return sk_err_set(err, SK_ENOMEM,
			    "connect to database: out of memory");
		if (mentions_password(conninfo))
			snprintf(text, sizeof(text),
			    "invalid connection string (not shown: it holds a password)");
		else
			copy_flat(text, sizeof(text), parse_msg);
		PQfreemem(parse_msg);
		return sk_err_set(err, SK_ECONN, "connect to database: %s", text);
	}
	if (conn == NULL)
		snprintf(text, sizeof(text), "out of memory");
	else
		copy_flat(text, sizeof(text), PQerrorMessage(conn));
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0)
			redact(text, sizeof(text), o->val);
	PQconninfoFree(opts);
	if (db != NULL && db[0] != '\0')
		return sk_err_set(err, SK_ECONN, "connect to database %s: %s", db, text);
	return sk_err_set(err, SK_ECONN, "connect to database: %s", text);
}

static int
connect_with(const char *conninfo, const char *appname, bool set_path,
    PGconn **out, sk_err *err)
{
	/* Keywords are applied in order, later ones winning: the timeout comes
	 * before the expanded conninfo so that the caller's own setting wins;
	 * application_name comes after it so that ours does. */
	const char *keys[4];
	const char *vals[4];
	PGconn *conn = NULL;
	int n = 0, rc;

	*out = NULL;
	if (conninfo == NULL)
		return sk_err_set(err, SK_EINVAL, "connect to database: no conninfo");
	if (!conninfo_sets(conninfo, "connect_timeout")) {
		keys[n] = "connect_timeout";
		vals[n++] = "5";
	}
	keys[n] = "dbname";
	vals[n++] = conninfo;
	if (appname != NULL) {
		keys[n] = "application_name";
		vals[n++] = appname;
	}
	keys[n] = NULL;
	vals[n] = NULL;

	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		rc = connect_error(err, conninfo, conn);
		PQfinish(conn);
		return rc;
	}
	/* After connecting rather than through `options`, so that options the
	 * operator put in conninfo (statement_timeout, ...) survive. */
	rc = set_path ?
	    sk_pg_exec(conn, "set search_path",
		"SELECT pg_catalog.set_config('search_path', 'public', false)",
		NULL, err) :
	    SK_OK;
	if (rc != SK_OK) {
		PQfinish(conn);
		return rc;
	}
	*out = conn;
	return SK_OK;
}

int
sk_pg_connect(const char *conninfo, const char *appname, PGconn **out, sk_err *err)
{
	return connect_with(conninfo, appname, true, out, err);
}

int
sk_pg_connect_pooled(
    const char *conninfo, const char *appname, PGconn **out, sk_err *err)
{
	return connect_with(conninfo, appname, false, out, err);
}

int
sk_pg_error(sk_err *err, PGconn *conn, const PGresult *res, const char *what)
{
	const char *state = NULL, *primary = NULL, *detail = NULL, *hint = NULL;
	char text[SK_ERR_MSG_MAX];
	int code = SK_ESQL;

	if (res != NULL) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	}
	/* Errors raised by libpq itself (a dropped connection, out of memory)
	 * carry no primary field, only the whole message. */
	if (primary != NULL)
		copy_flat(text, sizeof(text), primary);
	else if (res != NULL && PQresultErrorMessage(res)[0] != '\0')
		copy_flat(text, sizeof(text), PQresultErrorMessage(res));
	else if (conn != NULL && PQerrorMessage(conn)[0] != '\0')
		copy_flat(text, sizeof(text), PQerrorMessage(conn));
	else
		snprintf(text, sizeof(text), "unknown error");
	if (text[0] == '\0')
		snprintf(text, sizeof(text), "unknown error");

	if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
		code = SK_ECONN;

	if (what != NULL && what[0] != '\0')
		sk_err_set(err, code, "%s: %s", what, text);
	else
		sk_err_set(err, code, "%s", text);
	if (err == NULL)
		return code;
	if (state != NULL)
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
	if (detail != NULL) {
		copy_flat(err->detail, sizeof(err->detail), detail);
		err->db_detail = err->detail[0] != '\0';
	}
	if (hint != NULL)
		copy_flat(err->hint, sizeof(err->hint), hint);
	return code;
}

/* Leave a connection stuck in COPY usable again: the plan's SQL has no
 * client side to feed or drain a COPY, so such a statement is an error. */
void
sk_pg_abandon_copy(PGconn *conn, const PGresult *res)
{
	char *buf;

	if (PQresultStatus(res) == PGRES_COPY_IN)
		(void)PQputCopyEnd(
		    conn, "COPY FROM STDIN is not supported in a skein step");
	else if (PQresultStatus(res) == PGRES_COPY_OUT)
		while (PQgetCopyData(conn, &buf, 0) > 0)
			PQfreemem(buf);
}

/* End a COPY the server started and drop the results that follow. */
static void
abandon_copy(PGconn *conn, PGresult *res)
{
	PGresult *next;

	sk_pg_abandon_copy(conn, res);
	while ((next = PQgetResult(conn)) != NULL)
		PQclear(next);
}

/* Common tail of sk_pg_exec and sk_pg_execp: judge res, then hand it to
 * the caller or clear it. */
static int
finish_result(PGconn *conn, PGresult *res, const char *what, PGresult **out, sk_err *err)
{
	int rc = SK_OK;

	switch (res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_EMPTY_QUERY:
		break;
	case PGRES_COPY_IN:
	case PGRES_COPY_OUT:
	case PGRES_COPY_BOTH:
		abandon_copy(conn, res);
		rc = sk_err_set(err, SK_ESQL,
		    "%s: COPY to or from the client is not supported",
		    what != NULL ? what : "run SQL");
		break;
	default:
		rc = sk_pg_error(err, conn, res, what);
		break;
	}
	if (rc != SK_OK || out == NULL)
		PQclear(res);
	else
		*out = res;
	return rc;
}

int
sk_pg_exec(PGconn *conn, const char *what, const char *sql, PGresult **out, sk_err *err)
{
	PGresult *res;

	if (out != NULL)
		*out = NULL;
	res = PQexec(conn, sql);
	return finish_result(conn, res, what, out, err);
}

int
sk_pg_execp(PGconn *conn, const char *what, const char *sql, int nparams,
    const char *const *params, PGresult **out, sk_err *err)
{
	PGresult *res;

	if (out != NULL)
		*out = NULL;
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	return finish_result(conn, res, what, out, err);
}

int
sk_pg_err_is_connection(const sk_err *err)
{
	if (err == NULL)
		return 0;
	if (err->code == SK_ECONN)
		return 1;
	if (strncmp(err->sqlstate, "08", 2) == 0)
		return 1;
	return strcmp(err->sqlstate, "57P01") == 0 ||
	    strcmp(err->sqlstate, "57P02") == 0 ||
	    strcmp(err->sqlstate, "57P03") == 0;
}

void
sk_pg_rollback(PGconn *conn)
{
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK ||
	    PQtransactionStatus(conn) == PQTRANS_IDLE)
		return;
	PQclear(PQexec(conn, "ROLLBACK"));
}

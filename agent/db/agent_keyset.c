/* agent_keyset: the key a backfill pages by, and its ranges
 * (agent_keyset.h). */
#include "agent_keyset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_pg.h"
#include "sk_util.h"

/* The key's columns in index order; the index is chosen in the CTE. */
static const char key_sql[] =
    "WITH k AS ("
    " SELECT i.indexrelid, i.indkey::pg_catalog.int2[] AS cols"
    " FROM pg_catalog.pg_index i"
    " WHERE i.indrelid = pg_catalog.to_regclass($1) AND i.indisunique"
    "  AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL"
    "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a"
    "   WHERE a.attrelid = i.indrelid"
    "    AND a.attnum = ANY (i.indkey::pg_catalog.int2[])"
    "    AND NOT a.attnotnull)"
    " ORDER BY i.indisprimary DESC,"
    "  pg_catalog.array_length(i.indkey::pg_catalog.int2[], 1), i.indexrelid"
    " LIMIT 1) "
    "SELECT k.indexrelid::pg_catalog.regclass::text,"
    " pg_catalog.quote_ident(a.attname::text),"
    " pg_catalog.format_type(a.atttypid, a.atttypmod)"
    " FROM k CROSS JOIN LATERAL pg_catalog.unnest(k.cols)"
    "  WITH ORDINALITY AS c(attnum, ord)"
    " JOIN pg_catalog.pg_attribute a"
    "  ON a.attrelid = pg_catalog.to_regclass($1) AND a.attnum = c.attnum"
    " ORDER BY c.ord";

int
agent_key_find(PGconn *conn, const char *table, agent_key *k, sk_err *err)
{
	const char *params[1] = { table };
	PGresult *res = NULL;
	int rc, n;

	memset(k, 0, sizeof(*k));
	rc = sk_pg_execp(conn, "look up the table",
	    "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, params, &res, err);
	if (rc != SK_OK)
		return rc;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		PQclear(res);
		return sk_err_set(err, SK_EINVAL, "table %s does not exist", table);
	}
	PQclear(res);
	res = NULL;
	rc = sk_pg_execp(conn, "find the table's key", key_sql, 1, params, &res, err);
	if (rc != SK_OK)
		return rc;
	n = PQntuples(res);
	if (n == 0 || n > AGENT_KEY_MAX) {
		PQclear(res);
		sk_err_set(err, SK_EINVAL,
		    n == 0 ? "table %s has no primary key or unique index on NOT "
			     "NULL columns: a backfill pages by key" :
			     "table %s: its key has more than 8 columns",
		    table);
		snprintf(err->hint, sizeof(err->hint),
		    "add a primary key (or a unique index on NOT NULL columns) to "
		    "%s, e.g. with CREATE UNIQUE INDEX CONCURRENTLY in an earlier "
		    "step",
		    table);
		return SK_EINVAL;
	}
	k->index = sk_strdup(PQgetvalue(res, 0, 0));
	for (int r = 0; r < n; r++) {
		k->cols[r] = sk_strdup(PQgetvalue(res, r, 1));
		k->types[r] = sk_strdup(PQgetvalue(res, r, 2));
		k->n = (size_t)r + 1;
		if (k->cols[r] == NULL || k->types[r] == NULL)
			break;
	}
	PQclear(res);
	if (k->index == NULL || k->n != (size_t)n || k->cols[n - 1] == NULL ||
	    k->types[n - 1] == NULL) {
		agent_key_fini(k);
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	}
	return SK_OK;
}

void
agent_key_fini(agent_key *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->cols[i]);
		free(k->types[i]);
	}
	free(k->index);
	memset(k, 0, sizeof(*k));
}

/* A growing string; oom once memory ran out. */
typedef struct buf {
	char *s;
	size_t len, cap;
	bool oom;
} buf;

static void
put(buf *b, const char *t)
{
	size_t n = strlen(t);
	char *p;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;

		p = realloc(b->s, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, t, n + 1);
	b->len += n;
}

static char *
done(buf *b)
{
	if (b->oom || b->s == NULL) {
		free(b->s);
		return NULL;
	}
	return b->s;
}

char *
agent_key_row(const agent_key *k, const char *prefix)
{
	buf b = { 0 };

	put(&b, "(");
	for (size_t i = 0; i < k->n; i++) {
		put(&b, i > 0 ? ", " : "");
		put(&b, prefix);
		put(&b, k->cols[i]);
	}
	put(&b, ")");
	return done(&b);
}

/* "('1'::integer, 'a'::text)". */
static void
put_values(buf *b, PGconn *conn, const agent_key *k, const agent_keyval *v)
{
	put(b, "(");
	for (size_t i = 0; i < k->n; i++) {
		char *lit = PQescapeLiteral(conn, v->v[i], strlen(v->v[i]));

		if (lit == NULL) {
			b->oom = true;
			return;
		}
		put(b, i > 0 ? ", " : "");
		put(b, lit);
		put(b, "::");
		put(b, k->types[i]);
		PQfreemem(lit);
	}
	put(b, ")");
}

char *
agent_key_range(PGconn *conn, const agent_key *k, const char *prefix,
    const agent_keyval *lo, const agent_keyval *hi)
{
	char *row = agent_key_row(k, prefix);
	buf b = { 0 };

	if (row == NULL)
		return NULL;
	if (lo != NULL && lo->set) {
		put(&b, row);
		put(&b, " > ");
		put_values(&b, conn, k, lo);
		put(&b, " AND ");
	}
	put(&b, row);
	put(&b, " <= ");
	put_values(&b, conn, k, hi);
	free(row);
	return done(&b);
}

int
agent_keyval_from(agent_keyval *v, const agent_key *k, const PGresult *res,
    int r, int c0, sk_err *err)
{
	agent_keyval_fini(v);
	for (size_t i = 0; i < k->n; i++) {
		v->v[i] = sk_strdup(PQgetvalue(res, r, c0 + (int)i));
		if (v->v[i] == NULL) {
			agent_keyval_fini(v);
			return sk_err_set(err, SK_ENOMEM, "out of memory");
		}
	}
	v->set = true;
	return SK_OK;
}

int
agent_keyval_copy(agent_keyval *to, const agent_keyval *from, size_t n, sk_err *err)
{
	agent_keyval_fini(to);
	if (!from->set)
		return SK_OK;
	for (size_t i = 0; i < n; i++) {
		to->v[i] = sk_strdup(from->v[i]);
		if (to->v[i] == NULL) {
			agent_keyval_fini(to);
			return sk_err_set(err, SK_ENOMEM, "out of memory");
		}
	}
	to->set = true;
	return SK_OK;
}

void
agent_keyval_format(const agent_keyval *v, size_t n, char *out, size_t len)
{
	size_t used;

	if (!v->set) {
		snprintf(out, len, "(start)");
		return;
	}
	snprintf(out, len, "(");
	for (size_t i = 0; i < n; i++) {
		used = strlen(out);
		snprintf(out + used, len - used, "%s%.60s", i > 0 ? ", " : "",
		    v->v[i]);
	}
	used = strlen(out);
	snprintf(out + used, len - used, ")");
}

void
agent_keyval_fini(agent_keyval *v)
{
	for (size_t i = 0; i < AGENT_KEY_MAX; i++)
		free(v->v[i]);
	memset(v, 0, sizeof(*v));
}

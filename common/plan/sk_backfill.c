/* sk_backfill: what a backfill is on paper, for plan build, the decoder
 * and the agent alike: its tuning's defaults and bounds, the statement
 * its batches run, and the backfill an expand step derives from its
 * columns (docs/backfills.md). */
#include "sk_plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_sql.h"
#include "sk_util.h"

void
sk_backfill_tuning_default(sk_backfill_tuning *t)
{
	memset(t, 0, sizeof(*t));
	t->batch_min = SK_BACKFILL_BATCH_MIN;
	t->batch_max = SK_BACKFILL_BATCH_MAX;
	t->batch_target_ms = SK_BACKFILL_TARGET_MS;
	t->dead_man_ms = SK_BACKFILL_DEAD_MAN_MS;
	t->workers = 1;
}

int
sk_backfill_tuning_check(const sk_backfill_tuning *t, sk_err *err)
{
	if (t->batch_max < 1 || t->batch_max > SK_BACKFILL_BATCH_LIMIT)
		return sk_err_set(err, SK_EINVAL,
		    "batch_max %" PRId64 " is not in [1, %d]", t->batch_max,
		    SK_BACKFILL_BATCH_LIMIT);
	if (t->batch_min < 1 || t->batch_min > t->batch_max)
		return sk_err_set(err, SK_EINVAL,
		    "batch_min %" PRId64 " is not in [1, batch_max %" PRId64 "]",
		    t->batch_min, t->batch_max);
	if (t->batch_target_ms < 1)
		return sk_err_set(err, SK_EINVAL, "batch_target must be at least 1ms");
	/* NaN fails this comparison too. */
	if (!(t->max_rows_per_second >= 0))
		return sk_err_set(err, SK_EINVAL,
		    "max_rows_per_second must be 0 (no limit) or positive");
	if (t->max_replication_lag_ms < 0 || t->dead_man_ms < 0)
		return sk_err_set(err, SK_EINVAL,
		    "max_replication_lag and dead_man must not be negative");
	if (t->workers < 1 || t->workers > SK_BACKFILL_WORKERS_MAX)
		return sk_err_set(err, SK_EINVAL, "workers %" PRIu32 " is not in [1, %d]",
		    t->workers, SK_BACKFILL_WORKERS_MAX);
	if (t->throttle_query != NULL) {
		sk_sql_script *sc = NULL;
		int rc = sk_sql_parse(t->throttle_query, "throttle_query", &sc, err);
		size_t n = sc != NULL ? sc->nstmts : 0;

		sk_sql_script_destroy(sc);
		if (rc != SK_OK)
			return rc;
		if (n != 1)
			return sk_err_set(err, SK_EINVAL,
			    "throttle_query must be one query returning true to "
			    "pause, not %zu statements",
			    n);
	}
	return SK_OK;
}

int
sk_backfill_statement(const sk_backfill *b, const char *keycond, char **out, sk_err *err)
{
	const char *where = b->where != NULL ? b->where : "true";
	sk_sql_script *sc = NULL;
	size_t len, n;
	char *sql;
	int rc;

	*out = NULL;
	if (b->table == NULL || b->update == NULL)
		return sk_err_set(err, SK_EINVAL, "needs table and update");
	rc = sk_sql_fragment_check(b->table, "table", err);
	if (rc == SK_OK)
		rc = sk_sql_fragment_check(b->update, "update", err);
	if (rc == SK_OK)
		rc = sk_sql_fragment_check(where, "where", err);
	if (rc != SK_OK)
		return rc;
	len = strlen(b->table) + strlen(b->update) + strlen(where) +
	    strlen(keycond) + 64;
	sql = malloc(len);
	if (sql == NULL)
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	/* Newlines keep a trailing "--" comment in a fragment from eating
	 * what follows it. */
	snprintf(sql, len, "UPDATE %s AS t\n%s\nWHERE (%s) AND (\n%s\n)",
	    b->table, b->update, keycond, where);
	rc = sk_sql_parse(sql, "update", &sc, err);
	n = sc != NULL ? sc->nstmts : 0;
	if (rc == SK_OK && n != 1)
		rc = sk_err_set(err, SK_EINVAL, "update must be part of one UPDATE");
	if (rc == SK_OK && strncasecmp(sc->stmts[0].text, "UPDATE", 6) != 0)
		rc = sk_err_set(err, SK_EINVAL, "update must be part of one UPDATE");
	sk_sql_script_destroy(sc);
	if (rc != SK_OK) {
		free(sql);
		return rc;
	}
	*out = sql;
	return SK_OK;
}

/* "a" -> "\"a\"", doubling quotes inside: a column name as an
 * identifier, whatever it holds. */
static char *
quote_ident(const char *name)
{
	size_t n = strlen(name), k = 0;
	char *q = malloc(2 * n + 3);

	if (q == NULL)
		return NULL;
	q[k++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '"')
			q[k++] = '"';
		q[k++] = name[i];
	}
	q[k++] = '"';
	q[k] = '\0';
	return q;
}

int
sk_expand_backfill(const sk_expand *e, sk_backfill *out, sk_err *err)
{
	char *col = NULL, *from = NULL, *fwd = NULL;
	size_t len;
	int rc = SK_OK;

	memset(out, 0, sizeof(*out));
	col = quote_ident(e->column != NULL ? e->column : "");
	from = quote_ident(e->from != NULL ? e->from : "");
	if (col == NULL || from == NULL)
		goto oom;
	if (e->forward == NULL) {
		fwd = malloc(strlen(from) + 3);
		if (fwd == NULL)
			goto oom;
		snprintf(fwd, strlen(from) + 3, "t.%s", from);
	} else {
		fwd = sk_strdup(e->forward);
		if (fwd == NULL)
			goto oom;
	}
	len = strlen(col) + strlen(fwd) + 64;
	out->table = sk_strdup(e->table != NULL ? e->table : "");
	out->update = malloc(len);
	out->where = malloc(len);
	if (out->table == NULL || out->update == NULL || out->where == NULL)
		goto oom;
	/* Newlines keep a trailing "--" comment in forward from eating the
	 * closing parenthesis. */
	snprintf(out->update, len, "SET %s = (\n%s\n)", col, fwd);
	snprintf(out->where, len, "t.%s IS DISTINCT FROM (\n%s\n)", col, fwd);
	out->tuning = e->tuning;
	out->tuning.throttle_query = NULL;
	if (e->tuning.throttle_query != NULL) {
		out->tuning.throttle_query = sk_strdup(e->tuning.throttle_query);
		if (out->tuning.throttle_query == NULL)
			goto oom;
	}
	goto out;
oom:
	rc = sk_err_set(err, SK_ENOMEM, "out of memory");
	sk_backfill_fini(out);
out:
	free(col);
	free(from);
	free(fwd);
	return rc;
}

void
sk_backfill_fini(sk_backfill *b)
{
	if (b == NULL)
		return;
	free(b->table);
	free(b->update);
	free(b->where);
	free(b->tuning.throttle_query);
	memset(b, 0, sizeof(*b));
}

void
sk_expand_fini(sk_expand *e)
{
	if (e == NULL)
		return;
	free(e->table);
	free(e->column);
	free(e->type);
	free(e->from);
	free(e->forward);
	free(e->backward);
	free(e->tuning.throttle_query);
	memset(e, 0, sizeof(*e));
}

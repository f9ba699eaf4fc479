/* agent_checkpoint: skein.backfills, read and advanced
 * (agent_checkpoint.h). The statements are built for the key's column
 * count; every value is a parameter. */
#include "agent_checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_pg.h"
#include "sk_util.h"

/* "ARRAY[$first, ..., $first+n-1]::text[]" appended to sql. */
static void
put_array(char *sql, size_t len, int first, size_t n)
{
	size_t used = strlen(sql);

	snprintf(sql + used, len - used, "ARRAY[");
	for (size_t i = 0; i < n; i++) {
		used = strlen(sql);
		snprintf(sql + used, len - used, "%s$%d", i > 0 ? ", " : "",
		    first + (int)i);
	}
	used = strlen(sql);
	snprintf(sql + used, len - used, "]::text[]");
}

/* "col[1], ..., col[n]" appended to sql. */
static void
put_items(char *sql, size_t len, const char *col, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(sql);

		snprintf(sql + used, len - used, ", %s[%zu]", col, i + 1);
	}
}

void
agent_checkpoints_free(agent_checkpoint *cp, size_t n)
{
	for (size_t i = 0; cp != NULL && i < n; i++) {
		agent_keyval_fini(&cp[i].lo);
		agent_keyval_fini(&cp[i].hi);
		agent_keyval_fini(&cp[i].last);
	}
	free(cp);
}

static int64_t
num(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? 0 : strtoll(PQgetvalue(res, r, c), NULL, 10);
}

/* Columns of a loaded row: 0 worker, 1 done, 2 checksum, 3 same key,
 * 4..9 figures and whether lo/hi/last are set, then n values of each. */
#define COL_VALUES 12

int
agent_checkpoint_load(PGconn *conn, const agent_backfill_id *id,
    const agent_key *k, agent_checkpoint **out, size_t *n, sk_err *err)
{
	const char *params[2 + AGENT_KEY_MAX];
	char sql[2048];
	PGresult *res = NULL;
	agent_checkpoint *cp;
	int rc, rows;

	*out = NULL;
	*n = 0;
	params[0] = id->plan_name;
	params[1] = id->step_id;
	for (size_t i = 0; i < k->n; i++)
		params[2 + i] = k->cols[i];
	snprintf(sql, sizeof(sql), "SELECT worker, done, checksum, key_columns = ");
	put_array(sql, sizeof(sql), 3, k->n);
	snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
	    ", rows_total, rows_done, rows_scanned, batches, throttled_ms,"
	    " range_lo IS NOT NULL, range_hi IS NOT NULL, last_key IS NOT NULL");
	put_items(sql, sizeof(sql), "range_lo", k->n);
	put_items(sql, sizeof(sql), "range_hi", k->n);
	put_items(sql, sizeof(sql), "last_key", k->n);
	snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
	    " FROM skein.backfills WHERE plan_name = $1 AND step_id = $2"
	    " ORDER BY worker");
	rc = sk_pg_execp(conn, "read the backfill's checkpoints", sql,
	    2 + (int)k->n, params, &res, err);
	if (rc != SK_OK)
		return rc;
	rows = PQntuples(res);
	if (rows == 0) {
		PQclear(res);
		return SK_OK;
	}
	if (strcmp(PQgetvalue(res, 0, 2), id->checksum_hex) != 0) {
		sk_err_set(err, SK_EDRIFT,
		    "the backfill's checkpoints belong to checksum %.16s... but "
		    "the plan has %.16s...: it was changed after it started",
		    PQgetvalue(res, 0, 2), id->checksum_hex);
		snprintf(err->hint, sizeof(err->hint),
		    "a changed backfill is a new step: give it a new id (or roll "
		    "back the plan that started it)");
		PQclear(res);
		return SK_EDRIFT;
	}
	if (strcmp(PQgetvalue(res, 0, 3), "t") != 0) {
		PQclear(res);
		return sk_err_set(err, SK_ESTATE,
		    "the backfill started with another key of the table (its "
		    "key changed since); it cannot resume from its checkpoints");
	}
	cp = calloc((size_t)rows, sizeof(*cp));
	if (cp == NULL) {
		PQclear(res);
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	}
	for (int r = 0; r < rows && rc == SK_OK; r++) {
		int c0 = COL_VALUES;

		cp[r].worker = (int)num(res, r, 0);
		cp[r].done = strcmp(PQgetvalue(res, r, 1), "t") == 0;
		cp[r].rows_total = num(res, r, 4);
		cp[r].rows_done = num(res, r, 5);
		cp[r].rows_scanned = num(res, r, 6);
		cp[r].batches = num(res, r, 7);
		cp[r].throttled_ms = num(res, r, 8);
		if (strcmp(PQgetvalue(res, r, 9), "t") == 0)
			rc = agent_keyval_from(&cp[r].lo, k, res, r, c0, err);
		c0 += (int)k->n;
		if (rc == SK_OK && strcmp(PQgetvalue(res, r, 10), "t") == 0)
			rc = agent_keyval_from(&cp[r].hi, k, res, r, c0, err);
		c0 += (int)k->n;
		if (rc == SK_OK && strcmp(PQgetvalue(res, r, 11), "t") == 0)
			rc = agent_keyval_from(&cp[r].last, k, res, r, c0, err);
	}
	PQclear(res);
	if (rc != SK_OK) {
		agent_checkpoints_free(cp, (size_t)rows);
		return rc;
	}
	*out = cp;
	*n = (size_t)rows;
	return SK_OK;
}

/* params[at..] = v's values, or NULLs. */
static void
put_params(const char **params, int at, const agent_keyval *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		params[at + (int)i] = v->set ? v->v[i] : NULL;
}

int
agent_checkpoint_create(PGconn *conn, const agent_backfill_id *id,
    const agent_key *k, const agent_checkpoint *cp, size_t n, sk_err *err)
{
	const char *params[7 + 3 * AGENT_KEY_MAX];
	char sql[2048], worker[16], total[24];
	int rc = SK_OK;

	snprintf(sql, sizeof(sql),
	    "INSERT INTO skein.backfills (plan_name, step_id, worker, checksum,"
	    " rollout_id, rows_total, done, key_columns, range_lo, range_hi)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, ");
	put_array(sql, sizeof(sql), 8, k->n);
	snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
	    ", CASE WHEN $%zu::text IS NULL THEN NULL ELSE ", 8 + k->n);
	put_array(sql, sizeof(sql), 8 + (int)k->n, k->n);
	snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
	    " END, CASE WHEN $%zu::text IS NULL THEN NULL ELSE ", 8 + 2 * k->n);
	put_array(sql, sizeof(sql), 8 + 2 * (int)k->n, k->n);
	snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), " END)");
	for (size_t w = 0; w < n && rc == SK_OK; w++) {
		snprintf(worker, sizeof(worker), "%d", cp[w].worker);
		snprintf(total, sizeof(total), "%" PRId64, cp[w].rows_total);
		params[0] = id->plan_name;
		params[1] = id->step_id;
		params[2] = worker;
		params[3] = id->checksum_hex;
		params[4] = id->rollout_id;
		params[5] = cp[w].worker == 0 ? total : NULL;
		params[6] = cp[w].done ? "true" : "false";
		for (size_t i = 0; i < k->n; i++)
			params[7 + i] = k->cols[i];
		put_params(params, 7 + (int)k->n, &cp[w].lo, k->n);
		put_params(params, 7 + 2 * (int)k->n, &cp[w].hi, k->n);
		rc = sk_pg_execp(conn, "record the backfill's key ranges", sql,
		    7 + 3 * (int)k->n, params, NULL, err);
	}
	return rc;
}

int
agent_checkpoint_advance(PGconn *conn, const agent_backfill_id *id,
    const agent_key *k, int worker, const agent_keyval *from,
    const agent_keyval *to, int64_t rows, int64_t scanned, bool counted,
    bool done, int64_t throttled_ms, sk_err *err)
{
	const char *params[9 + 2 * AGENT_KEY_MAX];
	char sql[2048], w[16], r[24], s[24], t[24];
	PGresult *res = NULL;
	int np = 9 + 2 * (int)k->n, rc;
	bool moved;

	snprintf(w, sizeof(w), "%d", worker);
	snprintf(r, sizeof(r), "%" PRId64, rows);
	snprintf(s, sizeof(s), "%" PRId64, scanned);
	snprintf(t, sizeof(t), "%" PRId64, throttled_ms);
	params[0] = id->plan_name;
	params[1] = id->step_id;
	params[2] = w;
	params[3] = r;
	params[4] = s;
	params[5] = counted ? "1" : "0";
	params[6] = done ? "true" : "false";
	params[7] = t;
	params[8] = to->set ? "true" : "false";
	put_params(params, 9, to, k->n);
	put_params(params, 9 + (int)k->n, from, k->n);
	snprintf(sql, sizeof(sql),
	    "UPDATE skein.backfills SET rows_done = rows_done + $4,"
	    " rows_scanned = rows_scanned + $5, batches = batches + $6,"
	    " done = $7, throttled_ms = throttled_ms + $8,"
	    " updated_at = pg_catalog.clock_timestamp(),"
	    " last_key = CASE WHEN $9 THEN ");
	put_array(sql, sizeof(sql), 10, k->n);
	snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
	    " ELSE last_key END WHERE plan_name = $1 AND step_id = $2 AND"
	    " worker = $3 AND ");
	if (from->set)
		put_array(sql, sizeof(sql), 10 + (int)k->n, k->n);
	else
		snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql), "NULL::text[]");
	snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
	    " IS NOT DISTINCT FROM last_key AND NOT done");
	/* Without a from, its parameters are not referenced: leave them off
	 * so that the server does not have to guess their types. */
	if (!from->set)
		np = 9 + (int)k->n;
	rc = sk_pg_execp(conn, "advance the backfill's checkpoint", sql, np,
	    params, &res, err);
	if (rc != SK_OK)
		return rc;
	moved = strcmp(PQcmdTuples(res), "1") != 0;
	PQclear(res);
	if (moved)
		return sk_err_set(err, SK_ESTATE,
		    "the checkpoint of backfill worker %d moved meanwhile (another "
		    "agent ran its batch?)",
		    worker);
	return SK_OK;
}

int
agent_checkpoint_forget(
    PGconn *conn, const char *plan_name, const char *step_id, sk_err *err)
{
	const char *params[2] = { plan_name, step_id };

	return sk_pg_execp(conn, "forget the backfill's checkpoints",
	    "DELETE FROM skein.backfills WHERE plan_name = $1"
	    " AND ($2::text IS NULL OR step_id = $2)",
	    2, params, NULL, err);
}

/* agent_expansion: skein.expansions and the catalog facts of the expand
 * and contract kinds (agent_expansion.h). */
#include "agent_expansion.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_ledger.h"
#include "sk_pg.h"
#include "sk_util.h"

/* The columns every reader selects, in agent_expansion's order. */
#define ROW_COLUMNS                                                       \
"plan_name, step_id, relid::text, table_name, column_name, from_column, " \
    "trigger_name, function_name, completed_at IS NOT NULL, "             \
    "contracted_at IS NOT NULL"

void
agent_expansion_sync_name(const char *plan_name, const char *step_id,
    const char *table, const char *column, char out[AGENT_SYNC_NAME_LEN])
{
	const char *parts[4] = { plan_name, step_id, table, column };
	uint32_t h = 2166136261u; /* FNV-1a: stable, no key needed */

	for (size_t i = 0; i < 4; i++) {
		const unsigned char *p =
		    (const unsigned char *)(parts[i] ? parts[i] : "");

		for (; *p != '\0'; p++) {
			h ^= *p;
			h *= 16777619u;
		}
		/* A separator, so that ("ab", "c") and ("a", "bc") differ. */
		h ^= 0xffu;
		h *= 16777619u;
	}
	snprintf(out, AGENT_SYNC_NAME_LEN, "skein_sync_%08" PRIx32, h);
}

static void
copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

static void
row_from(const PGresult *res, int r, agent_expansion *x)
{
	memset(x, 0, sizeof(*x));
	copy(x->plan_name, sizeof(x->plan_name), PQgetvalue(res, r, 0));
	copy(x->step_id, sizeof(x->step_id), PQgetvalue(res, r, 1));
	x->relid = (uint32_t)strtoul(PQgetvalue(res, r, 2), NULL, 10);
	copy(x->table_name, sizeof(x->table_name), PQgetvalue(res, r, 3));
	copy(x->column_name, sizeof(x->column_name), PQgetvalue(res, r, 4));
	copy(x->from_column, sizeof(x->from_column), PQgetvalue(res, r, 5));
	copy(x->trigger_name, sizeof(x->trigger_name), PQgetvalue(res, r, 6));
	copy(x->function_name, sizeof(x->function_name), PQgetvalue(res, r, 7));
	x->completed = strcmp(PQgetvalue(res, r, 8), "t") == 0;
	x->contracted = strcmp(PQgetvalue(res, r, 9), "t") == 0;
}

int
agent_expansion_table_find(PGconn *conn, const char *table,
    agent_expansion_table *out, bool *found, sk_err *err)
{
	const char *params[1] = { table };
	PGresult *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	*found = false;
	rc = sk_pg_execp(conn, "find the table",
	    "SELECT c.oid::text, pg_catalog.quote_ident(n.nspname) || '.' || "
	    "pg_catalog.quote_ident(c.relname), pg_catalog.quote_ident(n.nspname) "
	    "FROM pg_catalog.pg_class c "
	    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	    "WHERE c.oid = pg_catalog.to_regclass($1)",
	    1, params, &res, err);
	if (rc == SK_OK && PQntuples(res) == 1) {
		out->relid = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
		copy(out->qualified, sizeof(out->qualified), PQgetvalue(res, 0, 1));
		copy(out->schema, sizeof(out->schema), PQgetvalue(res, 0, 2));
		*found = true;
	}
	PQclear(res);
	return rc;
}

int
agent_expansion_has_column(
    PGconn *conn, uint32_t relid, const char *column, bool *exists, sk_err *err)
{
	char oid[16];
	const char *params[2] = { oid, column };
	PGresult *res = NULL;
	int rc;

	*exists = false;
	snprintf(oid, sizeof(oid), "%" PRIu32, relid);
	rc = sk_pg_execp(conn, "look up the column",
	    "SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = $1::oid "
	    "AND attname = $2 AND attnum > 0 AND NOT attisdropped",
	    2, params, &res, err);
	if (rc == SK_OK)
		*exists = PQntuples(res) == 1;
	PQclear(res);
	return rc;
}

int
agent_expansion_lookup(PGconn *conn, const char *plan_name, const char *step_id,
    bool lock, agent_expansion *out, bool *found, sk_err *err)
{
	const char *params[2] = { plan_name, step_id };
	PGresult *res = NULL;
	bool present;
	int rc;

	memset(out, 0, sizeof(*out));
	*found = false;
	rc = agent_ledger_has_table(conn, "look for skein.expansions",
	    "skein.expansions", &present, err);
	if (rc != SK_OK || !present)
		return rc;
	rc = sk_pg_execp(conn, "read skein.expansions",
	    lock ? "SELECT " ROW_COLUMNS " FROM skein.expansions "
		   "WHERE plan_name = $1 AND step_id = $2 FOR UPDATE" :
		   "SELECT " ROW_COLUMNS " FROM skein.expansions "
		   "WHERE plan_name = $1 AND step_id = $2",
	    2, params, &res, err);
	if (rc == SK_OK && PQntuples(res) == 1) {
		row_from(res, 0, out);
		*found = true;
	}
	PQclear(res);
	return rc;
}

int
agent_expansion_find(PGconn *conn, const char *table, const char *column,
    const char *from, bool contracted, agent_expansion *out, bool *found, sk_err *err)
{
	const char *params[3] = { table, column, from };
	PGresult *res = NULL;
	bool present;
	int rc;

	memset(out, 0, sizeof(*out));
	*found = false;
	rc = agent_ledger_has_table(conn, "look for skein.expansions",
	    "skein.expansions", &present, err);
	if (rc != SK_OK || !present)
		return rc;
	rc = sk_pg_execp(conn, "read skein.expansions",
	    contracted ?
		"SELECT " ROW_COLUMNS " FROM skein.expansions "
		"WHERE relid = pg_catalog.to_regclass($1) AND column_name = $2 "
		"AND from_column = $3 ORDER BY contracted_at IS NOT NULL DESC, "
		"contracted_at DESC NULLS LAST, completed_at DESC NULLS LAST, "
		"plan_name, step_id LIMIT 1 FOR UPDATE" :
		"SELECT " ROW_COLUMNS " FROM skein.expansions "
		"WHERE relid = pg_catalog.to_regclass($1) AND column_name = $2 "
		"AND from_column = $3 ORDER BY (completed_at IS NOT NULL AND "
		"contracted_at IS NULL) DESC, completed_at DESC NULLS LAST, "
		"plan_name, step_id LIMIT 1 FOR UPDATE",
	    3, params, &res, err);
	if (rc == SK_OK && PQntuples(res) == 1) {
		row_from(res, 0, out);
		*found = true;
	}
	PQclear(res);
	return rc;
}

int
agent_expansion_insert(PGconn *conn, const agent_expansion *x, sk_err *err)
{
	char oid[16];
	const char *params[8] = { x->plan_name, x->step_id, oid, x->table_name,
		x->column_name, x->from_column, x->trigger_name, x->function_name };

	snprintf(oid, sizeof(oid), "%" PRIu32, x->relid);
	return sk_pg_execp(conn, "record the expansion",
	    "INSERT INTO skein.expansions (plan_name, step_id, relid, "
	    "table_name, column_name, from_column, trigger_name, function_name) "
	    "VALUES ($1, $2, $3::oid, $4, $5, $6, $7, $8)",
	    8, params, NULL, err);
}

/* Run a one-row UPDATE of the step's row; SK_ESTATE when it has none. */
static int
update_row(PGconn *conn, const char *what, const char *sql,
    const char *plan_name, const char *step_id, sk_err *err)
{
	const char *params[2] = { plan_name, step_id };
	PGresult *res = NULL;
	int rc;

	rc = sk_pg_execp(conn, what, sql, 2, params, &res, err);
	if (rc == SK_OK && strcmp(PQcmdTuples(res), "1") != 0)
		rc = sk_err_set(err, SK_ESTATE,
		    "%s: skein.expansions has no row for plan %s, step %s",
		    what, plan_name, step_id);
	PQclear(res);
	return rc;
}

int
agent_expansion_complete(
    PGconn *conn, const char *plan_name, const char *step_id, sk_err *err)
{
	return update_row(conn, "mark the expansion complete",
	    "UPDATE skein.expansions SET completed_at = pg_catalog.now() "
	    "WHERE plan_name = $1 AND step_id = $2",
	    plan_name, step_id, err);
}

int
agent_expansion_set_contracted(PGconn *conn, const char *plan_name,
    const char *step_id, bool contracted, sk_err *err)
{
	return update_row(conn,
	    contracted ? "mark the expansion contracted" : "mark the expansion open again",
	    contracted ? "UPDATE skein.expansions SET contracted_at = "
			 "pg_catalog.now() WHERE plan_name = $1 AND step_id = $2" :
			 "UPDATE skein.expansions SET contracted_at = NULL "
			 "WHERE plan_name = $1 AND step_id = $2",
	    plan_name, step_id, err);
}

int
agent_expansion_forget(
    PGconn *conn, const char *plan_name, const char *step_id, sk_err *err)
{
	const char *params[2] = { plan_name, step_id };

	return sk_pg_execp(conn, "forget the expansion",
	    "DELETE FROM skein.expansions WHERE plan_name = $1 AND step_id = $2",
	    2, params, NULL, err);
}

int
agent_expansion_drop_sql(PGconn *conn, const agent_expansion *x,
    const char *drop_column, char **out, sk_err *err)
{
	char oid[16];
	const char *params[4] = { oid, x->trigger_name, x->function_name,
		drop_column != NULL ? drop_column : "" };
	PGresult *res = NULL;
	int rc;

	*out = NULL;
	snprintf(oid, sizeof(oid), "%" PRIu32, x->relid);
	/* The server names everything (regclass, regprocedure, quote_ident):
	 * nothing read from the ledger goes into SQL unquoted. A table
	 * renamed since is found by its oid. */
	rc = sk_pg_execp(conn, "name what to drop",
	    "WITH tab AS (SELECT c.oid::pg_catalog.regclass::text AS t "
	    "  FROM pg_catalog.pg_class c WHERE c.oid = $1::oid), "
	    "fn AS (SELECT pg_catalog.to_regprocedure($3 || '()')::text AS f) "
	    "SELECT pg_catalog.concat("
	    "  (SELECT 'DROP TRIGGER IF EXISTS ' || pg_catalog.quote_ident($2) "
	    "     || ' ON ' || t || ';' || chr(10) FROM tab), "
	    "  (SELECT 'DROP FUNCTION IF EXISTS ' || f || ';' || chr(10) "
	    "     FROM fn WHERE f IS NOT NULL), "
	    "  (SELECT 'ALTER TABLE ' || t || ' DROP COLUMN IF EXISTS ' "
	    "     || pg_catalog.quote_ident($4) || ';' || chr(10) "
	    "     FROM tab WHERE $4 <> ''))",
	    4, params, &res, err);
	if (rc == SK_OK) {
		*out = sk_strdup(PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "");
		if (*out == NULL)
			rc = sk_err_set(err, SK_ENOMEM, "out of memory");
	}
	PQclear(res);
	return rc;
}

/* agent_expansion: what the expand and contract kinds keep and look up in
 * a database: the ledger's skein.expansions (agent_ledger.h), one row per
 * expand step that added a column and its sync trigger there, and the
 * catalog facts both kinds need about the table (docs/backfills.md,
 * "Two-phase renames and type changes").
 *
 * A row is inserted with the expand's DDL, in its transaction, and is
 * deleted by the expand's revert in the revert's: the row exists exactly
 * when the column and the trigger that skein added do. completed_at is
 * set in the transaction that records the expand (its backfill is done),
 * contracted_at in the contract's.
 *
 * Statements are parameterised; identifiers the caller puts into SQL come
 * quoted by the server (quote_ident, regclass, regprocedure), never from
 * text read back unquoted. Readers return nothing, without error and
 * without aborting an open transaction, when the database has no
 * skein.expansions (a rehearsal on a ledger of an older version or none).
 * Functions are as thread-safe as the connection they are given.
 */
#ifndef AGENT_EXPANSION_H
#define AGENT_EXPANSION_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"

/* A quoted, schema-qualified name: two identifiers of at most 63 bytes,
 * each with every quote doubled and quoted, and a dot. */
#define AGENT_QNAME_MAX 272
/* One quoted identifier: 63 bytes, each a doubled quote at worst, two
 * quotes and a NUL. */
#define AGENT_QIDENT_MAX 132
/* A bare PostgreSQL identifier (63 bytes) and its NUL. */
#define AGENT_IDENT_MAX 64
/* "skein_sync_" and 8 hex digits. */
#define AGENT_SYNC_NAME_LEN 20

/* The table a step names, as the database resolves it (to_regclass with
 * the agent's search_path). */
typedef struct agent_expansion_table {
	uint32_t relid;
	char qualified[AGENT_QNAME_MAX]; /* "schema"."name", quoted as needed */
	char schema[AGENT_QIDENT_MAX];   /* the schema, quoted as needed */
} agent_expansion_table;

/* One row of skein.expansions. */
typedef struct agent_expansion {
	char plan_name[AGENT_IDENT_MAX];
	char step_id[AGENT_IDENT_MAX];
	uint32_t relid;
	char table_name[AGENT_QNAME_MAX];    /* qualified when it was added */
	char column_name[AGENT_IDENT_MAX];   /* the new column */
	char from_column[AGENT_IDENT_MAX];   /* the old column */
	char trigger_name[AGENT_IDENT_MAX];  /* bare, on the table */
	char function_name[AGENT_QNAME_MAX]; /* qualified, quoted */
	bool completed;                      /* completed_at is set */
	bool contracted;                     /* contracted_at is set */
} agent_expansion;

/* The name of the sync trigger and of its function for an expand step,
 * "skein_sync_" and 8 hex digits of a hash of the four names, into out:
 * the same in every database and every run, different for another step
 * or column. */
void agent_expansion_sync_name(const char *plan_name, const char *step_id,
    const char *table, const char *column, char out[AGENT_SYNC_NAME_LEN]);

/* Resolve table (as a plan writes it: name or schema.name) in the open
 * transaction or on its own. *found is false, without error, for a table
 * that does not exist. Database errors as sk_pg_execp. */
int agent_expansion_table_find(PGconn *conn, const char *table,
    agent_expansion_table *out, bool *found, sk_err *err) SK_WARN_UNUSED;

/* Whether relid has a live (not dropped) column named column (as is, not
 * case-folded). */
int agent_expansion_has_column(PGconn *conn, uint32_t relid, const char *column,
    bool *exists, sk_err *err) SK_WARN_UNUSED;

/* The row of (plan_name, step_id) into *out, locked FOR UPDATE when
 * lock (the caller's transaction is open); *found false when there is
 * none or no skein.expansions. */
int agent_expansion_lookup(PGconn *conn, const char *plan_name, const char *step_id,
    bool lock, agent_expansion *out, bool *found, sk_err *err) SK_WARN_UNUSED;

/* The expand of column from `from` on table (resolved by to_regclass, as
 * a contract names it), locked FOR UPDATE: when contracted is false the
 * one a contract may end (completed, not contracted) if there is one,
 * else the latest of the others; when contracted is true a contracted
 * one if there is one, else the latest of the others. *found false when
 * there is none; the caller looks at out's completed and contracted. */
int agent_expansion_find(PGconn *conn, const char *table, const char *column,
    const char *from, bool contracted, agent_expansion *out, bool *found,
    sk_err *err) SK_WARN_UNUSED;

/* Insert x (completed_at and contracted_at NULL) in the open transaction.
 * A second row for the same step fails with SQLSTATE 23505. */
int agent_expansion_insert(
    PGconn *conn, const agent_expansion *x, sk_err *err) SK_WARN_UNUSED;

/* In the open transaction: set completed_at (the expand is recorded), set
 * or clear contracted_at. SK_ESTATE, changing nothing, when the step has
 * no row. */
int agent_expansion_complete(PGconn *conn, const char *plan_name,
    const char *step_id, sk_err *err) SK_WARN_UNUSED;
int agent_expansion_set_contracted(PGconn *conn, const char *plan_name,
    const char *step_id, bool contracted, sk_err *err) SK_WARN_UNUSED;

/* Delete the row of (plan_name, step_id), in the open transaction; none
 * is fine. */
int agent_expansion_forget(PGconn *conn, const char *plan_name,
    const char *step_id, sk_err *err) SK_WARN_UNUSED;

/* The statements that take x's trigger and function away, into *out (new
 * string, caller frees): DROP TRIGGER IF EXISTS on the table x->relid is
 * now (none when the table is gone), DROP FUNCTION when it still exists,
 * both named by the server. When drop_column is not NULL, an ALTER TABLE
 * ... DROP COLUMN IF EXISTS of that column follows. "" when there is
 * nothing left to drop. */
int agent_expansion_drop_sql(PGconn *conn, const agent_expansion *x,
    const char *drop_column, char **out, sk_err *err) SK_WARN_UNUSED;

#endif

/* sk_sql: SQL as PostgreSQL's own parser sees it (libpg_query): a text
 * split into statements with their lines, syntax errors at FILE:LINE, the
 * normalized form a step checksum hashes, and the facts about each
 * statement (sk_sql_op) that the lint and the agent act on. Nothing here
 * matches SQL text with patterns: every fact comes from the parse tree.
 *
 * Ownership: an sk_sql_script owns every statement, op and string
 * reachable from it; sk_sql_script_destroy frees the lot. Functions are
 * thread-safe (libpg_query keeps its state per thread).
 */
#ifndef SK_SQL_H
#define SK_SQL_H

#include <stdbool.h>
#include <stddef.h>

#include "sk_err.h"

/* What one statement does, as far as the lint and the agent care. A
 * statement yields zero or more ops (an ALTER TABLE with three commands
 * yields three). Unless noted, schema and table name the table the op
 * acts on, as written: schema is NULL when the name was not qualified. */
enum sk_sql_op_kind {
	/* CREATE TABLE, CREATE TABLE AS. columns: the columns it defines;
	 * checked: the columns its CHECK constraints name; what:
	 * "temporary" for a temporary table, else NULL. */
	SK_SQL_CREATE_TABLE = 1,
	/* CREATE INDEX. name: the index (NULL when unnamed); concurrent;
	 * only: CREATE INDEX ON ONLY (on a partitioned table, an invalid
	 * index on the parent alone, nothing built). */
	SK_SQL_CREATE_INDEX,
	SK_SQL_DROP_TABLE,
	SK_SQL_DROP_COLUMN, /* column */
	/* ALTER TABLE|VIEW|MATERIALIZED VIEW|FOREIGN TABLE ... RENAME TO.
	 * name: the new name; what: "table", "view", ... */
	SK_SQL_RENAME_TABLE,
	/* ... RENAME [COLUMN] column TO name. */
	SK_SQL_RENAME_COLUMN,
	/* ALTER TABLE ADD CONSTRAINT. contype; name: the constraint (NULL
	 * when unnamed); not_valid; using_index (ADD ... USING INDEX);
	 * checked: the columns a CHECK names. Also one per CHECK,
	 * REFERENCES, UNIQUE, PRIMARY KEY written on an ADD COLUMN (column:
	 * the new column), which PostgreSQL validates or indexes at once. */
	SK_SQL_ADD_CONSTRAINT,
	SK_SQL_ALTER_COLUMN_TYPE, /* column */
	/* ALTER TABLE ADD COLUMN. column; rewrites: the new column forces
	 * a rewrite of the table (volatile default, serial, identity,
	 * generated stored); what: why, e.g. "DEFAULT random()". */
	SK_SQL_ADD_COLUMN,
	SK_SQL_SET_NOT_NULL,  /* column */
	SK_SQL_ENABLE_RLS,    /* ALTER TABLE ENABLE ROW LEVEL SECURITY */
	SK_SQL_CREATE_POLICY, /* name: the policy */
	/* A statement PostgreSQL refuses inside a transaction block. what:
	 * "CREATE INDEX CONCURRENTLY", "VACUUM", ... */
	SK_SQL_NO_TX,
	/* BEGIN, COMMIT, ROLLBACK, SAVEPOINT, ... what: the command. */
	SK_SQL_TX_CONTROL,
	/* Session-level settings: SET without LOCAL, RESET,
	 * set_config(..., false). what: e.g. "SET search_path". */
	SK_SQL_SESSION_SET,
	/* Other session state a pooled connection keeps: LISTEN, PREPARE,
	 * DECLARE ... WITH HOLD, DISCARD, a temporary table that outlives
	 * the transaction. what: the command. */
	SK_SQL_SESSION_STATE,
	/* REINDEX. what: "TABLE", "INDEX", "SCHEMA", "DATABASE" or "SYSTEM";
	 * concurrent; for INDEX, schema and name name the index (table is
	 * NULL); for TABLE, schema and table name the table. */
	SK_SQL_REINDEX,
	/* A statement that rewrites a whole table under an ACCESS EXCLUSIVE
	 * lock: VACUUM FULL, CLUSTER, ALTER TABLE SET TABLESPACE|LOGGED|
	 * UNLOGGED. what: the command; table NULL when it names no table
	 * (VACUUM FULL or CLUSTER of the whole database). */
	SK_SQL_REWRITE,
	/* TRUNCATE: one per table named. what: "CASCADE" when TRUNCATE ...
	 * CASCADE (which empties the tables referencing it too), else NULL. */
	SK_SQL_TRUNCATE,
	/* LOCK [TABLE]: one per statement; schema and table name the first
	 * table named. PostgreSQL refuses it outside a transaction block. */
	SK_SQL_LOCK_TABLE,
	/* ALTER INDEX ... RENAME TO. schema and table name the index (as
	 * RENAME_TABLE names the table); name: the new name. */
	SK_SQL_RENAME_INDEX,
	/* ALTER TABLE ... RENAME CONSTRAINT a TO b. what: the constraint's
	 * current name (a); name: the new one (b). */
	SK_SQL_RENAME_CONSTRAINT,
};

enum sk_sql_contype {
	SK_SQL_CON_OTHER = 0,
	SK_SQL_CON_CHECK,
	SK_SQL_CON_FOREIGN,
	SK_SQL_CON_UNIQUE,  /* UNIQUE or PRIMARY KEY */
	SK_SQL_CON_EXCLUDE, /* EXCLUDE */
};

typedef struct sk_sql_op {
	int kind; /* enum sk_sql_op_kind */
	char *schema;
	char *table;
	char *column;
	char *name;
	char *what;
	int contype; /* enum sk_sql_contype */
	bool concurrent;
	bool only;
	bool not_valid;
	bool using_index;
	bool rewrites;
	char **columns;
	size_t ncolumns;
	char **checked;
	size_t nchecked;
} sk_sql_op;

typedef struct sk_sql_stmt {
	int line;      /* 1-based line of the statement's first token */
	size_t offset; /* byte offset of that token in the script */
	char *text;    /* the statement from its first token, without the ';'
		     * and without trailing comments and space */
	sk_sql_op *ops;
	size_t nops;
} sk_sql_stmt;

typedef struct sk_sql_script {
	sk_sql_stmt *stmts;
	size_t nstmts;
} sk_sql_script;

/* Parse sql (NUL-terminated) into statements and their ops. file names
 * the text in messages (it may be NULL: "SQL" is used). A syntax error
 * fails with SK_EINVAL and the message "FILE:LINE: syntax error at or
 * near ..." (the parser's own words; "FILE:LINE: syntax error: ..." when
 * they do not start so), with the offending line in err->detail. On
 * success *out is owned by the caller; on failure nothing is allocated.
 * A script of comments only has zero statements. */
int sk_sql_parse(const char *sql, const char *file, sk_sql_script **out,
    sk_err *err) SK_WARN_UNUSED;

/* Free a script. Accepts NULL. */
void sk_sql_script_destroy(sk_sql_script *script);

/* The canonical form of sql that a step checksum hashes: each statement's
 * tokens, as PostgreSQL's scanner splits them, joined by one space, each
 * statement followed by ";\n". Comments and the white space between
 * tokens are left out; keywords, unquoted identifiers and the prefix of
 * a quoted constant (E'', B'', X'', U&"") are lower-cased (PostgreSQL
 * reads them in either case); every other byte of every token is kept,
 * so any change to a constant, an identifier, an operator or a
 * dollar-quoted body changes it. Tokens, unlike parse trees, do not change
 * shape between libpg_query versions, so a checksum stays the same when
 * skein is rebuilt against a newer parser. Fails like sk_sql_parse on a
 * syntax error. *out is malloc'ed, NUL-terminated; caller frees. */
int sk_sql_normalize(
    const char *sql, const char *file, char **out, sk_err *err) SK_WARN_UNUSED;

/* The names of the indexes script creates with CREATE INDEX CONCURRENTLY,
 * in order, each in the form regclass input reads (to_regclass($1)): the
 * table's schema first when the table was written qualified, each part
 * double-quoted when it is not all lower-case letters, digits and '_'.
 * Unnamed ones are skipped (the lint refuses them). *names is a
 * NULL-terminated malloc'ed array of malloc'ed strings (free each and the
 * array); *n may be 0. Fails only with SK_ENOMEM. */
int sk_sql_concurrent_indexes(const sk_sql_script *script, char ***names,
    size_t *n, sk_err *err) SK_WARN_UNUSED;

/* "schema.table" or "table" of an op, into buf (truncated to len). */
void sk_sql_op_table(const sk_sql_op *op, char *buf, size_t len);

#endif

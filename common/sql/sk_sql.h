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
	/* ALTER TABLE ... VALIDATE CONSTRAINT name. */
	SK_SQL_VALIDATE_CONSTRAINT,
	/* ALTER TABLE ... DROP CONSTRAINT name. */
	SK_SQL_DROP_CONSTRAINT,
	/* DROP INDEX: one per index named. schema and name name the index
	 * (table is NULL); concurrent; if_exists. */
	SK_SQL_DROP_INDEX,
	/* ALTER TABLE parent DETACH PARTITION name; concurrent. */
	SK_SQL_DETACH_PARTITION,
	SK_SQL_DROP_NOT_NULL, /* ALTER COLUMN column DROP NOT NULL */
	SK_SQL_DROP_DATABASE, /* name: the database */
	/* A column type that a type rule is about, written in CREATE
	 * TABLE, ADD COLUMN or ALTER COLUMN ... TYPE: char(n), varchar(n),
	 * timestamp, a serial, or integer or smallint as a key. column;
	 * what: the type's own name as the parser resolves it ("bpchar"
	 * for char(n), "varchar", "timestamp", "serial", "int4" for
	 * integer, "int2"); sized: a length or precision was written; key:
	 * the column is a primary key, an identity or a serial. Not for
	 * temporary tables. */
	SK_SQL_COLUMN_TYPE,
	/* A CHECK constraint, added by ALTER TABLE, that proves column NOT
	 * NULL (col IS NOT NULL, alone or ANDed with more): name: the
	 * constraint (NULL when unnamed); not_valid. */
	SK_SQL_CHECK_NOT_NULL,
	/* CREATE DOMAIN with a CHECK, ALTER DOMAIN ... ADD CONSTRAINT,
	 * VALIDATE CONSTRAINT or SET NOT NULL. name: the domain (schema
	 * too, when written); what: the command; not_valid. */
	SK_SQL_DOMAIN_CONSTRAINT,
	/* ALTER TYPE ... ADD VALUE. name: the type (schema too, when
	 * written); what: the new label; positioned: BEFORE or AFTER was
	 * written; if_exists: IF NOT EXISTS. */
	SK_SQL_ENUM_ADD_VALUE,
	/* An identifier longer than 63 bytes, which PostgreSQL truncates
	 * (with a NOTICE only). what: the identifier as written (the parse
	 * tree holds it truncated already, so this comes from the tokens). */
	SK_SQL_LONG_IDENTIFIER,
	/* The same column assigned twice by one UPDATE or ON CONFLICT DO
	 * UPDATE (PostgreSQL refuses it). column; what: the command. */
	SK_SQL_DUPLICATE_ASSIGNMENT,
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
	/* Added for the later rules; each documented at the kinds above.
	 * ADD_COLUMN also sets not_null (NOT NULL or PRIMARY KEY written),
	 * has_default (a default other than NULL, an identity, a serial or
	 * a generated column) and, in name, a function its default calls
	 * that is not known to be stable or immutable (a user function).
	 * if_exists: IF [NOT] EXISTS on CREATE TABLE, CREATE INDEX, ADD
	 * COLUMN, DROP TABLE, DROP INDEX, DROP COLUMN, ADD VALUE. */
	bool if_exists;
	bool not_null;
	bool has_default;
	bool key;
	bool sized;
	bool positioned;
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

/* Whether text, a fragment skein puts into a statement of its own (a
 * backfill's update or where), stays where it is put: SK_EINVAL when it
 * holds a ';', closes a parenthesis it did not open or leaves one open
 * (outside quotes and comments, as PostgreSQL's scanner sees them), or
 * does not scan (an unterminated quote: "WHAT:LINE: ..."). what names
 * the fragment in messages. NULL text passes. */
int sk_sql_fragment_check(const char *text, const char *what, sk_err *err) SK_WARN_UNUSED;

/* The names of the indexes script creates with CREATE INDEX CONCURRENTLY,
 * in order, each in the form regclass input reads (to_regclass($1)): the
 * table's schema first when the table was written qualified, each part
 * double-quoted when it is not all lower-case letters, digits and '_'.
 * Unnamed ones are skipped (the lint refuses them). *names is a
 * NULL-terminated malloc'ed array of malloc'ed strings (free each and the
 * array); *n may be 0. Fails only with SK_ENOMEM. */
int sk_sql_concurrent_indexes(const sk_sql_script *script, char ***names,
    size_t *n, sk_err *err) SK_WARN_UNUSED;

/* The PostgreSQL version whose grammar the parser reads, e.g. "15.1":
 * SQL written for a later version may not parse. Static storage. */
const char *sk_sql_parser_version(void);

/* "schema.table" or "table" of an op, into buf (truncated to len). */
void sk_sql_op_table(const sk_sql_op *op, char *buf, size_t len);

#endif

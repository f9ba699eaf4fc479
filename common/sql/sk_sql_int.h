/* sk_sql_int: what sk_sql.c (splitting, normalizing, scripts),
 * sk_sql_ops.c and sk_sql_facts.c (the lint's facts from the parse tree),
 * sk_sql_tree.c (reading the tree) and sk_sql_chars.c (characters as the
 * scanner sees them) share. Internal to the SQL module: nothing outside
 * those files includes it. */
#ifndef SK_SQL_INT_H
#define SK_SQL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "sk_sql.h"

/* About how many bytes of whole statements sk_sql_parse and
 * sk_sql_normalize hand libpg_query at once (sk_sql.c): their memory
 * follows it, not the file's size. Tests lower it to cut between every
 * two statements. */
extern size_t sql_chunk_bytes;

/* True for the white space PostgreSQL's scanner skips. */
bool sql_is_space(char c);

/* c in lower case when it is an ASCII letter; other bytes unchanged. */
char sql_ascii_lower(char c);

/* The ops of one statement's parse tree stmt into st->ops / st->nops.
 * SK_ENOMEM when memory ran out (what was added stays for the script's
 * destroy to free). st->text must be set: identifiers are read from its
 * tokens too. */
int sql_stmt_ops(sk_sql_stmt *st, json_t *stmt);

/* ---- sk_sql_tree.c: the parse tree, for sk_sql_ops.c and sk_sql_facts.c */

/* The statement whose ops are being added; oom once memory ran out. */
typedef struct sql_ctx {
	sk_sql_stmt *st;
	size_t cap;
	bool oom;
} sql_ctx;

/* o[key] when o is an object, else NULL; borrowed from o. */
json_t *sql_get(json_t *o, const char *key);

/* o[key] as a string, bool flag, or string compare; NULL/false when
 * absent. */
const char *sql_str(json_t *o, const char *key);
bool sql_flag(json_t *o, const char *key);
bool sql_is(json_t *o, const char *key, const char *value);

/* The last name of a list of String nodes: a qualified name's own. */
const char *sql_last_name(json_t *list);

/* A copy of s (NULL for NULL), setting c->oom when out of memory. */
char *sql_dup(sql_ctx *c, const char *s);

/* A new op of kind on the table named by RangeVar rv (may be NULL):
 * its index in c->st->ops, or -1 when out of memory. */
long sql_op_add(sql_ctx *c, int kind, json_t *rv, const char *what);

/* Call f on the body of every node of type `type` inside j. */
typedef void (*sql_visit_fn)(json_t *body, void *arg);
void sql_walk(json_t *j, const char *type, sql_visit_fn f, void *arg);

/* sk_sql_facts.c: facts for the rules added after the first set. */

/* A COLUMN_TYPE op for ColumnDef cd of the table rel; key when the
 * table makes the column its primary key. */
void sql_column_type(sql_ctx *c, json_t *rel, json_t *cd, bool key);

/* has_default, not_null, and a default's unknown function in name, of
 * the ADD_COLUMN op at index op for ColumnDef cd. */
void sql_add_column_facts(sql_ctx *c, long op, json_t *cd);

/* A CHECK_NOT_NULL op per column the CHECK constraint con proves not
 * null, when con is a CHECK added to rel. */
void sql_check_not_null(sql_ctx *c, json_t *rel, json_t *con);

/* Facts of statement types sk_sql_ops.c does not handle: domains, enum
 * values, DROP INDEX, DROP DATABASE, duplicate assignments. type is the
 * node type, b its body. */
void sql_stmt_facts(sql_ctx *c, const char *type, json_t *b);

/* LONG_IDENTIFIER ops for the statement's text. */
void sql_long_identifiers(sql_ctx *c);

#endif

/* sk_sql_int: what sk_sql.c (splitting, normalizing, scripts),
 * sk_sql_chunks.c (libpg_query a chunk at a time, its errors),
 * sk_sql_ops.c and sk_sql_facts.c (the lint's facts from the parse tree),
 * sk_sql_tree.c (reading the tree) and sk_sql_chars.c (characters as the
 * scanner sees them) share. Internal to the SQL module: nothing outside
 * those files includes it. */
#ifndef SK_SQL_INT_H
#define SK_SQL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

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

/* ---- sk_sql_chunks.c: libpg_query a chunk at a time ------------------- */

/* A syntax error libpg_query reported for some text, kept until the caller
 * knows which part of the file that text was. */
typedef struct pq_error {
	char msg[SK_ERR_MSG_MAX];
	int cursorpos; /* characters from 1 into the text; <= 0: none */
} pq_error;

/* What a chunk function returns when its text does not parse: the error
 * is in its pq_error, not yet in an sk_err. */
#define SQL_SYNTAX (-1)

/* Where the scanner's tokens are unpacked. One token is one small
 * allocation and a big file has hundreds of thousands: bumping a pointer
 * and dropping whole blocks costs a fraction of a malloc and a free of
 * each, which were a fifth of sk_sql_parse's time. Large allocations get
 * a block of their own that a free gives back at once: protobuf-c's
 * scratch space for a message of a million tokens is tens of MB. */
typedef struct arena_block {
	struct arena_block *next;
	size_t used, cap; /* bytes of data */
	max_align_t data[];
} arena_block;

typedef struct tokens {
	PgQuery__ScanResult *r;
	arena_block *blocks; /* small allocations; the first has room */
	arena_block *large;  /* one allocation each */
} tokens;

/* Work on one chunk: text[0, len), NUL-terminated, is sql[base, base +
 * len). Returns SK_OK, SQL_SYNTAX with *pe when the chunk does not parse
 * (having added nothing), or another code with err set. */
typedef int (*chunk_fn)(void *ctx, const char *text, size_t len, size_t base,
    pq_error *pe, sk_err *err);

/* Keep libpg_query's error e in *pe; returns SQL_SYNTAX. */
int sql_keep_error(pq_error *pe, const PgQueryError *e);

/* A parser error at byte at of the whole text sql (SIZE_MAX: unknown) as
 * "FILE:LINE: ...", with the line in err->detail; returns SK_EINVAL. */
int sql_parse_error(
    sk_err *err, const char *file, const char *sql, const char *msg, size_t at);

/* "parse FILE: out of memory"; returns SK_ENOMEM. */
int sql_oom(sk_err *err, const char *file);

/* The scanner's tokens of text[0, len) into *t (sql_tokens_fini frees
 * them, also after a failure). A scanner error is SQL_SYNTAX in *pe. */
int sql_scan(const char *text, size_t len, const char *file, tokens *t,
    pq_error *pe, sk_err *err);
void sql_tokens_fini(tokens *t);

/* Run fn over all of sql in chunks of whole statements (about
 * sql_chunk_bytes each, longer when a statement is), each chunk's trees
 * freed before the next; a syntax error comes back as the whole file's
 * first one, at its line. */
int sql_run_chunks(
    const char *sql, const char *file, chunk_fn fn, void *ctx, sk_err *err);

#endif

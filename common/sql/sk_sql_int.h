/* sk_sql_int: what sk_sql.c (splitting, normalizing, scripts),
 * sk_sql_ops.c (the lint's facts from the parse tree) and sk_sql_chars.c
 * (characters as the scanner sees them) share. Internal to the SQL
 * module: nothing outside those files includes it. */
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

/* o[key] when o is an object, else NULL; borrowed from o. */
json_t *sql_get(json_t *o, const char *key);

/* The ops of one statement's parse tree stmt into st->ops / st->nops.
 * SK_ENOMEM when memory ran out (what was added stays for the script's
 * destroy to free). */
int sql_stmt_ops(sk_sql_stmt *st, json_t *stmt);

#endif

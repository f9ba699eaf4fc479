/* agent_keyset: keyset pagination of a table: the key a backfill pages
 * by (its primary key, else its narrowest unique index on NOT NULL
 * columns), key values as text, and the SQL of a batch's key range —
 * never OFFSET. Every name comes quoted from the catalog and every value
 * is passed as a parameter or quoted with PQescapeLiteral.
 *
 * Functions are as thread-safe as the connection they are given.
 */
#ifndef AGENT_KEYSET_H
#define AGENT_KEYSET_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"

/* Key columns a backfill pages by, at most. */
#define AGENT_KEY_MAX 8

/* A table's key: its columns (quoted identifiers) and their types (as
 * format_type writes them), in index order, and the index's name. */
typedef struct agent_key {
	size_t n;
	char *cols[AGENT_KEY_MAX];
	char *types[AGENT_KEY_MAX];
	char *index;
} agent_key;

/* One key value, each column as text; set false: none (before the first
 * key of the table). */
typedef struct agent_keyval {
	bool set;
	char *v[AGENT_KEY_MAX];
} agent_keyval;

/* The key of table (as written in plan.yaml, e.g. "public.items"): its
 * primary key, else the unique, valid, non-partial index without
 * expressions whose columns are all NOT NULL, fewest columns first.
 * SK_EINVAL "table T does not exist" or "table T has no primary key or
 * unique index on NOT NULL columns: a backfill pages by key" (with a
 * hint); SK_ESQL/SK_ECONN on database errors. On success k is filled
 * (agent_key_fini); on failure it holds nothing. */
int agent_key_find(PGconn *conn, const char *table, agent_key *k, sk_err *err) SK_WARN_UNUSED;
void agent_key_fini(agent_key *k);

/* "(k1, k2)" with prefix ("t." or "") before each column, into a new
 * string; NULL when out of memory. */
char *agent_key_row(const agent_key *k, const char *prefix);

/* The condition of a batch's key range on the table's alias prefix:
 * "(t.k1, t.k2) > ('1'::integer, 'a'::text) AND (t.k1, t.k2) <= (...)",
 * the lower bound left out when lo is not set, values quoted by conn.
 * A new string; NULL when out of memory. */
char *agent_key_range(PGconn *conn, const agent_key *k, const char *prefix,
    const agent_keyval *lo, const agent_keyval *hi);

/* Copy n = k->n text values of row r from column c0 of res into v (set).
 * SK_ENOMEM. */
int agent_keyval_from(agent_keyval *v, const agent_key *k, const PGresult *res,
    int r, int c0, sk_err *err) SK_WARN_UNUSED;

/* A copy of from into to (to is cleared first). SK_ENOMEM. */
int agent_keyval_copy(agent_keyval *to, const agent_keyval *from, size_t n,
    sk_err *err) SK_WARN_UNUSED;

/* "(1, a)" for messages ("(start)" when not set), into buf. */
void agent_keyval_format(const agent_keyval *v, size_t n, char *buf, size_t len);

void agent_keyval_fini(agent_keyval *v);

#endif

/* sk_sql_tree: reading libpg_query's JSON parse tree — members, flags,
 * names, a walk over every node of a type — and adding ops to a
 * statement, for the fact finders (sk_sql_ops.c, sk_sql_facts.c). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sk_sql.h"
#include "sk_sql_int.h"
#include "sk_util.h"

json_t *
sql_get(json_t *o, const char *key)
{
	return json_is_object(o) ? json_object_get(o, key) : NULL;
}

const char *
sql_str(json_t *o, const char *key)
{
	return json_string_value(sql_get(o, key));
}

bool
sql_flag(json_t *o, const char *key)
{
	return json_is_true(sql_get(o, key));
}

bool
sql_is(json_t *o, const char *key, const char *value)
{
	const char *s = sql_str(o, key);

	return s != NULL && strcmp(s, value) == 0;
}

const char *
sql_last_name(json_t *list)
{
	size_t n = json_array_size(list);

	return n > 0 ?
	    sql_str(sql_get(json_array_get(list, n - 1), "String"), "sval") :
	    NULL;
}

/* Node types are the keys that start with an upper-case letter. The
 * depth is bounded by jansson's parser (2048). */
void
sql_walk(json_t *j, const char *type, sql_visit_fn f, void *arg)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
		{
			sql_walk(v, type, f, arg);
		}
		return;
	}
	if (!json_is_object(j))
		return;
	json_object_foreach(j, key, v)
	{
		if (strcmp(key, type) == 0)
			f(v, arg);
		if (json_is_object(v) || json_is_array(v))
			sql_walk(v, type, f, arg);
	}
}

char *
sql_dup(sql_ctx *c, const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = sk_strdup(s);
	if (d == NULL)
		c->oom = true;
	return d;
}

/* Index, not pointer: the array moves as ops are added. */
long
sql_op_add(sql_ctx *c, int kind, json_t *rv, const char *what)
{
	sk_sql_stmt *st = c->st;
	sk_sql_op *op;

	if (st->nops == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 4;
		sk_sql_op *ops = realloc(st->ops, cap * sizeof(*ops));

		if (ops == NULL) {
			c->oom = true;
			return -1;
		}
		st->ops = ops;
		c->cap = cap;
	}
	op = &st->ops[st->nops];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->schema = sql_dup(c, sql_str(rv, "schemaname"));
	op->table = sql_dup(c, sql_str(rv, "relname"));
	op->what = sql_dup(c, what);
	return (long)st->nops++;
}

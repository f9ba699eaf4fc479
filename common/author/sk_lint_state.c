/* sk_lint_state: what the lint remembers while it walks a plan — the
 * tables and indexes the plan created, the constraints it added and
 * validated — and the findings it adds, so that a rule can judge a
 * statement by what came before it in the plan. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sk_lint.h"
#include "sk_lint_int.h"
#include "sk_sql.h"
#include "sk_util.h"

/* ---- state while walking a plan ----------------------------------------- */

/* Two names denote the same table when their own names match and their
 * schemas do, or either was written unqualified: without a catalog, the
 * lint leans towards "created by this plan", i.e. towards not firing. */
bool
lint_same_table(const char *s1, const char *t1, const char *s2, const char *t2)
{
	if (t1 == NULL || t2 == NULL || strcmp(t1, t2) != 0)
		return false;
	return s1 == NULL || s2 == NULL || strcmp(s1, s2) == 0;
}

bool
lint_created(const lint *l, const sk_sql_op *op)
{
	for (size_t i = 0; i < l->ncreated; i++)
		if (lint_same_table(l->created[i].schema, l->created[i].table,
			op->schema, op->table))
			return true;
	return false;
}

/* Whether the plan created the index schema.name earlier. */
bool
lint_index_created(const lint *l, const char *schema, const char *name)
{
	for (size_t i = 0; i < l->nindexes; i++)
		if (lint_same_table(l->indexes[i].schema, l->indexes[i].table,
			schema, name))
			return true;
	return false;
}

void
lint_remember_in(lint *l, table_ref **v, size_t *n, size_t *cap,
    const char *schema, const char *table)
{
	if (table == NULL)
		return;
	if (*n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 8;
		table_ref *t = realloc(*v, ncap * sizeof(*t));

		if (t == NULL) {
			l->oom = true;
			return;
		}
		*v = t;
		*cap = ncap;
	}
	(*v)[*n].schema = sk_strdup(schema);
	(*v)[*n].table = sk_strdup(table);
	if ((schema != NULL && (*v)[*n].schema == NULL) || (*v)[*n].table == NULL) {
		free((*v)[*n].schema);
		free((*v)[*n].table);
		l->oom = true;
		return;
	}
	(*n)++;
}

void
lint_remember(lint *l, const char *schema, const char *table)
{
	lint_remember_in(l, &l->created, &l->ncreated, &l->capcreated, schema, table);
}

void
lint_con_add(lint *l, lint_con **v, size_t *n, size_t *cap, const lint_con *con)
{
	lint_con *c;

	if (l->oom)
		return;
	if (*n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 8;
		lint_con *nv = realloc(*v, ncap * sizeof(*nv));

		if (nv == NULL) {
			l->oom = true;
			return;
		}
		*v = nv;
		*cap = ncap;
	}
	c = &(*v)[*n];
	*c = *con;
	c->schema = sk_strdup(con->schema);
	c->table = sk_strdup(con->table);
	c->name = sk_strdup(con->name);
	c->column = sk_strdup(con->column);
	(*n)++;
	if ((con->schema && !c->schema) || (con->table && !c->table) ||
	    (con->name && !c->name) || (con->column && !c->column))
		l->oom = true;
}

void
lint_cons_clear(lint_con *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].schema);
		free(v[i].table);
		free(v[i].name);
		free(v[i].column);
	}
}

void
lint_add(lint *l, size_t step_index, const sk_step *st, int rule,
    const char *file, int line, const char *fmt, ...)
{
	sk_lint_finding *f;
	char msg[1024];
	va_list ap;

	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		sk_lint_finding *nf = realloc(l->f, cap * sizeof(*nf));
		size_t *no = nf ? realloc(l->order, cap * sizeof(*no)) : NULL;

		if (nf != NULL)
			l->f = nf;
		if (no == NULL) {
			l->oom = true;
			return;
		}
		l->order = no;
		l->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f = &l->f[l->n];
	memset(f, 0, sizeof(*f));
	f->rule = lint_rule(rule);
	f->step = sk_strdup(st->id);
	f->file = sk_strdup(file != NULL ? file : "(inline SQL)");
	f->line = line;
	f->message = sk_strdup(msg);
	l->order[l->n] = step_index;
	l->n++;
	if (f->step == NULL || f->file == NULL || f->message == NULL)
		l->oom = true;
}

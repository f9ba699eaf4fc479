/* sk_lint_int: what the lint's files share: the rule indexes, the state
 * kept while a plan is walked, and the helpers that add findings and ask
 * what the plan created. sk_lint.c walks and waives, sk_lint_rules.c
 * judges each op, sk_lint_print.c writes the findings out. Internal to
 * the lint: nothing outside common/author/sk_lint*.c includes it. */
#ifndef SK_LINT_INT_H
#define SK_LINT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "sk_lint.h"
#include "sk_sql.h"

/* Rule indexes into the table sk_lint_rules returns. */
enum {
	R_RENAME,
	R_DROP_COLUMN,
	R_DROP_TABLE,
	R_TRUNCATE,
	R_INDEX_NOT_CONCURRENT,
	R_INDEX_UNNAMED,
	R_CONSTRAINT_NOT_VALID,
	R_ALTER_TYPE,
	R_TENANT_RLS,
	R_NO_TX,
	R_LOCK_NO_TX,
	R_TX_CONTROL,
	R_SESSION_SET,
	R_CONSTRAINT_INDEX,
	R_ADD_COLUMN_REWRITE,
	R_SET_NOT_NULL,
	R_SESSION_STATE,
	R_RENAME_INDEX,
	R_TABLE_REWRITE,
	R_UNUSED_WAIVER,
	R_COUNT
};

typedef struct table_ref {
	char *schema; /* NULL: unqualified */
	char *table;
} table_ref;

typedef struct lint {
	sk_lint_finding *f;
	size_t n, cap;
	size_t *order; /* step index of each finding, for sorting */
	table_ref *created;
	size_t ncreated, capcreated;
	table_ref *indexes; /* indexes the plan creates: schema, name */
	size_t nindexes, capindexes;
	bool oom;
} lint;

/* The rule at index r (an R_* value). */
const sk_lint_rule *lint_rule(int r);

/* Whether two (schema, name) pairs may name the same relation: their
 * own names match and their schemas do, or either is unqualified. */
bool lint_same_table(const char *s1, const char *t1, const char *s2, const char *t2);

/* Whether an earlier statement of the plan created op's table. */
bool lint_created(const lint *l, const sk_sql_op *op);

/* Whether the plan created the index schema.name earlier. */
bool lint_index_created(const lint *l, const char *schema, const char *name);

/* Add a finding of rule for step st (index step_index) at file:line; on
 * out of memory l->oom is set and nothing is added. */
void lint_add(lint *l, size_t step_index, const sk_step *st, int rule,
    const char *file, int line, const char *fmt, ...) SK_PRINTF(7, 8);

/* sk_lint_rules.c: every rule that looks at one op. */
void lint_op(lint *l, size_t si, const sk_step *st, const sk_sql_stmt *stmt,
    const sk_sql_op *op);

/* sk_lint_rules.c: tenant-table-without-rls over a whole step. */
void lint_tenant(lint *l, size_t si, const sk_step *st, const sk_sql_script *sc);

#endif

/* sk_lint_int: what the lint's files share: the rule indexes, the state
 * kept while a plan is walked, and the helpers that add findings and ask
 * what the plan created. sk_lint.c walks and waives, sk_lint_catalog.c
 * holds the rules, sk_lint_state.c what the walk remembers and the
 * findings, sk_lint_rules.c and sk_lint_types.c judge each op,
 * sk_lint_print.c and sk_lint_sarif.c write the findings out. Internal to
 * the lint: nothing outside common/author/sk_lint*.c includes it. */
#ifndef SK_LINT_INT_H
#define SK_LINT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	R_VALIDATE_SAME_TX,
	R_DROP_INDEX,
	R_DETACH_PARTITION,
	R_NOT_NULL_NO_DEFAULT,
	R_DROP_DATABASE,
	R_ALTER_DOMAIN,
	R_LONG_IDENTIFIER,
	R_UPDATE_TWICE,
	R_DROP_NOT_NULL,
	R_NOT_IDEMPOTENT,
	R_CREATE_DOMAIN,
	R_ENUM_ORDER,
	R_PREFER_TEXT_CHAR,
	R_PREFER_TEXT_VARCHAR,
	R_PREFER_BIGINT,
	R_PREFER_IDENTITY,
	R_PREFER_TIMESTAMPTZ,
	R_NO_REVERT,
	R_UNUSED_WAIVER,
	R_COUNT
};

typedef struct table_ref {
	char *schema; /* NULL: unqualified */
	char *table;
} table_ref;

/* A constraint the walk remembers: one added NOT VALID in the current
 * transaction (for validate-in-same-transaction), or a CHECK that proves
 * column NOT NULL (for set-not-null). */
typedef struct lint_con {
	char *schema;
	char *table;
	char *name;   /* NULL when unnamed */
	char *column; /* the column proven NOT NULL; NULL for pending ones */
	int contype;  /* enum sk_sql_contype */
	int line;     /* where it was added */
	bool valid;   /* validated: by its ADD or a later VALIDATE */
	bool dropped;
} lint_con;

typedef struct lint {
	sk_lint_finding *f;
	size_t n, cap;
	size_t *order; /* step index of each finding, for sorting */
	table_ref *created;
	size_t ncreated, capcreated;
	table_ref *indexes; /* indexes the plan creates: schema, name */
	size_t nindexes, capindexes;
	/* NOT VALID constraints added earlier in the current step, when it
	 * is transactional and the table is not the plan's own. */
	lint_con *pending;
	size_t npending, cappending;
	lint_con *proofs; /* CHECKs proving a column NOT NULL, plan-wide */
	size_t nproofs, capproofs;
	/* preflight.server_version: the lowest server the plan runs on, as
	 * server_version_num; 0 when the plan does not say. */
	uint32_t server_version;
	/* Bare SQL files (skein lint FILE.sql), not a plan's steps: the
	 * rules about plan.yaml (no-revert) do not apply. */
	bool bare;
	bool oom;
} lint;

/* sk_lint_catalog.c: the rule at index r (an R_* value). */
const sk_lint_rule *lint_rule(int r);

/* sk_lint_state.c, from here to lint_cons_clear. */

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

/* Remember con (its strings copied) in *v; l->oom on failure. */
void lint_con_add(lint *l, lint_con **v, size_t *n, size_t *cap, const lint_con *con);

/* Free n remembered constraints' strings (not the array). */
void lint_cons_clear(lint_con *v, size_t n);

/* Remember the table schema.table as created by the plan; l->oom on
 * failure. */
void lint_remember(lint *l, const char *schema, const char *table);

/* Remember schema.name in the list *v (n entries, cap allocated);
 * l->oom on failure. */
void lint_remember_in(lint *l, table_ref **v, size_t *n, size_t *cap,
    const char *schema, const char *name);

/* sk_lint_print.c: "error" or "warning". */
const char *lint_severity_name(int severity);

/* sk_lint_print.c: dir/file for display into buf; file alone when dir
 * is NULL or "." or file is absolute. */
void lint_display_path(const char *dir, const char *file, char *buf, size_t len);

/* sk_lint_rules.c: every rule that looks at one op. */
void lint_op(lint *l, size_t si, const sk_step *st, const sk_sql_stmt *stmt,
    const sk_sql_op *op);

/* sk_lint_rules.c: after lint_op, what the walk remembers of op for the
 * ops that follow it (NOT VALID constraints, NOT NULL proofs). */
void lint_track(
    lint *l, const sk_step *st, const sk_sql_stmt *stmt, const sk_sql_op *op);

/* sk_lint_types.c: the prefer-* rules on a COLUMN_TYPE op. */
void lint_types(lint *l, size_t si, const sk_step *st, const sk_sql_stmt *stmt,
    const sk_sql_op *op);

/* sk_lint_rules.c: tenant-table-without-rls over a whole step. */
void lint_tenant(lint *l, size_t si, const sk_step *st, const sk_sql_script *sc);

#endif

/* sk_lint: the rules of docs/lint.md applied to the facts sk_sql reads
 * from each statement's parse tree. The plan is walked in step order,
 * remembering the tables it creates, because what is dangerous on a table
 * full of rows (a blocking index build, a validating constraint) is not on
 * a table the plan itself just created. */
#include "sk_lint.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sk_json.h"
#include "sk_sql.h"
#include "sk_util.h"

const char *const sk_lint_tenant_columns[] = { "tenant_id", "community_id", NULL };

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

static const sk_lint_rule rules[R_COUNT] = {
	[R_RENAME] = { "rename-in-one-step", SK_LINT_ERROR,
	    "renames a table or column in one step: code still using the old "
	    "name breaks mid-rollout",
	    "add the new column or table, backfill, switch readers and writers, "
	    "drop the old one in a later plan" },
	[R_DROP_COLUMN] = { "drop-column", SK_LINT_ERROR,
	    "drops a column: its data is gone and code still reading it fails",
	    "stop reading and writing the column in a release first, then drop "
	    "it in a later plan with a waiver saying so" },
	[R_DROP_TABLE] = { "drop-table", SK_LINT_ERROR,
	    "drops a table: its data is gone and code still reading it fails",
	    "stop using the table in a release first (and keep a backup), then "
	    "drop it in a later plan with a waiver saying so" },
	[R_TRUNCATE] = { "truncate", SK_LINT_ERROR,
	    "TRUNCATE of a table the plan did not create: its rows are gone "
	    "and code still reading them finds none",
	    "delete the rows in batches in a backfill step, or waive the rule "
	    "saying why the data is not needed" },
	[R_INDEX_NOT_CONCURRENT] = { "index-not-concurrent", SK_LINT_ERROR,
	    "CREATE INDEX or REINDEX without CONCURRENTLY on an existing table "
	    "blocks its writes for the whole build",
	    "CREATE INDEX CONCURRENTLY IF NOT EXISTS name ... (or REINDEX ... "
	    "CONCURRENTLY) in a step with transaction: false" },
	[R_INDEX_UNNAMED] = { "concurrent-index-unnamed", SK_LINT_ERROR,
	    "CREATE INDEX CONCURRENTLY without a name: an INVALID index left by "
	    "an interrupted build cannot be found and rebuilt",
	    "name the index: CREATE INDEX CONCURRENTLY IF NOT EXISTS name ON ..." },
	[R_CONSTRAINT_NOT_VALID] = { "constraint-not-valid", SK_LINT_ERROR,
	    "ADD CONSTRAINT FOREIGN KEY or CHECK without NOT VALID on an existing "
	    "table scans it while blocking its writes",
	    "ADD CONSTRAINT ... NOT VALID, then ALTER TABLE ... VALIDATE "
	    "CONSTRAINT in a later step" },
	[R_ALTER_TYPE] = { "alter-column-type", SK_LINT_ERROR,
	    "ALTER COLUMN ... TYPE rewrites or rescans the table under an ACCESS "
	    "EXCLUSIVE lock and breaks code expecting the old type",
	    "add a column of the new type, backfill, switch readers and writers, "
	    "drop the old one in a later plan" },
	[R_TENANT_RLS] = { "tenant-table-without-rls", SK_LINT_ERROR,
	    "a new table with a tenant column and, in the same step, neither "
	    "row-level security with a policy nor a CHECK on that column",
	    "in the same step: ALTER TABLE t ENABLE ROW LEVEL SECURITY and CREATE "
	    "POLICY ... ON t, or a CHECK constraint on the tenant column" },
	[R_NO_TX] = { "non-transactional-in-transaction", SK_LINT_ERROR,
	    "a statement PostgreSQL refuses inside a transaction block, in a "
	    "transactional step",
	    "move it to a step of its own with transaction: false" },
	[R_LOCK_NO_TX] = { "lock-outside-transaction", SK_LINT_ERROR,
	    "LOCK TABLE in a transaction: false step: PostgreSQL refuses it "
	    "outside a transaction block, so the step fails",
	    "move it into a transactional step, with the statements it "
	    "protects" },
	[R_TX_CONTROL] = { "transaction-control", SK_LINT_ERROR,
	    "BEGIN, COMMIT, ROLLBACK, SAVEPOINT and the like in a step: skein "
	    "owns the step's transaction",
	    "remove it; a step that must run outside a transaction says "
	    "transaction: false" },
	[R_SESSION_SET] = { "session-set", SK_LINT_ERROR,
	    "SET without LOCAL, RESET or set_config(..., false) changes the "
	    "session, which PgBouncer's transaction pooling hands to other "
	    "clients",
	    "SET LOCAL (or set_config(..., true)) in a transactional step; "
	    "timeouts belong in plan.yaml" },
	[R_CONSTRAINT_INDEX] = { "constraint-builds-index", SK_LINT_WARNING,
	    "ADD CONSTRAINT UNIQUE, PRIMARY KEY or EXCLUDE on an existing table "
	    "builds an index while blocking its writes",
	    "CREATE UNIQUE INDEX CONCURRENTLY in a transaction: false step, then "
	    "ADD CONSTRAINT ... USING INDEX" },
	[R_ADD_COLUMN_REWRITE] = { "add-column-rewrite", SK_LINT_WARNING,
	    "ADD COLUMN with a volatile default, a serial type, an identity or a "
	    "stored generated column rewrites an existing table under an ACCESS "
	    "EXCLUSIVE lock",
	    "add the column with no default or a constant one, backfill in "
	    "batches, then set the default" },
	[R_SET_NOT_NULL] = { "set-not-null", SK_LINT_WARNING,
	    "ALTER COLUMN ... SET NOT NULL on an existing table scans it under an "
	    "ACCESS EXCLUSIVE lock",
	    "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in "
	    "a later step, then SET NOT NULL (no scan since PostgreSQL 12)" },
	[R_SESSION_STATE] = { "session-state", SK_LINT_WARNING,
	    "LISTEN, PREPARE, DECLARE ... WITH HOLD, DISCARD or a temporary "
	    "table that outlives the transaction leaves state on a pooled "
	    "connection",
	    "leave it out of migrations; give temporary tables ON COMMIT DROP" },
	[R_RENAME_INDEX] = { "rename-index-or-constraint", SK_LINT_WARNING,
	    "renames an index or a table constraint: ON CONFLICT ON CONSTRAINT "
	    "with the old name fails mid-rollout (an index backing a "
	    "constraint shares its name)",
	    "keep the old name, or release code that no longer names it (ON "
	    "CONFLICT (columns)) first and rename in a later plan" },
	[R_TABLE_REWRITE] = { "table-rewrite", SK_LINT_ERROR,
	    "VACUUM FULL, CLUSTER or ALTER TABLE SET TABLESPACE|LOGGED|UNLOGGED "
	    "rewrites an existing table under an ACCESS EXCLUSIVE lock that "
	    "blocks its reads and writes",
	    "leave it out of the migration (pg_repack or a maintenance window), "
	    "or waive the rule saying why the table is small or idle" },
	[R_UNUSED_WAIVER] = { "unused-waiver", SK_LINT_WARNING,
	    "a step waives a rule that does not fire in it",
	    "remove the waiver, or check that it is on the right step" },
};

const sk_lint_rule *
sk_lint_rules(size_t *n)
{
	*n = R_COUNT;
	return rules;
}

const sk_lint_rule *
sk_lint_rule_find(const char *id)
{
	if (id == NULL)
		return NULL;
	for (size_t i = 0; i < R_COUNT; i++)
		if (strcmp(rules[i].id, id) == 0)
			return &rules[i];
	return NULL;
}

/* ---- state while walking a plan ----------------------------------------- */

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

/* Two names denote the same table when their own names match and their
 * schemas do, or either was written unqualified: without a catalog, the
 * lint leans towards "created by this plan", i.e. towards not firing. */
static bool
same_table(const char *s1, const char *t1, const char *s2, const char *t2)
{
	if (t1 == NULL || t2 == NULL || strcmp(t1, t2) != 0)
		return false;
	return s1 == NULL || s2 == NULL || strcmp(s1, s2) == 0;
}

static bool
created(const lint *l, const sk_sql_op *op)
{
	for (size_t i = 0; i < l->ncreated; i++)
		if (same_table(l->created[i].schema, l->created[i].table,
			op->schema, op->table))
			return true;
	return false;
}

/* Whether the plan created the index schema.name earlier. */
static bool
index_created(const lint *l, const char *schema, const char *name)
{
	for (size_t i = 0; i < l->nindexes; i++)
		if (same_table(l->indexes[i].schema, l->indexes[i].table, schema, name))
			return true;
	return false;
}

static void
remember_in(lint *l, table_ref **v, size_t *n, size_t *cap, const char *schema,
    const char *table)
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

static void
remember(lint *l, const char *schema, const char *table)
{
	remember_in(l, &l->created, &l->ncreated, &l->capcreated, schema, table);
}

static void add(lint *l, size_t step_index, const sk_step *st, int rule,
    const char *file, int line, const char *fmt, ...) SK_PRINTF(7, 8);

static void
add(lint *l, size_t step_index, const sk_step *st, int rule, const char *file,
    int line, const char *fmt, ...)
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
	f->rule = &rules[rule];
	f->step = sk_strdup(st->id);
	f->file = sk_strdup(file != NULL ? file : "(inline SQL)");
	f->line = line;
	f->message = sk_strdup(msg);
	l->order[l->n] = step_index;
	l->n++;
	if (f->step == NULL || f->file == NULL || f->message == NULL)
		l->oom = true;
}

/* ---- the rules ------------------------------------------------------------- */

static const char *
tenant_column(const sk_sql_op *op)
{
	for (size_t i = 0; i < op->ncolumns; i++)
		for (size_t k = 0; sk_lint_tenant_columns[k] != NULL; k++)
			if (strcmp(op->columns[i], sk_lint_tenant_columns[k]) == 0)
				return op->columns[i];
	return NULL;
}

static bool
has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Whether the step protects table (of CREATE TABLE op ct) with RLS and a
 * policy, or with a CHECK naming col. */
static bool
tenant_protected(const sk_sql_script *sc, const sk_sql_op *ct, const char *col)
{
	bool rls = false, policy = false;

	if (has(ct->checked, ct->nchecked, col))
		return true;
	for (size_t i = 0; i < sc->nstmts; i++)
		for (size_t k = 0; k < sc->stmts[i].nops; k++) {
			const sk_sql_op *op = &sc->stmts[i].ops[k];

			if (!same_table(op->schema, op->table, ct->schema, ct->table))
				continue;
			if (op->kind == SK_SQL_ENABLE_RLS)
				rls = true;
			else if (op->kind == SK_SQL_CREATE_POLICY)
				policy = true;
			else if (op->kind == SK_SQL_ADD_CONSTRAINT &&
			    op->contype == SK_SQL_CON_CHECK &&
			    has(op->checked, op->nchecked, col))
				return true;
		}
	return rls && policy;
}

static const char *
contype_name(int contype)
{
	switch (contype) {
	case SK_SQL_CON_CHECK:
		return "CHECK";
	case SK_SQL_CON_FOREIGN:
		return "FOREIGN KEY";
	case SK_SQL_CON_UNIQUE:
		return "UNIQUE/PRIMARY KEY";
	case SK_SQL_CON_EXCLUDE:
		return "EXCLUDE";
	default:
		return "";
	}
}

/* One op of one statement: every rule that looks at a single op. */
static void
lint_op(lint *l, size_t si, const sk_step *st, const sk_sql_stmt *stmt,
    const sk_sql_op *op)
{
	const char *file = st->sql_path;
	int line = stmt->line;
	bool existing = !created(l, op);
	char t[300];

	sk_sql_op_table(op, t, sizeof(t));
	switch (op->kind) {
	case SK_SQL_RENAME_TABLE:
		add(l, si, st, R_RENAME, file, line, "renames %s %s to %s",
		    op->what ? op->what : "table", t, op->name ? op->name : "?");
		break;
	case SK_SQL_RENAME_COLUMN:
		add(l, si, st, R_RENAME, file, line, "renames column %s of %s to %s",
		    op->column ? op->column : "?", t, op->name ? op->name : "?");
		break;
	case SK_SQL_DROP_COLUMN:
		add(l, si, st, R_DROP_COLUMN, file, line,
		    "drops column %s of %s", op->column ? op->column : "?", t);
		break;
	case SK_SQL_DROP_TABLE:
		add(l, si, st, R_DROP_TABLE, file, line, "drops table %s", t);
		break;
	case SK_SQL_TRUNCATE:
		if (existing)
			add(l, si, st, R_TRUNCATE, file, line,
			    "truncates table %s%s, and %s is not created by this "
			    "plan",
			    t,
			    op->what ? " with CASCADE, which also empties every "
				       "table referencing it" :
				       "",
			    t);
		break;
	case SK_SQL_LOCK_TABLE:
		if (st->no_transaction)
			add(l, si, st, R_LOCK_NO_TX, file, line,
			    "LOCK TABLE %s can only be used in a transaction "
			    "block, and step %s has transaction: false",
			    t, st->id);
		break;
	case SK_SQL_RENAME_INDEX:
		if (!index_created(l, op->schema, op->table))
			add(l, si, st, R_RENAME_INDEX, file, line,
			    "renames index %s to %s, and the index is not "
			    "created by this plan",
			    t, op->name ? op->name : "?");
		break;
	case SK_SQL_RENAME_CONSTRAINT:
		if (existing)
			add(l, si, st, R_RENAME_INDEX, file, line,
			    "renames constraint %s of %s to %s, and %s is not "
			    "created by this plan",
			    op->what ? op->what : "?", t,
			    op->name ? op->name : "?", t);
		break;
	case SK_SQL_CREATE_INDEX:
		if (op->concurrent && op->name == NULL)
			add(l, si, st, R_INDEX_UNNAMED, file, line,
			    "CREATE INDEX CONCURRENTLY on %s has no name", t);
		/* ON ONLY a partitioned table builds nothing: the way to
		 * index one (CONCURRENTLY is refused on it) is ON ONLY the
		 * parent, CONCURRENTLY on each partition, ATTACH. */
		if (!op->concurrent && !op->only && existing)
			add(l, si, st, R_INDEX_NOT_CONCURRENT, file, line,
			    "CREATE INDEX %s on %s without CONCURRENTLY, and %s "
			    "is not created by this plan",
			    op->name ? op->name : "(unnamed)", t, t);
		break;
	case SK_SQL_ADD_CONSTRAINT:
		if (!existing)
			break;
		if (op->column != NULL &&
		    (op->contype == SK_SQL_CON_CHECK || op->contype == SK_SQL_CON_FOREIGN))
			add(l, si, st, R_CONSTRAINT_NOT_VALID, file, line,
			    "adds column %s to %s with a %s constraint, which "
			    "PostgreSQL validates at once (NOT VALID is not "
			    "possible there), and %s is not created by this plan",
			    op->column, t, contype_name(op->contype), t);
		else if ((op->contype == SK_SQL_CON_CHECK ||
			     op->contype == SK_SQL_CON_FOREIGN) &&
		    !op->not_valid)
			add(l, si, st, R_CONSTRAINT_NOT_VALID, file, line,
			    "adds %s constraint %s to %s without NOT VALID, and "
			    "%s is not created by this plan",
			    contype_name(op->contype),
			    op->name ? op->name : "(unnamed)", t, t);
		if ((op->contype == SK_SQL_CON_UNIQUE || op->contype == SK_SQL_CON_EXCLUDE) &&
		    !op->using_index)
			add(l, si, st, R_CONSTRAINT_INDEX, file, line,
			    "adds %s constraint %s to %s%s%s, building its index "
			    "under lock",
			    contype_name(op->contype), op->name ? op->name : "(unnamed)",
			    t, op->column ? " with column " : "",
			    op->column ? op->column : "");
		break;
	case SK_SQL_REINDEX:
		if (op->concurrent)
			break;
		if (strcmp(op->what, "INDEX") == 0) {
			if (!index_created(l, op->schema, op->name))
				add(l, si, st, R_INDEX_NOT_CONCURRENT, file, line,
				    "REINDEX INDEX %s%s%s without CONCURRENTLY, and "
				    "the index is not created by this plan",
				    op->schema ? op->schema : "",
				    op->schema ? "." : "", op->name ? op->name : "?");
		} else if (op->table == NULL || existing) {
			add(l, si, st, R_INDEX_NOT_CONCURRENT, file, line,
			    "REINDEX %s %s without CONCURRENTLY%s", op->what,
			    op->table    ? t :
				op->name ? op->name :
					   "",
			    op->table ? ", and the table is not created by this "
					"plan" :
					"");
		}
		break;
	case SK_SQL_REWRITE:
		if (op->table == NULL)
			add(l, si, st, R_TABLE_REWRITE, file, line,
			    "%s of every table rewrites each under an ACCESS "
			    "EXCLUSIVE lock",
			    op->what);
		else if (existing)
			add(l, si, st, R_TABLE_REWRITE, file, line,
			    "%s rewrites %s under an ACCESS EXCLUSIVE lock, and %s "
			    "is not created by this plan",
			    op->what, t, t);
		break;
	case SK_SQL_ALTER_COLUMN_TYPE:
		if (existing)
			add(l, si, st, R_ALTER_TYPE, file, line,
			    "changes the type of column %s of %s",
			    op->column ? op->column : "?", t);
		break;
	case SK_SQL_ADD_COLUMN:
		if (existing && op->rewrites)
			add(l, si, st, R_ADD_COLUMN_REWRITE, file, line,
			    "adds column %s to %s with %s, which rewrites the "
			    "table",
			    op->column ? op->column : "?", t, op->what);
		break;
	case SK_SQL_SET_NOT_NULL:
		if (existing)
			add(l, si, st, R_SET_NOT_NULL, file, line,
			    "sets column %s of %s NOT NULL",
			    op->column ? op->column : "?", t);
		break;
	case SK_SQL_NO_TX:
		if (!st->no_transaction)
			add(l, si, st, R_NO_TX, file, line,
			    "%s cannot run inside a transaction block, and step "
			    "%s runs in one",
			    op->what, st->id);
		break;
	case SK_SQL_TX_CONTROL:
		add(l, si, st, R_TX_CONTROL, file, line,
		    "%s: skein begins and ends the step's transaction", op->what);
		break;
	case SK_SQL_SESSION_SET:
		add(l, si, st, R_SESSION_SET, file, line,
		    "%s lasts for the session, not the transaction", op->what);
		break;
	case SK_SQL_SESSION_STATE:
		add(l, si, st, R_SESSION_STATE, file, line,
		    "%s leaves state on the connection", op->what);
		break;
	default:
		break;
	}
}

static void
lint_tenant(lint *l, size_t si, const sk_step *st, const sk_sql_script *sc)
{
	for (size_t i = 0; i < sc->nstmts; i++)
		for (size_t k = 0; k < sc->stmts[i].nops; k++) {
			const sk_sql_op *op = &sc->stmts[i].ops[k];
			const char *col = tenant_column(op);
			char t[300];

			/* A temporary table is no tenant data store. */
			if (op->kind != SK_SQL_CREATE_TABLE || col == NULL ||
			    op->what != NULL || tenant_protected(sc, op, col))
				continue;
			sk_sql_op_table(op, t, sizeof(t));
			add(l, si, st, R_TENANT_RLS, st->sql_path, sc->stmts[i].line,
			    "creates table %s with tenant column %s but neither "
			    "row-level security with a policy nor a CHECK on %s "
			    "in step %s",
			    t, col, col, st->id);
		}
}

/* Mark the step's findings (from index first on) its waivers name, and
 * report the waivers that did not match. */
static int
apply_waivers(lint *l, size_t si, const sk_step *st, size_t first, sk_err *err)
{
	for (size_t w = 0; w < st->nwaivers; w++) {
		const sk_waiver *wv = &st->waivers[w];
		bool used = false;

		if (sk_lint_rule_find(wv->rule) == NULL) {
			sk_err_set(err, SK_EINVAL,
			    "lint plan: step %s waives unknown rule \"%.64s\"",
			    st->id, wv->rule ? wv->rule : "");
			if (err != NULL)
				snprintf(err->hint, sizeof(err->hint),
				    "skein plan lint --rules lists the rule ids");
			return SK_EINVAL;
		}
		for (size_t i = first; i < l->n; i++) {
			sk_lint_finding *f = &l->f[i];

			if (strcmp(f->rule->id, wv->rule) != 0 ||
			    f->rule == &rules[R_UNUSED_WAIVER])
				continue;
			used = true;
			if (f->waived)
				continue;
			f->waived = true;
			f->reason = sk_strdup(wv->reason ? wv->reason : "");
			if (f->reason == NULL)
				l->oom = true;
		}
		if (!used)
			add(l, si, st, R_UNUSED_WAIVER, "plan.yaml", 0,
			    "step %s waives %s, which does not fire in it",
			    st->id, wv->rule);
	}
	return SK_OK;
}

static int
lint_step(lint *l, size_t si, const sk_step *st, const sk_sql_script *parsed,
    sk_err *err)
{
	sk_sql_script *own = NULL;
	const sk_sql_script *sc = parsed;
	size_t first = l->n;
	int rc;

	if (sc == NULL) {
		rc = sk_sql_parse(st->sql ? st->sql : "",
		    st->sql_path ? st->sql_path : st->id, &own, err);
		if (rc != SK_OK)
			return rc;
		sc = own;
	}
	for (size_t i = 0; i < sc->nstmts; i++) {
		const sk_sql_stmt *stmt = &sc->stmts[i];

		for (size_t k = 0; k < stmt->nops; k++) {
			const sk_sql_op *op = &stmt->ops[k];

			lint_op(l, si, st, stmt, op);
			if (op->kind == SK_SQL_CREATE_TABLE)
				remember(l, op->schema, op->table);
			else if (op->kind == SK_SQL_CREATE_INDEX)
				remember_in(l, &l->indexes, &l->nindexes,
				    &l->capindexes, op->schema, op->name);
			else if (op->kind == SK_SQL_RENAME_TABLE && created(l, op))
				remember(l, op->schema, op->name);
			else if (op->kind == SK_SQL_RENAME_INDEX &&
			    index_created(l, op->schema, op->table))
				remember_in(l, &l->indexes, &l->nindexes,
				    &l->capindexes, op->schema, op->name);
		}
	}
	lint_tenant(l, si, st, sc);
	sk_sql_script_destroy(own);
	return apply_waivers(l, si, st, first, err);
}

static void
lint_fini(lint *l)
{
	for (size_t i = 0; i < l->ncreated; i++) {
		free(l->created[i].schema);
		free(l->created[i].table);
	}
	free(l->created);
	for (size_t i = 0; i < l->nindexes; i++) {
		free(l->indexes[i].schema);
		free(l->indexes[i].table);
	}
	free(l->indexes);
	free(l->order);
}

/* Step order, then line, then the order found; a stable sort by hand,
 * since qsort is not stable and lists are short. */
static void
sort_findings(lint *l)
{
	for (size_t i = 1; i < l->n; i++) {
		sk_lint_finding f = l->f[i];
		size_t o = l->order[i], j = i;

		while (j > 0 &&
		    (l->order[j - 1] > o ||
			(l->order[j - 1] == o && f.line > 0 &&
			    l->f[j - 1].line > f.line))) {
			l->f[j] = l->f[j - 1];
			l->order[j] = l->order[j - 1];
			j--;
		}
		l->f[j] = f;
		l->order[j] = o;
	}
}

int
sk_lint_plan(const sk_plan *plan, sk_lint_finding **out, size_t *n, sk_err *err)
{
	return sk_lint_plan_parsed(plan, NULL, out, n, err);
}

int
sk_lint_plan_parsed(const sk_plan *plan, sk_sql_script *const *scripts,
    sk_lint_finding **out, size_t *n, sk_err *err)
{
	lint l = { 0 };
	int rc = SK_OK;

	for (size_t i = 0; i < plan->nsteps && rc == SK_OK && !l.oom; i++)
		rc = lint_step(&l, i, &plan->steps[i],
		    scripts != NULL ? scripts[i] : NULL, err);
	if (rc == SK_OK && l.oom)
		rc = sk_err_set(err, SK_ENOMEM, "lint plan %s: out of memory",
		    plan->name ? plan->name : "");
	if (rc != SK_OK) {
		sk_lint_findings_free(l.f, l.n);
		lint_fini(&l);
		return rc;
	}
	sort_findings(&l);
	lint_fini(&l);
	*out = l.n > 0 ? l.f : NULL;
	if (l.n == 0)
		free(l.f);
	*n = l.n;
	return SK_OK;
}

void
sk_lint_findings_free(sk_lint_finding *f, size_t n)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(f[i].step);
		free(f[i].file);
		free(f[i].message);
		free(f[i].reason);
	}
	free(f);
}

size_t
sk_lint_blocking(const sk_lint_finding *f, size_t n)
{
	size_t b = 0;

	for (size_t i = 0; i < n; i++)
		if (f[i].rule->severity == SK_LINT_ERROR && !f[i].waived)
			b++;
	return b;
}

/* ---- output ---------------------------------------------------------------- */

static const char *
severity_name(int s)
{
	return s == SK_LINT_ERROR ? "error" : "warning";
}

/* dir/file for display; file alone when dir is NULL or "." */
static void
display_path(const char *dir, const char *file, char *buf, size_t len)
{
	if (dir == NULL || strcmp(dir, ".") == 0 || file[0] == '/')
		snprintf(buf, len, "%s", file);
	else
		snprintf(buf, len, "%s%s%s", dir,
		    dir[0] != '\0' && dir[strlen(dir) - 1] == '/' ? "" : "/", file);
}

void
sk_lint_print(FILE *out, const char *dir, const sk_lint_finding *f, size_t n)
{
	char path[1024];

	for (size_t i = 0; i < n; i++) {
		display_path(dir, f[i].file, path, sizeof(path));
		if (f[i].line > 0)
			fprintf(out, "%s:%d: ", path, f[i].line);
		else
			fprintf(out, "%s: ", path);
		fprintf(out, "%s %s: %s\n", severity_name(f[i].rule->severity),
		    f[i].rule->id, f[i].message);
		fprintf(out, "  fix: %s\n", f[i].rule->fix);
		if (f[i].waived)
			fprintf(out, "  waived (reason: %s)\n", f[i].reason);
	}
}

static void
count(const sk_lint_finding *f, size_t n, size_t *errors, size_t *warnings, size_t *waived)
{
	*errors = *warnings = *waived = 0;
	for (size_t i = 0; i < n; i++) {
		if (f[i].rule->severity == SK_LINT_ERROR)
			(*errors)++;
		else
			(*warnings)++;
		if (f[i].waived)
			(*waived)++;
	}
}

void
sk_lint_print_summary(FILE *out, const sk_lint_finding *f, size_t n)
{
	size_t errors, warnings, waived;

	count(f, n, &errors, &warnings, &waived);
	if (n == 0) {
		fprintf(out, "lint: no findings\n");
		return;
	}
	fprintf(out, "lint: %zu %s, %zu %s, %zu waived; %zu blocking\n", errors,
	    errors == 1 ? "error" : "errors", warnings,
	    warnings == 1 ? "warning" : "warnings", waived, sk_lint_blocking(f, n));
}

int
sk_lint_print_json(
    FILE *out, const char *dir, const sk_lint_finding *f, size_t n, sk_err *err)
{
	json_t *root = json_object(), *list = json_array();
	size_t errors, warnings, waived;
	char path[1024];
	int bad = 0;

	if (root == NULL || list == NULL) {
		json_decref(root);
		json_decref(list);
		return sk_err_set(err, SK_ENOMEM, "print lint findings: out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();

		display_path(dir, f[i].file, path, sizeof(path));
		if (o != NULL) {
			bad |= json_object_set_new(
			    o, "rule", sk_json_str(f[i].rule->id));
			bad |= json_object_set_new(o, "severity",
			    sk_json_str(severity_name(f[i].rule->severity)));
			bad |= json_object_set_new(o, "step", sk_json_str(f[i].step));
			bad |= json_object_set_new(o, "file", sk_json_str(path));
			bad |= json_object_set_new(o, "line", json_integer(f[i].line));
			bad |= json_object_set_new(
			    o, "message", sk_json_str(f[i].message));
			bad |= json_object_set_new(
			    o, "fix", sk_json_str(f[i].rule->fix));
			bad |= json_object_set_new(
			    o, "waived", json_boolean(f[i].waived));
			bad |= json_object_set_new(
			    o, "reason", sk_json_str(f[i].reason));
		}
		bad |= json_array_append_new(list, o);
	}
	count(f, n, &errors, &warnings, &waived);
	bad |= json_object_set_new(root, "findings", list);
	bad |= json_object_set_new(root, "errors", json_integer((json_int_t)errors));
	bad |= json_object_set_new(
	    root, "warnings", json_integer((json_int_t)warnings));
	bad |= json_object_set_new(root, "waived", json_integer((json_int_t)waived));
	bad |= json_object_set_new(
	    root, "blocking", json_integer((json_int_t)sk_lint_blocking(f, n)));
	if (bad) {
		json_decref(root);
		return sk_err_set(err, SK_ENOMEM, "print lint findings: out of memory");
	}
	bad = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (bad != 0 || fputc('\n', out) == EOF)
		return sk_err_set(
		    err, SK_EIO, "print lint findings: cannot write output");
	return SK_OK;
}

void
sk_lint_print_rules(FILE *out)
{
	for (size_t i = 0; i < R_COUNT; i++)
		fprintf(out, "%-34s %-7s %s\n%34s fix: %s\n", rules[i].id,
		    severity_name(rules[i].severity), rules[i].summary, "",
		    rules[i].fix);
}

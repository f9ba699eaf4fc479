/* sk_lint_rules: the rules that judge one op of one statement (and the
 * tenant rule, which looks at a whole step), given what the plan has
 * created so far. docs/lint.md says why each rule exists. */
#include <string.h>

#include "sk_lint_int.h"

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

			if (!lint_same_table(op->schema, op->table, ct->schema, ct->table))
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
void
lint_op(lint *l, size_t si, const sk_step *st, const sk_sql_stmt *stmt,
    const sk_sql_op *op)
{
	const char *file = st->sql_path;
	int line = stmt->line;
	bool existing = !lint_created(l, op);
	char t[300];

	sk_sql_op_table(op, t, sizeof(t));
	switch (op->kind) {
	case SK_SQL_RENAME_TABLE:
		lint_add(l, si, st, R_RENAME, file, line, "renames %s %s to %s",
		    op->what ? op->what : "table", t, op->name ? op->name : "?");
		break;
	case SK_SQL_RENAME_COLUMN:
		lint_add(l, si, st, R_RENAME, file, line, "renames column %s of %s to %s",
		    op->column ? op->column : "?", t, op->name ? op->name : "?");
		break;
	case SK_SQL_DROP_COLUMN:
		lint_add(l, si, st, R_DROP_COLUMN, file, line,
		    "drops column %s of %s", op->column ? op->column : "?", t);
		break;
	case SK_SQL_DROP_TABLE:
		lint_add(l, si, st, R_DROP_TABLE, file, line, "drops table %s", t);
		break;
	case SK_SQL_TRUNCATE:
		if (existing)
			lint_add(l, si, st, R_TRUNCATE, file, line,
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
			lint_add(l, si, st, R_LOCK_NO_TX, file, line,
			    "LOCK TABLE %s can only be used in a transaction "
			    "block, and step %s has transaction: false",
			    t, st->id);
		break;
	case SK_SQL_RENAME_INDEX:
		if (!lint_index_created(l, op->schema, op->table))
			lint_add(l, si, st, R_RENAME_INDEX, file, line,
			    "renames index %s to %s, and the index is not "
			    "created by this plan",
			    t, op->name ? op->name : "?");
		break;
	case SK_SQL_RENAME_CONSTRAINT:
		if (existing)
			lint_add(l, si, st, R_RENAME_INDEX, file, line,
			    "renames constraint %s of %s to %s, and %s is not "
			    "created by this plan",
			    op->what ? op->what : "?", t,
			    op->name ? op->name : "?", t);
		break;
	case SK_SQL_CREATE_INDEX:
		if (op->concurrent && op->name == NULL)
			lint_add(l, si, st, R_INDEX_UNNAMED, file, line,
			    "CREATE INDEX CONCURRENTLY on %s has no name", t);
		/* ON ONLY a partitioned table builds nothing: the way to
		 * index one (CONCURRENTLY is refused on it) is ON ONLY the
		 * parent, CONCURRENTLY on each partition, ATTACH. */
		if (!op->concurrent && !op->only && existing)
			lint_add(l, si, st, R_INDEX_NOT_CONCURRENT, file, line,
			    "CREATE INDEX %s on %s without CONCURRENTLY, and %s "
			    "is not created by this plan",
			    op->name ? op->name : "(unnamed)", t, t);
		break;
	case SK_SQL_ADD_CONSTRAINT:
		if (!existing)
			break;
		if (op->column != NULL &&
		    (op->contype == SK_SQL_CON_CHECK || op->contype == SK_SQL_CON_FOREIGN))
			lint_add(l, si, st, R_CONSTRAINT_NOT_VALID, file, line,
			    "adds column %s to %s with a %s constraint, which "
			    "PostgreSQL validates at once (NOT VALID is not "
			    "possible there), and %s is not created by this plan",
			    op->column, t, contype_name(op->contype), t);
		else if ((op->contype == SK_SQL_CON_CHECK ||
			     op->contype == SK_SQL_CON_FOREIGN) &&
		    !op->not_valid)
			lint_add(l, si, st, R_CONSTRAINT_NOT_VALID, file, line,
			    "adds %s constraint %s to %s without NOT VALID, and "
			    "%s is not created by this plan",
			    contype_name(op->contype),
			    op->name ? op->name : "(unnamed)", t, t);
		if ((op->contype == SK_SQL_CON_UNIQUE || op->contype == SK_SQL_CON_EXCLUDE) &&
		    !op->using_index)
			lint_add(l, si, st, R_CONSTRAINT_INDEX, file, line,
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
			if (!lint_index_created(l, op->schema, op->name))
				lint_add(l, si, st, R_INDEX_NOT_CONCURRENT, file, line,
				    "REINDEX INDEX %s%s%s without CONCURRENTLY, and "
				    "the index is not created by this plan",
				    op->schema ? op->schema : "",
				    op->schema ? "." : "", op->name ? op->name : "?");
		} else if (op->table == NULL || existing) {
			lint_add(l, si, st, R_INDEX_NOT_CONCURRENT, file, line,
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
			lint_add(l, si, st, R_TABLE_REWRITE, file, line,
			    "%s of every table rewrites each under an ACCESS "
			    "EXCLUSIVE lock",
			    op->what);
		else if (existing)
			lint_add(l, si, st, R_TABLE_REWRITE, file, line,
			    "%s rewrites %s under an ACCESS EXCLUSIVE lock, and %s "
			    "is not created by this plan",
			    op->what, t, t);
		break;
	case SK_SQL_ALTER_COLUMN_TYPE:
		if (existing)
			lint_add(l, si, st, R_ALTER_TYPE, file, line,
			    "changes the type of column %s of %s",
			    op->column ? op->column : "?", t);
		break;
	case SK_SQL_ADD_COLUMN:
		if (existing && op->rewrites)
			lint_add(l, si, st, R_ADD_COLUMN_REWRITE, file, line,
			    "adds column %s to %s with %s, which rewrites the "
			    "table",
			    op->column ? op->column : "?", t, op->what);
		break;
	case SK_SQL_SET_NOT_NULL:
		if (existing)
			lint_add(l, si, st, R_SET_NOT_NULL, file, line,
			    "sets column %s of %s NOT NULL",
			    op->column ? op->column : "?", t);
		break;
	case SK_SQL_NO_TX:
		if (!st->no_transaction)
			lint_add(l, si, st, R_NO_TX, file, line,
			    "%s cannot run inside a transaction block, and step "
			    "%s runs in one",
			    op->what, st->id);
		break;
	case SK_SQL_TX_CONTROL:
		lint_add(l, si, st, R_TX_CONTROL, file, line,
		    "%s: skein begins and ends the step's transaction", op->what);
		break;
	case SK_SQL_SESSION_SET:
		lint_add(l, si, st, R_SESSION_SET, file, line,
		    "%s lasts for the session, not the transaction", op->what);
		break;
	case SK_SQL_SESSION_STATE:
		lint_add(l, si, st, R_SESSION_STATE, file, line,
		    "%s leaves state on the connection", op->what);
		break;
	default:
		break;
	}
}

void
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
			lint_add(l, si, st, R_TENANT_RLS, st->sql_path,
			    sc->stmts[i].line,
			    "creates table %s with tenant column %s but neither "
			    "row-level security with a policy nor a CHECK on %s "
			    "in step %s",
			    t, col, col, st->id);
		}
}

/* Mark the step's findings (from index first on) its waivers name, and
 * report the waivers that did not match. */

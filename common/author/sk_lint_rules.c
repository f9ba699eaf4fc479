/* sk_lint_rules: the rules that judge one op of one statement (and the
 * tenant rule, which looks at a whole step), given what the plan has
 * created so far. docs/lint.md says why each rule exists. */
#include <stdio.h>
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

/* A finding of non-idempotent-without-transaction when op, in a
 * transaction: false step, lacks IF [NOT] EXISTS (guard). */
static void
not_idempotent(lint *l, size_t si, const sk_step *st, const sk_sql_stmt *stmt,
    const sk_sql_op *op, const char *cmd, const char *guard)
{
	char t[300];

	if (!st->no_transaction || op->if_exists)
		return;
	if (op->kind == SK_SQL_CREATE_INDEX || op->kind == SK_SQL_DROP_INDEX)
		snprintf(t, sizeof(t), "%s%s%s", op->schema ? op->schema : "",
		    op->schema ? "." : "", op->name ? op->name : "(unnamed)");
	else if (op->kind == SK_SQL_ENUM_ADD_VALUE)
		snprintf(t, sizeof(t), "'%s' to %s", op->what ? op->what : "?",
		    op->name ? op->name : "?");
	else if (op->column != NULL)
		snprintf(t, sizeof(t), "%s of %s", op->column,
		    op->table ? op->table : "?");
	else
		sk_sql_op_table(op, t, sizeof(t));
	lint_add(l, si, st, R_NOT_IDEMPOTENT, st->sql_path, stmt->line,
	    "%s %s without %s in step %s, which has transaction: false: run "
	    "again after a crash, it fails",
	    cmd, t, guard, st->id);
}

/* ", and preflight.server_version is 11" style note for messages. */
static const char *
version_note(const lint *l, char *buf, size_t len)
{
	if (l->server_version >= 100000)
		snprintf(buf, len, "%u", l->server_version / 10000);
	else
		snprintf(buf, len, "%u.%u", l->server_version / 10000,
		    (l->server_version / 100) % 100);
	return buf;
}

/* ADD COLUMN on a table the plan did not create: a rewrite (a volatile
 * default, a function the lint does not know, any default before 11),
 * or NOT NULL with no default, which fails on a table with rows. */
static void
add_column(lint *l, size_t si, const sk_step *st, const sk_sql_stmt *stmt,
    const sk_sql_op *op, const char *t)
{
	const char *col = op->column ? op->column : "?";
	char v[16];

	if (op->rewrites)
		lint_add(l, si, st, R_ADD_COLUMN_REWRITE, st->sql_path, stmt->line,
		    "adds column %s to %s with %s, which rewrites the "
		    "table",
		    col, t, op->what);
	else if (op->name != NULL)
		lint_add(l, si, st, R_ADD_COLUMN_REWRITE, st->sql_path, stmt->line,
		    "adds column %s to %s with a default that calls %s(), "
		    "which the lint cannot tell is not volatile (a volatile "
		    "default rewrites the table)",
		    col, t, op->name);
	else if (op->has_default && l->server_version != 0 && l->server_version < 110000)
		lint_add(l, si, st, R_ADD_COLUMN_REWRITE, st->sql_path, stmt->line,
		    "adds column %s to %s with a default, which rewrites the "
		    "table before PostgreSQL 11 (preflight.server_version is "
		    "%s)",
		    col, t, version_note(l, v, sizeof(v)));
	if (op->not_null && !op->has_default)
		lint_add(l, si, st, R_NOT_NULL_NO_DEFAULT, st->sql_path, stmt->line,
		    "adds column %s to %s NOT NULL without a default: PostgreSQL "
		    "refuses it if %s has a row (column contains null values), "
		    "and %s is not created by this plan",
		    col, t, t, t);
}

/* The remembered CHECK proving op's column NOT NULL, validated and not
 * dropped, or NULL. */
static const lint_con *
not_null_proof(const lint *l, const sk_sql_op *op)
{
	for (size_t i = 0; i < l->nproofs; i++) {
		const lint_con *p = &l->proofs[i];

		if (p->valid && !p->dropped && op->column != NULL &&
		    strcmp(p->column, op->column) == 0 &&
		    lint_same_table(p->schema, p->table, op->schema, op->table))
			return p;
	}
	return NULL;
}

/* SET NOT NULL scans the table, unless (PostgreSQL 12+) a validated
 * CHECK (col IS NOT NULL) proves it: skein's own fix must not fire. A
 * plan that names no server version is taken to run on 12 or later. */
static void
set_not_null(lint *l, size_t si, const sk_step *st, const sk_sql_stmt *stmt,
    const sk_sql_op *op, const char *t)
{
	const lint_con *p = not_null_proof(l, op);
	const char *col = op->column ? op->column : "?";
	char v[16];

	if (p == NULL)
		lint_add(l, si, st, R_SET_NOT_NULL, st->sql_path, stmt->line,
		    "sets column %s of %s NOT NULL", col, t);
	else if (l->server_version != 0 && l->server_version < 120000)
		lint_add(l, si, st, R_SET_NOT_NULL, st->sql_path, stmt->line,
		    "sets column %s of %s NOT NULL; CHECK %s proves it, but "
		    "PostgreSQL before 12 scans anyway (preflight.server_version "
		    "is %s)",
		    col, t, p->name ? p->name : "(unnamed)",
		    version_note(l, v, sizeof(v)));
}

/* The NOT VALID constraint added earlier in this transaction that op
 * (a VALIDATE CONSTRAINT) validates, or NULL. An unnamed one may be the
 * one: its generated name is not known. */
static const lint_con *
pending_for(const lint *l, const sk_sql_op *op)
{
	for (size_t i = 0; i < l->npending; i++) {
		const lint_con *p = &l->pending[i];

		if (lint_same_table(p->schema, p->table, op->schema, op->table) &&
		    (p->name == NULL ||
			(op->name != NULL && strcmp(p->name, op->name) == 0)))
			return p;
	}
	return NULL;
}

/* The ops of the rules added after the first set. */
static void
lint_op_later(lint *l, size_t si, const sk_step *st, const sk_sql_stmt *stmt,
    const sk_sql_op *op, bool existing, const char *t)
{
	const char *file = st->sql_path, *name = op->name ? op->name : "?";
	const lint_con *p;
	int line = stmt->line;
	char v[16];

	switch (op->kind) {
	case SK_SQL_VALIDATE_CONSTRAINT:
		p = st->no_transaction ? NULL : pending_for(l, op);
		if (p != NULL)
			lint_add(l, si, st, R_VALIDATE_SAME_TX, file, line,
			    "validates constraint %s of %s in the transaction "
			    "of step %s, which added it NOT VALID at line %d: "
			    "the scan runs under the ADD's %s lock",
			    name, t, st->id, p->line,
			    p->contype == SK_SQL_CON_FOREIGN ?
				"SHARE ROW EXCLUSIVE (on both tables)" :
				"ACCESS EXCLUSIVE");
		break;
	case SK_SQL_DROP_INDEX: {
		char ix[300];

		snprintf(ix, sizeof(ix), "%s%s%s", op->schema ? op->schema : "",
		    op->schema ? "." : "", name);
		if (!op->concurrent && !lint_index_created(l, op->schema, op->name))
			lint_add(l, si, st, R_DROP_INDEX, file, line,
			    "drops index %s without CONCURRENTLY, and the index "
			    "is not created by this plan",
			    ix);
		not_idempotent(l, si, st, stmt, op,
		    op->concurrent ? "DROP INDEX CONCURRENTLY" : "DROP INDEX",
		    "IF EXISTS");
		break;
	}
	case SK_SQL_DETACH_PARTITION:
		if (!op->concurrent && existing)
			lint_add(l, si, st, R_DETACH_PARTITION, file, line,
			    "detaches partition %s from %s without CONCURRENTLY%s%s%s",
			    name, t,
			    l->server_version != 0 && l->server_version < 140000 ?
				" (CONCURRENTLY needs PostgreSQL 14; "
				"preflight.server_version is " :
				"",
			    l->server_version != 0 && l->server_version < 140000 ?
				version_note(l, v, sizeof(v)) :
				"",
			    l->server_version != 0 && l->server_version < 140000 ? ")" : "");
		break;
	case SK_SQL_DROP_NOT_NULL:
		if (existing)
			lint_add(l, si, st, R_DROP_NOT_NULL, file, line,
			    "drops NOT NULL from column %s of %s, and %s is not "
			    "created by this plan",
			    op->column ? op->column : "?", t, t);
		break;
	case SK_SQL_DROP_DATABASE:
		lint_add(l, si, st, R_DROP_DATABASE, file, line,
		    "drops database %s", name);
		break;
	case SK_SQL_DOMAIN_CONSTRAINT:
		if (strcmp(op->what, "CREATE DOMAIN ... CHECK") == 0)
			lint_add(l, si, st, R_CREATE_DOMAIN, file, line,
			    "creates domain %s with a CHECK", name);
		else if (!op->not_valid)
			lint_add(l, si, st, R_ALTER_DOMAIN, file, line,
			    "%s on domain %s checks every column of that type "
			    "in every table, each under a SHARE lock",
			    op->what, name);
		break;
	case SK_SQL_ENUM_ADD_VALUE:
		if (!op->positioned)
			lint_add(l, si, st, R_ENUM_ORDER, file, line,
			    "adds value '%s' to %s without BEFORE or AFTER: "
			    "it sorts after every other value",
			    op->what ? op->what : "?", name);
		if (!st->no_transaction && l->server_version != 0 &&
		    l->server_version < 120000)
			lint_add(l, si, st, R_NO_TX, file, line,
			    "ALTER TYPE ... ADD VALUE cannot run inside a "
			    "transaction block before PostgreSQL 12 "
			    "(preflight.server_version is %s), and step %s runs "
			    "in one",
			    version_note(l, v, sizeof(v)), st->id);
		not_idempotent(l, si, st, stmt, op, "ALTER TYPE ... ADD VALUE",
		    "IF NOT EXISTS");
		break;
	case SK_SQL_LONG_IDENTIFIER:
		lint_add(l, si, st, R_LONG_IDENTIFIER, file, line,
		    "identifier \"%.63s...\" is %zu bytes long: PostgreSQL "
		    "keeps the first 63",
		    op->what, strlen(op->what));
		break;
	case SK_SQL_DUPLICATE_ASSIGNMENT:
		lint_add(l, si, st, R_UPDATE_TWICE, file, line,
		    "%s on %s assigns column %s twice (PostgreSQL refuses "
		    "multiple assignments to the same column)",
		    op->what, t, op->column ? op->column : "?");
		break;
	default:
		break;
	}
}

void
lint_track(lint *l, const sk_step *st, const sk_sql_stmt *stmt, const sk_sql_op *op)
{
	lint_con con = { op->schema, op->table, op->name, NULL, op->contype,
		stmt->line, false, false };

	switch (op->kind) {
	case SK_SQL_ADD_CONSTRAINT:
		/* Each statement of a transaction: false step commits on
		 * its own; on the plan's own tables nothing waits. */
		if (op->not_valid && op->column == NULL &&
		    !st->no_transaction && !lint_created(l, op) &&
		    (op->contype == SK_SQL_CON_CHECK || op->contype == SK_SQL_CON_FOREIGN))
			lint_con_add(
			    l, &l->pending, &l->npending, &l->cappending, &con);
		break;
	case SK_SQL_CHECK_NOT_NULL:
		con.column = op->column;
		con.contype = SK_SQL_CON_CHECK;
		con.valid = !op->not_valid;
		lint_con_add(l, &l->proofs, &l->nproofs, &l->capproofs, &con);
		break;
	case SK_SQL_VALIDATE_CONSTRAINT:
	case SK_SQL_DROP_CONSTRAINT:
		for (size_t i = 0; i < l->nproofs; i++) {
			lint_con *p = &l->proofs[i];

			if (p->name == NULL || op->name == NULL ||
			    strcmp(p->name, op->name) != 0 ||
			    !lint_same_table(p->schema, p->table, op->schema, op->table))
				continue;
			if (op->kind == SK_SQL_VALIDATE_CONSTRAINT)
				p->valid = true;
			else
				p->dropped = true;
		}
		break;
	default:
		break;
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
		not_idempotent(l, si, st, stmt, op, "DROP COLUMN", "IF EXISTS");
		break;
	case SK_SQL_DROP_TABLE:
		lint_add(l, si, st, R_DROP_TABLE, file, line, "drops table %s", t);
		not_idempotent(l, si, st, stmt, op, "DROP TABLE", "IF EXISTS");
		break;
	case SK_SQL_CREATE_TABLE:
		/* A temporary table goes with the session that made it. */
		if (op->what == NULL)
			not_idempotent(l, si, st, stmt, op, "CREATE TABLE",
			    "IF NOT EXISTS");
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
		not_idempotent(l, si, st, stmt, op,
		    op->concurrent ? "CREATE INDEX CONCURRENTLY" : "CREATE INDEX",
		    "IF NOT EXISTS");
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
		if (existing)
			add_column(l, si, st, stmt, op, t);
		not_idempotent(l, si, st, stmt, op, "ADD COLUMN", "IF NOT EXISTS");
		break;
	case SK_SQL_SET_NOT_NULL:
		if (existing)
			set_not_null(l, si, st, stmt, op, t);
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
		lint_op_later(l, si, st, stmt, op, existing, t);
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

/* sk_sql_ops: the facts the lint reads from a statement, found in
 * libpg_query's JSON parse tree by node type: tables created, altered,
 * dropped, truncated, locked or renamed, indexes, constraints, defaults
 * that rewrite, and what cannot run in a transaction or leaves session
 * state behind. The facts of the later rules (types, domains, enums,
 * long identifiers) are in sk_sql_facts.c. */
#include "sk_sql.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sk_sql_int.h"
#include "sk_util.h"

/* DECLARE ... WITH HOLD (PostgreSQL's CURSOR_OPT_HOLD). */
#define CURSOR_OPT_HOLD 0x0020

/* Functions that, as a column default, make ADD COLUMN rewrite the table
 * (PostgreSQL evaluates a volatile default once per existing row). A
 * user-defined volatile function is not known here. */
static const char *const volatile_funcs[] = { "random", "clock_timestamp",
	"timeofday", "gen_random_uuid", "uuid_generate_v1",
	"uuid_generate_v1mc", "uuid_generate_v4", "nextval", NULL };

static const char *const serial_types[] = { "serial", "serial4", "bigserial",
	"serial8", "smallserial", "serial2", NULL };
/* ---- the JSON parse tree ---------------------------------------------- */

/* The value of a String node. */
static const char *
string_node(json_t *n)
{
	return sql_str(sql_get(n, "String"), "sval");
}

static bool
in_list(const char *s, const char *const *list)
{
	if (s == NULL)
		return false;
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* True for a constant PostgreSQL reads as boolean false ('f', 'off',
 * 'no', '0' and their prefixes, as boolin does). */
static bool
false_const(json_t *n)
{
	json_t *c = sql_get(n, "A_Const"), *cast = sql_get(n, "TypeCast");
	const char *s = NULL;
	char low[8];
	size_t len, i;

	if (cast != NULL)
		return false_const(sql_get(cast, "arg"));
	if (c != NULL && sql_get(c, "boolval") != NULL)
		return !sql_flag(sql_get(c, "boolval"), "boolval");
	if (c != NULL)
		s = sql_str(sql_get(c, "sval"), "sval");
	else
		s = string_node(n);
	if (s == NULL)
		return false;
	while (sql_is_space(*s))
		s++;
	len = strlen(s);
	while (len > 0 && sql_is_space(s[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(low))
		return false;
	for (i = 0; i < len; i++)
		low[i] = sql_ascii_lower(s[i]);
	low[len] = '\0';
	return strncmp("false", low, len) == 0 || strncmp("no", low, len) == 0 ||
	    (len >= 2 && strncmp("off", low, len) == 0) || strcmp(low, "0") == 0;
}

/* ---- ops ---------------------------------------------------------------- */

typedef sql_ctx ctx;

static void
strv_add(ctx *c, char ***v, size_t *n, const char *s)
{
	char **nv;

	if (s == NULL)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return;
	nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (nv == NULL) {
		c->oom = true;
		return;
	}
	*v = nv;
	nv[*n] = sql_dup(c, s);
	if (nv[*n] == NULL)
		return;
	nv[++*n] = NULL;
}

#define OP(c, i) (&(c)->st->ops[i])

typedef struct refs {
	ctx *c;
	long op;
} refs;

static void
visit_colref(json_t *body, void *arg)
{
	refs *r = arg;

	strv_add(r->c, &OP(r->c, r->op)->checked, &OP(r->c, r->op)->nchecked,
	    sql_last_name(sql_get(body, "fields")));
}

/* Add the columns a CHECK constraint names to op's checked list. */
static void
check_refs(ctx *c, long op, json_t *con)
{
	refs r = { c, op };

	if (sql_is(con, "contype", "CONSTR_CHECK"))
		sql_walk(sql_get(con, "raw_expr"), "ColumnRef", visit_colref, &r);
}

/* Whether the table elements elts hold PRIMARY KEY (..., col, ...). */
static bool
table_key(json_t *elts, const char *col)
{
	json_t *e, *k;
	size_t i, j;

	json_array_foreach(elts, i, e)
	{
		json_t *con = sql_get(e, "Constraint");

		if (!sql_is(con, "contype", "CONSTR_PRIMARY") || col == NULL)
			continue;
		json_array_foreach(sql_get(con, "keys"), j, k)
		{
			const char *name = string_node(k);

			if (name != NULL && strcmp(name, col) == 0)
				return true;
		}
	}
	return false;
}

static void
create_table(ctx *c, json_t *b)
{
	json_t *rel = sql_get(b, "relation"), *e, *con;
	bool temp = sql_is(rel, "relpersistence", "t");
	long op = sql_op_add(c, SK_SQL_CREATE_TABLE, rel, temp ? "temporary" : NULL);
	size_t i, j;

	if (op < 0)
		return;
	OP(c, op)->if_exists = sql_flag(b, "if_not_exists");
	json_array_foreach(sql_get(b, "tableElts"), i, e)
	{
		json_t *cd = sql_get(e, "ColumnDef");

		if (cd != NULL) {
			if (!temp)
				sql_column_type(c, rel, cd,
				    table_key(sql_get(b, "tableElts"),
					sql_str(cd, "colname")));
			strv_add(c, &OP(c, op)->columns, &OP(c, op)->ncolumns,
			    sql_str(cd, "colname"));
			json_array_foreach(sql_get(cd, "constraints"), j, con)
			{
				check_refs(c, op, sql_get(con, "Constraint"));
			}
		} else {
			check_refs(c, op, sql_get(e, "Constraint"));
		}
	}
	json_array_foreach(sql_get(b, "constraints"), i, con)
	{
		check_refs(c, op, sql_get(con, "Constraint"));
	}
	if (temp && !sql_is(b, "oncommit", "ONCOMMIT_DROP"))
		sql_op_add(c, SK_SQL_SESSION_STATE, rel,
		    "CREATE TEMPORARY TABLE without ON COMMIT DROP");
}

static void
create_index(ctx *c, json_t *b)
{
	json_t *rel = sql_get(b, "relation");
	long op = sql_op_add(c, SK_SQL_CREATE_INDEX, rel, NULL);

	if (op < 0)
		return;
	OP(c, op)->name = sql_dup(c, sql_str(b, "idxname"));
	OP(c, op)->concurrent = sql_flag(b, "concurrent");
	OP(c, op)->if_exists = sql_flag(b, "if_not_exists");
	/* The parser sets inh unless ONLY was written. */
	OP(c, op)->only = rel != NULL && !sql_flag(rel, "inh");
	if (sql_flag(b, "concurrent"))
		sql_op_add(c, SK_SQL_NO_TX, rel, "CREATE INDEX CONCURRENTLY");
}

static void
drop(ctx *c, json_t *b)
{
	json_t *o;
	size_t i;

	bool index = sql_is(b, "removeType", "OBJECT_INDEX");

	if (index && sql_flag(b, "concurrent"))
		sql_op_add(c, SK_SQL_NO_TX, NULL, "DROP INDEX CONCURRENTLY");
	if (!index && !sql_is(b, "removeType", "OBJECT_TABLE"))
		return;
	json_array_foreach(sql_get(b, "objects"), i, o)
	{
		json_t *items = sql_get(sql_get(o, "List"), "items");
		size_t n = json_array_size(items);
		long op = sql_op_add(c,
		    index ? SK_SQL_DROP_INDEX : SK_SQL_DROP_TABLE, NULL, NULL);

		if (op < 0)
			return;
		/* A dropped index is named like REINDEX INDEX names it. */
		if (index)
			OP(c, op)->name = sql_dup(c, sql_last_name(items));
		else
			OP(c, op)->table = sql_dup(c, sql_last_name(items));
		if (n >= 2)
			OP(c, op)->schema =
			    sql_dup(c, string_node(json_array_get(items, n - 2)));
		OP(c, op)->if_exists = sql_flag(b, "missing_ok");
		OP(c, op)->concurrent = sql_flag(b, "concurrent");
	}
}

static void
rename_stmt(ctx *c, json_t *b)
{
	static const char *const kinds[][2] = {
		{ "OBJECT_TABLE", "table" },
		{ "OBJECT_VIEW", "view" },
		{ "OBJECT_MATVIEW", "materialized view" },
		{ "OBJECT_FOREIGN_TABLE", "foreign table" },
	};
	json_t *rel = sql_get(b, "relation");
	long op;

	if (sql_is(b, "renameType", "OBJECT_INDEX")) {
		op = sql_op_add(c, SK_SQL_RENAME_INDEX, rel, NULL);
		if (op >= 0)
			OP(c, op)->name = sql_dup(c, sql_str(b, "newname"));
		return;
	}
	if (sql_is(b, "renameType", "OBJECT_TABCONSTRAINT")) {
		op = sql_op_add(
		    c, SK_SQL_RENAME_CONSTRAINT, rel, sql_str(b, "subname"));
		if (op >= 0)
			OP(c, op)->name = sql_dup(c, sql_str(b, "newname"));
		return;
	}
	if (sql_is(b, "renameType", "OBJECT_COLUMN")) {
		op = sql_op_add(c, SK_SQL_RENAME_COLUMN, rel, NULL);
		if (op < 0)
			return;
		OP(c, op)->column = sql_dup(c, sql_str(b, "subname"));
		OP(c, op)->name = sql_dup(c, sql_str(b, "newname"));
		return;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!sql_is(b, "renameType", kinds[i][0]))
			continue;
		op = sql_op_add(c, SK_SQL_RENAME_TABLE, rel, kinds[i][1]);
		if (op >= 0)
			OP(c, op)->name = sql_dup(c, sql_str(b, "newname"));
		return;
	}
}

typedef struct volatile_hit {
	const char *name;
} volatile_hit;

static void
visit_volatile(json_t *body, void *arg)
{
	volatile_hit *h = arg;
	const char *name = sql_last_name(sql_get(body, "funcname"));

	if (h->name == NULL && in_list(name, volatile_funcs))
		h->name = name;
}

/* Why adding column cd rewrites the table, or NULL if it does not. */
static const char *
add_column_rewrite(json_t *cd, char *why, size_t len)
{
	json_t *con;
	size_t i;

	if (in_list(sql_last_name(sql_get(sql_get(cd, "typeName"), "names")),
		serial_types)) {
		snprintf(why, len, "type %s",
		    sql_last_name(sql_get(sql_get(cd, "typeName"), "names")));
		return why;
	}
	json_array_foreach(sql_get(cd, "constraints"), i, con)
	{
		json_t *k = sql_get(con, "Constraint");
		volatile_hit h = { NULL };

		if (sql_is(k, "contype", "CONSTR_IDENTITY"))
			return "GENERATED AS IDENTITY";
		if (sql_is(k, "contype", "CONSTR_GENERATED"))
			return "GENERATED ALWAYS AS (...) STORED";
		if (!sql_is(k, "contype", "CONSTR_DEFAULT"))
			continue;
		sql_walk(sql_get(k, "raw_expr"), "FuncCall", visit_volatile, &h);
		if (h.name != NULL) {
			snprintf(why, len, "DEFAULT %s()", h.name);
			return why;
		}
	}
	return NULL;
}

static int
contype(json_t *con)
{
	if (sql_is(con, "contype", "CONSTR_CHECK"))
		return SK_SQL_CON_CHECK;
	if (sql_is(con, "contype", "CONSTR_FOREIGN"))
		return SK_SQL_CON_FOREIGN;
	if (sql_is(con, "contype", "CONSTR_UNIQUE") ||
	    sql_is(con, "contype", "CONSTR_PRIMARY"))
		return SK_SQL_CON_UNIQUE;
	if (sql_is(con, "contype", "CONSTR_EXCLUSION"))
		return SK_SQL_CON_EXCLUDE;
	return SK_SQL_CON_OTHER;
}

/* The constraints written on a column that ADD COLUMN adds: PostgreSQL
 * checks a CHECK or REFERENCES against every existing row (no NOT VALID
 * is possible there) and builds the index of UNIQUE or PRIMARY KEY, all
 * under the ADD COLUMN's ACCESS EXCLUSIVE lock. Each becomes an
 * ADD_CONSTRAINT op naming the column. */
static void
column_constraints(ctx *c, json_t *rel, json_t *cd)
{
	json_t *con;
	size_t i;

	json_array_foreach(sql_get(cd, "constraints"), i, con)
	{
		json_t *k = sql_get(con, "Constraint");
		int type = contype(k);
		long op;

		if (type == SK_SQL_CON_OTHER)
			continue;
		op = sql_op_add(c, SK_SQL_ADD_CONSTRAINT, rel, NULL);
		if (op < 0)
			return;
		OP(c, op)->column = sql_dup(c, sql_str(cd, "colname"));
		OP(c, op)->name = sql_dup(c, sql_str(k, "conname"));
		OP(c, op)->contype = type;
		OP(c, op)->not_valid = sql_flag(k, "skip_validation");
		check_refs(c, op, k);
	}
}

static void
alter_cmd(ctx *c, json_t *rel, json_t *cmd)
{
	json_t *def = sql_get(cmd, "def");
	const char *col = sql_str(cmd, "name");
	char why[96];
	long op = -1;

	if (sql_is(cmd, "subtype", "AT_AddColumn")) {
		json_t *cd = sql_get(def, "ColumnDef");
		const char *rw = add_column_rewrite(cd, why, sizeof(why));

		op = sql_op_add(c, SK_SQL_ADD_COLUMN, rel, rw);
		if (op >= 0) {
			OP(c, op)->column = sql_dup(c, sql_str(cd, "colname"));
			OP(c, op)->rewrites = rw != NULL;
			OP(c, op)->if_exists = sql_flag(cmd, "missing_ok");
			sql_add_column_facts(c, op, cd);
		}
		sql_column_type(c, rel, cd, false);
		column_constraints(c, rel, cd);
		return;
	}
	if (sql_is(cmd, "subtype", "AT_AddConstraint")) {
		json_t *con = sql_get(def, "Constraint");

		op = sql_op_add(c, SK_SQL_ADD_CONSTRAINT, rel, NULL);
		if (op < 0)
			return;
		OP(c, op)->name = sql_dup(c, sql_str(con, "conname"));
		OP(c, op)->contype = contype(con);
		OP(c, op)->not_valid = sql_flag(con, "skip_validation");
		OP(c, op)->using_index = sql_str(con, "indexname") != NULL;
		check_refs(c, op, con);
		sql_check_not_null(c, rel, con);
		return;
	}
	if (sql_is(cmd, "subtype", "AT_DetachPartition")) {
		json_t *pc = sql_get(def, "PartitionCmd");

		if (sql_flag(pc, "concurrent"))
			sql_op_add(c, SK_SQL_NO_TX, rel,
			    "ALTER TABLE ... DETACH PARTITION CONCURRENTLY");
		op = sql_op_add(c, SK_SQL_DETACH_PARTITION, rel, NULL);
		if (op >= 0) {
			OP(c, op)->name =
			    sql_dup(c, sql_str(sql_get(pc, "name"), "relname"));
			OP(c, op)->concurrent = sql_flag(pc, "concurrent");
		}
		return;
	}
	if (sql_is(cmd, "subtype", "AT_ValidateConstraint") ||
	    sql_is(cmd, "subtype", "AT_DropConstraint")) {
		op = sql_op_add(c,
		    sql_is(cmd, "subtype", "AT_ValidateConstraint") ?
			SK_SQL_VALIDATE_CONSTRAINT :
			SK_SQL_DROP_CONSTRAINT,
		    rel, NULL);
		if (op >= 0)
			OP(c, op)->name = sql_dup(c, col);
		return;
	}
	if (sql_is(cmd, "subtype", "AT_DropColumn")) {
		op = sql_op_add(c, SK_SQL_DROP_COLUMN, rel, NULL);
		if (op >= 0)
			OP(c, op)->if_exists = sql_flag(cmd, "missing_ok");
	} else if (sql_is(cmd, "subtype", "AT_AlterColumnType")) {
		op = sql_op_add(c, SK_SQL_ALTER_COLUMN_TYPE, rel, NULL);
		/* The new type; the ColumnDef carries no name here. */
		if (op >= 0) {
			long t = (long)c->st->nops;

			sql_column_type(c, rel, sql_get(def, "ColumnDef"), false);
			if ((long)c->st->nops > t)
				OP(c, t)->column = sql_dup(c, col);
		}
	} else if (sql_is(cmd, "subtype", "AT_DropNotNull"))
		op = sql_op_add(c, SK_SQL_DROP_NOT_NULL, rel, NULL);
	else if (sql_is(cmd, "subtype", "AT_SetNotNull"))
		op = sql_op_add(c, SK_SQL_SET_NOT_NULL, rel, NULL);
	else if (sql_is(cmd, "subtype", "AT_EnableRowSecurity"))
		sql_op_add(c, SK_SQL_ENABLE_RLS, rel, NULL);
	else if (sql_is(cmd, "subtype", "AT_SetTableSpace"))
		sql_op_add(c, SK_SQL_REWRITE, rel, "ALTER TABLE ... SET TABLESPACE");
	else if (sql_is(cmd, "subtype", "AT_SetLogged"))
		sql_op_add(c, SK_SQL_REWRITE, rel, "ALTER TABLE ... SET LOGGED");
	else if (sql_is(cmd, "subtype", "AT_SetUnLogged"))
		sql_op_add(c, SK_SQL_REWRITE, rel, "ALTER TABLE ... SET UNLOGGED");
	if (op >= 0)
		OP(c, op)->column = sql_dup(c, col);
}

static void
alter_table(ctx *c, json_t *b)
{
	json_t *rel = sql_get(b, "relation"), *cmd;
	size_t i;

	/* ALTER INDEX, ALTER VIEW, ... share the node; only tables count. */
	if (!sql_is(b, "objtype", "OBJECT_TABLE"))
		return;
	json_array_foreach(sql_get(b, "cmds"), i, cmd)
	{
		alter_cmd(c, rel, sql_get(cmd, "AlterTableCmd"));
	}
}

static void
transaction(ctx *c, json_t *b)
{
	static const char *const kinds[][2] = {
		{ "TRANS_STMT_BEGIN", "BEGIN" },
		{ "TRANS_STMT_START", "START TRANSACTION" },
		{ "TRANS_STMT_COMMIT", "COMMIT" },
		{ "TRANS_STMT_ROLLBACK", "ROLLBACK" },
		{ "TRANS_STMT_SAVEPOINT", "SAVEPOINT" },
		{ "TRANS_STMT_RELEASE", "RELEASE SAVEPOINT" },
		{ "TRANS_STMT_ROLLBACK_TO", "ROLLBACK TO SAVEPOINT" },
		{ "TRANS_STMT_PREPARE", "PREPARE TRANSACTION" },
		{ "TRANS_STMT_COMMIT_PREPARED", "COMMIT PREPARED" },
		{ "TRANS_STMT_ROLLBACK_PREPARED", "ROLLBACK PREPARED" },
	};
	const char *what = "a transaction command";

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (sql_is(b, "kind", kinds[i][0]))
			what = kinds[i][1];
	sql_op_add(c, SK_SQL_TX_CONTROL, NULL, what);
}

static void
variable_set(ctx *c, json_t *b)
{
	const char *name = sql_str(b, "name");
	char what[160];

	if (sql_flag(b, "is_local"))
		return;
	if (sql_is(b, "kind", "VAR_SET_MULTI")) {
		/* SET TRANSACTION ... lasts for the transaction only. */
		if (name == NULL || strncmp(name, "SESSION", 7) != 0)
			return;
		snprintf(what, sizeof(what), "SET %s", name);
	} else if (sql_is(b, "kind", "VAR_RESET_ALL")) {
		snprintf(what, sizeof(what), "RESET ALL");
	} else if (sql_is(b, "kind", "VAR_RESET")) {
		snprintf(what, sizeof(what), "RESET %.120s", name ? name : "");
	} else {
		snprintf(what, sizeof(what), "SET %.120s", name ? name : "");
	}
	sql_op_add(c, SK_SQL_SESSION_SET, NULL, what);
}

/* True when the option list opts (DefElem nodes) holds name, set: with
 * no argument or one that is not false ("FULL", "FULL true"). */
static bool
option_on(json_t *opts, const char *name)
{
	json_t *p;
	size_t i;

	json_array_foreach(opts, i, p)
	{
		json_t *d = sql_get(p, "DefElem");

		if (sql_is(d, "defname", name) &&
		    (sql_get(d, "arg") == NULL || !false_const(sql_get(d, "arg"))))
			return true;
	}
	return false;
}

static void
reindex(ctx *c, json_t *b)
{
	static const char *const kinds[][2] = {
		{ "REINDEX_OBJECT_INDEX", "INDEX" },
		{ "REINDEX_OBJECT_TABLE", "TABLE" },
		{ "REINDEX_OBJECT_SCHEMA", "SCHEMA" },
		{ "REINDEX_OBJECT_SYSTEM", "SYSTEM" },
		{ "REINDEX_OBJECT_DATABASE", "DATABASE" },
	};
	json_t *rel = sql_get(b, "relation");
	bool conc = option_on(sql_get(b, "params"), "concurrently");
	const char *what = "?";
	long op;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (sql_is(b, "kind", kinds[i][0]))
			what = kinds[i][1];
	/* PostgreSQL refuses REINDEX SCHEMA, SYSTEM and DATABASE in a
	 * transaction block (each table gets a transaction of its own). */
	if (strcmp(what, "SCHEMA") == 0)
		sql_op_add(c, SK_SQL_NO_TX, NULL, "REINDEX SCHEMA");
	else if (strcmp(what, "SYSTEM") == 0)
		sql_op_add(c, SK_SQL_NO_TX, NULL, "REINDEX SYSTEM");
	else if (strcmp(what, "DATABASE") == 0)
		sql_op_add(c, SK_SQL_NO_TX, NULL, "REINDEX DATABASE");
	if (conc)
		sql_op_add(c, SK_SQL_NO_TX, rel, "REINDEX ... CONCURRENTLY");
	op = sql_op_add(
	    c, SK_SQL_REINDEX, strcmp(what, "INDEX") == 0 ? NULL : rel, what);
	if (op < 0)
		return;
	OP(c, op)->concurrent = conc;
	if (strcmp(what, "INDEX") == 0) {
		OP(c, op)->schema = sql_dup(c, sql_str(rel, "schemaname"));
		OP(c, op)->name = sql_dup(c, sql_str(rel, "relname"));
	} else if (rel == NULL) {
		OP(c, op)->name = sql_dup(c, sql_str(b, "name"));
	}
}

/* TRUNCATE: one op per table named. */
static void
truncate_stmt(ctx *c, json_t *b)
{
	const char *cascade = sql_is(b, "behavior", "DROP_CASCADE") ? "CASCADE" : NULL;
	json_t *r;
	size_t i;

	json_array_foreach(sql_get(b, "relations"), i, r)
	{
		sql_op_add(c, SK_SQL_TRUNCATE, sql_get(r, "RangeVar"), cascade);
	}
}

/* VACUUM FULL: one rewrite per table named, or one without a table. */
static void
vacuum(ctx *c, json_t *b)
{
	json_t *r;
	size_t i;

	sql_op_add(c, SK_SQL_NO_TX, NULL, "VACUUM");
	if (!option_on(sql_get(b, "options"), "full"))
		return;
	if (json_array_size(sql_get(b, "rels")) == 0)
		sql_op_add(c, SK_SQL_REWRITE, NULL, "VACUUM FULL");
	json_array_foreach(sql_get(b, "rels"), i, r)
	{
		sql_op_add(c, SK_SQL_REWRITE,
		    sql_get(sql_get(r, "VacuumRelation"), "relation"), "VACUUM FULL");
	}
}

static void
visit_set_config(json_t *body, void *arg)
{
	ctx *c = arg;
	json_t *args = sql_get(body, "args");

	const char *name = sql_last_name(sql_get(body, "funcname"));

	if (name != NULL && strcmp(name, "set_config") == 0 &&
	    json_array_size(args) == 3 && false_const(json_array_get(args, 2)))
		sql_op_add(c, SK_SQL_SESSION_SET, NULL, "set_config(..., false)");
}

/* Simple statements: a node type and what it is. */
static const char *const no_tx_stmts[][2] = {
	{ "CreatedbStmt", "CREATE DATABASE" },
	{ "DropdbStmt", "DROP DATABASE" },
	{ "AlterSystemStmt", "ALTER SYSTEM" },
	{ "CreateTableSpaceStmt", "CREATE TABLESPACE" },
	{ "DropTableSpaceStmt", "DROP TABLESPACE" },
};

/* Statements that store expressions rather than evaluate them. */
static const char *const definitions[] = { "ViewStmt", "CreateFunctionStmt",
	"CreatePolicyStmt", "AlterPolicyStmt", "CreateTrigStmt", "RuleStmt" };

static void
stmt_ops(ctx *c, json_t *stmt)
{
	const char *type = NULL;
	json_t *b = NULL, *v;
	const char *key;

	json_object_foreach(stmt, key, v)
	{
		type = key;
		b = v;
		break;
	}
	if (type == NULL)
		return;
	if (strcmp(type, "CreateStmt") == 0)
		create_table(c, b);
	else if (strcmp(type, "CreateTableAsStmt") == 0 &&
	    sql_is(b, "objtype", "OBJECT_TABLE"))
		sql_op_add(c, SK_SQL_CREATE_TABLE,
		    sql_get(sql_get(b, "into"), "rel"), NULL);
	else if (strcmp(type, "IndexStmt") == 0)
		create_index(c, b);
	else if (strcmp(type, "DropStmt") == 0)
		drop(c, b);
	else if (strcmp(type, "RenameStmt") == 0)
		rename_stmt(c, b);
	else if (strcmp(type, "AlterTableStmt") == 0)
		alter_table(c, b);
	else if (strcmp(type, "CreatePolicyStmt") == 0) {
		long op =
		    sql_op_add(c, SK_SQL_CREATE_POLICY, sql_get(b, "table"), NULL);

		if (op >= 0)
			OP(c, op)->name = sql_dup(c, sql_str(b, "policy_name"));
	} else if (strcmp(type, "TransactionStmt") == 0)
		transaction(c, b);
	else if (strcmp(type, "VariableSetStmt") == 0)
		variable_set(c, b);
	else if (strcmp(type, "ReindexStmt") == 0)
		reindex(c, b);
	else if (strcmp(type, "VacuumStmt") == 0 && sql_flag(b, "is_vacuumcmd"))
		vacuum(c, b);
	else if (strcmp(type, "ClusterStmt") == 0) {
		if (sql_get(b, "relation") == NULL)
			sql_op_add(c, SK_SQL_NO_TX, NULL, "CLUSTER without a table");
		sql_op_add(c, SK_SQL_REWRITE, sql_get(b, "relation"), "CLUSTER");
	} else if (strcmp(type, "TruncateStmt") == 0)
		truncate_stmt(c, b);
	else if (strcmp(type, "LockStmt") == 0)
		sql_op_add(c, SK_SQL_LOCK_TABLE,
		    sql_get(json_array_get(sql_get(b, "relations"), 0), "RangeVar"),
		    "LOCK TABLE");
	else if (strcmp(type, "ListenStmt") == 0)
		sql_op_add(c, SK_SQL_SESSION_STATE, NULL, "LISTEN");
	else if (strcmp(type, "PrepareStmt") == 0)
		sql_op_add(c, SK_SQL_SESSION_STATE, NULL, "PREPARE");
	else if (strcmp(type, "DeclareCursorStmt") == 0 &&
	    (json_integer_value(sql_get(b, "options")) & CURSOR_OPT_HOLD) != 0)
		sql_op_add(c, SK_SQL_SESSION_STATE, NULL, "DECLARE ... WITH HOLD");
	else if (strcmp(type, "DiscardStmt") == 0) {
		sql_op_add(c, SK_SQL_SESSION_STATE, NULL, "DISCARD");
		if (sql_is(b, "target", "DISCARD_ALL"))
			sql_op_add(c, SK_SQL_NO_TX, NULL, "DISCARD ALL");
	}
	for (size_t i = 0; i < sizeof(no_tx_stmts) / sizeof(no_tx_stmts[0]); i++)
		if (strcmp(type, no_tx_stmts[i][0]) == 0)
			sql_op_add(c, SK_SQL_NO_TX, NULL, no_tx_stmts[i][1]);
	sql_stmt_facts(c, type, b);
	sql_long_identifiers(c);
	/* set_config(..., false) runs when the statement does, not when a
	 * definition holding it (a view, a function's defaults, a policy, a
	 * trigger's WHEN, a rule) is created. */
	for (size_t i = 0; i < sizeof(definitions) / sizeof(definitions[0]); i++)
		if (strcmp(type, definitions[i]) == 0)
			return;
	sql_walk(stmt, "FuncCall", visit_set_config, c);
}

int
sql_stmt_ops(sk_sql_stmt *st, json_t *stmt)
{
	ctx c = { st, 0, false };

	stmt_ops(&c, stmt);
	return c.oom ? SK_ENOMEM : SK_OK;
}

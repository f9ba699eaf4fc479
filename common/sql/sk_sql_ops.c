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

json_t *
sql_get(json_t *o, const char *key)
{
	return json_is_object(o) ? json_object_get(o, key) : NULL;
}

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(sql_get(o, key));
}

static bool
flag(json_t *o, const char *key)
{
	return json_is_true(sql_get(o, key));
}

static bool
is(json_t *o, const char *key, const char *value)
{
	const char *s = str(o, key);

	return s != NULL && strcmp(s, value) == 0;
}

/* The value of a String node. */
static const char *
string_node(json_t *n)
{
	return str(sql_get(n, "String"), "sval");
}

/* The last name of a list of String nodes: a qualified name's own. */
static const char *
last_name(json_t *list)
{
	size_t n = json_array_size(list);

	return n > 0 ? string_node(json_array_get(list, n - 1)) : NULL;
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

/* Call f on the body of every node of type `type` inside j. Node types
 * are the keys that start with an upper-case letter. The depth is bounded
 * by jansson's parser (2048). */
typedef void (*visit_fn)(json_t *body, void *arg);

static void
walk(json_t *j, const char *type, visit_fn f, void *arg)
{
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
		{
			walk(v, type, f, arg);
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
			walk(v, type, f, arg);
	}
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
		return !flag(sql_get(c, "boolval"), "boolval");
	if (c != NULL)
		s = str(sql_get(c, "sval"), "sval");
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

static char *
dup(ctx *c, const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = sk_strdup(s);
	if (d == NULL)
		c->oom = true;
	return d;
}

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
	nv[*n] = dup(c, s);
	if (nv[*n] == NULL)
		return;
	nv[++*n] = NULL;
}

/* A new op of kind on the table named by the RangeVar rv (may be NULL).
 * Returns its index, or -1 when out of memory. Index, not pointer: the
 * array moves as ops are added. */
static long
add_op(ctx *c, int kind, json_t *rv, const char *what)
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
	op->schema = dup(c, str(rv, "schemaname"));
	op->table = dup(c, str(rv, "relname"));
	op->what = dup(c, what);
	return (long)st->nops++;
}

#define OP(c, i) (&(c)->st->ops[i])

/* The helpers above, for sk_sql_facts.c (see sk_sql_int.h). */
const char *
sql_str(json_t *o, const char *key)
{
	return str(o, key);
}

bool
sql_flag(json_t *o, const char *key)
{
	return flag(o, key);
}

bool
sql_is(json_t *o, const char *key, const char *value)
{
	return is(o, key, value);
}

const char *
sql_last_name(json_t *list)
{
	return last_name(list);
}

char *
sql_dup(sql_ctx *c, const char *s)
{
	return dup(c, s);
}

long
sql_op_add(sql_ctx *c, int kind, json_t *rv, const char *what)
{
	return add_op(c, kind, rv, what);
}

void
sql_walk(json_t *j, const char *type, sql_visit_fn f, void *arg)
{
	walk(j, type, f, arg);
}

typedef struct refs {
	ctx *c;
	long op;
} refs;

static void
visit_colref(json_t *body, void *arg)
{
	refs *r = arg;

	strv_add(r->c, &OP(r->c, r->op)->checked, &OP(r->c, r->op)->nchecked,
	    last_name(sql_get(body, "fields")));
}

/* Add the columns a CHECK constraint names to op's checked list. */
static void
check_refs(ctx *c, long op, json_t *con)
{
	refs r = { c, op };

	if (is(con, "contype", "CONSTR_CHECK"))
		walk(sql_get(con, "raw_expr"), "ColumnRef", visit_colref, &r);
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

		if (!is(con, "contype", "CONSTR_PRIMARY") || col == NULL)
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
	bool temp = is(rel, "relpersistence", "t");
	long op = add_op(c, SK_SQL_CREATE_TABLE, rel, temp ? "temporary" : NULL);
	size_t i, j;

	if (op < 0)
		return;
	OP(c, op)->if_exists = flag(b, "if_not_exists");
	json_array_foreach(sql_get(b, "tableElts"), i, e)
	{
		json_t *cd = sql_get(e, "ColumnDef");

		if (cd != NULL) {
			if (!temp)
				sql_column_type(c, rel, cd,
				    table_key(sql_get(b, "tableElts"),
					str(cd, "colname")));
			strv_add(c, &OP(c, op)->columns, &OP(c, op)->ncolumns,
			    str(cd, "colname"));
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
	if (temp && !is(b, "oncommit", "ONCOMMIT_DROP"))
		add_op(c, SK_SQL_SESSION_STATE, rel,
		    "CREATE TEMPORARY TABLE without ON COMMIT DROP");
}

static void
create_index(ctx *c, json_t *b)
{
	json_t *rel = sql_get(b, "relation");
	long op = add_op(c, SK_SQL_CREATE_INDEX, rel, NULL);

	if (op < 0)
		return;
	OP(c, op)->name = dup(c, str(b, "idxname"));
	OP(c, op)->concurrent = flag(b, "concurrent");
	OP(c, op)->if_exists = flag(b, "if_not_exists");
	/* The parser sets inh unless ONLY was written. */
	OP(c, op)->only = rel != NULL && !flag(rel, "inh");
	if (flag(b, "concurrent"))
		add_op(c, SK_SQL_NO_TX, rel, "CREATE INDEX CONCURRENTLY");
}

static void
drop(ctx *c, json_t *b)
{
	json_t *o;
	size_t i;

	bool index = is(b, "removeType", "OBJECT_INDEX");

	if (index && flag(b, "concurrent"))
		add_op(c, SK_SQL_NO_TX, NULL, "DROP INDEX CONCURRENTLY");
	if (!index && !is(b, "removeType", "OBJECT_TABLE"))
		return;
	json_array_foreach(sql_get(b, "objects"), i, o)
	{
		json_t *items = sql_get(sql_get(o, "List"), "items");
		size_t n = json_array_size(items);
		long op = add_op(c,
		    index ? SK_SQL_DROP_INDEX : SK_SQL_DROP_TABLE, NULL, NULL);

		if (op < 0)
			return;
		/* A dropped index is named like REINDEX INDEX names it. */
		if (index)
			OP(c, op)->name = dup(c, last_name(items));
		else
			OP(c, op)->table = dup(c, last_name(items));
		if (n >= 2)
			OP(c, op)->schema =
			    dup(c, string_node(json_array_get(items, n - 2)));
		OP(c, op)->if_exists = flag(b, "missing_ok");
		OP(c, op)->concurrent = flag(b, "concurrent");
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

	if (is(b, "renameType", "OBJECT_INDEX")) {
		op = add_op(c, SK_SQL_RENAME_INDEX, rel, NULL);
		if (op >= 0)
			OP(c, op)->name = dup(c, str(b, "newname"));
		return;
	}
	if (is(b, "renameType", "OBJECT_TABCONSTRAINT")) {
		op = add_op(c, SK_SQL_RENAME_CONSTRAINT, rel, str(b, "subname"));
		if (op >= 0)
			OP(c, op)->name = dup(c, str(b, "newname"));
		return;
	}
	if (is(b, "renameType", "OBJECT_COLUMN")) {
		op = add_op(c, SK_SQL_RENAME_COLUMN, rel, NULL);
		if (op < 0)
			return;
		OP(c, op)->column = dup(c, str(b, "subname"));
		OP(c, op)->name = dup(c, str(b, "newname"));
		return;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!is(b, "renameType", kinds[i][0]))
			continue;
		op = add_op(c, SK_SQL_RENAME_TABLE, rel, kinds[i][1]);
		if (op >= 0)
			OP(c, op)->name = dup(c, str(b, "newname"));
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
	const char *name = last_name(sql_get(body, "funcname"));

	if (h->name == NULL && in_list(name, volatile_funcs))
		h->name = name;
}

/* Why adding column cd rewrites the table, or NULL if it does not. */
static const char *
add_column_rewrite(json_t *cd, char *why, size_t len)
{
	json_t *con;
	size_t i;

	if (in_list(last_name(sql_get(sql_get(cd, "typeName"), "names")), serial_types)) {
		snprintf(why, len, "type %s",
		    last_name(sql_get(sql_get(cd, "typeName"), "names")));
		return why;
	}
	json_array_foreach(sql_get(cd, "constraints"), i, con)
	{
		json_t *k = sql_get(con, "Constraint");
		volatile_hit h = { NULL };

		if (is(k, "contype", "CONSTR_IDENTITY"))
			return "GENERATED AS IDENTITY";
		if (is(k, "contype", "CONSTR_GENERATED"))
			return "GENERATED ALWAYS AS (...) STORED";
		if (!is(k, "contype", "CONSTR_DEFAULT"))
			continue;
		walk(sql_get(k, "raw_expr"), "FuncCall", visit_volatile, &h);
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
	if (is(con, "contype", "CONSTR_CHECK"))
		return SK_SQL_CON_CHECK;
	if (is(con, "contype", "CONSTR_FOREIGN"))
		return SK_SQL_CON_FOREIGN;
	if (is(con, "contype", "CONSTR_UNIQUE") || is(con, "contype", "CONSTR_PRIMARY"))
		return SK_SQL_CON_UNIQUE;
	if (is(con, "contype", "CONSTR_EXCLUSION"))
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
		op = add_op(c, SK_SQL_ADD_CONSTRAINT, rel, NULL);
		if (op < 0)
			return;
		OP(c, op)->column = dup(c, str(cd, "colname"));
		OP(c, op)->name = dup(c, str(k, "conname"));
		OP(c, op)->contype = type;
		OP(c, op)->not_valid = flag(k, "skip_validation");
		check_refs(c, op, k);
	}
}

static void
alter_cmd(ctx *c, json_t *rel, json_t *cmd)
{
	json_t *def = sql_get(cmd, "def");
	const char *col = str(cmd, "name");
	char why[96];
	long op = -1;

	if (is(cmd, "subtype", "AT_AddColumn")) {
		json_t *cd = sql_get(def, "ColumnDef");
		const char *rw = add_column_rewrite(cd, why, sizeof(why));

		op = add_op(c, SK_SQL_ADD_COLUMN, rel, rw);
		if (op >= 0) {
			OP(c, op)->column = dup(c, str(cd, "colname"));
			OP(c, op)->rewrites = rw != NULL;
			OP(c, op)->if_exists = flag(cmd, "missing_ok");
			sql_add_column_facts(c, op, cd);
		}
		sql_column_type(c, rel, cd, false);
		column_constraints(c, rel, cd);
		return;
	}
	if (is(cmd, "subtype", "AT_AddConstraint")) {
		json_t *con = sql_get(def, "Constraint");

		op = add_op(c, SK_SQL_ADD_CONSTRAINT, rel, NULL);
		if (op < 0)
			return;
		OP(c, op)->name = dup(c, str(con, "conname"));
		OP(c, op)->contype = contype(con);
		OP(c, op)->not_valid = flag(con, "skip_validation");
		OP(c, op)->using_index = str(con, "indexname") != NULL;
		check_refs(c, op, con);
		sql_check_not_null(c, rel, con);
		return;
	}
	if (is(cmd, "subtype", "AT_DetachPartition")) {
		json_t *pc = sql_get(def, "PartitionCmd");

		if (flag(pc, "concurrent"))
			add_op(c, SK_SQL_NO_TX, rel,
			    "ALTER TABLE ... DETACH PARTITION CONCURRENTLY");
		op = add_op(c, SK_SQL_DETACH_PARTITION, rel, NULL);
		if (op >= 0) {
			OP(c, op)->name = dup(c, str(sql_get(pc, "name"), "relname"));
			OP(c, op)->concurrent = flag(pc, "concurrent");
		}
		return;
	}
	if (is(cmd, "subtype", "AT_ValidateConstraint") ||
	    is(cmd, "subtype", "AT_DropConstraint")) {
		op = add_op(c,
		    is(cmd, "subtype", "AT_ValidateConstraint") ?
			SK_SQL_VALIDATE_CONSTRAINT :
			SK_SQL_DROP_CONSTRAINT,
		    rel, NULL);
		if (op >= 0)
			OP(c, op)->name = dup(c, col);
		return;
	}
	if (is(cmd, "subtype", "AT_DropColumn")) {
		op = add_op(c, SK_SQL_DROP_COLUMN, rel, NULL);
		if (op >= 0)
			OP(c, op)->if_exists = flag(cmd, "missing_ok");
	} else if (is(cmd, "subtype", "AT_AlterColumnType")) {
		op = add_op(c, SK_SQL_ALTER_COLUMN_TYPE, rel, NULL);
		/* The new type; the ColumnDef carries no name here. */
		if (op >= 0) {
			long t = (long)c->st->nops;

			sql_column_type(c, rel, sql_get(def, "ColumnDef"), false);
			if ((long)c->st->nops > t)
				OP(c, t)->column = dup(c, col);
		}
	} else if (is(cmd, "subtype", "AT_DropNotNull"))
		op = add_op(c, SK_SQL_DROP_NOT_NULL, rel, NULL);
	else if (is(cmd, "subtype", "AT_SetNotNull"))
		op = add_op(c, SK_SQL_SET_NOT_NULL, rel, NULL);
	else if (is(cmd, "subtype", "AT_EnableRowSecurity"))
		add_op(c, SK_SQL_ENABLE_RLS, rel, NULL);
	else if (is(cmd, "subtype", "AT_SetTableSpace"))
		add_op(c, SK_SQL_REWRITE, rel, "ALTER TABLE ... SET TABLESPACE");
	else if (is(cmd, "subtype", "AT_SetLogged"))
		add_op(c, SK_SQL_REWRITE, rel, "ALTER TABLE ... SET LOGGED");
	else if (is(cmd, "subtype", "AT_SetUnLogged"))
		add_op(c, SK_SQL_REWRITE, rel, "ALTER TABLE ... SET UNLOGGED");
	if (op >= 0)
		OP(c, op)->column = dup(c, col);
}

static void
alter_table(ctx *c, json_t *b)
{
	json_t *rel = sql_get(b, "relation"), *cmd;
	size_t i;

	/* ALTER INDEX, ALTER VIEW, ... share the node; only tables count. */
	if (!is(b, "objtype", "OBJECT_TABLE"))
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
		if (is(b, "kind", kinds[i][0]))
			what = kinds[i][1];
	add_op(c, SK_SQL_TX_CONTROL, NULL, what);
}

static void
variable_set(ctx *c, json_t *b)
{
	const char *name = str(b, "name");
	char what[160];

	if (flag(b, "is_local"))
		return;
	if (is(b, "kind", "VAR_SET_MULTI")) {
		/* SET TRANSACTION ... lasts for the transaction only. */
		if (name == NULL || strncmp(name, "SESSION", 7) != 0)
			return;
		snprintf(what, sizeof(what), "SET %s", name);
	} else if (is(b, "kind", "VAR_RESET_ALL")) {
		snprintf(what, sizeof(what), "RESET ALL");
	} else if (is(b, "kind", "VAR_RESET")) {
		snprintf(what, sizeof(what), "RESET %.120s", name ? name : "");
	} else {
		snprintf(what, sizeof(what), "SET %.120s", name ? name : "");
	}
	add_op(c, SK_SQL_SESSION_SET, NULL, what);
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

		if (is(d, "defname", name) &&
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
		if (is(b, "kind", kinds[i][0]))
			what = kinds[i][1];
	/* PostgreSQL refuses REINDEX SCHEMA, SYSTEM and DATABASE in a
	 * transaction block (each table gets a transaction of its own). */
	if (strcmp(what, "SCHEMA") == 0)
		add_op(c, SK_SQL_NO_TX, NULL, "REINDEX SCHEMA");
	else if (strcmp(what, "SYSTEM") == 0)
		add_op(c, SK_SQL_NO_TX, NULL, "REINDEX SYSTEM");
	else if (strcmp(what, "DATABASE") == 0)
		add_op(c, SK_SQL_NO_TX, NULL, "REINDEX DATABASE");
	if (conc)
		add_op(c, SK_SQL_NO_TX, rel, "REINDEX ... CONCURRENTLY");
	op = add_op(c, SK_SQL_REINDEX, strcmp(what, "INDEX") == 0 ? NULL : rel, what);
	if (op < 0)
		return;
	OP(c, op)->concurrent = conc;
	if (strcmp(what, "INDEX") == 0) {
		OP(c, op)->schema = dup(c, str(rel, "schemaname"));
		OP(c, op)->name = dup(c, str(rel, "relname"));
	} else if (rel == NULL) {
		OP(c, op)->name = dup(c, str(b, "name"));
	}
}

/* TRUNCATE: one op per table named. */
static void
truncate_stmt(ctx *c, json_t *b)
{
	const char *cascade = is(b, "behavior", "DROP_CASCADE") ? "CASCADE" : NULL;
	json_t *r;
	size_t i;

	json_array_foreach(sql_get(b, "relations"), i, r)
	{
		add_op(c, SK_SQL_TRUNCATE, sql_get(r, "RangeVar"), cascade);
	}
}

/* VACUUM FULL: one rewrite per table named, or one without a table. */
static void
vacuum(ctx *c, json_t *b)
{
	json_t *r;
	size_t i;

	add_op(c, SK_SQL_NO_TX, NULL, "VACUUM");
	if (!option_on(sql_get(b, "options"), "full"))
		return;
	if (json_array_size(sql_get(b, "rels")) == 0)
		add_op(c, SK_SQL_REWRITE, NULL, "VACUUM FULL");
	json_array_foreach(sql_get(b, "rels"), i, r)
	{
		add_op(c, SK_SQL_REWRITE,
		    sql_get(sql_get(r, "VacuumRelation"), "relation"), "VACUUM FULL");
	}
}

static void
visit_set_config(json_t *body, void *arg)
{
	ctx *c = arg;
	json_t *args = sql_get(body, "args");

	const char *name = last_name(sql_get(body, "funcname"));

	if (name != NULL && strcmp(name, "set_config") == 0 &&
	    json_array_size(args) == 3 && false_const(json_array_get(args, 2)))
		add_op(c, SK_SQL_SESSION_SET, NULL, "set_config(..., false)");
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
	    is(b, "objtype", "OBJECT_TABLE"))
		add_op(c, SK_SQL_CREATE_TABLE, sql_get(sql_get(b, "into"), "rel"), NULL);
	else if (strcmp(type, "IndexStmt") == 0)
		create_index(c, b);
	else if (strcmp(type, "DropStmt") == 0)
		drop(c, b);
	else if (strcmp(type, "RenameStmt") == 0)
		rename_stmt(c, b);
	else if (strcmp(type, "AlterTableStmt") == 0)
		alter_table(c, b);
	else if (strcmp(type, "CreatePolicyStmt") == 0) {
		long op = add_op(c, SK_SQL_CREATE_POLICY, sql_get(b, "table"), NULL);

		if (op >= 0)
			OP(c, op)->name = dup(c, str(b, "policy_name"));
	} else if (strcmp(type, "TransactionStmt") == 0)
		transaction(c, b);
	else if (strcmp(type, "VariableSetStmt") == 0)
		variable_set(c, b);
	else if (strcmp(type, "ReindexStmt") == 0)
		reindex(c, b);
	else if (strcmp(type, "VacuumStmt") == 0 && flag(b, "is_vacuumcmd"))
		vacuum(c, b);
	else if (strcmp(type, "ClusterStmt") == 0) {
		if (sql_get(b, "relation") == NULL)
			add_op(c, SK_SQL_NO_TX, NULL, "CLUSTER without a table");
		add_op(c, SK_SQL_REWRITE, sql_get(b, "relation"), "CLUSTER");
	} else if (strcmp(type, "TruncateStmt") == 0)
		truncate_stmt(c, b);
	else if (strcmp(type, "LockStmt") == 0)
		add_op(c, SK_SQL_LOCK_TABLE,
		    sql_get(json_array_get(sql_get(b, "relations"), 0), "RangeVar"),
		    "LOCK TABLE");
	else if (strcmp(type, "ListenStmt") == 0)
		add_op(c, SK_SQL_SESSION_STATE, NULL, "LISTEN");
	else if (strcmp(type, "PrepareStmt") == 0)
		add_op(c, SK_SQL_SESSION_STATE, NULL, "PREPARE");
	else if (strcmp(type, "DeclareCursorStmt") == 0 &&
	    (json_integer_value(sql_get(b, "options")) & CURSOR_OPT_HOLD) != 0)
		add_op(c, SK_SQL_SESSION_STATE, NULL, "DECLARE ... WITH HOLD");
	else if (strcmp(type, "DiscardStmt") == 0) {
		add_op(c, SK_SQL_SESSION_STATE, NULL, "DISCARD");
		if (is(b, "target", "DISCARD_ALL"))
			add_op(c, SK_SQL_NO_TX, NULL, "DISCARD ALL");
	}
	for (size_t i = 0; i < sizeof(no_tx_stmts) / sizeof(no_tx_stmts[0]); i++)
		if (strcmp(type, no_tx_stmts[i][0]) == 0)
			add_op(c, SK_SQL_NO_TX, NULL, no_tx_stmts[i][1]);
	sql_stmt_facts(c, type, b);
	sql_long_identifiers(c);
	/* set_config(..., false) runs when the statement does, not when a
	 * definition holding it (a view, a function's defaults, a policy, a
	 * trigger's WHEN, a rule) is created. */
	for (size_t i = 0; i < sizeof(definitions) / sizeof(definitions[0]); i++)
		if (strcmp(type, definitions[i]) == 0)
			return;
	walk(stmt, "FuncCall", visit_set_config, c);
}

int
sql_stmt_ops(sk_sql_stmt *st, json_t *stmt)
{
	ctx c = { st, 0, false };

	stmt_ops(&c, stmt);
	return c.oom ? SK_ENOMEM : SK_OK;
}

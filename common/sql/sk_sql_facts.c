/* sk_sql_facts: the facts of the lint's later rules, read from the same
 * parse tree as sk_sql_ops.c: column types, what ADD COLUMN's default
 * and NOT NULL are, CHECKs that prove a column NOT NULL, domains, enum
 * values, DROP INDEX and DROP DATABASE, columns assigned twice, and
 * identifiers PostgreSQL truncates (from the tokens: the tree holds
 * them truncated already). */
#include "sk_sql.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include "sk_sql_int.h"

/* NAMEDATALEN - 1: PostgreSQL keeps the first 63 bytes of a name. */
#define SQL_NAME_MAX 63

#define OP(c, i) (&(c)->st->ops[i])

/* Functions a column default commonly calls that are stable or
 * immutable: evaluated once by ADD COLUMN, so no rewrite. Any other
 * function (a user's own, say) may be volatile as far as the lint can
 * tell. The volatile ones sk_sql_ops.c knows never reach this list. */
static const char *const stable_funcs[] = { "now", "transaction_timestamp",
	"statement_timestamp", "current_setting", "lower", "upper", "btrim",
	"ltrim", "rtrim", "concat", "concat_ws", "length", "substr",
	"substring", "replace", "left", "right", "md5", "encode", "decode",
	"to_char", "to_date", "to_timestamp", "to_number", "make_date",
	"make_time", "make_timestamp", "make_timestamptz", "make_interval",
	"date_trunc", "date_part", "timezone", "abs", "round", "floor", "ceil",
	"jsonb_build_object", "json_build_object", "jsonb_build_array",
	"json_build_array", "array_fill", "int4", "int8", "text", "numeric", NULL };

static const char *const serials[] = { "serial", "serial4", "bigserial",
	"serial8", "smallserial", "serial2", NULL };

/* Column types with a rule of their own, whatever the column; and the
 * integer types that are too small for a key. */
static const char *const flagged[] = { "bpchar", "timestamp", "serial",
	"serial4", "bigserial", "serial8", "smallserial", "serial2", NULL };
static const char *const small_ints[] = { "int4", "int2", "integer", "smallint", NULL };

static bool
listed(const char *s, const char *const *list)
{
	for (size_t i = 0; s != NULL && list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* "a.b" of a qualified name (a list of String nodes) into buf. */
static const char *
qualified(json_t *list, char *buf, size_t len)
{
	json_t *n;
	size_t i, used = 0;

	buf[0] = '\0';
	json_array_foreach(list, i, n)
	{
		const char *s = sql_str(sql_get(n, "String"), "sval");
		int w = snprintf(
		    buf + used, len - used, "%s%s", i ? "." : "", s ? s : "?");

		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
	return buf;
}

void
sql_column_type(sql_ctx *c, json_t *rel, json_t *cd, bool key)
{
	json_t *tn = sql_get(cd, "typeName"), *con;
	const char *type = sql_last_name(sql_get(tn, "names"));
	bool sized;
	size_t i;
	long op;

	if (type == NULL)
		return;
	json_array_foreach(sql_get(cd, "constraints"), i, con)
	{
		json_t *k = sql_get(con, "Constraint");

		if (sql_is(k, "contype", "CONSTR_PRIMARY") ||
		    sql_is(k, "contype", "CONSTR_IDENTITY"))
			key = true;
	}
	key = key || listed(type, serials);
	sized = json_array_size(sql_get(tn, "typmods")) > 0;
	/* Only the types a rule is about: a statement keeps few ops. */
	if (!listed(type, flagged) && !(strcmp(type, "varchar") == 0 && sized) &&
	    !(key && listed(type, small_ints)))
		return;
	op = sql_op_add(c, SK_SQL_COLUMN_TYPE, rel, type);
	if (op < 0)
		return;
	OP(c, op)->column = sql_dup(c, sql_str(cd, "colname"));
	OP(c, op)->sized = sized;
	OP(c, op)->key = key;
}

/* DEFAULT NULL (or NULL::type) is no default at all. */
static bool
null_const(json_t *e)
{
	json_t *cast = sql_get(e, "TypeCast");

	if (cast != NULL)
		return null_const(sql_get(cast, "arg"));
	return sql_flag(sql_get(e, "A_Const"), "isnull");
}

typedef struct unknown_fn {
	const char *name;
} unknown_fn;

static void
visit_unknown_fn(json_t *body, void *arg)
{
	unknown_fn *u = arg;
	const char *name = sql_last_name(sql_get(body, "funcname"));

	if (u->name == NULL && name != NULL && !listed(name, stable_funcs))
		u->name = name;
}

void
sql_add_column_facts(sql_ctx *c, long op, json_t *cd)
{
	const char *type = sql_last_name(sql_get(sql_get(cd, "typeName"), "names"));
	unknown_fn u = { NULL };
	json_t *con;
	size_t i;

	if (listed(type, serials))
		OP(c, op)->has_default = true;
	json_array_foreach(sql_get(cd, "constraints"), i, con)
	{
		json_t *k = sql_get(con, "Constraint");

		if (sql_is(k, "contype", "CONSTR_NOTNULL") ||
		    sql_is(k, "contype", "CONSTR_PRIMARY"))
			OP(c, op)->not_null = true;
		else if (sql_is(k, "contype", "CONSTR_IDENTITY") ||
		    sql_is(k, "contype", "CONSTR_GENERATED"))
			OP(c, op)->has_default = true;
		else if (sql_is(k, "contype", "CONSTR_DEFAULT") &&
		    !null_const(sql_get(k, "raw_expr"))) {
			OP(c, op)->has_default = true;
			sql_walk(sql_get(k, "raw_expr"), "FuncCall",
			    visit_unknown_fn, &u);
		}
	}
	/* A known volatile function already made it a rewrite. */
	if (u.name != NULL && !OP(c, op)->rewrites)
		OP(c, op)->name = sql_dup(c, u.name);
}

/* Add to cols the columns expression e proves NOT NULL: col IS NOT
 * NULL, or an AND with such a term. An OR proves nothing. */
static void
not_null_terms(json_t *e, const char **cols, size_t *n, size_t max)
{
	json_t *nt = sql_get(e, "NullTest"), *be = sql_get(e, "BoolExpr"), *a;
	size_t i;

	if (nt != NULL && sql_is(nt, "nulltesttype", "IS_NOT_NULL") &&
	    sql_get(sql_get(nt, "arg"), "ColumnRef") != NULL) {
		const char *col = sql_last_name(
		    sql_get(sql_get(sql_get(nt, "arg"), "ColumnRef"), "fields"));

		if (col != NULL && *n < max)
			cols[(*n)++] = col;
		return;
	}
	if (be != NULL && sql_is(be, "boolop", "AND_EXPR"))
		json_array_foreach(sql_get(be, "args"), i, a)
		{
			not_null_terms(a, cols, n, max);
		}
}

void
sql_check_not_null(sql_ctx *c, json_t *rel, json_t *con)
{
	const char *cols[16];
	size_t n = 0;

	if (!sql_is(con, "contype", "CONSTR_CHECK"))
		return;
	not_null_terms(sql_get(con, "raw_expr"), cols, &n, 16);
	for (size_t i = 0; i < n; i++) {
		long op = sql_op_add(c, SK_SQL_CHECK_NOT_NULL, rel, NULL);

		if (op < 0)
			return;
		OP(c, op)->column = sql_dup(c, cols[i]);
		OP(c, op)->name = sql_dup(c, sql_str(con, "conname"));
		OP(c, op)->not_valid = sql_flag(con, "skip_validation");
	}
}

/* A DUPLICATE_ASSIGNMENT op for each column set twice in targets (a
 * list of ResTarget). Assignments to parts of a column (a[1], a.f) are
 * PostgreSQL's to merge and are left alone. */
static void
duplicates(sql_ctx *c, json_t *rel, json_t *targets, const char *what)
{
	size_t n = json_array_size(targets);

	for (size_t i = 0; i < n; i++) {
		json_t *a = sql_get(json_array_get(targets, i), "ResTarget");
		const char *name = sql_str(a, "name");

		if (name == NULL || sql_get(a, "indirection") != NULL)
			continue;
		for (size_t j = 0; j < i; j++) {
			json_t *b = sql_get(json_array_get(targets, j), "ResTarget");
			long op;

			if (sql_get(b, "indirection") != NULL ||
			    !sql_is(b, "name", name))
				continue;
			op = sql_op_add(c, SK_SQL_DUPLICATE_ASSIGNMENT, rel, what);
			if (op >= 0)
				OP(c, op)->column = sql_dup(c, name);
			break;
		}
	}
}

static void
domain(sql_ctx *c, const char *type, json_t *b)
{
	char name[256];
	const char *what = NULL;
	bool not_valid = false;
	json_t *con;
	size_t i;
	long op;

	if (strcmp(type, "CreateDomainStmt") == 0) {
		json_array_foreach(sql_get(b, "constraints"), i, con)
		{
			if (sql_is(sql_get(con, "Constraint"), "contype", "CONSTR_CHECK"))
				what = "CREATE DOMAIN ... CHECK";
		}
		qualified(sql_get(b, "domainname"), name, sizeof(name));
	} else {
		if (sql_is(b, "subtype", "C")) {
			what = "ALTER DOMAIN ... ADD CONSTRAINT";
			not_valid = sql_flag(sql_get(sql_get(b, "def"), "Constraint"),
			    "skip_validation");
		} else if (sql_is(b, "subtype", "V")) {
			what = "ALTER DOMAIN ... VALIDATE CONSTRAINT";
		} else if (sql_is(b, "subtype", "O")) {
			what = "ALTER DOMAIN ... SET NOT NULL";
		}
		qualified(sql_get(b, "typeName"), name, sizeof(name));
	}
	if (what == NULL)
		return;
	op = sql_op_add(c, SK_SQL_DOMAIN_CONSTRAINT, NULL, what);
	if (op < 0)
		return;
	OP(c, op)->name = sql_dup(c, name);
	OP(c, op)->not_valid = not_valid;
}

void
sql_stmt_facts(sql_ctx *c, const char *type, json_t *b)
{
	char name[256];
	long op;

	if (strcmp(type, "CreateDomainStmt") == 0 ||
	    strcmp(type, "AlterDomainStmt") == 0) {
		domain(c, type, b);
	} else if (strcmp(type, "AlterEnumStmt") == 0 &&
	    sql_str(b, "newVal") != NULL && sql_str(b, "oldVal") == NULL) {
		op = sql_op_add(c, SK_SQL_ENUM_ADD_VALUE, NULL, sql_str(b, "newVal"));
		if (op < 0)
			return;
		OP(c, op)->name = sql_dup(
		    c, qualified(sql_get(b, "typeName"), name, sizeof(name)));
		OP(c, op)->positioned = sql_str(b, "newValNeighbor") != NULL;
		OP(c, op)->if_exists = sql_flag(b, "skipIfNewValExists");
	} else if (strcmp(type, "DropdbStmt") == 0) {
		op = sql_op_add(c, SK_SQL_DROP_DATABASE, NULL, NULL);
		if (op < 0)
			return;
		OP(c, op)->name = sql_dup(c, sql_str(b, "dbname"));
		OP(c, op)->if_exists = sql_flag(b, "missing_ok");
	} else if (strcmp(type, "UpdateStmt") == 0) {
		duplicates(c, sql_get(b, "relation"), sql_get(b, "targetList"), "UPDATE");
	} else if (strcmp(type, "InsertStmt") == 0) {
		duplicates(c, sql_get(b, "relation"),
		    sql_get(sql_get(b, "onConflictClause"), "targetList"),
		    "INSERT ... ON CONFLICT DO UPDATE");
	}
}

/* The name an identifier token t of text stands for, into buf: an
 * unquoted one as written (its length is what matters, and case folding
 * keeps it), a quoted one without its quotes and with "" read as ".
 * Returns its length in bytes, or 0 for a U&"..." or malformed token. */
static size_t
ident_name(const char *text, size_t len, const PgQuery__ScanToken *t, char *buf,
    size_t cap)
{
	size_t start = (size_t)t->start, end = (size_t)t->end, n = 0;

	if (t->start < 0 || t->end < t->start || end > len)
		return 0;
	if (text[start] != '"') {
		n = end - start;
		snprintf(buf, cap, "%.*s", (int)n, text + start);
		return n;
	}
	if (end - start < 2 || text[end - 1] != '"')
		return 0;
	for (size_t i = start + 1; i < end - 1; i++) {
		if (text[i] == '"' && i + 1 < end - 1 && text[i + 1] == '"')
			i++;
		if (n + 1 < cap)
			buf[n] = text[i];
		n++;
	}
	buf[n < cap ? n : cap - 1] = '\0';
	return n;
}

void
sql_long_identifiers(sql_ctx *c)
{
	const char *text = c->st->text;
	PgQueryScanResult r;
	PgQuery__ScanResult *s;
	size_t len;

	if (text == NULL)
		return;
	len = strlen(text);
	r = pg_query_scan(text);
	if (r.error != NULL) {
		pg_query_free_scan_result(r);
		return;
	}
	s = pg_query__scan_result__unpack(
	    NULL, r.pbuf.len, (const uint8_t *)r.pbuf.data);
	if (s == NULL)
		c->oom = true;
	for (size_t k = 0; s != NULL && k < s->n_tokens; k++) {
		const PgQuery__ScanToken *t = s->tokens[k];
		char name[1024];

		if (t->token != PG_QUERY__TOKEN__IDENT ||
		    ident_name(text, len, t, name, sizeof(name)) <= SQL_NAME_MAX)
			continue;
		sql_op_add(c, SK_SQL_LONG_IDENTIFIER, NULL, name);
	}
	if (s != NULL)
		pg_query__scan_result__free_unpacked(s, NULL);
	pg_query_free_scan_result(r);
}

const char *
sk_sql_parser_version(void)
{
	return PG_VERSION;
}

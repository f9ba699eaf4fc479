/* sk_sql: libpg_query wrapped. Statements and syntax errors come from the
 * parser, the normalized form from its scanner's tokens, and the facts
 * the lint reads from the parser's JSON tree, walked by node type.
 * libpg_query's errors are translated into sk_err here and nowhere else. */
#include "sk_sql.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

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

typedef struct range {
	size_t off, len;
} range;

typedef struct buf {
	char *p;
	size_t len, cap;
	bool oom;
} buf;

static void
buf_add(buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ---- errors ------------------------------------------------------------ */

/* A parser error as "FILE:LINE: ...". libpg_query's cursorpos counts
 * characters from 1, not bytes, so the line is found by walking UTF-8. */
static int
parse_error(sk_err *err, const char *file, const char *sql, const PgQueryError *e)
{
	const char *msg = e->message != NULL ? e->message : "unknown parser error";
	const char *sep = strncmp(msg, "syntax error", 12) == 0 ? "" : "syntax error: ";
	size_t line = 1, bol = 0, eol, chars = 0, at, i;

	if (e->cursorpos <= 0)
		return sk_err_set(err, SK_EINVAL, "%s: %s%s", file, sep, msg);
	for (at = 0; sql[at] != '\0'; at++)
		if (((unsigned char)sql[at] & 0xC0) != 0x80 &&
		    chars++ == (size_t)e->cursorpos - 1)
			break;
	/* "at end of input" points past the last byte: blame the last line
	 * that holds something rather than the empty one after it. */
	for (i = at; sql[i] != '\0' && is_space(sql[i]); i++)
		;
	if (sql[i] == '\0')
		while (at > 0 && is_space(sql[at - 1]))
			at--;
	for (i = 0; i < at; i++)
		if (sql[i] == '\n') {
			line++;
			bol = i + 1;
		}
	sk_err_set(err, SK_EINVAL, "%s:%zu: %s%s", file, line, sep, msg);
	if (err == NULL)
		return SK_EINVAL;
	for (eol = bol; sql[eol] != '\0' && sql[eol] != '\n'; eol++)
		;
	snprintf(err->detail, sizeof(err->detail), "line %zu: %.*s", line,
	    (int)(eol - bol > 200 ? 200 : eol - bol), sql + bol);
	return SK_EINVAL;
}

static int
oom(sk_err *err, const char *file)
{
	return sk_err_set(err, SK_ENOMEM, "parse %s: out of memory", file);
}

/* ---- tokens ------------------------------------------------------------ */

static int
scan(const char *sql, const char *file, PgQuery__ScanResult **out, sk_err *err)
{
	PgQueryScanResult r = pg_query_scan(sql);
	size_t total = strlen(sql);
	int rc = SK_OK;

	if (r.error != NULL) {
		rc = parse_error(err, file, sql, r.error);
		goto out;
	}
	*out = pg_query__scan_result__unpack(
	    NULL, r.pbuf.len, (const uint8_t *)r.pbuf.data);
	if (*out == NULL) {
		rc = oom(err, file);
		goto out;
	}
	/* Starts index into sql below: never trust them blindly. Ends are
	 * only used clamped (see span_end). */
	for (size_t k = 0; k < (*out)->n_tokens; k++) {
		const PgQuery__ScanToken *t = (*out)->tokens[k];

		if (t->start < 0 || (size_t)t->start > total ||
		    (k > 0 && t->start < (*out)->tokens[k - 1]->start)) {
			pg_query__scan_result__free_unpacked(*out, NULL);
			*out = NULL;
			rc = sk_err_set(err, SK_EINVAL,
			    "parse %s: the scanner returned a bad token offset", file);
			goto out;
		}
	}
out:
	pg_query_free_scan_result(r);
	return rc;
}

static bool
is_comment(const PgQuery__ScanToken *t)
{
	return t->token == PG_QUERY__TOKEN__SQL_COMMENT ||
	    t->token == PG_QUERY__TOKEN__C_COMMENT;
}

/* Where token k ends: at the next token's start (or limit), less trailing
 * white space. libpg_query's end offsets are wrong for some tokens (a
 * U&"..." identifier ends after its U), so only starts are trusted and no
 * byte between two starts is ever dropped. */
static size_t
span_end(const PgQuery__ScanResult *s, size_t k, const char *sql, size_t limit)
{
	size_t start = (size_t)s->tokens[k]->start, e = limit;

	if (k + 1 < s->n_tokens && (size_t)s->tokens[k + 1]->start < e)
		e = (size_t)s->tokens[k + 1]->start;
	while (e > start && is_space(sql[e - 1]))
		e--;
	return e;
}

/* PostgreSQL folds keywords and unquoted identifiers to lower case. */
static bool
folds(const PgQuery__ScanToken *t, const char *sql)
{
	return t->keyword_kind != PG_QUERY__KEYWORD_KIND__NO_KEYWORD ||
	    (t->token == PG_QUERY__TOKEN__IDENT && sql[t->start] != '"');
}

/* Index of the first token at or after off. */
static size_t
first_token(const PgQuery__ScanResult *s, size_t off)
{
	size_t k = 0;

	while (k < s->n_tokens && (size_t)s->tokens[k]->start < off)
		k++;
	return k;
}

static void
normalize_range(buf *b, const char *sql, const PgQuery__ScanResult *s, range r)
{
	size_t limit = r.off + r.len;
	bool first = true;

	for (size_t k = first_token(s, r.off);
	     k < s->n_tokens && (size_t)s->tokens[k]->start < limit; k++) {
		const PgQuery__ScanToken *t = s->tokens[k];
		size_t start = (size_t)t->start, e = span_end(s, k, sql, limit);
		size_t fold_end =
		    t->end > t->start && (size_t)t->end < e ? (size_t)t->end : e;

		if (is_comment(t))
			continue;
		if (!first)
			buf_add(b, " ", 1);
		first = false;
		if (!folds(t, sql)) {
			buf_add(b, sql + start, e - start);
			continue;
		}
		for (size_t i = start; i < e; i++) {
			char c = i < fold_end ? ascii_lower(sql[i]) : sql[i];

			buf_add(b, &c, 1);
		}
	}
	buf_add(b, ";\n", 2);
}

int
sk_sql_normalize(const char *sql, const char *file, char **out, sk_err *err)
{
	PgQuerySplitResult sr;
	PgQuery__ScanResult *toks = NULL;
	size_t total = strlen(sql);
	buf b = { 0 };
	int rc;

	if (file == NULL)
		file = "SQL";
	sr = pg_query_split_with_parser(sql);
	if (sr.error != NULL) {
		rc = parse_error(err, file, sql, sr.error);
		goto out;
	}
	rc = scan(sql, file, &toks, err);
	if (rc != SK_OK)
		goto out;
	buf_add(&b, "", 0);
	for (int i = 0; i < sr.n_stmts; i++) {
		range r;

		if (sr.stmts[i]->stmt_location < 0 || sr.stmts[i]->stmt_len < 0 ||
		    (size_t)sr.stmts[i]->stmt_location > total) {
			rc = sk_err_set(err, SK_EINVAL,
			    "parse %s: the parser returned a bad statement offset",
			    file);
			goto out;
		}
		r.off = (size_t)sr.stmts[i]->stmt_location;
		r.len = sr.stmts[i]->stmt_len > 0 ? (size_t)sr.stmts[i]->stmt_len :
						    total - r.off;
		if (r.len > total - r.off)
			r.len = total - r.off;
		normalize_range(&b, sql, toks, r);
	}
	if (b.oom) {
		rc = oom(err, file);
		goto out;
	}
	*out = b.p;
	b.p = NULL;
	rc = SK_OK;
out:
	free(b.p);
	if (toks != NULL)
		pg_query__scan_result__free_unpacked(toks, NULL);
	pg_query_free_split_result(sr);
	return rc;
}

/* ---- the JSON parse tree ---------------------------------------------- */

static json_t *
get(json_t *o, const char *key)
{
	return json_is_object(o) ? json_object_get(o, key) : NULL;
}

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(get(o, key));
}

static bool
flag(json_t *o, const char *key)
{
	return json_is_true(get(o, key));
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
	return str(get(n, "String"), "sval");
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
	json_t *c = get(n, "A_Const"), *cast = get(n, "TypeCast");
	const char *s = NULL;
	char low[8];
	size_t len, i;

	if (cast != NULL)
		return false_const(get(cast, "arg"));
	if (c != NULL && get(c, "boolval") != NULL)
		return !flag(get(c, "boolval"), "boolval");
	if (c != NULL)
		s = str(get(c, "sval"), "sval");
	else
		s = string_node(n);
	if (s == NULL)
		return false;
	while (is_space(*s))
		s++;
	len = strlen(s);
	while (len > 0 && is_space(s[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(low))
		return false;
	for (i = 0; i < len; i++)
		low[i] = ascii_lower(s[i]);
	low[len] = '\0';
	return strncmp("false", low, len) == 0 || strncmp("no", low, len) == 0 ||
	    (len >= 2 && strncmp("off", low, len) == 0) || strcmp(low, "0") == 0;
}

/* ---- ops ---------------------------------------------------------------- */

typedef struct ctx {
	sk_sql_stmt *st;
	size_t cap;
	bool oom;
} ctx;

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

typedef struct refs {
	ctx *c;
	long op;
} refs;

static void
visit_colref(json_t *body, void *arg)
{
	refs *r = arg;

	strv_add(r->c, &OP(r->c, r->op)->checked, &OP(r->c, r->op)->nchecked,
	    last_name(get(body, "fields")));
}

/* Add the columns a CHECK constraint names to op's checked list. */
static void
check_refs(ctx *c, long op, json_t *con)
{
	refs r = { c, op };

	if (is(con, "contype", "CONSTR_CHECK"))
		walk(get(con, "raw_expr"), "ColumnRef", visit_colref, &r);
}

static void
create_table(ctx *c, json_t *b)
{
	json_t *rel = get(b, "relation"), *e, *con;
	bool temp = is(rel, "relpersistence", "t");
	long op = add_op(c, SK_SQL_CREATE_TABLE, rel, temp ? "temporary" : NULL);
	size_t i, j;

	if (op < 0)
		return;
	json_array_foreach(get(b, "tableElts"), i, e)
	{
		json_t *cd = get(e, "ColumnDef");

		if (cd != NULL) {
			strv_add(c, &OP(c, op)->columns, &OP(c, op)->ncolumns,
			    str(cd, "colname"));
			json_array_foreach(get(cd, "constraints"), j, con)
			{
				check_refs(c, op, get(con, "Constraint"));
			}
		} else {
			check_refs(c, op, get(e, "Constraint"));
		}
	}
	json_array_foreach(get(b, "constraints"), i, con)
	{
		check_refs(c, op, get(con, "Constraint"));
	}
	if (temp && !is(b, "oncommit", "ONCOMMIT_DROP"))
		add_op(c, SK_SQL_SESSION_STATE, rel,
		    "CREATE TEMPORARY TABLE without ON COMMIT DROP");
}

static void
create_index(ctx *c, json_t *b)
{
	json_t *rel = get(b, "relation");
	long op = add_op(c, SK_SQL_CREATE_INDEX, rel, NULL);

	if (op < 0)
		return;
	OP(c, op)->name = dup(c, str(b, "idxname"));
	OP(c, op)->concurrent = flag(b, "concurrent");
	if (flag(b, "concurrent"))
		add_op(c, SK_SQL_NO_TX, rel, "CREATE INDEX CONCURRENTLY");
}

static void
drop(ctx *c, json_t *b)
{
	json_t *o;
	size_t i;

	if (is(b, "removeType", "OBJECT_INDEX") && flag(b, "concurrent"))
		add_op(c, SK_SQL_NO_TX, NULL, "DROP INDEX CONCURRENTLY");
	if (!is(b, "removeType", "OBJECT_TABLE"))
		return;
	json_array_foreach(get(b, "objects"), i, o)
	{
		json_t *items = get(get(o, "List"), "items");
		size_t n = json_array_size(items);
		long op = add_op(c, SK_SQL_DROP_TABLE, NULL, NULL);

		if (op < 0)
			return;
		OP(c, op)->table = dup(c, last_name(items));
		if (n >= 2)
			OP(c, op)->schema =
			    dup(c, string_node(json_array_get(items, n - 2)));
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
	json_t *rel = get(b, "relation");
	long op;

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
	const char *name = last_name(get(body, "funcname"));

	if (h->name == NULL && in_list(name, volatile_funcs))
		h->name = name;
}

/* Why adding column cd rewrites the table, or NULL if it does not. */
static const char *
add_column_rewrite(json_t *cd, char *why, size_t len)
{
	json_t *con;
	size_t i;

	if (in_list(last_name(get(get(cd, "typeName"), "names")), serial_types)) {
		snprintf(why, len, "type %s",
		    last_name(get(get(cd, "typeName"), "names")));
		return why;
	}
	json_array_foreach(get(cd, "constraints"), i, con)
	{
		json_t *k = get(con, "Constraint");
		volatile_hit h = { NULL };

		if (is(k, "contype", "CONSTR_IDENTITY"))
			return "GENERATED AS IDENTITY";
		if (is(k, "contype", "CONSTR_GENERATED"))
			return "GENERATED ALWAYS AS (...) STORED";
		if (!is(k, "contype", "CONSTR_DEFAULT"))
			continue;
		walk(get(k, "raw_expr"), "FuncCall", visit_volatile, &h);
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

static void
alter_cmd(ctx *c, json_t *rel, json_t *cmd)
{
	json_t *def = get(cmd, "def");
	const char *col = str(cmd, "name");
	char why[96];
	long op = -1;

	if (is(cmd, "subtype", "AT_AddColumn")) {
		json_t *cd = get(def, "ColumnDef");
		const char *rw = add_column_rewrite(cd, why, sizeof(why));

		op = add_op(c, SK_SQL_ADD_COLUMN, rel, rw);
		if (op >= 0) {
			OP(c, op)->column = dup(c, str(cd, "colname"));
			OP(c, op)->rewrites = rw != NULL;
		}
		return;
	}
	if (is(cmd, "subtype", "AT_AddConstraint")) {
		json_t *con = get(def, "Constraint");

		op = add_op(c, SK_SQL_ADD_CONSTRAINT, rel, NULL);
		if (op < 0)
			return;
		OP(c, op)->name = dup(c, str(con, "conname"));
		OP(c, op)->contype = contype(con);
		OP(c, op)->not_valid = flag(con, "skip_validation");
		OP(c, op)->using_index = str(con, "indexname") != NULL;
		check_refs(c, op, con);
		return;
	}
	if (is(cmd, "subtype", "AT_DetachPartition")) {
		if (flag(get(def, "PartitionCmd"), "concurrent"))
			add_op(c, SK_SQL_NO_TX, rel,
			    "ALTER TABLE ... DETACH PARTITION CONCURRENTLY");
		return;
	}
	if (is(cmd, "subtype", "AT_DropColumn"))
		op = add_op(c, SK_SQL_DROP_COLUMN, rel, NULL);
	else if (is(cmd, "subtype", "AT_AlterColumnType"))
		op = add_op(c, SK_SQL_ALTER_COLUMN_TYPE, rel, NULL);
	else if (is(cmd, "subtype", "AT_SetNotNull"))
		op = add_op(c, SK_SQL_SET_NOT_NULL, rel, NULL);
	else if (is(cmd, "subtype", "AT_EnableRowSecurity"))
		add_op(c, SK_SQL_ENABLE_RLS, rel, NULL);
	if (op >= 0)
		OP(c, op)->column = dup(c, col);
}

static void
alter_table(ctx *c, json_t *b)
{
	json_t *rel = get(b, "relation"), *cmd;
	size_t i;

	/* ALTER INDEX, ALTER VIEW, ... share the node; only tables count. */
	if (!is(b, "objtype", "OBJECT_TABLE"))
		return;
	json_array_foreach(get(b, "cmds"), i, cmd)
	{
		alter_cmd(c, rel, get(cmd, "AlterTableCmd"));
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

static void
reindex(ctx *c, json_t *b)
{
	json_t *p;
	size_t i;

	if (is(b, "kind", "REINDEX_OBJECT_SYSTEM"))
		add_op(c, SK_SQL_NO_TX, NULL, "REINDEX SYSTEM");
	else if (is(b, "kind", "REINDEX_OBJECT_DATABASE"))
		add_op(c, SK_SQL_NO_TX, NULL, "REINDEX DATABASE");
	json_array_foreach(get(b, "params"), i, p)
	{
		json_t *d = get(p, "DefElem");

		if (is(d, "defname", "concurrently") &&
		    (get(d, "arg") == NULL || !false_const(get(d, "arg")))) {
			add_op(c, SK_SQL_NO_TX, get(b, "relation"),
			    "REINDEX ... CONCURRENTLY");
			return;
		}
	}
}

static void
visit_set_config(json_t *body, void *arg)
{
	ctx *c = arg;
	json_t *args = get(body, "args");

	const char *name = last_name(get(body, "funcname"));

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
		add_op(c, SK_SQL_CREATE_TABLE, get(get(b, "into"), "rel"), NULL);
	else if (strcmp(type, "IndexStmt") == 0)
		create_index(c, b);
	else if (strcmp(type, "DropStmt") == 0)
		drop(c, b);
	else if (strcmp(type, "RenameStmt") == 0)
		rename_stmt(c, b);
	else if (strcmp(type, "AlterTableStmt") == 0)
		alter_table(c, b);
	else if (strcmp(type, "CreatePolicyStmt") == 0) {
		long op = add_op(c, SK_SQL_CREATE_POLICY, get(b, "table"), NULL);

		if (op >= 0)
			OP(c, op)->name = dup(c, str(b, "policy_name"));
	} else if (strcmp(type, "TransactionStmt") == 0)
		transaction(c, b);
	else if (strcmp(type, "VariableSetStmt") == 0)
		variable_set(c, b);
	else if (strcmp(type, "ReindexStmt") == 0)
		reindex(c, b);
	else if (strcmp(type, "VacuumStmt") == 0 && flag(b, "is_vacuumcmd"))
		add_op(c, SK_SQL_NO_TX, NULL, "VACUUM");
	else if (strcmp(type, "ClusterStmt") == 0 && get(b, "relation") == NULL)
		add_op(c, SK_SQL_NO_TX, NULL, "CLUSTER without a table");
	else if (strcmp(type, "ListenStmt") == 0)
		add_op(c, SK_SQL_SESSION_STATE, NULL, "LISTEN");
	else if (strcmp(type, "PrepareStmt") == 0)
		add_op(c, SK_SQL_SESSION_STATE, NULL, "PREPARE");
	else if (strcmp(type, "DeclareCursorStmt") == 0 &&
	    (json_integer_value(get(b, "options")) & CURSOR_OPT_HOLD) != 0)
		add_op(c, SK_SQL_SESSION_STATE, NULL, "DECLARE ... WITH HOLD");
	else if (strcmp(type, "DiscardStmt") == 0) {
		add_op(c, SK_SQL_SESSION_STATE, NULL, "DISCARD");
		if (is(b, "target", "DISCARD_ALL"))
			add_op(c, SK_SQL_NO_TX, NULL, "DISCARD ALL");
	}
	for (size_t i = 0; i < sizeof(no_tx_stmts) / sizeof(no_tx_stmts[0]); i++)
		if (strcmp(type, no_tx_stmts[i][0]) == 0)
			add_op(c, SK_SQL_NO_TX, NULL, no_tx_stmts[i][1]);
	walk(stmt, "FuncCall", visit_set_config, c);
}

/* ---- scripts ------------------------------------------------------------ */

static void
op_fini(sk_sql_op *op)
{
	free(op->schema);
	free(op->table);
	free(op->column);
	free(op->name);
	free(op->what);
	for (size_t i = 0; i < op->ncolumns; i++)
		free(op->columns[i]);
	free(op->columns);
	for (size_t i = 0; i < op->nchecked; i++)
		free(op->checked[i]);
	free(op->checked);
}

void
sk_sql_script_destroy(sk_sql_script *script)
{
	if (script == NULL)
		return;
	for (size_t i = 0; i < script->nstmts; i++) {
		sk_sql_stmt *st = &script->stmts[i];

		for (size_t k = 0; k < st->nops; k++)
			op_fini(&st->ops[k]);
		free(st->ops);
		free(st->text);
	}
	free(script->stmts);
	free(script);
}

/* Line, offset and text of the statement in r. */
static int
locate(sk_sql_stmt *st, const char *sql, const PgQuery__ScanResult *s, range r,
    size_t *pos, int *line)
{
	size_t limit = r.off + r.len, start = r.off, end = r.off;
	bool found = false;

	for (size_t k = first_token(s, r.off);
	     k < s->n_tokens && (size_t)s->tokens[k]->start < limit; k++) {
		if (is_comment(s->tokens[k]))
			continue;
		if (!found)
			start = (size_t)s->tokens[k]->start;
		found = true;
		end = span_end(s, k, sql, limit);
	}
	/* Lines are counted forward from the previous statement. */
	for (; *pos < start; (*pos)++)
		if (sql[*pos] == '\n')
			(*line)++;
	st->line = *line;
	st->offset = start;
	st->text = malloc(end - start + 1);
	if (st->text == NULL)
		return SK_ENOMEM;
	memcpy(st->text, sql + start, end - start);
	st->text[end - start] = '\0';
	return SK_OK;
}

int
sk_sql_parse(const char *sql, const char *file, sk_sql_script **out, sk_err *err)
{
	PgQueryParseResult pr;
	PgQuery__ScanResult *toks = NULL;
	sk_sql_script *script = NULL;
	json_t *root = NULL, *stmts, *item;
	json_error_t jerr;
	size_t total = strlen(sql), pos = 0, i;
	int line = 1, rc;

	if (file == NULL)
		file = "SQL";
	pr = pg_query_parse(sql);
	if (pr.error != NULL) {
		rc = parse_error(err, file, sql, pr.error);
		goto out;
	}
	rc = scan(sql, file, &toks, err);
	if (rc != SK_OK)
		goto out;
	root = json_loads(pr.parse_tree, 0, &jerr);
	stmts = get(root, "stmts");
	if (!json_is_array(stmts)) {
		rc = sk_err_set(err, SK_EINVAL,
		    "parse %s: cannot read the parser's tree (is a statement "
		    "nested too deeply?): %s",
		    file, root == NULL ? jerr.text : "no statement list");
		goto out;
	}
	script = calloc(1, sizeof(*script));
	if (script == NULL ||
	    (script->stmts = calloc(
		 json_array_size(stmts) + 1, sizeof(*script->stmts))) == NULL) {
		rc = oom(err, file);
		goto out;
	}
	json_array_foreach(stmts, i, item)
	{
		json_int_t loc = json_integer_value(get(item, "stmt_location"));
		json_int_t len = json_integer_value(get(item, "stmt_len"));
		ctx c = { &script->stmts[i], 0, false };
		range r;

		if (loc < 0 || len < 0 || (size_t)loc > total) {
			rc = sk_err_set(err, SK_EINVAL,
			    "parse %s: the parser returned a bad statement offset",
			    file);
			goto out;
		}
		r.off = (size_t)loc;
		r.len = len > 0 && (size_t)len <= total - r.off ? (size_t)len :
								  total - r.off;
		script->nstmts = i + 1;
		if (locate(c.st, sql, toks, r, &pos, &line) != SK_OK) {
			rc = oom(err, file);
			goto out;
		}
		stmt_ops(&c, get(item, "stmt"));
		if (c.oom) {
			rc = oom(err, file);
			goto out;
		}
	}
	*out = script;
	script = NULL;
	rc = SK_OK;
out:
	sk_sql_script_destroy(script);
	json_decref(root);
	if (toks != NULL)
		pg_query__scan_result__free_unpacked(toks, NULL);
	pg_query_free_parse_result(pr);
	return rc;
}

/* ---- names ---------------------------------------------------------------- */

/* Append name to b, double-quoted unless regclass input would read it
 * back unchanged (lower-case letters, digits and '_', not starting with a
 * digit). */
static void
add_ident(buf *b, const char *name)
{
	bool plain = name[0] != '\0' && !(name[0] >= '0' && name[0] <= '9');

	for (const char *p = name; *p != '\0' && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_';
	if (plain) {
		buf_add(b, name, strlen(name));
		return;
	}
	buf_add(b, "\"", 1);
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '"')
			buf_add(b, "\"", 1); /* doubled, as in SQL */
		buf_add(b, p, 1);
	}
	buf_add(b, "\"", 1);
}

int
sk_sql_concurrent_indexes(
    const sk_sql_script *script, char ***names, size_t *n, sk_err *err)
{
	char **v = calloc(1, sizeof(*v));
	size_t count = 0;

	if (v == NULL)
		return sk_err_set(err, SK_ENOMEM, "list indexes: out of memory");
	for (size_t i = 0; i < script->nstmts; i++)
		for (size_t k = 0; k < script->stmts[i].nops; k++) {
			const sk_sql_op *op = &script->stmts[i].ops[k];
			buf b = { 0 };
			char **nv;

			if (op->kind != SK_SQL_CREATE_INDEX ||
			    !op->concurrent || op->name == NULL)
				continue;
			if (op->schema != NULL) {
				add_ident(&b, op->schema);
				buf_add(&b, ".", 1);
			}
			add_ident(&b, op->name);
			nv = b.oom ? NULL : realloc(v, (count + 2) * sizeof(*v));
			if (nv == NULL) {
				free(b.p);
				for (size_t j = 0; j < count; j++)
					free(v[j]);
				free(v);
				return sk_err_set(err, SK_ENOMEM,
				    "list indexes: out of memory");
			}
			v = nv;
			v[count++] = b.p;
			v[count] = NULL;
		}
	*names = v;
	*n = count;
	return SK_OK;
}

void
sk_sql_op_table(const sk_sql_op *op, char *out, size_t len)
{
	if (op->schema != NULL)
		snprintf(out, len, "%s.%s", op->schema, op->table ? op->table : "?");
	else
		snprintf(out, len, "%s", op->table ? op->table : "?");
}

/* sk_sql: libpg_query wrapped. Statements and syntax errors come from the
 * parser, the normalized form from its scanner's tokens, and the facts
 * the lint reads from the parser's JSON tree (sk_sql_ops.c), walked by
 * node type. A text goes to libpg_query a chunk of whole statements at a
 * time, so that memory follows the chunk, not the file (see chunks).
 * libpg_query's errors are translated into sk_err here and nowhere else. */
#include "sk_sql.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include "sk_sql_int.h"
#include "sk_util.h"

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
	while (e > start && sql_is_space(sql[e - 1]))
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

/* The length of the case-insensitive prefix of a quoted token in
 * sql[start, end): the E, B, X, N or U& before E'...', B'...', U&"..." and
 * the like, which PostgreSQL reads the same in either case; 0 when the
 * token does not start with letters (or '&') and a quote. */
static size_t
quote_prefix(const char *sql, size_t start, size_t end)
{
	size_t i = start;

	while (i < end && i - start < 2 &&
	    ((sql[i] >= 'a' && sql[i] <= 'z') ||
		(sql[i] >= 'A' && sql[i] <= 'Z') || sql[i] == '&'))
		i++;
	return i > start && i < end && (sql[i] == '\'' || sql[i] == '"') ? i - start : 0;
}

/* Index of the first token at or after off. A binary search (sql_scan()
 * checked that starts never decrease): a linear one from token 0 for
 * every statement made a file of many statements quadratic, minutes for
 * a few MiB of INSERTs. */
static size_t
first_token(const PgQuery__ScanResult *s, size_t off)
{
	size_t lo = 0, hi = s->n_tokens;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((size_t)s->tokens[mid]->start < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- normalizing -------------------------------------------------------- */

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
			size_t pre = quote_prefix(sql, start, e);

			for (size_t i = start; i < start + pre; i++) {
				char c = sql_ascii_lower(sql[i]);

				buf_add(b, &c, 1);
			}
			buf_add(b, sql + start + pre, e - start - pre);
			continue;
		}
		for (size_t i = start; i < e; i++) {
			char c = i < fold_end ? sql_ascii_lower(sql[i]) : sql[i];

			buf_add(b, &c, 1);
		}
	}
	buf_add(b, ";\n", 2);
}

typedef struct norm_ctx {
	buf b;
	const char *file;
} norm_ctx;

static int
normalize_chunk(void *arg, const char *text, size_t len, size_t base,
    pq_error *pe, sk_err *err)
{
	norm_ctx *c = arg;
	PgQuerySplitResult sr = pg_query_split_with_parser(text);
	tokens toks = { 0 };
	int rc;

	(void)base;
	if (sr.error != NULL) {
		rc = sql_keep_error(pe, sr.error);
		goto out;
	}
	rc = sql_scan(text, len, c->file, &toks, pe, err);
	if (rc != SK_OK)
		goto out;
	for (int i = 0; i < sr.n_stmts; i++) {
		range r;

		if (sr.stmts[i]->stmt_location < 0 || sr.stmts[i]->stmt_len < 0 ||
		    (size_t)sr.stmts[i]->stmt_location > len) {
			rc = sk_err_set(err, SK_EINVAL,
			    "parse %s: the parser returned a bad statement offset",
			    c->file);
			goto out;
		}
		r.off = (size_t)sr.stmts[i]->stmt_location;
		r.len = sr.stmts[i]->stmt_len > 0 ? (size_t)sr.stmts[i]->stmt_len :
						    len - r.off;
		if (r.len > len - r.off)
			r.len = len - r.off;
		normalize_range(&c->b, text, toks.r, r);
	}
	if (c->b.oom)
		rc = sql_oom(err, c->file);
out:
	sql_tokens_fini(&toks);
	pg_query_free_split_result(sr);
	return rc;
}

int
sk_sql_normalize(const char *sql, const char *file, char **out, sk_err *err)
{
	norm_ctx c = { .file = file != NULL ? file : "SQL" };
	int rc;

	buf_add(&c.b, "", 0);
	rc = sql_run_chunks(sql, c.file, normalize_chunk, &c, err);
	if (rc == SK_OK && c.b.oom)
		rc = sql_oom(err, c.file);
	if (rc != SK_OK) {
		free(c.b.p);
		return rc;
	}
	*out = c.b.p;
	return SK_OK;
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

/* Line, offset and text of the statement in r of text, a chunk that
 * starts at byte base of the whole text sql. */
static int
locate(sk_sql_stmt *st, const char *sql, size_t base, const char *text,
    const PgQuery__ScanResult *s, range r, size_t *pos, int *line)
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
		end = span_end(s, k, text, limit);
	}
	/* Lines are counted forward from the previous statement, in the
	 * whole text: a line number is the file's. */
	for (; *pos < base + start; (*pos)++)
		if (sql[*pos] == '\n')
			(*line)++;
	st->line = *line;
	st->offset = base + start;
	st->text = malloc(end - start + 1);
	if (st->text == NULL)
		return SK_ENOMEM;
	memcpy(st->text, text + start, end - start);
	st->text[end - start] = '\0';
	return SK_OK;
}

typedef struct parse_ctx {
	const char *sql; /* the whole text */
	const char *file;
	sk_sql_script *script;
	size_t cap; /* room in script->stmts */
	size_t pos; /* lines are counted up to here */
	int line;   /* the line at pos */
} parse_ctx;

/* Room for n more statements, zeroed. */
static int
reserve(parse_ctx *c, size_t n)
{
	sk_sql_script *sc = c->script;
	size_t want = sc->nstmts + n, cap = c->cap ? c->cap : 64;
	sk_sql_stmt *v;

	if (want <= c->cap)
		return SK_OK;
	while (cap < want)
		cap *= 2;
	v = realloc(sc->stmts, cap * sizeof(*v));
	if (v == NULL)
		return SK_ENOMEM;
	memset(v + c->cap, 0, (cap - c->cap) * sizeof(*v));
	sc->stmts = v;
	c->cap = cap;
	return SK_OK;
}

static int
parse_chunk(void *arg, const char *text, size_t len, size_t base, pq_error *pe,
    sk_err *err)
{
	parse_ctx *c = arg;
	PgQueryParseResult pr = pg_query_parse(text);
	tokens toks = { 0 };
	json_t *root = NULL, *stmts, *item;
	json_error_t jerr;
	size_t i;
	int rc;

	if (pr.error != NULL) {
		rc = sql_keep_error(pe, pr.error);
		goto out;
	}
	rc = sql_scan(text, len, c->file, &toks, pe, err);
	if (rc != SK_OK)
		goto out;
	root = json_loads(pr.parse_tree, 0, &jerr);
	stmts = sql_get(root, "stmts");
	if (!json_is_array(stmts)) {
		rc = sk_err_set(err, SK_EINVAL,
		    "parse %s: cannot read the parser's tree (is a statement "
		    "nested too deeply?): %s",
		    c->file, root == NULL ? jerr.text : "no statement list");
		goto out;
	}
	/* The tree's text is not needed past this point: free it before
	 * the statements are built. */
	pg_query_free_parse_result(pr);
	pr = (PgQueryParseResult){ 0 };
	if (reserve(c, json_array_size(stmts)) != SK_OK) {
		rc = sql_oom(err, c->file);
		goto out;
	}
	json_array_foreach(stmts, i, item)
	{
		json_int_t loc = json_integer_value(sql_get(item, "stmt_location"));
		json_int_t slen = json_integer_value(sql_get(item, "stmt_len"));
		sk_sql_stmt *st = &c->script->stmts[c->script->nstmts];
		range r;

		if (loc < 0 || slen < 0 || (size_t)loc > len) {
			rc = sk_err_set(err, SK_EINVAL,
			    "parse %s: the parser returned a bad statement offset",
			    c->file);
			goto out;
		}
		r.off = (size_t)loc;
		r.len = slen > 0 && (size_t)slen <= len - r.off ? (size_t)slen :
								  len - r.off;
		c->script->nstmts++;
		if (locate(st, c->sql, base, text, toks.r, r, &c->pos, &c->line) != SK_OK ||
		    sql_stmt_ops(st, sql_get(item, "stmt")) != SK_OK) {
			rc = sql_oom(err, c->file);
			goto out;
		}
	}
	rc = SK_OK;
out:
	json_decref(root);
	sql_tokens_fini(&toks);
	pg_query_free_parse_result(pr);
	return rc;
}

int
sk_sql_parse(const char *sql, const char *file, sk_sql_script **out, sk_err *err)
{
	parse_ctx c = { .sql = sql, .file = file != NULL ? file : "SQL", .line = 1 };
	int rc;

	c.script = calloc(1, sizeof(*c.script));
	if (c.script == NULL)
		return sql_oom(err, c.file);
	rc = sql_run_chunks(sql, c.file, parse_chunk, &c, err);
	if (rc != SK_OK) {
		sk_sql_script_destroy(c.script);
		return rc;
	}
	*out = c.script;
	return SK_OK;
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

/* sk_sql: libpg_query wrapped. Statements and syntax errors come from the
 * parser, the normalized form from its scanner's tokens, and the facts
 * the lint reads from the parser's JSON tree (sk_sql_ops.c), walked by
 * node type. libpg_query's errors are translated into sk_err here and
 * nowhere else. */
#include "sk_sql.h"

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
	for (i = at; sql[i] != '\0' && sql_is_space(sql[i]); i++)
		;
	if (sql[i] == '\0')
		while (at > 0 && sql_is_space(sql[at - 1]))
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

/* Index of the first token at or after off. A binary search (scan()
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
	stmts = sql_get(root, "stmts");
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
		json_int_t loc = json_integer_value(sql_get(item, "stmt_location"));
		json_int_t len = json_integer_value(sql_get(item, "stmt_len"));
		sk_sql_stmt *st = &script->stmts[i];
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
		if (locate(st, sql, toks, r, &pos, &line) != SK_OK) {
			rc = oom(err, file);
			goto out;
		}
		if (sql_stmt_ops(st, sql_get(item, "stmt")) != SK_OK) {
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

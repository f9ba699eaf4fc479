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

/* ---- errors ------------------------------------------------------------ */

/* A syntax error libpg_query reported for some text, kept until the caller
 * knows which part of the file that text was. */
typedef struct pq_error {
	char msg[SK_ERR_MSG_MAX];
	int cursorpos; /* characters from 1 into the text; <= 0: none */
} pq_error;

/* What a chunk function returns when its text does not parse: the error
 * is in its pq_error, not yet in an sk_err. */
#define SQL_SYNTAX (-1)

static int
keep_error(pq_error *pe, const PgQueryError *e)
{
	snprintf(pe->msg, sizeof(pe->msg), "%s",
	    e->message != NULL ? e->message : "unknown parser error");
	pe->cursorpos = e->cursorpos;
	return SQL_SYNTAX;
}

/* The byte offset in text[0, len) of the character libpg_query's
 * cursorpos points at (it counts characters from 1, not bytes: walk the
 * UTF-8 lead bytes); len when it points past the end, SIZE_MAX when there
 * is no position. */
static size_t
error_offset(const char *text, size_t len, int cursorpos)
{
	size_t chars = 0, at;

	if (cursorpos <= 0)
		return SIZE_MAX;
	for (at = 0; at < len; at++)
		if (((unsigned char)text[at] & 0xC0) != 0x80 &&
		    chars++ == (size_t)cursorpos - 1)
			break;
	return at;
}

/* A parser error at byte at of the whole text sql (SIZE_MAX: unknown) as
 * "FILE:LINE: ...", with the line in err->detail. */
static int
parse_error(sk_err *err, const char *file, const char *sql, const char *msg, size_t at)
{
	const char *sep = strncmp(msg, "syntax error", 12) == 0 ? "" : "syntax error: ";
	size_t line = 1, bol = 0, eol, i;

	if (at == SIZE_MAX)
		return sk_err_set(err, SK_EINVAL, "%s: %s%s", file, sep, msg);
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

/* Where the scanner's tokens are unpacked. One token is one small
 * allocation and a big file has hundreds of thousands: bumping a pointer
 * and dropping whole blocks costs a fraction of a malloc and a free of
 * each, which were a fifth of sk_sql_parse's time. Large allocations get
 * a block of their own that a free gives back at once: protobuf-c's
 * scratch space for a message of a million tokens is tens of MB. */
typedef struct arena_block {
	struct arena_block *next;
	size_t used, cap; /* bytes of data */
	max_align_t data[];
} arena_block;

typedef struct tokens {
	PgQuery__ScanResult *r;
	arena_block *blocks; /* small allocations; the first has room */
	arena_block *large;  /* one allocation each */
} tokens;

#define ARENA_BLOCK_BYTES (64 * 1024)

static arena_block *
block_new(size_t cap)
{
	arena_block *b;

	if (cap > SIZE_MAX - sizeof(*b))
		return NULL;
	b = malloc(sizeof(*b) + cap);
	if (b != NULL) {
		b->used = 0;
		b->cap = cap;
	}
	return b;
}

static void *
arena_alloc(void *arg, size_t size)
{
	tokens *t = arg;
	size_t need = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) *
	    sizeof(max_align_t);
	arena_block *b;
	void *p;

	if (need < size)
		return NULL;
	if (need > ARENA_BLOCK_BYTES / 4) {
		b = block_new(need);
		if (b == NULL)
			return NULL;
		b->used = need;
		b->next = t->large;
		t->large = b;
		return b->data;
	}
	b = t->blocks;
	if (b == NULL || b->cap - b->used < need) {
		b = block_new(ARENA_BLOCK_BYTES);
		if (b == NULL)
			return NULL;
		b->next = t->blocks;
		t->blocks = b;
	}
	p = (unsigned char *)b->data + b->used;
	b->used += need;
	return p;
}

/* A large allocation goes back now; small ones all at once, in
 * tokens_fini. protobuf-c frees only its scratch space while unpacking:
 * the walk is short. */
static void
arena_free(void *arg, void *p)
{
	tokens *t = arg;

	for (arena_block **b = &t->large; *b != NULL; b = &(*b)->next)
		if ((void *)(*b)->data == p) {
			arena_block *gone = *b;

			*b = gone->next;
			free(gone);
			return;
		}
}

static void
blocks_free(arena_block *b)
{
	while (b != NULL) {
		arena_block *next = b->next;

		free(b);
		b = next;
	}
}

static void
tokens_fini(tokens *t)
{
	blocks_free(t->blocks);
	blocks_free(t->large);
	t->blocks = NULL;
	t->large = NULL;
	t->r = NULL;
}

/* The scanner's tokens of text[0, len) into *t (tokens_fini frees them,
 * also after a failure). A scanner error is SQL_SYNTAX in *pe. */
static int
scan(const char *text, size_t len, const char *file, tokens *t, pq_error *pe,
    sk_err *err)
{
	PgQueryScanResult r = pg_query_scan(text);
	ProtobufCAllocator alloc = { arena_alloc, arena_free, t };
	int rc = SK_OK;

	if (r.error != NULL) {
		rc = keep_error(pe, r.error);
		goto out;
	}
	t->r = pg_query__scan_result__unpack(
	    &alloc, r.pbuf.len, (const uint8_t *)r.pbuf.data);
	if (t->r == NULL) {
		rc = oom(err, file);
		goto out;
	}
	/* Starts index into text below: never trust them blindly. Ends are
	 * only used clamped (see span_end). */
	for (size_t k = 0; k < t->r->n_tokens; k++) {
		const PgQuery__ScanToken *tok = t->r->tokens[k];

		if (tok->start < 0 || (size_t)tok->start > len ||
		    (k > 0 && tok->start < t->r->tokens[k - 1]->start)) {
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

/* ---- chunks ------------------------------------------------------------ */

/* libpg_query costs 15 to 30 times its input in memory (a parse tree, its
 * JSON, the tokens), all at once: 1 GB for 8 MB of INSERTs. So a text is
 * handed to it a chunk of whole statements at a time, each chunk's trees
 * freed before the next: the cost follows the chunk (or the largest
 * statement), not the file. Statements never span chunks, so what each
 * statement yields, and its checksum, is what one parse of the whole text
 * gives. */
size_t sql_chunk_bytes = 256 * 1024;

/* Work on one chunk: text[0, len), NUL-terminated, is sql[base, base +
 * len). Returns SK_OK, SQL_SYNTAX with *pe when the chunk does not parse
 * (having added nothing), or another code with err set. */
typedef int (*chunk_fn)(void *ctx, const char *text, size_t len, size_t base,
    pq_error *pe, sk_err *err);

/* Where libpg_query's scanner ends statements in text[0, len) (text[len]
 * is NUL): the offset just past each ';' that ends one, ascending, and len
 * last, into *cuts (malloc'ed). The scanner's split costs a few times the
 * text, far less than a parse, and it splits at every ';' outside quotes
 * and parentheses, also at those inside a BEGIN ATOMIC body: a cut is
 * where a statement may end, which run_chunks checks by parsing. A
 * scanner error (an unterminated quote) is SQL_SYNTAX in *pe. */
static int
find_cuts(const char *text, size_t len, const char *file, size_t **cuts,
    size_t *ncuts, pq_error *pe, sk_err *err)
{
	PgQuerySplitResult sr = pg_query_split_with_scanner(text);
	size_t n = 0, *v = NULL;
	int rc = SK_OK;

	if (sr.error != NULL) {
		rc = keep_error(pe, sr.error);
		goto out;
	}
	v = malloc(((size_t)(sr.n_stmts > 0 ? sr.n_stmts : 0) + 1) * sizeof(*v));
	if (v == NULL) {
		rc = oom(err, file);
		goto out;
	}
	for (int i = 0; i < sr.n_stmts; i++) {
		const PgQuerySplitStmt *st = sr.stmts[i];
		size_t end;

		if (st->stmt_location < 0 || st->stmt_len < 0 ||
		    (size_t)st->stmt_location + (size_t)st->stmt_len > len) {
			rc = sk_err_set(err, SK_EINVAL,
			    "parse %s: the scanner returned a bad statement offset",
			    file);
			goto out;
		}
		end = (size_t)st->stmt_location + (size_t)st->stmt_len;
		if (end < len && text[end] == ';' && (n == 0 || end + 1 > v[n - 1]))
			v[n++] = end + 1;
	}
	if (n == 0 || v[n - 1] != len)
		v[n++] = len;
	*cuts = v;
	*ncuts = n;
	v = NULL;
out:
	free(v);
	pg_query_free_split_result(sr);
	return rc;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Run fn over sql (the whole text, total bytes) up to the last of cuts[],
 * in chunks of whole statements of about sql_chunk_bytes, cut where
 * cuts[] says. A chunk that fails at its very end while
 * more text follows was cut inside a statement (a ';' in a BEGIN ATOMIC
 * body): it is extended to at least twice its length, so that a body of
 * many ';' costs a few re-parses, and tried again. A chunk that fails
 * anywhere else fails the same way inside the whole text (the parser
 * reads left to right, and the chunk starts where a statement does), and
 * is reported at its line in the whole text. *at_end says the last chunk
 * failed at its end. */
static int
walk_chunks(const char *sql, size_t total, const char *file, const size_t *cuts,
    size_t ncuts, chunk_fn fn, void *ctx, bool *at_end, sk_err *err)
{
	char *copy = NULL;
	size_t cap = 0, off = 0, i = 0;
	int rc = SK_OK;

	*at_end = false;
	do {
		size_t j = i, end, len, at = SIZE_MAX;
		const char *text;
		pq_error pe;

		while (j + 1 < ncuts && cuts[j + 1] - off <= sql_chunk_bytes)
			j++;
		for (;;) {
			end = cuts[j];
			len = end - off;
			if (end == total) {
				text = sql + off; /* already NUL-terminated */
			} else {
				if (len + 1 > cap) {
					char *nb = realloc(copy, len + 1);

					if (nb == NULL) {
						rc = oom(err, file);
						goto out;
					}
					copy = nb;
					cap = len + 1;
				}
				memcpy(copy, sql + off, len);
				copy[len] = '\0';
				text = copy;
			}
			rc = fn(ctx, text, len, off, &pe, err);
			if (rc != SQL_SYNTAX)
				break;
			at = error_offset(text, len, pe.cursorpos);
			if (!(at == len || ends_with(pe.msg, "at end of input")) ||
			    j + 1 >= ncuts)
				break;
			while (j + 1 < ncuts && cuts[j] - off < 2 * len)
				j++;
		}
		if (rc == SQL_SYNTAX) {
			*at_end = at == len || ends_with(pe.msg, "at end of input");
			rc = parse_error(err, file, sql, pe.msg,
			    at == SIZE_MAX ? SIZE_MAX : off + at);
		}
		if (rc != SK_OK)
			goto out;
		off = end;
		i = j + 1;
	} while (i < ncuts);
out:
	free(copy);
	return rc;
}

/* Run fn over all of sql in chunks (walk_chunks). When the scanner itself
 * fails (an unterminated quote at P), one parse of the whole text would
 * still have reported a syntax error before P first: the text before P is
 * walked, and only when it holds no error is the scanner's reported. */
static int
run_chunks(const char *sql, const char *file, chunk_fn fn, void *ctx, sk_err *err)
{
	size_t total = strlen(sql), *cuts = NULL, ncuts = 0, stop;
	char *prefix = NULL;
	bool at_end = false;
	pq_error scan_err, again;
	int rc;

	if (total > INT_MAX) /* libpg_query's offsets are ints */
		return sk_err_set(err, SK_EINVAL,
		    "parse %s: %zu bytes is more than the parser can take",
		    file, total);
	rc = find_cuts(sql, total, file, &cuts, &ncuts, &scan_err, err);
	if (rc == SK_OK)
		rc = walk_chunks(sql, total, file, cuts, ncuts, fn, ctx, &at_end, err);
	if (rc != SQL_SYNTAX)
		goto out;
	stop = error_offset(sql, total, scan_err.cursorpos);
	if (stop != SIZE_MAX && stop > 0) {
		prefix = malloc(stop + 1);
		if (prefix == NULL) {
			rc = oom(err, file);
			goto out;
		}
		memcpy(prefix, sql, stop);
		prefix[stop] = '\0';
		rc = find_cuts(prefix, stop, file, &cuts, &ncuts, &again, err);
		free(prefix);
		prefix = NULL;
		if (rc == SK_OK)
			rc = walk_chunks(sql, total, file, cuts, ncuts, fn, ctx,
			    &at_end, err);
		/* An error before P is the text's first; one at P (the end of
		 * what was walked) is the scanner's. */
		if (rc != SK_OK && rc != SQL_SYNTAX && !(rc == SK_EINVAL && at_end))
			goto out;
	}
	rc = parse_error(err, file, sql, scan_err.msg, stop);
out:
	free(prefix);
	free(cuts);
	return rc;
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
		rc = keep_error(pe, sr.error);
		goto out;
	}
	rc = scan(text, len, c->file, &toks, pe, err);
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
		rc = oom(err, c->file);
out:
	tokens_fini(&toks);
	pg_query_free_split_result(sr);
	return rc;
}

int
sk_sql_normalize(const char *sql, const char *file, char **out, sk_err *err)
{
	norm_ctx c = { .file = file != NULL ? file : "SQL" };
	int rc;

	buf_add(&c.b, "", 0);
	rc = run_chunks(sql, c.file, normalize_chunk, &c, err);
	if (rc == SK_OK && c.b.oom)
		rc = oom(err, c.file);
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
		rc = keep_error(pe, pr.error);
		goto out;
	}
	rc = scan(text, len, c->file, &toks, pe, err);
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
		rc = oom(err, c->file);
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
			rc = oom(err, c->file);
			goto out;
		}
	}
	rc = SK_OK;
out:
	json_decref(root);
	tokens_fini(&toks);
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
		return oom(err, c.file);
	rc = run_chunks(sql, c.file, parse_chunk, &c, err);
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

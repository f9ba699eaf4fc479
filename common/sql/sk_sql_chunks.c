/* sk_sql_chunks: handing a text to libpg_query a chunk of whole
 * statements at a time (sql_run_chunks), the scanner's tokens in an arena
 * (sql_scan), and libpg_query's errors translated into sk_err with the
 * file's own line (sql_parse_error). What sk_sql.c builds on. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include "sk_sql.h"
#include "sk_sql_int.h"
#include "sk_util.h"

/* ---- errors ------------------------------------------------------------ */

int
sql_keep_error(pq_error *pe, const PgQueryError *e)
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
int
sql_parse_error(
    sk_err *err, const char *file, const char *sql, const char *msg, size_t at)
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

int
sql_oom(sk_err *err, const char *file)
{
	return sk_err_set(err, SK_ENOMEM, "parse %s: out of memory", file);
}

/* ---- tokens ------------------------------------------------------------ */

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

void
sql_tokens_fini(tokens *t)
{
	blocks_free(t->blocks);
	blocks_free(t->large);
	t->blocks = NULL;
	t->large = NULL;
	t->r = NULL;
}

/* The scanner's tokens of text[0, len) into *t (tokens_fini frees them,
 * also after a failure). A scanner error is SQL_SYNTAX in *pe. */
int
sql_scan(const char *text, size_t len, const char *file, tokens *t,
    pq_error *pe, sk_err *err)
{
	PgQueryScanResult r = pg_query_scan(text);
	ProtobufCAllocator alloc = { arena_alloc, arena_free, t };
	int rc = SK_OK;

	if (r.error != NULL) {
		rc = sql_keep_error(pe, r.error);
		goto out;
	}
	t->r = pg_query__scan_result__unpack(
	    &alloc, r.pbuf.len, (const uint8_t *)r.pbuf.data);
	if (t->r == NULL) {
		rc = sql_oom(err, file);
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

/* ---- chunks ------------------------------------------------------------ */

/* libpg_query costs 15 to 30 times its input in memory (a parse tree, its
 * JSON, the tokens), all at once: 1 GB for 8 MB of INSERTs. So a text is
 * handed to it a chunk of whole statements at a time, each chunk's trees
 * freed before the next: the cost follows the chunk (or the largest
 * statement), not the file. Statements never span chunks, so what each
 * statement yields, and its checksum, is what one parse of the whole text
 * gives. */
size_t sql_chunk_bytes = 256 * 1024;

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
		rc = sql_keep_error(pe, sr.error);
		goto out;
	}
	v = malloc(((size_t)(sr.n_stmts > 0 ? sr.n_stmts : 0) + 1) * sizeof(*v));
	if (v == NULL) {
		rc = sql_oom(err, file);
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
						rc = sql_oom(err, file);
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
			rc = sql_parse_error(err, file, sql, pe.msg,
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
int
sql_run_chunks(const char *sql, const char *file, chunk_fn fn, void *ctx, sk_err *err)
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
			rc = sql_oom(err, file);
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
	rc = sql_parse_error(err, file, sql, scan_err.msg, stop);
out:
	free(prefix);
	free(cuts);
	return rc;
}

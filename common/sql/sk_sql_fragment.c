/* sk_sql_fragment: whether a piece of SQL that skein splices into a
 * statement of its own (a backfill's SET list, its WHERE) stays inside
 * the place it is put, as PostgreSQL's scanner sees it: parentheses
 * balanced, no ';'. Quotes, dollar quotes and comments are the scanner's
 * business, so a ')' inside a string literal is not counted. */
#include <string.h>

#include "sk_sql_int.h"

int
sk_sql_fragment_check(const char *text, const char *what, sk_err *err)
{
	const char *name = what != NULL ? what : "SQL";
	tokens t = { 0 };
	pq_error pe = { 0 };
	int depth = 0, rc;

	if (text == NULL)
		return SK_OK;
	rc = sql_scan(text, strlen(text), name, &t, &pe, err);
	if (rc == SQL_SYNTAX) {
		rc = sql_parse_error(err, name, text, pe.msg,
		    pe.cursorpos > 0 ? (size_t)pe.cursorpos - 1 : SIZE_MAX);
		goto out;
	}
	if (rc != SK_OK)
		goto out;
	for (size_t k = 0; k < t.r->n_tokens; k++) {
		const PgQuery__ScanToken *tok = t.r->tokens[k];

		if (tok->token == PG_QUERY__TOKEN__ASCII_40) {
			depth++;
		} else if (tok->token == PG_QUERY__TOKEN__ASCII_41 && --depth < 0) {
			rc = sk_err_set(err, SK_EINVAL,
			    "%s closes a parenthesis it did not open, at byte %d",
			    name, tok->start + 1);
			goto out;
		} else if (tok->token == PG_QUERY__TOKEN__ASCII_59) {
			rc = sk_err_set(err, SK_EINVAL,
			    "%s holds ';' at byte %d: it must be a part of one "
			    "statement",
			    name, tok->start + 1);
			goto out;
		}
	}
	if (depth > 0)
		rc = sk_err_set(err, SK_EINVAL, "%s leaves %d parenthes%s open",
		    name, depth, depth == 1 ? "is" : "es");
out:
	sql_tokens_fini(&t);
	return rc;
}

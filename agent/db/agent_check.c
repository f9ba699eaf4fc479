/* agent_check: pre and post checks. A query check reads; a FAILS check
 * writes on purpose (it tests a constraint), so it always runs under a
 * savepoint that is rolled back, and the database keeps nothing of it
 * whether the statement failed as expected or not; so does a SUCCEEDS
 * check (a Sqitch verify script), which passes on no error. */
#include "agent_check.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent_redact.h"
#include "agent_stmt.h"
#include "sk_pg.h"

/* Run a check's statement, watched by w when given. */
static int
run_check_sql(PGconn *conn, const char *sql, const agent_check_watch *w,
    PGresult **out, sk_err *err)
{
	return agent_stmt_run(conn, NULL, sql, w != NULL ? w->limits : NULL,
	    w != NULL ? w->pid : 0, w != NULL ? w->fn : NULL,
	    w != NULL ? w->arg : NULL, out, NULL, err);
}

/* The length of the well-formed UTF-8 character at s (1 to 4), or 0 when
 * s does not start one (a stray continuation byte, a lead byte whose
 * continuation bytes are missing or cut off by the end of the string). */
static size_t
utf8_len(const unsigned char *s)
{
	size_t clen;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		clen = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		clen = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		clen = 4;
	else
		return 0;
	for (size_t i = 1; i < clen; i++)
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
	return clen;
}

/* Copy src into dst (len bytes), folding line breaks and tabs into single
 * spaces, never cutting a UTF-8 character in half and never reading past
 * src's end. A byte that does not start a well-formed UTF-8 character
 * (a value from a SQL_ASCII database, say) becomes '?', so that what is
 * reported and recorded is always valid UTF-8. */
static void
copy_text(char *dst, size_t len, const char *src)
{
	size_t n = 0;

	if (len == 0)
		return;
	for (; src != NULL && *src != '\0';) {
		unsigned char c = (unsigned char)*src;
		size_t clen = utf8_len((const unsigned char *)src);

		if (c == '\n' || c == '\r' || c == '\t') {
			if (n > 0 && dst[n - 1] != ' ' && n + 1 < len)
				dst[n++] = ' ';
			src++;
			continue;
		}
		if (n + (clen == 0 ? 1 : clen) >= len)
			break;
		if (clen == 0) {
			dst[n++] = '?';
			src++;
			continue;
		}
		memcpy(dst + n, src, clen);
		n += clen;
		src += clen;
	}
	dst[n] = '\0';
}

/* A plain decimal: [+-]digits[.digits], at least one digit. The parts are
 * returned without sign and without leading zeros in the integer part. */
typedef struct decimal {
	bool neg;
	const char *ip; /* integer digits */
	size_t ilen;
	const char *fp; /* fraction digits */
	size_t flen;
} decimal;

static bool
parse_decimal(const char *s, decimal *d)
{
	memset(d, 0, sizeof(*d));
	if (*s == '+' || *s == '-')
		d->neg = *s++ == '-';
	d->ip = s;
	while (isdigit((unsigned char)*s))
		s++;
	d->ilen = (size_t)(s - d->ip);
	if (*s == '.') {
		d->fp = ++s;
		while (isdigit((unsigned char)*s))
			s++;
		d->flen = (size_t)(s - d->fp);
	}
	if (*s != '\0' || d->ilen + d->flen == 0)
		return false;
	while (d->ilen > 0 && *d->ip == '0') {
		d->ip++;
		d->ilen--;
	}
	while (d->flen > 0 && d->fp[d->flen - 1] == '0')
		d->flen--;
	if (d->ilen == 0 && d->flen == 0)
		d->neg = false; /* -0 is 0 */
	return true;
}

/* Compare magnitudes exactly, digit by digit: bigint counts and numeric
 * values beyond a double's 53 bits compare correctly. */
static int
decimal_cmp(const decimal *a, const decimal *b)
{
	int sign = a->neg ? -1 : 1, c;

	if (a->neg != b->neg)
		return a->neg ? -1 : 1;
	if (a->ilen != b->ilen)
		return a->ilen < b->ilen ? -sign : sign;
	c = memcmp(a->ip, b->ip, a->ilen);
	if (c != 0)
		return c < 0 ? -sign : sign;
	for (size_t i = 0; i < a->flen || i < b->flen; i++) {
		char x = i < a->flen ? a->fp[i] : '0';
		char y = i < b->flen ? b->fp[i] : '0';

		if (x != y)
			return x < y ? -sign : sign;
	}
	return 0;
}

/* A number in exponent notation ("1e+06", as float8 prints); not "NaN" or
 * "Infinity", which compare as text. */
static bool
parse_exp(const char *s, double *out)
{
	char *end;

	for (const char *p = s; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p) && strchr("+-.eE", *p) == NULL)
			return false;
	if (*s == '\0')
		return false;
	*out = strtod(s, &end);
	return end != s && *end == '\0';
}

/* PostgreSQL prints booleans as t and f; plans write true and false. */
static const char *
bool_word(const char *s)
{
	if (strcasecmp(s, "t") == 0 || strcasecmp(s, "true") == 0)
		return "true";
	if (strcasecmp(s, "f") == 0 || strcasecmp(s, "false") == 0)
		return "false";
	return NULL;
}

/* The comparison operators a check may use, and what each accepts of
 * strcmp-style c. */
static bool
op_holds(const char *op, int c, bool *ok)
{
	if (strcmp(op, "=") == 0 || strcmp(op, "==") == 0)
		*ok = c == 0;
	else if (strcmp(op, "!=") == 0 || strcmp(op, "<>") == 0)
		*ok = c != 0;
	else if (strcmp(op, "<") == 0)
		*ok = c < 0;
	else if (strcmp(op, "<=") == 0)
		*ok = c <= 0;
	else if (strcmp(op, ">") == 0)
		*ok = c > 0;
	else if (strcmp(op, ">=") == 0)
		*ok = c >= 0;
	else
		return false;
	return true;
}

bool
agent_check_compare(const char *seen, const char *op, const char *value, bool *ok)
{
	decimal a, b;
	double x, y;
	bool seen_num, value_num;
	int c;

	*ok = false;
	if (op == NULL || !op_holds(op, 0, ok))
		return false;
	*ok = false;
	if (seen == NULL || value == NULL)
		return true; /* NULL matches nothing */
	seen_num = parse_decimal(seen, &a) || parse_exp(seen, &x);
	value_num = parse_decimal(value, &b) || parse_exp(value, &y);
	if (seen_num != value_num) {
		/* A number against a non-number ("abc" > 0, "" = 0, "NaN" >
		 * 0): compared as text, any word would sort above any digit
		 * and pass. Whatever the operator, the check does not hold. */
		return true;
	}
	if (parse_decimal(seen, &a) && parse_decimal(value, &b)) {
		c = decimal_cmp(&a, &b);
	} else if (parse_exp(seen, &x) && parse_exp(value, &y)) {
		c = x < y ? -1 : x > y ? 1 : 0;
	} else if (bool_word(seen) != NULL &&
	    (strcasecmp(value, "true") == 0 || strcasecmp(value, "false") == 0)) {
		/* false < true, as in PostgreSQL. */
		c = strcmp(bool_word(seen), bool_word(value));
	} else {
		c = strcmp(seen, value);
	}
	return op_holds(op, c, ok);
}

/* "error 42P01: relation "x" does not exist" from a database error. */
static void
seen_error(sk_check_result *res, const sk_err *e)
{
	char text[SK_ERR_MSG_MAX + 16];

	if (e->sqlstate[0] != '\0')
		snprintf(text, sizeof(text), "error %s: %s", e->sqlstate, e->msg);
	else
		snprintf(text, sizeof(text), "error: %s", e->msg);
	copy_text(res->seen, sizeof(res->seen), text);
}

/* Hand a database error from check evaluation to the caller, naming the
 * check; SQLSTATE, detail and hint are kept. */
static int
eval_error(sk_err *err, const sk_err *e, const sk_check_result *res)
{
	if (err == NULL)
		return e->code;
	*err = *e;
	return sk_err_wrap(err, "run check %s (%s)", res->name, res->when);
}

static void
seen_rows(sk_check_result *res, int n)
{
	if (n == 0)
		snprintf(res->seen, sizeof(res->seen), "no rows");
	else if (n == 1)
		snprintf(res->seen, sizeof(res->seen), "1 row");
	else
		snprintf(res->seen, sizeof(res->seen), "%d rows", n);
}

static int
eval_query(PGconn *conn, const sk_check *check, const agent_check_watch *w,
    sk_check_result *res, sk_err *err)
{
	PGresult *pr = NULL;
	sk_err e;
	int n, rc;

	sk_err_clear(&e);
	rc = run_check_sql(conn, check->sql, w, &pr, &e);
	if (rc != SK_OK) {
		seen_error(res, &e);
		return eval_error(err, &e, res);
	}
	n = PQresultStatus(pr) == PGRES_TUPLES_OK ? PQntuples(pr) : 0;
	if (check->expect == SK_EXPECT_NO_ROWS) {
		seen_rows(res, n);
		res->passed = n == 0;
	} else if (n != 1) {
		seen_rows(res, n);
		res->passed = false;
	} else if (PQnfields(pr) < 1) {
		snprintf(res->seen, sizeof(res->seen), "1 row with no columns");
		res->passed = false;
	} else if (PQgetisnull(pr, 0, 0)) {
		snprintf(res->seen, sizeof(res->seen), "NULL");
		res->passed = false;
	} else {
		copy_text(res->seen, sizeof(res->seen), PQgetvalue(pr, 0, 0));
		/* Compare the whole value, not the shortened copy. */
		(void)agent_check_compare(PQgetvalue(pr, 0, 0), check->op,
		    check->value, &res->passed);
	}
	PQclear(pr);
	return SK_OK;
}

static int
control(PGconn *conn, const char *sql, sk_check_result *res, sk_err *err)
{
	sk_err e;
	int rc;

	sk_err_clear(&e);
	rc = sk_pg_exec(conn, sql, sql, NULL, &e);
	if (rc != SK_OK) {
		res->passed = false;
		seen_error(res, &e);
		return eval_error(err, &e, res);
	}
	return SK_OK;
}

/* Errors that come from concurrency or limits, not from the statement's
 * own effect. */
static bool
transient(const sk_err *e)
{
	static const char *const codes[] = { "55P03", "57014", "40P01", "40001" };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(e->sqlstate, codes[i]) == 0)
			return true;
	return false;
}

/* FAILS and SUCCEEDS: the statement runs under a savepoint that is
 * always rolled back; FAILS passes when it fails with check->sqlstate,
 * SUCCEEDS when it runs without an error (any result). */
static int
eval_savepoint(PGconn *conn, const sk_check *check, const agent_check_watch *w,
    sk_check_result *res, sk_err *err)
{
	bool succeeds = check->expect == SK_EXPECT_SUCCEEDS;
	bool own_tx = PQtransactionStatus(conn) == PQTRANS_IDLE;
	PGresult *pr = NULL;
	bool passed;
	char seen[sizeof(res->seen)];
	sk_err e;
	int rc;

	if (own_tx && (rc = control(conn, "BEGIN", res, err)) != SK_OK)
		return rc;
	rc = control(conn, "SAVEPOINT skein_check", res, err);
	if (rc != SK_OK)
		goto out;
	sk_err_clear(&e);
	rc = run_check_sql(conn, check->sql, w, &pr, &e);
	PQclear(pr);
	if (rc == SK_OK) {
		snprintf(seen, sizeof(seen), "succeeded");
		passed = succeeds;
	} else if (sk_pg_err_is_connection(&e)) {
		res->passed = false;
		seen_error(res, &e);
		rc = eval_error(err, &e, res);
		goto out;
	} else if (transient(&e) &&
	    (succeeds || check->sqlstate == NULL ||
		strcasecmp(e.sqlstate, check->sqlstate) != 0)) {
		/* A lock timeout, statement timeout, deadlock or
		 * serialization failure says nothing about the constraint
		 * under test: an evaluation error (a lock timeout is retried
		 * with the step), not a check that saw the wrong SQLSTATE. */
		res->passed = false;
		seen_error(res, &e);
		rc = eval_error(err, &e, res);
		goto out;
	} else {
		char text[SK_ERR_MSG_MAX + 16];

		snprintf(text, sizeof(text), "%s: %s",
		    e.sqlstate[0] != '\0' ? e.sqlstate : "error", e.msg);
		copy_text(seen, sizeof(seen), text);
		passed = !succeeds && check->sqlstate != NULL &&
		    strcasecmp(e.sqlstate, check->sqlstate) == 0;
	}
	/* Undo whatever the statement did, also when it succeeded. */
	rc = control(conn, "ROLLBACK TO SAVEPOINT skein_check", res, err);
	if (rc == SK_OK)
		rc = control(conn, "RELEASE SAVEPOINT skein_check", res, err);
	if (rc == SK_OK) {
		snprintf(res->seen, sizeof(res->seen), "%s", seen);
		res->passed = passed;
	}
out:
	if (own_tx && PQtransactionStatus(conn) != PQTRANS_IDLE) {
		PQclear(PQexec(conn, "ROLLBACK"));
	}
	return rc;
}

int
agent_check_eval(PGconn *conn, const sk_check *check, const char *when,
    sk_check_result *res, sk_err *err)
{
	return agent_check_eval_watched(conn, check, when, NULL, res, err);
}

int
agent_check_eval_watched(PGconn *conn, const sk_check *check, const char *when,
    const agent_check_watch *w, sk_check_result *res, sk_err *err)
{
	memset(res, 0, sizeof(*res));
	res->report_value = check->report_value;
	copy_text(res->name, sizeof(res->name), check->name ? check->name : "");
	copy_text(res->when, sizeof(res->when), when ? when : "");
	if (check->sql == NULL || check->sql[0] == '\0') {
		snprintf(res->seen, sizeof(res->seen), "not evaluated");
		return sk_err_set(err, SK_EINVAL, "run check %s (%s): no SQL",
		    res->name, res->when);
	}
	switch (check->expect) {
	case SK_EXPECT_COMPARE: {
		char text[sizeof(res->expected) * 8];
		bool ignored;

		snprintf(text, sizeof(text), "%s %s", check->op ? check->op : "?",
		    check->value ? check->value : "?");
		copy_text(res->expected, sizeof(res->expected), text);
		if (check->value == NULL ||
		    !agent_check_compare("0", check->op, "0", &ignored)) {
			snprintf(res->seen, sizeof(res->seen), "not evaluated");
			return sk_err_set(err, SK_EINVAL,
			    "run check %s (%s): comparison \"%s %s\" is not one of "
			    "= != < <= > >= with a value",
			    res->name, res->when, check->op ? check->op : "",
			    check->value ? check->value : "");
		}
		return eval_query(conn, check, w, res, err);
	}
	case SK_EXPECT_NO_ROWS:
		snprintf(res->expected, sizeof(res->expected), "no rows");
		return eval_query(conn, check, w, res, err);
	case SK_EXPECT_FAILS:
		snprintf(res->expected, sizeof(res->expected), "fails with %s",
		    check->sqlstate ? check->sqlstate : "?");
		if (check->sqlstate == NULL || strlen(check->sqlstate) != 5) {
			snprintf(res->seen, sizeof(res->seen), "not evaluated");
			return sk_err_set(err, SK_EINVAL,
			    "run check %s (%s): expected SQLSTATE \"%s\" is not "
			    "five characters",
			    res->name, res->when,
			    check->sqlstate ? check->sqlstate : "");
		}
		return eval_savepoint(conn, check, w, res, err);
	case SK_EXPECT_SUCCEEDS:
		snprintf(res->expected, sizeof(res->expected), "succeeds");
		return eval_savepoint(conn, check, w, res, err);
	default:
		snprintf(res->seen, sizeof(res->seen), "not evaluated");
		return sk_err_set(err, SK_EINVAL,
		    "run check %s (%s): unknown expectation %d", res->name,
		    res->when, check->expect);
	}
}

int
agent_check_fail(sk_err *err, const sk_check_result *res)
{
	char seen[sizeof(res->seen)];

	/* The message crosses to the coordinator: the value goes as
	 * agent_redact_seen leaves it (skein.checks has it whole). */
	agent_redact_seen(res, seen, sizeof(seen));
	return sk_err_set(err, SK_ECHECK, "check %s (%s) failed: expected %s, saw %s",
	    res->name, res->when, res->expected, seen);
}

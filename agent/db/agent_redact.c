/* agent_redact: withholding row values from what leaves the region
 * (agent_redact.h).
 */
#include "agent_redact.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An identifier character: a digit after one is part of a name (t1). */
static bool
ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$' ||
	    (unsigned char)c >= 0x80;
}

/* The length of the dollar-quote tag at s ("$$", "$tag$"), or 0. */
static size_t
dollar_tag(const char *s)
{
	size_t i = 1;

	if (s[0] != '$')
		return 0;
	while (s[i] != '\0' && (isalnum((unsigned char)s[i]) || s[i] == '_'))
		i++;
	return s[i] == '$' && !isdigit((unsigned char)s[1]) ? i + 1 : 0;
}

/* Write mask (3 bytes) at out in place of [start, end), which out never
 * passes. The text never grows: an empty pair ('' or "") is copied, a
 * two-byte span cut off after its first character becomes its quote and
 * ?. Returns the new out. */
static char *
put_mask(char *out, const char *start, const char *end, const char *mask)
{
	size_t n = (size_t)(end - start);

	if (n == 2 && start[1] != start[0]) {
		out[0] = start[0];
		out[1] = '?';
		return out + 2;
	}
	if (n < 3) {
		memmove(out, start, n);
		return out + n;
	}
	memcpy(out, mask, 3);
	return out + 3;
}

void
agent_redact_sql(char *text)
{
	char *in = text, *out = text;

	while (*in != '\0') {
		size_t tag;

		if (*in == '"') { /* a quoted name: kept whole */
			char *end = strchr(in + 1, '"');
			size_t n = end != NULL ? (size_t)(end - in) + 1 : strlen(in);

			memmove(out, in, n);
			out += n;
			in += n;
		} else if (*in == '\'') {
			char *start = in++;

			/* '' inside a constant is a quote, not its end. */
			while (*in != '\0' && !(in[0] == '\'' && in[1] != '\''))
				in += in[0] == '\'' ? 2 : 1;
			if (*in == '\'')
				in++;
			out = put_mask(out, start, in, "'?'");
		} else if ((tag = dollar_tag(in)) > 0) {
			char *start = in, *end = in + tag;

			while (*end != '\0' && strncmp(end, in, tag) != 0)
				end++;
			in = *end != '\0' ? end + tag : end;
			out = put_mask(out, start, in, "'?'");
		} else if (isdigit((unsigned char)*in) &&
		    (out == text || !ident_char(out[-1]))) {
			while (isalnum((unsigned char)*in) || *in == '.')
				in++;
			*out++ = '?';
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
}

void
agent_redact_message(char *msg, const char *sqlstate)
{
	char *in = msg, *out = msg;

	if (sqlstate == NULL || strncmp(sqlstate, "22", 2) != 0)
		return;
	while (*in != '\0') {
		if (*in != '"') {
			*out++ = *in++;
			continue;
		}
		{
			char *start = in, *end = strchr(in + 1, '"');

			in = end != NULL ? end + 1 : msg + strlen(msg);
			out = put_mask(out, start, in, "\"?\"");
		}
	}
	*out = '\0';
}

static bool
is_number(const char *s)
{
	char *end;
	double v;

	if (s[0] == '\0' || isspace((unsigned char)s[0]))
		return false;
	v = strtod(s, &end);
	return *end == '\0' && isfinite(v);
}

/* "no rows", "1 row", "12 rows", "1 row with no columns". */
static bool
is_row_count(const char *s)
{
	char *end;

	if (strcmp(s, "no rows") == 0)
		return true;
	(void)strtol(s, &end, 10);
	return end != s &&
	    (strcmp(end, " rows") == 0 || strcmp(end, " row") == 0 ||
		strcmp(end, " row with no columns") == 0);
}

/* Length of a leading "SSSSS: " or "error SSSSS: " (a SQLSTATE), or 0. */
static size_t
sqlstate_prefix(const char *s, char state[6])
{
	size_t off = strncmp(s, "error ", 6) == 0 ? 6 : 0;

	for (size_t i = 0; i < 5; i++)
		if (!isdigit((unsigned char)s[off + i]) &&
		    !isupper((unsigned char)s[off + i]))
			return 0;
	if (s[off + 5] != ':' || s[off + 6] != ' ')
		return 0;
	memcpy(state, s + off, 5);
	state[5] = '\0';
	return off + 7;
}

void
agent_redact_seen(const sk_check_result *res, char *out, size_t len)
{
	static const char *const words[] = { "t", "f", "true", "false", "NULL",
		"not evaluated", "succeeded" };
	const char *s = res->seen;
	char state[6];
	size_t pre;

	if (res->report_value || is_number(s) || is_row_count(s) ||
	    strncmp(s, "succeeded (", 11) == 0) {
		snprintf(out, len, "%s", s);
		return;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(s, words[i]) == 0) {
			snprintf(out, len, "%s", s);
			return;
		}
	pre = sqlstate_prefix(s, state);
	if (pre > 0) {
		snprintf(out, len, "%s", s);
		agent_redact_message(out + (pre < len ? pre : len - 1), state);
		return;
	}
	snprintf(out, len, "%s", AGENT_REDACTED);
}

/* Mask, in place, where a database is in libpq's connection errors
 * (`connection to server at "10.0.0.5", port 5432 failed`, `on socket
 * "/run/postgresql/.s.PGSQL.5432"`): every "..." and the port number. */
static void
redact_conn_message(char *msg)
{
	char *p;

	/* Quoted hosts and socket paths: as class 22 values are. */
	agent_redact_message(msg, "22");
	for (p = strstr(msg, "port "); p != NULL; p = strstr(p + 1, "port ")) {
		char *d = p + 5, *end = d;

		while (isdigit((unsigned char)*end))
			end++;
		if (end > d) {
			*d = '?';
			memmove(d + 1, end, strlen(end) + 1);
		}
	}
}

void
agent_redact_report(sk_report *r, const char *region)
{
	if (r->error.db_detail) {
		snprintf(r->error.detail, sizeof(r->error.detail),
		    "PostgreSQL's DETAIL is withheld from the control plane (it "
		    "may quote row values); skein.events in %s%s%s has it",
		    region != NULL ? region : "-", r->database[0] != '\0' ? "/" : "",
		    r->database[0] != '\0' ? r->database : "");
		r->error.db_detail = false;
	}
	agent_redact_message(r->error.msg, r->error.sqlstate);
	/* Host, port and user stay with the agent (they are the conninfo). */
	if (r->error.code == SK_ECONN)
		redact_conn_message(r->error.msg);
	if (r->has_check) {
		char seen[sizeof(r->check.seen)];

		agent_redact_seen(&r->check, seen, sizeof(seen));
		memcpy(r->check.seen, seen, sizeof(seen));
	}
}

/* sk_plan_build: a plan directory (plan.yaml plus SQL files) into an
 * sk_plan. Everything an operator can get wrong is caught here, before a
 * plan is signed, and reported at its line and column in plan.yaml, or
 * for SQL at its line in the SQL file; then the plan is linted. */
#include "sk_plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sk_lint.h"
#include "sk_sql.h"
#include "sk_util.h"
#include "sk_yaml.h"

#define SQL_MAX_BYTES (8 * 1024 * 1024)
#define DEFAULT_EXPIRY "72h"

static const char *const plan_keys[] = { "name", "expires", "defaults",
	"backup", "preflight", "phases", "steps", NULL };
static const char *const phase_keys[] = { "name", "regions", "residency", "pre",
	"post", NULL };
static const char *const step_keys[] = { "id", "sql", "revert", "verify",
	"transaction", "pre", "post", "lock_timeout", "statement_timeout",
	"lock_retries", "retry_backoff", "waive", NULL };
static const char *const limit_keys[] = { "lock_timeout", "statement_timeout",
	"lock_retries", "retry_backoff", NULL };
static const char *const check_keys[] = { "name", "sql", "file", "expect",
	"no_rows", "fails_with", NULL };
static const char *const waiver_keys[] = { "rule", "reason", NULL };
static const char *const preflight_keys[] = { "server_version", "roles",
	"extensions", "max_transaction_age", "max_connections", "requires", NULL };
static const char *const prereq_keys[] = { "plan", "step", NULL };

/* Condition names fails_with accepts, with their SQLSTATEs (PostgreSQL's
 * errcodes.txt). */
static const struct {
	const char *name;
	const char *code;
} conditions[] = {
	{ "check_violation", "23514" },
	{ "unique_violation", "23505" },
	{ "foreign_key_violation", "23503" },
	{ "not_null_violation", "23502" },
	{ "raise_exception", "P0001" },
	{ "insufficient_privilege", "42501" },
};

/* A step's effective limits while they are being resolved. */
typedef struct limits {
	int64_t lock_timeout_ms;
	int64_t statement_timeout_ms;
	int64_t lock_retries;
	int64_t retry_backoff_ms;
} limits;

static int
oom(sk_err *err, const char *path)
{
	return sk_err_set(err, SK_ENOMEM, "build plan %s: out of memory", path);
}

/* Offset of the first byte that is not part of well-formed UTF-8
 * (no overlongs, surrogates or code points past U+10FFFF), or len. */
static size_t
utf8_invalid_at(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return i;
		}
		if (len - i <= n)
			return i;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return i;
		i += n + 1;
	}
	return len;
}

/* Read the SQL file rel (relative to plan.yaml) named by node. Errors
 * carry both the file's path and the line:col of the reference. */
static int
read_sql(const char *yaml_path, const sk_yaml_node *node, const char *rel,
    char **out, sk_err *err)
{
	char *path, *text = NULL;
	size_t len = 0, bad;
	struct stat st;
	int rc;

	path = sk_path_relative_to(yaml_path, rel);
	if (path == NULL)
		return oom(err, yaml_path);
	/* stat before open: opening a FIFO someone left there would block. */
	if (stat(path, &st) != 0) {
		int e = errno;

		rc = sk_yaml_error(err, SK_EIO, node, "read SQL file %s: %s",
		    path, strerror(e));
		err->cause = e;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = sk_yaml_error(err, SK_EINVAL, node,
		    "read SQL file %s: not a regular file", path);
		goto out;
	}
	if (st.st_size > SQL_MAX_BYTES) {
		rc = sk_yaml_error(err, SK_EINVAL, node,
		    "read SQL file %s: %lld bytes is more than the %d byte limit",
		    path, (long long)st.st_size, SQL_MAX_BYTES);
		goto out;
	}
	rc = sk_file_read(path, SQL_MAX_BYTES, &text, &len, err);
	if (rc != SK_OK) {
		sk_err_wrap(err, "%s:%d:%d: %s", node->file, node->line,
		    node->col, node->path);
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		rc = sk_yaml_error(err, SK_EINVAL, node,
		    "SQL file %s holds a NUL byte at offset %zu", path,
		    (size_t)((char *)memchr(text, '\0', len) - text));
		goto out;
	}
	bad = utf8_invalid_at((const unsigned char *)text, len);
	if (bad != len) {
		rc = sk_yaml_error(err, SK_EINVAL, node,
		    "SQL file %s is not valid UTF-8 (byte offset %zu)", path, bad);
		goto out;
	}
	if (strspn(text, " \t\r\n\f\v") == len) {
		rc = sk_yaml_error(err, SK_EINVAL, node, "SQL file %s is empty", path);
		goto out;
	}
	*out = text;
	text = NULL;
out:
	free(text);
	free(path);
	return rc;
}

/* Parse sql, named name in messages, as PostgreSQL would. A syntax error
 * reads "NAME:LINE: syntax error at or near ..."; SQL of comments only
 * is refused too. When out is not NULL it receives the script. */
static int
parse_sql(const char *name, const char *sql, sk_sql_script **out, sk_err *err)
{
	sk_sql_script *sc = NULL;
	int rc;

	rc = sk_sql_parse(sql, name, &sc, err);
	if (rc == SK_OK && sc->nstmts == 0)
		rc = sk_err_set(err, SK_EINVAL,
		    "%s: no SQL statement in it, only comments", name);
	if (rc == SK_OK && out != NULL) {
		*out = sc;
		sc = NULL;
	}
	sk_sql_script_destroy(sc);
	return rc;
}

/* parse_sql on the file rel of plan.yaml, named as the operator would
 * open it: relative to the current directory, like plan.yaml itself. */
static int
parse_sql_file(const char *yaml_path, const char *rel, const char *sql,
    sk_sql_script **out, sk_err *err)
{
	char *path = sk_path_relative_to(yaml_path, rel);
	int rc;

	if (path == NULL)
		return oom(err, yaml_path);
	rc = parse_sql(path, sql, out, err);
	free(path);
	return rc;
}

/* An optional SQL reference: leaves both outputs NULL when absent. */
static int
step_script(const char *yaml_path, const sk_yaml_node *item, const char *key,
    int flags, char **rel, char **sql, sk_err *err)
{
	int rc;

	rc = sk_yaml_string(item, key, flags | SK_YAML_NONEMPTY, rel, err);
	if (rc != SK_OK || *rel == NULL)
		return rc;
	rc = read_sql(yaml_path, sk_yaml_get(item, key), *rel, sql, err);
	if (rc == SK_OK)
		rc = parse_sql_file(yaml_path, *rel, *sql, NULL, err);
	return rc;
}

static bool
present(const sk_yaml_node *map, const char *key)
{
	const sk_yaml_node *v = sk_yaml_get(map, key);

	return v != NULL && !sk_yaml_is_null(v);
}

/* True for a duration of zero written with or without a unit: "0",
 * "0s", "0ms", "0.0m". sk_duration_parse refuses zero on purpose. */
static bool
zero_duration(const char *t)
{
	static const char *const units[] = { "", "ms", "s", "m", "h", "d" };
	size_t n = strspn(t, "0");

	if (n == 0)
		return false;
	t += n;
	if (*t == '.') {
		t++;
		n = strspn(t, "0");
		if (n == 0)
			return false;
		t += n;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(t, units[i]) == 0)
			return true;
	return false;
}

/* map[key] as a duration in ms. Absent or null gives dflt; zero is
 * accepted (as 0) only when zero_ok. */
static int
yaml_duration(const sk_yaml_node *map, const char *key, bool zero_ok,
    int64_t dflt, int64_t *out, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(map, key);
	char *text = NULL;
	int rc;

	if (node == NULL || sk_yaml_is_null(node)) {
		*out = dflt;
		return SK_OK;
	}
	rc = sk_yaml_node_string(node, SK_YAML_NONEMPTY,
	    zero_ok ? "a duration such as 3s, 30m or 0 for no limit" :
		      "a duration such as 500ms, 1s or 5m",
	    &text, err);
	if (rc != SK_OK)
		return rc;
	if (zero_duration(text)) {
		rc = zero_ok ?
		    SK_OK :
		    sk_yaml_error(err, SK_EINVAL, node,
			"expected a duration greater than zero, got \"%s\"", text);
		*out = 0;
	} else {
		rc = sk_duration_parse(text, out, err);
		if (rc != SK_OK)
			sk_err_wrap(err, "%s:%d:%d: %s", node->file, node->line,
			    node->col, node->path);
	}
	free(text);
	return rc;
}

/* map's limit keys over base into *out. */
static int
load_limits(const sk_yaml_node *map, const limits *base, limits *out, sk_err *err)
{
	int rc;

	rc = yaml_duration(map, "lock_timeout", true, base->lock_timeout_ms,
	    &out->lock_timeout_ms, err);
	if (rc == SK_OK)
		rc = yaml_duration(map, "statement_timeout", true,
		    base->statement_timeout_ms, &out->statement_timeout_ms, err);
	if (rc == SK_OK)
		rc = sk_yaml_int(map, "lock_retries", base->lock_retries, 0,
		    SK_LOCK_RETRIES_MAX, &out->lock_retries, err);
	if (rc == SK_OK)
		rc = yaml_duration(map, "retry_backoff", false,
		    base->retry_backoff_ms, &out->retry_backoff_ms, err);
	return rc;
}

static int
load_defaults(const sk_yaml_node *root, limits *out, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(root, "defaults");
	const limits builtin = {
		.lock_timeout_ms = SK_DEFAULT_LOCK_TIMEOUT_MS,
		.statement_timeout_ms = SK_DEFAULT_STATEMENT_TIMEOUT_MS,
		.lock_retries = SK_DEFAULT_LOCK_RETRIES,
		.retry_backoff_ms = SK_DEFAULT_RETRY_BACKOFF_MS,
	};
	int rc;

	*out = builtin;
	if (node == NULL || sk_yaml_is_null(node))
		return SK_OK;
	rc = sk_yaml_expect(node, SK_YAML_MAPPING,
	    "a mapping of lock_timeout, statement_timeout, lock_retries and "
	    "retry_backoff",
	    err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(node, limit_keys, err);
	if (rc == SK_OK)
		rc = load_limits(node, &builtin, out, err);
	return rc;
}

/* Parse an expect: scalar into c->op and c->value: an optional leading
 * operator (>=, <=, !=, <>, =, <, >; none means =), spaces, a value. */
static int
parse_expect(const sk_yaml_node *node, sk_check *c, sk_err *err)
{
	static const char *const ops[] = { ">=", "<=", "!=", "<>", "=", "<", ">" };
	const char *op = "=", *v;
	char *text = NULL;
	size_t len;
	int rc;

	rc = sk_yaml_node_string(node, 0,
	    "a value to compare with, such as 0, true or \">= 1\"", &text, err);
	if (rc != SK_OK)
		return rc;
	v = text + strspn(text, " \t");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strncmp(v, ops[i], strlen(ops[i])) == 0) {
			op = strcmp(ops[i], "<>") == 0 ? "!=" : ops[i];
			v += strlen(ops[i]);
			break;
		}
	v += strspn(v, " \t");
	len = strlen(v);
	while (len > 0 && strchr(" \t", v[len - 1]) != NULL)
		len--;
	if (len == 0) {
		rc = sk_yaml_error(err, SK_EINVAL, node,
		    "expect \"%s\" has no value to compare with (write e.g. "
		    "\"0\" or \">= 1\")",
		    text);
		free(text);
		return rc;
	}
	c->op = sk_strdup(op);
	c->value = malloc(len + 1);
	if (c->value != NULL) {
		memcpy(c->value, v, len);
		c->value[len] = '\0';
	}
	free(text);
	if (c->op == NULL || c->value == NULL)
		return oom(err, node->file);
	return SK_OK;
}

/* A fails_with: scalar: a SQLSTATE or one of the known condition names. */
static int
parse_fails_with(const sk_yaml_node *node, sk_check *c, sk_err *err)
{
	char *text = NULL;
	int rc;

	rc = sk_yaml_node_string(node, SK_YAML_NONEMPTY,
	    "a SQLSTATE such as 23514 or a condition name", &text, err);
	if (rc != SK_OK)
		return rc;
	for (size_t i = 0; i < sizeof(conditions) / sizeof(conditions[0]); i++)
		if (strcmp(text, conditions[i].name) == 0) {
			free(text);
			c->sqlstate = sk_strdup(conditions[i].code);
			return c->sqlstate == NULL ? oom(err, node->file) : SK_OK;
		}
	if (strlen(text) == 5 &&
	    strspn(text, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 5) {
		c->sqlstate = text;
		return SK_OK;
	}
	rc = sk_yaml_error(err, SK_EINVAL, node,
	    "fails_with \"%.64s\" is not a SQLSTATE (five characters of 0-9 A-Z, "
	    "e.g. 23514) or one of check_violation, unique_violation, "
	    "foreign_key_violation, not_null_violation, raise_exception, "
	    "insufficient_privilege",
	    text);
	free(text);
	return rc;
}

/* The expectation keys of a check item: exactly one of them. */
static int
load_expectation(const sk_yaml_node *item, sk_check *c, sk_err *err)
{
	static const char *const keys[] = { "expect", "no_rows", "fails_with" };
	const char *first = NULL;
	bool yes = false;
	int rc;

	for (size_t k = 0; k < 3; k++) {
		if (!present(item, keys[k]))
			continue;
		if (first != NULL)
			return sk_yaml_error(err, SK_EINVAL,
			    sk_yaml_get(item, keys[k]),
			    "check %s has both %s and %s: give exactly one "
			    "expectation",
			    c->name, first, keys[k]);
		first = keys[k];
	}
	if (first == NULL)
		return sk_yaml_error(err, SK_EINVAL, item,
		    "check %s has no expectation: give one of expect, no_rows: "
		    "true or fails_with",
		    c->name);
	if (strcmp(first, "expect") == 0) {
		c->expect = SK_EXPECT_COMPARE;
		return parse_expect(sk_yaml_get(item, "expect"), c, err);
	}
	if (strcmp(first, "fails_with") == 0) {
		c->expect = SK_EXPECT_FAILS;
		return parse_fails_with(sk_yaml_get(item, "fails_with"), c, err);
	}
	c->expect = SK_EXPECT_NO_ROWS;
	rc = sk_yaml_bool(item, "no_rows", false, &yes, err);
	if (rc == SK_OK && !yes)
		rc = sk_yaml_error(err, SK_EINVAL, sk_yaml_get(item, "no_rows"),
		    "no_rows can only be true; to expect rows use expect");
	return rc;
}

/* One check mapping; its name is already in c. */
static int
load_check(const char *yaml_path, const sk_yaml_node *item, sk_check *c, sk_err *err)
{
	bool has_sql = present(item, "sql"), has_file = present(item, "file");
	int rc;

	if (has_sql && has_file)
		return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(item, "file"),
		    "check %s has both sql and file: give one", c->name);
	if (!has_sql && !has_file)
		return sk_yaml_error(err, SK_EINVAL, item,
		    "check %s needs sql (inline SQL) or file (a SQL file)", c->name);
	if (has_sql) {
		const sk_yaml_node *node = sk_yaml_get(item, "sql");

		rc = sk_yaml_string(item, "sql", SK_YAML_NONEMPTY, &c->sql, err);
		if (rc != SK_OK)
			return rc;
		if (strspn(c->sql, " \t\r\n\f\v") == strlen(c->sql))
			return sk_yaml_error(err, SK_EINVAL, node,
			    "check %s has empty SQL", c->name);
		rc = parse_sql("SQL", c->sql, NULL, err);
		if (rc != SK_OK)
			return sk_err_wrap(err, "%s:%d:%d: check %s",
			    node->file, node->line, node->col, c->name);
	} else {
		rc = step_script(yaml_path, item, "file", 0, &c->path, &c->sql, err);
		if (rc != SK_OK)
			return rc;
	}
	return load_expectation(item, c, err);
}

/* map[key] as a list of checks into *out / *n (NULL / 0 when absent). */
static int
load_checks(const char *yaml_path, const sk_yaml_node *map, const char *key,
    sk_check **out, size_t *n, sk_err *err)
{
	const sk_yaml_node *list = sk_yaml_get(map, key);
	int rc;

	if (list == NULL || sk_yaml_is_null(list))
		return SK_OK;
	rc = sk_yaml_expect(list, SK_YAML_SEQUENCE, "a list of checks", err);
	if (rc != SK_OK || list->nitems == 0)
		return rc;
	*out = calloc(list->nitems, sizeof(**out));
	if (*out == NULL)
		return oom(err, yaml_path);
	for (size_t i = 0; i < list->nitems; i++) {
		const sk_yaml_node *item = list->items[i];
		sk_check *c = &(*out)[i];

		rc = sk_yaml_expect(item, SK_YAML_MAPPING,
		    "a check mapping with name, sql or file, and expect, no_rows "
		    "or fails_with",
		    err);
		if (rc == SK_OK)
			rc = sk_yaml_check_keys(item, check_keys, err);
		if (rc != SK_OK)
			return rc;
		*n = i + 1;
		rc = sk_yaml_name(item, "name", "check", &c->name, err);
		if (rc != SK_OK)
			return rc;
		for (size_t j = 0; j < i; j++) {
			const sk_yaml_node *first;

			if (strcmp((*out)[j].name, c->name) != 0)
				continue;
			first = sk_yaml_get(list->items[j], "name");
			return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(item, "name"),
			    "duplicate check name \"%s\" (first at line %d, column %d)",
			    c->name, first->line, first->col);
		}
		rc = load_check(yaml_path, item, c, err);
		if (rc != SK_OK)
			return rc;
	}
	return SK_OK;
}

static bool
blank(const char *s)
{
	return strspn(s, " \t\r\n\f\v") == strlen(s);
}

static int
load_waivers(const sk_yaml_node *map, sk_step *st, sk_err *err)
{
	const sk_yaml_node *list = sk_yaml_get(map, "waive");
	int rc;

	if (list == NULL || sk_yaml_is_null(list))
		return SK_OK;
	rc = sk_yaml_expect(
	    list, SK_YAML_SEQUENCE, "a list of waivers (rule and reason)", err);
	if (rc != SK_OK || list->nitems == 0)
		return rc;
	st->waivers = calloc(list->nitems, sizeof(*st->waivers));
	if (st->waivers == NULL)
		return oom(err, list->file);
	for (size_t i = 0; i < list->nitems; i++) {
		const sk_yaml_node *item = list->items[i];
		sk_waiver *w = &st->waivers[i];

		rc = sk_yaml_expect(item, SK_YAML_MAPPING,
		    "a waiver mapping with rule and reason", err);
		if (rc == SK_OK)
			rc = sk_yaml_check_keys(item, waiver_keys, err);
		if (rc != SK_OK)
			return rc;
		st->nwaivers = i + 1;
		rc = sk_yaml_string(item, "rule",
		    SK_YAML_REQUIRED | SK_YAML_NONEMPTY, &w->rule, err);
		if (rc != SK_OK)
			return rc;
		if (strspn(w->rule, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
		    strlen(w->rule))
			return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(item, "rule"),
			    "\"%.64s\" is not a lint rule id (a-z 0-9 -, e.g. "
			    "drop-column)",
			    w->rule);
		if (sk_lint_rule_find(w->rule) == NULL)
			return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(item, "rule"),
			    "unknown lint rule \"%s\" (skein plan lint --rules "
			    "lists them)",
			    w->rule);
		for (size_t j = 0; j < i; j++)
			if (strcmp(st->waivers[j].rule, w->rule) == 0)
				return sk_yaml_error(err, SK_EINVAL,
				    sk_yaml_get(item, "rule"),
				    "rule %s is waived twice in step %s",
				    w->rule, st->id);
		if (!present(item, "reason"))
			return sk_yaml_error(err, SK_EINVAL, item,
			    "waiver of rule %s needs a reason: say why the step is "
			    "safe anyway",
			    w->rule);
		rc = sk_yaml_string(item, "reason", SK_YAML_NONEMPTY, &w->reason, err);
		if (rc != SK_OK)
			return rc;
		if (blank(w->reason))
			return sk_yaml_error(err, SK_EINVAL,
			    sk_yaml_get(item, "reason"),
			    "waiver of rule %s has an empty reason", w->rule);
	}
	return SK_OK;
}

/* What plan build learns from a step's parsed SQL: the indexes it builds
 * concurrently (for the agent's INVALID-index check) and its checksums. */
static int
step_sql(const char *yaml_path, sk_step *st, sk_err *err)
{
	sk_sql_script *sc = NULL;
	int rc;

	rc = parse_sql_file(yaml_path, st->sql_path, st->sql, &sc, err);
	if (rc == SK_OK)
		rc = sk_sql_concurrent_indexes(
		    sc, &st->concurrent_indexes, &st->nconcurrent_indexes, err);
	sk_sql_script_destroy(sc);
	if (rc == SK_OK)
		rc = sk_step_checksum(st, st->checksum, err);
	if (rc == SK_OK)
		sk_step_text_checksum(st, st->text_checksum);
	return rc;
}

static int
load_steps(const char *yaml_path, const sk_yaml_node *root, const limits *dflt,
    sk_plan *plan, sk_err *err)
{
	const sk_yaml_node *list = sk_yaml_get(root, "steps");
	int rc;

	if (list == NULL)
		return sk_yaml_error(
		    err, SK_EINVAL, root, "missing required key \"steps\"");
	rc = sk_yaml_expect(list, SK_YAML_SEQUENCE, "a list of steps", err);
	if (rc != SK_OK)
		return rc;
	if (list->nitems == 0)
		return sk_yaml_error(err, SK_EINVAL, list,
		    "expected a list of steps, got an empty list");
	plan->steps = calloc(list->nitems, sizeof(*plan->steps));
	if (plan->steps == NULL)
		return oom(err, yaml_path);
	for (size_t i = 0; i < list->nitems; i++) {
		const sk_yaml_node *item = list->items[i];
		sk_step *st = &plan->steps[i];
		bool tx = true;
		limits lim;

		rc = sk_yaml_expect(item, SK_YAML_MAPPING,
		    "a step mapping with id and sql", err);
		if (rc == SK_OK)
			rc = sk_yaml_check_keys(item, step_keys, err);
		if (rc != SK_OK)
			return rc;
		plan->nsteps = i + 1;
		st->kind = SK_STEP_SQL;
		rc = sk_yaml_name(item, "id", "step", &st->id, err);
		if (rc != SK_OK)
			return rc;
		for (size_t j = 0; j < i; j++) {
			const sk_yaml_node *first;

			if (strcmp(plan->steps[j].id, st->id) != 0)
				continue;
			first = sk_yaml_get(list->items[j], "id");
			return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(item, "id"),
			    "duplicate step id \"%s\" (first at line %d, column %d)",
			    st->id, first->line, first->col);
		}
		rc = step_script(yaml_path, item, "sql", SK_YAML_REQUIRED,
		    &st->sql_path, &st->sql, err);
		if (rc == SK_OK)
			rc = step_script(yaml_path, item, "revert", 0,
			    &st->revert_path, &st->revert, err);
		if (rc == SK_OK)
			rc = step_script(yaml_path, item, "verify", 0,
			    &st->verify_path, &st->verify, err);
		if (rc == SK_OK)
			rc = sk_yaml_bool(item, "transaction", true, &tx, err);
		if (rc != SK_OK)
			return rc;
		st->no_transaction = !tx;
		rc = load_limits(item, dflt, &lim, err);
		if (rc == SK_OK)
			rc = load_checks(
			    yaml_path, item, "pre", &st->pre, &st->npre, err);
		if (rc == SK_OK)
			rc = load_checks(yaml_path, item, "post", &st->post,
			    &st->npost, err);
		if (rc == SK_OK)
			rc = load_waivers(item, st, err);
		if (rc != SK_OK)
			return rc;
		st->lock_timeout_ms = lim.lock_timeout_ms;
		st->statement_timeout_ms = lim.statement_timeout_ms;
		st->lock_retries = (uint32_t)lim.lock_retries;
		st->retry_backoff_ms = lim.retry_backoff_ms;
		rc = step_sql(yaml_path, st, err);
		if (rc != SK_OK)
			return rc;
	}
	return SK_OK;
}

static bool
has_name(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Append a copy of name to the phase unless it is there already: a region
 * both named and selected by residency is listed once. */
static int
phase_add(sk_phase *ph, const char *name)
{
	if (has_name(ph->regions, ph->nregions, name))
		return SK_OK;
	ph->regions[ph->nregions] = sk_strdup(name);
	if (ph->regions[ph->nregions] == NULL)
		return SK_ENOMEM;
	ph->nregions++;
	return SK_OK;
}

static int
phase_by_name(const sk_yaml_node *item, const sk_inventory *inv, sk_phase *ph,
    sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(item, "regions");
	char **names = NULL;
	size_t n = 0;
	int rc;

	rc = sk_yaml_string_list(item, "regions", 0, "region names", &names, &n, err);
	if (rc != SK_OK)
		return rc;
	for (size_t k = 0; k < n && rc == SK_OK; k++) {
		if (!sk_name_valid(names[k]))
			rc = sk_yaml_error(err, SK_EINVAL, node->items[k],
			    "\"%.80s\" is not a valid region name", names[k]);
		else if (inv != NULL && sk_inventory_find(inv, names[k]) == NULL)
			rc = sk_yaml_error(err, SK_EINVAL, node->items[k],
			    "phase %s names region \"%s\", which is not in the "
			    "inventory %s",
			    ph->name, names[k], inv->dir ? inv->dir : "");
		else if (phase_add(ph, names[k]) != SK_OK)
			rc = oom(err, item->file);
	}
	sk_yaml_strings_free(names, n);
	return rc;
}

static int
phase_by_residency(const sk_yaml_node *item, const sk_inventory *inv,
    sk_phase *ph, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(item, "residency");
	int rc;

	rc = sk_yaml_string_list(item, "residency", 0, "residencies",
	    &ph->residency, &ph->nresidency, err);
	if (rc != SK_OK || node == NULL || sk_yaml_is_null(node))
		return rc;
	if (inv == NULL)
		return sk_yaml_error(err, SK_EINVAL, node,
		    "phase %s selects by residency: pass --regions DIR so the plan "
		    "names its regions",
		    ph->name);
	for (size_t k = 0; k < ph->nresidency; k++) {
		size_t matched = 0;

		for (size_t r = 0; r < inv->nregions; r++) {
			if (strcmp(inv->regions[r].residency, ph->residency[k]) != 0)
				continue;
			matched++;
			if (phase_add(ph, inv->regions[r].name) != SK_OK)
				return oom(err, item->file);
		}
		if (matched == 0)
			return sk_yaml_error(err, SK_EINVAL, node->items[k],
			    "residency \"%s\" matches no region in the inventory %s",
			    ph->residency[k], inv->dir ? inv->dir : "");
	}
	return SK_OK;
}

static int
load_phase(const sk_yaml_node *item, const sk_inventory *inv, sk_plan *plan,
    size_t i, sk_err *err)
{
	sk_phase *ph = &plan->phases[i];
	size_t cap;
	int rc;

	rc = sk_yaml_name(item, "name", "phase", &ph->name, err);
	if (rc != SK_OK)
		return rc;
	for (size_t j = 0; j < i; j++)
		if (strcmp(plan->phases[j].name, ph->name) == 0)
			return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(item, "name"),
			    "duplicate phase name \"%s\"", ph->name);
	if (!present(item, "regions") && !present(item, "residency"))
		return sk_yaml_error(err, SK_EINVAL, item,
		    "phase %s needs regions, residency or both", ph->name);
	/* Room for every region the phase could name or match. */
	cap = 1 + (inv ? inv->nregions : 0);
	if (sk_yaml_get(item, "regions") != NULL)
		cap += sk_yaml_get(item, "regions")->nitems;
	ph->regions = calloc(cap, sizeof(*ph->regions));
	if (ph->regions == NULL)
		return oom(err, item->file);
	rc = phase_by_name(item, inv, ph, err);
	if (rc == SK_OK)
		rc = phase_by_residency(item, inv, ph, err);
	if (rc != SK_OK)
		return rc;
	if (ph->nregions == 0)
		return sk_yaml_error(err, SK_EINVAL, item,
		    "phase %s selects no regions", ph->name);
	rc = load_checks(item->file, item, "pre", &ph->pre, &ph->npre, err);
	if (rc == SK_OK)
		rc = load_checks(item->file, item, "post", &ph->post, &ph->npost, err);
	if (rc != SK_OK)
		return rc;
	for (size_t k = 0; k < ph->nregions; k++)
		for (size_t j = 0; j < i; j++)
			if (has_name(plan->phases[j].regions,
				plan->phases[j].nregions, ph->regions[k]))
				return sk_yaml_error(err, SK_EINVAL, item,
				    "region %s is in phase %s and in phase %s: a region "
				    "belongs to one phase only",
				    ph->regions[k], plan->phases[j].name, ph->name);
	return SK_OK;
}

static int
load_phases(const char *yaml_path, const sk_yaml_node *root,
    const sk_inventory *inv, sk_plan *plan, sk_err *err)
{
	const sk_yaml_node *list = sk_yaml_get(root, "phases");
	size_t total = 0;
	int rc;

	if (list == NULL)
		return sk_yaml_error(
		    err, SK_EINVAL, root, "missing required key \"phases\"");
	rc = sk_yaml_expect(list, SK_YAML_SEQUENCE, "a list of phases", err);
	if (rc != SK_OK)
		return rc;
	if (list->nitems == 0)
		return sk_yaml_error(err, SK_EINVAL, list,
		    "expected a list of phases, got an empty list");
	plan->phases = calloc(list->nitems, sizeof(*plan->phases));
	if (plan->phases == NULL)
		return oom(err, yaml_path);
	for (size_t i = 0; i < list->nitems; i++) {
		const sk_yaml_node *item = list->items[i];

		rc = sk_yaml_expect(item, SK_YAML_MAPPING,
		    "a phase mapping with name and regions or residency", err);
		if (rc == SK_OK)
			rc = sk_yaml_check_keys(item, phase_keys, err);
		if (rc != SK_OK)
			return rc;
		plan->nphases = i + 1;
		rc = load_phase(item, inv, plan, i, err);
		if (rc != SK_OK)
			return rc;
		total += plan->phases[i].nregions;
	}
	/* Phases are disjoint, so the union is their concatenation. */
	plan->regions = calloc(total, sizeof(*plan->regions));
	if (plan->regions == NULL)
		return oom(err, yaml_path);
	for (size_t i = 0; i < plan->nphases; i++)
		for (size_t k = 0; k < plan->phases[i].nregions; k++) {
			plan->regions[plan->nregions] =
			    sk_strdup(plan->phases[i].regions[k]);
			if (plan->regions[plan->nregions] == NULL)
				return oom(err, yaml_path);
			plan->nregions++;
		}
	return SK_OK;
}

/* "15" -> 150000, "15.2" -> 150002, "9.6" -> 90600, "9.6.3" -> 90603:
 * PostgreSQL's server_version_num. */
static bool
parse_server_version(const char *t, uint32_t *out)
{
	unsigned long part[3] = { 0, 0, 0 };
	int nparts = 0;

	while (nparts < 3) {
		size_t n = strspn(t, "0123456789");

		if (n == 0 || n > 4)
			return false;
		part[nparts++] = strtoul(t, NULL, 10);
		t += n;
		if (*t == '\0')
			break;
		if (*t != '.')
			return false;
		t++;
	}
	if (*t != '\0' || part[0] == 0)
		return false;
	if (part[0] >= 10) {
		/* Since 10 the second number is the minor release. */
		if (nparts > 2 || part[0] > 99 || part[1] > 9999)
			return false;
		*out = (uint32_t)(part[0] * 10000 + part[1]);
	} else {
		if (part[1] > 99 || part[2] > 99)
			return false;
		*out = (uint32_t)(part[0] * 10000 + part[1] * 100 + part[2]);
	}
	return true;
}

/* "80%" or 0.8 -> 0.8; must be in (0, 1]. */
static bool
parse_share(const char *t, double *out)
{
	size_t n = strspn(t, "0123456789"), len = strlen(t);
	bool pct = len > 0 && t[len - 1] == '%';
	const char *p = t + n;
	double v;

	if (n == 0)
		return false;
	if (*p == '.') {
		size_t f = strspn(p + 1, "0123456789");

		if (f == 0)
			return false;
		p += 1 + f;
	}
	if (pct ? (p != t + len - 1) : (*p != '\0'))
		return false;
	v = strtod(t, NULL);
	if (pct)
		v /= 100;
	if (!(v > 0 && v <= 1))
		return false;
	*out = v;
	return true;
}

static int
load_prereqs(const sk_yaml_node *pfnode, sk_preflight *pf, sk_err *err)
{
	const sk_yaml_node *list = sk_yaml_get(pfnode, "requires");
	int rc;

	if (list == NULL || sk_yaml_is_null(list))
		return SK_OK;
	rc = sk_yaml_expect(list, SK_YAML_SEQUENCE,
	    "a list of prerequisites (plan and optional step)", err);
	if (rc != SK_OK || list->nitems == 0)
		return rc;
	pf->requires = calloc(list->nitems, sizeof(*pf->requires));
	if (pf->requires == NULL)
		return oom(err, list->file);
	for (size_t i = 0; i < list->nitems; i++) {
		const sk_yaml_node *item = list->items[i];
		sk_prereq *r = &pf->requires[i];

		rc = sk_yaml_expect(item, SK_YAML_MAPPING,
		    "a prerequisite mapping with plan and optional step", err);
		if (rc == SK_OK)
			rc = sk_yaml_check_keys(item, prereq_keys, err);
		if (rc != SK_OK)
			return rc;
		pf->nrequires = i + 1;
		rc = sk_yaml_name(item, "plan", "plan", &r->plan, err);
		if (rc == SK_OK && present(item, "step"))
			rc = sk_yaml_name(item, "step", "step", &r->step, err);
		if (rc != SK_OK)
			return rc;
	}
	return SK_OK;
}

/* The strings of map[key], each non-blank. */
static int
load_names(const sk_yaml_node *map, const char *key, const char *what,
    char ***out, size_t *n, sk_err *err)
{
	int rc = sk_yaml_string_list(map, key, 0, what, out, n, err);

	if (rc != SK_OK)
		return rc;
	for (size_t i = 0; i < *n; i++)
		if (blank((*out)[i]))
			return sk_yaml_error(err, SK_EINVAL,
			    sk_yaml_get(map, key)->items[i],
			    "expected one of %s, got "
			    "an empty string",
			    what);
	return SK_OK;
}

static int
load_preflight(const sk_yaml_node *root, sk_preflight *pf, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(root, "preflight"), *v;
	char *text = NULL;
	int rc;

	if (node == NULL || sk_yaml_is_null(node))
		return SK_OK;
	rc = sk_yaml_expect(
	    node, SK_YAML_MAPPING, "a mapping of preflight checks", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(node, preflight_keys, err);
	if (rc != SK_OK)
		return rc;
	v = sk_yaml_get(node, "server_version");
	if (v != NULL && !sk_yaml_is_null(v)) {
		rc = sk_yaml_node_string(v, SK_YAML_NONEMPTY,
		    "a PostgreSQL version such as \"15\"", &text, err);
		if (rc != SK_OK)
			return rc;
		if (!parse_server_version(text, &pf->min_server_version)) {
			rc = sk_yaml_error(err, SK_EINVAL, v,
			    "expected a PostgreSQL version such as \"15\", \"15.2\" or "
			    "\"9.6\", got \"%.32s\"",
			    text);
			free(text);
			return rc;
		}
		free(text);
		text = NULL;
	}
	rc = load_names(node, "roles", "role names", &pf->roles, &pf->nroles, err);
	if (rc == SK_OK)
		rc = load_names(node, "extensions", "extension names",
		    &pf->extensions, &pf->nextensions, err);
	if (rc == SK_OK)
		rc = yaml_duration(node, "max_transaction_age", false, 0,
		    &pf->max_transaction_age_ms, err);
	if (rc != SK_OK)
		return rc;
	v = sk_yaml_get(node, "max_connections");
	if (v != NULL && !sk_yaml_is_null(v)) {
		rc = sk_yaml_node_string(v, SK_YAML_NONEMPTY,
		    "a share of max_connections such as 80% or 0.8", &text, err);
		if (rc != SK_OK)
			return rc;
		if (!parse_share(text, &pf->max_connections_share)) {
			rc = sk_yaml_error(err, SK_EINVAL, v,
			    "expected a share of max_connections above 0 and at most "
			    "100%% (e.g. 80%% or 0.8), got \"%.32s\"",
			    text);
			free(text);
			return rc;
		}
		free(text);
	}
	return load_prereqs(node, pf, err);
}

static int
load_plan(const char *yaml_path, const sk_yaml_node *root,
    const sk_inventory *inv, int64_t now_unix, sk_plan *plan, sk_err *err)
{
	char id[sizeof("p-") + 12];
	char *expires = NULL;
	int64_t ms = 0;
	limits dflt;
	int rc;

	rc = sk_yaml_expect(root, SK_YAML_MAPPING,
	    "a plan mapping with name, phases and steps", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(root, plan_keys, err);
	if (rc == SK_OK)
		rc = sk_yaml_name(root, "name", "plan", &plan->name, err);
	if (rc == SK_OK)
		rc = sk_yaml_string(root, "expires", SK_YAML_NONEMPTY, &expires, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_duration_parse(expires ? expires : DEFAULT_EXPIRY, &ms, err);
	free(expires);
	if (rc != SK_OK) {
		const sk_yaml_node *node = sk_yaml_get(root, "expires");

		if (node == NULL)
			return rc;
		return sk_err_wrap(err, "%s:%d:%d: expires", node->file,
		    node->line, node->col);
	}
	rc = load_defaults(root, &dflt, err);
	if (rc == SK_OK)
		rc = sk_yaml_bool(root, "backup", false, &plan->backup, err);
	if (rc == SK_OK)
		rc = load_preflight(root, &plan->preflight, err);
	if (rc == SK_OK)
		rc = load_phases(yaml_path, root, inv, plan, err);
	if (rc == SK_OK)
		rc = load_steps(yaml_path, root, &dflt, plan, err);
	if (rc != SK_OK)
		return rc;
	sk_random_id("p-", id, sizeof(id));
	plan->id = sk_strdup(id);
	if (plan->id == NULL)
		return oom(err, yaml_path);
	plan->created_unix = now_unix;
	/* Round up: a plan never expires before the duration it was given. */
	plan->expires_unix = now_unix + (ms + 999) / 1000;
	return SK_OK;
}

/* Lint plan; an unwaived error fails with SK_ELINT naming the first
 * ones. The findings go to *findings when it is not NULL. */
static int
lint(const char *dir, const sk_plan *plan, sk_lint_finding **findings,
    size_t *nfindings, sk_err *err)
{
	sk_lint_finding *f = NULL;
	size_t n = 0, blocking, shown = 0, len;
	int rc;

	rc = sk_lint_plan(plan, &f, &n, err);
	if (rc != SK_OK)
		return rc;
	blocking = sk_lint_blocking(f, n);
	if (blocking > 0 && err == NULL) {
		rc = SK_ELINT;
	} else if (blocking > 0) {
		rc = sk_err_set(err, SK_ELINT,
		    "build plan %s: %zu lint %s not waived:", dir, blocking,
		    blocking == 1 ? "error" : "errors");
		for (size_t i = 0; i < n && shown < 3; i++) {
			if (f[i].rule->severity != SK_LINT_ERROR || f[i].waived)
				continue;
			len = strlen(err->msg);
			snprintf(err->msg + len, sizeof(err->msg) - len,
			    "%s %s (%s/%s:%d)", shown ? "," : "", f[i].rule->id,
			    dir, f[i].file, f[i].line);
			shown++;
		}
		snprintf(err->hint, sizeof(err->hint),
		    "follow each finding's fix, or waive the rule on its step in "
		    "plan.yaml (waive: - rule: ID, reason: why it is safe); "
		    "skein plan lint %s shows them all",
		    dir);
	}
	if (findings != NULL) {
		*findings = f;
		*nfindings = n;
	} else {
		sk_lint_findings_free(f, n);
	}
	return rc;
}

int
sk_plan_build(const char *dir, const sk_inventory *inv, int64_t now_unix,
    sk_plan **out, sk_err *err)
{
	return sk_plan_build_lint(dir, inv, now_unix, out, NULL, NULL, err);
}

int
sk_plan_build_lint(const char *dir, const sk_inventory *inv, int64_t now_unix,
    sk_plan **out, sk_lint_finding **findings, size_t *nfindings, sk_err *err)
{
	sk_yaml_doc *doc = NULL;
	sk_plan *plan = NULL;
	char *yaml_path;
	int rc;

	if (findings != NULL) {
		*findings = NULL;
		*nfindings = 0;
	}

	yaml_path = sk_path_join(dir, "plan.yaml");
	if (yaml_path == NULL)
		return oom(err, dir);
	rc = sk_yaml_load(yaml_path, &doc, err);
	if (rc != SK_OK)
		goto out;
	plan = calloc(1, sizeof(*plan));
	if (plan == NULL) {
		rc = oom(err, yaml_path);
		goto out;
	}
	rc = load_plan(yaml_path, sk_yaml_root(doc), inv, now_unix, plan, err);
	if (rc == SK_OK)
		rc = lint(dir, plan, findings, nfindings, err);
out:
	sk_yaml_destroy(doc);
	free(yaml_path);
	if (rc != SK_OK) {
		sk_plan_destroy(plan);
		return rc;
	}
	*out = plan;
	return SK_OK;
}

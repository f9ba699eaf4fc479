/* sk_plan_build_checks: a step's or phase's pre/post checks (SQL and
 * what it must return or fail with) and a step's lint waivers, each
 * waiver naming a known rule and saying why the step is safe anyway. */
#include "sk_plan.h"

#include <stdlib.h>
#include <string.h>

#include "sk_lint.h"
#include "sk_plan_build_int.h"
#include "sk_util.h"
#include "sk_yaml.h"

static const char *const check_keys[] = { "name", "sql", "file", "expect",
	"no_rows", "fails_with", "succeeds", "report_value", NULL };
static const char *const waiver_keys[] = { "rule", "reason", NULL };

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
		return build_oom(err, node->file);
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
			return c->sqlstate == NULL ? build_oom(err, node->file) : SK_OK;
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
	static const char *const keys[] = { "expect", "no_rows", "fails_with",
		"succeeds" };
	const char *first = NULL;
	bool yes = false;
	int rc;

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (!build_present(item, keys[k]))
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
		    "true, fails_with or succeeds: true",
		    c->name);
	if (strcmp(first, "expect") == 0) {
		c->expect = SK_EXPECT_COMPARE;
		return parse_expect(sk_yaml_get(item, "expect"), c, err);
	}
	if (strcmp(first, "fails_with") == 0) {
		c->expect = SK_EXPECT_FAILS;
		return parse_fails_with(sk_yaml_get(item, "fails_with"), c, err);
	}
	if (strcmp(first, "succeeds") == 0) {
		/* Sqitch's verify convention: an error fails, any result
		 * passes. Only where it is written: expect keeps its meaning. */
		c->expect = SK_EXPECT_SUCCEEDS;
		rc = sk_yaml_bool(item, "succeeds", false, &yes, err);
		if (rc == SK_OK && !yes)
			rc = sk_yaml_error(err, SK_EINVAL,
			    sk_yaml_get(item, "succeeds"),
			    "succeeds can only be true; to expect a failure use "
			    "fails_with");
		return rc;
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
	bool has_sql = build_present(item, "sql"),
	     has_file = build_present(item, "file");
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
		rc = build_parse_sql("SQL", c->sql, NULL, err);
		if (rc != SK_OK)
			return sk_err_wrap(err, "%s:%d:%d: check %s",
			    node->file, node->line, node->col, c->name);
	} else {
		rc = build_step_script(
		    yaml_path, item, "file", 0, &c->path, &c->sql, NULL, err);
		if (rc != SK_OK)
			return rc;
	}
	return load_expectation(item, c, err);
}

/* map[key] as a list of checks into *out / *n (NULL / 0 when absent). */
int
build_checks(const char *yaml_path, const sk_yaml_node *map, const char *key,
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
		return build_oom(err, yaml_path);
	for (size_t i = 0; i < list->nitems; i++) {
		const sk_yaml_node *item = list->items[i];
		sk_check *c = &(*out)[i];

		rc = sk_yaml_expect(item, SK_YAML_MAPPING,
		    "a check mapping with name, sql or file, and expect, "
		    "no_rows, fails_with or succeeds",
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
		if (rc == SK_OK)
			rc = sk_yaml_bool(
			    item, "report_value", false, &c->report_value, err);
		if (rc != SK_OK)
			return rc;
	}
	return SK_OK;
}

int
build_waivers(const sk_yaml_node *map, sk_step *st, sk_err *err)
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
		return build_oom(err, list->file);
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
		if (!build_present(item, "reason"))
			return sk_yaml_error(err, SK_EINVAL, item,
			    "waiver of rule %s needs a reason: say why the step is "
			    "safe anyway",
			    w->rule);
		rc = sk_yaml_string(item, "reason", SK_YAML_NONEMPTY, &w->reason, err);
		if (rc != SK_OK)
			return rc;
		if (build_blank(w->reason))
			return sk_yaml_error(err, SK_EINVAL,
			    sk_yaml_get(item, "reason"),
			    "waiver of rule %s has an empty reason", w->rule);
	}
	return SK_OK;
}

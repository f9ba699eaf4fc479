/* sk_lint_print: lint findings written out for people (text), for
 * scripts (JSON), and the rule table. */
#include <stdio.h>
#include <string.h>

#include "sk_json.h"
#include "sk_lint_int.h"

const char *
lint_severity_name(int s)
{
	return s == SK_LINT_ERROR ? "error" : "warning";
}

void
lint_display_path(const char *dir, const char *file, char *buf, size_t len)
{
	if (dir == NULL || strcmp(dir, ".") == 0 || file[0] == '/')
		snprintf(buf, len, "%s", file);
	else
		snprintf(buf, len, "%s%s%s", dir,
		    dir[0] != '\0' && dir[strlen(dir) - 1] == '/' ? "" : "/", file);
}

void
sk_lint_print(FILE *out, const char *dir, const sk_lint_finding *f, size_t n)
{
	char path[1024];

	for (size_t i = 0; i < n; i++) {
		lint_display_path(dir, f[i].file, path, sizeof(path));
		if (f[i].line > 0)
			fprintf(out, "%s:%d: ", path, f[i].line);
		else
			fprintf(out, "%s: ", path);
		fprintf(out, "%s %s: %s\n", lint_severity_name(f[i].rule->severity),
		    f[i].rule->id, f[i].message);
		fprintf(out, "  fix: %s\n", f[i].rule->fix);
		if (f[i].waived)
			fprintf(out, "  waived (reason: %s)\n", f[i].reason);
	}
}

static void
count(const sk_lint_finding *f, size_t n, size_t *errors, size_t *warnings, size_t *waived)
{
	*errors = *warnings = *waived = 0;
	for (size_t i = 0; i < n; i++) {
		if (f[i].rule->severity == SK_LINT_ERROR)
			(*errors)++;
		else
			(*warnings)++;
		if (f[i].waived)
			(*waived)++;
	}
}

void
sk_lint_print_summary(FILE *out, const sk_lint_finding *f, size_t n)
{
	size_t errors, warnings, waived;

	count(f, n, &errors, &warnings, &waived);
	if (n == 0) {
		fprintf(out, "lint: no findings\n");
		return;
	}
	fprintf(out, "lint: %zu %s, %zu %s, %zu waived; %zu blocking\n", errors,
	    errors == 1 ? "error" : "errors", warnings,
	    warnings == 1 ? "warning" : "warnings", waived, sk_lint_blocking(f, n));
}

int
sk_lint_print_json(
    FILE *out, const char *dir, const sk_lint_finding *f, size_t n, sk_err *err)
{
	json_t *root = json_object(), *list = json_array();
	size_t errors, warnings, waived;
	char path[1024];
	int bad = 0;

	if (root == NULL || list == NULL) {
		json_decref(root);
		json_decref(list);
		return sk_err_set(err, SK_ENOMEM, "print lint findings: out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();

		lint_display_path(dir, f[i].file, path, sizeof(path));
		if (o != NULL) {
			bad |= json_object_set_new(
			    o, "rule", sk_json_str(f[i].rule->id));
			bad |= json_object_set_new(o, "severity",
			    sk_json_str(lint_severity_name(f[i].rule->severity)));
			bad |= json_object_set_new(o, "step", sk_json_str(f[i].step));
			bad |= json_object_set_new(o, "file", sk_json_str(path));
			bad |= json_object_set_new(o, "line", json_integer(f[i].line));
			bad |= json_object_set_new(
			    o, "message", sk_json_str(f[i].message));
			bad |= json_object_set_new(
			    o, "fix", sk_json_str(f[i].rule->fix));
			bad |= json_object_set_new(
			    o, "waived", json_boolean(f[i].waived));
			bad |= json_object_set_new(
			    o, "reason", sk_json_str(f[i].reason));
		}
		bad |= json_array_append_new(list, o);
	}
	count(f, n, &errors, &warnings, &waived);
	bad |= json_object_set_new(root, "findings", list);
	bad |= json_object_set_new(root, "errors", json_integer((json_int_t)errors));
	bad |= json_object_set_new(
	    root, "warnings", json_integer((json_int_t)warnings));
	bad |= json_object_set_new(root, "waived", json_integer((json_int_t)waived));
	bad |= json_object_set_new(
	    root, "blocking", json_integer((json_int_t)sk_lint_blocking(f, n)));
	if (bad) {
		json_decref(root);
		return sk_err_set(err, SK_ENOMEM, "print lint findings: out of memory");
	}
	bad = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (bad != 0 || fputc('\n', out) == EOF)
		return sk_err_set(
		    err, SK_EIO, "print lint findings: cannot write output");
	return SK_OK;
}

void
sk_lint_print_rules(FILE *out)
{
	size_t n;
	const sk_lint_rule *rules = sk_lint_rules(&n);

	for (size_t i = 0; i < n; i++)
		fprintf(out, "%-34s %-7s %s\n%34s fix: %s\n", rules[i].id,
		    lint_severity_name(rules[i].severity), rules[i].summary, "",
		    rules[i].fix);
}

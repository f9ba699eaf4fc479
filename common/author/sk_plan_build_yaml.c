/* sk_plan_build_yaml: the small YAML questions every part of plan build
 * asks: is a key there, is a text blank, what duration does a key give. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sk_plan_build_int.h"
#include "sk_util.h"

int
build_oom(sk_err *err, const char *path)
{
	return sk_err_set(err, SK_ENOMEM, "build plan %s: out of memory", path);
}

bool
build_present(const sk_yaml_node *map, const char *key)
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
int
build_yaml_duration(const sk_yaml_node *map, const char *key, bool zero_ok,
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

bool
build_blank(const char *s)
{
	return strspn(s, " \t\r\n\f\v") == strlen(s);
}

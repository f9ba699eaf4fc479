/* sk_plan_build_preflight: a plan's preflight section: the server
 * version, roles, extensions, transaction age, connection share and
 * earlier plans every region must have before the plan may start. */
#include "sk_plan.h"

#include <stdlib.h>
#include <string.h>

#include "sk_plan_build_int.h"
#include "sk_util.h"
#include "sk_yaml.h"

static const char *const preflight_keys[] = { "server_version", "roles",
	"extensions", "max_transaction_age", "max_connections", "requires", NULL };
static const char *const prereq_keys[] = { "plan", "step", NULL };

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
		return build_oom(err, list->file);
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
		if (rc == SK_OK && build_present(item, "step"))
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
		if (build_blank((*out)[i]))
			return sk_yaml_error(err, SK_EINVAL,
			    sk_yaml_get(map, key)->items[i],
			    "expected one of %s, got "
			    "an empty string",
			    what);
	return SK_OK;
}

int
build_preflight(const sk_yaml_node *root, sk_preflight *pf, sk_err *err)
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
		rc = build_yaml_duration(node, "max_transaction_age", false, 0,
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

/* sk_plan_build_flag: the body of a flag step in plan.yaml — flag,
 * value, tenants, residency (resolved to regions through the inventory,
 * like phases[].residency) and template (set, get) — each mistake
 * reported at its own line and column (docs/formats.md, docs/flags.md). */
#include <stdlib.h>
#include <string.h>

#include "sk_plan_build_int.h"
#include "sk_util.h"

static const char *const template_keys[] = { "set", "get", NULL };

/* A message of err's re-reported at node. */
static int
at(sk_err *err, const sk_yaml_node *node)
{
	char why[SK_ERR_MSG_MAX];

	snprintf(why, sizeof(why), "%s", err->msg);
	return sk_yaml_error(err, err->code, node, "%s", why);
}

static int
load_template(const sk_yaml_node *item, sk_flag *f, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(item, "template");
	int rc;

	if (node == NULL || sk_yaml_is_null(node))
		return SK_OK;
	rc = sk_yaml_expect(node, SK_YAML_MAPPING,
	    "a mapping of set and get (SQL with :'flag', :'value', :'tenant')", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(node, template_keys, err);
	if (rc == SK_OK)
		rc = sk_yaml_string(node, "set",
		    SK_YAML_REQUIRED | SK_YAML_NONEMPTY, &f->set_template, err);
	if (rc == SK_OK)
		rc = sk_yaml_string(node, "get",
		    SK_YAML_REQUIRED | SK_YAML_NONEMPTY, &f->get_template, err);
	if (rc != SK_OK)
		return rc;
	if (sk_flag_template_check(f->set_template, "template.set", err) != SK_OK)
		return at(err, sk_yaml_get(node, "set"));
	if (sk_flag_template_check(f->get_template, "template.get", err) != SK_OK)
		return at(err, sk_yaml_get(node, "get"));
	return SK_OK;
}

static bool
listed(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* residency: into f->residency, and the regions of those residencies in
 * inv into f->regions. */
static int
load_residency(const sk_yaml_node *item, const sk_inventory *inv, sk_flag *f,
    const char *step, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(item, "residency");
	int rc;

	rc = sk_yaml_string_list(item, "residency", 0, "residencies",
	    &f->residency, &f->nresidency, err);
	if (rc != SK_OK || f->nresidency == 0)
		return rc;
	if (inv == NULL)
		return sk_yaml_error(err, SK_EINVAL, node,
		    "flag step %s selects by residency: pass --regions DIR so the "
		    "plan names its regions",
		    step);
	f->regions = calloc(inv->nregions + 1, sizeof(*f->regions));
	if (f->regions == NULL)
		return build_oom(err, item->file);
	for (size_t k = 0; k < f->nresidency; k++) {
		size_t matched = 0;

		for (size_t r = 0; r < inv->nregions; r++) {
			if (strcmp(inv->regions[r].residency, f->residency[k]) != 0)
				continue;
			matched++;
			if (listed(f->regions, f->nregions, inv->regions[r].name))
				continue;
			f->regions[f->nregions] = sk_strdup(inv->regions[r].name);
			if (f->regions[f->nregions] == NULL)
				return build_oom(err, item->file);
			f->nregions++;
		}
		if (matched == 0)
			return sk_yaml_error(err, SK_EINVAL, node->items[k],
			    "residency \"%s\" matches no region in the inventory %s",
			    f->residency[k], inv->dir ? inv->dir : "");
	}
	return SK_OK;
}

int
build_flag_body(
    const sk_yaml_node *item, const sk_inventory *inv, sk_step *st, sk_err *err)
{
	const sk_yaml_node *node;
	char *value = NULL;
	sk_flag *f;
	int rc;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return build_oom(err, item->file);
	st->flag = f;
	rc = sk_yaml_string(
	    item, "flag", SK_YAML_REQUIRED | SK_YAML_NONEMPTY, &f->name, err);
	if (rc != SK_OK)
		return rc;
	if (!sk_flag_name_valid(f->name))
		return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(item, "flag"),
		    "\"%.80s\" is not a flag name: use a-z, 0-9, '_', '.' and '-', "
		    "1 to %d bytes",
		    f->name, SK_FLAG_NAME_MAX);
	rc = sk_yaml_string(
	    item, "value", SK_YAML_REQUIRED | SK_YAML_NONEMPTY, &value, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_flag_value_normalize(value, &f->value, err);
	free(value);
	if (rc != SK_OK)
		return at(err, sk_yaml_get(item, "value"));
	node = sk_yaml_get(item, "tenants");
	rc = sk_yaml_string_list(
	    item, "tenants", 0, "tenant ids", &f->tenants, &f->ntenants, err);
	if (rc != SK_OK)
		return rc;
	if (node != NULL && !sk_yaml_is_null(node) && f->ntenants == 0)
		return sk_yaml_error(err, SK_EINVAL, node,
		    "tenants is an empty list: leave it out to set the flag for "
		    "every tenant");
	rc = load_residency(item, inv, f, st->id, err);
	if (rc == SK_OK)
		rc = load_template(item, f, err);
	return rc;
}

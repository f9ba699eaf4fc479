/* sk_flag: the rules of a flag step (kind FLAG): its name, value,
 * tenants, regions and templates, and its checksum. The agent's
 * agent/kinds/agent_kind_flag.c runs it; docs/flags.md is the reader's
 * side. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

#include "sk_flag_int.h"
#include "sk_plan.h"
#include "sk_step_alone.h"
#include "sk_sql.h"
#include "sk_util.h"

bool
sk_flag_name_valid(const char *name)
{
	size_t n;

	if (name == NULL)
		return false;
	n = strlen(name);
	if (n == 0 || n > SK_FLAG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* Text an operator can read back: no control characters, bounded. */
static int
printable(const char *s, size_t max, const char *what, sk_err *err)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0)
		return sk_err_set(err, SK_EINVAL, "has an empty %s", what);
	if (n > max)
		return sk_err_set(err, SK_EINVAL,
		    "has a %s of %zu bytes; the most is %zu", what, n, max);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return sk_err_set(err, SK_EINVAL,
			    "has a %s with a control character at byte %zu",
			    what, i + 1);
	return SK_OK;
}

int
sk_flag_value_normalize(const char *in, char **out, sk_err *err)
{
	static const char *const on[] = { "true", "on", "yes", "1", NULL };
	static const char *const off[] = { "false", "off", "no", "0", NULL };
	const char *v = in;
	int rc;

	*out = NULL;
	rc = printable(in, SK_FLAG_VALUE_MAX, "value", err);
	if (rc != SK_OK)
		return rc;
	for (size_t i = 0; on[i] != NULL; i++) {
		if (strcasecmp(in, on[i]) == 0)
			v = "true";
		if (strcasecmp(in, off[i]) == 0)
			v = "false";
	}
	*out = sk_strdup(v);
	if (*out == NULL)
		return sk_err_set(err, SK_ENOMEM, "normalise flag value: out of memory");
	return SK_OK;
}

const char *
flag_placeholder_at(const char *p, size_t *len)
{
	static const char *const names[] = { ":'flag'", ":'value'", ":'tenant'", NULL };

	for (size_t i = 0; names[i] != NULL; i++) {
		size_t n = strlen(names[i]);

		if (strncmp(p, names[i], n) == 0) {
			*len = n;
			return names[i];
		}
	}
	return NULL;
}

int
sk_flag_template_check(const char *tmpl, const char *what, sk_err *err)
{
	size_t len;
	int rc;

	if (tmpl == NULL)
		return SK_OK;
	if (tmpl[0] == '\0')
		return sk_err_set(err, SK_EINVAL, "%s is empty", what);
	rc = sk_sql_fragment_check(tmpl, what, err);
	if (rc != SK_OK)
		return rc;
	for (const char *p = tmpl; *p != '\0'; p++) {
		if (p[0] != ':' || p[1] != '\'')
			continue;
		if (flag_placeholder_at(p, &len) == NULL)
			return sk_err_set(err, SK_EINVAL,
			    "%s has an unknown placeholder at byte %zu: only "
			    ":'flag', :'value' and :'tenant' are bound",
			    what, (size_t)(p - tmpl) + 1);
		p += len - 1;
	}
	return SK_OK;
}

bool
sk_flag_in_region(const sk_flag *f, const char *region)
{
	if (f->nregions == 0)
		return true;
	for (size_t i = 0; region != NULL && i < f->nregions; i++)
		if (strcmp(f->regions[i], region) == 0)
			return true;
	return false;
}

bool
sk_plan_has_flags(const sk_plan *plan)
{
	for (size_t i = 0; plan != NULL && i < plan->nsteps; i++)
		if (plan->steps[i].kind == SK_STEP_FLAG)
			return true;
	return false;
}

void
sk_flag_fini(sk_flag *f)
{
	if (f == NULL)
		return;
	free(f->name);
	free(f->value);
	sk_strv_free(f->tenants, f->ntenants);
	sk_strv_free(f->residency, f->nresidency);
	sk_strv_free(f->regions, f->nregions);
	free(f->set_template);
	free(f->get_template);
}

static int
flag_body_validate(const sk_flag *f, sk_err *err)
{
	int rc;

	if (!sk_flag_name_valid(f->name))
		return sk_err_set(err, SK_EINVAL,
		    "has flag \"%.80s\", which is not a flag name "
		    "([a-z0-9_.-], 1 to %d bytes)",
		    f->name != NULL ? f->name : "", SK_FLAG_NAME_MAX);
	rc = printable(f->value, SK_FLAG_VALUE_MAX, "value", err);
	for (size_t i = 0; rc == SK_OK && i < f->ntenants; i++) {
		rc = printable(f->tenants[i], SK_FLAG_TENANT_MAX, "tenant", err);
		for (size_t j = 0; rc == SK_OK && j < i; j++)
			if (strcmp(f->tenants[i], f->tenants[j]) == 0)
				rc = sk_err_set(err, SK_EINVAL,
				    "lists tenant \"%s\" twice", f->tenants[i]);
	}
	for (size_t i = 0; rc == SK_OK && i < f->nregions; i++)
		if (!sk_name_valid(f->regions[i]))
			rc = sk_err_set(err, SK_EINVAL,
			    "has region \"%.80s\", which is not a region name",
			    f->regions[i]);
	if (rc != SK_OK)
		return rc;
	if ((f->set_template == NULL) != (f->get_template == NULL))
		return sk_err_set(err, SK_EINVAL,
		    "has a template with only one of set and get: a flag kept "
		    "elsewhere needs both, to restore the old value");
	if (f->set_template != NULL && f->ntenants == 0)
		return sk_err_set(err, SK_EINVAL,
		    "has a template but no tenants: a template sets a flag per "
		    "tenant, so list them");
	rc = sk_flag_template_check(f->set_template, "template.set", err);
	if (rc == SK_OK)
		rc = sk_flag_template_check(f->get_template, "template.get", err);
	return rc;
}

int
flag_validate(const sk_step *step, sk_err *err)
{
	int rc;

	rc = plan_step_alone(step, "flag", step->flag, err);
	if (rc != SK_OK)
		return rc;
	if (step->revert != NULL)
		return sk_err_set(err, SK_EINVAL,
		    "is a flag step with a revert script; its rollback restores "
		    "the value the flag had before, itself");
	return flag_body_validate(step->flag, err);
}

/* Hash s and its NUL, so that fields cannot run into each other. */
static void
hash_str(crypto_hash_sha256_state *st, const char *s)
{
	const char *v = s != NULL ? s : "";

	crypto_hash_sha256_update(st, (const uint8_t *)v, strlen(v) + 1);
}

static void
hash_list(crypto_hash_sha256_state *st, char *const *v, size_t n)
{
	char count[24];

	snprintf(count, sizeof(count), "%zu", n);
	hash_str(st, count);
	for (size_t i = 0; i < n; i++)
		hash_str(st, v[i]);
}

int
flag_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err)
{
	static const char domain[] = "skein-step-flag-v1";
	const sk_flag *f = step->flag;
	crypto_hash_sha256_state st;
	char kind[24];

	if (f == NULL)
		return sk_err_set(err, SK_EINVAL,
		    "step %s is a flag step without its body",
		    step->id != NULL ? step->id : "-");
	snprintf(kind, sizeof(kind), "%d", step->kind);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)domain, sizeof(domain));
	hash_str(&st, kind);
	hash_str(&st, f->name);
	hash_str(&st, f->value);
	hash_list(&st, f->tenants, f->ntenants);
	hash_list(&st, f->regions, f->nregions);
	hash_str(&st, f->set_template);
	hash_str(&st, f->get_template);
	crypto_hash_sha256_final(&st, out);
	return SK_OK;
}

/* sk_plan_build: a plan directory (plan.yaml plus SQL files) into an
 * sk_plan. Everything an operator can get wrong is caught here, before a
 * plan is signed, and reported at its line and column in plan.yaml. */
#include "sk_plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sk_util.h"
#include "sk_yaml.h"

#define SQL_MAX_BYTES (8 * 1024 * 1024)
#define DEFAULT_EXPIRY "72h"

static const char *const plan_keys[] = { "name", "expires", "phases", "steps", NULL };
static const char *const phase_keys[] = { "name", "regions", "residency", NULL };
static const char *const step_keys[] = { "id", "sql", "revert", "verify",
	"transaction", NULL };

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

/* An optional SQL reference: leaves both outputs NULL when absent. */
static int
step_script(const char *yaml_path, const sk_yaml_node *item, const char *key,
    int flags, char **rel, char **sql, sk_err *err)
{
	int rc;

	rc = sk_yaml_string(item, key, flags | SK_YAML_NONEMPTY, rel, err);
	if (rc != SK_OK || *rel == NULL)
		return rc;
	return read_sql(yaml_path, sk_yaml_get(item, key), *rel, sql, err);
}

static int
load_steps(const char *yaml_path, const sk_yaml_node *root, sk_plan *plan, sk_err *err)
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
		rc = sk_step_checksum(st, st->checksum, err);
		if (rc != SK_OK)
			return rc;
		sk_step_text_checksum(st, st->text_checksum);
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

static bool
present(const sk_yaml_node *map, const char *key)
{
	const sk_yaml_node *v = sk_yaml_get(map, key);

	return v != NULL && !sk_yaml_is_null(v);
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

static int
load_plan(const char *yaml_path, const sk_yaml_node *root,
    const sk_inventory *inv, int64_t now_unix, sk_plan *plan, sk_err *err)
{
	char id[sizeof("p-") + 12];
	char *expires = NULL;
	int64_t ms = 0;
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
	rc = load_phases(yaml_path, root, inv, plan, err);
	if (rc == SK_OK)
		rc = load_steps(yaml_path, root, plan, err);
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

int
sk_plan_build(const char *dir, const sk_inventory *inv, int64_t now_unix,
    sk_plan **out, sk_err *err)
{
	sk_yaml_doc *doc = NULL;
	sk_plan *plan = NULL;
	char *yaml_path;
	int rc;

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

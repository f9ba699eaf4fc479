/* sk_config_inventory: the region inventory, a directory of
 * regions/NAME.yaml files (name, residency, agent_key, move_endpoint), read through
 * sk_yaml so that every mistake points at its line and column, sorted by
 * name and checked as a whole (sk_config.h). */
#include "sk_config.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_config_int.h"
#include "sk_util.h"
#include "sk_yaml.h"

static const char *const region_keys[] = { "name", "residency", "agent_key",
	"move_endpoint", NULL };

static void
region_fini(sk_region *r)
{
	free(r->path);
	free(r->name);
	free(r->residency);
	free(r->agent_key_path);
	free(r->move_endpoint);
	memset(r, 0, sizeof(*r));
}

static int
load_region_fields(const char *path, const sk_yaml_node *root, sk_region *r, sk_err *err)
{
	const char *base = strrchr(path, '/');
	const sk_yaml_node *key_node;
	size_t nlen;
	int rc;

	base = base ? base + 1 : path;
	rc = sk_yaml_expect(root, SK_YAML_MAPPING, "a mapping of region settings", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(root, region_keys, err);
	if (rc == SK_OK)
		rc = sk_yaml_name(root, "name", "region", &r->name, err);
	if (rc != SK_OK)
		return rc;
	/* The file name is how operators find a region; it must not lie. */
	nlen = strlen(r->name);
	if (strncmp(base, r->name, nlen) != 0 || strcmp(base + nlen, ".yaml") != 0)
		return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(root, "name"),
		    "region \"%s\" is defined in %s: rename the file to %s.yaml",
		    r->name, base, r->name);
	rc = sk_yaml_name(root, "residency", "residency", &r->residency, err);
	if (rc == SK_OK)
		rc = config_path_field(path, root, "agent_key",
		    SK_YAML_REQUIRED, &r->agent_key_path, err);
	if (rc == SK_OK) /* moves */
		rc = config_tcp_endpoint_field(
		    root, "move_endpoint", &r->move_endpoint, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_pubkey_load(r->agent_key_path, &r->agent_key, err);
	if (rc != SK_OK) {
		key_node = sk_yaml_get(root, "agent_key");
		return sk_err_wrap(err, "%s:%d:%d: agent_key", path,
		    key_node->line, key_node->col);
	}
	return SK_OK;
}

static int
load_region(const char *path, sk_region *out, sk_err *err)
{
	sk_region r;
	sk_yaml_doc *doc = NULL;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = sk_yaml_load(path, &doc, err);
	if (rc != SK_OK)
		return rc;
	r.path = sk_strdup(path);
	if (r.path == NULL)
		rc = config_oom(err, path);
	else
		rc = load_region_fields(path, sk_yaml_root(doc), &r, err);
	sk_yaml_destroy(doc);
	if (rc != SK_OK) {
		region_fini(&r);
		return rc;
	}
	*out = r;
	return SK_OK;
}

static int
region_cmp(const void *a, const void *b)
{
	return strcmp(((const sk_region *)a)->name, ((const sk_region *)b)->name);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.yaml entries of dir, sorted, skipping hidden files (editor swap
 * files and the like). */
static int
list_region_files(const char *dir, char ***out, size_t *n, sk_err *err)
{
	char **names = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc = SK_OK;

	d = opendir(dir);
	if (d == NULL)
		return sk_err_errno(err, errno == ENOENT ? SK_ENOTFOUND : SK_EIO,
		    errno, "load region inventory %s", dir);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len <= 5 ||
		    strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		if (count == cap) {
			char **bigger =
			    realloc(names, (cap ? cap * 2 : 8) * sizeof(*names));

			if (bigger == NULL) {
				rc = config_oom(err, dir);
				break;
			}
			names = bigger;
			cap = cap ? cap * 2 : 8;
		}
		names[count] = sk_path_join(dir, de->d_name);
		if (names[count] == NULL) {
			rc = config_oom(err, dir);
			break;
		}
		count++;
	}
	closedir(d);
	if (rc == SK_OK && count == 0)
		rc = sk_err_set(err, SK_EINVAL,
		    "load region inventory %s: no region files (*.yaml) in the directory",
		    dir);
	if (rc != SK_OK) {
		sk_strv_free(names, count);
		return rc;
	}
	qsort(names, count, sizeof(*names), name_cmp);
	*out = names;
	*n = count;
	return SK_OK;
}

/* Region names are unique by construction (file name == name), but a
 * shared agent key would let one region's agent report as another. */
static int
check_inventory(const sk_inventory *inv, sk_err *err)
{
	char hex[2 * SK_KEY_ID_LEN + 1];

	for (size_t i = 1; i < inv->nregions; i++)
		if (strcmp(inv->regions[i - 1].name, inv->regions[i].name) == 0)
			return sk_err_set(err, SK_EINVAL,
			    "load region inventory %s: region %s is defined twice, in %s and %s",
			    inv->dir, inv->regions[i].name,
			    inv->regions[i - 1].path, inv->regions[i].path);
	for (size_t i = 0; i < inv->nregions; i++)
		for (size_t j = i + 1; j < inv->nregions; j++) {
			if (memcmp(inv->regions[i].agent_key.pk,
				inv->regions[j].agent_key.pk, SK_PUBKEY_LEN) != 0)
				continue;
			sk_key_id_hex(inv->regions[i].agent_key.id, hex);
			return sk_err_set(err, SK_EINVAL,
			    "load region inventory %s: regions %s and %s share agent key %s: "
			    "each region's agent needs its own key",
			    inv->dir, inv->regions[i].name, inv->regions[j].name, hex);
		}
	return SK_OK;
}

int
sk_inventory_load(const char *dir, sk_inventory *out, sk_err *err)
{
	sk_inventory inv;
	char **files = NULL;
	size_t nfiles = 0;
	int rc;

	memset(&inv, 0, sizeof(inv));
	rc = list_region_files(dir, &files, &nfiles, err);
	if (rc != SK_OK)
		return rc;
	inv.dir = sk_strdup(dir);
	inv.regions = calloc(nfiles, sizeof(*inv.regions));
	if (inv.dir == NULL || inv.regions == NULL) {
		rc = config_oom(err, dir);
		goto out;
	}
	for (size_t i = 0; i < nfiles; i++) {
		rc = load_region(files[i], &inv.regions[i], err);
		if (rc != SK_OK)
			goto out;
		inv.nregions = i + 1;
	}
	qsort(inv.regions, inv.nregions, sizeof(*inv.regions), region_cmp);
	rc = check_inventory(&inv, err);
out:
	sk_strv_free(files, nfiles);
	if (rc != SK_OK) {
		sk_inventory_fini(&inv);
		return rc;
	}
	*out = inv;
	return SK_OK;
}

void
sk_inventory_fini(sk_inventory *inv)
{
	if (inv == NULL)
		return;
	for (size_t i = 0; i < inv->nregions; i++)
		region_fini(&inv->regions[i]);
	free(inv->regions);
	free(inv->dir);
	memset(inv, 0, sizeof(*inv));
}

static int
find_cmp(const void *key, const void *elem)
{
	return strcmp((const char *)key, ((const sk_region *)elem)->name);
}

const sk_region *
sk_inventory_find(const sk_inventory *inv, const char *name)
{
	if (inv == NULL || name == NULL || inv->nregions == 0)
		return NULL;
	return bsearch(
	    name, inv->regions, inv->nregions, sizeof(*inv->regions), find_cmp);
}

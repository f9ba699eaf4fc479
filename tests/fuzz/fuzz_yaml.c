/* fuzz_yaml: sk_yaml_parse, the YAML layer under plan.yaml and every
 * config file, on the input as a buffer. A document that loads is walked
 * whole, and at every mapping each key is read with each typed accessor
 * (string, name, list, bool, int) and the keys are checked against a
 * list, the way the config loaders and plan build read them.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sk_yaml.h"

#define HARNESS "yaml"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init(HARNESS);
	return 0;
}

static void
free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Every accessor on map[key]; errors are expected, leaks and crashes are
 * not. */
static void
read_key(const sk_yaml_node *map, const char *key)
{
	char *s = NULL, **list = NULL;
	size_t n = 0;
	bool b;
	int64_t i;
	sk_err err;

	if (sk_yaml_string(map, key, SK_YAML_NONEMPTY, &s, &err) == SK_OK)
		free(s);
	s = NULL;
	if (sk_yaml_name(map, key, "name", &s, &err) == SK_OK)
		free(s);
	if (sk_yaml_string_list(map, key, SK_YAML_REQUIRED | SK_YAML_NONEMPTY,
		"names", &list, &n, &err) == SK_OK)
		free_list(list, n);
	(void)sk_yaml_bool(map, key, false, &b, &err);
	(void)sk_yaml_int(map, key, 0, INT64_MIN, INT64_MAX, &i, &err);
	(void)sk_yaml_int(map, key, 1, 1, 100, &i, &err);
}

static void
walk(const sk_yaml_node *node, size_t *sum)
{
	static const char *const allowed[] = { "name", "steps", "phases", NULL };
	char *s = NULL;
	sk_err err;

	*sum += fuzz_touch(node->path) + fuzz_touch(sk_yaml_describe(node)) +
	    (size_t)sk_yaml_is_null(node);
	(void)sk_yaml_error(&err, SK_EINVAL, node, "at %s", node->path);
	switch (node->kind) {
	case SK_YAML_SCALAR:
		*sum += node->len;
		if (sk_yaml_node_string(node, SK_YAML_NONEMPTY, "text", &s, &err) == SK_OK)
			free(s);
		break;
	case SK_YAML_SEQUENCE:
		(void)sk_yaml_expect(node, SK_YAML_SEQUENCE, "a list", &err);
		for (size_t i = 0; i < node->nitems; i++)
			walk(node->items[i], sum);
		break;
	case SK_YAML_MAPPING:
		(void)sk_yaml_expect(node, SK_YAML_MAPPING, "a mapping", &err);
		(void)sk_yaml_check_keys(node, allowed, &err);
		for (size_t i = 0; i < node->npairs; i++) {
			const sk_yaml_node *key = node->pairs[i].key;

			if (key->kind != SK_YAML_SCALAR)
				fuzz_fail(HARNESS, "a key that is not a scalar");
			/* A key with an escaped NUL reads shorter as a C
			 * string: only whole keys must be found. */
			if (strlen(key->text) == key->len &&
			    sk_yaml_get(node, key->text) == NULL)
				fuzz_fail(HARNESS, "key %s not found", key->path);
			read_key(node, key->text);
			walk(key, sum);
			walk(node->pairs[i].value, sum);
		}
		break;
	default:
		fuzz_fail(HARNESS, "a node of kind %d", node->kind);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sk_yaml_doc *doc = NULL;
	size_t sum = 0;
	sk_err err;

	if (sk_yaml_parse("fuzz.yaml", (const char *)data, size, &doc, &err) != SK_OK)
		return 0;
	walk(sk_yaml_root(doc), &sum);
	sk_yaml_destroy(doc);
	return 0;
}

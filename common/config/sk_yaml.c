/* sk_yaml: builds a node tree from libyaml's event stream. Events are
 * consumed one at a time with an explicit stack, so a hostile document can
 * cost at most SK_YAML_MAX_DEPTH frames and SK_YAML_MAX_BYTES of input. */
#include "sk_yaml.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "sk_util.h"

struct sk_yaml_doc {
	char *name;
	sk_yaml_node *root;
};

struct frame {
	sk_yaml_node *node;
	sk_yaml_node *key; /* a mapping's key still waiting for its value */
};

struct builder {
	sk_yaml_doc *doc;
	struct frame stack[SK_YAML_MAX_DEPTH];
	int depth;
	int ndocs;
};

static void
node_free(sk_yaml_node *node)
{
	if (node == NULL)
		return;
	for (size_t i = 0; i < node->nitems; i++)
		node_free(node->items[i]);
	for (size_t i = 0; i < node->npairs; i++) {
		node_free(node->pairs[i].key);
		node_free(node->pairs[i].value);
	}
	free(node->items);
	free(node->pairs);
	free(node->path);
	free(node->text);
	free(node);
}

void
sk_yaml_destroy(sk_yaml_doc *doc)
{
	if (doc == NULL)
		return;
	node_free(doc->root);
	free(doc->name);
	free(doc);
}

const sk_yaml_node *
sk_yaml_root(const sk_yaml_doc *doc)
{
	return doc ? doc->root : NULL;
}

static sk_yaml_node *
node_new(const sk_yaml_doc *doc, int kind, const yaml_mark_t *mark)
{
	sk_yaml_node *node = calloc(1, sizeof(*node));

	if (node == NULL)
		return NULL;
	node->kind = kind;
	node->line = (int)mark->line + 1;
	node->col = (int)mark->column + 1;
	node->file = doc->name;
	return node;
}

/* "<file>:<line>:<col>: " at a libyaml mark, for errors raised before a
 * node exists. */
static int
mark_error(sk_err *err, const char *name, const yaml_mark_t *mark,
    const char *what, const char *arg)
{
	return sk_err_set(err, SK_EINVAL, "%s:%d:%d: %s%s", name,
	    (int)mark->line + 1, (int)mark->column + 1, what, arg ? arg : "");
}

static char *
child_path(const char *parent, const char *key, size_t index, bool is_key)
{
	size_t plen = strlen(parent);
	size_t len;
	char *path;

	if (is_key) {
		len = plen + strlen(key) + 2;
		path = malloc(len);
		if (path != NULL)
			snprintf(path, len, "%s%s%s", parent, plen ? "." : "", key);
	} else {
		len = plen + 24;
		path = malloc(len);
		if (path != NULL)
			snprintf(path, len, "%s[%zu]", parent, index);
	}
	return path;
}

static int
grow(void **array, size_t n, size_t size)
{
	void *bigger;

	/* Doubling at powers of two keeps appends amortised O(1) without a
	 * separate capacity field. */
	if (n != 0 && (n & (n - 1)) != 0)
		return SK_OK;
	bigger = realloc(*array, (n ? n * 2 : 4) * size);
	if (bigger == NULL)
		return SK_ENOMEM;
	*array = bigger;
	return SK_OK;
}

/* Hang node under the open container (or make it the root). On failure
 * the caller still owns node. */
static int
attach(struct builder *b, sk_yaml_node *node, sk_err *err)
{
	struct frame *top;
	sk_yaml_node *parent;

	if (b->depth == 0) {
		node->path = sk_strdup("");
		if (node->path == NULL)
			goto nomem;
		b->doc->root = node;
		return SK_OK;
	}
	top = &b->stack[b->depth - 1];
	parent = top->node;
	if (parent->kind == SK_YAML_SEQUENCE) {
		node->path = child_path(parent->path, NULL, parent->nitems, false);
		if (node->path == NULL ||
		    grow((void **)&parent->items, parent->nitems, sizeof(*parent->items)))
			goto nomem;
		parent->items[parent->nitems++] = node;
		return SK_OK;
	}
	if (top->key == NULL) {
		/* A key reports problems as part of its mapping. */
		node->path = sk_strdup(parent->path);
		if (node->path == NULL)
			goto nomem;
		if (node->kind != SK_YAML_SCALAR)
			return sk_yaml_error(err, SK_EINVAL, node,
			    "mapping keys must be plain strings, got %s",
			    sk_yaml_describe(node));
		top->key = node;
		return SK_OK;
	}
	node->path = child_path(parent->path, top->key->text, 0, true);
	if (node->path == NULL ||
	    grow((void **)&parent->pairs, parent->npairs, sizeof(*parent->pairs)))
		goto nomem;
	parent->pairs[parent->npairs].key = top->key;
	parent->pairs[parent->npairs].value = node;
	parent->npairs++;
	top->key = NULL;
	return SK_OK;
nomem:
	return sk_err_set(err, SK_ENOMEM, "load %s: out of memory", b->doc->name);
}

static int
key_cmp(const void *a, const void *b)
{
	const sk_yaml_pair *pa = *(const sk_yaml_pair *const *)a;
	const sk_yaml_pair *pb = *(const sk_yaml_pair *const *)b;
	size_t la = pa->key->len, lb = pb->key->len;
	int c = memcmp(pa->key->text, pb->key->text, la < lb ? la : lb);

	if (c != 0)
		return c;
	if (la != lb)
		return la < lb ? -1 : 1;
	/* Same key: document order, so a group's first entry is the original. */
	return pa < pb ? -1 : (pa > pb ? 1 : 0);
}

/* Sorting keeps a mapping with many keys from costing O(n^2). Reports the
 * repeat that comes first in the document. */
static int
check_duplicates(const sk_yaml_node *map, sk_err *err)
{
	const sk_yaml_pair **sorted;
	const sk_yaml_pair *first = NULL, *repeat = NULL;

	if (map->npairs < 2)
		return SK_OK;
	sorted = malloc(map->npairs * sizeof(*sorted));
	if (sorted == NULL)
		return sk_err_set(err, SK_ENOMEM, "load %s: out of memory", map->file);
	for (size_t i = 0; i < map->npairs; i++)
		sorted[i] = &map->pairs[i];
	qsort(sorted, map->npairs, sizeof(*sorted), key_cmp);
	for (size_t i = 1; i < map->npairs; i++) {
		const sk_yaml_pair *a = sorted[i - 1], *b = sorted[i];

		if (a->key->len != b->key->len ||
		    memcmp(a->key->text, b->key->text, a->key->len) != 0)
			continue;
		if (i >= 2 && sorted[i - 2]->key->len == a->key->len &&
		    memcmp(sorted[i - 2]->key->text, a->key->text, a->key->len) == 0)
			continue; /* third or later repeat of one key */
		if (repeat == NULL || b < repeat) {
			first = a;
			repeat = b;
		}
	}
	free(sorted);
	if (repeat == NULL)
		return SK_OK;
	return sk_yaml_error(err, SK_EINVAL, repeat->key,
	    "duplicate key \"%s\" (first at line %d, column %d)",
	    repeat->key->text, first->key->line, first->key->col);
}

static int
open_container(struct builder *b, int kind, const yaml_event_t *ev,
    const yaml_char_t *anchor, sk_err *err)
{
	sk_yaml_node *node;
	int rc;

	if (anchor != NULL)
		return mark_error(err, b->doc->name, &ev->start_mark,
		    "anchors are not supported: &", (const char *)anchor);
	if (b->depth == SK_YAML_MAX_DEPTH)
		return sk_err_set(err, SK_EINVAL,
		    "%s:%d:%d: nesting deeper than %d levels", b->doc->name,
		    (int)ev->start_mark.line + 1,
		    (int)ev->start_mark.column + 1, SK_YAML_MAX_DEPTH);
	node = node_new(b->doc, kind, &ev->start_mark);
	if (node == NULL)
		return sk_err_set(
		    err, SK_ENOMEM, "load %s: out of memory", b->doc->name);
	rc = attach(b, node, err);
	if (rc != SK_OK) {
		node_free(node);
		return rc;
	}
	b->stack[b->depth].node = node;
	b->stack[b->depth].key = NULL;
	b->depth++;
	return SK_OK;
}

static int
add_scalar(struct builder *b, const yaml_event_t *ev, sk_err *err)
{
	sk_yaml_node *node;
	int rc;

	if (ev->data.scalar.anchor != NULL)
		return mark_error(err, b->doc->name, &ev->start_mark,
		    "anchors are not supported: &",
		    (const char *)ev->data.scalar.anchor);
	node = node_new(b->doc, SK_YAML_SCALAR, &ev->start_mark);
	if (node == NULL)
		return sk_err_set(
		    err, SK_ENOMEM, "load %s: out of memory", b->doc->name);
	node->len = ev->data.scalar.length;
	node->text = malloc(node->len + 1);
	if (node->text == NULL) {
		node_free(node);
		return sk_err_set(
		    err, SK_ENOMEM, "load %s: out of memory", b->doc->name);
	}
	memcpy(node->text, ev->data.scalar.value, node->len);
	node->text[node->len] = '\0';
	node->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	rc = attach(b, node, err);
	if (rc != SK_OK)
		node_free(node);
	return rc;
}

static int
handle_event(struct builder *b, const yaml_event_t *ev, sk_err *err)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->ndocs > 1)
			return mark_error(err, b->doc->name, &ev->start_mark,
			    "more than one document in the file", NULL);
		return SK_OK;
	case YAML_ALIAS_EVENT:
		return mark_error(err, b->doc->name, &ev->start_mark,
		    "aliases are not supported: *",
		    (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		return add_scalar(b, ev, err);
	case YAML_SEQUENCE_START_EVENT:
		return open_container(b, SK_YAML_SEQUENCE, ev,
		    ev->data.sequence_start.anchor, err);
	case YAML_MAPPING_START_EVENT:
		return open_container(
		    b, SK_YAML_MAPPING, ev, ev->data.mapping_start.anchor, err);
	case YAML_SEQUENCE_END_EVENT:
		b->depth--;
		return SK_OK;
	case YAML_MAPPING_END_EVENT:
		b->depth--;
		return check_duplicates(b->stack[b->depth].node, err);
	default:
		return SK_OK;
	}
}

/* Reader errors carry a byte offset, not a mark: count lines and UTF-8
 * characters up to it ourselves. */
static void
offset_position(const char *text, size_t len, size_t offset, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < offset && i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\n') {
			(*line)++;
			*col = 1;
		} else if ((c & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

static int
parse_error(const yaml_parser_t *p, const char *name, const char *text,
    size_t len, sk_err *err)
{
	const char *problem = p->problem ? p->problem : "malformed YAML";
	int line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return sk_err_set(err, SK_ENOMEM, "load %s: out of memory", name);
	case YAML_READER_ERROR:
		offset_position(text, len, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			return sk_err_set(err, SK_EINVAL,
			    "%s:%d:%d: %s (byte 0x%02x)", name, line, col,
			    problem, (unsigned)p->problem_value & 0xFFu);
		return sk_err_set(
		    err, SK_EINVAL, "%s:%d:%d: %s", name, line, col, problem);
	default:
		break;
	}
	line = (int)p->problem_mark.line + 1;
	col = (int)p->problem_mark.column + 1;
	if (p->context != NULL)
		return sk_err_set(err, SK_EINVAL,
		    "%s:%d:%d: %s %s that started at line %d, column %d", name,
		    line, col, problem, p->context, (int)p->context_mark.line + 1,
		    (int)p->context_mark.column + 1);
	return sk_err_set(err, SK_EINVAL, "%s:%d:%d: %s", name, line, col, problem);
}

int
sk_yaml_parse(const char *name, const char *text, size_t len, sk_yaml_doc **out,
    sk_err *err)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct builder b;
	int rc = SK_OK;

	if (len > SK_YAML_MAX_BYTES)
		return sk_err_set(err, SK_EINVAL,
		    "load %s: %zu bytes is larger than the %d byte limit for a YAML file",
		    name, len, SK_YAML_MAX_BYTES);
	memset(&b, 0, sizeof(b));
	b.doc = calloc(1, sizeof(*b.doc));
	if (b.doc == NULL || (b.doc->name = sk_strdup(name)) == NULL) {
		free(b.doc);
		return sk_err_set(err, SK_ENOMEM, "load %s: out of memory", name);
	}
	if (!yaml_parser_initialize(&parser)) {
		sk_yaml_destroy(b.doc);
		return sk_err_set(err, SK_ENOMEM, "load %s: out of memory", name);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (;;) {
		bool done;

		if (!yaml_parser_parse(&parser, &ev)) {
			rc = parse_error(&parser, name, text, len, err);
			break;
		}
		rc = handle_event(&b, &ev, err);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (rc != SK_OK || done)
			break;
	}
	yaml_parser_delete(&parser);
	if (rc == SK_OK && b.doc->root == NULL)
		rc = sk_err_set(err, SK_EINVAL, "%s:1:1: the document is empty", name);
	if (rc != SK_OK) {
		/* Containers still open were attached already and go with the
		 * tree; only a key waiting for its value is not yet reachable. */
		for (int i = 0; i < b.depth; i++)
			node_free(b.stack[i].key);
		sk_yaml_destroy(b.doc);
		return rc;
	}
	*out = b.doc;
	return SK_OK;
}

int
sk_yaml_load(const char *path, sk_yaml_doc **out, sk_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = sk_file_read(path, SK_YAML_MAX_BYTES, &text, &len, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_yaml_parse(path, text, len, out, err);
	free(text);
	return rc;
}

bool
sk_yaml_is_null(const sk_yaml_node *node)
{
	if (node == NULL || node->kind != SK_YAML_SCALAR || node->quoted)
		return false;
	return node->len == 0 || strcmp(node->text, "~") == 0 ||
	    strcmp(node->text, "null") == 0 ||
	    strcmp(node->text, "Null") == 0 || strcmp(node->text, "NULL") == 0;
}

const char *
sk_yaml_describe(const sk_yaml_node *node)
{
	if (node == NULL)
		return "nothing";
	switch (node->kind) {
	case SK_YAML_SCALAR:
		return sk_yaml_is_null(node) ? "null" : "a string";
	case SK_YAML_SEQUENCE:
		return "a list";
	case SK_YAML_MAPPING:
		return "a mapping";
	default:
		return "an unknown node";
	}
}

int
sk_yaml_error(sk_err *err, int code, const sk_yaml_node *node, const char *fmt, ...)
{
	char what[SK_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return sk_err_set(err, code, "%s:%d:%d: %s%s%s", node->file, node->line,
	    node->col, node->path, node->path[0] ? ": " : "", what);
}

/* "a string \"af\"" or "a list": what a wrong value was, with the value
 * itself when it is short enough to help. */
static int
wrong_type(sk_err *err, const sk_yaml_node *node, const char *expected, const char *plural)
{
	if (node->kind == SK_YAML_SCALAR && !sk_yaml_is_null(node))
		return sk_yaml_error(err, SK_EINVAL, node,
		    "expected %s%s, got a string \"%.60s\"", expected, plural,
		    node->text);
	return sk_yaml_error(err, SK_EINVAL, node, "expected %s%s, got %s",
	    expected, plural, sk_yaml_describe(node));
}

int
sk_yaml_expect(const sk_yaml_node *node, int kind, const char *what, sk_err *err)
{
	if (node->kind == kind && !sk_yaml_is_null(node))
		return SK_OK;
	return wrong_type(err, node, what, "");
}

const sk_yaml_node *
sk_yaml_get(const sk_yaml_node *map, const char *key)
{
	size_t klen = strlen(key);

	if (map == NULL || map->kind != SK_YAML_MAPPING)
		return NULL;
	for (size_t i = 0; i < map->npairs; i++) {
		const sk_yaml_node *k = map->pairs[i].key;

		if (k->len == klen && memcmp(k->text, key, klen) == 0)
			return map->pairs[i].value;
	}
	return NULL;
}

int
sk_yaml_check_keys(const sk_yaml_node *map, const char *const *allowed, sk_err *err)
{
	char list[512];
	size_t used = 0;

	if (map == NULL || map->kind != SK_YAML_MAPPING)
		return SK_OK;
	for (size_t i = 0; i < map->npairs; i++) {
		const sk_yaml_node *k = map->pairs[i].key;
		bool known = false;

		for (size_t j = 0; allowed[j] != NULL && !known; j++)
			known = strlen(allowed[j]) == k->len &&
			    memcmp(allowed[j], k->text, k->len) == 0;
		if (known)
			continue;
		list[0] = '\0';
		for (size_t j = 0; allowed[j] != NULL && used < sizeof(list); j++) {
			int n = snprintf(list + used, sizeof(list) - used,
			    "%s%s", j ? ", " : "", allowed[j]);

			if (n < 0)
				break;
			used += (size_t)n;
		}
		return sk_yaml_error(err, SK_EINVAL, k,
		    "unknown key \"%.80s\" (allowed: %s)", k->text, list);
	}
	return SK_OK;
}

int
sk_yaml_node_string(const sk_yaml_node *node, int flags, const char *what,
    char **out, sk_err *err)
{
	char *copy;

	if (node->kind != SK_YAML_SCALAR || sk_yaml_is_null(node))
		return wrong_type(err, node, what, "");
	if (strlen(node->text) != node->len)
		return sk_yaml_error(err, SK_EINVAL, node,
		    "expected %s, got a string holding a NUL byte", what);
	if ((flags & SK_YAML_NONEMPTY) && node->len == 0)
		return sk_yaml_error(err, SK_EINVAL, node,
		    "expected %s, got an empty string", what);
	copy = sk_strdup(node->text);
	if (copy == NULL)
		return sk_err_set(err, SK_ENOMEM, "load %s: out of memory", node->file);
	*out = copy;
	return SK_OK;
}

/* The value of key, or NULL after checking that an absent or null value
 * is allowed. *rc tells the two NULL cases apart. */
static const sk_yaml_node *
lookup(const sk_yaml_node *map, const char *key, int flags, const char *what,
    int *rc, sk_err *err)
{
	const sk_yaml_node *v = sk_yaml_get(map, key);

	*rc = SK_OK;
	if (v != NULL && !sk_yaml_is_null(v))
		return v;
	if (!(flags & SK_YAML_REQUIRED))
		return NULL;
	if (v == NULL)
		*rc = sk_yaml_error(
		    err, SK_EINVAL, map, "missing required key \"%s\"", key);
	else
		*rc = sk_yaml_error(err, SK_EINVAL, v, "expected %s, got null", what);
	return NULL;
}

int
sk_yaml_string(const sk_yaml_node *map, const char *key, int flags, char **out,
    sk_err *err)
{
	const sk_yaml_node *v;
	int rc;

	v = lookup(map, key, flags, "a string", &rc, err);
	if (v == NULL) {
		if (rc == SK_OK)
			*out = NULL;
		return rc;
	}
	return sk_yaml_node_string(v, flags, "a string", out, err);
}

int
sk_yaml_name(const sk_yaml_node *map, const char *key, const char *what,
    char **out, sk_err *err)
{
	char *s = NULL;
	int rc;

	rc = sk_yaml_string(map, key, SK_YAML_REQUIRED | SK_YAML_NONEMPTY, &s, err);
	if (rc != SK_OK)
		return rc;
	if (!sk_name_valid(s)) {
		rc = sk_yaml_error(err, SK_EINVAL, sk_yaml_get(map, key),
		    "\"%.80s\" is not a valid %s name: use 1 to 63 characters from "
		    "A-Z a-z 0-9 _ . - not starting with . or -",
		    s, what);
		free(s);
		return rc;
	}
	*out = s;
	return SK_OK;
}

int
sk_yaml_string_list(const sk_yaml_node *map, const char *key, int flags,
    const char *what, char ***out, size_t *n, sk_err *err)
{
	const sk_yaml_node *v;
	char **list;
	int rc;

	v = lookup(map, key, flags, "a list", &rc, err);
	if (v == NULL) {
		if (rc == SK_OK) {
			*out = NULL;
			*n = 0;
		}
		return rc;
	}
	if (v->kind != SK_YAML_SEQUENCE)
		return wrong_type(err, v, "a list of ", what);
	if ((flags & SK_YAML_NONEMPTY) && v->nitems == 0)
		return sk_yaml_error(err, SK_EINVAL, v,
		    "expected a list of %s, got an empty list", what);
	list = calloc(v->nitems ? v->nitems : 1, sizeof(*list));
	if (list == NULL)
		return sk_err_set(err, SK_ENOMEM, "load %s: out of memory", v->file);
	for (size_t i = 0; i < v->nitems; i++) {
		rc = sk_yaml_node_string(
		    v->items[i], SK_YAML_NONEMPTY, "a string", &list[i], err);
		if (rc != SK_OK) {
			sk_strv_free(list, i);
			return rc;
		}
	}
	*out = list;
	*n = v->nitems;
	return SK_OK;
}

int
sk_yaml_bool(const sk_yaml_node *map, const char *key, bool dflt, bool *out, sk_err *err)
{
	const sk_yaml_node *v = sk_yaml_get(map, key);

	if (v == NULL || sk_yaml_is_null(v)) {
		*out = dflt;
		return SK_OK;
	}
	if (v->kind == SK_YAML_SCALAR) {
		if (strcasecmp(v->text, "true") == 0 ||
		    strcasecmp(v->text, "yes") == 0) {
			*out = true;
			return SK_OK;
		}
		if (strcasecmp(v->text, "false") == 0 ||
		    strcasecmp(v->text, "no") == 0) {
			*out = false;
			return SK_OK;
		}
	}
	return wrong_type(err, v, "true or false", "");
}

int
sk_yaml_int(const sk_yaml_node *map, const char *key, int64_t dflt, int64_t min,
    int64_t max, int64_t *out, sk_err *err)
{
	const sk_yaml_node *v = sk_yaml_get(map, key);
	const char *p;
	char *end;
	long long value;

	if (v == NULL || sk_yaml_is_null(v)) {
		*out = dflt;
		return SK_OK;
	}
	if (v->kind != SK_YAML_SCALAR)
		goto bad;
	/* Digits only: strtoll alone would take " 12", "0x1f" or "12abc". */
	p = v->text[0] == '-' || v->text[0] == '+' ? v->text + 1 : v->text;
	if (*p == '\0' || strspn(p, "0123456789") != strlen(p))
		goto bad;
	errno = 0;
	value = strtoll(v->text, &end, 10);
	if (errno != 0 || *end != '\0' || value < min || value > max)
		goto bad;
	*out = value;
	return SK_OK;
bad:
	if (v->kind == SK_YAML_SCALAR)
		return sk_yaml_error(err, SK_EINVAL, v,
		    "expected an integer from %" PRId64 " to %" PRId64 ", got \"%.60s\"",
		    min, max, v->text);
	return sk_yaml_error(err, SK_EINVAL, v,
	    "expected an integer from %" PRId64 " to %" PRId64 ", got %s", min,
	    max, sk_yaml_describe(v));
}

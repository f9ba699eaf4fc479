/* sk_yaml: the YAML that people write, loaded into a small tree of scalar,
 * list and mapping nodes that remember where they came from, with typed
 * accessors whose errors point at the offending line and column.
 *
 * Ownership: an sk_yaml_doc owns every node reachable from it; nodes and
 * their strings stay valid until sk_yaml_destroy. Accessors that return a
 * char * or char ** give the caller a new copy to free.
 *
 * Errors read "<file>:<line>:<col>: <path>: <what is wrong>", where path
 * names the node inside the document ("phases[1].regions", list indexes
 * from 0) and is left out for the root. Lines and columns count from 1.
 *
 * Deliberately smaller than YAML: one document per file, at most
 * SK_YAML_MAX_BYTES and SK_YAML_MAX_DEPTH levels, no anchors or aliases
 * (a config must read the same to a person as to the program), scalar
 * mapping keys only, and no duplicate keys.
 */
#ifndef SK_YAML_H
#define SK_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"

#define SK_YAML_MAX_BYTES (1024 * 1024)
#define SK_YAML_MAX_DEPTH 64

enum sk_yaml_kind {
	SK_YAML_SCALAR = 1,
	SK_YAML_SEQUENCE,
	SK_YAML_MAPPING,
};

typedef struct sk_yaml_node sk_yaml_node;

typedef struct sk_yaml_pair {
	sk_yaml_node *key; /* always a scalar */
	sk_yaml_node *value;
} sk_yaml_pair;

/* Read-only for callers. */
struct sk_yaml_node {
	int kind;             /* enum sk_yaml_kind */
	int line;             /* 1-based */
	int col;              /* 1-based */
	const char *file;     /* the document's name, owned by the document */
	char *path;           /* "" for the root, else "a.b[2].c" */
	char *text;           /* SK_YAML_SCALAR: NUL-terminated value */
	size_t len;           /* length of text; may hold NULs if escaped */
	bool quoted;          /* scalar was quoted or a block scalar */
	sk_yaml_node **items; /* SK_YAML_SEQUENCE */
	size_t nitems;
	sk_yaml_pair *pairs; /* SK_YAML_MAPPING, in document order */
	size_t npairs;
};

typedef struct sk_yaml_doc sk_yaml_doc;

/* Flags for the accessors. */
#define SK_YAML_REQUIRED 0x1 /* the key must be present and not null */
#define SK_YAML_NONEMPTY 0x2 /* a string or list must not be empty */

/* Load the file at path. Fails with SK_EIO if it cannot be read, and with
 * SK_EINVAL for a file over SK_YAML_MAX_BYTES, a libyaml parse error
 * ("<file>:<line>:<col>: <problem> <context>"), an empty file, more than
 * one document, an anchor or alias, a non-scalar key, a duplicate key or
 * nesting deeper than SK_YAML_MAX_DEPTH. On success *out is owned by the
 * caller (sk_yaml_destroy); on failure *out is untouched and nothing is
 * allocated. */
int sk_yaml_load(const char *path, sk_yaml_doc **out, sk_err *err) SK_WARN_UNUSED;

/* Like sk_yaml_load, from len bytes of text; name is used in errors and
 * copied. */
int sk_yaml_parse(const char *name, const char *text, size_t len,
    sk_yaml_doc **out, sk_err *err) SK_WARN_UNUSED;

/* Free a document and all its nodes. Accepts NULL. */
void sk_yaml_destroy(sk_yaml_doc *doc);

/* The root node; never NULL for a loaded document. */
const sk_yaml_node *sk_yaml_root(const sk_yaml_doc *doc);

/* True for a plain scalar reading "", "~", "null", "Null" or "NULL". */
bool sk_yaml_is_null(const sk_yaml_node *node);

/* What a node is, for messages: "a string", "null", "a list",
 * "a mapping". */
const char *sk_yaml_describe(const sk_yaml_node *node);

/* Set err (code) to "<file>:<line>:<col>: <path>: <formatted message>"
 * for node and return code. */
int sk_yaml_error(sk_err *err, int code, const sk_yaml_node *node,
    const char *fmt, ...) SK_PRINTF(4, 5);

/* SK_OK if node (not NULL) is of kind and not null, else SK_EINVAL with
 * "expected <what>, got <sk_yaml_describe(node)>". what reads like
 * "a mapping". */
int sk_yaml_expect(const sk_yaml_node *node, int kind, const char *what,
    sk_err *err) SK_WARN_UNUSED;

/* The value of key in map, or NULL if map is not a mapping or lacks key. */
const sk_yaml_node *sk_yaml_get(const sk_yaml_node *map, const char *key);

/* SK_OK if every key of map is one of the NULL-terminated allowed list;
 * else SK_EINVAL at the first unknown key, naming it and the allowed
 * keys. */
int sk_yaml_check_keys(const sk_yaml_node *map, const char *const *allowed,
    sk_err *err) SK_WARN_UNUSED;

/* A scalar node as a string: SK_EINVAL if node is not a scalar, is null,
 * holds a NUL byte, or (with SK_YAML_NONEMPTY) is empty. what describes
 * the expected value in errors ("a region name"). On success *out is a
 * new string the caller frees. */
int sk_yaml_node_string(const sk_yaml_node *node, int flags, const char *what,
    char **out, sk_err *err) SK_WARN_UNUSED;

/* map[key] as a string, checked as by sk_yaml_node_string. An absent or
 * null key is an error with SK_YAML_REQUIRED (reported at map); otherwise
 * *out is set to NULL and SK_OK returned. On failure *out is untouched. */
int sk_yaml_string(const sk_yaml_node *map, const char *key, int flags,
    char **out, sk_err *err) SK_WARN_UNUSED;

/* map[key] as a required name that sk_name_valid accepts; what names the
 * kind of name in errors ("region", "step"). Same ownership as
 * sk_yaml_string. */
int sk_yaml_name(const sk_yaml_node *map, const char *key, const char *what,
    char **out, sk_err *err) SK_WARN_UNUSED;

/* map[key] as a list of strings: the value must be a sequence (block or
 * flow, `[a, b]`) of non-null scalars; a single scalar is refused. what
 * names the items in plural ("region names") for errors such as
 * "expected a list of region names, got a mapping". Absent or null
 * without SK_YAML_REQUIRED gives *out = NULL, *n = 0. On success *out is a
 * new array of new strings (caller frees each, then the array); on
 * failure *out and *n are untouched. */
int sk_yaml_string_list(const sk_yaml_node *map, const char *key, int flags,
    const char *what, char ***out, size_t *n, sk_err *err) SK_WARN_UNUSED;

/* map[key] as a boolean: true/false/yes/no in any case. Absent or null
 * gives dflt. */
int sk_yaml_bool(const sk_yaml_node *map, const char *key, bool dflt, bool *out,
    sk_err *err) SK_WARN_UNUSED;

/* map[key] as a decimal integer in [min, max]. Absent or null gives
 * dflt. */
int sk_yaml_int(const sk_yaml_node *map, const char *key, int64_t dflt,
    int64_t min, int64_t max, int64_t *out, sk_err *err) SK_WARN_UNUSED;

#endif

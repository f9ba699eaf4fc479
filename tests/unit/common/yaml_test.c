/* Unit tests for sk_yaml: the node tree, positions and paths, what the
 * loader refuses, and the typed accessors' errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sk_util.h"
#include "sk_yaml.h"

#define assert_msg(err, sub)                                \
do {                                                        \
if (strstr((err)->msg, (sub)) == NULL)                      \
fail_msg("message \"%s\" lacks \"%s\"", (err)->msg, (sub)); \
} while (0)

static sk_yaml_doc *
parse_ok(const char *text)
{
	sk_yaml_doc *doc = NULL;
	sk_err err;

	sk_err_clear(&err);
	if (sk_yaml_parse("t.yaml", text, strlen(text), &doc, &err) != SK_OK)
		fail_msg("parse failed: %s", err.msg);
	assert_non_null(doc);
	return doc;
}

/* Parse text that must fail with code and a message containing sub; the
 * output pointer must be left alone. */
static void
parse_fails_len(const char *text, size_t len, int code, const char *sub)
{
	sk_yaml_doc *sentinel = (sk_yaml_doc *)&sentinel;
	sk_yaml_doc *doc = sentinel;
	sk_err err;

	sk_err_clear(&err);
	assert_int_equal(sk_yaml_parse("t.yaml", text, len, &doc, &err), code);
	assert_int_equal(err.code, code);
	assert_ptr_equal(doc, sentinel);
	assert_msg(&err, sub);
}

static void
parse_fails(const char *text, const char *sub)
{
	parse_fails_len(text, strlen(text), SK_EINVAL, sub);
}

static void
test_yaml_builds_tree_with_positions_and_paths(void **state)
{
	sk_yaml_doc *doc;
	const sk_yaml_node *root, *phases, *p1, *regions, *flag;

	(void)state;
	doc = parse_ok("name: demo\n"
		       "phases:\n"
		       "  - name: canary\n"
		       "    regions: [af, in]\n"
		       "  - name: rest\n"
		       "    regions:\n"
		       "      - ksa\n"
		       "flag: \"yes\"\n");
	root = sk_yaml_root(doc);
	assert_int_equal(root->kind, SK_YAML_MAPPING);
	assert_int_equal(root->npairs, 3);
	assert_string_equal(root->path, "");
	assert_string_equal(sk_yaml_get(root, "name")->text, "demo");
	assert_int_equal(sk_yaml_get(root, "name")->line, 1);
	assert_int_equal(sk_yaml_get(root, "name")->col, 7);
	phases = sk_yaml_get(root, "phases");
	assert_int_equal(phases->kind, SK_YAML_SEQUENCE);
	assert_int_equal(phases->nitems, 2);
	assert_string_equal(phases->path, "phases");
	p1 = phases->items[1];
	assert_int_equal(p1->kind, SK_YAML_MAPPING);
	assert_string_equal(p1->path, "phases[1]");
	assert_int_equal(p1->line, 5);
	assert_int_equal(p1->col, 5);
	regions = sk_yaml_get(phases->items[0], "regions");
	assert_int_equal(regions->kind, SK_YAML_SEQUENCE);
	assert_int_equal(regions->line, 4);
	assert_int_equal(regions->col, 14);
	assert_string_equal(regions->items[1]->path, "phases[0].regions[1]");
	assert_string_equal(regions->items[1]->text, "in");
	assert_int_equal(regions->items[1]->col, 19);
	assert_string_equal(sk_yaml_get(p1, "regions")->items[0]->text, "ksa");
	assert_int_equal(sk_yaml_get(p1, "regions")->items[0]->line, 7);
	flag = sk_yaml_get(root, "flag");
	assert_true(flag->quoted);
	assert_string_equal(flag->file, "t.yaml");
	assert_null(sk_yaml_get(root, "missing"));
	assert_null(sk_yaml_get(flag, "x"));
	sk_yaml_destroy(doc);
}

static void
test_yaml_reports_libyaml_error_with_position(void **state)
{
	(void)state;
	parse_fails("a: b\n  c: d\n",
	    "t.yaml:2:4: mapping values are not allowed in this context");
	parse_fails("key: [a, b\nother: 1\n",
	    "while parsing a flow sequence that started at line 1, column 6");
	parse_fails("key: [a, b\nother: 1\n", "t.yaml:2:");
	parse_fails("a: 'unterminated\n", "t.yaml:");
}

static void
test_yaml_reports_reader_errors_at_their_position(void **state)
{
	static const char nul[] = "a: b\nc: d\0e\n";

	(void)state;
	parse_fails("a: ok\nb: \xff\n", "t.yaml:2:4: invalid leading UTF-8 octet");
	parse_fails_len(nul, sizeof(nul) - 1, SK_EINVAL,
	    "t.yaml:2:5: control characters are not allowed");
}

static void
test_yaml_rejects_anchor_and_alias(void **state)
{
	(void)state;
	parse_fails("a: &x 1\nb: 2\n", "t.yaml:1:4: anchors are not supported: &x");
	parse_fails("a: &x [1]\n", "anchors are not supported: &x");
	parse_fails("a: &x {b: 1}\n", "anchors are not supported: &x");
	parse_fails("a: 1\nb: *x\n", "t.yaml:2:4: aliases are not supported: *x");
}

static void
test_yaml_rejects_duplicate_keys(void **state)
{
	char big[8192];
	size_t used = 0;

	(void)state;
	parse_fails("a: 1\nb: 2\na: 3\n",
	    "t.yaml:3:1: duplicate key \"a\" (first at line 1, column 1)");
	parse_fails("m:\n  x: 1\n  y: 2\n  x: 3\n",
	    "t.yaml:4:3: m: duplicate key \"x\" (first at line 2, column 3)");
	parse_fails("{a: 1, a: 2}\n", "t.yaml:1:8: duplicate key \"a\"");
	/* Many keys take the sorted path; the earliest repeat is reported. */
	for (int i = 0; i < 200; i++)
		used += (size_t)snprintf(
		    big + used, sizeof(big) - used, "k%03d: %d\n", i, i);
	snprintf(big + used, sizeof(big) - used, "k150: x\nk007: y\nk150: z\n");
	parse_fails(big, "t.yaml:201:1: duplicate key \"k150\" (first at line 151");
}

static void
test_yaml_rejects_documents_over_limit(void **state)
{
	char *text = malloc(SK_YAML_MAX_BYTES + 1);
	char dir[] = "/tmp/sk-yaml-XXXXXX";
	char path[64];
	sk_yaml_doc *doc = NULL;
	sk_err err;
	FILE *f;

	(void)state;
	assert_non_null(text);
	memset(text, '#', SK_YAML_MAX_BYTES + 1);
	parse_fails_len(text, SK_YAML_MAX_BYTES + 1, SK_EINVAL, "byte limit");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/big.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(
	    fwrite(text, 1, SK_YAML_MAX_BYTES + 1, f), SK_YAML_MAX_BYTES + 1);
	fclose(f);
	assert_int_equal(sk_yaml_load(path, &doc, &err), SK_EINVAL);
	assert_null(doc);
	assert_msg(&err, path);
	/* Exactly at the limit is fine. */
	text[0] = 'a';
	text[1] = ':';
	text[2] = ' ';
	text[3] = '1';
	text[4] = '\n';
	assert_int_equal(
	    sk_yaml_parse("t.yaml", text, SK_YAML_MAX_BYTES, &doc, &err), SK_OK);
	sk_yaml_destroy(doc);
	unlink(path);
	rmdir(dir);
	free(text);
}

/* n nested flow lists: "[[...]]". buf holds 2n+2 bytes. */
static void
nest(char *buf, int n)
{
	for (int i = 0; i < n; i++) {
		buf[i] = '[';
		buf[n + i] = ']';
	}
	buf[2 * n] = '\n';
	buf[2 * n + 1] = '\0';
}

static void
test_yaml_rejects_nesting_deeper_than_limit(void **state)
{
	char text[2 * (SK_YAML_MAX_DEPTH + 1) + 2];
	sk_yaml_doc *doc;

	(void)state;
	nest(text, SK_YAML_MAX_DEPTH + 1);
	parse_fails(text, "t.yaml:1:65: nesting deeper than 64 levels");
	nest(text, SK_YAML_MAX_DEPTH);
	doc = parse_ok(text);
	sk_yaml_destroy(doc);
}

static void
test_yaml_rejects_empty_and_multi_documents(void **state)
{
	(void)state;
	parse_fails("", "t.yaml:1:1: the document is empty");
	parse_fails("# nothing here\n", "the document is empty");
	parse_fails("a: 1\n---\nb: 2\n", "t.yaml:2:1: more than one document");
}

static void
test_yaml_rejects_complex_keys(void **state)
{
	(void)state;
	parse_fails("? [a, b]\n: c\n",
	    "t.yaml:1:3: mapping keys must be plain strings, got a list");
	parse_fails("m:\n  {a: 1}: 2\n",
	    "t.yaml:2:3: m: mapping keys must be plain strings, got a mapping");
}

static void
test_yaml_load_reports_missing_file(void **state)
{
	sk_yaml_doc *doc = NULL;
	sk_err err;

	(void)state;
	assert_int_equal(sk_yaml_load("/nonexistent/skein/x.yaml", &doc, &err), SK_EIO);
	assert_null(doc);
	assert_msg(&err, "/nonexistent/skein/x.yaml");
}

static void
test_yaml_string_accessors(void **state)
{
	sk_yaml_doc *doc;
	const sk_yaml_node *root;
	char *s = (char *)"untouched";
	sk_err err;

	(void)state;
	doc = parse_ok("name: demo\n"
		       "empty: \"\"\n"
		       "nothing:\n"
		       "tilde: ~\n"
		       "list: [a]\n"
		       "nul: \"a\\0b\"\n"
		       "num: 12\n"
		       "bad: -x\n");
	root = sk_yaml_root(doc);
	assert_int_equal(
	    sk_yaml_string(root, "name", SK_YAML_REQUIRED, &s, &err), SK_OK);
	assert_string_equal(s, "demo");
	free(s);
	s = (char *)"untouched";
	assert_int_equal(sk_yaml_string(root, "num", SK_YAML_REQUIRED, &s, &err), SK_OK);
	assert_string_equal(s, "12");
	free(s);
	s = (char *)"untouched";
	assert_int_equal(sk_yaml_string(root, "absent", 0, &s, &err), SK_OK);
	assert_null(s);
	s = (char *)"untouched";
	assert_int_equal(sk_yaml_string(root, "tilde", 0, &s, &err), SK_OK);
	assert_null(s);

	s = (char *)"untouched";
	assert_int_equal(
	    sk_yaml_string(root, "absent", SK_YAML_REQUIRED, &s, &err), SK_EINVAL);
	assert_string_equal(s, "untouched");
	assert_string_equal(err.msg, "t.yaml:1:1: missing required key \"absent\"");
	assert_int_equal(
	    sk_yaml_string(root, "nothing", SK_YAML_REQUIRED, &s, &err), SK_EINVAL);
	assert_string_equal(err.msg, "t.yaml:3:9: nothing: expected a string, got null");
	assert_int_equal(sk_yaml_string(root, "empty",
			     SK_YAML_REQUIRED | SK_YAML_NONEMPTY, &s, &err),
	    SK_EINVAL);
	assert_string_equal(err.msg,
	    "t.yaml:2:8: empty: expected a string, got an empty string");
	assert_int_equal(
	    sk_yaml_string(root, "list", SK_YAML_REQUIRED, &s, &err), SK_EINVAL);
	assert_string_equal(err.msg, "t.yaml:5:7: list: expected a string, got a list");
	assert_int_equal(
	    sk_yaml_string(root, "nul", SK_YAML_REQUIRED, &s, &err), SK_EINVAL);
	assert_msg(&err,
	    "t.yaml:6:6: nul: expected a string, got a string holding a NUL");
	assert_int_equal(sk_yaml_name(root, "bad", "region", &s, &err), SK_EINVAL);
	assert_msg(&err, "t.yaml:8:6: bad: \"-x\" is not a valid region name");
	assert_string_equal(s, "untouched");
	assert_int_equal(sk_yaml_name(root, "name", "region", &s, &err), SK_OK);
	assert_string_equal(s, "demo");
	free(s);
	sk_yaml_destroy(doc);
}

static void
test_yaml_string_list_accessor(void **state)
{
	sk_yaml_doc *doc;
	const sk_yaml_node *root;
	char **list = NULL;
	size_t n = 99;
	sk_err err;

	(void)state;
	doc = parse_ok("flow: [af, in]\n"
		       "block:\n"
		       "  - ksa\n"
		       "scalar: af\n"
		       "map:\n"
		       "  a: b\n"
		       "nested: [a, [b]]\n"
		       "none: []\n");
	root = sk_yaml_root(doc);
	assert_int_equal(sk_yaml_string_list(root, "flow", SK_YAML_REQUIRED,
			     "region names", &list, &n, &err),
	    SK_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0], "af");
	assert_string_equal(list[1], "in");
	sk_strv_free(list, n);
	assert_int_equal(sk_yaml_string_list(root, "block", SK_YAML_REQUIRED,
			     "region names", &list, &n, &err),
	    SK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0], "ksa");
	sk_strv_free(list, n);
	assert_int_equal(
	    sk_yaml_string_list(root, "absent", 0, "region names", &list, &n, &err),
	    SK_OK);
	assert_null(list);
	assert_int_equal(n, 0);

	list = (char **)&list;
	n = 99;
	assert_int_equal(sk_yaml_string_list(root, "map", SK_YAML_REQUIRED,
			     "region names", &list, &n, &err),
	    SK_EINVAL);
	assert_string_equal(err.msg,
	    "t.yaml:6:3: map: expected a list of region names, got a mapping");
	assert_int_equal(sk_yaml_string_list(root, "scalar", SK_YAML_REQUIRED,
			     "region names", &list, &n, &err),
	    SK_EINVAL);
	assert_string_equal(err.msg,
	    "t.yaml:4:9: scalar: expected a list of region names, got a string \"af\"");
	assert_int_equal(sk_yaml_string_list(root, "nested", SK_YAML_REQUIRED,
			     "region names", &list, &n, &err),
	    SK_EINVAL);
	assert_string_equal(
	    err.msg, "t.yaml:7:13: nested[1]: expected a string, got a list");
	assert_int_equal(sk_yaml_string_list(root, "none", SK_YAML_REQUIRED | SK_YAML_NONEMPTY,
			     "region names", &list, &n, &err),
	    SK_EINVAL);
	assert_string_equal(err.msg,
	    "t.yaml:8:7: none: expected a list of region names, got an empty list");
	assert_int_equal(sk_yaml_string_list(root, "absent", SK_YAML_REQUIRED,
			     "region names", &list, &n, &err),
	    SK_EINVAL);
	assert_ptr_equal(list, (char **)&list);
	assert_int_equal(n, 99);
	sk_yaml_destroy(doc);
}

static void
test_yaml_bool_and_int_accessors(void **state)
{
	sk_yaml_doc *doc;
	const sk_yaml_node *root;
	bool b = false;
	int64_t v = -1;
	sk_err err;

	(void)state;
	doc = parse_ok(
	    "t: true\nf: False\ny: yes\nn: NO\nm: maybe\nl: [1]\n"
	    "i: 500\nneg: -3\nhex: 0x10\nsp: ' 12'\nbig: 99999999999999999999\n");
	root = sk_yaml_root(doc);
	assert_int_equal(sk_yaml_bool(root, "t", false, &b, &err), SK_OK);
	assert_true(b);
	assert_int_equal(sk_yaml_bool(root, "f", true, &b, &err), SK_OK);
	assert_false(b);
	assert_int_equal(sk_yaml_bool(root, "y", false, &b, &err), SK_OK);
	assert_true(b);
	assert_int_equal(sk_yaml_bool(root, "n", true, &b, &err), SK_OK);
	assert_false(b);
	assert_int_equal(sk_yaml_bool(root, "absent", true, &b, &err), SK_OK);
	assert_true(b);
	assert_int_equal(sk_yaml_bool(root, "m", false, &b, &err), SK_EINVAL);
	assert_string_equal(err.msg,
	    "t.yaml:5:4: m: expected true or false, got a string \"maybe\"");
	assert_int_equal(sk_yaml_bool(root, "l", false, &b, &err), SK_EINVAL);
	assert_string_equal(err.msg, "t.yaml:6:4: l: expected true or false, got a list");

	assert_int_equal(sk_yaml_int(root, "i", 1, 10, 1000, &v, &err), SK_OK);
	assert_int_equal(v, 500);
	assert_int_equal(sk_yaml_int(root, "neg", 1, -10, 10, &v, &err), SK_OK);
	assert_int_equal(v, -3);
	assert_int_equal(sk_yaml_int(root, "absent", 7, 1, 10, &v, &err), SK_OK);
	assert_int_equal(v, 7);
	v = 42;
	assert_int_equal(sk_yaml_int(root, "i", 1, 10, 100, &v, &err), SK_EINVAL);
	assert_string_equal(err.msg,
	    "t.yaml:7:4: i: expected an integer from 10 to 100, got \"500\"");
	assert_int_equal(v, 42);
	assert_int_equal(sk_yaml_int(root, "hex", 1, 0, 100, &v, &err), SK_EINVAL);
	assert_msg(&err, "got \"0x10\"");
	assert_int_equal(sk_yaml_int(root, "sp", 1, 0, 100, &v, &err), SK_EINVAL);
	assert_int_equal(sk_yaml_int(root, "big", 1, 0, 100, &v, &err), SK_EINVAL);
	assert_int_equal(sk_yaml_int(root, "l", 1, 0, 100, &v, &err), SK_EINVAL);
	assert_msg(&err, "got a list");
	assert_int_equal(v, 42);
	sk_yaml_destroy(doc);
}

static void
test_yaml_check_keys_names_unknown_and_allowed(void **state)
{
	static const char *const allowed[] = { "name", "regions", "residency", NULL };
	sk_yaml_doc *doc;
	const sk_yaml_node *p0;
	sk_err err;

	(void)state;
	doc = parse_ok("phases:\n  - name: a\n    regoins: [af]\n");
	p0 = sk_yaml_get(sk_yaml_root(doc), "phases")->items[0];
	assert_int_equal(sk_yaml_check_keys(p0, allowed, &err), SK_EINVAL);
	assert_string_equal(err.msg,
	    "t.yaml:3:5: phases[0]: unknown key \"regoins\" "
	    "(allowed: name, regions, residency)");
	sk_yaml_destroy(doc);
	doc = parse_ok("name: a\nresidency: [x]\n");
	assert_int_equal(sk_yaml_check_keys(sk_yaml_root(doc), allowed, &err), SK_OK);
	sk_yaml_destroy(doc);
}

static void
test_yaml_expect_describes_what_it_got(void **state)
{
	sk_yaml_doc *doc;
	const sk_yaml_node *root;
	sk_err err;

	(void)state;
	doc = parse_ok("phases:\n  - name: a\n  - {name: b}\n");
	root = sk_yaml_root(doc);
	assert_int_equal(
	    sk_yaml_expect(root, SK_YAML_MAPPING, "a mapping", &err), SK_OK);
	assert_int_equal(sk_yaml_expect(sk_yaml_get(root, "phases")->items[1],
			     SK_YAML_SEQUENCE, "a list of region names", &err),
	    SK_EINVAL);
	assert_string_equal(err.msg,
	    "t.yaml:3:5: phases[1]: expected a list of region names, got a mapping");
	sk_yaml_destroy(doc);
	doc = parse_ok("~\n");
	assert_int_equal(
	    sk_yaml_expect(sk_yaml_root(doc), SK_YAML_MAPPING, "a mapping", &err),
	    SK_EINVAL);
	assert_string_equal(err.msg, "t.yaml:1:1: expected a mapping, got null");
	sk_yaml_destroy(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml_builds_tree_with_positions_and_paths),
		cmocka_unit_test(test_yaml_reports_libyaml_error_with_position),
		cmocka_unit_test(test_yaml_reports_reader_errors_at_their_position),
		cmocka_unit_test(test_yaml_rejects_anchor_and_alias),
		cmocka_unit_test(test_yaml_rejects_duplicate_keys),
		cmocka_unit_test(test_yaml_rejects_documents_over_limit),
		cmocka_unit_test(test_yaml_rejects_nesting_deeper_than_limit),
		cmocka_unit_test(test_yaml_rejects_empty_and_multi_documents),
		cmocka_unit_test(test_yaml_rejects_complex_keys),
		cmocka_unit_test(test_yaml_load_reports_missing_file),
		cmocka_unit_test(test_yaml_string_accessors),
		cmocka_unit_test(test_yaml_string_list_accessor),
		cmocka_unit_test(test_yaml_bool_and_int_accessors),
		cmocka_unit_test(test_yaml_check_keys_names_unknown_and_allowed),
		cmocka_unit_test(test_yaml_expect_describes_what_it_got),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

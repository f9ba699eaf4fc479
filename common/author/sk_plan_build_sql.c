/* sk_plan_build_sql: the SQL files a plan names, read with care (regular
 * files inside the plan directory only, size-capped, UTF-8, no NUL) and
 * parsed as PostgreSQL would, so that a typo is reported at its line
 * before the plan is signed. */
#include "sk_plan.h"

#include <stdlib.h>
#include <string.h>

#include "sk_plan_build_int.h"
#include "sk_sql.h"
#include "sk_util.h"
#include "sk_yaml.h"

#define SQL_MAX_BYTES (8 * 1024 * 1024)

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

/* The plan directory: where yaml_path (DIR/plan.yaml) lives. */
static char *
plan_dir_of(const char *yaml_path)
{
	const char *slash = strrchr(yaml_path, '/');
	size_t n = slash == NULL ? 0 : (size_t)(slash - yaml_path);
	char *dir;

	if (slash == NULL)
		return sk_strdup(".");
	dir = malloc(n + 2);
	if (dir == NULL)
		return NULL;
	memcpy(dir, yaml_path, n == 0 ? 1 : n); /* "/plan.yaml" lives in "/" */
	dir[n == 0 ? 1 : n] = '\0';
	return dir;
}

/* Read the SQL file rel named by node. The plan may come from anyone (a
 * pull request): only a regular file inside the plan directory is read
 * (sk_file_read_in_dir), so that nothing from elsewhere on the machine
 * can be signed into the plan or quoted in a message. Errors carry the
 * line:col of the reference and the path as written. */
static int
read_sql(const char *yaml_path, const sk_yaml_node *node, const char *rel,
    char **out, sk_err *err)
{
	char *dir, *path = NULL, *text = NULL;
	size_t len = 0, bad;
	int rc;

	dir = plan_dir_of(yaml_path);
	path = sk_path_relative_to(yaml_path, rel);
	if (dir == NULL || path == NULL) {
		rc = build_oom(err, yaml_path);
		goto out;
	}
	rc = sk_file_read_in_dir(dir, rel, "SQL file", SQL_MAX_BYTES, &text, &len, err);
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
	free(dir);
	return rc;
}

/* Parse sql, named name in messages, as PostgreSQL would. A syntax error
 * reads "NAME:LINE: syntax error at or near ..."; SQL of comments only
 * is refused too. When out is not NULL it receives the script. */
int
build_parse_sql(const char *name, const char *sql, sk_sql_script **out, sk_err *err)
{
	sk_sql_script *sc = NULL;
	int rc;

	rc = sk_sql_parse(sql, name, &sc, err);
	if (rc == SK_OK && sc->nstmts == 0)
		rc = sk_err_set(err, SK_EINVAL,
		    "%s: no SQL statement in it, only comments", name);
	if (rc == SK_OK && out != NULL) {
		*out = sc;
		sc = NULL;
	}
	sk_sql_script_destroy(sc);
	return rc;
}

/* parse_sql on the file rel of plan.yaml, named as the operator would
 * open it: relative to the current directory, like plan.yaml itself. */
int
build_parse_sql_file(const char *yaml_path, const char *rel, const char *sql,
    sk_sql_script **out, sk_err *err)
{
	char *path = sk_path_relative_to(yaml_path, rel);
	int rc;

	if (path == NULL)
		return build_oom(err, yaml_path);
	rc = build_parse_sql(path, sql, out, err);
	free(path);
	return rc;
}

/* An optional SQL reference: leaves every output NULL when absent. */
int
build_step_script(const char *yaml_path, const sk_yaml_node *item, const char *key,
    int flags, char **rel, char **sql, sk_sql_script **sc, sk_err *err)
{
	int rc;

	rc = sk_yaml_string(item, key, flags | SK_YAML_NONEMPTY, rel, err);
	if (rc != SK_OK || *rel == NULL)
		return rc;
	rc = read_sql(yaml_path, sk_yaml_get(item, key), *rel, sql, err);
	if (rc == SK_OK)
		rc = build_parse_sql_file(yaml_path, *rel, *sql, sc, err);
	return rc;
}

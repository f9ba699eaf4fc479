/* cli_import_flyway: a Flyway SQL migration directory. Versioned
 * migrations V<version>__<description>.sql run in version order (parts
 * split on '.' or '_', compared as numbers); an undo script
 * U<version>__<description>.sql is that version's revert. Repeatable
 * migrations (R__), callbacks and other files are named in notes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_import.h"
#include "sk_util.h"

typedef struct flyway_file {
	const char *name; /* the file name, borrowed from the listing */
	char *version;    /* the version as written */
} flyway_file;

/* name is <prefix><version>__<desc>.sql: its version, newly allocated,
 * or NULL (also for a malformed version). */
static char *
versioned(const char *name, char prefix)
{
	const char *v = name + 1, *sep;
	char *out;
	size_t len;

	if (name[0] != prefix)
		return NULL;
	sep = strstr(v, "__");
	if (sep == NULL || sep == v)
		return NULL;
	len = (size_t)(sep - v);
	for (size_t i = 0; i < len; i++) {
		bool digit = v[i] >= '0' && v[i] <= '9';

		if (!digit && (v[i] != '.' && v[i] != '_'))
			return NULL;
		/* A separator needs digits on both sides. */
		if (!digit &&
		    (i == 0 || i + 1 == len || !(v[i - 1] >= '0' && v[i - 1] <= '9')))
			return NULL;
	}
	out = malloc(len + 1);
	if (out != NULL) {
		memcpy(out, v, len);
		out[len] = '\0';
	}
	return out;
}

static int
cmp_version(const void *a, const void *b)
{
	const flyway_file *x = a, *y = b;
	int c = cli_import_version_cmp(x->version, y->version);

	return c != 0 ? c : strcmp(x->name, y->name);
}

static bool
ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* A Flyway callback script: beforeMigrate.sql, afterEachMigrate__x.sql. */
static bool
callback(const char *name)
{
	if (strncmp(name, "before", 6) == 0)
		return name[6] >= 'A' && name[6] <= 'Z';
	if (strncmp(name, "after", 5) == 0)
		return name[5] >= 'A' && name[5] <= 'Z';
	return false;
}

static void
files_free(flyway_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(f[i].version);
	free(f);
}

static int
flyway_read(const char *dir, cli_import *imp, sk_err *err)
{
	char **names = NULL;
	size_t n = 0, nv = 0, nu = 0, no_undo = 0;
	flyway_file *vs = NULL, *us = NULL;
	int rc;

	rc = cli_import_list(dir, &names, &n, err);
	if (rc != SK_OK)
		return rc;
	vs = calloc(n + 1, sizeof(*vs));
	us = calloc(n + 1, sizeof(*us));
	if (vs == NULL || us == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "import %s: out of memory", dir);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = names[i];
		char *path = sk_path_join(dir, name), *ver;
		struct stat st;
		bool is_dir, is_reg;

		if (path == NULL) {
			rc = sk_err_set(
			    err, SK_ENOMEM, "import %s: out of memory", dir);
			goto out;
		}
		is_dir = is_reg = false;
		if (stat(path, &st) == 0) {
			is_dir = S_ISDIR(st.st_mode);
			is_reg = S_ISREG(st.st_mode);
		}
		free(path);
		if (is_dir) {
			cli_import_note(imp,
			    "%s/%s: a subdirectory, not read (import it on its own, "
			    "or move its migrations up)",
			    dir, name);
			continue;
		}
		if (!is_reg)
			continue;
		if (!ends_with(name, ".sql")) {
			cli_import_note(imp,
			    "%s/%s: not a SQL migration: not read%s", dir, name,
			    ends_with(name, ".conf") ?
				" (its settings, placeholders and schemas are not "
				"carried)" :
				"");
			continue;
		}
		if (strncmp(name, "R__", 3) == 0) {
			cli_import_note(imp,
			    "%s/%s: a repeatable migration: not carried (skein runs "
			    "a step once; make it a versioned migration)",
			    dir, name);
			continue;
		}
		if ((ver = versioned(name, 'V')) != NULL) {
			vs[nv].name = name;
			vs[nv++].version = ver;
			continue;
		}
		if ((ver = versioned(name, 'U')) != NULL) {
			us[nu].name = name;
			us[nu++].version = ver;
			continue;
		}
		if (callback(name))
			cli_import_note(imp,
			    "%s/%s: a Flyway callback: not carried (write what it "
			    "does as a step or a check)",
			    dir, name);
		else
			cli_import_note(imp,
			    "%s/%s: not a Flyway migration name "
			    "(V<version>__<description>.sql): not read",
			    dir, name);
	}
	qsort(vs, nv, sizeof(*vs), cmp_version);
	for (size_t i = 1; i < nv; i++)
		if (cli_import_version_cmp(vs[i - 1].version, vs[i].version) == 0) {
			rc = sk_err_set(err, SK_EINVAL,
			    "import %s: %s and %s have the same version %s; "
			    "Flyway refuses that too: renumber one of them",
			    dir, vs[i - 1].name, vs[i].name, vs[i].version);
			goto out;
		}
	qsort(us, nu, sizeof(*us), cmp_version);
	for (size_t i = 0; i < nu; i++) {
		bool found = false;

		if (i > 0 &&
		    cli_import_version_cmp(us[i - 1].version, us[i].version) == 0) {
			rc = sk_err_set(err, SK_EINVAL,
			    "import %s: %s and %s undo the same version %s: keep one",
			    dir, us[i - 1].name, us[i].name, us[i].version);
			goto out;
		}
		for (size_t k = 0; k < nv && !found; k++)
			found = cli_import_version_cmp(
				    vs[k].version, us[i].version) == 0;
		if (!found) {
			rc = sk_err_set(err, SK_EINVAL,
			    "import %s: %s undoes version %s, which no V%s__*.sql "
			    "migration has: remove it or add the migration",
			    dir, us[i].name, us[i].version, us[i].version);
			goto out;
		}
	}
	for (size_t i = 0; i < nv; i++) {
		cli_import_step *s;
		const flyway_file *undo = NULL;
		char id[1024], comment[1100];

		snprintf(id, sizeof(id), "%.*s", (int)(strlen(vs[i].name) - 4),
		    vs[i].name);
		snprintf(comment, sizeof(comment), "flyway: %s (version %s)",
		    vs[i].name, vs[i].version);
		rc = cli_import_step_add(imp, id, comment, &s, err);
		if (rc != SK_OK)
			goto out;
		rc = cli_import_script(imp, dir, vs[i].name, vs[i].name,
		    &s->sql, NULL, &s->no_tx, err);
		if (rc != SK_OK)
			goto out;
		if (s->sql.rel == NULL) {
			rc = sk_err_set(err, SK_EINVAL,
			    "import %s/%s: no SQL statement in it; a step needs one",
			    dir, vs[i].name);
			goto out;
		}
		for (size_t k = 0; k < nu; k++)
			if (cli_import_version_cmp(us[k].version, vs[i].version) == 0)
				undo = &us[k];
		if (undo == NULL) {
			no_undo++;
			continue;
		}
		rc = cli_import_revert(imp, dir, undo->name, s, err);
		if (rc != SK_OK)
			goto out;
	}
	if (no_undo > 0)
		cli_import_note(imp,
		    "%zu of %zu migrations have no undo script (U<version>__*.sql): "
		    "their steps have no revert",
		    no_undo, nv);
out:
	files_free(vs, nv);
	files_free(us, nu);
	sk_strv_free(names, n);
	return rc;
}

const cli_import_reader cli_import_flyway = { "flyway", flyway_read };

/* cli_import_migrate: a golang-migrate directory of
 * <version>_<title>.up.sql and <version>_<title>.down.sql, run in
 * numeric version order; the .down script is the step's revert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_import.h"
#include "sk_util.h"

typedef struct migrate_file {
	const char *name; /* borrowed from the listing */
	char *stem;       /* <version>_<title> */
	char *version;
	bool up;
} migrate_file;

/* Split name into its version, stem and direction; false when it is not
 * a golang-migrate SQL file name. */
static bool
parse_name(const char *name, migrate_file *f)
{
	size_t len = strlen(name), digits = strspn(name, "0123456789"), stem;

	if (digits == 0 || name[digits] != '_')
		return false;
	if (len > 7 && strcmp(name + len - 7, ".up.sql") == 0) {
		f->up = true;
		stem = len - 7;
	} else if (len > 9 && strcmp(name + len - 9, ".down.sql") == 0) {
		f->up = false;
		stem = len - 9;
	} else {
		return false;
	}
	if (stem < digits)
		return false;
	f->name = name;
	f->stem = malloc(stem + 1);
	f->version = malloc(digits + 1);
	if (f->stem == NULL || f->version == NULL)
		return true; /* the caller sees the NULLs */
	memcpy(f->stem, name, stem);
	f->stem[stem] = '\0';
	memcpy(f->version, name, digits);
	f->version[digits] = '\0';
	return true;
}

static int
cmp_file(const void *a, const void *b)
{
	const migrate_file *x = a, *y = b;
	int c = cli_import_version_cmp(x->version, y->version);

	if (c != 0)
		return c;
	if (x->up != y->up)
		return x->up ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
migrate_read(const char *dir, cli_import *imp, sk_err *err)
{
	char **names = NULL;
	size_t n = 0, nf = 0, no_down = 0, nup = 0;
	migrate_file *fs = NULL;
	int rc;

	rc = cli_import_list(dir, &names, &n, err);
	if (rc != SK_OK)
		return rc;
	fs = calloc(n + 1, sizeof(*fs));
	if (fs == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "import %s: out of memory", dir);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char *path = sk_path_join(dir, names[i]);
		struct stat st;
		bool reg;

		if (path == NULL) {
			rc = sk_err_set(
			    err, SK_ENOMEM, "import %s: out of memory", dir);
			goto out;
		}
		reg = stat(path, &st) == 0 && S_ISREG(st.st_mode);
		free(path);
		if (!reg)
			continue;
		if (!parse_name(names[i], &fs[nf])) {
			cli_import_note(imp,
			    "%s/%s: not a golang-migrate SQL file "
			    "(<version>_<title>.up.sql or .down.sql): not read",
			    dir, names[i]);
			continue;
		}
		if (fs[nf].stem == NULL || fs[nf].version == NULL) {
			nf++;
			rc = sk_err_set(
			    err, SK_ENOMEM, "import %s: out of memory", dir);
			goto out;
		}
		nf++;
	}
	qsort(fs, nf, sizeof(*fs), cmp_file);
	for (size_t i = 0; i < nf; i++) {
		const migrate_file *f = &fs[i], *down = NULL;
		cli_import_step *s;
		char comment[1100];

		if (i > 0 && fs[i - 1].up == f->up &&
		    cli_import_version_cmp(fs[i - 1].version, f->version) == 0) {
			rc = sk_err_set(err, SK_EINVAL,
			    "import %s: %s and %s have the same version %s; "
			    "golang-migrate refuses that too: renumber one of them",
			    dir, fs[i - 1].name, f->name, f->version);
			goto out;
		}
		if (!f->up) {
			if (i == 0 || !fs[i - 1].up ||
			    cli_import_version_cmp(fs[i - 1].version, f->version) != 0) {
				rc = sk_err_set(err, SK_EINVAL,
				    "import %s: %s has no %s.up.sql (a down "
				    "migration without its up): add it or remove the "
				    ".down.sql",
				    dir, f->name, f->stem);
				goto out;
			}
			continue;
		}
		if (i + 1 < nf && !fs[i + 1].up &&
		    cli_import_version_cmp(fs[i + 1].version, f->version) == 0)
			down = &fs[i + 1];
		nup++;
		snprintf(comment, sizeof(comment),
		    "golang-migrate: %s (version %s)", f->name, f->version);
		rc = cli_import_step_add(imp, f->stem, comment, &s, err);
		if (rc != SK_OK)
			goto out;
		rc = cli_import_script(
		    imp, dir, f->name, f->name, &s->sql, NULL, &s->no_tx, err);
		if (rc != SK_OK)
			goto out;
		if (s->sql.rel == NULL) {
			rc = sk_err_set(err, SK_EINVAL,
			    "import %s/%s: no SQL statement in it; a step needs one",
			    dir, f->name);
			goto out;
		}
		if (down == NULL) {
			no_down++;
			continue;
		}
		rc = cli_import_revert(imp, dir, down->name, s, err);
		if (rc != SK_OK)
			goto out;
	}
	if (no_down > 0)
		cli_import_note(imp,
		    "%zu of %zu migrations have no .down.sql: their steps have no "
		    "revert",
		    no_down, nup);
out:
	for (size_t i = 0; i < nf; i++) {
		free(fs[i].stem);
		free(fs[i].version);
	}
	free(fs);
	sk_strv_free(names, n);
	return rc;
}

const cli_import_reader cli_import_migrate = { "golang-migrate", migrate_read };

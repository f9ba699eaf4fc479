/* cli_import: `skein plan import --from TOOL DIR -o PLAN_DIR`. Reads the
 * source with its tool's reader, cleans each script (transaction control
 * out: skein wraps each step itself), writes plan.yaml and the scripts
 * into a new directory in one rename, and prints on stderr what could not
 * be carried. Nothing is written unless the whole source was read. */
#include "cli_import.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "sk_strbuf.h"
#include "sk_util.h"

static const cli_import_reader *const readers[] = {
	&cli_import_flyway,
	&cli_import_migrate,
	&cli_import_sqitch,
};

/* ---- writing the plan directory ----------------------------------------- */

/* s as a YAML double-quoted scalar. */
static void
yaml_quoted(sk_strbuf *b, const char *s)
{
	sk_strbuf_add(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			sk_strbuf_addf(b, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			sk_strbuf_addf(b, "\\x%02x", *p);
		else
			sk_strbuf_addf(b, "%c", *p);
	}
	sk_strbuf_add(b, "\"");
}

/* s as the rest of a YAML comment line: control characters become
 * spaces. */
static void
yaml_comment(sk_strbuf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		sk_strbuf_addf(b, "%c", *p < 0x20 || *p == 0x7f ? ' ' : *p);
}

typedef struct import_phase {
	char *name;
	char **regions;
	size_t nregions;
} import_phase;

static char *
plan_yaml(const cli_import *imp, const char *tool, const char *src,
    const char *name, const import_phase *phases, size_t nphases)
{
	sk_strbuf b = { 0 };

	sk_strbuf_addf(&b, "# Imported by skein plan import --from %s from ", tool);
	yaml_comment(&b, src);
	sk_strbuf_add(&b,
	    ".\n# Steps keep the source's ids and order; see "
	    "docs/operations.md, \"Importing migrations\".\n");
	/* Names are quoted: a step could be called null. */
	sk_strbuf_add(&b, "name: ");
	yaml_quoted(&b, name);
	sk_strbuf_add(&b, "\nphases:\n");
	for (size_t i = 0; i < nphases; i++) {
		sk_strbuf_add(&b, "  - name: ");
		yaml_quoted(&b, phases[i].name);
		sk_strbuf_add(&b, "\n    regions: [");
		for (size_t r = 0; r < phases[i].nregions; r++) {
			sk_strbuf_add(&b, r > 0 ? ", " : "");
			yaml_quoted(&b, phases[i].regions[r]);
		}
		sk_strbuf_add(&b, "]\n");
	}
	if (imp->nrequires > 0) {
		sk_strbuf_add(&b, "preflight:\n  requires:\n");
		for (size_t i = 0; i < imp->nrequires; i++) {
			sk_strbuf_add(&b, "    - plan: ");
			yaml_quoted(&b, imp->requires[i].plan);
			sk_strbuf_add(&b, "\n      step: ");
			yaml_quoted(&b, imp->requires[i].step);
			sk_strbuf_add(&b, "\n");
		}
	}
	sk_strbuf_add(&b, "steps:\n");
	for (size_t i = 0; i < imp->nsteps; i++) {
		const cli_import_step *s = &imp->steps[i];

		if (s->comment != NULL) {
			sk_strbuf_add(&b, "  # ");
			yaml_comment(&b, s->comment);
			sk_strbuf_add(&b, "\n");
		}
		sk_strbuf_add(&b, "  - id: ");
		yaml_quoted(&b, s->id);
		sk_strbuf_add(&b, "\n    sql: ");
		yaml_quoted(&b, s->sql.rel);
		sk_strbuf_add(&b, "\n");
		if (s->revert.rel != NULL) {
			sk_strbuf_add(&b, "    revert: ");
			yaml_quoted(&b, s->revert.rel);
			sk_strbuf_add(&b, "\n");
		}
		if (s->no_tx)
			sk_strbuf_add(&b, "    transaction: false\n");
		if (s->verify.rel != NULL) {
			sk_strbuf_add(&b,
			    "    post:\n      - name: verify\n        file: ");
			yaml_quoted(&b, s->verify.rel);
			sk_strbuf_add(&b, "\n        succeeds: true\n");
		}
	}
	if (b.oom) {
		sk_strbuf_fini(&b);
		return NULL;
	}
	return b.s;
}

/* Remove the directory tree this import was writing (best effort: the
 * error that stopped it is what gets reported). Symbolic links are not
 * followed: there are none in a tree this file wrote. */
static void
rm_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			char *sub;
			struct stat st;

			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			sub = sk_path_join(path, e->d_name);
			if (sub == NULL)
				continue;
			if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
				rm_tree(sub);
			else
				(void)unlink(sub);
			free(sub);
		}
		closedir(d);
	}
	(void)rmdir(path);
}

/* Write text to dir/rel, making rel's directories; the file must not
 * exist. */
static int
write_file(const char *dir, const char *rel, const char *text, sk_err *err)
{
	char *path = sk_path_join(dir, rel), *slash;
	FILE *f;
	int rc = SK_OK;

	if (path == NULL)
		return sk_err_set(err, SK_ENOMEM, "write %s: out of memory", rel);
	slash = strrchr(path, '/');
	if (slash != NULL && slash > path + strlen(dir)) {
		*slash = '\0';
		rc = sk_mkdir_p(path, 0755, err);
		*slash = '/';
		if (rc != SK_OK) {
			free(path);
			return rc;
		}
	}
	f = fopen(path, "wx");
	if (f == NULL) {
		rc = sk_err_set(err, SK_EIO, "write %s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	if (fputs(text, f) == EOF || fclose(f) != 0) {
		rc = sk_err_set(err, SK_EIO, "write %s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	free(path);
	return SK_OK;
}

/* Whether out may be written: absent, or an empty directory (*exists). */
static int
check_out(const char *out, bool *exists, sk_err *err)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	bool empty = true;

	*exists = false;
	if (stat(out, &st) != 0) {
		if (errno == ENOENT)
			return SK_OK;
		return sk_err_set(
		    err, SK_EIO, "import into %s: %s", out, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return sk_err_set(err, SK_EINVAL,
		    "import into %s: it exists and is not a directory; name a new "
		    "or empty directory with -o",
		    out);
	d = opendir(out);
	if (d == NULL)
		return sk_err_set(
		    err, SK_EIO, "import into %s: %s", out, strerror(errno));
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = false;
	closedir(d);
	if (!empty)
		return sk_err_set(err, SK_EINVAL,
		    "import into %s: the directory is not empty; name a new or "
		    "empty directory with -o (nothing is overwritten)",
		    out);
	*exists = true;
	return SK_OK;
}

/* Write every file into a new directory beside out, then rename it to
 * out: a failure leaves out as it was. */
static int
write_plan(const cli_import *imp, const char *out, const char *yaml, sk_err *err)
{
	char *tmp = NULL;
	bool exists;
	mode_t mask;
	int rc;

	rc = check_out(out, &exists, err);
	if (rc != SK_OK)
		return rc;
	tmp = malloc(strlen(out) + 32);
	if (tmp == NULL)
		return sk_err_set(err, SK_ENOMEM, "import into %s: out of memory", out);
	strcpy(tmp, out);
	/* The parents of a new out (plans/billing in a fresh clone). */
	for (char *slash = strrchr(tmp, '/'); slash != NULL && slash != tmp;) {
		*slash = '\0';
		rc = sk_mkdir_p(tmp, 0755, err);
		if (rc != SK_OK) {
			free(tmp);
			return rc;
		}
		break;
	}
	sprintf(tmp, "%s.import-XXXXXX", out);
	if (mkdtemp(tmp) == NULL) {
		rc = sk_err_set(err, SK_EIO, "import into %s: create %s: %s",
		    out, tmp, strerror(errno));
		free(tmp);
		return rc;
	}
	mask = umask(0);
	umask(mask);
	(void)chmod(tmp, 0777 & ~mask);
	rc = write_file(tmp, "plan.yaml", yaml, err);
	for (size_t i = 0; rc == SK_OK && i < imp->nsteps; i++) {
		const cli_import_file *files[] = { &imp->steps[i].sql,
			&imp->steps[i].revert, &imp->steps[i].verify };

		for (size_t k = 0; rc == SK_OK && k < 3; k++)
			if (files[k]->rel != NULL)
				rc = write_file(
				    tmp, files[k]->rel, files[k]->text, err);
	}
	if (rc == SK_OK && exists && rmdir(out) != 0)
		rc = sk_err_set(
		    err, SK_EIO, "import into %s: %s", out, strerror(errno));
	if (rc == SK_OK && rename(tmp, out) != 0)
		rc = sk_err_set(err, SK_EIO, "import into %s: rename %s: %s",
		    out, tmp, strerror(errno));
	if (rc != SK_OK)
		rm_tree(tmp);
	free(tmp);
	return rc;
}

/* ---- the command -------------------------------------------------------- */

static void
import_usage(FILE *out)
{
	fprintf(out,
	    "Turn another tool's migrations into a skein plan directory\n"
	    "(plan.yaml and its SQL files) that keeps their ids, order, reverts\n"
	    "and verify scripts. What cannot be carried is listed on stderr.\n"
	    "\n"
	    "Usage:\n"
	    "  skein plan import --from TOOL SOURCE_DIR -o PLAN_DIR --phase NAME=R[,R...]...\n"
	    "\n"
	    "TOOL is one of:\n"
	    "  flyway          V<version>__<desc>.sql, in version order; U<version>__\n"
	    "                  undo scripts become reverts\n"
	    "  golang-migrate  <version>_<title>.up.sql, .down.sql as the revert\n"
	    "  sqitch          sqitch.plan with deploy/, revert/ and verify/; a\n"
	    "                  verify script becomes a post check that passes when\n"
	    "                  it raises no error (succeeds: true)\n"
	    "\n"
	    "Options:\n"
	    "  -f, --from TOOL          the source's tool (required)\n"
	    "  -o, --out PLAN_DIR       a new or empty directory to write (required)\n"
	    "  -p, --phase NAME=R,...   a phase and its regions, in order (at\n"
	    "                           least one)\n"
	    "  -n, --name NAME          the plan's name (default: Sqitch's %%project,\n"
	    "                           else SOURCE_DIR's last component)\n"
	    "  -h, --help               show this help and exit\n"
	    "\n"
	    "Each script's BEGIN/COMMIT (or ROLLBACK) is removed: skein runs each\n"
	    "step in a transaction of its own, with its ledger row. A script\n"
	    "that cannot run in a transaction (CREATE INDEX CONCURRENTLY) makes\n"
	    "its step transaction: false.\n"
	    "\n"
	    "Example:\n"
	    "  skein plan import --from flyway db/migration -o plans/billing \\\n"
	    "      --phase canary=af --phase rest=in,ksa\n"
	    "  skein plan lint plans/billing\n"
	    "\n"
	    "Exit status: 0 written (notes on stderr); 1 an unreadable or\n"
	    "inconsistent source, or PLAN_DIR not empty (nothing written); 2 usage.\n");
}

static void
phases_free(import_phase *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		sk_strv_free(p[i].regions, p[i].nregions);
	}
	free(p);
}

/* NAME=R1,R2 into *ph. A usage error is reported here. */
static bool
parse_phase(const char *arg, import_phase *ph)
{
	const char *eq = strchr(arg, '=');
	char *list, *save = NULL, *tok;

	memset(ph, 0, sizeof(*ph));
	if (eq == NULL) {
		cli_errorf("plan import",
		    "--phase %s: expected NAME=REGION[,REGION...], "
		    "e.g. --phase canary=af",
		    arg);
		return false;
	}
	ph->name = malloc((size_t)(eq - arg) + 1);
	list = sk_strdup(eq + 1);
	if (ph->name == NULL || list == NULL) {
		free(list);
		cli_errorf("plan import", "out of memory");
		return false;
	}
	memcpy(ph->name, arg, (size_t)(eq - arg));
	ph->name[eq - arg] = '\0';
	if (!sk_name_valid(ph->name)) {
		cli_errorf("plan import",
		    "--phase %s: \"%s\" is not a phase name "
		    "(1 to 63 of A-Z a-z 0-9 _ . -)",
		    arg, ph->name);
		free(list);
		return false;
	}
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		char **v;

		if (!sk_name_valid(tok)) {
			cli_errorf("plan import",
			    "--phase %s: \"%s\" is not a region name", arg, tok);
			free(list);
			return false;
		}
		v = realloc(ph->regions, (ph->nregions + 1) * sizeof(*v));
		if (v == NULL || (v[ph->nregions] = sk_strdup(tok)) == NULL) {
			if (v != NULL)
				ph->regions = v;
			free(list);
			cli_errorf("plan import", "out of memory");
			return false;
		}
		ph->regions = v;
		ph->nregions++;
	}
	free(list);
	if (ph->nregions == 0) {
		cli_errorf("plan import", "--phase %s: no region after '='", arg);
		return false;
	}
	return true;
}

/* The plan's name: --name, the source's, or the source directory's last
 * component made a name. New string; NULL when out of memory. */
static char *
plan_name(const char *given, const cli_import *imp, const char *src)
{
	char *copy, *base, *name;
	size_t len;

	if (given != NULL)
		return sk_strdup(given);
	if (imp->name != NULL)
		return sk_name_valid(imp->name) ? sk_strdup(imp->name) :
						  cli_import_name_from(imp->name);
	copy = sk_strdup(src);
	if (copy == NULL)
		return NULL;
	len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	base = strrchr(copy, '/');
	base = base != NULL ? base + 1 : copy;
	name = cli_import_name_from(base);
	free(copy);
	return name;
}

int
cli_plan_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "phase", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *from = NULL, *out = NULL, *given = NULL, *src;
	const cli_import_reader *reader = NULL;
	import_phase *phases = NULL;
	size_t nphases = 0;
	cli_import imp = { 0 };
	char *name = NULL, *yaml = NULL;
	sk_err err;
	int c, rc = CLI_USAGE;
	struct stat st;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:o:p:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'n':
			given = optarg;
			break;
		case 'p': {
			import_phase *v =
			    realloc(phases, (nphases + 1) * sizeof(*v));

			if (v == NULL) {
				cli_errorf("plan import", "out of memory");
				rc = CLI_FAIL;
				goto out;
			}
			phases = v;
			nphases++;
			if (!parse_phase(optarg, &phases[nphases - 1]))
				goto out;
			break;
		}
		case 'h':
			import_usage(stdout);
			rc = CLI_OK;
			goto out;
		case ':':
			cli_errorf("plan import", "option %s needs an argument",
			    argv[optind - 1]);
			import_usage(stderr);
			goto out;
		default:
			cli_errorf("plan import", "unknown option %s",
			    argv[optind - 1]);
			import_usage(stderr);
			goto out;
		}
	}
	if (optind >= argc || optind + 1 < argc) {
		cli_errorf("plan import",
		    optind >= argc ? "SOURCE_DIR is required" : "give one SOURCE_DIR");
		import_usage(stderr);
		goto out;
	}
	src = argv[optind];
	if (from == NULL || out == NULL || nphases == 0) {
		cli_errorf("plan import", "%s is required",
		    from == NULL    ? "--from TOOL" :
			out == NULL ? "-o PLAN_DIR" :
				      "--phase NAME=REGION[,REGION...]");
		import_usage(stderr);
		goto out;
	}
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
		if (strcmp(readers[i]->name, from) == 0)
			reader = readers[i];
	if (reader == NULL) {
		cli_errorf("plan import",
		    "--from %s: unknown tool; give flyway, golang-migrate or sqitch",
		    from);
		goto out;
	}
	if (given != NULL && !sk_name_valid(given)) {
		cli_errorf("plan import",
		    "--name %s: not a plan name (1 to 63 of "
		    "A-Z a-z 0-9 _ . -)",
		    given);
		goto out;
	}
	for (size_t i = 0; i < nphases; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(phases[i].name, phases[j].name) == 0) {
				cli_errorf("plan import",
				    "--phase %s is given twice", phases[i].name);
				goto out;
			}
	rc = CLI_FAIL;
	if (stat(src, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cli_errorf("plan import",
		    "read %s: %s; give the directory that "
		    "holds the %s migrations",
		    src, stat(src, &st) != 0 ? strerror(errno) : "not a directory",
		    reader->name);
		goto out;
	}
	sk_err_clear(&err);
	if (reader->read(src, &imp, &err) != SK_OK) {
		cli_errorf("plan import", "%s", err.msg);
		if (err.detail[0] != '\0')
			fprintf(stderr, "detail: %s\n", err.detail);
		fprintf(stderr, "nothing was written to %s\n", out);
		goto out;
	}
	if (imp.nsteps == 0) {
		cli_errorf("plan import",
		    "%s holds no %s migration; nothing written", src, reader->name);
		goto out;
	}
	name = plan_name(given, &imp, src);
	yaml = name == NULL ?
	    NULL :
	    plan_yaml(&imp, reader->name, src, name, phases, nphases);
	if (yaml == NULL) {
		cli_errorf("plan import", "out of memory");
		goto out;
	}
	if (write_plan(&imp, out, yaml, &err) != SK_OK) {
		cli_errorf("plan import", "%s", err.msg);
		goto out;
	}
	if (imp.stripped > 0)
		cli_import_note(&imp,
		    "BEGIN/COMMIT/ROLLBACK removed from %zu script%s (left as a "
		    "comment): skein runs each step in a transaction of its own, "
		    "with its ledger row",
		    imp.stripped, imp.stripped == 1 ? "" : "s");
	for (size_t i = 0; i < imp.nnotes; i++)
		fprintf(stderr, "note: %s\n", imp.notes[i]);
	fprintf(stderr,
	    "imported %zu step%s from %s into %s (plan %s)%s; next: skein plan lint %s\n",
	    imp.nsteps, imp.nsteps == 1 ? "" : "s", src, out, name,
	    imp.nnotes > 0 ? ", with the notes above" : "", out);
	rc = CLI_OK;
out:
	cli_import_fini(&imp);
	phases_free(phases, nphases);
	free(name);
	free(yaml);
	return rc;
}

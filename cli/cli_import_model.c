/* cli_import_model: what a migration import holds (steps, requirements,
 * notes) and the helpers every source reader uses: scripts read, parsed
 * and cleaned of their transaction control, directories listed, versions
 * compared. */
#include "cli_import.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sk_sql.h"
#include "sk_strbuf.h"
#include "sk_util.h"

#define IMPORT_SCRIPT_MAX (8u << 20) /* plan build's limit for a SQL file */

/* ---- the model ---------------------------------------------------------- */

static void
file_fini(cli_import_file *f)
{
	free(f->rel);
	free(f->text);
	f->rel = f->text = NULL;
}

void
cli_import_fini(cli_import *imp)
{
	if (imp == NULL)
		return;
	for (size_t i = 0; i < imp->nsteps; i++) {
		cli_import_step *s = &imp->steps[i];

		free(s->id);
		free(s->comment);
		file_fini(&s->sql);
		file_fini(&s->revert);
		file_fini(&s->verify);
	}
	free(imp->steps);
	for (size_t i = 0; i < imp->nrequires; i++) {
		free(imp->requires[i].plan);
		free(imp->requires[i].step);
	}
	free(imp->requires);
	sk_strv_free(imp->notes, imp->nnotes);
	free(imp->name);
	memset(imp, 0, sizeof(*imp));
}

/* Make room for one more element of size sz in *v (count n, capacity
 * *cap). False when out of memory. */
static bool
grow(void **v, size_t n, size_t *cap, size_t sz)
{
	void *p;
	size_t ncap;

	if (n < *cap)
		return true;
	ncap = *cap == 0 ? 16 : *cap * 2;
	p = realloc(*v, ncap * sz);
	if (p == NULL)
		return false;
	*v = p;
	*cap = ncap;
	return true;
}

void
cli_import_note(cli_import *imp, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	char *copy;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!grow((void **)&imp->notes, imp->nnotes, &imp->capnotes, sizeof(*imp->notes)))
		return;
	copy = sk_strdup(line);
	if (copy != NULL)
		imp->notes[imp->nnotes++] = copy;
}

char *
cli_import_name_from(const char *id)
{
	size_t len = strlen(id);
	char *out;

	if (len > 63)
		len = 63;
	out = malloc(len + 2);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ?
		    c :
		    '_';
	}
	out[len] = '\0';
	if (len == 0 || out[0] == '.' || out[0] == '-')
		out[0] = '_';
	if (len == 0)
		out[1] = '\0';
	return out;
}

int
cli_import_step_add(cli_import *imp, const char *id, const char *comment,
    cli_import_step **out, sk_err *err)
{
	cli_import_step *s;
	char *name;

	name = sk_name_valid(id) ? sk_strdup(id) : cli_import_name_from(id);
	if (name == NULL)
		return sk_err_set(err, SK_ENOMEM, "import step %s: out of memory", id);
	if (strcmp(name, id) != 0)
		cli_import_note(imp,
		    "%s: not a skein step id (1 to 63 of A-Z a-z 0-9 _ . -): "
		    "imported as %s",
		    id, name);
	for (size_t i = 0; i < imp->nsteps; i++)
		if (strcmp(imp->steps[i].id, name) == 0) {
			sk_err_set(err, SK_EINVAL,
			    "import step %s: the id %s is already taken by an "
			    "earlier migration; rename one of them in the source",
			    id, name);
			free(name);
			return SK_EINVAL;
		}
	if (!grow((void **)&imp->steps, imp->nsteps, &imp->capsteps,
		sizeof(*imp->steps))) {
		free(name);
		return sk_err_set(err, SK_ENOMEM, "import step %s: out of memory", id);
	}
	s = &imp->steps[imp->nsteps];
	memset(s, 0, sizeof(*s));
	s->id = name;
	s->comment = sk_strdup(comment);
	imp->nsteps++;
	if (comment != NULL && s->comment == NULL)
		return sk_err_set(err, SK_ENOMEM, "import step %s: out of memory", id);
	*out = s;
	return SK_OK;
}

int
cli_import_require_add(cli_import *imp, const char *plan, const char *step, sk_err *err)
{
	cli_import_require *r;

	for (size_t i = 0; i < imp->nrequires; i++)
		if (strcmp(imp->requires[i].plan, plan) == 0 &&
		    strcmp(imp->requires[i].step, step) == 0)
			return SK_OK;
	if (!grow((void **)&imp->requires, imp->nrequires, &imp->caprequires,
		sizeof(*imp->requires)))
		return sk_err_set(err, SK_ENOMEM, "import: out of memory");
	r = &imp->requires[imp->nrequires];
	r->plan = sk_strdup(plan);
	r->step = sk_strdup(step);
	imp->nrequires++;
	if (r->plan == NULL || r->step == NULL)
		return sk_err_set(err, SK_ENOMEM, "import: out of memory");
	return SK_OK;
}

/* ---- scripts ------------------------------------------------------------ */

/* The transaction-control op of stmt that skein's own transaction makes
 * redundant (BEGIN, COMMIT, ...), or NULL. SAVEPOINT and PREPARE
 * TRANSACTION are left for the lint to name. */
static const char *
wrapper_op(const sk_sql_stmt *stmt)
{
	static const char *const words[] = { "BEGIN", "START TRANSACTION",
		"COMMIT", "ROLLBACK" };

	for (size_t i = 0; i < stmt->nops; i++) {
		if (stmt->ops[i].kind != SK_SQL_TX_CONTROL || stmt->ops[i].what == NULL)
			continue;
		for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++)
			if (strcmp(stmt->ops[i].what, words[w]) == 0)
				return words[w];
	}
	return NULL;
}

int
cli_import_script(cli_import *imp, const char *dir, const char *rel,
    const char *out_rel, cli_import_file *f, size_t *nstmts, bool *no_tx, sk_err *err)
{
	sk_sql_script *script = NULL;
	sk_strbuf out = { 0 };
	char *text = NULL, *path = NULL;
	size_t len, from = 0, left = 0;
	bool stripped = false;
	int rc;

	if (nstmts != NULL)
		*nstmts = 0;
	rc = sk_file_read_in_dir(
	    dir, rel, "script", IMPORT_SCRIPT_MAX, &text, &len, err);
	if (rc != SK_OK)
		return rc;
	path = sk_path_join(dir, rel);
	if (path == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "import %s: out of memory", rel);
		goto out;
	}
	if (strlen(text) != len) {
		rc = sk_err_set(err, SK_EINVAL,
		    "import %s: the file holds a NUL byte; a SQL script is text",
		    path);
		goto out;
	}
	if (strstr(text, "${") != NULL)
		cli_import_note(imp,
		    "%s: holds ${...}: placeholders are not substituted by skein; "
		    "write the values into the script",
		    path);
	rc = sk_sql_parse(text, path, &script, err);
	if (rc != SK_OK) {
		sk_err_wrap(err, "import %s", rel);
		goto out;
	}
	for (size_t i = 0; i < script->nstmts; i++) {
		const sk_sql_stmt *st = &script->stmts[i];
		const char *word = wrapper_op(st);
		size_t end;

		for (size_t k = 0; k < st->nops; k++)
			if (st->ops[k].kind == SK_SQL_NO_TX && no_tx != NULL)
				*no_tx = true;
		if (word == NULL) {
			left++;
			continue;
		}
		end = st->offset + strlen(st->text);
		if (end > len ||
		    memcmp(text + st->offset, st->text, strlen(st->text)) != 0) {
			/* The statement's text is not where the parser says:
			 * keep the script as written and let the lint speak. */
			left++;
			continue;
		}
		while (end < len && strchr(" \t\r\n", text[end]) != NULL)
			end++;
		if (end < len && text[end] == ';')
			end++;
		sk_strbuf_addf(&out, "%.*s", (int)(st->offset - from), text + from);
		sk_strbuf_addf(&out,
		    "-- %s removed by skein plan import: skein runs "
		    "each step in a transaction of its own",
		    word);
		from = end;
		stripped = true;
	}
	if (stripped)
		imp->stripped++;
	sk_strbuf_add(&out, text + from);
	if (out.oom) {
		rc = sk_err_set(err, SK_ENOMEM, "import %s: out of memory", path);
		goto out;
	}
	if (nstmts != NULL)
		*nstmts = left;
	if (left == 0) {
		rc = SK_OK;
		goto out;
	}
	f->rel = sk_strdup(out_rel);
	f->text = out.s != NULL ? out.s : sk_strdup("");
	out.s = NULL;
	if (f->rel == NULL || f->text == NULL)
		rc = sk_err_set(err, SK_ENOMEM, "import %s: out of memory", path);
out:
	sk_strbuf_fini(&out);
	sk_sql_script_destroy(script);
	free(text);
	free(path);
	return rc;
}

bool
cli_import_exists(const char *dir, const char *rel)
{
	char *path = sk_path_join(dir, rel);
	struct stat st;
	bool yes;

	yes = path != NULL && stat(path, &st) == 0 && S_ISREG(st.st_mode);
	free(path);
	return yes;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
cli_import_list(const char *dir, char ***out, size_t *n, sk_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t cnt = 0, cap = 0;

	*out = NULL;
	*n = 0;
	if (d == NULL)
		return sk_err_set(
		    err, SK_EIO, "read directory %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char *name;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		name = sk_strdup(e->d_name);
		if (name == NULL || !grow((void **)&v, cnt, &cap, sizeof(*v))) {
			free(name);
			closedir(d);
			sk_strv_free(v, cnt);
			return sk_err_set(err, SK_ENOMEM,
			    "read directory %s: out of memory", dir);
		}
		v[cnt++] = name;
	}
	closedir(d);
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*out = v;
	*n = cnt;
	return SK_OK;
}

/* The next part of a version at *p: its digits without leading zeros
 * (start and length); *p moves past the part and one separator. */
static void
version_part(const char **p, const char **start, size_t *len)
{
	const char *s = *p;

	while (*s == '0' && s[1] >= '0' && s[1] <= '9')
		s++;
	*start = s;
	while (**p >= '0' && **p <= '9')
		(*p)++;
	*len = (size_t)(*p - s);
	if (*len == 1 && *s == '0')
		*len = 0; /* "0" and "" (a missing part) are equal */
	if (**p == '.' || **p == '_')
		(*p)++;
}

int
cli_import_version_cmp(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0') {
		const char *sa, *sb;
		size_t la, lb;
		int c;

		version_part(&a, &sa, &la);
		version_part(&b, &sb, &lb);
		if (la != lb)
			return la < lb ? -1 : 1;
		c = memcmp(sa, sb, la);
		if (c != 0)
			return c;
	}
	return 0;
}

int
cli_import_revert(cli_import *imp, const char *dir, const char *name,
    cli_import_step *s, sk_err *err)
{
	int rc = cli_import_script(imp, dir, name, name, &s->revert, NULL, NULL, err);

	if (rc == SK_OK && s->revert.rel == NULL)
		cli_import_note(imp,
		    "%s/%s: no SQL statement in it: step %s has no revert", dir,
		    name, s->id);
	return rc;
}

/* cli_import_sqitch: a Sqitch project for PostgreSQL: sqitch.plan (its
 * %project pragma, changes and tags) and deploy/, revert/ and verify/
 * scripts. Changes keep their names as step ids and their order; a verify
 * script becomes a post check that passes when it raises no error;
 * requirements on other projects become preflight requirements. Tags,
 * conflicts and requirements at a tag are named in notes. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_import.h"
#include "sk_strbuf.h"
#include "sk_util.h"

#define SQITCH_PLAN_MAX (16u << 20)

typedef struct sqitch_change {
	char *name;
	char *deps; /* the text between [ and ], or NULL */
	char *note; /* after '#', or NULL */
	int line;
	int tag_after; /* index of the first tag after it, or -1 */
	int previous;  /* index of the same name's earlier change, or -1 */
} sqitch_change;

typedef struct sqitch_tag {
	char *name;
	int line;
} sqitch_tag;

typedef struct sqitch_plan {
	sqitch_change *changes;
	size_t nchanges;
	sqitch_tag *tags;
	size_t ntags;
} sqitch_plan;

static void
plan_fini(sqitch_plan *p)
{
	for (size_t i = 0; i < p->nchanges; i++) {
		free(p->changes[i].name);
		free(p->changes[i].deps);
		free(p->changes[i].note);
	}
	for (size_t i = 0; i < p->ntags; i++)
		free(p->tags[i].name);
	free(p->changes);
	free(p->tags);
}

static char *
dup_n(const char *s, size_t n)
{
	char *out = malloc(n + 1);

	if (out != NULL) {
		memcpy(out, s, n);
		out[n] = '\0';
	}
	return out;
}

static const char *
skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* A Sqitch timestamp: YYYY-MM-DDTHH:MM:SSZ. */
static bool
timestamp(const char *s, size_t len)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

	if (len != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < len; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	return true;
}

/* The part of a change or tag line after its name and dependencies:
 * DATE PLANNER <EMAIL> [# NOTE]. *note gets the note (new string) or
 * NULL. Returns NULL, or a message saying what is wrong. */
static const char *
line_tail(const char *s, char **note)
{
	const char *end, *lt, *gt;

	*note = NULL;
	s = skip_ws(s);
	end = s + strcspn(s, " \t");
	if (!timestamp(s, (size_t)(end - s)))
		return "expected a timestamp such as 2024-01-31T12:00:00Z after the name";
	s = skip_ws(end);
	lt = strchr(s, '<');
	if (lt == NULL || lt == s)
		return "expected the planner's name and <email> after the timestamp";
	gt = strchr(lt, '>');
	if (gt == NULL)
		return "the planner's <email> has no closing '>'";
	s = skip_ws(gt + 1);
	if (*s == '\0')
		return NULL;
	if (*s != '#')
		return "expected '# note' or the end of the line after the <email>";
	s = skip_ws(s + 1);
	*note = sk_strdup(s);
	return NULL;
}

static int
bad_line(sk_err *err, const char *file, int line, const char *why)
{
	return sk_err_set(err, SK_EINVAL,
	    "%s:%d: cannot read this line: %s (a change is NAME "
	    "[DEPENDENCIES] DATE PLANNER <EMAIL> [# NOTE]; a tag starts with @)",
	    file, line, why);
}

/* Parse the text of sqitch.plan (file names it in messages). */
static int
parse_plan(char *text, const char *file, cli_import *imp, sqitch_plan *p, sk_err *err)
{
	char *line = text, *next;
	int lineno = 0;

	for (; line != NULL; line = next) {
		char *s, *note = NULL;
		const char *why;
		size_t len;

		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		len = strlen(line);
		while (len > 0 && strchr(" \t\r", line[len - 1]) != NULL)
			line[--len] = '\0';
		s = (char *)skip_ws(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (*s == '%') {
			char *eq = strchr(s, '='), *key = s + 1, *val;
			size_t klen;

			if (eq == NULL)
				return bad_line(err, file, lineno,
				    "a pragma is %name=value");
			klen = (size_t)(eq - key);
			while (klen > 0 && isspace((unsigned char)key[klen - 1]))
				klen--;
			val = (char *)skip_ws(eq + 1);
			if (klen == 7 && strncmp(key, "project", 7) == 0) {
				free(imp->name);
				imp->name = sk_strdup(val);
				if (imp->name == NULL)
					return sk_err_set(err, SK_ENOMEM,
					    "read %s: out of memory", file);
			} else if (klen == 14 &&
			    strncmp(key, "syntax-version", 14) == 0 &&
			    strncmp(val, "1.", 2) != 0) {
				cli_import_note(imp,
				    "%s:%d: syntax-version %s: this import reads "
				    "1.x plans; check the result",
				    file, lineno, val);
			}
			continue;
		}
		if (*s == '@') {
			sqitch_tag *v;
			size_t n = strcspn(s + 1, " \t");

			if (n == 0)
				return bad_line(err, file, lineno,
				    "a tag needs a name after @");
			why = line_tail(s + 1 + n, &note);
			free(note);
			if (why != NULL)
				return bad_line(err, file, lineno, why);
			v = realloc(p->tags, (p->ntags + 1) * sizeof(*v));
			if (v == NULL)
				return sk_err_set(err, SK_ENOMEM,
				    "read %s: out of memory", file);
			p->tags = v;
			v[p->ntags].name = dup_n(s + 1, n);
			v[p->ntags].line = lineno;
			if (v[p->ntags].name == NULL)
				return sk_err_set(err, SK_ENOMEM,
				    "read %s: out of memory", file);
			p->ntags++;
			for (size_t i = 0; i < p->nchanges; i++)
				if (p->changes[i].tag_after < 0)
					p->changes[i].tag_after = (int)p->ntags - 1;
			continue;
		}
		{
			sqitch_change *v, *c;
			size_t n;
			const char *deps = NULL;
			size_t ndeps = 0;

			if (*s == '-')
				return bad_line(err, file, lineno,
				    "a change to revert ('-' before its name) cannot be "
				    "imported; remove the line and its change's earlier "
				    "line together");
			if (*s == '+')
				s++;
			n = strcspn(s, " \t[");
			if (n == 0)
				return bad_line(err, file, lineno,
				    "the change has no name");
			{
				const char *r = skip_ws(s + n);

				if (*r == '[') {
					const char *close = strchr(r, ']');

					if (close == NULL)
						return bad_line(err, file, lineno,
						    "the dependencies' '[' has no closing ']'");
					deps = r + 1;
					ndeps = (size_t)(close - deps);
					r = close + 1;
				}
				why = line_tail(r, &note);
			}
			if (why != NULL)
				return bad_line(err, file, lineno, why);
			v = realloc(p->changes, (p->nchanges + 1) * sizeof(*v));
			if (v == NULL) {
				free(note);
				return sk_err_set(err, SK_ENOMEM,
				    "read %s: out of memory", file);
			}
			p->changes = v;
			c = &v[p->nchanges++];
			memset(c, 0, sizeof(*c));
			c->name = dup_n(s, n);
			c->deps = deps != NULL ? dup_n(deps, ndeps) : NULL;
			c->note = note;
			c->line = lineno;
			c->tag_after = -1;
			c->previous = -1;
			if (c->name == NULL || (deps != NULL && c->deps == NULL))
				return sk_err_set(err, SK_ENOMEM,
				    "read %s: out of memory", file);
			for (size_t i = 0; i + 1 < p->nchanges; i++)
				if (strcmp(p->changes[i].name, c->name) == 0)
					c->previous = (int)i;
		}
	}
	return SK_OK;
}

/* The engine sqitch.conf names in its [core] section, or NULL. */
static char *
conf_engine(const char *dir, cli_import *imp)
{
	char *text = NULL, *line, *next, *engine = NULL;
	bool core = false;
	sk_err e;

	if (!cli_import_exists(dir, "sqitch.conf"))
		return NULL;
	if (sk_file_read_in_dir(dir, "sqitch.conf", "Sqitch configuration",
		1u << 20, &text, NULL, &e) != SK_OK) {
		cli_import_note(imp, "%s", e.msg);
		return NULL;
	}
	for (line = text; line != NULL; line = next) {
		char *s;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		s = (char *)skip_ws(line);
		if (*s == '[') {
			core = strncmp(s, "[core]", 6) == 0;
			continue;
		}
		if (!core)
			continue;
		if (strncmp(s, "engine", 6) == 0 && strchr(" \t=", s[6]) != NULL) {
			s = (char *)skip_ws(s + 6);
			if (*s == '=') {
				size_t n;

				s = (char *)skip_ws(s + 1);
				n = strcspn(s, " \t\r#;");
				free(engine);
				engine = dup_n(s, n);
			}
		} else if (strncmp(s, "top_dir", 7) == 0 ||
		    strncmp(s, "deploy_dir", 10) == 0 ||
		    strncmp(s, "revert_dir", 10) == 0 ||
		    strncmp(s, "verify_dir", 10) == 0 ||
		    strncmp(s, "plan_file", 9) == 0) {
			cli_import_note(imp,
			    "%s/sqitch.conf: %.*s is not read: the import reads "
			    "sqitch.plan, deploy/, revert/ and verify/ in %s",
			    dir, (int)strcspn(s, " \t="), s, dir);
		}
	}
	free(text);
	return engine;
}

/* The requirements of change c (line, file for messages). */
static int
carry_deps(const sqitch_plan *p, size_t idx, const char *file, cli_import *imp,
    sk_err *err)
{
	const sqitch_change *c = &p->changes[idx];
	char *copy, *save = NULL, *tok;
	int rc = SK_OK;

	if (c->deps == NULL)
		return SK_OK;
	copy = sk_strdup(c->deps);
	if (copy == NULL)
		return sk_err_set(err, SK_ENOMEM, "read %s: out of memory", file);
	for (tok = strtok_r(copy, " \t", &save); tok != NULL && rc == SK_OK;
	     tok = strtok_r(NULL, " \t", &save)) {
		char *colon = strchr(tok, ':'), *at;
		bool found = false;

		if (tok[0] == '!') {
			cli_import_note(imp,
			    "%s:%d: %s conflicts with %s: not carried (skein has no "
			    "conflicts; a pre check can test for it)",
			    file, c->line, c->name, tok + 1);
			continue;
		}
		if (colon != NULL) {
			*colon = '\0';
			at = strchr(colon + 1, '@');
			if (at != NULL || colon[1] == '\0') {
				cli_import_note(imp,
				    "%s:%d: %s requires %s:%s, a change of project %s "
				    "at a tag: not carried (skein has no tags)",
				    file, c->line, c->name, tok, colon + 1, tok);
				continue;
			}
			cli_import_note(imp,
			    "%s:%d: %s requires %s:%s of another project: carried as "
			    "preflight.requires (plan %s, step %s), which holds when "
			    "that project was imported and applied by skein",
			    file, c->line, c->name, tok, colon + 1, tok, colon + 1);
			rc = cli_import_require_add(imp, tok, colon + 1, err);
			continue;
		}
		at = strchr(tok, '@');
		if (at != NULL) {
			cli_import_note(imp,
			    "%s:%d: %s requires %s: a change as of a tag; the order "
			    "of the steps is kept, the tag is not",
			    file, c->line, c->name, tok);
			continue;
		}
		for (size_t i = 0; i < idx && !found; i++)
			found = strcmp(p->changes[i].name, tok) == 0;
		if (!found)
			rc = sk_err_set(err, SK_EINVAL,
			    "%s:%d: %s requires %s, which is not an earlier change of "
			    "the plan; fix sqitch.plan (sqitch itself refuses it)",
			    file, c->line, c->name, tok);
	}
	free(copy);
	return rc;
}

static int
sqitch_read(const char *dir, cli_import *imp, sk_err *err)
{
	sqitch_plan p = { 0 };
	char *text = NULL, *file = NULL, *engine = NULL;
	size_t no_revert = 0, no_verify = 0;
	int rc;

	file = sk_path_join(dir, "sqitch.plan");
	if (file == NULL)
		return sk_err_set(err, SK_ENOMEM, "import %s: out of memory", dir);
	if (!cli_import_exists(dir, "sqitch.plan")) {
		rc = sk_err_set(err, SK_EINVAL,
		    "import %s: no sqitch.plan there; give the Sqitch project's "
		    "top directory",
		    dir);
		goto out;
	}
	engine = conf_engine(dir, imp);
	if (engine != NULL && strcmp(engine, "pg") != 0) {
		rc = sk_err_set(err, SK_EINVAL,
		    "import %s: sqitch.conf says engine = %s; skein applies "
		    "PostgreSQL (pg) scripts only",
		    dir, engine);
		goto out;
	}
	rc = sk_file_read_in_dir(dir, "sqitch.plan", "Sqitch plan",
	    SQITCH_PLAN_MAX, &text, NULL, err);
	if (rc != SK_OK)
		goto out;
	rc = parse_plan(text, file, imp, &p, err);
	if (rc != SK_OK)
		goto out;
	if (p.ntags > 0) {
		sk_strbuf b = { 0 };

		for (size_t i = 0; i < p.ntags; i++)
			sk_strbuf_addf(&b, "%s@%s", i > 0 ? ", " : "", p.tags[i].name);
		cli_import_note(imp,
		    "%s: tags %s are not carried: skein has no tags (the ledger "
		    "records each step of the plan)",
		    file, b.s != NULL ? b.s : "");
		sk_strbuf_fini(&b);
	}
	for (size_t i = 0; i < p.nchanges; i++) {
		const sqitch_change *c = &p.changes[i];
		bool reworked_later = false;
		char base[600], id[600], rel[700], comment[1200];
		cli_import_step *s;

		for (size_t k = i + 1; k < p.nchanges && !reworked_later; k++)
			reworked_later = p.changes[k].previous == (int)i;
		if (reworked_later && c->tag_after < 0) {
			rc = sk_err_set(err, SK_EINVAL,
			    "%s:%d: %s is reworked later with no tag in between; "
			    "Sqitch needs a tag to rework a change",
			    file, c->line, c->name);
			goto out;
		}
		/* A reworked change's earlier scripts are NAME@TAG.sql, TAG the
		 * first tag after it; the latest keeps NAME.sql. */
		if (reworked_later)
			snprintf(base, sizeof(base), "%s@%s", c->name,
			    p.tags[c->tag_after].name);
		else
			snprintf(base, sizeof(base), "%s", c->name);
		if (c->previous >= 0) {
			const sqitch_change *prev = &p.changes[c->previous];

			snprintf(id, sizeof(id), "%s.%s", c->name,
			    p.tags[prev->tag_after].name);
			cli_import_note(imp,
			    "%s:%d: %s is reworked after @%s: imported as step %s; "
			    "its version before the tag is the earlier step, from "
			    "%s@%s.sql",
			    file, c->line, c->name, p.tags[prev->tag_after].name,
			    id, prev->name, p.tags[prev->tag_after].name);
		} else {
			snprintf(id, sizeof(id), "%s", c->name);
		}
		snprintf(comment, sizeof(comment), "sqitch: %s%s%s%s%s%s",
		    c->name, c->deps != NULL ? " [" : "",
		    c->deps != NULL ? c->deps : "", c->deps != NULL ? "]" : "",
		    c->note != NULL ? " # " : "", c->note != NULL ? c->note : "");
		rc = carry_deps(&p, i, file, imp, err);
		if (rc != SK_OK)
			goto out;
		rc = cli_import_step_add(imp, id, comment, &s, err);
		if (rc != SK_OK)
			goto out;
		snprintf(rel, sizeof(rel), "deploy/%s.sql", base);
		if (!cli_import_exists(dir, rel)) {
			rc = sk_err_set(err, SK_EINVAL,
			    "%s:%d: change %s has no deploy script %s/%s", file,
			    c->line, c->name, dir, rel);
			goto out;
		}
		rc = cli_import_script(
		    imp, dir, rel, rel, &s->sql, NULL, &s->no_tx, err);
		if (rc != SK_OK)
			goto out;
		if (s->sql.rel == NULL) {
			rc = sk_err_set(err, SK_EINVAL,
			    "import %s/%s: no SQL statement in it; a step needs one",
			    dir, rel);
			goto out;
		}
		snprintf(rel, sizeof(rel), "revert/%s.sql", base);
		if (cli_import_exists(dir, rel)) {
			rc = cli_import_script(
			    imp, dir, rel, rel, &s->revert, NULL, NULL, err);
			if (rc != SK_OK)
				goto out;
		}
		if (s->revert.rel == NULL)
			no_revert++;
		snprintf(rel, sizeof(rel), "verify/%s.sql", base);
		if (cli_import_exists(dir, rel)) {
			rc = cli_import_script(
			    imp, dir, rel, rel, &s->verify, NULL, NULL, err);
			if (rc != SK_OK)
				goto out;
		}
		if (s->verify.rel == NULL)
			no_verify++;
	}
	if (no_revert > 0)
		cli_import_note(imp,
		    "%zu of %zu changes have no revert script with a statement: "
		    "their steps have no revert",
		    no_revert, p.nchanges);
	if (no_verify > 0)
		cli_import_note(imp,
		    "%zu of %zu changes have no verify script with a statement: "
		    "their steps have no verify check",
		    no_verify, p.nchanges);
out:
	plan_fini(&p);
	free(text);
	free(file);
	free(engine);
	return rc;
}

const cli_import_reader cli_import_sqitch = { "sqitch", sqitch_read };

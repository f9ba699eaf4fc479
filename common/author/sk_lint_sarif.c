/* sk_lint_sarif: lint findings for CI: a SARIF 2.1.0 log (code-scanning
 * services read it and pin each result to its line) and GitHub Actions
 * workflow commands (::error file=...,line=...::message), which the
 * runner turns into annotations on the pull request. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "sk_json.h"
#include "sk_lint_int.h"

#define SARIF_SCHEMA                                                  \
"https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/" \
    "sarif-schema-2.1.0.json"

#ifndef SKEIN_VERSION
#define SKEIN_VERSION "0"
#endif

/* path as a URI reference: bytes other than RFC 3986's unreserved ones
 * and '/' percent-encoded, so that a space or '#' in a file name cannot
 * change what the URI names. */
static void
uri_encode(const char *path, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)path;
	     *p != '\0' && o + 4 < len; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p) != NULL) {
			buf[o++] = (char)*p;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		}
	}
	buf[o] = '\0';
}

static json_t *
text_obj(const char *text)
{
	json_t *o = json_object();

	if (o != NULL && json_object_set_new(o, "text", sk_json_str(text)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The reportingDescriptor of rule r. */
static json_t *
sarif_rule(const sk_lint_rule *r)
{
	json_t *o = json_object(), *cfg = json_object();
	int bad = 0;

	if (o == NULL || cfg == NULL) {
		json_decref(o);
		json_decref(cfg);
		return NULL;
	}
	bad |= json_object_set_new(cfg, "level",
	    sk_json_str(r->severity == SK_LINT_ERROR ? "error" : "warning"));
	bad |= json_object_set_new(o, "id", sk_json_str(r->id));
	bad |= json_object_set_new(o, "shortDescription", text_obj(r->summary));
	bad |= json_object_set_new(o, "help", text_obj(r->fix));
	bad |= json_object_set_new(o, "defaultConfiguration", cfg);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The result of finding f; index is its rule's place in the driver. */
static json_t *
sarif_result(const char *dir, const sk_lint_finding *f, size_t index)
{
	json_t *o = json_object(), *loc = json_object(), *phys = json_object(),
	       *art = json_object(), *locs = json_array(), *props = json_object();
	char path[1024], uri[3100], msg[2048];
	int bad = 0;

	if (o == NULL || loc == NULL || phys == NULL || art == NULL ||
	    locs == NULL || props == NULL) {
		json_decref(o);
		json_decref(loc);
		json_decref(phys);
		json_decref(art);
		json_decref(locs);
		json_decref(props);
		return NULL;
	}
	lint_display_path(dir, f->file, path, sizeof(path));
	uri_encode(path, uri, sizeof(uri));
	snprintf(msg, sizeof(msg), "%s (fix: %s)", f->message, f->rule->fix);
	bad |= json_object_set_new(art, "uri", sk_json_str(uri));
	bad |= json_object_set_new(phys, "artifactLocation", art);
	if (f->line > 0) {
		json_t *region = json_object();

		bad |= region == NULL;
		bad |= json_object_set_new(region, "startLine", json_integer(f->line));
		bad |= json_object_set_new(phys, "region", region);
	}
	bad |= json_object_set_new(loc, "physicalLocation", phys);
	bad |= json_array_append_new(locs, loc);
	bad |= json_object_set_new(o, "ruleId", sk_json_str(f->rule->id));
	bad |= json_object_set_new(o, "ruleIndex", json_integer((json_int_t)index));
	bad |= json_object_set_new(o, "level",
	    sk_json_str(f->rule->severity == SK_LINT_ERROR ? "error" : "warning"));
	bad |= json_object_set_new(o, "message", text_obj(msg));
	bad |= json_object_set_new(o, "locations", locs);
	bad |= json_object_set_new(props, "step", sk_json_str(f->step));
	bad |= json_object_set_new(o, "properties", props);
	/* A waiver is a suppression decided outside the analysed file, in
	 * plan.yaml, with its reason as the justification. */
	if (f->waived) {
		json_t *sup = json_object(), *sups = json_array();

		bad |= sup == NULL || sups == NULL;
		bad |= json_object_set_new(sup, "kind", sk_json_str("external"));
		bad |= json_object_set_new(sup, "justification",
		    sk_json_str(f->reason ? f->reason : ""));
		bad |= json_array_append_new(sups, sup);
		bad |= json_object_set_new(o, "suppressions", sups);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
sk_lint_print_sarif(
    FILE *out, const char *dir, const sk_lint_finding *f, size_t n, sk_err *err)
{
	size_t nrules;
	const sk_lint_rule *rules = sk_lint_rules(&nrules);
	json_t *root = json_object(), *runs = json_array(), *run = json_object(),
	       *tool = json_object(), *driver = json_object(),
	       *jrules = json_array(), *results = json_array();
	int bad = root == NULL || runs == NULL || run == NULL || tool == NULL ||
	    driver == NULL || jrules == NULL || results == NULL;

	for (size_t i = 0; i < nrules && !bad; i++)
		bad |= json_array_append_new(jrules, sarif_rule(&rules[i]));
	for (size_t i = 0; i < n && !bad; i++)
		bad |= json_array_append_new(results,
		    sarif_result(dir, &f[i], (size_t)(f[i].rule - rules)));
	bad |= json_object_set_new(driver, "name", sk_json_str("skein"));
	bad |= json_object_set_new(driver, "version", sk_json_str(SKEIN_VERSION));
	bad |= json_object_set_new(driver, "rules", jrules);
	bad |= json_object_set_new(tool, "driver", driver);
	bad |= json_object_set_new(run, "tool", tool);
	bad |= json_object_set_new(run, "results", results);
	bad |= json_array_append_new(runs, run);
	bad |= json_object_set_new(root, "$schema", sk_json_str(SARIF_SCHEMA));
	bad |= json_object_set_new(root, "version", sk_json_str("2.1.0"));
	bad |= json_object_set_new(root, "runs", runs);
	if (bad) {
		/* set_new and append_new take their value even on failure,
		 * so root owns all that was attached; the rest is freed
		 * here only when it never was. */
		json_decref(root);
		return sk_err_set(err, SK_ENOMEM, "print lint SARIF: out of memory");
	}
	bad = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (bad != 0 || fputc('\n', out) == EOF)
		return sk_err_set(err, SK_EIO, "print lint SARIF: cannot write output");
	return SK_OK;
}

/* s for a workflow command: '%', CR and LF are escaped everywhere, and
 * in a property value ',' and ':' too, as the runner decodes them. */
static void
gh_escape(FILE *out, const char *s, bool property)
{
	for (; *s != '\0'; s++) {
		if (*s == '%')
			fputs("%25", out);
		else if (*s == '\r')
			fputs("%0D", out);
		else if (*s == '\n')
			fputs("%0A", out);
		else if (property && *s == ':')
			fputs("%3A", out);
		else if (property && *s == ',')
			fputs("%2C", out);
		else
			fputc(*s, out);
	}
}

void
sk_lint_print_github(FILE *out, const char *dir, const sk_lint_finding *f, size_t n)
{
	char path[1024], title[160];

	for (size_t i = 0; i < n; i++) {
		/* A waived finding blocks nothing: a notice, not an error. */
		const char *cmd = f[i].waived            ? "notice" :
		    f[i].rule->severity == SK_LINT_ERROR ? "error" :
							   "warning";

		lint_display_path(dir, f[i].file, path, sizeof(path));
		snprintf(title, sizeof(title), "skein lint %s%s", f[i].rule->id,
		    f[i].waived ? " (waived)" : "");
		fprintf(out, "::%s file=", cmd);
		gh_escape(out, path, true);
		if (f[i].line > 0)
			fprintf(out, ",line=%d", f[i].line);
		fputs(",title=", out);
		gh_escape(out, title, true);
		fputs("::", out);
		gh_escape(out, f[i].message, false);
		fputs("%0Afix: ", out);
		gh_escape(out, f[i].rule->fix, false);
		if (f[i].waived) {
			fputs("%0Awaived (reason: ", out);
			gh_escape(out, f[i].reason ? f[i].reason : "", false);
			fputc(')', out);
		}
		fputc('\n', out);
	}
}

/* cli_plan: `skein plan build|lint|sign|verify|show` (import: cli_import.c). Each subcommand
 * parses its own options and leaves the work to sk_plan, sk_lint, sk_key
 * and sk_envelope; this file only moves bytes between files and those
 * modules. */
#include <dirent.h>
#include <getopt.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "cli_import.h"
#include "sk_config.h"
#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_lint.h"
#include "sk_plan.h"
#include "sk_plan_build.h"
#include "sk_plan_print.h"
#include "sk_util.h"
#include "sk_view.h"

static void
plan_usage(FILE *out)
{
	fprintf(out,
	    "Build, sign, verify and describe migration plans.\n"
	    "\n"
	    "Usage:\n"
	    "  skein plan build PLAN_DIR -o FILE [--regions DIR] [--json]\n"
	    "  skein plan lint PLAN_DIR [--regions DIR] [--format FORMAT]\n"
	    "  skein plan lint --rules\n"
	    "  skein plan sign FILE --key KEY -o SIGNED\n"
	    "  skein plan verify SIGNED --pub PUB [--pub PUB ...]\n"
	    "  skein plan show FILE [--json]\n"
	    "  skein plan import --from TOOL SOURCE_DIR -o PLAN_DIR --phase NAME=R,...\n"
	    "\n"
	    "Run \"skein plan COMMAND --help\" for a command's options.\n"
	    "\n"
	    "Exit status: 0 success; 1 the operation failed; 2 usage error.\n");
}

static void
build_usage(FILE *out)
{
	fprintf(out,
	    "Read PLAN_DIR/plan.yaml and its SQL files into an unsigned plan.\n"
	    "Every SQL file must parse, and the plan must pass the lint (see\n"
	    "\"skein plan lint --help\"): findings are printed on stderr, and an\n"
	    "error-severity finding the step does not waive fails the build\n"
	    "and writes no plan.\n"
	    "\n"
	    "Usage:\n"
	    "  skein plan build PLAN_DIR -o FILE [--regions DIR] [--json]\n"
	    "\n"
	    "Options:\n"
	    "  -o, --out FILE       where to write the plan (replaced atomically)\n"
	    "  -r, --regions DIR    region inventory for phases that select by\n"
	    "                       residency (default: ./regions if it holds\n"
	    "                       *.yaml files)\n"
	    "  -j, --json           say what was written as one JSON object (path,\n"
	    "                       plan_id, name, steps and their checksums;\n"
	    "                       docs/formats.md, \"A plan file as JSON\")\n"
	    "  -h, --help           show this help and exit\n"
	    "\n"
	    "Example:\n"
	    "  skein plan build plans/0042-add-col -o q.plan --regions regions\n"
	    "\n"
	    "Exit status: 0 written; 1 unreadable plan, SQL that does not parse or\n"
	    "an unwaived lint error (nothing written); 2 usage.\n");
}

static void
lint_usage(FILE *out)
{
	fprintf(out,
	    "Check PLAN_DIR's SQL against skein's migration rules, with\n"
	    "PostgreSQL's own parser. Each finding is printed as\n"
	    "  FILE:LINE: SEVERITY RULE: message\n"
	    "    fix: what to do instead\n"
	    "and, when the step waives the rule in plan.yaml (waive: with rule\n"
	    "and reason), \"waived (reason: ...)\". \"skein plan build\" runs the\n"
	    "same lint and refuses a plan with an unwaived error.\n"
	    "\n"
	    "Usage:\n"
	    "  skein plan lint PLAN_DIR [--regions DIR] [--format FORMAT]\n"
	    "  skein plan lint --rules\n"
	    "\n"
	    "Options:\n"
	    "  -r, --regions DIR    region inventory, as for plan build\n"
	    "                       (default: ./regions if it holds *.yaml)\n"
	    "  -f, --format FORMAT  text (default), json (one object), sarif\n"
	    "                       (a SARIF 2.1.0 log) or github (workflow\n"
	    "                       annotations: ::error file=F,line=L::...)\n"
	    "  -j, --json           the same as --format json\n"
	    "      --rules          list the rules and exit\n"
	    "  -h, --help           show this help and exit\n"
	    "\n"
	    "Examples:\n"
	    "  skein plan lint plans/0042-add-col --regions regions\n"
	    "  skein plan lint plans/0042-add-col --format sarif > lint.sarif\n"
	    "\n"
	    "For SQL files outside a plan, see \"skein lint --help\".\n"
	    "\n"
	    "Exit status: 0 when no unwaived error, 1 when there is one or the\n"
	    "plan cannot be read, 2 for a usage error. docs/lint.md explains\n"
	    "each rule.\n"
	    "\n"
	    "Rules:\n");
	sk_lint_print_rules(out);
}

static void
sign_usage(FILE *out)
{
	fprintf(out,
	    "Sign a plan with a release key. The plan is validated first.\n"
	    "\n"
	    "Usage:\n"
	    "  skein plan sign FILE --key KEY -o SIGNED\n"
	    "\n"
	    "Options:\n"
	    "  -k, --key KEY        release secret key (NAME.key, mode 0600)\n"
	    "  -o, --out SIGNED     where to write the signed plan\n"
	    "  -h, --help           show this help and exit\n"
	    "\n"
	    "Example:\n"
	    "  skein plan sign q.plan --key keys/release.key -o q.signed\n"
	    "\n"
	    "Exit status: 0 signed; 1 invalid, expired or already signed plan, or\n"
	    "unreadable key; 2 usage.\n");
}

static void
verify_usage(FILE *out)
{
	fprintf(out,
	    "Check that a signed plan is signed by one of the given release keys,\n"
	    "is a valid plan and has not expired. Exit status 0 only if so.\n"
	    "\n"
	    "Usage:\n"
	    "  skein plan verify SIGNED --pub PUB [--pub PUB ...] [--json]\n"
	    "\n"
	    "Options:\n"
	    "  -p, --pub PUB        a trusted release public key (repeatable)\n"
	    "  -j, --json           say what was verified as one JSON object\n"
	    "                       (path, plan_id, steps, signer_key_id; docs/\n"
	    "                       formats.md, \"A plan file as JSON\"); on\n"
	    "                       failure nothing on stdout, the reason on\n"
	    "                       stderr\n"
	    "  -h, --help           show this help and exit\n"
	    "\n"
	    "Example:\n"
	    "  skein plan verify q.signed --pub keys/release.pub\n"
	    "\n"
	    "Exit status: 0 valid; 1 bad signature, unknown key, invalid or\n"
	    "expired plan; 2 usage.\n");
}

static void
show_usage(FILE *out)
{
	fprintf(out,
	    "Describe a plan or a signed plan. The signature is NOT checked;\n"
	    "use \"skein plan verify\" for that.\n"
	    "\n"
	    "Usage:\n"
	    "  skein plan show FILE [--json]\n"
	    "\n"
	    "Options:\n"
	    "  -j, --json           print one JSON object instead of text\n"
	    "  -h, --help           show this help and exit\n"
	    "\n"
	    "Examples:\n"
	    "  skein plan show q.signed\n"
	    "  skein plan show q.plan --json\n"
	    "\n"
	    "Exit status: 0 shown; 1 unreadable file; 2 usage.\n");
}

/* Report a getopt failure for cmd and return the usage exit code. */
/* True if dir holds at least one *.yaml file: a directory of examples or
 * documentation alone is not an inventory. */
static bool
dir_has_yaml(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		found = e->d_name[0] != '.' && n > 5 &&
		    strcmp(e->d_name + n - 5, ".yaml") == 0;
	}
	closedir(d);
	return found;
}

static int
bad_option(const char *cmd, int c, char **argv, void (*usage)(FILE *))
{
	if (c == ':')
		cli_errorf(cmd, "option %s needs an argument", argv[optind - 1]);
	else if (optopt != 0)
		cli_errorf(cmd, "unknown option -%c", optopt);
	else
		cli_errorf(cmd, "unknown option %s", argv[optind - 1]);
	usage(stderr);
	return CLI_USAGE;
}

/* The one positional argument left after option parsing, or NULL after
 * reporting a usage error. */
static const char *
one_operand(const char *cmd, int argc, char **argv, const char *what,
    void (*usage)(FILE *))
{
	if (optind >= argc) {
		cli_errorf(cmd, "%s is required", what);
		usage(stderr);
		return NULL;
	}
	if (optind + 1 < argc) {
		cli_errorf(cmd, "unexpected argument %s", argv[optind + 1]);
		usage(stderr);
		return NULL;
	}
	return argv[optind];
}

static int
fail(const char *cmd, const sk_err *err)
{
	cli_errorf(cmd, "%s", err->msg);
	if (err->detail[0] != '\0')
		fprintf(stderr, "detail: %s\n", err->detail);
	if (err->hint[0] != '\0')
		fprintf(stderr, "hint: %s\n", err->hint);
	return CLI_FAIL;
}

static void
iso_utc(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%" PRId64, t);
}

static int
read_input(const char *path, uint8_t **buf, size_t *len, sk_err *err)
{
	char *data = NULL;
	int rc;

	rc = sk_file_read(path, SK_ENVELOPE_MAX, &data, len, err);
	if (rc == SK_OK)
		*buf = (uint8_t *)data;
	return rc;
}

static const char *
plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* The inventory at regions, or at ./regions when regions is NULL and
 * that directory holds *.yaml files: an inventory beside the operator is
 * the common layout; without one, only phases that name their regions
 * can be built. *have is false when there is none. */
static int
load_inventory(const char *regions, sk_inventory *inv, bool *have, sk_err *err)
{
	struct stat st;

	*have = false;
	if (regions == NULL && stat("regions", &st) == 0 &&
	    S_ISDIR(st.st_mode) && dir_has_yaml("regions"))
		regions = "regions";
	if (regions == NULL)
		return SK_OK;
	if (sk_inventory_load(regions, inv, err) != SK_OK)
		return err->code;
	*have = true;
	return SK_OK;
}

static int
plan_lint(int argc, char **argv)
{
	enum { OPT_RULES = 256 };
	static const struct option longopts[] = {
		{ "regions", required_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "rules", no_argument, NULL, OPT_RULES },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "plan lint", *regions = NULL, *dir;
	sk_inventory inv;
	bool have_inv = false;
	int format = CLI_LINT_TEXT;
	sk_lint_finding *f = NULL;
	size_t n = 0;
	sk_plan *plan = NULL;
	sk_err err;
	int c, brc, rc = CLI_FAIL;

	memset(&inv, 0, sizeof(inv));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:f:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			regions = optarg;
			break;
		case 'f':
			format = cli_lint_format(optarg);
			if (format < 0) {
				cli_errorf(cmd,
				    "unknown format \"%s\" (text, json, sarif or "
				    "github)",
				    optarg);
				lint_usage(stderr);
				return CLI_USAGE;
			}
			break;
		case 'j':
			format = CLI_LINT_JSON;
			break;
		case OPT_RULES:
			sk_lint_print_rules(stdout);
			return CLI_OK;
		case 'h':
			lint_usage(stdout);
			return CLI_OK;
		default:
			return bad_option(cmd, c, argv, lint_usage);
		}
	}
	dir = one_operand(cmd, argc, argv, "PLAN_DIR", lint_usage);
	if (dir == NULL)
		return CLI_USAGE;
	if (load_inventory(regions, &inv, &have_inv, &err) != SK_OK)
		return fail(cmd, &err);
	brc = sk_plan_build_lint(dir, have_inv ? &inv : NULL,
	    (int64_t)time(NULL), &plan, &f, &n, &err);
	if (brc != SK_OK && brc != SK_ELINT) {
		sk_lint_hint_syntax(&err);
		rc = fail(cmd, &err);
		goto out;
	}
	if (cli_lint_output(stdout, format, dir, f, n, &err) != SK_OK) {
		rc = fail(cmd, &err);
		goto out;
	}
	rc = brc == SK_OK ? CLI_OK : CLI_FAIL;
out:
	sk_lint_findings_free(f, n);
	sk_plan_destroy(plan);
	if (have_inv)
		sk_inventory_fini(&inv);
	return rc;
}

/* The plan file's JSON object (sk_view_plan_file_json) on stdout. */
static int
print_plan_json(const char *cmd, const sk_plan *plan, const char *path, const char *signer)
{
	json_t *o = sk_view_plan_file_json(plan, path, signer);
	int rc = CLI_OK;

	if (o == NULL) {
		cli_errorf(cmd, "out of memory");
		return CLI_FAIL;
	}
	if (json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
	    fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		cli_errorf(cmd, "write the JSON to stdout failed");
		rc = CLI_FAIL;
	}
	json_decref(o);
	return rc;
}

static int
plan_build(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "regions", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "plan build", *out_path = NULL, *regions = NULL;
	bool json = false;
	const char *dir;
	sk_inventory inv;
	bool have_inv = false;
	sk_plan *plan = NULL;
	sk_lint_finding *f = NULL;
	size_t n = 0;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;
	int c, brc, rc = CLI_FAIL;

	memset(&inv, 0, sizeof(inv));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:r:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out_path = optarg;
			break;
		case 'r':
			regions = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			build_usage(stdout);
			return CLI_OK;
		default:
			return bad_option(cmd, c, argv, build_usage);
		}
	}
	dir = one_operand(cmd, argc, argv, "PLAN_DIR", build_usage);
	if (dir == NULL)
		return CLI_USAGE;
	if (out_path == NULL) {
		cli_errorf(cmd, "-o FILE is required");
		build_usage(stderr);
		return CLI_USAGE;
	}
	if (load_inventory(regions, &inv, &have_inv, &err) != SK_OK)
		return fail(cmd, &err);
	/* Findings go to stderr whether or not they block: stdout stays the
	 * one line that says what was built. */
	brc = sk_plan_build_lint(dir, have_inv ? &inv : NULL,
	    (int64_t)time(NULL), &plan, &f, &n, &err);
	if (n > 0) {
		sk_lint_print(stderr, dir, f, n);
		sk_lint_print_summary(stderr, f, n);
	}
	if (brc != SK_OK || sk_plan_encode(plan, &buf, &len, &err) != SK_OK ||
	    sk_file_write_atomic(out_path, buf, len, 0644, &err) != SK_OK) {
		sk_lint_hint_syntax(&err);
		rc = fail(cmd, &err);
		goto out;
	}
	if (json) {
		rc = print_plan_json(cmd, plan, out_path, NULL);
		goto out;
	}
	printf("built plan %s (%s): %zu %s, %zu %s, regions ", plan->name,
	    plan->id, plan->nsteps, plural(plan->nsteps, "step", "steps"),
	    plan->nphases, plural(plan->nphases, "phase", "phases"));
	for (size_t i = 0; i < plan->nregions; i++)
		printf("%s%s", i ? "," : "", plan->regions[i]);
	printf(" -> %s\n", out_path);
	rc = CLI_OK;
out:
	free(buf);
	sk_lint_findings_free(f, n);
	sk_plan_destroy(plan);
	if (have_inv)
		sk_inventory_fini(&inv);
	return rc;
}

static int
plan_sign(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "plan sign", *key_path = NULL, *out_path = NULL;
	const char *in_path;
	uint8_t *buf = NULL, *sealed = NULL, *peeked = NULL;
	size_t len = 0, sealed_len = 0, peeked_len = 0;
	uint8_t signer[SK_KEY_ID_LEN];
	char idhex[2 * SK_KEY_ID_LEN + 1], expires[40];
	sk_seckey *key = NULL;
	sk_plan *plan = NULL;
	sk_err err, perr;
	int c, kind, rc = CLI_FAIL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key_path = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			sign_usage(stdout);
			return CLI_OK;
		default:
			return bad_option(cmd, c, argv, sign_usage);
		}
	}
	in_path = one_operand(cmd, argc, argv, "FILE", sign_usage);
	if (in_path == NULL)
		return CLI_USAGE;
	if (key_path == NULL || out_path == NULL) {
		cli_errorf(cmd, "--key KEY and -o SIGNED are required");
		sign_usage(stderr);
		return CLI_USAGE;
	}
	if (read_input(in_path, &buf, &len, &err) != SK_OK) {
		rc = fail(cmd, &err);
		goto out;
	}
	if (sk_plan_decode(buf, len, &plan, &err) != SK_OK) {
		/* Signing a signed plan again is an easy slip; say so plainly. */
		if (sk_envelope_peek(&peeked, &peeked_len, &kind, signer, buf,
			len, &perr) == SK_OK) {
			sk_key_id_hex(signer, idhex);
			cli_errorf(cmd,
			    "sign plan %s: already a signed envelope "
			    "(signer %s); sign the unsigned plan from "
			    "\"skein plan build\"",
			    in_path, idhex);
			goto out;
		}
		sk_err_wrap(&err, "sign plan %s", in_path);
		rc = fail(cmd, &err);
		goto out;
	}
	if (plan->expires_unix <= (int64_t)time(NULL)) {
		iso_utc(plan->expires_unix, expires, sizeof(expires));
		cli_errorf(cmd,
		    "sign plan %s: plan %s (%s) expired at %s; build it "
		    "again",
		    in_path, plan->name, plan->id, expires);
		goto out;
	}
	if (sk_seckey_load(key_path, &key, &err) != SK_OK ||
	    sk_envelope_seal(&sealed, &sealed_len, SK_KIND_PLAN, buf, len, key,
		&err) != SK_OK ||
	    sk_file_write_atomic(out_path, sealed, sealed_len, 0644, &err) != SK_OK) {
		rc = fail(cmd, &err);
		goto out;
	}
	sk_key_id_hex(sk_seckey_public(key)->id, idhex);
	printf("signed plan %s (%s) with key %s -> %s\n", plan->name, plan->id,
	    idhex, out_path);
	rc = CLI_OK;
out:
	free(buf);
	free(sealed);
	free(peeked);
	sk_plan_destroy(plan);
	sk_seckey_destroy(key);
	return rc;
}

static int
plan_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pub", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "plan verify", *in_path;
	bool json = false;
	sk_keyring ring = { 0 };
	const sk_pubkey *signer = NULL;
	uint8_t *buf = NULL, *payload = NULL;
	size_t len = 0, payload_len = 0;
	char idhex[2 * SK_KEY_ID_LEN + 1], expires[40];
	sk_plan *plan = NULL;
	sk_err err;
	int c, rc = CLI_FAIL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			if (sk_keyring_add_file(&ring, optarg, &err) != SK_OK) {
				rc = fail(cmd, &err);
				goto out;
			}
			break;
		case 'h':
			verify_usage(stdout);
			rc = CLI_OK;
			goto out;
		default:
			rc = bad_option(cmd, c, argv, verify_usage);
			goto out;
		}
	}
	in_path = one_operand(cmd, argc, argv, "SIGNED", verify_usage);
	if (in_path == NULL) {
		rc = CLI_USAGE;
		goto out;
	}
	if (ring.n == 0) {
		cli_errorf(cmd, "at least one --pub PUB is required");
		verify_usage(stderr);
		rc = CLI_USAGE;
		goto out;
	}
	if (read_input(in_path, &buf, &len, &err) != SK_OK) {
		rc = fail(cmd, &err);
		goto out;
	}
	if (sk_envelope_open(&payload, &payload_len, &signer, buf, len,
		SK_KIND_PLAN, &ring, &err) != SK_OK ||
	    sk_plan_decode(payload, payload_len, &plan, &err) != SK_OK) {
		sk_err_wrap(&err, "verify %s", in_path);
		rc = fail(cmd, &err);
		goto out;
	}
	sk_key_id_hex(signer->id, idhex);
	iso_utc(plan->expires_unix, expires, sizeof(expires));
	/* A good signature on an expired plan is still a plan no agent will
	 * run; passing it here would only defer the failure. */
	if (plan->expires_unix <= (int64_t)time(NULL)) {
		cli_errorf(cmd, "verify %s: plan %s (%s) signed by %s expired at %s",
		    in_path, plan->name, plan->id, idhex, expires);
		goto out;
	}
	if (json) {
		rc = print_plan_json(cmd, plan, in_path, idhex);
		goto out;
	}
	printf("signature ok: plan %s (%s) signed by %s, expires %s\n",
	    plan->name, plan->id, idhex, expires);
	rc = CLI_OK;
out:
	free(buf);
	free(payload);
	sk_plan_destroy(plan);
	sk_keyring_fini(&ring);
	return rc;
}

static int
plan_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "plan show", *in_path;
	uint8_t *buf = NULL, *payload = NULL;
	size_t len = 0, payload_len = 0;
	uint8_t signer[SK_KEY_ID_LEN];
	char idhex[2 * SK_KEY_ID_LEN + 1];
	bool json = false, sealed = false;
	sk_plan *plan = NULL;
	sk_err err;
	int c, kind = 0, rc = CLI_FAIL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			show_usage(stdout);
			return CLI_OK;
		default:
			return bad_option(cmd, c, argv, show_usage);
		}
	}
	in_path = one_operand(cmd, argc, argv, "FILE", show_usage);
	if (in_path == NULL)
		return CLI_USAGE;
	if (read_input(in_path, &buf, &len, &err) != SK_OK) {
		rc = fail(cmd, &err);
		goto out;
	}
	/* An unsigned plan never parses as an envelope (field 4 has another
	 * wire type, and an envelope needs a 64-byte signature), so trying
	 * the envelope first cannot misread a plan. */
	if (sk_envelope_peek(&payload, &payload_len, &kind, signer, buf, len,
		&err) == SK_OK) {
		if (kind != SK_KIND_PLAN) {
			cli_errorf(cmd,
			    "show %s: a signed message of kind %d, not a plan",
			    in_path, kind);
			goto out;
		}
		sealed = true;
		sk_key_id_hex(signer, idhex);
		rc = sk_plan_decode(payload, payload_len, &plan, &err);
	} else {
		rc = sk_plan_decode(buf, len, &plan, &err);
	}
	if (rc != SK_OK) {
		sk_err_wrap(&err, "show %s", in_path);
		rc = fail(cmd, &err);
		goto out;
	}
	rc = CLI_FAIL;
	if (json) {
		if (sk_plan_print_json(stdout, plan, sealed ? idhex : NULL, &err) !=
		    SK_OK) {
			rc = fail(cmd, &err);
			goto out;
		}
		if (sealed)
			fprintf(stderr,
			    "note: signature not checked; use skein plan "
			    "verify\n");
	} else {
		sk_plan_print(stdout, plan, sealed ? idhex : NULL);
		if (sealed)
			printf("note: signature not checked; use skein plan verify\n");
	}
	rc = CLI_OK;
out:
	free(buf);
	free(payload);
	sk_plan_destroy(plan);
	return rc;
}

int
cli_plan(int argc, char **argv)
{
	const char *sub;

	if (argc < 2) {
		cli_errorf("plan", "a command is required");
		plan_usage(stderr);
		return CLI_USAGE;
	}
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
	    strcmp(sub, "help") == 0) {
		plan_usage(stdout);
		return CLI_OK;
	}
	/* Each subcommand sees itself as argv[0]. */
	if (strcmp(sub, "build") == 0)
		return plan_build(argc - 1, argv + 1);
	if (strcmp(sub, "lint") == 0)
		return plan_lint(argc - 1, argv + 1);
	if (strcmp(sub, "sign") == 0)
		return plan_sign(argc - 1, argv + 1);
	if (strcmp(sub, "verify") == 0)
		return plan_verify(argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0)
		return plan_show(argc - 1, argv + 1);
	if (strcmp(sub, "import") == 0)
		return cli_plan_import(argc - 1, argv + 1);
	cli_errorf("plan", "unknown command %s", sub);
	plan_usage(stderr);
	return CLI_USAGE;
}

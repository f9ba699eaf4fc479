/* cli_lint: `skein lint FILE.sql ...`, the plan lint on bare SQL files
 * (a migrations folder, a file under review), and the lint output
 * formats that it and `skein plan lint` share: text, JSON, SARIF and
 * GitHub workflow annotations. */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sk_lint.h"
#include "sk_util.h"

/* The plan build's limit for one SQL file. */
#define LINT_FILE_MAX (8 * 1024 * 1024)

int
cli_lint_format(const char *name)
{
	static const char *const names[] = {
		[CLI_LINT_TEXT] = "text", [CLI_LINT_JSON] = "json", [CLI_LINT_SARIF] = "sarif", [CLI_LINT_GITHUB] = "github"
	};

	for (size_t i = 0; name != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

int
cli_lint_output(FILE *out, int format, const char *dir,
    const sk_lint_finding *f, size_t n, sk_err *err)
{
	switch (format) {
	case CLI_LINT_JSON:
		return sk_lint_print_json(out, dir, f, n, err);
	case CLI_LINT_SARIF:
		return sk_lint_print_sarif(out, dir, f, n, err);
	case CLI_LINT_GITHUB:
		sk_lint_print_github(out, dir, f, n);
		break;
	default:
		sk_lint_print(out, dir, f, n);
		sk_lint_print_summary(out, f, n);
		break;
	}
	if (fflush(out) != 0 || ferror(out))
		return sk_err_set(
		    err, SK_EIO, "print lint findings: cannot write output");
	return SK_OK;
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "Check SQL files against skein's migration rules, outside a plan,\n"
	    "with PostgreSQL's own parser: the same rules as \"skein plan lint\".\n"
	    "The files are read in the order given, as the steps of one plan,\n"
	    "so a table created by an earlier file counts as new in a later\n"
	    "one. Each file runs in one transaction unless --no-transaction.\n"
	    "Bare files carry no waivers: put them in a plan to waive a rule.\n"
	    "\n"
	    "Usage:\n"
	    "  skein lint [OPTIONS] FILE.sql [FILE.sql ...]\n"
	    "  skein lint --rules\n"
	    "\n"
	    "Options:\n"
	    "  -f, --format FORMAT      text (default), json, sarif (SARIF 2.1.0)\n"
	    "                           or github (workflow annotations)\n"
	    "  -n, --no-transaction     lint every file as a transaction: false\n"
	    "                           step (CREATE INDEX CONCURRENTLY, ...)\n"
	    "  -s, --server-version V   the lowest PostgreSQL the SQL runs on,\n"
	    "                           as in preflight.server_version (\"11\",\n"
	    "                           \"15.2\", \"9.6\"); default: 12 or later\n"
	    "      --rules              list the rules and exit\n"
	    "  -h, --help               show this help and exit\n"
	    "\n"
	    "Examples:\n"
	    "  skein lint migrations/*.sql\n"
	    "  skein lint --no-transaction 0007_index_orders.sql\n"
	    "  skein lint --format github migrations/*.sql\n"
	    "\n"
	    "Exit status: 0 no error-severity finding (warnings allowed); 1 an\n"
	    "error finding, or a file that cannot be read or does not parse;\n"
	    "2 usage error. docs/lint.md explains each rule.\n");
}

/* "15", "15.2" or "9.6" as server_version_num (150000, 150002, 90600);
 * false when text is not such a version. */
static bool
parse_version(const char *text, uint32_t *out)
{
	unsigned long major, minor = 0;
	char *end;

	if (text == NULL || text[0] < '0' || text[0] > '9')
		return false;
	major = strtoul(text, &end, 10);
	if (*end == '.') {
		if (end[1] < '0' || end[1] > '9')
			return false;
		minor = strtoul(end + 1, &end, 10);
	}
	if (*end != '\0' || major < 7 || major > 99 || minor > 99)
		return false;
	/* Before 10 the second number was part of the major version. */
	*out = major >= 10 ? (uint32_t)(major * 10000 + minor) :
			     (uint32_t)(major * 10000 + minor * 100);
	return true;
}

static int
fail(const sk_err *err)
{
	cli_errorf("lint", "%s", err->msg);
	if (err->detail[0] != '\0')
		fprintf(stderr, "detail: %s\n", err->detail);
	if (err->hint[0] != '\0')
		fprintf(stderr, "hint: %s\n", err->hint);
	return CLI_FAIL;
}

int
cli_lint(int argc, char **argv)
{
	enum { OPT_RULES = 256 };
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "no-transaction", no_argument, NULL, 'n' },
		{ "server-version", required_argument, NULL, 's' },
		{ "rules", no_argument, NULL, OPT_RULES },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	sk_lint_options opt = { false, 0 };
	sk_lint_finding *f = NULL;
	char **sqls = NULL;
	size_t n = 0, nfiles;
	int c, format = CLI_LINT_TEXT, rc = CLI_FAIL;
	sk_err err;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:ns:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = cli_lint_format(optarg);
			if (format < 0) {
				cli_errorf("lint",
				    "unknown format \"%s\" (text, json, sarif or "
				    "github)",
				    optarg);
				usage(stderr);
				return CLI_USAGE;
			}
			break;
		case 'n':
			opt.no_transaction = true;
			break;
		case 's':
			if (!parse_version(optarg, &opt.server_version)) {
				cli_errorf("lint",
				    "--server-version \"%s\" is not a PostgreSQL "
				    "version such as 15, 15.2 or 9.6",
				    optarg);
				return CLI_USAGE;
			}
			break;
		case OPT_RULES:
			sk_lint_print_rules(stdout);
			return CLI_OK;
		case 'h':
			usage(stdout);
			return CLI_OK;
		case ':':
			cli_errorf("lint", "option %s needs an argument",
			    argv[optind - 1]);
			usage(stderr);
			return CLI_USAGE;
		default:
			if (optopt != 0)
				cli_errorf("lint", "unknown option -%c", optopt);
			else
				cli_errorf("lint", "unknown option %s",
				    argv[optind - 1]);
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		cli_errorf("lint", "at least one FILE.sql is required");
		usage(stderr);
		return CLI_USAGE;
	}
	nfiles = (size_t)(argc - optind);
	sqls = calloc(nfiles, sizeof(*sqls));
	if (sqls == NULL) {
		cli_errorf("lint", "out of memory");
		return CLI_FAIL;
	}
	for (size_t i = 0; i < nfiles; i++) {
		size_t len = 0;

		if (sk_file_read(argv[optind + (int)i], LINT_FILE_MAX, &sqls[i],
			&len, &err) != SK_OK) {
			rc = fail(&err);
			goto out;
		}
		/* The parser would stop at a NUL and lint half the file. */
		if (memchr(sqls[i], '\0', len) != NULL) {
			cli_errorf("lint", "%s holds a NUL byte at offset %zu",
			    argv[optind + (int)i],
			    (size_t)((char *)memchr(sqls[i], '\0', len) - sqls[i]));
			goto out;
		}
	}
	if (sk_lint_files((const char *const *)(argv + optind),
		(const char *const *)sqls, nfiles, &opt, &f, &n, &err) != SK_OK) {
		rc = fail(&err);
		goto out;
	}
	if (cli_lint_output(stdout, format, NULL, f, n, &err) != SK_OK) {
		rc = fail(&err);
		goto out;
	}
	rc = sk_lint_blocking(f, n) > 0 ? CLI_FAIL : CLI_OK;
out:
	sk_lint_findings_free(f, n);
	for (size_t i = 0; i < nfiles; i++)
		free(sqls[i]);
	free(sqls);
	return rc;
}

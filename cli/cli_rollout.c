/* cli_rollout: `skein rollout start|status|wait|pause|resume|tune|
 * rollback|report`, the operator's view of the coordinator: options,
 * usage and dispatch. start, status and wait live in cli_rollout_watch.c;
 * report and rehearse in cli_rollout_record.c; rollback, its listing and
 * its question in cli_rollout_rollback.c; pause, resume
 * and tune in cli_rollout_opctl.c; the exchange with the coordinator in
 * cli_coord.c. The record and the rehearsal verdicts are formatted by
 * cli_report.c. */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_coord.h"
#include "cli_gate.h"
#include "cli_rollout_int.h"
#include "sk_transport.h"
#include "sk_util.h"
#include "sk_wire.h"

/* ---- dispatch ----------------------------------------------------------- */

enum {
	OPT_REHEARSE = 256,
	OPT_REGION,
	OPT_WAIT,
	OPT_FORMAT,
	OPT_NO_COLOR,
	OPT_WATCH,
};
/* The flags that let a destructive command skip a safeguard. */
enum { OPT_NO_BACKUP = 320, OPT_REAPPLY, OPT_YES, OPT_DRY_RUN };
/* The values of pause and tune. */
enum { OPT_REASON = 340, OPT_RATE, OPT_BATCH_MIN, OPT_BATCH_MAX };
/* gates: approve's phase. */
enum { OPT_PHASE = 380 };

typedef struct opts {
	const char *url;
	bool json, quiet, rehearse, wait;
	bool watch;     /* status: follow it live to its end */
	bool no_color;  /* status, wait: no bars or escape codes */
	bool no_backup; /* rollback: no backup before the first revert */
	bool reapply;   /* start: apply a plan whose last apply was undone */
	bool yes;       /* rollback: no question asked */
	bool dry_run;   /* rollback: list what it would revert, do nothing */
	bool has_timeout;
	int64_t timeout_ms;
	const char *region;
	const char *format;
	const char *reason; /* pause */
	sk_tune tune;       /* tune: what the options change */
	/* stopline: every --region (pause and resume take several). */
	const char *regions[SK_OP_REGIONS_MAX];
	size_t nregions;
	const char *phase; /* approve */
} opts;

/* Where --no-color goes: only what shows progress. */
#define NO_COLOR_ONLY "--no-color (only status, wait and rollback --wait do)"

/* Options a subcommand does not take are usage errors, not silently
 * ignored: `rollout start --region af` must not start everywhere. */
static int
misplaced(const char *sub, const char *opt, void (*sub_usage)(FILE *))
{
	cli_errorf("rollout", "%s does not take %s", sub, opt);
	sub_usage(stderr);
	return CLI_USAGE;
}

static int
one_id(const char *sub, int argc, char **argv, void (*sub_usage)(FILE *))
{
	if (argc == 1 && argv[0][0] != '\0')
		return CLI_OK;
	cli_errorf("rollout", "%s takes exactly one %s", sub,
	    strcmp(sub, "start") == 0 ? "signed plan" : "rollout ID");
	sub_usage(stderr);
	return CLI_USAGE;
}

/* pause, resume, tune: each takes one rollout ID and only its own
 * options. */
static int
run_opctl(const char *sub, const opts *o, int argc, char **argv)
{
	void (*sub_usage)(FILE *) = strcmp(sub, "pause") == 0 ? rollout_usage_pause :
	    strcmp(sub, "resume") == 0 ? rollout_usage_resume :
					 rollout_usage_tune;
	int rc;

	if (o->region && strcmp(sub, "tune") != 0 && !o->wait && !o->format &&
	    !o->json && !o->quiet && !o->has_timeout &&
	    one_id(sub, argc, argv, sub_usage) == CLI_OK) /* stopline */
		return rollout_cmd_region(o->url, argv[0],
		    strcmp(sub, "pause") == 0, o->regions, o->nregions, o->reason);
	if (o->region || o->wait || o->format || o->json || o->quiet || o->has_timeout)
		return misplaced(sub, "that option", sub_usage);
	if (o->reason != NULL && strcmp(sub, "pause") != 0)
		return misplaced(sub, "--reason (only pause does)", sub_usage);
	if (!sk_tune_is_empty(&o->tune) && strcmp(sub, "tune") != 0)
		return misplaced(sub,
		    "--max-rows-per-second, --batch-min or --batch-max (only "
		    "tune does)",
		    sub_usage);
	if ((rc = one_id(sub, argc, argv, sub_usage)) != CLI_OK)
		return rc;
	if (strcmp(sub, "pause") == 0)
		return rollout_cmd_pause(o->url, argv[0], o->reason);
	if (strcmp(sub, "resume") == 0)
		return rollout_cmd_resume(o->url, argv[0]);
	return rollout_cmd_tune(o->url, argv[0], &o->tune);
}

static int
run(const char *sub, const opts *o, int argc, char **argv)
{
	int rc;

	if (o->phase != NULL && strcmp(sub, "approve") != 0)
		return misplaced(sub, "--phase (only approve does)", rollout_usage);
	if (o->watch && strcmp(sub, "status") != 0)
		return misplaced(sub,
		    "--watch (only status does; wait follows anyway)", rollout_usage);
	if ((o->yes || o->dry_run) && strcmp(sub, "rollback") != 0)
		return misplaced(sub, "--yes or --dry-run (only rollback does)",
		    rollout_usage);
	if (strcmp(sub, "approve") == 0) {
		if (o->region || o->wait || o->format || o->json || o->quiet ||
		    o->has_timeout || o->reason || o->rehearse ||
		    o->no_backup || o->reapply || !sk_tune_is_empty(&o->tune))
			return misplaced(sub, "that option", rollout_usage_approve);
		if ((rc = one_id(sub, argc, argv, rollout_usage_approve)) != CLI_OK)
			return rc;
		if (o->phase == NULL) {
			cli_errorf("rollout", "approve needs --phase NAME");
			rollout_usage_approve(stderr);
			return CLI_USAGE;
		}
		return rollout_cmd_approve(o->url, argv[0], o->phase);
	}
	if (strcmp(sub, "start") == 0) {
		if (o->region || o->wait || o->format || o->quiet || o->no_backup)
			return misplaced(sub,
			    "--region, --wait, --format, --quiet or --no-backup",
			    rollout_usage_start);
		if (o->json && o->rehearse)
			return misplaced(
			    sub, "--json with --rehearse", rollout_usage_start);
		if (o->no_color)
			return misplaced(sub, NO_COLOR_ONLY, rollout_usage_start);
		if (o->reason != NULL || !sk_tune_is_empty(&o->tune))
			return misplaced(sub,
			    "--reason or --max-rows-per-second, --batch-min, "
			    "--batch-max (pause and tune do)",
			    rollout_usage_start);
		if (o->has_timeout && !o->rehearse)
			return misplaced(sub, "--timeout without --rehearse",
			    rollout_usage_start);
		if (o->reapply && o->rehearse)
			return misplaced(sub,
			    "--reapply with --rehearse (a rehearsal changes "
			    "nothing)",
			    rollout_usage_start);
		if ((rc = one_id(sub, argc, argv, rollout_usage_start)) != CLI_OK)
			return rc;
		return o->rehearse ?
		    rollout_cmd_rehearse(o->url, argv[0], o->timeout_ms) :
		    rollout_cmd_start(o->url, argv[0], o->reapply, o->json);
	}
	if (o->reapply)
		return misplaced(sub, "--reapply (only start does)", rollout_usage);
	if (o->rehearse)
		return misplaced(sub, "--rehearse (only start does)", rollout_usage);
	if (o->no_backup && strcmp(sub, "rollback") != 0)
		return misplaced(sub, "--no-backup (only rollback does)", rollout_usage);
	if (strcmp(sub, "pause") == 0 || strcmp(sub, "resume") == 0 ||
	    strcmp(sub, "tune") == 0)
		return run_opctl(sub, o, argc, argv);
	if (strcmp(sub, "list") == 0) { /* stopline */
		if (o->region || o->wait || o->format || o->quiet || o->has_timeout ||
		    o->reason || !sk_tune_is_empty(&o->tune) || argc != 0)
			return misplaced(
			    sub, "that option or argument", rollout_usage_list);
		return rollout_cmd_list(o->url, o->json);
	}
	if (strcmp(sub, "abort") == 0) { /* stopline */
		if (o->wait || o->format || o->json || o->quiet ||
		    o->has_timeout || !sk_tune_is_empty(&o->tune))
			return misplaced(sub, "that option", rollout_usage);
		if ((rc = one_id(sub, argc, argv, rollout_usage_abort)) != CLI_OK)
			return rc;
		return rollout_cmd_abort(
		    o->url, argv[0], o->regions, o->nregions, o->reason);
	}
	if (o->reason != NULL)
		return misplaced(sub, "--reason (only pause does)", rollout_usage);
	if (!sk_tune_is_empty(&o->tune))
		return misplaced(sub,
		    "--max-rows-per-second, --batch-min or --batch-max (only "
		    "tune does)",
		    rollout_usage);
	if (strcmp(sub, "status") == 0) {
		if (o->region || o->wait || o->format || o->has_timeout || o->quiet)
			return misplaced(sub, "that option", rollout_usage_status);
		if (argc > 1) {
			cli_errorf("rollout", "status takes at most one rollout ID");
			rollout_usage_status(stderr);
			return CLI_USAGE;
		}
		if (o->watch && o->json)
			return misplaced(sub,
			    "--json with --watch (rollout wait --json prints "
			    "events as JSON lines)",
			    rollout_usage_status);
		if (o->watch) {
			if ((rc = one_id("status --watch", argc, argv,
				 rollout_usage_status)) != CLI_OK)
				return rc;
			return rollout_cmd_watch(o->url, argv[0], o->no_color);
		}
		return rollout_cmd_status(
		    o->url, argc == 1 ? argv[0] : NULL, o->json, o->no_color);
	}
	if (strcmp(sub, "wait") == 0) {
		if (o->region || o->wait || o->format)
			return misplaced(sub, "that option", rollout_usage_wait);
		if (o->json && o->quiet)
			return misplaced(sub, "--json with --quiet", rollout_usage_wait);
		if ((rc = one_id(sub, argc, argv, rollout_usage_wait)) != CLI_OK)
			return rc;
		return rollout_cmd_wait(o->url, argv[0], o->timeout_ms,
		    o->quiet, o->no_color, o->json);
	}
	if (strcmp(sub, "rollback") == 0) {
		if (o->format || o->json)
			return misplaced(
			    sub, "--format or --json", rollout_usage_rollback);
		if ((o->has_timeout || o->quiet) && !o->wait)
			return misplaced(sub, "--timeout or --quiet without --wait",
			    rollout_usage_rollback);
		if (o->no_color && !o->wait)
			return misplaced(sub, NO_COLOR_ONLY, rollout_usage_rollback);
		if (o->dry_run && (o->yes || o->wait))
			return misplaced(sub,
			    "--dry-run with --yes or --wait (a dry run does nothing)",
			    rollout_usage_rollback);
		if ((rc = one_id(sub, argc, argv, rollout_usage_rollback)) != CLI_OK)
			return rc;
		return rollout_cmd_rollback(o->url, argv[0], o->region, o->no_backup,
		    o->dry_run ? ROLLBACK_DRY_RUN :
			o->yes ? ROLLBACK_YES :
				 ROLLBACK_ASK,
		    o->wait, o->timeout_ms, o->quiet, o->no_color);
	}
	if (strcmp(sub, "report") == 0) {
		const char *format = o->format ? o->format :
		    o->json                    ? "json" :
						 "md";

		if (o->region || o->wait || o->has_timeout || o->quiet)
			return misplaced(sub, "that option", rollout_usage_report);
		if (o->no_color)
			return misplaced(sub, NO_COLOR_ONLY, rollout_usage_report);
		if (o->json && o->format && strcmp(o->format, "json") != 0) {
			cli_errorf("rollout",
			    "report: --json and --format %s disagree", o->format);
			return CLI_USAGE;
		}
		if (strcmp(format, "md") != 0 && strcmp(format, "json") != 0) {
			cli_errorf("rollout",
			    "report --format: '%s' is neither md nor json", format);
			return CLI_USAGE;
		}
		if ((rc = one_id(sub, argc, argv, rollout_usage_report)) != CLI_OK)
			return rc;
		return rollout_cmd_report(o->url, argv[0], format);
	}
	cli_errorf("rollout", "unknown subcommand: %s", sub);
	rollout_usage(stderr);
	return CLI_USAGE;
}

/* Check the TLS settings for url and hand them to cli_coord. An empty
 * value (SKEIN_TLS_CA= in the environment) counts as none. */
static int
tls_settings(sk_tls_config *tls, const char *url)
{
	cli_coord_tls_blanks(tls);
	if (sk_transport_is_tls(url) && tls->ca == NULL) {
		cli_errorf("rollout",
		    "the coordinator's URL %s is TLS but no CA certificate is "
		    "given to check its certificate against: pass --tls-ca FILE "
		    "or set SKEIN_TLS_CA",
		    url);
		return CLI_USAGE;
	}
	if ((tls->cert == NULL) != (tls->key == NULL)) {
		cli_errorf("rollout",
		    "--tls-cert and --tls-key (SKEIN_TLS_CERT, SKEIN_TLS_KEY) go "
		    "together: a certificate and its private key");
		return CLI_USAGE;
	}
	cli_coord_tls(tls);
	return CLI_OK;
}

static void (*usage_of(const char *sub))(FILE *)
{
	static const struct {
		const char *name;
		void (*fn)(FILE *);
	} subs[] = {
		{ "start", rollout_usage_start },
		{ "status", rollout_usage_status },
		{ "wait", rollout_usage_wait },
		{ "rollback", rollout_usage_rollback },
		{ "report", rollout_usage_report },
		{ "pause", rollout_usage_pause },
		{ "resume", rollout_usage_resume },
		{ "tune", rollout_usage_tune },
		{ "abort", rollout_usage_abort },
		{ "list", rollout_usage_list },
		{ "approve", rollout_usage_approve },
	};

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(subs[i].name, sub) == 0)
			return subs[i].fn;
	return rollout_usage;
}

int
cli_rollout(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "coordinator", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "rehearse", no_argument, NULL, OPT_REHEARSE },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "no-backup", no_argument, NULL, OPT_NO_BACKUP },
		{ "reapply", no_argument, NULL, OPT_REAPPLY },
		{ "yes", no_argument, NULL, OPT_YES },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "max-rows-per-second", required_argument, NULL, OPT_RATE },
		{ "batch-min", required_argument, NULL, OPT_BATCH_MIN },
		{ "batch-max", required_argument, NULL, OPT_BATCH_MAX },
		{ "phase", required_argument, NULL, OPT_PHASE },
		{ "no-color", no_argument, NULL, OPT_NO_COLOR },
		{ "watch", no_argument, NULL, OPT_WATCH },
		CLI_COORD_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	opts o = { .url = getenv("SKEIN_COORDINATOR") };
	sk_tls_config tls;
	void (*sub_usage)(FILE *);
	const char *sub;
	sk_err err;
	int c, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		rollout_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	cli_coord_tls_env(&tls);
	sub = argv[1];
	sub_usage = usage_of(sub);
	optind = 1;
	opterr = 0; /* the messages below name the command */
	while ((c = getopt_long(argc - 1, argv + 1, ":C:jt:qh", longopts, NULL)) != -1) {
		if (cli_coord_option(c, optarg, &o.url, &tls))
			continue;
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 't':
			if (sk_duration_parse(optarg, &o.timeout_ms, &err) != SK_OK) {
				cli_errorf("rollout", "--timeout: %s", err.msg);
				return CLI_USAGE;
			}
			o.has_timeout = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case OPT_REHEARSE:
			o.rehearse = true;
			break;
		case OPT_REGION:
			if (!sk_name_valid(optarg)) {
				cli_errorf("rollout",
				    "--region: '%s' is not a region name", optarg);
				return CLI_USAGE;
			}
			o.region = optarg;
			if (o.nregions == SK_OP_REGIONS_MAX) {
				cli_errorf("rollout", "--region: at most %d",
				    SK_OP_REGIONS_MAX);
				return CLI_USAGE;
			}
			o.regions[o.nregions++] = optarg;
			break;
		case OPT_WAIT:
			o.wait = true;
			break;
		case OPT_NO_BACKUP:
			o.no_backup = true;
			break;
		case OPT_REAPPLY:
			o.reapply = true;
			break;
		case OPT_YES:
			o.yes = true;
			break;
		case OPT_DRY_RUN:
			o.dry_run = true;
			break;
		case OPT_FORMAT:
			o.format = optarg;
			break;
		case OPT_REASON:
			o.reason = optarg;
			break;
		case OPT_RATE:
			if (rollout_parse_rate(optarg, &o.tune) != CLI_OK)
				return CLI_USAGE;
			break;
		case OPT_BATCH_MIN:
			if (rollout_parse_batch("--batch-min", optarg,
				&o.tune.batch_min) != CLI_OK)
				return CLI_USAGE;
			break;
		case OPT_BATCH_MAX:
			if (rollout_parse_batch("--batch-max", optarg,
				&o.tune.batch_max) != CLI_OK)
				return CLI_USAGE;
			break;
		case OPT_PHASE:
			o.phase = optarg;
			break;
		case OPT_NO_COLOR:
			o.no_color = true;
			break;
		case OPT_WATCH:
			o.watch = true;
			break;
		case 'h':
			sub_usage(stdout);
			return CLI_OK;
		case ':':
			cli_errorf("rollout", "%s: %s needs a value", sub,
			    argv[optind] ? argv[optind] : "an option");
			sub_usage(stderr);
			return CLI_USAGE;
		default:
			if (optopt != 0 && optopt != '?')
				cli_errorf("rollout", "%s: unknown option -%c",
				    sub, optopt);
			else
				cli_errorf("rollout", "%s: unknown option %s",
				    sub, argv[optind] ? argv[optind] : "?");
			sub_usage(stderr);
			return CLI_USAGE;
		}
	}
	argc -= 1 + optind;
	argv += 1 + optind;
	if (sub_usage == rollout_usage) {
		cli_errorf("rollout", "unknown subcommand: %s", sub);
		rollout_usage(stderr);
		return CLI_USAGE;
	}
	if (o.url == NULL || o.url[0] == '\0') {
		cli_errorf("rollout",
		    "no coordinator: pass --coordinator URL or set SKEIN_COORDINATOR");
		return CLI_USAGE;
	}
	if ((rc = tls_settings(&tls, o.url)) != CLI_OK)
		return rc;
	return run(sub, &o, argc, argv);
}

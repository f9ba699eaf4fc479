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

/* ---- usage -------------------------------------------------------------- */

/* The TLS options every subcommand takes, for a tls+tcp:// coordinator. */
static const char tls_help[] =
    "  --tls-ca FILE      the CA certificate that signed the coordinator's\n"
    "                     (needed with a tls+tcp:// URL; $SKEIN_TLS_CA)\n"
    "  --tls-server-name NAME  the name its certificate must carry\n"
    "                     (default: the URL's host; $SKEIN_TLS_SERVER_NAME)\n"
    "  --tls-cert FILE, --tls-key FILE  a client certificate and its key,\n"
    "                     for a control socket that asks for one\n"
    "                     ($SKEIN_TLS_CERT, $SKEIN_TLS_KEY)\n";

static void
usage(FILE *out)
{
	fprintf(out,
	    "Start, follow, roll back and record rollouts on the coordinator.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout start SIGNED [--reapply] [--json]\n"
	    "                                         start a rollout; prints its id\n"
	    "  skein rollout start --rehearse SIGNED  rehearse it everywhere and\n"
	    "                                         print READY/BLOCKED verdicts\n"
	    "  skein rollout status [ID] [--json]     where each region is\n"
	    "  skein rollout status ID --watch        ... redrawn live until it ends\n"
	    "  skein rollout wait ID [--timeout D] [--json]\n"
	    "                                         follow a rollout to its end\n"
	    "  skein rollout pause ID [--reason TEXT] hold it: running steps finish,\n"
	    "                                         nothing new starts\n"
	    "  skein rollout resume ID                go on after a pause\n"
	    "  skein rollout tune ID [--max-rows-per-second N|none]\n"
	    "                     [--batch-min N] [--batch-max N]\n"
	    "                                         new limits for its backfills\n"
	    "  skein rollout rollback ID [--region R] [--yes] [--dry-run]\n"
	    "                                         revert what a rollout applied\n"
	    "  skein rollout report ID [--format md|json]\n"
	    "                                         the execution record\n"
	    "  skein rollout approve ID --phase NAME  approve a phase (its gate)\n"
	    "\n"
	    "Every command takes --coordinator URL (default: $SKEIN_COORDINATOR)\n"
	    "and --key FILE, the operator key that signs it (default: $SKEIN_KEY,\n"
	    "then ~/.config/skein/operator.key). The coordinator pins operator\n"
	    "keys with roles: viewer (status, report), operator (start, pause,\n"
	    "resume, tune), approver (approve), admin (rollback and the rest).\n"
	    "A tls+tcp:// URL also needs the CA\n"
	    "that signed the coordinator's certificate (docs/operations.md,\n"
	    "\"TLS\"):\n"
	    "\n%s\n"
	    "Run \"skein rollout COMMAND --help\" for a command's options.\n"
	    "\n"
	    "Exit status: 0 success; 1 the operation failed (see each command);\n"
	    "2 usage error.\n",
	    tls_help);
}

static void
start_usage(FILE *out)
{
	fprintf(out,
	    "Hand a signed plan to the coordinator and print the rollout's id.\n"
	    "Starting the same signed plan again prints the same id while that\n"
	    "rollout runs or after it succeeded (unless it was rolled back).\n"
	    "\n"
	    "A plan whose latest apply was rolled back is applied again only with\n"
	    "--reapply: it re-creates what the rollback removed, but not the data\n"
	    "the reverts dropped. The coordinator journals who said --reapply.\n"
	    "\n"
	    "With --rehearse, every region runs every transactional step and its\n"
	    "checks in a transaction that is rolled back: nothing changes in any\n"
	    "database. The command waits for every region and prints, per region\n"
	    "and database, READY or BLOCKED with the reasons (failed checks with\n"
	    "the value seen, failed statements with SQLSTATE, blocking sessions)\n"
	    "and the steps that cannot be rehearsed (non-transactional ones).\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout start SIGNED [--reapply] [--json] [--coordinator URL]\n"
	    "  skein rollout start --rehearse SIGNED [--timeout D] [--coordinator URL]\n"
	    "\n"
	    "Options:\n"
	    "  --reapply          apply a plan whose latest apply was rolled back\n"
	    "  --json             print {id, plan, plan_id, mode, regions} as JSON\n"
	    "                     (docs/operations.md, \"JSON of the CLI\")\n"
	    "  --rehearse         rehearse instead of applying\n"
	    "  --timeout D        (rehearse) stop waiting after D (default 10m) and\n"
	    "                     name the regions that gave no verdict\n"
	    "  --coordinator URL  the coordinator's control URL\n%s"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Examples:\n"
	    "  skein rollout start plan.signed\n"
	    "  skein rollout start plan.signed --reapply   # after a rollback\n"
	    "  skein rollout start --rehearse plan.signed --timeout 20m\n"
	    "\n"
	    "Exit status: 0 started (rehearse: READY everywhere); 1 refused,\n"
	    "unreachable, or (rehearse) any region BLOCKED or silent; 2 usage.\n",
	    tls_help);
}

static void
status_usage(FILE *out)
{
	fprintf(out,
	    "Show where each region of a rollout (or of every rollout) is.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout status [ID] [--json] [--no-color] [--coordinator URL]\n"
	    "  skein rollout status ID --watch [--no-color] [--coordinator URL]\n"
	    "\n"
	    "With --watch it follows the rollout until it ends, as rollout wait\n"
	    "does: on a terminal the phases and regions redrawn in place, each\n"
	    "with its state, time, step and what it waits for; elsewhere one line\n"
	    "per event. It exits 0 whatever the rollout's outcome.\n"
	    "\n"
	    "A database running a backfill gets a line of its own: on a terminal\n"
	    "a bar, its percent, rows, rate and ETA (or why it is paused) and its\n"
	    "batch size; elsewhere the same figures without the bar.\n"
	    "\n"
	    "Options:\n"
	    "  --json             print JSON\n"
	    "  --watch            follow it live until it ends\n"
	    "  --no-color         plain lines, no bars or escape codes, even on a\n"
	    "                     terminal (also NO_COLOR=1 or TERM=dumb; with\n"
	    "                     --watch: no colours, the view still redrawn)\n"
	    "  --coordinator URL  the coordinator's control URL\n%s"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Examples:\n"
	    "  skein rollout status\n"
	    "  skein rollout status r-abc --json\n"
	    "  skein rollout status r-abc --watch\n"
	    "\n"
	    "Exit status: 0 shown (whatever the rollout's state); 1 unknown\n"
	    "rollout or coordinator unreachable; 2 usage.\n",
	    tls_help);
}

static void
wait_usage(FILE *out)
{
	fprintf(out,
	    "Follow a rollout, printing its progress, until it ends.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout wait ID [--timeout D] [--quiet | --json] [--no-color]\n"
	    "                     [--coordinator URL]\n"
	    "\n"
	    "On a terminal the events scroll and under them a live view is redrawn\n"
	    "in place: each phase and region with its state, elapsed time, step\n"
	    "(and for how long), what it waits for (a lock and its holder, a gate,\n"
	    "an approval, a pause, an agent not connected) and a bar per backfill\n"
	    "or move; it stays on the screen when the rollout ends. Colours unless\n"
	    "NO_COLOR is set or --no-color is given. Not a terminal (or TERM=dumb):\n"
	    "one line per event, a lock wait one line when it starts and one when\n"
	    "it ends, and a plain line per backfill every 30 s.\n"
	    "\n"
	    "With --json: one JSON object a line per event, as the HTTP event\n"
	    "stream's, then a last object with the outcome (docs/operations.md,\n"
	    "\"JSON of the CLI\"); nothing else on stdout.\n"
	    "\n"
	    "Options:\n"
	    "  --timeout D        give up after a duration such as 30m\n"
	    "  --quiet            print only the final line\n"
	    "  --json             JSON lines: the events, then the outcome\n"
	    "  --no-color         no colours (the view is still redrawn)\n"
	    "  --coordinator URL  the coordinator's control URL\n%s"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Examples:\n"
	    "  skein rollout wait r-abc --timeout 30m\n"
	    "  skein rollout wait r-abc --json | jq -c 'select(.outcome)'\n"
	    "\n"
	    "Exit status: 0 when the rollout succeeded (a rehearsal: READY), 1 when\n"
	    "it failed, halted or was BLOCKED, the timeout passed or the\n"
	    "coordinator is unreachable; 2 usage.\n",
	    tls_help);
}

static void
rollback_usage(FILE *out)
{
	fprintf(out,
	    "Roll a finished rollout back: run the revert scripts of its completed\n"
	    "steps, newest first, in every region it reached (or only in region R),\n"
	    "phases in reverse order (the canary last), halting at the first\n"
	    "failure. Each revert is recorded in the region's ledger. Prints the id\n"
	    "of the rollback, itself a rollout (status, wait and report take it).\n"
	    "\n"
	    "A revert can drop data (a DROP TABLE undoes a CREATE TABLE), so before\n"
	    "its first revert each agent takes a pg_dump of the database, reads it\n"
	    "back and records it (agent.yaml backup_dir); an agent without a\n"
	    "backup_dir refuses, reverting nothing. --no-backup skips the backup and\n"
	    "is journaled with your name, as is the plan's rollback_backup: false.\n"
	    "\n"
	    "Before anything is reverted, the rollout's record says what would be:\n"
	    "regions (the canary last), databases, steps newest first and each\n"
	    "revert script's first line. On a terminal that list is shown and\n"
	    "only the answer 'yes' goes on. Without a terminal the command\n"
	    "refuses (exit 2, nothing done) unless --yes says a script means it.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout rollback ID [--region R] [--no-backup] [--yes]\n"
	    "                        [--wait [--timeout D] [--quiet] [--no-color]]\n"
	    "  skein rollout rollback ID --dry-run [--region R] [--no-backup]\n"
	    "\n"
	    "Options:\n"
	    "  --region R         only region R (a region of the rollout's plan)\n"
	    "  --yes              do not ask (for scripts; needed off a terminal)\n"
	    "  --dry-run          print what it would revert and change nothing\n"
	    "  --no-backup        revert without backing the databases up first\n"
	    "  --wait             follow the rollback to its end, like rollout wait\n"
	    "  --timeout D        (wait) give up after D\n"
	    "  --quiet            (wait) print only the final line\n"
	    "  --no-color         (wait) plain lines, no bars or escape codes\n"
	    "  --coordinator URL  the coordinator's control URL\n%s"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Examples:\n"
	    "  skein rollout rollback r-abc --dry-run\n"
	    "  skein rollout rollback r-abc --wait         # asks first\n"
	    "  skein rollout rollback r-abc --region af --yes --wait\n"
	    "  skein rollout rollback r-abc --yes --no-backup   # nothing to lose\n"
	    "\n"
	    "Exit status: 0 started (with --wait: succeeded; --dry-run: listed);\n"
	    "1 refused, not confirmed, unreachable or (with --wait) failed; 2\n"
	    "usage, or no terminal to ask on and no --yes.\n",
	    tls_help);
}

static void
pause_usage(FILE *out)
{
	rollout_pause_usage(out, tls_help);
}

static void
resume_usage(FILE *out)
{
	rollout_resume_usage(out, tls_help);
}

static void
tune_usage(FILE *out)
{
	rollout_tune_usage(out, tls_help);
}

static void
approve_usage(FILE *out)
{
	rollout_approve_usage(out, tls_help);
}

static void
report_usage(FILE *out)
{
	fprintf(out,
	    "Print a rollout's execution record: per region, database and step the\n"
	    "start, end, duration, attempts, lock waits and blockers, rows, every\n"
	    "check with the value seen and expected, the backup with its restore\n"
	    "command, and the verdict; the plan's waived lint rules with reasons;\n"
	    "each backfill's rows, duration, batches, rows/s and time throttled,\n"
	    "in total and by reason.\n"
	    "Markdown is meant to be pasted into a change record; the JSON keys\n"
	    "are described in docs/operations.md.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout report ID [--format md|json] [--coordinator URL]\n"
	    "\n"
	    "Options:\n"
	    "  --format F         md (default) or json\n"
	    "  --json             same as --format json\n"
	    "  --coordinator URL  the coordinator's control URL\n%s"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Examples:\n"
	    "  skein rollout report r-abc > change-record.md\n"
	    "  skein rollout report r-abc --format json\n"
	    "\n"
	    "Exit status: 0 printed (whatever the rollout's outcome); 1 unknown\n"
	    "rollout or coordinator unreachable; 2 usage.\n",
	    tls_help);
}

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

/* stopline */
static void
abort_usage(FILE *out)
{
	fprintf(out,
	    "Abort a running rollout: it ends as \"aborted\"; running regions\n"
	    "finish their current step and start no other, pending regions never\n"
	    "start. With --region, abort only those regions: each finishes its\n"
	    "running step, starts no other, and ends failed (\"aborted by NAME\");\n"
	    "one not started yet fails at once; the other regions of the phase\n"
	    "finish their steps, then the rollout fails by the phase rule and no\n"
	    "later phase starts. The answer says what it left in each (aborted)\n"
	    "region and database and the command to roll back. Needs role\n"
	    "operator.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout abort ID [--region R]... [--reason TEXT]\n"
	    "                         [--coordinator URL]\n"
	    "\n"
	    "Options:\n"
	    "  --region R     abort only region R (repeatable, at most %d)\n"
	    "  --reason TEXT  why, on one line (shown with the abort)\n"
	    "\n"
	    "Exit status: 0 aborted; 1 refused (unknown or finished rollout, a\n"
	    "region it does not have, named twice, finished or already aborted,\n"
	    "a role below operator) or unreachable; 2 usage.\n",
	    SK_OP_REGIONS_MAX);
}

/* stopline */
static void
list_usage(FILE *out)
{
	fprintf(out,
	    "List every rollout: id, plan, mode, state, current phase, age, who\n"
	    "started it, and what it waits for (a pause and by whom, the stopped\n"
	    "line, an abort, the regions running). Needs role viewer.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout list [--json] [--coordinator URL]\n");
}

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
	void (*sub_usage)(FILE *) = strcmp(sub, "pause") == 0 ? pause_usage :
	    strcmp(sub, "resume") == 0                        ? resume_usage :
								tune_usage;
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
		return misplaced(sub, "--phase (only approve does)", usage);
	if (o->watch && strcmp(sub, "status") != 0)
		return misplaced(sub,
		    "--watch (only status does; wait follows anyway)", usage);
	if ((o->yes || o->dry_run) && strcmp(sub, "rollback") != 0)
		return misplaced(sub, "--yes or --dry-run (only rollback does)", usage);
	if (strcmp(sub, "approve") == 0) {
		if (o->region || o->wait || o->format || o->json || o->quiet ||
		    o->has_timeout || o->reason || o->rehearse ||
		    o->no_backup || o->reapply || !sk_tune_is_empty(&o->tune))
			return misplaced(sub, "that option", approve_usage);
		if ((rc = one_id(sub, argc, argv, approve_usage)) != CLI_OK)
			return rc;
		if (o->phase == NULL) {
			cli_errorf("rollout", "approve needs --phase NAME");
			approve_usage(stderr);
			return CLI_USAGE;
		}
		return rollout_cmd_approve(o->url, argv[0], o->phase);
	}
	if (strcmp(sub, "start") == 0) {
		if (o->region || o->wait || o->format || o->quiet || o->no_backup)
			return misplaced(sub,
			    "--region, --wait, --format, --quiet or --no-backup",
			    start_usage);
		if (o->json && o->rehearse)
			return misplaced(sub, "--json with --rehearse", start_usage);
		if (o->no_color)
			return misplaced(sub, NO_COLOR_ONLY, start_usage);
		if (o->reason != NULL || !sk_tune_is_empty(&o->tune))
			return misplaced(sub,
			    "--reason or --max-rows-per-second, --batch-min, "
			    "--batch-max (pause and tune do)",
			    start_usage);
		if (o->has_timeout && !o->rehearse)
			return misplaced(
			    sub, "--timeout without --rehearse", start_usage);
		if (o->reapply && o->rehearse)
			return misplaced(sub,
			    "--reapply with --rehearse (a rehearsal changes "
			    "nothing)",
			    start_usage);
		if ((rc = one_id(sub, argc, argv, start_usage)) != CLI_OK)
			return rc;
		return o->rehearse ?
		    rollout_cmd_rehearse(o->url, argv[0], o->timeout_ms) :
		    rollout_cmd_start(o->url, argv[0], o->reapply, o->json);
	}
	if (o->reapply)
		return misplaced(sub, "--reapply (only start does)", usage);
	if (o->rehearse)
		return misplaced(sub, "--rehearse (only start does)", usage);
	if (o->no_backup && strcmp(sub, "rollback") != 0)
		return misplaced(sub, "--no-backup (only rollback does)", usage);
	if (strcmp(sub, "pause") == 0 || strcmp(sub, "resume") == 0 ||
	    strcmp(sub, "tune") == 0)
		return run_opctl(sub, o, argc, argv);
	if (strcmp(sub, "list") == 0) { /* stopline */
		if (o->region || o->wait || o->format || o->quiet || o->has_timeout ||
		    o->reason || !sk_tune_is_empty(&o->tune) || argc != 0)
			return misplaced(sub, "that option or argument", list_usage);
		return rollout_cmd_list(o->url, o->json);
	}
	if (strcmp(sub, "abort") == 0) { /* stopline */
		if (o->wait || o->format || o->json || o->quiet ||
		    o->has_timeout || !sk_tune_is_empty(&o->tune))
			return misplaced(sub, "that option", usage);
		if ((rc = one_id(sub, argc, argv, abort_usage)) != CLI_OK)
			return rc;
		return rollout_cmd_abort(
		    o->url, argv[0], o->regions, o->nregions, o->reason);
	}
	if (o->reason != NULL)
		return misplaced(sub, "--reason (only pause does)", usage);
	if (!sk_tune_is_empty(&o->tune))
		return misplaced(sub,
		    "--max-rows-per-second, --batch-min or --batch-max (only "
		    "tune does)",
		    usage);
	if (strcmp(sub, "status") == 0) {
		if (o->region || o->wait || o->format || o->has_timeout || o->quiet)
			return misplaced(sub, "that option", status_usage);
		if (argc > 1) {
			cli_errorf("rollout", "status takes at most one rollout ID");
			status_usage(stderr);
			return CLI_USAGE;
		}
		if (o->watch && o->json)
			return misplaced(sub,
			    "--json with --watch (rollout wait --json prints "
			    "events as JSON lines)",
			    status_usage);
		if (o->watch) {
			if ((rc = one_id("status --watch", argc, argv,
				 status_usage)) != CLI_OK)
				return rc;
			return rollout_cmd_watch(o->url, argv[0], o->no_color);
		}
		return rollout_cmd_status(
		    o->url, argc == 1 ? argv[0] : NULL, o->json, o->no_color);
	}
	if (strcmp(sub, "wait") == 0) {
		if (o->region || o->wait || o->format)
			return misplaced(sub, "that option", wait_usage);
		if (o->json && o->quiet)
			return misplaced(sub, "--json with --quiet", wait_usage);
		if ((rc = one_id(sub, argc, argv, wait_usage)) != CLI_OK)
			return rc;
		return rollout_cmd_wait(o->url, argv[0], o->timeout_ms,
		    o->quiet, o->no_color, o->json);
	}
	if (strcmp(sub, "rollback") == 0) {
		if (o->format || o->json)
			return misplaced(sub, "--format or --json", rollback_usage);
		if ((o->has_timeout || o->quiet) && !o->wait)
			return misplaced(sub,
			    "--timeout or --quiet without --wait", rollback_usage);
		if (o->no_color && !o->wait)
			return misplaced(sub, NO_COLOR_ONLY, rollback_usage);
		if (o->dry_run && (o->yes || o->wait))
			return misplaced(sub,
			    "--dry-run with --yes or --wait (a dry run does nothing)",
			    rollback_usage);
		if ((rc = one_id(sub, argc, argv, rollback_usage)) != CLI_OK)
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
			return misplaced(sub, "that option", report_usage);
		if (o->no_color)
			return misplaced(sub, NO_COLOR_ONLY, report_usage);
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
		if ((rc = one_id(sub, argc, argv, report_usage)) != CLI_OK)
			return rc;
		return rollout_cmd_report(o->url, argv[0], format);
	}
	cli_errorf("rollout", "unknown subcommand: %s", sub);
	usage(stderr);
	return CLI_USAGE;
}

/* Check the TLS settings for url and hand them to cli_coord. An empty
 * value (SKEIN_TLS_CA= in the environment) counts as none. */
static int
tls_settings(sk_tls_config *tls, const char *url)
{
	char **files[] = { &tls->ca, &tls->cert, &tls->key, &tls->server_name };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (*files[i] != NULL && (*files[i])[0] == '\0')
			*files[i] = NULL;
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
		{ "start", start_usage },
		{ "status", status_usage },
		{ "wait", wait_usage },
		{ "rollback", rollback_usage },
		{ "report", report_usage },
		{ "pause", pause_usage },
		{ "resume", resume_usage },
		{ "tune", tune_usage },
		{ "abort", abort_usage },
		{ "list", list_usage },
		{ "approve", approve_usage },
	};

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(subs[i].name, sub) == 0)
			return subs[i].fn;
	return usage;
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
	sk_tls_config tls = {
		.ca = getenv("SKEIN_TLS_CA"),
		.cert = getenv("SKEIN_TLS_CERT"),
		.key = getenv("SKEIN_TLS_KEY"),
		.server_name = getenv("SKEIN_TLS_SERVER_NAME"),
	};
	void (*sub_usage)(FILE *);
	const char *sub;
	sk_err err;
	int c, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
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
	if (sub_usage == usage) {
		cli_errorf("rollout", "unknown subcommand: %s", sub);
		usage(stderr);
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

/* cli_rollout_usage: the texts of `skein rollout --help` and of each
 * subcommand's --help (cli_rollout.c dispatches; the options are
 * documented here and in docs/formats.md). */
#include <stdio.h>

#include "cli_gate.h"
#include "cli_rollout_int.h"
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

void
rollout_usage(FILE *out)
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

void
rollout_usage_start(FILE *out)
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

void
rollout_usage_status(FILE *out)
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

void
rollout_usage_wait(FILE *out)
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

void
rollout_usage_rollback(FILE *out)
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

void
rollout_usage_pause(FILE *out)
{
	rollout_pause_usage(out, tls_help);
}

void
rollout_usage_resume(FILE *out)
{
	rollout_resume_usage(out, tls_help);
}

void
rollout_usage_tune(FILE *out)
{
	rollout_tune_usage(out, tls_help);
}

void
rollout_usage_approve(FILE *out)
{
	rollout_approve_usage(out, tls_help);
}

void
rollout_usage_report(FILE *out)
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

/* stopline */
void
rollout_usage_abort(FILE *out)
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
void
rollout_usage_list(FILE *out)
{
	fprintf(out,
	    "List every rollout: id, plan, mode, state, current phase, age, who\n"
	    "started it, and what it waits for (a pause and by whom, the stopped\n"
	    "line, an abort, the regions running). Needs role viewer.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout list [--json] [--coordinator URL]\n");
}

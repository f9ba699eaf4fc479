/* cli: the `skein` operator command. main.c dispatches the first
 * argument to one of these; each parses its own options with getopt_long,
 * answers --help on stdout with exit 0, and returns the process exit code:
 *
 *   0  success
 *   1  the operation failed (bad signature, failed rollout, unreachable
 *      coordinator, invalid plan); the reason is on stderr
 *   2  usage error (unknown option, missing argument)
 *
 * argv[0] is the subcommand name ("keygen", "plan", "rollout", "lint").
 */
#ifndef CLI_H
#define CLI_H

#include <stddef.h>
#include <stdio.h>

#include "sk_err.h"
#include "sk_lint.h"
#include "sk_plan.h"
#include "sk_view_record.h"
#include "sk_wire.h"

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* skein keygen --out DIR/NAME */
int cli_keygen(int argc, char **argv);

/* skein init DIR [--regions LIST] [--force] ... (cli_init.c) */
int cli_init(int argc, char **argv);

/* skein plan build|lint|sign|verify|show ... */
int cli_plan(int argc, char **argv);

/* skein rollout start|status|wait|rollback|report ... */
int cli_rollout(int argc, char **argv);

/* stopline: skein stop [--all|--lift|--status] (cli_stopline.c). */
int cli_stop(int argc, char **argv);

/* skein agents [--json]: every region's agent as the coordinator sees
 * it (cli_agents.c). */
int cli_agents(int argc, char **argv);

/* skein lint [--format F] [--no-transaction] [--server-version V]
 * FILE.sql ...: the plan lint on bare SQL files (cli_lint.c). */
int cli_lint(int argc, char **argv);

/* skein flag set|get|list ...: the emergency flip, straight to a
 * region's databases (cli_flag.c). */
int cli_flag(int argc, char **argv);

/* ---- lint output, shared by "plan lint" and "lint" (cli_lint.c) ---- */

enum cli_lint_format {
	CLI_LINT_TEXT = 0,
	CLI_LINT_JSON,
	CLI_LINT_SARIF,
	CLI_LINT_GITHUB,
};

/* The format named name ("text", "json", "sarif", "github"), or -1. */
int cli_lint_format(const char *name);

/* Print n findings in format (text ends with the summary line); paths
 * are shown relative to dir when it is not NULL. SK_ENOMEM or SK_EIO. */
int cli_lint_output(FILE *out, int format, const char *dir,
    const sk_lint_finding *f, size_t n, sk_err *err) SK_WARN_UNUSED;

/* ---- the execution record (common/view/sk_view_record.h) -------------- */

/* Print the record as a Markdown document (per region, database and step:
 * times, attempts, lock waits and blockers, rows, checks, the backup and
 * its restore command, the verdict; the plan's waivers). Returns SK_OK,
 * SK_ENOMEM, or SK_EIO when out cannot be written. */
int cli_report_md(FILE *out, const sk_rec_src *src, sk_err *err) SK_WARN_UNUSED;

/* The same content as one JSON object (keys documented in
 * docs/operations.md). Same errors as cli_report_md. */
int cli_report_json(FILE *out, const sk_rec_src *src, sk_err *err) SK_WARN_UNUSED;

/* Counts of a rehearsal's verdicts, by region. */
typedef struct cli_verdicts {
	size_t ready;
	size_t blocked; /* BLOCKED, or refused the plan */
	size_t silent;  /* no verdict yet: never answered or still running */
	size_t total;
} cli_verdicts;

/* Print a rehearsal's verdict per region and database: READY, or BLOCKED
 * with every reason (failed checks with the value seen, failed statements
 * with SQLSTATE, blockers), the steps that cannot be rehearsed, and the
 * regions that gave no verdict; then one summary line. Fills *counts. */
void cli_rehearsal_print(FILE *out, const sk_rec_src *src, cli_verdicts *counts);

/* Print "skein <cmd>: <message>" on stderr; used by every subcommand so
 * that errors look alike. */
void cli_errorf(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

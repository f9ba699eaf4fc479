/* cli_rollout_int: what the files of `skein rollout` share: the
 * subcommands cli_rollout.c dispatches to, and the start, follow and
 * printing of cli_rollout_watch.c that cli_rollout_record.c builds on.
 * Calls point one way: cli_rollout.c -> cli_rollout_rollback.c ->
 * cli_rollout_record.c -> cli_rollout_watch.c -> cli_coord.c (the
 * exchange with the coordinator);
 * cli_rollout.c -> cli_rollout_opctl.c (pause, resume, tune) ->
 * cli_coord.c.
 * Internal to the rollout command (and its tests). */
#ifndef CLI_ROLLOUT_INT_H
#define CLI_ROLLOUT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "cli_progress.h"
#include "sk_err.h"
#include "sk_wire.h"

/* Send the signed plan at path to start a rollout in mode (with
 * reapply: --reapply, applying a plan whose latest apply was rolled
 * back); its id goes to id_out (SK_ID_MAX bytes). Fails when the file
 * cannot be read, the coordinator cannot be reached, or it refuses (err
 * is its refusal). */
int rollout_start(const char *url, const char *path, int mode, bool reapply,
    char *id_out, sk_err *err) SK_WARN_UNUSED;

/* Follow rollout id, printing its events unless quiet, until it leaves
 * "running" or the deadline (a sk_mono_ms time; 0: none) passes; unless
 * quiet, on a terminal the live view (cli_live.h) under the events,
 * redrawn after each answer and left on the screen when this returns,
 * elsewhere the events with lock waits folded and each backfill's plain
 * line every 30 s. A coordinator
 * that cannot be reached is retried: it may be restarting. On SK_OK
 * *resp holds the last answer (sk_cli_response_fini); SK_ETIMEOUT when
 * the deadline passed; other codes are final errors. *resp holds nothing
 * unless SK_OK. */
int rollout_follow(const char *url, const char *id, int64_t deadline, bool quiet,
    bool no_color, sk_cli_response *resp, sk_err *err) SK_WARN_UNUSED;

/* Print v as `skein rollout status` shows it: phases, regions and, under
 * a region running several databases, one line per database not done;
 * then one line per database running a backfill, a bar when look is
 * fancy (look NULL: plain). */
void rollout_print_view(FILE *out, const sk_rollout_view *v, const cli_look *look);

/* The subcommands; each prints its own errors and returns a CLI_* exit
 * status (cli.h). */
int rollout_cmd_start(const char *url, const char *path, bool reapply, bool json);
int rollout_cmd_status(const char *url, const char *id, bool json, bool no_color);
int rollout_cmd_wait(const char *url, const char *id, int64_t timeout_ms,
    bool quiet, bool no_color, bool json);
/* status --watch: follow id like wait (cli_live.h), then its final line;
 * CLI_OK whatever the rollout's outcome. */
int rollout_cmd_watch(const char *url, const char *id, bool no_color);
int rollout_cmd_report(const char *url, const char *id, const char *format);
int rollout_cmd_rehearse(const char *url, const char *path, int64_t timeout_ms);

/* How a rollback is confirmed: asked on the terminal, --yes, or
 * --dry-run (listed, nothing done). */
enum { ROLLBACK_ASK = 0, ROLLBACK_YES, ROLLBACK_DRY_RUN };

/* cli_rollout_rollback.c: list what rolling back id would revert, ask
 * (confirm ROLLBACK_ASK: only on a terminal, else CLI_USAGE with nothing
 * done), and roll back. */
int rollout_cmd_rollback(const char *url, const char *id, const char *region,
    bool no_backup, int confirm, bool wait, int64_t timeout_ms, bool quiet,
    bool no_color);

/* Ask the coordinator for everything `report`, the rehearsal verdict and
 * the rollback's listing are built from, and point src at it: resp owns
 * the reports, *plan (maybe NULL, with a warning) is the decoded plan;
 * the caller frees both. err is the coordinator's refusal or the
 * transport's error. */
int rollout_fetch_record(const char *url, const char *id, sk_cli_response *resp,
    sk_plan **plan, sk_rec_src *src, sk_err *err) SK_WARN_UNUSED;

/* cli_rollout_opctl.c: pause, resume, tune. reason may be NULL; a
 * tune's values are checked with rollout_check_tune first. Each returns
 * CLI_USAGE for an ID or value that cannot be sent. */
int rollout_cmd_pause(const char *url, const char *id, const char *reason);
int rollout_cmd_resume(const char *url, const char *id);

/* stopline (cli_stopline.c): abort (printing what it left), a pause or
 * resume of one region. Exit codes as the other commands. */
int rollout_cmd_abort(const char *url, const char *id,
    const char *const *regions, size_t nregions, const char *reason);
int rollout_cmd_region(const char *url, const char *id, bool pause,
    const char *const *regions, size_t nregions, const char *reason);

/* stopline (cli_rollout_list.c): skein rollout list [--json]; what a
 * rollout waits for is sk_view_waits_for (sk_view.h). */
int rollout_cmd_list(const char *url, bool json);
int rollout_cmd_tune(const char *url, const char *id, const sk_tune *t);

/* Their --help, with the TLS options' lines. */
/* cli_rollout_usage.c: each subcommand's --help (and the usage errors'
 * text), out to out. */
void rollout_usage(FILE *out);
void rollout_usage_start(FILE *out);
void rollout_usage_status(FILE *out);
void rollout_usage_wait(FILE *out);
void rollout_usage_rollback(FILE *out);
void rollout_usage_pause(FILE *out);
void rollout_usage_resume(FILE *out);
void rollout_usage_tune(FILE *out);
void rollout_usage_approve(FILE *out);
void rollout_usage_report(FILE *out);
void rollout_usage_abort(FILE *out);
void rollout_usage_list(FILE *out);

void rollout_pause_usage(FILE *out, const char *tls_help);
void rollout_resume_usage(FILE *out, const char *tls_help);
void rollout_tune_usage(FILE *out, const char *tls_help);

/* The values of --max-rows-per-second (a positive number, or "none": no
 * limit) and of --batch-min and --batch-max (named by opt; rows in [1,
 * SK_BACKFILL_BATCH_LIMIT]) into t / *out. CLI_USAGE, with the error
 * printed, for anything else (0, a negative, not a number). */
int rollout_parse_rate(const char *arg, sk_tune *t);
int rollout_parse_batch(const char *opt, const char *arg, int64_t *out);

/* CLI_USAGE, with the error printed, for a tune that changes nothing or
 * whose batch_min is above its batch_max. */
int rollout_check_tune(const sk_tune *t);

#endif

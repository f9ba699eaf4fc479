/* cli_rollout_int: what the files of `skein rollout` share: the
 * subcommands cli_rollout.c dispatches to, and the start, follow and
 * printing of cli_rollout_watch.c that cli_rollout_record.c builds on.
 * Calls point one way: cli_rollout.c -> cli_rollout_record.c ->
 * cli_rollout_watch.c -> cli_coord.c (the exchange with the coordinator).
 * Internal to the rollout command (and its tests). */
#ifndef CLI_ROLLOUT_INT_H
#define CLI_ROLLOUT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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
 * quiet, also its backfills: on a terminal (cli_look_of with no_color) a
 * block of bars under the events, redrawn after each answer and gone by
 * the time this returns, elsewhere plain lines every 30 s. A coordinator
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
int rollout_cmd_start(const char *url, const char *path, bool reapply);
int rollout_cmd_status(const char *url, const char *id, bool json, bool no_color);
int rollout_cmd_wait(const char *url, const char *id, int64_t timeout_ms,
    bool quiet, bool no_color);
int rollout_cmd_report(const char *url, const char *id, const char *format);
int rollout_cmd_rehearse(const char *url, const char *path, int64_t timeout_ms);
int rollout_cmd_rollback(const char *url, const char *id, const char *region,
    bool no_backup, bool wait, int64_t timeout_ms, bool quiet, bool no_color);

#endif

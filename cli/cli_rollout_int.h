/* cli_rollout_int: what the files of `skein rollout` share: the exchange
 * with the coordinator (cli_rollout.c) and the subcommands that
 * cli_rollout.c dispatches to (cli_rollout_watch.c, cli_rollout_record.c).
 * Internal to the rollout command: nothing else includes it. */
#ifndef CLI_ROLLOUT_INT_H
#define CLI_ROLLOUT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sk_err.h"
#include "sk_wire.h"

/* One request/reply exchange with the coordinator. On success *resp is
 * filled (sk_cli_response_fini) and reflects the coordinator's answer,
 * which may itself be an error (resp->ok false). */
int rollout_call(const char *url, const sk_cli_request *req,
    sk_cli_response *resp, sk_err *err);

/* Print e as "skein CMD: message" with its detail and hint, to stderr. */
void rollout_print_err(const char *cmd, const sk_err *e);

/* Send the signed plan at path to start a rollout in mode; its id goes
 * to id_out (SK_ID_MAX bytes). A refusal comes back in err. */
int rollout_start(
    const char *url, const char *path, int mode, char *id_out, sk_err *err);

/* Follow rollout id until it leaves "running" or the deadline (0: none)
 * passes. On SK_OK *resp holds the last answer (sk_cli_response_fini);
 * SK_ETIMEOUT when the deadline passed; other codes are final errors. */
int rollout_follow(const char *url, const char *id, int64_t deadline,
    bool quiet, sk_cli_response *resp, sk_err *err);

/* Print v as `skein rollout status` shows it: phases, regions and, under
 * a region running several databases, one line per database not done. */
void rollout_print_view(FILE *out, const sk_rollout_view *v);

/* The subcommands; each prints its own errors and returns a CLI_* exit
 * status (cli.h). */
int rollout_cmd_start(const char *url, const char *path);
int rollout_cmd_status(const char *url, const char *id, bool json);
int rollout_cmd_wait(const char *url, const char *id, int64_t timeout_ms, bool quiet);
int rollout_cmd_report(const char *url, const char *id, const char *format);
int rollout_cmd_rehearse(const char *url, const char *path, int64_t timeout_ms);
int rollout_cmd_rollback(const char *url, const char *id, const char *region,
    bool wait, int64_t timeout_ms, bool quiet);

#endif

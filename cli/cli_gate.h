/* cli_gate: the phase gates on the CLI's side: `skein rollout approve`,
 * and a rollout's gates and approvals as status, wait, list and the
 * report show them (text, JSON, Markdown). Words only, from the view the
 * coordinator sends (coordinator/coord_gate.c holds the gates). */
#ifndef CLI_GATE_H
#define CLI_GATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "sk_view.h"
#include "sk_wire.h"

/* skein rollout approve ID --phase NAME: CLI_OK approved; CLI_FAIL
 * refused or unreachable (the refusal printed); CLI_USAGE for an ID or
 * phase that cannot be sent. */
int rollout_cmd_approve(const char *url, const char *id, const char *phase);

/* Its --help, with the TLS options' lines. */
void rollout_approve_usage(FILE *out, const char *tls_help);

/* The gate lines of `rollout status` and `wait`: what the current gate
 * waits for, and every approval, each line starting with indent. */
void cli_gate_print(FILE *out, const sk_rollout_view *v, const char *indent);

/* The report's "Gates and approvals" section in Markdown (nothing when
 * v has neither). */
void cli_gate_md(FILE *out, const sk_rollout_view *v);

#endif

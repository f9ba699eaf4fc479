/* cli_gate: the phase gates on the CLI's side: `skein rollout approve`,
 * and a rollout's gates and approvals as status, wait, list and the
 * report show them (text, JSON, Markdown). Words only, from the view the
 * coordinator sends (coordinator/coord_gate.c holds the gates). */
#ifndef CLI_GATE_H
#define CLI_GATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "sk_wire.h"

/* skein rollout approve ID --phase NAME: CLI_OK approved; CLI_FAIL
 * refused or unreachable (the refusal printed); CLI_USAGE for an ID or
 * phase that cannot be sent. */
int rollout_cmd_approve(const char *url, const char *id, const char *phase);

/* Its --help, with the TLS options' lines. */
void rollout_approve_usage(FILE *out, const char *tls_help);

/* What v's current gate waits for, in a few words, into buf (always
 * terminated; "" when no gate holds it): "soak 12/30 s", "approval 1/2",
 * "window opens Mon 09:00:00 Europe/Berlin", "samples 1/3". For `rollout
 * list` beside its other reasons. */
void cli_gate_waits(const sk_rollout_view *v, char *buf, size_t len);

/* The gate lines of `rollout status` and `wait`: what the current gate
 * waits for, and every approval, each line starting with indent. */
void cli_gate_print(FILE *out, const sk_rollout_view *v, const char *indent);

/* v's gate ("gate", while one holds it), "approvals" and "gates" (every
 * phase's gate reached, with what it judged) as members of o. */
void cli_gate_json(json_t *o, const sk_rollout_view *v);

/* The report's "Gates and approvals" section in Markdown (nothing when
 * v has neither). */
void cli_gate_md(FILE *out, const sk_rollout_view *v);

#endif

/* cli_control: the words of what operators said to a rollout (stopline):
 * every pause, resume, tune and abort with who, when and why; the
 * regions paused on their own; a pause that is the stopped line's; and
 * what an abort left, with the command to roll back. Status (text and
 * JSON) and the record (md and JSON: a "control" section) print these;
 * scripts grep them: reword with care. Pure formatting of a view. */
#ifndef CLI_CONTROL_H
#define CLI_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "sk_view.h"
#include "sk_wire.h"

/* Status lines (two-space indent): the line's stop, region pauses, what
 * an abort left. Nothing for a rollout without them. */
void cli_control_print(FILE *out, const sk_rollout_view *v);

/* What an aborted rollout left in each region and database (after a
 * scoped abort, in the regions aborted only), and the rollback command
 * (also the answer to skein rollout abort). */
void cli_control_print_left(FILE *out, const sk_rollout_view *v);

/* The record's "## Control" section: a table of every action, and what
 * an abort left. Nothing when no operator said anything. */
void cli_control_md(FILE *out, const sk_rollout_view *v);

#endif

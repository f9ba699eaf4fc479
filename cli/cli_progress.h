/* cli_progress: the backfills a rollout's databases run, as `skein rollout
 * status` and `wait` show them: on a terminal one bar per database,
 *
 *   eu-1/app  backfill fill-domain  [#########.......]  58%  1,160,000/2,000,000 rows  24,300 rows/s  ETA 35s  batch 4,800
 *
 * elsewhere (a pipe, a file, --no-color, TERM=dumb) the same figures on
 * a plain line without bar or escape codes, and in JSON as numbers. Each
 * is derived from the database's view (sk_database_view) alone; nothing
 * here talks to the coordinator.
 */
#ifndef CLI_PROGRESS_H
#define CLI_PROGRESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sk_view.h"
#include "sk_wire.h"

/* How the lines look on an output. */
typedef struct cli_look {
	bool fancy; /* a bar, and colours: a terminal that takes them */
	int width;  /* columns a line must fit in (fancy only) */
	bool mono;  /* fancy without the colours (the live view under
		     * NO_COLOR or --no-color); cli_look_of sets false */
} cli_look;

/* The look for out: fancy when out is a terminal, TERM is set and not
 * "dumb", NO_COLOR is unset or empty and no_color (--no-color) is false;
 * width from the terminal, else $COLUMNS, else 80. */
void cli_look_of(cli_look *look, FILE *out, bool no_color);

/* The line of d's backfill (no newline) into buf, always terminated:
 * "REGION/DB  KIND STEP", padded to name_w and what_w columns so that a
 * block of lines aligns, then with look->fancy a bar (10 to 40 columns),
 * and the figures: percent, rows scanned of the total (and changed, when
 * fewer), rate and ETA, or "paused: WHY" while throttled, and the batch
 * size. Figures the agent did not send (0, negative, not finite) are
 * left out. A fancy line takes at most look->width - 1 columns: when the
 * whole figures do not fit beside the narrowest bar, short counts
 * ("1.16M") are used, then the batch size, changed rows, rate, ETA and
 * rows are left out in that order, then the rest is cut at the end. A
 * line without look, or not fancy, is plain and whole. */
void cli_progress_line(const sk_database_view *d, const cli_look *look,
    size_t name_w, size_t what_w, char *buf, size_t len);

/* Print the line of each database of v that runs a backfill, in the
 * view's order, each after prefix (e.g. an indent or a time), aligned.
 * look NULL: plain. Returns the number of lines printed. */
size_t cli_progress_print(FILE *out, const sk_rollout_view *v,
    const cli_look *look, const char *prefix);

/* A block of backfill lines under events: on a terminal bars drawn after
 * each answer and erased (cursor up, clear to the end) before anything
 * else is printed, so that it stays at the bottom; elsewhere plain lines,
 * stamped with the time like the events, every
 * CLI_PROGRESS_PLAIN_EVERY_MS, so that a log gets a line per database
 * now and then rather than one per answer. `wait` uses the plain lines
 * off a terminal; on one its live view (cli_live.h) draws the bars. */
#define CLI_PROGRESS_PLAIN_EVERY_MS 30000
typedef struct cli_progress_block {
	FILE *out;
	cli_look look;
	size_t drawn;    /* lines of the block on the terminal now */
	int64_t last_ms; /* plain: when lines were last printed; 0 never */
} cli_progress_block;

/* Start a block on out (cli_look_of with no_color). Nothing is
 * printed. */
void cli_progress_block_init(cli_progress_block *b, FILE *out, bool no_color);

/* Erase the block from the terminal, if drawn; no-op otherwise. */
void cli_progress_block_erase(cli_progress_block *b);

/* Draw v's backfills at now_ms (a sk_mono_ms time): on a terminal the
 * block again (erase it first), at its current width; elsewhere plain
 * lines when CLI_PROGRESS_PLAIN_EVERY_MS have passed since the last. */
void cli_progress_block_draw(
    cli_progress_block *b, const sk_rollout_view *v, int64_t now_ms);

#endif

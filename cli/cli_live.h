/* cli_live: what `skein rollout wait` and `status --watch` print while a
 * rollout runs. On a terminal (stdout a TTY, TERM set and not "dumb") the
 * events scroll and under them a block is redrawn in place (cursor up
 * over it, each line cleared as it is drawn again), five times a second:
 *
 *   rollout r-1a2b  plan quickstart (p-77aa)  running  1m04s
 *     waits for: approval of phase rest (1 of 1)
 *     phase 1/2 canary  succeeded
 *       af     succeeded    12s  4/4 steps
 *     phase 2/2 rest  running
 *       in     running       8s  2/4 steps  app/0003_idx (6s)  waiting for a lock held by pid 4242 (idle in transaction)
 *       ksa    pending           agent of ksa not connected for 2m10s
 *     in/app  backfill 0004_fill  [#####......]  42%  ...
 *
 * Every line is cut to the terminal's width less one column (a line that
 * wraps would break the redraw); colours (the states) only when
 * NO_COLOR is unset or empty and --no-color is not given. When the
 * rollout ends the block is drawn once more and left on the screen.
 *
 * Elsewhere (a pipe, a file, TERM=dumb) only the events, one line each,
 * stamped with the time, as before; and in both a lock wait is one line
 * when it starts and one when it ends, with how long it took, however
 * often the agent reports it (a new attempt, after a lock timeout, gets
 * its line).
 */
#ifndef CLI_LIVE_H
#define CLI_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sk_wire.h"

/* How long ago things started, as the CLI saw them: a region's run, and
 * the step a region or database is at. */
typedef struct cli_live_clock {
	char key[2 * SK_NAME_MAX + 2];  /* "REGION" or "REGION/DB" */
	int64_t start_ms;               /* wall ms; 0 not started */
	int64_t end_ms;                 /* wall ms; 0 not ended */
	char step[2 * SK_NAME_MAX + 2]; /* "DB/STEP" or "STEP" */
	int64_t step_ms;                /* wall ms the step was first seen */
} cli_live_clock;

/* A lock wait reported and not yet over, by "REGION/DB". */
typedef struct cli_live_wait {
	char key[2 * SK_NAME_MAX + 2];
	char what[SK_NAME_MAX + 16]; /* "step 0002" */
	unsigned attempt;            /* the attempt last printed */
	int64_t start_ms;            /* the first report's time */
} cli_live_wait;

typedef struct cli_live {
	FILE *out;
	bool live;  /* redraw in place: out is a terminal */
	bool color; /* colour codes: live, and neither NO_COLOR nor --no-color */
	int width;  /* the terminal's columns (live) */
	size_t drawn; /* lines of the block on the screen now */
	cli_live_clock *clocks;
	size_t nclocks;
	cli_live_wait *waits;
	size_t nwaits;
} cli_live;

/* Start on out; no_color is --no-color. Nothing is printed. */
void cli_live_init(cli_live *l, FILE *out, bool no_color);

/* Print v's events after *since (moving it on), lock waits folded, and,
 * on a terminal, the block again (final: for the last time, left on the
 * screen). quiet: nothing printed, *since still moves. One write. */
void cli_live_update(cli_live *l, const sk_rollout_view *v, uint64_t *since,
    bool quiet, bool final);

/* Erase the block from the terminal (before something else is printed
 * there); no-op elsewhere or when none is drawn. */
void cli_live_erase(cli_live *l);

/* Forget the block (it stays on the screen) and free what l holds. */
void cli_live_fini(cli_live *l);

/* The text of an event that reports a lock wait ("af/app: step 0002
 * waits for a lock (attempt 1): ..."): true, with key "af/app", what
 * "step 0002" and *attempt 1. Exposed for the unit test. */
bool cli_live_lock_event(const char *text, char *key, size_t klen, char *what,
    size_t wlen, unsigned *attempt);

/* line cut to cols columns into buf: escape sequences take none, a UTF-8
 * character one; a cut line that had a colour gets a reset. Exposed for
 * the unit test. */
void cli_live_fit(const char *line, int cols, char *buf, size_t len);

/* ms as "8s", "2m05s", "1h02m". */
void cli_live_elapsed(int64_t ms, char *buf, size_t len);

#endif

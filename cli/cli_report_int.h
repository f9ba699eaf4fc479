/* cli_report_int: the model the execution record is printed from, shared
 * by cli_report.c (the model and the rehearsal verdicts), cli_report_md.c
 * and cli_report_json.c. Not part of the CLI's interface (cli.h).
 *
 * The model borrows everything from the cli_report_src it was built from
 * (report strings, errors, checks): it must not outlive it.
 */
#ifndef CLI_REPORT_INT_H
#define CLI_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* The note on the record of a rollout that has not ended. */
#define CLI_REPORT_RUNNING_NOTE                                    \
"the rollout is still running: this record is partial; report it " \
    "again once `skein rollout wait` has returned"

/* A growable array of borrowed reports. */
typedef struct cli_rep_rvec {
	const sk_report **v;
	size_t n, cap;
} cli_rep_rvec;

/* A session that blocked a step, once per pid however many lock-wait
 * reports named it: the latest report's view of it (state, age, query),
 * when it was first and last named, and in how many reports. */
typedef struct cli_rep_blocker {
	const sk_blocker *b;
	int64_t first_ms, last_ms;
	uint32_t seen;
} cli_rep_blocker;

/* The lock waits of a step, or of a database's phase checks (reported
 * without a step id): the lock timeouts met and the time spent in them,
 * and the sessions that blocked them. */
typedef struct cli_rep_locks {
	uint32_t lock_waits;
	int64_t lock_wait_ms;
	cli_rep_rvec waits;        /* reports carrying blockers */
	cli_rep_blocker *blockers; /* de-duplicated by pid, first seen first */
	size_t nblockers, bcap;
} cli_rep_locks;

typedef struct cli_rep_step {
	const char *id;
	int kind; /* the plan's (enum sk_step_kind); 0: not in the plan */
	const char *result; /* NULL: never reached */
	int64_t start_ms, end_ms, duration_ms;
	uint32_t attempts;
	int64_t rows;
	const sk_err *error;
	const char *detail; /* why it cannot be rehearsed */
	cli_rep_rvec checks;
	cli_rep_locks locks;
	/* A backfill's (cli_rep_step_is_backfill): batches committed and
	 * time paused, from its end's report or, while it runs, its latest
	 * PROGRESS (at progress_ms); by what, "reason=ms,...", from its end
	 * (NULL until then). */
	int64_t batches;
	int64_t throttled_ms;
	const char *throttled_by;
	int64_t progress_ms;
} cli_rep_step;

typedef struct cli_rep_db {
	const char *name;
	int64_t start_ms, end_ms;
	int end_event; /* SK_EV_DB_FINISHED, SK_EV_DB_FAILED or 0 */
	const sk_err *error;
	const sk_report *backup;
	cli_rep_rvec checks; /* preflight and phase checks */
	/* The phase checks' lock waits, summed over their runs (pre, post):
	 * each run counts from 0; run_* are the current run's counts. */
	cli_rep_locks phase_locks;
	uint32_t run_lock_waits;
	int64_t run_lock_wait_ms;
	cli_rep_step *steps;
	size_t nsteps, cap;
} cli_rep_db;

typedef struct cli_rep_region {
	const char *name;
	const char *phase;
	const sk_region_view *view; /* NULL for a region only reports name */
	const sk_report *final;     /* PLAN_SUCCEEDED, PLAN_FAILED or REFUSED */
	int64_t accepted_ms;
	cli_rep_db *dbs;
	size_t ndbs, cap;
} cli_rep_region;

typedef struct cli_rep_model {
	const cli_report_src *src;
	int mode;
	cli_rep_region *regions;
	size_t nregions, cap;
	bool oom;
} cli_rep_model;

/* Fold src's reports into m, regions in the view's phase order. Out of
 * memory leaves m partial with m->oom set. Free with cli_rep_free. */
void cli_rep_build(cli_rep_model *m, const cli_report_src *src);
void cli_rep_free(cli_rep_model *m);

/* A step's attempts and lock waits as the record shows them. */
uint32_t cli_rep_step_attempts(const cli_rep_step *st);
uint32_t cli_rep_step_lock_waits(const cli_rep_step *st);

/* ---- backfills (cli_report_backfill.c) ---- */

/* Whether st is a backfill that ran, or runs, in its database: a
 * backfill or expand step of the plan (or, for a step the plan does not
 * name, one whose reports carry batches or throttles) that was applied,
 * failed or started; not one skipped, rehearsed or reverted, whose
 * figures are not a backfill's run. */
bool cli_rep_step_is_backfill(const cli_rep_step *st);

/* How long st's backfill ran: its duration once it ended, else from its
 * start to its latest PROGRESS report; -1 unknown. */
int64_t cli_rep_backfill_ms(const cli_rep_step *st);

/* Its average rate in rows per second over that time; 0 unknown. */
double cli_rep_backfill_rate(const cli_rep_step *st);

/* One reason a backfill paused and for how long. */
typedef struct cli_rep_throttle {
	char reason[24]; /* "rate", "lag", "query", "autovacuum", ... */
	int64_t ms;
} cli_rep_throttle;

#define CLI_REP_THROTTLES_MAX 16

/* Parse a STEP_FINISHED's throttled_by, "rate=1200,lag=0,...", into out
 * (at most max), in the agent's order: a pair that is not reason=ms (a
 * reason of letters, digits, '_' or '-', up to 23 bytes; ms a
 * non-negative integer) is skipped, as is a reason named again. NULL
 * reads as "". Returns the number of pairs in out. */
size_t cli_rep_throttles_parse(const char *by, cli_rep_throttle *out, size_t max);

/* Whether the database's phase checks waited for a lock or were blocked. */
bool cli_rep_db_has_phase_locks(const cli_rep_db *d);

/* How a database came out (enum cli_outcome): finished, failed, or not
 * yet (incomplete). */
int cli_rep_db_outcome(const cli_rep_db *d);

/* "applied", "BLOCKED", "rolled back", ... for a database in mode: its
 * outcome in the mode's words (cli_mode). */
const char *cli_rep_db_verdict(int mode, const cli_rep_db *d);

/* How a region came out (enum cli_outcome), from its state. */
int cli_rep_region_outcome(const cli_rep_region *g);

/* The region's state, or for a mode whose regions get verdicts its
 * outcome in the mode's words (a rehearsal: READY, BLOCKED, "no
 * verdict"). */
const char *cli_rep_region_verdict(int mode, const cli_rep_region *g);

typedef void (*cli_rep_emit_fn)(void *arg, const char *text);

/* Every reason a database failed or is BLOCKED, one sentence each. */
void cli_rep_db_reasons(const cli_rep_db *d, cli_rep_emit_fn emit, void *arg);

/* One-line texts: an error with its SQLSTATE, a blocking session. */
void cli_rep_err_line(const sk_err *e, char *buf, size_t len);
/* step NULL: "phase checks blocked by ...". */
void cli_rep_blocker_line(const char *step, const sk_blocker *b, char *buf, size_t len);

/* "2024-05-01T08:00:00.000Z" ("-" for 0); a duration ("-" below 0). */
void cli_rep_fmt_iso(int64_t ms, char *buf, size_t len);
void cli_rep_fmt_dur(int64_t ms, char *buf, size_t len);

#endif

/* sk_view_record: the model a rollout's execution record is rendered
 * from (sk_view_record.c builds it from the reports the coordinator
 * kept), shared by the CLI's Markdown record (cli_report_md.c) and
 * rehearsal verdicts (cli_rehearsal.c), and the record as JSON
 * (sk_view_report_json.c) that `skein rollout report --format json` and
 * the coordinator's HTTP API print.
 *
 * The model borrows everything from the sk_rec_src it was built from
 * (report strings, errors, checks): it must not outlive it.
 */
#ifndef SK_VIEW_RECORD_H
#define SK_VIEW_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sk_plan.h"
#include "sk_wire.h"

/* What a rollout's record is built from: the coordinator's answer to a
 * report request. Everything is borrowed and must outlive the call. */
typedef struct sk_rec_src {
	const sk_rollout_view *view; /* its events are notes on the record */
	const sk_plan *plan; /* decoded signed plan; NULL if unreadable */
	const sk_region_report *reports; /* in arrival order */
	size_t nreports;
} sk_rec_src;

/* The note on the record of a rollout that has not ended. */
#define SK_REC_RUNNING_NOTE                                        \
"the rollout is still running: this record is partial; report it " \
    "again once `skein rollout wait` has returned"

/* A growable array of borrowed reports. */
typedef struct sk_rec_rvec {
	const sk_report **v;
	size_t n, cap;
} sk_rec_rvec;

/* A session that blocked a step, once per pid however many lock-wait
 * reports named it: the latest report's view of it (state, age, query),
 * when it was first and last named, and in how many reports. */
typedef struct sk_rec_blocker {
	const sk_blocker *b;
	int64_t first_ms, last_ms;
	uint32_t seen;
} sk_rec_blocker;

/* The lock waits of a step, or of a database's phase checks (reported
 * without a step id): the lock timeouts met and the time spent in them,
 * and the sessions that blocked them. */
typedef struct sk_rec_locks {
	uint32_t lock_waits;
	int64_t lock_wait_ms;
	sk_rec_rvec waits;        /* reports carrying blockers */
	sk_rec_blocker *blockers; /* de-duplicated by pid, first seen first */
	size_t nblockers, bcap;
} sk_rec_locks;

typedef struct sk_rec_step {
	const char *id;
	int kind; /* the plan's (enum sk_step_kind); 0: not in the plan */
	const char *result; /* NULL: never reached */
	int64_t start_ms, end_ms, duration_ms;
	uint32_t attempts;
	int64_t rows;
	const sk_err *error;
	const char *detail; /* why it cannot be rehearsed */
	sk_rec_rvec checks;
	sk_rec_locks locks;
	/* A backfill's (sk_rec_step_is_backfill): batches committed and
	 * time paused, from its end's report or, while it runs, its latest
	 * PROGRESS (at progress_ms); by what, "reason=ms,...", from its end
	 * (NULL until then). */
	int64_t batches;
	int64_t throttled_ms;
	const char *throttled_by;
	int64_t progress_ms;
} sk_rec_step;

typedef struct sk_rec_db {
	const char *name;
	int64_t start_ms, end_ms;
	int end_event; /* SK_EV_DB_FINISHED, SK_EV_DB_FAILED or 0 */
	const sk_err *error;
	const sk_report *backup;
	sk_rec_rvec checks; /* preflight and phase checks */
	/* The phase checks' lock waits, summed over their runs (pre, post):
	 * each run counts from 0; run_* are the current run's counts. */
	sk_rec_locks phase_locks;
	uint32_t run_lock_waits;
	int64_t run_lock_wait_ms;
	sk_rec_step *steps;
	size_t nsteps, cap;
} sk_rec_db;

typedef struct sk_rec_region {
	const char *name;
	const char *phase;
	const sk_region_view *view; /* NULL for a region only reports name */
	const sk_report *final;     /* PLAN_SUCCEEDED, PLAN_FAILED or REFUSED */
	int64_t accepted_ms;
	sk_rec_db *dbs;
	size_t ndbs, cap;
} sk_rec_region;

typedef struct sk_rec_model {
	const sk_rec_src *src;
	int mode;
	sk_rec_region *regions;
	size_t nregions, cap;
	bool oom;
} sk_rec_model;

/* Fold src's reports into m, regions in the view's phase order. Out of
 * memory leaves m partial with m->oom set. Free with sk_rec_free. */
void sk_rec_build(sk_rec_model *m, const sk_rec_src *src);
void sk_rec_free(sk_rec_model *m);

/* A step's attempts and lock waits as the record shows them. */
uint32_t sk_rec_step_attempts(const sk_rec_step *st);
uint32_t sk_rec_step_lock_waits(const sk_rec_step *st);

/* ---- backfills (sk_view_record_backfill.c) ---- */

/* Whether st is a backfill that ran, or runs, in its database: a
 * backfill or expand step of the plan (or, for a step the plan does not
 * name, one whose reports carry batches or throttles) that was applied,
 * failed or started; not one skipped, rehearsed or reverted, whose
 * figures are not a backfill's run. */
bool sk_rec_step_is_backfill(const sk_rec_step *st);

/* How long st's backfill ran: its duration once it ended, else from its
 * start to its latest PROGRESS report; -1 unknown. */
int64_t sk_rec_backfill_ms(const sk_rec_step *st);

/* Its average rate in rows per second over that time; 0 unknown. */
double sk_rec_backfill_rate(const sk_rec_step *st);

/* One reason a backfill paused and for how long. */
typedef struct sk_rec_throttle {
	char reason[24]; /* "rate", "lag", "query", "autovacuum", ... */
	int64_t ms;
} sk_rec_throttle;

#define SK_REC_THROTTLES_MAX 16

/* Parse a STEP_FINISHED's throttled_by, "rate=1200,lag=0,...", into out
 * (at most max), in the agent's order: a pair that is not reason=ms (a
 * reason of letters, digits, '_' or '-', up to 23 bytes; ms a
 * non-negative integer) is skipped, as is a reason named again. NULL
 * reads as "". Returns the number of pairs in out. */
size_t sk_rec_throttles_parse(const char *by, sk_rec_throttle *out, size_t max);

/* Whether the database's phase checks waited for a lock or were blocked. */
bool sk_rec_db_has_phase_locks(const sk_rec_db *d);

/* How a database came out (enum sk_view_outcome): finished, failed, or not
 * yet (incomplete). */
int sk_rec_db_outcome(const sk_rec_db *d);

/* "applied", "BLOCKED", "rolled back", ... for a database in mode: its
 * outcome in the mode's words (sk_view_mode_row). */
const char *sk_rec_db_verdict(int mode, const sk_rec_db *d);

/* How a region came out (enum sk_view_outcome), from its state. */
int sk_rec_region_outcome(const sk_rec_region *g);

/* The region's state, or for a mode whose regions get verdicts its
 * outcome in the mode's words (a rehearsal: READY, BLOCKED, "no
 * verdict"). */
const char *sk_rec_region_verdict(int mode, const sk_rec_region *g);

typedef void (*sk_rec_emit_fn)(void *arg, const char *text);

/* Every reason a database failed or is BLOCKED, one sentence each. */
void sk_rec_db_reasons(const sk_rec_db *d, sk_rec_emit_fn emit, void *arg);

/* One-line texts: an error with its SQLSTATE, a blocking session. */
void sk_rec_err_line(const sk_err *e, char *buf, size_t len);
/* step NULL: "phase checks blocked by ...". */
void sk_rec_blocker_line(const char *step, const sk_blocker *b, char *buf, size_t len);

/* "2024-05-01T08:00:00.000Z" ("-" for 0); a duration ("-" below 0). */
void sk_rec_fmt_iso(int64_t ms, char *buf, size_t len);
void sk_rec_fmt_dur(int64_t ms, char *buf, size_t len);

/* The plan inside a rollout's signed plan (a SK_CLI_REPORT reply's), for
 * the record's waivers and step kinds. The coordinator verified the
 * signature when the rollout started; this only reads it. SK_OK with
 * *out NULL for an empty one; an error (and *out NULL) when it cannot be
 * read, in which case the record is still built, without. */
int sk_rec_plan_of(const uint8_t *signed_plan, size_t len, sk_plan **out,
    sk_err *err) SK_WARN_UNUSED;

/* ---- JSON (sk_view_report_json.c) ---- */

/* The record as one JSON object (keys in docs/operations.md, "Report"):
 * what `skein rollout report ID --format json` prints. A new reference;
 * NULL out of memory. */
json_t *sk_view_report_json(const sk_rec_src *src);

#endif

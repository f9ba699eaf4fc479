/* coord_narrate: the words people read about a rollout, derived from its
 * state and figures (coord_rollout, coord_progress) and its mode's words
 * (coord_mode): the events `skein rollout wait` prints, the reason a run
 * halted, and the texts of the status view (state names, a region's or a
 * database's detail). Nothing here changes state, and nothing reads these
 * words back: what a program needs is in the state they come from.
 *
 * Events are a convenience: when memory is short, or a rollout already
 * holds COORD_EVENTS_MAX, an event is dropped and the state is unaffected.
 * Not thread-safe: called from the coordinator's loop.
 */
#ifndef COORD_NARRATE_H
#define COORD_NARRATE_H

#include <stddef.h>
#include <stdint.h>

#include "coord_progress.h"
#include "coord_rollout.h"
#include "sk_err.h"
#include "sk_wire.h"

/* Events kept per rollout; later ones are dropped. */
#define COORD_EVENTS_MAX 50000

/* Append an event about region (NULL: the rollout) with a printf-style
 * text, numbered above every earlier one (the numbers keep rising across
 * a restart: they start from the clock). */
void coord_rollout_event(coord_rollout *ro, const char *region, const char *fmt, ...)
    SK_PRINTF(3, 4);

/* "phase 2/3 rest started: in, ksa" (or, all at once, every region). */
void coord_narrate_phase_started(coord_rollout *ro, uint32_t phase);

/* "af: plan sent to agent (apply)". */
void coord_narrate_dispatched(coord_rollout *ro, const coord_region_run *rr);

/* "af: aborted before it started: <its error>" (a scoped abort of a
 * pending region, already failed). */
void coord_narrate_aborted_unstarted(coord_rollout *ro, const coord_region_run *rr);

/* The event report r of region rr is news of, if any ("af/app: step
 * 0002 applied in 1.5s"). Call once per report the state machine took. */
void coord_narrate_report(
    coord_rollout *ro, const coord_region_run *rr, const sk_report *r);

/* An operator's pause, resume or tune of ro (rec, already applied):
 * "paused by alice (reason): running steps finish, ...", "resumed by
 * bob", "tuned by alice: batch_max 2000 (every tune: ...)". */
void coord_narrate_opctl(coord_rollout *ro, const coord_opctl_record *rec);

/* The end of ro, already recorded in ro->state and ro->reason:
 * "rollout succeeded in 3/3 regions", "rollout halted in phase canary:
 * ...", "rehearsal: READY in 3/3 regions". */
void coord_narrate_ended(coord_rollout *ro);

/* Why a run of every region at once did not end well, into buf (always
 * terminated): "blocked in 1/3 regions (af): af: <its error>". first is
 * the first region that did not succeed. */
void coord_narrate_blocked_reason(const coord_rollout *ro,
    const coord_region_run *first, char *buf, size_t len);

/* The status view of region rr (borrowing nothing: out is a plain value). */
void coord_narrate_region(
    const coord_rollout *ro, const coord_region_run *rr, sk_region_view *out);

/* The status view of database d of region rr of ro (a plain value),
 * with the backfill it runs, if any, and that step's kind in ro's plan. */
void coord_narrate_database(const coord_rollout *ro, const coord_region_run *rr,
    const coord_db_progress *d, sk_database_view *out);

/* The state of phase p (an index into ro->phases) as status shows it:
 * "succeeded", "running", "pending", "not-started", or the mode's names. */
const char *coord_narrate_phase_state(const coord_rollout *ro, size_t p);

#endif

/* coord_rollout: one rollout of a signed plan, phase by phase.
 *
 * A rollout moves its regions through pending -> dispatched -> running ->
 * succeeded | failed | refused, driven by agent reports. A phase starts
 * only when every region of the previous phase succeeded; the first region
 * that fails or refuses halts the rollout (state "failed"): regions of
 * later phases stay pending and are never told to run. Regions of the
 * failing phase that are already running finish and keep reporting.
 *
 * Every state change a restart must see is written to the journal before
 * the function that made it returns; progress inside a region (which step)
 * is not journaled: the agent reports it again.
 *
 * Not thread-safe: owned by the coordinator's event loop.
 */
#ifndef COORD_ROLLOUT_H
#define COORD_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_journal.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_wire.h"

enum coord_region_state {
	COORD_R_PENDING,
	COORD_R_DISPATCHED,
	COORD_R_RUNNING,
	COORD_R_SUCCEEDED,
	COORD_R_FAILED,
	COORD_R_REFUSED,
};

enum coord_rollout_state {
	COORD_RO_RUNNING,
	COORD_RO_SUCCEEDED,
	COORD_RO_FAILED,
};

typedef struct coord_region_run {
	sk_region_view view; /* name, state text, step, error, counters */
	int state;           /* enum coord_region_state */
	uint32_t phase;      /* index of the phase the region belongs to */
	uint32_t ndatabases; /* as last reported by the agent */
} coord_region_run;

typedef struct coord_rollout {
	char id[SK_ID_MAX];
	sk_plan *plan;
	uint8_t *signed_plan;
	size_t signed_plan_len;
	int state;      /* enum coord_rollout_state */
	uint32_t phase; /* current phase index */
	int64_t created_ms;
	int64_t finished_ms;
	char reason[SK_ERR_MSG_MAX];
	coord_region_run *regions; /* plan->regions order */
	size_t nregions;
	sk_event_view *events;
	size_t nevents;
	size_t events_cap;
	uint64_t next_event;
} coord_rollout;

const char *coord_region_state_name(int state);
const char *coord_rollout_state_name(int state);

/* Create a rollout in phase 0, regions pending. Takes ownership of plan;
 * copies signed_plan. Does not journal (the caller journals "created" and
 * then calls coord_rollout_start). Returns NULL when out of memory, in
 * which case plan has been destroyed. */
coord_rollout *coord_rollout_create(const char *id, sk_plan *plan,
    const uint8_t *signed_plan, size_t len, int64_t now_ms);

/* Free. Accepts NULL. */
void coord_rollout_destroy(coord_rollout *ro);

/* Journal and record the start of phase 0. */
int coord_rollout_start(coord_rollout *ro, coord_journal *j, int64_t now_ms,
    sk_err *err) SK_WARN_UNUSED;

/* True if region must be told to run this rollout now: the rollout is
 * running, region is in the current phase and has not finished. */
bool coord_rollout_wants(const coord_rollout *ro, const char *region);

/* Note that a RUN command went to region: pending -> dispatched
 * (journaled). No-op in any other state. */
int coord_rollout_dispatched(coord_rollout *ro, const char *region,
    coord_journal *j, int64_t now_ms, sk_err *err) SK_WARN_UNUSED;

/* Apply one agent report from region. Reports for regions not in the plan
 * or for regions already finished are ignored. May finish the region, the
 * phase (starting the next) or the rollout; each such change is journaled.
 * *changed is set when anything an agent should hear about changed (a new
 * phase started). Fails only if the journal cannot be written. */
int coord_rollout_report(coord_rollout *ro, const char *region, const sk_report *r,
    coord_journal *j, bool *changed, sk_err *err) SK_WARN_UNUSED;

/* Finish what a crash may have interrupted: a coordinator killed between
 * journaling a region's last result and journaling the phase or rollout
 * transition it implies replays into a rollout whose phase is complete but
 * not advanced. Re-evaluates the current phase and journals the missing
 * transition. Call once per rollout after replay. *changed as for
 * coord_rollout_report. */
int coord_rollout_settle(coord_rollout *ro, coord_journal *j, bool *changed,
    sk_err *err) SK_WARN_UNUSED;

/* Note how many databases the agent of region manages (for progress). */
void coord_rollout_note_databases(
    coord_rollout *ro, const char *region, uint32_t ndatabases);

/* Replay hooks: apply journaled records without journaling again. */
void coord_rollout_replay_region(coord_rollout *ro, const sk_region_view *v);
void coord_rollout_replay_phase(coord_rollout *ro, uint32_t phase, int64_t at_ms);
void coord_rollout_replay_finished(
    coord_rollout *ro, const char *state, const char *reason, int64_t at_ms);

/* Append a free-text event (also used by the server for notices). */
void coord_rollout_event(coord_rollout *ro, const char *region, const char *fmt, ...)
    SK_PRINTF(3, 4);

/* Fill out with a snapshot of the rollout, including events whose seq is
 * greater than since. out owns its arrays (sk_rollout_view_fini). */
int coord_rollout_view(const coord_rollout *ro, uint64_t since,
    sk_rollout_view *out, sk_err *err) SK_WARN_UNUSED;

#endif

/* coord_flags: a rollback's flags-first pass. A rollback of a plan with
 * flag steps first tells every region it runs in, all at once, to revert
 * only its flag steps (sk_command.flags_only); the pass does not halt on
 * a region that fails or waits (a database that is down keeps retrying
 * and reports DB_WAITING): the others flip. Only when every region has
 * flipped do the phases start, last phase first, as in any rollback; if
 * a region's pass failed, the rollback ends failed once every region has
 * answered, no revert script having run anywhere.
 *
 * State is the reports: each region's pass state comes from the
 * flags_only reports its agent sends (journaled like every report), so
 * replay rebuilds it without records of its own.
 *
 * Not thread-safe: owned by the coordinator's event loop, like
 * coord_rollout.
 */
#ifndef COORD_FLAGS_H
#define COORD_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "coord_rollout.h"
#include "sk_wire.h"

/* What a flags-only report did to the pass. */
enum coord_flags_outcome {
	COORD_FLAGS_GOING, /* the pass goes on (or the report changed nothing) */
	COORD_FLAGS_FLIPPED, /* every region flipped: the phases may start */
	COORD_FLAGS_FAILED,  /* every region answered, one or more failed */
};

/* Set ro's pass up at creation: there is one when ro undoes and its plan
 * has a flag step. */
void coord_flags_init(coord_rollout *ro);

/* Whether ro is in its flags-first pass (it has one and not every region
 * flipped yet). */
bool coord_flags_pending(const coord_rollout *ro);

/* Whether region should be told to run the pass now (pending pass, the
 * region's pass not ended). */
bool coord_flags_wants(const coord_rollout *ro, const char *region);

/* region was sent the pass's RUN. */
void coord_flags_dispatched(coord_rollout *ro, const char *region, int64_t now_ms);

/* Fold a flags_only report of region into the pass and narrate it; on
 * COORD_FLAGS_FAILED reason says which regions failed and why. Reports
 * of a pass that ended, or of a region ro does not run, are ignored. */
int coord_flags_report(coord_rollout *ro, const char *region,
    const sk_report *r, char *reason, size_t reason_len);

/* The same from the journal, without narrating. */
void coord_flags_replay_report(
    coord_rollout *ro, const char *region, const sk_report *r);

/* out->flags_first from ro (owned by out); SK_ENOMEM. Nothing when ro
 * has no pass. */
int coord_flags_view(const coord_rollout *ro, sk_rollout_view *out);

#endif

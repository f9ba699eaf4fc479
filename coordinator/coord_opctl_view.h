/* coord_opctl_view: what operators said to a rollout, as its view shows
 * it (stopline): every pause, resume, tune and abort with who, when and
 * why; the regions paused on their own; whether its pause is the line's;
 * and, once aborted, what it left in each region and database. Reads the
 * rollout only. Not thread-safe (the coordinator's loop). */
#ifndef COORD_OPCTL_VIEW_H
#define COORD_OPCTL_VIEW_H

#include "coord_rollout.h"
#include "sk_err.h"
#include "sk_wire.h"

/* Fill out's controls, region_pauses, paused_by_line and left from ro.
 * SK_ENOMEM (err set) when out of memory; what was filled is out's
 * either way (sk_rollout_view_fini). */
int coord_opctl_view(
    const coord_rollout *ro, sk_rollout_view *out, sk_err *err) SK_WARN_UNUSED;

#endif

/* coord_opctl_apply: a pause, resume, tune or abort applied to a
 * rollout's control state (coord_opctl_apply.c). */
#ifndef COORD_OPCTL_APPLY_H
#define COORD_OPCTL_APPLY_H

#include "coord_journal.h"
#include "coord_rollout.h"

/* Apply rec to ro: note it in the control history, pause or resume the
 * rollout or the regions it names (unknown regions are skipped), merge a
 * tune, mark the regions a scoped abort names aborted (an abort's end,
 * and a pending region's failure, are coord_rollout's), and bump the
 * control
 * generation. No journaling, no events: the caller's. A history that
 * cannot grow (out of memory) keeps what it has. */
void coord_opctl_apply(coord_rollout *ro, const coord_opctl_record *rec);

#endif

/* coord_rollout_int: what coord_rollout.c (the state machine) and
 * coord_rollout_query.c (its read-only answers) share. Internal to the
 * rollout: nothing outside those two files includes it. */
#ifndef COORD_ROLLOUT_INT_H
#define COORD_ROLLOUT_INT_H

#include <stdbool.h>

/* True once a region's run has ended, however it ended. */
bool rollout_region_done(int state);

#endif

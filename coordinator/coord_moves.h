/* coord_moves: the coordinator's part of tenant moves (docs/moves.md,
 * "Who does what"): it tells each side of a move_tenant step its peer,
 * as the inventory pins it, and nothing more; rows never pass through it.
 *
 *   RUN_PLAN to region R (apply, rehearse) carries, for each move step
 *             with to == R, the SOURCE peer: region from, its
 *             move_endpoint and its pinned agent key.
 *   MOVE_SERVE to region F, for each move step with from == F whose
 *             target region's run is active (dispatched or running),
 *             whatever phase F is in: the signed plan and the TARGET
 *             peer (region to, its pinned key); sent again while F's
 *             agent does not list "<rollout_id>/<step_id>" in its
 *             serving_moves.
 *   A rollback (mode ROLLBACK) moves the tenant back the same way with
 *   the sides swapped: `from`'s RUN_PLAN carries `to` as its SOURCE
 *   peer and `to` hears MOVE_SERVE naming `from`, each peer marked back
 *   (serving key "<rollout_id>/<step_id>/back").
 *
 * Pure functions of a rollout and the inventory: the server calls them
 * while it collects an agent's commands. Not thread-safe (the event
 * loop's). */
#ifndef COORD_MOVES_H
#define COORD_MOVES_H

#include <stdbool.h>
#include <stddef.h>

#include "coord_rollout.h"
#include "sk_config.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_wire.h"

/* At rollout start (back false): every move step's from and to are in
 * inv, and from has a move_endpoint; at a rollback (back true), to has
 * one too (it serves the move back). SK_EINVAL naming the plan, step
 * and region, with a hint. */
int coord_moves_check(const sk_plan *plan, const sk_inventory *inv, bool back,
    sk_err *err) SK_WARN_UNUSED;

/* The SOURCE peers region's RUN_PLAN of ro carries (none when region
 * drives no move: a move's target, or a rollback's `from`): *out a malloc'ed array of *n
 * (NULL, 0 when none; the caller frees). SK_EINVAL when a move's source
 * is not in inv or has no move_endpoint (the inventory changed since the
 * start), SK_ENOMEM. */
int coord_moves_run_peers(const coord_rollout *ro, const sk_inventory *inv,
    const char *region, sk_move_peer **out, size_t *n, sk_err *err) SK_WARN_UNUSED;

/* The MOVE_SERVE region's agent must hear for ro now, given what it
 * serves (serving: nserving "<rollout_id>/<step_id>" strings): *out
 * filled (its signed plan borrowed from ro, its move_peers malloc'ed:
 * the caller frees them) and *any set when some move step with from ==
 * region has an active target run that serving lacks; else *any false
 * and out untouched. SK_EINVAL when a target is not in inv, SK_ENOMEM. */
int coord_moves_serve(const coord_rollout *ro, const sk_inventory *inv,
    const char *region, const char (*serving)[SK_MOVE_KEY_MAX], size_t nserving,
    sk_command *out, bool *any, sk_err *err) SK_WARN_UNUSED;

#endif

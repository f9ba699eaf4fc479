/* coord_approval: `skein rollout approve ID --phase NAME`, an operator's
 * signed approval of a rollout's phase (the phase's approval gate,
 * coord_gate.c). The rules are one pure function so that they are tested
 * without sockets; the answer journals the approval with the signed
 * envelope it came in, so the record shows who signed what, and replay
 * restores it.
 *
 * Not thread-safe: the coordinator's loop.
 */
#ifndef COORD_APPROVAL_H
#define COORD_APPROVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_auth.h"
#include "coord_journal.h"
#include "coord_registry.h"
#include "coord_rollout.h"
#include "sk_err.h"

/* Whether actor may approve phase (a name) of ro now; on SK_OK *p is the
 * phase's index. Refusals, each naming the rollout, phase and operator,
 * with a hint: SK_ESTATE for a finished rollout, a mode that passes gates
 * (rehearse, rollback) or a phase already started; SK_EINVAL for a phase
 * ro does not have or one without an approval gate; SK_EREFUSED for an
 * operator not in the phase's `from`, the rollout's starter when
 * not_by_starter, or one who already approved it (counted once). Pure. */
int coord_approval_check(const coord_rollout *ro, const char *phase,
    const coord_actor *actor, uint32_t *p, sk_err *err) SK_WARN_UNUSED;

/* Answer an approve request of actor for rollout_id/phase that came in
 * envelope (len bytes; borrowed, journaled as it is) at now_ms: check it
 * (SK_ENOTFOUND for an unknown rollout, else coord_approval_check), then
 * journal and count it, and open the phase when that was the last
 * approval it waited for (*opened: its agents have work). On failure
 * nothing is counted or journaled. *out is the rollout (NULL unknown). */
int coord_approval_answer(coord_registry *rollouts, coord_journal *j,
    const char *rollout_id, const char *phase, const coord_actor *actor,
    const uint8_t *envelope, size_t len, int64_t now_ms, coord_rollout **out,
    bool *opened, sk_err *err) SK_WARN_UNUSED;

/* Count a journaled approval again (replay); one whose phase the rollout
 * lacks is ignored. */
void coord_approval_replay(coord_rollout *ro, const coord_approval_record *rec);

#endif

/* sk_plan_int: what sk_plan.c (the codec), sk_plan_body.c (the bodies of
 * the data kinds on the wire) and sk_plan_validate.c (what a decoded plan
 * must satisfy) share. Internal to the plan codec: nothing outside those
 * files includes it, so protobuf-c types go no further. */
#ifndef SK_PLAN_INT_H
#define SK_PLAN_INT_H

#include <stdbool.h>

#include "sk_err.h"
#include "sk_plan.h"
#include "skein.pb-c.h"

/* The protobuf of a data kind's body while a step is encoded; it borrows
 * the step's strings. */
typedef struct pb_body {
	Skein__V1__BackfillBody backfill;
	Skein__V1__ExpandBody expand;
	Skein__V1__BackfillTuning tuning;
	Skein__V1__FlagBody flag;
	Skein__V1__MoveTenantBody move;
	Skein__V1__MoveStay *stays; /* malloc'ed: plan_body_pb_fini */
	Skein__V1__MoveStay **stay_ptrs;
} pb_body;

/* Point ps's body at s's backfill, expand, flag or move (held in b);
 * nothing for the other kinds. SK_ENOMEM (a move's staying tables need
 * arrays); b is fini'ed by the caller either way. */
int plan_body_to_pb(const sk_step *s, pb_body *b, Skein__V1__Step *ps);

/* Free what plan_body_to_pb allocated in b. Accepts NULL. */
void plan_body_pb_fini(pb_body *b);

/* A copy of a move body from the wire into *out (caller frees with
 * sk_move_tenant_fini and free), "" read as absent; sets *oom. */
void plan_move_from_pb(
    const Skein__V1__MoveTenantBody *pm, sk_move_tenant **out, bool *oom);

/* Copy ps's backfill or expand body into s (s->backfill / s->expand,
 * owned by s); sets *oom when memory ran out. */
void plan_body_from_pb(const Skein__V1__Step *ps, sk_step *s, bool *oom);

/* The body of ps as s's fields, borrowing ps's strings (b, e and f hold
 * them), so that sk_step_validate can judge a step before it is copied. */
void plan_body_view(const Skein__V1__Step *ps, sk_step *s, sk_backfill *b,
    sk_expand *e, sk_flag *f);

/* Everything sk_plan_decode promises about a plan, on the protobuf:
 * SK_OK, or SK_EINVAL (SK_ENOMEM when out of memory) saying what is
 * wrong and where. pb is only read. */
int plan_validate(const Skein__V1__Plan *pb, sk_err *err);

/* The protobuf of a phase's gates while a plan is encoded; it borrows
 * the phase's strings; health is malloc'ed (plan_gates_pb_fini). */
typedef struct pb_gates {
	Skein__V1__HealthGate *health;
	Skein__V1__HealthGate **health_ptrs;
	Skein__V1__Approval approval;
	Skein__V1__Window window;
} pb_gates;

/* Point pp's gate fields (not gate_checks: the caller pools checks) at
 * ph's, held in g. SK_ENOMEM; g is fini'ed either way by the caller. */
int plan_gates_to_pb(const sk_phase *ph, pb_gates *g, Skein__V1__Phase *pp);

/* Free what plan_gates_to_pb allocated in g. Accepts NULL. */
void plan_gates_pb_fini(pb_gates *g);

/* Copy pp's gate fields (not gate_checks) into ph; sets *oom. */
void plan_gates_from_pb(const Skein__V1__Phase *pp, sk_phase *ph, bool *oom);

/* Free what ph's gates own (gate_checks excepted: sk_plan.c frees checks). */
void plan_gates_free(sk_phase *ph);

/* What sk_plan_decode promises about a phase's gates (its gate_checks
 * are validated as checks by the caller): SK_EINVAL saying what. */
int plan_validate_gates(const Skein__V1__Phase *pp, const char *plan, sk_err *err);

#endif

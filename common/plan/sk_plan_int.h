/* sk_plan_int: what sk_plan.c (the codec) and sk_plan_validate.c (what a
 * decoded plan must satisfy) share. Internal to the plan codec: nothing
 * outside those two files includes it, so protobuf-c types go no further. */
#ifndef SK_PLAN_INT_H
#define SK_PLAN_INT_H

#include "sk_err.h"
#include "skein.pb-c.h"

/* Everything sk_plan_decode promises about a plan, on the protobuf:
 * SK_OK, or SK_EINVAL (SK_ENOMEM when out of memory) saying what is
 * wrong and where. pb is only read. */
int plan_validate(const Skein__V1__Plan *pb, sk_err *err);

#endif

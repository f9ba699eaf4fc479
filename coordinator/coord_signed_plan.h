/* coord_signed_plan: the plan inside a signed plan the coordinator
 * verified when it accepted it (a rollout's, kept in memory and in the
 * journal), read again without checking the signature again. */
#ifndef COORD_SIGNED_PLAN_H
#define COORD_SIGNED_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"
#include "sk_plan.h"

/* Decode the plan of the signed plan buf (len bytes). On success *plan is
 * the caller's (sk_plan_destroy); on failure *plan is NULL and err says
 * why (SK_EDECODE for bytes that are not a signed plan, SK_ENOMEM). Only
 * for signed plans verified before: the signature is not checked. */
int coord_signed_plan_decode(
    const uint8_t *buf, size_t len, sk_plan **plan, sk_err *err) SK_WARN_UNUSED;

#endif

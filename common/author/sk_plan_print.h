/* sk_plan_print: a plan as people read it (`skein plan show`), in text or
 * as one JSON object. CLI only, like the rest of plan authoring.
 */
#ifndef SK_PLAN_PRINT_H
#define SK_PLAN_PRINT_H

#include <stdio.h>

#include "sk_err.h"
#include "sk_plan.h"

/* Print a human-readable description of the plan. If signer_hex is not
 * NULL the plan was read from a signed envelope with that signer. */
void sk_plan_print(FILE *out, const sk_plan *plan, const char *signer_hex);

/* Print the plan as one JSON object (with a "signer" member when
 * signer_hex is not NULL). Returns SK_OK or SK_ENOMEM, or SK_EIO when out
 * cannot be written. */
int sk_plan_print_json(FILE *out, const sk_plan *plan, const char *signer_hex,
    sk_err *err) SK_WARN_UNUSED;

#endif

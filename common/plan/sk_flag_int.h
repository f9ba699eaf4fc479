/* sk_flag_int: the flag kind's row of sk_step.c's table (sk_flag.c).
 * Internal to the plan library. */
#ifndef SK_FLAG_INT_H
#define SK_FLAG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"
#include "sk_plan.h"

/* What a flag step must hold (sk_step_validate's contract). */
int flag_validate(const sk_step *step, sk_err *err);

/* Its checksum: name, value, tenants, regions and templates. */
int flag_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err);

/* The placeholder p starts with (":'flag'", ":'value'", ":'tenant'") and
 * its length, or NULL. */
const char *flag_placeholder_at(const char *p, size_t *len);

#endif

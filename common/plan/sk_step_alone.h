/* sk_step_alone: what a step of a kind with a body of its own (backfill,
 * expand, contract, flag, move_tenant) may not carry. Internal to the
 * plan library. */
#ifndef SK_STEP_ALONE_H
#define SK_STEP_ALONE_H

#include <stdbool.h>

#include "sk_err.h"
#include "sk_plan.h"

/* Whether step has a field only a SQL step may have, but its SQL:
 * verify, transaction: false, concurrent indexes, a text checksum. */
bool plan_step_has_sql_fields(const sk_step *step);

/* SK_OK when step, of kind (its name, for the message) with its own body
 * body (step->backfill, step->expand, ...), carries no SQL or SQL-step
 * field, no check step's checks and no other kind's body, and body is
 * there; else SK_EINVAL saying which ("is a KIND step but ..."). */
int plan_step_alone(const sk_step *step, const char *kind, const void *body,
    sk_err *err) SK_WARN_UNUSED;

#endif

/* sk_plan_print_gates: a phase's gates as `skein plan show` prints them,
 * in text and JSON. Internal to sk_plan_print.c. */
#ifndef SK_PLAN_PRINT_GATES_H
#define SK_PLAN_PRINT_GATES_H

#include <jansson.h>
#include <stdio.h>

#include "sk_plan.h"

/* The gates of ph as indented lines (nothing when it has none); its gate
 * checks are printed by the caller with the other checks. */
void plan_print_gates(FILE *out, const sk_phase *ph);

/* The gates of ph (not its gate checks) as members of o: "soak_ms",
 * "health", "sample", "approval", "window", each only when set. Returns
 * nonzero when memory ran out. */
int plan_gates_json(json_t *o, const sk_phase *ph);

#endif

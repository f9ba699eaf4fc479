/* sk_plan_print_move: a tenant move step's body as `skein plan show`
 * prints it, in text and JSON. Internal to sk_plan_print.c. */
#ifndef SK_PLAN_PRINT_MOVE_H
#define SK_PLAN_PRINT_MOVE_H

#include <jansson.h>
#include <stdio.h>

#include "sk_plan.h"

/* m as indented lines, with a note that this version's agents refuse the
 * step. */
void plan_print_move(FILE *out, const sk_move_tenant *m);

/* s's move body as a JSON object; json null when s is not a move with a
 * body; NULL when memory ran out. */
json_t *plan_move_json(const sk_step *s);

/* A purge_tenant step's body, as text and as JSON (null for a step of
 * another kind; NULL: no memory). */
void plan_print_purge(FILE *out, const sk_move_tenant *m);
json_t *plan_purge_json(const sk_step *s);

#endif

/* sk_move_int: the move_tenant kind's row of sk_step.c's table
 * (sk_move.c). Internal to the plan library. */
#ifndef SK_MOVE_INT_H
#define SK_MOVE_INT_H

#include <stdint.h>

#include "sk_err.h"
#include "sk_plan.h"

/* What a move_tenant step must hold (sk_step_validate's contract). */
int move_validate(const sk_step *step, sk_err *err);

/* Its checksum: every field of the body. */
int move_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err);

/* A purge_tenant step: the move body's tenant, from, to and tables (or
 * discover), nothing else of it; and its checksum over those. */
int purge_validate(const sk_step *step, sk_err *err);
int purge_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err);

#endif

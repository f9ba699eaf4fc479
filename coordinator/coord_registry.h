/* coord_registry: the rollouts the coordinator holds, in the order they
 * were created: found by id, added once created. The registry owns them.
 *
 * Ownership: a rollout added successfully is the registry's and is freed
 * by coord_registry_fini; one whose add failed is still the caller's.
 * Not thread-safe: owned by the coordinator's loop.
 */
#ifndef COORD_REGISTRY_H
#define COORD_REGISTRY_H

#include <stddef.h>

#include "coord_rollout.h"
#include "sk_err.h"

typedef struct coord_registry {
	coord_rollout **v; /* oldest first */
	size_t n, cap;
} coord_registry;

/* Destroy every rollout and free the array; reg is empty afterwards.
 * Accepts NULL. */
void coord_registry_fini(coord_registry *reg);

/* The rollout with id, or NULL. Borrowed from reg. */
coord_rollout *coord_registry_find(const coord_registry *reg, const char *id);

/* Make room for one more rollout, so that the next coord_registry_add
 * cannot fail: call it before journaling a rollout the registry must then
 * hold. Fails only with SK_ENOMEM; reg is then unchanged. */
int coord_registry_reserve(coord_registry *reg, sk_err *err) SK_WARN_UNUSED;

/* Add ro (the registry owns it on success). Fails only with SK_ENOMEM,
 * and never right after coord_registry_reserve succeeded; ro is then
 * still the caller's. */
int coord_registry_add(coord_registry *reg, coord_rollout *ro, sk_err *err) SK_WARN_UNUSED;

#endif

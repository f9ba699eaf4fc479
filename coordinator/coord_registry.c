/* coord_registry: a growable array of rollouts. A coordinator holds a few
 * hundred at most (it keeps every rollout of its journal), so lookups by
 * id scan it. */
#include "coord_registry.h"

#include <stdlib.h>
#include <string.h>

void
coord_registry_fini(coord_registry *reg)
{
	if (reg == NULL)
		return;
	for (size_t i = 0; i < reg->n; i++)
		coord_rollout_destroy(reg->v[i]);
	free(reg->v);
	memset(reg, 0, sizeof(*reg));
}

coord_rollout *
coord_registry_find(const coord_registry *reg, const char *id)
{
	for (size_t i = 0; i < reg->n; i++)
		if (strcmp(reg->v[i]->id, id) == 0)
			return reg->v[i];
	return NULL;
}

int
coord_registry_reserve(coord_registry *reg, sk_err *err)
{
	size_t cap;
	coord_rollout **n;

	if (reg->n < reg->cap)
		return SK_OK;
	cap = reg->cap ? reg->cap * 2 : 8;
	n = realloc(reg->v, cap * sizeof(*n));
	if (n == NULL)
		return sk_err_set(err, SK_ENOMEM, "add rollout: out of memory");
	reg->v = n;
	reg->cap = cap;
	return SK_OK;
}

int
coord_registry_add(coord_registry *reg, coord_rollout *ro, sk_err *err)
{
	if (coord_registry_reserve(reg, err) != SK_OK)
		return err->code;
	reg->v[reg->n++] = ro;
	return SK_OK;
}

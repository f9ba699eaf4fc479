/* agent_failpoint: SKEIN_FAILPOINT=NAME:N (agent_failpoint.h). */
#include "agent_failpoint.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_log.h"

static atomic_int state; /* 0 unread, 1 none, 2 armed */
static char point[64];
static long target;
static atomic_long passes;

static void
arm(void)
{
	const char *v = getenv("SKEIN_FAILPOINT");
	const char *colon = v != NULL ? strrchr(v, ':') : NULL;
	int expect = 0;

	if (colon == NULL || (size_t)(colon - v) >= sizeof(point)) {
		atomic_compare_exchange_strong(&state, &expect, 1);
		return;
	}
	memcpy(point, v, (size_t)(colon - v));
	point[colon - v] = '\0';
	target = strtol(colon + 1, NULL, 10);
	atomic_compare_exchange_strong(&state, &expect, target > 0 ? 2 : 1);
}

bool
agent_failpoint_hit(const char *name)
{
	if (atomic_load(&state) == 0)
		arm();
	if (atomic_load(&state) != 2 || strcmp(name, point) != 0)
		return false;
	return atomic_fetch_add(&passes, 1) + 1 == target;
}

void
agent_failpoint(const char *name)
{
	if (agent_failpoint_hit(name)) {
		sk_warn("failpoint %s: pass %ld, killing this process", name, target);
		raise(SIGKILL);
	}
}

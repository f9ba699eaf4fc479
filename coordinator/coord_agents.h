/* coord_agents: what the coordinator knows of each region's agent, for
 * people: whether it is connected, when it was last heard from, its
 * version, its databases and the rollouts it runs. Shown by `skein
 * agents`, /metrics and `skein rollout status` ("agent of ksa not
 * connected for 2m10s").
 *
 * An agent is connected from its first poll until it has not polled for
 * its window: three times the poll hold it asked for (at most
 * COORD_POLL_HOLD_MAX_MS) plus COORD_AGENT_GRACE_MS, since an agent that
 * is well polls again as soon as a held poll is answered. The loop calls
 * coord_agents_sweep to notice the end of a window, and logs a connect
 * and a disconnect once each.
 *
 * Not thread-safe: owned by the coordinator's loop.
 */
#ifndef COORD_AGENTS_H
#define COORD_AGENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_registry.h"
#include "sk_config.h"
#include "sk_err.h"
#include "sk_wire.h"

#define COORD_AGENT_GRACE_MS 5000
/* How long after its start the coordinator waits for agents to dial in
 * before its events say one is away. */
#define COORD_AGENT_STARTUP_MS COORD_AGENT_GRACE_MS
/* Rollouts kept per agent as running (more are not listed). */
#define COORD_AGENT_RUNNING_MAX 64

typedef struct coord_agent {
	const char *region;   /* borrowed from the inventory */
	bool seen;            /* polled at least once since the start */
	bool connected;       /* within its window (as of the last sweep) */
	int64_t last_seen_ms; /* wall clock; 0 never */
	int64_t window_ms;    /* how long without a poll means gone */
	uint64_t boot_id;
	char version[32];
	uint32_t ndatabases;
	char running[COORD_AGENT_RUNNING_MAX][SK_NAME_MAX];
	size_t nrunning;
} coord_agent;

typedef struct coord_agents {
	coord_agent *v; /* one per inventory region, in its order */
	size_t n;
	int64_t started_ms; /* when the coordinator started (wall clock) */
} coord_agents;

/* One agent per region of inv (borrowed; must outlive as), none seen.
 * SK_ENOMEM; as is then empty. */
int coord_agents_init(coord_agents *as, const sk_inventory *inv, sk_err *err) SK_WARN_UNUSED;

/* Free as. Accepts NULL. */
void coord_agents_fini(coord_agents *as);

/* The agent of region, or NULL. */
const coord_agent *coord_agents_find(const coord_agents *as, const char *region);

/* Note message m from agent a at now_ms (wall clock): last seen, version,
 * databases, what it runs, its window. Logs "agent X connected" when it
 * was not connected (the first poll, or the first after a disconnect). */
void coord_agents_note(coord_agent *a, const sk_agent_msg *m, int64_t now_ms);

/* Mark agents whose window has passed by now_ms not connected, logging
 * each once. */
void coord_agents_sweep(coord_agents *as, int64_t now_ms);

/* Whether a is connected at now_ms: seen, and within its window. */
bool coord_agent_is_connected(const coord_agent *a, int64_t now_ms);

/* "2m10s", "45s", "3h02m", "2d04h" for ms into buf (size bytes). */
void coord_agents_ago(int64_t ms, char *buf, size_t size);

/* Why region's agent is away at now_ms, in words, into buf (size
 * bytes): "agent of ksa not connected for 2m10s", "agent of ksa never
 * connected (since the coordinator started 40s ago)"; "" when it is
 * connected or unknown. */
void coord_agents_away(const coord_agents *as, const char *region,
    int64_t now_ms, char *buf, size_t size);

/* Every agent as `skein agents` shows it, into a new array *out of *n
 * (the caller frees it; it is a response's). SK_ENOMEM. */
int coord_agents_view(const coord_agents *as, int64_t now_ms,
    sk_agent_view **out, size_t *n, sk_err *err) SK_WARN_UNUSED;

/* Say in v's regions that have not ended (pending, dispatched,
 * running) whose agent is away that it is (coord_agents_away), as
 * their detail when they have none. */
void coord_agents_annotate(const coord_agents *as, sk_rollout_view *v, int64_t now_ms);

/* Narrate, in the running rollouts of reg, each region that waits for
 * an agent that is away (once, until it is back) and its return: the
 * events `skein rollout wait` prints. Marks regions in
 * coord_region_run.agent_away. */
void coord_agents_narrate(const coord_agents *as, coord_registry *reg, int64_t now_ms);

#endif

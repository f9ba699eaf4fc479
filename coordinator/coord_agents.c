/* coord_agents: each region's agent as the coordinator last heard it,
 * and when it is taken as gone (see the header). */
#include "coord_agents.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_server.h"
#include "sk_log.h"

int
coord_agents_init(coord_agents *as, const sk_inventory *inv, sk_err *err)
{
	memset(as, 0, sizeof(*as));
	if (inv->nregions == 0)
		return SK_OK;
	as->v = calloc(inv->nregions, sizeof(*as->v));
	if (as->v == NULL)
		return sk_err_set(err, SK_ENOMEM, "start coordinator: out of memory");
	as->n = inv->nregions;
	for (size_t i = 0; i < as->n; i++)
		as->v[i].region = inv->regions[i].name;
	return SK_OK;
}

void
coord_agents_fini(coord_agents *as)
{
	if (as == NULL)
		return;
	free(as->v);
	as->v = NULL;
	as->n = 0;
}

const coord_agent *
coord_agents_find(const coord_agents *as, const char *region)
{
	for (size_t i = 0; i < as->n; i++)
		if (strcmp(as->v[i].region, region) == 0)
			return &as->v[i];
	return NULL;
}

void
coord_agents_ago(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms > 0 ? ms / 1000 : 0;

	if (s < 60)
		snprintf(buf, size, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, size, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%" PRId64 "h%02" PRId64 "m", s / 3600,
		    s % 3600 / 60);
	else
		snprintf(buf, size, "%" PRId64 "d%02" PRId64 "h", s / 86400,
		    s % 86400 / 3600);
}

void
coord_agents_note(coord_agent *a, const sk_agent_msg *m, int64_t now_ms)
{
	uint32_t hold = m->wait ? m->hold_ms : 0;

	if (hold > COORD_POLL_HOLD_MAX_MS)
		hold = COORD_POLL_HOLD_MAX_MS;
	if (!a->connected) {
		char gone[32] = "";

		if (a->seen) {
			strcpy(gone, " again after ");
			coord_agents_ago(now_ms - a->last_seen_ms,
			    gone + strlen(gone), sizeof(gone) - strlen(gone));
		}
		sk_info("agent %s connected%s (boot %016llx, %zu databases, "
			"version %s)",
		    a->region, gone, (unsigned long long)m->boot_id,
		    m->ndatabases, m->version);
	}
	a->seen = true;
	a->connected = true;
	a->last_seen_ms = now_ms;
	/* An agent that does not wait (it had reports to send) keeps the
	 * window its last poll asked for. */
	if (hold > 0 || a->window_ms == 0)
		a->window_ms = 3 * (int64_t)hold + COORD_AGENT_GRACE_MS;
	a->boot_id = m->boot_id;
	snprintf(a->version, sizeof(a->version), "%s", m->version);
	a->ndatabases = (uint32_t)m->ndatabases;
	a->nrunning = 0;
	for (size_t i = 0; i < m->nrunning && i < COORD_AGENT_RUNNING_MAX; i++)
		snprintf(a->running[a->nrunning++], SK_NAME_MAX, "%s", m->running[i]);
}

bool
coord_agent_is_connected(const coord_agent *a, int64_t now_ms)
{
	return a->seen && now_ms - a->last_seen_ms <= a->window_ms;
}

void
coord_agents_sweep(coord_agents *as, int64_t now_ms)
{
	for (size_t i = 0; i < as->n; i++) {
		coord_agent *a = &as->v[i];

		if (!a->connected || coord_agent_is_connected(a, now_ms))
			continue;
		a->connected = false;
		sk_warn("agent %s disconnected: no poll for %lld s (its window "
			"is %lld s); its region waits until it is back",
		    a->region, (long long)((now_ms - a->last_seen_ms) / 1000),
		    (long long)(a->window_ms / 1000));
	}
}

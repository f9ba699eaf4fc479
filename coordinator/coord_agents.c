/* coord_agents: each region's agent as the coordinator last heard it,
 * and when it is taken as gone (see the header). */
#include "coord_agents.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_server.h"
#include "coord_narrate.h"
#include "sk_log.h"
#include "sk_util.h"

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
	as->started_ms = sk_now_ms();
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

void
coord_agents_away(const coord_agents *as, const char *region, int64_t now_ms,
    char *buf, size_t size)
{
	const coord_agent *a = coord_agents_find(as, region);
	char ago[32];

	buf[0] = '\0';
	if (a == NULL || coord_agent_is_connected(a, now_ms))
		return;
	if (!a->seen) {
		coord_agents_ago(now_ms - as->started_ms, ago, sizeof(ago));
		snprintf(buf, size,
		    "agent of %s never connected (the coordinator started %s "
		    "ago)",
		    region, ago);
		return;
	}
	coord_agents_ago(now_ms - a->last_seen_ms, ago, sizeof(ago));
	snprintf(buf, size, "agent of %s not connected for %s", region, ago);
}

int
coord_agents_view(const coord_agents *as, int64_t now_ms, sk_agent_view **out,
    size_t *n, sk_err *err)
{
	*out = NULL;
	*n = 0;
	if (as->n == 0)
		return SK_OK;
	*out = calloc(as->n, sizeof(**out));
	if (*out == NULL)
		return sk_err_set(err, SK_ENOMEM, "list agents: out of memory");
	for (size_t i = 0; i < as->n; i++) {
		const coord_agent *a = &as->v[i];
		sk_agent_view *v = &(*out)[i];

		snprintf(v->region, sizeof(v->region), "%s", a->region);
		v->connected = coord_agent_is_connected(a, now_ms);
		v->last_seen_ms = a->seen ? a->last_seen_ms : 0;
		v->silent_ms = a->seen ? now_ms - a->last_seen_ms :
					 now_ms - as->started_ms;
		v->window_ms = a->window_ms;
		snprintf(v->version, sizeof(v->version), "%s", a->version);
		v->ndatabases = a->ndatabases;
		for (size_t k = 0;
		     k < a->nrunning && k < SK_AGENT_VIEW_RUNNING_MAX; k++)
			snprintf(v->running[v->nrunning++], SK_ID_MAX, "%s",
			    a->running[k]);
	}
	*n = as->n;
	return SK_OK;
}

static bool
not_ended(const char *state)
{
	return strcmp(state, "pending") == 0 ||
	    strcmp(state, "dispatched") == 0 || strcmp(state, "running") == 0;
}

void
coord_agents_annotate(const coord_agents *as, sk_rollout_view *v, int64_t now_ms)
{
	if (strcmp(v->state, "running") != 0)
		return;
	for (size_t p = 0; p < v->nphases; p++)
		for (size_t r = 0; r < v->phases[p].nregions; r++) {
			sk_region_view *rv = &v->phases[p].regions[r];

			if (rv->detail[0] == '\0' && not_ended(rv->state))
				coord_agents_away(as, rv->name, now_ms,
				    rv->detail, sizeof(rv->detail));
		}
}

void
coord_agents_narrate(const coord_agents *as, coord_registry *reg, int64_t now_ms)
{
	char away[160];

	for (size_t i = 0; i < reg->n; i++) {
		coord_rollout *ro = reg->v[i];

		if (ro->state != COORD_RO_RUNNING)
			continue;
		for (size_t r = 0; r < ro->nregions; r++) {
			coord_region_run *rr = &ro->regions[r];
			bool waits = !coord_region_done(rr->state) &&
			    (rr->state != COORD_R_PENDING ||
				coord_rollout_wants(ro, rr->name));

			coord_agents_away(as, rr->name, now_ms, away, sizeof(away));
			/* Agents dial in within seconds of a start: "never
			 * connected" is news only after that. */
			if (waits && away[0] != '\0' && !rr->agent_away &&
			    now_ms - as->started_ms >= COORD_AGENT_STARTUP_MS) {
				rr->agent_away = true;
				coord_rollout_event(ro, rr->name,
				    "%s; region %s waits for it", away, rr->name);
			} else if (rr->agent_away && away[0] == '\0') {
				rr->agent_away = false;
				coord_rollout_event(ro, rr->name,
				    "agent of %s connected", rr->name);
			}
		}
	}
}

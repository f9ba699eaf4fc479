/* sk_wire_agents: the agents of `skein agents` (CliResponse.agents,
 * AgentView) in protobuf-c form, decoded at the edge like the rest of
 * the CLI's answer (sk_wire_cli.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_wire.h"
#include "sk_wire_int.h"
#include "skein.pb-c.h"

int
wire_agents_to_pb(agents_store *s, Skein__V1__CliResponse *pb,
    const sk_cli_response *m, sk_err *err)
{
	if (m->nagents == 0)
		return SK_OK;
	s->v = calloc(m->nagents, sizeof(*s->v));
	s->p = calloc(m->nagents, sizeof(*s->p));
	s->running =
	    calloc(m->nagents * SK_AGENT_VIEW_RUNNING_MAX, sizeof(*s->running));
	if (s->v == NULL || s->p == NULL || s->running == NULL)
		return sk_err_set(err, SK_ENOMEM, "encode response: out of memory");
	for (size_t i = 0; i < m->nagents; i++) {
		const sk_agent_view *a = &m->agents[i];
		Skein__V1__AgentView *v = &s->v[i];
		size_t n = a->nrunning < SK_AGENT_VIEW_RUNNING_MAX ?
		    a->nrunning :
		    SK_AGENT_VIEW_RUNNING_MAX;

		skein__v1__agent_view__init(v);
		v->region = (char *)a->region;
		v->connected = a->connected;
		v->last_seen_unix_ms = a->last_seen_ms;
		v->silent_ms = a->silent_ms;
		v->window_ms = a->window_ms;
		v->version = (char *)a->version;
		v->databases = a->ndatabases;
		for (size_t k = 0; k < n; k++)
			s->running[i * SK_AGENT_VIEW_RUNNING_MAX + k] =
			    (char *)a->running[k];
		v->running = &s->running[i * SK_AGENT_VIEW_RUNNING_MAX];
		v->n_running = n;
		s->p[i] = v;
	}
	pb->agents = s->p;
	pb->n_agents = m->nagents;
	return SK_OK;
}

void
wire_agents_store_fini(agents_store *s)
{
	free(s->v);
	free(s->p);
	free(s->running);
	memset(s, 0, sizeof(*s));
}

int
wire_agents_from_pb(sk_cli_response *out, const Skein__V1__CliResponse *pb, sk_err *err)
{
	int rc;

	if (pb->n_agents == 0)
		return SK_OK;
	if (pb->n_agents > WIRE_MAX_ITEMS)
		return sk_err_set(err, SK_EDECODE,
		    "decode response: %zu agents, at most %d", pb->n_agents,
		    WIRE_MAX_ITEMS);
	out->agents = calloc(pb->n_agents, sizeof(*out->agents));
	if (out->agents == NULL)
		return sk_err_set(err, SK_ENOMEM, "decode response: out of memory");
	out->nagents = pb->n_agents;
	for (size_t i = 0; i < pb->n_agents; i++) {
		const Skein__V1__AgentView *v = pb->agents[i];
		sk_agent_view *a = &out->agents[i];

		rc = wire_copy_id(
		    a->region, sizeof(a->region), v->region, "region", err);
		if (rc != SK_OK)
			return rc;
		a->connected = v->connected;
		a->last_seen_ms = v->last_seen_unix_ms;
		a->silent_ms = v->silent_ms;
		a->window_ms = v->window_ms;
		snprintf(a->version, sizeof(a->version), "%s",
		    v->version != NULL ? v->version : "");
		a->ndatabases = v->databases;
		for (size_t k = 0;
		     k < v->n_running && k < SK_AGENT_VIEW_RUNNING_MAX; k++) {
			rc = wire_copy_id(a->running[k], sizeof(a->running[k]),
			    v->running[k], "rollout id", err);
			if (rc != SK_OK)
				return rc;
			a->nrunning++;
		}
	}
	return SK_OK;
}

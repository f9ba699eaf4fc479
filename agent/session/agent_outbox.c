/* agent_outbox: the reports on their way out of the region, kept until
 * the coordinator says it has them (delivery is at-least-once; it drops
 * repeats by boot id and sequence). The one way out of the region: what
 * may quote row values is redacted on the way in. */
#include "agent_session_int.h"

#include <stdlib.h>
#include <string.h>

#include "agent_redact.h"
#include "sk_log.h"
#include "sk_util.h"

#define OUTBOX_MAX 100000

void
agent_outbox_put(agent_session *s, const sk_report *r)
{
	bool final = r->event == SK_EV_PLAN_SUCCEEDED ||
	    r->event == SK_EV_PLAN_FAILED || r->event == SK_EV_PLAN_REFUSED;

	pthread_mutex_lock(&s->mu);
	if (s->nout >= OUTBOX_MAX && !final) {
		/* Progress is droppable; outcomes are not. The ledger keeps
		 * the truth either way. */
		if (!s->outbox_full_logged)
			sk_warn("report queue full (%d): dropping progress reports "
				"until the coordinator is reachable",
			    OUTBOX_MAX);
		s->outbox_full_logged = true;
		pthread_mutex_unlock(&s->mu);
		return;
	}
	if (s->nout == s->outcap) {
		size_t cap = s->outcap ? s->outcap * 2 : 64;
		sk_report *n = realloc(s->outbox, cap * sizeof(*n));

		if (n == NULL) {
			pthread_mutex_unlock(&s->mu);
			sk_error("queue report: out of memory");
			return;
		}
		s->outbox = n;
		s->outcap = cap;
	}
	s->outbox[s->nout] = *r;
	/* The outbox is the way out of the region: what may quote row
	 * values stays behind (the ledger has it whole). */
	agent_redact_report(&s->outbox[s->nout], s->cfg->region);
	s->outbox[s->nout].seq = ++s->next_seq;
	if (s->outbox[s->nout].at_ms == 0)
		s->outbox[s->nout].at_ms = sk_now_ms();
	s->nout++;
	pthread_mutex_unlock(&s->mu);
	if (atomic_load(&s->waiting))
		nng_aio_cancel(s->aio);
}

void
agent_outbox_ack(agent_session *s, uint64_t acked)
{
	size_t k = 0;

	pthread_mutex_lock(&s->mu);
	while (k < s->nout && s->outbox[k].seq <= acked)
		k++;
	if (k == 0) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	memmove(s->outbox, s->outbox + k, (s->nout - k) * sizeof(*s->outbox));
	s->nout -= k;
	if (k > 0)
		s->outbox_full_logged = false;
	pthread_mutex_unlock(&s->mu);
}

bool
agent_outbox_has_final(const agent_session *s, const char *rollout_id, bool flags_only)
{
	for (size_t i = 0; i < s->nout; i++)
		if (strcmp(s->outbox[i].rollout_id, rollout_id) == 0 &&
		    s->outbox[i].flags_only == flags_only &&
		    (s->outbox[i].event == SK_EV_PLAN_SUCCEEDED ||
			s->outbox[i].event == SK_EV_PLAN_FAILED ||
			s->outbox[i].event == SK_EV_PLAN_REFUSED))
			return true;
	return false;
}

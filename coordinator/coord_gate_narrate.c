/* coord_gate_narrate: a rollout's gates in words, from their state. */
#include "coord_gate_narrate.h"

#include <stdio.h>

#include "coord_narrate.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_window.h"

/* Approvals of phase p counted (one per operator: coord_gate.c). */
static uint32_t
given(const coord_rollout *ro, uint32_t p)
{
	uint32_t n = 0;

	for (size_t i = 0; i < ro->gates.napprovals; i++)
		n += ro->gates.approvals[i].phase == p;
	return n;
}

void
coord_gate_narrate_waiting(coord_rollout *ro, uint32_t p)
{
	const sk_phase *ph = ro->phases[p];
	const coord_gate_phase *gp = &ro->gates.phases[p];
	uint32_t n = given(ro, p);

	if (n < ph->approval_count) {
		char from[256] = "";
		size_t off = 0;

		for (size_t i = 0; i < ph->napprovers && off < sizeof(from); i++)
			off += (size_t)snprintf(from + off, sizeof(from) - off,
			    "%s%s", i ? ", " : " from ", ph->approvers[i]);
		coord_rollout_event(ro, NULL,
		    "phase %u/%zu %s waits for approval %u/%u%s%s: skein rollout "
		    "approve %s --phase %s",
		    p + 1, ro->nphases, ph->name, n, ph->approval_count, from,
		    ph->not_by_starter ? ", not by its starter" : "", ro->id,
		    ph->name);
		return;
	}
	if (gp->window_opens_ms > 0) {
		char when[96];

		sk_window_local(gp->window_opens_ms, ph->window.tz, when, sizeof(when));
		coord_rollout_event(ro, NULL,
		    "phase %u/%zu %s waits for its window: opens %s", p + 1,
		    ro->nphases, ph->name, when);
	}
}

void
coord_gate_narrate(coord_rollout *ro, uint32_t p, int event)
{
	const sk_phase *ph = ro->phases[p];
	const coord_gate_phase *gp = &ro->gates.phases[p];
	char soak[32];

	sk_duration_format(ph->soak_ms, soak, sizeof(soak));
	switch (event) {
	case COORD_GATE_EV_ENTRY_OPEN:
		coord_rollout_event(ro, NULL,
		    "phase %u/%zu %s: entry gates open (approvals %u/%u%s)",
		    p + 1, ro->nphases, ph->name, given(ro, p), ph->approval_count,
		    sk_window_set(&ph->window) ? ", window open" : "");
		break;
	case COORD_GATE_EV_EXIT_STARTED:
		coord_rollout_event(ro, NULL,
		    "phase %u/%zu %s: every region succeeded; exit gate: soak %s",
		    p + 1, ro->nphases, ph->name, ph->soak_ms > 0 ? soak : "none");
		break;
	case COORD_GATE_EV_EXIT_PASSED:
		coord_rollout_event(ro, NULL,
		    "phase %u/%zu %s: exit gate passed (soak %s served)", p + 1,
		    ro->nphases, ph->name, soak);
		break;
	case COORD_GATE_EV_HALTED:
	case COORD_GATE_EV_PAUSED:
		if (gp->njudged > 0) {
			const sk_gate_judged *j = &gp->judged[gp->njudged - 1];

			coord_rollout_event(ro, j->region,
			    "phase %s: gate %s in %s/%s %s", ph->name, j->gate,
			    j->region, j->database,
			    event == COORD_GATE_EV_HALTED ? "failed: halted" :
							    "inconclusive: paused");
		}
		break;
	default:
		break;
	}
}

void
coord_gate_narrate_approval(coord_rollout *ro, const coord_approval *a, bool counted)
{
	const sk_phase *ph = a->phase < ro->nphases ? ro->phases[a->phase] : NULL;

	if (ph == NULL)
		return;
	if (!counted) {
		coord_rollout_event(ro, NULL, "phase %s: %s approved again; counted once",
		    ph->name, a->operator_name);
		return;
	}
	coord_rollout_event(ro, NULL,
	    "phase %s approved by %s (key %.16s): %u/%u", ph->name,
	    a->operator_name, a->key_id, given(ro, a->phase), ph->approval_count);
}

/* sk_wire_gate: the gates on the wire — a rollout view's current gate,
 * its approvals and every phase's gate (RolloutView 27-29), and the
 * approve request (CliRequest 11). Decoded at the edge: names that do not
 * fit are refused, lists are bounded. */
#include "sk_wire.h"

#include <stdlib.h>
#include <string.h>

#include "sk_wire_int.h"
#include "skein.pb-c.h"

#define WIRE_MAX_GATES 1024
#define WIRE_MAX_APPROVALS 4096

/* ---- approve request ------------------------------------------------------ */

void
wire_approve_to_pb(Skein__V1__CliRequest *pb, Skein__V1__ApproveRequest *s,
    const sk_cli_request *m)
{
	skein__v1__approve_request__init(s);
	s->rollout_id = (char *)m->rollout_id;
	s->phase = (char *)m->phase;
	pb->op_case = SKEIN__V1__CLI_REQUEST__OP_APPROVE;
	pb->approve = s;
}

int
wire_approve_from_pb(sk_cli_request *out, const Skein__V1__CliRequest *pb, sk_err *err)
{
	out->op = SK_CLI_APPROVE;
	if (pb->approve == NULL)
		return sk_err_set(err, SK_EDECODE, "decode request: empty approve");
	if (wire_copy_id(out->rollout_id, sizeof(out->rollout_id),
		pb->approve->rollout_id, "rollout id", err) != SK_OK)
		return err->code;
	return wire_copy_id(
	    out->phase, sizeof(out->phase), pb->approve->phase, "phase", err);
}

/* ---- view ----------------------------------------------------------------- */

static void
judged_to_pb(Skein__V1__GateView__Judged *pb, const sk_gate_judged *j)
{
	skein__v1__gate_view__judged__init(pb);
	pb->gate = (char *)j->gate;
	pb->region = (char *)j->region;
	pb->database = (char *)j->database;
	pb->value = j->value;
	pb->threshold = j->threshold;
	pb->passed = j->passed;
	pb->erred = j->erred;
	pb->samples = j->samples;
	pb->at_unix_ms = j->at_ms;
}

/* g into pb; judged and names have room for g's items. */
static void
gate_to_pb(Skein__V1__GateView *pb, const sk_gate_view *g,
    Skein__V1__GateView__Judged *judged, Skein__V1__GateView__Judged **judgedp,
    char **names)
{
	skein__v1__gate_view__init(pb);
	pb->phase = (char *)g->phase;
	pb->waiting_for = (char *)g->waiting_for;
	pb->outcome = (char *)g->outcome;
	pb->soak_served_ms = g->soak_served_ms;
	pb->soak_ms = g->soak_ms;
	pb->samples = g->samples;
	pb->min_samples = g->min_samples;
	for (size_t i = 0; i < g->njudged && i < SK_GATE_JUDGED_MAX; i++) {
		judged_to_pb(&judged[i], &g->judged[i]);
		judgedp[i] = &judged[i];
	}
	pb->judged = judgedp;
	pb->n_judged = g->njudged;
	pb->approvals = g->approvals;
	pb->approvals_needed = g->approvals_needed;
	for (size_t i = 0; i < g->napproved_by && i < SK_GATE_APPROVERS_MAX; i++)
		names[i] = (char *)g->approved_by[i];
	pb->approved_by = names;
	pb->n_approved_by = g->napproved_by;
	pb->window_opens_unix_ms = g->window_opens_ms;
	pb->window_tz = (char *)g->window_tz;
	pb->started_unix_ms = g->started_ms;
	pb->ended_unix_ms = g->ended_ms;
}

int
wire_view_gates_to_pb(
    Skein__V1__RolloutView *pb, gate_view_store *s, const sk_rollout_view *v)
{
	size_t ng = v->ngates + 1; /* and the current gate */

	memset(s, 0, sizeof(*s));
	s->gates = calloc(ng, sizeof(*s->gates));
	s->gatep = calloc(ng, sizeof(*s->gatep));
	s->judged = calloc(ng * SK_GATE_JUDGED_MAX, sizeof(*s->judged));
	s->judgedp = calloc(ng * SK_GATE_JUDGED_MAX, sizeof(*s->judgedp));
	s->names = calloc(ng * SK_GATE_APPROVERS_MAX, sizeof(*s->names));
	s->approvals = calloc(v->napprovals + 1, sizeof(*s->approvals));
	s->approvalp = calloc(v->napprovals + 1, sizeof(*s->approvalp));
	if (!s->gates || !s->gatep || !s->judged || !s->judgedp || !s->names ||
	    !s->approvals || !s->approvalp)
		return SK_ENOMEM;
	for (size_t i = 0; i < ng; i++) {
		const sk_gate_view *g = i < v->ngates ? &v->gates[i] : &v->gate;
		Skein__V1__GateView *to = i < v->ngates ? &s->gates[i] : &s->gate;

		if (i == v->ngates && !v->has_gate)
			break;
		gate_to_pb(to, g, &s->judged[i * SK_GATE_JUDGED_MAX],
		    &s->judgedp[i * SK_GATE_JUDGED_MAX],
		    &s->names[i * SK_GATE_APPROVERS_MAX]);
		if (i < v->ngates)
			s->gatep[i] = to;
	}
	if (v->has_gate)
		pb->gate = &s->gate;
	pb->gates = s->gatep;
	pb->n_gates = v->ngates;
	for (size_t i = 0; i < v->napprovals; i++) {
		Skein__V1__ApprovalView *a = &s->approvals[i];

		skein__v1__approval_view__init(a);
		a->phase = (char *)v->approvals[i].phase;
		a->operator_ = (char *)v->approvals[i].operator_name;
		a->key_id = (char *)v->approvals[i].key_id;
		a->at_unix_ms = v->approvals[i].at_ms;
		s->approvalp[i] = a;
	}
	pb->approvals = s->approvalp;
	pb->n_approvals = v->napprovals;
	return SK_OK;
}

void
wire_view_gates_fini(gate_view_store *s)
{
	if (s == NULL)
		return;
	free(s->gates);
	free(s->gatep);
	free(s->judged);
	free(s->judgedp);
	free(s->names);
	free(s->approvals);
	free(s->approvalp);
	memset(s, 0, sizeof(*s));
}

static int
gate_from_pb(sk_gate_view *g, const Skein__V1__GateView *pb, sk_err *err)
{
	memset(g, 0, sizeof(*g));
	if (pb->n_judged > SK_GATE_JUDGED_MAX || pb->n_approved_by > SK_GATE_APPROVERS_MAX)
		return sk_err_set(err, SK_EDECODE,
		    "decode rollout view: a gate with %zu judged items and %zu "
		    "approvers (at most %d and %d)",
		    pb->n_judged, pb->n_approved_by, SK_GATE_JUDGED_MAX,
		    SK_GATE_APPROVERS_MAX);
	if (wire_copy_id(g->phase, sizeof(g->phase), pb->phase, "phase", err) != SK_OK)
		return err->code;
	wire_copy_text(g->waiting_for, sizeof(g->waiting_for), pb->waiting_for);
	wire_copy_text(g->outcome, sizeof(g->outcome), pb->outcome);
	g->soak_served_ms = pb->soak_served_ms;
	g->soak_ms = pb->soak_ms;
	g->samples = pb->samples;
	g->min_samples = pb->min_samples;
	for (size_t i = 0; i < pb->n_judged; i++) {
		const Skein__V1__GateView__Judged *pj = pb->judged[i];
		sk_gate_judged *j = &g->judged[i];

		wire_copy_text(j->gate, sizeof(j->gate), pj->gate);
		if (wire_copy_id(j->region, sizeof(j->region), pj->region,
			"region", err) != SK_OK ||
		    wire_copy_id(j->database, sizeof(j->database), pj->database,
			"database", err) != SK_OK)
			return err->code;
		j->value = pj->value;
		j->threshold = pj->threshold;
		j->passed = pj->passed;
		j->erred = pj->erred;
		j->samples = pj->samples;
		j->at_ms = pj->at_unix_ms;
	}
	g->njudged = pb->n_judged;
	g->approvals = pb->approvals;
	g->approvals_needed = pb->approvals_needed;
	for (size_t i = 0; i < pb->n_approved_by; i++)
		if (wire_copy_id(g->approved_by[i], sizeof(g->approved_by[i]),
			pb->approved_by[i], "operator name", err) != SK_OK)
			return err->code;
	g->napproved_by = pb->n_approved_by;
	g->window_opens_ms = pb->window_opens_unix_ms;
	wire_copy_text(g->window_tz, sizeof(g->window_tz), pb->window_tz);
	g->started_ms = pb->started_unix_ms;
	g->ended_ms = pb->ended_unix_ms;
	return SK_OK;
}

int
wire_view_gates_from_pb(
    sk_rollout_view *v, const Skein__V1__RolloutView *pb, sk_err *err)
{
	if (pb->gate != NULL) {
		if (gate_from_pb(&v->gate, pb->gate, err) != SK_OK)
			return err->code;
		v->has_gate = true;
	}
	if (pb->n_gates > WIRE_MAX_GATES || pb->n_approvals > WIRE_MAX_APPROVALS)
		return sk_err_set(err, SK_EDECODE,
		    "decode rollout view: %zu gates and %zu approvals (at most "
		    "%d and %d)",
		    pb->n_gates, pb->n_approvals, WIRE_MAX_GATES, WIRE_MAX_APPROVALS);
	if (pb->n_gates > 0) {
		v->gates = calloc(pb->n_gates, sizeof(*v->gates));
		if (v->gates == NULL)
			return sk_err_set(err, SK_ENOMEM,
			    "decode rollout view: out of memory");
		v->ngates = pb->n_gates;
		for (size_t i = 0; i < pb->n_gates; i++)
			if (gate_from_pb(&v->gates[i], pb->gates[i], err) != SK_OK)
				return err->code;
	}
	if (pb->n_approvals > 0) {
		v->approvals = calloc(pb->n_approvals, sizeof(*v->approvals));
		if (v->approvals == NULL)
			return sk_err_set(err, SK_ENOMEM,
			    "decode rollout view: out of memory");
		v->napprovals = pb->n_approvals;
	}
	for (size_t i = 0; i < pb->n_approvals; i++) {
		const Skein__V1__ApprovalView *pa = pb->approvals[i];
		sk_approval_view *a = &v->approvals[i];

		if (wire_copy_id(a->phase, sizeof(a->phase), pa->phase, "phase",
			err) != SK_OK ||
		    wire_copy_id(a->operator_name, sizeof(a->operator_name),
			pa->operator_, "operator name", err) != SK_OK)
			return err->code;
		wire_copy_text(a->key_id, sizeof(a->key_id), pa->key_id);
		a->at_ms = pa->at_unix_ms;
	}
	return SK_OK;
}

/* coord_journal_gate: the journal's codec for gate transitions and
 * approvals. Figures only: the words are coord_gate_narrate's. */
#include "coord_journal_gate.h"

#include <stdio.h>
#include <string.h>

static char *
str(const char *s)
{
	return (char *)(s != NULL ? s : "");
}

void
journal_gate_to_pb(Skein__V1__JournalRecord *r, journal_gate_store *s,
    const coord_gate_record *rec)
{
	skein__v1__gate_record__init(&s->gate);
	s->gate.phase = rec->phase;
	s->gate.event = (Skein__V1__GateRecord__Event)rec->event;
	s->gate.served_ms = rec->served_ms;
	if (rec->has_judged) {
		const sk_gate_judged *j = &rec->judged;

		skein__v1__gate_view__judged__init(&s->judged);
		s->judged.gate = str(j->gate);
		s->judged.region = str(j->region);
		s->judged.database = str(j->database);
		s->judged.value = j->value;
		s->judged.threshold = j->threshold;
		s->judged.passed = j->passed;
		s->judged.erred = j->erred;
		s->judged.samples = j->samples;
		s->judged.at_unix_ms = j->at_ms;
		s->gate.judged = &s->judged;
	}
	r->rec_case = SKEIN__V1__JOURNAL_RECORD__REC_GATE;
	r->gate = &s->gate;
}

void
journal_approval_to_pb(Skein__V1__JournalRecord *r, journal_gate_store *s,
    const coord_approval_record *rec)
{
	skein__v1__approval_view__init(&s->approval);
	s->approval.phase = str(rec->phase);
	s->approval.operator_ = str(rec->operator_name);
	s->approval.key_id = str(rec->key_id);
	s->approval.at_unix_ms = rec->at_ms;
	s->approval.envelope.data = (uint8_t *)rec->envelope;
	s->approval.envelope.len = rec->envelope_len;
	r->rec_case = SKEIN__V1__JOURNAL_RECORD__REC_APPROVAL;
	r->approval = &s->approval;
}

static void
copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src != NULL ? src : "");
}

void
journal_gate_dispatch(const Skein__V1__JournalRecord *r,
    const coord_journal_visitor *v, void *arg)
{
	const char *id = r->rollout_id ? r->rollout_id : "";

	if (r->rec_case == SKEIN__V1__JOURNAL_RECORD__REC_GATE &&
	    r->gate != NULL && v->gate != NULL) {
		const Skein__V1__GateRecord *g = r->gate;
		coord_gate_record rec;

		memset(&rec, 0, sizeof(rec));
		rec.phase = g->phase;
		rec.event = (int)g->event;
		rec.served_ms = g->served_ms;
		rec.at_ms = r->at_unix_ms;
		if (g->judged != NULL) {
			const Skein__V1__GateView__Judged *pj = g->judged;

			rec.has_judged = true;
			copy(rec.judged.gate, sizeof(rec.judged.gate), pj->gate);
			copy(rec.judged.region, sizeof(rec.judged.region), pj->region);
			copy(rec.judged.database, sizeof(rec.judged.database),
			    pj->database);
			rec.judged.value = pj->value;
			rec.judged.threshold = pj->threshold;
			rec.judged.passed = pj->passed;
			rec.judged.erred = pj->erred;
			rec.judged.samples = pj->samples;
			rec.judged.at_ms = pj->at_unix_ms;
		}
		v->gate(arg, id, &rec);
	} else if (r->rec_case == SKEIN__V1__JOURNAL_RECORD__REC_APPROVAL &&
	    r->approval != NULL && v->approval != NULL) {
		const Skein__V1__ApprovalView *a = r->approval;
		coord_approval_record rec = {
			.phase = a->phase,
			.operator_name = a->operator_,
			.key_id = a->key_id,
			.at_ms = a->at_unix_ms,
			.envelope = a->envelope.data,
			.envelope_len = a->envelope.len,
		};

		v->approval(arg, id, &rec);
	}
}

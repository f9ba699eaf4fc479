/* sk_wire_sample: the sampled gate's part of the wire (sampling): a
 * GATE_SAMPLE report's health value, round and phase, and a SAMPLE
 * command's phase and round. Called by sk_wire.c's report and control
 * codecs so that every message carrying a report or command gets them. */
#include <math.h>
#include <string.h>

#include "sk_wire.h"
#include "sk_wire_int.h"

void
wire_sample_report_to_pb(report_store *s, const sk_report *r)
{
	Skein__V1__Report *pb = &s->rep;

	pb->sample_round = r->sample_round;
	pb->phase = r->phase;
	if (r->has_health) {
		skein__v1__health_sample__init(&s->health);
		s->health.signal = (char *)r->health.signal;
		s->health.value = r->health.value;
		pb->health = &s->health;
	}
}

int
wire_sample_report_from_pb(sk_report *r, const Skein__V1__Report *pb, sk_err *err)
{
	size_t n;

	r->sample_round = pb->sample_round;
	r->phase = pb->phase;
	if (pb->health == NULL)
		return SK_OK;
	/* Checked here rather than by wire_copy_id: sk_wire.c calls this
	 * file, so this file calls nothing of sk_wire.c (no circles). */
	n = pb->health->signal != NULL ? strlen(pb->health->signal) : 0;
	if (n >= sizeof(r->health.signal))
		return sk_err_set(err, SK_EDECODE,
		    "decode message: health signal name is %zu bytes, longer "
		    "than %zu",
		    n, sizeof(r->health.signal) - 1);
	if (n == 0)
		return sk_err_set(err, SK_EDECODE,
		    "decode report: a health sample without a signal name");
	r->has_health = true;
	memcpy(r->health.signal, pb->health->signal, n + 1);
	if (!isfinite(pb->health->value))
		return sk_err_set(err, SK_EDECODE,
		    "decode report: health signal %s has a value that is not a "
		    "finite number",
		    r->health.signal);
	r->health.value = pb->health->value;
	return SK_OK;
}

void
wire_sample_command_to_pb(
    Skein__V1__Command *pc, Skein__V1__SampleRequest *sr, const sk_command *c)
{
	if (c->kind != SK_CMD_SAMPLE)
		return;
	skein__v1__sample_request__init(sr);
	sr->phase = c->sample_phase;
	sr->round = c->sample_round;
	pc->sample = sr;
}

int
wire_sample_command_from_pb(
    sk_command *c, const Skein__V1__Command *pc, size_t i, sk_err *err)
{
	if (c->kind != SK_CMD_SAMPLE)
		return SK_OK;
	if (pc->sample == NULL)
		return sk_err_set(err, SK_EDECODE,
		    "decode control: SAMPLE command %zu has no phase and round", i);
	c->sample_phase = pc->sample->phase;
	c->sample_round = pc->sample->round;
	return SK_OK;
}

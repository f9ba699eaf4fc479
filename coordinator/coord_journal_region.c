/* coord_journal_region: a region's run between its journal record
 * (RegionRun, and the RegionView of journals written before it) and
 * coord_region_record. Internal to the journal. */
#include "coord_journal_region.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_mode.h"
#include "sk_util.h"

/* RegionRunState and enum coord_region_state, value for value. */
static const struct {
	int ours;
	Skein__V1__RegionRunState pb;
} region_states[] = {
	{ COORD_R_PENDING, SKEIN__V1__REGION_RUN_STATE__REGION_RUN_STATE_PENDING },
	{ COORD_R_DISPATCHED, SKEIN__V1__REGION_RUN_STATE__REGION_RUN_STATE_DISPATCHED },
	{ COORD_R_RUNNING, SKEIN__V1__REGION_RUN_STATE__REGION_RUN_STATE_RUNNING },
	{ COORD_R_SUCCEEDED, SKEIN__V1__REGION_RUN_STATE__REGION_RUN_STATE_SUCCEEDED },
	{ COORD_R_FAILED, SKEIN__V1__REGION_RUN_STATE__REGION_RUN_STATE_FAILED },
	{ COORD_R_REFUSED, SKEIN__V1__REGION_RUN_STATE__REGION_RUN_STATE_REFUSED },
};

#define NSTATES (sizeof(region_states) / sizeof(region_states[0]))

Skein__V1__RegionRunState
journal_state_to_pb(int state)
{
	for (size_t i = 0; i < NSTATES; i++)
		if (region_states[i].ours == state)
			return region_states[i].pb;
	return SKEIN__V1__REGION_RUN_STATE__REGION_RUN_STATE_PENDING;
}

/* A state this coordinator does not know (a newer one wrote it) reads
 * as pending: the region is asked again, which the ledger makes safe. */
static int
state_from_pb(Skein__V1__RegionRunState pb)
{
	for (size_t i = 0; i < NSTATES; i++)
		if (region_states[i].pb == pb)
			return region_states[i].ours;
	return COORD_R_PENDING;
}

static bool
copy_name(char *dst, size_t cap, const char *src)
{
	src = src != NULL ? src : "";
	if (strlen(src) >= cap)
		return false;
	memcpy(dst, src, strlen(src) + 1);
	return true;
}

static void
error_from_pb(sk_err *e, const Skein__V1__Error *pb)
{
	sk_err_clear(e);
	if (pb == NULL)
		return;
	e->code = sk_code_from_name(pb->code ? pb->code : "");
	snprintf(e->sqlstate, sizeof(e->sqlstate), "%s",
	    pb->sqlstate ? pb->sqlstate : "");
	snprintf(e->msg, sizeof(e->msg), "%s", pb->message ? pb->message : "");
	snprintf(e->detail, sizeof(e->detail), "%s", pb->detail ? pb->detail : "");
	snprintf(e->hint, sizeof(e->hint), "%s", pb->hint ? pb->hint : "");
}

/* A RegionRun into rec; fails (SK_EDECODE) when a name does not fit. */
int
journal_region_from_pb(
    coord_region_record *rec, const Skein__V1__RegionRun *pb, int64_t at_ms)
{
	memset(rec, 0, sizeof(*rec));
	if (!copy_name(rec->name, sizeof(rec->name), pb->name) ||
	    !copy_name(rec->step, sizeof(rec->step), pb->step) ||
	    !copy_name(rec->database, sizeof(rec->database), pb->database))
		return SK_EDECODE;
	rec->state = state_from_pb(pb->state);
	error_from_pb(&rec->error, pb->error);
	rec->steps_done = pb->steps_done;
	rec->steps_total = pb->steps_total;
	rec->at_ms = at_ms;
	return SK_OK;
}

/* The state a journal written before RegionRun named: any mode's name of
 * any state ("ready" is a rehearsal's succeeded); pending if none. */
static int
legacy_state(const char *name)
{
	for (int mode = 0; mode < SK_MODE_MAX; mode++) {
		const coord_mode *m = coord_mode_of(mode);

		for (int s = 0; m != NULL && s < COORD_R_MAX; s++)
			if (strcmp(coord_mode_region_state_name(m, s), name) == 0)
				return s;
	}
	return COORD_R_PENDING;
}

/* A record of a journal written before RegionRun: a RegionView, read
 * through the codec so that its checks apply. Its detail was display
 * text and is dropped. */
int
journal_legacy_region(coord_region_record *rec, const Skein__V1__RegionView *pb)
{
	sk_region_view rv;
	uint8_t *buf;
	size_t len = protobuf_c_message_get_packed_size(&pb->base);
	sk_err err;
	int rc;

	buf = malloc(len + 1);
	if (buf == NULL)
		return SK_ENOMEM;
	protobuf_c_message_pack(&pb->base, buf);
	rc = sk_region_view_decode(buf, len, &rv, &err);
	free(buf);
	if (rc != SK_OK)
		return rc;
	memset(rec, 0, sizeof(*rec));
	snprintf(rec->name, sizeof(rec->name), "%s", rv.name);
	rec->state = legacy_state(rv.state);
	rec->error = rv.error;
	snprintf(rec->step, sizeof(rec->step), "%s", rv.step);
	snprintf(rec->database, sizeof(rec->database), "%s", rv.database);
	rec->steps_done = rv.steps_done;
	rec->steps_total = rv.steps_total;
	rec->at_ms = rv.updated_ms;
	return SK_OK;
}

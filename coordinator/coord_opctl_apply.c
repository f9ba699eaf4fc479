/* coord_opctl_apply: what a pause, resume, tune or abort does to a
 * rollout's control state (coord_rollout.ctl, the regions' pauses, the
 * history status and report show), the one place it is done: for an
 * operator's answer and its replay (coord_opctl), the line stop, and a
 * gate that pauses for a human (coord_gate_sample). Reads and writes the
 * rollout's fields only; calls nothing of the state machine's. */
#include "coord_opctl_apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_state.h"

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

/* The run of region name in ro, or NULL. */
static coord_region_run *
region(coord_rollout *ro, const char *name)
{
	for (size_t i = 0; i < ro->nregions; i++)
		if (strcmp(ro->regions[i].name, name) == 0)
			return &ro->regions[i];
	return NULL;
}

/* stopline: note rec in ro's history (for status and report); a
 * history that cannot grow keeps what it has. */
static void
remember(coord_rollout *ro, const coord_opctl_record *rec)
{
	coord_opctl *h = &ro->ctl;
	sk_control_view *c;

	if (h->nhist == h->hist_cap) {
		size_t cap = h->hist_cap ? h->hist_cap * 2 : 8;
		sk_control_view *v = realloc(h->hist, cap * sizeof(*v));

		if (v == NULL)
			return;
		h->hist = v;
		h->hist_cap = cap;
	}
	c = &h->hist[h->nhist++];
	memset(c, 0, sizeof(*c));
	c->kind = rec->kind;
	snprintf(c->actor, sizeof(c->actor), "%s", nz(rec->actor));
	snprintf(c->actor_key, sizeof(c->actor_key), "%s", nz(rec->actor_key));
	snprintf(c->reason, sizeof(c->reason), "%s", nz(rec->reason));
	c->at_ms = rec->at_ms;
	c->line = rec->line;
	for (size_t i = 0; i < rec->nregions && i < SK_OP_REGIONS_MAX; i++)
		snprintf(c->regions[c->nregions++], SK_NAME_MAX, "%s",
		    rec->regions[i]);
}

/* stopline: a pause or resume of some regions only. */
static void
apply_regions(coord_rollout *ro, const coord_opctl_record *rec)
{
	for (size_t i = 0; i < rec->nregions; i++) {
		coord_region_run *rr = region(ro, rec->regions[i]);

		if (rr == NULL)
			continue;
		rr->paused = rec->kind == SK_CMD_PAUSE;
		if (!rr->paused)
			continue;
		snprintf(rr->paused_by, sizeof(rr->paused_by), "%s", nz(rec->actor));
		snprintf(rr->paused_by_key, sizeof(rr->paused_by_key), "%s",
		    nz(rec->actor_key));
		rr->paused_ms = rec->at_ms;
		snprintf(rr->pause_reason, sizeof(rr->pause_reason), "%s",
		    nz(rec->reason));
	}
}

/* A scoped abort: each region named is aborted (its pause ends with it);
 * one still pending never starts (coord_rollout_abort_regions fails
 * it). Replay meets the record where the answer did, so unstarted comes
 * out the same. */
static void
abort_regions(coord_rollout *ro, const coord_opctl_record *rec)
{
	for (size_t i = 0; i < rec->nregions; i++) {
		coord_region_run *rr = region(ro, rec->regions[i]);

		if (rr == NULL || rr->aborted)
			continue;
		rr->aborted = true;
		rr->abort_unstarted = rr->state == COORD_R_PENDING;
		rr->paused = false;
		snprintf(rr->aborted_by, sizeof(rr->aborted_by), "%s", nz(rec->actor));
		snprintf(rr->aborted_by_key, sizeof(rr->aborted_by_key), "%s",
		    nz(rec->actor_key));
		rr->aborted_ms = rec->at_ms;
		snprintf(rr->abort_reason, sizeof(rr->abort_reason), "%s",
		    nz(rec->reason));
	}
}

void
coord_opctl_apply(coord_rollout *ro, const coord_opctl_record *rec)
{
	coord_opctl *h = &ro->ctl;

	remember(ro, rec);
	if (rec->nregions > 0 && rec->kind == SK_CMD_ABORT) {
		abort_regions(ro, rec);
		h->gen++;
		return;
	}
	if (rec->nregions > 0 &&
	    (rec->kind == SK_CMD_PAUSE || rec->kind == SK_CMD_RESUME)) {
		apply_regions(ro, rec);
		h->gen++;
		return;
	}
	switch (rec->kind) {
	case SK_CMD_ABORT: /* the end itself is coord_rollout_abort's */
		break;
	case SK_CMD_PAUSE:
		h->by_line = rec->line;
		h->paused = true;
		snprintf(h->paused_by, sizeof(h->paused_by), "%s", nz(rec->actor));
		snprintf(h->paused_by_key, sizeof(h->paused_by_key), "%s",
		    nz(rec->actor_key));
		h->paused_ms = rec->at_ms;
		snprintf(h->reason, sizeof(h->reason), "%s", nz(rec->reason));
		break;
	case SK_CMD_RESUME:
		h->paused = false;
		h->by_line = false;
		break;
	default: /* SK_CMD_TUNE */
		h->tuned = true;
		sk_tune_merge(&h->tune, &rec->tune);
		break;
	}
	h->gen++;
}

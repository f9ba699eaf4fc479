/* sk_wire_stopline: the codec of scoped pauses, aborts and the line stop
 * (skein rollout pause|resume --region, skein rollout abort, skein stop):
 * their requests, the control history, region pauses and abort leftovers
 * of a rollout's view, and the line's state in an answer. Decoded at the
 * edge like every message (sk_wire.c); lists beyond their caps are
 * refused, free text is cut. */
#include "sk_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_wire_int.h"
#include "skein.pb-c.h"

/* ---- requests ------------------------------------------------------------ */

/* Copy n ids from src into dst (cap entries of width w); SK_EDECODE for
 * more than cap or one that does not fit. */
static int
ids_from_pb(char *dst, size_t w, size_t cap, size_t *n, char *const *src,
    size_t nsrc, const char *what, sk_err *err)
{
	if (nsrc > cap)
		return sk_err_set(err, SK_EDECODE,
		    "decode request: %zu %ss, at most %zu", nsrc, what, cap);
	for (size_t i = 0; i < nsrc; i++)
		if (wire_copy_id(dst + i * w, w, src[i], what, err) != SK_OK)
			return err->code;
	*n = nsrc;
	return SK_OK;
}

void
wire_stopline_request_to_pb(Skein__V1__CliRequest *pb,
    stopline_request_store *s, const sk_cli_request *m)
{
	for (size_t i = 0; i < m->nregions && i < SK_OP_REGIONS_MAX; i++)
		s->regions[i] = (char *)m->regions[i];
	for (size_t i = 0; i < m->nexcept && i < SK_LINE_EXCEPT_MAX; i++)
		s->except[i] = (char *)m->except[i];
	switch (m->op) {
	case SK_CLI_ABORT:
		skein__v1__abort_request__init(&s->abort);
		s->abort.rollout_id = (char *)m->rollout_id;
		s->abort.reason = (char *)m->reason;
		s->abort.regions = s->regions;
		s->abort.n_regions =
		    m->nregions < SK_OP_REGIONS_MAX ? m->nregions : SK_OP_REGIONS_MAX;
		pb->op_case = SKEIN__V1__CLI_REQUEST__OP_ABORT;
		pb->abort = &s->abort;
		break;
	default: /* SK_CLI_STOP */
		skein__v1__stop_request__init(&s->stop);
		s->stop.action = (Skein__V1__StopAction)m->stop_action;
		s->stop.reason = (char *)m->reason;
		s->stop.except = s->except;
		s->stop.n_except = m->nexcept;
		pb->op_case = SKEIN__V1__CLI_REQUEST__OP_STOP;
		pb->stop = &s->stop;
		break;
	}
}

int
wire_stopline_request_from_pb(
    sk_cli_request *out, const Skein__V1__CliRequest *pb, sk_err *err)
{
	switch (pb->op_case) {
	case SKEIN__V1__CLI_REQUEST__OP_ABORT:
		out->op = SK_CLI_ABORT;
		if (pb->abort == NULL)
			return sk_err_set(err, SK_EDECODE, "decode request: empty abort");
		wire_copy_text(out->reason, sizeof(out->reason), pb->abort->reason);
		if (wire_copy_id(out->rollout_id, sizeof(out->rollout_id),
			pb->abort->rollout_id, "rollout id", err) != SK_OK)
			return err->code;
		return ids_from_pb(&out->regions[0][0], SK_NAME_MAX,
		    SK_OP_REGIONS_MAX, &out->nregions, pb->abort->regions,
		    pb->abort->n_regions, "region", err);
	case SKEIN__V1__CLI_REQUEST__OP_STOP:
		out->op = SK_CLI_STOP;
		if (pb->stop == NULL)
			return sk_err_set(err, SK_EDECODE, "decode request: empty stop");
		out->stop_action = (int)pb->stop->action;
		if (out->stop_action < SK_STOP_STATUS || out->stop_action > SK_STOP_LIFT)
			return sk_err_set(err, SK_EDECODE,
			    "decode request: unknown stop action %d",
			    out->stop_action);
		wire_copy_text(out->reason, sizeof(out->reason), pb->stop->reason);
		return ids_from_pb(&out->except[0][0], SK_ID_MAX,
		    SK_LINE_EXCEPT_MAX, &out->nexcept, pb->stop->except,
		    pb->stop->n_except, "rollout id", err);
	default:
		return sk_err_set(err, SK_EDECODE, "decode request: no operation");
	}
}

int
wire_pause_regions_from_pb(
    sk_cli_request *out, const Skein__V1__PauseRequest *pb, sk_err *err)
{
	return ids_from_pb(&out->regions[0][0], SK_NAME_MAX, SK_OP_REGIONS_MAX,
	    &out->nregions, pb->regions, pb->n_regions, "region", err);
}

/* ---- a view's controls, region pauses and leftovers ---------------------- */

int
wire_view_stopline_to_pb(stopline_view_store *s, Skein__V1__RolloutView *rv,
    const sk_rollout_view *v)
{
	memset(s, 0, sizeof(*s));
	s->ctl = calloc(v->ncontrols + 1, sizeof(*s->ctl));
	s->ctlp = calloc(v->ncontrols + 1, sizeof(*s->ctlp));
	s->ctl_regions =
	    calloc(v->ncontrols * SK_OP_REGIONS_MAX + 1, sizeof(char *));
	s->rp = calloc(v->nregion_pauses + 1, sizeof(*s->rp));
	s->rpp = calloc(v->nregion_pauses + 1, sizeof(*s->rpp));
	s->left = calloc(v->nleft + 1, sizeof(*s->left));
	s->leftp = calloc(v->nleft + 1, sizeof(*s->leftp));
	if (!s->ctl || !s->ctlp || !s->ctl_regions || !s->rp || !s->rpp ||
	    !s->left || !s->leftp)
		return SK_ENOMEM;
	for (size_t i = 0; i < v->ncontrols; i++) {
		Skein__V1__ControlView *c = &s->ctl[i];
		const sk_control_view *cv = &v->controls[i];
		char **regs = &s->ctl_regions[i * SK_OP_REGIONS_MAX];

		skein__v1__control_view__init(c);
		c->kind = (Skein__V1__CommandKind)cv->kind;
		c->actor = (char *)cv->actor;
		c->actor_key = (char *)cv->actor_key;
		c->at_unix_ms = cv->at_ms;
		c->reason = (char *)cv->reason;
		c->line = cv->line;
		for (size_t k = 0; k < cv->nregions && k < SK_OP_REGIONS_MAX; k++)
			regs[k] = (char *)cv->regions[k];
		c->regions = regs;
		c->n_regions = cv->nregions;
		s->ctlp[i] = c;
	}
	for (size_t i = 0; i < v->nregion_pauses; i++) {
		Skein__V1__RegionPauseView *p = &s->rp[i];

		skein__v1__region_pause_view__init(p);
		p->region = (char *)v->region_pauses[i].region;
		p->by = (char *)v->region_pauses[i].by;
		p->by_key = (char *)v->region_pauses[i].by_key;
		p->at_unix_ms = v->region_pauses[i].at_ms;
		p->reason = (char *)v->region_pauses[i].reason;
		s->rpp[i] = p;
	}
	for (size_t i = 0; i < v->nleft; i++) {
		Skein__V1__LeftView *l = &s->left[i];

		skein__v1__left_view__init(l);
		l->region = (char *)v->left[i].region;
		l->database = (char *)v->left[i].database;
		l->state = (char *)v->left[i].state;
		l->steps_done = v->left[i].steps_done;
		l->steps_total = v->left[i].steps_total;
		l->step = (char *)v->left[i].step;
		l->step_finished = v->left[i].step_finished;
		s->leftp[i] = l;
	}
	rv->controls = s->ctlp;
	rv->n_controls = v->ncontrols;
	rv->region_pauses = s->rpp;
	rv->n_region_pauses = v->nregion_pauses;
	rv->paused_by_line = v->paused_by_line;
	rv->left = s->leftp;
	rv->n_left = v->nleft;
	return SK_OK;
}

void
wire_view_stopline_store_fini(stopline_view_store *s)
{
	free(s->ctl);
	free(s->ctlp);
	free(s->ctl_regions);
	free(s->rp);
	free(s->rpp);
	free(s->left);
	free(s->leftp);
	memset(s, 0, sizeof(*s));
}

static int
control_from_pb(sk_control_view *c, const Skein__V1__ControlView *pb, sk_err *err)
{
	c->kind = (int)pb->kind;
	c->at_ms = pb->at_unix_ms;
	c->line = pb->line;
	wire_copy_text(c->actor, sizeof(c->actor), pb->actor);
	wire_copy_text(c->actor_key, sizeof(c->actor_key), pb->actor_key);
	wire_copy_text(c->reason, sizeof(c->reason), pb->reason);
	if (pb->n_regions > SK_OP_REGIONS_MAX)
		return sk_err_set(err, SK_EDECODE,
		    "decode rollout view: a control names %zu regions", pb->n_regions);
	for (size_t k = 0; k < pb->n_regions; k++)
		if (wire_copy_id(c->regions[k], sizeof(c->regions[k]),
			pb->regions[k], "region", err) != SK_OK)
			return err->code;
	c->nregions = pb->n_regions;
	return SK_OK;
}

int
wire_view_stopline_from_pb(
    sk_rollout_view *v, const Skein__V1__RolloutView *pb, sk_err *err)
{
	v->paused_by_line = pb->paused_by_line;
	if (pb->n_controls > WIRE_MAX_ITEMS || pb->n_region_pauses > WIRE_MAX_ITEMS ||
	    pb->n_left > WIRE_MAX_ITEMS * 16)
		return sk_err_set(err, SK_EDECODE, "decode rollout view: too large");
	if ((pb->n_controls > 0 &&
		(v->controls = calloc(pb->n_controls, sizeof(*v->controls))) == NULL) ||
	    (pb->n_region_pauses > 0 &&
		(v->region_pauses = calloc(pb->n_region_pauses,
		     sizeof(*v->region_pauses))) == NULL) ||
	    (pb->n_left > 0 && (v->left = calloc(pb->n_left, sizeof(*v->left))) == NULL))
		return sk_err_set(err, SK_ENOMEM, "decode rollout view: out of memory");
	v->ncontrols = pb->n_controls;
	v->nregion_pauses = pb->n_region_pauses;
	v->nleft = pb->n_left;
	for (size_t i = 0; i < pb->n_controls; i++)
		if (control_from_pb(&v->controls[i], pb->controls[i], err) != SK_OK)
			return err->code;
	for (size_t i = 0; i < pb->n_region_pauses; i++) {
		sk_region_pause_view *p = &v->region_pauses[i];
		const Skein__V1__RegionPauseView *pp = pb->region_pauses[i];

		if (wire_copy_id(p->region, sizeof(p->region), pp->region,
			"region", err) != SK_OK)
			return err->code;
		wire_copy_text(p->by, sizeof(p->by), pp->by);
		wire_copy_text(p->by_key, sizeof(p->by_key), pp->by_key);
		wire_copy_text(p->reason, sizeof(p->reason), pp->reason);
		p->at_ms = pp->at_unix_ms;
	}
	for (size_t i = 0; i < pb->n_left; i++) {
		sk_left_view *l = &v->left[i];
		const Skein__V1__LeftView *lp = pb->left[i];

		if (wire_copy_id(l->region, sizeof(l->region), lp->region,
			"region", err) != SK_OK ||
		    wire_copy_id(l->database, sizeof(l->database), lp->database,
			"database", err) != SK_OK ||
		    wire_copy_id(l->step, sizeof(l->step), lp->step, "step", err) != SK_OK)
			return err->code;
		wire_copy_text(l->state, sizeof(l->state), lp->state);
		l->steps_done = lp->steps_done;
		l->steps_total = lp->steps_total;
		l->step_finished = lp->step_finished;
	}
	return SK_OK;
}

void
wire_view_stopline_fini(sk_rollout_view *v)
{
	free(v->controls);
	free(v->region_pauses);
	free(v->left);
	v->controls = NULL;
	v->region_pauses = NULL;
	v->left = NULL;
	v->ncontrols = v->nregion_pauses = v->nleft = 0;
}

/* ---- the line in an answer ------------------------------------------------ */

void
wire_line_to_pb(stopline_line_store *s, Skein__V1__CliResponse *pb,
    const sk_cli_response *m)
{
	const sk_line_view *l = &m->line;

	if (!m->has_line)
		return;
	skein__v1__line_view__init(&s->lv);
	s->lv.stopped = l->stopped;
	s->lv.by = (char *)l->by;
	s->lv.by_key = (char *)l->by_key;
	s->lv.since_unix_ms = l->since_ms;
	s->lv.reason = (char *)l->reason;
	for (size_t i = 0; i < l->nexcept && i < SK_LINE_EXCEPT_MAX; i++)
		s->except[i] = (char *)l->except[i];
	s->lv.except = s->except;
	s->lv.n_except = l->nexcept;
	for (size_t i = 0; i < l->npaused && i < SK_LINE_PAUSED_MAX; i++)
		s->paused[i] = (char *)l->paused[i];
	s->lv.paused = s->paused;
	s->lv.n_paused = l->npaused;
	pb->line = &s->lv;
}

int
wire_line_from_pb(sk_cli_response *out, const Skein__V1__CliResponse *pb, sk_err *err)
{
	const Skein__V1__LineView *lv = pb->line;
	sk_line_view *l = &out->line;
	size_t n;

	if (lv == NULL)
		return SK_OK;
	out->has_line = true;
	l->stopped = lv->stopped;
	l->since_ms = lv->since_unix_ms;
	wire_copy_text(l->by, sizeof(l->by), lv->by);
	wire_copy_text(l->by_key, sizeof(l->by_key), lv->by_key);
	wire_copy_text(l->reason, sizeof(l->reason), lv->reason);
	if (ids_from_pb(&l->except[0][0], SK_ID_MAX, SK_LINE_EXCEPT_MAX,
		&l->nexcept, lv->except, lv->n_except, "rollout id", err) != SK_OK)
		return err->code;
	n = lv->n_paused < SK_LINE_PAUSED_MAX ? lv->n_paused : SK_LINE_PAUSED_MAX;
	return ids_from_pb(&l->paused[0][0], SK_ID_MAX, SK_LINE_PAUSED_MAX,
	    &l->npaused, lv->paused, n, "rollout id", err);
}

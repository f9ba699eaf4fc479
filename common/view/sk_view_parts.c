/* sk_view_parts: the pieces of a rollout's JSON object (sk_view.h): its
 * safeguards and who set them aside, the operators' controls, the phase
 * gates, flags and backfill progress, and the few facts in words that both
 * the CLI's text and the JSON show (what a gate waits for). */
#include "sk_view.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sk_json.h"
#include "sk_window.h"

bool
sk_view_mode_undoes(int mode)
{
	return mode == SK_MODE_ROLLBACK;
}

bool
sk_view_backup_skipped(const sk_rollout_view *v)
{
	return sk_view_mode_undoes(v->mode) &&
	    (v->no_backup || v->plan_no_rollback_backup);
}

int
sk_view_decision_json(json_t *obj, const sk_rollout_view *v)
{
	json_t *b = json_null(), *r = json_null();
	int bad = 0;

	if (sk_view_mode_undoes(v->mode)) {
		b = json_object();
		bad |= json_object_set_new(
		    b, "skipped", json_boolean(sk_view_backup_skipped(v)));
		bad |= json_object_set_new(b, "skipped_by",
		    json_string(v->no_backup           ? "--no-backup" :
			    v->plan_no_rollback_backup ? "rollback_backup: false" :
							 ""));
		bad |= json_object_set_new(b, "operator",
		    json_string(v->no_backup ? v->started_by : ""));
		bad |= json_object_set_new(b, "operator_key",
		    json_string(v->no_backup ? v->started_by_key : ""));
	}
	if (v->reapply) {
		r = json_object();
		bad |= json_object_set_new(r, "of_rollout", json_string(v->reapply_of));
		bad |= json_object_set_new(r, "operator", json_string(v->started_by));
		bad |= json_object_set_new(
		    r, "operator_key", json_string(v->started_by_key));
	}
	bad |= json_object_set_new(obj, "backup_before_revert", b);
	bad |= json_object_set_new(obj, "reapply", r);
	return bad ? -1 : 0;
}

int
sk_view_opctl_json(json_t *obj, const sk_rollout_view *v)
{
	json_t *p = json_null(), *t = json_null();
	int bad = 0;

	if (v->paused) {
		p = json_object();
		bad |= json_object_set_new(p, "operator", json_string(v->paused_by));
		bad |= json_object_set_new(
		    p, "operator_key", json_string(v->paused_by_key));
		bad |= json_object_set_new(p, "at_ms", json_integer(v->paused_ms));
		bad |= json_object_set_new(p, "reason", json_string(v->pause_reason));
	}
	if (v->has_tune) {
		t = json_object();
		if (v->tune.has_rate)
			bad |= json_object_set_new(t, "max_rows_per_second",
			    v->tune.max_rows_per_second > 0 ?
				json_real(v->tune.max_rows_per_second) :
				json_string("none"));
		if (v->tune.batch_min > 0)
			bad |= json_object_set_new(
			    t, "batch_min", json_integer(v->tune.batch_min));
		if (v->tune.batch_max > 0)
			bad |= json_object_set_new(
			    t, "batch_max", json_integer(v->tune.batch_max));
	}
	bad |= json_object_set_new(obj, "paused", p);
	bad |= json_object_set_new(obj, "tune", t);
	return bad ? -1 : 0;
}

const char *
sk_view_control_action(const sk_control_view *c)
{
	switch (c->kind) {
	case SK_CMD_PAUSE:
		return c->line ? "stop" : "pause";
	case SK_CMD_RESUME:
		return c->line ? "lift" : "resume";
	case SK_CMD_TUNE:
		return "tune";
	case SK_CMD_ABORT:
		return "abort";
	default:
		return "unknown";
	}
}

bool
sk_view_any_abort(const sk_rollout_view *v)
{
	if (strcmp(v->state, "aborted") == 0)
		return true;
	for (size_t i = 0; i < v->ncontrols; i++)
		if (v->controls[i].kind == SK_CMD_ABORT)
			return true;
	return false;
}

int
sk_view_control_json(json_t *obj, const sk_rollout_view *v)
{
	json_t *ctl = json_array(), *rp = json_array(), *left = json_array();
	int bad = ctl == NULL || rp == NULL || left == NULL;

	for (size_t i = 0; !bad && i < v->ncontrols; i++) {
		const sk_control_view *c = &v->controls[i];
		json_t *o = json_object(), *regs = json_array();

		for (size_t k = 0; k < c->nregions; k++)
			bad |= json_array_append_new(
			    regs, json_string(c->regions[k]));
		bad |= json_object_set_new(
		    o, "action", json_string(sk_view_control_action(c)));
		bad |= json_object_set_new(o, "operator", json_string(c->actor));
		bad |= json_object_set_new(
		    o, "operator_key", json_string(c->actor_key));
		bad |= json_object_set_new(o, "at_ms", json_integer(c->at_ms));
		bad |= json_object_set_new(o, "reason", json_string(c->reason));
		bad |= json_object_set_new(o, "regions", regs);
		bad |= json_array_append_new(ctl, o);
	}
	for (size_t i = 0; !bad && i < v->nregion_pauses; i++) {
		const sk_region_pause_view *p = &v->region_pauses[i];
		json_t *o = json_object();

		bad |= json_object_set_new(o, "region", json_string(p->region));
		bad |= json_object_set_new(o, "operator", json_string(p->by));
		bad |= json_object_set_new(o, "operator_key", json_string(p->by_key));
		bad |= json_object_set_new(o, "at_ms", json_integer(p->at_ms));
		bad |= json_object_set_new(o, "reason", json_string(p->reason));
		bad |= json_array_append_new(rp, o);
	}
	for (size_t i = 0; !bad && i < v->nleft; i++) {
		const sk_left_view *l = &v->left[i];
		json_t *o = json_object();

		bad |= json_object_set_new(o, "region", json_string(l->region));
		bad |= json_object_set_new(o, "database", json_string(l->database));
		bad |= json_object_set_new(o, "state", json_string(l->state));
		bad |= json_object_set_new(
		    o, "steps_done", json_integer(l->steps_done));
		bad |= json_object_set_new(
		    o, "steps_total", json_integer(l->steps_total));
		bad |= json_object_set_new(o, "step", json_string(l->step));
		bad |= json_object_set_new(
		    o, "step_finished", json_boolean(l->step_finished));
		bad |= json_array_append_new(left, o);
	}
	bad |= json_object_set_new(obj, "control", ctl);
	bad |= json_object_set_new(obj, "region_pauses", rp);
	bad |= json_object_set_new(obj, "paused_by_line",
	    json_boolean(v->paused && v->paused_by_line));
	bad |= json_object_set_new(obj, "left", left);
	if (sk_view_any_abort(v)) {
		char cmd[SK_ID_MAX + 32];

		snprintf(cmd, sizeof(cmd), "skein rollout rollback %s", v->id);
		bad |= json_object_set_new(obj, "rollback_command", json_string(cmd));
	}
	return bad ? -1 : 0;
}

void
sk_view_gate_waits(const sk_rollout_view *v, char *buf, size_t len)
{
	const sk_gate_view *g = &v->gate;

	buf[0] = '\0';
	if (!v->has_gate)
		return;
	if (strcmp(g->waiting_for, "approval") == 0)
		snprintf(buf, len, "approval %u/%u", g->approvals, g->approvals_needed);
	else if (strcmp(g->waiting_for, "window") == 0) {
		char when[96];

		sk_window_local(g->window_opens_ms, g->window_tz, when, sizeof(when));
		snprintf(buf, len, "window opens %s", when);
	} else if (strcmp(g->waiting_for, "soak") == 0)
		snprintf(buf, len, "soak %" PRId64 "/%" PRId64 " s",
		    g->soak_served_ms / 1000, g->soak_ms / 1000);
	else if (strcmp(g->waiting_for, "samples") == 0)
		snprintf(buf, len, "samples %u/%u", g->samples, g->min_samples);
	else if (strcmp(g->outcome, "paused") == 0)
		snprintf(buf, len, "gate paused");
}

static json_t *
judged_json(const sk_gate_judged *j)
{
	return json_pack("{s:s,s:s,s:s,s:f,s:f,s:b,s:b,s:i,s:I}", "gate",
	    j->gate, "region", j->region, "database", j->database, "value",
	    j->value, "threshold", j->threshold, "passed", j->passed, "erred",
	    j->erred, "samples", (int)j->samples, "at_ms", (json_int_t)j->at_ms);
}

static json_t *
gate_json(const sk_gate_view *g)
{
	json_t *o = json_object(), *judged = json_array(), *by = json_array();

	for (size_t i = 0; i < g->njudged; i++)
		json_array_append_new(judged, judged_json(&g->judged[i]));
	for (size_t i = 0; i < g->napproved_by; i++)
		json_array_append_new(by, json_string(g->approved_by[i]));
	json_object_set_new(o, "phase", json_string(g->phase));
	json_object_set_new(o, "waiting_for", json_string(g->waiting_for));
	json_object_set_new(o, "outcome", json_string(g->outcome));
	json_object_set_new(o, "soak_served_ms", json_integer(g->soak_served_ms));
	json_object_set_new(o, "soak_ms", json_integer(g->soak_ms));
	json_object_set_new(o, "samples", json_integer(g->samples));
	json_object_set_new(o, "min_samples", json_integer(g->min_samples));
	json_object_set_new(o, "judged", judged);
	json_object_set_new(o, "approvals", json_integer(g->approvals));
	json_object_set_new(o, "approvals_needed", json_integer(g->approvals_needed));
	json_object_set_new(o, "approved_by", by);
	json_object_set_new(o, "window_opens_ms", json_integer(g->window_opens_ms));
	json_object_set_new(o, "window_tz", json_string(g->window_tz));
	json_object_set_new(o, "started_ms", json_integer(g->started_ms));
	json_object_set_new(o, "ended_ms", json_integer(g->ended_ms));
	return o;
}

void
sk_view_gate_json(json_t *o, const sk_rollout_view *v)
{
	json_t *approvals = json_array(), *gates = json_array();
	char waits[160];

	sk_view_gate_waits(v, waits, sizeof(waits));
	json_object_set_new(
	    o, "gate", v->has_gate ? gate_json(&v->gate) : json_null());
	json_object_set_new(o, "waits_for", json_string(waits));
	for (size_t i = 0; i < v->napprovals; i++) {
		const sk_approval_view *a = &v->approvals[i];

		json_array_append_new(approvals,
		    json_pack("{s:s,s:s,s:s,s:I}", "phase", a->phase,
			"operator", a->operator_name, "key_id", a->key_id,
			"at_ms", (json_int_t)a->at_ms));
	}
	for (size_t i = 0; i < v->ngates; i++)
		json_array_append_new(gates, gate_json(&v->gates[i]));
	json_object_set_new(o, "approvals", approvals);
	json_object_set_new(o, "gates", gates);
}

size_t
sk_view_flag_flipped(const sk_rollout_view *v)
{
	size_t n = 0;

	for (size_t i = 0; i < v->nflags_first; i++)
		n += strcmp(v->flags_first[i].state, "succeeded") == 0;
	return n;
}

int
sk_view_flag_json(json_t *o, const sk_rollout_view *v)
{
	json_t *ff, *regions;
	int bad = 0;

	if (v->nflags_first == 0)
		return 0;
	ff = json_object();
	regions = json_array();
	if (ff == NULL || regions == NULL) {
		json_decref(ff);
		json_decref(regions);
		return -1;
	}
	bad |= json_object_set_new(
	    ff, "flipped", json_integer((json_int_t)sk_view_flag_flipped(v)));
	bad |= json_object_set_new(
	    ff, "regions_total", json_integer((json_int_t)v->nflags_first));
	for (size_t i = 0; i < v->nflags_first; i++) {
		const sk_region_view *r = &v->flags_first[i];
		json_t *x = json_object();

		if (x == NULL)
			return -1;
		bad |= json_object_set_new(x, "name", json_string(r->name));
		bad |= json_object_set_new(x, "state", json_string(r->state));
		bad |= json_object_set_new(x, "detail", json_string(r->detail));
		bad |= json_object_set_new(x, "error",
		    r->error.code != SK_OK ? json_string(r->error.msg) : json_null());
		bad |= json_array_append_new(regions, x);
	}
	bad |= json_object_set_new(ff, "regions", regions);
	bad |= json_object_set_new(o, "flags_first", ff);
	return bad ? -1 : 0;
}

bool
sk_view_progress_has(const sk_database_view *d)
{
	return d->progress_step[0] != '\0';
}

int
sk_view_progress_percent(const sk_database_view *d)
{
	double pct;

	if (d->rows_total <= 0)
		return -1;
	if (d->rows_scanned <= 0)
		return 0;
	if (d->rows_scanned >= d->rows_total)
		return 99;
	/* In double: rows_scanned * 100 may not fit in 64 bits. Cut, not
	 * rounded: 99.6% is not done. */
	pct = (double)d->rows_scanned * 100.0 / (double)d->rows_total;
	return pct > 99 ? 99 : (int)pct;
}

bool
sk_view_rate_known(double rate)
{
	return isfinite(rate) && rate > 0 && rate < 9e18;
}

json_t *
sk_view_progress_json(const sk_database_view *d)
{
	json_t *o;
	int bad = 0;

	if (!sk_view_progress_has(d))
		return json_null();
	o = json_object();
	if (o == NULL)
		return NULL;
	bad |= json_object_set_new(o, "step", sk_json_str(d->progress_step));
	bad |= json_object_set_new(o, "kind", sk_json_str(d->progress_kind));
	bad |= json_object_set_new(o, "rows_done", json_integer(d->rows_done));
	bad |= json_object_set_new(o, "rows_scanned", json_integer(d->rows_scanned));
	bad |= json_object_set_new(o, "rows_total", json_integer(d->rows_total));
	bad |= json_object_set_new(
	    o, "percent", json_integer(sk_view_progress_percent(d)));
	/* JSON has no NaN or infinity: a rate that is not a figure is 0. */
	bad |= json_object_set_new(
	    o, "rate", json_real(sk_view_rate_known(d->rate) ? d->rate : 0.0));
	bad |= json_object_set_new(o, "eta_ms", json_integer(d->eta_ms));
	bad |= json_object_set_new(o, "batch_size", json_integer(d->batch_size));
	bad |= json_object_set_new(o, "batches", json_integer(d->batches));
	bad |= json_object_set_new(o, "paused", json_boolean(d->throttle[0] != '\0'));
	if (d->move_phase[0] != '\0') { /* moves */
		json_t *m = json_object();

		if (m == NULL)
			bad = -1;
		else {
			bad |= json_object_set_new(
			    m, "phase", sk_json_str(d->move_phase));
			bad |= json_object_set_new(
			    m, "table", sk_json_str(d->move_table));
			bad |= json_object_set_new(
			    m, "from", sk_json_str(d->move_from));
			bad |= json_object_set_new(m, "to", sk_json_str(d->move_to));
			bad |= json_object_set_new(m, "bytes", json_integer(d->bytes));
			bad |= json_object_set_new(
			    m, "bytes_total", json_integer(d->bytes_total));
			bad |= json_object_set_new(
			    m, "lag_ms", json_integer(d->lag_ms));
			bad |= json_object_set_new(
			    m, "changes", json_integer(d->changes));
			bad |= json_object_set_new(
			    m, "freeze_ms", json_integer(d->freeze_ms));
			bad |= json_object_set_new(o, "move", m);
		}
	}
	bad |= json_object_set_new(o, "throttle", sk_json_str(d->throttle));
	bad |= json_object_set_new(o, "throttled_ms", json_integer(d->throttled_ms));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* sk_view_report_json: the execution record as one JSON object, with the
 * keys documented in docs/operations.md; keys are added, never renamed.
 * `skein rollout report --format json` and the coordinator's
 * /api/v1/rollouts/{id}/report print it. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sk_view.h"
#include "sk_view_flag.h"
#include "sk_view_move.h"
#include "sk_view_record.h"

/* ---- JSON --------------------------------------------------------------- */

static json_t *
j_err(const sk_err *e)
{
	json_t *o;

	if (e == NULL || e->code == SK_OK)
		return json_null();
	o = json_object();
	json_object_set_new(o, "code", json_string(sk_code_name(e->code)));
	json_object_set_new(o, "sqlstate", json_string(e->sqlstate));
	json_object_set_new(o, "message", json_string(e->msg));
	json_object_set_new(o, "detail", json_string(e->detail));
	json_object_set_new(o, "hint", json_string(e->hint));
	return o;
}

static json_t *
j_check(const sk_report *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(r->check.name));
	json_object_set_new(o, "when", json_string(r->check.when));
	json_object_set_new(o, "step", json_string(r->step_id));
	json_object_set_new(o, "passed", json_boolean(r->check.passed));
	json_object_set_new(o, "seen", json_string(r->check.seen));
	json_object_set_new(o, "expected", json_string(r->check.expected));
	json_object_set_new(o, "at_ms", json_integer(r->at_ms));
	return o;
}

static json_t *
j_blocker(const sk_blocker *b)
{
	json_t *o = json_object();

	json_object_set_new(o, "pid", json_integer(b->pid));
	json_object_set_new(o, "state", json_string(b->state));
	json_object_set_new(o, "age_ms", json_integer(b->age_ms));
	json_object_set_new(o, "query", json_string(b->query));
	json_object_set_new(o, "user", json_string(b->user));
	json_object_set_new(o, "application", json_string(b->application));
	return o;
}

/* Once per pid (see sk_rec_blocker): at_ms is when it was first named,
 * last_seen_ms the last time, seen in how many reports. */
static json_t *
j_blockers(const sk_rec_locks *l)
{
	json_t *blockers = json_array();

	for (size_t i = 0; i < l->nblockers; i++) {
		const sk_rec_blocker *e = &l->blockers[i];
		json_t *b = j_blocker(e->b);

		json_object_set_new(b, "at_ms", json_integer(e->first_ms));
		json_object_set_new(b, "last_seen_ms", json_integer(e->last_ms));
		json_object_set_new(b, "seen", json_integer(e->seen));
		json_array_append_new(blockers, b);
	}
	return blockers;
}

/* A backfill's figures (null for another kind, or a backfill that did
 * not run: skipped, rehearsed, reverted): rows, duration_ms,
 * batches, rows_per_second (its average), throttled_ms and throttled_by,
 * an object of reason: ms in the agent's order (empty until its end). */
static json_t *
j_backfill(const sk_rec_step *st)
{
	sk_rec_throttle t[SK_REC_THROTTLES_MAX];
	size_t n;
	json_t *o, *by;

	if (!sk_rec_step_is_backfill(st))
		return json_null();
	o = json_object();
	by = json_object();
	n = sk_rec_throttles_parse(st->throttled_by, t, SK_REC_THROTTLES_MAX);
	for (size_t i = 0; i < n; i++)
		json_object_set_new(by, t[i].reason, json_integer(t[i].ms));
	json_object_set_new(o, "rows", json_integer(st->rows));
	json_object_set_new(o, "duration_ms", json_integer(sk_rec_backfill_ms(st)));
	json_object_set_new(o, "batches", json_integer(st->batches));
	json_object_set_new(o, "rows_per_second", json_real(sk_rec_backfill_rate(st)));
	json_object_set_new(o, "throttled_ms", json_integer(st->throttled_ms));
	json_object_set_new(o, "throttled_by", by);
	return o;
}

static json_t *
j_step(const sk_rec_step *st)
{
	json_t *o = json_object(), *checks = json_array();

	json_object_set_new(o, "id", json_string(st->id));
	json_object_set_new(
	    o, "result", json_string(st->result ? st->result : "not-run"));
	json_object_set_new(o, "started_ms", json_integer(st->start_ms));
	json_object_set_new(o, "finished_ms", json_integer(st->end_ms));
	json_object_set_new(o, "duration_ms", json_integer(st->duration_ms));
	json_object_set_new(o, "attempts", json_integer(sk_rec_step_attempts(st)));
	json_object_set_new(o, "lock_waits", json_integer(sk_rec_step_lock_waits(st)));
	json_object_set_new(o, "lock_wait_ms", json_integer(st->locks.lock_wait_ms));
	json_object_set_new(o, "rows", json_integer(st->rows));
	for (size_t i = 0; i < st->checks.n; i++)
		json_array_append_new(checks, j_check(st->checks.v[i]));
	json_object_set_new(o, "checks", checks);
	json_object_set_new(o, "blockers", j_blockers(&st->locks));
	json_object_set_new(o, "error", j_err(st->error));
	json_object_set_new(o, "detail", json_string(st->detail ? st->detail : ""));
	json_object_set_new(o, "backfill", j_backfill(st));
	return o;
}

static void
emit_json(void *arg, const char *text)
{
	json_array_append_new(arg, json_string(text));
}

static json_t *
j_db(int mode, const sk_rec_db *d)
{
	json_t *o = json_object(), *checks = json_array(), *steps = json_array();
	json_t *reasons = json_array(), *nr = json_array();

	json_object_set_new(o, "name", json_string(d->name));
	json_object_set_new(o, "verdict", json_string(sk_rec_db_verdict(mode, d)));
	json_object_set_new(o, "started_ms", json_integer(d->start_ms));
	json_object_set_new(o, "finished_ms", json_integer(d->end_ms));
	json_object_set_new(o, "duration_ms",
	    json_integer(
		d->start_ms > 0 && d->end_ms > 0 ? d->end_ms - d->start_ms : 0));
	json_object_set_new(o, "error", j_err(d->error));
	if (d->backup != NULL) {
		const sk_backup_info *k = &d->backup->backup;
		json_t *b = json_object();

		json_object_set_new(b, "path", json_string(k->path));
		json_object_set_new(b, "size", json_integer(k->size));
		json_object_set_new(b, "duration_ms", json_integer(k->duration_ms));
		json_object_set_new(
		    b, "restore_command", json_string(k->restore_command));
		json_object_set_new(o, "backup", b);
	} else {
		json_object_set_new(o, "backup", json_null());
	}
	for (size_t i = 0; i < d->checks.n; i++)
		json_array_append_new(checks, j_check(d->checks.v[i]));
	json_object_set_new(o, "checks", checks);
	/* The phase checks' lock waits (outside any step); null if none. */
	if (sk_rec_db_has_phase_locks(d)) {
		json_t *p = json_object();

		json_object_set_new(
		    p, "lock_waits", json_integer(d->phase_locks.lock_waits));
		json_object_set_new(p, "lock_wait_ms",
		    json_integer(d->phase_locks.lock_wait_ms));
		json_object_set_new(p, "blockers", j_blockers(&d->phase_locks));
		json_object_set_new(o, "phase_lock_waits", p);
	} else {
		json_object_set_new(o, "phase_lock_waits", json_null());
	}
	for (size_t s = 0; s < d->nsteps; s++) {
		json_array_append_new(steps, j_step(&d->steps[s]));
		if (d->steps[s].result &&
		    strcmp(d->steps[s].result, "not-rehearsable") == 0) {
			json_t *x = json_object();

			json_object_set_new(x, "step", json_string(d->steps[s].id));
			json_object_set_new(x, "detail",
			    json_string(d->steps[s].detail ? d->steps[s].detail : ""));
			json_array_append_new(nr, x);
		}
	}
	json_object_set_new(o, "steps", steps);
	if (d->end_event == SK_EV_DB_FAILED)
		sk_rec_db_reasons(d, emit_json, reasons);
	json_object_set_new(o, "reasons", reasons);
	json_object_set_new(o, "not_rehearsable", nr);
	return o;
}

static json_t *
j_report(const sk_rec_src *src, const sk_rec_model *m)
{
	const sk_rollout_view *v = src->view;
	json_t *root = json_object(), *ro = json_object(), *waivers = json_array();
	json_t *regions = json_array(), *notes = json_array();

	json_object_set_new(root, "format", json_integer(1));
	json_object_set_new(ro, "id", json_string(v->id));
	json_object_set_new(ro, "mode", json_string(sk_mode_name(v->mode)));
	json_object_set_new(ro, "of_rollout", json_string(v->of_rollout));
	json_object_set_new(ro, "started_by", json_string(v->started_by));
	json_object_set_new(ro, "started_by_key", json_string(v->started_by_key));
	json_object_set_new(ro, "plan_id", json_string(v->plan_id));
	json_object_set_new(ro, "plan_name", json_string(v->plan_name));
	json_object_set_new(ro, "state", json_string(v->state));
	json_object_set_new(ro, "reason", json_string(v->reason));
	if (sk_view_decision_json(ro, v) != 0 || sk_view_control_json(ro, v) != 0) { /* stopline */
		json_decref(root);
		json_decref(ro);
		json_decref(waivers);
		json_decref(regions);
		json_decref(notes);
		return NULL;
	}
	sk_view_gate_json(ro, v);
	json_object_set_new(ro, "created_ms", json_integer(v->created_ms));
	json_object_set_new(ro, "finished_ms", json_integer(v->finished_ms));
	json_object_set_new(ro, "duration_ms",
	    json_integer(v->finished_ms > 0 ? v->finished_ms - v->created_ms : 0));
	json_object_set_new(root, "rollout", ro);
	for (size_t s = 0; src->plan != NULL && s < src->plan->nsteps; s++)
		for (size_t w = 0; w < src->plan->steps[s].nwaivers; w++) {
			json_t *x = json_object();

			json_object_set_new(
			    x, "step", json_string(src->plan->steps[s].id));
			json_object_set_new(x, "rule",
			    json_string(src->plan->steps[s].waivers[w].rule));
			json_object_set_new(x, "reason",
			    json_string(src->plan->steps[s].waivers[w].reason));
			json_array_append_new(waivers, x);
		}
	json_object_set_new(root, "waivers", waivers);
	for (size_t i = 0; i < m->nregions; i++) {
		const sk_rec_region *g = &m->regions[i];
		json_t *r = json_object(), *dbs = json_array();

		json_object_set_new(r, "name", json_string(g->name));
		json_object_set_new(r, "phase", json_string(g->phase));
		json_object_set_new(
		    r, "state", json_string(g->view ? g->view->state : ""));
		json_object_set_new(r, "verdict",
		    json_string(sk_rec_region_verdict(v->mode, g)));
		json_object_set_new(
		    r, "error", j_err(g->view ? &g->view->error : NULL));
		for (size_t k = 0; k < g->ndbs; k++)
			json_array_append_new(dbs, j_db(v->mode, &g->dbs[k]));
		json_object_set_new(r, "databases", dbs);
		json_array_append_new(regions, r);
	}
	json_object_set_new(root, "regions", regions);
	json_object_set_new(root, "flags", sk_view_flag_report_json(src)); /* flags */
	json_object_set_new(root, "moves", sk_view_move_report_json(src)); /* moves */
	if (strcmp(v->state, "running") == 0)
		json_array_append_new(notes, json_string(SK_REC_RUNNING_NOTE));
	for (size_t i = 0; i < v->nevents; i++)
		json_array_append_new(notes, json_string(v->events[i].text));
	json_object_set_new(root, "notes", notes);
	json_object_set_new(root, "reports", json_integer((json_int_t)src->nreports));
	return root;
}

json_t *
sk_view_report_json(const sk_rec_src *src)
{
	json_t *root;
	sk_rec_model m;

	sk_rec_build(&m, src);
	root = m.oom ? NULL : j_report(src, &m);
	sk_rec_free(&m);
	return root;
}

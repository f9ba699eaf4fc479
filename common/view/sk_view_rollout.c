/* sk_view_rollout: a rollout as JSON, the one schema `skein rollout
 * status --json`, `skein rollout list --json` and the coordinator's HTTP
 * API (coord_http) all print, rendered from the views the control
 * socket's replies decode into (sk_view.h). */
#include "sk_view.h"

#include <stdio.h>
#include <string.h>

#include "sk_util.h"

static bool
region_paused(const sk_rollout_view *v, const char *name)
{
	for (size_t i = 0; i < v->nregion_pauses; i++)
		if (strcmp(v->region_pauses[i].region, name) == 0)
			return true;
	return false;
}

/* True if region name of v is running (or was sent the plan). */
static bool
region_running(const sk_rollout_view *v, const char *name)
{
	for (size_t p = 0; p < v->nphases; p++)
		for (size_t i = 0; i < v->phases[p].nregions; i++) {
			const sk_region_view *r = &v->phases[p].regions[i];

			if (strcmp(r->name, name) == 0)
				return strcmp(r->state, "running") == 0 ||
				    strcmp(r->state, "dispatched") == 0;
		}
	return false;
}

/* What v waits for, in words, into buf ("" when it waits for nothing:
 * it has ended well or badly). One place, so that each new kind of wait
 * (a gate's soak, an approval, a window) is one more branch here. */
void
sk_view_waits_for(const sk_rollout_view *v, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (strcmp(v->state, "aborted") == 0) {
		for (size_t p = 0; p < v->nphases; p++)
			for (size_t i = 0; i < v->phases[p].nregions; i++) {
				const sk_region_view *r = &v->phases[p].regions[i];

				if (strcmp(r->state, "running") != 0 &&
				    strcmp(r->state, "dispatched") != 0)
					continue;
				off += (size_t)snprintf(buf + off,
				    off < len ? len - off : 0, "%s%s",
				    off ? ", " : "aborted; still ending its step: ",
				    r->name);
			}
		if (off == 0)
			snprintf(buf, len, "aborted");
		return;
	}
	if (strcmp(v->state, "running") != 0)
		return;
	if (v->paused && v->paused_by_line) {
		snprintf(buf, len, "stopped line: by %s%s%s", v->paused_by,
		    v->pause_reason[0] ? ": " : "", v->pause_reason);
		return;
	}
	if (v->paused) {
		snprintf(buf, len, "pause by %s%s%s", v->paused_by,
		    v->pause_reason[0] ? ": " : "", v->pause_reason);
		return;
	}
	/* A phase gate's wait: soak, approvals, window, samples. */
	sk_view_gate_waits(v, buf, len);
	off = strlen(buf);
	for (size_t i = 0; i < v->nregion_pauses && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off,
		    "%spause in %s by %s", off ? "; " : "",
		    v->region_pauses[i].region, v->region_pauses[i].by);
	/* A scoped abort: its regions still ending their step. */
	for (size_t i = 0; i < v->ncontrols && off < len; i++) {
		const sk_control_view *c = &v->controls[i];

		for (size_t k = 0;
		     c->kind == SK_CMD_ABORT && k < c->nregions && off < len; k++)
			if (region_running(v, c->regions[k]))
				off += (size_t)snprintf(buf + off, len - off,
				    "%sabort in %s by %s (ending its step)",
				    off ? "; " : "", c->regions[k], c->actor);
	}
	if (v->current_phase < v->nphases) {
		const sk_phase_view *ph = &v->phases[v->current_phase];
		size_t n = 0;

		for (size_t i = 0; i < ph->nregions && off < len; i++) {
			const char *s = ph->regions[i].state;

			if ((strcmp(s, "running") != 0 && strcmp(s, "dispatched") != 0 &&
				strcmp(s, "pending") != 0) ||
			    region_paused(v, ph->regions[i].name))
				continue;
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    n++ ? ", " : (off ? "; regions running: " : "regions running: "),
			    ph->regions[i].name);
		}
	}
}

const char *
sk_view_phase_name(const sk_rollout_view *v)
{
	return v->current_phase < v->nphases ? v->phases[v->current_phase].name : "-";
}

/* Every database of region the view lists, ended or not. */
static json_t *
databases_json(const sk_rollout_view *v, const char *region)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < v->ndatabases; i++) {
		const sk_database_view *d = &v->databases[i];
		json_t *o;

		if (strcmp(d->region, region) != 0)
			continue;
		o = json_object();
		json_object_set_new(o, "name", json_string(d->name));
		json_object_set_new(o, "state", json_string(d->state));
		json_object_set_new(o, "step", json_string(d->step));
		json_object_set_new(o, "steps_done", json_integer(d->steps_done));
		json_object_set_new(o, "steps_total", json_integer(d->steps_total));
		json_object_set_new(o, "detail", json_string(d->detail));
		json_object_set_new(o, "blocker_pid", json_integer(d->blocker_pid));
		json_object_set_new(o, "updated_ms", json_integer(d->updated_ms));
		json_object_set_new(o, "backfill", sk_view_progress_json(d));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* Every backup the rollout's agents reported. */
static json_t *
backups_json(const sk_rollout_view *v)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < v->nbackups; i++) {
		const sk_backup_view *b = &v->backups[i];
		json_t *o = json_object();

		json_object_set_new(o, "region", json_string(b->region));
		json_object_set_new(o, "database", json_string(b->database));
		json_object_set_new(o, "path", json_string(b->path));
		json_object_set_new(o, "size", json_integer(b->size));
		json_object_set_new(o, "at_ms", json_integer(b->at_ms));
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *
sk_view_rollout_json(const sk_rollout_view *v)
{
	json_t *o = json_object(), *phases = json_array();

	json_object_set_new(o, "id", json_string(v->id));
	json_object_set_new(o, "plan_id", json_string(v->plan_id));
	json_object_set_new(o, "plan_name", json_string(v->plan_name));
	json_object_set_new(o, "state", json_string(v->state));
	json_object_set_new(o, "mode", json_string(sk_mode_name(v->mode)));
	json_object_set_new(o, "of_rollout", json_string(v->of_rollout));
	json_object_set_new(o, "started_by", json_string(v->started_by));
	json_object_set_new(o, "started_by_key", json_string(v->started_by_key));
	json_object_set_new(o, "current_phase", json_integer(v->current_phase));
	json_object_set_new(o, "created_ms", json_integer(v->created_ms));
	json_object_set_new(o, "finished_ms", json_integer(v->finished_ms));
	json_object_set_new(o, "reason", json_string(v->reason));
	(void)sk_view_decision_json(o, v);
	(void)sk_view_opctl_json(o, v);
	(void)sk_view_control_json(o, v); /* stopline */
	sk_view_gate_json(o, v);
	json_object_set_new(o, "backups", backups_json(v));
	(void)sk_view_flag_json(o, v); /* flags */
	for (size_t p = 0; p < v->nphases; p++) {
		json_t *ph = json_object(), *regions = json_array();

		json_object_set_new(ph, "name", json_string(v->phases[p].name));
		json_object_set_new(ph, "state", json_string(v->phases[p].state));
		for (size_t r = 0; r < v->phases[p].nregions; r++) {
			const sk_region_view *rv = &v->phases[p].regions[r];
			json_t *ro = json_object();

			json_object_set_new(ro, "name", json_string(rv->name));
			json_object_set_new(ro, "state", json_string(rv->state));
			json_object_set_new(ro, "step", json_string(rv->step));
			json_object_set_new(ro, "database", json_string(rv->database));
			json_object_set_new(
			    ro, "steps_done", json_integer(rv->steps_done));
			json_object_set_new(
			    ro, "steps_total", json_integer(rv->steps_total));
			json_object_set_new(ro, "detail", json_string(rv->detail));
			json_object_set_new(
			    ro, "updated_ms", json_integer(rv->updated_ms));
			json_object_set_new(
			    ro, "databases", databases_json(v, rv->name));
			if (rv->error.code != SK_OK) {
				json_t *e = json_object();

				json_object_set_new(e, "code",
				    json_string(sk_code_name(rv->error.code)));
				json_object_set_new(e, "sqlstate",
				    json_string(rv->error.sqlstate));
				json_object_set_new(
				    e, "message", json_string(rv->error.msg));
				json_object_set_new(
				    e, "detail", json_string(rv->error.detail));
				json_object_set_new(
				    e, "hint", json_string(rv->error.hint));
				json_object_set_new(ro, "error", e);
			}
			json_array_append_new(regions, ro);
		}
		json_object_set_new(ph, "regions", regions);
		json_array_append_new(phases, ph);
	}
	json_object_set_new(o, "phases", phases);
	return o;
}

json_t *
sk_view_rollout_list_json(const sk_cli_response *resp)
{
	json_t *arr = json_array();
	char waits[1024];

	for (size_t i = 0; i < resp->nrollouts; i++) {
		const sk_rollout_view *v = &resp->rollouts[i];
		json_t *o = json_object();

		sk_view_waits_for(v, waits, sizeof(waits));
		json_object_set_new(o, "id", json_string(v->id));
		json_object_set_new(o, "plan", json_string(v->plan_name));
		json_object_set_new(o, "plan_id", json_string(v->plan_id));
		json_object_set_new(o, "mode", json_string(sk_mode_name(v->mode)));
		json_object_set_new(o, "state", json_string(v->state));
		json_object_set_new(o, "phase", json_string(sk_view_phase_name(v)));
		json_object_set_new(o, "created_ms", json_integer(v->created_ms));
		json_object_set_new(o, "started_by", json_string(v->started_by));
		json_object_set_new(o, "waits_for", json_string(waits));
		json_array_append_new(arr, o);
	}
	if (resp->has_line) {
		json_t *root = json_object();

		json_object_set_new(
		    root, "line_stopped", json_boolean(resp->line.stopped));
		json_object_set_new(root, "rollouts", arr);
		arr = root;
	}
	return arr;
}

/* cli_rollout_list: `skein rollout list [--json]`, every rollout on one
 * line: id, plan, mode, state, current phase, age, who started it, and
 * what it waits for (cli_waits_for). Made from the coordinator's status
 * of every rollout (SK_CLI_STATUS without an id). */
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_coord.h"
#include "cli_gate.h"
#include "cli_rollout_int.h"
#include "sk_util.h"
#include "sk_wire.h"

/* ---- what a rollout waits for -------------------------------------------- */

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
cli_waits_for(const sk_rollout_view *v, char *buf, size_t len)
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
	cli_gate_waits(v, buf, len);
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

/* ---- the list ------------------------------------------------------------ */

static void
age(int64_t ms, char *buf, size_t len)
{
	int64_t now = sk_now_ms();

	sk_duration_format(now > ms ? now - ms : 0, buf, len);
}

static const char *
phase_name(const sk_rollout_view *v)
{
	return v->current_phase < v->nphases ? v->phases[v->current_phase].name : "-";
}

int
rollout_cmd_list(const char *url, bool json)
{
	sk_cli_request req;
	sk_cli_response resp;
	char waits[1024], ago[32];

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_STATUS;
	if (cli_coord_ask("rollout list", url, &req, &resp) != SK_OK)
		return CLI_FAIL;
	if (json) {
		json_t *arr = json_array();
		char *text;

		for (size_t i = 0; i < resp.nrollouts; i++) {
			const sk_rollout_view *v = &resp.rollouts[i];
			json_t *o = json_object();

			cli_waits_for(v, waits, sizeof(waits));
			json_object_set_new(o, "id", json_string(v->id));
			json_object_set_new(o, "plan", json_string(v->plan_name));
			json_object_set_new(o, "plan_id", json_string(v->plan_id));
			json_object_set_new(
			    o, "mode", json_string(sk_mode_name(v->mode)));
			json_object_set_new(o, "state", json_string(v->state));
			json_object_set_new(o, "phase", json_string(phase_name(v)));
			json_object_set_new(
			    o, "created_ms", json_integer(v->created_ms));
			json_object_set_new(
			    o, "started_by", json_string(v->started_by));
			json_object_set_new(o, "waits_for", json_string(waits));
			json_array_append_new(arr, o);
		}
		if (resp.has_line) {
			json_t *root = json_object();

			json_object_set_new(root, "line_stopped",
			    json_boolean(resp.line.stopped));
			json_object_set_new(root, "rollouts", arr);
			arr = root;
		}
		text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (text != NULL)
			printf("%s\n", text);
		free(text);
		json_decref(arr);
		sk_cli_response_fini(&resp);
		return CLI_OK;
	}
	if (resp.has_line && resp.line.stopped)
		printf("the line is stopped by %s%s%s (skein stop)\n", resp.line.by,
		    resp.line.reason[0] ? ": " : "", resp.line.reason);
	if (resp.nrollouts == 0)
		printf("no rollouts\n");
	else
		printf("%-16s %-20s %-9s %-10s %-12s %-8s %-12s %s\n", "ID", "PLAN",
		    "MODE", "STATE", "PHASE", "AGE", "STARTED BY", "WAITS FOR");
	for (size_t i = 0; i < resp.nrollouts; i++) {
		const sk_rollout_view *v = &resp.rollouts[i];

		cli_waits_for(v, waits, sizeof(waits));
		age(v->created_ms, ago, sizeof(ago));
		printf("%-16s %-20s %-9s %-10s %-12s %-8s %-12s %s\n", v->id,
		    v->plan_name, sk_mode_name(v->mode), v->state,
		    phase_name(v), ago, v->started_by[0] ? v->started_by : "-",
		    waits[0] ? waits : "-");
	}
	sk_cli_response_fini(&resp);
	return CLI_OK;
}

/* cli_rollout_watch: `skein rollout start`, `status` and `wait`: send a
 * signed plan, then show the rollout's regions and events as they change,
 * for people or (--json) for machines, until it finishes; the backfills
 * its databases run as bars on a terminal, plain lines elsewhere
 * (cli_progress). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_coord.h"
#include "cli_control.h"
#include "cli_decision.h"
#include "cli_gate.h"
#include "cli_live.h"
#include "sk_view_flag.h"
#include "sk_view_mode.h"
#include "cli_progress.h"
#include "cli_rollout_int.h"
#include "sk_envelope.h"
#include "sk_util.h"
#include "sk_view.h"
#include "sk_wire.h"

/* ---- printing ----------------------------------------------------------- */

static void
fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* True if a region or a rollout in state ended well. */
static bool
finished_ok(const char *state)
{
	return sk_view_state_outcome(state) == SK_VIEW_OUT_OK;
}

static void
region_counts(const sk_rollout_view *v, size_t *ok, size_t *total)
{
	*ok = *total = 0;
	for (size_t p = 0; p < v->nphases; p++)
		for (size_t r = 0; r < v->phases[p].nregions; r++) {
			(*total)++;
			*ok += finished_ok(v->phases[p].regions[r].state);
		}
}

/* " (rehearsal)", " (rollback of r-...)" or "": the mode's label. */
static void
mode_note(const sk_rollout_view *v, char *buf, size_t len)
{
	const sk_view_mode_row *m = sk_view_mode_of(v->mode);

	if (m->label == NULL)
		buf[0] = '\0';
	else if (m->undoes)
		snprintf(buf, len, " (%s of %s)", m->label, v->of_rollout);
	else
		snprintf(buf, len, " (%s)", m->label);
}

/* How many databases of region the view lists (only regions that have
 * not ended have them). */
static size_t
region_databases(const sk_rollout_view *v, const char *region)
{
	size_t n = 0;

	for (size_t i = 0; i < v->ndatabases; i++)
		n += strcmp(v->databases[i].region, region) == 0;
	return n;
}

/* One line per database of region that has not ended: its steps, its
 * current step and what it waits for. */
static void
print_databases(FILE *out, const sk_rollout_view *v, const char *region)
{
	for (size_t i = 0; i < v->ndatabases; i++) {
		const sk_database_view *d = &v->databases[i];

		if (strcmp(d->region, region) != 0 || strcmp(d->state, "done") == 0 ||
		    strcmp(d->state, "failed") == 0)
			continue;
		fprintf(out, "      %-12s %-10s %u/%u steps", d->name, d->state,
		    d->steps_done, d->steps_total);
		if (d->step[0])
			fprintf(out, "  at %s", d->step);
		if (d->detail[0])
			fprintf(out, "  %s", d->detail);
		fputc('\n', out);
	}
}

/* The safeguards the rollout was started with and who set one aside: a
 * rollback's backup before its first revert (with each backup its
 * agents took), an apply's --reapply; and its pause and tunes. */
static void
print_decisions(FILE *out, const sk_rollout_view *v)
{
	char line[512];

	cli_decision_backup(v, line, sizeof(line));
	if (line[0] != '\0') {
		fprintf(out, "  backup before revert: %s\n", line);
		for (size_t i = 0; i < v->nbackups; i++)
			fprintf(out, "    %s/%s: %s (%lld bytes)\n",
			    v->backups[i].region, v->backups[i].database,
			    v->backups[i].path, (long long)v->backups[i].size);
	}
	cli_decision_reapply(v, line, sizeof(line));
	if (line[0] != '\0')
		fprintf(out, "  re-applied: %s\n", line);
	cli_decision_pause(v, line, sizeof(line));
	if (line[0] != '\0')
		fprintf(out, "  paused: %s\n", line);
	cli_decision_tune(v, line, sizeof(line));
	if (line[0] != '\0')
		fprintf(out, "  tuned: %s\n", line);
	cli_control_print(out, v); /* stopline */
}

void
rollout_print_view(FILE *out, const sk_rollout_view *v, const cli_look *look)
{
	char created[32], finished[32], took[32], note[96];

	fmt_time(v->created_ms, created, sizeof(created));
	fmt_time(v->finished_ms, finished, sizeof(finished));
	mode_note(v, note, sizeof(note));
	fprintf(out, "rollout %s%s  plan %s (%s)  %s\n", v->id, note,
	    v->plan_name, v->plan_id, v->state);
	if (v->finished_ms > 0) {
		sk_duration_format(v->finished_ms - v->created_ms, took, sizeof(took));
		fprintf(out, "  started %s%s%s, finished %s (%s)\n", created,
		    v->started_by[0] != '\0' ? " by " : "", v->started_by,
		    finished, took);
	} else {
		fprintf(out, "  started %s%s%s, phase %u/%zu\n", created,
		    v->started_by[0] != '\0' ? " by " : "", v->started_by,
		    v->current_phase + 1, v->nphases);
	}
	print_decisions(out, v);
	cli_gate_print(out, v, "  ");
	sk_view_flag_status(out, v); /* flags */
	if (v->reason[0])
		fprintf(out, "  halted: %s\n", v->reason);
	for (size_t p = 0; p < v->nphases; p++) {
		const sk_phase_view *ph = &v->phases[p];

		fprintf(out, "  phase %zu/%zu %s: %s\n", p + 1, v->nphases,
		    ph->name, ph->state);
		for (size_t r = 0; r < ph->nregions; r++) {
			const sk_region_view *rv = &ph->regions[r];
			/* Several databases run in parallel: each gets its
			 * own line; the region's detail sums them up. */
			bool several = region_databases(v, rv->name) > 1;

			fprintf(out, "    %-12s %-10s %u/%u steps", rv->name,
			    rv->state, rv->steps_done, rv->steps_total);
			if (rv->step[0] && !finished_ok(rv->state) && !several)
				fprintf(out, "  at %s/%s", rv->database, rv->step);
			if (rv->detail[0])
				fprintf(out, "  %s", rv->detail);
			fputc('\n', out);
			if (several)
				print_databases(out, v, rv->name);
			if (rv->error.code != SK_OK && rv->error.msg[0]) {
				fprintf(out, "      error: %s", rv->error.msg);
				if (rv->error.sqlstate[0])
					fprintf(out, " (SQLSTATE %s)",
					    rv->error.sqlstate);
				fputc('\n', out);
			}
		}
	}
	(void)cli_progress_print(out, v, look, "  ");
}

/* ---- subcommands -------------------------------------------------------- */

int
rollout_start(const char *url, const char *path, int mode, bool reapply,
    char *id_out, sk_err *err)
{
	sk_cli_request req;
	sk_cli_response resp;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(&req, 0, sizeof(req));
	if (sk_file_read(path, SK_ENVELOPE_MAX, &buf, &len, err) != SK_OK)
		return err->code;
	req.op = SK_CLI_START;
	req.signed_plan = (uint8_t *)buf;
	req.signed_plan_len = len;
	req.mode = mode;
	req.reapply = reapply;
	rc = cli_coord_call(url, &req, &resp, err);
	free(buf);
	if (rc != SK_OK)
		return rc;
	if (!resp.ok) {
		*err = resp.error;
		sk_cli_response_fini(&resp);
		return err->code != SK_OK ? err->code : SK_EINVAL;
	}
	snprintf(id_out, SK_ID_MAX, "%s", resp.rollout_id);
	sk_cli_response_fini(&resp);
	return SK_OK;
}

static int fetch(cli_coord_conn *c, const char *id, uint64_t since,
    sk_cli_response *resp, sk_err *err);
static int fetch_once(const char *url, const char *id, uint64_t since,
    sk_cli_response *resp, sk_err *err);

/* What `rollout start --json` prints: the started rollout's id, plan,
 * plan_id, mode and regions (in phase order), from its status. */
static int
print_start_json(const char *url, const char *id)
{
	const sk_rollout_view *v;
	sk_cli_response resp;
	json_t *o, *regions;
	sk_err err;
	char *text;
	bool ok;

	if (fetch_once(url, id, UINT64_MAX, &resp, &err) != SK_OK) {
		cli_errorf("rollout",
		    "start: rollout %s started, but its status could not be read "
		    "for --json: %s; see skein rollout status %s",
		    id, err.msg, id);
		return CLI_FAIL;
	}
	v = &resp.rollouts[0];
	regions = json_array();
	for (size_t p = 0; p < v->nphases; p++)
		for (size_t r = 0; r < v->phases[p].nregions; r++)
			json_array_append_new(
			    regions, json_string(v->phases[p].regions[r].name));
	o = json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", v->id, "plan", v->plan_name,
	    "plan_id", v->plan_id, "mode", sk_mode_name(v->mode), "regions", regions);
	text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	ok = text != NULL;
	if (ok)
		printf("%s\n", text);
	free(text);
	json_decref(o);
	sk_cli_response_fini(&resp);
	return ok ? CLI_OK : CLI_FAIL;
}

int
rollout_cmd_start(const char *url, const char *path, bool reapply, bool json)
{
	char id[SK_ID_MAX];
	sk_err err;

	if (rollout_start(url, path, SK_MODE_APPLY, reapply, id, &err) != SK_OK) {
		cli_coord_print_err("rollout start", &err);
		return CLI_FAIL;
	}
	if (json)
		return print_start_json(url, id);
	printf("%s\n", id);
	return CLI_OK;
}

/* The status of rollout id (NULL: all), with its events after since. */
static int
fetch(cli_coord_conn *c, const char *id, uint64_t since, sk_cli_response *resp,
    sk_err *err)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_STATUS;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id ? id : "");
	req.events_since = since;
	if (cli_coord_conn_call(c, &req, resp, err) != SK_OK)
		return err->code;
	if (!resp->ok) {
		*err = resp->error;
		sk_cli_response_fini(resp);
		return err->code != SK_OK ? err->code : SK_EINVAL;
	}
	if (id != NULL && resp->nrollouts != 1) {
		sk_cli_response_fini(resp);
		return sk_err_set(err, SK_EDECODE,
		    "rollout status %s: the coordinator answered with %zu rollouts",
		    id, resp->nrollouts);
	}
	return SK_OK;
}

static int
fetch_once(const char *url, const char *id, uint64_t since,
    sk_cli_response *resp, sk_err *err)
{
	cli_coord_conn c;
	int rc;

	cli_coord_conn_init(&c, url);
	rc = fetch(&c, id, since, resp, err);
	cli_coord_conn_close(&c);
	return rc;
}

int
rollout_cmd_status(const char *url, const char *id, bool json, bool no_color)
{
	sk_cli_response resp;
	cli_look look;
	sk_err err;

	if (fetch_once(url, id, 0, &resp, &err) != SK_OK) {
		cli_coord_print_err("rollout status", &err);
		return CLI_FAIL;
	}
	if (json) {
		json_t *arr = json_array();
		json_t *root;
		char *text;

		for (size_t i = 0; i < resp.nrollouts; i++)
			json_array_append_new(
			    arr, sk_view_rollout_json(&resp.rollouts[i]));
		root = id != NULL && resp.nrollouts == 1 ?
		    json_incref(json_array_get(arr, 0)) :
		    json_incref(arr);
		text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (text != NULL)
			printf("%s\n", text);
		free(text);
		json_decref(root);
		json_decref(arr);
	} else if (resp.nrollouts == 0) {
		printf("no rollouts\n");
	} else {
		cli_look_of(&look, stdout, no_color);
		for (size_t i = 0; i < resp.nrollouts; i++)
			rollout_print_view(stdout, &resp.rollouts[i], &look);
	}
	sk_cli_response_fini(&resp);
	return CLI_OK;
}

static void
print_final(const sk_rollout_view *v)
{
	const sk_view_mode_row *m = sk_view_mode_of(v->mode);
	bool ok = finished_ok(v->state);
	size_t nok, total;

	region_counts(v, &nok, &total);
	if (m->verdicts) {
		if (!ok)
			rollout_print_view(stdout, v, NULL);
		if (ok)
			printf("%s %s: %s in %zu/%zu regions\n", m->label,
			    v->id, m->verdict[SK_VIEW_OUT_OK], nok, total);
		else /* the reason reads "blocked in 1/3 regions (in): ..." */
			printf("%s %s: %s\n", m->label, v->id,
			    v->reason[0] ? v->reason : v->state);
		return;
	}
	if (ok) {
		printf("rollout %s: %s in %zu/%zu regions\n", v->id, v->state,
		    nok, total);
		return;
	}
	rollout_print_view(stdout, v, NULL);
	printf("rollout %s: %s in phase %s (%zu/%zu regions succeeded): %s\n",
	    v->id, v->state,
	    v->current_phase < v->nphases ? v->phases[v->current_phase].name : "?",
	    nok, total, v->reason);
}

/* How follow prints what happens. */
enum { FOLLOW_TEXT, FOLLOW_QUIET, FOLLOW_JSON };

/* --json: each event of v after *since on a line of its own, as the HTTP
 * event stream's `event: log` data. */
static void
print_events_json(const sk_rollout_view *v, uint64_t *since)
{
	for (size_t i = 0; i < v->nevents; i++) {
		json_t *o = sk_view_event_json(&v->events[i]);
		char *text = o != NULL ?
		    json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) :
		    NULL;

		if (text != NULL)
			printf("%s\n", text);
		free(text);
		json_decref(o);
		*since = v->events[i].seq;
	}
	fflush(stdout);
}

static int
follow(const char *url, const char *id, int64_t deadline, int how,
    bool no_color, sk_cli_response *resp, sk_err *err)
{
	cli_progress_block bars;
	cli_coord_conn c;
	cli_live live;
	uint64_t since = 0;
	bool warned = false;

	cli_coord_conn_init(&c, url);
	cli_live_init(&live, stdout, no_color);
	/* Off a terminal, a backfill's plain line now and then. */
	cli_progress_block_init(&bars, stdout, true);
	for (;;) {
		if (fetch(&c, id, since, resp, err) != SK_OK) {
			if (err->code != SK_ENET) {
				cli_live_fini(&live);
				cli_coord_conn_close(&c);
				return err->code;
			}
			if (!warned) {
				cli_live_erase(&live);
				fprintf(stderr, "skein rollout: %s; retrying\n",
				    err->msg);
			}
			warned = true;
		} else {
			const sk_rollout_view *v = &resp->rollouts[0];
			bool over = strcmp(v->state, "running") != 0;

			warned = false;
			if (how == FOLLOW_JSON) {
				print_events_json(v, &since);
			} else {
				cli_live_update(&live, v, &since,
				    how == FOLLOW_QUIET, over);
				if (!over && !live.live && how == FOLLOW_TEXT)
					cli_progress_block_draw(
					    &bars, v, sk_mono_ms());
			}
			if (over) {
				cli_live_fini(&live); /* the block stays */
				cli_coord_conn_close(&c);
				return SK_OK;
			}
			sk_cli_response_fini(resp);
		}
		if (deadline && sk_mono_ms() > deadline) {
			cli_live_fini(&live);
			cli_coord_conn_close(&c);
			return sk_err_set(err, SK_ETIMEOUT,
			    "rollout %s still running after the timeout", id);
		}
		sk_sleep_ms(200);
	}
}

int
rollout_follow(const char *url, const char *id, int64_t deadline, bool quiet,
    bool no_color, sk_cli_response *resp, sk_err *err)
{
	return follow(url, id, deadline, quiet ? FOLLOW_QUIET : FOLLOW_TEXT,
	    no_color, resp, err);
}

/* --json: the last line of `wait`, once the rollout ended. */
static void
print_final_json(const sk_rollout_view *v)
{
	size_t nok, total;
	json_t *o;
	char *text;

	region_counts(v, &nok, &total);
	o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:o}", "outcome",
	    finished_ok(v->state) ? "succeeded" : "failed", "id", v->id,
	    "state", v->state, "regions_succeeded", (json_int_t)nok,
	    "regions_total", (json_int_t)total, "reason", v->reason, "rollout",
	    sk_view_rollout_json(v));
	text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (text != NULL)
		printf("%s\n", text);
	free(text);
	json_decref(o);
}

int
rollout_cmd_wait(const char *url, const char *id, int64_t timeout_ms,
    bool quiet, bool no_color, bool json)
{
	int64_t deadline = timeout_ms > 0 ? sk_mono_ms() + timeout_ms : 0;
	sk_cli_response resp;
	sk_err err;
	int rc;

	if (follow(url, id, deadline,
		json      ? FOLLOW_JSON :
		    quiet ? FOLLOW_QUIET :
			    FOLLOW_TEXT,
		no_color, &resp, &err) != SK_OK) {
		cli_coord_print_err("rollout wait", &err);
		return CLI_FAIL;
	}
	rc = finished_ok(resp.rollouts[0].state) ? CLI_OK : CLI_FAIL;
	if (json)
		print_final_json(&resp.rollouts[0]);
	else
		print_final(&resp.rollouts[0]);
	sk_cli_response_fini(&resp);
	return rc;
}

int
rollout_cmd_watch(const char *url, const char *id, bool no_color)
{
	sk_cli_response resp;
	sk_err err;

	if (follow(url, id, 0, FOLLOW_TEXT, no_color, &resp, &err) != SK_OK) {
		cli_coord_print_err("rollout status", &err);
		return CLI_FAIL;
	}
	print_final(&resp.rollouts[0]);
	sk_cli_response_fini(&resp);
	return CLI_OK;
}

/* cli_rollout: `skein rollout start|status|wait|rollback|report`, the
 * operator's view of the coordinator over its control socket. The record
 * and the rehearsal verdicts are formatted by cli_report.c. */
#include <getopt.h>
#include <jansson.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_wire.h"

#define CLI_TIMEOUT_MS 10000
/* How long `start --rehearse` waits for every region's verdict. */
#define REHEARSE_TIMEOUT_MS (10LL * 60 * 1000)

/* ---- transport ---------------------------------------------------------- */

/* One request/reply exchange with the coordinator. On success *resp is
 * filled (sk_cli_response_fini) and reflects the coordinator's answer,
 * which may itself be an error (resp->ok false). */
static int
call(const char *url, const sk_cli_request *req, sk_cli_response *resp, sk_err *err)
{
	nng_socket sock;
	uint8_t *out = NULL;
	size_t olen = 0;
	nng_msg *msg = NULL;
	int rv, rc = SK_OK;

	if ((rv = nng_req0_open(&sock)) != 0)
		return sk_err_set(err, SK_ENET, "open socket: %s", nng_strerror(rv));
	nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, CLI_TIMEOUT_MS);
	nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, CLI_TIMEOUT_MS);
	nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 64u * 1024u * 1024u);
	if ((rv = nng_dial(sock, url, NULL, 0)) != 0) {
		rc = sk_err_set(err, SK_ENET, "reach coordinator at %s: %s",
		    url, nng_strerror(rv));
		snprintf(err->hint, sizeof(err->hint),
		    "is skein-coordinator running, and is this its `control` URL?");
		goto out;
	}
	if ((rc = sk_cli_request_encode(req, &out, &olen, err)) != SK_OK)
		goto out;
	if ((rv = nng_send(sock, out, olen, 0)) != 0 ||
	    (rv = nng_recvmsg(sock, &msg, 0)) != 0) {
		rc = sk_err_set(err, SK_ENET, "talk to coordinator at %s: %s",
		    url, nng_strerror(rv));
		goto out;
	}
	rc = sk_cli_response_decode(nng_msg_body(msg), nng_msg_len(msg), resp, err);
out:
	nng_msg_free(msg);
	free(out);
	nng_close(sock);
	return rc;
}

static void
print_err(const char *cmd, const sk_err *e)
{
	if (e->sqlstate[0])
		cli_errorf(cmd, "%s (SQLSTATE %s)", e->msg, e->sqlstate);
	else
		cli_errorf(cmd, "%s", e->msg);
	if (e->detail[0])
		fprintf(stderr, "  detail: %s\n", e->detail);
	if (e->hint[0])
		fprintf(stderr, "  hint: %s\n", e->hint);
}

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

static void
region_counts(const sk_rollout_view *v, size_t *ok, size_t *total)
{
	*ok = *total = 0;
	for (size_t p = 0; p < v->nphases; p++)
		for (size_t r = 0; r < v->phases[p].nregions; r++) {
			const char *st = v->phases[p].regions[r].state;

			(*total)++;
			*ok += strcmp(st, "succeeded") == 0 ||
			    strcmp(st, "ready") == 0;
		}
}

/* " (rehearsal)", " (rollback of r-...)" or "" */
static void
mode_note(const sk_rollout_view *v, char *buf, size_t len)
{
	if (v->mode == SK_MODE_REHEARSE)
		snprintf(buf, len, " (rehearsal)");
	else if (v->mode == SK_MODE_ROLLBACK)
		snprintf(buf, len, " (rollback of %s)", v->of_rollout);
	else
		buf[0] = '\0';
}

static bool
finished_ok(const char *state)
{
	return strcmp(state, "succeeded") == 0 || strcmp(state, "ready") == 0;
}

static void
print_view(FILE *out, const sk_rollout_view *v)
{
	char created[32], finished[32], took[32], note[96];

	fmt_time(v->created_ms, created, sizeof(created));
	fmt_time(v->finished_ms, finished, sizeof(finished));
	mode_note(v, note, sizeof(note));
	fprintf(out, "rollout %s%s  plan %s (%s)  %s\n", v->id, note,
	    v->plan_name, v->plan_id, v->state);
	if (v->finished_ms > 0) {
		sk_duration_format(v->finished_ms - v->created_ms, took, sizeof(took));
		fprintf(out, "  started %s, finished %s (%s)\n", created,
		    finished, took);
	} else {
		fprintf(out, "  started %s, phase %u/%zu\n", created,
		    v->current_phase + 1, v->nphases);
	}
	if (v->reason[0])
		fprintf(out, "  halted: %s\n", v->reason);
	for (size_t p = 0; p < v->nphases; p++) {
		const sk_phase_view *ph = &v->phases[p];

		fprintf(out, "  phase %zu/%zu %s: %s\n", p + 1, v->nphases,
		    ph->name, ph->state);
		for (size_t r = 0; r < ph->nregions; r++) {
			const sk_region_view *rv = &ph->regions[r];

			fprintf(out, "    %-12s %-10s %u/%u steps", rv->name,
			    rv->state, rv->steps_done, rv->steps_total);
			if (rv->step[0] && !finished_ok(rv->state))
				fprintf(out, "  at %s/%s", rv->database, rv->step);
			if (rv->detail[0])
				fprintf(out, "  %s", rv->detail);
			fputc('\n', out);
			if (rv->error.code != SK_OK && rv->error.msg[0]) {
				fprintf(out, "      error: %s", rv->error.msg);
				if (rv->error.sqlstate[0])
					fprintf(out, " (SQLSTATE %s)",
					    rv->error.sqlstate);
				fputc('\n', out);
			}
		}
	}
}

static json_t *
view_json(const sk_rollout_view *v)
{
	json_t *o = json_object(), *phases = json_array();

	json_object_set_new(o, "id", json_string(v->id));
	json_object_set_new(o, "plan_id", json_string(v->plan_id));
	json_object_set_new(o, "plan_name", json_string(v->plan_name));
	json_object_set_new(o, "state", json_string(v->state));
	json_object_set_new(o, "mode", json_string(sk_mode_name(v->mode)));
	json_object_set_new(o, "of_rollout", json_string(v->of_rollout));
	json_object_set_new(o, "current_phase", json_integer(v->current_phase));
	json_object_set_new(o, "created_ms", json_integer(v->created_ms));
	json_object_set_new(o, "finished_ms", json_integer(v->finished_ms));
	json_object_set_new(o, "reason", json_string(v->reason));
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

/* ---- usage -------------------------------------------------------------- */

static void
usage(FILE *out)
{
	fprintf(out,
	    "Start, follow, roll back and record rollouts on the coordinator.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout start SIGNED             start a rollout; prints its id\n"
	    "  skein rollout start --rehearse SIGNED  rehearse it everywhere and\n"
	    "                                         print READY/BLOCKED verdicts\n"
	    "  skein rollout status [ID] [--json]     where each region is\n"
	    "  skein rollout wait ID [--timeout D]    follow a rollout to its end\n"
	    "  skein rollout rollback ID [--region R] [--wait]\n"
	    "                                         revert what a rollout applied\n"
	    "  skein rollout report ID [--format md|json]\n"
	    "                                         the execution record\n"
	    "\n"
	    "Every command takes --coordinator URL (default: $SKEIN_COORDINATOR).\n"
	    "Run \"skein rollout COMMAND --help\" for a command's options.\n");
}

static void
start_usage(FILE *out)
{
	fprintf(out,
	    "Hand a signed plan to the coordinator and print the rollout's id.\n"
	    "Starting the same signed plan again prints the same id while that\n"
	    "rollout runs or after it succeeded (unless it was rolled back).\n"
	    "\n"
	    "With --rehearse, every region runs every transactional step and its\n"
	    "checks in a transaction that is rolled back: nothing changes in any\n"
	    "database. The command waits for every region and prints, per region\n"
	    "and database, READY or BLOCKED with the reasons (failed checks with\n"
	    "the value seen, failed statements with SQLSTATE, blocking sessions)\n"
	    "and the steps that cannot be rehearsed (non-transactional ones).\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout start SIGNED [--coordinator URL]\n"
	    "  skein rollout start --rehearse SIGNED [--timeout D] [--coordinator URL]\n"
	    "\n"
	    "Options:\n"
	    "  --rehearse         rehearse instead of applying\n"
	    "  --timeout D        (rehearse) stop waiting after D (default 10m) and\n"
	    "                     name the regions that gave no verdict\n"
	    "  --coordinator URL  the coordinator's control URL\n"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Exit status: 0 started (rehearse: READY everywhere); 1 refused,\n"
	    "unreachable, or (rehearse) any region BLOCKED or silent; 2 usage.\n");
}

static void
status_usage(FILE *out)
{
	fprintf(out,
	    "Show where each region of a rollout (or of every rollout) is.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout status [ID] [--json] [--coordinator URL]\n"
	    "\n"
	    "Options:\n"
	    "  --json             print JSON\n"
	    "  --coordinator URL  the coordinator's control URL\n"
	    "  -h, --help         show this help\n");
}

static void
wait_usage(FILE *out)
{
	fprintf(out,
	    "Follow a rollout, printing its progress, until it ends.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout wait ID [--timeout D] [--quiet] [--coordinator URL]\n"
	    "\n"
	    "Options:\n"
	    "  --timeout D        give up after a duration such as 30m\n"
	    "  --quiet            print only the final line\n"
	    "  --coordinator URL  the coordinator's control URL\n"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Exit status: 0 when the rollout succeeded (a rehearsal: READY), 1 when\n"
	    "it failed, halted or was BLOCKED, or the timeout passed.\n");
}

static void
rollback_usage(FILE *out)
{
	fprintf(out,
	    "Roll a finished rollout back: run the revert scripts of its completed\n"
	    "steps, newest first, in every region it reached (or only in region R),\n"
	    "phases in reverse order (the canary last), halting at the first\n"
	    "failure. Each revert is recorded in the region's ledger. Prints the id\n"
	    "of the rollback, itself a rollout (status, wait and report take it).\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout rollback ID [--region R] [--wait [--timeout D] [--quiet]]\n"
	    "\n"
	    "Options:\n"
	    "  --region R         only region R (a region of the rollout's plan)\n"
	    "  --wait             follow the rollback to its end, like rollout wait\n"
	    "  --timeout D        (wait) give up after D\n"
	    "  --quiet            (wait) print only the final line\n"
	    "  --coordinator URL  the coordinator's control URL\n"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Exit status: 0 started (with --wait: succeeded); 1 refused, unreachable\n"
	    "or (with --wait) failed; 2 usage.\n");
}

static void
report_usage(FILE *out)
{
	fprintf(out,
	    "Print a rollout's execution record: per region, database and step the\n"
	    "start, end, duration, attempts, lock waits and blockers, rows, every\n"
	    "check with the value seen and expected, the backup with its restore\n"
	    "command, and the verdict; the plan's waived lint rules with reasons.\n"
	    "Markdown is meant to be pasted into a change record; the JSON keys\n"
	    "are described in docs/operations.md.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout report ID [--format md|json] [--coordinator URL]\n"
	    "\n"
	    "Options:\n"
	    "  --format F         md (default) or json\n"
	    "  --json             same as --format json\n"
	    "  --coordinator URL  the coordinator's control URL\n"
	    "  -h, --help         show this help\n");
}

/* ---- subcommands -------------------------------------------------------- */

static int
start(const char *url, const char *path, int mode, char *id_out, sk_err *err)
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
	rc = call(url, &req, &resp, err);
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

static int
cmd_start(const char *url, const char *path)
{
	char id[SK_ID_MAX];
	sk_err err;

	if (start(url, path, SK_MODE_APPLY, id, &err) != SK_OK) {
		print_err("rollout start", &err);
		return CLI_FAIL;
	}
	printf("%s\n", id);
	return CLI_OK;
}

static int
fetch(const char *url, const char *id, uint64_t since, sk_cli_response *resp,
    sk_err *err)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_STATUS;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id ? id : "");
	req.events_since = since;
	if (call(url, &req, resp, err) != SK_OK)
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
cmd_status(const char *url, const char *id, bool json)
{
	sk_cli_response resp;
	sk_err err;

	if (fetch(url, id, 0, &resp, &err) != SK_OK) {
		print_err("rollout status", &err);
		return CLI_FAIL;
	}
	if (json) {
		json_t *arr = json_array();
		json_t *root;
		char *text;

		for (size_t i = 0; i < resp.nrollouts; i++)
			json_array_append_new(arr, view_json(&resp.rollouts[i]));
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
		for (size_t i = 0; i < resp.nrollouts; i++)
			print_view(stdout, &resp.rollouts[i]);
	}
	sk_cli_response_fini(&resp);
	return CLI_OK;
}

static void
print_final(const sk_rollout_view *v)
{
	size_t ok, total;

	region_counts(v, &ok, &total);
	if (v->mode == SK_MODE_REHEARSE) {
		if (strcmp(v->state, "ready") != 0)
			print_view(stdout, v);
		if (strcmp(v->state, "ready") == 0)
			printf("rehearsal %s: READY in %zu/%zu regions\n",
			    v->id, ok, total);
		else /* the reason reads "blocked in 1/3 regions (in): ..." */
			printf("rehearsal %s: %s\n", v->id,
			    v->reason[0] ? v->reason : "blocked");
		return;
	}
	if (strcmp(v->state, "succeeded") == 0) {
		printf("rollout %s: succeeded in %zu/%zu regions\n", v->id, ok, total);
		return;
	}
	print_view(stdout, v);
	printf("rollout %s: %s in phase %s (%zu/%zu regions succeeded): %s\n",
	    v->id, v->state,
	    v->current_phase < v->nphases ? v->phases[v->current_phase].name : "?",
	    ok, total, v->reason);
}

static void
print_events(const sk_rollout_view *v, uint64_t *since, bool quiet)
{
	for (size_t i = 0; i < v->nevents; i++) {
		char ts[32];
		time_t t = (time_t)(v->events[i].at_ms / 1000);
		struct tm tm;

		if (!quiet) {
			gmtime_r(&t, &tm);
			strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
			printf("%s  %s\n", ts, v->events[i].text);
		}
		*since = v->events[i].seq;
	}
	fflush(stdout);
}

/* Follow rollout id until it leaves "running" or the deadline (0: none)
 * passes. A coordinator that cannot be reached is retried: it may be
 * restarting. On SK_OK *resp holds the last answer (sk_cli_response_fini);
 * SK_ETIMEOUT when the deadline passed; other codes are final errors. */
static int
follow(const char *url, const char *id, int64_t deadline, bool quiet,
    sk_cli_response *resp, sk_err *err)
{
	uint64_t since = 0;
	bool warned = false;

	for (;;) {
		if (fetch(url, id, since, resp, err) != SK_OK) {
			if (err->code != SK_ENET)
				return err->code;
			if (!warned)
				fprintf(stderr, "skein rollout: %s; retrying\n",
				    err->msg);
			warned = true;
		} else {
			warned = false;
			print_events(&resp->rollouts[0], &since, quiet);
			if (strcmp(resp->rollouts[0].state, "running") != 0)
				return SK_OK;
			sk_cli_response_fini(resp);
		}
		if (deadline && sk_mono_ms() > deadline)
			return sk_err_set(err, SK_ETIMEOUT,
			    "rollout %s still running after the timeout", id);
		sk_sleep_ms(200);
	}
}

static int
cmd_wait(const char *url, const char *id, int64_t timeout_ms, bool quiet)
{
	int64_t deadline = timeout_ms > 0 ? sk_mono_ms() + timeout_ms : 0;
	sk_cli_response resp;
	sk_err err;
	int rc;

	if (follow(url, id, deadline, quiet, &resp, &err) != SK_OK) {
		print_err("rollout wait", &err);
		return CLI_FAIL;
	}
	rc = finished_ok(resp.rollouts[0].state) ? CLI_OK : CLI_FAIL;
	print_final(&resp.rollouts[0]);
	sk_cli_response_fini(&resp);
	return rc;
}

/* Ask for everything `report` and the rehearsal verdict are built from. */
static int
fetch_report(const char *url, const char *id, sk_cli_response *resp, sk_err *err)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_REPORT;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	if (call(url, &req, resp, err) != SK_OK)
		return err->code;
	if (!resp->ok) {
		*err = resp->error;
		sk_cli_response_fini(resp);
		return err->code != SK_OK ? err->code : SK_EINVAL;
	}
	if (resp->nrollouts != 1) {
		sk_cli_response_fini(resp);
		return sk_err_set(err, SK_EDECODE,
		    "rollout report %s: the coordinator sent no rollout", id);
	}
	return SK_OK;
}

/* The plan inside a signed plan, for its waivers. The coordinator verified
 * the signature when the rollout started; this only reads it. NULL (with
 * a warning) when it cannot be read: the record is still printed. */
static sk_plan *
plan_of(const sk_cli_response *resp)
{
	uint8_t *payload = NULL;
	size_t plen = 0;
	uint8_t signer[SK_KEY_ID_LEN];
	sk_plan *plan = NULL;
	sk_err err;
	int kind;

	if (resp->signed_plan_len == 0)
		return NULL;
	if (sk_envelope_peek(&payload, &plen, &kind, signer, resp->signed_plan,
		resp->signed_plan_len, &err) != SK_OK ||
	    sk_plan_decode(payload, plen, &plan, &err) != SK_OK) {
		fprintf(stderr,
		    "skein rollout report: warning: cannot read the "
		    "rollout's plan (%s); waivers are not shown\n",
		    err.msg);
		plan = NULL;
	}
	free(payload);
	return plan;
}

static int
cmd_report(const char *url, const char *id, const char *format)
{
	sk_cli_response resp;
	cli_report_src src;
	sk_plan *plan;
	sk_err err;
	int rc;

	if (fetch_report(url, id, &resp, &err) != SK_OK) {
		print_err("rollout report", &err);
		return CLI_FAIL;
	}
	plan = plan_of(&resp);
	src = (cli_report_src){ .view = &resp.rollouts[0],
		.plan = plan,
		.reports = resp.reports,
		.nreports = resp.nreports };
	rc = strcmp(format, "json") == 0 ? cli_report_json(stdout, &src, &err) :
					   cli_report_md(stdout, &src, &err);
	if (rc != SK_OK)
		print_err("rollout report", &err);
	sk_plan_destroy(plan);
	sk_cli_response_fini(&resp);
	return rc == SK_OK ? CLI_OK : CLI_FAIL;
}

static int
cmd_rehearse(const char *url, const char *path, int64_t timeout_ms)
{
	int64_t deadline =
	    sk_mono_ms() + (timeout_ms > 0 ? timeout_ms : REHEARSE_TIMEOUT_MS);
	char id[SK_ID_MAX], took[32];
	sk_cli_response resp;
	cli_report_src src;
	cli_verdicts counts;
	sk_plan *plan;
	sk_err err;
	int rc;

	if (start(url, path, SK_MODE_REHEARSE, id, &err) != SK_OK) {
		print_err("rollout start --rehearse", &err);
		return CLI_FAIL;
	}
	fprintf(stderr, "rehearsal %s started; waiting for every region\n", id);
	rc = follow(url, id, deadline, true, &resp, &err);
	if (rc == SK_OK) {
		sk_cli_response_fini(&resp);
	} else if (rc != SK_ETIMEOUT) {
		print_err("rollout start --rehearse", &err);
		return CLI_FAIL;
	}
	if (fetch_report(url, id, &resp, &err) != SK_OK) {
		print_err("rollout start --rehearse", &err);
		return CLI_FAIL;
	}
	plan = plan_of(&resp);
	src = (cli_report_src){ .view = &resp.rollouts[0],
		.plan = plan,
		.reports = resp.reports,
		.nreports = resp.nreports };
	cli_rehearsal_print(stdout, &src, &counts);
	if (rc == SK_ETIMEOUT) {
		sk_duration_format(timeout_ms > 0 ? timeout_ms : REHEARSE_TIMEOUT_MS,
		    took, sizeof(took));
		cli_errorf("rollout start --rehearse",
		    "%zu of %zu regions gave no verdict within %s; the rehearsal "
		    "%s goes on when their agents answer (skein rollout wait %s)",
		    counts.silent, counts.total, took, id, id);
	}
	sk_plan_destroy(plan);
	sk_cli_response_fini(&resp);
	return counts.ready == counts.total && counts.total > 0 ? CLI_OK : CLI_FAIL;
}

static int
cmd_rollback(const char *url, const char *id, const char *region, bool wait,
    int64_t timeout_ms, bool quiet)
{
	sk_cli_request req;
	sk_cli_response resp;
	char rid[SK_ID_MAX];
	sk_err err;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_ROLLBACK;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.region, sizeof(req.region), "%s", region ? region : "");
	if (call(url, &req, &resp, &err) != SK_OK) {
		print_err("rollout rollback", &err);
		return CLI_FAIL;
	}
	if (!resp.ok) {
		print_err("rollout rollback", &resp.error);
		sk_cli_response_fini(&resp);
		return CLI_FAIL;
	}
	snprintf(rid, sizeof(rid), "%s", resp.rollout_id);
	sk_cli_response_fini(&resp);
	printf("%s\n", rid);
	fflush(stdout);
	if (!wait)
		return CLI_OK;
	return cmd_wait(url, rid, timeout_ms, quiet);
}

/* ---- dispatch ----------------------------------------------------------- */

enum { OPT_REHEARSE = 256, OPT_REGION, OPT_WAIT, OPT_FORMAT };

typedef struct opts {
	const char *url;
	bool json, quiet, rehearse, wait;
	bool has_timeout;
	int64_t timeout_ms;
	const char *region;
	const char *format;
} opts;

/* Options a subcommand does not take are usage errors, not silently
 * ignored: `rollout start --region af` must not start everywhere. */
static int
misplaced(const char *sub, const char *opt, void (*sub_usage)(FILE *))
{
	cli_errorf("rollout", "%s does not take %s", sub, opt);
	sub_usage(stderr);
	return CLI_USAGE;
}

static int
one_id(const char *sub, int argc, char **argv, void (*sub_usage)(FILE *))
{
	if (argc == 1 && argv[0][0] != '\0')
		return CLI_OK;
	cli_errorf("rollout", "%s takes exactly one %s", sub,
	    strcmp(sub, "start") == 0 ? "signed plan" : "rollout ID");
	sub_usage(stderr);
	return CLI_USAGE;
}

static int
run(const char *sub, const opts *o, int argc, char **argv)
{
	int rc;

	if (strcmp(sub, "start") == 0) {
		if (o->region || o->wait || o->format || o->json || o->quiet)
			return misplaced(sub,
			    "--region, --wait, --format, --json or --quiet",
			    start_usage);
		if (o->has_timeout && !o->rehearse)
			return misplaced(
			    sub, "--timeout without --rehearse", start_usage);
		if ((rc = one_id(sub, argc, argv, start_usage)) != CLI_OK)
			return rc;
		return o->rehearse ? cmd_rehearse(o->url, argv[0], o->timeout_ms) :
				     cmd_start(o->url, argv[0]);
	}
	if (o->rehearse)
		return misplaced(sub, "--rehearse (only start does)", usage);
	if (strcmp(sub, "status") == 0) {
		if (o->region || o->wait || o->format || o->has_timeout || o->quiet)
			return misplaced(sub, "that option", status_usage);
		if (argc > 1) {
			cli_errorf("rollout", "status takes at most one rollout ID");
			status_usage(stderr);
			return CLI_USAGE;
		}
		return cmd_status(o->url, argc == 1 ? argv[0] : NULL, o->json);
	}
	if (strcmp(sub, "wait") == 0) {
		if (o->region || o->wait || o->format || o->json)
			return misplaced(sub, "that option", wait_usage);
		if ((rc = one_id(sub, argc, argv, wait_usage)) != CLI_OK)
			return rc;
		return cmd_wait(o->url, argv[0], o->timeout_ms, o->quiet);
	}
	if (strcmp(sub, "rollback") == 0) {
		if (o->format || o->json)
			return misplaced(sub, "--format or --json", rollback_usage);
		if ((o->has_timeout || o->quiet) && !o->wait)
			return misplaced(sub,
			    "--timeout or --quiet without --wait", rollback_usage);
		if ((rc = one_id(sub, argc, argv, rollback_usage)) != CLI_OK)
			return rc;
		return cmd_rollback(o->url, argv[0], o->region, o->wait,
		    o->timeout_ms, o->quiet);
	}
	if (strcmp(sub, "report") == 0) {
		const char *format = o->format ? o->format :
		    o->json                    ? "json" :
						 "md";

		if (o->region || o->wait || o->has_timeout || o->quiet)
			return misplaced(sub, "that option", report_usage);
		if (strcmp(format, "md") != 0 && strcmp(format, "json") != 0) {
			cli_errorf("rollout",
			    "report --format: '%s' is neither md nor json", format);
			return CLI_USAGE;
		}
		if ((rc = one_id(sub, argc, argv, report_usage)) != CLI_OK)
			return rc;
		return cmd_report(o->url, argv[0], format);
	}
	cli_errorf("rollout", "unknown subcommand: %s", sub);
	usage(stderr);
	return CLI_USAGE;
}

static void (*usage_of(const char *sub))(FILE *)
{
	static const struct {
		const char *name;
		void (*fn)(FILE *);
	} subs[] = {
		{ "start", start_usage },
		{ "status", status_usage },
		{ "wait", wait_usage },
		{ "rollback", rollback_usage },
		{ "report", report_usage },
	};

	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(subs[i].name, sub) == 0)
			return subs[i].fn;
	return usage;
}

int
cli_rollout(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "coordinator", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "rehearse", no_argument, NULL, OPT_REHEARSE },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	opts o = { .url = getenv("SKEIN_COORDINATOR") };
	void (*sub_usage)(FILE *);
	const char *sub;
	sk_err err;
	int c;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	sub = argv[1];
	sub_usage = usage_of(sub);
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "C:jt:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'C':
			o.url = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 't':
			if (sk_duration_parse(optarg, &o.timeout_ms, &err) != SK_OK) {
				cli_errorf("rollout", "--timeout: %s", err.msg);
				return CLI_USAGE;
			}
			o.has_timeout = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case OPT_REHEARSE:
			o.rehearse = true;
			break;
		case OPT_REGION:
			if (!sk_name_valid(optarg)) {
				cli_errorf("rollout",
				    "--region: '%s' is not a region name", optarg);
				return CLI_USAGE;
			}
			o.region = optarg;
			break;
		case OPT_WAIT:
			o.wait = true;
			break;
		case OPT_FORMAT:
			o.format = optarg;
			break;
		case 'h':
			sub_usage(stdout);
			return CLI_OK;
		default:
			sub_usage(stderr);
			return CLI_USAGE;
		}
	}
	argc -= 1 + optind;
	argv += 1 + optind;
	if (sub_usage == usage) {
		cli_errorf("rollout", "unknown subcommand: %s", sub);
		usage(stderr);
		return CLI_USAGE;
	}
	if (o.url == NULL || o.url[0] == '\0') {
		cli_errorf("rollout",
		    "no coordinator: pass --coordinator URL or set SKEIN_COORDINATOR");
		return CLI_USAGE;
	}
	return run(sub, &o, argc, argv);
}

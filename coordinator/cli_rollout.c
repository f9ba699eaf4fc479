/* cli_rollout: `skein rollout start|status|wait`, the operator's view of
 * the coordinator over its control socket. */
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
#include "sk_util.h"
#include "sk_wire.h"

#define CLI_TIMEOUT_MS 10000

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
			(*total)++;
			*ok += strcmp(v->phases[p].regions[r].state, "succeeded") == 0;
		}
}

static void
print_view(FILE *out, const sk_rollout_view *v)
{
	char created[32], finished[32], took[32];

	fmt_time(v->created_ms, created, sizeof(created));
	fmt_time(v->finished_ms, finished, sizeof(finished));
	fprintf(out, "rollout %s  plan %s (%s)  %s\n", v->id, v->plan_name,
	    v->plan_id, v->state);
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
			if (rv->step[0] && strcmp(rv->state, "succeeded") != 0)
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

/* ---- subcommands -------------------------------------------------------- */

static void
usage(FILE *out)
{
	fprintf(out,
	    "Usage:\n"
	    "  skein rollout start SIGNED_PLAN     start a rollout; prints its id\n"
	    "  skein rollout status [ID] [--json]  where each region is\n"
	    "  skein rollout wait ID [--timeout D] follow a rollout to its end\n"
	    "\n"
	    "Options:\n"
	    "  --coordinator URL  the coordinator's control URL\n"
	    "                     (default: $SKEIN_COORDINATOR)\n"
	    "  --json             (status) print JSON\n"
	    "  --timeout D        (wait) give up after a duration such as 30m\n"
	    "  --quiet            (wait) print only the final line\n"
	    "  -h, --help         show this help\n"
	    "\n"
	    "wait exits 0 when the rollout succeeded, 1 when it failed or halted\n"
	    "or the timeout passed.\n");
}

static int
cmd_start(const char *url, const char *path)
{
	sk_cli_request req;
	sk_cli_response resp;
	char *buf = NULL;
	size_t len = 0;
	sk_err err;
	int rc;

	memset(&req, 0, sizeof(req));
	if (sk_file_read(path, SK_ENVELOPE_MAX, &buf, &len, &err) != SK_OK) {
		print_err("rollout start", &err);
		return CLI_FAIL;
	}
	req.op = SK_CLI_START;
	req.signed_plan = (uint8_t *)buf;
	req.signed_plan_len = len;
	rc = call(url, &req, &resp, &err);
	free(buf);
	if (rc != SK_OK) {
		print_err("rollout start", &err);
		return CLI_FAIL;
	}
	if (!resp.ok) {
		print_err("rollout start", &resp.error);
		sk_cli_response_fini(&resp);
		return CLI_FAIL;
	}
	printf("%s\n", resp.rollout_id);
	sk_cli_response_fini(&resp);
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

static int
cmd_wait(const char *url, const char *id, int64_t timeout_ms, bool quiet)
{
	int64_t deadline = timeout_ms > 0 ? sk_mono_ms() + timeout_ms : 0;
	uint64_t since = 0;
	bool warned = false;

	for (;;) {
		sk_cli_response resp;
		sk_err err;
		const sk_rollout_view *v;

		if (fetch(url, id, since, &resp, &err) != SK_OK) {
			if (err.code != SK_ENET) {
				print_err("rollout wait", &err);
				return CLI_FAIL;
			}
			/* The coordinator may be restarting; keep following. */
			if (!warned)
				fprintf(stderr,
				    "skein rollout wait: %s; retrying\n", err.msg);
			warned = true;
		} else {
			warned = false;
			v = &resp.rollouts[0];
			for (size_t i = 0; !quiet && i < v->nevents; i++) {
				char ts[32];
				time_t t = (time_t)(v->events[i].at_ms / 1000);
				struct tm tm;

				gmtime_r(&t, &tm);
				strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
				printf("%s  %s\n", ts, v->events[i].text);
				since = v->events[i].seq;
			}
			fflush(stdout);
			if (strcmp(v->state, "running") != 0) {
				int rc = strcmp(v->state, "succeeded") == 0 ?
				    CLI_OK :
				    CLI_FAIL;

				print_final(v);
				sk_cli_response_fini(&resp);
				return rc;
			}
			sk_cli_response_fini(&resp);
		}
		if (deadline && sk_mono_ms() > deadline) {
			cli_errorf("rollout wait",
			    "rollout %s still running after the timeout", id);
			return CLI_FAIL;
		}
		sk_sleep_ms(200);
	}
}

int
cli_rollout(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "coordinator", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = getenv("SKEIN_COORDINATOR");
	const char *sub;
	bool json = false, quiet = false;
	int64_t timeout_ms = 0;
	sk_err err;
	int c;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	sub = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "C:jt:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			url = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 't':
			if (sk_duration_parse(optarg, &timeout_ms, &err) != SK_OK) {
				cli_errorf("rollout", "--timeout: %s", err.msg);
				return CLI_USAGE;
			}
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	argc -= 1 + optind;
	argv += 1 + optind;
	if (url == NULL || url[0] == '\0') {
		cli_errorf("rollout",
		    "no coordinator: pass --coordinator URL or set SKEIN_COORDINATOR");
		return CLI_USAGE;
	}
	if (strcmp(sub, "start") == 0 && argc == 1)
		return cmd_start(url, argv[0]);
	if (strcmp(sub, "status") == 0 && argc <= 1)
		return cmd_status(url, argc == 1 ? argv[0] : NULL, json);
	if (strcmp(sub, "wait") == 0 && argc == 1)
		return cmd_wait(url, argv[0], timeout_ms, quiet);
	cli_errorf("rollout", "unknown subcommand or wrong arguments: %s", sub);
	usage(stderr);
	return CLI_USAGE;
}

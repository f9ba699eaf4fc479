/* cli_stopline: `skein rollout abort`, `skein rollout pause|resume
 * --region`, and `skein stop` (stop the line, lift it, show it): their
 * exchange with the coordinator (coordinator/coord_opctl.c,
 * coord_line.c) and what their answers say. */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_control.h"
#include "cli_coord.h"
#include "cli_rollout_int.h"
#include "sk_config.h"
#include "sk_util.h"
#include "sk_wire.h"

/* "2026-12-03T10:00:00Z" of ms into buf. */
static void
utc(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	snprintf(buf, len, "?");
	if (gmtime_r(&t, &tm) != NULL)
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* s as a JSON string (escaping what JSON requires). */
static void
json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static int
call(const char *cmd, const char *url, const sk_cli_request *req, sk_cli_response *resp)
{
	return cli_coord_ask(cmd, url, req, resp) == SK_OK ? CLI_OK : CLI_FAIL;
}

static int
one_line(const char *cmd, const char *reason, size_t cap)
{
	if (reason == NULL)
		return CLI_OK;
	if (strlen(reason) >= cap) {
		cli_errorf(cmd, "--reason: %zu bytes, at most %zu",
		    strlen(reason), cap - 1);
		return CLI_USAGE;
	}
	for (const char *c = reason; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			cli_errorf(cmd,
			    "--reason: give it on one line, without "
			    "control characters");
			return CLI_USAGE;
		}
	return CLI_OK;
}

int
rollout_cmd_abort(const char *url, const char *id, const char *const *regions,
    size_t nregions, const char *reason)
{
	sk_cli_request req;
	sk_cli_response resp;
	char names[SK_OP_REGIONS_MAX * (SK_NAME_MAX + 2)] = "";
	size_t off = 0;
	int rc;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_ABORT;
	if (strlen(id) >= sizeof(req.rollout_id)) {
		cli_errorf("rollout abort", "'%.20s...' is not a rollout ID", id);
		return CLI_USAGE;
	}
	if ((rc = one_line("rollout abort", reason, sizeof(req.reason))) != CLI_OK)
		return rc;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.reason, sizeof(req.reason), "%s", reason ? reason : "");
	for (size_t i = 0; i < nregions && i < SK_OP_REGIONS_MAX; i++) {
		snprintf(req.regions[req.nregions++], SK_NAME_MAX, "%s", regions[i]);
		off += (size_t)snprintf(names + off, sizeof(names) - off,
		    "%s%s", i ? ", " : "", regions[i]);
	}
	if ((rc = call("rollout abort", url, &req, &resp)) != CLI_OK)
		return rc;
	if (nregions == 0)
		printf("rollout %s aborted: running steps finish, nothing else "
		       "starts\n",
		    resp.rollout_id);
	else
		printf("rollout %s aborted in %s %s: a running step finishes, "
		       "nothing else starts there, and %s failed; the rollout "
		       "fails once %s reported, and no later phase starts\n",
		    resp.rollout_id, nregions > 1 ? "regions" : "region", names,
		    nregions > 1 ? "each ends" : "it ends",
		    nregions > 1 ? "they have" : "it has");
	if (resp.nrollouts > 0)
		cli_control_print_left(stdout, &resp.rollouts[0]);
	sk_cli_response_fini(&resp);
	return CLI_OK;
}

int
rollout_cmd_region(const char *url, const char *id, bool pause,
    const char *const *regions, size_t nregions, const char *reason)
{
	sk_cli_request req;
	sk_cli_response resp;
	const char *cmd = pause ? "rollout pause" : "rollout resume";
	char names[SK_OP_REGIONS_MAX * (SK_NAME_MAX + 2)] = "";
	size_t off = 0;
	int rc;

	memset(&req, 0, sizeof(req));
	req.op = pause ? SK_CLI_PAUSE : SK_CLI_RESUME;
	if (strlen(id) >= sizeof(req.rollout_id)) {
		cli_errorf(cmd, "'%.20s...' is not a rollout ID", id);
		return CLI_USAGE;
	}
	if ((rc = one_line(cmd, reason, sizeof(req.reason))) != CLI_OK)
		return rc;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.reason, sizeof(req.reason), "%s", reason ? reason : "");
	for (size_t i = 0; i < nregions && i < SK_OP_REGIONS_MAX; i++) {
		snprintf(req.regions[req.nregions++], SK_NAME_MAX, "%s", regions[i]);
		off += (size_t)snprintf(names + off, sizeof(names) - off,
		    "%s%s", i ? ", " : "", regions[i]);
	}
	if ((rc = call(cmd, url, &req, &resp)) != CLI_OK)
		return rc;
	if (pause)
		printf("rollout %s paused in %s %s: a running step finishes and "
		       "no step starts there, nor does its phase complete, until "
		       "skein rollout resume %s --region ...\n",
		    resp.rollout_id, nregions > 1 ? "regions" : "region", names,
		    resp.rollout_id);
	else
		printf("rollout %s resumed in %s %s\n", resp.rollout_id,
		    nregions > 1 ? "regions" : "region", names);
	sk_cli_response_fini(&resp);
	return CLI_OK;
}

/* ---- skein stop ----------------------------------------------------------- */

static void
stop_usage(FILE *out)
{
	fprintf(out,
	    "Stop the line: pause every running rollout at its next safe point\n"
	    "(between steps; a backfill at its next batch), except those named;\n"
	    "rollouts started while it is stopped start paused. --lift resumes\n"
	    "exactly the rollouts the stop paused. Without options, show whether\n"
	    "the line is stopped, by whom, since when, why. Journaled; survives a\n"
	    "coordinator restart. --all and --lift need role operator; looking,\n"
	    "role viewer.\n"
	    "\n"
	    "Usage:\n"
	    "  skein stop --all [--reason TEXT] [--except ID]...\n"
	    "  skein stop --lift\n"
	    "  skein stop [--status] [--json]\n"
	    "\n"
	    "Options:\n"
	    "  --coordinator URL  the coordinator's control URL\n"
	    "  --key FILE         the operator's key\n"
	    "  --tls-ca, --tls-cert, --tls-key, --tls-server-name  as for skein\n"
	    "                     rollout (SKEIN_TLS_CA, ...)\n"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Exit status: 0 done; 1 refused (already stopped, not stopped, an\n"
	    "unknown --except, a role below operator) or unreachable; 2 usage.\n");
}

static void
print_line(const sk_line_view *l, bool json)
{
	char at[32];

	if (json) {
		printf("{\"stopped\":%s", l->stopped ? "true" : "false");
		if (l->stopped) {
			printf(",\"by\":");
			json_str(stdout, l->by);
			printf(",\"by_key\":");
			json_str(stdout, l->by_key);
			printf(",\"since_unix_ms\":%" PRId64 ",\"reason\":", l->since_ms);
			json_str(stdout, l->reason);
			printf(",\"except\":[");
			for (size_t i = 0; i < l->nexcept; i++) {
				printf(i ? "," : "");
				json_str(stdout, l->except[i]);
			}
			printf("],\"paused\":[");
			for (size_t i = 0; i < l->npaused; i++) {
				printf(i ? "," : "");
				json_str(stdout, l->paused[i]);
			}
			printf("]");
		}
		printf("}\n");
		return;
	}
	if (!l->stopped) {
		printf("the line runs (not stopped)\n");
		return;
	}
	utc(l->since_ms, at, sizeof(at));
	printf("the line is stopped by %s since %s%s%s\n", l->by, at,
	    l->reason[0] ? ": " : "", l->reason);
	for (size_t i = 0; i < l->nexcept; i++)
		printf("  except %s\n", l->except[i]);
	for (size_t i = 0; i < l->npaused; i++)
		printf("  holds %s paused\n", l->paused[i]);
}

int
cli_stop(int argc, char **argv)
{
	enum { OPT_ALL = 400, OPT_LIFT, OPT_STATUS, OPT_REASON, OPT_EXCEPT };
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, OPT_ALL },
		{ "lift", no_argument, NULL, OPT_LIFT },
		{ "status", no_argument, NULL, OPT_STATUS },
		{ "reason", required_argument, NULL, OPT_REASON },
		{ "except", required_argument, NULL, OPT_EXCEPT },
		{ "coordinator", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		CLI_COORD_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = getenv("SKEIN_COORDINATOR"), *reason = NULL;
	sk_cli_request req;
	sk_cli_response resp;
	int c, rc, nactions = 0;
	bool json = false;
	/* As skein rollout takes them: options over the environment; an
	 * empty value is none. */
	sk_tls_config tls;

	cli_coord_tls_env(&tls);
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_STOP;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":C:jh", longopts, NULL)) != -1) {
		if (cli_coord_option(c, optarg, &url, &tls))
			continue;
		switch (c) {
		case OPT_ALL:
			req.stop_action = SK_STOP_ALL;
			nactions++;
			break;
		case OPT_LIFT:
			req.stop_action = SK_STOP_LIFT;
			nactions++;
			break;
		case OPT_STATUS:
			req.stop_action = SK_STOP_STATUS;
			nactions++;
			break;
		case OPT_REASON:
			reason = optarg;
			break;
		case OPT_EXCEPT:
			if (req.nexcept == SK_LINE_EXCEPT_MAX ||
			    strlen(optarg) >= SK_ID_MAX || optarg[0] == '\0') {
				cli_errorf("stop",
				    "--except %s: not a rollout ID, or "
				    "more than %d",
				    optarg, SK_LINE_EXCEPT_MAX);
				return CLI_USAGE;
			}
			snprintf(req.except[req.nexcept++], SK_ID_MAX, "%s", optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			stop_usage(stdout);
			return CLI_OK;
		default:
			cli_errorf("stop", "unknown option or missing value: %s",
			    argv[optind - 1]);
			stop_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc || nactions > 1 ||
	    (req.stop_action != SK_STOP_ALL && (reason != NULL || req.nexcept > 0))) {
		cli_errorf("stop",
		    "give one of --all, --lift, --status; --reason and "
		    "--except go with --all");
		stop_usage(stderr);
		return CLI_USAGE;
	}
	if (url == NULL || url[0] == '\0') {
		cli_errorf("stop",
		    "no coordinator: pass --coordinator URL or set SKEIN_COORDINATOR");
		return CLI_USAGE;
	}
	if ((rc = one_line("stop", reason, sizeof(req.reason))) != CLI_OK)
		return rc;
	cli_coord_tls_blanks(&tls);
	cli_coord_tls(&tls);
	snprintf(req.reason, sizeof(req.reason), "%s", reason ? reason : "");
	if ((rc = call("stop", url, &req, &resp)) != CLI_OK)
		return rc;
	if (!resp.has_line) {
		cli_errorf("stop", "the coordinator does not know the line stop");
		sk_cli_response_fini(&resp);
		return CLI_FAIL;
	}
	if (req.stop_action == SK_STOP_LIFT && !json)
		printf("the line stop is lifted: the rollouts it paused go on\n");
	print_line(&resp.line, json);
	sk_cli_response_fini(&resp);
	return CLI_OK;
}

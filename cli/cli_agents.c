/* cli_agents: `skein agents [--json]`, every region's agent as the
 * coordinator sees it: connected or for how long not, its version, its
 * databases, the rollouts it runs. A read command (role viewer), signed
 * like every other. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_coord.h"
#include "sk_transport.h"
#include "sk_util.h"
#include "sk_view.h"
#include "sk_view.h"
#include "sk_wire.h"

static void
agents_usage(FILE *out)
{
	fprintf(out,
	    "List every region's agent as the coordinator sees it: connected\n"
	    "(it polled within its window: three times its poll hold plus 5 s)\n"
	    "or for how long not, its skein version, how many databases it\n"
	    "manages and the rollouts it runs. Needs role viewer.\n"
	    "\n"
	    "Usage:\n"
	    "  skein agents [--json]\n"
	    "\n"
	    "Options:\n"
	    "  --json             one object per agent, in a JSON array:\n"
	    "                     region, connected, last_seen_unix_ms (null:\n"
	    "                     never since the coordinator started),\n"
	    "                     silent_ms, window_ms, version, databases,\n"
	    "                     running (docs/operations.md, \"Agents\")\n"
	    "  --coordinator URL  the coordinator's control URL\n"
	    "                     (SKEIN_COORDINATOR)\n"
	    "  --key FILE         the operator's key (SKEIN_KEY)\n"
	    "  --tls-ca, --tls-cert, --tls-key, --tls-server-name  as for skein\n"
	    "                     rollout (SKEIN_TLS_CA, ...)\n"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Exit status: 0 listed; 1 refused or unreachable; 2 usage.\n");
}

/* "connected", "not connected for 2m10s" or "never seen" into buf. */
static void
agent_state(const sk_agent_view *a, char *buf, size_t len)
{
	char ago[32];

	if (a->connected) {
		snprintf(buf, len, "connected");
		return;
	}
	if (a->last_seen_ms == 0) {
		snprintf(buf, len, "never seen");
		return;
	}
	sk_duration_format(a->silent_ms / 1000 * 1000, ago, sizeof(ago));
	snprintf(buf, len, "not connected for %s", ago);
}

static void
print_table(const sk_agent_view *v, size_t n)
{
	char state[64];

	printf("%-12s %-28s %-10s %-9s %s\n", "REGION", "STATE", "VERSION",
	    "DATABASES", "RUNNING");
	for (size_t i = 0; i < n; i++) {
		const sk_agent_view *a = &v[i];
		bool seen = a->last_seen_ms != 0;

		agent_state(a, state, sizeof(state));
		printf("%-12s %-28s %-10s ", a->region, state,
		    seen && a->version[0] != '\0' ? a->version : "-");
		if (seen)
			printf("%-9u ", a->ndatabases);
		else
			printf("%-9s ", "-");
		for (size_t k = 0; k < a->nrunning; k++)
			printf("%s%s", k > 0 ? "," : "", a->running[k]);
		printf("%s\n", a->nrunning == 0 ? "-" : "");
	}
}

static int
print_json(const sk_agent_view *v, size_t n)
{
	json_t *arr = sk_view_agents_json(v, n);
	int rc = CLI_OK;

	if (arr == NULL ||
	    json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
		cli_errorf("agents", "write JSON: out of memory");
		rc = CLI_FAIL;
	} else {
		putchar('\n');
	}
	json_decref(arr);
	return rc;
}

int
cli_agents(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "coordinator", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		CLI_COORD_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = getenv("SKEIN_COORDINATOR");
	sk_tls_config tls;
	sk_cli_request req;
	sk_cli_response resp;
	bool json = false;
	int c, rc;

	cli_coord_tls_env(&tls);
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_AGENTS;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":C:jh", longopts, NULL)) != -1) {
		if (cli_coord_option(c, optarg, &url, &tls))
			continue;
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			agents_usage(stdout);
			return CLI_OK;
		default:
			cli_errorf("agents", "unknown option or missing value: %s",
			    argv[optind - 1]);
			agents_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		cli_errorf("agents", "unexpected argument %s", argv[optind]);
		agents_usage(stderr);
		return CLI_USAGE;
	}
	if (url == NULL || url[0] == '\0') {
		cli_errorf("agents",
		    "no coordinator: pass --coordinator URL or set SKEIN_COORDINATOR");
		return CLI_USAGE;
	}
	cli_coord_tls_blanks(&tls);
	cli_coord_tls(&tls);
	if (cli_coord_ask("agents", url, &req, &resp) != SK_OK)
		return CLI_FAIL;
	if (json)
		rc = print_json(resp.agents, resp.nagents);
	else
		print_table(resp.agents, resp.nagents);
	sk_cli_response_fini(&resp);
	return json ? rc : CLI_OK;
}

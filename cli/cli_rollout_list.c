/* cli_rollout_list: `skein rollout list [--json]`, every rollout on one
 * line: id, plan, mode, state, current phase, age, who started it, and
 * what it waits for (sk_view_waits_for). Made from the coordinator's status
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
#include "sk_view.h"
#include "sk_wire.h"

/* ---- the list ------------------------------------------------------------ */

static void
age(int64_t ms, char *buf, size_t len)
{
	int64_t now = sk_now_ms();

	sk_duration_format(now > ms ? now - ms : 0, buf, len);
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
		json_t *arr = sk_view_rollout_list_json(&resp);
		char *text;

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

		sk_view_waits_for(v, waits, sizeof(waits));
		age(v->created_ms, ago, sizeof(ago));
		printf("%-16s %-20s %-9s %-10s %-12s %-8s %-12s %s\n", v->id,
		    v->plan_name, sk_mode_name(v->mode), v->state,
		    sk_view_phase_name(v), ago,
		    v->started_by[0] ? v->started_by : "-", waits[0] ? waits : "-");
	}
	sk_cli_response_fini(&resp);
	return CLI_OK;
}

/* cli_gate: the phase gates on the CLI's side — `skein rollout approve
 * ID --phase NAME`, and the words, JSON and Markdown of a rollout's gates
 * and approvals. Words only: the coordinator holds the gates
 * (coordinator/coord_gate.c). */
#include "cli_gate.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_coord.h"
#include "sk_util.h"
#include "sk_window.h"
#include "sk_wire.h"

void
rollout_approve_usage(FILE *out, const char *tls_help)
{
	fprintf(out,
	    "Approve a phase of a rollout, signed with your operator key. A\n"
	    "phase with approval: in plan.yaml starts only when that many\n"
	    "distinct operators approved it (from those it names; not the\n"
	    "rollout's starter when not_by_starter). An approval may come before\n"
	    "the phase is reached. The coordinator journals it with your signed\n"
	    "request; status and the report show who approved what.\n"
	    "Needs role approver (or admin).\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout approve ID --phase NAME [--key FILE]\n"
	    "\n"
	    "Options:\n"
	    "  --phase NAME       the phase approved\n"
	    "  --key FILE         your operator key (default: $SKEIN_KEY)\n"
	    "  --coordinator URL  the coordinator's control URL\n%s"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Example:\n"
	    "  skein rollout approve r-abc --phase rest --key alice.key\n"
	    "\n"
	    "Exit status: 0 approved; 1 refused (unknown rollout or phase, a\n"
	    "finished rollout, a phase without approval or already started, an\n"
	    "operator not among its approvers, the starter, an approval already\n"
	    "given, a replayed request, a role below approver) or unreachable;\n"
	    "2 usage.\n",
	    tls_help);
}

int
rollout_cmd_approve(const char *url, const char *id, const char *phase)
{
	sk_cli_request req;
	sk_cli_response resp;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_APPROVE;
	if (strlen(id) >= sizeof(req.rollout_id) || phase == NULL ||
	    !sk_name_valid(phase)) {
		cli_errorf("rollout", "approve: give a rollout ID and --phase NAME");
		return CLI_USAGE;
	}
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.phase, sizeof(req.phase), "%s", phase);
	if (cli_coord_ask("rollout approve", url, &req, &resp) != SK_OK)
		return CLI_FAIL;
	for (size_t i = 0; resp.nrollouts > 0 && i < resp.rollouts[0].ngates + 1; i++) {
		const sk_rollout_view *v = &resp.rollouts[0];
		const sk_gate_view *g = i < v->ngates ? &v->gates[i] : NULL;
		uint32_t n = 0;

		if (g != NULL && strcmp(g->phase, phase) != 0)
			continue;
		for (size_t k = 0; k < v->napprovals; k++)
			n += strcmp(v->approvals[k].phase, phase) == 0;
		printf("rollout %s phase %s approved (%u approval%s so far)\n",
		    resp.rollout_id, phase, n, n == 1 ? "" : "s");
		break;
	}
	sk_cli_response_fini(&resp);
	return CLI_OK;
}

static void
utc(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%" PRId64, ms);
}

void
cli_gate_print(FILE *out, const sk_rollout_view *v, const char *indent)
{
	char waits[160];

	if (v->has_gate) {
		const sk_gate_view *g = &v->gate;

		sk_view_gate_waits(v, waits, sizeof(waits));
		fprintf(out, "%sgate: phase %s waits for %s", indent, g->phase,
		    waits[0] != '\0' ? waits : g->waiting_for);
		if (g->approvals_needed > 0 && g->napproved_by > 0) {
			fputs(" (approved by ", out);
			for (size_t i = 0; i < g->napproved_by; i++)
				fprintf(out, "%s%s", i ? ", " : "", g->approved_by[i]);
			fputc(')', out);
		}
		fputc('\n', out);
	}
	for (size_t i = 0; i < v->napprovals; i++) {
		const sk_approval_view *a = &v->approvals[i];
		char at[32];

		utc(a->at_ms, at, sizeof(at));
		fprintf(out, "%sapproved: phase %s by %s (key %.16s) at %s\n",
		    indent, a->phase, a->operator_name, a->key_id, at);
	}
}

void
cli_gate_md(FILE *out, const sk_rollout_view *v)
{
	if (v->ngates == 0 && v->napprovals == 0)
		return;
	fputs("\n## Gates and approvals\n\n", out);
	if (v->ngates > 0) {
		fputs("| phase | outcome | soak served | samples | approvals |\n"
		      "|---|---|---|---|---|\n",
		    out);
		for (size_t i = 0; i < v->ngates; i++) {
			const sk_gate_view *g = &v->gates[i];
			char served[32] = "-", total[32] = "", samples[32] = "-";
			char approvals[32] = "-";

			if (g->soak_ms > 0) {
				sk_duration_format(
				    g->soak_served_ms, served, sizeof(served));
				sk_duration_format(g->soak_ms, total, sizeof(total));
			}
			if (g->min_samples > 0)
				snprintf(samples, sizeof(samples), "%u/%u",
				    g->samples, g->min_samples);
			if (g->approvals_needed > 0)
				snprintf(approvals, sizeof(approvals), "%u/%u",
				    g->approvals, g->approvals_needed);
			fprintf(out, "| %s | %s | %s%s%s | %s | %s |\n", g->phase,
			    g->outcome[0] != '\0'         ? g->outcome :
				g->waiting_for[0] != '\0' ? g->waiting_for :
							    "-",
			    served, total[0] != '\0' ? " of " : "", total,
			    samples, approvals);
		}
		for (size_t i = 0; i < v->ngates; i++)
			for (size_t k = 0; k < v->gates[i].njudged; k++) {
				const sk_gate_judged *j = &v->gates[i].judged[k];

				if (k == 0)
					fprintf(out, "\nJudged in phase %s:\n\n",
					    v->gates[i].phase);
				if (j->erred)
					fprintf(out, "- %s in %s/%s: erred (no value)\n",
					    j->gate, j->region, j->database);
				else
					fprintf(out, "- %s in %s/%s: %g (threshold %g) %s\n",
					    j->gate, j->region, j->database,
					    j->value, j->threshold,
					    j->passed ? "passed" : "FAILED");
			}
	}
	if (v->napprovals > 0) {
		fputs("\n| approved phase | operator | key id | at (UTC) |\n"
		      "|---|---|---|---|\n",
		    out);
		for (size_t i = 0; i < v->napprovals; i++) {
			const sk_approval_view *a = &v->approvals[i];
			char at[32];

			utc(a->at_ms, at, sizeof(at));
			fprintf(out, "| %s | %s | `%s` | %s |\n", a->phase,
			    a->operator_name, a->key_id, at);
		}
	}
	fputc('\n', out);
}

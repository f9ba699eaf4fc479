/* cli_rehearsal: the verdict of `skein rollout start --rehearse`: READY
 * or BLOCKED per region and database, from the execution record's model
 * (sk_view_record.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sk_view_mode.h"
#include "sk_view_move.h"
#include "sk_view_record.h"

/* ---- rehearsal verdicts ------------------------------------------------- */

static void
emit_indented(void *arg, const char *text)
{
	fprintf(arg, "      - %s\n", text);
}

static void
print_not_rehearsable(FILE *out, const sk_rec_db *d)
{
	for (size_t s = 0; s < d->nsteps; s++)
		if (d->steps[s].result != NULL &&
		    strcmp(d->steps[s].result, "not-rehearsable") == 0)
			fprintf(out, "      not rehearsable: step %s%s%s\n",
			    d->steps[s].id,
			    d->steps[s].detail && d->steps[s].detail[0] ? ": " : "",
			    d->steps[s].detail ? d->steps[s].detail : "");
}

void
cli_rehearsal_print(FILE *out, const sk_rec_src *src, cli_verdicts *counts)
{
	const sk_rollout_view *v = src->view;
	char names[512] = "", silent[512] = "";
	size_t off = 0, soff = 0;
	const sk_view_mode_row *mode = sk_view_mode_of(SK_MODE_REHEARSE);
	sk_rec_model m;

	memset(counts, 0, sizeof(*counts));
	sk_rec_build(&m, src);
	fprintf(out, "%s %s of plan %s (%s):\n", mode->label, v->id,
	    v->plan_name, v->plan_id);
	for (size_t i = 0; i < m.nregions; i++) {
		const sk_rec_region *g = &m.regions[i];
		int outcome = sk_rec_region_outcome(g);
		const char *verdict = mode->verdict[outcome];
		const char *state = g->view ? g->view->state : "";

		counts->total++;
		if (outcome == SK_VIEW_OUT_OK) {
			counts->ready++;
		} else if (outcome == SK_VIEW_OUT_FAILED) {
			counts->blocked++;
			if (off < sizeof(names))
				off += (size_t)snprintf(names + off,
				    sizeof(names) - off, "%s%s",
				    off ? ", " : "", g->name);
		} else {
			counts->silent++;
			if (soff < sizeof(silent))
				soff += (size_t)snprintf(silent + soff,
				    sizeof(silent) - soff, "%s%s",
				    soff ? ", " : "", g->name);
		}
		if (strcmp(state, "refused") == 0 && g->view != NULL) {
			char e[SK_ERR_MSG_MAX + 32];

			sk_rec_err_line(&g->view->error, e, sizeof(e));
			fprintf(out, "  %s: BLOCKED: the agent refused the plan: %s\n",
			    g->name, e);
			continue;
		}
		if (outcome == SK_VIEW_OUT_NONE) {
			fprintf(out, "  %s: NO VERDICT: %s\n", g->name,
			    strcmp(state, "pending") == 0 ||
				    strcmp(state, "dispatched") == 0 ?
				"the agent never took the plan (is it connected?)" :
				"still running");
		}
		if (g->ndbs == 0 && outcome != SK_VIEW_OUT_NONE) {
			fprintf(out, "  %s: %s (no database reported)\n",
			    g->name, verdict);
			if (outcome == SK_VIEW_OUT_FAILED && g->view != NULL &&
			    g->view->error.msg[0])
				fprintf(out, "      - %s\n", g->view->error.msg);
		}
		for (size_t k = 0; k < g->ndbs; k++) {
			const sk_rec_db *d = &g->dbs[k];
			int dout = sk_rec_db_outcome(d);

			fprintf(out, "  %s/%s: %s\n", g->name, d->name,
			    mode->verdict[dout]);
			if (dout == SK_VIEW_OUT_FAILED)
				sk_rec_db_reasons(d, emit_indented, out);
			print_not_rehearsable(out, d);
			sk_view_move_rehearsal_lines(out, src, g->name, d->name); /* moves */
		}
	}
	if (counts->blocked > 0)
		fprintf(out, "%s %s: %s in %zu/%zu regions (%s)", mode->label,
		    v->id, mode->verdict[SK_VIEW_OUT_FAILED], counts->blocked,
		    counts->total, names);
	else
		fprintf(out, "%s %s: %s in %zu/%zu regions", mode->label, v->id,
		    mode->verdict[SK_VIEW_OUT_OK], counts->ready, counts->total);
	if (counts->silent > 0)
		fprintf(out, "; no verdict from %zu (%s)", counts->silent, silent);
	fputc('\n', out);
	sk_rec_free(&m);
}

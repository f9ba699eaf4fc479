/* sk_plan_print_gates: a phase's gates for people (`skein plan show`)
 * and as JSON: soak, health thresholds, sampling, approval, window. */
#include "sk_plan_print_gates.h"

#include <stdbool.h>
#include <string.h>

#include "sk_json.h"
#include "sk_util.h"

static void
print_names(FILE *out, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? ", " : "", v[i]);
}

void
plan_print_gates(FILE *out, const sk_phase *ph)
{
	char d[32];

	if (ph->soak_ms > 0) {
		sk_duration_format(ph->soak_ms, d, sizeof(d));
		fprintf(out, "     soak %s before the next phase\n", d);
	}
	for (size_t i = 0; i < ph->nhealth; i++)
		fprintf(out, "     health %s: fails above %g%s\n",
		    ph->health[i].signal, ph->health[i].max,
		    strcmp(ph->health[i].signal, "replication_lag") == 0 ? " s" : "");
	if (sk_phase_samples(ph)) {
		sk_duration_format(ph->sample_interval_ms, d, sizeof(d));
		fprintf(out, "     sampled every %s, at least %u good samples per database\n",
		    d, ph->min_samples);
	}
	if (ph->approval_count > 0) {
		fprintf(out, "     approval by %u operator%s",
		    ph->approval_count, ph->approval_count == 1 ? "" : "s");
		if (ph->napprovers > 0) {
			fputs(" of ", out);
			print_names(out, ph->approvers, ph->napprovers);
		}
		if (ph->not_by_starter)
			fputs(", not the starter", out);
		fputc('\n', out);
	}
	if (sk_window_set(&ph->window)) {
		const sk_window *w = &ph->window;

		fputs("     window ", out);
		if (w->ndays > 0)
			print_names(out, w->days, w->ndays);
		else
			fputs("every day", out);
		if (w->from != NULL)
			fprintf(out, " %s-%s", w->from, w->until);
		fprintf(out, " %s\n", w->tz != NULL ? w->tz : "UTC");
	}
}

static json_t *
jnames(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, sk_json_str(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

int
plan_gates_json(json_t *o, const sk_phase *ph)
{
	int bad = 0;

	if (ph->soak_ms > 0)
		bad |= json_object_set_new(o, "soak_ms", json_integer(ph->soak_ms));
	if (ph->nhealth > 0) {
		json_t *h = json_object();

		for (size_t i = 0; h != NULL && i < ph->nhealth; i++)
			bad |= json_object_set_new(h, ph->health[i].signal,
			    json_real(ph->health[i].max));
		bad |= json_object_set_new(o, "health", h);
	}
	if (sk_phase_samples(ph))
		bad |= json_object_set_new(o, "sample",
		    json_pack("{s:I,s:i}", "every_ms", (json_int_t)ph->sample_interval_ms,
			"min", (int)ph->min_samples));
	if (ph->approval_count > 0)
		bad |= json_object_set_new(o, "approval",
		    json_pack("{s:i,s:o,s:b}", "count", (int)ph->approval_count,
			"from", jnames(ph->approvers, ph->napprovers),
			"not_by_starter", ph->not_by_starter));
	if (sk_window_set(&ph->window)) {
		const sk_window *w = &ph->window;

		bad |= json_object_set_new(o, "window",
		    json_pack("{s:o,s:s?,s:s?,s:s}", "days",
			jnames(w->days, w->ndays), "from", w->from, "until",
			w->until, "tz", w->tz != NULL ? w->tz : "UTC"));
	}
	return bad;
}

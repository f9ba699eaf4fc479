/* cli_control: operators' word to a rollout, in words (cli_control.h). */
#include "cli_control.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

static void
utc(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	snprintf(buf, len, "?");
	if (gmtime_r(&t, &tm) != NULL)
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "af, in" of c's regions into buf; "" for the whole rollout. */
static void
regions(const sk_control_view *c, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < c->nregions && off < len; i++)
		off += (size_t)snprintf(
		    buf + off, len - off, "%s%s", i ? ", " : "", c->regions[i]);
}

/* True if region was aborted on its own (an abort in the control
 * history names it). */
static bool
aborted_alone(const sk_rollout_view *v, const char *region)
{
	for (size_t i = 0; i < v->ncontrols; i++) {
		const sk_control_view *c = &v->controls[i];

		for (size_t k = 0; c->kind == SK_CMD_ABORT && k < c->nregions; k++)
			if (strcmp(c->regions[k], region) == 0)
				return true;
	}
	return false;
}

void
cli_control_print_left(FILE *out, const sk_rollout_view *v)
{
	bool whole = strcmp(v->state, "aborted") == 0;

	fprintf(out, "  what it left%s:\n", whole ? "" : " in the aborted regions");
	for (size_t p = 0; p < v->nphases; p++)
		for (size_t i = 0; i < v->phases[p].nregions; i++) {
			const sk_region_view *r = &v->phases[p].regions[i];
			size_t shown = 0;

			if (!whole && !aborted_alone(v, r->name))
				continue;

			for (size_t k = 0; k < v->nleft; k++) {
				const sk_left_view *l = &v->left[k];

				if (strcmp(l->region, r->name) != 0)
					continue;
				shown++;
				fprintf(out, "    %s/%s: %u/%u steps done", l->region,
				    l->database, l->steps_done, l->steps_total);
				if (l->step[0] != '\0')
					fprintf(out, "; step %s %s", l->step,
					    l->step_finished ? "finished" :
							       "was running");
				if (strcmp(l->state, "running") == 0 ||
				    strcmp(l->state, "waiting") == 0)
					fprintf(out, " (still ending it)");
				fputc('\n', out);
			}
			if (shown == 0)
				fprintf(out, "    %s: %s, nothing ran there\n",
				    r->name, r->state);
		}
	fprintf(out, "  to roll back what ran: skein rollout rollback %s%s\n", v->id,
	    whole || strcmp(v->state, "running") != 0 ? "" : " (once it has ended)");
}

void
cli_control_print(FILE *out, const sk_rollout_view *v)
{
	char at[32], where[SK_OP_REGIONS_MAX * (SK_NAME_MAX + 2)];

	if (v->paused && v->paused_by_line)
		fprintf(out,
		    "  stopped by %s%s%s (the line is stopped: skein stop "
		    "--lift)\n",
		    v->paused_by, v->pause_reason[0] ? ": " : "", v->pause_reason);
	for (size_t i = 0; i < v->nregion_pauses; i++) {
		const sk_region_pause_view *p = &v->region_pauses[i];

		utc(p->at_ms, at, sizeof(at));
		fprintf(out, "  paused in %s: by %s (%s%s) at %s%s%s\n",
		    p->region, p->by, p->by_key[0] ? "key " : "unsigned",
		    p->by_key, at, p->reason[0] ? ": " : "", p->reason);
	}
	for (size_t i = 0; i < v->ncontrols; i++) {
		const sk_control_view *c = &v->controls[i];

		utc(c->at_ms, at, sizeof(at));
		regions(c, where, sizeof(where));
		fprintf(out, "  control: %s%s%s by %s (%s%s) at %s%s%s\n",
		    sk_view_control_action(c), where[0] ? " in " : "", where,
		    c->actor, c->actor_key[0] ? "key " : "unsigned",
		    c->actor_key, at, c->reason[0] ? ": " : "", c->reason);
	}
	if (sk_view_any_abort(v))
		cli_control_print_left(out, v);
}

/* s in a table cell: '|' and newlines would break the row. */
static void
cell(FILE *out, const char *s)
{
	fputc(' ', out);
	for (; *s != '\0'; s++)
		fputs(*s == '|'    ? "\\|" :
			*s == '\n' ? " " :
				     (char[2]){ *s, 0 },
		    out);
	fputs(" |", out);
}

void
cli_control_md(FILE *out, const sk_rollout_view *v)
{
	char at[32], where[SK_OP_REGIONS_MAX * (SK_NAME_MAX + 2)];

	if (v->ncontrols == 0)
		return;
	fprintf(out,
	    "## Control\n\n| Action | Regions | Operator | Key | Time | "
	    "Reason |\n|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < v->ncontrols; i++) {
		const sk_control_view *c = &v->controls[i];

		utc(c->at_ms, at, sizeof(at));
		regions(c, where, sizeof(where));
		fprintf(out, "| %s | %s |", sk_view_control_action(c),
		    where[0] ? where : "all");
		cell(out, c->actor);
		fprintf(out, " %s | %s |",
		    c->actor_key[0] ? c->actor_key : "unsigned", at);
		cell(out, c->reason);
		fputc('\n', out);
	}
	fputc('\n', out);
	if (sk_view_any_abort(v)) {
		fprintf(out, "%s. What it left:\n\n```\n",
		    strcmp(v->state, "aborted") == 0 ? "Aborted" :
						       "Aborted in some regions");
		cli_control_print_left(out, v);
		fprintf(out, "```\n\n");
	}
}

/* sk_view_flag: flags in rollout status and the execution record
 * (sk_view_flag.h). */
#include "sk_view_flag.h"

#include <string.h>

void
sk_view_flag_status(FILE *out, const sk_rollout_view *v)
{
	size_t flipped = sk_view_flag_flipped(v);

	if (v->nflags_first == 0)
		return;
	fprintf(out, "  flags first: %zu/%zu regions flipped%s\n", flipped,
	    v->nflags_first,
	    flipped == v->nflags_first ?
		"; reverts run phase by phase" :
		"; no revert runs before every region flipped");
	for (size_t i = 0; i < v->nflags_first; i++) {
		const sk_region_view *r = &v->flags_first[i];

		if (strcmp(r->state, "succeeded") == 0)
			continue;
		fprintf(out, "    %-12s %-10s", r->name, r->state);
		if (r->detail[0])
			fprintf(out, "  %s", r->detail);
		if (r->error.code != SK_OK && r->error.msg[0])
			fprintf(out, "  error: %s", r->error.msg);
		fputc('\n', out);
	}
}

/* "old -> new" of a flip into buf. */
static void
change(const sk_flag_report *f, char *buf, size_t len)
{
	snprintf(buf, len, "%s -> %s", f->old_absent ? "(unset)" : f->old_value,
	    f->new_absent ? "(unset)" : f->new_value);
}

void
sk_view_flag_report_md(FILE *out, const sk_rec_src *src)
{
	bool any = false;
	char ch[300];

	for (size_t i = 0; i < src->nreports; i++) {
		const sk_region_report *rr = &src->reports[i];
		const sk_report *r = &rr->report;

		if (r->event != SK_EV_FLAG || !r->has_flag)
			continue;
		if (!any) {
			fprintf(out,
			    "## Feature flags\n\n"
			    "| region | database | step | flag | tenant | "
			    "change | by |\n"
			    "|---|---|---|---|---|---|---|\n");
			any = true;
		}
		change(&r->flag, ch, sizeof(ch));
		fprintf(out, "| %s | %s | %s | %s | %s | %s | %s |\n",
		    rr->region, r->database, r->step_id, r->flag.name,
		    r->flag.every_tenant ? "(every tenant)" : r->flag.tenant, ch,
		    !r->flag.reverted ? "apply" :
			r->flags_only ? "rollback, flags first" :
					"rollback");
	}
	if (any)
		fputc('\n', out);
}

json_t *
sk_view_flag_report_json(const sk_rec_src *src)
{
	json_t *a = json_array();
	int bad = 0;

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < src->nreports; i++) {
		const sk_region_report *rr = &src->reports[i];
		const sk_report *r = &rr->report;
		json_t *x;

		if (r->event != SK_EV_FLAG || !r->has_flag)
			continue;
		x = json_object();
		if (x == NULL) {
			json_decref(a);
			return NULL;
		}
		bad |= json_object_set_new(x, "region", json_string(rr->region));
		bad |= json_object_set_new(x, "database", json_string(r->database));
		bad |= json_object_set_new(x, "step", json_string(r->step_id));
		bad |= json_object_set_new(x, "flag", json_string(r->flag.name));
		bad |= json_object_set_new(x, "tenant",
		    r->flag.every_tenant ? json_null() : json_string(r->flag.tenant));
		bad |= json_object_set_new(x, "old",
		    r->flag.old_absent ? json_null() : json_string(r->flag.old_value));
		bad |= json_object_set_new(x, "new",
		    r->flag.new_absent ? json_null() : json_string(r->flag.new_value));
		bad |= json_object_set_new(
		    x, "reverted", json_boolean(r->flag.reverted));
		bad |= json_object_set_new(
		    x, "flags_first", json_boolean(r->flags_only));
		bad |= json_object_set_new(x, "at_ms", json_integer(r->at_ms));
		bad |= json_array_append_new(a, x);
	}
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* sk_view_move: tenant moves in the execution record (sk_view_move.h). */
#include "sk_view_move.h"

#include <inttypes.h>
#include <string.h>

#include "sk_util.h"

/* Whether r ends a move step (or its rehearsal) with its figures. */
static bool
move_end(const sk_report *r)
{
	return r->has_move &&
	    (r->event == SK_EV_STEP_FINISHED || r->event == SK_EV_STEP_FAILED ||
		r->event == SK_EV_STEP_REHEARSED);
}

static const char *
move_result(const sk_report *r)
{
	if (r->event == SK_EV_STEP_REHEARSED)
		return r->move.verdict[0] ? r->move.verdict : "rehearsed";
	if (r->event == SK_EV_STEP_FINISHED)
		return "moved";
	if (r->move.committed)
		return "failed after the commit point (run again to finish the flip)";
	return r->move.aborted ? "aborted; the source stays authoritative" : "failed";
}

/* Whether the same table has the same rows and sum on both sides. */
static bool
sums_agree(const sk_move_sums_view *a, const sk_move_sums_view *b)
{
	if (a->ntables != b->ntables)
		return false;
	for (size_t i = 0; i < a->ntables; i++)
		if (strcmp(a->tables[i].table, b->tables[i].table) != 0 ||
		    a->tables[i].rows != b->tables[i].rows ||
		    a->tables[i].sum != b->tables[i].sum)
			return false;
	return true;
}

/* Open both sides' sums of one verification (source index si, target
 * ti); false when either is missing or does not decode. */
static bool
open_pair(const sk_move_report *m, int si, int ti, sk_move_sums_view *s,
    sk_move_sums_view *t)
{
	sk_err err;

	return m->sums[si].len > 0 && m->sums[ti].len > 0 &&
	    sk_move_sums_open(&m->sums[si], s, &err) == SK_OK &&
	    sk_move_sums_open(&m->sums[ti], t, &err) == SK_OK;
}

static void
md_verification(FILE *out, const sk_move_report *m, int si, int ti, const char *when)
{
	sk_move_sums_view s, t;

	if (!open_pair(m, si, ti, &s, &t)) {
		fprintf(out, "- %s: not reached\n", when);
		return;
	}
	fprintf(out,
	    "- %s (%s): %s; source signed by %s (%s), target by %s (%s)\n", when,
	    s.delta ? "row counts, and sums over the keys changed since the full check" :
		      "full row counts and sums",
	    s.signature_ok && t.signature_ok && sums_agree(&s, &t) ? "equal" : "DIFFERENT",
	    s.key_id, s.signature_ok ? "signature valid" : "SIGNATURE INVALID",
	    t.key_id, t.signature_ok ? "signature valid" : "SIGNATURE INVALID");
	for (size_t i = 0; i < s.ntables; i++) {
		const char *tr = "-";
		char tbuf[64] = "-";

		for (size_t k = 0; k < t.ntables; k++)
			if (strcmp(t.tables[k].table, s.tables[i].table) == 0) {
				snprintf(tbuf, sizeof(tbuf),
				    "%" PRId64 " rows, %016" PRIx64,
				    t.tables[k].rows, t.tables[k].sum);
				tr = tbuf;
			}
		fprintf(out, "  - %s: source %" PRId64 " rows, %016" PRIx64 "; target %s\n",
		    s.tables[i].table, s.tables[i].rows, s.tables[i].sum, tr);
	}
}

void
sk_view_move_report_md(FILE *out, const sk_rec_src *src)
{
	bool any = false;

	for (size_t i = 0; i < src->nreports; i++) {
		const sk_region_report *rr = &src->reports[i];
		const sk_report *r = &rr->report;
		const sk_move_report *m = &r->move;

		if (!move_end(r))
			continue;
		if (!any)
			fprintf(out, "## Tenant moves\n\n");
		any = true;
		fprintf(out, "### %s: %s -> %s (%s/%s): %s\n\n", r->step_id,
		    m->source_region, m->target_region, rr->region, r->database,
		    move_result(r));
		if (r->event == SK_EV_STEP_REHEARSED) {
			fprintf(out,
			    "- %" PRId64 " rows, %" PRId64
			    " bytes; estimated copy %" PRId64 " ms, freeze %" PRId64
			    " ms, rollback bound %" PRId64 " ms\n\n",
			    m->rows_total, m->bytes_total, m->est_copy_ms,
			    m->est_freeze_ms, m->est_rollback_ms);
			continue;
		}
		if (r->event == SK_EV_STEP_FAILED && r->error.msg[0])
			fprintf(out, "- error: %s\n", r->error.msg);
		fprintf(out,
		    "- %" PRId64 " rows, %" PRId64 " bytes copied in %" PRId64
		    " ms; %" PRId64 " changes caught up in %" PRId64
		    " ms; the tenant's writes held %" PRId64 " ms\n",
		    m->rows, m->bytes, m->copy_ms, m->changes, m->catchup_ms,
		    m->freeze_ms);
		md_verification(out, m, SK_MOVE_SUMS_SOURCE,
		    SK_MOVE_SUMS_TARGET, "after the catch-up");
		md_verification(out, m, SK_MOVE_SUMS_SOURCE_FREEZE,
		    SK_MOVE_SUMS_TARGET_FREEZE, "in the freeze");
		fputc('\n', out);
	}
}

static json_t *
j_sums(const sk_move_signed *sg)
{
	sk_move_sums_view v;
	json_t *o, *tables;
	sk_err err;

	if (sg->len == 0 || sk_move_sums_open(sg, &v, &err) != SK_OK)
		return json_null();
	o = json_object();
	tables = json_array();
	if (o == NULL || tables == NULL) {
		json_decref(o);
		json_decref(tables);
		return NULL;
	}
	json_object_set_new(o, "region", json_string(v.region));
	json_object_set_new(o, "signer", json_string(v.key_id));
	json_object_set_new(o, "signature_ok", json_boolean(v.signature_ok));
	json_object_set_new(o, "delta", json_boolean(v.delta));
	json_object_set_new(o, "snapshot", json_string(v.snapshot));
	for (size_t i = 0; i < v.ntables; i++) {
		json_t *t = json_object();
		char sum[17];

		snprintf(sum, sizeof(sum), "%016" PRIx64, v.tables[i].sum);
		json_object_set_new(t, "table", json_string(v.tables[i].table));
		json_object_set_new(t, "rows", json_integer(v.tables[i].rows));
		json_object_set_new(t, "sum", json_string(sum));
		json_array_append_new(tables, t);
	}
	json_object_set_new(o, "tables", tables);
	return o;
}

static json_t *
j_agree(const sk_move_report *m, int si, int ti)
{
	sk_move_sums_view s, t;

	if (!open_pair(m, si, ti, &s, &t))
		return json_null();
	return json_boolean(s.signature_ok && t.signature_ok && sums_agree(&s, &t));
}

json_t *
sk_view_move_report_json(const sk_rec_src *src)
{
	json_t *a = json_array();

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < src->nreports; i++) {
		const sk_region_report *rr = &src->reports[i];
		const sk_report *r = &rr->report;
		const sk_move_report *m = &r->move;
		json_t *o;

		if (!move_end(r))
			continue;
		o = json_object();
		if (o == NULL) {
			json_decref(a);
			return NULL;
		}
		json_object_set_new(o, "step", json_string(r->step_id));
		json_object_set_new(o, "region", json_string(rr->region));
		json_object_set_new(o, "database", json_string(r->database));
		json_object_set_new(o, "from", json_string(m->source_region));
		json_object_set_new(o, "to", json_string(m->target_region));
		json_object_set_new(o, "result", json_string(move_result(r)));
		json_object_set_new(o, "verdict", json_string(m->verdict));
		json_object_set_new(o, "rows", json_integer(m->rows));
		json_object_set_new(o, "bytes", json_integer(m->bytes));
		json_object_set_new(o, "rows_total", json_integer(m->rows_total));
		json_object_set_new(o, "bytes_total", json_integer(m->bytes_total));
		json_object_set_new(o, "changes", json_integer(m->changes));
		json_object_set_new(o, "copy_ms", json_integer(m->copy_ms));
		json_object_set_new(o, "catchup_ms", json_integer(m->catchup_ms));
		json_object_set_new(o, "freeze_ms", json_integer(m->freeze_ms));
		json_object_set_new(o, "est_copy_ms", json_integer(m->est_copy_ms));
		json_object_set_new(o, "est_freeze_ms", json_integer(m->est_freeze_ms));
		json_object_set_new(
		    o, "est_rollback_ms", json_integer(m->est_rollback_ms));
		json_object_set_new(o, "aborted", json_boolean(m->aborted));
		json_object_set_new(o, "committed", json_boolean(m->committed));
		json_object_set_new(
		    o, "source_sums", j_sums(&m->sums[SK_MOVE_SUMS_SOURCE]));
		json_object_set_new(
		    o, "target_sums", j_sums(&m->sums[SK_MOVE_SUMS_TARGET]));
		json_object_set_new(o, "source_freeze_sums",
		    j_sums(&m->sums[SK_MOVE_SUMS_SOURCE_FREEZE]));
		json_object_set_new(o, "target_freeze_sums",
		    j_sums(&m->sums[SK_MOVE_SUMS_TARGET_FREEZE]));
		json_object_set_new(o, "verified",
		    j_agree(m, SK_MOVE_SUMS_SOURCE, SK_MOVE_SUMS_TARGET));
		json_object_set_new(o, "verified_in_freeze",
		    j_agree(m, SK_MOVE_SUMS_SOURCE_FREEZE, SK_MOVE_SUMS_TARGET_FREEZE));
		json_array_append_new(a, o);
	}
	return a;
}

void
sk_view_move_rehearsal_lines(
    FILE *out, const sk_rec_src *src, const char *region, const char *database)
{
	for (size_t i = 0; i < src->nreports; i++) {
		const sk_region_report *rr = &src->reports[i];
		const sk_report *r = &rr->report;
		const sk_move_report *m = &r->move;
		char copy[32], freeze[32], back[32];

		if (!r->has_move || r->event != SK_EV_STEP_REHEARSED ||
		    strcmp(rr->region, region) != 0 ||
		    strcmp(r->database, database) != 0)
			continue;
		sk_duration_format(m->est_copy_ms > 0 ? m->est_copy_ms : 1,
		    copy, sizeof(copy));
		sk_duration_format(m->est_freeze_ms > 0 ? m->est_freeze_ms : 1,
		    freeze, sizeof(freeze));
		sk_duration_format(m->est_rollback_ms > 0 ? m->est_rollback_ms : 1,
		    back, sizeof(back));
		fprintf(out,
		    "      move %s (%s -> %s): %" PRId64 " rows, %.1f MB; copy about %s, "
		    "writes held about %s, rollback bound %s\n",
		    r->step_id, m->source_region, m->target_region, m->rows_total,
		    (double)m->bytes_total / (1024.0 * 1024.0), copy, freeze, back);
	}
}

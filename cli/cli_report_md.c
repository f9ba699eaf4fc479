/* cli_report_md: the execution record as a Markdown document, written for
 * an operator to paste into a change record (the log the seed runbook
 * 002 asks them to write by hand). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_control.h"
#include "cli_decision.h"
#include "cli_gate.h"
#include "sk_view_flag.h"
#include "sk_view_move.h"
#include "sk_view_mode.h"
#include "sk_view_record.h"

/* ---- Markdown ----------------------------------------------------------- */

/* A table cell: no pipes or line breaks. */
static void
md_cell(FILE *out, const char *s)
{
	fputs(" ", out);
	for (; s != NULL && *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', out);
		else
			fputc(*s, out);
	}
	fputs(" |", out);
}

static void
emit_md_item(void *arg, const char *text)
{
	fprintf(arg, "- %s\n", text);
}

static void
md_header(FILE *out, const sk_rec_src *src, const sk_rec_model *m)
{
	const sk_rollout_view *v = src->view;
	const sk_view_mode_row *mode = sk_view_mode_of(v->mode);
	char a[40], b[40], d[32], line[512];

	sk_rec_fmt_iso(v->created_ms, a, sizeof(a));
	sk_rec_fmt_iso(v->finished_ms, b, sizeof(b));
	sk_rec_fmt_dur(v->finished_ms > 0 ? v->finished_ms - v->created_ms : -1,
	    d, sizeof(d));
	fprintf(out, "# Execution record: rollout %s\n\n", v->id);
	fprintf(out, "| Field | Value |\n|---|---|\n");
	fprintf(out, "| Rollout | %s |\n", v->id);
	fprintf(out, "| Mode | %s |\n", mode->title);
	if (mode->undoes)
		fprintf(out, "| Rolls back | %s |\n", v->of_rollout);
	fprintf(out, "| Plan |");
	md_cell(out, v->plan_name);
	fprintf(out, "\n| Plan id | %s |\n", v->plan_id);
	fprintf(out, "| State | %s |\n", v->state);
	if (v->started_by[0] != '\0')
		fprintf(out, "| Started by | %s (key %s) |\n", v->started_by,
		    v->started_by_key[0] != '\0' ? v->started_by_key : "none: unsigned");
	cli_decision_backup(v, line, sizeof(line));
	if (line[0] != '\0') {
		fprintf(out, "| Backup before revert |");
		md_cell(out, line);
		fputc('\n', out);
	}
	cli_decision_reapply(v, line, sizeof(line));
	if (line[0] != '\0') {
		fprintf(out, "| Re-apply |");
		md_cell(out, line);
		fputc('\n', out);
	}
	fprintf(out, "| Started | %s |\n| Finished | %s |\n| Duration | %s |\n",
	    a, b, d);
	fprintf(out, "| Regions |");
	{
		char list[1024] = "";
		size_t off = 0;

		for (size_t i = 0; i < m->nregions && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off,
			    "%s%s", i ? ", " : "", m->regions[i].name);
		md_cell(out, list);
	}
	fputc('\n', out);
	if (v->reason[0]) {
		fprintf(out, "| %s |", mode->halted);
		md_cell(out, v->reason);
		fputc('\n', out);
	}
	fputc('\n', out);
	if (strcmp(v->state, "running") == 0)
		fprintf(out, "> Note: %s\n\n", SK_REC_RUNNING_NOTE);
	for (size_t i = 0; i < v->nevents; i++)
		fprintf(out, "> Note: %s\n\n", v->events[i].text);
}

static void
md_waivers(FILE *out, const sk_plan *plan)
{
	size_t n = 0;

	fprintf(out, "## Waivers\n\n");
	if (plan == NULL) {
		fprintf(out, "The signed plan could not be read; waivers unknown.\n\n");
		return;
	}
	for (size_t s = 0; s < plan->nsteps; s++)
		n += plan->steps[s].nwaivers;
	if (n == 0) {
		fprintf(out, "No lint rule is waived in this plan.\n\n");
		return;
	}
	fprintf(out, "| Step | Rule | Reason |\n|---|---|---|\n");
	for (size_t s = 0; s < plan->nsteps; s++)
		for (size_t w = 0; w < plan->steps[s].nwaivers; w++) {
			fprintf(out, "|");
			md_cell(out, plan->steps[s].id);
			md_cell(out, plan->steps[s].waivers[w].rule);
			md_cell(out, plan->steps[s].waivers[w].reason);
			fputc('\n', out);
		}
	fputc('\n', out);
}

/* "rate 1.2s, autovacuum 3.4s": the reasons it paused for, in the
 * agent's order, those that took no time left out; "-" for none or not
 * said yet. */
static void
md_throttled_by(const sk_rec_step *st, char *buf, size_t len)
{
	sk_rec_throttle t[SK_REC_THROTTLES_MAX];
	size_t n = sk_rec_throttles_parse(st->throttled_by, t, SK_REC_THROTTLES_MAX);
	size_t off = 0;
	char d[32];

	snprintf(buf, len, "-");
	for (size_t i = 0; i < n && off < len; i++) {
		if (t[i].ms <= 0)
			continue;
		sk_rec_fmt_dur(t[i].ms, d, sizeof(d));
		off += (size_t)snprintf(buf + off, len - off, "%s%s %s",
		    off ? ", " : "", t[i].reason, d);
	}
}

/* Each backfill that ran, per region and database: its rows, duration,
 * batches, average rate and the time it paused, in total and by reason.
 * Nothing when the plan has none that ran. */
static void
md_backfills(FILE *out, const sk_rec_model *m)
{
	bool any = false;

	for (size_t i = 0; i < m->nregions; i++) {
		const sk_rec_region *g = &m->regions[i];

		for (size_t k = 0; k < g->ndbs; k++)
			for (size_t s = 0; s < g->dbs[k].nsteps; s++) {
				const sk_rec_step *st = &g->dbs[k].steps[s];
				char dur[32], thr[32], by[256], rate[32];
				double rps = sk_rec_backfill_rate(st);

				if (!sk_rec_step_is_backfill(st))
					continue;
				if (!any)
					fprintf(out,
					    "## Backfills\n\n"
					    "| Region | Database | Step | Result | "
					    "Rows | Duration | Batches | Rows/s | "
					    "Throttled | Throttled by |\n"
					    "|---|---|---|---|---|---|---|---|---|---|\n");
				any = true;
				sk_rec_fmt_dur(
				    sk_rec_backfill_ms(st), dur, sizeof(dur));
				sk_rec_fmt_dur(st->throttled_ms, thr, sizeof(thr));
				md_throttled_by(st, by, sizeof(by));
				if (rps <= 0)
					snprintf(rate, sizeof(rate), "-");
				else
					snprintf(rate, sizeof(rate),
					    rps < 10 ? "%.1f" : "%.0f", rps);
				fprintf(out, "|");
				md_cell(out, g->name);
				md_cell(out, g->dbs[k].name);
				md_cell(out, st->id);
				md_cell(out, st->result);
				fprintf(out, " %lld | %s | %lld | %s | %s |",
				    (long long)st->rows, dur,
				    (long long)st->batches, rate, thr);
				md_cell(out, by);
				fputc('\n', out);
			}
	}
	if (any)
		fputc('\n', out);
}

static void
md_check_row(FILE *out, const sk_report *r)
{
	const sk_check_result *c = &r->check;

	fprintf(out, "|");
	md_cell(out, c->name);
	md_cell(out, c->when);
	md_cell(out, r->step_id[0] ? r->step_id : "-");
	md_cell(out, c->seen);
	md_cell(out, c->expected);
	md_cell(out, c->passed ? "pass" : "FAIL");
	fputc('\n', out);
}

/* The sessions that blocked a step (step: its id) or the phase checks
 * (step NULL), each once however many lock-wait reports named it; with
 * when it was named first and last if more than once. */
static void
md_blockers(FILE *out, const char *step, const sk_rec_locks *l)
{
	char a[40], b[40], line[1024];

	for (size_t i = 0; i < l->nblockers; i++) {
		const sk_rec_blocker *e = &l->blockers[i];

		sk_rec_blocker_line(step, e->b, line, sizeof(line));
		fprintf(out, "- %s", line);
		if (e->seen > 1) {
			sk_rec_fmt_iso(e->first_ms, a, sizeof(a));
			sk_rec_fmt_iso(e->last_ms, b, sizeof(b));
			fprintf(out, " (seen %u times, %s to %s)", e->seen, a, b);
		}
		fputc('\n', out);
	}
}

static void
md_db(FILE *out, const sk_rollout_view *v, const sk_rec_db *d)
{
	int mode = v->mode;
	char a[40], b[40], dur[32];
	size_t nchecks = d->checks.n, nreverted = 0, nnr = 0;
	bool any_blocker = false;

	sk_rec_fmt_iso(d->start_ms, a, sizeof(a));
	sk_rec_fmt_iso(d->end_ms, b, sizeof(b));
	sk_rec_fmt_dur(d->start_ms > 0 && d->end_ms > 0 ? d->end_ms - d->start_ms : -1,
	    dur, sizeof(dur));
	fprintf(out, "### Database %s: %s\n\n", d->name, sk_rec_db_verdict(mode, d));
	fprintf(out, "- Started: %s\n- Finished: %s\n- Duration: %s\n", a, b, dur);
	if (d->backup != NULL) {
		const sk_backup_info *k = &d->backup->backup;
		char took[32];

		sk_rec_fmt_dur(k->duration_ms, took, sizeof(took));
		fprintf(out, "- Backup: `%s`, %lld bytes, taken in %s\n",
		    k->path, (long long)k->size, took);
		fprintf(out, "- Restore command:\n\n```sh\n%s\n```\n",
		    k->restore_command);
	} else if (sk_view_backup_skipped(v)) {
		char why[512];

		cli_decision_backup(v, why, sizeof(why));
		fprintf(out, "- Backup: none (%s)\n", why);
	} else {
		fprintf(out, "- Backup: none\n");
	}
	fputc('\n', out);
	if (d->end_event == SK_EV_DB_FAILED) {
		fprintf(out, "%s:\n\n", sk_view_mode_of(mode)->failed_because);
		sk_rec_db_reasons(d, emit_md_item, out);
		fputc('\n', out);
	}
	for (size_t s = 0; s < d->nsteps; s++)
		nchecks += d->steps[s].checks.n;
	if (nchecks > 0) {
		fprintf(out,
		    "| Check | When | Step | Seen | Expected | Result |\n"
		    "|---|---|---|---|---|---|\n");
		for (size_t i = 0; i < d->checks.n; i++)
			md_check_row(out, d->checks.v[i]);
		for (size_t s = 0; s < d->nsteps; s++)
			for (size_t i = 0; i < d->steps[s].checks.n; i++)
				md_check_row(out, d->steps[s].checks.v[i]);
		fputc('\n', out);
	} else {
		fprintf(out, "No checks ran.\n\n");
	}
	fprintf(out,
	    "| Step | Result | Start | End | Duration | Attempts | "
	    "Lock waits | Lock wait time | Rows |\n"
	    "|---|---|---|---|---|---|---|---|---|\n");
	for (size_t s = 0; s < d->nsteps; s++) {
		const sk_rec_step *st = &d->steps[s];
		char lw[32];

		sk_rec_fmt_iso(st->start_ms, a, sizeof(a));
		sk_rec_fmt_iso(st->end_ms, b, sizeof(b));
		sk_rec_fmt_dur(
		    st->end_ms > 0 ? st->duration_ms : -1, dur, sizeof(dur));
		sk_rec_fmt_dur(st->locks.lock_wait_ms, lw, sizeof(lw));
		nreverted += st->result && strcmp(st->result, "reverted") == 0;
		fprintf(out, "|");
		md_cell(out, st->id);
		md_cell(out, st->result ? st->result : "not-run");
		fprintf(out, " %s | %s | %s | %u | %u | %s | %lld |\n", a, b,
		    dur, sk_rec_step_attempts(st), sk_rec_step_lock_waits(st),
		    lw, (long long)st->rows);
		any_blocker |= st->locks.nblockers > 0;
	}
	fputc('\n', out);
	if (sk_view_mode_of(mode)->undoes)
		fprintf(out, "Steps reverted: %zu\n\n", nreverted);
	for (size_t s = 0; s < d->nsteps; s++)
		if (d->steps[s].result && strcmp(d->steps[s].result, "rehearsed") == 0 &&
		    d->steps[s].detail != NULL && d->steps[s].detail[0] != '\0')
			fprintf(out, "- Rehearsed: step %s: %s\n",
			    d->steps[s].id, d->steps[s].detail);
	for (size_t s = 0; s < d->nsteps; s++)
		if (d->steps[s].result &&
		    strcmp(d->steps[s].result, "not-rehearsable") == 0) {
			fprintf(out, "- Not rehearsable: step %s%s%s\n",
			    d->steps[s].id,
			    d->steps[s].detail && d->steps[s].detail[0] ? ": " : "",
			    d->steps[s].detail ? d->steps[s].detail : "");
			nnr++;
		}
	if (nnr > 0)
		fputc('\n', out);
	if (any_blocker) {
		fprintf(out, "Blockers seen while waiting for locks:\n\n");
		for (size_t s = 0; s < d->nsteps; s++)
			md_blockers(out, d->steps[s].id, &d->steps[s].locks);
		fputc('\n', out);
	}
	if (sk_rec_db_has_phase_locks(d)) {
		const sk_rec_locks *l = &d->phase_locks;
		char lw[32];

		/* The phase's pre- and post-checks wait for locks outside
		 * any step: their lock timeouts, the time spent in them and
		 * who blocked them. */
		sk_rec_fmt_dur(l->lock_wait_ms, lw, sizeof(lw));
		fprintf(out,
		    "Phase checks waited for locks: %u lock waits, %s lock wait "
		    "time.\n\n",
		    l->lock_waits, lw);
		if (l->nblockers > 0) {
			fprintf(out,
			    "Blockers seen while phase checks waited "
			    "for locks:\n\n");
			md_blockers(out, NULL, l);
			fputc('\n', out);
		}
	}
}

int
cli_report_md(FILE *out, const sk_rec_src *src, sk_err *err)
{
	sk_rec_model m;
	int rc = SK_OK;

	sk_rec_build(&m, src);
	if (m.oom) {
		sk_rec_free(&m);
		return sk_err_set(err, SK_ENOMEM, "rollout report: out of memory");
	}
	md_header(out, src, &m);
	md_waivers(out, src->plan);
	cli_gate_md(out, src->view);
	md_backfills(out, &m);
	cli_control_md(out, src->view);   /* stopline */
	sk_view_flag_report_md(out, src); /* flags */
	sk_view_move_report_md(out, src); /* moves */
	for (size_t i = 0; i < m.nregions; i++) {
		const sk_rec_region *g = &m.regions[i];

		fprintf(out, "## Region %s", g->name);
		if (g->phase[0])
			fprintf(out, " (phase %s)", g->phase);
		fprintf(out, ": %s\n\n", sk_rec_region_verdict(src->view->mode, g));
		if (g->view != NULL && g->view->error.code != SK_OK &&
		    g->view->error.msg[0]) {
			char e[SK_ERR_MSG_MAX + 32];

			sk_rec_err_line(&g->view->error, e, sizeof(e));
			fprintf(out, "Error: %s\n\n", e);
		}
		if (g->ndbs == 0)
			fprintf(out, "No database reported.\n\n");
		for (size_t k = 0; k < g->ndbs; k++)
			md_db(out, src->view, &g->dbs[k]);
	}
	fprintf(out, "---\n%zu reports.\n", src->nreports);
	if (fflush(out) != 0 || ferror(out))
		rc = sk_err_set(err, SK_EIO, "rollout report: cannot write the output");
	sk_rec_free(&m);
	return rc;
}

/* coord_narrate: the rollout's texts. Each text is composed from state,
 * figures, the agent's own words (error messages, blocker states) and the
 * mode's words; changing a text here changes nothing the coordinator
 * decides. The status texts are rendered on every status request: a few
 * snprintf per region, cheap next to the encoding of the answer. */
#include "coord_narrate.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord_mode.h"
#include "coord_state.h"
#include "sk_util.h"

/* ---- events ------------------------------------------------------------- */

void
coord_rollout_event(coord_rollout *ro, const char *region, const char *fmt, ...)
{
	sk_event_view *e;
	va_list ap;

	if (ro->nevents >= COORD_EVENTS_MAX)
		return;
	if (ro->nevents == ro->events_cap) {
		size_t cap = ro->events_cap ? ro->events_cap * 2 : 64;
		sk_event_view *n = realloc(ro->events, cap * sizeof(*n));

		if (n == NULL)
			return; /* events are a convenience; state is unaffected */
		ro->events = n;
		ro->events_cap = cap;
	}
	e = &ro->events[ro->nevents++];
	memset(e, 0, sizeof(*e));
	e->seq = ++ro->next_event;
	e->at_ms = sk_now_ms();
	snprintf(e->region, sizeof(e->region), "%s", region ? region : "");
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
}

void
coord_narrate_phase_started(coord_rollout *ro, uint32_t phase)
{
	const coord_mode *m = ro->rules;
	bool all = m->pacing == COORD_PACE_ALL_AT_ONCE;
	char list[512] = "";
	char undoing[SK_ID_MAX + 32] = "";
	size_t off = 0;

	if (phase >= ro->nphases)
		return;
	for (size_t i = 0; i < ro->nregions && off < sizeof(list); i++)
		if (all || ro->regions[i].phase == phase)
			off += (size_t)snprintf(list + off, sizeof(list) - off,
			    "%s%s", off ? ", " : "", ro->regions[i].name);
	if (all) {
		coord_rollout_event(ro, NULL,
		    "%s started in every region at once: %s (%s)", m->noun,
		    list, m->start_note ? m->start_note : "");
		return;
	}
	if (m->effect == COORD_EFFECT_UNDO)
		snprintf(undoing, sizeof(undoing), "%s of %s: ", m->noun, ro->of_rollout);
	coord_rollout_event(ro, NULL, "%sphase %u/%zu %s started: %s", undoing,
	    phase + 1, ro->nphases, ro->phases[phase]->name, list);
}

void
coord_narrate_dispatched(coord_rollout *ro, const coord_region_run *rr)
{
	coord_rollout_event(ro, rr->name, "%s: plan sent to agent (%s)",
	    rr->name, sk_mode_name(ro->mode));
}

void
coord_narrate_aborted_unstarted(coord_rollout *ro, const coord_region_run *rr)
{
	coord_rollout_event(ro, rr->name, "%s: failed before it started: %s",
	    rr->name, rr->error.msg);
}

static void
err_text(const sk_err *e, char *buf, size_t len)
{
	if (e->sqlstate[0])
		snprintf(buf, len, "%s (SQLSTATE %s)", e->msg, e->sqlstate);
	else
		snprintf(buf, len, "%s", e->msg);
}

/* "step 0002" or, for a lock wait outside any step, "phase checks". */
static void
what_waits(const sk_report *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", r->step_id[0] ? "step " : "phase checks", r->step_id);
}

static void
narrate_lock_wait(coord_rollout *ro, const char *region, const sk_report *r)
{
	char what[SK_NAME_MAX + 16];

	what_waits(r, what, sizeof(what));
	if (r->nblockers > 0) {
		const sk_blocker *b = &r->blockers[0];

		coord_rollout_event(ro, region,
		    "%s/%s: %s waits for a lock (attempt %u): pid %d (%s, user "
		    "%s) holds it: %.120s",
		    region, r->database, what, r->attempt, b->pid, b->state,
		    b->user, b->query);
	} else {
		coord_rollout_event(ro, region, "%s/%s: %s waits for a lock (attempt %u)",
		    region, r->database, what, r->attempt);
	}
}

/* The events of what a database does beside its steps' outcomes. */
/* stopline: an agent held its next step while it heard nothing from
 * the coordinator: since when (the report's time less how long), for
 * how long, and (its detail) before which step. */
static void
narrate_dead_man(
    coord_rollout *ro, const char *region, const sk_report *r, const char *dur)
{
	time_t t = (time_t)((r->at_ms - r->duration_ms) / 1000);
	struct tm tm;
	char since[32] = "?";

	if (gmtime_r(&t, &tm) != NULL)
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	coord_rollout_event(ro, region,
	    "%s/%s: dead-man pause: heard nothing from the coordinator, so "
	    "held from %s for %s%s%s",
	    region, r->database, since, dur, r->detail[0] ? ", " : "", r->detail);
}

static void
narrate_aside(coord_rollout *ro, const char *region, const sk_report *r, const char *dur)
{
	switch (r->event) {
	case SK_EV_CHECK:
		/* Passing checks are in the report; only a failure is news. */
		if (r->has_check && !r->check.passed)
			coord_rollout_event(ro, region,
			    "%s/%s: %s check %s%s%s failed: saw %s, expected %s",
			    region, r->database, r->check.when, r->check.name,
			    r->step_id[0] ? " of step " : "", r->step_id,
			    r->check.seen, r->check.expected);
		break;
	case SK_EV_LOCK_WAIT:
		narrate_lock_wait(ro, region, r);
		break;
	case SK_EV_BACKUP:
		if (r->has_backup)
			coord_rollout_event(ro, region,
			    "%s/%s: backup %s (%lld bytes) taken and verified",
			    region, r->database, r->backup.path,
			    (long long)r->backup.size);
		break;
	case SK_EV_STEP_REVERTED:
		coord_rollout_event(ro, region, "%s/%s: step %s reverted in %s",
		    region, r->database, r->step_id, dur);
		break;
	case SK_EV_STEP_REHEARSED:
		coord_rollout_event(ro, region,
		    "%s/%s: step %s rehearsed in %s (rolled back)", region,
		    r->database, r->step_id, dur);
		break;
	case SK_EV_STEP_NOT_REHEARSABLE:
		coord_rollout_event(ro, region,
		    "%s/%s: step %s cannot be rehearsed%s%s", region,
		    r->database, r->step_id, r->detail[0] ? ": " : "", r->detail);
		break;
	case SK_EV_DEAD_MAN: /* stopline */
		narrate_dead_man(ro, region, r, dur);
		break;
	default:
		break;
	}
}

void
coord_narrate_report(coord_rollout *ro, const coord_region_run *rr, const sk_report *r)
{
	const coord_mode *m = ro->rules;
	const char *region = rr->name;
	char etext[SK_ERR_MSG_MAX + 32];
	char dur[32];

	err_text(&r->error, etext, sizeof(etext));
	sk_duration_format(r->duration_ms, dur, sizeof(dur));
	switch (r->event) {
	case SK_EV_PLAN_ACCEPTED:
		coord_rollout_event(
		    ro, region, "%s: plan verified and accepted", region);
		break;
	case SK_EV_PLAN_REFUSED:
		coord_rollout_event(ro, region, "%s: plan refused: %s", region, etext);
		break;
	case SK_EV_DB_WAITING:
		coord_rollout_event(ro, region,
		    "%s/%s: waiting (attempt %u): %s", region, r->database,
		    r->attempt, r->error.code != SK_OK ? etext : r->detail);
		break;
	case SK_EV_STEP_STARTED:
		coord_rollout_event(ro, region, "%s/%s: step %s started",
		    region, r->database, r->step_id);
		break;
	case SK_EV_STEP_FINISHED:
		if (r->rows > 0)
			coord_rollout_event(ro, region,
			    "%s/%s: step %s applied in %s (%lld rows)", region,
			    r->database, r->step_id, dur, (long long)r->rows);
		else
			coord_rollout_event(ro, region, "%s/%s: step %s applied in %s",
			    region, r->database, r->step_id, dur);
		break;
	case SK_EV_STEP_SKIPPED:
		coord_rollout_event(ro, region,
		    "%s/%s: step %s already applied (ledger), skipped", region,
		    r->database, r->step_id);
		break;
	case SK_EV_STEP_FAILED:
		coord_rollout_event(ro, region, "%s/%s: step %s failed: %s",
		    region, r->database, r->step_id, etext);
		break;
	case SK_EV_DB_FINISHED:
		coord_rollout_event(
		    ro, region, "%s/%s: %s", region, r->database, m->db_done);
		break;
	case SK_EV_DB_FAILED:
		if (m->db_failed != NULL)
			coord_rollout_event(ro, region, "%s/%s: %s: %s", region,
			    r->database, m->db_failed, etext);
		break;
	case SK_EV_PLAN_SUCCEEDED:
		coord_rollout_event(
		    ro, region, "%s: %s in %s", region, m->region_done, dur);
		break;
	case SK_EV_PLAN_FAILED:
		coord_rollout_event(
		    ro, region, "%s: %s: %s", region, m->verdict_failed, etext);
		break;
	default:
		narrate_aside(ro, region, r, dur);
		break;
	}
}

/* stopline: " in region af, in" for a scoped pause or resume; "". */
static void
scope_words(const coord_opctl_record *rec, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < rec->nregions && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? ", " : (rec->nregions > 1 ? " in regions " : " in region "),
		    rec->regions[i]);
}

void
coord_narrate_opctl(coord_rollout *ro, const coord_opctl_record *rec)
{
	const char *who = rec->actor != NULL && rec->actor[0] ? rec->actor : "unknown";
	char asked[160], merged[160],
	    scope[SK_OP_REGIONS_MAX * (SK_NAME_MAX + 2) + 16];

	switch (rec->kind) {
	case SK_CMD_PAUSE:
		scope_words(rec, scope, sizeof(scope));
		coord_rollout_event(ro, NULL,
		    "%s%s %s by %s%s%s%s: running steps finish, backfills stop "
		    "at their next batch, and no step or phase starts there until "
		    "%s",
		    ro->rules->noun, scope, rec->line ? "stopped" : "paused",
		    who, rec->reason && rec->reason[0] ? " (" : "",
		    rec->reason ? rec->reason : "",
		    rec->reason && rec->reason[0] ? ")" : "",
		    rec->line ? "skein stop --lift" : "it is resumed");
		break;
	case SK_CMD_RESUME:
		scope_words(rec, scope, sizeof(scope));
		coord_rollout_event(ro, NULL, "%s%s resumed by %s%s", ro->rules->noun,
		    scope, who, rec->line ? " (the line stop lifted)" : "");
		break;
	case SK_CMD_ABORT: /* stopline; its end is coord_narrate_ended's */
		if (rec->nregions > 0) {
			scope_words(rec, scope, sizeof(scope));
			coord_rollout_event(ro, NULL,
			    "%s%s aborted by %s%s%s%s: a running step finishes, "
			    "nothing else starts there, and each such region ends "
			    "failed; the %s halts once they have reported, and no "
			    "later phase starts",
			    ro->rules->noun, scope, who,
			    rec->reason && rec->reason[0] ? " (" : "",
			    rec->reason ? rec->reason : "",
			    rec->reason && rec->reason[0] ? ")" : "", ro->rules->noun);
			break;
		}
		coord_rollout_event(ro, NULL, "%s aborted by %s%s%s%s",
		    ro->rules->noun, who, rec->reason && rec->reason[0] ? " (" : "",
		    rec->reason ? rec->reason : "",
		    rec->reason && rec->reason[0] ? ")" : "");
		break;
	case SK_CMD_TUNE:
		sk_tune_format(&rec->tune, asked, sizeof(asked));
		sk_tune_format(&ro->ctl.tune, merged, sizeof(merged));
		coord_rollout_event(ro, NULL,
		    "%s tuned by %s: %s (every tune so far: %s); backfills take it "
		    "at their next batch",
		    ro->rules->noun, who, asked, merged);
		break;
	default:
		break;
	}
}

void
coord_narrate_ended(coord_rollout *ro)
{
	const coord_mode *m = ro->rules;
	size_t ok = 0;

	for (size_t i = 0; i < ro->nregions; i++)
		ok += coord_region_ok(ro->regions[i].state);
	if (m->pacing == COORD_PACE_ALL_AT_ONCE) {
		if (ro->state == m->ok_state)
			coord_rollout_event(ro, NULL, "%s: %s in %zu/%zu regions",
			    m->noun, m->verdict_ok, ok, ro->nregions);
		else
			coord_rollout_event(ro, NULL, "%s %s", m->noun, ro->reason);
		return;
	}
	if (ro->state == COORD_RO_ABORTED) /* stopline */
		coord_rollout_event(ro, NULL,
		    "%s aborted in phase %s%s%s: running steps finish, nothing "
		    "else starts; to undo what ran: skein rollout rollback %s",
		    m->noun, ro->phases[ro->phase]->name,
		    ro->reason[0] ? ": " : "", ro->reason, ro->id);
	else if (ro->state == m->ok_state)
		coord_rollout_event(ro, NULL, "%s %s in %zu/%zu regions",
		    m->noun, m->verdict_ok, ok, ro->nregions);
	else
		coord_rollout_event(ro, NULL,
		    "%s halted in phase %s: %s; later phases not started",
		    m->noun, ro->phases[ro->phase]->name, ro->reason);
}

void
coord_narrate_blocked_reason(const coord_rollout *ro,
    const coord_region_run *first, char *buf, size_t len)
{
	size_t nblocked = 0, off;

	for (size_t i = 0; i < ro->nregions; i++)
		nblocked += !coord_region_ok(ro->regions[i].state);
	off = (size_t)snprintf(buf, len, "%s in %zu/%zu regions",
	    coord_rollout_state_name(ro->rules->failed_state), nblocked, ro->nregions);
	for (size_t i = 0, k = 0; i < ro->nregions && off < len; i++)
		if (!coord_region_ok(ro->regions[i].state))
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
			    k++ ? ", " : " (", ro->regions[i].name);
	if (off < len)
		snprintf(buf + off, len - off, "): %s: %.700s", first->name,
		    first->error.msg);
}

/* ---- the status view ---------------------------------------------------- */

static const char *const db_state_names[] = {
	[COORD_DB_WAITING] = "waiting",
	[COORD_DB_RUNNING] = "running",
	[COORD_DB_DONE] = "done",
	[COORD_DB_FAILED] = "failed",
};

/* What a region or database is held up by, in words. */
static void
hold_text(const coord_hold_info *h, char *buf, size_t len)
{
	switch (h->kind) {
	case COORD_HOLD_START:
		snprintf(buf, len, "waiting: %.240s", h->cause);
		break;
	case COORD_HOLD_LOCK:
		if (h->has_blocker)
			snprintf(buf, len, "waiting for a lock held by pid %d (%s)",
			    h->blocker_pid, h->blocker_state);
		else
			snprintf(buf, len, "waiting for a lock");
		break;
	case COORD_HOLD_STEP_FAILED:
		snprintf(buf, len, "step %.64s failed: %.160s", h->step, h->cause);
		break;
	case COORD_HOLD_FAILED:
		snprintf(buf, len, "%.250s", h->cause);
		break;
	default:
		buf[0] = '\0';
		break;
	}
}

/* A running region of several databases: how many are done, and how many
 * wait for what, e.g. "1 of 3 databases done, 1 waiting for a lock". */
static void
summary_text(const coord_db_counts *c, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(
	    buf, len, "%zu of %zu databases done", c->done, c->total);

	if (c->failed && off < len)
		off += (size_t)snprintf(buf + off, len - off, ", %zu failed", c->failed);
	if (c->locked && off < len)
		off += (size_t)snprintf(buf + off, len - off,
		    ", %zu waiting for a lock", c->locked);
	if (c->waiting && off < len)
		snprintf(buf + off, len - off, ", %zu waiting to start", c->waiting);
}

void
coord_narrate_region(
    const coord_rollout *ro, const coord_region_run *rr, sk_region_view *out)
{
	const coord_progress *p = &rr->progress;
	coord_db_counts counts;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", rr->name);
	snprintf(out->state, sizeof(out->state), "%s",
	    coord_mode_region_state_name(ro->rules, rr->state));
	snprintf(out->step, sizeof(out->step), "%s", p->step);
	snprintf(out->database, sizeof(out->database), "%s", p->database);
	out->error = rr->error;
	out->updated_ms = rr->updated_ms;
	out->steps_done = p->steps_done;
	out->steps_total = p->steps_total;
	/* An ended region is doing nothing: its error says how it ended. */
	if (coord_region_done(rr->state))
		return;
	coord_progress_count(p, &counts);
	if (rr->state == COORD_R_RUNNING && counts.total > 1)
		summary_text(&counts, out->detail, sizeof(out->detail));
	else
		hold_text(&p->hold, out->detail, sizeof(out->detail));
}

/* The kind of step id in ro's plan as plan.yaml names it; "" when the
 * plan has no such step. */
static const char *
step_kind_name(const coord_rollout *ro, const char *id)
{
	for (size_t i = 0; i < ro->plan->nsteps; i++)
		if (strcmp(ro->plan->steps[i].id, id) == 0) {
			const char *name = sk_step_kind_name(ro->plan->steps[i].kind);

			return name != NULL ? name : "";
		}
	return "";
}

/* The backfill d runs, into its view: the agent's figures as they are. */
static void
backfill_view(const coord_rollout *ro, const coord_backfill *b, sk_database_view *out)
{
	if (b->step[0] == '\0')
		return;
	snprintf(out->progress_step, sizeof(out->progress_step), "%s", b->step);
	snprintf(out->progress_kind, sizeof(out->progress_kind), "%s",
	    step_kind_name(ro, b->step));
	out->rows_done = b->rows;
	out->rows_total = b->rows_total;
	out->rows_scanned = b->rows_scanned;
	out->rate = b->rate;
	out->eta_ms = b->eta_ms;
	out->batch_size = b->batch_size;
	out->batches = b->batches;
	snprintf(out->throttle, sizeof(out->throttle), "%s", b->throttle);
	out->throttled_ms = b->throttled_ms;
	snprintf(out->move_phase, sizeof(out->move_phase), "%s", b->move_phase);
	snprintf(out->move_table, sizeof(out->move_table), "%s", b->move_table);
	snprintf(out->move_from, sizeof(out->move_from), "%s", b->move_from);
	snprintf(out->move_to, sizeof(out->move_to), "%s", b->move_to);
	out->bytes = b->bytes;
	out->bytes_total = b->bytes_total;
	out->lag_ms = b->lag_ms;
	out->changes = b->changes;
	out->freeze_ms = b->freeze_ms;
}

void
coord_narrate_database(const coord_rollout *ro, const coord_region_run *rr,
    const coord_db_progress *d, sk_database_view *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->region, sizeof(out->region), "%s", rr->name);
	snprintf(out->name, sizeof(out->name), "%s", d->name);
	snprintf(out->state, sizeof(out->state), "%s", db_state_names[d->state]);
	snprintf(out->step, sizeof(out->step), "%s", d->step);
	out->steps_done = d->steps_done;
	out->steps_total = rr->progress.steps_per_db;
	hold_text(&d->hold, out->detail, sizeof(out->detail));
	out->updated_ms = d->updated_ms;
	out->blocker_pid = d->hold.kind == COORD_HOLD_LOCK && d->hold.has_blocker ?
	    d->hold.blocker_pid :
	    0;
	backfill_view(ro, &d->backfill, out);
}

const char *
coord_narrate_phase_state(const coord_rollout *ro, size_t p)
{
	const coord_mode *m = ro->rules;

	if (m->pacing == COORD_PACE_ALL_AT_ONCE) {
		bool done = true, failed = false;

		for (size_t i = 0; i < ro->nregions; i++) {
			int s = ro->regions[i].state;

			if (ro->regions[i].phase != p)
				continue;
			done &= coord_region_done(s);
			failed |= coord_region_done(s) && !coord_region_ok(s);
		}
		return !done ? "running" :
		    failed   ? m->region_failed :
			       m->region_succeeded;
	}
	if (p < ro->phase)
		return m->region_succeeded;
	if (p > ro->phase)
		return ro->state == m->failed_state ? "not-started" : "pending";
	return coord_rollout_state_name(ro->state);
}

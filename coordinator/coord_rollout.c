/* coord_rollout: the phase state machine. Pure logic over the journal, so
 * that it can be unit tested without sockets. What a rollout answers
 * without changing (its view, what a rollback would undo) is in
 * coord_rollout_query.c; its progress figures in coord_progress.c; its
 * words in coord_narrate.c. */
#include "coord_rollout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord_gate_sample.h"
#include "coord_flags.h"
#include "coord_mode.h"
#include "coord_narrate.h"
#include "coord_progress.h"
#include "coord_state.h"
#include "sk_log.h"
#include "sk_util.h"

/* What a report does to its region's state and error, one row per event
 * that changes either; the other events change only progress. */
enum { ERR_KEEP, ERR_SET, ERR_CLEAR };

static const struct transition {
	bool row;     /* the event has a row */
	int to;       /* enum coord_region_state; -1: the state stays */
	bool forward; /* only from an earlier state (a database starting) */
	int error;    /* ERR_*: what becomes of the region's error */
} transitions[SK_EV_MAX] = {
	[SK_EV_PLAN_ACCEPTED] = { true, COORD_R_RUNNING, false, ERR_KEEP },
	[SK_EV_PLAN_REFUSED] = { true, COORD_R_REFUSED, false, ERR_SET },
	[SK_EV_DB_WAITING] = { true, COORD_R_RUNNING, true, ERR_KEEP },
	[SK_EV_DB_STARTED] = { true, COORD_R_RUNNING, true, ERR_KEEP },
	[SK_EV_DB_FAILED] = { true, -1, false, ERR_SET },
	[SK_EV_PLAN_SUCCEEDED] = { true, COORD_R_SUCCEEDED, false, ERR_CLEAR },
	[SK_EV_PLAN_FAILED] = { true, COORD_R_FAILED, false, ERR_SET },
};

static void
set_state(coord_region_run *rr, int state, int64_t now_ms)
{
	rr->state = state;
	rr->updated_ms = now_ms;
}

static bool
in_list(const char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

/* Index of the plan phase holding region (sk_plan_phase_of: the agent
 * asks the same function); 0 when none does, which decode refuses. */
static size_t
plan_phase_of(const sk_plan *plan, const char *region)
{
	const sk_phase *ph = sk_plan_phase_of(plan, region);

	return ph != NULL ? (size_t)(ph - plan->phases) : 0;
}

/* The regions of ro: the plan's, or those origin names for a mode that
 * runs only named regions. Each in its plan phase for now. */
static void
add_regions(coord_rollout *ro, const coord_origin *origin, int64_t now_ms)
{
	const sk_plan *plan = ro->plan;

	for (size_t i = 0; i < plan->nregions; i++) {
		coord_region_run *rr;

		if (ro->rules->only_named_regions &&
		    !in_list(origin->only_regions, origin->nonly_regions,
			plan->regions[i]))
			continue;
		rr = &ro->regions[ro->nregions++];
		snprintf(rr->name, sizeof(rr->name), "%s", plan->regions[i]);
		coord_progress_init(&rr->progress, (uint32_t)plan->nsteps);
		set_state(rr, COORD_R_PENDING, now_ms);
		rr->phase = (uint32_t)plan_phase_of(plan, plan->regions[i]);
	}
}

/* The run order of phases: the plan's, or reversed when the mode says
 * so, keeping only phases with a region of this rollout; then each
 * region's phase as an index into that order. order has room for every
 * plan phase. */
static void
order_phases(coord_rollout *ro, size_t *order)
{
	const sk_plan *plan = ro->plan;

	for (size_t k = 0; k < plan->nphases; k++) {
		size_t p = ro->rules->reverse_phases ? plan->nphases - 1 - k : k;
		bool used = false;

		for (size_t i = 0; !used && i < ro->nregions; i++)
			used = ro->regions[i].phase == p;
		if (!used)
			continue;
		order[ro->nphases] = p;
		ro->phases[ro->nphases++] = &plan->phases[p];
	}
	for (size_t i = 0; i < ro->nregions; i++)
		for (size_t k = 0; k < ro->nphases; k++)
			if (order[k] == ro->regions[i].phase) {
				ro->regions[i].phase = (uint32_t)k;
				break;
			}
}

/* Refuse what create cannot make a rollout of; nothing is allocated. */
static int
check_create(const char *id, const sk_plan *plan, const coord_origin *origin,
    const coord_mode *m, sk_err *err)
{
	int mode = origin != NULL ? origin->mode : SK_MODE_APPLY;

	if (strlen(id) >= SK_ID_MAX)
		return sk_err_set(err, SK_EINVAL,
		    "create rollout %.*s...: the id is %zu bytes, the most is %d",
		    16, id, strlen(id), SK_ID_MAX - 1);
	if (m == NULL)
		return sk_err_set(err, SK_EINVAL,
		    "create rollout %s of plan %s: mode %d is not one this "
		    "coordinator knows",
		    id, plan->name, mode);
	if (m->only_named_regions) {
		for (size_t i = 0; i < plan->nregions; i++)
			if (in_list(origin->only_regions, origin->nonly_regions,
				plan->regions[i]))
				return SK_OK;
		return sk_err_set(err, SK_EINVAL,
		    "create %s %s of plan %s: it names none of the plan's "
		    "regions, so it has nowhere to run",
		    m->noun, id, plan->name);
	}
	return SK_OK;
}

int
coord_rollout_create(const char *id, sk_plan *plan, const uint8_t *signed_plan,
    size_t len, const coord_origin *origin, int64_t now_ms, coord_rollout **out,
    sk_err *err)
{
	const coord_mode *m =
	    coord_mode_of(origin != NULL ? origin->mode : SK_MODE_APPLY);
	coord_rollout *ro = NULL;
	size_t *order = NULL; /* plan phase index of each ro->phases entry */
	int rc;

	*out = NULL;
	if ((rc = check_create(id, plan, origin, m, err)) != SK_OK)
		return rc;
	ro = calloc(1, sizeof(*ro));
	if (ro == NULL)
		goto oom;
	snprintf(ro->id, sizeof(ro->id), "%s", id);
	ro->created_ms = now_ms;
	ro->mode = m->mode;
	ro->rules = m;
	if (m->effect == COORD_EFFECT_UNDO && origin->of_rollout != NULL)
		snprintf(ro->of_rollout, sizeof(ro->of_rollout), "%s",
		    origin->of_rollout);
	ro->no_backup = m->effect == COORD_EFFECT_UNDO && origin->no_backup;
	if (m->effect == COORD_EFFECT_APPLY && origin != NULL && origin->reapply) {
		ro->reapply = true;
		snprintf(ro->reapply_of, sizeof(ro->reapply_of), "%s",
		    origin->reapply_of != NULL ? origin->reapply_of : "");
	}
	snprintf(ro->started_by, sizeof(ro->started_by), "%s",
	    origin != NULL && origin->actor != NULL ? origin->actor : "");
	snprintf(ro->started_by_key, sizeof(ro->started_by_key), "%s",
	    origin != NULL && origin->actor_key != NULL ? origin->actor_key : "");
	/* Event numbers start from the clock so that they keep rising across
	 * a coordinator restart and `skein rollout wait` never misses one. */
	ro->next_event = (uint64_t)sk_now_us();
	ro->signed_plan = malloc(len ? len : 1);
	ro->regions =
	    calloc(plan->nregions ? plan->nregions : 1, sizeof(*ro->regions));
	ro->phases = calloc(plan->nphases ? plan->nphases : 1, sizeof(*ro->phases));
	order = calloc(plan->nphases ? plan->nphases : 1, sizeof(*order));
	if (ro->signed_plan == NULL || ro->regions == NULL ||
	    ro->phases == NULL || order == NULL)
		goto oom;
	memcpy(ro->signed_plan, signed_plan, len);
	ro->signed_plan_len = len;
	/* Borrowed until success: the plan stays the caller's on failure. */
	ro->plan = plan;
	add_regions(ro, origin, now_ms);
	order_phases(ro, order);
	coord_flags_init(ro); /* flags */
	free(order);
	order = NULL;
	if (coord_gates_init(&ro->gates, ro->nphases, ro->nregions, err) != SK_OK)
		goto oom;
	*out = ro;
	return SK_OK;
oom:
	free(order);
	if (ro != NULL)
		ro->plan = NULL;
	coord_rollout_destroy(ro);
	return sk_err_set(err, SK_ENOMEM, "create rollout %s: out of memory", id);
}

void
coord_rollout_destroy(coord_rollout *ro)
{
	if (ro == NULL)
		return;
	sk_plan_destroy(ro->plan);
	free(ro->signed_plan);
	for (size_t i = 0; ro->regions != NULL && i < ro->nregions; i++)
		coord_progress_fini(&ro->regions[i].progress);
	free(ro->regions);
	free(ro->phases);
	free(ro->events);
	free(ro->arena);
	free(ro->kept);
	free(ro->ctl.hist);
	coord_gates_fini(&ro->gates);
	free(ro);
}

coord_region_run *
coord_rollout_region(const coord_rollout *ro, const char *name)
{
	for (size_t i = 0; i < ro->nregions; i++)
		if (strcmp(ro->regions[i].name, name) == 0)
			return &ro->regions[i];
	return NULL;
}

bool
coord_rollout_has_region(const coord_rollout *ro, const char *region)
{
	return coord_rollout_region(ro, region) != NULL;
}

int
coord_rollout_start(coord_rollout *ro, coord_journal *j, int64_t now_ms, sk_err *err)
{
	bool opened;

	if (coord_journal_phase(j, ro->id, 0, now_ms, err) != SK_OK)
		return err->code;
	ro->phase = 0;
	coord_narrate_phase_started(ro, 0);
	return coord_gate_enter(ro, j, now_ms, &opened, err);
}

/* True if the mode tells rr to run now (rr has not finished). */
static bool
in_turn(const coord_rollout *ro, const coord_region_run *rr)
{
	return ro->rules->pacing == COORD_PACE_ALL_AT_ONCE || rr->phase == ro->phase;
}

bool
coord_rollout_wants(const coord_rollout *ro, const char *region)
{
	const coord_region_run *rr = coord_rollout_region(ro, region);

	/* flags: the flags-first pass comes before every phase. */
	if (coord_flags_pending(ro))
		return ro->state == COORD_RO_RUNNING && !ro->ctl.paused &&
		    coord_flags_wants(ro, region);
	return ro->state == COORD_RO_RUNNING && !ro->ctl.paused && rr != NULL &&
	    !rr->paused && !rr->aborted && !coord_region_done(rr->state) &&
	    in_turn(ro, rr) &&
	    (rr->phase != ro->phase || coord_gate_entry_open(ro));
}

bool
coord_rollout_held(const coord_rollout *ro, const coord_region_run *rr)
{
	return ro->ctl.paused || (rr != NULL && rr->paused);
}

/* End rr, aborted on its own, as failed with the error that says who
 * aborted it, when and why (journaled with its state, like any region's
 * error). */
static void
end_aborted(coord_region_run *rr, int64_t now_ms)
{
	time_t t = (time_t)(rr->aborted_ms / 1000);
	struct tm tm;
	char at[32] = "?";

	if (gmtime_r(&t, &tm) != NULL)
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	set_state(rr, COORD_R_FAILED, now_ms);
	sk_err_set(&rr->error, SK_ESTATE, "region %s aborted by %s (%s%s) at %s%s%s%s",
	    rr->name, rr->aborted_by[0] ? rr->aborted_by : "unknown",
	    rr->aborted_by_key[0] ? "key " : "unsigned", rr->aborted_by_key, at,
	    rr->abort_reason[0] ? ": " : "", rr->abort_reason,
	    rr->abort_unstarted ? "; it had not started, nothing ran there" : "");
}

/* Journal rr's state and figures: never its words, which are derived. */
static int
journal_region(coord_rollout *ro, const coord_region_run *rr, coord_journal *j,
    sk_err *err)
{
	coord_region_record rec;

	memset(&rec, 0, sizeof(rec));
	snprintf(rec.name, sizeof(rec.name), "%s", rr->name);
	rec.state = rr->state;
	rec.error = rr->error;
	snprintf(rec.step, sizeof(rec.step), "%s", rr->progress.step);
	snprintf(rec.database, sizeof(rec.database), "%s", rr->progress.database);
	rec.steps_done = rr->progress.steps_done;
	rec.steps_total = rr->progress.steps_total;
	rec.at_ms = rr->updated_ms;
	return coord_journal_region(j, ro->id, &rec, err);
}

int
coord_rollout_dispatched(coord_rollout *ro, const char *region,
    coord_journal *j, int64_t now_ms, sk_err *err)
{
	coord_region_run *rr = coord_rollout_region(ro, region);

	if (coord_flags_pending(ro)) { /* flags */
		coord_flags_dispatched(ro, region, now_ms);
		return SK_OK;
	}
	if (rr == NULL || rr->state != COORD_R_PENDING)
		return SK_OK;
	set_state(rr, COORD_R_DISPATCHED, now_ms);
	coord_narrate_dispatched(ro, rr);
	return journal_region(ro, rr, j, err);
}

/* A pause ends with the rollout: nobody can resume a finished one, and
 * its regions still running (a halt lets them finish) must not wait
 * forever. The agents hear it as a new control generation. Replay does
 * the same after the finished record, so the count stays the same. */
static void
end_pause(coord_rollout *ro)
{
	bool any = ro->ctl.paused;

	for (size_t i = 0; i < ro->nregions; i++) {
		any |= ro->regions[i].paused;
		ro->regions[i].paused = false;
	}
	if (!any)
		return;
	ro->ctl.paused = false;
	ro->ctl.by_line = false;
	ro->ctl.gen++;
}

/* Journal and record the end of the rollout in state, then say so. */
static int
finish(coord_rollout *ro, coord_journal *j, int state, const char *reason,
    int64_t now_ms, sk_err *err)
{
	if (coord_journal_finished(j, ro->id, coord_rollout_state_name(state),
		reason, now_ms, err) != SK_OK)
		return err->code;
	ro->state = state;
	ro->finished_ms = now_ms;
	snprintf(ro->reason, sizeof(ro->reason), "%s", reason);
	end_pause(ro);
	coord_narrate_ended(ro);
	return SK_OK;
}

/* All at once: the run ends once every region answered. */
static int
advance_all(coord_rollout *ro, coord_journal *j, int64_t now_ms, sk_err *err)
{
	char reason[SK_ERR_MSG_MAX] = "";
	const coord_region_run *first = NULL;

	for (size_t i = 0; i < ro->nregions; i++) {
		const coord_region_run *rr = &ro->regions[i];

		if (!coord_region_done(rr->state))
			return SK_OK;
		if (first == NULL && !coord_region_ok(rr->state))
			first = rr;
	}
	if (first == NULL)
		return finish(ro, j, ro->rules->ok_state, "", now_ms, err);
	coord_narrate_blocked_reason(ro, first, reason, sizeof(reason));
	return finish(ro, j, ro->rules->failed_state, reason, now_ms, err);
}

/* Phase by phase: halt at the current phase's first failure, or start
 * the next phase once every region of this one succeeded, or end. */
static int
advance_phases(coord_rollout *ro, coord_journal *j, int64_t now_ms,
    bool *changed, sk_err *err)
{
	bool all_ok = true, passed, opened;

	for (size_t i = 0; i < ro->nregions; i++) {
		const coord_region_run *rr = &ro->regions[i];

		if (rr->phase != ro->phase)
			continue;
		if (coord_region_done(rr->state) && !coord_region_ok(rr->state)) {
			char reason[SK_ERR_MSG_MAX];

			snprintf(reason, sizeof(reason), "%.900s", rr->error.msg);
			return finish(ro, j, ro->rules->failed_state, reason,
			    now_ms, err);
		}
		all_ok &= coord_region_ok(rr->state) && !rr->paused;
	}
	if (!all_ok)
		return SK_OK;
	/* A region of a later phase aborted before it started halts the
	 * rollout once this phase is done: its phase never starts. */
	for (size_t i = 0; i < ro->nregions; i++) {
		const coord_region_run *rr = &ro->regions[i];
		char reason[SK_ERR_MSG_MAX];

		if (!rr->aborted || !coord_region_done(rr->state) ||
		    coord_region_ok(rr->state))
			continue;
		snprintf(reason, sizeof(reason), "%.900s", rr->error.msg);
		return finish(ro, j, ro->rules->failed_state, reason, now_ms, err);
	}
	/* The phase's exit gate (coord_gate.c) holds what comes next. */
	if (coord_gate_exit(ro, j, now_ms, &passed, err) != SK_OK)
		return err->code;
	if (!passed)
		return SK_OK;
	if (ro->phase + 1 < ro->nphases) {
		if (ro->ctl.paused)
			return SK_OK; /* the next phase waits for the resume */
		if (coord_journal_phase(j, ro->id, ro->phase + 1, now_ms, err) != SK_OK)
			return err->code;
		ro->phase++;
		coord_narrate_phase_started(ro, ro->phase);
		*changed = true;
		return coord_gate_enter(ro, j, now_ms, &opened, err);
	}
	return finish(ro, j, ro->rules->ok_state, "", now_ms, err);
}

/* Halt, advance or end after a region finished. */
static int
advance(coord_rollout *ro, coord_journal *j, int64_t now_ms, bool *changed, sk_err *err)
{
	if (ro->state != COORD_RO_RUNNING)
		return SK_OK;
	if (ro->rules->pacing == COORD_PACE_ALL_AT_ONCE)
		return advance_all(ro, j, now_ms, err);
	return advance_phases(ro, j, now_ms, changed, err);
}

/* Apply the state change report r implies for rr, if any. */
static void
transition(coord_region_run *rr, const sk_report *r, int64_t now_ms)
{
	const struct transition *t;

	if (r->event <= 0 || r->event >= SK_EV_MAX || !transitions[r->event].row)
		return;
	t = &transitions[r->event];
	if (t->error == ERR_SET)
		rr->error = r->error;
	else if (t->error == ERR_CLEAR)
		sk_err_clear(&rr->error);
	if (t->to >= 0 && (!t->forward || rr->state < t->to))
		set_state(rr, t->to, now_ms);
}

/* A sampled exit gate's report (coord_gate_sample.c): a failed item
 * halts the rollout; an erring one has paused it. */
static int
gate_sample(coord_rollout *ro, const char *region, const sk_report *r,
    coord_journal *j, int64_t now, bool *changed, sk_err *err)
{
	char reason[SK_ERR_MSG_MAX];
	int verdict;

	if (coord_gate_sample_fold(ro, region, r, j, now, false, &verdict,
		reason, sizeof(reason), err) != SK_OK)
		return err->code;
	if (verdict == COORD_GATE_GO_ON)
		return SK_OK;
	*changed = true;
	if (verdict == COORD_GATE_HALT)
		return finish(ro, j, ro->rules->failed_state, reason, now, err);
	return SK_OK;
}

/* flags: a report of the flags-first pass; its failure ends the
 * rollback, no revert having run. */
static int
flags_report(coord_rollout *ro, const char *region, const sk_report *r,
    coord_journal *j, bool *changed, sk_err *err)
{
	char reason[SK_ERR_MSG_MAX];
	int out;

	if (ro->state != COORD_RO_RUNNING)
		return SK_OK;
	out = coord_flags_report(ro, region, r, reason, sizeof(reason));
	if (out == COORD_FLAGS_FLIPPED)
		*changed = true;
	if (out == COORD_FLAGS_FAILED)
		return finish(ro, j, ro->rules->failed_state, reason, sk_now_ms(), err);
	return SK_OK;
}

int
coord_rollout_report(coord_rollout *ro, const char *region, const sk_report *r,
    coord_journal *j, bool *changed, sk_err *err)
{
	coord_region_run *rr = coord_rollout_region(ro, region);
	int64_t now = sk_now_ms();
	int before;

	*changed = false;
	/* flags: the pass keeps its own state, and nothing else moves
	 * while it runs (an agent that predates it would not say
	 * flags_only). */
	if (r->flags_only || coord_flags_pending(ro))
		return r->flags_only ? flags_report(ro, region, r, j, changed, err) :
				       SK_OK;
	if (r->event == SK_EV_GATE_SAMPLE)
		return gate_sample(ro, region, r, j, now, changed, err);
	if (rr == NULL || coord_region_done(rr->state) ||
	    (ro->rules->pacing == COORD_PACE_PHASES && rr->phase > ro->phase))
		return SK_OK;
	before = rr->state;
	rr->updated_ms = now;
	coord_progress_note(&rr->progress, r, now);
	transition(rr, r, now);
	if (rr->aborted && coord_region_done(rr->state))
		end_aborted(rr, now);
	coord_narrate_report(ro, rr, r);
	if (rr->state == before)
		return SK_OK;
	if (journal_region(ro, rr, j, err) != SK_OK)
		return err->code;
	if (coord_region_done(rr->state))
		return advance(ro, j, now, changed, err);
	return SK_OK;
}

int
coord_rollout_abort(coord_rollout *ro, coord_journal *j, const char *reason,
    int64_t now_ms, sk_err *err)
{
	return finish(ro, j, COORD_RO_ABORTED, reason, now_ms, err);
}

bool
coord_rollout_any_aborted(const coord_rollout *ro)
{
	for (size_t i = 0; i < ro->nregions; i++)
		if (ro->regions[i].aborted)
			return true;
	return false;
}

int
coord_rollout_abort_regions(coord_rollout *ro, coord_journal *j, int64_t now_ms,
    bool *changed, sk_err *err)
{
	*changed = false;
	if (ro->state != COORD_RO_RUNNING)
		return SK_OK;
	for (size_t i = 0; i < ro->nregions; i++) {
		coord_region_run *rr = &ro->regions[i];

		if (!rr->aborted || rr->state != COORD_R_PENDING)
			continue;
		end_aborted(rr, now_ms);
		coord_narrate_aborted_unstarted(ro, rr);
		if (journal_region(ro, rr, j, err) != SK_OK)
			return err->code;
	}
	return advance(ro, j, now_ms, changed, err);
}

int
coord_rollout_settle(coord_rollout *ro, coord_journal *j, bool *changed, sk_err *err)
{
	*changed = false;
	/* A pending region aborted just before a crash fails now. */
	if (coord_rollout_any_aborted(ro))
		return coord_rollout_abort_regions(ro, j, sk_now_ms(), changed, err);
	return advance(ro, j, sk_now_ms(), changed, err);
}

int
coord_rollout_tick(coord_rollout *ro, coord_journal *j, int64_t now_ms,
    bool *changed, sk_err *err)
{
	bool due = false;

	*changed = false;
	if (ro->state != COORD_RO_RUNNING)
		return SK_OK;
	if (coord_gate_tick(ro, j, now_ms, &due, err) != SK_OK)
		return err->code;
	if (!due)
		return SK_OK;
	*changed = true;
	return advance(ro, j, now_ms, changed, err);
}

void
coord_rollout_note_databases(coord_rollout *ro, const char *region, uint32_t ndatabases)
{
	coord_region_run *rr = coord_rollout_region(ro, region);

	if (rr != NULL)
		coord_progress_set_databases(&rr->progress, ndatabases);
}

/* ---- replay ------------------------------------------------------------- */

void
coord_rollout_replay_region(coord_rollout *ro, const coord_region_record *rec)
{
	coord_region_run *rr = coord_rollout_region(ro, rec->name);

	if (rr == NULL)
		return;
	/* A region that was running when the coordinator stopped is asked
	 * again; the agent's ledger makes the repeat harmless, and its
	 * reports carry its progress on. */
	set_state(rr, rec->state, rec->at_ms);
	rr->error = rec->error;
	/* The total counts the agent's databases, which no report says. */
	rr->progress.steps_total = rec->steps_total;
	/* The replayed reports rebuilt the rest, up to the last of them (a
	 * record is journaled while its message's reports are folded, so it
	 * can be behind them); a journal without reports has only this. */
	if (rr->progress.noted)
		return;
	snprintf(rr->progress.step, sizeof(rr->progress.step), "%s", rec->step);
	snprintf(rr->progress.database, sizeof(rr->progress.database), "%s",
	    rec->database);
	rr->progress.steps_done = rec->steps_done;
}

void
coord_rollout_replay_report(coord_rollout *ro, const char *region, const sk_report *r)
{
	coord_region_run *rr = coord_rollout_region(ro, region);
	char reason[SK_ERR_MSG_MAX];
	int verdict;
	sk_err err;

	if (r->flags_only || coord_flags_pending(ro)) { /* flags */
		if (r->flags_only)
			coord_flags_replay_report(ro, region, r);
		return;
	}
	if (r->event == SK_EV_GATE_SAMPLE) {
		/* Counts only: what it decided was journaled then. */
		if (coord_gate_sample_fold(ro, region, r, NULL, r->at_ms, true,
			&verdict, reason, sizeof(reason), &err) != SK_OK)
			sk_log_err(SK_LOG_WARN, &err);
		return;
	}
	/* What coord_rollout_report ignores, at the same point of the
	 * journal (the region and phase records that follow a report are
	 * not replayed yet). */
	if (rr == NULL || coord_region_done(rr->state) ||
	    (ro->rules->pacing == COORD_PACE_PHASES && rr->phase > ro->phase))
		return;
	if (r->at_ms > rr->updated_ms)
		rr->updated_ms = r->at_ms;
	coord_progress_note(&rr->progress, r, r->at_ms);
}

void
coord_rollout_replay_phase(coord_rollout *ro, uint32_t phase, int64_t at_ms)
{
	(void)at_ms;
	if (phase < ro->nphases)
		ro->phase = phase;
}

void
coord_rollout_replay_finished(
    coord_rollout *ro, const char *state, const char *reason, int64_t at_ms)
{
	int s = coord_rollout_state_parse(state);

	ro->state = s > COORD_RO_RUNNING ? s : COORD_RO_FAILED;
	ro->finished_ms = at_ms;
	snprintf(ro->reason, sizeof(ro->reason), "%s", reason);
	end_pause(ro);
}

/* coord_rollout: the phase state machine. Pure logic over the journal, so
 * that it can be unit tested without sockets. What a rollout answers
 * without changing (its view, what a rollback would undo) is in
 * coord_rollout_query.c. */
#include "coord_rollout.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_rollout_int.h"
#include "sk_log.h"
#include "sk_util.h"

#define EVENTS_MAX 50000

static const char *const region_state_names[] = {
	[COORD_R_PENDING] = "pending",
	[COORD_R_DISPATCHED] = "dispatched",
	[COORD_R_RUNNING] = "running",
	[COORD_R_SUCCEEDED] = "succeeded",
	[COORD_R_FAILED] = "failed",
	[COORD_R_REFUSED] = "refused",
};

static const char *const rollout_state_names[] = {
	[COORD_RO_RUNNING] = "running",
	[COORD_RO_SUCCEEDED] = "succeeded",
	[COORD_RO_FAILED] = "failed",
	[COORD_RO_READY] = "ready",
	[COORD_RO_BLOCKED] = "blocked",
};

const char *
coord_region_state_name(int state)
{
	if (state < COORD_R_PENDING || state > COORD_R_REFUSED)
		return "unknown";
	return region_state_names[state];
}

const char *
coord_rollout_state_name(int state)
{
	if (state < COORD_RO_RUNNING || state > COORD_RO_BLOCKED)
		return "unknown";
	return rollout_state_names[state];
}

static int
region_state_from_name(const char *name)
{
	if (strcmp(name, "ready") == 0)
		return COORD_R_SUCCEEDED;
	if (strcmp(name, "blocked") == 0)
		return COORD_R_FAILED;
	for (int i = COORD_R_PENDING; i <= COORD_R_REFUSED; i++)
		if (strcmp(region_state_names[i], name) == 0)
			return i;
	return COORD_R_PENDING;
}

/* A region's state as shown and journaled: a rehearsal's regions end
 * "ready" or "blocked", since nothing succeeded in changing anything. */
static const char *
region_state_text(int mode, int state)
{
	if (mode == SK_MODE_REHEARSE && state == COORD_R_SUCCEEDED)
		return "ready";
	if (mode == SK_MODE_REHEARSE && state == COORD_R_FAILED)
		return "blocked";
	return coord_region_state_name(state);
}

bool
rollout_region_done(int state)
{
	return state >= COORD_R_SUCCEEDED;
}

static void
set_state(const coord_rollout *ro, coord_region_run *rr, int state, int64_t now_ms)
{
	rr->state = state;
	/* The detail says what a running region is doing now ("waiting for
	 * a lock held by pid ..."): an ended region is doing nothing; its
	 * error, if any, is in view.error. */
	if (rollout_region_done(state))
		rr->view.detail[0] = '\0';
	snprintf(rr->view.state, sizeof(rr->view.state), "%s",
	    region_state_text(ro->mode, state));
	rr->view.updated_ms = now_ms;
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

coord_rollout *
coord_rollout_create(const char *id, sk_plan *plan, const uint8_t *signed_plan,
    size_t len, const coord_origin *origin, int64_t now_ms)
{
	coord_rollout *ro = calloc(1, sizeof(*ro));
	bool rollback;
	size_t *order = NULL; /* plan phase index of each ro->phases entry */

	if (ro == NULL)
		goto fail;
	ro->plan = plan;
	snprintf(ro->id, sizeof(ro->id), "%s", id);
	ro->created_ms = now_ms;
	ro->mode = origin != NULL && origin->mode > SK_MODE_APPLY &&
		origin->mode < SK_MODE_MAX ?
	    origin->mode :
	    SK_MODE_APPLY;
	rollback = ro->mode == SK_MODE_ROLLBACK;
	if (rollback && origin->of_rollout != NULL)
		snprintf(ro->of_rollout, sizeof(ro->of_rollout), "%s",
		    origin->of_rollout);
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
		goto fail;
	memcpy(ro->signed_plan, signed_plan, len);
	ro->signed_plan_len = len;
	for (size_t i = 0; i < plan->nregions; i++) {
		coord_region_run *rr;

		if (rollback &&
		    !in_list(origin->only_regions, origin->nonly_regions,
			plan->regions[i]))
			continue;
		rr = &ro->regions[ro->nregions++];
		snprintf(rr->view.name, sizeof(rr->view.name), "%s", plan->regions[i]);
		rr->view.steps_total = (uint32_t)plan->nsteps;
		rr->ndatabases = 1;
		set_state(ro, rr, COORD_R_PENDING, now_ms);
		rr->phase = (uint32_t)plan_phase_of(plan, plan->regions[i]);
	}
	/* The run order of phases: the plan's, or reversed for a rollback,
	 * keeping only phases with a region of this rollout. */
	for (size_t k = 0; k < plan->nphases; k++) {
		size_t p = rollback ? plan->nphases - 1 - k : k;
		bool used = !rollback;

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
	free(order);
	return ro;
fail:
	free(order);
	if (ro == NULL)
		sk_plan_destroy(plan);
	coord_rollout_destroy(ro);
	return NULL;
}

void
coord_rollout_destroy(coord_rollout *ro)
{
	if (ro == NULL)
		return;
	sk_plan_destroy(ro->plan);
	free(ro->signed_plan);
	for (size_t i = 0; ro->regions != NULL && i < ro->nregions; i++)
		free(ro->regions[i].dbs);
	free(ro->regions);
	free(ro->phases);
	free(ro->events);
	free(ro->arena);
	free(ro->kept);
	free(ro);
}

coord_region_run *
coord_rollout_region(const coord_rollout *ro, const char *name)
{
	for (size_t i = 0; i < ro->nregions; i++)
		if (strcmp(ro->regions[i].view.name, name) == 0)
			return &ro->regions[i];
	return NULL;
}

static coord_region_run *
find_region(coord_rollout *ro, const char *name)
{
	return coord_rollout_region(ro, name);
}

void
coord_rollout_event(coord_rollout *ro, const char *region, const char *fmt, ...)
{
	sk_event_view *e;
	va_list ap;

	if (ro->nevents >= EVENTS_MAX)
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

static void
phase_event(coord_rollout *ro, uint32_t phase)
{
	char list[512] = "";
	size_t off = 0;
	bool all = ro->mode == SK_MODE_REHEARSE;

	if (phase >= ro->nphases)
		return;
	for (size_t i = 0; i < ro->nregions && off < sizeof(list); i++)
		if (all || ro->regions[i].phase == phase)
			off += (size_t)snprintf(list + off, sizeof(list) - off,
			    "%s%s", off ? ", " : "", ro->regions[i].view.name);
	if (ro->mode == SK_MODE_REHEARSE)
		coord_rollout_event(ro, NULL,
		    "rehearsal started in every region at once: %s (every "
		    "change is rolled back)",
		    list);
	else if (ro->mode == SK_MODE_ROLLBACK)
		coord_rollout_event(ro, NULL,
		    "rollback of %s: phase %u/%zu %s started: %s", ro->of_rollout,
		    phase + 1, ro->nphases, ro->phases[phase]->name, list);
	else
		coord_rollout_event(ro, NULL, "phase %u/%zu %s started: %s",
		    phase + 1, ro->nphases, ro->phases[phase]->name, list);
}

int
coord_rollout_start(coord_rollout *ro, coord_journal *j, int64_t now_ms, sk_err *err)
{
	if (coord_journal_phase(j, ro->id, 0, now_ms, err) != SK_OK)
		return err->code;
	ro->phase = 0;
	phase_event(ro, 0);
	return SK_OK;
}

bool
coord_rollout_wants(const coord_rollout *ro, const char *region)
{
	if (ro->state != COORD_RO_RUNNING)
		return false;
	for (size_t i = 0; i < ro->nregions; i++) {
		const coord_region_run *rr = &ro->regions[i];

		if (strcmp(rr->view.name, region) == 0)
			return !rollout_region_done(rr->state) &&
			    (ro->mode == SK_MODE_REHEARSE || rr->phase == ro->phase);
	}
	return false;
}

bool
coord_rollout_has_region(const coord_rollout *ro, const char *region)
{
	return find_region((coord_rollout *)ro, region) != NULL;
}

static int
journal_region(coord_rollout *ro, coord_region_run *rr, coord_journal *j, sk_err *err)
{
	return coord_journal_region(j, ro->id, &rr->view, err);
}

int
coord_rollout_dispatched(coord_rollout *ro, const char *region,
    coord_journal *j, int64_t now_ms, sk_err *err)
{
	coord_region_run *rr = find_region(ro, region);

	if (rr == NULL || rr->state != COORD_R_PENDING)
		return SK_OK;
	set_state(ro, rr, COORD_R_DISPATCHED, now_ms);
	coord_rollout_event(ro, region, "%s: plan sent to agent (%s)", region,
	    sk_mode_name(ro->mode));
	return journal_region(ro, rr, j, err);
}

/* Journal and record the end of the rollout. */
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
	return SK_OK;
}

/* A rehearsal ends once every region answered: ready or blocked. */
static int
advance_rehearsal(coord_rollout *ro, coord_journal *j, int64_t now_ms, sk_err *err)
{
	char reason[SK_ERR_MSG_MAX] = "";
	size_t nblocked = 0, off = 0;
	const coord_region_run *first = NULL;

	for (size_t i = 0; i < ro->nregions; i++) {
		const coord_region_run *rr = &ro->regions[i];

		if (!rollout_region_done(rr->state))
			return SK_OK;
		if (rr->state == COORD_R_SUCCEEDED)
			continue;
		if (first == NULL)
			first = rr;
		nblocked++;
	}
	if (nblocked == 0) {
		if (finish(ro, j, COORD_RO_READY, "", now_ms, err) != SK_OK)
			return err->code;
		coord_rollout_event(ro, NULL, "rehearsal: READY in %zu/%zu regions",
		    ro->nregions, ro->nregions);
		return SK_OK;
	}
	off = (size_t)snprintf(reason, sizeof(reason),
	    "blocked in %zu/%zu regions", nblocked, ro->nregions);
	for (size_t i = 0, k = 0; i < ro->nregions && off < sizeof(reason); i++)
		if (ro->regions[i].state != COORD_R_SUCCEEDED)
			off += (size_t)snprintf(reason + off, sizeof(reason) - off,
			    "%s%s", k++ ? ", " : " (", ro->regions[i].view.name);
	if (off < sizeof(reason))
		snprintf(reason + off, sizeof(reason) - off, "): %s: %.700s",
		    first->view.name, first->view.error.msg);
	if (finish(ro, j, COORD_RO_BLOCKED, reason, now_ms, err) != SK_OK)
		return err->code;
	coord_rollout_event(ro, NULL, "rehearsal %s", reason);
	return SK_OK;
}

/* Halt or advance after a region finished. */
static int
advance(coord_rollout *ro, coord_journal *j, int64_t now_ms, bool *changed, sk_err *err)
{
	bool all_ok = true;
	size_t ok = 0;
	const char *what = ro->mode == SK_MODE_ROLLBACK ? "rollback" : "rollout";

	if (ro->state != COORD_RO_RUNNING)
		return SK_OK;
	if (ro->mode == SK_MODE_REHEARSE)
		return advance_rehearsal(ro, j, now_ms, err);
	for (size_t i = 0; i < ro->nregions; i++) {
		coord_region_run *rr = &ro->regions[i];

		if (rr->phase != ro->phase)
			continue;
		if (rr->state == COORD_R_FAILED || rr->state == COORD_R_REFUSED) {
			char reason[SK_ERR_MSG_MAX];

			snprintf(reason, sizeof(reason), "%.900s",
			    rr->view.error.msg);
			if (finish(ro, j, COORD_RO_FAILED, reason, now_ms, err) != SK_OK)
				return err->code;
			coord_rollout_event(ro, NULL,
			    "%s halted in phase %s: %s; later phases not started",
			    what, ro->phases[ro->phase]->name, reason);
			return SK_OK;
		}
		if (rr->state != COORD_R_SUCCEEDED)
			all_ok = false;
	}
	if (!all_ok)
		return SK_OK;
	if (ro->phase + 1 < ro->nphases) {
		if (coord_journal_phase(j, ro->id, ro->phase + 1, now_ms, err) != SK_OK)
			return err->code;
		ro->phase++;
		phase_event(ro, ro->phase);
		*changed = true;
		return SK_OK;
	}
	if (finish(ro, j, COORD_RO_SUCCEEDED, "", now_ms, err) != SK_OK)
		return err->code;
	for (size_t i = 0; i < ro->nregions; i++)
		ok += ro->regions[i].state == COORD_R_SUCCEEDED;
	coord_rollout_event(ro, NULL, "%s succeeded in %zu/%zu regions", what,
	    ok, ro->nregions);
	return SK_OK;
}

static void
err_text(const sk_err *e, char *buf, size_t len)
{
	if (e->sqlstate[0])
		snprintf(buf, len, "%s (SQLSTATE %s)", e->msg, e->sqlstate);
	else
		snprintf(buf, len, "%s", e->msg);
}

/* Progress text for the events that only the newer agents send. */
static void
report_event_extra(coord_rollout *ro, coord_region_run *rr, const char *region,
    const sk_report *r, const char *dur)
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
		if (r->nblockers > 0) {
			const sk_blocker *b = &r->blockers[0];

			snprintf(rr->view.detail, sizeof(rr->view.detail),
			    "waiting for a lock held by pid %d (%s)", b->pid,
			    b->state);
			coord_rollout_event(ro, region,
			    "%s/%s: %s%s waits for a lock (attempt %u): pid "
			    "%d (%s, user %s) holds it: %.120s",
			    region, r->database,
			    r->step_id[0] ? "step " : "phase checks", r->step_id,
			    r->attempt, b->pid, b->state, b->user, b->query);
		} else {
			coord_rollout_event(ro, region,
			    "%s/%s: %s%s waits for a lock (attempt %u)", region,
			    r->database, r->step_id[0] ? "step " : "phase checks",
			    r->step_id, r->attempt);
		}
		break;
	case SK_EV_BACKUP:
		if (r->has_backup)
			coord_rollout_event(ro, region,
			    "%s/%s: backup %s (%lld bytes) taken and verified",
			    region, r->database, r->backup.path,
			    (long long)r->backup.size);
		break;
	case SK_EV_STEP_REVERTED:
		rr->view.steps_done++;
		rr->view.detail[0] = '\0';
		coord_rollout_event(ro, region, "%s/%s: step %s reverted in %s",
		    region, r->database, r->step_id, dur);
		break;
	case SK_EV_STEP_REHEARSED:
		rr->view.steps_done++;
		rr->view.detail[0] = '\0';
		coord_rollout_event(ro, region,
		    "%s/%s: step %s rehearsed in %s (rolled back)", region,
		    r->database, r->step_id, dur);
		break;
	case SK_EV_STEP_NOT_REHEARSABLE:
		rr->view.steps_done++;
		rr->view.detail[0] = '\0';
		coord_rollout_event(ro, region,
		    "%s/%s: step %s cannot be rehearsed%s%s", region,
		    r->database, r->step_id, r->detail[0] ? ": " : "", r->detail);
		break;
	default:
		break;
	}
}

/* ---- per-database progress ---------------------------------------------- */

/* The entry for database name, added (state "running") if new; NULL when
 * the region already tracks COORD_DATABASES_MAX or memory is short. */
static sk_database_view *
db_entry(coord_rollout *ro, coord_region_run *rr, const char *name)
{
	sk_database_view *d;

	for (size_t i = 0; i < rr->ndbs; i++)
		if (strcmp(rr->dbs[i].name, name) == 0)
			return &rr->dbs[i];
	if (rr->ndbs >= COORD_DATABASES_MAX)
		return NULL;
	if (rr->ndbs == rr->dbs_cap) {
		size_t cap = rr->dbs_cap ? rr->dbs_cap * 2 : 4;
		sk_database_view *n = realloc(rr->dbs, cap * sizeof(*n));

		if (n == NULL)
			return NULL; /* progress is a convenience; state is unaffected */
		rr->dbs = n;
		rr->dbs_cap = cap;
	}
	d = &rr->dbs[rr->ndbs++];
	memset(d, 0, sizeof(*d));
	snprintf(d->region, sizeof(d->region), "%s", rr->view.name);
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->state, sizeof(d->state), "running");
	d->steps_total = (uint32_t)ro->plan->nsteps;
	return d;
}

/* Apply report r to the database it names. */
static void
db_note(coord_rollout *ro, coord_region_run *rr, const sk_report *r, int64_t now)
{
	sk_database_view *d;

	if (r->event == SK_EV_PLAN_ACCEPTED) {
		rr->ndbs = 0; /* a new run of the plan in this region */
		return;
	}
	if (r->database[0] == '\0' || (d = db_entry(ro, rr, r->database)) == NULL)
		return;
	d->updated_ms = now;
	if (r->step_id[0])
		snprintf(d->step, sizeof(d->step), "%s", r->step_id);
	switch (r->event) {
	case SK_EV_DB_WAITING:
		snprintf(d->state, sizeof(d->state), "waiting");
		snprintf(d->detail, sizeof(d->detail), "waiting: %.240s",
		    r->error.code != SK_OK ? r->error.msg : r->detail);
		d->blocker_pid = 0;
		break;
	case SK_EV_DB_STARTED:
	case SK_EV_STEP_STARTED:
	case SK_EV_PROGRESS:
		/* A step that reports progress holds its locks. */
		snprintf(d->state, sizeof(d->state), "running");
		d->detail[0] = '\0';
		d->blocker_pid = 0;
		break;
	case SK_EV_STEP_FINISHED:
	case SK_EV_STEP_SKIPPED:
	case SK_EV_STEP_REVERTED:
	case SK_EV_STEP_REHEARSED:
	case SK_EV_STEP_NOT_REHEARSABLE:
		d->steps_done++;
		d->detail[0] = '\0';
		d->blocker_pid = 0;
		break;
	case SK_EV_LOCK_WAIT:
		snprintf(d->state, sizeof(d->state), "running");
		if (r->nblockers > 0) {
			d->blocker_pid = r->blockers[0].pid;
			snprintf(d->detail, sizeof(d->detail),
			    "waiting for a lock held by pid %d (%s)",
			    r->blockers[0].pid, r->blockers[0].state);
		} else {
			d->blocker_pid = 0;
			snprintf(d->detail, sizeof(d->detail), "waiting for a lock");
		}
		break;
	case SK_EV_STEP_FAILED:
		snprintf(d->detail, sizeof(d->detail),
		    "step %.64s failed: %.160s", r->step_id, r->error.msg);
		d->blocker_pid = 0;
		break;
	case SK_EV_DB_FINISHED:
		snprintf(d->state, sizeof(d->state), "done");
		d->detail[0] = '\0';
		d->blocker_pid = 0;
		break;
	case SK_EV_DB_FAILED:
		snprintf(d->state, sizeof(d->state), "failed");
		snprintf(d->detail, sizeof(d->detail), "%.250s", r->error.msg);
		d->blocker_pid = 0;
		break;
	default:
		break;
	}
}

/* The detail of a running region with several databases: how many are
 * done, and how many wait for what, e.g. "1 of 3 databases done, 1
 * waiting for a lock". (With one database, the detail is that
 * database's, as the report switch sets it.) */
static void
region_summary(coord_region_run *rr)
{
	size_t total = rr->ndatabases > rr->ndbs ? rr->ndatabases : rr->ndbs;
	size_t done = 0, failed = 0, locked = 0, waiting = 0, off;
	char *buf = rr->view.detail;
	size_t len = sizeof(rr->view.detail);

	if (total <= 1 || rollout_region_done(rr->state))
		return;
	for (size_t i = 0; i < rr->ndbs; i++) {
		const sk_database_view *d = &rr->dbs[i];

		if (strcmp(d->state, "done") == 0)
			done++;
		else if (strcmp(d->state, "failed") == 0)
			failed++;
		else if (strcmp(d->state, "waiting") == 0)
			waiting++;
		else if (strncmp(d->detail, "waiting for a lock", 18) == 0)
			locked++;
	}
	off = (size_t)snprintf(buf, len, "%zu of %zu databases done", done, total);
	if (failed && off < len)
		off += (size_t)snprintf(buf + off, len - off, ", %zu failed", failed);
	if (locked && off < len)
		off += (size_t)snprintf(
		    buf + off, len - off, ", %zu waiting for a lock", locked);
	if (waiting && off < len)
		snprintf(buf + off, len - off, ", %zu waiting to start", waiting);
}

int
coord_rollout_report(coord_rollout *ro, const char *region, const sk_report *r,
    coord_journal *j, bool *changed, sk_err *err)
{
	coord_region_run *rr = find_region(ro, region);
	int64_t now = sk_now_ms();
	char etext[SK_ERR_MSG_MAX + 32];
	char dur[32];
	bool rehearse = ro->mode == SK_MODE_REHEARSE;
	int before;

	*changed = false;
	if (rr == NULL || rollout_region_done(rr->state) ||
	    (!rehearse && rr->phase > ro->phase))
		return SK_OK;
	before = rr->state;
	err_text(&r->error, etext, sizeof(etext));
	sk_duration_format(r->duration_ms, dur, sizeof(dur));
	if (r->database[0])
		snprintf(rr->view.database, sizeof(rr->view.database), "%s", r->database);
	if (r->step_id[0])
		snprintf(rr->view.step, sizeof(rr->view.step), "%s", r->step_id);
	rr->view.updated_ms = now;
	db_note(ro, rr, r, now);
	switch (r->event) {
	case SK_EV_PLAN_ACCEPTED:
		rr->view.steps_done = 0;
		rr->view.detail[0] = '\0';
		set_state(ro, rr, COORD_R_RUNNING, now);
		coord_rollout_event(
		    ro, region, "%s: plan verified and accepted", region);
		break;
	case SK_EV_PLAN_REFUSED:
		rr->view.error = r->error;
		set_state(ro, rr, COORD_R_REFUSED, now);
		coord_rollout_event(ro, region, "%s: plan refused: %s", region, etext);
		break;
	case SK_EV_DB_WAITING:
		snprintf(rr->view.detail, sizeof(rr->view.detail), "waiting: %.240s",
		    r->error.code != SK_OK ? r->error.msg : r->detail);
		if (rr->state < COORD_R_RUNNING)
			set_state(ro, rr, COORD_R_RUNNING, now);
		coord_rollout_event(ro, region,
		    "%s/%s: waiting (attempt %u): %s", region, r->database,
		    r->attempt, r->error.code != SK_OK ? etext : r->detail);
		break;
	case SK_EV_DB_STARTED:
		rr->view.detail[0] = '\0';
		if (rr->state < COORD_R_RUNNING)
			set_state(ro, rr, COORD_R_RUNNING, now);
		break;
	case SK_EV_STEP_STARTED:
		rr->view.detail[0] = '\0';
		coord_rollout_event(ro, region, "%s/%s: step %s started",
		    region, r->database, r->step_id);
		break;
	case SK_EV_STEP_FINISHED:
		rr->view.steps_done++;
		rr->view.detail[0] = '\0';
		if (r->rows > 0)
			coord_rollout_event(ro, region,
			    "%s/%s: step %s applied in %s (%lld rows)", region,
			    r->database, r->step_id, dur, (long long)r->rows);
		else
			coord_rollout_event(ro, region, "%s/%s: step %s applied in %s",
			    region, r->database, r->step_id, dur);
		break;
	case SK_EV_STEP_SKIPPED:
		rr->view.steps_done++;
		rr->view.detail[0] = '\0';
		coord_rollout_event(ro, region,
		    "%s/%s: step %s already applied (ledger), skipped", region,
		    r->database, r->step_id);
		break;
	case SK_EV_STEP_FAILED:
		/* No longer waiting: the failure is the news (and the
		 * region's error once the agent reports the plan failed). */
		snprintf(rr->view.detail, sizeof(rr->view.detail),
		    "step %.64s failed: %.160s", r->step_id, r->error.msg);
		coord_rollout_event(ro, region, "%s/%s: step %s failed: %s",
		    region, r->database, r->step_id, etext);
		break;
	case SK_EV_DB_FINISHED:
		rr->view.detail[0] = '\0';
		if (rehearse)
			coord_rollout_event(
			    ro, region, "%s/%s: READY", region, r->database);
		else if (ro->mode == SK_MODE_ROLLBACK)
			coord_rollout_event(ro, region,
			    "%s/%s: every completed step reverted", region,
			    r->database);
		else
			coord_rollout_event(ro, region, "%s/%s: all steps done",
			    region, r->database);
		break;
	case SK_EV_DB_FAILED:
		rr->view.error = r->error;
		rr->view.detail[0] = '\0';
		if (rehearse)
			coord_rollout_event(ro, region, "%s/%s: BLOCKED: %s",
			    region, r->database, etext);
		break;
	case SK_EV_PLAN_SUCCEEDED:
		rr->view.error.code = SK_OK;
		rr->view.detail[0] = '\0';
		set_state(ro, rr, COORD_R_SUCCEEDED, now);
		if (rehearse)
			coord_rollout_event(ro, region,
			    "%s: READY (every database) in %s", region, dur);
		else
			coord_rollout_event(
			    ro, region, "%s: succeeded in %s", region, dur);
		break;
	case SK_EV_PLAN_FAILED:
		rr->view.error = r->error;
		set_state(ro, rr, COORD_R_FAILED, now);
		coord_rollout_event(ro, region, "%s: %s: %s", region,
		    rehearse ? "BLOCKED" : "failed", etext);
		break;
	default:
		report_event_extra(ro, rr, region, r, dur);
		break;
	}
	region_summary(rr);
	if (rr->state == before)
		return SK_OK;
	if (journal_region(ro, rr, j, err) != SK_OK)
		return err->code;
	if (rollout_region_done(rr->state))
		return advance(ro, j, now, changed, err);
	return SK_OK;
}

int
coord_rollout_settle(coord_rollout *ro, coord_journal *j, bool *changed, sk_err *err)
{
	*changed = false;
	return advance(ro, j, sk_now_ms(), changed, err);
}

void
coord_rollout_note_databases(coord_rollout *ro, const char *region, uint32_t ndatabases)
{
	coord_region_run *rr = find_region(ro, region);

	if (rr == NULL || ndatabases == 0)
		return;
	rr->ndatabases = ndatabases;
	rr->view.steps_total = (uint32_t)ro->plan->nsteps * ndatabases;
}

/* ---- replay ------------------------------------------------------------- */

void
coord_rollout_replay_region(coord_rollout *ro, const sk_region_view *v)
{
	coord_region_run *rr = find_region(ro, v->name);

	if (rr == NULL)
		return;
	rr->view = *v;
	rr->state = region_state_from_name(v->state);
	if (rollout_region_done(rr->state))
		rr->view.detail[0] = '\0';
	/* A region that was running when the coordinator stopped is asked
	 * again; the agent's ledger makes the repeat harmless. */
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
	ro->state = COORD_RO_FAILED;
	for (int s = COORD_RO_SUCCEEDED; s <= COORD_RO_BLOCKED; s++)
		if (strcmp(state, rollout_state_names[s]) == 0)
			ro->state = s;
	ro->finished_ms = at_ms;
	snprintf(ro->reason, sizeof(ro->reason), "%s", reason);
}

/* coord_opctl: pause, resume and tune of a running rollout, and the
 * commands that bring its agents up to date (coord_opctl.h). The state is
 * coord_rollout.ctl; the state machine reads it (a paused rollout
 * dispatches nothing and starts no phase) and never calls in here. */
#include "coord_opctl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord_flags.h"
#include "coord_mode.h"
#include "coord_narrate.h"
#include "coord_opctl_apply.h"
#include "coord_state.h"
#include "sk_log.h"
#include "sk_plan.h"
#include "sk_util.h"

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

/* ---- state -------------------------------------------------------------- */

/* SK_EINVAL (unprefixed) for a batch out of [1, SK_BACKFILL_BATCH_LIMIT];
 * 0 is "unchanged". Negative rates and batches never decode. */
static int
tune_bounds(const sk_tune *t, sk_err *err)
{
	if (t->batch_min < 0 || t->batch_min > SK_BACKFILL_BATCH_LIMIT ||
	    t->batch_max < 0 || t->batch_max > SK_BACKFILL_BATCH_LIMIT)
		return sk_err_set(err, SK_EINVAL,
		    "a batch of %" PRId64 " or %" PRId64 " rows is not in [1, %d]",
		    t->batch_min, t->batch_max, SK_BACKFILL_BATCH_LIMIT);
	return SK_OK;
}

void
coord_opctl_replay(coord_rollout *ro, const coord_opctl_record *rec)
{
	sk_err err;

	if (rec->kind != SK_CMD_PAUSE && rec->kind != SK_CMD_RESUME &&
	    rec->kind != SK_CMD_TUNE && rec->kind != SK_CMD_ABORT) {
		sk_warn("journal: skipping an operator's command of kind %d on "
			"rollout %s, which this coordinator does not know",
		    rec->kind, ro->id);
		return;
	}
	if (rec->kind == SK_CMD_TUNE && tune_bounds(&rec->tune, &err) != SK_OK) {
		sk_warn("journal: skipping a tune of rollout %s: %s", ro->id, err.msg);
		return;
	}
	coord_opctl_apply(ro, rec);
	/* An abort journals the rollout's end next; a coordinator killed
	 * between the two ends it here (the end record, if any, repeats). */
	if (rec->kind == SK_CMD_ABORT && rec->nregions == 0 && ro->state == COORD_RO_RUNNING)
		coord_rollout_replay_finished(
		    ro, "aborted", nz(rec->reason), rec->at_ms);
}

void
coord_opctl_run_state(const coord_rollout *ro, sk_command *run)
{
	run->control_gen = ro->ctl.gen;
	run->has_tune = ro->ctl.tuned;
	if (ro->ctl.tuned)
		run->tune = ro->ctl.tune;
}

/* ---- requests ----------------------------------------------------------- */

/* The rollout req names, if it may be paused, resumed or tuned (verb):
 * known, running, of a mode that can be paused. */
static coord_rollout *
target(coord_registry *rollouts, const sk_cli_request *req, const char *verb,
    sk_err *err)
{
	coord_rollout *ro = coord_registry_find(rollouts, req->rollout_id);

	if (ro == NULL) {
		sk_err_set(err, SK_ENOTFOUND, "%s rollout %s: no such rollout",
		    verb, req->rollout_id);
		snprintf(err->hint, sizeof(err->hint),
		    "skein rollout status lists the rollouts");
		return NULL;
	}
	if (ro->state != COORD_RO_RUNNING) {
		sk_err_set(err, SK_ESTATE,
		    "%s rollout %s: it has finished (%s); there is nothing to %s",
		    verb, ro->id, coord_rollout_state_name(ro->state), verb);
		snprintf(err->hint, sizeof(err->hint),
		    "skein rollout status %s shows how it ended", ro->id);
		return NULL;
	}
	if (!ro->rules->pausable) {
		sk_err_set(err, SK_ESTATE,
		    "%s %s %s: a %s cannot be paused or tuned: it runs in every "
		    "region at once and holds its locks while it runs, so a pause "
		    "would only hold them longer",
		    verb, ro->rules->noun, ro->id, ro->rules->noun);
		snprintf(err->hint, sizeof(err->hint),
		    "let it end (skein rollout wait %s); it changes nothing", ro->id);
		return NULL;
	}
	return ro;
}

/* "alice at 2026-12-03T10:00:00Z (reason)" of ro's pause into buf. */
static void
pause_words(const coord_rollout *ro, char *buf, size_t len)
{
	time_t t = (time_t)(ro->ctl.paused_ms / 1000);
	struct tm tm;
	char at[32] = "?";

	if (gmtime_r(&t, &tm) != NULL)
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(buf, len, "%s at %s%s%s%s", ro->ctl.paused_by, at,
	    ro->ctl.reason[0] ? " (" : "", ro->ctl.reason,
	    ro->ctl.reason[0] ? ")" : "");
}

/* A reason on one line (SK_EINVAL naming verb and the rollout). */
static int
check_reason(const coord_rollout *ro, const char *verb, const char *reason, sk_err *err)
{
	for (const char *c = reason; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			sk_err_set(err, SK_EINVAL,
			    "%s rollout %s: the reason holds a control "
			    "character (a newline?)",
			    verb, ro->id);
			snprintf(err->hint, sizeof(err->hint),
			    "give the reason on one line: --reason TEXT");
			return SK_EINVAL;
		}
	}
	return SK_OK;
}

/* stopline: a pause or resume of req's regions: each in the rollout,
 * named once, paused (a resume) or not (a pause), and the rollout not
 * paused as a whole (its resume would not resume them). */
static int
check_regions(const coord_rollout *ro, const sk_cli_request *req, sk_err *err)
{
	const char *verb = sk_cli_op_name(req->op);
	bool pause = req->op == SK_CLI_PAUSE;

	if (ro->ctl.paused) {
		sk_err_set(err, SK_ESTATE,
		    "%s rollout %s in region %s: the whole rollout is paused",
		    verb, ro->id, req->regions[0]);
		snprintf(err->hint, sizeof(err->hint),
		    "resume it first (skein rollout resume %s), then pause regions",
		    ro->id);
		return SK_ESTATE;
	}
	for (size_t i = 0; i < req->nregions; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(req->regions[k], req->regions[i]) == 0)
				return sk_err_set(err, SK_EINVAL,
				    "%s rollout %s: region %s named twice",
				    verb, ro->id, req->regions[i]);
	for (size_t i = 0; i < req->nregions; i++) {
		const coord_region_run *rr =
		    coord_rollout_region(ro, req->regions[i]);

		if (rr == NULL) {
			sk_err_set(err, SK_EINVAL,
			    "%s rollout %s in region %s: the rollout has no "
			    "region %s",
			    verb, ro->id, req->regions[i], req->regions[i]);
			snprintf(err->hint, sizeof(err->hint),
			    "skein rollout status %s lists its regions", ro->id);
			return SK_EINVAL;
		}
		if (rr->paused == pause) {
			sk_err_set(err, SK_ESTATE, "%s rollout %s in region %s: %s",
			    verb, ro->id, rr->name,
			    pause ? "it is already paused there" :
				    "it is not paused there");
			snprintf(err->hint, sizeof(err->hint),
			    "skein rollout status %s shows where it is", ro->id);
			return SK_ESTATE;
		}
		if (pause && coord_region_done(rr->state)) {
			sk_err_set(err, SK_ESTATE,
			    "pause rollout %s in region %s: the region has finished "
			    "(%s)",
			    ro->id, rr->name, coord_region_state_name(rr->state));
			snprintf(err->hint, sizeof(err->hint),
			    "pause the regions that still run, or the whole rollout");
			return SK_ESTATE;
		}
	}
	return pause ? check_reason(ro, verb, req->reason, err) : SK_OK;
}

/* A scoped abort's regions: each in the rollout, named once, not
 * finished, not already aborted; no flags-first pass running (it
 * flips every region before anything else). */
static int
check_abort_regions(const coord_rollout *ro, const sk_cli_request *req, sk_err *err)
{
	for (size_t i = 0; i < req->nregions; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(req->regions[k], req->regions[i]) == 0)
				return sk_err_set(err, SK_EINVAL,
				    "abort rollout %s: region %s named twice",
				    ro->id, req->regions[i]);
	for (size_t i = 0; i < req->nregions; i++) {
		const coord_region_run *rr =
		    coord_rollout_region(ro, req->regions[i]);

		if (rr == NULL) {
			sk_err_set(err, SK_EINVAL,
			    "abort rollout %s in region %s: the rollout has no "
			    "region %s",
			    ro->id, req->regions[i], req->regions[i]);
			snprintf(err->hint, sizeof(err->hint),
			    "skein rollout status %s lists its regions", ro->id);
			return SK_EINVAL;
		}
		if (rr->aborted) {
			sk_err_set(err, SK_ESTATE,
			    "abort rollout %s in region %s: it is already "
			    "aborted there, by %s",
			    ro->id, rr->name, rr->aborted_by);
			snprintf(err->hint, sizeof(err->hint),
			    "skein rollout status %s shows what it left", ro->id);
			return SK_ESTATE;
		}
		if (coord_region_done(rr->state)) {
			sk_err_set(err, SK_ESTATE,
			    "abort rollout %s in region %s: the region has "
			    "finished (%s); there is nothing to abort there",
			    ro->id, rr->name,
			    coord_mode_region_state_name(ro->rules, rr->state));
			snprintf(err->hint, sizeof(err->hint),
			    "to undo what ran there, once the rollout ends: "
			    "skein rollout rollback %s --region %s",
			    ro->id, rr->name);
			return SK_ESTATE;
		}
	}
	if (coord_flags_pending(ro)) {
		sk_err_set(err, SK_ESTATE,
		    "abort %s %s in region %s: its flags-first pass is running "
		    "in every region",
		    ro->rules->noun, ro->id, req->regions[0]);
		snprintf(err->hint, sizeof(err->hint),
		    "abort the whole %s (skein rollout abort %s), or wait for "
		    "the pass to end",
		    ro->rules->noun, ro->id);
		return SK_ESTATE;
	}
	return check_reason(ro, "abort", req->reason, err);
}

static int
check_pause(const coord_rollout *ro, const sk_cli_request *req, sk_err *err)
{
	char by[SK_NAME_MAX + SK_REASON_MAX + 48];

	if (req->nregions > 0)
		return check_regions(ro, req, err);
	if (ro->ctl.paused) {
		pause_words(ro, by, sizeof(by));
		sk_err_set(err, SK_ESTATE,
		    "pause rollout %s: it is already paused, by %s", ro->id, by);
		snprintf(err->hint, sizeof(err->hint),
		    "skein rollout resume %s lets it go on", ro->id);
		return SK_ESTATE;
	}
	return check_reason(ro, "pause", req->reason, err);
}

/* The batches step s runs with under tune t: the plan's, t's where it
 * says. False for a step without a backfill. */
static bool
step_batches(const sk_step *s, const sk_tune *t, int64_t *min, int64_t *max)
{
	const sk_backfill_tuning *bt = NULL;

	if (s->kind == SK_STEP_BACKFILL && s->backfill != NULL)
		bt = &s->backfill->tuning;
	else if (s->kind == SK_STEP_EXPAND && s->expand != NULL)
		bt = &s->expand->tuning;
	if (bt == NULL)
		return false;
	*min = t->batch_min > 0 ? t->batch_min : bt->batch_min;
	*max = t->batch_max > 0 ? t->batch_max : bt->batch_max;
	return true;
}

/* A tune must change something within bounds, the plan must have a
 * backfill to take it, and no step may end up with batch_min above
 * batch_max once it is merged with the earlier tunes. */
static int
check_tune(const coord_rollout *ro, const sk_cli_request *req, sk_err *err)
{
	sk_tune merged = ro->ctl.tune;
	bool any = false;
	int64_t min, max;
	char words[160];

	if (sk_tune_is_empty(&req->tune)) {
		sk_err_set(err, SK_EINVAL, "tune rollout %s: nothing to tune", ro->id);
		snprintf(err->hint, sizeof(err->hint),
		    "say what changes: --max-rows-per-second N|none, --batch-min "
		    "N, --batch-max N");
		return SK_EINVAL;
	}
	if (tune_bounds(&req->tune, err) != SK_OK)
		return sk_err_wrap(err, "tune rollout %s", ro->id);
	sk_tune_merge(&merged, &req->tune);
	for (size_t i = 0; i < ro->plan->nsteps; i++) {
		const sk_step *s = &ro->plan->steps[i];

		if (!step_batches(s, &merged, &min, &max))
			continue;
		any = true;
		if (min <= max)
			continue;
		sk_tune_format(&merged, words, sizeof(words));
		sk_err_set(err, SK_EINVAL,
		    "tune rollout %s: step %s would run batches of at least %" PRId64
		    " and at most %" PRId64 " rows: batch_min above batch_max "
		    "(with the plan and earlier tunes: %s)",
		    ro->id, s->id, min, max, words);
		snprintf(err->hint, sizeof(err->hint),
		    "give both, batch_min no larger than batch_max: --batch-min "
		    "N --batch-max M");
		return SK_EINVAL;
	}
	if (!any) {
		sk_err_set(err, SK_ESTATE,
		    "tune rollout %s: its plan %s has no backfill or expand step: "
		    "nothing to tune",
		    ro->id, ro->plan->name);
		snprintf(err->hint, sizeof(err->hint),
		    "a tune changes a backfill's batches and rate; to hold "
		    "the rollout: skein rollout pause %s",
		    ro->id);
		return SK_ESTATE;
	}
	return SK_OK;
}

int
coord_opctl_answer(coord_registry *rollouts, coord_journal *j,
    const sk_cli_request *req, const coord_actor *actor, int64_t now_ms,
    coord_rollout **out, bool *phase_started, sk_err *err)
{
	const char *verb = sk_cli_op_name(req->op);
	coord_opctl_record rec = { .actor = actor->name,
		.actor_key = actor->key_id,
		.reason = "",
		.at_ms = now_ms };
	coord_rollout *ro;
	char words[SK_REASON_MAX];
	const char *regions[SK_OP_REGIONS_MAX];
	int rc;

	*out = NULL;
	*phase_started = false;
	if ((ro = target(rollouts, req, verb, err)) == NULL)
		return err->code;
	for (size_t i = 0; i < req->nregions && i < SK_OP_REGIONS_MAX; i++)
		regions[i] = req->regions[i];
	rec.regions = regions;
	rec.nregions = req->nregions;
	switch (req->op) {
	case SK_CLI_PAUSE:
		rec.kind = SK_CMD_PAUSE;
		rec.reason = req->reason;
		rc = check_pause(ro, req, err);
		break;
	case SK_CLI_ABORT: /* stopline */
		rec.kind = SK_CMD_ABORT;
		rec.reason = req->reason;
		rc = req->nregions > 0 ? check_abort_regions(ro, req, err) :
					 check_reason(ro, verb, req->reason, err);
		break;
	case SK_CLI_RESUME:
		rec.kind = SK_CMD_RESUME;
		rc = SK_OK;
		if (req->nregions > 0) {
			rc = check_regions(ro, req, err);
		} else if (!ro->ctl.paused) {
			rc = sk_err_set(err, SK_ESTATE,
			    "resume rollout %s: it is not paused", ro->id);
			snprintf(err->hint, sizeof(err->hint),
			    "skein rollout status %s shows where it is", ro->id);
		}
		break;
	case SK_CLI_TUNE:
		rec.kind = SK_CMD_TUNE;
		rec.tune = req->tune;
		rc = check_tune(ro, req, err);
		break;
	default:
		return sk_err_set(err, SK_EINVAL,
		    "control request: %s is not a pause, resume or tune", verb);
	}
	if (rc != SK_OK)
		return rc;
	if (coord_journal_opctl(j, ro->id, &rec, err) != SK_OK)
		return sk_err_wrap(err, "%s rollout %s", verb, ro->id);
	coord_opctl_apply(ro, &rec);
	coord_narrate_opctl(ro, &rec);
	*out = ro;
	if (rec.kind == SK_CMD_ABORT && rec.nregions > 0) {
		sk_info("rollout %s aborted in %zu region(s), %s first, by %s "
			"(key %s)%s%s",
		    ro->id, rec.nregions, rec.regions[0], actor->name,
		    actor->key_id[0] ? actor->key_id : "none",
		    rec.reason[0] ? ": " : "", rec.reason);
		/* Pending regions fail now; the rollout may halt. */
		if (coord_rollout_abort_regions(ro, j, now_ms, phase_started, err) != SK_OK)
			return sk_err_wrap(err,
			    "abort rollout %s: aborted, but a region's end could "
			    "not be journaled (a restart ends it)",
			    ro->id);
		return SK_OK;
	}
	if (rec.kind == SK_CMD_ABORT) {
		sk_info("rollout %s aborted by %s (key %s)%s%s", ro->id,
		    actor->name, actor->key_id[0] ? actor->key_id : "none",
		    rec.reason[0] ? ": " : "", rec.reason);
		if (coord_rollout_abort(ro, j, rec.reason, now_ms, err) != SK_OK)
			return sk_err_wrap(err,
			    "abort rollout %s: its end could not be journaled "
			    "(the abort is, and a restart ends it)",
			    ro->id);
		return SK_OK;
	}
	if (rec.kind == SK_CMD_TUNE)
		sk_tune_format(&ro->ctl.tune, words, sizeof(words));
	else
		snprintf(words, sizeof(words), "%s", rec.reason);
	sk_info("rollout %s%s%s %s by %s (key %s)%s%s", ro->id,
	    rec.nregions > 0 ? " in region " : "",
	    rec.nregions > 0 ? rec.regions[0] : "",
	    rec.kind == SK_CMD_PAUSE      ? "paused" :
		rec.kind == SK_CMD_RESUME ? "resumed" :
					    "tuned",
	    actor->name, actor->key_id[0] ? actor->key_id : "none",
	    words[0] ? ": " : "", words);
	if (rec.kind != SK_CMD_RESUME)
		return SK_OK;
	/* The phase the pause held back starts now, if its regions are
	 * done. */
	if (coord_rollout_settle(ro, j, phase_started, err) != SK_OK)
		return sk_err_wrap(err,
		    "resume rollout %s: resumed, but its next phase could not "
		    "start",
		    ro->id);
	return SK_OK;
}

void
coord_opctl_line(coord_rollout *ro, bool stop, const char *actor,
    const char *actor_key, const char *reason, int64_t at_ms, bool narrate)
{
	coord_opctl_record rec = { .kind = stop ? SK_CMD_PAUSE : SK_CMD_RESUME,
		.actor = actor,
		.actor_key = actor_key,
		.reason = stop ? reason : "",
		.at_ms = at_ms,
		.line = true };

	coord_opctl_apply(ro, &rec);
	if (narrate)
		coord_narrate_opctl(ro, &rec);
}

/* ---- what an agent must hear -------------------------------------------- */

void
coord_opctl_peer_reset(coord_opctl_peer *p)
{
	memset(p, 0, sizeof(*p));
}

static coord_opctl_seen *
seen(coord_opctl_peer *p, const char *rollout_id)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].rollout_id, rollout_id) == 0)
			return &p->v[i];
	return NULL;
}

void
coord_opctl_peer_note(coord_opctl_peer *p, const sk_agent_msg *m)
{
	coord_opctl_peer next;

	memset(&next, 0, sizeof(next));
	snprintf(next.region, sizeof(next.region), "%s", m->region);
	for (size_t i = 0; i < m->nrunning && next.n < COORD_OPCTL_PEER_MAX; i++) {
		coord_opctl_seen *s = &next.v[next.n++];
		const coord_opctl_seen *was = seen(p, m->running[i]);

		if (was != NULL)
			*s = *was;
		snprintf(s->rollout_id, sizeof(s->rollout_id), "%s", m->running[i]);
		s->applied = 0;
		for (size_t k = 0; k < m->napplied; k++)
			if (strcmp(m->applied[k].rollout_id, s->rollout_id) == 0)
				s->applied = m->applied[k].control_gen;
	}
	*p = next;
}

size_t
coord_opctl_commands(coord_opctl_peer *p, const coord_rollout *ro,
    int64_t now_ms, sk_command *out)
{
	coord_opctl_seen *s = seen(p, ro->id);
	const coord_opctl *h = &ro->ctl;
	const coord_region_run *rr = coord_rollout_region(ro, p->region);
	bool held = coord_rollout_held(ro, rr);
	size_t n = 0;

	if (s == NULL || h->gen == 0 || s->applied >= h->gen ||
	    (s->sent == h->gen && now_ms - s->sent_ms < COORD_OPCTL_RESEND_MS))
		return 0;
	memset(out, 0, COORD_OPCTL_COMMANDS_MAX * sizeof(*out));
	/* stopline: an aborted rollout's agents finish their step and end;
	 * a region paused on its own holds like a paused rollout. */
	out[n].kind = ro->state == COORD_RO_ABORTED || (rr != NULL && rr->aborted) ?
	    SK_CMD_ABORT :
	    held ? SK_CMD_PAUSE :
		   SK_CMD_RESUME;
	if (out[n].kind == SK_CMD_ABORT && ro->state != COORD_RO_ABORTED) {
		/* A scoped abort: only this region's agent hears it. */
		snprintf(out[n].actor, sizeof(out[n].actor), "%s", rr->aborted_by);
		snprintf(out[n].reason, sizeof(out[n].reason), "%s", rr->abort_reason);
	} else if (out[n].kind == SK_CMD_ABORT) {
		for (size_t i = h->nhist; i > 0; i--)
			if (h->hist[i - 1].kind == SK_CMD_ABORT) {
				snprintf(out[n].actor, sizeof(out[n].actor),
				    "%s", h->hist[i - 1].actor);
				snprintf(out[n].reason, sizeof(out[n].reason),
				    "%s", h->hist[i - 1].reason);
				break;
			}
	} else if (h->paused) {
		snprintf(out[n].actor, sizeof(out[n].actor), "%s", h->paused_by);
		snprintf(out[n].reason, sizeof(out[n].reason), "%s", h->reason);
	} else if (held) {
		snprintf(out[n].actor, sizeof(out[n].actor), "%s", rr->paused_by);
		snprintf(out[n].reason, sizeof(out[n].reason), "%s", rr->pause_reason);
	}
	n++;
	if (h->tuned) {
		out[n].kind = SK_CMD_TUNE;
		out[n].has_tune = true;
		out[n].tune = h->tune;
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(out[i].rollout_id, sizeof(out[i].rollout_id), "%s", ro->id);
		out[i].mode = ro->mode;
		out[i].control_gen = h->gen;
	}
	s->sent = h->gen;
	s->sent_ms = now_ms;
	return n;
}

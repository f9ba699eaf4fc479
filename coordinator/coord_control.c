/* coord_control: the CLI's requests. Each is answered at once; every
 * state change is journaled before the answer. What a mode allows (being
 * started, rolled back, run beside another, how often per plan) is read
 * from its row (coord_mode), never from the mode itself. The safeguards
 * an operator may set aside (a rollback's backup, re-applying a
 * rolled-back plan) are journaled with the rollout and who set them
 * aside. */
#include "coord_control.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord_approval.h"
#include "coord_opctl.h"
#include "coord_journal.h"
#include "coord_mode.h"
#include "coord_moves.h"
#include "coord_registry.h"
#include "coord_rollout.h"
#include "coord_signed_plan.h"
#include "coord_state.h"
#include "sk_envelope.h"
#include "sk_log.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_wire.h"

/* True if a run that undoes ro exists. */
static bool
rolled_back(const coord_control_ctx *ctx, const coord_rollout *ro)
{
	for (size_t i = 0; i < ctx->rollouts->n; i++) {
		const coord_rollout *other = ctx->rollouts->v[i];

		if (other->rules->effect == COORD_EFFECT_UNDO &&
		    strcmp(other->of_rollout, ro->id) == 0)
			return true;
	}
	return false;
}

/* A running rollout over the plan named plan_name (any build of it: the
 * ledger keys steps by plan name) that a run in mode m must not run
 * beside (coord_mode_conflict), or NULL. */
static coord_rollout *
conflicting_run(
    const coord_control_ctx *ctx, const char *plan_name, const coord_mode *m)
{
	for (size_t i = 0; i < ctx->rollouts->n; i++) {
		coord_rollout *other = ctx->rollouts->v[i];

		if (other->state == COORD_RO_RUNNING &&
		    coord_mode_conflict(m, other->rules) &&
		    strcmp(other->plan->name, plan_name) == 0)
			return other;
	}
	return NULL;
}

/* The rollout that starting plan_id in mode m again is answered with, or
 * NULL for a new one: the newest run of the plan in m while it runs; or,
 * for a mode that answers again, once it succeeded unless it was undone
 * since (a failed or rolled-back apply may be run again as a new
 * rollout). For the others a finished run is history: a new rehearsal
 * looks at the databases as they are now. */
static coord_rollout *
same_plan_rollout(
    const coord_control_ctx *ctx, const char *plan_id, const coord_mode *m)
{
	for (size_t i = ctx->rollouts->n; i-- > 0;) {
		coord_rollout *other = ctx->rollouts->v[i];

		if (other->rules != m || strcmp(other->plan->id, plan_id) != 0)
			continue;
		if (other->state == COORD_RO_RUNNING)
			return other;
		if (!m->answers_again)
			continue;
		if (other->state == m->ok_state && !rolled_back(ctx, other))
			return other;
		return NULL;
	}
	return NULL;
}

/* The latest apply of the plan named plan_name (any build of it: the
 * ledger keys steps by plan name) if a rollback of it was started since,
 * with *undo that rollback (the newest); else NULL. Applying the plan
 * again re-creates what that rollback removed, and a revert may have
 * dropped data the new apply does not bring back: it needs --reapply. */
static const coord_rollout *
latest_apply_undone(const coord_control_ctx *ctx, const char *plan_name,
    const coord_rollout **undo)
{
	const coord_rollout *latest = NULL;

	*undo = NULL;
	for (size_t i = 0; i < ctx->rollouts->n; i++) {
		const coord_rollout *other = ctx->rollouts->v[i];

		if (other->rules->effect == COORD_EFFECT_APPLY &&
		    strcmp(other->plan->name, plan_name) == 0 &&
		    (latest == NULL || other->created_ms >= latest->created_ms))
			latest = other;
	}
	for (size_t i = 0; latest != NULL && i < ctx->rollouts->n; i++) {
		const coord_rollout *other = ctx->rollouts->v[i];

		if (other->rules->effect == COORD_EFFECT_UNDO &&
		    strcmp(other->of_rollout, latest->id) == 0)
			*undo = other;
	}
	return *undo != NULL ? latest : NULL;
}

/* Refuse to apply plan again after its latest apply was rolled back,
 * unless the operator said --reapply; then origin says so (journaled
 * with the rollout and its actor). */
static int
reapply_decision(const coord_control_ctx *ctx, const sk_cli_request *req,
    const coord_mode *m, const sk_plan *plan, coord_origin *origin, sk_err *err)
{
	const coord_rollout *undone, *undo;

	if (m->effect != COORD_EFFECT_APPLY ||
	    (undone = latest_apply_undone(ctx, plan->name, &undo)) == NULL)
		return SK_OK;
	if (!req->reapply) {
		sk_err_set(err, SK_ESTATE,
		    "start rollout of plan %s: its latest apply, rollout %s, was "
		    "rolled back (%s %s by %s); applying it again re-creates what "
		    "that rollback removed, without the data it may have dropped",
		    plan->name, undone->id, undo->rules->noun, undo->id,
		    undo->started_by[0] != '\0' ? undo->started_by : "unknown");
		snprintf(err->hint, sizeof(err->hint),
		    "if that is what you mean, start it again with --reapply "
		    "(journaled with your name): skein rollout start SIGNED "
		    "--reapply");
		return err->code;
	}
	origin->reapply = true;
	origin->reapply_of = undone->id;
	return SK_OK;
}

/* "2024-05-01T08:00:00Z" of a Unix time in ms. */
static void
fmt_utc(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld ms", (long long)ms);
}

/* Refuse a run of a mode limited per plan (a rehearsal, which holds its
 * locks in every region while it runs) when another run of the plan (by
 * name) in that mode started less than rehearsal_interval_ms ago, saying
 * when the next is allowed. */
static int
rate_limit(const coord_control_ctx *ctx, const coord_mode *m,
    const sk_plan *plan, int64_t now, sk_err *err)
{
	const coord_rollout *last = NULL;
	char ago[32], every[32], wait[32], at[32];
	int64_t next;

	if (!m->limited_per_plan || ctx->rehearsal_interval_ms <= 0)
		return SK_OK;
	for (size_t i = 0; i < ctx->rollouts->n; i++) {
		const coord_rollout *other = ctx->rollouts->v[i];

		if (other->rules == m && strcmp(other->plan->name, plan->name) == 0 &&
		    (last == NULL || other->created_ms >= last->created_ms))
			last = other;
	}
	if (last == NULL || now - last->created_ms >= ctx->rehearsal_interval_ms)
		return SK_OK;
	next = last->created_ms + ctx->rehearsal_interval_ms;
	/* Whole seconds: "in 4m12s", not "in 4m11.873s". */
	sk_duration_format(
	    now > last->created_ms ? (now - last->created_ms) / 1000 * 1000 : 0,
	    ago, sizeof(ago));
	sk_duration_format(ctx->rehearsal_interval_ms, every, sizeof(every));
	sk_duration_format((next - now + 999) / 1000 * 1000, wait, sizeof(wait));
	fmt_utc(next, at, sizeof(at));
	sk_err_set(err, SK_ESTATE,
	    "start %s of plan %s: %s %s of it started %s ago, and a plan gets "
	    "at most one %s every %s (coordinator.yaml rehearsal_interval); "
	    "the next is allowed at %s, in %s",
	    m->noun, plan->name, m->noun, last->id, ago, m->noun, every, at, wait);
	snprintf(err->hint, sizeof(err->hint),
	    "a %s holds its locks in every region while it runs: read that "
	    "one (skein rollout report %s), or start again after %s",
	    m->noun, last->id, at);
	return err->code;
}

/* Create a rollout of *plan, journal it, start its first phase and add
 * it to the rollouts. On success the rollout owns the plan (*plan is
 * NULL), its id is in id_out, *out points at it (owned by the registry)
 * and *started is set. On failure nothing was added and *plan, unless
 * NULL, is still the caller's. A rollout that cannot be created is not
 * journaled, so that a restart does not bring it to life. */
static int
launch(const coord_control_ctx *ctx, sk_plan **plan, const uint8_t *signed_plan,
    size_t signed_len, const coord_origin *origin, int64_t now, char *id_out,
    const coord_rollout **out, bool *started, sk_err *err)
{
	char id[SK_ID_MAX];
	coord_rollout *ro = NULL;
	int rc;

	sk_random_id("r-", id, sizeof(id));
	rc = coord_rollout_create(
	    id, *plan, signed_plan, signed_len, origin, now, &ro, err);
	if (rc != SK_OK)
		return rc;
	*plan = NULL;
	/* Room first: once journaled, the rollout must be held. */
	if ((rc = coord_registry_reserve(ctx->rollouts, err)) != SK_OK ||
	    (rc = coord_journal_created(ctx->journal, id, now, signed_plan,
		 signed_len, origin, err)) != SK_OK ||
	    (rc = coord_rollout_start(ro, ctx->journal, now, err)) != SK_OK ||
	    (rc = coord_registry_add(ctx->rollouts, ro, err)) != SK_OK) {
		coord_rollout_destroy(ro);
		return rc;
	}
	snprintf(id_out, SK_ID_MAX, "%s", id);
	*out = ro;
	*started = true;
	return SK_OK;
}

static int
start_rollout(const coord_control_ctx *ctx, const sk_cli_request *req,
    const coord_actor *actor, char *id_out, bool *started, sk_err *err)
{
	uint8_t *payload = NULL;
	size_t plen = 0;
	const sk_pubkey *signer = NULL;
	sk_plan *plan = NULL;
	const coord_rollout *ro;
	coord_rollout *same;
	int64_t now = sk_now_ms();
	int mode = req->mode;
	const coord_mode *m = coord_mode_of(mode);
	coord_origin origin = { .mode = mode,
		.of_rollout = "",
		.actor = actor->name,
		.actor_key = actor->key_id };
	int rc;

	if (m == NULL || !m->startable) {
		rc = sk_err_set(err, SK_EINVAL,
		    "start rollout: a plan is applied or rehearsed, not started "
		    "in mode %s",
		    sk_mode_name(mode));
		snprintf(err->hint, sizeof(err->hint),
		    "to roll a rollout back: skein rollout rollback ID");
		return rc;
	}
	rc = sk_envelope_open(&payload, &plen, &signer, req->signed_plan,
	    req->signed_plan_len, SK_KIND_PLAN, ctx->release, err);
	if (rc != SK_OK) {
		sk_err_wrap(err, "start rollout");
		if (rc == SK_EDECODE)
			snprintf(err->hint, sizeof(err->hint),
			    "rollout start takes a signed plan: skein plan sign "
			    "PLAN --key RELEASE.key -o SIGNED");
		else if (rc == SK_ECRYPTO && strstr(err->msg, "not a pinned key") != NULL)
			snprintf(err->hint, sizeof(err->hint),
			    "this coordinator takes plans signed by the release "
			    "keys of its coordinator.yaml (release_keys:); sign "
			    "with one of those (skein plan sign --key), or add "
			    "this key's .pub there and restart the coordinator "
			    "(and the agents, which pin them too)");
		goto out;
	}
	if ((rc = sk_plan_decode(payload, plen, &plan, err)) != SK_OK) {
		sk_err_wrap(err, "start rollout");
		goto out;
	}
	if (plan->expires_unix <= now / 1000) {
		rc = sk_err_set(err, SK_EEXPIRED,
		    "start rollout of plan %s (%s): the plan expired %lld s ago",
		    plan->name, plan->id,
		    (long long)(now / 1000 - plan->expires_unix));
		goto out;
	}
	for (size_t i = 0; i < plan->nregions; i++) {
		if (sk_inventory_find(ctx->inv, plan->regions[i]) == NULL) {
			rc = sk_err_set(err, SK_EINVAL,
			    "start rollout of plan %s: region %s is not in the "
			    "inventory %s",
			    plan->name, plan->regions[i], ctx->inv->dir);
			goto out;
		}
	}
	if ((rc = coord_moves_check(plan, ctx->inv, false, err)) != SK_OK) /* moves */
		goto out;
	same = same_plan_rollout(ctx, plan->id, m);
	if (same != NULL) {
		snprintf(id_out, SK_ID_MAX, "%s", same->id);
		rc = SK_OK;
		goto out;
	}
	if ((same = conflicting_run(ctx, plan->name, m)) != NULL) {
		rc = sk_err_set(err, SK_ESTATE,
		    "start rollout of plan %s: %s %s of it is running",
		    plan->name, same->rules->noun, same->id);
		snprintf(err->hint, sizeof(err->hint),
		    "wait for it (skein rollout wait %s), then start the plan again",
		    same->id);
		goto out;
	}
	if ((rc = rate_limit(ctx, m, plan, now, err)) != SK_OK ||
	    (rc = reapply_decision(ctx, req, m, plan, &origin, err)) != SK_OK)
		goto out;
	rc = launch(ctx, &plan, req->signed_plan, req->signed_plan_len, &origin,
	    now, id_out, &ro, started, err);
	if (rc != SK_OK)
		goto out;
	if (ctx->line != NULL) /* stopline: started while the line is stopped */
		coord_line_adopt(ctx->line,
		    coord_registry_find(ctx->rollouts, id_out), now, true);
	sk_info("rollout %s started (%s) by %s: plan %s (%s), %zu phases, %zu "
		"regions%s%s",
	    id_out, sk_mode_name(mode), actor->name, ro->plan->name,
	    ro->plan->id, ro->plan->nphases, ro->nregions,
	    ro->reapply ? "; --reapply after the rollback of " : "", ro->reapply_of);
out:
	sk_plan_destroy(plan);
	free(payload);
	return rc;
}

static bool
same_regions(const coord_rollout *ro, const char *const *names, size_t n)
{
	if (ro->nregions != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!coord_rollout_has_region(ro, names[i]))
			return false;
	return true;
}

/* Refuse a rollback that would not undo what orig did: a later apply of
 * the plan (any build of it) has written the ledger since, so reverting
 * "the steps the ledger holds" would undo that one; or a rollback of orig
 * already succeeded in every region asked for. */
static int
rollback_needed(const coord_control_ctx *ctx, const coord_rollout *orig,
    const char *const *names, size_t n, sk_err *err)
{
	const coord_rollout *done = NULL;
	size_t covered = 0;

	for (size_t i = 0; i < ctx->rollouts->n; i++) {
		const coord_rollout *other = ctx->rollouts->v[i];

		if (other == orig || other->rules->effect != COORD_EFFECT_APPLY ||
		    other->created_ms < orig->created_ms ||
		    strcmp(other->plan->name, orig->plan->name) != 0)
			continue;
		sk_err_set(err, SK_ESTATE,
		    "roll back rollout %s: rollout %s of plan %s started after "
		    "it, so the ledger now holds what that one did",
		    orig->id, other->id, orig->plan->name);
		snprintf(err->hint, sizeof(err->hint),
		    "roll back the newest rollout of the plan: skein rollout "
		    "rollback %s",
		    other->id);
		return err->code;
	}
	for (size_t k = 0; k < n; k++) {
		for (size_t i = 0; i < ctx->rollouts->n; i++) {
			const coord_rollout *other = ctx->rollouts->v[i];

			if (other->rules->effect == COORD_EFFECT_UNDO &&
			    other->state == other->rules->ok_state &&
			    strcmp(other->of_rollout, orig->id) == 0 &&
			    coord_rollout_has_region(other, names[k])) {
				done = other;
				covered++;
				break;
			}
		}
	}
	if (n > 0 && covered == n) {
		sk_err_set(err, SK_ESTATE,
		    "roll back rollout %s: rollback %s already undid it%s%s; "
		    "there is nothing left to undo",
		    orig->id, done->id, n == 1 ? " in region " : "",
		    n == 1 ? names[0] : " in every region it reached");
		snprintf(err->hint, sizeof(err->hint),
		    "skein rollout report %s shows what it reverted", done->id);
		return err->code;
	}
	return SK_OK;
}

/* Start the rollback of a finished apply rollout: the same signed plan in
 * mode rollback, in the regions it reached (or req->region). */
static int
rollback_rollout(const coord_control_ctx *ctx, const sk_cli_request *req,
    const coord_actor *actor, char *id_out, bool *started, sk_err *err)
{
	coord_rollout *orig = coord_registry_find(ctx->rollouts, req->rollout_id);
	const coord_rollout *ro;
	const char **names = NULL;
	size_t n = 0;
	sk_plan *plan = NULL;
	coord_origin origin;
	int64_t now = sk_now_ms();
	int rc;

	if (orig == NULL) {
		rc = sk_err_set(err, SK_ENOTFOUND,
		    "roll back rollout %s: no such rollout", req->rollout_id);
		snprintf(err->hint, sizeof(err->hint),
		    "skein rollout status lists the rollouts");
		return rc;
	}
	if ((rc = coord_rollout_rollback_regions(
		 orig, req->region, &names, &n, err)) != SK_OK)
		return rc;
	for (size_t i = 0; i < ctx->rollouts->n; i++) {
		coord_rollout *other = ctx->rollouts->v[i];

		if (other->rules->effect != COORD_EFFECT_UNDO ||
		    strcmp(other->of_rollout, orig->id) != 0 ||
		    other->state != COORD_RO_RUNNING)
			continue;
		if (same_regions(other, names, n)) {
			snprintf(id_out, SK_ID_MAX, "%s", other->id);
			rc = SK_OK;
		} else {
			rc = sk_err_set(err, SK_ESTATE,
			    "roll back rollout %s: rollback %s of it is still running",
			    orig->id, other->id);
			snprintf(err->hint, sizeof(err->hint),
			    "wait for it (skein rollout wait %s), then roll back again",
			    other->id);
		}
		goto out;
	}
	if ((rc = rollback_needed(ctx, orig, names, n, err)) != SK_OK)
		goto out;
	/* Agents refuse an expired plan, a rollback's too: say so now rather
	 * than start a rollback that every region refuses. */
	if (orig->plan->expires_unix <= now / 1000) {
		rc = sk_err_set(err, SK_EEXPIRED,
		    "roll back rollout %s: its plan %s (%s) expired %lld s ago, "
		    "and agents refuse an expired plan",
		    orig->id, orig->plan->name, orig->plan->id,
		    (long long)(now / 1000 - orig->plan->expires_unix));
		snprintf(err->hint, sizeof(err->hint),
		    "build and sign the same plan directory again, start it "
		    "(nothing runs: its steps are in the ledger), then roll that "
		    "rollout back");
		goto out;
	}
	/* moves: a move is undone by moving the tenant back, which the
	 * move's `to` serves. */
	if ((rc = coord_moves_check(orig->plan, ctx->inv, true, err)) != SK_OK)
		goto out;
	if ((ro = conflicting_run(ctx, orig->plan->name,
		 coord_mode_of(SK_MODE_ROLLBACK))) != NULL) {
		rc = sk_err_set(err, SK_ESTATE,
		    "roll back rollout %s: %s %s of plan %s is running",
		    orig->id, ro->rules->noun, ro->id, orig->plan->name);
		snprintf(err->hint, sizeof(err->hint),
		    "wait for it (skein rollout wait %s), then roll back", ro->id);
		ro = NULL;
		goto out;
	}
	if ((rc = coord_signed_plan_decode(orig->signed_plan,
		 orig->signed_plan_len, &plan, err)) != SK_OK)
		goto out;
	origin = (coord_origin){
		.mode = SK_MODE_ROLLBACK,
		.of_rollout = orig->id,
		.only_regions = names,
		.nonly_regions = n,
		.actor = actor->name,
		.actor_key = actor->key_id,
		.no_backup = req->no_backup,
	};
	rc = launch(ctx, &plan, orig->signed_plan, orig->signed_plan_len,
	    &origin, now, id_out, &ro, started, err);
	if (rc != SK_OK)
		goto out;
	sk_info("rollout %s started by %s: rollback of %s (plan %s), %zu "
		"regions, %zu phases in reverse, %s",
	    id_out, actor->name, orig->id, ro->plan->name, ro->nregions, ro->nphases,
	    req->no_backup ? "no backup (--no-backup)" :
		ro->plan->no_rollback_backup ?
			     "no backup (the plan's rollback_backup: false)" :
			     "each database backed up before its first revert");
out:
	sk_plan_destroy(plan);
	free(names);
	return rc;
}

/* Everything `skein rollout report` needs: the rollout's view (its events
 * replaced by notes about the report itself), every kept report and the
 * signed plan. */
static int
report(const coord_control_ctx *ctx, const sk_cli_request *req,
    sk_cli_response *resp, sk_err *err)
{
	coord_rollout *ro = coord_registry_find(ctx->rollouts, req->rollout_id);
	sk_rollout_view *v;

	if (ro == NULL) {
		sk_err_set(err, SK_ENOTFOUND, "no rollout %s", req->rollout_id);
		snprintf(err->hint, sizeof(err->hint),
		    "skein rollout status lists the rollouts");
		return err->code;
	}
	resp->rollouts = calloc(1, sizeof(*resp->rollouts));
	resp->signed_plan = malloc(ro->signed_plan_len ? ro->signed_plan_len : 1);
	if (resp->rollouts == NULL || resp->signed_plan == NULL)
		return sk_err_set(err, SK_ENOMEM, "rollout report: out of memory");
	memcpy(resp->signed_plan, ro->signed_plan, ro->signed_plan_len);
	resp->signed_plan_len = ro->signed_plan_len;
	if (coord_rollout_view(ro, UINT64_MAX, &resp->rollouts[0], err) != SK_OK)
		return err->code;
	resp->nrollouts = 1;
	v = &resp->rollouts[0];
	if (ro->reports_dropped > 0) {
		v->events = calloc(1, sizeof(*v->events));
		if (v->events == NULL)
			return sk_err_set(
			    err, SK_ENOMEM, "rollout report: out of memory");
		v->nevents = 1;
		v->events[0].at_ms = sk_now_ms();
		snprintf(v->events[0].text, sizeof(v->events[0].text),
		    "%llu reports were not kept: a rollout keeps at most %d "
		    "(progress reports at most %d); this record is incomplete",
		    (unsigned long long)ro->reports_dropped, COORD_REPORTS_MAX,
		    COORD_REPORTS_MAX / 2);
	}
	return coord_rollout_reports(ro, &resp->reports, &resp->nreports, err);
}

/* Pause, resume or tune (coord_opctl), answered with the rollout's view
 * (its events left out: status and wait have them). */
static int
opctl(const coord_control_ctx *ctx, const sk_cli_request *req, const coord_actor *actor,
    sk_cli_response *resp, coord_control_effect *effect, sk_err *err)
{
	coord_rollout *ro = NULL;
	bool phase_started = false;
	int rc;

	rc = coord_opctl_answer(ctx->rollouts, ctx->journal, req, actor,
	    sk_now_ms(), &ro, &phase_started, err);
	if (ro == NULL)
		return rc;
	effect->held = true;
	snprintf(resp->rollout_id, sizeof(resp->rollout_id), "%s", ro->id);
	if (rc != SK_OK)
		return rc;
	resp->rollouts = calloc(1, sizeof(*resp->rollouts));
	if (resp->rollouts == NULL)
		return sk_err_set(err, SK_ENOMEM, "%s rollout %s: out of memory",
		    sk_cli_op_name(req->op), ro->id);
	if (coord_rollout_view(ro, UINT64_MAX, &resp->rollouts[0], err) != SK_OK)
		return err->code;
	resp->nrollouts = 1;
	return SK_OK;
}

static int
status(const coord_control_ctx *ctx, const sk_cli_request *req,
    sk_cli_response *resp, sk_err *err)
{
	size_t n = 0;

	resp->rollouts = calloc(ctx->rollouts->n + 1, sizeof(*resp->rollouts));
	if (resp->rollouts == NULL)
		return sk_err_set(err, SK_ENOMEM, "rollout status: out of memory");
	for (size_t i = 0; i < ctx->rollouts->n; i++) {
		coord_rollout *ro = ctx->rollouts->v[i];

		if (req->rollout_id[0] && strcmp(req->rollout_id, ro->id) != 0)
			continue;
		if (coord_rollout_view(ro,
			req->rollout_id[0] ? req->events_since : UINT64_MAX,
			&resp->rollouts[n], err) != SK_OK)
			return err->code;
		if (ctx->agents != NULL)
			coord_agents_annotate(
			    ctx->agents, &resp->rollouts[n], sk_now_ms());
		resp->nrollouts = ++n;
	}
	if (req->rollout_id[0] && n == 0) {
		sk_err_set(err, SK_ENOTFOUND, "no rollout %s", req->rollout_id);
		snprintf(err->hint, sizeof(err->hint),
		    "skein rollout status lists the rollouts");
		return err->code;
	}
	return SK_OK;
}

/* skein rollout approve (coord_approval.c): msg is the signed request,
 * journaled with the approval. Answered with the rollout's view. */
static int
approve(const coord_control_ctx *ctx, const sk_cli_request *req,
    const coord_actor *actor, const uint8_t *msg, size_t len,
    sk_cli_response *resp, coord_control_effect *effect, sk_err *err)
{
	coord_rollout *ro = NULL;
	bool opened = false;
	int rc;

	rc = coord_approval_answer(ctx->rollouts, ctx->journal, req->rollout_id,
	    req->phase, actor, msg, len, sk_now_ms(), &ro, &opened, err);
	effect->held = opened;
	if (ro == NULL || rc != SK_OK)
		return rc;
	snprintf(resp->rollout_id, sizeof(resp->rollout_id), "%s", ro->id);
	resp->rollouts = calloc(1, sizeof(*resp->rollouts));
	if (resp->rollouts == NULL)
		return sk_err_set(err, SK_ENOMEM,
		    "approve rollout %s: out of memory", ro->id);
	if (coord_rollout_view(ro, UINT64_MAX, &resp->rollouts[0], err) != SK_OK)
		return err->code;
	resp->nrollouts = 1;
	return SK_OK;
}

/* Journal a refused request (within the rate coord_auth allows) and log
 * it: who (as far as known), what, and why. */
static void
refused(const coord_control_ctx *ctx, int64_t now, int op,
    const coord_actor *actor, const sk_err *why)
{
	char reason[SK_ERR_MSG_MAX + 64];
	uint64_t dropped = 0;
	sk_err err;

	sk_warn("control request %s refused (operator %s, key %s): %s",
	    sk_cli_op_name(op), actor->name[0] != '\0' ? actor->name : "unknown",
	    actor->key_id[0] != '\0' ? actor->key_id : "none", why->msg);
	if (!coord_auth_journal_refusal(ctx->auth, now, &dropped))
		return;
	if (dropped > 0)
		snprintf(reason, sizeof(reason),
		    "%s (and %llu more refusals not "
		    "journaled)",
		    why->msg, (unsigned long long)dropped);
	else
		snprintf(reason, sizeof(reason), "%s", why->msg);
	sk_err_clear(&err);
	if (coord_journal_refused(ctx->journal, now, sk_cli_op_name(op),
		actor->name, actor->key_id, reason, &err) != SK_OK)
		sk_error("journal a refused request: %s", err.msg);
}

int
coord_control_read(const coord_control_ctx *ctx, const sk_cli_request *req,
    sk_cli_response *resp, sk_err *err)
{
	int rc;

	memset(resp, 0, sizeof(*resp));
	if (req->op != SK_CLI_STATUS && req->op != SK_CLI_REPORT)
		return sk_err_set(err, SK_EINVAL,
		    "read-only request: %s changes a rollout",
		    sk_cli_op_name(req->op));
	rc = req->op == SK_CLI_STATUS ? status(ctx, req, resp, err) :
					report(ctx, req, resp, err);
	resp->ok = rc == SK_OK;
	if (ctx->line != NULL) { /* as coord_control_answer's */
		resp->has_line = true;
		coord_line_view(ctx->line, ctx->rollouts, &resp->line);
	}
	return rc;
}

int
coord_control_answer(const coord_control_ctx *ctx, const uint8_t *msg, size_t len,
    uint8_t **reply, size_t *reply_len, coord_control_effect *effect, sk_err *err)
{
	sk_cli_request req;
	sk_cli_response resp;
	coord_actor actor;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	int64_t now = sk_now_ms();
	bool decoded = false;
	sk_err rerr;
	int rc;

	*reply = NULL;
	*reply_len = 0;
	memset(effect, 0, sizeof(*effect));
	memset(&resp, 0, sizeof(resp));
	memset(&req, 0, sizeof(req));
	sk_err_clear(&rerr);
	rc = coord_auth_open(ctx->auth, msg, len, now, &raw, &rawlen, &actor, &rerr);
	if (rc == SK_OK) {
		rc = sk_cli_request_decode(raw, rawlen, &req, &rerr);
		decoded = rc == SK_OK;
	}
	if (rc == SK_OK)
		/* stopline: looking at the line is a viewer's, like status. */
		rc = coord_auth_allow(&actor,
		    req.op == SK_CLI_STOP && req.stop_action == SK_STOP_STATUS ?
			SK_CLI_STATUS :
			req.op,
		    &rerr);
	if (rc != SK_OK) {
		/* Not signed, stale, replayed, garbage or beyond the role:
		 * nothing changes, and the journal says who tried. */
		if (actor.refusal == COORD_REFUSED_NONE)
			actor.refusal = decoded ? COORD_REFUSED_FORBIDDEN :
						  COORD_REFUSED_MALFORMED;
		coord_counters_refused(ctx->counters, COORD_SOCK_CONTROL, actor.refusal);
		refused(ctx, now, decoded ? req.op : coord_auth_claimed_op(msg, len),
		    &actor, &rerr);
	} else {
		switch (req.op) {
		case SK_CLI_START:
			rc = start_rollout(ctx, &req, &actor, resp.rollout_id,
			    &effect->started, &rerr);
			break;
		case SK_CLI_ROLLBACK:
			rc = rollback_rollout(ctx, &req, &actor,
			    resp.rollout_id, &effect->started, &rerr);
			break;
		case SK_CLI_REPORT:
			rc = report(ctx, &req, &resp, &rerr);
			break;
		case SK_CLI_STATUS:
			rc = status(ctx, &req, &resp, &rerr);
			break;
		case SK_CLI_PAUSE:
		case SK_CLI_RESUME:
		case SK_CLI_TUNE:
		case SK_CLI_ABORT: /* stopline */
			rc = opctl(ctx, &req, &actor, &resp, effect, &rerr);
			break;
		case SK_CLI_STOP: /* stopline */
			rc = coord_line_answer(ctx->line, ctx->rollouts,
			    ctx->journal, &req, &actor, now, &effect->held, &rerr);
			break;
		case SK_CLI_APPROVE:
			rc = approve(ctx, &req, &actor, msg, len, &resp, effect, &rerr);
			break;
		case SK_CLI_AGENTS:
			rc = ctx->agents != NULL ?
			    coord_agents_view(ctx->agents, sk_now_ms(),
				&resp.agents, &resp.nagents, &rerr) :
			    SK_OK;
			break;
		default:
			rc = sk_err_set(&rerr, SK_EINVAL,
			    "control request: unknown operation %d", req.op);
			break;
		}
		if (rc != SK_OK)
			sk_warn("control request refused: %s", rerr.msg);
	}
	if (decoded)
		sk_cli_request_fini(&req);
	free(raw);
	if (rc != SK_OK)
		resp.error = rerr;
	resp.ok = rc == SK_OK;
	if (ctx->line != NULL) { /* stopline: the line, with every answer */
		resp.has_line = true;
		coord_line_view(ctx->line, ctx->rollouts, &resp.line);
	}
	rc = sk_cli_response_encode(&resp, reply, reply_len, err);
	sk_cli_response_fini(&resp);
	return rc;
}

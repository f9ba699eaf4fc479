/* coord_line: stop the line and lift it (coord_line.h). The pauses are
 * coord_opctl's engine; this file only decides which rollouts they
 * reach. */
#include "coord_line.h"

#include <stdio.h>
#include <string.h>

#include "coord_opctl.h"
#include "coord_rollout.h"
#include "coord_state.h"
#include "sk_log.h"

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

static bool
excepted(const coord_line *l, const char *id)
{
	for (size_t i = 0; i < l->nexcept; i++)
		if (strcmp(l->except[i], id) == 0)
			return true;
	return false;
}

/* True if a stop of l reaches ro now: running, pausable, not paused,
 * not excepted. */
static bool
reaches(const coord_line *l, const coord_rollout *ro)
{
	return ro->state == COORD_RO_RUNNING && ro->rules->pausable &&
	    !ro->ctl.paused && !excepted(l, ro->id);
}

/* True if ro is held by the stop (and a lift resumes it). */
static bool
held_by(const coord_rollout *ro)
{
	return ro->state == COORD_RO_RUNNING && ro->ctl.paused && ro->ctl.by_line;
}

/* Set the line from rec, and pause or resume what it reaches. */
static size_t
apply(coord_line *l, coord_registry *rollouts, const coord_line_record *rec, bool live)
{
	size_t n = 0;

	l->stopped = rec->stopped;
	if (rec->stopped) {
		snprintf(l->by, sizeof(l->by), "%s", nz(rec->actor));
		snprintf(l->by_key, sizeof(l->by_key), "%s", nz(rec->actor_key));
		snprintf(l->reason, sizeof(l->reason), "%s", nz(rec->reason));
		l->since_ms = rec->at_ms;
		l->nexcept = 0;
		for (size_t i = 0; i < rec->nexcept && i < SK_LINE_EXCEPT_MAX; i++)
			snprintf(l->except[l->nexcept++], SK_ID_MAX, "%s",
			    rec->except[i]);
	}
	for (size_t i = 0; i < rollouts->n; i++) {
		coord_rollout *ro = rollouts->v[i];

		if (rec->stopped ? !reaches(l, ro) : !held_by(ro))
			continue;
		coord_opctl_line(ro, rec->stopped, nz(rec->actor),
		    nz(rec->actor_key), l->reason, rec->at_ms, live);
		n++;
	}
	return n;
}

void
coord_line_replay(coord_line *l, coord_registry *rollouts, const coord_line_record *rec)
{
	(void)apply(l, rollouts, rec, false);
}

void
coord_line_adopt(const coord_line *l, coord_rollout *ro, int64_t now_ms, bool live)
{
	if (ro == NULL || !l->stopped || !reaches(l, ro))
		return;
	coord_opctl_line(ro, true, l->by, l->by_key, l->reason, now_ms, live);
}

static int
check(const coord_line *l, const coord_registry *rollouts,
    const sk_cli_request *req, sk_err *err)
{
	const char *verb = req->stop_action == SK_STOP_ALL ? "stop the line" :
							     "lift the line stop";

	if (req->stop_action == SK_STOP_ALL && l->stopped) {
		sk_err_set(err, SK_ESTATE,
		    "stop the line: it is already stopped, by %s%s%s", l->by,
		    l->reason[0] ? ": " : "", l->reason);
		snprintf(err->hint, sizeof(err->hint),
		    "skein stop --lift lifts it; skein stop shows it");
		return SK_ESTATE;
	}
	if (req->stop_action == SK_STOP_LIFT && !l->stopped) {
		sk_err_set(err, SK_ESTATE, "lift the line stop: the line is not stopped");
		snprintf(err->hint, sizeof(err->hint), "skein stop shows the line");
		return SK_ESTATE;
	}
	if (req->stop_action != SK_STOP_ALL && (req->nexcept > 0 || req->reason[0]))
		return sk_err_set(err, SK_EINVAL,
		    "%s: --except and --reason go with --all", verb);
	for (const char *c = req->reason; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			sk_err_set(err, SK_EINVAL,
			    "stop the line: the reason holds a control character "
			    "(a newline?)");
			snprintf(err->hint, sizeof(err->hint),
			    "give the reason on one line: --reason TEXT");
			return SK_EINVAL;
		}
	for (size_t i = 0; i < req->nexcept; i++) {
		for (size_t k = 0; k < i; k++)
			if (strcmp(req->except[k], req->except[i]) == 0)
				return sk_err_set(err, SK_EINVAL,
				    "stop the line: --except %s named twice",
				    req->except[i]);
		if (coord_registry_find(rollouts, req->except[i]) == NULL) {
			sk_err_set(err, SK_ENOTFOUND,
			    "stop the line: --except %s: no such rollout",
			    req->except[i]);
			snprintf(err->hint, sizeof(err->hint),
			    "skein rollout list lists the rollouts");
			return SK_ENOTFOUND;
		}
	}
	return SK_OK;
}

int
coord_line_answer(coord_line *l, coord_registry *rollouts, coord_journal *j,
    const sk_cli_request *req, const coord_actor *actor, int64_t now_ms,
    bool *held, sk_err *err)
{
	const char *except[SK_LINE_EXCEPT_MAX];
	coord_line_record rec = { .stopped = req->stop_action == SK_STOP_ALL,
		.actor = actor->name,
		.actor_key = actor->key_id,
		.reason = req->reason,
		.except = except,
		.nexcept = req->nexcept,
		.at_ms = now_ms };
	size_t n;
	int rc;

	*held = false;
	if (req->stop_action == SK_STOP_STATUS)
		return SK_OK;
	if ((rc = check(l, rollouts, req, err)) != SK_OK)
		return rc;
	for (size_t i = 0; i < req->nexcept; i++)
		except[i] = req->except[i];
	if (coord_journal_line(j, &rec, err) != SK_OK)
		return sk_err_wrap(err, "%s",
		    rec.stopped ? "stop the line" : "lift the line stop");
	n = apply(l, rollouts, &rec, true);
	*held = n > 0;
	sk_info("line %s by %s (key %s)%s%s: %zu rollouts %s",
	    rec.stopped ? "stopped" : "lifted", actor->name,
	    actor->key_id[0] ? actor->key_id : "none", req->reason[0] ? ": " : "",
	    req->reason, n, rec.stopped ? "paused" : "resumed");
	if (rec.stopped)
		return SK_OK;
	/* The phases the stop held back start now, where their regions are
	 * done. */
	for (size_t i = 0; i < rollouts->n; i++) {
		bool started = false;

		if (rollouts->v[i]->state != COORD_RO_RUNNING)
			continue;
		if (coord_rollout_settle(rollouts->v[i], j, &started, err) != SK_OK)
			return sk_err_wrap(err,
			    "lift the line stop: lifted, but rollout %s's next "
			    "phase could not start",
			    rollouts->v[i]->id);
	}
	return SK_OK;
}

void
coord_line_view(const coord_line *l, const coord_registry *rollouts, sk_line_view *out)
{
	memset(out, 0, sizeof(*out));
	out->stopped = l->stopped;
	if (!l->stopped)
		return;
	snprintf(out->by, sizeof(out->by), "%s", l->by);
	snprintf(out->by_key, sizeof(out->by_key), "%s", l->by_key);
	snprintf(out->reason, sizeof(out->reason), "%s", l->reason);
	out->since_ms = l->since_ms;
	for (size_t i = 0; i < l->nexcept; i++)
		snprintf(out->except[out->nexcept++], SK_ID_MAX, "%s", l->except[i]);
	for (size_t i = 0; i < rollouts->n && out->npaused < SK_LINE_PAUSED_MAX; i++)
		if (held_by(rollouts->v[i]))
			snprintf(out->paused[out->npaused++], SK_ID_MAX, "%s",
			    rollouts->v[i]->id);
}

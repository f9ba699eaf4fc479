/* agent_kind_move: a move_tenant step (docs/moves.md). The step runs in
 * the move's target region: the agent dials the source agent the
 * coordinator named (RUN_PLAN's move peers), and move_engine_run copies,
 * catches up, freezes, verifies and flips, writing the step's ledger row
 * in the flip's transaction. Every other region, the source included,
 * records the step with a note and changes nothing: the source serves
 * the move from its listener (move_serve), whatever its own phase.
 *
 * A rollback moves the tenant back the same way, the sides swapped: the
 * revert in `from` drives the move back (move id "<plan>/<step>/back",
 * route.back) and removes the step's ledger row in its flip; the revert
 * in `to`, which serves it, waits until the move back passed its commit
 * point there, so that the reverts of earlier steps in `to` find the
 * tenant gone; elsewhere only the ledger row goes.
 */
#include "agent_kinds.h"

#include <stdio.h>
#include <string.h>

#include "agent_failpoint.h"
#include "agent_ledger.h"
#include "move.h"
#include "move_link.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_util.h"

#define MOVE_CONNECT_MS 10000
#define MOVE_IO_MS 60000
/* How long a move keeps trying again after losing its source, or
 * before the source holds the coordinator's word for it (the source's
 * MOVE_SERVE and the target's RUN_PLAN go out together; the source may
 * hear it a poll later: until then it closes the link). A rehearsal
 * gives up sooner. */
#define MOVE_RETRY_MS (3 * 60 * 1000)
#define MOVE_REHEARSE_RETRY_MS (20 * 1000)
/* How long the revert in `to` waits for the move back to pass its
 * commit point there: the driver's own retry budget and then some. */
#define MOVE_BACK_WAIT_MS (MOVE_RETRY_MS + 2 * 60 * 1000)

static int move_once(agent_step_run *s, const move_peer *peer,
    const move_spec *spec, bool rehearse, bool back, sk_err *err);

/* Whether rc says the link or the source's agent went away (worth
 * another attempt), rather than a refusal or a database's answer. */
static bool
transport_error(int rc)
{
	return rc == SK_ENET || rc == SK_ETIMEOUT || rc == SK_ECONN;
}

static const move_peer *
source_peer(const agent_step_run *s, bool back)
{
	for (size_t i = 0; i < s->c->nmove_peers; i++) {
		const move_peer *p = &s->c->move_peers[i];

		if (strcmp(p->step_id, s->step->id) == 0 && p->back == back &&
		    p->role == SKEIN__V1__MOVE_ROLE__MOVE_ROLE_SOURCE)
			return p;
	}
	return NULL;
}

static void
figures_from(sk_move_report *f, const move_progress *p)
{
	snprintf(f->phase, sizeof(f->phase), "%s", move_phase_name(p->phase));
	snprintf(f->table, sizeof(f->table), "%s", p->table != NULL ? p->table : "");
	f->rows = p->rows;
	f->rows_total = p->rows_total;
	f->bytes = p->bytes;
	f->bytes_total = p->bytes_total;
	f->rate = p->rows_per_s;
	f->eta_ms = p->eta_ms;
	f->lag_ms = p->lag_ms;
	f->changes = p->changes;
	f->freeze_ms = p->freeze_ms;
}

/* The engine's progress, as PROGRESS reports of the step. */
static void
move_progress_report(void *arg, const move_progress *p)
{
	agent_step_run *s = arg;

	if (p->phase == MOVE_PHASE_COPY)
		agent_failpoint("move-copy");
	else if (p->phase == MOVE_PHASE_CATCHUP)
		agent_failpoint("move-catchup");
	figures_from(&s->move_fig, p);
	agent_step_emit(s, SK_EV_PROGRESS, sk_mono_ms() - s->started_ms, NULL, NULL);
}

/* Inside the target's flip transaction, in the freeze, before the
 * source's commit point: the step's post checks (a cutover's smoke
 * matrix: one that fails aborts the move) and its ledger row. */
static int
move_in_flip(void *arg, PGconn *conn, sk_err *err)
{
	agent_step_run *s = arg;
	int rc;

	(void)conn; /* the engine flips on the step's own connection */
	rc = agent_step_checks(s, s->step->post, s->step->npost, "post", err);
	if (rc == SK_OK)
		rc = agent_step_record(s, true, err);
	return rc;
}

/* Inside the move back's flip transaction in `from`: the step's ledger
 * row goes with the move. */
static int
move_in_flip_back(void *arg, PGconn *conn, sk_err *err)
{
	(void)conn;
	return agent_step_record_revert(arg, 0, err);
}

static void
signed_into(sk_move_signed *d, const Skein__V1__MoveSignedSums *ss)
{
	memset(d, 0, sizeof(*d));
	if (ss == NULL || ss->sums.len == 0 || ss->sums.len > sizeof(d->sums) ||
	    ss->agent_key.len != sizeof(d->key) || ss->signature.len != sizeof(d->sig))
		return;
	memcpy(d->sums, ss->sums.data, ss->sums.len);
	memcpy(d->key, ss->agent_key.data, sizeof(d->key));
	memcpy(d->sig, ss->signature.data, sizeof(d->sig));
	d->len = ss->sums.len;
}

static void
result_into(sk_move_report *f, const move_result *res)
{
	f->rows = res->rows;
	f->bytes = res->bytes;
	f->changes = res->changes;
	f->copy_ms = res->copy_ms;
	f->catchup_ms = res->catchup_ms;
	f->freeze_ms = res->freeze_ms;
	f->est_copy_ms = res->est_copy_ms;
	f->est_freeze_ms = res->est_freeze_ms;
	f->est_rollback_ms = res->est_rollback_ms;
	f->aborted = res->aborted;
	f->committed = res->committed;
	signed_into(&f->sums[SK_MOVE_SUMS_SOURCE], res->source_sums);
	signed_into(&f->sums[SK_MOVE_SUMS_TARGET], res->target_sums);
	signed_into(&f->sums[SK_MOVE_SUMS_SOURCE_FREEZE], res->source_freeze_sums);
	signed_into(&f->sums[SK_MOVE_SUMS_TARGET_FREEZE], res->target_freeze_sums);
}

/* Run the move in this, its target, region (rehearse: the preflight and
 * the estimates only; back: the rollback's move back, in `from`). */
static int
move_here(agent_step_run *s, bool rehearse, bool back, sk_err *err)
{
	const sk_move_tenant *fw = s->step->move;
	const move_peer *peer = source_peer(s, back);
	char move_id[200], undo_id[192];
	sk_move_tenant m;
	move_spec spec = { 0 };
	sk_move_report *fig = &s->move_fig;
	int rc;

	if (back)
		sk_move_tenant_back(fw, &m);
	else
		m = *fw;
	if (peer == NULL)
		return sk_err_set(err, SK_ESTATE,
		    "the coordinator named no source agent for this move%s (from "
		    "%s); is it older than this agent?",
		    back ? " back" : "", m.from);
	snprintf(undo_id, sizeof(undo_id), "%s/%s", s->c->plan->id, s->step->id);
	snprintf(move_id, sizeof(move_id), "%s%s", undo_id, back ? "/back" : "");
	spec.m = &m;
	spec.move_id = move_id;
	spec.source_region = m.from;
	spec.target_region = m.to;
	spec.undo_id = back ? undo_id : NULL;
	memset(fig, 0, sizeof(*fig));
	snprintf(fig->source_region, sizeof(fig->source_region), "%s", m.from);
	snprintf(fig->target_region, sizeof(fig->target_region), "%s", m.to);
	s->move = fig;

	rc = back ? SK_OK : agent_step_pre_checks_alone(s, err);
	if (rc != SK_OK)
		return rc;
	for (int64_t t0 = sk_mono_ms(), pause = 500;;
	     pause = pause < 4000 ? pause * 2 : 5000) {
		rc = move_once(s, peer, &spec, rehearse, back, err);
		/* The link or the source went away (the source agent restarts,
		 * the network is cut): the move aborted with the source
		 * authoritative, or it passed its commit point and is finished
		 * forward; either way the next attempt picks it up, once the
		 * coordinator has told the source's new process again. */
		if (rc == SK_OK || !transport_error(rc) ||
		    sk_mono_ms() - t0 >
			(rehearse ? MOVE_REHEARSE_RETRY_MS : MOVE_RETRY_MS) ||
		    (s->c->stop != NULL && *s->c->stop))
			return rc;
		sk_warn("move %s: %s; trying again in %lld ms", spec.move_id,
		    err->msg, (long long)pause);
		sk_sleep_ms(pause);
	}
}

/* One attempt at the move: dial the source and run the engine. */
static int
move_once(agent_step_run *s, const move_peer *peer, const move_spec *spec,
    bool rehearse, bool back, sk_err *err)
{
	move_run r = { 0 };
	move_result res = { 0 };
	sk_move_report *fig = &s->move_fig;
	const move_source_ops *ops = NULL;
	void *ops_arg = NULL;
	PGconn *own = NULL;
	int rc;

	sk_err_clear(err);
	/* A rehearsal's step runs inside the rehearsal's transaction, which
	 * the engine must not end: its preflight reads on a connection of
	 * its own (it writes nothing). */
	if (rehearse &&
	    (rc = sk_pg_connect(s->c->conninfo, "skein-move-rehearsal", &own, err)) != SK_OK)
		return rc;
	rc = move_remote_open(peer, spec, s->c->rollout_id, s->c->plan->id,
	    s->c->database, s->c->key, MOVE_CONNECT_MS, MOVE_IO_MS, &ops,
	    &ops_arg, err);
	if (rc != SK_OK) {
		if (own != NULL)
			PQfinish(own);
		return rc;
	}
	r.spec = spec;
	r.target = own != NULL ? own : s->c->conn;
	r.target_conninfo = s->c->conninfo;
	r.target_pooled = s->c->pooled;
	r.src = ops;
	r.src_arg = ops_arg;
	r.key = s->c->key;
	r.source_key = &peer->key;
	r.progress = move_progress_report;
	r.progress_arg = s;
	r.in_flip = back ? move_in_flip_back : move_in_flip;
	r.in_flip_arg = s;
	r.stop = s->c->stop;
	r.rehearse = rehearse;
	rc = move_engine_run(&r, &res, err);
	ops->close(ops_arg);
	if (own != NULL)
		PQfinish(own);
	result_into(fig, &res);
	if (rehearse)
		snprintf(fig->verdict, sizeof(fig->verdict), "%s",
		    rc == SK_OK     ? "READY" :
			res.blocked ? "BLOCKED" :
				      "");
	s->rows = res.rows;
	move_result_fini(&res);
	return rc;
}

static int
move_apply(agent_step_run *s, sk_err *err)
{
	const sk_move_tenant *m = s->step->move;

	if (strcmp(s->c->region, m->to) == 0)
		return move_here(s, false, false, err);
	if (strcmp(s->c->region, m->from) == 0)
		agent_step_note(s, "the source of the move: region", m->to);
	else
		agent_step_note(
		    s, "not a region of the move: it runs in region", m->to);
	/* Nothing to do in this region: the ledger row only. The step's pre
	 * and post checks are about its target (a cutover's smoke matrix),
	 * so they run there, not here. */
	return agent_step_apply_checked(s, NULL, NULL, false, err);
}

static int
move_rehearse(agent_step_run *s, sk_err *err)
{
	if (strcmp(s->c->region, s->step->move->to) != 0)
		return SK_OK;
	return move_here(s, true, false, err);
}

static void
move_scripts(const sk_step *step,
    void (*fn)(void *arg, const char *sql, const char *what), void *arg)
{
	if (step->move->route_target != NULL)
		fn(arg, step->move->route_target, "route.target");
	agent_step_scripts_checks(step->pre, step->npre, fn, arg);
	agent_step_scripts_checks(step->post, step->npost, fn, arg);
}

/* In `to`: wait until the move back passed its commit point here (its
 * source's state "moved"), or the rollback is stopped, or
 * MOVE_BACK_WAIT_MS. */
static int
wait_moved_back(agent_step_run *s, const char *back_id, sk_err *err)
{
	const sk_move_tenant *m = s->step->move;
	char st[32];
	int rc;

	for (int64_t t0 = sk_mono_ms();; sk_sleep_ms(1000)) {
		rc = move_state_of(s->c->conn, back_id, "source", st, sizeof(st), err);
		if (rc != SK_OK || strcmp(st, "moved") == 0)
			return rc;
		if (s->c->stop != NULL && *s->c->stop)
			return sk_err_set(err, SK_ESTATE,
			    "stopped while waiting for the move back of tenant %s "
			    "to %s",
			    m->value, m->from);
		if (sk_mono_ms() - t0 > MOVE_BACK_WAIT_MS) {
			sk_err_set(err, SK_ETIMEOUT,
			    "the move back of tenant %s to %s has not passed its "
			    "commit point here after %d s (its state here: %s)",
			    m->value, m->from, MOVE_BACK_WAIT_MS / 1000,
			    st[0] != '\0' ? st : "not begun");
			snprintf(err->hint, sizeof(err->hint),
			    "the move back runs from region %s's agent: see its "
			    "status, then roll back again (what is reverted stays "
			    "reverted)",
			    m->from);
			return SK_ETIMEOUT;
		}
	}
}

/* A move is undone by moving the tenant back (docs/moves.md "Moving
 * back"). */
static int
move_revert(agent_step_run *s, sk_err *err)
{
	const sk_move_tenant *m = s->step->move;
	char undo_id[192], back_id[200], st[32];
	int rc;

	snprintf(undo_id, sizeof(undo_id), "%s/%s", s->c->plan->id, s->step->id);
	snprintf(back_id, sizeof(back_id), "%s/back", undo_id);
	if (strcmp(s->c->region, m->from) == 0) {
		rc = move_state_of(s->c->conn, undo_id, "source", st, sizeof(st), err);
		if (rc != SK_OK)
			return rc;
		/* Moved: move it back (the flip removes the ledger row).
		 * Otherwise the tenant never left (the move did not pass its
		 * commit point), or it is back already. */
		if (strcmp(st, "moved") == 0)
			return move_here(s, false, true, err);
		agent_step_note(s, "the tenant is in this region: move state",
		    st[0] != '\0' ? st : "none");
		return agent_step_record_revert(s, 0, err);
	}
	if (strcmp(s->c->region, m->to) == 0) {
		rc = wait_moved_back(s, back_id, err);
		if (rc != SK_OK)
			return rc;
		agent_step_note(s, "the tenant moved back to region", m->from);
	}
	return agent_step_record_revert(s, 0, err);
}

const agent_step_kind agent_kind_move = {
	.name = "move_tenant",
	.transactional = true,
	.apply = move_apply,
	.rehearse = move_rehearse,
	.describe = NULL,
	.scripts = move_scripts,
	.needs_revert = false,
	.revert = move_revert,
};

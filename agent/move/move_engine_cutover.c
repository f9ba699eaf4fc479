/* move_engine_cutover: the move from its verification on: both sides'
 * signed figures compared, the freeze under its timeout (the last
 * changes, the figures again, the flip prepared, the source's COMMIT as
 * the commit point), the flip retried after it, and the abort before
 * it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_ledger.h"
#include "move_engine_int.h"
#include "sk_log.h"
#include "sk_util.h"

/* Attempts of the flip after the commit point. */
#define FLIP_ATTEMPTS 5

/* Open, check and compare the two sides' signed figures; the result
 * keeps them. */
static int
compare(engine *e, Skein__V1__MoveSignedSums *s, Skein__V1__MoveSignedSums *t,
    const char *what, sk_err *err)
{
	Skein__V1__MoveSums *a = NULL, *b = NULL;
	const sk_pubkey *tk = e->r->key != NULL ? sk_seckey_public(e->r->key) : NULL;
	int rc;

	rc = move_sums_open(s, e->r->source_key, &a, err);
	if (rc == SK_OK)
		rc = move_sums_open(t, tk, &b, err);
	if (rc == SK_OK)
		rc = move_sums_compare(a, b, what, err);
	if (a != NULL)
		skein__v1__move_sums__free_unpacked(a, NULL);
	if (b != NULL)
		skein__v1__move_sums__free_unpacked(b, NULL);
	return rc;
}

int
move_engine_verify(engine *e, char **pos, char **v, sk_err *err)
{
	int rc;

	move_engine_phase(e, MOVE_PHASE_VERIFY);
	rc = e->src->position(e->sa, true, NULL, v, &e->res->source_sums, err);
	if (rc == SK_OK)
		rc = move_engine_drain(e, pos, *v, 0, false, err);
	if (rc == SK_OK)
		rc = move_target_set_verify(e->t, *v, err);
	if (rc == SK_OK)
		rc = move_target_sums(
		    e->t, *v, NULL, e->r->key, &e->res->target_sums, err);
	if (rc == SK_OK)
		rc = compare(e, e->res->source_sums, e->res->target_sums,
		    "verify the copy", err);
	return rc;
}

static int
over_time(engine *e, int64_t f0, const char *step, sk_err *err)
{
	int64_t el = sk_mono_ms() - f0;

	if (el <= e->r->spec->m->freeze_timeout_ms)
		return SK_OK;
	return sk_err_set(err, SK_ETIMEOUT,
	    "freeze: %" PRId64 " ms had passed by %s (freeze_timeout %" PRId64 " ms)",
	    el, step, e->r->spec->m->freeze_timeout_ms);
}

int
move_engine_freeze_commit(engine *e, char **pos, const char *v, sk_err *err)
{
	const sk_move_tenant *m = e->r->spec->m;
	Skein__V1__MoveReply *stay = NULL;
	bool prepared = false;
	char *x = NULL;
	int64_t f0;
	sk_err ferr;
	int rc;

	/* The application's drain hook first (not part of the freeze). */
	if (e->src->drain != NULL && (rc = e->src->drain(e->sa, err)) != SK_OK)
		return sk_err_wrap(err, "drain before the freeze");
	move_engine_phase(e, MOVE_PHASE_FREEZE);
	f0 = sk_mono_ms();
	/* Everything the target runs in the freeze is cut at its end (the
	 * source cuts its own the same way). */
	e->t->deadline_ms = f0 + m->freeze_timeout_ms;
	rc = e->src->freeze(e->sa, m->freeze_timeout_ms, err);
	if (rc != SK_OK) {
		e->t->deadline_ms = 0;
		return rc;
	}
	e->frozen = true;
	rc = e->src->position(e->sa, true, v, &x, &e->res->source_freeze_sums, err);
	if (rc == SK_OK)
		rc = over_time(e, f0, "the last position", err);
	if (rc == SK_OK)
		rc = move_engine_drain(e, pos, x, 0, true, err);
	if (rc == SK_OK)
		rc = over_time(e, f0, "the last changes", err);
	if (rc == SK_OK)
		rc = move_target_sums(
		    e->t, x, v, e->r->key, &e->res->target_freeze_sums, err);
	if (rc == SK_OK)
		rc = compare(e, e->res->source_freeze_sums,
		    e->res->target_freeze_sums, "verify in the freeze", err);
	free(x);
	/* The target's flip, all but its COMMIT: a smoke check (in_flip)
	 * that fails here still aborts the move. */
	if (rc == SK_OK)
		rc = e->src->stay(e->sa, &stay, err);
	if (rc == SK_OK)
		rc = over_time(e, f0, "the staying rows", err);
	if (rc == SK_OK) {
		move_engine_phase(e, MOVE_PHASE_FLIP);
		rc = move_target_flip_prepare(e->t, stay, e->r, err);
		prepared = rc == SK_OK;
	}
	move_reply_free(stay);
	if (rc == SK_OK)
		rc = over_time(e, f0, "the commit", err);
	if (rc == SK_OK) {
		rc = e->src->commit(e->sa, err);
		e->commit_unknown = rc == SK_ENET || rc == SK_ETIMEOUT || rc == SK_ECONN;
	}
	e->res->freeze_ms = sk_mono_ms() - f0;
	e->pg.freeze_ms = e->res->freeze_ms;
	e->t->deadline_ms = 0;
	if (rc != SK_OK) {
		if (prepared)
			move_target_rollback(e->t);
		return rc;
	}
	e->frozen = false;
	e->res->committed = true;
	/* A death between the two commits (the test seam): the target's
	 * flip is redone by the next run. */
	rc = move_engine_hook(e, MOVE_PHASE_FLIP, NULL, err);
	if (rc != SK_OK) {
		move_target_rollback(e->t);
		return rc;
	}
	/* After the commit point: a failed COMMIT here is redone by move_engine_flip(). */
	e->flipped = move_target_flip_commit(e->t, &ferr) == SK_OK;
	return SK_OK;
}

/* After the flip: remove the source's capture. A failure leaves the move
 * done (the result says the cleanup is pending; err says why). */
void
move_engine_cleanup(engine *e, sk_err *err)
{
	if (e->src->finish(e->sa, false, err) != SK_OK)
		e->res->cleanup_pending = true;
}

/* After the commit point: retried, never aborted. */
int
move_engine_flip(engine *e, sk_err *err)
{
	Skein__V1__MoveReply *stay = NULL;
	int rc = SK_OK;

	move_engine_phase(e, MOVE_PHASE_FLIP);
	for (int i = 0; !e->flipped && i < FLIP_ATTEMPTS; i++) {
		if (i > 0)
			sk_sleep_ms(100 << i);
		move_reply_free(stay);
		stay = NULL;
		rc = e->src->stay(e->sa, &stay, err);
		if (rc == SK_OK)
			rc = move_target_flip(e->t, stay, e->r, err);
		if (rc == SK_OK)
			break;
	}
	move_reply_free(stay);
	if (rc != SK_OK)
		return sk_err_wrap(
		    err, "flip after the commit point (run again to finish)");
	move_engine_cleanup(e, err);
	return SK_OK;
}

/* Before the commit point: the source authoritative again, the target's
 * copy gone. The first error is the one reported. Returns true when the
 * source says the commit point passed after all (a COMMIT whose reply
 * was lost): then nothing is undone and the move goes on to the flip. */
bool
move_engine_abort(engine *e, sk_err *err)
{
	sk_err cleanup;

	move_engine_phase(e, MOVE_PHASE_ABORT);
	if (e->frozen && e->src->unfreeze(e->sa, &cleanup) == SK_OK)
		e->frozen = false;
	if (e->snapshot_open)
		(void)e->src->snapshot_end(e->sa, &cleanup);
	move_target_rollback(e->t);
	if (e->src->finish(e->sa, true, &cleanup) != SK_OK) {
		if (cleanup.code == SK_EDRIFT) {
			e->res->committed = true;
			return true;
		}
		if (e->commit_unknown) {
			/* The source may have passed its commit point (fenced,
			 * routed here) and died before answering: the target's
			 * copy, complete up to the freeze, is all the tenant may
			 * have. Keep it: the next attempt flips when the source
			 * says moved, or resumes the catch-up when it does not. */
			sk_err_wrap(err,
			    "the source's commit point is unknown (no answer to "
			    "COMMIT); the target keeps its copy for the next attempt");
			return false;
		}
		sk_err_wrap(err, "(and the source's capture could not be removed: %s)",
		    cleanup.msg);
	}
	e->res->aborted = true;
	if (move_target_abort(e->t, &cleanup) != SK_OK)
		sk_err_wrap(err, "(and the target's copy could not be removed: %s)",
		    cleanup.msg);
	sk_err_wrap(err, "move %s aborted", e->r->spec->move_id);
	return false;
}

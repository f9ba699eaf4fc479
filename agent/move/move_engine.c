/* move_engine: the target side's driver of one tenant move (docs/moves.md):
 * preflight, capture, copy, catch-up, verify, freeze, commit, flip, and
 * the abort before the commit point, in that order, resumed from the
 * target's record after a restart. The copy is in move_engine_copy.c,
 * the cutover from the verification on in move_engine_cutover.c, what
 * all phases use in move_engine_steps.c. The source answers through a
 * move_source_ops table; the target's SQL is in move_target_db.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_ledger.h"
#include "move_engine_int.h"
#include "sk_log.h"
#include "sk_util.h"

/* Rounds before the catch-up gives up converging under max_lag. */
#define MAX_ROUNDS 200

static int
catch_up(engine *e, char **pos, move_target_state *st, sk_err *err)
{
	int64_t t0 = sk_mono_ms();
	int rc;

	move_engine_phase(e, MOVE_PHASE_CATCHUP);
	for (int round = 0;; round++) {
		int64_t r0 = sk_mono_ms(), seq = 0;
		char *upto = NULL;

		if (move_engine_stopped(e))
			return sk_err_set(err, SK_ESTATE, "catch up: stopped");
		if (st->upto != NULL) {
			/* Resume the round an earlier run was in. */
			upto = st->upto;
			seq = st->seq;
			st->upto = NULL;
		} else {
			rc = e->src->position(e->sa, false, NULL, &upto, NULL, err);
			if (rc != SK_OK)
				return rc;
		}
		rc = move_engine_drain(e, pos, upto, seq, false, err);
		free(upto);
		if (rc != SK_OK)
			return rc;
		e->pg.lag_ms = sk_mono_ms() - r0;
		move_engine_report(e, false);
		if (e->pg.lag_ms <= e->r->spec->m->max_lag_ms)
			break;
		if (round >= MAX_ROUNDS)
			return sk_err_set(err, SK_ETIMEOUT,
			    "catch up: the last of %d rounds still took %" PRId64
			    " ms (max_lag %" PRId64 " ms)",
			    round + 1, e->pg.lag_ms, e->r->spec->m->max_lag_ms);
	}
	e->res->catchup_ms = sk_mono_ms() - t0;
	return move_engine_hook(e, MOVE_PHASE_CATCHUP, NULL, err);
}

static int
run(engine *e, sk_err *err)
{
	const move_run *r = e->r;
	move_target_state st;
	bool resume;
	char *pos = NULL, *v = NULL;
	int rc;

	move_engine_phase(e, MOVE_PHASE_PREFLIGHT);
	rc = e->src->describe(e->sa, &e->d, err);
	if (rc == SK_OK)
		rc = move_target_open(r->target, r->spec, e->d, &e->t, err);
	if (rc != SK_OK) {
		e->res->blocked = err->code == SK_EPREFLIGHT;
		return rc;
	}
	memset(&st, 0, sizeof(st));
	if (!r->rehearse) {
		bool present = false;

		rc = agent_ledger_has_table(r->target, "read the move's state",
		    "skein.moves", &present, err);
		if (rc == SK_OK && present)
			rc = move_target_state_read(e->t, &st, err);
		if (rc != SK_OK)
			return rc;
	}
	if (strcmp(st.state, "done") == 0) {
		e->res->committed = true;
		move_engine_cleanup(e, err);
		move_target_state_fini(&st);
		move_engine_phase(e, MOVE_PHASE_DONE);
		return SK_OK;
	}
	resume = strcmp(st.state, "copy") == 0 || strcmp(st.state, "catchup") == 0;
	/* A move back finds the undone move's fenced rows of the tenant in
	 * its target (the copy replaces them), or none once a copy of its
	 * own was begun and aborted. */
	if (!resume && r->spec->undo_id != NULL)
		rc = move_target_undo_moved(e->t, &resume, err);
	if (rc == SK_OK)
		rc = move_target_preflight(e->t, resume, err);
	if (rc != SK_OK) {
		e->res->blocked = err->code == SK_EPREFLIGHT;
		move_target_state_fini(&st);
		return rc;
	}
	/* The two connections the source opens beyond the one already
	 * counted. */
	if (e->d->free_connections < SOURCE_CONNECTIONS - 1) {
		e->res->blocked = true;
		move_target_state_fini(&st);
		return sk_err_set(err, SK_EPREFLIGHT,
		    "the source has %d free connections; the move needs %d more",
		    (int)e->d->free_connections, SOURCE_CONNECTIONS - 1);
	}
	for (size_t i = 0; i < e->d->n_tables; i++) {
		e->pg.rows_total += e->d->tables[i]->rows;
		e->pg.bytes_total += e->d->tables[i]->bytes;
	}
	if (r->rehearse) {
		move_target_state_fini(&st);
		return move_engine_rehearse(e, err);
	}

	move_engine_phase(e, MOVE_PHASE_CAPTURE);
	/* The ledger only now: a blocked move leaves the target untouched. */
	rc = agent_ledger_ensure(r->target, NULL, err);
	if (rc == SK_OK)
		rc = e->src->capture(e->sa, err);
	if (rc == SK_EDRIFT && strcmp(st.state, "catchup") != 0) {
		rc = sk_err_wrap(err,
		    "the target holds no copy of the tenant "
		    "(its move state is '%s')",
		    st.state);
		move_target_state_fini(&st);
		return rc;
	}
	if (rc == SK_EDRIFT) {
		/* An earlier run passed the commit point and died before the
		 * flip: the target holds every change (the last were applied
		 * in the freeze), so the flip is what remains. */
		move_target_state_fini(&st);
		e->res->committed = true;
		sk_err_clear(err);
		goto flip;
	}
	if (rc == SK_OK && strcmp(st.state, "catchup") != 0)
		rc = move_target_begin(e->t, err);
	if (rc == SK_OK && strcmp(st.state, "catchup") == 0 && st.position != NULL) {
		pos = st.position;
		st.position = NULL;
	} else if (rc == SK_OK) {
		free(st.upto);
		st.upto = NULL;
		rc = move_engine_copy(e, &pos, err);
	}
	if (rc == SK_OK)
		rc = catch_up(e, &pos, &st, err);
	if (rc == SK_OK)
		rc = move_engine_verify(e, &pos, &v, err);
	if (rc == SK_OK && move_engine_stopped(e))
		rc = sk_err_set(err, SK_ESTATE, "stopped before the freeze");
	if (rc == SK_OK)
		rc = move_engine_freeze_commit(e, &pos, v, err);
	free(pos);
	free(v);
	move_target_state_fini(&st);
	if (rc == CRASHED) {
		move_target_rollback(e->t);
		return err->code != SK_OK ? err->code : SK_ESTATE;
	}
	if (rc != SK_OK && (e->res->committed || !move_engine_abort(e, err)))
		return rc;
	if (rc != SK_OK)
		sk_err_clear(err);
	rc = e->flipped ? SK_OK : move_engine_hook(e, MOVE_PHASE_FLIP, NULL, err);
	if (rc != SK_OK)
		return err->code != SK_OK ? err->code : SK_ESTATE;
flip:
	rc = move_engine_flip(e, err);
	if (rc != SK_OK)
		return rc;
	move_engine_phase(e, MOVE_PHASE_DONE);
	return SK_OK;
}

void
move_result_fini(move_result *res)
{
	if (res == NULL)
		return;
	move_reply_free(res->source_sums);
	move_reply_free(res->target_sums);
	move_reply_free(res->source_freeze_sums);
	move_reply_free(res->target_freeze_sums);
	memset(res, 0, sizeof(*res));
}

int
move_engine_run(const move_run *r, move_result *res, sk_err *err)
{
	engine e;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&e, 0, sizeof(e));
	sk_err_clear(err);
	e.r = r;
	e.res = res;
	e.src = r->src;
	e.sa = r->src_arg;
	e.start_ms = sk_mono_ms();
	rc = run(&e, err);
	move_target_close(e.t);
	move_reply_free(e.d);
	return rc;
}

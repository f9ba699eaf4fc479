/* move_engine: the target side's driver of one tenant move (docs/moves.md):
 * preflight, capture, copy, catch-up, verify, freeze, commit, flip, and
 * the abort before the commit point. The source answers through a
 * move_source_ops table; the target's SQL is in move_target_db.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_ledger.h"
#include "move_int.h"
#include "sk_log.h"
#include "sk_util.h"

/* Changes per page: one target transaction each. */
#define PAGE_LIMIT 1000
/* Rounds before the catch-up gives up converging under max_lag. */
#define MAX_ROUNDS 200
/* How much of the largest table a rehearsal copies to time it. */
#define SAMPLE_BYTES (8 << 20)
/* Connections the source side opens: requests, copy snapshot, freeze. */
#define SOURCE_CONNECTIONS 3
/* Attempts of the flip after the commit point. */
#define FLIP_ATTEMPTS 5

/* A failure the engine reports without aborting: the hook's simulated
 * death, or the stop after the commit point. */
#define CRASHED (-1)

typedef struct engine {
	const move_run *r;
	move_result *res;
	const move_source_ops *src;
	void *sa;
	move_target *t;
	Skein__V1__MoveDescription *d;
	move_progress pg;
	int64_t start_ms, last_progress_ms, phase_start_ms;
	bool frozen, snapshot_open;
	bool flipped;      /* the target's flip committed in the freeze */
	const char *table; /* being copied */
	/* COMMIT sent, and the link failed before its answer */
	bool commit_unknown;
	/* max_copy_rate: when the copy began (sk_mono_ms), bytes since */
	int64_t copy_t0, copy_bytes;
} engine;

const char *
move_phase_name(move_phase p)
{
	switch (p) {
	case MOVE_PHASE_PREFLIGHT:
		return "preflight";
	case MOVE_PHASE_CAPTURE:
		return "capture";
	case MOVE_PHASE_COPY:
		return "copy";
	case MOVE_PHASE_CATCHUP:
		return "catch-up";
	case MOVE_PHASE_VERIFY:
		return "verify";
	case MOVE_PHASE_FREEZE:
		return "freeze";
	case MOVE_PHASE_FLIP:
		return "flip";
	case MOVE_PHASE_DONE:
		return "done";
	case MOVE_PHASE_ABORT:
		return "abort";
	}
	return "unknown";
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

static void
report(engine *e, bool force)
{
	int64_t now = sk_mono_ms(), el = now - e->phase_start_ms, done;

	if (e->r->progress == NULL || (!force && now - e->last_progress_ms < 1000))
		return;
	e->last_progress_ms = now;
	e->pg.table = e->table;
	/* the copy's rate in rows, the catch-up's in changes */
	done = e->pg.phase == MOVE_PHASE_CATCHUP ? e->pg.changes : e->pg.rows;
	e->pg.rows_per_s = el > 0 ? (double)done * 1000.0 / (double)el : 0;
	e->pg.eta_ms = -1;
	if (e->pg.phase == MOVE_PHASE_COPY && e->pg.bytes > 0 && el > 0)
		e->pg.eta_ms = (e->pg.bytes_total - e->pg.bytes) * el / e->pg.bytes;
	e->r->progress(e->r->progress_arg, &e->pg);
}

/* Enter phase p: logged with how long the last one took (where the
 * move's time, and the load it puts on both databases, went), and
 * reported at once. */
static void
phase(engine *e, move_phase p)
{
	int64_t now = sk_mono_ms();

	if (e->phase_start_ms > 0)
		sk_info("move %s: %s (%s took %" PRId64 " ms)",
		    e->r->spec->move_id, move_phase_name(p),
		    move_phase_name(e->pg.phase), now - e->phase_start_ms);
	else
		sk_info("move %s: %s", e->r->spec->move_id, move_phase_name(p));
	e->pg.phase = p;
	e->phase_start_ms = now;
	report(e, true);
}

static bool
stopped(const engine *e)
{
	return e->r->stop != NULL && *e->r->stop != 0;
}

static int
hook(engine *e, move_phase p, const char *table, sk_err *err)
{
	if (e->r->hook == NULL ||
	    e->r->hook(e->r->hook_arg, p, table, e->r->target, err) == SK_OK)
		return SK_OK;
	return CRASHED;
}

typedef struct sink_arg {
	engine *e;
	int64_t bytes;
} sink_arg;

static bool
engine_quits(void *arg)
{
	return stopped(arg);
}

/* max_copy_rate: hold the copy while it is ahead of the rate; both
 * databases and both agents slow down together. */
static void
pace(engine *e, int64_t len)
{
	int64_t rate = e->r->spec->m->max_copy_bytes_per_s;

	if (rate <= 0)
		return;
	e->copy_bytes += len;
	move_pace_until(e->copy_t0 + e->copy_bytes * 1000 / rate, engine_quits, e);
}

static int
copy_sink(void *arg, const uint8_t *data, size_t len, sk_err *err)
{
	sink_arg *s = arg;
	engine *e = s->e;

	if (stopped(e))
		return sk_err_set(err, SK_ESTATE, "copy %s: stopped", e->table);
	s->bytes += (int64_t)len;
	e->pg.bytes += (int64_t)len;
	report(e, false);
	pace(e, (int64_t)len);
	return move_target_copy_data(e->t, data, len, err);
}

/* The rehearsal's sample: the first SAMPLE_BYTES of a COPY, thrown away. */
typedef struct sample {
	int64_t bytes;
	bool full;
} sample;

static int
null_sink(void *arg, const uint8_t *data, size_t len, sk_err *err)
{
	sample *s = arg;

	(void)data;
	s->bytes += (int64_t)len;
	if (s->bytes < SAMPLE_BYTES)
		return SK_OK;
	s->full = true;
	return sk_err_set(err, SK_ESTATE, "sample taken");
}

/* Apply every change visible in upto and not in *pos, from seq after
 * seq, page by page; *pos becomes upto. */
static int
drain(engine *e, char **pos, const char *upto, int64_t seq, bool track, sk_err *err)
{
	for (;;) {
		Skein__V1__MoveReply *page = NULL;
		int64_t n = 0;
		bool more;
		int rc;

		rc = e->src->changes(e->sa, *pos, upto, seq,
		    e->r->page_limit > 0 ? e->r->page_limit : PAGE_LIMIT, &page, err);
		if (rc != SK_OK)
			return rc;
		more = page->more;
		rc = move_target_apply(e->t, page, upto, !more, track, &n, err);
		if (rc == SK_OK && page->n_changes > 0)
			seq = page->changes[page->n_changes - 1]->seq;
		e->pg.changes += n;
		e->res->changes += n;
		if (rc == SK_OK && more && page->n_changes > 0)
			rc = hook(e, MOVE_PHASE_CATCHUP,
			    page->changes[page->n_changes - 1]->table, err);
		move_reply_free(page);
		if (rc != SK_OK)
			return rc;
		if (!more)
			break;
		report(e, false);
	}
	free(*pos);
	*pos = sk_strdup(upto);
	return *pos != NULL ? SK_OK :
			      sk_err_set(err, SK_ENOMEM, "catch up: out of memory");
}

static int
rehearse(engine *e, sk_err *err)
{
	const Skein__V1__MoveTable *big = NULL;
	sample smp = { 0, false };
	int64_t t0, rows = 0, ms;
	char *snap = NULL;
	int rc;

	for (size_t i = 0; i < e->d->n_tables; i++)
		if (big == NULL || e->d->tables[i]->bytes > big->bytes)
			big = e->d->tables[i];
	if (big == NULL || big->rows == 0)
		return SK_OK;
	/* Up to SAMPLE_BYTES of the largest table copied into nothing: the
	 * source's read and encoding rate, scaled to the tenant's size
	 * (COPY's bytes stand in for the rows' pg_column_size: close, not
	 * equal). The target's write rate is not measured. */
	t0 = sk_mono_ms();
	rc = e->src->copy(e->sa, big->name, null_sink, &smp, &rows, err);
	if (rc != SK_OK && !smp.full)
		return rc;
	sk_err_clear(err);
	ms = sk_mono_ms() - t0;
	if (ms < 1)
		ms = 1;
	e->res->est_copy_ms =
	    smp.bytes > 0 ? e->pg.bytes_total * ms / smp.bytes + 1 : ms;
	/* No faster than max_copy_rate lets it. */
	if (e->r->spec->m->max_copy_bytes_per_s > 0 &&
	    e->pg.bytes_total * 1000 / e->r->spec->m->max_copy_bytes_per_s >
		e->res->est_copy_ms)
		e->res->est_copy_ms =
		    e->pg.bytes_total * 1000 / e->r->spec->m->max_copy_bytes_per_s;
	/* The freeze is a handful of round trips: the lock, a position with
	 * figures, a page of changes, the commit. */
	t0 = sk_mono_ms();
	rc = e->src->position(e->sa, false, NULL, &snap, NULL, err);
	free(snap);
	if (rc != SK_OK)
		return rc;
	e->res->est_freeze_ms = 6 * (sk_mono_ms() - t0) + 5;
	/* Removing the copy costs about what writing it did. */
	e->res->est_rollback_ms = e->res->est_copy_ms;
	report(e, true); /* the tenant's size, for the rehearsal's report */
	return SK_OK;
}

/* How many tables the copy runs at once: the step's parallel, no more
 * than the tables, nor than the source's spare connections (each worker
 * takes one beyond the SOURCE_CONNECTIONS of the move), nor than 1 when
 * the source has no workers or there is no conninfo for the target's
 * second connections. */
static int
copy_workers(const engine *e)
{
	int n = sk_move_parallel(e->r->spec->m);
	int spare = (int)e->d->free_connections - (SOURCE_CONNECTIONS - 1);

	if (e->src->worker == NULL || e->r->target_conninfo == NULL)
		return 1;
	if (n > (int)e->d->n_tables)
		n = (int)e->d->n_tables;
	if (n > 1 && n > spare) {
		n = spare > 1 ? spare : 1;
		sk_info("move %s: the source has %d spare connections: %d "
			"table%s at once, not %d",
		    e->r->spec->move_id, spare, n, n == 1 ? "" : "s",
		    sk_move_parallel(e->r->spec->m));
	}
	return n < 1 ? 1 : n;
}

/* parallel 1: one target transaction, table after table. */
static int
copy_tables(engine *e, sk_err *err)
{
	int rc = move_target_copy_begin(e->t, err);

	for (size_t i = 0; rc == SK_OK && i < e->d->n_tables; i++) {
		const Skein__V1__MoveTable *tbl = e->d->tables[i];
		sink_arg s = { e, 0 };
		int64_t rows = 0;

		e->table = tbl->name;
		report(e, true);
		rc = move_target_copy_start(e->t, tbl, err);
		if (rc == SK_OK)
			rc = e->src->copy(e->sa, tbl->name, copy_sink, &s, &rows, err);
		if (rc == SK_OK)
			rc = move_target_copy_end(e->t, err);
		e->pg.rows += rows;
		e->res->rows += rows;
		e->res->bytes += s.bytes;
		if (rc == SK_OK)
			rc = hook(e, MOVE_PHASE_COPY, tbl->name, err);
	}
	e->table = NULL;
	return rc;
}

/* A parallel copy's figures, on the engine's thread. */
static void
copy_tick(void *arg, const move_copy_stats *st)
{
	engine *e = arg;

	e->pg.rows = st->rows;
	e->pg.bytes = st->bytes;
	e->res->rows = st->rows;
	e->res->bytes = st->bytes;
	e->table = st->table;
	report(e, true);
}

static int
copy(engine *e, char **pos, sk_err *err)
{
	int64_t t0 = sk_mono_ms();
	int n = copy_workers(e);
	char *p0 = NULL, *exported = NULL;
	bool crashed = false;
	int rc;

	phase(e, MOVE_PHASE_COPY);
	e->copy_t0 = t0;
	e->copy_bytes = 0;
	rc = e->src->snapshot(e->sa, &p0, n > 1 ? &exported : NULL, err);
	if (rc != SK_OK)
		return rc;
	e->snapshot_open = true;
	if (n > 1 && exported == NULL) {
		sk_info("move %s: the source does not export its snapshot: one "
			"table after another",
		    e->r->spec->move_id);
		n = 1;
	}
	if (n > 1) {
		/* Each table commits on its own; the record of p0 below makes
		 * the copy count. */
		rc = move_copy_parallel(e->r, e->d, e->src, e->sa, exported,
		    e->t, n, copy_tick, e, &crashed, err);
		if (rc == SK_OK)
			rc = move_target_copy_record_begin(e->t, err);
	} else {
		rc = copy_tables(e, err);
	}
	free(exported);
	if (crashed) {
		free(p0);
		return CRASHED;
	}
	if (rc == SK_OK)
		rc = e->src->snapshot_end(e->sa, err);
	if (rc == SK_OK) {
		e->snapshot_open = false;
		rc = move_target_copy_commit(e->t, p0, err);
	}
	if (rc != SK_OK) {
		move_target_rollback(e->t);
		free(p0);
		return rc;
	}
	e->res->copy_ms = sk_mono_ms() - t0;
	free(*pos);
	*pos = p0;
	move_target_vacuum(e->t);
	return hook(e, MOVE_PHASE_COPY, NULL, err);
}

static int
catch_up(engine *e, char **pos, move_target_state *st, sk_err *err)
{
	int64_t t0 = sk_mono_ms();
	int rc;

	phase(e, MOVE_PHASE_CATCHUP);
	for (int round = 0;; round++) {
		int64_t r0 = sk_mono_ms(), seq = 0;
		char *upto = NULL;

		if (stopped(e))
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
		rc = drain(e, pos, upto, seq, false, err);
		free(upto);
		if (rc != SK_OK)
			return rc;
		e->pg.lag_ms = sk_mono_ms() - r0;
		report(e, false);
		if (e->pg.lag_ms <= e->r->spec->m->max_lag_ms)
			break;
		if (round >= MAX_ROUNDS)
			return sk_err_set(err, SK_ETIMEOUT,
			    "catch up: the last of %d rounds still took %" PRId64
			    " ms (max_lag %" PRId64 " ms)",
			    round + 1, e->pg.lag_ms, e->r->spec->m->max_lag_ms);
	}
	e->res->catchup_ms = sk_mono_ms() - t0;
	return hook(e, MOVE_PHASE_CATCHUP, NULL, err);
}

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

static int
verify(engine *e, char **pos, char **v, sk_err *err)
{
	int rc;

	phase(e, MOVE_PHASE_VERIFY);
	rc = e->src->position(e->sa, true, NULL, v, &e->res->source_sums, err);
	if (rc == SK_OK)
		rc = drain(e, pos, *v, 0, false, err);
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

static int
freeze_commit(engine *e, char **pos, const char *v, sk_err *err)
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
	phase(e, MOVE_PHASE_FREEZE);
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
		rc = drain(e, pos, x, 0, true, err);
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
		phase(e, MOVE_PHASE_FLIP);
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
	rc = hook(e, MOVE_PHASE_FLIP, NULL, err);
	if (rc != SK_OK) {
		move_target_rollback(e->t);
		return rc;
	}
	/* After the commit point: a failed COMMIT here is redone by flip(). */
	e->flipped = move_target_flip_commit(e->t, &ferr) == SK_OK;
	return SK_OK;
}

/* After the flip: remove the source's capture. A failure leaves the move
 * done (the result says the cleanup is pending; err says why). */
static void
cleanup(engine *e, sk_err *err)
{
	if (e->src->finish(e->sa, false, err) != SK_OK)
		e->res->cleanup_pending = true;
}

/* After the commit point: retried, never aborted. */
static int
flip(engine *e, sk_err *err)
{
	Skein__V1__MoveReply *stay = NULL;
	int rc = SK_OK;

	phase(e, MOVE_PHASE_FLIP);
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
	cleanup(e, err);
	return SK_OK;
}

/* Before the commit point: the source authoritative again, the target's
 * copy gone. The first error is the one reported. Returns true when the
 * source says the commit point passed after all (a COMMIT whose reply
 * was lost): then nothing is undone and the move goes on to the flip. */
static bool
abort_move(engine *e, sk_err *err)
{
	sk_err cleanup;

	phase(e, MOVE_PHASE_ABORT);
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

static int
run(engine *e, sk_err *err)
{
	const move_run *r = e->r;
	move_target_state st;
	bool resume;
	char *pos = NULL, *v = NULL;
	int rc;

	phase(e, MOVE_PHASE_PREFLIGHT);
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
		cleanup(e, err);
		move_target_state_fini(&st);
		phase(e, MOVE_PHASE_DONE);
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
		return rehearse(e, err);
	}

	phase(e, MOVE_PHASE_CAPTURE);
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
		rc = copy(e, &pos, err);
	}
	if (rc == SK_OK)
		rc = catch_up(e, &pos, &st, err);
	if (rc == SK_OK)
		rc = verify(e, &pos, &v, err);
	if (rc == SK_OK && stopped(e))
		rc = sk_err_set(err, SK_ESTATE, "stopped before the freeze");
	if (rc == SK_OK)
		rc = freeze_commit(e, &pos, v, err);
	free(pos);
	free(v);
	move_target_state_fini(&st);
	if (rc == CRASHED) {
		move_target_rollback(e->t);
		return err->code != SK_OK ? err->code : SK_ESTATE;
	}
	if (rc != SK_OK && (e->res->committed || !abort_move(e, err)))
		return rc;
	if (rc != SK_OK)
		sk_err_clear(err);
	rc = e->flipped ? SK_OK : hook(e, MOVE_PHASE_FLIP, NULL, err);
	if (rc != SK_OK)
		return err->code != SK_OK ? err->code : SK_ESTATE;
flip:
	rc = flip(e, err);
	if (rc != SK_OK)
		return rc;
	phase(e, MOVE_PHASE_DONE);
	return SK_OK;
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

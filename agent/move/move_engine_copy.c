/* move_engine_copy: the move's copy phase (the tenant's rows in one
 * snapshot of the source, table after table in one target transaction,
 * or tables at once through move_copy.c), paced by max_copy_rate, and
 * the rehearsal's timed sample of it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_ledger.h"
#include "move_engine_int.h"
#include "sk_log.h"
#include "sk_util.h"

/* How much of the largest table a rehearsal copies to time it. */
#define SAMPLE_BYTES (8 << 20)

typedef struct sink_arg {
	engine *e;
	int64_t bytes;
} sink_arg;

static bool
engine_quits(void *arg)
{
	return move_engine_stopped(arg);
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

	if (move_engine_stopped(e))
		return sk_err_set(err, SK_ESTATE, "copy %s: stopped", e->table);
	s->bytes += (int64_t)len;
	e->pg.bytes += (int64_t)len;
	move_engine_report(e, false);
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

int
move_engine_rehearse(engine *e, sk_err *err)
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
	move_engine_report(e, true); /* the tenant's size, for the rehearsal's report */
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
		move_engine_report(e, true);
		rc = move_target_copy_start(e->t, tbl, err);
		if (rc == SK_OK)
			rc = e->src->copy(e->sa, tbl->name, copy_sink, &s, &rows, err);
		if (rc == SK_OK)
			rc = move_target_copy_end(e->t, err);
		e->pg.rows += rows;
		e->res->rows += rows;
		e->res->bytes += s.bytes;
		if (rc == SK_OK)
			rc = move_engine_hook(e, MOVE_PHASE_COPY, tbl->name, err);
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
	move_engine_report(e, true);
}

int
move_engine_copy(engine *e, char **pos, sk_err *err)
{
	int64_t t0 = sk_mono_ms();
	int n = copy_workers(e);
	char *p0 = NULL, *exported = NULL;
	bool crashed = false;
	int rc;

	move_engine_phase(e, MOVE_PHASE_COPY);
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
	return move_engine_hook(e, MOVE_PHASE_COPY, NULL, err);
}

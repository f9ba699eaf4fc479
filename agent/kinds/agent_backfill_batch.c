/* agent_backfill_batch: a backfill's workers. Each has a connection of
 * its own and walks its key range a batch at a time: it waits while a
 * throttle holds, keeps to the rate, then finds the batch's last key,
 * runs the UPDATE over the range up to it and advances its checkpoint,
 * all in one transaction under the step's lock timeout and the batch's
 * statement timeout, retried on lock conflicts by the retry engine
 * (agent_backfill.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_backfill_int.h"
#include "agent_failpoint.h"
#include "agent_locks.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_util.h"

/* How long a worker sleeps between looks while it waits. */
#define WAIT_SLICE_MS 20

char *
bf_batch_select(const bf_run *r, PGconn *conn, const agent_keyval *lo,
    const agent_keyval *hi, int64_t size)
{
	char *range = agent_key_range(conn, &r->key, "", lo, hi);
	size_t len;
	char *sql;

	if (range == NULL)
		return NULL;
	len = strlen(range) + strlen(r->b->table) + 2 * strlen(r->key_cols) +
	    strlen(r->key_text) + strlen(r->key_desc) + 160;
	sql = malloc(len);
	if (sql != NULL)
		snprintf(sql, len,
		    "WITH b AS (SELECT %s FROM %s WHERE %s ORDER BY %s LIMIT "
		    "%" PRId64 ") SELECT pg_catalog.count(*) OVER (), %s FROM b "
		    "ORDER BY %s LIMIT 1",
		    r->key_cols, r->b->table, range, r->key_cols, size,
		    r->key_text, r->key_desc);
	free(range);
	return sql;
}

int
bf_batch_work(const bf_run *r, agent_attempts *a, PGconn *conn, int pid,
    const agent_keyval *lo, const agent_keyval *hi, int64_t size, bf_batch *b,
    sk_err *err)
{
	char *sql = NULL, *range = NULL, lo_text[72], hi_text[72];
	PGresult *res = NULL;
	int rc;

	b->keys = 0;
	b->changed = 0;
	b->range[0] = '\0';
	agent_keyval_fini(&b->last);
	sql = bf_batch_select(r, conn, lo, hi, size);
	if (sql == NULL)
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	rc = agent_attempts_sql(a, conn, "find the batch", sql, pid, &res, NULL, err);
	free(sql);
	sql = NULL;
	if (rc == SK_OK && PQntuples(res) == 1) {
		b->keys = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		rc = agent_keyval_from(&b->last, &r->key, res, 0, 1, err);
	}
	PQclear(res);
	res = NULL;
	if (rc != SK_OK || b->keys == 0)
		return rc;
	agent_keyval_format(lo, r->key.n, lo_text, sizeof(lo_text));
	agent_keyval_format(&b->last, r->key.n, hi_text, sizeof(hi_text));
	snprintf(b->range, sizeof(b->range), "after %s up to %s", lo_text, hi_text);
	range = agent_key_range(conn, &r->key, "t.", lo, &b->last);
	rc = range == NULL ? sk_err_set(err, SK_ENOMEM, "out of memory") :
			     sk_backfill_statement(r->b, range, &sql, err);
	free(range);
	if (rc == SK_OK)
		rc = agent_attempts_sql(
		    a, conn, NULL, sql, pid, &res, &b->changed, err);
	PQclear(res);
	free(sql);
	if (b->changed < 0)
		b->changed = 0;
	return rc;
}

/* What one attempt at a batch learned. */
typedef struct batch {
	bf_worker *w;
	agent_attempts *a;
	int64_t size;
	bf_batch got;
} batch;

/* The range a batch starts after: its checkpoint, else its worker's
 * start. */
static const agent_keyval *
batch_start(const bf_worker *w)
{
	return w->cp->last.set ? &w->cp->last : &w->cp->lo;
}

/* One attempt: select, update, advance, commit; leaves no transaction
 * open. */
static int
batch_attempt(void *arg, sk_err *err)
{
	batch *b = arg;
	bf_worker *w = b->w;
	bf_run *r = w->run;
	int64_t throttled;
	int rc;

	rc = agent_tx_begin(&w->ctx, &w->limits, err);
	if (rc != SK_OK)
		return rc;
	/* The time waited since the last batch that committed goes into this
	 * batch's checkpoint row, so skein.backfills says how long the
	 * backfill was held, whichever worker committed. */
	throttled = bf_throttled_claim(r);
	rc = bf_batch_work(r, b->a, w->conn, w->ctx.pooled ? 0 : PQbackendPID(w->conn),
	    batch_start(w), &w->cp->hi, b->size, &b->got, err);
	/* A batch shorter than asked for reached the end of the range. */
	if (rc == SK_OK)
		rc = agent_checkpoint_advance(w->conn, &r->id, &r->key, w->cp->worker,
		    &w->cp->last, &b->got.last, b->got.changed, b->got.keys,
		    b->got.keys > 0, b->got.keys < b->size, throttled, err);
	if (rc == SK_OK) {
		agent_failpoint("backfill-before-commit");
		rc = sk_pg_exec(w->conn, "commit the batch", "COMMIT", NULL, err);
	}
	if (rc == SK_OK)
		agent_failpoint("backfill-after-commit");
	if (rc != SK_OK) {
		agent_tx_rollback(w->conn);
		bf_throttled_unclaim(r, throttled);
	}
	return rc;
}

/* Sleep while the backfill is paused or must wait for the rate; false
 * when it must quit instead. */
static bool
wait_turn(bf_worker *w)
{
	bf_run *r = w->run;
	int64_t now, start;

	for (;;) {
		if (atomic_load(&r->quit))
			return false;
		if (atomic_load(&r->pause) == AGENT_BF_RUNNING)
			break;
		sk_sleep_ms(WAIT_SLICE_MS);
	}
	start = sk_mono_ms();
	for (;;) {
		pthread_mutex_lock(&r->mu);
		now = sk_mono_ms();
		if (r->rate <= 0 || now >= r->next_ok_ms) {
			if (now > start)
				r->waited_ms[AGENT_BF_RATE] += (now - start) /
				    (int64_t)(r->nw > 0 ? r->nw : 1);
			pthread_mutex_unlock(&r->mu);
			return true;
		}
		pthread_mutex_unlock(&r->mu);
		if (atomic_load(&r->quit))
			return false;
		sk_sleep_ms(WAIT_SLICE_MS);
	}
}

/* Keep the worker's batch size within the limits in force (the
 * operator may have tuned them since its last batch). */
static void
clamp_size(bf_worker *w)
{
	bf_run *r = w->run;

	pthread_mutex_lock(&r->mu);
	if (w->size < r->bmin)
		w->size = r->bmin;
	if (w->size > r->bmax)
		w->size = r->bmax;
	pthread_mutex_unlock(&r->mu);
}

/* After a batch of keys that took ms: the next batch's size toward the
 * target duration (at most doubling, at least halving), and the time
 * before which no batch may start at the rate in force. */
static void
after_batch(bf_worker *w, int64_t started, int64_t keys, int64_t ms)
{
	bf_run *r = w->run;
	int64_t target = r->b->tuning.batch_target_ms;
	double f = ms > 0 ? (double)target / (double)ms : 2.0;

	if (f > 2.0)
		f = 2.0;
	if (f < 0.5)
		f = 0.5;
	pthread_mutex_lock(&r->mu);
	/* Only a full batch says how long a batch of this size takes. */
	if (keys >= w->size)
		w->size = (int64_t)((double)w->size * f);
	if (w->size < r->bmin)
		w->size = r->bmin;
	if (w->size > r->bmax)
		w->size = r->bmax;
	if (r->rate > 0) {
		int64_t from = r->next_ok_ms > started ? r->next_ok_ms : started;

		r->next_ok_ms = from + (int64_t)((double)keys * 1000.0 / r->rate);
	}
	pthread_mutex_unlock(&r->mu);
}

/* The batch's error in words: where, and keeping the SQLSTATE. */
static void
batch_error(const batch *b, sk_err *err)
{
	if (b->got.range[0] != '\0')
		sk_err_wrap(err, "batch of keys %s", b->got.range);
}

/* Run batches until the range is done, the backfill must quit or a batch
 * fails for good (w->rc, w->err). */
static void
run_batches(bf_worker *w)
{
	bf_run *r = w->run;
	const agent_step_run *s = r->s;
	batch b;
	int rc;

	memset(&b, 0, sizeof(b));
	b.w = w;
	while (!w->cp->done) {
		agent_attempts a;
		int64_t t0;

		if (!wait_turn(w))
			break;
		clamp_size(w);
		agent_attempts_init(&a, &w->ctx, &w->limits, s->step->id);
		b.a = &a;
		b.size = w->size;
		t0 = sk_mono_ms();
		rc = agent_retry(&a, batch_attempt, &b, &w->err);
		if (rc == SK_OK) {
			w->cp->done = b.got.keys < b.size;
			if (b.got.keys > 0) {
				agent_keyval_fini(&w->cp->last);
				w->cp->last = b.got.last;
				memset(&b.got.last, 0, sizeof(b.got.last));
			}
			atomic_fetch_add(&r->rows_done, b.got.changed);
			atomic_fetch_add(&r->rows_scanned, b.got.keys);
			if (b.got.keys > 0)
				atomic_fetch_add(&r->batches, 1);
			after_batch(w, t0, b.got.keys, sk_mono_ms() - t0);
			continue;
		}
		/* A batch that ran past its statement timeout is split. */
		if (strcmp(w->err.sqlstate, "57014") == 0 && w->size > r->bmin) {
			sk_warn("backfill %s: a batch of %" PRId64 " rows ran past its "
				"statement timeout; halving it",
			    s->step->id, w->size);
			pthread_mutex_lock(&r->mu);
			w->size = w->size / 2 > r->bmin ? w->size / 2 : r->bmin;
			pthread_mutex_unlock(&r->mu);
			continue;
		}
		if (a.stopped)
			break;
		batch_error(&b, &w->err);
		w->rc = rc;
		atomic_store(&r->quit, 1);
		break;
	}
	agent_keyval_fini(&b.got.last);
}

void *
bf_worker_main(void *arg)
{
	bf_worker *w = arg;
	const agent_db_ctx *c = w->run->s->c;
	char app[SK_NAME_MAX + 32];
	int rc;

	snprintf(app, sizeof(app), "skein-backfill/%d", w->cp->worker);
	rc = c->pooled ? sk_pg_connect_pooled(c->conninfo, app, &w->conn, &w->err) :
			 sk_pg_connect(c->conninfo, app, &w->conn, &w->err);
	if (rc != SK_OK) {
		w->rc = rc;
		atomic_store(&w->run->quit, 1);
		atomic_store(&w->finished, 1);
		return NULL;
	}
	w->ctx = *c;
	w->ctx.conn = w->conn;
	agent_watch_init(&w->watch, c->conninfo, c->pooled, c->region, c->database);
	w->ctx.watch = &w->watch;
	run_batches(w);
	agent_watch_fini(&w->watch);
	PQfinish(w->conn);
	w->conn = NULL;
	atomic_store(&w->finished, 1);
	return NULL;
}

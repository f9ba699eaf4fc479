/* agent_backfill: a backfill's start, resumption, watch and finish, on
 * the database thread's connection; its batches run on the workers'
 * (agent_backfill_batch.c), its throttles and progress in
 * agent_backfill_throttle.c (agent_backfill.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_backfill_int.h"
#include "agent_locks.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_util.h"

/* How often the database's thread looks at the throttles and workers. */
#define WATCH_MS 50
/* At most one progress report per this long. */
#define PROGRESS_MS 1000

/* ---- setting up ---------------------------------------------------------- */

/* "k1, k2", "k1 DESC, k2 DESC", "k1::text AS skein_k0, ...": the text
 * values get names of their own, or ORDER BY k1 would sort by the text
 * output column of that name. */
static int
key_strings(bf_run *r, sk_err *err)
{
	const agent_key *k = &r->key;
	size_t len = 32;

	for (size_t i = 0; i < k->n; i++)
		len += strlen(k->cols[i]) + 32;
	/* On failure run_fini frees what was allocated. */
	r->key_cols = calloc(1, len);
	r->key_desc = calloc(1, len);
	r->key_text = calloc(1, len);
	if (r->key_cols == NULL || r->key_desc == NULL || r->key_text == NULL)
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	for (size_t i = 0; i < k->n; i++) {
		const char *sep = i > 0 ? ", " : "";
		size_t c = strlen(r->key_cols), d = strlen(r->key_desc),
		       t = strlen(r->key_text);

		snprintf(r->key_cols + c, len - c, "%s%s", sep, k->cols[i]);
		snprintf(r->key_desc + d, len - d, "%s%s DESC", sep, k->cols[i]);
		snprintf(r->key_text + t, len - t, "%s%s::text AS skein_k%zu",
		    sep, k->cols[i], i);
	}
	return SK_OK;
}

/* EXPLAIN of b's statement: the database's judgement of its columns and
 * tables, named by field. */
static int
explain(PGconn *conn, const sk_backfill *b, const char *field, sk_err *err)
{
	char *sql = NULL, *ex;
	int rc;

	rc = sk_backfill_statement(b, "true", &sql, err);
	if (rc != SK_OK)
		return sk_err_wrap(err, "%s", field);
	ex = malloc(strlen(sql) + 16);
	if (ex == NULL) {
		free(sql);
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	}
	snprintf(ex, strlen(sql) + 16, "EXPLAIN %s", sql);
	rc = sk_pg_exec(conn, field, ex, NULL, err);
	free(sql);
	free(ex);
	if (rc == SK_ESQL) {
		err->code = SK_EINVAL;
		snprintf(err->hint, sizeof(err->hint),
		    "the database refuses the backfill's %s as written; fix it in "
		    "plan.yaml (update follows UPDATE table AS t, where may refer "
		    "to t and to update's FROM items)",
		    field);
		return SK_EINVAL;
	}
	return rc;
}

/* Everything the database can judge before a batch runs: the key, the
 * update and where (EXPLAIN), the throttle query. In an open transaction
 * when in_tx (rehearsal), else in one of its own that is rolled back. */
static int
check(bf_run *r, bool in_tx, sk_err *err)
{
	const agent_db_ctx *c = r->s->c;
	sk_backfill alone = *r->b;
	int rc;

	rc = agent_key_find(c->conn, r->b->table, &r->key, err);
	if (rc == SK_OK)
		rc = key_strings(r, err);
	if (rc != SK_OK)
		return rc;
	if (!in_tx) {
		rc = agent_step_begin(r->s, err);
		if (rc != SK_OK)
			return rc;
	}
	alone.where = NULL;
	if (!in_tx && r->s->step->npre > 0)
		rc = agent_step_checks(
		    r->s, r->s->step->pre, r->s->step->npre, "pre", err);
	if (rc == SK_OK)
		rc = explain(c->conn, &alone, "update", err);
	if (rc == SK_OK && r->b->where != NULL)
		rc = explain(c->conn, r->b, "where", err);
	if (!in_tx)
		agent_tx_rollback(c->conn);
	if (rc == SK_OK && !in_tx)
		rc = bf_throttle_query_check(r, err);
	return rc;
}

/* The rows of the key range up to hi: the planner's estimate of the
 * table when it has one, else a count. */
static int
estimate(bf_run *r, sk_err *err)
{
	const char *table[1] = { r->b->table };
	PGconn *conn = r->s->c->conn;
	PGresult *res = NULL;
	char *sql;
	int rc;

	rc = sk_pg_execp(conn, "estimate the rows",
	    "SELECT c.reltuples::bigint FROM pg_catalog.pg_class c "
	    "WHERE c.oid = pg_catalog.to_regclass($1)",
	    1, table, &res, err);
	if (rc != SK_OK)
		return rc;
	r->rows_total =
	    PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	if (r->rows_total > 0)
		return SK_OK;
	sql = malloc(strlen(r->b->table) + 48);
	if (sql == NULL)
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	snprintf(sql, strlen(r->b->table) + 48,
	    "SELECT pg_catalog.count(*) FROM %s", r->b->table);
	res = NULL;
	rc = sk_pg_exec(conn, "count the rows", sql, &res, err);
	free(sql);
	if (rc == SK_OK)
		r->rows_total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

/* The table's last key now (hi; not set for an empty table), and the
 * bounds that split the key range up to it into nw parts of about the
 * same number of keys, into bounds[0..*nb) (each part's last key). */
static int
find_bounds(bf_run *r, size_t nw, agent_keyval *hi, agent_keyval *bounds,
    size_t *nb, sk_err *err)
{
	PGconn *conn = r->s->c->conn;
	PGresult *res = NULL;
	size_t len;
	char *sql, *range;
	int rc;

	*nb = 0;
	len = strlen(r->key_text) + strlen(r->b->table) + strlen(r->key_desc) + 64;
	sql = malloc(len);
	if (sql == NULL)
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	snprintf(sql, len, "SELECT %s FROM %s ORDER BY %s LIMIT 1", r->key_text,
	    r->b->table, r->key_desc);
	rc = sk_pg_exec(conn, "find the last key", sql, &res, err);
	free(sql);
	if (rc == SK_OK && PQntuples(res) == 1)
		rc = agent_keyval_from(hi, &r->key, res, 0, 0, err);
	PQclear(res);
	if (rc != SK_OK || !hi->set || nw <= 1)
		return rc;
	range = agent_key_range(conn, &r->key, "", NULL, hi);
	if (range == NULL)
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	len = 3 * strlen(r->key_cols) + strlen(r->key_text) +
	    strlen(r->key_desc) + strlen(r->b->table) + strlen(range) + 256;
	sql = malloc(len);
	if (sql == NULL) {
		free(range);
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	}
	/* The last key of each of nw tiles: one pass over the key's index. */
	snprintf(sql, len,
	    "SELECT %s FROM (SELECT DISTINCT ON (skein_tile) skein_tile, %s FROM "
	    "(SELECT %s, pg_catalog.ntile(%zu) OVER (ORDER BY %s) AS skein_tile "
	    "FROM %s WHERE %s) s ORDER BY skein_tile, %s) x ORDER BY skein_tile",
	    r->key_text, r->key_cols, r->key_cols, nw, r->key_cols, r->b->table,
	    range, r->key_desc);
	free(range);
	res = NULL;
	rc = sk_pg_exec(conn, "split the key range", sql, &res, err);
	free(sql);
	for (int i = 0; rc == SK_OK && i < PQntuples(res) && (size_t)i < nw; i++) {
		rc = agent_keyval_from(&bounds[i], &r->key, res, i, 0, err);
		*nb = (size_t)i + 1;
	}
	PQclear(res);
	return rc;
}

/* Fix the key range and record one checkpoint row per worker, in one
 * transaction. */
static int
start(bf_run *r, sk_err *err)
{
	const agent_db_ctx *c = r->s->c;
	size_t nw = c->pooled ? 1 : r->b->tuning.workers, nb = 0, ncp;
	agent_keyval hi = { 0 }, *bounds;
	agent_checkpoint *cp;
	int rc;

	bounds = calloc(nw + 1, sizeof(*bounds));
	cp = calloc(nw + 1, sizeof(*cp));
	if (bounds == NULL || cp == NULL) {
		free(bounds);
		free(cp);
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	}
	rc = agent_tx_begin(c, r->s->a.limits, err);
	if (rc == SK_OK)
		rc = find_bounds(r, nw, &hi, bounds, &nb, err);
	if (rc == SK_OK)
		rc = estimate(r, err);
	ncp = nb > 1 ? nb : 1;
	for (size_t i = 0; rc == SK_OK && i < ncp; i++) {
		cp[i].worker = (int)i;
		cp[i].rows_total = r->rows_total;
		cp[i].done = !hi.set;
		if (i > 0)
			rc = agent_keyval_copy(
			    &cp[i].lo, &bounds[i - 1], r->key.n, err);
		if (rc == SK_OK && hi.set)
			rc = agent_keyval_copy(&cp[i].hi,
			    i + 1 < ncp ? &bounds[i] : &hi, r->key.n, err);
	}
	if (rc == SK_OK)
		rc = agent_checkpoint_create(c->conn, &r->id, &r->key, cp, ncp, err);
	if (rc == SK_OK)
		rc = sk_pg_exec(c->conn, "commit", "COMMIT", NULL, err);
	if (rc != SK_OK)
		agent_tx_rollback(c->conn);
	agent_checkpoints_free(cp, ncp);
	for (size_t i = 0; i < nw; i++)
		agent_keyval_fini(&bounds[i]);
	free(bounds);
	agent_keyval_fini(&hi);
	return rc;
}

static void
run_init(bf_run *r, agent_step_run *s, const sk_backfill *b)
{
	const agent_db_ctx *c = s->c;

	memset(r, 0, sizeof(*r));
	r->s = s;
	r->b = b;
	snprintf(r->rollout_id, sizeof(r->rollout_id), "%s",
	    c->rollout_id != NULL ? c->rollout_id : "");
	r->id.plan_name = c->plan->name;
	r->id.step_id = s->step->id;
	r->id.checksum_hex = c->hex[s->i];
	r->id.rollout_id = r->rollout_id;
	pthread_mutex_init(&r->mu, NULL);
	r->rate = b->tuning.max_rows_per_second;
	r->bmin = b->tuning.batch_min;
	r->bmax = b->tuning.batch_max;
	atomic_init(&r->pause, AGENT_BF_RUNNING);
	atomic_init(&r->quit, 0);
	atomic_init(&r->rows_done, 0);
	atomic_init(&r->rows_scanned, 0);
	atomic_init(&r->batches, 0);
}

static void
run_fini(bf_run *r)
{
	agent_checkpoints_free(r->cps, r->ncps);
	free(r->w);
	agent_key_fini(&r->key);
	free(r->key_cols);
	free(r->key_desc);
	free(r->key_text);
	pthread_mutex_destroy(&r->mu);
}

/* ---- running ------------------------------------------------------------- */

/* Start a worker for each unfinished range, watch the throttles and
 * report progress until every worker has finished; the first worker's
 * error wins. */
static int
watch_workers(bf_run *r, sk_err *err)
{
	int64_t last_db = 0, last_emit = 0, last_tick = sk_mono_ms();
	bf_progress prog = { 0 };
	int64_t seen_batches = -1;
	bool all;
	int rc = SK_OK;

	r->w = calloc(r->ncps + 1, sizeof(*r->w));
	if (r->w == NULL)
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	r->nw = r->ncps;
	bf_throttle_poll(r, &last_db);
	for (size_t i = 0; i < r->ncps; i++) {
		bf_worker *w = &r->w[i];

		w->run = r;
		w->cp = &r->cps[i];
		w->size = r->bmin;
		w->limits = *r->s->step;
		/* A batch that takes many times its target is cut short and
		 * split, unless the step asks for less. */
		w->limits.statement_timeout_ms =
		    r->b->tuning.batch_target_ms * 25 > 10000 ?
		    r->b->tuning.batch_target_ms * 25 :
		    10000;
		if (r->s->step->statement_timeout_ms > 0 &&
		    r->s->step->statement_timeout_ms < w->limits.statement_timeout_ms)
			w->limits.statement_timeout_ms =
			    r->s->step->statement_timeout_ms;
		atomic_init(&w->finished, w->cp->done ? 1 : 0);
		if (w->cp->done)
			continue;
		if (pthread_create(&w->thread, NULL, bf_worker_main, w) != 0) {
			atomic_store(&r->quit, 1);
			atomic_store(&w->finished, 1);
			rc = sk_err_set(err, SK_ENOMEM, "cannot start a backfill worker");
			break;
		}
		w->started = true;
	}
	for (;;) {
		int64_t now = sk_mono_ms();
		int reason;

		all = true;
		for (size_t i = 0; i < r->nw; i++)
			all = all && atomic_load(&r->w[i].finished);
		if (all)
			break;
		if (agent_db_stopped(r->s->c))
			atomic_store(&r->quit, 1);
		bf_throttle_poll(r, &last_db);
		reason = atomic_load(&r->pause);
		if (reason != AGENT_BF_RUNNING) {
			pthread_mutex_lock(&r->mu);
			r->waited_ms[reason] += now - last_tick;
			pthread_mutex_unlock(&r->mu);
		}
		last_tick = now;
		/* Each batch or every second, whichever is rarer; a pause is
		 * reported within a second too. */
		if (now - last_emit >= PROGRESS_MS &&
		    (atomic_load(&r->batches) != seen_batches ||
			reason != AGENT_BF_RUNNING)) {
			seen_batches = atomic_load(&r->batches);
			bf_emit_progress(r, &prog);
			last_emit = now;
		}
		sk_sleep_ms(WATCH_MS);
	}
	for (size_t i = 0; i < r->nw; i++) {
		bf_worker *w = &r->w[i];

		if (w->started)
			pthread_join(w->thread, NULL);
		if (w->rc != SK_OK && rc == SK_OK) {
			*err = w->err;
			rc = w->rc;
		}
	}
	return rc;
}

/* Whether every worker's range is done. */
static bool
all_done(const bf_run *r)
{
	for (size_t i = 0; i < r->ncps; i++)
		if (!r->cps[i].done)
			return false;
	return true;
}

/* The step's figures for its report and ledger row, from the
 * checkpoints as loaded plus what this run did. */
static void
figures(bf_run *r, const int64_t before[3])
{
	agent_step_run *s = r->s;

	s->rows = before[0] + atomic_load(&r->rows_done);
	s->rows_scanned = before[1] + atomic_load(&r->rows_scanned);
	s->batches = before[2] + atomic_load(&r->batches);
	s->rows_total = r->rows_total;
	s->throttled_ms = r->prior_throttled_ms + bf_throttled_ms(r);
	bf_waited_format(r, s->throttled_by, sizeof(s->throttled_by));
}

int
agent_backfill_apply(agent_step_run *s, const sk_backfill *b,
    const agent_backfill_hooks *h, sk_err *err)
{
	const agent_db_ctx *c = s->c;
	int64_t before[3] = { 0, 0, 0 };
	bf_run r;
	int rc;

	run_init(&r, s, b);
	rc = check(&r, false, err);
	if (rc == SK_OK)
		rc = agent_checkpoint_load(
		    c->conn, &r.id, &r.key, &r.cps, &r.ncps, err);
	if (rc == SK_OK && r.ncps == 0) {
		rc = start(&r, err);
		if (rc == SK_OK)
			rc = agent_checkpoint_load(
			    c->conn, &r.id, &r.key, &r.cps, &r.ncps, err);
	} else if (rc == SK_OK) {
		agent_step_note(s, "resumed from its checkpoint", "");
	}
	if (rc != SK_OK)
		goto out;
	for (size_t i = 0; i < r.ncps; i++) {
		before[0] += r.cps[i].rows_done;
		before[1] += r.cps[i].rows_scanned;
		before[2] += r.cps[i].batches;
		r.prior_throttled_ms += r.cps[i].throttled_ms;
		if (r.cps[i].worker == 0)
			r.rows_total = r.cps[i].rows_total;
	}
	memcpy(r.prior, before, sizeof(r.prior));
	if (!all_done(&r))
		rc = watch_workers(&r, err);
	figures(&r, before);
	if (rc != SK_OK)
		goto out;
	if (!all_done(&r)) {
		/* Stopped at a batch boundary: the checkpoints say where to
		 * pick up. */
		s->a.stopped = true;
		rc = sk_err_set(err, SK_ESTATE, "stopped at a batch boundary");
		goto out;
	}
	rc = agent_step_begin(s, err);
	if (rc == SK_OK)
		rc = agent_step_checks(s, s->step->post, s->step->npost, "post", err);
	if (rc == SK_OK && h != NULL && h->finish != NULL)
		rc = h->finish(s, h->arg, err);
	if (rc == SK_OK)
		rc = agent_step_record(s, true, err);
	if (rc == SK_OK)
		rc = agent_step_commit(s, err);
	if (rc != SK_OK)
		agent_tx_rollback(c->conn);
out:
	run_fini(&r);
	return rc;
}

/* ---- rehearsal ----------------------------------------------------------- */

int
agent_backfill_rehearse(agent_step_run *s, const sk_backfill *b, sk_err *err)
{
	agent_keyval hi = { 0 }, none = { 0 };
	bf_batch got = { 0 };
	char note[200], what[96];
	int64_t keys, changed, t0, ms, per_batch, batches;
	double secs;
	size_t nb = 0;
	bf_run r;
	int rc;

	run_init(&r, s, b);
	rc = check(&r, true, err);
	if (rc == SK_OK)
		rc = find_bounds(&r, 1, &hi, NULL, &nb, err);
	if (rc == SK_OK)
		rc = estimate(&r, err);
	if (rc != SK_OK || !hi.set) {
		if (rc == SK_OK)
			agent_step_note(
			    s, "the table is empty: nothing to backfill", "");
		goto out;
	}
	t0 = sk_mono_ms();
	rc = bf_batch_work(
	    &r, &s->a, s->c->conn, s->pid, &none, &hi, r.bmin, &got, err);
	/* A rehearsal does not retry: a lock timeout names its blocker. */
	if (rc != SK_OK && agent_err_is_lock_timeout(err)) {
		snprintf(what, sizeof(what), "lock timeout after %" PRId64 " ms",
		    s->a.limits->lock_timeout_ms);
		agent_attempts_lock_error(&s->a, what, err);
		rc = err->code;
	}
	keys = got.keys;
	changed = got.changed;
	s->rows = changed;
	if (rc != SK_OK)
		goto out;
	ms = sk_mono_ms() - t0;
	/* At this speed: batches grow toward the target, the rate caps. */
	per_batch = keys;
	if (ms > 0 && keys > 0)
		per_batch = (int64_t)((double)keys *
		    (double)b->tuning.batch_target_ms / (double)ms);
	if (per_batch < r.bmin)
		per_batch = r.bmin;
	if (per_batch > r.bmax)
		per_batch = r.bmax;
	batches = (r.rows_total + per_batch - 1) / per_batch;
	secs = keys > 0 ? (double)r.rows_total * (double)ms / (double)keys / 1000.0 : 0;
	if (r.rate > 0 && (double)r.rows_total / r.rate > secs)
		secs = (double)r.rows_total / r.rate;
	snprintf(note, sizeof(note),
	    "first batch: %" PRId64 " rows changed of %" PRId64 " in %" PRId64
	    " ms; about %" PRId64 " rows in %" PRId64 " batches, about %.0f s",
	    changed, keys, ms, r.rows_total, batches, ceil(secs));
	agent_step_note(s, note, "");
	s->rows_total = r.rows_total;
	s->batches = 1;
	s->rows_scanned = keys;
out:
	agent_keyval_fini(&hi);
	agent_keyval_fini(&got.last);
	run_fini(&r);
	return rc;
}

void
agent_backfill_scripts(const sk_backfill *b,
    void (*fn)(void *arg, const char *sql, const char *what), void *arg)
{
	char *sql = NULL;
	sk_err err;

	if (sk_backfill_statement(b, "true", &sql, &err) == SK_OK)
		fn(arg, sql, "update");
	free(sql);
}

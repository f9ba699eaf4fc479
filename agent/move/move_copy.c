/* move_copy: a move's copy with several tables at once (parallel > 1,
 * docs/moves.md "The phases", 3). Each worker is a thread with a target
 * connection and a source side of its own, the source's copies in one
 * exported snapshot; each table commits in its own target transaction,
 * after the moved tables it references committed (unless replica
 * sessions skip the foreign keys). The engine's thread reports. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_failpoint.h"
#include "move_int.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_util.h"

int
move_copy_next(size_t n, const bool *deps, bool ordered, const bool *started,
    const bool *committed)
{
	bool in_flight = false;
	int first = MOVE_COPY_NONE;

	for (size_t i = 0; i < n; i++) {
		bool ready = true;

		if (started[i]) {
			in_flight |= !committed[i];
			continue;
		}
		if (first == MOVE_COPY_NONE)
			first = (int)i;
		for (size_t j = 0; ordered && j < n; j++)
			if (j != i && deps[i * n + j] && !committed[j])
				ready = false;
		if (ready)
			return (int)i;
	}
	if (first == MOVE_COPY_NONE)
		return MOVE_COPY_NONE;
	return in_flight ? MOVE_COPY_WAIT : first;
}

/* What the workers share, under mu. */
typedef struct job {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Workers open their links one at a time: the source takes at most
	 * 4 links in their handshake at once and refuses more. */
	pthread_mutex_t open_mu;
	const move_run *r;
	const Skein__V1__MoveDescription *d;
	const move_source_ops *src;
	void *src_arg;
	const char *exported;
	size_t n;
	bool *deps, *started, *committed, ordered;
	int workers, opened, exited;
	int64_t rows, bytes;
	/* max_copy_rate, over all workers: since t0, paced bytes */
	int64_t t0, paced;
	const char *table; /* the last table started and not yet done */
	bool changed;      /* a table started or ended: report now */
	bool failed, crashed;
	sk_err err; /* the first error */
} job;

typedef struct worker {
	job *j;
	int no;
	pthread_t th;
	bool started;
	PGconn *conn;
	move_target *t;
	const move_source_ops *ops;
	void *arg;
} worker;

static bool
stopped(const job *j)
{
	return j->r->stop != NULL && *j->r->stop != 0;
}

/* Under mu: keep the first error; the others stop at their next chunk. */
static void
fail_locked(job *j, const sk_err *err, bool crashed)
{
	if (!j->failed) {
		j->failed = true;
		j->crashed = crashed;
		j->err = *err;
	}
	pthread_cond_broadcast(&j->cv);
}

void
move_pace_until(int64_t due, bool (*quit)(void *arg), void *arg)
{
	for (;;) {
		int64_t ahead = due - sk_mono_ms();

		if (ahead <= 0 || quit(arg))
			return;
		sk_sleep_ms(ahead < 100 ? ahead : 100);
	}
}

static bool
job_quits(void *arg)
{
	job *j = arg;
	bool quit;

	pthread_mutex_lock(&j->mu);
	quit = j->failed || stopped(j);
	pthread_mutex_unlock(&j->mu);
	return quit;
}

/* max_copy_rate over every worker: a worker ahead of the shared rate
 * waits. */
static void
pace(job *j, int64_t len)
{
	int64_t rate = j->r->spec->m->max_copy_bytes_per_s, due;

	if (rate <= 0)
		return;
	pthread_mutex_lock(&j->mu);
	j->paced += len;
	due = j->t0 + j->paced * 1000 / rate;
	pthread_mutex_unlock(&j->mu);
	move_pace_until(due, job_quits, j);
}

typedef struct sink_arg {
	worker *w;
	const char *table;
	int64_t bytes;
} sink_arg;

static int
sink(void *arg, const uint8_t *data, size_t len, sk_err *err)
{
	sink_arg *s = arg;
	job *j = s->w->j;
	bool failed;

	pthread_mutex_lock(&j->mu);
	failed = j->failed;
	if (!failed)
		j->bytes += (int64_t)len;
	pthread_mutex_unlock(&j->mu);
	if (failed || stopped(j))
		return sk_err_set(err, SK_ESTATE, "copy %s: stopped%s",
		    s->table, failed ? " (another table's copy failed)" : "");
	s->bytes += (int64_t)len;
	pace(j, (int64_t)len);
	return move_target_copy_data(s->w->t, data, len, err);
}

/* One table in one target transaction. */
static int
copy_table(worker *w, const Skein__V1__MoveTable *tbl, int64_t *rows,
    bool *crashed, sk_err *err)
{
	job *j = w->j;
	sink_arg s = { w, tbl->name, 0 };
	int64_t t0 = sk_mono_ms();
	int rc;

	*rows = 0;
	sk_info("move %s: copy worker %d starts %s", j->r->spec->move_id, w->no,
	    tbl->name);
	rc = move_target_copy_table_begin(w->t, err);
	if (rc == SK_OK)
		rc = move_target_copy_start(w->t, tbl, err);
	if (rc == SK_OK)
		rc = w->ops->copy(w->arg, tbl->name, sink, &s, rows, err);
	if (rc == SK_OK)
		rc = move_target_copy_end(w->t, err);
	/* The test seam, one worker at a time, inside the table's
	 * transaction: an error is a simulated death. */
	if (rc == SK_OK && j->r->hook != NULL) {
		pthread_mutex_lock(&j->mu);
		rc = j->r->hook(
		    j->r->hook_arg, MOVE_PHASE_COPY, tbl->name, w->conn, err);
		pthread_mutex_unlock(&j->mu);
		*crashed = rc != SK_OK;
	}
	if (rc == SK_OK)
		rc = move_target_copy_table_commit(w->t, err);
	if (rc != SK_OK) {
		move_target_rollback(w->t);
		return rc;
	}
	sk_info("move %s: copy worker %d committed %s: %" PRId64
		" rows in %" PRId64 " ms",
	    j->r->spec->move_id, w->no, tbl->name, *rows, sk_mono_ms() - t0);
	/* A death with this table committed and others not (kill -9 tests). */
	agent_failpoint("move-copy-committed");
	return SK_OK;
}

static int
worker_open(worker *w, sk_err *err)
{
	job *j = w->j;
	int rc;

	/* Each table is one transaction: a transaction pooler is no harm. */
	rc = j->r->target_pooled ?
	    sk_pg_connect_pooled(
		j->r->target_conninfo, "skein-move-copy", &w->conn, err) :
	    sk_pg_connect(j->r->target_conninfo, "skein-move-copy", &w->conn, err);
	if (rc == SK_OK)
		rc = move_target_open_copy(w->conn, j->r->spec, j->d, &w->t, err);
	if (rc == SK_OK)
		rc = j->src->worker(j->src_arg, j->exported, &w->ops, &w->arg, err);
	return rc;
}

static void *
worker_main(void *arg)
{
	worker *w = arg;
	job *j = w->j;
	sk_err err;
	int rc;

	sk_err_clear(&err);
	pthread_mutex_lock(&j->open_mu);
	rc = worker_open(w, &err);
	pthread_mutex_unlock(&j->open_mu);
	pthread_mutex_lock(&j->mu);
	if (rc != SK_OK) {
		/* Fewer workers, not a failed copy, while one is left. */
		sk_warn("move %s: copy worker %d: %s", j->r->spec->move_id,
		    w->no, err.msg);
		if (j->opened == 0 && j->exited + 1 == j->workers)
			fail_locked(j, &err, false);
	} else {
		j->opened++;
	}
	while (rc == SK_OK) {
		const Skein__V1__MoveTable *tbl;
		bool crashed = false;
		int64_t rows = 0;
		int i = MOVE_COPY_WAIT;

		while (!j->failed && !stopped(j) &&
		    (i = move_copy_next(j->n, j->deps, j->ordered, j->started,
			 j->committed)) == MOVE_COPY_WAIT) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&j->cv, &j->mu, &ts);
		}
		if (j->failed || i == MOVE_COPY_NONE)
			break;
		if (stopped(j)) {
			sk_err_set(&err, SK_ESTATE, "copy: stopped");
			fail_locked(j, &err, false);
			break;
		}
		tbl = j->d->tables[i];
		j->started[i] = true;
		j->table = tbl->name;
		j->changed = true;
		pthread_cond_broadcast(&j->cv);
		pthread_mutex_unlock(&j->mu);
		rc = copy_table(w, tbl, &rows, &crashed, &err);
		pthread_mutex_lock(&j->mu);
		if (rc != SK_OK) {
			fail_locked(j, &err, crashed);
			break;
		}
		j->committed[i] = true;
		j->rows += rows;
		if (j->table == tbl->name)
			j->table = NULL;
		j->changed = true;
		pthread_cond_broadcast(&j->cv);
	}
	j->exited++;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

static void
worker_close(worker *w)
{
	if (w->ops != NULL)
		w->ops->close(w->arg);
	if (w->t != NULL)
		move_target_rollback(w->t);
	free(w->t);
	if (w->conn != NULL)
		PQfinish(w->conn);
}

int
move_copy_parallel(const move_run *r, const Skein__V1__MoveDescription *d,
    const move_source_ops *src, void *src_arg, const char *exported,
    move_target *t, int n, void (*tick)(void *arg, const move_copy_stats *st),
    void *tick_arg, bool *crashed, sk_err *err)
{
	job j = { .r = r, .d = d, .src = src, .src_arg = src_arg, .exported = exported };
	worker *ws = NULL;
	move_copy_stats st = { 0 };
	bool replica = false;
	int rc;

	*crashed = false;
	j.n = d->n_tables;
	if (n > (int)j.n)
		n = (int)j.n;
	j.deps = calloc(j.n * j.n + 1, sizeof(*j.deps));
	j.started = calloc(j.n + 1, sizeof(*j.started));
	j.committed = calloc(j.n + 1, sizeof(*j.committed));
	ws = calloc((size_t)n + 1, sizeof(*ws));
	if (j.deps == NULL || j.started == NULL || j.committed == NULL || ws == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "copy: out of memory");
		goto out;
	}
	/* What a cut copy committed goes first, in a transaction of its own
	 * (the workers' tables commit each in theirs). */
	rc = move_target_copy_clear(t, &replica, err);
	if (rc == SK_OK && !replica)
		rc = move_target_copy_deps(t, j.deps, err);
	if (rc != SK_OK)
		goto out;
	j.ordered = !replica;
	sk_info("move %s: copying %zu tables, %d at once%s", r->spec->move_id, j.n,
	    n, replica ? " (replica sessions, any order)" : " (parents first)");
	pthread_mutex_init(&j.mu, NULL);
	pthread_mutex_init(&j.open_mu, NULL);
	pthread_cond_init(&j.cv, NULL);
	j.t0 = sk_mono_ms();
	j.workers = n;
	pthread_mutex_lock(&j.mu);
	for (int i = 0; i < n; i++) {
		ws[i].j = &j;
		ws[i].no = i + 1;
		ws[i].started =
		    pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) == 0;
		if (!ws[i].started) {
			j.exited++; /* counted as a worker that could not open */
			if (i == 0) {
				sk_err_set(err, SK_ENOMEM,
				    "copy: no thread for a worker");
				fail_locked(&j, err, false);
			}
		}
	}
	/* Report from this thread until every worker is gone. */
	while (j.exited < j.workers) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		if (!j.changed)
			pthread_cond_timedwait(&j.cv, &j.mu, &ts);
		j.changed = false;
		st.rows = j.rows;
		st.bytes = j.bytes;
		st.table = j.table;
		pthread_mutex_unlock(&j.mu);
		tick(tick_arg, &st);
		pthread_mutex_lock(&j.mu);
	}
	pthread_mutex_unlock(&j.mu);
	for (int i = 0; i < n; i++) {
		if (ws[i].started)
			pthread_join(ws[i].th, NULL);
		worker_close(&ws[i]);
	}
	st.rows = j.rows;
	st.bytes = j.bytes;
	st.table = NULL;
	tick(tick_arg, &st);
	rc = SK_OK;
	if (j.failed) {
		*err = j.err;
		*crashed = j.crashed;
		rc = j.err.code != SK_OK ? j.err.code : SK_EIO;
	}
	for (size_t i = 0; rc == SK_OK && i < j.n; i++)
		if (!j.committed[i])
			rc = sk_err_set(err, SK_ESTATE,
			    "copy: table %s was not copied", d->tables[i]->name);
	pthread_cond_destroy(&j.cv);
	pthread_mutex_destroy(&j.open_mu);
	pthread_mutex_destroy(&j.mu);
out:
	free(j.deps);
	free(j.started);
	free(j.committed);
	free(ws);
	return rc;
}

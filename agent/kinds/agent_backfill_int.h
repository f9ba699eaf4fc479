/* agent_backfill_int: what the files of the backfill engine share —
 * agent_backfill.c (start, resume, the database thread's watch, finish),
 * agent_backfill_batch.c (the workers and their batches) and
 * agent_backfill_throttle.c (throttles and progress). Internal to them.
 */
#ifndef AGENT_BACKFILL_INT_H
#define AGENT_BACKFILL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent_backfill.h"
#include "agent_checkpoint.h"
#include "agent_keyset.h"
#include "agent_watch.h"

typedef struct bf_run bf_run;

/* One worker: a connection of its own over one key range. */
typedef struct bf_worker {
	bf_run *run;
	agent_checkpoint *cp; /* its row, owned by run->cps */
	PGconn *conn;
	agent_db_ctx ctx; /* the step's, with conn and watch its own */
	agent_watch watch;
	sk_step limits; /* the step's, with the batch's statement timeout */
	int64_t size;   /* rows in its next batch */
	uint64_t tune_seq;
	pthread_t thread;
	bool started;
	atomic_int finished;
	int rc;
	sk_err err;
} bf_worker;

struct bf_run {
	agent_step_run *s;
	const sk_backfill *b;
	agent_backfill_id id;
	char rollout_id[64];
	agent_key key;
	char *key_cols; /* "k1, k2" */
	char *key_desc; /* "k1 DESC, k2 DESC" */
	char *key_text; /* "k1::text AS skein_k0, ..." */
	agent_checkpoint *cps;
	size_t ncps;
	bf_worker *w;
	size_t nw;
	int64_t rows_total;
	/* What earlier runs did, from the checkpoints as loaded: rows
	 * changed, keys covered, batches. */
	int64_t prior[3];
	int64_t prior_throttled_ms; /* time earlier runs waited */
	pthread_mutex_t mu;
	/* Under mu: the limits in force (the plan's, tuned), the time before
	 * which no batch may start (rate), time waited by reason. */
	double rate;
	int64_t bmin, bmax;
	int64_t next_ok_ms;
	int64_t waited_ms[AGENT_BF_NREASONS];
	/* Of the time waited, how much a batch has claimed to add to its
	 * checkpoint row (bf_throttled_claim). */
	int64_t claimed_ms;
	char why[128]; /* the reason in words while paused */
	/* The database thread's own: the database's reason to wait at its
	 * last look, and its words. */
	int db_reason;
	char db_why[128];
	atomic_int pause; /* enum agent_bf_reason */
	atomic_int quit;  /* stop at the next boundary: stopped or failed */
	atomic_llong rows_done, rows_scanned, batches;
};

/* What a batch found and did. */
typedef struct bf_batch {
	int64_t keys;      /* keys in the batch (0: the range is done) */
	int64_t changed;   /* rows the UPDATE changed */
	agent_keyval last; /* the batch's last key (fini it) */
	char range[160];   /* "after (lo) up to (hi)", for errors */
} bf_batch;

/* agent_backfill_batch.c: one batch's work in conn's open transaction
 * (pid its backend, 0 unknown), watched through a: find the batch's last
 * key, at most size keys after lo up to hi, and run the UPDATE over them
 * (nothing when there are none). Errors as agent_attempts_sql. */
int bf_batch_work(const bf_run *r, agent_attempts *a, PGconn *conn, int pid,
    const agent_keyval *lo, const agent_keyval *hi, int64_t size, bf_batch *b,
    sk_err *err);

/* agent_backfill_batch.c: the worker's thread (arg: bf_worker). */
void *bf_worker_main(void *arg);

/* agent_backfill_batch.c: the SELECT that finds a batch's last key and
 * its size: "WITH b AS (SELECT key FROM table WHERE range ORDER BY key
 * LIMIT size) SELECT count(*) OVER (), key::text FROM b ORDER BY key
 * DESC LIMIT 1". A new string; NULL when out of memory. */
char *bf_batch_select(const bf_run *r, PGconn *conn, const agent_keyval *lo,
    const agent_keyval *hi, int64_t size);

/* agent_backfill_throttle.c: look at the throttles (operator and
 * coordinator every call, the database's at most once a second, on the
 * step's connection) and set r->pause and r->why. */
void bf_throttle_poll(bf_run *r, int64_t *last_db_check_ms);

/* agent_backfill_throttle.c: the time this run waited, all reasons. */
int64_t bf_throttled_ms(bf_run *r);

/* agent_backfill_throttle.c: claim the time waited that no batch has
 * added to the checkpoints yet, for the batch about to commit; give it
 * back (bf_throttled_unclaim) when that batch does not commit. */
int64_t bf_throttled_claim(bf_run *r);
void bf_throttled_unclaim(bf_run *r, int64_t ms);

/* agent_backfill_throttle.c: the PROGRESS report of r now; *last holds
 * the figures of the previous one, for the rate. */
typedef struct bf_progress {
	int64_t at_ms;
	int64_t scanned;
	int64_t batches;
	double rate;
} bf_progress;
void bf_emit_progress(bf_run *r, bf_progress *last);

/* agent_backfill_throttle.c: "rate=ms,lag=ms,..." of r's waits. */
void bf_waited_format(bf_run *r, char *buf, size_t len);

/* agent_backfill_throttle.c: the throttle query's one check before the
 * backfill starts: it runs and returns one boolean. */
int bf_throttle_query_check(bf_run *r, sk_err *err);

#endif

/* agent_checkpoint: where each backfill stands, in the ledger
 * (skein.backfills, agent_ledger.h): one row per worker with its key
 * range, fixed when the backfill starts, and its checkpoint, the last key
 * of its last committed batch. A batch advances its worker's row in the
 * batch's own transaction, from the key it started after: a batch is
 * applied exactly when its checkpoint moves, so no batch is applied twice
 * or skipped, whatever kills the agent or the database when.
 *
 * Key values are stored as text[] in key column order. Functions are as
 * thread-safe as the connection they are given.
 */
#ifndef AGENT_CHECKPOINT_H
#define AGENT_CHECKPOINT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_keyset.h"
#include "sk_err.h"

/* Which backfill: the ledger's step identity and the step's checksum. */
typedef struct agent_backfill_id {
	const char *plan_name;
	const char *step_id;
	const char *checksum_hex;
	const char *rollout_id; /* the rollout that starts it */
} agent_backfill_id;

/* One worker's row. */
typedef struct agent_checkpoint {
	int worker;
	bool done;
	agent_keyval lo; /* range start, exclusive; not set: the table's first key */
	agent_keyval hi;   /* range end, inclusive; not set: nothing to do */
	agent_keyval last; /* the next batch starts after it; not set: after lo */
	int64_t rows_total; /* worker 0: rows in the whole key range, estimated */
	int64_t rows_done;    /* rows its batches changed */
	int64_t rows_scanned; /* keys its batches covered */
	int64_t batches;
	int64_t throttled_ms;
} agent_checkpoint;

/* The rows of backfill id, by worker, into *out / *n (n 0: it never
 * started; *out NULL). SK_EDRIFT when they belong to another checksum
 * (the backfill was changed after it started), SK_ESTATE when key k is
 * not the key they were made with; database errors as sk_pg_execp. Free
 * with agent_checkpoints_free. */
int agent_checkpoint_load(PGconn *conn, const agent_backfill_id *id,
    const agent_key *k, agent_checkpoint **out, size_t *n, sk_err *err) SK_WARN_UNUSED;

/* Insert the rows of a starting backfill (cp[i].worker, lo, hi, last not
 * set, rows_total on worker 0), in the caller's open transaction. */
int agent_checkpoint_create(PGconn *conn, const agent_backfill_id *id,
    const agent_key *k, const agent_checkpoint *cp, size_t n, sk_err *err) SK_WARN_UNUSED;

/* In the batch's open transaction: move worker's checkpoint from `from`
 * (its last key as loaded; not set: none yet) to `to` (not set: keep),
 * adding rows, scanned and throttled_ms, counting a batch when counted,
 * and setting done. SK_ESTATE "the checkpoint of worker W moved
 * meanwhile" when the row is not at `from` (another agent ran the batch):
 * the caller rolls back. */
int agent_checkpoint_advance(PGconn *conn, const agent_backfill_id *id,
    const agent_key *k, int worker, const agent_keyval *from,
    const agent_keyval *to, int64_t rows, int64_t scanned, bool counted,
    bool done, int64_t throttled_ms, sk_err *err) SK_WARN_UNUSED;

/* Delete the checkpoints of plan_name's step_id (NULL: of every step of
 * the plan), in the open transaction or on their own: a reverted or
 * rolled-back backfill starts from the beginning when applied again. */
int agent_checkpoint_forget(PGconn *conn, const char *plan_name,
    const char *step_id, sk_err *err) SK_WARN_UNUSED;

void agent_checkpoints_free(agent_checkpoint *cp, size_t n);

#endif

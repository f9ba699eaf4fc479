/* agent_backfill: the engine of a backfill (docs/backfills.md), for the
 * backfill and expand kinds: an UPDATE applied in batches of the table's
 * key, each in its own short transaction together with its checkpoint
 * (agent_checkpoint.h), so that it resumes after any crash with no batch
 * applied twice or skipped.
 *
 *   - The key range is fixed when it starts (the table's last key then),
 *     so it ends under any insert load; rows inserted later are the
 *     application's (or an expand's trigger's) business.
 *   - Batches run on `workers` connections of their own, each over a
 *     disjoint part of the range; their size follows a target duration
 *     (doubling at most, halving at least, per batch), halving on a
 *     statement timeout.
 *   - Between batches they wait while any throttle holds: the operator's
 *     pause, the coordinator silent longer than dead_man, replication lag
 *     over its limit, the throttle query returning true, autovacuum on
 *     the table; and they keep to max_rows_per_second together.
 *   - A lock timeout is retried by the retry engine (agent_retry.h), a
 *     batch's failure stops the backfill naming the batch's key range.
 *   - The database's thread (the caller) watches the throttles and
 *     reports progress at most once a second.
 */
#ifndef AGENT_BACKFILL_H
#define AGENT_BACKFILL_H

#include "agent_step.h"
#include "sk_plan.h"

/* Why a backfill waits. */
enum agent_bf_reason {
	AGENT_BF_RUNNING = 0,
	AGENT_BF_OPERATOR,    /* the rollout is paused */
	AGENT_BF_COORDINATOR, /* the coordinator has been silent too long */
	AGENT_BF_LAG,         /* a standby replays too far behind */
	AGENT_BF_QUERY,       /* the throttle query said so */
	AGENT_BF_AUTOVACUUM,  /* autovacuum works on the table */
	AGENT_BF_RATE,        /* keeping to max_rows_per_second */
	AGENT_BF_NREASONS
};

/* The name of a reason in reports ("operator", "coordinator", "lag",
 * "query", "autovacuum", "rate"). */
const char *agent_bf_reason_name(int reason);

/* What a kind built on the engine adds (an expand). */
typedef struct agent_backfill_hooks {
	/* In the transaction that writes the step's ledger row, after its
	 * post-checks and before the row; NULL: nothing. */
	int (*finish)(agent_step_run *s, void *arg, sk_err *err);
	void *arg;
} agent_backfill_hooks;

/* Apply b (step s->step's backfill, or an expand's) to completion,
 * resuming from its checkpoints: the step's pre-checks before anything
 * (in a transaction rolled back), the batches, then in one transaction
 * its post-checks, h's finish (h may be NULL) and its ledger row. A
 * post-check that fails leaves the batches committed and the step not
 * recorded: run again, it checks again. On success s->rows and
 * the step's backfill figures are set. A stop requested meanwhile sets
 * s->a.stopped and fails with SK_ESTATE at a batch boundary (resumed
 * later). SK_EINVAL for a table without a usable key or a fragment the
 * database refuses (an unknown column: "where: column ... does not
 * exist"), with nothing changed; a failed batch's error names its key
 * range and keeps its SQLSTATE, earlier batches staying committed. */
int agent_backfill_apply(agent_step_run *s, const sk_backfill *b,
    const agent_backfill_hooks *h, sk_err *err) SK_WARN_UNUSED;

/* Rehearse b inside the rehearsal's open transaction: check it as apply
 * does, run its first batch (batch_min rows) and note in s->note the
 * rows to scan, the batches and the time it would take at that speed. */
int agent_backfill_rehearse(
    agent_step_run *s, const sk_backfill *b, sk_err *err) SK_WARN_UNUSED;

/* The statement of a batch over b as agent_backfill_apply sends it, for
 * the rehearsal's transaction-control scan: fn(arg, sql, "update"). */
void agent_backfill_scripts(const sk_backfill *b,
    void (*fn)(void *arg, const char *sql, const char *what), void *arg);

#endif

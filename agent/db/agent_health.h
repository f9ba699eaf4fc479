/* agent_health: the database health signals an exit gate samples
 * ("replication_lag", "rollbacks_per_s", "deadlocks", "lock_waits"), read
 * in one database on a connection of the caller's; the one replication
 * lag reading that the backfill's throttle uses too; and the read-only,
 * time-limited transaction every sample runs in. The agent-wide "http"
 * signal is agent_probe's.
 *
 * Deltas ("rollbacks_per_s", "deadlocks") are kept per rollout, phase,
 * database and signal in an agent_health object, which is thread-safe.
 */
#ifndef AGENT_HEALTH_H
#define AGENT_HEALTH_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"

/* How long one health reading or gate check may run (statement_timeout). */
#define AGENT_HEALTH_TIMEOUT_MS 5000

/* The first sample of a delta signal takes its baseline, waits this long
 * and reads again, so that it has a value. */
#define AGENT_HEALTH_BASELINE_MS 500

/* Begin the transaction a sample runs in on conn (outside a transaction):
 * READ ONLY, statement_timeout timeout_ms, search_path public (so that it
 * holds through a transaction pooler too). SK_ESQL or SK_ECONN, with the
 * transaction rolled back, when it cannot. */
int agent_health_begin(PGconn *conn, int timeout_ms, sk_err *err) SK_WARN_UNUSED;

/* End it: COMMIT, so that a sample does not count in the database's
 * xact_rollback; a transaction that failed is rolled back. Never fails
 * (a broken connection shows at its next use). */
void agent_health_end(PGconn *conn);

/* The worst replay lag of a standby of conn's server, in seconds (0: no
 * standby behind). A standby that has replayed all that was sent is not
 * behind, whatever its replay_lag says (it keeps its last value until new
 * WAL comes). Runs in a transaction of its own (agent_health_begin), so
 * conn must be outside one. SK_ESQL or SK_ECONN when the query fails. */
int agent_health_replication_lag(PGconn *conn, double *seconds, sk_err *err) SK_WARN_UNUSED;

/* True if name is a signal agent_health_sample reads (not "http"). */
bool agent_health_is_db_signal(const char *name);

typedef struct agent_health agent_health;

/* A new, empty set of baselines; NULL when out of memory.
 * agent_health_destroy accepts NULL. */
agent_health *agent_health_create(void);
void agent_health_destroy(agent_health *h);

/* One health signal's value now, in the database conn is connected to
 * (outside a transaction), for the rollout, phase and database given:
 *  - "replication_lag": agent_health_replication_lag;
 *  - "rollbacks_per_s": pg_stat_database.xact_rollback per second since
 *    the previous sample of this rollout, phase and database;
 *  - "deadlocks": pg_stat_database.deadlocks since that sample;
 *  - "lock_waits": backends of this database waiting for a lock now
 *    (pg_locks not granted).
 * The first sample of a delta signal (or the first after the statistics
 * were reset) takes its baseline, waits AGENT_HEALTH_BASELINE_MS and reads
 * again. SK_EINVAL for a signal it does not read, SK_ESQL or SK_ECONN when
 * the database does not answer (the baseline is kept). Thread-safe; two
 * threads should not sample the same key at once (the later one's delta
 * would be over a shorter time, nothing worse). */
int agent_health_sample(agent_health *h, PGconn *conn, const char *rollout_id,
    uint32_t phase, const char *database, const char *signal, double *value,
    sk_err *err) SK_WARN_UNUSED;

#endif

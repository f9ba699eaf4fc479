/* agent_watch: who blocks a waiting statement. A second, "monitor"
 * connection to the same database asks pg_blocking_pids about the
 * backend of the statement that waits, so that a lock wait is reported
 * with the session that causes it; the retry engine also asks it about
 * long transactions that hold a step's tables, before it queues for their
 * locks (agent_retry.h). Watching is a courtesy: it never fails a step; a
 * monitor that cannot connect is left alone for a while and tried again,
 * and meanwhile the engine queues as it would without one.
 *
 * Through PgBouncer (pooled) the monitor goes through the pooler too: it
 * runs single statements, each its own transaction, and what it reads
 * (pg_locks, pg_stat_activity) is the same from every server connection.
 *
 * One agent_watch per database, used by that database's thread only.
 */
#ifndef AGENT_WATCH_H
#define AGENT_WATCH_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_locks.h"
#include "sk_wire.h"

typedef struct agent_watch {
	const char *conninfo; /* borrowed; holds secrets: never logged */
	bool pooled;
	char appname[SK_NAME_MAX + 24];
	char where[2 * SK_NAME_MAX + 2]; /* "region/database", for logs */
	/* Opened on first need; never inside a transaction, so that it
	 * cannot hold up CREATE INDEX CONCURRENTLY. */
	PGconn *monitor;
	int64_t retry_at; /* mono ms: do not reconnect before */
} agent_watch;

/* Set w up for the database at conninfo (borrowed; NULL: never watch).
 * Opens nothing yet. */
void agent_watch_init(agent_watch *w, const char *conninfo, bool pooled,
    const char *region, const char *database);

/* Close the monitor connection, if any. Accepts NULL. The watch can be
 * used again (it reconnects). */
void agent_watch_fini(agent_watch *w);

/* The sessions blocking backend pid into out (at most max), oldest
 * transaction first; 0 when nothing blocks pid, pid <= 0, or the monitor
 * could not ask (logged at debug level; a failed connection is retried
 * after a pause). */
size_t agent_watch_blockers(agent_watch *w, int pid, sk_blocker *out, size_t max);

/* The long transactions holding a lock that conflicts with one of targets
 * (agent_long_holders on the monitor) into out, *n of them. Returns false
 * when the monitor could not ask (logged at debug level, as above); then
 * *n is 0. */
bool agent_watch_long_holders(agent_watch *w, const agent_lock_target *targets,
    size_t nt, int64_t min_age_ms, agent_long_xact *out, size_t max, size_t *n);

/* agent_open_xacts on the monitor. Returns false when the monitor could
 * not ask (logged at debug level); then *n is 0. */
bool agent_watch_open_xacts(agent_watch *w, const int *pids, const int64_t *starts,
    size_t np, int64_t min_age_ms, agent_long_xact *out, size_t max, size_t *n);

#endif

/* agent_watch: the monitor connection that names who blocks a waiting
 * statement (agent_blockers on a second session).
 */
#include "agent_watch.h"

#include <stdio.h>
#include <string.h>

#include "agent_locks.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_util.h"

/* How long a monitor that failed to connect is left alone. */
#define MONITOR_RETRY_MS 5000

void
agent_watch_init(agent_watch *w, const char *conninfo, bool pooled,
    const char *region, const char *database)
{
	memset(w, 0, sizeof(*w));
	w->conninfo = conninfo;
	w->pooled = pooled;
	snprintf(w->appname, sizeof(w->appname), "skein-agent/%s/monitor",
	    region != NULL ? region : "-");
	snprintf(w->where, sizeof(w->where), "%s/%s",
	    region != NULL ? region : "-", database != NULL ? database : "-");
}

void
agent_watch_fini(agent_watch *w)
{
	if (w == NULL)
		return;
	PQfinish(w->monitor);
	w->monitor = NULL;
}

/* The monitor connection, opened on first need; NULL while it cannot be
 * (the failure is logged and the next try waits MONITOR_RETRY_MS). */
static PGconn *
monitor(agent_watch *w, const char *what)
{
	sk_err err;
	int rc;

	if (w->conninfo == NULL)
		return NULL;
	if (w->monitor != NULL)
		return w->monitor;
	if (sk_mono_ms() < w->retry_at)
		return NULL;
	if (w->pooled)
		rc = sk_pg_connect_pooled(w->conninfo, w->appname, &w->monitor, &err);
	else
		rc = sk_pg_connect(w->conninfo, w->appname, &w->monitor, &err);
	if (rc != SK_OK) {
		sk_debug("%s in %s: %s", what, w->where, err.msg);
		w->retry_at = sk_mono_ms() + MONITOR_RETRY_MS;
		return NULL;
	}
	return w->monitor;
}

/* After a failed question: log it, and drop a broken connection (the
 * next question opens another). */
static void
failed(agent_watch *w, const char *what, const sk_err *err)
{
	sk_debug("%s in %s: %s", what, w->where, err->msg);
	if (w->monitor != NULL && PQstatus(w->monitor) != CONNECTION_OK) {
		PQfinish(w->monitor);
		w->monitor = NULL;
	}
}

size_t
agent_watch_blockers(agent_watch *w, int pid, sk_blocker *out, size_t max)
{
	char what[48];
	PGconn *conn;
	size_t n = 0;
	sk_err err;

	if (pid <= 0)
		return 0;
	snprintf(what, sizeof(what), "watch pid %d", pid);
	conn = monitor(w, what);
	if (conn == NULL)
		return 0;
	if (agent_blockers(conn, pid, out, max, &n, &err) != SK_OK) {
		failed(w, what, &err);
		return 0;
	}
	return n;
}

bool
agent_watch_long_holders(agent_watch *w, const agent_lock_target *targets,
    size_t nt, int64_t min_age_ms, agent_long_xact *out, size_t max, size_t *n)
{
	static const char what[] = "look for long transactions";
	PGconn *conn = monitor(w, what);
	sk_err err;

	*n = 0;
	if (conn == NULL)
		return false;
	if (agent_long_holders(conn, targets, nt, min_age_ms, out, max, n, &err) != SK_OK) {
		failed(w, what, &err);
		*n = 0;
		return false;
	}
	return true;
}

bool
agent_watch_open_xacts(agent_watch *w, const int *pids, const int64_t *starts,
    size_t np, int64_t min_age_ms, agent_long_xact *out, size_t max, size_t *n)
{
	static const char what[] = "look at long transactions";
	PGconn *conn = monitor(w, what);
	sk_err err;

	*n = 0;
	if (conn == NULL)
		return false;
	if (agent_open_xacts(conn, pids, starts, np, min_age_ms, out, max, n,
		&err) != SK_OK) {
		failed(w, what, &err);
		*n = 0;
		return false;
	}
	return true;
}

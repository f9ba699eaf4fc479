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

size_t
agent_watch_blockers(agent_watch *w, int pid, sk_blocker *out, size_t max)
{
	size_t n = 0;
	sk_err err;
	int rc;

	if (pid <= 0 || w->conninfo == NULL)
		return 0;
	if (w->monitor == NULL) {
		if (sk_mono_ms() < w->retry_at)
			return 0;
		if (w->pooled)
			rc = sk_pg_connect_pooled(
			    w->conninfo, w->appname, &w->monitor, &err);
		else
			rc = sk_pg_connect(w->conninfo, w->appname, &w->monitor, &err);
		if (rc != SK_OK) {
			sk_debug("watch pid %d in %s: %s", pid, w->where, err.msg);
			w->retry_at = sk_mono_ms() + MONITOR_RETRY_MS;
			return 0;
		}
	}
	if (agent_blockers(w->monitor, pid, out, max, &n, &err) != SK_OK) {
		sk_debug("watch pid %d in %s: %s", pid, w->where, err.msg);
		if (PQstatus(w->monitor) != CONNECTION_OK) {
			PQfinish(w->monitor);
			w->monitor = NULL;
		}
		return 0;
	}
	return n;
}

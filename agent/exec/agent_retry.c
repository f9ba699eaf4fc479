/* agent_retry: watched statements, lock-conflict retries with backoff,
 * and the error that names who blocked us (agent_retry.h).
 */
#include "agent_retry.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agent_locks.h"
#include "agent_stmt.h"
#include "sk_pg.h"
#include "sk_util.h"

/* Cap of the pause between lock-conflict retries. */
#define LOCK_BACKOFF_MAX_MS 30000

void
agent_attempts_init(agent_attempts *a, const agent_db_ctx *c,
    const sk_step *limits, const char *step_id)
{
	memset(a, 0, sizeof(*a));
	a->c = c;
	a->limits = limits;
	a->step_id = step_id;
	a->attempt = 1;
	a->rng = (uint64_t)sk_now_us() | 1;
}

void
agent_attempts_emit_lock_wait(
    const agent_attempts *a, const char *detail, const sk_err *err)
{
	sk_report r;

	agent_report_init(&r, SK_EV_LOCK_WAIT, a->step_id, a->attempt);
	r.nblockers = a->nblockers;
	memcpy(r.blockers, a->blockers, a->nblockers * sizeof(*a->blockers));
	r.lock_waits = a->lock_waits;
	r.lock_wait_ms = a->lock_wait_ms;
	if (detail != NULL)
		snprintf(r.detail, sizeof(r.detail), "%s", detail);
	else
		agent_blockers_format(
		    a->blockers, a->nblockers, r.detail, sizeof(r.detail));
	if (err != NULL)
		r.error = *err;
	agent_db_send(a->c, &r);
}

void
agent_attempts_watch(void *arg, int pid)
{
	agent_attempts *a = arg;
	sk_blocker list[SK_BLOCKERS_MAX];
	size_t n;

	if (a->c->watch == NULL)
		return;
	n = agent_watch_blockers(a->c->watch, pid, list, SK_BLOCKERS_MAX);
	if (n == 0)
		return;
	memcpy(a->blockers, list, n * sizeof(*list));
	a->nblockers = n;
	agent_attempts_emit_lock_wait(a, NULL, NULL);
}

int
agent_attempts_sql(agent_attempts *a, PGconn *conn, const char *what,
    const char *sql, int pid, PGresult **out, int64_t *rows, sk_err *err)
{
	return agent_stmt_run(conn, what, sql, a->limits, pid,
	    agent_attempts_watch, a, out, rows, err);
}

void
agent_attempts_lock_error(const agent_attempts *a, const char *what, sk_err *err)
{
	char who[SK_ERR_MSG_MAX / 2], sqlstate[6];

	snprintf(sqlstate, sizeof(sqlstate), "%s", err->sqlstate);
	agent_blockers_format(a->blockers, a->nblockers, who, sizeof(who));
	sk_err_set(err, SK_ELOCK, "%s; %s%s", what,
	    who[0] != '\0' ? "blocked by " : "",
	    who[0] != '\0' ? who : "the blocking session was not seen");
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate);
}

/* The error of a run whose lock conflicts outlasted its retries. */
static int
give_up(const agent_attempts *a, sk_err *err)
{
	char who[SK_ERR_MSG_MAX / 2], sqlstate[6];

	snprintf(sqlstate, sizeof(sqlstate), "%s", err->sqlstate);
	agent_blockers_format(a->blockers, a->nblockers, who, sizeof(who));
	if (agent_err_is_lock_timeout(err))
		sk_err_set(err, SK_ELOCK,
		    "gave up after %" PRIu32 " lock timeout%s of %" PRId64 " ms; %s%s",
		    a->lock_waits, a->lock_waits == 1 ? "" : "s",
		    a->limits->lock_timeout_ms, who[0] != '\0' ? "blocked by " : "",
		    who[0] != '\0' ? who : "the blocking session was not seen");
	else
		sk_err_set(err, SK_ELOCK,
		    "gave up after %" PRIu32 " lock conflicts, the last a %s "
		    "(%s); %s%s",
		    a->lock_waits, agent_err_conflict_name(err), sqlstate,
		    who[0] != '\0' ? "last blocked by " : "",
		    who[0] != '\0' ? who : "no blocking session seen");
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate);
	snprintf(err->detail, sizeof(err->detail),
	    "%" PRIu32 " attempts, %" PRId64 " ms spent waiting for locks",
	    a->attempt, a->lock_wait_ms);
	return SK_ELOCK;
}

int
agent_retry(agent_attempts *a, agent_attempt_fn attempt, void *arg, sk_err *err)
{
	const sk_step *lim = a->limits;
	int64_t delay = lim->retry_backoff_ms > 0 ? lim->retry_backoff_ms : 1;
	int64_t t0, pause;
	char detail[256];
	int rc;

	for (;;) {
		t0 = sk_mono_ms();
		rc = attempt(arg, err);
		/* SK_ELOCK is an engine's verdict (a backfill's batches run
		 * through one of their own): not retried again. */
		if (rc == SK_OK || rc == SK_ELOCK ||
		    sk_pg_err_is_connection(err) || !agent_err_is_retryable(err))
			return rc;
		a->lock_waits++;
		a->lock_wait_ms += sk_mono_ms() - t0;
		if (a->lock_waits > lim->lock_retries)
			return give_up(a, err);
		pause = agent_backoff(&a->rng, &delay, LOCK_BACKOFF_MAX_MS);
		agent_lock_retry_detail(detail, sizeof(detail), err,
		    lim->lock_timeout_ms, a->lock_waits, lim->lock_retries, pause);
		agent_attempts_emit_lock_wait(a, detail, err);
		if (agent_db_sleep_or_stop(a->c, pause)) {
			a->stopped = true;
			return sk_err_set(err, SK_ESTATE,
			    "stopped while waiting to retry a lock timeout");
		}
		a->attempt++;
	}
}

/* agent_retry: watched statements, waits for long transactions that do
 * not queue, lock-conflict retries with backoff, and the error that names
 * who blocked us (agent_retry.h).
 */
#include "agent_retry.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agent_locks.h"
#include "agent_stmt.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_util.h"

/* Cap of the pause between lock-conflict retries. */
#define LOCK_BACKOFF_MAX_MS 30000
/* While waiting for a long transaction without queueing: how often the
 * monitor looks whether it has ended (one read of pg_stat_activity; the
 * change lands at most this much after), and how often it is reported. */
#define LONG_POLL_MS 25
#define LONG_REPORT_MS 1000

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
	a->lock_sql = step_id != NULL ? limits->sql : NULL;
}

void
agent_attempts_lock_sql(agent_attempts *a, const char *sql)
{
	a->lock_sql = sql;
	a->targets_parsed = false;
	a->ntargets = 0;
}

/* a + b and a + n * b, saturating at INT64_MAX / 2 (all >= 0). */
#define BUDGET_TOP (INT64_MAX / 2)

static int64_t
sat_add(int64_t a, int64_t b)
{
	return a >= BUDGET_TOP || b >= BUDGET_TOP - a ? BUDGET_TOP : a + b;
}

static int64_t
sat_add_n(int64_t a, uint32_t n, int64_t b)
{
	if (a >= BUDGET_TOP || (b > 0 && (int64_t)n > (BUDGET_TOP - a) / b))
		return BUDGET_TOP;
	return a + (int64_t)n * b;
}

int64_t
agent_retry_budget_ms(const sk_step *lim)
{
	int64_t delay = lim->retry_backoff_ms > 0 ? lim->retry_backoff_ms : 1;
	int64_t total = 0, each;

	if (lim->lock_timeout_ms <= 0)
		return 0;
	for (uint32_t k = 0; k <= lim->lock_retries; k++) {
		total = sat_add(total, lim->lock_timeout_ms);
		if (k == lim->lock_retries)
			break;
		/* The pause after attempt k + 1 is at most delay; the
		 * doubling follows agent_backoff. */
		total = sat_add(total, delay);
		delay = delay >= LOCK_BACKOFF_MAX_MS / 2 ? LOCK_BACKOFF_MAX_MS :
							   delay * 2;
		if (delay == LOCK_BACKOFF_MAX_MS && k + 1 < lim->lock_retries) {
			/* The rest are alike: one attempt and one capped
			 * pause each, then the last attempt. */
			each = sat_add(lim->lock_timeout_ms, LOCK_BACKOFF_MAX_MS);
			total = sat_add_n(total, lim->lock_retries - k - 1, each);
			return sat_add(total, lim->lock_timeout_ms);
		}
	}
	return total;
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

/* ---- long transactions ------------------------------------------------ */

/* The long transactions holding the step up now: those on its tables
 * (a->targets) and those the last timed-out attempt showed that are still
 * open, into w (*n, at most SK_BLOCKERS_MAX, no pid twice). False when the
 * monitor could not ask. */
static bool
long_xacts_now(agent_attempts *a, agent_long_xact *w, size_t *n)
{
	agent_long_xact more[SK_BLOCKERS_MAX];
	int pids[SK_BLOCKERS_MAX];
	int64_t starts[SK_BLOCKERS_MAX];
	size_t nmore = 0;
	bool dup;

	*n = 0;
	if (a->ntargets > 0 &&
	    !agent_watch_long_holders(a->c->watch, a->targets, a->ntargets,
		a->limits->lock_timeout_ms, w, SK_BLOCKERS_MAX, n))
		return false;
	if (a->nlearned == 0)
		return true;
	for (size_t i = 0; i < a->nlearned; i++) {
		pids[i] = a->learned[i].pid;
		starts[i] = a->learned[i].xact_start_us;
	}
	if (!agent_watch_open_xacts(a->c->watch, pids, starts, a->nlearned, 0,
		more, SK_BLOCKERS_MAX, &nmore))
		return false;
	/* Those that ended are forgotten: their locks went with them. */
	memcpy(a->learned, more, nmore * sizeof(*more));
	a->nlearned = nmore;
	for (size_t i = 0; i < nmore && *n < SK_BLOCKERS_MAX; i++) {
		dup = false;
		for (size_t j = 0; j < *n && !dup; j++)
			dup = w[j].pid == more[i].pid;
		if (!dup)
			w[(*n)++] = more[i];
	}
	return true;
}

/* Of the transactions in w (*n), those still open, in place. False when
 * the monitor could not ask. */
static bool
still_open(agent_attempts *a, agent_long_xact *w, size_t *n)
{
	int pids[SK_BLOCKERS_MAX];
	int64_t starts[SK_BLOCKERS_MAX];

	for (size_t i = 0; i < *n; i++) {
		pids[i] = w[i].pid;
		starts[i] = w[i].xact_start_us;
	}
	return agent_watch_open_xacts(
	    a->c->watch, pids, starts, *n, 0, w, SK_BLOCKERS_MAX, n);
}

/* Name the transactions waited for as the step's blockers. */
static void
set_blockers(agent_attempts *a, const agent_long_xact *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a->blockers[i] = w[i].b;
	a->nblockers = n;
}

/* The error of a run whose long transaction outlasted the budget. */
static int
give_up_long(const agent_attempts *a, int64_t budget, int64_t waited, sk_err *err)
{
	char who[SK_ERR_MSG_MAX / 2], took[32], whole[32];

	agent_blockers_format(a->blockers, a->nblockers, who, sizeof(who));
	sk_duration_format(waited, took, sizeof(took));
	sk_duration_format(budget, whole, sizeof(whole));
	sk_err_set(err, SK_ELOCK,
	    "gave up after waiting %s without queueing for a long transaction "
	    "to end (the step's retry budget, %s: %" PRIu32 " attempt%s of %" PRId64
	    " ms and the backoff between them); blocked by %s",
	    took, whole, a->limits->lock_retries + 1,
	    a->limits->lock_retries == 0 ? "" : "s", a->limits->lock_timeout_ms, who);
	snprintf(err->sqlstate, sizeof(err->sqlstate), "55P03");
	snprintf(err->detail, sizeof(err->detail),
	    "%" PRIu32 " lock timeout%s, %" PRId64 " ms spent waiting for "
	    "locks, %" PRId64 " ms of them without queueing",
	    a->lock_waits, a->lock_waits == 1 ? "" : "s", a->lock_wait_ms,
	    a->unqueued_ms);
	return SK_ELOCK;
}

/* Before an attempt: while a long transaction holds what the step needs,
 * wait for it to end without queueing (agent_retry.h). SK_OK when there
 * is none (any more), or the monitor cannot tell; SK_ELOCK past deadline
 * (mono ms; budget is the whole budget, for the message); SK_ESTATE on a
 * stop. */
static int
wait_out_long_xacts(agent_attempts *a, int64_t deadline, int64_t budget, sk_err *err)
{
	agent_long_xact w[SK_BLOCKERS_MAX];
	int64_t t0 = sk_mono_ms(), now, next_report = 0;
	char detail[256];
	size_t n = 0;
	int rc = SK_OK;

	if (a->limits->lock_timeout_ms <= 0 || a->c->watch == NULL)
		return SK_OK;
	if (!a->targets_parsed) {
		a->ntargets = agent_lock_targets(
		    a->lock_sql, a->targets, AGENT_LOCK_TARGETS_MAX);
		a->targets_parsed = true;
	}
	if (a->ntargets == 0 && a->nlearned == 0)
		return SK_OK;
	/* Each round waits for what the last look found, then looks
	 * again: another long transaction may hold the tables too. */
	while (long_xacts_now(a, w, &n) && n > 0) {
		agent_long_wait_detail(
		    detail, sizeof(detail), w, n, deadline - sk_mono_ms());
		sk_info("%s %s in %s/%s: %s",
		    a->step_id != NULL ? "step" : "phase checks",
		    a->step_id != NULL ? a->step_id : "-",
		    a->c->region != NULL ? a->c->region : "-",
		    a->c->database != NULL ? a->c->database : "-", detail);
		while (n > 0) {
			now = sk_mono_ms();
			set_blockers(a, w, n);
			if (now >= deadline) {
				a->unqueued_ms += now - t0;
				a->lock_wait_ms += now - t0;
				return give_up_long(a, budget, now - t0, err);
			}
			if (now >= next_report) {
				agent_long_wait_detail(detail, sizeof(detail),
				    w, n, deadline - now);
				agent_attempts_emit_lock_wait(a, detail, NULL);
				next_report = now + LONG_REPORT_MS;
			}
			if (agent_db_sleep_or_stop(a->c, LONG_POLL_MS)) {
				a->stopped = true;
				rc = sk_err_set(err, SK_ESTATE,
				    "stopped while waiting for a long "
				    "transaction to end");
				goto out;
			}
			/* The monitor failed: queue as without one. */
			if (!still_open(a, w, &n))
				goto out;
		}
	}
out:
	a->nlearned = 0;
	a->unqueued_ms += sk_mono_ms() - t0;
	a->lock_wait_ms += sk_mono_ms() - t0;
	return rc;
}

/* After a lock timeout: the sessions seen blocking the attempt that are
 * in a transaction open longer than lock_timeout, into a->learned. True
 * when there is one to wait for. */
static bool
learn_long_xacts(agent_attempts *a, const sk_err *err)
{
	int pids[SK_BLOCKERS_MAX];
	size_t np = 0;

	a->nlearned = 0;
	if (!agent_err_is_lock_timeout(err) ||
	    a->limits->lock_timeout_ms <= 0 || a->c->watch == NULL)
		return false;
	for (size_t i = 0; i < a->nblockers && np < SK_BLOCKERS_MAX; i++)
		if (a->blockers[i].pid > 0)
			pids[np++] = a->blockers[i].pid;
	if (np == 0 ||
	    !agent_watch_open_xacts(a->c->watch, pids, NULL, np,
		a->limits->lock_timeout_ms, a->learned, SK_BLOCKERS_MAX, &a->nlearned))
		return false;
	return a->nlearned > 0;
}

int
agent_retry(agent_attempts *a, agent_attempt_fn attempt, void *arg, sk_err *err)
{
	const sk_step *lim = a->limits;
	int64_t delay = lim->retry_backoff_ms > 0 ? lim->retry_backoff_ms : 1;
	int64_t budget = agent_retry_budget_ms(lim);
	int64_t deadline = sk_mono_ms() + budget, t0, took, pause;
	bool again = false;
	char detail[256];
	size_t used;
	int rc;

	for (;;) {
		rc = wait_out_long_xacts(a, deadline, budget, err);
		if (rc != SK_OK)
			return rc;
		/* Counted when it starts: a run that gives up while waiting
		 * reports the attempts it made. */
		if (again)
			a->attempt++;
		again = true;
		t0 = sk_mono_ms();
		rc = attempt(arg, err);
		/* SK_ELOCK is an engine's verdict (a backfill's batches run
		 * through one of their own): not retried again. */
		if (rc == SK_OK || rc == SK_ELOCK ||
		    sk_pg_err_is_connection(err) || !agent_err_is_retryable(err))
			return rc;
		took = sk_mono_ms() - t0;
		a->lock_waits++;
		a->lock_wait_ms += took;
		/* The budget is for waiting: what an attempt spent past one
		 * lock_timeout was its own work (a deadlock late in a long
		 * statement), and does not use it up. */
		if (took > lim->lock_timeout_ms)
			deadline += took - lim->lock_timeout_ms;
		if (a->lock_waits > lim->lock_retries)
			return give_up(a, err);
		if (learn_long_xacts(a, err)) {
			/* No pause: the next attempt follows the end of the
			 * transaction that held this one up. */
			agent_lock_retry_detail(detail, sizeof(detail), err,
			    lim->lock_timeout_ms, a->lock_waits,
			    lim->lock_retries, -1);
			used = strlen(detail);
			snprintf(detail + used, sizeof(detail) - used,
			    "; retrying when pid %d's transaction has ended, "
			    "without queueing meanwhile",
			    a->learned[0].pid);
			agent_attempts_emit_lock_wait(a, detail, err);
			continue;
		}
		pause = agent_backoff(&a->rng, &delay, LOCK_BACKOFF_MAX_MS);
		agent_lock_retry_detail(detail, sizeof(detail), err,
		    lim->lock_timeout_ms, a->lock_waits, lim->lock_retries, pause);
		agent_attempts_emit_lock_wait(a, detail, err);
		if (agent_db_sleep_or_stop(a->c, pause)) {
			a->stopped = true;
			return sk_err_set(err, SK_ESTATE,
			    "stopped while waiting to retry a lock timeout");
		}
	}
}

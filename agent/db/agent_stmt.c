/* agent_stmt: a step's SQL as apply, rehearsal and rollback run it —
 * watched while it waits for locks — and its verify script.
 */
#include "agent_stmt.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_pg.h"
#include "sk_util.h"
#include "sk_wire.h"

/* The first look at a waiting statement, and how often after that. */
#define WATCH_FIRST_MS 200
#define WATCH_EVERY_MS 1000
/* How often a sleeping thread looks at *stop. */
#define STOP_POLL_MS 50

/* The first look comes before lock_timeout fires, so that even a short
 * timeout gets its blocker named: once the statement has failed, nobody
 * waits for the lock any more and pg_blocking_pids has nothing to say. */
static int64_t
first_watch_ms(const sk_step *step)
{
	int64_t ms = WATCH_FIRST_MS;

	if (step != NULL && step->lock_timeout_ms > 0 && step->lock_timeout_ms / 2 < ms)
		ms = step->lock_timeout_ms / 2;
	return ms < 20 ? 20 : ms;
}

/* Add res's rows to *sum (-1: none counted yet). */
static void
add_rows(int64_t *sum, PGresult *res)
{
	int64_t n = agent_stmt_rows(res);

	if (sum != NULL && n >= 0)
		*sum = (*sum < 0 ? 0 : *sum) + n;
}

int
agent_stmt_run(PGconn *conn, const char *what, const char *sql,
    const sk_step *step, int pid, agent_stmt_watch_fn watch, void *arg,
    PGresult **out, int64_t *rows, sk_err *err)
{
	PGresult *res, *last = NULL;
	struct pollfd pfd;
	bool copy = false;
	int64_t next = sk_mono_ms() + first_watch_ms(step), now;
	int rc = SK_OK;

	*out = NULL;
	if (rows != NULL)
		*rows = -1;
	if (!PQsendQuery(conn, sql))
		return sk_pg_error(err, conn, NULL, what);
	for (;;) {
		if (!PQconsumeInput(conn)) {
			rc = sk_pg_error(err, conn, NULL, what);
			goto out;
		}
		while (!PQisBusy(conn)) {
			res = PQgetResult(conn);
			if (res == NULL)
				goto done;
			switch (PQresultStatus(res)) {
			case PGRES_COPY_IN:
			case PGRES_COPY_OUT:
			case PGRES_COPY_BOTH:
				sk_pg_abandon_copy(conn, res);
				copy = true;
				PQclear(res);
				continue;
			default:
				break;
			}
			/* The server runs nothing after an error; keep it. */
			if (last != NULL && PQresultStatus(last) == PGRES_FATAL_ERROR) {
				PQclear(res);
				continue;
			}
			/* Every statement's rows count, not only the last's. */
			if (PQresultStatus(res) != PGRES_FATAL_ERROR)
				add_rows(rows, res);
			PQclear(last);
			last = res;
		}
		now = sk_mono_ms();
		if (now >= next) {
			if (watch != NULL)
				watch(arg, pid);
			next = sk_mono_ms() + WATCH_EVERY_MS;
			continue;
		}
		pfd.fd = PQsocket(conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0) {
			rc = sk_pg_error(err, conn, NULL, what);
			goto out;
		}
		if (poll(&pfd, 1, (int)(next - now)) < 0 && errno != EINTR) {
			rc = sk_err_errno(err, SK_ECONN, errno, "%s: wait for the server",
			    what != NULL ? what : "run SQL");
			goto out;
		}
	}
done:
	if (last == NULL || PQresultStatus(last) == PGRES_COMMAND_OK ||
	    PQresultStatus(last) == PGRES_TUPLES_OK ||
	    PQresultStatus(last) == PGRES_EMPTY_QUERY) {
		if (copy) {
			rc = sk_err_set(err, SK_ESQL,
			    "%s: COPY to or from the client is not supported",
			    what != NULL ? what : "run SQL");
			goto out;
		}
		*out = last;
		return SK_OK;
	}
	rc = sk_pg_error(err, conn, last, what);
out:
	PQclear(last);
	if (rows != NULL)
		*rows = -1;
	return rc;
}

int64_t
agent_stmt_rows(PGresult *res)
{
	const char *s = res != NULL ? PQcmdTuples(res) : "";
	char *end;
	long long n;

	if (s[0] == '\0')
		return -1;
	/* A SELECT's count is rows returned, not rows changed. (CREATE
	 * TABLE AS and SELECT INTO, which write theirs, are COMMAND_OK.) */
	if (PQresultStatus(res) == PGRES_TUPLES_OK &&
	    strncmp(PQcmdStatus(res), "SELECT", 6) == 0)
		return -1;
	n = strtoll(s, &end, 10);
	return *end == '\0' && n >= 0 ? (int64_t)n : -1;
}

int
agent_stmt_verify(PGconn *conn, const sk_step *step, sk_err *err)
{
	const char *name = step->verify_path != NULL ? step->verify_path : "script";
	PGresult *res = NULL;
	char what[SK_NAME_MAX + 64];
	int rc;

	snprintf(what, sizeof(what), "verify %s", name);
	rc = sk_pg_exec(conn, what, step->verify, &res, err);
	if (rc != SK_OK)
		return rc;
	for (int i = 0; i < PQntuples(res); i++) {
		if (PQnfields(res) < 1 || PQgetisnull(res, i, 0) ||
		    strcmp(PQgetvalue(res, i, 0), "t") != 0) {
			rc = sk_err_set(err, SK_ESTATE,
			    "verify %s returned false in row %d (%s = %.64s)", name,
			    i + 1, PQnfields(res) < 1 ? "?" : PQfname(res, 0),
			    PQnfields(res) < 1         ? "no columns" :
				PQgetisnull(res, i, 0) ? "NULL" :
							 PQgetvalue(res, i, 0));
			break;
		}
	}
	PQclear(res);
	return rc;
}

int64_t
agent_backoff(uint64_t *rng, int64_t *delay, int64_t cap)
{
	int64_t cur = *delay > 0 ? *delay : 1, half = cur / 2;
	uint64_t x = *rng != 0 ? *rng : 0x9e3779b97f4a7c15u;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*rng = x;
	*delay = cur >= cap / 2 ? cap : cur * 2;
	return half + (int64_t)(x % (uint64_t)(cur - half + 1));
}

bool
agent_stop_set(atomic_int *stop)
{
	return stop != NULL && atomic_load(stop) != 0;
}

bool
agent_sleep_or_stop(atomic_int *stop, int64_t ms)
{
	int64_t until = sk_mono_ms() + ms, left;

	while (!agent_stop_set(stop)) {
		left = until - sk_mono_ms();
		if (left <= 0)
			return false;
		sk_sleep_ms(left < STOP_POLL_MS ? left : STOP_POLL_MS);
	}
	return true;
}

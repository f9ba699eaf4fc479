/* agent_backfill_throttle: what makes a backfill wait, seen from the
 * database's thread — the operator's pause and the coordinator's silence
 * (agent_control.h) at every look, replication lag, the throttle query
 * and autovacuum on the table at most once a second — the limits the
 * operator tunes, and the progress reports (agent_backfill.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_backfill_int.h"
#include "agent_health.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_util.h"

/* How often the database is asked about lag, the query and autovacuum. */
#define DB_CHECK_MS 1000
/* A throttle query, like every look, may take this long at most. */
#define CHECK_TIMEOUT_MS 5000

static const char *const reason_names[AGENT_BF_NREASONS] = {
	[AGENT_BF_RUNNING] = "running",
	[AGENT_BF_OPERATOR] = "operator",
	[AGENT_BF_COORDINATOR] = "coordinator",
	[AGENT_BF_LAG] = "lag",
	[AGENT_BF_QUERY] = "query",
	[AGENT_BF_AUTOVACUUM] = "autovacuum",
	[AGENT_BF_RATE] = "rate",
};

const char *
agent_bf_reason_name(int reason)
{
	return reason >= 0 && reason < AGENT_BF_NREASONS ? reason_names[reason] : "?";
}

/* sql's first value as text in a read-only transaction of its own (the
 * one a health sample runs in, committed so that the looks do not count
 * as rollbacks in pg_stat_database), into buf ("" for no rows or NULL). */
static int
ask(PGconn *conn, const char *what, const char *sql, int nparams,
    const char *const *params, char *buf, size_t len, sk_err *err)
{
	PGresult *res = NULL;
	int rc;

	buf[0] = '\0';
	rc = agent_health_begin(conn, CHECK_TIMEOUT_MS, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_pg_execp(conn, what, sql, nparams, params, &res, err);
	if (rc == SK_OK && PQntuples(res) > 0 && PQnfields(res) > 0 &&
	    !PQgetisnull(res, 0, 0))
		snprintf(buf, len, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	agent_health_end(conn);
	return rc;
}

int
bf_throttle_query_check(bf_run *r, sk_err *err)
{
	const char *q = r->b->tuning.throttle_query;
	PGresult *res = NULL;
	int rc;

	if (q == NULL)
		return SK_OK;
	rc = sk_pg_exec(r->s->c->conn, "throttle_query", "BEGIN READ ONLY", NULL, err);
	if (rc == SK_OK)
		rc = sk_pg_exec(r->s->c->conn, "throttle_query", q, &res, err);
	if (rc == SK_OK && (PQnfields(res) != 1 || PQftype(res, 0) != 16 /* bool */))
		rc = sk_err_set(err, SK_EINVAL,
		    "throttle_query must return one boolean column (true: pause)");
	PQclear(res);
	agent_tx_rollback(r->s->c->conn);
	return rc;
}

/* The database's reason to wait now, and its words; AGENT_BF_RUNNING
 * when there is none. A look that fails is logged and does not pause:
 * the backfill's own statements will meet a database that is gone. */
static int
db_reason(bf_run *r, char *why, size_t len)
{
	const sk_backfill_tuning *t = &r->b->tuning;
	PGconn *conn = r->s->c->conn;
	const char *table[1] = { r->b->table };
	char v[64];
	double lag;
	sk_err err;

	/* The same reading as an exit gate's "replication_lag" signal. */
	if (t->max_replication_lag_ms > 0 &&
	    agent_health_replication_lag(conn, &lag, &err) == SK_OK &&
	    lag * 1000.0 > (double)t->max_replication_lag_ms) {
		snprintf(why, len, "replication lag %.1f s > %.1f s", lag,
		    (double)t->max_replication_lag_ms / 1000.0);
		return AGENT_BF_LAG;
	}
	if (t->throttle_query != NULL) {
		if (ask(conn, "throttle_query", t->throttle_query, 0, NULL, v,
			sizeof(v), &err) != SK_OK) {
			snprintf(why, len, "throttle query failed: %.90s", err.msg);
			return AGENT_BF_QUERY;
		}
		if (strcmp(v, "t") == 0) {
			snprintf(why, len, "throttle query returned true");
			return AGENT_BF_QUERY;
		}
	}
	if (!t->ignore_autovacuum &&
	    ask(conn, "autovacuum",
		"SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_progress_vacuum v "
		"JOIN pg_catalog.pg_stat_activity a ON a.pid = v.pid "
		"WHERE v.relid = pg_catalog.to_regclass($1) "
		"AND v.datid = (SELECT d.oid FROM pg_catalog.pg_database d "
		"WHERE d.datname = pg_catalog.current_database()) "
		"AND a.backend_type = 'autovacuum worker'",
		1, table, v, sizeof(v), &err) == SK_OK &&
	    strtoll(v, NULL, 10) > 0) {
		snprintf(why, len, "autovacuum is working on %.60s", r->b->table);
		return AGENT_BF_AUTOVACUUM;
	}
	return AGENT_BF_RUNNING;
}

/* The operator's new limits since the last look, into r. */
static void
take_tune(bf_run *r)
{
	agent_control *ctl = r->s->c->control;
	agent_tune t;
	uint64_t seq;

	agent_control_get_tune(ctl, &t, &seq);
	if (seq == 0)
		return;
	pthread_mutex_lock(&r->mu);
	if (t.max_rows_per_second >= 0)
		r->rate = t.max_rows_per_second;
	if (t.batch_min > 0)
		r->bmin = t.batch_min;
	if (t.batch_max > 0)
		r->bmax = t.batch_max;
	if (r->bmin > r->bmax)
		r->bmin = r->bmax;
	pthread_mutex_unlock(&r->mu);
}

void
bf_throttle_poll(bf_run *r, int64_t *last_db_check_ms)
{
	agent_control *ctl = r->s->c->control;
	int64_t dead = r->b->tuning.dead_man_ms, silent, now = sk_mono_ms();
	int reason = AGENT_BF_RUNNING;
	char why[128] = "";

	take_tune(r);
	if (now - *last_db_check_ms >= DB_CHECK_MS) {
		*last_db_check_ms = now;
		r->db_why[0] = '\0';
		r->db_reason = db_reason(r, r->db_why, sizeof(r->db_why));
	}
	silent = agent_control_silence_ms(ctl);
	if (agent_control_paused(ctl)) {
		reason = AGENT_BF_OPERATOR;
		snprintf(why, sizeof(why), "paused by the operator");
	} else if (dead > 0 && silent > dead) {
		reason = AGENT_BF_COORDINATOR;
		snprintf(why, sizeof(why),
		    "coordinator silent for %" PRId64 " s > dead_man %" PRId64 " s",
		    silent / 1000, dead / 1000);
	} else if (r->db_reason != AGENT_BF_RUNNING) {
		reason = r->db_reason;
		snprintf(why, sizeof(why), "%s", r->db_why);
	}
	pthread_mutex_lock(&r->mu);
	snprintf(r->why, sizeof(r->why), "%s", why);
	pthread_mutex_unlock(&r->mu);
	if (atomic_exchange(&r->pause, reason) != reason)
		sk_info("backfill %s: %s", r->s->step->id,
		    reason == AGENT_BF_RUNNING ? "running" : why);
}

/* The time waited, under r->mu. */
static int64_t
waited_locked(const bf_run *r)
{
	int64_t waited = 0;

	for (int k = AGENT_BF_OPERATOR; k < AGENT_BF_NREASONS; k++)
		waited += r->waited_ms[k];
	return waited;
}

int64_t
bf_throttled_ms(bf_run *r)
{
	int64_t waited;

	pthread_mutex_lock(&r->mu);
	waited = waited_locked(r);
	pthread_mutex_unlock(&r->mu);
	return waited;
}

int64_t
bf_throttled_claim(bf_run *r)
{
	int64_t ms;

	pthread_mutex_lock(&r->mu);
	ms = waited_locked(r) - r->claimed_ms;
	if (ms < 0)
		ms = 0;
	r->claimed_ms += ms;
	pthread_mutex_unlock(&r->mu);
	return ms;
}

void
bf_throttled_unclaim(bf_run *r, int64_t ms)
{
	pthread_mutex_lock(&r->mu);
	r->claimed_ms -= ms;
	pthread_mutex_unlock(&r->mu);
}

void
bf_waited_format(bf_run *r, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	pthread_mutex_lock(&r->mu);
	for (int k = AGENT_BF_OPERATOR; k < AGENT_BF_NREASONS && used < len; k++) {
		snprintf(buf + used, len - used, "%s%s=%" PRId64,
		    used > 0 ? "," : "", reason_names[k], r->waited_ms[k]);
		used = strlen(buf);
	}
	pthread_mutex_unlock(&r->mu);
}

void
bf_emit_progress(bf_run *r, bf_progress *last)
{
	int64_t now = sk_mono_ms(), scanned = atomic_load(&r->rows_scanned);
	int64_t waited = 0, size = 0, running = 0;
	sk_report rep;

	agent_report_init(&rep, SK_EV_PROGRESS, r->s->step->id, r->s->a.attempt);
	if (now > last->at_ms && last->at_ms > 0)
		last->rate = (double)(scanned - last->scanned) * 1000.0 /
		    (double)(now - last->at_ms);
	last->at_ms = now;
	last->scanned = scanned;
	last->batches = atomic_load(&r->batches);
	/* The whole backfill's figures, earlier runs included; the rate is
	 * this run's. */
	rep.rows = r->prior[0] + atomic_load(&r->rows_done);
	rep.rows_scanned = r->prior[1] + scanned;
	rep.rows_total = r->rows_total;
	rep.batch = r->prior[2] + last->batches;
	rep.rate = isfinite(last->rate) ? last->rate : 0;
	if (rep.rate > 0 && r->rows_total > rep.rows_scanned)
		rep.eta_ms = (int64_t)((double)(r->rows_total - rep.rows_scanned) *
		    1000.0 / rep.rate);
	pthread_mutex_lock(&r->mu);
	waited = r->prior_throttled_ms + waited_locked(r);
	snprintf(rep.throttle, sizeof(rep.throttle), "%s", r->why);
	for (size_t i = 0; i < r->nw; i++)
		if (!atomic_load(&r->w[i].finished)) {
			size += r->w[i].size;
			running++;
		}
	pthread_mutex_unlock(&r->mu);
	rep.batch_size = running > 0 ? size / running : 0;
	rep.throttled_ms = waited;
	agent_db_send(r->s->c, &rep);
}

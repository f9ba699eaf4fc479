/* agent_health: the database health signals of an exit gate, and the
 * replication lag reading the backfill throttle shares. Cumulative
 * counters of pg_stat_database become deltas against a baseline kept per
 * rollout, phase, database and signal. */
#include "agent_health.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_pg.h"
#include "sk_util.h"
#include "sk_wire.h"

/* A baseline unused this long belongs to a rollout that ended (or an
 * agent that stopped sampling it): dropped when the next one is added. */
#define BASELINE_IDLE_MS (30LL * 60 * 1000)

enum counter { C_ROLLBACKS, C_DEADLOCKS, C_NONE };

typedef struct baseline {
	char rollout_id[SK_ID_MAX];
	uint32_t phase;
	char database[SK_NAME_MAX];
	int counter; /* enum counter */
	int64_t value;
	int64_t at_ms; /* monotonic, when value was read */
} baseline;

struct agent_health {
	pthread_mutex_t mu;
	baseline *b;
	size_t n;
	size_t cap;
};

int
agent_health_begin(PGconn *conn, int timeout_ms, sk_err *err)
{
	char sql[128];
	int rc;

	snprintf(sql, sizeof(sql),
	    "BEGIN READ ONLY; SET LOCAL statement_timeout = %d; "
	    "SET LOCAL search_path = public",
	    timeout_ms);
	rc = sk_pg_exec(conn, "begin sample", sql, NULL, err);
	if (rc != SK_OK)
		agent_health_end(conn);
	return rc;
}

void
agent_health_end(PGconn *conn)
{
	PGresult *res;

	if (PQtransactionStatus(conn) == PQTRANS_IDLE ||
	    PQtransactionStatus(conn) == PQTRANS_UNKNOWN)
		return;
	/* COMMIT of a failed transaction rolls it back anyway. */
	res = PQexec(conn,
	    PQtransactionStatus(conn) == PQTRANS_INERROR ? "ROLLBACK" : "COMMIT");
	PQclear(res);
}

/* sql's one value as a double into *out, in a sample transaction.
 * A NULL or no row reads as 0. */
static int
read_double(PGconn *conn, const char *what, const char *sql, double *out, sk_err *err)
{
	PGresult *res = NULL;
	int rc;

	*out = 0;
	rc = agent_health_begin(conn, AGENT_HEALTH_TIMEOUT_MS, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_pg_exec(conn, what, sql, &res, err);
	if (rc == SK_OK && PQntuples(res) > 0 && PQnfields(res) > 0 &&
	    !PQgetisnull(res, 0, 0))
		*out = strtod(PQgetvalue(res, 0, 0), NULL);
	PQclear(res);
	agent_health_end(conn);
	return rc;
}

int
agent_health_replication_lag(PGconn *conn, double *seconds, sk_err *err)
{
	/* replay_lag keeps its last value until new WAL comes or the standby
	 * reports twice that it caught up: a standby that has replayed all
	 * that was sent is not behind, whatever it says. */
	return read_double(conn, "read replication lag",
	    "SELECT COALESCE(pg_catalog.max(EXTRACT(epoch FROM replay_lag)), "
	    "0)::float8 FROM pg_catalog.pg_stat_replication "
	    "WHERE replay_lsn IS NULL OR sent_lsn IS NULL OR replay_lsn < sent_lsn",
	    seconds, err);
}

static int
lock_waits(PGconn *conn, double *out, sk_err *err)
{
	/* A row lock is waited for on a transaction id, whose pg_locks row
	 * has no database: the waiting backend's database says whose it is. */
	return read_double(conn, "read lock waits",
	    "SELECT pg_catalog.count(DISTINCT l.pid) FROM pg_catalog.pg_locks l "
	    "JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
	    "WHERE NOT l.granted AND a.datname = pg_catalog.current_database()",
	    out, err);
}

static int
read_counter(PGconn *conn, int counter, int64_t *out, sk_err *err)
{
	static const char *const sql[] = {
		[C_ROLLBACKS] = "SELECT xact_rollback FROM "
				"pg_catalog.pg_stat_database WHERE datname = "
				"pg_catalog.current_database()",
		[C_DEADLOCKS] = "SELECT deadlocks FROM "
				"pg_catalog.pg_stat_database WHERE datname = "
				"pg_catalog.current_database()",
	};
	double v;
	int rc = read_double(conn, "read pg_stat_database", sql[counter], &v, err);

	*out = (int64_t)v;
	return rc;
}

static int
counter_of(const char *signal)
{
	if (strcmp(signal, "rollbacks_per_s") == 0)
		return C_ROLLBACKS;
	if (strcmp(signal, "deadlocks") == 0)
		return C_DEADLOCKS;
	return C_NONE;
}

bool
agent_health_is_db_signal(const char *name)
{
	return counter_of(name) != C_NONE || strcmp(name, "replication_lag") == 0 ||
	    strcmp(name, "lock_waits") == 0;
}

agent_health *
agent_health_create(void)
{
	agent_health *h = calloc(1, sizeof(*h));

	if (h != NULL)
		pthread_mutex_init(&h->mu, NULL);
	return h;
}

void
agent_health_destroy(agent_health *h)
{
	if (h == NULL)
		return;
	pthread_mutex_destroy(&h->mu);
	free(h->b);
	free(h);
}

/* The baseline of key; NULL when there is none. Call with h->mu held. */
static baseline *
find(agent_health *h, const baseline *key)
{
	for (size_t i = 0; i < h->n; i++) {
		baseline *b = &h->b[i];

		if (b->counter == key->counter && b->phase == key->phase &&
		    strcmp(b->rollout_id, key->rollout_id) == 0 &&
		    strcmp(b->database, key->database) == 0)
			return b;
	}
	return NULL;
}

/* Record key as the baseline (replacing the one there), dropping the
 * ones long unused. Out of memory keeps none: the next sample takes a
 * baseline again. */
static void
store(agent_health *h, const baseline *key)
{
	baseline *b;
	size_t k = 0;

	pthread_mutex_lock(&h->mu);
	if ((b = find(h, key)) != NULL) {
		*b = *key;
		pthread_mutex_unlock(&h->mu);
		return;
	}
	for (size_t i = 0; i < h->n; i++)
		if (key->at_ms - h->b[i].at_ms < BASELINE_IDLE_MS)
			h->b[k++] = h->b[i];
	h->n = k;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		baseline *nb = realloc(h->b, cap * sizeof(*nb));

		if (nb == NULL) {
			pthread_mutex_unlock(&h->mu);
			return;
		}
		h->b = nb;
		h->cap = cap;
	}
	h->b[h->n++] = *key;
	pthread_mutex_unlock(&h->mu);
}

static int
sample_delta(agent_health *h, PGconn *conn, baseline *key, double *value, sk_err *err)
{
	baseline prev;
	bool have;
	int rc;

	pthread_mutex_lock(&h->mu);
	have = find(h, key) != NULL;
	if (have)
		prev = *find(h, key);
	pthread_mutex_unlock(&h->mu);
	rc = read_counter(conn, key->counter, &key->value, err);
	if (rc != SK_OK)
		return rc;
	key->at_ms = sk_mono_ms();
	/* No baseline, or the statistics were reset since: take one now. */
	if (!have || key->value < prev.value) {
		prev = *key;
		sk_sleep_ms(AGENT_HEALTH_BASELINE_MS);
		rc = read_counter(conn, key->counter, &key->value, err);
		if (rc != SK_OK)
			return rc;
		key->at_ms = sk_mono_ms();
		if (key->value < prev.value)
			prev.value = key->value;
	}
	store(h, key);
	if (key->counter == C_DEADLOCKS)
		*value = (double)(key->value - prev.value);
	else
		*value = (double)(key->value - prev.value) * 1000.0 /
		    (double)(key->at_ms > prev.at_ms ? key->at_ms - prev.at_ms : 1);
	return SK_OK;
}

int
agent_health_sample(agent_health *h, PGconn *conn, const char *rollout_id,
    uint32_t phase, const char *database, const char *signal, double *value,
    sk_err *err)
{
	baseline key;

	*value = 0;
	if (strcmp(signal, "replication_lag") == 0)
		return agent_health_replication_lag(conn, value, err);
	if (strcmp(signal, "lock_waits") == 0)
		return lock_waits(conn, value, err);
	memset(&key, 0, sizeof(key));
	key.counter = counter_of(signal);
	if (key.counter == C_NONE)
		return sk_err_set(err, SK_EINVAL,
		    "sample health signal %.40s in %s: not a database signal",
		    signal, database);
	snprintf(key.rollout_id, sizeof(key.rollout_id), "%s", rollout_id);
	snprintf(key.database, sizeof(key.database), "%s", database);
	key.phase = phase;
	return sample_delta(h, conn, &key, value, err);
}

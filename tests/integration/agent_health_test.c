/* agent_health against real PostgreSQL and a real HTTP server: every
 * health signal an exit gate samples (a lock wait, a deadlock and
 * rollbacks made here and seen counted; no standby, no lag), the HTTP
 * probe against a tiny server answering a number, a 500, garbage or
 * nothing, and nothing listening; and agent_sample's whole sample of a
 * phase: one report per item per database, checks that pass, fail and
 * err (a write refused by the read-only transaction changes nothing), a
 * database that is down, a sample still running making the next a
 * no-op, and phases it must refuse. Uses the `pg` fixture cluster. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgfixture.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "agent_health.h"
#include "agent_probe.h"
#include "agent_sample.h"
#include "sk_pg.h"
#include "sk_util.h"

static char fixture_port[16];
static char db_name[64];
static PGconn *conn; /* the sampler's connection */
static agent_health *health;

/* ---- a tiny HTTP server --------------------------------------------- */

enum http_mode { HTTP_NUMBER, HTTP_500, HTTP_GARBAGE, HTTP_SILENT };

static struct {
	int fd;
	int port;
	atomic_int mode;
	atomic_int stop;
	atomic_int served;
	pthread_t thread;
} srv;

static void
answer(int c)
{
	static const char *const replies[] = {
		[HTTP_NUMBER] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"
				"Connection: close\r\n\r\n0.25 ok\r\n\r\n",
		[HTTP_500] = "HTTP/1.1 500 Internal Server Error\r\n"
			     "Content-Length: 3\r\nConnection: close\r\n\r\n1.0",
		[HTTP_GARBAGE] = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n"
				 "Connection: close\r\n\r\nhello world",
	};
	char buf[2048];
	size_t n = 0;
	int mode = atomic_load(&srv.mode);

	/* Read the request's head. */
	while (n < sizeof(buf) - 1) {
		ssize_t k = read(c, buf + n, sizeof(buf) - 1 - n);

		if (k <= 0)
			break;
		n += (size_t)k;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			break;
	}
	atomic_fetch_add(&srv.served, 1);
	if (mode == HTTP_SILENT) {
		/* Say nothing until the client gives up (closes), at most
		 * 3 s, so that the next client is served at once. */
		for (int i = 0; i < 60 && !atomic_load(&srv.stop); i++) {
			struct pollfd p = { c, POLLIN, 0 };

			if (poll(&p, 1, 50) > 0 && read(c, buf, sizeof(buf)) <= 0)
				break;
		}
		return;
	}
	if (write(c, replies[mode], strlen(replies[mode])) < 0)
		return;
}

static void *
serve(void *arg)
{
	(void)arg;
	while (!atomic_load(&srv.stop)) {
		struct pollfd p = { srv.fd, POLLIN, 0 };
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(srv.fd, NULL, NULL);
		if (c < 0)
			continue;
		answer(c);
		close(c);
	}
	return NULL;
}

static void
server_start(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int one = 1;

	srv.fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(srv.fd >= 0);
	setsockopt(srv.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(srv.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(srv.fd, 8), 0);
	assert_int_equal(getsockname(srv.fd, (struct sockaddr *)&a, &alen), 0);
	srv.port = ntohs(a.sin_port);
	atomic_store(&srv.stop, 0);
	atomic_store(&srv.mode, HTTP_NUMBER);
	assert_int_equal(pthread_create(&srv.thread, NULL, serve, NULL), 0);
}

static void
server_stop(void)
{
	atomic_store(&srv.stop, 1);
	pthread_join(srv.thread, NULL);
	close(srv.fd);
}

static void
server_url(char *buf, size_t len)
{
	snprintf(buf, len, "http://127.0.0.1:%d/health", srv.port);
}

/* ---- fixtures ------------------------------------------------------- */

static int
setup_fixture(void **state)
{
	(void)state;
	if (pgfixture_port(fixture_port, sizeof(fixture_port)) != 0)
		return -1;
	server_start();
	return 0;
}

static int
teardown_fixture(void **state)
{
	(void)state;
	server_stop();
	return 0;
}

/* Each test: a fresh database with t (id, n) holding three rows, the
 * sampler's connection to it and fresh baselines. */
static int
setup_db(void **state)
{
	(void)state;
	pgfixture_create_db(fixture_port, "health", db_name, sizeof(db_name));
	pgfixture_exec_db(fixture_port, db_name,
	    "CREATE TABLE t (id int PRIMARY KEY, n int);"
	    "INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)");
	conn = pgfixture_connect(fixture_port, db_name, "health-test");
	health = agent_health_create();
	assert_non_null(health);
	return 0;
}

static int
teardown_db(void **state)
{
	(void)state;
	agent_health_destroy(health);
	health = NULL;
	PQfinish(conn);
	conn = NULL;
	pgfixture_drop_db(fixture_port, db_name);
	return 0;
}

static double
sample(const char *signal)
{
	double v = -1;
	sk_err err;

	sk_err_clear(&err);
	if (agent_health_sample(
		health, conn, "r-1", 0, db_name, signal, &v, &err) != SK_OK) {
		print_error("sample %s: %s\n", signal, err.msg);
		fail();
	}
	assert_int_equal(PQtransactionStatus(conn), PQTRANS_IDLE);
	return v;
}

/* Sum signal's samples (deltas) until they reach want or 5 s pass:
 * statistics reach pg_stat_database when a backend flushes them. */
static double
sample_until(const char *signal, double want)
{
	double sum = 0;
	int64_t until = sk_mono_ms() + 5000;

	while (sum < want && sk_mono_ms() < until) {
		sum += sample(signal);
		if (sum < want)
			sk_sleep_ms(100);
	}
	return sum;
}

/* ---- the database signals ------------------------------------------- */

static void
test_lock_waits_counts_backends_waiting_now(void **state)
{
	PGconn *a, *b;
	PGresult *res;
	double v = 0;

	(void)state;
	assert_true(sample("lock_waits") == 0);
	a = pgfixture_connect(fixture_port, db_name, "holder");
	b = pgfixture_connect(fixture_port, db_name, "waiter");
	pgfixture_exec(a, "BEGIN; UPDATE t SET n = n + 1 WHERE id = 1");
	assert_int_equal(PQsendQuery(b, "UPDATE t SET n = n + 1 WHERE id = 1"), 1);
	for (int i = 0; i < 50 && v < 1; i++) {
		v = sample("lock_waits");
		if (v < 1)
			sk_sleep_ms(100);
	}
	assert_true(v == 1);
	pgfixture_exec(a, "ROLLBACK");
	while ((res = PQgetResult(b)) != NULL) {
		assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
		PQclear(res);
	}
	assert_true(sample("lock_waits") == 0);
	PQfinish(a);
	PQfinish(b);
}

static void
test_deadlocks_counts_a_deadlock_since_the_last_sample(void **state)
{
	PGconn *a, *b;
	PGresult *res;
	int64_t t0 = sk_mono_ms();

	(void)state;
	/* The first sample takes its baseline and a second reading half a
	 * second later: a value, 0, and its baseline kept. */
	assert_true(sample("deadlocks") == 0);
	assert_true(sk_mono_ms() - t0 >= AGENT_HEALTH_BASELINE_MS);
	t0 = sk_mono_ms();
	assert_true(sample("deadlocks") == 0);
	assert_true(sk_mono_ms() - t0 < AGENT_HEALTH_BASELINE_MS);

	a = pgfixture_connect(fixture_port, db_name, "deadlock-a");
	b = pgfixture_connect(fixture_port, db_name, "deadlock-b");
	pgfixture_exec(a, "BEGIN; UPDATE t SET n = n + 1 WHERE id = 1");
	pgfixture_exec(b,
	    "BEGIN; SET LOCAL deadlock_timeout = '100ms';"
	    "UPDATE t SET n = n + 1 WHERE id = 2");
	assert_int_equal(PQsendQuery(a, "UPDATE t SET n = n + 1 WHERE id = 2"), 1);
	sk_sleep_ms(200);
	/* b closes the circle and, with the shorter deadlock_timeout, is
	 * the one PostgreSQL cancels. */
	res = PQexec(b, "UPDATE t SET n = n + 1 WHERE id = 1");
	assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
	assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "40P01");
	PQclear(res);
	PQclear(PQexec(b, "ROLLBACK"));
	while ((res = PQgetResult(a)) != NULL)
		PQclear(res);
	PQclear(PQexec(a, "ROLLBACK"));
	/* Backends flush their statistics when they exit. */
	PQfinish(a);
	PQfinish(b);
	assert_true(sample_until("deadlocks", 1) == 1);
	/* Since then: none. */
	assert_true(sample("deadlocks") == 0);
}

static void
test_rollbacks_per_s_counts_rollbacks_not_its_own(void **state)
{
	PGconn *a;
	double sum;

	(void)state;
	/* Every sample commits its read-only transaction: sampling does
	 * not count itself. */
	assert_true(sample("rollbacks_per_s") == 0);
	assert_true(sample("rollbacks_per_s") == 0);
	assert_true(sample("lock_waits") == 0);
	assert_true(sample("rollbacks_per_s") == 0);

	a = pgfixture_connect(fixture_port, db_name, "rollbacks");
	for (int i = 0; i < 20; i++)
		pgfixture_exec(a, "BEGIN; SELECT 1; ROLLBACK");
	PQfinish(a);
	/* 20 rollbacks in a few seconds at most: a rate of at least 1/s in
	 * some sample. */
	sum = sample_until("rollbacks_per_s", 1);
	assert_true(sum >= 1);
}

static void
test_replication_lag_is_zero_without_standby(void **state)
{
	double lag = -1;
	sk_err err;

	(void)state;
	assert_true(sample("replication_lag") == 0);
	/* The backfill throttle's reading is the same function. */
	assert_int_equal(agent_health_replication_lag(conn, &lag, &err), SK_OK);
	assert_true(lag == 0);
}

static void
test_unknown_signal_is_refused(void **state)
{
	double v = 5;
	sk_err err;

	(void)state;
	assert_int_equal(
	    agent_health_sample(health, conn, "r-1", 0, db_name, "http", &v, &err),
	    SK_EINVAL);
	assert_contains(err.msg, "not a database signal");
	assert_int_equal(
	    agent_health_sample(health, conn, "r-1", 0, db_name, "cpu", &v, &err),
	    SK_EINVAL);
	assert_true(v == 0);
	assert_true(agent_health_is_db_signal("deadlocks"));
	assert_false(agent_health_is_db_signal("http"));
}

/* A database that went away: an error, not a value. */
static void
test_signal_on_a_closed_connection_errs(void **state)
{
	PGconn *dead = pgfixture_connect(fixture_port, db_name, "dead");
	double v = 5;
	sk_err err;

	(void)state;
	pgfixture_exec(conn,
	    "SELECT pg_terminate_backend(pid) "
	    "FROM pg_stat_activity WHERE application_name = "
	    "'dead'");
	sk_sleep_ms(100);
	assert_int_not_equal(agent_health_sample(health, dead, "r-1", 0,
				 db_name, "lock_waits", &v, &err),
	    SK_OK);
	assert_true(v == 0);
	PQfinish(dead);
}

/* ---- the HTTP probe ------------------------------------------------- */

static void
test_probe_reads_the_number(void **state)
{
	char url[128];
	double v = 0;
	sk_err err;

	(void)state;
	server_url(url, sizeof(url));
	atomic_store(&srv.mode, HTTP_NUMBER);
	sk_err_clear(&err);
	if (agent_probe_get(url, AGENT_PROBE_TIMEOUT_MS, &v, &err) != SK_OK) {
		print_error("probe: %s\n", err.msg);
		fail();
	}
	assert_true(v == 0.25);
}

static void
test_probe_errs_on_500_garbage_silence_and_refusal(void **state)
{
	char url[128];
	double v;
	sk_err err;
	int64_t t0;

	(void)state;
	server_url(url, sizeof(url));
	atomic_store(&srv.mode, HTTP_500);
	v = 9;
	assert_int_equal(agent_probe_get(url, 2000, &v, &err), SK_EREFUSED);
	assert_contains(err.msg, "HTTP status 500");
	assert_true(v == 0);

	atomic_store(&srv.mode, HTTP_GARBAGE);
	v = 9;
	assert_int_equal(agent_probe_get(url, 2000, &v, &err), SK_EINVAL);
	assert_contains(err.msg, "\"hello\" is not a finite number");
	assert_true(v == 0);

	atomic_store(&srv.mode, HTTP_SILENT);
	v = 9;
	t0 = sk_mono_ms();
	assert_int_equal(agent_probe_get(url, 300, &v, &err), SK_ETIMEOUT);
	assert_true(sk_mono_ms() - t0 < 1500);
	assert_contains(err.msg, "no answer within 300 ms");
	assert_true(v == 0);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health",
	    pgfixture_free_port());
	v = 9;
	assert_int_equal(agent_probe_get(url, 2000, &v, &err), SK_ENET);
	assert_contains(err.msg, "connection refused");
	assert_true(v == 0);

	v = 9;
	assert_int_equal(
	    agent_probe_get("https://127.0.0.1:1/x", 2000, &v, &err), SK_EINVAL);
	assert_contains(err.msg, "only http://");
	assert_true(v == 0);
	atomic_store(&srv.mode, HTTP_NUMBER);
}

/* ---- a whole sample (agent_sample) ---------------------------------- */

typedef struct collected {
	pthread_mutex_t mu;
	sk_report r[64];
	size_t n;
} collected;

static collected got;

static void
collect(void *arg, const sk_report *r)
{
	collected *c = arg;

	pthread_mutex_lock(&c->mu);
	if (c->n < 64)
		c->r[c->n++] = *r;
	pthread_mutex_unlock(&c->mu);
}

static sk_check
check(const char *name, const char *sql, const char *op, const char *value)
{
	sk_check c;

	memset(&c, 0, sizeof(c));
	c.name = sk_strdup(name);
	c.sql = sk_strdup(sql);
	c.expect = SK_EXPECT_COMPARE;
	c.op = sk_strdup(op);
	c.value = sk_strdup(value);
	return c;
}

/* A plan of one phase "canary" for region af, sampling four checks and
 * lock_waits, deadlocks and http; with_items false: nothing to sample. */
static sk_plan *
make_plan(bool with_items)
{
	sk_plan *p = calloc(1, sizeof(*p));
	sk_phase *ph;
	static const char *const sig[] = { "lock_waits", "deadlocks", "http" };

	assert_non_null(p);
	p->id = sk_strdup("p-health");
	p->name = sk_strdup("health");
	p->nphases = 1;
	p->phases = calloc(1, sizeof(*p->phases));
	ph = &p->phases[0];
	ph->name = sk_strdup("canary");
	ph->regions = calloc(1, sizeof(char *));
	ph->regions[0] = sk_strdup("af");
	ph->nregions = 1;
	if (!with_items)
		return p;
	ph->gate_checks = calloc(4, sizeof(*ph->gate_checks));
	ph->gate_checks[0] = check("rows_ok", "SELECT count(*) FROM t", "=", "3");
	ph->gate_checks[1] = check("rows_none", "SELECT count(*) FROM t", "=", "0");
	/* A write in a gate check: refused by the read-only transaction. */
	ph->gate_checks[2] =
	    check("writes", "INSERT INTO t VALUES (99, 0) RETURNING 1", "=", "1");
	ph->gate_checks[3] = check("divides", "SELECT 1/0", "=", "1");
	ph->ngate_checks = 4;
	ph->health = calloc(3, sizeof(*ph->health));
	for (size_t i = 0; i < 3; i++) {
		ph->health[i].signal = sk_strdup(sig[i]);
		ph->health[i].max = 1;
	}
	ph->nhealth = 3;
	ph->sample_interval_ms = 1000;
	ph->min_samples = 1;
	return p;
}

static const sk_report *
find_item(const char *database, const char *item)
{
	for (size_t i = 0; i < got.n; i++) {
		const sk_report *r = &got.r[i];
		const char *name = r->has_check ? r->check.name : r->health.signal;

		if (strcmp(r->database, database) == 0 && strcmp(name, item) == 0)
			return r;
	}
	print_error("no report of %s in \"%s\"\n", item, database);
	fail();
	return NULL;
}

static void
config(sk_agent_config *cfg, sk_db_config *dbs, char *ci, char *gone, char *url)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->region = "af";
	pgfixture_conninfo(ci, 256, fixture_port, db_name);
	snprintf(gone, 256,
	    "host=127.0.0.1 port=%d user=postgres dbname=x connect_timeout=2",
	    pgfixture_free_port());
	memset(dbs, 0, 2 * sizeof(*dbs));
	dbs[0].name = "main";
	dbs[0].conninfo = ci;
	dbs[1].name = "gone";
	dbs[1].conninfo = gone;
	cfg->databases = dbs;
	cfg->ndatabases = 2;
	server_url(url, 128);
	cfg->health_probe = url;
}

static void
test_sample_reports_each_item_per_database(void **state)
{
	sk_agent_config cfg;
	sk_db_config dbs[2];
	char ci[256], gone[256], url[128];
	agent_sampler *s;
	sk_plan *plan = make_plan(true);
	const sk_report *r;
	sk_err err;

	(void)state;
	config(&cfg, dbs, ci, gone, url);
	memset(&got, 0, sizeof(got));
	pthread_mutex_init(&got.mu, NULL);
	atomic_store(&srv.mode, HTTP_NUMBER);
	s = agent_sampler_create(&cfg, collect, &got);
	assert_non_null(s);
	assert_int_equal(agent_sample_phase_check(plan, 0, "af", &err), SK_OK);
	assert_int_equal(agent_sampler_start(s, "r-1", plan, 0, 7, NULL, &err), SK_OK);
	agent_sampler_join(s);

	/* http once; four checks and two signals in each of two databases. */
	assert_int_equal(got.n, 1 + 2 * 6);
	for (size_t i = 0; i < got.n; i++) {
		assert_int_equal(got.r[i].event, SK_EV_GATE_SAMPLE);
		assert_string_equal(got.r[i].rollout_id, "r-1");
		assert_string_equal(got.r[i].plan_id, "p-health");
		assert_int_equal(got.r[i].phase, 0);
		assert_int_equal(got.r[i].sample_round, 7);
		assert_true(got.r[i].has_check != got.r[i].has_health);
		if (got.r[i].has_check)
			assert_string_equal(got.r[i].check.when, "gate");
	}
	r = find_item("", "http");
	assert_int_equal(r->error.code, SK_OK);
	assert_true(r->health.value == 0.25);

	r = find_item("main", "rows_ok");
	assert_int_equal(r->error.code, SK_OK);
	assert_true(r->check.passed);
	r = find_item("main", "rows_none");
	assert_int_equal(r->error.code, SK_OK);
	assert_false(r->check.passed);
	assert_string_equal(r->check.seen, "3");
	r = find_item("main", "writes");
	assert_int_equal(r->error.code, SK_ESQL);
	assert_string_equal(r->error.sqlstate, "25006");
	assert_contains(r->error.msg, "gate check writes in main");
	assert_false(r->check.passed);
	r = find_item("main", "divides");
	assert_int_equal(r->error.code, SK_ESQL);
	assert_string_equal(r->error.sqlstate, "22012");
	r = find_item("main", "lock_waits");
	assert_int_equal(r->error.code, SK_OK);
	assert_true(r->health.value == 0);
	r = find_item("main", "deadlocks");
	assert_int_equal(r->error.code, SK_OK);
	assert_true(r->health.value == 0);

	/* The database that is down: every item erred, none has a value. */
	const char *items[] = { "rows_ok", "rows_none", "writes", "divides",
		"lock_waits", "deadlocks" };
	for (size_t i = 0; i < 6; i++) {
		r = find_item("gone", items[i]);
		assert_int_equal(r->error.code, SK_ECONN);
		assert_false(r->has_check && r->check.passed);
	}
	/* The refused write changed nothing. */
	assert_int_equal(
	    pgfixture_long_db(fixture_port, db_name, "SELECT count(*) FROM t"), 3);
	agent_sampler_destroy(s);
	pthread_mutex_destroy(&got.mu);
}

/* The probe stays silent for its 2 s: the sample runs that long, and a
 * SAMPLE for the same rollout meanwhile is a no-op (another rollout's is
 * not). The silent probe errs. */
static void
test_sample_still_running_makes_the_next_a_noop(void **state)
{
	sk_agent_config cfg;
	sk_db_config dbs[2];
	char ci[256], gone[256], url[128];
	agent_sampler *s;
	sk_plan *p1 = make_plan(true), *p2 = make_plan(true), *p3 = make_plan(true);
	size_t http = 0;
	sk_err err;

	(void)state;
	config(&cfg, dbs, ci, gone, url);
	cfg.ndatabases = 1;
	memset(&got, 0, sizeof(got));
	pthread_mutex_init(&got.mu, NULL);
	atomic_store(&srv.mode, HTTP_SILENT);
	s = agent_sampler_create(&cfg, collect, &got);
	assert_non_null(s);
	assert_int_equal(agent_sampler_start(s, "r-1", p1, 0, 1, NULL, &err), SK_OK);
	assert_int_equal(agent_sampler_start(s, "r-1", p2, 0, 2, NULL, &err), SK_ESTATE);
	assert_contains(err.msg, "the previous sample still runs");
	sk_plan_destroy(p2); /* refused: still ours */
	assert_int_equal(agent_sampler_start(s, "r-2", p3, 0, 1, NULL, &err), SK_OK);
	agent_sampler_join(s);
	atomic_store(&srv.mode, HTTP_NUMBER);
	for (size_t i = 0; i < got.n; i++) {
		assert_int_not_equal(got.r[i].sample_round, 2);
		if (got.r[i].has_health && strcmp(got.r[i].health.signal, "http") == 0) {
			http++;
			assert_int_equal(got.r[i].error.code, SK_ETIMEOUT);
		}
	}
	assert_int_equal(http, 2);
	assert_int_equal(got.n, 2 * (1 + 6));
	agent_sampler_destroy(s);
	pthread_mutex_destroy(&got.mu);
}

/* Phases an agent cannot sample are refused before anything runs. */
static void
test_phase_check_refuses_what_it_cannot_sample(void **state)
{
	sk_plan *p = make_plan(true), *empty = make_plan(false);
	sk_err err;

	(void)state;
	assert_int_equal(agent_sample_phase_check(p, 1, "af", &err), SK_EINVAL);
	assert_contains(err.msg, "the plan has 1 phases");
	assert_int_equal(agent_sample_phase_check(p, 0, "in", &err), SK_EINVAL);
	assert_contains(err.msg, "does not hold this region");
	assert_int_equal(agent_sample_phase_check(empty, 0, "af", &err), SK_EINVAL);
	assert_contains(err.msg, "no gate checks or health signals");
	sk_plan_destroy(p);
	sk_plan_destroy(empty);
}

/* The http signal of an agent without health_probe errs, saying so. */
static void
test_sample_without_probe_errs_http(void **state)
{
	sk_agent_config cfg;
	sk_db_config dbs[2];
	char ci[256], gone[256], url[128];
	agent_sampler *s;
	const sk_report *r;
	sk_err err;

	(void)state;
	config(&cfg, dbs, ci, gone, url);
	cfg.ndatabases = 0;
	cfg.health_probe = NULL;
	memset(&got, 0, sizeof(got));
	pthread_mutex_init(&got.mu, NULL);
	s = agent_sampler_create(&cfg, collect, &got);
	assert_non_null(s);
	assert_int_equal(
	    agent_sampler_start(s, "r-1", make_plan(true), 0, 3, NULL, &err), SK_OK);
	agent_sampler_join(s);
	assert_int_equal(got.n, 1);
	r = find_item("", "http");
	assert_int_equal(r->error.code, SK_EINVAL);
	assert_contains(r->error.msg, "no health_probe");
	agent_sampler_destroy(s);
	pthread_mutex_destroy(&got.mu);
}

#define DB_TEST(f) cmocka_unit_test_setup_teardown(f, setup_db, teardown_db)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DB_TEST(test_lock_waits_counts_backends_waiting_now),
		DB_TEST(test_deadlocks_counts_a_deadlock_since_the_last_sample),
		DB_TEST(test_rollbacks_per_s_counts_rollbacks_not_its_own),
		DB_TEST(test_replication_lag_is_zero_without_standby),
		DB_TEST(test_unknown_signal_is_refused),
		DB_TEST(test_signal_on_a_closed_connection_errs),
		cmocka_unit_test(test_probe_reads_the_number),
		cmocka_unit_test(test_probe_errs_on_500_garbage_silence_and_refusal),
		DB_TEST(test_sample_reports_each_item_per_database),
		DB_TEST(test_sample_still_running_makes_the_next_a_noop),
		cmocka_unit_test(test_phase_check_refuses_what_it_cannot_sample),
		cmocka_unit_test(test_sample_without_probe_errs_http),
	};

	return cmocka_run_group_tests(tests, setup_fixture, teardown_fixture);
}

/* reports.h: helpers the agent integration tests share to watch what the
 * agent reports and to act while it runs: a thread-safe collector of
 * sk_report (the report callback agent_exec and agent_db_ctx call, from
 * any thread), lookups in it, and a thread that ends a blocker's
 * transaction after a delay. Header-only: test programs include it after
 * <cmocka.h>; nothing else does. */
#ifndef REPORTS_H
#define REPORTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "sk_util.h"
#include "sk_wire.h"

/* How long wait_report waits for a report before giving up. */
#define REPORT_WAIT_MS 30000

/* Every report received, in order. db, if set, is the database that
 * callers stamping reports themselves (agent_db_ctx's emit) give them. */
typedef struct collector {
	pthread_mutex_t mu;
	char db[64];
	sk_report *r;
	size_t n, cap;
} collector;

/* The report callback: keep a copy of rep (dropped if out of memory). */
static inline void
collect(void *arg, const sk_report *rep)
{
	collector *c = arg;

	pthread_mutex_lock(&c->mu);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		sk_report *nr = realloc(c->r, cap * sizeof(*nr));

		if (nr == NULL) {
			pthread_mutex_unlock(&c->mu);
			return;
		}
		c->r = nr;
		c->cap = cap;
	}
	c->r[c->n++] = *rep;
	pthread_mutex_unlock(&c->mu);
}

/* db may be NULL (the reports carry their own database). */
static inline void
collector_init(collector *c, const char *db)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->mu, NULL);
	if (db != NULL)
		snprintf(c->db, sizeof(c->db), "%s", db);
}

static inline void
collector_fini(collector *c)
{
	free(c->r);
	pthread_mutex_destroy(&c->mu);
}

/* How many reports match event, db and step (db or step NULL: any); the
 * first is copied to out (may be NULL). */
static inline size_t
find_report(collector *c, int event, const char *db, const char *step, sk_report *out)
{
	size_t hits = 0;

	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->n; i++) {
		const sk_report *r = &c->r[i];

		if (r->event != event || (db != NULL && strcmp(r->database, db) != 0) ||
		    (step != NULL && strcmp(r->step_id, step) != 0))
			continue;
		if (hits++ == 0 && out != NULL)
			*out = *r;
	}
	pthread_mutex_unlock(&c->mu);
	return hits;
}

/* How many reports match event, db and step (as find_report) and have
 * needle in their detail. */
static inline size_t
count_detail(collector *c, int event, const char *db, const char *step, const char *needle)
{
	size_t hits = 0;

	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->n; i++) {
		const sk_report *r = &c->r[i];

		if (r->event != event || (db != NULL && strcmp(r->database, db) != 0) ||
		    (step != NULL && strcmp(r->step_id, step) != 0))
			continue;
		if (strstr(r->detail, needle) != NULL)
			hits++;
	}
	pthread_mutex_unlock(&c->mu);
	return hits;
}

/* find_report, polling for up to REPORT_WAIT_MS until one matches. */
static inline bool
wait_report(collector *c, int event, const char *db, const char *step, sk_report *out)
{
	int64_t until = sk_mono_ms() + REPORT_WAIT_MS;

	while (sk_mono_ms() < until) {
		if (find_report(c, event, db, step, out) > 0)
			return true;
		sk_sleep_ms(20);
	}
	return false;
}

/* Ends conn's open transaction (ROLLBACK) after_ms after
 * rollback_later_start, on its own thread: a blocker that lets go. */
typedef struct rollback_later {
	pthread_t thread;
	PGconn *conn;
	int64_t after_ms;
} rollback_later;

static inline void *
rollback_later_main(void *arg)
{
	rollback_later *rl = arg;

	sk_sleep_ms(rl->after_ms);
	PQclear(PQexec(rl->conn, "ROLLBACK"));
	return NULL;
}

static inline void
rollback_later_start(rollback_later *rl, PGconn *conn, int64_t after_ms)
{
	rl->conn = conn;
	rl->after_ms = after_ms;
	assert_int_equal(
	    pthread_create(&rl->thread, NULL, rollback_later_main, rl), 0);
}

static inline void
rollback_later_join(rollback_later *rl)
{
	pthread_join(rl->thread, NULL);
}

#endif

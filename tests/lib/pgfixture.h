/* pgfixture.h: the PostgreSQL cluster that CTest's `pg` fixture starts for
 * the integration test programs (tests/CMakeLists.txt, pgcluster.sh), and
 * the helpers they share to use it: connect, run SQL, read one value,
 * create and drop a scratch database. Every helper fails the current test
 * (cmocka fail()) instead of returning an error. Header-only: test
 * programs include it after <cmocka.h>; nothing else does. */
#ifndef PGFIXTURE_H
#define PGFIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "sk_pg.h"

/* Fail the test unless the string hay contains needle. */
#define assert_contains(hay, needle)                                \
do {                                                                \
const char *h_ = (hay), *n_ = (needle);                             \
if (h_ == NULL || strstr(h_, n_) == NULL) {                         \
print_error("expected \"%s\" in \"%s\"\n", n_, h_ ? h_ : "(null)"); \
fail();                                                             \
}                                                                   \
} while (0)

/* Read the fixture cluster's port from $SKEIN_PGFIXTURE/port into port.
 * Returns 0, or -1 after saying on stderr why (not run through ctest, or
 * the cluster is not there). */
static inline int
pgfixture_port(char *port, size_t len)
{
	const char *dir = getenv("SKEIN_PGFIXTURE");
	char path[600], buf[16];
	size_t n;
	FILE *f;

	if (dir == NULL) {
		fprintf(stderr, "SKEIN_PGFIXTURE is not set: run through ctest\n");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/port", dir);
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "read %s: no fixture cluster\n", path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	snprintf(port, len, "%s", buf);
	return 0;
}

/* A TCP port on 127.0.0.1 with nothing listening (the kernel picked it
 * free a moment ago). Fails the current test if no socket can be had. */
static inline int
pgfixture_free_port(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* The conninfo of database db on the fixture cluster (port), as postgres. */
static inline void
pgfixture_conninfo(char *buf, size_t len, const char *port, const char *db)
{
	int n = snprintf(buf, len,
	    "host=127.0.0.1 port=%s user=postgres dbname=%s", port, db);

	assert_true(n > 0 && (size_t)n < len);
}

/* Connect to db as postgres through sk_pg_connect, with application_name
 * app (NULL: libpq's default). */
static inline PGconn *
pgfixture_connect(const char *port, const char *db, const char *app)
{
	char ci[256];
	PGconn *c = NULL;
	sk_err err;

	pgfixture_conninfo(ci, sizeof(ci), port, db);
	if (sk_pg_connect(ci, app, &c, &err) != SK_OK) {
		print_error("connect to %s: %s\n", db, err.msg);
		fail();
	}
	return c;
}

/* Run sql (one or more statements) on c. */
static inline void
pgfixture_exec(PGconn *c, const char *sql)
{
	sk_err err;

	if (sk_pg_exec(c, "test", sql, NULL, &err) != SK_OK) {
		print_error("%s: %s\n", sql, err.msg);
		fail();
	}
}

/* The first column of the first row sql returns, into buf ("" for NULL,
 * "<none>" for no row). */
static inline const char *
pgfixture_scalar(PGconn *c, const char *sql, char *buf, size_t len)
{
	PGresult *res = NULL;
	sk_err err;

	if (sk_pg_exec(c, "query", sql, &res, &err) != SK_OK) {
		print_error("%s: %s\n", sql, err.msg);
		fail();
	}
	snprintf(buf, len, "%s", PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "<none>");
	PQclear(res);
	return buf;
}

/* Run sql on a connection of its own to db. */
static inline void
pgfixture_exec_db(const char *port, const char *db, const char *sql)
{
	PGconn *c = pgfixture_connect(port, db, NULL);

	pgfixture_exec(c, sql);
	PQfinish(c);
}

/* pgfixture_scalar on a connection of its own to db. */
static inline const char *
pgfixture_scalar_db(
    const char *port, const char *db, const char *sql, char *buf, size_t len)
{
	PGconn *c = pgfixture_connect(port, db, NULL);

	pgfixture_scalar(c, sql, buf, len);
	PQfinish(c);
	return buf;
}

/* pgfixture_scalar_db as a number (0 when it is none). */
static inline long
pgfixture_long_db(const char *port, const char *db, const char *sql)
{
	char buf[64];

	return strtol(pgfixture_scalar_db(port, db, sql, buf, sizeof(buf)), NULL, 10);
}

/* DROP DATABASE IF EXISTS name WITH (FORCE): the sessions still in it
 * are ended. */
static inline void
pgfixture_drop_db(const char *port, const char *name)
{
	char sql[512];
	int n = snprintf(
	    sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);

	assert_true(n > 0 && (size_t)n < sizeof(sql));
	pgfixture_exec_db(port, "postgres", sql);
}

/* Database name, new and empty: one of that name is dropped first. */
static inline void
pgfixture_recreate_db(const char *port, const char *name)
{
	char sql[512];
	int n;

	pgfixture_drop_db(port, name);
	n = snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	assert_true(n > 0 && (size_t)n < sizeof(sql));
	pgfixture_exec_db(port, "postgres", sql);
}

/* A new, empty database named it_TAG_PID_N (N counts up per program)
 * into name. */
static inline void
pgfixture_create_db(const char *port, const char *tag, char *name, size_t len)
{
	static int counter;

	snprintf(name, len, "it_%s_%ld_%d", tag, (long)getpid(), ++counter);
	pgfixture_recreate_db(port, name);
}

#endif

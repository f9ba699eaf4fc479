/* pgfixture.h: the PostgreSQL cluster that CTest's `pg` fixture starts for
 * the integration test programs (tests/CMakeLists.txt, pgcluster.sh).
 * Header-only: test programs include it after <cmocka.h>; nothing else
 * does. */
#ifndef PGFIXTURE_H
#define PGFIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

#endif

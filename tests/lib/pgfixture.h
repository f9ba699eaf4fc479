/* pgfixture.h: the PostgreSQL cluster that CTest's `pg` fixture starts for
 * the integration test programs (tests/CMakeLists.txt, pgcluster.sh).
 * Header-only: test programs include it; nothing else does. */
#ifndef PGFIXTURE_H
#define PGFIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#endif

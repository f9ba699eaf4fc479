/* fuzz_util: the setup every harness shares. Nothing here is fuzzed; a
 * failure in it aborts, because a harness that cannot set up would
 * otherwise report clean runs that tested nothing. */
/* nftw(3) is an X/Open extension. */
#define _XOPEN_SOURCE 700

#include "fuzz_util.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sk_log.h"
#include "sk_util.h"

static char scratch[512];

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

static void
remove_scratch(void)
{
	if (scratch[0] != '\0')
		(void)nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void
fuzz_init(const char *harness)
{
	const char *tmp = getenv("TMPDIR");
	sk_err err;

	if (sk_crypto_init(&err) != SK_OK)
		fuzz_fail(harness, "init: %s", err.msg);
	sk_log_init(harness, NULL);
	sk_log_set_level(SK_LOG_ERROR);
	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	snprintf(scratch, sizeof(scratch), "%s/skein-fuzz-%s.XXXXXX", tmp, harness);
	if (mkdtemp(scratch) == NULL) {
		scratch[0] = '\0';
		fuzz_fail(harness,
		    "init: cannot create a scratch directory in %s", tmp);
	}
	atexit(remove_scratch);
}

const char *
fuzz_scratch(void)
{
	return scratch;
}

char *
fuzz_path(const char *rel)
{
	char *p = sk_path_join(scratch, rel);

	if (p == NULL)
		fuzz_fail("fuzz", "out of memory");
	return p;
}

void
fuzz_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const uint8_t *p = data;
	size_t done = 0;

	if (fd < 0)
		fuzz_fail("fuzz", "cannot create %s", path);
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);

		if (n <= 0) {
			close(fd);
			fuzz_fail("fuzz", "cannot write %s", path);
		}
		done += (size_t)n;
	}
	close(fd);
}

void
fuzz_mkdir(const char *path)
{
	sk_err err;

	if (sk_mkdir_p(path, 0700, &err) != SK_OK)
		fuzz_fail("fuzz", "%s", err.msg);
}

void
fuzz_make_inventory(const char *const *names, size_t n)
{
	char *dir = fuzz_path("regions");
	char *keys = fuzz_path("regions/keys");
	char rel[256], text[512];
	sk_err err;

	fuzz_mkdir(keys);
	for (size_t i = 0; i < n; i++) {
		char *base, *file;

		snprintf(rel, sizeof(rel), "agent-%s", names[i]);
		base = sk_path_join(keys, rel);
		snprintf(rel, sizeof(rel), "%s.yaml", names[i]);
		file = sk_path_join(dir, rel);
		if (base == NULL || file == NULL)
			fuzz_fail("fuzz", "out of memory");
		if (sk_key_generate(base, &err) != SK_OK)
			fuzz_fail("fuzz", "%s", err.msg);
		snprintf(text, sizeof(text),
		    "name: %s\nresidency: %s\nagent_key: keys/agent-%s.pub\n",
		    names[i], names[i], names[i]);
		fuzz_write_file(file, text, strlen(text));
		free(base);
		free(file);
	}
	free(dir);
	free(keys);
}

void
fuzz_fail(const char *harness, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n==fuzz %s== property failed: ", harness);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void
fuzz_expect_same(const char *harness, const char *what, const uint8_t *a,
    size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen || (alen > 0 && memcmp(a, b, alen) != 0))
		fuzz_fail(harness, "%s: %zu bytes, then %zu different bytes",
		    what, alen, blen);
}

size_t
fuzz_touch(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

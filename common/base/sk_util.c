/* sk_util: clocks, durations, whole-file I/O with crash-safe replacement,
 * paths and identifiers. Nothing here keeps state between calls. */
#include "sk_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define MS_PER_SEC INT64_C(1000)
#define MS_PER_MIN (60 * MS_PER_SEC)
#define MS_PER_HOUR (60 * MS_PER_MIN)
#define MS_PER_DAY (24 * MS_PER_HOUR)
/* The upper bound of a duration: 100 years of 365.25 days. */
#define DURATION_MAX (INT64_C(36525) * MS_PER_DAY)

int64_t
sk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
sk_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
sk_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sk_sleep_ms(int64_t ms)
{
	struct timespec req, rem;

	if (ms <= 0)
		return;
	req.tv_sec = (time_t)(ms / 1000);
	req.tv_nsec = (long)(ms % 1000) * 1000000L;
	/* A signal interrupts nanosleep; keep sleeping for what is left. */
	while (nanosleep(&req, &rem) != 0 && errno == EINTR)
		req = rem;
}

/* The unit at *p, its length in *ulen; 0 if there is none. "ms" is tried
 * before "m" so that "500ms" is not read as 500 minutes and a stray 's'. */
static int64_t
duration_unit(const char *p, size_t *ulen)
{
	if (p[0] == 'm' && p[1] == 's') {
		*ulen = 2;
		return 1;
	}
	*ulen = 1;
	switch (p[0]) {
	case 's':
		return MS_PER_SEC;
	case 'm':
		return MS_PER_MIN;
	case 'h':
		return MS_PER_HOUR;
	case 'd':
		return MS_PER_DAY;
	default:
		return 0;
	}
}

int
sk_duration_parse(const char *text, int64_t *out_ms, sk_err *err)
{
	const char *p = text;
	int64_t total = 0;

	if (text == NULL || *text == '\0')
		return sk_err_set(err, SK_EINVAL,
		    "parse duration \"\": empty; use e.g. 72h, 1h30m, 45s, 500ms");
	while (*p != '\0') {
		int64_t whole = 0, frac = 0, scale = 1, unit, part;
		int ndigits = 0;
		size_t ulen;

		while (*p >= '0' && *p <= '9') {
			/* 13 digits already exceed any duration we accept. */
			if (++ndigits > 13)
				goto bad;
			whole = whole * 10 + (*p++ - '0');
		}
		if (*p == '.') {
			int nfrac = 0;

			p++;
			while (*p >= '0' && *p <= '9') {
				if (nfrac < 6) {
					frac = frac * 10 + (*p - '0');
					scale *= 10;
				}
				nfrac++;
				p++;
			}
			if (nfrac == 0)
				goto bad;
		} else if (ndigits == 0) {
			goto bad;
		}
		unit = duration_unit(p, &ulen);
		if (unit == 0)
			goto bad;
		p += ulen;
		if (whole > DURATION_MAX / unit)
			goto bad;
		part = whole * unit + frac * unit / scale;
		if (part > DURATION_MAX || total + part > DURATION_MAX)
			goto bad;
		total += part;
	}
	if (total <= 0 || total >= DURATION_MAX)
		goto bad;
	*out_ms = total;
	return SK_OK;
bad:
	return sk_err_set(err, SK_EINVAL,
	    "parse duration \"%s\": expected a positive number with a unit "
	    "(ms, s, m, h, d) below 100 years, e.g. 72h, 1h30m, 45s, 500ms",
	    text);
}

void
sk_duration_format(int64_t ms, char *buf, size_t len)
{
	char tmp[64];
	size_t used = 0;
	const char *sign = "";
	uint64_t v;

	if (buf == NULL || len == 0)
		return;
	if (ms < 0) {
		sign = "-";
		v = (uint64_t)0 - (uint64_t)ms;
	} else {
		v = (uint64_t)ms;
	}
	if (v < 1000) {
		snprintf(buf, len, "%s%llums", sign, (unsigned long long)v);
		return;
	}
	if (v < (uint64_t)MS_PER_MIN) {
		/* Seconds keep one decimal so that 2500ms reads "2.5s". */
		if (v % 1000 / 100 != 0)
			snprintf(buf, len, "%s%llu.%llus", sign,
			    (unsigned long long)(v / 1000),
			    (unsigned long long)(v % 1000 / 100));
		else
			snprintf(buf, len, "%s%llus", sign,
			    (unsigned long long)(v / 1000));
		return;
	}
	{
		static const struct {
			uint64_t ms;
			char unit;
		} parts[] = {
			{ (uint64_t)MS_PER_DAY, 'd' },
			{ (uint64_t)MS_PER_HOUR, 'h' },
			{ (uint64_t)MS_PER_MIN, 'm' },
			{ (uint64_t)MS_PER_SEC, 's' },
		};

		tmp[0] = '\0';
		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
			uint64_t n = v / parts[i].ms;

			v %= parts[i].ms;
			if (n == 0)
				continue;
			used += (size_t)snprintf(tmp + used, sizeof(tmp) - used,
			    "%llu%c", (unsigned long long)n, parts[i].unit);
		}
		snprintf(buf, len, "%s%s", sign, tmp);
	}
}

/* Read fd to end of file into a new NUL-terminated buffer, never more
 * than max + 1 bytes: size is only a hint (pipes, /proc, a file still
 * growing). Messages read "read WHAT PATH: ...". */
static int
read_fd(int fd, off_t size, size_t max, const char *what, const char *path,
    char **out, size_t *out_len, sk_err *err)
{
	char *buf = NULL;
	size_t cap, len = 0;
	int rc;

	cap = size > 0 ? (size_t)size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	buf = malloc(cap + 1);
	if (buf == NULL)
		return sk_err_set(
		    err, SK_ENOMEM, "read %s %s: out of memory", what, path);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nbuf;

			if (len > max)
				break;
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			nbuf = realloc(buf, cap + 1);
			if (nbuf == NULL) {
				rc = sk_err_set(err, SK_ENOMEM,
				    "read %s %s: out of memory", what, path);
				goto out;
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = sk_err_errno(err, SK_EIO, errno, "read %s %s", what, path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		rc = sk_err_set(err, SK_EINVAL,
		    "read %s %s: larger than the limit of %zu bytes", what, path, max);
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
	if (out_len != NULL)
		*out_len = len;
	rc = SK_OK;
out:
	free(buf);
	return rc;
}

int
sk_file_read(const char *path, size_t max, char **out, size_t *out_len, sk_err *err)
{
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sk_err_errno(err, SK_EIO, errno, "read file %s", path);
	if (fstat(fd, &st) != 0) {
		rc = sk_err_errno(err, SK_EIO, errno, "read file %s", path);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = sk_err_set(err, SK_EIO, "read file %s: is a directory", path);
		goto out;
	}
	if (st.st_size > 0 && (uint64_t)st.st_size > max) {
		rc = sk_err_set(err, SK_EINVAL,
		    "read file %s: %lld bytes is larger than the limit of %zu",
		    path, (long long)st.st_size, max);
		goto out;
	}
	rc = read_fd(fd, st.st_size, max, "file", path, out, out_len, err);
out:
	close(fd);
	return rc;
}

/* What a file that is not a regular file is, for messages. */
static const char *
file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	return "a special file";
}

/* True when rel, read as written, climbs above where it starts: "..",
 * "a/../../b". Such a path is refused before the file system is asked
 * anything about it. */
static bool
climbs_out(const char *rel)
{
	long depth = 0;

	while (*rel != '\0') {
		size_t len = strcspn(rel, "/");

		if (len == 2 && rel[0] == '.' && rel[1] == '.') {
			if (--depth < 0)
				return true;
		} else if (len > 0 && !(len == 1 && rel[0] == '.')) {
			depth++;
		}
		rel += len;
		rel += strspn(rel, "/");
	}
	return false;
}

/* Open resolved, a path realpath gave that lies strictly inside root
 * (itself from realpath), one component at a time from root without
 * following a symbolic link anywhere: what is opened is the file realpath
 * checked, even if a directory on the way was swapped for a link since.
 * The last component is opened O_NONBLOCK, so that a FIFO or a device
 * cannot make the open wait. -1 with errno set on failure. */
static int
open_beneath(const char *root, const char *resolved)
{
	size_t n = strlen(root);
	char *rest = sk_strdup(resolved + (n == 1 ? 1 : n + 1));
	char *p, *slash;
	int dfd, fd = -1, e;

	if (rest == NULL) {
		errno = ENOMEM;
		return -1;
	}
	dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (p = rest; dfd >= 0; p = slash + 1) {
		int next;

		slash = strchr(p, '/');
		if (slash == NULL) {
			fd = openat(dfd, p,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
			break;
		}
		*slash = '\0';
		next = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		e = errno;
		close(dfd);
		errno = e;
		dfd = next;
	}
	e = errno;
	if (dfd >= 0)
		close(dfd);
	free(rest);
	errno = e;
	return fd;
}

int
sk_file_read_in_dir(const char *dir, const char *rel, const char *what,
    size_t max, char **out, size_t *out_len, sk_err *err)
{
	char *path = NULL, *root = NULL, *joined = NULL, *resolved = NULL;
	struct stat st;
	size_t n;
	int fd = -1, rc;

	path = rel[0] == '/' ? sk_strdup(rel) : sk_path_join(dir, rel);
	if (path == NULL)
		return sk_err_set(
		    err, SK_ENOMEM, "read %s %s: out of memory", what, rel);
	/* A plan names its files relative to itself, so that it reads the
	 * same wherever it is checked out. */
	if (rel[0] == '/' || rel[0] == '\0') {
		rc = sk_err_set(err, SK_EINVAL,
		    "read %s %s: not a path relative to the directory %s", what,
		    path, dir);
		goto out;
	}
	if (climbs_out(rel)) {
		rc = sk_err_set(err, SK_EINVAL,
		    "read %s %s: it climbs out of the directory %s with \"..\"",
		    what, path, dir);
		goto out;
	}
	root = realpath(dir, NULL);
	if (root == NULL) {
		rc = sk_err_errno(err, SK_EIO, errno, "read %s %s", what, path);
		goto out;
	}
	joined = sk_path_join(root, rel);
	if (joined == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "read %s %s: out of memory", what, path);
		goto out;
	}
	resolved = realpath(joined, NULL);
	if (resolved == NULL) {
		rc = sk_err_errno(err, SK_EIO, errno, "read %s %s", what, path);
		goto out;
	}
	/* Inside: root itself, or below it. A link that stays inside is
	 * fine; one that leaves, or ".." that climbs out, is refused before
	 * anything is opened, so nothing of the file can reach a message. */
	n = strlen(root);
	if (strcmp(resolved, root) != 0 &&
	    !(strncmp(resolved, root, n) == 0 && (n == 1 || resolved[n] == '/'))) {
		rc = sk_err_set(err, SK_EINVAL,
		    "read %s %s: it resolves to a file outside the directory %s",
		    what, path, dir);
		goto out;
	}
	if (strcmp(resolved, root) == 0) {
		rc = sk_err_set(err, SK_EINVAL,
		    "read %s %s: is a directory, not a regular file", what, path);
		goto out;
	}
	fd = open_beneath(root, resolved);
	if (fd < 0) {
		rc = sk_err_errno(err, SK_EIO, errno, "read %s %s", what, path);
		goto out;
	}
	/* The descriptor, not the name: what is read is what was checked. */
	if (fstat(fd, &st) != 0) {
		rc = sk_err_errno(err, SK_EIO, errno, "read %s %s", what, path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = sk_err_set(err, SK_EINVAL, "read %s %s: is %s, not a regular file",
		    what, path, file_kind(st.st_mode));
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = sk_err_set(err, SK_EINVAL,
		    "read %s %s: %lld bytes is more than the %zu byte limit",
		    what, path, (long long)st.st_size, max);
		goto out;
	}
	rc = read_fd(fd, st.st_size, max, what, path, out, out_len, err);
out:
	if (fd >= 0)
		close(fd);
	free(resolved);
	free(joined);
	free(root);
	free(path);
	return rc;
}

/* The directory part of path ("." when there is none), as a new string. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	size_t n;

	if (slash == NULL)
		return sk_strdup(".");
	n = (size_t)(slash - path);
	if (n == 0)
		n = 1; /* "/file" lives in "/" */
	dir = malloc(n + 1);
	if (dir == NULL)
		return NULL;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return dir;
}

static int
write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
sk_file_write_atomic(
    const char *path, const void *data, size_t len, int mode, sk_err *err)
{
	char *tmp = NULL, *dir = NULL;
	int fd = -1, dfd = -1, rc;
	size_t plen = strlen(path);

	tmp = malloc(plen + sizeof(".tmp-XXXXXX"));
	dir = dir_of(path);
	if (tmp == NULL || dir == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "write file %s: out of memory", path);
		goto out;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp-XXXXXX", sizeof(".tmp-XXXXXX"));
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = sk_err_errno(err, SK_EIO, errno, "write file %s", path);
		free(tmp);
		tmp = NULL; /* nothing to unlink */
		goto out;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		rc = sk_err_errno(err, SK_EIO, errno, "write file %s", path);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = sk_err_errno(err, SK_EIO, errno, "write file %s", path);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = sk_err_errno(err, SK_EIO, errno, "write file %s", path);
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* Without this the rename itself may not survive a power cut. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		rc = sk_err_errno(err, SK_EIO, errno, "sync directory %s", dir);
		goto out;
	}
	rc = SK_OK;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}

int
sk_mkdir_p(const char *path, int mode, sk_err *err)
{
	struct stat st;
	char *copy;
	size_t len;

	if (path == NULL || *path == '\0')
		return sk_err_set(err, SK_EINVAL, "create directory \"\": empty path");
	copy = sk_strdup(path);
	if (copy == NULL)
		return sk_err_set(
		    err, SK_ENOMEM, "create directory %s: out of memory", path);
	len = strlen(copy);
	/* Walk the prefixes ending before each '/', then the whole path. */
	for (size_t i = 1; i <= len; i++) {
		if (copy[i] != '/' && copy[i] != '\0')
			continue;
		copy[i] = '\0';
		if (mkdir(copy, (mode_t)mode) != 0 && errno != EEXIST) {
			int e = errno;

			free(copy);
			return sk_err_errno(err, SK_EIO, e, "create directory %s", path);
		}
		if (i < len)
			copy[i] = '/';
	}
	free(copy);
	if (stat(path, &st) != 0)
		return sk_err_errno(err, SK_EIO, errno, "create directory %s", path);
	if (!S_ISDIR(st.st_mode))
		return sk_err_set(err, SK_EIO,
		    "create directory %s: exists and is not a directory", path);
	return SK_OK;
}

char *
sk_path_relative_to(const char *base_file, const char *rel)
{
	char *dir, *joined;

	if (rel == NULL)
		return NULL;
	if (rel[0] == '/' || base_file == NULL || strchr(base_file, '/') == NULL)
		return sk_strdup(rel);
	dir = dir_of(base_file);
	if (dir == NULL)
		return NULL;
	joined = sk_path_join(dir, rel);
	free(dir);
	return joined;
}

char *
sk_path_join(const char *dir, const char *name)
{
	size_t dlen, nlen;
	char *out;

	if (dir == NULL || *dir == '\0')
		return sk_strdup(name);
	if (name == NULL)
		return sk_strdup(dir);
	dlen = strlen(dir);
	while (dlen > 1 && dir[dlen - 1] == '/')
		dlen--;
	while (*name == '/')
		name++;
	nlen = strlen(name);
	out = malloc(dlen + nlen + 2);
	if (out == NULL)
		return NULL;
	memcpy(out, dir, dlen);
	if (dir[dlen - 1] != '/')
		out[dlen++] = '/';
	memcpy(out + dlen, name, nlen + 1);
	return out;
}

void
sk_hex(const uint8_t *bytes, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

void
sk_random_id(const char *prefix, char *out, size_t outlen)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t rnd[12];
	size_t plen, n = 0;

	if (out == NULL || outlen == 0)
		return;
	if (prefix == NULL)
		prefix = "";
	plen = strlen(prefix);
	randombytes_buf(rnd, sizeof(rnd));
	/* 5 bits of each byte: 60 bits of randomness, and no modulo bias. */
	for (size_t i = 0; i < plen && n + 1 < outlen; i++)
		out[n++] = prefix[i];
	for (size_t i = 0; i < sizeof(rnd) && n + 1 < outlen; i++)
		out[n++] = alphabet[rnd[i] & 31];
	out[n] = '\0';
}

char *
sk_strdup(const char *s)
{
	size_t n;
	char *d;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	d = malloc(n);
	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

bool
sk_name_valid(const char *s)
{
	size_t n = 0;

	if (s == NULL || s[0] == '.' || s[0] == '-')
		return false;
	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= 63)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return n > 0;
}

void
sk_strv_free(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* sk_util: small helpers every component needs: clocks, durations, files,
 * paths, hex and random identifiers. */
#ifndef SK_UTIL_H
#define SK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"

/* Wall clock in milliseconds / microseconds since the epoch. */
int64_t sk_now_ms(void);
int64_t sk_now_us(void);
/* Monotonic clock in milliseconds, for timeouts and durations. */
int64_t sk_mono_ms(void);
/* Sleep for ms milliseconds; returns early only if ms <= 0. */
void sk_sleep_ms(int64_t ms);

/* Parse a duration such as "72h", "1h30m", "45s", "500ms" or "7d" into
 * milliseconds. Units: ms, s, m, h, d; at least one number+unit pair; the
 * total must be positive and below 100 years. On failure sets err
 * (SK_EINVAL) naming the text and returns it; *out_ms is untouched. */
int sk_duration_parse(const char *text, int64_t *out_ms, sk_err *err) SK_WARN_UNUSED;

/* Format ms as a short human duration ("1h30m", "2.5s", "120ms") into buf. */
void sk_duration_format(int64_t ms, char *buf, size_t len);

/* Read a whole file into a new NUL-terminated buffer (*out, caller frees,
 * *out_len excludes the NUL; out_len may be NULL). Fails with SK_EIO naming
 * the path, or SK_EINVAL if the file is larger than max bytes. */
int sk_file_read(const char *path, size_t max, char **out, size_t *out_len,
    sk_err *err) SK_WARN_UNUSED;

/* Read the regular file rel, named relative to the directory dir, as a
 * directory someone else wrote must be read (a plan from a pull request):
 * rel must be relative and must resolve, symbolic links followed, to a
 * file inside dir (a link that stays inside is fine; one that leaves, or
 * ".." that climbs out, is refused before anything is opened); the file
 * is opened from dir without following links and without blocking (a
 * FIFO or a device never makes it wait), and refused unless fstat of the
 * open descriptor says it is a regular file of at most max bytes; at most
 * max + 1 bytes are read. what names the file in messages, which read
 * "read WHAT DIR/REL: <cause>" (REL as given when absolute) and never
 * quote the file's content. Fails with SK_EIO when the file cannot be
 * reached or read (err->cause is the errno), SK_EINVAL when it is
 * refused, SK_ENOMEM. On success *out is a new NUL-terminated buffer the
 * caller frees, *out_len (may be NULL) its length without the NUL. */
int sk_file_read_in_dir(const char *dir, const char *rel, const char *what,
    size_t max, char **out, size_t *out_len, sk_err *err) SK_WARN_UNUSED;

/* Write data to path atomically: a temporary file in the same directory,
 * fsync, rename, fsync of the directory. mode is the new file's mode
 * (e.g. 0600). On failure the old file, if any, is unchanged. */
int sk_file_write_atomic(const char *path, const void *data, size_t len,
    int mode, sk_err *err) SK_WARN_UNUSED;

/* Create a directory and its parents with mode (like mkdir -p). */
int sk_mkdir_p(const char *path, int mode, sk_err *err) SK_WARN_UNUSED;

/* Resolve rel relative to the directory holding the file `base_file`.
 * An absolute rel is returned as a copy. Returns a new string (caller
 * frees) or NULL when out of memory. */
char *sk_path_relative_to(const char *base_file, const char *rel);

/* Join dir and name with one '/'. New string, caller frees; NULL on OOM. */
char *sk_path_join(const char *dir, const char *name);

/* Lower-case hex of len bytes into out, which holds 2*len+1 chars. */
void sk_hex(const uint8_t *bytes, size_t len, char *out);

/* A random identifier: prefix followed by 12 lower-case base32 chars,
 * e.g. "r-k3x9q2m8w4ab". out must hold strlen(prefix)+13 bytes. */
void sk_random_id(const char *prefix, char *out, size_t outlen);

/* strdup that returns NULL for NULL. */
char *sk_strdup(const char *s);

/* Free n strings and the array that holds them. Accepts NULL. */
void sk_strv_free(char **v, size_t n);

/* True if s is a safe identifier: 1..63 chars of [A-Za-z0-9_.-], not
 * starting with '.' or '-'. Used for region, database, step and plan
 * names so that they can appear in file names and log lines. */
bool sk_name_valid(const char *s);

#endif

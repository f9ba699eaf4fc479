/* fuzz_util: what the libFuzzer harnesses share: libFuzzer's entry points,
 * a scratch directory per process for the decoders that only read files,
 * quiet logging, and a way to fail loudly when a property does not hold.
 *
 * Every harness is one fuzz_<name>.c defining LLVMFuzzerTestOneInput; it
 * must free everything it allocates (LeakSanitizer runs after each input
 * that grew the heap) and must not keep state between inputs beyond what
 * its LLVMFuzzerInitialize set up.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "sk_config.h"
#include "sk_err.h"
#include "sk_key.h"

/* libFuzzer's hooks (declared here for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Once per process: libsodium, logging below errors dropped (a decoder's
 * warnings about bad input would flood the fuzzer's output), and a fresh
 * scratch directory under $TMPDIR (default /tmp) removed again at exit.
 * Aborts when any of it fails: a harness without its setup finds nothing. */
void fuzz_init(const char *harness);

/* The scratch directory fuzz_init made. */
const char *fuzz_scratch(void);

/* fuzz_scratch()/rel as a new string (caller frees); aborts on OOM. */
char *fuzz_path(const char *rel);

/* Replace the file at path with len bytes of data (mode 0600). Aborts on
 * failure: the file system of the scratch directory is not under test. */
void fuzz_write_file(const char *path, const void *data, size_t len);

/* Create directory path (and parents). Aborts on failure. */
void fuzz_mkdir(const char *path);

/* A region inventory in fuzz_scratch()/regions: one region file per name
 * (NAME.yaml with residency NAME) and a freshly generated agent key each,
 * as `skein plan build --regions` reads it. Aborts on failure. */
void fuzz_make_inventory(const char *const *names, size_t n);

/* A property the harness checks does not hold: print what and where to
 * stderr and abort(), so that libFuzzer keeps the input as a crash. */
_Noreturn void fuzz_fail(const char *harness, const char *fmt, ...) SK_PRINTF(2, 3);

/* Fail (fuzz_fail) unless a and b hold the same bytes; what names them
 * ("re-encoded agent message"). */
void fuzz_expect_same(const char *harness, const char *what, const uint8_t *a,
    size_t alen, const uint8_t *b, size_t blen);

/* Touch every byte of a NUL-terminated string so that ASan checks it is
 * readable up to its end; returns its length. */
size_t fuzz_touch(const char *s);

#endif

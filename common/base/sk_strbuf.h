/* sk_strbuf: a growable NUL-terminated string for building SQL and
 * messages. Zero-initialise; on allocation failure oom is set, further
 * appends do nothing, and the caller reports it once at the end. */
#ifndef SK_STRBUF_H
#define SK_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sk_strbuf {
	char *s; /* NULL until the first append */
	size_t len, cap;
	bool oom;
} sk_strbuf;

void sk_strbuf_add(sk_strbuf *b, const char *s);
void sk_strbuf_addf(sk_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Free and zero b. */
void sk_strbuf_fini(sk_strbuf *b);

#endif

/* sk_wire_copy: the copy helpers every codec file shares (sk_wire_int.h).
 * A leaf of its own, so that sk_wire.c and the files it calls in
 * (sk_wire_move.c) can both use them without calling each other. */
#include <string.h>

#include "sk_wire.h"
#include "sk_wire_int.h"

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

/* Copy an identifier; refuse rather than truncate, since a truncated id
 * would silently name something else. */
int
wire_copy_id(char *dst, size_t cap, const char *src, const char *what, sk_err *err)
{
	size_t n = strlen(nz(src));

	if (n >= cap)
		return sk_err_set(err, SK_EDECODE,
		    "decode message: %s is %zu bytes, longer than %zu", what, n,
		    cap - 1);
	memcpy(dst, nz(src), n + 1);
	return SK_OK;
}

/* Copy free text, truncating. */
void
wire_copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(nz(src), cap - 1);

	memcpy(dst, nz(src), n);
	dst[n] = '\0';
}

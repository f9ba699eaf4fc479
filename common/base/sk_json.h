/* sk_json: what the JSON printers of common code (plan descriptions,
 * lint reports) share on top of jansson.
 */
#ifndef SK_JSON_H
#define SK_JSON_H

#include <jansson.h>

/* A new JSON string of s; json_null() for NULL. Text that is not UTF-8
 * (SQL may be in any encoding, a message may be cut in the middle of a
 * character) gets '?' for each non-ASCII byte rather than failing the
 * whole document. NULL only when out of memory. The caller owns the
 * reference. */
json_t *sk_json_str(const char *s);

#endif

/* sk_wire_int: what sk_wire.c (agent and control messages) and
 * sk_wire_cli.c (CLI messages and region reports) share: the copy helpers
 * that refuse or truncate at the edge, and a report's protobuf form.
 * Internal to the codec: nothing outside those two files includes it, so
 * protobuf-c types go no further. */
#ifndef SK_WIRE_INT_H
#define SK_WIRE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"
#include "sk_wire.h"
#include "skein.pb-c.h"

#define WIRE_MAX_ITEMS 4096

/* Storage for one report's protobuf form while it is being packed; the
 * protobuf structs borrow the report's strings. */
typedef struct report_store {
	Skein__V1__Report rep;
	Skein__V1__Error error;
	Skein__V1__CheckResult check;
	Skein__V1__Blocker blockers[SK_BLOCKERS_MAX];
	Skein__V1__Blocker *blockerp[SK_BLOCKERS_MAX];
	Skein__V1__Backup backup;
} report_store;

/* Copy an identifier (NULL reads as ""); SK_EDECODE naming what when it
 * does not fit in cap, rather than truncate it. */
int wire_copy_id(char *dst, size_t cap, const char *src, const char *what, sk_err *err);

/* Copy free text (NULL reads as ""), truncating to cap. */
void wire_copy_text(char *dst, size_t cap, const char *src);

/* Pack m into a new buffer *out (caller frees) of *len bytes. */
int wire_pack_msg(const ProtobufCMessage *m, uint8_t **out, size_t *len, sk_err *err);

/* An error to and from the wire; the protobuf form borrows e's strings. */
void wire_error_to_pb(Skein__V1__Error *pb, const sk_err *e);
void wire_error_from_pb(sk_err *e, const Skein__V1__Error *pb);

/* A report into s, which borrows r's strings. */
void wire_report_to_pb(report_store *s, const sk_report *r);

/* A report from the wire (see sk_wire.c for what is refused). */
int wire_report_from_pb(sk_report *r, const Skein__V1__Report *pb, sk_err *err);

#endif

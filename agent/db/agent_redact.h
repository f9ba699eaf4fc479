/* agent_redact: what of a database may leave the region. DESIGN.md
 * decision 3: what crosses to the coordinator is states, figures and
 * error codes, never row values. The full text — PostgreSQL's DETAIL, the
 * value a check read — stays in the database's `skein` schema
 * (skein.events, skein.checks), readable by people with database access;
 * the reports an agent sends carry only what these functions leave.
 *
 * Pure functions on caller buffers; thread-safe.
 */
#ifndef AGENT_REDACT_H
#define AGENT_REDACT_H

#include <stddef.h>

#include "sk_wire.h"

/* What replaces a withheld value. */
#define AGENT_REDACTED "[withheld]"

/* Replace the values in SQL text, in place: string constants ('...',
 * E'...', dollar-quoted bodies) become '?' and numeric constants ?.
 * Identifiers, keywords and double-quoted names are kept. Text cut off
 * inside a constant (a truncated query) has the rest masked. */
void agent_redact_sql(char *text);

/* Mask, in place, the values PostgreSQL quotes in the message of an error
 * of class 22 (data exception: `invalid input syntax for type integer:
 * "abc"`): every "..." becomes "?". Messages of other classes name
 * objects, not values, and are left as they are. */
void agent_redact_message(char *msg, const char *sqlstate);

/* res->seen as it may leave the region, into out (len > 0): as it is when
 * the check opted in (report_value) or it is a figure (a number, a
 * boolean, NULL, "no rows", "N rows", "succeeded (TAG)"); a SQLSTATE with
 * its message masked as agent_redact_message does; otherwise
 * AGENT_REDACTED. */
void agent_redact_seen(const sk_check_result *res, char *out, size_t len);

/* Make r fit to leave the region: the database's DETAIL replaced by a
 * line saying where it is (region and database), values in class-22
 * messages masked, the host, socket and port of a connection error
 * (SK_ECONN) masked, a check's seen as agent_redact_seen leaves it. */
void agent_redact_report(sk_report *r, const char *region);

#endif

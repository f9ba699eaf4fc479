/* agent_probe: the agent's HTTP probe of the application (agent.yaml
 * health_probe), the exit gates' "http" health signal: a GET whose body
 * starts with a number. Uses nng's HTTP client. Thread-safe: each call
 * has its own client and connection.
 */
#ifndef AGENT_PROBE_H
#define AGENT_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"

/* How long a probe may take, connect to last byte. */
#define AGENT_PROBE_TIMEOUT_MS 2000

/* The number a probe's body starts with: after optional white space, one
 * token (up to white space or the end) that is a finite decimal number as
 * strtod reads it ("42", "-0.5", "1e3"); body need not be terminated.
 * SK_EINVAL naming what it saw when the body is empty, too long to be a
 * number, or its first token is not a finite number ("12abc", "nan",
 * "inf"). */
int agent_probe_parse(
    const char *body, size_t len, double *value, sk_err *err) SK_WARN_UNUSED;

/* GET url (http:// only) within timeout_ms and parse its body
 * (agent_probe_parse). Errors say "probe URL: <cause>": SK_EINVAL for a
 * URL nng cannot parse or that is not http://, SK_ETIMEOUT when it took
 * longer, SK_ENET when the connection is refused or breaks (err->cause:
 * the nng error), SK_EREFUSED for a status other than 2xx, SK_EINVAL for a
 * body that is not a number. *value is 0 on failure. */
int agent_probe_get(const char *url, int64_t timeout_ms, double *value,
    sk_err *err) SK_WARN_UNUSED;

/* POST body (JSON; NULL: none) to url (http:// only) within timeout_ms:
 * SK_OK for a 2xx answer. Errors as agent_probe_get's, naming what
 * ("drain"): the tenant-move drain hook (docs/moves.md). */
int agent_http_post(const char *what, const char *url, const char *body,
    int64_t timeout_ms, sk_err *err) SK_WARN_UNUSED;

#endif

/* agent_probe: GET the application's health URL with nng's HTTP client
 * and read the number its body starts with. Every way it can go wrong
 * (bad URL, refused, slow, non-2xx, no number) is an error the gate
 * reports as the "http" signal having erred, never a value. */
#include "agent_probe.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

/* A number is a short token: a longer one is not what a probe returns. */
#define TOKEN_MAX 64

int
agent_probe_parse(const char *body, size_t len, double *value, sk_err *err)
{
	char tok[TOKEN_MAX + 1], *end;
	size_t i = 0, n = 0;
	double v;

	*value = 0;
	while (i < len && isspace((unsigned char)body[i]))
		i++;
	while (i + n < len && !isspace((unsigned char)body[i + n]) && body[i + n] != '\0')
		n++;
	if (n == 0)
		return sk_err_set(err, SK_EINVAL,
		    "read probe body: empty, expected a number");
	if (n > TOKEN_MAX)
		return sk_err_set(err, SK_EINVAL,
		    "read probe body: its first word is %zu bytes long, "
		    "expected a number",
		    n);
	memcpy(tok, body + i, n);
	tok[n] = '\0';
	errno = 0;
	v = strtod(tok, &end);
	if (end == tok || *end != '\0' || !isfinite(v) || errno == ERANGE)
		return sk_err_set(err, SK_EINVAL,
		    "read probe body: \"%.40s\" is not a finite number", tok);
	*value = v;
	return SK_OK;
}

/* The error of a failed transaction, from nng's code rv. */
static int
transport_error(sk_err *err, const char *what, const char *url, int rv,
    int64_t timeout_ms, const char *hint)
{
	int rc;

	if (rv == NNG_ETIMEDOUT)
		rc = sk_err_set(err, SK_ETIMEOUT, "%s %.200s: no answer within %lld ms",
		    what, url, (long long)timeout_ms);
	else if (rv == NNG_ECONNREFUSED)
		rc = sk_err_set(err, SK_ENET,
		    "%s %.200s: connection refused (nothing listens there)",
		    what, url);
	else
		rc = sk_err_set(
		    err, SK_ENET, "%s %.200s: %s", what, url, nng_strerror(rv));
	err->cause = rv;
	snprintf(err->hint, sizeof(err->hint), "%s", hint);
	return rc;
}

/* One HTTP transaction: method on url (http:// only) with body (NULL:
 * none), within timeout_ms; a 2xx answer's body goes to on_body (NULL:
 * ignored). what names the call in errors, hint is the transport
 * errors' hint. */
static int
http_call(const char *what, const char *hint, const char *method,
    const char *url, const char *body, int64_t timeout_ms,
    int (*on_body)(void *arg, const void *data, size_t len, sk_err *err),
    void *arg, sk_err *err)
{
	nng_url *u = NULL;
	nng_http_client *client = NULL;
	nng_http_req *req = NULL;
	nng_http_res *res = NULL;
	nng_aio *aio = NULL;
	void *data = NULL;
	size_t dlen = 0;
	uint16_t status;
	int rv, rc = SK_OK;

	if ((rv = nng_url_parse(&u, url)) != 0) {
		rc = sk_err_set(err, SK_EINVAL, "%s %.200s: not a URL (%s)",
		    what, url, nng_strerror(rv));
		goto out;
	}
	if (strcmp(u->u_scheme, "http") != 0) {
		rc = sk_err_set(err, SK_EINVAL,
		    "%s %.200s: scheme %s, only http:// is called", what, url,
		    u->u_scheme);
		goto out;
	}
	if ((rv = nng_http_client_alloc(&client, u)) != 0 ||
	    (rv = nng_http_req_alloc(&req, u)) != 0 ||
	    (rv = nng_http_res_alloc(&res)) != 0 ||
	    (rv = nng_aio_alloc(&aio, NULL, NULL)) != 0 ||
	    (rv = nng_http_req_set_method(req, method)) != 0 ||
	    (body != NULL &&
		((rv = nng_http_req_set_header(req, "Content-Type", "application/json")) != 0 ||
		    (rv = nng_http_req_copy_data(req, body, strlen(body))) != 0))) {
		rc = sk_err_set(err, SK_ENOMEM, "%s %.200s: %s", what, url,
		    nng_strerror(rv));
		goto out;
	}
	nng_aio_set_timeout(aio, (nng_duration)timeout_ms);
	nng_http_client_transact(client, req, res, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		rc = transport_error(err, what, url, rv, timeout_ms, hint);
		goto out;
	}
	status = nng_http_res_get_status(res);
	if (status < 200 || status > 299) {
		rc = sk_err_set(err, SK_EREFUSED, "%s %.200s: HTTP status %u %.60s",
		    what, url, (unsigned)status, nng_http_res_get_reason(res));
		snprintf(err->hint, sizeof(err->hint),
		    "the application answered, but not 2xx: see its logs");
		goto out;
	}
	nng_http_res_get_data(res, &data, &dlen);
	if (on_body != NULL)
		rc = on_body(arg, data, dlen, err);
out:
	/* nng's frees do not all accept NULL. */
	if (aio != NULL)
		nng_aio_free(aio);
	if (res != NULL)
		nng_http_res_free(res);
	if (req != NULL)
		nng_http_req_free(req);
	if (client != NULL)
		nng_http_client_free(client);
	if (u != NULL)
		nng_url_free(u);
	return rc;
}

typedef struct probe_arg {
	const char *url;
	double *value;
} probe_arg;

static int
probe_body(void *arg, const void *data, size_t len, sk_err *err)
{
	probe_arg *p = arg;
	int rc = agent_probe_parse(data, len, p->value, err);

	if (rc != SK_OK) {
		sk_err_wrap(err, "probe %.200s", p->url);
		snprintf(err->hint, sizeof(err->hint),
		    "the probe's body must start with a number, e.g. \"0.3\"");
	}
	return rc;
}

int
agent_probe_get(const char *url, int64_t timeout_ms, double *value, sk_err *err)
{
	char hint[400];
	probe_arg p = { url, value };
	int rc;

	*value = 0;
	snprintf(hint, sizeof(hint),
	    "check that the application serves %.200s and that health_probe "
	    "in agent.yaml names it",
	    url);
	rc = http_call(
	    "probe", hint, "GET", url, NULL, timeout_ms, probe_body, &p, err);
	if (rc != SK_OK)
		*value = 0;
	return rc;
}

int
agent_http_post(const char *what, const char *url, const char *body,
    int64_t timeout_ms, sk_err *err)
{
	char hint[400];

	snprintf(hint, sizeof(hint),
	    "check that the application serves %.200s and that agent.yaml names it",
	    url);
	return http_call(what, hint, "POST", url, body, timeout_ms, NULL, NULL, err);
}

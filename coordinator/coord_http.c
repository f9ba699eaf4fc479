/* coord_http: the read-only HTTP API (coord_http.h): libmicrohttpd's
 * daemon, who may ask (bearer tokens), the route table, and the jobs that
 * carry each request to the loop thread and its answer back. The event
 * streams are coord_http_sse.c. */
#include "coord_http.h"

#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coord_dashboard.h"
#include "coord_http_int.h"
#include "sk_log.h"
#include "sk_util.h"
#include "sk_view.h"

/* libmicrohttpd's limits: what a hostile client can hold. */
#define HTTP_THREADS 4               /* epoll workers */
#define HTTP_CONN_LIMIT 2048         /* connections in all (streams too) */
#define HTTP_CONN_TIMEOUT_S 30       /* idle connection (streams ping) */
#define HTTP_CONN_MEMORY (64 * 1024) /* per connection: headers, URL */
#define HTTP_JOB_WAIT_MS 5000        /* the loop's answer, else 503 */
#define HTTP_TOKEN_MAX 4096
#define HTTP_PEM_MAX (1024 * 1024)

/* ---- answers ------------------------------------------------------------ */

static enum MHD_Result
answer(struct MHD_Connection *conn, unsigned status, char *body, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(
	    body != NULL ? strlen(body) : 0, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	if (type != NULL)
		(void)MHD_add_response_header(r, "Content-Type", type);
	(void)MHD_add_response_header(r, "Cache-Control", "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		(void)MHD_add_response_header(r, "Allow", "GET");
	if (status == MHD_HTTP_UNAUTHORIZED)
		(void)MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* {"error": msg} with status. */
static enum MHD_Result answer_error(struct MHD_Connection *conn,
    unsigned status, const char *fmt, ...) SK_PRINTF(3, 4);

static enum MHD_Result
answer_error(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
{
	char msg[512];
	json_t *o;
	char *body;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s,s:i}", "error", msg, "status", (int)status);
	body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return answer(conn, status, body, "application/json");
}

/* ---- tokens ------------------------------------------------------------- */

/* Whether the request carries "Authorization: Bearer T" with T one of the
 * configured tokens. Tokens are compared as BLAKE2b hashes with
 * sodium_memcmp: no early exit, and no length to time. */
static bool
authorized(const coord_http *h, struct MHD_Connection *conn)
{
	const char *v;
	unsigned char hash[crypto_generichash_BYTES];
	bool ok = false;

	if (h->ntokens == 0)
		return true;
	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
		return false;
	v += 7;
	while (*v == ' ')
		v++;
	crypto_generichash(
	    hash, sizeof(hash), (const unsigned char *)v, strlen(v), NULL, 0);
	for (size_t i = 0; i < h->ntokens; i++)
		ok |= sodium_memcmp(hash, h->token_hashes + i * sizeof(hash),
			  sizeof(hash)) == 0;
	sodium_memzero(hash, sizeof(hash));
	return ok;
}

/* Read each token file: one token, surrounding white space dropped; no
 * white space or control characters inside. */
static int
load_tokens(coord_http *h, const sk_http_config *cfg, sk_err *err)
{
	size_t hl = crypto_generichash_BYTES;

	if (cfg->ntokens == 0)
		return SK_OK;
	h->token_hashes = sodium_malloc(cfg->ntokens * hl);
	if (h->token_hashes == NULL)
		return sk_err_set(err, SK_ENOMEM, "load http tokens: out of memory");
	for (size_t i = 0; i < cfg->ntokens; i++) {
		char *buf = NULL, *s, *e;
		size_t len = 0;
		int rc;

		rc = sk_file_read(cfg->tokens[i], HTTP_TOKEN_MAX, &buf, &len, err);
		if (rc != SK_OK)
			return rc;
		for (s = buf; *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'; s++)
			;
		for (e = s + strlen(s); e > s &&
		     (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r');
		     e--)
			;
		*e = '\0';
		rc = SK_OK;
		if (e - s < 16)
			rc = sk_err_set(err, SK_EINVAL,
			    "load http token %s: %s (a token has at least 16 "
			    "characters)",
			    cfg->tokens[i],
			    e == s ? "the file is empty" : "too short");
		for (char *p = s; rc == SK_OK && p < e; p++)
			if (*p <= ' ' || *p > '~')
				rc = sk_err_set(err, SK_EINVAL,
				    "load http token %s: a character that is "
				    "not printable ASCII at offset %zu",
				    cfg->tokens[i], (size_t)(p - buf));
		if (rc == SK_OK)
			crypto_generichash(h->token_hashes + i * hl, hl,
			    (const unsigned char *)s, (size_t)(e - s), NULL, 0);
		sodium_memzero(buf, len);
		free(buf);
		if (rc != SK_OK)
			return rc;
		h->ntokens++;
	}
	return SK_OK;
}

/* ---- jobs --------------------------------------------------------------- */

static void
job_free(http_job *j)
{
	if (j == NULL)
		return;
	free(j->body);
	free(j);
}

/* Queue j for the loop and wait for its answer. False on a timeout or a
 * stop: j then belongs to the loop (or is freed here if still queued). */
static bool
job_run(coord_http *h, http_job *j)
{
	uint64_t one = 1;
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += HTTP_JOB_WAIT_MS / 1000;
	pthread_mutex_lock(&h->mu);
	if (h->stopping) {
		pthread_mutex_unlock(&h->mu);
		job_free(j);
		return false;
	}
	if (h->queue_tail != NULL)
		h->queue_tail->next = j;
	else
		h->queue = j;
	h->queue_tail = j;
	pthread_mutex_unlock(&h->mu);
	if (write(h->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		sk_warn("http: wake the loop: %s", strerror(errno));
	pthread_mutex_lock(&h->mu);
	while (!j->done && !h->stopping)
		if (pthread_cond_timedwait(&h->cv, &h->mu, &until) == ETIMEDOUT)
			break;
	done = j->done;
	if (!done) {
		/* Still queued: take it out; being answered: the loop frees. */
		http_job **pp = &h->queue, *prev = NULL;
		bool queued = false;

		for (; *pp != NULL; prev = *pp, pp = &(*pp)->next)
			if (*pp == j) {
				*pp = j->next;
				if (h->queue_tail == j)
					h->queue_tail = prev;
				queued = true;
				break;
			}
		if (queued)
			job_free(j);
		else
			j->abandoned = true;
	}
	pthread_mutex_unlock(&h->mu);
	return done;
}

/* Loop thread: a rollout (or every one) as the control socket shows it. */
static void
answer_status(const coord_http_source *src, http_job *j)
{
	sk_cli_request req;
	sk_cli_response resp;
	json_t *o = NULL;
	sk_err err;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_STATUS;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", j->id);
	sk_err_clear(&err);
	if (coord_control_read(src->ctl, &req, &resp, &err) != SK_OK) {
		j->status = err.code == SK_ENOTFOUND ? MHD_HTTP_NOT_FOUND :
						       MHD_HTTP_INTERNAL_SERVER_ERROR;
		o = json_pack("{s:s,s:i}", "error", err.msg, "status", (int)j->status);
	} else if (j->kind == JOB_LIST) {
		o = sk_view_rollout_list_json(&resp);
	} else if (resp.nrollouts == 1) {
		o = sk_view_rollout_json(&resp.rollouts[0]);
	}
	if (o != NULL && j->status == 0)
		j->status = MHD_HTTP_OK;
	j->body = o != NULL ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	if (j->body == NULL)
		j->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	json_decref(o);
	sk_cli_response_fini(&resp);
}

static json_t *
time_json(int64_t ms)
{
	char buf[32];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* Loop thread: every region of the inventory and what its agent said. */
static void
answer_regions(const coord_http_source *src, http_job *j)
{
	coord_http_region *r = NULL;
	size_t n = 0;
	json_t *arr = json_array();

	src->regions(src->regions_arg, &r, &n);
	for (size_t i = 0; arr != NULL && i < n; i++) {
		json_t *o = json_object(), *dbs = json_array(), *run = json_array();

		for (size_t k = 0; k < r[i].ndatabases; k++)
			json_array_append_new(dbs, json_string(r[i].databases[k]));
		for (size_t k = 0; k < r[i].nrunning; k++)
			json_array_append_new(run, json_string(r[i].running[k]));
		json_object_set_new(o, "region", json_string(r[i].name));
		json_object_set_new(o, "connected", json_boolean(r[i].connected));
		json_object_set_new(o, "last_seen", time_json(r[i].last_seen_ms));
		json_object_set_new(o, "version", json_string(r[i].version));
		json_object_set_new(o, "databases", dbs);
		json_object_set_new(o, "running", run);
		json_array_append_new(arr, o);
	}
	free(r);
	j->body = arr != NULL ?
	    json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER) :
	    NULL;
	j->status = j->body != NULL ? MHD_HTTP_OK : MHD_HTTP_INTERNAL_SERVER_ERROR;
	json_decref(arr);
}

void
coord_http_serve(coord_http *h, const coord_http_source *src)
{
	http_job *jobs;
	uint64_t n;
	int64_t now = sk_mono_ms();

	if (h == NULL)
		return;
	if (read(h->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		sk_warn("http: read the wake-up: %s", strerror(errno));
	pthread_mutex_lock(&h->mu);
	jobs = h->queue;
	h->queue = h->queue_tail = NULL;
	pthread_mutex_unlock(&h->mu);
	while (jobs != NULL) {
		http_job *j = jobs;

		jobs = j->next;
		j->next = NULL;
		switch (j->kind) {
		case JOB_LIST:
		case JOB_ONE:
			answer_status(src, j);
			break;
		case JOB_REGIONS:
			answer_regions(src, j);
			break;
		case JOB_STREAM:
			sse_open(h, src, j);
			break;
		}
		pthread_mutex_lock(&h->mu);
		if (j->abandoned) {
			if (j->client != NULL) {
				pthread_mutex_unlock(&h->mu);
				sse_client_discard(h, j->client);
				pthread_mutex_lock(&h->mu);
			}
			job_free(j);
		} else
			j->done = true;
		pthread_mutex_unlock(&h->mu);
	}
	pthread_cond_broadcast(&h->cv);
	if (now - h->publish_ms >= COORD_HTTP_PUBLISH_MS) {
		h->publish_ms = now;
		sse_publish(h, src);
	}
}

int
coord_http_fd(const coord_http *h)
{
	return h != NULL ? h->efd : -1;
}

/* ---- routes ------------------------------------------------------------- */

typedef enum MHD_Result (*route_fn)(
    coord_http *h, struct MHD_Connection *conn, const char *id);

/* Run a job of kind for id and send its answer. */
static enum MHD_Result
run_job(coord_http *h, struct MHD_Connection *conn, job_kind kind, const char *id)
{
	http_job *j = calloc(1, sizeof(*j));
	enum MHD_Result ret;
	char *body;

	if (j == NULL)
		return MHD_NO;
	j->kind = kind;
	snprintf(j->id, sizeof(j->id), "%s", id != NULL ? id : "");
	if (kind == JOB_STREAM) {
		const char *last = MHD_lookup_connection_value(
		    conn, MHD_HEADER_KIND, "Last-Event-ID");
		char *end = NULL;

		if (last != NULL) {
			errno = 0;
			j->since = strtoull(last, &end, 10);
			if (errno != 0 || end == last || *end != '\0' || last[0] == '-') {
				free(j);
				return answer_error(conn, MHD_HTTP_BAD_REQUEST,
				    "Last-Event-ID: expected an event's seq, a "
				    "decimal number");
			}
		}
	}
	if (!job_run(h, j))
		return answer_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "the coordinator did not answer within %d ms; try again",
		    HTTP_JOB_WAIT_MS);
	if (j->kind == JOB_STREAM && j->status == MHD_HTTP_OK) {
		struct MHD_Response *r = sse_response(h, j->client, conn);

		job_free(j);
		if (r == NULL)
			return MHD_NO;
		ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
		MHD_destroy_response(r);
		return ret;
	}
	body = j->body;
	j->body = NULL;
	ret = body != NULL ?
	    answer(conn, j->status, body, "application/json") :
	    answer_error(conn, j->status, "%s",
		j->status == MHD_HTTP_NOT_FOUND ? "no such rollout" : "internal error");
	job_free(j);
	return ret;
}

static enum MHD_Result
get_rollouts(coord_http *h, struct MHD_Connection *conn, const char *id)
{
	return run_job(h, conn, JOB_LIST, id);
}

static enum MHD_Result
get_rollout(coord_http *h, struct MHD_Connection *conn, const char *id)
{
	return run_job(h, conn, JOB_ONE, id);
}

static enum MHD_Result
get_events(coord_http *h, struct MHD_Connection *conn, const char *id)
{
	return run_job(h, conn, JOB_STREAM, id);
}

static enum MHD_Result
get_regions(coord_http *h, struct MHD_Connection *conn, const char *id)
{
	return run_job(h, conn, JOB_REGIONS, id);
}

/* The dashboard page (coord_dashboard.h): the same bytes for everyone,
 * never freed. Its policy lets it run its own inline script and style and
 * talk to this address only. */
static enum MHD_Result
get_dashboard(coord_http *h, struct MHD_Connection *conn, const char *id)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)h;
	(void)id;
	r = MHD_create_response_from_buffer(coord_dashboard_html_len,
	    (void *)coord_dashboard_html, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	(void)MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
	(void)MHD_add_response_header(r, "Cache-Control", "no-cache");
	(void)MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	(void)MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	(void)MHD_add_response_header(r, "Content-Security-Policy",
	    "default-src 'none'; script-src 'unsafe-inline'; style-src "
	    "'unsafe-inline'; connect-src 'self'; img-src 'self' data: blob:; "
	    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* The API, one route a line. "{id}" matches one path segment, a rollout
 * id (letters, digits, '.', '_', '-'). */
static const struct {
	const char *pattern;
	route_fn fn;
} routes[] = {
	{ "/api/v1/rollouts", get_rollouts },
	{ "/api/v1/rollouts/{id}", get_rollout },
	{ "/api/v1/rollouts/{id}/events", get_events },
	{ "/api/v1/regions", get_regions },
};

/* Whether url matches pattern; the {id} segment into id (url's bytes,
 * unchecked; "" when longer than idlen allows, which id_valid refuses). */
static bool
route_match(const char *pattern, const char *url, char *id, size_t idlen)
{
	const char *hole = strstr(pattern, "{id}");
	size_t pre, post, ulen = strlen(url), n;
	const char *mid;

	id[0] = '\0';
	if (hole == NULL)
		return strcmp(pattern, url) == 0;
	pre = (size_t)(hole - pattern);
	post = strlen(hole + 4);
	if (ulen <= pre + post || strncmp(url, pattern, pre) != 0 ||
	    strcmp(url + ulen - post, hole + 4) != 0)
		return false;
	mid = url + pre;
	n = ulen - pre - post;
	if (memchr(mid, '/', n) != NULL)
		return false;
	if (n < idlen)
		snprintf(id, idlen, "%.*s", (int)n, mid);
	return true;
}

static bool
id_valid(const char *id)
{
	if (id[0] == '\0')
		return false;
	for (const char *p = id; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return false;
	return strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

/* A path we refuse to look at: not absolute, empty segments, dot
 * segments, bytes outside printable ASCII. */
static bool
path_malformed(const char *url)
{
	if (url[0] != '/')
		return true;
	for (const char *p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p > '~')
			return true;
	return strstr(url, "//") != NULL || strstr(url, "/./") != NULL ||
	    strstr(url, "/../") != NULL ||
	    (strlen(url) >= 2 && strcmp(url + strlen(url) - 2, "/.") == 0) ||
	    (strlen(url) >= 3 && strcmp(url + strlen(url) - 3, "/..") == 0);
}

static enum MHD_Result
count_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	(void)key;
	(void)value;
	(*(unsigned *)cls)++;
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	coord_http *h = cls;
	char id[SK_ID_MAX];
	unsigned nargs = 0;

	(void)version;
	(void)upload_data;
	/* A body is never read: the answer goes before it, and MHD drops
	 * the rest with the connection. */
	if (*con_cls != NULL) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	*con_cls = h;
	/* The dashboard holds no data (every binary has the same page) and a
	 * browser opening an address cannot send a header: it is served
	 * without a token, and sends the one its address carries. */
	if (strcmp(url, "/") == 0 && strcmp(method, MHD_HTTP_METHOD_GET) == 0)
		return get_dashboard(h, conn, NULL);
	if (!authorized(h, conn))
		return answer(conn, MHD_HTTP_UNAUTHORIZED, NULL, NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return answer_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "the HTTP API is read-only: GET only; changes are signed "
		    "skein commands");
	if (path_malformed(url))
		return answer_error(conn, MHD_HTTP_BAD_REQUEST, "malformed path");
	(void)MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, count_arg, &nargs);
	if (nargs > 0)
		return answer_error(conn, MHD_HTTP_BAD_REQUEST,
		    "this API takes no query parameters");
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!route_match(routes[i].pattern, url, id, sizeof(id)))
			continue;
		if (strstr(routes[i].pattern, "{id}") != NULL && !id_valid(id))
			return answer_error(conn, MHD_HTTP_BAD_REQUEST,
			    "malformed rollout id (letters, digits, '.', '_', "
			    "'-', at most %d)",
			    SK_ID_MAX - 1);
		return routes[i].fn(h, conn, id);
	}
	return answer_error(conn, MHD_HTTP_NOT_FOUND, "no such path");
}

/* ---- daemon ------------------------------------------------------------- */

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	sk_info("http: %s", msg);
}

/* listen (HOST:PORT, HOST may be [v6]) into *ss. */
static int
resolve(const char *listen, struct sockaddr_storage *ss, socklen_t *sl, sk_err *err)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	struct addrinfo hints, *ai = NULL;
	size_t hl;
	int rv;

	hl = (size_t)(colon - listen);
	if (listen[0] == '[' && hl >= 2)
		snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), listen + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)hl, listen);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	rv = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rv != 0)
		return sk_err_set(err, SK_EINVAL,
		    "http listen %s: %s (coordinator.yaml http.listen)", listen,
		    gai_strerror(rv));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sl = ai->ai_addrlen;
	freeaddrinfo(ai);
	return SK_OK;
}

static int
read_pem(const char *path, const char *what, char **out, sk_err *err)
{
	size_t len = 0;
	int rc = sk_file_read(path, HTTP_PEM_MAX, out, &len, err);

	if (rc == SK_OK && len == 0)
		rc = sk_err_set(err, SK_EINVAL,
		    "load http %s %s: the file is empty (coordinator.yaml "
		    "http.tls)",
		    what, path);
	return rc;
}

int
coord_http_create(const sk_http_config *cfg, coord_http **out, sk_err *err)
{
	coord_http *h;
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME;
	int rc;

	*out = NULL;
	if (sodium_init() < 0)
		return sk_err_set(err, SK_EIO, "start http: libsodium failed");
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return sk_err_set(err, SK_ENOMEM, "start http: out of memory");
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&h->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&h->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (h->efd < 0) {
		rc = sk_err_errno(err, SK_EIO, errno, "start http: eventfd");
		goto fail;
	}
	if ((rc = load_tokens(h, cfg, err)) != SK_OK)
		goto fail;
	if ((rc = resolve(cfg->listen, &ss, &sl, err)) != SK_OK)
		goto fail;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cfg->tls_cert != NULL) {
		if ((rc = read_pem(cfg->tls_cert, "certificate", &h->tls_cert, err)) != SK_OK ||
		    (rc = read_pem(cfg->tls_key, "key", &h->tls_key, err)) != SK_OK)
			goto fail;
		flags |= MHD_USE_TLS;
	}
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
	    (unsigned)HTTP_THREADS, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)HTTP_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)HTTP_CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)HTTP_CONN_MEMORY, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
	    NULL, h->tls_cert != NULL ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
	    h->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, h->tls_key, MHD_OPTION_END);
	if (h->d == NULL) {
		rc = sk_err_set(err, SK_EIO,
		    "start http on %s: libmicrohttpd refused (the address is "
		    "in use or not local, or the TLS certificate and key do "
		    "not load; see the log above)",
		    cfg->listen);
		goto fail;
	}
	sk_info("serving the HTTP API on %s%s (%zu tokens)", cfg->listen,
	    h->tls_cert != NULL ? " with TLS" : "", h->ntokens);
	if (cfg->tls_cert == NULL && strncmp(cfg->listen, "127.", 4) != 0 &&
	    strncmp(cfg->listen, "localhost:", 10) != 0 &&
	    strncmp(cfg->listen, "[::1]:", 6) != 0)
		sk_warn("http listens on %s without TLS: tokens and rollout "
			"details cross the network in the clear",
		    cfg->listen);
	*out = h;
	return SK_OK;
fail:
	coord_http_destroy(h);
	return rc;
}

void
coord_http_destroy(coord_http *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->stopping = true;
	pthread_mutex_unlock(&h->mu);
	pthread_cond_broadcast(&h->cv);
	/* libmicrohttpd refuses to stop with suspended connections: wake
	 * them; with stopping set their streams end. */
	sse_wake_all(h);
	if (h->d != NULL)
		MHD_stop_daemon(h->d);
	/* Jobs the loop never took: their handlers have gone. */
	while (h->queue != NULL) {
		http_job *j = h->queue;

		h->queue = j->next;
		job_free(j);
	}
	sse_fini(h);
	if (h->efd >= 0)
		close(h->efd);
	if (h->token_hashes != NULL)
		sodium_free(h->token_hashes);
	free(h->tls_cert);
	if (h->tls_key != NULL) {
		sodium_memzero(h->tls_key, strlen(h->tls_key));
		free(h->tls_key);
	}
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

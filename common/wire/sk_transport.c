/* sk_transport: nng listeners and dialers with skein's TLS policy
 * (sk_transport.h). nng on Debian 12 is built with mbedTLS; a config is
 * built here from the PEM files and handed to the endpoint, which keeps
 * its own reference. Failed handshakes, which nng 1.5 only counts, are
 * logged from those counts. */
#include "sk_transport.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/supplemental/tls/tls.h>
#include <sodium.h>

#include "sk_log.h"
#include "sk_util.h"

/* Certificates and keys are small; anything larger is not one. */
#define PEM_MAX (256 * 1024)

bool
sk_transport_is_tls(const char *url)
{
	return url != NULL && strncmp(url, "tls+tcp", 7) == 0;
}

static int
nng_fail(sk_err *err, int rv, const char *what, const char *url)
{
	sk_err_set(err, SK_ENET, "%s %s: %s", what, url, nng_strerror(rv));
	if (err != NULL)
		err->cause = rv;
	return SK_ENET;
}

/* Read a PEM file named by the tls: key `key` (path). */
static int
read_pem(const char *path, const char *key, const char *url, char **out, sk_err *err)
{
	size_t len = 0;
	int rc;

	if (path == NULL)
		return sk_err_set(
		    err, SK_EINVAL, "TLS for %s: tls: sets no %s", url, key);
	rc = sk_file_read(path, PEM_MAX, out, &len, err);
	if (rc != SK_OK)
		return sk_err_wrap(err, "TLS for %s: tls.%s", url, key);
	if (strstr(*out, "-----BEGIN ") == NULL) {
		free(*out);
		*out = NULL;
		return sk_err_set(err, SK_EIO,
		    "TLS for %s: tls.%s %s is not a PEM file", url, key, path);
	}
	return SK_OK;
}

/* A TLS config for mode from tls; *out owned by the caller
 * (nng_tls_config_free). own_required: our certificate must be set. */
static int
build_config(nng_tls_config **out, nng_tls_mode mode, const char *url,
    const sk_tls_config *tls, bool own_required, bool verify_peer, sk_err *err)
{
	nng_tls_config *cfg = NULL;
	char *ca = NULL, *cert = NULL, *key = NULL;
	int rv, rc = SK_OK;

	if ((rv = nng_tls_config_alloc(&cfg, mode)) != 0)
		return nng_fail(err, rv, "TLS config for", url);
	if ((rv = nng_tls_config_version(cfg, NNG_TLS_1_2, NNG_TLS_1_3)) != 0 &&
	    (rv = nng_tls_config_version(cfg, NNG_TLS_1_2, NNG_TLS_1_2)) != 0) {
		rc = nng_fail(err, rv, "TLS versions for", url);
		goto out;
	}
	if (own_required || tls->cert != NULL || tls->key != NULL) {
		rc = read_pem(tls->cert, "cert", url, &cert, err);
		if (rc == SK_OK)
			rc = read_pem(tls->key, "key", url, &key, err);
		if (rc != SK_OK)
			goto out;
		if ((rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0) {
			rc = sk_err_set(err, SK_EIO,
			    "TLS for %s: tls.cert %s and tls.key %s are not a "
			    "certificate and its private key (%s)",
			    url, tls->cert, tls->key, nng_strerror(rv));
			goto out;
		}
	}
	if (verify_peer) {
		rc = read_pem(tls->ca, "ca", url, &ca, err);
		if (rc != SK_OK)
			goto out;
		if ((rv = nng_tls_config_ca_chain(cfg, ca, NULL)) != 0) {
			rc = sk_err_set(err, SK_EIO,
			    "TLS for %s: tls.ca %s holds no usable CA certificate (%s)",
			    url, tls->ca, nng_strerror(rv));
			goto out;
		}
		rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
	} else {
		rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_NONE);
	}
	if (rv != 0) {
		rc = nng_fail(err, rv, "TLS authentication for", url);
		goto out;
	}
	*out = cfg;
	cfg = NULL;
out:
	if (cfg != NULL)
		nng_tls_config_free(cfg);
	/* Key material: wiped, not just freed. */
	if (key != NULL) {
		sodium_memzero(key, strlen(key));
		free(key);
	}
	free(cert);
	free(ca);
	return rc;
}

/* The host of url (after "://", before the port), for the server name. */
static void
url_host(const char *url, char *host, size_t len)
{
	const char *h = strstr(url, "://"), *end;

	h = h != NULL ? h + 3 : url;
	if (*h == '[') {
		h++;
		end = strchr(h, ']');
	} else {
		end = strrchr(h, ':');
	}
	if (end == NULL)
		end = h + strlen(h);
	snprintf(host, len, "%.*s", (int)(end - h), h);
}

/* ---- failed handshakes ---------------------------------------------------
 * nng 1.5 tells nobody when a TLS handshake fails: no pipe is made, so no
 * pipe event fires, and a background dial quietly tries again. It does
 * count the failures in the endpoint's statistics ("auth": NNG_EPEERAUTH
 * or NNG_ECRYPTO, which is also what a peer that does not speak TLS
 * causes). A watcher per TLS endpoint reads that count every second on
 * nng's timer (no thread of ours) and logs a warning when it rose, at most
 * every 30 s, so a misconfigured peer redialing does not flood the log.
 * It ends itself once the endpoint is closed. */

#define WATCH_EVERY_MS 1000
#define WATCH_LOG_MS 30000

typedef struct watch {
	nng_aio *aio;
	bool listener;     /* else a dialer */
	int id;            /* nng_listener_id / nng_dialer_id */
	uint64_t reported; /* failures already logged */
	int64_t logged_ms; /* when the last warning went out; 0: never */
	char url[];
} watch;

/* When the last dialer's warning went out: shared by every dialer, since
 * an agent that drops its connection and dials again (agent_session.c)
 * makes a new dialer each time, and must not warn more often for it. */
static atomic_llong dial_logged_ms;

/* The endpoint's count of failed handshakes, or -1 once it is gone.
 * (nng_stat_find_listener is not used: in 1.5 it finds the first
 * listener of any id.) */
static int64_t
watch_failures(const watch *w)
{
	nng_stat *all = NULL, *ep;
	int64_t n = -1;

	if (nng_stats_get(&all) != 0)
		return 0; /* out of memory: try again next time */
	for (ep = nng_stat_child(all); ep != NULL; ep = nng_stat_next(ep)) {
		nng_stat *id = nng_stat_find(ep, "id"), *auth;

		if (strcmp(nng_stat_name(ep), w->listener ? "listener" : "dialer") != 0 ||
		    id == NULL || nng_stat_value(id) != (uint64_t)w->id)
			continue;
		auth = nng_stat_find(ep, "auth");
		n = auth != NULL ? (int64_t)nng_stat_value(auth) : 0;
		break;
	}
	nng_stats_free(all);
	return n;
}

static void
watch_cb(void *arg)
{
	watch *w = arg;
	int64_t n, now;

	n = nng_aio_result(w->aio) == 0 ? watch_failures(w) : -1;
	if (n < 0) {
		/* Closed (or nng shutting down): the reaper frees the aio,
		 * which cannot be freed from its own callback. */
		nng_aio_reap(w->aio);
		free(w);
		return;
	}
	now = sk_mono_ms();
	if (!w->listener)
		w->logged_ms = atomic_load(&dial_logged_ms);
	if ((uint64_t)n > w->reported &&
	    (w->logged_ms == 0 || now - w->logged_ms >= WATCH_LOG_MS)) {
		uint64_t fresh = (uint64_t)n - w->reported;

		if (w->listener)
			sk_warn("listen on %s: refused %" PRIu64 " connection%s in "
				"the TLS handshake (a client certificate missing or "
				"not signed by tls.ca, a client that does not trust "
				"ours, or a client not speaking TLS)",
			    w->url, fresh, fresh == 1 ? "" : "s");
		else
			sk_warn("dial %s: the TLS handshake failed %" PRIu64
				" time%s (the server's certificate is not signed "
				"by tls.ca or does not carry the server name, or "
				"the server refused our certificate); retrying",
			    w->url, fresh, fresh == 1 ? "" : "s");
		w->reported = (uint64_t)n;
		w->logged_ms = now;
		if (!w->listener)
			atomic_store(&dial_logged_ms, now);
	}
	nng_sleep_aio(WATCH_EVERY_MS, w->aio);
}

/* Start watching a TLS endpoint. Best effort: without memory it is simply
 * not watched. */
static void
watch_start(bool listener, int id, const char *url)
{
	size_t len = strlen(url) + 1;
	watch *w = calloc(1, sizeof(*w) + len);

	if (w == NULL)
		return;
	w->listener = listener;
	w->id = id;
	memcpy(w->url, url, len);
	if (nng_aio_alloc(&w->aio, watch_cb, w) != 0) {
		free(w);
		return;
	}
	nng_sleep_aio(WATCH_EVERY_MS, w->aio);
}

int
sk_transport_listen(nng_socket s, const char *url, const sk_tls_config *tls,
    bool require_peer, sk_err *err)
{
	nng_tls_config *cfg = NULL;
	nng_listener l;
	int rv, rc;

	if (!sk_transport_is_tls(url)) {
		if ((rv = nng_listen(s, url, NULL, 0)) != 0)
			return nng_fail(err, rv, "listen on", url);
		return SK_OK;
	}
	rc = build_config(&cfg, NNG_TLS_MODE_SERVER, url, tls, true, require_peer, err);
	if (rc != SK_OK)
		return rc;
	if ((rv = nng_listener_create(&l, s, url)) != 0) {
		nng_tls_config_free(cfg);
		return nng_fail(err, rv, "listen on", url);
	}
	rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
	nng_tls_config_free(cfg); /* the listener holds its own reference */
	if (rv == 0)
		rv = nng_listener_start(l, 0);
	if (rv != 0) {
		nng_listener_close(l);
		return nng_fail(err, rv, "listen on", url);
	}
	watch_start(true, nng_listener_id(l), url);
	return SK_OK;
}

int
sk_transport_dial(nng_socket s, const char *url, const sk_tls_config *tls,
    int flags, sk_err *err)
{
	nng_tls_config *cfg = NULL;
	nng_dialer d;
	char host[256];
	int rv, rc;

	if (!sk_transport_is_tls(url)) {
		if ((rv = nng_dial(s, url, NULL, flags)) != 0)
			return nng_fail(err, rv, "dial", url);
		return SK_OK;
	}
	rc = build_config(&cfg, NNG_TLS_MODE_CLIENT, url, tls, false, true, err);
	if (rc != SK_OK)
		return rc;
	url_host(url, host, sizeof(host));
	rv = nng_tls_config_server_name(
	    cfg, tls->server_name != NULL ? tls->server_name : host);
	if (rv == 0)
		rv = nng_dialer_create(&d, s, url);
	if (rv != 0) {
		nng_tls_config_free(cfg);
		return nng_fail(err, rv, "dial", url);
	}
	rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
	nng_tls_config_free(cfg);
	if (rv == 0)
		rv = nng_dialer_start(d, flags);
	if (rv == NNG_ECRYPTO || rv == NNG_EPEERAUTH) {
		/* Only a blocking dial sees the handshake: a wrong setting
		 * on one side or the other, which retrying will not fix. */
		nng_dialer_close(d);
		sk_err_set(err, SK_ECRYPTO,
		    "dial %s: the TLS handshake failed: the server's "
		    "certificate is not signed by the CA in %s or does not "
		    "carry the name %s, or the server refused our certificate "
		    "(%s)",
		    url, tls->ca, tls->server_name != NULL ? tls->server_name : host,
		    nng_strerror(rv));
		if (err != NULL)
			err->cause = rv;
		return SK_ECRYPTO;
	}
	if (rv != 0) {
		nng_dialer_close(d);
		return nng_fail(err, rv, "dial", url);
	}
	if (flags & NNG_FLAG_NONBLOCK)
		watch_start(false, nng_dialer_id(d), url);
	return SK_OK;
}

/* ---- closing within a bound ----------------------------------------------- */

/* One sk_transport_close_within: its sockets, and whether their closes
 * ended. Shared by the closing thread and the caller; the last one to let
 * go frees it. */
typedef struct closing {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*stall)(void);
	size_t n;
	bool done; /* under mu */
	int refs;  /* under mu */
	nng_socket socks[];
} closing;

static void
closing_unref(closing *c)
{
	bool last;

	pthread_mutex_lock(&c->mu);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->mu);
	if (last) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		free(c);
	}
}

static void *
closing_main(void *arg)
{
	closing *c = arg;

	if (c->stall != NULL)
		c->stall();
	for (size_t i = 0; i < c->n; i++)
		nng_close(c->socks[i]);
	pthread_mutex_lock(&c->mu);
	c->done = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	closing_unref(c);
	return NULL;
}

bool
sk_transport_close_within(
    const nng_socket *socks, size_t n, int wait_ms, void (*stall)(void))
{
	closing *c;
	struct timespec until;
	pthread_condattr_t attr;
	pthread_t th;
	bool done;
	int rc = 0;

	if (n == 0)
		return true;
	c = calloc(1, sizeof(*c) + n * sizeof(c->socks[0]));
	if (c == NULL) {
		/* No memory for the thread's share: close here, unbounded. */
		for (size_t i = 0; i < n; i++)
			nng_close(socks[i]);
		return true;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &attr);
	pthread_condattr_destroy(&attr);
	memcpy(c->socks, socks, n * sizeof(c->socks[0]));
	c->n = n;
	c->stall = stall;
	c->refs = 2;
	if (pthread_create(&th, NULL, closing_main, c) != 0) {
		c->refs = 1;
		closing_main(c); /* no thread to spare: inline, unbounded */
		return true;
	}
	pthread_detach(th);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->mu);
	while (!c->done && rc == 0)
		rc = pthread_cond_timedwait(&c->cv, &c->mu, &until);
	done = c->done;
	pthread_mutex_unlock(&c->mu);
	closing_unref(c);
	return done;
}

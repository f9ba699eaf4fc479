/* sk_transport: nng listeners and dialers with skein's TLS policy
 * (sk_transport.h). nng on Debian 12 is built with mbedTLS; a config is
 * built here from the PEM files and handed to the endpoint, which keeps
 * its own reference. */
#include "sk_transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/supplemental/tls/tls.h>
#include <sodium.h>

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
	if (rv != 0) {
		nng_dialer_close(d);
		return nng_fail(err, rv, "dial", url);
	}
	return SK_OK;
}

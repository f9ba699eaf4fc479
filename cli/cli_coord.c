/* cli_coord: the CLI's REQ socket to the coordinator. A command that
 * sends one request dials, asks and closes (cli_coord_call); one that
 * polls (wait and watch, every 200 ms) keeps its socket between requests
 * (cli_coord_conn), since a dial costs both ends a TLS handshake, and
 * dials afresh after any failure, which finds a coordinator that
 * restarted in between. Each request is signed by the operator's key
 * with a fresh nonce (coordinator side: coord_auth.c). */
#include "cli_coord.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_transport.h"
#include "sk_util.h"

#define CLI_TIMEOUT_MS 10000

/* For tls+tcp:// URLs (cli_coord_tls); borrowed strings. */
static sk_tls_config coord_tls;

static const char *key_flag;

void
cli_coord_set_key(const char *path)
{
	key_flag = path;
}

bool
cli_coord_key_path(char *buf, size_t len, const char **source)
{
	const char *env = getenv("SKEIN_KEY"), *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");

	if (key_flag != NULL && key_flag[0] != '\0') {
		snprintf(buf, len, "%s", key_flag);
		*source = "--key";
		return true;
	}
	if (env != NULL && env[0] != '\0') {
		snprintf(buf, len, "%s", env);
		*source = "SKEIN_KEY";
		return true;
	}
	if (xdg != NULL && xdg[0] != '\0')
		snprintf(buf, len, "%s/skein/operator.key", xdg);
	else if (home != NULL && home[0] != '\0')
		snprintf(buf, len, "%s/.config/skein/operator.key", home);
	else
		return false;
	*source = "the default path";
	return access(buf, F_OK) == 0;
}

/* req as the bytes to send: signed by the operator key when there is
 * one, else as it is. */
static int
seal(const sk_cli_request *req, uint8_t **out, size_t *olen, bool *signed_out,
    sk_err *err)
{
	sk_operator_request orq;
	sk_seckey *key = NULL;
	uint8_t *inner = NULL, *body = NULL;
	size_t ilen = 0, blen = 0;
	char path[1024];
	const char *source = NULL;
	int rc;

	*signed_out = false;
	if ((rc = sk_cli_request_encode(req, &inner, &ilen, err)) != SK_OK)
		return rc;
	if (!cli_coord_key_path(path, sizeof(path), &source)) {
		*out = inner;
		*olen = ilen;
		return SK_OK;
	}
	if ((rc = sk_seckey_load(path, &key, err)) != SK_OK) {
		sk_err_wrap(err, "operator key (from %s)", source);
		goto out;
	}
	memset(&orq, 0, sizeof(orq));
	orq.request = inner;
	orq.request_len = ilen;
	orq.at_ms = sk_now_ms();
	randombytes_buf(orq.nonce, sizeof(orq.nonce));
	if ((rc = sk_operator_request_encode(&orq, &body, &blen, err)) != SK_OK)
		goto out;
	rc = sk_envelope_seal(out, olen, SK_KIND_OPERATOR, body, blen, key, err);
	*signed_out = rc == SK_OK;
out:
	sk_seckey_destroy(key);
	free(inner);
	free(body);
	return rc;
}

void
cli_coord_conn_init(cli_coord_conn *c, const char *url)
{
	memset(c, 0, sizeof(*c));
	c->url = url;
}

void
cli_coord_conn_close(cli_coord_conn *c)
{
	if (c->open)
		nng_close(c->sock);
	c->open = false;
}

static int
conn_dial(cli_coord_conn *c, sk_err *err)
{
	int rv, rc;

	if ((rv = nng_req0_open(&c->sock)) != 0)
		return sk_err_set(err, SK_ENET, "open socket: %s", nng_strerror(rv));
	c->open = true;
	nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, CLI_TIMEOUT_MS);
	nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, CLI_TIMEOUT_MS);
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, 64u * 1024u * 1024u);
	rc = sk_transport_dial(c->sock, c->url, &coord_tls, 0, err);
	if (rc == SK_OK)
		return SK_OK;
	cli_coord_conn_close(c);
	sk_err_wrap(err, "reach coordinator");
	if (rc == SK_ECRYPTO)
		snprintf(err->hint, sizeof(err->hint),
		    "--tls-ca (SKEIN_TLS_CA) must be the CA that signed the "
		    "coordinator's certificate, and the URL's host (or "
		    "--tls-server-name) a name it carries");
	else if (rc == SK_ENET)
		snprintf(err->hint, sizeof(err->hint),
		    "is skein-coordinator running, and is this its `control` "
		    "URL (tls+tcp:// when it uses TLS)?");
	return rc;
}

static int
conn_call(cli_coord_conn *c, const sk_cli_request *req, sk_cli_response *resp,
    sk_err *err)
{
	bool signed_req = false;
	uint8_t *out = NULL;
	size_t olen = 0;
	nng_msg *msg = NULL;
	int rv, rc;

	if (!c->open && (rc = conn_dial(c, err)) != SK_OK)
		return rc;
	if ((rc = seal(req, &out, &olen, &signed_req, err)) != SK_OK)
		goto out;
	if ((rv = nng_send(c->sock, out, olen, 0)) != 0 ||
	    (rv = nng_recvmsg(c->sock, &msg, 0)) != 0) {
		/* The next call dials afresh. */
		cli_coord_conn_close(c);
		rc = sk_err_set(err, SK_ENET, "talk to coordinator at %s: %s",
		    c->url, nng_strerror(rv));
		goto out;
	}
	rc = sk_cli_response_decode(nng_msg_body(msg), nng_msg_len(msg), resp, err);
	if (rc != SK_OK)
		cli_coord_conn_close(c);
	if (rc == SK_OK && !resp->ok && !signed_req && resp->error.code == SK_ECRYPTO) {
		char where[1200];
		const char *src = NULL;

		cli_coord_key_path(where, sizeof(where), &src);
		snprintf(resp->error.hint, sizeof(resp->error.hint),
		    "no operator key: pass --key FILE, set SKEIN_KEY, or put "
		    "one at %.200s (skein keygen --out PATH-without-.key; the "
		    "coordinator must pin its .pub under operators:)",
		    where[0] != '\0' ? where : "~/.config/skein/operator.key");
	}
out:
	nng_msg_free(msg);
	free(out);
	return rc;
}

int
cli_coord_conn_call(cli_coord_conn *c, const sk_cli_request *req,
    sk_cli_response *resp, sk_err *err)
{
	bool kept = c->open;
	int rc = conn_call(c, req, resp, err);

	/* A kept socket's request in flight when the coordinator restarted
	 * is sent again by nng to the new one, which refuses it as made
	 * before it started (coord_auth.c): seal it afresh, once, on a
	 * fresh dial. */
	if (rc == SK_OK && kept && !resp->ok && resp->error.code == SK_EEXPIRED) {
		sk_cli_response_fini(resp);
		cli_coord_conn_close(c);
		rc = conn_call(c, req, resp, err);
	}
	return rc;
}

int
cli_coord_call(const char *url, const sk_cli_request *req,
    sk_cli_response *resp, sk_err *err)
{
	cli_coord_conn c;
	int rc;

	cli_coord_conn_init(&c, url);
	rc = cli_coord_conn_call(&c, req, resp, err);
	cli_coord_conn_close(&c);
	return rc;
}

int
cli_coord_ask(const char *cmd, const char *url, const sk_cli_request *req,
    sk_cli_response *resp)
{
	sk_err err;
	int rc;

	if (cli_coord_call(url, req, resp, &err) != SK_OK) {
		cli_coord_print_err(cmd, &err);
		return err.code != SK_OK ? err.code : SK_ENET;
	}
	if (!resp->ok) {
		cli_coord_print_err(cmd, &resp->error);
		rc = resp->error.code != SK_OK ? resp->error.code : SK_EREFUSED;
		sk_cli_response_fini(resp);
		return rc;
	}
	return SK_OK;
}

void
cli_coord_print_err(const char *cmd, const sk_err *e)
{
	if (e->sqlstate[0])
		cli_errorf(cmd, "%s (SQLSTATE %s)", e->msg, e->sqlstate);
	else
		cli_errorf(cmd, "%s", e->msg);
	if (e->detail[0])
		fprintf(stderr, "  detail: %s\n", e->detail);
	if (e->hint[0])
		fprintf(stderr, "  hint: %s\n", e->hint);
}

void
cli_coord_tls(const struct sk_tls_config *tls)
{
	coord_tls = *tls;
}

bool
cli_coord_option(int c, char *arg, const char **url, sk_tls_config *tls)
{
	switch (c) {
	case 'C':
		*url = arg;
		return true;
	case CLI_OPT_KEY:
		cli_coord_set_key(arg);
		return true;
	case CLI_OPT_TLS_CA:
		tls->ca = arg;
		return true;
	case CLI_OPT_TLS_CERT:
		tls->cert = arg;
		return true;
	case CLI_OPT_TLS_KEY:
		tls->key = arg;
		return true;
	case CLI_OPT_TLS_NAME:
		tls->server_name = arg;
		return true;
	default:
		return false;
	}
}

void
cli_coord_tls_env(sk_tls_config *tls)
{
	*tls = (sk_tls_config){
		.ca = getenv("SKEIN_TLS_CA"),
		.cert = getenv("SKEIN_TLS_CERT"),
		.key = getenv("SKEIN_TLS_KEY"),
		.server_name = getenv("SKEIN_TLS_SERVER_NAME"),
	};
}

void
cli_coord_tls_blanks(sk_tls_config *tls)
{
	char **v[] = { &tls->ca, &tls->cert, &tls->key, &tls->server_name };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (*v[i] != NULL && (*v[i])[0] == '\0')
			*v[i] = NULL;
}

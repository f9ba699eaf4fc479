/* cli_coord: one REQ socket per exchange, dialled and closed each time: a
 * command sends a few requests (wait polls every 200 ms), and a fresh
 * dial finds a coordinator that restarted in between. Each request is
 * signed by the operator's key with a fresh nonce (coordinator side:
 * coord_auth.c). */
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

int
cli_coord_call(const char *url, const sk_cli_request *req,
    sk_cli_response *resp, sk_err *err)
{
	bool signed_req = false;
	nng_socket sock;
	uint8_t *out = NULL;
	size_t olen = 0;
	nng_msg *msg = NULL;
	int rv, rc = SK_OK;

	if ((rv = nng_req0_open(&sock)) != 0)
		return sk_err_set(err, SK_ENET, "open socket: %s", nng_strerror(rv));
	nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, CLI_TIMEOUT_MS);
	nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, CLI_TIMEOUT_MS);
	nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 64u * 1024u * 1024u);
	if ((rc = sk_transport_dial(sock, url, &coord_tls, 0, err)) != SK_OK) {
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
		goto out;
	}
	if ((rc = seal(req, &out, &olen, &signed_req, err)) != SK_OK)
		goto out;
	if ((rv = nng_send(sock, out, olen, 0)) != 0 ||
	    (rv = nng_recvmsg(sock, &msg, 0)) != 0) {
		rc = sk_err_set(err, SK_ENET, "talk to coordinator at %s: %s",
		    url, nng_strerror(rv));
		goto out;
	}
	rc = sk_cli_response_decode(nng_msg_body(msg), nng_msg_len(msg), resp, err);
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
	nng_close(sock);
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

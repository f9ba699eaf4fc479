/* cli_coord: one REQ socket per exchange, dialled and closed each time: a
 * command sends a few requests (wait polls every 200 ms), and a fresh
 * dial finds a coordinator that restarted in between. */
#include "cli_coord.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "sk_transport.h"

#define CLI_TIMEOUT_MS 10000

/* For tls+tcp:// URLs (cli_coord_tls); borrowed strings. */
static sk_tls_config coord_tls;

int
cli_coord_call(const char *url, const sk_cli_request *req,
    sk_cli_response *resp, sk_err *err)
{
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
	if ((rc = sk_cli_request_encode(req, &out, &olen, err)) != SK_OK)
		goto out;
	if ((rv = nng_send(sock, out, olen, 0)) != 0 ||
	    (rv = nng_recvmsg(sock, &msg, 0)) != 0) {
		rc = sk_err_set(err, SK_ENET, "talk to coordinator at %s: %s",
		    url, nng_strerror(rv));
		goto out;
	}
	rc = sk_cli_response_decode(nng_msg_body(msg), nng_msg_len(msg), resp, err);
out:
	nng_msg_free(msg);
	free(out);
	nng_close(sock);
	return rc;
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

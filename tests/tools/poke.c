/* poke: sends hostile bytes to a skein socket, for fault tests. Each mode
 * builds one message, sends it over a REQ socket and waits briefly for an
 * answer, printing "answered N bytes" or "no answer". The daemon under test
 * must log a refusal and keep serving. Only for tests. */
#include <getopt.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_transport.h"
#include "sk_util.h"
#include "sk_wire.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: poke --url URL --mode MODE [--agent-key KEY --region R]\n"
	    "            [--tls-ca CA --tls-cert CRT --tls-key KEY]\n"
	    "modes: random (1 KiB of random bytes), empty, oversized (16 MiB + 1 KiB),\n"
	    "       flip-payload, flip-signature, unpinned, wrong-kind, truncated,\n"
	    "       valid (the last six build a signed AgentMessage first: they need\n"
	    "       --agent-key and --region)\n"
	    "a tls+tcp:// URL needs --tls-ca (and the listen socket a client\n"
	    "certificate: --tls-cert, --tls-key)\n");
}

/* A well-formed, correctly signed AgentMessage from key. */
static int
agent_envelope(const char *region, const sk_seckey *key, int kind,
    uint8_t **out, size_t *len, sk_err *err)
{
	sk_agent_msg m;
	uint8_t *payload = NULL;
	size_t plen = 0;
	int rc;

	memset(&m, 0, sizeof(m));
	snprintf(m.region, sizeof(m.region), "%s", region);
	randombytes_buf(m.nonce, sizeof(m.nonce));
	m.boot_id = 42;
	rc = sk_agent_msg_encode(&m, &payload, &plen, err);
	if (rc == SK_OK)
		rc = sk_envelope_seal(out, len, kind, payload, plen, key, err);
	free(payload);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "mode", required_argument, NULL, 'm' },
		{ "agent-key", required_argument, NULL, 'k' },
		{ "region", required_argument, NULL, 'r' },
		{ "tls-ca", required_argument, NULL, 'a' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *mode = NULL, *keyfile = NULL, *region = "af";
	sk_tls_config tls = { 0 };
	sk_seckey *key = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	nng_socket sock;
	nng_msg *reply = NULL;
	sk_err err;
	int c, rv;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'u')
			url = optarg;
		else if (c == 'm')
			mode = optarg;
		else if (c == 'k')
			keyfile = optarg;
		else if (c == 'r')
			region = optarg;
		else if (c == 'a')
			tls.ca = optarg;
		else if (c == 'c')
			tls.cert = optarg;
		else if (c == 'y')
			tls.key = optarg;
		else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (url == NULL || mode == NULL) {
		usage(stderr);
		return 2;
	}
	if (sk_crypto_init(&err) != SK_OK)
		return 1;
	if (strcmp(mode, "random") == 0) {
		len = 1024;
		buf = malloc(len);
		randombytes_buf(buf, len);
	} else if (strcmp(mode, "empty") == 0) {
		buf = malloc(1);
		len = 0;
	} else if (strcmp(mode, "oversized") == 0) {
		/* Past the envelope limit but under the sockets' receive limit,
		 * so the daemon's own size check refuses it (and says so); far
		 * larger messages are cut by nng at the transport. */
		len = SK_ENVELOPE_MAX + 1024;
		buf = calloc(1, len);
	} else {
		int kind = strcmp(mode, "wrong-kind") == 0 ? SK_KIND_PLAN : SK_KIND_AGENT;

		if (strcmp(mode, "unpinned") == 0) {
			/* A fresh key nobody pinned. */
			char tmpl[] = "/tmp/poke-XXXXXX";
			char *dir = mkdtemp(tmpl);
			char base[64], path[80];

			snprintf(base, sizeof(base), "%s/k", dir ? dir : "/tmp");
			snprintf(path, sizeof(path), "%s.key", base);
			if (dir == NULL || sk_key_generate(base, &err) != SK_OK ||
			    sk_seckey_load(path, &key, &err) != SK_OK) {
				fprintf(stderr, "poke: %s\n", err.msg);
				return 1;
			}
		} else if (keyfile == NULL ||
		    sk_seckey_load(keyfile, &key, &err) != SK_OK) {
			fprintf(stderr, "poke: %s\n",
			    keyfile ? err.msg : "--agent-key needed");
			return 2;
		}
		if (agent_envelope(region, key, kind, &buf, &len, &err) != SK_OK) {
			fprintf(stderr, "poke: %s\n", err.msg);
			return 1;
		}
		if (strcmp(mode, "flip-payload") == 0)
			buf[6] ^= 0x01; /* inside the payload (after kind and the field header) */
		else if (strcmp(mode, "flip-signature") == 0)
			buf[len - 10] ^= 0x80; /* inside the trailing signature */
		else if (strcmp(mode, "truncated") == 0)
			len = len / 2;
		else if (strcmp(mode, "unpinned") != 0 &&
		    strcmp(mode, "wrong-kind") != 0 && strcmp(mode, "valid") != 0) {
			usage(stderr);
			return 2;
		}
	}
	if ((rv = nng_req0_open(&sock)) != 0 ||
	    (rv = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 1500)) != 0 ||
	    (rv = nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, 1500)) != 0) {
		fprintf(stderr, "poke: %s: %s\n", url, nng_strerror(rv));
		return 1;
	}
	if (sk_transport_dial(sock, url, &tls, 0, &err) != SK_OK) {
		fprintf(stderr, "poke: %s\n", err.msg);
		return 1;
	}
	if ((rv = nng_send(sock, buf, len, 0)) != 0) {
		fprintf(stderr, "poke: %s: %s\n", url, nng_strerror(rv));
		return 1;
	}
	if (nng_recvmsg(sock, &reply, 0) == 0) {
		printf("answered %zu bytes\n", nng_msg_len(reply));
		nng_msg_free(reply);
	} else {
		printf("no answer\n");
	}
	fflush(stdout);
	free(buf);
	sk_seckey_destroy(key);
	/* No nng_close: after the peer refuses an oversized message, nng 1.5
	 * can wait forever in close for the write it will never finish. The
	 * process exit releases the socket. */
	_exit(0);
}

/* Unit tests of sk_transport: REQ/REP over tls+tcp:// on loopback with
 * certificates made by deploy/tls/make-certs — mutual TLS works, and a
 * peer with the wrong certificate, no certificate, the wrong name, or
 * plain TCP on the TLS port gets nothing while the listener keeps serving;
 * failed handshakes are logged on both sides.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "sk_transport.h"

static char tmpdir[64];
static char url[64];
static nng_socket rep;
static char path_buf[8][300];

static const char *
p(int slot, const char *name)
{
	snprintf(path_buf[slot], sizeof(path_buf[slot]), "%s/%s", tmpdir, name);
	return path_buf[slot];
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Answer one request, if one comes within ms: echo it back. */
static void
serve_one(int ms)
{
	nng_msg *m = NULL;

	nng_socket_set_ms(rep, NNG_OPT_RECVTIMEO, ms);
	if (nng_recvmsg(rep, &m, 0) == 0 && nng_sendmsg(rep, m, 0) != 0)
		nng_msg_free(m);
}

/* Dial url with tls and send "ping": true when the echo came back. */
static bool
exchange(const char *to, const sk_tls_config *tls, sk_err *err)
{
	nng_socket req;
	nng_msg *m = NULL;
	bool ok = false;

	assert_int_equal(nng_req0_open(&req), 0);
	nng_socket_set_ms(req, NNG_OPT_SENDTIMEO, 1500);
	nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, 1500);
	/* A blocking dial: the handshake's outcome is the dial's. */
	if (sk_transport_dial(req, to, tls, 0, err) != SK_OK)
		goto out;
	assert_int_equal(nng_msg_alloc(&m, 0), 0);
	assert_int_equal(nng_msg_append(m, "ping", 5), 0);
	if (nng_sendmsg(req, m, 0) != 0) {
		nng_msg_free(m);
		goto out;
	}
	serve_one(1500);
	m = NULL;
	if (nng_recvmsg(req, &m, 0) == 0) {
		ok = nng_msg_len(m) == 5 && memcmp(nng_msg_body(m), "ping", 5) == 0;
		nng_msg_free(m);
	}
out:
	nng_close(req);
	return ok;
}

static int
setup(void **state)
{
	const char *data = getenv("SKEIN_TEST_DATA");
	char cmd[1024];
	sk_tls_config server;
	sk_err err;
	int port;

	(void)state;
	if (data == NULL)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sk-tls-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd),
	    "%s/../../deploy/tls/make-certs %s --agent af >/dev/null && "
	    "%s/../../deploy/tls/make-certs %s/other --agent af >/dev/null",
	    data, tmpdir, data, tmpdir);
	if (system(cmd) != 0)
		return -1;
	if (nng_rep0_open(&rep) != 0)
		return -1;
	memset(&server, 0, sizeof(server));
	server.ca = (char *)p(0, "ca.crt");
	server.cert = (char *)p(1, "coordinator.crt");
	server.key = (char *)p(2, "coordinator.key");
	/* A port from the kernel: listen on :0 plainly, read it, reuse it. */
	port = 20000 + (int)(getpid() % 20000);
	for (int tries = 0; tries < 50; tries++, port++) {
		snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", port);
		if (sk_transport_listen(rep, url, &server, true, &err) == SK_OK)
			return 0;
	}
	return -1;
}

static int
teardown(void **state)
{
	(void)state;
	nng_close(rep);
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The agent's TLS files under dir_rel ("" or "other/"). The paths live in
 * shared buffers: each call overwrites the last one's. */
static sk_tls_config
agent_tls(const char *dir_rel)
{
	sk_tls_config t;
	char name[64];

	memset(&t, 0, sizeof(t));
	snprintf(name, sizeof(name), "%sca.crt", dir_rel);
	t.ca = (char *)p(3, name);
	snprintf(name, sizeof(name), "%sagent-af.crt", dir_rel);
	t.cert = (char *)p(4, name);
	snprintf(name, sizeof(name), "%sagent-af.key", dir_rel);
	t.key = (char *)p(5, name);
	return t;
}

static void
test_mutual_tls_exchange_works(void **state)
{
	sk_tls_config t = agent_tls("");
	sk_err err;

	(void)state;
	sk_err_clear(&err);
	assert_true(exchange(url, &t, &err));
	/* By name too: the certificate carries localhost. */
	t.server_name = (char *)"localhost";
	assert_true(exchange(url, &t, &err));
}

static void
test_wrong_certificates_get_nothing_and_the_listener_lives(void **state)
{
	sk_tls_config good = agent_tls(""), t;
	char plain[64];
	sk_err err;

	(void)state;
	/* A client certificate of another CA (it trusts our CA). */
	t = agent_tls("other/");
	t.ca = (char *)p(6, "ca.crt");
	assert_false(exchange(url, &t, &err));
	/* No client certificate at all. */
	t = good = agent_tls("");
	t.cert = NULL;
	t.key = NULL;
	assert_false(exchange(url, &t, &err));
	/* A server we do not trust (our CA is the other one): a blocking
	 * dial says so, as an authentication failure, not a network one. */
	t = agent_tls("other/");
	sk_err_clear(&err);
	assert_false(exchange(url, &t, &err));
	assert_int_equal(err.code, SK_ECRYPTO);
	assert_non_null(strstr(err.msg, "the TLS handshake failed"));
	/* The right server under the wrong name. */
	t = good = agent_tls("");
	t.server_name = (char *)"coordinator.example.net";
	assert_false(exchange(url, &t, &err));
	/* Plain TCP on the TLS port. */
	good = agent_tls("");
	snprintf(plain, sizeof(plain), "tcp://%s", url + strlen("tls+tcp://"));
	assert_false(exchange(plain, &good, &err));
	/* After all of that, a good client still gets its answer. */
	good = agent_tls("");
	assert_true(exchange(url, &good, &err));
}

static void
test_bad_tls_files_are_named(void **state)
{
	sk_tls_config t = agent_tls("");
	nng_socket s;
	sk_err err;

	(void)state;
	assert_int_equal(nng_rep0_open(&s), 0);
	t.cert = (char *)p(4, "missing.crt");
	assert_int_equal(
	    sk_transport_listen(s, "tls+tcp://127.0.0.1:1", &t, true, &err), SK_EIO);
	assert_non_null(strstr(err.msg, "tls.cert"));
	assert_non_null(strstr(err.msg, "missing.crt"));
	t = agent_tls("");
	t.ca = (char *)p(3, "agent-af.key"); /* PEM, but not a certificate */
	assert_int_equal(
	    sk_transport_listen(s, "tls+tcp://127.0.0.1:1", &t, true, &err), SK_EIO);
	assert_non_null(strstr(err.msg, "tls.ca"));
	t = agent_tls("");
	t.key = (char *)p(5, "ca.crt"); /* a certificate where the key goes */
	assert_int_equal(
	    sk_transport_listen(s, "tls+tcp://127.0.0.1:1", &t, true, &err), SK_EIO);
	assert_non_null(strstr(err.msg, "are not a certificate and its private key"));
	t.key = NULL;
	assert_int_equal(
	    sk_transport_listen(s, "tls+tcp://127.0.0.1:1", &t, true, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "tls: sets no key"));
	assert_false(sk_transport_is_tls("tcp://127.0.0.1:1"));
	assert_true(sk_transport_is_tls("tls+tcp://127.0.0.1:1"));
	nng_close(s);
}

/* Whether the file at path holds needle (read whole; it is small). */
static bool
file_has(const char *path, const char *needle)
{
	char buf[16384];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static void
test_failed_handshakes_are_logged_on_both_sides(void **state)
{
	sk_tls_config server, t;
	nng_socket s, d;
	char url2[64];
	const char *log = p(7, "stderr.log");
	int saved, fd, port, i;
	bool listened = false;
	sk_err err;

	(void)state;
	/* A listener of its own: the shared one may have logged its
	 * refusals already, and logs again only after 30 s. */
	assert_int_equal(nng_rep0_open(&s), 0);
	memset(&server, 0, sizeof(server));
	server.ca = (char *)p(0, "ca.crt");
	server.cert = (char *)p(1, "coordinator.crt");
	server.key = (char *)p(2, "coordinator.key");
	port = 20000 + (int)((getpid() + 7919) % 20000);
	for (int tries = 0; tries < 50 && !listened; tries++, port++) {
		snprintf(url2, sizeof(url2), "tls+tcp://127.0.0.1:%d", port);
		listened = sk_transport_listen(s, url2, &server, true, &err) == SK_OK;
	}
	assert_true(listened);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	/* An agent whose certificate is of another CA, dialing in the
	 * background as the agent does. */
	t = agent_tls("other/");
	t.ca = (char *)p(6, "ca.crt");
	assert_int_equal(nng_req0_open(&d), 0);
	nng_socket_set_ms(d, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(d, NNG_OPT_RECONNMAXT, 200);
	assert_int_equal(sk_transport_dial(d, url2, &t, NNG_FLAG_NONBLOCK, &err), SK_OK);
	for (i = 0; i < 100; i++) {
		if (file_has(log, "in the TLS handshake (") &&
		    file_has(log, "the TLS handshake failed"))
			break;
		usleep(50 * 1000);
	}
	nng_close(d);
	nng_close(s);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_true(file_has(log, "listen on tls+tcp://127.0.0.1:"));
	assert_true(
	    file_has(log, "in the TLS handshake (a client certificate missing"));
	assert_true(file_has(log, "the TLS handshake failed"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutual_tls_exchange_works),
		cmocka_unit_test(test_wrong_certificates_get_nothing_and_the_listener_lives),
		cmocka_unit_test(test_bad_tls_files_are_named),
		cmocka_unit_test(test_failed_handshakes_are_logged_on_both_sides),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* server_metrics_test: the coordinator's agent socket, in process, fed
 * what a misconfigured or hostile agent sends: each refusal is counted
 * under its reason in /metrics (coord_server_metrics); an agent signing
 * with a key nobody pinned, or with another region's key, is answered
 * with a refusal signed by the coordinator that says why (and nothing
 * else: no command, no acknowledgement); garbage and a bad signature get
 * no answer; a good agent is answered and shows connected. The text
 * passes promtool. Sockets are ipc:// in a temporary directory. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <sodium.h>

#include "coord_server.h"
#include "coord_testfix.h"
#include "sk_config.h"
#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_util.h"
#include "sk_wire.h"

typedef struct sfix {
	char dir[64];
	char path[256];
	sk_coord_config cfg;
	coord_server *srv;
	atomic_int stop;
	pthread_t loop;
	sk_seckey *af, *in, *stranger;
	sk_keyring coord;
	nng_socket req;
} sfix;

static void
write_file(const sfix *f, const char *name, const char *text)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static sk_seckey *
make_key(const sfix *f, const char *name)
{
	char base[256], path[300];
	sk_seckey *k = NULL;
	sk_err err;

	snprintf(base, sizeof(base), "%s/%s", f->dir, name);
	assert_int_equal(sk_key_generate(base, &err), SK_OK);
	snprintf(path, sizeof(path), "%s.key", base);
	assert_int_equal(sk_seckey_load(path, &k, &err), SK_OK);
	return k;
}

static void *
run_loop(void *arg)
{
	sfix *f = arg;
	sk_err err;

	if (coord_server_run(f->srv, &f->stop, &err) != SK_OK)
		fprintf(stderr, "loop: %s\n", err.msg);
	return NULL;
}

static int
setup(void **state)
{
	sfix *f = calloc(1, sizeof(*f));
	char text[1024], url[200];
	sk_err err;

	assert_non_null(f);
	assert_int_equal(sk_crypto_init(&err), SK_OK);
	assert_int_equal(
	    coord_testfix_mkdtemp(f->dir, sizeof(f->dir), "srvmetrics"), 0);
	f->af = make_key(f, "agent-af");
	f->in = make_key(f, "agent-in");
	f->stranger = make_key(f, "stranger");
	sk_seckey_destroy(make_key(f, "release"));
	sk_seckey_destroy(make_key(f, "coordinator"));
	snprintf(text, sizeof(text), "%s/regions", f->dir);
	assert_int_equal(sk_mkdir_p(text, 0700, &err), SK_OK);
	write_file(f, "regions/af.yaml",
	    "name: af\nresidency: af\nagent_key: ../agent-af.pub\n");
	write_file(f, "regions/in.yaml",
	    "name: in\nresidency: in\nagent_key: ../agent-in.pub\n");
	snprintf(text, sizeof(text),
	    "listen: ipc://%s/agent.sock\ncontrol: ipc://%s/control.sock\n"
	    "regions: regions\nkey: coordinator.key\n"
	    "release_keys: [release.pub]\nstate: state\ninsecure_local: true\n",
	    f->dir, f->dir);
	write_file(f, "coordinator.yaml", text);
	snprintf(f->path, sizeof(f->path), "%s/coordinator.yaml", f->dir);
	if (sk_coord_config_load(f->path, &f->cfg, &err) != SK_OK)
		fail_msg("%s", err.msg);
	if (coord_server_create(&f->cfg, &f->srv, &err) != SK_OK)
		fail_msg("%s", err.msg);
	snprintf(text, sizeof(text), "%s/coordinator.pub", f->dir);
	assert_int_equal(sk_keyring_add_file(&f->coord, text, &err), SK_OK);
	assert_int_equal(pthread_create(&f->loop, NULL, run_loop, f), 0);
	assert_int_equal(nng_req0_open(&f->req), 0);
	assert_int_equal(nng_socket_set_ms(f->req, NNG_OPT_RECVTIMEO, 700), 0);
	assert_int_equal(
	    nng_socket_set_ms(f->req, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE), 0);
	snprintf(url, sizeof(url), "ipc://%s/agent.sock", f->dir);
	assert_int_equal(nng_dial(f->req, url, NULL, 0), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	sfix *f = *state;

	nng_close(f->req);
	coord_server_destroy(f->srv);
	sk_coord_config_fini(&f->cfg);
	sk_keyring_fini(&f->coord);
	sk_seckey_destroy(f->af);
	sk_seckey_destroy(f->in);
	sk_seckey_destroy(f->stranger);
	coord_testfix_rmtree(f->dir);
	free(f);
	return 0;
}

/* An AgentMessage claiming region, polling without waiting, sealed by
 * key; *len its length. The caller frees it. */
static uint8_t *
agent_msg(const char *region, const sk_seckey *key, size_t *len)
{
	sk_agent_msg m;
	uint8_t *payload = NULL, *sealed = NULL;
	size_t plen = 0;
	sk_err err;

	memset(&m, 0, sizeof(m));
	snprintf(m.region, sizeof(m.region), "%s", region);
	snprintf(m.version, sizeof(m.version), "9.9.9");
	randombytes_buf(m.nonce, SK_NONCE_LEN);
	m.boot_id = 42;
	assert_int_equal(sk_agent_msg_encode(&m, &payload, &plen, &err), SK_OK);
	assert_int_equal(
	    sk_envelope_seal(&sealed, len, SK_KIND_AGENT, payload, plen, key, &err),
	    SK_OK);
	free(payload);
	return sealed;
}

/* Send len bytes of buf; the answer, opened and decoded into c, or
 * false when none came (within the socket's receive timeout). */
static bool
exchange(sfix *f, const uint8_t *buf, size_t len, sk_control *c)
{
	nng_msg *msg = NULL;
	uint8_t *payload = NULL;
	size_t plen = 0;
	sk_err err;
	int rv;

	assert_int_equal(nng_msg_alloc(&msg, 0), 0);
	assert_int_equal(nng_msg_append(msg, buf, len), 0);
	assert_int_equal(nng_sendmsg(f->req, msg, 0), 0);
	rv = nng_recvmsg(f->req, &msg, 0);
	if (rv == NNG_ETIMEDOUT)
		return false;
	assert_int_equal(rv, 0);
	assert_int_equal(sk_envelope_open(&payload, &plen, NULL, nng_msg_body(msg),
			     nng_msg_len(msg), SK_KIND_CONTROL, &f->coord, &err),
	    SK_OK);
	nng_msg_free(msg);
	assert_int_equal(sk_control_decode(payload, plen, c, &err), SK_OK);
	free(payload);
	return true;
}

static double
value_of(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	fail_msg("no sample %s", series);
	return -1;
}

static void
test_agent_socket_refusals_are_counted_and_named(void **state)
{
	sfix *f = *state;
	uint8_t junk[512], *msg;
	size_t len;
	sk_control c;
	sk_strbuf text = { 0 };
	char path[300], cmd[400];
	FILE *fp;
	sk_err err;

	randombytes_buf(junk, sizeof(junk));
	assert_false(exchange(f, junk, sizeof(junk), &c)); /* no answer */

	msg = agent_msg("af", f->af, &len);
	msg[len - 5] ^= 0x01;                    /* in the signature */
	assert_false(exchange(f, msg, len, &c)); /* no answer either */
	free(msg);

	msg = agent_msg("af", f->stranger, &len);
	assert_true(exchange(f, msg, len, &c));
	assert_string_equal(c.region, "af");
	assert_non_null(strstr(c.refused, "is not the agent key of any region"));
	assert_non_null(strstr(c.refused_hint, "regions/af.yaml"));
	assert_int_equal(c.ncommands, 0);
	assert_int_equal(c.acked_report_seq, 0);
	sk_control_fini(&c);
	free(msg);

	msg = agent_msg("af", f->in, &len);
	assert_true(exchange(f, msg, len, &c));
	assert_string_equal(c.refused,
	    "it signs with the agent key of region in but says it is region af");
	assert_int_equal(c.ncommands, 0);
	sk_control_fini(&c);
	free(msg);

	msg = agent_msg("af", f->af, &len);
	assert_true(exchange(f, msg, len, &c));
	assert_string_equal(c.refused, "");
	sk_control_fini(&c);
	free(msg);

	atomic_store(&f->stop, 1);
	assert_int_equal(pthread_join(f->loop, NULL), 0);
	/* The loop has ended: this thread may read what it owned. */
	assert_int_equal(coord_server_metrics(f->srv, &text, &err), SK_OK);
	assert_true(value_of(text.s,
			"skein_refused_messages_total{socket=\"agent\",reason=\"malformed\"}") ==
	    1);
	assert_true(value_of(text.s,
			"skein_refused_messages_total{socket=\"agent\",reason=\"bad_signature\"}") ==
	    1);
	assert_true(value_of(text.s,
			"skein_refused_messages_total{socket=\"agent\",reason=\"unknown_key\"}") ==
	    1);
	assert_true(value_of(text.s,
			"skein_refused_messages_total{socket=\"agent\",reason=\"misaddressed\"}") ==
	    1);
	assert_true(
	    value_of(text.s,
		"skein_refused_messages_total{socket=\"agent\",reason=\"replay\"}") == 0);
	assert_true(value_of(text.s,
			"skein_refused_messages_total{socket=\"control\",reason=\"malformed\"}") ==
	    0);
	assert_true(value_of(text.s, "skein_agent_connected{region=\"af\"}") == 1);
	assert_true(value_of(text.s, "skein_agent_connected{region=\"in\"}") == 0);
	snprintf(path, sizeof(path), "%s/metrics.txt", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(fputs(text.s, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	assert_int_equal(system(cmd), 0);
	sk_strbuf_fini(&text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_agent_socket_refusals_are_counted_and_named, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* peer_test: the agent-to-agent move stream's handshake and streams. A
 * full handshake and 10 MB each way, then every way the bytes between the
 * agents can be wrong: another key, another move, a flipped bit in every
 * handshake byte and every chunk byte, truncation, replay, reordering,
 * reflection, data after FINAL, oversized chunks, a replayed handshake.
 * After each refusal the peer must refuse everything else too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "sk_key.h"
#include "sk_peer.h"
#include "sk_util.h"

static char tmpdir[64];
static sk_seckey *target_key; /* the initiator's */
static sk_seckey *source_key; /* the responder's */
static sk_seckey *stranger_key;
static uint8_t *ctx_a, *ctx_b; /* two moves differing in move id only */
static size_t ctx_a_len, ctx_b_len;

static sk_seckey *
make_key(const char *name)
{
	char *base = sk_path_join(tmpdir, name);
	char *path = NULL;
	sk_seckey *key = NULL;
	sk_err err;

	if (base == NULL || sk_key_generate(base, &err) != SK_OK)
		goto out;
	path = malloc(strlen(base) + 5);
	if (path == NULL)
		goto out;
	sprintf(path, "%s.key", base);
	if (sk_seckey_load(path, &key, &err) != SK_OK)
		key = NULL;
out:
	free(base);
	free(path);
	return key;
}

static int
make_context(const char *move_id, uint8_t **out, size_t *len)
{
	sk_peer_context c = {
		.rollout_id = "r-20261203-0001",
		.plan_id = "9f2c1e0a",
		.move_id = move_id,
		.tenant = "acme",
		.source_region = "af",
		.target_region = "in",
	};
	sk_err err;

	return sk_peer_context_encode(out, len, &c, &err);
}

static int
setup(void **state)
{
	sk_err err;

	(void)state;
	if (sk_crypto_init(&err) != SK_OK)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sk-peer-test-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	target_key = make_key("target");
	source_key = make_key("source");
	stranger_key = make_key("stranger");
	if (target_key == NULL || source_key == NULL || stranger_key == NULL)
		return -1;
	if (make_context("0007_move_acme", &ctx_a, &ctx_a_len) != SK_OK ||
	    make_context("0008_move_acme", &ctx_b, &ctx_b_len) != SK_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	sk_seckey_destroy(target_key);
	sk_seckey_destroy(source_key);
	sk_seckey_destroy(stranger_key);
	free(ctx_a);
	free(ctx_b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A peer of role run with key me, pinning pinned, for context ctx. */
static sk_peer *
peer(int role, const sk_seckey *me, const sk_seckey *pinned, const uint8_t *ctx,
    size_t ctx_len)
{
	sk_peer *p = NULL;
	sk_err err;

	assert_int_equal(sk_peer_create(role, me, sk_seckey_public(pinned), ctx,
			     ctx_len, &p, &err),
	    SK_OK);
	assert_non_null(p);
	assert_false(sk_peer_ready(p));
	return p;
}

static sk_peer *
initiator(void)
{
	return peer(SK_PEER_INITIATOR, target_key, source_key, ctx_a, ctx_a_len);
}

static sk_peer *
responder(void)
{
	return peer(SK_PEER_RESPONDER, source_key, target_key, ctx_a, ctx_a_len);
}

/* The handshake between i and r, keeping each message if asked. */
static void
handshake(sk_peer *i, sk_peer *r, uint8_t *hello_out, uint8_t *reply_out,
    uint8_t *finish_out)
{
	uint8_t hello[SK_PEER_HELLO_LEN], reply[SK_PEER_REPLY_LEN];
	uint8_t finish[SK_PEER_FINISH_LEN];
	sk_err err;

	assert_int_equal(sk_peer_hello(hello, i, &err), SK_OK);
	assert_int_equal(sk_peer_reply(reply, r, hello, sizeof(hello), &err), SK_OK);
	assert_false(sk_peer_ready(r));
	assert_int_equal(sk_peer_finish(finish, i, reply, sizeof(reply), &err), SK_OK);
	assert_true(sk_peer_ready(i));
	assert_int_equal(sk_peer_accept(r, finish, sizeof(finish), &err), SK_OK);
	assert_true(sk_peer_ready(r));
	if (hello_out != NULL)
		memcpy(hello_out, hello, sizeof(hello));
	if (reply_out != NULL)
		memcpy(reply_out, reply, sizeof(reply));
	if (finish_out != NULL)
		memcpy(finish_out, finish, sizeof(finish));
}

/* A dead peer refuses every call with SK_ESTATE and is never ready. */
static void
assert_dead(sk_peer *p)
{
	uint8_t buf[SK_PEER_REPLY_LEN + 64];
	uint8_t out[64];
	size_t out_len = 0;
	uint8_t type = 0;
	bool final = false;
	sk_err err;

	assert_false(sk_peer_ready(p));
	assert_int_equal(sk_peer_hello(buf, p, &err), SK_ESTATE);
	assert_int_equal(err.code, SK_ESTATE);
	assert_non_null(strstr(err.msg, "dead"));
	memset(buf, 0, sizeof(buf));
	assert_int_equal(sk_peer_reply(buf, p, buf, SK_PEER_HELLO_LEN, &err), SK_ESTATE);
	assert_int_equal(sk_peer_finish(buf, p, buf, SK_PEER_REPLY_LEN, &err), SK_ESTATE);
	assert_int_equal(sk_peer_accept(p, buf, SK_PEER_FINISH_LEN, &err), SK_ESTATE);
	assert_int_equal(sk_peer_seal(buf, sizeof(buf), &out_len, p, 1,
			     (const uint8_t *)"x", 1, false, &err),
	    SK_ESTATE);
	assert_int_equal(sk_peer_open(out, sizeof(out), &out_len, &type, &final,
			     p, buf, sizeof(buf), &err),
	    SK_ESTATE);
	assert_int_equal(sk_peer_rx_end(p, &err), SK_ESTATE);
}

/* Seal one chunk from p into a new buffer. */
static uint8_t *
seal(sk_peer *p, uint8_t type, const uint8_t *data, size_t len, bool final,
    size_t *out_len)
{
	size_t cap = sk_peer_sealed_len(p, len);
	uint8_t *out = malloc(cap);
	sk_err err;

	assert_non_null(out);
	assert_int_equal(
	    sk_peer_seal(out, cap, out_len, p, type, data, len, final, &err), SK_OK);
	assert_int_equal(*out_len, cap);
	return out;
}

/* Open must succeed with the given type, bytes and finality. */
static void
expect_open(sk_peer *p, const uint8_t *in, size_t in_len, uint8_t want_type,
    const uint8_t *want, size_t want_len, bool want_final)
{
	uint8_t *out = malloc(SK_PEER_CHUNK_MAX);
	size_t out_len = 0;
	uint8_t type = 0;
	bool final = !want_final;
	sk_err err;

	assert_non_null(out);
	assert_int_equal(sk_peer_open(out, SK_PEER_CHUNK_MAX, &out_len, &type,
			     &final, p, in, in_len, &err),
	    SK_OK);
	assert_int_equal(type, want_type);
	assert_int_equal(out_len, want_len);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(final, want_final);
	free(out);
}

/* Open must fail with want, leave the outputs alone and kill the peer. */
static void
expect_open_fails(sk_peer *p, const uint8_t *in, size_t in_len, int want)
{
	uint8_t out[256];
	size_t out_len = 777;
	uint8_t type = 77;
	bool final = true;
	sk_err err;

	memset(out, 0xa5, sizeof(out));
	assert_int_equal(sk_peer_open(out, sizeof(out), &out_len, &type, &final,
			     p, in, in_len, &err),
	    want);
	assert_int_equal(err.code, want);
	assert_true(err.msg[0] != '\0');
	assert_int_equal(out_len, 777);
	assert_int_equal(type, 77);
	assert_true(final);
	for (size_t k = 0; k < sizeof(out); k++)
		assert_int_equal(out[k], 0xa5);
	assert_dead(p);
}

static void
test_peer_context_encoding_is_length_prefixed(void **state)
{
	/* Known vector: two fields, the rest empty. */
	static const uint8_t want[] = { 0, 0, 0, 2, 'r', '1', 0, 0, 0, 0, 0, 0,
		0, 1, 'm', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	sk_peer_context a = { .rollout_id = "r1", .move_id = "m" };
	sk_peer_context b = { .rollout_id = "ab", .plan_id = "c" };
	sk_peer_context c = { .rollout_id = "a", .plan_id = "bc" };
	uint8_t *ea = NULL, *eb = NULL, *ec = NULL;
	size_t la = 0, lb = 0, lc = 0;
	sk_err err;

	(void)state;
	assert_int_equal(sk_peer_context_encode(&ea, &la, &a, &err), SK_OK);
	assert_int_equal(la, sizeof(want));
	assert_memory_equal(ea, want, sizeof(want));
	/* "ab","c" and "a","bc" must not encode alike. */
	assert_int_equal(sk_peer_context_encode(&eb, &lb, &b, &err), SK_OK);
	assert_int_equal(sk_peer_context_encode(&ec, &lc, &c, &err), SK_OK);
	assert_int_equal(lb, lc);
	assert_memory_not_equal(eb, ec, lb);
	free(ea);
	free(eb);
	free(ec);
}

static void
fill_random(uint8_t *buf, size_t len)
{
	randombytes_buf(buf, len);
}

/* Send total bytes from tx to rx in chunks of varying size (the largest
 * allowed among them), the last one final; rx must get them all back. */
static void
stream(sk_peer *tx, sk_peer *rx, size_t total)
{
	static const size_t sizes[] = { 1, 0, 4096, SK_PEER_CHUNK_MAX, 65537,
		777777, 13, SK_PEER_CHUNK_MAX - 1 };
	uint8_t *data = malloc(total);
	uint8_t *got = malloc(total);
	uint8_t *sealed = malloc(SK_PEER_SEALED_MAX);
	uint8_t *plain = malloc(SK_PEER_CHUNK_MAX);
	size_t sent = 0, recvd = 0, k = 0;
	sk_err err;

	assert_non_null(data);
	assert_non_null(got);
	assert_non_null(sealed);
	assert_non_null(plain);
	fill_random(data, total);
	for (;;) {
		size_t n = sizes[k++ % (sizeof(sizes) / sizeof(sizes[0]))];
		size_t sealed_len = 0, plain_len = 0;
		bool last, final = false;
		uint8_t type = 0;

		if (n > total - sent)
			n = total - sent;
		last = sent + n == total;
		assert_int_equal(
		    sk_peer_seal(sealed, SK_PEER_SEALED_MAX, &sealed_len, tx,
			(uint8_t)(k & 0xff), data + sent, n, last, &err),
		    SK_OK);
		sent += n;
		assert_int_equal(sk_peer_open(plain, SK_PEER_CHUNK_MAX, &plain_len,
				     &type, &final, rx, sealed, sealed_len, &err),
		    SK_OK);
		assert_int_equal(type, (uint8_t)(k & 0xff));
		assert_int_equal(plain_len, n);
		memcpy(got + recvd, plain, plain_len);
		recvd += plain_len;
		assert_int_equal(final, last);
		if (last)
			break;
	}
	assert_int_equal(recvd, total);
	assert_memory_equal(got, data, total);
	assert_int_equal(sk_peer_rx_end(rx, &err), SK_OK);
	free(data);
	free(got);
	free(sealed);
	free(plain);
}

static void
test_peer_handshake_then_10mb_each_way(void **state)
{
	sk_peer *i = initiator(), *r = responder();

	(void)state;
	handshake(i, r, NULL, NULL, NULL);
	stream(r, i, 10u * 1000u * 1000u); /* source to target: the rows */
	stream(i, r, 10u * 1000u * 1000u); /* and back */
	assert_true(sk_peer_ready(i));
	assert_true(sk_peer_ready(r));
	sk_peer_destroy(i);
	sk_peer_destroy(r);
}

static void
test_peer_streams_interleave_and_carry_empty_final(void **state)
{
	sk_peer *i = initiator(), *r = responder();
	uint8_t *a, *b, *c, *d;
	size_t al, bl, cl, dl;

	(void)state;
	handshake(i, r, NULL, NULL, NULL);
	a = seal(i, 1, (const uint8_t *)"ask", 3, false, &al);
	b = seal(r, 2, (const uint8_t *)"rows", 4, false, &bl);
	expect_open(r, a, al, 1, (const uint8_t *)"ask", 3, false);
	expect_open(i, b, bl, 2, (const uint8_t *)"rows", 4, false);
	c = seal(r, 3, NULL, 0, true, &cl);
	d = seal(i, 4, NULL, 0, true, &dl);
	expect_open(i, c, cl, 3, NULL, 0, true);
	expect_open(r, d, dl, 4, NULL, 0, true);
	free(a);
	free(b);
	free(c);
	free(d);
	sk_peer_destroy(i);
	sk_peer_destroy(r);
}

/* The initiator meets a responder whose key is not the one it pinned:
 * an impostor source agent, or the real one while a stranger is pinned. */
static void
test_peer_initiator_refuses_responder_with_other_key(void **state)
{
	sk_peer *i = peer(SK_PEER_INITIATOR, target_key, source_key, ctx_a, ctx_a_len);
	/* An impostor source agent: its own key, pinning the right target. */
	sk_peer *r =
	    peer(SK_PEER_RESPONDER, stranger_key, target_key, ctx_a, ctx_a_len);
	uint8_t hello[SK_PEER_HELLO_LEN], reply[SK_PEER_REPLY_LEN];
	uint8_t finish[SK_PEER_FINISH_LEN];
	sk_err err;

	(void)state;
	memset(finish, 0x5a, sizeof(finish));
	assert_int_equal(sk_peer_hello(hello, i, &err), SK_OK);
	assert_int_equal(sk_peer_reply(reply, r, hello, sizeof(hello), &err), SK_OK);
	assert_int_equal(
	    sk_peer_finish(finish, i, reply, sizeof(reply), &err), SK_ECRYPTO);
	assert_non_null(strstr(err.msg, "pinned source agent key"));
	for (size_t k = 0; k < sizeof(finish); k++)
		assert_int_equal(finish[k], 0x5a); /* nothing signed */
	assert_dead(i);
	sk_peer_destroy(i);
	sk_peer_destroy(r);

	i = peer(SK_PEER_INITIATOR, target_key, stranger_key, ctx_a, ctx_a_len);
	r = responder();
	assert_int_equal(sk_peer_hello(hello, i, &err), SK_OK);
	assert_int_equal(sk_peer_reply(reply, r, hello, sizeof(hello), &err), SK_OK);
	assert_int_equal(
	    sk_peer_finish(finish, i, reply, sizeof(reply), &err), SK_ECRYPTO);
	assert_dead(i);
	sk_peer_destroy(i);
	sk_peer_destroy(r);
}

/* th as sk_peer.h defines it, computed here from the public bytes alone:
 * what an active attacker on the path can compute too. */
static void
transcript_of(uint8_t th[32], const uint8_t *ctx, size_t ctx_len, const uint8_t *hello,
    const uint8_t *reply, const sk_seckey *init, const sk_seckey *resp)
{
	static const char dom_ctx[] = "skein/v1/peer-context";
	static const char dom_th[] = "skein/v1/peer-transcript";
	crypto_generichash_state h;
	uint8_t ctx_hash[32];

	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, (const uint8_t *)dom_ctx, sizeof(dom_ctx));
	crypto_generichash_update(&h, ctx, ctx_len);
	crypto_generichash_final(&h, ctx_hash, 32);
	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, (const uint8_t *)dom_th, sizeof(dom_th));
	crypto_generichash_update(&h, ctx_hash, 32);
	crypto_generichash_update(&h, hello + 2, 32);
	crypto_generichash_update(&h, reply + 2, 32);
	crypto_generichash_update(&h, hello + 34, 32);
	crypto_generichash_update(&h, reply + 34, 32);
	crypto_generichash_update(&h, sk_seckey_public(init)->pk, 32);
	crypto_generichash_update(&h, sk_seckey_public(resp)->pk, 32);
	crypto_generichash_final(&h, th, 32);
}

/* A FINISH signed by signer over th, made outside sk_peer. */
static void
forge_finish(uint8_t finish[SK_PEER_FINISH_LEN], const sk_seckey *signer,
    const uint8_t th[32])
{
	static const char dom[] = "skein/v1/peer-finish";
	uint8_t msg[sizeof(dom) + 32];

	memcpy(msg, dom, sizeof(dom));
	memcpy(msg + sizeof(dom), th, 32);
	finish[0] = 3;
	finish[1] = 1;
	sk_seckey_sign(signer, msg, sizeof(msg), finish + 2);
}

/* An attacker that computes the responder's transcript (all public) and
 * signs FINISH with its own key is refused; the same FINISH signed with
 * the pinned target key is accepted, which shows that the transcript
 * computed here is the real one and that the key alone made the
 * difference. */
static void
test_peer_responder_refuses_initiator_with_other_key(void **state)
{
	uint8_t hello[SK_PEER_HELLO_LEN], reply[SK_PEER_REPLY_LEN];
	uint8_t finish[SK_PEER_FINISH_LEN], th[32];
	sk_peer *i, *r;
	sk_err err;

	(void)state;
	for (int honest = 0; honest < 2; honest++) {
		i = initiator();
		r = responder();
		assert_int_equal(sk_peer_hello(hello, i, &err), SK_OK);
		assert_int_equal(
		    sk_peer_reply(reply, r, hello, sizeof(hello), &err), SK_OK);
		transcript_of(th, ctx_a, ctx_a_len, hello, reply, target_key, source_key);
		forge_finish(finish, honest ? target_key : stranger_key, th);
		if (honest) {
			assert_int_equal(
			    sk_peer_accept(r, finish, sizeof(finish), &err), SK_OK);
			assert_true(sk_peer_ready(r));
		} else {
			assert_int_equal(
			    sk_peer_accept(r, finish, sizeof(finish), &err), SK_ECRYPTO);
			assert_non_null(strstr(err.msg, "pinned target agent key"));
			assert_dead(r);
		}
		sk_peer_destroy(i);
		sk_peer_destroy(r);
	}
	/* The responder pinning a stranger as its target: the real target's
	 * signature does not verify (and the transcripts already differ, so
	 * the initiator refuses the REPLY first). */
	i = initiator();
	r = peer(SK_PEER_RESPONDER, source_key, stranger_key, ctx_a, ctx_a_len);
	assert_int_equal(sk_peer_hello(hello, i, &err), SK_OK);
	assert_int_equal(sk_peer_reply(reply, r, hello, sizeof(hello), &err), SK_OK);
	assert_int_equal(
	    sk_peer_finish(finish, i, reply, sizeof(reply), &err), SK_ECRYPTO);
	transcript_of(th, ctx_a, ctx_a_len, hello, reply, stranger_key, source_key);
	forge_finish(finish, target_key, th);
	assert_int_equal(sk_peer_accept(r, finish, sizeof(finish), &err), SK_ECRYPTO);
	assert_dead(r);
	sk_peer_destroy(i);
	sk_peer_destroy(r);
}

static void
test_peer_responder_refuses_hello_for_another_move(void **state)
{
	sk_peer *i = peer(SK_PEER_INITIATOR, target_key, source_key, ctx_b, ctx_b_len);
	sk_peer *r = responder();
	uint8_t hello[SK_PEER_HELLO_LEN], reply[SK_PEER_REPLY_LEN];
	sk_err err;

	(void)state;
	assert_int_equal(sk_peer_hello(hello, i, &err), SK_OK);
	assert_int_equal(sk_peer_reply(reply, r, hello, sizeof(hello), &err), SK_ECRYPTO);
	assert_non_null(strstr(err.msg, "another move"));
	assert_dead(r);
	sk_peer_destroy(i);
	sk_peer_destroy(r);
}

/* The context hash in HELLO travels in the clear, so an attacker can make
 * it say move B to a responder of move B; the reply's signature, over B's
 * transcript, must still fail at the initiator of move A. */
static void
test_peer_initiator_refuses_reply_signed_for_another_move(void **state)
{
	sk_peer *ib =
	    peer(SK_PEER_INITIATOR, target_key, source_key, ctx_b, ctx_b_len);
	sk_peer *rb =
	    peer(SK_PEER_RESPONDER, source_key, target_key, ctx_b, ctx_b_len);
	sk_peer *ia = initiator();
	uint8_t hello_a[SK_PEER_HELLO_LEN], hello_b[SK_PEER_HELLO_LEN];
	uint8_t reply[SK_PEER_REPLY_LEN], finish[SK_PEER_FINISH_LEN];
	sk_err err;

	(void)state;
	assert_int_equal(sk_peer_hello(hello_b, ib, &err), SK_OK);
	assert_int_equal(sk_peer_hello(hello_a, ia, &err), SK_OK);
	memcpy(hello_a + 66, hello_b + 66, 32); /* claim move B */
	assert_int_equal(
	    sk_peer_reply(reply, rb, hello_a, sizeof(hello_a), &err), SK_OK);
	assert_int_equal(
	    sk_peer_finish(finish, ia, reply, sizeof(reply), &err), SK_ECRYPTO);
	assert_dead(ia);
	sk_peer_destroy(ia);
	sk_peer_destroy(ib);
	sk_peer_destroy(rb);
}

/* A handshake where msg (0 HELLO, 1 REPLY, 2 FINISH) has bit bit of byte
 * at flipped on the way must fail somewhere with SK_ECRYPTO, and no side
 * that failed may be ready; neither side may be ready with the other. */
static void
flipped_handshake(int msg, size_t at, int bit)
{
	sk_peer *i = initiator(), *r = responder();
	uint8_t hello[SK_PEER_HELLO_LEN], reply[SK_PEER_REPLY_LEN];
	uint8_t finish[SK_PEER_FINISH_LEN];
	sk_err err;
	int rc;

	assert_int_equal(sk_peer_hello(hello, i, &err), SK_OK);
	if (msg == 0)
		hello[at] ^= (uint8_t)(1u << bit);
	rc = sk_peer_reply(reply, r, hello, sizeof(hello), &err);
	if (rc != SK_OK) {
		assert_int_equal(rc, SK_ECRYPTO);
		assert_dead(r);
		goto out;
	}
	if (msg == 1)
		reply[at] ^= (uint8_t)(1u << bit);
	rc = sk_peer_finish(finish, i, reply, sizeof(reply), &err);
	if (rc != SK_OK) {
		assert_int_equal(rc, SK_ECRYPTO);
		assert_dead(i);
		goto out;
	}
	if (msg == 2)
		finish[at] ^= (uint8_t)(1u << bit);
	rc = sk_peer_accept(r, finish, sizeof(finish), &err);
	assert_int_equal(rc, SK_ECRYPTO);
	assert_dead(r);
out:
	sk_peer_destroy(i);
	sk_peer_destroy(r);
}

static void
test_peer_handshake_refuses_flipped_bit_in_every_byte(void **state)
{
	(void)state;
	for (size_t at = 0; at < SK_PEER_HELLO_LEN; at++)
		flipped_handshake(0, at, (int)(at % 8));
	for (size_t at = 0; at < SK_PEER_REPLY_LEN; at++)
		flipped_handshake(1, at, (int)(at % 8));
	for (size_t at = 0; at < SK_PEER_FINISH_LEN; at++)
		flipped_handshake(2, at, (int)(at % 8));
}

static void
test_peer_handshake_refuses_wrong_lengths(void **state)
{
	uint8_t hello[SK_PEER_HELLO_LEN + 1], reply[SK_PEER_REPLY_LEN + 1];
	uint8_t finish[SK_PEER_FINISH_LEN + 1];
	sk_peer *i, *r;
	sk_err err;

	(void)state;
	/* HELLO one byte short and one long. */
	for (int d = -1; d <= 1; d += 2) {
		i = initiator();
		r = responder();
		assert_int_equal(sk_peer_hello(hello, i, &err), SK_OK);
		assert_int_equal(sk_peer_reply(reply, r, hello,
				     (size_t)((int)SK_PEER_HELLO_LEN + d), &err),
		    SK_ECRYPTO);
		assert_dead(r);
		sk_peer_destroy(i);
		sk_peer_destroy(r);
	}
	/* REPLY and FINISH cut short by one byte. */
	i = initiator();
	r = responder();
	assert_int_equal(sk_peer_hello(hello, i, &err), SK_OK);
	assert_int_equal(sk_peer_reply(reply, r, hello, SK_PEER_HELLO_LEN, &err), SK_OK);
	assert_int_equal(
	    sk_peer_finish(finish, i, reply, SK_PEER_REPLY_LEN - 1, &err), SK_ECRYPTO);
	assert_dead(i);
	sk_peer_destroy(i);
	sk_peer_destroy(r);
	i = initiator();
	r = responder();
	assert_int_equal(sk_peer_hello(hello, i, &err), SK_OK);
	assert_int_equal(sk_peer_reply(reply, r, hello, SK_PEER_HELLO_LEN, &err), SK_OK);
	assert_int_equal(
	    sk_peer_finish(finish, i, reply, SK_PEER_REPLY_LEN, &err), SK_OK);
	assert_int_equal(
	    sk_peer_accept(r, finish, SK_PEER_FINISH_LEN - 1, &err), SK_ECRYPTO);
	assert_dead(r);
	assert_int_equal(sk_peer_accept(r, NULL, 0, &err), SK_ESTATE);
	sk_peer_destroy(i);
	sk_peer_destroy(r);
}

/* A REPLY from an earlier handshake, replayed to a new initiator, and an
 * earlier FINISH replayed to a responder that saw the same HELLO again:
 * fresh nonces and ephemeral keys make both fail. */
static void
test_peer_refuses_handshake_messages_replayed_from_another_session(void **state)
{
	sk_peer *i = initiator(), *r = responder();
	uint8_t hello1[SK_PEER_HELLO_LEN], reply1[SK_PEER_REPLY_LEN];
	uint8_t finish1[SK_PEER_FINISH_LEN];
	uint8_t hello2[SK_PEER_HELLO_LEN], reply2[SK_PEER_REPLY_LEN];
	uint8_t finish2[SK_PEER_FINISH_LEN];
	sk_err err;

	(void)state;
	handshake(i, r, hello1, reply1, finish1);
	sk_peer_destroy(i);
	sk_peer_destroy(r);

	i = initiator();
	assert_int_equal(sk_peer_hello(hello2, i, &err), SK_OK);
	assert_int_equal(
	    sk_peer_finish(finish2, i, reply1, sizeof(reply1), &err), SK_ECRYPTO);
	assert_dead(i);
	sk_peer_destroy(i);

	r = responder();
	assert_int_equal(sk_peer_reply(reply2, r, hello1, sizeof(hello1), &err), SK_OK);
	assert_int_equal(sk_peer_accept(r, finish1, sizeof(finish1), &err), SK_ECRYPTO);
	assert_dead(r);
	sk_peer_destroy(r);
}

static void
test_peer_refuses_calls_out_of_turn(void **state)
{
	uint8_t hello[SK_PEER_HELLO_LEN], reply[SK_PEER_REPLY_LEN];
	uint8_t buf[64];
	size_t len = 0;
	sk_peer *i, *r;
	sk_err err;

	(void)state;
	assert_int_equal(sk_peer_create(3, target_key, sk_seckey_public(source_key),
			     ctx_a, ctx_a_len, &i, &err),
	    SK_EINVAL);
	assert_int_equal(sk_peer_create(SK_PEER_INITIATOR, NULL,
			     sk_seckey_public(source_key), ctx_a, ctx_a_len, &i, &err),
	    SK_EINVAL);
	sk_peer_destroy(NULL);
	r = responder();
	assert_int_equal(sk_peer_hello(hello, r, &err), SK_ESTATE);
	assert_dead(r);
	sk_peer_destroy(r);
	i = initiator();
	memset(hello, 0, sizeof(hello));
	assert_int_equal(sk_peer_reply(reply, i, hello, sizeof(hello), &err), SK_ESTATE);
	assert_dead(i);
	sk_peer_destroy(i);
	/* Sealing before the handshake is done. */
	i = initiator();
	assert_int_equal(sk_peer_seal(buf, sizeof(buf), &len, i, 1,
			     (const uint8_t *)"x", 1, false, &err),
	    SK_ESTATE);
	assert_dead(i);
	sk_peer_destroy(i);
	/* The responder may not seal between REPLY and a verified FINISH. */
	i = initiator();
	r = responder();
	assert_int_equal(sk_peer_hello(hello, i, &err), SK_OK);
	assert_int_equal(sk_peer_reply(reply, r, hello, sizeof(hello), &err), SK_OK);
	assert_int_equal(sk_peer_seal(buf, sizeof(buf), &len, r, 1,
			     (const uint8_t *)"x", 1, false, &err),
	    SK_ESTATE);
	assert_dead(r);
	sk_peer_destroy(i);
	sk_peer_destroy(r);
}

/* A ready pair and three chunks from the responder, the last final. */
struct three {
	sk_peer *i, *r;
	uint8_t *c[3];
	size_t len[3];
};

static void
three_chunks(struct three *t)
{
	static const char *const text[] = { "first rows", "second rows", "end" };

	t->i = initiator();
	t->r = responder();
	handshake(t->i, t->r, NULL, NULL, NULL);
	for (int k = 0; k < 3; k++)
		t->c[k] = seal(t->r, (uint8_t)(10 + k), (const uint8_t *)text[k],
		    strlen(text[k]), k == 2, &t->len[k]);
}

static void
three_free(struct three *t)
{
	for (int k = 0; k < 3; k++)
		free(t->c[k]);
	sk_peer_destroy(t->i);
	sk_peer_destroy(t->r);
}

static void
test_peer_open_refuses_flipped_bit_in_every_chunk_byte(void **state)
{
	(void)state;
	/* Chunk 0 carries the stream header, chunk 1 does not: both kinds. */
	for (int which = 0; which < 2; which++) {
		struct three probe;
		size_t n;

		three_chunks(&probe);
		n = probe.len[which];
		three_free(&probe);
		for (size_t at = 0; at < n; at++) {
			struct three t;

			three_chunks(&t);
			if (which == 1)
				expect_open(t.i, t.c[0], t.len[0], 10,
				    (const uint8_t *)"first rows", 10, false);
			t.c[which][at] ^= (uint8_t)(1u << (at % 8));
			expect_open_fails(t.i, t.c[which], t.len[which], SK_ECRYPTO);
			three_free(&t);
		}
	}
}

static void
test_peer_open_refuses_truncated_chunk_at_every_length(void **state)
{
	(void)state;
	for (int which = 0; which < 2; which++) {
		struct three probe;
		size_t n;

		three_chunks(&probe);
		n = probe.len[which];
		three_free(&probe);
		for (size_t cut = 0; cut < n; cut++) {
			struct three t;

			three_chunks(&t);
			if (which == 1)
				expect_open(t.i, t.c[0], t.len[0], 10,
				    (const uint8_t *)"first rows", 10, false);
			expect_open_fails(t.i, t.c[which], cut, SK_ECRYPTO);
			three_free(&t);
		}
	}
}

static void
test_peer_open_refuses_replayed_chunk(void **state)
{
	struct three t;
	sk_err err;

	(void)state;
	three_chunks(&t);
	expect_open(t.i, t.c[0], t.len[0], 10, (const uint8_t *)"first rows", 10, false);
	expect_open(t.i, t.c[1], t.len[1], 11, (const uint8_t *)"second rows",
	    11, false);
	expect_open_fails(t.i, t.c[1], t.len[1], SK_ECRYPTO);
	assert_int_equal(sk_peer_rx_end(t.i, &err), SK_ESTATE);
	three_free(&t);
}

static void
test_peer_open_refuses_reordered_chunks(void **state)
{
	struct three t;

	(void)state;
	three_chunks(&t);
	expect_open(t.i, t.c[0], t.len[0], 10, (const uint8_t *)"first rows", 10, false);
	expect_open_fails(t.i, t.c[2], t.len[2], SK_ECRYPTO);
	three_free(&t);

	/* The clear sequence rewritten to look in order: the cipher still
	 * knows. Chunk 2 at offset 1 holds seq 2; make it say 1. */
	three_chunks(&t);
	expect_open(t.i, t.c[0], t.len[0], 10, (const uint8_t *)"first rows", 10, false);
	assert_int_equal(t.c[2][8], 2);
	t.c[2][8] = 1;
	expect_open_fails(t.i, t.c[2], t.len[2], SK_ECRYPTO);
	three_free(&t);
}

/* A chunk the initiator sealed, fed back to the initiator; and a chunk
 * of another session between the same agents for the same move. */
static void
test_peer_open_refuses_reflected_and_foreign_chunks(void **state)
{
	struct three t, u;
	uint8_t *mine;
	size_t len;

	(void)state;
	three_chunks(&t);
	mine = seal(t.i, 10, (const uint8_t *)"first rows", 10, false, &len);
	expect_open_fails(t.i, mine, len, SK_ECRYPTO);
	free(mine);
	three_free(&t);

	three_chunks(&t);
	three_chunks(&u);
	expect_open_fails(t.i, u.c[0], u.len[0], SK_ECRYPTO);
	three_free(&t);
	three_free(&u);
}

static void
test_peer_refuses_data_after_final(void **state)
{
	struct three t, u;
	uint8_t buf[128];
	size_t len = 0;
	sk_err err;

	(void)state;
	three_chunks(&t);
	for (int k = 0; k < 3; k++)
		expect_open(t.i, t.c[k], t.len[k], (uint8_t)(10 + k),
		    k == 0     ? (const uint8_t *)"first rows" :
			k == 1 ? (const uint8_t *)"second rows" :
				 (const uint8_t *)"end",
		    k == 0     ? 10 :
			k == 1 ? 11 :
				 3,
		    k == 2);
	assert_int_equal(sk_peer_rx_end(t.i, &err), SK_OK);
	/* The final chunk again, then anything at all. */
	expect_open_fails(t.i, t.c[2], t.len[2], SK_ECRYPTO);
	three_free(&t);

	three_chunks(&u);
	for (int k = 0; k < 3; k++)
		expect_open(u.i, u.c[k], u.len[k], (uint8_t)(10 + k),
		    k == 0     ? (const uint8_t *)"first rows" :
			k == 1 ? (const uint8_t *)"second rows" :
				 (const uint8_t *)"end",
		    k == 0     ? 10 :
			k == 1 ? 11 :
				 3,
		    k == 2);
	memset(buf, 0, sizeof(buf));
	buf[8] = 3; /* says it is chunk 3 */
	expect_open_fails(u.i, buf, sizeof(buf), SK_ECRYPTO);
	/* And the sender may not seal after its final chunk. */
	assert_int_equal(sk_peer_seal(buf, sizeof(buf), &len, u.r, 1,
			     (const uint8_t *)"x", 1, false, &err),
	    SK_ESTATE);
	assert_dead(u.r);
	three_free(&u);
}

static void
test_peer_rx_end_without_final_is_truncation(void **state)
{
	struct three t;
	sk_err err;

	(void)state;
	three_chunks(&t);
	expect_open(t.i, t.c[0], t.len[0], 10, (const uint8_t *)"first rows", 10, false);
	expect_open(t.i, t.c[1], t.len[1], 11, (const uint8_t *)"second rows",
	    11, false);
	assert_int_equal(sk_peer_rx_end(t.i, &err), SK_ECRYPTO);
	assert_non_null(strstr(err.msg, "truncated"));
	assert_dead(t.i);
	three_free(&t);
}

static void
test_peer_refuses_oversized_chunks(void **state)
{
	sk_peer *i = initiator(), *r = responder();
	size_t big = SK_PEER_CHUNK_MAX + 1;
	uint8_t *data = calloc(1, big + SK_PEER_SEALED_MAX);
	uint8_t *out = malloc(SK_PEER_SEALED_MAX + 64);
	size_t len = 0;
	sk_err err;

	(void)state;
	assert_non_null(data);
	assert_non_null(out);
	handshake(i, r, NULL, NULL, NULL);
	/* Sealing one byte over the limit is a caller error. */
	assert_int_equal(sk_peer_seal(out, SK_PEER_SEALED_MAX + 64, &len, r, 1,
			     data, big, false, &err),
	    SK_EINVAL);
	assert_dead(r);
	/* Opening what would be one byte over is refused before decryption. */
	expect_open_fails(i, data, SK_PEER_SEALED_MAX + 1, SK_ECRYPTO);
	free(data);
	free(out);
	sk_peer_destroy(i);
	sk_peer_destroy(r);
}

static void
test_peer_seal_refuses_short_output_buffer(void **state)
{
	sk_peer *i = initiator(), *r = responder();
	uint8_t out[64];
	size_t len = 0;
	sk_err err;

	(void)state;
	handshake(i, r, NULL, NULL, NULL);
	assert_int_equal(sk_peer_sealed_len(r, 10),
	    10 + SK_PEER_CHUNK_OVERHEAD + SK_PEER_HEADER_LEN);
	assert_int_equal(sk_peer_seal(out, sk_peer_sealed_len(r, 10) - 1, &len, r,
			     1, (const uint8_t *)"0123456789", 10, false, &err),
	    SK_EINVAL);
	assert_dead(r);
	sk_peer_destroy(i);
	sk_peer_destroy(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_context_encoding_is_length_prefixed),
		cmocka_unit_test(test_peer_handshake_then_10mb_each_way),
		cmocka_unit_test(test_peer_streams_interleave_and_carry_empty_final),
		cmocka_unit_test(test_peer_initiator_refuses_responder_with_other_key),
		cmocka_unit_test(test_peer_responder_refuses_initiator_with_other_key),
		cmocka_unit_test(test_peer_responder_refuses_hello_for_another_move),
		cmocka_unit_test(test_peer_initiator_refuses_reply_signed_for_another_move),
		cmocka_unit_test(test_peer_handshake_refuses_flipped_bit_in_every_byte),
		cmocka_unit_test(test_peer_handshake_refuses_wrong_lengths),
		cmocka_unit_test(
		    test_peer_refuses_handshake_messages_replayed_from_another_session),
		cmocka_unit_test(test_peer_refuses_calls_out_of_turn),
		cmocka_unit_test(test_peer_open_refuses_flipped_bit_in_every_chunk_byte),
		cmocka_unit_test(test_peer_open_refuses_truncated_chunk_at_every_length),
		cmocka_unit_test(test_peer_open_refuses_replayed_chunk),
		cmocka_unit_test(test_peer_open_refuses_reordered_chunks),
		cmocka_unit_test(test_peer_open_refuses_reflected_and_foreign_chunks),
		cmocka_unit_test(test_peer_refuses_data_after_final),
		cmocka_unit_test(test_peer_rx_end_without_final_is_truncation),
		cmocka_unit_test(test_peer_refuses_oversized_chunks),
		cmocka_unit_test(test_peer_seal_refuses_short_output_buffer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

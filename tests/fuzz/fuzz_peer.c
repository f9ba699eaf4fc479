/* fuzz_peer: the agent-to-agent move stream (sk_peer), fed what an
 * attacker on the path controls. The first byte picks the target:
 *   0  a responder's inputs: the rest as HELLO, then what follows 98
 *      bytes as FINISH; FINISH must never be accepted
 *   1  an initiator's REPLY after its HELLO; never accepted
 *   2  an opener after a real handshake: the rest as chunks, each behind
 *      a 2-byte big-endian length; none may open
 *   3  an honest stream the input shapes (chunk sizes from the bytes, one
 *      byte flipped at a position the next two bytes pick, or none):
 *      what is before the flip opens to the same bytes, the flipped chunk
 *      is refused, everything after it too
 * Everywhere: after the first refusal every call fails with SK_ESTATE.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sk_peer.h"

#define HARNESS "peer"

static sk_seckey *target_key, *source_key;
static const uint8_t context[] = "rollout r1, plan p1, move m1, tenant t1";

static sk_seckey *
make_key(const char *name)
{
	char *base = fuzz_path(name);
	char *path;
	sk_seckey *key = NULL;
	size_t n = strlen(base) + 5;
	sk_err err;

	if (sk_key_generate(base, &err) != SK_OK)
		fuzz_fail(HARNESS, "%s", err.msg);
	path = malloc(n);
	if (path == NULL)
		fuzz_fail(HARNESS, "out of memory");
	snprintf(path, n, "%s.key", base);
	if (sk_seckey_load(path, &key, &err) != SK_OK)
		fuzz_fail(HARNESS, "%s", err.msg);
	free(path);
	free(base);
	return key;
}

static void
release_keys(void)
{
	sk_seckey_destroy(target_key);
	sk_seckey_destroy(source_key);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init(HARNESS);
	target_key = make_key("target");
	source_key = make_key("source");
	atexit(release_keys);
	return 0;
}

static sk_peer *
peer(int role)
{
	sk_peer *p = NULL;
	sk_err err;

	if (sk_peer_create(role, role == SK_PEER_INITIATOR ? target_key : source_key,
		sk_seckey_public(role == SK_PEER_INITIATOR ? source_key : target_key),
		context, sizeof(context), &p, &err) != SK_OK)
		fuzz_fail(HARNESS, "create: %s", err.msg);
	return p;
}

/* A refused peer must stay refused. */
static void
expect_dead(sk_peer *p)
{
	uint8_t buf[SK_PEER_HELLO_LEN];
	sk_err err;

	if (sk_peer_ready(p))
		fuzz_fail(HARNESS, "a refused peer says it is ready");
	if (sk_peer_hello(buf, p, &err) != SK_ESTATE || sk_peer_rx_end(p, &err) != SK_ESTATE)
		fuzz_fail(HARNESS, "a refused peer accepted another call");
}

static void
handshake(sk_peer *i, sk_peer *r)
{
	uint8_t hello[SK_PEER_HELLO_LEN], reply[SK_PEER_REPLY_LEN];
	uint8_t finish[SK_PEER_FINISH_LEN];
	sk_err err;

	if (sk_peer_hello(hello, i, &err) != SK_OK ||
	    sk_peer_reply(reply, r, hello, sizeof(hello), &err) != SK_OK ||
	    sk_peer_finish(finish, i, reply, sizeof(reply), &err) != SK_OK ||
	    sk_peer_accept(r, finish, sizeof(finish), &err) != SK_OK)
		fuzz_fail(HARNESS, "honest handshake: %s", err.msg);
}

static void
fuzz_responder(const uint8_t *data, size_t size)
{
	sk_peer *r = peer(SK_PEER_RESPONDER);
	uint8_t reply[SK_PEER_REPLY_LEN];
	size_t hello_len = size < SK_PEER_HELLO_LEN ? size : SK_PEER_HELLO_LEN;
	sk_err err;

	if (sk_peer_reply(reply, r, data, hello_len, &err) != SK_OK) {
		expect_dead(r);
	} else if (sk_peer_accept(r, data + hello_len, size - hello_len, &err) == SK_OK) {
		fuzz_fail(HARNESS, "responder accepted a FINISH nobody signed");
	} else {
		expect_dead(r);
	}
	sk_peer_destroy(r);
}

static void
fuzz_initiator(const uint8_t *data, size_t size)
{
	sk_peer *i = peer(SK_PEER_INITIATOR);
	uint8_t hello[SK_PEER_HELLO_LEN], finish[SK_PEER_FINISH_LEN];
	sk_err err;

	if (sk_peer_hello(hello, i, &err) != SK_OK)
		fuzz_fail(HARNESS, "hello: %s", err.msg);
	if (sk_peer_finish(finish, i, data, size, &err) == SK_OK)
		fuzz_fail(HARNESS, "initiator accepted a REPLY nobody signed");
	expect_dead(i);
	sk_peer_destroy(i);
}

static void
fuzz_opener(const uint8_t *data, size_t size)
{
	sk_peer *i = peer(SK_PEER_INITIATOR), *r = peer(SK_PEER_RESPONDER);
	uint8_t *out = malloc(SK_PEER_CHUNK_MAX);
	bool refused = false;
	size_t at = 0;

	if (out == NULL)
		fuzz_fail(HARNESS, "out of memory");
	handshake(i, r);
	while (at + 2 <= size) {
		size_t n = (size_t)data[at] << 8 | data[at + 1], out_len = 0;
		uint8_t type = 0;
		bool final = false;
		sk_err err;
		int rc;

		at += 2;
		if (n > size - at)
			n = size - at;
		rc = sk_peer_open(out, SK_PEER_CHUNK_MAX, &out_len, &type,
		    &final, i, data + at, n, &err);
		if (rc == SK_OK)
			fuzz_fail(HARNESS, "opened a chunk nobody sealed");
		if (rc != (refused ? SK_ESTATE : SK_ECRYPTO))
			fuzz_fail(HARNESS, "open: code %d: %s", rc, err.msg);
		refused = true;
		at += n;
	}
	if (refused)
		expect_dead(i);
	free(out);
	sk_peer_destroy(i);
	sk_peer_destroy(r);
}

#define MAX_CHUNKS 16

static void
fuzz_stream(const uint8_t *data, size_t size)
{
	sk_peer *i = peer(SK_PEER_INITIATOR), *r = peer(SK_PEER_RESPONDER);
	uint8_t *sealed[MAX_CHUNKS] = { NULL };
	size_t sealed_len[MAX_CHUNKS], plain_at[MAX_CHUNKS], plain_len[MAX_CHUNKS];
	size_t flip = SIZE_MAX, total = 0, at = 0, n_chunks = 0;
	uint8_t *out = malloc(SK_PEER_CHUNK_MAX);
	bool dead = false;
	sk_err err;

	if (out == NULL)
		fuzz_fail(HARNESS, "out of memory");
	handshake(i, r);
	if (size >= 2) {
		/* 0xffff: no flip; else a position in all the sealed bytes. */
		if (data[0] != 0xff || data[1] != 0xff)
			flip = (size_t)data[0] << 8 | data[1];
		at = 2;
	}
	/* Chunks: a length byte (times 7, so sizes vary), then that much. */
	while (n_chunks < MAX_CHUNKS && at < size) {
		size_t n = (size_t)data[at++] * 7;
		bool final;

		if (n > size - at)
			n = size - at;
		final = at + n == size || n_chunks == MAX_CHUNKS - 1;
		sealed_len[n_chunks] = sk_peer_sealed_len(r, n);
		sealed[n_chunks] = malloc(sealed_len[n_chunks]);
		if (sealed[n_chunks] == NULL)
			fuzz_fail(HARNESS, "out of memory");
		if (sk_peer_seal(sealed[n_chunks], sealed_len[n_chunks],
			&sealed_len[n_chunks], r, data[at - 1], data + at, n,
			final, &err) != SK_OK)
			fuzz_fail(HARNESS, "seal: %s", err.msg);
		plain_at[n_chunks] = at;
		plain_len[n_chunks] = n;
		total += sealed_len[n_chunks];
		n_chunks++;
		at += n;
	}
	if (flip != SIZE_MAX && total > 0)
		flip %= total;
	else
		flip = SIZE_MAX;
	for (size_t k = 0, base = 0; k < n_chunks; base += sealed_len[k], k++) {
		bool flipped = flip >= base && flip < base + sealed_len[k];
		size_t out_len = 0;
		uint8_t type = 0;
		bool final = false;
		int rc;

		if (flipped)
			sealed[k][flip - base] ^= 0x01;
		rc = sk_peer_open(out, SK_PEER_CHUNK_MAX, &out_len, &type,
		    &final, i, sealed[k], sealed_len[k], &err);
		if (dead) {
			if (rc != SK_ESTATE)
				fuzz_fail(HARNESS, "a dead opener answered %d", rc);
		} else if (flipped) {
			if (rc != SK_ECRYPTO)
				fuzz_fail(HARNESS,
				    "a flipped bit at %zu of chunk "
				    "%zu was not refused (%d)",
				    flip - base, k, rc);
			dead = true;
		} else {
			if (rc != SK_OK)
				fuzz_fail(HARNESS, "open chunk %zu: %s", k, err.msg);
			if (type != data[plain_at[k] - 1] ||
			    final != (k == n_chunks - 1))
				fuzz_fail(HARNESS,
				    "chunk %zu: type or final "
				    "changed",
				    k);
			fuzz_expect_same(HARNESS, "opened chunk",
			    data + plain_at[k], plain_len[k], out, out_len);
		}
	}
	if (!dead && n_chunks > 0 && sk_peer_rx_end(i, &err) != SK_OK)
		fuzz_fail(HARNESS, "a whole stream ended badly: %s", err.msg);
	if (dead)
		expect_dead(i);
	for (size_t k = 0; k < n_chunks; k++)
		free(sealed[k]);
	free(out);
	sk_peer_destroy(i);
	sk_peer_destroy(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_responder(data + 1, size - 1);
		break;
	case 1:
		fuzz_initiator(data + 1, size - 1);
		break;
	case 2:
		fuzz_opener(data + 1, size - 1);
		break;
	default:
		fuzz_stream(data + 1, size - 1);
		break;
	}
	return 0;
}

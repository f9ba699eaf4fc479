/* envelope_test: sealing and opening signed envelopes, and every way an
 * envelope can be wrong: tampered, truncated, oversized, mis-kinded,
 * signed by a stranger, or not an envelope at all. Every refusal must
 * leave the caller's outputs untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_util.h"
#include "skein.pb-c.h"

static char tmpdir[64];
static sk_seckey *release_key;  /* pinned */
static sk_seckey *stranger_key; /* not pinned */
static sk_keyring pinned;

static const uint8_t payload_text[] =
    "a serialized plan would be here; any bytes will do \x00\x01\xff";

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
setup(void **state)
{
	sk_err err;

	(void)state;
	if (sk_crypto_init(&err) != SK_OK)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sk-envelope-test-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	release_key = make_key("release");
	stranger_key = make_key("stranger");
	if (release_key == NULL || stranger_key == NULL)
		return -1;
	return sk_keyring_add(&pinned, sk_seckey_public(release_key), &err);
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	sk_seckey_destroy(release_key);
	sk_seckey_destroy(stranger_key);
	sk_keyring_fini(&pinned);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static uint8_t *
find_bytes(uint8_t *hay, size_t hay_len, const uint8_t *needle, size_t len)
{
	for (size_t i = 0; i + len <= hay_len; i++)
		if (memcmp(hay + i, needle, len) == 0)
			return hay + i;
	return NULL;
}

static uint8_t *
seal(int kind, const sk_seckey *key, const uint8_t *payload, size_t len, size_t *out_len)
{
	uint8_t *buf = NULL;
	sk_err err;

	assert_int_equal(
	    sk_envelope_seal(&buf, out_len, kind, payload, len, key, &err), SK_OK);
	assert_non_null(buf);
	return buf;
}

/* Open must fail with want and leave every output as it was. */
static void
expect_open_fails(const uint8_t *buf, size_t len, int kind, int want)
{
	uint8_t *payload = NULL;
	size_t payload_len = 777;
	const sk_pubkey *signer = NULL;
	sk_err err;
	int rc;

	rc = sk_envelope_open(
	    &payload, &payload_len, &signer, buf, len, kind, &pinned, &err);
	assert_int_equal(rc, want);
	assert_int_equal(err.code, want);
	assert_true(err.msg[0] != '\0');
	assert_null(payload);
	assert_int_equal(payload_len, 777);
	assert_null(signer);
}

static void
test_envelope_round_trip_returns_payload_and_signer(void **state)
{
	uint8_t *buf, *payload = NULL, *peeked = NULL;
	size_t len = 0, payload_len = 0, peeked_len = 0;
	const sk_pubkey *signer = NULL;
	uint8_t signer_id[SK_KEY_ID_LEN];
	int kind = 0;
	sk_err err;

	(void)state;
	buf = seal(SK_KIND_PLAN, release_key, payload_text, sizeof(payload_text), &len);
	assert_int_equal(sk_envelope_open(&payload, &payload_len, &signer, buf,
			     len, SK_KIND_PLAN, &pinned, &err),
	    SK_OK);
	assert_int_equal(payload_len, sizeof(payload_text));
	assert_memory_equal(payload, payload_text, sizeof(payload_text));
	assert_ptr_equal(signer, &pinned.keys[0]);
	/* The payload is a copy: it outlives the envelope buffer. */
	assert_true(payload < buf || payload >= buf + len);

	assert_int_equal(sk_envelope_peek(&peeked, &peeked_len, &kind,
			     signer_id, buf, len, &err),
	    SK_OK);
	assert_int_equal(kind, SK_KIND_PLAN);
	assert_memory_equal(signer_id, sk_seckey_public(release_key)->id, SK_KEY_ID_LEN);
	assert_int_equal(peeked_len, sizeof(payload_text));
	assert_memory_equal(peeked, payload_text, sizeof(payload_text));
	free(peeked);
	free(payload);
	free(buf);
}

static void
test_envelope_round_trips_empty_payload_for_every_kind(void **state)
{
	static const int kinds[] = { SK_KIND_PLAN, SK_KIND_CONTROL, SK_KIND_AGENT };

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		uint8_t *buf, *payload = NULL;
		size_t len = 0, payload_len = 99;
		sk_err err;

		buf = seal(kinds[i], release_key, NULL, 0, &len);
		assert_int_equal(sk_envelope_open(&payload, &payload_len, NULL,
				     buf, len, kinds[i], &pinned, &err),
		    SK_OK);
		assert_non_null(payload);
		assert_int_equal(payload_len, 0);
		free(payload);
		free(buf);
	}
}

static void
test_envelope_signature_covers_exact_domain_prefix(void **state)
{
	static const char *const domains[] = {
		NULL,
		"skein/v1/plan",
		"skein/v1/control",
		"skein/v1/agent",
	};

	(void)state;
	for (int kind = SK_KIND_PLAN; kind <= SK_KIND_AGENT; kind++) {
		size_t dlen = strlen(domains[kind]) + 1; /* with its NUL */
		uint8_t *msg = malloc(dlen + sizeof(payload_text));
		uint8_t sig[SK_SIG_LEN];
		uint8_t *buf;
		size_t len = 0;

		assert_non_null(msg);
		memcpy(msg, domains[kind], dlen);
		memcpy(msg + dlen, payload_text, sizeof(payload_text));
		sk_seckey_sign(release_key, msg, dlen + sizeof(payload_text), sig);
		buf = seal(kind, release_key, payload_text, sizeof(payload_text), &len);
		/* Ed25519 is deterministic: the envelope holds this signature. */
		assert_true(len > SK_SIG_LEN);
		assert_memory_equal(buf + len - SK_SIG_LEN, sig, SK_SIG_LEN);
		free(msg);
		free(buf);
	}
}

static void
test_envelope_rejects_flipped_payload_byte(void **state)
{
	uint8_t *buf, *at;
	size_t len = 0;

	(void)state;
	buf = seal(SK_KIND_PLAN, release_key, payload_text, sizeof(payload_text), &len);
	at = find_bytes(buf, len, payload_text, sizeof(payload_text));
	assert_non_null(at);
	for (size_t i = 0; i < sizeof(payload_text); i++) {
		at[i] ^= 0x01;
		expect_open_fails(buf, len, SK_KIND_PLAN, SK_ECRYPTO);
		at[i] ^= 0x01;
	}
	free(buf);
}

static void
test_envelope_rejects_flipped_signature_bit(void **state)
{
	uint8_t *buf, *sig;
	size_t len = 0;

	(void)state;
	buf = seal(SK_KIND_PLAN, release_key, payload_text, sizeof(payload_text), &len);
	sig = buf + len - SK_SIG_LEN; /* field 4 is packed last */
	for (size_t i = 0; i < SK_SIG_LEN * 8; i++) {
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
		expect_open_fails(buf, len, SK_KIND_PLAN, SK_ECRYPTO);
		sig[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	free(buf);
}

static void
test_envelope_rejects_signature_by_unpinned_key(void **state)
{
	uint8_t *buf;
	size_t len = 0;
	sk_err err;
	uint8_t *payload = NULL;
	size_t payload_len = 0;

	(void)state;
	buf = seal(SK_KIND_PLAN, stranger_key, payload_text,
	    sizeof(payload_text), &len);
	expect_open_fails(buf, len, SK_KIND_PLAN, SK_ECRYPTO);
	assert_int_equal(sk_envelope_open(&payload, &payload_len, NULL, buf,
			     len, SK_KIND_PLAN, &pinned, &err),
	    SK_ECRYPTO);
	assert_non_null(strstr(err.msg, "not a pinned key"));
	/* An empty key set pins nothing. */
	{
		sk_keyring none = { 0 };

		assert_int_equal(sk_envelope_open(&payload, &payload_len, NULL,
				     buf, len, SK_KIND_PLAN, &none, &err),
		    SK_ECRYPTO);
		assert_null(payload);
	}
	free(buf);
}

static void
test_envelope_rejects_control_payload_presented_as_plan(void **state)
{
	uint8_t *buf;
	size_t len = 0;

	(void)state;
	buf = seal(SK_KIND_CONTROL, release_key, payload_text,
	    sizeof(payload_text), &len);
	expect_open_fails(buf, len, SK_KIND_PLAN, SK_EREFUSED);
	expect_open_fails(buf, len, SK_KIND_AGENT, SK_EREFUSED);
	/* Relabelling the kind field does not help: the signature was made
	 * over the control domain, so it fails as a plan. */
	assert_int_equal(buf[0], 0x08); /* field 1, varint */
	assert_int_equal(buf[1], SK_KIND_CONTROL);
	buf[1] = SK_KIND_PLAN;
	expect_open_fails(buf, len, SK_KIND_PLAN, SK_ECRYPTO);
	free(buf);
}

static void
test_envelope_rejects_truncation_at_every_length(void **state)
{
	uint8_t *buf;
	size_t len = 0;

	(void)state;
	buf = seal(SK_KIND_PLAN, release_key, payload_text, sizeof(payload_text), &len);
	for (size_t n = 0; n < len; n++) {
		/* A copy of exactly n bytes, so ASan sees any read past it. */
		uint8_t *cut = malloc(n > 0 ? n : 1);

		assert_non_null(cut);
		memcpy(cut, buf, n);
		expect_open_fails(cut, n, SK_KIND_PLAN, SK_EDECODE);
		free(cut);
	}
	expect_open_fails(NULL, 0, SK_KIND_PLAN, SK_EDECODE);
	free(buf);
}

static void
test_envelope_rejects_random_bytes(void **state)
{
	uint8_t seed[randombytes_SEEDBYTES] = { 's', 'k', 'e', 'i', 'n' };
	uint8_t lens[4000];

	(void)state;
	randombytes_buf_deterministic(lens, sizeof(lens), seed);
	for (size_t i = 0; i < sizeof(lens); i++) {
		size_t n = (size_t)lens[i] * 2 + (i % 3);
		uint8_t *buf = malloc(n > 0 ? n : 1);
		uint8_t *payload = NULL;
		size_t payload_len = 5;
		uint8_t signer[SK_KEY_ID_LEN];
		int kind = -1, rc;
		sk_err err;

		assert_non_null(buf);
		seed[8] = (uint8_t)i;
		seed[9] = (uint8_t)(i >> 8);
		randombytes_buf_deterministic(buf, n, seed);
		rc = sk_envelope_open(&payload, &payload_len, NULL, buf, n,
		    SK_KIND_PLAN, &pinned, &err);
		assert_int_not_equal(rc, SK_OK);
		assert_true(rc == SK_EDECODE || rc == SK_EREFUSED || rc == SK_ECRYPTO);
		assert_null(payload);
		assert_int_equal(payload_len, 5);
		/* peek must not crash either; what it returns is for show only. */
		rc = sk_envelope_peek(
		    &payload, &payload_len, &kind, signer, buf, n, &err);
		if (rc == SK_OK)
			free(payload);
		else
			assert_null(payload);
		payload = NULL;
		free(buf);
	}
}

static void
test_envelope_rejects_single_byte_mutations(void **state)
{
	uint8_t seed[randombytes_SEEDBYTES] = { 'm', 'u', 't' };
	uint8_t *buf, *copy;
	uint8_t rnd[2 * 2000];
	size_t len = 0;

	(void)state;
	buf = seal(SK_KIND_PLAN, release_key, payload_text, sizeof(payload_text), &len);
	copy = malloc(len);
	assert_non_null(copy);
	randombytes_buf_deterministic(rnd, sizeof(rnd), seed);
	for (size_t i = 0; i < sizeof(rnd); i += 2) {
		uint8_t *payload = NULL;
		size_t payload_len = 0;
		sk_err err;
		size_t pos = rnd[i] % len;

		memcpy(copy, buf, len);
		copy[pos] ^= (uint8_t)(rnd[i + 1] | 1);
		assert_int_not_equal(sk_envelope_open(&payload, &payload_len, NULL,
					 copy, len, SK_KIND_PLAN, &pinned, &err),
		    SK_OK);
		assert_null(payload);
	}
	free(copy);
	free(buf);
}

static void
test_envelope_rejects_oversized_input_before_parsing(void **state)
{
	uint8_t *buf, *big, *out = NULL;
	size_t len = 0, out_len = 0;
	sk_err err;

	(void)state;
	buf = seal(SK_KIND_PLAN, release_key, payload_text, sizeof(payload_text), &len);
	/* A valid envelope followed by padding: only the size is wrong. */
	big = calloc(1, (size_t)SK_ENVELOPE_MAX + 1);
	assert_non_null(big);
	memcpy(big, buf, len);
	expect_open_fails(big, (size_t)SK_ENVELOPE_MAX + 1, SK_KIND_PLAN, SK_EINVAL);
	{
		uint8_t *payload = NULL;
		size_t payload_len = 0;
		int kind = 0;
		uint8_t signer[SK_KEY_ID_LEN];

		assert_int_equal(sk_envelope_peek(&payload, &payload_len, &kind,
				     signer, big, (size_t)SK_ENVELOPE_MAX + 1, &err),
		    SK_EINVAL);
		assert_null(payload);
	}
	/* Sealing refuses a payload that could not be opened again. */
	assert_int_equal(sk_envelope_seal(&out, &out_len, SK_KIND_PLAN, big,
			     SK_ENVELOPE_MAX, release_key, &err),
	    SK_EINVAL);
	assert_null(out);
	assert_int_equal(
	    sk_envelope_seal(&out, &out_len, 7, buf, len, release_key, &err), SK_EINVAL);
	assert_null(out);
	free(big);
	free(buf);
}

/* Pack an envelope with chosen field sizes, bypassing sk_envelope_seal. */
static uint8_t *
pack_custom(int kind, size_t signer_len, size_t sig_len, size_t *out_len)
{
	Skein__V1__Envelope env = SKEIN__V1__ENVELOPE__INIT;
	uint8_t signer[16], sig[80];
	uint8_t *buf;

	memcpy(signer, sk_seckey_public(release_key)->id, SK_KEY_ID_LEN);
	memset(signer + SK_KEY_ID_LEN, 0, sizeof(signer) - SK_KEY_ID_LEN);
	memset(sig, 0x5a, sizeof(sig));
	env.kind = (Skein__V1__EnvelopeKind)kind;
	env.payload.data = (uint8_t *)(uintptr_t)payload_text;
	env.payload.len = sizeof(payload_text);
	env.signer.data = signer;
	env.signer.len = signer_len;
	env.signature.data = sig;
	env.signature.len = sig_len;
	*out_len = skein__v1__envelope__get_packed_size(&env);
	buf = malloc(*out_len);
	assert_non_null(buf);
	skein__v1__envelope__pack(&env, buf);
	return buf;
}

static void
test_envelope_rejects_wrong_signer_and_signature_sizes(void **state)
{
	static const size_t sizes[][2] = {
		{ 7, 64 },
		{ 9, 64 },
		{ 0, 64 },
		{ 8, 63 },
		{ 8, 65 },
		{ 8, 0 },
		{ 16, 80 },
	};
	uint8_t *buf;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		buf = pack_custom(SK_KIND_PLAN, sizes[i][0], sizes[i][1], &len);
		expect_open_fails(buf, len, SK_KIND_PLAN, SK_EDECODE);
		free(buf);
	}
	/* Right sizes, pinned signer, garbage signature: a crypto failure. */
	buf = pack_custom(SK_KIND_PLAN, 8, 64, &len);
	expect_open_fails(buf, len, SK_KIND_PLAN, SK_ECRYPTO);
	free(buf);
	/* Unknown and unspecified kinds are refused. */
	buf = pack_custom(0, 8, 64, &len);
	expect_open_fails(buf, len, SK_KIND_PLAN, SK_EREFUSED);
	free(buf);
	buf = pack_custom(99, 8, 64, &len);
	expect_open_fails(buf, len, SK_KIND_PLAN, SK_EREFUSED);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_round_trip_returns_payload_and_signer),
		cmocka_unit_test(test_envelope_round_trips_empty_payload_for_every_kind),
		cmocka_unit_test(test_envelope_signature_covers_exact_domain_prefix),
		cmocka_unit_test(test_envelope_rejects_flipped_payload_byte),
		cmocka_unit_test(test_envelope_rejects_flipped_signature_bit),
		cmocka_unit_test(test_envelope_rejects_signature_by_unpinned_key),
		cmocka_unit_test(test_envelope_rejects_control_payload_presented_as_plan),
		cmocka_unit_test(test_envelope_rejects_truncation_at_every_length),
		cmocka_unit_test(test_envelope_rejects_random_bytes),
		cmocka_unit_test(test_envelope_rejects_single_byte_mutations),
		cmocka_unit_test(test_envelope_rejects_oversized_input_before_parsing),
		cmocka_unit_test(test_envelope_rejects_wrong_signer_and_signature_sizes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

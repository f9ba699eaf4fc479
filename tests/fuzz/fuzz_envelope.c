/* fuzz_envelope: the signed envelope every plan, control and agent message
 * arrives in. Each input goes through sk_envelope_peek (`skein plan show`
 * on any file) and sk_envelope_open for each kind against a pinned key,
 * then is sealed as a payload and must open again to the same bytes.
 *
 * The pinned key is $SKEIN_FUZZ_KEY (a key pair's path without .key/.pub,
 * as tests/fuzz/run sets it to the key the seed plans were signed with, so
 * that seeds reach the verified path), else a key made for the process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sk_envelope.h"

#define HARNESS "envelope"

static sk_seckey *key;
static sk_keyring ring;

static void
load_key(void)
{
	const char *base = getenv("SKEIN_FUZZ_KEY");
	char *made = NULL, *path;
	size_t n;
	sk_err err;

	if (base == NULL || base[0] == '\0') {
		made = fuzz_path("envelope");
		if (sk_key_generate(made, &err) != SK_OK)
			fuzz_fail(HARNESS, "%s", err.msg);
		base = made;
	}
	n = strlen(base) + 5;
	path = malloc(n);
	if (path == NULL)
		fuzz_fail(HARNESS, "out of memory");
	snprintf(path, n, "%s.key", base);
	if (sk_seckey_load(path, &key, &err) != SK_OK)
		fuzz_fail(HARNESS, "%s", err.msg);
	if (sk_keyring_add(&ring, sk_seckey_public(key), &err) != SK_OK)
		fuzz_fail(HARNESS, "%s", err.msg);
	free(path);
	free(made);
}

static void
release_key(void)
{
	sk_keyring_fini(&ring);
	sk_seckey_destroy(key);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init(HARNESS);
	load_key();
	atexit(release_key);
	return 0;
}

/* Open as every kind; at most one may succeed, and then the signer must be
 * the pinned key. */
static void
open_each_kind(const uint8_t *data, size_t size)
{
	static const int kinds[] = { SK_KIND_PLAN, SK_KIND_CONTROL, SK_KIND_AGENT };
	int opened = 0;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const sk_pubkey *signer = NULL;
		uint8_t *payload = NULL;
		size_t len = 0;
		sk_err err;

		if (sk_envelope_open(&payload, &len, &signer, data, size,
			kinds[i], &ring, &err) != SK_OK)
			continue;
		if (signer != &ring.keys[0])
			fuzz_fail(HARNESS, "opened with a signer not in the ring");
		opened++;
		free(payload);
	}
	if (opened > 1)
		fuzz_fail(HARNESS, "one envelope opened as %d kinds", opened);
}

/* Seal data as a payload of a kind the first byte picks; it must open as
 * that kind, to the same bytes, and as no other. */
static void
seal_and_open(const uint8_t *data, size_t size)
{
	int kind = size > 0 ? SK_KIND_PLAN + data[0] % 3 : SK_KIND_AGENT;
	uint8_t *sealed = NULL, *payload = NULL;
	size_t sealed_len = 0, len = 0;
	sk_err err;

	if (sk_envelope_seal(&sealed, &sealed_len, kind, data, size, key, &err) != SK_OK)
		fuzz_fail(HARNESS, "seal %zu bytes: %s", size, err.msg);
	if (sk_envelope_open(&payload, &len, NULL, sealed, sealed_len, kind,
		&ring, &err) != SK_OK)
		fuzz_fail(HARNESS, "open what was sealed: %s", err.msg);
	fuzz_expect_same(HARNESS, "sealed payload", data, size, payload, len);
	free(payload);
	payload = NULL;
	if (sk_envelope_open(&payload, &len, NULL, sealed, sealed_len,
		kind == SK_KIND_AGENT ? SK_KIND_CONTROL : SK_KIND_AGENT, &ring,
		&err) == SK_OK)
		fuzz_fail(HARNESS, "a sealed envelope opened as another kind");
	free(sealed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t signer[SK_KEY_ID_LEN];
	uint8_t *payload = NULL;
	size_t len = 0;
	int kind = 0;
	sk_err err;

	if (sk_envelope_peek(&payload, &len, &kind, signer, data, size, &err) == SK_OK) {
		if (len > size)
			fuzz_fail(HARNESS, "peek: a payload longer than its envelope");
		free(payload);
	}
	open_each_kind(data, size);
	seal_and_open(data, size);
	return 0;
}

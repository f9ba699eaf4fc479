/* sk_key: Ed25519 keys on disk and in memory, and sets of pinned keys.
 *
 * Ownership: secret keys live in sodium_malloc'ed memory owned by the
 * sk_seckey object (wiped on destroy); public keys are plain values.
 *
 * On-disk format (text, one line each, so files diff and paste cleanly):
 *   NAME.pub  "skein-ed25519-public <base64 of 32 bytes> [comment]"
 *   NAME.key  "skein-ed25519-secret <base64 of 64 bytes>"   mode 0600
 * A key id is the first 8 bytes of BLAKE2b-256 of the public key; it names
 * the signer in every envelope and is shown as 16 hex digits.
 */
#ifndef SK_KEY_H
#define SK_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"

#define SK_PUBKEY_LEN 32
#define SK_SECKEY_LEN 64
#define SK_KEY_ID_LEN 8
#define SK_SIG_LEN 64

typedef struct sk_pubkey {
	uint8_t pk[SK_PUBKEY_LEN];
	uint8_t id[SK_KEY_ID_LEN];
	char name[128]; /* where it came from: file path or label */
} sk_pubkey;

typedef struct sk_seckey sk_seckey;

/* Initialise libsodium once; safe to call repeatedly and from any thread.
 * Fails only if libsodium cannot initialise. */
int sk_crypto_init(sk_err *err) SK_WARN_UNUSED;

/* Generate a key pair and write out_base + ".key" (0600, created
 * exclusively: an existing file is an error, never overwritten) and
 * out_base + ".pub". */
int sk_key_generate(const char *out_base, sk_err *err) SK_WARN_UNUSED;

/* Load a secret key file. Refuses a file readable by group or others
 * (SK_EINVAL, with a chmod hint). On success *out is owned by the caller
 * (sk_seckey_destroy). */
int sk_seckey_load(const char *path, sk_seckey **out, sk_err *err) SK_WARN_UNUSED;

/* Wipe and free. Accepts NULL. */
void sk_seckey_destroy(sk_seckey *key);

/* The public half of a loaded secret key. Valid while key lives. */
const sk_pubkey *sk_seckey_public(const sk_seckey *key);

/* Sign msg with key into sig (SK_SIG_LEN bytes). */
void sk_seckey_sign(const sk_seckey *key, const uint8_t *msg, size_t len,
    uint8_t sig[SK_SIG_LEN]);

/* Load a public key file into *out. */
int sk_pubkey_load(const char *path, sk_pubkey *out, sk_err *err) SK_WARN_UNUSED;

/* Compute id from pk. */
void sk_pubkey_set(sk_pubkey *out, const uint8_t pk[SK_PUBKEY_LEN], const char *name);

/* 16 hex digits of a key id, NUL-terminated. */
void sk_key_id_hex(const uint8_t id[SK_KEY_ID_LEN], char out[2 * SK_KEY_ID_LEN + 1]);

/* Verify a detached signature: SK_OK or SK_ECRYPTO. */
int sk_pubkey_verify(const sk_pubkey *key, const uint8_t *msg, size_t len,
    const uint8_t sig[SK_SIG_LEN]) SK_WARN_UNUSED;

/* A set of pinned public keys. Zero-initialise, then add. */
typedef struct sk_keyring {
	sk_pubkey *keys;
	size_t n;
} sk_keyring;

/* Append the key in path; a duplicate key is ignored. */
int sk_keyring_add_file(sk_keyring *ring, const char *path, sk_err *err) SK_WARN_UNUSED;
/* Append a key value (copied); a duplicate key is ignored. */
int sk_keyring_add(sk_keyring *ring, const sk_pubkey *key, sk_err *err) SK_WARN_UNUSED;
/* The key with this id, or NULL. */
const sk_pubkey *sk_keyring_find(
    const sk_keyring *ring, const uint8_t id[SK_KEY_ID_LEN]);
/* Free the keys; the ring is empty afterwards. Accepts NULL. */
void sk_keyring_fini(sk_keyring *ring);

#endif

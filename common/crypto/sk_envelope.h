/* sk_envelope: the signed envelope every coordinator/agent message and every
 * plan travels in.
 *
 * The signature covers a domain-separation prefix for the kind followed by
 * the payload, so a signature made for one kind of message can never be
 * replayed as another ("skein/v1/plan\0", "skein/v1/control\0",
 * "skein/v1/agent\0", "skein/v1/operator\0"). Envelopes larger than SK_ENVELOPE_MAX are refused
 * before any parsing.
 */
#ifndef SK_ENVELOPE_H
#define SK_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"
#include "sk_key.h"

enum sk_kind {
	SK_KIND_PLAN = 1,
	SK_KIND_CONTROL = 2,
	SK_KIND_AGENT = 3,
	SK_KIND_OPERATOR = 4, /* a person's command to the coordinator */
};

#define SK_ENVELOPE_MAX (16u * 1024u * 1024u)

/* Sign payload as an envelope of kind with key. On success *out is a new
 * malloc'ed buffer of *out_len bytes (caller frees). */
int sk_envelope_seal(uint8_t **out, size_t *out_len, int kind, const uint8_t *payload,
    size_t payload_len, const sk_seckey *key, sk_err *err) SK_WARN_UNUSED;

/* Decode and verify an envelope. It must be of expected_kind and signed by
 * a key in pinned. On success *payload is a new malloc'ed copy of the
 * payload (caller frees), and *signer (if not NULL) points at the key in
 * pinned. On failure nothing is allocated and err says why:
 * SK_EINVAL (too large), SK_EDECODE (not an envelope), SK_EREFUSED (wrong
 * kind), SK_ECRYPTO (unknown signer, bad signature). */
int sk_envelope_open(uint8_t **payload, size_t *payload_len,
    const sk_pubkey **signer, const uint8_t *buf, size_t len, int expected_kind,
    const sk_keyring *pinned, sk_err *err) SK_WARN_UNUSED;

/* Decode without verifying, for display (`skein plan show`): fills kind,
 * signer id and a malloc'ed payload copy. Never use the result for
 * anything but showing it. */
int sk_envelope_peek(uint8_t **payload, size_t *payload_len, int *kind,
    uint8_t signer[SK_KEY_ID_LEN], const uint8_t *buf, size_t len,
    sk_err *err) SK_WARN_UNUSED;

#endif

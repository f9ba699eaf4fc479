/* sk_envelope: seal and open the signed Envelope. Every byte here may come
 * from an attacker, so each field is checked for size before use and the
 * signature is checked before the payload leaves this file. */
#include "sk_envelope.h"

#include <stdlib.h>
#include <string.h>

#include "sk_util.h"
#include "skein.pb-c.h"

/* Each kind's domain prefix and name, indexed by kind. Prefixes include
 * their terminating NUL, so no prefix is a prefix of another kind's prefix
 * followed by payload bytes. */
static const struct {
	const char *domain;
	size_t len;
	const char *name;
} kinds[] = {
	[SK_KIND_PLAN] = { "skein/v1/plan", sizeof("skein/v1/plan"), "plan" },
	[SK_KIND_CONTROL] = { "skein/v1/control", sizeof("skein/v1/control"), "control" },
	[SK_KIND_AGENT] = { "skein/v1/agent", sizeof("skein/v1/agent"), "agent" },
	[SK_KIND_OPERATOR] = { "skein/v1/operator", sizeof("skein/v1/operator"), "operator" },
};

/* Room the envelope's own fields need beyond the payload: tags, lengths,
 * kind, signer and signature. Generous on purpose. */
#define ENVELOPE_OVERHEAD 128

static const char *
kind_domain(int kind, size_t *len)
{
	if (kind <= 0 || (size_t)kind >= sizeof(kinds) / sizeof(kinds[0]) ||
	    kinds[kind].domain == NULL) {
		*len = 0;
		return NULL;
	}
	*len = kinds[kind].len;
	return kinds[kind].domain;
}

static const char *
kind_name(int kind)
{
	if (kind <= 0 || (size_t)kind >= sizeof(kinds) / sizeof(kinds[0]) ||
	    kinds[kind].name == NULL)
		return "unknown";
	return kinds[kind].name;
}

/* domain(kind) || payload as a new buffer, the bytes a signature covers. */
static uint8_t *
signed_bytes(int kind, const uint8_t *payload, size_t payload_len, size_t *out_len)
{
	size_t dlen;
	const char *dom = kind_domain(kind, &dlen);
	uint8_t *msg;

	if (dom == NULL)
		return NULL;
	msg = malloc(dlen + payload_len);
	if (msg == NULL)
		return NULL;
	memcpy(msg, dom, dlen);
	if (payload_len > 0)
		memcpy(msg + dlen, payload, payload_len);
	*out_len = dlen + payload_len;
	return msg;
}

int
sk_envelope_seal(uint8_t **out, size_t *out_len, int kind,
    const uint8_t *payload, size_t payload_len, const sk_seckey *key, sk_err *err)
{
	Skein__V1__Envelope env = SKEIN__V1__ENVELOPE__INIT;
	const sk_pubkey *pub = sk_seckey_public(key);
	uint8_t sig[SK_SIG_LEN];
	uint8_t signer[SK_KEY_ID_LEN];
	uint8_t *msg, *buf;
	size_t msg_len = 0, len;

	if (kind_domain(kind, &len) == NULL)
		return sk_err_set(
		    err, SK_EINVAL, "seal envelope: unknown kind %d", kind);
	if (payload_len > SK_ENVELOPE_MAX - ENVELOPE_OVERHEAD)
		return sk_err_set(err, SK_EINVAL,
		    "seal %s envelope: payload of %zu bytes exceeds the %u byte limit",
		    kind_name(kind), payload_len, SK_ENVELOPE_MAX);
	msg = signed_bytes(kind, payload, payload_len, &msg_len);
	if (msg == NULL)
		return sk_err_set(err, SK_ENOMEM,
		    "seal %s envelope: out of memory", kind_name(kind));
	sk_seckey_sign(key, msg, msg_len, sig);
	free(msg);

	memcpy(signer, pub->id, SK_KEY_ID_LEN);
	env.kind = (Skein__V1__EnvelopeKind)kind;
	/* protobuf-c does not write through these pointers when packing. */
	env.payload.data = (uint8_t *)(uintptr_t)payload;
	env.payload.len = payload_len;
	env.signer.data = signer;
	env.signer.len = SK_KEY_ID_LEN;
	env.signature.data = sig;
	env.signature.len = SK_SIG_LEN;
	len = skein__v1__envelope__get_packed_size(&env);
	buf = malloc(len > 0 ? len : 1);
	if (buf == NULL)
		return sk_err_set(err, SK_ENOMEM,
		    "seal %s envelope: out of memory", kind_name(kind));
	skein__v1__envelope__pack(&env, buf);
	*out = buf;
	*out_len = len;
	return SK_OK;
}

/* Unpack buf as an Envelope whose signer and signature have the right
 * sizes into *out (free with free_unpacked); on failure err says why. */
static int
unpack_checked(const uint8_t *buf, size_t len, const char *op,
    Skein__V1__Envelope **out, sk_err *err)
{
	static const uint8_t empty[1];
	Skein__V1__Envelope *env;

	if (len > SK_ENVELOPE_MAX)
		return sk_err_set(err, SK_EINVAL,
		    "%s envelope: %zu bytes exceeds the %u byte limit", op, len,
		    SK_ENVELOPE_MAX);
	if (buf == NULL && len > 0)
		return sk_err_set(err, SK_EINVAL, "%s envelope: no buffer", op);
	env = skein__v1__envelope__unpack(NULL, len, buf ? buf : empty);
	if (env == NULL)
		return sk_err_set(err, SK_EDECODE,
		    "%s envelope: not a valid envelope (%zu bytes)", op, len);
	if (env->signer.len != SK_KEY_ID_LEN || env->signature.len != SK_SIG_LEN) {
		sk_err_set(err, SK_EDECODE,
		    "%s envelope: signer of %zu bytes or signature of %zu bytes "
		    "(want %d and %d)",
		    op, env->signer.len, env->signature.len, SK_KEY_ID_LEN,
		    SK_SIG_LEN);
		skein__v1__envelope__free_unpacked(env, NULL);
		return SK_EDECODE;
	}
	*out = env;
	return SK_OK;
}

static uint8_t *
copy_payload(const Skein__V1__Envelope *env)
{
	uint8_t *p = malloc(env->payload.len > 0 ? env->payload.len : 1);

	if (p != NULL && env->payload.len > 0)
		memcpy(p, env->payload.data, env->payload.len);
	return p;
}

int
sk_envelope_open(uint8_t **payload, size_t *payload_len,
    const sk_pubkey **signer, const uint8_t *buf, size_t len, int expected_kind,
    const sk_keyring *pinned, sk_err *err)
{
	Skein__V1__Envelope *env = NULL;
	const sk_pubkey *key;
	char idhex[2 * SK_KEY_ID_LEN + 1];
	uint8_t *msg = NULL, *copy;
	size_t msg_len = 0;
	int rc;

	rc = unpack_checked(buf, len, "open", &env, err);
	if (rc != SK_OK)
		return rc;
	if ((int)env->kind != expected_kind) {
		rc = sk_err_set(err, SK_EREFUSED,
		    "open envelope: kind %s (%d) where %s was expected",
		    kind_name((int)env->kind), (int)env->kind,
		    kind_name(expected_kind));
		goto out;
	}
	sk_key_id_hex(env->signer.data, idhex);
	key = sk_keyring_find(pinned, env->signer.data);
	if (key == NULL) {
		rc = sk_err_set(err, SK_ECRYPTO,
		    "open %s envelope: signer %s is not a pinned key",
		    kind_name(expected_kind), idhex);
		goto out;
	}
	msg = signed_bytes(expected_kind, env->payload.data, env->payload.len, &msg_len);
	if (msg == NULL) {
		rc = sk_err_set(err, SK_ENOMEM,
		    "open %s envelope: out of memory", kind_name(expected_kind));
		goto out;
	}
	if (sk_pubkey_verify(key, msg, msg_len, env->signature.data) != SK_OK) {
		rc = sk_err_set(err, SK_ECRYPTO,
		    "open %s envelope: bad signature for key %s (%s)",
		    kind_name(expected_kind), idhex, key->name);
		goto out;
	}
	copy = copy_payload(env);
	if (copy == NULL) {
		rc = sk_err_set(err, SK_ENOMEM,
		    "open %s envelope: out of memory", kind_name(expected_kind));
		goto out;
	}
	*payload = copy;
	*payload_len = env->payload.len;
	if (signer != NULL)
		*signer = key;
	rc = SK_OK;
out:
	free(msg);
	skein__v1__envelope__free_unpacked(env, NULL);
	return rc;
}

int
sk_envelope_peek(uint8_t **payload, size_t *payload_len, int *kind,
    uint8_t signer[SK_KEY_ID_LEN], const uint8_t *buf, size_t len, sk_err *err)
{
	Skein__V1__Envelope *env = NULL;
	uint8_t *copy;
	int rc;

	rc = unpack_checked(buf, len, "peek", &env, err);
	if (rc != SK_OK)
		return rc;
	copy = copy_payload(env);
	if (copy == NULL) {
		skein__v1__envelope__free_unpacked(env, NULL);
		return sk_err_set(err, SK_ENOMEM, "peek envelope: out of memory");
	}
	*payload = copy;
	*payload_len = env->payload.len;
	*kind = (int)env->kind;
	memcpy(signer, env->signer.data, SK_KEY_ID_LEN);
	skein__v1__envelope__free_unpacked(env, NULL);
	return SK_OK;
}

/* sk_peer: the agent-to-agent handshake and streams on libsodium. Every
 * byte handed in may come from an attacker on the path: sizes are checked
 * before anything is read, and any failure kills the peer and wipes its
 * keys, so a caller that ignores one error cannot go on with a half-broken
 * session. The whole object lives in sodium_malloc'ed memory. */
#include "sk_peer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define VERSION 1
#define MSG_HELLO 1
#define MSG_REPLY 2
#define MSG_FINISH 3
#define NONCE_LEN 32
#define HASH_LEN 32
#define FIELD_MAX 65535u

#define DOM_CONTEXT "skein/v1/peer-context"
#define DOM_TRANSCRIPT "skein/v1/peer-transcript"
#define DOM_REPLY "skein/v1/peer-reply"
#define DOM_FINISH "skein/v1/peer-finish"
#define DOM_I2R "skein/v1/peer-stream i2r"
#define DOM_R2I "skein/v1/peer-stream r2i"

/* Direction bytes in each chunk's authenticated data. */
#define DIR_I2R 'i'
#define DIR_R2I 'r'

/* Where the fields of the handshake messages sit (sk_peer.h has the
 * layout): type and version, then the ephemeral key, the nonce, and the
 * context hash (HELLO) or signature (REPLY); FINISH is a signature. */
#define AT_EPH 2
#define AT_NONCE (AT_EPH + crypto_kx_PUBLICKEYBYTES)
#define AT_CTX (AT_NONCE + NONCE_LEN)
#define AT_SIG AT_CTX
#define AT_FINISH_SIG 2
_Static_assert(SK_PEER_HELLO_LEN == AT_CTX + HASH_LEN, "HELLO layout");
_Static_assert(SK_PEER_REPLY_LEN == AT_SIG + SK_SIG_LEN, "REPLY layout");
_Static_assert(SK_PEER_FINISH_LEN == AT_FINISH_SIG + SK_SIG_LEN, "FINISH layout");

enum state {
	ST_NEW,        /* created; initiator sends HELLO, responder awaits it */
	ST_SENT_HELLO, /* initiator awaits REPLY */
	ST_SENT_REPLY, /* responder awaits FINISH */
	ST_READY,
	ST_DEAD,
};

struct sk_peer {
	int role;
	enum state state;
	const sk_seckey *my_key;
	sk_pubkey peer_key;
	uint8_t ctx_hash[HASH_LEN];
	uint8_t eph_pk[crypto_kx_PUBLICKEYBYTES]; /* ours */
	uint8_t eph_sk[crypto_kx_SECRETKEYBYTES]; /* wiped once used */
	uint8_t nonce[NONCE_LEN];                 /* ours */
	uint8_t th[HASH_LEN];                     /* transcript hash */
	/* Each direction's stream key, from derive_keys until its stream
	 * state is set up by the first chunk (then wiped). */
	uint8_t tx_key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	uint8_t rx_key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	crypto_secretstream_xchacha20poly1305_state tx;
	crypto_secretstream_xchacha20poly1305_state rx;
	uint64_t tx_seq, rx_seq;
	bool tx_started, rx_started; /* header sent / received */
	bool tx_final, rx_final;
	char why[160]; /* the failure that killed the peer */
};

static const char *
role_name(int role)
{
	return role == SK_PEER_INITIATOR ? "initiator" : "responder";
}

/* Wipe every secret, remember why and fail with code. */
static int peer_fail(sk_peer *p, sk_err *err, int code, const char *fmt, ...)
    SK_PRINTF(4, 5);

static int
peer_fail(sk_peer *p, sk_err *err, int code, const char *fmt, ...)
{
	char msg[SK_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->state != ST_DEAD) {
		size_t n = strnlen(msg, sizeof(p->why) - 1);

		memcpy(p->why, msg, n);
		p->why[n] = '\0';
		sodium_memzero(p->eph_sk, sizeof(p->eph_sk));
		sodium_memzero(p->tx_key, sizeof(p->tx_key));
		sodium_memzero(p->rx_key, sizeof(p->rx_key));
		sodium_memzero(&p->tx, sizeof(p->tx));
		sodium_memzero(&p->rx, sizeof(p->rx));
		p->state = ST_DEAD;
	}
	return sk_err_set(err, code, "%s", msg);
}

/* Refuse any call on a dead peer, and any call by the wrong role (0: any)
 * or in the wrong state (which kills it too). */
static int
peer_expect(sk_peer *p, int role, enum state want, const char *op, sk_err *err)
{
	if (p->state == ST_DEAD)
		return sk_err_set(err, SK_ESTATE,
		    "%s: peer is dead after an earlier failure (%s)", op, p->why);
	if (role != 0 && p->role != role)
		return peer_fail(p, err, SK_ESTATE, "%s: only the %s does this",
		    op, role_name(role));
	if (p->state != want)
		return peer_fail(p, err, SK_ESTATE,
		    "%s: not valid for the %s in this state of the handshake",
		    op, role_name(p->role));
	return SK_OK;
}

static int
put_field(uint8_t *buf, size_t *at, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n > FIELD_MAX)
		return -1;
	if (buf != NULL) {
		buf[*at] = (uint8_t)(n >> 24);
		buf[*at + 1] = (uint8_t)(n >> 16);
		buf[*at + 2] = (uint8_t)(n >> 8);
		buf[*at + 3] = (uint8_t)n;
		if (n > 0)
			memcpy(buf + *at + 4, s, n);
	}
	*at += 4 + n;
	return 0;
}

int
sk_peer_context_encode(
    uint8_t **out, size_t *out_len, const sk_peer_context *ctx, sk_err *err)
{
	const char *f[] = { ctx->rollout_id, ctx->plan_id, ctx->move_id,
		ctx->tenant, ctx->source_region, ctx->target_region };
	const size_t nf = sizeof(f) / sizeof(f[0]);
	uint8_t *buf;
	size_t len = 0;

	for (size_t i = 0; i < nf; i++)
		if (put_field(NULL, &len, f[i]) != 0)
			return sk_err_set(err, SK_EINVAL,
			    "encode move context: field %zu longer than %u bytes",
			    i, FIELD_MAX);
	buf = malloc(len);
	if (buf == NULL)
		return sk_err_set(err, SK_ENOMEM, "encode move context: out of memory");
	len = 0;
	for (size_t i = 0; i < nf; i++)
		(void)put_field(buf, &len, f[i]);
	*out = buf;
	*out_len = len;
	return SK_OK;
}

int
sk_peer_create(int role, const sk_seckey *my_key, const sk_pubkey *peer_key,
    const uint8_t *context, size_t context_len, sk_peer **out, sk_err *err)
{
	crypto_generichash_state h;
	sk_peer *p;

	if (role != SK_PEER_INITIATOR && role != SK_PEER_RESPONDER)
		return sk_err_set(err, SK_EINVAL, "create peer: unknown role %d", role);
	if (my_key == NULL || peer_key == NULL || (context == NULL && context_len > 0))
		return sk_err_set(
		    err, SK_EINVAL, "create peer: no key, peer key or context");
	if (sodium_init() < 0)
		return sk_err_set(err, SK_ECRYPTO, "create peer: libsodium failed");
	/* sodium_malloc: guarded, locked where the system allows, and wiped
	 * by sodium_free. Its memory is not zeroed. */
	p = sodium_malloc(sizeof(*p));
	if (p == NULL)
		return sk_err_set(err, SK_ENOMEM, "create peer: out of memory");
	memset(p, 0, sizeof(*p));
	p->role = role;
	p->state = ST_NEW;
	p->my_key = my_key;
	p->peer_key = *peer_key;
	crypto_generichash_init(&h, NULL, 0, HASH_LEN);
	crypto_generichash_update(
	    &h, (const uint8_t *)DOM_CONTEXT, sizeof(DOM_CONTEXT));
	if (context_len > 0)
		crypto_generichash_update(&h, context, context_len);
	crypto_generichash_final(&h, p->ctx_hash, HASH_LEN);
	*out = p;
	return SK_OK;
}

void
sk_peer_destroy(sk_peer *p)
{
	if (p != NULL)
		sodium_free(p); /* wipes the whole object first */
}

bool
sk_peer_ready(const sk_peer *p)
{
	return p != NULL && p->state == ST_READY;
}

/* th over the context and both sides' contributions, in initiator,
 * responder order whatever our role. */
static void
transcript(sk_peer *p, const uint8_t *peer_eph, const uint8_t *peer_nonce)
{
	const sk_pubkey *me = sk_seckey_public(p->my_key);
	const bool init = p->role == SK_PEER_INITIATOR;
	crypto_generichash_state h;

	crypto_generichash_init(&h, NULL, 0, HASH_LEN);
	crypto_generichash_update(
	    &h, (const uint8_t *)DOM_TRANSCRIPT, sizeof(DOM_TRANSCRIPT));
	crypto_generichash_update(&h, p->ctx_hash, HASH_LEN);
	crypto_generichash_update(
	    &h, init ? p->eph_pk : peer_eph, crypto_kx_PUBLICKEYBYTES);
	crypto_generichash_update(
	    &h, init ? peer_eph : p->eph_pk, crypto_kx_PUBLICKEYBYTES);
	crypto_generichash_update(&h, init ? p->nonce : peer_nonce, NONCE_LEN);
	crypto_generichash_update(&h, init ? peer_nonce : p->nonce, NONCE_LEN);
	crypto_generichash_update(&h, init ? me->pk : p->peer_key.pk, SK_PUBKEY_LEN);
	crypto_generichash_update(&h, init ? p->peer_key.pk : me->pk, SK_PUBKEY_LEN);
	crypto_generichash_final(&h, p->th, HASH_LEN);
}

/* dom || th, the bytes a handshake signature covers. */
static size_t
sig_msg(uint8_t *msg, const char *dom, size_t dom_len, const uint8_t *th)
{
	memcpy(msg, dom, dom_len);
	memcpy(msg + dom_len, th, HASH_LEN);
	return dom_len + HASH_LEN;
}

static void
mix_key(uint8_t *out, const uint8_t *kx_key, const char *dom, size_t dom_len,
    const uint8_t *th)
{
	crypto_generichash_state h;

	crypto_generichash_init(&h, kx_key, crypto_kx_SESSIONKEYBYTES,
	    crypto_secretstream_xchacha20poly1305_KEYBYTES);
	crypto_generichash_update(&h, (const uint8_t *)dom, dom_len);
	crypto_generichash_update(&h, th, HASH_LEN);
	crypto_generichash_final(&h, out, crypto_secretstream_xchacha20poly1305_KEYBYTES);
	sodium_memzero(&h, sizeof(h));
}

/* crypto_kx on the ephemeral keys, mixed with th into the stream keys;
 * the ephemeral secret is wiped whatever happens. */
static int
derive_keys(sk_peer *p, const uint8_t *peer_eph)
{
	uint8_t rx[crypto_kx_SESSIONKEYBYTES], tx[crypto_kx_SESSIONKEYBYTES];
	int r;

	if (p->role == SK_PEER_INITIATOR)
		r = crypto_kx_client_session_keys(rx, tx, p->eph_pk, p->eph_sk, peer_eph);
	else
		r = crypto_kx_server_session_keys(rx, tx, p->eph_pk, p->eph_sk, peer_eph);
	sodium_memzero(p->eph_sk, sizeof(p->eph_sk));
	if (r != 0) {
		sodium_memzero(rx, sizeof(rx));
		sodium_memzero(tx, sizeof(tx));
		return -1;
	}
	if (p->role == SK_PEER_INITIATOR) {
		mix_key(p->tx_key, tx, DOM_I2R, sizeof(DOM_I2R), p->th);
		mix_key(p->rx_key, rx, DOM_R2I, sizeof(DOM_R2I), p->th);
	} else {
		mix_key(p->tx_key, tx, DOM_R2I, sizeof(DOM_R2I), p->th);
		mix_key(p->rx_key, rx, DOM_I2R, sizeof(DOM_I2R), p->th);
	}
	sodium_memzero(rx, sizeof(rx));
	sodium_memzero(tx, sizeof(tx));
	return 0;
}

int
sk_peer_hello(uint8_t out[SK_PEER_HELLO_LEN], sk_peer *p, sk_err *err)
{
	int rc;

	rc = peer_expect(
	    p, SK_PEER_INITIATOR, ST_NEW, "send move handshake HELLO", err);
	if (rc != SK_OK)
		return rc;
	crypto_kx_keypair(p->eph_pk, p->eph_sk);
	randombytes_buf(p->nonce, NONCE_LEN);
	out[0] = MSG_HELLO;
	out[1] = VERSION;
	memcpy(out + AT_EPH, p->eph_pk, crypto_kx_PUBLICKEYBYTES);
	memcpy(out + AT_NONCE, p->nonce, NONCE_LEN);
	memcpy(out + AT_CTX, p->ctx_hash, HASH_LEN);
	p->state = ST_SENT_HELLO;
	return SK_OK;
}

/* A handshake message of type and len bytes, or a refusal naming what. */
static int
check_msg(sk_peer *p, const uint8_t *in, size_t in_len, size_t want_len,
    int type, const char *what, sk_err *err)
{
	if (in == NULL || in_len != want_len)
		return peer_fail(p, err, SK_ECRYPTO,
		    "receive move handshake %s: %zu bytes where %zu were expected",
		    what, in == NULL ? (size_t)0 : in_len, want_len);
	if (in[0] != type || in[1] != VERSION)
		return peer_fail(p, err, SK_ECRYPTO,
		    "receive move handshake %s: message type %u version %u "
		    "where type %d version %d was expected",
		    what, in[0], in[1], type, VERSION);
	return SK_OK;
}

int
sk_peer_reply(uint8_t out[SK_PEER_REPLY_LEN], sk_peer *p, const uint8_t *hello,
    size_t hello_len, sk_err *err)
{
	uint8_t msg[sizeof(DOM_REPLY) + HASH_LEN];
	uint8_t sig[SK_SIG_LEN];
	int rc;

	rc = peer_expect(
	    p, SK_PEER_RESPONDER, ST_NEW, "receive move handshake HELLO", err);
	if (rc != SK_OK)
		return rc;
	rc = check_msg(p, hello, hello_len, SK_PEER_HELLO_LEN, MSG_HELLO, "HELLO", err);
	if (rc != SK_OK)
		return rc;
	if (sodium_memcmp(hello + AT_CTX, p->ctx_hash, HASH_LEN) != 0)
		return peer_fail(p, err, SK_ECRYPTO,
		    "receive move handshake HELLO: it is for another move "
		    "(context differs: move, rollout, plan, tenant or regions)");
	crypto_kx_keypair(p->eph_pk, p->eph_sk);
	randombytes_buf(p->nonce, NONCE_LEN);
	transcript(p, hello + AT_EPH, hello + AT_NONCE);
	if (derive_keys(p, hello + AT_EPH) != 0)
		return peer_fail(p, err, SK_ECRYPTO,
		    "receive move handshake HELLO: unusable ephemeral key");
	sk_seckey_sign(p->my_key, msg,
	    sig_msg(msg, DOM_REPLY, sizeof(DOM_REPLY), p->th), sig);
	out[0] = MSG_REPLY;
	out[1] = VERSION;
	memcpy(out + AT_EPH, p->eph_pk, crypto_kx_PUBLICKEYBYTES);
	memcpy(out + AT_NONCE, p->nonce, NONCE_LEN);
	memcpy(out + AT_SIG, sig, SK_SIG_LEN);
	p->state = ST_SENT_REPLY;
	return SK_OK;
}

int
sk_peer_finish(uint8_t out[SK_PEER_FINISH_LEN], sk_peer *p,
    const uint8_t *reply, size_t reply_len, sk_err *err)
{
	uint8_t msg[sizeof(DOM_FINISH) + HASH_LEN];
	uint8_t sig[SK_SIG_LEN];
	char idhex[2 * SK_KEY_ID_LEN + 1];
	int rc;

	rc = peer_expect(p, SK_PEER_INITIATOR, ST_SENT_HELLO,
	    "receive move handshake REPLY", err);
	if (rc != SK_OK)
		return rc;
	rc = check_msg(p, reply, reply_len, SK_PEER_REPLY_LEN, MSG_REPLY, "REPLY", err);
	if (rc != SK_OK)
		return rc;
	transcript(p, reply + AT_EPH, reply + AT_NONCE);
	if (sk_pubkey_verify(&p->peer_key, msg,
		sig_msg(msg, DOM_REPLY, sizeof(DOM_REPLY), p->th),
		reply + AT_SIG) != SK_OK) {
		sk_key_id_hex(p->peer_key.id, idhex);
		return peer_fail(p, err, SK_ECRYPTO,
		    "receive move handshake REPLY: signature does not verify "
		    "with the pinned source agent key %s (another key, another "
		    "move, or a replayed or altered reply)",
		    idhex);
	}
	if (derive_keys(p, reply + AT_EPH) != 0)
		return peer_fail(p, err, SK_ECRYPTO,
		    "receive move handshake REPLY: unusable ephemeral key");
	sk_seckey_sign(p->my_key, msg,
	    sig_msg(msg, DOM_FINISH, sizeof(DOM_FINISH), p->th), sig);
	out[0] = MSG_FINISH;
	out[1] = VERSION;
	memcpy(out + AT_FINISH_SIG, sig, SK_SIG_LEN);
	p->state = ST_READY;
	return SK_OK;
}

int
sk_peer_accept(sk_peer *p, const uint8_t *finish, size_t finish_len, sk_err *err)
{
	uint8_t msg[sizeof(DOM_FINISH) + HASH_LEN];
	char idhex[2 * SK_KEY_ID_LEN + 1];
	int rc;

	rc = peer_expect(p, SK_PEER_RESPONDER, ST_SENT_REPLY,
	    "receive move handshake FINISH", err);
	if (rc != SK_OK)
		return rc;
	rc = check_msg(p, finish, finish_len, SK_PEER_FINISH_LEN, MSG_FINISH,
	    "FINISH", err);
	if (rc != SK_OK)
		return rc;
	if (sk_pubkey_verify(&p->peer_key, msg,
		sig_msg(msg, DOM_FINISH, sizeof(DOM_FINISH), p->th),
		finish + AT_FINISH_SIG) != SK_OK) {
		sk_key_id_hex(p->peer_key.id, idhex);
		return peer_fail(p, err, SK_ECRYPTO,
		    "receive move handshake FINISH: signature does not verify "
		    "with the pinned target agent key %s (another key, another "
		    "move, or a replayed or altered finish)",
		    idhex);
	}
	p->state = ST_READY;
	return SK_OK;
}

/* --- streams ---------------------------------------------------------- */

size_t
sk_peer_sealed_len(const sk_peer *p, size_t len)
{
	return len + SK_PEER_CHUNK_OVERHEAD +
	    (p != NULL && p->tx_started ? 0 : SK_PEER_HEADER_LEN);
}

static void
put_u64(uint8_t *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		b[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
get_u64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

/* direction || type || seq, the authenticated data of a chunk. */
static void
chunk_ad(uint8_t ad[10], uint8_t dir, uint8_t type, uint64_t seq)
{
	ad[0] = dir;
	ad[1] = type;
	put_u64(ad + 2, seq);
}

static uint8_t
tx_dir(const sk_peer *p)
{
	return p->role == SK_PEER_INITIATOR ? DIR_I2R : DIR_R2I;
}

static uint8_t
rx_dir(const sk_peer *p)
{
	return p->role == SK_PEER_INITIATOR ? DIR_R2I : DIR_I2R;
}

int
sk_peer_seal(uint8_t *out, size_t out_cap, size_t *out_len, sk_peer *p,
    uint8_t type, const uint8_t *data, size_t len, bool final, sk_err *err)
{
	static const uint8_t empty[1];
	uint8_t ad[10];
	size_t need, at = 0;
	unsigned long long clen = 0;
	int rc;

	rc = peer_expect(p, 0, ST_READY, "seal move chunk", err);
	if (rc != SK_OK)
		return rc;
	if (p->tx_final)
		return peer_fail(p, err, SK_ESTATE,
		    "seal move chunk %llu: the stream was already ended "
		    "(final chunk sealed)",
		    (unsigned long long)p->tx_seq);
	if (len > SK_PEER_CHUNK_MAX)
		return peer_fail(p, err, SK_EINVAL,
		    "seal move chunk %llu: %zu bytes exceed the %u byte chunk limit",
		    (unsigned long long)p->tx_seq, len, SK_PEER_CHUNK_MAX);
	if (data == NULL && len > 0)
		return peer_fail(p, err, SK_EINVAL, "seal move chunk: no data");
	need = sk_peer_sealed_len(p, len);
	if (out == NULL || out_cap < need)
		return peer_fail(p, err, SK_EINVAL,
		    "seal move chunk %llu: output buffer of %zu bytes, %zu needed",
		    (unsigned long long)p->tx_seq, out_cap, need);
	if (!p->tx_started) {
		crypto_secretstream_xchacha20poly1305_init_push(&p->tx, out, p->tx_key);
		sodium_memzero(p->tx_key, sizeof(p->tx_key));
		at = SK_PEER_HEADER_LEN;
	}
	out[at] = type;
	put_u64(out + at + 1, p->tx_seq);
	chunk_ad(ad, tx_dir(p), type, p->tx_seq);
	if (crypto_secretstream_xchacha20poly1305_push(&p->tx, out + at + 9,
		&clen, data != NULL ? data : empty, len, ad, sizeof(ad),
		final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL :
			crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) != 0)
		return peer_fail(p, err, SK_ECRYPTO,
		    "seal move chunk %llu: encryption failed",
		    (unsigned long long)p->tx_seq);
	p->tx_started = true;
	p->tx_seq++;
	if (final) {
		p->tx_final = true;
		sodium_memzero(&p->tx, sizeof(p->tx));
	}
	*out_len = at + 9 + (size_t)clen;
	return SK_OK;
}

int
sk_peer_open(uint8_t *out, size_t out_cap, size_t *out_len, uint8_t *type,
    bool *final, sk_peer *p, const uint8_t *in, size_t in_len, sk_err *err)
{
	uint8_t ad[10];
	uint8_t tag = 0;
	unsigned long long mlen = 0;
	unsigned long long seq = (unsigned long long)p->rx_seq;
	size_t at = 0, plain;
	uint64_t got;
	int rc;

	rc = peer_expect(p, 0, ST_READY, "open move chunk", err);
	if (rc != SK_OK)
		return rc;
	if (p->rx_final)
		return peer_fail(p, err, SK_ECRYPTO,
		    "open move chunk %llu: data after the final chunk", seq);
	if (in == NULL)
		return peer_fail(
		    p, err, SK_EINVAL, "open move chunk %llu: no input", seq);
	if (!p->rx_started)
		at = SK_PEER_HEADER_LEN;
	if (in_len < at + SK_PEER_CHUNK_OVERHEAD)
		return peer_fail(p, err, SK_ECRYPTO,
		    "open move chunk %llu: %zu bytes, too short to be a chunk "
		    "(truncated)",
		    seq, in_len);
	plain = in_len - at - SK_PEER_CHUNK_OVERHEAD;
	if (plain > SK_PEER_CHUNK_MAX)
		return peer_fail(p, err, SK_ECRYPTO,
		    "open move chunk %llu: %zu bytes of data exceed the %u byte "
		    "chunk limit",
		    seq, plain, SK_PEER_CHUNK_MAX);
	if (out == NULL || out_cap < plain)
		return peer_fail(p, err, SK_EINVAL,
		    "open move chunk %llu: output buffer of %zu bytes, %zu needed",
		    seq, out_cap, plain);
	got = get_u64(in + at + 1);
	if (got != p->rx_seq)
		return peer_fail(p, err, SK_ECRYPTO,
		    "open move chunk %llu: it says it is chunk %llu (replayed, "
		    "reordered or dropped chunks)",
		    seq, (unsigned long long)got);
	if (!p->rx_started &&
	    crypto_secretstream_xchacha20poly1305_init_pull(&p->rx, in, p->rx_key) != 0)
		return peer_fail(p, err, SK_ECRYPTO,
		    "open move chunk %llu: bad stream header", seq);
	sodium_memzero(p->rx_key, sizeof(p->rx_key));
	p->rx_started = true;
	chunk_ad(ad, rx_dir(p), in[at], p->rx_seq);
	if (crypto_secretstream_xchacha20poly1305_pull(&p->rx, out, &mlen, &tag,
		in + at + 9, in_len - at - 9, ad, sizeof(ad)) != 0)
		return peer_fail(p, err, SK_ECRYPTO,
		    "open move chunk %llu: authentication failed (altered, cut "
		    "short, or not from this session)",
		    seq);
	if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
	    tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)
		return peer_fail(p, err, SK_ECRYPTO,
		    "open move chunk %llu: unexpected stream tag %u", seq, tag);
	p->rx_seq++;
	if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
		p->rx_final = true;
		sodium_memzero(&p->rx, sizeof(p->rx));
	}
	*out_len = (size_t)mlen;
	*type = in[at];
	*final = p->rx_final;
	return SK_OK;
}

int
sk_peer_rx_end(sk_peer *p, sk_err *err)
{
	int rc;

	rc = peer_expect(p, 0, ST_READY, "end move stream", err);
	if (rc != SK_OK)
		return rc;
	if (!p->rx_final)
		return peer_fail(p, err, SK_ECRYPTO,
		    "end move stream: the connection ended after %llu chunks "
		    "without the final one (truncated stream)",
		    (unsigned long long)p->rx_seq);
	return SK_OK;
}

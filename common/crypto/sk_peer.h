/* sk_peer: the cryptographic core of the agent-to-agent move stream (issue
 * 11, DESIGN.md decision 6): a handshake that authenticates both agents by
 * their pinned Ed25519 keys and agrees fresh keys, then one encrypted,
 * authenticated, ordered stream per direction. No sockets here: callers
 * move the bytes (a later change puts them on an nng connection).
 *
 * Handshake (initiator = target agent, responder = source agent):
 *   HELLO  i->r  type 1, version 1, eph_i (X25519), nonce_i (32), ctx_hash
 *   REPLY  r->i  type 2, version 1, eph_r, nonce_r, sig_r
 *   FINISH i->r  type 3, version 1, sig_i
 * ctx_hash = BLAKE2b-256("skein/v1/peer-context\0" || context), where the
 * context is the move both sides were told about (sk_peer_context_encode).
 * th = BLAKE2b-256("skein/v1/peer-transcript\0" || ctx_hash || eph_i ||
 * eph_r || nonce_i || nonce_r || pk_i || pk_r), pk_* being the two agents'
 * Ed25519 public keys as each side has them pinned. sig_r signs
 * "skein/v1/peer-reply\0" || th, sig_i signs "skein/v1/peer-finish\0" || th,
 * and each side verifies with the key it pinned for the other: a wrong or
 * unknown key, another move's context, or any other transcript fails.
 * (The responder also compares HELLO's ctx_hash with its own, for an early
 * and clear refusal; the signatures bind the context either way.)
 * Two changes from the brief, argued: the transcript binds the full public
 * keys rather than their 8-byte ids (the id is a name for people, derived
 * from the key; the key is what the signature is checked with, and binding
 * it costs nothing); and the two signatures are over role-labelled copies
 * of th, so that one side's signature can never stand in for the other's.
 * Session keys: crypto_kx (client = initiator) on the ephemeral keys gives
 * the two directions' raw keys; each is then mixed with the transcript,
 * k = BLAKE2b-256(key = kx key, "skein/v1/peer-stream i2r\0" || th) (r2i
 * for the other direction), so the stream keys depend on everything both
 * signatures covered. The ephemeral secrets are wiped once used. Fresh
 * nonces and ephemeral keys on both sides mean that no handshake message
 * can be replayed into another handshake.
 *
 * Stream: crypto_secretstream_xchacha20poly1305, one per direction. A
 * sealed chunk on the wire is
 *   [stream header (24), first chunk of a direction only] type (1)
 *   seq (8, big-endian) secretstream ciphertext (len + 17)
 * The stream header rides in front of the first chunk rather than as a
 * message of its own, so the wiring moves one kind of message after the
 * handshake.
 * The authenticated data is direction || type || seq; the receiver checks
 * the sequence against its own counter before decrypting, and the
 * secretstream nonce makes the same check cryptographically. The last
 * chunk of a direction carries TAG_FINAL. Chunks hold at most
 * SK_PEER_CHUNK_MAX bytes. An on-path attacker sees chunk types, sizes and
 * timing, not content; anything it changes, drops, cuts short, reorders,
 * replays or appends after FINAL is refused.
 *
 * One rule for the whole family: every failure is final. After any
 * function below returns an error (bad peer bytes, a call in the wrong
 * state, a caller mistake such as an oversized chunk) the peer is dead:
 * every later call fails with SK_ESTATE, and its keys are wiped at once.
 * Peer bytes that are not what an authentic peer sends give SK_ECRYPTO;
 * calls in the wrong state SK_ESTATE; bad arguments SK_EINVAL. Output
 * buffers come first (libsodium's order, not the brief's), variable-size
 * ones with their capacity beside them, and are written only on success. The handshake is
 * one function per message rather than one "next" function: each has its
 * own input, output and failure, so its contract fits in a comment.
 * Not thread-safe: one peer is used by one thread at a time. Left to the
 * wiring: timeouts, and limiting HELLOs (each costs the responder a key
 * exchange and a signature before it knows who sent it).
 */
#ifndef SK_PEER_H
#define SK_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"
#include "sk_key.h"

enum sk_peer_role {
	SK_PEER_INITIATOR = 1, /* the target agent: sends HELLO and FINISH */
	SK_PEER_RESPONDER = 2, /* the source agent: sends REPLY */
};

#define SK_PEER_HELLO_LEN (2 + 32 + 32 + 32)
#define SK_PEER_REPLY_LEN (2 + 32 + 32 + 64)
#define SK_PEER_FINISH_LEN (2 + 64)

/* Largest plaintext one chunk may carry; bigger is refused both ways. */
#define SK_PEER_CHUNK_MAX (1024u * 1024u)
/* Bytes a sealed chunk adds to its plaintext: type, seq, secretstream's
 * tag and MAC; the first chunk of a direction adds SK_PEER_HEADER_LEN. */
#define SK_PEER_CHUNK_OVERHEAD (1 + 8 + 17)
#define SK_PEER_HEADER_LEN 24
/* An output buffer this large holds any sealed chunk. */
#define SK_PEER_SEALED_MAX \
(SK_PEER_HEADER_LEN + SK_PEER_CHUNK_OVERHEAD + SK_PEER_CHUNK_MAX)

typedef struct sk_peer sk_peer;

/* What a move's two agents both know and both bind into the handshake:
 * a signature made for one move never verifies for another. */
typedef struct sk_peer_context {
	const char *rollout_id;
	const char *plan_id; /* the signed plan's id, as both agents hold it */
	const char *move_id; /* the step */
	const char *tenant;
	const char *source_region;
	const char *target_region;
} sk_peer_context;

/* Encode ctx unambiguously (each field length-prefixed; NULL is empty)
 * into a new malloc'ed buffer *out of *out_len bytes, for sk_peer_create.
 * On failure (SK_ENOMEM, SK_EINVAL for a field over 64 KiB) nothing is
 * allocated. */
int sk_peer_context_encode(uint8_t **out, size_t *out_len,
    const sk_peer_context *ctx, sk_err *err) SK_WARN_UNUSED;

/* A peer for one handshake and its two streams. my_key signs for this
 * agent and is borrowed: it must outlive the peer. peer_key is the other
 * agent's pinned public key (copied); context (copied, hashed) is what
 * both sides must agree on. On success *out is the caller's
 * (sk_peer_destroy); on failure nothing is allocated. */
int sk_peer_create(int role, const sk_seckey *my_key, const sk_pubkey *peer_key,
    const uint8_t *context, size_t context_len, sk_peer **out,
    sk_err *err) SK_WARN_UNUSED;

/* Wipe every secret and free. Accepts NULL. */
void sk_peer_destroy(sk_peer *p);

/* Initiator, first: write HELLO into out. */
int sk_peer_hello(uint8_t out[SK_PEER_HELLO_LEN], sk_peer *p, sk_err *err) SK_WARN_UNUSED;

/* Responder, first: check the initiator's HELLO (size, version, that it is
 * for our context) and write REPLY into out. The handshake is not done:
 * nothing may be sealed or opened until sk_peer_accept succeeds. */
int sk_peer_reply(uint8_t out[SK_PEER_REPLY_LEN], sk_peer *p,
    const uint8_t *hello, size_t hello_len, sk_err *err) SK_WARN_UNUSED;

/* Initiator, second: verify the responder's REPLY against its pinned key,
 * derive the stream keys and write FINISH into out. On success the
 * initiator may seal and open. */
int sk_peer_finish(uint8_t out[SK_PEER_FINISH_LEN], sk_peer *p,
    const uint8_t *reply, size_t reply_len, sk_err *err) SK_WARN_UNUSED;

/* Responder, second: verify the initiator's FINISH against its pinned key.
 * On success the responder may seal and open. */
int sk_peer_accept(sk_peer *p, const uint8_t *finish, size_t finish_len,
    sk_err *err) SK_WARN_UNUSED;

/* True once the handshake is done and the peer has not failed. */
bool sk_peer_ready(const sk_peer *p);

/* Exact size of the next sealed chunk for len bytes of plaintext. */
size_t sk_peer_sealed_len(const sk_peer *p, size_t len);

/* Seal len bytes of data (at most SK_PEER_CHUNK_MAX) as the next chunk of
 * our direction, with frame type; final ends the direction (nothing may be
 * sealed after it). out must hold out_cap >= sk_peer_sealed_len(p, len)
 * bytes (SK_PEER_SEALED_MAX always does); *out_len is what was written. */
int sk_peer_seal(uint8_t *out, size_t out_cap, size_t *out_len, sk_peer *p, uint8_t type,
    const uint8_t *data, size_t len, bool final, sk_err *err) SK_WARN_UNUSED;

/* Open the next chunk of the other direction: on success out (out_cap >=
 * SK_PEER_CHUNK_MAX always does; else at least in_len - overhead) holds
 * *out_len bytes of plaintext, *type its frame type and *final whether it
 * was the last. A chunk that is cut, altered, replayed, out of order,
 * oversized, or after the final one is refused with SK_ECRYPTO. */
int sk_peer_open(uint8_t *out, size_t out_cap, size_t *out_len, uint8_t *type,
    bool *final, sk_peer *p, const uint8_t *in, size_t in_len,
    sk_err *err) SK_WARN_UNUSED;

/* The transport ended. SK_OK if the other direction's final chunk was
 * opened; otherwise the stream was truncated: SK_ECRYPTO, peer dead. */
int sk_peer_rx_end(sk_peer *p, sk_err *err) SK_WARN_UNUSED;

#endif

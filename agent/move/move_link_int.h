/* move_link_int: the framing and the handshake under move_remote.c and
 * move_serve.c, and the knobs tests turn. Not for other callers.
 *
 * On the wire every message is a frame: a 4-byte big-endian length, then
 * that many bytes. The dialer (target) sends a cleartext preamble frame
 * naming the move (rollout id, step id) so the source can find its
 * authorization, and the pinned key to expect, before any crypto; then
 * the sk_peer handshake (HELLO, REPLY, FINISH, a frame each); then only
 * sealed sk_peer chunks, each a frame. A MoveRequest or MoveReply is
 * packed protobuf, sealed as one chunk (type LINK_MSG_END) or, when
 * larger than a chunk, as several (LINK_MSG_MORE ..., LINK_MSG_END).
 */
#ifndef MOVE_LINK_INT_H
#define MOVE_LINK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "move_link.h"
#include "sk_peer.h"

/* Largest frame either side reads: a sealed chunk, with room to spare.
 * A length prefix above it is refused before anything is read. */
#define MOVE_LINK_FRAME_MAX (SK_PEER_SEALED_MAX + 64)
/* Preamble: magic "SKMV", version, then rollout id and step id, each
 * behind a 1-byte length (1..63 bytes, no NUL). */
#define MOVE_LINK_PREAMBLE_MAX (4 + 1 + 1 + 63 + 1 + 63)
/* Largest message reassembled from chunks. */
#define MOVE_LINK_MSG_MAX (64u * 1024u * 1024u)
/* COPY data per reply, so that a packed COPY reply fits one chunk. */
#define MOVE_LINK_COPY_CHUNK (SK_PEER_CHUNK_MAX - 64)

/* Chunk types inside the sealed stream. */
#define LINK_MSG_MORE 1 /* part of a message, more parts follow */
#define LINK_MSG_END 2  /* the last (or only) part of a message */

typedef struct move_link move_link;

/* A link over stream s (taken: the link closes and frees it, also when
 * this fails). dialer, if not NULL, is freed after the stream. */
int move_link_create(nng_stream *s, nng_stream_dialer *dialer, move_link **out,
    sk_err *err) SK_WARN_UNUSED;
/* Close the connection, wipe and free. Accepts NULL. */
void move_link_destroy(move_link *l);
/* Close the connection without freeing (another thread may be blocked
 * in a read: it fails at once). Thread-safe against that reader. */
void move_link_abort(move_link *l);

/* "host:port" of the other end, for log lines ("?" when unknown). */
void move_link_peer_name(move_link *l, char *out, size_t len);

/* Write one frame of len bytes; read one frame of at most max bytes into
 * buf (cap >= max). Both finish within timeout_ms or fail: SK_ETIMEOUT;
 * a closed connection SK_ENET; a length over max SK_EDECODE (nothing
 * more is read). */
int move_link_write_frame(move_link *l, const uint8_t *data, size_t len,
    int timeout_ms, sk_err *err) SK_WARN_UNUSED;
int move_link_read_frame(move_link *l, uint8_t *buf, size_t max, size_t *len,
    int timeout_ms, sk_err *err) SK_WARN_UNUSED;

/* The preamble: encode (out holds MOVE_LINK_PREAMBLE_MAX) and parse
 * (SK_EDECODE for anything but a well-formed one; rollout and step hold
 * 64 bytes each, NUL-terminated). */
int move_link_preamble_encode(uint8_t *out, size_t *out_len,
    const char *rollout_id, const char *step_id, sk_err *err) SK_WARN_UNUSED;
int move_link_preamble_parse(char rollout_id[64], char step_id[64],
    const uint8_t *in, size_t len, sk_err *err) SK_WARN_UNUSED;

/* The handshake, both ends; on success the link owns peer and is ready
 * to send and receive messages. On failure peer is destroyed. */
int move_link_initiate(
    move_link *l, sk_peer *peer, int timeout_ms, sk_err *err) SK_WARN_UNUSED;
int move_link_respond(move_link *l, sk_peer *peer, int64_t deadline_ms,
    sk_err *err) SK_WARN_UNUSED;

/* Send a packed message (final: it ends our direction); receive one
 * (malloc'ed in *out, the caller's; *final: the peer ended its
 * direction). Every failure leaves the link dead. */
int move_link_send(move_link *l, const uint8_t *msg, size_t len, bool final,
    int timeout_ms, sk_err *err) SK_WARN_UNUSED;
int move_link_recv(move_link *l, uint8_t **out, size_t *len, bool *final,
    int timeout_ms, sk_err *err) SK_WARN_UNUSED;

/* Pack and send a request or reply; receive and unpack one (the
 * caller frees it with protobuf_c_message_free_unpacked). */
int move_link_send_request(move_link *l, const Skein__V1__MoveRequest *req,
    bool final, int timeout_ms, sk_err *err) SK_WARN_UNUSED;
int move_link_recv_request(move_link *l, Skein__V1__MoveRequest **out,
    bool *final, int timeout_ms, sk_err *err) SK_WARN_UNUSED;
int move_link_send_reply(move_link *l, const Skein__V1__MoveReply *rep,
    bool final, int timeout_ms, sk_err *err) SK_WARN_UNUSED;
int move_link_recv_reply(move_link *l, Skein__V1__MoveReply **out, bool *final,
    int timeout_ms, sk_err *err) SK_WARN_UNUSED;

/* Test hook: when set, called with every sealed frame a link is about
 * to write after its handshake (initiator: whether the writer is the
 * dialing side). It may change the bytes (not the length) and ask for
 * the frame to be written twice. Not for production use. */
typedef void (*move_link_tx_hook_fn)(
    bool initiator, uint8_t *frame, size_t len, bool *twice);
extern move_link_tx_hook_fn move_link_tx_hook;

/* The serving side's limits; move_serve_start uses the defaults. */
typedef struct move_serve_opts {
	int handshake_ms;  /* preamble to FINISH (default 5000) */
	int idle_ms;       /* the wait for the next request (default 300000) */
	int io_ms;         /* each write of a reply (default 60000) */
	int frozen_ms;     /* frozen: extra wait past the freeze timeout */
	int max_links;     /* connections served at once (default 8) */
	int max_handshake; /* of which not yet authenticated (default 4) */
} move_serve_opts;

void move_serve_opts_default(move_serve_opts *o);

int move_serve_start_opts(const char *url, const char *region,
    const sk_seckey *key, move_auth *auth, move_open_fn open, void *open_arg,
    const move_serve_opts *opts, move_serve **out, sk_err *err) SK_WARN_UNUSED;

/* The TCP port the server is bound to (url port 0: the one picked). */
int move_serve_port(const move_serve *s);

#endif

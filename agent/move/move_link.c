/* move_link: frames over an nng byte stream, the sk_peer handshake on
 * them, and MoveRequest/MoveReply messages sealed in the peer's streams
 * (move_link_int.h has the layout). Every read and write has a deadline,
 * so a dead or silent peer costs a timeout, never a hung thread; every
 * failure is final, as it is for sk_peer. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "move_link_int.h"
#include "sk_util.h"

move_link_tx_hook_fn move_link_tx_hook;

#define MAGIC "SKMV"
#define PREAMBLE_VERSION 1

struct move_link {
	nng_stream *s;
	nng_stream_dialer *dialer;
	nng_aio *aio;
	sk_peer *peer;
	bool initiator;
	bool dead;
	/* move_link_abort from another thread: an operation is started
	 * under mu, so it is either started before the abort (which cancels
	 * it) or refused after. A closed nng stream alone does not fail the
	 * operations started after the close at once. */
	pthread_mutex_t mu;
	bool aborted;
	uint8_t *frame; /* 4 + MOVE_LINK_FRAME_MAX: one frame, either way */
	uint8_t *plain; /* SK_PEER_CHUNK_MAX: one opened chunk */
};

int
move_link_create(nng_stream *s, nng_stream_dialer *dialer, move_link **out, sk_err *err)
{
	move_link *l = calloc(1, sizeof(*l));
	int rv;

	*out = NULL;
	if (l == NULL) {
		nng_stream_free(s);
		nng_stream_dialer_free(dialer);
		return sk_err_set(err, SK_ENOMEM, "move link: out of memory");
	}
	pthread_mutex_init(&l->mu, NULL);
	l->s = s;
	l->dialer = dialer;
	l->frame = malloc(4 + MOVE_LINK_FRAME_MAX);
	l->plain = malloc(SK_PEER_CHUNK_MAX);
	if (l->frame == NULL || l->plain == NULL) {
		move_link_destroy(l);
		return sk_err_set(err, SK_ENOMEM, "move link: out of memory");
	}
	if ((rv = nng_aio_alloc(&l->aio, NULL, NULL)) != 0) {
		move_link_destroy(l);
		sk_err_set(err, SK_ENOMEM, "move link: %s", nng_strerror(rv));
		if (err != NULL)
			err->cause = rv;
		return SK_ENOMEM;
	}
	*out = l;
	return SK_OK;
}

void
move_link_abort(move_link *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->aborted = true;
	if (l->aio != NULL)
		nng_aio_abort(l->aio, NNG_ECLOSED);
	if (l->s != NULL)
		nng_stream_close(l->s);
	pthread_mutex_unlock(&l->mu);
}

void
move_link_destroy(move_link *l)
{
	if (l == NULL)
		return;
	if (l->s != NULL) {
		nng_stream_close(l->s);
		if (l->aio != NULL)
			nng_aio_stop(l->aio);
		nng_stream_free(l->s);
	}
	nng_aio_free(l->aio);
	nng_stream_dialer_free(l->dialer);
	sk_peer_destroy(l->peer);
	/* Plaintext rows pass through these: wiped, not just freed. */
	if (l->plain != NULL) {
		sodium_memzero(l->plain, SK_PEER_CHUNK_MAX);
		free(l->plain);
	}
	if (l->frame != NULL) {
		sodium_memzero(l->frame, 4 + MOVE_LINK_FRAME_MAX);
		free(l->frame);
	}
	pthread_mutex_destroy(&l->mu);
	free(l);
}

void
move_link_peer_name(move_link *l, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	nng_sockaddr sa;

	if (nng_stream_get_addr(l->s, NNG_OPT_REMADDR, &sa) != 0) {
		snprintf(out, len, "?");
		return;
	}
	if (sa.s_family == NNG_AF_INET) {
		(void)inet_ntop(AF_INET, &sa.s_in.sa_addr, host, sizeof(host));
		snprintf(out, len, "%s:%u", host, ntohs(sa.s_in.sa_port));
	} else if (sa.s_family == NNG_AF_INET6) {
		(void)inet_ntop(AF_INET6, sa.s_in6.sa_addr, host, sizeof(host));
		snprintf(out, len, "[%s]:%u", host, ntohs(sa.s_in6.sa_port));
	} else {
		snprintf(out, len, "?");
	}
}

static int
link_dead(sk_err *err, const char *op)
{
	return sk_err_set(err, SK_ESTATE,
	    "%s: the move link failed earlier and is closed", op);
}

/* Move len bytes to or from the stream by deadline (monotonic ms). */
static int
xfer(move_link *l, bool send, uint8_t *buf, size_t len, int64_t deadline,
    const char *what, sk_err *err)
{
	size_t done = 0;

	while (done < len) {
		int64_t left = deadline - sk_mono_ms();
		nng_iov iov = { .iov_buf = buf + done, .iov_len = len - done };
		size_t n;
		int rv;

		if (left <= 0) {
			rv = NNG_ETIMEDOUT;
		} else {
			(void)nng_aio_set_iov(l->aio, 1, &iov);
			nng_aio_set_timeout(l->aio, (nng_duration)left);
			pthread_mutex_lock(&l->mu);
			rv = l->aborted ? NNG_ECLOSED : 0;
			if (rv == 0 && send)
				nng_stream_send(l->s, l->aio);
			else if (rv == 0)
				nng_stream_recv(l->s, l->aio);
			pthread_mutex_unlock(&l->mu);
			if (rv == 0) {
				nng_aio_wait(l->aio);
				rv = nng_aio_result(l->aio);
			}
		}
		n = rv == 0 ? nng_aio_count(l->aio) : 0;
		if (rv == 0 && n == 0)
			rv = NNG_ECONNSHUT;
		if (rv != 0) {
			l->dead = true;
			if (rv == NNG_ETIMEDOUT)
				sk_err_set(err, SK_ETIMEOUT,
				    "%s %s: the peer sent nothing in time",
				    what, send ? "(write)" : "(read)");
			else
				sk_err_set(err, SK_ENET, "%s: %s", what,
				    rv == NNG_ECONNSHUT || rv == NNG_ECLOSED ?
					"connection closed" :
					nng_strerror(rv));
			if (err != NULL)
				err->cause = rv;
			return err != NULL ? err->code : SK_ENET;
		}
		done += n;
	}
	return SK_OK;
}

static void
put_u32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* Write l->frame[0..4+len) (the payload already at frame + 4). */
static int
write_framed(move_link *l, size_t len, int64_t deadline, sk_err *err)
{
	put_u32(l->frame, (uint32_t)len);
	return xfer(l, true, l->frame, 4 + len, deadline, "send move frame", err);
}

int
move_link_write_frame(
    move_link *l, const uint8_t *data, size_t len, int timeout_ms, sk_err *err)
{
	if (l->dead)
		return link_dead(err, "send move frame");
	if (len > MOVE_LINK_FRAME_MAX) {
		l->dead = true;
		return sk_err_set(err, SK_EINVAL,
		    "send move frame: %zu bytes exceed the frame limit", len);
	}
	memcpy(l->frame + 4, data, len);
	return write_framed(l, len, sk_mono_ms() + timeout_ms, err);
}

static int
read_frame_by(move_link *l, uint8_t *buf, size_t max, size_t *len,
    int64_t deadline, sk_err *err)
{
	uint8_t hdr[4];
	uint32_t n;
	int rc;

	if (l->dead)
		return link_dead(err, "receive move frame");
	rc = xfer(l, false, hdr, 4, deadline, "receive move frame", err);
	if (rc != SK_OK)
		return rc;
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (n > max) {
		l->dead = true;
		return sk_err_set(err, SK_EDECODE,
		    "receive move frame: length %u exceeds the %zu byte limit "
		    "here",
		    n, max);
	}
	rc = xfer(l, false, buf, n, deadline, "receive move frame", err);
	if (rc == SK_OK)
		*len = n;
	return rc;
}

int
move_link_read_frame(move_link *l, uint8_t *buf, size_t max, size_t *len,
    int timeout_ms, sk_err *err)
{
	return read_frame_by(l, buf, max, len, sk_mono_ms() + timeout_ms, err);
}

/* ---- preamble ------------------------------------------------------- */

static bool
id_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

int
move_link_preamble_encode(uint8_t *out, size_t *out_len, const char *rollout_id,
    const char *step_id, sk_err *err)
{
	size_t rn = strlen(rollout_id), sn = strlen(step_id), at = 0;

	if (!id_ok(rollout_id, rn) || !id_ok(step_id, sn))
		return sk_err_set(err, SK_EINVAL,
		    "move link preamble: rollout and step ids must be 1..63 "
		    "printable bytes");
	memcpy(out, MAGIC, 4);
	at = 4;
	out[at++] = PREAMBLE_VERSION;
	out[at++] = (uint8_t)rn;
	memcpy(out + at, rollout_id, rn);
	at += rn;
	out[at++] = (uint8_t)sn;
	memcpy(out + at, step_id, sn);
	*out_len = at + sn;
	return SK_OK;
}

int
move_link_preamble_parse(char rollout_id[64], char step_id[64],
    const uint8_t *in, size_t len, sk_err *err)
{
	size_t at = 6, rn, sn;

	if (len < 8 || len > MOVE_LINK_PREAMBLE_MAX ||
	    memcmp(in, MAGIC, 4) != 0 || in[4] != PREAMBLE_VERSION)
		goto bad;
	rn = in[5];
	if (rn == 0 || rn > 63 || at + rn + 1 > len)
		goto bad;
	at += rn;
	sn = in[at++];
	if (at + sn != len || !id_ok((const char *)in + 6, rn) ||
	    !id_ok((const char *)in + at, sn))
		goto bad;
	memcpy(rollout_id, in + 6, rn);
	rollout_id[rn] = '\0';
	memcpy(step_id, in + at, sn);
	step_id[sn] = '\0';
	return SK_OK;
bad:
	return sk_err_set(err, SK_EDECODE,
	    "receive move link preamble: %zu bytes that are not one", len);
}

/* ---- handshake ------------------------------------------------------ */

int
move_link_initiate(move_link *l, sk_peer *peer, int timeout_ms, sk_err *err)
{
	uint8_t hello[SK_PEER_HELLO_LEN], reply[SK_PEER_REPLY_LEN];
	uint8_t finish[SK_PEER_FINISH_LEN];
	int64_t deadline = sk_mono_ms() + timeout_ms;
	size_t n = 0;
	int rc;

	rc = sk_peer_hello(hello, peer, err);
	if (rc == SK_OK) {
		memcpy(l->frame + 4, hello, sizeof(hello));
		rc = write_framed(l, sizeof(hello), deadline, err);
	}
	if (rc == SK_OK)
		rc = read_frame_by(l, reply, sizeof(reply), &n, deadline, err);
	if (rc == SK_ENET)
		sk_err_wrap(err,
		    "move handshake: the source agent refused the link (it "
		    "holds no authorization for this move and key, or another "
		    "context)");
	if (rc == SK_OK)
		rc = sk_peer_finish(finish, peer, reply, n, err);
	if (rc == SK_OK) {
		memcpy(l->frame + 4, finish, sizeof(finish));
		rc = write_framed(l, sizeof(finish), deadline, err);
	}
	if (rc != SK_OK) {
		l->dead = true;
		sk_peer_destroy(peer);
		return rc;
	}
	l->peer = peer;
	l->initiator = true;
	return SK_OK;
}

int
move_link_respond(move_link *l, sk_peer *peer, int64_t deadline, sk_err *err)
{
	uint8_t hello[SK_PEER_HELLO_LEN], reply[SK_PEER_REPLY_LEN];
	uint8_t finish[SK_PEER_FINISH_LEN];
	size_t n = 0;
	int rc;

	rc = read_frame_by(l, hello, sizeof(hello), &n, deadline, err);
	if (rc == SK_OK)
		rc = sk_peer_reply(reply, peer, hello, n, err);
	if (rc == SK_OK) {
		memcpy(l->frame + 4, reply, sizeof(reply));
		rc = write_framed(l, sizeof(reply), deadline, err);
	}
	if (rc == SK_OK)
		rc = read_frame_by(l, finish, sizeof(finish), &n, deadline, err);
	if (rc == SK_OK)
		rc = sk_peer_accept(peer, finish, n, err);
	if (rc != SK_OK) {
		l->dead = true;
		sk_peer_destroy(peer);
		return rc;
	}
	l->peer = peer;
	l->initiator = false;
	return SK_OK;
}

/* ---- messages ------------------------------------------------------- */

int
move_link_send(move_link *l, const uint8_t *msg, size_t len, bool final,
    int timeout_ms, sk_err *err)
{
	int64_t deadline = sk_mono_ms() + timeout_ms;
	size_t off = 0;

	if (l->dead || l->peer == NULL)
		return link_dead(err, "send move message");
	/* At least one chunk: an empty message is a valid protobuf. */
	do {
		size_t n = len - off > SK_PEER_CHUNK_MAX ? SK_PEER_CHUNK_MAX :
							   len - off;
		bool last = off + n == len, twice = false;
		size_t sealed = 0;
		int rc;

		rc = sk_peer_seal(l->frame + 4, MOVE_LINK_FRAME_MAX, &sealed,
		    l->peer, last ? LINK_MSG_END : LINK_MSG_MORE,
		    msg != NULL ? msg + off : NULL, n, last && final, err);
		if (rc != SK_OK) {
			l->dead = true;
			return rc;
		}
		if (move_link_tx_hook != NULL)
			move_link_tx_hook(l->initiator, l->frame + 4, sealed, &twice);
		rc = write_framed(l, sealed, deadline, err);
		if (rc == SK_OK && twice)
			rc = write_framed(l, sealed, deadline, err);
		if (rc != SK_OK)
			return rc;
		off += n;
	} while (off < len);
	return SK_OK;
}

int
move_link_recv(move_link *l, uint8_t **out, size_t *len, bool *final,
    int timeout_ms, sk_err *err)
{
	int64_t deadline = sk_mono_ms() + timeout_ms;
	uint8_t *msg = NULL;
	size_t have = 0;
	int rc;

	if (l->dead || l->peer == NULL)
		return link_dead(err, "receive move message");
	for (;;) {
		size_t flen = 0, plen = 0;
		uint8_t type = 0;
		bool fin = false;
		uint8_t *grown;

		rc = read_frame_by(
		    l, l->frame, MOVE_LINK_FRAME_MAX, &flen, deadline, err);
		if (rc != SK_OK)
			break;
		rc = sk_peer_open(l->plain, SK_PEER_CHUNK_MAX, &plen, &type,
		    &fin, l->peer, l->frame, flen, err);
		if (rc != SK_OK)
			break;
		if ((type != LINK_MSG_MORE && type != LINK_MSG_END) ||
		    (fin && type == LINK_MSG_MORE) || have + plen > MOVE_LINK_MSG_MAX) {
			rc = sk_err_set(err, SK_EDECODE,
			    "receive move message: chunk type %u, %zu bytes so "
			    "far: not a message this link sends",
			    type, have + plen);
			break;
		}
		grown = realloc(msg, have + plen + 1);
		if (grown == NULL) {
			rc = sk_err_set(err, SK_ENOMEM,
			    "receive move message: out of memory");
			break;
		}
		msg = grown;
		memcpy(msg + have, l->plain, plen);
		have += plen;
		if (type == LINK_MSG_END) {
			*out = msg;
			*len = have;
			*final = fin;
			return SK_OK;
		}
	}
	l->dead = true;
	free(msg);
	return rc;
}

/* m packed and sent as one message; what names it in errors. The bytes
 * are wiped after sending (a reply may carry tenant rows). */
static int
send_msg(move_link *l, const ProtobufCMessage *m, const char *what, bool final,
    int timeout_ms, sk_err *err)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	int rc;

	if (buf == NULL)
		return sk_err_set(err, SK_ENOMEM, "send move %s: out of memory", what);
	(void)protobuf_c_message_pack(m, buf);
	rc = move_link_send(l, buf, n, final, timeout_ms, err);
	sodium_memzero(buf, n);
	free(buf);
	return rc;
}

/* One message received and decoded as d (what names it in errors); bytes
 * that are not one end the link. */
static int
recv_msg(move_link *l, const ProtobufCMessageDescriptor *d, const char *what,
    ProtobufCMessage **out, bool *final, int timeout_ms, sk_err *err)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	int rc;

	rc = move_link_recv(l, &buf, &n, final, timeout_ms, err);
	if (rc != SK_OK)
		return rc;
	*out = protobuf_c_message_unpack(d, NULL, n, buf);
	sodium_memzero(buf, n);
	free(buf);
	if (*out == NULL) {
		l->dead = true;
		return sk_err_set(err, SK_EDECODE,
		    "receive move %s: %zu bytes that are not a %s", what, n,
		    d->short_name);
	}
	return SK_OK;
}

int
move_link_send_request(move_link *l, const Skein__V1__MoveRequest *req,
    bool final, int timeout_ms, sk_err *err)
{
	return send_msg(l, &req->base, "request", final, timeout_ms, err);
}

int
move_link_send_reply(move_link *l, const Skein__V1__MoveReply *rep, bool final,
    int timeout_ms, sk_err *err)
{
	return send_msg(l, &rep->base, "reply", final, timeout_ms, err);
}

int
move_link_recv_request(move_link *l, Skein__V1__MoveRequest **out, bool *final,
    int timeout_ms, sk_err *err)
{
	return recv_msg(l, &skein__v1__move_request__descriptor, "request",
	    (ProtobufCMessage **)out, final, timeout_ms, err);
}

int
move_link_recv_reply(move_link *l, Skein__V1__MoveReply **out, bool *final,
    int timeout_ms, sk_err *err)
{
	return recv_msg(l, &skein__v1__move_reply__descriptor, "reply",
	    (ProtobufCMessage **)out, final, timeout_ms, err);
}

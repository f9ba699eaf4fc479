/* move_remote: the source side of a move as the target's engine sees it,
 * over the link (move_link.h): each move_source_ops call is one
 * MoveRequest and its reply (COPY: a run of them), an error in the reply
 * becoming the call's sk_err. */
#include <stdlib.h>
#include <string.h>

#include "move_link_int.h"
#include "sk_util.h"

typedef struct remote {
	move_link *l;
	int io_ms;
	/* What dialed this link, for a parallel copy's workers to dial the
	 * same source (borrowed from move_remote_open's caller, who keeps
	 * them until close). */
	const move_peer *peer;
	const move_spec *spec;
	const char *rollout_id, *plan_id, *database;
	const sk_seckey *key;
	int connect_ms;
	/* A copy worker's link: dropped, not drained, when its sink fails */
	bool worker;
} remote;

static const move_source_ops remote_ops;
static int open_link(const remote *how, const char *import, remote **out, sk_err *err);

static void
msg_free(void *m)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
}

/* The source's error, as it said it: code by name, message, SQLSTATE,
 * detail and hint. */
static int
reply_error(const Skein__V1__Error *e, sk_err *err)
{
	int code = sk_code_from_name(e->code != NULL ? e->code : "");

	if (code == SK_OK)
		code = SK_EINVAL;
	sk_err_set(err, code, "%s",
	    e->message != NULL && e->message[0] != '\0' ?
		e->message :
		"the source agent failed without saying why");
	if (err != NULL) {
		snprintf(err->sqlstate, sizeof(err->sqlstate), "%s",
		    e->sqlstate != NULL ? e->sqlstate : "");
		snprintf(err->detail, sizeof(err->detail), "%s",
		    e->detail != NULL ? e->detail : "");
		snprintf(err->hint, sizeof(err->hint), "%s",
		    e->hint != NULL ? e->hint : "");
	}
	return code;
}

/* Read one reply to a request of kind; an error reply fails the call
 * (the link stays usable). */
static int
recv_reply(remote *r, int kind, int timeout_ms, Skein__V1__MoveReply **out, sk_err *err)
{
	Skein__V1__MoveReply *rep = NULL;
	bool final = false;
	int rc;

	*out = NULL;
	rc = move_link_recv_reply(r->l, &rep, &final, timeout_ms, err);
	if (rc != SK_OK)
		return rc;
	/* A final reply other than BYE's is out of turn, unless it is the
	 * source's refusal of OPEN (said, then the link ends). */
	if ((int)rep->kind != kind ||
	    (final && kind != SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_BYE &&
		(kind != SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_OPEN ||
		    rep->error == NULL))) {
		move_link_abort(r->l);
		msg_free(rep);
		return sk_err_set(err, SK_EDECODE,
		    "move request %d: the source answered out of turn (kind %d%s)",
		    kind, (int)rep->kind, final ? ", stream ended" : "");
	}
	if (rep->error != NULL) {
		rc = reply_error(rep->error, err);
		msg_free(rep);
		return rc;
	}
	*out = rep;
	return SK_OK;
}

static int
rpc(remote *r, Skein__V1__MoveRequest *req, int wait_ms,
    Skein__V1__MoveReply **out, sk_err *err)
{
	int rc;

	*out = NULL;
	rc = move_link_send_request(r->l, req, false, r->io_ms, err);
	if (rc == SK_OK)
		rc = recv_reply(r, req->kind, wait_ms, out, err);
	return rc;
}

/* A request that answers nothing but success. */
static int
rpc_simple(remote *r, Skein__V1__MoveRequest *req, int wait_ms, sk_err *err)
{
	Skein__V1__MoveReply *rep = NULL;
	int rc = rpc(r, req, wait_ms, &rep, err);

	msg_free(rep);
	return rc;
}

#define REQUEST(name, k)                                     \
Skein__V1__MoveRequest name = SKEIN__V1__MOVE_REQUEST__INIT; \
name.kind = SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_##k

static int
remote_describe(void *arg, Skein__V1__MoveDescription **out, sk_err *err)
{
	remote *r = arg;
	Skein__V1__MoveReply *rep = NULL;
	REQUEST(req, DESCRIBE);
	int rc;

	*out = NULL;
	rc = rpc(r, &req, r->io_ms, &rep, err);
	if (rc != SK_OK)
		return rc;
	if (rep->description == NULL) {
		msg_free(rep);
		return sk_err_set(err, SK_EDECODE,
		    "describe move tables: the source sent no description");
	}
	/* protobuf-c allocates each sub-message on its own: it can leave. */
	*out = rep->description;
	rep->description = NULL;
	msg_free(rep);
	return SK_OK;
}

static int
remote_capture(void *arg, sk_err *err)
{
	remote *r = arg;
	REQUEST(req, CAPTURE);

	return rpc_simple(r, &req, r->io_ms, err);
}

static int
take_snapshot(Skein__V1__MoveReply *rep, char **snapshot, const char *op, sk_err *err)
{
	if (rep->snapshot == NULL || rep->snapshot[0] == '\0')
		return sk_err_set(
		    err, SK_EDECODE, "%s: the source sent no snapshot", op);
	*snapshot = strdup(rep->snapshot);
	if (*snapshot == NULL)
		return sk_err_set(err, SK_ENOMEM, "%s: out of memory", op);
	return SK_OK;
}

static int
remote_snapshot(void *arg, char **snapshot, char **exported, sk_err *err)
{
	remote *r = arg;
	Skein__V1__MoveReply *rep = NULL;
	REQUEST(req, SNAPSHOT);
	int rc;

	*snapshot = NULL;
	if (exported != NULL)
		*exported = NULL;
	req.export_snapshot = exported != NULL;
	rc = rpc(r, &req, r->io_ms, &rep, err);
	if (rc == SK_OK)
		rc = take_snapshot(rep, snapshot, "open the copy snapshot", err);
	/* An older source sends none: the copy goes table after table. */
	if (rc == SK_OK && exported != NULL && rep->exported_snapshot != NULL &&
	    rep->exported_snapshot[0] != '\0' &&
	    (*exported = strdup(rep->exported_snapshot)) == NULL) {
		free(*snapshot);
		*snapshot = NULL;
		rc = sk_err_set(err, SK_ENOMEM, "open the copy snapshot: out of memory");
	}
	msg_free(rep);
	return rc;
}

static int
remote_worker(void *arg, const char *exported, const move_source_ops **ops,
    void **worker_arg, sk_err *err)
{
	remote *r = arg, *w = NULL;
	int rc;

	*ops = NULL;
	*worker_arg = NULL;
	rc = open_link(r, exported, &w, err);
	if (rc != SK_OK)
		return rc;
	w->worker = true;
	*ops = &remote_ops;
	*worker_arg = w;
	return SK_OK;
}

static int
remote_copy(void *arg, const char *table,
    int (*sink)(void *sink_arg, const uint8_t *data, size_t len, sk_err *err),
    void *sink_arg, int64_t *rows, sk_err *err)
{
	remote *r = arg;
	REQUEST(req, COPY);
	sk_err sink_err;
	bool sink_failed = false;
	int rc;

	*rows = 0;
	req.table = (char *)table;
	rc = move_link_send_request(r->l, &req, false, r->io_ms, err);
	if (rc != SK_OK)
		return rc;
	/* A run of replies with data, ended by copy_end (or an error). When
	 * the sink fails the rest is read and dropped, so that the link
	 * stays in step for the abort's requests. */
	for (;;) {
		Skein__V1__MoveReply *rep = NULL;

		rc = recv_reply(r, req.kind, r->io_ms, &rep, err);
		if (rc != SK_OK)
			return rc;
		if (rep->copy_end) {
			*rows = rep->rows;
			msg_free(rep);
			break;
		}
		if (!sink_failed && rep->data.len > 0 &&
		    sink(sink_arg, rep->data.data, rep->data.len, &sink_err) != SK_OK)
			sink_failed = true;
		msg_free(rep);
		/* A worker's link serves this COPY only: ending it ends the
		 * source's COPY too, sooner than reading the rest. */
		if (sink_failed && r->worker) {
			move_link_abort(r->l);
			break;
		}
	}
	if (sink_failed) {
		if (err != NULL)
			*err = sink_err;
		return sink_err.code != SK_OK ? sink_err.code : SK_EIO;
	}
	return SK_OK;
}

static int
remote_snapshot_end(void *arg, sk_err *err)
{
	remote *r = arg;
	REQUEST(req, SNAPSHOT_END);

	return rpc_simple(r, &req, r->io_ms, err);
}

static int
remote_position(void *arg, bool want_sums, const char *since, char **snapshot,
    Skein__V1__MoveSignedSums **sums, sk_err *err)
{
	remote *r = arg;
	Skein__V1__MoveReply *rep = NULL;
	REQUEST(req, POSITION);
	int rc;

	*snapshot = NULL;
	if (sums != NULL)
		*sums = NULL;
	req.sums = want_sums;
	req.since = (char *)(since != NULL ? since : "");
	rc = rpc(r, &req, r->io_ms, &rep, err);
	if (rc == SK_OK)
		rc = take_snapshot(rep, snapshot, "take a source position", err);
	if (rc == SK_OK && want_sums && rep->sums == NULL)
		rc = sk_err_set(err, SK_EDECODE,
		    "take a source position: the source sent no sums");
	if (rc == SK_OK && want_sums && sums != NULL) {
		*sums = rep->sums;
		rep->sums = NULL;
	}
	if (rc != SK_OK) {
		free(*snapshot);
		*snapshot = NULL;
	}
	msg_free(rep);
	return rc;
}

static int
remote_changes(void *arg, const char *after, const char *upto,
    int64_t after_seq, uint32_t limit, Skein__V1__MoveReply **out, sk_err *err)
{
	remote *r = arg;
	REQUEST(req, CHANGES);

	req.after = (char *)(after != NULL ? after : "");
	req.upto = (char *)(upto != NULL ? upto : "");
	req.after_seq = after_seq;
	req.limit = limit;
	return rpc(r, &req, r->io_ms, out, err);
}

static int
remote_stay(void *arg, Skein__V1__MoveReply **out, sk_err *err)
{
	remote *r = arg;
	REQUEST(req, STAY);

	return rpc(r, &req, r->io_ms, out, err);
}

static int
remote_freeze(void *arg, int64_t timeout_ms, sk_err *err)
{
	remote *r = arg;
	REQUEST(req, FREEZE);
	int64_t wait = (int64_t)r->io_ms + (timeout_ms > 0 ? timeout_ms : 0);

	req.timeout_ms = timeout_ms;
	return rpc_simple(r, &req, wait > INT32_MAX ? INT32_MAX : (int)wait, err);
}

static int
remote_drain(void *arg, sk_err *err)
{
	remote *r = arg;
	REQUEST(req, DRAIN);

	return rpc_simple(r, &req, r->io_ms, err);
}

static int
remote_commit(void *arg, sk_err *err)
{
	remote *r = arg;
	REQUEST(req, COMMIT);

	return rpc_simple(r, &req, r->io_ms, err);
}

static int
remote_unfreeze(void *arg, sk_err *err)
{
	remote *r = arg;
	REQUEST(req, UNFREEZE);

	return rpc_simple(r, &req, r->io_ms, err);
}

static int
remote_finish(void *arg, bool aborted, sk_err *err)
{
	remote *r = arg;
	REQUEST(req, FINISH);

	req.aborted = aborted;
	return rpc_simple(r, &req, r->io_ms, err);
}

/* BYE ends our direction (the final chunk); the source answers with its
 * own final chunk. Best effort: a dead link is simply closed. */
static void
remote_close(void *arg)
{
	remote *r = arg;
	REQUEST(req, BYE);
	Skein__V1__MoveReply *rep = NULL;
	bool final = false;
	sk_err err;

	if (r == NULL)
		return;
	if (move_link_send_request(r->l, &req, true, r->io_ms, &err) == SK_OK &&
	    move_link_recv_reply(r->l, &rep, &final, r->io_ms, &err) == SK_OK)
		msg_free(rep);
	move_link_destroy(r->l);
	free(r);
}

static const move_source_ops remote_ops = {
	.describe = remote_describe,
	.capture = remote_capture,
	.snapshot = remote_snapshot,
	.copy = remote_copy,
	.snapshot_end = remote_snapshot_end,
	.position = remote_position,
	.changes = remote_changes,
	.stay = remote_stay,
	.freeze = remote_freeze,
	.commit = remote_commit,
	.unfreeze = remote_unfreeze,
	.finish = remote_finish,
	.close = remote_close,
	.drain = remote_drain,
	.worker = remote_worker,
};

static int
dial(const char *url, int timeout_ms, move_link **out, sk_err *err)
{
	nng_stream_dialer *d = NULL;
	nng_aio *aio = NULL;
	nng_stream *s;
	int rv;

	if ((rv = nng_stream_dialer_alloc(&d, url)) != 0 ||
	    (rv = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
		nng_stream_dialer_free(d);
		sk_err_set(err, rv == NNG_ENOMEM ? SK_ENOMEM : SK_EINVAL,
		    "dial move peer %s: %s", url, nng_strerror(rv));
		goto fail;
	}
	nng_aio_set_timeout(aio, timeout_ms);
	nng_stream_dialer_dial(d, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		nng_aio_free(aio);
		nng_stream_dialer_free(d);
		sk_err_set(err, rv == NNG_ETIMEDOUT ? SK_ETIMEOUT : SK_ENET,
		    "dial move peer %s: %s", url, nng_strerror(rv));
		goto fail;
	}
	s = nng_aio_get_output(aio, 0);
	nng_aio_free(aio);
	return move_link_create(s, d, out, err);
fail:
	if (err != NULL)
		err->cause = rv;
	return err != NULL ? err->code : SK_ENET;
}

/* Dial the source that how names, authenticate, OPEN (import: a copy
 * worker's link, in that exported snapshot); *out a new remote. */
static int
open_link(const remote *how, const char *import, remote **out, sk_err *err)
{
	const move_spec *spec = how->spec;
	sk_peer_context c = {
		.rollout_id = how->rollout_id,
		.plan_id = how->plan_id,
		.move_id = spec->move_id,
		.tenant = spec->m->value,
		.source_region = spec->source_region,
		.target_region = spec->target_region,
	};
	uint8_t pre[MOVE_LINK_PREAMBLE_MAX];
	uint8_t *ctx = NULL;
	size_t ctx_len = 0, pre_len = 0;
	int64_t deadline = sk_mono_ms() + how->connect_ms;
	sk_peer *p = NULL;
	remote *r = NULL;
	REQUEST(req, OPEN);
	char step[80];
	int rc;

	*out = NULL;
	move_peer_link_step(how->peer, step, sizeof(step));
	rc = move_link_preamble_encode(pre, &pre_len, how->rollout_id, step, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_peer_context_encode(&ctx, &ctx_len, &c, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_peer_create(SK_PEER_INITIATOR, how->key, &how->peer->key, ctx,
	    ctx_len, &p, err);
	free(ctx);
	if (rc != SK_OK)
		return rc;
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		sk_peer_destroy(p);
		return sk_err_set(err, SK_ENOMEM, "open move link: out of memory");
	}
	*r = *how;
	r->l = NULL;
	r->worker = false;
	rc = dial(how->peer->address, how->connect_ms, &r->l, err);
	if (rc == SK_OK)
		rc = move_link_write_frame(
		    r->l, pre, pre_len, (int)(deadline - sk_mono_ms()), err);
	if (rc != SK_OK) {
		sk_peer_destroy(p);
		goto fail;
	}
	/* Takes p, on failure too. */
	rc = move_link_initiate(r->l, p, (int)(deadline - sk_mono_ms()), err);
	if (rc == SK_OK) {
		req.rollout_id = (char *)how->rollout_id;
		req.step_id = step;
		req.database = (char *)how->database;
		req.import_snapshot = (char *)(import != NULL ? import : "");
		rc = rpc_simple(r, &req, r->io_ms, err);
	}
	if (rc != SK_OK)
		goto fail;
	*out = r;
	return SK_OK;
fail:
	sk_err_wrap(err, "open move link%s to %s (%s)",
	    import != NULL ? " for a copy worker" : "", how->peer->region,
	    how->peer->address);
	move_link_destroy(r->l);
	free(r);
	return err != NULL ? err->code : rc;
}

int
move_remote_open(const move_peer *peer, const move_spec *spec,
    const char *rollout_id, const char *plan_id, const char *database,
    const sk_seckey *my_key, int connect_timeout_ms, int io_timeout_ms,
    const move_source_ops **ops, void **arg, sk_err *err)
{
	remote how = {
		.io_ms = io_timeout_ms,
		.peer = peer,
		.spec = spec,
		.rollout_id = rollout_id,
		.plan_id = plan_id,
		.database = database,
		.key = my_key,
		.connect_ms = connect_timeout_ms,
	};
	remote *r = NULL;
	int rc;

	*ops = NULL;
	*arg = NULL;
	rc = open_link(&how, NULL, &r, err);
	if (rc != SK_OK)
		return rc;
	*ops = &remote_ops;
	*arg = r;
	return SK_OK;
}

/* move_serve: the source agent's end of the move link. One thread accepts;
 * each connection gets a thread of its own (at most max_links, of which
 * at most max_handshake not yet authenticated), which finds the move's
 * authorization from the cleartext preamble before any crypto, runs the
 * handshake against the pinned target key within handshake_ms, opens the
 * source side and answers requests with its ops until BYE or the link
 * ends. However it ends, a held freeze is released and the ops closed. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "agent_failpoint.h"
#include "move_link_int.h"
#include "sk_log.h"
#include "sk_util.h"

/* COPY data gathered per reply (see copy_sink). */
#define COPY_BATCH (64u * 1024u)

typedef struct slot {
	move_serve *s;
	pthread_t th;
	bool used;       /* a thread was started and not joined yet */
	bool done;       /* ... and it has finished */
	bool authed;     /* past the handshake */
	move_link *link; /* under mu; NULL once the thread lets go of it */
} slot;

struct move_serve {
	pthread_mutex_t mu;
	nng_stream_listener *lst;
	nng_aio *aio;
	pthread_t accept_th;
	bool accepting; /* accept_th runs */
	bool stopping;  /* under mu */
	char region[64];
	const sk_seckey *key;
	move_auth *auth;
	move_open_fn open;
	void *open_arg;
	move_serve_opts o;
	int port;
	slot *slots; /* o.max_links */
};

void
move_serve_opts_default(move_serve_opts *o)
{
	o->handshake_ms = 5000;
	o->idle_ms = 300000;
	o->io_ms = 60000;
	o->frozen_ms = 5000;
	o->max_links = 8;
	o->max_handshake = 4;
}

int
move_serve_port(const move_serve *s)
{
	return s->port;
}

/* ---- one link ------------------------------------------------------- */

typedef struct serving {
	move_serve *s;
	slot *sl;
	move_link *l;
	const move_source_ops *ops;
	void *ops_arg;
	bool frozen;
	int64_t freeze_ms;
	char from[64];   /* host:port of the dialer */
	bool copy_broke; /* the link failed under COPY: copy_err says how */
	sk_err copy_err;
	uint8_t *copy_buf; /* COPY_BATCH bytes of rows not yet sent */
	size_t copy_len;
} serving;

static void
put_error(Skein__V1__Error *e, const sk_err *err)
{
	e->code = (char *)sk_code_name(err->code);
	e->message = (char *)err->msg;
	e->sqlstate = (char *)err->sqlstate;
	e->detail = (char *)err->detail;
	e->hint = (char *)err->hint;
}

static void
msg_free(void *m)
{
	if (m != NULL)
		protobuf_c_message_free_unpacked(m, NULL);
}

/* Send len bytes of COPY data as replies of at most MOVE_LINK_COPY_CHUNK.
 * A failure breaks the link (copy_broke). */
static int
copy_send(serving *v, const uint8_t *data, size_t len, sk_err *err)
{
	while (len > 0) {
		Skein__V1__MoveReply rep = SKEIN__V1__MOVE_REPLY__INIT;
		size_t n = len > MOVE_LINK_COPY_CHUNK ? MOVE_LINK_COPY_CHUNK : len;
		int rc;

		rep.kind = SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_COPY;
		rep.data.data = (uint8_t *)data;
		rep.data.len = n;
		rc = move_link_send_reply(v->l, &rep, false, v->s->o.io_ms, err);
		if (rc != SK_OK) {
			v->copy_broke = true;
			v->copy_err = *err;
			return rc;
		}
		data += n;
		len -= n;
	}
	return SK_OK;
}

static int
copy_flush(serving *v, sk_err *err)
{
	size_t n = v->copy_len;

	v->copy_len = 0;
	return copy_send(v, v->copy_buf, n, err);
}

/* COPY hands over a row at a time: rows are gathered into COPY_BATCH
 * bytes before they are sealed and sent, as one reply per row would cost
 * both agents a message (a seal, a frame, a wakeup of nng's threads) per
 * row, and the host's CPU is the other tenants' too. The target writes
 * the bytes as they come: COPY's stream has no need of row boundaries. */
static int
copy_sink(void *arg, const uint8_t *data, size_t len, sk_err *err)
{
	serving *v = arg;
	int rc;

	agent_failpoint("move-serve-copy");
	if (len > COPY_BATCH - v->copy_len && (rc = copy_flush(v, err)) != SK_OK)
		return rc;
	if (len > COPY_BATCH)
		return copy_send(v, data, len, err);
	memcpy(v->copy_buf + v->copy_len, data, len);
	v->copy_len += len;
	return SK_OK;
}

/* Answer one request. SK_OK: go on (or, *bye, done). Else the link
 * failed (out says why); the ops' own failures are the target's to
 * handle and only travel in the reply. */
static int
answer(serving *v, const Skein__V1__MoveRequest *req, bool *bye, sk_err *out)
{
	Skein__V1__MoveReply rep = SKEIN__V1__MOVE_REPLY__INIT;
	Skein__V1__MoveReply *whole = NULL; /* CHANGES, STAY: the ops' reply */
	Skein__V1__MoveDescription *desc = NULL;
	Skein__V1__MoveSignedSums *sums = NULL;
	Skein__V1__Error e = SKEIN__V1__ERROR__INIT;
	const move_source_ops *ops = v->ops;
	char *snap = NULL, *exported = NULL;
	int64_t rows = 0;
	bool final = false;
	sk_err err;
	int rc;

	sk_err_clear(&err);
	rep.kind = req->kind;
	switch (req->kind) {
	case SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_DESCRIBE:
		rc = ops->describe(v->ops_arg, &desc, &err);
		rep.description = desc;
		break;
	case SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_CAPTURE:
		rc = ops->capture(v->ops_arg, &err);
		break;
	case SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_SNAPSHOT:
		rc = ops->snapshot(v->ops_arg, &snap,
		    req->export_snapshot && ops->import != NULL ? &exported : NULL,
		    &err);
		rep.snapshot = snap;
		rep.exported_snapshot = exported;
		break;
	case SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_COPY:
		if (v->copy_buf == NULL && (v->copy_buf = malloc(COPY_BATCH)) == NULL) {
			rc = sk_err_set(&err, SK_ENOMEM, "copy: out of memory");
			break;
		}
		v->copy_len = 0;
		rc = ops->copy(v->ops_arg, req->table != NULL ? req->table : "",
		    copy_sink, v, &rows, &err);
		/* The last rows; after a failed COPY the target drops them all. */
		if (rc == SK_OK && !v->copy_broke)
			(void)copy_flush(v, &err);
		v->copy_len = 0;
		rep.copy_end = true;
		rep.rows = rows;
		break;
	case SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_SNAPSHOT_END:
		rc = ops->snapshot_end(v->ops_arg, &err);
		break;
	case SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_POSITION:
		rc = ops->position(v->ops_arg, req->sums,
		    req->since != NULL && req->since[0] != '\0' ? req->since : NULL,
		    &snap, &sums, &err);
		rep.snapshot = snap;
		rep.sums = sums; /* signed by the ops: forwarded as is */
		break;
	case SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_CHANGES:
		agent_failpoint("move-serve-changes");
		rc = ops->changes(v->ops_arg, req->after, req->upto,
		    req->after_seq, req->limit, &whole, &err);
		break;
	case SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_STAY:
		rc = ops->stay(v->ops_arg, &whole, &err);
		break;
	case SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_FREEZE:
		rc = ops->freeze(v->ops_arg, req->timeout_ms, &err);
		if (rc == SK_OK) {
			v->frozen = true;
			v->freeze_ms = req->timeout_ms;
			agent_failpoint("move-serve-frozen");
		}
		break;
	case SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_DRAIN:
		rc = ops->drain != NULL ? ops->drain(v->ops_arg, &err) : SK_OK;
		break;
	case SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_COMMIT:
		agent_failpoint("move-serve-commit");
		rc = ops->commit(v->ops_arg, &err);
		if (rc == SK_OK) {
			v->frozen = false;
			agent_failpoint("move-serve-committed");
		}
		break;
	case SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_UNFREEZE:
		rc = ops->unfreeze(v->ops_arg, &err);
		if (rc == SK_OK)
			v->frozen = false;
		break;
	case SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_FINISH:
		rc = ops->finish(v->ops_arg, req->aborted, &err);
		break;
	case SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_BYE:
		rc = SK_OK;
		final = true;
		*bye = true;
		break;
	default:
		rc = sk_err_set(&err, SK_EINVAL,
		    "move request: kind %d is not one this source answers",
		    (int)req->kind);
		break;
	}
	if (rc == SK_OK && whole != NULL) {
		whole->kind = req->kind;
		whole->error = NULL;
		rc = move_link_send_reply(v->l, whole, final, v->s->o.io_ms, &err);
		msg_free(whole);
		return rc;
	}
	msg_free(whole);
	if (rc != SK_OK) {
		/* The ops failed: tell the target, which decides. */
		rep.description = NULL;
		rep.snapshot = NULL;
		rep.exported_snapshot = NULL;
		rep.sums = NULL;
		rep.rows = 0;
		put_error(&e, &err);
		rep.error = &e;
	}
	if (v->copy_broke) {
		*out = v->copy_err;
		rc = out->code;
	} else {
		rc = move_link_send_reply(v->l, &rep, final, v->s->o.io_ms, out);
	}
	msg_free(desc);
	msg_free(sums);
	free(snap);
	free(exported);
	return rc;
}

/* Preamble, authorization, handshake. On SK_OK *g is held. */
static int
authenticate(serving *v, move_grant *g, char *rollout, char *step, sk_err *err)
{
	move_serve *s = v->s;
	uint8_t pre[MOVE_LINK_PREAMBLE_MAX];
	int64_t deadline = sk_mono_ms() + s->o.handshake_ms;
	uint8_t *ctx = NULL;
	size_t n = 0, ctx_len = 0;
	const sk_move_tenant *m;
	sk_peer_context c;
	sk_peer *p = NULL;
	int rc;

	rc = move_link_read_frame(v->l, pre, sizeof(pre), &n, s->o.handshake_ms, err);
	if (rc == SK_OK)
		rc = move_link_preamble_parse(rollout, step, pre, n, err);
	if (rc != SK_OK)
		return rc;
	/* Cheap refusals, before any crypto. */
	rc = move_auth_peek(s->auth, rollout, step, g, err);
	if (rc != SK_OK)
		return rc;
	m = &g->body;
	if (strcmp(m->from, s->region) != 0) {
		move_grant_release(g);
		return sk_err_set(err, SK_EREFUSED,
		    "move %s/%s moves from %s, not from this region %s",
		    rollout, step, m->from, s->region);
	}
	c = (sk_peer_context){
		.rollout_id = rollout,
		.plan_id = g->plan_id,
		.move_id = g->move_id,
		.tenant = m->value,
		.source_region = m->from,
		.target_region = m->to,
	};
	rc = sk_peer_context_encode(&ctx, &ctx_len, &c, err);
	if (rc == SK_OK)
		rc = sk_peer_create(SK_PEER_RESPONDER, s->key, &g->peer.key,
		    ctx, ctx_len, &p, err);
	free(ctx);
	if (rc == SK_OK)
		rc = move_link_respond(v->l, p, deadline, err); /* takes p */
	if (rc != SK_OK)
		move_grant_release(g);
	return rc;
}

static void
serve_link(serving *v)
{
	move_serve *s = v->s;
	Skein__V1__MoveRequest *req = NULL;
	Skein__V1__MoveReply rep = SKEIN__V1__MOVE_REPLY__INIT;
	Skein__V1__Error e = SKEIN__V1__ERROR__INIT;
	char rollout[64] = "", step[64] = "";
	move_grant g;
	move_spec spec;
	bool final = false, bye = false;
	sk_err err;
	int rc;

	memset(&g, 0, sizeof(g));
	rc = authenticate(v, &g, rollout, step, &err);
	if (rc != SK_OK) {
		sk_warn("move link from %s%s%s%s%s: refused: %s", v->from,
		    rollout[0] ? " for " : "", rollout, step[0] ? "/" : "",
		    step, err.msg);
		return;
	}
	pthread_mutex_lock(&s->mu);
	v->sl->authed = true;
	pthread_mutex_unlock(&s->mu);

	/* OPEN: the database, and the move again (as in the preamble). */
	rc = move_link_recv_request(v->l, &req, &final, s->o.handshake_ms, &err);
	if (rc != SK_OK)
		goto out;
	rep.kind = req->kind;
	if (req->kind != SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_OPEN || final ||
	    req->rollout_id == NULL || strcmp(req->rollout_id, rollout) != 0 ||
	    req->step_id == NULL || strcmp(req->step_id, step) != 0 ||
	    req->database == NULL || req->database[0] == '\0') {
		rc = sk_err_set(&err, SK_EREFUSED,
		    "open move %s/%s: the first request must be OPEN for this "
		    "move, with a database",
		    rollout, step);
	} else {
		spec = (move_spec){
			.m = &g.body,
			.move_id = g.move_id,
			.source_region = g.body.from,
			.target_region = g.body.to,
			.undo_id = g.undo_id[0] != '\0' ? g.undo_id : NULL,
		};
		rc = s->open(s->open_arg, req->database, &spec, &v->ops,
		    &v->ops_arg, &err);
		if (rc != SK_OK)
			v->ops = NULL;
		/* A parallel copy's worker: its COPYs in the snapshot the
		 * move's main link exported (while that link keeps it open). */
		if (rc == SK_OK && req->import_snapshot != NULL &&
		    req->import_snapshot[0] != '\0')
			rc = v->ops->import != NULL ?
			    v->ops->import(v->ops_arg, req->import_snapshot, &err) :
			    sk_err_set(&err, SK_EINVAL,
				"open a copy worker: this source cannot import a snapshot");
	}
	if (rc != SK_OK) {
		sk_err sent;

		sk_warn("move link for %s/%s: open refused: %s", rollout, step,
		    err.msg);
		put_error(&e, &err);
		rep.error = &e;
		/* Best effort: the target may be gone already. */
		if (move_link_send_reply(v->l, &rep, true, s->o.io_ms, &sent) != SK_OK)
			sk_debug("move link for %s/%s: %s", rollout, step, sent.msg);
		goto out;
	}
	rc = move_link_send_reply(v->l, &rep, false, s->o.io_ms, &err);
	msg_free(req);
	req = NULL;
	sk_info("move link for %s/%s: serving %s to %s (%s)", rollout, step,
	    g.move_id, g.peer.region, v->from);
	while (rc == SK_OK && !bye) {
		int64_t wait = v->frozen ? v->freeze_ms + s->o.frozen_ms : s->o.idle_ms;

		rc = move_link_recv_request(v->l, &req, &final,
		    wait > INT32_MAX ? INT32_MAX : (int)wait, &err);
		if (rc != SK_OK)
			break;
		if (final && req->kind != SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_BYE) {
			rc = sk_err_set(&err, SK_EDECODE,
			    "the target ended its stream without BYE");
			break;
		}
		rc = answer(v, req, &bye, &err);
		msg_free(req);
		req = NULL;
	}
	if (rc != SK_OK && !bye)
		sk_warn("move link for %s/%s: ended: %s%s", rollout, step,
		    err.msg, v->frozen ? " (releasing the freeze)" : "");
out:
	msg_free(req);
	if (v->ops != NULL) {
		/* The tenant's writers must not stay held by a link that is
		 * gone. */
		if (v->frozen && v->ops->unfreeze(v->ops_arg, &err) != SK_OK)
			sk_warn("move %s: release the freeze: %s", g.move_id, err.msg);
		v->ops->close(v->ops_arg);
	}
	move_grant_release(&g);
}

static void *
link_main(void *arg)
{
	slot *sl = arg;
	move_serve *s = sl->s;
	serving v = { .s = s, .sl = sl, .l = sl->link };
	move_link *l;

	move_link_peer_name(v.l, v.from, sizeof(v.from));
	serve_link(&v);
	free(v.copy_buf);
	pthread_mutex_lock(&s->mu);
	l = sl->link;
	sl->link = NULL;
	sl->done = true;
	pthread_mutex_unlock(&s->mu);
	move_link_destroy(l);
	return NULL;
}

/* ---- accepting ------------------------------------------------------ */

/* Under mu: join the finished links' threads, and find a free slot if the
 * limits allow one more. */
static slot *
free_slot(move_serve *s)
{
	slot *found = NULL;
	int handshaking = 0;

	for (int i = 0; i < s->o.max_links; i++) {
		slot *sl = &s->slots[i];

		if (sl->used && sl->done) {
			pthread_join(sl->th, NULL);
			sl->used = false;
		}
		if (!sl->used && found == NULL)
			found = sl;
		if (sl->used && !sl->authed)
			handshaking++;
	}
	return handshaking < s->o.max_handshake ? found : NULL;
}

static void *
accept_main(void *arg)
{
	move_serve *s = arg;

	for (;;) {
		nng_stream *st;
		move_link *l = NULL;
		slot *sl;
		sk_err err;
		int rv;

		nng_stream_listener_accept(s->lst, s->aio);
		nng_aio_wait(s->aio);
		rv = nng_aio_result(s->aio);
		pthread_mutex_lock(&s->mu);
		if (s->stopping) {
			pthread_mutex_unlock(&s->mu);
			if (rv == 0)
				nng_stream_free(nng_aio_get_output(s->aio, 0));
			break;
		}
		pthread_mutex_unlock(&s->mu);
		if (rv != 0) {
			if (rv == NNG_ECLOSED)
				break;
			nng_msleep(10); /* out of descriptors: do not spin */
			continue;
		}
		st = nng_aio_get_output(s->aio, 0);
		pthread_mutex_lock(&s->mu);
		sl = free_slot(s);
		pthread_mutex_unlock(&s->mu);
		/* Refused before a byte is read: too many links, or too many
		 * still in their handshake. */
		if (sl == NULL) {
			sk_warn("move link: refused a connection on %d: %d links "
				"at most, %d of them in the handshake",
			    s->port, s->o.max_links, s->o.max_handshake);
			nng_stream_free(st);
			continue;
		}
		if (move_link_create(st, NULL, &l, &err) != SK_OK) {
			sk_warn("move link: %s", err.msg);
			continue;
		}
		pthread_mutex_lock(&s->mu);
		sl->s = s;
		sl->link = l;
		sl->done = false;
		sl->authed = false;
		sl->used = pthread_create(&sl->th, NULL, link_main, sl) == 0;
		if (!sl->used)
			sl->link = NULL;
		pthread_mutex_unlock(&s->mu);
		if (!sl->used) {
			sk_warn("move link: no thread for a connection");
			move_link_destroy(l);
		}
	}
	return NULL;
}

int
move_serve_start_opts(const char *url, const char *region, const sk_seckey *key,
    move_auth *auth, move_open_fn open, void *open_arg,
    const move_serve_opts *opts, move_serve **out, sk_err *err)
{
	move_serve *s;
	int rv = 0;

	*out = NULL;
	if (url == NULL || region == NULL || key == NULL || auth == NULL ||
	    open == NULL || opts->max_links < 1 || opts->max_handshake < 1)
		return sk_err_set(err, SK_EINVAL, "serve moves: missing argument");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return sk_err_set(err, SK_ENOMEM, "serve moves: out of memory");
	pthread_mutex_init(&s->mu, NULL);
	snprintf(s->region, sizeof(s->region), "%s", region);
	s->key = key;
	s->auth = auth;
	s->open = open;
	s->open_arg = open_arg;
	s->o = *opts;
	s->slots = calloc((size_t)opts->max_links, sizeof(*s->slots));
	if (s->slots == NULL) {
		move_serve_stop(s);
		return sk_err_set(err, SK_ENOMEM, "serve moves: out of memory");
	}
	if ((rv = nng_stream_listener_alloc(&s->lst, url)) != 0 ||
	    (rv = nng_stream_listener_listen(s->lst)) != 0 ||
	    (rv = nng_stream_listener_get_int(
		 s->lst, NNG_OPT_TCP_BOUND_PORT, &s->port)) != 0 ||
	    (rv = nng_aio_alloc(&s->aio, NULL, NULL)) != 0) {
		move_serve_stop(s);
		sk_err_set(err, SK_ENET, "serve moves on %s: %s", url,
		    nng_strerror(rv));
		if (err != NULL)
			err->cause = rv;
		return SK_ENET;
	}
	if (pthread_create(&s->accept_th, NULL, accept_main, s) != 0) {
		move_serve_stop(s);
		return sk_err_set(err, SK_ENOMEM, "serve moves on %s: no thread", url);
	}
	s->accepting = true;
	*out = s;
	return SK_OK;
}

int
move_serve_start(const char *url, const char *region, const sk_seckey *key,
    move_auth *auth, move_open_fn open, void *open_arg, move_serve **out, sk_err *err)
{
	move_serve_opts o;

	move_serve_opts_default(&o);
	return move_serve_start_opts(
	    url, region, key, auth, open, open_arg, &o, out, err);
}

void
move_serve_stop(move_serve *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	for (int i = 0; s->slots != NULL && i < s->o.max_links; i++)
		move_link_abort(s->slots[i].link);
	pthread_mutex_unlock(&s->mu);
	if (s->lst != NULL)
		nng_stream_listener_close(s->lst);
	if (s->accepting)
		pthread_join(s->accept_th, NULL);
	/* The links fail at their next read or write and end on their own:
	 * unfreeze, close. */
	for (int i = 0; s->slots != NULL && i < s->o.max_links; i++)
		if (s->slots[i].used)
			pthread_join(s->slots[i].th, NULL);
	nng_aio_free(s->aio);
	nng_stream_listener_free(s->lst);
	free(s->slots);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

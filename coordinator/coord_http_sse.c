/* coord_http_sse: /api/v1/rollouts/{id}/events, a Server-Sent Events
 * stream per client (docs/operations.md has the contract). One channel
 * per watched rollout keeps a ring of its recent messages, shared by all
 * its clients: a client is a cursor into the ring, not a buffer, so a
 * thousand clients cost a thousand cursors. The loop thread appends (at
 * most every COORD_HTTP_PUBLISH_MS); libmicrohttpd's threads read, and a
 * client with nothing to read is suspended until the next append. A
 * client the ring has lapped (it did not read) is dropped. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_http_int.h"
#include "sk_log.h"
#include "sk_strbuf.h"
#include "sk_util.h"
#include "sk_view.h"

#define SSE_BLOCK (16 * 1024) /* what MHD asks the reader for at most */

struct sse_channel {
	char id[SK_ID_MAX];
	/* Messages [tail, head) by absolute index, at index % RING. */
	char *msgs[COORD_HTTP_RING];
	size_t lens[COORD_HTTP_RING];
	uint64_t head, tail;
	size_t bytes;
	char *last_json;     /* the rollout as last sent */
	uint64_t last_seq;   /* the last event sent */
	int64_t last_msg_ms; /* monotonic, the last ping */
	bool news;           /* appended to since its clients were last woken */
	uint64_t pass; /* the coord_http_serve pass it was last published in */
	sse_client *clients;
	size_t nclients;
	sse_channel *next;
};

struct sse_client {
	coord_http *h;
	sse_channel *ch;
	struct MHD_Connection *conn;
	char *pre; /* the first messages: the rollout and its past events */
	size_t prelen, preoff;
	uint64_t cursor; /* next message of ch to send */
	size_t off;      /* bytes of it sent */
	bool suspended;
	sse_client *prev, *next;
};

/* ---- messages ----------------------------------------------------------- */

static char *
msg_rollout(const char *json, uint64_t seq)
{
	sk_strbuf b = { 0 };

	sk_strbuf_addf(&b, "event: rollout\nid: %llu\ndata: %s\n\n",
	    (unsigned long long)seq, json);
	if (b.oom)
		sk_strbuf_fini(&b);
	return b.s;
}

/* One event, as sk_view_event_json words it. */
static char *
msg_log(const sk_event_view *e)
{
	json_t *o = sk_view_event_json(e);
	char *data;
	sk_strbuf b = { 0 };

	data = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (data == NULL)
		return NULL;
	sk_strbuf_addf(&b, "event: log\nid: %llu\ndata: %s\n\n",
	    (unsigned long long)e->seq, data);
	free(data);
	if (b.oom)
		sk_strbuf_fini(&b);
	return b.s;
}

/* mu held: add s (taken) to ch, dropping the oldest past the bounds. */
static void
ring_add(sse_channel *ch, char *s)
{
	size_t len;

	if (s == NULL)
		return;
	len = strlen(s);
	while (ch->head > ch->tail &&
	    (ch->head - ch->tail >= COORD_HTTP_RING ||
		ch->bytes + len > COORD_HTTP_RING_BYTES)) {
		size_t k = ch->tail % COORD_HTTP_RING;

		ch->bytes -= ch->lens[k];
		free(ch->msgs[k]);
		ch->msgs[k] = NULL;
		ch->tail++;
	}
	ch->msgs[ch->head % COORD_HTTP_RING] = s;
	ch->lens[ch->head % COORD_HTTP_RING] = len;
	ch->bytes += len;
	ch->head++;
	ch->news = true;
}

/* ---- the loop's side ---------------------------------------------------- */

/* The rollout id as the control socket shows it, its events after since
 * in resp. SK_ENOTFOUND when gone. */
static int
view_of(const coord_http_source *src, const char *id, uint64_t since,
    sk_cli_response *resp, sk_err *err)
{
	sk_cli_request req;
	int rc;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_STATUS;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	req.events_since = since;
	rc = coord_control_read(src->ctl, &req, resp, err);
	if (rc == SK_OK && resp->nrollouts != 1)
		rc = sk_err_set(err, SK_ENOTFOUND, "no rollout %s", id);
	return rc;
}

static char *
render(const sk_rollout_view *v)
{
	json_t *o = sk_view_rollout_json(v);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	return s;
}

/* Append ch's new events and, if it changed, the rollout. True if
 * anything was appended. */
static bool
publish_channel(coord_http *h, const coord_http_source *src, sse_channel *ch, int64_t now)
{
	sk_cli_response resp;
	const sk_rollout_view *v;
	char *json;
	bool any = false;
	sk_err err;

	ch->pass = h->pass;
	sk_err_clear(&err);
	if (view_of(src, ch->id, ch->last_seq, &resp, &err) != SK_OK) {
		sk_cli_response_fini(&resp);
		return false;
	}
	v = &resp.rollouts[0];
	json = render(v);
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < v->nevents; i++) {
		if (v->events[i].seq <= ch->last_seq)
			continue;
		ring_add(ch, msg_log(&v->events[i]));
		ch->last_seq = v->events[i].seq;
		any = true;
	}
	if (json != NULL &&
	    (ch->last_json == NULL || strcmp(json, ch->last_json) != 0)) {
		ring_add(ch, msg_rollout(json, ch->last_seq));
		free(ch->last_json);
		ch->last_json = json;
		json = NULL;
		any = true;
	}
	if (now - ch->last_msg_ms >= COORD_HTTP_PING_MS) {
		ring_add(ch, strdup(": ping\n\n"));
		ch->last_msg_ms = now;
		any = true;
	}
	pthread_mutex_unlock(&h->mu);
	free(json);
	sk_cli_response_fini(&resp);
	return any;
}

static void
channel_free(sse_channel *ch)
{
	for (uint64_t i = ch->tail; i < ch->head; i++)
		free(ch->msgs[i % COORD_HTTP_RING]);
	free(ch->last_json);
	free(ch);
}

/* mu held: wake every suspended client of ch into wake[] (n so far). */
static void
collect_suspended(sse_channel *ch, struct MHD_Connection **wake, size_t *n, size_t cap)
{
	for (sse_client *c = ch->clients; c != NULL && *n < cap; c = c->next)
		if (c->suspended) {
			c->suspended = false;
			wake[(*n)++] = c->conn;
		}
}

/* Resume the suspended clients of every channel with news (all: of
 * every channel). */
static void
wake(coord_http *h, bool all)
{
	struct MHD_Connection **conns;
	size_t nwake = 0, cap;

	pthread_mutex_lock(&h->mu);
	cap = h->nclients;
	conns = cap > 0 ? malloc(cap * sizeof(*conns)) : NULL;
	for (sse_channel *ch = h->channels; conns != NULL && ch != NULL; ch = ch->next) {
		if (all || ch->news)
			collect_suspended(ch, conns, &nwake, cap);
		ch->news = false;
	}
	pthread_mutex_unlock(&h->mu);
	/* Outside mu: resuming takes libmicrohttpd's own lock. A suspended
	 * connection cannot end before it is resumed, so conn is alive. */
	for (size_t i = 0; i < nwake; i++)
		MHD_resume_connection(conns[i]);
	free(conns);
}

void
sse_wake_all(coord_http *h)
{
	wake(h, true);
}

void
sse_publish(coord_http *h, const coord_http_source *src)
{
	int64_t now = sk_mono_ms();
	sse_channel **pp = &h->channels;

	/* Channels nobody watches go; the rest publish. Only this thread
	 * adds or removes channels, so the list is walked unlocked, and a
	 * channel is unlinked under mu (a reader holds a client of it only
	 * while the channel has clients). */
	while (*pp != NULL) {
		sse_channel *ch = *pp;
		bool gone;

		pthread_mutex_lock(&h->mu);
		gone = ch->nclients == 0;
		if (gone)
			*pp = ch->next;
		pthread_mutex_unlock(&h->mu);
		if (gone) {
			channel_free(ch);
			continue;
		}
		(void)publish_channel(h, src, ch, now);
		pp = &ch->next;
	}
	wake(h, false);
}

void
sse_open(coord_http *h, const coord_http_source *src, http_job *job)
{
	sse_channel *ch = h->channels;
	sse_client *c = NULL;
	sk_cli_response resp;
	const sk_rollout_view *v;
	sk_strbuf pre = { 0 };
	int64_t now = sk_mono_ms();
	bool fresh = false;
	sk_err err;

	while (ch != NULL && strcmp(ch->id, job->id) != 0)
		ch = ch->next;
	/* An existing channel first catches up, so that what it appends
	 * next follows what this client gets first; once per pass, however
	 * many clients join in it (nothing changes within a pass). */
	if (ch != NULL && ch->pass != h->pass)
		(void)publish_channel(h, src, ch, now);
	sk_err_clear(&err);
	if (view_of(src, job->id, ch != NULL ? job->since : 0, &resp, &err) != SK_OK) {
		job->status = err.code == SK_ENOTFOUND ?
		    MHD_HTTP_NOT_FOUND :
		    MHD_HTTP_INTERNAL_SERVER_ERROR;
		goto out;
	}
	v = &resp.rollouts[0];
	if (ch == NULL) {
		ch = calloc(1, sizeof(*ch));
		if (ch == NULL)
			goto oom;
		fresh = true;
		ch->pass = h->pass; /* what follows is as current as it gets */
		snprintf(ch->id, sizeof(ch->id), "%s", job->id);
		ch->last_json = render(v);
		ch->last_msg_ms = now;
		for (size_t i = 0; i < v->nevents; i++)
			if (v->events[i].seq > ch->last_seq)
				ch->last_seq = v->events[i].seq;
		if (ch->last_json == NULL) {
			free(ch);
			goto oom;
		}
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto oom;
	{
		char *m = msg_rollout(ch->last_json, ch->last_seq);

		if (m != NULL)
			sk_strbuf_add(&pre, m);
		free(m);
	}
	for (size_t i = 0; i < v->nevents; i++) {
		char *m;

		if (v->events[i].seq <= job->since || v->events[i].seq > ch->last_seq)
			continue;
		m = msg_log(&v->events[i]);
		if (m != NULL)
			sk_strbuf_add(&pre, m);
		free(m);
	}
	if (pre.oom || pre.s == NULL) {
		free(c);
		c = NULL;
		goto oom;
	}
	c->h = h;
	c->ch = ch;
	c->pre = pre.s;
	c->prelen = pre.len;
	pre.s = NULL;
	pthread_mutex_lock(&h->mu);
	if (fresh) {
		ch->next = h->channels;
		h->channels = ch;
	}
	c->cursor = ch->head;
	c->next = ch->clients;
	if (ch->clients != NULL)
		ch->clients->prev = c;
	ch->clients = c;
	ch->nclients++;
	h->nclients++;
	pthread_mutex_unlock(&h->mu);
	job->client = c;
	job->status = MHD_HTTP_OK;
	goto out;
oom:
	if (fresh && ch != NULL)
		channel_free(ch);
	job->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
out:
	sk_strbuf_fini(&pre);
	sk_cli_response_fini(&resp);
}

/* ---- libmicrohttpd's side ----------------------------------------------- */

/* mu held: take c out of its channel. */
static void
unlink_client(coord_http *h, sse_client *c)
{
	if (c->ch == NULL)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->ch->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->ch->nclients--;
	h->nclients--;
	c->ch = NULL;
}

void
sse_client_discard(coord_http *h, sse_client *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	unlink_client(h, c);
	pthread_mutex_unlock(&h->mu);
	free(c->pre);
	free(c);
}

static void
on_stream_end(void *cls)
{
	sse_client *c = cls;

	sse_client_discard(c->h, c);
}

static ssize_t
on_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	sse_client *c = cls;
	coord_http *h = c->h;
	sse_channel *ch;
	size_t n = 0;

	(void)pos;
	pthread_mutex_lock(&h->mu);
	ch = c->ch;
	if (c->preoff < c->prelen) {
		n = c->prelen - c->preoff < max ? c->prelen - c->preoff : max;
		memcpy(buf, c->pre + c->preoff, n);
		c->preoff += n;
		pthread_mutex_unlock(&h->mu);
		return (ssize_t)n;
	}
	if (h->stopping || ch == NULL) {
		pthread_mutex_unlock(&h->mu);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	if (c->cursor < ch->tail) {
		/* It did not read while the ring went round: drop it (it
		 * reconnects with Last-Event-ID and catches up). */
		pthread_mutex_unlock(&h->mu);
		sk_info("http: a stream of rollout %s fell %d messages "
			"behind; dropped",
		    c->cursor < ch->tail ? ch->id : "?", COORD_HTTP_RING);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	while (n < max && c->cursor < ch->head) {
		size_t k = c->cursor % COORD_HTTP_RING;
		size_t take = ch->lens[k] - c->off;

		if (take > max - n)
			take = max - n;
		memcpy(buf + n, ch->msgs[k] + c->off, take);
		n += take;
		c->off += take;
		if (c->off == ch->lens[k]) {
			c->cursor++;
			c->off = 0;
		}
	}
	if (n == 0) {
		/* Nothing to say: sleep until sse_publish resumes us. */
		c->suspended = true;
		MHD_suspend_connection(c->conn);
	}
	pthread_mutex_unlock(&h->mu);
	return (ssize_t)n;
}

struct MHD_Response *
sse_response(coord_http *h, sse_client *c, struct MHD_Connection *conn)
{
	struct MHD_Response *r;

	pthread_mutex_lock(&h->mu);
	c->conn = conn;
	pthread_mutex_unlock(&h->mu);
	r = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, SSE_BLOCK, on_stream_read, c, on_stream_end);
	if (r == NULL) {
		sse_client_discard(h, c);
		return NULL;
	}
	(void)MHD_add_response_header(r, "Content-Type", "text/event-stream");
	(void)MHD_add_response_header(r, "Cache-Control", "no-store");
	(void)MHD_add_response_header(r, "X-Accel-Buffering", "no");
	return r;
}

void
sse_fini(coord_http *h)
{
	while (h->channels != NULL) {
		sse_channel *ch = h->channels;

		h->channels = ch->next;
		for (sse_client *c = ch->clients; c != NULL; c = c->next)
			c->ch = NULL;
		channel_free(ch);
	}
}

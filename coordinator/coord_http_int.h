/* coord_http_int: what coord_http.c (the daemon, requests, jobs) and
 * coord_http_sse.c (the event streams) share. Not part of the API. */
#ifndef COORD_HTTP_INT_H
#define COORD_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "coord_http.h"
#include "sk_wire.h"

/* A stream keeps at most this many messages, and this many bytes, per
 * rollout: a client further behind is dropped rather than buffered for. */
#define COORD_HTTP_RING 256
#define COORD_HTTP_RING_BYTES (8u << 20)
/* A comment line to every stream this often, so that proxies and clients
 * see a live connection. */
#define COORD_HTTP_PING_MS 15000

typedef struct sse_channel sse_channel;
typedef struct sse_client sse_client;
typedef struct http_job http_job;

/* A route's answer, run by the loop thread with the state it may read:
 * fills j->status and j->body (and j->type when not JSON), or j->resp or
 * j->client. It must be quick: the loop waits for it. */
typedef void (*http_answer_fn)(
    coord_http *h, const coord_http_source *src, http_job *j);

/* One request waiting for the loop. The handler's thread owns it until
 * queued; then the loop until done; then the handler again, which frees
 * it. A handler that gave up (abandoned) leaves it to the loop to free. */
struct http_job {
	http_answer_fn answer;
	char id[SK_ID_MAX]; /* the path's {id}, "" none */
	uint64_t since;     /* a stream's Last-Event-ID, 0 none */
	bool done, abandoned;
	/* The answer: status and a body (malloc'd), of type (NULL: JSON);
	 * or, for a stream with status 200, client (joined to its channel). */
	unsigned status;
	char *body;
	const char *type;
	/* The report: the control socket's reply, rendered by the handler's
	 * thread (the record is the costliest render: not the loop's). */
	sk_cli_response resp;
	bool has_resp;
	sse_client *client;
	struct http_job *next;
};

struct coord_http {
	struct MHD_Daemon *d;
	int efd; /* eventfd: a job is queued */
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a job is done, or stopping */
	bool stopping;
	http_job *queue, *queue_tail;
	sse_channel *channels;
	size_t nclients;
	int64_t publish_ms; /* monotonic, last publish */
	uint64_t pass;      /* coord_http_serve calls so far */
	/* Bearer tokens, as BLAKE2b-256 of each, in sodium memory. */
	unsigned char *token_hashes;
	size_t ntokens;
	char *tls_cert, *tls_key; /* PEM, MHD reads them while serving */
};

/* ---- coord_http_sse.c (mu held where said) ------------------------------ */

/* An http_answer_fn, mu not held: a stream's job: join (or make) the
 * rollout's channel, publishing what changed first, and make a client
 * whose first messages are the rollout and the events after job->since.
 * Sets job->status (404 unknown rollout) and job->client. */
void sse_open(coord_http *h, const coord_http_source *src, http_job *job);

/* Loop thread, mu not held: publish every channel's changes, drop
 * channels nobody watches, wake the clients with something to read. */
void sse_publish(coord_http *h, const coord_http_source *src);

/* Handler thread: the response streaming client to conn (which it now
 * owns: it frees the client when the connection ends). NULL when out of
 * memory (the client is then freed). */
struct MHD_Response *sse_response(
    coord_http *h, sse_client *client, struct MHD_Connection *conn);

/* Resume every suspended stream (mu not held). */
void sse_wake_all(coord_http *h);

/* Free a client never given a response (mu not held). */
void sse_client_discard(coord_http *h, sse_client *c);

/* Free every channel (mu not held; after MHD stopped). */
void sse_fini(coord_http *h);

#endif

/* coord_http: the coordinator's read-only HTTP API (coordinator.yaml
 * http:, docs/http.md): JSON views of the rollouts and regions, and a
 * Server-Sent Events stream per rollout. libmicrohttpd serves it on its
 * own threads; they never touch the coordinator's state. A request is a
 * job the loop thread answers (coord_http_serve, woken through the
 * descriptor coord_http_fd), the streams are fed by the loop at most
 * every COORD_HTTP_PUBLISH_MS. Nothing on this port changes a rollout. */
#ifndef COORD_HTTP_H
#define COORD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_control.h"
#include "sk_config.h"
#include "sk_err.h"
#include "sk_strbuf.h"

/* How often the loop looks for changes to stream (coalescing). */
#define COORD_HTTP_PUBLISH_MS 200

typedef struct coord_http coord_http;

/* What the loop lends coord_http_serve: the rollouts (read only), a
 * callback that lists every region's agent as `skein agents` sees them
 * into a new array (*out, freed by the caller; SK_ENOMEM), and one that
 * renders the metrics. */
typedef struct coord_http_source {
	const coord_control_ctx *ctl;
	int (*agents)(void *arg, sk_agent_view **out, size_t *n, sk_err *err);
	void *arg; /* agents' and metrics' */
	/* GET /metrics: the Prometheus text exposition into out (an empty
	 * sk_strbuf); SK_OK or an error (500). */
	int (*metrics)(void *arg, sk_strbuf *out, sk_err *err);
} coord_http_source;

/* Read the token and certificate files of cfg and start serving on
 * cfg->listen. Errors (a file missing or empty, the address taken) say
 * which; the daemon then refuses to start. On success *out is the
 * caller's (coord_http_destroy). */
int coord_http_create(
    const sk_http_config *cfg, coord_http **out, sk_err *err) SK_WARN_UNUSED;

/* The descriptor to poll for POLLIN: a request waits for the loop. */
int coord_http_fd(const coord_http *h);

/* Loop thread only: answer every waiting request and, every
 * COORD_HTTP_PUBLISH_MS, send each watched rollout's changes to its
 * streams. Cheap when nothing waits: a lock and a clock read. */
void coord_http_serve(coord_http *h, const coord_http_source *src);

/* Stop serving (every stream ends), free. Accepts NULL. */
void coord_http_destroy(coord_http *h);

#endif

/* coord_server: the skein-coordinator daemon. One thread runs an event
 * loop over two nng sockets:
 *
 *   listen   a raw REP socket the agents dial. Each request is a signed
 *            AgentMessage (reports plus a poll); the reply is a signed
 *            Control message (acks plus RUN commands). A poll with nothing
 *            to say is parked for as long as the agent asked (its
 *            poll_ms, at most COORD_POLL_HOLD_MAX_MS), so that a new phase
 *            reaches agents at once rather than at the next poll.
 *   control  a REP socket for the skein CLI (start, status, rollback,
 *            report).
 *
 * Bad input on either socket (garbage, bad signatures, unknown keys,
 * oversized messages) is logged and dropped; the loop keeps serving.
 */
#ifndef COORD_SERVER_H
#define COORD_SERVER_H

#include <stdatomic.h>

#include "sk_config.h"
#include "sk_err.h"
#include "sk_strbuf.h"

/* Longest an idle poll is held, whatever the agent asks for (its
 * `poll_ms`); the agent waits a grace period longer for the answer. */
#define COORD_POLL_HOLD_MAX_MS 60000

typedef struct coord_server coord_server;

/* Load keys and the region inventory, replay the journal in cfg->state
 * and bind both sockets. cfg must outlive the server. On success *out is
 * owned by the caller (coord_server_destroy). */
int coord_server_create(
    const sk_coord_config *cfg, coord_server **out, sk_err *err) SK_WARN_UNUSED;

/* Serve until *stop becomes non-zero (checked at least every 250 ms).
 * Returns SK_OK on a requested stop; an error only if the sockets fail. */
int coord_server_run(coord_server *srv, atomic_int *stop, sk_err *err) SK_WARN_UNUSED;

/* Append the coordinator's metrics, in Prometheus' text format
 * (coord_metrics.h), to out: what GET /metrics answers. Call on the
 * loop's thread (between the loop's own handlers), as it reads the
 * state the loop owns. Fails only with SK_ENOMEM. */
int coord_server_metrics(const coord_server *srv, sk_strbuf *out, sk_err *err) SK_WARN_UNUSED;

/* Close sockets and free. Accepts NULL. */
void coord_server_destroy(coord_server *srv);

#endif

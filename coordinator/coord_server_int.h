/* coord_server_int: what coord_server.c (setup, the CLI, HTTP, the
 * loop) and coord_server_agents.c (the agents' socket: their polls,
 * reports, refusals and the commands they are sent) share: the server's
 * state and the three entry points the loop calls. Internal to them;
 * loop thread only. */
#ifndef COORD_SERVER_INT_H
#define COORD_SERVER_INT_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_agents.h"
#include "coord_auth.h"
#include "coord_counters.h"
#include "coord_http.h"
#include "coord_journal.h"
#include "coord_line.h"
#include "coord_opctl.h"
#include "coord_registry.h"
#include "coord_replay.h"
#include "coord_server.h"
#include "sk_config.h"
#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_wire.h"

#define SEQ_RESERVE_US (60LL * 1000 * 1000)
#define RECV_MAX (SK_ENVELOPE_MAX + 64 * 1024)

#define HEADER_MAX 64
/* moves: the serving_moves kept per agent (more are not kept: their
 * MOVE_SERVE is sent again, which the agent takes as a repeat). */
#define SERVING_MAX 64
/* moves: a MOVE_SERVE the agent does not list yet goes again at most
 * this often, so that an agent refusing it is not asked in a loop. */
#define MOVE_RESEND_MS 2000

/* A long poll waiting for something to say. */
typedef struct parked {
	bool used;
	uint8_t header[HEADER_MAX]; /* raw REP backtrace of the request */
	size_t header_len;
	uint8_t nonce[SK_NONCE_LEN];
	uint64_t boot_id;
	int64_t deadline_ms;
} parked;

/* What the coordinator knows of one region's agent. */
typedef struct agent_conn {
	const sk_region *region;
	uint64_t boot_id;
	uint64_t last_seq; /* highest report seq applied for boot_id */
	/* What people see of it: srv->seen's. */
	coord_agent *seen;
	coord_opctl_peer ctl; /* what it heard of pauses and tunes */
	parked poll;
	/* moves: what it said it serves, and when it was last sent a
	 * MOVE_SERVE (monotonic ms; 0 never). */
	char serving[SERVING_MAX][SK_MOVE_KEY_MAX];
	size_t nserving;
	int64_t move_sent_ms;
} agent_conn;

struct coord_server {
	const sk_coord_config *cfg;
	sk_seckey *key;
	sk_keyring release;
	sk_keyring agent_keys;
	sk_inventory inv;
	coord_journal *journal;
	coord_registry rollouts;
	coord_line line;    /* stopline: skein stop */
	coord_auth auth;    /* who may ask what on the control socket */
	agent_conn *agents; /* one per inventory region, same order */
	nng_socket agent_sock;
	nng_socket cli_sock;
	bool agent_open;
	bool cli_open;
	uint64_t seq_last;
	uint64_t seq_reserved;
	coord_replay replay; /* what journal replay fills */
	/* moves: a RUN with move peers went out since the last wake_all. */
	bool moves_dispatched;
	coord_http *http; /* NULL: coordinator.yaml has no http: */
	/* metrics: the agents as people see them (coord_agents.h), in
	 * inventory order, and what the loop counts. */
	coord_agents seen;
	coord_counters counters;
};

/* Handle one request on the agents' socket (msg is the caller's to
 * free): verify, apply its reports, answer or park its poll. */
void coord_server_handle_agent(coord_server *srv, nng_msg *msg);

/* Answer every parked agent poll that now has a command to carry. */
void coord_server_wake_all(coord_server *srv);

/* Answer the parked polls whose hold has run out (empty answers). */
void coord_server_expire_polls(coord_server *srv);

#endif

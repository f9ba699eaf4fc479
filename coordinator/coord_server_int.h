/* coord_server_int: what coord_server.c (sockets, agents, the loop) and
 * coord_control.c (the CLI's requests) share: the server's state and a few
 * helpers. Not part of the coordinator's interface (coord_server.h). Both
 * run on the server's one thread.
 */
#ifndef COORD_SERVER_INT_H
#define COORD_SERVER_INT_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_journal.h"
#include "coord_rollout.h"
#include "coord_server.h"
#include "sk_config.h"
#include "sk_key.h"
#include "sk_plan.h"
#include "sk_wire.h"

#define HEADER_MAX 64
#define RUNNING_MAX 64 /* rollouts an agent may report running at once */

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
	int64_t last_seen_ms;
	uint32_t ndatabases;
	char running[RUNNING_MAX][SK_NAME_MAX];
	size_t nrunning;
	parked poll;
} agent_conn;

struct coord_server {
	const sk_coord_config *cfg;
	sk_seckey *key;
	sk_keyring release;
	sk_keyring agent_keys;
	sk_inventory inv;
	coord_journal *journal;
	coord_rollout **rollouts;
	size_t nrollouts;
	size_t rollouts_cap;
	agent_conn *agents; /* one per inventory region, same order */
	nng_socket agent_sock;
	nng_socket cli_sock;
	bool agent_open;
	bool cli_open;
	uint64_t seq_last;
	uint64_t seq_reserved;
};

/* The rollout with id, or NULL. */
coord_rollout *coord_server_find_rollout(coord_server *srv, const char *id);

/* Add ro to the server's rollouts (the server owns it on success). */
int coord_server_add_rollout(
    coord_server *srv, coord_rollout *ro, sk_err *err) SK_WARN_UNUSED;

/* Decode the plan of a signed plan verified when it was accepted (the
 * signature is not checked again). On success *plan is the caller's. */
int coord_server_plan_from_signed(
    const uint8_t *buf, size_t len, sk_plan **plan, sk_err *err) SK_WARN_UNUSED;

/* Answer every parked agent poll that now has a command to carry. */
void coord_server_wake_all(coord_server *srv);

/* Answer one request from the control socket (coord_control.c); msg is
 * reused for the reply or freed. */
void coord_control_handle(coord_server *srv, nng_msg *msg);

#endif

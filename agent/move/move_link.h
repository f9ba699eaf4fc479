/* move_link: the agent-to-agent link of a tenant move (issue 11,
 * docs/moves.md, docs/security.md). The target agent dials the source
 * agent's move endpoint; both authenticate with sk_peer (pinned Ed25519
 * agent keys, X25519, crypto_secretstream) bound to the move's context;
 * then the target sends MoveRequests and reads MoveReplies, all inside the
 * encrypted stream. The coordinator is not on the path.
 *
 * move_remote_open gives the target's engine a move_source_ops that works
 * over the link. move_serve runs on the source agent: it listens, and
 * for each connection finds the authorization the coordinator sent
 * (move_auth) for the dialing key and the move it names, opens the source
 * database and answers with move_local_open's ops.
 */
#ifndef MOVE_LINK_H
#define MOVE_LINK_H

#include "move.h"

/* ---- the source agent's authorizations (MOVE_SERVE), in memory */

typedef struct move_auth move_auth;

/* One authorization, as move_auth_find hands it out: the plan and step
 * stay valid until move_grant_release, even if the authorization is
 * replaced meanwhile. */
typedef struct move_grant {
	move_peer peer;      /* role TARGET: who may dial in */
	const sk_plan *plan; /* the signed plan the step is in */
	const sk_step *step; /* its move_tenant step (step->move) */
	/* The move served: *step->move, or for a move back (peer.back)
	 * sk_move_tenant_back's view of it (borrowing the plan's strings). */
	sk_move_tenant body;
	char plan_id[128];
	char move_id[192]; /* "<plan id>/<step id>", a move back's ".../back" */
	char undo_id[192]; /* a move back: "<plan id>/<step id>"; else "" */
	void *ref_;        /* move_auth's reference; do not touch */
} move_grant;

int move_auth_create(move_auth **out, sk_err *err) SK_WARN_UNUSED;
/* Frees every authorization (grants still held keep theirs alive).
 * Accepts NULL. */
void move_auth_destroy(move_auth *a);

/* Hold (or replace: same rollout and step) one authorization: this agent
 * may serve the move_tenant step peer->step_id of plan, in
 * peer->rollout_id, to the agent whose key is peer->key. plan (decoded
 * and verified by the caller) becomes the authorization's, also on
 * failure. SK_ENOTFOUND: the plan has no such move step; SK_EINVAL: the
 * peer is not role TARGET. Thread-safe. */
int move_auth_add(move_auth *a, const move_peer *peer, sk_plan *plan,
    sk_err *err) SK_WARN_UNUSED;

/* The authorization for rollout_id/step_id, if it names key as its
 * target: *out filled and referenced (move_grant_release). SK_ENOTFOUND
 * when there is none or it names another key (the error does not say
 * which). Thread-safe. */
int move_auth_find(move_auth *a, const char *rollout_id, const char *step_id,
    const sk_pubkey *key, move_grant *out, sk_err *err) SK_WARN_UNUSED;
/* The authorization for rollout_id/step_id whatever key it names, for
 * a server that must know which key to expect before the dialer has
 * proved one: the caller authenticates the dialer against
 * out->peer.key (sk_peer) before serving anything. SK_ENOTFOUND when
 * there is none. Thread-safe. */
int move_auth_peek(move_auth *a, const char *rollout_id, const char *step_id,
    move_grant *out, sk_err *err) SK_WARN_UNUSED;
void move_grant_release(move_grant *g);

/* "<rollout_id>/<step_id>" of every authorization held, for
 * AgentMessage.serving_moves: *out is a malloc'ed array of malloc'ed
 * strings (free each, then the array). */
int move_auth_list(move_auth *a, char ***out, size_t *n, sk_err *err) SK_WARN_UNUSED;

/* ---- the target side */

/* Dial peer (role SOURCE: its address and pinned key) for the move spec
 * of rollout_id in database, authenticate as my_key, and return the
 * source's ops over the link. connect_timeout_ms bounds the dial and the
 * handshake; io_timeout_ms every later wait for a reply (a dead peer
 * fails the call with SK_ETIMEOUT instead of hanging). */
int move_remote_open(const move_peer *peer, const move_spec *spec,
    const char *rollout_id, const char *plan_id, const char *database,
    const sk_seckey *my_key, int connect_timeout_ms, int io_timeout_ms,
    const move_source_ops **ops, void **arg, sk_err *err) SK_WARN_UNUSED;

/* ---- the source side */

typedef struct move_serve move_serve;

/* Opens the source side of one granted move in database: in the agent,
 * move_local_open on that database's conninfo (SK_ENOTFOUND: not a
 * database of this agent). Tests pass a fake. */
typedef int (*move_open_fn)(void *arg, const char *database, const move_spec *spec,
    const move_source_ops **ops, void **ops_arg, sk_err *err);

/* Listen on url (tcp://host:port) in background threads, as region with
 * key, answering the moves auth grants by opening their source side with
 * open(open_arg, ...). On failure nothing runs. */
int move_serve_start(const char *url, const char *region, const sk_seckey *key,
    move_auth *auth, move_open_fn open, void *open_arg, move_serve **out,
    sk_err *err) SK_WARN_UNUSED;

/* Stop listening, end every link (a move in its freeze is unfrozen by its
 * connection's end), join the threads. Accepts NULL. */
void move_serve_stop(move_serve *s);

#endif

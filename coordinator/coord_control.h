/* coord_control: the requests of the skein CLI (start in apply or
 * rehearse mode, rollback, report, status; pause, resume and tune, which
 * coord_opctl answers), answered from the rollouts,
 * the journal and the coordinator's configuration. Sockets are the
 * server's: control takes an encoded request and gives back an encoded
 * answer and what changed, and the server acts on that (wakes the agents
 * a new rollout has work for).
 *
 * Not thread-safe: runs on the coordinator's loop, like the rollouts it
 * reads and changes.
 */
#ifndef COORD_CONTROL_H
#define COORD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_agents.h"
#include "coord_auth.h"
#include "coord_counters.h"
#include "coord_journal.h"
#include "coord_line.h"
#include "coord_registry.h"
#include "sk_config.h"
#include "sk_err.h"
#include "sk_key.h"

/* What a request may use: borrowed from the server for one call. */
typedef struct coord_control_ctx {
	coord_registry *rollouts;  /* a started rollout is added here */
	coord_journal *journal;    /* every change is journaled before */
	const sk_keyring *release; /* keys a plan to start must be signed by */
	const sk_inventory *inv;   /* regions a plan may address */
	coord_auth *auth;          /* who may ask what (nonces remembered) */
	/* A run of a mode limited per plan (a rehearsal) is refused within
	 * this long of the start of the plan's last one; 0: no limit
	 * (coordinator.yaml rehearsal_interval). */
	int64_t rehearsal_interval_ms;
	coord_line *line; /* stopline: skein stop */
	/* metrics: refusals are counted here; NULL: not counted. */
	coord_counters *counters;
	/* The agents as people see them (skein agents; status says which
	 * region's agent is away). NULL: none known. */
	const coord_agents *agents;
} coord_control_ctx;

/* What answering a request changed, for the caller to act on. */
typedef struct coord_control_effect {
	/* A rollout started: agents waiting in a poll may now have a
	 * command to carry. */
	bool started;
	/* A rollout was paused, resumed or tuned (or a resume started its
	 * next phase): the agents running it have something to hear. */
	bool held;
} coord_control_effect;

/* Answer req (len bytes, any bytes: garbage is refused in the answer),
 * an operator's signed request (coord_auth.h) or, with insecure_local, an
 * encoded CLI request. A request that is not signed by a pinned operator,
 * stale, replayed or beyond the signer's role is refused and journaled
 * (coord_journal_refused; at most COORD_AUTH_REFUSALS_PER_MIN a minute,
 * counted beyond that) and changes nothing; the operator who started a
 * rollout is journaled with it, and so are a rollback's --no-backup and
 * an apply's --reapply. A start is refused, changing nothing, when it
 * applies a plan whose latest apply was rolled back without --reapply,
 * or rehearses a plan within rehearsal_interval_ms of the start of its
 * last rehearsal. A pause, resume or tune (coord_opctl_answer says what
 * is refused) is journaled with its operator and answered with the
 * rollout's view. On SK_OK *reply is the encoded answer
 * (malloc'ed, the caller frees it) of *reply_len bytes, which says
 * whether the request was done or why not, and *effect says what
 * changed. Fails (*reply NULL) only when the answer cannot be encoded
 * (SK_ENOMEM); what the request changed is then still in *effect. */
int coord_control_answer(const coord_control_ctx *ctx, const uint8_t *req,
    size_t len, uint8_t **reply, size_t *reply_len,
    coord_control_effect *effect, sk_err *err) SK_WARN_UNUSED;

/* The answer a viewer's SK_CLI_STATUS request (req->rollout_id,
 * req->events_since) gets on the control socket, into *resp (zeroed
 * first; the caller sk_cli_response_fini()s it), for readers that are not
 * the control socket (coord_http). Changes nothing, journals nothing.
 * Other operations: SK_EINVAL. SK_ENOTFOUND for an unknown rollout. */
int coord_control_read(const coord_control_ctx *ctx, const sk_cli_request *req,
    sk_cli_response *resp, sk_err *err) SK_WARN_UNUSED;

#endif

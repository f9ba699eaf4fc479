/* agent_session: the agent's side of the conversation with the
 * coordinator, and the plans it runs.
 *
 * The agent dials out (decision 4 of DESIGN.md) with a REQ socket and
 * loops: send a signed AgentMessage carrying queued progress reports, then
 * wait for the signed Control reply, which acknowledges reports and may
 * carry RUN commands. With no reports queued the request asks the
 * coordinator to hold it (long poll); a report queued meanwhile cancels the
 * wait so that progress goes out at once.
 *
 * A RUN command is verified here: release signature by a pinned key, not
 * expired, addressed to this region. A refused plan is reported
 * (PLAN_REFUSED) and nothing is applied. An accepted plan runs in its own
 * thread through agent_exec. Commands are handled idempotently: a rollout
 * already running is ignored; one already finished has its final report
 * sent again.
 *
 * Control messages must echo the request's nonce and boot id and carry a
 * sequence number above the persisted high-water mark (<state>/control-seq),
 * so that replayed or stale messages are refused.
 */
#ifndef AGENT_SESSION_H
#define AGENT_SESSION_H

#include <stdatomic.h>

#include "sk_config.h"
#include "sk_err.h"

typedef struct agent_session agent_session;

/* Load keys and state and start dialing cfg->coordinator (in the
 * background: an unreachable coordinator is not an error here). cfg must
 * outlive the session. On success *out is owned by the caller. */
int agent_session_create(const sk_agent_config *cfg, agent_session **out,
    sk_err *err) SK_WARN_UNUSED;

/* Run until *stop is non-zero, then wait for running plans to notice and
 * return. Returns SK_OK on a requested stop. */
int agent_session_run(agent_session *s, atomic_int *stop, sk_err *err) SK_WARN_UNUSED;

/* moves: the moves this agent may serve, as the coordinator's
 * MOVE_SERVE commands said (move_link.h): what move_serve_start takes.
 * Owned by the session, valid until agent_session_destroy (stop the
 * listener before that). Thread-safe itself. */
struct move_auth *agent_session_move_auth(agent_session *s);

/* Close the socket and free. Accepts NULL. */
void agent_session_destroy(agent_session *s);

#endif

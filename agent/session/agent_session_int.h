/* agent_session_int: what the files of the agent's session share:
 * agent_session.c (the request/reply loop with the coordinator, the
 * checks on its control messages), agent_runs.c (the plans it runs, and
 * the operator's pause, resume and tune of them) and agent_outbox.c (the
 * reports waiting for the coordinator's acknowledgement). Calls point
 * one way: agent_session.c -> agent_runs.c -> agent_outbox.c. Internal
 * to the session: nothing else includes it.
 */
#ifndef AGENT_SESSION_INT_H
#define AGENT_SESSION_INT_H

#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_control.h"
#include "agent_sample.h"
#include "agent_session.h"
#include "move.h"
#include "move_link.h"
#include "sk_config.h"
#include "sk_key.h"
#include "sk_plan.h"
#include "sk_wire.h"

enum run_state { RUN_RUNNING, RUN_DONE };

typedef struct run_entry {
	char rollout_id[SK_ID_MAX];
	int state;
	sk_report final; /* PLAN_SUCCEEDED, PLAN_FAILED or PLAN_REFUSED */
	sk_plan *plan;
	int mode;       /* enum sk_mode, from the RUN command */
	bool no_backup; /* rollback: --no-backup, from the RUN command */
	/* flags: a rollback's flags-first pass, a run of its own beside the
	 * rollback's full run of the same rollout id. */
	bool flags_only;
	/* The session's word to the run (pause, tune, when the coordinator
	 * was last heard from), and the operator's control generations
	 * applied to it: pause state and tune (under the session's mu). */
	agent_control control;
	uint64_t control_gen;
	uint64_t tune_gen;
	/* moves: the SOURCE peers of its move steps, from the RUN
	 * command (owned). */
	move_peer *move_peers;
	size_t nmove_peers;
	pthread_t thread;
	bool joinable;
	struct agent_session *session;
} run_entry;

/* What the session last logged as wrong with its link to the
 * coordinator (agent_reach.c): a problem that lasts is logged when it
 * starts and then at most once a minute. Session thread only. */
enum agent_trouble {
	AGENT_OK,
	AGENT_UNREACHABLE, /* no connection */
	AGENT_NOT_CONTROL, /* answers that are not signed control messages */
	AGENT_UNTRUSTED,   /* answers signed by a key it does not pin */
	AGENT_REFUSED,     /* the coordinator refused it, and said why */
	AGENT_BAD_ANSWER,  /* answers it refused for another reason */
};

typedef struct agent_complaint {
	int kind;       /* enum agent_trouble */
	int64_t at_ms;  /* when it was last logged (monotonic) */
	uint64_t quiet; /* times it recurred since, not logged */
} agent_complaint;

struct agent_session {
	const sk_agent_config *cfg;
	sk_seckey *key;
	sk_keyring coordinator;
	sk_keyring release;
	nng_socket sock;
	bool sock_open;
	nng_aio *aio;
	uint64_t boot_id;
	char *hw_path;
	uint64_t hw; /* highest control seq accepted */
	atomic_int *stop;
	atomic_int waiting; /* a long poll is in flight */
	atomic_int pipes;   /* connections of sock now (nng pipe events) */
	atomic_int sock_id; /* nng's id of sock: pipe events of others */
	int stuck_closes;   /* closes left behind (redial); session thread */
	agent_complaint complaint; /* session thread only */

	pthread_mutex_t mu; /* guards everything below */
	sk_report *outbox;
	size_t nout;
	size_t outcap;
	uint64_t next_seq;
	bool outbox_full_logged;
	run_entry **runs;
	size_t nruns;
	size_t runcap;

	/* sampling: the exit gates' samples (agent_samples.c); thread-safe
	 * itself, not under mu. */
	agent_sampler *sampler;

	/* moves: the moves this agent may serve (agent_moves.c; thread-safe
	 * itself, not under mu), and the ones it refused (under mu). */
	move_auth *move_auth;
	struct move_serve *move_serve; /* the listener; NULL without move: listen */
	char **move_refused;
	size_t nmove_refused;
};

/* ---- agent_reach.c ------------------------------------------------------ */

/* Log err at level as trouble kind, unless the same kind was logged less
 * than a minute ago (then it is only counted, and the next line says how
 * often it recurred). Session thread only. */
void agent_complain(agent_session *s, int kind, int level, const sk_err *err);

/* The link works again: log that, once, if trouble was logged. */
void agent_complain_over(agent_session *s);

/* Why the coordinator at url cannot be reached, in words, into why
 * (size bytes): a plain TCP connect to its host and port, at most
 * timeout_ms long ("connection refused", "no answer within 2 s", or that
 * TCP connects, so TLS or the protocol is what fails). */
void agent_reach_probe(const char *url, int timeout_ms, char *why, size_t size);

/* ---- agent_outbox.c ----------------------------------------------------- */

/* Queue report r (copied, numbered and redacted here) for the
 * coordinator, and cut a long poll short so that it goes out at once.
 * Past OUTBOX_MAX queued reports, progress is dropped (with one warning)
 * and outcomes are kept. Thread-safe; takes s->mu. */
void agent_outbox_put(agent_session *s, const sk_report *r);

/* Drop the queued reports up to seq acked (the coordinator has them).
 * Takes s->mu. */
void agent_outbox_ack(agent_session *s, uint64_t acked);

/* True if a final report of rollout_id is queued. Call with s->mu held. */
bool agent_outbox_has_final(
    const agent_session *s, const char *rollout_id, bool flags_only);

/* ---- agent_runs.c ------------------------------------------------------- */

/* Act on a RUN command: verify its plan (release key, expiry, region) and
 * run it in a thread of its own, in the rollout's control state (its
 * tune); a refused plan is reported PLAN_REFUSED. Idempotent: a rollout
 * already running is ignored, one already finished has its final report
 * queued again. Takes s->mu. */
void agent_runs_start(agent_session *s, const sk_command *cmd);

/* Apply an operator's PAUSE, RESUME or TUNE to the running rollout cmd
 * names, unless cmd is older than what the run applied (a repeat
 * changes nothing); one this agent does not run is ignored (logged at
 * debug). Takes s->mu. */
void agent_runs_opctl(agent_session *s, const sk_command *cmd);

/* The coordinator was heard from (a verified reply): tell every running
 * plan (a backfill's dead-man pause ends). Takes s->mu. */
void agent_runs_heard(agent_session *s);

/* Fill m's running and applied lists with the rollouts running now and
 * the control generation each applied (arrays malloc'ed: free them after
 * encoding). Out of memory leaves both empty. Call with s->mu held. */
void agent_runs_list(agent_session *s, sk_agent_msg *m);

/* Wait for every plan thread to end (they stop at a safe point once
 * *s->stop is set). */
void agent_runs_join(agent_session *s);

/* Join and free every run. */
void agent_runs_free(agent_session *s);

/* sampling: verify cmd's signed plan for this region as a RUN's is
 * verified (release key, expiry, region). On success *out owns the plan;
 * on failure err says why, wrapped with the rollout and region. */
int agent_runs_verify_plan(agent_session *s, const sk_command *cmd,
    sk_plan **out, sk_err *err) SK_WARN_UNUSED;

/* ---- agent_samples.c (sampling) --------------------------------------- */

/* Create s->sampler, reporting through the outbox. SK_ENOMEM. */
int agent_samples_init(agent_session *s, sk_err *err) SK_WARN_UNUSED;

/* Act on a SAMPLE command: verify its plan (agent_runs_verify_plan), check
 * its phase (agent_sample_phase_check) and start the sample in a thread
 * of its own; a plan or phase it cannot use is refused with a GATE_SAMPLE
 * report carrying the error. A sample of the rollout still running makes
 * cmd a no-op (logged at debug). Never blocks on a database. */
void agent_samples_start(agent_session *s, const sk_command *cmd);

/* Wait for the samples running now (agent_sampler_join); then, for
 * _fini, free the sampler. Both accept a session without one. */
void agent_samples_join(agent_session *s);
void agent_samples_fini(agent_session *s);

/* moves: the peers of cmd in role (SK_MOVE_ROLE_SOURCE for a RUN,
 * SK_MOVE_ROLE_TARGET for a MOVE_SERVE; others are skipped) as
 * move_peers of cmd's rollout: *out malloc'ed (NULL when none; the
 * caller frees). SK_ENOMEM. */
int agent_runs_move_peers(const sk_command *cmd, int role, move_peer **out,
    size_t *n, sk_err *err) SK_WARN_UNUSED;

/* ---- agent_moves.c (moves) -------------------------------------------- */

/* Create s->move_auth. SK_ENOMEM. */
int agent_moves_init(agent_session *s, sk_err *err) SK_WARN_UNUSED;

/* Free s->move_auth (the move listener, if any, is stopped before) and
 * the refusals remembered. */
void agent_moves_fini(agent_session *s);

/* Act on a MOVE_SERVE: verify its plan (agent_runs_verify_plan), check
 * each target peer's step is a move out of this region, and hold it in
 * s->move_auth, unless agent.yaml has no move: listen. A refusal is
 * reported once per move: STEP_FAILED of the step in no database,
 * carrying the error. Takes s->mu. */
void agent_moves_serve(agent_session *s, const sk_command *cmd);

/* Fill m's serving_moves with the moves held (malloc'ed: free after
 * encoding). Out of memory leaves it empty. */
void agent_moves_list(agent_session *s, sk_agent_msg *m);

#endif

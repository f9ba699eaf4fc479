/* coord_opctl: an operator's word to a running rollout — skein rollout
 * pause, resume and tune — and what each agent running it must hear of
 * it.
 *
 * A pause holds the rollout where it is: no region is told to run and no
 * phase starts (coord_rollout), and the agents running it finish the step
 * they are in and start no other (a backfill stops at its next batch)
 * until a resume. A tune gives the rollout's backfills new limits, merged
 * over the plan's and over earlier tunes. Each is journaled, with who
 * said it, before it is applied, so that a restart restores both; a pause
 * ends with the rollout (nobody can resume a finished one).
 *
 * Agents hear it as state, not as events: PAUSE or RESUME, then TUNE,
 * each carrying the rollout's control generation (coord_opctl.gen). An
 * agent that runs the rollout and has not applied the current generation
 * (it says which it applied in every request) gets them with its next
 * reply, so a lost reply or a new agent boot is harmless and a repeat
 * changes nothing. The server answers held polls at once when there is
 * something to say.
 *
 * Not thread-safe: the coordinator's loop owns everything here.
 */
#ifndef COORD_OPCTL_H
#define COORD_OPCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_auth.h"
#include "coord_journal.h"
#include "coord_registry.h"
#include "coord_rollout.h"
#include "sk_err.h"
#include "sk_wire.h"

/* Commands coord_opctl_commands writes at most, per rollout. */
#define COORD_OPCTL_COMMANDS_MAX 2
/* A generation sent to an agent that does not say it applied it (one that
 * predates pauses never does) is sent again after this long, not with
 * every reply, which would make its polls spin. */
#define COORD_OPCTL_RESEND_MS 2000
/* Rollouts of one agent followed at once (as many as it may report
 * running). */
#define COORD_OPCTL_PEER_MAX 64

/* stopline: SK_CLI_PAUSE and SK_CLI_RESUME with regions pause or resume
 * only those (SK_EINVAL: not in the rollout, named twice; SK_ESTATE:
 * already so, finished there, or the whole rollout is paused);
 * SK_CLI_ABORT journals the abort and ends the rollout as aborted
 * (coord_rollout_abort), refused as a pause is (unknown, finished, a
 * mode that cannot be paused, a reason with a control character);
 * SK_CLI_ABORT with regions aborts only those (coord_region_run
 * .aborted: their agents hear ABORT, each ends failed, pending ones at
 * once, and the rollout halts by the phase rule; SK_EINVAL: not in the
 * rollout, named twice; SK_ESTATE: finished or already aborted there, a
 * flags-first pass running).
 *
 * Answer req (op SK_CLI_PAUSE, SK_CLI_RESUME or SK_CLI_TUNE) from actor,
 * whose role allows it, at now_ms: journal it, with actor, then apply it
 * and add its event. On SK_OK *out is the rollout (borrowed from
 * rollouts), and *phase_started says a resume started the phase the
 * pause held back (agents may have work). On failure nothing changed and
 * err names the rollout, with a hint: SK_ENOTFOUND (no such rollout);
 * SK_ESTATE (it has finished, its mode cannot be paused, a pause of a
 * paused one or a resume of one that is not, a tune of a plan without a
 * backfill or expand step); SK_EINVAL (a reason with a control
 * character, a tune that changes nothing, a batch out of [1,
 * SK_BACKFILL_BATCH_LIMIT], or one that leaves a step's batch_min above
 * its batch_max once merged with the plan and earlier tunes); or the
 * journal's error. A resume whose next phase cannot be journaled is
 * applied and journaled, and fails with that error. */
int coord_opctl_answer(coord_registry *rollouts, coord_journal *j,
    const sk_cli_request *req, const coord_actor *actor, int64_t now_ms,
    coord_rollout **out, bool *phase_started, sk_err *err) SK_WARN_UNUSED;

/* Apply a journaled pause, resume or tune to ro (journal replay), as the
 * answer did, without its event. A record this coordinator cannot apply
 * (an unknown kind, a tune out of bounds) is skipped with a warning. */
void coord_opctl_replay(coord_rollout *ro, const coord_opctl_record *rec);

/* Give a RUN_PLAN command of ro the state the run starts in: its control
 * generation and, when tuned, every tune merged. (A paused rollout is
 * not dispatched: coord_rollout_wants.) */
void coord_opctl_run_state(const coord_rollout *ro, sk_command *run);

/* stopline: the line stop's pause (stop true) or resume of ro, said by
 * actor (key actor_key) with reason at at_ms: applied like an operator's
 * (history, generation) but not journaled: the line's record is
 * (coord_line). narrate: add its event (not in replay). The caller
 * checks that ro runs, may be paused, and is (not) paused. */
void coord_opctl_line(coord_rollout *ro, bool stop, const char *actor,
    const char *actor_key, const char *reason, int64_t at_ms, bool narrate);

/* What one agent has heard of the rollouts it runs. */
typedef struct coord_opctl_seen {
	char rollout_id[SK_ID_MAX];
	uint64_t applied; /* the generation it says it applied */
	uint64_t sent;    /* the last generation sent to it; 0: none */
	int64_t sent_ms;  /* when (sk_mono_ms) */
} coord_opctl_seen;

typedef struct coord_opctl_peer {
	char region[SK_NAME_MAX]; /* stopline: the agent's (a scoped pause) */
	coord_opctl_seen v[COORD_OPCTL_PEER_MAX];
	size_t n;
} coord_opctl_peer;

/* Forget everything: the agent started again (a new boot id). */
void coord_opctl_peer_reset(coord_opctl_peer *p);

/* Note what agent message m says: the rollouts it runs (the first
 * COORD_OPCTL_PEER_MAX) and the generation it applied to each (0 when it
 * does not say). What was sent for a rollout it still runs is kept. */
void coord_opctl_peer_note(coord_opctl_peer *p, const sk_agent_msg *m);

/* The commands agent p must hear of ro at now_ms (sk_mono_ms) into out
 * (room for COORD_OPCTL_COMMANDS_MAX); returns how many, and notes them
 * sent. None unless p runs ro (as of the last note), ro was ever paused
 * or tuned, p applied less than ro's generation, and that generation was
 * not sent to p within COORD_OPCTL_RESEND_MS. Else PAUSE (with who and
 * why) or RESUME, then TUNE when ro was tuned. The commands own nothing
 * (no signed plan). */
size_t coord_opctl_commands(coord_opctl_peer *p, const coord_rollout *ro,
    int64_t now_ms, sk_command *out);

#endif

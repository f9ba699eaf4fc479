/* agent_failpoint: named points where a test can have the agent killed
 * exactly there, to prove what survives a crash at the worst moment.
 * SKEIN_FAILPOINT=NAME:N in the environment makes the Nth pass of this
 * process through point NAME raise SIGKILL — the same death as kill -9,
 * at an instant no outside signal can hit reliably. Unset (production),
 * a pass costs one atomic load.
 *
 * Points: "backfill-before-commit" (a batch's UPDATE and checkpoint are
 * done, its COMMIT not sent), "backfill-after-commit" (committed, the
 * worker has not yet taken note).
 *
 * Tenant moves (tests/integration/fault_move_*.sh). In the source agent
 * (move_serve.c): "move-serve-copy" (one COPY frame of a table was sent to
 * the target: one pass per row COPY handed over), "move-serve-changes"
 * (a CHANGES request arrived, before the source reads the page),
 * "move-serve-frozen" (FREEZE granted: the source holds the tenant's lock,
 * its reply not yet sent), "move-serve-commit" (a COMMIT request arrived,
 * before the source's commit point), "move-serve-committed" (the commit
 * point committed: fenced, its reply not yet sent). In the target agent,
 * the move's progress report (agent_kind_move.c): "move-copy" (a report
 * in the copy: the phase's start, each table's start, then about once a
 * second), "move-catchup" (a report in the catch-up: the phase's start,
 * then about once a second).
 *
 * Points that do not kill (agent_failpoint_hit): "session-close-hang"
 * (a close of the session's connection to the coordinator never
 * returns, and every later one with it, as behind nng's reaper wedged;
 * one pass per close).
 */
#ifndef AGENT_FAILPOINT_H
#define AGENT_FAILPOINT_H

#include <stdbool.h>

/* Pass point name; dies when SKEIN_FAILPOINT names it and this is the
 * pass it counts to. Thread-safe. */
void agent_failpoint(const char *name);

/* Pass point name; true on the pass SKEIN_FAILPOINT counts to, where
 * the caller misbehaves as the point's description says. Thread-safe. */
bool agent_failpoint_hit(const char *name);

#endif

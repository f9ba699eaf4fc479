/* agent_exec: applies one verified plan to every database an agent
 * manages, with the ledger making each step run exactly once.
 *
 * For each database (up to `parallel` at once, one connection and thread
 * each) the executor connects, retrying with capped exponential backoff
 * while the database is unreachable; takes skein's session advisory lock
 * (direct connections; through a transaction pooler every transaction
 * takes it instead); creates or upgrades the `skein` ledger schema; then,
 * in apply mode:
 *
 *   1. runs the plan's preflight checks (SK_EPREFLIGHT: nothing applied);
 *   2. refuses drift: a step in the ledger with another checksum fails the
 *      database with SK_EDRIFT naming both checksums;
 *   3. if a step still has to run: the pre-checks of the region's phase
 *      (SK_ECHECK; watched and retried like a step's checks under the
 *      first pending step's limits, SK_ELOCK), then the backup the plan
 *      asks for (SK_EBACKUP);
 *   4. walks the steps in order, skipping those in the ledger. A
 *      transactional step runs with SET LOCAL lock_timeout and
 *      statement_timeout, its pre-checks, SQL, verify script, post-checks
 *      and ledger row in one transaction, retrying lock timeouts with
 *      backoff (SK_ELOCK when they outlast lock_retries); a
 *      non-transactional step runs outside one and rebuilds an INVALID
 *      index left by an interrupted CREATE INDEX CONCURRENTLY;
 *   5. runs the phase's post-checks after the steps committed (SK_ECHECK;
 *      watched and retried under the last step's limits, SK_ELOCK).
 *
 * While opts->control says the operator paused the rollout, a database
 * finishes the step it is in and holds before its next one (apply and
 * rollback alike), reporting DB_WAITING once and DB_STARTED when it goes
 * on (agent_db_hold_while_paused); a backfill stops at its next batch.
 *
 * The first failure stops that database; other databases continue. In
 * rehearse and rollback mode the open session goes to agent_rehearse_db or
 * agent_rollback_db (agent_modes.h) instead, and a rehearsal never creates
 * or upgrades the ledger. A rollback backs the database up before its
 * first revert (SK_EBACKUP, nothing reverted, when it cannot), unless
 * opts->no_backup or the plan's no_rollback_backup says not to.
 *
 * Progress is emitted through the report callback (DB_WAITING, DB_STARTED,
 * STEP_STARTED, STEP_FINISHED, STEP_SKIPPED, STEP_FAILED, CHECK, LOCK_WAIT,
 * BACKUP, DB_FINISHED, DB_FAILED). The callback may be called from several
 * threads at once and must be thread-safe; it must not block for long.
 * docs/safety.md describes how a step runs.
 */
#ifndef AGENT_EXEC_H
#define AGENT_EXEC_H

#include <stdatomic.h>
#include <stddef.h>

#include "sk_config.h"
#include "agent_control.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_wire.h"

/* moves: move.h's (C11 allows the typedef twice). */
typedef struct move_peer move_peer;

typedef void (*agent_report_fn)(void *arg, const sk_report *report);

typedef struct agent_exec_opts {
	const char *region;
	const char *rollout_id;
	const sk_db_config *databases;
	size_t ndatabases;
	int parallel; /* <= 0 means 1 */
	agent_report_fn report;
	void *report_arg;
	atomic_int *stop;     /* set non-zero to abandon retries; may be NULL */
	int64_t retry_min_ms; /* first backoff; 0 means 500 */
	int64_t retry_max_ms; /* backoff cap; 0 means 10000 */
	int mode;             /* enum sk_mode; 0 is SK_MODE_APPLY */
	/* Backups (plan->backup): the directory they go to (NULL: a plan that
	 * asks for one fails with SK_EBACKUP) and the programs to run (NULL:
	 * "pg_dump", "pg_restore" from PATH). */
	const char *backup_dir;
	const char *pg_dump;
	const char *pg_restore;
	/* Rollback: every database is backed up (verified, like a plan's
	 * backup) before its first revert, unless the rollback command said
	 * --no-backup (this) or the plan says rollback_backup: false. */
	bool no_backup;
	/* The session's word while it runs: pause, a backfill's new limits,
	 * when the coordinator was last heard from. NULL: never paused,
	 * never tuned, the coordinator always heard. */
	agent_control *control;
	/* flags: a rollback reverts only the steps whose kind flips first
	 * (the flags-first pass); its reports say flags_only. */
	bool flags_only;
	/* moves: the SOURCE peer of each move step into this region, from
	 * the RUN command (borrowed; none: NULL, 0). */
	const move_peer *move_peers;
	size_t nmove_peers;
	const sk_seckey *key; /* moves: signs a move's verification */
} agent_exec_opts;

/* Apply plan to every database in opts. Blocks until each database has
 * succeeded or failed (or *stop became non-zero). Returns SK_OK when all
 * succeeded; otherwise the error of the first database that failed (in
 * config order), with err naming region, database, step and SQLSTATE. */
int agent_exec_run(const sk_plan *plan, const agent_exec_opts *opts,
    sk_err *err) SK_WARN_UNUSED;

#endif

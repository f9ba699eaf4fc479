/* agent_step: one step's run in one database, and the table of function
 * pointers each step kind fills (agent/kinds/, one file per kind).
 *
 * The executor (apply), the rehearsal and the rollback never ask what
 * kind a step is: they look up its agent_step_kind (agent_kinds.h) and
 * call apply, rehearse or revert through the retry engine
 * (agent_retry.h). A kind's functions build on the helpers below, which
 * do what every kind needs the same way: begin the step's transaction,
 * evaluate and report checks, run a statement watched, write the ledger
 * row. docs/adding-a-step-kind.md walks through adding a kind.
 *
 * One agent_step_run per step and call, used by the database's thread.
 */
#ifndef AGENT_STEP_H
#define AGENT_STEP_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_db.h"
#include "agent_retry.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_wire.h"

/* One step's run across its attempts (or a phase's checks: step NULL). */
typedef struct agent_step_run {
	agent_attempts a; /* attempts, lock waits, blockers */
	const agent_db_ctx *c;
	const sk_step *step; /* NULL: a phase's checks, under a.limits */
	size_t i;            /* the step's index in the plan */
	/* A rehearsal does not retry: a lock timeout becomes SK_ELOCK at
	 * once, naming the blocker. */
	bool no_retry;
	int pid; /* backend of the open transaction; 0 when none or unknown */
	/* The current attempt's check results (pre, body, post). */
	sk_check_result *res;
	size_t nres, capres;
	int64_t rows;       /* rows changed by the attempt; -1: none counted */
	int64_t started_ms; /* wall clock, first attempt */
	char note[256];     /* what the step did besides its SQL */
	bool recorded_meanwhile; /* pooled: another agent ran it meanwhile */
	/* A backfill's figures, reported with STEP_FINISHED (and
	 * STEP_REHEARSED): keys covered, batches, the estimated rows of its
	 * key range, time it waited for throttles, by reason. */
	int64_t rows_scanned;
	int64_t batches;
	int64_t rows_total;
	int64_t throttled_ms;
	char throttled_by[160];
	/* moves: a move_tenant step's figures, sent with each report of the
	 * step (agent_step_emit); NULL for other kinds. */
	const sk_move_report *move;
	sk_move_report move_fig; /* where a move kind keeps them */
	/* A phase's checks (step NULL): which, and when ("pre", "post"). */
	const sk_check *phase_checks;
	size_t nphase_checks;
	const char *phase_when;
} agent_step_run;

/* What a kind does in each mode. Each function gets the step's run with
 * s->c connected and outside a transaction unless said otherwise, and
 * leaves no transaction open. Errors carry no "apply step ..." prefix:
 * the caller adds where. */
typedef struct agent_step_kind {
	const char *name; /* "sql", "concurrent", "check" */
	/* Whether the step's effects commit with its ledger row, so that
	 * it runs exactly once; otherwise it may run again after a crash
	 * between the two, and must be idempotent. */
	bool transactional;
	/* One attempt at applying: the work, the step's checks and its
	 * ledger row (agent_step_record), committed together when
	 * transactional. A lock conflict rolls back and is returned: the
	 * engine retries. s->recorded_meanwhile set and SK_OK: another
	 * agent recorded the step first (pooled). */
	int (*apply)(agent_step_run *s, sk_err *err);
	/* Rehearse inside the rehearsal's open transaction, under a
	 * savepoint, after the step's pre-checks: the work and its checks,
	 * all rolled back later. NULL: the kind cannot be rehearsed;
	 * describe says why. */
	int (*rehearse)(agent_step_run *s, sk_err *err);
	/* Why a step of the kind is not rehearsed (rehearse == NULL), into
	 * buf. pre_checked: its pre-checks were. */
	void (*describe)(const sk_step *step, bool pre_checked, char *buf, size_t len);
	/* Every script apply or rehearse sends inside a transaction of
	 * skein's (the step's SQL, verify, checks), so that a rehearsal can
	 * refuse transaction control before it runs anything: fn(arg, sql,
	 * what) for each. */
	void (*scripts)(const sk_step *step,
	    void (*fn)(void *arg, const char *sql, const char *what), void *arg);
	/* Whether a rollback needs the step's revert script; false: the
	 * kind changes nothing that a rollback must undo. */
	bool needs_revert;
	/* One attempt at reverting: the revert with the ledger change
	 * (agent_step_record_revert), committed together when
	 * transactional. */
	int (*revert)(agent_step_run *s, sk_err *err);
	/* flags: a rollback reverts steps of the kind in a pass of their own
	 * before any other revert, in every region (a flag flip takes the
	 * traffic off what the reverts then change). */
	bool flips_first;
	/* One attempt at undoing what a step of the kind left in the
	 * database without being recorded (an expand stopped in its
	 * backfill: its column and sync trigger are there, its ledger row
	 * is not): in a transaction of its own, committed. SK_ENOTFOUND,
	 * with no transaction open, when it left nothing. NULL: the kind
	 * leaves nothing behind unrecorded. */
	int (*undo_unrecorded)(agent_step_run *s, sk_err *err);
} agent_step_kind;

/* Set s up for step i of c's plan (i == SIZE_MAX and limits: a phase's
 * checks) with room for every check result the step can produce; no
 * retries when no_retry. SK_ENOMEM; on failure nothing is held. */
int agent_step_run_init(agent_step_run *s, const agent_db_ctx *c, size_t i,
    const sk_step *limits, bool no_retry, sk_err *err) SK_WARN_UNUSED;

/* Free what init took. Accepts a zeroed s. */
void agent_step_run_fini(agent_step_run *s);

/* Run fn (a kind's apply or revert, or agent_step_phase_checks) through
 * the retry engine (agent_retry), each attempt starting with no check
 * results and no rows. Errors as agent_retry's. */
int agent_step_retry(agent_step_run *s, int (*fn)(agent_step_run *, sk_err *),
    sk_err *err) SK_WARN_UNUSED;

/* One attempt at a phase's checks (s->phase_checks): in a transaction
 * under s->a.limits that is always rolled back. SK_ECHECK for the first
 * that did not hold. */
int agent_step_phase_checks(agent_step_run *s, sk_err *err) SK_WARN_UNUSED;

/* Begin the step's transaction (agent_tx_begin with its limits) and learn
 * its backend pid (s->pid). On failure no transaction is open. */
int agent_step_begin(agent_step_run *s, sk_err *err) SK_WARN_UNUSED;

/* agent_step_begin for applying the step: through a pooler, look at the
 * ledger again under the transaction's lock: a step recorded meanwhile
 * with this checksum sets s->recorded_meanwhile (the transaction stays
 * open; the caller rolls back), with another checksum fails with
 * SK_EDRIFT. */
int agent_step_begin_apply(agent_step_run *s, sk_err *err) SK_WARN_UNUSED;

/* Evaluate checks in the open transaction (when "pre", "check", "post"),
 * each watched like the step's SQL, reporting each result and keeping it
 * in s->res. All are evaluated; SK_ECHECK for the first that did not
 * hold. A check whose query fails returns that error (the transaction is
 * then aborted); with no_retry a lock timeout becomes SK_ELOCK "check
 * NAME (WHEN): lock timeout after N ms; blocked by ...". */
int agent_step_checks(agent_step_run *s, const sk_check *checks, size_t n,
    const char *when, sk_err *err) SK_WARN_UNUSED;

/* The step's pre checks, before a kind that works outside the step's
 * transaction (a move, a purge) changes anything: in a transaction of
 * their own, rolled back. SK_OK when there are none. */
int agent_step_pre_checks_alone(agent_step_run *s, sk_err *err) SK_WARN_UNUSED;

/* Run sql on the step's connection, watched (s->pid). Rows changed are
 * added to s->rows. With no_retry a lock timeout becomes SK_ELOCK "lock
 * timeout after N ms; blocked by ..." with a hint to rehearse again. */
int agent_step_sql(agent_step_run *s, const char *sql, sk_err *err) SK_WARN_UNUSED;

/* Add what and then arg, as they are (the caller puts the space between
 * them), to the step's note, "; "-separated; the same twice is said once. */
void agent_step_note(agent_step_run *s, const char *what, const char *arg);

/* The step's ledger row (figures of s) and its check results, in the open
 * transaction, or outside one each committing on its own. */
int agent_step_record(agent_step_run *s, bool transactional, sk_err *err) SK_WARN_UNUSED;

/* COMMIT the open transaction. */
int agent_step_commit(agent_step_run *s, sk_err *err) SK_WARN_UNUSED;

/* The ledger change of a revert (the step's row moves to skein.reverts),
 * in the open transaction or, outside one, in its own. */
int agent_step_record_revert(
    agent_step_run *s, int64_t duration_ms, sk_err *err) SK_WARN_UNUSED;

/* One attempt at applying a transactional step, the way the kinds whose
 * work commits with their ledger row go: agent_step_begin_apply (a step
 * another agent recorded meanwhile: rolled back, SK_OK), the step's pre
 * checks, work(s, arg, err) (NULL: none), its post checks, its ledger row
 * (agent_step_record) and COMMIT. On failure everything is rolled back
 * and the error returned. */
int agent_step_apply_with(agent_step_run *s,
    int (*work)(agent_step_run *s, void *arg, sk_err *err), void *arg,
    sk_err *err) SK_WARN_UNUSED;

/* The same, with the step's pre and post checks only when checks (a
 * move step records itself without them outside its target region). */
int agent_step_apply_checked(agent_step_run *s,
    int (*work)(agent_step_run *s, void *arg, sk_err *err), void *arg,
    bool checks, sk_err *err) SK_WARN_UNUSED;

/* One attempt at reverting, the way every kind's revert goes: in one
 * transaction of the step's (agent_step_begin), the step's revert script
 * when it has one (it must leave the transaction open), then also(s,
 * arg, err) when not NULL (what the kind undoes beside it), the ledger
 * change (agent_step_record_revert) and COMMIT. On failure everything is
 * rolled back and the error returned. */
int agent_step_revert_with(agent_step_run *s,
    int (*also)(agent_step_run *s, void *arg, sk_err *err), void *arg,
    sk_err *err) SK_WARN_UNUSED;

/* Report event for the step with s's figures: rows, lock waits, and the
 * blockers with STEP_FINISHED, STEP_FAILED and STEP_REVERTED; detail
 * (NULL: s->note when set) and err may be NULL. */
void agent_step_emit(agent_step_run *s, int event, int64_t duration_ms,
    const char *detail, const sk_err *err);

/* For a kind's scripts: fn(arg, check's SQL, "check NAME") for each of
 * the n checks. */
void agent_step_scripts_checks(const sk_check *checks, size_t n,
    void (*fn)(void *arg, const char *sql, const char *what), void *arg);

/* Fail with SK_EINVAL ("WHAT:LINE: COMMIT would end or split skein's
 * transaction") when sql holds transaction control (COMMIT, ROLLBACK,
 * SAVEPOINT, PREPARE TRANSACTION, ...); a script that does not parse
 * fails too (sk_sql_parse's error). NULL sql passes. */
int agent_step_refuse_tx_control(
    const char *sql, const char *what, sk_err *err) SK_WARN_UNUSED;

#endif

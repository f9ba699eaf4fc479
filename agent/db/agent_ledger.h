/* agent_ledger: the record, kept in each managed database, of which plan
 * steps ran there (DESIGN.md decision 5).
 *
 * The ledger lives in schema `skein`, which the agent creates and upgrades
 * itself (version 2):
 *
 *   skein.meta    (key text PRIMARY KEY, value text)   -- 'schema_version'
 *   skein.steps   (plan_name, step_id, checksum, plan_id, rollout_id,
 *                  region, kind, transactional, started_at, finished_at,
 *                  duration_ms, rows, attempts, lock_waits, lock_wait_ms,
 *                  blockers, PRIMARY KEY (plan_name, step_id))
 *   skein.events  (id bigserial, at, plan_name, plan_id, rollout_id, region,
 *                  step_id, event, sqlstate, message, detail)
 *   skein.checks  (id bigserial, at, plan_name, plan_id, rollout_id, region,
 *                  database, phase, step_id, mode, "when", name, passed,
 *                  seen, expected)                      -- v2
 *   skein.backups (id bigserial, at, plan_name, plan_id, rollout_id, region,
 *                  database, path, size, duration_ms, restore_command) -- v2
 *   skein.reverts (id bigserial, at, plan_name, step_id, checksum,
 *                  applied_rollout_id, applied_at, rollout_id, region,
 *                  duration_ms)                         -- v2
 *   skein.backfills (plan_name, step_id, worker, checksum, rollout_id,
 *                  key_columns, range_lo, range_hi, last_key, done,
 *                  rows_total, rows_done, rows_scanned, batches,
 *                  throttled_ms, started_at, updated_at,
 *                  PRIMARY KEY (plan_name, step_id, worker)) -- v3
 *   skein.expansions (plan_name, step_id, relid, table_name, column_name,
 *                  from_column, trigger_name, function_name, completed_at,
 *                  contracted_at, PRIMARY KEY (plan_name, step_id)) -- v3
 *   skein.moves   (move_id PRIMARY KEY, role, tenant_column, tenant_value,
 *                  from_region, to_region, state, position, round_upto,
 *                  last_seq, verify_position, started_at, updated_at) -- v5
 *   skein.move_changes (move_id, seq bigserial, xid xid8, tbl, op,
 *                  old_key jsonb, new_row jsonb,
 *                  PRIMARY KEY (move_id, seq))          -- v5
 *   and the trigger functions skein.move_capture, move_guard,
 *   move_truncate_guard, move_target_guard (agent/move/)  -- v5
 *
 * skein.backfills holds each backfill's checkpoints (agent_checkpoint.h):
 * one row per worker, advanced in the transaction of each batch.
 *
 * skein.steps holds the steps whose effects are in the database now: a
 * rollback moves a step's row to skein.reverts in the revert's own
 * transaction, so the step can be applied again later.
 *
 * A step is identified by (plan name, step id) and fingerprinted by the hex
 * of its checksum. A transactional step's row is inserted in the step's own
 * transaction, so the row exists exactly when the step's effects do.
 * Events (failures, interrupted attempts, drift) are written outside any
 * failed transaction so that they survive it.
 *
 * Every statement here is schema-qualified and parameterised; nothing is
 * built from input. Functions take a connection made by sk_pg_connect and
 * are as thread-safe as that connection (one thread per connection).
 */
#ifndef AGENT_LEDGER_H
#define AGENT_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "sk_err.h"
#include "sk_plan.h"
#include "sk_wire.h"

/* The ledger schema version this agent creates and understands. */
#define AGENT_LEDGER_VERSION 6

/* The session advisory lock that one agent holds on a database while it
 * applies a plan there: "skeinldg" as a big-endian 64-bit integer. The
 * same key is taken per transaction while the schema is upgraded. */
#define AGENT_LEDGER_LOCK_KEY INT64_C(0x736b65696e6c6467)

/* Hex of a step checksum, NUL-terminated. */
#define AGENT_LEDGER_HEX_LEN (SK_CHECKSUM_LEN * 2 + 1)

/* One row of skein.steps. Strings are borrowed; NULL or "" is stored as
 * NULL (except the key columns, which must be set). */
typedef struct agent_ledger_step {
	const char *plan_name;
	const char *step_id;
	const char *checksum_hex;
	const char *plan_id;
	const char *rollout_id;
	const char *region;
	const char *kind; /* "sql" */
	bool transactional;
	int64_t started_ms; /* wall clock, ms since the epoch */
	int64_t finished_ms;
	int64_t rows;         /* < 0: unknown, stored as NULL */
	uint32_t attempts;    /* times started; 0: unknown, stored as NULL */
	uint32_t lock_waits;  /* lock timeouts met before it succeeded */
	int64_t lock_wait_ms; /* time spent in them */
	const char *blockers; /* agent_blockers_format of the last blockers */
} agent_ledger_step;

/* One row of skein.events. Strings are borrowed; NULL or "" is stored as
 * NULL. */
typedef struct agent_ledger_event {
	const char *plan_name;
	const char *plan_id;
	const char *rollout_id;
	const char *region;
	const char *step_id;
	const char *event; /* "step-failed", "step-interrupted", "drift" */
	const char *sqlstate;
	const char *message;
	const char *detail;
} agent_ledger_event;

/* One check result for skein.checks. Strings are borrowed; NULL or "" is
 * stored as NULL. */
typedef struct agent_ledger_check {
	const char *plan_name, *plan_id, *rollout_id, *region, *phase, *step_id;
	const sk_check_result *result;
	const char *database; /* agent.yaml's name; NULL: current_database() */
	const char *mode;     /* "apply" (when NULL) or "rollback" */
} agent_ledger_check;

/* Create the ledger schema, or upgrade it to AGENT_LEDGER_VERSION. Each
 * upgrade runs in its own transaction together with the new
 * schema_version, under the ledger advisory lock taken per transaction, so
 * that two agents never upgrade at once (callers normally hold the session
 * lock already; taking it again in the same session does not block). A
 * ledger that is already current costs one query and takes no lock. Must
 * be called outside a transaction. Fails with SK_ESTATE if the database
 * holds a newer schema version than this agent knows, SK_ESQL or SK_ECONN
 * on database errors; a failed upgrade leaves the previous version intact.
 * On success *version (may be NULL) is the version found before. */
int agent_ledger_ensure(PGconn *conn, int *version, sk_err *err) SK_WARN_UNUSED;

/* The schema version recorded in the database, 0 when there is no ledger.
 * SK_ESTATE if skein.meta exists but its version is missing or garbled. */
int agent_ledger_version(PGconn *conn, int *version, sk_err *err) SK_WARN_UNUSED;

/* Whether the database has a ledger, and its version (0 without one;
 * version may be NULL). Read-only: never creates anything, so rehearsal
 * can use it. SK_ESTATE for a garbled skein.meta, as agent_ledger_version. */
int agent_ledger_exists(PGconn *conn, bool *exists, int *version, sk_err *err) SK_WARN_UNUSED;

/* Whether table (schema-qualified, e.g. "skein.expansions") exists,
 * into *present; what names the question in errors. Asking the catalog
 * first keeps readers from raising 42P01 on a database without (this
 * version of) the ledger, which would abort the caller's transaction. */
int agent_ledger_has_table(PGconn *conn, const char *what, const char *table,
    bool *present, sk_err *err) SK_WARN_UNUSED;

/* Look up the recorded checksum of (plan_name, step_id). On success
 * *found tells whether a row exists and, if so, hex receives its checksum
 * (truncated to AGENT_LEDGER_HEX_LEN - 1 characters). A database without
 * a ledger has no rows: *found is false, nothing is created, and an open
 * transaction stays usable. */
int agent_ledger_lookup(PGconn *conn, const char *plan_name, const char *step_id,
    bool *found, char hex[AGENT_LEDGER_HEX_LEN], sk_err *err) SK_WARN_UNUSED;

/* Insert step's row. For a transactional step call it inside the step's
 * open transaction, before COMMIT; otherwise it commits on its own. A
 * second row for the same (plan_name, step_id) fails with SQLSTATE 23505. */
int agent_ledger_record_step(
    PGconn *conn, const agent_ledger_step *step, sk_err *err) SK_WARN_UNUSED;

/* The step ids of plan_name recorded in skein.steps, in the order they
 * finished (for rollback, which reverts them last first). None, without
 * error, when the database has no ledger. On success *step_ids is a new
 * array of new strings (free with sk_strv_free; NULL when
 * *n is 0); on failure *step_ids is NULL and *n 0. */
int agent_ledger_applied(PGconn *conn, const char *plan_name, char ***step_ids,
    size_t *n, sk_err *err) SK_WARN_UNUSED;

/* Insert one check result into skein.checks, in whatever transaction is
 * open (it then commits or rolls back with it) or on its own. */
int agent_ledger_record_check(
    PGconn *conn, const agent_ledger_check *c, sk_err *err) SK_WARN_UNUSED;

/* Insert a verified backup into skein.backups (on its own or in the open
 * transaction); its database column is current_database(). */
int agent_ledger_record_backup(PGconn *conn, const char *plan_name,
    const char *plan_id, const char *rollout_id, const char *region,
    const sk_backup_info *b, sk_err *err) SK_WARN_UNUSED;

/* Record that step_id of plan_name was reverted by rollout_id (the
 * rollback's) in duration_ms: in the caller's open transaction (the one
 * that ran the revert script), move the step's row from skein.steps to
 * skein.reverts, keeping its checksum and the rollout that applied it.
 * SK_ENOTFOUND, changing nothing, when the step is not recorded. */
int agent_ledger_revert_step(PGconn *conn, const char *plan_name,
    const char *step_id, const char *rollout_id, const char *region,
    int64_t duration_ms, sk_err *err) SK_WARN_UNUSED;

/* Insert an event row. Call it outside any transaction that failed (an
 * aborted transaction rejects every statement until ROLLBACK). */
int agent_ledger_record_event(
    PGconn *conn, const agent_ledger_event *ev, sk_err *err) SK_WARN_UNUSED;

#endif

/* agent_exec: applies one verified plan to every database an agent
 * manages, with the ledger making each step run exactly once.
 *
 * For each database (up to `parallel` at once, one connection and thread
 * each) the executor connects, retrying with capped exponential backoff
 * while the database is unreachable; takes skein's session advisory lock;
 * creates or upgrades the `skein` ledger schema; then walks the steps in
 * order. A step already in the ledger with the same checksum is skipped;
 * with another checksum the database fails with SK_EDRIFT naming both
 * checksums. A transactional step runs with its verify script and its
 * ledger row in one transaction. The first failing step stops that
 * database; other databases continue.
 *
 * Progress is emitted through the report callback (DB_WAITING, DB_STARTED,
 * STEP_STARTED, STEP_FINISHED, STEP_SKIPPED, STEP_FAILED, DB_FINISHED,
 * DB_FAILED). The callback may be called from several threads at once and
 * must be thread-safe; it must not block for long.
 */
#ifndef AGENT_EXEC_H
#define AGENT_EXEC_H

#include <stdatomic.h>
#include <stddef.h>

#include "sk_config.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_wire.h"

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
} agent_exec_opts;

/* Apply plan to every database in opts. Blocks until each database has
 * succeeded or failed (or *stop became non-zero). Returns SK_OK when all
 * succeeded; otherwise the error of the first database that failed (in
 * config order), with err naming region, database, step and SQLSTATE. */
int agent_exec_run(const sk_plan *plan, const agent_exec_opts *opts,
    sk_err *err) SK_WARN_UNUSED;

#endif

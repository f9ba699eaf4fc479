/* agent_kinds: the step kinds this agent knows, one file each, and the
 * one place that says which kind runs a step. Adding a kind adds a file
 * here, a row below and a row in common/plan/sk_step.c
 * (docs/adding-a-step-kind.md).
 */
#ifndef AGENT_KINDS_H
#define AGENT_KINDS_H

#include "agent_step.h"
#include "sk_plan.h"

/* SQL in the step's transaction with its checks and ledger row. */
extern const agent_step_kind agent_kind_sql;
/* SQL outside a transaction (CREATE INDEX CONCURRENTLY, ...). */
extern const agent_step_kind agent_kind_concurrent;
/* Checks only: the step holds when they do. */
extern const agent_step_kind agent_kind_check;
/* An UPDATE in batches, resumable and throttled (agent_backfill.h). */
extern const agent_step_kind agent_kind_backfill;
/* A new column kept in step with an old one by a trigger, backfilled. */
extern const agent_step_kind agent_kind_expand;
/* The end of an expand: its trigger and the old column dropped. */
extern const agent_step_kind agent_kind_contract;

/* A feature flag set for tenants, restored by its revert (flags). */
extern const agent_step_kind agent_kind_flag;
/* One tenant's rows moved to another region, run in the target region
 * (moves, docs/moves.md). */
extern const agent_step_kind agent_kind_move;
/* moves: purge_tenant, the rows a moved tenant left behind, deleted */
extern const agent_step_kind agent_kind_purge;

/* The kind that runs step (a SQL step with no_transaction runs as
 * "concurrent"), or NULL for a kind this agent does not know. */
const agent_step_kind *agent_step_kind_of(const sk_step *step);

/* Why this agent refuses step, for which agent_step_kind_of gave NULL,
 * into buf (always NUL-terminated): "K steps are not run by this agent
 * version" for a kind the plan library knows but no file of this agent
 * runs (none today); "this agent does not know step kind N" for any
 * other. */
void agent_step_kind_refusal(const sk_step *step, char *buf, size_t len);

#endif

/* agent_rollback: a rollback in one database. The revert scripts of the
 * steps the ledger records run last step first, each committing together
 * with the move of its ledger row from skein.steps to skein.reverts, so
 * that the plan can be applied again afterwards. Everything that would
 * make the rollback stop half-way for want of a script is checked before
 * the first revert runs.
 */
#include "agent_modes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_checkpoint.h"
#include "agent_kinds.h"
#include "agent_ledger.h"
#include "agent_locks.h"
#include "agent_step.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_sql.h"
#include "sk_util.h"

static size_t
step_index(const sk_plan *plan, const char *id)
{
	for (size_t i = 0; i < plan->nsteps; i++)
		if (strcmp(plan->steps[i].id, id) == 0)
			return i;
	return plan->nsteps;
}

/* flags: whether step's kind is reverted in the flags-first pass. */
static bool
flips_first(const sk_step *step)
{
	const agent_step_kind *kind = agent_step_kind_of(step);

	return kind != NULL && kind->flips_first;
}

/* Append ", id" (or "id") to a list buffer. */
static void
list_add(char *buf, size_t len, const char *id)
{
	size_t used = strlen(buf);

	if (used + 1 < len)
		snprintf(buf + used, len - used, "%s%s", used > 0 ? ", " : "", id);
}

/* Everything that must hold before the first revert runs, so that a
 * refused rollback changes nothing: every recorded step is in this plan,
 * with the checksum it was applied with, and has a revert script free of
 * transaction control. Fills recorded. */
static int
rollback_preconditions(const agent_db_ctx *c, bool *recorded, sk_err *err)
{
	const sk_plan *plan = c->plan;
	char **ids = NULL, hex[AGENT_LEDGER_HEX_LEN];
	char unknown[256] = "", norevert[256] = "";
	size_t n = 0, idx;
	bool found;
	int rc;

	rc = agent_ledger_applied(c->conn, plan->name, &ids, &n, err);
	if (rc != SK_OK)
		return rc;
	for (size_t k = 0; k < n; k++) {
		idx = step_index(plan, ids[k]);
		if (idx == plan->nsteps) {
			/* flags: the flags-first pass leaves the rest, and
			 * what is not in the plan, to the full pass. */
			if (!c->flags_only)
				list_add(unknown, sizeof(unknown), ids[k]);
		} else if (!c->flags_only || flips_first(&plan->steps[idx])) {
			recorded[idx] = true;
		}
	}
	sk_strv_free(ids, n);
	for (size_t i = 0; rc == SK_OK && i < plan->nsteps; i++) {
		const sk_step *step = &plan->steps[i];
		const agent_step_kind *kind = agent_step_kind_of(step);
		char what[SK_NAME_MAX + 32];

		if (!recorded[i])
			continue;
		if (kind == NULL) {
			sk_err_set(err, SK_EINVAL,
			    "step %s is of kind %d, which this agent does not know",
			    step->id, step->kind);
			snprintf(err->hint, sizeof(err->hint), "upgrade skein-agent");
			return SK_EINVAL;
		}
		rc = agent_ledger_lookup(
		    c->conn, plan->name, step->id, &found, hex, err);
		if (rc != SK_OK)
			return rc;
		if (found && strcmp(hex, c->hex[i]) != 0 &&
		    !(c->text_hex != NULL && c->text_hex[i][0] != '\0' &&
			strcmp(hex, c->text_hex[i]) == 0)) {
			sk_err_set(err, SK_EDRIFT,
			    "step %s is recorded with checksum %.16s... but the "
			    "plan has %.16s...: its revert script belongs to other "
			    "SQL",
			    step->id, hex, c->hex[i]);
			snprintf(err->detail, sizeof(err->detail),
			    "ledger checksum %s, plan checksum %s", hex, c->hex[i]);
			snprintf(err->hint, sizeof(err->hint),
			    "roll back with the plan that applied the step");
			return SK_EDRIFT;
		}
		if (step->revert == NULL) {
			if (kind->needs_revert)
				list_add(norevert, sizeof(norevert), step->id);
			continue;
		}
		/* A non-transactional revert runs statement by statement
		 * outside a transaction; transaction control is refused in
		 * either kind, and a script that does not parse is refused
		 * before anything runs. */
		snprintf(what, sizeof(what), "%s",
		    step->revert_path != NULL ? step->revert_path : "revert");
		rc = agent_step_refuse_tx_control(step->revert, what, err);
		if (rc != SK_OK)
			return sk_err_wrap(err, "step %s", step->id);
	}
	if (unknown[0] == '\0' && norevert[0] == '\0')
		return SK_OK;
	sk_err_set(err, SK_ESTATE, "%s%s%s%s%s",
	    norevert[0] != '\0' ? "no revert script for step " : "", norevert,
	    norevert[0] != '\0' && unknown[0] != '\0' ? "; " : "",
	    unknown[0] != '\0' ? "recorded but not in this plan: step " : "", unknown);
	snprintf(err->hint, sizeof(err->hint),
	    "nothing was reverted; %s, or restore the database from the backup "
	    "taken before the plan",
	    norevert[0] != '\0' ? "add a revert script to each step named" :
				  "roll back with the plan that applied them");
	return SK_ESTATE;
}

/* Revert step i through fn (its kind's revert, or with unrecorded its
 * undo_unrecorded), retrying lock conflicts with the engine's backoff up
 * to the step's lock_retries, and report it. With unrecorded, a step
 * that left nothing gives SK_ENOTFOUND and reports nothing. */
static int
revert_step(const agent_db_ctx *c, size_t i, bool unrecorded, sk_err *err)
{
	const sk_step *step = &c->plan->steps[i];
	const agent_step_kind *kind = agent_step_kind_of(step);
	int64_t t0 = sk_mono_ms();
	agent_step_run s;
	int rc;

	rc = agent_step_run_init(&s, c, i, NULL, false, err);
	if (rc != SK_OK)
		return sk_err_wrap(err, "roll back step %s in %s/%s", step->id,
		    c->region, c->database);
	if (!unrecorded) {
		/* The revert's tables, not the step's, are the ones to look
		 * at for long transactions before each attempt. */
		agent_attempts_lock_sql(&s.a, step->revert);
		agent_step_emit(&s, SK_EV_STEP_STARTED, 0, "revert", NULL);
	}
	rc = agent_step_retry(
	    &s, unrecorded ? kind->undo_unrecorded : kind->revert, err);
	if (s.a.stopped) {
		rc = sk_err_set(err, SK_ESTATE,
		    "roll back plan %s in %s/%s: stopped while the revert of step "
		    "%s waited to retry a lock timeout",
		    c->plan->name, c->region, c->database, step->id);
		goto out;
	}
	if (rc == SK_OK) {
		agent_step_emit(&s, SK_EV_STEP_REVERTED, sk_mono_ms() - t0, NULL, NULL);
		goto out;
	}
	if (rc == SK_ENOTFOUND && unrecorded)
		goto out;
	if (rc == SK_ELOCK)
		snprintf(err->hint, sizeof(err->hint),
		    "end or wait out the blocking session, then roll back "
		    "again: the reverts already done stay done");
	sk_err_wrap(err, "roll back %sstep %s in %s/%s",
	    unrecorded ? "unfinished " : "", step->id, c->region, c->database);
	if (sk_pg_err_is_connection(err))
		goto out;
	agent_db_record_event(c, "revert-failed", step->id, err);
	s.rows = -1;
	agent_step_emit(&s, SK_EV_STEP_FAILED, sk_mono_ms() - t0, "revert", err);
out:
	agent_step_run_fini(&s);
	return rc;
}

/* A revert drops what the step made, data included: when there is a
 * step to revert, the context's guard (the backup) runs first, after the
 * preconditions, so that a refused rollback never costs a backup and a
 * failed backup reverts nothing. */
static int
before_first_revert(const agent_db_ctx *c, const bool *recorded, sk_err *err)
{
	bool any = false;

	for (size_t i = 0; i < c->plan->nsteps && !any; i++)
		any = recorded[i];
	/* flags: a flag's old value is in skein.flag_history; flipping
	 * it back first must not wait for a dump. */
	if (!any || c->before_revert == NULL || c->flags_only)
		return SK_OK;
	return c->before_revert(c->before_revert_arg, err);
}

int
agent_rollback_db(const agent_db_ctx *ctx, sk_err *err)
{
	agent_db_ctx local;
	const agent_db_ctx *c = &local;
	agent_watch watch;
	bool *recorded;
	int rc;

	rc = agent_db_ctx_check(ctx, "roll back", err);
	if (rc != SK_OK)
		return rc;
	recorded = calloc(ctx->plan->nsteps + 1, sizeof(*recorded));
	if (recorded == NULL)
		return sk_err_set(err, SK_ENOMEM,
		    "roll back plan %s in %s/%s: out of memory",
		    ctx->plan->name, ctx->region, ctx->database);
	/* Called without the executor's monitor: keep one of our own. */
	local = *ctx;
	agent_watch_init(&watch, ctx->conninfo, ctx->pooled, ctx->region, ctx->database);
	if (local.watch == NULL)
		local.watch = &watch;
	rc = rollback_preconditions(c, recorded, err);
	if (rc == SK_OK)
		rc = before_first_revert(c, recorded, err);
	if (rc != SK_OK) {
		sk_err_wrap(err, "roll back plan %s in %s/%s%s", c->plan->name,
		    c->region, c->database,
		    sk_pg_err_is_connection(err) ? "" : ": refused");
		goto out;
	}
	for (size_t k = c->plan->nsteps; k > 0; k--) {
		const sk_step *step = &c->plan->steps[k - 1];

		if (!recorded[k - 1]) {
			const agent_step_kind *kind = agent_step_kind_of(step);

			if (c->flags_only)
				continue;
			if (kind != NULL && kind->undo_unrecorded != NULL) {
				rc = revert_step(c, k - 1, true, err);
				if (rc == SK_OK)
					continue;
				if (rc != SK_ENOTFOUND)
					goto out;
				rc = SK_OK;
			}
			agent_db_emit(c, SK_EV_STEP_SKIPPED, step->id, 0, 0, 0,
			    "not in the ledger; nothing to revert", NULL);
			continue;
		}
		if (agent_db_stopped(c)) {
			rc = sk_err_set(err, SK_ESTATE,
			    "roll back plan %s in %s/%s: stopped before step %s",
			    c->plan->name, c->region, c->database, step->id);
			goto out;
		}
		rc = agent_db_hold_while_paused(c, "roll back", step->id, err);
		if (rc == SK_OK)
			rc = revert_step(c, k - 1, false, err);
		if (rc != SK_OK)
			goto out;
	}
	if (c->flags_only)
		goto out;
	/* A backfill the apply left unfinished has checkpoints but no step
	 * to revert: forgotten too, so that an apply after the rollback
	 * starts it over on whatever the reverts left. */
	rc = agent_checkpoint_forget(c->conn, c->plan->name, NULL, err);
	if (rc != SK_OK)
		sk_err_wrap(err,
		    "roll back plan %s in %s/%s: forget its backfill "
		    "checkpoints",
		    c->plan->name, c->region, c->database);
out:
	agent_tx_rollback(c->conn);
	agent_watch_fini(&watch);
	free(recorded);
	return rc;
}

/* agent_exec_step: applying one step, and a phase's checks, in the
 * executor (docs/safety.md). The step's kind does the work
 * (agent/kinds/); the retry engine watches it and retries lock
 * conflicts (agent_retry.h); this file reports the step, names where it
 * failed and records what the ledger must keep of a failure.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_exec_int.h"
#include "agent_kinds.h"
#include "agent_step.h"
#include "sk_log.h"
#include "sk_util.h"

/* "apply step ID in REGION/DB" before err's message. */
static void
wrap_step(db_run *d, const sk_step *step, sk_err *err)
{
	sk_err_wrap(err, "apply step %s in %s/%s", step->id,
	    d->run->opts->region, d->db->name);
}

int
exec_step(db_run *d, size_t i, sk_err *err)
{
	exec_run *run = d->run;
	const agent_db_ctx *c = exec_ctx(d);
	const sk_step *step = &run->plan->steps[i];
	const agent_step_kind *kind = agent_step_kind_of(step);
	int64_t t0 = sk_mono_ms();
	agent_step_run s;
	int rc;

	if (kind == NULL) {
		char why[128];

		agent_step_kind_refusal(step, why, sizeof(why));
		sk_err_set(err, SK_EINVAL, "apply step %s in %s/%s: %s",
		    step->id, run->opts->region, d->db->name, why);
		snprintf(err->hint, sizeof(err->hint),
		    "upgrade skein-agent in region %s", run->opts->region);
		return SK_EINVAL;
	}
	rc = agent_step_run_init(&s, c, i, NULL, false, err);
	if (rc != SK_OK) {
		wrap_step(d, step, err);
		return rc;
	}
	/* Attempts count across sessions: a step cut off by a lost
	 * connection goes on counting when it runs again. */
	s.a.attempt = ++d->attempts[i];
	/* This thread's records name the step until its next (json logs). */
	sk_log_scope(run->opts->rollout_id, step->id);
	agent_step_emit(&s, SK_EV_STEP_STARTED, 0, NULL, NULL);
	rc = agent_step_retry(&s, kind->apply, err);
	d->attempts[i] = s.a.attempt;
	if (s.a.stopped) {
		d->stopped = true;
		wrap_step(d, step, err);
		goto out;
	}
	if (rc == SK_OK && s.recorded_meanwhile) {
		agent_step_emit(&s, SK_EV_STEP_SKIPPED, sk_mono_ms() - t0,
		    "recorded meanwhile by another agent", NULL);
		goto out;
	}
	if (rc == SK_OK) {
		agent_step_emit(&s, SK_EV_STEP_FINISHED, sk_mono_ms() - t0, NULL, NULL);
		goto out;
	}
	if (err->code == SK_ESTATE && exec_stop_requested(run)) {
		/* Stopped while waiting for the pooled ledger lock: the plan
		 * resumes from the ledger next time. */
		d->stopped = true;
		goto out;
	}
	wrap_step(d, step, err);
	if (err->code == SK_ELOCK && err->hint[0] == '\0')
		snprintf(err->hint, sizeof(err->hint),
		    "end or wait out the blocking session (pg_stat_activity), or "
		    "run the step when the table is quieter; raise lock_retries "
		    "only if waiting longer is acceptable");
	if (strcmp(err->sqlstate, "57014") == 0 && err->hint[0] == '\0')
		/* Not retried: the same work would take as long again. */
		snprintf(err->hint, sizeof(err->hint),
		    "a statement of the step ran longer than its statement_timeout "
		    "(%" PRId64 " ms) and was cancelled; it is not retried. Raise "
		    "statement_timeout for the step, or split the work",
		    step->statement_timeout_ms);
	if (sk_pg_err_is_connection(err)) {
		/* Nothing can be recorded now; the next session will. */
		d->interrupted = true;
		snprintf(d->interrupted_step, sizeof(d->interrupted_step), "%s",
		    step->id);
		d->interrupted_err = *err;
		goto out;
	}
	/* The transaction is gone: record what the checks saw, and why. */
	agent_db_record_checks_after(c, step->id, s.res, s.nres);
	agent_db_record_event(c, "step-failed", step->id, err);
	agent_step_emit(&s, SK_EV_STEP_FAILED, sk_mono_ms() - t0, NULL, err);
out:
	agent_step_run_fini(&s);
	return rc;
}

int
exec_run_phase_checks(db_run *d, const sk_check *checks, size_t n,
    const char *when, const sk_step *limits, sk_err *err)
{
	exec_run *run = d->run;
	const agent_db_ctx *c = exec_ctx(d);
	const char *phase =
	    run->phase != NULL && run->phase->name != NULL ? run->phase->name : "-";
	agent_step_run s;
	int rc;

	if (n == 0)
		return SK_OK;
	rc = agent_step_run_init(&s, c, SIZE_MAX, limits, false, err);
	if (rc != SK_OK)
		return sk_err_wrap(err, "apply plan %s in %s/%s",
		    run->plan->name, run->opts->region, d->db->name);
	s.phase_checks = checks;
	s.nphase_checks = n;
	s.phase_when = when;
	rc = agent_step_retry(&s, agent_step_phase_checks, err);
	if (s.a.stopped)
		d->stopped = true;
	if (rc == SK_ELOCK)
		snprintf(err->hint, sizeof(err->hint),
		    "end or wait out the blocking session (pg_stat_activity) and "
		    "run the plan again; the phase %s %s-check uses the "
		    "lock_timeout and lock_retries of step %s",
		    phase, when, limits->id);
	/* A check whose query failed is recorded too: its value seen names
	 * the error. */
	agent_db_record_checks_after(c, NULL, s.res, s.nres);
	if (rc != SK_OK)
		sk_err_wrap(err, "apply plan %s in %s/%s: phase %s %s-check",
		    run->plan->name, run->opts->region, d->db->name, phase, when);
	agent_step_run_fini(&s);
	return rc;
}

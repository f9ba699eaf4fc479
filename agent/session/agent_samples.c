/* agent_samples: the session's side of sampled exit gates: a SAMPLE
 * command's plan verified like a RUN's, its phase checked, and the sample
 * started (agent_sample) with its reports going out through the outbox.
 * Calls point one way: agent_session.c -> agent_samples.c ->
 * agent_runs.c (verification) and agent_outbox.c. */
#include "agent_session_int.h"

#include <stdio.h>

#include "sk_log.h"

static void
sample_report(void *arg, const sk_report *r)
{
	agent_outbox_put(arg, r);
}

int
agent_samples_init(agent_session *s, sk_err *err)
{
	s->sampler = agent_sampler_create(s->cfg, sample_report, s);
	if (s->sampler == NULL)
		return sk_err_set(err, SK_ENOMEM, "start agent: out of memory");
	return SK_OK;
}

/* Refuse cmd with a GATE_SAMPLE report carrying err (logged here). */
static void
refuse(agent_session *s, const sk_command *cmd, const sk_plan *plan, sk_err *err)
{
	sk_report r;

	sk_log_err(SK_LOG_WARN, err);
	agent_sample_refusal(&r, cmd->rollout_id, plan, cmd->sample_phase,
	    cmd->sample_round, err);
	agent_outbox_put(s, &r);
}

void
agent_samples_start(agent_session *s, const sk_command *cmd)
{
	sk_plan *plan = NULL;
	sk_err err;
	int rc;

	sk_err_clear(&err);
	if (agent_runs_verify_plan(s, cmd, &plan, &err) != SK_OK) {
		sk_err_wrap(&err, "sample gate (round %llu)",
		    (unsigned long long)cmd->sample_round);
		refuse(s, cmd, NULL, &err);
		return;
	}
	if (agent_sample_phase_check(
		plan, cmd->sample_phase, s->cfg->region, &err) != SK_OK) {
		snprintf(err.hint, sizeof(err.hint),
		    "the coordinator asked for a phase this plan does not let "
		    "region %s sample",
		    s->cfg->region);
		refuse(s, cmd, plan, &err);
		sk_plan_destroy(plan);
		return;
	}
	rc = agent_sampler_start(s->sampler, cmd->rollout_id, plan,
	    cmd->sample_phase, cmd->sample_round, s->stop, &err);
	if (rc == SK_ESTATE) {
		/* Sampling takes longer than the interval: this round is
		 * skipped, the running one answers. */
		sk_debug("%s", err.msg);
		sk_plan_destroy(plan);
	} else if (rc != SK_OK) {
		refuse(s, cmd, plan, &err);
		sk_plan_destroy(plan);
	}
}

void
agent_samples_join(agent_session *s)
{
	agent_sampler_join(s->sampler);
}

void
agent_samples_fini(agent_session *s)
{
	agent_sampler_destroy(s->sampler);
	s->sampler = NULL;
}

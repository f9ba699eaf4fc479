/* agent_sample: the agent's side of a sampled exit gate. On a SAMPLE
 * command it samples one phase of a verified plan once — each gate check
 * and each health signal in each database, the "http" probe once — and
 * hands one GATE_SAMPLE report per item per database to a callback. Each
 * sample runs in a thread of its own, on connections of its own, so that
 * it never waits for (or holds up) a rollout's steps; a sample still
 * running for a rollout makes the next one for it a no-op.
 */
#ifndef AGENT_SAMPLE_H
#define AGENT_SAMPLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_config.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_wire.h"

/* Receives each report (the callee copies it); called from the sample's
 * thread. */
typedef void (*agent_sample_report_fn)(void *arg, const sk_report *r);

typedef struct agent_sampler agent_sampler;

/* A sampler for the agent of cfg (its databases and health_probe; cfg
 * must outlive it), reporting through fn(arg). NULL when out of memory.
 * agent_sampler_destroy joins every sample thread first (each ends within
 * the time limits of its statements and probe) and accepts NULL. */
agent_sampler *agent_sampler_create(
    const sk_agent_config *cfg, agent_sample_report_fn fn, void *arg);
void agent_sampler_destroy(agent_sampler *s);

/* Whether phase (an index into plan->phases) is one this agent can
 * sample: it exists, holds region, and has gate checks or health signals.
 * Otherwise SK_EINVAL naming the phase and region. */
int agent_sample_phase_check(const sk_plan *plan, uint32_t phase,
    const char *region, sk_err *err) SK_WARN_UNUSED;

/* Start sampling phase of plan (a verified plan this agent may sample:
 * agent_sample_phase_check) once for rollout_id, answering round, in a
 * new thread; a sample is cut short (its remaining items unreported) once
 * *stop is set (stop may be NULL). On SK_OK the sampler owns plan; on any
 * other return the caller still does. Returns SK_ESTATE, doing nothing,
 * when a sample of rollout_id is still running; SK_ENOMEM when no thread
 * can be started. Thread-safe. */
int agent_sampler_start(agent_sampler *s, const char *rollout_id, sk_plan *plan,
    uint32_t phase, uint64_t round, atomic_int *stop, sk_err *err) SK_WARN_UNUSED;

/* Wait for every sample running now to end. Thread-safe. */
void agent_sampler_join(agent_sampler *s);

/* A GATE_SAMPLE report of rollout_id (plan may be NULL), phase and round
 * carrying no item and err: the SAMPLE was refused (an unverifiable plan,
 * a phase it cannot sample). */
void agent_sample_refusal(sk_report *r, const char *rollout_id,
    const sk_plan *plan, uint32_t phase, uint64_t round, const sk_err *err);

#endif

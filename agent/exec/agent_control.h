/* agent_control: what the agent's session tells a rollout while it runs,
 * between the commands that start one: the operator's pause, a running
 * backfill's new limits, and when the coordinator was last heard from
 * (a backfill's dead-man pause). One per running rollout, owned by the
 * session; read by the rollout's database threads at batch and step
 * boundaries. Every function is thread-safe.
 */
#ifndef AGENT_CONTROL_H
#define AGENT_CONTROL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* New limits for a running backfill. A field left at its "unchanged"
 * value keeps what the plan (or an earlier tune) said. */
typedef struct agent_tune {
	double max_rows_per_second; /* < 0: unchanged; 0: no limit */
	int64_t batch_min;          /* 0: unchanged */
	int64_t batch_max;          /* 0: unchanged */
} agent_tune;

typedef struct agent_control {
	atomic_int paused;          /* the operator paused the rollout */
	atomic_llong last_heard_ms; /* sk_mono_ms of the coordinator's last reply */
	pthread_mutex_t mu;
	agent_tune tune;   /* under mu: every tune so far, merged */
	uint64_t tune_seq; /* under mu: bumped by each tune */
	/* stopline: the operator aborted the rollout; and the dead-man
	 * limit of every step (agent.yaml dead_man; 0 off). */
	atomic_int aborted;
	atomic_llong dead_man_ms;
} agent_control;

/* Not paused, nothing tuned, heard from now. */
void agent_control_init(agent_control *c);
void agent_control_fini(agent_control *c);

/* Pause (true) or resume (false). */
void agent_control_set_paused(agent_control *c, bool paused);

/* Whether the operator paused the rollout; false for NULL c. */
bool agent_control_paused(agent_control *c);

/* stopline: the rollout was aborted: no step starts. Set, never
 * cleared. aborted: false for NULL c. */
void agent_control_set_aborted(agent_control *c);
bool agent_control_aborted(agent_control *c);

/* stopline: no step starts while the coordinator has been silent for
 * longer than ms (0: never; the default). dead_man: 0 for NULL c. */
void agent_control_set_dead_man(agent_control *c, int64_t ms);
int64_t agent_control_dead_man(agent_control *c);

/* The coordinator answered now. */
void agent_control_heard(agent_control *c);

/* How long since the coordinator was last heard from, ms; 0 for NULL c. */
int64_t agent_control_silence_ms(agent_control *c);

/* Merge t into the limits (fields at their "unchanged" value are
 * skipped) and bump the sequence. */
void agent_control_tune(agent_control *c, const agent_tune *t);

/* The merged limits and their sequence (0: never tuned) into *t and
 * *seq; a NULL c gives the unchanged limits and 0. */
void agent_control_get_tune(agent_control *c, agent_tune *t, uint64_t *seq);

#endif

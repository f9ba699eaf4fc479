/* agent_control: the session's word to a running rollout
 * (agent_control.h). */
#include "agent_control.h"

#include "sk_util.h"

static const agent_tune unchanged = { -1, 0, 0 };

void
agent_control_init(agent_control *c)
{
	atomic_init(&c->paused, 0);
	atomic_init(&c->last_heard_ms, sk_mono_ms());
	pthread_mutex_init(&c->mu, NULL);
	c->tune = unchanged;
	c->tune_seq = 0;
	atomic_init(&c->aborted, 0);
	atomic_init(&c->dead_man_ms, 0);
}

void
agent_control_set_aborted(agent_control *c)
{
	atomic_store(&c->aborted, 1);
}

bool
agent_control_aborted(agent_control *c)
{
	return c != NULL && atomic_load(&c->aborted) != 0;
}

void
agent_control_set_dead_man(agent_control *c, int64_t ms)
{
	atomic_store(&c->dead_man_ms, ms > 0 ? ms : 0);
}

int64_t
agent_control_dead_man(agent_control *c)
{
	return c != NULL ? atomic_load(&c->dead_man_ms) : 0;
}

void
agent_control_fini(agent_control *c)
{
	pthread_mutex_destroy(&c->mu);
}

void
agent_control_set_paused(agent_control *c, bool paused)
{
	atomic_store(&c->paused, paused ? 1 : 0);
}

bool
agent_control_paused(agent_control *c)
{
	return c != NULL && atomic_load(&c->paused) != 0;
}

void
agent_control_heard(agent_control *c)
{
	atomic_store(&c->last_heard_ms, sk_mono_ms());
}

int64_t
agent_control_silence_ms(agent_control *c)
{
	int64_t d;

	if (c == NULL)
		return 0;
	d = sk_mono_ms() - atomic_load(&c->last_heard_ms);
	return d > 0 ? d : 0;
}

void
agent_control_tune(agent_control *c, const agent_tune *t)
{
	pthread_mutex_lock(&c->mu);
	if (t->max_rows_per_second >= 0)
		c->tune.max_rows_per_second = t->max_rows_per_second;
	if (t->batch_min > 0)
		c->tune.batch_min = t->batch_min;
	if (t->batch_max > 0)
		c->tune.batch_max = t->batch_max;
	c->tune_seq++;
	pthread_mutex_unlock(&c->mu);
}

void
agent_control_get_tune(agent_control *c, agent_tune *t, uint64_t *seq)
{
	if (c == NULL) {
		*t = unchanged;
		*seq = 0;
		return;
	}
	pthread_mutex_lock(&c->mu);
	*t = c->tune;
	*seq = c->tune_seq;
	pthread_mutex_unlock(&c->mu);
}

/* agent_sample: one sample of a phase's exit gate, in a thread of its
 * own: the "http" probe once, then database by database a connection of
 * its own, the gate checks (agent_check, in agent_health's read-only,
 * time-limited transaction) and the health signals (agent_health). */
#include "agent_sample.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_check.h"
#include "agent_health.h"
#include "agent_probe.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_util.h"

#define APPNAME "skein-agent gate sample"

typedef struct sample_job {
	struct agent_sampler *owner;
	char rollout_id[SK_ID_MAX];
	sk_plan *plan;
	uint32_t phase;
	uint64_t round;
	atomic_int *stop;
	pthread_t thread;
	bool done; /* under owner->mu */
} sample_job;

struct agent_sampler {
	const sk_agent_config *cfg;
	agent_sample_report_fn fn;
	void *arg;
	agent_health *health;
	pthread_mutex_t mu; /* guards jobs */
	sample_job **jobs;
	size_t njobs;
	size_t cap;
};

agent_sampler *
agent_sampler_create(const sk_agent_config *cfg, agent_sample_report_fn fn, void *arg)
{
	agent_sampler *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->health = agent_health_create();
	if (s->health == NULL) {
		free(s);
		return NULL;
	}
	s->cfg = cfg;
	s->fn = fn;
	s->arg = arg;
	pthread_mutex_init(&s->mu, NULL);
	return s;
}

static void
job_free(sample_job *j)
{
	sk_plan_destroy(j->plan);
	free(j);
}

/* Join and free the jobs that ended (all of them with all set). The
 * threads are joined outside s->mu, which they take to say they ended. */
static void
reap(agent_sampler *s, bool all)
{
	for (;;) {
		sample_job *j = NULL;

		pthread_mutex_lock(&s->mu);
		for (size_t i = 0; i < s->njobs; i++) {
			if (all || s->jobs[i]->done) {
				j = s->jobs[i];
				s->jobs[i] = s->jobs[--s->njobs];
				break;
			}
		}
		pthread_mutex_unlock(&s->mu);
		if (j == NULL)
			return;
		pthread_join(j->thread, NULL);
		job_free(j);
	}
}

void
agent_sampler_join(agent_sampler *s)
{
	if (s != NULL)
		reap(s, true);
}

void
agent_sampler_destroy(agent_sampler *s)
{
	if (s == NULL)
		return;
	reap(s, true);
	free(s->jobs);
	agent_health_destroy(s->health);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int
agent_sample_phase_check(
    const sk_plan *plan, uint32_t phase, const char *region, sk_err *err)
{
	const sk_phase *ph;
	bool mine = false;

	if (phase >= plan->nphases)
		return sk_err_set(err, SK_EINVAL,
		    "sample phase %u of plan %s in %s: the plan has %zu phases",
		    phase, plan->id, region, plan->nphases);
	ph = &plan->phases[phase];
	for (size_t i = 0; i < ph->nregions; i++)
		mine = mine || strcmp(ph->regions[i], region) == 0;
	if (!mine)
		return sk_err_set(err, SK_EINVAL,
		    "sample phase %s of plan %s in %s: the phase does not hold "
		    "this region",
		    ph->name, plan->id, region);
	if (!sk_phase_samples(ph))
		return sk_err_set(err, SK_EINVAL,
		    "sample phase %s of plan %s in %s: the phase has no gate "
		    "checks or health signals",
		    ph->name, plan->id, region);
	return SK_OK;
}

static void
report_init(sk_report *r, const char *rollout_id, const sk_plan *plan,
    uint32_t phase, uint64_t round, const char *database)
{
	memset(r, 0, sizeof(*r));
	r->event = SK_EV_GATE_SAMPLE;
	snprintf(r->rollout_id, sizeof(r->rollout_id), "%s", rollout_id);
	if (plan != NULL)
		snprintf(r->plan_id, sizeof(r->plan_id), "%s", plan->id);
	snprintf(r->database, sizeof(r->database), "%s", database);
	r->phase = phase;
	r->sample_round = round;
}

void
agent_sample_refusal(sk_report *r, const char *rollout_id, const sk_plan *plan,
    uint32_t phase, uint64_t round, const sk_err *err)
{
	report_init(r, rollout_id, plan, phase, round, "");
	r->error = *err;
}

static bool
stopped(const sample_job *j)
{
	return j->stop != NULL && atomic_load(j->stop);
}

/* A health item's report: its value, or err when it erred. */
static void
send_health(const sample_job *j, const char *database, const char *signal,
    double value, const sk_err *err)
{
	sk_report r;

	report_init(&r, j->rollout_id, j->plan, j->phase, j->round, database);
	r.has_health = true;
	snprintf(r.health.signal, sizeof(r.health.signal), "%s", signal);
	if (err != NULL)
		r.error = *err;
	else
		r.health.value = value;
	j->owner->fn(j->owner->arg, &r);
}

/* A gate check's report: its result, with err when it erred. */
static void
send_check(const sample_job *j, const char *database,
    const sk_check_result *res, const sk_err *err)
{
	sk_report r;

	report_init(&r, j->rollout_id, j->plan, j->phase, j->round, database);
	r.has_check = true;
	r.check = *res;
	if (err != NULL)
		r.error = *err;
	j->owner->fn(j->owner->arg, &r);
}

/* The gate check c in the database of conn: evaluated in a read-only
 * transaction of its own under the sample's statement_timeout. */
static void
sample_check(const sample_job *j, PGconn *conn, const char *database, const sk_check *c)
{
	sk_check_result res;
	sk_err err;
	int rc;

	memset(&res, 0, sizeof(res));
	snprintf(res.name, sizeof(res.name), "%s", c->name);
	snprintf(res.when, sizeof(res.when), "gate");
	sk_err_clear(&err);
	rc = agent_health_begin(conn, AGENT_HEALTH_TIMEOUT_MS, &err);
	if (rc == SK_OK)
		rc = agent_check_eval(conn, c, "gate", &res, &err);
	agent_health_end(conn);
	if (rc != SK_OK) {
		sk_err_wrap(&err, "gate check %s in %s", c->name, database);
		if (res.seen[0] == '\0')
			snprintf(res.seen, sizeof(res.seen), "error %s", err.sqlstate);
	}
	send_check(j, database, &res, rc == SK_OK ? NULL : &err);
}

/* Every item of phase ph in database db; a connection that cannot be
 * made errs every item with its error. */
static void
sample_database(const sample_job *j, const sk_phase *ph, const sk_db_config *db)
{
	PGconn *conn = NULL;
	sk_err err;
	int rc;

	sk_err_clear(&err);
	rc = db->pooler == SK_POOLER_TRANSACTION ?
	    sk_pg_connect_pooled(db->conninfo, APPNAME, &conn, &err) :
	    sk_pg_connect(db->conninfo, APPNAME, &conn, &err);
	if (rc != SK_OK)
		sk_err_wrap(&err, "sample gate of phase %s in %s", ph->name, db->name);
	for (size_t i = 0; i < ph->ngate_checks && !stopped(j); i++) {
		if (rc == SK_OK) {
			sample_check(j, conn, db->name, &ph->gate_checks[i]);
		} else {
			sk_check_result res;

			memset(&res, 0, sizeof(res));
			snprintf(res.name, sizeof(res.name), "%s",
			    ph->gate_checks[i].name);
			snprintf(res.when, sizeof(res.when), "gate");
			snprintf(res.seen, sizeof(res.seen), "not connected");
			send_check(j, db->name, &res, &err);
		}
	}
	for (size_t i = 0; i < ph->nhealth && !stopped(j); i++) {
		const char *sig = ph->health[i].signal;
		double v = 0;
		sk_err serr;

		if (strcmp(sig, "http") == 0)
			continue; /* agent-wide: sampled once */
		if (rc != SK_OK) {
			send_health(j, db->name, sig, 0, &err);
			continue;
		}
		sk_err_clear(&serr);
		if (agent_health_sample(j->owner->health, conn, j->rollout_id,
			j->phase, db->name, sig, &v, &serr) != SK_OK)
			send_health(j, db->name, sig, 0, &serr);
		else
			send_health(j, db->name, sig, v, NULL);
	}
	if (conn != NULL)
		PQfinish(conn);
}

/* The agent's "http" probe, once per sample: database "". */
static void
sample_http(const sample_job *j)
{
	const char *url = j->owner->cfg->health_probe;
	double v = 0;
	sk_err err;

	sk_err_clear(&err);
	if (url == NULL) {
		sk_err_set(&err, SK_EINVAL,
		    "probe http in %s: this agent has no health_probe",
		    j->owner->cfg->region);
		snprintf(err.hint, sizeof(err.hint),
		    "set health_probe: URL in the agent's agent.yaml, or drop "
		    "the http signal from the phase's health gate");
		send_health(j, "", "http", 0, &err);
		return;
	}
	if (agent_probe_get(url, AGENT_PROBE_TIMEOUT_MS, &v, &err) != SK_OK)
		send_health(j, "", "http", 0, &err);
	else
		send_health(j, "", "http", v, NULL);
}

static void *
job_thread(void *arg)
{
	sample_job *j = arg;
	const sk_phase *ph = &j->plan->phases[j->phase];
	const sk_agent_config *cfg = j->owner->cfg;
	int64_t t0 = sk_mono_ms();

	for (size_t i = 0; i < ph->nhealth; i++)
		if (strcmp(ph->health[i].signal, "http") == 0) {
			sample_http(j);
			break;
		}
	for (size_t d = 0; d < cfg->ndatabases && !stopped(j); d++)
		sample_database(j, ph, &cfg->databases[d]);
	sk_debug("rollout %s: gate of phase %s sampled (round %llu) in %lld ms",
	    j->rollout_id, ph->name, (unsigned long long)j->round,
	    (long long)(sk_mono_ms() - t0));
	pthread_mutex_lock(&j->owner->mu);
	j->done = true;
	pthread_mutex_unlock(&j->owner->mu);
	return NULL;
}

int
agent_sampler_start(agent_sampler *s, const char *rollout_id, sk_plan *plan,
    uint32_t phase, uint64_t round, atomic_int *stop, sk_err *err)
{
	sample_job *j;

	reap(s, false);
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->njobs; i++) {
		if (strcmp(s->jobs[i]->rollout_id, rollout_id) == 0 &&
		    !s->jobs[i]->done) {
			pthread_mutex_unlock(&s->mu);
			return sk_err_set(err, SK_ESTATE,
			    "sample rollout %s (round %llu): the previous sample "
			    "still runs",
			    rollout_id, (unsigned long long)round);
		}
	}
	if (s->njobs == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		sample_job **n = realloc(s->jobs, cap * sizeof(*n));

		if (n == NULL) {
			pthread_mutex_unlock(&s->mu);
			return sk_err_set(err, SK_ENOMEM,
			    "sample rollout %s: out of memory", rollout_id);
		}
		s->jobs = n;
		s->cap = cap;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		pthread_mutex_unlock(&s->mu);
		return sk_err_set(err, SK_ENOMEM,
		    "sample rollout %s: out of memory", rollout_id);
	}
	j->owner = s;
	snprintf(j->rollout_id, sizeof(j->rollout_id), "%s", rollout_id);
	j->plan = plan;
	j->phase = phase;
	j->round = round;
	j->stop = stop;
	if (pthread_create(&j->thread, NULL, job_thread, j) != 0) {
		pthread_mutex_unlock(&s->mu);
		free(j);
		return sk_err_set(err, SK_ENOMEM,
		    "sample rollout %s: cannot start a thread", rollout_id);
	}
	s->jobs[s->njobs++] = j;
	pthread_mutex_unlock(&s->mu);
	return SK_OK;
}

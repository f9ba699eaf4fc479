/* agent_runs: the plans the agent runs, one thread each through
 * agent_exec: RUN commands verified (release signature, expiry, region)
 * and started idempotently, and the operator's pause, resume and tune
 * handed to a running plan through its agent_control. */
#include "agent_session_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_exec.h"
#include "sk_envelope.h"
#include "sk_log.h"
#include "sk_util.h"

static void
exec_report(void *arg, const sk_report *r)
{
	agent_outbox_put(arg, r);
}

/* The newest run of rollout_id (a rollback's full run comes after its
 * flags-first pass). */
static run_entry *
find_run(agent_session *s, const char *rollout_id)
{
	for (size_t i = s->nruns; i > 0; i--)
		if (strcmp(s->runs[i - 1]->rollout_id, rollout_id) == 0)
			return s->runs[i - 1];
	return NULL;
}

/* flags: the run of rollout_id that is (or is not) a flags-first pass. */
static run_entry *
find_run_of(agent_session *s, const char *rollout_id, bool flags_only)
{
	for (size_t i = 0; i < s->nruns; i++)
		if (strcmp(s->runs[i]->rollout_id, rollout_id) == 0 &&
		    s->runs[i]->flags_only == flags_only)
			return s->runs[i];
	return NULL;
}

static run_entry *
add_run(agent_session *s, const char *rollout_id)
{
	run_entry *e;

	if (s->nruns == s->runcap) {
		size_t cap = s->runcap ? s->runcap * 2 : 8;
		run_entry **n = realloc(s->runs, cap * sizeof(*n));

		if (n == NULL)
			return NULL;
		s->runs = n;
		s->runcap = cap;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	agent_control_init(&e->control);
	agent_control_set_dead_man(&e->control, s->cfg->dead_man_ms); /* stopline */
	snprintf(e->rollout_id, sizeof(e->rollout_id), "%s", rollout_id);
	e->session = s;
	s->runs[s->nruns++] = e;
	return e;
}

/* A tune from the coordinator into the run's limits. */
static void
apply_tune(agent_control *c, const sk_tune *t)
{
	agent_tune at = { t->has_rate ? t->max_rows_per_second : -1,
		t->batch_min, t->batch_max };

	agent_control_tune(c, &at);
}

static void
final_report(sk_report *r, int event, const char *rollout_id,
    const sk_plan *plan, int64_t duration_ms, const sk_err *err, bool flags_only)
{
	memset(r, 0, sizeof(*r));
	r->event = event;
	r->flags_only = flags_only;
	snprintf(r->rollout_id, sizeof(r->rollout_id), "%s", rollout_id);
	if (plan != NULL)
		snprintf(r->plan_id, sizeof(r->plan_id), "%s", plan->id);
	r->duration_ms = duration_ms;
	if (err != NULL)
		r->error = *err;
}

static void *
run_thread(void *arg)
{
	run_entry *e = arg;
	agent_session *s = e->session;
	agent_exec_opts opts;
	int64_t t0 = sk_mono_ms();
	sk_err err;
	int rc;

	memset(&opts, 0, sizeof(opts));
	opts.region = s->cfg->region;
	opts.rollout_id = e->rollout_id;
	sk_log_scope(e->rollout_id, NULL); /* this thread's records */
	opts.databases = s->cfg->databases;
	opts.ndatabases = s->cfg->ndatabases;
	opts.parallel = s->cfg->parallel;
	opts.report = exec_report;
	opts.report_arg = s;
	opts.stop = s->stop;
	opts.mode = e->mode;
	opts.no_backup = e->no_backup;
	opts.backup_dir = s->cfg->backup_dir;
	opts.pg_dump = s->cfg->pg_dump;
	opts.pg_restore = s->cfg->pg_restore;
	opts.control = &e->control;
	opts.flags_only = e->flags_only;
	opts.move_peers = e->move_peers; /* moves */
	opts.nmove_peers = e->nmove_peers;
	opts.key = s->key;
	sk_err_clear(&err);
	rc = agent_exec_run(e->plan, &opts, &err);
	if (atomic_load(s->stop)) {
		/* Interrupted by shutdown: the next start runs it again from
		 * the ledger, so report nothing final now. */
		sk_info("rollout %s interrupted by shutdown", e->rollout_id);
		return NULL;
	}
	pthread_mutex_lock(&s->mu);
	final_report(&e->final,
	    rc == SK_OK ? SK_EV_PLAN_SUCCEEDED : SK_EV_PLAN_FAILED, e->rollout_id,
	    e->plan, sk_mono_ms() - t0, rc == SK_OK ? NULL : &err, e->flags_only);
	e->state = RUN_DONE;
	pthread_mutex_unlock(&s->mu);
	if (rc == SK_OK)
		sk_info("rollout %s: plan %s done (%s) in %zu databases", e->rollout_id,
		    e->plan->name, sk_mode_name(e->mode), s->cfg->ndatabases);
	else
		sk_log_err(SK_LOG_ERROR, &err);
	agent_outbox_put(s, &e->final);
	return NULL;
}

/* Verify a signed plan for this region. On success *out owns the plan. */
static int
verify_plan(agent_session *s, const sk_command *cmd, sk_plan **out, sk_err *err)
{
	uint8_t *payload = NULL;
	size_t plen = 0;
	const sk_pubkey *signer = NULL;
	sk_plan *plan = NULL;
	int64_t now = sk_now_ms() / 1000;
	char list[256] = "";
	size_t off = 0;
	int rc;

	*out = NULL;
	rc = sk_envelope_open(&payload, &plen, &signer, cmd->signed_plan,
	    cmd->signed_plan_len, SK_KIND_PLAN, &s->release, err);
	if (rc != SK_OK)
		return sk_err_wrap(err, "verify plan of rollout %s in %s",
		    cmd->rollout_id, s->cfg->region);
	rc = sk_plan_decode(payload, plen, &plan, err);
	free(payload);
	if (rc != SK_OK)
		return sk_err_wrap(err, "verify plan of rollout %s in %s",
		    cmd->rollout_id, s->cfg->region);
	if (plan->expires_unix <= now) {
		rc = sk_err_set(err, SK_EEXPIRED,
		    "verify plan %s (%s) in %s: expired %lld s ago; sign a new plan",
		    plan->name, plan->id, s->cfg->region,
		    (long long)(now - plan->expires_unix));
		goto out;
	}
	if (!sk_plan_addresses(plan, s->cfg->region)) {
		for (size_t i = 0; i < plan->nregions && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off,
			    "%s%s", i ? ", " : "", plan->regions[i]);
		rc = sk_err_set(err, SK_EREFUSED,
		    "verify plan %s (%s) in %s: the plan addresses %s, not this region",
		    plan->name, plan->id, s->cfg->region, list);
		goto out;
	}
	*out = plan;
	plan = NULL;
	sk_debug("plan %s verified: signed by %s", (*out)->id, signer->name);
out:
	sk_plan_destroy(plan);
	return rc;
}

void
agent_runs_start(agent_session *s, const sk_command *cmd)
{
	run_entry *e;
	sk_plan *plan = NULL;
	sk_report r;
	sk_err err;

	pthread_mutex_lock(&s->mu);
	e = find_run_of(s, cmd->rollout_id, cmd->flags_only);
	if (e != NULL) {
		bool resend = e->state == RUN_DONE &&
		    !agent_outbox_has_final(s, e->rollout_id, e->flags_only);

		pthread_mutex_unlock(&s->mu);
		if (resend)
			agent_outbox_put(s, &e->final);
		return;
	}
	pthread_mutex_unlock(&s->mu);

	if (verify_plan(s, cmd, &plan, &err) != SK_OK) {
		sk_log_err(SK_LOG_WARN, &err);
		final_report(&r, SK_EV_PLAN_REFUSED, cmd->rollout_id, NULL, 0,
		    &err, cmd->flags_only);
		pthread_mutex_lock(&s->mu);
		e = add_run(s, cmd->rollout_id);
		if (e != NULL) {
			e->flags_only = cmd->flags_only;
			e->state = RUN_DONE;
			e->final = r;
		}
		pthread_mutex_unlock(&s->mu);
		agent_outbox_put(s, &r);
		return;
	}
	pthread_mutex_lock(&s->mu);
	e = add_run(s, cmd->rollout_id);
	if (e == NULL) {
		pthread_mutex_unlock(&s->mu);
		sk_plan_destroy(plan);
		sk_error("run rollout %s: out of memory", cmd->rollout_id);
		return;
	}
	e->plan = plan;
	/* moves: where each move step into this region finds its source.
	 * Out of memory runs without them: those steps fail, saying so. */
	if (agent_runs_move_peers(cmd, SK_MOVE_ROLE_SOURCE, &e->move_peers,
		&e->nmove_peers, &err) != SK_OK)
		sk_log_err(SK_LOG_ERROR, &err);
	e->mode = cmd->mode;
	e->no_backup = cmd->no_backup;
	e->flags_only = cmd->flags_only;
	e->state = RUN_RUNNING;
	/* The run starts in the rollout's state: tuned before its first
	 * batch. (A paused rollout is not dispatched.) */
	e->control_gen = cmd->control_gen;
	if (cmd->has_tune) {
		apply_tune(&e->control, &cmd->tune);
		e->tune_gen = cmd->control_gen;
	}
	pthread_mutex_unlock(&s->mu);
	sk_info("rollout %s: running plan %s (%s, %s%s), %zu steps on %zu "
		"databases",
	    cmd->rollout_id, plan->name, plan->id, sk_mode_name(cmd->mode),
	    cmd->no_backup ? " --no-backup" : "", plan->nsteps, s->cfg->ndatabases);
	final_report(&r, SK_EV_PLAN_ACCEPTED, cmd->rollout_id, plan, 0, NULL,
	    cmd->flags_only);
	agent_outbox_put(s, &r);
	if (pthread_create(&e->thread, NULL, run_thread, e) != 0) {
		sk_err_set(&err, SK_ENOMEM, "run rollout %s in %s: cannot start a thread",
		    cmd->rollout_id, s->cfg->region);
		pthread_mutex_lock(&s->mu);
		e->state = RUN_DONE;
		final_report(&e->final, SK_EV_PLAN_FAILED, cmd->rollout_id,
		    plan, 0, &err, cmd->flags_only);
		r = e->final;
		pthread_mutex_unlock(&s->mu);
		agent_outbox_put(s, &r);
		return;
	}
	e->joinable = true;
}

/* ---- the operator's word ------------------------------------------------ */

/* Apply the operator's pause or resume (state, not an event: applying
 * it again changes nothing) or tune to the rollout cmd names, if this
 * agent runs it and cmd is not older than what it applied. */
void
agent_runs_opctl(agent_session *s, const sk_command *cmd)
{
	run_entry *e;
	bool was, now;

	pthread_mutex_lock(&s->mu);
	e = find_run(s, cmd->rollout_id);
	if (e == NULL || e->state != RUN_RUNNING || cmd->control_gen < e->control_gen) {
		pthread_mutex_unlock(&s->mu);
		sk_debug("ignore %s of rollout %s (generation %" PRIu64 "): %s",
		    sk_command_name(cmd->kind), cmd->rollout_id, cmd->control_gen,
		    e == NULL || e->state != RUN_RUNNING ? "not running here" :
							   "already newer");
		return;
	}
	e->control_gen = cmd->control_gen;
	was = agent_control_paused(&e->control);
	if (cmd->kind == SK_CMD_TUNE) {
		/* Every tune merged, as the coordinator keeps it: once per
		 * generation, so that the backfill sees one change. */
		if (cmd->has_tune && cmd->control_gen > e->tune_gen) {
			apply_tune(&e->control, &cmd->tune);
			e->tune_gen = cmd->control_gen;
		}
	} else if (cmd->kind == SK_CMD_ABORT) { /* stopline */
		agent_control_set_aborted(&e->control);
	} else {
		agent_control_set_paused(&e->control, cmd->kind == SK_CMD_PAUSE);
	}
	now = agent_control_paused(&e->control);
	pthread_mutex_unlock(&s->mu);
	if (was != now && now)
		sk_info("rollout %s paused by %s%s%s: running steps finish, no "
			"step starts until it is resumed",
		    cmd->rollout_id, cmd->actor[0] ? cmd->actor : "an operator",
		    cmd->reason[0] ? ": " : "", cmd->reason);
	else if (cmd->kind == SK_CMD_ABORT)
		sk_info("rollout %s aborted by %s: the running step finishes, no "
			"other starts",
		    cmd->rollout_id, cmd->actor[0] ? cmd->actor : "an operator");
	else if (was != now)
		sk_info("rollout %s resumed", cmd->rollout_id);
	else if (cmd->kind == SK_CMD_TUNE && cmd->has_tune) {
		char words[160];

		sk_tune_format(&cmd->tune, words, sizeof(words));
		sk_info("rollout %s tuned: %s", cmd->rollout_id, words);
	}
}

/* The coordinator answered: every running plan heard from it now (a
 * backfill's dead-man pause ends). */
void
agent_runs_heard(agent_session *s)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nruns; i++)
		if (s->runs[i]->state == RUN_RUNNING)
			agent_control_heard(&s->runs[i]->control);
	pthread_mutex_unlock(&s->mu);
}

void
agent_runs_list(agent_session *s, sk_agent_msg *m)
{
	m->running = calloc(s->nruns + 1, sizeof(*m->running));
	m->applied = calloc(s->nruns + 1, sizeof(*m->applied));
	m->nrunning = m->napplied = 0;
	if (m->running == NULL || m->applied == NULL) {
		free(m->running);
		free(m->applied);
		m->running = NULL;
		m->applied = NULL;
		return;
	}
	for (size_t i = 0; i < s->nruns; i++) {
		const run_entry *e = s->runs[i];

		if (e->state != RUN_RUNNING)
			continue;
		snprintf(m->running[m->nrunning++], SK_NAME_MAX, "%s", e->rollout_id);
		snprintf(m->applied[m->napplied].rollout_id, SK_ID_MAX, "%s",
		    e->rollout_id);
		m->applied[m->napplied++].control_gen = e->control_gen;
	}
}

void
agent_runs_join(agent_session *s)
{
	for (size_t i = 0; i < s->nruns; i++) {
		if (s->runs[i]->joinable) {
			pthread_join(s->runs[i]->thread, NULL);
			s->runs[i]->joinable = false;
		}
	}
}

/* moves: a command's move peers as move.h's. */
int
agent_runs_move_peers(
    const sk_command *cmd, int role, move_peer **out, size_t *n, sk_err *err)
{
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (cmd->nmove_peers == 0)
		return SK_OK;
	*out = calloc(cmd->nmove_peers, sizeof(**out));
	if (*out == NULL)
		return sk_err_set(err, SK_ENOMEM,
		    "take the move peers of rollout %s: out of memory",
		    cmd->rollout_id);
	for (size_t i = 0; i < cmd->nmove_peers; i++) {
		const sk_move_peer *p = &cmd->move_peers[i];
		move_peer *q = &(*out)[k];
		char name[160];

		if (p->role != role)
			continue; /* not this command's kind of peer */
		snprintf(q->rollout_id, sizeof(q->rollout_id), "%s", cmd->rollout_id);
		snprintf(q->step_id, sizeof(q->step_id), "%s", p->step_id);
		q->role = role == SK_MOVE_ROLE_SOURCE ?
		    SKEIN__V1__MOVE_ROLE__MOVE_ROLE_SOURCE :
		    SKEIN__V1__MOVE_ROLE__MOVE_ROLE_TARGET;
		snprintf(q->region, sizeof(q->region), "%s", p->region);
		snprintf(q->address, sizeof(q->address), "%s", p->address);
		q->back = p->back;
		snprintf(name, sizeof(name),
		    "agent key of region %s (coordinator)", p->region);
		sk_pubkey_set(&q->key, p->agent_key, name);
		k++;
	}
	*n = k;
	if (k == 0) {
		free(*out);
		*out = NULL;
	}
	return SK_OK;
}

/* sampling: a SAMPLE's plan is verified exactly as a RUN's. */
int
agent_runs_verify_plan(
    agent_session *s, const sk_command *cmd, sk_plan **out, sk_err *err)
{
	return verify_plan(s, cmd, out, err);
}

void
agent_runs_free(agent_session *s)
{
	agent_runs_join(s);
	for (size_t i = 0; i < s->nruns; i++) {
		sk_plan_destroy(s->runs[i]->plan);
		free(s->runs[i]->move_peers); /* moves */
		agent_control_fini(&s->runs[i]->control);
		free(s->runs[i]);
	}
	free(s->runs);
	s->runs = NULL;
	s->nruns = s->runcap = 0;
}

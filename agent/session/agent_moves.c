/* agent_moves: the session's side of tenant moves (docs/moves.md): a
 * MOVE_SERVE's plan verified like a RUN's and its target peers held in
 * the session's move_auth (for move_serve, which answers the target
 * agents), and the moves held listed in every AgentMessage
 * (serving_moves). A RUN's source peers go to its run in agent_runs.c.
 * Calls point one way: agent_session.c -> agent_moves.c -> agent_runs.c
 * (verification, peers) and agent_outbox.c. */
#include "agent_session_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent_probe.h"
#include "move.h"
#include "move_link.h"
#include "sk_log.h"
#include "sk_util.h"

/* The drain hook: POST the tenant's move to agent.yaml's move: drain. */
static int
drain_hook(void *arg, const move_spec *spec, sk_err *err)
{
	agent_session *s = arg;
	char *body;
	json_t *o;
	int rc;

	o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "tenant", spec->m->value,
	    "column", spec->m->column, "from", spec->source_region, "to",
	    spec->target_region, "move_id", spec->move_id);
	body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (body == NULL)
		return sk_err_set(err, SK_ENOMEM, "drain: out of memory");
	rc = agent_http_post("drain", s->cfg->move_drain, body,
	    s->cfg->move_drain_timeout_ms, err);
	free(body);
	if (rc == SK_OK)
		sk_info("move %s: drained (POST %s)", spec->move_id, s->cfg->move_drain);
	return rc;
}

/* The source side of a granted move in database: move_local_open on the
 * database's direct conninfo (the copy's snapshot and the freeze need a
 * session of their own, never a transaction pooler's). */
static int
open_source(void *arg, const char *database, const move_spec *spec,
    const move_source_ops **ops, void **ops_arg, sk_err *err)
{
	agent_session *s = arg;

	for (size_t i = 0; i < s->cfg->ndatabases; i++) {
		const sk_db_config *d = &s->cfg->databases[i];

		if (strcmp(d->name, database) == 0) {
			int rc = move_local_open(
			    d->backup_conninfo != NULL ? d->backup_conninfo : d->conninfo,
			    spec, s->cfg->region, s->key, ops, ops_arg, err);

			if (rc == SK_OK && s->cfg->move_drain != NULL)
				move_local_set_drain(*ops_arg, drain_hook, s);
			return rc;
		}
	}
	return sk_err_set(err, SK_ENOTFOUND,
	    "move: region %s's agent manages no database named %s",
	    s->cfg->region, database);
}

int
agent_moves_init(agent_session *s, sk_err *err)
{
	int rc = move_auth_create(&s->move_auth, err);

	if (rc != SK_OK || s->cfg->move_listen == NULL)
		return rc;
	rc = move_serve_start(s->cfg->move_listen, s->cfg->region, s->key,
	    s->move_auth, open_source, s, &s->move_serve, err);
	if (rc != SK_OK)
		sk_err_wrap(err, "serve tenant moves on %s", s->cfg->move_listen);
	else
		sk_info("serving tenant moves on %s", s->cfg->move_listen);
	return rc;
}

void
agent_moves_fini(agent_session *s)
{
	move_serve_stop(s->move_serve); /* before the grants it answers with */
	s->move_serve = NULL;
	move_auth_destroy(s->move_auth);
	s->move_auth = NULL;
	for (size_t i = 0; i < s->nmove_refused; i++)
		free(s->move_refused[i]);
	free(s->move_refused);
	s->move_refused = NULL;
	s->nmove_refused = 0;
}

/* True (and remembered) the first time rollout_id/step_id is refused:
 * a coordinator sends MOVE_SERVE again while it is not listed, and one
 * refusal report says it. Call with s->mu held. */
static bool
first_refusal(agent_session *s, const char *rollout_id, const char *step_id)
{
	char key[SK_MOVE_KEY_MAX];
	char **v;

	snprintf(key, sizeof(key), "%s/%s", rollout_id, step_id);
	for (size_t i = 0; i < s->nmove_refused; i++)
		if (strcmp(s->move_refused[i], key) == 0)
			return false;
	v = realloc(s->move_refused, (s->nmove_refused + 1) * sizeof(*v));
	if (v == NULL)
		return true;
	s->move_refused = v;
	if ((v[s->nmove_refused] = sk_strdup(key)) != NULL)
		s->nmove_refused++;
	return true;
}

/* Refuse serving step_id of cmd's rollout: a STEP_FAILED report of the
 * step, in no database, carrying err (logged here), once per move. */
static void
refuse(agent_session *s, const sk_command *cmd, const char *plan_id,
    const char *step_id, sk_err *err)
{
	sk_report r;
	bool first;

	pthread_mutex_lock(&s->mu);
	first = first_refusal(s, cmd->rollout_id, step_id);
	pthread_mutex_unlock(&s->mu);
	if (!first) {
		sk_debug("%s (again)", err->msg);
		return;
	}
	sk_log_err(SK_LOG_WARN, err);
	memset(&r, 0, sizeof(r));
	r.event = SK_EV_STEP_FAILED;
	snprintf(r.rollout_id, sizeof(r.rollout_id), "%s", cmd->rollout_id);
	snprintf(r.plan_id, sizeof(r.plan_id), "%s", plan_id != NULL ? plan_id : "");
	snprintf(r.step_id, sizeof(r.step_id), "%s", step_id);
	snprintf(r.detail, sizeof(r.detail), "move-serve refused");
	r.error = *err;
	agent_outbox_put(s, &r);
}

/* The move_tenant step step_id of plan, if its source is region (for a
 * move back, its `to`). */
static const sk_step *
source_step(const sk_plan *plan, const char *step_id, const char *region, bool back)
{
	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *st = &plan->steps[i];

		if (strcmp(st->id, step_id) == 0)
			return st->kind == SK_STEP_MOVE_TENANT && st->move != NULL &&
				strcmp(back ? st->move->to : st->move->from,
				    region) == 0 ?
			    st :
			    NULL;
	}
	return NULL;
}

void
agent_moves_serve(agent_session *s, const sk_command *cmd)
{
	move_peer *peers = NULL;
	size_t n = 0;
	sk_err err;

	sk_err_clear(&err);
	if (agent_runs_move_peers(cmd, SK_MOVE_ROLE_TARGET, &peers, &n, &err) != SK_OK) {
		sk_log_err(SK_LOG_ERROR, &err);
		return;
	}
	if (n == 0)
		sk_warn("serve moves of rollout %s: the command names no target",
		    cmd->rollout_id);
	for (size_t i = 0; i < n; i++) {
		sk_plan *plan = NULL;
		char plan_id[SK_ID_MAX] = "";

		/* Each authorization owns its plan: verified once per peer
		 * (a command names one or a few). */
		if (agent_runs_verify_plan(s, cmd, &plan, &err) != SK_OK) {
			sk_err_wrap(&err, "serve move %s", peers[i].step_id);
			refuse(s, cmd, NULL, peers[i].step_id, &err);
			continue;
		}
		snprintf(plan_id, sizeof(plan_id), "%s", plan->id);
		if (source_step(plan, peers[i].step_id, s->cfg->region,
			peers[i].back) == NULL) {
			sk_err_set(&err, SK_EREFUSED,
			    "serve move %s of rollout %s in %s: plan %s has no "
			    "move_tenant step of that id out of this region",
			    peers[i].step_id, cmd->rollout_id, s->cfg->region,
			    plan_id);
			sk_plan_destroy(plan);
			refuse(s, cmd, plan_id, peers[i].step_id, &err);
			continue;
		}
		if (s->cfg->move_listen == NULL) {
			sk_err_set(&err, SK_EREFUSED,
			    "serve move %s of rollout %s in %s: this agent has no "
			    "move: listen in agent.yaml",
			    peers[i].step_id, cmd->rollout_id, s->cfg->region);
			snprintf(err.hint, sizeof(err.hint),
			    "add move: {listen: tcp://HOST:PORT} to %s (the "
			    "address of regions/%s.yaml move_endpoint) and restart "
			    "the agent",
			    s->cfg->path != NULL ? s->cfg->path : "agent.yaml",
			    s->cfg->region);
			sk_plan_destroy(plan);
			refuse(s, cmd, plan_id, peers[i].step_id, &err);
			continue;
		}
		/* move_auth_add takes plan, also on failure. */
		if (move_auth_add(s->move_auth, &peers[i], plan, &err) != SK_OK) {
			refuse(s, cmd, plan_id, peers[i].step_id, &err);
			continue;
		}
		sk_info("rollout %s: serving move %s%s to region %s",
		    cmd->rollout_id, peers[i].step_id,
		    peers[i].back ? " (back)" : "", peers[i].region);
	}
	free(peers);
}

void
agent_moves_list(agent_session *s, sk_agent_msg *m)
{
	char **v = NULL;
	size_t n = 0;
	sk_err err;

	m->serving_moves = NULL;
	m->nserving_moves = 0;
	if (s->move_auth == NULL || move_auth_list(s->move_auth, &v, &n, &err) != SK_OK)
		return;
	if (n > 0 && (m->serving_moves = calloc(n, sizeof(*m->serving_moves))) != NULL) {
		for (size_t i = 0; i < n; i++)
			snprintf(m->serving_moves[m->nserving_moves++],
			    SK_MOVE_KEY_MAX, "%s", v[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

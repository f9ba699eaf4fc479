/* move_auth: the moves this (source) agent may serve, as the coordinator's
 * MOVE_SERVE commands said, with the plans they are in. A plan is shared
 * by reference between the authorization and the links serving it, so
 * that a repeated MOVE_SERVE can replace an authorization under a link
 * that is still copying. */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "move_link.h"
#include "sk_util.h"

typedef struct auth_plan {
	sk_plan *plan;
	unsigned refs; /* under move_auth.mu */
	pthread_mutex_t *mu;
} auth_plan;

typedef struct auth_entry {
	move_peer peer;
	auth_plan *ap;
	const sk_step *step;
} auth_entry;

struct move_auth {
	pthread_mutex_t mu;
	auth_entry *v;
	size_t n, cap;
};

static void
plan_unref_locked(auth_plan *ap)
{
	if (ap != NULL && --ap->refs == 0) {
		sk_plan_destroy(ap->plan);
		free(ap);
	}
}

int
move_auth_create(move_auth **out, sk_err *err)
{
	move_auth *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (a == NULL)
		return sk_err_set(err, SK_ENOMEM, "move authorizations: out of memory");
	pthread_mutex_init(&a->mu, NULL);
	*out = a;
	return SK_OK;
}

void
move_auth_destroy(move_auth *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < a->n; i++)
		plan_unref_locked(a->v[i].ap);
	free(a->v);
	a->v = NULL;
	a->n = 0;
	pthread_mutex_unlock(&a->mu);
	/* A grant still held after this is a caller's bug: it would unlock a
	 * destroyed mutex. The agent stops its links before this. */
	pthread_mutex_destroy(&a->mu);
	free(a);
}

static const sk_step *
move_step(const sk_plan *plan, const char *step_id)
{
	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *s = &plan->steps[i];

		if (strcmp(s->id, step_id) == 0)
			return s->kind == SK_STEP_MOVE_TENANT && s->move != NULL ?
			    s :
			    NULL;
	}
	return NULL;
}

void
move_peer_link_step(const move_peer *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", p->step_id, p->back ? "/back" : "");
}

/* link_step: as move_peer_link_step names it. */
static auth_entry *
entry_of(move_auth *a, const char *rollout_id, const char *link_step)
{
	for (size_t i = 0; i < a->n; i++) {
		char name[80];

		move_peer_link_step(&a->v[i].peer, name, sizeof(name));
		if (strcmp(a->v[i].peer.rollout_id, rollout_id) == 0 &&
		    strcmp(name, link_step) == 0)
			return &a->v[i];
	}
	return NULL;
}

int
move_auth_add(move_auth *a, const move_peer *peer, sk_plan *plan, sk_err *err)
{
	const sk_step *step;
	auth_entry *e;
	auth_plan *ap;
	char name[80];

	if (peer->role != SKEIN__V1__MOVE_ROLE__MOVE_ROLE_TARGET) {
		sk_plan_destroy(plan);
		return sk_err_set(err, SK_EINVAL,
		    "serve move %s: the peer is not the move's target", peer->step_id);
	}
	step = move_step(plan, peer->step_id);
	if (step == NULL) {
		sk_err_set(err, SK_ENOTFOUND,
		    "serve move %s: plan %s has no move_tenant step of that id",
		    peer->step_id, plan->id);
		sk_plan_destroy(plan);
		return SK_ENOTFOUND;
	}
	ap = calloc(1, sizeof(*ap));
	if (ap == NULL) {
		sk_plan_destroy(plan);
		return sk_err_set(err, SK_ENOMEM, "serve move: out of memory");
	}
	ap->plan = plan;
	ap->refs = 1;
	ap->mu = &a->mu;

	move_peer_link_step(peer, name, sizeof(name));
	pthread_mutex_lock(&a->mu);
	e = entry_of(a, peer->rollout_id, name);
	if (e == NULL) {
		if (a->n == a->cap) {
			size_t cap = a->cap ? a->cap * 2 : 4;
			auth_entry *v = realloc(a->v, cap * sizeof(*v));

			if (v == NULL) {
				pthread_mutex_unlock(&a->mu);
				sk_plan_destroy(plan);
				free(ap);
				return sk_err_set(err, SK_ENOMEM,
				    "serve move: out of memory");
			}
			a->v = v;
			a->cap = cap;
		}
		e = &a->v[a->n++];
	} else {
		plan_unref_locked(e->ap);
	}
	e->peer = *peer;
	e->ap = ap;
	e->step = step;
	pthread_mutex_unlock(&a->mu);
	return SK_OK;
}

/* find and peek: key NULL matches any key. */
static int
grant_of(move_auth *a, const char *rollout_id, const char *step_id,
    const sk_pubkey *key, move_grant *out, sk_err *err)
{
	auth_entry *e;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&a->mu);
	e = entry_of(a, rollout_id, step_id);
	if (e == NULL ||
	    (key != NULL &&
		sodium_memcmp(e->peer.key.pk, key->pk, sizeof(key->pk)) != 0)) {
		pthread_mutex_unlock(&a->mu);
		return sk_err_set(err, SK_ENOTFOUND,
		    "no move of that rollout and step may be served to that agent");
	}
	e->ap->refs++;
	out->peer = e->peer;
	out->plan = e->ap->plan;
	out->step = e->step;
	out->ref_ = e->ap;
	pthread_mutex_unlock(&a->mu);
	snprintf(out->plan_id, sizeof(out->plan_id), "%s", out->plan->id);
	snprintf(out->move_id, sizeof(out->move_id), "%s/%s%s", out->plan->id,
	    out->step->id, out->peer.back ? "/back" : "");
	if (out->peer.back) {
		snprintf(out->undo_id, sizeof(out->undo_id), "%s/%s",
		    out->plan->id, out->step->id);
		sk_move_tenant_back(out->step->move, &out->body);
	} else
		out->body = *out->step->move;
	return SK_OK;
}

int
move_auth_find(move_auth *a, const char *rollout_id, const char *step_id,
    const sk_pubkey *key, move_grant *out, sk_err *err)
{
	if (key == NULL) {
		memset(out, 0, sizeof(*out));
		return sk_err_set(err, SK_EINVAL, "find move authorization: no key");
	}
	return grant_of(a, rollout_id, step_id, key, out, err);
}

int
move_auth_peek(move_auth *a, const char *rollout_id, const char *step_id,
    move_grant *out, sk_err *err)
{
	return grant_of(a, rollout_id, step_id, NULL, out, err);
}

void
move_grant_release(move_grant *g)
{
	auth_plan *ap;
	pthread_mutex_t *mu;

	if (g == NULL || g->ref_ == NULL)
		return;
	ap = g->ref_;
	mu = ap->mu; /* the move_auth's: it outlives ap */
	pthread_mutex_lock(mu);
	plan_unref_locked(ap);
	pthread_mutex_unlock(mu);
	memset(g, 0, sizeof(*g));
}

int
move_auth_list(move_auth *a, char ***out, size_t *n, sk_err *err)
{
	char **v;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&a->mu);
	v = calloc(a->n ? a->n : 1, sizeof(*v));
	if (v == NULL) {
		pthread_mutex_unlock(&a->mu);
		return sk_err_set(err, SK_ENOMEM, "list served moves: out of memory");
	}
	for (size_t i = 0; i < a->n; i++) {
		char name[80];
		size_t len;

		move_peer_link_step(&a->v[i].peer, name, sizeof(name));
		len = strlen(a->v[i].peer.rollout_id) + strlen(name) + 2;
		v[i] = malloc(len);
		if (v[i] == NULL) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			pthread_mutex_unlock(&a->mu);
			return sk_err_set(
			    err, SK_ENOMEM, "list served moves: out of memory");
		}
		snprintf(v[i], len, "%s/%s", a->v[i].peer.rollout_id, name);
	}
	*n = a->n;
	pthread_mutex_unlock(&a->mu);
	*out = v;
	return SK_OK;
}

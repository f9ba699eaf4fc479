/* coord_moves: which peers the two sides of a tenant move hear of, and
 * when (coord_moves.h). */
#include "coord_moves.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_state.h"

/* Modes whose runs move tenants: apply, rehearse (its preflight asks
 * the source) and rollback, whose move back runs the other way: `from`
 * drives it (dials and copies in) and `to` serves it. */
static bool
mode_moves(int mode)
{
	return mode == SK_MODE_APPLY || mode == SK_MODE_REHEARSE ||
	    mode == SK_MODE_ROLLBACK;
}

static bool
backward(const coord_rollout *ro)
{
	return ro->mode == SK_MODE_ROLLBACK;
}

/* The region that drives a move step's move in ro (the target) and the
 * one that serves it (the source). */
static const char *
driver_of(const coord_rollout *ro, const sk_move_tenant *m)
{
	return backward(ro) ? m->from : m->to;
}

static const char *
server_of(const coord_rollout *ro, const sk_move_tenant *m)
{
	return backward(ro) ? m->to : m->from;
}

int
coord_moves_check(const sk_plan *plan, const sk_inventory *inv, bool back, sk_err *err)
{
	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *s = &plan->steps[i];
		const sk_region *from, *to, *server;

		if (s->kind != SK_STEP_MOVE_TENANT || s->move == NULL)
			continue;
		to = sk_inventory_find(inv, s->move->to);
		if (to == NULL)
			return sk_err_set(err, SK_EINVAL,
			    "%s of plan %s: step %s moves a tenant to region %s, "
			    "which is not in the inventory %s",
			    back ? "roll back" : "start rollout", plan->name,
			    s->id, s->move->to, inv->dir);
		from = sk_inventory_find(inv, s->move->from);
		if (from == NULL)
			return sk_err_set(err, SK_EINVAL,
			    "%s of plan %s: step %s moves a tenant from region "
			    "%s, which is not in the inventory %s",
			    back ? "roll back" : "start rollout", plan->name,
			    s->id, s->move->from, inv->dir);
		/* The source serves: a rollback's move back is served by to. */
		server = back ? to : from;
		if (server->move_endpoint == NULL) {
			sk_err_set(err, SK_EINVAL,
			    "%s of plan %s: step %s moves a tenant %s region %s, "
			    "which has no move_endpoint in %s",
			    back ? "roll back" : "start rollout", plan->name,
			    s->id, back ? "back from" : "from", server->name,
			    server->path != NULL ? server->path : inv->dir);
			snprintf(err->hint, sizeof(err->hint),
			    "add move_endpoint: tcp://HOST:PORT (its agent's move: "
			    "{listen: ...}) to regions/%s.yaml and restart the "
			    "coordinator",
			    server->name);
			return err->code;
		}
	}
	return SK_OK;
}

static void
peer_set(sk_move_peer *p, const sk_step *s, int role, const sk_region *r, bool back)
{
	memset(p, 0, sizeof(*p));
	p->back = back;
	snprintf(p->step_id, sizeof(p->step_id), "%s", s->id);
	p->role = role;
	snprintf(p->region, sizeof(p->region), "%s", r->name);
	if (role == SK_MOVE_ROLE_SOURCE)
		snprintf(p->address, sizeof(p->address), "%s", r->move_endpoint);
	memcpy(p->agent_key, r->agent_key.pk, SK_MOVE_KEY_LEN);
}

/* The move steps of ro's plan that region drives (driver) or serves:
 * how many. */
static size_t
count_moves(const coord_rollout *ro, const char *region, bool driver)
{
	const sk_plan *plan = ro->plan;
	size_t n = 0;

	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *s = &plan->steps[i];

		if (s->kind == SK_STEP_MOVE_TENANT && s->move != NULL &&
		    strcmp(driver ? driver_of(ro, s->move) : server_of(ro, s->move),
			region) == 0)
			n++;
	}
	return n;
}

int
coord_moves_run_peers(const coord_rollout *ro, const sk_inventory *inv,
    const char *region, sk_move_peer **out, size_t *n, sk_err *err)
{
	const sk_plan *plan = ro->plan;
	size_t want, k = 0;

	*out = NULL;
	*n = 0;
	if (!mode_moves(ro->mode) || (want = count_moves(ro, region, true)) == 0)
		return SK_OK;
	if (want > SK_MOVE_PEERS_MAX)
		return sk_err_set(err, SK_EINVAL,
		    "run rollout %s in %s: %zu moves into the region; one run "
		    "takes at most %d",
		    ro->id, region, want, SK_MOVE_PEERS_MAX);
	*out = calloc(want, sizeof(**out));
	if (*out == NULL)
		return sk_err_set(err, SK_ENOMEM,
		    "run rollout %s in %s: out of memory", ro->id, region);
	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *s = &plan->steps[i];
		const sk_region *from;

		if (s->kind != SK_STEP_MOVE_TENANT || s->move == NULL ||
		    strcmp(driver_of(ro, s->move), region) != 0)
			continue;
		from = sk_inventory_find(inv, server_of(ro, s->move));
		if (from == NULL || from->move_endpoint == NULL) {
			free(*out);
			*out = NULL;
			return sk_err_set(err, SK_EINVAL,
			    "run rollout %s in %s: step %s moves a tenant from "
			    "region %s, which has no move_endpoint in the "
			    "inventory",
			    ro->id, region, s->id, server_of(ro, s->move));
		}
		peer_set(&(*out)[k++], s, SK_MOVE_ROLE_SOURCE, from, backward(ro));
	}
	*n = k;
	return SK_OK;
}

static bool
listed(const char (*serving)[SK_MOVE_KEY_MAX], size_t n, const char *rollout_id,
    const char *step_id, bool back)
{
	char key[SK_MOVE_KEY_MAX];

	snprintf(key, sizeof(key), "%s/%s%s", rollout_id, step_id, back ? "/back" : "");
	for (size_t i = 0; i < n; i++)
		if (strcmp(serving[i], key) == 0)
			return true;
	return false;
}

/* True if the run of region (a move's driver) is under way. */
static bool
target_active(const coord_rollout *ro, const char *region)
{
	const coord_region_run *rr = coord_rollout_region(ro, region);

	return rr != NULL &&
	    (rr->state == COORD_R_DISPATCHED || rr->state == COORD_R_RUNNING);
}

int
coord_moves_serve(const coord_rollout *ro, const sk_inventory *inv,
    const char *region, const char (*serving)[SK_MOVE_KEY_MAX], size_t nserving,
    sk_command *out, bool *any, sk_err *err)
{
	const sk_plan *plan = ro->plan;
	sk_move_peer *peers = NULL;
	size_t want, k = 0;

	*any = false;
	if (!mode_moves(ro->mode) || (want = count_moves(ro, region, false)) == 0)
		return SK_OK;
	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *s = &plan->steps[i];
		const sk_region *to;

		if (s->kind != SK_STEP_MOVE_TENANT || s->move == NULL ||
		    strcmp(server_of(ro, s->move), region) != 0 ||
		    !target_active(ro, driver_of(ro, s->move)) ||
		    listed(serving, nserving, ro->id, s->id, backward(ro)))
			continue;
		if ((to = sk_inventory_find(inv, driver_of(ro, s->move))) == NULL) {
			free(peers);
			return sk_err_set(err, SK_EINVAL,
			    "serve moves of rollout %s from %s: step %s moves to "
			    "region %s, which is not in the inventory",
			    ro->id, region, s->id, driver_of(ro, s->move));
		}
		if (k == SK_MOVE_PEERS_MAX)
			break; /* the rest on a later poll, once these are listed */
		if (peers == NULL &&
		    (peers = calloc(want < SK_MOVE_PEERS_MAX ? want : SK_MOVE_PEERS_MAX,
			 sizeof(*peers))) == NULL)
			return sk_err_set(err, SK_ENOMEM,
			    "serve moves of rollout %s from %s: out of memory",
			    ro->id, region);
		peer_set(&peers[k++], s, SK_MOVE_ROLE_TARGET, to, backward(ro));
	}
	if (k == 0)
		return SK_OK;
	memset(out, 0, sizeof(*out));
	out->kind = SK_CMD_MOVE_SERVE;
	snprintf(out->rollout_id, sizeof(out->rollout_id), "%s", ro->id);
	out->signed_plan = ro->signed_plan;
	out->signed_plan_len = ro->signed_plan_len;
	out->mode = ro->mode;
	out->move_peers = peers;
	out->nmove_peers = k;
	*any = true;
	return SK_OK;
}

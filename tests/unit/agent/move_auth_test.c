/* Unit tests of move_auth, the source agent's authorizations to serve a
 * move (agent/move/move_auth.c): found with the key the coordinator
 * named, refused with any other key or for another step or rollout; a
 * repeated MOVE_SERVE replaces the authorization while a grant handed
 * out before keeps its plan alive until released; a peer that is not the
 * target, and a step that is not a move, refused; the list says
 * "<rollout_id>/<step_id>" of each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "move.h"
#include "move_link.h"
#include "sk_plan.h"
#include "sk_util.h"

static char *
dup(const char *s)
{
	char *d = sk_strdup(s);

	assert_non_null(d);
	return d;
}

/* A plan id with a SQL step "0001_sql" and a move step "0002_move"
 * (hotel h1 from ksa to af). */
static sk_plan *
plan_new(const char *id)
{
	sk_plan *plan = calloc(1, sizeof(*plan));
	sk_move_tenant *m = calloc(1, sizeof(*m));

	assert_non_null(plan);
	assert_non_null(m);
	plan->id = dup(id);
	plan->name = dup("move_h1");
	plan->steps = calloc(2, sizeof(*plan->steps));
	assert_non_null(plan->steps);
	plan->nsteps = 2;
	plan->steps[0].id = dup("0001_sql");
	plan->steps[0].kind = SK_STEP_SQL;
	plan->steps[0].sql = dup("SELECT 1;");
	plan->steps[1].id = dup("0002_move");
	plan->steps[1].kind = SK_STEP_MOVE_TENANT;
	m->column = dup("hotel_id");
	m->value = dup("h1");
	m->from = dup("ksa");
	m->to = dup("af");
	m->freeze_timeout_ms = 5000;
	m->max_lag_ms = 1000;
	plan->steps[1].move = m;
	return plan;
}

static void
peer_of(move_peer *p, const char *rollout, const char *step, uint8_t key)
{
	uint8_t pk[SK_PUBKEY_LEN];

	memset(p, 0, sizeof(*p));
	snprintf(p->rollout_id, sizeof(p->rollout_id), "%s", rollout);
	snprintf(p->step_id, sizeof(p->step_id), "%s", step);
	p->role = SKEIN__V1__MOVE_ROLE__MOVE_ROLE_TARGET;
	snprintf(p->region, sizeof(p->region), "af");
	memset(pk, key, sizeof(pk));
	sk_pubkey_set(&p->key, pk, "af");
}

static sk_pubkey
key_of(uint8_t b)
{
	sk_pubkey k;
	uint8_t pk[SK_PUBKEY_LEN];

	memset(pk, b, sizeof(pk));
	sk_pubkey_set(&k, pk, "test");
	return k;
}

static void
test_find_with_named_key_only(void **state)
{
	move_auth *a = NULL;
	move_peer p;
	move_grant g;
	sk_pubkey right = key_of(0xa1), wrong = key_of(0xa2);
	sk_err err;

	(void)state;
	assert_int_equal(move_auth_create(&a, &err), SK_OK);
	peer_of(&p, "r-1", "0002_move", 0xa1);
	assert_int_equal(move_auth_add(a, &p, plan_new("p-1"), &err), SK_OK);

	assert_int_equal(move_auth_find(a, "r-1", "0002_move", &right, &g, &err), SK_OK);
	assert_string_equal(g.plan->id, "p-1");
	assert_ptr_equal(g.step, &g.plan->steps[1]);
	assert_string_equal(g.step->move->value, "h1");
	assert_string_equal(g.plan_id, "p-1");
	assert_string_equal(g.move_id, "p-1/0002_move");
	assert_string_equal(g.peer.region, "af");
	move_grant_release(&g);
	assert_null(g.ref_);
	move_grant_release(&g); /* twice: nothing */

	/* Another key, step or rollout: refused alike, nothing handed out. */
	assert_int_equal(move_auth_find(a, "r-1", "0002_move", &wrong, &g, &err),
	    SK_ENOTFOUND);
	assert_null(g.plan);
	assert_null(g.ref_);
	assert_int_equal(move_auth_find(a, "r-1", "0001_sql", &right, &g, &err),
	    SK_ENOTFOUND);
	assert_int_equal(move_auth_find(a, "r-2", "0002_move", &right, &g, &err),
	    SK_ENOTFOUND);
	move_auth_destroy(a);
	move_auth_destroy(NULL);
}

static void
test_add_refuses_non_target_and_non_move(void **state)
{
	move_auth *a = NULL;
	move_peer p;
	char **v = NULL;
	size_t n = 9;
	sk_err err;

	(void)state;
	assert_int_equal(move_auth_create(&a, &err), SK_OK);
	peer_of(&p, "r-1", "0002_move", 1);
	p.role = SKEIN__V1__MOVE_ROLE__MOVE_ROLE_SOURCE;
	assert_int_equal(move_auth_add(a, &p, plan_new("p-1"), &err), SK_EINVAL);
	peer_of(&p, "r-1", "0001_sql", 1); /* not a move step */
	assert_int_equal(move_auth_add(a, &p, plan_new("p-1"), &err), SK_ENOTFOUND);
	peer_of(&p, "r-1", "0009_none", 1);
	assert_int_equal(move_auth_add(a, &p, plan_new("p-1"), &err), SK_ENOTFOUND);
	assert_int_equal(move_auth_list(a, &v, &n, &err), SK_OK);
	assert_int_equal(n, 0);
	free(v);
	move_auth_destroy(a);
}

/* A repeated MOVE_SERVE replaces the authorization (a new plan object,
 * maybe a new key); a grant taken before keeps the old plan until it is
 * released (ASan finds a use after free here if not). */
static void
test_replace_keeps_outstanding_grant_alive(void **state)
{
	move_auth *a = NULL;
	move_peer p;
	move_grant old, now;
	sk_pubkey k1 = key_of(1), k2 = key_of(2);
	char **v = NULL;
	size_t n = 0;
	sk_err err;

	(void)state;
	assert_int_equal(move_auth_create(&a, &err), SK_OK);
	peer_of(&p, "r-1", "0002_move", 1);
	assert_int_equal(move_auth_add(a, &p, plan_new("p-old"), &err), SK_OK);
	assert_int_equal(move_auth_find(a, "r-1", "0002_move", &k1, &old, &err), SK_OK);

	peer_of(&p, "r-1", "0002_move", 2); /* replaced, with another key */
	assert_int_equal(move_auth_add(a, &p, plan_new("p-new"), &err), SK_OK);
	assert_int_equal(move_auth_list(a, &v, &n, &err), SK_OK);
	assert_int_equal(n, 1); /* replaced, not added */
	free(v[0]);
	free(v);

	/* The old grant's plan and step are still readable. */
	assert_string_equal(old.plan->id, "p-old");
	assert_string_equal(old.step->id, "0002_move");
	assert_string_equal(old.step->move->from, "ksa");

	assert_int_equal(move_auth_find(a, "r-1", "0002_move", &k1, &now, &err),
	    SK_ENOTFOUND);
	assert_int_equal(move_auth_find(a, "r-1", "0002_move", &k2, &now, &err), SK_OK);
	assert_string_equal(now.plan->id, "p-new");
	move_grant_release(&old); /* frees p-old */
	assert_string_equal(now.plan->id, "p-new");
	move_grant_release(&now);
	move_auth_destroy(a);
}

static void
test_list_names_each_move(void **state)
{
	move_auth *a = NULL;
	move_peer p;
	char **v = NULL;
	size_t n = 0;
	sk_err err;

	(void)state;
	assert_int_equal(move_auth_create(&a, &err), SK_OK);
	assert_int_equal(move_auth_list(a, &v, &n, &err), SK_OK);
	assert_int_equal(n, 0);
	free(v);
	for (int i = 0; i < 5; i++) { /* past the first growth */
		char rollout[16];

		snprintf(rollout, sizeof(rollout), "r-%d", i);
		peer_of(&p, rollout, "0002_move", (uint8_t)(i + 1));
		assert_int_equal(move_auth_add(a, &p, plan_new("p-1"), &err), SK_OK);
	}
	assert_int_equal(move_auth_list(a, &v, &n, &err), SK_OK);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		char want[48];

		snprintf(want, sizeof(want), "r-%zu/0002_move", i);
		assert_string_equal(v[i], want);
		free(v[i]);
	}
	free(v);
	move_auth_destroy(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_with_named_key_only),
		cmocka_unit_test(test_add_refuses_non_target_and_non_move),
		cmocka_unit_test(test_replace_keeps_outstanding_grant_alive),
		cmocka_unit_test(test_list_names_each_move),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* approval_test: the phase gates of a rollout without sockets
 * (coordinator/coord_gate.c, coord_approval.c): approvals by signed
 * operator requests — refused, counting nothing and journaling no
 * approval, when signed by an unpinned key, by the starter under
 * not_by_starter, by an operator not in from, by a viewer, for a phase
 * without approval or one the rollout lacks, for an unknown rollout,
 * twice by the same operator, or replayed byte for byte — and the gates
 * holding the rollout: the canary's soak counted on ticks (not skipped),
 * then the next phase held until its second approval opens it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "coord_auth.h"
#include "coord_control.h"
#include "coord_journal.h"
#include "coord_registry.h"
#include "coord_rollout.h"
#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_wire.h"

typedef struct fixture {
	char dir[64];
	sk_seckey *release_key;
	sk_keyring release;
	sk_region regions[3];
	sk_inventory inv;
	coord_registry rollouts;
	coord_journal *journal;
	coord_control_ctx ctx;
	/* Operators admin, alice, bob, carol (approvers), viewer; and a key
	 * nobody pinned. */
	sk_seckey *admin, *alice, *bob, *carol, *viewer, *stranger;
	sk_operator operators[5];
	sk_coord_config cfg;
	coord_auth auth;
} fixture;

static char *
dup_str(const char *s)
{
	char *d = sk_strdup(s);

	assert_non_null(d);
	return d;
}

/* A plan of one step over af (canary) then in and ksa, valid for a day. */
static uint8_t *
signed_plan(const fixture *f, size_t *len)
{
	static const char *const names[] = { "af", "in", "ksa" };
	sk_plan *plan = calloc(1, sizeof(*plan));
	uint8_t *payload = NULL, *sealed = NULL;
	size_t plen = 0;
	int64_t now = sk_now_ms() / 1000;
	sk_err err;

	assert_non_null(plan);
	plan->id = dup_str("plan-c0ffee");
	plan->name = dup_str("add-region-column");
	plan->created_unix = now - 60;
	plan->expires_unix = now + 86400;
	plan->phases = calloc(2, sizeof(*plan->phases));
	plan->regions = calloc(3, sizeof(*plan->regions));
	plan->steps = calloc(1, sizeof(*plan->steps));
	assert_non_null(plan->phases);
	assert_non_null(plan->regions);
	assert_non_null(plan->steps);
	for (size_t p = 0; p < 2; p++) {
		size_t from = p == 0 ? 0 : 1, to = p == 0 ? 1 : 3;

		plan->phases[p].name = dup_str(p == 0 ? "canary" : "rest");
		plan->phases[p].regions = calloc(3, sizeof(char *));
		assert_non_null(plan->phases[p].regions);
		for (size_t i = from; i < to; i++)
			plan->phases[p].regions[plan->phases[p].nregions++] =
			    dup_str(names[i]);
	}
	plan->nphases = 2;
	/* Gates: the canary soaks 10 s; the rest needs 2 approvals from
	 * alice, bob and admin, not by its starter. */
	plan->phases[0].soak_ms = 10000;
	plan->phases[1].approval_count = 2;
	plan->phases[1].approvers = calloc(4, sizeof(char *));
	assert_non_null(plan->phases[1].approvers);
	plan->phases[1].approvers[0] = dup_str("alice");
	plan->phases[1].approvers[1] = dup_str("bob");
	plan->phases[1].approvers[2] = dup_str("admin");
	plan->phases[1].napprovers = 3;
	plan->phases[1].not_by_starter = true;
	for (size_t i = 0; i < 3; i++)
		plan->regions[plan->nregions++] = dup_str(names[i]);
	plan->nsteps = 1;
	plan->steps[0].id = dup_str("0001_add_region");
	plan->steps[0].kind = SK_STEP_SQL;
	plan->steps[0].sql = dup_str("ALTER TABLE accounts ADD COLUMN region text;");
	plan->steps[0].sql_path = dup_str("0001_add_region.sql");
	assert_int_equal(
	    sk_step_checksum(&plan->steps[0], plan->steps[0].checksum, &err), SK_OK);
	assert_int_equal(sk_plan_encode(plan, &payload, &plen, &err), SK_OK);
	assert_int_equal(sk_envelope_seal(&sealed, len, SK_KIND_PLAN, payload,
			     plen, f->release_key, &err),
	    SK_OK);
	free(payload);
	sk_plan_destroy(plan);
	return sealed;
}

static int
setup(void **state)
{
	static const char *const names[] = { "af", "in", "ksa" };
	fixture *f = calloc(1, sizeof(*f));
	char base[128], key[160];
	sk_err err;

	if (f == NULL || sk_crypto_init(&err) != SK_OK)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sk-approval-test-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(base, sizeof(base), "%s/release", f->dir);
	snprintf(key, sizeof(key), "%s.key", base);
	if (sk_key_generate(base, &err) != SK_OK ||
	    sk_seckey_load(key, &f->release_key, &err) != SK_OK ||
	    sk_keyring_add(&f->release, sk_seckey_public(f->release_key), &err) != SK_OK)
		return -1;
	for (size_t i = 0; i < 3; i++)
		f->regions[i].name = (char *)names[i];
	f->inv.dir = f->dir;
	f->inv.regions = f->regions;
	f->inv.nregions = 3;
	if (coord_journal_open(f->dir, NULL, NULL, &f->journal, &err) != SK_OK)
		return -1;
	{
		sk_seckey **keys[6] = { &f->admin, &f->alice, &f->bob,
			&f->carol, &f->viewer, &f->stranger };
		static const char *const who[6] = { "admin", "alice", "bob",
			"carol", "viewer", "stranger" };
		static const sk_role roles[5] = { SK_ROLE_ADMIN, SK_ROLE_APPROVER,
			SK_ROLE_APPROVER, SK_ROLE_APPROVER, SK_ROLE_VIEWER };

		for (size_t i = 0; i < 6; i++) {
			snprintf(base, sizeof(base), "%s/%s", f->dir, who[i]);
			snprintf(key, sizeof(key), "%s.key", base);
			if (sk_key_generate(base, &err) != SK_OK ||
			    sk_seckey_load(key, keys[i], &err) != SK_OK)
				return -1;
			if (i == 5)
				break;
			f->operators[i].name = (char *)who[i];
			f->operators[i].role = roles[i];
			f->operators[i].key = *sk_seckey_public(*keys[i]);
		}
	}
	f->cfg.operators = f->operators;
	f->cfg.noperators = 5;
	if (coord_auth_init(&f->auth, &f->cfg, sk_now_ms() - 1000, &err) != SK_OK)
		return -1;
	f->ctx = (coord_control_ctx){ .rollouts = &f->rollouts,
		.journal = f->journal,
		.release = &f->release,
		.inv = &f->inv,
		.auth = &f->auth };
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];
	int rc;

	coord_registry_fini(&f->rollouts);
	coord_journal_close(f->journal);
	sk_keyring_fini(&f->release);
	sk_seckey_destroy(f->release_key);
	coord_auth_fini(&f->auth);
	sk_seckey_destroy(f->admin);
	sk_seckey_destroy(f->alice);
	sk_seckey_destroy(f->bob);
	sk_seckey_destroy(f->carol);
	sk_seckey_destroy(f->viewer);
	sk_seckey_destroy(f->stranger);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* What the journal holds, replayed: approvals, gate records, refusals. */
typedef struct journal_counts {
	int approvals, gates, refused;
	size_t envelope_len;
	int64_t served_ms;
} journal_counts;

static void
count_approval(void *arg, const char *id, const coord_approval_record *rec)
{
	journal_counts *c = arg;

	(void)id;
	c->approvals++;
	c->envelope_len = rec->envelope_len;
}

static void
count_gate(void *arg, const char *id, const coord_gate_record *rec)
{
	journal_counts *c = arg;

	(void)id;
	c->gates++;
	c->served_ms = rec->served_ms;
}

static void
count_refused(void *arg, int64_t at, const char *op, const char *actor,
    const char *key, const char *reason)
{
	journal_counts *c = arg;

	(void)at;
	(void)op;
	(void)actor;
	(void)key;
	(void)reason;
	c->refused++;
}

static journal_counts
journal_read(const fixture *f)
{
	static const coord_journal_visitor v = { .approval = count_approval,
		.gate = count_gate,
		.refused = count_refused };
	journal_counts c;
	coord_journal *j = NULL;
	sk_err err;

	memset(&c, 0, sizeof(c));
	assert_int_equal(coord_journal_open(f->dir, &v, &c, &j, &err), SK_OK);
	coord_journal_close(j);
	return c;
}

/* req as key signs it, made at at_ms with nonce (NULL: a fresh one). */
static uint8_t *
sign(const sk_cli_request *req, const sk_seckey *key, int64_t at_ms,
    const uint8_t *nonce, size_t *len)
{
	sk_operator_request orq;
	uint8_t *body = NULL, *sealed = NULL;
	size_t blen = 0;
	sk_err err;

	memset(&orq, 0, sizeof(orq));
	assert_int_equal(
	    sk_cli_request_encode(req, &orq.request, &orq.request_len, &err), SK_OK);
	orq.at_ms = at_ms;
	if (nonce != NULL)
		memcpy(orq.nonce, nonce, SK_NONCE_LEN);
	else
		randombytes_buf(orq.nonce, SK_NONCE_LEN);
	assert_int_equal(sk_operator_request_encode(&orq, &body, &blen, &err), SK_OK);
	assert_int_equal(
	    sk_envelope_seal(&sealed, len, SK_KIND_OPERATOR, body, blen, key, &err),
	    SK_OK);
	free(orq.request);
	free(body);
	return sealed;
}

/* Answer the bytes msg, decoding the answer into resp. */
static coord_control_effect
answer(fixture *f, const uint8_t *msg, size_t len, sk_cli_response *resp)
{
	uint8_t *reply = NULL;
	size_t rlen = 0;
	coord_control_effect effect;
	sk_err err;

	assert_int_equal(
	    coord_control_answer(&f->ctx, msg, len, &reply, &rlen, &effect, &err), SK_OK);
	assert_int_equal(sk_cli_response_decode(reply, rlen, resp, &err), SK_OK);
	free(reply);
	return effect;
}

/* Answer req signed by key now, decoding the answer into resp. */
static coord_control_effect
ask_as(fixture *f, const sk_seckey *key, const sk_cli_request *req, sk_cli_response *resp)
{
	uint8_t *buf;
	size_t len = 0;
	coord_control_effect effect;

	buf = sign(req, key, sk_now_ms(), NULL, &len);
	effect = answer(f, buf, len, resp);
	free(buf);
	return effect;
}

/* Start the plan as admin; the rollout into *ro. */
static void
start(fixture *f, coord_rollout **ro)
{
	sk_cli_request req;
	sk_cli_response resp;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_START;
	req.mode = SK_MODE_APPLY;
	req.signed_plan = signed_plan(f, &req.signed_plan_len);
	assert_true(ask_as(f, f->admin, &req, &resp).started);
	free(req.signed_plan);
	assert_true(resp.ok);
	*ro = coord_registry_find(&f->rollouts, resp.rollout_id);
	assert_non_null(*ro);
	sk_cli_response_fini(&resp);
}

static sk_cli_request
approval(const char *id, const char *phase)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_APPROVE;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.phase, sizeof(req.phase), "%s", phase);
	return req;
}

/* key's approval of phase of id is refused with code and want. */
static void
refused(fixture *f, const sk_seckey *key, const char *id, const char *phase,
    int code, const char *want)
{
	sk_cli_request req = approval(id, phase);
	sk_cli_response resp;

	assert_false(ask_as(f, key, &req, &resp).held);
	assert_false(resp.ok);
	assert_int_equal(resp.error.code, code);
	if (strstr(resp.error.msg, want) == NULL)
		fail_msg("refusal \"%s\" lacks \"%s\"", resp.error.msg, want);
	sk_cli_response_fini(&resp);
}

static void
test_approval_refusals_count_nothing(void **state)
{
	fixture *f = *state;
	sk_cli_request req;
	sk_cli_response resp;
	coord_rollout *ro;
	uint8_t *msg;
	size_t len = 0;
	journal_counts c;

	start(f, &ro);
	req = approval(ro->id, "rest");
	msg = sign(&req, f->alice, sk_now_ms(), NULL, &len);
	/* Before its phase is reached: counted, the phase not open. */
	assert_false(answer(f, msg, len, &resp).held);
	assert_true(resp.ok);
	assert_int_equal(resp.rollouts[0].napprovals, 1);
	assert_string_equal(resp.rollouts[0].approvals[0].operator_name, "alice");
	sk_cli_response_fini(&resp);
	assert_int_equal(coord_gate_approvals(ro, 1), 1);

	/* The same signed bytes again: a replay. */
	answer(f, msg, len, &resp);
	assert_false(resp.ok);
	assert_int_equal(resp.error.code, SK_EREFUSED);
	sk_cli_response_fini(&resp);
	free(msg);
	refused(f, f->alice, ro->id, "rest", SK_EREFUSED, "has approved it already");
	refused(f, f->admin, ro->id, "rest", SK_EREFUSED, "started the rollout");
	refused(f, f->carol, ro->id, "rest", SK_EREFUSED,
	    "not one of the phase's approvers");
	refused(f, f->viewer, ro->id, "rest", SK_EREFUSED, "needs role approver");
	refused(f, f->stranger, ro->id, "rest", SK_ECRYPTO, "");
	refused(f, f->bob, ro->id, "canary", SK_EINVAL, "the phase needs no approval");
	refused(f, f->bob, ro->id, "nosuch", SK_EINVAL, "no such phase");
	refused(f, f->bob, "r-nosuch", "rest", SK_ENOTFOUND, "no such rollout");
	assert_int_equal(coord_gate_approvals(ro, 1), 1);
	c = journal_read(f);
	assert_int_equal(c.approvals, 1);
	assert_true(c.envelope_len == len);
	assert_int_equal(c.refused, 3); /* replay, viewer, stranger: coord_auth */
}

/* A report of event from region of ro, at now. */
static void
report(fixture *f, coord_rollout *ro, const char *region, int event)
{
	sk_report r;
	bool changed;
	sk_err err;

	memset(&r, 0, sizeof(r));
	r.event = event;
	r.at_ms = sk_now_ms();
	snprintf(r.rollout_id, sizeof(r.rollout_id), "%s", ro->id);
	assert_int_equal(
	    coord_rollout_report(ro, region, &r, f->journal, &changed, &err), SK_OK);
}

static void
test_gates_hold_the_rollout(void **state)
{
	fixture *f = *state;
	sk_cli_request req;
	sk_cli_response resp;
	coord_rollout *ro;
	bool changed;
	int64_t t0;
	sk_err err;

	start(f, &ro);
	assert_true(coord_rollout_wants(ro, "af"));
	assert_false(coord_rollout_wants(ro, "in"));
	report(f, ro, "af", SK_EV_PLAN_ACCEPTED);
	t0 = sk_now_ms();
	report(f, ro, "af", SK_EV_PLAN_SUCCEEDED);
	/* Every canary region succeeded: the soak holds the next phase. */
	assert_int_equal(ro->phase, 0);
	assert_int_equal(ro->gates.phases[0].exit, COORD_GATE_EXIT_RUNNING);
	assert_int_equal(
	    coord_rollout_tick(ro, f->journal, t0 + 4000, &changed, &err), SK_OK);
	assert_false(changed);
	assert_int_equal(ro->phase, 0);
	assert_true(ro->gates.phases[0].served_ms >= 3900);
	assert_int_equal(journal_read(f).gates, 2); /* started, soak progress */
	/* A pause holds the soak: the time paused does not count. */
	ro->ctl.paused = true;
	assert_int_equal(
	    coord_rollout_tick(ro, f->journal, t0 + 9000, &changed, &err), SK_OK);
	ro->ctl.paused = false;
	assert_int_equal(
	    coord_rollout_tick(ro, f->journal, t0 + 60000, &changed, &err), SK_OK);
	assert_int_equal(ro->phase, 0);
	assert_true(ro->gates.phases[0].served_ms < 5000);
	assert_int_equal(
	    coord_rollout_tick(ro, f->journal, t0 + 66500, &changed, &err), SK_OK);
	assert_true(changed);
	/* The soak served, the rest waits for its second approval. */
	assert_int_equal(ro->phase, 1);
	assert_int_equal(ro->gates.phases[0].exit, COORD_GATE_EXIT_PASSED);
	assert_false(coord_rollout_wants(ro, "in"));
	req = approval(ro->id, "rest");
	assert_false(ask_as(f, f->alice, &req, &resp).held);
	assert_true(resp.ok);
	assert_true(resp.rollouts[0].has_gate);
	assert_string_equal(resp.rollouts[0].gate.waiting_for, "approval");
	assert_int_equal(resp.rollouts[0].gate.approvals, 1);
	sk_cli_response_fini(&resp);
	assert_false(coord_rollout_wants(ro, "in"));
	assert_true(ask_as(f, f->bob, &req, &resp).held);
	assert_true(resp.ok);
	sk_cli_response_fini(&resp);
	assert_true(coord_rollout_wants(ro, "in"));
	assert_true(coord_rollout_wants(ro, "ksa"));
	/* Now it has started, a further approval is refused. */
	refused(f, f->admin, ro->id, "rest", SK_ESTATE, "the phase has started");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_approval_refusals_count_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_gates_hold_the_rollout, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

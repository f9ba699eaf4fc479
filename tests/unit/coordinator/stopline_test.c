/* stopline_test: scoped pause, abort and the line stop (coord_opctl,
 * coord_line), answered without a socket as the skein CLI sends them. A
 * region pause holds that region (not dispatched, phase not complete);
 * an abort ends the rollout "aborted" and its agents hear ABORT; a stop
 * pauses every running rollout but the excepted, a rollout started while
 * stopped starts paused, and the lift resumes exactly those the stop
 * paused. Every refusal (viewer, unsigned, unknown or finished rollout,
 * unknown region, a stop of a stopped line, a lift of a running one, an
 * unknown --except) changes nothing, and the journal's replay restores
 * all of it with the same generations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "coord_auth.h"
#include "coord_control.h"
#include "coord_journal.h"
#include "coord_line.h"
#include "coord_opctl.h"
#include "coord_registry.h"
#include "coord_rollout.h"
#include "coord_signed_plan.h"
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
	sk_seckey *admin, *op, *viewer, *stranger;
	sk_operator operators[3];
	sk_coord_config cfg;
	coord_auth auth;
	coord_line line;
} fixture;

static char *
dup_str(const char *s)
{
	char *d = sk_strdup(s);

	assert_non_null(d);
	return d;
}

/* A plan of a SQL step (and, with backfill, a backfill step of batches
 * 100..50000) over af (canary) then in and ksa, valid for a day; named
 * name, so that two plans do not conflict. */
static uint8_t *
signed_plan(const fixture *f, const char *name, bool backfill, size_t *len)
{
	static const char *const names[] = { "af", "in", "ksa" };
	sk_plan *plan = calloc(1, sizeof(*plan));
	uint8_t *payload = NULL, *sealed = NULL;
	size_t plen = 0;
	int64_t now = sk_now_ms() / 1000;
	sk_err err;

	assert_non_null(plan);
	plan->id = dup_str(name);
	plan->name = dup_str(name);
	plan->created_unix = now - 60;
	plan->expires_unix = now + 86400;
	plan->phases = calloc(2, sizeof(*plan->phases));
	plan->regions = calloc(3, sizeof(*plan->regions));
	plan->steps = calloc(2, sizeof(*plan->steps));
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
	for (size_t i = 0; i < 3; i++)
		plan->regions[plan->nregions++] = dup_str(names[i]);
	plan->nsteps = backfill ? 2 : 1;
	plan->steps[0].id = dup_str("0001_add_region");
	plan->steps[0].kind = SK_STEP_SQL;
	plan->steps[0].sql = dup_str("ALTER TABLE accounts ADD COLUMN region text;");
	plan->steps[0].sql_path = dup_str("0001_add_region.sql");
	if (backfill) {
		sk_step *s = &plan->steps[1];

		s->id = dup_str("0002_fill_region");
		s->kind = SK_STEP_BACKFILL;
		s->backfill = calloc(1, sizeof(*s->backfill));
		assert_non_null(s->backfill);
		s->backfill->table = dup_str("accounts");
		s->backfill->update = dup_str("SET region = 'af'");
		sk_backfill_tuning_default(&s->backfill->tuning);
		s->backfill->tuning.batch_min = 100;
		s->backfill->tuning.batch_max = 50000;
	}
	for (size_t i = 0; i < plan->nsteps; i++)
		assert_int_equal(sk_step_checksum(&plan->steps[i],
				     plan->steps[i].checksum, &err),
		    SK_OK);
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
	static const char *const who[4] = { "admin", "op", "viewer", "stranger" };
	static const sk_role roles[3] = { SK_ROLE_ADMIN, SK_ROLE_OPERATOR,
		SK_ROLE_VIEWER };
	fixture *f = calloc(1, sizeof(*f));
	sk_seckey **keys[4];
	char base[128], key[160];
	sk_err err;

	if (f == NULL || sk_crypto_init(&err) != SK_OK)
		return -1;
	keys[0] = &f->admin;
	keys[1] = &f->op;
	keys[2] = &f->viewer;
	keys[3] = &f->stranger;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sk-stopline-test-XXXXXX");
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
	for (size_t i = 0; i < 4; i++) {
		snprintf(base, sizeof(base), "%s/%s", f->dir, who[i]);
		snprintf(key, sizeof(key), "%s.key", base);
		if (sk_key_generate(base, &err) != SK_OK ||
		    sk_seckey_load(key, keys[i], &err) != SK_OK)
			return -1;
		if (i == 3)
			break;
		f->operators[i].name = (char *)who[i];
		f->operators[i].role = roles[i];
		f->operators[i].key = *sk_seckey_public(*keys[i]);
	}
	f->cfg.operators = f->operators;
	f->cfg.noperators = 3;
	if (coord_auth_init(&f->auth, &f->cfg, sk_now_ms() - 1000, &err) != SK_OK)
		return -1;
	f->ctx = (coord_control_ctx){ .rollouts = &f->rollouts,
		.journal = f->journal,
		.release = &f->release,
		.inv = &f->inv,
		.auth = &f->auth,
		.line = &f->line };
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
	sk_seckey_destroy(f->op);
	sk_seckey_destroy(f->viewer);
	sk_seckey_destroy(f->stranger);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* req as key signs it now, answered into resp. */
static coord_control_effect
ask_as(fixture *f, const sk_seckey *key, const sk_cli_request *req, sk_cli_response *resp)
{
	sk_operator_request orq;
	uint8_t *body = NULL, *sealed = NULL, *reply = NULL;
	size_t blen = 0, slen = 0, rlen = 0;
	coord_control_effect effect;
	sk_err err;

	memset(&orq, 0, sizeof(orq));
	assert_int_equal(
	    sk_cli_request_encode(req, &orq.request, &orq.request_len, &err), SK_OK);
	orq.at_ms = sk_now_ms();
	randombytes_buf(orq.nonce, SK_NONCE_LEN);
	assert_int_equal(sk_operator_request_encode(&orq, &body, &blen, &err), SK_OK);
	assert_int_equal(sk_envelope_seal(&sealed, &slen, SK_KIND_OPERATOR,
			     body, blen, key, &err),
	    SK_OK);
	assert_int_equal(coord_control_answer(&f->ctx, sealed, slen, &reply,
			     &rlen, &effect, &err),
	    SK_OK);
	assert_int_equal(sk_cli_response_decode(reply, rlen, resp, &err), SK_OK);
	free(orq.request);
	free(body);
	free(sealed);
	free(reply);
	return effect;
}

/* Start plan name (with a backfill step or not) in mode as admin; its id
 * into id; the rollout. */
static coord_rollout *
start(fixture *f, const char *name, bool backfill, int mode, char *id)
{
	sk_cli_request req;
	sk_cli_response resp;
	coord_rollout *ro;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_START;
	req.mode = mode;
	req.signed_plan = signed_plan(f, name, backfill, &req.signed_plan_len);
	assert_true(ask_as(f, f->admin, &req, &resp).started);
	assert_true(resp.ok);
	snprintf(id, SK_ID_MAX, "%s", resp.rollout_id);
	sk_cli_response_fini(&resp);
	free(req.signed_plan);
	ro = coord_registry_find(&f->rollouts, id);
	assert_non_null(ro);
	return ro;
}

/* Ask, as key, to pause (reason), resume or tune (t) rollout id; the
 * answer into resp. */
static coord_control_effect
opctl(fixture *f, const sk_seckey *key, int op, const char *id,
    const char *reason, const sk_tune *t, sk_cli_response *resp)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = op;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.reason, sizeof(req.reason), "%s", reason != NULL ? reason : "");
	if (t != NULL)
		req.tune = *t;
	return ask_as(f, key, &req, resp);
}

/* op of rollout id sent unsigned (no operator envelope): refused. */
static void
unsigned_refused(fixture *f, int op, const char *id)
{
	sk_cli_request req;
	sk_cli_response resp;
	coord_control_effect e;
	uint8_t *buf = NULL, *reply = NULL;
	size_t len = 0, rlen = 0;
	sk_err err;

	memset(&req, 0, sizeof(req));
	req.op = op;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	assert_int_equal(sk_cli_request_encode(&req, &buf, &len, &err), SK_OK);
	assert_int_equal(
	    coord_control_answer(&f->ctx, buf, len, &reply, &rlen, &e, &err), SK_OK);
	assert_int_equal(sk_cli_response_decode(reply, rlen, &resp, &err), SK_OK);
	assert_false(resp.ok);
	assert_int_equal(resp.error.code, SK_ECRYPTO);
	assert_non_null(strstr(resp.error.msg, "not a signed operator request"));
	assert_false(e.held);
	sk_cli_response_fini(&resp);
	free(buf);
	free(reply);
}

/* Region of ro reports event (an agent's word). */
static bool
report(fixture *f, coord_rollout *ro, const char *region, int event)
{
	sk_report r;
	bool changed = false;
	sk_err err;

	memset(&r, 0, sizeof(r));
	r.event = event;
	snprintf(r.rollout_id, sizeof(r.rollout_id), "%s", ro->id);
	if (event == SK_EV_PLAN_FAILED) {
		r.error.code = SK_ESQL;
		snprintf(r.error.msg, sizeof(r.error.msg), "boom");
	}
	assert_int_equal(
	    coord_rollout_report(ro, region, &r, f->journal, &changed, &err), SK_OK);
	return changed;
}

/* What the journal's operator records say, replayed. */
typedef struct opctl_count {
	int records;
	int kinds[SK_CMD_MAX];
	char last_actor[SK_NAME_MAX], last_reason[SK_REASON_MAX];
} opctl_count;

static void
count_opctl(void *arg, const char *id, const coord_opctl_record *rec)
{
	opctl_count *c = arg;

	(void)id;
	c->records++;
	if (rec->kind > 0 && rec->kind < SK_CMD_MAX)
		c->kinds[rec->kind]++;
	snprintf(c->last_actor, sizeof(c->last_actor), "%s", rec->actor);
	snprintf(c->last_reason, sizeof(c->last_reason), "%s", rec->reason);
}

static opctl_count
journal_opctl(const fixture *f)
{
	static const coord_journal_visitor v = { .opctl = count_opctl };
	opctl_count c;
	coord_journal *j = NULL;
	sk_err err;

	memset(&c, 0, sizeof(c));
	assert_int_equal(coord_journal_open(f->dir, &v, &c, &j, &err), SK_OK);
	coord_journal_close(j);
	return c;
}

/* ---- pause and resume --------------------------------------------------- */

typedef struct replayed {
	coord_registry rollouts;
	coord_line line;
} replayed;

static void
replay_created(void *arg, const char *id, int64_t at_ms, const uint8_t *sp,
    size_t len, const coord_origin *origin)
{
	replayed *r = arg;
	sk_plan *plan = NULL;
	coord_rollout *ro = NULL;
	sk_err err;

	assert_int_equal(coord_signed_plan_decode(sp, len, &plan, &err), SK_OK);
	assert_int_equal(
	    coord_rollout_create(id, plan, sp, len, origin, at_ms, &ro, &err), SK_OK);
	assert_int_equal(coord_registry_add(&r->rollouts, ro, &err), SK_OK);
	coord_line_adopt(&r->line, ro, at_ms, false);
}

static void
replay_region(void *arg, const char *id, const coord_region_record *rec)
{
	coord_rollout *ro = coord_registry_find(&((replayed *)arg)->rollouts, id);

	if (ro != NULL)
		coord_rollout_replay_region(ro, rec);
}

static void
replay_phase(void *arg, const char *id, uint32_t phase, int64_t at_ms)
{
	coord_rollout *ro = coord_registry_find(&((replayed *)arg)->rollouts, id);

	if (ro != NULL)
		coord_rollout_replay_phase(ro, phase, at_ms);
}

static void
replay_finished(void *arg, const char *id, const char *state,
    const char *reason, int64_t at_ms)
{
	coord_rollout *ro = coord_registry_find(&((replayed *)arg)->rollouts, id);

	if (ro != NULL)
		coord_rollout_replay_finished(ro, state, reason, at_ms);
}

static void
replay_opctl(void *arg, const char *id, const coord_opctl_record *rec)
{
	coord_rollout *ro = coord_registry_find(&((replayed *)arg)->rollouts, id);

	if (ro != NULL)
		coord_opctl_replay(ro, rec);
}

static void
replay_line(void *arg, const coord_line_record *rec)
{
	replayed *r = arg;

	coord_line_replay(&r->line, &r->rollouts, rec);
}

/* The rollouts as a restarted coordinator would see them. */
static void
replay(const fixture *f, replayed *r)
{
	static const coord_journal_visitor v = { .created = replay_created,
		.region = replay_region,
		.phase = replay_phase,
		.finished = replay_finished,
		.opctl = replay_opctl,
		.line = replay_line };
	coord_journal *j = NULL;
	sk_err err;

	memset(r, 0, sizeof(*r));
	assert_int_equal(coord_journal_open(f->dir, &v, r, &j, &err), SK_OK);
	coord_journal_close(j);
}

/* ---- helpers ------------------------------------------------------------- */

/* Ask, as key, to pause (or resume) rollout id in region only. */
static coord_control_effect
region_op(fixture *f, const sk_seckey *key, bool pause, const char *id,
    const char *region, const char *reason, sk_cli_response *resp)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = pause ? SK_CLI_PAUSE : SK_CLI_RESUME;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.reason, sizeof(req.reason), "%s", reason != NULL ? reason : "");
	snprintf(req.regions[0], SK_NAME_MAX, "%s", region);
	req.nregions = 1;
	return ask_as(f, key, &req, resp);
}

/* Ask, as key, to stop the line (action), excepting except (or NULL). */
static coord_control_effect
stop(fixture *f, const sk_seckey *key, int action, const char *reason,
    const char *except, sk_cli_response *resp)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_STOP;
	req.stop_action = action;
	snprintf(req.reason, sizeof(req.reason), "%s", reason != NULL ? reason : "");
	if (except != NULL)
		snprintf(req.except[req.nexcept++], SK_ID_MAX, "%s", except);
	return ask_as(f, key, &req, resp);
}

static void
expect_refusal(sk_cli_response *resp, coord_control_effect e, int code, const char *what)
{
	assert_false(resp->ok);
	assert_int_equal(resp->error.code, code);
	if (strstr(resp->error.msg, what) == NULL)
		fail_msg("refusal '%s' does not say '%s'", resp->error.msg, what);
	assert_false(e.held);
	assert_false(e.started);
	sk_cli_response_fini(resp);
}

/* The commands agent of region, running ro, is sent now. */
static size_t
commands_for(const coord_rollout *ro, const char *region, sk_command *out)
{
	coord_opctl_peer p;
	sk_agent_msg m;
	char running[1][SK_NAME_MAX];

	memset(&m, 0, sizeof(m));
	snprintf(m.region, sizeof(m.region), "%s", region);
	snprintf(running[0], SK_NAME_MAX, "%s", ro->id);
	m.running = running;
	m.nrunning = 1;
	coord_opctl_peer_reset(&p);
	coord_opctl_peer_note(&p, &m);
	return coord_opctl_commands(&p, ro, sk_mono_ms(), out);
}

/* ---- scoped pause ------------------------------------------------------- */

static void
test_region_pause_holds_that_region_and_its_phase(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = start(f, "plan-a", false, SK_MODE_APPLY, id);
	sk_cli_response resp;
	sk_command cmds[COORD_OPCTL_COMMANDS_MAX];
	coord_control_effect e;

	e = region_op(f, f->op, true, id, "af", "replica lag", &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_int_equal(resp.rollouts[0].nregion_pauses, 1);
	assert_string_equal(resp.rollouts[0].region_pauses[0].region, "af");
	assert_string_equal(resp.rollouts[0].region_pauses[0].by, "op");
	assert_string_equal(resp.rollouts[0].region_pauses[0].reason, "replica lag");
	assert_false(resp.rollouts[0].paused);
	assert_int_equal(resp.rollouts[0].ncontrols, 1);
	assert_int_equal(resp.rollouts[0].controls[0].kind, SK_CMD_PAUSE);
	assert_int_equal(resp.rollouts[0].controls[0].nregions, 1);
	sk_cli_response_fini(&resp);
	assert_false(coord_rollout_wants(ro, "af"));
	/* Its agent holds; the region's pause is what it hears. */
	assert_int_equal(commands_for(ro, "af", cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_PAUSE);
	assert_string_equal(cmds[0].actor, "op");
	/* An agent of another region that runs it is told to go on. */
	assert_int_equal(commands_for(ro, "in", cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_RESUME);
	/* af finishes its running step and the plan: the phase does not
	 * complete while af is paused. */
	report(f, ro, "af", SK_EV_PLAN_SUCCEEDED);
	assert_int_equal(ro->phase, 0);
	assert_false(coord_rollout_wants(ro, "in"));
	e = region_op(f, f->op, false, id, "af", NULL, &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_int_equal(resp.rollouts[0].nregion_pauses, 0);
	sk_cli_response_fini(&resp);
	assert_int_equal(ro->phase, 1);
	assert_true(coord_rollout_wants(ro, "in"));
	/* A paused region of a later phase is not started. */
	e = region_op(f, f->op, true, id, "ksa", NULL, &resp);
	assert_true(resp.ok);
	sk_cli_response_fini(&resp);
	assert_false(coord_rollout_wants(ro, "ksa"));
	assert_true(coord_rollout_wants(ro, "in"));
}

static void
test_region_pause_refusals_change_nothing(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = start(f, "plan-a", false, SK_MODE_APPLY, id);
	sk_cli_response resp;
	sk_cli_request req;
	coord_control_effect e;
	uint64_t gen = ro->ctl.gen;

	e = region_op(f, f->op, true, id, "mars", NULL, &resp);
	expect_refusal(&resp, e, SK_EINVAL, "has no region mars");
	e = region_op(f, f->op, false, id, "af", NULL, &resp);
	expect_refusal(&resp, e, SK_ESTATE, "not paused there");
	e = region_op(f, f->viewer, true, id, "af", NULL, &resp);
	expect_refusal(&resp, e, SK_EREFUSED, "needs role operator");
	e = region_op(f, f->op, true, "r-nope", "af", NULL, &resp);
	expect_refusal(&resp, e, SK_ENOTFOUND, "no such rollout");
	e = region_op(f, f->op, true, id, "af", "two\nlines", &resp);
	expect_refusal(&resp, e, SK_EINVAL, "control character");
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_PAUSE;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.regions[0], SK_NAME_MAX, "af");
	snprintf(req.regions[1], SK_NAME_MAX, "af");
	req.nregions = 2;
	e = ask_as(f, f->op, &req, &resp);
	expect_refusal(&resp, e, SK_EINVAL, "named twice");
	/* The whole rollout paused: a region cannot be paused on its own. */
	assert_true(opctl(f, f->op, SK_CLI_PAUSE, id, "", NULL, &resp).held);
	sk_cli_response_fini(&resp);
	gen = ro->ctl.gen;
	e = region_op(f, f->op, true, id, "af", NULL, &resp);
	expect_refusal(&resp, e, SK_ESTATE, "whole rollout is paused");
	unsigned_refused(f, SK_CLI_PAUSE, id);
	assert_int_equal(ro->ctl.gen, gen);
	assert_false(ro->regions[0].paused);
	assert_int_equal(journal_opctl(f).records, 1);
}

/* ---- abort -------------------------------------------------------------- */

static void
test_abort_ends_the_rollout_and_its_agents_hear_it(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = start(f, "plan-a", false, SK_MODE_APPLY, id);
	sk_cli_response resp;
	sk_cli_request req;
	sk_command cmds[COORD_OPCTL_COMMANDS_MAX];
	coord_control_effect e;
	const char **names = NULL;
	size_t n = 0;
	sk_err err;

	report(f, ro, "af", SK_EV_PLAN_ACCEPTED);
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_ABORT;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.reason, sizeof(req.reason), "wrong plan");
	e = ask_as(f, f->viewer, &req, &resp);
	expect_refusal(&resp, e, SK_EREFUSED, "needs role operator");
	unsigned_refused(f, SK_CLI_ABORT, id);
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	e = ask_as(f, f->op, &req, &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_string_equal(resp.rollouts[0].state, "aborted");
	assert_int_equal(resp.rollouts[0].ncontrols, 1);
	assert_int_equal(resp.rollouts[0].controls[0].kind, SK_CMD_ABORT);
	assert_string_equal(resp.rollouts[0].controls[0].actor, "op");
	assert_string_equal(resp.rollouts[0].controls[0].reason, "wrong plan");
	sk_cli_response_fini(&resp);
	assert_int_equal(ro->state, COORD_RO_ABORTED);
	assert_false(coord_rollout_wants(ro, "af"));
	assert_false(coord_rollout_wants(ro, "in"));
	assert_int_equal(commands_for(ro, "af", cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_ABORT);
	/* Its running region has not said how its step ended: no rollback. */
	assert_int_equal(
	    coord_rollout_rollback_regions(ro, NULL, &names, &n, &err), SK_ESTATE);
	assert_non_null(strstr(err.msg, "has not yet reported"));
	/* Aborting it again, or an unknown one: refused, nothing changes. */
	e = ask_as(f, f->op, &req, &resp);
	expect_refusal(&resp, e, SK_ESTATE, "it has finished (aborted)");
	snprintf(req.rollout_id, sizeof(req.rollout_id), "r-nope");
	e = ask_as(f, f->op, &req, &resp);
	expect_refusal(&resp, e, SK_ENOTFOUND, "no such rollout");
	assert_int_equal(journal_opctl(f).kinds[SK_CMD_ABORT], 1);
	/* The region reports its end (the agent failed it as aborted): now
	 * the rollback may run there. */
	report(f, ro, "af", SK_EV_PLAN_FAILED);
	assert_int_equal(ro->state, COORD_RO_ABORTED);
	assert_int_equal(
	    coord_rollout_rollback_regions(ro, NULL, &names, &n, &err), SK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "af");
	free(names);
}

/* ---- stop the line ------------------------------------------------------ */

static void
test_stop_pauses_all_but_excepted_and_lift_resumes_only_those(void **state)
{
	fixture *f = *state;
	char a[SK_ID_MAX], b[SK_ID_MAX], c[SK_ID_MAX], d[SK_ID_MAX];
	coord_rollout *ra = start(f, "plan-a", false, SK_MODE_APPLY, a);
	coord_rollout *rb = start(f, "plan-b", false, SK_MODE_APPLY, b);
	coord_rollout *rc = start(f, "plan-c", false, SK_MODE_APPLY, c);
	coord_rollout *rd;
	sk_cli_response resp;
	coord_control_effect e;

	assert_true(opctl(f, f->op, SK_CLI_PAUSE, c, "mine", NULL, &resp).held);
	sk_cli_response_fini(&resp);
	/* A viewer may look at the line, not stop it; a lift of a running
	 * line is refused. */
	e = stop(f, f->viewer, SK_STOP_STATUS, NULL, NULL, &resp);
	assert_true(resp.ok);
	assert_true(resp.has_line);
	assert_false(resp.line.stopped);
	assert_false(e.held);
	sk_cli_response_fini(&resp);
	e = stop(f, f->viewer, SK_STOP_ALL, NULL, NULL, &resp);
	expect_refusal(&resp, e, SK_EREFUSED, "needs role operator");
	e = stop(f, f->op, SK_STOP_LIFT, NULL, NULL, &resp);
	expect_refusal(&resp, e, SK_ESTATE, "not stopped");
	e = stop(f, f->op, SK_STOP_ALL, "incident", "r-nope", &resp);
	expect_refusal(&resp, e, SK_ENOTFOUND, "no such rollout");
	unsigned_refused(f, SK_CLI_STOP, "");
	assert_false(f->line.stopped);
	assert_false(ra->ctl.paused);

	e = stop(f, f->op, SK_STOP_ALL, "incident 42", b, &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_true(resp.has_line);
	assert_true(resp.line.stopped);
	assert_string_equal(resp.line.by, "op");
	assert_string_equal(resp.line.reason, "incident 42");
	assert_int_equal(resp.line.npaused, 1);
	assert_string_equal(resp.line.paused[0], a);
	sk_cli_response_fini(&resp);
	assert_true(ra->ctl.paused);
	assert_true(ra->ctl.by_line);
	assert_false(rb->ctl.paused);
	assert_true(rc->ctl.paused);
	assert_false(rc->ctl.by_line);
	assert_false(coord_rollout_wants(ra, "af"));
	assert_true(coord_rollout_wants(rb, "af"));
	e = stop(f, f->op, SK_STOP_ALL, NULL, NULL, &resp);
	expect_refusal(&resp, e, SK_ESTATE, "already stopped");
	/* Started while stopped: starts paused, by the line. */
	rd = start(f, "plan-d", false, SK_MODE_APPLY, d);
	assert_true(rd->ctl.paused);
	assert_true(rd->ctl.by_line);
	assert_false(coord_rollout_wants(rd, "af"));

	e = stop(f, f->op, SK_STOP_LIFT, NULL, NULL, &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_false(resp.line.stopped);
	sk_cli_response_fini(&resp);
	assert_false(ra->ctl.paused);
	assert_false(rd->ctl.paused);
	assert_true(rc->ctl.paused); /* paused by an operator: stays */
	assert_true(coord_rollout_wants(ra, "af"));
}

/* ---- replay ------------------------------------------------------------- */

static void
test_replay_restores_region_pauses_aborts_and_the_line(void **state)
{
	fixture *f = *state;
	char a[SK_ID_MAX], b[SK_ID_MAX], c[SK_ID_MAX], d[SK_ID_MAX];
	coord_rollout *ra = start(f, "plan-a", false, SK_MODE_APPLY, a);
	coord_rollout *rb = start(f, "plan-b", false, SK_MODE_APPLY, b);
	coord_rollout *rc = start(f, "plan-c", false, SK_MODE_APPLY, c);
	coord_rollout *rd, *x;
	sk_cli_response resp;
	sk_cli_request req;
	replayed r;

	assert_true(region_op(f, f->op, true, a, "af", "lag", &resp).held);
	sk_cli_response_fini(&resp);
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_ABORT;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", b);
	assert_true(ask_as(f, f->op, &req, &resp).held);
	sk_cli_response_fini(&resp);
	assert_true(stop(f, f->admin, SK_STOP_ALL, "freeze", NULL, &resp).held);
	sk_cli_response_fini(&resp);
	rd = start(f, "plan-d", false, SK_MODE_APPLY, d);

	replay(f, &r);
	assert_true(r.line.stopped);
	assert_string_equal(r.line.by, "admin");
	assert_string_equal(r.line.reason, "freeze");
	x = coord_registry_find(&r.rollouts, a);
	assert_true(x->regions[0].paused);
	assert_string_equal(x->regions[0].pause_reason, "lag");
	assert_true(x->ctl.paused && x->ctl.by_line);
	assert_int_equal(x->ctl.gen, ra->ctl.gen);
	assert_int_equal(x->ctl.nhist, ra->ctl.nhist);
	x = coord_registry_find(&r.rollouts, b);
	assert_int_equal(x->state, COORD_RO_ABORTED);
	assert_int_equal(x->ctl.gen, rb->ctl.gen);
	x = coord_registry_find(&r.rollouts, c);
	assert_true(x->ctl.paused && x->ctl.by_line);
	assert_int_equal(x->ctl.gen, rc->ctl.gen);
	x = coord_registry_find(&r.rollouts, d);
	assert_true(x->ctl.paused && x->ctl.by_line);
	assert_int_equal(x->ctl.gen, rd->ctl.gen);
	coord_registry_fini(&r.rollouts);

	/* Lifted, then replayed: every rollout the stop held runs again. */
	assert_true(stop(f, f->admin, SK_STOP_LIFT, NULL, NULL, &resp).held);
	sk_cli_response_fini(&resp);
	replay(f, &r);
	assert_false(r.line.stopped);
	x = coord_registry_find(&r.rollouts, d);
	assert_false(x->ctl.paused);
	assert_int_equal(x->ctl.gen, rd->ctl.gen);
	x = coord_registry_find(&r.rollouts, a);
	assert_false(x->ctl.paused);
	assert_true(x->regions[0].paused); /* its own pause stays */
	coord_registry_fini(&r.rollouts);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_region_pause_holds_that_region_and_its_phase),
		T(test_region_pause_refusals_change_nothing),
		T(test_abort_ends_the_rollout_and_its_agents_hear_it),
		T(test_stop_pauses_all_but_excepted_and_lift_resumes_only_those),
		T(test_replay_restores_region_pauses_aborts_and_the_line),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* abort_scope_test: skein rollout abort ID --region R (coord_opctl,
 * coord_rollout), answered without a socket as the skein CLI sends it.
 * A running region aborted on its own hears ABORT (no other region
 * does), ends failed with who aborted it and why once it reports, and
 * the rollout then halts; a pending one fails at once and a later phase
 * never starts; every refusal (viewer, unsigned, finished rollout,
 * unknown, twice named, finished or already aborted region) changes
 * nothing; and the journal's replay restores all of it. (The fixture
 * is stopline_test.c's, until coord_testfix holds it.) */
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
	snprintf(f->dir, sizeof(f->dir), "/tmp/sk-abort-scope-test-XXXXXX");
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

/* ---- helpers for a scoped abort ----------------------------------------- */

/* An abort of rollout id in regions (n of them), with reason. */
static sk_cli_request
abort_req(const char *id, const char *const *regions, size_t n, const char *reason)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_ABORT;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.reason, sizeof(req.reason), "%s", reason != NULL ? reason : "");
	for (size_t i = 0; i < n; i++)
		snprintf(req.regions[req.nregions++], SK_NAME_MAX, "%s", regions[i]);
	return req;
}

/* Region of ro reports event with database app at step (an agent's
 * word about a database). */
static void
report_db(fixture *f, coord_rollout *ro, const char *region, int event, const char *step)
{
	sk_report r;
	bool changed = false;
	sk_err err;

	memset(&r, 0, sizeof(r));
	r.event = event;
	snprintf(r.rollout_id, sizeof(r.rollout_id), "%s", ro->id);
	snprintf(r.database, sizeof(r.database), "app");
	snprintf(r.step_id, sizeof(r.step_id), "%s", step);
	r.at_ms = sk_now_ms();
	assert_int_equal(
	    coord_rollout_report(ro, region, &r, f->journal, &changed, &err), SK_OK);
}

/* Dispatch region of ro and have it take the plan and start its first
 * step in database app. */
static void
run_region(fixture *f, coord_rollout *ro, const char *region)
{
	sk_err err;

	assert_true(coord_rollout_wants(ro, region));
	assert_int_equal(
	    coord_rollout_dispatched(ro, region, f->journal, sk_now_ms(), &err), SK_OK);
	report(f, ro, region, SK_EV_PLAN_ACCEPTED);
	report_db(f, ro, region, SK_EV_DB_STARTED, "0001_add_region");
	report_db(f, ro, region, SK_EV_STEP_STARTED, "0001_add_region");
}

/* The same abort, unsigned: refused as not an operator's. */
static void
unsigned_abort_refused(fixture *f, const sk_cli_request *req)
{
	sk_cli_response resp;
	coord_control_effect e;
	uint8_t *buf = NULL, *reply = NULL;
	size_t len = 0, rlen = 0;
	sk_err err;

	assert_int_equal(sk_cli_request_encode(req, &buf, &len, &err), SK_OK);
	assert_int_equal(
	    coord_control_answer(&f->ctx, buf, len, &reply, &rlen, &e, &err), SK_OK);
	assert_int_equal(sk_cli_response_decode(reply, rlen, &resp, &err), SK_OK);
	assert_false(resp.ok);
	assert_int_equal(resp.error.code, SK_ECRYPTO);
	assert_false(e.held);
	sk_cli_response_fini(&resp);
	free(buf);
	free(reply);
}

/* ---- a running region ----------------------------------------------------- */

static void
test_running_region_aborted_hears_abort_and_fails_the_rollout_once_it_reports(
    void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = start(f, "plan-a", false, SK_MODE_APPLY, id);
	const char *in[] = { "in" };
	sk_cli_request req = abort_req(id, in, 1, "bad index");
	sk_command cmds[COORD_OPCTL_COMMANDS_MAX];
	sk_cli_response resp;
	coord_control_effect e;
	coord_region_run *rin, *rksa;
	const char **names = NULL;
	size_t n = 0;
	sk_err err;

	run_region(f, ro, "af");
	report(f, ro, "af", SK_EV_PLAN_SUCCEEDED);
	assert_int_equal(ro->phase, 1);
	run_region(f, ro, "in");
	run_region(f, ro, "ksa");
	rin = coord_rollout_region(ro, "in");
	rksa = coord_rollout_region(ro, "ksa");

	e = ask_as(f, f->op, &req, &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_string_equal(resp.rollouts[0].state, "running");
	assert_int_equal(resp.rollouts[0].ncontrols, 1);
	assert_int_equal(resp.rollouts[0].controls[0].kind, SK_CMD_ABORT);
	assert_int_equal(resp.rollouts[0].controls[0].nregions, 1);
	assert_string_equal(resp.rollouts[0].controls[0].regions[0], "in");
	assert_string_equal(resp.rollouts[0].controls[0].actor, "op");
	/* What it left: in's database only (af and ksa were not aborted). */
	assert_int_equal(resp.rollouts[0].nleft, 1);
	assert_string_equal(resp.rollouts[0].left[0].region, "in");
	assert_string_equal(resp.rollouts[0].left[0].step, "0001_add_region");
	assert_false(resp.rollouts[0].left[0].step_finished);
	sk_cli_response_fini(&resp);

	assert_true(rin->aborted);
	assert_false(rin->abort_unstarted);
	assert_int_equal(rin->state, COORD_R_RUNNING);
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	/* Only in's agent hears ABORT, with who and why. */
	assert_int_equal(commands_for(ro, "in", cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_ABORT);
	assert_string_equal(cmds[0].actor, "op");
	assert_string_equal(cmds[0].reason, "bad index");
	assert_int_equal(commands_for(ro, "ksa", cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_RESUME);
	assert_int_equal(commands_for(ro, "af", cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_RESUME);

	/* ksa finishes its steps; the rollout waits for in. */
	report(f, ro, "ksa", SK_EV_PLAN_SUCCEEDED);
	assert_int_equal(rksa->state, COORD_R_SUCCEEDED);
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	assert_int_equal(
	    coord_rollout_rollback_regions(ro, NULL, &names, &n, &err), SK_ESTATE);
	assert_non_null(strstr(err.msg, "still running"));
	/* in finishes its running step and fails the rest as aborted: the
	 * region ends failed with who and why, the rollout halts. */
	report_db(f, ro, "in", SK_EV_STEP_FINISHED, "0001_add_region");
	report(f, ro, "in", SK_EV_PLAN_FAILED);
	assert_int_equal(rin->state, COORD_R_FAILED);
	assert_non_null(strstr(rin->error.msg, "region in aborted by op (key "));
	assert_non_null(strstr(rin->error.msg, ": bad index"));
	assert_int_equal(ro->state, COORD_RO_FAILED);
	assert_non_null(strstr(ro->reason, "aborted by op"));
	/* A rollback of the failed rollout runs where it ran. */
	assert_int_equal(
	    coord_rollout_rollback_regions(ro, NULL, &names, &n, &err), SK_OK);
	assert_int_equal(n, 3);
	free(names);
	assert_int_equal(journal_opctl(f).kinds[SK_CMD_ABORT], 1);
}

/* A region that reports success after the abort (its running step was
 * its last) still ends failed as aborted: the operator's word stands. */
static void
test_aborted_region_that_reports_success_still_ends_failed(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = start(f, "plan-a", false, SK_MODE_APPLY, id);
	const char *af[] = { "af" };
	sk_cli_request req = abort_req(id, af, 1, "");
	sk_cli_response resp;

	run_region(f, ro, "af");
	assert_true(ask_as(f, f->op, &req, &resp).held);
	assert_true(resp.ok);
	sk_cli_response_fini(&resp);
	report(f, ro, "af", SK_EV_PLAN_SUCCEEDED);
	assert_int_equal(ro->regions[0].state, COORD_R_FAILED);
	assert_non_null(strstr(ro->regions[0].error.msg, "aborted by op"));
	assert_int_equal(ro->state, COORD_RO_FAILED);
	assert_int_equal(ro->phase, 0); /* rest never started */
	assert_false(coord_rollout_wants(ro, "in"));
}

/* ---- a pending region ---------------------------------------------------- */

static void
test_pending_region_aborted_fails_at_once_and_no_later_phase_starts(void **state)
{
	fixture *f = *state;
	char a[SK_ID_MAX], b[SK_ID_MAX];
	coord_rollout *ra = start(f, "plan-a", false, SK_MODE_APPLY, a);
	coord_rollout *rb = start(f, "plan-b", false, SK_MODE_APPLY, b);
	const char *ksa[] = { "ksa" }, *af[] = { "af" };
	sk_cli_request req = abort_req(a, ksa, 1, "ksa freeze");
	sk_command cmds[COORD_OPCTL_COMMANDS_MAX];
	sk_cli_response resp;
	coord_region_run *rk = coord_rollout_region(ra, "ksa");
	const char **names = NULL;
	size_t n = 0;
	sk_err err;

	run_region(f, ra, "af");
	assert_true(ask_as(f, f->op, &req, &resp).held);
	assert_true(resp.ok);
	assert_int_equal(resp.rollouts[0].nleft, 0); /* nothing ran in ksa */
	sk_cli_response_fini(&resp);
	assert_true(rk->abort_unstarted);
	assert_int_equal(rk->state, COORD_R_FAILED);
	assert_non_null(strstr(rk->error.msg, "region ksa aborted by op"));
	assert_non_null(strstr(rk->error.msg, "had not started"));
	assert_int_equal(ra->state, COORD_RO_RUNNING); /* af runs on */
	assert_int_equal(commands_for(ra, "af", cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_RESUME);
	/* The canary ends well; the rollout halts there: rest never starts. */
	report(f, ra, "af", SK_EV_PLAN_SUCCEEDED);
	assert_int_equal(ra->state, COORD_RO_FAILED);
	assert_int_equal(ra->phase, 0);
	assert_false(coord_rollout_wants(ra, "in"));
	assert_int_equal(coord_rollout_region(ra, "in")->state, COORD_R_PENDING);
	assert_non_null(strstr(ra->reason, "region ksa aborted by op"));
	/* The rollback undoes af only: nothing ran in ksa. */
	assert_int_equal(
	    coord_rollout_rollback_regions(ra, NULL, &names, &n, &err), SK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "af");
	free(names);

	/* A pending region of the current phase: the rollout halts now. */
	req = abort_req(b, af, 1, NULL);
	assert_true(ask_as(f, f->op, &req, &resp).held);
	assert_true(resp.ok);
	assert_string_equal(resp.rollouts[0].state, "failed");
	sk_cli_response_fini(&resp);
	assert_int_equal(rb->state, COORD_RO_FAILED);
	assert_false(coord_rollout_wants(rb, "af"));
	assert_int_equal(
	    coord_rollout_rollback_regions(rb, NULL, &names, &n, &err), SK_ESTATE);
	assert_non_null(strstr(err.msg, "reached no region"));
}

/* ---- refusals ------------------------------------------------------------ */

/* req as op is refused with code and what; nothing changed in ro. */
static void
refused_nothing_changed(fixture *f, const sk_seckey *key, coord_rollout *ro,
    const sk_cli_request *req, int code, const char *what)
{
	uint64_t gen = ro->ctl.gen;
	size_t nhist = ro->ctl.nhist;
	int records = journal_opctl(f).records, states[3];
	sk_cli_response resp;
	coord_control_effect e;

	for (size_t i = 0; i < 3; i++)
		states[i] = ro->regions[i].state;
	e = ask_as(f, key, req, &resp);
	assert_false(resp.ok);
	assert_int_equal(resp.error.code, code);
	if (strstr(resp.error.msg, what) == NULL)
		fail_msg("refusal '%s' does not say '%s'", resp.error.msg, what);
	assert_false(e.held);
	sk_cli_response_fini(&resp);
	assert_int_equal(ro->ctl.gen, gen);
	assert_int_equal(ro->ctl.nhist, nhist);
	assert_int_equal(journal_opctl(f).records, records);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(ro->regions[i].state, states[i]);
}

static void
test_scoped_abort_refusals_change_nothing(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = start(f, "plan-a", false, SK_MODE_APPLY, id);
	const char *zz[] = { "zz" }, *twice[] = { "in", "in" },
		   *af[] = { "af" }, *in[] = { "in" }, *ksa[] = { "ksa" };
	sk_cli_request req;
	sk_cli_response resp;
	int records;

	run_region(f, ro, "af");
	req = abort_req(id, in, 1, "x");
	refused_nothing_changed(
	    f, f->viewer, ro, &req, SK_EREFUSED, "needs role operator");
	unsigned_abort_refused(f, &req);
	req = abort_req(id, zz, 1, NULL);
	refused_nothing_changed(
	    f, f->op, ro, &req, SK_EINVAL, "the rollout has no region zz");
	req = abort_req(id, twice, 2, NULL);
	refused_nothing_changed(f, f->op, ro, &req, SK_EINVAL, "region in named twice");
	req = abort_req(id, in, 1, "two\nlines");
	refused_nothing_changed(f, f->op, ro, &req, SK_EINVAL, "control character");
	/* A region that finished. */
	report(f, ro, "af", SK_EV_PLAN_SUCCEEDED);
	req = abort_req(id, af, 1, NULL);
	refused_nothing_changed(f, f->op, ro, &req, SK_ESTATE,
	    "the region has finished (succeeded)");
	/* One already aborted (running on to its step's end), alone or
	 * with another. */
	run_region(f, ro, "in");
	run_region(f, ro, "ksa");
	req = abort_req(id, in, 1, NULL);
	assert_true(ask_as(f, f->op, &req, &resp).held);
	sk_cli_response_fini(&resp);
	records = journal_opctl(f).records;
	assert_int_equal(records, 1);
	refused_nothing_changed(f, f->op, ro, &req, SK_ESTATE, "already aborted there");
	req = abort_req(id, (const char *[]){ "ksa", "in" }, 2, NULL);
	refused_nothing_changed(f, f->op, ro, &req, SK_ESTATE, "already aborted there");
	assert_false(coord_rollout_region(ro, "ksa")->aborted);
	/* A finished rollout: in reports its end, the rollout halts. */
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	report(f, ro, "in", SK_EV_PLAN_FAILED);
	assert_int_equal(ro->state, COORD_RO_FAILED);
	req = abort_req(id, ksa, 1, NULL);
	refused_nothing_changed(
	    f, f->op, ro, &req, SK_ESTATE, "it has finished (failed)");
	req = abort_req("r-nope", ksa, 1, NULL);
	refused_nothing_changed(f, f->op, ro, &req, SK_ENOTFOUND, "no such rollout");
}

/* ---- replay -------------------------------------------------------------- */

static void
test_replay_keeps_regions_aborted(void **state)
{
	fixture *f = *state;
	char a[SK_ID_MAX], b[SK_ID_MAX], c[SK_ID_MAX];
	coord_rollout *ra = start(f, "plan-a", false, SK_MODE_APPLY, a);
	coord_rollout *rb = start(f, "plan-b", false, SK_MODE_APPLY, b);
	coord_rollout *rc = start(f, "plan-c", false, SK_MODE_APPLY, c), *x;
	const char *af[] = { "af" }, *ksa[] = { "ksa" };
	const char *regions[] = { "in" };
	coord_opctl_record rec = { .kind = SK_CMD_ABORT,
		.actor = "op",
		.actor_key = "",
		.reason = "crash",
		.at_ms = sk_now_ms(),
		.regions = regions,
		.nregions = 1 };
	sk_cli_request req;
	sk_cli_response resp;
	bool changed = false;
	sk_err err;
	replayed r;

	/* a: af aborted while running, not yet reported. */
	run_region(f, ra, "af");
	req = abort_req(a, af, 1, "lag");
	assert_true(ask_as(f, f->op, &req, &resp).held);
	sk_cli_response_fini(&resp);
	/* b: ksa aborted while pending. */
	run_region(f, rb, "af");
	req = abort_req(b, ksa, 1, NULL);
	assert_true(ask_as(f, f->op, &req, &resp).held);
	sk_cli_response_fini(&resp);
	/* c: in aborted, the coordinator killed before in's failure was
	 * journaled (only the abort's record is). */
	run_region(f, rc, "af");
	assert_int_equal(coord_journal_opctl(f->journal, c, &rec, &err), SK_OK);

	replay(f, &r);
	x = coord_registry_find(&r.rollouts, a);
	assert_true(x->regions[0].aborted);
	assert_false(x->regions[0].abort_unstarted);
	assert_string_equal(x->regions[0].aborted_by, "op");
	assert_string_equal(x->regions[0].abort_reason, "lag");
	assert_int_equal(x->regions[0].state, COORD_R_RUNNING);
	assert_int_equal(x->state, COORD_RO_RUNNING);
	assert_false(coord_rollout_wants(x, "af"));
	assert_int_equal(x->ctl.gen, ra->ctl.gen);
	assert_int_equal(x->ctl.nhist, 1);
	assert_int_equal(x->ctl.hist[0].nregions, 1);
	/* Its agent reports to the restarted coordinator: it ends failed. */
	{
		sk_report rep;

		memset(&rep, 0, sizeof(rep));
		rep.event = SK_EV_PLAN_FAILED;
		assert_int_equal(
		    coord_rollout_report(x, "af", &rep, f->journal, &changed, &err),
		    SK_OK);
	}
	assert_int_equal(x->state, COORD_RO_FAILED);
	assert_non_null(strstr(x->regions[0].error.msg, "aborted by op"));
	x = coord_registry_find(&r.rollouts, b);
	assert_int_equal(x->regions[2].state, COORD_R_FAILED);
	assert_true(x->regions[2].abort_unstarted);
	assert_string_equal(x->regions[2].error.msg,
	    coord_rollout_region(rb, "ksa")->error.msg);
	assert_int_equal(x->ctl.gen, rb->ctl.gen);
	x = coord_registry_find(&r.rollouts, c);
	assert_true(x->regions[1].aborted);
	assert_int_equal(x->regions[1].state, COORD_R_PENDING);
	/* Settling after replay finishes what the crash interrupted. */
	assert_int_equal(coord_rollout_settle(x, f->journal, &changed, &err), SK_OK);
	assert_int_equal(x->regions[1].state, COORD_R_FAILED);
	assert_non_null(strstr(x->regions[1].error.msg, "aborted by op"));
	assert_false(coord_rollout_wants(x, "in"));
	coord_registry_fini(&r.rollouts);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_running_region_aborted_hears_abort_and_fails_the_rollout_once_it_reports),
		T(test_aborted_region_that_reports_success_still_ends_failed),
		T(test_pending_region_aborted_fails_at_once_and_no_later_phase_starts),
		T(test_scoped_abort_refusals_change_nothing),
		T(test_replay_keeps_regions_aborted),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}

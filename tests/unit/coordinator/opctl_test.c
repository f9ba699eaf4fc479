/* opctl_test: an operator's pause, resume and tune of a running rollout
 * (coord_opctl), answered without a socket, as the skein CLI sends them
 * (signed operator requests). A pause is journaled with who and why,
 * holds the next phase and dispatches nothing; a resume starts the phase
 * it held back; tunes merge. Every refusal — a role below operator, an
 * unknown signer, an unknown or finished rollout, a rehearsal, a second
 * pause, a resume of what is not paused, a bad reason, a tune of a plan
 * with no backfill, an empty tune, a batch out of bounds or batch_min
 * above batch_max once merged — changes nothing: not the rollout, not the
 * journal's operator records. The journal's replay restores the pause
 * and the merged tune with the same control generation; a pause ends
 * with its rollout; and each agent running a rollout is sent the state
 * it has not applied, again after COORD_OPCTL_RESEND_MS, and never in a
 * loop. */
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
	snprintf(f->dir, sizeof(f->dir), "/tmp/sk-opctl-test-XXXXXX");
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

/* opctl, expecting a refusal with code and a message containing what;
 * the effect says nothing happened. */
static void
refused(fixture *f, const sk_seckey *key, int op, const char *id,
    const char *reason, const sk_tune *t, int code, const char *what)
{
	sk_cli_response resp;
	coord_control_effect e = opctl(f, key, op, id, reason, t, &resp);

	assert_false(resp.ok);
	assert_int_equal(resp.error.code, code);
	if (strstr(resp.error.msg, what) == NULL)
		fail_msg("refusal '%s' does not say '%s'", resp.error.msg, what);
	assert_false(e.held);
	assert_false(e.started);
	sk_cli_response_fini(&resp);
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

static void
test_opctl_pause_holds_the_next_phase_and_resume_starts_it(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = start(f, "plan-a", false, SK_MODE_APPLY, id);
	sk_cli_response resp;
	coord_control_effect e;
	opctl_count c;

	assert_true(coord_rollout_wants(ro, "af"));
	e = opctl(f, f->op, SK_CLI_PAUSE, id, "replica lag", NULL, &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_string_equal(resp.rollout_id, id);
	assert_int_equal(resp.nrollouts, 1);
	assert_true(resp.rollouts[0].paused);
	assert_string_equal(resp.rollouts[0].paused_by, "op");
	assert_string_not_equal(resp.rollouts[0].paused_by_key, "");
	assert_string_equal(resp.rollouts[0].pause_reason, "replica lag");
	assert_true(resp.rollouts[0].paused_ms > 0);
	sk_cli_response_fini(&resp);
	c = journal_opctl(f);
	assert_int_equal(c.records, 1);
	assert_int_equal(c.kinds[SK_CMD_PAUSE], 1);
	assert_string_equal(c.last_actor, "op");
	assert_string_equal(c.last_reason, "replica lag");

	/* Paused: nothing is dispatched, and the canary's success does not
	 * start the next phase. */
	assert_false(coord_rollout_wants(ro, "af"));
	assert_false(report(f, ro, "af", SK_EV_PLAN_ACCEPTED));
	assert_false(report(f, ro, "af", SK_EV_PLAN_SUCCEEDED));
	assert_int_equal(ro->phase, 0);
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	assert_false(coord_rollout_wants(ro, "in"));

	e = opctl(f, f->op, SK_CLI_RESUME, id, NULL, NULL, &resp);
	assert_true(resp.ok);
	assert_true(e.held);
	assert_false(resp.rollouts[0].paused);
	sk_cli_response_fini(&resp);
	assert_false(ro->ctl.paused);
	assert_int_equal(ro->phase, 1);
	assert_true(coord_rollout_wants(ro, "in"));
	assert_true(coord_rollout_wants(ro, "ksa"));
	c = journal_opctl(f);
	assert_int_equal(c.kinds[SK_CMD_RESUME], 1);
	assert_int_equal(ro->ctl.gen, 2);
}

static void
test_opctl_refusals_change_nothing(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX], reh[SK_ID_MAX], done[SK_ID_MAX];
	coord_rollout *ro = start(f, "plan-a", true, SK_MODE_APPLY, id);
	coord_rollout *rh = start(f, "plan-r", false, SK_MODE_REHEARSE, reh);
	coord_rollout *fin = start(f, "plan-f", false, SK_MODE_APPLY, done);
	sk_tune t = { .batch_max = 1000 };
	sk_cli_response resp;
	coord_opctl before;

	(void)rh;
	for (size_t i = 0; i < fin->nregions; i++)
		fin->regions[i].state = COORD_R_SUCCEEDED;
	fin->state = COORD_RO_SUCCEEDED;

	before = ro->ctl;
	refused(f, f->viewer, SK_CLI_PAUSE, id, "", NULL, SK_EREFUSED,
	    "operator viewer (viewer) may not pause: that needs role operator");
	refused(f, f->viewer, SK_CLI_TUNE, id, "", &t, SK_EREFUSED,
	    "may not tune: that needs role operator");
	refused(f, f->stranger, SK_CLI_PAUSE, id, "", NULL, SK_ECRYPTO,
	    "is not a pinned key");
	unsigned_refused(f, SK_CLI_PAUSE, id);
	unsigned_refused(f, SK_CLI_RESUME, id);
	refused(f, f->op, SK_CLI_PAUSE, "r-nosuch", "", NULL, SK_ENOTFOUND,
	    "pause rollout r-nosuch: no such rollout");
	refused(f, f->op, SK_CLI_PAUSE, done, "", NULL, SK_ESTATE,
	    "it has finished (succeeded); there is nothing to pause");
	refused(f, f->op, SK_CLI_TUNE, done, "", &t, SK_ESTATE,
	    "there is nothing to tune");
	refused(f, f->op, SK_CLI_PAUSE, reh, "", NULL, SK_ESTATE,
	    "a rehearsal cannot be paused or tuned");
	refused(f, f->op, SK_CLI_RESUME, id, "", NULL, SK_ESTATE, "resume rollout");
	refused(f, f->op, SK_CLI_PAUSE, id, "two\nlines", NULL, SK_EINVAL,
	    "control character");
	assert_memory_equal(&before, &ro->ctl, sizeof(before));
	assert_int_equal(journal_opctl(f).records, 0);

	/* A second pause, then a viewer's resume. */
	assert_true(opctl(f, f->op, SK_CLI_PAUSE, id, "first", NULL, &resp).held);
	sk_cli_response_fini(&resp);
	before = ro->ctl;
	refused(f, f->op, SK_CLI_PAUSE, id, "second", NULL, SK_ESTATE,
	    "is already paused, by op at ");
	refused(f, f->viewer, SK_CLI_RESUME, id, "", NULL, SK_EREFUSED,
	    "may not resume: that needs role operator");
	assert_memory_equal(&before, &ro->ctl, sizeof(before));
	assert_true(ro->ctl.paused);
	assert_string_equal(ro->ctl.reason, "first");
	assert_int_equal(journal_opctl(f).records, 1);
}

/* ---- tunes -------------------------------------------------------------- */

static void
test_opctl_tunes_merge_and_bad_ones_change_nothing(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX], plain[SK_ID_MAX];
	coord_rollout *ro = start(f, "plan-b", true, SK_MODE_APPLY, id);
	sk_tune empty = { 0 }, max = { .batch_max = 1000 },
		rate = { .has_rate = true, .max_rows_per_second = 250 },
		big = { .batch_min = SK_BACKFILL_BATCH_LIMIT + 1 },
		min_over_plan = { .batch_min = 60000 },
		min_over_tune = { .batch_min = 2000 },
		both = { .batch_min = 500, .batch_max = 400 },
		none = { .has_rate = true };
	sk_cli_response resp;
	coord_opctl before;

	start(f, "plan-c", false, SK_MODE_APPLY, plain);
	refused(f, f->op, SK_CLI_TUNE, plain, "", &max, SK_ESTATE,
	    "has no backfill or expand step: nothing to tune");
	refused(f, f->op, SK_CLI_TUNE, id, "", &empty, SK_EINVAL, "nothing to tune");
	refused(f, f->op, SK_CLI_TUNE, id, "", &big, SK_EINVAL, "is not in [1, 1000000]");
	refused(f, f->op, SK_CLI_TUNE, id, "", &min_over_plan, SK_EINVAL,
	    "step 0002_fill_region would run batches of at least 60000 and at "
	    "most 50000 rows");
	refused(f, f->op, SK_CLI_TUNE, id, "", &both, SK_EINVAL,
	    "batch_min above batch_max");
	assert_false(ro->ctl.tuned);
	assert_int_equal(ro->ctl.gen, 0);

	assert_true(opctl(f, f->op, SK_CLI_TUNE, id, "", &max, &resp).held);
	assert_true(resp.ok);
	assert_true(resp.rollouts[0].has_tune);
	assert_int_equal(resp.rollouts[0].tune.batch_max, 1000);
	sk_cli_response_fini(&resp);
	assert_true(opctl(f, f->op, SK_CLI_TUNE, id, "", &rate, &resp).held);
	sk_cli_response_fini(&resp);
	assert_true(ro->ctl.tuned);
	assert_int_equal(ro->ctl.tune.batch_max, 1000);
	assert_true(ro->ctl.tune.has_rate && ro->ctl.tune.max_rows_per_second == 250);
	assert_int_equal(ro->ctl.gen, 2);

	/* Above the batch_max an earlier tune set: refused, nothing changes. */
	before = ro->ctl;
	refused(f, f->op, SK_CLI_TUNE, id, "", &min_over_tune, SK_EINVAL,
	    "at least 2000 and at most 1000 rows");
	assert_memory_equal(&before, &ro->ctl, sizeof(before));
	assert_int_equal(journal_opctl(f).kinds[SK_CMD_TUNE], 2);

	/* none: no limit, which is not "unchanged". */
	assert_true(opctl(f, f->op, SK_CLI_TUNE, id, "", &none, &resp).held);
	sk_cli_response_fini(&resp);
	assert_true(ro->ctl.tune.has_rate);
	assert_true(ro->ctl.tune.max_rows_per_second == 0);
	assert_int_equal(ro->ctl.tune.batch_max, 1000);
}

/* ---- the journal -------------------------------------------------------- */

typedef struct replayed {
	coord_registry rollouts;
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

/* The rollouts as a restarted coordinator would see them. */
static void
replay(const fixture *f, replayed *r)
{
	static const coord_journal_visitor v = { .created = replay_created,
		.region = replay_region,
		.phase = replay_phase,
		.finished = replay_finished,
		.opctl = replay_opctl };
	coord_journal *j = NULL;
	sk_err err;

	memset(r, 0, sizeof(*r));
	assert_int_equal(coord_journal_open(f->dir, &v, r, &j, &err), SK_OK);
	coord_journal_close(j);
}

static void
assert_same_ctl(const coord_opctl *a, const coord_opctl *b)
{
	assert_int_equal(a->paused, b->paused);
	assert_string_equal(a->paused_by, b->paused_by);
	assert_string_equal(a->paused_by_key, b->paused_by_key);
	assert_int_equal(a->paused_ms, b->paused_ms);
	assert_string_equal(a->reason, b->reason);
	assert_int_equal(a->tuned, b->tuned);
	assert_int_equal(a->tune.has_rate, b->tune.has_rate);
	assert_true(a->tune.max_rows_per_second == b->tune.max_rows_per_second);
	assert_int_equal(a->tune.batch_min, b->tune.batch_min);
	assert_int_equal(a->tune.batch_max, b->tune.batch_max);
	assert_int_equal(a->gen, b->gen);
}

static void
test_opctl_journal_replay_restores_pause_and_merged_tune(void **state)
{
	fixture *f = *state;
	char a[SK_ID_MAX], b[SK_ID_MAX];
	coord_rollout *ra = start(f, "plan-a", true, SK_MODE_APPLY, a);
	coord_rollout *rb = start(f, "plan-b", true, SK_MODE_APPLY, b);
	sk_tune t1 = { .batch_max = 4000 }, t2 = { true, 900, 200, 0 };
	sk_cli_response resp;
	replayed r;
	coord_rollout *ra2, *rb2;

	/* a: tuned twice, paused, then the canary succeeds (held); b:
	 * paused, resumed, tuned. */
	assert_true(opctl(f, f->op, SK_CLI_TUNE, a, "", &t1, &resp).held);
	sk_cli_response_fini(&resp);
	assert_true(opctl(f, f->op, SK_CLI_TUNE, a, "", &t2, &resp).held);
	sk_cli_response_fini(&resp);
	assert_true(
	    opctl(f, f->admin, SK_CLI_PAUSE, a, "maintenance", NULL, &resp).held);
	sk_cli_response_fini(&resp);
	report(f, ra, "af", SK_EV_PLAN_SUCCEEDED);
	assert_true(opctl(f, f->op, SK_CLI_PAUSE, b, "", NULL, &resp).held);
	sk_cli_response_fini(&resp);
	assert_true(opctl(f, f->op, SK_CLI_RESUME, b, "", NULL, &resp).held);
	sk_cli_response_fini(&resp);
	assert_true(opctl(f, f->op, SK_CLI_TUNE, b, "", &t1, &resp).held);
	sk_cli_response_fini(&resp);

	replay(f, &r);
	ra2 = coord_registry_find(&r.rollouts, a);
	rb2 = coord_registry_find(&r.rollouts, b);
	assert_non_null(ra2);
	assert_non_null(rb2);
	assert_same_ctl(&ra->ctl, &ra2->ctl);
	assert_same_ctl(&rb->ctl, &rb2->ctl);
	assert_true(ra2->ctl.paused);
	assert_string_equal(ra2->ctl.paused_by, "admin");
	assert_string_equal(ra2->ctl.reason, "maintenance");
	assert_int_equal(ra2->ctl.tune.batch_min, 200);
	assert_int_equal(ra2->ctl.tune.batch_max, 4000);
	assert_true(ra2->ctl.tune.max_rows_per_second == 900);
	assert_int_equal(ra2->ctl.gen, 3);
	assert_false(rb2->ctl.paused);
	assert_int_equal(rb2->ctl.gen, 3);

	/* Restarted while paused with its phase done: settling keeps the
	 * next phase back until the resume. */
	{
		bool changed = true;
		sk_err err;

		assert_int_equal(
		    coord_rollout_settle(ra2, f->journal, &changed, &err), SK_OK);
		assert_false(changed);
		assert_int_equal(ra2->phase, 0);
		assert_false(coord_rollout_wants(ra2, "in"));
	}
	coord_registry_fini(&r.rollouts);
}

static void
test_opctl_a_pause_ends_with_its_rollout(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX];
	coord_rollout *ro = start(f, "plan-a", false, SK_MODE_APPLY, id);
	sk_cli_response resp;
	coord_opctl_peer peer;
	sk_command cmds[COORD_OPCTL_COMMANDS_MAX];
	char running[1][SK_NAME_MAX];
	sk_run_control applied[1];
	sk_agent_msg m;
	replayed r;
	uint64_t gen;

	assert_true(opctl(f, f->op, SK_CLI_PAUSE, id, "", NULL, &resp).held);
	sk_cli_response_fini(&resp);
	gen = ro->ctl.gen;
	/* af's agent applied the pause; then af fails: the rollout halts,
	 * and its pause ends. */
	memset(&m, 0, sizeof(m));
	snprintf(running[0], SK_NAME_MAX, "%s", id);
	snprintf(applied[0].rollout_id, SK_ID_MAX, "%s", id);
	applied[0].control_gen = gen;
	m.running = running;
	m.nrunning = 1;
	m.applied = applied;
	m.napplied = 1;
	coord_opctl_peer_reset(&peer);
	coord_opctl_peer_note(&peer, &m);
	assert_int_equal(coord_opctl_commands(&peer, ro, 0, cmds), 0);
	report(f, ro, "af", SK_EV_PLAN_FAILED);
	assert_int_equal(ro->state, COORD_RO_FAILED);
	assert_false(ro->ctl.paused);
	assert_int_equal(ro->ctl.gen, gen + 1);
	/* The agent still running it hears RESUME, so it does not wait
	 * forever for a resume nobody can give. */
	assert_int_equal(coord_opctl_commands(&peer, ro, 0, cmds), 1);
	assert_int_equal(cmds[0].kind, SK_CMD_RESUME);
	refused(f, f->op, SK_CLI_RESUME, id, "", NULL, SK_ESTATE,
	    "it has finished (failed)");
	replay(f, &r);
	assert_same_ctl(&ro->ctl, &coord_registry_find(&r.rollouts, id)->ctl);
	coord_registry_fini(&r.rollouts);
}

/* ---- what an agent hears ------------------------------------------------ */

static void
test_opctl_commands_bring_each_agent_up_to_date_once(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX], other[SK_ID_MAX];
	coord_rollout *ro = start(f, "plan-a", true, SK_MODE_APPLY, id);
	coord_rollout *ro2 = start(f, "plan-b", true, SK_MODE_APPLY, other);
	sk_tune t = { .batch_max = 800 };
	sk_cli_response resp;
	coord_opctl_peer peer;
	sk_command cmds[COORD_OPCTL_COMMANDS_MAX], run;
	char running[1][SK_NAME_MAX];
	sk_run_control applied[1];
	sk_agent_msg m;

	memset(&m, 0, sizeof(m));
	snprintf(running[0], SK_NAME_MAX, "%s", id);
	m.running = running;
	m.nrunning = 1;
	coord_opctl_peer_reset(&peer);
	coord_opctl_peer_note(&peer, &m);
	/* Never paused or tuned: nothing to say. */
	assert_int_equal(coord_opctl_commands(&peer, ro, 0, cmds), 0);

	assert_true(opctl(f, f->op, SK_CLI_TUNE, id, "", &t, &resp).held);
	sk_cli_response_fini(&resp);
	assert_true(opctl(f, f->op, SK_CLI_PAUSE, id, "why", NULL, &resp).held);
	sk_cli_response_fini(&resp);
	assert_int_equal(coord_opctl_commands(&peer, ro, 1000, cmds), 2);
	assert_int_equal(cmds[0].kind, SK_CMD_PAUSE);
	assert_string_equal(cmds[0].rollout_id, id);
	assert_string_equal(cmds[0].actor, "op");
	assert_string_equal(cmds[0].reason, "why");
	assert_int_equal(cmds[0].control_gen, 2);
	assert_int_equal(cmds[1].kind, SK_CMD_TUNE);
	assert_true(cmds[1].has_tune);
	assert_int_equal(cmds[1].tune.batch_max, 800);
	assert_int_equal(cmds[1].control_gen, 2);
	assert_null(cmds[0].signed_plan);
	/* Sent and not yet applied: not again at once (the agent's next
	 * poll must not spin), but again after the resend interval. */
	assert_int_equal(coord_opctl_commands(&peer, ro, 1500, cmds), 0);
	coord_opctl_peer_note(&peer, &m);
	assert_int_equal(coord_opctl_commands(&peer, ro, 1500, cmds), 0);
	assert_int_equal(
	    coord_opctl_commands(&peer, ro, 1000 + COORD_OPCTL_RESEND_MS, cmds), 2);
	/* Applied: nothing more. */
	snprintf(applied[0].rollout_id, SK_ID_MAX, "%s", id);
	applied[0].control_gen = 2;
	m.applied = applied;
	m.napplied = 1;
	coord_opctl_peer_note(&peer, &m);
	assert_int_equal(coord_opctl_commands(&peer, ro, 99999, cmds), 0);
	/* A rollout the agent does not run: nothing, even paused. */
	assert_true(opctl(f, f->op, SK_CLI_PAUSE, other, "", NULL, &resp).held);
	sk_cli_response_fini(&resp);
	assert_int_equal(coord_opctl_commands(&peer, ro2, 99999, cmds), 0);
	/* A new boot of the agent, which runs it again with nothing
	 * applied: it hears the state at once. */
	coord_opctl_peer_reset(&peer);
	m.applied = NULL;
	m.napplied = 0;
	coord_opctl_peer_note(&peer, &m);
	assert_int_equal(coord_opctl_commands(&peer, ro, 99999, cmds), 2);
	/* A resume is a new generation: heard at once, within the resend
	 * interval of the pause. */
	assert_true(opctl(f, f->op, SK_CLI_RESUME, id, "", NULL, &resp).held);
	sk_cli_response_fini(&resp);
	assert_int_equal(coord_opctl_commands(&peer, ro, 100000, cmds), 2);
	assert_int_equal(cmds[0].kind, SK_CMD_RESUME);
	assert_int_equal(cmds[0].control_gen, 3);
	/* A RUN starts in the rollout's state. */
	memset(&run, 0, sizeof(run));
	coord_opctl_run_state(ro, &run);
	assert_int_equal(run.control_gen, 3);
	assert_true(run.has_tune);
	assert_int_equal(run.tune.batch_max, 800);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_opctl_pause_holds_the_next_phase_and_resume_starts_it),
		T(test_opctl_refusals_change_nothing),
		T(test_opctl_tunes_merge_and_bad_ones_change_nothing),
		T(test_opctl_journal_replay_restores_pause_and_merged_tune),
		T(test_opctl_a_pause_ends_with_its_rollout),
		T(test_opctl_commands_bring_each_agent_up_to_date_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

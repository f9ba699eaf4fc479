/* coord_testfix: the shared fixture of the coordinator's control tests
 * (coord_testfix.h). Each helper asserts with cmocka, so it is linked
 * only into test executables. */
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

#include "coord_signed_plan.h"
#include "coord_testfix.h"
#include "sk_envelope.h"
#include "sk_util.h"

int
coord_testfix_mkdtemp(char *dir, size_t size, const char *tag)
{
	snprintf(dir, size, "/tmp/sk-%s-test-XXXXXX", tag);
	return mkdtemp(dir) != NULL ? 0 : -1;
}

int
coord_testfix_rmtree(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
coord_testfix_dir_setup(void **state, const char *tag)
{
	coord_testfix_dir *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (coord_testfix_mkdtemp(f->dir, sizeof(f->dir), tag) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

int
coord_testfix_dir_teardown(void **state)
{
	coord_testfix_dir *f = *state;
	int rc;

	coord_rollout_destroy(f->ro);
	coord_rollout_destroy(f->orig);
	coord_journal_close(f->j);
	rc = coord_testfix_rmtree(f->dir);
	free(f);
	return rc;
}

int
coord_testfix_setup(coord_testfix *fx, const char *tag,
    const coord_testfix_who *who, size_t nwho, bool line)
{
	static const char *const names[] = { "af", "in", "ksa" };
	char base[128], key[160];
	sk_err err;

	if (nwho > COORD_TESTFIX_MAX_KEYS || sk_crypto_init(&err) != SK_OK)
		return -1;
	if (coord_testfix_mkdtemp(fx->dir, sizeof(fx->dir), tag) != 0)
		return -1;
	snprintf(base, sizeof(base), "%s/release", fx->dir);
	snprintf(key, sizeof(key), "%s.key", base);
	if (sk_key_generate(base, &err) != SK_OK ||
	    sk_seckey_load(key, &fx->release_key, &err) != SK_OK ||
	    sk_keyring_add(&fx->release, sk_seckey_public(fx->release_key), &err) != SK_OK)
		return -1;
	for (size_t i = 0; i < 3; i++)
		fx->regions[i].name = (char *)names[i];
	fx->inv.dir = fx->dir;
	fx->inv.regions = fx->regions;
	fx->inv.nregions = 3;
	if (coord_journal_open(fx->dir, NULL, NULL, &fx->journal, &err) != SK_OK)
		return -1;
	for (size_t i = 0; i < nwho; i++) {
		sk_operator *o;

		snprintf(base, sizeof(base), "%s/%s", fx->dir, who[i].name);
		snprintf(key, sizeof(key), "%s.key", base);
		if (sk_key_generate(base, &err) != SK_OK ||
		    sk_seckey_load(key, &fx->keys[i], &err) != SK_OK)
			return -1;
		fx->nkeys = i + 1;
		if (who[i].role == 0)
			continue;
		o = &fx->operators[fx->cfg.noperators++];
		o->name = (char *)who[i].name;
		o->role = who[i].role;
		o->key = *sk_seckey_public(fx->keys[i]);
	}
	fx->cfg.operators = fx->operators;
	if (coord_auth_init(&fx->auth, &fx->cfg, sk_now_ms() - 1000, &err) != SK_OK)
		return -1;
	fx->ctx = (coord_control_ctx){ .rollouts = &fx->rollouts,
		.journal = fx->journal,
		.release = &fx->release,
		.inv = &fx->inv,
		.auth = &fx->auth,
		.line = line ? &fx->line : NULL };
	return 0;
}

int
coord_testfix_teardown(coord_testfix *fx)
{
	coord_registry_fini(&fx->rollouts);
	coord_journal_close(fx->journal);
	sk_keyring_fini(&fx->release);
	sk_seckey_destroy(fx->release_key);
	coord_auth_fini(&fx->auth);
	for (size_t i = 0; i < fx->nkeys; i++)
		sk_seckey_destroy(fx->keys[i]);
	return coord_testfix_rmtree(fx->dir);
}

int
coord_testfix_staff_setup(void **state, const char *tag, bool line)
{
	static const coord_testfix_who who[4] = { { "admin", SK_ROLE_ADMIN },
		{ "op", SK_ROLE_OPERATOR }, { "viewer", SK_ROLE_VIEWER },
		{ "stranger", 0 } };
	coord_testfix_staff *f = calloc(1, sizeof(*f));

	if (f == NULL || coord_testfix_setup(&f->fx, tag, who, 4, line) != 0)
		return -1;
	f->admin = f->fx.keys[0];
	f->op = f->fx.keys[1];
	f->viewer = f->fx.keys[2];
	f->stranger = f->fx.keys[3];
	*state = f;
	return 0;
}

int
coord_testfix_staff_teardown(void **state)
{
	coord_testfix_staff *f = *state;
	int rc = coord_testfix_teardown(&f->fx);

	free(f);
	return rc;
}

char *
coord_testfix_strdup(const char *s)
{
	char *d = sk_strdup(s);

	assert_non_null(d);
	return d;
}

sk_plan *
coord_testfix_plan(const char *id, const char *name, bool backfill)
{
	static const char *const names[] = { "af", "in", "ksa" };
	sk_plan *plan = calloc(1, sizeof(*plan));
	int64_t now = sk_now_ms() / 1000;

	assert_non_null(plan);
	plan->id = coord_testfix_strdup(id);
	plan->name = coord_testfix_strdup(name);
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

		plan->phases[p].name =
		    coord_testfix_strdup(p == 0 ? "canary" : "rest");
		plan->phases[p].regions = calloc(3, sizeof(char *));
		assert_non_null(plan->phases[p].regions);
		for (size_t i = from; i < to; i++)
			plan->phases[p].regions[plan->phases[p].nregions++] =
			    coord_testfix_strdup(names[i]);
	}
	plan->nphases = 2;
	for (size_t i = 0; i < 3; i++)
		plan->regions[plan->nregions++] = coord_testfix_strdup(names[i]);
	plan->nsteps = backfill ? 2 : 1;
	plan->steps[0].id = coord_testfix_strdup("0001_add_region");
	plan->steps[0].kind = SK_STEP_SQL;
	plan->steps[0].sql =
	    coord_testfix_strdup("ALTER TABLE accounts ADD COLUMN region text;");
	plan->steps[0].sql_path = coord_testfix_strdup("0001_add_region.sql");
	if (backfill) {
		sk_step *s = &plan->steps[1];

		s->id = coord_testfix_strdup("0002_fill_region");
		s->kind = SK_STEP_BACKFILL;
		s->backfill = calloc(1, sizeof(*s->backfill));
		assert_non_null(s->backfill);
		s->backfill->table = coord_testfix_strdup("accounts");
		s->backfill->update = coord_testfix_strdup("SET region = 'af'");
		sk_backfill_tuning_default(&s->backfill->tuning);
		s->backfill->tuning.batch_min = 100;
		s->backfill->tuning.batch_max = 50000;
	}
	return plan;
}

uint8_t *
coord_testfix_seal(const coord_testfix *fx, sk_plan *plan, size_t *len)
{
	uint8_t *payload = NULL, *sealed = NULL;
	size_t plen = 0;
	sk_err err;

	for (size_t i = 0; i < plan->nsteps; i++)
		assert_int_equal(sk_step_checksum(&plan->steps[i],
				     plan->steps[i].checksum, &err),
		    SK_OK);
	assert_int_equal(sk_plan_encode(plan, &payload, &plen, &err), SK_OK);
	assert_int_equal(sk_envelope_seal(&sealed, len, SK_KIND_PLAN, payload,
			     plen, fx->release_key, &err),
	    SK_OK);
	free(payload);
	sk_plan_destroy(plan);
	return sealed;
}

uint8_t *
coord_testfix_sign(const sk_cli_request *req, const sk_seckey *key,
    int64_t at_ms, const uint8_t *nonce, size_t *len)
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

coord_control_effect
coord_testfix_answer(
    coord_testfix *fx, const uint8_t *msg, size_t len, sk_cli_response *resp)
{
	uint8_t *reply = NULL;
	size_t rlen = 0;
	coord_control_effect effect;
	sk_err err;

	assert_int_equal(
	    coord_control_answer(&fx->ctx, msg, len, &reply, &rlen, &effect, &err),
	    SK_OK);
	assert_int_equal(sk_cli_response_decode(reply, rlen, resp, &err), SK_OK);
	free(reply);
	return effect;
}

coord_control_effect
coord_testfix_ask_as(coord_testfix *fx, const sk_seckey *key,
    const sk_cli_request *req, sk_cli_response *resp)
{
	uint8_t *buf;
	size_t len = 0;
	coord_control_effect effect;

	buf = coord_testfix_sign(req, key, sk_now_ms(), NULL, &len);
	effect = coord_testfix_answer(fx, buf, len, resp);
	free(buf);
	return effect;
}

coord_rollout *
coord_testfix_start(coord_testfix *fx, const sk_seckey *key, const char *name,
    bool backfill, int mode, char *id)
{
	sk_cli_request req;
	sk_cli_response resp;
	coord_rollout *ro;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_START;
	req.mode = mode;
	req.signed_plan = coord_testfix_seal(
	    fx, coord_testfix_plan(name, name, backfill), &req.signed_plan_len);
	assert_true(coord_testfix_ask_as(fx, key, &req, &resp).started);
	assert_true(resp.ok);
	snprintf(id, SK_ID_MAX, "%s", resp.rollout_id);
	sk_cli_response_fini(&resp);
	free(req.signed_plan);
	ro = coord_registry_find(&fx->rollouts, id);
	assert_non_null(ro);
	return ro;
}

coord_control_effect
coord_testfix_opctl(coord_testfix *fx, const sk_seckey *key, int op,
    const char *id, const char *reason, const sk_tune *t, sk_cli_response *resp)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = op;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.reason, sizeof(req.reason), "%s", reason != NULL ? reason : "");
	if (t != NULL)
		req.tune = *t;
	return coord_testfix_ask_as(fx, key, &req, resp);
}

void
coord_testfix_unsigned_req_refused(coord_testfix *fx, const sk_cli_request *req)
{
	sk_cli_response resp;
	coord_control_effect e;
	uint8_t *buf = NULL, *reply = NULL;
	size_t len = 0, rlen = 0;
	sk_err err;

	assert_int_equal(sk_cli_request_encode(req, &buf, &len, &err), SK_OK);
	assert_int_equal(
	    coord_control_answer(&fx->ctx, buf, len, &reply, &rlen, &e, &err), SK_OK);
	assert_int_equal(sk_cli_response_decode(reply, rlen, &resp, &err), SK_OK);
	assert_false(resp.ok);
	assert_int_equal(resp.error.code, SK_ECRYPTO);
	assert_non_null(strstr(resp.error.msg, "not a signed operator request"));
	assert_false(e.held);
	sk_cli_response_fini(&resp);
	free(buf);
	free(reply);
}

void
coord_testfix_unsigned_refused(coord_testfix *fx, int op, const char *id)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = op;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	coord_testfix_unsigned_req_refused(fx, &req);
}

bool
coord_testfix_report_step(coord_testfix *fx, coord_rollout *ro,
    const char *region, int event, const char *step)
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
	if (step != NULL) {
		snprintf(r.database, sizeof(r.database), "app");
		snprintf(r.step_id, sizeof(r.step_id), "%s", step);
		r.at_ms = sk_now_ms();
	}
	assert_int_equal(
	    coord_rollout_report(ro, region, &r, fx->journal, &changed, &err), SK_OK);
	return changed;
}

bool
coord_testfix_report(coord_testfix *fx, coord_rollout *ro, const char *region, int event)
{
	return coord_testfix_report_step(fx, ro, region, event, NULL);
}

size_t
coord_testfix_commands(const coord_rollout *ro, const char *region, sk_command *out)
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

void
coord_testfix_journal_visit(const char *dir, const coord_journal_visitor *v, void *arg)
{
	coord_journal *j = NULL;
	sk_err err;

	assert_int_equal(coord_journal_open(dir, v, arg, &j, &err), SK_OK);
	coord_journal_close(j);
}

static void
count_opctl(void *arg, const char *id, const coord_opctl_record *rec)
{
	coord_testfix_opctls *c = arg;

	(void)id;
	c->records++;
	if (rec->kind > 0 && rec->kind < SK_CMD_MAX)
		c->kinds[rec->kind]++;
	snprintf(c->last_actor, sizeof(c->last_actor), "%s", rec->actor);
	snprintf(c->last_reason, sizeof(c->last_reason), "%s", rec->reason);
}

coord_testfix_opctls
coord_testfix_journal_opctl(const coord_testfix *fx)
{
	static const coord_journal_visitor v = { .opctl = count_opctl };
	coord_testfix_opctls c;

	memset(&c, 0, sizeof(c));
	coord_testfix_journal_visit(fx->dir, &v, &c);
	return c;
}

/* The replay's state: the rollouts, and whether the line adopts them. */
typedef struct replay_state {
	coord_testfix_replayed *r;
	bool line;
} replay_state;

static void
replay_created(void *arg, const char *id, int64_t at_ms, const uint8_t *sp,
    size_t len, const coord_origin *origin)
{
	replay_state *s = arg;
	sk_plan *plan = NULL;
	coord_rollout *ro = NULL;
	sk_err err;

	assert_int_equal(coord_signed_plan_decode(sp, len, &plan, &err), SK_OK);
	assert_int_equal(
	    coord_rollout_create(id, plan, sp, len, origin, at_ms, &ro, &err), SK_OK);
	assert_int_equal(coord_registry_add(&s->r->rollouts, ro, &err), SK_OK);
	if (s->line)
		coord_line_adopt(&s->r->line, ro, at_ms, false);
}

static coord_rollout *
replay_find(void *arg, const char *id)
{
	return coord_registry_find(&((replay_state *)arg)->r->rollouts, id);
}

static void
replay_region(void *arg, const char *id, const coord_region_record *rec)
{
	coord_rollout *ro = replay_find(arg, id);

	if (ro != NULL)
		coord_rollout_replay_region(ro, rec);
}

static void
replay_phase(void *arg, const char *id, uint32_t phase, int64_t at_ms)
{
	coord_rollout *ro = replay_find(arg, id);

	if (ro != NULL)
		coord_rollout_replay_phase(ro, phase, at_ms);
}

static void
replay_finished(void *arg, const char *id, const char *state,
    const char *reason, int64_t at_ms)
{
	coord_rollout *ro = replay_find(arg, id);

	if (ro != NULL)
		coord_rollout_replay_finished(ro, state, reason, at_ms);
}

static void
replay_opctl(void *arg, const char *id, const coord_opctl_record *rec)
{
	coord_rollout *ro = replay_find(arg, id);

	if (ro != NULL)
		coord_opctl_replay(ro, rec);
}

static void
replay_line(void *arg, const coord_line_record *rec)
{
	coord_testfix_replayed *r = ((replay_state *)arg)->r;

	coord_line_replay(&r->line, &r->rollouts, rec);
}

void
coord_testfix_replay(const coord_testfix *fx, bool line, coord_testfix_replayed *r)
{
	static const coord_journal_visitor without_line = { .created = replay_created,
		.region = replay_region,
		.phase = replay_phase,
		.finished = replay_finished,
		.opctl = replay_opctl };
	static const coord_journal_visitor with_line = { .created = replay_created,
		.region = replay_region,
		.phase = replay_phase,
		.finished = replay_finished,
		.opctl = replay_opctl,
		.line = replay_line };
	replay_state s = { .r = r, .line = line };

	memset(r, 0, sizeof(*r));
	coord_testfix_journal_visit(fx->dir, line ? &with_line : &without_line, &s);
}

/* control_test: the CLI's requests answered without a socket: garbage and
 * a mode `start` does not take are refused (by the codec, before the
 * control's own check) with nothing changed; a signed
 * plan starts a rollout, journaled and held, and the answer says it
 * started (the server then wakes the agents); starting it again answers
 * with the same rollout and starts nothing; status lists it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "coord_control.h"
#include "coord_journal.h"
#include "coord_registry.h"
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
	snprintf(f->dir, sizeof(f->dir), "/tmp/sk-control-test-XXXXXX");
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
	f->ctx = (coord_control_ctx){ .rollouts = &f->rollouts,
		.journal = f->journal,
		.release = &f->release,
		.inv = &f->inv };
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
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

static off_t
journal_size(const fixture *f)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/journal", f->dir);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* Answer req (encoded here) and decode the answer into resp. */
static coord_control_effect
ask(fixture *f, const sk_cli_request *req, sk_cli_response *resp)
{
	uint8_t *buf = NULL, *reply = NULL;
	size_t len = 0, rlen = 0;
	coord_control_effect effect;
	sk_err err;

	assert_int_equal(sk_cli_request_encode(req, &buf, &len, &err), SK_OK);
	assert_int_equal(
	    coord_control_answer(&f->ctx, buf, len, &reply, &rlen, &effect, &err), SK_OK);
	assert_int_equal(sk_cli_response_decode(reply, rlen, resp, &err), SK_OK);
	free(buf);
	free(reply);
	return effect;
}

static coord_control_effect
start(fixture *f, int mode, sk_cli_response *resp)
{
	sk_cli_request req;
	coord_control_effect effect;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_START;
	req.mode = mode;
	req.signed_plan = signed_plan(f, &req.signed_plan_len);
	effect = ask(f, &req, resp);
	free(req.signed_plan);
	return effect;
}

static void
test_control_refuses_garbage_and_changes_nothing(void **state)
{
	fixture *f = *state;
	static const uint8_t garbage[] = { 0xff, 0x00, 0x13, 0x37, 0x80 };
	uint8_t *reply = NULL;
	size_t rlen = 0;
	coord_control_effect effect = { .started = true };
	sk_cli_response resp;
	off_t size = journal_size(f);
	sk_err err;

	assert_int_equal(coord_control_answer(&f->ctx, garbage, sizeof(garbage),
			     &reply, &rlen, &effect, &err),
	    SK_OK);
	assert_false(effect.started);
	assert_int_equal(sk_cli_response_decode(reply, rlen, &resp, &err), SK_OK);
	assert_false(resp.ok);
	assert_int_equal(resp.error.code, SK_EDECODE);
	sk_cli_response_fini(&resp);
	free(reply);
	assert_int_equal(f->rollouts.n, 0);
	assert_int_equal(journal_size(f), size);
}

static void
test_control_start_refuses_a_mode_it_does_not_start(void **state)
{
	fixture *f = *state;
	sk_cli_response resp;
	off_t size = journal_size(f);

	assert_false(start(f, SK_MODE_ROLLBACK, &resp).started);
	assert_false(resp.ok);
	assert_non_null(strstr(resp.error.msg, "a start cannot be in rollback mode"));
	sk_cli_response_fini(&resp);
	assert_false(start(f, 7, &resp).started);
	assert_false(resp.ok);
	assert_non_null(strstr(resp.error.msg, "unknown mode 7"));
	sk_cli_response_fini(&resp);
	assert_int_equal(f->rollouts.n, 0);
	assert_int_equal(journal_size(f), size);
}

static void
test_control_start_says_it_started_and_again_starts_nothing(void **state)
{
	fixture *f = *state;
	sk_cli_response resp;
	sk_cli_request req;
	char id[SK_ID_MAX];
	off_t size = journal_size(f);

	assert_true(start(f, SK_MODE_APPLY, &resp).started);
	assert_true(resp.ok);
	snprintf(id, sizeof(id), "%s", resp.rollout_id);
	sk_cli_response_fini(&resp);
	assert_int_equal(f->rollouts.n, 1);
	assert_string_equal(f->rollouts.v[0]->id, id);
	assert_true(journal_size(f) > size);

	/* The same plan again, while it runs: the same rollout. */
	size = journal_size(f);
	assert_false(start(f, SK_MODE_APPLY, &resp).started);
	assert_true(resp.ok);
	assert_string_equal(resp.rollout_id, id);
	sk_cli_response_fini(&resp);
	assert_int_equal(f->rollouts.n, 1);
	assert_int_equal(journal_size(f), size);

	/* A rehearsal of it is a run of its own. */
	assert_true(start(f, SK_MODE_REHEARSE, &resp).started);
	assert_true(resp.ok);
	assert_string_not_equal(resp.rollout_id, id);
	sk_cli_response_fini(&resp);
	assert_int_equal(f->rollouts.n, 2);

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_STATUS;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	assert_false(ask(f, &req, &resp).started);
	assert_true(resp.ok);
	assert_int_equal(resp.nrollouts, 1);
	assert_string_equal(resp.rollouts[0].id, id);
	assert_string_equal(resp.rollouts[0].state, "running");
	assert_string_equal(resp.rollouts[0].phases[0].regions[0].state, "pending");
	sk_cli_response_fini(&resp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_control_refuses_garbage_and_changes_nothing),
		T(test_control_start_refuses_a_mode_it_does_not_start),
		T(test_control_start_says_it_started_and_again_starts_nothing),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

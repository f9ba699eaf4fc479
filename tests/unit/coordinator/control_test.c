/* control_test: the CLI's requests answered without a socket. Every
 * request is an operator's signed request (coord_auth.h), as the skein
 * CLI sends them: garbage and a mode `start` does not take are refused
 * (by the codec, before the control's own check), journaled as refusals,
 * with nothing else changed; a signed plan starts a rollout, journaled
 * with who started it, and the answer says it started (the server then
 * wakes the agents); starting it again answers with the same rollout and
 * starts nothing; status lists it. Then the doors: unsigned, unknown,
 * tampered, replayed, stale, pre-restart, future and role-exceeding
 * requests are each refused with a clear error, journaled, and change
 * nothing; insecure_local takes an unsigned request as "local". */
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
#include "coord_testfix.h"
#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_wire.h"

typedef coord_testfix_staff fixture;

/* A plan of one step over af (canary) then in and ksa, valid for a day. */
static uint8_t *
signed_plan(const fixture *f, size_t *len)
{
	return coord_testfix_seal(&f->fx,
	    coord_testfix_plan("plan-c0ffee", "add-region-column", false), len);
}

static int
setup(void **state)
{
	return coord_testfix_staff_setup(state, "control", false);
}

static off_t
journal_size(const fixture *f)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/journal", f->fx.dir);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* What the journal holds, replayed: rollouts created (and by whom, the
 * last one), and requests refused (and the last one's reason and actor). */
typedef struct journal_counts {
	int created, refused;
	char actor[64], actor_key[32], op[32], reason[1100];
	/* The last rollout created: its mode and what its origin says. */
	int mode;
	bool no_backup, reapply;
	char reapply_of[64];
} journal_counts;

static void
count_created(void *arg, const char *id, int64_t at, const uint8_t *sp,
    size_t len, const coord_origin *o)
{
	journal_counts *c = arg;

	(void)id;
	(void)at;
	(void)sp;
	(void)len;
	c->created++;
	snprintf(c->actor, sizeof(c->actor), "%s", o->actor);
	snprintf(c->actor_key, sizeof(c->actor_key), "%s", o->actor_key);
	c->mode = o->mode;
	c->no_backup = o->no_backup;
	c->reapply = o->reapply;
	snprintf(c->reapply_of, sizeof(c->reapply_of), "%s", o->reapply_of);
}

static void
count_refused(void *arg, int64_t at, const char *op, const char *actor,
    const char *key, const char *reason)
{
	journal_counts *c = arg;

	(void)at;
	c->refused++;
	snprintf(c->op, sizeof(c->op), "%s", op);
	snprintf(c->actor, sizeof(c->actor), "%s", actor);
	snprintf(c->actor_key, sizeof(c->actor_key), "%s", key);
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
}

static journal_counts
journal_read(const fixture *f)
{
	static const coord_journal_visitor v = { .created = count_created,
		.refused = count_refused };
	journal_counts c;

	memset(&c, 0, sizeof(c));
	coord_testfix_journal_visit(f->fx.dir, &v, &c);
	return c;
}

/* As operator admin. */
static coord_control_effect
ask(fixture *f, const sk_cli_request *req, sk_cli_response *resp)
{
	return coord_testfix_ask_as(&f->fx, f->admin, req, resp);
}

/* Start the plan in mode as key, with --reapply when reapply. */
static coord_control_effect
start_as(fixture *f, const sk_seckey *key, int mode, bool reapply, sk_cli_response *resp)
{
	sk_cli_request req;
	coord_control_effect effect;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_START;
	req.mode = mode;
	req.reapply = reapply;
	req.signed_plan = signed_plan(f, &req.signed_plan_len);
	effect = coord_testfix_ask_as(&f->fx, key, &req, resp);
	free(req.signed_plan);
	return effect;
}

static coord_control_effect
start(fixture *f, int mode, sk_cli_response *resp)
{
	return start_as(f, f->admin, mode, false, resp);
}

/* End rollout ro well in every region, as agents' reports would. */
static void
finish_ok(coord_rollout *ro)
{
	for (size_t i = 0; i < ro->nregions; i++)
		ro->regions[i].state = COORD_R_SUCCEEDED;
	ro->state = ro->rules->ok_state;
	ro->finished_ms = sk_now_ms();
}

/* Start and finish an apply of the plan; its id into id. */
static void
applied(fixture *f, char *id)
{
	sk_cli_response resp;

	assert_true(start(f, SK_MODE_APPLY, &resp).started);
	assert_true(resp.ok);
	snprintf(id, SK_ID_MAX, "%s", resp.rollout_id);
	sk_cli_response_fini(&resp);
	finish_ok(coord_registry_find(&f->fx.rollouts, id));
}

/* Ask, as key, to roll back rollout id (region: "" for all). */
static coord_control_effect
roll_back(fixture *f, const sk_seckey *key, const char *id, const char *region,
    bool no_backup, sk_cli_response *resp)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_ROLLBACK;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.region, sizeof(req.region), "%s", region);
	req.no_backup = no_backup;
	return coord_testfix_ask_as(&f->fx, key, &req, resp);
}

/* The view of rollout id as status shows it; caller finis it. */
static void
view_of(fixture *f, const char *id, sk_cli_response *resp)
{
	sk_cli_request req;

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_STATUS;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	assert_false(ask(f, &req, resp).started);
	assert_true(resp->ok);
	assert_int_equal(resp->nrollouts, 1);
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
	journal_counts c;
	sk_err err;

	assert_int_equal(coord_control_answer(&f->fx.ctx, garbage,
			     sizeof(garbage), &reply, &rlen, &effect, &err),
	    SK_OK);
	assert_false(effect.started);
	assert_int_equal(sk_cli_response_decode(reply, rlen, &resp, &err), SK_OK);
	assert_false(resp.ok);
	assert_int_equal(resp.error.code, SK_ECRYPTO);
	assert_non_null(strstr(resp.error.msg, "not a signed operator request"));
	sk_cli_response_fini(&resp);
	free(reply);
	assert_int_equal(f->fx.rollouts.n, 0);
	/* The refusal is on record; nothing else is. */
	c = journal_read(f);
	assert_int_equal(c.created, 0);
	assert_int_equal(c.refused, 1);
	assert_string_equal(c.op, "unknown");
	assert_non_null(strstr(c.reason, "not a signed operator request"));
}

static void
test_control_start_refuses_a_mode_it_does_not_start(void **state)
{
	fixture *f = *state;
	sk_cli_response resp;

	assert_false(start(f, SK_MODE_ROLLBACK, &resp).started);
	assert_false(resp.ok);
	assert_non_null(strstr(resp.error.msg, "a start cannot be in rollback mode"));
	sk_cli_response_fini(&resp);
	assert_false(start(f, 7, &resp).started);
	assert_false(resp.ok);
	assert_non_null(strstr(resp.error.msg, "unknown mode 7"));
	sk_cli_response_fini(&resp);
	assert_int_equal(f->fx.rollouts.n, 0);
	assert_int_equal(journal_read(f).created, 0);
	assert_int_equal(journal_read(f).refused, 2);
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
	assert_int_equal(f->fx.rollouts.n, 1);
	assert_string_equal(f->fx.rollouts.v[0]->id, id);
	assert_true(journal_size(f) > size);
	/* Who started it is journaled with it. */
	{
		journal_counts c = journal_read(f);
		char hex[2 * SK_KEY_ID_LEN + 1];

		sk_hex(sk_seckey_public(f->admin)->id, SK_KEY_ID_LEN, hex);
		assert_int_equal(c.created, 1);
		assert_string_equal(c.actor, "admin");
		assert_string_equal(c.actor_key, hex);
	}

	/* The same plan again, while it runs: the same rollout. */
	size = journal_size(f);
	assert_false(start(f, SK_MODE_APPLY, &resp).started);
	assert_true(resp.ok);
	assert_string_equal(resp.rollout_id, id);
	sk_cli_response_fini(&resp);
	assert_int_equal(f->fx.rollouts.n, 1);
	assert_int_equal(journal_size(f), size);

	/* A rehearsal of it is a run of its own. */
	assert_true(start(f, SK_MODE_REHEARSE, &resp).started);
	assert_true(resp.ok);
	assert_string_not_equal(resp.rollout_id, id);
	sk_cli_response_fini(&resp);
	assert_int_equal(f->fx.rollouts.n, 2);

	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_STATUS;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	assert_false(ask(f, &req, &resp).started);
	assert_true(resp.ok);
	assert_int_equal(resp.nrollouts, 1);
	assert_string_equal(resp.rollouts[0].id, id);
	assert_string_equal(resp.rollouts[0].state, "running");
	assert_string_equal(resp.rollouts[0].phases[0].regions[0].state, "pending");
	assert_string_equal(resp.rollouts[0].started_by, "admin");
	sk_cli_response_fini(&resp);
}

/* Answer msg expecting a refusal of code mentioning what; then nothing was
 * started and the journal holds one more refusal. */
static void
expect_refused(fixture *f, const uint8_t *msg, size_t len, int code, const char *what)
{
	int before = journal_read(f).refused;
	size_t nrollouts = f->fx.rollouts.n;
	sk_cli_response resp;

	assert_false(coord_testfix_answer(&f->fx, msg, len, &resp).started);
	assert_false(resp.ok);
	if (resp.error.code != code || strstr(resp.error.msg, what) == NULL)
		fail_msg("want %s containing \"%s\", got %s: %s", sk_code_name(code),
		    what, sk_code_name(resp.error.code), resp.error.msg);
	sk_cli_response_fini(&resp);
	assert_int_equal(f->fx.rollouts.n, nrollouts);
	assert_int_equal(journal_read(f).refused, before + 1);
}

static void
test_control_refuses_every_request_it_cannot_trust(void **state)
{
	fixture *f = *state;
	sk_cli_request start_req, status_req;
	uint8_t nonce[SK_NONCE_LEN], *msg;
	size_t len = 0;
	int64_t now = sk_now_ms();
	sk_cli_response resp;
	journal_counts c;
	sk_err err;

	memset(&start_req, 0, sizeof(start_req));
	start_req.op = SK_CLI_START;
	start_req.mode = SK_MODE_APPLY;
	start_req.signed_plan = signed_plan(f, &start_req.signed_plan_len);
	memset(&status_req, 0, sizeof(status_req));
	status_req.op = SK_CLI_STATUS;

	/* Unsigned (a request as the pre-operator CLI sent it). */
	assert_int_equal(sk_cli_request_encode(&start_req, &msg, &len, &err), SK_OK);
	expect_refused(f, msg, len, SK_ECRYPTO, "not a signed operator request");
	free(msg);
	/* Signed by a key nobody pinned: refused, journaled with its id. */
	msg = coord_testfix_sign(&start_req, f->stranger, now, NULL, &len);
	expect_refused(f, msg, len, SK_ECRYPTO, "");
	c = journal_read(f);
	{
		char hex[2 * SK_KEY_ID_LEN + 1];

		sk_hex(sk_seckey_public(f->stranger)->id, SK_KEY_ID_LEN, hex);
		assert_string_equal(c.actor_key, hex);
	}
	free(msg);
	/* A flipped bit in an admin's request. */
	msg = coord_testfix_sign(&start_req, f->admin, now, NULL, &len);
	msg[len - 10] ^= 0x04;
	expect_refused(f, msg, len, SK_ECRYPTO, "");
	free(msg);
	/* Too old, from before this coordinator started, from the future. */
	msg = coord_testfix_sign(&start_req, f->admin,
	    now - COORD_AUTH_WINDOW_MS - 5000, NULL, &len);
	expect_refused(f, msg, len, SK_EEXPIRED, "a request is good for 60 s");
	free(msg);
	msg = coord_testfix_sign(
	    &start_req, f->admin, f->fx.auth.boot_ms - 500, NULL, &len);
	expect_refused(f, msg, len, SK_EEXPIRED, "made before this coordinator started");
	free(msg);
	msg = coord_testfix_sign(
	    &start_req, f->admin, now + 5 * COORD_AUTH_WINDOW_MS, NULL, &len);
	expect_refused(f, msg, len, SK_EREFUSED, "in the future");
	free(msg);
	/* Beyond the role: a viewer may look, not start; an operator may
	 * start, not roll back. */
	msg = coord_testfix_sign(&start_req, f->viewer, now, NULL, &len);
	expect_refused(f, msg, len, SK_EREFUSED,
	    "operator viewer (viewer) may not start: that needs role operator");
	free(msg);
	c = journal_read(f);
	assert_string_equal(c.actor, "viewer");
	assert_string_equal(c.op, "start");
	assert_false(coord_testfix_ask_as(&f->fx, f->viewer, &status_req, &resp).started);
	assert_true(resp.ok);
	sk_cli_response_fini(&resp);
	{
		sk_cli_request rb;

		memset(&rb, 0, sizeof(rb));
		rb.op = SK_CLI_ROLLBACK;
		snprintf(rb.rollout_id, sizeof(rb.rollout_id), "r-anything");
		msg = coord_testfix_sign(&rb, f->op, now, NULL, &len);
		expect_refused(f, msg, len, SK_EREFUSED, "needs role admin");
		free(msg);
	}
	assert_int_equal(journal_read(f).created, 0);

	/* The same request twice: the second is a replay. */
	randombytes_buf(nonce, sizeof(nonce));
	msg = coord_testfix_sign(&start_req, f->op, now, nonce, &len);
	assert_true(coord_testfix_answer(&f->fx, msg, len, &resp).started);
	assert_true(resp.ok);
	sk_cli_response_fini(&resp);
	expect_refused(f, msg, len, SK_EREFUSED, "replayed");
	free(msg);
	c = journal_read(f);
	assert_int_equal(c.created, 1);
	assert_string_equal(c.actor, "op"); /* the last record: the replay */
	free(start_req.signed_plan);
}

/* A rollback backs every database up before its first revert unless
 * the command says --no-backup: that decision travels with the rollback
 * (journaled with who said it, shown in its view, carried to the agents
 * in its RUN command). */
static void
test_control_rollback_journals_no_backup_with_who_said_it(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX], rb1[SK_ID_MAX], rb2[SK_ID_MAX];
	sk_cli_response resp;
	journal_counts c;
	coord_rollout *ro;

	applied(f, id);

	/* Without --no-backup: the agents back up. */
	assert_true(roll_back(f, f->admin, id, "in", false, &resp).started);
	assert_true(resp.ok);
	snprintf(rb1, sizeof(rb1), "%s", resp.rollout_id);
	sk_cli_response_fini(&resp);
	ro = coord_registry_find(&f->fx.rollouts, rb1);
	assert_non_null(ro);
	assert_false(ro->no_backup);
	c = journal_read(f);
	assert_int_equal(c.mode, SK_MODE_ROLLBACK);
	assert_false(c.no_backup);
	view_of(f, rb1, &resp);
	assert_false(resp.rollouts[0].no_backup);
	assert_false(resp.rollouts[0].plan_no_rollback_backup);
	assert_int_equal(resp.rollouts[0].nbackups, 0);
	sk_cli_response_fini(&resp);
	/* The backup its agent reported is in its view: where it went. */
	{
		sk_report r;

		memset(&r, 0, sizeof(r));
		r.seq = 7;
		r.event = SK_EV_BACKUP;
		r.at_ms = sk_now_ms();
		snprintf(r.rollout_id, sizeof(r.rollout_id), "%s", rb1);
		snprintf(r.database, sizeof(r.database), "app");
		r.has_backup = true;
		snprintf(r.backup.path, sizeof(r.backup.path), "/b/in_app.dump");
		r.backup.size = 4096;
		coord_rollout_keep_report(ro, "in", &r);
	}
	view_of(f, rb1, &resp);
	assert_int_equal(resp.rollouts[0].nbackups, 1);
	assert_string_equal(resp.rollouts[0].backups[0].region, "in");
	assert_string_equal(resp.rollouts[0].backups[0].database, "app");
	assert_string_equal(resp.rollouts[0].backups[0].path, "/b/in_app.dump");
	assert_int_equal(resp.rollouts[0].backups[0].size, 4096);
	sk_cli_response_fini(&resp);
	finish_ok(ro);

	/* With it: journaled with the admin who said it, and in the view. */
	assert_true(roll_back(f, f->admin, id, "", true, &resp).started);
	assert_true(resp.ok);
	snprintf(rb2, sizeof(rb2), "%s", resp.rollout_id);
	sk_cli_response_fini(&resp);
	ro = coord_registry_find(&f->fx.rollouts, rb2);
	assert_non_null(ro);
	assert_true(ro->no_backup);
	c = journal_read(f);
	assert_int_equal(c.created, 3);
	assert_int_equal(c.mode, SK_MODE_ROLLBACK);
	assert_true(c.no_backup);
	assert_string_equal(c.actor, "admin");
	view_of(f, rb2, &resp);
	assert_true(resp.rollouts[0].no_backup);
	assert_string_equal(resp.rollouts[0].started_by, "admin");
	assert_string_equal(resp.rollouts[0].of_rollout, id);
	sk_cli_response_fini(&resp);

	/* An apply says nothing about backups before reverts. */
	view_of(f, id, &resp);
	assert_false(resp.rollouts[0].no_backup);
	assert_false(resp.rollouts[0].plan_no_rollback_backup);
	sk_cli_response_fini(&resp);
}

/* Applying a plan again after its latest apply was rolled back needs
 * --reapply; the decision is journaled with the rollout and who made
 * it. Nothing else needs it: a rehearsal, or the plan once re-applied. */
static void
test_control_reapply_after_a_rollback_needs_the_flag(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX], rb[SK_ID_MAX], again[SK_ID_MAX];
	sk_cli_response resp;
	journal_counts c;
	coord_rollout *ro;
	size_t n;

	/* Never rolled back: --reapply changes nothing and is not recorded. */
	assert_true(start_as(f, f->op, SK_MODE_APPLY, true, &resp).started);
	assert_true(resp.ok);
	snprintf(id, sizeof(id), "%s", resp.rollout_id);
	sk_cli_response_fini(&resp);
	assert_false(journal_read(f).reapply);
	ro = coord_registry_find(&f->fx.rollouts, id);
	assert_false(ro->reapply);
	finish_ok(ro);

	assert_true(roll_back(f, f->admin, id, "", false, &resp).started);
	assert_true(resp.ok);
	snprintf(rb, sizeof(rb), "%s", resp.rollout_id);
	sk_cli_response_fini(&resp);
	finish_ok(coord_registry_find(&f->fx.rollouts, rb));

	/* Without --reapply: refused, saying which rollback and how. */
	n = f->fx.rollouts.n;
	c = journal_read(f);
	assert_false(start_as(f, f->op, SK_MODE_APPLY, false, &resp).started);
	assert_false(resp.ok);
	assert_int_equal(resp.error.code, SK_ESTATE);
	assert_non_null(strstr(resp.error.msg, "its latest apply, rollout "));
	assert_non_null(strstr(resp.error.msg, id));
	assert_non_null(strstr(resp.error.msg, "was rolled back (rollback "));
	assert_non_null(strstr(resp.error.msg, rb));
	assert_non_null(strstr(resp.error.msg, "by admin"));
	assert_non_null(strstr(resp.error.hint, "--reapply"));
	sk_cli_response_fini(&resp);
	assert_int_equal(f->fx.rollouts.n, n);
	assert_int_equal(journal_read(f).created, c.created);

	/* A rehearsal changes nothing: it needs no --reapply. */
	assert_true(start(f, SK_MODE_REHEARSE, &resp).started);
	assert_true(resp.ok);
	sk_cli_response_fini(&resp);

	/* With --reapply, by the operator op: applied, and on record. */
	assert_true(start_as(f, f->op, SK_MODE_APPLY, true, &resp).started);
	assert_true(resp.ok);
	snprintf(again, sizeof(again), "%s", resp.rollout_id);
	sk_cli_response_fini(&resp);
	assert_string_not_equal(again, id);
	c = journal_read(f);
	assert_int_equal(c.mode, SK_MODE_APPLY);
	assert_true(c.reapply);
	assert_string_equal(c.reapply_of, id);
	assert_string_equal(c.actor, "op");
	view_of(f, again, &resp);
	assert_true(resp.rollouts[0].reapply);
	assert_string_equal(resp.rollouts[0].reapply_of, id);
	assert_string_equal(resp.rollouts[0].started_by, "op");
	sk_cli_response_fini(&resp);

	/* The re-applied rollout is now the latest apply: starting the plan
	 * again answers with it, no flag needed. */
	finish_ok(coord_registry_find(&f->fx.rollouts, again));
	assert_false(start_as(f, f->op, SK_MODE_APPLY, false, &resp).started);
	assert_true(resp.ok);
	assert_string_equal(resp.rollout_id, again);
	sk_cli_response_fini(&resp);
}

/* Rehearsals hold locks in every region while they run: one per plan
 * per rehearsal_interval. Within it a second is refused, saying when
 * the next is allowed, and nothing starts; the same signed plan while
 * the first runs is answered with it; applies are not limited; past the
 * interval, or with no interval, a rehearsal starts. */
static void
test_control_rehearsals_of_a_plan_are_rate_limited(void **state)
{
	fixture *f = *state;
	char id[SK_ID_MAX], at[32], want[64];
	sk_cli_response resp;
	coord_rollout *ro;
	struct tm tm;
	time_t t;
	int created;
	size_t n;

	f->fx.ctx.rehearsal_interval_ms = 5 * 60 * 1000;
	assert_true(start(f, SK_MODE_REHEARSE, &resp).started);
	assert_true(resp.ok);
	snprintf(id, sizeof(id), "%s", resp.rollout_id);
	sk_cli_response_fini(&resp);
	ro = coord_registry_find(&f->fx.rollouts, id);

	/* While it runs: the same rehearsal. */
	assert_false(start(f, SK_MODE_REHEARSE, &resp).started);
	assert_true(resp.ok);
	assert_string_equal(resp.rollout_id, id);
	sk_cli_response_fini(&resp);

	/* Ended, but within the interval: refused, nothing started. */
	finish_ok(ro);
	n = f->fx.rollouts.n;
	created = journal_read(f).created;
	assert_false(start(f, SK_MODE_REHEARSE, &resp).started);
	assert_false(resp.ok);
	assert_int_equal(resp.error.code, SK_ESTATE);
	t = (time_t)((ro->created_ms + f->fx.ctx.rehearsal_interval_ms) / 1000);
	assert_non_null(gmtime_r(&t, &tm));
	assert_true(strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
	snprintf(want, sizeof(want), "the next is allowed at %s, in ", at);
	if (strstr(resp.error.msg, want) == NULL ||
	    strstr(resp.error.msg, "rehearsal_interval") == NULL ||
	    strstr(resp.error.msg, id) == NULL)
		fail_msg("want \"%s\", the rehearsal and the setting in: %s",
		    want, resp.error.msg);
	assert_non_null(strstr(resp.error.msg, "at most one rehearsal every 5m"));
	assert_non_null(strstr(resp.error.hint, "skein rollout report"));
	sk_cli_response_fini(&resp);
	assert_int_equal(f->fx.rollouts.n, n);
	assert_int_equal(journal_read(f).created, created);

	/* Applying is not rate-limited. */
	assert_true(start(f, SK_MODE_APPLY, &resp).started);
	assert_true(resp.ok);
	sk_cli_response_fini(&resp);

	/* Once the interval has passed, the next rehearsal starts. */
	ro->created_ms -= f->fx.ctx.rehearsal_interval_ms + 1;
	assert_true(start(f, SK_MODE_REHEARSE, &resp).started);
	assert_true(resp.ok);
	assert_string_not_equal(resp.rollout_id, id);
	finish_ok(coord_registry_find(&f->fx.rollouts, resp.rollout_id));
	sk_cli_response_fini(&resp);

	/* rehearsal_interval: 0 is no limit. */
	f->fx.ctx.rehearsal_interval_ms = 0;
	assert_true(start(f, SK_MODE_REHEARSE, &resp).started);
	assert_true(resp.ok);
	sk_cli_response_fini(&resp);
}

static void
test_control_insecure_local_takes_unsigned_requests_as_local(void **state)
{
	fixture *f = *state;
	sk_cli_request req;
	uint8_t *msg = NULL;
	size_t len = 0;
	sk_cli_response resp;
	sk_err err;

	f->fx.cfg.insecure_local = true;
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_START;
	req.mode = SK_MODE_APPLY;
	req.signed_plan = signed_plan(f, &req.signed_plan_len);
	assert_int_equal(sk_cli_request_encode(&req, &msg, &len, &err), SK_OK);
	assert_true(coord_testfix_answer(&f->fx, msg, len, &resp).started);
	assert_true(resp.ok);
	sk_cli_response_fini(&resp);
	assert_string_equal(journal_read(f).actor, "local");
	assert_string_equal(f->fx.rollouts.v[0]->started_by, "local");
	free(msg);
	free(req.signed_plan);
	/* Signed requests are still checked. */
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_STATUS;
	msg = coord_testfix_sign(&req, f->stranger, sk_now_ms(), NULL, &len);
	expect_refused(f, msg, len, SK_ECRYPTO, "");
	free(msg);
}

static void
test_control_a_flood_of_refusals_is_journaled_in_bounds(void **state)
{
	fixture *f = *state;
	static const uint8_t garbage[] = { 0xff, 0x00, 0x13 };
	sk_cli_response resp;
	journal_counts c;

	for (int i = 0; i < COORD_AUTH_REFUSALS_PER_MIN + 40; i++) {
		coord_testfix_answer(&f->fx, garbage, sizeof(garbage), &resp);
		assert_false(resp.ok);
		sk_cli_response_fini(&resp);
	}
	c = journal_read(f);
	assert_int_equal(c.refused, COORD_AUTH_REFUSALS_PER_MIN);
	/* A minute later the count of those not journaled comes with the
	 * next refusal. */
	f->fx.auth.refusals_since -= 61 * 1000;
	coord_testfix_answer(&f->fx, garbage, sizeof(garbage), &resp);
	sk_cli_response_fini(&resp);
	c = journal_read(f);
	assert_int_equal(c.refused, COORD_AUTH_REFUSALS_PER_MIN + 1);
	assert_non_null(strstr(c.reason, "and 40 more refusals not journaled"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) \
cmocka_unit_test_setup_teardown(fn, setup, coord_testfix_staff_teardown)
		T(test_control_refuses_garbage_and_changes_nothing),
		T(test_control_start_refuses_a_mode_it_does_not_start),
		T(test_control_start_says_it_started_and_again_starts_nothing),
		T(test_control_refuses_every_request_it_cannot_trust),
		T(test_control_rollback_journals_no_backup_with_who_said_it),
		T(test_control_reapply_after_a_rollback_needs_the_flag),
		T(test_control_rehearsals_of_a_plan_are_rate_limited),
		T(test_control_insecure_local_takes_unsigned_requests_as_local),
		T(test_control_a_flood_of_refusals_is_journaled_in_bounds),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

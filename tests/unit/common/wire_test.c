/* wire_test: sk_wire round trips for every message the agent, coordinator
 * and CLI exchange, and every way a peer's bytes can be wrong: random,
 * truncated, mutated, overlong identifiers, bad nonces, unknown events.
 * A refused message must leave the out struct with nothing allocated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sk_err.h"
#include "sk_wire.h"
#include "skein.pb-c.h"

#define FUZZ_SEED 0x5EC0DE5EEDULL
#define FUZZ_RANDOM_BUFFERS 4000
#define FUZZ_MUTATIONS 1500

/* ---- helpers ------------------------------------------------------------ */

/* xorshift64*: a fixed seed makes every fuzz failure reproducible. */
static uint64_t rng_state;

static uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static void
set_err(sk_err *e, int code, const char *sqlstate, const char *msg,
    const char *detail, const char *hint)
{
	sk_err_clear(e);
	e->code = code;
	snprintf(e->sqlstate, sizeof(e->sqlstate), "%s", sqlstate);
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
	snprintf(e->detail, sizeof(e->detail), "%s", detail);
	snprintf(e->hint, sizeof(e->hint), "%s", hint);
}

static void
assert_err_equal(const sk_err *a, const sk_err *b)
{
	assert_int_equal(a->code, b->code);
	assert_string_equal(a->sqlstate, b->sqlstate);
	assert_string_equal(a->msg, b->msg);
	assert_string_equal(a->detail, b->detail);
	assert_string_equal(a->hint, b->hint);
}

/* A copy in a buffer of exactly len bytes, so ASan sees any overread. */
static uint8_t *
exact_copy(const uint8_t *buf, size_t len)
{
	uint8_t *c = malloc(len > 0 ? len : 1);

	assert_non_null(c);
	if (len > 0)
		memcpy(c, buf, len);
	return c;
}

static uint8_t *
pack_pb(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = malloc(*len > 0 ? *len : 1);
	assert_non_null(buf);
	protobuf_c_message_pack(m, buf);
	return buf;
}

static char *
repeat_char(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static bool
fits(const char *s, size_t cap)
{
	return strnlen(s, cap) < cap;
}

/* ---- sample messages ---------------------------------------------------- */

static const uint8_t sample_nonce[SK_NONCE_LEN] = {
	0x00,
	0x01,
	0x02,
	0xfe,
	0xff,
	0x10,
	0x20,
	0x30,
	0x40,
	0x50,
	0x60,
	0x70,
	0x80,
	0x90,
	0xa0,
	0xb0,
};

static void
sample_report(sk_report *r, uint64_t seq, int event)
{
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	r->event = event;
	snprintf(r->rollout_id, sizeof(r->rollout_id), "ro-20240501-0001");
	snprintf(r->plan_id, sizeof(r->plan_id), "plan-7f3a");
	snprintf(r->database, sizeof(r->database), "accounts");
	snprintf(r->step_id, sizeof(r->step_id), "0003_add_region");
	r->at_ms = 1714550400123;
	r->duration_ms = 5012;
	r->rows = -1;
	r->batch = 42;
	r->rate = 1234.5;
	r->eta_ms = 60000;
	r->attempt = 5;
	snprintf(r->detail, sizeof(r->detail), "batch 42 of 100");
}

/* The safety payloads: a check result, blockers with lock-wait counts,
 * a backup. */
static void
add_check(sk_report *r)
{
	r->has_check = true;
	snprintf(r->check.name, sizeof(r->check.name), "no_negative_amounts");
	snprintf(r->check.when, sizeof(r->check.when), "post");
	r->check.passed = false;
	snprintf(r->check.seen, sizeof(r->check.seen), "3");
	snprintf(r->check.expected, sizeof(r->check.expected), "= 0");
}

static void
add_blockers(sk_report *r, size_t n)
{
	r->nblockers = n;
	for (size_t i = 0; i < n; i++) {
		sk_blocker *b = &r->blockers[i];

		b->pid = 4711 + (int32_t)i;
		snprintf(b->state, sizeof(b->state), "idle in transaction");
		b->age_ms = 3600000 + (int64_t)i;
		snprintf(b->query, sizeof(b->query),
		    "UPDATE accounts SET n = n + %zu", i);
		snprintf(b->user, sizeof(b->user), "app_rw");
		snprintf(b->application, sizeof(b->application), "billing-worker");
	}
	r->lock_waits = 3;
	r->lock_wait_ms = 9000;
}

static void
add_backup(sk_report *r)
{
	r->has_backup = true;
	snprintf(r->backup.path, sizeof(r->backup.path),
	    "/var/lib/skein/backups/accounts-ro-1.dump");
	r->backup.size = 123456789012;
	r->backup.duration_ms = 65000;
	snprintf(r->backup.restore_command, sizeof(r->backup.restore_command),
	    "pg_restore --clean -d accounts /var/lib/skein/backups/accounts-ro-1.dump");
}

static void
sample_agent_msg(sk_agent_msg *m, sk_report reports[3],
    char dbs[2][SK_NAME_MAX], char running[1][SK_NAME_MAX])
{
	memset(m, 0, sizeof(*m));
	snprintf(m->region, sizeof(m->region), "ksa");
	memcpy(m->nonce, sample_nonce, SK_NONCE_LEN);
	m->boot_id = 0xfedcba9876543210ULL;
	m->wait = true;
	m->hold_ms = 1500;
	snprintf(m->version, sizeof(m->version), "0.3.1");
	sample_report(&reports[0], 1, SK_EV_PLAN_ACCEPTED);
	sample_report(&reports[1], 2, SK_EV_STEP_FAILED);
	set_err(&reports[1].error, SK_ESQL, "55P03",
	    "apply step 0003_add_region in ksa: lock timeout after 5 attempts (55P03)",
	    "relation \"accounts\" is locked by pid 4711", "retry off-peak");
	sample_report(&reports[2], 3, SK_EV_PLAN_FAILED);
	set_err(&reports[2].error, SK_EDRIFT, "", "step 0001 changed", "", "");
	add_check(&reports[0]);
	add_blockers(&reports[1], 2);
	add_backup(&reports[2]);
	snprintf(dbs[0], SK_NAME_MAX, "accounts");
	snprintf(dbs[1], SK_NAME_MAX, "billing");
	snprintf(running[0], SK_NAME_MAX, "ro-20240501-0001");
	m->reports = reports;
	m->nreports = 3;
	m->databases = dbs;
	m->ndatabases = 2;
	m->running = running;
	m->nrunning = 1;
}

static uint8_t *
encode_sample_agent_msg(size_t *len)
{
	sk_agent_msg m;
	sk_report reports[3];
	char dbs[2][SK_NAME_MAX], running[1][SK_NAME_MAX];
	uint8_t *buf = NULL;
	sk_err err;

	sample_agent_msg(&m, reports, dbs, running);
	assert_int_equal(sk_agent_msg_encode(&m, &buf, len, &err), SK_OK);
	return buf;
}

static uint8_t plan_a[] = { 'P', 'L', 'A', 'N', 0x00, 0xff, 0x01, 0x80 };
static uint8_t plan_b[] = { 0x0a, 0x0b };

static void
sample_control(sk_control *c, sk_command cmds[3])
{
	memset(c, 0, sizeof(*c));
	c->seq = 900000000001ULL;
	snprintf(c->region, sizeof(c->region), "af");
	memcpy(c->nonce, sample_nonce, SK_NONCE_LEN);
	c->boot_id = 77;
	/* Large enough for a multi-byte varint as the last field. */
	c->acked_report_seq = 0x123456789ULL;
	memset(cmds, 0, 3 * sizeof(*cmds));
	cmds[0].kind = SK_CMD_RUN_PLAN;
	snprintf(cmds[0].rollout_id, sizeof(cmds[0].rollout_id), "ro-a");
	cmds[0].signed_plan = plan_a;
	cmds[0].signed_plan_len = sizeof(plan_a);
	cmds[1].kind = SK_CMD_RUN_PLAN;
	snprintf(cmds[1].rollout_id, sizeof(cmds[1].rollout_id), "ro-b");
	cmds[1].signed_plan = plan_b;
	cmds[1].signed_plan_len = sizeof(plan_b);
	cmds[2].kind = SK_CMD_RUN_PLAN;
	snprintf(cmds[2].rollout_id, sizeof(cmds[2].rollout_id), "ro-empty");
	cmds[1].mode = SK_MODE_REHEARSE;
	cmds[2].mode = SK_MODE_ROLLBACK;
	cmds[2].no_backup = true;
	c->commands = cmds;
	c->ncommands = 3;
}

static void
sample_region(sk_region_view *v, const char *name, const char *state)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->name, sizeof(v->name), "%s", name);
	snprintf(v->state, sizeof(v->state), "%s", state);
	snprintf(v->step, sizeof(v->step), "0002_backfill");
	snprintf(v->database, sizeof(v->database), "accounts");
	v->updated_ms = 1714550400999;
	v->steps_done = 3;
	v->steps_total = 4;
	snprintf(v->detail, sizeof(v->detail), "waiting: lock held");
}

/* Two rollouts: one failed in its canary with phases, regions and events,
 * one bare. */
typedef struct sample_views {
	sk_region_view canary[1];
	sk_region_view rest[2];
	sk_phase_view phases[2];
	sk_event_view events[3];
	sk_rollout_view rollouts[2];
	sk_region_report reports[3];
	sk_database_view dbs[2];
	sk_backup_view backups[1];
} sample_views;

static void
sample_response(sk_cli_response *r, sample_views *s)
{
	memset(r, 0, sizeof(*r));
	memset(s, 0, sizeof(*s));
	sample_region(&s->canary[0], "af", "failed");
	set_err(&s->canary[0].error, SK_ESQL, "23505",
	    "apply step 0002_backfill in af: duplicate key", "Key (id)=(1)", "");
	sample_region(&s->rest[0], "in", "pending");
	sample_region(&s->rest[1], "ksa", "pending");
	snprintf(s->phases[0].name, sizeof(s->phases[0].name), "canary");
	snprintf(s->phases[0].state, sizeof(s->phases[0].state), "failed");
	s->phases[0].regions = s->canary;
	s->phases[0].nregions = 1;
	snprintf(s->phases[1].name, sizeof(s->phases[1].name), "rest");
	snprintf(s->phases[1].state, sizeof(s->phases[1].state), "not-started");
	s->phases[1].regions = s->rest;
	s->phases[1].nregions = 2;
	for (size_t i = 0; i < 3; i++) {
		s->events[i].seq = 1714550400000000ULL + i;
		s->events[i].at_ms = 1714550400000 + (int64_t)i;
		snprintf(s->events[i].region, sizeof(s->events[i].region), "%s",
		    i == 0 ? "" : "af");
		snprintf(s->events[i].text, sizeof(s->events[i].text),
		    "event number %zu", i);
	}
	snprintf(s->rollouts[0].id, sizeof(s->rollouts[0].id), "ro-1");
	snprintf(s->rollouts[0].plan_id, sizeof(s->rollouts[0].plan_id), "plan-1");
	snprintf(s->rollouts[0].plan_name, sizeof(s->rollouts[0].plan_name),
	    "add-region-column");
	snprintf(s->rollouts[0].state, sizeof(s->rollouts[0].state), "failed");
	s->rollouts[0].current_phase = 0;
	s->rollouts[0].created_ms = 1714550400000;
	s->rollouts[0].finished_ms = 1714550460000;
	s->rollouts[0].phases = s->phases;
	s->rollouts[0].nphases = 2;
	s->rollouts[0].events = s->events;
	s->rollouts[0].nevents = 3;
	snprintf(s->rollouts[0].reason, sizeof(s->rollouts[0].reason),
	    "apply step 0002_backfill in af: duplicate key");
	snprintf(s->rollouts[1].id, sizeof(s->rollouts[1].id), "ro-2");
	snprintf(s->rollouts[1].plan_id, sizeof(s->rollouts[1].plan_id), "plan-2");
	snprintf(s->rollouts[1].state, sizeof(s->rollouts[1].state), "running");
	s->rollouts[1].current_phase = 1;
	s->rollouts[1].mode = SK_MODE_ROLLBACK;
	snprintf(s->rollouts[1].of_rollout, sizeof(s->rollouts[1].of_rollout), "ro-1");
	s->rollouts[1].no_backup = true;
	s->rollouts[1].plan_no_rollback_backup = true;
	memset(s->backups, 0, sizeof(s->backups));
	snprintf(s->backups[0].region, sizeof(s->backups[0].region), "in");
	snprintf(s->backups[0].database, sizeof(s->backups[0].database), "accounts");
	snprintf(s->backups[0].path, sizeof(s->backups[0].path),
	    "/var/lib/skein/backups/in_accounts_p_ro-2_20240501T080000Z.dump");
	s->backups[0].size = 1 << 20;
	s->backups[0].at_ms = 1714550400123;
	s->rollouts[1].backups = s->backups;
	s->rollouts[1].nbackups = 1;
	s->rollouts[0].reapply = true;
	snprintf(s->rollouts[0].reapply_of, sizeof(s->rollouts[0].reapply_of), "ro-0");
	/* Two databases of one region, one waiting for a lock. */
	for (size_t i = 0; i < 2; i++) {
		sk_database_view *d = &s->dbs[i];

		snprintf(d->region, sizeof(d->region), "in");
		snprintf(d->name, sizeof(d->name), i == 0 ? "accounts" : "billing");
		snprintf(d->state, sizeof(d->state), "running");
		snprintf(d->step, sizeof(d->step), i == 0 ? "0001_add" : "0002_backfill");
		d->steps_done = (uint32_t)i;
		d->steps_total = 2;
		d->updated_ms = 1714550400000 + (int64_t)i;
	}
	snprintf(s->dbs[0].detail, sizeof(s->dbs[0].detail),
	    "waiting for a lock held by pid 4242 (idle in transaction)");
	s->dbs[0].blocker_pid = 4242;
	/* billing runs a backfill, paused. */
	snprintf(s->dbs[1].progress_step, sizeof(s->dbs[1].progress_step),
	    "0002_backfill");
	snprintf(s->dbs[1].progress_kind, sizeof(s->dbs[1].progress_kind), "backfill");
	s->dbs[1].rows_done = 1100000;
	s->dbs[1].rows_total = 2000000;
	s->dbs[1].rows_scanned = 1160000;
	s->dbs[1].rate = 24300.5;
	s->dbs[1].eta_ms = 35000;
	s->dbs[1].batch_size = 4800;
	s->dbs[1].batches = 242;
	snprintf(s->dbs[1].throttle, sizeof(s->dbs[1].throttle),
	    "replication lag 12.3 s > 10 s");
	s->dbs[1].throttled_ms = 81000;
	s->rollouts[1].databases = s->dbs;
	s->rollouts[1].ndatabases = 2;
	snprintf(s->reports[0].region, sizeof(s->reports[0].region), "af");
	sample_report(&s->reports[0].report, 1, SK_EV_CHECK);
	add_check(&s->reports[0].report);
	snprintf(s->reports[1].region, sizeof(s->reports[1].region), "af");
	sample_report(&s->reports[1].report, 2, SK_EV_LOCK_WAIT);
	add_blockers(&s->reports[1].report, SK_BLOCKERS_MAX);
	snprintf(s->reports[2].region, sizeof(s->reports[2].region), "in");
	sample_report(&s->reports[2].report, 1, SK_EV_BACKUP);
	add_backup(&s->reports[2].report);
	r->reports = s->reports;
	r->nreports = 3;
	r->signed_plan = plan_b;
	r->signed_plan_len = sizeof(plan_b);
	r->ok = true;
	snprintf(r->rollout_id, sizeof(r->rollout_id), "ro-1");
	r->rollouts = s->rollouts;
	r->nrollouts = 2;
}

static uint8_t *
encode_sample_response(size_t *len)
{
	sk_cli_response r;
	sample_views s;
	uint8_t *buf = NULL;
	sk_err err;

	sample_response(&r, &s);
	assert_int_equal(sk_cli_response_encode(&r, &buf, len, &err), SK_OK);
	return buf;
}

static void
sample_region_report(sk_region_report *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->region, sizeof(r->region), "ksa");
	sample_report(&r->report, 17, SK_EV_STEP_FAILED);
	set_err(&r->report.error, SK_ECHECK, "", "post-check failed", "", "");
	add_check(&r->report);
	add_blockers(&r->report, 1);
	add_backup(&r->report);
}

static uint8_t *
encode_sample_region_report(size_t *len)
{
	sk_region_report r;
	uint8_t *buf = NULL;
	sk_err err;

	sample_region_report(&r);
	assert_int_equal(sk_region_report_encode(&r, &buf, len, &err), SK_OK);
	return buf;
}

/* ---- decode wrappers that check the contract --------------------------- */

/* Each decodes, checks that a refusal left nothing allocated and that an
 * acceptance produced bounded strings and consistent arrays, then frees
 * (twice: fini must leave the struct safe to fini again). */

static int
try_agent_msg(const uint8_t *buf, size_t len, sk_err *err)
{
	sk_agent_msg m;
	int rc = sk_agent_msg_decode(buf, len, &m, err);

	if (rc != SK_OK) {
		assert_null(m.reports);
		assert_null(m.databases);
		assert_null(m.running);
		assert_int_equal(m.nreports + m.ndatabases + m.nrunning, 0);
	} else {
		assert_true(fits(m.region, sizeof(m.region)));
		assert_true(fits(m.version, sizeof(m.version)));
		assert_true(m.nreports == 0 || m.reports != NULL);
		assert_true(m.ndatabases == 0 || m.databases != NULL);
		assert_true(m.nrunning == 0 || m.running != NULL);
		for (size_t i = 0; i < m.nreports; i++) {
			assert_in_range(m.reports[i].event, 1, SK_EV_MAX - 1);
			assert_true(fits(m.reports[i].database, SK_NAME_MAX));
			assert_true(fits(m.reports[i].step_id, SK_NAME_MAX));
			assert_true(fits(m.reports[i].error.msg, SK_ERR_MSG_MAX));
		}
		for (size_t i = 0; i < m.ndatabases; i++)
			assert_true(fits(m.databases[i], SK_NAME_MAX));
	}
	sk_agent_msg_fini(&m);
	sk_agent_msg_fini(&m);
	assert_null(m.reports);
	return rc;
}

static int
try_control(const uint8_t *buf, size_t len, sk_err *err)
{
	sk_control c;
	int rc = sk_control_decode(buf, len, &c, err);

	if (rc != SK_OK) {
		assert_null(c.commands);
		assert_int_equal(c.ncommands, 0);
	} else {
		assert_true(fits(c.region, sizeof(c.region)));
		assert_true(c.ncommands == 0 || c.commands != NULL);
		for (size_t i = 0; i < c.ncommands; i++) {
			assert_true(fits(c.commands[i].rollout_id, SK_ID_MAX));
			assert_true(c.commands[i].signed_plan_len == 0 ||
			    c.commands[i].signed_plan != NULL);
		}
	}
	sk_control_fini(&c);
	sk_control_fini(&c);
	assert_null(c.commands);
	return rc;
}

static int
try_cli_request(const uint8_t *buf, size_t len, sk_err *err)
{
	sk_cli_request q;
	int rc = sk_cli_request_decode(buf, len, &q, err);

	if (rc != SK_OK) {
		assert_null(q.signed_plan);
		assert_int_equal(q.signed_plan_len, 0);
	} else {
		assert_true((q.op >= SK_CLI_START && q.op <= SK_CLI_TUNE) ||
		    (q.op >= SK_CLI_APPROVE && q.op <= SK_CLI_AGENTS));
		assert_in_range(q.mode, 0, SK_MODE_MAX - 1);
		assert_true(fits(q.rollout_id, sizeof(q.rollout_id)));
		assert_true(fits(q.region, sizeof(q.region)));
		if (q.op == SK_CLI_START)
			assert_non_null(q.signed_plan);
	}
	sk_cli_request_fini(&q);
	sk_cli_request_fini(&q);
	assert_null(q.signed_plan);
	return rc;
}

static int
try_cli_response(const uint8_t *buf, size_t len, sk_err *err)
{
	sk_cli_response r;
	int rc = sk_cli_response_decode(buf, len, &r, err);

	if (rc != SK_OK) {
		assert_null(r.rollouts);
		assert_int_equal(r.nrollouts, 0);
		assert_null(r.reports);
		assert_int_equal(r.nreports, 0);
		assert_null(r.signed_plan);
		assert_int_equal(r.signed_plan_len, 0);
	} else {
		assert_true(fits(r.rollout_id, sizeof(r.rollout_id)));
		assert_true(r.nreports == 0 || r.reports != NULL);
		assert_true(r.signed_plan_len == 0 || r.signed_plan != NULL);
		for (size_t i = 0; i < r.nreports; i++) {
			assert_true(fits(r.reports[i].region, SK_NAME_MAX));
			assert_true(r.reports[i].report.nblockers <= SK_BLOCKERS_MAX);
		}
		assert_true(r.nrollouts == 0 || r.rollouts != NULL);
		for (size_t i = 0; i < r.nrollouts; i++) {
			const sk_rollout_view *v = &r.rollouts[i];

			assert_true(fits(v->id, sizeof(v->id)));
			assert_true(fits(v->reason, sizeof(v->reason)));
			assert_true(v->nphases == 0 || v->phases != NULL);
			assert_true(v->nevents == 0 || v->events != NULL);
			for (size_t p = 0; p < v->nphases; p++) {
				assert_true(v->phases[p].nregions == 0 ||
				    v->phases[p].regions != NULL);
				for (size_t k = 0; k < v->phases[p].nregions; k++)
					assert_true(fits(v->phases[p].regions[k].name,
					    SK_NAME_MAX));
			}
			for (size_t e = 0; e < v->nevents; e++)
				assert_true(fits(v->events[e].text,
				    sizeof(v->events[e].text)));
		}
	}
	sk_cli_response_fini(&r);
	sk_cli_response_fini(&r);
	assert_null(r.rollouts);
	assert_null(r.reports);
	assert_null(r.signed_plan);
	return rc;
}

static int
try_region_report(const uint8_t *buf, size_t len, sk_err *err)
{
	sk_region_report r;
	int rc;

	memset(&r, 0x5a, sizeof(r));
	rc = sk_region_report_decode(buf, len, &r, err);
	if (rc == SK_OK) {
		assert_true(fits(r.region, sizeof(r.region)));
		assert_in_range(r.report.event, 1, SK_EV_MAX - 1);
		assert_true(r.report.nblockers <= SK_BLOCKERS_MAX);
		assert_true(fits(r.report.check.name, SK_NAME_MAX));
		assert_true(fits(r.report.check.seen, sizeof(r.report.check.seen)));
		assert_true(fits(r.report.backup.path, sizeof(r.report.backup.path)));
		for (size_t i = 0; i < r.report.nblockers; i++)
			assert_true(fits(r.report.blockers[i].query,
			    sizeof(r.report.blockers[i].query)));
	}
	return rc;
}

/* Pack m and check that try refuses it with SK_EDECODE and (if why is
 * not NULL) a message containing why. */
static void
expect_edecode(int (*try)(const uint8_t *, size_t, sk_err *),
    const ProtobufCMessage *m, const char *why)
{
	size_t len;
	uint8_t *buf = pack_pb(m, &len);
	sk_err err;

	sk_err_clear(&err);
	assert_int_equal(try(buf, len, &err), SK_EDECODE);
	if (why != NULL)
		assert_non_null(strstr(err.msg, why));
	free(buf);
}

static int
try_region_view(const uint8_t *buf, size_t len, sk_err *err)
{
	sk_region_view v;
	int rc;

	memset(&v, 0, sizeof(v));
	rc = sk_region_view_decode(buf, len, &v, err);
	if (rc == SK_OK) {
		assert_true(fits(v.name, sizeof(v.name)));
		assert_true(fits(v.state, sizeof(v.state)));
		assert_true(fits(v.step, sizeof(v.step)));
		assert_true(fits(v.database, sizeof(v.database)));
		assert_true(fits(v.detail, sizeof(v.detail)));
		assert_true(fits(v.error.msg, sizeof(v.error.msg)));
	}
	return rc;
}

typedef int (*try_fn)(const uint8_t *, size_t, sk_err *);

static const struct decoder {
	const char *name;
	try_fn fn;
} decoders[] = {
	{ "agent message", try_agent_msg },
	{ "control", try_control },
	{ "cli request", try_cli_request },
	{ "cli response", try_cli_response },
	{ "region view", try_region_view },
	{ "region report", try_region_report },
};

#define NDECODERS (sizeof(decoders) / sizeof(decoders[0]))

/* ---- round trips -------------------------------------------------------- */

static void
assert_report_equal(const sk_report *a, const sk_report *b)
{
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->event, b->event);
	assert_string_equal(a->rollout_id, b->rollout_id);
	assert_string_equal(a->plan_id, b->plan_id);
	assert_string_equal(a->database, b->database);
	assert_string_equal(a->step_id, b->step_id);
	assert_int_equal(a->at_ms, b->at_ms);
	assert_int_equal(a->duration_ms, b->duration_ms);
	assert_int_equal(a->rows, b->rows);
	assert_int_equal(a->batch, b->batch);
	assert_true(a->rate == b->rate);
	assert_int_equal(a->eta_ms, b->eta_ms);
	assert_int_equal(a->attempt, b->attempt);
	assert_string_equal(a->detail, b->detail);
	assert_err_equal(&a->error, &b->error);
	assert_int_equal(a->has_check, b->has_check);
	assert_string_equal(a->check.name, b->check.name);
	assert_string_equal(a->check.when, b->check.when);
	assert_int_equal(a->check.passed, b->check.passed);
	assert_string_equal(a->check.seen, b->check.seen);
	assert_string_equal(a->check.expected, b->check.expected);
	assert_int_equal(a->nblockers, b->nblockers);
	for (size_t i = 0; i < b->nblockers; i++) {
		assert_int_equal(a->blockers[i].pid, b->blockers[i].pid);
		assert_string_equal(a->blockers[i].state, b->blockers[i].state);
		assert_int_equal(a->blockers[i].age_ms, b->blockers[i].age_ms);
		assert_string_equal(a->blockers[i].query, b->blockers[i].query);
		assert_string_equal(a->blockers[i].user, b->blockers[i].user);
		assert_string_equal(
		    a->blockers[i].application, b->blockers[i].application);
	}
	assert_int_equal(a->has_backup, b->has_backup);
	assert_string_equal(a->backup.path, b->backup.path);
	assert_int_equal(a->backup.size, b->backup.size);
	assert_int_equal(a->backup.duration_ms, b->backup.duration_ms);
	assert_string_equal(a->backup.restore_command, b->backup.restore_command);
	assert_int_equal(a->lock_waits, b->lock_waits);
	assert_int_equal(a->lock_wait_ms, b->lock_wait_ms);
}

static void
test_agent_msg_round_trips_reports_with_sqlstate_errors(void **state)
{
	sk_agent_msg in, out;
	sk_report reports[3];
	char dbs[2][SK_NAME_MAX], running[1][SK_NAME_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	sample_agent_msg(&in, reports, dbs, running);
	assert_int_equal(sk_agent_msg_encode(&in, &buf, &len, &err), SK_OK);
	assert_true(len > 0);
	assert_int_equal(sk_agent_msg_decode(buf, len, &out, &err), SK_OK);
	assert_string_equal(out.region, "ksa");
	assert_memory_equal(out.nonce, sample_nonce, SK_NONCE_LEN);
	assert_int_equal(out.boot_id, 0xfedcba9876543210ULL);
	assert_int_equal(out.hold_ms, 1500);
	assert_true(out.wait);
	assert_string_equal(out.version, "0.3.1");
	assert_int_equal(out.nreports, 3);
	for (size_t i = 0; i < 3; i++)
		assert_report_equal(&out.reports[i], &reports[i]);
	assert_string_equal(out.reports[1].error.sqlstate, "55P03");
	assert_int_equal(out.reports[1].error.code, SK_ESQL);
	assert_int_equal(out.reports[0].error.code, SK_OK);
	assert_true(out.reports[0].has_check);
	assert_string_equal(out.reports[0].check.name, "no_negative_amounts");
	assert_false(out.reports[0].check.passed);
	assert_false(out.reports[0].has_backup);
	assert_int_equal(out.reports[0].nblockers, 0);
	assert_int_equal(out.reports[1].nblockers, 2);
	assert_int_equal(out.reports[1].blockers[1].pid, 4712);
	assert_int_equal(out.reports[1].lock_waits, 3);
	assert_int_equal(out.reports[1].lock_wait_ms, 9000);
	assert_false(out.reports[1].has_check);
	assert_true(out.reports[2].has_backup);
	assert_int_equal(out.reports[2].backup.size, 123456789012);
	assert_int_equal(out.ndatabases, 2);
	assert_string_equal(out.databases[0], "accounts");
	assert_string_equal(out.databases[1], "billing");
	assert_int_equal(out.nrunning, 1);
	assert_string_equal(out.running[0], "ro-20240501-0001");
	sk_agent_msg_fini(&out);
	free(buf);
}

static void
test_agent_msg_without_reports_decodes_to_empty_arrays(void **state)
{
	sk_agent_msg in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(&in, 0, sizeof(in));
	snprintf(in.region, sizeof(in.region), "in");
	memcpy(in.nonce, sample_nonce, SK_NONCE_LEN);
	assert_int_equal(sk_agent_msg_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_agent_msg_decode(buf, len, &out, &err), SK_OK);
	assert_string_equal(out.region, "in");
	assert_false(out.wait);
	assert_int_equal(out.nreports, 0);
	assert_null(out.reports);
	assert_int_equal(out.ndatabases, 0);
	assert_null(out.databases);
	assert_int_equal(out.nrunning, 0);
	assert_null(out.running);
	sk_agent_msg_fini(&out);
	free(buf);
}

/* A refusal (Control.refused, refused_hint) comes through whole, and a
 * Control without one decodes with both empty. */
static void
test_control_round_trips_a_refusal(void **state)
{
	sk_control in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.seq = 5;
	snprintf(in.region, sizeof(in.region), "af");
	memcpy(in.nonce, sample_nonce, SK_NONCE_LEN);
	snprintf(in.refused, sizeof(in.refused), "it signs with the key of in");
	snprintf(in.refused_hint, sizeof(in.refused_hint), "check regions/af.yaml");
	assert_int_equal(sk_control_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_control_decode(buf, len, &out, &err), SK_OK);
	assert_string_equal(out.refused, "it signs with the key of in");
	assert_string_equal(out.refused_hint, "check regions/af.yaml");
	assert_int_equal(out.ncommands, 0);
	sk_control_fini(&out);
	free(buf);
	in.refused[0] = in.refused_hint[0] = '\0';
	assert_int_equal(sk_control_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_control_decode(buf, len, &out, &err), SK_OK);
	assert_string_equal(out.refused, "");
	assert_string_equal(out.refused_hint, "");
	sk_control_fini(&out);
	free(buf);
}

static void
test_control_round_trips_commands_with_signed_plans(void **state)
{
	sk_control in, out;
	sk_command cmds[3];
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	sample_control(&in, cmds);
	assert_int_equal(sk_control_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_control_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.seq, 900000000001ULL);
	assert_string_equal(out.region, "af");
	assert_memory_equal(out.nonce, sample_nonce, SK_NONCE_LEN);
	assert_int_equal(out.boot_id, 77);
	assert_int_equal(out.acked_report_seq, 0x123456789ULL);
	assert_int_equal(out.ncommands, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(out.commands[i].kind, SK_CMD_RUN_PLAN);
		assert_int_equal(out.commands[i].mode, cmds[i].mode);
		assert_int_equal(out.commands[i].no_backup, i == 2);
		assert_string_equal(out.commands[i].rollout_id, cmds[i].rollout_id);
		assert_int_equal(
		    out.commands[i].signed_plan_len, cmds[i].signed_plan_len);
	}
	assert_memory_equal(out.commands[0].signed_plan, plan_a, sizeof(plan_a));
	assert_memory_equal(out.commands[1].signed_plan, plan_b, sizeof(plan_b));
	assert_null(out.commands[2].signed_plan);
	sk_control_fini(&out);
	assert_null(out.commands);
	assert_int_equal(out.ncommands, 0);
	free(buf);
}

static void
test_cli_request_start_round_trips_signed_plan(void **state)
{
	sk_cli_request in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.op = SK_CLI_START;
	in.signed_plan = plan_a;
	in.signed_plan_len = sizeof(plan_a);
	in.events_since = 300;
	assert_int_equal(sk_cli_request_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_request_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.op, SK_CLI_START);
	assert_int_equal(out.signed_plan_len, sizeof(plan_a));
	assert_memory_equal(out.signed_plan, plan_a, sizeof(plan_a));
	assert_int_equal(out.events_since, 300);
	assert_string_equal(out.rollout_id, "");
	sk_cli_request_fini(&out);
	assert_null(out.signed_plan);
	free(buf);
}

static void
test_cli_request_status_round_trips_rollout_id_and_since(void **state)
{
	sk_cli_request in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.op = SK_CLI_STATUS;
	snprintf(in.rollout_id, sizeof(in.rollout_id), "ro-20240501-0001");
	in.events_since = 1714550400000000ULL;
	assert_int_equal(sk_cli_request_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_request_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.op, SK_CLI_STATUS);
	assert_string_equal(out.rollout_id, "ro-20240501-0001");
	assert_int_equal(out.events_since, 1714550400000000ULL);
	assert_null(out.signed_plan);
	sk_cli_request_fini(&out);
	free(buf);

	/* "" asks for every rollout and must survive as a STATUS request. */
	in.rollout_id[0] = '\0';
	in.events_since = 0;
	assert_int_equal(sk_cli_request_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_request_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.op, SK_CLI_STATUS);
	assert_string_equal(out.rollout_id, "");
	sk_cli_request_fini(&out);
	free(buf);
}

static void
assert_region_equal(const sk_region_view *a, const sk_region_view *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->state, b->state);
	assert_string_equal(a->step, b->step);
	assert_string_equal(a->database, b->database);
	assert_err_equal(&a->error, &b->error);
	assert_int_equal(a->updated_ms, b->updated_ms);
	assert_int_equal(a->steps_done, b->steps_done);
	assert_int_equal(a->steps_total, b->steps_total);
	assert_string_equal(a->detail, b->detail);
}

static void
test_cli_response_round_trips_rollout_views(void **state)
{
	sk_cli_response in, out;
	sample_views s;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	sample_response(&in, &s);
	assert_int_equal(sk_cli_response_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_response_decode(buf, len, &out, &err), SK_OK);
	assert_true(out.ok);
	assert_int_equal(out.error.code, SK_OK);
	assert_string_equal(out.rollout_id, "ro-1");
	assert_int_equal(out.nrollouts, 2);
	for (size_t i = 0; i < 2; i++) {
		const sk_rollout_view *a = &out.rollouts[i], *b = &s.rollouts[i];

		assert_string_equal(a->id, b->id);
		assert_string_equal(a->plan_id, b->plan_id);
		assert_string_equal(a->plan_name, b->plan_name);
		assert_string_equal(a->state, b->state);
		assert_int_equal(a->current_phase, b->current_phase);
		assert_int_equal(a->created_ms, b->created_ms);
		assert_int_equal(a->finished_ms, b->finished_ms);
		assert_string_equal(a->reason, b->reason);
		assert_int_equal(a->mode, b->mode);
		assert_string_equal(a->of_rollout, b->of_rollout);
		assert_int_equal(a->no_backup, b->no_backup);
		assert_int_equal(a->plan_no_rollback_backup, b->plan_no_rollback_backup);
		assert_int_equal(a->reapply, b->reapply);
		assert_string_equal(a->reapply_of, b->reapply_of);
		assert_int_equal(a->nbackups, b->nbackups);
		for (size_t k = 0; k < a->nbackups; k++) {
			assert_string_equal(a->backups[k].region, b->backups[k].region);
			assert_string_equal(
			    a->backups[k].database, b->backups[k].database);
			assert_string_equal(a->backups[k].path, b->backups[k].path);
			assert_int_equal(a->backups[k].size, b->backups[k].size);
			assert_int_equal(a->backups[k].at_ms, b->backups[k].at_ms);
		}
		assert_int_equal(a->nphases, b->nphases);
		assert_int_equal(a->nevents, b->nevents);
		assert_int_equal(a->ndatabases, b->ndatabases);
		for (size_t d = 0; d < a->ndatabases; d++) {
			const sk_database_view *x = &a->databases[d],
					       *y = &b->databases[d];

			assert_string_equal(x->region, y->region);
			assert_string_equal(x->name, y->name);
			assert_string_equal(x->state, y->state);
			assert_string_equal(x->step, y->step);
			assert_int_equal(x->steps_done, y->steps_done);
			assert_int_equal(x->steps_total, y->steps_total);
			assert_string_equal(x->detail, y->detail);
			assert_int_equal(x->updated_ms, y->updated_ms);
			assert_int_equal(x->blocker_pid, y->blocker_pid);
			assert_string_equal(x->progress_step, y->progress_step);
			assert_string_equal(x->progress_kind, y->progress_kind);
			assert_int_equal(x->rows_done, y->rows_done);
			assert_int_equal(x->rows_total, y->rows_total);
			assert_int_equal(x->rows_scanned, y->rows_scanned);
			assert_true(x->rate == y->rate);
			assert_int_equal(x->eta_ms, y->eta_ms);
			assert_int_equal(x->batch_size, y->batch_size);
			assert_int_equal(x->batches, y->batches);
			assert_string_equal(x->throttle, y->throttle);
			assert_int_equal(x->throttled_ms, y->throttled_ms);
		}
		for (size_t p = 0; p < a->nphases; p++) {
			assert_string_equal(a->phases[p].name, b->phases[p].name);
			assert_string_equal(a->phases[p].state, b->phases[p].state);
			assert_int_equal(a->phases[p].nregions, b->phases[p].nregions);
			for (size_t k = 0; k < a->phases[p].nregions; k++)
				assert_region_equal(&a->phases[p].regions[k],
				    &b->phases[p].regions[k]);
		}
		for (size_t e = 0; e < a->nevents; e++) {
			assert_int_equal(a->events[e].seq, b->events[e].seq);
			assert_int_equal(a->events[e].at_ms, b->events[e].at_ms);
			assert_string_equal(a->events[e].region, b->events[e].region);
			assert_string_equal(a->events[e].text, b->events[e].text);
		}
	}
	assert_string_equal(out.rollouts[0].phases[0].regions[0].error.sqlstate, "23505");
	assert_null(out.rollouts[1].phases);
	assert_null(out.rollouts[1].events);
	assert_null(out.rollouts[0].databases);
	assert_int_equal(out.rollouts[1].databases[0].blocker_pid, 4242);
	assert_int_equal(out.rollouts[0].mode, SK_MODE_APPLY);
	assert_int_equal(out.rollouts[1].mode, SK_MODE_ROLLBACK);
	assert_string_equal(out.rollouts[1].of_rollout, "ro-1");
	assert_int_equal(out.nreports, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(out.reports[i].region, s.reports[i].region);
		assert_report_equal(&out.reports[i].report, &s.reports[i].report);
	}
	assert_int_equal(out.reports[1].report.nblockers, SK_BLOCKERS_MAX);
	assert_int_equal(out.signed_plan_len, sizeof(plan_b));
	assert_memory_equal(out.signed_plan, plan_b, sizeof(plan_b));
	sk_cli_response_fini(&out);
	assert_null(out.rollouts);
	assert_null(out.reports);
	assert_int_equal(out.nreports, 0);
	assert_null(out.signed_plan);
	assert_int_equal(out.signed_plan_len, 0);
	free(buf);
}

static void
test_cli_response_round_trips_error(void **state)
{
	sk_cli_response in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.ok = false;
	set_err(&in.error, SK_ENOTFOUND, "", "show rollout ro-9: no such rollout",
	    "", "list rollouts with `skein rollout list`");
	assert_int_equal(sk_cli_response_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_response_decode(buf, len, &out, &err), SK_OK);
	assert_false(out.ok);
	assert_err_equal(&out.error, &in.error);
	assert_int_equal(out.nrollouts, 0);
	assert_null(out.rollouts);
	assert_int_equal(out.nreports, 0);
	assert_null(out.reports);
	assert_null(out.signed_plan);
	sk_cli_response_fini(&out);
	free(buf);
}

static void
test_region_view_round_trips_with_and_without_error(void **state)
{
	sk_region_view in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	sample_region(&in, "ksa", "failed");
	set_err(&in.error, SK_ESQL, "40P01", "apply step 0002 in ksa: deadlock",
	    "process 1 waits for ShareLock", "");
	assert_int_equal(sk_region_view_encode(&in, &buf, &len, &err), SK_OK);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(sk_region_view_decode(buf, len, &out, &err), SK_OK);
	assert_region_equal(&out, &in);
	free(buf);

	sample_region(&in, "in", "running");
	assert_int_equal(sk_region_view_encode(&in, &buf, &len, &err), SK_OK);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(sk_region_view_decode(buf, len, &out, &err), SK_OK);
	assert_region_equal(&out, &in);
	assert_int_equal(out.error.code, SK_OK);
	assert_string_equal(out.error.sqlstate, "");
	free(buf);
}

/* ---- refusals ----------------------------------------------------------- */

static void
test_decoders_survive_random_bytes(void **state)
{
	uint8_t scratch[256];
	size_t accepted[NDECODERS] = { 0 };

	(void)state;
	rng_state = FUZZ_SEED;
	for (int i = 0; i < FUZZ_RANDOM_BUFFERS; i++) {
		size_t len = (size_t)(rng_next() % sizeof(scratch));
		uint8_t *buf;

		for (size_t k = 0; k < len; k++)
			scratch[k] = (uint8_t)rng_next();
		buf = exact_copy(scratch, len);
		for (size_t d = 0; d < NDECODERS; d++) {
			sk_err err;
			int rc;

			sk_err_clear(&err);
			rc = decoders[d].fn(buf, len, &err);
			if (rc == SK_OK)
				accepted[d]++;
			else {
				assert_int_equal(rc, SK_EDECODE);
				assert_int_equal(err.code, SK_EDECODE);
				assert_true(err.msg[0] != '\0');
			}
		}
		free(buf);
	}
	/* Random bytes are almost never a message with a 16-byte nonce. */
	assert_true(accepted[0] < FUZZ_RANDOM_BUFFERS / 100);
	assert_true(accepted[1] < FUZZ_RANDOM_BUFFERS / 100);
}

static void
test_decoders_survive_mutated_valid_messages(void **state)
{
	uint8_t *valid[NDECODERS];
	size_t vlen[NDECODERS];
	sk_cli_request q;
	sk_control c;
	sk_command cmds[3];
	sk_region_view v;
	sk_err err;

	(void)state;
	valid[0] = encode_sample_agent_msg(&vlen[0]);
	sample_control(&c, cmds);
	assert_int_equal(sk_control_encode(&c, &valid[1], &vlen[1], &err), SK_OK);
	memset(&q, 0, sizeof(q));
	q.op = SK_CLI_START;
	q.signed_plan = plan_a;
	q.signed_plan_len = sizeof(plan_a);
	q.events_since = 999999;
	assert_int_equal(sk_cli_request_encode(&q, &valid[2], &vlen[2], &err), SK_OK);
	valid[3] = encode_sample_response(&vlen[3]);
	sample_region(&v, "af", "running");
	set_err(&v.error, SK_ESQL, "55P03", "lock timeout", "", "");
	assert_int_equal(sk_region_view_encode(&v, &valid[4], &vlen[4], &err), SK_OK);
	valid[5] = encode_sample_region_report(&vlen[5]);

	rng_state = FUZZ_SEED ^ 0xabcdef;
	for (size_t d = 0; d < NDECODERS; d++) {
		for (int i = 0; i < FUZZ_MUTATIONS; i++) {
			uint8_t *buf = exact_copy(valid[d], vlen[d]);
			int flips = 1 + (int)(rng_next() % 4);
			int rc;

			for (int f = 0; f < flips; f++)
				buf[rng_next() % vlen[d]] ^=
				    (uint8_t)(1u + rng_next() % 255);
			sk_err_clear(&err);
			rc = decoders[d].fn(buf, vlen[d], &err);
			if (rc != SK_OK)
				assert_int_equal(err.code, SK_EDECODE);
			free(buf);
		}
		free(valid[d]);
	}
}

/* Mark the offsets at which a top-level protobuf field ends. A prefix that
 * stops anywhere else cuts a field and must be refused. */
static void
field_ends(const uint8_t *buf, size_t len, bool *is_end)
{
	size_t off = 0;

	memset(is_end, 0, len + 1);
	is_end[0] = true;
	while (off < len) {
		uint64_t tag = 0, n = 0;
		int shift = 0;

		do {
			tag |= (uint64_t)(buf[off] & 0x7f) << shift;
			shift += 7;
		} while (buf[off++] & 0x80);
		switch (tag & 7) {
		case 0:
			while (buf[off++] & 0x80)
				;
			break;
		case 1:
			off += 8;
			break;
		case 2:
			shift = 0;
			do {
				n |= (uint64_t)(buf[off] & 0x7f) << shift;
				shift += 7;
			} while (buf[off++] & 0x80);
			off += (size_t)n;
			break;
		case 5:
			off += 4;
			break;
		default:
			fail_msg("unexpected wire type in a valid message");
		}
		assert_true(off <= len);
		is_end[off] = true;
	}
}

static void
check_every_truncation(const char *what, try_fn fn, const uint8_t *valid, size_t len)
{
	bool *is_end = malloc(len + 1);
	size_t refused = 0;
	sk_err err;

	assert_non_null(is_end);
	field_ends(valid, len, is_end);
	assert_int_equal(fn(valid, len, &err), SK_OK);
	for (size_t k = 0; k < len; k++) {
		uint8_t *buf = exact_copy(valid, k);
		int rc;

		sk_err_clear(&err);
		rc = fn(buf, k, &err);
		free(buf);
		if (rc != SK_OK) {
			assert_int_equal(rc, SK_EDECODE);
			refused++;
		} else if (!is_end[k]) {
			fail_msg("%s truncated to %zu of %zu bytes (inside a field) "
				 "was accepted",
			    what, k, len);
		}
	}
	/* The sample messages end in a length-delimited or multi-byte field. */
	assert_false(is_end[len - 1]);
	assert_true(refused > len / 2);
	free(is_end);
}

static void
test_decoders_refuse_every_truncation(void **state)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_control c;
	sk_command cmds[3];
	sk_cli_request q;
	sk_region_view v;
	sk_err err;

	(void)state;
	buf = encode_sample_agent_msg(&len);
	check_every_truncation("agent message", try_agent_msg, buf, len);
	free(buf);

	sample_control(&c, cmds);
	assert_int_equal(sk_control_encode(&c, &buf, &len, &err), SK_OK);
	check_every_truncation("control", try_control, buf, len);
	free(buf);

	memset(&q, 0, sizeof(q));
	q.op = SK_CLI_START;
	q.signed_plan = plan_a;
	q.signed_plan_len = sizeof(plan_a);
	q.events_since = 1714550400000000ULL;
	assert_int_equal(sk_cli_request_encode(&q, &buf, &len, &err), SK_OK);
	check_every_truncation("cli request", try_cli_request, buf, len);
	free(buf);

	buf = encode_sample_response(&len);
	check_every_truncation("cli response", try_cli_response, buf, len);
	free(buf);

	sample_region(&v, "af", "failed");
	set_err(&v.error, SK_ESQL, "55P03", "lock timeout", "", "");
	assert_int_equal(sk_region_view_encode(&v, &buf, &len, &err), SK_OK);
	check_every_truncation("region view", try_region_view, buf, len);
	free(buf);

	buf = encode_sample_region_report(&len);
	check_every_truncation("region report", try_region_report, buf, len);
	free(buf);

	/* The new request operations. */
	memset(&q, 0, sizeof(q));
	q.op = SK_CLI_ROLLBACK;
	snprintf(q.rollout_id, sizeof(q.rollout_id), "ro-20240501-0001");
	snprintf(q.region, sizeof(q.region), "ksa");
	assert_int_equal(sk_cli_request_encode(&q, &buf, &len, &err), SK_OK);
	check_every_truncation("rollback request", try_cli_request, buf, len);
	free(buf);
	memset(&q, 0, sizeof(q));
	q.op = SK_CLI_REPORT;
	snprintf(q.rollout_id, sizeof(q.rollout_id), "ro-20240501-0001");
	assert_int_equal(sk_cli_request_encode(&q, &buf, &len, &err), SK_OK);
	check_every_truncation("report request", try_cli_request, buf, len);
	free(buf);
}

static uint8_t *
pack_agent_with_region(const char *region, size_t nonce_len, size_t *len)
{
	Skein__V1__AgentMessage pb;
	uint8_t nonce[32] = { 0 };

	skein__v1__agent_message__init(&pb);
	pb.region = (char *)region;
	pb.nonce.data = nonce;
	pb.nonce.len = nonce_len;
	return pack_pb(&pb.base, len);
}

static void
test_agent_msg_refuses_region_longer_than_field(void **state)
{
	char *name;
	uint8_t *buf;
	size_t len;
	sk_agent_msg m;
	sk_err err;

	(void)state;
	/* 63 bytes fit with the NUL; 64 and 100 must not be cut to fit. */
	name = repeat_char('r', SK_NAME_MAX - 1);
	buf = pack_agent_with_region(name, SK_NONCE_LEN, &len);
	assert_int_equal(sk_agent_msg_decode(buf, len, &m, &err), SK_OK);
	assert_string_equal(m.region, name);
	sk_agent_msg_fini(&m);
	free(buf);
	free(name);

	for (size_t n = SK_NAME_MAX; n <= 100; n += 100 - SK_NAME_MAX) {
		name = repeat_char('r', n);
		buf = pack_agent_with_region(name, SK_NONCE_LEN, &len);
		sk_err_clear(&err);
		assert_int_equal(try_agent_msg(buf, len, &err), SK_EDECODE);
		assert_int_equal(err.code, SK_EDECODE);
		assert_non_null(strstr(err.msg, "region"));
		free(buf);
		free(name);
	}
}

/* One overlong identifier in one place of one message. */
typedef struct long_id_case {
	const char *what;
	try_fn fn;
	uint8_t *buf;
	size_t len;
} long_id_case;

/* Returns how many were accepted; frees every case's buffer. */
static size_t
run_long_id_cases(const long_id_case *cases, size_t n)
{
	size_t accepted = 0;

	for (size_t i = 0; i < n; i++) {
		sk_err err;
		int rc;

		sk_err_clear(&err);
		rc = cases[i].fn(cases[i].buf, cases[i].len, &err);
		if (rc != SK_EDECODE || err.code != SK_EDECODE) {
			print_error("%s of 100 bytes: rc %d, want SK_EDECODE "
				    "(silently truncated)\n",
			    cases[i].what, rc);
			accepted++;
		}
		free(cases[i].buf);
	}
	return accepted;
}

static void
add_case(long_id_case *c, const char *what, try_fn fn, const ProtobufCMessage *m)
{
	c->what = what;
	c->fn = fn;
	c->buf = pack_pb(m, &c->len);
}

/* A valid agent message with one report, for one field to be spoiled. */
static void
agent_base(Skein__V1__AgentMessage *am, Skein__V1__Report *rep,
    Skein__V1__Report **repp, char *region)
{
	skein__v1__agent_message__init(am);
	am->region = region;
	am->nonce.data = (uint8_t *)sample_nonce;
	am->nonce.len = SK_NONCE_LEN;
	skein__v1__report__init(rep);
	rep->event = SKEIN__V1__REPORT_EVENT__REPORT_EVENT_PROGRESS;
	repp[0] = rep;
	am->reports = repp;
	am->n_reports = 1;
}

static void
test_decoders_refuse_overlong_identifiers(void **state)
{
	char *id = repeat_char('x', 100);
	Skein__V1__AgentMessage am;
	Skein__V1__Report rep, *repp[1] = { &rep };
	Skein__V1__Control ctl;
	Skein__V1__Command cmd, *cmdp[1] = { &cmd };
	Skein__V1__CliRequest req;
	Skein__V1__CliResponse resp;
	Skein__V1__RolloutView rv, *rvp[1] = { &rv };
	Skein__V1__RegionView reg;
	char *strs[1] = { id };
	long_id_case cases[12];
	size_t n = 0, accepted;
	char ok_id[] = "ok";

	(void)state;
	agent_base(&am, &rep, repp, ok_id);
	am.region = id;
	add_case(&cases[n++], "agent message region", try_agent_msg, &am.base);
	agent_base(&am, &rep, repp, ok_id);
	rep.rollout_id = id;
	add_case(&cases[n++], "report rollout id", try_agent_msg, &am.base);
	agent_base(&am, &rep, repp, ok_id);
	rep.plan_id = id;
	add_case(&cases[n++], "report plan id", try_agent_msg, &am.base);
	agent_base(&am, &rep, repp, ok_id);
	rep.database = id;
	add_case(&cases[n++], "report database", try_agent_msg, &am.base);
	agent_base(&am, &rep, repp, ok_id);
	rep.step_id = id;
	add_case(&cases[n++], "report step id", try_agent_msg, &am.base);
	agent_base(&am, &rep, repp, ok_id);
	am.databases = strs;
	am.n_databases = 1;
	add_case(&cases[n++], "agent database list entry", try_agent_msg, &am.base);
	agent_base(&am, &rep, repp, ok_id);
	am.running = strs;
	am.n_running = 1;
	add_case(&cases[n++], "agent running rollout id", try_agent_msg, &am.base);

	skein__v1__control__init(&ctl);
	ctl.region = id;
	ctl.nonce.data = (uint8_t *)sample_nonce;
	ctl.nonce.len = SK_NONCE_LEN;
	cases[n].what = "control region";
	cases[n].fn = try_control;
	cases[n].buf = pack_pb(&ctl.base, &cases[n].len);
	n++;
	ctl.region = ok_id;
	skein__v1__command__init(&cmd);
	cmd.kind = SKEIN__V1__COMMAND_KIND__COMMAND_KIND_RUN_PLAN;
	cmd.rollout_id = id;
	ctl.commands = cmdp;
	ctl.n_commands = 1;
	cases[n].what = "command rollout id";
	cases[n].fn = try_control;
	cases[n].buf = pack_pb(&ctl.base, &cases[n].len);
	n++;

	skein__v1__cli_request__init(&req);
	req.op_case = SKEIN__V1__CLI_REQUEST__OP_STATUS_ROLLOUT_ID;
	req.status_rollout_id = id;
	cases[n].what = "status request rollout id";
	cases[n].fn = try_cli_request;
	cases[n].buf = pack_pb(&req.base, &cases[n].len);
	n++;

	skein__v1__cli_response__init(&resp);
	skein__v1__rollout_view__init(&rv);
	rv.id = id;
	resp.rollouts = rvp;
	resp.n_rollouts = 1;
	cases[n].what = "rollout view id";
	cases[n].fn = try_cli_response;
	cases[n].buf = pack_pb(&resp.base, &cases[n].len);
	n++;

	skein__v1__region_view__init(&reg);
	reg.name = id;
	cases[n].what = "region view name";
	cases[n].fn = try_region_view;
	cases[n].buf = pack_pb(&reg.base, &cases[n].len);
	n++;

	assert_int_equal(n, sizeof(cases) / sizeof(cases[0]));
	accepted = run_long_id_cases(cases, n);
	free(id);
	assert_int_equal(accepted, 0);
}

/* The same rule for the identifiers inside CLI views: a rollout id, step,
 * database, phase or region name of 100 bytes names something else once
 * cut to 63. */
static void
test_views_refuse_overlong_identifiers(void **state)
{
	char *id = repeat_char('y', 100);
	char ok_id[] = "ok";
	Skein__V1__CliResponse resp;
	Skein__V1__RolloutView rv, *rvp[1] = { &rv };
	Skein__V1__PhaseView ph, *php[1] = { &ph };
	Skein__V1__EventView ev, *evp[1] = { &ev };
	Skein__V1__RegionView reg;
	long_id_case cases[5];
	size_t n = 0, accepted;

	(void)state;
	skein__v1__cli_response__init(&resp);
	resp.ok = true;
	resp.rollout_id = id;
	cases[n].what = "cli response rollout id";
	cases[n].fn = try_cli_response;
	cases[n].buf = pack_pb(&resp.base, &cases[n].len);
	n++;

	skein__v1__region_view__init(&reg);
	reg.name = ok_id;
	reg.step = id;
	cases[n].what = "region view step";
	cases[n].fn = try_region_view;
	cases[n].buf = pack_pb(&reg.base, &cases[n].len);
	n++;
	reg.step = ok_id;
	reg.database = id;
	cases[n].what = "region view database";
	cases[n].fn = try_region_view;
	cases[n].buf = pack_pb(&reg.base, &cases[n].len);
	n++;

	resp.rollout_id = ok_id;
	skein__v1__rollout_view__init(&rv);
	rv.id = ok_id;
	rv.plan_id = ok_id;
	skein__v1__phase_view__init(&ph);
	ph.name = id;
	rv.phases = php;
	rv.n_phases = 1;
	resp.rollouts = rvp;
	resp.n_rollouts = 1;
	cases[n].what = "phase view name";
	cases[n].fn = try_cli_response;
	cases[n].buf = pack_pb(&resp.base, &cases[n].len);
	n++;
	ph.name = ok_id;
	skein__v1__event_view__init(&ev);
	ev.region = id;
	ev.text = ok_id;
	rv.events = evp;
	rv.n_events = 1;
	cases[n].what = "event view region";
	cases[n].fn = try_cli_response;
	cases[n].buf = pack_pb(&resp.base, &cases[n].len);
	n++;

	assert_int_equal(n, sizeof(cases) / sizeof(cases[0]));
	accepted = run_long_id_cases(cases, n);
	free(id);
	assert_int_equal(accepted, 0);
}

static void
test_free_text_longer_than_field_is_truncated_not_refused(void **state)
{
	char *text = repeat_char('t', 1000);
	Skein__V1__RegionView reg;
	sk_region_view v;
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	skein__v1__region_view__init(&reg);
	reg.name = (char *)"af";
	reg.detail = text;
	buf = pack_pb(&reg.base, &len);
	assert_int_equal(sk_region_view_decode(buf, len, &v, &err), SK_OK);
	assert_int_equal(strlen(v.detail), sizeof(v.detail) - 1);
	assert_int_equal(v.detail[0], 't');
	free(buf);
	free(text);
}

static void
test_decoders_refuse_wrong_nonce_length(void **state)
{
	static const size_t lens[] = { 0, 1, SK_NONCE_LEN - 1, SK_NONCE_LEN + 1, 32 };
	Skein__V1__Control ctl;
	uint8_t nonce[32] = { 0 };
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		buf = pack_agent_with_region("af", lens[i], &len);
		sk_err_clear(&err);
		assert_int_equal(try_agent_msg(buf, len, &err), SK_EDECODE);
		assert_non_null(strstr(err.msg, "nonce"));
		free(buf);

		skein__v1__control__init(&ctl);
		ctl.region = (char *)"af";
		ctl.nonce.data = nonce;
		ctl.nonce.len = lens[i];
		expect_edecode(try_control, &ctl.base, "nonce");
	}
}

static void
test_agent_msg_refuses_unknown_report_event(void **state)
{
	static const int events[] = { 0, SK_EV_MAX, 99, -1 };
	Skein__V1__AgentMessage am;
	Skein__V1__Report good, bad, *repp[2] = { &good, &bad };

	(void)state;
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		skein__v1__agent_message__init(&am);
		am.region = (char *)"af";
		am.nonce.data = (uint8_t *)sample_nonce;
		am.nonce.len = SK_NONCE_LEN;
		skein__v1__report__init(&good);
		good.event = SKEIN__V1__REPORT_EVENT__REPORT_EVENT_PLAN_ACCEPTED;
		skein__v1__report__init(&bad);
		bad.event = (Skein__V1__ReportEvent)events[i];
		/* The bad report second: the first was already copied out. */
		am.reports = repp;
		am.n_reports = 2;
		expect_edecode(try_agent_msg, &am.base, "unknown event");
	}
}

static void
test_cli_request_refuses_missing_operation(void **state)
{
	Skein__V1__CliRequest req;

	(void)state;
	skein__v1__cli_request__init(&req);
	req.events_since = 5;
	expect_edecode(try_cli_request, &req.base, "no operation");
}

/* A refusal late in a message, after arrays were allocated for earlier
 * parts, must free them and leave the struct empty. */
static void
test_failed_decode_leaves_no_allocations(void **state)
{
	char *id = repeat_char('z', 100);
	Skein__V1__Control ctl;
	Skein__V1__Command c0, c1, *cmdp[2] = { &c0, &c1 };
	Skein__V1__CliResponse resp;
	Skein__V1__RolloutView rv0, rv1, *rvp[2] = { &rv0, &rv1 };
	Skein__V1__PhaseView ph, *php[1] = { &ph };
	Skein__V1__RegionView r0, r1, *regp[2] = { &r0, &r1 };
	Skein__V1__AgentMessage am;
	Skein__V1__Report rep, *repp[1] = { &rep };
	char *dbs[2] = { (char *)"accounts", id };
	uint8_t plan[64] = { 1, 2, 3 };

	(void)state;
	/* Control: first command carries a signed plan, second a bad id. */
	skein__v1__control__init(&ctl);
	ctl.region = (char *)"af";
	ctl.nonce.data = (uint8_t *)sample_nonce;
	ctl.nonce.len = SK_NONCE_LEN;
	skein__v1__command__init(&c0);
	c0.rollout_id = (char *)"ro-1";
	c0.signed_plan.data = plan;
	c0.signed_plan.len = sizeof(plan);
	skein__v1__command__init(&c1);
	c1.rollout_id = id;
	ctl.commands = cmdp;
	ctl.n_commands = 2;
	expect_edecode(try_control, &ctl.base, NULL);

	/* Response: the first rollout has phases and regions, the second
	 * region of its phase is bad. */
	skein__v1__cli_response__init(&resp);
	skein__v1__rollout_view__init(&rv0);
	rv0.id = (char *)"ro-1";
	rv0.plan_id = (char *)"p";
	skein__v1__phase_view__init(&ph);
	ph.name = (char *)"canary";
	skein__v1__region_view__init(&r0);
	r0.name = (char *)"af";
	skein__v1__region_view__init(&r1);
	r1.name = id;
	ph.regions = regp;
	ph.n_regions = 2;
	rv0.phases = php;
	rv0.n_phases = 1;
	skein__v1__rollout_view__init(&rv1);
	rv1.id = (char *)"ro-2";
	resp.rollouts = rvp;
	resp.n_rollouts = 2;
	expect_edecode(try_cli_response, &resp.base, NULL);
	/* ... and a bad second rollout after a good first one. */
	r1.name = (char *)"in";
	rv1.id = id;
	expect_edecode(try_cli_response, &resp.base, NULL);

	/* Agent message: reports copied, then a bad database name. */
	skein__v1__agent_message__init(&am);
	am.region = (char *)"af";
	am.nonce.data = (uint8_t *)sample_nonce;
	am.nonce.len = SK_NONCE_LEN;
	skein__v1__report__init(&rep);
	rep.event = SKEIN__V1__REPORT_EVENT__REPORT_EVENT_PROGRESS;
	am.reports = repp;
	am.n_reports = 1;
	am.databases = dbs;
	am.n_databases = 2;
	expect_edecode(try_agent_msg, &am.base, NULL);
	/* ... or good databases and a bad running id. */
	dbs[1] = (char *)"billing";
	am.running = &id;
	am.n_running = 1;
	expect_edecode(try_agent_msg, &am.base, NULL);
	free(id);
}

static void
test_cli_request_round_trips_rollback_report_and_modes(void **state)
{
	static const int modes[] = { SK_MODE_APPLY, SK_MODE_REHEARSE };
	sk_cli_request in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		memset(&in, 0, sizeof(in));
		in.op = SK_CLI_START;
		in.signed_plan = plan_a;
		in.signed_plan_len = sizeof(plan_a);
		in.mode = modes[i];
		in.reapply = i == 0;
		assert_int_equal(sk_cli_request_encode(&in, &buf, &len, &err), SK_OK);
		assert_int_equal(sk_cli_request_decode(buf, len, &out, &err), SK_OK);
		assert_int_equal(out.op, SK_CLI_START);
		assert_int_equal(out.mode, modes[i]);
		assert_int_equal(out.reapply, i == 0);
		assert_memory_equal(out.signed_plan, plan_a, sizeof(plan_a));
		sk_cli_request_fini(&out);
		free(buf);
	}

	memset(&in, 0, sizeof(in));
	in.op = SK_CLI_ROLLBACK;
	snprintf(in.rollout_id, sizeof(in.rollout_id), "ro-20240501-0001");
	snprintf(in.region, sizeof(in.region), "ksa");
	in.events_since = 12;
	assert_int_equal(sk_cli_request_encode(&in, &buf, &len, &err), SK_OK);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(sk_cli_request_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.op, SK_CLI_ROLLBACK);
	assert_string_equal(out.rollout_id, "ro-20240501-0001");
	assert_string_equal(out.region, "ksa");
	assert_int_equal(out.events_since, 12);
	assert_false(out.no_backup);
	assert_null(out.signed_plan);
	sk_cli_request_fini(&out);
	free(buf);

	/* No region: every region the rollout reached; --no-backup. */
	in.region[0] = '\0';
	in.no_backup = true;
	assert_int_equal(sk_cli_request_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_request_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.op, SK_CLI_ROLLBACK);
	assert_string_equal(out.region, "");
	assert_true(out.no_backup);
	sk_cli_request_fini(&out);
	free(buf);

	memset(&in, 0, sizeof(in));
	in.op = SK_CLI_REPORT;
	snprintf(in.rollout_id, sizeof(in.rollout_id), "ro-7");
	assert_int_equal(sk_cli_request_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_request_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.op, SK_CLI_REPORT);
	assert_string_equal(out.rollout_id, "ro-7");
	assert_string_equal(out.region, "");
	sk_cli_request_fini(&out);
	free(buf);
}

static void
test_region_report_round_trips(void **state)
{
	sk_region_report in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	sample_region_report(&in);
	assert_int_equal(sk_region_report_encode(&in, &buf, &len, &err), SK_OK);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(sk_region_report_decode(buf, len, &out, &err), SK_OK);
	assert_string_equal(out.region, "ksa");
	assert_report_equal(&out.report, &in.report);
	assert_int_equal(out.report.error.code, SK_ECHECK);
	free(buf);

	/* A plain report: the optional payloads stay absent. */
	memset(&in, 0, sizeof(in));
	snprintf(in.region, sizeof(in.region), "af");
	sample_report(&in.report, 1, SK_EV_STEP_FINISHED);
	assert_int_equal(sk_region_report_encode(&in, &buf, &len, &err), SK_OK);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(sk_region_report_decode(buf, len, &out, &err), SK_OK);
	assert_report_equal(&out.report, &in.report);
	assert_false(out.report.has_check);
	assert_false(out.report.has_backup);
	assert_int_equal(out.report.nblockers, 0);
	free(buf);
}

static void
test_region_report_refuses_missing_report(void **state)
{
	Skein__V1__RegionReport rr;
	Skein__V1__Report rep;
	sk_region_report out;
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	skein__v1__region_report__init(&rr);
	rr.region = (char *)"af";
	expect_edecode(try_region_report, &rr.base, "has no report");
	/* An unknown event inside is refused like in an agent message. */
	skein__v1__report__init(&rep);
	rep.event = (Skein__V1__ReportEvent)SK_EV_MAX;
	rr.report = &rep;
	buf = pack_pb(&rr.base, &len);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(sk_region_report_decode(buf, len, &out, &err), SK_EDECODE);
	assert_non_null(strstr(err.msg, "unknown event"));
	assert_string_equal(out.region, "");
	free(buf);
}

/* More blockers than SK_BLOCKERS_MAX on the wire: the first ones are kept,
 * the rest dropped, and the report is not refused. */
static void
test_report_keeps_first_blockers_when_wire_has_more(void **state)
{
	Skein__V1__RegionReport rr;
	Skein__V1__Report rep;
	Skein__V1__Blocker bl[SK_BLOCKERS_MAX + 3], *blp[SK_BLOCKERS_MAX + 3];
	sk_region_report out;
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	skein__v1__region_report__init(&rr);
	rr.region = (char *)"af";
	skein__v1__report__init(&rep);
	rep.event = SKEIN__V1__REPORT_EVENT__REPORT_EVENT_LOCK_WAIT;
	for (size_t i = 0; i < SK_BLOCKERS_MAX + 3; i++) {
		skein__v1__blocker__init(&bl[i]);
		bl[i].pid = 100 + (int32_t)i;
		bl[i].query = (char *)"SELECT pg_sleep(1000)";
		blp[i] = &bl[i];
	}
	rep.blockers = blp;
	rep.n_blockers = SK_BLOCKERS_MAX + 3;
	rr.report = &rep;
	buf = pack_pb(&rr.base, &len);
	assert_int_equal(sk_region_report_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(out.report.nblockers, SK_BLOCKERS_MAX);
	for (size_t i = 0; i < SK_BLOCKERS_MAX; i++) {
		assert_int_equal(out.report.blockers[i].pid, 100 + (int32_t)i);
		assert_string_equal(
		    out.report.blockers[i].query, "SELECT pg_sleep(1000)");
	}
	free(buf);

	/* And an sk_report claiming more than it holds encodes only those. */
	{
		sk_region_report in;

		memset(&in, 0, sizeof(in));
		snprintf(in.region, sizeof(in.region), "af");
		sample_report(&in.report, 1, SK_EV_LOCK_WAIT);
		add_blockers(&in.report, SK_BLOCKERS_MAX);
		in.report.nblockers = SK_BLOCKERS_MAX + 10;
		assert_int_equal(sk_region_report_encode(&in, &buf, &len, &err), SK_OK);
		assert_int_equal(sk_region_report_decode(buf, len, &out, &err), SK_OK);
		assert_int_equal(out.report.nblockers, SK_BLOCKERS_MAX);
		free(buf);
	}
}

static void
test_decoders_refuse_unknown_modes(void **state)
{
	static const int bad[] = { SK_MODE_MAX, 7, -1 };
	Skein__V1__Control ctl;
	Skein__V1__Command cmd, *cmdp[1] = { &cmd };
	Skein__V1__CliRequest req;
	Skein__V1__CliResponse resp;
	Skein__V1__RolloutView rv, *rvp[1] = { &rv };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		skein__v1__control__init(&ctl);
		ctl.region = (char *)"af";
		ctl.nonce.data = (uint8_t *)sample_nonce;
		ctl.nonce.len = SK_NONCE_LEN;
		skein__v1__command__init(&cmd);
		cmd.kind = SKEIN__V1__COMMAND_KIND__COMMAND_KIND_RUN_PLAN;
		cmd.rollout_id = (char *)"ro-1";
		cmd.mode = (Skein__V1__RolloutMode)bad[i];
		ctl.commands = cmdp;
		ctl.n_commands = 1;
		expect_edecode(try_control, &ctl.base, "unknown mode");

		skein__v1__cli_request__init(&req);
		req.op_case = SKEIN__V1__CLI_REQUEST__OP_START_SIGNED_PLAN;
		req.start_signed_plan.data = plan_a;
		req.start_signed_plan.len = sizeof(plan_a);
		req.start_mode = (Skein__V1__RolloutMode)bad[i];
		expect_edecode(try_cli_request, &req.base, "unknown mode");

		skein__v1__cli_response__init(&resp);
		skein__v1__rollout_view__init(&rv);
		rv.id = (char *)"ro-1";
		rv.mode = (Skein__V1__RolloutMode)bad[i];
		resp.rollouts = rvp;
		resp.n_rollouts = 1;
		expect_edecode(try_cli_response, &resp.base, "unknown mode");
	}
	/* A start in rollback mode is not a thing: rollback is its own op. */
	skein__v1__cli_request__init(&req);
	req.op_case = SKEIN__V1__CLI_REQUEST__OP_START_SIGNED_PLAN;
	req.start_signed_plan.data = plan_a;
	req.start_signed_plan.len = sizeof(plan_a);
	req.start_mode = SKEIN__V1__ROLLOUT_MODE__ROLLOUT_MODE_ROLLBACK;
	expect_edecode(try_cli_request, &req.base, "rollback mode");
}

static void
test_new_fields_refuse_overlong_identifiers(void **state)
{
	char *id = repeat_char('w', 100);
	char ok_id[] = "ok";
	Skein__V1__AgentMessage am;
	Skein__V1__Report rep, *repp[1] = { &rep };
	Skein__V1__CheckResult cr;
	Skein__V1__CliRequest req;
	Skein__V1__RollbackRequest rb;
	Skein__V1__CliResponse resp;
	Skein__V1__RolloutView rv, *rvp[1] = { &rv };
	Skein__V1__RegionReport rr, *rrp[1] = { &rr };
	Skein__V1__Report rep2;
	long_id_case cases[8];
	size_t n = 0, accepted;

	(void)state;
	agent_base(&am, &rep, repp, ok_id);
	skein__v1__check_result__init(&cr);
	cr.name = id;
	rep.check = &cr;
	add_case(&cases[n++], "check result name", try_agent_msg, &am.base);

	skein__v1__cli_request__init(&req);
	skein__v1__rollback_request__init(&rb);
	req.op_case = SKEIN__V1__CLI_REQUEST__OP_ROLLBACK;
	req.rollback = &rb;
	rb.rollout_id = id;
	add_case(&cases[n++], "rollback rollout id", try_cli_request, &req.base);
	rb.rollout_id = ok_id;
	rb.region = id;
	add_case(&cases[n++], "rollback region", try_cli_request, &req.base);
	skein__v1__cli_request__init(&req);
	req.op_case = SKEIN__V1__CLI_REQUEST__OP_REPORT_ROLLOUT_ID;
	req.report_rollout_id = id;
	add_case(&cases[n++], "report rollout id", try_cli_request, &req.base);

	skein__v1__cli_response__init(&resp);
	skein__v1__rollout_view__init(&rv);
	rv.id = ok_id;
	rv.of_rollout = id;
	resp.rollouts = rvp;
	resp.n_rollouts = 1;
	add_case(&cases[n++], "rollout view of_rollout", try_cli_response, &resp.base);

	skein__v1__cli_response__init(&resp);
	skein__v1__region_report__init(&rr);
	skein__v1__report__init(&rep2);
	rep2.event = SKEIN__V1__REPORT_EVENT__REPORT_EVENT_CHECK;
	rr.region = id;
	rr.report = &rep2;
	resp.reports = rrp;
	resp.n_reports = 1;
	add_case(&cases[n++], "response report region", try_cli_response, &resp.base);
	add_case(&cases[n++], "region report region", try_region_report, &rr.base);
	rr.region = ok_id;
	rep2.step_id = id;
	add_case(&cases[n++], "region report step id", try_region_report, &rr.base);

	assert_int_equal(n, sizeof(cases) / sizeof(cases[0]));
	accepted = run_long_id_cases(cases, n);
	free(id);
	assert_int_equal(accepted, 0);
}

static void
test_new_free_text_is_truncated_not_refused(void **state)
{
	char *text = repeat_char('t', 2000);
	Skein__V1__RegionReport rr;
	Skein__V1__Report rep;
	Skein__V1__CheckResult cr;
	Skein__V1__Blocker bl, *blp[1] = { &bl };
	Skein__V1__Backup bk;
	sk_region_report out;
	uint8_t *buf;
	size_t len;
	sk_err err;

	(void)state;
	skein__v1__region_report__init(&rr);
	rr.region = (char *)"af";
	skein__v1__report__init(&rep);
	rep.event = SKEIN__V1__REPORT_EVENT__REPORT_EVENT_CHECK;
	skein__v1__check_result__init(&cr);
	cr.name = (char *)"c";
	cr.when = text;
	cr.seen = text;
	cr.expected = text;
	rep.check = &cr;
	skein__v1__blocker__init(&bl);
	bl.state = text;
	bl.query = text;
	bl.user = text;
	bl.application = text;
	rep.blockers = blp;
	rep.n_blockers = 1;
	skein__v1__backup__init(&bk);
	bk.path = text;
	bk.restore_command = text;
	rep.backup = &bk;
	rr.report = &rep;
	buf = pack_pb(&rr.base, &len);
	assert_int_equal(sk_region_report_decode(buf, len, &out, &err), SK_OK);
	assert_int_equal(
	    strlen(out.report.check.when), sizeof(out.report.check.when) - 1);
	assert_int_equal(
	    strlen(out.report.check.seen), sizeof(out.report.check.seen) - 1);
	assert_int_equal(strlen(out.report.check.expected),
	    sizeof(out.report.check.expected) - 1);
	assert_int_equal(strlen(out.report.blockers[0].state),
	    sizeof(out.report.blockers[0].state) - 1);
	assert_int_equal(strlen(out.report.blockers[0].query),
	    sizeof(out.report.blockers[0].query) - 1);
	assert_int_equal(strlen(out.report.blockers[0].user),
	    sizeof(out.report.blockers[0].user) - 1);
	assert_int_equal(strlen(out.report.blockers[0].application),
	    sizeof(out.report.blockers[0].application) - 1);
	assert_int_equal(
	    strlen(out.report.backup.path), sizeof(out.report.backup.path) - 1);
	assert_int_equal(strlen(out.report.backup.restore_command),
	    sizeof(out.report.backup.restore_command) - 1);
	assert_true(out.report.has_check);
	assert_true(out.report.has_backup);
	free(buf);
	free(text);
}

/* A response whose second report is bad frees the reports it copied. */
static void
test_failed_response_decode_frees_reports(void **state)
{
	char *id = repeat_char('v', 100);
	Skein__V1__CliResponse resp;
	Skein__V1__RegionReport r0, r1, *rrp[2] = { &r0, &r1 };
	Skein__V1__Report rep;

	(void)state;
	skein__v1__cli_response__init(&resp);
	skein__v1__report__init(&rep);
	rep.event = SKEIN__V1__REPORT_EVENT__REPORT_EVENT_STEP_FINISHED;
	skein__v1__region_report__init(&r0);
	r0.region = (char *)"af";
	r0.report = &rep;
	skein__v1__region_report__init(&r1);
	r1.region = id;
	r1.report = &rep;
	resp.reports = rrp;
	resp.n_reports = 2;
	resp.signed_plan.data = plan_a;
	resp.signed_plan.len = sizeof(plan_a);
	expect_edecode(try_cli_response, &resp.base, NULL);
	/* The second region report without a report. */
	r1.region = (char *)"in";
	r1.report = NULL;
	expect_edecode(try_cli_response, &resp.base, NULL);
	free(id);
}

static void
test_event_names_cover_every_event(void **state)
{
	(void)state;
	assert_string_equal(sk_event_name(SK_EV_PLAN_ACCEPTED), "plan-accepted");
	assert_string_equal(sk_event_name(SK_EV_STEP_FINISHED), "step-finished");
	assert_string_equal(sk_event_name(SK_EV_PROGRESS), "progress");
	for (int e = 1; e < SK_EV_MAX; e++)
		assert_string_not_equal(sk_event_name(e), "unknown");
	assert_string_equal(sk_event_name(0), "unknown");
	assert_string_equal(sk_event_name(SK_EV_MAX), "unknown");
	assert_string_equal(sk_event_name(-3), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_msg_round_trips_reports_with_sqlstate_errors),
		cmocka_unit_test(test_agent_msg_without_reports_decodes_to_empty_arrays),
		cmocka_unit_test(test_control_round_trips_commands_with_signed_plans),
		cmocka_unit_test(test_control_round_trips_a_refusal),
		cmocka_unit_test(test_cli_request_start_round_trips_signed_plan),
		cmocka_unit_test(test_cli_request_status_round_trips_rollout_id_and_since),
		cmocka_unit_test(test_cli_response_round_trips_rollout_views),
		cmocka_unit_test(test_cli_response_round_trips_error),
		cmocka_unit_test(test_region_view_round_trips_with_and_without_error),
		cmocka_unit_test(test_decoders_survive_random_bytes),
		cmocka_unit_test(test_decoders_survive_mutated_valid_messages),
		cmocka_unit_test(test_decoders_refuse_every_truncation),
		cmocka_unit_test(test_agent_msg_refuses_region_longer_than_field),
		cmocka_unit_test(test_decoders_refuse_overlong_identifiers),
		cmocka_unit_test(test_views_refuse_overlong_identifiers),
		cmocka_unit_test(test_free_text_longer_than_field_is_truncated_not_refused),
		cmocka_unit_test(test_decoders_refuse_wrong_nonce_length),
		cmocka_unit_test(test_agent_msg_refuses_unknown_report_event),
		cmocka_unit_test(test_cli_request_refuses_missing_operation),
		cmocka_unit_test(test_failed_decode_leaves_no_allocations),
		cmocka_unit_test(test_cli_request_round_trips_rollback_report_and_modes),
		cmocka_unit_test(test_region_report_round_trips),
		cmocka_unit_test(test_region_report_refuses_missing_report),
		cmocka_unit_test(test_report_keeps_first_blockers_when_wire_has_more),
		cmocka_unit_test(test_decoders_refuse_unknown_modes),
		cmocka_unit_test(test_new_fields_refuse_overlong_identifiers),
		cmocka_unit_test(test_new_free_text_is_truncated_not_refused),
		cmocka_unit_test(test_failed_response_decode_frees_reports),
		cmocka_unit_test(test_event_names_cover_every_event),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

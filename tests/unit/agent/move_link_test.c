/* move_link_test: the move link end to end on 127.0.0.1. A fake source
 * (move_source_ops in this file) served by move_serve_start with a real
 * move_auth and an in-memory plan; move_remote_open dials it with real
 * agent keys. A whole request sequence with a 3 MiB COPY, then every way
 * the link must refuse or end: another target key, another source key,
 * no authorization, a flipped byte and a replayed frame (through
 * move_link_tx_hook), a silent or vanished peer during COPY and during a
 * freeze (the freeze is released), a silent client, an oversized length
 * prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>

#include "move_link_int.h"
#include "sk_key.h"
#include "sk_util.h"

#define ROLLOUT "r-20261203-0001"
#define PLAN_ID "9f2c1e0a"
#define STEP "0007_move_acme"
#define MOVE_ID PLAN_ID "/" STEP
#define COPY_BYTES (3u * 1024u * 1024u)
#define IO_MS 1000

static char tmpdir[64];
static sk_seckey *target_key, *source_key, *stranger_key;
static sk_move_tenant body = {
	.column = (char *)"tenant_id",
	.value = (char *)"acme",
	.from = (char *)"af",
	.to = (char *)"in",
	.freeze_timeout_ms = 500,
	.max_lag_ms = 2000,
};
static const move_spec spec = {
	.m = &body,
	.move_id = MOVE_ID,
	.source_region = "af",
	.target_region = "in",
};

/* ---- the fake source ------------------------------------------------ */

enum {
	OP_DESCRIBE,
	OP_CAPTURE,
	OP_SNAPSHOT,
	OP_COPY,
	OP_SNAPSHOT_END,
	OP_POSITION,
	OP_CHANGES,
	OP_STAY,
	OP_FREEZE,
	OP_COMMIT,
	OP_UNFREEZE,
	OP_FINISH,
	OP_N
};

/* copy_mode: how COPY behaves. */
enum { COPY_ALL, COPY_STALL };

static struct fake {
	atomic_int opens, closes;
	atomic_int calls[OP_N];
	atomic_int total; /* every op call */
	atomic_bool frozen, finished_aborted, cancel;
	atomic_int copy_mode;
	char database[64];
	char imported[64]; /* the snapshot a worker's link imported */
} fake;

static uint8_t
pattern(size_t i)
{
	return (uint8_t)(i * 31u + (i >> 9));
}

static void
count(int op)
{
	atomic_fetch_add(&fake.calls[op], 1);
	atomic_fetch_add(&fake.total, 1);
}

/* A heap copy of msg that protobuf_c_message_free_unpacked can free. */
static void *
dup_msg(const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(n ? n : 1);
	void *out;

	assert_non_null(buf);
	protobuf_c_message_pack(msg, buf);
	out = protobuf_c_message_unpack(msg->descriptor, NULL, n, buf);
	free(buf);
	assert_non_null(out);
	return out;
}

static int
f_describe(void *arg, Skein__V1__MoveDescription **out, sk_err *err)
{
	Skein__V1__MoveDescription d = SKEIN__V1__MOVE_DESCRIPTION__INIT;
	Skein__V1__MoveTable t = SKEIN__V1__MOVE_TABLE__INIT;
	Skein__V1__MoveTable *tv[1] = { &t };

	(void)arg;
	(void)err;
	count(OP_DESCRIBE);
	t.name = (char *)"public.bookings";
	t.rows = 42;
	d.tables = tv;
	d.n_tables = 1;
	d.server_version = 150004;
	d.tenant_type = (char *)"text";
	*out = dup_msg(&d.base);
	return SK_OK;
}

static int
f_capture(void *arg, sk_err *err)
{
	(void)arg;
	(void)err;
	count(OP_CAPTURE);
	return SK_OK;
}

static int
f_snapshot(void *arg, char **snapshot, char **exported, sk_err *err)
{
	(void)arg;
	(void)err;
	count(OP_SNAPSHOT);
	*snapshot = strdup("100:105:101,103");
	if (exported != NULL)
		*exported = strdup("00000003-0000001B-1");
	return SK_OK;
}

static int
f_import(void *arg, const char *exported, sk_err *err)
{
	(void)arg;
	if (strcmp(exported, "00000003-0000001B-1") != 0)
		return sk_err_set(err, SK_EINVAL, "import: not the exported snapshot");
	snprintf(fake.imported, sizeof(fake.imported), "%s", exported);
	return SK_OK;
}

static int
f_copy(void *arg, const char *table,
    int (*sink)(void *sink_arg, const uint8_t *data, size_t len, sk_err *err),
    void *sink_arg, int64_t *rows, sk_err *err)
{
	/* Uneven pieces, one above the link's chunk size. */
	static const size_t piece[] = { 1000, 700 * 1024, 1536 * 1024 };
	uint8_t *buf;
	size_t off = 0, k = 0;
	int rc = SK_OK;

	(void)arg;
	count(OP_COPY);
	if (strcmp(table, "public.bookings") != 0)
		return sk_err_set(err, SK_ENOTFOUND,
		    "copy table %s: not a moved table", table);
	buf = malloc(COPY_BYTES);
	assert_non_null(buf);
	for (size_t i = 0; i < COPY_BYTES; i++)
		buf[i] = pattern(i);
	while (off < COPY_BYTES && rc == SK_OK) {
		size_t n = piece[k++ % 3];

		if (n > COPY_BYTES - off)
			n = COPY_BYTES - off;
		rc = sink(sink_arg, buf + off, n, err);
		off += n;
		if (rc == SK_OK && atomic_load(&fake.copy_mode) == COPY_STALL) {
			/* Silent after the first piece until cancelled, then
			 * the next sink call finds the link gone. */
			for (int i = 0; i < 500 && !atomic_load(&fake.cancel); i++)
				nng_msleep(10);
		}
	}
	free(buf);
	*rows = 1234;
	return rc;
}

static int
f_snapshot_end(void *arg, sk_err *err)
{
	(void)arg;
	(void)err;
	count(OP_SNAPSHOT_END);
	return SK_OK;
}

static const uint8_t fake_sig[64] = { 1, 2, 3, 4 };
static const uint8_t fake_pk[32] = { 9, 8, 7 };

static int
f_position(void *arg, bool want_sums, const char *since, char **snapshot,
    Skein__V1__MoveSignedSums **sums, sk_err *err)
{
	Skein__V1__MoveSignedSums s = SKEIN__V1__MOVE_SIGNED_SUMS__INIT;

	(void)arg;
	(void)err;
	count(OP_POSITION);
	*snapshot = strdup(since == NULL ? "200:200:" : "300:301:");
	if (want_sums) {
		s.sums.data = (uint8_t *)"figures";
		s.sums.len = 7;
		s.agent_key.data = (uint8_t *)fake_pk;
		s.agent_key.len = sizeof(fake_pk);
		s.signature.data = (uint8_t *)fake_sig;
		s.signature.len = sizeof(fake_sig);
		*sums = dup_msg(&s.base);
	}
	return SK_OK;
}

static int
f_changes(void *arg, const char *after, const char *upto, int64_t after_seq,
    uint32_t limit, Skein__V1__MoveReply **out, sk_err *err)
{
	Skein__V1__MoveReply r = SKEIN__V1__MOVE_REPLY__INIT;
	Skein__V1__MoveChange c1 = SKEIN__V1__MOVE_CHANGE__INIT;
	Skein__V1__MoveChange c2 = SKEIN__V1__MOVE_CHANGE__INIT;
	Skein__V1__MoveChange *cv[2] = { &c1, &c2 };

	(void)arg;
	count(OP_CHANGES);
	if (strcmp(after, "100:105:101,103") != 0 ||
	    strcmp(upto, "200:200:") != 0 || after_seq != 7 || limit != 500)
		return sk_err_set(err, SK_EINVAL, "changes: wrong arguments");
	c1.seq = 8;
	c1.table = (char *)"public.bookings";
	c1.op = (char *)"I";
	c1.new_row = (char *)"{\"id\": 1}";
	c2.seq = 9;
	c2.table = (char *)"public.bookings";
	c2.op = (char *)"D";
	c2.old_key = (char *)"{\"id\": 1}";
	r.changes = cv;
	r.n_changes = 2;
	r.more = true;
	*out = dup_msg(&r.base);
	return SK_OK;
}

static int
f_stay(void *arg, Skein__V1__MoveReply **out, sk_err *err)
{
	(void)arg;
	count(OP_STAY);
	*out = NULL;
	sk_err_set(err, SK_ESQL, "index staying rows: relation \"x\" does not exist");
	snprintf(err->sqlstate, sizeof(err->sqlstate), "42P01");
	return SK_ESQL;
}

static int
f_freeze(void *arg, int64_t timeout_ms, sk_err *err)
{
	(void)arg;
	(void)err;
	(void)timeout_ms;
	count(OP_FREEZE);
	atomic_store(&fake.frozen, true);
	return SK_OK;
}

static int
f_commit(void *arg, sk_err *err)
{
	(void)arg;
	(void)err;
	count(OP_COMMIT);
	atomic_store(&fake.frozen, false);
	return SK_OK;
}

static int
f_unfreeze(void *arg, sk_err *err)
{
	(void)arg;
	(void)err;
	count(OP_UNFREEZE);
	atomic_store(&fake.frozen, false);
	return SK_OK;
}

static int
f_finish(void *arg, bool aborted, sk_err *err)
{
	(void)arg;
	(void)err;
	count(OP_FINISH);
	atomic_store(&fake.finished_aborted, aborted);
	return SK_OK;
}

static void
f_close(void *arg)
{
	(void)arg;
	atomic_fetch_add(&fake.closes, 1);
}

static const move_source_ops fake_ops = {
	.describe = f_describe,
	.capture = f_capture,
	.snapshot = f_snapshot,
	.copy = f_copy,
	.snapshot_end = f_snapshot_end,
	.position = f_position,
	.changes = f_changes,
	.stay = f_stay,
	.freeze = f_freeze,
	.commit = f_commit,
	.unfreeze = f_unfreeze,
	.finish = f_finish,
	.close = f_close,
	.import = f_import,
};

static int
f_open(void *arg, const char *database, const move_spec *sp,
    const move_source_ops **ops, void **ops_arg, sk_err *err)
{
	(void)arg;
	(void)err;
	assert_string_equal(sp->move_id, MOVE_ID);
	assert_string_equal(sp->m->value, "acme");
	atomic_fetch_add(&fake.opens, 1);
	snprintf(fake.database, sizeof(fake.database), "%s", database);
	*ops = &fake_ops;
	*ops_arg = &fake;
	return SK_OK;
}

/* ---- fixtures ------------------------------------------------------- */

static sk_seckey *
make_key(const char *name)
{
	char *base = sk_path_join(tmpdir, name);
	char path[256];
	sk_seckey *key = NULL;
	sk_err err;

	if (base == NULL || sk_key_generate(base, &err) != SK_OK) {
		free(base);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s.key", base);
	free(base);
	if (sk_seckey_load(path, &key, &err) != SK_OK)
		return NULL;
	return key;
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

/* A plan holding one move_tenant step, as move_auth_add takes it. */
static sk_plan *
make_plan(void)
{
	sk_plan *p = calloc(1, sizeof(*p));
	sk_move_tenant *m = calloc(1, sizeof(*m));

	assert_non_null(p);
	assert_non_null(m);
	p->id = xstrdup(PLAN_ID);
	p->name = xstrdup("move acme");
	p->steps = calloc(1, sizeof(*p->steps));
	assert_non_null(p->steps);
	p->nsteps = 1;
	p->steps[0].id = xstrdup(STEP);
	p->steps[0].kind = SK_STEP_MOVE_TENANT;
	m->column = xstrdup(body.column);
	m->value = xstrdup(body.value);
	m->from = xstrdup(body.from);
	m->to = xstrdup(body.to);
	m->freeze_timeout_ms = body.freeze_timeout_ms;
	m->max_lag_ms = body.max_lag_ms;
	p->steps[0].move = m;
	return p;
}

typedef struct world {
	move_auth *auth;
	move_serve *srv;
	move_peer source; /* what the target is told */
	move_serve_opts o;
} world;

static void
reset_fake(void)
{
	memset(&fake, 0, sizeof(fake));
	move_link_tx_hook = NULL;
}

static void
world_start(world *w, const sk_seckey *authorized)
{
	move_peer t = { .role = SKEIN__V1__MOVE_ROLE__MOVE_ROLE_TARGET };
	sk_err err;

	reset_fake();
	memset(w, 0, sizeof(*w));
	snprintf(t.rollout_id, sizeof(t.rollout_id), ROLLOUT);
	snprintf(t.step_id, sizeof(t.step_id), STEP);
	snprintf(t.region, sizeof(t.region), "in");
	t.key = *sk_seckey_public(authorized);
	assert_int_equal(move_auth_create(&w->auth, &err), SK_OK);
	assert_int_equal(move_auth_add(w->auth, &t, make_plan(), &err), SK_OK);
	move_serve_opts_default(&w->o);
	w->o.handshake_ms = 500;
	w->o.idle_ms = 3000;
	w->o.io_ms = 2000;
	w->o.frozen_ms = 300;
	w->o.max_handshake = 3;
	assert_int_equal(move_serve_start_opts("tcp://127.0.0.1:0", "af", source_key,
			     w->auth, f_open, NULL, &w->o, &w->srv, &err),
	    SK_OK);
	w->source.role = SKEIN__V1__MOVE_ROLE__MOVE_ROLE_SOURCE;
	snprintf(w->source.rollout_id, sizeof(w->source.rollout_id), ROLLOUT);
	snprintf(w->source.step_id, sizeof(w->source.step_id), STEP);
	snprintf(w->source.region, sizeof(w->source.region), "af");
	snprintf(w->source.address, sizeof(w->source.address),
	    "tcp://127.0.0.1:%d", move_serve_port(w->srv));
	w->source.key = *sk_seckey_public(source_key);
}

static void
world_stop(world *w)
{
	move_serve_stop(w->srv);
	move_auth_destroy(w->auth);
	move_link_tx_hook = NULL;
}

static int
open_as(world *w, const sk_seckey *me, const char *rollout,
    const move_source_ops **ops, void **arg, sk_err *err)
{
	return move_remote_open(&w->source, &spec, rollout, PLAN_ID, "appdb",
	    me, 2000, IO_MS, ops, arg, err);
}

/* Wait up to 3 s for the server's side of a link to be closed. */
static void
wait_closed(int want)
{
	for (int i = 0; i < 300 && atomic_load(&fake.closes) < want; i++)
		nng_msleep(10);
	assert_int_equal(atomic_load(&fake.closes), want);
}

static int
setup(void **state)
{
	sk_err err;

	(void)state;
	if (sk_crypto_init(&err) != SK_OK)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sk-move-link-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	target_key = make_key("target");
	source_key = make_key("source");
	stranger_key = make_key("stranger");
	return target_key && source_key && stranger_key ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	sk_seckey_destroy(target_key);
	sk_seckey_destroy(source_key);
	sk_seckey_destroy(stranger_key);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- (1) the whole sequence ----------------------------------------- */

typedef struct collected {
	uint8_t *buf;
	size_t len, pieces;
} collected;

static int
collect(void *arg, const uint8_t *data, size_t len, sk_err *err)
{
	collected *c = arg;

	(void)err;
	assert_true(len <= SK_PEER_CHUNK_MAX);
	assert_true(c->len + len <= COPY_BYTES);
	memcpy(c->buf + c->len, data, len);
	c->len += len;
	c->pieces++;
	return SK_OK;
}

static void
test_link_serves_a_whole_move(void **state)
{
	const move_source_ops *ops = NULL;
	Skein__V1__MoveDescription *d = NULL;
	Skein__V1__MoveSignedSums *sums = NULL;
	Skein__V1__MoveReply *ch = NULL;
	collected c = { .buf = malloc(COPY_BYTES) };
	char *snap = NULL, *pos = NULL;
	int64_t rows = 0;
	void *arg = NULL;
	world w;
	sk_err err;

	(void)state;
	assert_non_null(c.buf);
	world_start(&w, target_key);
	assert_int_equal(open_as(&w, target_key, ROLLOUT, &ops, &arg, &err), SK_OK);
	assert_int_equal(atomic_load(&fake.opens), 1);
	assert_string_equal(fake.database, "appdb");

	assert_int_equal(ops->describe(arg, &d, &err), SK_OK);
	assert_int_equal(d->n_tables, 1);
	assert_string_equal(d->tables[0]->name, "public.bookings");
	assert_int_equal(d->tables[0]->rows, 42);
	assert_int_equal(d->server_version, 150004);
	protobuf_c_message_free_unpacked(&d->base, NULL);

	assert_int_equal(ops->capture(arg, &err), SK_OK);
	assert_int_equal(ops->snapshot(arg, &snap, NULL, &err), SK_OK);
	assert_string_equal(snap, "100:105:101,103");
	free(snap);
	/* Exported for a parallel copy: a worker's link of its own imports
	 * it before its first COPY, and copies over its own link. */
	{
		const move_source_ops *wops = NULL;
		char *exported = NULL;
		void *warg = NULL;

		assert_int_equal(ops->snapshot(arg, &snap, &exported, &err), SK_OK);
		assert_string_equal(exported, "00000003-0000001B-1");
		assert_non_null(ops->worker);
		assert_int_equal(fake.imported[0], '\0');
		assert_int_equal(ops->worker(arg, exported, &wops, &warg, &err), SK_OK);
		assert_int_equal(atomic_load(&fake.opens), 2);
		assert_string_equal(fake.imported, exported);
		assert_int_equal(
		    wops->copy(warg, "public.bookings", collect, &c, &rows, &err), SK_OK);
		assert_int_equal(c.len, COPY_BYTES);
		c.len = 0;
		c.pieces = 0;
		wops->close(warg);
		wait_closed(1);
		/* A snapshot the source never exported: the worker's OPEN is
		 * refused, nothing opened stays. */
		assert_int_not_equal(
		    ops->worker(arg, "00000009-1", &wops, &warg, &err), SK_OK);
		if (strstr(err.msg, "not the exported snapshot") == NULL)
			fail_msg("%s", err.msg);
		assert_null(warg);
		wait_closed(2);
		free(exported);
	}

	assert_int_equal(
	    ops->copy(arg, "public.bookings", collect, &c, &rows, &err), SK_OK);
	assert_int_equal(rows, 1234);
	assert_int_equal(c.len, COPY_BYTES);
	assert_true(c.pieces >= 4); /* the 1.5 MiB piece was split */
	for (size_t i = 0; i < COPY_BYTES; i++)
		if (c.buf[i] != pattern(i))
			fail_msg("copy byte %zu differs", i);
	/* An error in the middle of the run of replies: the source's own. */
	assert_int_equal(ops->copy(arg, "public.nope", collect, &c, &rows, &err),
	    SK_ENOTFOUND);
	assert_non_null(strstr(err.msg, "public.nope"));
	assert_int_equal(ops->snapshot_end(arg, &err), SK_OK);

	assert_int_equal(ops->position(arg, false, NULL, &pos, NULL, &err), SK_OK);
	assert_string_equal(pos, "200:200:");
	assert_int_equal(ops->changes(arg, snap, pos, 7, 500, &ch, &err), SK_OK);
	assert_int_equal(ch->n_changes, 2);
	assert_int_equal(ch->changes[1]->seq, 9);
	assert_string_equal(ch->changes[1]->op, "D");
	assert_true(ch->more);
	protobuf_c_message_free_unpacked(&ch->base, NULL);
	free(pos);
	pos = NULL;

	assert_int_equal(ops->position(arg, true, snap, &pos, &sums, &err), SK_OK);
	assert_string_equal(pos, "300:301:");
	assert_non_null(sums);
	assert_int_equal(sums->sums.len, 7);
	assert_memory_equal(sums->sums.data, "figures", 7);
	assert_int_equal(sums->signature.len, 64);
	assert_memory_equal(sums->signature.data, fake_sig, 64);
	assert_memory_equal(sums->agent_key.data, fake_pk, 32);
	protobuf_c_message_free_unpacked(&sums->base, NULL);

	/* The source's error arrives with its code, message and SQLSTATE. */
	ch = NULL;
	assert_int_equal(ops->stay(arg, &ch, &err), SK_ESQL);
	assert_null(ch);
	assert_string_equal(err.sqlstate, "42P01");
	assert_non_null(strstr(err.msg, "relation \"x\""));

	assert_int_equal(ops->freeze(arg, 500, &err), SK_OK);
	assert_true(atomic_load(&fake.frozen));
	assert_int_equal(ops->commit(arg, &err), SK_OK);
	assert_false(atomic_load(&fake.frozen));
	assert_int_equal(ops->finish(arg, false, &err), SK_OK);
	assert_int_equal(atomic_load(&fake.calls[OP_FINISH]), 1);
	ops->close(arg);
	wait_closed(3); /* and the two workers' links */
	assert_int_equal(atomic_load(&fake.calls[OP_UNFREEZE]), 0);
	free(snap);
	free(pos);
	free(c.buf);
	world_stop(&w);
}

/* ---- (2), (3) refusals ---------------------------------------------- */

static void
test_link_refuses_an_unauthorized_target_key(void **state)
{
	const move_source_ops *ops = NULL;
	void *arg = NULL;
	world w;
	sk_err err;

	(void)state;
	world_start(&w, target_key);
	/* The transcript binds the key the source pinned for the target:
	 * the dialer cannot verify the REPLY, and the source would refuse
	 * its FINISH in any case. */
	assert_int_equal(
	    open_as(&w, stranger_key, ROLLOUT, &ops, &arg, &err), SK_ECRYPTO);
	assert_null(ops);
	assert_null(arg);
	/* The server saw the FINISH fail: nothing opened. */
	nng_msleep(50);
	assert_int_equal(atomic_load(&fake.opens), 0);
	assert_int_equal(atomic_load(&fake.total), 0);
	/* The authorized key still gets through afterwards. */
	assert_int_equal(open_as(&w, target_key, ROLLOUT, &ops, &arg, &err), SK_OK);
	ops->close(arg);
	wait_closed(1);
	world_stop(&w);
}

static void
test_link_refuses_a_source_with_another_key(void **state)
{
	const move_source_ops *ops = NULL;
	void *arg = NULL;
	world w;
	sk_err err;

	(void)state;
	world_start(&w, target_key);
	w.source.key = *sk_seckey_public(stranger_key); /* pinned wrongly */
	assert_int_equal(open_as(&w, target_key, ROLLOUT, &ops, &arg, &err), SK_ECRYPTO);
	assert_non_null(strstr(err.msg, "REPLY"));
	nng_msleep(50);
	assert_int_equal(atomic_load(&fake.opens), 0);
	world_stop(&w);
}

static void
test_link_refuses_a_move_not_authorized(void **state)
{
	const move_source_ops *ops = NULL;
	void *arg = NULL;
	world w;
	sk_err err;

	(void)state;
	world_start(&w, target_key);
	assert_int_equal(
	    open_as(&w, target_key, "r-20261203-0002", &ops, &arg, &err), SK_ENET);
	assert_non_null(strstr(err.msg, "refused"));
	nng_msleep(50);
	assert_int_equal(atomic_load(&fake.opens), 0);
	world_stop(&w);
}

/* ---- (4), (5) altered and replayed frames --------------------------- */

static atomic_int hook_frames, hook_at;
static atomic_bool hook_initiator, hook_replay;

/* Frame hook_at (0: OPEN) of the chosen side: one bit flipped, or sent
 * twice. */
static void
tamper(bool initiator, uint8_t *frame, size_t len, bool *twice)
{
	if (initiator != atomic_load(&hook_initiator))
		return;
	if (atomic_fetch_add(&hook_frames, 1) != atomic_load(&hook_at))
		return;
	if (atomic_load(&hook_replay))
		*twice = true;
	else
		frame[len / 2] ^= 0x10;
}

static void
arm(bool initiator, int at, bool replay)
{
	atomic_store(&hook_frames, 0);
	atomic_store(&hook_at, at);
	atomic_store(&hook_initiator, initiator);
	atomic_store(&hook_replay, replay);
	move_link_tx_hook = tamper;
}

static void
test_link_ends_on_a_flipped_request_byte(void **state)
{
	const move_source_ops *ops = NULL;
	Skein__V1__MoveDescription *d = NULL;
	void *arg = NULL;
	world w;
	sk_err err;
	int seen;

	(void)state;
	world_start(&w, target_key);
	arm(true, 2, false); /* OPEN, DESCRIBE, then CAPTURE altered */
	assert_int_equal(open_as(&w, target_key, ROLLOUT, &ops, &arg, &err), SK_OK);
	assert_int_equal(ops->describe(arg, &d, &err), SK_OK);
	protobuf_c_message_free_unpacked(&d->base, NULL);
	seen = atomic_load(&fake.total);
	assert_int_not_equal(ops->capture(arg, &err), SK_OK);
	/* The link is dead for good. */
	assert_int_not_equal(ops->snapshot_end(arg, &err), SK_OK);
	ops->close(arg);
	wait_closed(1);
	assert_int_equal(atomic_load(&fake.total), seen);
	assert_int_equal(atomic_load(&fake.calls[OP_CAPTURE]), 0);
	world_stop(&w);
}

static void
test_link_ends_on_a_flipped_reply_byte(void **state)
{
	const move_source_ops *ops = NULL;
	void *arg = NULL;
	world w;
	sk_err err;

	(void)state;
	world_start(&w, target_key);
	arm(false, 1, false); /* OPEN's reply, then CAPTURE's altered */
	assert_int_equal(open_as(&w, target_key, ROLLOUT, &ops, &arg, &err), SK_OK);
	assert_int_equal(ops->capture(arg, &err), SK_ECRYPTO);
	assert_non_null(strstr(err.msg, "authentication failed"));
	assert_int_not_equal(ops->capture(arg, &err), SK_OK);
	ops->close(arg);
	wait_closed(1);
	assert_int_equal(atomic_load(&fake.calls[OP_CAPTURE]), 1);
	world_stop(&w);
}

static void
test_link_ends_on_a_replayed_request(void **state)
{
	const move_source_ops *ops = NULL;
	void *arg = NULL;
	world w;
	sk_err err;

	(void)state;
	world_start(&w, target_key);
	arm(true, 1, true); /* CAPTURE sent twice */
	assert_int_equal(open_as(&w, target_key, ROLLOUT, &ops, &arg, &err), SK_OK);
	/* The first copy is answered; the replay ends the link. */
	assert_int_equal(ops->capture(arg, &err), SK_OK);
	assert_int_not_equal(ops->snapshot_end(arg, &err), SK_OK);
	ops->close(arg);
	wait_closed(1);
	assert_int_equal(atomic_load(&fake.calls[OP_CAPTURE]), 1);
	assert_int_equal(atomic_load(&fake.calls[OP_SNAPSHOT_END]), 0);
	world_stop(&w);
}

/* ---- (6) dead and silent peers -------------------------------------- */

static int
discard(void *arg, const uint8_t *data, size_t len, sk_err *err)
{
	(void)arg;
	(void)data;
	(void)len;
	(void)err;
	return SK_OK;
}

static void
test_link_times_out_on_a_silent_source_in_copy(void **state)
{
	const move_source_ops *ops = NULL;
	void *arg = NULL;
	int64_t rows = 0, t0;
	world w;
	sk_err err;

	(void)state;
	world_start(&w, target_key);
	atomic_store(&fake.copy_mode, COPY_STALL);
	assert_int_equal(open_as(&w, target_key, ROLLOUT, &ops, &arg, &err), SK_OK);
	t0 = sk_mono_ms();
	assert_int_equal(ops->copy(arg, "public.bookings", discard, NULL, &rows, &err),
	    SK_ETIMEOUT);
	assert_true(sk_mono_ms() - t0 < IO_MS + 1000);
	atomic_store(&fake.cancel, true);
	ops->close(arg);
	wait_closed(1);
	world_stop(&w);
}

typedef struct stopper {
	world *w;
	int after_ms;
} stopper;

static void *
stop_later(void *arg)
{
	stopper *s = arg;

	nng_msleep(s->after_ms);
	move_serve_stop(s->w->srv);
	s->w->srv = NULL;
	return NULL;
}

static void
test_link_fails_fast_when_the_source_stops_in_copy(void **state)
{
	const move_source_ops *ops = NULL;
	void *arg = NULL;
	int64_t rows = 0, t0;
	stopper st;
	pthread_t th;
	world w;
	sk_err err;
	int rc;

	(void)state;
	world_start(&w, target_key);
	atomic_store(&fake.copy_mode, COPY_STALL);
	assert_int_equal(open_as(&w, target_key, ROLLOUT, &ops, &arg, &err), SK_OK);
	st = (stopper){ .w = &w, .after_ms = 200 };
	assert_int_equal(pthread_create(&th, NULL, stop_later, &st), 0);
	t0 = sk_mono_ms();
	rc = ops->copy(arg, "public.bookings", discard, NULL, &rows, &err);
	assert_int_equal(rc, SK_ENET);
	assert_true(sk_mono_ms() - t0 < IO_MS);
	atomic_store(&fake.cancel, true);
	t0 = sk_mono_ms();
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(sk_mono_ms() - t0 < 500); /* the link ended at once */
	assert_int_equal(atomic_load(&fake.closes), 1); /* stop joined it */
	ops->close(arg);
	world_stop(&w);
}

static void
test_link_cut_while_frozen_releases_the_freeze(void **state)
{
	const move_source_ops *ops = NULL;
	void *arg = NULL;
	world w;
	sk_err err;

	(void)state;
	/* The target goes silent while the source is frozen: the source
	 * waits the freeze timeout plus frozen_ms, then lets go. */
	world_start(&w, target_key);
	assert_int_equal(open_as(&w, target_key, ROLLOUT, &ops, &arg, &err), SK_OK);
	assert_int_equal(ops->freeze(arg, 100, &err), SK_OK);
	assert_true(atomic_load(&fake.frozen));
	wait_closed(1);
	assert_int_equal(atomic_load(&fake.calls[OP_UNFREEZE]), 1);
	assert_false(atomic_load(&fake.frozen));
	assert_int_not_equal(ops->commit(arg, &err), SK_OK);
	assert_int_equal(atomic_load(&fake.calls[OP_COMMIT]), 0);
	ops->close(arg);
	world_stop(&w);

	/* The source agent stops while frozen: released too. */
	world_start(&w, target_key);
	assert_int_equal(open_as(&w, target_key, ROLLOUT, &ops, &arg, &err), SK_OK);
	assert_int_equal(ops->freeze(arg, 500, &err), SK_OK);
	move_serve_stop(w.srv);
	w.srv = NULL;
	assert_int_equal(atomic_load(&fake.calls[OP_UNFREEZE]), 1);
	assert_int_equal(atomic_load(&fake.closes), 1);
	assert_int_not_equal(ops->commit(arg, &err), SK_OK);
	ops->close(arg);
	world_stop(&w);
}

/* ---- (7) silent clients and bad lengths ----------------------------- */

static nng_stream *
raw_dial(const world *w)
{
	nng_stream_dialer *d = NULL;
	nng_aio *aio = NULL;
	nng_stream *s;

	assert_int_equal(nng_stream_dialer_alloc(&d, w->source.address), 0);
	assert_int_equal(nng_aio_alloc(&aio, NULL, NULL), 0);
	nng_aio_set_timeout(aio, 2000);
	nng_stream_dialer_dial(d, aio);
	nng_aio_wait(aio);
	assert_int_equal(nng_aio_result(aio), 0);
	s = nng_aio_get_output(aio, 0);
	nng_aio_free(aio);
	nng_stream_dialer_free(d);
	return s;
}

/* How long until the server closes s (reading with a 3 s limit); -1 if
 * it never did. */
static int64_t
ms_until_closed(nng_stream *s)
{
	nng_aio *aio = NULL;
	uint8_t b[64];
	nng_iov iov = { .iov_buf = b, .iov_len = sizeof(b) };
	int64_t t0 = sk_mono_ms();
	int rv;

	assert_int_equal(nng_aio_alloc(&aio, NULL, NULL), 0);
	for (;;) {
		assert_int_equal(nng_aio_set_iov(aio, 1, &iov), 0);
		nng_aio_set_timeout(aio, 3000);
		nng_stream_recv(s, aio);
		nng_aio_wait(aio);
		rv = nng_aio_result(aio);
		if (rv != 0 || nng_aio_count(aio) == 0)
			break;
	}
	nng_aio_free(aio);
	return rv == NNG_ETIMEDOUT ? -1 : sk_mono_ms() - t0;
}

static void
raw_send(nng_stream *s, const uint8_t *b, size_t n)
{
	nng_aio *aio = NULL;
	nng_iov iov = { .iov_buf = (void *)b, .iov_len = n };

	assert_int_equal(nng_aio_alloc(&aio, NULL, NULL), 0);
	assert_int_equal(nng_aio_set_iov(aio, 1, &iov), 0);
	nng_aio_set_timeout(aio, 2000);
	nng_stream_send(s, aio);
	nng_aio_wait(aio);
	assert_int_equal(nng_aio_result(aio), 0);
	nng_aio_free(aio);
}

static void
test_link_drops_a_silent_client_without_blocking_others(void **state)
{
	const move_source_ops *ops = NULL;
	void *arg = NULL;
	nng_stream *quiet;
	world w;
	sk_err err;
	int64_t ms;

	(void)state;
	world_start(&w, target_key);
	quiet = raw_dial(&w);
	/* Another link is served meanwhile. */
	assert_int_equal(open_as(&w, target_key, ROLLOUT, &ops, &arg, &err), SK_OK);
	assert_int_equal(ops->capture(arg, &err), SK_OK);
	ops->close(arg);
	ms = ms_until_closed(quiet);
	assert_true(ms >= 0);
	assert_true(ms < w.o.handshake_ms + 1000);
	nng_stream_free(quiet);
	world_stop(&w);
}

static void
test_link_limits_connections_in_the_handshake(void **state)
{
	nng_stream *quiet[3], *extra;
	const move_source_ops *ops = NULL;
	void *arg = NULL;
	world w;
	sk_err err;
	int64_t ms;

	(void)state;
	world_start(&w, target_key);
	for (int i = 0; i < w.o.max_handshake; i++)
		quiet[i] = raw_dial(&w);
	nng_msleep(50); /* let the server take them */
	extra = raw_dial(&w);
	ms = ms_until_closed(extra); /* refused at once */
	assert_true(ms >= 0);
	assert_true(ms < w.o.handshake_ms / 2);
	nng_stream_free(extra);
	for (int i = 0; i < w.o.max_handshake; i++) {
		assert_true(ms_until_closed(quiet[i]) >= 0);
		nng_stream_free(quiet[i]);
	}
	/* Served again once they are gone. */
	nng_msleep(50);
	assert_int_equal(open_as(&w, target_key, ROLLOUT, &ops, &arg, &err), SK_OK);
	ops->close(arg);
	world_stop(&w);
}

static void
test_link_refuses_an_oversized_length_prefix(void **state)
{
	static const uint8_t huge[4] = { 0xff, 0xff, 0xff, 0xf0 };
	static const uint8_t big_preamble[4] = { 0, 0, 1, 0 }; /* 256 */
	nng_stream *s;
	world w;
	int64_t ms;

	(void)state;
	world_start(&w, target_key);
	s = raw_dial(&w);
	raw_send(s, huge, sizeof(huge));
	ms = ms_until_closed(s);
	assert_true(ms >= 0);
	assert_true(ms < w.o.handshake_ms / 2);
	nng_stream_free(s);

	s = raw_dial(&w);
	raw_send(s, big_preamble, sizeof(big_preamble));
	ms = ms_until_closed(s);
	assert_true(ms >= 0);
	assert_true(ms < w.o.handshake_ms / 2);
	nng_stream_free(s);
	assert_int_equal(atomic_load(&fake.opens), 0);
	world_stop(&w);
}

/* A "source" that answers the preamble and HELLO with a 4 GiB length. */
static void *
lying_source(void *arg)
{
	static const uint8_t huge[4] = { 0xff, 0xff, 0xff, 0xff };
	nng_stream_listener *lst = arg;
	nng_aio *aio = NULL;
	nng_stream *s;

	assert_int_equal(nng_aio_alloc(&aio, NULL, NULL), 0);
	nng_aio_set_timeout(aio, 3000);
	nng_stream_listener_accept(lst, aio);
	nng_aio_wait(aio);
	if (nng_aio_result(aio) == 0) {
		s = nng_aio_get_output(aio, 0);
		raw_send(s, huge, sizeof(huge));
		(void)ms_until_closed(s); /* until the target hangs up */
		nng_stream_free(s);
	}
	nng_aio_free(aio);
	return NULL;
}

static void
test_remote_refuses_an_oversized_length_prefix(void **state)
{
	nng_stream_listener *lst = NULL;
	const move_source_ops *ops = NULL;
	void *arg = NULL;
	pthread_t th;
	world w;
	sk_err err;
	int port = 0;
	int64_t t0;

	(void)state;
	world_start(&w, target_key);
	assert_int_equal(nng_stream_listener_alloc(&lst, "tcp://127.0.0.1:0"), 0);
	assert_int_equal(nng_stream_listener_listen(lst), 0);
	assert_int_equal(
	    nng_stream_listener_get_int(lst, NNG_OPT_TCP_BOUND_PORT, &port), 0);
	snprintf(w.source.address, sizeof(w.source.address), "tcp://127.0.0.1:%d", port);
	assert_int_equal(pthread_create(&th, NULL, lying_source, lst), 0);
	t0 = sk_mono_ms();
	assert_int_equal(open_as(&w, target_key, ROLLOUT, &ops, &arg, &err), SK_EDECODE);
	assert_non_null(strstr(err.msg, "exceeds"));
	assert_true(sk_mono_ms() - t0 < 1000);
	assert_null(ops);
	assert_int_equal(pthread_join(th, NULL), 0);
	nng_stream_listener_free(lst);
	world_stop(&w);
}

static void
test_preamble_round_trip_and_refusals(void **state)
{
	uint8_t b[MOVE_LINK_PREAMBLE_MAX + 8];
	char r[64], s[64];
	size_t n = 0;
	sk_err err;

	(void)state;
	assert_int_equal(move_link_preamble_encode(b, &n, ROLLOUT, STEP, &err), SK_OK);
	assert_int_equal(move_link_preamble_parse(r, s, b, n, &err), SK_OK);
	assert_string_equal(r, ROLLOUT);
	assert_string_equal(s, STEP);
	/* Cut short or with a byte too many. */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(move_link_preamble_parse(r, s, b, k, &err), SK_EDECODE);
	b[n] = 'x';
	assert_int_equal(move_link_preamble_parse(r, s, b, n + 1, &err), SK_EDECODE);
	b[4] = 2; /* version */
	assert_int_equal(move_link_preamble_parse(r, s, b, n, &err), SK_EDECODE);
	b[4] = 1;
	b[7] = '\n'; /* a control byte in the rollout id */
	assert_int_equal(move_link_preamble_parse(r, s, b, n, &err), SK_EDECODE);
	assert_int_equal(move_link_preamble_encode(b, &n, "", STEP, &err), SK_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preamble_round_trip_and_refusals),
		cmocka_unit_test(test_link_serves_a_whole_move),
		cmocka_unit_test(test_link_refuses_an_unauthorized_target_key),
		cmocka_unit_test(test_link_refuses_a_source_with_another_key),
		cmocka_unit_test(test_link_refuses_a_move_not_authorized),
		cmocka_unit_test(test_link_ends_on_a_flipped_request_byte),
		cmocka_unit_test(test_link_ends_on_a_flipped_reply_byte),
		cmocka_unit_test(test_link_ends_on_a_replayed_request),
		cmocka_unit_test(test_link_times_out_on_a_silent_source_in_copy),
		cmocka_unit_test(test_link_fails_fast_when_the_source_stops_in_copy),
		cmocka_unit_test(test_link_cut_while_frozen_releases_the_freeze),
		cmocka_unit_test(test_link_drops_a_silent_client_without_blocking_others),
		cmocka_unit_test(test_link_limits_connections_in_the_handshake),
		cmocka_unit_test(test_link_refuses_an_oversized_length_prefix),
		cmocka_unit_test(test_remote_refuses_an_oversized_length_prefix),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

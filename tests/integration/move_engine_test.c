/* Integration tests of the tenant move engine (agent/move/), in process,
 * on two scratch databases of the `pg` fixture cluster as source and
 * target: a full move checked by an independent fingerprint, signed
 * figures, the SKM01 fence (also for a REPEATABLE READ writer), writes
 * during the move, BLOCKED preflights that install nothing, a freeze
 * timeout, a row changed behind skein's back, and resumes.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgfixture.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "move.h"
#include "move_int.h"
#include "sk_key.h"
#include "sk_util.h"

static char port[16];

static const char schema[] =
    "CREATE TABLE tenants (tenant_id text PRIMARY KEY, name text NOT NULL,"
    "  created timestamptz NOT NULL DEFAULT now());\n"
    "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  tenant_id text NOT NULL REFERENCES tenants,"
    "  amount numeric(12,2) NOT NULL,"
    "  cents bigint GENERATED ALWAYS AS ((amount * 100)::bigint) STORED,"
    "  meta jsonb, placed timestamptz NOT NULL DEFAULT now(), blob bytea);\n"
    "CREATE TABLE order_lines (order_id bigint NOT NULL REFERENCES orders,"
    "  line int NOT NULL, tenant_id text NOT NULL, sku text, qty int,"
    "  PRIMARY KEY (order_id, line));\n"
    "CREATE TABLE police (id int PRIMARY KEY, tenant_id text, doc text);\n"
    "CREATE TABLE moved_artifacts (id int, original_region text);\n"
    "CREATE TABLE outbox (id bigserial PRIMARY KEY, event_type text NOT NULL,"
    "  payload jsonb NOT NULL);\n"
    "CREATE TABLE directory (tenant_id text PRIMARY KEY, region text);\n";

static const char data[] =
    "INSERT INTO tenants VALUES ('acme', 'Acme', '2024-01-02 03:04:05+00'),"
    "  ('globex', 'Globex', now());\n"
    "INSERT INTO orders (tenant_id, amount, meta, placed, blob)"
    "  SELECT CASE WHEN g % 2 = 0 THEN 'acme' ELSE 'globex' END, g * 1.25,"
    "  jsonb_build_object('g', g, 'tags', jsonb_build_array('a', g)),"
    "  '2024-01-01'::timestamptz + g * interval '1 hour',"
    "  decode(md5(g::text), 'hex') FROM generate_series(1, 400) g;\n"
    "INSERT INTO order_lines SELECT o.id, l, o.tenant_id, 'sku-' || l, l"
    "  FROM orders o, generate_series(1, 3) l;\n"
    "INSERT INTO police VALUES (1, 'acme', 'x'), (2, 'acme', 'y'),"
    "  (3, 'globex', 'z');\n"
    "INSERT INTO directory VALUES ('acme', 'src'), ('globex', 'src');\n";

/* The tenant's rows, by a query of its own: count and md5 per table. */
static const char fingerprint_sql[] =
    "SELECT (SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|'"
    "  ORDER BY tenant_id)), '') FROM tenants t WHERE tenant_id = 'acme')"
    " || '/' || (SELECT count(*) || ':' || coalesce(md5(string_agg(o::text,"
    "  '|' ORDER BY id)), '') FROM orders o WHERE tenant_id = 'acme')"
    " || '/' || (SELECT count(*) || ':' || coalesce(md5(string_agg(l::text,"
    "  '|' ORDER BY order_id, line)), '') FROM order_lines l"
    "  WHERE tenant_id = 'acme')";

static char *tables[] = { "tenants", "orders", "order_lines" };
static char *stay_cols[] = { "id" };

typedef struct world {
	char src[64], dst[64];
	char src_ci[256], dst_ci[256];
	sk_move_stay stay;
	sk_move_tenant m;
	move_spec spec;
	PGconn *target;
	char guard_state[6], truncate_state[6]; /* seen by hooks */
} world;

static void
world_open(world *w, const char *tag, const char *src_extra, const char *dst_extra)
{
	char t[32];

	memset(w, 0, sizeof(*w));
	snprintf(t, sizeof(t), "%ss", tag);
	pgfixture_create_db(port, t, w->src, sizeof(w->src));
	snprintf(t, sizeof(t), "%st", tag);
	pgfixture_create_db(port, t, w->dst, sizeof(w->dst));
	pgfixture_conninfo(w->src_ci, sizeof(w->src_ci), port, w->src);
	pgfixture_conninfo(w->dst_ci, sizeof(w->dst_ci), port, w->dst);
	pgfixture_exec_db(port, w->src, schema);
	pgfixture_exec_db(port, w->src, data);
	pgfixture_exec_db(port, w->dst, schema);
	if (src_extra != NULL)
		pgfixture_exec_db(port, w->src, src_extra);
	if (dst_extra != NULL)
		pgfixture_exec_db(port, w->dst, dst_extra);
	w->stay.table = "police";
	w->stay.index_table = "moved_artifacts";
	w->stay.index_columns = stay_cols;
	w->stay.nindex_columns = 1;
	w->m.column = "tenant_id";
	w->m.value = "acme";
	w->m.from = "src";
	w->m.to = "dst";
	w->m.tables = tables;
	w->m.ntables = 3;
	w->m.stay = &w->stay;
	w->m.nstay = 1;
	w->m.event_table = "outbox";
	w->m.event_type = "tenant.region_changed.v1";
	w->m.route_source =
	    "UPDATE directory SET region = 'dst' WHERE tenant_id = 'acme'";
	w->m.route_target = "INSERT INTO directory VALUES ('acme', 'dst')";
	w->m.freeze_timeout_ms = 1000;
	w->m.max_lag_ms = 200;
	w->spec.m = &w->m;
	w->spec.move_id = "plan-1/move_acme";
	w->spec.source_region = "src";
	w->spec.target_region = "dst";
	w->target = pgfixture_connect(port, w->dst, "move-target");
}

static void
world_close(world *w)
{
	PQfinish(w->target);
	pgfixture_drop_db(port, w->src);
	pgfixture_drop_db(port, w->dst);
}

typedef struct opts {
	const sk_seckey *src_key, *dst_key;
	const sk_pubkey *src_pub;
	int (*hook)(void *, move_phase, const char *, PGconn *, sk_err *);
	void *hook_arg;
	int (*in_flip)(void *, PGconn *, sk_err *);
	void *in_flip_arg;
	void (*progress)(void *, const move_progress *);
	void *progress_arg;
	atomic_int *stop;
	bool rehearse;
	uint32_t page_limit;
	bool no_export; /* the source does not export (an older agent) */
} opts;

/* The local source's ops, but a snapshot that is never exported. */
static const move_source_ops *real_ops;
static move_source_ops old_ops;

static int
snapshot_no_export(void *arg, char **snapshot, char **exported, sk_err *err)
{
	if (exported != NULL)
		*exported = NULL;
	return real_ops->snapshot(arg, snapshot, NULL, err);
}

static int
run_move(world *w, const opts *o, move_result *res, sk_err *err)
{
	const move_source_ops *ops = NULL;
	void *arg = NULL;
	move_run r;
	int rc;

	rc = move_local_open(
	    w->src_ci, &w->spec, "src", o ? o->src_key : NULL, &ops, &arg, err);
	if (rc != SK_OK) {
		memset(res, 0, sizeof(*res));
		return rc;
	}
	memset(&r, 0, sizeof(r));
	r.spec = &w->spec;
	r.target = w->target;
	r.target_conninfo = w->dst_ci;
	r.src = ops;
	r.src_arg = arg;
	if (o != NULL) {
		r.key = o->dst_key;
		r.source_key = o->src_pub;
		r.hook = o->hook;
		r.hook_arg = o->hook_arg;
		r.progress = o->progress;
		r.progress_arg = o->progress_arg;
		r.stop = o->stop;
		r.in_flip = o->in_flip;
		r.in_flip_arg = o->in_flip_arg;
		r.rehearse = o->rehearse;
		r.page_limit = o->page_limit;
		if (o->no_export) {
			real_ops = ops;
			old_ops = *ops;
			old_ops.snapshot = snapshot_no_export;
			r.src = &old_ops;
		}
	}
	rc = move_engine_run(&r, res, err);
	ops->close(arg);
	return rc;
}

static void
fingerprint(const char *db, char *buf, size_t len)
{
	pgfixture_scalar_db(port, db, fingerprint_sql, buf, len);
}

static long
count(const char *db, const char *sql)
{
	return pgfixture_long_db(port, db, sql);
}

/* The SQLSTATE sql fails with on c ("" when it succeeds). */
static void
try_sql(PGconn *c, const char *sql, char state[6])
{
	sk_err err;

	state[0] = '\0';
	if (sk_pg_exec(c, "try", sql, NULL, &err) != SK_OK)
		snprintf(state, 6, "%s", err.sqlstate[0] ? err.sqlstate : "?????");
}

static long
skein_triggers(const char *db)
{
	return count(db,
	    "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'skein_move%'");
}

static void
assert_same_tenant(world *w)
{
	char a[256], b[256];

	fingerprint(w->src, a, sizeof(a));
	fingerprint(w->dst, b, sizeof(b));
	assert_string_equal(a, b);
	assert_true(strncmp(a, "1:", 2) == 0);
}

static void
assert_target_empty(world *w)
{
	assert_int_equal(count(w->dst,
			     "SELECT (SELECT count(*) FROM tenants "
			     "WHERE tenant_id = 'acme') + (SELECT count(*) "
			     "FROM orders) + (SELECT count(*) FROM order_lines)"),
	    0);
}

/* ---- keys */

static char keydir[128];

static void
load_key(const char *name, sk_seckey **sk)
{
	char base[256], path[300];
	sk_err err;

	snprintf(base, sizeof(base), "%s/%s", keydir, name);
	snprintf(path, sizeof(path), "%s.key", base);
	if (access(path, F_OK) != 0)
		assert_int_equal(sk_key_generate(base, &err), SK_OK);
	assert_int_equal(sk_seckey_load(path, sk, &err), SK_OK);
}

static void
assert_sums_equal(const Skein__V1__MoveSignedSums *s,
    const Skein__V1__MoveSignedSums *t, const sk_pubkey *spub, const sk_pubkey *tpub)
{
	static const char domain[] = "skein/v1/move-sums";
	Skein__V1__MoveSums *a, *b;
	uint8_t msg[65536];

	assert_non_null(s);
	assert_non_null(t);
	assert_int_equal(s->signature.len, SK_SIG_LEN);
	assert_int_equal(t->signature.len, SK_SIG_LEN);
	assert_true(s->sums.len + sizeof(domain) < sizeof(msg));
	memcpy(msg, domain, sizeof(domain));
	memcpy(msg + sizeof(domain), s->sums.data, s->sums.len);
	assert_int_equal(sk_pubkey_verify(spub, msg,
			     sizeof(domain) + s->sums.len, s->signature.data),
	    SK_OK);
	/* the other agent's key does not verify it */
	assert_int_not_equal(sk_pubkey_verify(tpub, msg,
				 sizeof(domain) + s->sums.len, s->signature.data),
	    SK_OK);
	memcpy(msg + sizeof(domain), t->sums.data, t->sums.len);
	assert_int_equal(sk_pubkey_verify(tpub, msg,
			     sizeof(domain) + t->sums.len, t->signature.data),
	    SK_OK);
	a = skein__v1__move_sums__unpack(NULL, s->sums.len, s->sums.data);
	b = skein__v1__move_sums__unpack(NULL, t->sums.len, t->sums.data);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->n_tables, 3);
	assert_int_equal(b->n_tables, 3);
	assert_string_equal(a->region, "src");
	assert_string_equal(b->region, "dst");
	for (size_t i = 0; i < a->n_tables; i++) {
		assert_string_equal(a->tables[i]->table, b->tables[i]->table);
		assert_int_equal(a->tables[i]->rows, b->tables[i]->rows);
		assert_true(a->tables[i]->sum == b->tables[i]->sum);
		assert_int_equal(a->tables[i]->keys, b->tables[i]->keys);
	}
	assert_int_equal(a->tables[1]->rows, 200);
	skein__v1__move_sums__free_unpacked(a, NULL);
	skein__v1__move_sums__free_unpacked(b, NULL);
}

/* ---- (1) */

static int progress_calls;

static void
count_progress(void *arg, const move_progress *p)
{
	(void)arg;
	assert_string_not_equal(move_phase_name(p->phase), "unknown");
	progress_calls++;
}

typedef struct rr_check {
	PGconn *rr;
	char state[6];
	bool flipped;
} rr_check;

/* In the target's flip (in the freeze, before the source's commit
 * point, so that it could still abort the move): inside the flip's
 * transaction. */
/* Just after the source's commit point (the hook between the two
 * commits): the REPEATABLE READ writer, whose snapshot predates it,
 * writes; the fence is not read through a snapshot. */
static int
rr_write(void *arg, move_phase p, const char *table, PGconn *target, sk_err *err)
{
	rr_check *c = arg;

	(void)table;
	(void)target;
	(void)err;
	if (p != MOVE_PHASE_FLIP)
		return SK_OK;
	try_sql(c->rr, "UPDATE orders SET amount = amount + 1 WHERE tenant_id = 'acme'",
	    c->state);
	PQclear(PQexec(c->rr, "ROLLBACK"));
	return SK_OK;
}

static int
in_flip_seen(void *arg, PGconn *target, sk_err *err)
{
	rr_check *c = arg;

	(void)err;
	assert_int_equal(PQtransactionStatus(target), PQTRANS_INTRANS);
	c->flipped = true;
	return SK_OK;
}

static void
test_full_move_copies_exactly_and_fences_the_source(void **state)
{
	sk_seckey *sk = NULL, *tk = NULL;
	rr_check rc_rr;
	world w;
	move_result res;
	PGconn *rr;
	char st[6], before_src[256];
	sk_err err;
	opts o;
	int rc;

	(void)state;
	load_key("src", &sk);
	load_key("dst", &tk);
	world_open(&w, "mvfull", NULL, NULL);
	fingerprint(w.src, before_src, sizeof(before_src));
	/* A REPEATABLE READ writer whose snapshot predates the commit. */
	rr = pgfixture_connect(port, w.src, "rr-writer");
	pgfixture_exec(rr,
	    "BEGIN ISOLATION LEVEL REPEATABLE READ; "
	    "SELECT count(*) FROM orders");

	memset(&o, 0, sizeof(o));
	o.src_key = sk;
	o.dst_key = tk;
	o.src_pub = sk_seckey_public(sk);
	o.progress = count_progress;
	memset(&rc_rr, 0, sizeof(rc_rr));
	rc_rr.rr = rr;
	o.in_flip = in_flip_seen;
	o.in_flip_arg = &rc_rr;
	o.hook = rr_write;
	o.hook_arg = &rc_rr;
	rc = run_move(&w, &o, &res, &err);
	if (rc != SK_OK)
		print_error("move: %s\n", err.msg);
	assert_int_equal(rc, SK_OK);
	assert_true(res.committed);
	assert_false(res.aborted);
	assert_false(res.cleanup_pending);
	assert_true(rc_rr.flipped);
	assert_string_equal(rc_rr.state, "SKM01");
	assert_int_equal(res.rows, 1 + 200 + 600);
	assert_true(res.bytes > 0);
	assert_true(progress_calls >= 7);

	assert_same_tenant(&w);
	{
		char now_src[256];

		fingerprint(w.src, now_src, sizeof(now_src));
		assert_string_equal(before_src, now_src); /* source rows stay */
	}
	assert_int_equal(
	    count(w.dst, "SELECT count(*) FROM orders WHERE tenant_id = 'globex'"), 0);
	assert_int_equal(
	    count(w.dst, "SELECT count(*) FROM tenants WHERE tenant_id = 'globex'"), 0);
	/* generated column recomputed in the target */
	assert_int_equal(
	    count(w.dst, "SELECT count(*) FROM orders WHERE cents <> (amount * 100)::bigint"),
	    0);

	/* the fence: a write to the moved tenant fails, others go on */
	{
		PGconn *c = pgfixture_connect(port, w.src, NULL);

		try_sql(c, "UPDATE orders SET amount = amount + 1 WHERE tenant_id = 'acme'",
		    st);
		assert_string_equal(st, "SKM01");
		try_sql(c,
		    "INSERT INTO orders (tenant_id, amount) VALUES ('acme', 1)", st);
		assert_string_equal(st, "SKM01");
		try_sql(c, "DELETE FROM order_lines WHERE tenant_id = 'acme'", st);
		assert_string_equal(st, "SKM01");
		try_sql(c, "UPDATE orders SET amount = amount + 1 WHERE tenant_id = 'globex'",
		    st);
		assert_string_equal(st, "");
		PQfinish(c);
	}
	PQfinish(rr);

	/* the flip: event, index rows, routing, ledger */
	assert_int_equal(count(w.dst,
			     "SELECT count(*) FROM outbox WHERE event_type = "
			     "'tenant.region_changed.v1' AND payload = "
			     "jsonb_build_object('tenant', 'acme', 'column', "
			     "'tenant_id', 'from', 'src', 'to', 'dst', 'move_id', "
			     "'plan-1/move_acme')"),
	    1);
	assert_int_equal(count(w.dst,
			     "SELECT count(*) FROM moved_artifacts WHERE "
			     "original_region = 'src' AND id IN (1, 2)"),
	    2);
	assert_int_equal(count(w.dst, "SELECT count(*) FROM moved_artifacts"), 2);
	assert_int_equal(
	    count(w.src, "SELECT count(*) FROM directory WHERE region = 'dst'"), 1);
	assert_int_equal(
	    count(w.dst, "SELECT count(*) FROM directory WHERE region = 'dst'"), 1);
	assert_int_equal(
	    count(w.dst, "SELECT count(*) FROM skein.moves WHERE state = 'done'"), 1);
	assert_int_equal(
	    count(w.src, "SELECT count(*) FROM skein.moves WHERE state = 'moved'"), 1);
	/* the target guard is gone, the source keeps only its guard */
	assert_int_equal(skein_triggers(w.dst), 0);
	assert_int_equal(count(w.src,
			     "SELECT count(*) FROM pg_trigger WHERE "
			     "tgname LIKE 'skein_move%capture%'"),
	    0);
	assert_int_equal(count(w.src,
			     "SELECT count(*) FROM pg_trigger WHERE "
			     "tgname LIKE 'skein_move%guard%'"),
	    9);
	assert_int_equal(count(w.src, "SELECT count(*) FROM skein.move_changes"), 0);
	pgfixture_exec_db(port, w.dst,
	    "UPDATE orders SET amount = amount + 1 "
	    "WHERE tenant_id = 'acme'");
	/* the target's identity sequence was moved past the copied ids */
	pgfixture_exec_db(port, w.dst,
	    "INSERT INTO orders (tenant_id, amount) SELECT 'acme', g "
	    "FROM generate_series(1, 5) g");

	assert_sums_equal(res.source_sums, res.target_sums,
	    sk_seckey_public(sk), sk_seckey_public(tk));
	assert_non_null(res.source_freeze_sums);
	assert_non_null(res.target_freeze_sums);

	/* a second run finds it done */
	move_result_fini(&res);
	assert_int_equal(run_move(&w, &o, &res, &err), SK_OK);
	assert_true(res.committed);
	assert_int_equal(res.rows, 0);
	move_result_fini(&res);
	world_close(&w);
	sk_seckey_destroy(sk);
	sk_seckey_destroy(tk);
}

static void
test_sums_signed_by_another_key_abort_the_move(void **state)
{
	sk_seckey *sk = NULL, *tk = NULL;
	world w;
	move_result res;
	sk_err err;
	opts o;

	(void)state;
	load_key("src", &sk);
	load_key("dst", &tk);
	world_open(&w, "mvkey", NULL, NULL);
	memset(&o, 0, sizeof(o));
	o.src_key = sk;
	o.dst_key = tk;
	o.src_pub = sk_seckey_public(tk); /* not the source's key */
	assert_int_not_equal(run_move(&w, &o, &res, &err), SK_OK);
	assert_int_equal(err.code, SK_ECRYPTO);
	assert_true(res.aborted);
	assert_false(res.committed);
	assert_target_empty(&w);
	assert_int_equal(skein_triggers(w.src), 0);
	move_result_fini(&res);
	world_close(&w);
	sk_seckey_destroy(sk);
	sk_seckey_destroy(tk);
}

/* ---- (2) */

typedef struct writer {
	const char *ci;
	const char *tenant;
	volatile int *stop;
	long ok, failed;
	char last_state[6];
	char last_msg[256];
} writer;

static void *
write_loop(void *arg)
{
	writer *wr = arg;
	PGconn *c = NULL;
	sk_err err;
	char sql[1024];
	int i = 0;

	if (sk_pg_connect(wr->ci, "writer", &c, &err) != SK_OK) {
		wr->failed++;
		return NULL;
	}
	while (!*wr->stop) {
		i++;
		snprintf(sql, sizeof(sql),
		    "BEGIN;"
		    "WITH o AS (INSERT INTO orders (tenant_id, amount, meta, blob) "
		    "  VALUES ('%s', %d, '{\"w\": %d}', '\\x0102') RETURNING id) "
		    "INSERT INTO order_lines SELECT id, 1, '%s', 'w', %d FROM o;"
		    "UPDATE orders SET amount = amount + 1, meta = meta || '{\"u\": 1}' "
		    "  WHERE id = (SELECT id FROM orders WHERE tenant_id = '%s' ORDER BY id "
		    "  OFFSET %d %% 50 LIMIT 1);"
		    "DELETE FROM order_lines WHERE (order_id, line) = (SELECT order_id, line "
		    "  FROM order_lines WHERE tenant_id = '%s' AND line = 3 ORDER BY order_id LIMIT 1);"
		    "UPDATE order_lines SET line = line + 10 WHERE (order_id, line) = (SELECT "
		    "  order_id, line FROM order_lines WHERE tenant_id = '%s' AND line = 2 "
		    "  ORDER BY order_id DESC LIMIT 1);"
		    "COMMIT",
		    wr->tenant, i, i, wr->tenant, i, wr->tenant, i, wr->tenant,
		    wr->tenant);
		if (sk_pg_exec(c, "write", sql, NULL, &err) == SK_OK) {
			wr->ok++;
		} else {
			PQclear(PQexec(c, "ROLLBACK"));
			wr->failed++;
			snprintf(wr->last_state, sizeof(wr->last_state), "%s",
			    err.sqlstate);
			snprintf(wr->last_msg, sizeof(wr->last_msg), "%.200s", err.msg);
			if (strcmp(err.sqlstate, "SKM01") == 0)
				break;
		}
		sk_sleep_ms(3);
	}
	PQfinish(c);
	return NULL;
}

static void
test_concurrent_writes_move_exactly(void **state)
{
	volatile int stop_a = 0, stop_b = 0;
	writer a, b;
	pthread_t ta, tb;
	world w;
	move_result res;
	sk_err err;
	int rc;

	(void)state;
	world_open(&w, "mvconc", NULL, NULL);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.ci = w.src_ci;
	a.tenant = "acme";
	a.stop = &stop_a;
	b.ci = w.src_ci;
	b.tenant = "globex";
	b.stop = &stop_b;
	assert_int_equal(pthread_create(&ta, NULL, write_loop, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, write_loop, &b), 0);
	sk_sleep_ms(300);
	rc = run_move(&w, NULL, &res, &err);
	if (rc != SK_OK)
		print_error("move: %s\n", err.msg);
	assert_int_equal(rc, SK_OK);
	sk_sleep_ms(200);
	stop_b = 1;
	/* the tenant's writer stops at its first SKM01 */
	for (int i = 0; i < 200 && a.last_state[0] == '\0'; i++)
		sk_sleep_ms(10);
	stop_a = 1;
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_string_equal(a.last_state, "SKM01");
	assert_int_equal(a.failed, 1);
	assert_true(a.ok > 5);
	if (b.failed != 0)
		print_error("other tenant's writer: %s\n", b.last_msg);
	assert_int_equal(b.failed, 0);
	assert_true(b.ok > 10);
	assert_true(res.changes > 0);
	assert_same_tenant(&w);
	assert_int_equal(
	    count(w.dst, "SELECT count(*) FROM orders WHERE tenant_id <> 'acme'"), 0);
	move_result_fini(&res);
	world_close(&w);
}

/* ---- (3) */

static void
assert_blocked(const char *tag, const char *src_extra, const char *dst_extra,
    char **tbls, size_t ntbls, const char *want1, const char *want2)
{
	world w;
	move_result res;
	sk_err err;

	world_open(&w, tag, src_extra, dst_extra);
	w.m.tables = tbls;
	w.m.ntables = ntbls;
	assert_int_not_equal(run_move(&w, NULL, &res, &err), SK_OK);
	assert_true(res.blocked);
	assert_false(res.committed);
	assert_int_equal(err.code, SK_EPREFLIGHT);
	assert_contains(err.msg, want1);
	assert_contains(err.msg, want2);
	assert_int_equal(skein_triggers(w.src), 0);
	assert_int_equal(skein_triggers(w.dst), 0);
	assert_int_equal(count(w.src, "SELECT count(*) FROM skein.moves"), 0);
	assert_int_equal(
	    count(w.dst, "SELECT count(*) FROM pg_namespace WHERE nspname = 'skein'"), 0);
	move_result_fini(&res);
	world_close(&w);
}

static void
test_type_difference_blocks_naming_table_and_column(void **state)
{
	(void)state;
	assert_blocked("mvbt", NULL,
	    "ALTER TABLE order_lines ALTER COLUMN qty TYPE bigint", tables, 3,
	    "order_lines", "qty is integer in the source, bigint");
}

static void
test_tenant_rows_in_target_block(void **state)
{
	(void)state;
	assert_blocked("mvbr", NULL, "INSERT INTO tenants VALUES ('acme', 'old', now())",
	    tables, 3, "already has 1 rows", "public.tenants");
}

static void
test_table_without_primary_key_blocks(void **state)
{
	static char *with_notes[] = { "tenants", "orders", "order_lines", "notes" };
	static const char notes[] = "CREATE TABLE notes (tenant_id text, body text);"
				    "INSERT INTO notes VALUES ('acme', 'n')";

	(void)state;
	assert_blocked("mvbk", notes, "CREATE TABLE notes (tenant_id text, body text)",
	    with_notes, 4, "public.notes", "no primary key");
}

/* ---- (4) */

typedef struct holder {
	const char *ci;
	volatile int written;
	char commit_state[6];
	long wait_ms;
} holder;

static void *
hold_loop(void *arg)
{
	holder *h = arg;
	PGconn *c = NULL;
	sk_err err;

	if (sk_pg_connect(h->ci, "holder", &c, &err) != SK_OK)
		return NULL;
	try_sql(c,
	    "BEGIN; UPDATE orders SET amount = amount + 1 WHERE id = "
	    "(SELECT min(id) FROM orders WHERE tenant_id = 'acme')",
	    h->commit_state);
	h->written = 1;
	sk_sleep_ms(h->wait_ms);
	try_sql(c, "COMMIT", h->commit_state);
	PQfinish(c);
	return NULL;
}

typedef struct hold_hook {
	holder h;
	pthread_t th;
	bool started;
} hold_hook;

static int
start_holder(void *arg, move_phase p, const char *table, PGconn *target, sk_err *err)
{
	hold_hook *hh = arg;

	(void)table;
	(void)target;
	(void)err;
	if (p != MOVE_PHASE_CATCHUP || hh->started)
		return SK_OK;
	hh->started = true;
	if (pthread_create(&hh->th, NULL, hold_loop, &hh->h) != 0)
		return sk_err_set(err, SK_EINVAL, "thread");
	while (!hh->h.written)
		sk_sleep_ms(5);
	return SK_OK;
}

static void
test_freeze_timeout_aborts_with_source_authoritative(void **state)
{
	hold_hook hh;
	world w;
	move_result res;
	char st[6];
	sk_err err;
	opts o;
	int64_t t0;

	(void)state;
	world_open(&w, "mvfrz", NULL, NULL);
	w.m.freeze_timeout_ms = 300;
	memset(&hh, 0, sizeof(hh));
	hh.h.ci = w.src_ci;
	hh.h.wait_ms = 1500;
	memset(&o, 0, sizeof(o));
	o.hook = start_holder;
	o.hook_arg = &hh;
	t0 = sk_mono_ms();
	assert_int_not_equal(run_move(&w, &o, &res, &err), SK_OK);
	assert_true(hh.started);
	pthread_join(hh.th, NULL);
	assert_int_equal(err.code, SK_ETIMEOUT);
	assert_contains(err.msg, "aborted");
	assert_true(res.aborted);
	assert_false(res.committed);
	assert_true(sk_mono_ms() - t0 < 10000);
	/* the holder's write went through once it committed */
	assert_string_equal(hh.h.commit_state, "");
	{
		PGconn *c = pgfixture_connect(port, w.src, NULL);

		try_sql(c, "UPDATE orders SET amount = amount + 1 WHERE tenant_id = 'acme'",
		    st);
		assert_string_equal(st, "");
		PQfinish(c);
	}
	assert_target_empty(&w);
	assert_int_equal(skein_triggers(w.src), 0);
	assert_int_equal(skein_triggers(w.dst), 0);
	assert_int_equal(
	    count(w.src, "SELECT count(*) FROM skein.moves WHERE state = 'aborted'"), 1);
	assert_int_equal(count(w.src, "SELECT count(*) FROM skein.move_changes"), 0);
	assert_int_equal(
	    count(w.src, "SELECT count(*) FROM directory WHERE region = 'dst'"), 0);
	move_result_fini(&res);
	world_close(&w);
}

/* ---- (5) */

static int
tamper(void *arg, move_phase p, const char *table, PGconn *target, sk_err *err)
{
	world *w = arg;
	PGconn *c;

	(void)target;
	(void)err;
	if (p != MOVE_PHASE_COPY || table != NULL)
		return SK_OK;
	/* During the move: the application cannot write the tenant in the
	 * target (SKM02) nor truncate a moved table in the source. */
	c = pgfixture_connect(port, w->dst, "app");
	try_sql(c, "UPDATE orders SET amount = 0 WHERE tenant_id = 'acme'",
	    w->guard_state);
	PQfinish(c);
	c = pgfixture_connect(port, w->src, "app");
	try_sql(c, "TRUNCATE order_lines", w->truncate_state);
	PQfinish(c);
	/* The guard does not fire for a replica session: behind skein's back. */
	c = pgfixture_connect(port, w->dst, "tamper");
	pgfixture_exec(c,
	    "SET session_replication_role = replica; "
	    "UPDATE orders SET amount = amount + 100 WHERE id = "
	    "(SELECT min(id) FROM orders WHERE tenant_id = 'acme')");
	PQfinish(c);
	return SK_OK;
}

static void
test_row_changed_in_target_fails_verification(void **state)
{
	world w;
	move_result res;
	char st[6];
	sk_err err;
	opts o;

	(void)state;
	world_open(&w, "mvtamp", NULL, NULL);
	memset(&o, 0, sizeof(o));
	o.hook = tamper;
	o.hook_arg = &w;
	assert_int_not_equal(run_move(&w, &o, &res, &err), SK_OK);
	assert_int_equal(err.code, SK_ECHECK);
	assert_contains(err.msg, "public.orders differs");
	assert_string_equal(w.guard_state, "SKM02");
	assert_string_equal(w.truncate_state, "SKM02");
	assert_true(res.aborted);
	assert_false(res.committed);
	assert_null(res.source_freeze_sums);
	{
		PGconn *c = pgfixture_connect(port, w.src, NULL);

		try_sql(c, "UPDATE orders SET amount = amount + 1 WHERE tenant_id = 'acme'",
		    st);
		assert_string_equal(st, "");
		PQfinish(c);
	}
	assert_int_equal(
	    count(w.src, "SELECT count(*) FROM skein.moves WHERE state = 'moved'"), 0);
	assert_int_equal(
	    count(w.src, "SELECT count(*) FROM directory WHERE region = 'dst'"), 0);
	assert_target_empty(&w);
	assert_int_equal(skein_triggers(w.src), 0);
	assert_int_equal(count(w.dst, "SELECT count(*) FROM outbox"), 0);
	move_result_fini(&res);
	world_close(&w);
}

/* ---- (6) */

typedef struct crash_at {
	move_phase phase;
	const char *table; /* COPY: after this table */
	world *w;
	char write_state[6]; /* the writes' SQLSTATE, "" when they went in */
} crash_at;

static int
crash(void *arg, move_phase p, const char *table, PGconn *target, sk_err *err)
{
	crash_at *c = arg;
	PGconn *k;

	(void)target;
	if (p != c->phase)
		return SK_OK;
	if (p == MOVE_PHASE_COPY && (table == NULL || strcmp(table, c->table) != 0))
		return SK_OK;
	/* what the agent's death would leave: more writes in the source
	 * (after the commit point they fail) */
	k = pgfixture_connect(port, c->w->src, "app");
	try_sql(k,
	    "UPDATE orders SET amount = amount + 3 WHERE tenant_id = 'acme' AND id % 7 = 0;"
	    "DELETE FROM order_lines WHERE tenant_id = 'acme' AND line = 3 AND order_id % 5 = 0;"
	    "INSERT INTO orders (tenant_id, amount) VALUES ('acme', 9.5)",
	    c->write_state);
	PQfinish(k);
	return sk_err_set(err, SK_ECONN, "simulated death in %s", move_phase_name(p));
}

/* Arm o to die at c's phase (after table, in the copy). */
static void
arm_crash(world *w, crash_at *c, opts *o, move_phase phase, const char *table)
{
	memset(o, 0, sizeof(*o));
	memset(c, 0, sizeof(*c));
	c->w = w;
	c->phase = phase;
	c->table = table;
	o->hook = crash;
	o->hook_arg = c;
}

static void
test_resume_after_death_in_copy_and_in_catch_up(void **state)
{
	world w;
	move_result res;
	crash_at c;
	sk_err err;
	opts o;

	(void)state;
	world_open(&w, "mvres", NULL, NULL);
	/* parallel 1: the copy is one transaction, nothing of it stays */
	w.m.parallel = 1;
	arm_crash(&w, &c, &o, MOVE_PHASE_COPY, "public.orders");
	assert_int_not_equal(run_move(&w, &o, &res, &err), SK_OK);
	assert_contains(err.msg, "simulated death");
	assert_string_equal(c.write_state, "");
	assert_false(res.aborted);
	assert_target_empty(&w);
	assert_int_equal(
	    count(w.dst, "SELECT count(*) FROM skein.moves WHERE state = 'copy'"), 1);
	move_result_fini(&res);

	c.phase = MOVE_PHASE_CATCHUP;
	assert_int_not_equal(run_move(&w, &o, &res, &err), SK_OK);
	assert_contains(err.msg, "simulated death");
	assert_false(res.aborted);
	assert_true(res.rows > 0);
	assert_int_equal(
	    count(w.dst, "SELECT count(*) FROM skein.moves WHERE state = 'catchup'"), 1);
	move_result_fini(&res);

	assert_int_equal(run_move(&w, NULL, &res, &err), SK_OK);
	assert_int_equal(res.rows, 0); /* resumed from the position, no copy */
	assert_true(res.changes > 0);
	assert_same_tenant(&w);
	move_result_fini(&res);
	world_close(&w);
}

static void
test_death_after_the_commit_point_is_finished_by_the_next_run(void **state)
{
	world w;
	move_result res;
	crash_at c;
	char st[6];
	sk_err err;
	opts o;

	(void)state;
	world_open(&w, "mvflip", NULL, NULL);
	arm_crash(&w, &c, &o, MOVE_PHASE_FLIP, NULL);
	assert_int_not_equal(run_move(&w, &o, &res, &err), SK_OK);
	assert_true(res.committed);
	assert_false(res.aborted);
	/* the crash hook's writes were refused: the tenant is fenced */
	assert_string_equal(c.write_state, "SKM01");
	assert_int_equal(
	    count(w.src, "SELECT count(*) FROM skein.moves WHERE state = 'moved'"), 1);
	assert_int_equal(
	    count(w.dst, "SELECT count(*) FROM skein.moves WHERE state = 'done'"), 0);
	move_result_fini(&res);

	assert_int_equal(run_move(&w, NULL, &res, &err), SK_OK);
	assert_true(res.committed);
	assert_int_equal(res.rows, 0);
	assert_same_tenant(&w);
	assert_int_equal(
	    count(w.dst, "SELECT count(*) FROM skein.moves WHERE state = 'done'"), 1);
	assert_int_equal(count(w.dst, "SELECT count(*) FROM outbox"), 1);
	assert_int_equal(skein_triggers(w.dst), 0);
	{
		PGconn *k = pgfixture_connect(port, w.src, NULL);

		try_sql(k, "UPDATE orders SET amount = 1 WHERE tenant_id = 'acme'", st);
		assert_string_equal(st, "SKM01");
		PQfinish(k);
	}
	move_result_fini(&res);
	world_close(&w);
}

typedef struct page_crash {
	world *w;
	int pages;
} page_crash;

/* After the copy: changes for the catch-up; after its first page: die. */
static int
crash_in_round(void *arg, move_phase p, const char *table, PGconn *target, sk_err *err)
{
	page_crash *c = arg;

	(void)target;
	if (p == MOVE_PHASE_COPY && table == NULL) {
		pgfixture_exec_db(port, c->w->src,
		    "UPDATE orders SET amount = amount + 1 WHERE tenant_id = 'acme' "
		    "AND id < 60;"
		    "DELETE FROM order_lines WHERE tenant_id = 'acme' AND order_id < 30;"
		    "UPDATE order_lines SET qty = qty + 1 WHERE tenant_id = 'acme';");
		return SK_OK;
	}
	if (p == MOVE_PHASE_CATCHUP && table != NULL && ++c->pages == 2)
		return sk_err_set(err, SK_ECONN, "simulated death in a round");
	return SK_OK;
}

static void
test_resume_in_the_middle_of_a_round(void **state)
{
	page_crash c = { 0 };
	world w;
	move_result res;
	sk_err err;
	opts o;

	(void)state;
	world_open(&w, "mvpage", NULL, NULL);
	c.w = &w;
	memset(&o, 0, sizeof(o));
	o.page_limit = 7;
	o.hook = crash_in_round;
	o.hook_arg = &c;
	assert_int_not_equal(run_move(&w, &o, &res, &err), SK_OK);
	assert_contains(err.msg, "simulated death in a round");
	assert_int_equal(res.changes, 14);
	assert_int_equal(count(w.dst,
			     "SELECT count(*) FROM skein.moves WHERE "
			     "state = 'catchup' AND round_upto IS NOT NULL "
			     "AND last_seq > 0"),
	    1);
	move_result_fini(&res);

	o.hook = NULL;
	assert_int_equal(run_move(&w, &o, &res, &err), SK_OK);
	assert_int_equal(res.rows, 0);
	assert_true(res.changes > 100);
	assert_same_tenant(&w);
	move_result_fini(&res);
	world_close(&w);
}

static void
stop_in_copy(void *arg, const move_progress *p)
{
	atomic_int *stop = arg;

	if (p->phase == MOVE_PHASE_COPY && p->table != NULL &&
	    strcmp(p->table, "public.orders") == 0)
		*stop = 1;
}

static void
test_stop_mid_copy_aborts_and_a_new_run_moves(void **state)
{
	atomic_int stop = 0;
	world w;
	move_result res;
	sk_err err;
	opts o;

	(void)state;
	world_open(&w, "mvstop", NULL, NULL);
	memset(&o, 0, sizeof(o));
	o.progress = stop_in_copy;
	o.progress_arg = (void *)&stop;
	o.stop = &stop;
	assert_int_not_equal(run_move(&w, &o, &res, &err), SK_OK);
	assert_contains(err.msg, "stopped");
	assert_true(res.aborted);
	assert_target_empty(&w);
	assert_int_equal(skein_triggers(w.src), 0);
	move_result_fini(&res);

	pgfixture_exec_db(port, w.src,
	    "INSERT INTO orders (tenant_id, amount) VALUES ('acme', 1)");
	assert_int_equal(run_move(&w, NULL, &res, &err), SK_OK);
	assert_same_tenant(&w);
	move_result_fini(&res);
	world_close(&w);
}

/* max_copy_rate: the copy takes at least its bytes over the rate (a
 * bound that a slow machine cannot break), and the rehearsal's estimate
 * says so; the copy is exact all the same. */
static void
test_copy_rate_limits_the_copy(void **state)
{
	world w;
	move_result res;
	sk_err err;
	opts o;
	int64_t floor_ms;

	(void)state;
	world_open(&w, "mvrate", NULL, NULL);
	w.m.max_copy_bytes_per_s = 40000;
	memset(&o, 0, sizeof(o));
	o.rehearse = true;
	assert_int_equal(run_move(&w, &o, &res, &err), SK_OK);
	assert_true(res.est_copy_ms >= 1000); /* tens of kB at 40 kB/s */
	move_result_fini(&res);
	assert_int_equal(run_move(&w, NULL, &res, &err), SK_OK);
	floor_ms = res.bytes * 1000 / w.m.max_copy_bytes_per_s;
	if (res.copy_ms < floor_ms - 100)
		fail_msg("copied %lld bytes in %lld ms at most %lld bytes/s",
		    (long long)res.bytes, (long long)res.copy_ms,
		    (long long)w.m.max_copy_bytes_per_s);
	assert_true(res.bytes > 40000);
	assert_same_tenant(&w);
	move_result_fini(&res);
	world_close(&w);
}

/* ---- the parallel copy */

/* A fourth moved table that references none of the others. */
static const char notes_schema[] =
    "CREATE TABLE notes (id int PRIMARY KEY, tenant_id text NOT NULL,"
    "  body text NOT NULL);\n";
static const char notes_data[] =
    "CREATE TABLE notes (id int PRIMARY KEY, tenant_id text NOT NULL,"
    "  body text NOT NULL);\n"
    "INSERT INTO notes SELECT g, CASE WHEN g % 3 = 0 THEN 'globex' ELSE"
    "  'acme' END, repeat(md5(g::text), 4) FROM generate_series(1, 600) g;\n";
static char *tables4[] = { "tenants", "orders", "order_lines", "notes" };
static const char notes_sql[] =
    "SELECT count(*) || ':' || coalesce(md5(string_agg(n::text, '|' ORDER BY"
    "  id)), '') FROM notes n WHERE tenant_id = 'acme'";

/* Samples the target's COPY ... FROM STDIN sessions that run at once. */
typedef struct sampler {
	const char *db;
	atomic_bool done;
	long most;
	pthread_t th;
} sampler;

static void *
sample_loop(void *arg)
{
	sampler *sm = arg;
	PGconn *c = pgfixture_connect(port, sm->db, "sampler");
	char q[256];

	snprintf(q, sizeof(q),
	    "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND "
	    "state = 'active' AND query LIKE 'COPY %% FROM STDIN%%'",
	    sm->db);
	while (!atomic_load(&sm->done)) {
		char v[32];
		long n;

		pgfixture_scalar(c, q, v, sizeof(v));
		n = strtol(v, NULL, 10);
		if (n > sm->most)
			sm->most = n;
		sk_sleep_ms(10);
	}
	PQfinish(c);
	return NULL;
}

/* parallel: 2 over four tables, two of them independent of each other:
 * two tables' COPYs run in the target at once (parallel: 1 never more
 * than one), and the copy is exact (an independent fingerprint of every
 * moved table on both sides). The rate keeps each COPY long enough to
 * be seen. */
static void
test_parallel_copy_runs_two_tables_at_once_and_is_exact(void **state)
{
	/* parallel 1, 2, and 2 from a source that does not export its
	 * snapshot (one at a time, then) */
	static const struct {
		int parallel, most;
		bool no_export;
		const char *tag;
	} runs[] = { { 1, 1, false, "mvpar1" }, { 2, 2, false, "mvpar2" },
		{ 2, 1, true, "mvparold" } };

	for (size_t k = 0; k < sizeof(runs) / sizeof(runs[0]); k++) {
		char a[256], b[256];
		sampler sm;
		world w;
		move_result res;
		sk_err err;
		opts o;

		(void)state;
		world_open(&w, runs[k].tag, notes_data, notes_schema);
		w.m.tables = tables4;
		w.m.ntables = 4;
		w.m.parallel = runs[k].parallel;
		w.m.max_copy_bytes_per_s = 60000;
		memset(&o, 0, sizeof(o));
		o.no_export = runs[k].no_export;
		memset(&sm, 0, sizeof(sm));
		sm.db = w.dst;
		assert_int_equal(pthread_create(&sm.th, NULL, sample_loop, &sm), 0);
		if (run_move(&w, &o, &res, &err) != SK_OK)
			fail_msg("%s: %s", runs[k].tag, err.msg);
		atomic_store(&sm.done, true);
		pthread_join(sm.th, NULL);
		if (sm.most != runs[k].most)
			fail_msg("%s: at most %ld COPYs at once in the target",
			    runs[k].tag, sm.most);
		assert_same_tenant(&w);
		pgfixture_scalar_db(port, w.src, notes_sql, a, sizeof(a));
		pgfixture_scalar_db(port, w.dst, notes_sql, b, sizeof(b));
		assert_string_equal(a, b);
		assert_true(strncmp(a, "400:", 4) == 0);
		assert_int_equal(res.rows, 1 + 200 + 600 + 400);
		move_result_fini(&res);
		world_close(&w);
	}
}

/* A death in a parallel copy leaves the tables that committed: the next
 * run deletes them before it copies again, so that no row is twice. */
static void
test_parallel_copy_death_leaves_tables_the_next_run_replaces(void **state)
{
	world w;
	move_result res;
	crash_at c;
	sk_err err;
	opts o;

	(void)state;
	world_open(&w, "mvpdie", NULL, NULL);
	w.m.parallel = 2;
	/* The last table: it starts only when a worker is free, that is
	 * once the worker's table committed. */
	arm_crash(&w, &c, &o, MOVE_PHASE_COPY, "public.order_lines");
	assert_int_not_equal(run_move(&w, &o, &res, &err), SK_OK);
	assert_contains(err.msg, "simulated death");
	assert_false(res.aborted);
	move_result_fini(&res);
	/* Committed partial rows, no lines (their transaction died). */
	assert_true(count(w.dst,
			"SELECT (SELECT count(*) FROM tenants WHERE tenant_id = "
			"'acme') + (SELECT count(*) FROM orders)") > 0);
	assert_int_equal(count(w.dst, "SELECT count(*) FROM order_lines"), 0);
	assert_int_equal(
	    count(w.dst, "SELECT count(*) FROM skein.moves WHERE state = 'copy'"), 1);

	assert_int_equal(run_move(&w, NULL, &res, &err), SK_OK);
	/* all of it again, the hook's writes included */
	assert_int_equal(res.rows,
	    count(w.src,
		"SELECT (SELECT count(*) FROM tenants WHERE tenant_id = "
		"'acme') + (SELECT count(*) FROM orders WHERE tenant_id = "
		"'acme') + (SELECT count(*) FROM order_lines WHERE "
		"tenant_id = 'acme')"));
	assert_same_tenant(&w);
	assert_int_equal(count(w.dst, "SELECT count(*) FROM orders"),
	    count(w.src, "SELECT count(*) FROM orders WHERE tenant_id = 'acme'"));
	move_result_fini(&res);
	world_close(&w);
}

/* The order a copy without replica sessions keeps: the foreign keys
 * among the moved tables, as the target's catalog has them (notes
 * references none; a self-reference and a key to a table not moved
 * are no dependency). */
static void
test_copy_order_follows_the_targets_foreign_keys(void **state)
{
	Skein__V1__MoveDescription d = SKEIN__V1__MOVE_DESCRIPTION__INIT;
	Skein__V1__MoveTable t[4];
	Skein__V1__MoveTable *tv[4] = { &t[0], &t[1], &t[2], &t[3] };
	static char *names[4] = { "public.tenants", "public.orders",
		"public.order_lines", "public.notes" };
	bool deps[16];
	move_target *mt = NULL;
	world w;
	sk_err err;

	(void)state;
	world_open(&w, "mvdeps", NULL,
	    "CREATE TABLE notes (id int PRIMARY KEY, tenant_id text NOT NULL,"
	    "  parent int REFERENCES notes, dir text REFERENCES directory);\n");
	for (int i = 0; i < 4; i++) {
		skein__v1__move_table__init(&t[i]);
		t[i].name = names[i];
	}
	d.tables = tv;
	d.n_tables = 4;
	assert_int_equal(move_target_open_copy(w.target, &w.spec, &d, &mt, &err), SK_OK);
	if (move_target_copy_deps(mt, deps, &err) != SK_OK)
		fail_msg("%s", err.msg);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			if (deps[i * 4 + j] !=
			    ((i == 1 && j == 0) || (i == 2 && j == 1)))
				fail_msg("table %s %s %s", names[i],
				    deps[i * 4 + j] ? "depends on" : "does not depend on",
				    names[j]);
	/* In that order a child waits for its parent's commit. */
	{
		bool started[4] = { true, false, false, false };
		bool committed[4] = { false };

		assert_int_equal(move_copy_next(4, deps, true, started, committed), 3);
		started[3] = true;
		assert_int_equal(move_copy_next(4, deps, true, started, committed),
		    MOVE_COPY_WAIT);
	}
	free(mt);
	world_close(&w);
}

/* Stops the move once a table of the copy committed, and counts what
 * the target then holds of the tenant. */
typedef struct stop_in_copy {
	world *w;
	atomic_int stop;
	long seen;
} stop_committed;

static void
stop_when_committed(void *arg, const move_progress *p)
{
	stop_committed *sc = arg;

	if (p->phase != MOVE_PHASE_COPY || p->rows == 0 || atomic_load(&sc->stop))
		return;
	sc->seen = count(sc->w->dst,
	    "SELECT (SELECT count(*) FROM tenants WHERE tenant_id = 'acme') + "
	    "(SELECT count(*) FROM orders) + (SELECT count(*) FROM order_lines)");
	atomic_store(&sc->stop, 1);
}

/* An abort in the middle of a parallel copy (the operator's stop, with
 * tables committed and others in flight) deletes every row of the
 * tenant in the target and leaves the source as it was. */
static void
test_abort_in_a_parallel_copy_leaves_no_tenant_row(void **state)
{
	char before[256], after[256];
	stop_committed sc;
	world w;
	move_result res;
	sk_err err;
	opts o;

	(void)state;
	world_open(&w, "mvpab", NULL, NULL);
	w.m.parallel = 2;
	w.m.max_copy_bytes_per_s = 20000; /* seconds: the stop lands inside */
	fingerprint(w.src, before, sizeof(before));
	memset(&sc, 0, sizeof(sc));
	sc.w = &w;
	memset(&o, 0, sizeof(o));
	o.progress = stop_when_committed;
	o.progress_arg = &sc;
	o.stop = &sc.stop;
	assert_int_not_equal(run_move(&w, &o, &res, &err), SK_OK);
	assert_true(res.aborted);
	assert_contains(err.msg, "stopped");
	assert_true(sc.seen > 0); /* rows had committed before the abort */
	assert_target_empty(&w);
	assert_int_equal(count(w.dst,
			     "SELECT count(*) FROM skein.moves WHERE "
			     "state = 'aborted'"),
	    1);
	fingerprint(w.src, after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(skein_triggers(w.src), 0);
	assert_int_equal(skein_triggers(w.dst), 0);
	move_result_fini(&res);
	world_close(&w);
}

/* ---- moving back (a rollback) */

/* The move back of w's move: dst serves, src (on target) drives. */
static int
run_back(world *w, PGconn *target, const opts *o, move_result *res, sk_err *err)
{
	static sk_move_tenant back;
	static move_spec spec;
	const move_source_ops *ops = NULL;
	void *arg = NULL;
	move_run r;
	int rc;

	sk_move_tenant_back(&w->m, &back);
	spec = (move_spec){ .m = &back,
		.move_id = "plan-1/move_acme/back",
		.source_region = "dst",
		.target_region = "src",
		.undo_id = "plan-1/move_acme" };
	rc = move_local_open(w->dst_ci, &spec, "dst", NULL, &ops, &arg, err);
	if (rc != SK_OK) {
		memset(res, 0, sizeof(*res));
		return rc;
	}
	memset(&r, 0, sizeof(r));
	r.spec = &spec;
	r.target = target;
	r.target_conninfo = w->src_ci;
	r.src = ops;
	r.src_arg = arg;
	if (o != NULL) {
		r.progress = o->progress;
		r.progress_arg = o->progress_arg;
		r.stop = o->stop;
	}
	rc = move_engine_run(&r, res, err);
	ops->close(arg);
	return rc;
}

static void
test_move_back_returns_the_tenant_with_its_changes(void **state)
{
	atomic_int stop = 0;
	char st[6], moved[256], back[256];
	PGconn *src, *app;
	world w;
	move_result res;
	sk_err err;
	opts o;

	(void)state;
	world_open(&w, "mvback", NULL, NULL);
	w.m.route_back_source =
	    "UPDATE directory SET region = 'src' WHERE tenant_id = 'acme'";
	w.m.route_back_target =
	    "UPDATE directory SET region = 'src' WHERE tenant_id = 'acme'";
	assert_int_equal(run_move(&w, NULL, &res, &err), SK_OK);
	move_result_fini(&res);
	/* The tenant lives in dst now and changes there. */
	pgfixture_exec_db(port, w.dst,
	    "UPDATE orders SET amount = amount + 7 WHERE tenant_id = 'acme';"
	    "INSERT INTO orders (tenant_id, amount) VALUES ('acme', 42);"
	    "DELETE FROM order_lines WHERE tenant_id = 'acme' AND line = 3");
	fingerprint(w.dst, moved, sizeof(moved));
	src = pgfixture_connect(port, w.src, "move-back-target");

	/* A move back stopped in its copy aborts: src holds none of the
	 * tenant's rows and refuses its writes (the move back's guard stays
	 * where the undone move's was); dst stays authoritative. */
	memset(&o, 0, sizeof(o));
	o.progress = stop_in_copy;
	o.progress_arg = (void *)&stop;
	o.stop = &stop;
	assert_int_not_equal(run_back(&w, src, &o, &res, &err), SK_OK);
	assert_true(res.aborted);
	move_result_fini(&res);
	assert_int_equal(
	    count(w.src, "SELECT count(*) FROM orders WHERE tenant_id = 'acme'"), 0);
	app = pgfixture_connect(port, w.src, "app");
	try_sql(app, "INSERT INTO orders (tenant_id, amount) VALUES ('acme', 1)", st);
	assert_string_equal(st, MOVE_SQLSTATE_MOVING);
	try_sql(app, "INSERT INTO orders (tenant_id, amount) VALUES ('globex', 1)", st);
	assert_string_equal(st, "");
	fingerprint(w.dst, back, sizeof(back));
	assert_string_equal(back, moved);

	/* Again, to the end. */
	assert_int_equal(run_back(&w, src, NULL, &res, &err), SK_OK);
	assert_true(res.committed);
	move_result_fini(&res);
	fingerprint(w.src, back, sizeof(back));
	assert_string_equal(back, moved);
	/* src takes the tenant's writes again; dst refuses them (fenced by
	 * the move back) and keeps its rows, as a source does. */
	try_sql(app,
	    "UPDATE orders SET amount = amount + 1 WHERE tenant_id = 'acme'", st);
	assert_string_equal(st, "");
	PQfinish(app);
	app = pgfixture_connect(port, w.dst, "app");
	try_sql(app,
	    "UPDATE orders SET amount = amount + 1 WHERE tenant_id = 'acme'", st);
	assert_string_equal(st, MOVE_SQLSTATE_MOVED);
	PQfinish(app);
	assert_int_equal(skein_triggers(w.src), 0);
	assert_int_equal(count(w.src,
			     "SELECT count(*) FROM directory WHERE tenant_id = "
			     "'acme' AND region = 'src'"),
	    1);
	assert_int_equal(count(w.dst,
			     "SELECT count(*) FROM directory WHERE tenant_id = "
			     "'acme' AND region = 'src'"),
	    1);
	assert_int_equal(count(w.src,
			     "SELECT count(*) FROM outbox WHERE payload->>'from' "
			     "= 'dst' AND payload->>'to' = 'src'"),
	    1);
	/* Both sides say the first move is undone. */
	assert_int_equal(count(w.src,
			     "SELECT count(*) FROM skein.moves WHERE move_id = "
			     "'plan-1/move_acme' AND state = 'undone'"),
	    1);
	assert_int_equal(count(w.dst,
			     "SELECT count(*) FROM skein.moves WHERE move_id = "
			     "'plan-1/move_acme' AND state = 'undone'"),
	    1);
	/* A second run finds the move back done and changes nothing. */
	assert_int_equal(run_back(&w, src, NULL, &res, &err), SK_OK);
	move_result_fini(&res);
	fingerprint(w.src, back, sizeof(back));
	assert_string_not_equal(back, moved); /* the +1 above, kept */
	PQfinish(src);
	world_close(&w);
}

/* ---- quoting */

static void
test_tenant_value_with_quote_and_backslash(void **state)
{
	static const char odd[] =
	    "INSERT INTO tenants VALUES (E'o''k\\\\x', 'Odd', now());"
	    "INSERT INTO orders (tenant_id, amount) SELECT E'o''k\\\\x', g "
	    "FROM generate_series(1, 5) g;";
	world w;
	move_result res;
	char st[6];
	sk_err err;

	(void)state;
	world_open(&w, "mvquote", odd, NULL);
	w.m.value = "o'k\\x";
	w.m.route_source = NULL;
	w.m.route_target = NULL;
	w.m.nstay = 0;
	pgfixture_exec_db(port, w.src,
	    "INSERT INTO orders (tenant_id, amount) VALUES (E'o''k\\\\x', 99)");
	if (run_move(&w, NULL, &res, &err) != SK_OK)
		print_error("move: %s\n", err.msg);
	assert_true(res.committed);
	assert_int_equal(res.rows, 1 + 6);
	assert_int_equal(count(w.dst,
			     "SELECT count(*) FROM orders WHERE tenant_id = "
			     "E'o''k\\\\x'"),
	    6);
	assert_int_equal(count(w.dst, "SELECT count(*) FROM orders"), 6);
	{
		PGconn *c = pgfixture_connect(port, w.src, NULL);

		try_sql(c, "UPDATE orders SET amount = 1 WHERE tenant_id = E'o''k\\\\x'",
		    st);
		assert_string_equal(st, "SKM01");
		try_sql(c, "UPDATE orders SET amount = 1 WHERE tenant_id = 'acme'", st);
		assert_string_equal(st, "");
		PQfinish(c);
	}
	move_result_fini(&res);
	world_close(&w);
}

/* ---- discover */

static void
test_discover_moves_the_tables_with_the_tenant_column(void **state)
{
	world w;
	move_result res;
	sk_err err;

	(void)state;
	world_open(&w, "mvdisc", NULL, NULL);
	w.m.tables = NULL;
	w.m.ntables = 0;
	w.m.discover = true;
	w.m.route_source = NULL;
	w.m.route_target = NULL;
	if (run_move(&w, NULL, &res, &err) != SK_OK)
		print_error("move: %s\n", err.msg);
	assert_true(res.committed);
	assert_same_tenant(&w);
	/* directory has the column too; police stays (an index row) */
	assert_int_equal(
	    count(w.dst, "SELECT count(*) FROM directory WHERE tenant_id = 'acme'"), 1);
	assert_int_equal(count(w.dst, "SELECT count(*) FROM police"), 0);
	assert_int_equal(count(w.dst, "SELECT count(*) FROM moved_artifacts"), 2);
	move_result_fini(&res);
	world_close(&w);
}

/* ---- rehearsal */

static void
test_rehearsal_estimates_and_installs_nothing(void **state)
{
	world w;
	move_result res;
	sk_err err;
	opts o;

	(void)state;
	world_open(&w, "mvreh", NULL, NULL);
	memset(&o, 0, sizeof(o));
	o.rehearse = true;
	assert_int_equal(run_move(&w, &o, &res, &err), SK_OK);
	assert_false(res.committed);
	assert_true(res.est_copy_ms > 0);
	assert_true(res.est_freeze_ms > 0);
	assert_true(res.est_rollback_ms > 0);
	assert_int_equal(skein_triggers(w.src), 0);
	assert_target_empty(&w);
	assert_int_equal(
	    count(w.dst, "SELECT count(*) FROM pg_namespace WHERE nspname = 'skein'"), 0);
	move_result_fini(&res);
	world_close(&w);
}

/* The move's queries take no parallel workers on either side, but in the
 * freeze: on a database whose planner would give a scan workers at any
 * size, the source's sessions (move_src_connect) and the checksums'
 * settings (MOVE_SUM_SETTINGS) plan the same scan without a Gather, and
 * the freeze's settings (move_freeze_timeout_sql) with one again. */
static bool
plans_gather(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	bool gather = false;

	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	for (int i = 0; i < PQntuples(res); i++)
		gather = gather || strstr(PQgetvalue(res, i, 0), "Gather") != NULL;
	PQclear(res);
	return gather;
}

static void
test_move_sessions_take_no_parallel_workers(void **state)
{
	static const char scan[] =
	    "EXPLAIN SELECT count(*) FROM orders WHERE tenant_id = 'acme'";
	char sql[512], cut[MOVE_FREEZE_SQL_MAX];
	PGconn *plain, *src = NULL;
	PGresult *res;
	sk_err err;
	world w;

	(void)state;
	world_open(&w, "mvpar", NULL, NULL);
	snprintf(sql, sizeof(sql),
	    "ALTER DATABASE %s SET parallel_setup_cost = 0; ALTER DATABASE %s "
	    "SET parallel_tuple_cost = 0; ALTER DATABASE %s SET "
	    "min_parallel_table_scan_size = 0",
	    w.src, w.src, w.src);
	pgfixture_exec_db(port, w.src, sql);
	plain = pgfixture_connect(port, w.src, "plain");
	/* The check can fail: without the settings, the scan has workers. */
	assert_true(plans_gather(plain, scan));
	assert_int_equal(
	    move_src_connect(w.src_ci, "skein-move-source", &src, &err), SK_OK);
	assert_false(plans_gather(src, scan));
	res = PQexec(plain, "BEGIN; " MOVE_SUM_SETTINGS);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	assert_false(plans_gather(plain, scan));
	assert_int_equal(
	    move_freeze_timeout_sql(sk_mono_ms() + 60000, cut, sizeof(cut), &err), SK_OK);
	res = PQexec(plain, cut);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	assert_true(plans_gather(plain, scan));
	/* The source's session too: its SET gives way in a freeze. */
	res = PQexec(src, "BEGIN");
	PQclear(res);
	res = PQexec(src, cut);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	assert_true(plans_gather(src, scan));
	PQfinish(src);
	PQfinish(plain);
	world_close(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_move_copies_exactly_and_fences_the_source),
		cmocka_unit_test(test_sums_signed_by_another_key_abort_the_move),
		cmocka_unit_test(test_concurrent_writes_move_exactly),
		cmocka_unit_test(test_type_difference_blocks_naming_table_and_column),
		cmocka_unit_test(test_tenant_rows_in_target_block),
		cmocka_unit_test(test_table_without_primary_key_blocks),
		cmocka_unit_test(test_freeze_timeout_aborts_with_source_authoritative),
		cmocka_unit_test(test_row_changed_in_target_fails_verification),
		cmocka_unit_test(test_resume_after_death_in_copy_and_in_catch_up),
		cmocka_unit_test(test_resume_in_the_middle_of_a_round),
		cmocka_unit_test(
		    test_death_after_the_commit_point_is_finished_by_the_next_run),
		cmocka_unit_test(test_stop_mid_copy_aborts_and_a_new_run_moves),
		cmocka_unit_test(test_tenant_value_with_quote_and_backslash),
		cmocka_unit_test(test_discover_moves_the_tables_with_the_tenant_column),
		cmocka_unit_test(test_rehearsal_estimates_and_installs_nothing),
		cmocka_unit_test(test_move_sessions_take_no_parallel_workers),
		cmocka_unit_test(test_move_back_returns_the_tenant_with_its_changes),
		cmocka_unit_test(test_copy_rate_limits_the_copy),
		cmocka_unit_test(test_parallel_copy_runs_two_tables_at_once_and_is_exact),
		cmocka_unit_test(
		    test_parallel_copy_death_leaves_tables_the_next_run_replaces),
		cmocka_unit_test(test_abort_in_a_parallel_copy_leaves_no_tenant_row),
		cmocka_unit_test(test_copy_order_follows_the_targets_foreign_keys),
	};
	sk_err err;
	int rc;

	if (pgfixture_port(port, sizeof(port)) != 0)
		return 1;
	if (sk_crypto_init(&err) != SK_OK)
		return 1;
	snprintf(keydir, sizeof(keydir), "/tmp/skein-move-keys-XXXXXX");
	if (mkdtemp(keydir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", keydir);
		if (system(cmd) != 0)
			rc = rc ? rc : 1;
	}
	return rc;
}

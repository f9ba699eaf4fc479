/* Integration tests of the expand and contract kinds through the
 * executor, on real PostgreSQL from the `pg` fixture: a rename's column,
 * trigger and backfill, writes by the old and the new application kept
 * in step both ways, a type change, a forward that reverse does not
 * invert, the rollback that drops what the expand added, the contract
 * and what it refuses, resumption after a failed post-check, rehearsals,
 * and bad input refused with nothing changed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgfixture.h"
#include "reports.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_exec.h"
#include "sk_util.h"

#define REGION "r1"

static char fixture_port[16];

typedef struct world {
	char name[64];
	char ci[256];
	sk_db_config db;
	collector c;
} world;

static void
world_open(world *w, const char *tag, const char *setup)
{
	memset(w, 0, sizeof(*w));
	pgfixture_create_db(fixture_port, tag, w->name, sizeof(w->name));
	pgfixture_conninfo(w->ci, sizeof(w->ci), fixture_port, w->name);
	w->db.name = w->name;
	w->db.conninfo = w->ci;
	collector_init(&w->c, NULL);
	if (setup != NULL)
		pgfixture_exec_db(fixture_port, w->name, setup);
}

static void
world_close(world *w)
{
	collector_fini(&w->c);
}

static int
run(world *w, const sk_plan *plan, int mode, sk_err *err)
{
	agent_exec_opts o;

	collector_fini(&w->c);
	collector_init(&w->c, NULL);
	memset(&o, 0, sizeof(o));
	o.region = REGION;
	o.rollout_id = mode == SK_MODE_ROLLBACK ? "ro-back" : "ro-expand";
	o.databases = &w->db;
	o.ndatabases = 1;
	o.parallel = 1;
	o.report = collect;
	o.report_arg = &w->c;
	o.retry_min_ms = 20;
	o.retry_max_ms = 200;
	o.mode = mode;
	o.no_backup = true;
	sk_err_clear(err);
	return agent_exec_run(plan, &o, err);
}

static long
num(const world *w, const char *sql)
{
	return pgfixture_long_db(fixture_port, w->name, sql);
}

static const char *
text(const world *w, const char *sql, char *buf, size_t len)
{
	return pgfixture_scalar_db(fixture_port, w->name, sql, buf, len);
}

static void
sql(const world *w, const char *s)
{
	pgfixture_exec_db(fixture_port, w->name, s);
}

/* A plan of n steps (filled by the callers) in one phase with REGION. */
static sk_plan *
plan_new(const char *name, size_t n)
{
	sk_plan *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->name = sk_strdup(name);
	p->id = sk_strdup(name);
	p->phases = calloc(1, sizeof(*p->phases));
	assert_non_null(p->phases);
	p->nphases = 1;
	p->phases[0].name = sk_strdup("main");
	p->phases[0].regions = calloc(1, sizeof(char *));
	assert_non_null(p->phases[0].regions);
	p->phases[0].regions[0] = sk_strdup(REGION);
	p->phases[0].nregions = 1;
	p->steps = calloc(n, sizeof(*p->steps));
	assert_non_null(p->steps);
	p->nsteps = n;
	return p;
}

static void
step_expand(sk_step *s, const char *id, const char *table, const char *column,
    const char *type, const char *from, const char *fwd, const char *bwd)
{
	sk_expand *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	s->id = sk_strdup(id);
	s->kind = SK_STEP_EXPAND;
	e->table = sk_strdup(table);
	e->column = sk_strdup(column);
	e->type = sk_strdup(type);
	e->from = sk_strdup(from);
	e->forward = sk_strdup(fwd);
	e->backward = sk_strdup(bwd);
	sk_backfill_tuning_default(&e->tuning);
	e->tuning.batch_min = 300;
	e->tuning.batch_max = 1000;
	s->expand = e;
}

static void
step_contract(sk_step *s, const char *id, const char *table, const char *column,
    const char *from, const char *revert)
{
	sk_expand *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	s->id = sk_strdup(id);
	s->kind = SK_STEP_CONTRACT;
	s->revert = sk_strdup(revert);
	e->table = sk_strdup(table);
	e->column = sk_strdup(column);
	e->from = sk_strdup(from);
	s->expand = e;
}

static void
check_set(sk_check *c, const char *name, const char *query, const char *value)
{
	memset(c, 0, sizeof(*c));
	c->name = sk_strdup(name);
	c->sql = sk_strdup(query);
	c->expect = SK_EXPECT_COMPARE;
	c->op = sk_strdup("=");
	c->value = sk_strdup(value);
}

/* Limits and checksums, once the steps are filled. */
static sk_plan *
plan_seal(sk_plan *p)
{
	for (size_t i = 0; i < p->nsteps; i++) {
		p->steps[i].lock_timeout_ms = 2000;
		p->steps[i].statement_timeout_ms = 60000;
		p->steps[i].retry_backoff_ms = 20;
		assert_int_equal(
		    sk_step_checksum(&p->steps[i], p->steps[i].checksum, NULL), SK_OK);
	}
	return p;
}

/* The rename of items.name to display_name. */
static sk_plan *
plan_rename(void)
{
	sk_plan *p = plan_new("ren", 1);

	step_expand(&p->steps[0], "0001_display_name", "items", "display_name",
	    "text", "name", NULL, NULL);
	return plan_seal(p);
}

static sk_plan *
plan_contract(const char *name, const char *column, const char *from, const char *revert)
{
	sk_plan *p = plan_new(name, 1);

	step_contract(&p->steps[0], "0001_drop_old", "items", column, from, revert);
	return plan_seal(p);
}

#define ITEMS                                                                \
"CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, "               \
    "qty int NOT NULL DEFAULT 1); "                                          \
    "INSERT INTO items (id, name, qty) SELECT g, 'Item ' || g, g % 50 FROM " \
    "generate_series(1, 5000) g"

/* What must not change when a step is refused: columns, triggers,
 * functions, rows. */
#define SHAPE                                                                       \
"SELECT (SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), "    \
    "',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'items'::regclass "    \
    "AND attnum > 0 AND NOT attisdropped) || ' ' || (SELECT count(*) FROM "         \
    "pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal) || ' ' || " \
    "(SELECT count(*) FROM pg_proc WHERE proname LIKE 'skein_sync_%') || ' ' || "   \
    "(SELECT md5(string_agg(i::text, ',' ORDER BY id)) FROM items i)"

static void
test_rename_keeps_both_columns_in_step_and_rolls_back(void **state)
{
	sk_plan *plan = plan_rename();
	char buf[512], fn[64];
	sk_report r;
	sk_err err;
	world w;

	(void)state;
	world_open(&w, "xren", ITEMS);
	if (run(&w, plan, SK_MODE_APPLY, &err) != SK_OK)
		fail_msg("apply: %s", err.msg);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM items WHERE display_name "
			     "IS DISTINCT FROM name"),
	    0);
	assert_string_equal(text(&w,
				"SELECT kind || ',' || rows FROM skein.steps "
				"WHERE plan_name = 'ren'",
				buf, sizeof(buf)),
	    "expand,5000");
	assert_string_equal(text(&w,
				"SELECT format('%s|%s|%s|%s', table_name, column_name, "
				"from_column, completed_at IS NOT NULL AND contracted_at "
				"IS NULL) FROM skein.expansions",
				buf, sizeof(buf)),
	    "public.items|display_name|name|t");
	text(&w, "SELECT trigger_name FROM skein.expansions", fn, sizeof(fn));
	assert_int_equal(strncmp(fn, "skein_sync_", 11), 0);
	assert_int_equal(strlen(fn), 19);
	assert_int_equal(
	    find_report(&w.c, SK_EV_STEP_FINISHED, w.name, "0001_display_name", &r), 1);
	assert_contains(r.detail, "trigger skein_sync_");

	/* The old application writes name only; the new one display_name
	 * only; both see both. */
	sql(&w,
	    "INSERT INTO items (id, name) VALUES (9001, 'old app'); "
	    "UPDATE items SET name = 'renamed by old' WHERE id = 1; "
	    "INSERT INTO items (id, display_name) VALUES (9002, 'new app'); "
	    "UPDATE items SET display_name = 'renamed by new' WHERE id = 2; "
	    "UPDATE items SET qty = qty + 1 WHERE id = 3");
	assert_string_equal(text(&w,
				"SELECT string_agg(format('%s=%s/%s', id, name, "
				"display_name), ' ' ORDER BY id) FROM items WHERE id IN "
				"(1, 2, 3, 9001, 9002)",
				buf, sizeof(buf)),
	    "1=renamed by old/renamed by old 2=renamed by new/renamed by new "
	    "3=Item 3/Item 3 9001=old app/old app 9002=new app/new app");
	/* Both columns written: the old one wins, as an old application
	 * would expect of its own write. */
	sql(&w, "UPDATE items SET name = 'a', display_name = 'b' WHERE id = 4");
	assert_string_equal(
	    text(&w, "SELECT name || '/' || display_name FROM items WHERE id = 4",
		buf, sizeof(buf)),
	    "a/a");

	/* The rollback drops the trigger, the function and the column, and
	 * forgets the expansion and its checkpoints. */
	if (run(&w, plan, SK_MODE_ROLLBACK, &err) != SK_OK)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM pg_attribute WHERE attrelid "
			     "= 'items'::regclass AND attname = 'display_name' "
			     "AND NOT attisdropped"),
	    0);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM pg_trigger WHERE tgrelid = "
			     "'items'::regclass AND NOT tgisinternal"),
	    0);
	assert_int_equal(
	    num(&w, "SELECT count(*) FROM pg_proc WHERE proname LIKE 'skein_sync_%'"), 0);
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.expansions"), 0);
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.backfills"), 0);
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.steps"), 0);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM skein.reverts WHERE "
			     "step_id = '0001_display_name'"),
	    1);
	/* Applied again, it starts over. */
	if (run(&w, plan, SK_MODE_APPLY, &err) != SK_OK)
		fail_msg("apply again: %s", err.msg);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM items WHERE display_name "
			     "IS DISTINCT FROM name"),
	    0);
	world_close(&w);
	sk_plan_destroy(plan);
}

static void
test_type_change_and_a_forward_reverse_does_not_invert(void **state)
{
	sk_plan *p = plan_new("types", 2);
	char buf[256];
	sk_err err;
	world w;

	(void)state;
	/* qty int -> qty_big bigint, both ways (the reverse's trailing
	 * comment must not eat the trigger's parenthesis); name -> name_key,
	 * a lower case key (lossy), with reverse for writes of the key
	 * alone. */
	step_expand(&p->steps[0], "0001_qty_big", "items", "qty_big", "bigint",
	    "qty", "t.qty::bigint * 1", "t.qty_big::int -- narrows");
	step_expand(&p->steps[1], "0002_name_key", "items", "name_key", "text",
	    "name", "lower(name)", "t.name_key");
	plan_seal(p);
	world_open(&w, "xtypes", ITEMS);
	if (run(&w, p, SK_MODE_APPLY, &err) != SK_OK)
		fail_msg("apply: %s", err.msg);
	assert_string_equal(text(&w,
				"SELECT format_type(atttypid, atttypmod) FROM "
				"pg_attribute WHERE attrelid = 'items'::regclass "
				"AND attname = 'qty_big'",
				buf, sizeof(buf)),
	    "bigint");
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM items WHERE qty_big IS "
			     "DISTINCT FROM qty"),
	    0);
	/* The backfill set the key without touching the name it came
	 * from, though reverse would have lowered it. */
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM items WHERE name_key IS "
			     "DISTINCT FROM lower(name) OR name NOT LIKE 'Item %'"),
	    0);
	sql(&w,
	    "UPDATE items SET qty_big = 77 WHERE id = 1; "
	    "INSERT INTO items (id, name, qty_big) VALUES (9001, 'X', 5); "
	    "UPDATE items SET name_key = 'chosen' WHERE id = 2");
	assert_string_equal(text(&w,
				"SELECT string_agg(format('%s=%s/%s/%s/%s', id, qty, "
				"qty_big, name, name_key), ' ' ORDER BY id) FROM items "
				"WHERE id IN (1, 2, 9001)",
				buf, sizeof(buf)),
	    "1=77/77/Item 1/item 1 2=2/2/chosen/chosen 9001=5/5/X/x");
	world_close(&w);
	sk_plan_destroy(p);
}

static void
test_bad_expand_is_refused_with_nothing_changed(void **state)
{
	struct {
		const char *column, *type, *from, *fwd, *bwd;
		int code;
		const char *msg;
	} bad[] = {
		{ "display_name", "text", "name2", NULL, NULL, SK_EINVAL,
		    "table items has no column name2 (from)" },
		{ "qty", "text", "name", NULL, NULL, SK_ESTATE,
		    "table items has a column qty already" },
		{ "qty_big", "bigint", "qty", "t.nosuch::bigint", NULL,
		    SK_EINVAL, "using: column t.nosuch does not exist" },
		{ "qty_big", "bigint", "name", NULL, NULL, SK_EINVAL,
		    "type: column \"qty_big\" is of type bigint but expression "
		    "is of type text" },
		{ "qty_big", "bigint", "qty", "t.qty::bigint", "t.nosuch",
		    SK_EINVAL, "reverse: column t.nosuch does not exist" },
	};
	char before[512], after[512];
	sk_err err;
	world w;

	(void)state;
	world_open(&w, "xbad", ITEMS);
	text(&w, SHAPE, before, sizeof(before));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sk_plan *p = plan_new("bad", 1);

		step_expand(&p->steps[0], "0001_bad", "items", bad[i].column,
		    bad[i].type, bad[i].from, bad[i].fwd, bad[i].bwd);
		plan_seal(p);
		if (run(&w, p, SK_MODE_APPLY, &err) != bad[i].code)
			fail_msg("case %zu: %d %s", i, err.code, err.msg);
		assert_contains(err.msg, bad[i].msg);
		assert_true(err.hint[0] != '\0');
		assert_string_equal(text(&w, SHAPE, after, sizeof(after)), before);
		assert_int_equal(num(&w, "SELECT count(*) FROM skein.expansions"), 0);
		assert_int_equal(num(&w, "SELECT count(*) FROM skein.backfills"), 0);
		assert_int_equal(num(&w, "SELECT count(*) FROM skein.steps"), 0);
		sk_plan_destroy(p);
	}
	/* A table that does not exist. */
	{
		sk_plan *p = plan_new("bad", 1);

		step_expand(&p->steps[0], "0001_bad", "nosuch", "b", "text",
		    "a", NULL, NULL);
		plan_seal(p);
		assert_int_equal(run(&w, p, SK_MODE_APPLY, &err), SK_EINVAL);
		assert_contains(err.msg, "table nosuch does not exist");
		sk_plan_destroy(p);
	}
	world_close(&w);
}

static void
test_contract_ends_a_completed_expand_and_refuses_the_rest(void **state)
{
	sk_plan *ren = plan_rename();
	sk_plan *wrong = plan_contract("c-wrong", "name2", "name", NULL);
	sk_plan *con = plan_contract("c-ok", "display_name", "name",
	    "ALTER TABLE items ADD COLUMN name text; "
	    "UPDATE items SET name = display_name");
	char before[512], after[512], buf[256];
	sk_err err;
	world w;

	(void)state;
	world_open(&w, "xcon", ITEMS);
	/* No expand yet: refused, nothing changed. */
	text(&w, SHAPE, before, sizeof(before));
	assert_int_equal(run(&w, con, SK_MODE_APPLY, &err), SK_ESTATE);
	assert_contains(err.msg,
	    "contract of items.name: this database's ledger has no completed "
	    "expand of column display_name from name; run the expand (and let "
	    "it finish) first");
	assert_string_equal(text(&w, SHAPE, after, sizeof(after)), before);

	if (run(&w, ren, SK_MODE_APPLY, &err) != SK_OK)
		fail_msg("apply: %s", err.msg);
	/* A contract of another column: refused, nothing changed. */
	text(&w, SHAPE, before, sizeof(before));
	assert_int_equal(run(&w, wrong, SK_MODE_APPLY, &err), SK_ESTATE);
	assert_contains(err.msg, "no completed expand of column name2 from name");
	assert_string_equal(text(&w, SHAPE, after, sizeof(after)), before);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM skein.steps WHERE "
			     "plan_name = 'c-wrong'"),
	    0);
	/* Rehearsed, the right one is READY and changes nothing. */
	if (run(&w, con, SK_MODE_REHEARSE, &err) != SK_OK)
		fail_msg("rehearse: %s", err.msg);
	assert_string_equal(text(&w, SHAPE, after, sizeof(after)), before);

	if (run(&w, con, SK_MODE_APPLY, &err) != SK_OK)
		fail_msg("contract: %s", err.msg);
	assert_string_equal(text(&w,
				"SELECT string_agg(attname, ',' ORDER BY attnum) FROM "
				"pg_attribute WHERE attrelid = 'items'::regclass AND "
				"attnum > 0 AND NOT attisdropped",
				buf, sizeof(buf)),
	    "id,qty,display_name");
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM pg_trigger WHERE tgrelid = "
			     "'items'::regclass AND NOT tgisinternal"),
	    0);
	assert_int_equal(
	    num(&w, "SELECT count(*) FROM pg_proc WHERE proname LIKE 'skein_sync_%'"), 0);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM skein.expansions WHERE "
			     "contracted_at IS NOT NULL"),
	    1);
	/* A second contract finds nothing open. */
	{
		sk_plan *again =
		    plan_contract("c-again", "display_name", "name", NULL);

		assert_int_equal(run(&w, again, SK_MODE_APPLY, &err), SK_ESTATE);
		assert_contains(err.msg,
		    "(plan ren, step 0001_display_name) was "
		    "contracted already; column name is gone");
		sk_plan_destroy(again);
	}

	/* The expand's rollback would drop the only copy: refused. */
	text(&w, SHAPE, before, sizeof(before));
	assert_int_equal(run(&w, ren, SK_MODE_ROLLBACK, &err), SK_ESTATE);
	assert_contains(err.msg, "a contract dropped column name of public.items");
	assert_string_equal(text(&w, SHAPE, after, sizeof(after)), before);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM skein.steps WHERE "
			     "plan_name = 'ren'"),
	    1);

	/* The contract's revert brings name back: the expand is open again,
	 * and its rollback goes through. */
	if (run(&w, con, SK_MODE_ROLLBACK, &err) != SK_OK)
		fail_msg("roll back the contract: %s", err.msg);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM skein.expansions WHERE "
			     "contracted_at IS NULL"),
	    1);
	if (run(&w, ren, SK_MODE_ROLLBACK, &err) != SK_OK)
		fail_msg("roll back the expand: %s", err.msg);
	assert_string_equal(text(&w,
				"SELECT string_agg(attname, ',' ORDER BY attnum) FROM "
				"pg_attribute WHERE attrelid = 'items'::regclass AND "
				"attnum > 0 AND NOT attisdropped",
				buf, sizeof(buf)),
	    "id,qty,name");
	assert_int_equal(
	    num(&w, "SELECT count(*) FROM items WHERE name LIKE 'Item %'"), 5000);
	world_close(&w);
	sk_plan_destroy(ren);
	sk_plan_destroy(wrong);
	sk_plan_destroy(con);
}

static void
test_expand_resumes_after_a_failed_post_check(void **state)
{
	sk_plan *p = plan_new("gate", 1);
	sk_plan *con = plan_contract("c-early", "display_name", "name", NULL);
	char buf[128];
	sk_report r;
	sk_err err;
	world w;

	(void)state;
	step_expand(&p->steps[0], "0001_display_name", "items", "display_name",
	    "text", "name", NULL, NULL);
	p->steps[0].post = calloc(1, sizeof(sk_check));
	assert_non_null(p->steps[0].post);
	p->steps[0].npost = 1;
	check_set(&p->steps[0].post[0], "gate_open", "SELECT count(*) FROM gate", "1");
	plan_seal(p);
	world_open(&w, "xresume", ITEMS "; CREATE TABLE gate (x int)");
	assert_int_equal(run(&w, p, SK_MODE_APPLY, &err), SK_ECHECK);
	/* The column, the trigger and the backfill stay; the step is not
	 * recorded and the expand not complete. */
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM items WHERE display_name "
			     "IS DISTINCT FROM name"),
	    0);
	assert_string_equal(text(&w,
				"SELECT (completed_at IS NULL)::text FROM "
				"skein.expansions",
				buf, sizeof(buf)),
	    "true");
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.steps"), 0);
	/* A contract now is refused: the expand has not finished. */
	assert_int_equal(run(&w, con, SK_MODE_APPLY, &err), SK_ESTATE);
	assert_contains(err.msg,
	    "the expand of column display_name from name (plan gate, step "
	    "0001_display_name) has not finished its backfill in this database");
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM pg_attribute WHERE attrelid "
			     "= 'items'::regclass AND attname = 'name' AND NOT "
			     "attisdropped"),
	    1);
	/* Rehearsed now, only the backfill is rehearsed. */
	if (run(&w, p, SK_MODE_REHEARSE, &err) != SK_OK)
		fail_msg("rehearse: %s", err.msg);
	assert_int_equal(
	    find_report(&w.c, SK_EV_STEP_REHEARSED, w.name, "0001_display_name", &r), 1);
	assert_contains(r.detail, "the backfill rehearsed alone");
	/* Open the gate: the next run goes on without adding anything. */
	sql(&w, "INSERT INTO gate VALUES (1)");
	if (run(&w, p, SK_MODE_APPLY, &err) != SK_OK)
		fail_msg("apply again: %s", err.msg);
	assert_int_equal(
	    find_report(&w.c, SK_EV_STEP_FINISHED, w.name, "0001_display_name", &r), 1);
	assert_contains(r.detail, "resumed: column and trigger added by an earlier run");
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM skein.expansions WHERE "
			     "completed_at IS NOT NULL"),
	    1);
	world_close(&w);
	sk_plan_destroy(p);
	sk_plan_destroy(con);
}

/* An expand that stopped before its backfill finished is not in the
 * ledger, but its column, trigger and function are in the table: a
 * rollback drops them (or the trigger would go on writing the column),
 * reports it, and a second rollback finds nothing left. */
static void
test_rollback_undoes_an_unfinished_expand(void **state)
{
	sk_plan *p = plan_new("unfinished", 1);
	sk_report r;
	sk_err err;
	world w;

	(void)state;
	step_expand(&p->steps[0], "0001_display_name", "items", "display_name",
	    "text", "name", NULL, NULL);
	p->steps[0].post = calloc(1, sizeof(sk_check));
	assert_non_null(p->steps[0].post);
	p->steps[0].npost = 1;
	check_set(&p->steps[0].post[0], "gate_open", "SELECT count(*) FROM gate", "1");
	plan_seal(p);
	world_open(&w, "xunfinished", ITEMS "; CREATE TABLE gate (x int)");
	assert_int_equal(run(&w, p, SK_MODE_APPLY, &err), SK_ECHECK);
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.steps"), 0);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM pg_trigger WHERE tgrelid = "
			     "'items'::regclass AND tgname LIKE 'skein_sync_%'"),
	    1);
	if (run(&w, p, SK_MODE_ROLLBACK, &err) != SK_OK)
		fail_msg("rollback: %s", err.msg);
	assert_int_equal(
	    find_report(&w.c, SK_EV_STEP_REVERTED, w.name, "0001_display_name", &r), 1);
	if (strstr(r.detail,
		"unfinished expand undone: dropped column display_name") == NULL)
		fail_msg("detail: %s", r.detail);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM pg_attribute WHERE attrelid "
			     "= 'items'::regclass AND attname = 'display_name' "
			     "AND NOT attisdropped"),
	    0);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM pg_trigger WHERE tgrelid = "
			     "'items'::regclass AND tgname LIKE 'skein_sync_%'"),
	    0);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM pg_proc WHERE proname LIKE "
			     "'skein_sync_%'"),
	    0);
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.expansions"), 0);
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.backfills"), 0);
	/* Writes by the old application no longer touch a new column. */
	sql(&w, "UPDATE items SET name = name || '!' WHERE id = 1");
	/* Nothing left: a second rollback skips the step. */
	if (run(&w, p, SK_MODE_ROLLBACK, &err) != SK_OK)
		fail_msg("rollback again: %s", err.msg);
	assert_int_equal(
	    find_report(&w.c, SK_EV_STEP_SKIPPED, w.name, "0001_display_name", &r), 1);
	assert_int_equal(
	    find_report(&w.c, SK_EV_STEP_REVERTED, w.name, "0001_display_name", &r), 0);
	world_close(&w);
	sk_plan_destroy(p);
}

static void
test_rehearsal_of_an_expand_changes_nothing(void **state)
{
	sk_plan *plan = plan_rename();
	char before[512], after[512];
	sk_report r;
	sk_err err;
	world w;

	(void)state;
	world_open(&w, "xreh", ITEMS);
	text(&w, SHAPE, before, sizeof(before));
	if (run(&w, plan, SK_MODE_REHEARSE, &err) != SK_OK)
		fail_msg("rehearse: %s", err.msg);
	assert_int_equal(
	    find_report(&w.c, SK_EV_STEP_REHEARSED, w.name, "0001_display_name", &r), 1);
	assert_contains(r.detail, "first batch: 300 rows changed of 300");
	assert_string_equal(text(&w, SHAPE, after, sizeof(after)), before);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM pg_namespace WHERE "
			     "nspname = 'skein'"),
	    0);
	world_close(&w);
	sk_plan_destroy(plan);
}

static int
setup_fixture(void **state)
{
	(void)state;
	return pgfixture_port(fixture_port, sizeof(fixture_port)) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rename_keeps_both_columns_in_step_and_rolls_back),
		cmocka_unit_test(test_type_change_and_a_forward_reverse_does_not_invert),
		cmocka_unit_test(test_bad_expand_is_refused_with_nothing_changed),
		cmocka_unit_test(test_contract_ends_a_completed_expand_and_refuses_the_rest),
		cmocka_unit_test(test_expand_resumes_after_a_failed_post_check),
		cmocka_unit_test(test_rollback_undoes_an_unfinished_expand),
		cmocka_unit_test(test_rehearsal_of_an_expand_changes_nothing),
	};

	return cmocka_run_group_tests(tests, setup_fixture, NULL);
}

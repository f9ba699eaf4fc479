/* Integration tests of the flag kind through the executor, on real
 * PostgreSQL from the `pg` fixture: a flag set for every tenant and for
 * one, skein.flag()'s precedence (tenant, then every tenant, then NULL)
 * for a role without table rights, a rollback that restores exactly the
 * old values (an absent flag is removed again) and records every flip,
 * a flags-only rollback that leaves the other steps alone, a template
 * for flags kept elsewhere, a region outside the step's residency, and a
 * failing template refused with nothing changed.
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
run(world *w, const sk_plan *plan, int mode, bool flags_only, sk_err *err)
{
	agent_exec_opts o;

	collector_fini(&w->c);
	collector_init(&w->c, NULL);
	memset(&o, 0, sizeof(o));
	o.region = REGION;
	o.rollout_id = mode == SK_MODE_ROLLBACK ? "ro-back" : "ro-flag";
	o.databases = &w->db;
	o.ndatabases = 1;
	o.parallel = 1;
	o.report = collect;
	o.report_arg = &w->c;
	o.retry_min_ms = 20;
	o.retry_max_ms = 200;
	o.mode = mode;
	o.no_backup = true;
	o.flags_only = flags_only;
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

/* A flag step; tenants and regions NULL-terminated lists or NULL. */
static sk_flag *
step_flag(sk_step *s, const char *id, const char *name, const char *value,
    const char *const *tenants, const char *const *regions)
{
	sk_flag *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	s->id = sk_strdup(id);
	s->kind = SK_STEP_FLAG;
	f->name = sk_strdup(name);
	f->value = sk_strdup(value);
	for (size_t i = 0; tenants != NULL && tenants[i] != NULL; i++)
		f->ntenants++;
	f->tenants = f->ntenants ? calloc(f->ntenants, sizeof(char *)) : NULL;
	for (size_t i = 0; i < f->ntenants; i++)
		f->tenants[i] = sk_strdup(tenants[i]);
	for (size_t i = 0; regions != NULL && regions[i] != NULL; i++)
		f->nregions++;
	f->regions = f->nregions ? calloc(f->nregions, sizeof(char *)) : NULL;
	for (size_t i = 0; i < f->nregions; i++)
		f->regions[i] = sk_strdup(regions[i]);
	s->flag = f;
	return f;
}

static void
step_sql(sk_step *s, const char *id, const char *sql, const char *revert)
{
	s->id = sk_strdup(id);
	s->kind = SK_STEP_SQL;
	s->sql = sk_strdup(sql);
	s->revert = sk_strdup(revert);
}

static sk_plan *
plan_seal(sk_plan *p)
{
	for (size_t i = 0; i < p->nsteps; i++) {
		sk_err err;

		p->steps[i].lock_timeout_ms = 2000;
		p->steps[i].statement_timeout_ms = 60000;
		p->steps[i].retry_backoff_ms = 20;
		if (sk_step_validate(&p->steps[i], &err) != SK_OK)
			fail_msg("step %s %s", p->steps[i].id, err.msg);
		assert_int_equal(
		    sk_step_checksum(&p->steps[i], p->steps[i].checksum, NULL), SK_OK);
	}
	return p;
}

/* The FLAG report of step for tenant ("" every tenant), or fail. */
static sk_report
flag_report(collector *c, const char *step, const char *tenant, bool reverted)
{
	for (size_t i = 0; i < c->n; i++) {
		const sk_report *r = &c->r[i];

		if (r->event == SK_EV_FLAG && strcmp(r->step_id, step) == 0 &&
		    r->has_flag && r->flag.reverted == reverted &&
		    strcmp(r->flag.tenant, tenant) == 0 &&
		    r->flag.every_tenant == (tenant[0] == '\0'))
			return *r;
	}
	fail_msg("no flag report of step %s for tenant '%s'", step, tenant);
	abort();
}

static void
test_flag_set_precedence_and_revert_restores_exactly(void **state)
{
	static const char *const t1[] = { "t1", NULL };
	sk_plan *before = plan_new("before", 1), *p = plan_new("pilot", 2);
	char buf[128];
	sk_report r;
	sk_err err;
	world w;

	(void)state;
	world_open(&w, "flag", NULL);
	/* An earlier plan left the every-tenant row off. */
	step_flag(&before->steps[0], "0001_off", "feature.reporting_v1",
	    "false", NULL, NULL);
	plan_seal(before);
	if (run(&w, before, SK_MODE_APPLY, false, &err) != SK_OK)
		fail_msg("%s", err.msg);
	step_flag(&p->steps[0], "0001_all_on", "feature.reporting_v1", "true",
	    NULL, NULL);
	step_flag(&p->steps[1], "0002_t1_beta", "feature.reporting_v1", "beta",
	    t1, NULL);
	plan_seal(p);
	if (run(&w, p, SK_MODE_APPLY, false, &err) != SK_OK)
		fail_msg("%s", err.msg);
	/* Tenant row first, then the every-tenant row, then NULL; for a
	 * role with no rights on skein's tables. */
	pgfixture_exec_db(fixture_port, w.name,
	    "DO $$ BEGIN CREATE ROLE sk_flag_app; EXCEPTION WHEN "
	    "duplicate_object THEN NULL; END $$");
	assert_string_equal(text(&w,
				"SET ROLE sk_flag_app; SELECT "
				"skein.flag('feature.reporting_v1', 't1')",
				buf, sizeof(buf)),
	    "beta");
	assert_string_equal(text(&w,
				"SET ROLE sk_flag_app; SELECT "
				"skein.flag('feature.reporting_v1', 't2')",
				buf, sizeof(buf)),
	    "true");
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM (SELECT "
			     "skein.flag('feature.other', 't1') v) s WHERE v IS NULL"),
	    1);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM skein.steps WHERE "
			     "plan_name = 'pilot' AND kind = 'flag'"),
	    2);
	r = flag_report(&w.c, "0001_all_on", "", false);
	assert_false(r.flag.old_absent);
	assert_string_equal(r.flag.old_value, "false");
	assert_string_equal(r.flag.new_value, "true");
	r = flag_report(&w.c, "0002_t1_beta", "t1", false);
	assert_true(r.flag.old_absent);
	assert_string_equal(r.flag.new_value, "beta");

	/* Rollback: the every-tenant row is off again, t1's row is gone. */
	if (run(&w, p, SK_MODE_ROLLBACK, false, &err) != SK_OK)
		fail_msg("%s", err.msg);
	assert_string_equal(text(&w, "SELECT skein.flag('feature.reporting_v1', 't1')",
				buf, sizeof(buf)),
	    "false");
	assert_int_equal(
	    num(&w, "SELECT count(*) FROM skein.flags WHERE tenant = 't1'"), 0);
	assert_int_equal(
	    num(&w, "SELECT count(*) FROM skein.steps WHERE plan_name = 'pilot'"), 0);
	/* Every flip recorded: 1 before, 2 applied, 2 undone (each naming
	 * the flip it undid). */
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.flag_history"), 5);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM skein.flag_history h JOIN "
			     "skein.flag_history o ON h.revert_of = o.id WHERE "
			     "h.new_value IS NOT DISTINCT FROM o.old_value"),
	    2);
	r = flag_report(&w.c, "0002_t1_beta", "t1", true);
	assert_true(r.flag.new_absent);
	assert_string_equal(r.flag.old_value, "beta");
	/* Applied again after the rollback: the same flips again. */
	if (run(&w, p, SK_MODE_APPLY, false, &err) != SK_OK)
		fail_msg("%s", err.msg);
	assert_string_equal(text(&w, "SELECT skein.flag('feature.reporting_v1', 't1')",
				buf, sizeof(buf)),
	    "beta");
	sk_plan_destroy(before);
	sk_plan_destroy(p);
	world_close(&w);
}

static void
test_flags_only_rollback_leaves_the_other_steps(void **state)
{
	sk_plan *p = plan_new("mixed", 2);
	char buf[128];
	sk_err err;
	world w;

	(void)state;
	world_open(&w, "flagonly", NULL);
	step_sql(&p->steps[0], "0001_table", "CREATE TABLE reports (id int)",
	    "DROP TABLE reports");
	step_flag(&p->steps[1], "0002_on", "feature.reporting_v1", "on", NULL, NULL);
	plan_seal(p);
	if (run(&w, p, SK_MODE_APPLY, false, &err) != SK_OK)
		fail_msg("%s", err.msg);
	if (run(&w, p, SK_MODE_ROLLBACK, true, &err) != SK_OK)
		fail_msg("%s", err.msg);
	/* The flag is off (absent), the table and its ledger row stay. */
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.flags"), 0);
	assert_int_equal(
	    num(&w, "SELECT count(*) FROM pg_class WHERE relname = 'reports'"), 1);
	assert_string_equal(text(&w,
				"SELECT string_agg(step_id, ',') FROM skein.steps "
				"WHERE plan_name = 'mixed'",
				buf, sizeof(buf)),
	    "0001_table");
	for (size_t i = 0; i < w.c.n; i++)
		assert_true(w.c.r[i].flags_only);
	/* The full pass then reverts the rest, the flag step skipped. */
	if (run(&w, p, SK_MODE_ROLLBACK, false, &err) != SK_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(
	    num(&w, "SELECT count(*) FROM pg_class WHERE relname = 'reports'"), 0);
	assert_int_equal(count_detail(&w.c, SK_EV_STEP_SKIPPED, NULL, "0002_on",
			     "not in the ledger"),
	    1);
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.flag_history"), 2);
	sk_plan_destroy(p);
	world_close(&w);
}

static void
test_template_flags_kept_elsewhere(void **state)
{
	static const char *const tenants[] = { "hotel-af-001", "hotel-af-002", NULL };
	sk_plan *p = plan_new("tmpl", 1);
	sk_flag *f;
	char buf[128];
	sk_err err;
	world w;

	(void)state;
	world_open(&w, "flagtmpl",
	    "CREATE TABLE tenant_settings (tenant_id text PRIMARY KEY, features "
	    "jsonb NOT NULL DEFAULT '{}');"
	    "INSERT INTO tenant_settings VALUES ('hotel-af-001', "
	    "'{\"feature.reporting_v1\": false}'), ('hotel-af-002', '{}'), "
	    "('hotel-af-003', '{}');");
	f = step_flag(&p->steps[0], "0001_pilots", "feature.reporting_v1",
	    "true", tenants, NULL);
	f->set_template = sk_strdup(
	    "UPDATE tenant_settings SET features = features || "
	    "jsonb_build_object(:'flag', :'value'::boolean) WHERE tenant_id = "
	    ":'tenant'");
	f->get_template = sk_strdup(
	    "SELECT features->>:'flag' FROM tenant_settings WHERE tenant_id = :'tenant'");
	plan_seal(p);
	if (run(&w, p, SK_MODE_APPLY, false, &err) != SK_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM tenant_settings WHERE "
			     "features->>'feature.reporting_v1' = 'true'"),
	    2);
	assert_string_equal(text(&w,
				"SELECT features::text FROM tenant_settings WHERE "
				"tenant_id = 'hotel-af-003'",
				buf, sizeof(buf)),
	    "{}");
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM skein.flag_history WHERE "
			     "store = 'template'"),
	    2);
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.flags"), 0);
	if (run(&w, p, SK_MODE_ROLLBACK, false, &err) != SK_OK)
		fail_msg("%s", err.msg);
	assert_string_equal(text(&w,
				"SELECT features->>'feature.reporting_v1' FROM "
				"tenant_settings WHERE tenant_id = 'hotel-af-001'",
				buf, sizeof(buf)),
	    "false");
	assert_int_equal(num(&w,
			     "SELECT count(*) FROM tenant_settings WHERE "
			     "features->>'feature.reporting_v1' IS NOT NULL "
			     "AND tenant_id = 'hotel-af-002'"),
	    0);
	sk_plan_destroy(p);
	world_close(&w);
}

static void
test_other_residency_and_a_failing_template_change_nothing(void **state)
{
	static const char *const elsewhere[] = { "ksa", NULL };
	static const char *const t[] = { "t1", NULL };
	sk_plan *p = plan_new("res", 1), *bad = plan_new("bad", 1);
	sk_flag *f;
	sk_err err;
	world w;

	(void)state;
	world_open(&w, "flagres", NULL);
	step_flag(&p->steps[0], "0001_ksa_only", "feature.x", "true", NULL, elsewhere);
	plan_seal(p);
	if (run(&w, p, SK_MODE_APPLY, false, &err) != SK_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.flags"), 0);
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.steps"), 1);
	assert_int_equal(count_detail(&w.c, SK_EV_STEP_FINISHED, NULL,
			     "0001_ksa_only", "flag not set in this region"),
	    1);

	/* A template on a table that does not exist: the step fails,
	 * nothing is recorded, no flip is kept. */
	f = step_flag(&bad->steps[0], "0001_broken", "feature.y", "true", t, NULL);
	f->set_template = sk_strdup("UPDATE nowhere SET v = :'value'");
	f->get_template = sk_strdup("SELECT v FROM nowhere WHERE t = :'tenant'");
	plan_seal(bad);
	assert_int_not_equal(run(&w, bad, SK_MODE_APPLY, false, &err), SK_OK);
	assert_non_null(strstr(err.msg, "nowhere"));
	assert_int_equal(
	    num(&w, "SELECT count(*) FROM skein.steps WHERE plan_name = 'bad'"), 0);
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.flag_history"), 0);
	sk_plan_destroy(p);
	sk_plan_destroy(bad);
	world_close(&w);
}

static void
test_rehearsal_changes_nothing_with_or_without_a_ledger(void **state)
{
	sk_plan *p = plan_new("reh", 1), *other = plan_new("other", 1);
	sk_err err;
	world w;

	(void)state;
	world_open(&w, "flagreh", NULL);
	step_flag(&p->steps[0], "0001_on", "feature.r", "true", NULL, NULL);
	plan_seal(p);
	/* No ledger yet: READY, and still no skein schema. */
	if (run(&w, p, SK_MODE_REHEARSE, false, &err) != SK_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(
	    num(&w, "SELECT count(*) FROM pg_namespace WHERE nspname = 'skein'"), 0);
	assert_int_equal(count_detail(&w.c, SK_EV_STEP_REHEARSED, NULL,
			     "0001_on", "flip not rehearsed"),
	    1);
	/* With the store: the flip is tried and rolled back. */
	step_flag(&other->steps[0], "0001_x", "feature.x", "1", NULL, NULL);
	plan_seal(other);
	if (run(&w, other, SK_MODE_APPLY, false, &err) != SK_OK)
		fail_msg("%s", err.msg);
	if (run(&w, p, SK_MODE_REHEARSE, false, &err) != SK_OK)
		fail_msg("%s", err.msg);
	assert_int_equal(count_detail(&w.c, SK_EV_STEP_REHEARSED, NULL,
			     "0001_on", "feature.r = true for"),
	    1);
	assert_int_equal(
	    num(&w, "SELECT count(*) FROM skein.flags WHERE name = 'feature.r'"), 0);
	assert_int_equal(num(&w, "SELECT count(*) FROM skein.flag_history"), 1);
	sk_plan_destroy(p);
	sk_plan_destroy(other);
	world_close(&w);
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
		cmocka_unit_test(test_flag_set_precedence_and_revert_restores_exactly),
		cmocka_unit_test(test_flags_only_rollback_leaves_the_other_steps),
		cmocka_unit_test(test_template_flags_kept_elsewhere),
		cmocka_unit_test(test_other_residency_and_a_failing_template_change_nothing),
		cmocka_unit_test(test_rehearsal_changes_nothing_with_or_without_a_ledger),
	};

	return cmocka_run_group_tests(tests, setup_fixture, NULL);
}

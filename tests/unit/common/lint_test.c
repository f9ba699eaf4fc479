/* lint_test: every lint rule firing on the statement it is about and
 * staying quiet on its safe counterpart; waivers (waived errors do not
 * block, unknown rules are refused, unused waivers are warned about);
 * lines, order and output. Plans are built in memory, not from YAML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "sk_lint.h"
#include "sk_plan_build.h"
#include "sk_util.h"

typedef struct spec {
	const char *sql;
	bool notx;
	const char *waive; /* rule id or NULL */
	const char *reason;
} spec;

/* A plan of n steps "s1".."sN" with sql_path "sN.sql", each with a
 * revert (no-revert has tests of its own). */
static sk_plan *
make_plan(const spec *specs, size_t n)
{
	sk_plan *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->name = sk_strdup("lint-test");
	p->steps = calloc(n, sizeof(*p->steps));
	assert_non_null(p->steps);
	p->nsteps = n;
	for (size_t i = 0; i < n; i++) {
		sk_step *s = &p->steps[i];
		char id[32];

		snprintf(id, sizeof(id), "s%zu", i + 1);
		s->id = sk_strdup(id);
		s->kind = SK_STEP_SQL;
		s->sql = sk_strdup(specs[i].sql);
		s->revert = sk_strdup("SELECT 1");
		s->no_transaction = specs[i].notx;
		s->sql_path = malloc(strlen(id) + 5);
		assert_non_null(s->sql_path);
		sprintf(s->sql_path, "%s.sql", id);
		if (specs[i].waive != NULL) {
			s->waivers = calloc(1, sizeof(*s->waivers));
			assert_non_null(s->waivers);
			s->waivers[0].rule = sk_strdup(specs[i].waive);
			s->waivers[0].reason = sk_strdup(specs[i].reason);
			s->nwaivers = 1;
		}
	}
	return p;
}

typedef struct result {
	sk_lint_finding *f;
	size_t n;
} result;

static result
lint_specs(const spec *specs, size_t n)
{
	sk_plan *p = make_plan(specs, n);
	result r = { NULL, 0 };
	sk_err err;

	if (sk_lint_plan(p, &r.f, &r.n, &err) != SK_OK)
		fail_msg("lint: %s", err.msg);
	sk_plan_destroy(p);
	return r;
}

static size_t
count_rule(const result *r, const char *rule)
{
	size_t c = 0;

	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->f[i].rule->id, rule) == 0)
			c++;
	return c;
}

static const sk_lint_finding *
find_rule(const result *r, const char *rule)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->f[i].rule->id, rule) == 0)
			return &r->f[i];
	return NULL;
}

/* sql as the only step (tx unless notx) fires rule, unwaived. */
static void
fires(const char *sql, bool notx, const char *rule)
{
	spec s[] = { { sql, notx, NULL, NULL } };
	result r = lint_specs(s, 1);
	const sk_lint_finding *f = find_rule(&r, rule);

	if (f == NULL)
		fail_msg("%s did not fire on: %s", rule, sql);
	assert_false(f->waived);
	assert_string_equal(f->step, "s1");
	assert_string_equal(f->file, "s1.sql");
	assert_true(f->line >= 1);
	sk_lint_findings_free(r.f, r.n);
}

static void
quiet(const char *sql, bool notx, const char *rule)
{
	spec s[] = { { sql, notx, NULL, NULL } };
	result r = lint_specs(s, 1);

	if (count_rule(&r, rule) != 0)
		fail_msg("%s fired on: %s (%s)", rule, sql, find_rule(&r, rule)->message);
	sk_lint_findings_free(r.f, r.n);
}

/* Step 1 runs first, then step 2; count rule's findings. */
static size_t
two_steps(const char *first, const char *second, bool notx2, const char *rule)
{
	spec s[] = { { first, false, NULL, NULL }, { second, notx2, NULL, NULL } };
	result r = lint_specs(s, 2);
	size_t c = count_rule(&r, rule);

	sk_lint_findings_free(r.f, r.n);
	return c;
}

static void
test_rule_table_is_complete_and_unique(void **state)
{
	size_t n;
	const sk_lint_rule *rules = sk_lint_rules(&n);
	static const char *const required[] = { "rename-in-one-step", "drop-column",
		"drop-table", "index-not-concurrent", "concurrent-index-unnamed",
		"constraint-not-valid", "alter-column-type",
		"tenant-table-without-rls", "non-transactional-in-transaction",
		"transaction-control", "session-set", "unused-waiver", "truncate",
		"lock-outside-transaction", "rename-index-or-constraint", NULL };

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_non_null(rules[i].id);
		assert_true(rules[i].severity == SK_LINT_ERROR ||
		    rules[i].severity == SK_LINT_WARNING);
		assert_true(strlen(rules[i].summary) > 10);
		assert_true(strlen(rules[i].fix) > 10);
		assert_int_equal(strspn(rules[i].id, "abcdefghijklmnopqrstuvwxyz-"),
		    strlen(rules[i].id));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(rules[i].id, rules[j].id);
		assert_ptr_equal(sk_lint_rule_find(rules[i].id), &rules[i]);
	}
	for (size_t i = 0; required[i] != NULL; i++)
		assert_non_null(sk_lint_rule_find(required[i]));
	assert_int_equal(sk_lint_rule_find("drop-column")->severity, SK_LINT_ERROR);
	assert_int_equal(sk_lint_rule_find("truncate")->severity, SK_LINT_ERROR);
	assert_int_equal(sk_lint_rule_find("lock-outside-transaction")->severity,
	    SK_LINT_ERROR);
	assert_int_equal(sk_lint_rule_find("rename-index-or-constraint")->severity,
	    SK_LINT_WARNING);
	assert_null(sk_lint_rule_find("no-such-rule"));
	assert_null(sk_lint_rule_find(NULL));
}

/* A rename and a type change both point to the two-phase pattern: the
 * expand kind now, the contract kind in a later plan. */
static void
test_rename_and_type_change_fix_points_to_expand_then_contract(void **state)
{
	static const char *const ids[] = { "rename-in-one-step", "alter-column-type" };
	static const char want[] =
	    "use kind: expand (adds the new column, a sync trigger and a "
	    "backfill) and, in a later plan once every application version "
	    "writes the new column, kind: contract; see docs/backfills.md";

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		const sk_lint_rule *r = sk_lint_rule_find(ids[i]);

		assert_non_null(r);
		assert_string_equal(r->fix, want);
	}
}

static void
test_rename_in_one_step(void **state)
{
	(void)state;
	fires("ALTER TABLE clients RENAME COLUMN status TO state", false,
	    "rename-in-one-step");
	fires("ALTER TABLE clients RENAME status TO state", false, "rename-in-one-step");
	fires("ALTER TABLE clients RENAME TO customers", false, "rename-in-one-step");
	fires("ALTER VIEW v RENAME TO w", false, "rename-in-one-step");
	quiet("ALTER INDEX clients_idx RENAME TO clients_tenant_idx", false,
	    "rename-in-one-step");
	quiet("ALTER TABLE clients RENAME CONSTRAINT a TO b", false,
	    "rename-in-one-step");
	quiet("ALTER TABLE clients ADD COLUMN state text", false, "rename-in-one-step");
}

static void
test_drop_column_and_drop_table(void **state)
{
	(void)state;
	fires("ALTER TABLE clients DROP COLUMN legacy", false, "drop-column");
	fires("ALTER TABLE clients ADD COLUMN a int, DROP COLUMN IF EXISTS b",
	    false, "drop-column");
	quiet("ALTER TABLE clients DROP CONSTRAINT clients_check", false, "drop-column");
	fires("DROP TABLE clients", false, "drop-table");
	fires("DROP TABLE IF EXISTS app.clients CASCADE", false, "drop-table");
	quiet("DROP INDEX clients_idx", false, "drop-table");
	quiet("DROP VIEW clients_view", false, "drop-table");
	/* Words in a string are not statements. */
	quiet("SELECT 'DROP TABLE clients'", false, "drop-table");
}

/* TRUNCATE loses the rows of a table the plan did not create; of one an
 * earlier statement of the plan created, it does not fire. */
static void
test_truncate(void **state)
{
	spec s[] = { { "TRUNCATE app.clients, orders CASCADE", false, NULL, NULL } };
	result r = lint_specs(s, 1);

	(void)state;
	assert_int_equal(count_rule(&r, "truncate"), 2);
	assert_string_equal(r.f[0].message,
	    "truncates table app.clients with CASCADE, which also empties "
	    "every table referencing it, and app.clients is not created by "
	    "this plan");
	assert_int_equal(sk_lint_blocking(r.f, r.n), 2);
	sk_lint_findings_free(r.f, r.n);
	fires("TRUNCATE TABLE clients", false, "truncate");
	fires("TRUNCATE ONLY clients RESTART IDENTITY", true, "truncate");
	assert_int_equal(two_steps("CREATE TABLE scratch (id int)",
			     "TRUNCATE scratch", false, "truncate"),
	    0);
	assert_int_equal(two_steps("CREATE TABLE scratch (id int)",
			     "TRUNCATE scratch, clients", false, "truncate"),
	    1);
	quiet("CREATE TABLE scratch (id int); TRUNCATE scratch", false, "truncate");
	quiet("DELETE FROM clients WHERE id < 1000", false, "truncate");
	quiet("SELECT 'TRUNCATE clients'", false, "truncate");
}

/* LOCK TABLE fails outside a transaction block (one statement at a time,
 * as a transaction: false step runs), not inside a transactional step. */
static void
test_lock_outside_transaction(void **state)
{
	spec s[] = { { "LOCK TABLE clients, orders IN SHARE MODE", true, NULL, NULL } };
	result r = lint_specs(s, 1);

	(void)state;
	assert_int_equal(count_rule(&r, "lock-outside-transaction"), 1);
	assert_string_equal(r.f[0].message,
	    "LOCK TABLE clients can only be used in a transaction block, and "
	    "step s1 has transaction: false");
	sk_lint_findings_free(r.f, r.n);
	fires("LOCK clients", true, "lock-outside-transaction");
	quiet("LOCK TABLE clients IN ACCESS EXCLUSIVE MODE", false,
	    "lock-outside-transaction");
	quiet("LOCK TABLE clients; ALTER TABLE clients ADD COLUMN a int", false,
	    "lock-outside-transaction");
	quiet("SELECT * FROM clients FOR UPDATE", true, "lock-outside-transaction");
}

/* Renaming an index or a constraint breaks ON CONFLICT ON CONSTRAINT with
 * the old name (an index backing a constraint renames it too): a
 * warning, quiet on what the plan itself created. */
static void
test_rename_index_or_constraint(void **state)
{
	spec s[] = { { "ALTER TABLE clients RENAME CONSTRAINT clients_email_key "
		       "TO clients_email_uniq",
	    false, NULL, NULL } };
	result r = lint_specs(s, 1);

	(void)state;
	assert_int_equal(count_rule(&r, "rename-index-or-constraint"), 1);
	assert_string_equal(r.f[0].message,
	    "renames constraint clients_email_key of clients to "
	    "clients_email_uniq, and clients is not created by this plan");
	assert_int_equal(sk_lint_blocking(r.f, r.n), 0);
	sk_lint_findings_free(r.f, r.n);
	fires("ALTER INDEX clients_email_key RENAME TO clients_email_idx",
	    false, "rename-index-or-constraint");
	fires("ALTER INDEX IF EXISTS app.clients_idx RENAME TO clients_idx2",
	    false, "rename-index-or-constraint");
	assert_int_equal(two_steps("CREATE TABLE t (id int, k int)",
			     "ALTER TABLE t RENAME CONSTRAINT t_k TO t_k2",
			     false, "rename-index-or-constraint"),
	    0);
	/* An index the plan created, also under its new name. */
	assert_int_equal(
	    two_steps("CREATE INDEX i ON t (a); ALTER INDEX i RENAME TO j",
		"ALTER INDEX j RENAME TO k", false, "rename-index-or-constraint"),
	    0);
	quiet("ALTER INDEX clients_idx SET (fillfactor = 90)", false,
	    "rename-index-or-constraint");
	quiet("ALTER TABLE clients RENAME COLUMN a TO b", false,
	    "rename-index-or-constraint");
	quiet("ALTER SEQUENCE clients_id_seq RENAME TO c_seq", false,
	    "rename-index-or-constraint");
}

static void
test_index_not_concurrent_only_on_existing_tables(void **state)
{
	(void)state;
	fires("CREATE INDEX clients_idx ON clients (tenant_id)", false,
	    "index-not-concurrent");
	quiet("CREATE INDEX CONCURRENTLY clients_idx ON clients (tenant_id)",
	    true, "index-not-concurrent");
	/* Created earlier in the same step, or in an earlier step. */
	quiet("CREATE TABLE t (a int); CREATE INDEX t_a ON t (a)", false,
	    "index-not-concurrent");
	assert_int_equal(two_steps("CREATE TABLE app.t (a int)",
			     "CREATE INDEX t_a ON t (a)", false, "index-not-concurrent"),
	    0);
	assert_int_equal(two_steps("CREATE TABLE t (a int)", "CREATE INDEX t_a ON app.t (a)",
			     false, "index-not-concurrent"),
	    0);
	/* Another schema's table of that name existed before. */
	assert_int_equal(
	    two_steps("CREATE TABLE app.t (a int)",
		"CREATE INDEX t_a ON other.t (a)", false, "index-not-concurrent"),
	    1);
	/* A later step's table does not count for an earlier step. */
	{
		spec s[] = { { "CREATE INDEX t_a ON t (a)", false, NULL, NULL },
			{ "CREATE TABLE t (a int)", false, NULL, NULL } };
		result r = lint_specs(s, 2);

		assert_int_equal(count_rule(&r, "index-not-concurrent"), 1);
		assert_string_equal(find_rule(&r, "index-not-concurrent")->step, "s1");
		sk_lint_findings_free(r.f, r.n);
	}
}

static void
test_concurrent_index_unnamed(void **state)
{
	(void)state;
	fires("CREATE INDEX CONCURRENTLY ON clients (tenant_id)", true,
	    "concurrent-index-unnamed");
	quiet("CREATE INDEX CONCURRENTLY IF NOT EXISTS clients_idx ON clients "
	      "(tenant_id)",
	    true, "concurrent-index-unnamed");
	/* Unnamed but not concurrent: nothing to find after an interrupt. */
	quiet("CREATE TABLE t (a int); CREATE INDEX ON t (a)", false,
	    "concurrent-index-unnamed");
}

static void
test_constraint_not_valid(void **state)
{
	(void)state;
	fires("ALTER TABLE orders ADD CONSTRAINT orders_client_fk FOREIGN KEY "
	      "(client_id) REFERENCES clients (id)",
	    false, "constraint-not-valid");
	fires("ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0)",
	    false, "constraint-not-valid");
	quiet("ALTER TABLE orders ADD CONSTRAINT orders_client_fk FOREIGN KEY "
	      "(client_id) REFERENCES clients (id) NOT VALID",
	    false, "constraint-not-valid");
	quiet("ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0) "
	      "NOT VALID; ALTER TABLE orders VALIDATE CONSTRAINT amount_positive",
	    false, "constraint-not-valid");
	assert_int_equal(two_steps("CREATE TABLE orders (amount int)",
			     "ALTER TABLE orders ADD CONSTRAINT p CHECK (amount > 0)",
			     false, "constraint-not-valid"),
	    0);
	/* Constraints written inside CREATE TABLE are not ADD CONSTRAINT. */
	quiet("CREATE TABLE orders (amount int CHECK (amount > 0))", false,
	    "constraint-not-valid");
}

static void
test_alter_column_type(void **state)
{
	(void)state;
	fires("ALTER TABLE orders ALTER COLUMN amount TYPE bigint", false,
	    "alter-column-type");
	fires("ALTER TABLE orders ALTER amount SET DATA TYPE numeric(12,2)",
	    false, "alter-column-type");
	quiet("ALTER TABLE orders ALTER COLUMN amount SET DEFAULT 0", false,
	    "alter-column-type");
	assert_int_equal(two_steps("CREATE TABLE orders (amount int)",
			     "ALTER TABLE orders ALTER COLUMN amount TYPE bigint",
			     false, "alter-column-type"),
	    0);
}

static void
test_tenant_table_without_rls(void **state)
{
	(void)state;
	fires("CREATE TABLE invoices (id int, tenant_id uuid NOT NULL)", false,
	    "tenant-table-without-rls");
	fires("CREATE TABLE rooms (id int, community_id bigint)", false,
	    "tenant-table-without-rls");
	/* RLS without a policy, or a policy without RLS, is not enough. */
	fires("CREATE TABLE invoices (tenant_id uuid);"
	      "ALTER TABLE invoices ENABLE ROW LEVEL SECURITY",
	    false, "tenant-table-without-rls");
	fires("CREATE TABLE invoices (tenant_id uuid);"
	      "CREATE POLICY p ON invoices USING (tenant_id = "
	      "current_setting('app.tenant_id')::uuid)",
	    false, "tenant-table-without-rls");
	/* A CHECK on another column does not count. */
	fires("CREATE TABLE invoices (tenant_id uuid, n int CHECK (n > 0))",
	    false, "tenant-table-without-rls");
	/* RLS and a policy on it, in the same step. */
	quiet("CREATE TABLE invoices (tenant_id uuid);"
	      "ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;"
	      "CREATE POLICY p ON invoices USING (tenant_id = "
	      "current_setting('app.tenant_id')::uuid)",
	    false, "tenant-table-without-rls");
	/* Or a CHECK naming the tenant column: column, table or ALTER. */
	quiet("CREATE TABLE invoices (tenant_id uuid CHECK (tenant_id IS NOT NULL))",
	    false, "tenant-table-without-rls");
	quiet("CREATE TABLE invoices (tenant_id uuid, CONSTRAINT t CHECK "
	      "(tenant_id <> '00000000-0000-0000-0000-000000000000'))",
	    false, "tenant-table-without-rls");
	quiet("CREATE TABLE invoices (tenant_id uuid);"
	      "ALTER TABLE invoices ADD CONSTRAINT t CHECK (tenant_id IS NOT NULL)",
	    false, "tenant-table-without-rls");
	quiet("CREATE TABLE invoices (id int, amount int)", false,
	    "tenant-table-without-rls");
	quiet("CREATE TEMPORARY TABLE scratch (tenant_id uuid) ON COMMIT DROP",
	    false, "tenant-table-without-rls");
	/* The policy in a later step is too late: the gate is per step. */
	assert_int_equal(two_steps("CREATE TABLE invoices (tenant_id uuid)",
			     "ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;"
			     "CREATE POLICY p ON invoices USING (true)",
			     false, "tenant-table-without-rls"),
	    1);
}

static void
test_non_transactional_in_transaction(void **state)
{
	static const char *const stmts[] = {
		"CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)",
		"DROP INDEX CONCURRENTLY IF EXISTS i",
		"REINDEX INDEX CONCURRENTLY i",
		"VACUUM t",
		"CREATE DATABASE other",
		"ALTER SYSTEM SET work_mem = '64MB'",
		"ALTER TABLE t DETACH PARTITION t_2020 CONCURRENTLY",
		NULL,
	};

	(void)state;
	for (size_t i = 0; stmts[i] != NULL; i++) {
		fires(stmts[i], false, "non-transactional-in-transaction");
		quiet(stmts[i], true, "non-transactional-in-transaction");
	}
	quiet("ANALYZE t", false, "non-transactional-in-transaction");
	quiet("REINDEX (CONCURRENTLY false) INDEX i", false,
	    "non-transactional-in-transaction");
}

static void
test_transaction_control_in_any_step(void **state)
{
	static const char *const stmts[] = { "BEGIN", "START TRANSACTION",
		"COMMIT", "ROLLBACK", "SAVEPOINT a", "RELEASE SAVEPOINT a",
		"ROLLBACK TO SAVEPOINT a", "PREPARE TRANSACTION 'x'", NULL };

	(void)state;
	for (size_t i = 0; stmts[i] != NULL; i++) {
		fires(stmts[i], false, "transaction-control");
		fires(stmts[i], true, "transaction-control");
	}
	quiet("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", false,
	    "transaction-control");
}

static void
test_session_set(void **state)
{
	(void)state;
	fires("SET lock_timeout = '5s'", false, "session-set");
	fires("SET SESSION statement_timeout = 0", false, "session-set");
	fires("SET search_path TO app, public", true, "session-set");
	fires("SET ROLE migrator", false, "session-set");
	fires("RESET lock_timeout", false, "session-set");
	fires("RESET ALL", false, "session-set");
	fires("SELECT set_config('search_path', 'app', false)", false, "session-set");
	fires("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", false,
	    "session-set");
	quiet("SET LOCAL lock_timeout = '5s'", false, "session-set");
	quiet("SELECT set_config('search_path', 'app', true)", false, "session-set");
	quiet("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", false, "session-set");
}

static void
test_warning_rules(void **state)
{
	(void)state;
	fires("ALTER TABLE t ADD COLUMN created timestamptz DEFAULT clock_timestamp()",
	    false, "add-column-rewrite");
	fires("ALTER TABLE t ADD COLUMN id bigserial", false, "add-column-rewrite");
	quiet("ALTER TABLE t ADD COLUMN created timestamptz DEFAULT now()",
	    false, "add-column-rewrite");
	quiet("ALTER TABLE t ADD COLUMN status text NOT NULL DEFAULT 'active'",
	    false, "add-column-rewrite");
	fires("ALTER TABLE t ALTER COLUMN a SET NOT NULL", false, "set-not-null");
	quiet("CREATE TABLE t (a int); ALTER TABLE t ALTER COLUMN a SET NOT NULL",
	    false, "set-not-null");
	fires("ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE (a)", false,
	    "constraint-builds-index");
	quiet("ALTER TABLE t ADD CONSTRAINT t_a_key UNIQUE USING INDEX t_a_idx",
	    false, "constraint-builds-index");
	fires("LISTEN events", false, "session-state");
	fires("CREATE TEMP TABLE scratch (a int)", false, "session-state");
	quiet("CREATE TEMP TABLE scratch (a int) ON COMMIT DROP", false, "session-state");
	{
		spec s[] = { { "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
		    false, NULL, NULL } };
		result r = lint_specs(s, 1);

		assert_int_equal(r.n, 1);
		assert_int_equal(r.f[0].rule->severity, SK_LINT_WARNING);
		assert_int_equal(sk_lint_blocking(r.f, r.n), 0);
		sk_lint_findings_free(r.f, r.n);
	}
}

static void
test_no_revert_warns_where_a_rollback_needs_a_script(void **state)
{
	static const int kinds[] = { SK_STEP_SQL, SK_STEP_CONTRACT,
		SK_STEP_CHECK, SK_STEP_FLAG, SK_STEP_EXPAND, SK_STEP_BACKFILL };
	static const bool fire[] = { true, true, false, false, false, false };
	spec s[] = { { "SELECT 1", false, NULL, NULL } };
	const char *paths[] = { "bare.sql" }, *sqls[] = { "CREATE TABLE t (a int)" };
	sk_lint_finding *f = NULL;
	size_t n = 0;
	sk_err err;

	(void)state;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		sk_plan *p = make_plan(s, 1);

		free(p->steps[0].revert);
		p->steps[0].revert = NULL;
		p->steps[0].kind = kinds[k];
		assert_int_equal(sk_lint_plan(p, &f, &n, &err), SK_OK);
		assert_int_equal(n, fire[k] ? 1 : 0);
		if (fire[k]) {
			assert_string_equal(f[0].rule->id, "no-revert");
			assert_int_equal(f[0].rule->severity, SK_LINT_WARNING);
			assert_string_equal(f[0].message,
			    "step s1 has no revert script: a rollback of the plan "
			    "is refused once it ran");
			assert_int_equal(sk_lint_blocking(f, n), 0);
		}
		sk_lint_findings_free(f, n);
		sk_plan_destroy(p);
	}
	/* A revert, or a waiver, quiets it. */
	{
		sk_plan *p = make_plan(s, 1);

		assert_int_equal(sk_lint_plan(p, &f, &n, &err), SK_OK);
		assert_int_equal(n, 0);
		sk_plan_destroy(p);
		s[0].waive = "no-revert";
		s[0].reason = "forward-only; the backup is the way back";
		p = make_plan(s, 1);
		free(p->steps[0].revert);
		p->steps[0].revert = NULL;
		assert_int_equal(sk_lint_plan(p, &f, &n, &err), SK_OK);
		assert_int_equal(n, 1);
		assert_true(f[0].waived);
		sk_lint_findings_free(f, n);
		sk_plan_destroy(p);
	}
	/* Bare SQL files are not steps of a plan: no revert to ask for. */
	assert_int_equal(sk_lint_files(paths, sqls, 1, NULL, &f, &n, &err), SK_OK);
	assert_int_equal(n, 0);
	sk_lint_findings_free(f, n);
}

static void
test_findings_have_lines_in_step_order(void **state)
{
	spec s[] = {
		{ "-- step one\nSELECT 1;\n\nALTER TABLE a\n  DROP COLUMN b;\n"
		  "DROP TABLE c;\n",
		    false, NULL, NULL },
		{ "SET x = 1", false, NULL, NULL },
	};
	result r = lint_specs(s, 2);

	(void)state;
	assert_int_equal(r.n, 3);
	assert_string_equal(r.f[0].rule->id, "drop-column");
	assert_int_equal(r.f[0].line, 4);
	assert_string_equal(r.f[0].message, "drops column b of a");
	assert_string_equal(r.f[1].rule->id, "drop-table");
	assert_int_equal(r.f[1].line, 6);
	assert_string_equal(r.f[2].rule->id, "session-set");
	assert_string_equal(r.f[2].step, "s2");
	assert_int_equal(sk_lint_blocking(r.f, r.n), 3);
	sk_lint_findings_free(r.f, r.n);

	/* A clean plan has no findings and no array. */
	{
		spec ok[] = { { "CREATE TABLE t (a int)", false, NULL, NULL } };

		r = lint_specs(ok, 1);
		assert_int_equal(r.n, 0);
		assert_null(r.f);
	}
}

static void
test_waiver_marks_finding_and_unblocks(void **state)
{
	spec s[] = { { "ALTER TABLE clients DROP COLUMN legacy", false,
	    "drop-column", "unused since release 41" } };
	result r = lint_specs(s, 1);

	(void)state;
	assert_int_equal(r.n, 1);
	assert_true(r.f[0].waived);
	assert_string_equal(r.f[0].reason, "unused since release 41");
	assert_int_equal(sk_lint_blocking(r.f, r.n), 0);
	sk_lint_findings_free(r.f, r.n);

	/* The waiver covers its own step only. */
	{
		spec two[] = { { "SELECT 1", false, "drop-column", "r" },
			{ "ALTER TABLE clients DROP COLUMN legacy", false, NULL, NULL } };

		r = lint_specs(two, 2);
		assert_int_equal(count_rule(&r, "drop-column"), 1);
		assert_false(find_rule(&r, "drop-column")->waived);
		assert_int_equal(sk_lint_blocking(r.f, r.n), 1);
		assert_int_equal(count_rule(&r, "unused-waiver"), 1);
		sk_lint_findings_free(r.f, r.n);
	}
}

static void
test_unused_waiver_is_a_warning(void **state)
{
	spec s[] = { { "CREATE TABLE t (a int)", false, "drop-table", "just in case" } };
	result r = lint_specs(s, 1);

	(void)state;
	assert_int_equal(r.n, 1);
	assert_string_equal(r.f[0].rule->id, "unused-waiver");
	assert_int_equal(r.f[0].rule->severity, SK_LINT_WARNING);
	assert_string_equal(r.f[0].file, "plan.yaml");
	assert_int_equal(r.f[0].line, 0);
	assert_string_equal(r.f[0].message,
	    "step s1 waives drop-table, which does not fire in it");
	assert_int_equal(sk_lint_blocking(r.f, r.n), 0);
	sk_lint_findings_free(r.f, r.n);
}

static void
test_unknown_waiver_rule_is_refused(void **state)
{
	spec s[] = { { "ALTER TABLE t DROP COLUMN a", false, "drop-colum", "typo" } };
	sk_plan *p = make_plan(s, 1);
	sk_lint_finding *sentinel = (sk_lint_finding *)&sentinel;
	sk_lint_finding *f = sentinel;
	size_t n = 77;
	sk_err err;

	(void)state;
	assert_int_equal(sk_lint_plan(p, &f, &n, &err), SK_EINVAL);
	assert_string_equal(
	    err.msg, "lint plan: step s1 waives unknown rule \"drop-colum\"");
	assert_non_null(strstr(err.hint, "--rules"));
	/* Nothing handed out. */
	assert_ptr_equal(f, sentinel);
	assert_int_equal(n, 77);
	sk_plan_destroy(p);
}

static void
test_unparsable_sql_fails_the_lint_with_file_and_line(void **state)
{
	spec s[] = { { "SELECT 1;\nALTER TABEL t ADD a int;", false, NULL, NULL } };
	sk_plan *p = make_plan(s, 1);
	sk_lint_finding *f = NULL;
	size_t n = 0;
	sk_err err;

	(void)state;
	assert_int_equal(sk_lint_plan(p, &f, &n, &err), SK_EINVAL);
	assert_string_equal(err.msg, "s1.sql:2: syntax error at or near \"TABEL\"");
	assert_null(f);
	sk_plan_destroy(p);
}

static void
test_print_text_and_json(void **state)
{
	spec s[] = {
		{ "ALTER TABLE clients DROP COLUMN legacy", false,
		    "drop-column", "gone since 41" },
		{ "\nRESET ALL", false, NULL, NULL },
	};
	result r = lint_specs(s, 2);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	json_t *root, *list;
	sk_err err;

	(void)state;
	assert_non_null(out);
	sk_lint_print(out, "plans/x", r.f, r.n);
	sk_lint_print_summary(out, r.f, r.n);
	fclose(out);
	assert_string_equal(buf,
	    "plans/x/s1.sql:1: error drop-column: drops column legacy of clients\n"
	    "  fix: stop reading and writing the column in a release first, then "
	    "drop it in a later plan with a waiver saying so\n"
	    "  waived (reason: gone since 41)\n"
	    "plans/x/s2.sql:2: error session-set: RESET ALL lasts for the "
	    "session, not the transaction\n"
	    "  fix: SET LOCAL (or set_config(..., true)) in a transactional "
	    "step; timeouts belong in plan.yaml\n"
	    "lint: 2 errors, 0 warnings, 1 waived; 1 blocking\n");
	free(buf);

	out = open_memstream(&buf, &len);
	assert_non_null(out);
	assert_int_equal(sk_lint_print_json(out, "plans/x", r.f, r.n, &err), SK_OK);
	fclose(out);
	root = json_loads(buf, 0, NULL);
	assert_non_null(root);
	list = json_object_get(root, "findings");
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(list, 0), "file")),
	    "plans/x/s1.sql");
	assert_true(json_is_true(json_object_get(json_array_get(list, 0), "waived")));
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(list, 0), "reason")),
	    "gone since 41");
	assert_true(json_is_null(json_object_get(json_array_get(list, 1), "reason")));
	assert_int_equal(json_integer_value(json_object_get(root, "blocking")), 1);
	assert_int_equal(json_integer_value(json_object_get(root, "errors")), 2);
	json_decref(root);
	free(buf);
	sk_lint_findings_free(r.f, r.n);
}

/* A plan directory in a fresh temporary directory: plan.yaml naming one
 * step 0001_s with sql, and waiver_yaml (may be "") appended to it. */
static void
write_plan_dir(char *dir, size_t len, const char *sql, const char *waiver_yaml)
{
	char path[512];
	FILE *f;

	snprintf(dir, len, "/tmp/skein-lint-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/plan.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
	    "name: lintbuild\nphases:\n  - name: one\n    regions: [af]\n"
	    "steps:\n  - id: 0001_s\n    sql: 0001_s.sql\n%s",
	    waiver_yaml);
	fclose(f);
	snprintf(path, sizeof(path), "%s/0001_s.sql", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(sql, f);
	fclose(f);
}

static void
remove_plan_dir(const char *dir)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/plan.yaml", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/0001_s.sql", dir);
	unlink(path);
	rmdir(dir);
}

static void
test_build_refuses_unwaived_error_and_returns_findings(void **state)
{
	char dir[64], want[256];
	sk_plan *sentinel = (sk_plan *)&sentinel, *plan = sentinel;
	sk_lint_finding *f = NULL;
	size_t n = 0;
	sk_err err;

	(void)state;
	write_plan_dir(dir, sizeof(dir),
	    "-- retire it\nALTER TABLE clients DROP COLUMN legacy;\n", "");
	assert_int_equal(
	    sk_plan_build_lint(dir, NULL, 1800000000, &plan, &f, &n, &err), SK_ELINT);
	assert_ptr_equal(plan, sentinel);
	snprintf(want, sizeof(want),
	    "build plan %s: 1 lint error not waived: drop-column (%s/0001_s.sql:2)",
	    dir, dir);
	assert_string_equal(err.msg, want);
	/* The step has no revert either: a warning, which blocks nothing. */
	assert_int_equal(n, 2);
	assert_string_equal(f[0].rule->id, "drop-column");
	assert_int_equal(f[0].line, 2);
	assert_string_equal(f[1].rule->id, "no-revert");
	assert_int_equal(f[1].rule->severity, SK_LINT_WARNING);
	sk_lint_findings_free(f, n);
	/* sk_plan_build refuses it the same way. */
	assert_int_equal(sk_plan_build(dir, NULL, 1800000000, &plan, &err), SK_ELINT);
	assert_ptr_equal(plan, sentinel);
	remove_plan_dir(dir);

	/* Waived: the plan builds, carries the waiver, and the finding is
	 * still handed back, marked. */
	write_plan_dir(dir, sizeof(dir), "ALTER TABLE clients DROP COLUMN legacy;\n",
	    "    waive:\n      - rule: drop-column\n        reason: unused since 41\n");
	assert_int_equal(
	    sk_plan_build_lint(dir, NULL, 1800000000, &plan, &f, &n, &err), SK_OK);
	assert_int_equal(n, 2);
	assert_true(f[0].waived);
	assert_string_equal(f[0].reason, "unused since 41");
	assert_int_equal(plan->steps[0].nwaivers, 1);
	assert_string_equal(plan->steps[0].waivers[0].reason, "unused since 41");
	sk_lint_findings_free(f, n);
	sk_plan_destroy(plan);
	remove_plan_dir(dir);
}

static void
test_build_names_syntax_error_file_and_line(void **state)
{
	char dir[64], want[256];
	sk_plan *sentinel = (sk_plan *)&sentinel, *plan = sentinel;
	sk_lint_finding *f = (sk_lint_finding *)&f;
	size_t n = 5;
	sk_err err;

	(void)state;
	write_plan_dir(dir, sizeof(dir), "SELECT 1;\n\nCREATE TABEL t (a int);\n", "");
	assert_int_equal(
	    sk_plan_build_lint(dir, NULL, 1800000000, &plan, &f, &n, &err), SK_EINVAL);
	snprintf(want, sizeof(want),
	    "%s/0001_s.sql:3: syntax error at or near \"TABEL\"", dir);
	assert_string_equal(err.msg, want);
	assert_ptr_equal(plan, sentinel);
	assert_null(f);
	assert_int_equal(n, 0);
	remove_plan_dir(dir);

	/* Comments alone are no step. */
	write_plan_dir(dir, sizeof(dir), "-- TODO\n", "");
	assert_int_equal(sk_plan_build(dir, NULL, 1800000000, &plan, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "no SQL statement in it, only comments"));
	remove_plan_dir(dir);

	/* A waiver of an unknown rule is refused at its line in plan.yaml. */
	write_plan_dir(dir, sizeof(dir), "SELECT 1;\n",
	    "    waive:\n      - rule: drop-colum\n        reason: typo\n");
	assert_int_equal(sk_plan_build(dir, NULL, 1800000000, &plan, &err), SK_EINVAL);
	assert_non_null(strstr(err.msg, "plan.yaml:9:"));
	assert_non_null(strstr(err.msg, "unknown lint rule \"drop-colum\""));
	remove_plan_dir(dir);
}

static void
test_build_fills_concurrent_indexes(void **state)
{
	char dir[64];
	sk_plan *plan = NULL;
	sk_err err;

	(void)state;
	write_plan_dir(dir, sizeof(dir),
	    "CREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON app.a (x);\n",
	    "    transaction: false\n");
	if (sk_plan_build(dir, NULL, 1800000000, &plan, &err) != SK_OK)
		fail_msg("build: %s", err.msg);
	assert_int_equal(plan->steps[0].nconcurrent_indexes, 1);
	assert_string_equal(plan->steps[0].concurrent_indexes[0], "app.a_idx");
	assert_true(plan->steps[0].no_transaction);
	sk_plan_destroy(plan);
	remove_plan_dir(dir);
}

/* QA: common safe migration SQL that must not fire. */
static void
test_qa_safe_migrations_stay_quiet(void **state)
{
	static const char *const blocking[] = { "index-not-concurrent",
		"constraint-not-valid", "session-set", "drop-table",
		"transaction-control", "add-column-rewrite", "table-rewrite", NULL };
	static const char *const safe[] = { /* NOT VALID, then VALIDATE in the same step. */
		"ALTER TABLE ONLY public.orders ADD CONSTRAINT o_fk FOREIGN KEY "
		"(c) REFERENCES clients (id) NOT VALID; ALTER TABLE ONLY orders "
		"VALIDATE CONSTRAINT o_fk",
		"ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new'",
		"ALTER TABLE \"Orders\" ADD COLUMN n int DEFAULT 0",
		/* The partitioned-parent pattern: ON ONLY builds nothing. */
		"CREATE INDEX IF NOT EXISTS m_at ON ONLY metrics (at)",
		"CREATE TABLE metrics_2026 PARTITION OF metrics FOR VALUES FROM "
		"('2026-01-01') TO ('2027-01-01'); CREATE INDEX m26_at ON "
		"metrics_2026 (at)",
		"DO $$ BEGIN EXECUTE 'DROP TABLE x; SET search_path = a'; END $$",
		"CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$ SET x.y = 1; "
		"$$",
		"CREATE FUNCTION g() RETURNS void LANGUAGE plpgsql AS 'begin "
		"commit; end'",
		"SET LOCAL lock_timeout = '1s'",
		"SELECT set_config('app.tenant', 'x', true)",
		"-- DROP TABLE clients;\n/* SET search_path = x */ SELECT 1",
		"CREATE VIEW v AS SELECT set_config('a.b', 'x', false)",
		"VACUUM (FULL false, ANALYZE) orders", NULL
	};

	(void)state;
	for (size_t i = 0; safe[i] != NULL; i++)
		for (size_t k = 0; blocking[k] != NULL; k++)
			quiet(safe[i], strncmp(safe[i], "VACUUM", 6) == 0,
			    blocking[k]);
	/* IF NOT EXISTS in an earlier step, index and constraint later. */
	assert_int_equal(two_steps("CREATE TABLE IF NOT EXISTS app.events (a int)",
			     "CREATE INDEX events_a ON events (a); ALTER TABLE "
			     "\"app\".events ADD CONSTRAINT a_pos CHECK (a > 0)",
			     false, "index-not-concurrent"),
	    0);
	assert_int_equal(two_steps("CREATE TABLE IF NOT EXISTS app.events (a int)",
			     "ALTER TABLE ONLY events ADD CONSTRAINT a_pos CHECK (a > 0)",
			     false, "constraint-not-valid"),
	    0);
	/* Quoted names are case-sensitive: "Events" is not events. */
	assert_int_equal(
	    two_steps("CREATE TABLE \"Events\" (a int)",
		"CREATE INDEX e_a ON events (a)", false, "index-not-concurrent"),
	    1);
	assert_int_equal(two_steps("CREATE TABLE \"Events\" (a int)",
			     "CREATE INDEX e_a ON \"Events\" (a)", false,
			     "index-not-concurrent"),
	    0);
}

/* QA: dangerous SQL the lint used to let through. */
static void
test_qa_missed_dangers_fire(void **state)
{
	(void)state;
	/* ADD COLUMN ... REFERENCES / CHECK validates at once. */
	fires("ALTER TABLE orders ADD COLUMN client_id bigint REFERENCES clients (id)",
	    false, "constraint-not-valid");
	fires("ALTER TABLE orders ADD COLUMN qty int CHECK (qty > 0)", false,
	    "constraint-not-valid");
	fires("ALTER TABLE orders ADD COLUMN ref text UNIQUE", false,
	    "constraint-builds-index");
	quiet("CREATE TABLE orders (a int); ALTER TABLE orders ADD COLUMN c "
	      "bigint REFERENCES clients (id)",
	    false, "constraint-not-valid");
	/* The second of two subcommands is the dangerous one. */
	fires("ALTER TABLE orders ADD COLUMN n int, ADD CONSTRAINT n_pos CHECK (n > 0)",
	    false, "constraint-not-valid");
	fires("ALTER TABLE orders ALTER COLUMN a SET DEFAULT 1, ALTER COLUMN b "
	      "TYPE bigint",
	    false, "alter-column-type");
	/* CREATE UNIQUE INDEX and REINDEX without CONCURRENTLY. */
	fires("CREATE UNIQUE INDEX o_ref ON orders (ref)", false, "index-not-concurrent");
	fires("REINDEX TABLE orders", false, "index-not-concurrent");
	fires("REINDEX INDEX app.orders_ref", false, "index-not-concurrent");
	quiet("REINDEX (CONCURRENTLY) INDEX app.orders_ref", true,
	    "index-not-concurrent");
	fires("REINDEX INDEX CONCURRENTLY orders_ref", false,
	    "non-transactional-in-transaction");
	fires("REINDEX SCHEMA app", true, "index-not-concurrent");
	fires("REINDEX SCHEMA app", false, "non-transactional-in-transaction");
	quiet("CREATE TABLE t (a int); CREATE INDEX t_a ON t (a); REINDEX INDEX t_a; "
	      "REINDEX TABLE t",
	    false, "index-not-concurrent");
	/* Whole-table rewrites. */
	fires("VACUUM FULL orders", true, "table-rewrite");
	fires("VACUUM (FULL, ANALYZE)", true, "table-rewrite");
	fires("CLUSTER orders USING orders_pkey", false, "table-rewrite");
	fires("ALTER TABLE orders SET TABLESPACE fast", false, "table-rewrite");
	fires("ALTER TABLE orders SET UNLOGGED", false, "table-rewrite");
	quiet("CREATE TABLE t (a int); ALTER TABLE t SET LOGGED", false, "table-rewrite");
	quiet("VACUUM ANALYZE orders", true, "table-rewrite");
	/* DROP TABLE IF EXISTS, renames through ALTER VIEW. */
	fires("DROP TABLE IF EXISTS orders", false, "drop-table");
	fires("ALTER VIEW v RENAME TO v2", false, "rename-in-one-step");
	{
		spec s[] = { { "VACUUM FULL orders", true, NULL, NULL } };
		result r = lint_specs(s, 1);
		const sk_lint_finding *f = find_rule(&r, "table-rewrite");

		assert_non_null(f);
		assert_int_equal(f->rule->severity, SK_LINT_ERROR);
		assert_string_equal(f->message,
		    "VACUUM FULL rewrites orders under an ACCESS EXCLUSIVE lock, and "
		    "orders is not created by this plan");
		assert_int_equal(sk_lint_blocking(r.f, r.n), 1);
		sk_lint_findings_free(r.f, r.n);
	}
}

/* ---- issue 14: the rules added for parity with squawk ---------------- */

/* Like lint_specs, with preflight.server_version set to version. */
static result
lint_specs_version(const spec *specs, size_t n, uint32_t version)
{
	sk_plan *p = make_plan(specs, n);
	result r = { NULL, 0 };
	sk_err err;

	p->preflight.min_server_version = version;
	if (sk_lint_plan(p, &r.f, &r.n, &err) != SK_OK)
		fail_msg("lint: %s", err.msg);
	sk_plan_destroy(p);
	return r;
}

/* How often rule fires on sql as the only step, on a server version. */
static size_t
count_on(const char *sql, bool notx, uint32_t version, const char *rule)
{
	spec s[] = { { sql, notx, NULL, NULL } };
	result r = lint_specs_version(s, 1, version);
	size_t c = count_rule(&r, rule);

	sk_lint_findings_free(r.f, r.n);
	return c;
}

static void
test_new_rules_are_in_the_table_with_their_severity(void **state)
{
	static const struct {
		const char *id;
		int severity;
	} want[] = {
		{ "validate-in-same-transaction", SK_LINT_ERROR },
		{ "drop-index-not-concurrent", SK_LINT_ERROR },
		{ "detach-partition-not-concurrent", SK_LINT_ERROR },
		{ "not-null-column-without-default", SK_LINT_ERROR },
		{ "drop-database", SK_LINT_ERROR },
		{ "alter-domain-constraint", SK_LINT_ERROR },
		{ "identifier-too-long", SK_LINT_ERROR },
		{ "update-column-twice", SK_LINT_ERROR },
		{ "drop-not-null", SK_LINT_WARNING },
		{ "non-idempotent-without-transaction", SK_LINT_WARNING },
		{ "create-domain-check", SK_LINT_WARNING },
		{ "enum-value-order", SK_LINT_WARNING },
		{ "prefer-text-over-char", SK_LINT_WARNING },
		{ "prefer-text-over-varchar", SK_LINT_WARNING },
		{ "prefer-bigint", SK_LINT_WARNING },
		{ "prefer-identity", SK_LINT_WARNING },
		{ "prefer-timestamptz", SK_LINT_WARNING },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const sk_lint_rule *r = sk_lint_rule_find(want[i].id);

		if (r == NULL)
			fail_msg("rule %s is missing", want[i].id);
		assert_int_equal(r->severity, want[i].severity);
	}
}

static void
test_validate_in_same_transaction(void **state)
{
	(void)state;
	/* CHECK and FOREIGN KEY, validated in the transaction that added
	 * them NOT VALID. */
	fires("ALTER TABLE orders ADD CONSTRAINT qty_pos CHECK (qty > 0) NOT "
	      "VALID;\nALTER TABLE orders VALIDATE CONSTRAINT qty_pos",
	    false, "validate-in-same-transaction");
	fires("ALTER TABLE orders ADD CONSTRAINT o_fk FOREIGN KEY (c) "
	      "REFERENCES clients (id) NOT VALID, VALIDATE CONSTRAINT o_fk",
	    false, "validate-in-same-transaction");
	fires("ALTER TABLE app.orders ADD CHECK (qty > 0) NOT VALID; ALTER "
	      "TABLE orders VALIDATE CONSTRAINT orders_qty_check",
	    false, "validate-in-same-transaction");
	/* Safe: VALIDATE in a later step; in a transaction: false step
	 * (each statement commits); another constraint or table; the
	 * plan's own table. */
	assert_int_equal(two_steps("ALTER TABLE orders ADD CONSTRAINT qty_pos CHECK (qty > "
				   "0) NOT VALID",
			     "ALTER TABLE orders VALIDATE CONSTRAINT qty_pos",
			     false, "validate-in-same-transaction"),
	    0);
	quiet("ALTER TABLE orders ADD CONSTRAINT qty_pos CHECK (qty > 0) NOT "
	      "VALID;\nALTER TABLE orders VALIDATE CONSTRAINT qty_pos",
	    true, "validate-in-same-transaction");
	quiet("ALTER TABLE orders ADD CONSTRAINT a CHECK (qty > 0) NOT VALID;\n"
	      "ALTER TABLE orders VALIDATE CONSTRAINT b",
	    false, "validate-in-same-transaction");
	quiet("ALTER TABLE orders ADD CONSTRAINT a CHECK (qty > 0) NOT VALID;\n"
	      "ALTER TABLE clients VALIDATE CONSTRAINT a",
	    false, "validate-in-same-transaction");
	quiet("CREATE TABLE orders (qty int); ALTER TABLE orders ADD "
	      "CONSTRAINT a CHECK (qty > 0) NOT VALID; ALTER TABLE orders "
	      "VALIDATE CONSTRAINT a",
	    false, "validate-in-same-transaction");
	{
		spec s[] = { { "ALTER TABLE orders ADD CONSTRAINT o_fk FOREIGN "
			       "KEY (c) REFERENCES clients (id) NOT VALID;\n\n"
			       "ALTER TABLE orders VALIDATE CONSTRAINT o_fk",
		    false, NULL, NULL } };
		result r = lint_specs(s, 1);
		const sk_lint_finding *f =
		    find_rule(&r, "validate-in-same-transaction");

		assert_non_null(f);
		assert_int_equal(f->line, 3);
		assert_string_equal(f->message,
		    "validates constraint o_fk of orders in the transaction of "
		    "step s1, which added it NOT VALID at line 1: the scan runs "
		    "under the ADD's SHARE ROW EXCLUSIVE (on both tables) lock");
		assert_int_equal(sk_lint_blocking(r.f, r.n), 1);
		sk_lint_findings_free(r.f, r.n);
	}
}

static void
test_drop_index_and_detach_partition_not_concurrent(void **state)
{
	(void)state;
	fires("DROP INDEX orders_ref_idx", false, "drop-index-not-concurrent");
	fires("DROP INDEX IF EXISTS app.orders_ref_idx, b_idx", false,
	    "drop-index-not-concurrent");
	quiet("DROP INDEX CONCURRENTLY IF EXISTS orders_ref_idx", true,
	    "drop-index-not-concurrent");
	/* The plan's own index. */
	quiet("CREATE TABLE t (a int); CREATE INDEX t_a ON t (a); DROP INDEX t_a",
	    false, "drop-index-not-concurrent");
	assert_int_equal(count_on("DROP INDEX a_idx, b_idx", false, 0,
			     "drop-index-not-concurrent"),
	    2);
	fires("ALTER TABLE metrics DETACH PARTITION metrics_2020", false,
	    "detach-partition-not-concurrent");
	quiet("ALTER TABLE metrics DETACH PARTITION metrics_2020 CONCURRENTLY",
	    true, "detach-partition-not-concurrent");
	quiet("CREATE TABLE m (at date) PARTITION BY RANGE (at); ALTER TABLE m "
	      "DETACH PARTITION m_2020",
	    false, "detach-partition-not-concurrent");
	{
		spec s[] = { { "ALTER TABLE m DETACH PARTITION m1", false, NULL, NULL } };
		result r = lint_specs_version(s, 1, 130000);
		const sk_lint_finding *f =
		    find_rule(&r, "detach-partition-not-concurrent");

		assert_non_null(f);
		assert_string_equal(f->message,
		    "detaches partition m1 from m without CONCURRENTLY "
		    "(CONCURRENTLY needs PostgreSQL 14; "
		    "preflight.server_version is 13)");
		sk_lint_findings_free(r.f, r.n);
	}
}

static void
test_add_column_not_null_without_default(void **state)
{
	(void)state;
	fires("ALTER TABLE clients ADD COLUMN region text NOT NULL", false,
	    "not-null-column-without-default");
	fires("ALTER TABLE clients ADD COLUMN code int PRIMARY KEY", false,
	    "not-null-column-without-default");
	fires("ALTER TABLE clients ADD COLUMN region text NOT NULL DEFAULT NULL",
	    false, "not-null-column-without-default");
	quiet("ALTER TABLE clients ADD COLUMN region text NOT NULL DEFAULT 'eu'",
	    false, "not-null-column-without-default");
	quiet("ALTER TABLE clients ADD COLUMN region text", false,
	    "not-null-column-without-default");
	quiet("ALTER TABLE clients ADD COLUMN n bigint GENERATED ALWAYS AS "
	      "IDENTITY NOT NULL",
	    false, "not-null-column-without-default");
	quiet("CREATE TABLE clients (id int); ALTER TABLE clients ADD COLUMN "
	      "region text NOT NULL",
	    false, "not-null-column-without-default");
}

static void
test_drop_not_null(void **state)
{
	(void)state;
	fires("ALTER TABLE clients ALTER COLUMN region DROP NOT NULL", false,
	    "drop-not-null");
	quiet("CREATE TABLE clients (region text NOT NULL); ALTER TABLE "
	      "clients ALTER COLUMN region DROP NOT NULL",
	    false, "drop-not-null");
	quiet("ALTER TABLE clients ALTER COLUMN region SET NOT NULL", false,
	    "drop-not-null");
	assert_int_equal(sk_lint_rule_find("drop-not-null")->severity, SK_LINT_WARNING);
}

static void
test_non_idempotent_without_transaction(void **state)
{
	static const char *const risky[] = {
		"ALTER TABLE clients ADD COLUMN region text",
		"CREATE INDEX CONCURRENTLY clients_region ON clients (region)",
		"DROP INDEX CONCURRENTLY clients_region",
		"CREATE TABLE audit (id bigint)",
		"DROP TABLE audit",
		"ALTER TABLE clients DROP COLUMN legacy",
		"ALTER TYPE mood ADD VALUE 'meh' AFTER 'ok'",
		NULL,
	};
	static const char *const robust[] = {
		"ALTER TABLE clients ADD COLUMN IF NOT EXISTS region text",
		"CREATE INDEX CONCURRENTLY IF NOT EXISTS clients_region ON "
		"clients (region)",
		"DROP INDEX CONCURRENTLY IF EXISTS clients_region",
		"CREATE TABLE IF NOT EXISTS audit (id bigint)",
		"DROP TABLE IF EXISTS audit",
		"ALTER TABLE clients DROP COLUMN IF EXISTS legacy",
		"ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' AFTER 'ok'",
		"CREATE TEMP TABLE scratch (a int) ON COMMIT DROP",
		NULL,
	};

	(void)state;
	for (size_t i = 0; risky[i] != NULL; i++) {
		fires(risky[i], true, "non-idempotent-without-transaction");
		/* A transactional step is all or nothing: no re-run. */
		quiet(risky[i], false, "non-idempotent-without-transaction");
	}
	for (size_t i = 0; robust[i] != NULL; i++)
		quiet(robust[i], true, "non-idempotent-without-transaction");
}

static void
test_add_column_default_rewrites_by_server_version(void **state)
{
	(void)state;
	/* A user function may be volatile. */
	fires("ALTER TABLE t ADD COLUMN code text DEFAULT make_code()", false,
	    "add-column-rewrite");
	fires("ALTER TABLE t ADD COLUMN code text DEFAULT app.make_code(1)",
	    false, "add-column-rewrite");
	quiet("ALTER TABLE t ADD COLUMN code text DEFAULT lower('X')", false,
	    "add-column-rewrite");
	quiet("CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN code text "
	      "DEFAULT make_code()",
	    false, "add-column-rewrite");
	/* A constant default: cheap from 11, a rewrite before. */
	assert_int_equal(count_on("ALTER TABLE t ADD COLUMN n int DEFAULT 0",
			     false, 100000, "add-column-rewrite"),
	    1);
	assert_int_equal(count_on("ALTER TABLE t ADD COLUMN n int DEFAULT 0",
			     false, 110000, "add-column-rewrite"),
	    0);
	assert_int_equal(count_on("ALTER TABLE t ADD COLUMN n int DEFAULT 0",
			     false, 0, "add-column-rewrite"),
	    0);
	assert_int_equal(count_on("ALTER TABLE t ADD COLUMN n int DEFAULT NULL",
			     false, 100000, "add-column-rewrite"),
	    0);
	{
		spec s[] = { { "ALTER TABLE t ADD COLUMN n int DEFAULT 0",
		    false, NULL, NULL } };
		result r = lint_specs_version(s, 1, 90600);

		assert_int_equal(r.n, 1);
		assert_string_equal(r.f[0].message,
		    "adds column n to t with a default, which rewrites the "
		    "table before PostgreSQL 11 (preflight.server_version is "
		    "9.6)");
		sk_lint_findings_free(r.f, r.n);
	}
}

static void
test_drop_database_in_any_step(void **state)
{
	(void)state;
	fires("DROP DATABASE legacy", true, "drop-database");
	fires("DROP DATABASE IF EXISTS legacy", false, "drop-database");
	quiet("CREATE DATABASE legacy", true, "drop-database");
	quiet("DROP SCHEMA legacy", true, "drop-database");
}

static void
test_type_choices_warn(void **state)
{
	(void)state;
	fires("CREATE TABLE t (code char(3))", false, "prefer-text-over-char");
	fires("ALTER TABLE t ADD COLUMN code character(2)", false,
	    "prefer-text-over-char");
	quiet("CREATE TABLE t (code text)", false, "prefer-text-over-char");
	quiet("CREATE TABLE t (flag \"char\")", false, "prefer-text-over-char");
	fires("CREATE TABLE t (name varchar(100))", false, "prefer-text-over-varchar");
	fires("ALTER TABLE t ALTER COLUMN name TYPE character varying(200)",
	    false, "prefer-text-over-varchar");
	quiet("CREATE TABLE t (name varchar)", false, "prefer-text-over-varchar");
	quiet("CREATE TABLE t (name text CHECK (length(name) <= 100))", false,
	    "prefer-text-over-varchar");
	fires("CREATE TABLE t (id integer PRIMARY KEY)", false, "prefer-bigint");
	fires("CREATE TABLE t (id int, PRIMARY KEY (id))", false, "prefer-bigint");
	fires("CREATE TABLE t (id smallint GENERATED ALWAYS AS IDENTITY)",
	    false, "prefer-bigint");
	fires("CREATE TABLE t (id serial)", false, "prefer-bigint");
	quiet("CREATE TABLE t (id bigint PRIMARY KEY, qty int)", false, "prefer-bigint");
	quiet("CREATE TABLE t (id bigserial)", false, "prefer-bigint");
	fires("CREATE TABLE t (id bigserial PRIMARY KEY)", false, "prefer-identity");
	fires("ALTER TABLE t ADD COLUMN n smallserial", false, "prefer-identity");
	quiet("CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY)", false,
	    "prefer-identity");
	fires("CREATE TABLE t (at timestamp)", false, "prefer-timestamptz");
	fires("ALTER TABLE t ADD COLUMN at timestamp(3) without time zone",
	    false, "prefer-timestamptz");
	quiet("CREATE TABLE t (at timestamptz, b timestamp with time zone)",
	    false, "prefer-timestamptz");
	/* Temporary tables are scratch space. */
	quiet("CREATE TEMP TABLE s (at timestamp, c char(2)) ON COMMIT DROP",
	    false, "prefer-timestamptz");
	{
		spec s[] = { { "CREATE TABLE t (id serial PRIMARY KEY, c "
			       "char(2), at timestamp)",
		    false, NULL, NULL } };
		result r = lint_specs(s, 1);

		/* prefer-bigint, prefer-identity, char, timestamptz: all
		 * warnings, none blocks. */
		assert_int_equal(r.n, 4);
		assert_int_equal(sk_lint_blocking(r.f, r.n), 0);
		assert_string_equal(find_rule(&r, "prefer-bigint")->message,
		    "key column id of t is serial");
		sk_lint_findings_free(r.f, r.n);
	}
}

static void
test_domains_and_enums(void **state)
{
	(void)state;
	fires("CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%')", false,
	    "create-domain-check");
	quiet("CREATE DOMAIN email AS text", false, "create-domain-check");
	quiet("CREATE DOMAIN email AS text NOT NULL", false, "create-domain-check");
	fires("ALTER DOMAIN email ADD CONSTRAINT has_at CHECK (VALUE LIKE "
	      "'%@%')",
	    false, "alter-domain-constraint");
	fires("ALTER DOMAIN email VALIDATE CONSTRAINT has_at", false,
	    "alter-domain-constraint");
	fires("ALTER DOMAIN email SET NOT NULL", false, "alter-domain-constraint");
	quiet("ALTER DOMAIN email ADD CONSTRAINT has_at CHECK (VALUE LIKE "
	      "'%@%') NOT VALID",
	    false, "alter-domain-constraint");
	quiet("ALTER DOMAIN email DROP CONSTRAINT has_at", false,
	    "alter-domain-constraint");
	fires("ALTER TYPE mood ADD VALUE 'meh'", false, "enum-value-order");
	quiet("ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok'", false, "enum-value-order");
	quiet("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' AFTER 'sad'",
	    false, "enum-value-order");
	quiet("ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'", false, "enum-value-order");
	/* Before PostgreSQL 12, ADD VALUE cannot run in a transaction. */
	assert_int_equal(count_on("ALTER TYPE mood ADD VALUE 'meh' AFTER 'ok'",
			     false, 110000, "non-transactional-in-transaction"),
	    1);
	assert_int_equal(count_on("ALTER TYPE mood ADD VALUE 'meh' AFTER 'ok'",
			     false, 120000, "non-transactional-in-transaction"),
	    0);
	assert_int_equal(count_on("ALTER TYPE mood ADD VALUE 'meh' AFTER 'ok'",
			     true, 110000, "non-transactional-in-transaction"),
	    0);
}

static void
test_identifier_too_long_and_update_twice(void **state)
{
	/* 64 and 63 bytes. */
	static const char *const long_name =
	    "a_very_long_index_name_that_goes_on_and_on_and_on_beyond_63_wxyz";
	static const char *const ok_name =
	    "a_very_long_index_name_that_goes_on_and_on_and_on_beyond_63_wxy";
	char sql[512];

	(void)state;
	assert_int_equal(strlen(long_name), 64);
	snprintf(sql, sizeof(sql),
	    "CREATE TABLE t (a int); CREATE INDEX %s ON "
	    "t (a)",
	    long_name);
	fires(sql, false, "identifier-too-long");
	snprintf(sql, sizeof(sql),
	    "ALTER TABLE t ADD CONSTRAINT \"%s\" CHECK "
	    "(a > 0) NOT VALID",
	    long_name);
	fires(sql, false, "identifier-too-long");
	snprintf(sql, sizeof(sql),
	    "CREATE TABLE t (a int); CREATE INDEX %s ON "
	    "t (a)",
	    ok_name);
	quiet(sql, false, "identifier-too-long");
	/* A long string is no identifier. */
	snprintf(sql, sizeof(sql), "SELECT '%s%s'", long_name, long_name);
	quiet(sql, false, "identifier-too-long");
	/* Multi-byte: 32 two-byte characters are 64 bytes. */
	quiet("CREATE TABLE \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	      "\xc3\xa9\" (a int)",
	    false, "identifier-too-long");
	fires("CREATE TABLE \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	      "\xc3\xa9\xc3\xa9\" (a int)",
	    false, "identifier-too-long");

	fires("UPDATE clients SET status = 'a', region = 'eu', status = 'b'",
	    false, "update-column-twice");
	fires("UPDATE clients SET (status, region) = ('a', 'eu'), status = 'b'",
	    false, "update-column-twice");
	fires("INSERT INTO clients (id) VALUES (1) ON CONFLICT (id) DO UPDATE "
	      "SET n = 1, n = 2",
	    false, "update-column-twice");
	quiet("UPDATE clients SET status = 'a', region = 'eu'", false,
	    "update-column-twice");
	quiet("UPDATE clients SET tags[1] = 'a', tags[2] = 'b'", false,
	    "update-column-twice");
}

static void
test_set_not_null_after_validated_check_is_quiet(void **state)
{
	static const char *const add =
	    "ALTER TABLE clients ADD CONSTRAINT region_nn CHECK (region IS "
	    "NOT NULL) NOT VALID";
	static const char *const validate =
	    "ALTER TABLE clients VALIDATE CONSTRAINT region_nn";
	static const char *const set =
	    "ALTER TABLE clients ALTER COLUMN region SET NOT NULL";

	(void)state;
	/* skein's own recipe: NOT VALID, VALIDATE in a later step, SET NOT
	 * NULL. */
	{
		spec s[] = { { add, false, NULL, NULL },
			{ validate, false, NULL, NULL }, { set, false, NULL, NULL } };
		result r = lint_specs(s, 3);

		assert_int_equal(count_rule(&r, "set-not-null"), 0);
		sk_lint_findings_free(r.f, r.n);
		r = lint_specs_version(s, 3, 120000);
		assert_int_equal(count_rule(&r, "set-not-null"), 0);
		sk_lint_findings_free(r.f, r.n);
		/* PostgreSQL 11 scans anyway. */
		r = lint_specs_version(s, 3, 110000);
		assert_int_equal(count_rule(&r, "set-not-null"), 1);
		assert_string_equal(find_rule(&r, "set-not-null")->message,
		    "sets column region of clients NOT NULL; CHECK region_nn "
		    "proves it, but PostgreSQL before 12 scans anyway "
		    "(preflight.server_version is 11)");
		sk_lint_findings_free(r.f, r.n);
	}
	/* An AND still proves it; validated in the same statement too. */
	assert_int_equal(two_steps("ALTER TABLE clients ADD CONSTRAINT c CHECK "
				   "(region IS NOT NULL AND region <> '')",
			     set, false, "set-not-null"),
	    0);
	/* Not validated, another column, another table, an OR, dropped
	 * before: the scan happens. */
	assert_int_equal(two_steps(add, set, false, "set-not-null"), 1);
	assert_int_equal(two_steps("ALTER TABLE clients ADD CONSTRAINT c CHECK (tier IS NOT "
				   "NULL)",
			     set, false, "set-not-null"),
	    1);
	assert_int_equal(two_steps("ALTER TABLE orders ADD CONSTRAINT c CHECK (region IS NOT "
				   "NULL)",
			     set, false, "set-not-null"),
	    1);
	assert_int_equal(two_steps("ALTER TABLE clients ADD CONSTRAINT c CHECK (region IS NOT "
				   "NULL OR tier > 1)",
			     set, false, "set-not-null"),
	    1);
	assert_int_equal(two_steps("ALTER TABLE clients ADD CONSTRAINT c CHECK (region IS NOT "
				   "NULL); ALTER TABLE clients DROP CONSTRAINT c",
			     set, false, "set-not-null"),
	    1);
	/* SET NOT NULL before the VALIDATE still scans. */
	{
		spec s[] = { { add, false, NULL, NULL }, { set, false, NULL, NULL },
			{ validate, false, NULL, NULL } };
		result r = lint_specs(s, 3);

		assert_int_equal(count_rule(&r, "set-not-null"), 1);
		sk_lint_findings_free(r.f, r.n);
	}
}

/* The SARIF 2.1.0 structure, checked with jansson: what the standard
 * requires of a log, a run, a tool, a rule and a result, and what skein
 * promises on top (every rule listed, ruleIndex naming ruleId, a waiver
 * as an external suppression). tests/integration/lint_cli.sh runs a
 * JSON-schema validator over the CLI's output as well. */
static void
test_print_sarif_is_sarif_2_1_0(void **state)
{
	spec s[] = {
		{ "ALTER TABLE clients DROP COLUMN legacy", false,
		    "drop-column", "gone since 41" },
		{ "\nALTER TABLE t ALTER COLUMN a DROP NOT NULL", false, NULL, NULL },
		{ "SELECT 1", false, "truncate", "stale" },
	};
	result r = lint_specs(s, 3);
	char *buf = NULL;
	size_t len = 0, nrules;
	const sk_lint_rule *rules = sk_lint_rules(&nrules);
	FILE *out = open_memstream(&buf, &len);
	json_t *root, *run, *driver, *jrules, *results;
	sk_err err;

	(void)state;
	assert_non_null(out);
	assert_int_equal(sk_lint_print_sarif(out, "plans/x y", r.f, r.n, &err), SK_OK);
	fclose(out);
	root = json_loads(buf, 0, NULL);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "version")), "2.1.0");
	assert_non_null(strstr(json_string_value(json_object_get(root, "$schema")),
	    "sarif-schema-2.1.0.json"));
	assert_int_equal(json_array_size(json_object_get(root, "runs")), 1);
	run = json_array_get(json_object_get(root, "runs"), 0);
	driver = json_object_get(json_object_get(run, "tool"), "driver");
	assert_string_equal(json_string_value(json_object_get(driver, "name")), "skein");
	jrules = json_object_get(driver, "rules");
	assert_int_equal(json_array_size(jrules), nrules);
	for (size_t i = 0; i < nrules; i++) {
		json_t *jr = json_array_get(jrules, i);
		const char *level = json_string_value(json_object_get(
		    json_object_get(jr, "defaultConfiguration"), "level"));

		assert_string_equal(
		    json_string_value(json_object_get(jr, "id")), rules[i].id);
		assert_string_equal(level,
		    rules[i].severity == SK_LINT_ERROR ? "error" : "warning");
		assert_non_null(json_string_value(json_object_get(
		    json_object_get(jr, "shortDescription"), "text")));
	}
	results = json_object_get(run, "results");
	assert_int_equal(json_array_size(results), r.n);
	for (size_t i = 0; i < r.n; i++) {
		json_t *res = json_array_get(results, i);
		json_t *phys = json_object_get(
		    json_array_get(json_object_get(res, "locations"), 0),
		    "physicalLocation");
		json_t *region = json_object_get(phys, "region");
		size_t idx =
		    (size_t)json_integer_value(json_object_get(res, "ruleIndex"));
		const char *level = json_string_value(json_object_get(res, "level"));

		assert_non_null(json_string_value(
		    json_object_get(json_object_get(res, "message"), "text")));
		assert_string_equal(json_string_value(json_object_get(res, "ruleId")),
		    r.f[i].rule->id);
		assert_true(idx < nrules);
		assert_string_equal(rules[idx].id, r.f[i].rule->id);
		assert_true(strcmp(level, "error") == 0 ||
		    strcmp(level, "warning") == 0);
		/* A line when known, never 0; no region without one. */
		if (r.f[i].line > 0)
			assert_int_equal(
			    json_integer_value(json_object_get(region, "startLine")),
			    r.f[i].line);
		else
			assert_null(region);
		assert_int_equal(json_object_get(res, "suppressions") != NULL,
		    r.f[i].waived);
	}
	/* The waived drop-column, with its reason, and the path encoded. */
	{
		json_t *res = json_array_get(results, 0);
		json_t *sup = json_array_get(json_object_get(res, "suppressions"), 0);

		assert_string_equal(
		    json_string_value(json_object_get(sup, "kind")), "external");
		assert_string_equal(
		    json_string_value(json_object_get(sup, "justification")),
		    "gone since 41");
		assert_string_equal(
		    json_string_value(json_object_get(
			json_object_get(
			    json_object_get(
				json_array_get(json_object_get(res, "locations"), 0),
				"physicalLocation"),
			    "artifactLocation"),
			"uri")),
		    "plans/x%20y/s1.sql");
	}
	json_decref(root);
	free(buf);

	/* GitHub: one workflow command per finding, escaped. */
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	sk_lint_print_github(out, "plans/x", r.f, r.n);
	fclose(out);
	assert_non_null(strstr(buf,
	    "::notice file=plans/x/s1.sql,line=1,title=skein lint drop-column "
	    "(waived)::drops column legacy of clients%0Afix: "));
	assert_non_null(strstr(buf,
	    "::warning file=plans/x/s2.sql,line=2,title=skein lint "
	    "drop-not-null::drops NOT NULL from column a of t"));
	/* The unused waiver is on plan.yaml, with no line. */
	assert_non_null(strstr(buf,
	    "::warning file=plans/x/plan.yaml,title=skein lint unused-waiver::"));
	free(buf);
	sk_lint_findings_free(r.f, r.n);
}

static void
test_lint_files_and_syntax_hint(void **state)
{
	const char *paths[] = { "a.sql", "b.sql" };
	const char *sqls[] = { "CREATE TABLE t (a int)", "CREATE INDEX t_a ON t (a)" };
	const char *bad[] = { "SELECT 1;\nREPACK t;" };
	sk_lint_options opt = { false, 0 };
	sk_lint_finding *f = NULL;
	size_t n = 9;
	sk_err err;

	(void)state;
	/* In order: b's index is on a's new table. */
	assert_int_equal(sk_lint_files(paths, sqls, 2, &opt, &f, &n, &err), SK_OK);
	assert_int_equal(n, 0);
	assert_int_equal(
	    sk_lint_files(paths + 1, sqls + 1, 1, &opt, &f, &n, &err), SK_OK);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].rule->id, "index-not-concurrent");
	assert_string_equal(f[0].file, "b.sql");
	sk_lint_findings_free(f, n);
	opt.no_transaction = true;
	assert_int_equal(
	    sk_lint_files(paths + 1, sqls + 1, 1, &opt, &f, &n, &err), SK_OK);
	{
		result res = { f, n };

		assert_int_equal(n, 2);
		assert_int_equal(count_rule(&res, "index-not-concurrent"), 1);
		assert_int_equal(
		    count_rule(&res, "non-idempotent-without-transaction"), 1);
	}
	sk_lint_findings_free(f, n);
	/* Newer syntax: the file and line, and a hint naming the parser's
	 * PostgreSQL and the escape. */
	f = NULL;
	n = 5;
	assert_int_equal(sk_lint_files(paths, bad, 1, &opt, &f, &n, &err), SK_EINVAL);
	assert_string_equal(err.msg, "a.sql:2: syntax error at or near \"REPACK\"");
	assert_non_null(strstr(err.hint, "parser of PostgreSQL 15"));
	assert_non_null(strstr(err.hint, "DO $$ BEGIN EXECUTE"));
	assert_null(f);
	assert_int_equal(n, 5);
	/* Only syntax errors get the hint. */
	sk_err_set(&err, SK_EINVAL, "plan.yaml:3:1: something else");
	sk_lint_hint_syntax(&err);
	assert_string_equal(err.hint, "");
	sk_lint_hint_syntax(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_table_is_complete_and_unique),
		cmocka_unit_test(
		    test_rename_and_type_change_fix_points_to_expand_then_contract),
		cmocka_unit_test(test_rename_in_one_step),
		cmocka_unit_test(test_drop_column_and_drop_table),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_lock_outside_transaction),
		cmocka_unit_test(test_rename_index_or_constraint),
		cmocka_unit_test(test_index_not_concurrent_only_on_existing_tables),
		cmocka_unit_test(test_concurrent_index_unnamed),
		cmocka_unit_test(test_constraint_not_valid),
		cmocka_unit_test(test_alter_column_type),
		cmocka_unit_test(test_tenant_table_without_rls),
		cmocka_unit_test(test_non_transactional_in_transaction),
		cmocka_unit_test(test_transaction_control_in_any_step),
		cmocka_unit_test(test_session_set),
		cmocka_unit_test(test_warning_rules),
		cmocka_unit_test(test_no_revert_warns_where_a_rollback_needs_a_script),
		cmocka_unit_test(test_findings_have_lines_in_step_order),
		cmocka_unit_test(test_waiver_marks_finding_and_unblocks),
		cmocka_unit_test(test_unused_waiver_is_a_warning),
		cmocka_unit_test(test_unknown_waiver_rule_is_refused),
		cmocka_unit_test(test_unparsable_sql_fails_the_lint_with_file_and_line),
		cmocka_unit_test(test_print_text_and_json),
		cmocka_unit_test(test_build_refuses_unwaived_error_and_returns_findings),
		cmocka_unit_test(test_build_names_syntax_error_file_and_line),
		cmocka_unit_test(test_build_fills_concurrent_indexes),
		cmocka_unit_test(test_qa_safe_migrations_stay_quiet),
		cmocka_unit_test(test_qa_missed_dangers_fire),
		cmocka_unit_test(test_new_rules_are_in_the_table_with_their_severity),
		cmocka_unit_test(test_validate_in_same_transaction),
		cmocka_unit_test(test_drop_index_and_detach_partition_not_concurrent),
		cmocka_unit_test(test_add_column_not_null_without_default),
		cmocka_unit_test(test_drop_not_null),
		cmocka_unit_test(test_non_idempotent_without_transaction),
		cmocka_unit_test(test_add_column_default_rewrites_by_server_version),
		cmocka_unit_test(test_drop_database_in_any_step),
		cmocka_unit_test(test_type_choices_warn),
		cmocka_unit_test(test_domains_and_enums),
		cmocka_unit_test(test_identifier_too_long_and_update_twice),
		cmocka_unit_test(test_set_not_null_after_validated_check_is_quiet),
		cmocka_unit_test(test_print_sarif_is_sarif_2_1_0),
		cmocka_unit_test(test_lint_files_and_syntax_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* sk_lint: the rules of docs/lint.md applied to the facts sk_sql reads
 * from each statement's parse tree. The plan is walked in step order,
 * remembering the tables it creates, because what is dangerous on a table
 * full of rows (a blocking index build, a validating constraint) is not on
 * a table the plan itself just created. */
#include "sk_lint.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sk_lint_int.h"
#include "sk_sql.h"
#include "sk_util.h"

const char *const sk_lint_tenant_columns[] = { "tenant_id", "community_id", NULL };

static const sk_lint_rule rules[R_COUNT] = {
	[R_RENAME] = { "rename-in-one-step", SK_LINT_ERROR,
	    "renames a table or column in one step: code still using the old "
	    "name breaks mid-rollout",
	    "add the new column or table, backfill, switch readers and writers, "
	    "drop the old one in a later plan" },
	[R_DROP_COLUMN] = { "drop-column", SK_LINT_ERROR,
	    "drops a column: its data is gone and code still reading it fails",
	    "stop reading and writing the column in a release first, then drop "
	    "it in a later plan with a waiver saying so" },
	[R_DROP_TABLE] = { "drop-table", SK_LINT_ERROR,
	    "drops a table: its data is gone and code still reading it fails",
	    "stop using the table in a release first (and keep a backup), then "
	    "drop it in a later plan with a waiver saying so" },
	[R_TRUNCATE] = { "truncate", SK_LINT_ERROR,
	    "TRUNCATE of a table the plan did not create: its rows are gone "
	    "and code still reading them finds none",
	    "delete the rows in batches in a backfill step, or waive the rule "
	    "saying why the data is not needed" },
	[R_INDEX_NOT_CONCURRENT] = { "index-not-concurrent", SK_LINT_ERROR,
	    "CREATE INDEX or REINDEX without CONCURRENTLY on an existing table "
	    "blocks its writes for the whole build",
	    "CREATE INDEX CONCURRENTLY IF NOT EXISTS name ... (or REINDEX ... "
	    "CONCURRENTLY) in a step with transaction: false" },
	[R_INDEX_UNNAMED] = { "concurrent-index-unnamed", SK_LINT_ERROR,
	    "CREATE INDEX CONCURRENTLY without a name: an INVALID index left by "
	    "an interrupted build cannot be found and rebuilt",
	    "name the index: CREATE INDEX CONCURRENTLY IF NOT EXISTS name ON ..." },
	[R_CONSTRAINT_NOT_VALID] = { "constraint-not-valid", SK_LINT_ERROR,
	    "ADD CONSTRAINT FOREIGN KEY or CHECK without NOT VALID on an existing "
	    "table scans it while blocking its writes",
	    "ADD CONSTRAINT ... NOT VALID, then ALTER TABLE ... VALIDATE "
	    "CONSTRAINT in a later step" },
	[R_ALTER_TYPE] = { "alter-column-type", SK_LINT_ERROR,
	    "ALTER COLUMN ... TYPE rewrites or rescans the table under an ACCESS "
	    "EXCLUSIVE lock and breaks code expecting the old type",
	    "add a column of the new type, backfill, switch readers and writers, "
	    "drop the old one in a later plan" },
	[R_TENANT_RLS] = { "tenant-table-without-rls", SK_LINT_ERROR,
	    "a new table with a tenant column and, in the same step, neither "
	    "row-level security with a policy nor a CHECK on that column",
	    "in the same step: ALTER TABLE t ENABLE ROW LEVEL SECURITY and CREATE "
	    "POLICY ... ON t, or a CHECK constraint on the tenant column" },
	[R_NO_TX] = { "non-transactional-in-transaction", SK_LINT_ERROR,
	    "a statement PostgreSQL refuses inside a transaction block, in a "
	    "transactional step",
	    "move it to a step of its own with transaction: false" },
	[R_LOCK_NO_TX] = { "lock-outside-transaction", SK_LINT_ERROR,
	    "LOCK TABLE in a transaction: false step: PostgreSQL refuses it "
	    "outside a transaction block, so the step fails",
	    "move it into a transactional step, with the statements it "
	    "protects" },
	[R_TX_CONTROL] = { "transaction-control", SK_LINT_ERROR,
	    "BEGIN, COMMIT, ROLLBACK, SAVEPOINT and the like in a step: skein "
	    "owns the step's transaction",
	    "remove it; a step that must run outside a transaction says "
	    "transaction: false" },
	[R_SESSION_SET] = { "session-set", SK_LINT_ERROR,
	    "SET without LOCAL, RESET or set_config(..., false) changes the "
	    "session, which PgBouncer's transaction pooling hands to other "
	    "clients",
	    "SET LOCAL (or set_config(..., true)) in a transactional step; "
	    "timeouts belong in plan.yaml" },
	[R_CONSTRAINT_INDEX] = { "constraint-builds-index", SK_LINT_WARNING,
	    "ADD CONSTRAINT UNIQUE, PRIMARY KEY or EXCLUDE on an existing table "
	    "builds an index while blocking its writes",
	    "CREATE UNIQUE INDEX CONCURRENTLY in a transaction: false step, then "
	    "ADD CONSTRAINT ... USING INDEX" },
	[R_ADD_COLUMN_REWRITE] = { "add-column-rewrite", SK_LINT_WARNING,
	    "ADD COLUMN with a volatile default, a serial type, an identity or a "
	    "stored generated column rewrites an existing table under an ACCESS "
	    "EXCLUSIVE lock",
	    "add the column with no default or a constant one, backfill in "
	    "batches, then set the default" },
	[R_SET_NOT_NULL] = { "set-not-null", SK_LINT_WARNING,
	    "ALTER COLUMN ... SET NOT NULL on an existing table scans it under an "
	    "ACCESS EXCLUSIVE lock",
	    "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in "
	    "a later step, then SET NOT NULL (no scan since PostgreSQL 12)" },
	[R_SESSION_STATE] = { "session-state", SK_LINT_WARNING,
	    "LISTEN, PREPARE, DECLARE ... WITH HOLD, DISCARD or a temporary "
	    "table that outlives the transaction leaves state on a pooled "
	    "connection",
	    "leave it out of migrations; give temporary tables ON COMMIT DROP" },
	[R_RENAME_INDEX] = { "rename-index-or-constraint", SK_LINT_WARNING,
	    "renames an index or a table constraint: ON CONFLICT ON CONSTRAINT "
	    "with the old name fails mid-rollout (an index backing a "
	    "constraint shares its name)",
	    "keep the old name, or release code that no longer names it (ON "
	    "CONFLICT (columns)) first and rename in a later plan" },
	[R_TABLE_REWRITE] = { "table-rewrite", SK_LINT_ERROR,
	    "VACUUM FULL, CLUSTER or ALTER TABLE SET TABLESPACE|LOGGED|UNLOGGED "
	    "rewrites an existing table under an ACCESS EXCLUSIVE lock that "
	    "blocks its reads and writes",
	    "leave it out of the migration (pg_repack or a maintenance window), "
	    "or waive the rule saying why the table is small or idle" },
	[R_VALIDATE_SAME_TX] = { "validate-in-same-transaction", SK_LINT_ERROR,
	    "VALIDATE CONSTRAINT in the transaction that added the constraint "
	    "NOT VALID: the scan runs under the ADD's lock, which blocks "
	    "writes, and NOT VALID gains nothing",
	    "VALIDATE in a later step (or put the ADD in a transaction: false "
	    "step, where each statement commits on its own)" },
	[R_DROP_INDEX] = { "drop-index-not-concurrent", SK_LINT_ERROR,
	    "DROP INDEX without CONCURRENTLY on an index the plan did not "
	    "create locks its table ACCESS EXCLUSIVE, blocking reads and writes",
	    "DROP INDEX CONCURRENTLY IF EXISTS name in a step with "
	    "transaction: false" },
	[R_DETACH_PARTITION] = { "detach-partition-not-concurrent", SK_LINT_ERROR,
	    "DETACH PARTITION without CONCURRENTLY locks the whole partitioned "
	    "table ACCESS EXCLUSIVE, blocking its reads and writes",
	    "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+) "
	    "in a step with transaction: false" },
	[R_NOT_NULL_NO_DEFAULT] = { "not-null-column-without-default", SK_LINT_ERROR,
	    "ADD COLUMN ... NOT NULL without a default on an existing table: "
	    "PostgreSQL refuses it as soon as the table has a row",
	    "add the column with a constant DEFAULT (no rewrite since "
	    "PostgreSQL 11), or nullable, backfill, then the SET NOT NULL "
	    "recipe" },
	[R_DROP_DATABASE] = { "drop-database", SK_LINT_ERROR,
	    "DROP DATABASE: every table in it is gone",
	    "leave it out of migrations; drop a database by hand, after a "
	    "backup, or waive the rule saying why" },
	[R_ALTER_DOMAIN] = { "alter-domain-constraint", SK_LINT_ERROR,
	    "ALTER DOMAIN ... ADD CONSTRAINT (without NOT VALID), VALIDATE "
	    "CONSTRAINT or SET NOT NULL checks every column of the domain in "
	    "every table, blocking their writes",
	    "put the rule on each table as CHECK ... NOT VALID and VALIDATE it "
	    "in a later step, or waive saying the tables are small" },
	[R_LONG_IDENTIFIER] = { "identifier-too-long", SK_LINT_ERROR,
	    "an identifier longer than 63 bytes: PostgreSQL silently keeps "
	    "only the first 63, so the object's name is not the one written",
	    "shorten the name to 63 bytes or fewer" },
	[R_UPDATE_TWICE] = { "update-column-twice", SK_LINT_ERROR,
	    "the same column assigned twice in one UPDATE (or ON CONFLICT DO "
	    "UPDATE): PostgreSQL refuses the statement",
	    "assign each column once" },
	[R_DROP_NOT_NULL] = { "drop-not-null", SK_LINT_WARNING,
	    "ALTER COLUMN ... DROP NOT NULL on an existing table: code "
	    "deployed before it may assume the column is never NULL",
	    "release readers that handle NULL first, then drop NOT NULL in a "
	    "later plan (waive the rule saying so)" },
	[R_NOT_IDEMPOTENT] = { "non-idempotent-without-transaction", SK_LINT_WARNING,
	    "a statement without IF [NOT] EXISTS in a transaction: false step: "
	    "skein runs the step again after a crash, and it then fails",
	    "write IF NOT EXISTS (CREATE TABLE|INDEX, ADD COLUMN, ADD VALUE) or "
	    "IF EXISTS (DROP TABLE|INDEX|COLUMN)" },
	[R_CREATE_DOMAIN] = { "create-domain-check", SK_LINT_WARNING,
	    "CREATE DOMAIN with a CHECK: changing the check later means ALTER "
	    "DOMAIN, which scans every table using the domain under lock",
	    "a plain type with a CHECK constraint on each table's column, which "
	    "can be replaced NOT VALID and validated later" },
	[R_ENUM_ORDER] = { "enum-value-order", SK_LINT_WARNING,
	    "ALTER TYPE ... ADD VALUE without BEFORE or AFTER puts the value "
	    "last in the enum's sort order",
	    "say BEFORE or AFTER when code sorts or compares the enum; waive "
	    "the rule when the order does not matter" },
	[R_PREFER_TEXT_CHAR] = { "prefer-text-over-char", SK_LINT_WARNING,
	    "char(n) pads values with blanks, compares them trimmed, and is "
	    "no faster than text",
	    "text (with a CHECK on length(col) if the length matters)" },
	[R_PREFER_TEXT_VARCHAR] = { "prefer-text-over-varchar", SK_LINT_WARNING,
	    "varchar(n): changing n later is an ALTER COLUMN TYPE under an "
	    "ACCESS EXCLUSIVE lock (shortening it rescans the table)",
	    "text with CHECK (length(col) <= n), which can be swapped NOT VALID "
	    "and validated without blocking writes" },
	[R_PREFER_BIGINT] = { "prefer-bigint", SK_LINT_WARNING,
	    "an integer or smallint key (or serial): it overflows at 2^31 (or "
	    "2^15), and widening it later rewrites the table",
	    "bigint (bigint GENERATED ALWAYS AS IDENTITY for a generated key)" },
	[R_PREFER_IDENTITY] = { "prefer-identity", SK_LINT_WARNING,
	    "serial, bigserial or smallserial: a sequence owned by a default, "
	    "with loose permissions and copies that share it",
	    "bigint GENERATED ALWAYS AS IDENTITY (or BY DEFAULT)" },
	[R_PREFER_TIMESTAMPTZ] = { "prefer-timestamptz", SK_LINT_WARNING,
	    "timestamp without time zone stores wall-clock time: values "
	    "written from different time zones cannot be compared",
	    "timestamptz (timestamp with time zone)" },
	[R_UNUSED_WAIVER] = { "unused-waiver", SK_LINT_WARNING,
	    "a step waives a rule that does not fire in it",
	    "remove the waiver, or check that it is on the right step" },
};

const sk_lint_rule *
sk_lint_rules(size_t *n)
{
	*n = R_COUNT;
	return rules;
}

const sk_lint_rule *
sk_lint_rule_find(const char *id)
{
	if (id == NULL)
		return NULL;
	for (size_t i = 0; i < R_COUNT; i++)
		if (strcmp(rules[i].id, id) == 0)
			return &rules[i];
	return NULL;
}

const sk_lint_rule *
lint_rule(int r)
{
	return &rules[r];
}

/* ---- state while walking a plan ----------------------------------------- */

/* Two names denote the same table when their own names match and their
 * schemas do, or either was written unqualified: without a catalog, the
 * lint leans towards "created by this plan", i.e. towards not firing. */
bool
lint_same_table(const char *s1, const char *t1, const char *s2, const char *t2)
{
	if (t1 == NULL || t2 == NULL || strcmp(t1, t2) != 0)
		return false;
	return s1 == NULL || s2 == NULL || strcmp(s1, s2) == 0;
}

bool
lint_created(const lint *l, const sk_sql_op *op)
{
	for (size_t i = 0; i < l->ncreated; i++)
		if (lint_same_table(l->created[i].schema, l->created[i].table,
			op->schema, op->table))
			return true;
	return false;
}

/* Whether the plan created the index schema.name earlier. */
bool
lint_index_created(const lint *l, const char *schema, const char *name)
{
	for (size_t i = 0; i < l->nindexes; i++)
		if (lint_same_table(l->indexes[i].schema, l->indexes[i].table,
			schema, name))
			return true;
	return false;
}

static void
remember_in(lint *l, table_ref **v, size_t *n, size_t *cap, const char *schema,
    const char *table)
{
	if (table == NULL)
		return;
	if (*n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 8;
		table_ref *t = realloc(*v, ncap * sizeof(*t));

		if (t == NULL) {
			l->oom = true;
			return;
		}
		*v = t;
		*cap = ncap;
	}
	(*v)[*n].schema = sk_strdup(schema);
	(*v)[*n].table = sk_strdup(table);
	if ((schema != NULL && (*v)[*n].schema == NULL) || (*v)[*n].table == NULL) {
		free((*v)[*n].schema);
		free((*v)[*n].table);
		l->oom = true;
		return;
	}
	(*n)++;
}

static void
remember(lint *l, const char *schema, const char *table)
{
	remember_in(l, &l->created, &l->ncreated, &l->capcreated, schema, table);
}

void
lint_con_add(lint *l, lint_con **v, size_t *n, size_t *cap, const lint_con *con)
{
	lint_con *c;

	if (l->oom)
		return;
	if (*n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 8;
		lint_con *nv = realloc(*v, ncap * sizeof(*nv));

		if (nv == NULL) {
			l->oom = true;
			return;
		}
		*v = nv;
		*cap = ncap;
	}
	c = &(*v)[*n];
	*c = *con;
	c->schema = sk_strdup(con->schema);
	c->table = sk_strdup(con->table);
	c->name = sk_strdup(con->name);
	c->column = sk_strdup(con->column);
	(*n)++;
	if ((con->schema && !c->schema) || (con->table && !c->table) ||
	    (con->name && !c->name) || (con->column && !c->column))
		l->oom = true;
}

void
lint_cons_clear(lint_con *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].schema);
		free(v[i].table);
		free(v[i].name);
		free(v[i].column);
	}
}

void
lint_add(lint *l, size_t step_index, const sk_step *st, int rule,
    const char *file, int line, const char *fmt, ...)
{
	sk_lint_finding *f;
	char msg[1024];
	va_list ap;

	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		sk_lint_finding *nf = realloc(l->f, cap * sizeof(*nf));
		size_t *no = nf ? realloc(l->order, cap * sizeof(*no)) : NULL;

		if (nf != NULL)
			l->f = nf;
		if (no == NULL) {
			l->oom = true;
			return;
		}
		l->order = no;
		l->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f = &l->f[l->n];
	memset(f, 0, sizeof(*f));
	f->rule = &rules[rule];
	f->step = sk_strdup(st->id);
	f->file = sk_strdup(file != NULL ? file : "(inline SQL)");
	f->line = line;
	f->message = sk_strdup(msg);
	l->order[l->n] = step_index;
	l->n++;
	if (f->step == NULL || f->file == NULL || f->message == NULL)
		l->oom = true;
}

static int
apply_waivers(lint *l, size_t si, const sk_step *st, size_t first, sk_err *err)
{
	for (size_t w = 0; w < st->nwaivers; w++) {
		const sk_waiver *wv = &st->waivers[w];
		bool used = false;

		if (sk_lint_rule_find(wv->rule) == NULL) {
			sk_err_set(err, SK_EINVAL,
			    "lint plan: step %s waives unknown rule \"%.64s\"",
			    st->id, wv->rule ? wv->rule : "");
			if (err != NULL)
				snprintf(err->hint, sizeof(err->hint),
				    "skein plan lint --rules lists the rule ids");
			return SK_EINVAL;
		}
		for (size_t i = first; i < l->n; i++) {
			sk_lint_finding *f = &l->f[i];

			if (strcmp(f->rule->id, wv->rule) != 0 ||
			    f->rule == &rules[R_UNUSED_WAIVER])
				continue;
			used = true;
			if (f->waived)
				continue;
			f->waived = true;
			f->reason = sk_strdup(wv->reason ? wv->reason : "");
			if (f->reason == NULL)
				l->oom = true;
		}
		if (!used)
			lint_add(l, si, st, R_UNUSED_WAIVER, "plan.yaml", 0,
			    "step %s waives %s, which does not fire in it",
			    st->id, wv->rule);
	}
	return SK_OK;
}

static int
lint_step(lint *l, size_t si, const sk_step *st, const sk_sql_script *parsed,
    sk_err *err)
{
	sk_sql_script *own = NULL;
	const sk_sql_script *sc = parsed;
	size_t first = l->n;
	int rc;

	/* A step is one transaction at most: what it added NOT VALID is
	 * committed by the time the next step validates it. */
	lint_cons_clear(l->pending, l->npending);
	l->npending = 0;

	if (sc == NULL) {
		rc = sk_sql_parse(st->sql ? st->sql : "",
		    st->sql_path ? st->sql_path : st->id, &own, err);
		if (rc != SK_OK) {
			sk_lint_hint_syntax(err);
			return rc;
		}
		sc = own;
	}
	for (size_t i = 0; i < sc->nstmts; i++) {
		const sk_sql_stmt *stmt = &sc->stmts[i];

		for (size_t k = 0; k < stmt->nops; k++) {
			const sk_sql_op *op = &stmt->ops[k];

			lint_op(l, si, st, stmt, op);
			lint_types(l, si, st, stmt, op);
			lint_track(l, st, stmt, op);
			if (op->kind == SK_SQL_CREATE_TABLE)
				remember(l, op->schema, op->table);
			else if (op->kind == SK_SQL_CREATE_INDEX)
				remember_in(l, &l->indexes, &l->nindexes,
				    &l->capindexes, op->schema, op->name);
			else if (op->kind == SK_SQL_RENAME_TABLE && lint_created(l, op))
				remember(l, op->schema, op->name);
			else if (op->kind == SK_SQL_RENAME_INDEX &&
			    lint_index_created(l, op->schema, op->table))
				remember_in(l, &l->indexes, &l->nindexes,
				    &l->capindexes, op->schema, op->name);
		}
	}
	lint_tenant(l, si, st, sc);
	sk_sql_script_destroy(own);
	return apply_waivers(l, si, st, first, err);
}

static void
lint_fini(lint *l)
{
	for (size_t i = 0; i < l->ncreated; i++) {
		free(l->created[i].schema);
		free(l->created[i].table);
	}
	free(l->created);
	for (size_t i = 0; i < l->nindexes; i++) {
		free(l->indexes[i].schema);
		free(l->indexes[i].table);
	}
	free(l->indexes);
	lint_cons_clear(l->pending, l->npending);
	free(l->pending);
	lint_cons_clear(l->proofs, l->nproofs);
	free(l->proofs);
	free(l->order);
}

/* Step order, then line, then the order found; a stable sort by hand,
 * since qsort is not stable and lists are short. */
static void
sort_findings(lint *l)
{
	for (size_t i = 1; i < l->n; i++) {
		sk_lint_finding f = l->f[i];
		size_t o = l->order[i], j = i;

		while (j > 0 &&
		    (l->order[j - 1] > o ||
			(l->order[j - 1] == o && f.line > 0 &&
			    l->f[j - 1].line > f.line))) {
			l->f[j] = l->f[j - 1];
			l->order[j] = l->order[j - 1];
			j--;
		}
		l->f[j] = f;
		l->order[j] = o;
	}
}

int
sk_lint_plan(const sk_plan *plan, sk_lint_finding **out, size_t *n, sk_err *err)
{
	return sk_lint_plan_parsed(plan, NULL, out, n, err);
}

int
sk_lint_plan_parsed(const sk_plan *plan, sk_sql_script *const *scripts,
    sk_lint_finding **out, size_t *n, sk_err *err)
{
	lint l = { 0 };
	int rc = SK_OK;

	l.server_version = plan->preflight.min_server_version;
	for (size_t i = 0; i < plan->nsteps && rc == SK_OK && !l.oom; i++)
		rc = lint_step(&l, i, &plan->steps[i],
		    scripts != NULL ? scripts[i] : NULL, err);
	if (rc == SK_OK && l.oom)
		rc = sk_err_set(err, SK_ENOMEM, "lint plan %s: out of memory",
		    plan->name ? plan->name : "");
	if (rc != SK_OK) {
		sk_lint_findings_free(l.f, l.n);
		lint_fini(&l);
		return rc;
	}
	sort_findings(&l);
	lint_fini(&l);
	*out = l.n > 0 ? l.f : NULL;
	if (l.n == 0)
		free(l.f);
	*n = l.n;
	return SK_OK;
}

void
sk_lint_findings_free(sk_lint_finding *f, size_t n)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(f[i].step);
		free(f[i].file);
		free(f[i].message);
		free(f[i].reason);
	}
	free(f);
}

size_t
sk_lint_blocking(const sk_lint_finding *f, size_t n)
{
	size_t b = 0;

	for (size_t i = 0; i < n; i++)
		if (f[i].rule->severity == SK_LINT_ERROR && !f[i].waived)
			b++;
	return b;
}

void
sk_lint_hint_syntax(sk_err *err)
{
	if (err == NULL || err->code != SK_EINVAL || err->hint[0] != '\0' ||
	    strstr(err->msg, ": syntax error") == NULL)
		return;
	/* The parser is PostgreSQL's, pinned to the libpg_query release
	 * skein is built with: a newer server's syntax is foreign to it.
	 * Every step is parsed at build and again by the agent, so no
	 * waiver or transaction: false can carry such a statement; a DO
	 * block can, as a string, when it may run in a transaction. */
	snprintf(err->hint, sizeof(err->hint),
	    "skein reads SQL with the parser of PostgreSQL %s: syntax added "
	    "in a later release (REPACK, say) is a syntax error here, and no "
	    "waiver or transaction: false changes that, as every step is "
	    "parsed at build and run time. If the statement may run inside a "
	    "transaction, write it as DO $$ BEGIN EXECUTE '...'; END $$ (the "
	    "lint does not look into it: review it by hand); otherwise run it "
	    "outside skein",
	    sk_sql_parser_version());
}

int
sk_lint_files(const char *const *paths, const char *const *sqls, size_t n,
    const sk_lint_options *opt, sk_lint_finding **out, size_t *nout, sk_err *err)
{
	sk_plan plan;
	int rc = SK_OK;

	memset(&plan, 0, sizeof(plan));
	plan.name = (char *)"(files)";
	plan.preflight.min_server_version = opt ? opt->server_version : 0;
	plan.steps = calloc(n > 0 ? n : 1, sizeof(*plan.steps));
	if (plan.steps == NULL)
		return sk_err_set(err, SK_ENOMEM, "lint files: out of memory");
	plan.nsteps = n;
	/* The steps borrow the caller's strings: nothing here frees them. */
	for (size_t i = 0; i < n; i++) {
		sk_step *st = &plan.steps[i];

		st->id = (char *)paths[i];
		st->kind = SK_STEP_SQL;
		st->sql = (char *)sqls[i];
		st->sql_path = (char *)paths[i];
		st->no_transaction = opt ? opt->no_transaction : false;
	}
	rc = sk_lint_plan(&plan, out, nout, err);
	free(plan.steps);
	return rc;
}

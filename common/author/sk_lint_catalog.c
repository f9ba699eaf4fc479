/* sk_lint_catalog: the lint's rules, each with its id, severity, one-line
 * explanation and fix (docs/lint.md says why each exists), and the column
 * names that mark a tenant table. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sk_lint.h"
#include "sk_lint_int.h"
#include "sk_sql.h"
#include "sk_util.h"

const char *const sk_lint_tenant_columns[] = { "tenant_id", "community_id", NULL };

static const sk_lint_rule rules[R_COUNT] = {
	[R_RENAME] = { "rename-in-one-step", SK_LINT_ERROR,
	    "renames a table or column in one step: code still using the old "
	    "name breaks mid-rollout",
	    "use kind: expand (adds the new column, a sync trigger and a "
	    "backfill) and, in a later plan once every application version "
	    "writes the new column, kind: contract; see docs/backfills.md" },
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
	    "use kind: expand (adds the new column, a sync trigger and a "
	    "backfill) and, in a later plan once every application version "
	    "writes the new column, kind: contract; see docs/backfills.md" },
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
	[R_NO_REVERT] = { "no-revert", SK_LINT_WARNING,
	    "a step with no revert script: skein rollout rollback of a plan "
	    "that applied it is refused by every agent, reverting nothing",
	    "add revert: with SQL that undoes the step, or waive the rule "
	    "saying how to go back instead (the plan's backup, a later plan)" },
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

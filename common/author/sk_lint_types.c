/* sk_lint_types: the prefer-* rules, on the column types a plan writes
 * (CREATE TABLE, ADD COLUMN, ALTER COLUMN ... TYPE). Unlike the lock
 * rules they fire on new tables too: a type is cheapest to get right
 * before the table has rows. All are warnings. */
#include <string.h>

#include "sk_lint_int.h"

static bool
is_type(const char *type, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(type, list[i]) == 0)
			return true;
	return false;
}

void
lint_types(lint *l, size_t si, const sk_step *st, const sk_sql_stmt *stmt,
    const sk_sql_op *op)
{
	static const char *const serials[] = { "serial", "serial4", "bigserial",
		"serial8", "smallserial", "serial2", NULL };
	static const char *const small[] = { "int4", "int2", "integer",
		"smallint", "serial", "serial4", "smallserial", "serial2", NULL };
	const char *type = op->what, *col = op->column ? op->column : "?";
	char t[300];

	if (op->kind != SK_SQL_COLUMN_TYPE || type == NULL)
		return;
	sk_sql_op_table(op, t, sizeof(t));
	if (strcmp(type, "bpchar") == 0)
		lint_add(l, si, st, R_PREFER_TEXT_CHAR, st->sql_path,
		    stmt->line, "column %s of %s is char(n)", col, t);
	if (strcmp(type, "varchar") == 0 && op->sized)
		lint_add(l, si, st, R_PREFER_TEXT_VARCHAR, st->sql_path,
		    stmt->line, "column %s of %s is varchar(n)", col, t);
	if (strcmp(type, "timestamp") == 0)
		lint_add(l, si, st, R_PREFER_TIMESTAMPTZ, st->sql_path, stmt->line,
		    "column %s of %s is timestamp without time zone", col, t);
	if (is_type(type, serials))
		lint_add(l, si, st, R_PREFER_IDENTITY, st->sql_path, stmt->line,
		    "column %s of %s is %s", col, t, type);
	if (op->key && is_type(type, small))
		lint_add(l, si, st, R_PREFER_BIGINT, st->sql_path, stmt->line,
		    "key column %s of %s is %s", col, t,
		    strcmp(type, "int4") == 0     ? "integer" :
			strcmp(type, "int2") == 0 ? "smallint" :
						    type);
}

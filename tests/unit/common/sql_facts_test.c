/* sql_facts_test: the facts sk_sql reads for the lint rules of issue 14
 * (sk_sql_facts.c and the additions to sk_sql_ops.c): each kind on the
 * statement it is about, its fields, and nothing on the safe form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sk_sql.h"

static sk_sql_script *
parse_ok(const char *sql)
{
	sk_sql_script *sc = NULL;
	sk_err err;

	if (sk_sql_parse(sql, "t.sql", &sc, &err) != SK_OK)
		fail_msg("parse: %s", err.msg);
	return sc;
}

/* The n-th op of kind in sc (0-based), or NULL. */
static const sk_sql_op *
nth(const sk_sql_script *sc, int kind, size_t n)
{
	for (size_t i = 0; i < sc->nstmts; i++)
		for (size_t k = 0; k < sc->stmts[i].nops; k++)
			if (sc->stmts[i].ops[k].kind == kind && n-- == 0)
				return &sc->stmts[i].ops[k];
	return NULL;
}

static void
test_alter_table_facts(void **state)
{
	sk_sql_script *sc = parse_ok(
	    "ALTER TABLE app.t VALIDATE CONSTRAINT c, DROP CONSTRAINT d, "
	    "ALTER COLUMN a DROP NOT NULL, ADD COLUMN IF NOT EXISTS x int NOT "
	    "NULL DEFAULT f(1), DROP COLUMN IF EXISTS y; ALTER TABLE app.t "
	    "DETACH PARTITION p1");
	const sk_sql_op *op;

	(void)state;
	op = nth(sc, SK_SQL_VALIDATE_CONSTRAINT, 0);
	assert_non_null(op);
	assert_string_equal(op->name, "c");
	assert_string_equal(op->schema, "app");
	assert_string_equal(nth(sc, SK_SQL_DROP_CONSTRAINT, 0)->name, "d");
	assert_string_equal(nth(sc, SK_SQL_DROP_NOT_NULL, 0)->column, "a");
	op = nth(sc, SK_SQL_ADD_COLUMN, 0);
	assert_true(op->if_exists);
	assert_true(op->not_null);
	assert_true(op->has_default);
	assert_string_equal(op->name, "f");
	assert_false(op->rewrites);
	assert_true(nth(sc, SK_SQL_DROP_COLUMN, 0)->if_exists);
	op = nth(sc, SK_SQL_DETACH_PARTITION, 0);
	assert_string_equal(op->name, "p1");
	assert_false(op->concurrent);
	sk_sql_script_destroy(sc);

	/* A known function, DEFAULT NULL, a volatile one. */
	sc = parse_ok("ALTER TABLE t ADD COLUMN a text DEFAULT lower('X'), ADD "
		      "COLUMN b int DEFAULT NULL, ADD COLUMN c float DEFAULT "
		      "random()");
	op = nth(sc, SK_SQL_ADD_COLUMN, 0);
	assert_null(op->name);
	assert_true(op->has_default);
	assert_false(nth(sc, SK_SQL_ADD_COLUMN, 1)->has_default);
	op = nth(sc, SK_SQL_ADD_COLUMN, 2);
	assert_true(op->rewrites);
	assert_null(op->name);
	sk_sql_script_destroy(sc);
}

static void
test_check_not_null_and_drop_index(void **state)
{
	sk_sql_script *sc = parse_ok(
	    "ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL AND b IS NOT "
	    "NULL AND n > 0) NOT VALID;"
	    "ALTER TABLE t ADD CONSTRAINT o CHECK (a IS NOT NULL OR b > 0);"
	    "DROP INDEX CONCURRENTLY IF EXISTS s.i;"
	    "DROP INDEX j, k");
	const sk_sql_op *op;

	(void)state;
	op = nth(sc, SK_SQL_CHECK_NOT_NULL, 0);
	assert_string_equal(op->column, "a");
	assert_string_equal(op->name, "c");
	assert_true(op->not_valid);
	assert_string_equal(nth(sc, SK_SQL_CHECK_NOT_NULL, 1)->column, "b");
	/* The OR proves nothing. */
	assert_null(nth(sc, SK_SQL_CHECK_NOT_NULL, 2));
	op = nth(sc, SK_SQL_DROP_INDEX, 0);
	assert_string_equal(op->schema, "s");
	assert_string_equal(op->name, "i");
	assert_null(op->table);
	assert_true(op->concurrent);
	assert_true(op->if_exists);
	assert_string_equal(nth(sc, SK_SQL_DROP_INDEX, 2)->name, "k");
	assert_false(nth(sc, SK_SQL_DROP_INDEX, 2)->concurrent);
	/* DROP INDEX CONCURRENTLY still says it cannot run in a transaction. */
	assert_string_equal(nth(sc, SK_SQL_NO_TX, 0)->what, "DROP INDEX CONCURRENTLY");
	sk_sql_script_destroy(sc);
}

static void
test_column_types_only_where_a_rule_looks(void **state)
{
	sk_sql_script *sc = parse_ok(
	    "CREATE TABLE t (id int PRIMARY KEY, n int, c char(2), v varchar, "
	    "w varchar(9), at timestamp, tz timestamptz, s bigserial)");
	const sk_sql_op *op;

	(void)state;
	op = nth(sc, SK_SQL_COLUMN_TYPE, 0);
	assert_string_equal(op->column, "id");
	assert_string_equal(op->what, "int4");
	assert_true(op->key);
	assert_string_equal(nth(sc, SK_SQL_COLUMN_TYPE, 1)->what, "bpchar");
	op = nth(sc, SK_SQL_COLUMN_TYPE, 2);
	assert_string_equal(op->what, "varchar");
	assert_string_equal(op->column, "w");
	assert_true(op->sized);
	assert_string_equal(nth(sc, SK_SQL_COLUMN_TYPE, 3)->what, "timestamp");
	op = nth(sc, SK_SQL_COLUMN_TYPE, 4);
	assert_string_equal(op->what, "bigserial");
	assert_true(op->key);
	assert_null(nth(sc, SK_SQL_COLUMN_TYPE, 5));
	sk_sql_script_destroy(sc);

	sc = parse_ok("ALTER TABLE t ALTER COLUMN name TYPE varchar(20)");
	op = nth(sc, SK_SQL_COLUMN_TYPE, 0);
	assert_string_equal(op->column, "name");
	assert_string_equal(op->table, "t");
	sk_sql_script_destroy(sc);
	sc = parse_ok("CREATE TEMP TABLE t (at timestamp)");
	assert_null(nth(sc, SK_SQL_COLUMN_TYPE, 0));
	sk_sql_script_destroy(sc);
}

static void
test_domains_enums_databases_assignments(void **state)
{
	sk_sql_script *sc = parse_ok(
	    "CREATE DOMAIN app.email AS text CHECK (VALUE LIKE '%@%');"
	    "CREATE DOMAIN plain AS text;"
	    "ALTER DOMAIN email ADD CONSTRAINT c CHECK (VALUE <> '') NOT VALID;"
	    "ALTER TYPE s.mood ADD VALUE IF NOT EXISTS 'x' BEFORE 'y';"
	    "ALTER TYPE mood RENAME VALUE 'a' TO 'b';"
	    "DROP DATABASE IF EXISTS old;"
	    "UPDATE t SET a = 1, b = 2, a = 3;");
	const sk_sql_op *op;

	(void)state;
	op = nth(sc, SK_SQL_DOMAIN_CONSTRAINT, 0);
	assert_string_equal(op->name, "app.email");
	assert_string_equal(op->what, "CREATE DOMAIN ... CHECK");
	op = nth(sc, SK_SQL_DOMAIN_CONSTRAINT, 1);
	assert_string_equal(op->what, "ALTER DOMAIN ... ADD CONSTRAINT");
	assert_true(op->not_valid);
	assert_null(nth(sc, SK_SQL_DOMAIN_CONSTRAINT, 2));
	op = nth(sc, SK_SQL_ENUM_ADD_VALUE, 0);
	assert_string_equal(op->name, "s.mood");
	assert_string_equal(op->what, "x");
	assert_true(op->positioned);
	assert_true(op->if_exists);
	assert_null(nth(sc, SK_SQL_ENUM_ADD_VALUE, 1));
	op = nth(sc, SK_SQL_DROP_DATABASE, 0);
	assert_string_equal(op->name, "old");
	assert_true(op->if_exists);
	op = nth(sc, SK_SQL_DUPLICATE_ASSIGNMENT, 0);
	assert_string_equal(op->column, "a");
	assert_string_equal(op->table, "t");
	assert_null(nth(sc, SK_SQL_DUPLICATE_ASSIGNMENT, 1));
	sk_sql_script_destroy(sc);
}

static void
test_long_identifiers_from_tokens(void **state)
{
	/* 64 bytes unquoted, 64 quoted with a doubled quote inside (63
	 * letters and one '"'), and a 63-byte one. */
	sk_sql_script *sc = parse_ok(
	    "CREATE TABLE aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
	    "(\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"\"\" "
	    "int, ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc "
	    "int)");
	const sk_sql_op *op;

	(void)state;
	op = nth(sc, SK_SQL_LONG_IDENTIFIER, 0);
	assert_non_null(op);
	assert_int_equal(strlen(op->what), 64);
	op = nth(sc, SK_SQL_LONG_IDENTIFIER, 1);
	assert_non_null(op);
	assert_int_equal(strlen(op->what), 64);
	assert_int_equal(op->what[63], '"');
	assert_null(nth(sc, SK_SQL_LONG_IDENTIFIER, 2));
	/* The tree holds the table's name truncated. */
	assert_int_equal(strlen(nth(sc, SK_SQL_CREATE_TABLE, 0)->table), 63);
	sk_sql_script_destroy(sc);
	assert_non_null(sk_sql_parser_version());
	assert_int_equal(strncmp(sk_sql_parser_version(), "15", 2), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alter_table_facts),
		cmocka_unit_test(test_check_not_null_and_drop_index),
		cmocka_unit_test(test_column_types_only_where_a_rule_looks),
		cmocka_unit_test(test_domains_enums_databases_assignments),
		cmocka_unit_test(test_long_identifiers_from_tokens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

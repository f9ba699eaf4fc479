/* sql_test: SQL through PostgreSQL's parser: statements and their lines,
 * syntax errors at FILE:LINE, the normalized form and the step checksum
 * built on it, the facts the lint reads, and concurrent index names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "sk_plan.h"
#include "sk_sql.h"
#include "sk_util.h"

#define assert_contains(s, sub)              \
do {                                         \
if (strstr((s), (sub)) == NULL)              \
fail_msg("\"%s\" lacks \"%s\"", (s), (sub)); \
} while (0)

static sk_sql_script *
parse_ok(const char *sql)
{
	sk_sql_script *sc = NULL;
	sk_err err;

	if (sk_sql_parse(sql, "t.sql", &sc, &err) != SK_OK)
		fail_msg("parse: %s", err.msg);
	assert_non_null(sc);
	return sc;
}

static char *
norm_ok(const char *sql)
{
	char *out = NULL;
	sk_err err;

	if (sk_sql_normalize(sql, "t.sql", &out, &err) != SK_OK)
		fail_msg("normalize: %s", err.msg);
	assert_non_null(out);
	return out;
}

/* Assert that normalizing a and b gives equal (same) or different text. */
static void
norm_compare(const char *a, const char *b, bool same)
{
	char *na = norm_ok(a), *nb = norm_ok(b);

	if (same && strcmp(na, nb) != 0)
		fail_msg("expected equal:\n%s\n%s", na, nb);
	if (!same && strcmp(na, nb) == 0)
		fail_msg("expected different, both:\n%s", na);
	free(na);
	free(nb);
}

static void
test_statements_carry_their_first_line_and_text(void **state)
{
	sk_sql_script *sc;

	(void)state;
	sc = parse_ok("-- header comment\n"
		      "CREATE TABLE a (id int); -- trailing\n"
		      "\n"
		      "/* block\n   comment */ ALTER TABLE a\n"
		      "  ADD COLUMN b text;\n"
		      "SELECT 'x;y' -- no semicolon at the end\n");
	assert_int_equal(sc->nstmts, 3);
	assert_int_equal(sc->stmts[0].line, 2);
	assert_string_equal(sc->stmts[0].text, "CREATE TABLE a (id int)");
	assert_int_equal(sc->stmts[1].line, 5);
	assert_string_equal(sc->stmts[1].text, "ALTER TABLE a\n  ADD COLUMN b text");
	assert_int_equal(sc->stmts[2].line, 7);
	assert_string_equal(sc->stmts[2].text, "SELECT 'x;y'");
	sk_sql_script_destroy(sc);

	/* Comments alone: no statement, no error. */
	sc = parse_ok("-- nothing here\n/* nor here */\n");
	assert_int_equal(sc->nstmts, 0);
	sk_sql_script_destroy(sc);
}

static void
test_syntax_error_names_file_line_and_parser_message(void **state)
{
	sk_sql_script *sc = (sk_sql_script *)&sc;
	char *out = (char *)&out;
	sk_err err;

	(void)state;
	sk_err_clear(&err);
	assert_int_equal(sk_sql_parse("SELECT 1;\n-- fine\nCREATE TABEL x (a int);\n",
			     "plans/x/0002_foo.sql", &sc, &err),
	    SK_EINVAL);
	assert_string_equal(err.msg,
	    "plans/x/0002_foo.sql:3: syntax error at or near \"TABEL\"");
	assert_string_equal(err.detail, "line 3: CREATE TABEL x (a int);");
	/* Nothing was handed out. */
	assert_ptr_equal(sc, (sk_sql_script *)&sc);

	/* The parser counts characters, not bytes: multi-byte text before
	 * the error must not move it to another line. */
	assert_int_equal(
	    sk_sql_parse("SELECT 'ééééééééééé';\nSELEC 1;\n", "u.sql", &sc, &err),
	    SK_EINVAL);
	assert_string_equal(err.msg, "u.sql:2: syntax error at or near \"SELEC\"");

	/* A lexer error gets the "syntax error" prefix. */
	assert_int_equal(
	    sk_sql_parse("SELECT 1;\n\nSELECT 'open\n", "q.sql", &sc, &err), SK_EINVAL);
	assert_contains(err.msg, "q.sql:3: syntax error: unterminated quoted string");

	/* At the end of the input. */
	assert_int_equal(sk_sql_parse("SELECT (1\n", "e.sql", &sc, &err), SK_EINVAL);
	assert_string_equal(err.msg, "e.sql:1: syntax error at end of input");

	/* Normalizing fails the same way and leaves *out alone. */
	assert_int_equal(
	    sk_sql_normalize("SELECT 1;\nCREATE TABEL x\n", "n.sql", &out, &err),
	    SK_EINVAL);
	assert_string_equal(err.msg, "n.sql:2: syntax error at or near \"TABEL\"");
	assert_ptr_equal(out, (char *)&out);

	/* NULL err is allowed. */
	assert_int_equal(sk_sql_parse("SELEC 1", NULL, &sc, NULL), SK_EINVAL);
}

static void
test_normalize_ignores_space_comments_and_keyword_case(void **state)
{
	char *n;

	(void)state;
	n = norm_ok("  create   TABLE Foo (id int DEFAULT 1) ;\n-- c\nSELECT 1");
	assert_string_equal(n, "create table foo ( id int default 1 );\nselect 1;\n");
	free(n);
	norm_compare("ALTER TABLE t ADD COLUMN c int DEFAULT 1;",
	    "-- add c\nalter   table t\n\tadd column c int /* why */ default 1", true);
	norm_compare("SELECT 1; SELECT 2;", "SELECT 1;\n\n;SELECT 2", true);
	norm_compare("", "-- only a comment", true);
}

static void
test_normalize_keeps_every_change_in_a_statement(void **state)
{
	(void)state;
	/* Constants: what pg_query_fingerprint would lose. */
	norm_compare("ALTER TABLE t ADD c int DEFAULT 1",
	    "ALTER TABLE t ADD c int DEFAULT 2", false);
	norm_compare("SELECT 'a b'", "SELECT 'a  b'", false);
	/* Identifiers and types. */
	norm_compare("ALTER TABLE t ADD c int", "ALTER TABLE t ADD d int", false);
	norm_compare("ALTER TABLE t ADD c int", "ALTER TABLE t ADD c bigint", false);
	/* Quoted identifiers keep their case; unquoted ones fold. */
	norm_compare("SELECT \"Foo\" FROM t", "SELECT \"foo\" FROM t", false);
	norm_compare("SELECT Foo FROM t", "SELECT \"foo\" FROM t", false);
	norm_compare("SELECT Foo FROM t", "SELECT foo FROM t", true);
	norm_compare("SELECT \"Select\" FROM t", "SELECT \"select\" FROM t", false);
	norm_compare("SELECT 'ABC'", "SELECT 'abc'", false);
	/* A dollar-quoted body is a constant: a changed body is a change. */
	norm_compare("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
	    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$", false);
	norm_compare("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
	    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$SELECT 1$$", false);
	/* libpg_query ends a U&"..." token early; the bytes still count. */
	norm_compare("SELECT U&\"d\" FROM t", "SELECT U&\"e\" FROM t", false);
	/* Statement boundaries count. */
	norm_compare("SELECT 1; SELECT 2", "SELECT 1, 2", false);
	/* Operators. */
	norm_compare("SELECT a - -1 FROM t", "SELECT a - 1 FROM t", false);
}

static void
test_step_checksum_is_normalized_and_pinned(void **state)
{
	sk_step s = { .id = (char *)"s", .kind = SK_STEP_SQL, .sql = (char *)"SELECT 1" };
	uint8_t a[SK_CHECKSUM_LEN], b[SK_CHECKSUM_LEN];
	char hex[2 * SK_CHECKSUM_LEN + 1];
	sk_err err;

	(void)state;
	/* Pinned: SHA-256 of "skein-step-v2\0" "1\0" "tx\0" "select 1;\n",
	 * computed independently (python hashlib). */
	assert_int_equal(sk_step_checksum(&s, a, &err), SK_OK);
	sk_hex(a, sizeof(a), hex);
	assert_string_equal(hex,
	    "97d3a2879a629374fff096c1a48f5bcd6789c8f8525869a4b52cf2491ec01644");
	/* Whitespace and comment edits are not drift. */
	s.sql = (char *)"-- the answer\n  select   1 ;\n";
	assert_int_equal(sk_step_checksum(&s, b, &err), SK_OK);
	assert_memory_equal(a, b, SK_CHECKSUM_LEN);
	/* ...and differ from the text checksum, which sees them. */
	sk_step_text_checksum(&s, b);
	assert_memory_not_equal(a, b, SK_CHECKSUM_LEN);
	/* A changed constant is. */
	s.sql = (char *)"SELECT 2";
	assert_int_equal(sk_step_checksum(&s, b, &err), SK_OK);
	assert_memory_not_equal(a, b, SK_CHECKSUM_LEN);
	/* tx and notx differ. */
	s.sql = (char *)"SELECT 1";
	s.no_transaction = true;
	assert_int_equal(sk_step_checksum(&s, b, &err), SK_OK);
	sk_hex(b, sizeof(b), hex);
	assert_string_equal(hex,
	    "0278549f2a8c3e3738ac35f36e9414c5eec70d2f7f58b8dea4de40d24151b867");
	/* A parse failure is an error naming the file. */
	s.sql = (char *)"SELEC 1";
	s.sql_path = (char *)"0001_x.sql";
	memset(b, 0xAA, sizeof(b));
	assert_int_equal(sk_step_checksum(&s, b, &err), SK_EINVAL);
	assert_string_equal(err.msg, "0001_x.sql:1: syntax error at or near \"SELEC\"");
}

/* The only op of the only statement of sql. */
static const sk_sql_op *
one_op(sk_sql_script **sc, const char *sql, int kind)
{
	*sc = parse_ok(sql);
	assert_int_equal((*sc)->nstmts, 1);
	for (size_t k = 0; k < (*sc)->stmts[0].nops; k++)
		if ((*sc)->stmts[0].ops[k].kind == kind)
			return &(*sc)->stmts[0].ops[k];
	fail_msg("no op %d in %s", kind, sql);
	return NULL;
}

static void
test_facts_come_from_the_parse_tree(void **state)
{
	sk_sql_script *sc;
	const sk_sql_op *op;

	(void)state;
	op = one_op(&sc,
	    "CREATE TABLE s.t (id int, tenant_id uuid CHECK (tenant_id IS NOT NULL),"
	    " CONSTRAINT k CHECK (id > 0))",
	    SK_SQL_CREATE_TABLE);
	assert_string_equal(op->schema, "s");
	assert_string_equal(op->table, "t");
	assert_int_equal(op->ncolumns, 2);
	assert_string_equal(op->columns[1], "tenant_id");
	assert_int_equal(op->nchecked, 2);
	assert_string_equal(op->checked[0], "tenant_id");
	assert_string_equal(op->checked[1], "id");
	sk_sql_script_destroy(sc);

	op = one_op(&sc,
	    "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES b NOT VALID",
	    SK_SQL_ADD_CONSTRAINT);
	assert_int_equal(op->contype, SK_SQL_CON_FOREIGN);
	assert_true(op->not_valid);
	assert_string_equal(op->name, "f");
	assert_null(op->schema);
	sk_sql_script_destroy(sc);

	op = one_op(&sc, "ALTER TABLE t RENAME COLUMN a TO b", SK_SQL_RENAME_COLUMN);
	assert_string_equal(op->column, "a");
	assert_string_equal(op->name, "b");
	sk_sql_script_destroy(sc);

	op = one_op(&sc,
	    "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT clock_timestamp()",
	    SK_SQL_ADD_COLUMN);
	assert_true(op->rewrites);
	assert_string_equal(op->what, "DEFAULT clock_timestamp()");
	sk_sql_script_destroy(sc);
	op = one_op(&sc, "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()",
	    SK_SQL_ADD_COLUMN);
	assert_false(op->rewrites);
	sk_sql_script_destroy(sc);

	/* A keyword inside a string is not a statement. */
	sc = parse_ok("SELECT 'DROP TABLE users; BEGIN; SET x = 1'");
	assert_int_equal(sc->nstmts, 1);
	assert_int_equal(sc->stmts[0].nops, 0);
	sk_sql_script_destroy(sc);

	op = one_op(&sc, "SELECT pg_catalog.set_config('search_path', 'x', 'off')",
	    SK_SQL_SESSION_SET);
	assert_string_equal(op->what, "set_config(..., false)");
	sk_sql_script_destroy(sc);
	sc = parse_ok("SELECT set_config('search_path', 'x', true)");
	assert_int_equal(sc->stmts[0].nops, 0);
	sk_sql_script_destroy(sc);
}

static void
test_concurrent_index_names_are_regclass_ready(void **state)
{
	sk_sql_script *sc;
	char **names = NULL;
	size_t n = 0;
	sk_err err;

	(void)state;
	sc = parse_ok("CREATE INDEX CONCURRENTLY IF NOT EXISTS a_idx ON a (x);\n"
		      "CREATE INDEX not_concurrent ON a (y);\n"
		      "CREATE UNIQUE INDEX CONCURRENTLY \"Odd\"\"Name\" ON app.b (x);\n"
		      "CREATE INDEX CONCURRENTLY ON a (z);\n"
		      "CREATE INDEX CONCURRENTLY \"1st\" ON \"My Schema\".c (x)");
	assert_int_equal(sk_sql_concurrent_indexes(sc, &names, &n, &err), SK_OK);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "a_idx");
	assert_string_equal(names[1], "app.\"Odd\"\"Name\"");
	assert_string_equal(names[2], "\"My Schema\".\"1st\"");
	assert_null(names[3]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	sk_sql_script_destroy(sc);
}

/* QA: quoted-constant prefixes fold like keywords; every other edit a
 * reviewer could make to a constant, an identifier or a body counts. */
static void
test_normalize_prefixes_and_literal_forms(void **state)
{
	(void)state;
	/* E'', B'', X'', U&'' and U&"" read the same in either case. */
	norm_compare("SELECT E'a\\nb'", "select e'a\\nb'", true);
	norm_compare("SELECT B'101', X'1F'", "SELECT b'101', x'1F'", true);
	norm_compare("SELECT U&\"d\\0061t\" FROM t",
	    "SELECT u&\"d\\0061t\" FROM t", true);
	norm_compare("SELECT U&'d'", "SELECT u&'d'", true);
	/* But their contents do not fold, and E'' is not ''. */
	norm_compare("SELECT X'1F'", "SELECT X'1f'", false);
	norm_compare("SELECT E'\\n'", "SELECT '\\n'", false);
	/* Numeric forms are different constants (numeric keeps scale). */
	norm_compare("SELECT 1.0", "SELECT 1.00", false);
	norm_compare("SELECT 1e3", "SELECT 1000", false);
	/* Dollar-quote tags and bodies, quoted identifiers' case. */
	norm_compare("SELECT $a$x$a$", "SELECT $b$x$b$", false);
	norm_compare("SELECT $$E'x'$$", "SELECT $$e'x'$$", false);
	norm_compare("SELECT \"Foo\".x FROM \"Foo\"",
	    "SELECT \"foo\".x FROM \"foo\"", false);
	/* Statement order is a change. */
	norm_compare("SELECT 1; SELECT 2", "SELECT 2; SELECT 1", false);
}

/* Seconds to parse and normalize n copies of one INSERT; checks the
 * statement count and the last statement's line and text. */
static double
time_inserts(size_t n)
{
	const char *row = "INSERT INTO items (id, name) VALUES (12345, 'item');\n";
	size_t len = strlen(row);
	char *sql = malloc(n * len + 1), *norm = NULL;
	sk_sql_script *sc = NULL;
	struct timespec t0, t1;
	sk_err err;

	assert_non_null(sql);
	for (size_t i = 0; i < n; i++)
		memcpy(sql + i * len, row, len);
	sql[n * len] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(sk_sql_parse(sql, "big.sql", &sc, &err), SK_OK);
	assert_int_equal(sk_sql_normalize(sql, "big.sql", &norm, &err), SK_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(sc->nstmts, n);
	assert_int_equal(sc->stmts[n - 1].line, (int)n);
	assert_string_equal(sc->stmts[n - 1].text,
	    "INSERT INTO items (id, name) VALUES (12345, 'item')");
	sk_sql_script_destroy(sc);
	free(norm);
	free(sql);
	return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* QA: splitting was quadratic in the number of statements (a linear
 * token search per statement): 5 MiB of INSERTs took minutes. Four times
 * the statements must take about four times as long, not sixteen; a
 * ratio, so that a slow machine or valgrind does not matter. */
static void
test_many_statements_are_linear(void **state)
{
	double small, big;

	(void)state;
	small = time_inserts(5000);
	big = time_inserts(20000);
	if (big > 10.0 * small && big > 0.5)
		fail_msg("5000 statements: %.3f s, 20000: %.3f s (ratio %.1f)",
		    small, big, big / small);
}

/* QA: syntax errors at the end, in a dollar-quoted body and after
 * multi-byte characters are reported at the right line. */
static void
test_syntax_error_lines_at_edges(void **state)
{
	sk_sql_script *sc = NULL;
	sk_err err;

	(void)state;
	assert_int_equal(
	    sk_sql_parse("SELECT 1;\nSELECT (\n\n  \n", "t.sql", &sc, &err), SK_EINVAL);
	assert_string_equal(err.msg, "t.sql:2: syntax error at end of input");
	assert_int_equal(sk_sql_parse("SELECT 1;\nCREATE FUNCTION f() RETURNS int "
				      "AS $$\nSELECT 1\n",
			     "t.sql", &sc, &err),
	    SK_EINVAL);
	assert_contains(err.msg, "t.sql:2: syntax error: unterminated dollar-quoted");
	assert_int_equal(sk_sql_parse("SELECT '\xc3\xa9\xc3\xa9\xc3\xa9', "
				      "'\xc4\x80\xc4\x80';\nSELECT '\xc3\xbc' FRM t;\n",
			     "t.sql", &sc, &err),
	    SK_EINVAL);
	assert_string_equal(err.msg, "t.sql:2: syntax error at or near \"t\"");
	assert_contains(err.detail, "line 2: SELECT '\xc3\xbc' FRM t;");
	assert_int_equal(sk_sql_parse("-- \xc3\xa9\xc3\xa9\n/* \xc3\xbc */ SELECT 1;\n\n"
				      "SELEC 2;",
			     "t.sql", &sc, &err),
	    SK_EINVAL);
	assert_string_equal(err.msg, "t.sql:4: syntax error at or near \"SELEC\"");
	assert_null(sc);
}

/* QA: facts the lint was missing. */
static void
test_facts_added_by_qa(void **state)
{
	sk_sql_script *sc;
	const sk_sql_op *op;

	(void)state;
	/* CREATE INDEX ON ONLY. */
	op = one_op(&sc, "CREATE INDEX p_a ON ONLY parent (a)", SK_SQL_CREATE_INDEX);
	assert_true(op->only);
	sk_sql_script_destroy(sc);
	op = one_op(&sc, "CREATE INDEX p_a ON parent (a)", SK_SQL_CREATE_INDEX);
	assert_false(op->only);
	sk_sql_script_destroy(sc);
	/* Constraints written on ADD COLUMN. */
	op = one_op(&sc, "ALTER TABLE t ADD COLUMN c bigint REFERENCES x (id)",
	    SK_SQL_ADD_CONSTRAINT);
	assert_int_equal(op->contype, SK_SQL_CON_FOREIGN);
	assert_string_equal(op->column, "c");
	assert_string_equal(op->table, "t");
	sk_sql_script_destroy(sc);
	op = one_op(&sc, "ALTER TABLE t ADD COLUMN c int DEFAULT 0", SK_SQL_ADD_COLUMN);
	assert_int_equal(sc->stmts[0].nops, 1);
	sk_sql_script_destroy(sc);
	/* REINDEX. */
	op = one_op(&sc, "REINDEX INDEX app.i", SK_SQL_REINDEX);
	assert_string_equal(op->what, "INDEX");
	assert_string_equal(op->name, "i");
	assert_string_equal(op->schema, "app");
	assert_null(op->table);
	assert_false(op->concurrent);
	sk_sql_script_destroy(sc);
	op = one_op(&sc, "REINDEX (CONCURRENTLY) TABLE t", SK_SQL_REINDEX);
	assert_true(op->concurrent);
	assert_string_equal(op->table, "t");
	sk_sql_script_destroy(sc);
	op = one_op(&sc, "REINDEX SCHEMA app", SK_SQL_NO_TX);
	assert_string_equal(op->what, "REINDEX SCHEMA");
	sk_sql_script_destroy(sc);
	/* Rewrites. */
	op = one_op(&sc, "VACUUM (FULL) t", SK_SQL_REWRITE);
	assert_string_equal(op->table, "t");
	sk_sql_script_destroy(sc);
	sc = parse_ok("VACUUM (FULL false) t; VACUUM t");
	for (size_t i = 0; i < sc->nstmts; i++)
		for (size_t k = 0; k < sc->stmts[i].nops; k++)
			assert_int_not_equal(sc->stmts[i].ops[k].kind, SK_SQL_REWRITE);
	sk_sql_script_destroy(sc);
	op = one_op(&sc, "CLUSTER t USING i", SK_SQL_REWRITE);
	assert_string_equal(op->table, "t");
	sk_sql_script_destroy(sc);
	op = one_op(&sc, "ALTER TABLE t SET TABLESPACE fast", SK_SQL_REWRITE);
	assert_string_equal(op->what, "ALTER TABLE ... SET TABLESPACE");
	sk_sql_script_destroy(sc);
	/* set_config(..., false) stored in a definition runs later, if ever. */
	sc = parse_ok("CREATE VIEW v AS SELECT set_config('a.b', 'x', false)");
	assert_int_equal(sc->stmts[0].nops, 0);
	sk_sql_script_destroy(sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statements_carry_their_first_line_and_text),
		cmocka_unit_test(test_syntax_error_names_file_line_and_parser_message),
		cmocka_unit_test(test_normalize_ignores_space_comments_and_keyword_case),
		cmocka_unit_test(test_normalize_keeps_every_change_in_a_statement),
		cmocka_unit_test(test_step_checksum_is_normalized_and_pinned),
		cmocka_unit_test(test_facts_come_from_the_parse_tree),
		cmocka_unit_test(test_concurrent_index_names_are_regclass_ready),
		cmocka_unit_test(test_normalize_prefixes_and_literal_forms),
		cmocka_unit_test(test_many_statements_are_linear),
		cmocka_unit_test(test_syntax_error_lines_at_edges),
		cmocka_unit_test(test_facts_added_by_qa),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

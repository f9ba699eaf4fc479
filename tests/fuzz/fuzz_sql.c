/* fuzz_sql: SQL as plan build, decode and the agent read it: sk_sql_parse
 * (statements and their ops, with sk_sql_op_table on each op and
 * sk_sql_concurrent_indexes on the script) and sk_sql_normalize (the text
 * a step checksum hashes). The input, cut at its first NUL, is the SQL.
 *
 * What parses must normalize: plan build and decode compute a checksum
 * of every SQL text they accept. The converse does not hold and is not
 * checked: normalize scans without parse's encoding check, so it accepts
 * text that is not UTF-8 (regress/sql/latin1-literal); plan build refuses
 * such files before either runs.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sk_sql.h"

#define HARNESS "sql"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init(HARNESS);
	return 0;
}

static void
read_script(const sk_sql_script *sc)
{
	char table[256], **names = NULL;
	size_t n = 0;
	sk_err err;

	for (size_t i = 0; i < sc->nstmts; i++) {
		const sk_sql_stmt *st = &sc->stmts[i];

		if (st->line < 1)
			fuzz_fail(HARNESS, "statement %zu at line %d", i, st->line);
		(void)fuzz_touch(st->text);
		for (size_t k = 0; k < st->nops; k++)
			sk_sql_op_table(&st->ops[k], table, sizeof(table));
	}
	if (sk_sql_concurrent_indexes(sc, &names, &n, &err) != SK_OK)
		fuzz_fail(HARNESS, "concurrent indexes: %s", err.msg);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *sql = malloc(size + 1), *norm = NULL;
	sk_sql_script *sc = NULL;
	int prc, nrc;
	sk_err err;

	if (sql == NULL)
		return 0;
	memcpy(sql, data, size);
	sql[size] = '\0';
	prc = sk_sql_parse(sql, "fuzz.sql", &sc, &err);
	if (prc == SK_OK) {
		read_script(sc);
		sk_sql_script_destroy(sc);
	}
	nrc = sk_sql_normalize(sql, "fuzz.sql", &norm, &err);
	if (nrc == SK_OK) {
		(void)fuzz_touch(norm);
		free(norm);
	}
	if (prc == SK_OK && nrc != SK_OK && nrc != SK_ENOMEM)
		fuzz_fail(HARNESS, "parses but does not normalize: %s", err.msg);
	free(sql);
	return 0;
}

/* sql_chunks_test: sk_sql_parse and sk_sql_normalize hand libpg_query a
 * chunk of whole statements at a time (sql_chunk_bytes). Whatever the
 * chunk size, they must give what one parse of the whole text gives: the
 * same statements with the same lines, offsets, texts and facts, the same
 * normalized bytes (every signed plan and every agent's ledger holds
 * checksums of them: the examples' SQL and a few texts hard to split are
 * pinned to the bytes recorded before chunking), and the same first error
 * at the same line of the whole file, also when a chunk ends inside a
 * BEGIN ATOMIC body, whose semicolons are not inside quotes. */
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "sk_sql.h"
#include "sk_sql_int.h"
#include "sk_strbuf.h"
#include "sk_util.h"

/* SHA-256 of sk_sql_normalize's output for each file under examples/,
 * recorded before the normalizer learned to work in chunks. A file that
 * changes on purpose gets a new line here in the same commit. */
static const struct {
	const char *path;
	const char *sha256;
} pinned[] = {
	{ "000-client-subscriptions/0027a_operating_model_tables.revert.sql",
	    "e9f9479db99e19c5921f9815577a16e3f0c5d08eb27bb5909ffa6ca79f4dbcd5" },
	{ "000-client-subscriptions/0027a_operating_model_tables.sql",
	    "670a75f7c684cdfe72ee9c238a8e0f81bcce1fd3175990292f614a57a055bcf4" },
	{ "000-client-subscriptions/0027b_link_columns.revert.sql",
	    "442defb87868fed5aa84cb8ca886d3ca40ff028572a187e7d2e21eaf930b63e3" },
	{ "000-client-subscriptions/0027b_link_columns.sql",
	    "edaf827717db96247007e87eadea00e8ff755bc53e0e21824bd63b529efd48a0" },
	{ "000-client-subscriptions/0027c_backfill.revert.sql",
	    "9660b3666d4441e9c93dab873f9c00fb1dcd89a712ff0a8322e3af4dfc454367" },
	{ "000-client-subscriptions/0027c_backfill.sql",
	    "00faac0ac9c373f688d7478188d53cd952de776237c6a6fd55fba62f27d6a518" },
	{ "000-client-subscriptions/0027d_validate_links.revert.sql",
	    "5673281d682a0e25983e4d36d80c625229a17cd8668ed3f6ba1cbf7f1cd69b03" },
	{ "000-client-subscriptions/0027d_validate_links.sql",
	    "66200db02e1ba652b080be52acc8d77ea6475a66aeeabdcfff4fae8a2c21d272" },
	{ "000-client-subscriptions/0027e_index_tenants_client.revert.sql",
	    "74c53ee296e6737270a6a13d5a1b81abefa172d1844ca4ef9b1bb9d8e762b7f5" },
	{ "000-client-subscriptions/0027e_index_tenants_client.sql",
	    "5522c998dc105968bd263bfc55547f70627f38835f7150f04248707806d954a4" },
	{ "000-client-subscriptions/0027f_index_invoices_client.revert.sql",
	    "e17343b8ffda5997bd1a93296bc17dc62d7f1b6dbff319782d3d5df10ec89511" },
	{ "000-client-subscriptions/0027f_index_invoices_client.sql",
	    "b2d87fae6bb70928505cb69a7c1d9dac3b3bd71ba66517d1bdf58e7a4034816c" },
	{ "000-client-subscriptions/base/0001_tenants.revert.sql",
	    "cd3f39fdd452f73c20a67ef54c1c2a88ad25341dd98efaa4e72c340bc680fbf8" },
	{ "000-client-subscriptions/base/0001_tenants.sql",
	    "e8a40260485255bb1db48ca1936211669a017a86245d06cada201a140628c050" },
	{ "000-client-subscriptions/base/0019_billing.revert.sql",
	    "f384cd408279a62ea8290f89940fbbbb18d0210eb39521520f21d1ce4e75a861" },
	{ "000-client-subscriptions/base/0019_billing.sql",
	    "5db60d9e46812c3650eeff8c825281798becc737df748e16d41cbde953e32827" },
	{ "000-client-subscriptions/base/0026_api_keys.revert.sql",
	    "fbbfc0d8122dbbdb60247fc8c8f1921616fdd98efda91e07dddd9304d7013e3e" },
	{ "000-client-subscriptions/base/0026_api_keys.sql",
	    "7d465c030cc2b27b0e11bba81d8ca1b6ad833710285bc3bcabf930c9c1c45cd8" },
	{ "000-client-subscriptions/checks/billing_rows_unlinked.sql",
	    "b1cb1e45edf9aa9d8d784273b7f2fb0a6d05c94e080354ea34d3b1dd76847fc8" },
	{ "000-client-subscriptions/checks/entitlements_without_subscription.sql",
	    "47ecd2e0f4a70138b361cbdb36a6fcb4f8cec29f7ab6066757eb0f0ec09b9999" },
	{ "000-client-subscriptions/checks/new_tables_exist.sql",
	    "9f4bace4002a89428c437ab02d91df3d7a09d78cdedace5bbe158bfe7823a718" },
	{ "000-client-subscriptions/checks/subscriptions_without_client.sql",
	    "d459d9d489231f8489ef4942a68105ae0a84dc9c0852c0828645d07b42ab59b1" },
	{ "000-client-subscriptions/checks/tenants_missing_workspace.sql",
	    "8ffef275397f320b2770220bead687419a2ac47159723b590e5f370ea72d8b71" },
	{ "000-client-subscriptions/checks/tenants_without_client.sql",
	    "da268c3d48c84f55a0cca37f3f7d736a97a23bb2ab761fa4449dc3f6361f564c" },
	{ "000-client-subscriptions/fixture/seed.sql",
	    "22551dd055ce49995abad23fd0b89d6dae1fa5dc6cd5b5357c0b0e141e6b351a" },
	{ "001-ledger-append-only/0008_tenant_context_guard.revert.sql",
	    "c687aebeac3ff9d162e62c108894040e3f55c0175190e49f18aee81e01ad7aad" },
	{ "001-ledger-append-only/0008_tenant_context_guard.sql",
	    "e367fbddf6ce29e845f0a75664dc6331da6161ec73a82fd5fb5cbeac2906c4f8" },
	{ "001-ledger-append-only/0009_credit_lots_lot_entries.revert.sql",
	    "b6bfc9293dbe16b849ec992e070a342cf4587570caa4ceb79ad144475dceb50e" },
	{ "001-ledger-append-only/0009_credit_lots_lot_entries.sql",
	    "64888174494ade1896f14046f10016e4600125209ce11e8953ca6812bf0f800c" },
	{ "001-ledger-append-only/0010_webhook_events_crypto_payments.revert.sql",
	    "0a0257356d1548d1f99860ab1c08c4d42ced46a0839d8a0db08d65060d639537" },
	{ "001-ledger-append-only/0010_webhook_events_crypto_payments.sql",
	    "2a9fa2e98eaed4dc0e5155773c905397572e66c715afbec0f7c3406ee959cff3" },
	{ "001-ledger-append-only/0011_usage_events_pg.revert.sql",
	    "209d70ad740cc2584da5e8243f097d33fef0951166919f57d0902e96bf34525a" },
	{ "001-ledger-append-only/0011_usage_events_pg.sql",
	    "c01ed9aec90c8c3b6b686a41006410f2363dd47cd87f79885a5908d633481128" },
	{ "001-ledger-append-only/checks/insert_without_context.sql",
	    "84c456760a662ab0773610f9f30a5382760108ed3a093bad1e2219ffe3455b35" },
	{ "001-ledger-append-only/checks/payment_status_regression.sql",
	    "7d4861d0ed90f4b4a844825922763e5f568f072db5a571874dbab035f5832f9a" },
	{ "001-ledger-append-only/checks/rls_cross_tenant.sql",
	    "b6ce143b20d90f8044c22a2a357b958b77d63b5f834c2479287de954bf0ffb08" },
	{ "001-ledger-append-only/checks/tenant_tables_without_forced_rls.sql",
	    "d7de24105d759331b636a604c72294dcc4a3354269aedd79424c4a37ebf10d49" },
	{ "002-domain-identity/008_rfc002_domain_identity.revert.sql",
	    "c7931af7e9639f196d7955a828fe243cc900f61da51ceb6b4fb36ffb83f869e4" },
	{ "002-domain-identity/008_rfc002_domain_identity.sql",
	    "a204b59b99a6e5edb6892f1dcfc3b4fb85531cfb3b973b6530890819f59cc36d" },
	{ "002-domain-identity/checks/constraint_domain_slug.sql",
	    "f276dc296eb3939965fb53ecf5094c90e96d1b6a6b16618109aa5826563e1d3b" },
	{ "002-domain-identity/checks/constraint_scope_prefix.sql",
	    "5e6792c87b467e1880ae02793227bd2f39b17adc53d675520262cf83d7241ded" },
	{ "002-domain-identity/checks/post_domain_columns_text.sql",
	    "f753e196038008bbf545f4ac04a389f917f469e7384f43592705ef883052e1d2" },
	{ "002-domain-identity/checks/post_domain_nulls.sql",
	    "b63db72747491a1f3dafb57282625b95141746cd15baa61366a4caa4086adac8" },
	{ "002-domain-identity/checks/pre_cross_org_references.sql",
	    "b6440d75bfb003f0a8d3029ed82d1ea4f9776b31349134211f46dcebda14f3dd" },
	{ "002-domain-identity/checks/pre_domain_id_nulls.sql",
	    "51d1d6260fadeb07d2c6c5a20e406d1bf91eaaa2b591aa3a1e9837dc19852be2" },
	{ "002-domain-identity/checks/pre_orphans.sql",
	    "8b41c7abd47a756c201c7671ebb0ccfa8ee1eb77eed625b0517abc19987dfddf" },
	{ "002-domain-identity/checks/pre_scope_prefix_mismatch.sql",
	    "b89f26a99ad34cc85d64aef4008f538c17e501402967a9df9bf0c008814dfb10" },
	{ "002-domain-identity/fixture/schema-007.sql",
	    "5c01dd98100b24370bbdfc27a076a1fbde00d39a25d7e8884070c8ad886b253b" },
	{ "quickstart/0001_create_clients.revert.sql",
	    "620e52fffc910adee51d76f85c3daa4532b8e5c9413941e5859a5048129fa19e" },
	{ "quickstart/0001_create_clients.sql",
	    "40040ff5fb0cf029df53a354da157d712830b86d86512091c58a69266248ddf7" },
	{ "quickstart/0001_create_clients.verify.sql",
	    "1760e4985611627ec774f61ed834ba398524c679532caf1faafcccc75612658f" },
	{ "quickstart/0002_add_client_status.revert.sql",
	    "5d9d6aab3ccaefeb8d1c187ce864f1a3c2c89ec04ada95b8d656cec7603eaa39" },
	{ "quickstart/0002_add_client_status.sql",
	    "fd85671e52333dd62b0aab9f3f19a3f59c10ccddeb57fe52e0ad15e7761cc369" },
	{ "quickstart/0002_add_client_status.verify.sql",
	    "2f024693d835c9a789b3029cbf6e6c790c3d517ef1d80480baf46cb9b38c0294" },
	{ "quickstart/0003_index_clients_tenant.revert.sql",
	    "9c7979be0d3c0b48523a18d45d37d5f786fc42b0054cb436d407c8ed84dfa2db" },
	{ "quickstart/0003_index_clients_tenant.sql",
	    "efc77dcd7ed9685e39d5cdadb9ff48d7519af73cda5f87cda8e62494d3153f0e" },
};

/* Texts whose statements are hard to find, and what they normalized to. */
static const struct {
	const char *sql;
	const char *want;
} tricky[] = {
	/* A SQL-standard body: its semicolons are not in quotes. */
	{ "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n"
	  "  SELECT a + 1;\n  SELECT a + 2;\nEND;\nSELECT 1;\n",
	    "create function f ( a int ) returns int language sql begin atomic "
	    "select a + 1 ; select a + 2 ; end;\nselect 1;\n" },
	{ "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO u VALUES (1); "
	  "INSERT INTO u VALUES (2));\nSELECT 2;",
	    "create rule r as on insert to t do also ( insert into u values ( 1 "
	    ") ; insert into u values ( 2 ) );\nselect 2;\n" },
	{ "SELECT $$a;b$$; /* c; */ SELECT E'x\\';y' -- z;\n; ; "
	  "SELECT U&\"d\\0061t\" FROM t",
	    "select $$a;b$$;\nselect e'x\\';y';\nselect u&\"d\\0061t\" from t;\n" },
	{ "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES "
	  "(1); INSERT INTO t VALUES (2); END;\n-- trailing\n",
	    "create procedure p ( ) language sql begin atomic insert into t "
	    "values ( 1 ) ; insert into t values ( 2 ) ; end;\n" },
};

/* The examples/ directory, next to tests/data. */
static void
examples_path(char *buf, size_t len, const char *rel)
{
	const char *d = getenv("SKEIN_TEST_DATA");

	if (d == NULL)
		fail_msg("SKEIN_TEST_DATA is not set");
	snprintf(buf, len, "%s/../../examples/%s", d, rel);
}

static void
test_normalize_examples_unchanged(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
		char path[1024], hex[2 * crypto_hash_sha256_BYTES + 1];
		uint8_t sum[crypto_hash_sha256_BYTES];
		char *text = NULL, *norm = NULL;
		sk_err err;

		examples_path(path, sizeof(path), pinned[i].path);
		if (sk_file_read(path, 1 << 20, &text, NULL, &err) != SK_OK)
			fail_msg("%s", err.msg);
		if (sk_sql_normalize(text, pinned[i].path, &norm, &err) != SK_OK)
			fail_msg("%s", err.msg);
		crypto_hash_sha256(sum, (const uint8_t *)norm, strlen(norm));
		sk_hex(sum, sizeof(sum), hex);
		if (strcmp(hex, pinned[i].sha256) != 0)
			fail_msg("the normalized form of %s changed: %s, pinned %s",
			    pinned[i].path, hex, pinned[i].sha256);
		free(norm);
		free(text);
	}
}

static void
test_normalize_tricky_texts_unchanged(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++) {
		char *norm = NULL;
		sk_err err;

		if (sk_sql_normalize(tricky[i].sql, "t.sql", &norm, &err) != SK_OK)
			fail_msg("case %zu: %s", i, err.msg);
		assert_string_equal(norm, tricky[i].want);
		free(norm);
	}
}

/* ---- chunks against one parse -------------------------------------------- */

/* One chunk for the whole text: what sk_sql_* did before chunks. */
#define WHOLE ((size_t)-1)

/* A parse, a normalization or their error, as text to compare. */
typedef struct outcome {
	char *parsed; /* every statement's line, offset, text and ops */
	char *norm;
	char err_parse[2 * SK_ERR_MSG_MAX];
	char err_norm[2 * SK_ERR_MSG_MAX];
} outcome;

static const char *
or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

static outcome
run_with(const char *sql, size_t chunk)
{
	size_t saved = sql_chunk_bytes;
	sk_sql_script *sc = NULL;
	outcome o = { 0 };
	sk_err err;

	sql_chunk_bytes = chunk;
	sk_err_clear(&err);
	if (sk_sql_parse(sql, "t.sql", &sc, &err) == SK_OK) {
		sk_strbuf b = { 0 };

		sk_strbuf_addf(&b, "%zu statements\n", sc->nstmts);
		for (size_t i = 0; i < sc->nstmts; i++) {
			const sk_sql_stmt *st = &sc->stmts[i];

			/* The text itself, compared in full, then its ops. */
			sk_strbuf_addf(
			    &b, "%d %zu %zu [", st->line, st->offset, st->nops);
			sk_strbuf_add(&b, st->text);
			sk_strbuf_add(&b, "]\n");
			for (size_t k = 0; k < st->nops; k++) {
				const sk_sql_op *op = &st->ops[k];

				sk_strbuf_addf(&b,
				    "  op %d %s.%s %s %s %s %d%d%d%d%d\n", op->kind,
				    or_dash(op->schema), or_dash(op->table),
				    or_dash(op->column), or_dash(op->name),
				    or_dash(op->what), op->concurrent, op->only,
				    op->not_valid, op->using_index, op->rewrites);
			}
		}
		assert_false(b.oom);
		o.parsed = b.s;
		sk_sql_script_destroy(sc);
	} else {
		assert_null(sc);
		snprintf(o.err_parse, sizeof(o.err_parse), "%d %s | %s",
		    err.code, err.msg, err.detail);
	}
	sk_err_clear(&err);
	if (sk_sql_normalize(sql, "t.sql", &o.norm, &err) != SK_OK)
		snprintf(o.err_norm, sizeof(o.err_norm), "%d %s | %s", err.code,
		    err.msg, err.detail);
	sql_chunk_bytes = saved;
	return o;
}

static void
outcome_fini(outcome *o)
{
	free(o->parsed);
	free(o->norm);
}

/* sql must come out of chunks of every size as out of one parse; the
 * one-parse outcome goes to *whole_out when it is not NULL. */
static void
same_as_whole(const char *what, const char *sql, outcome *whole_out)
{
	static const size_t sizes[] = { 1, 40, 200, 4096, 256 * 1024 };
	outcome whole = run_with(sql, WHOLE);

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		outcome o = run_with(sql, sizes[i]);

		if ((whole.parsed == NULL) != (o.parsed == NULL) ||
		    (whole.parsed != NULL && strcmp(whole.parsed, o.parsed) != 0))
			fail_msg("%s, chunks of %zu: statements differ:\n%s\n--- one "
				 "parse:\n%s",
			    what, sizes[i], o.parsed ? o.parsed : o.err_parse,
			    whole.parsed ? whole.parsed : whole.err_parse);
		if ((whole.norm == NULL) != (o.norm == NULL) ||
		    (whole.norm != NULL && strcmp(whole.norm, o.norm) != 0))
			fail_msg("%s, chunks of %zu: normalized form differs",
			    what, sizes[i]);
		if (strcmp(whole.err_parse, o.err_parse) != 0 ||
		    strcmp(whole.err_norm, o.err_norm) != 0)
			fail_msg("%s, chunks of %zu: errors differ:\n%s\n%s\n--- one "
				 "parse:\n%s\n%s",
			    what, sizes[i], o.err_parse, o.err_norm,
			    whole.err_parse, whole.err_norm);
		outcome_fini(&o);
	}
	if (whole_out != NULL)
		*whole_out = whole;
	else
		outcome_fini(&whole);
}

static char *
read_example(const char *rel)
{
	char path[1024], *text = NULL;
	sk_err err;

	examples_path(path, sizeof(path), rel);
	if (sk_file_read(path, 1 << 20, &text, NULL, &err) != SK_OK)
		fail_msg("%s", err.msg);
	return text;
}

/* Every example file, cut short or not, and all of them one after
 * another, give the same statements, facts, normalized form or error in
 * chunks of any size. */
static void
test_chunks_give_what_one_parse_gives_for_the_examples(void **state)
{
	char *all = NULL;
	size_t len = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
		char *text = read_example(pinned[i].path);
		size_t tl = strlen(text);

		same_as_whole(pinned[i].path, text, NULL);
		/* Cut short at eight places: errors in quotes, comments,
		 * bodies and at the end, from whichever chunk. */
		for (size_t k = 1; k <= 8; k++) {
			char *cut = sk_strdup(text);

			assert_non_null(cut);
			cut[tl * k / 9] = '\0';
			same_as_whole(pinned[i].path, cut, NULL);
			free(cut);
		}
		all = realloc(all, len + tl + 2);
		assert_non_null(all);
		memcpy(all + len, text, tl);
		len += tl;
		all[len++] = '\n';
		all[len] = '\0';
		free(text);
	}
	same_as_whole("all examples", all, NULL);
	free(all);
	for (size_t i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++)
		same_as_whole(tricky[i].sql, tricky[i].sql, NULL);
}

/* SQL-standard bodies: the scanner ends a statement at each of their
 * ';', so small chunks end inside them; each body stays one statement,
 * at its line, however many ';' it holds and wherever the chunk ends. */
static void
test_chunks_keep_begin_atomic_bodies_whole(void **state)
{
	static const char sql[] =
	    "CREATE TABLE t (a int);\n"
	    "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\n"
	    "BEGIN ATOMIC\n"
	    "  SELECT a + 1;\n  SELECT a + 2;\n  SELECT a + 3;\n  SELECT a + 4;\n"
	    "  SELECT a + 5;\n  SELECT a + 6;\n  SELECT a + 7;\n  SELECT a + 8;\n"
	    "END;\n"
	    "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES "
	    "(1); INSERT INTO t VALUES (2); END;\n"
	    "-- \xc3\xa9t\xc3\xa9\n"
	    "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC ; SELECT "
	    "'a;b'; SELECT $$;$$::int; END;\n"
	    "CREATE INDEX CONCURRENTLY t_a ON t (a);\n";
	outcome whole;

	(void)state;
	same_as_whole("BEGIN ATOMIC", sql, &whole);
	assert_non_null(whole.parsed);
	assert_true(strncmp(whole.parsed, "5 statements\n", 13) == 0);
	assert_non_null(strstr(whole.parsed, "\n2 24 0 [CREATE FUNCTION f"));
	assert_non_null(strstr(whole.parsed, "  SELECT a + 8;\nEND]\n"));
	assert_non_null(strstr(whole.parsed, "\n13 "));
	assert_non_null(strstr(whole.parsed, "\n15 "));
	assert_non_null(strstr(whole.parsed, "\n16 "));
	outcome_fini(&whole);
}

/* The first error of the whole text, at its line in the whole file, from
 * whichever chunk holds it; and a chunk that ends inside a body is not
 * an error. */
static void
test_chunks_report_the_first_error_at_its_line(void **state)
{
	static const struct {
		const char *sql;
		const char *msg; /* what one parse says, at the whole file's line */
	} bad[] = {
		{ "SELECT 1;\nSELECT 2;\n-- \xc3\xa9\xc3\xa9\nSELECT '\xc3\xbc';\n"
		  "SELEC 3;\nSELECT 4;\n",
		    "t.sql:5: syntax error at or near \"SELEC\"" },
		{ "SELECT 1;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql\n"
		  "BEGIN ATOMIC\n  SELECT 1;\n  SELEC 2;\nEND;\nSELECT 3;\n",
		    "t.sql:5: syntax error at or near \"SELEC\"" },
		{ "SELECT 1;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql\n"
		  "BEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\n\n",
		    "t.sql:5: syntax error at end of input" },
		{ "SELECT 1;\nSELECT '\xc3\xa9;\nSELECT 2;\n",
		    "t.sql:2: syntax error: unterminated quoted string" },
		{ "SELECT 1;\nSELEC 2;\nSELECT 'open;\n",
		    "t.sql:2: syntax error at or near \"SELEC\"" },
		{ "SELECT 1;\nSELECT 2 FROM;\n/* open\n",
		    "t.sql:2: syntax error at or near \";\"" },
		{ "SELECT 1;\nSELECT 2;\nSELECT 3 /* open\n",
		    "t.sql:3: syntax error: unterminated /* comment" },
		{ "SELECT 1;\nCREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO "
		  "u VALUES (1); INSERT INTO u VALUES (2));\nSELECT (1;\nSELECT 2;\n",
		    "t.sql:3: syntax error at or near \";\"" },
		{ ") SELECT 1;\nSELECT 2;\n", "t.sql:1: syntax error at or near \")\"" },
		{ "SELECT 1;\nSELECT $q$ body;\n",
		    "t.sql:2: syntax error: unterminated "
		    "dollar-quoted string" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		outcome whole;

		same_as_whole(bad[i].sql, bad[i].sql, &whole);
		if (strstr(whole.err_parse, bad[i].msg) == NULL ||
		    strstr(whole.err_norm, bad[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" / \"%s\" lack \"%s\"", i,
			    whole.err_parse, whole.err_norm, bad[i].msg);
		outcome_fini(&whole);
	}
}

/* A text of many chunks at the default size: hundreds of statements
 * before and after bodies, multi-byte characters and an error near the
 * end, against one parse. */
static void
test_chunks_of_a_big_text(void **state)
{
	const size_t n = 14000;
	sk_strbuf b = { 0 };
	char *sql, *bad;
	size_t len;
	outcome whole;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		sk_strbuf_addf(&b,
		    "INSERT INTO t (id, note) VALUES (%zu, 'r\xc3\xa9sum\xc3\xa9 "
		    "%zu; not an end');\n",
		    i, i);
		if (i % 997 == 0)
			sk_strbuf_addf(&b,
			    "CREATE FUNCTION f%zu(a int) RETURNS int LANGUAGE sql\n"
			    "BEGIN ATOMIC\n  SELECT a;\n  SELECT a + 1;\nEND;\n",
			    i);
	}
	assert_false(b.oom);
	sql = b.s;
	len = b.len;
	assert_true(len > 3 * 256 * 1024);
	whole = run_with(sql, WHOLE);
	{
		outcome o = run_with(sql, 256 * 1024);

		assert_non_null(o.parsed);
		assert_string_equal(o.parsed, whole.parsed);
		assert_string_equal(o.norm, whole.norm);
		outcome_fini(&o);
	}
	outcome_fini(&whole);
	/* The same text with an error on its last line but one. */
	bad = malloc(len + 32);
	assert_non_null(bad);
	memcpy(bad, sql, len);
	strcpy(bad + len, "SELEC 1;\nSELECT 2;\n");
	{
		outcome o = run_with(bad, 256 * 1024);
		char want[64];
		size_t lines = 0;

		for (size_t i = 0; i < len; i++)
			lines += sql[i] == '\n';
		snprintf(want, sizeof(want),
		    "t.sql:%zu: syntax error at or near", lines + 1);
		assert_null(o.parsed);
		if (strstr(o.err_parse, want) == NULL)
			fail_msg("\"%s\" lacks \"%s\"", o.err_parse, want);
		assert_non_null(strstr(o.err_parse, "| line "));
		outcome_fini(&o);
	}
	free(bad);
	free(sql);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize_examples_unchanged),
		cmocka_unit_test(test_normalize_tricky_texts_unchanged),
		cmocka_unit_test(test_chunks_give_what_one_parse_gives_for_the_examples),
		cmocka_unit_test(test_chunks_keep_begin_atomic_bodies_whole),
		cmocka_unit_test(test_chunks_report_the_first_error_at_its_line),
		cmocka_unit_test(test_chunks_of_a_big_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

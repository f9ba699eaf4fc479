/* Unit tests for what tenant moves add to a report on the wire: the
 * figures and the four signed sums round trip, a report without a move
 * has none, and a signed sum with a key of the wrong size is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sk_key.h"
#include "sk_wire.h"
#include "skein.pb-c.h"

static void
fill(sk_region_report *in)
{
	sk_move_report *m = &in->report.move;

	memset(in, 0, sizeof(*in));
	snprintf(in->region, sizeof(in->region), "in");
	in->report.event = SK_EV_STEP_FINISHED;
	snprintf(in->report.step_id, sizeof(in->report.step_id), "move_hotel");
	in->report.has_move = true;
	snprintf(m->phase, sizeof(m->phase), "done");
	snprintf(m->source_region, sizeof(m->source_region), "af");
	snprintf(m->target_region, sizeof(m->target_region), "in");
	snprintf(m->table, sizeof(m->table), "public.bookings");
	m->rows = 1000;
	m->rows_total = 1000;
	m->bytes = 65536;
	m->rate = 12345.5;
	m->eta_ms = -1;
	m->lag_ms = 120;
	m->changes = 17;
	m->freeze_ms = 85;
	m->committed = true;
	m->sums[SK_MOVE_SUMS_TARGET].len = 3;
	memcpy(m->sums[SK_MOVE_SUMS_TARGET].sums, "abc", 3);
	memset(m->sums[SK_MOVE_SUMS_TARGET].key, 7, 32);
	memset(m->sums[SK_MOVE_SUMS_TARGET].sig, 9, 64);
}

static void
test_move_figures_round_trip(void **state)
{
	sk_region_report in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	fill(&in);
	assert_int_equal(sk_region_report_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_region_report_decode(buf, len, &out, &err), SK_OK);
	free(buf);
	assert_true(out.report.has_move);
	assert_string_equal(out.report.move.phase, "done");
	assert_string_equal(out.report.move.source_region, "af");
	assert_string_equal(out.report.move.target_region, "in");
	assert_string_equal(out.report.move.table, "public.bookings");
	assert_int_equal(out.report.move.rows, 1000);
	assert_int_equal(out.report.move.bytes, 65536);
	assert_true(out.report.move.rate > 12345.4 && out.report.move.rate < 12345.6);
	assert_int_equal(out.report.move.eta_ms, -1);
	assert_int_equal(out.report.move.changes, 17);
	assert_int_equal(out.report.move.freeze_ms, 85);
	assert_true(out.report.move.committed);
	assert_false(out.report.move.aborted);
	assert_int_equal(out.report.move.sums[SK_MOVE_SUMS_SOURCE].len, 0);
	assert_int_equal(out.report.move.sums[SK_MOVE_SUMS_TARGET].len, 3);
	assert_memory_equal(out.report.move.sums[SK_MOVE_SUMS_TARGET].sums, "abc", 3);
	assert_int_equal(out.report.move.sums[SK_MOVE_SUMS_TARGET].key[31], 7);
	assert_int_equal(out.report.move.sums[SK_MOVE_SUMS_TARGET].sig[63], 9);

	/* No move: nothing decoded. */
	in.report.has_move = false;
	assert_int_equal(sk_region_report_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_region_report_decode(buf, len, &out, &err), SK_OK);
	free(buf);
	assert_false(out.report.has_move);
}

static void
test_move_sums_with_short_key_refused(void **state)
{
	sk_region_report in, out;
	uint8_t *buf = NULL, *bad;
	size_t len = 0, badlen;
	Skein__V1__RegionReport *rr;
	sk_err err;

	(void)state;
	fill(&in);
	assert_int_equal(sk_region_report_encode(&in, &buf, &len, &err), SK_OK);
	rr = skein__v1__region_report__unpack(NULL, len, buf);
	assert_non_null(rr);
	free(buf);
	assert_non_null(rr->report);
	assert_non_null(rr->report->move);
	assert_non_null(rr->report->move->target_sums);
	rr->report->move->target_sums->agent_key.len = 16;
	badlen = skein__v1__region_report__get_packed_size(rr);
	bad = malloc(badlen);
	assert_non_null(bad);
	skein__v1__region_report__pack(rr, bad);
	skein__v1__region_report__free_unpacked(rr, NULL);
	assert_int_not_equal(sk_region_report_decode(bad, badlen, &out, &err), SK_OK);
	assert_int_equal(err.code, SK_EDECODE);
	assert_non_null(strstr(err.msg, "key of 16 bytes"));
	free(bad);
}

/* Sums signed the way agents sign them open with signature_ok; a flipped
 * byte of the sums or the signature does not; bytes that are not a
 * MoveSums are refused. */
static void
test_move_sums_open(void **state)
{
	static const char domain[] = SK_MOVE_SUMS_DOMAIN;
	char base[] = "/tmp/skein-move-sums-XXXXXX", path[64];
	Skein__V1__MoveSums ms = SKEIN__V1__MOVE_SUMS__INIT;
	Skein__V1__MoveTableSum t = SKEIN__V1__MOVE_TABLE_SUM__INIT, *tp = &t;
	sk_move_signed sg;
	sk_move_sums_view v;
	sk_seckey *key = NULL;
	uint8_t msg[sizeof(domain) + SK_MOVE_SUMS_MAX];
	int fd;
	sk_err err;

	(void)state;
	assert_int_equal(sk_crypto_init(&err), SK_OK);
	fd = mkstemp(base);
	assert_true(fd >= 0);
	close(fd);
	unlink(base);
	assert_int_equal(sk_key_generate(base, &err), SK_OK);
	snprintf(path, sizeof(path), "%s.key", base);
	assert_int_equal(sk_seckey_load(path, &key, &err), SK_OK);
	unlink(path);
	snprintf(path, sizeof(path), "%s.pub", base);
	unlink(path);

	ms.move_id = "p-1/move";
	ms.region = "af";
	ms.snapshot = "100:105:";
	t.table = "public.bookings";
	t.rows = 3000;
	t.sum = 0xfedcba9876543210ull;
	ms.tables = &tp;
	ms.n_tables = 1;
	memset(&sg, 0, sizeof(sg));
	sg.len = skein__v1__move_sums__pack(&ms, sg.sums);
	memcpy(sg.key, sk_seckey_public(key)->pk, 32);
	memcpy(msg, domain, sizeof(domain));
	memcpy(msg + sizeof(domain), sg.sums, sg.len);
	sk_seckey_sign(key, msg, sizeof(domain) + sg.len, sg.sig);
	sk_seckey_destroy(key);

	assert_int_equal(sk_move_sums_open(&sg, &v, &err), SK_OK);
	assert_true(v.signature_ok);
	assert_string_equal(v.region, "af");
	assert_int_equal(v.ntables, 1);
	assert_string_equal(v.tables[0].table, "public.bookings");
	assert_int_equal(v.tables[0].rows, 3000);
	assert_true(v.tables[0].sum == 0xfedcba9876543210ull);
	assert_int_equal(strlen(v.key_id), 16);

	sg.sig[5] ^= 1;
	assert_int_equal(sk_move_sums_open(&sg, &v, &err), SK_OK);
	assert_false(v.signature_ok);
	sg.sig[5] ^= 1;
	sg.sums[sg.len - 1] ^= 1; /* the last byte of the table's sum */
	assert_int_equal(sk_move_sums_open(&sg, &v, &err), SK_OK);
	assert_false(v.signature_ok);

	memset(sg.sums, 0xff, 8);
	sg.len = 8;
	assert_int_equal(sk_move_sums_open(&sg, &v, &err), SK_EDECODE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_move_figures_round_trip),
		cmocka_unit_test(test_move_sums_with_short_key_refused),
		cmocka_unit_test(test_move_sums_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

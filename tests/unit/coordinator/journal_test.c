/* journal_test: the coordinator journal replays what was appended, in
 * order and intact, across reopens (including a rollout's mode, what it
 * rolls back, region states, and batches of agent reports); still replays
 * the region records of journals written before they held state (a
 * RegionView); cuts a torn tail (the process died mid-write) and nothing
 * else; refuses damage before the tail without touching the file; and
 * fails cleanly where it cannot write, leaving no part of a failed batch
 * behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "coord_journal.h"
#include "coord_state.h"
#include "coord_testfix.h"
#include "sk_err.h"
#include "sk_util.h"
#include "sk_wire.h"
#include "skein.pb-c.h"

#define HDR_LEN 24 /* length, its complement, 16-byte checksum */
#define MAX_RECS 16

/* ---- a visitor that records what it is shown --------------------------- */

enum rec_kind {
	REC_CREATED = 1,
	REC_REGION,
	REC_PHASE,
	REC_FINISHED,
	REC_SEQ,
	REC_REPORT
};

typedef struct rec {
	int kind;
	char rollout_id[SK_ID_MAX];
	int64_t at_ms;
	uint8_t plan[64];
	size_t plan_len;
	coord_region_record region;
	uint32_t phase;
	char state[32];
	char reason[256];
	uint64_t seq;
	int mode;
	char of_rollout[SK_ID_MAX];
	char only[4][SK_NAME_MAX];
	size_t nonly;
	bool no_backup, reapply;
	char reapply_of[64];
	sk_region_report report;
} rec;

typedef struct recorder {
	rec recs[MAX_RECS];
	size_t n;
} recorder;

static rec *
rec_next(recorder *r, int kind, const char *rollout_id)
{
	rec *x;

	assert_true(r->n < MAX_RECS);
	x = &r->recs[r->n++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	snprintf(x->rollout_id, sizeof(x->rollout_id), "%s", rollout_id);
	return x;
}

static void
on_created(void *arg, const char *rollout_id, int64_t at_ms,
    const uint8_t *signed_plan, size_t len, const coord_origin *origin)
{
	rec *x = rec_next(arg, REC_CREATED, rollout_id);

	x->at_ms = at_ms;
	assert_true(len <= sizeof(x->plan));
	memcpy(x->plan, signed_plan, len);
	x->plan_len = len;
	assert_non_null(origin);
	x->mode = origin->mode;
	snprintf(x->of_rollout, sizeof(x->of_rollout), "%s", origin->of_rollout);
	assert_true(origin->nonly_regions <= 4);
	for (size_t i = 0; i < origin->nonly_regions; i++)
		snprintf(x->only[i], sizeof(x->only[i]), "%s",
		    origin->only_regions[i]);
	x->nonly = origin->nonly_regions;
	x->no_backup = origin->no_backup;
	x->reapply = origin->reapply;
	snprintf(x->reapply_of, sizeof(x->reapply_of), "%s", origin->reapply_of);
}

static void
on_report(void *arg, const char *rollout_id, const sk_region_report *r)
{
	rec *x = rec_next(arg, REC_REPORT, rollout_id);

	x->report = *r;
}

static void
on_region(void *arg, const char *rollout_id, const coord_region_record *r)
{
	rec *x = rec_next(arg, REC_REGION, rollout_id);

	x->region = *r;
}

static void
on_phase(void *arg, const char *rollout_id, uint32_t phase, int64_t at_ms)
{
	rec *x = rec_next(arg, REC_PHASE, rollout_id);

	x->phase = phase;
	x->at_ms = at_ms;
}

static void
on_finished(void *arg, const char *rollout_id, const char *state,
    const char *reason, int64_t at_ms)
{
	rec *x = rec_next(arg, REC_FINISHED, rollout_id);

	snprintf(x->state, sizeof(x->state), "%s", state);
	snprintf(x->reason, sizeof(x->reason), "%s", reason);
	x->at_ms = at_ms;
}

static void
on_seq(void *arg, uint64_t reserved)
{
	rec *x = rec_next(arg, REC_SEQ, "");

	x->seq = reserved;
}

static const coord_journal_visitor record_all = {
	.created = on_created,
	.region = on_region,
	.phase = on_phase,
	.finished = on_finished,
	.seq = on_seq,
	.report = on_report,
};

/* ---- fixture ------------------------------------------------------------ */

typedef struct fixture {
	char dir[64];
	char path[96];
} fixture;

static int
setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (coord_testfix_mkdtemp(f->dir, sizeof(f->dir), "journal") != 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/journal", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;
	char cmd[256];
	int rc;

	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", f->dir, f->dir);
	rc = system(cmd);
	free(f);
	return rc == 0 ? 0 : -1;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;

	assert_non_null(fp);
	*len = (size_t)file_size(path);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *len, fp), *len);
	fclose(fp);
	return buf;
}

static void
spit(const char *path, const uint8_t *buf, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static const uint8_t plan_bytes[] = { 'S', 'K', 0x00, 0x01, 0xff, 0x80, 'p',
	'l', 'a', 'n' };

static void
sample_region(coord_region_record *r, const char *name, int state)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->state = state;
	snprintf(r->step, sizeof(r->step), "0002_backfill");
	snprintf(r->database, sizeof(r->database), "accounts");
	r->at_ms = 1714550401000;
	r->steps_done = 1;
	r->steps_total = 2;
}

/* Open, append the five kinds of record, close. ends[i] is the file offset
 * just after record i. */
static void
write_five(const char *dir, off_t ends[5])
{
	coord_journal *j = NULL;
	coord_region_record v;
	char path[128];
	sk_err err;

	snprintf(path, sizeof(path), "%s/journal", dir);
	assert_int_equal(coord_journal_open(dir, NULL, NULL, &j, &err), SK_OK);
	assert_int_equal(coord_journal_created(j, "ro-1", 1714550400000,
			     plan_bytes, sizeof(plan_bytes), NULL, &err),
	    SK_OK);
	ends[0] = file_size(path);
	sample_region(&v, "af", COORD_R_FAILED);
	v.error.code = SK_ESQL;
	snprintf(v.error.sqlstate, sizeof(v.error.sqlstate), "55P03");
	snprintf(v.error.msg, sizeof(v.error.msg),
	    "apply step 0002_backfill in af: lock timeout after 5 attempts (55P03)");
	snprintf(v.error.hint, sizeof(v.error.hint), "retry off-peak");
	assert_int_equal(coord_journal_region(j, "ro-1", &v, &err), SK_OK);
	ends[1] = file_size(path);
	assert_int_equal(coord_journal_phase(j, "ro-1", 1, 1714550402000, &err), SK_OK);
	ends[2] = file_size(path);
	assert_int_equal(coord_journal_finished(j, "ro-1", "failed",
			     "lock timeout after 5 attempts", 1714550403000, &err),
	    SK_OK);
	ends[3] = file_size(path);
	assert_int_equal(coord_journal_seq(j, 4242, &err), SK_OK);
	ends[4] = file_size(path);
	coord_journal_close(j);
}

static void
replay_into(const char *dir, recorder *r)
{
	coord_journal *j = NULL;
	sk_err err;

	memset(r, 0, sizeof(*r));
	assert_int_equal(coord_journal_open(dir, &record_all, r, &j, &err), SK_OK);
	assert_non_null(j);
	coord_journal_close(j);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_journal_replays_records_in_order_with_contents(void **state)
{
	fixture *f = *state;
	off_t ends[5];
	recorder r;
	const rec *x;

	replay_into(f->dir, &r);
	assert_int_equal(r.n, 0);
	write_five(f->dir, ends);
	for (int i = 1; i < 5; i++)
		assert_true(ends[i] > ends[i - 1]);
	replay_into(f->dir, &r);
	assert_int_equal(r.n, 5);

	x = &r.recs[0];
	assert_int_equal(x->kind, REC_CREATED);
	assert_string_equal(x->rollout_id, "ro-1");
	assert_int_equal(x->at_ms, 1714550400000);
	assert_int_equal(x->plan_len, sizeof(plan_bytes));
	assert_memory_equal(x->plan, plan_bytes, sizeof(plan_bytes));
	assert_int_equal(x->mode, SK_MODE_APPLY);
	assert_string_equal(x->of_rollout, "");
	assert_int_equal(x->nonly, 0);

	x = &r.recs[1];
	assert_int_equal(x->kind, REC_REGION);
	assert_string_equal(x->rollout_id, "ro-1");
	assert_string_equal(x->region.name, "af");
	assert_int_equal(x->region.state, COORD_R_FAILED);
	assert_string_equal(x->region.step, "0002_backfill");
	assert_string_equal(x->region.database, "accounts");
	assert_int_equal(x->region.at_ms, 1714550401000);
	assert_int_equal(x->region.steps_done, 1);
	assert_int_equal(x->region.steps_total, 2);
	assert_int_equal(x->region.error.code, SK_ESQL);
	assert_string_equal(x->region.error.sqlstate, "55P03");
	assert_string_equal(x->region.error.msg,
	    "apply step 0002_backfill in af: lock timeout after 5 attempts (55P03)");
	assert_string_equal(x->region.error.hint, "retry off-peak");

	x = &r.recs[2];
	assert_int_equal(x->kind, REC_PHASE);
	assert_string_equal(x->rollout_id, "ro-1");
	assert_int_equal(x->phase, 1);
	assert_int_equal(x->at_ms, 1714550402000);

	x = &r.recs[3];
	assert_int_equal(x->kind, REC_FINISHED);
	assert_string_equal(x->state, "failed");
	assert_string_equal(x->reason, "lock timeout after 5 attempts");
	assert_int_equal(x->at_ms, 1714550403000);

	x = &r.recs[4];
	assert_int_equal(x->kind, REC_SEQ);
	assert_int_equal(x->seq, 4242);

	/* Replay is read-only for an intact journal. */
	assert_int_equal(file_size(f->path), ends[4]);
}

static void
test_journal_reopen_appends_after_existing_records(void **state)
{
	fixture *f = *state;
	coord_journal *j = NULL;
	off_t ends[5], before;
	recorder r;
	sk_err err;

	write_five(f->dir, ends);
	memset(&r, 0, sizeof(r));
	assert_int_equal(coord_journal_open(f->dir, &record_all, &r, &j, &err), SK_OK);
	assert_int_equal(r.n, 5);
	assert_int_equal(coord_journal_phase(j, "ro-2", 0, 1714550500000, &err), SK_OK);
	assert_int_equal(
	    coord_journal_finished(j, "ro-2", "succeeded", "", 1714550600000, &err),
	    SK_OK);
	coord_journal_close(j);
	before = file_size(f->path);
	assert_true(before > ends[4]);

	replay_into(f->dir, &r);
	assert_int_equal(r.n, 7);
	assert_int_equal(r.recs[0].kind, REC_CREATED);
	assert_int_equal(r.recs[4].kind, REC_SEQ);
	assert_int_equal(r.recs[5].kind, REC_PHASE);
	assert_string_equal(r.recs[5].rollout_id, "ro-2");
	assert_int_equal(r.recs[5].phase, 0);
	assert_int_equal(r.recs[6].kind, REC_FINISHED);
	assert_string_equal(r.recs[6].rollout_id, "ro-2");
	assert_string_equal(r.recs[6].state, "succeeded");
	assert_string_equal(r.recs[6].reason, "");
	assert_int_equal(file_size(f->path), before);
}

/* Truncate inside the last record by every possible amount: the record is
 * dropped, the four before it survive, and an append after the cut is
 * read back in its place. */
static void
test_journal_cuts_torn_last_record_and_keeps_earlier_ones(void **state)
{
	fixture *f = *state;
	off_t ends[5];
	size_t full_len;
	uint8_t *full;

	write_five(f->dir, ends);
	full = slurp(f->path, &full_len);
	for (off_t cut = 1; cut < ends[4] - ends[3]; cut++) {
		coord_journal *j = NULL;
		recorder r;
		sk_err err;

		spit(f->path, full, full_len - (size_t)cut);
		memset(&r, 0, sizeof(r));
		assert_int_equal(
		    coord_journal_open(f->dir, &record_all, &r, &j, &err), SK_OK);
		assert_int_equal(r.n, 4);
		assert_int_equal(r.recs[3].kind, REC_FINISHED);
		assert_string_equal(r.recs[3].reason, "lock timeout after 5 attempts");
		assert_int_equal(file_size(f->path), ends[3]);
		assert_int_equal(
		    coord_journal_seq(j, 7000 + (uint64_t)cut, &err), SK_OK);
		coord_journal_close(j);

		replay_into(f->dir, &r);
		assert_int_equal(r.n, 5);
		assert_int_equal(r.recs[4].kind, REC_SEQ);
		assert_int_equal(r.recs[4].seq, 7000 + (uint64_t)cut);
	}
	free(full);
}

static void
test_journal_cuts_partial_header_after_last_record(void **state)
{
	fixture *f = *state;
	off_t ends[5];
	size_t full_len;
	uint8_t *full, *grown;

	write_five(f->dir, ends);
	full = slurp(f->path, &full_len);
	grown = malloc(full_len + HDR_LEN);
	assert_non_null(grown);
	memcpy(grown, full, full_len);
	/* A header whose length claims a small record: its payload never made
	 * it to disk. */
	memset(grown + full_len, 0, HDR_LEN);
	grown[full_len] = 12;
	for (size_t extra = 1; extra <= HDR_LEN; extra++) {
		coord_journal *j = NULL;
		recorder r;
		sk_err err;

		spit(f->path, grown, full_len + extra);
		memset(&r, 0, sizeof(r));
		assert_int_equal(
		    coord_journal_open(f->dir, &record_all, &r, &j, &err), SK_OK);
		assert_int_equal(r.n, 5);
		assert_int_equal(file_size(f->path), ends[4]);
		assert_int_equal(coord_journal_phase(j, "ro-1", 2, 1, &err), SK_OK);
		coord_journal_close(j);
		replay_into(f->dir, &r);
		assert_int_equal(r.n, 6);
		assert_int_equal(r.recs[5].kind, REC_PHASE);
		assert_int_equal(r.recs[5].phase, 2);
	}
	free(grown);
	free(full);
}

/* A last record whose bytes are all there but do not match its checksum is
 * what a torn overwrite of the final block looks like: it is cut too. */
static void
test_journal_cuts_last_record_with_bad_checksum(void **state)
{
	fixture *f = *state;
	off_t ends[5];
	size_t full_len;
	uint8_t *full;
	recorder r;

	write_five(f->dir, ends);
	full = slurp(f->path, &full_len);
	full[full_len - 1] ^= 0x01;
	spit(f->path, full, full_len);
	replay_into(f->dir, &r);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.recs[3].kind, REC_FINISHED);
	assert_int_equal(file_size(f->path), ends[3]);
	free(full);
}

static void
expect_refused_unchanged(fixture *f, const uint8_t *damaged, size_t len,
    off_t bad_off, size_t nbefore, const char *what, size_t *failures)
{
	coord_journal *j = (coord_journal *)&j; /* must be reset to NULL */
	recorder r;
	char want[64];
	size_t after_len;
	uint8_t *after;
	sk_err err;
	int rc;

	spit(f->path, damaged, len);
	memset(&r, 0, sizeof(r));
	sk_err_clear(&err);
	rc = coord_journal_open(f->dir, &record_all, &r, &j, &err);
	after = slurp(f->path, &after_len);
	snprintf(want, sizeof(want), "offset %lld", (long long)bad_off);
	if (rc != SK_EDECODE || err.code != SK_EDECODE || j != NULL ||
	    strstr(err.msg, want) == NULL || after_len != len ||
	    memcmp(after, damaged, len) != 0 || r.n != nbefore) {
		print_error("%s: rc %d, msg \"%s\", file %zu -> %zu bytes, "
			    "%zu records replayed; want SK_EDECODE naming %s, file "
			    "unchanged, %zu records\n",
		    what, rc, err.msg, len, after_len, r.n, want, nbefore);
		(*failures)++;
	}
	if (rc == SK_OK)
		coord_journal_close(j);
	free(after);
}

/* Every byte of the checksum and payload of a middle record. */
static void
test_journal_refuses_corrupted_middle_record_without_modifying_file(void **state)
{
	fixture *f = *state;
	off_t ends[5];
	size_t full_len, failures = 0;
	uint8_t *full;
	char what[64];

	write_five(f->dir, ends);
	full = slurp(f->path, &full_len);
	for (off_t b = ends[1] + 4; b < ends[2]; b++) {
		full[b] ^= 0x20;
		snprintf(what, sizeof(what), "flipped byte %lld", (long long)b);
		expect_refused_unchanged(f, full, full_len, ends[1], 2, what, &failures);
		full[b] ^= 0x20;
	}
	free(full);
	assert_int_equal(failures, 0);
}

/* The length field of a middle record: a length that now runs past the
 * end of the file is damage, not a torn tail, since intact records follow. */
static void
test_journal_refuses_corrupted_middle_record_length(void **state)
{
	fixture *f = *state;
	off_t ends[5];
	size_t full_len, failures = 0;
	uint8_t *full;
	char what[64];

	write_five(f->dir, ends);
	full = slurp(f->path, &full_len);
	for (off_t b = ends[1]; b < ends[1] + 4; b++) {
		static const uint8_t masks[] = { 0x01, 0x40, 0x80 };

		for (size_t m = 0; m < sizeof(masks); m++) {
			full[b] ^= masks[m];
			snprintf(what, sizeof(what), "length byte %lld ^ 0x%02x",
			    (long long)(b - ends[1]), masks[m]);
			expect_refused_unchanged(
			    f, full, full_len, ends[1], 2, what, &failures);
			full[b] ^= masks[m];
		}
	}
	free(full);
	assert_int_equal(failures, 0);
}

static void
test_journal_open_fails_when_state_dir_unwritable(void **state)
{
	fixture *f = *state;
	coord_journal *j = (coord_journal *)&j;
	char path[160];
	sk_err err;
	FILE *fp;

	/* A state dir under a regular file cannot be created. */
	snprintf(path, sizeof(path), "%s/plainfile", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/plainfile/state", f->dir);
	sk_err_clear(&err);
	assert_int_equal(coord_journal_open(path, &record_all, NULL, &j, &err), SK_EIO);
	assert_int_equal(err.code, SK_EIO);
	assert_null(j);
	assert_non_null(strstr(err.msg, "plainfile"));

	/* A journal path that is a directory cannot be opened for writing. */
	snprintf(path, sizeof(path), "%s/dirjournal/journal", f->dir);
	assert_int_equal(sk_mkdir_p(path, 0700, &err), SK_OK);
	snprintf(path, sizeof(path), "%s/dirjournal", f->dir);
	j = (coord_journal *)&j;
	sk_err_clear(&err);
	assert_int_equal(coord_journal_open(path, &record_all, NULL, &j, &err), SK_EIO);
	assert_null(j);
	assert_non_null(strstr(err.msg, "journal"));

	/* Without write permission (root ignores modes, so only as a user). */
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/readonly", f->dir);
		assert_int_equal(mkdir(path, 0500), 0);
		j = (coord_journal *)&j;
		sk_err_clear(&err);
		assert_int_equal(
		    coord_journal_open(path, &record_all, NULL, &j, &err), SK_EIO);
		assert_null(j);
	}
}

static void
test_journal_opens_with_null_visitor_and_keeps_records(void **state)
{
	fixture *f = *state;
	coord_journal *j = NULL;
	off_t ends[5];
	recorder r;
	sk_err err;

	write_five(f->dir, ends);
	assert_int_equal(coord_journal_open(f->dir, NULL, NULL, &j, &err), SK_OK);
	coord_journal_close(j);
	coord_journal_close(NULL);
	assert_int_equal(file_size(f->path), ends[4]);
	replay_into(f->dir, &r);
	assert_int_equal(r.n, 5);
}

static void
test_journal_refuses_a_file_of_another_format_and_leaves_it(void **state)
{
	fixture *f = *state;
	static const char other[] = "not a journal at all, or an older format\n";
	coord_journal *j = (coord_journal *)&j;
	size_t len;
	uint8_t *after;
	sk_err err;

	spit(f->path, (const uint8_t *)other, sizeof(other) - 1);
	assert_int_equal(coord_journal_open(f->dir, NULL, NULL, &j, &err), SK_EDECODE);
	assert_null(j);
	assert_non_null(strstr(err.msg, "not a skein journal"));
	after = slurp(f->path, &len);
	assert_int_equal(len, sizeof(other) - 1);
	assert_memory_equal(after, other, len);
	free(after);
}

/* ---- modes and reports -------------------------------------------------- */

static void
test_journal_replays_mode_of_rollout_and_only_regions(void **state)
{
	fixture *f = *state;
	static const char *const only[] = { "in", "ksa" };
	coord_origin rehearse = { .mode = SK_MODE_REHEARSE, .of_rollout = "" };
	coord_origin reapply = { .mode = SK_MODE_APPLY,
		.of_rollout = "",
		.actor = "otto",
		.reapply = true,
		.reapply_of = "r-original" };
	coord_origin rollback = {
		.mode = SK_MODE_ROLLBACK,
		.of_rollout = "r-original",
		.only_regions = only,
		.nonly_regions = 2,
		.actor = "vera",
		.actor_key = "00112233aabbccdd",
		.no_backup = true,
	};
	coord_journal *j = NULL;
	recorder r;
	sk_err err;

	assert_int_equal(coord_journal_open(f->dir, NULL, NULL, &j, &err), SK_OK);
	assert_int_equal(coord_journal_created(j, "r-rehearse", 1714550400000,
			     plan_bytes, sizeof(plan_bytes), &rehearse, &err),
	    SK_OK);
	assert_int_equal(coord_journal_created(j, "r-rollback", 1714550401000,
			     plan_bytes, sizeof(plan_bytes), &rollback, &err),
	    SK_OK);
	assert_int_equal(coord_journal_created(j, "r-again", 1714550402000,
			     plan_bytes, sizeof(plan_bytes), &reapply, &err),
	    SK_OK);
	coord_journal_close(j);

	replay_into(f->dir, &r);
	assert_int_equal(r.n, 3);
	/* The --reapply of the apply is on record with it. */
	assert_int_equal(r.recs[2].mode, SK_MODE_APPLY);
	assert_true(r.recs[2].reapply);
	assert_string_equal(r.recs[2].reapply_of, "r-original");
	assert_false(r.recs[1].reapply);
	assert_string_equal(r.recs[1].reapply_of, "");
	assert_int_equal(r.recs[0].kind, REC_CREATED);
	assert_string_equal(r.recs[0].rollout_id, "r-rehearse");
	assert_int_equal(r.recs[0].mode, SK_MODE_REHEARSE);
	assert_int_equal(r.recs[0].nonly, 0);
	assert_false(r.recs[0].no_backup);
	assert_string_equal(r.recs[1].rollout_id, "r-rollback");
	/* The --no-backup of the rollback is on record with it. */
	assert_true(r.recs[1].no_backup);
	assert_int_equal(r.recs[1].mode, SK_MODE_ROLLBACK);
	assert_string_equal(r.recs[1].of_rollout, "r-original");
	assert_int_equal(r.recs[1].nonly, 2);
	assert_string_equal(r.recs[1].only[0], "in");
	assert_string_equal(r.recs[1].only[1], "ksa");
	assert_int_equal(r.recs[1].plan_len, sizeof(plan_bytes));
	assert_memory_equal(r.recs[1].plan, plan_bytes, sizeof(plan_bytes));
}

/* ---- journals written before region records held state ----------------- */

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Append rec to the journal file at path, framed as every coordinator
 * writes records (length, its complement, BLAKE2b-128, payload); a new
 * file starts with the format line. */
static void
append_raw(const char *path, const Skein__V1__JournalRecord *record)
{
	size_t len = protobuf_c_message_get_packed_size(&record->base);
	uint8_t *buf = malloc(HDR_LEN + len);
	struct stat st;
	bool fresh = stat(path, &st) != 0;
	FILE *fp;

	assert_non_null(buf);
	protobuf_c_message_pack(&record->base, buf + HDR_LEN);
	put_le32(buf, (uint32_t)len);
	put_le32(buf + 4, ~(uint32_t)len);
	crypto_generichash(buf + 8, 16, buf + HDR_LEN, len, NULL, 0);
	fp = fopen(path, "ab");
	assert_non_null(fp);
	if (fresh)
		assert_int_equal(fputs("skein-journal v1\n", fp) >= 0, 1);
	assert_int_equal(fwrite(buf, 1, HDR_LEN + len, fp), HDR_LEN + len);
	assert_int_equal(fclose(fp), 0);
	free(buf);
}

/* A region record as coordinators wrote it before RegionRun: the CLI's
 * view of the region (JournalRecord.region), its state by the name the
 * rollout's mode gave it, with the detail text of the moment. */
static void
append_legacy_region(const char *path, const char *name, const char *state,
    const char *detail, const char *error, int64_t at_ms)
{
	Skein__V1__JournalRecord r;
	Skein__V1__RegionView v;
	Skein__V1__Error e;

	skein__v1__journal_record__init(&r);
	skein__v1__region_view__init(&v);
	skein__v1__error__init(&e);
	v.name = (char *)name;
	v.state = (char *)state;
	v.step = "0002_backfill";
	v.database = "accounts";
	v.updated_unix_ms = at_ms;
	v.steps_done = 1;
	v.steps_total = 4;
	v.detail = (char *)detail;
	if (error != NULL) {
		e.code = "sql";
		e.sqlstate = "55P03";
		e.message = (char *)error;
		v.error = &e;
	}
	r.rollout_id = "r-old";
	r.at_unix_ms = at_ms;
	r.rec_case = SKEIN__V1__JOURNAL_RECORD__REC_REGION;
	r.region = &v;
	append_raw(path, &r);
}

/* A journal of the old format: its region records come to the visitor as
 * state (a rehearsal's "ready" and "blocked" too), with their errors and
 * figures; their display text is dropped; a name no mode gives reads as
 * pending. New records append after them and replay in order. */
static void
test_journal_replays_region_views_of_journals_before_region_runs(void **state)
{
	fixture *f = *state;
	Skein__V1__JournalRecord created;
	coord_journal *j = NULL;
	coord_region_record now;
	recorder r;
	sk_err err;

	skein__v1__journal_record__init(&created);
	created.rollout_id = "r-old";
	created.at_unix_ms = 1714550400000;
	created.rec_case = SKEIN__V1__JOURNAL_RECORD__REC_CREATED_SIGNED_PLAN;
	created.created_signed_plan.data = (uint8_t *)plan_bytes;
	created.created_signed_plan.len = sizeof(plan_bytes);
	created.mode = SKEIN__V1__ROLLOUT_MODE__ROLLOUT_MODE_REHEARSE;
	append_raw(f->path, &created);
	append_legacy_region(f->path, "af", "ready", "", NULL, 1714550401000);
	append_legacy_region(f->path, "in", "blocked", "",
	    "rehearse step 0002_backfill in in: lock timeout", 1714550402000);
	append_legacy_region(f->path, "ksa", "running",
	    "waiting for a lock held by pid 4242 (idle in transaction)", NULL,
	    1714550403000);
	append_legacy_region(f->path, "eu", "halfway", "", NULL, 1714550404000);

	assert_int_equal(coord_journal_open(f->dir, NULL, NULL, &j, &err), SK_OK);
	sample_region(&now, "af", COORD_R_REFUSED);
	assert_int_equal(coord_journal_region(j, "r-old", &now, &err), SK_OK);
	coord_journal_close(j);

	replay_into(f->dir, &r);
	assert_int_equal(r.n, 6);
	assert_int_equal(r.recs[0].kind, REC_CREATED);
	assert_int_equal(r.recs[0].mode, SK_MODE_REHEARSE);
	for (size_t i = 1; i < 6; i++) {
		assert_int_equal(r.recs[i].kind, REC_REGION);
		assert_string_equal(r.recs[i].rollout_id, "r-old");
	}
	assert_string_equal(r.recs[1].region.name, "af");
	assert_int_equal(r.recs[1].region.state, COORD_R_SUCCEEDED);
	assert_int_equal(r.recs[1].region.error.code, SK_OK);
	assert_int_equal(r.recs[1].region.at_ms, 1714550401000);
	assert_string_equal(r.recs[1].region.step, "0002_backfill");
	assert_string_equal(r.recs[1].region.database, "accounts");
	assert_int_equal(r.recs[1].region.steps_done, 1);
	assert_int_equal(r.recs[1].region.steps_total, 4);
	assert_int_equal(r.recs[2].region.state, COORD_R_FAILED);
	assert_int_equal(r.recs[2].region.error.code, SK_ESQL);
	assert_string_equal(r.recs[2].region.error.sqlstate, "55P03");
	assert_string_equal(r.recs[2].region.error.msg,
	    "rehearse step 0002_backfill in in: lock timeout");
	assert_string_equal(r.recs[3].region.name, "ksa");
	assert_int_equal(r.recs[3].region.state, COORD_R_RUNNING);
	assert_string_equal(r.recs[4].region.name, "eu");
	assert_int_equal(r.recs[4].region.state, COORD_R_PENDING);
	/* The record appended by this coordinator, after the old ones. */
	assert_string_equal(r.recs[5].region.name, "af");
	assert_int_equal(r.recs[5].region.state, COORD_R_REFUSED);
	assert_int_equal(r.recs[5].region.at_ms, 1714550401000);
}

/* Every region state survives the journal as itself, whatever a mode
 * calls it. */
static void
test_journal_keeps_every_region_state(void **state)
{
	fixture *f = *state;
	coord_journal *j = NULL;
	coord_region_record v;
	recorder r;
	sk_err err;

	assert_int_equal(coord_journal_open(f->dir, NULL, NULL, &j, &err), SK_OK);
	for (int s = 0; s < COORD_R_MAX; s++) {
		sample_region(&v, "af", s);
		assert_int_equal(coord_journal_region(j, "ro-1", &v, &err), SK_OK);
	}
	coord_journal_close(j);
	replay_into(f->dir, &r);
	assert_int_equal(r.n, COORD_R_MAX);
	for (int s = 0; s < COORD_R_MAX; s++) {
		assert_int_equal(r.recs[s].kind, REC_REGION);
		assert_int_equal(r.recs[s].region.state, s);
		assert_int_equal(r.recs[s].region.error.code, SK_OK);
	}
}

static void
sample_report(sk_region_report *rr, const char *region, uint64_t seq, int event)
{
	sk_report *r = &rr->report;

	memset(rr, 0, sizeof(*rr));
	snprintf(rr->region, sizeof(rr->region), "%s", region);
	r->seq = seq;
	r->event = event;
	snprintf(r->rollout_id, sizeof(r->rollout_id), "ro-1");
	snprintf(r->plan_id, sizeof(r->plan_id), "plan-7f3a");
	snprintf(r->database, sizeof(r->database), "accounts");
	snprintf(r->step_id, sizeof(r->step_id), "0002_backfill");
	r->at_ms = 1714550400000 + (int64_t)seq;
	r->duration_ms = 1500;
	r->rows = 42;
}

/* Three reports of one agent message: one batch, replayed in order with
 * their check, blockers and backup intact. */
static void
test_journal_replays_a_batch_of_reports_in_order(void **state)
{
	fixture *f = *state;
	sk_region_report reps[3];
	coord_journal_report recs[3];
	coord_journal *j = NULL;
	off_t before;
	recorder r;
	sk_err err;

	sample_report(&reps[0], "af", 7, SK_EV_CHECK);
	reps[0].report.has_check = true;
	snprintf(reps[0].report.check.name, sizeof(reps[0].report.check.name),
	    "no_orphans");
	snprintf(reps[0].report.check.when, sizeof(reps[0].report.check.when), "pre");
	snprintf(reps[0].report.check.seen, sizeof(reps[0].report.check.seen), "3");
	snprintf(reps[0].report.check.expected,
	    sizeof(reps[0].report.check.expected), "= 0");
	sample_report(&reps[1], "af", 8, SK_EV_LOCK_WAIT);
	reps[1].report.nblockers = 1;
	reps[1].report.blockers[0].pid = 4242;
	snprintf(reps[1].report.blockers[0].state,
	    sizeof(reps[1].report.blockers[0].state), "idle in transaction");
	snprintf(reps[1].report.blockers[0].query,
	    sizeof(reps[1].report.blockers[0].query), "UPDATE accounts SET x = 1");
	reps[1].report.lock_waits = 2;
	reps[1].report.lock_wait_ms = 6000;
	sample_report(&reps[2], "af", 9, SK_EV_BACKUP);
	reps[2].report.has_backup = true;
	snprintf(reps[2].report.backup.path, sizeof(reps[2].report.backup.path),
	    "/backups/accounts.dump");
	reps[2].report.backup.size = 123456;
	snprintf(reps[2].report.backup.restore_command,
	    sizeof(reps[2].report.backup.restore_command),
	    "pg_restore -d accounts --clean --if-exists /backups/accounts.dump");
	for (int i = 0; i < 3; i++) {
		recs[i].rollout_id = "ro-1";
		recs[i].report = &reps[i];
	}

	assert_int_equal(coord_journal_open(f->dir, NULL, NULL, &j, &err), SK_OK);
	before = file_size(f->path);
	assert_int_equal(coord_journal_reports(j, recs, 0, &err), SK_OK);
	assert_int_equal(file_size(f->path), before);
	assert_int_equal(coord_journal_reports(j, recs, 3, &err), SK_OK);
	assert_true(file_size(f->path) > before);
	coord_journal_close(j);

	replay_into(f->dir, &r);
	assert_int_equal(r.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r.recs[i].kind, REC_REPORT);
		assert_string_equal(r.recs[i].rollout_id, "ro-1");
		assert_string_equal(r.recs[i].report.region, "af");
		assert_int_equal(r.recs[i].report.report.seq, 7 + i);
		assert_int_equal(r.recs[i].report.report.at_ms, reps[i].report.at_ms);
		assert_string_equal(r.recs[i].report.report.step_id, "0002_backfill");
	}
	assert_true(r.recs[0].report.report.has_check);
	assert_string_equal(r.recs[0].report.report.check.seen, "3");
	assert_string_equal(r.recs[0].report.report.check.expected, "= 0");
	assert_int_equal(r.recs[1].report.report.nblockers, 1);
	assert_int_equal(r.recs[1].report.report.blockers[0].pid, 4242);
	assert_int_equal(r.recs[1].report.report.lock_wait_ms, 6000);
	assert_true(r.recs[2].report.report.has_backup);
	assert_string_equal(r.recs[2].report.report.backup.restore_command,
	    "pg_restore -d accounts --clean --if-exists /backups/accounts.dump");
}

/* A batch the disk cannot take (here: the file size limit) fails as a
 * whole: no report of it replays, the file is as before, and the next
 * append works. */
static void
test_journal_failed_batch_leaves_nothing_behind(void **state)
{
	fixture *f = *state;
	sk_region_report reps[40];
	coord_journal_report recs[40];
	coord_journal *j = NULL;
	struct rlimit old, lim;
	off_t before;
	recorder r;
	sk_err err;

	for (int i = 0; i < 40; i++) {
		sample_report(&reps[i], "in", (uint64_t)i + 1, SK_EV_STEP_FINISHED);
		memset(reps[i].report.detail, 'x', sizeof(reps[i].report.detail) - 1);
		recs[i].rollout_id = "ro-1";
		recs[i].report = &reps[i];
	}
	assert_int_equal(coord_journal_open(f->dir, NULL, NULL, &j, &err), SK_OK);
	assert_int_equal(coord_journal_reports(j, recs, 1, &err), SK_OK);
	before = file_size(f->path);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)before + 4000; /* part of the batch fits */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	sk_err_clear(&err);
	assert_int_equal(coord_journal_reports(j, recs + 1, 39, &err), SK_EIO);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_non_null(strstr(err.msg, "journal"));
	assert_int_equal(file_size(f->path), before);

	assert_int_equal(coord_journal_reports(j, recs + 1, 1, &err), SK_OK);
	coord_journal_close(j);
	replay_into(f->dir, &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.recs[0].report.report.seq, 1);
	assert_int_equal(r.recs[1].report.report.seq, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_journal_replays_records_in_order_with_contents, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_reopen_appends_after_existing_records, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_cuts_torn_last_record_and_keeps_earlier_ones,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_cuts_partial_header_after_last_record, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_cuts_last_record_with_bad_checksum, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_refuses_corrupted_middle_record_without_modifying_file,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_refuses_corrupted_middle_record_length, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_open_fails_when_state_dir_unwritable, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_refuses_a_file_of_another_format_and_leaves_it,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_opens_with_null_visitor_and_keeps_records,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_replays_mode_of_rollout_and_only_regions, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_replays_a_batch_of_reports_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_failed_batch_leaves_nothing_behind, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_replays_region_views_of_journals_before_region_runs,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_journal_keeps_every_region_state, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fuzz_journal: the coordinator's journal replay, what a restart reads
 * back from <state>/journal. The journal is only read from a file, so each
 * input is written to <scratch>/state/journal and replayed with
 * coord_journal_open (a visitor reading every field it is shown), then
 * coord_journal_close.
 *
 * The first byte picks how the rest becomes the file:
 *   even  the rest is the file as it is (magic line, framing, checksums:
 *         what a damaged or torn file looks like);
 *   odd   the rest is a list of records, each a 2-byte little-endian
 *         length and that many bytes of JournalRecord, framed here with a
 *         correct header and BLAKE2b checksum after the magic line, so that
 *         the records' decoding is reached; a short last record stays torn.
 * The framing follows the format written in coord_journal.h.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "coord_journal.h"
#include "fuzz_util.h"

#define HARNESS "journal"
#define MAGIC "skein-journal v1\n"
#define HDR_LEN 24

static char *state_dir;
static char *journal_path;

static void
free_paths(void)
{
	free(state_dir);
	free(journal_path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init(HARNESS);
	state_dir = fuzz_path("state");
	journal_path = fuzz_path("state/journal");
	fuzz_mkdir(state_dir);
	atexit(free_paths);
	return 0;
}

/* ---- a visitor that reads everything it is given ------------------------ */

static void
on_created(void *arg, const char *rollout_id, int64_t at_ms,
    const uint8_t *signed_plan, size_t len, const coord_origin *origin)
{
	size_t *sum = arg;

	(void)at_ms;
	*sum += fuzz_touch(rollout_id) + fuzz_touch(origin->of_rollout) +
	    fuzz_touch(origin->actor) + fuzz_touch(origin->actor_key);
	for (size_t i = 0; i < len; i++)
		*sum += signed_plan[i];
	for (size_t i = 0; i < origin->nonly_regions; i++)
		*sum += fuzz_touch(origin->only_regions[i]);
}

static void
on_region(void *arg, const char *rollout_id, const coord_region_record *v)
{
	size_t *sum = arg;

	*sum += fuzz_touch(rollout_id) + fuzz_touch(v->name) +
	    (size_t)v->state + fuzz_touch(v->step) + fuzz_touch(v->error.msg);
}

static void
on_refused(void *arg, int64_t at_ms, const char *op, const char *actor,
    const char *actor_key, const char *reason)
{
	size_t *sum = arg;

	(void)at_ms;
	*sum += fuzz_touch(op) + fuzz_touch(actor) + fuzz_touch(actor_key) +
	    fuzz_touch(reason);
}

static void
on_phase(void *arg, const char *rollout_id, uint32_t phase, int64_t at_ms)
{
	size_t *sum = arg;

	(void)at_ms;
	*sum += fuzz_touch(rollout_id) + phase;
}

static void
on_finished(void *arg, const char *rollout_id, const char *state,
    const char *reason, int64_t at_ms)
{
	size_t *sum = arg;

	(void)at_ms;
	*sum += fuzz_touch(rollout_id) + fuzz_touch(state) + fuzz_touch(reason);
}

static void
on_seq(void *arg, uint64_t reserved)
{
	size_t *sum = arg;

	*sum += (size_t)reserved;
}

static void
on_report(void *arg, const char *rollout_id, const sk_region_report *r)
{
	size_t *sum = arg;

	*sum += fuzz_touch(rollout_id) + fuzz_touch(r->region) +
	    fuzz_touch(r->report.detail) + r->report.nblockers;
}

static void
on_opctl(void *arg, const char *rollout_id, const coord_opctl_record *rec)
{
	size_t *sum = arg;

	*sum += fuzz_touch(rollout_id) + (size_t)rec->kind +
	    fuzz_touch(rec->actor) + fuzz_touch(rec->actor_key) +
	    fuzz_touch(rec->reason) + (size_t)rec->tune.batch_min +
	    (size_t)rec->tune.batch_max + (rec->tune.has_rate ? 1u : 0u);
}

static const coord_journal_visitor visitor = {
	.created = on_created,
	.region = on_region,
	.phase = on_phase,
	.finished = on_finished,
	.seq = on_seq,
	.report = on_report,
	.refused = on_refused,
	.opctl = on_opctl,
};

/* ---- framing ------------------------------------------------------------ */

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The odd-byte form: records framed with valid headers. Returns a new
 * buffer of *len bytes (caller frees). */
static uint8_t *
frame_records(const uint8_t *data, size_t size, size_t *len)
{
	/* Each record grows by at most HDR_LEN - 2 bytes. */
	size_t cap = sizeof(MAGIC) - 1 + size + (size / 2 + 1) * HDR_LEN;
	uint8_t *out = malloc(cap);
	size_t off = sizeof(MAGIC) - 1;

	if (out == NULL)
		fuzz_fail(HARNESS, "out of memory");
	memcpy(out, MAGIC, off);
	while (size >= 2) {
		size_t n = (size_t)data[0] | (size_t)data[1] << 8;

		data += 2;
		size -= 2;
		if (n > size) {
			/* A torn record: its header says more than follows. */
			put_u32(out + off, (uint32_t)n);
			put_u32(out + off + 4, ~(uint32_t)n);
			memset(out + off + 8, 0, HDR_LEN - 8);
			memcpy(out + off + HDR_LEN, data, size);
			off += HDR_LEN + size;
			size = 0;
			break;
		}
		put_u32(out + off, (uint32_t)n);
		put_u32(out + off + 4, ~(uint32_t)n);
		crypto_generichash(out + off + 8, HDR_LEN - 8, data, n, NULL, 0);
		memcpy(out + off + HDR_LEN, data, n);
		off += HDR_LEN + n;
		data += n;
		size -= n;
	}
	*len = off;
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	coord_journal *j = NULL;
	uint8_t *framed = NULL;
	size_t len = 0, sum = 0;
	sk_err err;

	if (size == 0)
		return 0;
	if (data[0] % 2 == 0) {
		fuzz_write_file(journal_path, data + 1, size - 1);
	} else {
		framed = frame_records(data + 1, size - 1, &len);
		fuzz_write_file(journal_path, framed, len);
		free(framed);
	}
	if (coord_journal_open(state_dir, &visitor, &sum, &j, &err) == SK_OK)
		coord_journal_close(j);
	return 0;
}

/* coord_journal: length-prefixed, checksummed, fsync'ed protobuf records.
 * The cost is one fsync per transition; transitions are per region and
 * phase, not per step, so a rollout writes a few records per region.
 * Agent reports are many more (a few per step and database), so they are
 * written a whole agent message at a time, with one fsync. */
#include "coord_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coord_journal_gate.h"
#include "coord_journal_region.h"
#include "coord_mode.h"
#include "sk_log.h"
#include "sk_util.h"
#include "skein.pb-c.h"

#define JOURNAL_SUM_LEN 16
/* Record header: length, bitwise complement of the length, checksum. The
 * complement tells a damaged length (an error) from a torn final record
 * (cut): both end past the end of the file, only damage breaks the pair. */
#define JOURNAL_HDR_LEN (4 + 4 + JOURNAL_SUM_LEN)
/* The file starts with this line, so that a file of another format or
 * version is refused whole instead of being read as a torn tail. */
#define JOURNAL_MAGIC "skein-journal v1\n"
#define JOURNAL_MAGIC_LEN (sizeof(JOURNAL_MAGIC) - 1)
#define JOURNAL_RECORD_MAX (SK_ERR_MSG_MAX * 4 + 32u * 1024u * 1024u)

struct coord_journal {
	int fd;
	char *path;
	off_t size;       /* end of the last intact record */
	coord_hist fsync; /* each fdatasync's time, for /metrics */
};

/* Monotonic seconds, to time an fsync. */
static double
mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static int
read_full(int fd, uint8_t *buf, size_t len, size_t *got)
{
	*got = 0;
	while (*got < len) {
		ssize_t n = read(fd, buf + *got, len - *got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

/* True if a complete record with a consistent header and a matching
 * checksum starts anywhere in [from, end). Only called on the rare path of
 * a damaged header, so a byte-by-byte scan is affordable. */
static bool
intact_record_after(int fd, off_t from, off_t end)
{
	size_t n = end > from ? (size_t)(end - from) : 0;
	uint8_t *buf = n ? malloc(n) : NULL;
	uint8_t sum[JOURNAL_SUM_LEN];
	bool found = false;

	if (buf == NULL || pread(fd, buf, n, from) != (ssize_t)n) {
		free(buf);
		return n > 0; /* cannot tell: treat as damage, never cut */
	}
	for (size_t p = 0; !found && p + JOURNAL_HDR_LEN <= n; p++) {
		uint32_t len = get_u32(buf + p);

		if (get_u32(buf + p + 4) != ~len || len > n - p - JOURNAL_HDR_LEN)
			continue;
		crypto_generichash(
		    sum, sizeof(sum), buf + p + JOURNAL_HDR_LEN, len, NULL, 0);
		found = sodium_memcmp(sum, buf + p + 8, sizeof(sum)) == 0;
	}
	free(buf);
	return found;
}

static void
dispatch(const Skein__V1__JournalRecord *r, const coord_journal_visitor *v, void *arg)
{
	const char *id = r->rollout_id ? r->rollout_id : "";

	switch (r->rec_case) {
	case SKEIN__V1__JOURNAL_RECORD__REC_CREATED_SIGNED_PLAN: {
		coord_origin o = {
			.mode = (int)r->mode,
			.of_rollout = r->of_rollout ? r->of_rollout : "",
			.only_regions = (const char *const *)r->only_regions,
			.nonly_regions = r->n_only_regions,
			.actor = r->actor ? r->actor : "",
			.actor_key = r->actor_key ? r->actor_key : "",
			.no_backup = r->no_backup,
			.reapply = r->reapply,
			.reapply_of = r->reapply_of ? r->reapply_of : "",
		};

		if (v->created)
			v->created(arg, id, r->at_unix_ms,
			    r->created_signed_plan.data,
			    r->created_signed_plan.len, &o);
		break;
	}
	case SKEIN__V1__JOURNAL_RECORD__REC_REFUSED_OP:
		if (v->refused)
			v->refused(arg, r->at_unix_ms, r->refused_op,
			    r->actor ? r->actor : "", r->actor_key ? r->actor_key : "",
			    r->reason ? r->reason : "");
		break;
	case SKEIN__V1__JOURNAL_RECORD__REC_OPERATOR_CONTROL: {
		const Skein__V1__OperatorControl *oc = r->operator_control;
		coord_opctl_record h = { .actor = r->actor,
			.actor_key = r->actor_key,
			.reason = r->reason,
			.at_ms = r->at_unix_ms };

		if (v->opctl == NULL || oc == NULL)
			break;
		h.kind = (int)oc->kind;
		h.regions = (const char *const *)oc->regions;
		h.nregions = oc->n_regions;
		h.line = oc->line;
		if (oc->tune != NULL)
			h.tune = (sk_tune){ oc->tune->max_rows_per_second_set,
				oc->tune->max_rows_per_second,
				oc->tune->batch_min, oc->tune->batch_max };
		v->opctl(arg, id, &h);
		break;
	}
	case SKEIN__V1__JOURNAL_RECORD__REC_LINE_STOP: {
		coord_line_record l = { .actor = r->actor,
			.actor_key = r->actor_key,
			.reason = r->reason,
			.at_ms = r->at_unix_ms };

		if (v->line == NULL || r->line_stop == NULL)
			break;
		l.stopped = r->line_stop->stopped;
		l.except = (const char *const *)r->line_stop->except;
		l.nexcept = r->line_stop->n_except;
		v->line(arg, &l);
		break;
	}
	case SKEIN__V1__JOURNAL_RECORD__REC_REPORT: {
		sk_region_report rr;
		uint8_t *buf = NULL;
		size_t len = 0;
		sk_err err;

		if (v->report == NULL || r->report == NULL)
			break;
		len = protobuf_c_message_get_packed_size(&r->report->base);
		buf = malloc(len + 1);
		if (buf == NULL)
			break;
		protobuf_c_message_pack(&r->report->base, buf);
		if (sk_region_report_decode(buf, len, &rr, &err) == SK_OK)
			v->report(arg, id, &rr);
		else
			sk_warn("journal: skipping an unreadable report of rollout "
				"%s: %s",
			    id, err.msg);
		free(buf);
		break;
	}
	case SKEIN__V1__JOURNAL_RECORD__REC_REGION_RUN: {
		coord_region_record rec;

		if (v->region == NULL || r->region_run == NULL)
			break;
		if (journal_region_from_pb(&rec, r->region_run, r->at_unix_ms) != SK_OK) {
			sk_warn("journal: skipping a region record of rollout %s "
				"with a name of %zu bytes",
			    id, strlen(r->region_run->name));
			break;
		}
		v->region(arg, id, &rec);
		break;
	}
	case SKEIN__V1__JOURNAL_RECORD__REC_REGION: {
		coord_region_record rec;

		if (v->region != NULL && r->region != NULL &&
		    journal_legacy_region(&rec, r->region) == SK_OK)
			v->region(arg, id, &rec);
		break;
	}
	case SKEIN__V1__JOURNAL_RECORD__REC_PHASE_STARTED:
		if (v->phase)
			v->phase(arg, id, r->phase_started, r->at_unix_ms);
		break;
	case SKEIN__V1__JOURNAL_RECORD__REC_FINISHED_STATE:
		if (v->finished)
			v->finished(arg, id, r->finished_state,
			    r->reason ? r->reason : "", r->at_unix_ms);
		break;
	case SKEIN__V1__JOURNAL_RECORD__REC_CONTROL_SEQ_RESERVED:
		if (v->seq)
			v->seq(arg, r->control_seq_reserved);
		break;
	case SKEIN__V1__JOURNAL_RECORD__REC_GATE:
	case SKEIN__V1__JOURNAL_RECORD__REC_APPROVAL:
		journal_gate_dispatch(r, v, arg);
		break;
	default:
		break;
	}
}

/* A new journal gets the magic line; an existing one must start with it. */
static int
check_magic(coord_journal *j, off_t size, sk_err *err)
{
	char head[JOURNAL_MAGIC_LEN];
	size_t got;

	if (size == 0) {
		if (write(j->fd, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN) !=
			(ssize_t)JOURNAL_MAGIC_LEN ||
		    fdatasync(j->fd) != 0)
			return sk_err_errno(
			    err, SK_EIO, errno, "create journal %s", j->path);
		return SK_OK;
	}
	if (read_full(j->fd, (uint8_t *)head, sizeof(head), &got) != 0)
		return sk_err_errno(err, SK_EIO, errno, "read journal %s", j->path);
	if (got < sizeof(head) || memcmp(head, JOURNAL_MAGIC, sizeof(head)) != 0)
		return sk_err_set(err, SK_EDECODE,
		    "read journal %s: not a skein journal of format v1; refusing "
		    "to use or change it",
		    j->path);
	return SK_OK;
}

/* Replay from the start. Stops at the first torn record and reports its
 * offset in *good_end; a damaged record followed by intact data cannot be
 * told apart from a torn tail, so only a checksum failure on the very last
 * bytes of the file is treated as torn. */
static int
replay(coord_journal *j, const coord_journal_visitor *v, void *arg, sk_err *err)
{
	struct stat st;
	off_t off = 0;
	uint8_t hdr[JOURNAL_HDR_LEN];
	uint8_t *buf = NULL;
	int rc = SK_OK;
	size_t got;

	if (fstat(j->fd, &st) != 0)
		return sk_err_errno(err, SK_EIO, errno, "read journal %s", j->path);
	if ((rc = check_magic(j, st.st_size, err)) != SK_OK)
		return rc;
	off = (off_t)JOURNAL_MAGIC_LEN;
	if (st.st_size < off)
		st.st_size = off;
	while (off < st.st_size) {
		uint32_t len;
		uint8_t sum[JOURNAL_SUM_LEN];
		Skein__V1__JournalRecord *rec;

		if (read_full(j->fd, hdr, sizeof(hdr), &got) != 0) {
			rc = sk_err_errno(
			    err, SK_EIO, errno, "read journal %s", j->path);
			goto out;
		}
		if (got < sizeof(hdr))
			break; /* torn header */
		len = get_u32(hdr);
		if (get_u32(hdr + 4) != ~len) {
			/* A header whose tail never reached the disk (the file
			 * grew, the bytes stayed zero) looks the same as a
			 * damaged one, except that nothing intact follows it. */
			if (!intact_record_after(j->fd, off + 1, st.st_size))
				break;
			rc = sk_err_set(err, SK_EDECODE,
			    "read journal %s: damaged length in record at offset %lld",
			    j->path, (long long)off);
			goto out;
		}
		if (len > JOURNAL_RECORD_MAX) {
			rc = sk_err_set(err, SK_EDECODE,
			    "read journal %s: record at offset %lld claims %u bytes",
			    j->path, (long long)off, len);
			goto out;
		}
		free(buf);
		buf = malloc(len + 1);
		if (buf == NULL) {
			rc = sk_err_set(err, SK_ENOMEM, "read journal: out of memory");
			goto out;
		}
		if (read_full(j->fd, buf, len, &got) != 0) {
			rc = sk_err_errno(
			    err, SK_EIO, errno, "read journal %s", j->path);
			goto out;
		}
		if (got < len)
			break; /* torn payload */
		crypto_generichash(sum, sizeof(sum), buf, len, NULL, 0);
		if (sodium_memcmp(sum, hdr + 8, sizeof(sum)) != 0) {
			if (off + (off_t)sizeof(hdr) + (off_t)len == st.st_size)
				break; /* torn last record */
			rc = sk_err_set(err, SK_EDECODE,
			    "read journal %s: checksum mismatch in record at offset %lld",
			    j->path, (long long)off);
			goto out;
		}
		rec = skein__v1__journal_record__unpack(NULL, len, buf);
		if (rec == NULL) {
			rc = sk_err_set(err, SK_EDECODE,
			    "read journal %s: undecodable record at offset %lld",
			    j->path, (long long)off);
			goto out;
		}
		dispatch(rec, v, arg);
		skein__v1__journal_record__free_unpacked(rec, NULL);
		off += (off_t)JOURNAL_HDR_LEN + (off_t)len;
	}
	if (off < st.st_size) {
		sk_warn("journal %s: cutting a torn final record (%lld bytes)",
		    j->path, (long long)(st.st_size - off));
		if (ftruncate(j->fd, off) != 0) {
			rc = sk_err_errno(
			    err, SK_EIO, errno, "truncate journal %s", j->path);
			goto out;
		}
	}
	j->size = off;
	if (lseek(j->fd, off, SEEK_SET) < 0)
		rc = sk_err_errno(err, SK_EIO, errno, "seek journal %s", j->path);
out:
	free(buf);
	return rc;
}

/* Give path mode when group or others may read or write it. */
static int
private_mode(const char *path, mode_t mode, sk_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return sk_err_errno(err, SK_EIO, errno, "stat %s", path);
	if ((st.st_mode & 077) == 0)
		return SK_OK;
	sk_warn("%s was mode %04o: made %04o (only the coordinator reads it)",
	    path, (unsigned)(st.st_mode & 07777), (unsigned)mode);
	if (chmod(path, mode) != 0)
		return sk_err_errno(err, SK_EIO, errno, "chmod %s", path);
	return SK_OK;
}

int
coord_journal_open(const char *dir, const coord_journal_visitor *visitor,
    void *arg, coord_journal **out, sk_err *err)
{
	coord_journal *j;
	static const coord_journal_visitor none;
	int rc;

	*out = NULL;
	if (sk_mkdir_p(dir, 0700, err) != SK_OK)
		return err->code;
	/* The journal holds every signed plan and who did what: only the
	 * coordinator's user reads it (docs/security.md). A directory made
	 * looser by hand is tightened, saying so. */
	if (private_mode(dir, 0700, err) != SK_OK)
		return err->code;
	j = calloc(1, sizeof(*j));
	if (j != NULL)
		coord_hist_init_fsync(&j->fsync);
	if (j == NULL)
		return sk_err_set(err, SK_ENOMEM, "open journal: out of memory");
	j->path = sk_path_join(dir, "journal");
	if (j->path == NULL) {
		free(j);
		return sk_err_set(err, SK_ENOMEM, "open journal: out of memory");
	}
	j->fd = open(j->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		rc = sk_err_errno(err, SK_EIO, errno, "open journal %s", j->path);
		coord_journal_close(j);
		return rc;
	}
	if ((rc = private_mode(j->path, 0600, err)) != SK_OK) {
		coord_journal_close(j);
		return rc;
	}
	rc = replay(j, visitor ? visitor : &none, arg, err);
	if (rc != SK_OK) {
		coord_journal_close(j);
		return rc;
	}
	*out = j;
	return SK_OK;
}

const coord_hist *
coord_journal_fsync_hist(const coord_journal *j)
{
	return &j->fsync;
}

void
coord_journal_close(coord_journal *j)
{
	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}

/* Frame rec (length, complement, checksum, payload) at buf + *off; buf
 * has room for JOURNAL_HDR_LEN + packed size. */
static void
frame(const Skein__V1__JournalRecord *rec, uint8_t *buf, size_t *off)
{
	size_t len = protobuf_c_message_get_packed_size(&rec->base);
	uint8_t *p = buf + *off;

	protobuf_c_message_pack(&rec->base, p + JOURNAL_HDR_LEN);
	put_u32(p, (uint32_t)len);
	put_u32(p + 4, ~(uint32_t)len);
	crypto_generichash(p + 8, JOURNAL_SUM_LEN, p + JOURNAL_HDR_LEN, len, NULL, 0);
	*off += JOURNAL_HDR_LEN + len;
}

/* Write total bytes of framed records and fsync; all or nothing. */
static int
write_synced(coord_journal *j, const uint8_t *buf, size_t total, sk_err *err)
{
	size_t done = 0;
	int rc = SK_OK;

	while (done < total) {
		ssize_t n = write(j->fd, buf + done, total - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sk_err_errno(
			    err, SK_EIO, errno, "append journal %s", j->path);
			break;
		}
		done += (size_t)n;
	}
	if (rc == SK_OK) {
		double t0 = mono_seconds();

		if (fdatasync(j->fd) != 0)
			rc = sk_err_errno(
			    err, SK_EIO, errno, "sync journal %s", j->path);
		coord_hist_observe(&j->fsync, mono_seconds() - t0);
	}
	if (rc != SK_OK) {
		/* Leave no partial record behind for the next append to follow. */
		if (ftruncate(j->fd, j->size) == 0)
			(void)lseek(j->fd, j->size, SEEK_SET);
	} else {
		j->size += (off_t)total;
	}
	return rc;
}

static int
append(coord_journal *j, Skein__V1__JournalRecord *rec, sk_err *err)
{
	size_t total =
	    JOURNAL_HDR_LEN + protobuf_c_message_get_packed_size(&rec->base);
	uint8_t *buf = malloc(total);
	size_t off = 0;
	int rc;

	if (buf == NULL)
		return sk_err_set(err, SK_ENOMEM, "append journal: out of memory");
	frame(rec, buf, &off);
	rc = write_synced(j, buf, off, err);
	free(buf);
	return rc;
}

static void
record_init(Skein__V1__JournalRecord *r, const char *rollout_id, int64_t at_ms)
{
	skein__v1__journal_record__init(r);
	r->rollout_id = (char *)(rollout_id ? rollout_id : "");
	r->at_unix_ms = at_ms;
}

int
coord_journal_created(coord_journal *j, const char *rollout_id, int64_t at_ms,
    const uint8_t *signed_plan, size_t len, const coord_origin *origin, sk_err *err)
{
	Skein__V1__JournalRecord r;

	record_init(&r, rollout_id, at_ms);
	r.rec_case = SKEIN__V1__JOURNAL_RECORD__REC_CREATED_SIGNED_PLAN;
	r.created_signed_plan.data = (uint8_t *)signed_plan;
	r.created_signed_plan.len = len;
	if (origin != NULL) {
		r.mode = (Skein__V1__RolloutMode)origin->mode;
		r.of_rollout = (char *)(origin->of_rollout ? origin->of_rollout : "");
		r.only_regions = (char **)origin->only_regions;
		r.n_only_regions = origin->nonly_regions;
		r.actor = (char *)(origin->actor ? origin->actor : "");
		r.actor_key = (char *)(origin->actor_key ? origin->actor_key : "");
		r.no_backup = origin->no_backup;
		r.reapply = origin->reapply;
		r.reapply_of = (char *)(origin->reapply_of ? origin->reapply_of : "");
	}
	return append(j, &r, err);
}

int
coord_journal_refused(coord_journal *j, int64_t at_ms, const char *op,
    const char *actor, const char *actor_key, const char *reason, sk_err *err)
{
	Skein__V1__JournalRecord r;

	record_init(&r, "", at_ms);
	r.rec_case = SKEIN__V1__JOURNAL_RECORD__REC_REFUSED_OP;
	r.refused_op = (char *)(op != NULL ? op : "");
	r.actor = (char *)(actor != NULL ? actor : "");
	r.actor_key = (char *)(actor_key != NULL ? actor_key : "");
	r.reason = (char *)(reason != NULL ? reason : "");
	return append(j, &r, err);
}

int
coord_journal_opctl(coord_journal *j, const char *rollout_id,
    const coord_opctl_record *rec, sk_err *err)
{
	Skein__V1__JournalRecord r;
	Skein__V1__OperatorControl oc;
	Skein__V1__Tune t;

	skein__v1__operator_control__init(&oc);
	oc.kind = (Skein__V1__CommandKind)rec->kind;
	if (rec->kind == SK_CMD_TUNE) {
		skein__v1__tune__init(&t);
		t.max_rows_per_second_set = rec->tune.has_rate;
		t.max_rows_per_second = rec->tune.max_rows_per_second;
		t.batch_min = rec->tune.batch_min;
		t.batch_max = rec->tune.batch_max;
		oc.tune = &t;
	}
	oc.regions = (char **)rec->regions;
	oc.n_regions = rec->nregions;
	oc.line = rec->line;
	record_init(&r, rollout_id, rec->at_ms);
	r.rec_case = SKEIN__V1__JOURNAL_RECORD__REC_OPERATOR_CONTROL;
	r.operator_control = &oc;
	r.actor = (char *)(rec->actor != NULL ? rec->actor : "");
	r.actor_key = (char *)(rec->actor_key != NULL ? rec->actor_key : "");
	r.reason = (char *)(rec->reason != NULL ? rec->reason : "");
	return append(j, &r, err);
}

int
coord_journal_line(coord_journal *j, const coord_line_record *rec, sk_err *err)
{
	Skein__V1__JournalRecord r;
	Skein__V1__LineStop ls;

	skein__v1__line_stop__init(&ls);
	ls.stopped = rec->stopped;
	ls.except = (char **)rec->except;
	ls.n_except = rec->nexcept;
	record_init(&r, "", rec->at_ms);
	r.rec_case = SKEIN__V1__JOURNAL_RECORD__REC_LINE_STOP;
	r.line_stop = &ls;
	r.actor = (char *)(rec->actor != NULL ? rec->actor : "");
	r.actor_key = (char *)(rec->actor_key != NULL ? rec->actor_key : "");
	r.reason = (char *)(rec->reason != NULL ? rec->reason : "");
	return append(j, &r, err);
}

int
coord_journal_gate(coord_journal *j, const char *rollout_id,
    const coord_gate_record *rec, sk_err *err)
{
	Skein__V1__JournalRecord r;
	journal_gate_store s;

	record_init(&r, rollout_id, rec->at_ms);
	journal_gate_to_pb(&r, &s, rec);
	return append(j, &r, err);
}

int
coord_journal_approval(coord_journal *j, const char *rollout_id,
    const coord_approval_record *rec, sk_err *err)
{
	Skein__V1__JournalRecord r;
	journal_gate_store s;

	record_init(&r, rollout_id, rec->at_ms);
	journal_approval_to_pb(&r, &s, rec);
	return append(j, &r, err);
}

int
coord_journal_region(coord_journal *j, const char *rollout_id,
    const coord_region_record *rec, sk_err *err)
{
	Skein__V1__JournalRecord r;
	Skein__V1__RegionRun pb;
	Skein__V1__Error pe;

	skein__v1__region_run__init(&pb);
	pb.name = (char *)rec->name;
	pb.state = journal_state_to_pb(rec->state);
	pb.step = (char *)rec->step;
	pb.database = (char *)rec->database;
	pb.steps_done = rec->steps_done;
	pb.steps_total = rec->steps_total;
	if (rec->error.code != SK_OK) {
		skein__v1__error__init(&pe);
		pe.code = (char *)sk_code_name(rec->error.code);
		pe.sqlstate = (char *)rec->error.sqlstate;
		pe.message = (char *)rec->error.msg;
		pe.detail = (char *)rec->error.detail;
		pe.hint = (char *)rec->error.hint;
		pb.error = &pe;
	}
	record_init(&r, rollout_id, rec->at_ms);
	r.rec_case = SKEIN__V1__JOURNAL_RECORD__REC_REGION_RUN;
	r.region_run = &pb;
	return append(j, &r, err);
}

int
coord_journal_phase(coord_journal *j, const char *rollout_id, uint32_t phase,
    int64_t at_ms, sk_err *err)
{
	Skein__V1__JournalRecord r;

	record_init(&r, rollout_id, at_ms);
	r.rec_case = SKEIN__V1__JOURNAL_RECORD__REC_PHASE_STARTED;
	r.phase_started = phase;
	return append(j, &r, err);
}

int
coord_journal_finished(coord_journal *j, const char *rollout_id,
    const char *state, const char *reason, int64_t at_ms, sk_err *err)
{
	Skein__V1__JournalRecord r;

	record_init(&r, rollout_id, at_ms);
	r.rec_case = SKEIN__V1__JOURNAL_RECORD__REC_FINISHED_STATE;
	r.finished_state = (char *)state;
	r.reason = (char *)(reason ? reason : "");
	return append(j, &r, err);
}

int
coord_journal_seq(coord_journal *j, uint64_t reserved, sk_err *err)
{
	Skein__V1__JournalRecord r;

	record_init(&r, "", sk_now_ms());
	r.rec_case = SKEIN__V1__JOURNAL_RECORD__REC_CONTROL_SEQ_RESERVED;
	r.control_seq_reserved = reserved;
	return append(j, &r, err);
}

int
coord_journal_reports(
    coord_journal *j, const coord_journal_report *recs, size_t n, sk_err *err)
{
	Skein__V1__RegionReport **pb = NULL;
	Skein__V1__JournalRecord *r = NULL;
	uint8_t *buf = NULL;
	size_t total = 0, off = 0;
	int rc = SK_OK;

	if (n == 0)
		return SK_OK;
	pb = calloc(n, sizeof(*pb));
	r = calloc(n, sizeof(*r));
	if (pb == NULL || r == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "append journal: out of memory");
		goto out;
	}
	/* Encode through the codec, then embed the decoded protobuf, so that
	 * the codec's checks apply to what is journaled. */
	for (size_t i = 0; i < n; i++) {
		uint8_t *enc = NULL;
		size_t len = 0;

		if ((rc = sk_region_report_encode(recs[i].report, &enc, &len, err)) != SK_OK)
			goto out;
		pb[i] = skein__v1__region_report__unpack(NULL, len, enc);
		free(enc);
		if (pb[i] == NULL) {
			rc = sk_err_set(err, SK_ENOMEM, "append journal: out of memory");
			goto out;
		}
		record_init(&r[i], recs[i].rollout_id, recs[i].report->report.at_ms);
		r[i].rec_case = SKEIN__V1__JOURNAL_RECORD__REC_REPORT;
		r[i].report = pb[i];
		total += JOURNAL_HDR_LEN +
		    protobuf_c_message_get_packed_size(&r[i].base);
	}
	buf = malloc(total);
	if (buf == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "append journal: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		frame(&r[i], buf, &off);
	rc = write_synced(j, buf, off, err);
out:
	for (size_t i = 0; pb != NULL && i < n; i++)
		if (pb[i] != NULL)
			skein__v1__region_report__free_unpacked(pb[i], NULL);
	free(pb);
	free(r);
	free(buf);
	return rc;
}

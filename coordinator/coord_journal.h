/* coord_journal: the coordinator's append-only record of every rollout
 * transition, replayed at start so that a restart resumes where it was.
 *
 * File: <state>/journal, the line "skein-journal v1", then a sequence of
 * records, each a 4-byte little-endian length, its bitwise complement, a
 * 16-byte BLAKE2b checksum of the payload, and a protobuf JournalRecord.
 * Each append is fsync'ed before it returns, so a transition
 * the coordinator acted on survives kill -9; a batch of reports is written
 * with one write and one fsync. A torn final record (the
 * process died mid-write) is detected by its length or checksum and cut off
 * at replay; damage before the final record is an error, never skipped.
 *
 * Not thread-safe: the coordinator's single event loop owns it.
 */
#ifndef COORD_JOURNAL_H
#define COORD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_counters.h"
#include "coord_state.h"
#include "sk_err.h"
#include "sk_wire.h"

typedef struct coord_journal coord_journal;

/* How a rollout came to be (JournalRecord mode, of_rollout,
 * only_regions, actor, actor_key, no_backup, reapply, reapply_of): what
 * was asked, by whom.
 * All pointers are borrowed. */
typedef struct coord_origin {
	int mode;               /* enum sk_mode */
	const char *of_rollout; /* SK_MODE_ROLLBACK: the rollout undone; else "" */
	/* SK_MODE_ROLLBACK: the regions the rollback runs in; else none. */
	const char *const *only_regions;
	size_t nonly_regions;
	/* The operator who started it and their key id (hex); NULL or "":
	 * not recorded (a journal from before operators). */
	const char *actor;
	const char *actor_key;
	/* SK_MODE_ROLLBACK: the actor said --no-backup (the agents revert
	 * without backing each database up first). */
	bool no_backup;
	/* SK_MODE_APPLY: the plan's latest apply, reapply_of, had been
	 * rolled back, and the actor said --reapply. NULL or "": none. */
	bool reapply;
	const char *reapply_of;
} coord_origin;

/* A region's run as journaled when its state changes: the state and its
 * figures. What it waits for and its databases are progress, not
 * journaled: the agent reports them again. */
typedef struct coord_region_record {
	char name[SK_NAME_MAX];
	int state;    /* enum coord_region_state */
	sk_err error; /* why it failed or was refused; code SK_OK: none */
	char step[SK_NAME_MAX];     /* the last step reported */
	char database[SK_NAME_MAX]; /* the database of the last report */
	uint32_t steps_done;
	uint32_t steps_total;
	int64_t at_ms; /* when it changed */
} coord_region_record;

/* One report to journal: the rollout it belongs to, and the report with
 * its region. Borrowed. */
typedef struct coord_journal_report {
	const char *rollout_id;
	const sk_region_report *report;
} coord_journal_report;

/* An operator's pause, resume, tune or abort of a rollout, as journaled.
 * Strings are borrowed; NULL reads as "". */
typedef struct coord_opctl_record {
	int kind; /* SK_CMD_PAUSE, SK_CMD_RESUME, SK_CMD_TUNE or SK_CMD_ABORT */
	const char *actor;     /* the operator who said it */
	const char *actor_key; /* their key id (hex); "" unsigned */
	const char *reason;    /* SK_CMD_PAUSE: why; "" none */
	sk_tune tune;          /* SK_CMD_TUNE: what was asked (not merged) */
	int64_t at_ms;
	/* stopline: SK_CMD_PAUSE, SK_CMD_RESUME, SK_CMD_ABORT of these
	 * regions only (none: the rollout; at most SK_OP_REGIONS_MAX); line:
	 * said by the line stop (skein stop --all / --lift). */
	const char *const *regions;
	size_t nregions;
	bool line;
} coord_opctl_record;

/* stopline: skein stop --all (stopped, with its exceptions) or --lift,
 * as journaled. Strings borrowed; NULL reads as "". */
typedef struct coord_line_record {
	bool stopped;
	const char *actor;
	const char *actor_key;
	const char *reason;
	const char *const *except;
	size_t nexcept;
	int64_t at_ms;
} coord_line_record;
/* A phase gate's transition (GateRecord, coord_gate.c): phase indexes
 * the rollout's phases in run order; event is an enum coord_gate_event
 * (the GateRecord.Event numbers); judged says what decided a HALTED or
 * PAUSED (has_judged). Plain value. */
enum coord_gate_event {
	COORD_GATE_EV_ENTRY_OPEN = 1,
	COORD_GATE_EV_EXIT_STARTED = 2,
	COORD_GATE_EV_SOAK = 3,
	COORD_GATE_EV_EXIT_PASSED = 4,
	COORD_GATE_EV_HALTED = 5,
	COORD_GATE_EV_PAUSED = 6,
};
typedef struct coord_gate_record {
	uint32_t phase;
	int event;
	int64_t served_ms;
	bool has_judged;
	sk_gate_judged judged;
	int64_t at_ms;
} coord_gate_record;

/* An operator's approval of a phase (ApprovalView), with the signed
 * envelope it came in. Borrowed; NULL strings read as "". */
typedef struct coord_approval_record {
	const char *phase; /* its name */
	const char *operator_name;
	const char *key_id;
	int64_t at_ms;
	const uint8_t *envelope;
	size_t envelope_len;
} coord_approval_record;

/* Called for each record during replay, in order. Any callback may be
 * NULL. `arg` is the replay argument. */
typedef struct coord_journal_visitor {
	void (*created)(void *arg, const char *rollout_id, int64_t at_ms,
	    const uint8_t *signed_plan, size_t len, const coord_origin *origin);
	/* Also for the records of journals written before region records
	 * held state (a RegionView: its state name is read back, its detail
	 * text dropped). */
	void (*region)(
	    void *arg, const char *rollout_id, const coord_region_record *rec);
	void (*phase)(void *arg, const char *rollout_id, uint32_t phase, int64_t at_ms);
	void (*finished)(void *arg, const char *rollout_id, const char *state,
	    const char *reason, int64_t at_ms);
	void (*seq)(void *arg, uint64_t reserved);
	void (*report)(void *arg, const char *rollout_id, const sk_region_report *r);
	void (*refused)(void *arg, int64_t at_ms, const char *op,
	    const char *actor, const char *actor_key, const char *reason);
	/* A pause, resume or tune (its strings live for the call). */
	void (*opctl)(void *arg, const char *rollout_id, const coord_opctl_record *rec);
	/* stopline: the line stopped or lifted (strings live for the call). */
	void (*line)(void *arg, const coord_line_record *rec);
	/* Gates: a gate's transition; an approval (strings live for the
	 * call). */
	void (*gate)(void *arg, const char *rollout_id, const coord_gate_record *rec);
	void (*approval)(void *arg, const char *rollout_id,
	    const coord_approval_record *rec);
} coord_journal_visitor;

/* Open (creating if needed) the journal in dir, replay every intact record
 * through visitor, and leave the file positioned for appends. On success
 * *out is owned by the caller (coord_journal_close). */
int coord_journal_open(const char *dir, const coord_journal_visitor *visitor,
    void *arg, coord_journal **out, sk_err *err) SK_WARN_UNUSED;

/* How long each of j's fsyncs took, in seconds (for /metrics). Borrowed
 * from j. */
const coord_hist *coord_journal_fsync_hist(const coord_journal *j);

/* Close and free. Accepts NULL. */
void coord_journal_close(coord_journal *j);

/* Append one record and fsync. On failure the journal is unchanged
 * (a partial write is truncated away) and err says why. Everything passed
 * is borrowed. origin of coord_journal_created may be NULL (apply).
 * coord_journal_region writes a RegionRun record (state and figures). */
int coord_journal_created(coord_journal *j, const char *rollout_id,
    int64_t at_ms, const uint8_t *signed_plan, size_t len,
    const coord_origin *origin, sk_err *err) SK_WARN_UNUSED;
int coord_journal_region(coord_journal *j, const char *rollout_id,
    const coord_region_record *rec, sk_err *err) SK_WARN_UNUSED;
int coord_journal_phase(coord_journal *j, const char *rollout_id,
    uint32_t phase, int64_t at_ms, sk_err *err) SK_WARN_UNUSED;
int coord_journal_finished(coord_journal *j, const char *rollout_id,
    const char *state, const char *reason, int64_t at_ms, sk_err *err) SK_WARN_UNUSED;
int coord_journal_seq(coord_journal *j, uint64_t reserved, sk_err *err) SK_WARN_UNUSED;

/* A control request refused: its operation (or "unknown"), whoever it
 * named (actor, actor_key: "" unknown) and why. An audit record: replay
 * hands it to the visitor's refused and changes nothing. */
int coord_journal_refused(coord_journal *j, int64_t at_ms, const char *op,
    const char *actor, const char *actor_key, const char *reason,
    sk_err *err) SK_WARN_UNUSED;

/* An operator paused, resumed or tuned rollout_id (rec). Replay hands
 * it to the visitor's opctl, in order with the rollout's other records. */
int coord_journal_opctl(coord_journal *j, const char *rollout_id,
    const coord_opctl_record *rec, sk_err *err) SK_WARN_UNUSED;

/* stopline: the line was stopped or lifted (rec). Replay hands it to
 * the visitor's line, in order with the rollouts' records. */
int coord_journal_line(
    coord_journal *j, const coord_line_record *rec, sk_err *err) SK_WARN_UNUSED;
/* A gate's transition (rec) of rollout_id; an approval with its
 * envelope. Replay hands them to the visitor's gate and approval. */
int coord_journal_gate(coord_journal *j, const char *rollout_id,
    const coord_gate_record *rec, sk_err *err) SK_WARN_UNUSED;
int coord_journal_approval(coord_journal *j, const char *rollout_id,
    const coord_approval_record *rec, sk_err *err) SK_WARN_UNUSED;

/* Append n report records with one write and one fsync: all of them or,
 * on failure, none (the partial write is truncated away). n == 0 writes
 * nothing. */
int coord_journal_reports(coord_journal *j, const coord_journal_report *recs,
    size_t n, sk_err *err) SK_WARN_UNUSED;

#endif

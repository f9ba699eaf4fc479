/* sk_wire: the codec between skein's own structs and the protobuf wire
 * contract (proto/skein.proto) for agent<->coordinator and CLI<->coordinator
 * messages. Generated protobuf-c types stay inside the codec modules:
 * sk_wire*.c, sk_plan.c, sk_plan_validate.c, sk_envelope.c and the
 * coordinator's journal.
 *
 * Ownership, for every type here: a struct filled by a _decode function
 * owns its arrays; the matching _fini frees them and accepts NULL. Encode
 * functions return a new malloc'ed buffer the caller frees. Decoders accept
 * any bytes: garbage yields SK_EDECODE and nothing allocated.
 */
#ifndef SK_WIRE_H
#define SK_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"

#define SK_ID_MAX 64   /* rollout and plan ids */
#define SK_NAME_MAX 64 /* region, database, step names */
#define SK_NONCE_LEN 16

enum sk_event {
	SK_EV_PLAN_ACCEPTED = 1,
	SK_EV_PLAN_REFUSED = 2,
	SK_EV_DB_WAITING = 3,
	SK_EV_DB_STARTED = 4,
	SK_EV_STEP_STARTED = 5,
	SK_EV_STEP_FINISHED = 6,
	SK_EV_STEP_SKIPPED = 7,
	SK_EV_STEP_FAILED = 8,
	SK_EV_DB_FINISHED = 9,
	SK_EV_DB_FAILED = 10,
	SK_EV_PLAN_SUCCEEDED = 11,
	SK_EV_PLAN_FAILED = 12,
	SK_EV_PROGRESS = 13,
	SK_EV_CHECK = 14,     /* report.check holds the result */
	SK_EV_LOCK_WAIT = 15, /* report.blockers say who blocks the step */
	SK_EV_BACKUP = 16,    /* report.backup describes it */
	SK_EV_STEP_REVERTED = 17,
	SK_EV_STEP_REHEARSED = 18,
	SK_EV_STEP_NOT_REHEARSABLE = 19,
	/* sampling: one sampled gate item in one database (see sk_report) */
	SK_EV_GATE_SAMPLE = 20,
	SK_EV_DEAD_MAN = 21, /* stopline: held while the coordinator was silent */
	SK_EV_FLAG = 22,     /* flags: report.flag holds the flip */
	SK_EV_MAX
};

/* How a rollout runs its plan (proto RolloutMode). */
enum sk_mode {
	SK_MODE_APPLY = 0,
	SK_MODE_REHEARSE = 1, /* run and roll back: change nothing */
	SK_MODE_ROLLBACK = 2, /* run the reverts of completed steps */
	SK_MODE_MAX
};

/* "apply", "rehearse", "rollback"; "unknown" out of range. */
const char *sk_mode_name(int mode);

/* "plan-accepted", "step-finished", ...; "unknown" out of range. */
const char *sk_event_name(int event);

/* A check's result, as reported (SK_EV_CHECK). */
typedef struct sk_check_result {
	char name[SK_NAME_MAX];
	char when[16]; /* "preflight", "pre", "post" */
	bool passed;
	char seen[256];     /* the value seen, "no rows", or a SQLSTATE */
	char expected[256]; /* e.g. "= 0", "no rows", "fails with 23514" */
	/* The check opted in to report its value (sk_check.report_value):
	 * seen may leave the region whatever it is. Not on the wire. */
	bool report_value;
} sk_check_result;

/* A session that blocks a step (pg_blocking_pids), as reported. */
typedef struct sk_blocker {
	int32_t pid;
	char state[32];
	int64_t age_ms;  /* age of its transaction */
	char query[160]; /* the start of its query */
	char user[SK_NAME_MAX];
	char application[SK_NAME_MAX];
} sk_blocker;

/* Blockers kept per report. A report arriving with more keeps the first
 * SK_BLOCKERS_MAX and drops the rest (it is not refused); encoding sends
 * at most SK_BLOCKERS_MAX whatever nblockers says. */
#define SK_BLOCKERS_MAX 4

/* A verified backup, as reported (SK_EV_BACKUP). */
typedef struct sk_backup_info {
	char path[512];
	int64_t size;
	int64_t duration_ms;
	char restore_command[1024];
} sk_backup_info;

/* sampling: a health signal's value, as an agent read it
 * (SK_EV_GATE_SAMPLE). Decoders refuse a signal name over 31 bytes and a
 * value that is not a finite number. */
#define SK_SIGNAL_MAX 32
typedef struct sk_health_sample {
	char signal[SK_SIGNAL_MAX]; /* "replication_lag", "http", ... */
	double value;
} sk_health_sample;
/* flags: one flip of a feature flag in one database, as reported
 * (SK_EV_FLAG). Values longer than the fields are cut. */
typedef struct sk_flag_report {
	char name[SK_NAME_MAX];
	bool every_tenant; /* the every-tenant row; else tenant */
	char tenant[128];
	bool old_absent; /* the flag was not set before; else old_value */
	char old_value[128];
	bool new_absent; /* the flip removed it (a revert); else new_value */
	char new_value[128];
	bool reverted; /* the flip undid a flag step's */
} sk_flag_report;

/* One progress event from an agent. Plain value: copy freely. */
/* moves: a move_tenant step's figures in a report (proto MoveFigures).
 * The agents' signed sums ride as signed (a serialized MoveSums, the
 * signer's key, the signature), so that whoever holds the report can
 * verify them: source, target, source in the freeze, target in the
 * freeze; len 0: not reached, or over SK_MOVE_SUMS_MAX (then only the
 * target's skein.moves has them). */
#define SK_MOVE_SUMS_MAX 2048
typedef struct sk_move_signed {
	size_t len;
	uint8_t sums[SK_MOVE_SUMS_MAX];
	uint8_t key[32];
	uint8_t sig[64];
} sk_move_signed;
enum {
	SK_MOVE_SUMS_SOURCE,
	SK_MOVE_SUMS_TARGET,
	SK_MOVE_SUMS_SOURCE_FREEZE,
	SK_MOVE_SUMS_TARGET_FREEZE,
	SK_MOVE_SUMS_N
};
typedef struct sk_move_report {
	char phase[16]; /* preflight, capture, copy, catch-up, verify, freeze, flip, done, abort */
	char source_region[SK_NAME_MAX];
	char target_region[SK_NAME_MAX];
	char table[SK_NAME_MAX]; /* copy: the table being copied */
	int64_t rows, rows_total, bytes, bytes_total;
	double rate;    /* rows per second */
	int64_t eta_ms; /* -1: unknown */
	int64_t lag_ms, changes, freeze_ms, copy_ms, catchup_ms;
	char verdict[16]; /* rehearsal: READY or BLOCKED */
	int64_t est_copy_ms, est_freeze_ms, est_rollback_ms;
	bool aborted, committed;
	sk_move_signed sums[SK_MOVE_SUMS_N];
} sk_move_report;

/* moves: one side's signed sums, opened: the signature checked against
 * the key that came with it (whether that key is the region's pinned
 * agent key is for the caller to say) and the MoveSums decoded. */
#define SK_MOVE_TABLES_MAX 64
typedef struct sk_move_sums_view {
	bool signature_ok;
	char key_id[17]; /* hex of the signer's key id */
	char region[SK_NAME_MAX];
	char snapshot[128];
	bool delta;
	size_t ntables;
	struct {
		char table[SK_NAME_MAX];
		int64_t rows;
		uint64_t sum;
		int64_t keys;
	} tables[SK_MOVE_TABLES_MAX];
} sk_move_sums_view;

/* The domain a move's sums are signed under: Ed25519 over this string,
 * its NUL included, followed by the serialized MoveSums. */
#define SK_MOVE_SUMS_DOMAIN "skein/v1/move-sums"

/* Open s into *out: SK_EDECODE for sums that do not decode or name more
 * tables than SK_MOVE_TABLES_MAX; a bad signature is not an error
 * (out->signature_ok false). */
int sk_move_sums_open(const sk_move_signed *s, sk_move_sums_view *out,
    sk_err *err) SK_WARN_UNUSED;

typedef struct sk_report {
	uint64_t seq;
	int event; /* enum sk_event */
	char rollout_id[SK_ID_MAX];
	char plan_id[SK_ID_MAX];
	char database[SK_NAME_MAX];
	char step_id[SK_NAME_MAX];
	int64_t at_ms;
	int64_t duration_ms;
	int64_t rows;
	int64_t batch;
	double rate;
	int64_t eta_ms;
	uint32_t attempt;
	char detail[256];
	sk_err error; /* code SK_OK when the event carries no error */
	bool has_check;
	sk_check_result check; /* SK_EV_CHECK */
	size_t nblockers;
	sk_blocker blockers[SK_BLOCKERS_MAX]; /* SK_EV_LOCK_WAIT, STEP_FAILED */
	bool has_backup;
	sk_backup_info backup; /* SK_EV_BACKUP */
	uint32_t lock_waits;   /* STEP_*: lock timeouts so far in the step */
	int64_t lock_wait_ms;  /* STEP_*: time spent in them */
	/* A backfill's PROGRESS and STEP_FINISHED: rows are the rows changed,
	 * batch the batches committed. */
	int64_t rows_total;   /* rows in its key range, estimated at start */
	int64_t rows_scanned; /* rows of the key range behind the checkpoint */
	int64_t batch_size;   /* the current batch size */
	char throttle[128];   /* why it is paused now; "" when running */
	int64_t throttled_ms; /* time paused so far */
	char throttled_by[160]; /* STEP_FINISHED: "rate=ms,lag=ms,..." */
	/* sampling: SK_EV_GATE_SAMPLE is ONE sampled item in ONE database
	 * ("" for the agent-wide "http" probe): a gate check (has_check,
	 * check.when "gate") or a health signal (has_health). error.code !=
	 * SK_OK: the item erred and has no value. Neither has_check nor
	 * has_health, with an error: the agent refused the SAMPLE itself (a
	 * plan it cannot verify, a phase it cannot sample), database "". */
	bool has_health;
	sk_health_sample health;
	uint64_t sample_round; /* the SAMPLE command's round */
	uint32_t phase;        /* the SAMPLE command's phase */
	/* flags: SK_EV_FLAG's flip; flags_only: the report belongs to a
	 * rollback's flags-first pass (sk_command.flags_only). */
	bool has_flag;
	sk_flag_report flag;
	bool flags_only;
	/* moves: a move_tenant step's PROGRESS, STEP_FINISHED, STEP_FAILED,
	 * STEP_REHEARSED. */
	bool has_move;
	sk_move_report move;
} sk_report;

/* A report together with the region it came from. */
typedef struct sk_region_report {
	char region[SK_NAME_MAX];
	sk_report report;
} sk_region_report;

/* The operator's control generation an agent has applied to a rollout it
 * runs (proto RunControl). */
typedef struct sk_run_control {
	char rollout_id[SK_ID_MAX];
	uint64_t control_gen;
} sk_run_control;

/* ---- moves: the other side of one move step (proto MovePeer) ---------- */

enum sk_move_role {
	SK_MOVE_ROLE_SOURCE = 1, /* in RUN_PLAN to the target region */
	SK_MOVE_ROLE_TARGET = 2, /* in MOVE_SERVE to the source region */
};

#define SK_MOVE_PEERS_MAX 64    /* move peers one command may carry */
#define SK_MOVE_ADDRESS_MAX 256 /* "tcp://host:port" and its NUL */
#define SK_MOVE_KEY_LEN 32      /* an Ed25519 public key */
/* "<rollout_id>/<step_id>" (a move back: "<rollout_id>/<step_id>/back")
 * and its NUL */
#define SK_MOVE_KEY_MAX (SK_ID_MAX + SK_NAME_MAX + 8)

/* One peer: the move step it is for, the role of the agent described,
 * its region, (SOURCE) where to dial it and its pinned key. Plain value.
 * Decoders refuse an unknown role, a key that is not SK_MOVE_KEY_LEN
 * bytes, and strings that do not fit. */
typedef struct sk_move_peer {
	char step_id[SK_NAME_MAX];
	int role; /* enum sk_move_role */
	char region[SK_NAME_MAX];
	char address[SK_MOVE_ADDRESS_MAX]; /* SOURCE; "" for TARGET */
	uint8_t agent_key[SK_MOVE_KEY_LEN];
	bool back; /* the move back a rollback runs (to -> from) */
} sk_move_peer;

typedef struct sk_agent_msg {
	char region[SK_NAME_MAX];
	uint8_t nonce[SK_NONCE_LEN];
	uint64_t boot_id;
	bool wait;
	uint32_t hold_ms; /* with wait: how long the poll may be held */
	sk_report *reports;
	size_t nreports;
	char version[32];
	char (*databases)[SK_NAME_MAX];
	size_t ndatabases;
	char (*running)[SK_NAME_MAX]; /* rollout ids; SK_ID_MAX == SK_NAME_MAX */
	size_t nrunning;
	/* For rollouts it runs: the control generation applied. */
	sk_run_control *applied;
	size_t napplied;
	/* moves: "<rollout_id>/<step_id>" of every move this agent holds a
	 * MOVE_SERVE for (proto AgentMessage.serving_moves). */
	char (*serving_moves)[SK_MOVE_KEY_MAX];
	size_t nserving_moves;
} sk_agent_msg;

/* PAUSE, RESUME and TUNE are the operator's word to a running rollout:
 * state, carried with the rollout's control generation (see proto
 * Command), so that applying one twice changes nothing. */
enum sk_command_kind {
	SK_CMD_RUN_PLAN = 1,
	SK_CMD_PAUSE = 2,
	SK_CMD_RESUME = 3,
	SK_CMD_TUNE = 4,
	/* sampling: sample a phase's exit gate once (signed_plan,
	 * sample_phase, sample_round) */
	SK_CMD_SAMPLE = 5,
	SK_CMD_ABORT = 6, /* stopline: finish the running step; the run ends */
	/* moves: serve the move steps of signed_plan whose source is this
	 * region to the TARGET peers in move_peers */
	SK_CMD_MOVE_SERVE = 7,
	SK_CMD_MAX
};

/* "run", "pause", "resume", "tune", "sample"; "unknown" otherwise. */
const char *sk_command_name(int kind);

/* A pause's reason as an operator wrote it, at most this many bytes
 * (longer text is cut at the edge). */
#define SK_REASON_MAX 256

/* New limits for a rollout's backfills (skein rollout tune, proto Tune):
 * a field at its "unchanged" value keeps what the plan or an earlier tune
 * said; all zero (a memset) changes nothing. Decoders refuse negative
 * batches and a rate that is negative or not a finite number. Plain
 * value. */
typedef struct sk_tune {
	bool has_rate;              /* max_rows_per_second is set */
	double max_rows_per_second; /* with has_rate: the limit; 0: no limit */
	int64_t batch_min;          /* rows; 0: unchanged */
	int64_t batch_max;          /* rows; 0: unchanged */
} sk_tune;

/* True if t changes nothing. */
bool sk_tune_is_empty(const sk_tune *t);

/* Merge t over into (fields of t at their "unchanged" value are
 * skipped). */
void sk_tune_merge(sk_tune *into, const sk_tune *t);

/* t in words into buf (always terminated): "max_rows_per_second 500,
 * batch_min 100, batch_max 2000" ("no limit" for a rate of 0), naming only
 * what t changes; "nothing" for an empty tune. */
void sk_tune_format(const sk_tune *t, char *buf, size_t len);

typedef struct sk_command {
	int kind;
	char rollout_id[SK_ID_MAX];
	uint8_t *signed_plan;
	size_t signed_plan_len;
	int mode; /* enum sk_mode */
	/* SK_MODE_ROLLBACK: the operator said --no-backup: no backup of a
	 * database before its first revert. */
	bool no_backup;
	/* PAUSE, RESUME, TUNE and RUN_PLAN: the rollout's control
	 * generation (0: never paused or tuned). */
	uint64_t control_gen;
	bool has_tune;
	sk_tune tune;               /* TUNE (and RUN_PLAN): every tune merged */
	char actor[SK_NAME_MAX];    /* PAUSE, RESUME, TUNE: who said it */
	char reason[SK_REASON_MAX]; /* PAUSE: why */
	/* sampling: SAMPLE: the index of the plan's phase to sample (0 the
	 * first, as sk_plan.phases) and the coordinator's round counter. */
	uint32_t sample_phase;
	uint64_t sample_round;
	/* flags: RUN_PLAN of a rollback: revert only the flag steps (the
	 * flags-first pass); its reports carry flags_only. */
	bool flags_only;
	/* moves: RUN_PLAN (role SOURCE peers) and MOVE_SERVE (role TARGET),
	 * at most SK_MOVE_PEERS_MAX. Encoding borrows them; a decoded
	 * sk_control owns them (sk_control_fini frees). */
	sk_move_peer *move_peers;
	size_t nmove_peers;
} sk_command;

typedef struct sk_control {
	uint64_t seq;
	char region[SK_NAME_MAX];
	uint8_t nonce[SK_NONCE_LEN];
	uint64_t boot_id;
	sk_command *commands;
	size_t ncommands;
	uint64_t acked_report_seq;
	/* Set: the coordinator refused the agent's message, and says why
	 * and what to check (proto Control.refused, refused_hint). */
	char refused[512];
	char refused_hint[512];
} sk_control;

int sk_agent_msg_encode(const sk_agent_msg *m, uint8_t **out, size_t *len,
    sk_err *err) SK_WARN_UNUSED;
int sk_agent_msg_decode(const uint8_t *buf, size_t len, sk_agent_msg *out,
    sk_err *err) SK_WARN_UNUSED;
void sk_agent_msg_fini(sk_agent_msg *m);

int sk_control_encode(const sk_control *m, uint8_t **out, size_t *len,
    sk_err *err) SK_WARN_UNUSED;
int sk_control_decode(const uint8_t *buf, size_t len, sk_control *out,
    sk_err *err) SK_WARN_UNUSED;
void sk_control_fini(sk_control *m);

/* ---- CLI <-> coordinator ---------------------------------------------- */

typedef struct sk_region_view {
	char name[SK_NAME_MAX];
	char state[16];
	char step[SK_NAME_MAX];
	char database[SK_NAME_MAX];
	sk_err error;
	int64_t updated_ms;
	uint32_t steps_done;
	uint32_t steps_total;
	char detail[256];
} sk_region_view;

/* One database of a region, as its agent last reported it: a region runs
 * its databases in parallel, so its one detail cannot say what each does.
 * Plain value. */
typedef struct sk_database_view {
	char region[SK_NAME_MAX];
	char name[SK_NAME_MAX];
	char state[16]; /* "waiting", "running", "done", "failed" */
	char step[SK_NAME_MAX];
	uint32_t steps_done;
	uint32_t steps_total;
	char detail[256];
	int64_t updated_ms;
	int32_t blocker_pid; /* waiting for a lock: its first blocker; else 0 */
	/* The backfill it runs now (a backfill or expand step), as its latest
	 * PROGRESS report said; progress_step "" when none runs. Figures as
	 * the agent sent them: a CLI checks them before it divides. */
	char progress_step[SK_NAME_MAX];
	char progress_kind[16]; /* "backfill", "expand" */
	int64_t rows_done;      /* rows changed so far */
	int64_t rows_total;     /* rows in the key range, estimated at start */
	int64_t rows_scanned; /* rows of the key range behind the checkpoint */
	double rate;          /* rows per second */
	int64_t eta_ms;
	int64_t batch_size;   /* the current batch size, rows */
	int64_t batches;      /* batches committed */
	char throttle[128];   /* why it is paused now; "" when running */
	int64_t throttled_ms; /* time paused so far */
	/* moves: a move_tenant step's phase ("" none) and figures; rows_done,
	 * rows_total, rate and eta_ms are its copy's. */
	char move_phase[16];
	char move_table[SK_NAME_MAX];
	char move_from[SK_NAME_MAX], move_to[SK_NAME_MAX];
	int64_t bytes, bytes_total, lag_ms, changes, freeze_ms;
} sk_database_view;

/* A verified backup of one database, as its agent reported it (the
 * restore command is in the report). Plain value. */
typedef struct sk_backup_view {
	char region[SK_NAME_MAX];
	char database[SK_NAME_MAX];
	char path[512];
	int64_t size;
	int64_t at_ms;
} sk_backup_view;

typedef struct sk_phase_view {
	char name[SK_NAME_MAX];
	char state[16];
	sk_region_view *regions;
	size_t nregions;
} sk_phase_view;

typedef struct sk_event_view {
	uint64_t seq;
	int64_t at_ms;
	char region[SK_NAME_MAX];
	char text[768];
} sk_event_view;

/* ---- stopline: scoped pause, abort, stop the line ---------------------- */

/* Regions one pause or resume may name (--region, repeatable). */
#define SK_OP_REGIONS_MAX 16
/* Rollouts skein stop --all may except (--except, repeatable). */
#define SK_LINE_EXCEPT_MAX 32
/* Rollouts a line view names as held by the stop (more are counted). */
#define SK_LINE_PAUSED_MAX 64

/* One operator's word to a rollout (proto ControlView). Plain value. */
typedef struct sk_control_view {
	int kind; /* SK_CMD_PAUSE, SK_CMD_RESUME, SK_CMD_TUNE, SK_CMD_ABORT */
	char actor[SK_NAME_MAX];
	char actor_key[SK_NAME_MAX];
	int64_t at_ms;
	char reason[256];
	char regions[SK_OP_REGIONS_MAX][SK_NAME_MAX]; /* scoped: these */
	size_t nregions;
	bool line; /* by skein stop --all / --lift */
} sk_control_view;

/* A region paused on its own (pause --region). Plain value. */
typedef struct sk_region_pause_view {
	char region[SK_NAME_MAX];
	char by[SK_NAME_MAX];
	char by_key[SK_NAME_MAX];
	int64_t at_ms;
	char reason[256];
} sk_region_pause_view;

/* What an aborted rollout left in one database. Plain value. */
typedef struct sk_left_view {
	char region[SK_NAME_MAX];
	char database[SK_NAME_MAX];
	char state[16]; /* waiting, running, done, failed */
	uint32_t steps_done;
	uint32_t steps_total;
	char step[SK_NAME_MAX]; /* running when it stopped, or the last */
	bool step_finished;
} sk_left_view;

/* Whether the line is stopped (skein stop; proto LineView). Plain
 * value. */
typedef struct sk_line_view {
	bool stopped;
	char by[SK_NAME_MAX];
	char by_key[SK_NAME_MAX];
	int64_t since_ms;
	char reason[256];
	char except[SK_LINE_EXCEPT_MAX][SK_ID_MAX];
	size_t nexcept;
	char paused[SK_LINE_PAUSED_MAX][SK_ID_MAX]; /* held by the stop */
	size_t npaused;
} sk_line_view;

enum sk_stop_action {
	SK_STOP_STATUS = 0,
	SK_STOP_ALL = 1,
	SK_STOP_LIFT = 2,
};
/* ---- gates (branch gates) ---- */

/* One item a phase gate judged: a check or health signal in one
 * database (gate "check NAME", "health SIGNAL"), or the samples a
 * database had ("samples"). Plain value. */
typedef struct sk_gate_judged {
	char gate[96];
	char region[SK_NAME_MAX];
	char database[SK_NAME_MAX];
	double value;
	double threshold;
	bool passed;
	bool erred; /* no value: the statement failed, the probe gave none */
	uint32_t samples;
	int64_t at_ms;
} sk_gate_judged;

#define SK_GATE_JUDGED_MAX 32    /* judged items a gate view carries */
#define SK_GATE_APPROVERS_MAX 16 /* names a gate view lists */

/* A phase's gates as the coordinator holds them. Plain value. */
typedef struct sk_gate_view {
	char phase[SK_NAME_MAX];
	char waiting_for[16]; /* "approval", "window", "soak", "samples"; "" */
	char outcome[16];     /* "passed", "halted", "paused"; "" undecided */
	int64_t soak_served_ms;
	int64_t soak_ms;
	uint32_t samples; /* good samples of the item with fewest */
	uint32_t min_samples;
	sk_gate_judged judged[SK_GATE_JUDGED_MAX];
	size_t njudged;
	uint32_t approvals;
	uint32_t approvals_needed;
	char approved_by[SK_GATE_APPROVERS_MAX][SK_NAME_MAX];
	size_t napproved_by;
	int64_t window_opens_ms; /* waiting for the window: when it opens */
	char window_tz[64];
	int64_t started_ms;
	int64_t ended_ms;
} sk_gate_view;

/* An operator's approval of a rollout's phase. Plain value (the signed
 * envelope stays in the journal). */
typedef struct sk_approval_view {
	char phase[SK_NAME_MAX];
	char operator_name[SK_NAME_MAX];
	char key_id[SK_NAME_MAX]; /* hex */
	int64_t at_ms;
} sk_approval_view;

typedef struct sk_rollout_view {
	char id[SK_ID_MAX];
	char plan_id[SK_ID_MAX];
	char plan_name[128];
	char state[16];
	uint32_t current_phase;
	int64_t created_ms;
	int64_t finished_ms;
	sk_phase_view *phases;
	size_t nphases;
	sk_event_view *events;
	size_t nevents;
	char reason[SK_ERR_MSG_MAX];
	int mode;                   /* enum sk_mode */
	char of_rollout[SK_ID_MAX]; /* SK_MODE_ROLLBACK: the rollout undone */
	/* The databases of every region that has not ended, region by region
	 * (empty from a coordinator that predates them). */
	sk_database_view *databases;
	size_t ndatabases;
	char started_by[SK_NAME_MAX];     /* the operator; "local" unsigned */
	char started_by_key[SK_NAME_MAX]; /* that operator's key id, hex */
	/* SK_MODE_ROLLBACK: no backup before the first revert, because
	 * started_by said --no-backup, or the plan says rollback_backup:
	 * false. */
	bool no_backup;
	bool plan_no_rollback_backup;
	/* SK_MODE_APPLY: started_by said --reapply, the plan's latest apply
	 * (reapply_of) having been rolled back. */
	bool reapply;
	char reapply_of[SK_ID_MAX];
	/* Every verified backup its agents reported, in arrival order. */
	sk_backup_view *backups;
	size_t nbackups;
	/* skein rollout pause (shown while it runs): who paused it, when,
	 * why. */
	bool paused;
	char paused_by[SK_NAME_MAX];
	char paused_by_key[SK_NAME_MAX];
	int64_t paused_ms;
	char pause_reason[SK_REASON_MAX];
	/* skein rollout tune: every tune so far, merged (has_tune false:
	 * never tuned). */
	bool has_tune;
	sk_tune tune;
	/* stopline (sk_wire_stopline.c): every operator's word to it, oldest
	 * first; the regions paused on their own; whether its pause is the
	 * stopped line's; what an abort left. Arrays owned by the view. */
	sk_control_view *controls;
	size_t ncontrols;
	sk_region_pause_view *region_pauses;
	size_t nregion_pauses;
	bool paused_by_line;
	sk_left_view *left;
	size_t nleft;
	/* Gates: the current phase's while it holds the rollout (has_gate),
	 * every approval in order, every phase's gate reached so far. */
	bool has_gate;
	sk_gate_view gate;
	sk_approval_view *approvals;
	size_t napprovals;
	sk_gate_view *gates;
	size_t ngates;
	/* flags: a rollback of a plan with flag steps: each region's
	 * flags-first pass (state "pending", "dispatched", "running",
	 * "succeeded", "failed"; detail what it waits for). Owned; none
	 * when there is no such pass. */
	sk_region_view *flags_first;
	size_t nflags_first;
} sk_rollout_view;

enum sk_cli_op {
	SK_CLI_START = 1,
	SK_CLI_STATUS = 2,
	SK_CLI_ROLLBACK = 3,
	SK_CLI_REPORT = 4,
	SK_CLI_PAUSE = 5,
	SK_CLI_RESUME = 6,
	SK_CLI_TUNE = 7,
	SK_CLI_APPROVE = 11, /* gates: the CliRequest op field's number */
	SK_CLI_ABORT = 12,   /* stopline: the CliRequest op field's number */
	SK_CLI_STOP = 13,    /* stopline: the CliRequest op field's number */
	SK_CLI_AGENTS = 14, /* skein agents: the CliRequest op field's number */
};

/* "start", "status", "rollback", "report", "pause", "resume", "tune";
 * "unknown" otherwise. */
const char *sk_cli_op_name(int op);

typedef struct sk_cli_request {
	int op;
	uint8_t *signed_plan; /* SK_CLI_START */
	size_t signed_plan_len;
	int mode; /* SK_CLI_START: SK_MODE_APPLY or SK_MODE_REHEARSE */
	/* SK_CLI_START in SK_MODE_APPLY: apply a plan whose latest apply was
	 * rolled back (--reapply). */
	bool reapply;
	/* SK_CLI_STATUS ("" for all), SK_CLI_ROLLBACK, SK_CLI_REPORT,
	 * SK_CLI_PAUSE, SK_CLI_RESUME, SK_CLI_TUNE */
	char rollout_id[SK_ID_MAX];
	char region[SK_NAME_MAX]; /* SK_CLI_ROLLBACK: "" for every region */
	bool no_backup; /* SK_CLI_ROLLBACK: no backup before the reverts */
	uint64_t events_since;
	char reason[SK_REASON_MAX]; /* SK_CLI_PAUSE: --reason; "" none */
	sk_tune tune;               /* SK_CLI_TUNE: what to change */
	char phase[SK_NAME_MAX];    /* SK_CLI_APPROVE: the phase approved */
	/* stopline: SK_CLI_PAUSE, SK_CLI_RESUME --region (none: the whole
	 * rollout); SK_CLI_ABORT takes rollout_id and reason; SK_CLI_STOP
	 * its action, reason and exceptions. */
	char regions[SK_OP_REGIONS_MAX][SK_NAME_MAX];
	size_t nregions;
	int stop_action; /* enum sk_stop_action */
	char except[SK_LINE_EXCEPT_MAX][SK_ID_MAX];
	size_t nexcept;
} sk_cli_request;

/* An operator's signed command (proto OperatorRequest): the encoded
 * sk_cli_request, when it was made and a nonce. It travels sealed in an
 * SK_KIND_OPERATOR envelope. */
#define SK_NONCE_LEN 16
typedef struct sk_operator_request {
	uint8_t *request; /* an encoded sk_cli_request; owned */
	size_t request_len;
	int64_t at_ms;
	uint8_t nonce[SK_NONCE_LEN];
} sk_operator_request;

/* Encode m; *out is malloc'ed (caller frees). Decode: SK_EDECODE for
 * bytes that are not an OperatorRequest, a nonce that is not
 * SK_NONCE_LEN bytes or a request over SK_CLI_REQUEST_MAX; on success
 * out->request is owned by out (sk_operator_request_fini frees it). */
#define SK_CLI_REQUEST_MAX (16u * 1024u * 1024u)
int sk_operator_request_encode(const sk_operator_request *m, uint8_t **out,
    size_t *len, sk_err *err) SK_WARN_UNUSED;
int sk_operator_request_decode(const uint8_t *buf, size_t len,
    sk_operator_request *out, sk_err *err) SK_WARN_UNUSED;
void sk_operator_request_fini(sk_operator_request *m);

/* A region's agent as the coordinator sees it (proto AgentView). Plain
 * value. */
#define SK_AGENT_VIEW_RUNNING_MAX 16
typedef struct sk_agent_view {
	char region[SK_NAME_MAX];
	bool connected;
	int64_t last_seen_ms; /* 0: not since the coordinator started */
	int64_t silent_ms;    /* since then, by the coordinator's clock */
	int64_t window_ms;
	char version[32];
	uint32_t ndatabases;
	char running[SK_AGENT_VIEW_RUNNING_MAX][SK_ID_MAX];
	size_t nrunning;
} sk_agent_view;

typedef struct sk_cli_response {
	bool ok;
	sk_err error;
	char rollout_id[SK_ID_MAX];
	sk_rollout_view *rollouts;
	size_t nrollouts;
	sk_region_report *reports; /* SK_CLI_REPORT: in arrival order */
	size_t nreports;
	uint8_t *signed_plan; /* SK_CLI_REPORT: the rollout's signed plan */
	size_t signed_plan_len;
	/* stopline: whether the line is stopped (SK_CLI_STOP, SK_CLI_STATUS);
	 * has_line false from a coordinator that does not say. */
	bool has_line;
	sk_line_view line;
	sk_agent_view *agents; /* SK_CLI_AGENTS: one per region */
	size_t nagents;
} sk_cli_response;

int sk_cli_request_encode(const sk_cli_request *m, uint8_t **out, size_t *len,
    sk_err *err) SK_WARN_UNUSED;
int sk_cli_request_decode(const uint8_t *buf, size_t len, sk_cli_request *out,
    sk_err *err) SK_WARN_UNUSED;
void sk_cli_request_fini(sk_cli_request *m);

int sk_cli_response_encode(const sk_cli_response *m, uint8_t **out, size_t *len,
    sk_err *err) SK_WARN_UNUSED;
int sk_cli_response_decode(const uint8_t *buf, size_t len, sk_cli_response *out,
    sk_err *err) SK_WARN_UNUSED;
void sk_cli_response_fini(sk_cli_response *m);
void sk_rollout_view_fini(sk_rollout_view *v);

/* Encode/decode a single region view (the coordinator journals these). */
int sk_region_view_encode(const sk_region_view *v, uint8_t **out, size_t *len,
    sk_err *err) SK_WARN_UNUSED;
int sk_region_view_decode(const uint8_t *buf, size_t len, sk_region_view *out,
    sk_err *err) SK_WARN_UNUSED;

/* Encode/decode a region report (the coordinator journals these). */
int sk_region_report_encode(const sk_region_report *r, uint8_t **out,
    size_t *len, sk_err *err) SK_WARN_UNUSED;
int sk_region_report_decode(const uint8_t *buf, size_t len,
    sk_region_report *out, sk_err *err) SK_WARN_UNUSED;

#endif

/* move: one tenant's rows from one region's database to another's (issue
 * 11, docs/moves.md). The target agent drives the move (move_engine_run);
 * the source side answers its requests through move_source_ops, either in
 * process (move_local_open: a connection to the source database, for
 * tests and benchmarks) or over the encrypted agent-to-agent link
 * (move_link.h: move_remote_open on the target, move_serve on the source).
 * The coordinator only tells each side its role, the peer's address and
 * the peer's pinned key; rows never pass through it (DESIGN.md decision 6).
 *
 * The mechanism, in short (docs/moves.md argues each choice):
 *   capture   triggers on the source's moved tables write every change of
 *             the tenant into skein.move_changes (with the writing
 *             transaction's xid), and a guard trigger takes a shared
 *             advisory lock keyed by the move and refuses writes once the
 *             move's fence sequence says the tenant moved;
 *   snapshot  a REPEATABLE READ transaction on the source; its
 *             pg_current_snapshot() is the copy's position;
 *   copy      COPY (SELECT cols ... WHERE tenant = v) TO STDOUT (FORMAT
 *             binary) in that snapshot, COPY ... FROM STDIN (FORMAT
 *             binary) in the target: parallel 1, one transaction, table
 *             by table in dependency order; parallel N, up to N tables
 *             at once (move_copy.c), each in the exported snapshot and
 *             committed on its own, parents first;
 *   catch-up  rounds: take a new source snapshot X, apply (in seq order)
 *             the changes visible in X and not in the previous position,
 *             until a round takes less than max_lag;
 *   verify    full per-table counts and order-independent checksums at a
 *             position V on both sides, signed by each agent;
 *   freeze    the source takes the move's advisory lock exclusively (every
 *             writer of the tenant waits in the guard), the last changes
 *             are applied, counts and the checksums of the keys changed
 *             since V are compared, then COMMIT sets the fence and the
 *             moved marker and runs route.source, releasing the writers
 *             (who now get SQLSTATE SKM01); the target then runs
 *             route.target, the event and the staying tables' index rows.
 *             Past freeze_timeout the freeze is abandoned: UNFREEZE, and
 *             the move aborts with the source authoritative.
 * Nothing is deleted from the source; the target's copy is deleted again
 * when the move aborts before the commit.
 */
#ifndef MOVE_H
#define MOVE_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"
#include "sk_key.h"
#include "sk_plan.h"
#include "skein.pb-c.h"

/* The SQLSTATE a write to a moved (or, in the target, a moving) tenant
 * fails with. */
#define MOVE_SQLSTATE_MOVED "SKM01"
#define MOVE_SQLSTATE_MOVING "SKM02"

/* What one move is: the step's body, and names both sides agree on. */
typedef struct move_spec {
	const sk_move_tenant *m; /* the step's body (borrowed) */
	/* "<plan id>/<step id>" (a rollback's move back: "<plan id>/<step
	 * id>/back"): the key of the move's rows in skein.moves and
	 * skein.move_changes, and of its advisory lock, fence and triggers
	 * on both sides. */
	const char *move_id;
	const char *source_region;
	const char *target_region;
	/* A move back (a rollback): the id of the move it undoes,
	 * "<plan id>/<step id>", whose source is this move's target; NULL
	 * for a move forward. The target's rows of the tenant are then the
	 * forward move's fenced leftovers: the copy replaces them, and the
	 * forward move's guard gives way to this move's in one transaction
	 * (docs/moves.md "Moving back"). */
	const char *undo_id;
} move_spec;

/* The source side, as the target's engine sees it. Each function returns
 * SK_OK or an error (err set) and is called from one thread. A reply
 * object (Skein__V1__*) it returns is the caller's: free it with
 * move_reply_free. Snapshots are pg_snapshot text ("xmin:xmax:xip,...").
 */
typedef struct move_source_ops move_source_ops;
struct move_source_ops {
	/* Describe the moved tables (resolving discover) and the staying
	 * ones, with the tenant's row counts and sizes. */
	int (*describe)(void *arg, Skein__V1__MoveDescription **out, sk_err *err);
	/* Install change capture and the guard (idempotent: a second call
	 * after a restart finds them). SK_EDRIFT: the move already passed
	 * its commit point in the source (only the flip remains). */
	int (*capture)(void *arg, sk_err *err);
	/* Open the copy snapshot; *snapshot (malloc'ed) is its position.
	 * exported non-NULL (a parallel copy): also export the snapshot for
	 * copy workers; *exported is its id (malloc'ed), or NULL when this
	 * source does not export (an older agent): then no workers. */
	int (*snapshot)(void *arg, char **snapshot, char **exported, sk_err *err);
	/* COPY one moved table's tenant rows in the copy snapshot, binary,
	 * handing each chunk to sink in order; *rows: rows sent. */
	int (*copy)(void *arg, const char *table,
	    int (*sink)(void *sink_arg, const uint8_t *data, size_t len, sk_err *err),
	    void *sink_arg, int64_t *rows, sk_err *err);
	/* Close the copy snapshot. */
	int (*snapshot_end)(void *arg, sk_err *err);
	/* A new snapshot X: *snapshot (malloc'ed); with want_sums, the counts
	 * and checksums at X (full when since is NULL, else of the keys
	 * changed since the snapshot since), signed by the source agent
	 * (unsigned in process). */
	int (*position)(void *arg, bool want_sums, const char *since,
	    char **snapshot, Skein__V1__MoveSignedSums **sums, sk_err *err);
	/* The changes visible in upto and not in after, with seq > after_seq,
	 * in seq order, at most limit; *more when there are further ones. */
	int (*changes)(void *arg, const char *after, const char *upto, int64_t after_seq,
	    uint32_t limit, Skein__V1__MoveReply **out, sk_err *err);
	/* The staying tables' index rows for the target (reply stay_rows). */
	int (*stay)(void *arg, Skein__V1__MoveReply **out, sk_err *err);
	/* Freeze the tenant's writes: take the move's lock exclusively,
	 * waiting at most timeout_ms (SK_ETIMEOUT past it, nothing held). */
	int (*freeze)(void *arg, int64_t timeout_ms, sk_err *err);
	/* The commit point: set the fence, mark the move moved, run
	 * route.source, commit (the writers waiting go on, and fail). */
	int (*commit)(void *arg, sk_err *err);
	/* Abandon the freeze: the writers go on in the source. */
	int (*unfreeze)(void *arg, sk_err *err);
	/* Remove the change capture and the change rows; aborted (before
	 * the commit): also the guard and the move's rows, leaving the
	 * source as it was. Idempotent. aborted after the commit point:
	 * SK_EDRIFT, nothing changed. */
	int (*finish)(void *arg, bool aborted, sk_err *err);
	/* Release the source side (connections, link). Accepts NULL arg. */
	void (*close)(void *arg);
	/* Before the freeze: the source agent's drain hook (agent.yaml
	 * move: drain), which tells the application to end the tenant's
	 * live sessions. SK_OK when there is none; a failure aborts the
	 * move. NULL: nothing to call. */
	int (*drain)(void *arg, sk_err *err);
	/* A parallel copy's worker: another source side, with connections
	 * (or a link) of its own, whose copy runs in the snapshot exported
	 * as exported while this side's snapshot is open. Only its copy and
	 * close are used, from one thread; worker may be called from
	 * several threads at once. NULL: no workers. */
	int (*worker)(void *arg, const char *exported,
	    const move_source_ops **ops, void **worker_arg, sk_err *err);
	/* Make this side a worker: its copy runs from now on in the
	 * exported snapshot (what move_serve does for a worker's link).
	 * NULL: not supported. */
	int (*import)(void *arg, const char *exported, sk_err *err);
};

/* One move's phases, as reported in the progress stream. */
typedef enum move_phase {
	MOVE_PHASE_PREFLIGHT = 1,
	MOVE_PHASE_CAPTURE,
	MOVE_PHASE_COPY,
	MOVE_PHASE_CATCHUP,
	MOVE_PHASE_VERIFY,
	MOVE_PHASE_FREEZE,
	MOVE_PHASE_FLIP,
	MOVE_PHASE_DONE,
	MOVE_PHASE_ABORT,
} move_phase;

/* Name of a phase: "preflight", "capture", "copy", "catch-up",
 * "verify", "freeze", "flip", "done", "abort". */
const char *move_phase_name(move_phase p);

typedef struct move_progress {
	move_phase phase;
	const char *table; /* copy: the table being copied; else NULL */
	int64_t rows, rows_total;
	int64_t bytes, bytes_total;
	double rows_per_s;
	int64_t eta_ms;    /* -1: unknown */
	int64_t lag_ms;    /* catch-up: the last round's duration */
	int64_t changes;   /* changes applied so far */
	int64_t freeze_ms; /* freeze: how long the writers were held */
} move_progress;

/* How the target engine runs one move. */
typedef struct move_run {
	const move_spec *spec;
	PGconn *target; /* the target database, outside a transaction */
	const char *target_conninfo; /* for a second connection; never logged */
	/* target_conninfo reaches the database through a transaction pooler
	 * (sk_pg_connect_pooled): the parallel copy's workers connect so. */
	bool target_pooled;
	const move_source_ops *src;
	void *src_arg;
	/* Signs the target's sums; NULL: unsigned (in-process tests). */
	const sk_seckey *key;
	/* The source agent's pinned key, to verify its signed sums; NULL:
	 * unsigned sums accepted (in process). */
	const sk_pubkey *source_key;
	/* Called at each phase change and about once a second. */
	void (*progress)(void *arg, const move_progress *p);
	void *progress_arg;
	/* Called inside the target's flip transaction, after route.target,
	 * the event and the index rows (the step's ledger row); NULL: none. */
	int (*in_flip)(void *arg, PGconn *conn, sk_err *err);
	void *in_flip_arg;
	/* Non-zero: stop (abort the move if before the commit). */
	atomic_int *stop;
	/* Only the preflight and the estimates (rehearsal): nothing is
	 * installed or copied. */
	bool rehearse;
	/* Changes per page (one target transaction each); 0: 1000. */
	uint32_t page_limit;
	/* For tests: called after each table's copy (phase COPY, table set,
	 * inside the copy's transaction; with parallel > 1 from the copy's
	 * worker threads, one at a time, target then being the worker's
	 * connection), after the copy committed (COPY,
	 * table NULL), after each page of the catch-up that is not the last
	 * of its round (CATCHUP, table: the page's last change's), after
	 * the catch-up (CATCHUP, table NULL) and after the commit point,
	 * before the flip (FLIP). An error ends the run
	 * as if the agent had died there: nothing is undone, the target's
	 * open transaction is rolled back, and a later run resumes. NULL:
	 * none. */
	int (*hook)(void *arg, move_phase phase, const char *table,
	    PGconn *target, sk_err *err);
	void *hook_arg;
} move_run;

/* What a move did: the figures the report carries. */
typedef struct move_result {
	bool blocked;   /* preflight said no; err says why */
	bool aborted;   /* aborted before the commit; source authoritative */
	bool committed; /* the source's commit point passed */
	/* Moved, but the source's capture triggers and change rows could
	 * not be removed yet (err says why; typically a lock): they are
	 * inert, since the guard refuses the tenant's writes first. Run
	 * again to remove them. */
	bool cleanup_pending;
	int64_t rows, bytes, changes;
	int64_t copy_ms, catchup_ms, freeze_ms;
	/* Estimates (rehearsal and preflight). */
	int64_t est_copy_ms, est_freeze_ms, est_rollback_ms;
	/* The two sides' signed figures: after the catch-up (full) and in the
	 * freeze (delta); NULL when not reached. Owned by the result. */
	Skein__V1__MoveSignedSums *source_sums, *target_sums;
	Skein__V1__MoveSignedSums *source_freeze_sums, *target_freeze_sums;
} move_result;

/* Run (or resume: the target's skein.moves row says where it stood) the
 * move described by r. SK_OK: moved (or, rehearse, READY). Errors: the
 * move is BLOCKED (res->blocked, nothing installed), aborted (the source
 * authoritative, the target's copy removed: res->aborted), or stopped
 * after the commit point (res->committed: run again to finish the flip).
 * res is filled in every case; free it with move_result_fini. */
int move_engine_run(const move_run *r, move_result *res, sk_err *err) SK_WARN_UNUSED;

void move_result_fini(move_result *res);

/* The source side in process: a connection of its own to the source
 * database (conninfo), for spec. *ops and *arg are the caller's: close
 * with ops->close(arg). key: signs the sums (NULL: unsigned). */
int move_local_open(const char *conninfo, const move_spec *spec,
    const char *region, const sk_seckey *key, const move_source_ops **ops,
    void **arg, sk_err *err) SK_WARN_UNUSED;

/* Give a source opened by move_local_open (its *arg) a drain hook:
 * drain(drain_arg, spec, err), called by its ops' drain. */
void move_local_set_drain(void *arg,
    int (*drain)(void *drain_arg, const move_spec *spec, sk_err *err),
    void *drain_arg);

/* The tables of m in db (as listed, resolved; or discovered), in
 * dependency order, schema-qualified and quoted for SQL ("public"."t"):
 * *names a malloc'ed array of *n malloc'ed strings (sk_strv_free).
 * SK_EPREFLIGHT naming a missing table. For a purge. */
int move_tables_of(PGconn *db, const sk_move_tenant *m, char ***names,
    size_t *n, sk_err *err) SK_WARN_UNUSED;

/* The state that move move_id has in db's skein.moves as role ("source"
 * or "target"), into out: "" when there is none (or no skein.moves). */
int move_state_of(PGconn *db, const char *move_id, const char *role, char *out,
    size_t len, sk_err *err) SK_WARN_UNUSED;

/* Free a reply object a move_source_ops function returned (any of the
 * Skein__V1__ types above, through its base). Accepts NULL. */
void move_reply_free(void *msg);

/* ---- where each side learns the other (agent/move/move_auth.c) */

/* The peer of one move step, from the coordinator's RUN_PLAN (role
 * SOURCE, in the target agent) or MOVE_SERVE (role TARGET, in the source
 * agent). */
typedef struct move_peer {
	char rollout_id[64];
	char step_id[64];
	int role; /* SKEIN__V1__MOVE_ROLE__MOVE_ROLE_SOURCE or _TARGET */
	char region[64];
	char address[256]; /* SOURCE: tcp://host:port */
	sk_pubkey key;
	/* A rollback's move back of step_id: its `to` serves, its `from`
	 * drives (move id "<plan>/<step>/back"). */
	bool back;
} move_peer;

/* The name a link gives its move, in its preamble and OPEN and in
 * AgentMessage.serving_moves: the step id, or "<step id>/back" for a
 * move back. */
void move_peer_link_step(const move_peer *p, char *buf, size_t len);

#endif

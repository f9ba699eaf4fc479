/* move_int: what the move engine's own files share (not part of move.h):
 * a growable string, identifier and literal quoting, the names derived
 * from a move id (advisory lock keys, fence, triggers), the checksum
 * query and the signing of figures. Only agent/move/ includes it. */
#ifndef MOVE_INT_H
#define MOVE_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "move.h"
#include "sk_strbuf.h"
#include "sk_err.h"

/* The session settings under which both sides compute checksums, so that
 * ROW(...)::text is the same text on both, and with no parallel workers
 * (background work: one core, as move_src_connect; in a freeze,
 * move_freeze_timeout_sql gives them back). SET LOCAL: in a
 * transaction. */
#define MOVE_SUM_SETTINGS                                                \
"SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = "           \
    "'postgres'; SET LOCAL TimeZone = 'UTC'; SET LOCAL "                 \
    "extra_float_digits = 3; SET LOCAL bytea_output = 'hex'; SET LOCAL " \
    "max_parallel_workers_per_gather = 0"

#define MOVE_SUMS_DOMAIN "skein/v1/move-sums"

/* SQL is built in an sk_strbuf (common/base/sk_strbuf.h). */
typedef sk_strbuf move_str;
/* Append s as a quoted identifier; "a.b" as "a"."b" when qualified. */
void move_str_ident(move_str *b, const char *s, bool qualified);
/* Append s as a quoted SQL string literal (E'' when it has a backslash). */
void move_str_lit(move_str *b, const char *s);

/* Names derived from a move id: the two int4 keys of its advisory lock,
 * 16 hex digits naming its fence sequence and triggers. */
typedef struct move_names {
	int32_t k1, k2;
	char hex[17];
	char fence[48];   /* skein.move_fence_<hex> */
	char capture[48]; /* trigger names */
	char guard[48];
	char truncate[48];
	char tguard[48];
} move_names;

void move_names_init(move_names *n, const char *move_id);

/* The checksum of one table's tenant rows, restricted to keys (a JSON
 * array of key objects) when keys_param is true ($2 then holds it).
 * Appends the SELECT to b: it returns count and sum (text, 0..2^64-1)
 * and, with keys, the number of keys. $1 is the tenant value. */
void move_sum_sql(move_str *b, const Skein__V1__MoveTable *t,
    const char *column, bool keys_param);

/* The JSON key object of row alias r of table t: jsonb_build_object(...) */
void move_key_expr(move_str *b, const Skein__V1__MoveTable *t, const char *alias);

/* DDL on a table the application is using (CREATE or DROP TRIGGER, the
 * abort's deletes): each attempt waits for its lock at most
 * MOVE_DDL_LOCK_TIMEOUT, since a DDL lock waiting in the queue holds up
 * every other session on the table; a lock timeout is retried with a
 * growing pause, up to MOVE_DDL_ATTEMPTS (about 15 s in all). */
#define MOVE_DDL_LOCK_TIMEOUT "SET LOCAL lock_timeout = '200ms'"
#define MOVE_DDL_ATTEMPTS 30
int move_ddl_retry(int (*fn)(void *arg, sk_err *err), void *arg, sk_err *err) SK_WARN_UNUSED;

/* Sign sums (key NULL: unsigned) into a new MoveSignedSums (*out, the
 * caller's: move_reply_free). */
int move_sums_sign(const Skein__V1__MoveSums *sums, const sk_seckey *key,
    Skein__V1__MoveSignedSums **out, sk_err *err) SK_WARN_UNUSED;

/* Verify s with key (NULL: accept unsigned) and decode it into *out
 * (skein__v1__move_sums__free_unpacked). SK_ECRYPTO: bad signature. */
int move_sums_open(const Skein__V1__MoveSignedSums *s, const sk_pubkey *key,
    Skein__V1__MoveSums **out, sk_err *err) SK_WARN_UNUSED;

/* Equal per-table figures (rows, sum, keys) in the same table order;
 * otherwise SK_ECHECK naming the first table that differs. */
int move_sums_compare(const Skein__V1__MoveSums *src,
    const Skein__V1__MoveSums *dst, const char *what, sk_err *err) SK_WARN_UNUSED;

/* Read the table descriptions of db (the names as given, resolved
 * through to_regclass; discover: every table with the tenant column,
 * in foreign key order). Fills d->tables (the caller's: free with
 * move_reply_free on d). Missing table: SK_EPREFLIGHT naming it.
 * counts: also the tenant's rows and bytes. */
int move_describe_db(PGconn *db, const sk_move_tenant *m, bool counts,
    const char *side, Skein__V1__MoveDescription **out, sk_err *err) SK_WARN_UNUSED;

/* ---- target side (move_target_db.c) */

/* The source side in process (move_source_db.c, move_source_end.c). */
typedef struct move_src {
	const move_spec *spec;
	char *conninfo;
	char region[64];
	const sk_seckey *key;
	PGconn *c;    /* describe, capture, positions, changes, finish */
	PGconn *snap; /* the copy snapshot */
	PGconn *frz;  /* the freeze transaction */
	/* While frozen: when the freeze's budget ends (sk_mono_ms), so that
	 * what runs in the freeze is cut there (statement_timeout); 0: not
	 * frozen. */
	int64_t freeze_until_ms;
	Skein__V1__MoveDescription *d;
	move_names nm;
	/* The drain hook (move_local_set_drain); NULL: none. */
	int (*drain)(void *arg, const move_spec *spec, sk_err *err);
	void *drain_arg;
	/* A copy worker (move_src_import): c holds the imported snapshot's
	 * transaction, which every copy uses. */
	bool worker;
} move_src;
/* move_source_db.c's, for move_source_end.c: the description, read
 * once; and the ops the table in move_source_end.c names. */
/* sk_pg_connect, then no parallel workers for the session's queries;
 * *out NULL on failure. */
int move_src_connect(const char *conninfo, const char *appname, PGconn **out,
    sk_err *err) SK_WARN_UNUSED;
int move_src_need_desc(move_src *s, sk_err *err);
int move_src_describe(void *arg, Skein__V1__MoveDescription **out, sk_err *err);
int move_src_capture(void *arg, sk_err *err);
int move_src_snapshot(void *arg, char **snapshot, char **exported, sk_err *err);
int move_src_import(void *arg, const char *exported, sk_err *err);
int move_src_copy(void *arg, const char *table,
    int (*sink)(void *sink_arg, const uint8_t *data, size_t len, sk_err *err),
    void *sink_arg, int64_t *rows, sk_err *err);
int move_src_snapshot_end(void *arg, sk_err *err);
int move_src_position(void *arg, bool want_sums, const char *since,
    char **snapshot, Skein__V1__MoveSignedSums **sums, sk_err *err);
int move_src_changes(void *arg, const char *after, const char *upto,
    int64_t after_seq, uint32_t limit, Skein__V1__MoveReply **out, sk_err *err);
int move_src_stay(void *arg, Skein__V1__MoveReply **out, sk_err *err);

typedef struct move_target move_target;
/* The target side (move_target_db.c, _apply.c, _flip.c). */
struct move_target {
	PGconn *c;
	const move_spec *spec;
	const Skein__V1__MoveDescription *d;
	move_names nm;
	char set_move[512]; /* "SET LOCAL skein.move = '...'" */
	/* In the freeze: when its budget ends (sk_mono_ms); the figures and
	 * the flip then run under a statement_timeout of what is left. 0:
	 * no limit. */
	int64_t deadline_ms;
	bool in_copy;
};

/* Shared by the target's files (move_target_db.c): the description of
 * a moved table; the SQL that creates (or drops) the target guard; the
 * SQL that deletes the tenant's rows, children first. */
/* The settings of a transaction in a freeze that ends at until_ms
 * (sk_mono_ms; 0: not in a freeze, an empty string), into buf (at least
 * MOVE_FREEZE_SQL_MAX bytes): "SET LOCAL statement_timeout = N" for what
 * is left of it, and the server's parallel workers back (the tenant's
 * writes wait on the freeze: it may use the spare cores the move's
 * background work leaves alone). SK_ETIMEOUT when nothing is left. */
#define MOVE_FREEZE_SQL_MAX 128
int move_freeze_timeout_sql(int64_t until_ms, char *buf, size_t len, sk_err *err);
const Skein__V1__MoveTable *move_target_find_table(
    const move_target *t, const char *name);
void move_target_guard_sql(move_target *t, move_str *q, bool create);
void move_target_delete_sql(move_target *t, move_str *q);

int move_target_open(PGconn *conn, const move_spec *spec,
    const Skein__V1__MoveDescription *d, move_target **out, sk_err *err) SK_WARN_UNUSED;
void move_target_close(move_target *t);
/* The same for a parallel copy's worker on a connection of its own: only
 * the copy's functions (copy_table_begin, start, data, end,
 * copy_table_commit, rollback); free it with free(), the connection is
 * the caller's. */
int move_target_open_copy(PGconn *conn, const move_spec *spec,
    const Skein__V1__MoveDescription *d, move_target **out, sk_err *err) SK_WARN_UNUSED;

/* Compare the target's tables with d; tenant rows in the target (unless
 * allow_rows). SK_EPREFLIGHT naming table and difference. */
int move_target_preflight(move_target *t, bool allow_rows, sk_err *err) SK_WARN_UNUSED;

/* The target's skein.moves row: state ("" when none), position, the
 * round's upto and the last applied seq of it. */
typedef struct move_target_state {
	char state[32];
	char *position; /* NULL when none */
	char *upto;
	int64_t seq;
	char *verify; /* the verification position V, NULL when none */
} move_target_state;

int move_target_state_read(move_target *t, move_target_state *st, sk_err *err) SK_WARN_UNUSED;
void move_target_state_fini(move_target_state *st);

/* A move back: whether the move it undoes left this (its target)
 * database as its source past the commit point ("moved"), so that the
 * tenant's rows here are that move's leftovers. */
int move_target_undo_moved(move_target *t, bool *moved, sk_err *err) SK_WARN_UNUSED;

/* Install the guard and the skein.moves row (state "copy"); a move back
 * drops the undone move's source triggers and fence in the same
 * transaction. */
int move_target_begin(move_target *t, sk_err *err) SK_WARN_UNUSED;

/* Copy: begin the copy transaction (deleting partial rows first), one
 * table (start, data..., end), commit with position p0. */
int move_target_copy_begin(move_target *t, sk_err *err) SK_WARN_UNUSED;
int move_target_copy_start(move_target *t, const Skein__V1__MoveTable *tbl,
    sk_err *err) SK_WARN_UNUSED;
int move_target_copy_data(void *t, const uint8_t *data, size_t len, sk_err *err);
int move_target_copy_end(move_target *t, sk_err *err) SK_WARN_UNUSED;
int move_target_copy_commit(move_target *t, const char *p0, sk_err *err) SK_WARN_UNUSED;
/* A parallel copy (move_copy.c). On the main connection: delete what a
 * cut copy left and commit (*replica: the copy's sessions may run as
 * replica sessions, so foreign keys are not checked); record p0 in a
 * transaction of its own once every table committed. On a worker's:
 * begin one table's transaction (skein.move, replica when allowed) and
 * commit it. */
int move_target_copy_clear(move_target *t, bool *replica, sk_err *err) SK_WARN_UNUSED;
int move_target_copy_table_begin(move_target *t, sk_err *err) SK_WARN_UNUSED;
int move_target_copy_table_commit(move_target *t, sk_err *err) SK_WARN_UNUSED;
int move_target_copy_record_begin(move_target *t, sk_err *err) SK_WARN_UNUSED;
/* deps (n x n, n the moved tables, caller's): deps[i * n + j] when table
 * i references table j (i != j) by a foreign key in the target. */
int move_target_copy_deps(move_target *t, bool *deps, sk_err *err) SK_WARN_UNUSED;

/* ---- the parallel copy (move_copy.c) */

/* The next table a free worker may start, given which are started and
 * committed: the first (in the description's order) not started whose
 * referenced tables (deps, as above; ignored when !ordered) all
 * committed. MOVE_COPY_WAIT: none yet, a table in flight will free one;
 * MOVE_COPY_NONE: every table started. With nothing in flight and none
 * ready (a cycle of foreign keys), the first not started: its commit
 * then fails on the keys as a single transaction would. */
#define MOVE_COPY_WAIT (-1)
#define MOVE_COPY_NONE (-2)
int move_copy_next(size_t n, const bool *deps, bool ordered,
    const bool *started, const bool *committed);

/* max_copy_rate: sleep until due (sk_mono_ms) in slices of at most
 * 100 ms, returning early once quit(arg) says the copy stops. The copy's
 * link goes unread meanwhile, so the source's COPY waits too. */
void move_pace_until(int64_t due, bool (*quit)(void *arg), void *arg);

/* How a parallel copy reports to the engine's thread. */
typedef struct move_copy_stats {
	int64_t rows, bytes;
	const char *table; /* one of the tables in flight; NULL: none */
} move_copy_stats;

/* Copy every moved table of d with up to n workers, each a target
 * connection (r->target_conninfo) and a source worker (src->worker in
 * the snapshot exported as exported) of its own, each table committed in
 * its own target transaction. tick(tick_arg, stats) is called on the
 * caller's thread at each table's start and end and about once a
 * second. SK_OK: every table committed (p0 not yet recorded). Else the
 * first error; the other workers stop; the tables that committed stay
 * (the next copy or the abort deletes them); *crashed: the error is
 * r->hook's simulated death. */
int move_copy_parallel(const move_run *r, const Skein__V1__MoveDescription *d,
    const move_source_ops *src, void *src_arg, const char *exported,
    move_target *t, int n, void (*tick)(void *arg, const move_copy_stats *st),
    void *tick_arg, bool *crashed, sk_err *err) SK_WARN_UNUSED;
/* After the copy: VACUUM (ANALYZE) the moved tables, so that the
 * freeze's counts read the visibility map rather than every row, and
 * autovacuum, which the copy's inserts would wake, does not take the
 * tables just when the flip needs their locks. Best effort: a failure
 * is logged and the move goes on. */
void move_target_vacuum(move_target *t);
/* Roll back whatever transaction is open. */
void move_target_rollback(move_target *t);

/* Apply one page of changes in one transaction and record (after, upto,
 * last seq); complete: the round is done, position becomes upto. With
 * track, the keys touched are remembered for move_target_sums(delta). */
int move_target_apply(move_target *t, const Skein__V1__MoveReply *page,
    const char *upto, bool complete, bool track, int64_t *applied,
    sk_err *err) SK_WARN_UNUSED;
/* Record the verification position V and start tracking keys anew. */
int move_target_set_verify(move_target *t, const char *v, sk_err *err) SK_WARN_UNUSED;

/* The target's figures at position snapshot (full, or over the keys
 * tracked since since). */
int move_target_sums(move_target *t, const char *snapshot, const char *since,
    const sk_seckey *key, Skein__V1__MoveSignedSums **out, sk_err *err) SK_WARN_UNUSED;

/* The flip transaction: route.target, the event, the stay rows, the
 * guard's removal, in_flip, state "done". */
int move_target_flip(move_target *t, const Skein__V1__MoveReply *stay,
    const move_run *r, sk_err *err) SK_WARN_UNUSED;
/* The same in the freeze, before the source's commit point: everything
 * but the COMMIT (one attempt; the transaction stays open on success,
 * and is rolled back on failure), so that in_flip's checks (the step's
 * smoke checks) can still abort the move; then the COMMIT, once the
 * source committed (a failure rolls back: move_target_flip again). */
int move_target_flip_prepare(move_target *t, const Skein__V1__MoveReply *stay,
    const move_run *r, sk_err *err) SK_WARN_UNUSED;
int move_target_flip_commit(move_target *t, sk_err *err) SK_WARN_UNUSED;

/* Abort: delete the tenant's rows (children first), drop the guard,
 * state "aborted". */
int move_target_abort(move_target *t, sk_err *err) SK_WARN_UNUSED;

#endif

/* move_engine_int.h: the target side's move driver, shared by its four
 * files: move_engine.c (the phases in order, the catch-up, resume),
 * move_engine_copy.c (the copy and the rehearsal's sample of it),
 * move_engine_cutover.c (verification, the freeze, the commit point, the
 * flip, the abort) and move_engine_steps.c (what all of them use; it
 * calls none of them). Not for use outside agent/move. */
#ifndef SKEIN_MOVE_ENGINE_INT_H
#define SKEIN_MOVE_ENGINE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "move_int.h"

/* Connections the source side opens: requests, copy snapshot, freeze. */
#define SOURCE_CONNECTIONS 3

/* A failure the engine reports without aborting: the hook's simulated
 * death, or the stop after the commit point. */
#define CRASHED (-1)

typedef struct engine {
	const move_run *r;
	move_result *res;
	const move_source_ops *src;
	void *sa;
	move_target *t;
	Skein__V1__MoveDescription *d;
	move_progress pg;
	int64_t start_ms, last_progress_ms, phase_start_ms;
	bool frozen, snapshot_open;
	bool flipped;      /* the target's flip committed in the freeze */
	const char *table; /* being copied */
	/* COMMIT sent, and the link failed before its answer */
	bool commit_unknown;
	/* max_copy_rate: when the copy began (sk_mono_ms), bytes since */
	int64_t copy_t0, copy_bytes;
} engine;

/* move_engine_steps.c */

/* Send the progress (at most once a second unless force). */
void move_engine_report(engine *e, bool force);
/* Enter phase p: logged with the last one's time, and reported. */
void move_engine_phase(engine *e, move_phase p);
bool move_engine_stopped(const engine *e);
/* The test seam after phase p (table: the one just done, or NULL):
 * SK_OK, or CRASHED when the hook simulates a death. */
int move_engine_hook(engine *e, move_phase p, const char *table, sk_err *err);
/* Apply every change visible in upto and not in *pos, from seq after
 * seq, page by page; *pos becomes upto. track: remember the keys
 * touched, for the freeze's figures of them. */
int move_engine_drain(engine *e, char **pos, const char *upto, int64_t seq,
    bool track, sk_err *err);

/* move_engine_copy.c */

/* The rehearsal: time a sample of the largest table, estimate the copy,
 * the freeze and the rollback. */
int move_engine_rehearse(engine *e, sk_err *err);
/* The copy in one snapshot of the source; *pos becomes its position. */
int move_engine_copy(engine *e, char **pos, sk_err *err);

/* move_engine_cutover.c */

/* Both sides' signed figures at one position *v, compared. */
int move_engine_verify(engine *e, char **pos, char **v, sk_err *err);
/* The freeze: the last changes, the figures again, the flip prepared,
 * the source's COMMIT (the commit point), the target's flip. */
int move_engine_freeze_commit(engine *e, char **pos, const char *v, sk_err *err);
/* After the flip: remove the source's capture (a failure leaves the
 * move done, its cleanup pending). */
void move_engine_cleanup(engine *e, sk_err *err);
/* After the commit point: the flip, retried, never aborted. */
int move_engine_flip(engine *e, sk_err *err);
/* Before the commit point: undo; true when the source says the commit
 * point passed after all. */
bool move_engine_abort(engine *e, sk_err *err);

#endif

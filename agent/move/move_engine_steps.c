/* move_engine_steps: what every phase of the move's driver uses: the
 * phase names, entering a phase, the progress report, the stop flag,
 * the test hook, and the drain of the source's changes into the target.
 * It calls none of the phases (move_engine.c, move_engine_copy.c,
 * move_engine_cutover.c); they call it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "move_engine_int.h"
#include "sk_log.h"
#include "sk_util.h"

/* Changes per page: one target transaction each. */
#define PAGE_LIMIT 1000

const char *
move_phase_name(move_phase p)
{
	switch (p) {
	case MOVE_PHASE_PREFLIGHT:
		return "preflight";
	case MOVE_PHASE_CAPTURE:
		return "capture";
	case MOVE_PHASE_COPY:
		return "copy";
	case MOVE_PHASE_CATCHUP:
		return "catch-up";
	case MOVE_PHASE_VERIFY:
		return "verify";
	case MOVE_PHASE_FREEZE:
		return "freeze";
	case MOVE_PHASE_FLIP:
		return "flip";
	case MOVE_PHASE_DONE:
		return "done";
	case MOVE_PHASE_ABORT:
		return "abort";
	}
	return "unknown";
}

void
move_engine_report(engine *e, bool force)
{
	int64_t now = sk_mono_ms(), el = now - e->phase_start_ms, done;

	if (e->r->progress == NULL || (!force && now - e->last_progress_ms < 1000))
		return;
	e->last_progress_ms = now;
	e->pg.table = e->table;
	/* the copy's rate in rows, the catch-up's in changes */
	done = e->pg.phase == MOVE_PHASE_CATCHUP ? e->pg.changes : e->pg.rows;
	e->pg.rows_per_s = el > 0 ? (double)done * 1000.0 / (double)el : 0;
	e->pg.eta_ms = -1;
	if (e->pg.phase == MOVE_PHASE_COPY && e->pg.bytes > 0 && el > 0)
		e->pg.eta_ms = (e->pg.bytes_total - e->pg.bytes) * el / e->pg.bytes;
	e->r->progress(e->r->progress_arg, &e->pg);
}

/* Enter phase p: logged with how long the last one took (where the
 * move's time, and the load it puts on both databases, went), and
 * reported at once. */
void
move_engine_phase(engine *e, move_phase p)
{
	int64_t now = sk_mono_ms();

	if (e->phase_start_ms > 0)
		sk_info("move %s: %s (%s took %" PRId64 " ms)",
		    e->r->spec->move_id, move_phase_name(p),
		    move_phase_name(e->pg.phase), now - e->phase_start_ms);
	else
		sk_info("move %s: %s", e->r->spec->move_id, move_phase_name(p));
	e->pg.phase = p;
	e->phase_start_ms = now;
	move_engine_report(e, true);
}

bool
move_engine_stopped(const engine *e)
{
	return e->r->stop != NULL && *e->r->stop != 0;
}

int
move_engine_hook(engine *e, move_phase p, const char *table, sk_err *err)
{
	if (e->r->hook == NULL ||
	    e->r->hook(e->r->hook_arg, p, table, e->r->target, err) == SK_OK)
		return SK_OK;
	return CRASHED;
}

int
move_engine_drain(engine *e, char **pos, const char *upto, int64_t seq,
    bool track, sk_err *err)
{
	for (;;) {
		Skein__V1__MoveReply *page = NULL;
		int64_t n = 0;
		bool more;
		int rc;

		rc = e->src->changes(e->sa, *pos, upto, seq,
		    e->r->page_limit > 0 ? e->r->page_limit : PAGE_LIMIT, &page, err);
		if (rc != SK_OK)
			return rc;
		more = page->more;
		rc = move_target_apply(e->t, page, upto, !more, track, &n, err);
		if (rc == SK_OK && page->n_changes > 0)
			seq = page->changes[page->n_changes - 1]->seq;
		e->pg.changes += n;
		e->res->changes += n;
		if (rc == SK_OK && more && page->n_changes > 0)
			rc = move_engine_hook(e, MOVE_PHASE_CATCHUP,
			    page->changes[page->n_changes - 1]->table, err);
		move_reply_free(page);
		if (rc != SK_OK)
			return rc;
		if (!more)
			break;
		move_engine_report(e, false);
	}
	free(*pos);
	*pos = sk_strdup(upto);
	return *pos != NULL ? SK_OK :
			      sk_err_set(err, SK_ENOMEM, "catch up: out of memory");
}

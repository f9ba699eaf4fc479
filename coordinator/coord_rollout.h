/* coord_rollout: one rollout of a signed plan, and its state machine.
 *
 * A rollout moves its regions through pending -> dispatched -> running ->
 * succeeded | failed | refused (coord_state), driven by agent reports.
 * How phases gate each other is its mode's row (coord_mode):
 *
 *   phase by phase (apply, rollback)  A phase starts only when every
 *             region of the previous phase succeeded; the first region
 *             that fails or refuses halts the rollout (its mode's failed
 *             state): regions of later phases stay pending and are never
 *             told to run. Regions of the failing phase that are already
 *             running finish and keep reporting.
 *   all at once (rehearse)  Every region is told at once and nothing
 *             halts early: the rollout ends when every region has
 *             answered, in its mode's ok state if every region succeeded
 *             (for a rehearsal "ready": every database READY), else its
 *             failed state ("blocked").
 *
 * A rollback is created from a finished apply rollout with the same
 * signed plan; it runs only in the regions named by its origin, phases in
 * reverse order (the canary last).
 *
 * The rollout keeps state and figures: region states and errors here,
 * each region's progress in coord_progress. The words people read (its
 * events, the status view) are derived from them by coord_narrate; every
 * report an agent sends is also kept, in arrival order, for `skein
 * rollout report` (coord_reports.c).
 *
 * Every state change a restart must see is written to the journal (as
 * state, coord_region_record) before the function that made it returns;
 * progress inside a region is not journaled itself: replay folds the
 * journaled reports again (coord_rollout_replay_report). Kept reports are
 * journaled by the caller (coord_journal_reports) before they are kept.
 *
 * Not thread-safe: owned by the coordinator's event loop.
 */
#ifndef COORD_ROLLOUT_H
#define COORD_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_gate.h"
#include "coord_journal.h"
#include "coord_mode.h"
#include "coord_progress.h"
#include "coord_state.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_wire.h"

/* At most this many reports are kept per rollout; later ones are counted
 * (coord_rollout.reports_dropped) and the report says so. A decoded report
 * is about 6 KB in a `rollout report` answer, so this bounds that answer
 * near 300 MB; 50000 is some 1000 databases at 50 reports each. Progress
 * reports are kept only up to half of it, so that a long step's progress
 * cannot crowd out the outcomes. */
#define COORD_REPORTS_MAX 50000

/* A kept report: where its encoded RegionReport lies in the arena, and
 * what duplicate detection compares. */
typedef struct coord_kept {
	size_t off;
	uint32_t len;
	uint64_t seq;
	int64_t at_ms;
	int event;
	size_t prev; /* 1 + index of the region's previous kept report; 0: none */
} coord_kept;

typedef struct coord_region_run {
	char name[SK_NAME_MAX];
	int state;               /* enum coord_region_state */
	uint32_t phase;          /* index into the rollout's phases */
	sk_err error;            /* why it failed or was refused; SK_OK: none */
	int64_t updated_ms;      /* its latest report or state change */
	coord_progress progress; /* how far it got: from the reports */
	size_t last_kept; /* 1 + index of its latest kept report; 0: none */
	/* stopline: paused on its own (skein rollout pause --region): it is
	 * not told to run, its agent holds before its next step, and its
	 * phase does not complete. Ends with a resume of it, or with the
	 * rollout. Who, when, why. */
	bool paused;
	char paused_by[SK_NAME_MAX];
	char paused_by_key[SK_NAME_MAX];
	int64_t paused_ms;
	char pause_reason[SK_REASON_MAX];
	/* Aborted on its own (skein rollout abort --region): never told to
	 * run again, its agent hears ABORT (finishes its running step, starts
	 * no other), and it ends failed with an error naming who aborted it
	 * and why, whatever its agent reports last; the rollout then halts
	 * by the phase rule. unstarted: it was pending when aborted, so it
	 * failed at once and nothing ran there (a rollback skips it). Set
	 * by coord_opctl_apply, so replay restores it. */
	bool aborted;
	bool abort_unstarted;
	char aborted_by[SK_NAME_MAX];
	char aborted_by_key[SK_NAME_MAX];
	int64_t aborted_ms;
	char abort_reason[SK_REASON_MAX];
	/* flags: its flags-first pass (coord_flags.h): state, why it failed,
	 * what it waits for. */
	int flags_state;
	sk_err flags_error;
	char flags_detail[256];
	/* Its events said its agent is away (coord_agents_narrate); cleared,
	 * with an event, when it is back. Not journaled. */
	bool agent_away;
} coord_region_run;

/* What operators said to a running rollout (skein rollout pause, resume,
 * tune; coord_opctl.c): journaled, and restored by replay. */
typedef struct coord_opctl {
	/* Paused: no region is told to run and no phase starts; the agents
	 * hold before their next step (a backfill at its next batch). Ends
	 * with a resume, or with the rollout. */
	bool paused;
	char paused_by[SK_NAME_MAX];     /* the operator */
	char paused_by_key[SK_NAME_MAX]; /* their key id, hex; "" unsigned */
	int64_t paused_ms;
	char reason[SK_REASON_MAX]; /* as they said it; "" none */
	bool tuned;
	sk_tune tune; /* every tune so far, merged */
	/* Bumped by each pause, resume and tune, and by the end of a paused
	 * rollout: what the agents running it must have applied
	 * (sk_command.control_gen). Replay counts the same records, so it
	 * is the same after a restart. */
	uint64_t gen;
	/* stopline: the pause is the line stop's (skein stop --all); a
	 * --lift resumes exactly these. */
	bool by_line;
	/* stopline: every pause, resume, tune and abort, oldest first (for
	 * status and report; rebuilt by replay). */
	sk_control_view *hist;
	size_t nhist, hist_cap;
} coord_opctl;

typedef struct coord_rollout {
	char id[SK_ID_MAX];
	sk_plan *plan;
	uint8_t *signed_plan;
	size_t signed_plan_len;
	int mode;                   /* enum sk_mode */
	const coord_mode *rules;    /* what mode means: coord_mode_of(mode) */
	char of_rollout[SK_ID_MAX]; /* COORD_EFFECT_UNDO: the rollout undone */
	char started_by[SK_NAME_MAX];     /* the operator; "" not recorded */
	char started_by_key[SK_NAME_MAX]; /* their key id, hex */
	/* COORD_EFFECT_UNDO: started_by said --no-backup; carried to the
	 * agents in the RUN command. Journaled. */
	bool no_backup;
	/* COORD_EFFECT_APPLY: started_by said --reapply, the plan's latest
	 * apply (reapply_of) having been rolled back. Journaled. */
	bool reapply;
	char reapply_of[SK_ID_MAX];
	int state; /* enum coord_rollout_state */
	/* The phases in the order this rollout runs them (the plan's, or
	 * reversed for a mode that says so), without phases that have none
	 * of its regions. Borrowed from plan. */
	const sk_phase **phases;
	size_t nphases;
	uint32_t phase; /* current index into phases */
	int64_t created_ms;
	int64_t finished_ms;
	/* Why it ended other than well: the failing region's error, or
	 * which regions were blocked and why; "" otherwise. Journaled. */
	char reason[SK_ERR_MSG_MAX];
	coord_region_run *regions; /* plan->regions order */
	size_t nregions;
	/* Its events, oldest first (written by coord_narrate). */
	sk_event_view *events;
	size_t nevents;
	size_t events_cap;
	uint64_t next_event;
	/* Kept reports: encoded sk_region_reports in one arena. */
	uint8_t *arena;
	size_t arena_len, arena_cap;
	coord_kept *kept;
	size_t nkept, kept_cap;
	uint64_t reports_dropped; /* over COORD_REPORTS_MAX, not kept */
	coord_opctl ctl;          /* pause and tune */
	coord_gates gates;        /* phase gates: coord_gate.h */
	/* flags: a rollback with a flags-first pass (coord_flags.h), and
	 * whether every region has flipped. */
	bool flags_first;
	bool flags_done;
} coord_rollout;

/* Create rollout id of plan in phase 0, its regions pending. origin NULL
 * means apply. A mode whose row runs only named regions (rollback) takes
 * the regions of origin->only_regions that the plan has. Copies id,
 * signed_plan and origin. Does not journal (the caller journals "created"
 * with the same origin and then calls coord_rollout_start).
 *
 * On success *out is the caller's (coord_rollout_destroy) and owns plan.
 * On failure *out is NULL, plan is still the caller's, untouched, and err
 * says why: SK_EINVAL for an id of SK_ID_MAX bytes or more, a mode the
 * coordinator does not know, or a rollback whose regions the plan has
 * none of; SK_ENOMEM. */
int coord_rollout_create(const char *id, sk_plan *plan,
    const uint8_t *signed_plan, size_t len, const coord_origin *origin,
    int64_t now_ms, coord_rollout **out, sk_err *err) SK_WARN_UNUSED;

/* Free ro and its plan. Accepts NULL. */
void coord_rollout_destroy(coord_rollout *ro);

/* The regions a rollback of ro must run in, in plan order: region alone
 * (it must be one of ro's plan, and ro must have reached it), or, when
 * region is NULL or "", every region ro reached (coord_region_reached: a
 * region that was never sent the plan, or refused it, has nothing to
 * undo). Only a finished rollout whose mode applies changes can be rolled
 * back. Fails with SK_ESTATE (running, a mode that changed nothing or
 * undoes, reached no region), SK_EINVAL (region not in the plan) or
 * SK_ENOMEM, naming the rollout and region; *out is then NULL. On success
 * *out is an array of *n names borrowed from ro (free only the array). */
int coord_rollout_rollback_regions(const coord_rollout *ro, const char *region,
    const char ***out, size_t *n, sk_err *err) SK_WARN_UNUSED;

/* True if region takes part in the rollout. */
bool coord_rollout_has_region(const coord_rollout *ro, const char *region);

/* The run of region name, or NULL if it does not take part. */
coord_region_run *coord_rollout_region(const coord_rollout *ro, const char *name);

/* Kept reports (coord_reports.c). */

/* True if a report from region with r's seq, time and event was already
 * kept (an agent resends what the coordinator did not acknowledge, e.g.
 * when it died between journaling and answering). Checks the most recent
 * kept reports only: resends are never older than that. */
bool coord_rollout_report_is_duplicate(
    const coord_rollout *ro, const char *region, const sk_report *r);

/* Keep a report from region (already journaled, or being replayed).
 * Reports from regions not in the rollout are ignored; beyond
 * COORD_REPORTS_MAX (or when out of memory) the report is only counted in
 * reports_dropped. */
void coord_rollout_keep_report(
    coord_rollout *ro, const char *region, const sk_report *r);

/* Every kept report, in arrival order, decoded into a new array *out of
 * *n entries (caller frees with free()). Fails only when out of memory. */
int coord_rollout_reports(const coord_rollout *ro, sk_region_report **out,
    size_t *n, sk_err *err) SK_WARN_UNUSED;

/* The verified backups among the kept reports, in arrival order, at most
 * COORD_VIEW_BACKUPS_MAX (the report has every one), into a new array
 * *out of *n entries (NULL and 0 when none; caller frees with free()).
 * Fails only when out of memory. */
#define COORD_VIEW_BACKUPS_MAX 1024
int coord_rollout_backups(const coord_rollout *ro, sk_backup_view **out,
    size_t *n, sk_err *err) SK_WARN_UNUSED;

/* The state machine. */

/* Journal and record the start of phase 0. Fails only if the journal
 * cannot be written; ro is then unchanged. */
int coord_rollout_start(coord_rollout *ro, coord_journal *j, int64_t now_ms,
    sk_err *err) SK_WARN_UNUSED;

/* True if region must be told to run this rollout now: the rollout is
 * running and not paused, region has not finished, and region is in the
 * current phase (or in any phase, for a mode that runs all at once). */
bool coord_rollout_wants(const coord_rollout *ro, const char *region);

/* Note that a RUN command went to region: pending -> dispatched
 * (journaled). No-op in any other state. Fails only if the journal cannot
 * be written. */
int coord_rollout_dispatched(coord_rollout *ro, const char *region,
    coord_journal *j, int64_t now_ms, sk_err *err) SK_WARN_UNUSED;

/* Apply one agent report from region to the state machine and the
 * region's progress (keeping it is coord_rollout_keep_report's job).
 * Reports for regions not in the rollout, already finished, or (phase by
 * phase) of a later phase are ignored. May finish the region, the phase
 * (starting the next, unless the rollout is paused: then the next phase
 * waits for coord_rollout_settle after the resume) or the rollout, which
 * ends a pause; each such change is journaled.
 * *changed is set when anything an agent should hear about changed (a new
 * phase started). Fails only if the journal cannot be written. */
int coord_rollout_report(coord_rollout *ro, const char *region, const sk_report *r,
    coord_journal *j, bool *changed, sk_err *err) SK_WARN_UNUSED;

/* Finish what a crash may have interrupted: a coordinator killed between
 * journaling a region's last result and journaling the phase or rollout
 * transition it implies replays into a rollout whose phase is complete but
 * not advanced. Re-evaluates the current phase and journals the missing
 * transition. Call once per rollout after replay. *changed as for
 * coord_rollout_report. */
int coord_rollout_settle(coord_rollout *ro, coord_journal *j, bool *changed,
    sk_err *err) SK_WARN_UNUSED;

/* One tick of ro's phase gates (coord_gate_tick) at now_ms, at least
 * every second while ro runs: a soak served, an entry gate opened. When a
 * gate is due the state machine goes on (the next phase starts, or the
 * rollout ends) and *changed is set (agents may have work). Fails only
 * if the journal cannot be written. */
int coord_rollout_tick(coord_rollout *ro, coord_journal *j, int64_t now_ms,
    bool *changed, sk_err *err) SK_WARN_UNUSED;

/* Note how many databases the agent of region manages (for progress);
 * 0 or a region not in the rollout: no-op. */
void coord_rollout_note_databases(
    coord_rollout *ro, const char *region, uint32_t ndatabases);

/* stopline: end ro as aborted (journaled with reason): regions not
 * started never start; running ones finish their step and report (their
 * reports are still taken). Fails only if the journal cannot be written;
 * ro is then unchanged. */
int coord_rollout_abort(coord_rollout *ro, coord_journal *j, const char *reason,
    int64_t now_ms, sk_err *err) SK_WARN_UNUSED;

/* Fail the regions of ro aborted on their own that have not started
 * (pending: never told to run), each with the error that says who
 * aborted it and why (journaled), then halt or go on by the phase rule
 * (a failed region of the current phase halts ro; one of a later phase
 * halts it once the current phase's regions are done). Aborted regions
 * that run end when their agent reports (coord_rollout_report). Also
 * finishes what a crash between the abort's record and the region's
 * interrupted (coord_rollout_settle calls it). *changed as for
 * coord_rollout_report. Fails only if the journal cannot be written. */
int coord_rollout_abort_regions(coord_rollout *ro, coord_journal *j,
    int64_t now_ms, bool *changed, sk_err *err) SK_WARN_UNUSED;

/* True if some region of ro was aborted on its own. */
bool coord_rollout_any_aborted(const coord_rollout *ro);

/* stopline: true if region rr of ro is held: the rollout or the region
 * is paused. */
bool coord_rollout_held(const coord_rollout *ro, const coord_region_run *rr);

/* Replay hooks: apply journaled records without journaling again.
 * Records for regions not in the rollout are ignored; a finished state
 * name the coordinator does not know reads as "failed". */
void coord_rollout_replay_region(coord_rollout *ro, const coord_region_record *rec);
/* A journaled report from region, folded into the region's progress as
 * coord_rollout_report did when it came (the same reports are ignored),
 * so that a restarted coordinator shows each database, and the backfill
 * it runs, as before; states come from the region records. Call in
 * journal order, beside coord_rollout_keep_report. */
void coord_rollout_replay_report(
    coord_rollout *ro, const char *region, const sk_report *r);
void coord_rollout_replay_phase(coord_rollout *ro, uint32_t phase, int64_t at_ms);
void coord_rollout_replay_finished(
    coord_rollout *ro, const char *state, const char *reason, int64_t at_ms);

/* Fill out with a snapshot of the rollout as `skein rollout status` shows
 * it (coord_rollout_query.c), including events whose seq is greater than
 * since. On success out owns its arrays (sk_rollout_view_fini); on
 * failure (SK_ENOMEM) out holds nothing. */
int coord_rollout_view(const coord_rollout *ro, uint64_t since,
    sk_rollout_view *out, sk_err *err) SK_WARN_UNUSED;

#endif

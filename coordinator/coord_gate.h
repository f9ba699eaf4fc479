/* coord_gate: a rollout's phase gates (docs/formats.md "Phase gates").
 *
 * ENTRY gates (approval, window) hold a phase's start: its regions are
 * not told to run until enough distinct operators approved it and its
 * window is open. EXIT gates (soak, sampled checks and health) run once
 * every region of the phase succeeded and hold the next phase (after the
 * last phase: the rollout's success). Gates apply to rollouts that apply
 * a plan phase by phase; a rehearsal and a rollback pass them.
 *
 * The soak counts only while the coordinator is up and watching, and not
 * while the rollout is paused: each tick adds the time since the last,
 * and a restart starts watching again from its first tick. The time
 * served is journaled every COORD_GATE_SOAK_JOURNAL_MS, so kill -9 loses
 * at most that much of it.
 *
 * State is data: each phase's gate state and figures here, journaled as
 * coord_gate_records (and approvals as coord_approval_records); the words
 * are coord_gate_narrate's. Nothing here calls coord_rollout.c: the
 * state machine calls in (and advances when a tick says a gate is due).
 *
 * Not thread-safe: the coordinator's loop owns every rollout.
 */
#ifndef COORD_GATE_H
#define COORD_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_journal.h"
#include "sk_err.h"
#include "sk_wire.h"

typedef struct coord_rollout coord_rollout;

/* How often the soak served is journaled while it runs. */
#define COORD_GATE_SOAK_JOURNAL_MS 2000

/* Where a phase's exit gate is. */
enum coord_gate_exit {
	COORD_GATE_EXIT_NONE = 0, /* not reached (or nothing to hold) */
	COORD_GATE_EXIT_RUNNING,  /* soaking / sampling */
	COORD_GATE_EXIT_PASSED,
	COORD_GATE_EXIT_HALTED, /* judged failed: the rollout halted */
	COORD_GATE_EXIT_PAUSED, /* inconclusive: paused for a human */
};

/* One approval: of phase (an index into the rollout's phases) by an
 * operator. */
typedef struct coord_approval {
	uint32_t phase;
	char operator_name[SK_NAME_MAX];
	char key_id[SK_NAME_MAX];
	int64_t at_ms;
} coord_approval;

/* One sampled item of a phase's exit gate in one database of one region
 * (database "" for the agent-wide http probe): its good samples and the
 * latest value judged. */
typedef struct coord_gate_item {
	char region[SK_NAME_MAX];
	char database[SK_NAME_MAX];
	char gate[96];       /* "check NAME", "health SIGNAL" */
	uint32_t good;       /* samples that held */
	uint64_t last_round; /* the latest round counted */
	bool erred;          /* the latest sample erred */
	sk_gate_judged last; /* the latest judgement */
} coord_gate_item;

/* One phase's gate state. */
typedef struct coord_gate_phase {
	bool entry_open;         /* approvals and window let it start */
	bool entry_waited;       /* it waited (said once) */
	int exit;                /* enum coord_gate_exit */
	int64_t served_ms;       /* soak served */
	int64_t journaled_ms;    /* served_ms as last journaled */
	int64_t started_ms;      /* exit gate started */
	int64_t ended_ms;        /* exit gate decided */
	int64_t window_opens_ms; /* waiting for the window: when it opens */
	sk_gate_judged judged[SK_GATE_JUDGED_MAX]; /* what decided it */
	size_t njudged;
	/* Sampled gates (coord_gate_sample.c): each item's samples, and the
	 * soak served by which the samples must be in (the soak, or more
	 * after a resume of a gate's pause). */
	coord_gate_item *items;
	size_t nitems, items_cap;
	int64_t due_ms;
} coord_gate_phase;

/* A rollout's gates. */
typedef struct coord_gates {
	coord_gate_phase *phases; /* one per rollout phase, run order */
	size_t nphases;
	/* When the soak was last counted; 0: not watching (a new exit gate,
	 * a restart, a pause), and the next tick starts from then. */
	int64_t watch_ms;
	coord_approval *approvals; /* in the order given */
	size_t napprovals, cap;
	/* Sampling: the current round (a clock value, so rounds rise across
	 * restarts), when the next is due, and the round each region of the
	 * rollout (ro->regions order) was sent last. */
	uint64_t round;
	int64_t next_sample_ms;
	uint64_t *sent;
	size_t nregions;
} coord_gates;

/* Room for nphases phases' gate state, all closed and not reached.
 * SK_ENOMEM. */
int coord_gates_init(coord_gates *g, size_t nphases, size_t nregions,
    sk_err *err) SK_WARN_UNUSED;

/* Free what g holds. Accepts NULL. */
void coord_gates_fini(coord_gates *g);

/* Whether ro's current phase may have its regions told to run: its
 * entry gates are open (or it has none, or ro's mode passes gates). */
bool coord_gate_entry_open(const coord_rollout *ro);

/* Evaluate the entry gates of ro's current phase at now_ms: when they
 * open, journal it (a phase with entry gates) and set *opened. Call when
 * a phase starts, on every tick and after an approval. Fails only when
 * the journal cannot be written; nothing changed then. */
int coord_gate_enter(coord_rollout *ro, coord_journal *j, int64_t now_ms,
    bool *opened, sk_err *err) SK_WARN_UNUSED;

/* Every region of ro's current phase succeeded: start its exit gate
 * (journaled) when it has one and it is not started, and set *passed
 * when it has none or it passed (journaling the pass). Fails only when
 * the journal cannot be written. */
int coord_gate_exit(coord_rollout *ro, coord_journal *j, int64_t now_ms,
    bool *passed, sk_err *err) SK_WARN_UNUSED;

/* One tick of ro's gates at now_ms (at least every second): count the
 * soak served, journaling its progress; evaluate waiting entry gates. *due
 * is set when the state machine has something to do: an entry gate
 * opened (agents must hear it) or an exit gate may pass (advance). Fails
 * only when the journal cannot be written. */
int coord_gate_tick(coord_rollout *ro, coord_journal *j, int64_t now_ms,
    bool *due, sk_err *err) SK_WARN_UNUSED;

/* Apply a journaled gate record (replay). Phases out of range are
 * ignored. */
void coord_gate_replay(coord_rollout *ro, const coord_gate_record *rec);

/* The phase index of ro named name, or -1. */
int coord_gate_phase_index(const coord_rollout *ro, const char *name);

/* Count approval a (already checked and journaled; replay: as
 * journaled). The same operator approving the same phase again counts
 * once (*counted false). SK_ENOMEM. */
int coord_gate_add_approval(coord_rollout *ro, const coord_approval *a,
    bool *counted, sk_err *err) SK_WARN_UNUSED;

/* Distinct operators who approved phase p of ro. */
uint32_t coord_gate_approvals(const coord_rollout *ro, uint32_t p);

/* Fill v's gate (the current phase's, while it holds the rollout),
 * gates (every phase whose gates were reached) and approvals from ro at
 * now_ms. On failure (SK_ENOMEM) v's gate arrays are NULL. */
int coord_gate_view(const coord_rollout *ro, int64_t now_ms, sk_rollout_view *v,
    sk_err *err) SK_WARN_UNUSED;

#endif

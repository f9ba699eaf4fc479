/* coord_gate_sample: a phase's sampled exit gate — its gate checks and
 * health signals, sampled by the agents of the phase's regions in
 * rounds (a SAMPLE command every sample_interval_ms while the gate runs)
 * and judged here from their GATE_SAMPLE reports:
 *
 *   a check that did not hold, or a health value over its threshold
 *       HALT: the rollout fails, its reason naming the gate, where, the
 *       value seen and the threshold (journaled, and in the report);
 *   an item that erred (no value), or an item with fewer than
 *   min_samples good samples in a database when the soak is served
 *       PAUSE for a human: the rollout's pause (actor "gate"), its reason
 *       saying which gate and why; a resume samples again and gives the
 *       items min_samples + 1 more intervals;
 *   otherwise the gate passes when the soak is served.
 *
 * Nothing here calls coord_gate.c or coord_rollout.c: they call in.
 * Not thread-safe: the coordinator's loop.
 */
#ifndef COORD_GATE_SAMPLE_H
#define COORD_GATE_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_gate.h"
#include "coord_journal.h"
#include "sk_err.h"
#include "sk_wire.h"

/* What a sample decided. */
enum coord_gate_verdict {
	COORD_GATE_GO_ON = 0,
	COORD_GATE_HALT,  /* the rollout must fail with the reason given */
	COORD_GATE_PAUSED /* the rollout was paused for a human (done) */
};

/* Fold GATE_SAMPLE report r from region into ro's current exit gate at
 * now_ms. A failed item sets *verdict HALT and its words in reason (the
 * caller ends the rollout); an erring one pauses ro (journaled: a gate
 * record and the pause) and sets PAUSED. Reports of another phase, from
 * a region not in it, or while the gate does not run are ignored. With
 * replay, only counts (nothing journaled, no verdict). Fails only when
 * the journal cannot be written or memory runs out. */
int coord_gate_sample_fold(coord_rollout *ro, const char *region,
    const sk_report *r, coord_journal *j, int64_t now_ms, bool replay,
    int *verdict, char *reason, size_t len, sk_err *err) SK_WARN_UNUSED;

/* Whether every item of phase p has min_samples good samples in every
 * database of every region of the phase (and every region's http probe);
 * when not, *missing describes the first short item. */
bool coord_gate_samples_complete(
    const coord_rollout *ro, uint32_t p, sk_gate_judged *missing);

/* Pause ro for a human because of phase p's gate (why: what decided,
 * reason: the words), journaled as a PAUSED gate record and a pause by
 * actor "gate". */
int coord_gate_pause(coord_rollout *ro, coord_journal *j, uint32_t p,
    const sk_gate_judged *why, const char *reason, int64_t now_ms,
    sk_err *err) SK_WARN_UNUSED;

/* Start a new sampling round when one is due at now_ms (the current
 * phase's exit gate runs, samples, and ro is not paused); *issued when
 * one started (agents have a SAMPLE command to hear). */
void coord_gate_sample_round(coord_rollout *ro, int64_t now_ms, bool *issued);

/* The SAMPLE command region must hear of ro now into *out (borrowing
 * ro's signed plan), noting it sent; false when none. */
bool coord_gate_sample_command(coord_rollout *ro, const char *region, sk_command *out);

#endif

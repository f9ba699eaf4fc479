/* coord_gate_narrate: the words of a rollout's gates, as events (`skein
 * rollout wait` prints them), derived from the gate state in coord_gate
 * and the phase's gates in the plan. Nothing here changes state.
 * Not thread-safe: the coordinator's loop. */
#ifndef COORD_GATE_NARRATE_H
#define COORD_GATE_NARRATE_H

#include <stdbool.h>
#include <stdint.h>

#include "coord_gate.h"
#include "coord_rollout.h"

/* Phase p (an index into ro->phases) waits at its entry: "phase 2/3 rest
 * waits for approval 1/2 (from alice, bob)" or "... waits for its window:
 * opens Mon 09:00:00 Europe/Berlin". */
void coord_gate_narrate_waiting(coord_rollout *ro, uint32_t p);

/* A gate transition of phase p (enum coord_gate_event), its state
 * already recorded: "phase 1/2 canary: every region succeeded; soaking
 * 30s", "soak of phase canary passed (30s)", ... */
void coord_gate_narrate(coord_rollout *ro, uint32_t p, int event);

/* An approval of a, counted or not (the same operator again). */
void coord_gate_narrate_approval(
    coord_rollout *ro, const coord_approval *a, bool counted);

#endif

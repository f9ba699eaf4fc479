/* coord_replay: what the coordinator rebuilds from its journal at start
 * (coord_journal_open's visitor): rollouts created and their region,
 * phase, report, operator, gate and approval records, the stopped line,
 * and the highest control sequence reserved. Records of a rollout the
 * journal never created are ignored; a rollout whose plan no longer
 * decodes is logged and left out. */
#ifndef COORD_REPLAY_H
#define COORD_REPLAY_H

#include <stdint.h>

#include "coord_journal.h"
#include "coord_line.h"
#include "coord_registry.h"

/* What replay fills; borrowed from the coordinator for the replay. */
typedef struct coord_replay {
	coord_registry *rollouts;
	coord_line *line;
	uint64_t *seq_reserved;
} coord_replay;

/* The visitor to hand coord_journal_open, with a coord_replay as arg. */
extern const coord_journal_visitor coord_replay_visitor;

#endif

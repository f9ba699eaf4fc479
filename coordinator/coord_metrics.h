/* coord_metrics: the coordinator's state and counters in Prometheus'
 * text exposition format (version 0.0.4), what GET /metrics answers.
 * Every family, its type, labels and meaning is listed in
 * docs/operations.md ("Metrics").
 *
 * Cardinality is bounded: per-rollout series (phase and region states,
 * running backfills and moves) are given for every running rollout and
 * the COORD_METRICS_FINISHED_MAX most recently created finished ones;
 * per-region series for each inventory region; no series per database.
 *
 * Not thread-safe: reads state the coordinator's loop owns, so it runs
 * on that loop. Costs one pass over the rollouts' regions and databases.
 */
#ifndef COORD_METRICS_H
#define COORD_METRICS_H

#include <stdint.h>

#include "coord_agents.h"
#include "coord_counters.h"
#include "coord_journal.h"
#include "coord_registry.h"
#include "sk_err.h"
#include "sk_strbuf.h"

#define COORD_METRICS_FINISHED_MAX 5

/* What the metrics are made of; all borrowed. journal may be NULL (no
 * fsync histogram observations then: it is rendered empty). */
typedef struct coord_metrics_src {
	const coord_registry *rollouts;
	const coord_agents *agents;
	const coord_counters *counters;
	const coord_journal *journal;
	int64_t now_ms; /* wall clock: who counts as connected */
} coord_metrics_src;

/* Append the metrics of src to out. Fails only with SK_ENOMEM (out->oom);
 * out then holds a partial text the caller discards (sk_strbuf_fini). */
int coord_metrics_render(
    const coord_metrics_src *src, sk_strbuf *out, sk_err *err) SK_WARN_UNUSED;

#endif

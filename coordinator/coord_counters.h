/* coord_counters: what the coordinator counts as it runs, for /metrics
 * (coord_metrics renders them): messages refused by socket and reason,
 * each region's steps (applied, failed, how long they took, their lock
 * waits, backfill rows and throttled time, tenant-move bytes), and the
 * histograms they need. Counters start at zero with the process, as
 * Prometheus expects of a counter; states and figures a restart must see
 * are the rollouts' (journaled), not these.
 *
 * Not thread-safe: owned by the coordinator's loop.
 */
#ifndef COORD_COUNTERS_H
#define COORD_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"
#include "sk_key.h"
#include "sk_wire.h"

/* Why a message on a socket was refused: the label values of
 * skein_refused_messages_total. */
enum coord_refusal {
	COORD_REFUSED_NONE,
	COORD_REFUSED_BAD_SIGNATURE, /* a pinned signer, a signature that fails */
	COORD_REFUSED_REPLAY,        /* a nonce or sequence seen before */
	COORD_REFUSED_EXPIRED,       /* outside the time window */
	COORD_REFUSED_MISADDRESSED, /* another kind, or another region's */
	COORD_REFUSED_UNKNOWN_KEY,  /* a signer nobody pinned */
	COORD_REFUSED_MALFORMED,    /* bytes that do not decode */
	COORD_REFUSED_OVERSIZED,    /* over the envelope's size limit */
	COORD_REFUSED_FORBIDDEN,    /* an operator beyond their role */
	COORD_REFUSED_MAX
};

enum coord_socket { COORD_SOCK_AGENT, COORD_SOCK_CONTROL, COORD_SOCK_MAX };

/* The label value of refusal r ("bad_signature", ...); "unknown" out of
 * range. */
const char *coord_refusal_name(int r);

/* The label value of socket s ("agent", "control"). */
const char *coord_socket_name(int s);

/* Why sk_envelope_open refused msg (len bytes) with rc, expecting kind
 * signed by a key of pinned: oversized, malformed, misaddressed (another
 * kind of envelope), unknown_key or bad_signature. Peeks only; any bytes. */
int coord_refusal_of_envelope(
    const uint8_t *msg, size_t len, int kind, const sk_keyring *pinned, int rc);

/* A histogram of fixed buckets: counts[i] observations <= bounds[i]
 * (not cumulative; the renderer sums), counts[nbounds] above the last. */
#define COORD_HIST_BUCKETS_MAX 16
typedef struct coord_hist {
	const double *bounds; /* ascending, static */
	size_t nbounds;       /* at most COORD_HIST_BUCKETS_MAX */
	uint64_t counts[COORD_HIST_BUCKETS_MAX + 1];
	uint64_t count;
	double sum;
} coord_hist;

/* Empty h over the buckets of a step's duration in seconds (0.1 s to an
 * hour) or of an fsync's in seconds (100 µs to 1 s). */
void coord_hist_init_step(coord_hist *h);
void coord_hist_init_fsync(coord_hist *h);

/* Count one observation of v. */
void coord_hist_observe(coord_hist *h, double v);

/* One region's steps, counted from its agent's reports as they arrive
 * (replayed reports are not counted again). */
typedef struct coord_region_counters {
	uint64_t steps_applied;  /* STEP_FINISHED */
	uint64_t steps_failed;   /* STEP_FAILED */
	coord_hist step_seconds; /* each finished step's duration */
	uint64_t lock_waits;     /* lock timeouts of ended steps */
	int64_t lock_wait_ms;    /* ... and the time spent in them */
	uint64_t backfill_rows;  /* rows changed by finished backfill steps */
	int64_t throttled_ms;    /* finished backfills' throttled time */
	uint64_t move_bytes;     /* bytes copied by finished tenant moves */
} coord_region_counters;

typedef struct coord_counters {
	uint64_t refused[COORD_SOCK_MAX][COORD_REFUSED_MAX];
	coord_region_counters *regions; /* one per inventory region */
	size_t nregions;
} coord_counters;

/* Set c up for nregions regions (their counters zero). SK_ENOMEM; c is
 * then empty and coord_counters_fini accepts it. */
int coord_counters_init(coord_counters *c, size_t nregions, sk_err *err) SK_WARN_UNUSED;

/* Free c's regions. Accepts NULL. */
void coord_counters_fini(coord_counters *c);

/* Count a refusal on socket for reason. c NULL: no-op. */
void coord_counters_refused(coord_counters *c, int socket, int reason);

/* Count report r, new from the agent of region number iregion (its
 * inventory index): an ended step, its duration, lock waits, rows and
 * bytes. Other events and an index out of range: no-op. */
void coord_counters_report(coord_counters *c, size_t iregion, const sk_report *r);

#endif

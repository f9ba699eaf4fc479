/* coord_counters: the coordinator's counters and histograms (see the
 * header). Plain arithmetic on the loop's own memory: counting costs a
 * few adds per report, nothing is allocated after init. */
#include "coord_counters.h"

#include <stdlib.h>
#include <string.h>

#include "sk_envelope.h"

static const char *const refusal_names[COORD_REFUSED_MAX] = {
	[COORD_REFUSED_NONE] = "none",
	[COORD_REFUSED_BAD_SIGNATURE] = "bad_signature",
	[COORD_REFUSED_REPLAY] = "replay",
	[COORD_REFUSED_EXPIRED] = "expired",
	[COORD_REFUSED_MISADDRESSED] = "misaddressed",
	[COORD_REFUSED_UNKNOWN_KEY] = "unknown_key",
	[COORD_REFUSED_MALFORMED] = "malformed",
	[COORD_REFUSED_OVERSIZED] = "oversized",
	[COORD_REFUSED_FORBIDDEN] = "forbidden",
};

/* Seconds: a DDL step takes milliseconds, a backfill an hour. */
static const double step_bounds[] = { 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
	600, 1800, 3600 };
/* Seconds: an fsync on a local SSD takes well under a millisecond; one
 * over 100 ms stalls every agent's report behind it. */
static const double fsync_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1 };

const char *
coord_refusal_name(int r)
{
	if (r < 0 || r >= COORD_REFUSED_MAX)
		return "unknown";
	return refusal_names[r];
}

const char *
coord_socket_name(int s)
{
	return s == COORD_SOCK_AGENT ? "agent" :
	    s == COORD_SOCK_CONTROL  ? "control" :
				       "unknown";
}

int
coord_refusal_of_envelope(
    const uint8_t *msg, size_t len, int kind, const sk_keyring *pinned, int rc)
{
	uint8_t *payload = NULL, id[SK_KEY_ID_LEN];
	size_t plen = 0;
	int got = 0;

	if (len > SK_ENVELOPE_MAX)
		return COORD_REFUSED_OVERSIZED;
	if (rc != SK_ECRYPTO && rc != SK_EREFUSED)
		return COORD_REFUSED_MALFORMED;
	if (sk_envelope_peek(&payload, &plen, &got, id, msg, len, NULL) != SK_OK)
		return COORD_REFUSED_MALFORMED;
	free(payload);
	if (got != kind)
		return COORD_REFUSED_MISADDRESSED;
	if (sk_keyring_find(pinned, id) == NULL)
		return COORD_REFUSED_UNKNOWN_KEY;
	return COORD_REFUSED_BAD_SIGNATURE;
}

static void
hist_init(coord_hist *h, const double *bounds, size_t n)
{
	memset(h, 0, sizeof(*h));
	h->bounds = bounds;
	h->nbounds = n < COORD_HIST_BUCKETS_MAX ? n : COORD_HIST_BUCKETS_MAX;
}

void
coord_hist_init_step(coord_hist *h)
{
	hist_init(h, step_bounds, sizeof(step_bounds) / sizeof(step_bounds[0]));
}

void
coord_hist_init_fsync(coord_hist *h)
{
	hist_init(h, fsync_bounds, sizeof(fsync_bounds) / sizeof(fsync_bounds[0]));
}

void
coord_hist_observe(coord_hist *h, double v)
{
	size_t i = 0;

	while (i < h->nbounds && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += v;
}

int
coord_counters_init(coord_counters *c, size_t nregions, sk_err *err)
{
	memset(c, 0, sizeof(*c));
	if (nregions == 0)
		return SK_OK;
	c->regions = calloc(nregions, sizeof(*c->regions));
	if (c->regions == NULL)
		return sk_err_set(err, SK_ENOMEM, "set up metrics: out of memory");
	c->nregions = nregions;
	for (size_t i = 0; i < nregions; i++)
		coord_hist_init_step(&c->regions[i].step_seconds);
	return SK_OK;
}

void
coord_counters_fini(coord_counters *c)
{
	if (c == NULL)
		return;
	free(c->regions);
	c->regions = NULL;
	c->nregions = 0;
}

void
coord_counters_refused(coord_counters *c, int socket, int reason)
{
	if (c == NULL || socket < 0 || socket >= COORD_SOCK_MAX ||
	    reason <= 0 || reason >= COORD_REFUSED_MAX)
		return;
	c->refused[socket][reason]++;
}

void
coord_counters_report(coord_counters *c, size_t iregion, const sk_report *r)
{
	coord_region_counters *rc;

	if (c == NULL || iregion >= c->nregions)
		return;
	if (r->event != SK_EV_STEP_FINISHED && r->event != SK_EV_STEP_FAILED)
		return;
	rc = &c->regions[iregion];
	if (r->event == SK_EV_STEP_FAILED) {
		rc->steps_failed++;
	} else {
		rc->steps_applied++;
		coord_hist_observe(&rc->step_seconds,
		    r->duration_ms > 0 ? (double)r->duration_ms / 1000.0 : 0.0);
		/* A backfill's rows are the rows it changed; a move's are
		 * its copy's, counted as bytes. */
		if (r->has_move && r->move.bytes > 0)
			rc->move_bytes += (uint64_t)r->move.bytes;
		else if (r->batch > 0 && r->rows > 0)
			rc->backfill_rows += (uint64_t)r->rows;
		if (r->throttled_ms > 0)
			rc->throttled_ms += r->throttled_ms;
	}
	rc->lock_waits += r->lock_waits;
	if (r->lock_wait_ms > 0)
		rc->lock_wait_ms += r->lock_wait_ms;
}

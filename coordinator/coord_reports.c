/* coord_reports: the reports a rollout keeps for its execution record
 * (`skein rollout report`): encoded in one arena, in arrival order, with
 * a small index for spotting resends, and the backups among them that
 * its status shows. A kept report costs its encoded size (a few hundred
 * bytes) plus an index entry. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord_narrate.h"
#include "coord_rollout.h"
#include "sk_log.h"
#include "sk_wire.h"

/* How far back to look for a resent report of the same region: an agent
 * sends at most a few hundred reports per message, so a resend is always
 * among the region's latest. */
#define DUPLICATE_WINDOW 2048

bool
coord_rollout_report_is_duplicate(
    const coord_rollout *ro, const char *region, const sk_report *r)
{
	const coord_region_run *rr = coord_rollout_region(ro, region);
	size_t k, seen = 0;

	if (rr == NULL || rr->last_kept == 0)
		return false;
	/* Sequence numbers rise within an agent's boot: anything above the
	 * last kept one is new. Lower ones are resends or a new boot. */
	if (r->seq > ro->kept[rr->last_kept - 1].seq)
		return false;
	for (k = rr->last_kept; k != 0 && seen < DUPLICATE_WINDOW; seen++) {
		const coord_kept *e = &ro->kept[k - 1];

		if (e->seq == r->seq && e->at_ms == r->at_ms && e->event == r->event)
			return true;
		k = e->prev;
	}
	return false;
}

static bool
grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t cap2 = *cap ? *cap : 64;
	void *n;

	if (need <= *cap)
		return true;
	while (cap2 < need)
		cap2 *= 2;
	n = realloc(*p, cap2 * size);
	if (n == NULL)
		return false;
	*p = n;
	*cap = cap2;
	return true;
}

static void
drop_report(coord_rollout *ro)
{
	if (ro->reports_dropped++ == 0)
		coord_rollout_event(ro, NULL,
		    "reports: %zu kept, the most a rollout keeps; later reports "
		    "are counted, not kept",
		    ro->nkept);
}

void
coord_rollout_keep_report(coord_rollout *ro, const char *region, const sk_report *r)
{
	coord_region_run *rr = coord_rollout_region(ro, region);
	sk_region_report rep;
	uint8_t *buf = NULL;
	size_t len = 0;
	coord_kept *e;
	sk_err err;

	if (rr == NULL)
		return;
	/* Progress and gate samples (one per item, database and round of a
	 * soak) may not crowd out the outcomes. */
	if (ro->nkept >= COORD_REPORTS_MAX ||
	    ((r->event == SK_EV_PROGRESS || r->event == SK_EV_GATE_SAMPLE) &&
		ro->nkept >= COORD_REPORTS_MAX / 2)) {
		drop_report(ro);
		return;
	}
	memset(&rep, 0, sizeof(rep));
	snprintf(rep.region, sizeof(rep.region), "%s", region);
	rep.report = *r;
	if (sk_region_report_encode(&rep, &buf, &len, &err) != SK_OK ||
	    !grow((void **)&ro->arena, &ro->arena_cap, ro->arena_len + len, 1) ||
	    !grow((void **)&ro->kept, &ro->kept_cap, ro->nkept + 1, sizeof(*ro->kept))) {
		free(buf);
		drop_report(ro);
		return;
	}
	memcpy(ro->arena + ro->arena_len, buf, len);
	free(buf);
	e = &ro->kept[ro->nkept++];
	e->off = ro->arena_len;
	e->len = (uint32_t)len;
	e->seq = r->seq;
	e->at_ms = r->at_ms;
	e->event = r->event;
	e->prev = rr->last_kept;
	rr->last_kept = ro->nkept;
	ro->arena_len += len;
}

int
coord_rollout_reports(
    const coord_rollout *ro, sk_region_report **out, size_t *n, sk_err *err)
{
	sk_region_report *a;
	size_t m = 0;

	*out = NULL;
	*n = 0;
	if (ro->nkept == 0)
		return SK_OK;
	a = malloc(ro->nkept * sizeof(*a));
	if (a == NULL)
		return sk_err_set(err, SK_ENOMEM,
		    "report of rollout %s: out of memory for %zu reports",
		    ro->id, ro->nkept);
	for (size_t i = 0; i < ro->nkept; i++) {
		sk_err derr;

		/* Encoded by us: decoding cannot fail short of a bug; skip
		 * rather than lose the rest. */
		if (sk_region_report_decode(ro->arena + ro->kept[i].off,
			ro->kept[i].len, &a[m], &derr) == SK_OK)
			m++;
		else
			sk_warn("report of rollout %s: kept report %zu: %s",
			    ro->id, i, derr.msg);
	}
	*out = a;
	*n = m;
	return SK_OK;
}

int
coord_rollout_backups(
    const coord_rollout *ro, sk_backup_view **out, size_t *n, sk_err *err)
{
	sk_backup_view *a;
	size_t m = 0, want = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < ro->nkept; i++)
		want += ro->kept[i].event == SK_EV_BACKUP;
	if (want == 0)
		return SK_OK;
	if (want > COORD_VIEW_BACKUPS_MAX)
		want = COORD_VIEW_BACKUPS_MAX;
	a = calloc(want, sizeof(*a));
	if (a == NULL)
		return sk_err_set(err, SK_ENOMEM,
		    "backups of rollout %s: out of memory", ro->id);
	for (size_t i = 0; i < ro->nkept && m < want; i++) {
		sk_region_report rr;
		sk_err derr;

		if (ro->kept[i].event != SK_EV_BACKUP)
			continue;
		if (sk_region_report_decode(ro->arena + ro->kept[i].off,
			ro->kept[i].len, &rr, &derr) != SK_OK) {
			sk_warn("backups of rollout %s: kept report %zu: %s",
			    ro->id, i, derr.msg);
			continue;
		}
		if (!rr.report.has_backup)
			continue;
		snprintf(a[m].region, sizeof(a[m].region), "%s", rr.region);
		snprintf(a[m].database, sizeof(a[m].database), "%s", rr.report.database);
		snprintf(a[m].path, sizeof(a[m].path), "%s", rr.report.backup.path);
		a[m].size = rr.report.backup.size;
		a[m].at_ms = rr.report.at_ms;
		m++;
	}
	if (m == 0) {
		free(a);
		return SK_OK;
	}
	*out = a;
	*n = m;
	return SK_OK;
}

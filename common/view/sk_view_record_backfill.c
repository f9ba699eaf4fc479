/* sk_view_record_backfill: what the record says of a backfill beside what
 * every step has: its rate over its run, and the time it paused by
 * reason, parsed from the agent's "reason=ms,..." (throttled_by). The
 * Markdown and JSON printers show them. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sk_view_record.h"
#include "sk_plan.h"

bool
sk_rec_step_is_backfill(const sk_rec_step *st)
{
	static const char *const ran[] = { "applied", "failed", "started" };
	bool backfill = st->kind == SK_STEP_BACKFILL || st->kind == SK_STEP_EXPAND ||
	    (st->kind == 0 && (st->batches > 0 || st->throttled_by != NULL));

	if (!backfill || st->result == NULL)
		return false;
	for (size_t i = 0; i < sizeof(ran) / sizeof(ran[0]); i++)
		if (strcmp(st->result, ran[i]) == 0)
			return true;
	return false;
}

int64_t
sk_rec_backfill_ms(const sk_rec_step *st)
{
	if (st->end_ms > 0)
		return st->duration_ms >= 0 ? st->duration_ms : -1;
	if (st->start_ms > 0 && st->progress_ms >= st->start_ms)
		return st->progress_ms - st->start_ms;
	return -1;
}

double
sk_rec_backfill_rate(const sk_rec_step *st)
{
	int64_t ms = sk_rec_backfill_ms(st);

	if (ms <= 0 || st->rows <= 0)
		return 0;
	return (double)st->rows * 1000.0 / (double)ms;
}

/* Whether [s, s + n) is a reason's name. */
static bool
reason_ok(const char *s, size_t n)
{
	if (n == 0 || n >= sizeof(((sk_rec_throttle *)0)->reason))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* [s, s + n) as milliseconds into *ms: digits only, below 2^63. */
static bool
ms_ok(const char *s, size_t n, int64_t *ms)
{
	int64_t v = 0;

	if (n == 0 || n > 18)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ms = v;
	return true;
}

size_t
sk_rec_throttles_parse(const char *by, sk_rec_throttle *out, size_t max)
{
	size_t n = 0;

	for (const char *p = by != NULL ? by : ""; *p != '\0' && n < max;) {
		size_t len = strcspn(p, ","), klen;
		const char *eq = memchr(p, '=', len);
		int64_t ms;
		bool seen = false;

		if (eq != NULL) {
			klen = (size_t)(eq - p);
			for (size_t i = 0; i < n; i++)
				seen |= strlen(out[i].reason) == klen &&
				    memcmp(out[i].reason, p, klen) == 0;
			if (!seen && reason_ok(p, klen) &&
			    ms_ok(eq + 1, len - klen - 1, &ms)) {
				memcpy(out[n].reason, p, klen);
				out[n].reason[klen] = '\0';
				out[n].ms = ms;
				n++;
			}
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return n;
}

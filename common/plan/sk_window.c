/* sk_window: a phase window's arithmetic in its own time zone. The C
 * library converts local time only in the process's zone, so each call
 * sets TZ to the window's and restores it; mktime() with tm_isdst -1
 * resolves daylight saving (a time skipped by a spring-forward lands
 * after the gap). */
#include "sk_window.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sk_util.h"

typedef struct tz_saved {
	char *old; /* NULL: TZ was unset */
} tz_saved;

static void
tz_enter(tz_saved *s, const char *tz)
{
	const char *old = getenv("TZ");

	s->old = old != NULL ? sk_strdup(old) : NULL;
	setenv("TZ", tz != NULL && tz[0] != '\0' ? tz : "UTC", 1);
	tzset();
}

static void
tz_leave(tz_saved *s)
{
	if (s->old != NULL)
		setenv("TZ", s->old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(s->old);
}

/* Whether day (0 mon .. 6 sun) is one w lists; every day when none. */
static bool
day_listed(const sk_window *w, int day)
{
	if (w->ndays == 0)
		return true;
	for (size_t i = 0; i < w->ndays; i++)
		if (sk_weekday_parse(w->days[i]) == day)
			return true;
	return false;
}

/* tm_wday (0 sun) as our weekday (0 mon). */
static int
weekday(const struct tm *tm)
{
	return (tm->tm_wday + 6) % 7;
}

static bool
open_at(const sk_window *w, const struct tm *tm, int from, int until)
{
	int d = weekday(tm);
	int s = tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;

	if (w->from == NULL)
		return day_listed(w, d);
	if (from < until)
		return day_listed(w, d) && s >= from && s < until;
	/* Across midnight: the evening of a listed day, or the morning
	 * after one. */
	return (day_listed(w, d) && s >= from) ||
	    (day_listed(w, (d + 6) % 7) && s < until);
}

void
sk_window_eval(const sk_window *w, int64_t now_ms, bool *open, int64_t *opens_ms)
{
	time_t now = (time_t)(now_ms / 1000);
	int from = 0, until = 0;
	struct tm tm;
	tz_saved saved;

	*open = true;
	*opens_ms = 0;
	if (!sk_window_set(w))
		return;
	if (w->from != NULL &&
	    (!sk_clock_parse(w->from, &from) || !sk_clock_parse(w->until, &until)))
		return; /* decode refuses these; never hold a phase on them */
	tz_enter(&saved, w->tz);
	localtime_r(&now, &tm);
	*open = open_at(w, &tm, from, until);
	for (int k = 0; !*open && k <= 8; k++) {
		struct tm c = tm;
		time_t t;

		c.tm_mday += k;
		c.tm_hour = from / 3600;
		c.tm_min = (from / 60) % 60;
		c.tm_sec = from % 60;
		c.tm_isdst = -1;
		t = mktime(&c);
		if (t == (time_t)-1 || t <= now)
			continue;
		/* mktime normalized c: its weekday is the candidate's. */
		if (!day_listed(w, weekday(&c)))
			continue;
		*opens_ms = (int64_t)t * 1000;
		break;
	}
	tz_leave(&saved);
}

void
sk_window_local(int64_t at_ms, const char *tz, char *buf, size_t len)
{
	time_t t = (time_t)(at_ms / 1000);
	struct tm tm;
	tz_saved saved;
	char when[32];

	tz_enter(&saved, tz);
	localtime_r(&t, &tm);
	if (strftime(when, sizeof(when), "%a %H:%M:%S", &tm) == 0)
		when[0] = '\0';
	tz_leave(&saved);
	snprintf(buf, len, "%s %s", when, tz != NULL && tz[0] != '\0' ? tz : "UTC");
}

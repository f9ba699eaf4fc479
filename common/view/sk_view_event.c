/* sk_view_event: one event of a rollout as JSON, the object the HTTP
 * event stream sends as an `event: log` message's data and `skein rollout
 * wait --json` prints one a line (docs/operations.md, "Event objects"). */
#include <stdio.h>
#include <time.h>

#include "sk_view.h"

json_t *
sk_view_event_json(const sk_event_view *e)
{
	char ts[32];
	time_t t = (time_t)(e->at_ms / 1000);
	struct tm tm;

	ts[0] = '\0';
	if (e->at_ms > 0 && gmtime_r(&t, &tm) != NULL)
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* Events carry their region and words; the step is in the words
	 * (step is "" for now). */
	return json_pack("{s:I,s:s,s:s,s:s,s:s}", "seq", (json_int_t)e->seq,
	    "time", ts, "region", e->region, "step", "", "message", e->text);
}

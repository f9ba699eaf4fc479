/* sk_view_agents: every region's agent as the coordinator sees it, one
 * object each (docs/operations.md, "Agents"), for `skein agents --json`
 * and GET /api/v1/regions. */
#include "sk_view.h"

#include <time.h>

/* "2026-12-03T21:52:35Z", or null for 0. */
static json_t *
rfc3339(int64_t ms)
{
	char buf[32];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *
agent_json(const sk_agent_view *a)
{
	json_t *o = json_object(), *running = json_array();
	int bad = o == NULL || running == NULL;

	for (size_t k = 0; !bad && k < a->nrunning; k++)
		bad |= json_array_append_new(running, json_string(a->running[k]));
	if (bad) {
		json_decref(o);
		json_decref(running);
		return NULL;
	}
	bad |= json_object_set_new(o, "region", json_string(a->region));
	bad |= json_object_set_new(o, "connected", json_boolean(a->connected));
	bad |= json_object_set_new(o, "last_seen", rfc3339(a->last_seen_ms));
	bad |= json_object_set_new(o, "last_seen_unix_ms",
	    a->last_seen_ms != 0 ? json_integer(a->last_seen_ms) : json_null());
	bad |= json_object_set_new(o, "silent_ms", json_integer(a->silent_ms));
	bad |= json_object_set_new(o, "window_ms", json_integer(a->window_ms));
	bad |= json_object_set_new(o, "version", json_string(a->version));
	bad |= json_object_set_new(o, "databases", json_integer(a->ndatabases));
	bad |= json_object_set_new(o, "running", running);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
sk_view_agents_json(const sk_agent_view *v, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < n; i++) {
		json_t *o = agent_json(&v[i]);

		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* cli_decision: the words of a rollout's safeguards and of who set them
 * aside. Status and the record both print these lines, and scripts grep
 * them: reword with care. */
#include "cli_decision.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sk_view_mode.h"

/* "NAME (key K)", or "NAME (unsigned)" for a command the coordinator took
 * unsigned (insecure_local). */
static void
who(const sk_rollout_view *v, char *buf, size_t len)
{
	const char *name = v->started_by[0] != '\0' ? v->started_by : "unknown";

	if (v->started_by_key[0] != '\0')
		snprintf(buf, len, "%s (key %s)", name, v->started_by_key);
	else
		snprintf(buf, len, "%s (unsigned)", name);
}

void
cli_decision_backup(const sk_rollout_view *v, char *buf, size_t len)
{
	char by[2 * SK_NAME_MAX + 16];

	if (!sk_view_mode_of(v->mode)->undoes) {
		snprintf(buf, len, "%s", "");
		return;
	}
	who(v, by, sizeof(by));
	if (v->no_backup && v->plan_no_rollback_backup)
		snprintf(buf, len,
		    "skipped: --no-backup by %s; the plan says rollback_backup: "
		    "false too",
		    by);
	else if (v->no_backup)
		snprintf(buf, len, "skipped: --no-backup by %s", by);
	else if (v->plan_no_rollback_backup)
		snprintf(buf, len, "skipped: the plan says rollback_backup: false");
	else
		snprintf(buf, len, "taken in each database before its first revert");
}

void
cli_decision_reapply(const sk_rollout_view *v, char *buf, size_t len)
{
	char by[2 * SK_NAME_MAX + 16];

	if (!v->reapply) {
		snprintf(buf, len, "%s", "");
		return;
	}
	who(v, by, sizeof(by));
	snprintf(buf, len, "--reapply by %s after rollout %s of the plan was rolled back",
	    by, v->reapply_of);
}

void
cli_decision_pause(const sk_rollout_view *v, char *buf, size_t len)
{
	time_t t = (time_t)(v->paused_ms / 1000);
	struct tm tm;
	char at[32] = "?";

	if (!v->paused) {
		snprintf(buf, len, "%s", "");
		return;
	}
	if (gmtime_r(&t, &tm) != NULL)
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(buf, len, "by %s (%s%s) at %s%s%s",
	    v->paused_by[0] != '\0' ? v->paused_by : "unknown",
	    v->paused_by_key[0] != '\0' ? "key " : "unsigned", v->paused_by_key,
	    at, v->pause_reason[0] != '\0' ? ": " : "", v->pause_reason);
}

void
cli_decision_tune(const sk_rollout_view *v, char *buf, size_t len)
{
	if (!v->has_tune)
		snprintf(buf, len, "%s", "");
	else
		sk_tune_format(&v->tune, buf, len);
}

/* cli_decision: the words of a rollout's safeguards and of who set them
 * aside. Status and the record both print these lines, and scripts grep
 * them: reword with care. */
#include "cli_decision.h"

#include <stdio.h>
#include <string.h>

#include "cli_mode.h"

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

bool
cli_decision_backup_skipped(const sk_rollout_view *v)
{
	return cli_mode_of(v->mode)->undoes &&
	    (v->no_backup || v->plan_no_rollback_backup);
}

void
cli_decision_backup(const sk_rollout_view *v, char *buf, size_t len)
{
	char by[2 * SK_NAME_MAX + 16];

	if (!cli_mode_of(v->mode)->undoes) {
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

int
cli_decision_json(json_t *obj, const sk_rollout_view *v)
{
	json_t *b = json_null(), *r = json_null();
	int bad = 0;

	if (cli_mode_of(v->mode)->undoes) {
		b = json_object();
		bad |= json_object_set_new(
		    b, "skipped", json_boolean(cli_decision_backup_skipped(v)));
		bad |= json_object_set_new(b, "skipped_by",
		    json_string(v->no_backup           ? "--no-backup" :
			    v->plan_no_rollback_backup ? "rollback_backup: false" :
							 ""));
		bad |= json_object_set_new(b, "operator",
		    json_string(v->no_backup ? v->started_by : ""));
		bad |= json_object_set_new(b, "operator_key",
		    json_string(v->no_backup ? v->started_by_key : ""));
	}
	if (v->reapply) {
		r = json_object();
		bad |= json_object_set_new(r, "of_rollout", json_string(v->reapply_of));
		bad |= json_object_set_new(r, "operator", json_string(v->started_by));
		bad |= json_object_set_new(
		    r, "operator_key", json_string(v->started_by_key));
	}
	bad |= json_object_set_new(obj, "backup_before_revert", b);
	bad |= json_object_set_new(obj, "reapply", r);
	return bad ? -1 : 0;
}

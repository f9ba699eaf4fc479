/* sk_view_mode: the rows (sk_view_mode.h). The verdict words are part of the record's and the
 * rehearsal's output, which scripts grep: never reword one. */
#include "sk_view_mode.h"

#include <stddef.h>
#include <string.h>

#include "sk_wire.h"

static const sk_view_mode_row rows[SK_MODE_MAX] = {
	[SK_MODE_APPLY] = {
		.mode = SK_MODE_APPLY,
		.title = "apply",
		.halted = "Halted",
		.failed_because = "Failed because",
		.verdict = { "applied", "failed", "incomplete" },
	},
	[SK_MODE_REHEARSE] = {
		.mode = SK_MODE_REHEARSE,
		.label = "rehearsal",
		.verdicts = true,
		.title = "rehearsal (every change rolled back)",
		.halted = "Blocked",
		.failed_because = "Blocked because",
		.verdict = { "READY", "BLOCKED", "no verdict" },
	},
	[SK_MODE_ROLLBACK] = {
		.mode = SK_MODE_ROLLBACK,
		.label = "rollback",
		.undoes = true,
		.steps_as_run = true,
		.title = "rollback",
		.halted = "Halted",
		.failed_because = "Failed because",
		.verdict = { "rolled back", "rollback failed", "incomplete" },
	},
};

const sk_view_mode_row *
sk_view_mode_of(int mode)
{
	if (mode < 0 || mode >= SK_MODE_MAX || rows[mode].title == NULL)
		return &rows[SK_MODE_APPLY];
	return &rows[mode];
}

int
sk_view_state_outcome(const char *state)
{
	static const struct {
		const char *name;
		int outcome;
	} states[] = {
		{ "succeeded", SK_VIEW_OUT_OK },
		{ "ready", SK_VIEW_OUT_OK },
		{ "failed", SK_VIEW_OUT_FAILED },
		{ "blocked", SK_VIEW_OUT_FAILED },
		{ "refused", SK_VIEW_OUT_FAILED },
	};

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(states[i].name, state) == 0)
			return states[i].outcome;
	return SK_VIEW_OUT_NONE;
}

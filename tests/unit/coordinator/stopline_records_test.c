/* stopline_records_test: the journal records of the line stop and of a
 * scoped pause (LineStop; OperatorControl with regions and line) come
 * back from replay with every field, and a record of an unknown kind is
 * skipped; and sk_view_waits_for, the words `skein rollout list` shows for
 * what a rollout waits for (a stopped line, a pause, region pauses, the
 * regions running, an abort still ending). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_rollout_int.h"
#include "coord_journal.h"
#include "coord_testfix.h"
#include "sk_wire.h"

typedef struct seen {
	int lines, opctls;
	bool stopped;
	char actor[SK_NAME_MAX], key[SK_NAME_MAX], reason[SK_REASON_MAX];
	char except[4][SK_ID_MAX];
	size_t nexcept;
	char regions[4][SK_NAME_MAX];
	size_t nregions;
	bool line;
	int kind;
} seen;

static void
on_line(void *arg, const coord_line_record *rec)
{
	seen *s = arg;

	s->lines++;
	s->stopped = rec->stopped;
	snprintf(s->actor, sizeof(s->actor), "%s", rec->actor);
	snprintf(s->key, sizeof(s->key), "%s", rec->actor_key);
	snprintf(s->reason, sizeof(s->reason), "%s", rec->reason);
	s->nexcept = rec->nexcept;
	for (size_t i = 0; i < rec->nexcept && i < 4; i++)
		snprintf(s->except[i], SK_ID_MAX, "%s", rec->except[i]);
}

static void
on_opctl(void *arg, const char *id, const coord_opctl_record *rec)
{
	seen *s = arg;

	(void)id;
	s->opctls++;
	s->kind = rec->kind;
	s->line = rec->line;
	s->nregions = rec->nregions;
	for (size_t i = 0; i < rec->nregions && i < 4; i++)
		snprintf(s->regions[i], SK_NAME_MAX, "%s", rec->regions[i]);
}

static void
test_line_and_scoped_records_replay_with_every_field(void **state)
{
	static const coord_journal_visitor v = { .line = on_line, .opctl = on_opctl };
	const char *except[] = { "r-a", "r-b" };
	const char *regions[] = { "af", "ksa" };
	coord_line_record lr = { .stopped = true,
		.actor = "otto",
		.actor_key = "abcd",
		.reason = "incident 7",
		.except = except,
		.nexcept = 2,
		.at_ms = 1000 };
	coord_opctl_record or = { .kind = SK_CMD_PAUSE,
		.actor = "otto",
		.actor_key = "abcd",
		.reason = "lag",
		.at_ms = 2000,
		.regions = regions,
		.nregions = 2 };
	char dir[] = "/tmp/sk-stopline-records-XXXXXX";
	coord_journal *j = NULL;
	seen s;
	sk_err err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(coord_journal_open(dir, NULL, NULL, &j, &err), SK_OK);
	assert_int_equal(coord_journal_line(j, &lr, &err), SK_OK);
	assert_int_equal(coord_journal_opctl(j, "r-a", & or, &err), SK_OK);
	coord_journal_close(j);
	memset(&s, 0, sizeof(s));
	coord_testfix_journal_visit(dir, &v, &s);
	assert_int_equal(s.lines, 1);
	assert_true(s.stopped);
	assert_string_equal(s.actor, "otto");
	assert_string_equal(s.key, "abcd");
	assert_string_equal(s.reason, "incident 7");
	assert_int_equal(s.nexcept, 2);
	assert_string_equal(s.except[1], "r-b");
	assert_int_equal(s.opctls, 1);
	assert_int_equal(s.kind, SK_CMD_PAUSE);
	assert_false(s.line);
	assert_int_equal(s.nregions, 2);
	assert_string_equal(s.regions[1], "ksa");

	/* A lift, and a line pause: the same way back. */
	lr.stopped = false;
	lr.nexcept = 0;
	or.nregions = 0;
	or.line = true;
	assert_int_equal(coord_journal_open(dir, NULL, NULL, &j, &err), SK_OK);
	assert_int_equal(coord_journal_line(j, &lr, &err), SK_OK);
	assert_int_equal(coord_journal_opctl(j, "r-a", & or, &err), SK_OK);
	coord_journal_close(j);
	memset(&s, 0, sizeof(s));
	coord_testfix_journal_visit(dir, &v, &s);
	assert_int_equal(s.lines, 2);
	assert_false(s.stopped);
	assert_int_equal(s.nexcept, 0);
	assert_int_equal(s.opctls, 2);
	assert_true(s.line);
	assert_int_equal(s.nregions, 0);
	assert_int_equal(coord_testfix_rmtree(dir), 0);
}

/* A view of one phase of af (state a) and in (state b). */
static void
view(sk_rollout_view *v, sk_phase_view *ph, sk_region_view *rv,
    const char *state, const char *a, const char *b)
{
	memset(v, 0, sizeof(*v));
	memset(ph, 0, sizeof(*ph));
	memset(rv, 0, 2 * sizeof(*rv));
	snprintf(v->state, sizeof(v->state), "%s", state);
	snprintf(rv[0].name, sizeof(rv[0].name), "af");
	snprintf(rv[0].state, sizeof(rv[0].state), "%s", a);
	snprintf(rv[1].name, sizeof(rv[1].name), "in");
	snprintf(rv[1].state, sizeof(rv[1].state), "%s", b);
	snprintf(ph->name, sizeof(ph->name), "canary");
	ph->regions = rv;
	ph->nregions = 2;
	v->phases = ph;
	v->nphases = 1;
}

static void
test_waits_for_says_what_a_rollout_waits_for(void **state)
{
	sk_rollout_view v;
	sk_phase_view ph;
	sk_region_view rv[2];
	sk_region_pause_view rp;
	char buf[512];

	(void)state;
	view(&v, &ph, rv, "running", "running", "succeeded");
	sk_view_waits_for(&v, buf, sizeof(buf));
	assert_string_equal(buf, "regions running: af");

	v.paused = true;
	snprintf(v.paused_by, sizeof(v.paused_by), "otto");
	snprintf(v.pause_reason, sizeof(v.pause_reason), "lag");
	sk_view_waits_for(&v, buf, sizeof(buf));
	assert_string_equal(buf, "pause by otto: lag");
	v.paused_by_line = true;
	sk_view_waits_for(&v, buf, sizeof(buf));
	assert_string_equal(buf, "stopped line: by otto: lag");

	view(&v, &ph, rv, "running", "running", "pending");
	memset(&rp, 0, sizeof(rp));
	snprintf(rp.region, sizeof(rp.region), "in");
	snprintf(rp.by, sizeof(rp.by), "vera");
	v.region_pauses = &rp;
	v.nregion_pauses = 1;
	sk_view_waits_for(&v, buf, sizeof(buf));
	assert_string_equal(buf, "pause in in by vera; regions running: af");

	/* A gate's wait comes first. */
	view(&v, &ph, rv, "running", "succeeded", "succeeded");
	v.has_gate = true;
	snprintf(v.gate.waiting_for, sizeof(v.gate.waiting_for), "soak");
	v.gate.soak_served_ms = 12000;
	v.gate.soak_ms = 30000;
	sk_view_waits_for(&v, buf, sizeof(buf));
	assert_string_equal(buf, "soak 12/30 s");
	snprintf(v.gate.waiting_for, sizeof(v.gate.waiting_for), "approval");
	v.gate.approvals = 1;
	v.gate.approvals_needed = 2;
	sk_view_waits_for(&v, buf, sizeof(buf));
	assert_string_equal(buf, "approval 1/2");

	view(&v, &ph, rv, "aborted", "running", "pending");
	sk_view_waits_for(&v, buf, sizeof(buf));
	assert_string_equal(buf, "aborted; still ending its step: af");
	view(&v, &ph, rv, "aborted", "failed", "pending");
	sk_view_waits_for(&v, buf, sizeof(buf));
	assert_string_equal(buf, "aborted");
	view(&v, &ph, rv, "succeeded", "succeeded", "succeeded");
	sk_view_waits_for(&v, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_and_scoped_records_replay_with_every_field),
		cmocka_unit_test(test_waits_for_says_what_a_rollout_waits_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

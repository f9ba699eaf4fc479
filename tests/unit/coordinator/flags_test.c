/* flags_test: a rollback's flags-first pass in the coordinator
 * (coord_flags.c) over a real journal: every region is wanted at once
 * with flags_only and no phase region before every region flipped; a
 * region that waits for its database keeps the reverts waiting and shows
 * why; the last flip starts the phases in reverse; a failed flip ends the
 * rollback failed with no phase started; replay of the reports rebuilds
 * the pass; a plan without flag steps and an apply have no pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "coord_flags.h"
#include "coord_journal.h"
#include "coord_rollout.h"
#include "coord_testfix.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_wire.h"

#define NOW_MS 1714550400000

static const uint8_t signed_plan[] = { 'e', 'n', 'v', 0x00, 0x01, 0xfe };
static const char *const regions3[] = { "af", "in", "ksa" };

/* Phases af, in, ksa (one region each); a SQL step and, with_flag, a
 * flag step. */
static sk_plan *
make_plan(bool with_flag)
{
	static const char *const names[] = { "canary", "rest", "last" };
	sk_plan *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->id = coord_testfix_strdup("plan-f1");
	p->name = coord_testfix_strdup("flags");
	p->created_unix = NOW_MS / 1000;
	p->expires_unix = NOW_MS / 1000 + 86400;
	p->phases = calloc(3, sizeof(*p->phases));
	p->regions = calloc(3, sizeof(*p->regions));
	assert_non_null(p->phases);
	assert_non_null(p->regions);
	for (size_t i = 0; i < 3; i++) {
		p->phases[i].name = coord_testfix_strdup(names[i]);
		p->phases[i].regions = calloc(1, sizeof(char *));
		assert_non_null(p->phases[i].regions);
		p->phases[i].regions[0] = coord_testfix_strdup(regions3[i]);
		p->phases[i].nregions = 1;
		p->regions[i] = coord_testfix_strdup(regions3[i]);
	}
	p->nphases = p->nregions = 3;
	p->steps = calloc(2, sizeof(*p->steps));
	assert_non_null(p->steps);
	p->nsteps = with_flag ? 2 : 1;
	p->steps[0].id = coord_testfix_strdup("0001_table");
	p->steps[0].kind = SK_STEP_SQL;
	p->steps[0].sql = coord_testfix_strdup("CREATE TABLE t (id int);");
	p->steps[0].revert = coord_testfix_strdup("DROP TABLE t;");
	if (with_flag) {
		p->steps[1].id = coord_testfix_strdup("0002_on");
		p->steps[1].kind = SK_STEP_FLAG;
		p->steps[1].flag = calloc(1, sizeof(sk_flag));
		assert_non_null(p->steps[1].flag);
		p->steps[1].flag->name = coord_testfix_strdup("feature.x");
		p->steps[1].flag->value = coord_testfix_strdup("true");
	}
	return p;
}

typedef coord_testfix_dir fixture;

static int
setup(void **state)
{
	return coord_testfix_dir_setup(state, "flags");
}

/* A rollout of mode over every region, started as the server does. */
static coord_rollout *
start(fixture *f, int mode, bool with_flag)
{
	coord_origin origin = { .mode = mode,
		.of_rollout = "ro-0",
		.only_regions = regions3,
		.nonly_regions = 3 };
	sk_err err;

	assert_int_equal(coord_journal_open(f->dir, NULL, NULL, &f->j, &err), SK_OK);
	assert_int_equal(coord_journal_created(f->j, "rb-1", NOW_MS,
			     signed_plan, sizeof(signed_plan), &origin, &err),
	    SK_OK);
	assert_int_equal(coord_rollout_create("rb-1", make_plan(with_flag), signed_plan,
			     sizeof(signed_plan), &origin, NOW_MS, &f->ro, &err),
	    SK_OK);
	assert_int_equal(coord_rollout_start(f->ro, f->j, NOW_MS, &err), SK_OK);
	return f->ro;
}

static sk_report
mk(int event, bool flags_only, int code, const char *msg)
{
	sk_report r;

	memset(&r, 0, sizeof(r));
	r.seq = 1;
	r.event = event;
	r.flags_only = flags_only;
	r.attempt = 3;
	snprintf(r.rollout_id, sizeof(r.rollout_id), "rb-1");
	snprintf(r.database, sizeof(r.database), "app");
	if (code != SK_OK) {
		r.error.code = code;
		snprintf(r.error.msg, sizeof(r.error.msg), "%s", msg);
	}
	return r;
}

static bool
send(fixture *f, const char *region, int event, bool flags_only, int code,
    const char *msg)
{
	sk_report r = mk(event, flags_only, code, msg);
	bool changed = false;
	sk_err err;

	assert_int_equal(
	    coord_rollout_report(f->ro, region, &r, f->j, &changed, &err), SK_OK);
	return changed;
}

static void
dispatch(fixture *f, const char *region)
{
	sk_err err;

	assert_int_equal(
	    coord_rollout_dispatched(f->ro, region, f->j, NOW_MS + 1, &err), SK_OK);
}

static const sk_region_view *
flags_view_of(sk_rollout_view *v, const char *region)
{
	for (size_t i = 0; i < v->nflags_first; i++)
		if (strcmp(v->flags_first[i].name, region) == 0)
			return &v->flags_first[i];
	fail_msg("no flags-first region %s", region);
	return NULL;
}

static void
test_every_region_flips_first_and_a_waiting_one_holds_the_reverts(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start(f, SK_MODE_ROLLBACK, true);
	sk_rollout_view v;
	sk_err err;

	assert_true(coord_flags_pending(ro));
	/* All at once, though the rollback's first phase is ksa's. */
	for (size_t i = 0; i < 3; i++) {
		assert_true(coord_rollout_wants(ro, regions3[i]));
		dispatch(f, regions3[i]);
		assert_int_equal(ro->regions[i].state, COORD_R_PENDING);
		assert_int_equal(ro->regions[i].flags_state, COORD_R_DISPATCHED);
	}
	assert_false(send(f, "af", SK_EV_PLAN_ACCEPTED, true, SK_OK, ""));
	assert_false(send(f, "af", SK_EV_PLAN_SUCCEEDED, true, SK_OK, ""));
	assert_false(send(f, "in", SK_EV_PLAN_SUCCEEDED, true, SK_OK, ""));
	assert_false(send(f, "ksa", SK_EV_DB_WAITING, true, SK_ECONN,
	    "connect to database app: connection refused"));
	/* The flipped regions are not wanted again; no phase starts. */
	assert_false(coord_rollout_wants(ro, "af"));
	assert_false(coord_rollout_wants(ro, "in"));
	assert_true(coord_rollout_wants(ro, "ksa"));
	assert_true(coord_flags_pending(ro));
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(ro->regions[i].state, COORD_R_PENDING);
	assert_int_equal(coord_rollout_view(ro, 0, &v, &err), SK_OK);
	assert_int_equal(v.nflags_first, 3);
	assert_string_equal(flags_view_of(&v, "af")->state, "succeeded");
	assert_string_equal(flags_view_of(&v, "ksa")->state, "running");
	assert_non_null(
	    strstr(flags_view_of(&v, "ksa")->detail, "waiting (attempt 3)"));
	assert_non_null(strstr(flags_view_of(&v, "ksa")->detail, "connection refused"));
	sk_rollout_view_fini(&v);

	/* A report of the full pass now changes nothing. */
	assert_false(send(f, "ksa", SK_EV_PLAN_SUCCEEDED, false, SK_OK, ""));
	assert_int_equal(ro->regions[2].state, COORD_R_PENDING);

	/* ksa flips: the phases start, last first (ksa), flags_only off. */
	assert_true(send(f, "ksa", SK_EV_PLAN_SUCCEEDED, true, SK_OK, ""));
	assert_false(coord_flags_pending(ro));
	assert_true(coord_rollout_wants(ro, "ksa"));
	assert_false(coord_rollout_wants(ro, "af"));
	dispatch(f, "ksa");
	assert_int_equal(ro->regions[2].state, COORD_R_DISPATCHED);
	/* A late report of the pass is ignored. */
	assert_false(send(f, "af", SK_EV_PLAN_FAILED, true, SK_ESQL, "late"));
	assert_int_equal(ro->state, COORD_RO_RUNNING);
}

static void
test_a_failed_flip_ends_the_rollback_with_no_revert(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start(f, SK_MODE_ROLLBACK, true);

	for (size_t i = 0; i < 3; i++)
		dispatch(f, regions3[i]);
	assert_false(send(f, "af", SK_EV_PLAN_SUCCEEDED, true, SK_OK, ""));
	assert_false(send(f, "ksa", SK_EV_PLAN_FAILED, true, SK_ESQL,
	    "restore flag feature.x: relation \"nowhere\" does not exist"));
	/* Not over until every region answered: in still flips. */
	assert_int_equal(ro->state, COORD_RO_RUNNING);
	assert_false(send(f, "in", SK_EV_PLAN_SUCCEEDED, true, SK_OK, ""));
	assert_int_equal(ro->state, COORD_RO_FAILED);
	assert_non_null(strstr(ro->reason, "flags first"));
	assert_non_null(strstr(ro->reason, "ksa: restore flag feature.x"));
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(ro->regions[i].state, COORD_R_PENDING);
		assert_false(coord_rollout_wants(ro, regions3[i]));
	}
}

static void
test_replay_of_the_reports_rebuilds_the_pass(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start(f, SK_MODE_ROLLBACK, true), *again = NULL;
	static const coord_origin origin = { .mode = SK_MODE_ROLLBACK,
		.of_rollout = "ro-0",
		.only_regions = regions3,
		.nonly_regions = 3 };
	sk_report r;
	sk_err err;

	(void)ro;
	assert_int_equal(coord_rollout_create("rb-1", make_plan(true), signed_plan,
			     sizeof(signed_plan), &origin, NOW_MS, &again, &err),
	    SK_OK);
	r = mk(SK_EV_PLAN_SUCCEEDED, true, SK_OK, "");
	coord_rollout_replay_report(again, "af", &r);
	coord_rollout_replay_report(again, "in", &r);
	assert_true(coord_flags_pending(again));
	assert_false(coord_flags_wants(again, "af"));
	assert_true(coord_flags_wants(again, "ksa"));
	coord_rollout_replay_report(again, "ksa", &r);
	assert_false(coord_flags_pending(again));
	assert_int_equal(again->regions[2].state, COORD_R_PENDING);
	coord_rollout_destroy(again);
}

static void
test_no_pass_without_flag_steps_or_for_an_apply(void **state)
{
	fixture *f = *state;
	coord_rollout *ro = start(f, SK_MODE_ROLLBACK, false);
	sk_rollout_view v;
	sk_err err;

	assert_false(coord_flags_pending(ro));
	assert_false(coord_rollout_wants(ro, "af")); /* ksa's phase is first */
	assert_true(coord_rollout_wants(ro, "ksa"));
	assert_int_equal(coord_rollout_view(ro, 0, &v, &err), SK_OK);
	assert_int_equal(v.nflags_first, 0);
	sk_rollout_view_fini(&v);
	coord_rollout_destroy(f->ro);
	f->ro = NULL;
	coord_journal_close(f->j);
	f->j = NULL;
	ro = start(f, SK_MODE_APPLY, true);
	assert_false(coord_flags_pending(ro));
	assert_true(coord_rollout_wants(ro, "af"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_every_region_flips_first_and_a_waiting_one_holds_the_reverts,
		    setup, coord_testfix_dir_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_failed_flip_ends_the_rollback_with_no_revert, setup,
		    coord_testfix_dir_teardown),
		cmocka_unit_test_setup_teardown(test_replay_of_the_reports_rebuilds_the_pass,
		    setup, coord_testfix_dir_teardown),
		cmocka_unit_test_setup_teardown(test_no_pass_without_flag_steps_or_for_an_apply,
		    setup, coord_testfix_dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

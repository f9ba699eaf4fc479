/* mode_test: the modes and states as rows of data: every mode the wire
 * knows has a complete row, its end states are end states, a rehearsal
 * names its regions' outcomes its own way while the journal keeps one
 * state, and which modes may not run beside each other over one plan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coord_mode.h"
#include "coord_state.h"
#include "sk_wire.h"

static void
test_mode_every_wire_mode_has_a_complete_row(void **state)
{
	(void)state;
	for (int mode = 0; mode < SK_MODE_MAX; mode++) {
		const coord_mode *m = coord_mode_of(mode);

		assert_non_null(m);
		assert_int_equal(m->mode, mode);
		assert_non_null(m->noun);
		assert_non_null(m->region_succeeded);
		assert_non_null(m->region_failed);
		assert_non_null(m->verdict_ok);
		assert_non_null(m->verdict_failed);
		assert_non_null(m->region_done);
		assert_non_null(m->db_done);
		assert_true(m->ok_state > COORD_RO_RUNNING && m->ok_state < COORD_RO_MAX);
		assert_true(m->failed_state > COORD_RO_RUNNING &&
		    m->failed_state < COORD_RO_MAX);
		assert_int_not_equal(m->ok_state, m->failed_state);
		if (m->pacing == COORD_PACE_ALL_AT_ONCE)
			assert_non_null(m->start_note);
	}
	assert_null(coord_mode_of(-1));
	assert_null(coord_mode_of(SK_MODE_MAX));
}

static void
test_mode_rehearsal_names_outcomes_its_way(void **state)
{
	const coord_mode *apply = coord_mode_of(SK_MODE_APPLY);
	const coord_mode *reh = coord_mode_of(SK_MODE_REHEARSE);

	(void)state;
	assert_string_equal(
	    coord_mode_region_state_name(reh, COORD_R_SUCCEEDED), "ready");
	assert_string_equal(coord_mode_region_state_name(reh, COORD_R_FAILED), "blocked");
	assert_string_equal(
	    coord_mode_region_state_name(reh, COORD_R_REFUSED), "refused");
	assert_string_equal(
	    coord_mode_region_state_name(apply, COORD_R_SUCCEEDED), "succeeded");
	assert_string_equal(coord_rollout_state_name(reh->ok_state), "ready");
	assert_string_equal(coord_rollout_state_name(reh->failed_state), "blocked");
	assert_string_equal(coord_rollout_state_name(apply->failed_state), "failed");
}

static void
test_mode_only_apply_and_undo_may_not_run_together(void **state)
{
	const coord_mode *apply = coord_mode_of(SK_MODE_APPLY);
	const coord_mode *reh = coord_mode_of(SK_MODE_REHEARSE);
	const coord_mode *rb = coord_mode_of(SK_MODE_ROLLBACK);

	(void)state;
	assert_true(coord_mode_conflict(apply, rb));
	assert_true(coord_mode_conflict(rb, apply));
	assert_false(coord_mode_conflict(apply, apply));
	assert_false(coord_mode_conflict(rb, rb));
	assert_false(coord_mode_conflict(reh, apply));
	assert_false(coord_mode_conflict(rb, reh));
	assert_true(apply->startable && reh->startable && !rb->startable);
}

static void
test_state_rows_say_what_a_state_means(void **state)
{
	(void)state;
	for (int s = 0; s < COORD_R_MAX; s++) {
		assert_string_not_equal(coord_region_state_name(s), "unknown");
		/* Only an ended run can have ended well. */
		if (coord_region_ok(s))
			assert_true(coord_region_done(s));
	}
	assert_true(coord_region_ok(COORD_R_SUCCEEDED));
	assert_true(coord_region_done(COORD_R_REFUSED));
	assert_false(coord_region_reached(COORD_R_REFUSED));
	assert_false(coord_region_reached(COORD_R_PENDING));
	assert_true(coord_region_reached(COORD_R_DISPATCHED));
	assert_false(coord_region_done(COORD_R_MAX));
	assert_string_equal(coord_region_state_name(COORD_R_MAX), "unknown");
	for (int s = 0; s < COORD_RO_MAX; s++)
		assert_int_equal(
		    coord_rollout_state_parse(coord_rollout_state_name(s)), s);
	assert_int_equal(coord_rollout_state_parse("halfway"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_every_wire_mode_has_a_complete_row),
		cmocka_unit_test(test_mode_rehearsal_names_outcomes_its_way),
		cmocka_unit_test(test_mode_only_apply_and_undo_may_not_run_together),
		cmocka_unit_test(test_state_rows_say_what_a_state_means),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

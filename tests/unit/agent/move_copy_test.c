/* Unit tests of a parallel copy's order (agent/move/move_copy.c,
 * move_copy_next): a table starts only once the moved tables it
 * references committed, unless the sessions skip foreign keys; a cycle
 * does not hang the workers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "move_int.h"

/* tenants(0) <- orders(1) <- lines(2); notes(3) references tenants. */
#define N 4
static bool deps[N * N];

static void
chain(void)
{
	memset(deps, 0, sizeof(deps));
	deps[1 * N + 0] = true; /* orders -> tenants */
	deps[2 * N + 1] = true; /* lines -> orders */
	deps[3 * N + 0] = true; /* notes -> tenants */
}

static void
test_a_child_waits_for_its_parent_to_commit(void **state)
{
	bool started[N] = { false }, committed[N] = { false };

	(void)state;
	chain();
	/* Only tenants can start; while it is in flight the others wait. */
	assert_int_equal(move_copy_next(N, deps, true, started, committed), 0);
	started[0] = true;
	assert_int_equal(
	    move_copy_next(N, deps, true, started, committed), MOVE_COPY_WAIT);
	/* Started is not committed: orders still waits. */
	committed[0] = true;
	/* Now orders and notes are both ready; the first in order goes. */
	assert_int_equal(move_copy_next(N, deps, true, started, committed), 1);
	started[1] = true;
	/* lines waits for orders, notes does not: two at once. */
	assert_int_equal(move_copy_next(N, deps, true, started, committed), 3);
	started[3] = true;
	assert_int_equal(
	    move_copy_next(N, deps, true, started, committed), MOVE_COPY_WAIT);
	committed[3] = true;
	assert_int_equal(
	    move_copy_next(N, deps, true, started, committed), MOVE_COPY_WAIT);
	committed[1] = true;
	assert_int_equal(move_copy_next(N, deps, true, started, committed), 2);
	started[2] = true;
	assert_int_equal(
	    move_copy_next(N, deps, true, started, committed), MOVE_COPY_NONE);
}

static void
test_replica_sessions_take_any_order(void **state)
{
	bool started[N] = { false }, committed[N] = { false };

	(void)state;
	chain();
	/* Unordered: every table is ready at once, in the description's
	 * order, none committed. */
	for (int i = 0; i < N; i++) {
		assert_int_equal(
		    move_copy_next(N, deps, false, started, committed), i);
		started[i] = true;
	}
	assert_int_equal(
	    move_copy_next(N, deps, false, started, committed), MOVE_COPY_NONE);
}

static void
test_a_cycle_starts_the_first_table_rather_than_hang(void **state)
{
	bool started[2] = { false }, committed[2] = { false };
	bool cyc[4] = { false, true, true, false }; /* 0 -> 1, 1 -> 0 */

	(void)state;
	/* Nothing in flight and nothing ready: the first goes (its commit
	 * then fails on the keys, as one transaction would). */
	assert_int_equal(move_copy_next(2, cyc, true, started, committed), 0);
	started[0] = true;
	/* 0 in flight: 1 waits for it rather than start beside it. */
	assert_int_equal(
	    move_copy_next(2, cyc, true, started, committed), MOVE_COPY_WAIT);
	committed[0] = true;
	assert_int_equal(move_copy_next(2, cyc, true, started, committed), 1);
}

static void
test_a_self_reference_is_not_a_dependency(void **state)
{
	bool started[1] = { false }, committed[1] = { false };
	bool self[1] = { true };

	(void)state;
	assert_int_equal(move_copy_next(1, self, true, started, committed), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_child_waits_for_its_parent_to_commit),
		cmocka_unit_test(test_replica_sessions_take_any_order),
		cmocka_unit_test(test_a_cycle_starts_the_first_table_rather_than_hang),
		cmocka_unit_test(test_a_self_reference_is_not_a_dependency),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

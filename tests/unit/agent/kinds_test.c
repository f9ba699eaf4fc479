/* Unit tests for which kind runs a step (agent_kinds.c): every kind the
 * plan library decodes has an agent file (move_tenant among them), and a
 * kind this agent does not know is refused by number before any database
 * is touched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "agent_exec.h"
#include "agent_kinds.h"
#include "sk_plan.h"
#include "sk_wire.h"

static void
test_every_plan_kind_has_an_agent_kind(void **state)
{
	sk_step st = { 0 };
	char why[128];

	(void)state;
	st.id = (char *)"s";
	for (int k = SK_STEP_SQL; k <= SK_STEP_MOVE_TENANT; k++) {
		st.kind = k;
		if (sk_step_kind_name(k) == NULL)
			continue;
		assert_non_null(agent_step_kind_of(&st));
	}
	st.kind = SK_STEP_MOVE_TENANT;
	assert_string_equal(agent_step_kind_of(&st)->name, "move_tenant");
	st.kind = 99;
	assert_null(agent_step_kind_of(&st));
	agent_step_kind_refusal(&st, why, sizeof(why));
	assert_string_equal(why, "this agent does not know step kind 99");
}

static void
test_agent_refuses_a_plan_with_an_unknown_kind_before_any_step(void **state)
{
	static const int modes[] = { SK_MODE_APPLY, SK_MODE_REHEARSE, SK_MODE_ROLLBACK };
	sk_step steps[2] = { { 0 } };
	sk_plan plan = { 0 };
	agent_exec_opts opts = { 0 };
	sk_err err;

	(void)state;
	steps[0].id = (char *)"s1";
	steps[0].kind = SK_STEP_SQL;
	steps[0].sql = (char *)"SELECT 1";
	steps[1].id = (char *)"later";
	steps[1].kind = 99;
	plan.name = (char *)"p";
	plan.steps = steps;
	plan.nsteps = 2;
	opts.region = "af";
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		opts.mode = modes[i];
		assert_int_equal(agent_exec_run(&plan, &opts, &err), SK_EINVAL);
		assert_string_equal(err.msg,
		    "apply plan p: step later is of kind unknown: this agent does not know "
		    "step kind 99");
		assert_string_equal(err.hint, "upgrade skein-agent");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_plan_kind_has_an_agent_kind),
		cmocka_unit_test(
		    test_agent_refuses_a_plan_with_an_unknown_kind_before_any_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for which kind runs a step (agent_kinds.c): a kind the plan
 * library decodes but this agent has no file for (move_tenant, issue 11)
 * is refused by name before any database is touched. */
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
test_move_tenant_has_no_agent_kind(void **state)
{
	sk_step st = { 0 };
	char why[128];

	(void)state;
	st.id = (char *)"mv";
	st.kind = SK_STEP_MOVE_TENANT;
	assert_null(agent_step_kind_of(&st));
	agent_step_kind_refusal(&st, why, sizeof(why));
	assert_string_equal(why, "move_tenant steps are not run by this agent version");
	st.kind = 99;
	agent_step_kind_refusal(&st, why, sizeof(why));
	assert_string_equal(why, "this agent does not know step kind 99");
	/* The kinds this agent runs are still found. */
	st.kind = SK_STEP_FLAG;
	assert_non_null(agent_step_kind_of(&st));
}

static void
test_agent_refuses_a_plan_with_a_move_before_any_step(void **state)
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
	steps[1].id = (char *)"mv";
	steps[1].kind = SK_STEP_MOVE_TENANT;
	plan.name = (char *)"p";
	plan.steps = steps;
	plan.nsteps = 2;
	opts.region = "af";
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		opts.mode = modes[i];
		assert_int_equal(agent_exec_run(&plan, &opts, &err), SK_EINVAL);
		assert_string_equal(err.msg,
		    "apply plan p: step mv is of kind move_tenant: move_tenant "
		    "steps are not run by this agent version");
		assert_string_equal(err.hint, "upgrade skein-agent");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_move_tenant_has_no_agent_kind),
		cmocka_unit_test(test_agent_refuses_a_plan_with_a_move_before_any_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

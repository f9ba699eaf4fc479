/* Unit tests for what flags add to the wire: a FLAG report's flip and
 * flags_only round trip (every tenant and one tenant, a revert to
 * absent), a command's flags_only, a rollback view's flags-first
 * regions, and a report naming two tenants in one flip refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sk_wire.h"

static void
test_flag_report_round_trips(void **state)
{
	sk_region_report in, out;
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(&in, 0, sizeof(in));
	snprintf(in.region, sizeof(in.region), "af");
	in.report.event = SK_EV_FLAG;
	snprintf(in.report.step_id, sizeof(in.report.step_id), "pilots_on");
	in.report.has_flag = true;
	snprintf(in.report.flag.name, sizeof(in.report.flag.name), "feature.x");
	snprintf(in.report.flag.tenant, sizeof(in.report.flag.tenant), "hotel-1");
	in.report.flag.old_absent = true;
	snprintf(in.report.flag.new_value, sizeof(in.report.flag.new_value), "true");
	in.report.flags_only = true;
	assert_int_equal(sk_region_report_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_region_report_decode(buf, len, &out, &err), SK_OK);
	free(buf);
	assert_int_equal(out.report.event, SK_EV_FLAG);
	assert_string_equal(sk_event_name(SK_EV_FLAG), "flag");
	assert_true(out.report.has_flag);
	assert_true(out.report.flags_only);
	assert_string_equal(out.report.flag.name, "feature.x");
	assert_false(out.report.flag.every_tenant);
	assert_string_equal(out.report.flag.tenant, "hotel-1");
	assert_true(out.report.flag.old_absent);
	assert_false(out.report.flag.new_absent);
	assert_string_equal(out.report.flag.new_value, "true");

	/* The every-tenant row, reverted to absent. */
	in.report.flag.every_tenant = true;
	in.report.flag.old_absent = false;
	snprintf(in.report.flag.old_value, sizeof(in.report.flag.old_value), "true");
	in.report.flag.new_absent = true;
	in.report.flag.new_value[0] = '\0';
	in.report.flag.reverted = true;
	in.report.flags_only = false;
	assert_int_equal(sk_region_report_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_region_report_decode(buf, len, &out, &err), SK_OK);
	free(buf);
	assert_true(out.report.flag.every_tenant);
	assert_true(out.report.flag.new_absent);
	assert_true(out.report.flag.reverted);
	assert_string_equal(out.report.flag.old_value, "true");
	assert_false(out.report.flags_only);

	/* A report without a flip has none. */
	memset(&in.report, 0, sizeof(in.report));
	in.report.event = SK_EV_STEP_FINISHED;
	assert_int_equal(sk_region_report_encode(&in, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_region_report_decode(buf, len, &out, &err), SK_OK);
	free(buf);
	assert_false(out.report.has_flag);
}

static void
test_command_flags_only_and_view_flags_first_round_trip(void **state)
{
	sk_control c, back;
	sk_command cmd;
	sk_cli_response resp, rback;
	sk_rollout_view view;
	sk_region_view regions[2];
	uint8_t *buf = NULL;
	size_t len = 0;
	sk_err err;

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = SK_CMD_RUN_PLAN;
	cmd.mode = SK_MODE_ROLLBACK;
	cmd.flags_only = true;
	snprintf(cmd.rollout_id, sizeof(cmd.rollout_id), "r-1");
	c.commands = &cmd;
	c.ncommands = 1;
	snprintf(c.region, sizeof(c.region), "af");
	assert_int_equal(sk_control_encode(&c, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_control_decode(buf, len, &back, &err), SK_OK);
	free(buf);
	assert_int_equal(back.ncommands, 1);
	assert_true(back.commands[0].flags_only);
	sk_control_fini(&back);

	memset(&view, 0, sizeof(view));
	memset(regions, 0, sizeof(regions));
	snprintf(view.id, sizeof(view.id), "r-2");
	view.mode = SK_MODE_ROLLBACK;
	snprintf(regions[0].name, sizeof(regions[0].name), "af");
	snprintf(regions[0].state, sizeof(regions[0].state), "succeeded");
	snprintf(regions[1].name, sizeof(regions[1].name), "in");
	snprintf(regions[1].state, sizeof(regions[1].state), "running");
	snprintf(regions[1].detail, sizeof(regions[1].detail), "database in down");
	view.flags_first = regions;
	view.nflags_first = 2;
	memset(&resp, 0, sizeof(resp));
	resp.ok = true;
	resp.rollouts = &view;
	resp.nrollouts = 1;
	assert_int_equal(sk_cli_response_encode(&resp, &buf, &len, &err), SK_OK);
	assert_int_equal(sk_cli_response_decode(buf, len, &rback, &err), SK_OK);
	free(buf);
	assert_int_equal(rback.nrollouts, 1);
	assert_int_equal(rback.rollouts[0].nflags_first, 2);
	assert_string_equal(rback.rollouts[0].flags_first[1].name, "in");
	assert_string_equal(rback.rollouts[0].flags_first[1].detail, "database in down");
	assert_string_equal(rback.rollouts[0].flags_first[0].state, "succeeded");
	sk_cli_response_fini(&rback);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flag_report_round_trips),
		cmocka_unit_test(test_command_flags_only_and_view_flags_first_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

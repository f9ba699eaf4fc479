/* view_test: the one JSON schema of a rollout (common/view), which the
 * CLI's --json and the coordinator's HTTP API both print: the list's keys
 * and their order, the line's wrapper, a region's error only when it has
 * one, each region's own databases, what a rollout waits for in words,
 * and a signed plan that cannot be read leaving the record without one. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sk_view.h"
#include "sk_view_record.h"
#include "sk_wire.h"

typedef struct sample {
	sk_region_view regions[2];
	sk_phase_view phase;
	sk_database_view dbs[2];
	sk_rollout_view view;
} sample;

/* r-1 of plan p, phase "all": af running app, ksa failed with 42P01. */
static void
make(sample *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->view.id, sizeof(s->view.id), "r-1");
	snprintf(s->view.plan_id, sizeof(s->view.plan_id), "p-1");
	snprintf(s->view.plan_name, sizeof(s->view.plan_name), "p");
	snprintf(s->view.state, sizeof(s->view.state), "running");
	snprintf(s->view.started_by, sizeof(s->view.started_by), "alice");
	s->view.created_ms = 1000;
	snprintf(s->regions[0].name, sizeof(s->regions[0].name), "af");
	snprintf(s->regions[0].state, sizeof(s->regions[0].state), "running");
	snprintf(s->regions[1].name, sizeof(s->regions[1].name), "ksa");
	snprintf(s->regions[1].state, sizeof(s->regions[1].state), "failed");
	s->regions[1].error.code = SK_ESQL;
	snprintf(s->regions[1].error.sqlstate,
	    sizeof(s->regions[1].error.sqlstate), "42P01");
	snprintf(s->regions[1].error.msg, sizeof(s->regions[1].error.msg),
	    "relation t does not exist");
	snprintf(s->phase.name, sizeof(s->phase.name), "all");
	snprintf(s->phase.state, sizeof(s->phase.state), "running");
	s->phase.regions = s->regions;
	s->phase.nregions = 2;
	s->view.phases = &s->phase;
	s->view.nphases = 1;
	snprintf(s->dbs[0].region, sizeof(s->dbs[0].region), "af");
	snprintf(s->dbs[0].name, sizeof(s->dbs[0].name), "app");
	snprintf(s->dbs[1].region, sizeof(s->dbs[1].region), "in");
	snprintf(s->dbs[1].name, sizeof(s->dbs[1].name), "other");
	s->view.databases = s->dbs;
	s->view.ndatabases = 2;
}

static void
test_list_keys_and_line(void **state)
{
	static const char *const keys[] = { "id", "plan", "plan_id", "mode",
		"state", "phase", "created_ms", "started_by", "waits_for" };
	sample s;
	sk_cli_response resp;
	json_t *o, *item;
	const char *key;
	json_t *value;
	size_t i = 0;

	(void)state;
	make(&s);
	memset(&resp, 0, sizeof(resp));
	o = sk_view_rollout_list_json(&resp);
	assert_true(json_is_array(o) && json_array_size(o) == 0);
	json_decref(o);
	resp.rollouts = &s.view;
	resp.nrollouts = 1;
	o = sk_view_rollout_list_json(&resp);
	assert_true(json_is_array(o) && json_array_size(o) == 1);
	item = json_array_get(o, 0);
	json_object_foreach(item, key, value)
	{
		assert_true(i < sizeof(keys) / sizeof(keys[0]));
		assert_string_equal(key, keys[i++]);
	}
	assert_int_equal(i, sizeof(keys) / sizeof(keys[0]));
	assert_string_equal(json_string_value(json_object_get(item, "phase")), "all");
	assert_string_equal(json_string_value(json_object_get(item, "waits_for")),
	    "regions running: af");
	json_decref(o);
	resp.has_line = true;
	resp.line.stopped = true;
	o = sk_view_rollout_list_json(&resp);
	assert_true(json_is_true(json_object_get(o, "line_stopped")));
	assert_int_equal(json_array_size(json_object_get(o, "rollouts")), 1);
	json_decref(o);
}

static void
test_rollout_regions_errors_databases(void **state)
{
	sample s;
	json_t *o, *regions, *af, *ksa;

	(void)state;
	make(&s);
	o = sk_view_rollout_json(&s.view);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "id")), "r-1");
	assert_true(json_is_null(json_object_get(o, "paused")));
	regions = json_object_get(
	    json_array_get(json_object_get(o, "phases"), 0), "regions");
	af = json_array_get(regions, 0);
	ksa = json_array_get(regions, 1);
	assert_null(json_object_get(af, "error"));
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(ksa, "error"), "sqlstate")),
	    "42P01");
	/* Each region lists its own databases only. */
	assert_int_equal(json_array_size(json_object_get(af, "databases")), 1);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(af, "databases"), 0), "name")),
	    "app");
	assert_int_equal(json_array_size(json_object_get(ksa, "databases")), 0);
	json_decref(o);
}

static void
test_waits_for_in_words(void **state)
{
	sample s;
	char buf[256];

	(void)state;
	make(&s);
	s.view.paused = true;
	snprintf(s.view.paused_by, sizeof(s.view.paused_by), "bob");
	snprintf(s.view.pause_reason, sizeof(s.view.pause_reason), "dinner");
	sk_view_waits_for(&s.view, buf, sizeof(buf));
	assert_string_equal(buf, "pause by bob: dinner");
	s.view.paused = false;
	snprintf(s.view.state, sizeof(s.view.state), "aborted");
	sk_view_waits_for(&s.view, buf, sizeof(buf));
	assert_string_equal(buf, "aborted; still ending its step: af");
	snprintf(s.view.state, sizeof(s.view.state), "succeeded");
	sk_view_waits_for(&s.view, buf, sizeof(buf));
	assert_string_equal(buf, "");
	s.view.current_phase = 1;
	assert_string_equal(sk_view_phase_name(&s.view), "-");
}

static void
test_record_plan_unreadable(void **state)
{
	static const uint8_t garbage[] = { 1, 2, 3, 4, 5 };
	sk_plan *plan = (sk_plan *)garbage;
	sk_err err;

	(void)state;
	assert_int_equal(sk_rec_plan_of(NULL, 0, &plan, &err), SK_OK);
	assert_null(plan);
	plan = (sk_plan *)garbage;
	assert_int_not_equal(
	    sk_rec_plan_of(garbage, sizeof(garbage), &plan, &err), SK_OK);
	assert_null(plan);
	assert_true(err.msg[0] != '\0');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_keys_and_line),
		cmocka_unit_test(test_rollout_regions_errors_databases),
		cmocka_unit_test(test_waits_for_in_words),
		cmocka_unit_test(test_record_plan_unreadable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

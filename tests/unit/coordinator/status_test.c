/* status_test: how `skein rollout status` prints a rollout. A region
 * running several databases gets one line per database that has not
 * ended (its step and what it waits for), under a region line whose
 * detail sums them up; a region with one database keeps its single line;
 * an ended region lists no databases; the header names the mode. */
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
#include "sk_wire.h"

typedef struct sample {
	sk_region_view regions[2];
	sk_phase_view phase;
	sk_database_view dbs[4];
	sk_rollout_view view;
} sample;

static void
add_db(sample *s, size_t i, const char *region, const char *name,
    const char *state, const char *step, uint32_t done, const char *detail)
{
	sk_database_view *d = &s->dbs[i];

	memset(d, 0, sizeof(*d));
	snprintf(d->region, sizeof(d->region), "%s", region);
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->state, sizeof(d->state), "%s", state);
	snprintf(d->step, sizeof(d->step), "%s", step);
	snprintf(d->detail, sizeof(d->detail), "%s", detail);
	d->steps_done = done;
	d->steps_total = 2;
}

/* af runs accounts (waiting for a lock), billing (running) and crm (done);
 * in runs its one database. */
static void
make_sample(sample *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->regions[0].name, sizeof(s->regions[0].name), "af");
	snprintf(s->regions[0].state, sizeof(s->regions[0].state), "running");
	snprintf(s->regions[0].database, sizeof(s->regions[0].database), "billing");
	snprintf(s->regions[0].step, sizeof(s->regions[0].step), "0002_backfill");
	s->regions[0].steps_done = 3;
	s->regions[0].steps_total = 6;
	snprintf(s->regions[0].detail, sizeof(s->regions[0].detail),
	    "1 of 3 databases done, 1 waiting for a lock");
	snprintf(s->regions[1].name, sizeof(s->regions[1].name), "in");
	snprintf(s->regions[1].state, sizeof(s->regions[1].state), "running");
	snprintf(s->regions[1].database, sizeof(s->regions[1].database), "in_app");
	snprintf(s->regions[1].step, sizeof(s->regions[1].step), "0001_add");
	s->regions[1].steps_total = 2;
	snprintf(s->regions[1].detail, sizeof(s->regions[1].detail),
	    "waiting for a lock held by pid 5151 (active)");
	add_db(s, 0, "af", "accounts", "running", "0001_add", 0,
	    "waiting for a lock held by pid 4242 (idle in transaction)");
	s->dbs[0].blocker_pid = 4242;
	add_db(s, 1, "af", "billing", "running", "0002_backfill", 1, "");
	add_db(s, 2, "af", "crm", "done", "0002_backfill", 2, "");
	add_db(s, 3, "in", "in_app", "running", "0001_add", 0,
	    "waiting for a lock held by pid 5151 (active)");
	snprintf(s->phase.name, sizeof(s->phase.name), "all");
	snprintf(s->phase.state, sizeof(s->phase.state), "running");
	s->phase.regions = s->regions;
	s->phase.nregions = 2;
	snprintf(s->view.id, sizeof(s->view.id), "ro-1");
	snprintf(s->view.plan_id, sizeof(s->view.plan_id), "plan-1");
	snprintf(s->view.state, sizeof(s->view.state), "running");
	s->view.phases = &s->phase;
	s->view.nphases = 1;
	s->view.databases = s->dbs;
	s->view.ndatabases = 4;
}

static char *
printed(const sk_rollout_view *v)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	rollout_print_view(out, v, NULL);
	assert_int_equal(fclose(out), 0);
	return text;
}

/* The line of text that starts (after its indent) with word. */
static const char *
line_of(const char *text, const char *word)
{
	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n')) {
		while (*p == '\n' || *p == ' ')
			p++;
		if (strncmp(p, word, strlen(word)) == 0 && p[strlen(word)] == ' ')
			return p;
	}
	return NULL;
}

static bool
line_has(const char *line, const char *what)
{
	const char *end = strchr(line, '\n');
	const char *at = strstr(line, what);

	return at != NULL && (end == NULL || at < end);
}

static void
test_status_lists_each_running_database_under_its_region(void **state)
{
	sample s;
	char *text;
	const char *af, *accounts, *billing;

	(void)state;
	make_sample(&s);
	text = printed(&s.view);
	af = line_of(text, "af");
	accounts = line_of(text, "accounts");
	billing = line_of(text, "billing");
	assert_non_null(af);
	assert_non_null(accounts);
	assert_non_null(billing);
	/* The region line sums up; it does not pick one database. */
	assert_true(line_has(af, "3/6 steps"));
	assert_true(line_has(af, "1 of 3 databases done, 1 waiting for a lock"));
	assert_false(line_has(af, "at billing/"));
	/* Each database that has not ended, in order, under its region. */
	assert_true(af < accounts && accounts < billing);
	assert_true(line_has(accounts, "0/2 steps"));
	assert_true(line_has(accounts, "at 0001_add"));
	assert_true(line_has(accounts,
	    "waiting for a lock held by pid 4242 (idle in transaction)"));
	assert_true(line_has(billing, "1/2 steps"));
	assert_true(line_has(billing, "at 0002_backfill"));
	assert_false(line_has(billing, "waiting"));
	/* A database that is done is not listed. */
	assert_null(line_of(text, "crm"));
	/* A region with one database keeps its single line. */
	assert_non_null(line_of(text, "in"));
	assert_true(line_has(line_of(text, "in"), "at in_app/0001_add"));
	assert_true(line_has(line_of(text, "in"), "pid 5151"));
	assert_null(line_of(text, "in_app"));
	free(text);
}

/* An answer from a coordinator that sends no databases prints as before:
 * the region line names the database and step it last heard of. */
static void
test_status_without_databases_prints_the_region_line(void **state)
{
	sample s;
	char *text;

	(void)state;
	make_sample(&s);
	s.view.databases = NULL;
	s.view.ndatabases = 0;
	text = printed(&s.view);
	assert_true(line_has(line_of(text, "af"), "at billing/0002_backfill"));
	assert_null(line_of(text, "accounts"));
	assert_null(line_of(text, "billing"));
	free(text);
}

/* The header line says which mode the rollout runs in, from the mode's
 * row: nothing for an apply, what it undoes for a rollback; a mode this
 * CLI does not know reads as an apply. */
static void
test_status_marks_a_rollout_with_its_mode(void **state)
{
	static const struct {
		int mode;
		const char *head;
	} cases[] = {
		{ SK_MODE_APPLY, "rollout ro-1  plan" },
		{ SK_MODE_REHEARSE, "rollout ro-1 (rehearsal)  plan" },
		{ SK_MODE_ROLLBACK, "rollout ro-1 (rollback of r-0)  plan" },
		{ SK_MODE_MAX + 3, "rollout ro-1  plan" },
	};
	sample s;

	(void)state;
	make_sample(&s);
	snprintf(s.view.of_rollout, sizeof(s.view.of_rollout), "r-0");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text;

		s.view.mode = cases[i].mode;
		text = printed(&s.view);
		assert_memory_equal(text, cases[i].head, strlen(cases[i].head));
		free(text);
	}
}

/* The text of the line that starts (after its indent) with prefix, to
 * its end; NULL when none. */
static char *
line_starting(const char *text, const char *prefix, char *buf, size_t len)
{
	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n')) {
		const char *end;

		while (*p == '\n' || *p == ' ')
			p++;
		if (strncmp(p, prefix, strlen(prefix)) != 0)
			continue;
		end = strchr(p, '\n');
		snprintf(buf, len, "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
		return buf;
	}
	return NULL;
}

/* A rollback says whether its agents back up before the first revert,
 * and where each backup went, or who skipped it; an apply with
 * --reapply says so and who said it; other rollouts say neither. */
static void
test_status_shows_each_decision_and_who_made_it(void **state)
{
	sk_backup_view backups[2];
	char line[600];
	sample s;
	char *text;

	(void)state;
	make_sample(&s);
	snprintf(s.view.started_by, sizeof(s.view.started_by), "vera");
	snprintf(s.view.started_by_key, sizeof(s.view.started_by_key),
	    "0011223344556677");
	text = printed(&s.view);
	assert_null(strstr(text, "backup before revert"));
	assert_null(strstr(text, "re-applied"));
	free(text);

	/* A rollback that backs up: where each backup went. */
	s.view.mode = SK_MODE_ROLLBACK;
	memset(backups, 0, sizeof(backups));
	snprintf(backups[0].region, sizeof(backups[0].region), "af");
	snprintf(backups[0].database, sizeof(backups[0].database), "app");
	snprintf(backups[0].path, sizeof(backups[0].path), "/b/af_app.dump");
	backups[0].size = 4096;
	snprintf(backups[1].region, sizeof(backups[1].region), "in");
	snprintf(backups[1].database, sizeof(backups[1].database), "app");
	snprintf(backups[1].path, sizeof(backups[1].path), "/b/in_app.dump");
	backups[1].size = 8192;
	s.view.backups = backups;
	s.view.nbackups = 2;
	text = printed(&s.view);
	assert_non_null(
	    line_starting(text, "backup before revert:", line, sizeof(line)));
	assert_string_equal(line,
	    "backup before revert: taken in each database before its first revert");
	assert_non_null(line_starting(text, "af/app:", line, sizeof(line)));
	assert_string_equal(line, "af/app: /b/af_app.dump (4096 bytes)");
	assert_non_null(line_starting(text, "in/app:", line, sizeof(line)));
	assert_string_equal(line, "in/app: /b/in_app.dump (8192 bytes)");
	free(text);

	/* Skipped: by whose --no-backup, or by the plan. */
	s.view.backups = NULL;
	s.view.nbackups = 0;
	s.view.no_backup = true;
	text = printed(&s.view);
	assert_non_null(
	    line_starting(text, "backup before revert:", line, sizeof(line)));
	assert_string_equal(line,
	    "backup before revert: skipped: --no-backup by vera (key "
	    "0011223344556677)");
	free(text);
	s.view.no_backup = false;
	s.view.plan_no_rollback_backup = true;
	text = printed(&s.view);
	assert_non_null(
	    line_starting(text, "backup before revert:", line, sizeof(line)));
	assert_string_equal(line,
	    "backup before revert: skipped: the plan says rollback_backup: false");
	free(text);

	/* An apply with --reapply. */
	s.view.mode = SK_MODE_APPLY;
	s.view.plan_no_rollback_backup = false;
	s.view.reapply = true;
	snprintf(s.view.reapply_of, sizeof(s.view.reapply_of), "r-old");
	text = printed(&s.view);
	assert_null(strstr(text, "backup before revert"));
	assert_non_null(line_starting(text, "re-applied:", line, sizeof(line)));
	assert_string_equal(line,
	    "re-applied: --reapply by vera (key 0011223344556677) after rollout "
	    "r-old of the plan was rolled back");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_lists_each_running_database_under_its_region),
		cmocka_unit_test(test_status_without_databases_prints_the_region_line),
		cmocka_unit_test(test_status_marks_a_rollout_with_its_mode),
		cmocka_unit_test(test_status_shows_each_decision_and_who_made_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

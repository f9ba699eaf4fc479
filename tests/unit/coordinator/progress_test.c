/* progress_test: a region's progress folded from agent reports, as
 * figures and flags: a database waiting for a lock is a hold with its
 * blocker, not a sentence, and it ends when its step does; a region's
 * databases are counted by how they stand; a new run of the plan starts
 * afresh; the tracked databases are bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "coord_progress.h"
#include "sk_err.h"
#include "sk_wire.h"

static sk_report
rep(int event, const char *db, const char *step)
{
	sk_report r;

	memset(&r, 0, sizeof(r));
	r.event = event;
	snprintf(r.database, sizeof(r.database), "%s", db);
	snprintf(r.step_id, sizeof(r.step_id), "%s", step);
	return r;
}

static sk_report
lock_wait(const char *db, const char *step, int32_t pid)
{
	sk_report r = rep(SK_EV_LOCK_WAIT, db, step);

	if (pid > 0) {
		r.nblockers = 1;
		r.blockers[0].pid = pid;
		snprintf(r.blockers[0].state, sizeof(r.blockers[0].state),
		    "idle in transaction");
	}
	return r;
}

static void
note(coord_progress *p, sk_report r)
{
	coord_progress_note(p, &r, 1714550400000);
}

static const coord_db_progress *
db(const coord_progress *p, const char *name)
{
	for (size_t i = 0; i < p->ndbs; i++)
		if (strcmp(p->dbs[i].name, name) == 0)
			return &p->dbs[i];
	fail_msg("no database %s", name);
	return NULL;
}

static void
test_progress_lock_wait_is_a_hold_with_its_blocker_until_the_step_ends(void **state)
{
	coord_progress p;
	coord_db_counts c;

	(void)state;
	coord_progress_init(&p, 2);
	note(&p, rep(SK_EV_PLAN_ACCEPTED, "", ""));
	note(&p, rep(SK_EV_STEP_STARTED, "accounts", "0001_add"));
	note(&p, lock_wait("accounts", "0001_add", 4242));
	assert_int_equal(db(&p, "accounts")->state, COORD_DB_RUNNING);
	assert_int_equal(db(&p, "accounts")->hold.kind, COORD_HOLD_LOCK);
	assert_true(db(&p, "accounts")->hold.has_blocker);
	assert_int_equal(db(&p, "accounts")->hold.blocker_pid, 4242);
	assert_string_equal(
	    db(&p, "accounts")->hold.blocker_state, "idle in transaction");
	assert_int_equal(p.hold.kind, COORD_HOLD_LOCK);
	assert_int_equal(p.hold.blocker_pid, 4242);
	coord_progress_count(&p, &c);
	assert_int_equal(c.locked, 1);

	/* A check or a progress report says nothing about the region's
	 * wait; the database's own progress means it holds its locks. */
	note(&p, rep(SK_EV_CHECK, "accounts", "0001_add"));
	assert_int_equal(p.hold.kind, COORD_HOLD_LOCK);
	assert_int_equal(db(&p, "accounts")->hold.kind, COORD_HOLD_LOCK);

	note(&p, rep(SK_EV_STEP_FINISHED, "accounts", "0001_add"));
	assert_int_equal(db(&p, "accounts")->hold.kind, COORD_HOLD_NONE);
	assert_int_equal(db(&p, "accounts")->steps_done, 1);
	assert_int_equal(p.hold.kind, COORD_HOLD_NONE);
	assert_int_equal(p.steps_done, 1);
	coord_progress_count(&p, &c);
	assert_int_equal(c.locked, 0);

	/* A wait whose blocker the agent could not name is still a wait,
	 * for the database; the region keeps what it knew. */
	note(&p, lock_wait("accounts", "0002_backfill", 0));
	assert_int_equal(db(&p, "accounts")->hold.kind, COORD_HOLD_LOCK);
	assert_false(db(&p, "accounts")->hold.has_blocker);
	assert_int_equal(p.hold.kind, COORD_HOLD_NONE);
	coord_progress_count(&p, &c);
	assert_int_equal(c.locked, 1);
	coord_progress_fini(&p);
}

static void
test_progress_counts_databases_by_how_they_stand(void **state)
{
	coord_progress p;
	coord_db_counts c;
	sk_report r;

	(void)state;
	coord_progress_init(&p, 2);
	coord_progress_set_databases(&p, 5);
	assert_int_equal(p.steps_total, 10);
	coord_progress_set_databases(&p, 0); /* not said: kept */
	assert_int_equal(p.ndatabases, 5);
	note(&p, rep(SK_EV_DB_FINISHED, "a", ""));
	r = rep(SK_EV_DB_FAILED, "b", "0002_backfill");
	r.error.code = SK_ESQL;
	snprintf(r.error.msg, sizeof(r.error.msg), "duplicate key");
	note(&p, r);
	r = rep(SK_EV_DB_WAITING, "c", "");
	snprintf(r.detail, sizeof(r.detail), "too many connections");
	note(&p, r);
	note(&p, lock_wait("d", "0001_add", 77));
	coord_progress_count(&p, &c);
	assert_int_equal(c.total, 5);
	assert_int_equal(c.done, 1);
	assert_int_equal(c.failed, 1);
	assert_int_equal(c.waiting, 1);
	assert_int_equal(c.locked, 1);
	assert_int_equal(db(&p, "b")->hold.kind, COORD_HOLD_FAILED);
	assert_string_equal(db(&p, "b")->hold.cause, "duplicate key");
	assert_int_equal(db(&p, "c")->hold.kind, COORD_HOLD_START);
	assert_string_equal(db(&p, "c")->hold.cause, "too many connections");
	/* The region's last report names its database and step. */
	assert_string_equal(p.database, "d");
	assert_string_equal(p.step, "0001_add");
	coord_progress_fini(&p);
}

static void
test_progress_starts_afresh_when_the_plan_is_accepted_again(void **state)
{
	coord_progress p;

	(void)state;
	coord_progress_init(&p, 2);
	note(&p, rep(SK_EV_STEP_FINISHED, "a", "0001_add"));
	note(&p, rep(SK_EV_STEP_SKIPPED, "b", "0001_add"));
	assert_int_equal(p.ndbs, 2);
	assert_int_equal(p.steps_done, 2);
	note(&p, rep(SK_EV_PLAN_ACCEPTED, "", ""));
	assert_int_equal(p.ndbs, 0);
	assert_int_equal(p.steps_done, 0);
	coord_progress_fini(&p);
}

static void
test_progress_tracks_at_most_the_bound_of_databases(void **state)
{
	coord_progress p;
	char name[SK_NAME_MAX];

	(void)state;
	coord_progress_init(&p, 1);
	for (int i = 0; i < COORD_DATABASES_MAX + 10; i++) {
		snprintf(name, sizeof(name), "db%05d", i);
		note(&p, rep(SK_EV_STEP_FINISHED, name, "0001_add"));
	}
	assert_int_equal(p.ndbs, COORD_DATABASES_MAX);
	/* The region's figures still count every report. */
	assert_int_equal(p.steps_done, COORD_DATABASES_MAX + 10);
	coord_progress_fini(&p);
	coord_progress_fini(&p); /* again: harmless */
	coord_progress_fini(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_progress_lock_wait_is_a_hold_with_its_blocker_until_the_step_ends),
		cmocka_unit_test(test_progress_counts_databases_by_how_they_stand),
		cmocka_unit_test(
		    test_progress_starts_afresh_when_the_plan_is_accepted_again),
		cmocka_unit_test(test_progress_tracks_at_most_the_bound_of_databases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

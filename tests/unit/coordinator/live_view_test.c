/* live_view_test: the live view of `skein rollout wait` (cli_live). Lines
 * cut to the terminal's width (escape codes take no columns, a cut
 * coloured line is reset, a newline in a query does not move the
 * cursor); a lock wait reported again and again is one line when it
 * starts and one when it ends, with its duration; on a terminal the block
 * of phases and regions is erased (cursor up over exactly its lines) and
 * drawn again, and left when the rollout ends; off a terminal no escape
 * code at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_live.h"
#include "sk_util.h"
#include "sk_wire.h"

/* ---- pieces ------------------------------------------------------------- */

static void
test_fit_cuts_to_columns_not_bytes(void **state)
{
	char buf[256];

	(void)state;
	cli_live_fit("abcdefgh", 5, buf, sizeof(buf));
	assert_string_equal(buf, "abcde");
	cli_live_fit("abc", 5, buf, sizeof(buf));
	assert_string_equal(buf, "abc");
	/* Colour codes take no columns; a cut line ends with a reset. */
	cli_live_fit("\033[32mgreen\033[0m and more", 7, buf, sizeof(buf));
	assert_string_equal(buf, "\033[32mgreen\033[0m a\033[0m");
	cli_live_fit("\033[32mok\033[0m", 2, buf, sizeof(buf));
	assert_string_equal(buf, "\033[32mok\033[0m");
	/* A UTF-8 character is one column, never split. */
	cli_live_fit("d\xc3\xa9j\xc3\xa0 vu", 4, buf, sizeof(buf));
	assert_string_equal(buf, "d\xc3\xa9j\xc3\xa0");
	/* Control characters would move the cursor. */
	cli_live_fit("SELECT\n1\t2\r", 20, buf, sizeof(buf));
	assert_string_equal(buf, "SELECT 1 2 ");
	cli_live_fit("abc", 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	/* A buffer too small still ends in a NUL. */
	cli_live_fit("abcdefgh", 100, buf, 4);
	assert_string_equal(buf, "abc");
}

static void
test_lock_event_is_recognised_by_its_words(void **state)
{
	char key[64], what[64];
	unsigned attempt = 0;

	(void)state;
	assert_true(cli_live_lock_event(
	    "af/app: step 0001 waits for a lock (attempt 2): pid 7 (idle, user u) holds it: SELECT 1",
	    key, sizeof(key), what, sizeof(what), &attempt));
	assert_string_equal(key, "af/app");
	assert_string_equal(what, "step 0001");
	assert_int_equal(attempt, 2);
	assert_true(cli_live_lock_event("af/app: phase checks waits for a lock (attempt 1)",
	    key, sizeof(key), what, sizeof(what), &attempt));
	assert_string_equal(what, "phase checks");
	assert_false(cli_live_lock_event("af/app: step 0001 applied in 3ms",
	    key, sizeof(key), what, sizeof(what), &attempt));
	assert_false(cli_live_lock_event("waits for a lock (attempt 1)", key,
	    sizeof(key), what, sizeof(what), &attempt));
	/* The words inside a query, after the first colon, are not a wait's
	 * key. */
	assert_false(cli_live_lock_event("x waits for a lock (attempt 1): af/app: y",
	    key, sizeof(key), what, sizeof(what), &attempt));
}

static void
test_elapsed_reads_short(void **state)
{
	char buf[32];

	(void)state;
	cli_live_elapsed(0, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
	cli_live_elapsed(-5000, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
	cli_live_elapsed(8999, buf, sizeof(buf));
	assert_string_equal(buf, "8s");
	cli_live_elapsed(125000, buf, sizeof(buf));
	assert_string_equal(buf, "2m05s");
	cli_live_elapsed(3720000, buf, sizeof(buf));
	assert_string_equal(buf, "1h02m");
}

/* ---- a rollout ---------------------------------------------------------- */

typedef struct sample {
	sk_rollout_view v;
	sk_phase_view phases[2];
	sk_region_view regions[3];
	sk_event_view events[8];
} sample;

static void
region(sk_region_view *r, const char *name, const char *state)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->state, sizeof(r->state), "%s", state);
	r->steps_total = 2;
}

static void
make_sample(sample *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->v.id, sizeof(s->v.id), "r-abc");
	snprintf(s->v.plan_id, sizeof(s->v.plan_id), "p-xyz");
	snprintf(s->v.plan_name, sizeof(s->v.plan_name), "live");
	snprintf(s->v.state, sizeof(s->v.state), "running");
	s->v.created_ms = sk_now_ms() - 5000;
	region(&s->regions[0], "af", "running");
	snprintf(s->regions[0].database, sizeof(s->regions[0].database), "app");
	snprintf(s->regions[0].step, sizeof(s->regions[0].step), "0001_alter");
	snprintf(s->regions[0].detail, sizeof(s->regions[0].detail),
	    "waiting for a lock held by pid 4242 (idle in transaction) and a long tail of words that goes on");
	region(&s->regions[1], "in", "pending");
	region(&s->regions[2], "ksa", "pending");
	snprintf(s->regions[2].detail, sizeof(s->regions[2].detail),
	    "agent of ksa not connected for 2m10s");
	snprintf(s->phases[0].name, sizeof(s->phases[0].name), "canary");
	snprintf(s->phases[0].state, sizeof(s->phases[0].state), "running");
	s->phases[0].regions = &s->regions[0];
	s->phases[0].nregions = 1;
	snprintf(s->phases[1].name, sizeof(s->phases[1].name), "rest");
	snprintf(s->phases[1].state, sizeof(s->phases[1].state), "pending");
	s->phases[1].regions = &s->regions[1];
	s->phases[1].nregions = 2;
	s->v.phases = s->phases;
	s->v.nphases = 2;
	s->v.events = s->events;
}

static void
event(sample *s, uint64_t seq, int64_t at_ms, const char *text)
{
	sk_event_view *e = &s->events[s->v.nevents++];

	e->seq = seq;
	e->at_ms = at_ms;
	snprintf(e->region, sizeof(e->region), "af");
	snprintf(e->text, sizeof(e->text), "%s", text);
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

#define LOCK \
"af/app: step 0001_alter waits for a lock (attempt 1): pid 4242 holds it"
#define LOCK2 \
"af/app: step 0001_alter waits for a lock (attempt 2): pid 4242 holds it"

/* Off a terminal: the agent's repeats of one wait are one line (a new
 * attempt one more), its end a line with the duration before the next
 * event of that database; no escape code. */
static void
test_plain_folds_a_lock_wait(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	uint64_t since = 0;
	int64_t t0 = 1796336800000;
	cli_live l;
	sample s;

	(void)state;
	assert_non_null(out);
	cli_live_init(&l, out, false);
	assert_false(l.live);
	assert_false(l.color);
	make_sample(&s);
	event(&s, 1, t0, "af/app: step 0001_alter started");
	event(&s, 2, t0 + 100, LOCK);
	event(&s, 3, t0 + 1100, LOCK);
	cli_live_update(&l, &s.v, &since, false, false);
	assert_int_equal(since, 3);
	s.v.nevents = 0;
	event(&s, 4, t0 + 2100, LOCK);
	event(&s, 5, t0 + 3100, LOCK);
	/* After a lock timeout, the next attempt gets its line, once. */
	event(&s, 6, t0 + 3200, LOCK2);
	event(&s, 7, t0 + 3400, LOCK2);
	event(&s, 8, t0 + 3600, "af/app: step 0001_alter applied in 3.5s");
	cli_live_update(&l, &s.v, &since, false, false);
	assert_int_equal(since, 8);
	fclose(out);
	assert_int_equal(count(text, "waits for a lock"), 2);
	assert_int_equal(count(text, "(attempt 2)"), 1);
	assert_int_equal(
	    count(text, "af/app: step 0001_alter stopped waiting for a lock after 3.5s\n"),
	    1);
	assert_true(strstr(text, "stopped waiting") < strstr(text, "applied in"));
	assert_null(strchr(text, '\033'));
	assert_null(strstr(text, "phase 1/2")); /* no block off a terminal */
	cli_live_fini(&l);
	free(text);
}

/* A wait whose database the view shows running on, with no lock held
 * up, is over without waiting for the next event; one still open when
 * the rollout ends is closed then. */
static void
test_plain_ends_a_wait_the_view_says_is_over(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	uint64_t since = 0;
	sk_database_view d;
	cli_live l;
	sample s;

	(void)state;
	assert_non_null(out);
	cli_live_init(&l, out, false);
	make_sample(&s);
	memset(&d, 0, sizeof(d));
	snprintf(d.region, sizeof(d.region), "af");
	snprintf(d.name, sizeof(d.name), "app");
	snprintf(d.state, sizeof(d.state), "running");
	snprintf(d.detail, sizeof(d.detail),
	    "waiting for a lock held by pid 4242 (idle)");
	d.blocker_pid = 4242;
	s.v.databases = &d;
	s.v.ndatabases = 1;
	event(&s, 1, sk_now_ms() - 2000, LOCK);
	cli_live_update(&l, &s.v, &since, false, false);
	s.v.nevents = 0;
	cli_live_update(&l, &s.v, &since, false, false); /* still held */
	fflush(out);
	assert_null(strstr(text, "stopped waiting"));
	d.blocker_pid = 0;
	d.detail[0] = '\0';
	cli_live_update(&l, &s.v, &since, false, false);
	fflush(out);
	assert_int_equal(count(text, "stopped waiting for a lock after"), 1);
	/* Another wait, open when the rollout ends. */
	s.v.ndatabases = 0;
	event(&s, 2, sk_now_ms() - 1000, LOCK);
	snprintf(s.v.state, sizeof(s.v.state), "failed");
	s.v.finished_ms = sk_now_ms();
	cli_live_update(&l, &s.v, &since, false, true);
	fclose(out);
	assert_int_equal(count(text, "waits for a lock"), 2);
	assert_int_equal(count(text, "stopped waiting for a lock after"), 2);
	cli_live_fini(&l);
	free(text);
}

/* On a terminal: the block names every phase and region with its state
 * and what it waits for; every line fits in width - 1 columns; the next
 * update first moves up over exactly the lines drawn and clears; quiet
 * prints nothing; without colour no colour code. */
static void
test_live_block_is_redrawn_in_place(void **state)
{
	char *text = NULL, *second, up[32];
	size_t len = 0, before, drawn;
	FILE *out = open_memstream(&text, &len);
	uint64_t since = 0;
	cli_live l;
	sample s;

	(void)state;
	assert_non_null(out);
	cli_live_init(&l, out, false);
	l.live = true; /* a memory stream is no terminal: pretend */
	make_sample(&s);
	event(&s, 1, sk_now_ms() - 3000, "af: plan sent to agent (apply)");
	cli_live_update(&l, &s.v, &since, false, false);
	drawn = l.drawn;
	assert_true(drawn >= 6);
	fflush(out);
	assert_non_null(strstr(text, "rollout r-abc  plan live (p-xyz)  running"));
	assert_non_null(strstr(text, "  phase 1/2 canary  running\n"));
	assert_non_null(strstr(text, "  phase 2/2 rest  pending\n"));
	assert_non_null(strstr(text,
	    "    af     running         3s  0/2 steps  at app/0001_alter ("));
	assert_non_null(strstr(text, "agent of ksa not connected for 2m10s"));
	/* The regions running are the grid's to show, not a wait. */
	assert_null(strstr(text, "waits for"));
	assert_null(strstr(text, "\033[3"));     /* no colour */
	assert_null(strstr(text, "\033[J\033")); /* cleared below, once */
	/* 80 columns (no terminal to ask): each line clears its own and
	 * takes at most 79. */
	for (char *p = text, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		assert_memory_equal(p, "\033[2K", 4);
		assert_true(nl - p - 4 <= 79);
	}
	before = len;
	cli_live_update(&l, &s.v, &since, false, false);
	fflush(out);
	second = text + before;
	/* Up over the block, never a clear of the whole screen from the
	 * top. */
	snprintf(up, sizeof(up), "\033[%zuA\033[2K", drawn);
	assert_memory_equal(second, up, strlen(up));
	assert_int_equal(count(second, "\033[J"), 1);
	assert_ptr_equal(strstr(second, "\033[J") + 3, text + len); /* last */
	assert_int_equal(count(second, "    af "), 1);
	/* The end: drawn for the last time and left there. */
	snprintf(s.v.state, sizeof(s.v.state), "succeeded");
	snprintf(s.regions[0].state, sizeof(s.regions[0].state), "succeeded");
	s.regions[0].detail[0] = '\0';
	cli_live_update(&l, &s.v, &since, false, true);
	cli_live_fini(&l);
	assert_int_equal(l.drawn, 0);
	fflush(out);
	before = len;
	cli_live_erase(&l); /* nothing to erase: the block stays */
	fflush(out);
	assert_int_equal(len, before);
	fclose(out);
	free(text);
}

/* A backfill in the block: a bar, without colour codes when there is no
 * colour, with them when there is. */
static void
test_live_block_has_the_backfill_bar(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	uint64_t since = 0;
	sk_database_view d;
	cli_live l;
	sample s;

	(void)state;
	assert_non_null(out);
	make_sample(&s);
	memset(&d, 0, sizeof(d));
	snprintf(d.region, sizeof(d.region), "af");
	snprintf(d.name, sizeof(d.name), "app");
	snprintf(d.state, sizeof(d.state), "running");
	snprintf(d.progress_step, sizeof(d.progress_step), "fill");
	snprintf(d.progress_kind, sizeof(d.progress_kind), "backfill");
	d.rows_total = 2000;
	d.rows_scanned = 1000;
	d.rows_done = 1000;
	s.v.databases = &d;
	s.v.ndatabases = 1;
	cli_live_init(&l, out, true);
	l.live = true;
	cli_live_update(&l, &s.v, &since, false, false);
	fflush(out);
	assert_non_null(strstr(text, "    af/app  backfill fill  [#"));
	assert_non_null(strstr(text, "]  50%  1,000/2,000 rows"));
	assert_null(strstr(text, "\033[3"));
	l.color = true;
	cli_live_update(&l, &s.v, &since, false, false);
	fclose(out);
	assert_non_null(strstr(text, "[\033[32m#"));
	cli_live_fini(&l);
	free(text);
}

/* With colour the states are coloured; quiet prints nothing at all. */
static void
test_live_colour_and_quiet(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	uint64_t since = 0;
	cli_live l;
	sample s;

	(void)state;
	assert_non_null(out);
	cli_live_init(&l, out, false);
	l.live = l.color = true;
	make_sample(&s);
	s.v.paused = true;
	snprintf(s.v.paused_by, sizeof(s.v.paused_by), "alice");
	snprintf(s.v.pause_reason, sizeof(s.v.pause_reason), "replica lag");
	event(&s, 7, sk_now_ms(), "af: plan sent to agent (apply)");
	cli_live_update(&l, &s.v, &since, true, false);
	fflush(out);
	assert_int_equal(len, 0);
	assert_int_equal(since, 7);
	cli_live_update(&l, &s.v, &since, false, false);
	fflush(out);
	assert_non_null(strstr(text, "\033[33mrunning   \033[0m"));
	assert_non_null(strstr(text, "  waits for: pause by alice: replica lag\n"));
	fclose(out);
	cli_live_fini(&l);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fit_cuts_to_columns_not_bytes),
		cmocka_unit_test(test_lock_event_is_recognised_by_its_words),
		cmocka_unit_test(test_elapsed_reads_short),
		cmocka_unit_test(test_plain_folds_a_lock_wait),
		cmocka_unit_test(test_plain_ends_a_wait_the_view_says_is_over),
		cmocka_unit_test(test_live_block_is_redrawn_in_place),
		cmocka_unit_test(test_live_block_has_the_backfill_bar),
		cmocka_unit_test(test_live_colour_and_quiet),
	};

	unsetenv("COLUMNS");
	return cmocka_run_group_tests(tests, NULL, NULL);
}

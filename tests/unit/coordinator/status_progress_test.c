/* status_progress_test: how `skein rollout status` and `wait` show the
 * backfills a rollout's databases run. On a terminal one bar per
 * database, fitted to the terminal's width with its figures (under
 * `wait`'s events, a block redrawn in place); elsewhere
 * (a pipe, --no-color, TERM=dumb, NO_COLOR) the same figures on a plain
 * line with no bar characters and no escape codes; in JSON as numbers.
 * The percentage stays below 100 while the step runs, however far the
 * scan passes the estimated total; figures the agent did not send are
 * left out rather than shown as nonsense. */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname */
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_progress.h"
#include "cli_rollout_int.h"
#include "sk_wire.h"

/* eu-1/app halfway through fill-domain. */
static void
make_db(sk_database_view *d, const char *region, const char *name)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->region, sizeof(d->region), "%s", region);
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->state, sizeof(d->state), "running");
	snprintf(d->step, sizeof(d->step), "fill-domain");
	snprintf(d->progress_step, sizeof(d->progress_step), "fill-domain");
	snprintf(d->progress_kind, sizeof(d->progress_kind), "backfill");
	d->steps_done = 1;
	d->steps_total = 3;
	d->rows_done = 1160000;
	d->rows_scanned = 1160000;
	d->rows_total = 2000000;
	d->rate = 24300.4;
	d->eta_ms = 34600;
	d->batch_size = 4800;
	d->batches = 242;
}

typedef struct sample {
	sk_region_view region;
	sk_phase_view phase;
	sk_database_view dbs[3];
	sk_rollout_view view;
} sample;

/* Region eu-1 running app (backfilling), crm (not) and billing
 * (backfilling, paused). */
static void
make_sample(sample *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->region.name, sizeof(s->region.name), "eu-1");
	snprintf(s->region.state, sizeof(s->region.state), "running");
	s->region.steps_total = 9;
	snprintf(s->phase.name, sizeof(s->phase.name), "all");
	snprintf(s->phase.state, sizeof(s->phase.state), "running");
	s->phase.regions = &s->region;
	s->phase.nregions = 1;
	make_db(&s->dbs[0], "eu-1", "app");
	make_db(&s->dbs[1], "eu-1", "crm");
	s->dbs[1].progress_step[0] = '\0';
	make_db(&s->dbs[2], "eu-1", "billing");
	snprintf(s->dbs[2].throttle, sizeof(s->dbs[2].throttle),
	    "replication lag 12.3 s > 10 s");
	s->dbs[2].rows_scanned = 400000;
	s->dbs[2].rows_done = 390000;
	snprintf(s->view.id, sizeof(s->view.id), "ro-1");
	snprintf(s->view.state, sizeof(s->view.state), "running");
	s->view.phases = &s->phase;
	s->view.nphases = 1;
	s->view.databases = s->dbs;
	s->view.ndatabases = 3;
}

static char *
printed(const sk_rollout_view *v, const cli_look *look)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	rollout_print_view(out, v, look);
	assert_int_equal(fclose(out), 0);
	return text;
}

/* The line that starts (after its indent) with prefix, to its end. */
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

/* The columns line takes on a terminal: escape sequences take none. */
static size_t
visible(const char *line)
{
	size_t n = 0;

	for (const char *p = line; *p; p++) {
		if (*p == '\033') {
			while (*p && *p != 'm')
				p++;
			if (!*p)
				break;
			continue;
		}
		n++;
	}
	return n;
}

static size_t
count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* ---- plain -------------------------------------------------------------- */

static void
test_status_plain_line_has_every_figure_and_no_bar_or_escape(void **state)
{
	sample s;
	char line[512];
	char *text;

	(void)state;
	make_sample(&s);
	text = printed(&s.view, NULL);
	assert_non_null(line_starting(text, "eu-1/app ", line, sizeof(line)));
	assert_string_equal(line,
	    "eu-1/app      backfill fill-domain  58%  1,160,000/2,000,000 rows  "
	    "24,300 rows/s  ETA 35s  batch 4,800");
	/* Paused: why, instead of the rate and the ETA; rows the where
	 * clause skipped show as fewer changed than scanned. */
	assert_non_null(line_starting(text, "eu-1/billing ", line, sizeof(line)));
	assert_string_equal(line,
	    "eu-1/billing  backfill fill-domain  20%  400,000/2,000,000 rows "
	    "(390,000 changed)  paused: replication lag 12.3 s > 10 s  batch "
	    "4,800");
	/* crm runs no backfill: no line of its own. */
	assert_null(line_starting(text, "eu-1/crm", line, sizeof(line)));
	assert_null(strchr(text, '\033'));
	assert_null(strchr(text, '['));
	assert_null(strchr(text, '#'));
	free(text);

	/* A look that is not fancy (a pipe, --no-color) is as plain. */
	{
		cli_look plain = { .fancy = false, .width = 200 };
		char *again = printed(&s.view, &plain);

		text = printed(&s.view, NULL);
		assert_string_equal(again, text);
		free(again);
		free(text);
	}
}

static void
test_status_percent_stays_below_100_while_the_step_runs(void **state)
{
	sk_database_view d;
	char line[512];

	(void)state;
	make_db(&d, "eu-1", "app");
	d.rows_scanned = 2400000; /* the estimate was low */
	assert_int_equal(sk_view_progress_percent(&d), 99);
	d.rows_scanned = 1999999; /* 99.99995% */
	assert_int_equal(sk_view_progress_percent(&d), 99);
	d.rows_scanned = 2000000;
	assert_int_equal(sk_view_progress_percent(&d), 99);
	d.rows_scanned = INT64_MAX; /* no overflow on the way */
	assert_int_equal(sk_view_progress_percent(&d), 99);
	d.rows_total = INT64_MAX;
	d.rows_scanned = INT64_MAX / 2;
	assert_int_equal(sk_view_progress_percent(&d), 50);
	d.rows_scanned = 0;
	assert_int_equal(sk_view_progress_percent(&d), 0);
	d.rows_scanned = -5;
	assert_int_equal(sk_view_progress_percent(&d), 0);
	/* No total known: no percent, no bar, the rows alone. */
	make_db(&d, "eu-1", "app");
	d.rows_total = 0;
	assert_int_equal(sk_view_progress_percent(&d), -1);
	{
		cli_look tty = { .fancy = true, .width = 120 };

		cli_progress_line(&d, &tty, 0, 0, line, sizeof(line));
		assert_string_equal(line,
		    "eu-1/app  backfill fill-domain  1,160,000 rows  24,300 "
		    "rows/s  ETA 35s  batch 4,800");
	}
}

/* Nonsense from an agent (negative, NaN, infinite) is left out. */
static void
test_status_leaves_out_figures_the_agent_did_not_send(void **state)
{
	sk_database_view d;
	char line[512];

	(void)state;
	make_db(&d, "eu-1", "app");
	d.rate = 0.0 / 0.0;
	d.eta_ms = -1;
	d.batch_size = 0;
	d.rows_done = d.rows_scanned;
	cli_progress_line(&d, NULL, 0, 0, line, sizeof(line));
	assert_string_equal(line,
	    "eu-1/app  backfill fill-domain  58%  1,160,000/2,000,000 rows");
	d.rate = 1.0 / 0.0;
	cli_progress_line(&d, NULL, 0, 0, line, sizeof(line));
	assert_null(strstr(line, "rows/s"));
	d.rate = 2.5; /* slow: a decimal */
	cli_progress_line(&d, NULL, 0, 0, line, sizeof(line));
	assert_non_null(strstr(line, "  2.5 rows/s"));
	d.eta_ms = 400;
	cli_progress_line(&d, NULL, 0, 0, line, sizeof(line));
	assert_non_null(strstr(line, "ETA <1s"));
	d.eta_ms = 3723000;
	cli_progress_line(&d, NULL, 0, 0, line, sizeof(line));
	assert_non_null(strstr(line, "ETA 1h2m3s"));
	/* No kind (an older coordinator): a backfill all the same. */
	d.progress_kind[0] = '\0';
	cli_progress_line(&d, NULL, 0, 0, line, sizeof(line));
	assert_memory_equal(line, "eu-1/app  backfill fill-domain  ", 32);
}

/* ---- a terminal, faked by its width ------------------------------------- */

static void
test_status_bar_is_fitted_to_the_terminal(void **state)
{
	static const int widths[] = { 200, 143, 130, 119 };
	sk_database_view d;
	char line[1024];

	(void)state;
	make_db(&d, "eu-1", "app");
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		cli_look tty = { .fancy = true, .width = widths[i] };
		const char *open, *close;
		size_t barw, filled;

		cli_progress_line(&d, &tty, 0, 0, line, sizeof(line));
		open = strchr(line, '[');
		close = strchr(line, ']');
		assert_non_null(open);
		assert_non_null(close);
		filled = count_char(line, '#');
		barw = filled + count_char(open, '.') - count_char(close, '.');
		/* Between the bounds, 58% of it filled, the whole line in
		 * the width (less the last column). */
		assert_true(barw >= 10 && barw <= 40);
		assert_int_equal(filled, 58 * barw / 100);
		assert_true(visible(line) <= (size_t)widths[i] - 1);
		assert_memory_equal(line, "eu-1/app  backfill fill-domain  [", 33);
		assert_non_null(strstr(line,
		    "]  58%  1,160,000/2,000,000 rows  24,300 rows/s  ETA 35s  "
		    "batch 4,800"));
		/* Running: green. */
		assert_non_null(strstr(line, "[\033[32m#"));
		assert_int_equal(barw, widths[i] >= 143 ? 40 : (size_t)widths[i] - 103);
	}
	/* The example's own layout: 16 columns of bar at 119. */
	{
		cli_look tty = { .fancy = true, .width = 119 };

		cli_progress_line(&d, &tty, 0, 0, line, sizeof(line));
		assert_string_equal(line,
		    "eu-1/app  backfill fill-domain  [\033[32m#########\033[0m"
		    ".......]  58%  1,160,000/2,000,000 rows  24,300 rows/s  "
		    "ETA 35s  batch 4,800");
	}
}

/* Narrower than the whole line: short figures, then fewer of them (the
 * batch, the rate, the ETA, the rows, in that order; the percent and
 * why it is paused stay), never a bar under 10 and never a line that
 * wraps. */
static void
test_status_bar_narrow_terminal_keeps_the_bar_and_the_main_figures(void **state)
{
	static const struct {
		int width;
		const char *tail;
	} cases[] = {
		{ 100, "]  58%  1.16M/2M rows  24.3k rows/s  ETA 35s" },
		{ 80, "]  58%  1.16M/2M rows  ETA 35s" },
		{ 70, "]  58%  1.16M/2M rows" },
		{ 55, "]  58%" },
	};
	sk_database_view d;
	char line[1024];

	(void)state;
	make_db(&d, "eu-1", "app");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cli_look tty = { .fancy = true, .width = cases[i].width };
		const char *tail;

		cli_progress_line(&d, &tty, 0, 0, line, sizeof(line));
		tail = strchr(line, ']');
		assert_non_null(tail);
		assert_string_equal(tail, cases[i].tail);
		assert_true(visible(line) <= (size_t)cases[i].width - 1);
		assert_true(count_char(line, '.') - count_char(tail, '.') +
			count_char(line, '#') >=
		    10);
	}
	/* A reason that says it is a pause is not told twice. */
	snprintf(d.throttle, sizeof(d.throttle), "paused by the operator");
	cli_progress_line(&d, NULL, 0, 0, line, sizeof(line));
	assert_non_null(strstr(line, "rows  paused by the operator  batch"));
	/* Paused on a narrow terminal: the reason is cut, not dropped. */
	snprintf(d.throttle, sizeof(d.throttle), "replication lag 12.3 s > 10 s");
	{
		cli_look tty = { .fancy = true, .width = 80 };

		cli_progress_line(&d, &tty, 0, 0, line, sizeof(line));
		assert_non_null(strstr(line, "]  58%  paused: replication lag 12.3"));
		assert_int_equal(visible(line), 79);
	}
}

static void
test_status_bar_paused_says_why_in_yellow(void **state)
{
	sample s;
	cli_look tty = { .fancy = true, .width = 160 };
	char line[1024];
	char *text;

	(void)state;
	make_sample(&s);
	text = printed(&s.view, &tty);
	assert_non_null(line_starting(text, "eu-1/billing ", line, sizeof(line)));
	assert_non_null(strstr(line, "[\033[33m#"));
	assert_non_null(strstr(line,
	    "]  20%  400,000/2,000,000 rows (390,000 changed)  paused: "
	    "replication lag 12.3 s > 10 s  batch 4,800"));
	assert_null(strstr(line, "rows/s"));
	assert_null(strstr(line, "ETA"));
	/* Both bars start in the same column: the heads are padded. */
	{
		char app[1024];

		assert_non_null(line_starting(text, "eu-1/app ", app, sizeof(app)));
		assert_true(strchr(app, '[') - app == strchr(line, '[') - line);
	}
	free(text);
}

/* cli_look_of on a real (pseudo) terminal: fancy unless the terminal is
 * dumb, NO_COLOR is set or --no-color was given; its width is the
 * terminal's. A memory stream is never fancy. */
static void
test_status_look_follows_the_terminal_and_the_options(void **state)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 132 };
	int master, slave;
	FILE *tty, *mem;
	char *buf = NULL;
	size_t len = 0;
	cli_look look;

	(void)state;
	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
		print_message("no pseudo-terminal here; skipped\n");
		if (master >= 0)
			close(master);
		skip();
	}
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);
	assert_int_equal(ioctl(slave, TIOCSWINSZ, &ws), 0);
	tty = fdopen(slave, "w");
	assert_non_null(tty);
	unsetenv("NO_COLOR");
	setenv("TERM", "xterm-256color", 1);
	cli_look_of(&look, tty, false);
	assert_true(look.fancy);
	assert_int_equal(look.width, 132);
	cli_look_of(&look, tty, true);
	assert_false(look.fancy);
	setenv("TERM", "dumb", 1);
	cli_look_of(&look, tty, false);
	assert_false(look.fancy);
	unsetenv("TERM");
	cli_look_of(&look, tty, false);
	assert_false(look.fancy);
	setenv("TERM", "xterm", 1);
	setenv("NO_COLOR", "1", 1);
	cli_look_of(&look, tty, false);
	assert_false(look.fancy);
	unsetenv("NO_COLOR");
	mem = open_memstream(&buf, &len);
	assert_non_null(mem);
	setenv("COLUMNS", "99", 1);
	cli_look_of(&look, mem, false);
	assert_false(look.fancy);
	assert_int_equal(look.width, 99);
	unsetenv("COLUMNS");
	fclose(mem);
	free(buf);
	fclose(tty);
	close(master);
}

/* ---- wait: the block under the events ----------------------------------- */

/* On a terminal the block is drawn, then erased (cursor up over its
 * lines, clear to the end) before the next answer's events and drawn
 * again: it stays at the bottom, one line per backfill. */
static void
test_wait_redraws_the_block_in_place_on_a_terminal(void **state)
{
	cli_progress_block b;
	sample s;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	assert_non_null(out);
	make_sample(&s);
	cli_progress_block_init(&b, out, false);
	assert_false(b.look.fancy); /* a memory stream is no terminal */
	b.look.fancy = true;
	b.look.width = 160;
	cli_progress_block_draw(&b, &s.view, 1000);
	assert_int_equal(b.drawn, 2);
	fputs("12:00:01  an event\n", out);
	cli_progress_block_draw(&b, &s.view, 1200); /* erases first */
	cli_progress_block_erase(&b);
	cli_progress_block_erase(&b); /* nothing left to erase */
	assert_int_equal(fclose(out), 0);
	/* bars, event, erase, bars, erase: the escapes come once per erase. */
	{
		const char *first = strstr(text, "\033[2A\033[J");
		const char *event = strstr(text, "an event");

		assert_non_null(first);
		assert_non_null(event);
		assert_true(event < first);
		assert_non_null(strstr(first + 1, "\033[2A\033[J"));
		assert_null(strstr(strstr(first + 1, "\033[2A\033[J") + 1, "\033[2A"));
		assert_int_equal(count_char(text, '\n'), 2 + 1 + 2);
	}
	free(text);
}

/* Elsewhere the lines are printed, stamped, at most every 30 s; no
 * escape codes. */
static void
test_wait_prints_plain_lines_now_and_then_elsewhere(void **state)
{
	cli_progress_block b;
	sample s;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	assert_non_null(out);
	make_sample(&s);
	cli_progress_block_init(&b, out, false);
	cli_progress_block_draw(&b, &s.view, 1000);
	cli_progress_block_draw(&b, &s.view, 1000 + CLI_PROGRESS_PLAIN_EVERY_MS - 1);
	cli_progress_block_erase(&b);
	cli_progress_block_draw(&b, &s.view, 1000 + CLI_PROGRESS_PLAIN_EVERY_MS);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(count_char(text, '\n'), 4);
	assert_null(strchr(text, '\033'));
	assert_null(strchr(text, '['));
	/* "HH:MM:SS  eu-1/app ..." */
	assert_int_equal(text[2], ':');
	assert_memory_equal(text + 8, "  eu-1/app      backfill fill-domain  58%", 41);
	free(text);
}

/* ---- JSON --------------------------------------------------------------- */

static void
test_status_json_carries_the_figures_as_numbers(void **state)
{
	sk_database_view d;
	json_t *o;

	(void)state;
	make_db(&d, "eu-1", "app");
	snprintf(d.throttle, sizeof(d.throttle), "operator pause");
	d.throttled_ms = 81000;
	o = sk_view_progress_json(&d);
	assert_non_null(o);
	assert_true(json_is_object(o));
	assert_string_equal(json_string_value(json_object_get(o, "step")), "fill-domain");
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "backfill");
	assert_true(json_is_integer(json_object_get(o, "rows_done")));
	assert_int_equal(json_integer_value(json_object_get(o, "rows_done")), 1160000);
	assert_int_equal(json_integer_value(json_object_get(o, "rows_scanned")), 1160000);
	assert_int_equal(json_integer_value(json_object_get(o, "rows_total")), 2000000);
	assert_int_equal(json_integer_value(json_object_get(o, "percent")), 58);
	assert_true(json_is_real(json_object_get(o, "rate")));
	assert_true(json_real_value(json_object_get(o, "rate")) == 24300.4);
	assert_int_equal(json_integer_value(json_object_get(o, "eta_ms")), 34600);
	assert_int_equal(json_integer_value(json_object_get(o, "batch_size")), 4800);
	assert_int_equal(json_integer_value(json_object_get(o, "batches")), 242);
	assert_true(json_is_true(json_object_get(o, "paused")));
	assert_string_equal(json_string_value(json_object_get(o, "throttle")),
	    "operator pause");
	assert_int_equal(json_integer_value(json_object_get(o, "throttled_ms")), 81000);
	json_decref(o);

	/* Above the estimate: 99 here too; a rate that is no number is 0. */
	d.rows_scanned = 3000000;
	d.rate = 0.0 / 0.0;
	o = sk_view_progress_json(&d);
	assert_int_equal(json_integer_value(json_object_get(o, "percent")), 99);
	assert_true(json_real_value(json_object_get(o, "rate")) == 0.0);
	json_decref(o);

	/* No backfill: null. */
	d.progress_step[0] = '\0';
	o = sk_view_progress_json(&d);
	assert_true(json_is_null(o));
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_status_plain_line_has_every_figure_and_no_bar_or_escape),
		cmocka_unit_test(test_status_percent_stays_below_100_while_the_step_runs),
		cmocka_unit_test(test_status_leaves_out_figures_the_agent_did_not_send),
		cmocka_unit_test(test_status_bar_is_fitted_to_the_terminal),
		cmocka_unit_test(
		    test_status_bar_narrow_terminal_keeps_the_bar_and_the_main_figures),
		cmocka_unit_test(test_status_bar_paused_says_why_in_yellow),
		cmocka_unit_test(test_status_look_follows_the_terminal_and_the_options),
		cmocka_unit_test(test_wait_redraws_the_block_in_place_on_a_terminal),
		cmocka_unit_test(test_wait_prints_plain_lines_now_and_then_elsewhere),
		cmocka_unit_test(test_status_json_carries_the_figures_as_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

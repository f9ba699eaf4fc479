/* cli_live: the live view of `skein rollout wait` and `status --watch`
 * (cli_live.h). Everything here reads the views the coordinator sends;
 * the only state kept is when the CLI saw things start, and the lock
 * waits not yet over. */
#include "cli_live.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli_progress.h"
#include "sk_util.h"
#include "sk_view.h"
#include "sk_view_mode.h"

#define GREEN "\033[32m"
#define RED "\033[31m"
#define YELLOW "\033[33m"
#define BOLD "\033[1m"
#define RESET "\033[0m"
/* Clear the line the cursor is on: each line drawn over an old one. */
#define CLEAR_LINE "\033[2K"

#define LOCK_WORDS " waits for a lock (attempt "
#define LINE_MAX_BYTES 2048

/* ---- text --------------------------------------------------------------- */

void
cli_live_elapsed(int64_t ms, char *buf, size_t len)
{
	long long s = ms > 0 ? (long long)(ms / 1000) : 0;

	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
}

void
cli_live_fit(const char *line, int cols, char *buf, size_t len)
{
	size_t i = 0, k = 0;
	int used = 0;
	bool escaped = false, cut = false;

	if (len == 0)
		return;
	while (line[i] != '\0' && k + 1 < len) {
		unsigned char c = (unsigned char)line[i];

		if (c == 0x1b && line[i + 1] == '[') {
			/* A CSI sequence: ESC [ parameters, a final byte. */
			size_t j = i + 2;

			while (line[j] != '\0' &&
			    !((unsigned char)line[j] >= 0x40 &&
				(unsigned char)line[j] <= 0x7e))
				j++;
			if (line[j] != '\0')
				j++;
			if (k + (j - i) + 1 >= len)
				break;
			memcpy(buf + k, line + i, j - i);
			k += j - i;
			i = j;
			escaped = true;
			continue;
		}
		if (c >= 0x80 && c < 0xc0) { /* a UTF-8 continuation */
			buf[k++] = (char)c;
			i++;
			continue;
		}
		if (used == cols) {
			cut = true;
			break;
		}
		/* Control characters (a newline in a query) would move the
		 * cursor: a space instead. */
		buf[k++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
		used++;
		i++;
	}
	if (line[i] != '\0')
		cut = true;
	buf[k] = '\0';
	if (cut && escaped && k + sizeof(RESET) <= len)
		memcpy(buf + k, RESET, sizeof(RESET));
}

bool
cli_live_lock_event(const char *text, char *key, size_t klen, char *what,
    size_t wlen, unsigned *attempt)
{
	const char *lock = strstr(text, LOCK_WORDS);
	const char *colon = strstr(text, ": ");

	if (lock == NULL || colon == NULL || colon > lock || colon == text)
		return false;
	snprintf(key, klen, "%.*s", (int)(colon - text), text);
	snprintf(what, wlen, "%.*s", (int)(lock - colon - 2), colon + 2);
	*attempt = (unsigned)strtoul(lock + strlen(LOCK_WORDS), NULL, 10);
	return true;
}

/* ---- the clocks --------------------------------------------------------- */

static cli_live_clock *
clock_of(cli_live *l, const char *key)
{
	cli_live_clock *c;

	for (size_t i = 0; i < l->nclocks; i++)
		if (strcmp(l->clocks[i].key, key) == 0)
			return &l->clocks[i];
	c = realloc(l->clocks, (l->nclocks + 1) * sizeof(*c));
	if (c == NULL)
		return NULL;
	l->clocks = c;
	c = &l->clocks[l->nclocks++];
	memset(c, 0, sizeof(*c));
	snprintf(c->key, sizeof(c->key), "%s", key);
	return c;
}

/* A region's run starts with its first event (the plan sent to its
 * agent) and ends with its last. */
static void
clock_event(cli_live *l, const sk_event_view *e)
{
	cli_live_clock *c;

	if (e->region[0] == '\0' || (c = clock_of(l, e->region)) == NULL)
		return;
	if (c->start_ms == 0)
		c->start_ms = e->at_ms;
}

static bool
started(const char *state)
{
	return strcmp(state, "pending") != 0 &&
	    strcmp(state, "not-started") != 0 && strcmp(state, "waiting") != 0;
}

static bool
ended(const char *state)
{
	return sk_view_state_outcome(state) != SK_VIEW_OUT_NONE ||
	    strcmp(state, "done") == 0 || strcmp(state, "aborted") == 0 ||
	    strcmp(state, "reverted") == 0;
}

/* Note a region's or database's state and step at now. */
static cli_live_clock *
clock_note(cli_live *l, const char *key, const char *state, const char *step,
    int64_t last_event_ms, int64_t now)
{
	cli_live_clock *c = clock_of(l, key);

	if (c == NULL)
		return NULL;
	if (started(state) && c->start_ms == 0)
		c->start_ms = now;
	if (ended(state) && c->end_ms == 0 && c->start_ms != 0)
		c->end_ms = last_event_ms > c->start_ms ? last_event_ms : now;
	if (strcmp(c->step, step) != 0) {
		snprintf(c->step, sizeof(c->step), "%s", step);
		c->step_ms = now;
	}
	return c;
}

/* The time of the last event of region in v (0 none). */
static int64_t
last_event_of(const sk_rollout_view *v, const char *region)
{
	int64_t at = 0;

	for (size_t i = 0; i < v->nevents; i++)
		if (strcmp(v->events[i].region, region) == 0)
			at = v->events[i].at_ms;
	return at;
}

/* ---- lock waits --------------------------------------------------------- */

static cli_live_wait *
wait_of(cli_live *l, const char *key)
{
	for (size_t i = 0; i < l->nwaits; i++)
		if (strcmp(l->waits[i].key, key) == 0)
			return &l->waits[i];
	return NULL;
}

static void
stamp(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	buf[0] = '\0';
	if (gmtime_r(&t, &tm) != NULL)
		strftime(buf, len, "%H:%M:%S", &tm);
}

/* One event line: "HH:MM:SS  text", cut to the terminal when live. */
static void
event_line(cli_live *l, FILE *f, int64_t at_ms, const char *text)
{
	char ts[16], line[LINE_MAX_BYTES], fitted[LINE_MAX_BYTES];

	stamp(at_ms, ts, sizeof(ts));
	snprintf(line, sizeof(line), "%s  %s", ts, text);
	if (l->live) {
		cli_live_fit(line, l->width - 1, fitted, sizeof(fitted));
		fprintf(f, CLEAR_LINE "%s\n", fitted);
	} else {
		fprintf(f, "%s\n", line);
	}
}

/* The line that ends the wait w at at_ms, and w gone. */
static void
wait_end(cli_live *l, FILE *f, cli_live_wait *w, int64_t at_ms)
{
	char text[SK_NAME_MAX * 4 + 128], took[32];

	sk_duration_format(
	    at_ms > w->start_ms ? at_ms - w->start_ms : 0, took, sizeof(took));
	snprintf(text, sizeof(text),
	    "%s: %s stopped waiting for a lock after %s", w->key, w->what, took);
	event_line(l, f, at_ms, text);
	*w = l->waits[--l->nwaits];
}

/* Print e unless it repeats a lock wait; a lock wait's end is printed
 * before the next event of its database. */
static void
event_print(cli_live *l, FILE *f, const sk_event_view *e)
{
	char key[2 * SK_NAME_MAX + 2], what[SK_NAME_MAX + 16];
	cli_live_wait *w, *grown;
	unsigned attempt;

	if (cli_live_lock_event(e->text, key, sizeof(key), what, sizeof(what), &attempt)) {
		if ((w = wait_of(l, key)) != NULL) {
			if (w->attempt == attempt)
				return; /* the same wait, reported again */
			w->attempt = attempt; /* a new attempt is news */
			event_line(l, f, e->at_ms, e->text);
			return;
		}
		grown = realloc(l->waits, (l->nwaits + 1) * sizeof(*grown));
		if (grown != NULL) {
			l->waits = grown;
			w = &l->waits[l->nwaits++];
			snprintf(w->key, sizeof(w->key), "%s", key);
			snprintf(w->what, sizeof(w->what), "%s", what);
			w->attempt = attempt;
			w->start_ms = e->at_ms;
		}
		event_line(l, f, e->at_ms, e->text);
		return;
	}
	for (size_t i = 0; i < l->nwaits; i++) {
		size_t n = strlen(l->waits[i].key);

		if (strncmp(e->text, l->waits[i].key, n) == 0 && e->text[n] == ':') {
			wait_end(l, f, &l->waits[i], e->at_ms);
			break;
		}
	}
	event_line(l, f, e->at_ms, e->text);
}

/* Waits the view says are over (the database runs on, no lock held up),
 * or all of them when the rollout ended. */
static void
waits_over(cli_live *l, FILE *f, const sk_rollout_view *v, bool final)
{
	int64_t now = sk_now_ms();

	for (size_t i = 0; i < l->nwaits;) {
		bool over = final;

		for (size_t k = 0; k < v->ndatabases && !over; k++) {
			const sk_database_view *d = &v->databases[k];
			char key[2 * SK_NAME_MAX + 2];

			snprintf(key, sizeof(key), "%s/%s", d->region, d->name);
			if (strcmp(key, l->waits[i].key) == 0)
				over = d->blocker_pid == 0 &&
				    strncmp(d->detail, "waiting for a lock", 18) != 0;
		}
		if (over)
			wait_end(l, f, &l->waits[i],
			    final && v->finished_ms > 0 ? v->finished_ms : now);
		else
			i++;
	}
}

/* ---- the block ---------------------------------------------------------- */

/* The block being built: its lines, cut to the width, counted. */
typedef struct block {
	cli_live *l;
	FILE *f;
	size_t lines, max;
	size_t dropped;
} block;

static void
block_line(block *b, const char *line)
{
	char fitted[LINE_MAX_BYTES];

	if (b->lines + 1 >= b->max) {
		b->dropped++;
		return;
	}
	cli_live_fit(line, b->l->width - 1, fitted, sizeof(fitted));
	fprintf(b->f, CLEAR_LINE "%s\n", fitted);
	b->lines++;
}

/* state padded to w columns, in its colour. */
static void
state_word(const cli_live *l, const char *state, int w, char *buf, size_t len)
{
	const char *col = NULL;

	if (l->color) {
		int out = sk_view_state_outcome(state);

		col = out == SK_VIEW_OUT_OK   ? GREEN :
		    out == SK_VIEW_OUT_FAILED ? RED :
		    strcmp(state, "running") == 0 || strcmp(state, "dispatched") == 0 ?
						YELLOW :
						NULL;
	}
	snprintf(buf, len, "%s%-*s%s", col ? col : "", w, state, col ? RESET : "");
}

/* "4s" since c started (to its end), or "" not started. */
static void
since_start(const cli_live_clock *c, int64_t now, char *buf, size_t len)
{
	buf[0] = '\0';
	if (c != NULL && c->start_ms != 0)
		cli_live_elapsed((c->end_ms ? c->end_ms : now) - c->start_ms, buf, len);
}

static size_t
name_width(const sk_rollout_view *v)
{
	size_t w = 6;

	for (size_t p = 0; p < v->nphases; p++)
		for (size_t r = 0; r < v->phases[p].nregions; r++)
			if (strlen(v->phases[p].regions[r].name) > w)
				w = strlen(v->phases[p].regions[r].name);
	for (size_t i = 0; i < v->ndatabases; i++)
		if (strlen(v->databases[i].name) + 2 > w)
			w = strlen(v->databases[i].name) + 2;
	return w;
}

/* The databases of region (when it runs several), a line each. */
static void
block_databases(block *b, const sk_rollout_view *v, const char *region,
    size_t nw, int64_t now)
{
	char key[2 * SK_NAME_MAX + 2], st[48], step[SK_NAME_MAX + 40], t[24];
	char line[LINE_MAX_BYTES];
	size_t n = 0;

	for (size_t i = 0; i < v->ndatabases; i++)
		n += strcmp(v->databases[i].region, region) == 0;
	if (n < 2)
		return;
	for (size_t i = 0; i < v->ndatabases; i++) {
		const sk_database_view *d = &v->databases[i];
		cli_live_clock *c;

		if (strcmp(d->region, region) != 0)
			continue;
		snprintf(key, sizeof(key), "%s/%s", d->region, d->name);
		c = clock_note(b->l, key, d->state, d->step, 0, now);
		state_word(b->l, d->state, 10, st, sizeof(st));
		step[0] = '\0';
		if (d->step[0] && !ended(d->state) && c != NULL) {
			cli_live_elapsed(now - c->step_ms, t, sizeof(t));
			snprintf(step, sizeof(step), "  at %s (%s)", d->step, t);
		}
		snprintf(line, sizeof(line), "      %-*s %s %7s  %u/%u steps%s%s%s",
		    (int)nw - 2, d->name, st, "", d->steps_done, d->steps_total,
		    step, d->detail[0] ? "  " : "", d->detail);
		block_line(b, line);
	}
}

static void
block_region(block *b, const sk_rollout_view *v, const sk_region_view *rv,
    size_t nw, int64_t now)
{
	char st[48], t[24], at[2 * SK_NAME_MAX + 48], took[24];
	char line[LINE_MAX_BYTES], step[2 * SK_NAME_MAX + 2];
	cli_live_clock *c;

	snprintf(step, sizeof(step), "%s%s%s", rv->database,
	    rv->database[0] ? "/" : "", rv->step);
	c = clock_note(
	    b->l, rv->name, rv->state, step, last_event_of(v, rv->name), now);
	state_word(b->l, rv->state, 10, st, sizeof(st));
	/* A region not started has no time, whatever its events. */
	since_start(started(rv->state) ? c : NULL, now, took, sizeof(took));
	at[0] = '\0';
	if (rv->step[0] && !ended(rv->state) && c != NULL) {
		cli_live_elapsed(now - c->step_ms, t, sizeof(t));
		snprintf(at, sizeof(at), "  at %s (%s)", step, t);
	}
	snprintf(line, sizeof(line), "    %-*s %s %7s  %u/%u steps%s%s%s%s%s",
	    (int)nw, rv->name, st, took, rv->steps_done, rv->steps_total, at,
	    rv->detail[0] ? "  " : "", rv->detail,
	    rv->error.code != SK_OK && rv->error.msg[0] ? "  error: " : "",
	    rv->error.code != SK_OK ? rv->error.msg : "");
	block_line(b, line);
	block_databases(b, v, rv->name, nw, now);
}

/* The backfill and move lines, as cli_progress draws them, cut. */
static void
block_progress(block *b, const sk_rollout_view *v)
{
	cli_look look = { .fancy = true, .width = b->l->width, .mono = !b->l->color };
	char *text = NULL, *p, *nl;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (m == NULL)
		return;
	(void)cli_progress_print(m, v, &look, "    ");
	fclose(m);
	for (p = text; p != NULL && *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		block_line(b, p);
	}
	free(text);
}

static void
block_draw(block *b, const sk_rollout_view *v, int64_t now)
{
	const sk_view_mode_row *m = sk_view_mode_of(v->mode);
	char line[LINE_MAX_BYTES], st[48], took[24], waits[512], *cut;
	size_t nw = name_width(v);

	state_word(b->l, v->state, 0, st, sizeof(st));
	cli_live_elapsed((v->finished_ms > 0 ? v->finished_ms : now) - v->created_ms,
	    took, sizeof(took));
	snprintf(line, sizeof(line), "%srollout %s%s%s%s  plan %s (%s)  %s  %s",
	    b->l->color ? BOLD : "", v->id, m->label ? " (" : "",
	    m->label ? m->label : "", m->label ? ")" : "", v->plan_name,
	    v->plan_id, st, took);
	if (b->l->color) /* the bold ends with the id's line */
		snprintf(line + strlen(line), sizeof(line) - strlen(line), RESET);
	block_line(b, line);
	sk_view_waits_for(v, waits, sizeof(waits));
	/* Which regions run, the grid shows: only the rest is said. */
	if ((cut = strstr(waits, "regions running: ")) != NULL)
		*(cut > waits + 1 && cut[-2] == ';' ? cut - 2 : cut) = '\0';
	if (waits[0] != '\0') {
		snprintf(line, sizeof(line), "  waits for: %s", waits);
		block_line(b, line);
	}
	if (v->reason[0] != '\0' && strcmp(v->state, "running") != 0) {
		snprintf(line, sizeof(line), "  halted: %s", v->reason);
		block_line(b, line);
	}
	for (size_t p = 0; p < v->nphases; p++) {
		const sk_phase_view *ph = &v->phases[p];

		state_word(b->l, ph->state, 0, st, sizeof(st));
		snprintf(line, sizeof(line), "  phase %zu/%zu %s  %s", p + 1,
		    v->nphases, ph->name, st);
		block_line(b, line);
		for (size_t r = 0; r < ph->nregions; r++)
			block_region(b, v, &ph->regions[r], nw, now);
	}
	block_progress(b, v);
	if (b->dropped > 0) {
		snprintf(line, sizeof(line),
		    "  ... %zu more lines (a taller terminal shows them)", b->dropped);
		b->max++;
		block_line(b, line);
	}
}

/* ---- updates ------------------------------------------------------------ */

/* The terminal's size: columns into l->width, rows returned (0
 * unknown). */
static int
term_size(cli_live *l)
{
	struct winsize ws;
	cli_look look;
	int fd = fileno(l->out);

	cli_look_of(&look, l->out, true);
	l->width = look.width > 1 ? look.width : 80;
	if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		return ws.ws_row;
	return 0;
}

void
cli_live_init(cli_live *l, FILE *out, bool no_color)
{
	const char *term = getenv("TERM"), *nc = getenv("NO_COLOR");
	int fd = out != NULL ? fileno(out) : -1;

	memset(l, 0, sizeof(*l));
	l->out = out;
	l->live = fd >= 0 && isatty(fd) && term != NULL && term[0] != '\0' &&
	    strcmp(term, "dumb") != 0;
	l->color = l->live && !no_color && (nc == NULL || nc[0] == '\0');
	l->width = 80;
}

/* The redraw never clears the screen from its first line: a terminal
 * (tmux, for one) may keep a whole screen it is asked to clear in its
 * history, and the history would fill with old blocks. Instead the
 * cursor goes up over the block (each line ends in a newline, so it is
 * in column 0), each line printed clears its own, and what is left of a
 * longer old block is cleared below the new one. */
static void
up_over(cli_live *l, FILE *f)
{
	if (l->drawn > 0)
		fprintf(f, "\033[%zuA", l->drawn);
}

void
cli_live_erase(cli_live *l)
{
	if (l->drawn == 0)
		return;
	up_over(l, l->out);
	for (size_t i = 0; i < l->drawn; i++)
		fputs(CLEAR_LINE "\033[1B", l->out);
	up_over(l, l->out);
	l->drawn = 0;
	fflush(l->out);
}

void
cli_live_update(cli_live *l, const sk_rollout_view *v, uint64_t *since,
    bool quiet, bool final)
{
	char *frame = NULL;
	size_t len = 0;
	int64_t now = sk_now_ms();
	int rows = 0;
	FILE *f;

	for (size_t i = 0; i < v->nevents; i++) {
		clock_event(l, &v->events[i]);
		*since = v->events[i].seq;
	}
	if (quiet)
		return;
	if ((f = open_memstream(&frame, &len)) == NULL)
		return;
	if (l->live) {
		rows = term_size(l);
		up_over(l, f);
		l->drawn = 0;
	}
	for (size_t i = 0; i < v->nevents; i++)
		event_print(l, f, &v->events[i]);
	waits_over(l, f, v, final);
	if (l->live) {
		block b = { .l = l, .f = f, .max = rows > 2 ? (size_t)rows - 1 : 1000 };

		block_draw(&b, v, now);
		l->drawn = b.lines;
		fputs("\033[J", f); /* the rest of an old, longer block */
	}
	fclose(f);
	if (frame != NULL) {
		fwrite(frame, 1, len, l->out);
		fflush(l->out);
	}
	free(frame);
}

void
cli_live_fini(cli_live *l)
{
	free(l->clocks);
	free(l->waits);
	l->clocks = NULL;
	l->waits = NULL;
	l->nclocks = l->nwaits = 0;
	l->drawn = 0;
}

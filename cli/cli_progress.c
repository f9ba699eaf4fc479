/* cli_progress: a backfill's line, bar and JSON from a database's view.
 * The figures come from an agent through the coordinator: each is checked
 * before it is shown or divided by (negative, zero or not finite: left
 * out), so a confused agent yields a shorter line, never a wrong one. */
#include "cli_progress.h"

#include <math.h> /* isfinite, a macro: no libm */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "sk_err.h"
#include "sk_json.h"
#include "sk_util.h"

#define BAR_MIN 10
#define BAR_MAX 40
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define RESET "\033[0m"

/* The columns of the terminal out is, or 0 when it is none. */
static int
term_width(FILE *out)
{
	struct winsize ws;
	int fd = out != NULL ? fileno(out) : -1;

	if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 0;
}

void
cli_look_of(cli_look *look, FILE *out, bool no_color)
{
	const char *term = getenv("TERM"), *nc = getenv("NO_COLOR");
	const char *cols = getenv("COLUMNS");
	int fd = out != NULL ? fileno(out) : -1;

	look->fancy = !no_color && fd >= 0 && isatty(fd) && term != NULL &&
	    term[0] != '\0' && strcmp(term, "dumb") != 0 &&
	    (nc == NULL || nc[0] == '\0');
	look->mono = false;
	look->width = term_width(out);
	if (look->width == 0)
		look->width = cols != NULL && atoi(cols) > 0 ? atoi(cols) : 80;
}

/* ---- text --------------------------------------------------------------- */

/* A bounded string being built: appends past its end are cut. */
typedef struct sbuf {
	char *p;
	size_t len, off;
} sbuf;

static void sb_add(sbuf *s, const char *fmt, ...) SK_PRINTF(2, 3);

static void
sb_add(sbuf *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->off + 1 >= s->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(s->p + s->off, s->len - s->off, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->off += (size_t)n;
	if (s->off >= s->len)
		s->off = s->len - 1;
}

/* v with thousands separators, "1,160,000"; negative reads as 0. */
static void
fmt_count(int64_t v, char *buf, size_t len)
{
	char digits[32];
	size_t n, k = 0;

	snprintf(digits, sizeof(digits), "%lld", (long long)(v > 0 ? v : 0));
	n = strlen(digits);
	for (size_t i = 0; i < n && k + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = digits[i];
	}
	buf[k] = '\0';
}

/* v in three significant figures with a unit, "24.3k", "1.16M" (from
 * 10,000 up; below, as fmt_count). For a terminal too narrow for the
 * whole figures. */
static void
fmt_short(int64_t v, char *buf, size_t len)
{
	static const struct {
		double div;
		const char *unit;
	} units[] = { { 1e3, "k" }, { 1e6, "M" }, { 1e9, "G" }, { 1e12, "T" },
		{ 1e15, "P" } };
	char num[32];

	if (v < 10000) {
		fmt_count(v, buf, len);
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		/* The next unit once this one would round to 1000. */
		if ((double)v / units[i].div >= 999.5 &&
		    i + 1 < sizeof(units) / sizeof(units[0]))
			continue;
		snprintf(num, sizeof(num), "%.3g", (double)v / units[i].div);
		snprintf(buf, len, "%s%s", num, units[i].unit);
		return;
	}
}

/* The figures after the bar, in display order. On a narrow terminal they
 * are left out in drop_order, the least telling first; the percent and
 * the pause never are (the pause is cut at the end instead: why it waits
 * is the news). */
enum {
	P_PCT,
	P_MOVE,
	P_ROWS,
	P_CHANGED,
	P_RATE,
	P_PAUSED,
	P_ETA,
	P_BATCH,
	P_N
};
static const int drop_order[] = { P_BATCH, P_CHANGED, P_RATE, P_ETA, P_ROWS };

typedef struct pieces {
	char text[P_N][192]; /* "" when d has no such figure */
} pieces;

/* moves: where a move stands, "copy public.bookings 12.4 MB",
 * "catch-up lag 120 ms, 17 changes", "freeze 85 ms". */
static void
move_piece(const sk_database_view *d, char *buf, size_t len)
{
	if (strcmp(d->move_phase, "copy") == 0 && d->move_table[0] != '\0')
		snprintf(buf, len, "copy %s %.1f MB", d->move_table,
		    (double)d->bytes / (1024.0 * 1024.0));
	else if (strcmp(d->move_phase, "catch-up") == 0)
		snprintf(buf, len, "catch-up lag %lld ms, %lld changes",
		    (long long)d->lag_ms, (long long)d->changes);
	else if (strcmp(d->move_phase, "freeze") == 0 ||
	    strcmp(d->move_phase, "flip") == 0 || strcmp(d->move_phase, "done") == 0)
		snprintf(buf, len, "%s (writes held %lld ms)", d->move_phase,
		    (long long)d->freeze_ms);
	else
		snprintf(buf, len, "%s", d->move_phase);
}

/* d's figures as pieces, counts whole or (compact) short. */
static void
pieces_of(const sk_database_view *d, bool compact, pieces *p)
{
	void (*count)(int64_t, char *, size_t) = compact ? fmt_short : fmt_count;
	int64_t scanned = d->rows_scanned > 0 ? d->rows_scanned : d->rows_done;
	int pct = sk_view_progress_percent(d);
	char a[32], b[32];

	memset(p, 0, sizeof(*p));
	if (pct >= 0)
		snprintf(p->text[P_PCT], sizeof(p->text[P_PCT]), "%d%%", pct);
	count(scanned, a, sizeof(a));
	if (d->rows_total > 0) {
		count(d->rows_total, b, sizeof(b));
		snprintf(p->text[P_ROWS], sizeof(p->text[P_ROWS]), "%s/%s rows", a, b);
	} else {
		snprintf(p->text[P_ROWS], sizeof(p->text[P_ROWS]), "%s rows", a);
	}
	/* Rows the update changed, when the where clause skipped some. */
	if (d->rows_done >= 0 && d->rows_scanned > 0 && d->rows_done != d->rows_scanned) {
		count(d->rows_done, a, sizeof(a));
		snprintf(p->text[P_CHANGED], sizeof(p->text[P_CHANGED]),
		    "(%s changed)", a);
	}
	if (d->move_phase[0] != '\0')
		move_piece(d, p->text[P_MOVE], sizeof(p->text[P_MOVE]));
	if (d->batch_size > 0) {
		count(d->batch_size, a, sizeof(a));
		snprintf(p->text[P_BATCH], sizeof(p->text[P_BATCH]), "batch %s", a);
	}
	if (d->throttle[0] != '\0') {
		/* "paused by the operator" says so itself. */
		snprintf(p->text[P_PAUSED], sizeof(p->text[P_PAUSED]), "%s%.160s",
		    strncmp(d->throttle, "paused", 6) == 0 ? "" : "paused: ", d->throttle);
		return; /* paused: no rate, and an ETA that does not hold */
	}
	if (sk_view_rate_known(d->rate) && d->rate < 10) {
		snprintf(p->text[P_RATE], sizeof(p->text[P_RATE]),
		    "%.1f rows/s", d->rate);
	} else if (sk_view_rate_known(d->rate)) {
		count((int64_t)(d->rate + 0.5), a, sizeof(a));
		snprintf(p->text[P_RATE], sizeof(p->text[P_RATE]), "%s rows/s", a);
	}
	if (d->eta_ms > 0) {
		/* Whole seconds: a tenth of a second is noise here. */
		int64_t sec = d->eta_ms / 1000 + (d->eta_ms % 1000 >= 500);

		if (sec < 1)
			snprintf(a, sizeof(a), "<1s");
		else
			sk_duration_format(sec * 1000, a, sizeof(a));
		snprintf(p->text[P_ETA], sizeof(p->text[P_ETA]), "ETA %s", a);
	}
}

/* The pieces of p, the first ndrop of drop_order left out, two spaces
 * apart (the changed rows one space after the rows), into buf. */
static void
pieces_join(const pieces *p, size_t ndrop, char *buf, size_t len)
{
	sbuf s = { buf, len, 0 };

	buf[0] = '\0';
	for (int i = 0; i < P_N; i++) {
		bool dropped = false;

		for (size_t k = 0; k < ndrop; k++)
			dropped |= drop_order[k] == i;
		if (dropped || p->text[i][0] == '\0')
			continue;
		sb_add(&s, "%s%s",
		    s.off == 0         ? "" :
			i == P_CHANGED ? " " :
					 "  ",
		    p->text[i]);
	}
}

/* The tail that fits in room columns beside fixed ones: the whole
 * figures, else short ones with fewer and fewer of them, else the
 * fewest, cut at room. With no room limit (plain) the whole figures. */
static void
tail_fit(const sk_database_view *d, bool limited, size_t fixed, size_t room,
    char *buf, size_t len)
{
	pieces p;

	pieces_of(d, false, &p);
	pieces_join(&p, 0, buf, len);
	if (!limited || fixed + strlen(buf) <= room)
		return;
	pieces_of(d, true, &p);
	for (size_t ndrop = 0;; ndrop++) {
		pieces_join(&p, ndrop, buf, len);
		if (fixed + strlen(buf) <= room ||
		    ndrop == sizeof(drop_order) / sizeof(drop_order[0]))
			break;
	}
	if (fixed + strlen(buf) > room)
		buf[room > fixed ? room - fixed : 0] = '\0';
}

/* The head's two parts: "region/db" and "kind step". */
static void
head_parts(const sk_database_view *d, char *name, size_t nlen, char *what, size_t wlen)
{
	snprintf(name, nlen, "%s/%s", d->region, d->name);
	snprintf(what, wlen, "%s %s",
	    d->progress_kind[0] != '\0' ? d->progress_kind : "backfill",
	    d->progress_step);
}

/* How a block of lines is laid out on a terminal: its heads padded to
 * name_w and what_w, one bar width for all (so that the bars and the
 * figures after them start in the same columns), room columns a line may
 * take (0: plain, no limit). */
typedef struct layout {
	size_t name_w, what_w;
	size_t room;
	int barw;
	bool mono; /* the bar without colours */
} layout;

/* The bar width d's whole figures leave in lay->room, within the bounds;
 * BAR_MAX when d has no bar. */
static int
bar_room(const sk_database_view *d, const layout *lay)
{
	char name[2 * SK_NAME_MAX + 2], what[SK_NAME_MAX + 24], tail[512];
	size_t fixed;
	pieces p;

	if (sk_view_progress_percent(d) < 0)
		return BAR_MAX;
	head_parts(d, name, sizeof(name), what, sizeof(what));
	fixed = (strlen(name) > lay->name_w ? strlen(name) : lay->name_w) + 2 +
	    (strlen(what) > lay->what_w ? strlen(what) : lay->what_w) + 6;
	pieces_of(d, false, &p);
	pieces_join(&p, 0, tail, sizeof(tail));
	if (lay->room <= fixed + strlen(tail) + BAR_MIN)
		return BAR_MIN;
	return lay->room - fixed - strlen(tail) > BAR_MAX ?
	    BAR_MAX :
	    (int)(lay->room - fixed - strlen(tail));
}

/* d's line laid out by lay into buf. */
static void
render(const sk_database_view *d, const layout *lay, char *buf, size_t len)
{
	char name[2 * SK_NAME_MAX + 2], what[SK_NAME_MAX + 24], tail[512];
	sbuf s = { buf, len, 0 };
	int pct = sk_view_progress_percent(d), filled;

	if (len == 0)
		return;
	buf[0] = '\0';
	head_parts(d, name, sizeof(name), what, sizeof(what));
	sb_add(&s, "%-*s  %-*s", (int)lay->name_w, name, (int)lay->what_w, what);
	if (lay->room == 0 || pct < 0) {
		tail_fit(d, lay->room > 0, s.off + 2, lay->room, tail, sizeof(tail));
		sb_add(&s, "  %s", tail);
		return;
	}
	tail_fit(d, true, s.off + 6 + (size_t)lay->barw, lay->room, tail, sizeof(tail));
	filled = pct * lay->barw / 100;
	sb_add(&s, "  [");
	if (filled > 0 && lay->mono) {
		for (int i = 0; i < filled; i++)
			sb_add(&s, "#");
	} else if (filled > 0) {
		/* Green while it runs, yellow while it is paused. */
		sb_add(&s, "%s", d->throttle[0] != '\0' ? YELLOW : GREEN);
		for (int i = 0; i < filled; i++)
			sb_add(&s, "#");
		sb_add(&s, "%s", RESET);
	}
	for (int i = filled; i < lay->barw; i++)
		sb_add(&s, ".");
	sb_add(&s, "]  %s", tail);
}

/* The layout of look for heads of name_w and what_w columns. A terminal
 * line takes width - 1 columns at most: the last one wraps on some
 * terminals, and a wrapped line breaks the redraw of `wait`. */
static void
layout_init(layout *lay, const cli_look *look, size_t name_w, size_t what_w)
{
	lay->name_w = name_w;
	lay->what_w = what_w;
	lay->room = look != NULL && look->fancy ?
	    (look->width > 1 ? (size_t)look->width - 1 : 1) :
	    0;
	lay->barw = BAR_MAX;
	lay->mono = look != NULL && look->mono;
}

void
cli_progress_line(const sk_database_view *d, const cli_look *look,
    size_t name_w, size_t what_w, char *buf, size_t len)
{
	layout lay;

	layout_init(&lay, look, name_w, what_w);
	lay.barw = bar_room(d, &lay);
	render(d, &lay, buf, len);
}

size_t
cli_progress_print(FILE *out, const sk_rollout_view *v, const cli_look *look,
    const char *prefix)
{
	char name[2 * SK_NAME_MAX + 2], what[SK_NAME_MAX + 24], line[1024];
	size_t name_w = 0, what_w = 0, n = 0;
	cli_look fitted = { 0 };
	layout lay;

	for (size_t i = 0; i < v->ndatabases; i++) {
		if (!sk_view_progress_has(&v->databases[i]))
			continue;
		head_parts(&v->databases[i], name, sizeof(name), what, sizeof(what));
		name_w = strlen(name) > name_w ? strlen(name) : name_w;
		what_w = strlen(what) > what_w ? strlen(what) : what_w;
	}
	/* The prefix takes its columns from the lines'. */
	if (look != NULL) {
		fitted = *look;
		fitted.width -= (int)strlen(prefix);
	}
	layout_init(&lay, look != NULL ? &fitted : NULL, name_w, what_w);
	/* One bar width, the narrowest any line needs: each line then fits
	 * its own figures after it. */
	for (size_t i = 0; i < v->ndatabases; i++)
		if (sk_view_progress_has(&v->databases[i])) {
			int w = bar_room(&v->databases[i], &lay);

			lay.barw = w < lay.barw ? w : lay.barw;
		}
	for (size_t i = 0; i < v->ndatabases; i++) {
		if (!sk_view_progress_has(&v->databases[i]))
			continue;
		render(&v->databases[i], &lay, line, sizeof(line));
		fprintf(out, "%s%s\n", prefix, line);
		n++;
	}
	return n;
}

/* ---- the block under `wait`'s events ------------------------------------ */

void
cli_progress_block_init(cli_progress_block *b, FILE *out, bool no_color)
{
	memset(b, 0, sizeof(*b));
	b->out = out;
	cli_look_of(&b->look, out, no_color);
}

void
cli_progress_block_erase(cli_progress_block *b)
{
	if (b->drawn > 0) {
		/* Up to the block's first line (each ends in a newline, so the
		 * cursor is in column 0), then clear to the end. */
		fprintf(b->out, "\033[%zuA\033[J", b->drawn);
		fflush(b->out);
	}
	b->drawn = 0;
}

void
cli_progress_block_draw(cli_progress_block *b, const sk_rollout_view *v, int64_t now_ms)
{
	char stamp[16];
	time_t t;
	struct tm tm;

	if (b->look.fancy) {
		int width = term_width(b->out); /* it may have been resized */

		cli_progress_block_erase(b);
		if (width > 0)
			b->look.width = width;
		b->drawn = cli_progress_print(b->out, v, &b->look, "");
	} else if (b->last_ms == 0 || now_ms - b->last_ms >= CLI_PROGRESS_PLAIN_EVERY_MS) {
		t = time(NULL);
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%H:%M:%S  ", &tm);
		if (cli_progress_print(b->out, v, NULL, stamp) > 0)
			b->last_ms = now_ms;
	}
	fflush(b->out);
}

/* ---- JSON --------------------------------------------------------------- */

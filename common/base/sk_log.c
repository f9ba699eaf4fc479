/* sk_log: timestamped stderr logging, as text or one JSON object per
 * line (jansson). One write(2) per record keeps lines from different
 * threads whole. */
#include "sk_log.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_program[64] = "skein";
static char log_tag[64];
static int log_level = -1;
static int log_format = SK_LOG_FORMAT_TEXT;
/* What this thread works on (sk_log_scope). */
static _Thread_local char scope_rollout[64];
static _Thread_local char scope_step[64];

static const char *const level_names[] = { "debug", "info", "warning", "error" };

void
sk_log_init(const char *program, const char *tag)
{
	snprintf(log_program, sizeof(log_program), "%s", program ? program : "skein");
	snprintf(log_tag, sizeof(log_tag), "%s", tag ? tag : "");
}

void
sk_log_set_format(int format)
{
	log_format = format == SK_LOG_FORMAT_JSON ? SK_LOG_FORMAT_JSON :
						    SK_LOG_FORMAT_TEXT;
}

int
sk_log_format_parse(const char *name)
{
	if (name != NULL && strcmp(name, "text") == 0)
		return SK_LOG_FORMAT_TEXT;
	if (name != NULL && strcmp(name, "json") == 0)
		return SK_LOG_FORMAT_JSON;
	return -1;
}

void
sk_log_scope(const char *rollout, const char *step)
{
	snprintf(scope_rollout, sizeof(scope_rollout), "%s", rollout ? rollout : "");
	snprintf(scope_step, sizeof(scope_step), "%s", step ? step : "");
}

void
sk_log_set_level(int level)
{
	log_level = level;
}

static int
effective_level(void)
{
	if (log_level < 0)
		log_level = getenv("SKEIN_DEBUG") ? SK_LOG_DEBUG : SK_LOG_INFO;
	return log_level;
}

/* "2026-11-21T19:30:00.123Z" into buf (SK_LOG_TS_LEN bytes: room for
 * what gcc at -O2 deems the longest the format can print). */
#define SK_LOG_TS_LEN 96
static void
timestamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000);
}

/* A string field of o, unless value is empty. Bytes that are not UTF-8
 * become '?' (jansson takes UTF-8 only). */
static void
field(json_t *o, const char *key, const char *value)
{
	json_t *v;
	char *copy;

	if (value == NULL || value[0] == '\0')
		return;
	v = json_string(value);
	if (v == NULL && (copy = malloc(strlen(value) + 1)) != NULL) {
		memcpy(copy, value, strlen(value) + 1);
		for (char *p = copy; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		v = json_string(copy);
		free(copy);
	}
	if (v != NULL)
		json_object_set_new(o, key, v);
}

/* One JSON record; falls back to a text line when out of memory. */
static bool
json_line(int level, const char *text, const sk_err *err)
{
	char ts[SK_LOG_TS_LEN], *line = NULL;
	json_t *o = json_object();
	size_t n;

	if (o == NULL)
		return false;
	timestamp(ts, sizeof(ts));
	field(o, "time", ts);
	field(o, "level", level_names[level]);
	field(o, "component", log_program);
	field(o, "region", log_tag);
	field(o, "rollout", scope_rollout);
	field(o, "step", scope_step);
	field(o, "message", text);
	if (err != NULL) {
		field(o, "sqlstate", err->sqlstate);
		field(o, "detail", err->detail);
		field(o, "hint", err->hint);
	}
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (line == NULL)
		return false;
	n = strlen(line);
	line[n] = '\n'; /* over the NUL: written by length */
	/* Best effort, as for text. */
	if (write(STDERR_FILENO, line, n + 1) < 0)
		n = 0;
	free(line);
	return true;
}

static void
log_line(int level, const char *text)
{
	char line[2048], ts[SK_LOG_TS_LEN];
	int n;

	if (log_format == SK_LOG_FORMAT_JSON && json_line(level, text, NULL))
		return;
	timestamp(ts, sizeof(ts));
	n = snprintf(line, sizeof(line), "%s %s%s%s%s %s: %s\n", ts,
	    log_program, log_tag[0] ? "[" : "", log_tag, log_tag[0] ? "]" : "",
	    level_names[level], text);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* Best effort: a log line that cannot be written has nowhere to go. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void
sk_log(int level, const char *fmt, ...)
{
	char text[1800];
	va_list ap;

	if (level < SK_LOG_DEBUG || level > SK_LOG_ERROR)
		level = SK_LOG_ERROR;
	if (level < effective_level())
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_line(level, text);
}

void
sk_log_err(int level, const sk_err *err)
{
	if (err == NULL)
		return;
	if (log_format == SK_LOG_FORMAT_JSON) {
		if (level < SK_LOG_DEBUG || level > SK_LOG_ERROR)
			level = SK_LOG_ERROR;
		if (level < effective_level() || json_line(level, err->msg, err))
			return;
	}
	if (err->sqlstate[0])
		sk_log(level, "%s (%s)", err->msg, err->sqlstate);
	else
		sk_log(level, "%s", err->msg);
	if (err->detail[0])
		sk_log(level, "detail: %s", err->detail);
	if (err->hint[0])
		sk_log(level, "hint: %s", err->hint);
}

/* sk_log: timestamped stderr logging. One write(2) per record keeps lines
 * from different threads whole. */
#include "sk_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_program[64] = "skein";
static char log_tag[64];
static int log_level = -1;

static const char *const level_names[] = { "debug", "info", "warning", "error" };

void
sk_log_init(const char *program, const char *tag)
{
	snprintf(log_program, sizeof(log_program), "%s", program ? program : "skein");
	snprintf(log_tag, sizeof(log_tag), "%s", tag ? tag : "");
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

static void
log_line(int level, const char *text)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s%s%s%s %s: %s\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000, log_program, log_tag[0] ? "[" : "",
	    log_tag, log_tag[0] ? "]" : "", level_names[level], text);
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
	if (err->sqlstate[0])
		sk_log(level, "%s (%s)", err->msg, err->sqlstate);
	else
		sk_log(level, "%s", err->msg);
	if (err->detail[0])
		sk_log(level, "detail: %s", err->detail);
	if (err->hint[0])
		sk_log(level, "hint: %s", err->hint);
}

/* sk_log: one-line log records on stderr, for daemons and the CLI.
 *
 * Text records read "2026-11-21T19:30:00.123Z skein-agent[af] error:
 * <message>". With SK_LOG_FORMAT_JSON (log_format: json in agent.yaml or
 * coordinator.yaml) each record is one JSON object on a line:
 *
 *   {"time":"2026-11-21T19:30:00.123Z","level":"error",
 *    "component":"skein-agent","region":"af","rollout":"r-1",
 *    "step":"0001_add","message":"...","sqlstate":"55P03",
 *    "detail":"...","hint":"..."}
 *
 * time, level, component and message are always there; region, rollout,
 * step, sqlstate, detail and hint only when known (never null or "").
 * sk_log_err gives one record (detail and hint as fields) where text gives
 * up to three lines. docs/operations.md, "Logs".
 *
 * Thread-safe: each record is written with a single write(2).
 */
#ifndef SK_LOG_H
#define SK_LOG_H

#include "sk_err.h"

enum sk_log_level { SK_LOG_DEBUG, SK_LOG_INFO, SK_LOG_WARN, SK_LOG_ERROR };

/* Set the program name and an optional tag (a region) shown on each line.
 * Both strings are copied. Not thread-safe: call once at start. */
void sk_log_init(const char *program, const char *tag);

enum sk_log_format { SK_LOG_FORMAT_TEXT, SK_LOG_FORMAT_JSON };

/* Write records as text (the default) or JSON. Not thread-safe: call
 * once at start, before other threads log. */
void sk_log_set_format(int format);

/* The format named name ("text", "json"), or -1. */
int sk_log_format_parse(const char *name);

/* What the calling thread works on, for its records' rollout and step
 * fields: copied; NULL or "" clears one. Thread-local: each run thread
 * sets its own. */
void sk_log_scope(const char *rollout, const char *step);

/* Records below level are dropped. The default is SK_LOG_INFO, or
 * SK_LOG_DEBUG when SKEIN_DEBUG is set in the environment. */
void sk_log_set_level(int level);

void sk_log(int level, const char *fmt, ...) SK_PRINTF(2, 3);

/* Log err->msg at level, followed by its detail and hint lines if any. */
void sk_log_err(int level, const sk_err *err);

#define sk_debug(...) sk_log(SK_LOG_DEBUG, __VA_ARGS__)
#define sk_info(...) sk_log(SK_LOG_INFO, __VA_ARGS__)
#define sk_warn(...) sk_log(SK_LOG_WARN, __VA_ARGS__)
#define sk_error(...) sk_log(SK_LOG_ERROR, __VA_ARGS__)

#endif

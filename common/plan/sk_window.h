/* sk_window: when a phase's window (sk_phase.window) is open, and when it
 * opens next, in the window's time zone (daylight saving by the zone's
 * own rules); and an instant as local time in a zone, for people.
 *
 * These switch the process's TZ for the length of a call and put it
 * back: not thread-safe; the coordinator's loop and the CLI are single
 * threads.
 */
#ifndef SK_WINDOW_H
#define SK_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_plan.h"

/* Whether w is open at now_ms (*open), and if not when it next opens
 * (*opens_ms, the first whole second from which it is open; 0 when open
 * or it never opens within 8 days, which a valid window cannot do). A
 * window that is not set is always open. Days name the day a window
 * opens: one from 22:00 until 06:00 listed for fri is open Fri 22:00 to
 * Sat 06:00. */
void sk_window_eval(const sk_window *w, int64_t now_ms, bool *open, int64_t *opens_ms);

/* at_ms as "Mon 09:00:00 Europe/Berlin" in tz (NULL or "": UTC) into buf;
 * always NUL-terminated. */
void sk_window_local(int64_t at_ms, const char *tz, char *buf, size_t len);

#endif

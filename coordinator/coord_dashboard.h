/* coord_dashboard: the dashboard page the coordinator serves at `/`: one
 * self-contained HTML document (its CSS and JavaScript inlined, no external
 * URL), made from coordinator/dashboard/ at build time by
 * coordinator/dashboard/embed.cmake. The page reads the read-only HTTP API
 * (docs/operations.md, "Dashboard"); it holds no state of its own.
 */
#ifndef COORD_DASHBOARD_H
#define COORD_DASHBOARD_H

#include <stddef.h>

/* The page's bytes (UTF-8, no terminating NUL counted) and their number.
 * Constant and shared: serve them as they are (text/html; charset=utf-8),
 * never write or free them. */
extern const unsigned char coord_dashboard_html[];
extern const size_t coord_dashboard_html_len;

#endif

/* sk_view_flag: how flags show in what the CLI prints about a rollout
 * (docs/flags.md): a rollback's flags-first pass in `skein rollout
 * status` ("flags first: 2/3 regions flipped", and what each region that
 * has not flipped waits for), and every flag flip its agents reported in
 * `skein rollout report` (md, json). Pure rendering of the view and the
 * reports: thread-safe, borrows everything.
 */
#ifndef SK_VIEW_FLAG_H
#define SK_VIEW_FLAG_H

#include <jansson.h>
#include <stdio.h>

#include "sk_view_record.h"
#include "sk_view.h"
#include "sk_wire.h"

/* Status lines of v's flags-first pass, indented by two; nothing when v
 * has none. */
void sk_view_flag_status(FILE *out, const sk_rollout_view *v);

/* "## Feature flags": one row per flip reported (region, database, step,
 * flag, tenant, old -> new, pass); nothing when none was. */
void sk_view_flag_report_md(FILE *out, const sk_rec_src *src);

/* The same as a JSON array (empty when none); NULL when out of memory. */
json_t *sk_view_flag_report_json(const sk_rec_src *src);

#endif

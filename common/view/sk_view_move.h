/* sk_view_move: tenant moves in the execution record (`skein rollout
 * report`, docs/moves.md): per move, where it ran, its figures (rows,
 * bytes, changes, copy, catch-up, how long the tenant's writes were
 * held), the rehearsal's estimates, and both agents' signed sums opened
 * and compared table by table. Pure rendering of the reports: borrows
 * everything.
 */
#ifndef SK_VIEW_MOVE_H
#define SK_VIEW_MOVE_H

#include <jansson.h>
#include <stdio.h>

#include "sk_view_record.h"
#include "sk_wire.h"

/* "## Tenant moves": nothing when no report carries a move's end. */
void sk_view_move_report_md(FILE *out, const sk_rec_src *src);

/* The same as a JSON array (empty when none); NULL when out of memory. */
json_t *sk_view_move_report_json(const sk_rec_src *src);

/* A rehearsal's lines for region/database: each move step rehearsed
 * there, with its size and the estimates seed 003 announces by hand
 * (copy time, how long the tenant's writes are held, the rollback
 * bound), indented under the database's verdict. */
void sk_view_move_rehearsal_lines(
    FILE *out, const sk_rec_src *src, const char *region, const char *database);

#endif

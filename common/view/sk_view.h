/* sk_view: a rollout as JSON, one schema for every reader. The CLI
 * (`skein rollout status|list --json`) renders the views its control
 * socket replies decode into; the coordinator's HTTP API (coord_http)
 * renders the same views, built the way its control socket builds them.
 * Changing a key here changes both: the schema is docs/operations.md's.
 *
 * Ownership: every json_t * returned is a new reference the caller
 * json_decref()s; NULL only when out of memory. The *_json(obj, v)
 * functions add their keys to obj and return 0, or -1 out of memory.
 * Pure functions of their arguments: safe from any thread. */
#ifndef SK_VIEW_H
#define SK_VIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sk_plan.h"
#include "sk_wire.h"

/* ---- whole objects ------------------------------------------------------ */

/* One rollout: what `skein rollout status ID --json` prints. */
json_t *sk_view_rollout_json(const sk_rollout_view *v);

/* Every rollout of a SK_CLI_STATUS reply, one line's facts each: what
 * `skein rollout list --json` prints (an array; with the line's state,
 * {"line_stopped": bool, "rollouts": [...]}). */
json_t *sk_view_rollout_list_json(const sk_cli_response *resp);

/* Every region's agent as the coordinator sees it: what `skein agents
 * --json` prints and GET /api/v1/regions answers (an array). */
json_t *sk_view_agents_json(const sk_agent_view *v, size_t n);

/* A plan file: what `skein plan build --json` wrote (signer_key_id NULL)
 * or `skein plan verify --json` verified (the signer's key id, hex): path,
 * plan_id, name, created, expires, signed, signer_key_id, regions,
 * phases (name, regions), steps (id, kind, checksum, revert). The schema
 * is docs/formats.md's "A plan file as JSON". */
json_t *sk_view_plan_file_json(
    const sk_plan *plan, const char *path, const char *signer_key_id);

/* One event: {seq, time, region, step, message}, what the HTTP event
 * stream sends as an `event: log` message's data and `skein rollout wait
 * --json` prints one a line. */
json_t *sk_view_event_json(const sk_event_view *e);

/* ---- pieces (added to obj) ---------------------------------------------- */

/* "backup_before_revert" (null unless v reverts: skipped, skipped_by —
 * "--no-backup", "rollback_backup: false" or "" — operator and
 * operator_key of the --no-backup, "" otherwise) and "reapply" (null
 * unless an apply with --reapply: of_rollout, the rolled back apply,
 * operator, operator_key). */
int sk_view_decision_json(json_t *obj, const sk_rollout_view *v);

/* "paused" (null unless paused: operator, operator_key, at_ms, reason)
 * and "tune" (null unless tuned: max_rows_per_second, a number or "none";
 * batch_min, batch_max; each absent when never tuned). */
int sk_view_opctl_json(json_t *obj, const sk_rollout_view *v);

/* stopline: control, region_pauses, paused_by_line, left and, after an
 * abort, rollback_command. */
int sk_view_control_json(json_t *obj, const sk_rollout_view *v);

/* gate, waits_for (the gate's), approvals and gates. */
void sk_view_gate_json(json_t *o, const sk_rollout_view *v);

/* flags_first, when the rollout flips flags first (else nothing). */
int sk_view_flag_json(json_t *o, const sk_rollout_view *v);

/* A database's backfill (or move) progress; json_null() without one. */
json_t *sk_view_progress_json(const sk_database_view *d);

/* ---- facts both the text and the JSON show ------------------------------ */

/* Whether a run in mode undoes another rollout (a rollback). */
bool sk_view_mode_undoes(int mode);

/* Whether a run of v reverts without backups first (--no-backup or the
 * plan's rollback_backup: false). */
bool sk_view_backup_skipped(const sk_rollout_view *v);

/* "pause", "stop", "resume", "lift", "tune", "abort" or "unknown". */
const char *sk_view_control_action(const sk_control_view *c);

/* True if v was aborted, whole or in some regions. */
bool sk_view_any_abort(const sk_rollout_view *v);

/* What v's phase gate waits for, in words, into buf ("" none). */
void sk_view_gate_waits(const sk_rollout_view *v, char *buf, size_t len);

/* What v waits for, in words, into buf ("" when it waits for nothing:
 * it has ended well or badly). */
void sk_view_waits_for(const sk_rollout_view *v, char *buf, size_t len);

/* The name of v's current phase, or "-". */
const char *sk_view_phase_name(const sk_rollout_view *v);

/* How many regions of a flags-first rollout flipped. */
size_t sk_view_flag_flipped(const sk_rollout_view *v);

/* Whether d reports progress; its percent (-1 unknown, at most 99). */
bool sk_view_progress_has(const sk_database_view *d);
int sk_view_progress_percent(const sk_database_view *d);

/* Whether rate is a figure to show (finite, positive). */
bool sk_view_rate_known(double rate);

#endif

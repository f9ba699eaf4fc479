/* sk_plan_build_int: what the files of plan build share: sk_plan_build.c
 * (plan, limits, steps, phases, lint), sk_plan_build_sql.c (SQL files),
 * sk_plan_build_checks.c (checks and waivers), sk_plan_build_preflight.c
 * and sk_plan_build_yaml.c (the helpers they all use).
 * Internal to plan build: nothing outside those files includes it.
 * Errors are reported at their line and column in plan.yaml. */
#ifndef SK_PLAN_BUILD_INT_H
#define SK_PLAN_BUILD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sk_err.h"
#include "sk_config.h"
#include "sk_plan.h"
#include "sk_sql.h"
#include "sk_yaml.h"

/* Fills err with "build plan PATH: out of memory"; returns SK_ENOMEM. */
int build_oom(sk_err *err, const char *path);

/* True when map[key] is there and not null. */
bool build_present(const sk_yaml_node *map, const char *key);

/* True when s is empty or only white space. */
bool build_blank(const char *s);

/* map[key] as a duration in ms. Absent or null gives dflt; zero is
 * accepted (as 0) only when zero_ok. */
int build_yaml_duration(const sk_yaml_node *map, const char *key, bool zero_ok,
    int64_t dflt, int64_t *out, sk_err *err);

/* Parse sql, named name in messages; refuses SQL of comments only. When
 * out is not NULL it receives the script, which the caller destroys. */
int build_parse_sql(
    const char *name, const char *sql, sk_sql_script **out, sk_err *err);

/* build_parse_sql on the file rel of plan.yaml at yaml_path. */
int build_parse_sql_file(const char *yaml_path, const char *rel,
    const char *sql, sk_sql_script **out, sk_err *err);

/* An optional SQL file reference item[key], read and parsed: *rel and
 * *sql (caller frees) stay NULL when absent. When sc is not NULL it
 * receives the parsed script (caller destroys), so that a file is parsed
 * once. */
int build_step_script(const char *yaml_path, const sk_yaml_node *item, const char *key,
    int flags, char **rel, char **sql, sk_sql_script **sc, sk_err *err);

/* map[key] as a list of checks into *out / *n (NULL / 0 when absent).
 * On failure what was loaded stays in *out / *n for the plan to free. */
int build_checks(const char *yaml_path, const sk_yaml_node *map,
    const char *key, sk_check **out, size_t *n, sk_err *err);

/* map's waive: list into st->waivers / st->nwaivers. */
int build_waivers(const sk_yaml_node *map, sk_step *st, sk_err *err);

/* Whether kind is one of the data kinds (backfill, expand, contract),
 * whose bodies build_data_body reads. */
bool build_is_data_kind(int kind);

/* item's body for st->kind (set), a data kind: backfill, expand or
 * contract into st->backfill / st->expand (SK_EINVAL for another kind).
 * On failure what was loaded stays in st for the plan to free. The
 * caller refuses the data kinds' keys on steps of other kinds. */
int build_data_body(const sk_yaml_node *item, sk_step *st, sk_err *err);

/* flags: item's flag body (flag, value, tenants, residency through inv,
 * template) into st->flag (owned by st, also on failure). */
int build_flag_body(const sk_yaml_node *item, const sk_inventory *inv,
    sk_step *st, sk_err *err);

/* tenant moves: item's move body (tenant, from, to, tables or discover,
 * stay, event, route, freeze_timeout, max_lag, purge) into st->move
 * (owned by st, also on failure). from and to must be among the plan's
 * regions (and in inv, when given). */
int build_move_body(const sk_yaml_node *item, const sk_inventory *inv,
    char *const *regions, size_t nregions, sk_step *st, sk_err *err);

/* root's preflight: mapping into *pf; absent leaves *pf untouched. */
int build_preflight(const sk_yaml_node *root, sk_preflight *pf, sk_err *err);

/* item's gates (soak, checks, health, sample, approval, window) into
 * ph, whose name is set. On failure what was loaded stays in ph for the
 * plan to free. */
int build_gates(const sk_yaml_node *item, sk_phase *ph, sk_err *err);

#endif

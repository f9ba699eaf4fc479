/* sk_plan_build: a plan from a plan directory (plan.yaml plus SQL files),
 * as an operator writes it. Plan authoring is the CLI's job: the agent and
 * the coordinator only decode signed plans (sk_plan.h) and never link this.
 */
#ifndef SK_PLAN_BUILD_H
#define SK_PLAN_BUILD_H

#include <stdint.h>

#include "sk_config.h"
#include "sk_err.h"
#include "sk_plan.h"

/* Build a plan from dir/plan.yaml. Phases that select by residency are
 * resolved against inv (which may be NULL only if no phase uses
 * residency; a phase naming a region absent from a non-NULL inv is an
 * error). now_unix is the creation time. Errors name the file, and for
 * YAML the line and column, for SQL the line and the parser's message.
 * Every SQL text must parse, and the plan must pass the lint: an unwaived
 * error-severity finding fails with SK_ELINT (sk_plan_build_lint in
 * sk_lint.h also returns the findings). On success *out is owned by the
 * caller. */
int sk_plan_build(const char *dir, const sk_inventory *inv, int64_t now_unix,
    sk_plan **out, sk_err *err) SK_WARN_UNUSED;

#endif

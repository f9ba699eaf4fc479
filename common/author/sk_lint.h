/* sk_lint: the migration policy, checked on a plan's SQL before it is
 * built. Each rule has an id, a severity, a one-line explanation and a
 * fix (docs/lint.md says why each exists). A step waives a rule with a
 * written reason in plan.yaml; an unwaived error-severity finding blocks
 * `skein plan build`.
 *
 * Ownership: findings own their strings (not the rule they point to);
 * sk_lint_findings_free frees an array of them.
 */
#ifndef SK_LINT_H
#define SK_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sk_config.h"
#include "sk_err.h"
#include "sk_plan.h"
#include "sk_sql.h"

enum sk_lint_severity {
	SK_LINT_WARNING = 1,
	SK_LINT_ERROR = 2,
};

typedef struct sk_lint_rule {
	const char *id;      /* short kebab-case, e.g. "drop-column" */
	int severity;        /* enum sk_lint_severity */
	const char *summary; /* what it catches, one line */
	const char *fix;     /* what to do instead, one line */
} sk_lint_rule;

typedef struct sk_lint_finding {
	const sk_lint_rule *rule; /* static; never freed */
	char *step;               /* step id */
	char *file;    /* the step's sql_path, or "plan.yaml" for waivers */
	int line;      /* 1-based; 0 when the finding has no line */
	char *message; /* what this statement does, one line */
	bool waived;
	char *reason; /* the waiver's reason when waived, else NULL */
} sk_lint_finding;

/* Column names that make a table tenant-scoped for the rule
 * tenant-table-without-rls (listed in docs/lint.md). NULL-terminated. */
extern const char *const sk_lint_tenant_columns[];

/* Every rule, in the order docs/lint.md lists them; *n is set to how many.
 * Static storage. */
const sk_lint_rule *sk_lint_rules(size_t *n);

/* The rule with that id, or NULL. */
const sk_lint_rule *sk_lint_rule_find(const char *id);

/* Lint every step of plan in order (a table created by an earlier
 * statement of the plan is not "existing"). Findings come in step order,
 * then line order; a finding whose rule the step waives is marked waived
 * with the waiver's reason, and a waiver whose rule did not fire yields
 * an unused-waiver warning. On success *out (NULL when *n is 0) is owned
 * by the caller. Fails, with nothing allocated, with SK_EINVAL when a
 * step's SQL does not parse (FILE:LINE: and the parser's message) or a
 * step waives a rule that does not exist, or SK_ENOMEM. Having findings,
 * even blocking ones, is not a failure: see sk_lint_blocking. */
int sk_lint_plan(const sk_plan *plan, sk_lint_finding **out, size_t *n,
    sk_err *err) SK_WARN_UNUSED;

/* sk_lint_plan with the steps' SQL already parsed: scripts[i] (borrowed;
 * NULL, or a NULL scripts, means parse it here) is step i's
 * sk_sql_parse result, so that plan build parses each file once. */
int sk_lint_plan_parsed(const sk_plan *plan, sk_sql_script *const *scripts,
    sk_lint_finding **out, size_t *n, sk_err *err) SK_WARN_UNUSED;

/* Free n findings and the array. Accepts NULL. */
void sk_lint_findings_free(sk_lint_finding *f, size_t n);

/* How many findings are unwaived errors (the ones that block a build). */
size_t sk_lint_blocking(const sk_lint_finding *f, size_t n);

/* Print findings as "FILE:LINE: SEVERITY RULE: message", an indented
 * "fix: ..." and, when waived, "waived (reason: ...)". dir, when not NULL,
 * is the plan directory the files are relative to. */
void sk_lint_print(FILE *out, const char *dir, const sk_lint_finding *f, size_t n);

/* One line: "lint: N errors (W waived), M warnings" or "lint: no findings". */
void sk_lint_print_summary(FILE *out, const sk_lint_finding *f, size_t n);

/* Findings as one JSON object: {"findings": [...], "errors": N,
 * "warnings": M, "waived": W, "blocking": B}. SK_ENOMEM or SK_EIO. */
int sk_lint_print_json(FILE *out, const char *dir, const sk_lint_finding *f,
    size_t n, sk_err *err) SK_WARN_UNUSED;

/* The rule table: id, severity, explanation and fix of each. */
void sk_lint_print_rules(FILE *out);

/* Findings as a SARIF 2.1.0 log: one run of the tool "skein" whose
 * driver lists every rule (id, summary, fix, default level), and one
 * result per finding (ruleId, ruleIndex, level, message with the fix,
 * the file as a relative URI and the line when known); a waived
 * finding carries an external suppression with the waiver's reason.
 * SK_ENOMEM or SK_EIO. */
int sk_lint_print_sarif(FILE *out, const char *dir, const sk_lint_finding *f,
    size_t n, sk_err *err) SK_WARN_UNUSED;

/* Findings as GitHub Actions workflow commands, one line each:
 * "::error file=F,line=L,title=skein lint RULE::message%0Afix: ..." (or
 * ::warning; a waived finding is a ::notice with its reason), escaped as
 * the runner expects. */
void sk_lint_print_github(
    FILE *out, const char *dir, const sk_lint_finding *f, size_t n);

/* When err holds a syntax error from sk_sql_parse (SK_EINVAL with the
 * parser's "FILE:LINE: syntax error" message), fill an empty err->hint
 * with the PostgreSQL version whose grammar skein reads and what to do
 * with syntax newer than that. Anything else is left as it is. Accepts
 * NULL. */
void sk_lint_hint_syntax(sk_err *err);

/* Options for sk_lint_files. */
typedef struct sk_lint_options {
	bool no_transaction;     /* lint every file as transaction: false */
	uint32_t server_version; /* server_version_num; 0: not known */
} sk_lint_options;

/* Lint bare SQL files, outside a plan: each file is a step (id and file:
 * its path as given), in the order given, so a table created by an
 * earlier file counts as the plan's own. sqls[i] is the text of
 * paths[i]. Same rules, findings and ownership as sk_lint_plan, without
 * waivers. Fails, with nothing allocated, with SK_EINVAL when a file
 * does not parse (FILE:LINE:, and the syntax hint), or SK_ENOMEM. */
int sk_lint_files(const char *const *paths, const char *const *sqls, size_t n,
    const sk_lint_options *opt, sk_lint_finding **out, size_t *nout,
    sk_err *err) SK_WARN_UNUSED;

/* sk_plan_build, then check every SQL text of the plan with the parser
 * and lint its steps (implemented in sk_plan_build.c). On success *out is
 * the plan. When findings is not NULL, *findings and *nfindings receive
 * the lint findings (caller frees with sk_lint_findings_free) both on
 * success and when the build fails with SK_ELINT (an unwaived error); on
 * any other failure they are set to NULL and 0. */
int sk_plan_build_lint(const char *dir, const sk_inventory *inv,
    int64_t now_unix, sk_plan **out, sk_lint_finding **findings,
    size_t *nfindings, sk_err *err) SK_WARN_UNUSED;

#endif

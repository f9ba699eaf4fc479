/* sk_plan_build: a plan directory (plan.yaml plus SQL files) into an
 * sk_plan. Everything an operator can get wrong is caught here, before a
 * plan is signed, and reported at its line and column in plan.yaml, or
 * for SQL at its line in the SQL file; then the plan is linted. This file
 * holds the plan, its limits, steps and phases; SQL files, checks and
 * waivers, and preflight have files of their own (sk_plan_build_int.h). */
#include "sk_plan_build.h"

#include <stdlib.h>
#include <string.h>

#include "sk_lint.h"
#include "sk_plan_build_int.h"
#include "sk_sql.h"
#include "sk_util.h"
#include "sk_yaml.h"

#define DEFAULT_EXPIRY "72h"

static const char *const plan_keys[] = { "name", "expires", "defaults",
	"backup", "rollback_backup", "preflight", "phases", "steps", NULL };
static const char *const phase_keys[] = { "name", "regions", "residency", "pre", "post",
	/* gates: sk_plan_build_gates.c */
	"soak", "checks", "health", "sample", "approval", "window", NULL };
static const char *const step_keys[] = { "id", "kind", "sql", "revert",
	"verify", "transaction", "pre", "post", "checks", "lock_timeout",
	"statement_timeout", "lock_retries", "retry_backoff", "waive",
	/* the data kinds' own, from here on: data_keys */
	"table", "update", "where", "column", "type", "from", "using",
	"reverse", "batch", "max_rows_per_second", "max_replication_lag",
	"throttle_query", "autovacuum", "dead_man", "workers",
	/* flags: a flag step's own, from here on: flag_keys */
	"flag", "value", "tenants", "residency", "template",
	/* tenant moves: a move_tenant step's own (and "from"), from here
	 * on: move_keys */
	"tenant", "to", "tables", "discover", "stay", "event", "route",
	"freeze_timeout", "max_lag", "purge", "max_copy_rate", "parallel", NULL };
static const char *const *const data_keys = &step_keys[14];
static const char *const *const flag_keys = &step_keys[29];
static const char *const *const move_keys = &step_keys[34];
static const char *const limit_keys[] = { "lock_timeout", "statement_timeout",
	"lock_retries", "retry_backoff", NULL };

/* A step's effective limits while they are being resolved. */
typedef struct limits {
	int64_t lock_timeout_ms;
	int64_t statement_timeout_ms;
	int64_t lock_retries;
	int64_t retry_backoff_ms;
} limits;

/* map's limit keys over base into *out. */
static int
load_limits(const sk_yaml_node *map, const limits *base, limits *out, sk_err *err)
{
	int rc;

	rc = build_yaml_duration(map, "lock_timeout", true,
	    base->lock_timeout_ms, &out->lock_timeout_ms, err);
	if (rc == SK_OK)
		rc = build_yaml_duration(map, "statement_timeout", true,
		    base->statement_timeout_ms, &out->statement_timeout_ms, err);
	if (rc == SK_OK)
		rc = sk_yaml_int(map, "lock_retries", base->lock_retries, 0,
		    SK_LOCK_RETRIES_MAX, &out->lock_retries, err);
	if (rc == SK_OK)
		rc = build_yaml_duration(map, "retry_backoff", false,
		    base->retry_backoff_ms, &out->retry_backoff_ms, err);
	return rc;
}

static int
load_defaults(const sk_yaml_node *root, limits *out, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(root, "defaults");
	const limits builtin = {
		.lock_timeout_ms = SK_DEFAULT_LOCK_TIMEOUT_MS,
		.statement_timeout_ms = SK_DEFAULT_STATEMENT_TIMEOUT_MS,
		.lock_retries = SK_DEFAULT_LOCK_RETRIES,
		.retry_backoff_ms = SK_DEFAULT_RETRY_BACKOFF_MS,
	};
	int rc;

	*out = builtin;
	if (node == NULL || sk_yaml_is_null(node))
		return SK_OK;
	rc = sk_yaml_expect(node, SK_YAML_MAPPING,
	    "a mapping of lock_timeout, statement_timeout, lock_retries and "
	    "retry_backoff",
	    err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(node, limit_keys, err);
	if (rc == SK_OK)
		rc = load_limits(node, &builtin, out, err);
	return rc;
}

/* What plan build learns from a step's SQL, parsed once into sc (kept
 * for the lint): the indexes it builds concurrently (for the agent's
 * INVALID-index check) and its checksums. */
static int
step_sql(sk_step *st, const sk_sql_script *sc, sk_err *err)
{
	int rc;

	rc = sk_sql_concurrent_indexes(
	    sc, &st->concurrent_indexes, &st->nconcurrent_indexes, err);
	if (rc == SK_OK)
		rc = sk_step_checksum(st, st->checksum, err);
	if (rc == SK_OK)
		sk_step_text_checksum(st, st->text_checksum);
	return rc;
}

/* The keys of [from, to) on item refused for st's kind, but except. */
static int
refuse_keys(const sk_yaml_node *item, const sk_step *st, const char *const *from,
    const char *const *to, const char *except, sk_err *err)
{
	for (const char *const *k = from; k != to && *k != NULL; k++)
		if ((except == NULL || strcmp(*k, except) != 0) &&
		    sk_yaml_get(item, *k) != NULL)
			return sk_yaml_error(err, SK_EINVAL,
			    sk_yaml_get(item, *k), "a step of kind %s has no %s",
			    sk_step_kind_name(st->kind), *k);
	return SK_OK;
}

/* item's body when st is of a data kind (build_data_body), a flag or a
 * tenant move; any other kind must not carry their keys. */
static int
data_body(const sk_yaml_node *item, const sk_inventory *inv,
    const sk_plan *plan, sk_step *st, sk_err *err)
{
	bool flag = st->kind == SK_STEP_FLAG;
	bool move = st->kind == SK_STEP_MOVE_TENANT || st->kind == SK_STEP_PURGE_TENANT;
	int rc = SK_OK;

	/* flags: a flag step's keys on another kind, and the data kinds'
	 * keys on a flag step, are refused like the rest; so are a move's
	 * (which shares "from" with expand). */
	if (!move)
		rc = refuse_keys(item, st, move_keys, NULL, NULL, err);
	if (rc == SK_OK && !flag)
		rc = refuse_keys(item, st, flag_keys, move_keys, NULL, err);
	if (rc != SK_OK)
		return rc;
	if (build_is_data_kind(st->kind))
		return build_data_body(item, st, err);
	rc = refuse_keys(item, st, data_keys, flag_keys, move ? "from" : NULL, err);
	if (rc != SK_OK)
		return rc;
	if (move)
		return build_move_body(
		    item, inv, plan->regions, plan->nregions, st, err);
	return flag ? build_flag_body(item, inv, st, err) : SK_OK;
}

/* item's kind: ("sql" when absent) into st->kind. */
static int
step_kind(const sk_yaml_node *item, sk_step *st, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(item, "kind");
	char *name = NULL;
	int rc;

	st->kind = SK_STEP_SQL;
	if (node == NULL || sk_yaml_is_null(node))
		return SK_OK;
	rc = sk_yaml_node_string(node, SK_YAML_NONEMPTY,
	    "a step kind: sql, check, backfill, expand, contract, flag, "
	    "move_tenant or purge_tenant",
	    &name, err);
	if (rc != SK_OK)
		return rc;
	st->kind = sk_step_kind_by_name(name);
	if (st->kind == 0)
		rc = sk_yaml_error(err, SK_EINVAL, node,
		    "unknown step kind \"%s\" (expected sql, check, backfill, "
		    "expand, contract, flag, move_tenant or purge_tenant)",
		    name);
	free(name);
	return rc;
}

static int
load_steps(const char *yaml_path, const sk_yaml_node *root, const limits *dflt,
    const sk_inventory *inv, sk_plan *plan, sk_sql_script ***scripts, sk_err *err)
{
	const sk_yaml_node *list = sk_yaml_get(root, "steps");
	int rc;

	if (list == NULL)
		return sk_yaml_error(
		    err, SK_EINVAL, root, "missing required key \"steps\"");
	rc = sk_yaml_expect(list, SK_YAML_SEQUENCE, "a list of steps", err);
	if (rc != SK_OK)
		return rc;
	if (list->nitems == 0)
		return sk_yaml_error(err, SK_EINVAL, list,
		    "expected a list of steps, got an empty list");
	plan->steps = calloc(list->nitems, sizeof(*plan->steps));
	*scripts = calloc(list->nitems, sizeof(**scripts));
	if (plan->steps == NULL || *scripts == NULL)
		return build_oom(err, yaml_path);
	for (size_t i = 0; i < list->nitems; i++) {
		const sk_yaml_node *item = list->items[i];
		sk_step *st = &plan->steps[i];
		bool tx = true;
		limits lim;

		rc = sk_yaml_expect(item, SK_YAML_MAPPING,
		    "a step mapping with id and sql", err);
		if (rc == SK_OK)
			rc = sk_yaml_check_keys(item, step_keys, err);
		if (rc != SK_OK)
			return rc;
		plan->nsteps = i + 1;
		rc = step_kind(item, st, err);
		if (rc == SK_OK)
			rc = sk_yaml_name(item, "id", "step", &st->id, err);
		if (rc != SK_OK)
			return rc;
		for (size_t j = 0; j < i; j++) {
			const sk_yaml_node *first;

			if (strcmp(plan->steps[j].id, st->id) != 0)
				continue;
			first = sk_yaml_get(list->items[j], "id");
			return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(item, "id"),
			    "duplicate step id \"%s\" (first at line %d, column %d)",
			    st->id, first->line, first->col);
		}
		/* Only a SQL step has SQL; its kind's rules (sk_step_validate)
		 * refuse what a kind must not have, below. */
		rc = build_step_script(yaml_path, item, "sql",
		    st->kind == SK_STEP_SQL ? SK_YAML_REQUIRED : 0,
		    &st->sql_path, &st->sql, &(*scripts)[i], err);
		if (rc == SK_OK)
			rc = build_step_script(yaml_path, item, "revert", 0,
			    &st->revert_path, &st->revert, NULL, err);
		if (rc == SK_OK)
			rc = build_step_script(yaml_path, item, "verify", 0,
			    &st->verify_path, &st->verify, NULL, err);
		if (rc == SK_OK)
			rc = sk_yaml_bool(item, "transaction", true, &tx, err);
		if (rc != SK_OK)
			return rc;
		st->no_transaction = !tx;
		rc = load_limits(item, dflt, &lim, err);
		if (rc == SK_OK)
			rc = build_checks(
			    yaml_path, item, "pre", &st->pre, &st->npre, err);
		if (rc == SK_OK)
			rc = build_checks(yaml_path, item, "post", &st->post,
			    &st->npost, err);
		if (rc == SK_OK)
			rc = build_checks(yaml_path, item, "checks",
			    &st->checks, &st->nchecks, err);
		if (rc == SK_OK)
			rc = build_waivers(item, st, err);
		if (rc == SK_OK)
			rc = data_body(item, inv, plan, st, err);
		if (rc != SK_OK)
			return rc;
		st->lock_timeout_ms = lim.lock_timeout_ms;
		st->statement_timeout_ms = lim.statement_timeout_ms;
		st->lock_retries = (uint32_t)lim.lock_retries;
		st->retry_backoff_ms = lim.retry_backoff_ms;
		if (sk_step_validate(st, err) != SK_OK) {
			char why[SK_ERR_MSG_MAX];

			snprintf(why, sizeof(why), "%s", err->msg);
			return sk_yaml_error(
			    err, SK_EINVAL, item, "step %s %s", st->id, why);
		}
		if (st->kind == SK_STEP_SQL)
			rc = step_sql(st, (*scripts)[i], err);
		else
			rc = sk_step_checksum(st, st->checksum, err);
		if (rc != SK_OK)
			return rc;
	}
	return SK_OK;
}

static bool
has_name(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Append a copy of name to the phase unless it is there already: a region
 * both named and selected by residency is listed once. */
static int
phase_add(sk_phase *ph, const char *name)
{
	if (has_name(ph->regions, ph->nregions, name))
		return SK_OK;
	ph->regions[ph->nregions] = sk_strdup(name);
	if (ph->regions[ph->nregions] == NULL)
		return SK_ENOMEM;
	ph->nregions++;
	return SK_OK;
}

static int
phase_by_name(const sk_yaml_node *item, const sk_inventory *inv, sk_phase *ph,
    sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(item, "regions");
	char **names = NULL;
	size_t n = 0;
	int rc;

	rc = sk_yaml_string_list(item, "regions", 0, "region names", &names, &n, err);
	if (rc != SK_OK)
		return rc;
	for (size_t k = 0; k < n && rc == SK_OK; k++) {
		if (!sk_name_valid(names[k]))
			rc = sk_yaml_error(err, SK_EINVAL, node->items[k],
			    "\"%.80s\" is not a valid region name", names[k]);
		else if (inv != NULL && sk_inventory_find(inv, names[k]) == NULL)
			rc = sk_yaml_error(err, SK_EINVAL, node->items[k],
			    "phase %s names region \"%s\", which is not in the "
			    "inventory %s",
			    ph->name, names[k], inv->dir ? inv->dir : "");
		else if (phase_add(ph, names[k]) != SK_OK)
			rc = build_oom(err, item->file);
	}
	sk_strv_free(names, n);
	return rc;
}

static int
phase_by_residency(const sk_yaml_node *item, const sk_inventory *inv,
    sk_phase *ph, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(item, "residency");
	int rc;

	rc = sk_yaml_string_list(item, "residency", 0, "residencies",
	    &ph->residency, &ph->nresidency, err);
	if (rc != SK_OK || node == NULL || sk_yaml_is_null(node))
		return rc;
	if (inv == NULL)
		return sk_yaml_error(err, SK_EINVAL, node,
		    "phase %s selects by residency: pass --regions DIR so the plan "
		    "names its regions",
		    ph->name);
	for (size_t k = 0; k < ph->nresidency; k++) {
		size_t matched = 0;

		for (size_t r = 0; r < inv->nregions; r++) {
			if (strcmp(inv->regions[r].residency, ph->residency[k]) != 0)
				continue;
			matched++;
			if (phase_add(ph, inv->regions[r].name) != SK_OK)
				return build_oom(err, item->file);
		}
		if (matched == 0)
			return sk_yaml_error(err, SK_EINVAL, node->items[k],
			    "residency \"%s\" matches no region in the inventory %s",
			    ph->residency[k], inv->dir ? inv->dir : "");
	}
	return SK_OK;
}

static int
load_phase(const sk_yaml_node *item, const sk_inventory *inv, sk_plan *plan,
    size_t i, sk_err *err)
{
	sk_phase *ph = &plan->phases[i];
	size_t cap;
	int rc;

	rc = sk_yaml_name(item, "name", "phase", &ph->name, err);
	if (rc != SK_OK)
		return rc;
	for (size_t j = 0; j < i; j++)
		if (strcmp(plan->phases[j].name, ph->name) == 0)
			return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(item, "name"),
			    "duplicate phase name \"%s\"", ph->name);
	if (!build_present(item, "regions") && !build_present(item, "residency"))
		return sk_yaml_error(err, SK_EINVAL, item,
		    "phase %s needs regions, residency or both", ph->name);
	/* Room for every region the phase could name or match. */
	cap = 1 + (inv ? inv->nregions : 0);
	if (sk_yaml_get(item, "regions") != NULL)
		cap += sk_yaml_get(item, "regions")->nitems;
	ph->regions = calloc(cap, sizeof(*ph->regions));
	if (ph->regions == NULL)
		return build_oom(err, item->file);
	rc = phase_by_name(item, inv, ph, err);
	if (rc == SK_OK)
		rc = phase_by_residency(item, inv, ph, err);
	if (rc != SK_OK)
		return rc;
	if (ph->nregions == 0)
		return sk_yaml_error(err, SK_EINVAL, item,
		    "phase %s selects no regions", ph->name);
	rc = build_checks(item->file, item, "pre", &ph->pre, &ph->npre, err);
	if (rc == SK_OK)
		rc = build_checks(item->file, item, "post", &ph->post, &ph->npost, err);
	if (rc == SK_OK)
		rc = build_gates(item, ph, err);
	if (rc != SK_OK)
		return rc;
	for (size_t k = 0; k < ph->nregions; k++)
		for (size_t j = 0; j < i; j++)
			if (has_name(plan->phases[j].regions,
				plan->phases[j].nregions, ph->regions[k]))
				return sk_yaml_error(err, SK_EINVAL, item,
				    "region %s is in phase %s and in phase %s: a region "
				    "belongs to one phase only",
				    ph->regions[k], plan->phases[j].name, ph->name);
	return SK_OK;
}

static int
load_phases(const char *yaml_path, const sk_yaml_node *root,
    const sk_inventory *inv, sk_plan *plan, sk_err *err)
{
	const sk_yaml_node *list = sk_yaml_get(root, "phases");
	size_t total = 0;
	int rc;

	if (list == NULL)
		return sk_yaml_error(
		    err, SK_EINVAL, root, "missing required key \"phases\"");
	rc = sk_yaml_expect(list, SK_YAML_SEQUENCE, "a list of phases", err);
	if (rc != SK_OK)
		return rc;
	if (list->nitems == 0)
		return sk_yaml_error(err, SK_EINVAL, list,
		    "expected a list of phases, got an empty list");
	plan->phases = calloc(list->nitems, sizeof(*plan->phases));
	if (plan->phases == NULL)
		return build_oom(err, yaml_path);
	for (size_t i = 0; i < list->nitems; i++) {
		const sk_yaml_node *item = list->items[i];

		rc = sk_yaml_expect(item, SK_YAML_MAPPING,
		    "a phase mapping with name and regions or residency", err);
		if (rc == SK_OK)
			rc = sk_yaml_check_keys(item, phase_keys, err);
		if (rc != SK_OK)
			return rc;
		plan->nphases = i + 1;
		rc = load_phase(item, inv, plan, i, err);
		if (rc != SK_OK)
			return rc;
		total += plan->phases[i].nregions;
	}
	/* Phases are disjoint, so the union is their concatenation. */
	plan->regions = calloc(total, sizeof(*plan->regions));
	if (plan->regions == NULL)
		return build_oom(err, yaml_path);
	for (size_t i = 0; i < plan->nphases; i++)
		for (size_t k = 0; k < plan->phases[i].nregions; k++) {
			plan->regions[plan->nregions] =
			    sk_strdup(plan->phases[i].regions[k]);
			if (plan->regions[plan->nregions] == NULL)
				return build_oom(err, yaml_path);
			plan->nregions++;
		}
	return SK_OK;
}

static int
load_plan(const char *yaml_path, const sk_yaml_node *root, const sk_inventory *inv,
    int64_t now_unix, sk_plan *plan, sk_sql_script ***scripts, sk_err *err)
{
	char id[sizeof("p-") + 12];
	char *expires = NULL;
	int64_t ms = 0;
	limits dflt;
	int rc;

	rc = sk_yaml_expect(root, SK_YAML_MAPPING,
	    "a plan mapping with name, phases and steps", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(root, plan_keys, err);
	if (rc == SK_OK)
		rc = sk_yaml_name(root, "name", "plan", &plan->name, err);
	if (rc == SK_OK)
		rc = sk_yaml_string(root, "expires", SK_YAML_NONEMPTY, &expires, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_duration_parse(expires ? expires : DEFAULT_EXPIRY, &ms, err);
	free(expires);
	if (rc != SK_OK) {
		const sk_yaml_node *node = sk_yaml_get(root, "expires");

		if (node == NULL)
			return rc;
		return sk_err_wrap(err, "%s:%d:%d: expires", node->file,
		    node->line, node->col);
	}
	rc = load_defaults(root, &dflt, err);
	if (rc == SK_OK)
		rc = sk_yaml_bool(root, "backup", false, &plan->backup, err);
	/* A rollback backs each database up before its first revert unless
	 * the plan says otherwise (a plan whose reverts lose nothing). */
	if (rc == SK_OK) {
		bool rollback_backup = true;

		rc = sk_yaml_bool(root, "rollback_backup", true, &rollback_backup, err);
		plan->no_rollback_backup = !rollback_backup;
	}
	if (rc == SK_OK)
		rc = build_preflight(root, &plan->preflight, err);
	if (rc == SK_OK)
		rc = load_phases(yaml_path, root, inv, plan, err);
	if (rc == SK_OK)
		rc = load_steps(yaml_path, root, &dflt, inv, plan, scripts, err);
	if (rc != SK_OK)
		return rc;
	sk_random_id("p-", id, sizeof(id));
	plan->id = sk_strdup(id);
	if (plan->id == NULL)
		return build_oom(err, yaml_path);
	plan->created_unix = now_unix;
	/* Round up: a plan never expires before the duration it was given. */
	plan->expires_unix = now_unix + (ms + 999) / 1000;
	return SK_OK;
}

/* Lint plan; an unwaived error fails with SK_ELINT naming the first
 * ones. The findings go to *findings when it is not NULL. */
static int
lint(const char *dir, const sk_plan *plan, sk_sql_script *const *scripts,
    sk_lint_finding **findings, size_t *nfindings, sk_err *err)
{
	sk_lint_finding *f = NULL;
	size_t n = 0, blocking, shown = 0, len;
	int rc;

	rc = sk_lint_plan_parsed(plan, scripts, &f, &n, err);
	if (rc != SK_OK)
		return rc;
	blocking = sk_lint_blocking(f, n);
	if (blocking > 0 && err == NULL) {
		rc = SK_ELINT;
	} else if (blocking > 0) {
		rc = sk_err_set(err, SK_ELINT,
		    "build plan %s: %zu lint %s not waived:", dir, blocking,
		    blocking == 1 ? "error" : "errors");
		for (size_t i = 0; i < n && shown < 3; i++) {
			if (f[i].rule->severity != SK_LINT_ERROR || f[i].waived)
				continue;
			len = strlen(err->msg);
			snprintf(err->msg + len, sizeof(err->msg) - len,
			    "%s %s (%s/%s:%d)", shown ? "," : "", f[i].rule->id,
			    dir, f[i].file, f[i].line);
			shown++;
		}
		snprintf(err->hint, sizeof(err->hint),
		    "follow each finding's fix, or waive the rule on its step in "
		    "plan.yaml (waive: - rule: ID, reason: why it is safe); "
		    "skein plan lint %s shows them all",
		    dir);
	}
	if (findings != NULL) {
		*findings = f;
		*nfindings = n;
	} else {
		sk_lint_findings_free(f, n);
	}
	return rc;
}

int
sk_plan_build(const char *dir, const sk_inventory *inv, int64_t now_unix,
    sk_plan **out, sk_err *err)
{
	return sk_plan_build_lint(dir, inv, now_unix, out, NULL, NULL, err);
}

int
sk_plan_build_lint(const char *dir, const sk_inventory *inv, int64_t now_unix,
    sk_plan **out, sk_lint_finding **findings, size_t *nfindings, sk_err *err)
{
	sk_yaml_doc *doc = NULL;
	sk_plan *plan = NULL;
	sk_sql_script **scripts = NULL; /* per step, parsed once for the lint */
	char *yaml_path, *text = NULL;
	size_t len = 0;
	int rc;

	if (findings != NULL) {
		*findings = NULL;
		*nfindings = 0;
	}

	yaml_path = sk_path_join(dir, "plan.yaml");
	if (yaml_path == NULL)
		return build_oom(err, dir);
	/* plan.yaml too is only read as a regular file inside dir: a FIFO
	 * there must not hang a CI job, a link must not read /etc. */
	rc = sk_file_read_in_dir(
	    dir, "plan.yaml", "plan file", SK_YAML_MAX_BYTES, &text, &len, err);
	if (rc == SK_OK)
		rc = sk_yaml_parse(yaml_path, text, len, &doc, err);
	free(text);
	if (rc != SK_OK)
		goto out;
	plan = calloc(1, sizeof(*plan));
	if (plan == NULL) {
		rc = build_oom(err, yaml_path);
		goto out;
	}
	rc = load_plan(
	    yaml_path, sk_yaml_root(doc), inv, now_unix, plan, &scripts, err);
	if (rc == SK_OK)
		rc = lint(dir, plan, scripts, findings, nfindings, err);
out:
	if (scripts != NULL)
		for (size_t i = 0; i < plan->nsteps; i++)
			sk_sql_script_destroy(scripts[i]);
	free(scripts);
	sk_yaml_destroy(doc);
	free(yaml_path);
	if (rc != SK_OK) {
		sk_plan_destroy(plan);
		return rc;
	}
	*out = plan;
	return SK_OK;
}

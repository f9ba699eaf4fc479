/* sk_plan_validate: everything sk_plan_decode promises about a plan,
 * checked on its protobuf form before a single field is copied out:
 * names, limits, checks, waivers, preflight and each step's checksums. */
#include "sk_plan.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "sk_plan_int.h"
#include "sk_util.h"
#include "skein.pb-c.h"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted copy of the n pointers in v (not the strings); NULL on OOM. */
static char **
sorted_copy(char *const *v, size_t n)
{
	char **s = malloc((n + 1) * sizeof(*s));

	if (s == NULL)
		return NULL;
	if (n > 0) {
		memcpy(s, v, n * sizeof(*s));
		qsort(s, n, sizeof(*s), cmp_str);
	}
	return s;
}

/* First string that occurs twice in sorted v, or NULL. Sorting keeps a
 * hostile plan with many entries from costing quadratic time. */
static const char *
sorted_duplicate(char *const *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i - 1], v[i]) == 0)
			return v[i];
	return NULL;
}

static bool
sorted_contains(char *const *v, size_t n, const char *s)
{
	return bsearch(&s, v, n, sizeof(*v), cmp_str) != NULL;
}

/* Check names with sk_name_valid and for duplicates. what names them in
 * the message ("step id", "region of phase canary"). */
static int
check_names(char *const *v, size_t n, const char *what, const char *plan, sk_err *err)
{
	char **sorted;
	const char *dup;

	for (size_t i = 0; i < n; i++)
		if (!sk_name_valid(v[i]))
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: invalid %s \"%.64s\" (1-63 characters of "
			    "A-Z a-z 0-9 _ . -, not starting with . or -)",
			    plan, what, v[i]);
	sorted = sorted_copy(v, n);
	if (sorted == NULL)
		return sk_err_set(err, SK_ENOMEM, "decode plan %s: out of memory", plan);
	dup = sorted_duplicate(sorted, n);
	if (dup != NULL) {
		int rc = sk_err_set(err, SK_EINVAL,
		    "decode plan %s: duplicate %s %s", plan, what, dup);

		free(sorted);
		return rc;
	}
	free(sorted);
	return SK_OK;
}

static bool
op_valid(const char *op)
{
	static const char *const ops[] = { "=", "!=", "<", "<=", ">", ">=" };

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(op, ops[i]) == 0)
			return true;
	return false;
}

/* Five characters of 0-9 A-Z, as PostgreSQL's SQLSTATEs are. */
static bool
sqlstate_valid(const char *s)
{
	return s != NULL && strlen(s) == 5 &&
	    strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 5;
}

/* A lint rule id: [a-z0-9-]+. */
static bool
rule_valid(const char *s)
{
	return s != NULL && s[0] != '\0' &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s);
}

static bool
blank(const char *s)
{
	return s == NULL || strspn(s, " \t\r\n\f\v") == strlen(s);
}

/* The checks of one list: owner ("step s1", "phase canary") and when
 * ("pre", "post") name them in messages. */
static int
validate_checks(Skein__V1__Check *const *c, size_t n, const char *owner,
    const char *when, const char *plan, sk_err *err)
{
	char what[160];
	char **names;
	int rc;

	if (n == 0)
		return SK_OK;
	names = malloc(n * sizeof(*names));
	if (names == NULL)
		return sk_err_set(err, SK_ENOMEM, "decode plan %s: out of memory", plan);
	for (size_t i = 0; i < n; i++)
		names[i] = c[i]->name;
	snprintf(what, sizeof(what), "%s %s-check name", owner, when);
	rc = check_names(names, n, what, plan, err);
	free(names);
	if (rc != SK_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const Skein__V1__Check *k = c[i];
		bool has_op = k->op != NULL && k->op[0] != '\0';
		bool has_value = k->value != NULL && k->value[0] != '\0';
		bool has_state = k->sqlstate != NULL && k->sqlstate[0] != '\0';

		if (blank(k->sql))
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: %s %s-check %s has no SQL", plan,
			    owner, when, k->name);
		switch (k->expect) {
		case SKEIN__V1__CHECK_EXPECT__CHECK_EXPECT_COMPARE:
			if (!has_op || !op_valid(k->op))
				return sk_err_set(err, SK_EINVAL,
				    "decode plan %s: %s %s-check %s compares with "
				    "operator \"%.8s\" (expected one of =, !=, <, <=, >, >=)",
				    plan, owner, when, k->name, has_op ? k->op : "");
			if (!has_value)
				return sk_err_set(err, SK_EINVAL,
				    "decode plan %s: %s %s-check %s compares with an "
				    "empty value",
				    plan, owner, when, k->name);
			if (has_state)
				return sk_err_set(err, SK_EINVAL,
				    "decode plan %s: %s %s-check %s compares a value but "
				    "also names a SQLSTATE",
				    plan, owner, when, k->name);
			break;
		case SKEIN__V1__CHECK_EXPECT__CHECK_EXPECT_NO_ROWS:
			if (has_op || has_value || has_state)
				return sk_err_set(err, SK_EINVAL,
				    "decode plan %s: %s %s-check %s expects no rows but "
				    "also has an operator, value or SQLSTATE",
				    plan, owner, when, k->name);
			break;
		case SKEIN__V1__CHECK_EXPECT__CHECK_EXPECT_FAILS:
			if (!sqlstate_valid(k->sqlstate))
				return sk_err_set(err, SK_EINVAL,
				    "decode plan %s: %s %s-check %s expects a failure "
				    "with SQLSTATE \"%.16s\" (expected five characters of "
				    "0-9 A-Z)",
				    plan, owner, when, k->name,
				    has_state ? k->sqlstate : "");
			if (has_op || has_value)
				return sk_err_set(err, SK_EINVAL,
				    "decode plan %s: %s %s-check %s expects a failure but "
				    "also has an operator or value",
				    plan, owner, when, k->name);
			break;
		case SKEIN__V1__CHECK_EXPECT__CHECK_EXPECT_SUCCEEDS:
			if (has_op || has_value || has_state)
				return sk_err_set(err, SK_EINVAL,
				    "decode plan %s: %s %s-check %s expects to succeed "
				    "but also has an operator, value or SQLSTATE",
				    plan, owner, when, k->name);
			break;
		default:
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: %s %s-check %s has unknown expectation %d",
			    plan, owner, when, k->name, (int)k->expect);
		}
	}
	return SK_OK;
}

/* A step's checks, limits, waivers and the rest of what format 1 added. */
static int
validate_step_extras(const Skein__V1__Step *s, const char *plan, sk_err *err)
{
	char owner[96];
	int rc;

	snprintf(owner, sizeof(owner), "step %s", s->id);
	rc = validate_checks(s->pre, s->n_pre, owner, "pre", plan, err);
	if (rc == SK_OK)
		rc = validate_checks(s->post, s->n_post, owner, "post", plan, err);
	if (rc != SK_OK)
		return rc;
	if (s->lock_timeout_ms < 0 || s->statement_timeout_ms < 0 ||
	    s->retry_backoff_ms < 0)
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: step %s has a negative limit (lock_timeout "
		    "%" PRId64 " ms, statement_timeout %" PRId64 " ms, retry_backoff "
		    "%" PRId64 " ms)",
		    plan, s->id, s->lock_timeout_ms, s->statement_timeout_ms,
		    s->retry_backoff_ms);
	if (s->lock_retries > SK_LOCK_RETRIES_MAX)
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: step %s has lock_retries %" PRIu32 " (at most %d)",
		    plan, s->id, s->lock_retries, SK_LOCK_RETRIES_MAX);
	for (size_t j = 0; j < s->n_waivers; j++) {
		const Skein__V1__Waiver *w = s->waivers[j];

		if (!rule_valid(w->rule))
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: step %s waives rule \"%.64s\" (expected "
			    "a rule id of a-z 0-9 -)",
			    plan, s->id, w->rule);
		if (blank(w->reason))
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: step %s waives rule %s without a reason",
			    plan, s->id, w->rule);
	}
	for (size_t j = 0; j < s->n_concurrent_indexes; j++)
		if (blank(s->concurrent_indexes[j]))
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: step %s lists an empty concurrent index name",
			    plan, s->id);
	if (s->text_checksum.len != 0 && s->text_checksum.len != SK_CHECKSUM_LEN)
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: step %s text checksum does not match its "
		    "content",
		    plan, s->id);
	return SK_OK;
}

/* A move's regions are regions of the plan: the plan's agents are the
 * ones the coordinator can tell their roles. */
static int
validate_move_regions(const sk_move_tenant *m, const Skein__V1__Plan *pb, sk_err *err)
{
	const char *const which[2] = { m->from, m->to };
	const char *const key[2] = { "from", "to" };

	for (size_t k = 0; k < 2; k++) {
		bool found = false;

		for (size_t i = 0; !found && i < pb->n_regions; i++)
			found = strcmp(pb->regions[i], which[k]) == 0;
		if (!found)
			return sk_err_set(err, SK_EINVAL,
			    "moves the tenant %s region %s, which is not a region "
			    "of the plan",
			    key[k], which[k]);
	}
	return SK_OK;
}

/* The kind's own rules (sk_step_validate) on the fields that tell them;
 * the checksum is verified on the decoded step (sk_step_verify_checksum). */
static int
validate_kind(const Skein__V1__Step *s, const Skein__V1__Plan *pb,
    const char *plan, sk_err *err)
{
	bool body_check = s->body_case == SKEIN__V1__STEP__BODY_CHECK;
	sk_step tmp = { 0 };
	sk_backfill b;
	sk_expand e;
	sk_flag f;
	int rc;

	tmp.id = s->id;
	tmp.kind = (int)s->kind;
	tmp.sql = s->sql;
	tmp.verify = s->verify[0] != '\0' ? s->verify : NULL;
	tmp.revert = s->revert[0] != '\0' ? s->revert : NULL;
	tmp.no_transaction = s->no_transaction;
	tmp.nconcurrent_indexes = s->n_concurrent_indexes;
	/* Any non-zero byte: "has a text checksum". */
	if (s->text_checksum.len > 0)
		tmp.text_checksum[0] = 1;
	tmp.nchecks = body_check ? s->check->n_checks : 0;
	plan_body_view(s, &tmp, &b, &e, &f);
	/* A move body has arrays of its own (the stays): judged on a copy. */
	if (s->body_case == SKEIN__V1__STEP__BODY_MOVE_TENANT &&
	    (s->kind == SKEIN__V1__STEP_KIND__STEP_KIND_MOVE_TENANT ||
		s->kind == SKEIN__V1__STEP_KIND__STEP_KIND_PURGE_TENANT)) {
		bool oom = false;

		plan_move_from_pb(s->move_tenant, &tmp.move, &oom);
		if (oom) {
			sk_move_tenant_fini(tmp.move);
			free(tmp.move);
			return sk_err_set(err, SK_ENOMEM,
			    "decode plan %s: out of memory", plan);
		}
	}
	rc = sk_step_validate(&tmp, err);
	if (rc == SK_OK && tmp.move != NULL)
		rc = validate_move_regions(tmp.move, pb, err);
	sk_move_tenant_fini(tmp.move);
	free(tmp.move);
	if (rc != SK_OK)
		return sk_err_wrap(err, "decode plan %s: step %s", plan, s->id);
	if (body_check) {
		char what[128];

		snprintf(what, sizeof(what), "step %s", s->id);
		return validate_checks(s->check->checks, s->check->n_checks,
		    what, "check", plan, err);
	}
	return SK_OK;
}

static int
validate_preflight(const Skein__V1__Preflight *pf, const char *plan, sk_err *err)
{
	if (pf == NULL)
		return SK_OK;
	for (size_t i = 0; i < pf->n_roles; i++)
		if (blank(pf->roles[i]))
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: preflight lists an empty role name",
			    plan);
	for (size_t i = 0; i < pf->n_extensions; i++)
		if (blank(pf->extensions[i]))
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: preflight lists an empty extension name",
			    plan);
	if (pf->max_transaction_age_ms < 0)
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: preflight max_transaction_age %" PRId64
		    " ms is negative",
		    plan, pf->max_transaction_age_ms);
	/* Written so that NaN fails too. */
	if (!(pf->max_connections_share >= 0 && pf->max_connections_share <= 1))
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: preflight max_connections share %g is not "
		    "between 0 and 1",
		    plan, pf->max_connections_share);
	for (size_t i = 0; i < pf->n_requires; i++) {
		const Skein__V1__Prerequisite *r = pf->requires[i];

		if (!sk_name_valid(r->plan))
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: preflight requires invalid plan name "
			    "\"%.64s\"",
			    plan, r->plan);
		if (r->step[0] != '\0' && !sk_name_valid(r->step))
			return sk_err_set(err, SK_EINVAL,
			    "decode plan %s: preflight requires plan %s step with "
			    "invalid name \"%.64s\"",
			    plan, r->plan, r->step);
	}
	return SK_OK;
}

/* SK_EINVAL naming the first two phases that list region. */
static int
region_in_two_phases(const Skein__V1__Plan *pb, const char *region,
    const char *name, sk_err *err)
{
	const char *seen[2] = { NULL, NULL };
	size_t n = 0;

	for (size_t i = 0; i < pb->n_phases && n < 2; i++)
		for (size_t j = 0; j < pb->phases[i]->n_regions; j++)
			if (strcmp(pb->phases[i]->regions[j], region) == 0) {
				seen[n++] = pb->phases[i]->name;
				break;
			}
	if (n < 2) /* listed twice in one phase: check_names refuses that */
		seen[1] = seen[0];
	sk_err_set(err, SK_EINVAL,
	    "decode plan %s: region %s is in phase %s and in phase %s; a region "
	    "belongs to one phase",
	    name, region, seen[0] != NULL ? seen[0] : "-",
	    seen[1] != NULL ? seen[1] : "-");
	return SK_EINVAL;
}

/* Everything sk_plan_decode promises about a plan, on the protobuf. */
int
plan_validate(const Skein__V1__Plan *pb, sk_err *err)
{
	char **regions = NULL, **used = NULL, **ids = NULL;
	size_t nused = 0;
	const char *name = pb->name;
	char what[128];
	int rc;

	if (pb->format != SK_PLAN_FORMAT)
		return sk_err_set(err, SK_EINVAL,
		    "decode plan: unsupported format %" PRIu32 " (this skein reads "
		    "format %d)",
		    pb->format, SK_PLAN_FORMAT);
	if (!sk_name_valid(pb->name))
		return sk_err_set(err, SK_EINVAL,
		    "decode plan: invalid name \"%.64s\"", pb->name);
	if (!sk_name_valid(pb->id))
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: invalid id \"%.64s\"", name, pb->id);
	if (pb->created_unix <= 0 || pb->expires_unix <= pb->created_unix)
		return sk_err_set(err, SK_EINVAL,
		    "decode plan %s: expiry %" PRId64 " is not after creation %" PRId64,
		    name, pb->expires_unix, pb->created_unix);
	if (pb->n_steps == 0)
		return sk_err_set(err, SK_EINVAL, "decode plan %s: no steps", name);
	if (pb->n_phases == 0)
		return sk_err_set(err, SK_EINVAL, "decode plan %s: no phases", name);
	rc = validate_preflight(pb->preflight, name, err);
	if (rc != SK_OK)
		return rc;

	ids = malloc(pb->n_steps * sizeof(*ids));
	if (ids == NULL)
		return sk_err_set(err, SK_ENOMEM, "decode plan %s: out of memory", name);
	for (size_t i = 0; i < pb->n_steps; i++) {
		const Skein__V1__Step *s = pb->steps[i];
		ids[i] = s->id;
		if (!sk_name_valid(s->id))
			continue; /* reported by check_names below */
		rc = validate_kind(s, pb, name, err);
		if (rc != SK_OK)
			goto out;
		if (s->checksum.len != SK_CHECKSUM_LEN) {
			rc = sk_err_set(err, SK_EINVAL,
			    "decode plan %s: step %s checksum does not match its content",
			    name, s->id);
			goto out;
		}
		rc = validate_step_extras(s, name, err);
		if (rc != SK_OK)
			goto out;
	}
	rc = check_names(ids, pb->n_steps, "step id", name, err);
	if (rc != SK_OK)
		goto out;

	rc = check_names(pb->regions, pb->n_regions, "region", name, err);
	if (rc != SK_OK)
		goto out;
	regions = sorted_copy(pb->regions, pb->n_regions);
	free(ids);
	ids = malloc(pb->n_phases * sizeof(*ids));
	if (regions == NULL || ids == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "decode plan %s: out of memory", name);
		goto out;
	}
	for (size_t i = 0; i < pb->n_phases; i++) {
		const Skein__V1__Phase *ph = pb->phases[i];

		ids[i] = ph->name;
		if (!sk_name_valid(ph->name))
			continue;
		if (ph->n_regions == 0) {
			rc = sk_err_set(err, SK_EINVAL,
			    "decode plan %s: phase %s addresses no regions",
			    name, ph->name);
			goto out;
		}
		snprintf(what, sizeof(what), "region of phase %s", ph->name);
		rc = check_names(ph->regions, ph->n_regions, what, name, err);
		if (rc != SK_OK)
			goto out;
		snprintf(what, sizeof(what), "residency of phase %s", ph->name);
		rc = check_names(ph->residency, ph->n_residency, what, name, err);
		if (rc != SK_OK)
			goto out;
		for (size_t j = 0; j < ph->n_regions; j++)
			if (!sorted_contains(regions, pb->n_regions, ph->regions[j])) {
				rc = sk_err_set(err, SK_EINVAL,
				    "decode plan %s: phase %s region %s is not in the "
				    "plan's regions",
				    name, ph->name, ph->regions[j]);
				goto out;
			}
		snprintf(what, sizeof(what), "phase %s", ph->name);
		rc = validate_checks(ph->pre, ph->n_pre, what, "pre", name, err);
		if (rc == SK_OK)
			rc = validate_checks(
			    ph->post, ph->n_post, what, "post", name, err);
		if (rc == SK_OK)
			rc = validate_checks(ph->gate_checks, ph->n_gate_checks,
			    what, "gate", name, err);
		if (rc == SK_OK)
			rc = plan_validate_gates(ph, name, err);
		if (rc != SK_OK)
			goto out;
		nused += ph->n_regions;
	}
	rc = check_names(ids, pb->n_phases, "phase name", name, err);
	if (rc != SK_OK)
		goto out;

	/* regions is the union of the phases' regions: nothing extra. */
	used = malloc((nused + 1) * sizeof(*used));
	if (used == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "decode plan %s: out of memory", name);
		goto out;
	}
	nused = 0;
	for (size_t i = 0; i < pb->n_phases; i++)
		for (size_t j = 0; j < pb->phases[i]->n_regions; j++)
			used[nused++] = pb->phases[i]->regions[j];
	qsort(used, nused, sizeof(*used), cmp_str);
	/* A region in two phases would be run by the first phase on the
	 * agent's reading and the last on another's: refuse it. */
	for (size_t i = 1; i < nused; i++)
		if (strcmp(used[i - 1], used[i]) == 0) {
			rc = region_in_two_phases(pb, used[i], name, err);
			goto out;
		}
	for (size_t i = 0; i < pb->n_regions; i++)
		if (!sorted_contains(used, nused, pb->regions[i])) {
			rc = sk_err_set(err, SK_EINVAL,
			    "decode plan %s: region %s is in no phase", name,
			    pb->regions[i]);
			goto out;
		}
	rc = SK_OK;
out:
	free(ids);
	free(regions);
	free(used);
	return rc;
}

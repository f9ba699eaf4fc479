/* sk_plan: the plan's protobuf codec and the questions asked of a plan
 * (which regions, which phase). Step checksums are in sk_step.c; building
 * a plan from a directory and describing one are plan authoring
 * (common/author). Decoding is the gate every agent passes a plan
 * through, so it checks everything the rest of skein assumes: those
 * checks are in sk_plan_validate.c. */
#include "sk_plan.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "sk_plan_int.h"
#include "sk_sql.h"
#include "sk_util.h"
#include "skein.pb-c.h"

static void
free_checks(sk_check *c, size_t n)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(c[i].name);
		free(c[i].sql);
		free(c[i].op);
		free(c[i].value);
		free(c[i].sqlstate);
		free(c[i].path);
	}
	free(c);
}

static void
free_waivers(sk_waiver *w, size_t n)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(w[i].rule);
		free(w[i].reason);
	}
	free(w);
}

static void
free_preflight(sk_preflight *pf)
{
	sk_strv_free(pf->roles, pf->nroles);
	sk_strv_free(pf->extensions, pf->nextensions);
	if (pf->requires != NULL)
		for (size_t i = 0; i < pf->nrequires; i++) {
			free(pf->requires[i].plan);
			free(pf->requires[i].step);
		}
	free(pf->requires);
}

void
sk_plan_destroy(sk_plan *plan)
{
	if (plan == NULL)
		return;
	for (size_t i = 0; i < plan->nphases; i++) {
		sk_phase *ph = &plan->phases[i];

		free(ph->name);
		sk_strv_free(ph->regions, ph->nregions);
		sk_strv_free(ph->residency, ph->nresidency);
		free_checks(ph->pre, ph->npre);
		free_checks(ph->post, ph->npost);
		free_checks(ph->gate_checks, ph->ngate_checks);
		plan_gates_free(ph);
	}
	free(plan->phases);
	for (size_t i = 0; i < plan->nsteps; i++) {
		sk_step *s = &plan->steps[i];

		free(s->id);
		free(s->sql);
		free(s->revert);
		free(s->verify);
		free(s->sql_path);
		free(s->revert_path);
		free(s->verify_path);
		free_checks(s->pre, s->npre);
		free_checks(s->post, s->npost);
		free_checks(s->checks, s->nchecks);
		free_waivers(s->waivers, s->nwaivers);
		sk_backfill_fini(s->backfill);
		free(s->backfill);
		sk_expand_fini(s->expand);
		free(s->expand);
		sk_flag_fini(s->flag);
		free(s->flag);
		sk_move_tenant_fini(s->move);
		free(s->move);
		sk_strv_free(s->concurrent_indexes, s->nconcurrent_indexes);
	}
	free(plan->steps);
	sk_strv_free(plan->regions, plan->nregions);
	free_preflight(&plan->preflight);
	free(plan->id);
	free(plan->name);
	free(plan);
}

/* protobuf-c wants non-const char * and "" for absent proto3 strings. */
static char *
pb_str(const char *s)
{
	return (char *)(uintptr_t)(s != NULL ? s : protobuf_c_empty_string);
}

/* The protobuf structs the encoder fills borrow the plan's strings and
 * live in these pools, sized up front, so one free releases each kind. */
typedef struct pb_pool {
	Skein__V1__Check *checks;
	Skein__V1__Check **check_ptrs;
	size_t nchecks;
	Skein__V1__Waiver *waivers;
	Skein__V1__Waiver **waiver_ptrs;
	size_t nwaivers;
} pb_pool;

static Skein__V1__Check **
pool_checks(pb_pool *pool, const sk_check *c, size_t n)
{
	Skein__V1__Check **first = &pool->check_ptrs[pool->nchecks];

	for (size_t i = 0; i < n; i++) {
		Skein__V1__Check *pc = &pool->checks[pool->nchecks];

		skein__v1__check__init(pc);
		pc->name = pb_str(c[i].name);
		pc->sql = pb_str(c[i].sql);
		pc->expect = (Skein__V1__CheckExpect)c[i].expect;
		pc->op = pb_str(c[i].op);
		pc->value = pb_str(c[i].value);
		pc->sqlstate = pb_str(c[i].sqlstate);
		pc->path = pb_str(c[i].path);
		pc->report_value = c[i].report_value;
		pool->check_ptrs[pool->nchecks++] = pc;
	}
	return first;
}

static Skein__V1__Waiver **
pool_waivers(pb_pool *pool, const sk_waiver *w, size_t n)
{
	Skein__V1__Waiver **first = &pool->waiver_ptrs[pool->nwaivers];

	for (size_t i = 0; i < n; i++) {
		Skein__V1__Waiver *pw = &pool->waivers[pool->nwaivers];

		skein__v1__waiver__init(pw);
		pw->rule = pb_str(w[i].rule);
		pw->reason = pb_str(w[i].reason);
		pool->waiver_ptrs[pool->nwaivers++] = pw;
	}
	return first;
}

bool
sk_preflight_empty(const sk_preflight *pf)
{
	return pf->min_server_version == 0 && pf->nroles == 0 &&
	    pf->nextensions == 0 && pf->max_transaction_age_ms == 0 &&
	    pf->max_connections_share == 0 && pf->nrequires == 0;
}

int
sk_plan_encode(const sk_plan *plan, uint8_t **out, size_t *out_len, sk_err *err)
{
	Skein__V1__Plan pb = SKEIN__V1__PLAN__INIT;
	Skein__V1__Preflight pf = SKEIN__V1__PREFLIGHT__INIT;
	Skein__V1__Phase *phases = NULL, **phase_ptrs = NULL;
	pb_gates *gates = NULL;
	Skein__V1__Step *steps = NULL, **step_ptrs = NULL;
	Skein__V1__CheckBody *bodies = NULL;
	pb_body *data_bodies = NULL;
	Skein__V1__Prerequisite *reqs = NULL, **req_ptrs = NULL;
	pb_pool pool = { 0 };
	size_t nchecks = 0, nwaivers = 0;
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	for (size_t i = 0; i < plan->nphases; i++)
		nchecks += plan->phases[i].npre + plan->phases[i].npost +
		    plan->phases[i].ngate_checks;
	for (size_t i = 0; i < plan->nsteps; i++) {
		nchecks += plan->steps[i].npre + plan->steps[i].npost +
		    plan->steps[i].nchecks;
		nwaivers += plan->steps[i].nwaivers;
	}
	phases = calloc(plan->nphases + 1, sizeof(*phases));
	phase_ptrs = calloc(plan->nphases + 1, sizeof(*phase_ptrs));
	gates = calloc(plan->nphases + 1, sizeof(*gates));
	steps = calloc(plan->nsteps + 1, sizeof(*steps));
	step_ptrs = calloc(plan->nsteps + 1, sizeof(*step_ptrs));
	bodies = calloc(plan->nsteps + 1, sizeof(*bodies));
	data_bodies = calloc(plan->nsteps + 1, sizeof(*data_bodies));
	reqs = calloc(plan->preflight.nrequires + 1, sizeof(*reqs));
	req_ptrs = calloc(plan->preflight.nrequires + 1, sizeof(*req_ptrs));
	pool.checks = calloc(nchecks + 1, sizeof(*pool.checks));
	pool.check_ptrs = calloc(nchecks + 1, sizeof(*pool.check_ptrs));
	pool.waivers = calloc(nwaivers + 1, sizeof(*pool.waivers));
	pool.waiver_ptrs = calloc(nwaivers + 1, sizeof(*pool.waiver_ptrs));
	if (phases == NULL || phase_ptrs == NULL || gates == NULL ||
	    steps == NULL || step_ptrs == NULL || bodies == NULL ||
	    data_bodies == NULL || reqs == NULL || req_ptrs == NULL ||
	    pool.checks == NULL || pool.check_ptrs == NULL ||
	    pool.waivers == NULL || pool.waiver_ptrs == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "encode plan %s: out of memory",
		    plan->name ? plan->name : "");
		goto out;
	}
	/* The protobuf structs borrow the plan's strings; nothing is copied. */
	for (size_t i = 0; i < plan->nphases; i++) {
		const sk_phase *ph = &plan->phases[i];

		skein__v1__phase__init(&phases[i]);
		phases[i].name = pb_str(ph->name);
		phases[i].n_regions = ph->nregions;
		phases[i].regions = ph->regions;
		phases[i].n_residency = ph->nresidency;
		phases[i].residency = ph->residency;
		phases[i].n_pre = ph->npre;
		phases[i].pre = pool_checks(&pool, ph->pre, ph->npre);
		phases[i].n_post = ph->npost;
		phases[i].post = pool_checks(&pool, ph->post, ph->npost);
		phases[i].n_gate_checks = ph->ngate_checks;
		phases[i].gate_checks =
		    pool_checks(&pool, ph->gate_checks, ph->ngate_checks);
		if (plan_gates_to_pb(ph, &gates[i], &phases[i]) != SK_OK) {
			rc = sk_err_set(err, SK_ENOMEM, "encode plan %s: out of memory",
			    plan->name ? plan->name : "");
			goto out;
		}
		phase_ptrs[i] = &phases[i];
	}
	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *s = &plan->steps[i];

		skein__v1__step__init(&steps[i]);
		steps[i].id = pb_str(s->id);
		steps[i].kind = (Skein__V1__StepKind)s->kind;
		steps[i].sql = pb_str(s->sql);
		steps[i].revert = pb_str(s->revert);
		steps[i].verify = pb_str(s->verify);
		steps[i].no_transaction = s->no_transaction;
		steps[i].checksum.data = (uint8_t *)(uintptr_t)s->checksum;
		steps[i].checksum.len = SK_CHECKSUM_LEN;
		steps[i].sql_path = pb_str(s->sql_path);
		steps[i].revert_path = pb_str(s->revert_path);
		steps[i].verify_path = pb_str(s->verify_path);
		steps[i].n_pre = s->npre;
		steps[i].pre = pool_checks(&pool, s->pre, s->npre);
		steps[i].n_post = s->npost;
		steps[i].post = pool_checks(&pool, s->post, s->npost);
		steps[i].lock_timeout_ms = s->lock_timeout_ms;
		steps[i].statement_timeout_ms = s->statement_timeout_ms;
		steps[i].lock_retries = s->lock_retries;
		steps[i].retry_backoff_ms = s->retry_backoff_ms;
		steps[i].n_waivers = s->nwaivers;
		steps[i].waivers = pool_waivers(&pool, s->waivers, s->nwaivers);
		steps[i].n_concurrent_indexes = s->nconcurrent_indexes;
		steps[i].concurrent_indexes = s->concurrent_indexes;
		/* All zero means "not computed": left off the wire. */
		if (sk_step_has_text_checksum(s)) {
			steps[i].text_checksum.data =
			    (uint8_t *)(uintptr_t)s->text_checksum;
			steps[i].text_checksum.len = SK_CHECKSUM_LEN;
		}
		if (s->kind == SK_STEP_CHECK) {
			skein__v1__check_body__init(&bodies[i]);
			bodies[i].n_checks = s->nchecks;
			bodies[i].checks = pool_checks(&pool, s->checks, s->nchecks);
			steps[i].body_case = SKEIN__V1__STEP__BODY_CHECK;
			steps[i].check = &bodies[i];
		}
		if (plan_body_to_pb(s, &data_bodies[i], &steps[i]) != SK_OK) {
			rc = sk_err_set(err, SK_ENOMEM, "encode plan %s: out of memory",
			    plan->name ? plan->name : "");
			goto out;
		}
		step_ptrs[i] = &steps[i];
	}
	pb.format = SK_PLAN_FORMAT;
	pb.id = pb_str(plan->id);
	pb.name = pb_str(plan->name);
	pb.created_unix = plan->created_unix;
	pb.expires_unix = plan->expires_unix;
	pb.n_phases = plan->nphases;
	pb.phases = phase_ptrs;
	pb.n_steps = plan->nsteps;
	pb.steps = step_ptrs;
	pb.n_regions = plan->nregions;
	pb.regions = plan->regions;
	pb.backup = plan->backup;
	pb.no_rollback_backup = plan->no_rollback_backup;
	if (!sk_preflight_empty(&plan->preflight)) {
		const sk_preflight *p = &plan->preflight;

		pf.min_server_version = p->min_server_version;
		pf.n_roles = p->nroles;
		pf.roles = p->roles;
		pf.n_extensions = p->nextensions;
		pf.extensions = p->extensions;
		pf.max_transaction_age_ms = p->max_transaction_age_ms;
		pf.max_connections_share = p->max_connections_share;
		for (size_t i = 0; i < p->nrequires; i++) {
			skein__v1__prerequisite__init(&reqs[i]);
			reqs[i].plan = pb_str(p->requires[i].plan);
			reqs[i].step = pb_str(p->requires[i].step);
			req_ptrs[i] = &reqs[i];
		}
		pf.n_requires = p->nrequires;
		pf.requires = req_ptrs;
		pb.preflight = &pf;
	}

	len = skein__v1__plan__get_packed_size(&pb);
	buf = malloc(len > 0 ? len : 1);
	if (buf == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "encode plan %s: out of memory",
		    plan->name ? plan->name : "");
		goto out;
	}
	skein__v1__plan__pack(&pb, buf);
	*out = buf;
	*out_len = len;
	rc = SK_OK;
out:
	for (size_t i = 0; gates != NULL && i < plan->nphases; i++)
		plan_gates_pb_fini(&gates[i]);
	free(gates);
	free(phases);
	free(phase_ptrs);
	free(steps);
	free(step_ptrs);
	free(bodies);
	for (size_t i = 0; data_bodies != NULL && i < plan->nsteps; i++)
		plan_body_pb_fini(&data_bodies[i]);
	free(data_bodies);
	free(reqs);
	free(req_ptrs);
	free(pool.checks);
	free(pool.check_ptrs);
	free(pool.waivers);
	free(pool.waiver_ptrs);
	return rc;
}

/* Copy of s, or NULL for an empty string when empty_is_null. Sets *oom. */
static char *
dup_str(const char *s, bool empty_is_null, bool *oom)
{
	char *d;

	if (s == NULL || (empty_is_null && s[0] == '\0'))
		return NULL;
	d = sk_strdup(s);
	if (d == NULL)
		*oom = true;
	return d;
}

static char **
dup_strv(char *const *v, size_t n, bool *oom)
{
	char **d = calloc(n + 1, sizeof(*d));

	if (d == NULL) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		d[i] = dup_str(v[i], false, oom);
	return d;
}

/* Zeroed room for copies of n items of size bytes: NULL for none and,
 * setting *oom, when out of memory. */
static void *
dup_alloc(size_t n, size_t size, bool *oom)
{
	void *d;

	if (n == 0)
		return NULL;
	d = calloc(n, size);
	if (d == NULL)
		*oom = true;
	return d;
}

/* Copies of n protobuf checks; NULL for none. Sets *oom. */
static sk_check *
dup_checks(Skein__V1__Check *const *c, size_t n, size_t *out_n, bool *oom)
{
	sk_check *d = dup_alloc(n, sizeof(*d), oom);

	*out_n = 0;
	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		d[i].name = dup_str(c[i]->name, false, oom);
		d[i].sql = dup_str(c[i]->sql, false, oom);
		d[i].expect = (int)c[i]->expect;
		d[i].op = dup_str(c[i]->op, true, oom);
		d[i].value = dup_str(c[i]->value, true, oom);
		d[i].sqlstate = dup_str(c[i]->sqlstate, true, oom);
		d[i].path = dup_str(c[i]->path, true, oom);
		d[i].report_value = c[i]->report_value;
	}
	*out_n = n;
	return d;
}

static sk_waiver *
dup_waivers(Skein__V1__Waiver *const *w, size_t n, size_t *out_n, bool *oom)
{
	sk_waiver *d = dup_alloc(n, sizeof(*d), oom);

	*out_n = 0;
	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		d[i].rule = dup_str(w[i]->rule, false, oom);
		d[i].reason = dup_str(w[i]->reason, false, oom);
	}
	*out_n = n;
	return d;
}

/* dup_strv that leaves NULL and 0 for an empty list. */
static char **
dup_strv_n(char *const *v, size_t n, size_t *out_n, bool *oom)
{
	char **d;

	*out_n = 0;
	if (n == 0)
		return NULL;
	d = dup_strv(v, n, oom);
	if (d != NULL)
		*out_n = n;
	return d;
}

static void
dup_preflight(const Skein__V1__Preflight *pf, sk_preflight *out, bool *oom)
{
	if (pf == NULL)
		return;
	out->min_server_version = pf->min_server_version;
	out->roles = dup_strv_n(pf->roles, pf->n_roles, &out->nroles, oom);
	out->extensions =
	    dup_strv_n(pf->extensions, pf->n_extensions, &out->nextensions, oom);
	out->max_transaction_age_ms = pf->max_transaction_age_ms;
	out->max_connections_share = pf->max_connections_share;
	out->requires = dup_alloc(pf->n_requires, sizeof(*out->requires), oom);
	if (out->requires == NULL)
		return;
	out->nrequires = pf->n_requires;
	for (size_t i = 0; i < pf->n_requires; i++) {
		out->requires[i].plan = dup_str(pf->requires[i] -> plan, false, oom);
		out->requires[i].step = dup_str(pf->requires[i] -> step, true, oom);
	}
}

int
sk_plan_decode(const uint8_t *buf, size_t len, sk_plan **out, sk_err *err)
{
	static const uint8_t empty[1];
	Skein__V1__Plan *pb;
	sk_plan *plan = NULL;
	bool oom = false;
	int rc;

	if (buf == NULL && len > 0)
		return sk_err_set(err, SK_EINVAL, "decode plan: no buffer");
	pb = skein__v1__plan__unpack(NULL, len, buf != NULL ? buf : empty);
	if (pb == NULL)
		return sk_err_set(err, SK_EDECODE,
		    "decode plan: not a valid plan (%zu bytes)", len);
	rc = plan_validate(pb, err);
	if (rc != SK_OK)
		goto out;

	plan = calloc(1, sizeof(*plan));
	if (plan == NULL) {
		oom = true;
		goto out;
	}
	plan->id = dup_str(pb->id, false, &oom);
	plan->name = dup_str(pb->name, false, &oom);
	plan->created_unix = pb->created_unix;
	plan->expires_unix = pb->expires_unix;
	plan->backup = pb->backup;
	plan->no_rollback_backup = pb->no_rollback_backup;
	dup_preflight(pb->preflight, &plan->preflight, &oom);
	plan->regions = dup_strv(pb->regions, pb->n_regions, &oom);
	if (plan->regions != NULL)
		plan->nregions = pb->n_regions;
	plan->phases = calloc(pb->n_phases, sizeof(*plan->phases));
	if (plan->phases == NULL) {
		oom = true;
		goto out;
	}
	plan->nphases = pb->n_phases;
	for (size_t i = 0; i < pb->n_phases; i++) {
		const Skein__V1__Phase *ph = pb->phases[i];
		sk_phase *p = &plan->phases[i];

		p->name = dup_str(ph->name, false, &oom);
		p->regions = dup_strv(ph->regions, ph->n_regions, &oom);
		if (p->regions != NULL)
			p->nregions = ph->n_regions;
		p->residency = dup_strv(ph->residency, ph->n_residency, &oom);
		if (p->residency != NULL)
			p->nresidency = ph->n_residency;
		p->pre = dup_checks(ph->pre, ph->n_pre, &p->npre, &oom);
		p->post = dup_checks(ph->post, ph->n_post, &p->npost, &oom);
		p->gate_checks = dup_checks(
		    ph->gate_checks, ph->n_gate_checks, &p->ngate_checks, &oom);
		plan_gates_from_pb(ph, p, &oom);
	}
	plan->steps = calloc(pb->n_steps, sizeof(*plan->steps));
	if (plan->steps == NULL) {
		oom = true;
		goto out;
	}
	plan->nsteps = pb->n_steps;
	for (size_t i = 0; i < pb->n_steps; i++) {
		const Skein__V1__Step *ps = pb->steps[i];
		sk_step *s = &plan->steps[i];

		s->id = dup_str(ps->id, false, &oom);
		s->kind = (int)ps->kind;
		s->sql = dup_str(ps->sql, true, &oom);
		s->revert = dup_str(ps->revert, true, &oom);
		s->verify = dup_str(ps->verify, true, &oom);
		s->no_transaction = ps->no_transaction;
		memcpy(s->checksum, ps->checksum.data, SK_CHECKSUM_LEN);
		s->sql_path = dup_str(ps->sql_path, true, &oom);
		s->revert_path = dup_str(ps->revert_path, true, &oom);
		s->verify_path = dup_str(ps->verify_path, true, &oom);
		s->pre = dup_checks(ps->pre, ps->n_pre, &s->npre, &oom);
		s->post = dup_checks(ps->post, ps->n_post, &s->npost, &oom);
		s->lock_timeout_ms = ps->lock_timeout_ms;
		s->statement_timeout_ms = ps->statement_timeout_ms;
		s->lock_retries = ps->lock_retries;
		s->retry_backoff_ms = ps->retry_backoff_ms;
		s->waivers =
		    dup_waivers(ps->waivers, ps->n_waivers, &s->nwaivers, &oom);
		s->concurrent_indexes = dup_strv_n(ps->concurrent_indexes,
		    ps->n_concurrent_indexes, &s->nconcurrent_indexes, &oom);
		/* Validated: absent, or SK_CHECKSUM_LEN bytes. */
		if (ps->text_checksum.len == SK_CHECKSUM_LEN)
			memcpy(s->text_checksum, ps->text_checksum.data, SK_CHECKSUM_LEN);
		if (ps->body_case == SKEIN__V1__STEP__BODY_CHECK)
			s->checks = dup_checks(ps->check->checks,
			    ps->check->n_checks, &s->nchecks, &oom);
		plan_body_from_pb(ps, s, &oom);
	}
	/* Checksums on the decoded steps, so that each kind hashes what it
	 * holds the way plan build did. */
	for (size_t i = 0; !oom && i < plan->nsteps; i++) {
		rc = sk_step_verify_checksum(&plan->steps[i], err);
		if (rc != SK_OK) {
			sk_err_wrap(err, "decode plan %s", plan->name);
			goto out;
		}
	}
out:
	if (oom)
		rc = sk_err_set(err, SK_ENOMEM, "decode plan: out of memory");
	skein__v1__plan__free_unpacked(pb, NULL);
	if (rc != SK_OK) {
		sk_plan_destroy(plan);
		return rc;
	}
	*out = plan;
	return SK_OK;
}

bool
sk_plan_addresses(const sk_plan *plan, const char *region)
{
	if (plan == NULL || region == NULL)
		return false;
	for (size_t i = 0; i < plan->nregions; i++)
		if (strcmp(plan->regions[i], region) == 0)
			return true;
	return false;
}

const sk_phase *
sk_plan_phase_of(const sk_plan *plan, const char *region)
{
	if (plan == NULL || region == NULL)
		return NULL;
	for (size_t p = 0; p < plan->nphases; p++)
		for (size_t k = 0; k < plan->phases[p].nregions; k++)
			if (plan->phases[p].regions[k] != NULL &&
			    strcmp(plan->phases[p].regions[k], region) == 0)
				return &plan->phases[p];
	return NULL;
}

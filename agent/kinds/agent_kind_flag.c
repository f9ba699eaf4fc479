/* agent_kind_flag: a step that sets a feature flag for its tenants (or
 * every tenant) in the region's database — in skein.flags, or through
 * the plan's SQL templates — together with its ledger row, in one
 * transaction, each flip recorded in skein.flag_history with the value
 * it replaced (common/pg/sk_flagdb.h). Its revert restores exactly those
 * values (an absent flag is removed again), which is why it needs no
 * revert script, and why a rollback flips it back first
 * (flips_first). Each flip is reported (SK_EV_FLAG) once committed. In
 * a region outside the step's residencies it changes nothing and says
 * so in the step's note.
 */
#include "agent_kinds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_flagdb.h"
#include "sk_util.h"

/* The flips of one attempt, reported after its COMMIT. */
typedef struct flips {
	sk_flagdb_flip *v;
	size_t n;
} flips;

static void
flips_free(flips *f)
{
	sk_flagdb_flips_free(f->v, f->n);
	f->v = NULL;
	f->n = 0;
}

static sk_flagdb_store
store_of(const sk_flag *f)
{
	sk_flagdb_store st = { f->set_template, f->get_template };

	return st;
}

static sk_flagdb_who
who_of(const agent_step_run *s)
{
	sk_flagdb_who w = { "skein-agent", NULL, s->c->plan->name, s->step->id,
		s->c->rollout_id };

	return w;
}

/* Report each flip (after its COMMIT). */
static void
report_flips(agent_step_run *s, const flips *f, bool reverted)
{
	for (size_t i = 0; i < f->n; i++) {
		const sk_flagdb_flip *x = &f->v[i];
		sk_report r;

		agent_report_init(&r, SK_EV_FLAG, s->step->id, s->a.attempt);
		r.has_flag = true;
		snprintf(r.flag.name, sizeof(r.flag.name), "%s", x->name);
		r.flag.every_tenant = x->tenant == NULL;
		snprintf(r.flag.tenant, sizeof(r.flag.tenant), "%s",
		    x->tenant != NULL ? x->tenant : "");
		r.flag.old_absent = x->old_value == NULL;
		snprintf(r.flag.old_value, sizeof(r.flag.old_value), "%s",
		    x->old_value != NULL ? x->old_value : "");
		r.flag.new_absent = x->new_value == NULL;
		snprintf(r.flag.new_value, sizeof(r.flag.new_value), "%s",
		    x->new_value != NULL ? x->new_value : "");
		r.flag.reverted = reverted;
		agent_db_send(s->c, &r);
	}
}

/* Set the step's flag for each of its tenants (or the every-tenant row)
 * in the open transaction, keeping the flips in out. */
static int
flip_all(agent_step_run *s, flips *out, sk_err *err)
{
	const sk_flag *f = s->step->flag;
	sk_flagdb_store st = store_of(f);
	sk_flagdb_who who = who_of(s);
	size_t n = f->ntenants > 0 ? f->ntenants : 1;
	int rc = SK_OK;

	out->v = calloc(n, sizeof(*out->v));
	if (out->v == NULL)
		return sk_err_set(
		    err, SK_ENOMEM, "set flag %s: out of memory", f->name);
	for (size_t i = 0; rc == SK_OK && i < n; i++) {
		const char *tenant = f->ntenants > 0 ? f->tenants[i] : NULL;

		rc = sk_flagdb_set(s->c->conn, &st, f->name, tenant, f->value,
		    &who, 0, &out->v[i], err);
		if (rc == SK_OK)
			out->n++;
		else
			sk_err_wrap(err, "set flag %s%s%s", f->name,
			    tenant != NULL ? " for tenant " : "",
			    tenant != NULL ? tenant : "");
	}
	if (rc == SK_OK) {
		char what[SK_FLAG_NAME_MAX + 64];

		snprintf(what, sizeof(what), "%s = %s for ", f->name, f->value);
		if (f->ntenants > 0) {
			char tenants[32];

			snprintf(tenants, sizeof(tenants), "%zu tenant%s",
			    f->ntenants, f->ntenants == 1 ? "" : "s");
			agent_step_note(s, what, tenants);
		} else {
			agent_step_note(s, what, "every tenant");
		}
	}
	return rc;
}

/* The flips, in a region of the step's residencies (arg: flips). */
static int
flag_work(agent_step_run *s, void *arg, sk_err *err)
{
	if (sk_flag_in_region(s->step->flag, s->c->region))
		return flip_all(s, arg, err);
	agent_step_note(s, "flag not set in this region ", "(not of its residency)");
	return SK_OK;
}

static int
flag_apply(agent_step_run *s, sk_err *err)
{
	flips f = { 0 };
	int rc;

	rc = agent_step_apply_with(s, flag_work, &f, err);
	if (rc == SK_OK)
		report_flips(s, &f, false);
	flips_free(&f);
	return rc;
}

/* Inside the rehearsal's transaction: the flips and the post-checks,
 * all rolled back with it. */
static int
flag_rehearse(agent_step_run *s, sk_err *err)
{
	flips f = { 0 };
	bool store = false;
	int rc;

	/* A rehearsal creates no ledger: where the agent has not made the
	 * store yet, the flip itself cannot be tried (its history has no
	 * table); the apply makes it first. */
	rc = sk_flagdb_present(s->c->conn, &store, err);
	if (rc != SK_OK)
		return rc;
	if (!store)
		agent_step_note(s, "flip not rehearsed: ",
		    "skein.flags is created when the plan is applied");
	else if (sk_flag_in_region(s->step->flag, s->c->region))
		rc = flip_all(s, &f, err);
	flips_free(&f);
	if (rc == SK_OK)
		rc = agent_step_checks(s, s->step->post, s->step->npost, "post", err);
	return rc;
}

static void
flag_scripts(const sk_step *step,
    void (*fn)(void *arg, const char *sql, const char *what), void *arg)
{
	fn(arg, step->flag->set_template, "template.set");
	fn(arg, step->flag->get_template, "template.get");
	agent_step_scripts_checks(step->post, step->npost, fn, arg);
}

/* Undo the step's flips that no flip undid yet, newest first, each
 * restoring the value it replaced (removing a flag that was absent). */
static int
undo_flips(agent_step_run *s, void *arg, sk_err *err)
{
	flips *done = arg;
	sk_flagdb_store st = store_of(s->step->flag);
	sk_flagdb_who who = who_of(s);
	sk_flagdb_flip *v = NULL;
	size_t n = 0;
	int rc;

	rc = sk_flagdb_step_flips(
	    s->c->conn, s->c->plan->name, s->step->id, &v, &n, err);
	if (rc != SK_OK)
		return rc;
	done->v = calloc(n + 1, sizeof(*done->v));
	if (done->v == NULL) {
		sk_flagdb_flips_free(v, n);
		return sk_err_set(err, SK_ENOMEM, "revert flag: out of memory");
	}
	for (size_t i = 0; rc == SK_OK && i < n; i++) {
		rc = sk_flagdb_set(s->c->conn, &st, v[i].name, v[i].tenant,
		    v[i].old_value, &who, v[i].id, &done->v[i], err);
		if (rc == SK_OK)
			done->n++;
		else
			sk_err_wrap(err, "restore flag %s", v[i].name);
	}
	sk_flagdb_flips_free(v, n);
	return rc;
}

static int
flag_revert(agent_step_run *s, sk_err *err)
{
	flips done = { 0 };
	int rc;

	rc = agent_step_revert_with(s, undo_flips, &done, err);
	if (rc == SK_OK)
		report_flips(s, &done, true);
	flips_free(&done);
	return rc;
}

const agent_step_kind agent_kind_flag = {
	.name = "flag",
	.transactional = true,
	.apply = flag_apply,
	.rehearse = flag_rehearse,
	.describe = NULL,
	.scripts = flag_scripts,
	.needs_revert = false,
	.revert = flag_revert,
	.flips_first = true,
};

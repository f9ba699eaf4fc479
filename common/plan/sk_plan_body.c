/* sk_plan_body: the bodies of the data kinds (backfill, expand,
 * contract), of flag steps and of tenant moves on the wire, both ways
 * (sk_plan_int.h). */
#include <stdlib.h>
#include <string.h>

#include "sk_plan_int.h"
#include "sk_util.h"

/* protobuf-c wants non-const char * and "" for absent proto3 strings. */
static char *
pb_text(const char *s)
{
	return (char *)(uintptr_t)(s != NULL ? s : protobuf_c_empty_string);
}

static void
tuning_to_pb(const sk_backfill_tuning *t, Skein__V1__BackfillTuning *pb)
{
	skein__v1__backfill_tuning__init(pb);
	pb->batch_min = t->batch_min;
	pb->batch_max = t->batch_max;
	pb->batch_target_ms = t->batch_target_ms;
	pb->max_rows_per_second = t->max_rows_per_second;
	pb->max_replication_lag_ms = t->max_replication_lag_ms;
	pb->throttle_query = pb_text(t->throttle_query);
	pb->ignore_autovacuum = t->ignore_autovacuum;
	pb->dead_man_ms = t->dead_man_ms;
	pb->workers = t->workers;
}

/* A move body onto the wire; the stays' messages are malloc'ed in b. */
static int
move_to_pb(const sk_move_tenant *m, pb_body *b, Skein__V1__Step *ps)
{
	Skein__V1__MoveTenantBody *pm = &b->move;

	skein__v1__move_tenant_body__init(pm);
	pm->tenant_column = pb_text(m->column);
	pm->tenant_value = pb_text(m->value);
	pm->from = pb_text(m->from);
	pm->to = pb_text(m->to);
	pm->n_tables = m->ntables;
	pm->tables = m->tables;
	pm->discover = m->discover;
	if (m->nstay > 0) {
		b->stays = calloc(m->nstay, sizeof(*b->stays));
		b->stay_ptrs = calloc(m->nstay, sizeof(*b->stay_ptrs));
		if (b->stays == NULL || b->stay_ptrs == NULL)
			return SK_ENOMEM;
		for (size_t i = 0; i < m->nstay; i++) {
			skein__v1__move_stay__init(&b->stays[i]);
			b->stays[i].table = pb_text(m->stay[i].table);
			b->stays[i].index_table = pb_text(m->stay[i].index_table);
			b->stays[i].n_index_columns = m->stay[i].nindex_columns;
			b->stays[i].index_columns = m->stay[i].index_columns;
			b->stay_ptrs[i] = &b->stays[i];
		}
		pm->n_stay = m->nstay;
		pm->stay = b->stay_ptrs;
	}
	pm->event_table = pb_text(m->event_table);
	pm->event_type = pb_text(m->event_type);
	pm->route_source = pb_text(m->route_source);
	pm->route_target = pb_text(m->route_target);
	pm->route_back_source = pb_text(m->route_back_source);
	pm->route_back_target = pb_text(m->route_back_target);
	pm->max_copy_bytes_per_second = m->max_copy_bytes_per_s;
	pm->parallel = m->parallel > 0 ? (uint32_t)m->parallel : 0;
	pm->freeze_timeout_ms = m->freeze_timeout_ms;
	pm->max_lag_ms = m->max_lag_ms;
	ps->body_case = SKEIN__V1__STEP__BODY_MOVE_TENANT;
	ps->move_tenant = pm;
	return SK_OK;
}

void
plan_body_pb_fini(pb_body *b)
{
	if (b == NULL)
		return;
	free(b->stays);
	free(b->stay_ptrs);
	b->stays = NULL;
	b->stay_ptrs = NULL;
}

int
plan_body_to_pb(const sk_step *s, pb_body *b, Skein__V1__Step *ps)
{
	if ((s->kind == SK_STEP_MOVE_TENANT || s->kind == SK_STEP_PURGE_TENANT) &&
	    s->move != NULL)
		return move_to_pb(s->move, b, ps);
	if (s->kind == SK_STEP_FLAG && s->flag != NULL) {
		const sk_flag *f = s->flag;

		skein__v1__flag_body__init(&b->flag);
		b->flag.name = pb_text(f->name);
		b->flag.value = pb_text(f->value);
		b->flag.n_tenants = f->ntenants;
		b->flag.tenants = f->tenants;
		b->flag.n_residency = f->nresidency;
		b->flag.residency = f->residency;
		b->flag.n_regions = f->nregions;
		b->flag.regions = f->regions;
		b->flag.set_template = pb_text(f->set_template);
		b->flag.get_template = pb_text(f->get_template);
		ps->body_case = SKEIN__V1__STEP__BODY_FLAG;
		ps->flag = &b->flag;
		return SK_OK;
	}
	if (s->kind == SK_STEP_BACKFILL && s->backfill != NULL) {
		skein__v1__backfill_body__init(&b->backfill);
		b->backfill.table = pb_text(s->backfill->table);
		b->backfill.update = pb_text(s->backfill->update);
		b->backfill.where = pb_text(s->backfill->where);
		tuning_to_pb(&s->backfill->tuning, &b->tuning);
		b->backfill.tuning = &b->tuning;
		ps->body_case = SKEIN__V1__STEP__BODY_BACKFILL;
		ps->backfill = &b->backfill;
	} else if ((s->kind == SK_STEP_EXPAND || s->kind == SK_STEP_CONTRACT) &&
	    s->expand != NULL) {
		const sk_expand *e = s->expand;

		skein__v1__expand_body__init(&b->expand);
		b->expand.table = pb_text(e->table);
		b->expand.column = pb_text(e->column);
		b->expand.type = pb_text(e->type);
		b->expand.from = pb_text(e->from);
		b->expand.forward = pb_text(e->forward);
		b->expand.backward = pb_text(e->backward);
		if (s->kind == SK_STEP_EXPAND) {
			tuning_to_pb(&e->tuning, &b->tuning);
			b->expand.tuning = &b->tuning;
			ps->body_case = SKEIN__V1__STEP__BODY_EXPAND;
			ps->expand = &b->expand;
		} else {
			ps->body_case = SKEIN__V1__STEP__BODY_CONTRACT;
			ps->contract = &b->expand;
		}
	}
	return SK_OK;
}

/* "" is absent. */
static const char *
opt(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* t from the wire, borrowing its strings; absent: the defaults. */
static void
tuning_view(const Skein__V1__BackfillTuning *pb, sk_backfill_tuning *t)
{
	sk_backfill_tuning_default(t);
	if (pb == NULL)
		return;
	t->batch_min = pb->batch_min;
	t->batch_max = pb->batch_max;
	t->batch_target_ms = pb->batch_target_ms;
	t->max_rows_per_second = pb->max_rows_per_second;
	t->max_replication_lag_ms = pb->max_replication_lag_ms;
	t->throttle_query = (char *)(uintptr_t)opt(pb->throttle_query);
	t->ignore_autovacuum = pb->ignore_autovacuum;
	t->dead_man_ms = pb->dead_man_ms;
	t->workers = pb->workers;
}

void
plan_body_view(const Skein__V1__Step *ps, sk_step *s, sk_backfill *b,
    sk_expand *e, sk_flag *f)
{
	const Skein__V1__ExpandBody *pe = NULL;

	memset(b, 0, sizeof(*b));
	memset(e, 0, sizeof(*e));
	memset(f, 0, sizeof(*f));
	if (ps->body_case == SKEIN__V1__STEP__BODY_FLAG &&
	    ps->kind == SKEIN__V1__STEP_KIND__STEP_KIND_FLAG) {
		f->name = ps->flag->name;
		f->value = ps->flag->value;
		f->tenants = ps->flag->tenants;
		f->ntenants = ps->flag->n_tenants;
		f->residency = ps->flag->residency;
		f->nresidency = ps->flag->n_residency;
		f->regions = ps->flag->regions;
		f->nregions = ps->flag->n_regions;
		f->set_template = (char *)(uintptr_t)opt(ps->flag->set_template);
		f->get_template = (char *)(uintptr_t)opt(ps->flag->get_template);
		s->flag = f;
		return;
	}
	/* A body under the member of another kind is no body at all: the
	 * kind's rules then say it is missing. */
	if (ps->body_case == SKEIN__V1__STEP__BODY_BACKFILL &&
	    ps->kind == SKEIN__V1__STEP_KIND__STEP_KIND_BACKFILL) {
		b->table = (char *)(uintptr_t)opt(ps->backfill->table);
		b->update = (char *)(uintptr_t)opt(ps->backfill->update);
		b->where = (char *)(uintptr_t)opt(ps->backfill->where);
		tuning_view(ps->backfill->tuning, &b->tuning);
		s->backfill = b;
		return;
	}
	if (ps->body_case == SKEIN__V1__STEP__BODY_EXPAND &&
	    ps->kind == SKEIN__V1__STEP_KIND__STEP_KIND_EXPAND)
		pe = ps->expand;
	else if (ps->body_case == SKEIN__V1__STEP__BODY_CONTRACT &&
	    ps->kind == SKEIN__V1__STEP_KIND__STEP_KIND_CONTRACT)
		pe = ps->contract;
	if (pe == NULL)
		return;
	e->table = (char *)(uintptr_t)opt(pe->table);
	e->column = (char *)(uintptr_t)opt(pe->column);
	e->type = (char *)(uintptr_t)opt(pe->type);
	e->from = (char *)(uintptr_t)opt(pe->from);
	e->forward = (char *)(uintptr_t)opt(pe->forward);
	e->backward = (char *)(uintptr_t)opt(pe->backward);
	tuning_view(pe->tuning, &e->tuning);
	s->expand = e;
}

/* A copy of s (NULL stays NULL); sets *oom. */
static char *
copy(const char *s, bool *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = sk_strdup(s);
	if (d == NULL)
		*oom = true;
	return d;
}

/* A copy of the n strings of v; sets *oom. */
static char **
copy_strv(char *const *v, size_t n, bool *oom)
{
	char **d;

	if (n == 0)
		return NULL;
	d = calloc(n, sizeof(*d));
	if (d == NULL) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		d[i] = copy(v[i], oom);
	return d;
}

void
plan_move_from_pb(const Skein__V1__MoveTenantBody *pm, sk_move_tenant **out, bool *oom)
{
	sk_move_tenant *m;

	*out = m = calloc(1, sizeof(*m));
	if (m == NULL) {
		*oom = true;
		return;
	}
	m->column = copy(opt(pm->tenant_column), oom);
	m->value = copy(opt(pm->tenant_value), oom);
	m->from = copy(opt(pm->from), oom);
	m->to = copy(opt(pm->to), oom);
	m->tables = copy_strv(pm->tables, pm->n_tables, oom);
	m->ntables = m->tables != NULL ? pm->n_tables : 0;
	m->discover = pm->discover;
	if (pm->n_stay > 0) {
		m->stay = calloc(pm->n_stay, sizeof(*m->stay));
		if (m->stay == NULL)
			*oom = true;
		else
			m->nstay = pm->n_stay;
	}
	for (size_t i = 0; i < m->nstay; i++) {
		const Skein__V1__MoveStay *ms = pm->stay[i];
		sk_move_stay *st = &m->stay[i];

		st->table = copy(opt(ms->table), oom);
		st->index_table = copy(opt(ms->index_table), oom);
		st->index_columns =
		    copy_strv(ms->index_columns, ms->n_index_columns, oom);
		st->nindex_columns =
		    st->index_columns != NULL ? ms->n_index_columns : 0;
	}
	m->event_table = copy(opt(pm->event_table), oom);
	m->event_type = copy(opt(pm->event_type), oom);
	m->route_source = copy(opt(pm->route_source), oom);
	m->route_target = copy(opt(pm->route_target), oom);
	m->route_back_source = copy(opt(pm->route_back_source), oom);
	m->route_back_target = copy(opt(pm->route_back_target), oom);
	m->max_copy_bytes_per_s = pm->max_copy_bytes_per_second;
	/* Past the bound: kept out of range, so that the step's check
	 * refuses it. */
	m->parallel = pm->parallel > SK_MOVE_PARALLEL_MAX ? -1 : (int)pm->parallel;
	m->freeze_timeout_ms = pm->freeze_timeout_ms;
	m->max_lag_ms = pm->max_lag_ms;
}

void
plan_body_from_pb(const Skein__V1__Step *ps, sk_step *s, bool *oom)
{
	sk_step view = { 0 };
	sk_backfill b;
	sk_expand e;
	sk_flag f;

	/* As for the other kinds, a move body under another kind is none. */
	if (ps->body_case == SKEIN__V1__STEP__BODY_MOVE_TENANT &&
	    (ps->kind == SKEIN__V1__STEP_KIND__STEP_KIND_MOVE_TENANT ||
		ps->kind == SKEIN__V1__STEP_KIND__STEP_KIND_PURGE_TENANT)) {
		plan_move_from_pb(ps->move_tenant, &s->move, oom);
		return;
	}

	plan_body_view(ps, &view, &b, &e, &f);
	if (view.flag != NULL) {
		s->flag = calloc(1, sizeof(*s->flag));
		if (s->flag == NULL) {
			*oom = true;
			return;
		}
		s->flag->name = copy(f.name, oom);
		s->flag->value = copy(f.value, oom);
		s->flag->tenants = copy_strv(f.tenants, f.ntenants, oom);
		s->flag->ntenants = s->flag->tenants != NULL ? f.ntenants : 0;
		s->flag->residency = copy_strv(f.residency, f.nresidency, oom);
		s->flag->nresidency = s->flag->residency != NULL ? f.nresidency : 0;
		s->flag->regions = copy_strv(f.regions, f.nregions, oom);
		s->flag->nregions = s->flag->regions != NULL ? f.nregions : 0;
		s->flag->set_template = copy(f.set_template, oom);
		s->flag->get_template = copy(f.get_template, oom);
		return;
	}
	if (view.backfill != NULL) {
		s->backfill = calloc(1, sizeof(*s->backfill));
		if (s->backfill == NULL) {
			*oom = true;
			return;
		}
		*s->backfill = b;
		s->backfill->table = copy(b.table, oom);
		s->backfill->update = copy(b.update, oom);
		s->backfill->where = copy(b.where, oom);
		s->backfill->tuning.throttle_query =
		    copy(b.tuning.throttle_query, oom);
	} else if (view.expand != NULL) {
		s->expand = calloc(1, sizeof(*s->expand));
		if (s->expand == NULL) {
			*oom = true;
			return;
		}
		*s->expand = e;
		s->expand->table = copy(e.table, oom);
		s->expand->column = copy(e.column, oom);
		s->expand->type = copy(e.type, oom);
		s->expand->from = copy(e.from, oom);
		s->expand->forward = copy(e.forward, oom);
		s->expand->backward = copy(e.backward, oom);
		s->expand->tuning.throttle_query = copy(e.tuning.throttle_query, oom);
	}
}

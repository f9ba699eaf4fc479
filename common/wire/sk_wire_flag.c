/* sk_wire_flag: what flags add to the wire (sk_wire_int.h): a report's
 * flip (Report.flag, a FlagBody) and flags_only, and a rollback view's
 * flags-first regions (RolloutView.flags_first). */
#include <stdlib.h>
#include <string.h>

#include "sk_wire.h"
#include "sk_wire_int.h"
#include "skein.pb-c.h"

/* A rollback addresses at most this many regions in its flags-first
 * pass; a view claiming more is refused. */
#define FLAGS_FIRST_MAX 1024

void
wire_flag_report_to_pb(report_store *s, const sk_report *r)
{
	Skein__V1__FlagBody *f = &s->flag;

	s->rep.flags_only = r->flags_only;
	if (!r->has_flag)
		return;
	skein__v1__flag_body__init(f);
	f->name = (char *)r->flag.name;
	f->value = (char *)r->flag.new_value;
	f->value_absent = r->flag.new_absent;
	f->old_value = (char *)r->flag.old_value;
	f->old_absent = r->flag.old_absent;
	f->reverted = r->flag.reverted;
	if (!r->flag.every_tenant) {
		s->flag_tenant[0] = (char *)r->flag.tenant;
		f->tenants = s->flag_tenant;
		f->n_tenants = 1;
	}
	s->rep.flag = f;
}

int
wire_flag_report_from_pb(sk_report *r, const Skein__V1__Report *pb, sk_err *err)
{
	const Skein__V1__FlagBody *f = pb->flag;

	r->flags_only = pb->flags_only;
	if (f == NULL)
		return SK_OK;
	if (f->n_tenants > 1)
		return sk_err_set(err, SK_EDECODE,
		    "decode report: a flag flip names %zu tenants; one report "
		    "is one flip",
		    f->n_tenants);
	r->has_flag = true;
	if (wire_copy_id(r->flag.name, sizeof(r->flag.name), f->name,
		"flag name", err) != SK_OK)
		return err->code;
	r->flag.every_tenant = f->n_tenants == 0;
	if (!r->flag.every_tenant &&
	    wire_copy_id(r->flag.tenant, sizeof(r->flag.tenant), f->tenants[0],
		"tenant", err) != SK_OK)
		return err->code;
	r->flag.old_absent = f->old_absent;
	r->flag.new_absent = f->value_absent;
	r->flag.reverted = f->reverted;
	wire_copy_text(r->flag.old_value, sizeof(r->flag.old_value), f->old_value);
	wire_copy_text(r->flag.new_value, sizeof(r->flag.new_value), f->value);
	return SK_OK;
}

int
wire_view_flags_to_pb(
    view_flags_store *s, Skein__V1__RolloutView *pb, const sk_rollout_view *v)
{
	size_t n = v->nflags_first;

	memset(s, 0, sizeof(*s));
	if (n == 0)
		return SK_OK;
	s->regions = calloc(n, sizeof(*s->regions));
	s->regionp = calloc(n, sizeof(*s->regionp));
	s->errors = calloc(n, sizeof(*s->errors));
	if (s->regions == NULL || s->regionp == NULL || s->errors == NULL)
		return SK_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		wire_region_view_to_pb(
		    &s->regions[i], &s->errors[i], &v->flags_first[i]);
		s->regionp[i] = &s->regions[i];
	}
	pb->flags_first = s->regionp;
	pb->n_flags_first = n;
	return SK_OK;
}

void
wire_view_flags_store_fini(view_flags_store *s)
{
	free(s->regions);
	free(s->regionp);
	free(s->errors);
	memset(s, 0, sizeof(*s));
}

int
wire_view_flags_from_pb(
    sk_rollout_view *v, const Skein__V1__RolloutView *pb, sk_err *err)
{
	if (pb->n_flags_first == 0)
		return SK_OK;
	if (pb->n_flags_first > FLAGS_FIRST_MAX)
		return sk_err_set(err, SK_EDECODE,
		    "decode rollout view: %zu flags-first regions", pb->n_flags_first);
	v->flags_first = calloc(pb->n_flags_first, sizeof(*v->flags_first));
	if (v->flags_first == NULL)
		return sk_err_set(err, SK_ENOMEM, "decode rollout view: out of memory");
	v->nflags_first = pb->n_flags_first;
	for (size_t i = 0; i < pb->n_flags_first; i++)
		if (wire_region_view_from_pb(
			&v->flags_first[i], pb->flags_first[i], err) != SK_OK)
			return err->code;
	return SK_OK;
}

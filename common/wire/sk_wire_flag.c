/* sk_wire_flag: what flags add to a report on the wire (sk_wire_int.h):
 * its flip (Report.flag, a FlagBody) and flags_only. A leaf: sk_wire.c
 * calls in, nothing here calls back. (A rollback view's flags-first
 * regions are in sk_wire_cli.c, beside the region views they reuse.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_wire.h"
#include "sk_wire_int.h"
#include "skein.pb-c.h"

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

/* An identifier that must fit (NULL reads as ""). */
static int
copy_id(char *dst, size_t cap, const char *src, const char *what, sk_err *err)
{
	const char *s = src != NULL ? src : "";

	if (strlen(s) >= cap)
		return sk_err_set(err, SK_EDECODE,
		    "decode report: %s of %zu bytes; the most is %zu", what,
		    strlen(s), cap - 1);
	memcpy(dst, s, strlen(s) + 1);
	return SK_OK;
}

/* Free text, cut to cap. */
static void
copy_text(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src != NULL ? src : "");
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
	if (copy_id(r->flag.name, sizeof(r->flag.name), f->name, "flag name", err) != SK_OK)
		return err->code;
	r->flag.every_tenant = f->n_tenants == 0;
	if (!r->flag.every_tenant &&
	    copy_id(r->flag.tenant, sizeof(r->flag.tenant), f->tenants[0],
		"tenant", err) != SK_OK)
		return err->code;
	r->flag.old_absent = f->old_absent;
	r->flag.new_absent = f->value_absent;
	r->flag.reverted = f->reverted;
	copy_text(r->flag.old_value, sizeof(r->flag.old_value), f->old_value);
	copy_text(r->flag.new_value, sizeof(r->flag.new_value), f->value);
	return SK_OK;
}

/* sk_wire_cli: the coordinator's answers to the CLI (responses with
 * rollout and region views; the requests are sk_wire_request.c's) and
 * the region reports they carry (which the journal keeps too), in
 * protobuf-c form, decoded at the edge like every other message (see
 * sk_wire.c). */
#include "sk_wire.h"

#include <stdlib.h>
#include <string.h>

#include "sk_wire_int.h"
#include "skein.pb-c.h"

/* Reports in one CliResponse: a whole rollout's history. */
#define WIRE_MAX_RESPONSE_REPORTS (WIRE_MAX_ITEMS * 16)

/* ---- CLI views ---------------------------------------------------------- */

static void
region_to_pb(Skein__V1__RegionView *pb, Skein__V1__Error *pe, const sk_region_view *v)
{
	skein__v1__region_view__init(pb);
	pb->name = (char *)v->name;
	pb->state = (char *)v->state;
	pb->step = (char *)v->step;
	pb->database = (char *)v->database;
	pb->updated_unix_ms = v->updated_ms;
	pb->steps_done = v->steps_done;
	pb->steps_total = v->steps_total;
	pb->detail = (char *)v->detail;
	if (v->error.code != SK_OK) {
		wire_error_to_pb(pe, &v->error);
		pb->error = pe;
	}
}

static int
region_from_pb(sk_region_view *v, const Skein__V1__RegionView *pb, sk_err *err)
{
	memset(v, 0, sizeof(*v));
	if (wire_copy_id(v->name, sizeof(v->name), pb->name, "region", err) != SK_OK)
		return err->code;
	if (wire_copy_id(v->step, sizeof(v->step), pb->step, "step id", err) != SK_OK ||
	    wire_copy_id(v->database, sizeof(v->database), pb->database,
		"database name", err) != SK_OK)
		return err->code;
	wire_copy_text(v->state, sizeof(v->state), pb->state);
	wire_copy_text(v->detail, sizeof(v->detail), pb->detail);
	v->updated_ms = pb->updated_unix_ms;
	v->steps_done = pb->steps_done;
	v->steps_total = pb->steps_total;
	wire_error_from_pb(&v->error, pb->error);
	return SK_OK;
}

/* ---- flags: a rollback view's flags-first regions (sk_wire_int.h) */

/* A rollback addresses at most this many regions in its flags-first
 * pass; a view claiming more is refused. */
#define FLAGS_FIRST_MAX 1024

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
		region_to_pb(&s->regions[i], &s->errors[i], &v->flags_first[i]);
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
		if (region_from_pb(&v->flags_first[i], pb->flags_first[i], err) != SK_OK)
			return err->code;
	return SK_OK;
}
/* ---- end flags */

int
sk_region_view_encode(const sk_region_view *v, uint8_t **out, size_t *len, sk_err *err)
{
	Skein__V1__RegionView pb;
	Skein__V1__Error pe;

	region_to_pb(&pb, &pe, v);
	return wire_pack_msg(&pb.base, out, len, err);
}

int
sk_region_view_decode(const uint8_t *buf, size_t len, sk_region_view *out, sk_err *err)
{
	Skein__V1__RegionView *pb;
	int rc;

	pb = skein__v1__region_view__unpack(NULL, len, buf);
	if (pb == NULL)
		return sk_err_set(err, SK_EDECODE, "decode region view: invalid bytes");
	rc = region_from_pb(out, pb, err);
	skein__v1__region_view__free_unpacked(pb, NULL);
	return rc;
}

static int
region_report_from_pb(
    sk_region_report *out, const Skein__V1__RegionReport *pb, sk_err *err)
{
	memset(out, 0, sizeof(*out));
	if (wire_copy_id(out->region, sizeof(out->region), pb->region, "region",
		err) != SK_OK)
		return err->code;
	if (pb->report == NULL)
		return sk_err_set(err, SK_EDECODE,
		    "decode region report: region %s has no report", out->region);
	return wire_report_from_pb(&out->report, pb->report, err);
}

int
sk_region_report_encode(
    const sk_region_report *r, uint8_t **out, size_t *len, sk_err *err)
{
	Skein__V1__RegionReport pb;
	report_store *rep = calloc(1, sizeof(*rep));
	int rc;

	if (rep == NULL)
		return sk_err_set(err, SK_ENOMEM, "encode region report: out of memory");
	skein__v1__region_report__init(&pb);
	pb.region = (char *)r->region;
	wire_report_to_pb(rep, &r->report);
	pb.report = &rep->rep;
	rc = wire_pack_msg(&pb.base, out, len, err);
	free(rep);
	return rc;
}

int
sk_region_report_decode(
    const uint8_t *buf, size_t len, sk_region_report *out, sk_err *err)
{
	Skein__V1__RegionReport *pb;
	int rc;

	memset(out, 0, sizeof(*out));
	pb = skein__v1__region_report__unpack(NULL, len, buf);
	if (pb == NULL)
		return sk_err_set(err, SK_EDECODE,
		    "decode region report: not a valid RegionReport (%zu bytes)", len);
	rc = region_report_from_pb(out, pb, err);
	skein__v1__region_report__free_unpacked(pb, NULL);
	if (rc != SK_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

static Skein__V1__DatabaseView *
database_to_pb(Skein__V1__DatabaseView *pb, const sk_database_view *d)
{
	skein__v1__database_view__init(pb);
	pb->region = (char *)d->region;
	pb->name = (char *)d->name;
	pb->state = (char *)d->state;
	pb->step = (char *)d->step;
	pb->steps_done = d->steps_done;
	pb->steps_total = d->steps_total;
	pb->detail = (char *)d->detail;
	pb->updated_unix_ms = d->updated_ms;
	pb->blocker_pid = d->blocker_pid;
	pb->progress_step = (char *)d->progress_step;
	pb->progress_kind = (char *)d->progress_kind;
	pb->rows_done = d->rows_done;
	pb->rows_total = d->rows_total;
	pb->rows_scanned = d->rows_scanned;
	pb->rate = d->rate;
	pb->eta_ms = d->eta_ms;
	pb->batch_size = d->batch_size;
	pb->batches = d->batches;
	pb->throttle = (char *)d->throttle;
	pb->throttled_ms = d->throttled_ms;
	pb->move_phase = (char *)d->move_phase; /* moves */
	pb->move_table = (char *)d->move_table;
	pb->move_from = (char *)d->move_from;
	pb->move_to = (char *)d->move_to;
	pb->bytes = d->bytes;
	pb->bytes_total = d->bytes_total;
	pb->lag_ms = d->lag_ms;
	pb->changes = d->changes;
	pb->freeze_ms = d->freeze_ms;
	return pb;
}

static int
database_from_pb(sk_database_view *d, const Skein__V1__DatabaseView *pb, sk_err *err)
{
	memset(d, 0, sizeof(*d));
	if (wire_copy_id(d->region, sizeof(d->region), pb->region, "region", err) != SK_OK ||
	    wire_copy_id(d->name, sizeof(d->name), pb->name, "database name", err) != SK_OK ||
	    wire_copy_id(d->step, sizeof(d->step), pb->step, "step id", err) != SK_OK ||
	    wire_copy_id(d->progress_step, sizeof(d->progress_step),
		pb->progress_step, "step id", err) != SK_OK)
		return err->code;
	wire_copy_text(d->state, sizeof(d->state), pb->state);
	wire_copy_text(d->detail, sizeof(d->detail), pb->detail);
	d->steps_done = pb->steps_done;
	d->steps_total = pb->steps_total;
	d->updated_ms = pb->updated_unix_ms;
	d->blocker_pid = pb->blocker_pid;
	wire_copy_text(d->progress_kind, sizeof(d->progress_kind), pb->progress_kind);
	wire_copy_text(d->move_phase, sizeof(d->move_phase), pb->move_phase); /* moves */
	if (wire_copy_id(d->move_table, sizeof(d->move_table), pb->move_table,
		"move table", err) != SK_OK ||
	    wire_copy_id(d->move_from, sizeof(d->move_from), pb->move_from,
		"region", err) != SK_OK ||
	    wire_copy_id(d->move_to, sizeof(d->move_to), pb->move_to, "region",
		err) != SK_OK)
		return err->code;
	d->bytes = pb->bytes;
	d->bytes_total = pb->bytes_total;
	d->lag_ms = pb->lag_ms;
	d->changes = pb->changes;
	d->freeze_ms = pb->freeze_ms;
	d->rows_done = pb->rows_done;
	d->rows_total = pb->rows_total;
	d->rows_scanned = pb->rows_scanned;
	d->rate = pb->rate;
	d->eta_ms = pb->eta_ms;
	d->batch_size = pb->batch_size;
	d->batches = pb->batches;
	wire_copy_text(d->throttle, sizeof(d->throttle), pb->throttle);
	d->throttled_ms = pb->throttled_ms;
	return SK_OK;
}

static Skein__V1__BackupView *
backup_to_pb(Skein__V1__BackupView *pb, const sk_backup_view *b)
{
	skein__v1__backup_view__init(pb);
	pb->region = (char *)b->region;
	pb->database = (char *)b->database;
	pb->path = (char *)b->path;
	pb->size = b->size;
	pb->at_unix_ms = b->at_ms;
	return pb;
}

static int
backup_from_pb(sk_backup_view *b, const Skein__V1__BackupView *pb, sk_err *err)
{
	memset(b, 0, sizeof(*b));
	if (wire_copy_id(b->region, sizeof(b->region), pb->region, "region", err) != SK_OK ||
	    wire_copy_id(b->database, sizeof(b->database), pb->database,
		"database name", err) != SK_OK ||
	    wire_copy_id(b->path, sizeof(b->path), pb->path, "backup path", err) != SK_OK)
		return err->code;
	b->size = pb->size;
	b->at_ms = pb->at_unix_ms;
	return SK_OK;
}

/* Storage for one rollout's protobuf view while it is being packed. */
typedef struct view_store {
	Skein__V1__RolloutView rv;
	Skein__V1__PhaseView *phases;
	Skein__V1__PhaseView **phasep;
	Skein__V1__RegionView *regions;
	Skein__V1__RegionView **regionp;
	Skein__V1__Error *errors;
	Skein__V1__EventView *events;
	Skein__V1__EventView **eventp;
	Skein__V1__DatabaseView *dbs;
	Skein__V1__DatabaseView **dbp;
	Skein__V1__BackupView *backups;
	Skein__V1__BackupView **backupp;
	Skein__V1__Tune tune;
	stopline_view_store stopline;
	gate_view_store gates;
	view_flags_store flags; /* flags */
} view_store;

static void
view_store_fini(view_store *s)
{
	free(s->phases);
	free(s->phasep);
	free(s->regions);
	free(s->regionp);
	free(s->errors);
	free(s->events);
	free(s->eventp);
	free(s->dbs);
	free(s->dbp);
	free(s->backups);
	free(s->backupp);
	wire_view_stopline_store_fini(&s->stopline);
	wire_view_gates_fini(&s->gates);
	wire_view_flags_store_fini(&s->flags); /* flags */
}

static int
view_to_pb(view_store *s, const sk_rollout_view *v)
{
	size_t nregions = 0, r = 0;

	memset(s, 0, sizeof(*s));
	skein__v1__rollout_view__init(&s->rv);
	s->rv.id = (char *)v->id;
	s->rv.plan_id = (char *)v->plan_id;
	s->rv.plan_name = (char *)v->plan_name;
	s->rv.state = (char *)v->state;
	s->rv.current_phase = v->current_phase;
	s->rv.created_unix_ms = v->created_ms;
	s->rv.finished_unix_ms = v->finished_ms;
	s->rv.reason = (char *)v->reason;
	s->rv.mode = (Skein__V1__RolloutMode)v->mode;
	s->rv.of_rollout = (char *)v->of_rollout;
	s->rv.started_by = (char *)v->started_by;
	s->rv.started_by_key = (char *)v->started_by_key;
	s->rv.no_backup = v->no_backup;
	s->rv.plan_no_rollback_backup = v->plan_no_rollback_backup;
	s->rv.reapply = v->reapply;
	s->rv.reapply_of = (char *)v->reapply_of;
	wire_view_opctl_to_pb(&s->rv, &s->tune, v);
	if (wire_view_stopline_to_pb(&s->stopline, &s->rv, v) != SK_OK)
		return SK_ENOMEM;
	for (size_t i = 0; i < v->nphases; i++)
		nregions += v->phases[i].nregions;
	s->phases = calloc(v->nphases + 1, sizeof(*s->phases));
	s->phasep = calloc(v->nphases + 1, sizeof(*s->phasep));
	s->regions = calloc(nregions + 1, sizeof(*s->regions));
	s->regionp = calloc(nregions + 1, sizeof(*s->regionp));
	s->errors = calloc(nregions + 1, sizeof(*s->errors));
	s->events = calloc(v->nevents + 1, sizeof(*s->events));
	s->eventp = calloc(v->nevents + 1, sizeof(*s->eventp));
	s->dbs = calloc(v->ndatabases + 1, sizeof(*s->dbs));
	s->dbp = calloc(v->ndatabases + 1, sizeof(*s->dbp));
	s->backups = calloc(v->nbackups + 1, sizeof(*s->backups));
	s->backupp = calloc(v->nbackups + 1, sizeof(*s->backupp));
	if (!s->phases || !s->phasep || !s->regions || !s->regionp || !s->errors ||
	    !s->events || !s->eventp || !s->dbs || !s->dbp || !s->backups || !s->backupp)
		return SK_ENOMEM;
	for (size_t i = 0; i < v->nphases; i++) {
		Skein__V1__PhaseView *p = &s->phases[i];

		skein__v1__phase_view__init(p);
		p->name = (char *)v->phases[i].name;
		p->state = (char *)v->phases[i].state;
		p->regions = &s->regionp[r];
		p->n_regions = v->phases[i].nregions;
		for (size_t j = 0; j < v->phases[i].nregions; j++, r++) {
			region_to_pb(&s->regions[r], &s->errors[r],
			    &v->phases[i].regions[j]);
			s->regionp[r] = &s->regions[r];
		}
		s->phasep[i] = p;
	}
	s->rv.phases = s->phasep;
	s->rv.n_phases = v->nphases;
	for (size_t i = 0; i < v->nevents; i++) {
		Skein__V1__EventView *e = &s->events[i];

		skein__v1__event_view__init(e);
		e->seq = v->events[i].seq;
		e->at_unix_ms = v->events[i].at_ms;
		e->region = (char *)v->events[i].region;
		e->text = (char *)v->events[i].text;
		s->eventp[i] = e;
	}
	s->rv.events = s->eventp;
	s->rv.n_events = v->nevents;
	for (size_t i = 0; i < v->ndatabases; i++)
		s->dbp[i] = database_to_pb(&s->dbs[i], &v->databases[i]);
	s->rv.databases = s->dbp;
	s->rv.n_databases = v->ndatabases;
	for (size_t i = 0; i < v->nbackups; i++)
		s->backupp[i] = backup_to_pb(&s->backups[i], &v->backups[i]);
	s->rv.backups = s->backupp;
	s->rv.n_backups = v->nbackups;
	if (wire_view_gates_to_pb(&s->rv, &s->gates, v) != SK_OK)
		return SK_ENOMEM;
	return wire_view_flags_to_pb(&s->flags, &s->rv, v); /* flags */
}

int
sk_cli_response_encode(const sk_cli_response *m, uint8_t **out, size_t *len, sk_err *err)
{
	Skein__V1__CliResponse pb;
	Skein__V1__Error pe;
	view_store *stores = NULL;
	Skein__V1__RolloutView **rvp = NULL;
	Skein__V1__RegionReport *rrs = NULL, **rrp = NULL;
	report_store *reps = NULL;
	stopline_line_store line;
	agents_store agents;
	int rc = SK_OK;

	memset(&agents, 0, sizeof(agents));
	skein__v1__cli_response__init(&pb);
	wire_line_to_pb(&line, &pb, m);
	if ((rc = wire_agents_to_pb(&agents, &pb, m, err)) != SK_OK)
		goto out;
	pb.ok = m->ok;
	pb.rollout_id = (char *)m->rollout_id;
	if (m->error.code != SK_OK) {
		wire_error_to_pb(&pe, &m->error);
		pb.error = &pe;
	}
	if (m->nrollouts > 0) {
		stores = calloc(m->nrollouts, sizeof(*stores));
		rvp = calloc(m->nrollouts, sizeof(*rvp));
		if (stores == NULL || rvp == NULL) {
			rc = sk_err_set(err, SK_ENOMEM, "encode response: out of memory");
			goto out;
		}
		for (size_t i = 0; i < m->nrollouts; i++) {
			if (view_to_pb(&stores[i], &m->rollouts[i]) != SK_OK) {
				rc = sk_err_set(err, SK_ENOMEM,
				    "encode response: out of memory");
				view_store_fini(&stores[i]);
				for (size_t j = 0; j < i; j++)
					view_store_fini(&stores[j]);
				free(stores);
				stores = NULL;
				goto out;
			}
			rvp[i] = &stores[i].rv;
		}
		pb.rollouts = rvp;
		pb.n_rollouts = m->nrollouts;
	}
	if (m->nreports > 0) {
		rrs = calloc(m->nreports, sizeof(*rrs));
		rrp = calloc(m->nreports, sizeof(*rrp));
		reps = calloc(m->nreports, sizeof(*reps));
		if (rrs == NULL || rrp == NULL || reps == NULL) {
			rc = sk_err_set(err, SK_ENOMEM, "encode response: out of memory");
			goto out;
		}
		for (size_t i = 0; i < m->nreports; i++) {
			skein__v1__region_report__init(&rrs[i]);
			rrs[i].region = (char *)m->reports[i].region;
			wire_report_to_pb(&reps[i], &m->reports[i].report);
			rrs[i].report = &reps[i].rep;
			rrp[i] = &rrs[i];
		}
		pb.reports = rrp;
		pb.n_reports = m->nreports;
	}
	pb.signed_plan.data = m->signed_plan;
	pb.signed_plan.len = m->signed_plan_len;
	rc = wire_pack_msg(&pb.base, out, len, err);
out:
	for (size_t i = 0; stores != NULL && i < m->nrollouts; i++)
		view_store_fini(&stores[i]);
	free(stores);
	free(rvp);
	free(rrs);
	free(rrp);
	free(reps);
	wire_agents_store_fini(&agents);
	return rc;
}

static int
view_from_pb(sk_rollout_view *v, const Skein__V1__RolloutView *pb, sk_err *err)
{
	memset(v, 0, sizeof(*v));
	if (wire_copy_id(v->id, sizeof(v->id), pb->id, "rollout id", err) != SK_OK ||
	    wire_copy_id(v->plan_id, sizeof(v->plan_id), pb->plan_id, "plan id",
		err) != SK_OK)
		return err->code;
	wire_copy_text(v->plan_name, sizeof(v->plan_name), pb->plan_name);
	wire_copy_text(v->state, sizeof(v->state), pb->state);
	if (wire_copy_id(v->of_rollout, sizeof(v->of_rollout), pb->of_rollout,
		"rollout id", err) != SK_OK)
		return err->code;
	v->mode = (int)pb->mode;
	if (wire_mode_check(v->mode, "rollout view", err) != SK_OK)
		return err->code;
	wire_copy_text(v->reason, sizeof(v->reason), pb->reason);
	wire_copy_text(v->started_by, sizeof(v->started_by), pb->started_by);
	wire_copy_text(v->started_by_key, sizeof(v->started_by_key), pb->started_by_key);
	v->no_backup = pb->no_backup;
	v->plan_no_rollback_backup = pb->plan_no_rollback_backup;
	v->reapply = pb->reapply;
	if (wire_copy_id(v->reapply_of, sizeof(v->reapply_of), pb->reapply_of,
		"rollout id", err) != SK_OK ||
	    wire_view_opctl_from_pb(v, pb, err) != SK_OK ||
	    wire_view_stopline_from_pb(v, pb, err) != SK_OK ||
	    wire_view_gates_from_pb(v, pb, err) != SK_OK)
		return err->code;
	v->current_phase = pb->current_phase;
	v->created_ms = pb->created_unix_ms;
	v->finished_ms = pb->finished_unix_ms;
	if (pb->n_phases > WIRE_MAX_ITEMS || pb->n_events > WIRE_MAX_ITEMS * 16 ||
	    pb->n_databases > WIRE_MAX_ITEMS * 16 ||
	    pb->n_backups > WIRE_MAX_ITEMS * 16)
		return sk_err_set(err, SK_EDECODE, "decode rollout view: too large");
	if (pb->n_backups > 0) {
		v->backups = calloc(pb->n_backups, sizeof(*v->backups));
		if (v->backups == NULL)
			return sk_err_set(err, SK_ENOMEM,
			    "decode rollout view: out of memory");
		v->nbackups = pb->n_backups;
	}
	for (size_t i = 0; i < pb->n_backups; i++)
		if (backup_from_pb(&v->backups[i], pb->backups[i], err) != SK_OK)
			return err->code;
	if (pb->n_databases > 0) {
		v->databases = calloc(pb->n_databases, sizeof(*v->databases));
		if (v->databases == NULL)
			return sk_err_set(err, SK_ENOMEM,
			    "decode rollout view: out of memory");
		v->ndatabases = pb->n_databases;
	}
	for (size_t i = 0; i < pb->n_databases; i++)
		if (database_from_pb(&v->databases[i], pb->databases[i], err) != SK_OK)
			return err->code;
	if (pb->n_phases > 0) {
		v->phases = calloc(pb->n_phases, sizeof(*v->phases));
		if (v->phases == NULL)
			return sk_err_set(err, SK_ENOMEM,
			    "decode rollout view: out of memory");
		v->nphases = pb->n_phases;
	}
	for (size_t i = 0; i < pb->n_phases; i++) {
		const Skein__V1__PhaseView *pp = pb->phases[i];
		sk_phase_view *p = &v->phases[i];

		if (wire_copy_id(p->name, sizeof(p->name), pp->name,
			"phase name", err) != SK_OK)
			return err->code;
		wire_copy_text(p->state, sizeof(p->state), pp->state);
		if (pp->n_regions > WIRE_MAX_ITEMS)
			return sk_err_set(
			    err, SK_EDECODE, "decode rollout view: too large");
		if (pp->n_regions == 0)
			continue;
		p->regions = calloc(pp->n_regions, sizeof(*p->regions));
		if (p->regions == NULL)
			return sk_err_set(err, SK_ENOMEM,
			    "decode rollout view: out of memory");
		p->nregions = pp->n_regions;
		for (size_t j = 0; j < pp->n_regions; j++)
			if (region_from_pb(&p->regions[j], pp->regions[j], err) != SK_OK)
				return err->code;
	}
	if (pb->n_events > 0) {
		v->events = calloc(pb->n_events, sizeof(*v->events));
		if (v->events == NULL)
			return sk_err_set(err, SK_ENOMEM,
			    "decode rollout view: out of memory");
		v->nevents = pb->n_events;
	}
	for (size_t i = 0; i < pb->n_events; i++) {
		v->events[i].seq = pb->events[i]->seq;
		v->events[i].at_ms = pb->events[i]->at_unix_ms;
		if (wire_copy_id(v->events[i].region, sizeof(v->events[i].region),
			pb->events[i]->region, "region", err) != SK_OK)
			return err->code;
		wire_copy_text(v->events[i].text, sizeof(v->events[i].text),
		    pb->events[i]->text);
	}
	return wire_view_flags_from_pb(v, pb, err); /* flags */
}

int
sk_cli_response_decode(const uint8_t *buf, size_t len, sk_cli_response *out, sk_err *err)
{
	Skein__V1__CliResponse *pb;
	int rc = SK_OK;

	memset(out, 0, sizeof(*out));
	pb = skein__v1__cli_response__unpack(NULL, len, buf);
	if (pb == NULL)
		return sk_err_set(err, SK_EDECODE,
		    "decode response: not a valid CliResponse (%zu bytes)", len);
	out->ok = pb->ok;
	wire_error_from_pb(&out->error, pb->error);
	if ((rc = wire_line_from_pb(out, pb, err)) != SK_OK ||
	    (rc = wire_agents_from_pb(out, pb, err)) != SK_OK)
		goto out;
	rc = wire_copy_id(out->rollout_id, sizeof(out->rollout_id),
	    pb->rollout_id, "rollout id", err);
	if (rc != SK_OK)
		goto out;
	if (pb->n_rollouts > WIRE_MAX_ITEMS) {
		rc = sk_err_set(err, SK_EDECODE, "decode response: too many rollouts");
		goto out;
	}
	if (pb->n_rollouts > 0) {
		out->rollouts = calloc(pb->n_rollouts, sizeof(*out->rollouts));
		if (out->rollouts == NULL) {
			rc = sk_err_set(err, SK_ENOMEM, "decode response: out of memory");
			goto out;
		}
		out->nrollouts = pb->n_rollouts;
		for (size_t i = 0; i < pb->n_rollouts; i++) {
			rc = view_from_pb(&out->rollouts[i], pb->rollouts[i], err);
			if (rc != SK_OK)
				goto out;
		}
	}
	if (pb->n_reports > WIRE_MAX_RESPONSE_REPORTS) {
		rc = sk_err_set(err, SK_EDECODE,
		    "decode response: %zu reports, at most %d", pb->n_reports,
		    WIRE_MAX_RESPONSE_REPORTS);
		goto out;
	}
	if (pb->n_reports > 0) {
		out->reports = calloc(pb->n_reports, sizeof(*out->reports));
		if (out->reports == NULL) {
			rc = sk_err_set(err, SK_ENOMEM, "decode response: out of memory");
			goto out;
		}
		out->nreports = pb->n_reports;
		for (size_t i = 0; i < pb->n_reports; i++) {
			rc = region_report_from_pb(
			    &out->reports[i], pb->reports[i], err);
			if (rc != SK_OK)
				goto out;
		}
	}
	if (pb->signed_plan.len > 0) {
		out->signed_plan = malloc(pb->signed_plan.len);
		if (out->signed_plan == NULL) {
			rc = sk_err_set(err, SK_ENOMEM, "decode response: out of memory");
			goto out;
		}
		memcpy(out->signed_plan, pb->signed_plan.data, pb->signed_plan.len);
		out->signed_plan_len = pb->signed_plan.len;
	}
out:
	skein__v1__cli_response__free_unpacked(pb, NULL);
	if (rc != SK_OK)
		sk_cli_response_fini(out);
	return rc;
}

void
sk_rollout_view_fini(sk_rollout_view *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nphases; i++)
		free(v->phases[i].regions);
	free(v->phases);
	free(v->events);
	free(v->databases);
	free(v->backups);
	wire_view_stopline_fini(v);
	free(v->approvals);
	free(v->gates);
	v->approvals = NULL;
	v->gates = NULL;
	v->napprovals = v->ngates = 0;
	free(v->flags_first); /* flags */
	v->flags_first = NULL;
	v->nflags_first = 0;
	v->phases = NULL;
	v->events = NULL;
	v->databases = NULL;
	v->backups = NULL;
	v->nphases = v->nevents = v->ndatabases = v->nbackups = 0;
}

void
sk_cli_response_fini(sk_cli_response *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nrollouts; i++)
		sk_rollout_view_fini(&m->rollouts[i]);
	free(m->rollouts);
	free(m->reports);
	free(m->signed_plan);
	free(m->agents);
	m->agents = NULL;
	m->nagents = 0;
	m->rollouts = NULL;
	m->nrollouts = 0;
	m->reports = NULL;
	m->nreports = 0;
	m->signed_plan = NULL;
	m->signed_plan_len = 0;
}

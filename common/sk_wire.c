/* sk_wire: converts between skein's own message structs and protobuf-c.
 * Everything that crosses a socket is decoded here, at the edge, into
 * fixed-size fields: identifiers that do not fit are refused, free text is
 * truncated. */
#include "sk_wire.h"

#include <stdlib.h>
#include <string.h>

#include "skein.pb-c.h"

#define WIRE_MAX_REPORTS 4096
#define WIRE_MAX_ITEMS 4096
/* Reports in one CliResponse: a whole rollout's history. */
#define WIRE_MAX_RESPONSE_REPORTS (WIRE_MAX_ITEMS * 16)

static const char *const event_names[SK_EV_MAX] = {
	[SK_EV_PLAN_ACCEPTED] = "plan-accepted",
	[SK_EV_PLAN_REFUSED] = "plan-refused",
	[SK_EV_DB_WAITING] = "db-waiting",
	[SK_EV_DB_STARTED] = "db-started",
	[SK_EV_STEP_STARTED] = "step-started",
	[SK_EV_STEP_FINISHED] = "step-finished",
	[SK_EV_STEP_SKIPPED] = "step-skipped",
	[SK_EV_STEP_FAILED] = "step-failed",
	[SK_EV_DB_FINISHED] = "db-finished",
	[SK_EV_DB_FAILED] = "db-failed",
	[SK_EV_PLAN_SUCCEEDED] = "plan-succeeded",
	[SK_EV_PLAN_FAILED] = "plan-failed",
	[SK_EV_PROGRESS] = "progress",
	[SK_EV_CHECK] = "check",
	[SK_EV_LOCK_WAIT] = "lock-wait",
	[SK_EV_BACKUP] = "backup",
	[SK_EV_STEP_REVERTED] = "step-reverted",
	[SK_EV_STEP_REHEARSED] = "step-rehearsed",
	[SK_EV_STEP_NOT_REHEARSABLE] = "step-not-rehearsable",
};

static const char *const mode_names[SK_MODE_MAX] = {
	[SK_MODE_APPLY] = "apply",
	[SK_MODE_REHEARSE] = "rehearse",
	[SK_MODE_ROLLBACK] = "rollback",
};

const char *
sk_mode_name(int mode)
{
	if (mode < 0 || mode >= SK_MODE_MAX)
		return "unknown";
	return mode_names[mode];
}

const char *
sk_event_name(int event)
{
	if (event <= 0 || event >= SK_EV_MAX || event_names[event] == NULL)
		return "unknown";
	return event_names[event];
}

/* ---- helpers ------------------------------------------------------------ */

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

/* Copy an identifier; refuse rather than truncate, since a truncated id
 * would silently name something else. */
static int
copy_id(char *dst, size_t cap, const char *src, const char *what, sk_err *err)
{
	size_t n = strlen(nz(src));

	if (n >= cap)
		return sk_err_set(err, SK_EDECODE,
		    "decode message: %s is %zu bytes, longer than %zu", what, n,
		    cap - 1);
	memcpy(dst, nz(src), n + 1);
	return SK_OK;
}

/* Copy free text, truncating. */
static void
copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(nz(src), cap - 1);

	memcpy(dst, nz(src), n);
	dst[n] = '\0';
}

static int
pack_msg(const ProtobufCMessage *m, uint8_t **out, size_t *len, sk_err *err)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n > 0 ? n : 1);

	if (buf == NULL)
		return sk_err_set(err, SK_ENOMEM, "encode message: out of memory");
	protobuf_c_message_pack(m, buf);
	*out = buf;
	*len = n;
	return SK_OK;
}

static void
error_to_pb(Skein__V1__Error *pb, const sk_err *e)
{
	skein__v1__error__init(pb);
	pb->code = (char *)sk_code_name(e->code);
	pb->sqlstate = (char *)e->sqlstate;
	pb->message = (char *)e->msg;
	pb->detail = (char *)e->detail;
	pb->hint = (char *)e->hint;
}

static void
error_from_pb(sk_err *e, const Skein__V1__Error *pb)
{
	sk_err_clear(e);
	if (pb == NULL)
		return;
	e->code = sk_code_from_name(pb->code);
	copy_text(e->sqlstate, sizeof(e->sqlstate), pb->sqlstate);
	copy_text(e->msg, sizeof(e->msg), pb->message);
	copy_text(e->detail, sizeof(e->detail), pb->detail);
	copy_text(e->hint, sizeof(e->hint), pb->hint);
}

/* ---- reports and agent messages --------------------------------------- */

/* Storage for one report's protobuf form while it is being packed; the
 * protobuf structs borrow the report's strings. */
typedef struct report_store {
	Skein__V1__Report rep;
	Skein__V1__Error error;
	Skein__V1__CheckResult check;
	Skein__V1__Blocker blockers[SK_BLOCKERS_MAX];
	Skein__V1__Blocker *blockerp[SK_BLOCKERS_MAX];
	Skein__V1__Backup backup;
} report_store;

static void
report_to_pb(report_store *s, const sk_report *r)
{
	Skein__V1__Report *pb = &s->rep;
	size_t nb = r->nblockers < SK_BLOCKERS_MAX ? r->nblockers : SK_BLOCKERS_MAX;

	skein__v1__report__init(pb);
	pb->seq = r->seq;
	pb->rollout_id = (char *)r->rollout_id;
	pb->plan_id = (char *)r->plan_id;
	pb->database = (char *)r->database;
	pb->step_id = (char *)r->step_id;
	pb->event = (Skein__V1__ReportEvent)r->event;
	pb->at_unix_ms = r->at_ms;
	pb->duration_ms = r->duration_ms;
	pb->rows = r->rows;
	pb->detail = (char *)r->detail;
	pb->attempt = r->attempt;
	pb->batch = r->batch;
	pb->rate = r->rate;
	pb->eta_ms = r->eta_ms;
	pb->lock_waits = r->lock_waits;
	pb->lock_wait_ms = r->lock_wait_ms;
	if (r->error.code != SK_OK) {
		error_to_pb(&s->error, &r->error);
		pb->error = &s->error;
	}
	if (r->has_check) {
		skein__v1__check_result__init(&s->check);
		s->check.name = (char *)r->check.name;
		s->check.when = (char *)r->check.when;
		s->check.passed = r->check.passed;
		s->check.seen = (char *)r->check.seen;
		s->check.expected = (char *)r->check.expected;
		pb->check = &s->check;
	}
	for (size_t i = 0; i < nb; i++) {
		Skein__V1__Blocker *b = &s->blockers[i];

		skein__v1__blocker__init(b);
		b->pid = r->blockers[i].pid;
		b->state = (char *)r->blockers[i].state;
		b->age_ms = r->blockers[i].age_ms;
		b->query = (char *)r->blockers[i].query;
		b->user = (char *)r->blockers[i].user;
		b->application = (char *)r->blockers[i].application;
		s->blockerp[i] = b;
	}
	pb->n_blockers = nb;
	pb->blockers = nb > 0 ? s->blockerp : NULL;
	if (r->has_backup) {
		skein__v1__backup__init(&s->backup);
		s->backup.path = (char *)r->backup.path;
		s->backup.size = r->backup.size;
		s->backup.duration_ms = r->backup.duration_ms;
		s->backup.restore_command = (char *)r->backup.restore_command;
		pb->backup = &s->backup;
	}
}

/* A report from the wire. Identifiers that do not fit are refused, free
 * text is truncated, and blockers past SK_BLOCKERS_MAX are dropped: the
 * first ones are the ones an operator acts on, and a report is not worth
 * refusing for an over-long list. */
static int
report_from_pb(sk_report *r, const Skein__V1__Report *pb, sk_err *err)
{
	memset(r, 0, sizeof(*r));
	r->seq = pb->seq;
	r->event = (int)pb->event;
	if (r->event <= 0 || r->event >= SK_EV_MAX)
		return sk_err_set(err, SK_EDECODE,
		    "decode report: unknown event %d", r->event);
	if (copy_id(r->rollout_id, sizeof(r->rollout_id), pb->rollout_id,
		"rollout id", err) != SK_OK ||
	    copy_id(r->plan_id, sizeof(r->plan_id), pb->plan_id, "plan id", err) != SK_OK ||
	    copy_id(r->database, sizeof(r->database), pb->database,
		"database name", err) != SK_OK ||
	    copy_id(r->step_id, sizeof(r->step_id), pb->step_id, "step id", err) != SK_OK)
		return err->code;
	r->at_ms = pb->at_unix_ms;
	r->duration_ms = pb->duration_ms;
	r->rows = pb->rows;
	r->batch = pb->batch;
	r->rate = pb->rate;
	r->eta_ms = pb->eta_ms;
	r->attempt = pb->attempt;
	r->lock_waits = pb->lock_waits;
	r->lock_wait_ms = pb->lock_wait_ms;
	copy_text(r->detail, sizeof(r->detail), pb->detail);
	error_from_pb(&r->error, pb->error);
	if (pb->check != NULL) {
		r->has_check = true;
		if (copy_id(r->check.name, sizeof(r->check.name),
			pb->check->name, "check name", err) != SK_OK)
			return err->code;
		copy_text(r->check.when, sizeof(r->check.when), pb->check->when);
		r->check.passed = pb->check->passed;
		copy_text(r->check.seen, sizeof(r->check.seen), pb->check->seen);
		copy_text(r->check.expected, sizeof(r->check.expected),
		    pb->check->expected);
	}
	r->nblockers =
	    pb->n_blockers < SK_BLOCKERS_MAX ? pb->n_blockers : SK_BLOCKERS_MAX;
	for (size_t i = 0; i < r->nblockers; i++) {
		const Skein__V1__Blocker *pbb = pb->blockers[i];
		sk_blocker *b = &r->blockers[i];

		b->pid = pbb->pid;
		b->age_ms = pbb->age_ms;
		copy_text(b->state, sizeof(b->state), pbb->state);
		copy_text(b->query, sizeof(b->query), pbb->query);
		copy_text(b->user, sizeof(b->user), pbb->user);
		copy_text(b->application, sizeof(b->application), pbb->application);
	}
	if (pb->backup != NULL) {
		r->has_backup = true;
		copy_text(r->backup.path, sizeof(r->backup.path), pb->backup->path);
		r->backup.size = pb->backup->size;
		r->backup.duration_ms = pb->backup->duration_ms;
		copy_text(r->backup.restore_command,
		    sizeof(r->backup.restore_command), pb->backup->restore_command);
	}
	return SK_OK;
}

int
sk_agent_msg_encode(const sk_agent_msg *m, uint8_t **out, size_t *len, sk_err *err)
{
	Skein__V1__AgentMessage pb;
	report_store *reps = NULL;
	Skein__V1__Report **repp = NULL;
	char **dbs = NULL, **running = NULL;
	int rc = SK_ENOMEM;

	*out = NULL;
	*len = 0;
	skein__v1__agent_message__init(&pb);
	pb.region = (char *)m->region;
	pb.nonce.data = (uint8_t *)m->nonce;
	pb.nonce.len = SK_NONCE_LEN;
	pb.boot_id = m->boot_id;
	pb.wait = m->wait;
	pb.hold_ms = m->hold_ms;
	pb.version = (char *)m->version;
	if (m->nreports > 0) {
		reps = calloc(m->nreports, sizeof(*reps));
		repp = calloc(m->nreports, sizeof(*repp));
		if (reps == NULL || repp == NULL)
			goto out;
		for (size_t i = 0; i < m->nreports; i++) {
			report_to_pb(&reps[i], &m->reports[i]);
			repp[i] = &reps[i].rep;
		}
		pb.n_reports = m->nreports;
		pb.reports = repp;
	}
	if (m->ndatabases > 0) {
		if ((dbs = calloc(m->ndatabases, sizeof(*dbs))) == NULL)
			goto out;
		for (size_t i = 0; i < m->ndatabases; i++)
			dbs[i] = (char *)m->databases[i];
		pb.n_databases = m->ndatabases;
		pb.databases = dbs;
	}
	if (m->nrunning > 0) {
		if ((running = calloc(m->nrunning, sizeof(*running))) == NULL)
			goto out;
		for (size_t i = 0; i < m->nrunning; i++)
			running[i] = (char *)m->running[i];
		pb.n_running = m->nrunning;
		pb.running = running;
	}
	rc = pack_msg(&pb.base, out, len, err);
out:
	if (rc == SK_ENOMEM)
		sk_err_set(err, SK_ENOMEM, "encode agent message: out of memory");
	free(reps);
	free(repp);
	free(dbs);
	free(running);
	return rc;
}

/* Copy a repeated string field into an array of fixed-size names. */
static int
copy_names(char (**dst)[SK_NAME_MAX], size_t *n, char **src, size_t nsrc,
    const char *what, sk_err *err)
{
	*dst = NULL;
	*n = 0;
	if (nsrc == 0)
		return SK_OK;
	if (nsrc > WIRE_MAX_ITEMS)
		return sk_err_set(err, SK_EDECODE, "decode message: %zu %s", nsrc, what);
	*dst = calloc(nsrc, sizeof(**dst));
	if (*dst == NULL)
		return sk_err_set(err, SK_ENOMEM, "decode message: out of memory");
	for (size_t i = 0; i < nsrc; i++) {
		if (copy_id((*dst)[i], SK_NAME_MAX, src[i], what, err) != SK_OK) {
			free(*dst);
			*dst = NULL;
			return err->code;
		}
	}
	*n = nsrc;
	return SK_OK;
}

int
sk_agent_msg_decode(const uint8_t *buf, size_t len, sk_agent_msg *out, sk_err *err)
{
	Skein__V1__AgentMessage *pb;
	int rc;

	memset(out, 0, sizeof(*out));
	pb = skein__v1__agent_message__unpack(NULL, len, buf);
	if (pb == NULL)
		return sk_err_set(err, SK_EDECODE,
		    "decode agent message: not a valid AgentMessage (%zu bytes)", len);
	rc = copy_id(out->region, sizeof(out->region), pb->region, "region", err);
	if (rc != SK_OK)
		goto out;
	if (pb->nonce.len != SK_NONCE_LEN) {
		rc = sk_err_set(err, SK_EDECODE,
		    "decode agent message: nonce is %zu bytes, want %d",
		    pb->nonce.len, SK_NONCE_LEN);
		goto out;
	}
	memcpy(out->nonce, pb->nonce.data, SK_NONCE_LEN);
	out->boot_id = pb->boot_id;
	out->wait = pb->wait;
	out->hold_ms = pb->hold_ms;
	copy_text(out->version, sizeof(out->version), pb->version);
	if (pb->n_reports > WIRE_MAX_REPORTS) {
		rc = sk_err_set(err, SK_EDECODE,
		    "decode agent message: %zu reports, at most %d",
		    pb->n_reports, WIRE_MAX_REPORTS);
		goto out;
	}
	if (pb->n_reports > 0) {
		out->reports = calloc(pb->n_reports, sizeof(*out->reports));
		if (out->reports == NULL) {
			rc = sk_err_set(err, SK_ENOMEM,
			    "decode agent message: out of memory");
			goto out;
		}
		for (size_t i = 0; i < pb->n_reports; i++) {
			rc = report_from_pb(&out->reports[i], pb->reports[i], err);
			if (rc != SK_OK)
				goto out;
		}
		out->nreports = pb->n_reports;
	}
	rc = copy_names(&out->databases, &out->ndatabases, pb->databases,
	    pb->n_databases, "database name", err);
	if (rc != SK_OK)
		goto out;
	rc = copy_names(&out->running, &out->nrunning, pb->running,
	    pb->n_running, "rollout id", err);
out:
	skein__v1__agent_message__free_unpacked(pb, NULL);
	if (rc != SK_OK)
		sk_agent_msg_fini(out);
	return rc;
}

void
sk_agent_msg_fini(sk_agent_msg *m)
{
	if (m == NULL)
		return;
	free(m->reports);
	free(m->databases);
	free(m->running);
	m->reports = NULL;
	m->databases = NULL;
	m->running = NULL;
	m->nreports = m->ndatabases = m->nrunning = 0;
}

/* ---- control messages --------------------------------------------------- */

int
sk_control_encode(const sk_control *m, uint8_t **out, size_t *len, sk_err *err)
{
	Skein__V1__Control pb;
	Skein__V1__Command *cmds = NULL, **cmdp = NULL;
	int rc;

	skein__v1__control__init(&pb);
	pb.seq = m->seq;
	pb.region = (char *)m->region;
	pb.nonce.data = (uint8_t *)m->nonce;
	pb.nonce.len = SK_NONCE_LEN;
	pb.boot_id = m->boot_id;
	pb.acked_report_seq = m->acked_report_seq;
	if (m->ncommands > 0) {
		cmds = calloc(m->ncommands, sizeof(*cmds));
		cmdp = calloc(m->ncommands, sizeof(*cmdp));
		if (cmds == NULL || cmdp == NULL) {
			free(cmds);
			free(cmdp);
			return sk_err_set(
			    err, SK_ENOMEM, "encode control: out of memory");
		}
		for (size_t i = 0; i < m->ncommands; i++) {
			skein__v1__command__init(&cmds[i]);
			cmds[i].kind = (Skein__V1__CommandKind)m->commands[i].kind;
			cmds[i].rollout_id = (char *)m->commands[i].rollout_id;
			cmds[i].signed_plan.data = m->commands[i].signed_plan;
			cmds[i].signed_plan.len = m->commands[i].signed_plan_len;
			cmds[i].mode = (Skein__V1__RolloutMode)m->commands[i].mode;
			cmdp[i] = &cmds[i];
		}
		pb.n_commands = m->ncommands;
		pb.commands = cmdp;
	}
	rc = pack_msg(&pb.base, out, len, err);
	free(cmds);
	free(cmdp);
	return rc;
}

int
sk_control_decode(const uint8_t *buf, size_t len, sk_control *out, sk_err *err)
{
	Skein__V1__Control *pb;
	int rc = SK_OK;

	memset(out, 0, sizeof(*out));
	pb = skein__v1__control__unpack(NULL, len, buf);
	if (pb == NULL)
		return sk_err_set(err, SK_EDECODE,
		    "decode control: not a valid Control message (%zu bytes)", len);
	out->seq = pb->seq;
	out->boot_id = pb->boot_id;
	out->acked_report_seq = pb->acked_report_seq;
	rc = copy_id(out->region, sizeof(out->region), pb->region, "region", err);
	if (rc != SK_OK)
		goto out;
	if (pb->nonce.len != SK_NONCE_LEN) {
		rc = sk_err_set(err, SK_EDECODE,
		    "decode control: nonce is %zu bytes, want %d",
		    pb->nonce.len, SK_NONCE_LEN);
		goto out;
	}
	memcpy(out->nonce, pb->nonce.data, SK_NONCE_LEN);
	if (pb->n_commands > WIRE_MAX_ITEMS) {
		rc = sk_err_set(err, SK_EDECODE, "decode control: %zu commands",
		    pb->n_commands);
		goto out;
	}
	if (pb->n_commands > 0) {
		out->commands = calloc(pb->n_commands, sizeof(*out->commands));
		if (out->commands == NULL) {
			rc = sk_err_set(err, SK_ENOMEM, "decode control: out of memory");
			goto out;
		}
		out->ncommands = pb->n_commands;
		for (size_t i = 0; i < pb->n_commands; i++) {
			sk_command *c = &out->commands[i];
			const Skein__V1__Command *pc = pb->commands[i];

			c->kind = (int)pc->kind;
			c->mode = (int)pc->mode;
			if (c->mode < 0 || c->mode >= SK_MODE_MAX) {
				rc = sk_err_set(err, SK_EDECODE,
				    "decode control: command %zu has unknown mode %d",
				    i, c->mode);
				goto out;
			}
			rc = copy_id(c->rollout_id, sizeof(c->rollout_id),
			    pc->rollout_id, "rollout id", err);
			if (rc != SK_OK)
				goto out;
			if (pc->signed_plan.len > 0) {
				c->signed_plan = malloc(pc->signed_plan.len);
				if (c->signed_plan == NULL) {
					rc = sk_err_set(err, SK_ENOMEM,
					    "decode control: out of memory");
					goto out;
				}
				memcpy(c->signed_plan, pc->signed_plan.data,
				    pc->signed_plan.len);
				c->signed_plan_len = pc->signed_plan.len;
			}
		}
	}
out:
	skein__v1__control__free_unpacked(pb, NULL);
	if (rc != SK_OK)
		sk_control_fini(out);
	return rc;
}

void
sk_control_fini(sk_control *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->ncommands; i++)
		free(m->commands[i].signed_plan);
	free(m->commands);
	m->commands = NULL;
	m->ncommands = 0;
}

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
		error_to_pb(pe, &v->error);
		pb->error = pe;
	}
}

static int
region_from_pb(sk_region_view *v, const Skein__V1__RegionView *pb, sk_err *err)
{
	memset(v, 0, sizeof(*v));
	if (copy_id(v->name, sizeof(v->name), pb->name, "region", err) != SK_OK)
		return err->code;
	if (copy_id(v->step, sizeof(v->step), pb->step, "step id", err) != SK_OK ||
	    copy_id(v->database, sizeof(v->database), pb->database,
		"database name", err) != SK_OK)
		return err->code;
	copy_text(v->state, sizeof(v->state), pb->state);
	copy_text(v->detail, sizeof(v->detail), pb->detail);
	v->updated_ms = pb->updated_unix_ms;
	v->steps_done = pb->steps_done;
	v->steps_total = pb->steps_total;
	error_from_pb(&v->error, pb->error);
	return SK_OK;
}

int
sk_region_view_encode(const sk_region_view *v, uint8_t **out, size_t *len, sk_err *err)
{
	Skein__V1__RegionView pb;
	Skein__V1__Error pe;

	region_to_pb(&pb, &pe, v);
	return pack_msg(&pb.base, out, len, err);
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
	if (copy_id(out->region, sizeof(out->region), pb->region, "region", err) != SK_OK)
		return err->code;
	if (pb->report == NULL)
		return sk_err_set(err, SK_EDECODE,
		    "decode region report: region %s has no report", out->region);
	return report_from_pb(&out->report, pb->report, err);
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
	report_to_pb(rep, &r->report);
	pb.report = &rep->rep;
	rc = pack_msg(&pb.base, out, len, err);
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

static int
mode_check(int mode, const char *what, sk_err *err)
{
	if (mode < 0 || mode >= SK_MODE_MAX)
		return sk_err_set(
		    err, SK_EDECODE, "decode %s: unknown mode %d", what, mode);
	return SK_OK;
}

int
sk_cli_request_encode(const sk_cli_request *m, uint8_t **out, size_t *len, sk_err *err)
{
	Skein__V1__CliRequest pb;
	Skein__V1__RollbackRequest rb;

	skein__v1__cli_request__init(&pb);
	pb.events_since = m->events_since;
	switch (m->op) {
	case SK_CLI_START:
		pb.op_case = SKEIN__V1__CLI_REQUEST__OP_START_SIGNED_PLAN;
		pb.start_signed_plan.data = m->signed_plan;
		pb.start_signed_plan.len = m->signed_plan_len;
		pb.start_mode = (Skein__V1__RolloutMode)m->mode;
		break;
	case SK_CLI_ROLLBACK:
		skein__v1__rollback_request__init(&rb);
		rb.rollout_id = (char *)m->rollout_id;
		rb.region = (char *)m->region;
		pb.op_case = SKEIN__V1__CLI_REQUEST__OP_ROLLBACK;
		pb.rollback = &rb;
		break;
	case SK_CLI_REPORT:
		pb.op_case = SKEIN__V1__CLI_REQUEST__OP_REPORT_ROLLOUT_ID;
		pb.report_rollout_id = (char *)m->rollout_id;
		break;
	default:
		pb.op_case = SKEIN__V1__CLI_REQUEST__OP_STATUS_ROLLOUT_ID;
		pb.status_rollout_id = (char *)m->rollout_id;
		break;
	}
	return pack_msg(&pb.base, out, len, err);
}

int
sk_cli_request_decode(const uint8_t *buf, size_t len, sk_cli_request *out, sk_err *err)
{
	Skein__V1__CliRequest *pb;
	int rc = SK_OK;

	memset(out, 0, sizeof(*out));
	pb = skein__v1__cli_request__unpack(NULL, len, buf);
	if (pb == NULL)
		return sk_err_set(err, SK_EDECODE,
		    "decode request: not a valid CliRequest (%zu bytes)", len);
	out->events_since = pb->events_since;
	switch (pb->op_case) {
	case SKEIN__V1__CLI_REQUEST__OP_START_SIGNED_PLAN:
		out->op = SK_CLI_START;
		out->mode = (int)pb->start_mode;
		rc = mode_check(out->mode, "request", err);
		if (rc == SK_OK && out->mode == SK_MODE_ROLLBACK)
			rc = sk_err_set(err, SK_EDECODE,
			    "decode request: a start cannot be in rollback mode");
		if (rc != SK_OK)
			break;
		out->signed_plan = malloc(pb->start_signed_plan.len + 1);
		if (out->signed_plan == NULL) {
			rc = sk_err_set(err, SK_ENOMEM, "decode request: out of memory");
			break;
		}
		memcpy(out->signed_plan, pb->start_signed_plan.data,
		    pb->start_signed_plan.len);
		out->signed_plan_len = pb->start_signed_plan.len;
		break;
	case SKEIN__V1__CLI_REQUEST__OP_STATUS_ROLLOUT_ID:
		out->op = SK_CLI_STATUS;
		rc = copy_id(out->rollout_id, sizeof(out->rollout_id),
		    pb->status_rollout_id, "rollout id", err);
		break;
	case SKEIN__V1__CLI_REQUEST__OP_ROLLBACK:
		out->op = SK_CLI_ROLLBACK;
		if (pb->rollback == NULL) {
			rc = sk_err_set(
			    err, SK_EDECODE, "decode request: empty rollback");
			break;
		}
		rc = copy_id(out->rollout_id, sizeof(out->rollout_id),
		    pb->rollback->rollout_id, "rollout id", err);
		if (rc == SK_OK)
			rc = copy_id(out->region, sizeof(out->region),
			    pb->rollback->region, "region", err);
		break;
	case SKEIN__V1__CLI_REQUEST__OP_REPORT_ROLLOUT_ID:
		out->op = SK_CLI_REPORT;
		rc = copy_id(out->rollout_id, sizeof(out->rollout_id),
		    pb->report_rollout_id, "rollout id", err);
		break;
	default:
		rc = sk_err_set(err, SK_EDECODE, "decode request: no operation");
		break;
	}
	skein__v1__cli_request__free_unpacked(pb, NULL);
	if (rc != SK_OK)
		sk_cli_request_fini(out);
	return rc;
}

void
sk_cli_request_fini(sk_cli_request *m)
{
	if (m == NULL)
		return;
	free(m->signed_plan);
	m->signed_plan = NULL;
	m->signed_plan_len = 0;
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
	for (size_t i = 0; i < v->nphases; i++)
		nregions += v->phases[i].nregions;
	s->phases = calloc(v->nphases + 1, sizeof(*s->phases));
	s->phasep = calloc(v->nphases + 1, sizeof(*s->phasep));
	s->regions = calloc(nregions + 1, sizeof(*s->regions));
	s->regionp = calloc(nregions + 1, sizeof(*s->regionp));
	s->errors = calloc(nregions + 1, sizeof(*s->errors));
	s->events = calloc(v->nevents + 1, sizeof(*s->events));
	s->eventp = calloc(v->nevents + 1, sizeof(*s->eventp));
	if (!s->phases || !s->phasep || !s->regions || !s->regionp ||
	    !s->errors || !s->events || !s->eventp)
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
	return SK_OK;
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
	int rc = SK_OK;

	skein__v1__cli_response__init(&pb);
	pb.ok = m->ok;
	pb.rollout_id = (char *)m->rollout_id;
	if (m->error.code != SK_OK) {
		error_to_pb(&pe, &m->error);
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
			report_to_pb(&reps[i], &m->reports[i].report);
			rrs[i].report = &reps[i].rep;
			rrp[i] = &rrs[i];
		}
		pb.reports = rrp;
		pb.n_reports = m->nreports;
	}
	pb.signed_plan.data = m->signed_plan;
	pb.signed_plan.len = m->signed_plan_len;
	rc = pack_msg(&pb.base, out, len, err);
out:
	for (size_t i = 0; stores != NULL && i < m->nrollouts; i++)
		view_store_fini(&stores[i]);
	free(stores);
	free(rvp);
	free(rrs);
	free(rrp);
	free(reps);
	return rc;
}

static int
view_from_pb(sk_rollout_view *v, const Skein__V1__RolloutView *pb, sk_err *err)
{
	memset(v, 0, sizeof(*v));
	if (copy_id(v->id, sizeof(v->id), pb->id, "rollout id", err) != SK_OK ||
	    copy_id(v->plan_id, sizeof(v->plan_id), pb->plan_id, "plan id", err) != SK_OK)
		return err->code;
	copy_text(v->plan_name, sizeof(v->plan_name), pb->plan_name);
	copy_text(v->state, sizeof(v->state), pb->state);
	if (copy_id(v->of_rollout, sizeof(v->of_rollout), pb->of_rollout,
		"rollout id", err) != SK_OK)
		return err->code;
	v->mode = (int)pb->mode;
	if (mode_check(v->mode, "rollout view", err) != SK_OK)
		return err->code;
	copy_text(v->reason, sizeof(v->reason), pb->reason);
	v->current_phase = pb->current_phase;
	v->created_ms = pb->created_unix_ms;
	v->finished_ms = pb->finished_unix_ms;
	if (pb->n_phases > WIRE_MAX_ITEMS || pb->n_events > WIRE_MAX_ITEMS * 16)
		return sk_err_set(err, SK_EDECODE, "decode rollout view: too large");
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

		if (copy_id(p->name, sizeof(p->name), pp->name, "phase name", err) != SK_OK)
			return err->code;
		copy_text(p->state, sizeof(p->state), pp->state);
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
		if (copy_id(v->events[i].region, sizeof(v->events[i].region),
			pb->events[i]->region, "region", err) != SK_OK)
			return err->code;
		copy_text(v->events[i].text, sizeof(v->events[i].text),
		    pb->events[i]->text);
	}
	return SK_OK;
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
	error_from_pb(&out->error, pb->error);
	rc = copy_id(out->rollout_id, sizeof(out->rollout_id), pb->rollout_id,
	    "rollout id", err);
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
	v->phases = NULL;
	v->events = NULL;
	v->nphases = v->nevents = 0;
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
	m->rollouts = NULL;
	m->nrollouts = 0;
	m->reports = NULL;
	m->nreports = 0;
	m->signed_plan = NULL;
	m->signed_plan_len = 0;
}

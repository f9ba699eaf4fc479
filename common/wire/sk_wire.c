/* sk_wire: converts between skein's own message structs and protobuf-c.
 * Everything that crosses a socket is decoded here, at the edge, into
 * fixed-size fields: identifiers that do not fit are refused, free text is
 * truncated. This file holds the shared helpers, tunes, agent messages and
 * control messages; sk_wire_cli.c holds the CLI's messages and region
 * reports, sk_wire_operator.c the operator's requests. */
#include "sk_wire.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_wire_int.h"
#include "skein.pb-c.h"

#define WIRE_MAX_REPORTS 4096

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
	[SK_EV_DEAD_MAN] = "dead-man",
	[SK_EV_GATE_SAMPLE] = "gate-sample",
	[SK_EV_FLAG] = "flag", /* flags */
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

int
wire_pack_msg(const ProtobufCMessage *m, uint8_t **out, size_t *len, sk_err *err)
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

void
wire_error_to_pb(Skein__V1__Error *pb, const sk_err *e)
{
	skein__v1__error__init(pb);
	pb->code = (char *)sk_code_name(e->code);
	pb->sqlstate = (char *)e->sqlstate;
	pb->message = (char *)e->msg;
	pb->detail = (char *)e->detail;
	pb->hint = (char *)e->hint;
}

void
wire_error_from_pb(sk_err *e, const Skein__V1__Error *pb)
{
	sk_err_clear(e);
	if (pb == NULL)
		return;
	e->code = sk_code_from_name(pb->code);
	wire_copy_text(e->sqlstate, sizeof(e->sqlstate), pb->sqlstate);
	wire_copy_text(e->msg, sizeof(e->msg), pb->message);
	wire_copy_text(e->detail, sizeof(e->detail), pb->detail);
	wire_copy_text(e->hint, sizeof(e->hint), pb->hint);
}

/* ---- tunes -------------------------------------------------------------- */

bool
sk_tune_is_empty(const sk_tune *t)
{
	return !t->has_rate && t->batch_min == 0 && t->batch_max == 0;
}

void
sk_tune_merge(sk_tune *into, const sk_tune *t)
{
	if (t->has_rate) {
		into->has_rate = true;
		into->max_rows_per_second = t->max_rows_per_second;
	}
	if (t->batch_min > 0)
		into->batch_min = t->batch_min;
	if (t->batch_max > 0)
		into->batch_max = t->batch_max;
}

void
sk_tune_format(const sk_tune *t, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	if (t->has_rate && t->max_rows_per_second > 0)
		off += (size_t)snprintf(buf + off, len - off,
		    "max_rows_per_second %g", t->max_rows_per_second);
	else if (t->has_rate)
		off += (size_t)snprintf(
		    buf + off, len - off, "max_rows_per_second no limit");
	if (t->batch_min > 0 && off < len)
		off += (size_t)snprintf(buf + off, len - off,
		    "%sbatch_min %" PRId64, off > 0 ? ", " : "", t->batch_min);
	if (t->batch_max > 0 && off < len)
		off += (size_t)snprintf(buf + off, len - off,
		    "%sbatch_max %" PRId64, off > 0 ? ", " : "", t->batch_max);
	if (off == 0)
		snprintf(buf, len, "nothing");
}

void
wire_tune_to_pb(Skein__V1__Tune *pb, const sk_tune *t)
{
	skein__v1__tune__init(pb);
	pb->max_rows_per_second_set = t->has_rate;
	pb->max_rows_per_second = t->has_rate ? t->max_rows_per_second : 0;
	pb->batch_min = t->batch_min;
	pb->batch_max = t->batch_max;
}

int
wire_tune_from_pb(sk_tune *t, const Skein__V1__Tune *pb, const char *what, sk_err *err)
{
	memset(t, 0, sizeof(*t));
	if (pb->batch_min < 0 || pb->batch_max < 0)
		return sk_err_set(err, SK_EDECODE,
		    "%s: a tune with a negative batch (%" PRId64 ", %" PRId64 ")",
		    what, pb->batch_min, pb->batch_max);
	/* NaN fails the comparison too. */
	if (pb->max_rows_per_second_set &&
	    !(pb->max_rows_per_second >= 0 && isfinite(pb->max_rows_per_second)))
		return sk_err_set(err, SK_EDECODE,
		    "%s: a tune whose max_rows_per_second is not 0 or a positive "
		    "number",
		    what);
	t->has_rate = pb->max_rows_per_second_set;
	t->max_rows_per_second = t->has_rate ? pb->max_rows_per_second : 0;
	t->batch_min = pb->batch_min;
	t->batch_max = pb->batch_max;
	return SK_OK;
}

/* ---- reports and agent messages --------------------------------------- */

void
wire_report_to_pb(report_store *s, const sk_report *r)
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
	pb->rows_total = r->rows_total;
	pb->rows_scanned = r->rows_scanned;
	pb->batch_size = r->batch_size;
	pb->throttle = (char *)r->throttle;
	pb->throttled_ms = r->throttled_ms;
	pb->throttled_by = (char *)r->throttled_by;
	if (r->error.code != SK_OK) {
		wire_error_to_pb(&s->error, &r->error);
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
	wire_sample_report_to_pb(s, r);
	wire_flag_report_to_pb(s, r); /* flags */
	wire_move_report_to_pb(s, r); /* moves */
}

/* A report from the wire. Identifiers that do not fit are refused, free
 * text is truncated, and blockers past SK_BLOCKERS_MAX are dropped: the
 * first ones are the ones an operator acts on, and a report is not worth
 * refusing for an over-long list. */
int
wire_report_from_pb(sk_report *r, const Skein__V1__Report *pb, sk_err *err)
{
	memset(r, 0, sizeof(*r));
	r->seq = pb->seq;
	r->event = (int)pb->event;
	if (r->event <= 0 || r->event >= SK_EV_MAX || event_names[r->event] == NULL)
		return sk_err_set(err, SK_EDECODE,
		    "decode report: unknown event %d", r->event);
	if (wire_copy_id(r->rollout_id, sizeof(r->rollout_id), pb->rollout_id,
		"rollout id", err) != SK_OK ||
	    wire_copy_id(r->plan_id, sizeof(r->plan_id), pb->plan_id, "plan id",
		err) != SK_OK ||
	    wire_copy_id(r->database, sizeof(r->database), pb->database,
		"database name", err) != SK_OK ||
	    wire_copy_id(r->step_id, sizeof(r->step_id), pb->step_id, "step id",
		err) != SK_OK)
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
	r->rows_total = pb->rows_total;
	r->rows_scanned = pb->rows_scanned;
	r->batch_size = pb->batch_size;
	r->throttled_ms = pb->throttled_ms;
	wire_copy_text(r->throttle, sizeof(r->throttle), pb->throttle);
	wire_copy_text(r->throttled_by, sizeof(r->throttled_by), pb->throttled_by);
	wire_copy_text(r->detail, sizeof(r->detail), pb->detail);
	wire_error_from_pb(&r->error, pb->error);
	if (pb->check != NULL) {
		r->has_check = true;
		if (wire_copy_id(r->check.name, sizeof(r->check.name),
			pb->check->name, "check name", err) != SK_OK)
			return err->code;
		wire_copy_text(r->check.when, sizeof(r->check.when), pb->check->when);
		r->check.passed = pb->check->passed;
		wire_copy_text(r->check.seen, sizeof(r->check.seen), pb->check->seen);
		wire_copy_text(r->check.expected, sizeof(r->check.expected),
		    pb->check->expected);
	}
	r->nblockers =
	    pb->n_blockers < SK_BLOCKERS_MAX ? pb->n_blockers : SK_BLOCKERS_MAX;
	for (size_t i = 0; i < r->nblockers; i++) {
		const Skein__V1__Blocker *pbb = pb->blockers[i];
		sk_blocker *b = &r->blockers[i];

		b->pid = pbb->pid;
		b->age_ms = pbb->age_ms;
		wire_copy_text(b->state, sizeof(b->state), pbb->state);
		wire_copy_text(b->query, sizeof(b->query), pbb->query);
		wire_copy_text(b->user, sizeof(b->user), pbb->user);
		wire_copy_text(b->application, sizeof(b->application), pbb->application);
	}
	if (pb->backup != NULL) {
		r->has_backup = true;
		wire_copy_text(
		    r->backup.path, sizeof(r->backup.path), pb->backup->path);
		r->backup.size = pb->backup->size;
		r->backup.duration_ms = pb->backup->duration_ms;
		wire_copy_text(r->backup.restore_command,
		    sizeof(r->backup.restore_command), pb->backup->restore_command);
	}
	if (wire_sample_report_from_pb(r, pb, err) != SK_OK)
		return err->code;
	if (wire_flag_report_from_pb(r, pb, err) != SK_OK) /* flags */
		return err->code;
	return wire_move_report_from_pb(r, pb, err); /* moves */
}

int
sk_agent_msg_encode(const sk_agent_msg *m, uint8_t **out, size_t *len, sk_err *err)
{
	Skein__V1__AgentMessage pb;
	report_store *reps = NULL;
	Skein__V1__Report **repp = NULL;
	Skein__V1__RunControl *ctl = NULL, **ctlp = NULL;
	char **dbs = NULL, **running = NULL, **serving = NULL;
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
			wire_report_to_pb(&reps[i], &m->reports[i]);
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
	if (m->napplied > 0) {
		ctl = calloc(m->napplied, sizeof(*ctl));
		ctlp = calloc(m->napplied, sizeof(*ctlp));
		if (ctl == NULL || ctlp == NULL)
			goto out;
		for (size_t i = 0; i < m->napplied; i++) {
			skein__v1__run_control__init(&ctl[i]);
			ctl[i].rollout_id = (char *)m->applied[i].rollout_id;
			ctl[i].control_gen = m->applied[i].control_gen;
			ctlp[i] = &ctl[i];
		}
		pb.n_applied = m->napplied;
		pb.applied = ctlp;
	}
	if (m->nserving_moves > 0) { /* moves */
		if ((serving = calloc(m->nserving_moves, sizeof(*serving))) == NULL)
			goto out;
		for (size_t i = 0; i < m->nserving_moves; i++)
			serving[i] = (char *)m->serving_moves[i];
		pb.n_serving_moves = m->nserving_moves;
		pb.serving_moves = serving;
	}
	rc = wire_pack_msg(&pb.base, out, len, err);
out:
	if (rc == SK_ENOMEM)
		sk_err_set(err, SK_ENOMEM, "encode agent message: out of memory");
	free(reps);
	free(repp);
	free(dbs);
	free(running);
	free(ctl);
	free(ctlp);
	free(serving);
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
		if (wire_copy_id((*dst)[i], SK_NAME_MAX, src[i], what, err) != SK_OK) {
			free(*dst);
			*dst = NULL;
			return err->code;
		}
	}
	*n = nsrc;
	return SK_OK;
}

/* The control generations an agent applied, one per rollout it runs. */
static int
copy_applied(sk_agent_msg *out, const Skein__V1__AgentMessage *pb, sk_err *err)
{
	if (pb->n_applied == 0)
		return SK_OK;
	if (pb->n_applied > WIRE_MAX_ITEMS)
		return sk_err_set(err, SK_EDECODE,
		    "decode agent message: %zu applied controls", pb->n_applied);
	out->applied = calloc(pb->n_applied, sizeof(*out->applied));
	if (out->applied == NULL)
		return sk_err_set(err, SK_ENOMEM, "decode agent message: out of memory");
	out->napplied = pb->n_applied;
	for (size_t i = 0; i < pb->n_applied; i++) {
		if (wire_copy_id(out->applied[i].rollout_id, SK_ID_MAX,
			pb->applied[i]->rollout_id, "rollout id", err) != SK_OK)
			return err->code;
		out->applied[i].control_gen = pb->applied[i]->control_gen;
	}
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
	rc = wire_copy_id(out->region, sizeof(out->region), pb->region, "region", err);
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
	wire_copy_text(out->version, sizeof(out->version), pb->version);
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
			rc = wire_report_from_pb(&out->reports[i], pb->reports[i], err);
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
	if (rc == SK_OK)
		rc = copy_applied(out, pb, err);
	if (rc == SK_OK)
		rc = wire_move_serving_from_pb(out, pb, err); /* moves */
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
	free(m->applied);
	free(m->serving_moves);
	m->reports = NULL;
	m->databases = NULL;
	m->running = NULL;
	m->applied = NULL;
	m->serving_moves = NULL;
	m->nreports = m->ndatabases = m->nrunning = m->napplied = 0;
	m->nserving_moves = 0;
}

/* ---- control messages --------------------------------------------------- */

int
sk_control_encode(const sk_control *m, uint8_t **out, size_t *len, sk_err *err)
{
	Skein__V1__Control pb;
	Skein__V1__Command *cmds = NULL, **cmdp = NULL;
	Skein__V1__Tune *tunes = NULL;
	Skein__V1__SampleRequest *samples = NULL;
	move_peer_store *moves = NULL; /* moves */
	int rc = SK_OK;

	skein__v1__control__init(&pb);
	pb.seq = m->seq;
	pb.region = (char *)m->region;
	pb.nonce.data = (uint8_t *)m->nonce;
	pb.nonce.len = SK_NONCE_LEN;
	pb.boot_id = m->boot_id;
	pb.acked_report_seq = m->acked_report_seq;
	pb.refused = (char *)m->refused;
	pb.refused_hint = (char *)m->refused_hint;
	if (m->ncommands > 0) {
		cmds = calloc(m->ncommands, sizeof(*cmds));
		cmdp = calloc(m->ncommands, sizeof(*cmdp));
		tunes = calloc(m->ncommands, sizeof(*tunes));
		samples = calloc(m->ncommands, sizeof(*samples));
		moves = calloc(m->ncommands, sizeof(*moves));
		if (cmds == NULL || cmdp == NULL || tunes == NULL ||
		    samples == NULL || moves == NULL) {
			free(cmds);
			free(cmdp);
			free(tunes);
			free(samples);
			free(moves);
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
			cmds[i].no_backup = m->commands[i].no_backup;
			cmds[i].flags_only = m->commands[i].flags_only; /* flags */
			cmds[i].control_gen = m->commands[i].control_gen;
			cmds[i].actor = (char *)m->commands[i].actor;
			cmds[i].reason = (char *)m->commands[i].reason;
			if (m->commands[i].has_tune) {
				wire_tune_to_pb(&tunes[i], &m->commands[i].tune);
				cmds[i].tune = &tunes[i];
			}
			wire_sample_command_to_pb(
			    &cmds[i], &samples[i], &m->commands[i]);
			if (rc == SK_OK)
				rc = wire_move_command_to_pb(
				    &cmds[i], &moves[i], &m->commands[i], err);
			cmdp[i] = &cmds[i];
		}
		pb.n_commands = m->ncommands;
		pb.commands = cmdp;
	}
	if (rc == SK_OK)
		rc = wire_pack_msg(&pb.base, out, len, err);
	for (size_t i = 0; moves != NULL && i < m->ncommands; i++)
		wire_move_peer_store_fini(&moves[i]);
	free(moves);
	free(cmds);
	free(cmdp);
	free(tunes);
	free(samples);
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
	snprintf(out->refused, sizeof(out->refused), "%s",
	    pb->refused != NULL ? pb->refused : "");
	snprintf(out->refused_hint, sizeof(out->refused_hint), "%s",
	    pb->refused_hint != NULL ? pb->refused_hint : "");
	rc = wire_copy_id(out->region, sizeof(out->region), pb->region, "region", err);
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
			c->no_backup = pc->no_backup;
			c->flags_only = pc->flags_only; /* flags */
			c->control_gen = pc->control_gen;
			if (c->mode < 0 || c->mode >= SK_MODE_MAX) {
				rc = sk_err_set(err, SK_EDECODE,
				    "decode control: command %zu has unknown mode %d",
				    i, c->mode);
				goto out;
			}
			rc = wire_copy_id(c->rollout_id, sizeof(c->rollout_id),
			    pc->rollout_id, "rollout id", err);
			if (rc == SK_OK)
				rc = wire_copy_id(c->actor, sizeof(c->actor),
				    pc->actor, "operator name", err);
			if (rc == SK_OK && pc->tune != NULL) {
				c->has_tune = true;
				rc = wire_tune_from_pb(
				    &c->tune, pc->tune, "decode control", err);
			}
			if (rc == SK_OK)
				rc = wire_sample_command_from_pb(c, pc, i, err);
			if (rc == SK_OK)
				rc = wire_move_command_from_pb(c, pc, i, err);
			if (rc != SK_OK)
				goto out;
			wire_copy_text(c->reason, sizeof(c->reason), pc->reason);
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
	for (size_t i = 0; i < m->ncommands; i++) {
		free(m->commands[i].signed_plan);
		free(m->commands[i].move_peers);
	}
	free(m->commands);
	m->commands = NULL;
	m->ncommands = 0;
}

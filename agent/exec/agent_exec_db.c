/* agent_exec_db: one database's run in the executor (db_run) as the rest
 * of the agent sees it: the context handed to the kinds and modes, reports
 * stamped with the rollout, plan and database, and stopping.
 */
#include "agent_exec_int.h"

#include <stdio.h>
#include <string.h>

#include "agent_stmt.h"
#include "sk_util.h"

bool
exec_stop_requested(const exec_run *run)
{
	return agent_stop_set(run->opts->stop);
}

bool
exec_sleep_or_stop(const exec_run *run, int64_t ms)
{
	return agent_sleep_or_stop(run->opts->stop, ms);
}

/* The report callback of agent_db_ctx: stamp r with what identifies this
 * database's run and send it. */
static void
ctx_emit(void *arg, sk_report *r)
{
	db_run *d = arg;
	const agent_exec_opts *o = d->run->opts;

	if (o->report == NULL)
		return;
	snprintf(r->rollout_id, sizeof(r->rollout_id), "%s",
	    o->rollout_id != NULL ? o->rollout_id : "");
	snprintf(r->plan_id, sizeof(r->plan_id), "%s",
	    d->run->plan->id != NULL ? d->run->plan->id : "");
	snprintf(r->database, sizeof(r->database), "%s", d->db->name);
	r->flags_only = o->flags_only;
	if (r->at_ms == 0)
		r->at_ms = sk_now_ms();
	o->report(o->report_arg, r);
}

void
exec_send(db_run *d, sk_report *r)
{
	ctx_emit(d, r);
}

void
exec_emit(db_run *d, int event, const char *step_id, uint32_t attempt,
    int64_t duration_ms, int64_t rows, const char *detail, const sk_err *err)
{
	sk_report r;

	agent_report_init(&r, event, step_id, attempt);
	r.duration_ms = duration_ms;
	r.rows = rows;
	if (detail != NULL)
		snprintf(r.detail, sizeof(r.detail), "%s", detail);
	if (err != NULL)
		r.error = *err;
	exec_send(d, &r);
}

void
exec_disconnect(db_run *d)
{
	PQfinish(d->conn);
	d->conn = NULL;
	agent_watch_fini(&d->watch);
}

const agent_db_ctx *
exec_ctx(db_run *d)
{
	exec_run *run = d->run;
	agent_db_ctx *c = &d->ctx;

	memset(c, 0, sizeof(*c));
	c->conn = d->conn;
	c->plan = run->plan;
	c->phase = run->phase;
	c->region = run->opts->region;
	c->database = d->db->name;
	c->rollout_id = run->opts->rollout_id;
	c->hex = (const char(*)[AGENT_LEDGER_HEX_LEN])run->hex;
	c->text_hex = (const char(*)[AGENT_LEDGER_HEX_LEN])run->text_hex;
	c->pooled = d->pooled;
	c->stop = run->opts->stop;
	c->emit = ctx_emit;
	c->emit_arg = d;
	c->conninfo = d->db->conninfo;
	c->watch = &d->watch;
	c->control = run->opts->control;
	c->flags_only = run->opts->flags_only;
	c->move_peers = run->opts->move_peers; /* moves */
	c->nmove_peers = run->opts->nmove_peers;
	c->key = run->opts->key;
	return c;
}

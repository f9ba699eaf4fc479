/* agent_exec_guard: what the agent does in a database before it changes
 * anything: the plan's preflight checks and the backup (docs/safety.md).
 * The phase's checks run through the retry engine like a step's
 * (agent_exec_step.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_backup.h"
#include "agent_check.h"
#include "agent_exec_int.h"
#include "agent_preflight.h"
#include "sk_log.h"

/* ---- before the first change ------------------------------------------- */

typedef struct preflight_sink {
	db_run *d;
	sk_check_result *res;
	size_t n, cap;
} preflight_sink;

static void
preflight_result(void *arg, const sk_check_result *res)
{
	preflight_sink *s = arg;
	sk_check_result *grown;

	agent_db_emit_check(exec_ctx(s->d), NULL, res);
	if (s->n == s->cap) {
		size_t cap = s->cap != 0 ? s->cap * 2 : 8;

		grown = realloc(s->res, cap * sizeof(*grown));
		if (grown == NULL)
			return;
		s->res = grown;
		s->cap = cap;
	}
	s->res[s->n++] = *res;
}

/* The plan's preflight checks; every result is reported and recorded.
 * SK_EPREFLIGHT naming the failed checks when any did not hold. */
int
exec_run_preflight(db_run *d, sk_err *err)
{
	exec_run *run = d->run;
	preflight_sink sink;
	sk_err rec;
	int rc;

	memset(&sink, 0, sizeof(sink));
	sink.d = d;
	rc = agent_preflight_run(
	    d->conn, &run->plan->preflight, preflight_result, &sink, err);
	for (size_t i = 0; i < sink.n; i++) {
		sk_err_clear(&rec);
		if (agent_db_record_check(exec_ctx(d), NULL, "apply",
			&sink.res[i], &rec) != SK_OK) {
			/* A ledger that cannot be written will fail the first
			 * step too, with the same cause. */
			sk_warn("record preflight check %s in %s/%s: %s",
			    sink.res[i].name, run->opts->region, d->db->name,
			    rec.msg);
			break;
		}
	}
	if (rc == SK_EPREFLIGHT) {
		/* agent_preflight_run names every failed check and its value. */
		sk_err_wrap(err, "apply plan %s in %s/%s: preflight blocked",
		    run->plan->name, run->opts->region, d->db->name);
		if (err != NULL)
			snprintf(err->hint, sizeof(err->hint),
			    "nothing was applied; fix what the check names and "
			    "run the plan again");
	} else if (rc != SK_OK) {
		sk_err_wrap(err, "apply plan %s in %s/%s: preflight",
		    run->plan->name, run->opts->region, d->db->name);
	}
	free(sink.res);
	return rc;
}

/* Why a backup is taken, for what its errors say: a plan's before its
 * first change, a rollback's before its first revert. */
typedef struct backup_why {
	const char *verb;   /* "apply", "roll back" */
	const char *gerund; /* "applying", "rolling back" */
	const char *asks;   /* who asks for it */
	const char *other;  /* the hint's alternative to a backup_dir; "" */
} backup_why;

static const backup_why before_apply = {
	"apply",
	"applying",
	"the plan asks for a backup",
	"",
};

static const backup_why before_revert = {
	"roll back",
	"rolling back",
	"a rollback backs each database up before its first revert",
	", or roll back with --no-backup if what the reverts drop may be lost",
};

/* Take, verify, report and record the backup of d's database. SK_EBACKUP
 * with the tool's reason (or a missing backup_dir) when it fails. */
static int
take_backup(db_run *d, const backup_why *why, sk_err *err)
{
	exec_run *run = d->run;
	const agent_exec_opts *o = run->opts;
	agent_backup_opts bo;
	sk_backup_info info;
	sk_report r;
	int rc;

	if (o->backup_dir == NULL || o->backup_dir[0] == '\0') {
		sk_err_set(err, SK_EBACKUP,
		    "back up %s/%s before %s plan %s: %s; agent.yaml sets no "
		    "backup_dir",
		    o->region, d->db->name, why->gerund, run->plan->name, why->asks);
		snprintf(err->hint, sizeof(err->hint),
		    "set backup_dir in agent.yaml to a directory with room for a "
		    "pg_dump of the database%s",
		    why->other);
		return SK_EBACKUP;
	}
	memset(&bo, 0, sizeof(bo));
	bo.dir = o->backup_dir;
	bo.pg_dump = o->pg_dump;
	bo.pg_restore = o->pg_restore;
	bo.conninfo = d->db->backup_conninfo != NULL ? d->db->backup_conninfo :
						       d->db->conninfo;
	bo.region = o->region;
	bo.database = d->db->name;
	bo.plan_name = run->plan->name;
	bo.rollout_id = o->rollout_id;
	bo.stop = o->stop;
	memset(&info, 0, sizeof(info));
	rc = agent_backup_take(&bo, &info, err);
	if (rc != SK_OK) {
		/* A shutdown ended the dump: the plan resumes next time. */
		if (exec_stop_requested(run))
			d->stopped = true;
		else if (err != NULL && err->hint[0] == '\0')
			snprintf(err->hint, sizeof(err->hint),
			    "nothing was changed; make room in %s (or fix what "
			    "the error names) and %s again%s",
			    o->backup_dir, why->verb, why->other);
		return rc;
	}
	agent_report_init(&r, SK_EV_BACKUP, NULL, 0);
	r.has_backup = true;
	r.backup = info;
	agent_backup_public_command(o->pg_restore, bo.conninfo, &info,
	    r.backup.restore_command, sizeof(r.backup.restore_command));
	r.duration_ms = info.duration_ms;
	snprintf(r.detail, sizeof(r.detail), "%.250s", info.path);
	exec_send(d, &r);
	rc = agent_ledger_record_backup(d->conn, run->plan->name, run->plan->id,
	    o->rollout_id, o->region, &info, err);
	if (rc != SK_OK)
		return sk_err_wrap(
		    err, "record backup of %s/%s", o->region, d->db->name);
	d->backup_done = true;
	return SK_OK;
}

/* The backup the plan asks for, before the first change; reported and
 * recorded. SK_EBACKUP with the tool's reason when it fails. */
int
exec_take_backup(db_run *d, sk_err *err)
{
	return take_backup(d, &before_apply, err);
}

int
exec_backup_before_revert(void *arg, sk_err *err)
{
	db_run *d = arg;
	exec_run *run = d->run;

	if (d->backup_done)
		return SK_OK;
	if (run->opts->no_backup || run->plan->no_rollback_backup) {
		sk_info("roll back plan %s in %s/%s: no backup before the first "
			"revert (%s)",
		    run->plan->name, run->opts->region, d->db->name,
		    run->opts->no_backup ? "the rollback said --no-backup" :
					   "the plan says rollback_backup: false");
		return SK_OK;
	}
	return take_backup(d, &before_revert, err);
}

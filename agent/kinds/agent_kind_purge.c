/* agent_kind_purge: a purge_tenant step (docs/moves.md "Purging"). It runs
 * in the step's `from` region, where a move left the tenant's rows behind,
 * fenced: once this database's skein.moves says that a move of the tenant
 * from here to `to` passed its commit point (and was not moved back since),
 * the tenant's rows of the tables are deleted, children first, in batches
 * of PURGE_BATCH rows, each in a short transaction of its own under the
 * step's lock timeout (SET LOCAL skein.purge lets the move's guard pass
 * those deletes, and only those), so that no lock is held for long and a
 * purge that stops or dies goes on where it was when run again. Then the
 * step's post checks and its ledger row, in one transaction. Every other
 * region records the step with a note and changes nothing.
 */
#include "agent_kinds.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_ledger.h"
#include "move.h"
#include "sk_log.h"
#include "sk_pg.h"
#include "sk_strbuf.h"
#include "sk_util.h"

/* Rows per transaction. */
#define PURGE_BATCH 1000

/* Whether a move of the tenant out of this region to `to` passed its
 * commit point here and stands (its source row says "moved"). */
static int
tenant_moved_away(agent_step_run *s, bool *moved, sk_err *err)
{
	const sk_move_tenant *m = s->step->move;
	const char *p[4] = { m->column, m->value, m->from, m->to };
	PGresult *res = NULL;
	bool present = false;
	int rc;

	*moved = false;
	rc = agent_ledger_has_table(s->c->conn, "look for the tenant's move",
	    "skein.moves", &present, err);
	if (rc != SK_OK || !present)
		return rc;
	rc = sk_pg_execp(s->c->conn, "look for the tenant's move",
	    "SELECT count(*) FROM skein.moves WHERE role = 'source' AND "
	    "tenant_column = $1 AND tenant_value = $2 AND from_region = $3 AND "
	    "to_region = $4 AND state = 'moved'",
	    4, p, &res, err);
	if (rc == SK_OK)
		*moved = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
	PQclear(res);
	return rc;
}

/* Refuse a purge of a tenant that did not move away: nothing deleted. */
static int
must_have_moved(agent_step_run *s, sk_err *err)
{
	const sk_move_tenant *m = s->step->move;
	bool moved = false;
	int rc;

	rc = tenant_moved_away(s, &moved, err);
	if (rc != SK_OK || moved)
		return rc;
	sk_err_set(err, SK_EPREFLIGHT,
	    "tenant %s = '%s' has not moved from %s to %s in this database (no "
	    "move of it past its commit point, or it was moved back): nothing "
	    "purged",
	    m->column, m->value, m->from, m->to);
	snprintf(err->hint, sizeof(err->hint),
	    "purge after the move_tenant step that moves the tenant to %s "
	    "succeeded; a rolled-back move leaves nothing to purge here",
	    m->to);
	return SK_EPREFLIGHT;
}

/* "DELETE FROM t WHERE ctid = ANY(ARRAY(SELECT ctid FROM t WHERE
 * column = $1 LIMIT n))" for table t. */
static char *
batch_sql(PGconn *conn, const char *table, const char *column)
{
	char *col = PQescapeIdentifier(conn, column, strlen(column));
	sk_strbuf q = { 0 };

	if (col == NULL)
		return NULL;
	sk_strbuf_addf(&q,
	    "DELETE FROM %s WHERE ctid = ANY(ARRAY(SELECT ctid FROM %s WHERE "
	    "%s = $1 LIMIT %d))",
	    table, table, col, PURGE_BATCH);
	PQfreemem(col);
	if (q.oom) {
		sk_strbuf_fini(&q);
		return NULL;
	}
	return q.s;
}

/* Delete the tenant's rows of table, a batch per transaction, until none
 * is left. */
static int
purge_table(agent_step_run *s, const char *table, int64_t *last_report, sk_err *err)
{
	const sk_move_tenant *m = s->step->move;
	const char *p[1] = { m->value };
	char *sql = batch_sql(s->c->conn, table, m->column);
	int64_t n;
	int rc = SK_OK;

	if (sql == NULL)
		return sk_err_set(err, SK_ENOMEM, "purge %s: out of memory", table);
	do {
		if (s->c->stop != NULL && *s->c->stop) {
			rc = sk_err_set(err, SK_ESTATE,
			    "purge %s: stopped (run again: the purge goes on "
			    "where it was)",
			    table);
			break;
		}
		rc = agent_tx_begin(s->c, s->step, err);
		if (rc == SK_OK)
			rc = sk_pg_execp(s->c->conn, "purge: say so to the guard",
			    "SELECT pg_catalog.set_config('skein.purge', $1, true)",
			    1, p, NULL, err);
		n = 0;
		if (rc == SK_OK) {
			PGresult *res = NULL;

			rc = sk_pg_execp(s->c->conn, table, sql, 1, p, &res, err);
			if (rc == SK_OK)
				n = strtoll(PQcmdTuples(res), NULL, 10);
			PQclear(res);
		}
		if (rc == SK_OK)
			rc = sk_pg_exec(s->c->conn, "purge: commit the batch",
			    "COMMIT", NULL, err);
		if (rc != SK_OK) {
			agent_tx_rollback(s->c->conn);
			sk_err_wrap(err, "purge %s", table);
			break;
		}
		s->rows += n;
		if (sk_mono_ms() - *last_report >= 1000) {
			*last_report = sk_mono_ms();
			agent_step_emit(s, SK_EV_PROGRESS,
			    sk_mono_ms() - s->started_ms, NULL, NULL);
		}
	} while (n == PURGE_BATCH);
	free(sql);
	return rc;
}

static int
purge_apply(agent_step_run *s, sk_err *err)
{
	const sk_move_tenant *m = s->step->move;
	int64_t last_report = sk_mono_ms();
	char **tables = NULL;
	size_t n = 0;
	char note[64];
	int rc;

	if (strcmp(s->c->region, m->from) != 0) {
		agent_step_note(s, "not the region purged: it runs in region", m->from);
		return agent_step_apply_checked(s, NULL, NULL, false, err);
	}
	rc = must_have_moved(s, err);
	if (rc == SK_OK)
		rc = agent_step_pre_checks_alone(s, err);
	if (rc == SK_OK)
		rc = move_tables_of(s->c->conn, m, &tables, &n, err);
	s->rows = 0;
	/* Children first: the reverse of the dependency order. */
	for (size_t i = n; rc == SK_OK && i > 0; i--)
		rc = purge_table(s, tables[i - 1], &last_report, err);
	sk_strv_free(tables, n);
	if (rc != SK_OK)
		return rc;
	snprintf(note, sizeof(note), "%" PRId64, s->rows);
	agent_step_note(s, "rows of the tenant deleted:", note);
	return agent_step_apply_checked(s, NULL, NULL, true, err);
}

/* In the rehearsal's transaction: whether the purge would run, and how
 * many rows it would delete (nothing is deleted). */
static int
purge_rehearse(agent_step_run *s, sk_err *err)
{
	const sk_move_tenant *m = s->step->move;
	const char *p[1] = { m->value };
	char **tables = NULL;
	size_t n = 0;
	int64_t rows = 0;
	char note[64];
	int rc;

	if (strcmp(s->c->region, m->from) != 0)
		return SK_OK;
	rc = must_have_moved(s, err);
	if (rc == SK_OK)
		rc = move_tables_of(s->c->conn, m, &tables, &n, err);
	for (size_t i = 0; rc == SK_OK && i < n; i++) {
		char *col =
		    PQescapeIdentifier(s->c->conn, m->column, strlen(m->column));
		sk_strbuf q = { 0 };
		PGresult *res = NULL;

		sk_strbuf_addf(&q, "SELECT count(*) FROM %s WHERE %s = $1",
		    tables[i], col != NULL ? col : "?");
		PQfreemem(col);
		rc = q.oom ? sk_err_set(err, SK_ENOMEM, "out of memory") :
			     sk_pg_execp(s->c->conn, "count the rows to purge",
				 q.s, 1, p, &res, err);
		if (rc == SK_OK)
			rows += strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		sk_strbuf_fini(&q);
	}
	sk_strv_free(tables, n);
	if (rc != SK_OK)
		return rc;
	s->rows = rows;
	snprintf(note, sizeof(note), "%" PRId64, rows);
	agent_step_note(s, "rows of the tenant to delete:", note);
	return SK_OK;
}

static void
purge_scripts(const sk_step *step,
    void (*fn)(void *arg, const char *sql, const char *what), void *arg)
{
	agent_step_scripts_checks(step->pre, step->npre, fn, arg);
	agent_step_scripts_checks(step->post, step->npost, fn, arg);
}

/* What a purge deleted lives on in `to`, where the tenant is: a
 * rollback removes the ledger row and restores nothing. */
static int
purge_revert(agent_step_run *s, sk_err *err)
{
	if (strcmp(s->c->region, s->step->move->from) == 0)
		agent_step_note(s, "nothing restored: the tenant's rows are in region",
		    s->step->move->to);
	return agent_step_record_revert(s, 0, err);
}

const agent_step_kind agent_kind_purge = {
	.name = "purge_tenant",
	.transactional = false,
	.apply = purge_apply,
	.rehearse = purge_rehearse,
	.describe = NULL,
	.scripts = purge_scripts,
	.needs_revert = false,
	.revert = purge_revert,
};

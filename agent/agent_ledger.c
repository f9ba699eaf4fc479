/* agent_ledger: create, upgrade, read and append to the `skein` ledger
 * schema of a managed database. The agent owns the schema: each version's
 * DDL is listed below, and a database is brought to the newest one step by
 * step, one transaction per step. */
#include "agent_ledger.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_pg.h"

/* upgrades[v] takes the ledger from version v - 1 to v. Append only: a
 * released entry is never edited, because databases already ran it. */
static const char *const upgrades[AGENT_LEDGER_VERSION + 1] = {
	[1] = "CREATE SCHEMA IF NOT EXISTS skein;\n"
	      "CREATE TABLE skein.meta (\n"
	      "  key text PRIMARY KEY,\n"
	      "  value text NOT NULL\n"
	      ");\n"
	      "CREATE TABLE skein.steps (\n"
	      "  plan_name text NOT NULL,\n"
	      "  step_id text NOT NULL,\n"
	      "  checksum text NOT NULL,\n"
	      "  plan_id text,\n"
	      "  rollout_id text,\n"
	      "  region text,\n"
	      "  kind text,\n"
	      "  transactional boolean NOT NULL,\n"
	      "  started_at timestamptz,\n"
	      "  finished_at timestamptz,\n"
	      "  duration_ms bigint,\n"
	      "  rows bigint,\n"
	      "  PRIMARY KEY (plan_name, step_id)\n"
	      ");\n"
	      "CREATE TABLE skein.events (\n"
	      "  id bigserial PRIMARY KEY,\n"
	      "  at timestamptz NOT NULL DEFAULT pg_catalog.now(),\n"
	      "  plan_name text,\n"
	      "  plan_id text,\n"
	      "  rollout_id text,\n"
	      "  region text,\n"
	      "  step_id text,\n"
	      "  event text NOT NULL,\n"
	      "  sqlstate text,\n"
	      "  message text,\n"
	      "  detail text\n"
	      ");\n"
	      "CREATE INDEX events_step_idx ON skein.events (plan_name, step_id);\n"
	      "COMMENT ON SCHEMA skein IS 'skein migration ledger; managed by "
	      "skein-agent, do not edit';\n",
};

/* "" and NULL both become SQL NULL. */
static const char *
nullable(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Abandon the current transaction, if any. Its own failure is not
 * interesting: the error that made us roll back is. */
static void
rollback(PGconn *conn)
{
	PGresult *res;

	if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) == PQTRANS_IDLE)
		return;
	res = PQexec(conn, "ROLLBACK");
	PQclear(res);
}

int
agent_ledger_version(PGconn *conn, int *version, sk_err *err)
{
	PGresult *res = NULL;
	const char *v;
	char *end;
	long n;
	int rc;

	*version = 0;
	rc = sk_pg_exec(conn, "read ledger version",
	    "SELECT pg_catalog.to_regclass('skein.meta') IS NOT NULL", &res, err);
	if (rc != SK_OK)
		goto out;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		goto out;
	PQclear(res);
	res = NULL;

	rc = sk_pg_exec(conn, "read ledger version",
	    "SELECT value FROM skein.meta WHERE key = 'schema_version'", &res, err);
	if (rc != SK_OK)
		goto out;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		rc = sk_err_set(err, SK_ESTATE,
		    "read ledger version: skein.meta has no schema_version");
		goto out;
	}
	v = PQgetvalue(res, 0, 0);
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < 1 || n > 1000000) {
		rc = sk_err_set(err, SK_ESTATE,
		    "read ledger version: skein.meta schema_version '%.32s' is not a version",
		    v);
		goto out;
	}
	*version = (int)n;
out:
	PQclear(res);
	return rc;
}

/* Bring the ledger from target - 1 to target in one transaction. Another
 * agent may have done it while we waited for the lock: then nothing runs. */
static int
upgrade_to(PGconn *conn, int target, sk_err *err)
{
	char key[24], ver[16], what[48];
	const char *lock_params[1] = { key };
	const char *meta_params[1] = { ver };
	int found, rc;

	snprintf(key, sizeof(key), "%" PRId64, AGENT_LEDGER_LOCK_KEY);
	snprintf(ver, sizeof(ver), "%d", target);
	snprintf(what, sizeof(what), "upgrade ledger to version %d", target);

	rc = sk_pg_exec(conn, what, "BEGIN", NULL, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_pg_execp(conn, what,
	    "SELECT pg_catalog.pg_advisory_xact_lock($1::bigint)", 1,
	    lock_params, NULL, err);
	if (rc != SK_OK)
		goto out;
	rc = agent_ledger_version(conn, &found, err);
	if (rc != SK_OK)
		goto out;
	if (found >= target) {
		rc = sk_pg_exec(conn, what, "COMMIT", NULL, err);
		goto out;
	}
	if (found != target - 1) {
		rc = sk_err_set(
		    err, SK_ESTATE, "%s: ledger is at version %d", what, found);
		goto out;
	}
	rc = sk_pg_exec(conn, what, upgrades[target], NULL, err);
	if (rc != SK_OK)
		goto out;
	rc = sk_pg_execp(conn, what,
	    "INSERT INTO skein.meta (key, value) VALUES ('schema_version', $1) "
	    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
	    1, meta_params, NULL, err);
	if (rc != SK_OK)
		goto out;
	rc = sk_pg_exec(conn, what, "COMMIT", NULL, err);
out:
	if (rc != SK_OK)
		rollback(conn);
	return rc;
}

int
agent_ledger_ensure(PGconn *conn, int *version, sk_err *err)
{
	int found, rc;

	if (PQtransactionStatus(conn) != PQTRANS_IDLE && PQstatus(conn) == CONNECTION_OK)
		return sk_err_set(err, SK_ESTATE,
		    "prepare ledger: called inside a transaction");
	rc = agent_ledger_version(conn, &found, err);
	if (rc != SK_OK)
		return rc;
	if (version != NULL)
		*version = found;
	if (found > AGENT_LEDGER_VERSION)
		return sk_err_set(err, SK_ESTATE,
		    "prepare ledger: the database has ledger version %d but this "
		    "agent knows only up to %d; upgrade skein-agent",
		    found, AGENT_LEDGER_VERSION);
	for (int v = found + 1; v <= AGENT_LEDGER_VERSION; v++) {
		rc = upgrade_to(conn, v, err);
		if (rc != SK_OK)
			return rc;
	}
	return SK_OK;
}

int
agent_ledger_lookup(PGconn *conn, const char *plan_name, const char *step_id,
    bool *found, char hex[AGENT_LEDGER_HEX_LEN], sk_err *err)
{
	const char *params[2] = { plan_name, step_id };
	PGresult *res = NULL;
	char what[160];
	int rc;

	*found = false;
	hex[0] = '\0';
	snprintf(what, sizeof(what), "look up step %s of plan %s in the ledger",
	    step_id, plan_name);
	rc = sk_pg_execp(conn, what,
	    "SELECT checksum FROM skein.steps WHERE plan_name = $1 AND step_id = $2",
	    2, params, &res, err);
	if (rc != SK_OK)
		return rc;
	if (PQntuples(res) == 1) {
		*found = true;
		snprintf(hex, AGENT_LEDGER_HEX_LEN, "%s", PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return SK_OK;
}

/* Milliseconds since the epoch as seconds with a fraction, the text form
 * to_timestamp(double precision) takes. */
static void
ms_text(int64_t ms, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRId64 ".%03d", ms / 1000, (int)(ms % 1000));
}

int
agent_ledger_record_step(PGconn *conn, const agent_ledger_step *s, sk_err *err)
{
	char started[32], finished[32], duration[24], rows[24], what[160];
	const char *params[12];

	ms_text(s->started_ms, started, sizeof(started));
	ms_text(s->finished_ms, finished, sizeof(finished));
	snprintf(duration, sizeof(duration), "%" PRId64,
	    s->finished_ms >= s->started_ms ? s->finished_ms - s->started_ms : 0);
	snprintf(rows, sizeof(rows), "%" PRId64, s->rows);
	params[0] = s->plan_name;
	params[1] = s->step_id;
	params[2] = s->checksum_hex;
	params[3] = nullable(s->plan_id);
	params[4] = nullable(s->rollout_id);
	params[5] = nullable(s->region);
	params[6] = nullable(s->kind);
	params[7] = s->transactional ? "true" : "false";
	params[8] = started;
	params[9] = finished;
	params[10] = duration;
	/* An unknown count is NULL rather than a made-up number. */
	params[11] = s->rows >= 0 ? rows : NULL;
	snprintf(what, sizeof(what), "record step %s of plan %s in the ledger",
	    s->step_id, s->plan_name);
	return sk_pg_execp(conn, what,
	    "INSERT INTO skein.steps (plan_name, step_id, checksum, plan_id, "
	    "rollout_id, region, kind, transactional, started_at, finished_at, "
	    "duration_ms, rows) VALUES ($1, $2, $3, $4, $5, $6, $7, "
	    "$8::boolean, pg_catalog.to_timestamp($9::double precision), "
	    "pg_catalog.to_timestamp($10::double precision), $11::bigint, "
	    "$12::bigint)",
	    12, params, NULL, err);
}

int
agent_ledger_record_event(PGconn *conn, const agent_ledger_event *ev, sk_err *err)
{
	const char *params[9] = {
		nullable(ev->plan_name),
		nullable(ev->plan_id),
		nullable(ev->rollout_id),
		nullable(ev->region),
		nullable(ev->step_id),
		ev->event != NULL ? ev->event : "unknown",
		nullable(ev->sqlstate),
		nullable(ev->message),
		nullable(ev->detail),
	};

	return sk_pg_execp(conn, "record event in the ledger",
	    "INSERT INTO skein.events (plan_name, plan_id, rollout_id, region, "
	    "step_id, event, sqlstate, message, detail) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	    9, params, NULL, err);
}

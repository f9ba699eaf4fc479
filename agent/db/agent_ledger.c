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

#include "sk_flagdb.h"
#include "sk_pg.h"
#include "sk_util.h"

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
	[2] = "ALTER TABLE skein.steps\n"
	      "  ADD COLUMN attempts integer,\n"
	      "  ADD COLUMN lock_waits integer,\n"
	      "  ADD COLUMN lock_wait_ms bigint,\n"
	      "  ADD COLUMN blockers text;\n"
	      "CREATE TABLE skein.checks (\n"
	      "  id bigserial PRIMARY KEY,\n"
	      "  at timestamptz NOT NULL DEFAULT pg_catalog.now(),\n"
	      "  plan_name text,\n"
	      "  plan_id text,\n"
	      "  rollout_id text,\n"
	      "  region text,\n"
	      "  database text,\n"
	      "  phase text,\n"
	      "  step_id text,\n"
	      "  mode text NOT NULL,\n"
	      "  \"when\" text NOT NULL,\n"
	      "  name text NOT NULL,\n"
	      "  passed boolean NOT NULL,\n"
	      "  seen text,\n"
	      "  expected text\n"
	      ");\n"
	      "CREATE INDEX checks_rollout_idx ON skein.checks (rollout_id);\n"
	      "CREATE TABLE skein.backups (\n"
	      "  id bigserial PRIMARY KEY,\n"
	      "  at timestamptz NOT NULL DEFAULT pg_catalog.now(),\n"
	      "  plan_name text,\n"
	      "  plan_id text,\n"
	      "  rollout_id text,\n"
	      "  region text,\n"
	      "  database text,\n"
	      "  path text NOT NULL,\n"
	      "  size bigint NOT NULL,\n"
	      "  duration_ms bigint NOT NULL,\n"
	      "  restore_command text NOT NULL\n"
	      ");\n"
	      "CREATE TABLE skein.reverts (\n"
	      "  id bigserial PRIMARY KEY,\n"
	      "  at timestamptz NOT NULL DEFAULT pg_catalog.now(),\n"
	      "  plan_name text NOT NULL,\n"
	      "  step_id text NOT NULL,\n"
	      "  checksum text NOT NULL,\n"
	      "  applied_rollout_id text,\n"
	      "  applied_at timestamptz,\n"
	      "  rollout_id text,\n"
	      "  region text,\n"
	      "  duration_ms bigint\n"
	      ");\n"
	      "CREATE INDEX reverts_step_idx ON skein.reverts (plan_name, step_id);\n",
	[3] = "CREATE TABLE skein.backfills (\n"
	      "  plan_name text NOT NULL,\n"
	      "  step_id text NOT NULL,\n"
	      "  worker integer NOT NULL,\n"
	      "  checksum text NOT NULL,\n"
	      "  rollout_id text,\n"
	      "  key_columns text[] NOT NULL,\n"
	      "  range_lo text[],\n"
	      "  range_hi text[],\n"
	      "  last_key text[],\n"
	      "  done boolean NOT NULL DEFAULT false,\n"
	      "  rows_total bigint,\n"
	      "  rows_done bigint NOT NULL DEFAULT 0,\n"
	      "  rows_scanned bigint NOT NULL DEFAULT 0,\n"
	      "  batches bigint NOT NULL DEFAULT 0,\n"
	      "  throttled_ms bigint NOT NULL DEFAULT 0,\n"
	      "  started_at timestamptz NOT NULL DEFAULT pg_catalog.now(),\n"
	      "  updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),\n"
	      "  PRIMARY KEY (plan_name, step_id, worker)\n"
	      ");\n"
	      "CREATE TABLE skein.expansions (\n"
	      "  plan_name text NOT NULL,\n"
	      "  step_id text NOT NULL,\n"
	      "  relid oid NOT NULL,\n"
	      "  table_name text NOT NULL,\n"
	      "  column_name text NOT NULL,\n"
	      "  from_column text NOT NULL,\n"
	      "  trigger_name text NOT NULL,\n"
	      "  function_name text NOT NULL,\n"
	      "  completed_at timestamptz,\n"
	      "  contracted_at timestamptz,\n"
	      "  PRIMARY KEY (plan_name, step_id)\n"
	      ");\n"
	      "CREATE INDEX expansions_column_idx ON skein.expansions (relid, "
	      "column_name);\n",
	/* flags: the feature flag store (docs/flags.md). */
	[4] = SK_FLAGDB_DDL,
	/* tenant moves (agent/move/, docs/moves.md): each side's record of
	 * a move, the source's captured changes, and the trigger functions
	 * (generic: the move's names come in TG_ARGV). */
	[5] = "CREATE TABLE skein.moves (\n"
	      "  move_id text PRIMARY KEY,\n"
	      "  role text NOT NULL,\n"
	      "  tenant_column text NOT NULL,\n"
	      "  tenant_value text NOT NULL,\n"
	      "  from_region text,\n"
	      "  to_region text,\n"
	      "  state text NOT NULL,\n"
	      "  position text,\n"
	      "  round_upto text,\n"
	      "  last_seq bigint NOT NULL DEFAULT 0,\n"
	      "  verify_position text,\n"
	      "  started_at timestamptz NOT NULL DEFAULT pg_catalog.now(),\n"
	      "  updated_at timestamptz NOT NULL DEFAULT pg_catalog.now()\n"
	      ");\n"
	      "CREATE TABLE skein.move_changes (\n"
	      "  move_id text NOT NULL,\n"
	      "  seq bigserial,\n"
	      "  xid xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),\n"
	      "  tbl text NOT NULL,\n"
	      "  op \"char\" NOT NULL,\n"
	      "  old_key jsonb,\n"
	      "  new_row jsonb,\n"
	      "  PRIMARY KEY (move_id, seq)\n"
	      ");\n"
	      /* a round reads the changes since its last position's xmin */
	      "CREATE INDEX move_changes_xid_idx ON skein.move_changes (move_id, xid);\n"
	      /* TG_ARGV: move id, key columns (comma-separated). */
	      "CREATE FUNCTION skein.move_capture() RETURNS trigger\n"
	      "LANGUAGE plpgsql SET search_path = pg_catalog AS $f$\n"
	      "DECLARE k jsonb;\n"
	      "BEGIN\n"
	      "  IF TG_OP <> 'INSERT' THEN\n"
	      "    SELECT jsonb_object_agg(c, to_jsonb(OLD) -> c) INTO k\n"
	      "    FROM unnest(string_to_array(TG_ARGV[1], ',')) AS c;\n"
	      "  END IF;\n"
	      "  INSERT INTO skein.move_changes (move_id, tbl, op, old_key, new_row)\n"
	      "  VALUES (TG_ARGV[0], TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,\n"
	      "    left(TG_OP, 1), k,\n"
	      "    CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);\n"
	      "  RETURN NULL;\n"
	      "END $f$;\n"
	      /* TG_ARGV: lock key 1, key 2, fence sequence, tenant, region.
	       * The fence is read without a snapshot, so a REPEATABLE READ
	       * writer sees the commit point too. */
	      "CREATE FUNCTION skein.move_guard() RETURNS trigger\n"
	      "LANGUAGE plpgsql SET search_path = pg_catalog AS $f$\n"
	      "DECLARE moved boolean;\n"
	      "BEGIN\n"
	      "  PERFORM pg_advisory_xact_lock_shared(TG_ARGV[0]::int4, TG_ARGV[1]::int4);\n"
	      "  EXECUTE 'SELECT last_value > 0 FROM ' || TG_ARGV[2] INTO moved;\n"
	      "  IF moved THEN\n"
	      "    RAISE EXCEPTION 'tenant % moved to region %', TG_ARGV[3], TG_ARGV[4]\n"
	      "      USING ERRCODE = 'SKM01';\n"
	      "  END IF;\n"
	      "  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n"
	      "  RETURN NEW;\n"
	      "END $f$;\n"
	      /* TG_ARGV: tenant. */
	      "CREATE FUNCTION skein.move_truncate_guard() RETURNS trigger\n"
	      "LANGUAGE plpgsql AS $f$\n"
	      "BEGIN\n"
	      "  RAISE EXCEPTION 'truncate %.%: tenant % is being moved',\n"
	      "    TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[0] USING ERRCODE = 'SKM02';\n"
	      "END $f$;\n"
	      /* TG_ARGV: move id, tenant. */
	      "CREATE FUNCTION skein.move_target_guard() RETURNS trigger\n"
	      "LANGUAGE plpgsql AS $f$\n"
	      "BEGIN\n"
	      "  IF pg_catalog.current_setting('skein.move', true)\n"
	      "     IS DISTINCT FROM TG_ARGV[0] THEN\n"
	      "    RAISE EXCEPTION 'tenant % is being moved here', TG_ARGV[1]\n"
	      "      USING ERRCODE = 'SKM02';\n"
	      "  END IF;\n"
	      "  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n"
	      "  RETURN NEW;\n"
	      "END $f$;\n",
	/* 6: purges (kind purge_tenant): the guard of a moved tenant lets
	 * through the deletes of a transaction that says it purges that
	 * tenant (SET LOCAL skein.purge); every other write still fails. */
	[6] = "CREATE OR REPLACE FUNCTION skein.move_guard() RETURNS trigger\n"
	      "LANGUAGE plpgsql SET search_path = pg_catalog AS $f$\n"
	      "DECLARE moved boolean;\n"
	      "BEGIN\n"
	      "  PERFORM pg_advisory_xact_lock_shared(TG_ARGV[0]::int4, TG_ARGV[1]::int4);\n"
	      "  EXECUTE 'SELECT last_value > 0 FROM ' || TG_ARGV[2] INTO moved;\n"
	      "  IF moved AND NOT (TG_OP = 'DELETE' AND coalesce(\n"
	      "      pg_catalog.current_setting('skein.purge', true), '') = TG_ARGV[3]) THEN\n"
	      "    RAISE EXCEPTION 'tenant % moved to region %', TG_ARGV[3], TG_ARGV[4]\n"
	      "      USING ERRCODE = 'SKM01';\n"
	      "  END IF;\n"
	      "  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n"
	      "  RETURN NEW;\n"
	      "END $f$;\n",
};

/* "" and NULL both become SQL NULL. */
static const char *
nullable(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

int
agent_ledger_has_table(PGconn *conn, const char *what, const char *table,
    bool *present, sk_err *err)
{
	const char *params[1] = { table };
	PGresult *res = NULL;
	int rc;

	*present = false;
	rc = sk_pg_execp(conn, what,
	    "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, params, &res, err);
	if (rc != SK_OK)
		return rc;
	*present = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return SK_OK;
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
		sk_pg_rollback(conn);
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
	bool present;
	char what[160];
	int rc;

	*found = false;
	hex[0] = '\0';
	snprintf(what, sizeof(what), "look up step %s of plan %s in the ledger",
	    step_id, plan_name);
	rc = agent_ledger_has_table(conn, what, "skein.steps", &present, err);
	if (rc != SK_OK || !present)
		return rc;
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
	char attempts[16], lock_waits[16], lock_wait_ms[24];
	const char *params[16];

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
	snprintf(attempts, sizeof(attempts), "%" PRIu32, s->attempts);
	snprintf(lock_waits, sizeof(lock_waits), "%" PRIu32, s->lock_waits);
	snprintf(lock_wait_ms, sizeof(lock_wait_ms), "%" PRId64,
	    s->lock_wait_ms > 0 ? s->lock_wait_ms : 0);
	params[12] = s->attempts > 0 ? attempts : NULL;
	params[13] = lock_waits;
	params[14] = lock_wait_ms;
	params[15] = nullable(s->blockers);
	snprintf(what, sizeof(what), "record step %s of plan %s in the ledger",
	    s->step_id, s->plan_name);
	return sk_pg_execp(conn, what,
	    "INSERT INTO skein.steps (plan_name, step_id, checksum, plan_id, "
	    "rollout_id, region, kind, transactional, started_at, finished_at, "
	    "duration_ms, rows, attempts, lock_waits, lock_wait_ms, blockers) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, "
	    "$8::boolean, pg_catalog.to_timestamp($9::double precision), "
	    "pg_catalog.to_timestamp($10::double precision), $11::bigint, "
	    "$12::bigint, $13::integer, $14::integer, $15::bigint, $16)",
	    16, params, NULL, err);
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

int
agent_ledger_exists(PGconn *conn, bool *exists, int *version, sk_err *err)
{
	int v = 0, rc;

	*exists = false;
	if (version != NULL)
		*version = 0;
	rc = agent_ledger_version(conn, &v, err);
	if (rc != SK_OK)
		return rc;
	*exists = v > 0;
	if (version != NULL)
		*version = v;
	return SK_OK;
}

int
agent_ledger_applied(PGconn *conn, const char *plan_name, char ***step_ids,
    size_t *n, sk_err *err)
{
	const char *params[1] = { plan_name };
	PGresult *res = NULL;
	char what[160];
	char **list = NULL;
	bool present;
	int rc, rows;

	*step_ids = NULL;
	*n = 0;
	snprintf(what, sizeof(what), "list recorded steps of plan %s", plan_name);
	rc = agent_ledger_has_table(conn, what, "skein.steps", &present, err);
	if (rc != SK_OK || !present)
		return rc;
	rc = sk_pg_execp(conn, what,
	    "SELECT step_id FROM skein.steps WHERE plan_name = $1 "
	    "ORDER BY finished_at NULLS FIRST, started_at NULLS FIRST, step_id",
	    1, params, &res, err);
	if (rc != SK_OK)
		return rc;
	rows = PQntuples(res);
	if (rows > 0) {
		list = calloc((size_t)rows, sizeof(*list));
		if (list == NULL) {
			PQclear(res);
			return sk_err_set(err, SK_ENOMEM, "%s: out of memory", what);
		}
	}
	for (int i = 0; i < rows; i++) {
		list[i] = sk_strdup(PQgetvalue(res, i, 0));
		if (list[i] == NULL) {
			sk_strv_free(list, (size_t)i);
			PQclear(res);
			return sk_err_set(err, SK_ENOMEM, "%s: out of memory", what);
		}
	}
	PQclear(res);
	*step_ids = list;
	*n = (size_t)rows;
	return SK_OK;
}

int
agent_ledger_record_check(PGconn *conn, const agent_ledger_check *c, sk_err *err)
{
	const sk_check_result *r = c->result;
	const char *params[13];
	char what[160];

	if (r == NULL)
		return sk_err_set(err, SK_EINVAL, "record check: no result");
	params[0] = nullable(c->plan_name);
	params[1] = nullable(c->plan_id);
	params[2] = nullable(c->rollout_id);
	params[3] = nullable(c->region);
	params[4] = nullable(c->database);
	params[5] = nullable(c->phase);
	params[6] = nullable(c->step_id);
	params[7] = nullable(c->mode) ? c->mode : "apply";
	params[8] = r->when;
	params[9] = r->name;
	params[10] = r->passed ? "true" : "false";
	params[11] = nullable(r->seen);
	params[12] = nullable(r->expected);
	snprintf(what, sizeof(what), "record check %s (%s) in the ledger",
	    r->name, r->when);
	return sk_pg_execp(conn, what,
	    "INSERT INTO skein.checks (plan_name, plan_id, rollout_id, region, "
	    "database, phase, step_id, mode, \"when\", name, passed, seen, "
	    "expected) VALUES ($1, $2, $3, $4, "
	    "coalesce($5, pg_catalog.current_database()), $6, $7, $8, $9, $10, "
	    "$11::boolean, $12, $13)",
	    13, params, NULL, err);
}

int
agent_ledger_record_backup(PGconn *conn, const char *plan_name, const char *plan_id,
    const char *rollout_id, const char *region, const sk_backup_info *b, sk_err *err)
{
	char size[24], duration[24];
	const char *params[8];

	snprintf(size, sizeof(size), "%" PRId64, b->size);
	snprintf(duration, sizeof(duration), "%" PRId64, b->duration_ms);
	params[0] = nullable(plan_name);
	params[1] = nullable(plan_id);
	params[2] = nullable(rollout_id);
	params[3] = nullable(region);
	params[4] = b->path;
	params[5] = size;
	params[6] = duration;
	params[7] = b->restore_command;
	return sk_pg_execp(conn, "record backup in the ledger",
	    "INSERT INTO skein.backups (plan_name, plan_id, rollout_id, region, "
	    "database, path, size, duration_ms, restore_command) VALUES ($1, $2, "
	    "$3, $4, pg_catalog.current_database(), $5, $6::bigint, $7::bigint, "
	    "$8)",
	    8, params, NULL, err);
}

int
agent_ledger_revert_step(PGconn *conn, const char *plan_name, const char *step_id,
    const char *rollout_id, const char *region, int64_t duration_ms, sk_err *err)
{
	char duration[24], what[160];
	const char *params[5];
	PGresult *res = NULL;
	int rc, moved;

	snprintf(duration, sizeof(duration), "%" PRId64, duration_ms);
	params[0] = plan_name;
	params[1] = step_id;
	params[2] = nullable(rollout_id);
	params[3] = nullable(region);
	params[4] = duration_ms >= 0 ? duration : NULL;
	snprintf(what, sizeof(what),
	    "record revert of step %s of plan %s in the ledger", step_id, plan_name);
	/* One statement: the row leaves skein.steps exactly when it reaches
	 * skein.reverts. */
	rc = sk_pg_execp(conn, what,
	    "WITH moved AS (DELETE FROM skein.steps "
	    "  WHERE plan_name = $1 AND step_id = $2 "
	    "  RETURNING plan_name, step_id, checksum, rollout_id, finished_at) "
	    "INSERT INTO skein.reverts (plan_name, step_id, checksum, "
	    "  applied_rollout_id, applied_at, rollout_id, region, duration_ms) "
	    "SELECT plan_name, step_id, checksum, rollout_id, finished_at, $3, $4, "
	    "  $5::bigint FROM moved RETURNING id",
	    5, params, &res, err);
	if (rc != SK_OK)
		return rc;
	moved = PQntuples(res);
	PQclear(res);
	if (moved == 0)
		return sk_err_set(err, SK_ENOTFOUND,
		    "%s: the step is not recorded as applied", what);
	return SK_OK;
}

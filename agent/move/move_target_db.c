/* move_target_db: the target side's SQL of a move: the preflight's
 * comparison, the guard, COPY FROM, applying change pages, the figures,
 * the flip and the abort's cleanup, on the caller's target connection.
 * Every write to the tenant's rows runs with skein.move set, which is
 * what the target guard lets through. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_ledger.h"
#include "move_int.h"
#include "sk_pg.h"
#include "sk_log.h"
#include "sk_util.h"

void
move_target_rollback(move_target *t)
{
	if (t->in_copy) {
		PGresult *res;

		PQputCopyEnd(t->c, "abandoned");
		while ((res = PQgetResult(t->c)) != NULL)
			PQclear(res);
		t->in_copy = false;
	}
	sk_pg_rollback(t->c);
}

int
move_target_open_copy(PGconn *conn, const move_spec *spec,
    const Skein__V1__MoveDescription *d, move_target **out, sk_err *err)
{
	move_target *t = calloc(1, sizeof(*t));
	move_str q = { 0 };

	*out = NULL;
	if (t == NULL)
		return sk_err_set(
		    err, SK_ENOMEM, "open the move's target: out of memory");
	t->c = conn;
	t->spec = spec;
	t->d = d;
	move_names_init(&t->nm, spec->move_id);
	sk_strbuf_add(&q, "SET LOCAL skein.move = ");
	move_str_lit(&q, spec->move_id);
	if (q.oom || q.len >= sizeof(t->set_move)) {
		sk_strbuf_fini(&q);
		free(t);
		return sk_err_set(
		    err, SK_EINVAL, "open the move's target: move id too long");
	}
	memcpy(t->set_move, q.s, q.len + 1);
	sk_strbuf_fini(&q);
	*out = t;
	return SK_OK;
}

int
move_target_open(PGconn *conn, const move_spec *spec,
    const Skein__V1__MoveDescription *d, move_target **out, sk_err *err)
{
	move_target *t = NULL;
	int rc;

	rc = move_target_open_copy(conn, spec, d, &t, err);
	if (rc != SK_OK)
		return rc;
	/* The keys applied since the verification position, for the figures
	 * in the freeze: this session's own, gone with it. */
	rc = sk_pg_exec(conn, "open the move's target",
	    "CREATE TEMP TABLE IF NOT EXISTS skein_move_keys (tbl text, k jsonb)",
	    NULL, err);
	if (rc != SK_OK) {
		free(t);
		return rc;
	}
	*out = t;
	return SK_OK;
}

void
move_target_close(move_target *t)
{
	if (t == NULL)
		return;
	move_target_rollback(t);
	PQclear(PQexec(t->c, "DROP TABLE IF EXISTS pg_temp.skein_move_keys"));
	free(t);
}

const Skein__V1__MoveTable *
move_target_find_table(const move_target *t, const char *name)
{
	for (size_t i = 0; i < t->d->n_tables; i++)
		if (strcmp(t->d->tables[i]->name, name) == 0)
			return t->d->tables[i];
	return NULL;
}

static int
compare_table(const Skein__V1__MoveTable *s, const Skein__V1__MoveTable *d,
    const char *column, const char *value, bool allow_rows, sk_err *err)
{
	bool has_col = false;

	if (s->n_key == 0)
		return sk_err_set(err, SK_EPREFLIGHT,
		    "table %s has no primary key in the source", s->name);
	for (size_t i = 0; i < s->n_columns; i++)
		if (strcmp(s->columns[i]->name, column) == 0)
			has_col = true;
	if (!has_col)
		return sk_err_set(err, SK_EPREFLIGHT,
		    "table %s has no tenant column %s", s->name, column);
	for (size_t i = 0; i < s->n_columns || i < d->n_columns; i++) {
		const Skein__V1__MoveColumn *a =
		    i < s->n_columns ? s->columns[i] : NULL;
		const Skein__V1__MoveColumn *b =
		    i < d->n_columns ? d->columns[i] : NULL;

		if (a == NULL || b == NULL)
			return sk_err_set(err, SK_EPREFLIGHT,
			    "table %s: column %zu (%s) exists only in the %s",
			    s->name, i + 1, a ? a->name : b->name,
			    a ? "source" : "target");
		if (strcmp(a->name, b->name) != 0)
			return sk_err_set(err, SK_EPREFLIGHT,
			    "table %s: column %zu is %s in the source, %s in the target",
			    s->name, i + 1, a->name, b->name);
		if (strcmp(a->type, b->type) != 0)
			return sk_err_set(err, SK_EPREFLIGHT,
			    "table %s: column %s is %s in the source, %s in the target",
			    s->name, a->name, a->type, b->type);
		if (a->generated != b->generated)
			return sk_err_set(err, SK_EPREFLIGHT,
			    "table %s: column %s is generated only in the %s",
			    s->name, a->name, a->generated ? "source" : "target");
	}
	if (d->n_key != s->n_key)
		return sk_err_set(err, SK_EPREFLIGHT,
		    "table %s: the primary keys differ between source and target",
		    s->name);
	for (size_t i = 0; i < s->n_key; i++)
		if (strcmp(s->key[i], d->key[i]) != 0)
			return sk_err_set(err, SK_EPREFLIGHT,
			    "table %s: the primary keys differ between source and target",
			    s->name);
	if (!allow_rows && d->rows > 0)
		return sk_err_set(err, SK_EPREFLIGHT,
		    "tenant %s already has %" PRId64 " rows in table %s of the target",
		    value, d->rows, s->name);
	return SK_OK;
}

int
move_target_preflight(move_target *t, bool allow_rows, sk_err *err)
{
	sk_move_tenant m = *t->spec->m;
	Skein__V1__MoveDescription *d = NULL;
	char **names;
	int rc;

	names = calloc(t->d->n_tables + 1, sizeof(*names));
	if (names == NULL)
		return sk_err_set(err, SK_ENOMEM, "preflight: out of memory");
	for (size_t i = 0; i < t->d->n_tables; i++)
		names[i] = t->d->tables[i]->name;
	m.tables = names;
	m.ntables = t->d->n_tables;
	m.discover = false;
	rc = move_describe_db(t->c, &m, true, "target", &d, err);
	free(names);
	if (rc != SK_OK)
		return rc;
	if (t->d->n_tables == 0)
		rc = sk_err_set(err, SK_EPREFLIGHT,
		    "no table has the tenant column %s", t->spec->m->column);
	for (size_t i = 0; rc == SK_OK && i < t->d->n_tables; i++)
		rc = compare_table(t->d->tables[i], d->tables[i],
		    t->spec->m->column, t->spec->m->value, allow_rows, err);
	move_reply_free(d);
	return rc;
}

int
move_target_state_read(move_target *t, move_target_state *st, sk_err *err)
{
	const char *p[1] = { t->spec->move_id };
	PGresult *res = NULL;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = sk_pg_execp(t->c, "read the move's state in the target",
	    "SELECT state, position, round_upto, last_seq, verify_position "
	    "FROM skein.moves WHERE move_id = $1",
	    1, p, &res, err);
	if (rc != SK_OK)
		return rc;
	if (PQntuples(res) == 1) {
		snprintf(st->state, sizeof(st->state), "%s", PQgetvalue(res, 0, 0));
		if (!PQgetisnull(res, 0, 1))
			st->position = sk_strdup(PQgetvalue(res, 0, 1));
		if (!PQgetisnull(res, 0, 2))
			st->upto = sk_strdup(PQgetvalue(res, 0, 2));
		st->seq = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
		if (!PQgetisnull(res, 0, 4))
			st->verify = sk_strdup(PQgetvalue(res, 0, 4));
	}
	PQclear(res);
	return SK_OK;
}

void
move_target_state_fini(move_target_state *st)
{
	free(st->position);
	free(st->upto);
	free(st->verify);
	memset(st, 0, sizeof(*st));
}

/* Append the statements that drop (or, create, create) the target guard
 * of every moved table. */
void
move_target_guard_sql(move_target *t, move_str *q, bool create)
{
	static const char *const ops[3] = { "INSERT", "UPDATE", "DELETE" };
	static const char *const sfx[3] = { "i", "u", "d" };
	const sk_move_tenant *m = t->spec->m;

	for (size_t i = 0; i < t->d->n_tables; i++) {
		const char *name = t->d->tables[i]->name;

		for (int o = 0; o < 3; o++) {
			const char *img = o == 0 ? "NEW" : "OLD";

			sk_strbuf_addf(q, "DROP TRIGGER IF EXISTS %s_%s ON ",
			    t->nm.tguard, sfx[o]);
			move_str_ident(q, name, true);
			sk_strbuf_add(q, ";\n");
			if (!create)
				continue;
			sk_strbuf_addf(q, "CREATE TRIGGER %s_%s BEFORE %s ON ",
			    t->nm.tguard, sfx[o], ops[o]);
			move_str_ident(q, name, true);
			sk_strbuf_addf(q, " FOR EACH ROW WHEN (%s.", img);
			move_str_ident(q, m->column, false);
			sk_strbuf_add(q, " = ");
			move_str_lit(q, m->value);
			if (o == 1) {
				sk_strbuf_add(q, " OR NEW.");
				move_str_ident(q, m->column, false);
				sk_strbuf_add(q, " = ");
				move_str_lit(q, m->value);
			}
			sk_strbuf_add(q, ") EXECUTE FUNCTION skein.move_target_guard(");
			move_str_lit(q, t->spec->move_id);
			sk_strbuf_add(q, ", ");
			move_str_lit(q, m->value);
			sk_strbuf_add(q, ");\n");
		}
	}
}

int
move_target_undo_moved(move_target *t, bool *moved, sk_err *err)
{
	char st[32];
	int rc;

	*moved = false;
	if (t->spec->undo_id == NULL)
		return SK_OK;
	rc = move_state_of(t->c, t->spec->undo_id, "source", st, sizeof(st), err);
	*moved = rc == SK_OK && strcmp(st, "moved") == 0;
	return rc;
}

int
move_state_of(PGconn *db, const char *move_id, const char *role, char *out,
    size_t len, sk_err *err)
{
	const char *p[2] = { move_id, role };
	PGresult *res = NULL;
	bool present = false;
	int rc;

	out[0] = '\0';
	rc = agent_ledger_has_table(
	    db, "read the move's state", "skein.moves", &present, err);
	if (rc != SK_OK || !present)
		return rc;
	rc = sk_pg_execp(db, "read the move's state",
	    "SELECT state FROM skein.moves WHERE move_id = $1 AND role = $2", 2,
	    p, &res, err);
	if (rc == SK_OK && PQntuples(res) == 1)
		snprintf(out, len, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

/* A move back: drop what the undone move left on the moved tables of
 * its source (this database): its guard, which refuses the tenant's
 * writes once fenced, its truncate guard, capture triggers a cleanup
 * never removed, and its fence. The move back's own guard, created in
 * the same transaction, refuses the application's writes from then on. */
static void
undone_triggers_sql(move_target *t, move_str *q)
{
	static const char *const sfx[3] = { "i", "u", "d" };
	move_names fw;

	move_names_init(&fw, t->spec->undo_id);
	for (size_t i = 0; i < t->d->n_tables; i++) {
		const char *name = t->d->tables[i]->name;

		for (int o = 0; o < 3; o++) {
			sk_strbuf_addf(q, "DROP TRIGGER IF EXISTS %s_%s ON ",
			    fw.guard, sfx[o]);
			move_str_ident(q, name, true);
			sk_strbuf_addf(q, ";\nDROP TRIGGER IF EXISTS %s_%s ON ",
			    fw.capture, sfx[o]);
			move_str_ident(q, name, true);
			sk_strbuf_add(q, ";\n");
		}
		sk_strbuf_addf(q, "DROP TRIGGER IF EXISTS %s ON ", fw.truncate);
		move_str_ident(q, name, true);
		sk_strbuf_add(q, ";\n");
	}
	sk_strbuf_addf(q, "DROP SEQUENCE IF EXISTS %s;\n", fw.fence);
}

static int
begin_once(void *arg, sk_err *err)
{
	move_target *t = arg;
	const sk_move_tenant *m = t->spec->m;
	const char *p[5] = { t->spec->move_id, m->column, m->value,
		t->spec->source_region, t->spec->target_region };
	move_str q = { 0 };
	int rc;

	sk_strbuf_add(&q,
	    "BEGIN; " MOVE_DDL_LOCK_TIMEOUT
	    "; SET LOCAL client_min_messages = warning;\n");
	if (t->spec->undo_id != NULL)
		undone_triggers_sql(t, &q);
	move_target_guard_sql(t, &q, true);
	if (q.oom) {
		sk_strbuf_fini(&q);
		return sk_err_set(
		    err, SK_ENOMEM, "install the target guard: out of memory");
	}
	rc = sk_pg_exec(t->c, "install the target guard", q.s, NULL, err);
	sk_strbuf_fini(&q);
	if (rc == SK_OK)
		rc = sk_pg_execp(t->c, "install the target guard",
		    "INSERT INTO skein.moves (move_id, role, tenant_column, "
		    "tenant_value, from_region, to_region, state) VALUES ($1, "
		    "'target', $2, $3, $4, $5, 'copy') ON CONFLICT (move_id) DO "
		    "UPDATE SET state = 'copy', position = NULL, round_upto = NULL, "
		    "last_seq = 0, verify_position = NULL, updated_at = pg_catalog.now()",
		    5, p, NULL, err);
	if (rc == SK_OK)
		rc = sk_pg_exec(t->c, "install the target guard", "COMMIT", NULL, err);
	if (rc != SK_OK)
		sk_pg_rollback(t->c);
	return rc;
}

/* Append the deletes of the tenant's rows, children first. */
void
move_target_delete_sql(move_target *t, move_str *q)
{
	for (size_t i = t->d->n_tables; i-- > 0;) {
		sk_strbuf_add(q, "DELETE FROM ");
		move_str_ident(q, t->d->tables[i]->name, true);
		sk_strbuf_add(q, " WHERE ");
		move_str_ident(q, t->spec->m->column, false);
		sk_strbuf_add(q, " = ");
		move_str_lit(q, t->spec->m->value);
		sk_strbuf_add(q, ";\n");
	}
}

/* Begin a copy transaction: skein.move set, the tenant's rows deleted
 * first when deletes, and a replica session when the agent's role may. */
static void
copy_begin_sql(move_target *t, move_str *q, bool deletes)
{
	sk_strbuf_addf(q, "BEGIN; %s;\n", t->set_move);
	if (deletes)
		move_target_delete_sql(t, q);
	/* Rows from one consistent snapshot of the source need neither the
	 * target's triggers (its guard included) nor its foreign-key checks,
	 * as in PostgreSQL's logical replication: when the agent's role may
	 * (a superuser, or SET granted on the parameter, PostgreSQL 15),
	 * the copy runs as a replica session. Otherwise it runs as any
	 * session, a little slower. */
	sk_strbuf_add(q,
	    "DO $skein$ DECLARE may boolean := "
	    "pg_catalog.current_setting('is_superuser') = 'on'; BEGIN "
	    "IF NOT may AND pg_catalog.current_setting('server_version_num')::int "
	    ">= 150000 THEN EXECUTE 'SELECT pg_catalog.has_parameter_privilege("
	    "''session_replication_role'', ''SET'')' INTO may; END IF; "
	    "IF may THEN PERFORM pg_catalog.set_config('session_replication_role', "
	    "'replica', true); END IF; END $skein$;\n");
}

/* Open the copy's target transaction: with clear, the deletes of what
 * an earlier copy left first (copy_begin_sql). */
static int
copy_begin(move_target *t, bool clear, const char *what, sk_err *err)
{
	move_str q = { 0 };
	int rc;

	copy_begin_sql(t, &q, clear);
	if (q.oom) {
		sk_strbuf_fini(&q);
		return sk_err_set(err, SK_ENOMEM, "%s: out of memory", what);
	}
	rc = sk_pg_exec(t->c, what, q.s, NULL, err);
	sk_strbuf_fini(&q);
	if (rc != SK_OK)
		sk_pg_rollback(t->c);
	return rc;
}

int
move_target_copy_begin(move_target *t, sk_err *err)
{
	/* parallel 1: the whole copy is one transaction, so an interrupted
	 * copy leaves nothing behind. The deletes clear what an older agent
	 * version, a parallel copy that was cut, or a hand may have left. */
	return copy_begin(t, true, "begin the copy in the target", err);
}

int
move_target_copy_clear(move_target *t, bool *replica, sk_err *err)
{
	move_str q = { 0 };
	PGresult *res = NULL;
	int rc;

	*replica = false;
	copy_begin_sql(t, &q, true);
	sk_strbuf_add(&q,
	    "SELECT pg_catalog.current_setting('session_replication_role') = "
	    "'replica'");
	if (q.oom) {
		sk_strbuf_fini(&q);
		return sk_err_set(err, SK_ENOMEM, "clear the copy: out of memory");
	}
	rc = sk_pg_exec(t->c, "clear the copy in the target", q.s, &res, err);
	sk_strbuf_fini(&q);
	if (rc == SK_OK)
		*replica = PQntuples(res) == 1 &&
		    strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (rc == SK_OK)
		rc = sk_pg_exec(
		    t->c, "clear the copy in the target", "COMMIT", NULL, err);
	if (rc != SK_OK)
		sk_pg_rollback(t->c);
	return rc;
}

int
move_target_copy_table_begin(move_target *t, sk_err *err)
{
	return copy_begin(t, false, "begin a table's copy in the target", err);
}

int
move_target_copy_table_commit(move_target *t, sk_err *err)
{
	int rc = sk_pg_exec(
	    t->c, "commit a table's copy in the target", "COMMIT", NULL, err);

	if (rc != SK_OK)
		sk_pg_rollback(t->c);
	return rc;
}

int
move_target_copy_record_begin(move_target *t, sk_err *err)
{
	return sk_pg_exec(t->c, "record the copy in the target", "BEGIN", NULL, err);
}

int
move_target_copy_deps(move_target *t, bool *deps, sk_err *err)
{
	size_t n = t->d->n_tables;
	move_str q = { 0 }, v = { 0 };
	PGresult *res = NULL;
	int rc;

	memset(deps, 0, n * n * sizeof(*deps));
	if (n < 2)
		return SK_OK;
	/* (i, oid) of every moved table, as the target resolves its name */
	for (size_t i = 0; i < n; i++) {
		move_str id = { 0 };

		move_str_ident(&id, t->d->tables[i]->name, true);
		sk_strbuf_addf(
		    &v, "%s(%zu, pg_catalog.to_regclass(", i ? ", " : "", i);
		move_str_lit(&v, id.s != NULL ? id.s : "");
		sk_strbuf_add(&v, "))");
		if (id.oom)
			v.oom = true;
		sk_strbuf_fini(&id);
	}
	sk_strbuf_addf(&q,
	    "WITH m(i, o) AS (VALUES %s) SELECT DISTINCT a.i, b.i FROM m a "
	    "JOIN pg_catalog.pg_constraint c ON c.conrelid = a.o AND c.contype = 'f' "
	    "JOIN m b ON c.confrelid = b.o WHERE a.i <> b.i",
	    v.s != NULL ? v.s : "");
	if (q.oom || v.oom) {
		sk_strbuf_fini(&q);
		sk_strbuf_fini(&v);
		return sk_err_set(err, SK_ENOMEM,
		    "read the moved tables' foreign keys: out of memory");
	}
	rc = sk_pg_exec(t->c, "read the moved tables' foreign keys", q.s, &res, err);
	sk_strbuf_fini(&q);
	sk_strbuf_fini(&v);
	for (int r = 0; rc == SK_OK && r < PQntuples(res); r++) {
		size_t a = strtoul(PQgetvalue(res, r, 0), NULL, 10);
		size_t b = strtoul(PQgetvalue(res, r, 1), NULL, 10);

		if (a < n && b < n)
			deps[a * n + b] = true;
	}
	PQclear(res);
	return rc;
}

int
move_target_copy_start(move_target *t, const Skein__V1__MoveTable *tbl, sk_err *err)
{
	move_str q = { 0 };
	PGresult *res;
	bool first = true;
	int rc = SK_OK;

	sk_strbuf_add(&q, "COPY ");
	move_str_ident(&q, tbl->name, true);
	sk_strbuf_add(&q, " (");
	for (size_t i = 0; i < tbl->n_columns; i++) {
		/* Generated columns are computed by the target; identity
		 * ALWAYS columns take the copied values (COPY FROM does not
		 * apply the ALWAYS restriction). */
		if (tbl->columns[i]->generated)
			continue;
		sk_strbuf_add(&q, first ? "" : ", ");
		move_str_ident(&q, tbl->columns[i]->name, false);
		first = false;
	}
	sk_strbuf_add(&q, ") FROM STDIN (FORMAT binary)");
	if (q.oom) {
		sk_strbuf_fini(&q);
		return sk_err_set(err, SK_ENOMEM, "copy into the target: out of memory");
	}
	res = PQexec(t->c, q.s);
	sk_strbuf_fini(&q);
	if (PQresultStatus(res) != PGRES_COPY_IN)
		rc = sk_pg_error(err, t->c, res, "copy into the target");
	else
		t->in_copy = true;
	PQclear(res);
	return rc;
}

int
move_target_copy_data(void *arg, const uint8_t *data, size_t len, sk_err *err)
{
	move_target *t = arg;

	if (len > INT32_MAX || PQputCopyData(t->c, (const char *)data, (int)len) != 1)
		return sk_pg_error(err, t->c, NULL, "copy into the target");
	return SK_OK;
}

int
move_target_copy_end(move_target *t, sk_err *err)
{
	PGresult *res;
	int rc = SK_OK;

	t->in_copy = false;
	if (PQputCopyEnd(t->c, NULL) != 1)
		return sk_pg_error(err, t->c, NULL, "end the copy into the target");
	while ((res = PQgetResult(t->c)) != NULL) {
		if (rc == SK_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = sk_pg_error(err, t->c, res, "copy into the target");
		PQclear(res);
	}
	return rc;
}

int
move_target_copy_commit(move_target *t, const char *p0, sk_err *err)
{
	const char *p[2] = { t->spec->move_id, p0 };
	int rc;

	rc = sk_pg_execp(t->c, "record the copy in the target",
	    "UPDATE skein.moves SET state = 'catchup', position = $2, "
	    "round_upto = NULL, last_seq = 0, updated_at = pg_catalog.now() "
	    "WHERE move_id = $1",
	    2, p, NULL, err);
	if (rc == SK_OK)
		rc = sk_pg_exec(
		    t->c, "commit the copy in the target", "COMMIT", NULL, err);
	if (rc != SK_OK)
		sk_pg_rollback(t->c);
	return rc;
}

int
move_target_begin(move_target *t, sk_err *err)
{
	return move_ddl_retry(begin_once, t, err);
}

void
move_target_vacuum(move_target *t)
{
	for (size_t i = 0; t->d != NULL && i < t->d->n_tables; i++) {
		move_str q = { 0 };
		sk_err err;

		sk_strbuf_add(&q, "VACUUM (ANALYZE) ");
		move_str_ident(&q, t->d->tables[i]->name, true);
		if (!q.oom &&
		    sk_pg_exec(t->c, "vacuum a moved table", q.s, NULL, &err) != SK_OK)
			sk_warn("move %s: %s (the freeze may count slower)",
			    t->spec->move_id, err.msg);
		sk_strbuf_fini(&q);
	}
}

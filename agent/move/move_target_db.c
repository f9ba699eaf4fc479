/* move_target_db: the target side's SQL of a move: the preflight's
 * comparison, the guard, COPY FROM, applying change pages, the figures,
 * the flip and the abort's cleanup, on the caller's target connection.
 * Every write to the tenant's rows runs with skein.move set, which is
 * what the target guard lets through. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "move_int.h"
#include "sk_pg.h"
#include "sk_util.h"

struct move_target {
	PGconn *c;
	const move_spec *spec;
	const Skein__V1__MoveDescription *d;
	move_names nm;
	char set_move[512]; /* "SET LOCAL skein.move = '...'" */
	bool in_copy;
};

static void
rollback(PGconn *c)
{
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
}

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
	rollback(t->c);
}

int
move_target_open(PGconn *conn, const move_spec *spec,
    const Skein__V1__MoveDescription *d, move_target **out, sk_err *err)
{
	move_target *t = calloc(1, sizeof(*t));
	move_str q = { 0 };
	int rc;

	*out = NULL;
	if (t == NULL)
		return sk_err_set(
		    err, SK_ENOMEM, "open the move's target: out of memory");
	t->c = conn;
	t->spec = spec;
	t->d = d;
	move_names_init(&t->nm, spec->move_id);
	move_str_add(&q, "SET LOCAL skein.move = ");
	move_str_lit(&q, spec->move_id);
	if (q.oom || q.len >= sizeof(t->set_move)) {
		move_str_fini(&q);
		free(t);
		return sk_err_set(
		    err, SK_EINVAL, "open the move's target: move id too long");
	}
	memcpy(t->set_move, q.s, q.len + 1);
	move_str_fini(&q);
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

static const Skein__V1__MoveTable *
find_table(const move_target *t, const char *name)
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
static void
guard_sql(move_target *t, move_str *q, bool create)
{
	static const char *const ops[3] = { "INSERT", "UPDATE", "DELETE" };
	static const char *const sfx[3] = { "i", "u", "d" };
	const sk_move_tenant *m = t->spec->m;

	for (size_t i = 0; i < t->d->n_tables; i++) {
		const char *name = t->d->tables[i]->name;

		for (int o = 0; o < 3; o++) {
			const char *img = o == 0 ? "NEW" : "OLD";

			move_str_addf(q, "DROP TRIGGER IF EXISTS %s_%s ON ",
			    t->nm.tguard, sfx[o]);
			move_str_ident(q, name, true);
			move_str_add(q, ";\n");
			if (!create)
				continue;
			move_str_addf(q, "CREATE TRIGGER %s_%s BEFORE %s ON ",
			    t->nm.tguard, sfx[o], ops[o]);
			move_str_ident(q, name, true);
			move_str_addf(q, " FOR EACH ROW WHEN (%s.", img);
			move_str_ident(q, m->column, false);
			move_str_add(q, " = ");
			move_str_lit(q, m->value);
			if (o == 1) {
				move_str_add(q, " OR NEW.");
				move_str_ident(q, m->column, false);
				move_str_add(q, " = ");
				move_str_lit(q, m->value);
			}
			move_str_add(q, ") EXECUTE FUNCTION skein.move_target_guard(");
			move_str_lit(q, t->spec->move_id);
			move_str_add(q, ", ");
			move_str_lit(q, m->value);
			move_str_add(q, ");\n");
		}
	}
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

	move_str_add(&q,
	    "BEGIN; " MOVE_DDL_LOCK_TIMEOUT
	    "; SET LOCAL client_min_messages = warning;\n");
	guard_sql(t, &q, true);
	if (q.oom) {
		move_str_fini(&q);
		return sk_err_set(
		    err, SK_ENOMEM, "install the target guard: out of memory");
	}
	rc = sk_pg_exec(t->c, "install the target guard", q.s, NULL, err);
	move_str_fini(&q);
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
		rollback(t->c);
	return rc;
}

/* Append the deletes of the tenant's rows, children first. */
static void
delete_sql(move_target *t, move_str *q)
{
	for (size_t i = t->d->n_tables; i-- > 0;) {
		move_str_add(q, "DELETE FROM ");
		move_str_ident(q, t->d->tables[i]->name, true);
		move_str_add(q, " WHERE ");
		move_str_ident(q, t->spec->m->column, false);
		move_str_add(q, " = ");
		move_str_lit(q, t->spec->m->value);
		move_str_add(q, ";\n");
	}
}

int
move_target_copy_begin(move_target *t, sk_err *err)
{
	move_str q = { 0 };
	int rc;

	/* The whole copy is one transaction: an interrupted copy leaves
	 * nothing behind. The deletes clear what an older agent version or
	 * a hand may have left. */
	move_str_addf(&q, "BEGIN; %s;\n", t->set_move);
	delete_sql(t, &q);
	if (q.oom) {
		move_str_fini(&q);
		return sk_err_set(err, SK_ENOMEM, "begin the copy: out of memory");
	}
	rc = sk_pg_exec(t->c, "begin the copy in the target", q.s, NULL, err);
	move_str_fini(&q);
	if (rc != SK_OK)
		rollback(t->c);
	return rc;
}

int
move_target_copy_start(move_target *t, const Skein__V1__MoveTable *tbl, sk_err *err)
{
	move_str q = { 0 };
	PGresult *res;
	bool first = true;
	int rc = SK_OK;

	move_str_add(&q, "COPY ");
	move_str_ident(&q, tbl->name, true);
	move_str_add(&q, " (");
	for (size_t i = 0; i < tbl->n_columns; i++) {
		/* Generated columns are computed by the target; identity
		 * ALWAYS columns take the copied values (COPY FROM does not
		 * apply the ALWAYS restriction). */
		if (tbl->columns[i]->generated)
			continue;
		move_str_add(&q, first ? "" : ", ");
		move_str_ident(&q, tbl->columns[i]->name, false);
		first = false;
	}
	move_str_add(&q, ") FROM STDIN (FORMAT binary)");
	if (q.oom) {
		move_str_fini(&q);
		return sk_err_set(err, SK_ENOMEM, "copy into the target: out of memory");
	}
	res = PQexec(t->c, q.s);
	move_str_fini(&q);
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
		rollback(t->c);
	return rc;
}

/* The key columns as a text[] literal: {"a","b"}. */
static void
key_array(move_str *b, const Skein__V1__MoveTable *tbl)
{
	move_str_add(b, "{");
	for (size_t k = 0; k < tbl->n_key; k++) {
		move_str_add(b, k ? ",\"" : "\"");
		move_str_add(b, tbl->key[k]);
		move_str_add(b, "\"");
	}
	move_str_add(b, "}");
}

/* "(k1, k2) = (SELECT r.k1, r.k2 FROM jsonb_populate_record(NULL::t, $n) r)" */
static void
key_match(move_str *q, const Skein__V1__MoveTable *tbl, int param)
{
	move_str_add(q, "(");
	for (size_t k = 0; k < tbl->n_key; k++) {
		move_str_add(q, k ? ", " : "");
		move_str_ident(q, tbl->key[k], false);
	}
	move_str_add(q, ") = (SELECT ");
	for (size_t k = 0; k < tbl->n_key; k++) {
		move_str_add(q, k ? ", r." : "r.");
		move_str_ident(q, tbl->key[k], false);
	}
	move_str_add(q, " FROM pg_catalog.jsonb_populate_record(NULL::");
	move_str_ident(q, tbl->name, true);
	move_str_addf(q, ", $%d::jsonb) r)", param);
}

/* The upsert of the row image $1 when its tenant is $2. */
static void
upsert_sql(move_str *q, const Skein__V1__MoveTable *tbl, const char *column)
{
	bool first = true, any = false;

	move_str_add(q, "INSERT INTO ");
	move_str_ident(q, tbl->name, true);
	move_str_add(q, " AS t (");
	for (size_t i = 0; i < tbl->n_columns; i++) {
		if (tbl->columns[i]->generated)
			continue;
		move_str_add(q, first ? "" : ", ");
		move_str_ident(q, tbl->columns[i]->name, false);
		first = false;
	}
	move_str_add(q, ") OVERRIDING SYSTEM VALUE SELECT ");
	first = true;
	for (size_t i = 0; i < tbl->n_columns; i++) {
		if (tbl->columns[i]->generated)
			continue;
		move_str_add(q, first ? "r." : ", r.");
		move_str_ident(q, tbl->columns[i]->name, false);
		first = false;
	}
	move_str_add(q, " FROM pg_catalog.jsonb_populate_record(NULL::");
	move_str_ident(q, tbl->name, true);
	move_str_add(q, ", $1::jsonb) r WHERE r.");
	move_str_ident(q, column, false);
	move_str_add(q, " = $2 ON CONFLICT (");
	for (size_t k = 0; k < tbl->n_key; k++) {
		move_str_add(q, k ? ", " : "");
		move_str_ident(q, tbl->key[k], false);
	}
	move_str_add(q, ") DO UPDATE SET ");
	for (size_t i = 0; i < tbl->n_columns; i++) {
		const Skein__V1__MoveColumn *c = tbl->columns[i];
		bool key = false;

		for (size_t k = 0; k < tbl->n_key; k++)
			key = key || strcmp(tbl->key[k], c->name) == 0;
		if (key || c->generated || c->identity_always)
			continue;
		move_str_add(q, any ? ", " : "");
		move_str_ident(q, c->name, false);
		move_str_add(q, " = EXCLUDED.");
		move_str_ident(q, c->name, false);
		any = true;
	}
	if (!any) {
		/* Every column is part of the key: nothing to update. */
		q->len -= strlen(" DO UPDATE SET ");
		q->s[q->len] = '\0';
		move_str_add(q, " DO NOTHING");
	}
}

static int
apply_one(move_target *t, const Skein__V1__MoveChange *ch, bool track, sk_err *err)
{
	const Skein__V1__MoveTable *tbl = find_table(t, ch->table);
	const char *value = t->spec->m->value;
	const char *old_key = ch->old_key[0] ? ch->old_key : NULL;
	const char *new_row = ch->new_row[0] ? ch->new_row : NULL;
	move_str q = { 0 };
	char what[300];
	int rc = SK_OK;

	snprintf(what, sizeof(what), "apply change %" PRId64 " to %s", ch->seq,
	    ch->table);
	if (tbl == NULL)
		return sk_err_set(err, SK_EINVAL, "%s: not a moved table", what);
	if ((ch->op[0] != 'I' && old_key == NULL) ||
	    (ch->op[0] != 'D' && new_row == NULL))
		return sk_err_set(err, SK_EINVAL, "%s: incomplete change", what);
	if (ch->op[0] == 'D' || ch->op[0] == 'U') {
		const char *p[3] = { old_key, new_row, value };

		move_str_add(&q, "DELETE FROM ");
		move_str_ident(&q, tbl->name, true);
		move_str_add(&q, " WHERE ");
		key_match(&q, tbl, 1);
		if (ch->op[0] == 'U') {
			/* Only when the row left the tenant or changed key:
			 * otherwise the upsert below replaces it. */
			move_str_add(&q, " AND ($2::jsonb ->> ");
			move_str_lit(&q, t->spec->m->column);
			move_str_add(&q,
			    " IS DISTINCT FROM $3::text OR $1::jsonb IS "
			    "DISTINCT FROM (SELECT pg_catalog."
			    "jsonb_object_agg(c, $2::jsonb -> c) FROM "
			    "pg_catalog.jsonb_object_keys($1::jsonb) c))");
		}
		rc = q.oom ? sk_err_set(err, SK_ENOMEM, "%s: out of memory", what) :
			     sk_pg_execp(t->c, what, q.s,
				 ch->op[0] == 'U' ? 3 : 1, p, NULL, err);
		move_str_fini(&q);
	}
	if (rc == SK_OK && (ch->op[0] == 'I' || ch->op[0] == 'U')) {
		const char *p[2] = { new_row, value };

		upsert_sql(&q, tbl, t->spec->m->column);
		rc = q.oom ? sk_err_set(err, SK_ENOMEM, "%s: out of memory", what) :
			     sk_pg_execp(t->c, what, q.s, 2, p, NULL, err);
		move_str_fini(&q);
	}
	if (rc == SK_OK && ch->op[0] != 'I' && ch->op[0] != 'U' && ch->op[0] != 'D')
		rc = sk_err_set(
		    err, SK_EINVAL, "%s: unknown operation %.8s", what, ch->op);
	if (rc == SK_OK && track) {
		const char *p[4] = { ch->table, old_key, new_row, NULL };

		key_array(&q, tbl);
		p[3] = q.s;
		rc = q.oom ?
		    sk_err_set(err, SK_ENOMEM, "%s: out of memory", what) :
		    sk_pg_execp(t->c, what,
			"INSERT INTO pg_temp.skein_move_keys (tbl, k) "
			"SELECT $1, k FROM (SELECT $2::jsonb AS k UNION ALL "
			"SELECT CASE WHEN $3::jsonb IS NOT NULL THEN (SELECT "
			"pg_catalog.jsonb_object_agg(c, $3::jsonb -> c) FROM "
			"pg_catalog.unnest($4::text[]) c) END) s "
			"WHERE k IS NOT NULL",
			4, p, NULL, err);
		move_str_fini(&q);
	}
	return rc;
}

int
move_target_apply(move_target *t, const Skein__V1__MoveReply *page,
    const char *upto, bool complete, bool track, int64_t *applied, sk_err *err)
{
	char seq[24];
	const char *p[3] = { t->spec->move_id, upto, seq };
	int64_t last = 0;
	int rc;

	*applied = 0;
	rc = sk_pg_exec(t->c, "apply changes in the target", "BEGIN", NULL, err);
	if (rc == SK_OK)
		rc = sk_pg_exec(t->c, "apply changes in the target",
		    t->set_move, NULL, err);
	for (size_t i = 0; rc == SK_OK && i < page->n_changes; i++) {
		rc = apply_one(t, page->changes[i], track, err);
		last = page->changes[i]->seq;
		(*applied)++;
	}
	snprintf(seq, sizeof(seq), "%" PRId64, last);
	/* The position moves in the same transaction as the rows: a restart
	 * resumes exactly after the last page applied. */
	if (rc == SK_OK && complete)
		rc = sk_pg_execp(t->c, "record the position in the target",
		    "UPDATE skein.moves SET position = $2, round_upto = NULL, "
		    "last_seq = 0, updated_at = pg_catalog.now() WHERE move_id = $1",
		    2, p, NULL, err);
	else if (rc == SK_OK)
		rc = sk_pg_execp(t->c, "record the position in the target",
		    "UPDATE skein.moves SET round_upto = $2, last_seq = $3::bigint, "
		    "updated_at = pg_catalog.now() WHERE move_id = $1",
		    3, p, NULL, err);
	if (rc == SK_OK)
		rc = sk_pg_exec(
		    t->c, "apply changes in the target", "COMMIT", NULL, err);
	if (rc != SK_OK) {
		*applied = 0;
		rollback(t->c);
	}
	return rc;
}

int
move_target_set_verify(move_target *t, const char *v, sk_err *err)
{
	const char *p[2] = { t->spec->move_id, v };
	int rc;

	rc = sk_pg_execp(t->c, "record the verification position",
	    "UPDATE skein.moves SET verify_position = $2, updated_at = "
	    "pg_catalog.now() WHERE move_id = $1",
	    2, p, NULL, err);
	if (rc == SK_OK)
		rc = sk_pg_exec(t->c, "record the verification position",
		    "TRUNCATE pg_temp.skein_move_keys", NULL, err);
	return rc;
}

int
move_target_sums(move_target *t, const char *snapshot, const char *since,
    const sk_seckey *key, Skein__V1__MoveSignedSums **out, sk_err *err)
{
	Skein__V1__MoveSums ms = SKEIN__V1__MOVE_SUMS__INIT;
	int rc;

	*out = NULL;
	ms.move_id = (char *)t->spec->move_id;
	ms.region = (char *)t->spec->target_region;
	ms.snapshot = (char *)snapshot;
	ms.delta = since != NULL;
	ms.since_snapshot = (char *)(since != NULL ? since : "");
	ms.tables = calloc(t->d->n_tables + 1, sizeof(*ms.tables));
	if (ms.tables == NULL)
		return sk_err_set(err, SK_ENOMEM, "checksum the target: out of memory");
	rc = sk_pg_exec(t->c, "checksum the target",
	    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; " MOVE_SUM_SETTINGS,
	    NULL, err);
	for (size_t i = 0; rc == SK_OK && i < t->d->n_tables; i++) {
		const Skein__V1__MoveTable *tbl = t->d->tables[i];
		Skein__V1__MoveTableSum *ts = calloc(1, sizeof(*ts));
		const char *p[2] = { t->spec->m->value, NULL };
		PGresult *keys = NULL, *res = NULL;
		move_str q = { 0 };

		if (ts == NULL) {
			rc = sk_err_set(err, SK_ENOMEM,
			    "checksum the target: out of memory");
			break;
		}
		skein__v1__move_table_sum__init(ts);
		ms.tables[ms.n_tables++] = ts;
		if (since != NULL) {
			const char *kp[1] = { tbl->name };

			rc = sk_pg_execp(t->c, "checksum the target",
			    "SELECT coalesce(pg_catalog.jsonb_agg(DISTINCT k), '[]') "
			    "FROM pg_temp.skein_move_keys WHERE tbl = $1",
			    1, kp, &keys, err);
			if (rc != SK_OK)
				break;
			p[1] = PQgetvalue(keys, 0, 0);
		}
		move_sum_sql(&q, tbl, t->spec->m->column, since != NULL);
		rc = q.oom ?
		    sk_err_set(err, SK_ENOMEM, "checksum the target: out of memory") :
		    sk_pg_execp(t->c, "checksum the target", q.s,
			since != NULL ? 2 : 1, p, &res, err);
		move_str_fini(&q);
		PQclear(keys);
		if (rc != SK_OK)
			break;
		ts->table = sk_strdup(tbl->name);
		ts->rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		ts->sum = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
		ts->keys = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
		PQclear(res);
		if (ts->table == NULL)
			rc = sk_err_set(err, SK_ENOMEM,
			    "checksum the target: out of memory");
	}
	if (rc == SK_OK)
		rc = sk_pg_exec(t->c, "checksum the target", "COMMIT", NULL, err);
	if (rc == SK_OK)
		rc = move_sums_sign(&ms, key, out, err);
	rollback(t->c);
	for (size_t i = 0; i < ms.n_tables; i++) {
		free(ms.tables[i]->table);
		free(ms.tables[i]);
	}
	free(ms.tables);
	return rc;
}

/* Bring the target's sequences behind serial and identity columns of
 * the moved tables past the values copied in, so that the application's
 * next insert there does not collide with a moved row. */
static int
bump_sequences(move_target *t, sk_err *err)
{
	int rc = SK_OK;

	for (size_t i = 0; rc == SK_OK && i < t->d->n_tables; i++) {
		const char *name = t->d->tables[i]->name;
		const char *p[1] = { name };
		PGresult *res = NULL;

		rc = sk_pg_execp(t->c, "flip: advance the sequences",
		    "SELECT a.attname, pg_catalog.pg_get_serial_sequence($1, "
		    "a.attname) FROM pg_catalog.pg_attribute a WHERE a.attrelid = "
		    "$1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND "
		    "a.atttypid IN ('int2'::regtype, 'int4'::regtype, "
		    "'int8'::regtype) AND pg_catalog.pg_get_serial_sequence($1, "
		    "a.attname) IS NOT NULL",
		    1, p, &res, err);
		for (int r = 0; rc == SK_OK && r < PQntuples(res); r++) {
			const char *sp[1] = { PQgetvalue(res, r, 1) };
			move_str q = { 0 };

			move_str_add(&q,
			    "SELECT pg_catalog.setval($1::regclass, m) "
			    "FROM (SELECT pg_catalog.max(");
			move_str_ident(&q, PQgetvalue(res, r, 0), false);
			move_str_add(&q, ")::bigint AS m FROM ");
			move_str_ident(&q, name, true);
			move_str_add(&q,
			    ") x WHERE m > coalesce(pg_catalog."
			    "pg_sequence_last_value($1::regclass), 0)");
			rc = q.oom ?
			    sk_err_set(err, SK_ENOMEM, "flip: out of memory") :
			    sk_pg_execp(t->c, "flip: advance the sequences",
				q.s, 1, sp, NULL, err);
			move_str_fini(&q);
		}
		PQclear(res);
	}
	return rc;
}

static int
stay_rows(move_target *t, const Skein__V1__MoveReply *stay, sk_err *err)
{
	const sk_move_tenant *m = t->spec->m;
	int rc = SK_OK;

	for (size_t i = 0; stay != NULL && i < m->nstay && rc == SK_OK; i++) {
		const sk_move_stay *st = &m->stay[i];
		move_str q = { 0 };

		move_str_add(&q, "INSERT INTO ");
		move_str_ident(&q, st->index_table, true);
		move_str_add(&q, " (");
		for (size_t c = 0; c < st->nindex_columns; c++) {
			move_str_ident(&q, st->index_columns[c], false);
			move_str_add(&q, ", ");
		}
		move_str_add(&q, "original_region) SELECT ");
		for (size_t c = 0; c < st->nindex_columns; c++) {
			move_str_add(&q, "r.");
			move_str_ident(&q, st->index_columns[c], false);
			move_str_add(&q, ", ");
		}
		move_str_add(&q, "$2 FROM pg_catalog.jsonb_populate_record(NULL::");
		move_str_ident(&q, st->index_table, true);
		move_str_add(&q,
		    ", $1::jsonb -> 'row') r WHERE $1::jsonb ->> "
		    "'table' = $3");
		for (size_t k = 0; rc == SK_OK && k < stay->n_stay_rows; k++) {
			const char *p[3] = { stay->stay_rows[k],
				t->spec->source_region, st->table };

			rc = q.oom ?
			    sk_err_set(err, SK_ENOMEM, "flip: out of memory") :
			    sk_pg_execp(t->c, "flip: write the index rows", q.s,
				3, p, NULL, err);
		}
		move_str_fini(&q);
	}
	return rc;
}

typedef struct flip_arg {
	move_target *t;
	const Skein__V1__MoveReply *stay;
	const move_run *r;
	bool commit;
} flip_arg;

static int
flip_once(void *arg, sk_err *err)
{
	move_target *t = ((flip_arg *)arg)->t;
	const Skein__V1__MoveReply *stay = ((flip_arg *)arg)->stay;
	const move_run *r = ((flip_arg *)arg)->r;
	const sk_move_tenant *m = t->spec->m;
	move_str q = { 0 };
	int rc;

	rc = sk_pg_exec(t->c, "flip the target",
	    "BEGIN; " MOVE_DDL_LOCK_TIMEOUT "; SET LOCAL client_min_messages = "
	    "warning",
	    NULL, err);
	if (rc == SK_OK)
		rc = sk_pg_exec(t->c, "flip the target", t->set_move, NULL, err);
	if (rc == SK_OK && m->route_target != NULL)
		rc = sk_pg_exec(t->c, "flip the target: route.target",
		    m->route_target, NULL, err);
	if (rc == SK_OK && m->event_table != NULL) {
		const char *p[6] = { m->event_type, m->value, m->column,
			t->spec->source_region, t->spec->target_region,
			t->spec->move_id };

		move_str_add(&q, "INSERT INTO ");
		move_str_ident(&q, m->event_table, true);
		move_str_add(&q,
		    " (event_type, payload) VALUES ($1, "
		    "pg_catalog.jsonb_build_object('tenant', $2::text, "
		    "'column', $3::text, 'from', $4::text, 'to', $5::text, "
		    "'move_id', $6::text))");
		rc = q.oom ? sk_err_set(err, SK_ENOMEM, "flip: out of memory") :
			     sk_pg_execp(t->c, "flip the target: write the event",
				 q.s, 6, p, NULL, err);
		move_str_fini(&q);
	}
	if (rc == SK_OK)
		rc = bump_sequences(t, err);
	if (rc == SK_OK)
		rc = stay_rows(t, stay, err);
	if (rc == SK_OK) {
		guard_sql(t, &q, false);
		rc = q.oom ? sk_err_set(err, SK_ENOMEM, "flip: out of memory") :
			     sk_pg_exec(t->c, "flip the target: drop the guard",
				 q.s, NULL, err);
		move_str_fini(&q);
	}
	if (rc == SK_OK && r->in_flip != NULL)
		rc = r->in_flip(r->in_flip_arg, t->c, err);
	if (rc == SK_OK) {
		const char *p[1] = { t->spec->move_id };

		rc = sk_pg_execp(t->c, "flip the target",
		    "UPDATE skein.moves SET state = 'done', updated_at = "
		    "pg_catalog.now() WHERE move_id = $1",
		    1, p, NULL, err);
	}
	if (rc == SK_OK && ((flip_arg *)arg)->commit)
		rc = sk_pg_exec(t->c, "flip the target", "COMMIT", NULL, err);
	if (rc != SK_OK)
		rollback(t->c);
	return rc;
}

static int
abort_once(void *arg, sk_err *err)
{
	move_target *t = arg;
	const char *p[1] = { t->spec->move_id };
	move_str q = { 0 };
	int rc;

	move_target_rollback(t);
	move_str_addf(&q,
	    "BEGIN; " MOVE_DDL_LOCK_TIMEOUT
	    "; SET LOCAL client_min_messages = warning; %s;\n",
	    t->set_move);
	delete_sql(t, &q);
	guard_sql(t, &q, false);
	if (q.oom) {
		move_str_fini(&q);
		return sk_err_set(err, SK_ENOMEM, "abort in the target: out of memory");
	}
	rc = sk_pg_exec(t->c, "abort the move in the target", q.s, NULL, err);
	move_str_fini(&q);
	if (rc == SK_OK)
		rc = sk_pg_execp(t->c, "abort the move in the target",
		    "UPDATE skein.moves SET state = 'aborted', updated_at = "
		    "pg_catalog.now() WHERE move_id = $1",
		    1, p, NULL, err);
	if (rc == SK_OK)
		rc = sk_pg_exec(
		    t->c, "abort the move in the target", "COMMIT", NULL, err);
	if (rc != SK_OK)
		rollback(t->c);
	return rc;
}

int
move_target_begin(move_target *t, sk_err *err)
{
	return move_ddl_retry(begin_once, t, err);
}

int
move_target_abort(move_target *t, sk_err *err)
{
	return move_ddl_retry(abort_once, t, err);
}

int
move_target_flip(move_target *t, const Skein__V1__MoveReply *stay,
    const move_run *r, sk_err *err)
{
	flip_arg a = { t, stay, r, true };

	return move_ddl_retry(flip_once, &a, err);
}

int
move_target_flip_prepare(move_target *t, const Skein__V1__MoveReply *stay,
    const move_run *r, sk_err *err)
{
	flip_arg a = { t, stay, r, false };

	return flip_once(&a, err);
}

int
move_target_flip_commit(move_target *t, sk_err *err)
{
	int rc = sk_pg_exec(t->c, "flip the target", "COMMIT", NULL, err);

	if (rc != SK_OK)
		rollback(t->c);
	return rc;
}

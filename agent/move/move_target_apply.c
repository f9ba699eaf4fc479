/* move_target_apply: the target side's change pages (upserts and deletes
 * by primary key from the rows' JSON images, one transaction a page,
 * the position recorded with it) and its figures (counts and checksums,
 * full or over the keys applied since the verification point). Calls
 * move_target_db.c; nothing there calls back. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "move_int.h"
#include "sk_pg.h"
#include "sk_util.h"

/* The key columns as a text[] literal: {"a","b"}. */
static void
key_array(move_str *b, const Skein__V1__MoveTable *tbl)
{
	sk_strbuf_add(b, "{");
	for (size_t k = 0; k < tbl->n_key; k++) {
		sk_strbuf_add(b, k ? ",\"" : "\"");
		sk_strbuf_add(b, tbl->key[k]);
		sk_strbuf_add(b, "\"");
	}
	sk_strbuf_add(b, "}");
}

/* "(k1, k2) = (SELECT r.k1, r.k2 FROM jsonb_populate_record(NULL::t, $n) r)" */
static void
key_match(move_str *q, const Skein__V1__MoveTable *tbl, int param)
{
	sk_strbuf_add(q, "(");
	for (size_t k = 0; k < tbl->n_key; k++) {
		sk_strbuf_add(q, k ? ", " : "");
		move_str_ident(q, tbl->key[k], false);
	}
	sk_strbuf_add(q, ") = (SELECT ");
	for (size_t k = 0; k < tbl->n_key; k++) {
		sk_strbuf_add(q, k ? ", r." : "r.");
		move_str_ident(q, tbl->key[k], false);
	}
	sk_strbuf_add(q, " FROM pg_catalog.jsonb_populate_record(NULL::");
	move_str_ident(q, tbl->name, true);
	sk_strbuf_addf(q, ", $%d::jsonb) r)", param);
}

/* The upsert of the row image $1 when its tenant is $2. */
static void
upsert_sql(move_str *q, const Skein__V1__MoveTable *tbl, const char *column)
{
	bool first = true, any = false;

	sk_strbuf_add(q, "INSERT INTO ");
	move_str_ident(q, tbl->name, true);
	sk_strbuf_add(q, " AS t (");
	for (size_t i = 0; i < tbl->n_columns; i++) {
		if (tbl->columns[i]->generated)
			continue;
		sk_strbuf_add(q, first ? "" : ", ");
		move_str_ident(q, tbl->columns[i]->name, false);
		first = false;
	}
	sk_strbuf_add(q, ") OVERRIDING SYSTEM VALUE SELECT ");
	first = true;
	for (size_t i = 0; i < tbl->n_columns; i++) {
		if (tbl->columns[i]->generated)
			continue;
		sk_strbuf_add(q, first ? "r." : ", r.");
		move_str_ident(q, tbl->columns[i]->name, false);
		first = false;
	}
	sk_strbuf_add(q, " FROM pg_catalog.jsonb_populate_record(NULL::");
	move_str_ident(q, tbl->name, true);
	sk_strbuf_add(q, ", $1::jsonb) r WHERE r.");
	move_str_ident(q, column, false);
	sk_strbuf_add(q, " = $2 ON CONFLICT (");
	for (size_t k = 0; k < tbl->n_key; k++) {
		sk_strbuf_add(q, k ? ", " : "");
		move_str_ident(q, tbl->key[k], false);
	}
	sk_strbuf_add(q, ") DO UPDATE SET ");
	for (size_t i = 0; i < tbl->n_columns; i++) {
		const Skein__V1__MoveColumn *c = tbl->columns[i];
		bool key = false;

		for (size_t k = 0; k < tbl->n_key; k++)
			key = key || strcmp(tbl->key[k], c->name) == 0;
		if (key || c->generated || c->identity_always)
			continue;
		sk_strbuf_add(q, any ? ", " : "");
		move_str_ident(q, c->name, false);
		sk_strbuf_add(q, " = EXCLUDED.");
		move_str_ident(q, c->name, false);
		any = true;
	}
	if (!any) {
		/* Every column is part of the key: nothing to update. */
		q->len -= strlen(" DO UPDATE SET ");
		q->s[q->len] = '\0';
		sk_strbuf_add(q, " DO NOTHING");
	}
}

static int
apply_one(move_target *t, const Skein__V1__MoveChange *ch, bool track, sk_err *err)
{
	const Skein__V1__MoveTable *tbl = move_target_find_table(t, ch->table);
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

		sk_strbuf_add(&q, "DELETE FROM ");
		move_str_ident(&q, tbl->name, true);
		sk_strbuf_add(&q, " WHERE ");
		key_match(&q, tbl, 1);
		if (ch->op[0] == 'U') {
			/* Only when the row left the tenant or changed key:
			 * otherwise the upsert below replaces it. */
			sk_strbuf_add(&q, " AND ($2::jsonb ->> ");
			move_str_lit(&q, t->spec->m->column);
			sk_strbuf_add(&q,
			    " IS DISTINCT FROM $3::text OR $1::jsonb IS "
			    "DISTINCT FROM (SELECT pg_catalog."
			    "jsonb_object_agg(c, $2::jsonb -> c) FROM "
			    "pg_catalog.jsonb_object_keys($1::jsonb) c))");
		}
		rc = q.oom ? sk_err_set(err, SK_ENOMEM, "%s: out of memory", what) :
			     sk_pg_execp(t->c, what, q.s,
				 ch->op[0] == 'U' ? 3 : 1, p, NULL, err);
		sk_strbuf_fini(&q);
	}
	if (rc == SK_OK && (ch->op[0] == 'I' || ch->op[0] == 'U')) {
		const char *p[2] = { new_row, value };

		upsert_sql(&q, tbl, t->spec->m->column);
		rc = q.oom ? sk_err_set(err, SK_ENOMEM, "%s: out of memory", what) :
			     sk_pg_execp(t->c, what, q.s, 2, p, NULL, err);
		sk_strbuf_fini(&q);
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
		sk_strbuf_fini(&q);
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
		sk_pg_rollback(t->c);
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
	if (rc == SK_OK) { /* in the freeze: cut at its end */
		char cut[MOVE_FREEZE_SQL_MAX];

		rc = move_freeze_timeout_sql(t->deadline_ms, cut, sizeof(cut), err);
		if (rc == SK_OK && cut[0] != '\0')
			rc = sk_pg_exec(t->c, "checksum the target", cut, NULL, err);
	}
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
		sk_strbuf_fini(&q);
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
	sk_pg_rollback(t->c);
	for (size_t i = 0; i < ms.n_tables; i++) {
		free(ms.tables[i]->table);
		free(ms.tables[i]);
	}
	free(ms.tables);
	return rc;
}

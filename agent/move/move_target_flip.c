/* move_target_flip: the end of a move in the target: the flip
 * (route.target, the event, the staying rows' index, the sequences past
 * the copied ids, the guard's removal, the step's checks and ledger row)
 * and the abort's cleanup (the tenant's rows deleted, children first).
 * Calls move_target_db.c; nothing there calls back. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "move_int.h"
#include "sk_pg.h"
#include "sk_util.h"

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

			sk_strbuf_add(&q,
			    "SELECT pg_catalog.setval($1::regclass, m) "
			    "FROM (SELECT pg_catalog.max(");
			move_str_ident(&q, PQgetvalue(res, r, 0), false);
			sk_strbuf_add(&q, ")::bigint AS m FROM ");
			move_str_ident(&q, name, true);
			sk_strbuf_add(&q,
			    ") x WHERE m > coalesce(pg_catalog."
			    "pg_sequence_last_value($1::regclass), 0)");
			rc = q.oom ?
			    sk_err_set(err, SK_ENOMEM, "flip: out of memory") :
			    sk_pg_execp(t->c, "flip: advance the sequences",
				q.s, 1, sp, NULL, err);
			sk_strbuf_fini(&q);
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

		sk_strbuf_add(&q, "INSERT INTO ");
		move_str_ident(&q, st->index_table, true);
		sk_strbuf_add(&q, " (");
		for (size_t c = 0; c < st->nindex_columns; c++) {
			move_str_ident(&q, st->index_columns[c], false);
			sk_strbuf_add(&q, ", ");
		}
		sk_strbuf_add(&q, "original_region) SELECT ");
		for (size_t c = 0; c < st->nindex_columns; c++) {
			sk_strbuf_add(&q, "r.");
			move_str_ident(&q, st->index_columns[c], false);
			sk_strbuf_add(&q, ", ");
		}
		sk_strbuf_add(&q, "$2 FROM pg_catalog.jsonb_populate_record(NULL::");
		move_str_ident(&q, st->index_table, true);
		sk_strbuf_add(&q,
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
		sk_strbuf_fini(&q);
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
	if (rc == SK_OK) { /* prepared in the freeze: cut at its end */
		char cut[MOVE_FREEZE_SQL_MAX];

		rc = move_freeze_timeout_sql(t->deadline_ms, cut, sizeof(cut), err);
		if (rc == SK_OK && cut[0] != '\0')
			rc = sk_pg_exec(t->c, "flip the target", cut, NULL, err);
	}
	if (rc == SK_OK)
		rc = sk_pg_exec(t->c, "flip the target", t->set_move, NULL, err);
	if (rc == SK_OK && m->route_target != NULL)
		rc = sk_pg_exec(t->c, "flip the target: route.target",
		    m->route_target, NULL, err);
	if (rc == SK_OK && m->event_table != NULL) {
		const char *p[6] = { m->event_type, m->value, m->column,
			t->spec->source_region, t->spec->target_region,
			t->spec->move_id };

		sk_strbuf_add(&q, "INSERT INTO ");
		move_str_ident(&q, m->event_table, true);
		sk_strbuf_add(&q,
		    " (event_type, payload) VALUES ($1, "
		    "pg_catalog.jsonb_build_object('tenant', $2::text, "
		    "'column', $3::text, 'from', $4::text, 'to', $5::text, "
		    "'move_id', $6::text))");
		rc = q.oom ? sk_err_set(err, SK_ENOMEM, "flip: out of memory") :
			     sk_pg_execp(t->c, "flip the target: write the event",
				 q.s, 6, p, NULL, err);
		sk_strbuf_fini(&q);
	}
	if (rc == SK_OK)
		rc = bump_sequences(t, err);
	if (rc == SK_OK)
		rc = stay_rows(t, stay, err);
	if (rc == SK_OK) {
		move_target_guard_sql(t, &q, false);
		rc = q.oom ? sk_err_set(err, SK_ENOMEM, "flip: out of memory") :
			     sk_pg_exec(t->c, "flip the target: drop the guard",
				 q.s, NULL, err);
		sk_strbuf_fini(&q);
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
	if (rc == SK_OK && t->spec->undo_id != NULL) {
		const char *p[1] = { t->spec->undo_id };

		rc = sk_pg_execp(t->c, "flip the target: the undone move",
		    "UPDATE skein.moves SET state = 'undone', updated_at = "
		    "pg_catalog.now() WHERE move_id = $1 AND role = 'source'",
		    1, p, NULL, err);
	}
	if (rc == SK_OK && ((flip_arg *)arg)->commit)
		rc = sk_pg_exec(t->c, "flip the target", "COMMIT", NULL, err);
	if (rc != SK_OK)
		sk_pg_rollback(t->c);
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
	sk_strbuf_addf(&q,
	    "BEGIN; " MOVE_DDL_LOCK_TIMEOUT
	    "; SET LOCAL client_min_messages = warning; %s;\n",
	    t->set_move);
	move_target_delete_sql(t, &q);
	/* A move back keeps its guard: the tenant lives in the other region,
	 * and the undone move's guard, which refused its writes here, is
	 * gone. */
	if (t->spec->undo_id == NULL)
		move_target_guard_sql(t, &q, false);
	if (q.oom) {
		sk_strbuf_fini(&q);
		return sk_err_set(err, SK_ENOMEM, "abort in the target: out of memory");
	}
	rc = sk_pg_exec(t->c, "abort the move in the target", q.s, NULL, err);
	sk_strbuf_fini(&q);
	if (rc == SK_OK)
		rc = sk_pg_execp(t->c, "abort the move in the target",
		    "UPDATE skein.moves SET state = 'aborted', updated_at = "
		    "pg_catalog.now() WHERE move_id = $1",
		    1, p, NULL, err);
	if (rc == SK_OK)
		rc = sk_pg_exec(
		    t->c, "abort the move in the target", "COMMIT", NULL, err);
	if (rc != SK_OK)
		sk_pg_rollback(t->c);
	return rc;
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
		sk_pg_rollback(t->c);
	return rc;
}

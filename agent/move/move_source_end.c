/* move_source_end: the source side's end of a move, in process: the
 * freeze, the commit point (fence, moved marker, route.source), the
 * unfreeze, the capture's removal, and the ops table move_local_open
 * hands out (with the drain hook). Calls move_source_db.c; nothing there
 * calls back. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_ledger.h"
#include "move_int.h"
#include "sk_pg.h"
#include "sk_util.h"

static int
src_freeze(void *arg, int64_t timeout_ms, sk_err *err)
{
	move_src *s = arg;
	char sql[160];
	int64_t t0;
	int rc;

	if (s->frz == NULL) {
		rc = move_src_connect(s->conninfo, "skein-move-freeze", &s->frz, err);
		if (rc != SK_OK)
			return rc;
	}
	sk_pg_rollback(s->frz);
	snprintf(sql, sizeof(sql),
	    "BEGIN; SET LOCAL lock_timeout = %" PRId64
	    "; SELECT pg_catalog.pg_advisory_xact_lock(%d, %d)",
	    timeout_ms > 0 ? timeout_ms : 1, (int)s->nm.k1, (int)s->nm.k2);
	t0 = sk_mono_ms();
	rc = sk_pg_exec(s->frz, "freeze the tenant's writes", sql, NULL, err);
	if (rc == SK_OK)
		s->freeze_until_ms = t0 + (timeout_ms > 0 ? timeout_ms : 1);
	if (rc != SK_OK) {
		sk_pg_rollback(s->frz);
		if (strcmp(err->sqlstate, "55P03") == 0)
			return sk_err_set(err, SK_ETIMEOUT,
			    "freeze the tenant's writes: the writers did not "
			    "finish within %" PRId64 " ms",
			    timeout_ms);
	}
	return rc;
}

static int
src_commit(void *arg, sk_err *err)
{
	move_src *s = arg;
	const char *p[1] = { s->spec->move_id };
	char sql[160];
	int rc;

	if (s->frz == NULL || PQtransactionStatus(s->frz) != PQTRANS_INTRANS)
		return sk_err_set(err, SK_ESTATE, "commit the move: not frozen");
	s->freeze_until_ms = 0; /* the commit point is not cut short */
	rc = sk_pg_execp(s->frz, "commit the move",
	    "UPDATE skein.moves SET state = 'moved', updated_at = "
	    "pg_catalog.now() WHERE move_id = $1",
	    1, p, NULL, err);
	if (rc == SK_OK && s->spec->m->route_source != NULL)
		rc = sk_pg_exec(s->frz, "commit the move: route.source",
		    s->spec->m->route_source, NULL, err);
	/* A move back: the move it undoes, whose target this was, is no
	 * longer in force here (a later run of it finds no "done"). */
	if (rc == SK_OK && s->spec->undo_id != NULL) {
		const char *u[1] = { s->spec->undo_id };

		rc = sk_pg_execp(s->frz, "commit the move: the undone move",
		    "UPDATE skein.moves SET state = 'undone', updated_at = "
		    "pg_catalog.now() WHERE move_id = $1 AND role = 'target'",
		    1, u, NULL, err);
	}
	if (rc != SK_OK) {
		sk_pg_rollback(s->frz);
		return rc;
	}
	/* Last before COMMIT: setval takes effect at once, not at commit. The
	 * writers cannot look before the lock is released; should the COMMIT
	 * fail, the fence is put back. */
	snprintf(sql, sizeof(sql), "SELECT pg_catalog.setval('%s', 1, true)",
	    s->nm.fence);
	rc = sk_pg_exec(s->frz, "commit the move: set the fence", sql, NULL, err);
	if (rc == SK_OK)
		rc = sk_pg_exec(s->frz, "commit the move", "COMMIT", NULL, err);
	if (rc != SK_OK) {
		sk_err keep;

		sk_pg_rollback(s->frz);
		snprintf(sql, sizeof(sql),
		    "SELECT pg_catalog.setval('%s', 0, true)", s->nm.fence);
		if (sk_pg_exec(s->c, "reset the fence", sql, NULL, &keep) != SK_OK)
			sk_err_wrap(err,
			    "and the fence could not be reset (%s)", keep.msg);
	}
	return rc;
}

static int
src_unfreeze(void *arg, sk_err *err)
{
	move_src *s = arg;

	(void)err;
	s->freeze_until_ms = 0;
	sk_pg_rollback(s->frz);
	return SK_OK;
}

typedef struct finish_arg {
	move_src *s;
	bool aborted;
} finish_arg;

static int
finish_once(void *arg, sk_err *err)
{
	move_src *s = ((finish_arg *)arg)->s;
	bool aborted = ((finish_arg *)arg)->aborted;
	const char *p[2] = { s->spec->move_id, aborted ? "aborted" : "moved" };
	static const char *const sfx[3] = { "i", "u", "d" };
	PGresult *res = NULL;
	move_str q = { 0 };
	int rc;

	rc = move_src_need_desc(s, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_pg_exec(s->c, "finish the move in the source",
	    "BEGIN; " MOVE_DDL_LOCK_TIMEOUT "; "
	    "SET LOCAL client_min_messages = warning",
	    NULL, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_pg_execp(s->c, "finish the move in the source",
	    "SELECT state FROM skein.moves WHERE move_id = $1 FOR UPDATE", 1, p,
	    &res, err);
	if (rc != SK_OK)
		goto out;
	if (aborted && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "moved") == 0) {
		rc = sk_err_set(err, SK_EDRIFT,
		    "abort the move in the source: it passed its commit point");
		goto out;
	}
	for (size_t i = 0; i < s->d->n_tables; i++) {
		const char *t = s->d->tables[i]->name;

		for (int o = 0; o < 3; o++) {
			sk_strbuf_addf(&q, "DROP TRIGGER IF EXISTS %s_%s ON ",
			    s->nm.capture, sfx[o]);
			move_str_ident(&q, t, true);
			sk_strbuf_add(&q, ";\n");
			if (!aborted)
				continue;
			sk_strbuf_addf(&q, "DROP TRIGGER IF EXISTS %s_%s ON ",
			    s->nm.guard, sfx[o]);
			move_str_ident(&q, t, true);
			sk_strbuf_add(&q, ";\n");
		}
		sk_strbuf_addf(&q, "DROP TRIGGER IF EXISTS %s ON ", s->nm.truncate);
		move_str_ident(&q, t, true);
		sk_strbuf_add(&q, ";\n");
	}
	/* The guard stays after a move and reads the fence: only an aborted
	 * move drops it. */
	if (aborted)
		sk_strbuf_addf(&q, "DROP SEQUENCE IF EXISTS %s;\n", s->nm.fence);
	if (q.oom) {
		rc = sk_err_set(err, SK_ENOMEM, "finish the move: out of memory");
		goto out;
	}
	rc = sk_pg_exec(s->c, "finish the move in the source", q.s, NULL, err);
	if (rc != SK_OK)
		goto out;
	rc = sk_pg_execp(s->c, "finish the move in the source",
	    "DELETE FROM skein.move_changes WHERE move_id = $1", 1, p, NULL, err);
	if (rc != SK_OK)
		goto out;
	rc = sk_pg_execp(s->c, "finish the move in the source",
	    "UPDATE skein.moves SET state = $2, updated_at = pg_catalog.now() "
	    "WHERE move_id = $1",
	    2, p, NULL, err);
	if (rc != SK_OK)
		goto out;
	rc = sk_pg_exec(s->c, "finish the move in the source", "COMMIT", NULL, err);
out:
	PQclear(res);
	sk_strbuf_fini(&q);
	sk_pg_rollback(s->c);
	return rc;
}

static int
src_finish(void *arg, bool aborted, sk_err *err)
{
	finish_arg a = { arg, aborted };

	return move_ddl_retry(finish_once, &a, err);
}

static void
src_close(void *arg)
{
	move_src *s = arg;

	if (s == NULL)
		return;
	if (s->snap != NULL)
		PQfinish(s->snap);
	if (s->frz != NULL)
		PQfinish(s->frz);
	if (s->c != NULL)
		PQfinish(s->c);
	move_reply_free(s->d);
	free(s->conninfo);
	free(s);
}

static int
src_drain(void *arg, sk_err *err)
{
	move_src *s = arg;

	return s->drain != NULL ? s->drain(s->drain_arg, s->spec, err) : SK_OK;
}

void
move_local_set_drain(void *arg,
    int (*drain)(void *arg, const move_spec *spec, sk_err *err), void *drain_arg)
{
	move_src *s = arg;

	s->drain = drain;
	s->drain_arg = drain_arg;
}

static const move_source_ops local_ops;

/* A worker in process: a connection of its own, in the exported
 * snapshot. */
static int
src_worker(void *arg, const char *exported, const move_source_ops **ops,
    void **worker_arg, sk_err *err)
{
	move_src *s = arg, *w;
	int rc;

	*ops = NULL;
	*worker_arg = NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL || (w->conninfo = sk_strdup(s->conninfo)) == NULL) {
		free(w);
		return sk_err_set(err, SK_ENOMEM,
		    "open a copy worker's source: out of memory");
	}
	w->spec = s->spec;
	w->key = s->key;
	memcpy(w->region, s->region, sizeof(w->region));
	w->nm = s->nm;
	rc = move_src_connect(w->conninfo, "skein-move-copy", &w->c, err);
	if (rc == SK_OK)
		rc = move_src_import(w, exported, err);
	if (rc != SK_OK) {
		src_close(w);
		return rc;
	}
	*ops = &local_ops;
	*worker_arg = w;
	return SK_OK;
}

static const move_source_ops local_ops = {
	.describe = move_src_describe,
	.capture = move_src_capture,
	.snapshot = move_src_snapshot,
	.copy = move_src_copy,
	.snapshot_end = move_src_snapshot_end,
	.position = move_src_position,
	.changes = move_src_changes,
	.stay = move_src_stay,
	.freeze = src_freeze,
	.commit = src_commit,
	.unfreeze = src_unfreeze,
	.finish = src_finish,
	.close = src_close,
	.drain = src_drain,
	.worker = src_worker,
	.import = move_src_import,
};

int
move_local_open(const char *conninfo, const move_spec *spec, const char *region,
    const sk_seckey *key, const move_source_ops **ops, void **arg, sk_err *err)
{
	move_src *s;
	int rc;

	*ops = NULL;
	*arg = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->conninfo = sk_strdup(conninfo)) == NULL) {
		free(s);
		return sk_err_set(
		    err, SK_ENOMEM, "open the move's source: out of memory");
	}
	s->spec = spec;
	s->key = key;
	snprintf(s->region, sizeof(s->region), "%s", region != NULL ? region : "");
	move_names_init(&s->nm, spec->move_id);
	rc = move_src_connect(conninfo, "skein-move-source", &s->c, err);
	if (rc == SK_OK)
		rc = agent_ledger_ensure(s->c, NULL, err);
	if (rc != SK_OK) {
		sk_err_wrap(err, "open the move's source");
		src_close(s);
		return rc;
	}
	*ops = &local_ops;
	*arg = s;
	return SK_OK;
}

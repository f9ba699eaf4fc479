/* move_source_db: the source side of a move, in process (move_local_open,
 * in move_source_end.c with the freeze and the commit point): the
 * description, the capture triggers, the copy snapshot, positions and
 * checksums, the change pages and the staying rows, over connections of
 * its own to the source database. move_serve answers the link with it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_ledger.h"
#include "move_int.h"
#include "sk_pg.h"
#include "sk_util.h"

/* A connection of the move's source. Its queries (the counts, the
 * figures, the copy) run without parallel workers: the move is
 * background work beside the application's, and takes one core of the
 * source's host at a time, never the spare ones the application's
 * queries would have had. */
int
move_src_connect(const char *conninfo, const char *appname, PGconn **out, sk_err *err)
{
	int rc = sk_pg_connect(conninfo, appname, out, err);

	if (rc == SK_OK)
		rc = sk_pg_exec(*out, "open the move's source",
		    "SET max_parallel_workers_per_gather = 0", NULL, err);
	if (rc != SK_OK && *out != NULL) {
		PQfinish(*out);
		*out = NULL;
	}
	return rc;
}

int
move_src_need_desc(move_src *s, sk_err *err)
{
	if (s->d != NULL)
		return SK_OK;
	return move_describe_db(s->c, s->spec->m, false, "source", &s->d, err);
}

static const Skein__V1__MoveTable *
find_table(const move_src *s, const char *name)
{
	for (size_t i = 0; s->d != NULL && i < s->d->n_tables; i++)
		if (strcmp(s->d->tables[i]->name, name) == 0)
			return s->d->tables[i];
	return NULL;
}

int
move_src_describe(void *arg, Skein__V1__MoveDescription **out, sk_err *err)
{
	move_src *s = arg;
	const sk_move_tenant *m = s->spec->m;
	Skein__V1__MoveDescription *d = NULL;
	int rc;

	*out = NULL;
	rc = move_describe_db(s->c, m, true, "source", &d, err);
	if (rc != SK_OK)
		return rc;
	if (m->nstay > 0) {
		d->stay = calloc(m->nstay, sizeof(*d->stay));
		for (size_t i = 0; d->stay != NULL && i < m->nstay; i++) {
			Skein__V1__MoveTable *t = calloc(1, sizeof(*t));

			if (t == NULL)
				break;
			skein__v1__move_table__init(t);
			t->name = sk_strdup(m->stay[i].table);
			d->stay[d->n_stay++] = t;
		}
	}
	*out = d;
	return SK_OK;
}

/* Append "CREATE TRIGGER name_sfx <when> ON t FOR EACH ROW WHEN (...)
 * EXECUTE FUNCTION fn(args)" for op I, U or D. */
static void
row_trigger(move_str *q, const char *name, const char *sfx, const char *when,
    char op, const char *table, const char *column, const char *value,
    const char *fn, const char *args)
{
	const char *img = op == 'I' ? "NEW" : "OLD";

	sk_strbuf_addf(q, "DROP TRIGGER IF EXISTS %s_%s ON ", name, sfx);
	move_str_ident(q, table, true);
	sk_strbuf_addf(q, ";\nCREATE TRIGGER %s_%s %s %s ON ", name, sfx, when,
	    op == 'I'     ? "INSERT" :
		op == 'U' ? "UPDATE" :
			    "DELETE");
	move_str_ident(q, table, true);
	sk_strbuf_addf(q, " FOR EACH ROW WHEN (%s.", img);
	move_str_ident(q, column, false);
	sk_strbuf_add(q, " = ");
	move_str_lit(q, value);
	if (op == 'U') {
		sk_strbuf_add(q, " OR NEW.");
		move_str_ident(q, column, false);
		sk_strbuf_add(q, " = ");
		move_str_lit(q, value);
	}
	sk_strbuf_addf(q, ") EXECUTE FUNCTION %s(%s);\n", fn, args);
}

/* "a,b": the key columns, for the capture trigger's argument. */
static void
key_list(move_str *b, const Skein__V1__MoveTable *t)
{
	move_str k = { 0 };

	for (size_t i = 0; i < t->n_key; i++) {
		sk_strbuf_add(&k, i ? "," : "");
		sk_strbuf_add(&k, t->key[i]);
	}
	move_str_lit(b, k.s != NULL ? k.s : "");
	sk_strbuf_fini(&k);
}

static int
capture_once(void *arg, sk_err *err)
{
	move_src *s = arg;
	const sk_move_tenant *m = s->spec->m;
	const char *p[6] = { s->spec->move_id, m->column, m->value,
		s->spec->source_region, s->spec->target_region, NULL };
	static const char ops[3] = { 'I', 'U', 'D' };
	static const char *const sfx_c[3] = { "i", "u", "d" };
	PGresult *res = NULL;
	move_str q = { 0 }, ca = { 0 }, ga = { 0 }, ta = { 0 };
	int rc;

	rc = move_src_need_desc(s, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_pg_exec(s->c, "install change capture",
	    "BEGIN; " MOVE_DDL_LOCK_TIMEOUT "; "
	    "SET LOCAL client_min_messages = warning",
	    NULL, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_pg_execp(s->c, "install change capture",
	    "SELECT state FROM skein.moves WHERE move_id = $1 FOR UPDATE", 1, p,
	    &res, err);
	if (rc != SK_OK)
		goto out;
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "moved") == 0) {
		rc = sk_err_set(err, SK_EDRIFT,
		    "install change capture: move %s already passed its commit point",
		    s->spec->move_id);
		goto out;
	}
	sk_strbuf_addf(&q,
	    "CREATE SEQUENCE IF NOT EXISTS %s MINVALUE 0 START 0;\n"
	    "SELECT pg_catalog.setval('%s', 0, true);\n",
	    s->nm.fence, s->nm.fence);
	/* guard: lock keys, fence, tenant, region */
	sk_strbuf_addf(&ga, "'%d', '%d', '%s', ", (int)s->nm.k1, (int)s->nm.k2,
	    s->nm.fence);
	move_str_lit(&ga, m->value);
	sk_strbuf_add(&ga, ", ");
	move_str_lit(&ga, s->spec->target_region);
	move_str_lit(&ta, m->value);
	for (size_t i = 0; i < s->d->n_tables; i++) {
		const Skein__V1__MoveTable *t = s->d->tables[i];

		sk_strbuf_fini(&ca);
		move_str_lit(&ca, s->spec->move_id);
		sk_strbuf_add(&ca, ", ");
		key_list(&ca, t);
		for (int o = 0; o < 3; o++) {
			row_trigger(&q, s->nm.capture, sfx_c[o], "AFTER",
			    ops[o], t->name, m->column, m->value,
			    "skein.move_capture", ca.s);
			row_trigger(&q, s->nm.guard, sfx_c[o], "BEFORE", ops[o],
			    t->name, m->column, m->value, "skein.move_guard", ga.s);
		}
		sk_strbuf_addf(&q, "DROP TRIGGER IF EXISTS %s ON ", s->nm.truncate);
		move_str_ident(&q, t->name, true);
		sk_strbuf_addf(&q, ";\nCREATE TRIGGER %s BEFORE TRUNCATE ON ",
		    s->nm.truncate);
		move_str_ident(&q, t->name, true);
		sk_strbuf_addf(&q,
		    " FOR EACH STATEMENT EXECUTE FUNCTION "
		    "skein.move_truncate_guard(%s);\n",
		    ta.s);
	}
	if (q.oom || ca.oom || ga.oom || ta.oom) {
		rc = sk_err_set(err, SK_ENOMEM, "install change capture: out of memory");
		goto out;
	}
	rc = sk_pg_exec(s->c, "install change capture", q.s, NULL, err);
	if (rc != SK_OK)
		goto out;
	rc = sk_pg_execp(s->c, "install change capture",
	    "INSERT INTO skein.moves (move_id, role, tenant_column, tenant_value, "
	    "from_region, to_region, state) VALUES ($1, 'source', $2, $3, $4, $5, "
	    "'capture') ON CONFLICT (move_id) DO UPDATE SET state = 'capture', "
	    "updated_at = pg_catalog.now()",
	    5, p, NULL, err);
	if (rc != SK_OK)
		goto out;
	rc = sk_pg_exec(s->c, "install change capture", "COMMIT", NULL, err);
out:
	PQclear(res);
	sk_strbuf_fini(&q);
	sk_strbuf_fini(&ca);
	sk_strbuf_fini(&ga);
	sk_strbuf_fini(&ta);
	sk_pg_rollback(s->c);
	return rc;
}

int
move_src_snapshot(void *arg, char **snapshot, char **exported, sk_err *err)
{
	move_src *s = arg;
	PGresult *res = NULL;
	int rc;

	*snapshot = NULL;
	if (exported != NULL)
		*exported = NULL;
	if (s->snap == NULL) {
		rc = move_src_connect(s->conninfo, "skein-move-copy", &s->snap, err);
		if (rc != SK_OK)
			return rc;
	}
	sk_pg_rollback(s->snap);
	/* Exported, the snapshot lives while this transaction is open: the
	 * workers import it before the copy's end closes it. */
	rc = sk_pg_exec(s->snap, "open the copy snapshot",
	    exported != NULL ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; "
			       "SELECT pg_catalog.pg_current_snapshot()::text, "
			       "pg_catalog.pg_export_snapshot()" :
			       "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; "
			       "SELECT pg_catalog.pg_current_snapshot()::text",
	    &res, err);
	if (rc != SK_OK)
		return rc;
	*snapshot = sk_strdup(PQgetvalue(res, 0, 0));
	if (exported != NULL && *snapshot != NULL &&
	    (*exported = sk_strdup(PQgetvalue(res, 0, 1))) == NULL) {
		free(*snapshot);
		*snapshot = NULL;
	}
	PQclear(res);
	if (*snapshot == NULL)
		return sk_err_set(
		    err, SK_ENOMEM, "open the copy snapshot: out of memory");
	return SK_OK;
}

int
move_src_import(void *arg, const char *exported, sk_err *err)
{
	move_src *s = arg;
	move_str q = { 0 };
	int rc;

	/* An exported snapshot's id is hex digits and dashes; anything else
	 * is not one (and never reaches SQL unquoted anyway). */
	if (exported == NULL || exported[0] == '\0' ||
	    strspn(exported, "0123456789ABCDEFabcdef-") != strlen(exported) ||
	    strlen(exported) > 64)
		return sk_err_set(err, SK_EINVAL,
		    "import the copy snapshot: \"%.70s\" is not a snapshot id",
		    exported != NULL ? exported : "");
	/* The worker's copies run on its one connection, in a transaction
	 * that sees exactly what the main copy's does. */
	sk_strbuf_add(&q,
	    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; "
	    "SET TRANSACTION SNAPSHOT ");
	move_str_lit(&q, exported);
	if (q.oom) {
		sk_strbuf_fini(&q);
		return sk_err_set(
		    err, SK_ENOMEM, "import the copy snapshot: out of memory");
	}
	sk_pg_rollback(s->c);
	rc = sk_pg_exec(s->c, "import the copy snapshot", q.s, NULL, err);
	sk_strbuf_fini(&q);
	if (rc != SK_OK)
		sk_pg_rollback(s->c);
	else
		s->worker = true;
	return rc;
}

/* Append "a, b" of t's columns that are not generated. */
static void
copy_cols(move_str *b, const Skein__V1__MoveTable *t)
{
	bool first = true;

	for (size_t i = 0; i < t->n_columns; i++) {
		if (t->columns[i]->generated)
			continue;
		sk_strbuf_add(b, first ? "" : ", ");
		move_str_ident(b, t->columns[i]->name, false);
		first = false;
	}
}

/* Ask the server to stop the statement running on c: a failed sink
 * should not have to read the rest of a large table. */
static void
cancel(PGconn *c)
{
	PGcancel *k = PQgetCancel(c);
	char buf[256];

	if (k == NULL)
		return;
	(void)PQcancel(k, buf, sizeof(buf));
	PQfreeCancel(k);
}

int
move_src_copy(void *arg, const char *table,
    int (*sink)(void *sink_arg, const uint8_t *data, size_t len, sk_err *err),
    void *sink_arg, int64_t *rows, sk_err *err)
{
	move_src *s = arg;
	const Skein__V1__MoveTable *t;
	PGconn *c;
	PGresult *res;
	move_str q = { 0 };
	char what[256], *buf;
	int rc, n, src_rc = SK_OK;

	*rows = 0;
	snprintf(what, sizeof(what), "copy %s from the source", table);
	rc = move_src_need_desc(s, err);
	if (rc != SK_OK)
		return rc;
	t = find_table(s, table);
	if (t == NULL)
		return sk_err_set(err, SK_ENOTFOUND, "%s: not a moved table", what);
	/* In the copy snapshot when one is open (the move), else as of now
	 * (a rehearsal's sample). */
	c = s->snap != NULL && PQtransactionStatus(s->snap) == PQTRANS_INTRANS ?
	    s->snap :
	    s->c;
	/* A worker copies in the snapshot it imported, or not at all. */
	if (s->worker && PQtransactionStatus(s->c) != PQTRANS_INTRANS)
		return sk_err_set(err, SK_ESTATE,
		    "%s: the worker's copy snapshot is gone", what);
	sk_strbuf_add(&q, "COPY (SELECT ");
	copy_cols(&q, t);
	sk_strbuf_add(&q, " FROM ");
	move_str_ident(&q, t->name, true);
	sk_strbuf_add(&q, " WHERE ");
	move_str_ident(&q, s->spec->m->column, false);
	sk_strbuf_add(&q, " = ");
	move_str_lit(&q, s->spec->m->value);
	sk_strbuf_add(&q, ") TO STDOUT (FORMAT binary)");
	if (q.oom) {
		sk_strbuf_fini(&q);
		return sk_err_set(err, SK_ENOMEM, "%s: out of memory", what);
	}
	res = PQexec(c, q.s);
	sk_strbuf_fini(&q);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		rc = sk_pg_error(err, c, res, what);
		PQclear(res);
		return rc;
	}
	PQclear(res);
	/* Drain to the end even when the sink failed: the connection must
	 * leave COPY mode to be usable again. */
	while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
		if (src_rc == SK_OK) {
			src_rc = sink(sink_arg, (const uint8_t *)buf, (size_t)n, err);
			if (src_rc != SK_OK)
				cancel(c);
		}
		PQfreemem(buf);
	}
	res = PQgetResult(c);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		sk_err cancelled;

		/* After a failed sink, the statement's error is our cancel:
		 * err keeps the sink's reason. */
		rc = sk_pg_error(src_rc != SK_OK ? &cancelled : err, c, res, what);
		PQclear(res);
		while ((res = PQgetResult(c)) != NULL)
			PQclear(res);
		return src_rc != SK_OK ? src_rc : rc;
	}
	*rows = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	while ((res = PQgetResult(c)) != NULL)
		PQclear(res);
	return src_rc;
}

int
move_src_snapshot_end(void *arg, sk_err *err)
{
	move_src *s = arg;

	if (s->snap == NULL || PQtransactionStatus(s->snap) == PQTRANS_IDLE)
		return SK_OK;
	return sk_pg_exec(s->snap, "close the copy snapshot", "COMMIT", NULL, err);
}

/* The changes visible in $2 (upto) and not in $3 (after) of move $1. A
 * change older than xmin(after) is visible in after: that bound only
 * prunes (through the (move_id, xid) index), pg_visible_in_snapshot
 * decides. */
#define VISIBLE                                                        \
"xid >= pg_catalog.pg_snapshot_xmin($3::pg_snapshot) AND "             \
    "pg_catalog.pg_visible_in_snapshot(xid, $2::pg_snapshot) AND NOT " \
    "pg_catalog.pg_visible_in_snapshot(xid, $3::pg_snapshot)"

static int
table_sums(move_src *s, const Skein__V1__MoveTable *t, const char *snap,
    const char *since, Skein__V1__MoveTableSum *ts, sk_err *err)
{
	const char *p[5] = { s->spec->move_id, snap, since, t->name, NULL };
	PGresult *res = NULL, *keys = NULL;
	move_str q = { 0 }, kl = { 0 };
	const char *sp[2];
	char what[256];
	int rc;

	snprintf(what, sizeof(what), "checksum %s in the source", t->name);
	if (since != NULL) {
		/* The keys changed since `since`, from the source's own change
		 * rows: the target derives its set from what it applied. */
		sk_strbuf_add(&kl, "{");
		for (size_t k = 0; k < t->n_key; k++) {
			sk_strbuf_add(&kl, k ? ",\"" : "\"");
			sk_strbuf_add(&kl, t->key[k]);
			sk_strbuf_add(&kl, "\"");
		}
		sk_strbuf_add(&kl, "}");
		p[4] = kl.s;
		rc = sk_pg_execp(s->c, what,
		    "SELECT coalesce(pg_catalog.jsonb_agg(DISTINCT k), '[]') FROM ("
		    "SELECT old_key AS k FROM skein.move_changes WHERE move_id = $1 "
		    "AND tbl = $4 AND old_key IS NOT NULL AND " VISIBLE " UNION ALL "
		    "SELECT (SELECT pg_catalog.jsonb_object_agg(c, new_row -> c) "
		    "FROM pg_catalog.unnest($5::text[]) AS c) FROM skein.move_changes "
		    "WHERE move_id = $1 AND tbl = $4 AND new_row IS NOT NULL AND " VISIBLE
		    ") AS s",
		    5, p, &keys, err);
		sk_strbuf_fini(&kl);
		if (rc != SK_OK)
			return rc;
	}
	move_sum_sql(&q, t, s->spec->m->column, since != NULL);
	if (q.oom) {
		PQclear(keys);
		return sk_err_set(err, SK_ENOMEM, "%s: out of memory", what);
	}
	sp[0] = s->spec->m->value;
	sp[1] = keys != NULL ? PQgetvalue(keys, 0, 0) : NULL;
	rc = sk_pg_execp(s->c, what, q.s, since != NULL ? 2 : 1, sp, &res, err);
	sk_strbuf_fini(&q);
	PQclear(keys);
	if (rc != SK_OK)
		return rc;
	ts->table = sk_strdup(t->name);
	ts->rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	ts->sum = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	ts->keys = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	return ts->table != NULL ?
	    SK_OK :
	    sk_err_set(err, SK_ENOMEM, "%s: out of memory", what);
}

int
move_src_position(void *arg, bool want_sums, const char *since, char **snapshot,
    Skein__V1__MoveSignedSums **sums, sk_err *err)
{
	move_src *s = arg;
	Skein__V1__MoveSums ms = SKEIN__V1__MOVE_SUMS__INIT;
	PGresult *res = NULL;
	char *snap = NULL, cut[MOVE_FREEZE_SQL_MAX];
	int rc;

	*snapshot = NULL;
	if (sums != NULL)
		*sums = NULL;
	rc = move_src_need_desc(s, err);
	if (rc == SK_OK)
		rc = move_freeze_timeout_sql(s->freeze_until_ms, cut, sizeof(cut), err);
	if (rc != SK_OK)
		return rc;
	/* One REPEATABLE READ transaction: the figures hold exactly at the
	 * snapshot returned. */
	rc = sk_pg_exec(s->c, "take a source position",
	    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; " MOVE_SUM_SETTINGS
	    "; SELECT pg_catalog.pg_current_snapshot()::text",
	    &res, err);
	if (rc == SK_OK && cut[0] != '\0') /* in the freeze: cut at its end */
		rc = sk_pg_exec(s->c, "take a source position", cut, NULL, err);
	if (rc != SK_OK)
		goto out;
	snap = sk_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	res = NULL;
	if (snap == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "take a source position: out of memory");
		goto out;
	}
	if (want_sums) {
		ms.move_id = (char *)s->spec->move_id;
		ms.region = s->region;
		ms.snapshot = snap;
		ms.delta = since != NULL;
		ms.since_snapshot = (char *)(since != NULL ? since : "");
		ms.tables = calloc(s->d->n_tables + 1, sizeof(*ms.tables));
		if (ms.tables == NULL) {
			rc = sk_err_set(err, SK_ENOMEM,
			    "take a source position: out of memory");
			goto out;
		}
		for (size_t i = 0; i < s->d->n_tables; i++) {
			Skein__V1__MoveTableSum *ts = calloc(1, sizeof(*ts));

			if (ts == NULL) {
				rc = sk_err_set(err, SK_ENOMEM,
				    "take a source position: out of memory");
				goto out;
			}
			skein__v1__move_table_sum__init(ts);
			ms.tables[ms.n_tables++] = ts;
			rc = table_sums(s, s->d->tables[i], snap, since, ts, err);
			if (rc != SK_OK)
				goto out;
		}
		rc = move_sums_sign(&ms, s->key, sums, err);
		if (rc != SK_OK)
			goto out;
	}
	rc = sk_pg_exec(s->c, "take a source position", "COMMIT", NULL, err);
out:
	for (size_t i = 0; i < ms.n_tables; i++) {
		free(ms.tables[i]->table);
		free(ms.tables[i]);
	}
	free(ms.tables);
	sk_pg_rollback(s->c);
	if (rc != SK_OK) {
		free(snap);
		if (sums != NULL) {
			move_reply_free(*sums);
			*sums = NULL;
		}
		return rc;
	}
	*snapshot = snap;
	return SK_OK;
}

int
move_src_changes(void *arg, const char *after, const char *upto,
    int64_t after_seq, uint32_t limit, Skein__V1__MoveReply **out, sk_err *err)
{
	move_src *s = arg;
	char seq[24], lim[16];
	const char *p[5] = { s->spec->move_id, upto, after, seq, lim };
	Skein__V1__MoveReply *r = NULL;
	PGresult *res = NULL;
	int rc, n;

	*out = NULL;
	snprintf(seq, sizeof(seq), "%" PRId64, after_seq);
	if (limit == 0 || limit > 100000)
		limit = 100000; /* a page is one target transaction */
	snprintf(lim, sizeof(lim), "%u", limit + 1);
	rc = sk_pg_execp(s->c, "read the source's changes",
	    "SELECT seq, tbl, op, old_key::text, new_row::text "
	    "FROM skein.move_changes WHERE move_id = $1 AND seq > $4::bigint "
	    "AND " VISIBLE " ORDER BY seq LIMIT $5::int",
	    5, p, &res, err);
	if (rc != SK_OK)
		return rc;
	n = PQntuples(res);
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto oom;
	skein__v1__move_reply__init(r);
	r->kind = SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_CHANGES;
	r->more = (uint32_t)n > limit;
	if ((uint32_t)n > limit)
		n = (int)limit;
	r->changes = calloc((size_t)n + 1, sizeof(*r->changes));
	if (r->changes == NULL)
		goto oom;
	for (int i = 0; i < n; i++) {
		Skein__V1__MoveChange *c = calloc(1, sizeof(*c));

		if (c == NULL)
			goto oom;
		skein__v1__move_change__init(c);
		r->changes[r->n_changes++] = c;
		c->seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		c->table = sk_strdup(PQgetvalue(res, i, 1));
		c->op = sk_strdup(PQgetvalue(res, i, 2));
		c->old_key = sk_strdup(PQgetvalue(res, i, 3));
		c->new_row = sk_strdup(PQgetvalue(res, i, 4));
		if (!c->table || !c->op || !c->old_key || !c->new_row)
			goto oom;
	}
	PQclear(res);
	*out = r;
	return SK_OK;
oom:
	PQclear(res);
	move_reply_free(r);
	return sk_err_set(err, SK_ENOMEM, "read the source's changes: out of memory");
}

int
move_src_stay(void *arg, Skein__V1__MoveReply **out, sk_err *err)
{
	move_src *s = arg;
	const sk_move_tenant *m = s->spec->m;
	Skein__V1__MoveReply *r;
	int rc = SK_OK;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return sk_err_set(err, SK_ENOMEM, "read staying rows: out of memory");
	skein__v1__move_reply__init(r);
	r->kind = SKEIN__V1__MOVE_REQUEST_KIND__MOVE_REQUEST_STAY;
	for (size_t i = 0; i < m->nstay && rc == SK_OK; i++) {
		const sk_move_stay *st = &m->stay[i];
		const char *p[3] = { st->table, st->index_table, m->value };
		PGresult *res = NULL;
		move_str q = { 0 };
		char **v;
		int n;

		sk_strbuf_add(&q,
		    "SELECT pg_catalog.jsonb_build_object('table', $1::text, "
		    "'index_table', $2::text, 'row', "
		    "pg_catalog.jsonb_build_object(");
		for (size_t c = 0; c < st->nindex_columns; c++) {
			sk_strbuf_add(&q, c ? ", " : "");
			move_str_lit(&q, st->index_columns[c]);
			sk_strbuf_add(&q, ", t.");
			move_str_ident(&q, st->index_columns[c], false);
		}
		sk_strbuf_add(&q, "))::text FROM ");
		move_str_ident(&q, st->table, true);
		sk_strbuf_add(&q, " t WHERE t.");
		move_str_ident(&q, m->column, false);
		sk_strbuf_add(&q, " = $3");
		rc = q.oom ?
		    sk_err_set(err, SK_ENOMEM, "read staying rows: out of memory") :
		    sk_pg_execp(s->c, "read staying rows", q.s, 3, p, &res, err);
		sk_strbuf_fini(&q);
		if (rc != SK_OK)
			break;
		n = PQntuples(res);
		v = realloc(r->stay_rows,
		    (r->n_stay_rows + (size_t)n + 1) * sizeof(*v));
		if (v == NULL) {
			PQclear(res);
			rc = sk_err_set(
			    err, SK_ENOMEM, "read staying rows: out of memory");
			break;
		}
		r->stay_rows = v;
		for (int k = 0; k < n; k++)
			if ((v[r->n_stay_rows] = sk_strdup(PQgetvalue(res, k, 0))) != NULL)
				r->n_stay_rows++;
		PQclear(res);
	}
	if (rc != SK_OK) {
		move_reply_free(r);
		return rc;
	}
	*out = r;
	return SK_OK;
}

int
move_src_capture(void *arg, sk_err *err)
{
	return move_ddl_retry(capture_once, arg, err);
}

/* move_sums: what both sides of a move compute the same way: the names a
 * move id derives, the tables' descriptions, the checksum query, and the
 * signed figures (domain "skein/v1/move-sums\0" over a serialized
 * MoveSums). Keeping one copy is what makes the two sides comparable. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "move_int.h"
#include "sk_key.h"
#include "sk_pg.h"
#include "sk_util.h"

static void
ident_one(move_str *b, const char *s, size_t n)
{
	sk_strbuf_add(b, "\"");
	for (size_t i = 0; i < n; i++) {
		char c[3] = { s[i], '\0', '\0' };

		if (s[i] == '"')
			c[1] = '"';
		sk_strbuf_add(b, c);
	}
	sk_strbuf_add(b, "\"");
}

void
move_str_ident(move_str *b, const char *s, bool qualified)
{
	const char *dot = qualified ? strchr(s, '.') : NULL;

	if (dot == NULL) {
		ident_one(b, s, strlen(s));
		return;
	}
	ident_one(b, s, (size_t)(dot - s));
	sk_strbuf_add(b, ".");
	ident_one(b, dot + 1, strlen(dot + 1));
}

void
move_str_lit(move_str *b, const char *s)
{
	bool bs = strchr(s, '\\') != NULL;

	sk_strbuf_add(b, bs ? "E'" : "'");
	for (; *s != '\0'; s++) {
		char c[3] = { *s, '\0', '\0' };

		if (*s == '\'' || *s == '\\')
			c[1] = *s;
		sk_strbuf_add(b, c);
	}
	sk_strbuf_add(b, "'");
}

void
move_names_init(move_names *n, const char *move_id)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	/* FNV-1a: stable across builds and platforms, which is all the names
	 * need (both sides and every restart derive the same ones). */
	for (const unsigned char *p = (const unsigned char *)move_id; *p; p++) {
		h ^= *p;
		h *= UINT64_C(0x100000001b3);
	}
	n->k1 = (int32_t)(uint32_t)(h >> 32);
	n->k2 = (int32_t)(uint32_t)h;
	snprintf(n->hex, sizeof(n->hex), "%016" PRIx64, h);
	snprintf(n->fence, sizeof(n->fence), "skein.move_fence_%s", n->hex);
	snprintf(n->capture, sizeof(n->capture), "skein_move_%s_capture", n->hex);
	snprintf(n->guard, sizeof(n->guard), "skein_move_%s_guard", n->hex);
	snprintf(n->truncate, sizeof(n->truncate), "skein_move_%s_truncate", n->hex);
	snprintf(n->tguard, sizeof(n->tguard), "skein_move_%s_tguard", n->hex);
}

int
move_ddl_retry(int (*fn)(void *arg, sk_err *err), void *arg, sk_err *err)
{
	int64_t pause = 50;
	int rc = SK_OK;

	for (int i = 0; i < MOVE_DDL_ATTEMPTS; i++) {
		rc = fn(arg, err);
		if (rc != SK_OK && strcmp(err->sqlstate, "55P03") == 0 &&
		    i + 1 < MOVE_DDL_ATTEMPTS) {
			sk_sleep_ms(pause);
			pause = pause < 400 ? pause * 2 : 500;
			continue;
		}
		break;
	}
	return rc;
}

void
move_key_expr(move_str *b, const Skein__V1__MoveTable *t, const char *alias)
{
	sk_strbuf_add(b, "pg_catalog.jsonb_build_object(");
	for (size_t i = 0; i < t->n_key; i++) {
		sk_strbuf_add(b, i ? ", " : "");
		move_str_lit(b, t->key[i]);
		sk_strbuf_addf(b, ", %s.", alias);
		move_str_ident(b, t->key[i], false);
	}
	sk_strbuf_add(b, ")");
}

void
move_sum_sql(move_str *b, const Skein__V1__MoveTable *t, const char *column, bool keys_param)
{
	const char *mod = "18446744073709551616";

	/* A sum of signed 64-bit hashes taken modulo 2^64 into 0..2^64-1:
	 * order-independent, so neither side needs to sort. sum(bigint) is
	 * exact (128-bit integers where the platform has them, numeric
	 * otherwise; a numeric result): casting each hash to numeric first
	 * gives the same sum, slower. */
	if (keys_param) {
		/* In the freeze: the tenant's rows counted (through its index),
		 * and the hashes of only the rows whose keys $2 lists, each
		 * found by its primary key: the cost follows the changes, not
		 * the tenant's size. */
		sk_strbuf_add(b, "SELECT (SELECT pg_catalog.count(*) FROM ");
		move_str_ident(b, t->name, true);
		sk_strbuf_add(b, " c WHERE c.");
		move_str_ident(b, column, false);
		sk_strbuf_add(b, " = $1), ");
	} else {
		sk_strbuf_add(b, "SELECT pg_catalog.count(*), ");
	}
	sk_strbuf_add(b, "((coalesce(pg_catalog.sum(pg_catalog.hashtextextended(ROW(");
	for (size_t i = 0; i < t->n_columns; i++) {
		sk_strbuf_add(b, i ? ", t." : "t.");
		move_str_ident(b, t->columns[i]->name, false);
	}
	sk_strbuf_add(b, ")::text, 0))");
	sk_strbuf_addf(b, ", 0) %% %s + %s) %% %s)::text", mod, mod, mod);
	if (keys_param)
		sk_strbuf_add(b, ", pg_catalog.jsonb_array_length($2::jsonb)");
	else
		sk_strbuf_add(b, ", 0");
	sk_strbuf_add(b, " FROM ");
	if (keys_param) {
		/* The keys as rows of the table's own type (their columns
		 * typed as the table's), distinct, joined by the key. */
		sk_strbuf_add(b,
		    "(SELECT DISTINCT * FROM pg_catalog.jsonb_populate_recordset(NULL::");
		move_str_ident(b, t->name, true);
		sk_strbuf_add(b, ", $2::jsonb)) k JOIN ");
		move_str_ident(b, t->name, true);
		sk_strbuf_add(b, " t ON ");
		for (size_t i = 0; i < t->n_key; i++) {
			sk_strbuf_add(b, i ? " AND t." : "t.");
			move_str_ident(b, t->key[i], false);
			sk_strbuf_add(b, " = k.");
			move_str_ident(b, t->key[i], false);
		}
		sk_strbuf_add(b, " AND t.");
	} else {
		move_str_ident(b, t->name, true);
		sk_strbuf_add(b, " t WHERE t.");
	}
	move_str_ident(b, column, false);
	sk_strbuf_add(b, " = $1");
}

int
move_sums_sign(const Skein__V1__MoveSums *sums, const sk_seckey *key,
    Skein__V1__MoveSignedSums **out, sk_err *err)
{
	static const char domain[] = MOVE_SUMS_DOMAIN; /* with its NUL */
	Skein__V1__MoveSignedSums *s = NULL;
	size_t n = skein__v1__move_sums__get_packed_size(sums);
	uint8_t *msg = NULL;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	msg = malloc(sizeof(domain) + n + 1);
	if (s == NULL || msg == NULL)
		goto oom;
	skein__v1__move_signed_sums__init(s);
	memcpy(msg, domain, sizeof(domain));
	skein__v1__move_sums__pack(sums, msg + sizeof(domain));
	s->sums.data = malloc(n + 1);
	if (s->sums.data == NULL)
		goto oom;
	memcpy(s->sums.data, msg + sizeof(domain), n);
	s->sums.len = n;
	if (key != NULL) {
		s->signature.data = malloc(SK_SIG_LEN);
		s->agent_key.data = malloc(SK_PUBKEY_LEN);
		if (s->signature.data == NULL || s->agent_key.data == NULL)
			goto oom;
		sk_seckey_sign(key, msg, sizeof(domain) + n, s->signature.data);
		s->signature.len = SK_SIG_LEN;
		memcpy(s->agent_key.data, sk_seckey_public(key)->pk, SK_PUBKEY_LEN);
		s->agent_key.len = SK_PUBKEY_LEN;
	}
	free(msg);
	*out = s;
	return SK_OK;
oom:
	free(msg);
	move_reply_free(s);
	return sk_err_set(err, SK_ENOMEM, "sign move sums: out of memory");
}

int
move_sums_open(const Skein__V1__MoveSignedSums *s, const sk_pubkey *key,
    Skein__V1__MoveSums **out, sk_err *err)
{
	static const char domain[] = MOVE_SUMS_DOMAIN;
	uint8_t *msg;
	int rc;

	*out = NULL;
	if (s == NULL)
		return sk_err_set(err, SK_EDECODE, "read move sums: none");
	if (key != NULL) {
		if (s->signature.len != SK_SIG_LEN || s->agent_key.len != SK_PUBKEY_LEN ||
		    memcmp(s->agent_key.data, key->pk, SK_PUBKEY_LEN) != 0)
			return sk_err_set(err, SK_ECRYPTO,
			    "verify move sums: not signed by the pinned key %s",
			    key->name);
		msg = malloc(sizeof(domain) + s->sums.len + 1);
		if (msg == NULL)
			return sk_err_set(
			    err, SK_ENOMEM, "verify move sums: out of memory");
		memcpy(msg, domain, sizeof(domain));
		if (s->sums.len > 0)
			memcpy(msg + sizeof(domain), s->sums.data, s->sums.len);
		rc = sk_pubkey_verify(
		    key, msg, sizeof(domain) + s->sums.len, s->signature.data);
		free(msg);
		if (rc != SK_OK)
			return sk_err_set(err, SK_ECRYPTO,
			    "verify move sums: bad signature by %s", key->name);
	}
	*out = skein__v1__move_sums__unpack(NULL, s->sums.len, s->sums.data);
	if (*out == NULL)
		return sk_err_set(err, SK_EDECODE, "read move sums: not a MoveSums");
	return SK_OK;
}

int
move_sums_compare(const Skein__V1__MoveSums *src,
    const Skein__V1__MoveSums *dst, const char *what, sk_err *err)
{
	if (src->n_tables != dst->n_tables)
		return sk_err_set(err, SK_ECHECK,
		    "%s: the source has figures for %zu tables, the target %zu",
		    what, src->n_tables, dst->n_tables);
	for (size_t i = 0; i < src->n_tables; i++) {
		const Skein__V1__MoveTableSum *a = src->tables[i],
					      *b = dst->tables[i];

		if (strcmp(a->table, b->table) != 0)
			return sk_err_set(err, SK_ECHECK,
			    "%s: table %zu is %s in the source, %s in the target",
			    what, i, a->table, b->table);
		if (a->rows != b->rows || a->sum != b->sum || a->keys != b->keys)
			return sk_err_set(err, SK_ECHECK,
			    "%s: table %s differs: source %" PRId64
			    " rows, sum %" PRIu64 ", %" PRId64 " keys; target %" PRId64
			    " rows, sum %" PRIu64 ", %" PRId64 " keys",
			    what, a->table, a->rows, a->sum, a->keys, b->rows,
			    b->sum, b->keys);
	}
	return SK_OK;
}

/* ---- descriptions */

static char *
dup_or_oom(const char *s, bool *oom)
{
	char *d = sk_strdup(s);

	if (d == NULL)
		*oom = true;
	return d;
}

static int
describe_table(PGconn *db, const sk_move_tenant *m, const char *oid,
    bool counts, Skein__V1__MoveTable *t, sk_err *err)
{
	const char *p[1] = { oid };
	PGresult *res = NULL;
	bool oom = false, has_col = false;
	move_str q = { 0 };
	char what[256];
	int rc, n;

	snprintf(what, sizeof(what), "describe table %s", t->name);
	rc = sk_pg_execp(db, what,
	    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), "
	    "a.attgenerated <> '', a.attidentity = 'a', a.attnotnull "
	    "FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1::oid "
	    "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
	    1, p, &res, err);
	if (rc != SK_OK)
		return rc;
	n = PQntuples(res);
	t->columns = calloc((size_t)n + 1, sizeof(*t->columns));
	if (t->columns == NULL)
		oom = true;
	for (int i = 0; !oom && i < n; i++) {
		Skein__V1__MoveColumn *c = calloc(1, sizeof(*c));

		if (c == NULL) {
			oom = true;
			break;
		}
		skein__v1__move_column__init(c);
		t->columns[t->n_columns++] = c;
		c->name = dup_or_oom(PQgetvalue(res, i, 0), &oom);
		c->type = dup_or_oom(PQgetvalue(res, i, 1), &oom);
		c->generated = PQgetvalue(res, i, 2)[0] == 't';
		c->identity_always = PQgetvalue(res, i, 3)[0] == 't';
		c->not_null = PQgetvalue(res, i, 4)[0] == 't';
		if (strcmp(PQgetvalue(res, i, 0), m->column) == 0)
			has_col = true;
	}
	PQclear(res);
	res = NULL;
	if (oom)
		goto oom;

	rc = sk_pg_execp(db, what,
	    "SELECT a.attname FROM pg_catalog.pg_index i "
	    "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid "
	    "AND a.attnum = ANY (i.indkey::int2[]) "
	    "WHERE i.indrelid = $1::oid AND i.indisprimary "
	    "ORDER BY pg_catalog.array_position(i.indkey::int2[], a.attnum)",
	    1, p, &res, err);
	if (rc != SK_OK)
		return rc;
	n = PQntuples(res);
	t->key = calloc((size_t)n + 1, sizeof(*t->key));
	if (t->key == NULL)
		oom = true;
	for (int i = 0; !oom && i < n; i++)
		t->key[t->n_key++] = dup_or_oom(PQgetvalue(res, i, 0), &oom);
	PQclear(res);
	res = NULL;
	if (oom)
		goto oom;

	rc = sk_pg_execp(db, what,
	    "SELECT DISTINCT n.nspname || '.' || c.relname "
	    "FROM pg_catalog.pg_constraint k "
	    "JOIN pg_catalog.pg_class c ON c.oid = k.confrelid "
	    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	    "WHERE k.conrelid = $1::oid AND k.contype = 'f' "
	    "AND k.confrelid <> k.conrelid ORDER BY 1",
	    1, p, &res, err);
	if (rc != SK_OK)
		return rc;
	n = PQntuples(res);
	t->parents = calloc((size_t)n + 1, sizeof(*t->parents));
	if (t->parents == NULL)
		oom = true;
	for (int i = 0; !oom && i < n; i++)
		t->parents[t->n_parents++] = dup_or_oom(PQgetvalue(res, i, 0), &oom);
	PQclear(res);
	res = NULL;
	if (oom)
		goto oom;

	if (counts && has_col) {
		const char *v[1] = { m->value };

		sk_strbuf_add(&q,
		    "SELECT pg_catalog.count(*), coalesce(pg_catalog.sum("
		    "pg_catalog.pg_column_size(t.*)), 0) FROM ");
		move_str_ident(&q, t->name, true);
		sk_strbuf_add(&q, " t WHERE t.");
		move_str_ident(&q, m->column, false);
		sk_strbuf_add(&q, " = $1");
		if (q.oom)
			goto oom;
		rc = sk_pg_execp(db, what, q.s, 1, v, &res, err);
		sk_strbuf_fini(&q);
		if (rc != SK_OK)
			return rc;
		t->rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		t->bytes = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
		PQclear(res);
	}
	return SK_OK;
oom:
	sk_strbuf_fini(&q);
	return sk_err_set(err, SK_ENOMEM, "%s: out of memory", what);
}

/* Put tables with their moved parents first (discover: the catalogue's
 * order is alphabetical). A cycle keeps the remaining order. */
static void
order_by_parents(Skein__V1__MoveDescription *d)
{
	size_t done = 0;

	while (done < d->n_tables) {
		size_t pick = d->n_tables;

		for (size_t i = done; i < d->n_tables && pick == d->n_tables; i++) {
			bool ready = true;

			for (size_t p = 0; p < d->tables[i]->n_parents && ready; p++)
				for (size_t j = done; j < d->n_tables; j++)
					if (j != i &&
					    strcmp(d->tables[i]->parents[p],
						d->tables[j]->name) == 0)
						ready = false;
			if (ready)
				pick = i;
		}
		if (pick == d->n_tables)
			pick = done;
		if (pick != done) {
			Skein__V1__MoveTable *t = d->tables[pick];

			memmove(&d->tables[done + 1], &d->tables[done],
			    (pick - done) * sizeof(*d->tables));
			d->tables[done] = t;
		}
		done++;
	}
}

static bool
is_stay(const sk_move_tenant *m, const char *qualified)
{
	for (size_t i = 0; i < m->nstay; i++) {
		const char *s = m->stay[i].table;
		const char *dot = strchr(qualified, '.');

		if (strcmp(s, qualified) == 0 || (dot && strcmp(s, dot + 1) == 0))
			return true;
	}
	return false;
}

int
move_describe_db(PGconn *db, const sk_move_tenant *m, bool counts,
    const char *side, Skein__V1__MoveDescription **out, sk_err *err)
{
	Skein__V1__MoveDescription *d = NULL;
	PGresult *res = NULL;
	size_t want = m->discover ? 0 : m->ntables;
	int rc = SK_OK, n;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return sk_err_set(err, SK_ENOMEM, "describe tables: out of memory");
	skein__v1__move_description__init(d);
	if (m->discover) {
		const char *p[1] = { m->column };

		rc = sk_pg_execp(db, "discover moved tables",
		    "SELECT c.oid, n.nspname || '.' || c.relname "
		    "FROM pg_catalog.pg_class c "
		    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
		    "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
		    "WHERE a.attname = $1 AND a.attnum > 0 AND NOT a.attisdropped "
		    "AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
		    "AND n.nspname NOT IN ('pg_catalog', 'information_schema', "
		    "'skein') AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 2",
		    1, p, &res, err);
		if (rc != SK_OK)
			goto out;
		want = (size_t)PQntuples(res);
	}
	d->tables = calloc(want + 1, sizeof(*d->tables));
	if (d->tables == NULL) {
		rc = sk_err_set(err, SK_ENOMEM, "describe tables: out of memory");
		goto out;
	}
	for (size_t i = 0; i < want; i++) {
		PGresult *one = NULL;
		Skein__V1__MoveTable *t;
		const char *oid, *name;

		if (m->discover) {
			oid = PQgetvalue(res, (int)i, 0);
			name = PQgetvalue(res, (int)i, 1);
			if (is_stay(m, name))
				continue;
		} else {
			const char *p[1] = { m->tables[i] };

			rc = sk_pg_execp(db, "resolve moved table",
			    "SELECT c.oid, n.nspname || '.' || c.relname "
			    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
			    "ON n.oid = c.relnamespace "
			    "WHERE c.oid = pg_catalog.to_regclass($1)",
			    1, p, &one, err);
			if (rc != SK_OK)
				goto out;
			if (PQntuples(one) != 1) {
				PQclear(one);
				rc = sk_err_set(err, SK_EPREFLIGHT,
				    "table %s does not exist in the %s database",
				    m->tables[i], side);
				goto out;
			}
			oid = PQgetvalue(one, 0, 0);
			name = PQgetvalue(one, 0, 1);
		}
		t = calloc(1, sizeof(*t));
		if (t == NULL ||
		    (skein__v1__move_table__init(t), t->name = sk_strdup(name)) == NULL) {
			free(t);
			PQclear(one);
			rc = sk_err_set(err, SK_ENOMEM, "describe tables: out of memory");
			goto out;
		}
		d->tables[d->n_tables++] = t;
		rc = describe_table(db, m, oid, counts, t, err);
		PQclear(one);
		if (rc != SK_OK)
			goto out;
	}
	if (m->discover)
		order_by_parents(d);
	PQclear(res);
	res = NULL;
	rc = sk_pg_exec(db, "describe database",
	    "SELECT pg_catalog.current_setting('server_version_num')::int, "
	    "pg_catalog.current_setting('max_connections')::int - "
	    "(SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity)::int",
	    &res, err);
	if (rc != SK_OK)
		goto out;
	d->server_version = (int32_t)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	d->free_connections = (int32_t)strtol(PQgetvalue(res, 0, 1), NULL, 10);
	n = 0;
	for (size_t i = 0; i < d->n_tables; i++)
		for (size_t c = 0; c < d->tables[i]->n_columns; c++)
			if (n == 0 &&
			    strcmp(d->tables[i]->columns[c]->name, m->column) == 0) {
				d->tenant_type =
				    sk_strdup(d->tables[i]->columns[c]->type);
				n = 1;
			}
out:
	PQclear(res);
	if (rc != SK_OK) {
		move_reply_free(d);
		return rc;
	}
	*out = d;
	return SK_OK;
}

void
move_reply_free(void *msg)
{
	if (msg != NULL)
		protobuf_c_message_free_unpacked(msg, NULL);
}

int
move_freeze_timeout_sql(int64_t until_ms, char *buf, size_t len, sk_err *err)
{
	int64_t left;

	buf[0] = '\0';
	if (until_ms <= 0)
		return SK_OK;
	left = until_ms - sk_mono_ms();
	if (left <= 0)
		return sk_err_set(err, SK_ETIMEOUT, "the freeze's time is up");
	snprintf(buf, len,
	    "SET LOCAL statement_timeout = %lld; SET LOCAL "
	    "max_parallel_workers_per_gather TO DEFAULT",
	    (long long)left);
	return SK_OK;
}

int
move_tables_of(
    PGconn *db, const sk_move_tenant *m, char ***names, size_t *n, sk_err *err)
{
	Skein__V1__MoveDescription *d = NULL;
	char **v;
	int rc;

	*names = NULL;
	*n = 0;
	rc = move_describe_db(db, m, false, "source", &d, err);
	if (rc != SK_OK)
		return rc;
	v = calloc(d->n_tables + 1, sizeof(*v));
	for (size_t i = 0; v != NULL && i < d->n_tables; i++) {
		move_str q = { 0 };

		move_str_ident(&q, d->tables[i]->name, true);
		v[i] = q.oom ? NULL : q.s;
		if (v[i] == NULL) {
			sk_strbuf_fini(&q);
			sk_strv_free(v, i);
			v = NULL;
		}
	}
	if (v == NULL) {
		move_reply_free(d);
		return sk_err_set(
		    err, SK_ENOMEM, "list the tenant's tables: out of memory");
	}
	*names = v;
	*n = d->n_tables;
	move_reply_free(d);
	return SK_OK;
}

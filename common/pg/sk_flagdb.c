/* sk_flagdb: set, read, list and undo feature flags in a region's
 * database, every flip recorded with its old value (sk_flagdb.h). */
#include "sk_flagdb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_pg.h"

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

void
sk_flagdb_flip_fini(sk_flagdb_flip *f)
{
	if (f == NULL)
		return;
	free(f->name);
	free(f->tenant);
	free(f->old_value);
	free(f->new_value);
	memset(f, 0, sizeof(*f));
}

void
sk_flagdb_flips_free(sk_flagdb_flip *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		sk_flagdb_flip_fini(&v[i]);
	free(v);
}

int
sk_flagdb_present(PGconn *conn, bool *present, sk_err *err)
{
	PGresult *res = NULL;
	int rc;

	*present = false;
	rc = sk_pg_exec(conn, "look for skein.flags",
	    "SELECT pg_catalog.to_regclass('skein.flags') IS NOT NULL", &res, err);
	if (rc != SK_OK)
		return rc;
	*present = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return SK_OK;
}

/* Append n bytes of s to the growing buffer *buf (len used, cap). */
static int
append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t want = (*len + n + 1) * 2;
		char *p = realloc(*buf, want);

		if (p == NULL)
			return SK_ENOMEM;
		*buf = p;
		*cap = want;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return SK_OK;
}

int
sk_flagdb_bind(PGconn *conn, const char *tmpl, const char *name,
    const char *value, const char *tenant, char **out, sk_err *err)
{
	static const struct {
		const char *ph;
		int which;
	} phs[] = { { ":'flag'", 0 }, { ":'value'", 1 }, { ":'tenant'", 2 } };
	const char *vals[3] = { name, value, tenant };
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = append(&buf, &len, &cap, "", 0);

	*out = NULL;
	for (const char *p = tmpl; rc == SK_OK && *p != '\0';) {
		bool bound = false;

		for (size_t k = 0; !bound && k < 3; k++) {
			size_t n = strlen(phs[k].ph);
			const char *v = vals[phs[k].which];
			char *lit;

			if (strncmp(p, phs[k].ph, n) != 0)
				continue;
			bound = true;
			p += n;
			if (v == NULL) {
				rc = append(&buf, &len, &cap, "NULL", 4);
				continue;
			}
			lit = PQescapeLiteral(conn, v, strlen(v));
			if (lit == NULL) {
				free(buf);
				return sk_err_set(err, SK_ESQL,
				    "bind flag template: %s", PQerrorMessage(conn));
			}
			rc = append(&buf, &len, &cap, lit, strlen(lit));
			PQfreemem(lit);
		}
		if (!bound)
			rc = append(&buf, &len, &cap, p++, 1);
	}
	if (rc != SK_OK) {
		free(buf);
		return sk_err_set(err, SK_ENOMEM, "bind flag template: out of memory");
	}
	*out = buf;
	return SK_OK;
}

/* The old value from the store: *old NULL when absent. */
static int
read_old(PGconn *conn, const sk_flagdb_store *store, const char *name,
    const char *tenant, char **old, sk_err *err)
{
	const char *params[2] = { name, tenant };
	PGresult *res = NULL;
	char *sql = NULL;
	int rc;

	*old = NULL;
	if (store != NULL && store->get_template != NULL) {
		rc = sk_flagdb_bind(
		    conn, store->get_template, name, NULL, tenant, &sql, err);
		if (rc != SK_OK)
			return rc;
		rc = sk_pg_exec(conn, "read flag (template.get)", sql, &res, err);
		free(sql);
	} else {
		rc = sk_pg_execp(conn, "read flag",
		    "SELECT value FROM skein.flags WHERE name = $1 AND "
		    "tenant IS NOT DISTINCT FROM $2",
		    2, params, &res, err);
	}
	if (rc != SK_OK)
		return rc;
	if (PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0)) {
		*old = strdup(PQgetvalue(res, 0, 0));
		if (*old == NULL)
			rc = sk_err_set(err, SK_ENOMEM, "read flag: out of memory");
	}
	PQclear(res);
	return rc;
}

static int
write_new(PGconn *conn, const sk_flagdb_store *store, const char *name,
    const char *tenant, const char *value, const sk_flagdb_who *who, sk_err *err)
{
	const char *params[7] = { name, tenant, value, who->set_by, who->plan,
		who->step, who->rollout };
	const char *p8[8];
	char *sql = NULL;
	int rc;

	if (store != NULL && store->set_template != NULL) {
		rc = sk_flagdb_bind(
		    conn, store->set_template, name, value, tenant, &sql, err);
		if (rc != SK_OK)
			return rc;
		rc = sk_pg_exec(conn, "set flag (template.set)", sql, NULL, err);
		free(sql);
		return rc;
	}
	if (value == NULL)
		return sk_pg_execp(conn, "remove flag",
		    "DELETE FROM skein.flags WHERE name = $1 AND "
		    "tenant IS NOT DISTINCT FROM $2",
		    2, params, NULL, err);
	memcpy(p8, params, sizeof(params));
	p8[7] = who->reason;
	return sk_pg_execp(conn, "set flag",
	    "INSERT INTO skein.flags AS f (name, tenant, value, set_by, plan, "
	    "step, rollout, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
	    "ON CONFLICT (name, COALESCE(tenant, '')) DO UPDATE SET "
	    "value = EXCLUDED.value, set_by = EXCLUDED.set_by, "
	    "set_at = pg_catalog.clock_timestamp(), plan = EXCLUDED.plan, "
	    "step = EXCLUDED.step, rollout = EXCLUDED.rollout, "
	    "reason = EXCLUDED.reason",
	    8, p8, NULL, err);
}

int
sk_flagdb_set(PGconn *conn, const sk_flagdb_store *store, const char *name,
    const char *tenant, const char *value, const sk_flagdb_who *who,
    int64_t revert_of, sk_flagdb_flip *out, sk_err *err)
{
	char revert[24];
	const char *lock[1] = { name };
	const char *params[11];
	char *old = NULL;
	PGresult *res = NULL;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	/* Two flips of one flag at once (an agent and an operator's
	 * emergency flip) must each see the other's value as the old one. */
	rc = sk_pg_execp(conn, "lock flag",
	    "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext("
	    "'skein.flag'), pg_catalog.hashtext($1))",
	    1, lock, NULL, err);
	if (rc == SK_OK)
		rc = read_old(conn, store, name, tenant, &old, err);
	if (rc == SK_OK)
		rc = write_new(conn, store, name, tenant, value, who, err);
	if (rc != SK_OK)
		goto out;
	snprintf(revert, sizeof(revert), "%" PRId64, revert_of);
	params[0] = name;
	params[1] = tenant;
	params[2] = store != NULL && store->set_template != NULL ? "template" :
								   "skein.flags";
	params[3] = old;
	params[4] = value;
	params[5] = who->set_by;
	params[6] = who->reason;
	params[7] = who->plan;
	params[8] = who->step;
	params[9] = who->rollout;
	params[10] = revert_of > 0 ? revert : NULL;
	rc = sk_pg_execp(conn, "record flag flip",
	    "INSERT INTO skein.flag_history (name, tenant, store, old_value, "
	    "new_value, set_by, reason, plan, step, rollout, revert_of) VALUES "
	    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::bigint) RETURNING id",
	    11, params, &res, err);
	if (rc != SK_OK)
		goto out;
	if (out != NULL) {
		out->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		out->name = dup_or_null(name);
		out->tenant = dup_or_null(tenant);
		out->new_value = dup_or_null(value);
		out->old_value = old;
		old = NULL;
		if (out->name == NULL || (tenant != NULL && out->tenant == NULL) ||
		    (value != NULL && out->new_value == NULL)) {
			sk_flagdb_flip_fini(out);
			rc = sk_err_set(err, SK_ENOMEM, "set flag: out of memory");
		}
	}
out:
	PQclear(res);
	free(old);
	return rc;
}

int
sk_flagdb_get(PGconn *conn, const char *name, const char *tenant, char **value,
    sk_err *err)
{
	const char *params[2] = { name, tenant };
	PGresult *res = NULL;
	int rc;

	*value = NULL;
	rc = sk_pg_execp(conn, "read flag",
	    tenant != NULL ? "SELECT skein.flag($1, $2)" :
			     "SELECT value FROM skein.flags WHERE name = $1 AND "
			     "tenant IS NULL AND $2::text IS NULL",
	    2, params, &res, err);
	if (rc != SK_OK)
		return rc;
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
		*value = strdup(PQgetvalue(res, 0, 0));
		if (*value == NULL)
			rc = sk_err_set(err, SK_ENOMEM, "read flag: out of memory");
	}
	PQclear(res);
	return rc;
}

/* res's rows (id, name, tenant, old, new) into flips. */
static int
rows_to_flips(const PGresult *res, sk_flagdb_flip **out, size_t *n, sk_err *err)
{
	int rows = PQntuples(res);
	sk_flagdb_flip *v;

	*out = NULL;
	*n = 0;
	if (rows == 0)
		return SK_OK;
	v = calloc((size_t)rows, sizeof(*v));
	if (v == NULL)
		return sk_err_set(err, SK_ENOMEM, "read flags: out of memory");
	for (int r = 0; r < rows; r++) {
		v[r].id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
		v[r].name = strdup(PQgetvalue(res, r, 1));
		for (int c = 2; c <= 4; c++) {
			char **dst = c == 2 ? &v[r].tenant :
			    c == 3          ? &v[r].old_value :
					      &v[r].new_value;

			if (!PQgetisnull(res, r, c) &&
			    (*dst = strdup(PQgetvalue(res, r, c))) == NULL) {
				sk_flagdb_flips_free(v, (size_t)rows);
				return sk_err_set(err, SK_ENOMEM,
				    "read flags: out of memory");
			}
		}
		if (v[r].name == NULL) {
			sk_flagdb_flips_free(v, (size_t)rows);
			return sk_err_set(err, SK_ENOMEM, "read flags: out of memory");
		}
	}
	*out = v;
	*n = (size_t)rows;
	return SK_OK;
}

int
sk_flagdb_step_flips(PGconn *conn, const char *plan, const char *step,
    sk_flagdb_flip **out, size_t *n, sk_err *err)
{
	const char *params[2] = { plan, step };
	PGresult *res = NULL;
	int rc;

	rc = sk_pg_execp(conn, "read the flips of a step",
	    "SELECT h.id, h.name, h.tenant, h.old_value, h.new_value "
	    "FROM skein.flag_history h WHERE h.plan = $1 AND h.step = $2 "
	    "AND h.revert_of IS NULL AND NOT EXISTS (SELECT 1 FROM "
	    "skein.flag_history r WHERE r.revert_of = h.id) ORDER BY h.id DESC",
	    2, params, &res, err);
	if (rc != SK_OK)
		return rc;
	rc = rows_to_flips(res, out, n, err);
	PQclear(res);
	return rc;
}

int
sk_flagdb_list(PGconn *conn, sk_flagdb_flip **out, size_t *n, sk_err *err)
{
	PGresult *res = NULL;
	int rc;

	rc = sk_pg_exec(conn, "list flags",
	    "SELECT 0, name, tenant, NULL::text, value FROM skein.flags "
	    "ORDER BY name, tenant NULLS FIRST",
	    &res, err);
	if (rc != SK_OK)
		return rc;
	rc = rows_to_flips(res, out, n, err);
	PQclear(res);
	return rc;
}

/* sk_move: the rules of a tenant move step (kind MOVE_TENANT): its tenant
 * key, regions, tables, staying tables, event, routing statements and
 * limits, and its checksum. Only the plan side exists (issue 11): no
 * agent kind runs it yet. docs/formats.md, "Tenant moves", is the
 * reader's side. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "sk_move_int.h"
#include "sk_plan.h"
#include "sk_step_alone.h"
#include "sk_sql.h"
#include "sk_util.h"

/* One unqualified identifier of n bytes at s. */
static bool
ident_part(const char *s, size_t n)
{
	if (n == 0 || n > 63 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

bool
sk_move_ident_valid(const char *s, bool qualified)
{
	const char *dot;

	if (s == NULL)
		return false;
	dot = qualified ? strchr(s, '.') : NULL;
	if (dot == NULL)
		return ident_part(s, strlen(s));
	return ident_part(s, (size_t)(dot - s)) &&
	    ident_part(dot + 1, strlen(dot + 1));
}

/* Text an operator can read back: non-empty, bounded, no control
 * characters. */
static int
printable(const char *s, size_t max, const char *what, sk_err *err)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0)
		return sk_err_set(err, SK_EINVAL, "has an empty %s", what);
	if (n > max)
		return sk_err_set(err, SK_EINVAL,
		    "has a %s of %zu bytes; the most is %zu", what, n, max);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return sk_err_set(err, SK_EINVAL,
			    "has a %s with a control character at byte %zu",
			    what, i + 1);
	return SK_OK;
}

static int
ident(const char *s, bool qualified, const char *what, sk_err *err)
{
	if (s == NULL || s[0] == '\0')
		return sk_err_set(err, SK_EINVAL, "has no %s", what);
	if (!sk_move_ident_valid(s, qualified))
		return sk_err_set(err, SK_EINVAL,
		    "has %s \"%.80s\", which is not an SQL identifier "
		    "([A-Za-z_][A-Za-z0-9_]*, 1 to 63 bytes%s)",
		    what, s, qualified ? ", or schema.name" : "");
	return SK_OK;
}

static bool
listed(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static int
check_tables(const sk_move_tenant *m, sk_err *err)
{
	int rc = SK_OK;

	if (m->discover && m->ntables > 0)
		return sk_err_set(err, SK_EINVAL,
		    "has both tables and discover: true; list the tables or "
		    "let the agent discover them, not both");
	if (!m->discover && m->ntables == 0)
		return sk_err_set(err, SK_EINVAL,
		    "has no tables: list them in dependency order, or set "
		    "discover: true");
	for (size_t i = 0; rc == SK_OK && i < m->ntables; i++) {
		rc = ident(m->tables[i], true, "table", err);
		if (rc == SK_OK && listed(m->tables, i, m->tables[i]))
			rc = sk_err_set(err, SK_EINVAL, "lists table %s twice",
			    m->tables[i]);
	}
	for (size_t i = 0; rc == SK_OK && i < m->nstay; i++) {
		const sk_move_stay *st = &m->stay[i];

		rc = ident(st->table, true, "stay table", err);
		if (rc == SK_OK && listed(m->tables, m->ntables, st->table))
			rc = sk_err_set(err, SK_EINVAL,
			    "has table %s both in tables and in stay: a table "
			    "moves or stays",
			    st->table);
		for (size_t j = 0; rc == SK_OK && j < i; j++)
			if (strcmp(m->stay[j].table, st->table) == 0)
				rc = sk_err_set(err, SK_EINVAL,
				    "lists stay table %s twice", st->table);
		if (rc == SK_OK)
			rc = ident(st->index_table, true, "stay index table", err);
		if (rc == SK_OK && listed(m->tables, m->ntables, st->index_table))
			rc = sk_err_set(err, SK_EINVAL,
			    "has stay index table %s also in tables: the index "
			    "is written in the target, not moved",
			    st->index_table);
		if (rc == SK_OK && st->nindex_columns == 0)
			rc = sk_err_set(err, SK_EINVAL,
			    "has stay table %s without index columns", st->table);
		for (size_t j = 0; rc == SK_OK && j < st->nindex_columns; j++) {
			rc = ident(st->index_columns[j], false,
			    "stay index column", err);
			if (rc == SK_OK &&
			    listed(st->index_columns, j, st->index_columns[j]))
				rc = sk_err_set(err, SK_EINVAL,
				    "lists index column %s of stay table %s twice",
				    st->index_columns[j], st->table);
		}
	}
	return rc;
}

/* A routing statement: absent, or one statement's text that cannot end
 * the statement skein runs it as (no ';', balanced parentheses). */
static int
route_check(const char *sql, const char *what, sk_err *err)
{
	if (sql == NULL)
		return SK_OK;
	if (sql[0] == '\0')
		return sk_err_set(err, SK_EINVAL, "has an empty %s", what);
	return sk_sql_fragment_check(sql, what, err);
}

int
sk_move_tenant_check(const sk_move_tenant *m, sk_err *err)
{
	int rc;

	rc = ident(m->column, false, "tenant column", err);
	if (rc == SK_OK)
		rc = printable(m->value, SK_MOVE_VALUE_MAX, "tenant value", err);
	if (rc != SK_OK)
		return rc;
	if (m->from == NULL || !sk_name_valid(m->from))
		return sk_err_set(err, SK_EINVAL,
		    "has from \"%.80s\", which is not a region name",
		    m->from != NULL ? m->from : "");
	if (m->to == NULL || !sk_name_valid(m->to))
		return sk_err_set(err, SK_EINVAL,
		    "has to \"%.80s\", which is not a region name",
		    m->to != NULL ? m->to : "");
	if (strcmp(m->from, m->to) == 0)
		return sk_err_set(err, SK_EINVAL,
		    "has from and to both %s: a move goes to another region", m->to);
	rc = check_tables(m, err);
	if (rc != SK_OK)
		return rc;
	if ((m->event_table == NULL) != (m->event_type == NULL))
		return sk_err_set(err, SK_EINVAL,
		    "has an event type without its table, or a table without its type");
	if (m->event_table != NULL) {
		rc = ident(m->event_table, true, "event table", err);
		if (rc == SK_OK)
			rc = printable(m->event_type, SK_MOVE_EVENT_TYPE_MAX,
			    "event type", err);
		if (rc != SK_OK)
			return rc;
	}
	rc = route_check(m->route_source, "route.source", err);
	if (rc == SK_OK)
		rc = route_check(m->route_target, "route.target", err);
	if (rc == SK_OK)
		rc = route_check(m->route_back_source, "route.back.source", err);
	if (rc == SK_OK)
		rc = route_check(m->route_back_target, "route.back.target", err);
	if (rc != SK_OK)
		return rc;
	if ((m->route_source != NULL || m->route_target != NULL) &&
	    m->route_back_source == NULL && m->route_back_target == NULL)
		return sk_err_set(err, SK_EINVAL,
		    "has a route without route.back: a rollback moves the tenant "
		    "back and must route it back");
	if (m->freeze_timeout_ms <= 0)
		return sk_err_set(err, SK_EINVAL,
		    "has freeze_timeout %" PRId64 " ms; it must be above 0",
		    m->freeze_timeout_ms);
	if (m->max_lag_ms <= 0)
		return sk_err_set(err, SK_EINVAL,
		    "has max_lag %" PRId64 " ms; it must be above 0", m->max_lag_ms);
	if (m->max_copy_bytes_per_s < 0)
		return sk_err_set(err, SK_EINVAL,
		    "has max_copy_rate %" PRId64 " bytes/s; it must be 0 (none) "
		    "or above",
		    m->max_copy_bytes_per_s);
	if (m->parallel < 0 || m->parallel > SK_MOVE_PARALLEL_MAX)
		return sk_err_set(err, SK_EINVAL, "has parallel %d; it must be 1 to %d",
		    m->parallel, SK_MOVE_PARALLEL_MAX);
	return SK_OK;
}

int
sk_move_parallel(const sk_move_tenant *m)
{
	return m->parallel > 0 ? m->parallel : SK_MOVE_PARALLEL_DEFAULT;
}

int
move_validate(const sk_step *step, sk_err *err)
{
	int rc;

	rc = plan_step_alone(step, "move_tenant", step->move, err);
	if (rc != SK_OK)
		return rc;
	if (step->revert != NULL)
		return sk_err_set(err, SK_EINVAL,
		    "is a move_tenant step with a revert script; a move is undone "
		    "by moving the tenant back");
	return sk_move_tenant_check(step->move, err);
}

/* Hash s and its NUL, so that fields cannot run into each other; NULL
 * hashes apart from "" (a leading byte says which). */
static void
hash_str(crypto_hash_sha256_state *st, const char *s)
{
	const uint8_t tag = s != NULL ? 1 : 0;

	crypto_hash_sha256_update(st, &tag, 1);
	if (s != NULL)
		crypto_hash_sha256_update(st, (const uint8_t *)s, strlen(s) + 1);
}

static void
hash_num(crypto_hash_sha256_state *st, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	hash_str(st, buf);
}

static void
hash_list(crypto_hash_sha256_state *st, char *const *v, size_t n)
{
	hash_num(st, (int64_t)n);
	for (size_t i = 0; i < n; i++)
		hash_str(st, v[i]);
}

/* Start st with domain and what a move and a purge both say: the kind,
 * the tenant, the regions, the tables and discover. */
static void
hash_head(crypto_hash_sha256_state *st, const char *domain, size_t len,
    const sk_step *step)
{
	const sk_move_tenant *m = step->move;

	crypto_hash_sha256_init(st);
	crypto_hash_sha256_update(st, (const uint8_t *)domain, len);
	hash_num(st, step->kind);
	hash_str(st, m->column);
	hash_str(st, m->value);
	hash_str(st, m->from);
	hash_str(st, m->to);
	hash_list(st, m->tables, m->ntables);
	hash_num(st, m->discover ? 1 : 0);
}

int
move_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err)
{
	static const char domain[] = "skein-step-move-tenant-v1";
	const sk_move_tenant *m = step->move;
	crypto_hash_sha256_state st;

	if (m == NULL)
		return sk_err_set(err, SK_EINVAL,
		    "step %s is a move_tenant step without its body",
		    step->id != NULL ? step->id : "-");
	/* Every field changes what the step does: which rows move, where,
	 * what stays, what is emitted and flipped, how long writes may
	 * freeze and whether the source keeps its rows. */
	hash_head(&st, domain, sizeof(domain), step);
	hash_num(&st, (int64_t)m->nstay);
	for (size_t i = 0; i < m->nstay; i++) {
		hash_str(&st, m->stay[i].table);
		hash_str(&st, m->stay[i].index_table);
		hash_list(&st, m->stay[i].index_columns, m->stay[i].nindex_columns);
	}
	hash_str(&st, m->event_table);
	hash_str(&st, m->event_type);
	hash_str(&st, m->route_source);
	hash_str(&st, m->route_target);
	hash_num(&st, m->freeze_timeout_ms);
	hash_num(&st, m->max_lag_ms);
	/* Where `purge` was (always false since it was refused): kept so
	 * that earlier moves' checksums stay what their ledger rows hold. */
	hash_num(&st, 0);
	/* Hashed only when present, so that the checksums of moves written
	 * before route.back existed stay what their ledger rows hold. */
	if (m->route_back_source != NULL || m->route_back_target != NULL) {
		hash_str(&st, m->route_back_source);
		hash_str(&st, m->route_back_target);
	}
	if (m->max_copy_bytes_per_s > 0) {
		hash_str(&st, "max_copy_rate");
		hash_num(&st, m->max_copy_bytes_per_s);
	}
	/* Only when not the default, so that moves written before parallel
	 * existed (which copy with the default) keep their checksums, and
	 * parallel: 2 is the same step as none. */
	if (sk_move_parallel(m) != SK_MOVE_PARALLEL_DEFAULT) {
		hash_str(&st, "parallel");
		hash_num(&st, sk_move_parallel(m));
	}
	crypto_hash_sha256_final(&st, out);
	return SK_OK;
}

int
purge_validate(const sk_step *step, sk_err *err)
{
	const sk_move_tenant *m = step->move;
	int rc;

	rc = plan_step_alone(step, "purge_tenant", m, err);
	if (rc != SK_OK)
		return rc;
	if (step->revert != NULL)
		return sk_err_set(err, SK_EINVAL,
		    "is a purge_tenant step with a revert script; what a purge "
		    "deletes lives on in the region the tenant moved to");
	if (m->nstay > 0 || m->event_table != NULL || m->event_type != NULL ||
	    m->max_copy_bytes_per_s != 0 || m->parallel != 0 ||
	    m->route_source != NULL || m->route_target != NULL ||
	    m->route_back_source != NULL || m->route_back_target != NULL)
		return sk_err_set(err, SK_EINVAL,
		    "is a purge_tenant step with a move's stay, event, route, "
		    "max_copy_rate or parallel");
	return sk_move_tenant_check(m, err);
}

int
purge_checksum(const sk_step *step, uint8_t out[SK_CHECKSUM_LEN], sk_err *err)
{
	static const char domain[] = "skein-step-purge-tenant-v1";
	const sk_move_tenant *m = step->move;
	crypto_hash_sha256_state st;

	if (m == NULL)
		return sk_err_set(err, SK_EINVAL,
		    "step %s is a purge_tenant step without its body",
		    step->id != NULL ? step->id : "-");
	hash_head(&st, domain, sizeof(domain), step);
	crypto_hash_sha256_final(&st, out);
	return SK_OK;
}

void
sk_move_tenant_back(const sk_move_tenant *m, sk_move_tenant *out)
{
	*out = *m;
	out->from = m->to;
	out->to = m->from;
	out->stay = NULL;
	out->nstay = 0;
	out->route_source = m->route_back_source;
	out->route_target = m->route_back_target;
	out->route_back_source = NULL;
	out->route_back_target = NULL;
	/* the copy's limit applies both ways */
}

void
sk_move_tenant_fini(sk_move_tenant *m)
{
	if (m == NULL)
		return;
	free(m->column);
	free(m->value);
	free(m->from);
	free(m->to);
	sk_strv_free(m->tables, m->ntables);
	for (size_t i = 0; m->stay != NULL && i < m->nstay; i++) {
		free(m->stay[i].table);
		free(m->stay[i].index_table);
		sk_strv_free(m->stay[i].index_columns, m->stay[i].nindex_columns);
	}
	free(m->stay);
	free(m->event_table);
	free(m->event_type);
	free(m->route_source);
	free(m->route_target);
	free(m->route_back_source);
	free(m->route_back_target);
}

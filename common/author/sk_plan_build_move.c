/* sk_plan_build_move: the body of a move_tenant step in plan.yaml —
 * tenant, from, to, tables or discover, stay, event, route,
 * freeze_timeout, max_lag, max_copy_rate (purge refused) — each mistake
 * reported at its own line and column (docs/formats.md, "Tenant moves"). The plan library's
 * sk_move_tenant_check judges the whole again, as decode does. */
#include <stdlib.h>
#include <string.h>

#include "sk_plan_build_int.h"
#include "sk_util.h"

static const char *const tenant_keys[] = { "column", "value", NULL };
static const char *const stay_keys[] = { "table", "index", NULL };
static const char *const index_keys[] = { "table", "columns", NULL };
static const char *const event_keys[] = { "table", "type", NULL };
static const char *const route_keys[] = { "source", "target", "back", NULL };
static const char *const route_back_keys[] = { "source", "target", NULL };
static const char *const purge_refused[] = { "stay", "event", "route",
	"freeze_timeout", "max_lag", "purge", "max_copy_rate", "parallel", NULL };

/* A message of err's re-reported at node. */
static int
at(sk_err *err, const sk_yaml_node *node)
{
	char why[SK_ERR_MSG_MAX];

	snprintf(why, sizeof(why), "%s", err->msg);
	return sk_yaml_error(err, err->code, node, "%s", why);
}

static int
not_ident(sk_err *err, const sk_yaml_node *node, const char *what,
    const char *s, bool qualified)
{
	return sk_yaml_error(err, SK_EINVAL, node,
	    "%s \"%.80s\" is not an SQL identifier: use [A-Za-z_][A-Za-z0-9_]*, "
	    "1 to 63 bytes%s",
	    what, s, qualified ? " (or schema.name)" : "");
}

/* map[key], a required identifier, into *out. */
static int
load_ident(const sk_yaml_node *map, const char *key, const char *what,
    bool qualified, char **out, sk_err *err)
{
	int rc;

	rc = sk_yaml_string(map, key, SK_YAML_REQUIRED | SK_YAML_NONEMPTY, out, err);
	if (rc != SK_OK)
		return rc;
	if (!sk_move_ident_valid(*out, qualified))
		return not_ident(err, sk_yaml_get(map, key), what, *out, qualified);
	return SK_OK;
}

/* A required mapping item[key] with keys among allowed; *node gets it. */
static int
load_map(const sk_yaml_node *item, const char *key, const char *what,
    const char *const *allowed, bool required, const sk_yaml_node **node, sk_err *err)
{
	int rc;

	*node = sk_yaml_get(item, key);
	if (*node == NULL || sk_yaml_is_null(*node)) {
		*node = NULL;
		if (!required)
			return SK_OK;
		return sk_yaml_error(err, SK_EINVAL, item,
		    "a move_tenant step needs %s: %s", key, what);
	}
	rc = sk_yaml_expect(*node, SK_YAML_MAPPING, what, err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(*node, allowed, err);
	return rc;
}

static int
load_tenant(const sk_yaml_node *item, sk_move_tenant *m, sk_err *err)
{
	const sk_yaml_node *node;
	int rc;

	rc = load_map(item, "tenant", "a mapping of column and value",
	    tenant_keys, true, &node, err);
	if (rc == SK_OK)
		rc = load_ident(
		    node, "column", "tenant column", false, &m->column, err);
	if (rc == SK_OK)
		rc = sk_yaml_string(node, "value",
		    SK_YAML_REQUIRED | SK_YAML_NONEMPTY, &m->value, err);
	if (rc != SK_OK)
		return rc;
	if (strlen(m->value) > SK_MOVE_VALUE_MAX)
		return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(node, "value"),
		    "tenant value of %zu bytes; the most is %d",
		    strlen(m->value), SK_MOVE_VALUE_MAX);
	for (const char *p = m->value; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return sk_yaml_error(err, SK_EINVAL,
			    sk_yaml_get(node, "value"),
			    "tenant value has a control character at byte %zu",
			    (size_t)(p - m->value) + 1);
	return SK_OK;
}

/* item[key], a region of the plan (and of inv, when given). */
static int
load_region(const sk_yaml_node *item, const char *key, const sk_inventory *inv,
    char *const *regions, size_t nregions, char **out, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(item, key);
	bool found = false;
	int rc;

	rc = sk_yaml_name(item, key, "region", out, err);
	if (rc != SK_OK)
		return rc;
	for (size_t i = 0; !found && i < nregions; i++)
		found = strcmp(regions[i], *out) == 0;
	if (!found)
		return sk_yaml_error(err, SK_EINVAL, node,
		    "region %s is not a region of the plan: a move's regions "
		    "are in its phases",
		    *out);
	if (inv != NULL && sk_inventory_find(inv, *out) == NULL)
		return sk_yaml_error(err, SK_EINVAL, node,
		    "region %s is not in the inventory %s", *out,
		    inv->dir ? inv->dir : "");
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
load_tables(const sk_yaml_node *item, sk_move_tenant *m, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(item, "tables");
	int rc;

	rc = sk_yaml_string_list(
	    item, "tables", 0, "table names", &m->tables, &m->ntables, err);
	if (rc == SK_OK)
		rc = sk_yaml_bool(item, "discover", false, &m->discover, err);
	if (rc != SK_OK)
		return rc;
	for (size_t i = 0; i < m->ntables; i++) {
		if (!sk_move_ident_valid(m->tables[i], true))
			return not_ident(
			    err, node->items[i], "table", m->tables[i], true);
		if (listed(m->tables, i, m->tables[i]))
			return sk_yaml_error(err, SK_EINVAL, node->items[i],
			    "table %s is listed twice", m->tables[i]);
	}
	if (m->discover && m->ntables > 0)
		return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(item, "discover"),
		    "discover: true with tables: list the tables or let the "
		    "agent discover them, not both");
	if (!m->discover && m->ntables == 0)
		return sk_yaml_error(err, SK_EINVAL, node != NULL ? node : item,
		    "a move_tenant step needs tables (in dependency order) or "
		    "discover: true");
	return SK_OK;
}

static int
load_stay_item(const sk_yaml_node *node, sk_move_tenant *m, sk_move_stay *st,
    size_t i, sk_err *err)
{
	const sk_yaml_node *index, *cols;
	int rc;

	rc = sk_yaml_expect(node, SK_YAML_MAPPING,
	    "a mapping of table and index: {table, columns}", err);
	if (rc == SK_OK)
		rc = sk_yaml_check_keys(node, stay_keys, err);
	if (rc == SK_OK)
		rc = load_ident(node, "table", "stay table", true, &st->table, err);
	if (rc != SK_OK)
		return rc;
	if (listed(m->tables, m->ntables, st->table))
		return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(node, "table"),
		    "table %s is in tables and in stay: a table moves or stays",
		    st->table);
	for (size_t j = 0; j < i; j++)
		if (strcmp(m->stay[j].table, st->table) == 0)
			return sk_yaml_error(err, SK_EINVAL,
			    sk_yaml_get(node, "table"),
			    "stay table %s is listed twice", st->table);
	rc = load_map(node, "index", "a mapping of table and columns",
	    index_keys, true, &index, err);
	if (rc == SK_OK)
		rc = load_ident(
		    index, "table", "index table", true, &st->index_table, err);
	if (rc != SK_OK)
		return rc;
	if (listed(m->tables, m->ntables, st->index_table))
		return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(index, "table"),
		    "index table %s is in tables: the index is written in the "
		    "target, not moved",
		    st->index_table);
	cols = sk_yaml_get(index, "columns");
	rc = sk_yaml_string_list(index, "columns", SK_YAML_REQUIRED | SK_YAML_NONEMPTY,
	    "column names", &st->index_columns, &st->nindex_columns, err);
	if (rc != SK_OK)
		return rc;
	for (size_t j = 0; j < st->nindex_columns; j++) {
		if (!sk_move_ident_valid(st->index_columns[j], false))
			return not_ident(err, cols->items[j], "index column",
			    st->index_columns[j], false);
		if (listed(st->index_columns, j, st->index_columns[j]))
			return sk_yaml_error(err, SK_EINVAL, cols->items[j],
			    "index column %s is listed twice", st->index_columns[j]);
	}
	return SK_OK;
}

static int
load_stay(const sk_yaml_node *item, sk_move_tenant *m, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(item, "stay");
	int rc;

	if (node == NULL || sk_yaml_is_null(node))
		return SK_OK;
	rc = sk_yaml_expect(node, SK_YAML_SEQUENCE,
	    "a list of {table, index: {table, columns}}", err);
	if (rc != SK_OK)
		return rc;
	if (node->nitems == 0)
		return sk_yaml_error(err, SK_EINVAL, node,
		    "stay is an empty list: leave it out when every table moves");
	m->stay = calloc(node->nitems, sizeof(*m->stay));
	if (m->stay == NULL)
		return build_oom(err, item->file);
	for (size_t i = 0; i < node->nitems; i++) {
		m->nstay = i + 1;
		rc = load_stay_item(node->items[i], m, &m->stay[i], i, err);
		if (rc != SK_OK)
			return rc;
	}
	return SK_OK;
}

static int
load_event(const sk_yaml_node *item, sk_move_tenant *m, sk_err *err)
{
	const sk_yaml_node *node;
	int rc;

	rc = load_map(item, "event", "a mapping of table (the outbox) and type",
	    event_keys, false, &node, err);
	if (rc != SK_OK || node == NULL)
		return rc;
	rc = load_ident(node, "table", "event table", true, &m->event_table, err);
	if (rc == SK_OK)
		rc = sk_yaml_string(
		    node, "type", SK_YAML_NONEMPTY, &m->event_type, err);
	if (rc != SK_OK)
		return rc;
	if (m->event_type == NULL) {
		m->event_type = sk_strdup(SK_MOVE_EVENT_DEFAULT);
		if (m->event_type == NULL)
			return build_oom(err, item->file);
	}
	return SK_OK;
}

static int
load_route_side(const sk_yaml_node *node, const char *key, const char *what,
    char **out, sk_err *err)
{
	int rc;

	rc = sk_yaml_string(node, key, SK_YAML_NONEMPTY, out, err);
	if (rc != SK_OK || *out == NULL)
		return rc;
	if (build_blank(*out))
		return sk_yaml_error(err, SK_EINVAL, sk_yaml_get(node, key),
		    "%s is blank", what);
	if (sk_sql_fragment_check(*out, what, err) != SK_OK)
		return at(err, sk_yaml_get(node, key));
	return SK_OK;
}

static int
load_route(const sk_yaml_node *item, sk_move_tenant *m, sk_err *err)
{
	const sk_yaml_node *node, *back;
	int rc;

	rc = load_map(item, "route",
	    "a mapping of source and target (one SQL statement each)",
	    route_keys, false, &node, err);
	if (rc != SK_OK || node == NULL)
		return rc;
	rc = load_route_side(node, "source", "route.source", &m->route_source, err);
	if (rc == SK_OK)
		rc = load_route_side(
		    node, "target", "route.target", &m->route_target, err);
	if (rc == SK_OK && m->route_source == NULL && m->route_target == NULL)
		rc = sk_yaml_error(
		    err, SK_EINVAL, node, "route needs source, target or both");
	if (rc != SK_OK)
		return rc;
	/* The move back's routing, which a rollback runs. */
	rc = load_map(node, "back",
	    "a mapping of source (run in `to`) and target (run in `from`), "
	    "one SQL statement each",
	    route_back_keys, false, &back, err);
	if (rc != SK_OK)
		return rc;
	if (back == NULL)
		return sk_yaml_error(err, SK_EINVAL, node,
		    "route needs back: {source, target}: a rollback moves the "
		    "tenant back to %s and must route it there (source runs in "
		    "%s, target in %s)",
		    m->from, m->to, m->from);
	rc = load_route_side(
	    back, "source", "route.back.source", &m->route_back_source, err);
	if (rc == SK_OK)
		rc = load_route_side(back, "target", "route.back.target",
		    &m->route_back_target, err);
	if (rc == SK_OK && m->route_back_source == NULL && m->route_back_target == NULL)
		rc = sk_yaml_error(err, SK_EINVAL, back,
		    "route.back needs source, target or both");
	return rc;
}

/* `purge` is not a move's key: a move keeps the source rows, fenced, and
 * a later purge_tenant step deletes them (docs/moves.md "Purging"). Said
 * at the key, rather than as an unknown one. */
static int
refuse_purge(const sk_yaml_node *item, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(item, "purge");

	if (node == NULL)
		return SK_OK;
	return sk_yaml_error(err, SK_EINVAL, node,
	    "a move_tenant step has no purge: the source rows stay, fenced, "
	    "until a later step of kind purge_tenant deletes them "
	    "(docs/formats.md, \"Purging what a move left\")");
}

/* max_copy_rate: "20MB" (per second): a number of bytes with an optional
 * unit, k/K, M or G (decimal: 10^3, 10^6, 10^9) or KiB, MiB, GiB (binary),
 * B optional; 0: no limit. */
static int
load_rate(const sk_yaml_node *item, sk_move_tenant *m, sk_err *err)
{
	static const struct {
		const char *unit;
		int64_t mul;
	} units[] = { { "", 1 }, { "B", 1 }, { "k", 1000 }, { "kB", 1000 },
		{ "K", 1000 }, { "KB", 1000 }, { "M", 1000000 },
		{ "MB", 1000000 }, { "G", 1000000000 }, { "GB", 1000000000 },
		{ "KiB", 1024 }, { "MiB", 1048576 }, { "GiB", 1073741824 } };
	const sk_yaml_node *node = sk_yaml_get(item, "max_copy_rate");
	char *text = NULL, *end;
	double v;
	int rc;

	if (node == NULL || sk_yaml_is_null(node))
		return SK_OK;
	rc = sk_yaml_node_string(node, SK_YAML_NONEMPTY,
	    "a rate in bytes per second (20MB, 512KiB, 0 for none)", &text, err);
	if (rc != SK_OK)
		return rc;
	v = strtod(text, &end);
	rc = SK_EINVAL;
	for (size_t i = 0; end != text && i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0 && v >= 0 &&
		    v * (double)units[i].mul < 1e15) {
			m->max_copy_bytes_per_s = (int64_t)(v * (double)units[i].mul);
			rc = SK_OK;
		}
	if (rc != SK_OK)
		sk_yaml_error(err, SK_EINVAL, node,
		    "max_copy_rate \"%s\" is not a rate in bytes per second "
		    "(20MB, 512KiB, 1.5GB; 0 for none)",
		    text);
	free(text);
	return rc;
}

/* parallel: how many tables the copy runs at once, 1 to
 * SK_MOVE_PARALLEL_MAX; absent: 0, the default. */
static int
load_parallel(const sk_yaml_node *item, sk_move_tenant *m, sk_err *err)
{
	int64_t v = 0;
	int rc;

	rc = sk_yaml_int(item, "parallel", 0, 1, SK_MOVE_PARALLEL_MAX, &v, err);
	if (rc == SK_OK)
		m->parallel = (int)v;
	return rc;
}

int
build_move_body(const sk_yaml_node *item, const sk_inventory *inv,
    char *const *regions, size_t nregions, sk_step *st, sk_err *err)
{
	sk_move_tenant *m;
	int rc;

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return build_oom(err, item->file);
	st->move = m;
	/* A purge names the move it cleans up after (tenant, from, to,
	 * tables); the rest of a move is not its to say. */
	for (size_t i = 0; st->kind == SK_STEP_PURGE_TENANT && purge_refused[i]; i++)
		if (sk_yaml_get(item, purge_refused[i]) != NULL)
			return sk_yaml_error(err, SK_EINVAL,
			    sk_yaml_get(item, purge_refused[i]),
			    "a step of kind purge_tenant has no %s (it deletes "
			    "the rows the tenant left in from)",
			    purge_refused[i]);
	rc = load_tenant(item, m, err);
	if (rc == SK_OK)
		rc = load_region(item, "from", inv, regions, nregions, &m->from, err);
	if (rc == SK_OK)
		rc = load_region(item, "to", inv, regions, nregions, &m->to, err);
	if (rc == SK_OK && strcmp(m->from, m->to) == 0)
		rc = sk_yaml_error(err, SK_EINVAL, sk_yaml_get(item, "to"),
		    "from and to are both %s: a move goes to another region", m->to);
	if (rc == SK_OK)
		rc = load_tables(item, m, err);
	if (rc == SK_OK)
		rc = load_stay(item, m, err);
	if (rc == SK_OK)
		rc = load_event(item, m, err);
	if (rc == SK_OK)
		rc = load_route(item, m, err);
	if (rc == SK_OK)
		rc = build_yaml_duration(item, "freeze_timeout", false,
		    SK_MOVE_FREEZE_TIMEOUT_DEFAULT_MS, &m->freeze_timeout_ms, err);
	if (rc == SK_OK)
		rc = build_yaml_duration(item, "max_lag", false,
		    SK_MOVE_MAX_LAG_DEFAULT_MS, &m->max_lag_ms, err);
	if (rc == SK_OK)
		rc = refuse_purge(item, err);
	if (rc == SK_OK)
		rc = load_rate(item, m, err);
	if (rc == SK_OK)
		rc = load_parallel(item, m, err);
	return rc;
}

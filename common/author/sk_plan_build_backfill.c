/* sk_plan_build_backfill: the bodies of the data kinds in plan.yaml —
 * backfill (table, update, where), expand (table, column, type, from,
 * using, reverse) and contract (table, column, from) — and the tuning of
 * a backfill's batches and throttles (docs/backfills.md). Each field's
 * mistake is reported at its own line and column. */
#include <stdlib.h>
#include <string.h>

#include "sk_plan_build_int.h"
#include "sk_sql.h"
#include "sk_util.h"

static const char *const batch_keys[] = { "min", "max", "target", NULL };

/* map[key] as text when present: a fragment of SQL checked to stay in
 * its place (sk_sql_fragment_check), reported at its node. */
static int
fragment(const sk_yaml_node *map, const char *key, int flags, char **out, sk_err *err)
{
	const sk_yaml_node *node = sk_yaml_get(map, key);
	int rc;

	rc = sk_yaml_string(map, key, flags | SK_YAML_NONEMPTY, out, err);
	if (rc != SK_OK || *out == NULL)
		return rc;
	if (build_blank(*out))
		return sk_yaml_error(err, SK_EINVAL, node, "%s is blank", key);
	rc = sk_sql_fragment_check(*out, key, err);
	if (rc != SK_OK) {
		char why[SK_ERR_MSG_MAX];

		snprintf(why, sizeof(why), "%s", err->msg);
		return sk_yaml_error(err, SK_EINVAL, node, "%s", why);
	}
	return SK_OK;
}

static int
load_tuning(const sk_yaml_node *item, sk_backfill_tuning *t, sk_err *err)
{
	const sk_yaml_node *batch = sk_yaml_get(item, "batch");
	int64_t rate = 0, workers = 1;
	bool autovacuum = true;
	int rc;

	sk_backfill_tuning_default(t);
	if (batch != NULL && !sk_yaml_is_null(batch)) {
		rc = sk_yaml_expect(batch, SK_YAML_MAPPING,
		    "a mapping of min, max (rows) and target (a duration)", err);
		if (rc == SK_OK)
			rc = sk_yaml_check_keys(batch, batch_keys, err);
		if (rc == SK_OK)
			rc = sk_yaml_int(batch, "min", t->batch_min, 1,
			    SK_BACKFILL_BATCH_LIMIT, &t->batch_min, err);
		if (rc == SK_OK)
			rc = sk_yaml_int(batch, "max", t->batch_max, 1,
			    SK_BACKFILL_BATCH_LIMIT, &t->batch_max, err);
		if (rc == SK_OK)
			rc = build_yaml_duration(batch, "target", false,
			    t->batch_target_ms, &t->batch_target_ms, err);
		if (rc != SK_OK)
			return rc;
		if (t->batch_min > t->batch_max)
			return sk_yaml_error(err, SK_EINVAL, batch,
			    "batch min %lld is above batch max %lld",
			    (long long)t->batch_min, (long long)t->batch_max);
	}
	rc = sk_yaml_int(
	    item, "max_rows_per_second", 0, 0, INT64_C(1000000000), &rate, err);
	if (rc == SK_OK)
		rc = build_yaml_duration(item, "max_replication_lag", true, 0,
		    &t->max_replication_lag_ms, err);
	if (rc == SK_OK)
		rc = sk_yaml_string(item, "throttle_query", SK_YAML_NONEMPTY,
		    &t->throttle_query, err);
	if (rc == SK_OK)
		rc = sk_yaml_bool(item, "autovacuum", true, &autovacuum, err);
	if (rc == SK_OK)
		rc = build_yaml_duration(item, "dead_man", true, t->dead_man_ms,
		    &t->dead_man_ms, err);
	if (rc == SK_OK)
		rc = sk_yaml_int(item, "workers", 1, 1, SK_BACKFILL_WORKERS_MAX,
		    &workers, err);
	if (rc != SK_OK)
		return rc;
	t->max_rows_per_second = (double)rate;
	t->ignore_autovacuum = !autovacuum;
	t->workers = (uint32_t)workers;
	rc = sk_backfill_tuning_check(t, err);
	if (rc != SK_OK) {
		char why[SK_ERR_MSG_MAX];
		const sk_yaml_node *at = sk_yaml_get(item, "throttle_query");

		snprintf(why, sizeof(why), "%s", err->msg);
		return sk_yaml_error(err, SK_EINVAL, at != NULL ? at : item, "%s", why);
	}
	return SK_OK;
}

/* Refuse keys of the other data kinds on a step of kind. */
static int
only_keys(const sk_yaml_node *item, const char *kind,
    const char *const *foreign, sk_err *err)
{
	for (size_t k = 0; foreign[k] != NULL; k++)
		if (sk_yaml_get(item, foreign[k]) != NULL)
			return sk_yaml_error(err, SK_EINVAL,
			    sk_yaml_get(item, foreign[k]),
			    "a step of kind %s has no %s", kind, foreign[k]);
	return SK_OK;
}

static int
load_backfill(const sk_yaml_node *item, sk_step *st, sk_err *err)
{
	static const char *const foreign[] = { "column", "type", "from",
		"using", "reverse", NULL };
	sk_backfill *b;
	char *sql = NULL;
	int rc;

	rc = only_keys(item, "backfill", foreign, err);
	if (rc != SK_OK)
		return rc;
	b = st->backfill = calloc(1, sizeof(*st->backfill));
	if (b == NULL)
		return build_oom(err, item->file);
	rc = fragment(item, "table", SK_YAML_REQUIRED, &b->table, err);
	if (rc == SK_OK)
		rc = fragment(item, "update", SK_YAML_REQUIRED, &b->update, err);
	if (rc == SK_OK)
		rc = fragment(item, "where", 0, &b->where, err);
	if (rc == SK_OK)
		rc = load_tuning(item, &b->tuning, err);
	if (rc != SK_OK)
		return rc;
	/* The update alone first, so that its mistakes are reported at it
	 * (a WHERE of its own is one: the agent adds the batch's). */
	{
		sk_backfill alone = *b;

		alone.where = NULL;
		rc = sk_backfill_statement(&alone, "true", &sql, err);
		free(sql);
		if (rc != SK_OK) {
			char why[SK_ERR_MSG_MAX];

			snprintf(why, sizeof(why), "%s", err->msg);
			rc = sk_yaml_error(err, SK_EINVAL,
			    sk_yaml_get(item, "update"), "%s", why);
			snprintf(err->hint, sizeof(err->hint),
			    "update is what follows UPDATE %s AS t: \"SET column = "
			    "... [FROM ...]\", without WHERE; skein adds the batch's "
			    "key range, and the rows that still need the update go in "
			    "where",
			    b->table);
			return rc;
		}
	}
	rc = sk_backfill_statement(b, "true", &sql, err);
	free(sql);
	if (rc != SK_OK) {
		char why[SK_ERR_MSG_MAX];

		snprintf(why, sizeof(why), "%s", err->msg);
		return sk_yaml_error(
		    err, SK_EINVAL, sk_yaml_get(item, "where"), "%s", why);
	}
	return SK_OK;
}

static int
load_expand(const sk_yaml_node *item, sk_step *st, sk_err *err)
{
	static const char *const foreign_expand[] = { "update", "where", NULL };
	static const char *const foreign_contract[] = { "update", "where",
		"type", "using", "reverse", "batch", "max_rows_per_second",
		"max_replication_lag", "throttle_query", "autovacuum",
		"dead_man", "workers", NULL };
	bool expand = st->kind == SK_STEP_EXPAND;
	sk_expand *e;
	int rc;

	rc = only_keys(item, expand ? "expand" : "contract",
	    expand ? foreign_expand : foreign_contract, err);
	if (rc != SK_OK)
		return rc;
	e = st->expand = calloc(1, sizeof(*st->expand));
	if (e == NULL)
		return build_oom(err, item->file);
	rc = fragment(item, "table", SK_YAML_REQUIRED, &e->table, err);
	if (rc == SK_OK)
		rc = sk_yaml_string(item, "column",
		    SK_YAML_REQUIRED | SK_YAML_NONEMPTY, &e->column, err);
	if (rc == SK_OK)
		rc = sk_yaml_string(item, "from",
		    SK_YAML_REQUIRED | SK_YAML_NONEMPTY, &e->from, err);
	if (rc != SK_OK || !expand)
		return rc;
	rc = fragment(item, "type", SK_YAML_REQUIRED, &e->type, err);
	if (rc == SK_OK)
		rc = fragment(item, "using", 0, &e->forward, err);
	if (rc == SK_OK)
		rc = fragment(item, "reverse", 0, &e->backward, err);
	if (rc == SK_OK)
		rc = load_tuning(item, &e->tuning, err);
	return rc;
}

bool
build_is_data_kind(int kind)
{
	return kind == SK_STEP_BACKFILL || kind == SK_STEP_EXPAND ||
	    kind == SK_STEP_CONTRACT;
}

int
build_data_body(const sk_yaml_node *item, sk_step *st, sk_err *err)
{
	switch (st->kind) {
	case SK_STEP_BACKFILL:
		return load_backfill(item, st, err);
	case SK_STEP_EXPAND:
	case SK_STEP_CONTRACT:
		return load_expand(item, st, err);
	default:
		return sk_yaml_error(err, SK_EINVAL, item,
		    "a step of kind %s has no body of a data kind",
		    sk_step_kind_name(st->kind));
	}
}

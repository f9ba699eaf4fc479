/* sk_plan_print_move: a move_tenant step's body for `skein plan show`
 * (text and --json): the tenant, the regions, what moves and what stays,
 * the event, the routing statements and the limits. */
#include "sk_plan_print_move.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "sk_json.h"

static void
print_list(FILE *out, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? ", " : "", v[i]);
}

void
plan_print_move(FILE *out, const sk_move_tenant *m)
{
	fprintf(out, "     move tenant %s = '%s' from %s to %s\n", m->column,
	    m->value, m->from, m->to);
	fputs("     tables ", out);
	if (m->discover)
		fprintf(out, "discovered by the agent (%s and foreign keys)\n",
		    m->column);
	else {
		print_list(out, m->tables, m->ntables);
		fputs(" (in this order)\n", out);
	}
	for (size_t i = 0; i < m->nstay; i++) {
		const sk_move_stay *st = &m->stay[i];

		fprintf(out, "     stays %s, indexed in %s by ", st->table,
		    st->index_table);
		print_list(out, st->index_columns, st->nindex_columns);
		fputs(" with original_region\n", out);
	}
	if (m->event_table != NULL)
		fprintf(out, "     event %s into %s\n", m->event_type, m->event_table);
	else
		fputs("     event none\n", out);
	if (m->route_source != NULL)
		fprintf(out, "     route.source %s\n", m->route_source);
	if (m->route_target != NULL)
		fprintf(out, "     route.target %s\n", m->route_target);
	if (m->route_back_source != NULL)
		fprintf(out, "     route.back.source %s\n", m->route_back_source);
	if (m->route_back_target != NULL)
		fprintf(out, "     route.back.target %s\n", m->route_back_target);
	if (m->max_copy_bytes_per_s > 0)
		fprintf(out, "     copy at most %" PRId64 " bytes/s\n",
		    m->max_copy_bytes_per_s);
	fprintf(out, "     copy %d table%s at once%s\n", sk_move_parallel(m),
	    sk_move_parallel(m) == 1 ? "" : "s",
	    sk_move_parallel(m) == 1 ? " (one transaction)" : "");
	fprintf(out,
	    "     freeze_timeout %" PRId64 " ms, max_lag %" PRId64
	    " ms, source rows kept, fenced (a purge_tenant step deletes them)\n",
	    m->freeze_timeout_ms, m->max_lag_ms);
}

static json_t *
jstrv(char *const *v, size_t n)
{
	json_t *a = json_array();
	int bad = 0;

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		bad |= json_array_append_new(a, sk_json_str(v[i]));
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *
jstays(const sk_move_tenant *m)
{
	json_t *a = json_array();
	int bad = 0;

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < m->nstay; i++) {
		const sk_move_stay *st = &m->stay[i];
		json_t *o = json_object();

		if (o == NULL) {
			bad = 1;
			break;
		}
		bad |= json_object_set_new(o, "table", sk_json_str(st->table));
		bad |= json_object_set_new(
		    o, "index_table", sk_json_str(st->index_table));
		bad |= json_object_set_new(o, "index_columns",
		    jstrv(st->index_columns, st->nindex_columns));
		bad |= json_array_append_new(a, o);
	}
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* What a move and a purge both say, into o; non-zero when out of
 * memory. */
static int
json_head(json_t *o, const sk_move_tenant *m)
{
	int bad = 0;

	bad |= json_object_set_new(o, "tenant_column", sk_json_str(m->column));
	bad |= json_object_set_new(o, "tenant_value", sk_json_str(m->value));
	bad |= json_object_set_new(o, "from", sk_json_str(m->from));
	bad |= json_object_set_new(o, "to", sk_json_str(m->to));
	bad |= json_object_set_new(o, "tables", jstrv(m->tables, m->ntables));
	bad |= json_object_set_new(o, "discover", json_boolean(m->discover));
	return bad;
}

json_t *
plan_move_json(const sk_step *s)
{
	const sk_move_tenant *m = s->move;
	json_t *o;
	int bad = 0;

	if (s->kind != SK_STEP_MOVE_TENANT || m == NULL)
		return json_null();
	o = json_object();
	if (o == NULL)
		return NULL;
	bad |= json_head(o, m);
	bad |= json_object_set_new(o, "stay", jstays(m));
	bad |= json_object_set_new(o, "event_table", sk_json_str(m->event_table));
	bad |= json_object_set_new(o, "event_type", sk_json_str(m->event_type));
	bad |= json_object_set_new(o, "route_source", sk_json_str(m->route_source));
	bad |= json_object_set_new(o, "route_target", sk_json_str(m->route_target));
	bad |= json_object_set_new(
	    o, "route_back_source", sk_json_str(m->route_back_source));
	bad |= json_object_set_new(
	    o, "route_back_target", sk_json_str(m->route_back_target));
	bad |= json_object_set_new(
	    o, "freeze_timeout_ms", json_integer(m->freeze_timeout_ms));
	bad |= json_object_set_new(o, "max_lag_ms", json_integer(m->max_lag_ms));
	bad |= json_object_set_new(o, "max_copy_bytes_per_second",
	    json_integer(m->max_copy_bytes_per_s));
	bad |= json_object_set_new(o, "parallel", json_integer(sk_move_parallel(m)));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void
plan_print_purge(FILE *out, const sk_move_tenant *m)
{
	fprintf(out,
	    "     purge tenant %s = '%s' in %s (moved to %s): its rows deleted "
	    "in batches, children first, from ",
	    m->column, m->value, m->from, m->to);
	if (m->discover)
		fprintf(out, "the tables the agent finds (%s and foreign keys)\n",
		    m->column);
	else {
		print_list(out, m->tables, m->ntables);
		fputc('\n', out);
	}
}

json_t *
plan_purge_json(const sk_step *s)
{
	const sk_move_tenant *m = s->move;
	json_t *o;
	int bad = 0;

	if (s->kind != SK_STEP_PURGE_TENANT || m == NULL)
		return json_null();
	o = json_object();
	if (o == NULL)
		return NULL;
	bad |= json_head(o, m);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* sk_plan_print: a plan described for people (sk_plan_print) and for
 * machines (sk_plan_print_json), checks, limits, waivers, preflight and
 * backup included, and the bodies of the data kinds (backfill, expand,
 * contract) with a backfill's tuning. */
#include "sk_plan_print.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sk_plan_print_gates.h"
#include "sk_plan_print_move.h"
#include "sk_json.h"
#include "sk_util.h"

void
sk_check_expect_format(const sk_check *c, char *buf, size_t len)
{
	switch (c->expect) {
	case SK_EXPECT_COMPARE:
		snprintf(buf, len, "%s %s", c->op ? c->op : "?",
		    c->value ? c->value : "");
		break;
	case SK_EXPECT_NO_ROWS:
		snprintf(buf, len, "no rows");
		break;
	case SK_EXPECT_FAILS:
		snprintf(buf, len, "fails with %s", c->sqlstate ? c->sqlstate : "?");
		break;
	case SK_EXPECT_SUCCEEDS:
		snprintf(buf, len, "succeeds");
		break;
	default:
		snprintf(buf, len, "unknown expectation %d", c->expect);
		break;
	}
}

/* UTC ISO-8601 of a unix time, "@<n>" if the C library cannot show it. */
static void
iso_utc(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%" PRId64, t);
}

static void
print_list(FILE *out, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? ", " : "", v[i]);
	if (n == 0)
		fputs("(none)", out);
}

static void
print_checks(FILE *out, const char *what, const sk_check *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char want[320];

		sk_check_expect_format(&c[i], want, sizeof(want));
		fprintf(out, "     %s %s: expects %s", what, c[i].name, want);
		if (c[i].path != NULL)
			fprintf(out, " (%s)", c[i].path);
		if (c[i].report_value)
			fputs(", reports its value", out);
		fputc('\n', out);
	}
}

/* A limit in milliseconds for people: "none" for 0. */
static void
limit_format(int64_t ms, char *buf, size_t len)
{
	if (ms <= 0)
		snprintf(buf, len, "none");
	else
		sk_duration_format(ms, buf, len);
}

/* server_version_num as PostgreSQL writes the version: 150000 -> "15",
 * 150002 -> "15.2", 90600 -> "9.6.0". */
static void
server_version_format(uint32_t v, char *buf, size_t len)
{
	if (v >= 100000 && v % 10000 == 0)
		snprintf(buf, len, "%" PRIu32, v / 10000);
	else if (v >= 100000)
		snprintf(buf, len, "%" PRIu32 ".%" PRIu32, v / 10000, v % 10000);
	else
		snprintf(buf, len, "%" PRIu32 ".%" PRIu32 ".%" PRIu32,
		    v / 10000, v / 100 % 100, v % 100);
}

static void
print_preflight(FILE *out, const sk_preflight *pf)
{
	char buf[64];

	if (sk_preflight_empty(pf)) {
		fputs("preflight none\n", out);
		return;
	}
	fputs("preflight\n", out);
	if (pf->min_server_version != 0) {
		server_version_format(pf->min_server_version, buf, sizeof(buf));
		fprintf(out, "  server version >= %s (%" PRIu32 ")\n", buf,
		    pf->min_server_version);
	}
	if (pf->nroles > 0) {
		fputs("  roles ", out);
		print_list(out, pf->roles, pf->nroles);
		fputc('\n', out);
	}
	if (pf->nextensions > 0) {
		fputs("  extensions ", out);
		print_list(out, pf->extensions, pf->nextensions);
		fputc('\n', out);
	}
	if (pf->max_transaction_age_ms > 0) {
		sk_duration_format(pf->max_transaction_age_ms, buf, sizeof(buf));
		fprintf(out, "  max transaction age %s\n", buf);
	}
	if (pf->max_connections_share > 0)
		fprintf(out, "  max connections %g%%\n",
		    pf->max_connections_share * 100);
	for (size_t i = 0; i < pf->nrequires; i++) {
		if (pf->requires[i].step != NULL)
			fprintf(out, "  requires plan %s step %s\n",
			    pf->requires[i].plan, pf->requires[i].step);
		else
			fprintf(out, "  requires plan %s (any step)\n",
			    pf->requires[i].plan);
	}
}

/* "     name text", a text of several lines going on under its first. */
static void
print_text(FILE *out, const char *name, const char *text)
{
	fprintf(out, "     %s ", name);
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '\r')
			continue;
		fputc(*p, out);
		if (*p == '\n' && p[1] != '\0')
			fprintf(out, "     %*s ", (int)strlen(name), "");
	}
	if (text[0] == '\0' || text[strlen(text) - 1] != '\n')
		fputc('\n', out);
}

/* How a backfill runs, with plan.yaml's names: its batches, then its
 * throttles ("none" for a limit that is not set). */
static void
print_tuning(FILE *out, const sk_backfill_tuning *t)
{
	char target[32], lag[32], dead[32];

	sk_duration_format(t->batch_target_ms, target, sizeof(target));
	limit_format(t->max_replication_lag_ms, lag, sizeof(lag));
	if (t->dead_man_ms > 0)
		sk_duration_format(t->dead_man_ms, dead, sizeof(dead));
	else
		snprintf(dead, sizeof(dead), "never");
	fprintf(out,
	    "     batch min %" PRId64 ", max %" PRId64 " rows, target %s; workers "
	    "%" PRIu32 "\n",
	    t->batch_min, t->batch_max, target, t->workers);
	if (t->max_rows_per_second > 0)
		fprintf(out, "     max_rows_per_second %.15g", t->max_rows_per_second);
	else
		fputs("     max_rows_per_second none", out);
	fprintf(out, ", max_replication_lag %s, autovacuum %s, dead_man %s\n",
	    lag, t->ignore_autovacuum ? "false" : "true (waits for it)", dead);
	print_text(out, "throttle_query",
	    t->throttle_query != NULL ? t->throttle_query : "none");
}

static json_t *jstrv(char *const *v, size_t n);

/* flags: a flag step's body: the flag, its value, for whom and where. */
static void
print_flag_body(FILE *out, const sk_flag *f)
{
	fprintf(out, "     flag %s = %s, tenants ", f->name, f->value);
	if (f->ntenants > 0)
		print_list(out, f->tenants, f->ntenants);
	else
		fputs("every tenant", out);
	fputs(", regions ", out);
	if (f->nregions > 0) {
		print_list(out, f->regions, f->nregions);
		fputs(" (residency ", out);
		print_list(out, f->residency, f->nresidency);
		fputc(')', out);
	} else {
		fputs("every region of the plan", out);
	}
	fputc('\n', out);
	if (f->set_template != NULL) {
		print_text(out, "template.set", f->set_template);
		print_text(out, "template.get", f->get_template);
	} else {
		fputs("     kept in skein.flags (read with skein.flag(name, tenant))\n",
		    out);
	}
}

static json_t *
jflag_body(const sk_step *s)
{
	const sk_flag *f = s->flag;
	json_t *o;
	int bad = 0;

	if (s->kind != SK_STEP_FLAG || f == NULL)
		return json_null();
	o = json_object();
	if (o == NULL)
		return NULL;
	bad |= json_object_set_new(o, "flag", sk_json_str(f->name));
	bad |= json_object_set_new(o, "value", sk_json_str(f->value));
	bad |= json_object_set_new(o, "tenants", jstrv(f->tenants, f->ntenants));
	bad |= json_object_set_new(o, "residency", jstrv(f->residency, f->nresidency));
	bad |= json_object_set_new(o, "regions", jstrv(f->regions, f->nregions));
	bad |= json_object_set_new(o, "template_set", sk_json_str(f->set_template));
	bad |= json_object_set_new(o, "template_get", sk_json_str(f->get_template));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The body of a data kind's step. */
static void
print_data_body(FILE *out, const sk_step *s)
{
	const sk_expand *e = s->expand;

	if (s->kind == SK_STEP_BACKFILL && s->backfill != NULL) {
		print_text(out, "table", s->backfill->table);
		print_text(out, "update", s->backfill->update);
		print_text(out, "where",
		    s->backfill->where != NULL ? s->backfill->where : "none (every row)");
		print_tuning(out, &s->backfill->tuning);
	} else if (s->kind == SK_STEP_EXPAND && e != NULL) {
		fprintf(out, "     table %s, column %s %s, from %s\n", e->table,
		    e->column, e->type != NULL ? e->type : "?", e->from);
		if (e->forward != NULL)
			print_text(out, "using", e->forward);
		else
			fprintf(out, "     using none (%s as it is)\n", e->from);
		if (e->backward != NULL)
			print_text(out, "reverse", e->backward);
		else
			fprintf(out,
			    "     reverse none (a write of %s alone leaves %s as it "
			    "is)\n",
			    e->column, e->from);
		print_tuning(out, &e->tuning);
	} else if (s->kind == SK_STEP_CONTRACT && e != NULL) {
		fprintf(out,
		    "     table %s, column %s, from %s (dropped, with the trigger "
		    "that kept %s in step)\n",
		    e->table, e->column, e->from, e->column);
	}
	if (s->kind == SK_STEP_FLAG && s->flag != NULL)
		print_flag_body(out, s->flag);
	if (s->kind == SK_STEP_MOVE_TENANT && s->move != NULL)
		plan_print_move(out, s->move);
	if (s->kind == SK_STEP_PURGE_TENANT && s->move != NULL)
		plan_print_purge(out, s->move);
	if (s->revert != NULL)
		fprintf(out, "     revert %s\n",
		    s->revert_path != NULL ? s->revert_path : "(inline)");
}

static void
print_step(FILE *out, size_t i, const sk_step *s)
{
	char hex[2 * SK_CHECKSUM_LEN + 1];
	char lt[32], st[32], bo[32];

	sk_hex(s->checksum, SK_CHECKSUM_LEN, hex);
	if (s->kind != SK_STEP_SQL) {
		fprintf(out, "  %zu. %s  %s step  checksum %.16s\n", i + 1, s->id,
		    sk_step_kind_name(s->kind) != NULL ? sk_step_kind_name(s->kind) :
							 "unknown",
		    hex);
		print_data_body(out, s);
	} else {
		fprintf(out, "  %zu. %s  %s  checksum %.16s\n", i + 1, s->id,
		    s->no_transaction ? "no transaction" : "in a transaction", hex);
		fprintf(out, "     sql %s, revert %s, verify %s\n",
		    s->sql_path ? s->sql_path : "(inline)",
		    s->revert ? (s->revert_path ? s->revert_path : "(inline)") : "none",
		    s->verify ? (s->verify_path ? s->verify_path : "(inline)") : "none");
	}
	limit_format(s->lock_timeout_ms, lt, sizeof(lt));
	limit_format(s->statement_timeout_ms, st, sizeof(st));
	limit_format(s->retry_backoff_ms, bo, sizeof(bo));
	fprintf(out,
	    "     lock_timeout %s, statement_timeout %s, lock_retries %" PRIu32
	    ", retry_backoff %s\n",
	    lt, st, s->lock_retries, bo);
	print_checks(out, "pre-check", s->pre, s->npre);
	print_checks(out, "check", s->checks, s->nchecks);
	print_checks(out, "post-check", s->post, s->npost);
	for (size_t k = 0; k < s->nwaivers; k++)
		fprintf(out, "     waives %s: %s\n", s->waivers[k].rule,
		    s->waivers[k].reason);
	if (s->nconcurrent_indexes > 0) {
		fputs("     concurrent indexes ", out);
		print_list(out, s->concurrent_indexes, s->nconcurrent_indexes);
		fputc('\n', out);
	}
}

void
sk_plan_print(FILE *out, const sk_plan *plan, const char *signer_hex)
{
	char created[40], expires[40];
	int64_t left = plan->expires_unix - (int64_t)time(NULL);

	iso_utc(plan->created_unix, created, sizeof(created));
	iso_utc(plan->expires_unix, expires, sizeof(expires));
	fprintf(out, "plan     %s (%s)\n", plan->name, plan->id);
	fprintf(out, "created  %s\n", created);
	if (left <= 0)
		fprintf(out, "expires  %s (EXPIRED)\n", expires);
	else if (left < 60)
		fprintf(out, "expires  %s (expires in <1m)\n", expires);
	else
		fprintf(out, "expires  %s (expires in %" PRId64 "h%02" PRId64 "m)\n",
		    expires, left / 3600, left % 3600 / 60);
	if (signer_hex != NULL)
		fprintf(out, "signer   %s\n", signer_hex);
	fputs("regions  ", out);
	print_list(out, plan->regions, plan->nregions);
	fprintf(out, "\nbackup   %s\n",
	    plan->backup ? "yes (pg_dump -Fc before the first change in each "
			   "database)" :
			   "no");
	fprintf(out, "rollback %s\n",
	    plan->no_rollback_backup ?
		"reverts without a backup (rollback_backup: false)" :
		"backs up each database before its first revert");
	print_preflight(out, &plan->preflight);
	fprintf(out, "phases   %zu\n", plan->nphases);
	for (size_t i = 0; i < plan->nphases; i++) {
		const sk_phase *ph = &plan->phases[i];

		fprintf(out, "  %zu. %s: ", i + 1, ph->name);
		print_list(out, ph->regions, ph->nregions);
		if (ph->nresidency > 0) {
			fputs(" (residency ", out);
			print_list(out, ph->residency, ph->nresidency);
			fputc(')', out);
		}
		fputc('\n', out);
		print_checks(out, "pre-check", ph->pre, ph->npre);
		print_checks(out, "post-check", ph->post, ph->npost);
		print_checks(out, "gate-check", ph->gate_checks, ph->ngate_checks);
		plan_print_gates(out, ph);
	}
	fprintf(out, "steps    %zu\n", plan->nsteps);
	for (size_t i = 0; i < plan->nsteps; i++)
		print_step(out, i, &plan->steps[i]);
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

static const char *
expect_name(int expect)
{
	switch (expect) {
	case SK_EXPECT_COMPARE:
		return "compare";
	case SK_EXPECT_NO_ROWS:
		return "no_rows";
	case SK_EXPECT_FAILS:
		return "fails";
	case SK_EXPECT_SUCCEEDS:
		return "succeeds";
	default:
		return "unknown";
	}
}

static json_t *
jchecks(const sk_check *c, size_t n)
{
	json_t *a = json_array();
	int bad = 0;

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();
		char want[320];

		sk_check_expect_format(&c[i], want, sizeof(want));
		if (o != NULL) {
			bad |= json_object_set_new(o, "name", sk_json_str(c[i].name));
			bad |= json_object_set_new(o, "sql", sk_json_str(c[i].sql));
			bad |= json_object_set_new(o, "path", sk_json_str(c[i].path));
			bad |= json_object_set_new(
			    o, "expect", sk_json_str(expect_name(c[i].expect)));
			bad |= json_object_set_new(o, "op", sk_json_str(c[i].op));
			bad |= json_object_set_new(o, "value", sk_json_str(c[i].value));
			bad |= json_object_set_new(
			    o, "sqlstate", sk_json_str(c[i].sqlstate));
			bad |= json_object_set_new(o, "expected", sk_json_str(want));
			bad |= json_object_set_new(
			    o, "report_value", json_boolean(c[i].report_value));
		}
		bad |= json_array_append_new(a, o);
	}
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *
jwaivers(const sk_waiver *w, size_t n)
{
	json_t *a = json_array();
	int bad = 0;

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object();

		if (o != NULL) {
			bad |= json_object_set_new(o, "rule", sk_json_str(w[i].rule));
			bad |= json_object_set_new(
			    o, "reason", sk_json_str(w[i].reason));
		}
		bad |= json_array_append_new(a, o);
	}
	if (bad) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *
jpreflight(const sk_preflight *pf)
{
	json_t *o = json_object(), *reqs = json_array();
	int bad = 0;

	if (o == NULL || reqs == NULL) {
		json_decref(o);
		json_decref(reqs);
		return NULL;
	}
	bad |= json_object_set_new(
	    o, "min_server_version", json_integer(pf->min_server_version));
	bad |= json_object_set_new(o, "roles", jstrv(pf->roles, pf->nroles));
	bad |= json_object_set_new(
	    o, "extensions", jstrv(pf->extensions, pf->nextensions));
	bad |= json_object_set_new(o, "max_transaction_age_ms",
	    json_integer(pf->max_transaction_age_ms));
	bad |= json_object_set_new(
	    o, "max_connections_share", json_real(pf->max_connections_share));
	for (size_t i = 0; i < pf->nrequires; i++) {
		json_t *r = json_object();

		if (r != NULL) {
			bad |= json_object_set_new(
			    r, "plan", sk_json_str(pf->requires[i].plan));
			bad |= json_object_set_new(
			    r, "step", sk_json_str(pf->requires[i].step));
		}
		bad |= json_array_append_new(reqs, r);
	}
	bad |= json_object_set_new(o, "requires", reqs);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A backfill's tuning with plan.yaml's names (durations in ms). */
static json_t *
jtuning(const sk_backfill_tuning *t)
{
	json_t *o = json_object();
	int bad = 0;

	if (o == NULL)
		return NULL;
	bad |= json_object_set_new(o, "batch_min", json_integer(t->batch_min));
	bad |= json_object_set_new(o, "batch_max", json_integer(t->batch_max));
	bad |= json_object_set_new(
	    o, "batch_target_ms", json_integer(t->batch_target_ms));
	bad |= json_object_set_new(
	    o, "max_rows_per_second", json_real(t->max_rows_per_second));
	bad |= json_object_set_new(o, "max_replication_lag_ms",
	    json_integer(t->max_replication_lag_ms));
	bad |= json_object_set_new(o, "throttle_query", sk_json_str(t->throttle_query));
	bad |= json_object_set_new(
	    o, "autovacuum", json_boolean(!t->ignore_autovacuum));
	bad |= json_object_set_new(o, "dead_man_ms", json_integer(t->dead_man_ms));
	bad |= json_object_set_new(o, "workers", json_integer(t->workers));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The body of a data kind's step as its kind's key wants it: backfill
 * (table, update, where, tuning), expand (table, column, type, from,
 * using, reverse, tuning) or contract (table, column, from); json null
 * for a step of another kind. */
static json_t *
jdata_body(const sk_step *s, int kind)
{
	const sk_expand *e = s->expand;
	json_t *o;
	int bad = 0;

	if (s->kind != kind ||
	    (kind == SK_STEP_BACKFILL ? s->backfill == NULL : e == NULL))
		return json_null();
	if ((o = json_object()) == NULL)
		return NULL;
	if (kind == SK_STEP_BACKFILL) {
		bad |= json_object_set_new(o, "table", sk_json_str(s->backfill->table));
		bad |= json_object_set_new(
		    o, "update", sk_json_str(s->backfill->update));
		bad |= json_object_set_new(o, "where", sk_json_str(s->backfill->where));
		bad |= json_object_set_new(o, "tuning", jtuning(&s->backfill->tuning));
	} else {
		bad |= json_object_set_new(o, "table", sk_json_str(e->table));
		bad |= json_object_set_new(o, "column", sk_json_str(e->column));
		if (kind == SK_STEP_EXPAND)
			bad |= json_object_set_new(o, "type", sk_json_str(e->type));
		bad |= json_object_set_new(o, "from", sk_json_str(e->from));
		if (kind == SK_STEP_EXPAND) {
			bad |= json_object_set_new(o, "using", sk_json_str(e->forward));
			bad |= json_object_set_new(
			    o, "reverse", sk_json_str(e->backward));
			bad |= json_object_set_new(o, "tuning", jtuning(&e->tuning));
		}
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The format-1 additions to a step's JSON object. */
static int
jstep_extras(json_t *o, const sk_step *s)
{
	char hex[2 * SK_CHECKSUM_LEN + 1];
	int bad = 0;

	bad |= json_object_set_new(o, "pre", jchecks(s->pre, s->npre));
	bad |= json_object_set_new(o, "post", jchecks(s->post, s->npost));
	bad |= json_object_set_new(o, "checks", jchecks(s->checks, s->nchecks));
	bad |= json_object_set_new(
	    o, "lock_timeout_ms", json_integer(s->lock_timeout_ms));
	bad |= json_object_set_new(
	    o, "statement_timeout_ms", json_integer(s->statement_timeout_ms));
	bad |= json_object_set_new(o, "lock_retries", json_integer(s->lock_retries));
	bad |= json_object_set_new(
	    o, "retry_backoff_ms", json_integer(s->retry_backoff_ms));
	bad |= json_object_set_new(o, "waivers", jwaivers(s->waivers, s->nwaivers));
	bad |= json_object_set_new(o, "concurrent_indexes",
	    jstrv(s->concurrent_indexes, s->nconcurrent_indexes));
	sk_hex(s->text_checksum, SK_CHECKSUM_LEN, hex);
	bad |= json_object_set_new(o, "text_checksum",
	    !sk_step_has_text_checksum(s) ? json_null() : sk_json_str(hex));
	bad |= json_object_set_new(o, "backfill", jdata_body(s, SK_STEP_BACKFILL));
	bad |= json_object_set_new(o, "expand", jdata_body(s, SK_STEP_EXPAND));
	bad |= json_object_set_new(o, "contract", jdata_body(s, SK_STEP_CONTRACT));
	bad |= json_object_set_new(o, "flag", jflag_body(s));
	bad |= json_object_set_new(o, "move_tenant", plan_move_json(s));
	bad |= json_object_set_new(o, "purge_tenant", plan_purge_json(s));
	return bad;
}

int
sk_plan_print_json(FILE *out, const sk_plan *plan, const char *signer_hex, sk_err *err)
{
	json_t *root = json_object(), *phases = json_array(), *steps = json_array();
	int bad = 0;

	if (root == NULL || phases == NULL || steps == NULL) {
		json_decref(root);
		json_decref(phases);
		json_decref(steps);
		return sk_err_set(err, SK_ENOMEM, "describe plan: out of memory");
	}
	/* Each *_set_new takes its value even on failure (and fails on a
	 * NULL value), so one flag collects every allocation failure. */
	bad |= json_object_set_new(root, "format", json_integer(SK_PLAN_FORMAT));
	bad |= json_object_set_new(root, "id", sk_json_str(plan->id));
	bad |= json_object_set_new(root, "name", sk_json_str(plan->name));
	bad |= json_object_set_new(root, "created", json_integer(plan->created_unix));
	bad |= json_object_set_new(root, "expires", json_integer(plan->expires_unix));
	for (size_t i = 0; i < plan->nphases; i++) {
		const sk_phase *ph = &plan->phases[i];
		json_t *o = json_object();

		if (o != NULL) {
			bad |= json_object_set_new(o, "name", sk_json_str(ph->name));
			bad |= json_object_set_new(
			    o, "regions", jstrv(ph->regions, ph->nregions));
			bad |= json_object_set_new(o, "residency",
			    jstrv(ph->residency, ph->nresidency));
			bad |= json_object_set_new(
			    o, "pre", jchecks(ph->pre, ph->npre));
			bad |= json_object_set_new(
			    o, "post", jchecks(ph->post, ph->npost));
			if (ph->ngate_checks > 0)
				bad |= json_object_set_new(o, "checks",
				    jchecks(ph->gate_checks, ph->ngate_checks));
			bad |= plan_gates_json(o, ph);
		}
		bad |= json_array_append_new(phases, o);
	}
	for (size_t i = 0; i < plan->nsteps; i++) {
		const sk_step *s = &plan->steps[i];
		json_t *o = json_object();
		char hex[2 * SK_CHECKSUM_LEN + 1];

		sk_hex(s->checksum, SK_CHECKSUM_LEN, hex);
		if (o != NULL) {
			bad |= json_object_set_new(o, "id", sk_json_str(s->id));
			bad |= json_object_set_new(o, "kind",
			    sk_json_str(sk_step_kind_name(s->kind) != NULL ?
				    sk_step_kind_name(s->kind) :
				    "unknown"));
			bad |= json_object_set_new(
			    o, "transaction", json_boolean(!s->no_transaction));
			bad |= json_object_set_new(o, "checksum", sk_json_str(hex));
			bad |= json_object_set_new(o, "sql", sk_json_str(s->sql));
			bad |= json_object_set_new(o, "revert", sk_json_str(s->revert));
			bad |= json_object_set_new(o, "verify", sk_json_str(s->verify));
			bad |= json_object_set_new(
			    o, "sql_path", sk_json_str(s->sql_path));
			bad |= json_object_set_new(
			    o, "revert_path", sk_json_str(s->revert_path));
			bad |= json_object_set_new(
			    o, "verify_path", sk_json_str(s->verify_path));
			bad |= jstep_extras(o, s);
		}
		bad |= json_array_append_new(steps, o);
	}
	bad |= json_object_set_new(root, "phases", phases);
	bad |= json_object_set_new(root, "steps", steps);
	bad |= json_object_set_new(
	    root, "regions", jstrv(plan->regions, plan->nregions));
	bad |= json_object_set_new(root, "backup", json_boolean(plan->backup));
	bad |= json_object_set_new(
	    root, "rollback_backup", json_boolean(!plan->no_rollback_backup));
	bad |= json_object_set_new(root, "preflight", jpreflight(&plan->preflight));
	if (signer_hex != NULL)
		bad |= json_object_set_new(root, "signer", sk_json_str(signer_hex));
	if (bad) {
		json_decref(root);
		return sk_err_set(err, SK_ENOMEM, "describe plan: out of memory");
	}
	bad = json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (bad != 0 || fputc('\n', out) == EOF)
		return sk_err_set(err, SK_EIO, "describe plan: cannot write output");
	return SK_OK;
}

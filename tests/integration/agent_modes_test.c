/* agent_modes against real PostgreSQL: rehearsals and rollbacks called
 * directly (agent_rehearse_db, agent_rollback_db) on a session built the
 * way agent_exec builds it, in databases of the shared `pg` fixture
 * cluster (SKEIN_PGFIXTURE). "Changes nothing" is checked the way the
 * issue asks: pg_dump --schema-only and every table's row count (and
 * content hash), before and after. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgfixture.h"
#include "reports.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "agent_exec.h"
#include "agent_ledger.h"
#include "agent_modes.h"
#include "sk_pg.h"
#include "sk_util.h"

#define REGION "r1"

static char fixture_port[16];

/* ---- helpers: the fixture cluster -------------------------------------- */

static void
report_fail(const char *what, const char *text)
{
	print_error("%s: %s\n", what, text != NULL ? text : "(null)");
	fail();
}

/* A fresh database holding `items` (3 rows, a serial id); its conninfo
 * goes to conninfo. */
static void
db_create(const char *tag, char *name, size_t nlen, char *conninfo, size_t clen)
{
	pgfixture_create_db(fixture_port, tag, name, nlen);
	pgfixture_conninfo(conninfo, clen, fixture_port, name);
	pgfixture_exec_db(fixture_port, name,
	    "CREATE TABLE items (id serial PRIMARY KEY, name text NOT "
	    "NULL, price int);"
	    "INSERT INTO items (name, price) VALUES ('a', 10), ('b', "
	    "20), ('c', 30)");
}

/* Every table's row count and a hash of its rows, one line per table,
 * the ledger's included. */
static const char content_sql[] =
    "SELECT coalesce(string_agg(pg_catalog.format('%I.%I=%s', n.nspname, "
    "c.relname, (pg_catalog.xpath('/row/c/text()', pg_catalog.query_to_xml("
    "pg_catalog.format('SELECT count(*) || '':'' || md5(coalesce(string_agg("
    "t::text, '','' ORDER BY t::text), '''')) AS c FROM %I.%I t', n.nspname, "
    "c.relname), false, true, '')))[1]::text), E'\\n' ORDER BY n.nspname, "
    "c.relname), '') FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
    "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname "
    "NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE "
    "'pg_toast%'";

/* Remove the \restrict and \unrestrict lines newer pg_dump writes:
 * their key is random on every run. */
static void
drop_restrict_lines(char *text)
{
	char *w = text, *line = text, *nl;
	size_t n;

	while (*line != '\0') {
		nl = strchr(line, '\n');
		n = nl != NULL ? (size_t)(nl - line) + 1 : strlen(line);
		if (strncmp(line, "\\restrict ", 10) != 0 &&
		    strncmp(line, "\\unrestrict ", 12) != 0) {
			memmove(w, line, n);
			w += n;
		}
		line += n;
	}
	*w = '\0';
}

/* pg_dump --schema-only (without the schemas named in exclude, e.g.
 * "--exclude-schema=skein") followed by the content lines. Caller frees. */
static char *
snapshot(const char *db, const char *exclude)
{
	char cmd[512], buf[4096], *out = NULL, *content = NULL;
	size_t len = 0, n;
	FILE *p;
	PGconn *c;
	PGresult *r;

	snprintf(cmd, sizeof(cmd),
	    "pg_dump --schema-only %s -h 127.0.0.1 -p %s -U postgres %s",
	    exclude != NULL ? exclude : "", fixture_port, db);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
		char *grown = realloc(out, len + n + 1);

		assert_non_null(grown);
		out = grown;
		memcpy(out + len, buf, n);
		len += n;
	}
	if (pclose(p) != 0)
		report_fail("pg_dump", cmd);
	assert_true(len > 100);
	out[len] = '\0';
	drop_restrict_lines(out);
	c = pgfixture_connect(fixture_port, db, NULL);
	r = PQexec(c, content_sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		report_fail("content", PQresultErrorMessage(r));
	content = sk_strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	if (exclude != NULL) {
		/* The content lines of an excluded schema go too. */
		char *w = content, *line = content, *nl;

		while (*line != '\0') {
			nl = strchr(line, '\n');
			n = nl != NULL ? (size_t)(nl - line) + 1 : strlen(line);
			if (strncmp(line, "skein.", 6) != 0) {
				memmove(w, line, n);
				w += n;
			}
			line += n;
		}
		/* The last line kept may have been followed by one that
		 * was not. */
		if (w > content && w[-1] == '\n')
			w--;
		*w = '\0';
	}
	{
		char *all = malloc(len + strlen(content) + 32);

		assert_non_null(all);
		sprintf(all, "%s\n-- content --\n%s", out, content);
		free(out);
		free(content);
		return all;
	}
}

/* Fail naming the first line where the two differ (cmocka truncates
 * long messages, so the whole texts would not show). */
static void
assert_same_snapshot(const char *before, const char *after)
{
	const char *b = before, *a = after, *line = before;
	int n = 1;

	while (*b != '\0' && *b == *a) {
		if (*b == '\n') {
			line = b + 1;
			n++;
		}
		b++;
		a++;
	}
	if (*b == *a)
		return;
	print_error("snapshots differ at line %d:\nbefore: %.200s\nafter:  %.200s\n",
	    n, line, after + (line - before));
	fail();
}

static bool
has_skein_schema(const char *db)
{
	char buf[16];

	return strcmp(pgfixture_scalar_db(fixture_port, db,
			  "SELECT pg_catalog.to_regnamespace('skein') IS NOT NULL",
			  buf, sizeof(buf)),
		   "t") == 0;
}

/* ---- helpers: plans ---------------------------------------------------- */

typedef struct check_spec {
	const char *name;
	const char *sql;
	int expect;
	const char *op, *value, *sqlstate;
} check_spec;

#define NCHECKS 3

typedef struct step_spec {
	const char *id;
	const char *sql;
	const char *revert;
	const char *verify;
	bool no_transaction;
	check_spec pre[NCHECKS]; /* up to the first without a name */
	check_spec post[NCHECKS];
	const char *index; /* created concurrently */
} step_spec;

static sk_check *
checks_make(const check_spec *spec, size_t *n)
{
	sk_check *c = calloc(NCHECKS, sizeof(*c));

	assert_non_null(c);
	*n = 0;
	for (size_t i = 0; i < NCHECKS && spec[i].name != NULL; i++) {
		c[i].name = sk_strdup(spec[i].name);
		c[i].sql = sk_strdup(spec[i].sql);
		c[i].expect = spec[i].expect;
		c[i].op = sk_strdup(spec[i].op);
		c[i].value = sk_strdup(spec[i].value);
		c[i].sqlstate = sk_strdup(spec[i].sqlstate);
		(*n)++;
	}
	return c;
}

static sk_plan *
plan_make(const char *name, const char *id, const step_spec *specs, size_t n)
{
	sk_plan *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->name = sk_strdup(name);
	p->id = sk_strdup(id);
	p->steps = calloc(n, sizeof(*p->steps));
	assert_non_null(p->steps);
	p->nsteps = n;
	for (size_t i = 0; i < n; i++) {
		sk_step *s = &p->steps[i];

		s->id = sk_strdup(specs[i].id);
		s->kind = SK_STEP_SQL;
		s->sql = sk_strdup(specs[i].sql);
		s->sql_path = sk_strdup("step.sql");
		s->revert = sk_strdup(specs[i].revert);
		if (s->revert != NULL)
			s->revert_path = sk_strdup("revert.sql");
		s->verify = sk_strdup(specs[i].verify);
		if (s->verify != NULL)
			s->verify_path = sk_strdup("verify.sql");
		s->no_transaction = specs[i].no_transaction;
		s->pre = checks_make(specs[i].pre, &s->npre);
		s->post = checks_make(specs[i].post, &s->npost);
		if (specs[i].index != NULL) {
			s->concurrent_indexes = calloc(2, sizeof(char *));
			assert_non_null(s->concurrent_indexes);
			s->concurrent_indexes[0] = sk_strdup(specs[i].index);
			s->nconcurrent_indexes = 1;
		}
		s->lock_timeout_ms = 2000;
		s->statement_timeout_ms = 60000;
		s->lock_retries = 0;
		s->retry_backoff_ms = 50;
		sk_step_text_checksum(s, s->checksum);
	}
	return p;
}

/* Give plan one phase, for region r1, with these checks. */
static void
plan_phase(sk_plan *p, const check_spec *pre, const check_spec *post)
{
	sk_phase *ph;

	p->phases = calloc(1, sizeof(*p->phases));
	assert_non_null(p->phases);
	p->nphases = 1;
	ph = &p->phases[0];
	ph->name = sk_strdup("canary");
	ph->regions = calloc(1, sizeof(char *));
	assert_non_null(ph->regions);
	ph->regions[0] = sk_strdup(REGION);
	ph->nregions = 1;
	ph->pre = checks_make(pre, &ph->npre);
	ph->post = checks_make(post, &ph->npost);
}

/* ---- helpers: reports -------------------------------------------------- */

/* agent_db_ctx's emit: stamp like agent_exec does, then keep. */
static void
ctx_emit(void *arg, sk_report *r)
{
	collector *c = arg;

	snprintf(r->database, sizeof(r->database), "%s", c->db);
	if (r->at_ms == 0)
		r->at_ms = sk_now_ms();
	collect(c, r);
}

/* The CHECK report of the check called name. */
static bool
find_check(collector *c, const char *name, sk_check_result *out)
{
	bool found = false;

	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->n && !found; i++)
		if (c->r[i].event == SK_EV_CHECK && c->r[i].has_check &&
		    strcmp(c->r[i].check.name, name) == 0) {
			*out = c->r[i].check;
			found = true;
		}
	pthread_mutex_unlock(&c->mu);
	return found;
}

/* The step ids of every report of event, in order, comma-separated. */
static const char *
steps_of(collector *c, int event, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < c->n; i++)
		if (c->r[i].event == event && used + 1 < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
			    used > 0 ? "," : "", c->r[i].step_id);
	pthread_mutex_unlock(&c->mu);
	return buf;
}

/* ---- helpers: sessions ------------------------------------------------- */

/* A session as agent_exec hands it to the modes: connected by
 * sk_pg_connect, holding the ledger's session lock, outside a
 * transaction. */
typedef struct session {
	PGconn *conn;
	char (*hex)[AGENT_LEDGER_HEX_LEN];
	char (*text_hex)[AGENT_LEDGER_HEX_LEN];
	agent_db_ctx ctx;
} session;

static void
session_open(session *s, const sk_plan *plan, const char *db, const char *ci,
    collector *c, const char *rollout_id)
{
	char sql[128];
	sk_err err;

	memset(s, 0, sizeof(*s));
	if (sk_pg_connect(ci, "skein-agent/" REGION, &s->conn, &err) != SK_OK)
		report_fail("connect", err.msg);
	snprintf(sql, sizeof(sql), "SELECT pg_catalog.pg_advisory_lock(%" PRId64 ")",
	    AGENT_LEDGER_LOCK_KEY);
	pgfixture_exec(s->conn, sql);
	s->hex = calloc(plan->nsteps + 1, sizeof(*s->hex));
	s->text_hex = calloc(plan->nsteps + 1, sizeof(*s->text_hex));
	assert_non_null(s->hex);
	assert_non_null(s->text_hex);
	for (size_t i = 0; i < plan->nsteps; i++) {
		static const uint8_t zero[SK_CHECKSUM_LEN];

		sk_hex(plan->steps[i].checksum, SK_CHECKSUM_LEN, s->hex[i]);
		/* As the executor does: a step with a format-1 text checksum. */
		if (memcmp(plan->steps[i].text_checksum, zero, SK_CHECKSUM_LEN) != 0)
			sk_hex(plan->steps[i].text_checksum, SK_CHECKSUM_LEN,
			    s->text_hex[i]);
	}
	s->ctx.conn = s->conn;
	s->ctx.plan = plan;
	s->ctx.phase = plan->nphases > 0 ? &plan->phases[0] : NULL;
	s->ctx.region = REGION;
	s->ctx.database = db;
	s->ctx.rollout_id = rollout_id;
	s->ctx.hex = (const char(*)[AGENT_LEDGER_HEX_LEN])s->hex;
	s->ctx.text_hex = (const char(*)[AGENT_LEDGER_HEX_LEN])s->text_hex;
	s->ctx.emit = ctx_emit;
	s->ctx.emit_arg = c;
	s->ctx.conninfo = ci;
}

static void
session_close(session *s)
{
	PQfinish(s->conn);
	free(s->hex);
	free(s->text_hex);
}

/* Run fn (agent_rehearse_db or agent_rollback_db) on a fresh session as
 * rollout `rollout`; whatever the verdict, the session is left outside a
 * transaction. */
static int
run_session(int (*fn)(const agent_db_ctx *, sk_err *), const char *rollout,
    const sk_plan *plan, const char *db, const char *ci, collector *c, sk_err *err)
{
	session s;
	int rc;

	session_open(&s, plan, db, ci, c, rollout);
	sk_err_clear(err);
	rc = fn(&s.ctx, err);
	assert_int_equal(PQtransactionStatus(s.conn), PQTRANS_IDLE);
	session_close(&s);
	return rc;
}

static int
rehearse(const sk_plan *plan, const char *db, const char *ci, collector *c, sk_err *err)
{
	return run_session(agent_rehearse_db, "ro-rehearse", plan, db, ci, c, err);
}

static int
rollback(const sk_plan *plan, const char *db, const char *ci, collector *c, sk_err *err)
{
	return run_session(agent_rollback_db, "ro-rollback", plan, db, ci, c, err);
}

/* A rollback's before_revert that notes when it ran: how many steps of
 * plan shop the ledger held then, and fails with rc when rc is not
 * SK_OK (a backup that could not be taken). */
typedef struct guard_probe {
	const char *db;
	int calls;
	long steps_then;
	int rc;
} guard_probe;

static int
probe_before_revert(void *arg, sk_err *err)
{
	guard_probe *g = arg;

	g->calls++;
	g->steps_then = pgfixture_long_db(fixture_port, g->db,
	    "SELECT count(*) FROM skein.steps WHERE plan_name = 'shop'");
	if (g->rc != SK_OK)
		return sk_err_set(err, g->rc,
		    "back up " REGION "/%s before rolling back plan shop: no "
		    "space left",
		    g->db);
	return SK_OK;
}

/* rollback with g as the context's before_revert. */
static int
rollback_guarded(const sk_plan *plan, const char *db, const char *ci,
    collector *c, guard_probe *g, sk_err *err)
{
	session s;
	int rc;

	session_open(&s, plan, db, ci, c, "ro-rollback");
	s.ctx.before_revert = probe_before_revert;
	s.ctx.before_revert_arg = g;
	sk_err_clear(err);
	rc = agent_rollback_db(&s.ctx, err);
	assert_int_equal(PQtransactionStatus(s.conn), PQTRANS_IDLE);
	session_close(&s);
	return rc;
}

/* How a rollback through the executor is asked to back up: the
 * agent's backup_dir (NULL: none set) and the command's --no-backup. */
typedef struct backup_opts {
	const char *dir;
	bool no_backup;
} backup_opts;

/* Run plan with the real executor in mode, backing up as b says (NULL:
 * no backup_dir, no --no-backup); reports go to c (may be NULL). */
static int
run_exec_backup(const sk_plan *plan, const char *db, const char *ci, int mode,
    const backup_opts *b, collector *c, sk_err *err)
{
	sk_db_config cfg;
	agent_exec_opts o;

	memset(&cfg, 0, sizeof(cfg));
	cfg.name = (char *)db;
	cfg.conninfo = (char *)ci;
	memset(&o, 0, sizeof(o));
	o.region = REGION;
	o.rollout_id = mode == SK_MODE_APPLY ? "ro-apply" : "ro-exec";
	o.databases = &cfg;
	o.ndatabases = 1;
	o.retry_min_ms = 20;
	o.retry_max_ms = 200;
	o.mode = mode;
	o.report = c != NULL ? collect : NULL;
	o.report_arg = c;
	if (b != NULL) {
		o.backup_dir = b->dir;
		o.no_backup = b->no_backup;
	}
	sk_err_clear(err);
	return agent_exec_run(plan, &o, err);
}

/* run_exec_backup without a backup_dir; a rollback says --no-backup. */
static int
run_exec(const sk_plan *plan, const char *db, const char *ci, int mode,
    collector *c, sk_err *err)
{
	static const backup_opts none = { NULL, true };

	return run_exec_backup(plan, db, ci, mode, &none, c, err);
}

/* Apply plan with the real executor, which must succeed. */
static void
apply(const sk_plan *plan, const char *db, const char *ci)
{
	sk_err err;

	if (run_exec(plan, db, ci, SK_MODE_APPLY, NULL, &err) != SK_OK)
		report_fail("apply", err.msg);
}

/* ---- rehearsal ---------------------------------------------------------- */

static void
test_rehearsal_of_a_good_plan_is_ready_and_changes_nothing(void **state)
{
	static const check_spec phase_pre[NCHECKS] = {
		{ "items_present", "SELECT count(*) FROM items",
		    SK_EXPECT_COMPARE, ">=", "3", NULL },
	};
	static const check_spec phase_post[NCHECKS] = {
		{ "no_negative_qty", "SELECT 1 FROM orders WHERE qty < 0",
		    SK_EXPECT_NO_ROWS, NULL, NULL, NULL },
	};
	static const step_spec steps[] = {
		{ .id = "0001_orders",
		    .sql = "CREATE TABLE orders (id serial PRIMARY KEY, item_id "
			   "int NOT NULL REFERENCES items (id), qty int NOT NULL)",
		    .post = { { "orders_empty", "SELECT count(*) FROM orders",
			SK_EXPECT_COMPARE, "=", "0", NULL } } },
		{ .id = "0002_sku",
		    .sql = "ALTER TABLE items ADD COLUMN sku text;\n"
			   "UPDATE items SET sku = 'sku-' || id",
		    .verify = "SELECT count(*) = 3 FROM items WHERE sku IS NOT NULL",
		    .pre = { { "no_sku_yet",
			"SELECT 1 FROM information_schema.columns WHERE "
			"table_name = 'items' AND column_name = 'sku'",
			SK_EXPECT_NO_ROWS, NULL, NULL, NULL } } },
		{ .id = "0003_seed",
		    .sql = "INSERT INTO orders (item_id, qty) VALUES (1, 2), (2, 5)",
		    .post = { { "fk_holds", "INSERT INTO orders (item_id, qty) VALUES (999, 1)",
			SK_EXPECT_FAILS, NULL, NULL, "23503" } } },
	};
	char name[64], ci[256], *before, *after;
	sk_plan *plan = plan_make("shop", "plan-good", steps, 3);
	sk_check_result cr = { 0 };
	collector c;
	sk_report r;
	sk_err err;

	(void)state;
	plan_phase(plan, phase_pre, phase_post);
	db_create("good", name, sizeof(name), ci, sizeof(ci));
	collector_init(&c, name);
	before = snapshot(name, NULL);

	if (rehearse(plan, name, ci, &c, &err) != SK_OK)
		report_fail("rehearse", err.msg);

	assert_int_equal(find_report(&c, SK_EV_STEP_REHEARSED, NULL, NULL, NULL), 3);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_REHEARSED, NULL, "0003_seed", &r), 1);
	assert_int_equal(r.rows, 2);
	assert_string_equal(r.database, name);
	assert_int_equal(find_report(&c, SK_EV_STEP_FAILED, NULL, NULL, NULL), 0);
	/* Every check ran inside the rehearsal and held. */
	assert_int_equal(find_report(&c, SK_EV_CHECK, NULL, NULL, NULL), 5);
	assert_true(find_check(&c, "orders_empty", &cr));
	assert_true(cr.passed);
	assert_string_equal(cr.when, "post");
	assert_true(find_check(&c, "fk_holds", &cr));
	assert_true(cr.passed);
	assert_true(find_check(&c, "items_present", &cr));
	assert_true(cr.passed);
	assert_true(find_check(&c, "no_negative_qty", &cr));
	assert_true(cr.passed);

	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);
	assert_int_equal(
	    pgfixture_long_db(fixture_port, name, "SELECT count(*) FROM items"), 3);
	assert_false(has_skein_schema(name));

	free(before);
	free(after);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_rehearsal_of_a_failing_step_is_blocked_and_changes_nothing(void **state)
{
	static const step_spec steps[] = {
		{ .id = "0001_orders",
		    .sql = "CREATE TABLE orders (id serial PRIMARY KEY, qty int)" },
		{ .id = "0002_sku",
		    .sql = "ALTER TABLE items ADD COLUMN sku text;\n"
			   "UPDATE items SET skuu = 'x'" },
		{ .id = "0003_seed", .sql = "INSERT INTO orders (qty) VALUES (1)" },
	};
	char name[64], ci[256], *before, *after;
	sk_plan *plan = plan_make("shop", "plan-bad", steps, 3);
	collector c;
	sk_report r;
	sk_err err;

	(void)state;
	db_create("bad", name, sizeof(name), ci, sizeof(ci));
	collector_init(&c, name);
	before = snapshot(name, NULL);

	assert_int_equal(rehearse(plan, name, ci, &c, &err), SK_ESQL);
	assert_string_equal(err.sqlstate, "42703");
	assert_contains(err.msg, name);
	assert_contains(err.msg, "BLOCKED");
	assert_contains(err.msg, "step 0002_sku");
	assert_contains(err.msg, "skuu");

	assert_int_equal(
	    find_report(&c, SK_EV_STEP_REHEARSED, NULL, "0001_orders", NULL), 1);
	assert_int_equal(find_report(&c, SK_EV_STEP_FAILED, NULL, "0002_sku", &r), 1);
	assert_string_equal(r.error.sqlstate, "42703");
	assert_contains(r.error.msg, "rehearse step 0002_sku");
	/* Later steps build on the failed one: not rehearsed. */
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_REHEARSED, NULL, "0003_seed", NULL), 0);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FAILED, NULL, "0003_seed", NULL), 0);

	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);
	assert_false(has_skein_schema(name));

	free(before);
	free(after);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_rehearsal_of_a_failing_post_check_names_the_check_and_value(void **state)
{
	static const step_spec steps[] = {
		{ .id = "0001_clear_price",
		    .sql = "UPDATE items SET price = NULL WHERE id = 2",
		    .post = { { "prices_set", "SELECT count(*) FROM items WHERE price IS NULL",
			SK_EXPECT_COMPARE, "=", "0", NULL } } },
	};
	char name[64], ci[256], *before, *after;
	sk_plan *plan = plan_make("shop", "plan-post", steps, 1);
	sk_check_result cr = { 0 };
	collector c;
	sk_err err;

	(void)state;
	db_create("post", name, sizeof(name), ci, sizeof(ci));
	collector_init(&c, name);
	before = snapshot(name, NULL);

	assert_int_equal(rehearse(plan, name, ci, &c, &err), SK_ECHECK);
	assert_contains(err.msg, "BLOCKED");
	assert_contains(err.msg, "step 0001_clear_price");
	assert_contains(err.msg, "prices_set");
	assert_contains(err.msg, "saw 1");
	assert_true(find_check(&c, "prices_set", &cr));
	assert_false(cr.passed);
	assert_string_equal(cr.seen, "1");
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FAILED, NULL, "0001_clear_price", NULL), 1);
	assert_int_equal(find_report(&c, SK_EV_STEP_REHEARSED, NULL, NULL, NULL), 0);

	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM items WHERE price IS NULL"),
	    0);

	free(before);
	free(after);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_non_transactional_step_is_listed_as_not_rehearsable(void **state)
{
	static const step_spec steps[] = {
		{ .id = "0001_note", .sql = "ALTER TABLE items ADD COLUMN note text" },
		{ .id = "0002_index",
		    .sql = "CREATE INDEX CONCURRENTLY IF NOT EXISTS items_name_idx "
			   "ON items (name)",
		    .no_transaction = true,
		    .pre = { { "note_added",
			"SELECT count(*) FROM information_schema.columns WHERE "
			"table_name = 'items' AND column_name = 'note'",
			SK_EXPECT_COMPARE, "=", "1", NULL } },
		    .index = "items_name_idx" },
		{ .id = "0003_fill", .sql = "UPDATE items SET note = name" },
	};
	char name[64], ci[256], buf[64], *before, *after;
	sk_plan *plan = plan_make("shop", "plan-cic", steps, 3);
	sk_check_result cr = { 0 };
	collector c;
	sk_report r;
	sk_err err;

	(void)state;
	db_create("cic", name, sizeof(name), ci, sizeof(ci));
	collector_init(&c, name);
	before = snapshot(name, NULL);

	/* READY: a step that cannot be rehearsed is listed, not a reason. */
	if (rehearse(plan, name, ci, &c, &err) != SK_OK)
		report_fail("rehearse", err.msg);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_NOT_REHEARSABLE, NULL, "0002_index", &r), 1);
	assert_contains(r.detail, "CREATE INDEX CONCURRENTLY");
	assert_contains(r.detail, "not rehearsed");
	assert_string_equal(steps_of(&c, SK_EV_STEP_REHEARSED, buf, sizeof(buf)),
	    "0001_note,0003_fill");
	/* Its pre-check ran, and saw the column step 1 added. */
	assert_true(find_check(&c, "note_added", &cr));
	assert_true(cr.passed);

	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT coalesce(pg_catalog.to_regclass("
				"'items_name_idx')::text, 'none')",
				buf, sizeof(buf)),
	    "none");

	free(before);
	free(after);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_rehearsal_skips_applied_steps_and_refuses_drift_without_writing(void **state)
{
	static const step_spec first[] = {
		{ .id = "0001_orders",
		    .sql = "CREATE TABLE orders (id int PRIMARY KEY, qty int)",
		    .post = { { "orders_there", "SELECT count(*) FROM orders",
			SK_EXPECT_COMPARE, "=", "0", NULL } } },
	};
	static const step_spec both[] = {
		{ .id = "0001_orders",
		    .sql = "CREATE TABLE orders (id int PRIMARY KEY, qty int)" },
		{ .id = "0002_seed", .sql = "INSERT INTO orders VALUES (1, 1)" },
	};
	static const step_spec drifted[] = {
		{ .id = "0001_orders",
		    .sql = "CREATE TABLE orders (id bigint PRIMARY KEY, qty int)" },
		{ .id = "0002_seed", .sql = "INSERT INTO orders VALUES (1, 1)" },
	};
	char name[64], ci[256], *before, *after;
	sk_plan *p1 = plan_make("shop", "plan-1", first, 1);
	sk_plan *p2 = plan_make("shop", "plan-2", both, 2);
	sk_plan *p3 = plan_make("shop", "plan-3", drifted, 2);
	collector c;
	sk_report r;
	sk_err err;

	(void)state;
	db_create("ledger", name, sizeof(name), ci, sizeof(ci));
	apply(p1, name, ci);
	assert_true(has_skein_schema(name));
	before = snapshot(name, NULL);

	collector_init(&c, name);
	if (rehearse(p2, name, ci, &c, &err) != SK_OK)
		report_fail("rehearse", err.msg);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_SKIPPED, NULL, "0001_orders", NULL), 1);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_REHEARSED, NULL, "0002_seed", NULL), 1);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_REHEARSED, NULL, "0001_orders", NULL), 0);
	collector_fini(&c);
	/* Not a row in skein.steps, .events or .checks. */
	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);
	free(after);

	collector_init(&c, name);
	assert_int_equal(rehearse(p3, name, ci, &c, &err), SK_EDRIFT);
	assert_contains(err.msg, "BLOCKED");
	assert_contains(err.msg, "step 0001_orders: drift");
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FAILED, NULL, "0001_orders", &r), 1);
	assert_int_equal(r.error.code, SK_EDRIFT);
	assert_int_equal(find_report(&c, SK_EV_STEP_REHEARSED, NULL, NULL, NULL), 0);
	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);
	collector_fini(&c);

	free(before);
	free(after);
	pgfixture_drop_db(fixture_port, name);
	sk_plan_destroy(p1);
	sk_plan_destroy(p2);
	sk_plan_destroy(p3);
}

static void
test_rehearsal_lock_timeout_is_blocked_naming_the_blocker(void **state)
{
	static const step_spec steps[] = {
		{ .id = "0001_sku", .sql = "ALTER TABLE items ADD COLUMN sku text" },
	};
	char name[64], ci[256], pid[16], *before, *after;
	sk_plan *plan = plan_make("shop", "plan-lock", steps, 1);
	PGconn *blocker;
	collector c;
	sk_report r;
	sk_err err;

	(void)state;
	/* Room for the monitor to connect on a busy machine. */
	plan->steps[0].lock_timeout_ms = 1500;
	plan->steps[0].lock_retries = 5; /* a rehearsal does not use them */
	db_create("lock", name, sizeof(name), ci, sizeof(ci));
	collector_init(&c, name);
	before = snapshot(name, NULL);

	blocker = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(blocker, "SET application_name = 'blocker'");
	pgfixture_exec(blocker, "BEGIN");
	pgfixture_exec(blocker, "LOCK TABLE items IN ACCESS SHARE MODE");
	snprintf(pid, sizeof(pid), "pid %d", PQbackendPID(blocker));

	assert_int_equal(rehearse(plan, name, ci, &c, &err), SK_ELOCK);
	assert_string_equal(err.sqlstate, "55P03");
	assert_contains(err.msg, "BLOCKED");
	assert_contains(err.msg, "step 0001_sku");
	assert_contains(err.msg, "lock timeout");
	assert_contains(err.msg, pid);
	assert_true(find_report(&c, SK_EV_LOCK_WAIT, NULL, "0001_sku", &r) >= 1);
	assert_true(r.nblockers >= 1);
	assert_int_equal(r.blockers[0].pid, PQbackendPID(blocker));
	/* Tried once: no retry in a rehearsal. */
	assert_int_equal(find_report(&c, SK_EV_STEP_FAILED, NULL, "0001_sku", &r), 1);
	assert_int_equal(r.attempt, 1);

	pgfixture_exec(blocker, "ROLLBACK");
	PQfinish(blocker);
	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);

	free(before);
	free(after);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* A check that waits for a lock is watched like the step's SQL: the
 * BLOCKED reason and a LOCK_WAIT report name the session holding it. */
static void
test_rehearsal_check_lock_timeout_names_the_blocker(void **state)
{
	static const step_spec steps[] = {
		{ .id = "0001_notes",
		    .sql = "CREATE TABLE notes (id int)",
		    .pre = { { "items_present", "SELECT count(*) FROM items",
			SK_EXPECT_COMPARE, ">", "0", NULL } } },
	};
	char name[64], ci[256], pid[16], *before, *after;
	sk_plan *plan = plan_make("shop", "plan-chklock", steps, 1);
	PGconn *blocker;
	collector c;
	sk_report r;
	sk_err err;

	(void)state;
	/* Room for the monitor to connect on a busy machine. */
	plan->steps[0].lock_timeout_ms = 1500;
	plan->steps[0].lock_retries = 5; /* a rehearsal does not use them */
	db_create("chklock", name, sizeof(name), ci, sizeof(ci));
	collector_init(&c, name);
	before = snapshot(name, NULL);

	blocker = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(blocker, "BEGIN");
	pgfixture_exec(blocker, "LOCK TABLE items IN ACCESS EXCLUSIVE MODE");
	snprintf(pid, sizeof(pid), "pid %d", PQbackendPID(blocker));

	assert_int_equal(rehearse(plan, name, ci, &c, &err), SK_ELOCK);
	assert_string_equal(err.sqlstate, "55P03");
	assert_contains(err.msg, "BLOCKED");
	assert_contains(err.msg, "step 0001_notes");
	assert_contains(err.msg, "check items_present (pre): lock timeout after 1500 ms");
	assert_contains(err.msg, pid);
	assert_null(strstr(err.msg, "was not seen"));
	assert_contains(err.hint, "does not retry lock timeouts");
	assert_true(find_report(&c, SK_EV_LOCK_WAIT, NULL, "0001_notes", &r) >= 1);
	assert_true(r.nblockers >= 1);
	assert_int_equal(r.blockers[0].pid, PQbackendPID(blocker));
	assert_contains(r.detail, pid);
	assert_int_equal(find_report(&c, SK_EV_CHECK, NULL, "0001_notes", &r), 1);
	assert_false(r.check.passed);
	assert_contains(r.check.seen, "55P03");
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FAILED, NULL, "0001_notes", &r), 1);
	assert_true(r.nblockers >= 1);
	assert_int_equal(r.blockers[0].pid, PQbackendPID(blocker));
	assert_int_equal(find_report(&c, SK_EV_STEP_REHEARSED, NULL, NULL, NULL), 0);

	pgfixture_exec(blocker, "ROLLBACK");
	PQfinish(blocker);
	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);

	free(before);
	free(after);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_transaction_control_in_a_step_is_refused_before_anything_runs(void **state)
{
	static const step_spec steps[] = {
		{ .id = "0001_leak",
		    .sql = "CREATE TABLE leak (id int);\nCOMMIT;\n"
			   "CREATE TABLE leak2 (id int)" },
	};
	static const step_spec in_check[] = {
		{ .id = "0001_ok",
		    .sql = "CREATE TABLE fine (id int)",
		    .post = { { "sneaky", "ROLLBACK", SK_EXPECT_FAILS, NULL,
			NULL, "25P01" } } },
	};
	char name[64], ci[256], buf[64], *before, *after;
	sk_plan *plan = plan_make("shop", "plan-tx", steps, 1);
	sk_plan *plan2 = plan_make("shop", "plan-tx2", in_check, 1);
	collector c;
	sk_err err;

	(void)state;
	db_create("txctl", name, sizeof(name), ci, sizeof(ci));
	collector_init(&c, name);
	before = snapshot(name, NULL);

	assert_int_equal(rehearse(plan, name, ci, &c, &err), SK_EINVAL);
	assert_contains(err.msg, "BLOCKED");
	assert_contains(err.msg, "step 0001_leak");
	assert_contains(err.msg, "step.sql:2");
	assert_contains(err.msg, "COMMIT");
	assert_int_equal(find_report(&c, SK_EV_STEP_REHEARSED, NULL, NULL, NULL), 0);

	assert_int_equal(rehearse(plan2, name, ci, &c, &err), SK_EINVAL);
	assert_contains(err.msg, "check sneaky");
	assert_contains(err.msg, "ROLLBACK");

	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT count(*) FROM pg_catalog.pg_class WHERE "
				"relname IN ('leak', 'leak2', 'fine')",
				buf, sizeof(buf)),
	    "0");

	free(before);
	free(after);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
	sk_plan_destroy(plan2);
}

static void
test_preflight_failure_is_a_reason_and_the_steps_are_still_rehearsed(void **state)
{
	static const step_spec steps[] = {
		{ .id = "0001_sku", .sql = "ALTER TABLE items ADD COLUMN sku text" },
		{ .id = "0002_bad", .sql = "SELECT 1/0" },
	};
	char name[64], ci[256], *before, *after;
	sk_plan *plan = plan_make("shop", "plan-pf", steps, 2);
	sk_check_result cr = { 0 };
	collector c;
	sk_err err;

	(void)state;
	plan->preflight.min_server_version = 990000;
	db_create("pf", name, sizeof(name), ci, sizeof(ci));
	collector_init(&c, name);
	before = snapshot(name, NULL);

	assert_int_equal(rehearse(plan, name, ci, &c, &err), SK_EPREFLIGHT);
	/* Both reasons: the preflight check and the failing step. */
	assert_contains(err.msg, "BLOCKED");
	assert_contains(err.msg, "server_version");
	assert_contains(err.msg, "step 0002_bad");
	assert_contains(err.msg, "22012");
	assert_true(find_check(&c, "server_version", &cr));
	assert_false(cr.passed);
	assert_string_equal(cr.when, "preflight");
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_REHEARSED, NULL, "0001_sku", NULL), 1);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FAILED, NULL, "0002_bad", NULL), 1);

	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);
	assert_false(has_skein_schema(name));

	free(before);
	free(after);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* ---- rollback ----------------------------------------------------------- */

/* Three steps whose reverts only work newest first: 0002's revert needs
 * the table 0001's revert drops. */
static const step_spec three_steps[] = {
	{ .id = "0001_orders",
	    .sql = "CREATE TABLE orders (id serial PRIMARY KEY, qty int NOT NULL)",
	    .revert = "DROP TABLE orders" },
	{ .id = "0002_note",
	    .sql = "ALTER TABLE orders ADD COLUMN note text",
	    .revert = "ALTER TABLE orders DROP COLUMN note" },
	{ .id = "0003_seed",
	    .sql = "INSERT INTO orders (qty, note) VALUES (7, 'x'), (8, 'y')",
	    .revert = "DELETE FROM orders WHERE qty IN (7, 8)" },
};

static void
test_rollback_reverts_in_reverse_order_and_the_plan_applies_again(void **state)
{
	char name[64], ci[256], buf[128], *before, *after;
	sk_plan *plan = plan_make("shop", "plan-rb", three_steps, 3);
	collector c;
	sk_report r;
	sk_err err;

	(void)state;
	db_create("rb", name, sizeof(name), ci, sizeof(ci));
	before = snapshot(name, "--exclude-schema=skein");
	apply(plan, name, ci);
	assert_int_equal(
	    pgfixture_long_db(fixture_port, name, "SELECT count(*) FROM orders"), 2);

	collector_init(&c, name);
	if (rollback(plan, name, ci, &c, &err) != SK_OK)
		report_fail("rollback", err.msg);
	assert_string_equal(steps_of(&c, SK_EV_STEP_REVERTED, buf, sizeof(buf)),
	    "0003_seed,0002_note,0001_orders");
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_REVERTED, NULL, "0003_seed", &r), 1);
	assert_int_equal(r.rows, 2);
	assert_int_equal(find_report(&c, SK_EV_STEP_FAILED, NULL, NULL, NULL), 0);
	collector_fini(&c);

	/* The database is as before the plan; the ledger says why. */
	after = snapshot(name, "--exclude-schema=skein");
	assert_same_snapshot(before, after);
	free(after);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps "
			     "WHERE plan_name = 'shop'"),
	    0);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT string_agg(step_id || '/' || rollout_id || "
				"'/' || applied_rollout_id, ',' ORDER BY id) "
				"FROM skein.reverts",
				buf, sizeof(buf)),
	    "0003_seed/ro-rollback/ro-apply,0002_note/ro-rollback/ro-apply,"
	    "0001_orders/ro-rollback/ro-apply");

	/* Applying again applies again. */
	apply(plan, name, ci);
	assert_int_equal(
	    pgfixture_long_db(fixture_port, name, "SELECT count(*) FROM orders"), 2);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps "
			     "WHERE plan_name = 'shop'"),
	    3);

	/* A second rollback after that reverts it all once more. */
	collector_init(&c, name);
	if (rollback(plan, name, ci, &c, &err) != SK_OK)
		report_fail("rollback", err.msg);
	collector_fini(&c);
	after = snapshot(name, "--exclude-schema=skein");
	assert_same_snapshot(before, after);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.reverts"),
	    6);

	free(before);
	free(after);
	pgfixture_drop_db(fixture_port, name);
	sk_plan_destroy(plan);
}

static void
test_rollback_refuses_when_a_recorded_step_has_no_revert(void **state)
{
	static const step_spec steps[] = {
		{ .id = "0001_orders",
		    .sql = "CREATE TABLE orders (id int PRIMARY KEY)",
		    .revert = "DROP TABLE orders" },
		{ .id = "0002_seed", .sql = "INSERT INTO orders VALUES (1)" },
		{ .id = "0003_more", .sql = "INSERT INTO orders VALUES (2)" },
	};
	char name[64], ci[256], *before, *after;
	sk_plan *plan = plan_make("shop", "plan-norev", steps, 3);
	collector c;
	sk_err err;

	(void)state;
	db_create("norev", name, sizeof(name), ci, sizeof(ci));
	apply(plan, name, ci);
	before = snapshot(name, NULL);

	collector_init(&c, name);
	assert_int_equal(rollback(plan, name, ci, &c, &err), SK_ESTATE);
	assert_contains(err.msg, "refused");
	assert_contains(err.msg, "no revert script for step 0002_seed, 0003_more");
	assert_contains(err.hint, "nothing was reverted");
	assert_int_equal(find_report(&c, SK_EV_STEP_REVERTED, NULL, NULL, NULL), 0);
	assert_int_equal(find_report(&c, SK_EV_STEP_STARTED, NULL, NULL, NULL), 0);

	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    3);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.reverts"),
	    0);

	free(before);
	free(after);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_rollback_refuses_drift_and_steps_missing_from_the_plan(void **state)
{
	static const step_spec drifted[] = {
		{ .id = "0001_orders",
		    .sql = "CREATE TABLE orders (id bigserial PRIMARY KEY, qty "
			   "int NOT NULL)",
		    .revert = "DROP TABLE orders" },
		{ .id = "0002_note",
		    .sql = "ALTER TABLE orders ADD COLUMN note text",
		    .revert = "ALTER TABLE orders DROP COLUMN note" },
		{ .id = "0003_seed",
		    .sql = "INSERT INTO orders (qty, note) VALUES (7, 'x'), (8, "
			   "'y')",
		    .revert = "DELETE FROM orders WHERE qty IN (7, 8)" },
	};
	char name[64], ci[256], *before, *after;
	sk_plan *plan = plan_make("shop", "plan-full", three_steps, 3);
	sk_plan *older = plan_make("shop", "plan-older", three_steps, 2);
	sk_plan *other = plan_make("shop", "plan-drift", drifted, 3);
	collector c;
	sk_err err;

	(void)state;
	db_create("rbrefuse", name, sizeof(name), ci, sizeof(ci));
	apply(plan, name, ci);
	before = snapshot(name, NULL);

	collector_init(&c, name);
	assert_int_equal(rollback(other, name, ci, &c, &err), SK_EDRIFT);
	assert_contains(err.msg, "refused");
	assert_contains(err.msg, "step 0001_orders is recorded with checksum");
	assert_contains(err.detail, "ledger checksum");
	assert_int_equal(rollback(older, name, ci, &c, &err), SK_ESTATE);
	assert_contains(err.msg, "recorded but not in this plan: step 0003_seed");
	assert_contains(err.hint, "roll back with the plan that applied them");
	assert_int_equal(find_report(&c, SK_EV_STEP_STARTED, NULL, NULL, NULL), 0);
	assert_int_equal(find_report(&c, SK_EV_STEP_REVERTED, NULL, NULL, NULL), 0);
	collector_fini(&c);

	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    3);

	free(before);
	free(after);
	pgfixture_drop_db(fixture_port, name);
	sk_plan_destroy(plan);
	sk_plan_destroy(older);
	sk_plan_destroy(other);
}

/* A step recorded by an older agent carries the format-1 text checksum:
 * a rehearsal skips it and a rollback reverts it (neither is drift); a
 * checksum that is neither is drift. */
static void
test_format1_text_checksum_is_rolled_back_not_drift(void **state)
{
	char name[64], ci[256], sql[256], hex[AGENT_LEDGER_HEX_LEN];
	sk_plan *plan = plan_make("shop", "plan-f1", three_steps, 3);
	collector c;
	sk_err err;

	(void)state;
	/* The plan as a current build makes it: normalized checksums, with
	 * the text checksum beside them. */
	for (size_t i = 0; i < plan->nsteps; i++) {
		sk_step *st = &plan->steps[i];

		sk_step_text_checksum(st, st->text_checksum);
		assert_int_equal(sk_step_checksum(st, st->checksum, NULL), SK_OK);
		assert_true(
		    memcmp(st->checksum, st->text_checksum, SK_CHECKSUM_LEN) != 0);
	}
	db_create("fmt1", name, sizeof(name), ci, sizeof(ci));
	apply(plan, name, ci);
	/* An older agent recorded every step with its text checksum. */
	for (size_t i = 0; i < plan->nsteps; i++) {
		sk_hex(plan->steps[i].text_checksum, SK_CHECKSUM_LEN, hex);
		snprintf(sql, sizeof(sql),
		    "UPDATE skein.steps SET checksum = '%s' WHERE step_id = '%s'",
		    hex, plan->steps[i].id);
		pgfixture_exec_db(fixture_port, name, sql);
	}

	collector_init(&c, name);
	if (rehearse(plan, name, ci, &c, &err) != SK_OK)
		report_fail("rehearse", err.msg);
	assert_int_equal(find_report(&c, SK_EV_STEP_SKIPPED, NULL, NULL, NULL), 3);
	collector_fini(&c);

	/* One garbled row: drift, nothing reverted. */
	pgfixture_exec_db(fixture_port, name,
	    "UPDATE skein.steps SET checksum = repeat('0', 64) "
	    "WHERE step_id = '0001_orders'");
	collector_init(&c, name);
	assert_int_equal(rollback(plan, name, ci, &c, &err), SK_EDRIFT);
	assert_int_equal(find_report(&c, SK_EV_STEP_REVERTED, NULL, NULL, NULL), 0);
	collector_fini(&c);
	sk_hex(plan->steps[0].text_checksum, SK_CHECKSUM_LEN, hex);
	snprintf(sql, sizeof(sql),
	    "UPDATE skein.steps SET checksum = '%s' WHERE step_id = '0001_orders'",
	    hex);
	pgfixture_exec_db(fixture_port, name, sql);

	collector_init(&c, name);
	if (rollback(plan, name, ci, &c, &err) != SK_OK)
		report_fail("rollback", err.msg);
	assert_int_equal(find_report(&c, SK_EV_STEP_REVERTED, NULL, NULL, NULL), 3);
	collector_fini(&c);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    0);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM pg_class WHERE relname = 'orders'"),
	    0);

	pgfixture_drop_db(fixture_port, name);
	sk_plan_destroy(plan);
}

static void
test_failing_revert_stops_and_keeps_the_earlier_reverts(void **state)
{
	char name[64], ci[256], buf[128];
	sk_plan *plan = plan_make("shop", "plan-revfail", three_steps, 3);
	collector c;
	sk_report r;
	sk_err err;

	(void)state;
	/* Revert scripts are not part of the checksum: the applied plan's
	 * rows match this one. */
	free(plan->steps[1].revert);
	plan->steps[1].revert = sk_strdup("ALTER TABLE orders DROP COLUMN note;\n"
					  "SELECT * FROM no_such_table");
	db_create("revfail", name, sizeof(name), ci, sizeof(ci));
	apply(plan, name, ci);

	collector_init(&c, name);
	assert_int_equal(rollback(plan, name, ci, &c, &err), SK_ESQL);
	assert_string_equal(err.sqlstate, "42P01");
	assert_contains(err.msg, "roll back step 0002_note");
	assert_contains(err.msg, name);
	assert_string_equal(
	    steps_of(&c, SK_EV_STEP_REVERTED, buf, sizeof(buf)), "0003_seed");
	assert_int_equal(find_report(&c, SK_EV_STEP_FAILED, NULL, "0002_note", &r), 1);
	assert_string_equal(r.error.sqlstate, "42P01");
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_STARTED, NULL, "0001_orders", NULL), 0);

	/* 0003's revert stays committed; 0002's left no trace. */
	assert_int_equal(
	    pgfixture_long_db(fixture_port, name, "SELECT count(*) FROM orders"), 0);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM information_schema.columns "
			     "WHERE table_name = 'orders' AND column_name = 'note'"),
	    1);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT string_agg(step_id, ',' ORDER BY step_id) "
				"FROM skein.steps",
				buf, sizeof(buf)),
	    "0001_orders,0002_note");
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT string_agg(step_id, ',') FROM skein.reverts",
				buf, sizeof(buf)),
	    "0003_seed");
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT step_id || ',' || event || ',' || sqlstate "
				"FROM skein.events WHERE event = 'revert-failed'",
				buf, sizeof(buf)),
	    "0002_note,revert-failed,42P01");

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

static void
test_non_transactional_revert_runs_outside_a_transaction(void **state)
{
	static const step_spec steps[] = {
		{ .id = "0001_orders",
		    .sql = "CREATE TABLE orders (id int PRIMARY KEY, qty int)",
		    .revert = "DROP TABLE orders" },
		{ .id = "0002_index",
		    .sql = "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_qty_idx "
			   "ON orders (qty)",
		    .revert = "DROP INDEX CONCURRENTLY IF EXISTS orders_qty_idx",
		    .no_transaction = true,
		    .index = "orders_qty_idx" },
	};
	char name[64], ci[256], buf[128];
	sk_plan *plan = plan_make("shop", "plan-cicrev", steps, 2);
	collector c;
	sk_err err;

	(void)state;
	db_create("cicrev", name, sizeof(name), ci, sizeof(ci));
	apply(plan, name, ci);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT pg_catalog.to_regclass('orders_qty_idx')::text",
				buf, sizeof(buf)),
	    "orders_qty_idx");

	collector_init(&c, name);
	/* DROP INDEX CONCURRENTLY fails inside a transaction block (25001):
	 * success shows it ran outside one. */
	if (rollback(plan, name, ci, &c, &err) != SK_OK)
		report_fail("rollback", err.msg);
	assert_string_equal(steps_of(&c, SK_EV_STEP_REVERTED, buf, sizeof(buf)),
	    "0002_index,0001_orders");
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT coalesce(pg_catalog.to_regclass('orders')"
				"::text, 'none')",
				buf, sizeof(buf)),
	    "none");
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    0);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.reverts"),
	    2);

	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* The revert's table is held by a transaction that outlives its
 * lock_timeout: the revert waits for it without queueing (after at most
 * one attempt, made while it was young) and, when it outlasts the retry
 * budget, gives up naming it; when it ends within the budget, the revert
 * follows at once, in its first attempt. */
static void
test_rollback_waits_out_a_long_holder_then_gives_up_naming_it(void **state)
{
	static const step_spec steps[] = {
		{ .id = "0001_orders",
		    .sql = "CREATE TABLE orders (id int PRIMARY KEY)",
		    .revert = "DROP TABLE orders" },
	};
	char name[64], ci[256], pid[16], buf[64], *before, *after;
	sk_plan *plan = plan_make("shop", "plan-rblock", steps, 1);
	rollback_later rl;
	PGconn *blocker;
	collector c;
	sk_report r;
	sk_err err;

	(void)state;
	db_create("rblock", name, sizeof(name), ci, sizeof(ci));
	apply(plan, name, ci);
	plan->steps[0].lock_timeout_ms = 500;
	plan->steps[0].retry_backoff_ms = 50;
	plan->steps[0].lock_retries = 2;

	before = snapshot(name, "--exclude-schema=skein");
	blocker = pgfixture_connect(fixture_port, name, NULL);
	pgfixture_exec(blocker, "BEGIN");
	pgfixture_exec(blocker, "LOCK TABLE orders IN ACCESS SHARE MODE");
	snprintf(pid, sizeof(pid), "pid %d", PQbackendPID(blocker));

	/* A lock that never frees: the budget (3 x 500 + 50 + 100 ms), then
	 * SK_ELOCK. */
	collector_init(&c, name);
	if (rollback(plan, name, ci, &c, &err) != SK_ELOCK)
		report_fail("rollback", err.msg);
	assert_string_equal(err.sqlstate, "55P03");
	assert_contains(err.msg, "roll back step 0001_orders");
	assert_contains(err.msg,
	    "without queueing for a long transaction to end (the step's retry "
	    "budget, 1.6s: 3 attempts of 500 ms");
	assert_contains(err.msg, pid);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_FAILED, NULL, "0001_orders", &r), 1);
	assert_int_equal(r.attempt, 1);
	assert_true(r.lock_waits <= 1);
	assert_true(r.lock_wait_ms >= 1500);
	assert_true(find_report(&c, SK_EV_LOCK_WAIT, NULL, "0001_orders", &r) >= 1);
	assert_int_equal(r.blockers[0].pid, PQbackendPID(blocker));
	collector_fini(&c);
	/* It gave up its lock request: nothing queues behind it, and the
	 * database is as it was but for the event. pg_locks is cluster-wide
	 * (other test programs wait for locks in their own databases): look
	 * at this database's sessions only. */
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM pg_catalog.pg_locks l "
			     "WHERE NOT l.granted AND l.pid IN (SELECT a.pid "
			     "  FROM pg_catalog.pg_stat_activity a "
			     "  WHERE a.datname = pg_catalog.current_database())"),
	    0);
	after = snapshot(name, "--exclude-schema=skein");
	assert_same_snapshot(before, after);
	free(after);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    1);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.reverts"),
	    0);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.events WHERE "
			     "event = 'revert-failed' AND sqlstate = '55P03'"),
	    1);

	/* A lock that frees within the budget: the holder is a long
	 * transaction by now, so the revert waits without queueing and makes
	 * one attempt, which gets the lock. */
	plan->steps[0].lock_retries = 50;
	rollback_later_start(&rl, blocker, 1500);
	collector_init(&c, name);
	err.code = SK_OK;
	if (rollback(plan, name, ci, &c, &err) != SK_OK)
		report_fail("rollback", err.msg);
	rollback_later_join(&rl);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_REVERTED, NULL, "0001_orders", &r), 1);
	assert_int_equal(r.lock_waits, 0);
	assert_int_equal(r.attempt, 1);
	assert_true(r.lock_wait_ms >= 1000);
	assert_true(count_detail(&c, SK_EV_LOCK_WAIT, NULL, "0001_orders",
			"transaction to end without queueing") >= 1);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT coalesce(pg_catalog.to_regclass('orders')"
				"::text, 'none')",
				buf, sizeof(buf)),
	    "none");
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.reverts"),
	    1);

	PQfinish(blocker);
	free(before);
	pgfixture_drop_db(fixture_port, name);
	collector_fini(&c);
	sk_plan_destroy(plan);
}

/* ---- through the executor ---------------------------------------------- */

static void
test_executor_hands_rehearse_and_rollback_to_the_modes(void **state)
{
	static const step_spec good[] = {
		{ .id = "0001_orders",
		    .sql = "CREATE TABLE orders (id int PRIMARY KEY, qty int)",
		    .revert = "DROP TABLE orders" },
		{ .id = "0002_seed",
		    .sql = "INSERT INTO orders VALUES (1, 1)",
		    .revert = "DELETE FROM orders WHERE id = 1" },
	};
	static const step_spec bad[] = {
		{ .id = "0001_orders",
		    .sql = "CREATE TABLE orders (id int PRIMARY KEY, qty int)" },
		{ .id = "0002_seed", .sql = "INSERT INTO orders VALUES (1, 1), (1, 2)" },
	};
	char name[64], ci[256], buf[64], *base, *before, *after;
	sk_plan *ok = plan_make("shop", "plan-ok", good, 2);
	sk_plan *ko = plan_make("shop", "plan-ko", bad, 2);
	collector c;
	sk_report r;
	sk_err err;

	(void)state;
	db_create("exec", name, sizeof(name), ci, sizeof(ci));
	base = snapshot(name, "--exclude-schema=skein");
	before = snapshot(name, NULL);

	/* READY: DB_FINISHED, and not even the ledger was created. */
	collector_init(&c, name);
	if (run_exec(ok, name, ci, SK_MODE_REHEARSE, &c, &err) != SK_OK)
		report_fail("rehearse", err.msg);
	assert_string_equal(steps_of(&c, SK_EV_STEP_REHEARSED, buf, sizeof(buf)),
	    "0001_orders,0002_seed");
	assert_int_equal(find_report(&c, SK_EV_DB_FINISHED, NULL, NULL, NULL), 1);
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_REHEARSED, NULL, "0001_orders", &r), 1);
	assert_string_equal(r.database, name);
	assert_string_equal(r.rollout_id, "ro-exec");
	collector_fini(&c);

	/* BLOCKED: DB_FAILED with the reason. */
	collector_init(&c, name);
	assert_int_equal(run_exec(ko, name, ci, SK_MODE_REHEARSE, &c, &err), SK_ESQL);
	assert_int_equal(find_report(&c, SK_EV_DB_FAILED, NULL, NULL, &r), 1);
	assert_contains(r.error.msg, "BLOCKED");
	assert_contains(r.error.msg, "step 0002_seed");
	assert_string_equal(r.error.sqlstate, "23505");
	collector_fini(&c);

	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);
	free(after);
	assert_false(has_skein_schema(name));

	/* Apply, then roll back through the executor. */
	apply(ok, name, ci);
	collector_init(&c, name);
	if (run_exec(ok, name, ci, SK_MODE_ROLLBACK, &c, &err) != SK_OK)
		report_fail("rollback", err.msg);
	assert_string_equal(steps_of(&c, SK_EV_STEP_REVERTED, buf, sizeof(buf)),
	    "0002_seed,0001_orders");
	assert_int_equal(find_report(&c, SK_EV_DB_FINISHED, NULL, NULL, NULL), 1);
	collector_fini(&c);
	after = snapshot(name, "--exclude-schema=skein");
	assert_same_snapshot(base, after);
	free(after);
	free(before);
	before = snapshot(name, NULL);
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.steps"),
	    0);
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT coalesce(pg_catalog.to_regclass('orders')"
				"::text, 'none')",
				buf, sizeof(buf)),
	    "none");

	/* Rolling back again finds nothing to revert and changes nothing. */
	collector_init(&c, name);
	if (run_exec(ok, name, ci, SK_MODE_ROLLBACK, &c, &err) != SK_OK)
		report_fail("rollback", err.msg);
	assert_int_equal(find_report(&c, SK_EV_STEP_REVERTED, NULL, NULL, NULL), 0);
	assert_int_equal(find_report(&c, SK_EV_STEP_SKIPPED, NULL, NULL, NULL), 2);
	collector_fini(&c);
	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);

	free(base);
	free(before);
	free(after);
	pgfixture_drop_db(fixture_port, name);
	sk_plan_destroy(ok);
	sk_plan_destroy(ko);
}

/* ---- the backup before the first revert -------------------------------- */

static void
test_rollback_guard_runs_once_after_the_preconditions_before_any_revert(void **state)
{
	static const step_spec norevert[] = {
		{ .id = "0001_orders", .sql = "CREATE TABLE orders (id int PRIMARY KEY)" },
	};
	char name[64], ci[256], buf[128], *before, *after;
	sk_plan *plan = plan_make("shop", "plan-guard", three_steps, 3);
	sk_plan *bare = plan_make("shop", "plan-bare", norevert, 1);
	guard_probe g;
	collector c;
	sk_err err;

	(void)state;
	db_create("guard", name, sizeof(name), ci, sizeof(ci));
	apply(plan, name, ci);
	before = snapshot(name, NULL);

	/* The guard fails (a backup that cannot be taken): refused, and not
	 * one revert ran. */
	memset(&g, 0, sizeof(g));
	g.db = name;
	g.rc = SK_EBACKUP;
	collector_init(&c, name);
	assert_int_equal(rollback_guarded(plan, name, ci, &c, &g, &err), SK_EBACKUP);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.steps_then, 3);
	assert_contains(err.msg, "roll back plan shop in " REGION "/");
	assert_contains(err.msg, ": refused: back up");
	assert_contains(err.msg, "no space left");
	assert_int_equal(find_report(&c, SK_EV_STEP_STARTED, NULL, NULL, NULL), 0);
	assert_int_equal(find_report(&c, SK_EV_STEP_REVERTED, NULL, NULL, NULL), 0);
	collector_fini(&c);
	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);
	free(after);

	/* The guard holds: it ran once, before the first revert, and then
	 * every step was reverted. */
	g.calls = 0;
	g.rc = SK_OK;
	collector_init(&c, name);
	if (rollback_guarded(plan, name, ci, &c, &g, &err) != SK_OK)
		report_fail("rollback", err.msg);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.steps_then, 3);
	assert_string_equal(steps_of(&c, SK_EV_STEP_REVERTED, buf, sizeof(buf)),
	    "0003_seed,0002_note,0001_orders");
	collector_fini(&c);

	/* Nothing left to revert: nothing to back up either. */
	g.calls = 0;
	collector_init(&c, name);
	if (rollback_guarded(plan, name, ci, &c, &g, &err) != SK_OK)
		report_fail("rollback", err.msg);
	assert_int_equal(g.calls, 0);
	collector_fini(&c);

	/* A rollback its preconditions refuse never gets as far as the
	 * guard: a refused rollback costs no backup. */
	apply(bare, name, ci);
	g.calls = 0;
	collector_init(&c, name);
	assert_int_equal(rollback_guarded(bare, name, ci, &c, &g, &err), SK_ESTATE);
	assert_contains(err.msg, "no revert script for step 0001_orders");
	assert_int_equal(g.calls, 0);
	collector_fini(&c);

	free(before);
	pgfixture_drop_db(fixture_port, name);
	sk_plan_destroy(plan);
	sk_plan_destroy(bare);
}

/* Files in dir. */
static int
files_in(const char *dir)
{
	char cmd[256], buf[32];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (fgets(buf, sizeof(buf), f) != NULL)
		n = atoi(buf);
	pclose(f);
	return n;
}

/* Index of the first report of event, or c->n. */
static size_t
first_of(collector *c, int event)
{
	size_t i;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < c->n && c->r[i].event != event; i++)
		;
	pthread_mutex_unlock(&c->mu);
	return i;
}

static void
test_executor_rollback_backs_up_before_the_first_revert(void **state)
{
	static const step_spec steps[] = {
		{ .id = "0001_orders",
		    .sql = "CREATE TABLE orders (id int PRIMARY KEY, qty int);"
			   "INSERT INTO orders SELECT g, g FROM "
			   "generate_series(1, 1002) g",
		    .revert = "DROP TABLE orders" },
	};
	char name[64], ci[256], scratch[64], sci[256], dir[64], cmd[1024];
	char buf[600], *before, *after;
	sk_plan *plan = plan_make("shop", "plan-bk", steps, 1);
	backup_opts b = { NULL, false };
	collector c;
	sk_report r;
	sk_err err;
	int rc;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sk-rbbackup-XXXXXX");
	assert_non_null(mkdtemp(dir));
	db_create("rbbk", name, sizeof(name), ci, sizeof(ci));
	apply(plan, name, ci);
	before = snapshot(name, NULL);

	/* No backup_dir and no --no-backup: refused before any revert, with
	 * what to do. */
	collector_init(&c, name);
	assert_int_equal(
	    run_exec_backup(plan, name, ci, SK_MODE_ROLLBACK, &b, &c, &err), SK_EBACKUP);
	assert_contains(err.msg, ": refused: back up " REGION "/");
	assert_contains(err.msg, "before rolling back plan shop");
	assert_contains(err.msg, "agent.yaml sets no backup_dir");
	assert_contains(err.hint, "set backup_dir in agent.yaml");
	assert_contains(err.hint, "--no-backup");
	assert_int_equal(find_report(&c, SK_EV_DB_FAILED, NULL, NULL, NULL), 1);
	assert_int_equal(find_report(&c, SK_EV_STEP_STARTED, NULL, NULL, NULL), 0);
	collector_fini(&c);
	after = snapshot(name, NULL);
	assert_same_snapshot(before, after);
	free(after);

	/* With a backup_dir: a verified dump, reported and recorded before
	 * the first revert, that restores the rows the revert dropped. */
	b.dir = dir;
	collector_init(&c, name);
	if (run_exec_backup(plan, name, ci, SK_MODE_ROLLBACK, &b, &c, &err) != SK_OK)
		report_fail("rollback", err.msg);
	assert_int_equal(find_report(&c, SK_EV_BACKUP, NULL, NULL, &r), 1);
	assert_true(r.has_backup);
	assert_true(strncmp(r.backup.path, dir, strlen(dir)) == 0);
	assert_contains(r.backup.path, "_shop_ro-exec_");
	assert_true(r.backup.size > 0);
	assert_contains(r.backup.restore_command, "pg_restore");
	assert_true(first_of(&c, SK_EV_BACKUP) < first_of(&c, SK_EV_STEP_STARTED));
	assert_int_equal(
	    find_report(&c, SK_EV_STEP_REVERTED, NULL, "0001_orders", NULL), 1);
	collector_fini(&c);
	assert_int_equal(files_in(dir), 1);
	snprintf(cmd, sizeof(cmd),
	    "SELECT path || ' ' || rollout_id FROM skein.backups "
	    "WHERE plan_name = 'shop'");
	snprintf(buf, sizeof(buf), "%s ro-exec", r.backup.path);
	{
		char got[600];

		assert_string_equal(
		    pgfixture_scalar_db(fixture_port, name, cmd, got, sizeof(got)), buf);
	}
	assert_string_equal(pgfixture_scalar_db(fixture_port, name,
				"SELECT coalesce(pg_catalog.to_regclass('orders')"
				"::text, 'none')",
				buf, sizeof(buf)),
	    "none");
	pgfixture_create_db(fixture_port, "rbscratch", scratch, sizeof(scratch));
	pgfixture_conninfo(sci, sizeof(sci), fixture_port, scratch);
	snprintf(cmd, sizeof(cmd), "pg_restore --no-owner -d '%s' '%s'", sci,
	    r.backup.path);
	rc = system(cmd);
	assert_int_equal(rc, 0);
	assert_int_equal(
	    pgfixture_long_db(fixture_port, scratch, "SELECT count(*) FROM orders"),
	    1002);
	pgfixture_drop_db(fixture_port, scratch);

	/* Nothing left to revert: no backup. */
	collector_init(&c, name);
	if (run_exec_backup(plan, name, ci, SK_MODE_ROLLBACK, &b, &c, &err) != SK_OK)
		report_fail("rollback", err.msg);
	assert_int_equal(find_report(&c, SK_EV_BACKUP, NULL, NULL, NULL), 0);
	collector_fini(&c);
	assert_int_equal(files_in(dir), 1);

	/* --no-backup, and the plan's rollback_backup: false: reverted
	 * without a dump, a backup_dir or not. */
	for (int way = 0; way < 2; way++) {
		apply(plan, name, ci);
		b.no_backup = way == 0;
		plan->no_rollback_backup = way == 1;
		collector_init(&c, name);
		if (run_exec_backup(plan, name, ci, SK_MODE_ROLLBACK, &b, &c, &err) != SK_OK)
			report_fail("rollback", err.msg);
		assert_int_equal(find_report(&c, SK_EV_BACKUP, NULL, NULL, NULL), 0);
		assert_int_equal(
		    find_report(&c, SK_EV_STEP_REVERTED, NULL, "0001_orders", NULL), 1);
		collector_fini(&c);
		assert_int_equal(files_in(dir), 1);
	}
	assert_int_equal(pgfixture_long_db(fixture_port, name,
			     "SELECT count(*) FROM skein.backups"),
	    1);

	free(before);
	pgfixture_drop_db(fixture_port, name);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	sk_plan_destroy(plan);
}

static int
setup_fixture(void **state)
{
	(void)state;
	return pgfixture_port(fixture_port, sizeof(fixture_port));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rehearsal_of_a_good_plan_is_ready_and_changes_nothing),
		cmocka_unit_test(
		    test_rehearsal_of_a_failing_step_is_blocked_and_changes_nothing),
		cmocka_unit_test(
		    test_rehearsal_of_a_failing_post_check_names_the_check_and_value),
		cmocka_unit_test(test_non_transactional_step_is_listed_as_not_rehearsable),
		cmocka_unit_test(
		    test_rehearsal_skips_applied_steps_and_refuses_drift_without_writing),
		cmocka_unit_test(test_rehearsal_lock_timeout_is_blocked_naming_the_blocker),
		cmocka_unit_test(test_rehearsal_check_lock_timeout_names_the_blocker),
		cmocka_unit_test(
		    test_transaction_control_in_a_step_is_refused_before_anything_runs),
		cmocka_unit_test(
		    test_preflight_failure_is_a_reason_and_the_steps_are_still_rehearsed),
		cmocka_unit_test(
		    test_rollback_reverts_in_reverse_order_and_the_plan_applies_again),
		cmocka_unit_test(test_rollback_refuses_when_a_recorded_step_has_no_revert),
		cmocka_unit_test(
		    test_rollback_refuses_drift_and_steps_missing_from_the_plan),
		cmocka_unit_test(test_format1_text_checksum_is_rolled_back_not_drift),
		cmocka_unit_test(test_failing_revert_stops_and_keeps_the_earlier_reverts),
		cmocka_unit_test(
		    test_rollback_guard_runs_once_after_the_preconditions_before_any_revert),
		cmocka_unit_test(test_executor_rollback_backs_up_before_the_first_revert),
		cmocka_unit_test(test_non_transactional_revert_runs_outside_a_transaction),
		cmocka_unit_test(
		    test_rollback_waits_out_a_long_holder_then_gives_up_naming_it),
		cmocka_unit_test(test_executor_hands_rehearse_and_rollback_to_the_modes),
	};

	return cmocka_run_group_tests(tests, setup_fixture, NULL);
}

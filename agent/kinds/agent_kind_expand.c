/* agent_kind_expand: the first half of a two-phase rename or type change
 * (docs/backfills.md, "Two-phase renames and type changes"). In one short
 * transaction under the step's lock_timeout: the new column, a trigger
 * that keeps it in step with the old one for every write from then on,
 * and the step's row in skein.expansions; then the backfill of the rows
 * that were there before (agent_backfill.h), recorded with completed_at
 * set. Resumable: a run that finds its skein.expansions row goes on with
 * the backfill. Its revert drops what it added; a contract (its own
 * kind) ends it.
 */
#include "agent_kinds.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_backfill.h"
#include "agent_checkpoint.h"
#include "agent_expansion.h"
#include "sk_pg.h"
#include "sk_strbuf.h"
#include "sk_util.h"

/* ---- building the DDL ---------------------------------------------------- */

/* What the DDL is made of, every identifier quoted. */
typedef struct expand_parts {
	agent_expansion_table tab;
	char sync[AGENT_SYNC_NAME_LEN]; /* trigger and function name */
	char fn[AGENT_QNAME_MAX];       /* "schema"."skein_sync_..." */
	char *col;                      /* the new column, quoted */
	char *from;                     /* the old column, quoted */
	char *fwd;                      /* new from the row t */
	char *bwd;                      /* old from the row t; NULL: none */
} expand_parts;

static void
parts_fini(expand_parts *p)
{
	PQfreemem(p->col);
	PQfreemem(p->from);
	free(p->fwd);
	free(p->bwd);
	memset(p, 0, sizeof(*p));
}

/* "t.<quoted name>", a new string. */
static char *
row_column(const char *quoted)
{
	size_t len = strlen(quoted) + 3;
	char *s = malloc(len);

	if (s != NULL)
		snprintf(s, len, "t.%s", quoted);
	return s;
}

/* The expressions: forward defaults to the old column; reverse to the
 * new column when there is no forward (a rename: old = new), and to none
 * with a forward that reverse does not invert (a type change). */
static int
parts_init(expand_parts *p, PGconn *conn, const sk_step *step,
    const char *plan_name, const agent_expansion_table *tab, sk_err *err)
{
	const sk_expand *e = step->expand;

	memset(p, 0, sizeof(*p));
	p->tab = *tab;
	agent_expansion_sync_name(plan_name, step->id, e->table, e->column, p->sync);
	snprintf(p->fn, sizeof(p->fn), "%s.%s", tab->schema, p->sync);
	p->col = PQescapeIdentifier(conn, e->column, strlen(e->column));
	p->from = PQescapeIdentifier(conn, e->from, strlen(e->from));
	if (p->col == NULL || p->from == NULL)
		goto oom;
	p->fwd = e->forward != NULL ? sk_strdup(e->forward) : row_column(p->from);
	if (p->fwd == NULL)
		goto oom;
	if (e->backward != NULL)
		p->bwd = sk_strdup(e->backward);
	else if (e->forward == NULL)
		p->bwd = row_column(p->col);
	if ((e->backward != NULL || e->forward == NULL) && p->bwd == NULL)
		goto oom;
	return SK_OK;
oom:
	parts_fini(p);
	return sk_err_set(err, SK_ENOMEM, "out of memory");
}

/* "(SELECT (expr\n) FROM (SELECT (NEW).*) AS t)": expr sees the row as t,
 * by t.column or the bare column. The newline keeps a trailing "--"
 * comment in expr from eating the parenthesis. */
static void
put_eval(sk_strbuf *b, const char *expr)
{
	sk_strbuf_addf(b, "(SELECT (%s\n) FROM (SELECT (NEW).*) AS t)", expr);
}

/* "skein_fwd := forward; IF NEW.col IS DISTINCT FROM skein_fwd THEN
 * NEW.from := reverse; END IF;" at depth tabs. */
static void
put_reverse(sk_strbuf *b, const expand_parts *p, const char *tabs)
{
	sk_strbuf_addf(b, "%sskein_fwd := ", tabs);
	put_eval(b, p->fwd);
	sk_strbuf_addf(b,
	    ";\n%sIF NEW.%s IS DISTINCT FROM skein_fwd THEN\n%s\tNEW.%s := ", tabs,
	    p->col, tabs, p->from);
	put_eval(b, p->bwd);
	sk_strbuf_addf(b, ";\n%sEND IF;\n", tabs);
}

/* The trigger function's body. The new column is set from forward when
 * an INSERT leaves it NULL or an UPDATE changes the old one (the old
 * application's writes, and the old column wins when both change). With
 * a reverse, a write that sets the new column to something forward does
 * not give (the new application's: on INSERT the old column is then NULL
 * or its default) sets the old one from reverse; the backfill's own
 * UPDATE (new = forward) leaves the old column alone, even where reverse
 * does not invert forward. */
static void
put_body(sk_strbuf *b, const expand_parts *p)
{
	sk_strbuf_addf(b,
	    "#variable_conflict use_column\nDECLARE\n\tskein_fwd %s.%s%%TYPE;\n",
	    p->tab.qualified, p->col);
	sk_strbuf_addf(b,
	    "BEGIN\n\tIF TG_OP = 'INSERT' THEN\n\t\tIF NEW.%s IS NULL THEN\n\t\t\tNEW.%s := ",
	    p->col, p->col);
	put_eval(b, p->fwd);
	sk_strbuf_addf(b, ";\n");
	if (p->bwd != NULL) {
		sk_strbuf_addf(b, "\t\tELSE\n");
		put_reverse(b, p, "\t\t\t");
	}
	sk_strbuf_addf(b,
	    "\t\tEND IF;\n\tELSIF NEW.%s IS DISTINCT FROM OLD.%s THEN\n\t\tNEW.%s := ",
	    p->from, p->from, p->col);
	put_eval(b, p->fwd);
	sk_strbuf_addf(b, ";\n");
	if (p->bwd != NULL) {
		sk_strbuf_addf(b, "\tELSIF NEW.%s IS DISTINCT FROM OLD.%s THEN\n",
		    p->col, p->col);
		put_reverse(b, p, "\t\t");
	}
	sk_strbuf_addf(b, "\tEND IF;\n\tRETURN NEW;\nEND\n");
}

/* The function, its trigger and a comment saying whose they are, into
 * *out (new string). The function's search_path is the agent's, so that
 * the expressions mean in the application's writes what they mean in the
 * backfill. */
static int
sync_sql(PGconn *conn, const expand_parts *p, const char *plan_name,
    const sk_step *step, char **out, sk_err *err)
{
	sk_strbuf body = { 0 }, b = { 0 };
	char tag[32], note[512], *lit = NULL;

	*out = NULL;
	put_body(&body, p);
	if (body.oom) {
		free(body.s);
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	}
	/* A dollar quote the body does not hold (an expression or a quoted
	 * name could). */
	snprintf(tag, sizeof(tag), "$skein$");
	for (int i = 1; strstr(body.s, tag) != NULL; i++)
		snprintf(tag, sizeof(tag), "$skein_%d$", i);
	snprintf(note, sizeof(note),
	    "skein: plan %s, step %s (expand) keeps %s.%s in step with %s until "
	    "a contract step drops %s; see docs/backfills.md",
	    plan_name, step->id, p->tab.qualified, step->expand->column,
	    step->expand->from, step->expand->from);
	lit = PQescapeLiteral(conn, note, strlen(note));
	if (lit == NULL) {
		free(body.s);
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	}
	sk_strbuf_addf(&b,
	    "CREATE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql\n"
	    "SET search_path = public AS %s\n%s%s;\n",
	    p->fn, tag, body.s, tag);
	sk_strbuf_addf(&b,
	    "CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s\n"
	    "FOR EACH ROW EXECUTE FUNCTION %s();\n",
	    p->sync, p->tab.qualified, p->fn);
	sk_strbuf_addf(&b, "COMMENT ON FUNCTION %s() IS %s;\n", p->fn, lit);
	PQfreemem(lit);
	free(body.s);
	if (b.oom) {
		free(b.s);
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	}
	*out = b.s;
	return SK_OK;
}

/* EXPLAIN UPDATE table AS t SET column = (expr): the database's judgement
 * of expr as a value for column, without running it; field names it. */
static int
explain_assign(PGconn *conn, const expand_parts *p, const char *column,
    const char *expr, const char *field, sk_err *err)
{
	sk_strbuf b = { 0 };
	int rc;

	sk_strbuf_addf(&b, "EXPLAIN UPDATE %s AS t SET %s = (\n%s\n)",
	    p->tab.qualified, column, expr);
	if (b.oom) {
		free(b.s);
		return sk_err_set(err, SK_ENOMEM, "out of memory");
	}
	rc = sk_pg_exec(conn, field, b.s, NULL, err);
	free(b.s);
	if (rc == SK_ESQL) {
		rc = err->code = SK_EINVAL;
		snprintf(err->hint, sizeof(err->hint),
		    "the database refuses the expand's %s as written; fix it in "
		    "plan.yaml (using and reverse see the row as t: t.column or "
		    "the bare column; without using, the old column's values must "
		    "fit the new type as they are)",
		    field);
	}
	return rc;
}

/* ---- the DDL ------------------------------------------------------------- */

/* In the open transaction: check the table and the columns, add the new
 * column, check the expressions against it, create the function and the
 * trigger, and fill x for the ledger. SK_EINVAL for a table or old column
 * that does not exist or an expression the database refuses, SK_ESTATE
 * for a new column that exists already, each before anything changed in
 * the transaction's eyes (the caller rolls back). */
static int
expand_ddl(agent_step_run *s, agent_expansion *x, sk_err *err)
{
	const sk_step *step = s->step;
	const sk_expand *e = step->expand;
	const char *plan_name = s->c->plan->name;
	PGconn *conn = s->c->conn;
	agent_expansion_table tab;
	expand_parts p;
	sk_strbuf b = { 0 };
	char *sync = NULL;
	bool found, has;
	int rc;

	rc = agent_expansion_table_find(conn, e->table, &tab, &found, err);
	if (rc != SK_OK)
		return rc;
	if (!found) {
		sk_err_set(err, SK_EINVAL, "table %s does not exist", e->table);
		snprintf(err->hint, sizeof(err->hint),
		    "the agent resolves table with search_path public; name "
		    "another schema's table as schema.table");
		return SK_EINVAL;
	}
	rc = agent_expansion_has_column(conn, tab.relid, e->from, &has, err);
	if (rc == SK_OK && !has) {
		sk_err_set(err, SK_EINVAL, "table %s has no column %s (from)",
		    e->table, e->from);
		snprintf(err->hint, sizeof(err->hint),
		    "from names the old column, which the expand keeps and copies "
		    "into column; nothing was changed");
		return SK_EINVAL;
	}
	if (rc == SK_OK)
		rc = agent_expansion_has_column(conn, tab.relid, e->column, &has, err);
	if (rc == SK_OK && has) {
		sk_err_set(err, SK_ESTATE, "table %s has a column %s already",
		    e->table, e->column);
		snprintf(err->hint, sizeof(err->hint),
		    "an expand adds its new column itself, and its rollback drops "
		    "it: name a column that does not exist yet, or drop this one "
		    "first if nothing needs it");
		return SK_ESTATE;
	}
	if (rc != SK_OK)
		return rc;
	rc = parts_init(&p, conn, step, plan_name, &tab, err);
	if (rc != SK_OK)
		return rc;
	sk_strbuf_addf(&b, "ALTER TABLE %s ADD COLUMN %s %s", tab.qualified,
	    p.col, e->type);
	rc = b.oom ? sk_err_set(err, SK_ENOMEM, "out of memory") :
		     agent_step_sql(s, b.s, err);
	if (rc == SK_OK)
		rc = explain_assign(conn, &p, p.col, p.fwd,
		    e->forward != NULL ? "using" : "type", err);
	if (rc == SK_OK && p.bwd != NULL)
		rc = explain_assign(conn, &p, p.from, p.bwd, "reverse", err);
	if (rc == SK_OK)
		rc = sync_sql(conn, &p, plan_name, step, &sync, err);
	if (rc == SK_OK)
		rc = agent_step_sql(s, sync, err);
	if (rc == SK_OK) {
		memset(x, 0, sizeof(*x));
		snprintf(x->plan_name, sizeof(x->plan_name), "%s", plan_name);
		snprintf(x->step_id, sizeof(x->step_id), "%s", step->id);
		x->relid = tab.relid;
		snprintf(x->table_name, sizeof(x->table_name), "%s", tab.qualified);
		snprintf(x->column_name, sizeof(x->column_name), "%s", e->column);
		snprintf(x->from_column, sizeof(x->from_column), "%s", e->from);
		snprintf(x->trigger_name, sizeof(x->trigger_name), "%s", p.sync);
		snprintf(x->function_name, sizeof(x->function_name), "%s", p.fn);
	}
	free(sync);
	free(b.s);
	parts_fini(&p);
	return rc;
}

/* A row the step left in an earlier run must describe the step as the
 * plan has it now. */
static int
same_expansion(const agent_step_run *s, const agent_expansion *x, sk_err *err)
{
	const sk_expand *e = s->step->expand;
	agent_expansion_table tab;
	bool found;
	int rc;

	rc = agent_expansion_table_find(s->c->conn, e->table, &tab, &found, err);
	if (rc != SK_OK)
		return rc;
	if (found && tab.relid == x->relid && strcmp(x->column_name, e->column) == 0 &&
	    strcmp(x->from_column, e->from) == 0)
		return SK_OK;
	sk_err_set(err, SK_EDRIFT,
	    "drift: skein.expansions holds this step as column %s from %s on "
	    "%s, but the plan says column %s from %s on %s",
	    x->column_name, x->from_column, x->table_name, e->column, e->from,
	    e->table);
	snprintf(err->hint, sizeof(err->hint),
	    "a changed expand is a new step with a new id; roll the plan back "
	    "to undo the old one");
	return SK_EDRIFT;
}

/* ---- the kind ------------------------------------------------------------ */

static int
expand_finish(agent_step_run *s, void *arg, sk_err *err)
{
	(void)arg;
	return agent_expansion_complete(s->c->conn, s->c->plan->name, s->step->id, err);
}

/* The backfill of the rows that were there before the trigger. Its
 * pre-checks ran before the DDL, in the world they were written for: the
 * engine sees the step without them. */
static int
expand_backfill(agent_step_run *s, sk_err *err)
{
	agent_backfill_hooks hooks = { expand_finish, NULL };
	const sk_step *step = s->step;
	sk_step alone = *step;
	sk_backfill b;
	int rc;

	rc = sk_expand_backfill(step->expand, &b, err);
	if (rc != SK_OK)
		return rc;
	alone.pre = NULL;
	alone.npre = 0;
	s->step = &alone;
	rc = agent_backfill_apply(s, &b, &hooks, err);
	s->step = step;
	sk_backfill_fini(&b);
	return rc;
}

static int
expand_apply(agent_step_run *s, sk_err *err)
{
	const sk_step *step = s->step;
	PGconn *conn = s->c->conn;
	agent_expansion x;
	bool found;
	int rc;

	rc = agent_step_begin_apply(s, err);
	if (rc != SK_OK)
		return rc;
	if (s->recorded_meanwhile) {
		agent_tx_rollback(conn);
		return SK_OK;
	}
	rc = agent_expansion_lookup(
	    conn, s->c->plan->name, step->id, true, &x, &found, err);
	if (rc == SK_OK && found) {
		rc = same_expansion(s, &x, err);
		agent_tx_rollback(conn);
		if (rc != SK_OK)
			return rc;
		agent_step_note(s,
		    "resumed: column and trigger added by an earlier run", "");
		return expand_backfill(s, err);
	}
	if (rc == SK_OK)
		rc = agent_step_checks(s, step->pre, step->npre, "pre", err);
	if (rc == SK_OK)
		rc = expand_ddl(s, &x, err);
	if (rc == SK_OK)
		rc = agent_expansion_insert(conn, &x, err);
	if (rc == SK_OK)
		rc = agent_step_commit(s, err);
	if (rc != SK_OK) {
		agent_tx_rollback(conn);
		return rc;
	}
	agent_step_note(s, "trigger ", x.trigger_name);
	return expand_backfill(s, err);
}

static int
expand_rehearse(agent_step_run *s, sk_err *err)
{
	agent_expansion x;
	sk_backfill b;
	bool found;
	int rc;

	rc = agent_expansion_lookup(
	    s->c->conn, s->c->plan->name, s->step->id, false, &x, &found, err);
	if (rc == SK_OK && found)
		agent_step_note(s,
		    "column and trigger added by an earlier apply; the backfill "
		    "rehearsed alone",
		    "");
	else if (rc == SK_OK)
		rc = expand_ddl(s, &x, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_expand_backfill(s->step->expand, &b, err);
	if (rc == SK_OK)
		rc = agent_backfill_rehearse(s, &b, err);
	sk_backfill_fini(&b);
	return rc;
}

static void
expand_scripts(const sk_step *step,
    void (*fn)(void *arg, const char *sql, const char *what), void *arg)
{
	sk_backfill b;
	sk_err err;

	if (sk_expand_backfill(step->expand, &b, &err) != SK_OK)
		return;
	agent_backfill_scripts(&b, fn, arg);
	sk_backfill_fini(&b);
}

/* In the revert's transaction: drop the trigger, the function and the
 * new column, forget the row and the checkpoints. Refused once a
 * contract dropped the old column: the new one holds the only copy. */
static int
undo_expand(agent_step_run *s, void *arg, sk_err *err)
{
	const char *plan_name = s->c->plan->name, *id = s->step->id;
	PGconn *conn = s->c->conn;
	agent_expansion x;
	char *sql = NULL;
	bool found;
	int rc;

	(void)arg;
	rc = agent_expansion_lookup(conn, plan_name, id, true, &x, &found, err);
	if (rc == SK_OK && !found) {
		rc = sk_err_set(err, SK_ESTATE,
		    "refused: skein.expansions has no row for this expand, so "
		    "skein does not know what it added");
		snprintf(err->hint, sizeof(err->hint),
		    "drop the column %s and its skein_sync_ trigger on %s by hand "
		    "if they are there, then delete the step's row from skein.steps",
		    s->step->expand->column, s->step->expand->table);
	} else if (rc == SK_OK && x.contracted) {
		rc = sk_err_set(err, SK_ESTATE,
		    "refused: a contract dropped column %s of %s, so column %s "
		    "holds the only copy of its data",
		    x.from_column, x.table_name, x.column_name);
		snprintf(err->hint, sizeof(err->hint),
		    "roll back the contract first, with a revert script that adds "
		    "%s back and fills it from %s",
		    x.from_column, x.column_name);
	}
	if (rc == SK_OK)
		rc = agent_expansion_drop_sql(conn, &x, x.column_name, &sql, err);
	if (rc == SK_OK && sql[0] != '\0')
		rc = agent_step_sql(s, sql, err);
	if (rc == SK_OK)
		rc = agent_expansion_forget(conn, plan_name, id, err);
	if (rc == SK_OK)
		rc = agent_checkpoint_forget(conn, plan_name, id, err);
	free(sql);
	return rc;
}

/* An expand stopped before its backfill finished (paused, aborted, the
 * agent killed) has its column and trigger, and its skein.expansions row
 * without completed_at, but no ledger row: a rollback drops them all the
 * same, or the trigger would go on writing the column. */
static int
expand_undo_unfinished(agent_step_run *s, sk_err *err)
{
	const char *plan_name = s->c->plan->name, *id = s->step->id;
	PGconn *conn = s->c->conn;
	agent_expansion x;
	char *sql = NULL;
	bool found = false;
	int rc;

	rc = agent_step_begin(s, err);
	if (rc != SK_OK)
		return rc;
	rc = agent_expansion_lookup(conn, plan_name, id, true, &x, &found, err);
	if (rc == SK_OK && (!found || x.completed)) {
		agent_tx_rollback(conn);
		return SK_ENOTFOUND;
	}
	if (rc == SK_OK)
		rc = agent_expansion_drop_sql(conn, &x, x.column_name, &sql, err);
	if (rc == SK_OK && sql[0] != '\0')
		rc = agent_step_sql(s, sql, err);
	if (rc == SK_OK)
		rc = agent_expansion_forget(conn, plan_name, id, err);
	if (rc == SK_OK)
		rc = agent_checkpoint_forget(conn, plan_name, id, err);
	if (rc == SK_OK) {
		agent_step_note(s, "unfinished expand undone: dropped column ",
		    x.column_name);
		rc = agent_step_commit(s, err);
	}
	if (rc != SK_OK)
		agent_tx_rollback(conn);
	free(sql);
	return rc;
}

/* What the expand added and its ledger row go in one transaction (an
 * expand has no revert script: plan build refuses one). */
static int
expand_revert(agent_step_run *s, sk_err *err)
{
	return agent_step_revert_with(s, undo_expand, NULL, err);
}

const agent_step_kind agent_kind_expand = {
	.name = "expand",
	.transactional = false,
	.apply = expand_apply,
	.rehearse = expand_rehearse,
	.describe = NULL,
	.scripts = expand_scripts,
	/* Its rollback drops what it added: the kind knows its own undo. */
	.needs_revert = false,
	.revert = expand_revert,
	.undo_unrecorded = expand_undo_unfinished,
};

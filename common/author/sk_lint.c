/* sk_lint: the rules of docs/lint.md applied to the facts sk_sql reads
 * from each statement's parse tree. The plan is walked in step order,
 * remembering the tables it creates, because what is dangerous on a table
 * full of rows (a blocking index build, a validating constraint) is not on
 * a table the plan itself just created. */
#include "sk_lint.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_lint_int.h"
#include "sk_sql.h"
#include "sk_util.h"

static int
apply_waivers(lint *l, size_t si, const sk_step *st, size_t first, sk_err *err)
{
	for (size_t w = 0; w < st->nwaivers; w++) {
		const sk_waiver *wv = &st->waivers[w];
		bool used = false;

		if (sk_lint_rule_find(wv->rule) == NULL) {
			sk_err_set(err, SK_EINVAL,
			    "lint plan: step %s waives unknown rule \"%.64s\"",
			    st->id, wv->rule ? wv->rule : "");
			if (err != NULL)
				snprintf(err->hint, sizeof(err->hint),
				    "skein plan lint --rules lists the rule ids");
			return SK_EINVAL;
		}
		for (size_t i = first; i < l->n; i++) {
			sk_lint_finding *f = &l->f[i];

			if (strcmp(f->rule->id, wv->rule) != 0 ||
			    f->rule == lint_rule(R_UNUSED_WAIVER))
				continue;
			used = true;
			if (f->waived)
				continue;
			f->waived = true;
			f->reason = sk_strdup(wv->reason ? wv->reason : "");
			if (f->reason == NULL)
				l->oom = true;
		}
		if (!used)
			lint_add(l, si, st, R_UNUSED_WAIVER, "plan.yaml", 0,
			    "step %s waives %s, which does not fire in it",
			    st->id, wv->rule);
	}
	return SK_OK;
}

/* A tenant move's only SQL is its routing statements (route.source,
 * route.target and route.back's two): one script of them, so that the
 * rules that judge a statement (an UPDATE, a lock) judge them too. *out
 * is malloc'ed; "" for a move without them or a step of another kind.
 * NULL: no memory. */
static char *
move_route_sql(const sk_step *st)
{
	const sk_move_tenant *m = st->move;
	const char *v[4] = { "", "", "", "" };
	size_t n = 1;
	char *sql;

	if (st->kind == SK_STEP_MOVE_TENANT && m != NULL) {
		const char *r[4] = { m->route_source, m->route_target,
			m->route_back_source, m->route_back_target };

		for (int i = 0; i < 4; i++)
			v[i] = r[i] != NULL ? r[i] : "";
	}
	for (int i = 0; i < 4; i++)
		n += strlen(v[i]) + 2;
	sql = malloc(n);
	if (sql != NULL)
		snprintf(sql, n, "%s;\n%s;\n%s;\n%s", v[0], v[1], v[2], v[3]);
	return sql;
}

static int
lint_step(lint *l, size_t si, const sk_step *st, const sk_sql_script *parsed,
    sk_err *err)
{
	sk_sql_script *own = NULL;
	const sk_sql_script *sc = parsed;
	size_t first = l->n;
	int rc;

	/* A step is one transaction at most: what it added NOT VALID is
	 * committed by the time the next step validates it. */
	lint_cons_clear(l->pending, l->npending);
	l->npending = 0;

	if (sc == NULL &&
	    (st->kind == SK_STEP_MOVE_TENANT || st->kind == SK_STEP_PURGE_TENANT)) {
		char *route = move_route_sql(st);

		if (route == NULL)
			return sk_err_set(err, SK_ENOMEM, "lint plan: out of memory");
		rc = sk_sql_parse(route, st->id, &own, err);
		free(route);
		if (rc != SK_OK) {
			sk_lint_hint_syntax(err);
			return rc;
		}
		sc = own;
	} else if (sc == NULL) {
		rc = sk_sql_parse(st->sql ? st->sql : "",
		    st->sql_path ? st->sql_path : st->id, &own, err);
		if (rc != SK_OK) {
			sk_lint_hint_syntax(err);
			return rc;
		}
		sc = own;
	}
	for (size_t i = 0; i < sc->nstmts; i++) {
		const sk_sql_stmt *stmt = &sc->stmts[i];

		for (size_t k = 0; k < stmt->nops; k++) {
			const sk_sql_op *op = &stmt->ops[k];

			lint_op(l, si, st, stmt, op);
			lint_types(l, si, st, stmt, op);
			lint_track(l, st, stmt, op);
			if (op->kind == SK_SQL_CREATE_TABLE)
				lint_remember(l, op->schema, op->table);
			else if (op->kind == SK_SQL_CREATE_INDEX)
				lint_remember_in(l, &l->indexes, &l->nindexes,
				    &l->capindexes, op->schema, op->name);
			else if (op->kind == SK_SQL_RENAME_TABLE && lint_created(l, op))
				lint_remember(l, op->schema, op->name);
			else if (op->kind == SK_SQL_RENAME_INDEX &&
			    lint_index_created(l, op->schema, op->table))
				lint_remember_in(l, &l->indexes, &l->nindexes,
				    &l->capindexes, op->schema, op->name);
		}
	}
	lint_tenant(l, si, st, sc);
	/* The kinds whose rollback runs a script (agent needs_revert): the
	 * others are undone by the agent itself (a flag's previous value, an
	 * expand's own DDL) or have nothing to undo (check, backfill). */
	if (!l->bare && st->revert == NULL &&
	    (st->kind == SK_STEP_SQL || st->kind == SK_STEP_CONTRACT))
		lint_add(l, si, st, R_NO_REVERT,
		    st->sql_path != NULL ? st->sql_path : "plan.yaml", 0,
		    "step %s has no revert script: a rollback of the plan is "
		    "refused once it ran",
		    st->id);
	sk_sql_script_destroy(own);
	return apply_waivers(l, si, st, first, err);
}

static void
lint_fini(lint *l)
{
	for (size_t i = 0; i < l->ncreated; i++) {
		free(l->created[i].schema);
		free(l->created[i].table);
	}
	free(l->created);
	for (size_t i = 0; i < l->nindexes; i++) {
		free(l->indexes[i].schema);
		free(l->indexes[i].table);
	}
	free(l->indexes);
	lint_cons_clear(l->pending, l->npending);
	free(l->pending);
	lint_cons_clear(l->proofs, l->nproofs);
	free(l->proofs);
	free(l->order);
}

/* Step order, then line, then the order found; a stable sort by hand,
 * since qsort is not stable and lists are short. */
static void
sort_findings(lint *l)
{
	for (size_t i = 1; i < l->n; i++) {
		sk_lint_finding f = l->f[i];
		size_t o = l->order[i], j = i;

		while (j > 0 &&
		    (l->order[j - 1] > o ||
			(l->order[j - 1] == o && f.line > 0 &&
			    l->f[j - 1].line > f.line))) {
			l->f[j] = l->f[j - 1];
			l->order[j] = l->order[j - 1];
			j--;
		}
		l->f[j] = f;
		l->order[j] = o;
	}
}

int
sk_lint_plan(const sk_plan *plan, sk_lint_finding **out, size_t *n, sk_err *err)
{
	return sk_lint_plan_parsed(plan, NULL, out, n, err);
}

static int
lint_run(const sk_plan *plan, sk_sql_script *const *scripts, bool bare,
    sk_lint_finding **out, size_t *n, sk_err *err)
{
	lint l = { .bare = bare };
	int rc = SK_OK;

	l.server_version = plan->preflight.min_server_version;
	for (size_t i = 0; i < plan->nsteps && rc == SK_OK && !l.oom; i++)
		rc = lint_step(&l, i, &plan->steps[i],
		    scripts != NULL ? scripts[i] : NULL, err);
	if (rc == SK_OK && l.oom)
		rc = sk_err_set(err, SK_ENOMEM, "lint plan %s: out of memory",
		    plan->name ? plan->name : "");
	if (rc != SK_OK) {
		sk_lint_findings_free(l.f, l.n);
		lint_fini(&l);
		return rc;
	}
	sort_findings(&l);
	lint_fini(&l);
	*out = l.n > 0 ? l.f : NULL;
	if (l.n == 0)
		free(l.f);
	*n = l.n;
	return SK_OK;
}

int
sk_lint_plan_parsed(const sk_plan *plan, sk_sql_script *const *scripts,
    sk_lint_finding **out, size_t *n, sk_err *err)
{
	return lint_run(plan, scripts, false, out, n, err);
}

void
sk_lint_findings_free(sk_lint_finding *f, size_t n)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(f[i].step);
		free(f[i].file);
		free(f[i].message);
		free(f[i].reason);
	}
	free(f);
}

size_t
sk_lint_blocking(const sk_lint_finding *f, size_t n)
{
	size_t b = 0;

	for (size_t i = 0; i < n; i++)
		if (f[i].rule->severity == SK_LINT_ERROR && !f[i].waived)
			b++;
	return b;
}

void
sk_lint_hint_syntax(sk_err *err)
{
	if (err == NULL || err->code != SK_EINVAL || err->hint[0] != '\0' ||
	    strstr(err->msg, ": syntax error") == NULL)
		return;
	/* The parser is PostgreSQL's, pinned to the libpg_query release
	 * skein is built with: a newer server's syntax is foreign to it.
	 * Every step is parsed at build and again by the agent, so no
	 * waiver or transaction: false can carry such a statement; a DO
	 * block can, as a string, when it may run in a transaction. */
	snprintf(err->hint, sizeof(err->hint),
	    "skein reads SQL with the parser of PostgreSQL %s: syntax added "
	    "in a later release (REPACK, say) is a syntax error here, and no "
	    "waiver or transaction: false changes that, as every step is "
	    "parsed at build and run time. If the statement may run inside a "
	    "transaction, write it as DO $$ BEGIN EXECUTE '...'; END $$ (the "
	    "lint does not look into it: review it by hand); otherwise run it "
	    "outside skein",
	    sk_sql_parser_version());
}

int
sk_lint_files(const char *const *paths, const char *const *sqls, size_t n,
    const sk_lint_options *opt, sk_lint_finding **out, size_t *nout, sk_err *err)
{
	sk_plan plan;
	int rc = SK_OK;

	memset(&plan, 0, sizeof(plan));
	plan.name = (char *)"(files)";
	plan.preflight.min_server_version = opt ? opt->server_version : 0;
	plan.steps = calloc(n > 0 ? n : 1, sizeof(*plan.steps));
	if (plan.steps == NULL)
		return sk_err_set(err, SK_ENOMEM, "lint files: out of memory");
	plan.nsteps = n;
	/* The steps borrow the caller's strings: nothing here frees them. */
	for (size_t i = 0; i < n; i++) {
		sk_step *st = &plan.steps[i];

		st->id = (char *)paths[i];
		st->kind = SK_STEP_SQL;
		st->sql = (char *)sqls[i];
		st->sql_path = (char *)paths[i];
		st->no_transaction = opt ? opt->no_transaction : false;
	}
	rc = lint_run(&plan, NULL, true, out, nout, err);
	free(plan.steps);
	return rc;
}

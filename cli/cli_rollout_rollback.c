/* cli_rollout_rollback: `skein rollout rollback`, with its brakes. Before
 * anything is asked of the coordinator, the rollout's record (its signed
 * plan and the regions' reports) says what a rollback would revert:
 * regions in reverse phase order (the canary last), databases, steps
 * newest first and each revert script's first line. On a terminal that
 * listing is shown and only "yes" goes on; --yes skips the question,
 * --dry-run only lists; anywhere else without --yes nothing is done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_coord.h"
#include "cli_rollout_int.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_wire.h"

#define REVERT_LINE_MAX 72 /* characters of a revert's first line shown */

/* Whether region's reports of rollout say step ran (or had already run)
 * in database. */
static bool
applied(const sk_rec_src *src, const char *region, const char *db, const char *step)
{
	for (size_t i = 0; i < src->nreports; i++) {
		const sk_region_report *r = &src->reports[i];

		if ((r->report.event == SK_EV_STEP_FINISHED ||
			r->report.event == SK_EV_STEP_SKIPPED) &&
		    strcmp(r->region, region) == 0 &&
		    strcmp(r->report.database, db) == 0 &&
		    strcmp(r->report.step_id, step) == 0)
			return true;
	}
	return false;
}

/* The first line of sql that is neither blank nor only a comment, cut to
 * REVERT_LINE_MAX characters, into buf. */
static void
first_line(const char *sql, char *buf, size_t len)
{
	const char *p = sql;

	buf[0] = '\0';
	while (*p != '\0') {
		const char *end = p + strcspn(p, "\n"), *s = p;
		size_t n;

		while (s < end && strchr(" \t\r", *s) != NULL)
			s++;
		n = (size_t)(end - s);
		while (n > 0 && strchr(" \t\r", s[n - 1]) != NULL)
			n--;
		if (n > 0 && strncmp(s, "--", 2) != 0) {
			if (n > REVERT_LINE_MAX)
				snprintf(buf, len, "%.*s...", REVERT_LINE_MAX, s);
			else
				snprintf(buf, len, "%.*s", (int)n, s);
			return;
		}
		p = *end == '\n' ? end + 1 : end;
	}
}

/* What the rollback does to step, in words, into buf. */
static void
step_undo(const sk_step *st, char *buf, size_t len)
{
	char line[REVERT_LINE_MAX + 8];
	const char *kind = sk_step_kind_name(st->kind);

	if (st->revert != NULL) {
		first_line(st->revert, line, sizeof(line));
		snprintf(buf, len, "%s", line[0] != '\0' ? line : "(revert script)");
		return;
	}
	switch (st->kind) {
	case SK_STEP_SQL:
	case SK_STEP_CONTRACT:
		snprintf(buf, len,
		    "NO REVERT SCRIPT: the agent refuses the rollback of this "
		    "database, reverting nothing");
		break;
	case SK_STEP_FLAG:
		snprintf(buf, len,
		    "(flag: set back to its previous value, before any revert "
		    "script)");
		break;
	case SK_STEP_EXPAND:
		snprintf(buf, len, "(expand: the agent drops what it added)");
		break;
	case SK_STEP_BACKFILL:
		snprintf(buf, len, "(backfill: its checkpoints and ledger row go)");
		break;
	case SK_STEP_CHECK:
		snprintf(buf, len, "(check: its ledger row goes)");
		break;
	case SK_STEP_MOVE_TENANT:
		snprintf(buf, len,
		    "(move_tenant: tenant %s moved back from %s to %s, the same "
		    "way, route.back run)",
		    st->move != NULL ? st->move->value : "?",
		    st->move != NULL ? st->move->to : "?",
		    st->move != NULL ? st->move->from : "?");
		break;
	case SK_STEP_PURGE_TENANT:
		snprintf(buf, len,
		    "(purge_tenant: nothing restored, the rows live in %s; its "
		    "ledger row goes)",
		    st->move != NULL ? st->move->to : "?");
		break;
	default:
		snprintf(buf, len, "(%s: no revert script)",
		    kind != NULL ? kind : "unknown kind");
		break;
	}
}

/* Print what rolling back src's rollout (only region, when not NULL)
 * would revert. Returns the number of steps listed. */
static size_t
print_listing(FILE *out, const sk_rec_src *src, const char *region, bool no_backup)
{
	const sk_plan *plan = src->plan;
	size_t listed = 0;

	fprintf(out, "rollout %s (plan %s): a rollback reverts, canary last:\n",
	    src->view->id, plan->name);
	for (size_t ph = plan->nphases; ph-- > 0;) {
		const sk_phase *phase = &plan->phases[ph];

		for (size_t ri = 0; ri < phase->nregions; ri++) {
			const char *r = phase->regions[ri];
			char dbs[16][SK_NAME_MAX];
			size_t ndbs = 0;
			bool header = false;

			if (region != NULL && strcmp(region, r) != 0)
				continue;
			/* The databases of the region, in report order. */
			for (size_t i = 0; i < src->nreports; i++) {
				const sk_region_report *rr = &src->reports[i];
				bool seen = false;

				if (strcmp(rr->region, r) != 0 ||
				    rr->report.database[0] == '\0')
					continue;
				for (size_t d = 0; d < ndbs && !seen; d++)
					seen = strcmp(dbs[d], rr->report.database) == 0;
				if (!seen && ndbs < sizeof(dbs) / sizeof(dbs[0]))
					snprintf(dbs[ndbs++], SK_NAME_MAX, "%s",
					    rr->report.database);
			}
			for (size_t d = 0; d < ndbs; d++) {
				bool db_header = false;

				for (size_t s = plan->nsteps; s-- > 0;) {
					const sk_step *st = &plan->steps[s];
					char what[256];

					if (!applied(src, r, dbs[d], st->id))
						continue;
					if (!header) {
						fprintf(out, "  region %s (phase %s)\n",
						    r, phase->name);
						header = true;
					}
					if (!db_header) {
						fprintf(out,
						    "    database %s\n", dbs[d]);
						db_header = true;
					}
					step_undo(st, what, sizeof(what));
					fprintf(out, "      %-28s %s\n", st->id, what);
					listed++;
				}
			}
		}
	}
	if (listed == 0)
		fprintf(out, "  (the reports show no applied step%s%s)\n",
		    region != NULL ? " in region " : "", region != NULL ? region : "");
	if (no_backup || plan->no_rollback_backup)
		fprintf(out, "No backup is taken first (%s).\n",
		    no_backup ? "--no-backup" : "the plan says rollback_backup: false");
	else
		fprintf(out,
		    "Each agent backs each database up (pg_dump) before its "
		    "first revert.\n");
	return listed;
}

/* Ask on the terminal; true only for "yes". */
static bool
confirmed(const char *id)
{
	char answer[64];

	fprintf(stderr,
	    "\nRoll back rollout %s? Only 'yes' goes on; anything else changes "
	    "nothing.\n  Enter a value: ",
	    id);
	fflush(stderr);
	if (fgets(answer, sizeof(answer), stdin) == NULL)
		return false;
	answer[strcspn(answer, "\r\n")] = '\0';
	return strcmp(answer, "yes") == 0;
}

int
rollout_cmd_rollback(const char *url, const char *id, const char *region, bool no_backup,
    int confirm, bool wait, int64_t timeout_ms, bool quiet, bool no_color)
{
	sk_cli_request req;
	sk_cli_response resp;
	sk_rec_src src;
	sk_plan *plan = NULL;
	char rid[SK_ID_MAX];
	sk_err err;

	if (confirm == ROLLBACK_ASK && !isatty(STDIN_FILENO)) {
		cli_errorf("rollout",
		    "rollback %s: not on a terminal, so nobody can confirm it; "
		    "nothing was done. Pass --yes to roll back from a script, or "
		    "--dry-run to see what it would revert",
		    id);
		return CLI_USAGE;
	}
	if (confirm != ROLLBACK_YES) {
		if (rollout_fetch_record(url, id, &resp, &plan, &src, &err) != SK_OK) {
			cli_coord_print_err("rollout rollback", &err);
			return CLI_FAIL;
		}
		if (plan == NULL) {
			cli_errorf("rollout",
			    "rollback %s: the rollout's plan cannot be read, so what "
			    "it would revert cannot be shown; nothing was done "
			    "(--yes rolls back without the listing)",
			    id);
			sk_cli_response_fini(&resp);
			return CLI_FAIL;
		}
		print_listing(confirm == ROLLBACK_DRY_RUN ? stdout : stderr,
		    &src, region, no_backup);
		sk_plan_destroy(plan);
		sk_cli_response_fini(&resp);
		if (confirm == ROLLBACK_DRY_RUN) {
			printf("Dry run: nothing was reverted.\n");
			return CLI_OK;
		}
		if (!confirmed(id)) {
			fprintf(stderr, "Rollback cancelled: nothing was reverted.\n");
			return CLI_FAIL;
		}
	}
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_ROLLBACK;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	snprintf(req.region, sizeof(req.region), "%s", region ? region : "");
	req.no_backup = no_backup;
	if (cli_coord_ask("rollout rollback", url, &req, &resp) != SK_OK)
		return CLI_FAIL;
	snprintf(rid, sizeof(rid), "%s", resp.rollout_id);
	sk_cli_response_fini(&resp);
	printf("%s\n", rid);
	fflush(stdout);
	if (!wait)
		return CLI_OK;
	return rollout_cmd_wait(url, rid, timeout_ms, quiet, no_color, false);
}

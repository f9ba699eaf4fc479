/* cli_rollout_opctl: `skein rollout pause|resume|tune`, the operator's
 * word to a running rollout: their usage, the values a tune takes, and
 * the exchange with the coordinator (which journals each with who said
 * it, and refuses what does not apply: coordinator/coord_opctl.c). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_coord.h"
#include "cli_rollout_int.h"
#include "sk_plan.h"
#include "sk_wire.h"

/* ---- usage -------------------------------------------------------------- */

void
rollout_pause_usage(FILE *out, const char *tls_help)
{
	fprintf(out,
	    "Pause a running rollout. Steps that are running finish; a backfill\n"
	    "stops at the end of its current batch; no further step starts in\n"
	    "any region, no region is sent the plan, and the next phase does not\n"
	    "start, until skein rollout resume. No transaction stays open while\n"
	    "paused (each agent keeps its database session and skein's own\n"
	    "advisory lock). The coordinator journals who paused it and why;\n"
	    "status shows both. A pause ends when the rollout does.\n"
	    "Needs role operator.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout pause ID [--reason TEXT] [--coordinator URL]\n"
	    "  skein rollout pause ID --region R [--region R]... [--reason TEXT]\n"
	    "\n"
	    "With --region, only those regions hold: a running step there\n"
	    "finishes, no other starts there, their phase does not complete and\n"
	    "a region of a later phase is not started; the others go on.\n"
	    "\n"
	    "Options:\n"
	    "  --reason TEXT      why, shown with the pause (one line, at most\n"
	    "                     %d bytes)\n"
	    "  --coordinator URL  the coordinator's control URL\n%s"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Example:\n"
	    "  skein rollout pause r-abc --reason \"replica lag in in-west\"\n"
	    "\n"
	    "Exit status: 0 paused; 1 refused (unknown or finished rollout, already\n"
	    "paused, a rehearsal, a role below operator) or unreachable; 2 usage.\n",
	    SK_REASON_MAX - 1, tls_help);
}

void
rollout_resume_usage(FILE *out, const char *tls_help)
{
	fprintf(out,
	    "Resume a paused rollout: the agents start their next step (a\n"
	    "backfill its next batch), and a phase the pause held back starts.\n"
	    "Needs role operator.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout resume ID [--coordinator URL]\n"
	    "  skein rollout resume ID --region R [--region R]...\n"
	    "\n"
	    "Options:\n"
	    "  --coordinator URL  the coordinator's control URL\n%s"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Example:\n"
	    "  skein rollout resume r-abc\n"
	    "\n"
	    "Exit status: 0 resumed; 1 refused (unknown or finished rollout, not\n"
	    "paused, a role below operator) or unreachable; 2 usage.\n",
	    tls_help);
}

void
rollout_tune_usage(FILE *out, const char *tls_help)
{
	fprintf(out,
	    "Change the limits of a running rollout's backfills (backfill and\n"
	    "expand steps) over what the plan says: each running backfill takes\n"
	    "them at its next batch, and a later one starts with them. Tunes\n"
	    "add up: a value not given keeps the plan's or an earlier tune's.\n"
	    "The coordinator journals who tuned what; status shows every tune\n"
	    "so far. Needs role operator.\n"
	    "\n"
	    "Usage:\n"
	    "  skein rollout tune ID [--max-rows-per-second N|none]\n"
	    "                        [--batch-min N] [--batch-max N]\n"
	    "\n"
	    "Options:\n"
	    "  --max-rows-per-second N|none  at most N rows a second (N > 0), or\n"
	    "                     none for no limit (to stop, pause instead)\n"
	    "  --batch-min N      the smallest batch, rows (1..%d)\n"
	    "  --batch-max N      the largest batch, rows (1..%d); a step's\n"
	    "                     batch_min may not end up above its batch_max\n"
	    "  --coordinator URL  the coordinator's control URL\n%s"
	    "  -h, --help         show this help\n"
	    "\n"
	    "Examples:\n"
	    "  skein rollout tune r-abc --max-rows-per-second 2000\n"
	    "  skein rollout tune r-abc --batch-min 500 --batch-max 5000\n"
	    "  skein rollout tune r-abc --max-rows-per-second none\n"
	    "\n"
	    "Exit status: 0 tuned; 1 refused (unknown or finished rollout, a plan\n"
	    "without a backfill, batch_min above batch_max with earlier tunes or\n"
	    "the plan, a role below operator) or unreachable; 2 usage (nothing to\n"
	    "tune, a value that is not a number in range, batch_min above\n"
	    "batch_max).\n",
	    SK_BACKFILL_BATCH_LIMIT, SK_BACKFILL_BATCH_LIMIT, tls_help);
}

/* ---- option values ------------------------------------------------------ */

int
rollout_parse_rate(const char *arg, sk_tune *t)
{
	char *end = NULL;
	double v;

	if (strcmp(arg, "none") == 0) {
		t->has_rate = true;
		t->max_rows_per_second = 0;
		return CLI_OK;
	}
	errno = 0;
	v = strtod(arg, &end);
	if (arg[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(v) || v <= 0) {
		cli_errorf("rollout",
		    "tune --max-rows-per-second: '%s' is not a positive number of "
		    "rows a second%s",
		    arg,
		    end != NULL && *end == '\0' && v == 0 ?
			" (none removes the limit; to stop, skein rollout pause)" :
			" (or none, for no limit)");
		return CLI_USAGE;
	}
	t->has_rate = true;
	t->max_rows_per_second = v;
	return CLI_OK;
}

int
rollout_parse_batch(const char *opt, const char *arg, int64_t *out)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (arg[0] == '\0' || *end != '\0' || errno != 0 || v < 1 ||
	    v > SK_BACKFILL_BATCH_LIMIT) {
		cli_errorf("rollout", "tune %s: '%s' is not a number of rows in [1, %d]",
		    opt, arg, SK_BACKFILL_BATCH_LIMIT);
		return CLI_USAGE;
	}
	*out = (int64_t)v;
	return CLI_OK;
}

int
rollout_check_tune(const sk_tune *t)
{
	if (sk_tune_is_empty(t)) {
		cli_errorf("rollout",
		    "tune: nothing to tune: give --max-rows-per-second N|none, "
		    "--batch-min N or --batch-max N");
		return CLI_USAGE;
	}
	if (t->batch_min > 0 && t->batch_max > 0 && t->batch_min > t->batch_max) {
		cli_errorf("rollout",
		    "tune: --batch-min %" PRId64 " is above --batch-max %" PRId64,
		    t->batch_min, t->batch_max);
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* ---- the exchange ------------------------------------------------------- */

/* Send req (op and rollout id set) and print the answer's refusal as
 * "skein rollout VERB: ..."; on CLI_OK *resp is the answer, ok. */
static int
call(const char *url, const sk_cli_request *req, sk_cli_response *resp)
{
	char cmd[32];

	snprintf(cmd, sizeof(cmd), "rollout %s", sk_cli_op_name(req->op));
	return cli_coord_ask(cmd, url, req, resp) == SK_OK ? CLI_OK : CLI_FAIL;
}

/* A request of op for rollout id; CLI_USAGE for an id that cannot be
 * one. */
static int
request(sk_cli_request *req, int op, const char *id)
{
	memset(req, 0, sizeof(*req));
	req->op = op;
	if (strlen(id) >= sizeof(req->rollout_id)) {
		cli_errorf("rollout", "%s: '%.20s...' is not a rollout ID (%zu bytes)",
		    sk_cli_op_name(op), id, strlen(id));
		return CLI_USAGE;
	}
	snprintf(req->rollout_id, sizeof(req->rollout_id), "%s", id);
	return CLI_OK;
}

int
rollout_cmd_pause(const char *url, const char *id, const char *reason)
{
	sk_cli_request req;
	sk_cli_response resp;
	int rc;

	if ((rc = request(&req, SK_CLI_PAUSE, id)) != CLI_OK)
		return rc;
	if (reason != NULL && strlen(reason) >= sizeof(req.reason)) {
		cli_errorf("rollout", "pause --reason: %zu bytes, at most %zu",
		    strlen(reason), sizeof(req.reason) - 1);
		return CLI_USAGE;
	}
	for (const char *c = reason != NULL ? reason : ""; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			cli_errorf("rollout",
			    "pause --reason: give it on one line, without control "
			    "characters");
			return CLI_USAGE;
		}
	}
	snprintf(req.reason, sizeof(req.reason), "%s", reason != NULL ? reason : "");
	if ((rc = call(url, &req, &resp)) != CLI_OK)
		return rc;
	printf("rollout %s paused: running steps finish, backfills stop at their "
	       "next batch, and no step or phase starts until skein rollout "
	       "resume %s\n",
	    resp.rollout_id, resp.rollout_id);
	sk_cli_response_fini(&resp);
	return CLI_OK;
}

int
rollout_cmd_resume(const char *url, const char *id)
{
	sk_cli_request req;
	sk_cli_response resp;
	int rc;

	if ((rc = request(&req, SK_CLI_RESUME, id)) != CLI_OK ||
	    (rc = call(url, &req, &resp)) != CLI_OK)
		return rc;
	printf("rollout %s resumed\n", resp.rollout_id);
	sk_cli_response_fini(&resp);
	return CLI_OK;
}

int
rollout_cmd_tune(const char *url, const char *id, const sk_tune *t)
{
	sk_cli_request req;
	sk_cli_response resp;
	char words[160];
	int rc;

	if ((rc = rollout_check_tune(t)) != CLI_OK ||
	    (rc = request(&req, SK_CLI_TUNE, id)) != CLI_OK)
		return rc;
	req.tune = *t;
	if ((rc = call(url, &req, &resp)) != CLI_OK)
		return rc;
	sk_tune_format(resp.nrollouts > 0 ? &resp.rollouts[0].tune : t, words,
	    sizeof(words));
	printf("rollout %s tuned: %s (every tune so far; backfills take it at "
	       "their next batch)\n",
	    resp.rollout_id, words);
	sk_cli_response_fini(&resp);
	return CLI_OK;
}

/* cli_rollout_record: `skein rollout report`, `start --rehearse` and
 * `rollback`: the commands that read a rollout's record (its reports and
 * plan), and the record rollback lists (cli_rollout_rollback.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_coord.h"
#include "cli_rollout_int.h"
#include "sk_envelope.h"
#include "sk_key.h"
#include "sk_plan.h"
#include "sk_util.h"
#include "sk_wire.h"

/* How long `start --rehearse` waits for every region's verdict. */
#define REHEARSE_TIMEOUT_MS (10LL * 60 * 1000)

static sk_plan *plan_of(const sk_cli_response *resp);

int
rollout_fetch_record(const char *url, const char *id, sk_cli_response *resp,
    sk_plan **plan, sk_rec_src *src, sk_err *err)
{
	sk_cli_request req;

	*plan = NULL;
	memset(&req, 0, sizeof(req));
	req.op = SK_CLI_REPORT;
	snprintf(req.rollout_id, sizeof(req.rollout_id), "%s", id);
	if (cli_coord_call(url, &req, resp, err) != SK_OK)
		return err->code;
	if (!resp->ok) {
		*err = resp->error;
		sk_cli_response_fini(resp);
		return err->code != SK_OK ? err->code : SK_EINVAL;
	}
	if (resp->nrollouts != 1) {
		sk_cli_response_fini(resp);
		return sk_err_set(err, SK_EDECODE,
		    "rollout report %s: the coordinator sent no rollout", id);
	}
	*plan = plan_of(resp);
	*src = (sk_rec_src){ .view = &resp->rollouts[0],
		.plan = *plan,
		.reports = resp->reports,
		.nreports = resp->nreports };
	return SK_OK;
}

/* The plan inside a signed plan, for its waivers. The coordinator verified
 * the signature when the rollout started; this only reads it. NULL (with
 * a warning) when it cannot be read: the record is still printed. */
static sk_plan *
plan_of(const sk_cli_response *resp)
{
	uint8_t *payload = NULL;
	size_t plen = 0;
	uint8_t signer[SK_KEY_ID_LEN];
	sk_plan *plan = NULL;
	sk_err err;
	int kind;

	if (resp->signed_plan_len == 0)
		return NULL;
	if (sk_envelope_peek(&payload, &plen, &kind, signer, resp->signed_plan,
		resp->signed_plan_len, &err) != SK_OK ||
	    sk_plan_decode(payload, plen, &plan, &err) != SK_OK) {
		fprintf(stderr,
		    "skein rollout report: warning: cannot read the "
		    "rollout's plan (%s); waivers are not shown\n",
		    err.msg);
		plan = NULL;
	}
	free(payload);
	return plan;
}

int
cli_report_json(FILE *out, const sk_rec_src *src, sk_err *err)
{
	json_t *root = sk_view_report_json(src);
	int rc = SK_OK;

	if (root == NULL)
		return sk_err_set(err, SK_ENOMEM, "rollout report: out of memory");
	if (json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
	    fputc('\n', out) == EOF || fflush(out) != 0)
		rc = sk_err_set(err, SK_EIO, "rollout report: cannot write the output");
	json_decref(root);
	return rc;
}

int
rollout_cmd_report(const char *url, const char *id, const char *format)
{
	sk_cli_response resp;
	sk_rec_src src;
	sk_plan *plan;
	sk_err err;
	int rc;

	if (rollout_fetch_record(url, id, &resp, &plan, &src, &err) != SK_OK) {
		cli_coord_print_err("rollout report", &err);
		return CLI_FAIL;
	}
	rc = strcmp(format, "json") == 0 ? cli_report_json(stdout, &src, &err) :
					   cli_report_md(stdout, &src, &err);
	if (rc != SK_OK)
		cli_coord_print_err("rollout report", &err);
	sk_plan_destroy(plan);
	sk_cli_response_fini(&resp);
	return rc == SK_OK ? CLI_OK : CLI_FAIL;
}

int
rollout_cmd_rehearse(const char *url, const char *path, int64_t timeout_ms)
{
	int64_t deadline =
	    sk_mono_ms() + (timeout_ms > 0 ? timeout_ms : REHEARSE_TIMEOUT_MS);
	char id[SK_ID_MAX], took[32];
	sk_cli_response resp;
	sk_rec_src src;
	cli_verdicts counts;
	sk_plan *plan;
	sk_err err;
	int rc;

	if (rollout_start(url, path, SK_MODE_REHEARSE, false, id, &err) != SK_OK) {
		cli_coord_print_err("rollout start --rehearse", &err);
		return CLI_FAIL;
	}
	fprintf(stderr, "rehearsal %s started; waiting for every region\n", id);
	rc = rollout_follow(url, id, deadline, true, true, &resp, &err);
	if (rc == SK_OK) {
		sk_cli_response_fini(&resp);
	} else if (rc != SK_ETIMEOUT) {
		cli_coord_print_err("rollout start --rehearse", &err);
		return CLI_FAIL;
	}
	if (rollout_fetch_record(url, id, &resp, &plan, &src, &err) != SK_OK) {
		cli_coord_print_err("rollout start --rehearse", &err);
		return CLI_FAIL;
	}
	cli_rehearsal_print(stdout, &src, &counts);
	if (rc == SK_ETIMEOUT) {
		sk_duration_format(timeout_ms > 0 ? timeout_ms : REHEARSE_TIMEOUT_MS,
		    took, sizeof(took));
		cli_errorf("rollout start --rehearse",
		    "%zu of %zu regions gave no verdict within %s; the rehearsal "
		    "%s goes on when their agents answer (skein rollout wait %s)",
		    counts.silent, counts.total, took, id, id);
	}
	sk_plan_destroy(plan);
	sk_cli_response_fini(&resp);
	return counts.ready == counts.total && counts.total > 0 ? CLI_OK : CLI_FAIL;
}

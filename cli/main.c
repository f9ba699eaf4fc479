/* skein: the operator CLI. This file only dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sk_key.h"
#include "sk_log.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "skein rolls database changes out across regions, phase by phase.\n"
	    "\n"
	    "Usage:\n"
	    "  skein init DIR                         a deployment directory to start from\n"
	    "  skein keygen --out DIR/NAME            create NAME.key and NAME.pub\n"
	    "  skein plan build PLAN_DIR -o FILE      read plan.yaml and its SQL into a plan\n"
	    "  skein plan lint PLAN_DIR               check the plan's SQL against the rules\n"
	    "  skein lint FILE.sql ...                the same rules on bare SQL files\n"
	    "  skein plan sign FILE --key KEY -o OUT  sign a plan with a release key\n"
	    "  skein plan verify SIGNED --pub PUB     check a signed plan's signature\n"
	    "  skein plan show FILE [--json]          describe a plan or signed plan\n"
	    "  skein plan import --from TOOL DIR -o PLAN_DIR --phase NAME=R,...\n"
	    "                                         Flyway, golang-migrate or Sqitch\n"
	    "                                         migrations as a skein plan\n"
	    "  skein rollout start SIGNED             start a rollout, print its id\n"
	    "  skein rollout status [ID] [--json]     show where each region is\n"
	    "  skein rollout wait ID                  follow a rollout until it ends\n"
	    "  skein rollout pause ID [--reason TEXT] hold a rollout; resume ID goes on\n"
	    "  skein rollout tune ID [--batch-max N]  new limits for its backfills\n"
	    "  skein rollout start --rehearse SIGNED  rehearse everywhere: READY or BLOCKED\n"
	    "  skein rollout rollback ID [--dry-run]  list, ask, run the reverts of a rollout\n"
	    "  skein rollout report ID [--format F]   the execution record (md, json)\n"
	    "  skein rollout abort ID [--reason TEXT] end it: running steps finish\n"
	    "  skein rollout abort ID --region R      abort one region; the rollout fails\n"
	    "  skein stop --all|--lift|--status       stop the line, lift it, show it\n"
	    "  skein rollout list [--json]            every rollout and what it waits for\n"
	    "  skein rollout approve ID --phase NAME  approve a phase (its gate)\n"
	    "  skein agents [--json]                  each region's agent: connected?\n"
	    "  skein flag set|get|list ...            flip a feature flag in a region's\n"
	    "                                         databases, coordinator or not\n"
	    "\n"
	    "Run \"skein COMMAND --help\" for a command's options.\n"
	    "Rollout commands reach the coordinator at --coordinator URL or\n"
	    "$SKEIN_COORDINATOR.\n");
}

int
main(int argc, char **argv)
{
	sk_err err;

	sk_log_init("skein", NULL);
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("skein %s\n", SKEIN_VERSION);
		return CLI_OK;
	}
	if (sk_crypto_init(&err) != SK_OK) {
		cli_errorf("init", "%s", err.msg);
		return CLI_FAIL;
	}
	if (strcmp(argv[1], "init") == 0)
		return cli_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "keygen") == 0)
		return cli_keygen(argc - 1, argv + 1);
	if (strcmp(argv[1], "plan") == 0)
		return cli_plan(argc - 1, argv + 1);
	if (strcmp(argv[1], "rollout") == 0)
		return cli_rollout(argc - 1, argv + 1);
	if (strcmp(argv[1], "lint") == 0)
		return cli_lint(argc - 1, argv + 1);
	if (strcmp(argv[1], "agents") == 0)
		return cli_agents(argc - 1, argv + 1);
	if (strcmp(argv[1], "stop") == 0) /* stopline */
		return cli_stop(argc - 1, argv + 1);
	if (strcmp(argv[1], "flag") == 0) /* flags */
		return cli_flag(argc - 1, argv + 1);
	cli_errorf(argv[1], "unknown command");
	usage(stderr);
	return CLI_USAGE;
}

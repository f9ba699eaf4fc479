/* skein-agent: parses arguments and runs the agent beside a regional
 * database. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "agent_session.h"
#include "sk_config.h"
#include "sk_daemon.h"
#include "sk_key.h"
#include "sk_log.h"

static atomic_int stop_flag;

static void
usage(FILE *out)
{
	fprintf(out,
	    "skein-agent applies signed plans to the databases of one region.\n"
	    "It runs beside the regional PostgreSQL and dials the coordinator.\n"
	    "\n"
	    "Usage: skein-agent --config agent.yaml\n"
	    "\n"
	    "Options:\n"
	    "  -c, --config FILE   agent configuration (required)\n"
	    "  -h, --help          show this help\n"
	    "  -V, --version       show the version\n"
	    "\n"
	    "agent.yaml keys: region, coordinator, key, coordinator_key,\n"
	    "release_keys, databases (name, conninfo, backup_conninfo, pooler),\n"
	    "state, poll_ms, parallel, backup_dir, pg_dump, pg_restore.\n"
	    "  pooler: transaction  conninfo goes through PgBouncer in transaction\n"
	    "                       mode: no session state, the ledger lock is taken\n"
	    "                       in every transaction, no timeouts or blocker\n"
	    "                       watch for transaction: false steps\n"
	    "  backup_dir           where plans with backup: true write a verified\n"
	    "                       pg_dump -Fc before their first change (required\n"
	    "                       by such plans); pg_dump connects with\n"
	    "                       backup_conninfo (default conninfo), which must\n"
	    "                       be direct when conninfo goes through a pooler\n"
	    "See docs/formats.md (configuration) and docs/safety.md (what the\n"
	    "agent does in a database, backups, pooled mode).\n");
}

int
main(int argc, char **argv)
{
	const char *config = NULL;
	sk_agent_config cfg;
	agent_session *s = NULL;
	sk_err err;
	int rc;

	if ((rc = sk_daemon_args(argc, argv, "skein-agent", usage, &config)) >= 0)
		return rc;
	sk_log_init("skein-agent", NULL);
	memset(&cfg, 0, sizeof(cfg));
	if (sk_crypto_init(&err) != SK_OK ||
	    sk_agent_config_load(config, &cfg, &err) != SK_OK) {
		sk_log_err(SK_LOG_ERROR, &err);
		sk_agent_config_fini(&cfg);
		return 1;
	}
	sk_log_init("skein-agent", cfg.region);
	sk_log_set_format(cfg.log_format);
	if (agent_session_create(&cfg, &s, &err) != SK_OK) {
		sk_log_err(SK_LOG_ERROR, &err);
		sk_agent_config_fini(&cfg);
		return 1;
	}
	sk_daemon_signals(&stop_flag);
	rc = agent_session_run(s, &stop_flag, &err);
	if (rc != SK_OK)
		sk_log_err(SK_LOG_ERROR, &err);
	agent_session_destroy(s);
	sk_agent_config_fini(&cfg);
	return rc == SK_OK ? 0 : 1;
}

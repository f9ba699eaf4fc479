/* skein-agent: parses arguments and runs the agent beside a regional
 * database. */
#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_session.h"
#include "sk_config.h"
#include "sk_daemon.h"
#include "sk_key.h"
#include "sk_log.h"
#include "sk_transport.h"

static atomic_int stop_flag;

static void
usage(FILE *out)
{
	fprintf(out,
	    "skein-agent applies signed plans to the databases of one region.\n"
	    "It runs beside the regional PostgreSQL and dials the coordinator.\n"
	    "\n"
	    "Usage: skein-agent --config agent.yaml [--check]\n"
	    "\n"
	    "Options:\n"
	    "  -c, --config FILE   agent configuration (required)\n"
	    "  --check             check the configuration and exit: agent.yaml\n"
	    "                      parses, the agent key loads (mode 0600), the\n"
	    "                      coordinator and release public keys load, the\n"
	    "                      TLS files load, the state directory (or its\n"
	    "                      parent) and backup_dir are writable; exit 0\n"
	    "                      if so, else 1 with the reason. Needs neither\n"
	    "                      the coordinator nor a database and creates\n"
	    "                      nothing (a probe: deploy/kubernetes)\n"
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

/* Whether dir is a directory this process can write into. */
static int
check_writable(const char *what, const char *dir, sk_err *err)
{
	if (access(dir, W_OK | X_OK) != 0)
		return sk_err_set(err, SK_EIO, "%s %s: not a writable directory: %s",
		    what, dir, strerror(errno));
	return SK_OK;
}

/* --check: everything the agent loads at start, without starting. */
static int
check_config(const sk_agent_config *cfg, sk_err *err)
{
	sk_keyring ring = { 0 };
	sk_seckey *key = NULL;
	char idhex[2 * SK_KEY_ID_LEN + 1], *parent, *slash;
	nng_socket sock;
	int rc, rv;

	if ((rc = sk_seckey_load(cfg->key, &key, err)) != SK_OK)
		return rc;
	sk_key_id_hex(sk_seckey_public(key)->id, idhex);
	sk_seckey_destroy(key);
	rc = sk_keyring_add_file(&ring, cfg->coordinator_key, err);
	for (size_t i = 0; rc == SK_OK && i < cfg->nrelease_keys; i++)
		rc = sk_keyring_add_file(&ring, cfg->release_keys[i], err);
	sk_keyring_fini(&ring);
	if (rc != SK_OK)
		return rc;
	if (access(cfg->state, F_OK) == 0) {
		rc = check_writable("state", cfg->state, err);
	} else {
		parent = strdup(cfg->state);
		if (parent == NULL)
			return sk_err_set(err, SK_ENOMEM, "check: out of memory");
		slash = strrchr(parent, '/');
		if (slash != NULL && slash != parent)
			*slash = '\0';
		else if (slash == NULL)
			snprintf(parent, strlen(parent) + 1, ".");
		rc = check_writable("the parent of state", parent, err);
		free(parent);
	}
	if (rc == SK_OK && cfg->backup_dir != NULL)
		rc = check_writable("backup_dir", cfg->backup_dir, err);
	if (rc != SK_OK)
		return rc;
	/* The transport loads the TLS files when it dials: a dial in the
	 * background loads them; the socket is closed at once, so --check
	 * neither waits for the coordinator nor sends it anything. */
	if ((rv = nng_req0_open(&sock)) != 0)
		return sk_err_set(err, SK_ENET, "check: %s", nng_strerror(rv));
	rc = sk_transport_dial(
	    sock, cfg->coordinator, &cfg->tls, NNG_FLAG_NONBLOCK, err);
	nng_close(sock);
	if (rc != SK_OK)
		return rc;
	printf("skein-agent: config ok: region %s, agent key %s, %zu %s, "
	       "coordinator %s%s\n",
	    cfg->region, idhex, cfg->ndatabases,
	    cfg->ndatabases == 1 ? "database" : "databases", cfg->coordinator,
	    sk_transport_is_tls(cfg->coordinator) ? " (TLS files load)" : "");
	return SK_OK;
}

int
main(int argc, char **argv)
{
	const char *config = NULL;
	bool check = false;
	int n = 1;
	sk_agent_config cfg;
	agent_session *s = NULL;
	sk_err err;
	int rc;

	/* --check is the agent's own; the other options are every daemon's. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--check") == 0)
			check = true;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	argc = n;
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
	if (check) {
		rc = check_config(&cfg, &err);
		if (rc != SK_OK)
			sk_log_err(SK_LOG_ERROR, &err);
		sk_agent_config_fini(&cfg);
		return rc == SK_OK ? 0 : 1;
	}
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

/* skein-coordinator: parses arguments and runs the coordinator daemon. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "coord_server.h"
#include "sk_config.h"
#include "sk_daemon.h"
#include "sk_key.h"
#include "sk_log.h"

static atomic_int stop_flag;

static void
usage(FILE *out)
{
	fprintf(out,
	    "skein-coordinator drives rollouts of signed plans across regions.\n"
	    "\n"
	    "Usage: skein-coordinator --config coordinator.yaml\n"
	    "\n"
	    "Options:\n"
	    "  -c, --config FILE   coordinator configuration (required)\n"
	    "  -h, --help          show this help\n"
	    "  -V, --version       show the version\n"
	    "\n"
	    "coordinator.yaml keys: listen, control, regions, key, release_keys,\n"
	    "state. See docs/formats.md.\n");
}

int
main(int argc, char **argv)
{
	const char *config = NULL;
	sk_coord_config cfg;
	coord_server *srv = NULL;
	sk_err err;
	int rc;

	if ((rc = sk_daemon_args(argc, argv, "skein-coordinator", usage, &config)) >= 0)
		return rc;
	sk_log_init("skein-coordinator", NULL);
	memset(&cfg, 0, sizeof(cfg));
	rc = sk_crypto_init(&err);
	if (rc == SK_OK)
		rc = sk_coord_config_load(config, &cfg, &err);
	if (rc == SK_OK) {
		sk_log_set_format(cfg.log_format);
		rc = coord_server_create(&cfg, &srv, &err);
	}
	if (rc != SK_OK) {
		sk_log_err(SK_LOG_ERROR, &err);
		sk_coord_config_fini(&cfg);
		return 1;
	}
	sk_daemon_signals(&stop_flag);
	rc = coord_server_run(srv, &stop_flag, &err);
	if (rc != SK_OK)
		sk_log_err(SK_LOG_ERROR, &err);
	coord_server_destroy(srv);
	sk_coord_config_fini(&cfg);
	return rc == SK_OK ? 0 : 1;
}

/* skein-coordinator: parses arguments and runs the coordinator daemon. */
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "coord_server.h"
#include "sk_config.h"
#include "sk_key.h"
#include "sk_log.h"

static atomic_int stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

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
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL;
	sk_coord_config cfg;
	coord_server *srv = NULL;
	struct sigaction sa;
	sk_err err;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("skein-coordinator %s\n", SKEIN_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (config == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	sk_log_init("skein-coordinator", NULL);
	memset(&cfg, 0, sizeof(cfg));
	if (sk_crypto_init(&err) != SK_OK ||
	    sk_coord_config_load(config, &cfg, &err) != SK_OK ||
	    coord_server_create(&cfg, &srv, &err) != SK_OK) {
		sk_log_err(SK_LOG_ERROR, &err);
		sk_coord_config_fini(&cfg);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = coord_server_run(srv, &stop_flag, &err);
	if (rc != SK_OK)
		sk_log_err(SK_LOG_ERROR, &err);
	coord_server_destroy(srv);
	sk_coord_config_fini(&cfg);
	return rc == SK_OK ? 0 : 1;
}

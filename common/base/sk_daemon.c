/* sk_daemon: shared start-up of the two daemons. */
#include "sk_daemon.h"

#include <getopt.h>
#include <signal.h>
#include <string.h>

static atomic_int *stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	if (stop_flag != NULL)
		atomic_store(stop_flag, 1);
}

int
sk_daemon_args(int argc, char **argv, const char *program,
    void (*usage)(FILE *out), const char **config)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*config = NULL;
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*config = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s %s\n", program, SKEIN_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (*config == NULL || optind != argc) {
		fprintf(stderr, "%s: %s\n", program,
		    *config == NULL ? "--config FILE is required" :
				      "unexpected arguments");
		usage(stderr);
		return 2;
	}
	return -1;
}

void
sk_daemon_signals(atomic_int *stop)
{
	struct sigaction sa;

	stop_flag = stop;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

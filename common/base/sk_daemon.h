/* sk_daemon: what skein-coordinator and skein-agent share at start-up:
 * the `--config FILE` command line and stop-on-signal handling. */
#ifndef SK_DAEMON_H
#define SK_DAEMON_H

#include <stdatomic.h>
#include <stdio.h>

/* Parse `--config FILE`, `--help` and `--version`. usage prints the
 * program's help to the given stream. Returns -1 and sets *config when the
 * program should go on; otherwise the exit code (0 after --help or
 * --version, 2 after a usage error, which is explained on stderr). */
int sk_daemon_args(int argc, char **argv, const char *program,
    void (*usage)(FILE *out), const char **config);

/* Make SIGINT and SIGTERM set *stop (the daemons poll it), and ignore
 * SIGPIPE. Not thread-safe: call once, before starting threads. */
void sk_daemon_signals(atomic_int *stop);

#endif

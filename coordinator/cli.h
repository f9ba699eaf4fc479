/* cli: the `skein` operator command. skein_main.c dispatches the first
 * argument to one of these; each parses its own options with getopt_long,
 * answers --help on stdout with exit 0, and returns the process exit code:
 *
 *   0  success
 *   1  the operation failed (bad signature, failed rollout, unreachable
 *      coordinator, invalid plan); the reason is on stderr
 *   2  usage error (unknown option, missing argument)
 *
 * argv[0] is the subcommand name ("keygen", "plan", "rollout").
 */
#ifndef CLI_H
#define CLI_H

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* skein keygen --out DIR/NAME */
int cli_keygen(int argc, char **argv);

/* skein plan build|sign|verify|show ... */
int cli_plan(int argc, char **argv);

/* skein rollout start|status|wait ... */
int cli_rollout(int argc, char **argv);

/* Print "skein <cmd>: <message>" on stderr; used by every subcommand so
 * that errors look alike. */
void cli_errorf(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

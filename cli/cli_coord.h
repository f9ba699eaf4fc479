/* cli_coord: the CLI's exchange with the coordinator's control socket
 * (one request, one answer) and how the coordinator's refusals are
 * printed. The `skein rollout` subcommands build on it; it calls none of
 * them. */
#ifndef CLI_COORD_H
#define CLI_COORD_H

#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>

#include "sk_err.h"
#include "sk_wire.h"

/* Use the operator key at path (borrowed; NULL: look again) for every
 * request after this: `--key FILE`. */
void cli_coord_set_key(const char *path);

/* Where the operator key is looked for, in order: cli_coord_set_key's
 * path, $SKEIN_KEY, then $XDG_CONFIG_HOME/skein/operator.key (or
 * ~/.config/skein/operator.key) when that file exists. Writes the path to
 * buf and where it came from ("--key", "SKEIN_KEY", "the default path")
 * to *source; false when none applies. */
bool cli_coord_key_path(char *buf, size_t len, const char **source);

/* Send req to the coordinator at url and wait for its answer (at most
 * 10 s each way). The request is signed by the operator key
 * (cli_coord_key_path), with the time and a fresh nonce, in an operator
 * envelope; without a key it goes unsigned, which only a coordinator with
 * insecure_local takes (the refusal then says where a key is looked
 * for). A key that cannot be read fails with its error and source. On SK_OK *resp is filled (sk_cli_response_fini) and is
 * the coordinator's answer, which may itself be a refusal (resp->ok false,
 * resp->error says why). Fails with SK_ENET (unreachable, with a hint),
 * SK_EDECODE (an answer that is not one) or SK_ENOMEM; *resp then holds
 * nothing. */
int cli_coord_call(const char *url, const sk_cli_request *req,
    sk_cli_response *resp, sk_err *err) SK_WARN_UNUSED;

/* A socket kept between requests, for commands that poll: dialled at
 * its first call, reused by the next, closed after any failure (the next
 * call dials afresh, and so finds a coordinator that restarted). url is
 * borrowed. */
typedef struct cli_coord_conn {
	const char *url;
	nng_socket sock;
	bool open;
} cli_coord_conn;

void cli_coord_conn_init(cli_coord_conn *c, const char *url);
/* cli_coord_call on c's socket; the same answers and errors. */
int cli_coord_conn_call(cli_coord_conn *c, const sk_cli_request *req,
    sk_cli_response *resp, sk_err *err) SK_WARN_UNUSED;
void cli_coord_conn_close(cli_coord_conn *c);

/* Print e on stderr as "skein CMD: message (SQLSTATE x)", then its
 * detail and hint on lines of their own. */
void cli_coord_print_err(const char *cmd, const sk_err *e);

/* cli_coord_call, and the error printed as cli_coord_print_err does for
 * cmd whether the call failed or the coordinator refused. SK_OK only for
 * an answer with resp->ok (resp then the caller's, sk_cli_response_fini);
 * otherwise resp holds nothing and the call's or the refusal's code is
 * returned. */
int cli_coord_ask(const char *cmd, const char *url, const sk_cli_request *req,
    sk_cli_response *resp);

struct sk_tls_config;

/* Use tls for every exchange with a tls+tcp:// URL from now on: tls->ca
 * is the CA the coordinator's certificate must chain to, tls->cert and
 * tls->key an optional client certificate, tls->server_name the name the
 * coordinator's certificate must carry (NULL: the URL's host). The
 * strings are borrowed and must outlive the exchanges (argv, the
 * environment). Not thread-safe: call before the first exchange. Over
 * TLS, cli_coord_call can also fail with SK_ECRYPTO (the handshake
 * failed; with a hint) and SK_EINVAL or SK_EIO (a TLS file is missing or
 * unreadable). */
void cli_coord_tls(const struct sk_tls_config *tls);

/* The options of every command that talks to the coordinator beside
 * -C/--coordinator: --key and the TLS files, as getopt_long values above
 * any short option's; CLI_COORD_LONGOPTS puts them in a struct option
 * table. */
enum {
	CLI_OPT_KEY = 0x300,
	CLI_OPT_TLS_CA,
	CLI_OPT_TLS_CERT,
	CLI_OPT_TLS_KEY,
	CLI_OPT_TLS_NAME,
};
#define CLI_COORD_LONGOPTS                                     \
{ "key", required_argument, NULL, CLI_OPT_KEY },               \
    { "tls-ca", required_argument, NULL, CLI_OPT_TLS_CA },     \
    { "tls-cert", required_argument, NULL, CLI_OPT_TLS_CERT }, \
    { "tls-key", required_argument, NULL, CLI_OPT_TLS_KEY },   \
{                                                              \
"tls-server-name", required_argument, NULL, CLI_OPT_TLS_NAME   \
}

/* The TLS settings of the environment (SKEIN_TLS_CA, SKEIN_TLS_CERT,
 * SKEIN_TLS_KEY, SKEIN_TLS_SERVER_NAME), which the options override. */
void cli_coord_tls_env(struct sk_tls_config *tls);

/* An empty value (SKEIN_TLS_CA= in the environment, --tls-ca "") counts
 * as none: set to NULL. */
void cli_coord_tls_blanks(struct sk_tls_config *tls);

/* Take getopt_long's c and its argument arg if c is -C or one of the
 * options above: *url or tls set, or the key noted (cli_coord_set_key).
 * False for any other option. */
bool cli_coord_option(int c, char *arg, const char **url, struct sk_tls_config *tls);

#endif

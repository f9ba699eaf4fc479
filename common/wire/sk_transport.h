/* sk_transport: listening and dialing nng sockets the way skein's policy
 * says (docs/security.md): tls+tcp:// with the configured certificates —
 * mutual authentication where the listener asks for it — and plain TCP
 * only where sk_config_transport_check let it through.
 */
#ifndef SK_TRANSPORT_H
#define SK_TRANSPORT_H

#include <stdbool.h>

#include <nng/nng.h>

#include "sk_config.h"
#include "sk_err.h"

/* Start listening on url with s. For tls+tcp://: present tls->cert and
 * tls->key, and when require_peer, accept only dialers that present a
 * certificate signed by tls->ca (mutual authentication); TLS 1.2 or
 * later. A connection whose handshake fails is closed and the listener
 * goes on; such refusals are logged as a warning (at most every 30 s,
 * with their count), from an nng timer callback. Other URLs: a plain
 * nng_listen. SK_EINVAL for a missing TLS file name, SK_EIO for a file
 * that cannot be read or is not PEM, SK_ENET for nng's refusal (address
 * in use, ...), each naming the URL. */
int sk_transport_listen(nng_socket s, const char *url, const sk_tls_config *tls,
    bool require_peer, sk_err *err) SK_WARN_UNUSED;

/* Dial url from s; flags as nng_dial's (NNG_FLAG_NONBLOCK: keep trying in
 * the background). For tls+tcp://: the server's certificate must be
 * signed by tls->ca and carry tls->server_name (NULL: the URL's host);
 * tls->cert and tls->key, when set, are presented to it. Errors as
 * sk_transport_listen, and SK_ECRYPTO when a blocking dial's handshake
 * fails (retrying will not help). A background dial's failed handshakes
 * are logged as the listener's are, and retried. */
int sk_transport_dial(nng_socket s, const char *url, const sk_tls_config *tls,
    int flags, sk_err *err) SK_WARN_UNUSED;

/* Whether url is a TLS URL (tls+tcp://, tls+tcp4://, tls+tcp6://). */
bool sk_transport_is_tls(const char *url);

/* Close the n sockets socks on a thread of their own and wait at most
 * wait_ms for the closes to end. True when they did. False when the wait
 * ran out: the closes are left to their thread, which ends when they do
 * (or with the process), and the sockets must not be used again.
 *
 * Why: nng_close waits until nng's reaper has torn down every pipe of the
 * socket, and nng 1.5's reaper has been seen to wedge for good on a TLS
 * pipe (docs/operations.md, "An agent that exits on its own"), which
 * would hang the caller, and a SIGTERM behind it, forever. A caller that
 * gets false decides what it can still do.
 *
 * stall, when not NULL, runs on the closing thread before the closes: a
 * test's failpoint uses it to make a close hang on purpose. */
bool sk_transport_close_within(
    const nng_socket *socks, size_t n, int wait_ms, void (*stall)(void));

#endif

/* coord_auth: who is asking, on the control socket. Every command is an
 * OperatorRequest sealed in an operator envelope by a person's key that
 * coordinator.yaml pins with a role (DESIGN.md decision 2; docs/security.md).
 * A request is refused when its signer is not pinned, its signature is
 * bad, it is older than COORD_AUTH_WINDOW_MS (or older than this
 * coordinator's start, so that nothing recorded before a restart can be
 * replayed after it), it comes from too far in the future, its nonce was
 * seen, or the signer's role does not allow the command. With
 * insecure_local the coordinator also takes an unsigned request, as
 * operator "local" with role admin (a local test setup only).
 *
 * Not thread-safe: the coordinator's loop owns it.
 */
#ifndef COORD_AUTH_H
#define COORD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord_counters.h"
#include "sk_config.h"
#include "sk_err.h"
#include "sk_key.h"
#include "sk_wire.h"

/* How old (or how far ahead of this clock) a request may be. */
#define COORD_AUTH_WINDOW_MS (60 * 1000)
/* Refused requests journaled a minute; more are counted and the count
 * journaled with the next one that is, so a flood cannot fill the disk. */
#define COORD_AUTH_REFUSALS_PER_MIN 60
/* Nonces remembered at once; a full cache refuses new requests rather
 * than forget one that is still inside the window. */
#define COORD_AUTH_NONCES_MAX 65536

typedef struct coord_auth_nonce {
	uint8_t nonce[SK_NONCE_LEN];
	int64_t at_ms;
} coord_auth_nonce;

typedef struct coord_auth {
	const sk_coord_config *cfg; /* operators, insecure_local; borrowed */
	sk_keyring ring;            /* the operators' keys */
	int64_t boot_ms;            /* requests made before it are refused */
	coord_auth_nonce *seen;
	size_t nseen, cap;
	int64_t refusals_since;      /* the minute refusals are counted in */
	uint32_t refusals_journaled; /* in that minute */
	uint64_t refusals_dropped;   /* not journaled since the last one was */
} coord_auth;

/* Who a request came from. */
typedef struct coord_actor {
	char name[SK_NAME_MAX];             /* the operator; "local" unsigned */
	char key_id[2 * SK_KEY_ID_LEN + 1]; /* hex; "" when unsigned */
	sk_role role;
	int refusal; /* refused: enum coord_refusal, for /metrics */
} coord_actor;

/* Set a up for cfg (borrowed; must outlive a), refusing requests made
 * before boot_ms. SK_ENOMEM. */
int coord_auth_init(coord_auth *a, const sk_coord_config *cfg, int64_t boot_ms,
    sk_err *err) SK_WARN_UNUSED;

/* Free a. Accepts NULL. */
void coord_auth_fini(coord_auth *a);

/* Open msg (len bytes from the control socket, any bytes) at now_ms. On
 * SK_OK *req is the encoded CLI request (malloc'ed, the caller frees it)
 * of *req_len bytes and *actor says who sent it. Refusals, each with a
 * message that says why and what to do: SK_ECRYPTO (not a signed operator
 * request, an unknown signer, a bad signature), SK_EEXPIRED (too old, or
 * made before this coordinator started), SK_EREFUSED (a replayed nonce,
 * a request from the future, the nonce cache full). On a refusal
 * actor->key_id names the signer when the envelope said who it was, and
 * actor->refusal says why in a word (coord_refusal). */
int coord_auth_open(coord_auth *a, const uint8_t *msg, size_t len, int64_t now_ms,
    uint8_t **req, size_t *req_len, coord_actor *actor, sk_err *err) SK_WARN_UNUSED;

/* Whether a refusal at now_ms is journaled (at most
 * COORD_AUTH_REFUSALS_PER_MIN a minute); *dropped receives how many were
 * not since the last one that was, and is reset. */
bool coord_auth_journal_refusal(coord_auth *a, int64_t now_ms, uint64_t *dropped);

/* The operation (enum sk_cli_op) msg claims to be, signed or not, or 0:
 * for the record of a refused request only — never trusted. */
int coord_auth_claimed_op(const uint8_t *msg, size_t len);

/* The role a CLI operation (enum sk_cli_op) needs: viewer for status and
 * report and agents, operator for start, pause, resume and tune, admin for
 * rollback; admin for an unknown one. */
sk_role coord_auth_needs(int op);

/* SK_OK when actor's role allows op; else SK_EREFUSED naming the operator,
 * the role and the role op needs. */
int coord_auth_allow(const coord_actor *actor, int op, sk_err *err) SK_WARN_UNUSED;

#endif

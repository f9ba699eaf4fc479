/* coord_auth: signed, fresh, never replayed, and allowed by the signer's
 * role (coord_auth.h). */
#include "coord_auth.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sk_envelope.h"
#include "sk_util.h"

int
coord_auth_init(coord_auth *a, const sk_coord_config *cfg, int64_t boot_ms, sk_err *err)
{
	memset(a, 0, sizeof(*a));
	a->cfg = cfg;
	a->boot_ms = boot_ms;
	for (size_t i = 0; i < cfg->noperators; i++) {
		if (sk_keyring_add(&a->ring, &cfg->operators[i].key, err) != SK_OK) {
			coord_auth_fini(a);
			return err != NULL ? err->code : SK_ENOMEM;
		}
	}
	return SK_OK;
}

void
coord_auth_fini(coord_auth *a)
{
	if (a == NULL)
		return;
	sk_keyring_fini(&a->ring);
	free(a->seen);
	memset(a, 0, sizeof(*a));
}

/* Forget nonces that have left the window: a request that old is refused
 * for its age before its nonce is looked at. */
static void
prune(coord_auth *a, int64_t now_ms)
{
	size_t k = 0;

	for (size_t i = 0; i < a->nseen; i++)
		if (a->seen[i].at_ms >= now_ms - 2 * COORD_AUTH_WINDOW_MS)
			a->seen[k++] = a->seen[i];
	a->nseen = k;
}

/* Remember nonce, or refuse it: SK_EREFUSED when seen before or when the
 * cache is full of nonces still inside the window. */
static int
remember(coord_auth *a, const uint8_t *nonce, int64_t at_ms, int64_t now_ms, sk_err *err)
{
	coord_auth_nonce *grown;

	for (size_t i = 0; i < a->nseen; i++)
		if (sodium_memcmp(a->seen[i].nonce, nonce, SK_NONCE_LEN) == 0)
			return sk_err_set(err, SK_EREFUSED,
			    "a replayed request: its nonce was used already");
	if (a->nseen == a->cap) {
		prune(a, now_ms);
		if (a->nseen == COORD_AUTH_NONCES_MAX)
			return sk_err_set(err, SK_EREFUSED,
			    "too many requests in the last %d s (%d); try again "
			    "shortly",
			    2 * COORD_AUTH_WINDOW_MS / 1000, COORD_AUTH_NONCES_MAX);
	}
	if (a->nseen == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 64;

		if (cap > COORD_AUTH_NONCES_MAX)
			cap = COORD_AUTH_NONCES_MAX;
		grown = realloc(a->seen, cap * sizeof(*grown));
		if (grown == NULL)
			return sk_err_set(
			    err, SK_ENOMEM, "remember a nonce: out of memory");
		a->seen = grown;
		a->cap = cap;
	}
	memcpy(a->seen[a->nseen].nonce, nonce, SK_NONCE_LEN);
	a->seen[a->nseen].at_ms = at_ms;
	a->nseen++;
	return SK_OK;
}

static void
set_local(coord_actor *actor)
{
	memset(actor, 0, sizeof(*actor));
	snprintf(actor->name, sizeof(actor->name), "local");
	actor->role = SK_ROLE_ADMIN;
}

int
coord_auth_open(coord_auth *a, const uint8_t *msg, size_t len, int64_t now_ms,
    uint8_t **req, size_t *req_len, coord_actor *actor, sk_err *err)
{
	uint8_t *payload = NULL, id[SK_KEY_ID_LEN];
	size_t plen = 0;
	const sk_pubkey *signer = NULL;
	const sk_operator *op;
	sk_operator_request orq;
	int kind = 0, rc;

	*req = NULL;
	*req_len = 0;
	memset(actor, 0, sizeof(*actor));
	memset(&orq, 0, sizeof(orq));
	/* Who the envelope says it is, to journal a refusal by name. */
	if (sk_envelope_peek(&payload, &plen, &kind, id, msg, len, NULL) == SK_OK) {
		free(payload);
		payload = NULL;
	}
	if (kind == SK_KIND_OPERATOR) {
		sk_hex(id, SK_KEY_ID_LEN, actor->key_id);
	} else if (a->cfg->insecure_local) {
		/* Not an operator envelope: an unsigned request, taken as it
		 * is (its decoder refuses garbage). */
		*req = malloc(len > 0 ? len : 1);
		if (*req == NULL)
			return sk_err_set(
			    err, SK_ENOMEM, "control request: out of memory");
		memcpy(*req, msg, len);
		*req_len = len;
		set_local(actor);
		return SK_OK;
	}
	rc = sk_envelope_open(&payload, &plen, &signer, msg, len,
	    SK_KIND_OPERATOR, &a->ring, err);
	if (rc != SK_OK) {
		if (rc == SK_EDECODE || rc == SK_EREFUSED) {
			sk_err_set(err, SK_ECRYPTO,
			    "not a signed operator request: every command is signed "
			    "by an operator key the coordinator pins");
			if (err != NULL)
				snprintf(err->hint, sizeof(err->hint),
				    "run skein with --key FILE or SKEIN_KEY (docs/"
				    "operations.md, \"Operators\")");
		} else if (actor->key_id[0] != '\0' && err != NULL) {
			snprintf(err->hint, sizeof(err->hint),
			    "key %s is not an operator of this coordinator: add it "
			    "to operators: in coordinator.yaml",
			    actor->key_id);
		}
		actor->refusal = coord_refusal_of_envelope(
		    msg, len, SK_KIND_OPERATOR, &a->ring, rc);
		return SK_ECRYPTO;
	}
	op = sk_coord_operator_find(a->cfg, signer->id);
	rc = sk_operator_request_decode(payload, plen, &orq, err);
	free(payload);
	if (rc != SK_OK) {
		actor->refusal = COORD_REFUSED_MALFORMED;
		return rc;
	}
	if (op == NULL) { /* the ring is the operators' keys: cannot happen */
		sk_operator_request_fini(&orq);
		return sk_err_set(err, SK_ECRYPTO, "signer is not an operator");
	}
	snprintf(actor->name, sizeof(actor->name), "%s", op->name);
	actor->role = op->role;
	if (orq.at_ms > now_ms + COORD_AUTH_WINDOW_MS) {
		rc = sk_err_set(err, SK_EREFUSED,
		    "request from %s made %" PRId64 " s in the future: clocks disagree",
		    op->name, (orq.at_ms - now_ms) / 1000);
	} else if (orq.at_ms < now_ms - COORD_AUTH_WINDOW_MS) {
		rc = sk_err_set(err, SK_EEXPIRED,
		    "request from %s made %" PRId64 " s ago: a request is good for "
		    "%d s",
		    op->name, (now_ms - orq.at_ms) / 1000,
		    COORD_AUTH_WINDOW_MS / 1000);
	} else if (orq.at_ms < a->boot_ms) {
		rc = sk_err_set(err, SK_EEXPIRED,
		    "request from %s made before this coordinator started: a "
		    "request from before a restart is not taken after it",
		    op->name);
	} else {
		rc = remember(a, orq.nonce, orq.at_ms, now_ms, err);
	}
	/* Out of the window either way is expired; a nonce seen (or no room
	 * to remember one) is a replay. */
	if (rc == SK_EEXPIRED || orq.at_ms > now_ms + COORD_AUTH_WINDOW_MS)
		actor->refusal = COORD_REFUSED_EXPIRED;
	else if (rc != SK_OK)
		actor->refusal = COORD_REFUSED_REPLAY;
	if (rc != SK_OK) {
		sk_operator_request_fini(&orq);
		return rc;
	}
	*req = orq.request;
	*req_len = orq.request_len;
	return SK_OK;
}

sk_role
coord_auth_needs(int op)
{
	switch (op) {
	case SK_CLI_STATUS:
	case SK_CLI_REPORT:
	case SK_CLI_AGENTS:
		return SK_ROLE_VIEWER;
	case SK_CLI_START:
	case SK_CLI_PAUSE:
	case SK_CLI_RESUME:
	case SK_CLI_TUNE:
	case SK_CLI_ABORT: /* stopline */
	case SK_CLI_STOP:  /* stopline */
		return SK_ROLE_OPERATOR;
	case SK_CLI_APPROVE: /* gates: approve a phase */
		return SK_ROLE_APPROVER;
	default: /* rollback, and whatever is added before it is listed */
		return SK_ROLE_ADMIN;
	}
}

int
coord_auth_allow(const coord_actor *actor, int op, sk_err *err)
{
	sk_role need = coord_auth_needs(op);

	if (sk_role_allows(actor->role, need))
		return SK_OK;
	sk_err_set(err, SK_EREFUSED,
	    "operator %s (%s) may not %s: that needs role %s", actor->name,
	    sk_role_name(actor->role), sk_cli_op_name(op), sk_role_name(need));
	if (err != NULL)
		snprintf(err->hint, sizeof(err->hint),
		    "ask someone with that role, or change %s's role in "
		    "coordinator.yaml",
		    actor->name);
	return SK_EREFUSED;
}

bool
coord_auth_journal_refusal(coord_auth *a, int64_t now_ms, uint64_t *dropped)
{
	if (now_ms - a->refusals_since >= 60 * 1000) {
		a->refusals_since = now_ms;
		a->refusals_journaled = 0;
	}
	if (a->refusals_journaled >= COORD_AUTH_REFUSALS_PER_MIN) {
		a->refusals_dropped++;
		*dropped = 0;
		return false;
	}
	a->refusals_journaled++;
	*dropped = a->refusals_dropped;
	a->refusals_dropped = 0;
	return true;
}

int
coord_auth_claimed_op(const uint8_t *msg, size_t len)
{
	uint8_t *payload = NULL, id[SK_KEY_ID_LEN];
	size_t plen = 0;
	sk_operator_request orq;
	sk_cli_request req;
	int kind = 0, op = 0;

	if (sk_envelope_peek(&payload, &plen, &kind, id, msg, len, NULL) == SK_OK &&
	    kind == SK_KIND_OPERATOR &&
	    sk_operator_request_decode(payload, plen, &orq, NULL) == SK_OK) {
		if (sk_cli_request_decode(
			orq.request, orq.request_len, &req, NULL) == SK_OK) {
			op = req.op;
			sk_cli_request_fini(&req);
		}
		sk_operator_request_fini(&orq);
	} else if (sk_cli_request_decode(msg, len, &req, NULL) == SK_OK) {
		op = req.op;
		sk_cli_request_fini(&req);
	}
	free(payload);
	return op;
}

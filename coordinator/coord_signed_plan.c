/* coord_signed_plan: peel the envelope, decode the payload. */
#include "coord_signed_plan.h"

#include <stdlib.h>

#include "sk_envelope.h"
#include "sk_key.h"

int
coord_signed_plan_decode(const uint8_t *buf, size_t len, sk_plan **plan, sk_err *err)
{
	uint8_t *payload = NULL;
	size_t plen = 0;
	uint8_t signer[SK_KEY_ID_LEN];
	int kind, rc;

	*plan = NULL;
	rc = sk_envelope_peek(&payload, &plen, &kind, signer, buf, len, err);
	if (rc != SK_OK)
		return rc;
	rc = sk_plan_decode(payload, plen, plan, err);
	free(payload);
	return rc;
}

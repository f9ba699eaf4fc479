/* fuzz_operator: the coordinator's door on the control socket — whatever
 * reaches it goes through coord_auth_open (an operator envelope, its
 * OperatorRequest, the freshness and nonce checks) before anything else
 * reads it, and coord_auth_claimed_op reads a refused one for the record.
 * Neither may crash or leak on any bytes, and nothing unsigned is taken
 * (no operator is pinned, insecure_local is off). */
#include <stdlib.h>
#include <string.h>

#include "coord_auth.h"
#include "fuzz_util.h"
#include "sk_wire.h"

#define HARNESS "operator"

static sk_coord_config cfg;
static coord_auth auth;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	sk_err err;

	(void)argc;
	(void)argv;
	fuzz_init(HARNESS);
	if (coord_auth_init(&auth, &cfg, 0, &err) != SK_OK)
		fuzz_fail(HARNESS, "init: %s", err.msg);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sk_operator_request orq;
	coord_actor actor;
	uint8_t *req = NULL;
	size_t len = 0;
	sk_err err;

	if (coord_auth_open(&auth, data, size, 1767225600000, &req, &len,
		&actor, &err) == SK_OK)
		fuzz_fail(HARNESS, "took a request with no operator pinned");
	free(req);
	(void)coord_auth_claimed_op(data, size);
	if (sk_operator_request_decode(data, size, &orq, &err) == SK_OK)
		sk_operator_request_fini(&orq);
	return 0;
}

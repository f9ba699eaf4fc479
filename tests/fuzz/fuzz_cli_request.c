/* fuzz_cli_request: sk_cli_request_decode; the coordinator runs it on every
 * request that reaches its control socket.
 * A message that decodes must come back from encode -> decode -> encode
 * as the same bytes: the codec may drop or truncate what it does not keep,
 * but only the first time. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "sk_wire.h"

#define HARNESS "cli_request"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init(HARNESS);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sk_cli_request first, second;
	uint8_t *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	sk_err err;

	if (sk_cli_request_decode(data, size, &first, &err) != SK_OK)
		return 0;
	if (sk_cli_request_encode(&first, &a, &alen, &err) != SK_OK)
		fuzz_fail(HARNESS, "encode what decoded: %s", err.msg);
	if (sk_cli_request_decode(a, alen, &second, &err) != SK_OK)
		fuzz_fail(HARNESS, "decode what was encoded: %s", err.msg);
	if (sk_cli_request_encode(&second, &b, &blen, &err) != SK_OK)
		fuzz_fail(HARNESS, "encode a second time: %s", err.msg);
	fuzz_expect_same(HARNESS, "re-encoded CLI request", a, alen, b, blen);
	free(a);
	free(b);
	sk_cli_request_fini(&first);
	sk_cli_request_fini(&second);
	return 0;
}

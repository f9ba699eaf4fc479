/* fuzz_move_link: the move link's cleartext preamble (move_link_int.h),
 * the only bytes the source agent reads from a dialer before the
 * handshake. The input is parsed as a preamble; what parses must hold two
 * ids of 1..63 printable bytes and encode back to the very same bytes.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz_util.h"
#include "move_link_int.h"

#define HARNESS "move_link"

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
	uint8_t again[MOVE_LINK_PREAMBLE_MAX];
	char rollout[64], step[64];
	size_t n = 0;
	sk_err err;

	if (move_link_preamble_parse(rollout, step, data, size, &err) != SK_OK)
		return 0;
	if (fuzz_touch(rollout) == 0 || fuzz_touch(step) == 0)
		fuzz_fail(HARNESS, "an empty id was accepted");
	if (move_link_preamble_encode(again, &n, rollout, step, &err) != SK_OK)
		fuzz_fail(HARNESS, "a parsed preamble does not encode: %s", err.msg);
	fuzz_expect_same(HARNESS, "re-encoded preamble", data, size, again, n);
	return 0;
}

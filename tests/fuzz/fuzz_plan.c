/* fuzz_plan: sk_plan_decode, which agents and the coordinator run on the
 * payload of every signed plan, and `skein plan show` on any plan file.
 * A plan that decodes is printed (text and JSON, to /dev/null), asked for
 * the phase of each region, and must come back from encode -> decode ->
 * encode as the same bytes.
 *
 * decode checks every step's checksum against its SQL, so a mutated SQL
 * text is refused early; the seeds (real plans) carry valid checksums and
 * keep the rest of the plan reachable.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "sk_plan.h"
#include "sk_plan_print.h"

#define HARNESS "plan"

static FILE *devnull;

static void
close_devnull(void)
{
	if (devnull != NULL)
		fclose(devnull);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init(HARNESS);
	devnull = fopen("/dev/null", "w");
	if (devnull == NULL)
		fuzz_fail(HARNESS, "cannot open /dev/null");
	atexit(close_devnull);
	return 0;
}

/* Every region the plan addresses is in exactly the phase that lists it. */
static void
check_phases(const sk_plan *plan)
{
	char buf[64];

	for (size_t i = 0; i < plan->nregions; i++) {
		const sk_phase *ph = sk_plan_phase_of(plan, plan->regions[i]);

		if (!sk_plan_addresses(plan, plan->regions[i]))
			fuzz_fail(HARNESS, "region %s listed but not addressed",
			    plan->regions[i]);
		if (ph == NULL)
			fuzz_fail(HARNESS, "region %s is in no phase",
			    plan->regions[i]);
	}
	for (size_t i = 0; i < plan->nsteps; i++)
		for (size_t j = 0; j < plan->steps[i].npost; j++)
			sk_check_expect_format(
			    &plan->steps[i].post[j], buf, sizeof(buf));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sk_plan *first = NULL, *second = NULL;
	uint8_t *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	sk_err err;

	if (sk_plan_decode(data, size, &first, &err) != SK_OK)
		return 0;
	check_phases(first);
	sk_plan_print(devnull, first, "0011223344556677");
	if (sk_plan_print_json(devnull, first, NULL, &err) != SK_OK)
		fuzz_fail(HARNESS, "print JSON: %s", err.msg);
	if (sk_plan_encode(first, &a, &alen, &err) != SK_OK)
		fuzz_fail(HARNESS, "encode what decoded: %s", err.msg);
	if (sk_plan_decode(a, alen, &second, &err) != SK_OK)
		fuzz_fail(HARNESS, "decode what was encoded: %s", err.msg);
	if (sk_plan_encode(second, &b, &blen, &err) != SK_OK)
		fuzz_fail(HARNESS, "encode a second time: %s", err.msg);
	fuzz_expect_same(HARNESS, "re-encoded plan", a, alen, b, blen);
	free(a);
	free(b);
	sk_plan_destroy(first);
	sk_plan_destroy(second);
	return 0;
}

#!/usr/bin/env bash
# Bad input at plan build and rollout start: malformed YAML, a missing SQL
# file, an unknown region, an unsigned, tampered or expired plan. Each gets
# a clear error naming the file or region, and nothing is written or
# started.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_bad_input
skein=$SKEIN_BIN/skein
sk_keys
for r in af in ksa; do sk_region "$r" "$r"; done
sk_coordinator_config
sk_start_coordinator
plans=$SK_WORK/plans

expect_fail() { # expect_fail OUTPUT_VAR_NAME CMD... : the command must fail
	local __var=$1 __out
	shift
	if __out=$("$@" 2>&1); then
		sk_fail "expected failure from: $* — got: $__out"
	fi
	printf -v "$__var" '%s' "$__out"
}

# Malformed YAML: the error names file, line and column; no output file.
mkdir -p "$plans/malformed"
printf 'name: m\nphases:\n  - name: canary\n    regions: [af\nsteps: []\n' >"$plans/malformed/plan.yaml"
expect_fail out "$skein" plan build "$plans/malformed" -o "$plans/malformed.plan" --regions "$SK_WORK/regions"
sk_assert_contains "$out" "$plans/malformed/plan.yaml:" "malformed YAML names the file"
[[ "$out" =~ plan\.yaml:[0-9]+:[0-9]+ ]] || sk_fail "malformed YAML should name line and column: $out"
[[ ! -e "$plans/malformed.plan" ]] || sk_fail "a failed build wrote its output"

# A missing SQL file is named.
sk_write_plan "$plans/missing" missing 1h "$SK_TWO_PHASES" "0001_ok=SELECT 1;"
printf '  - id: 0002_gone\n    sql: 0002_gone.sql\n' >>"$plans/missing/plan.yaml"
expect_fail out "$skein" plan build "$plans/missing" -o "$plans/missing.plan" --regions "$SK_WORK/regions"
sk_assert_contains "$out" "0002_gone.sql" "the missing file is named"
[[ ! -e "$plans/missing.plan" ]] || sk_fail "a failed build wrote its output"

# An unknown region is refused at build (with an inventory) ...
sk_write_plan "$plans/unknown" unknown 1h '  - name: canary
    regions: [mars]' "0001_ok=SELECT 1;"
expect_fail out "$skein" plan build "$plans/unknown" -o "$plans/unknown.plan" --regions "$SK_WORK/regions"
sk_assert_contains "$out" "mars" "the unknown region is named"
sk_assert_contains "$out" "plan.yaml" "the file is named"

# ... and at rollout start (built without one), with nothing started.
(cd "$plans" && "$skein" plan build "$plans/unknown" -o "$plans/unknown.plan" >/dev/null)
"$skein" plan sign "$plans/unknown.plan" --key "$SK_WORK/keys/release.key" -o "$plans/unknown.signed" >/dev/null
expect_fail out sk_skein rollout start "$plans/unknown.signed"
sk_assert_contains "$out" "region mars is not in the inventory" "rollout start names the region"
sk_assert_eq "no rollouts" "$(sk_skein rollout status)" "nothing started"

# An unsigned plan, a tampered one and one signed by an unknown key.
sk_write_plan "$plans/ok" ok 1h "$SK_TWO_PHASES" "0001_ok=SELECT 1;"
signed=$(sk_sign_plan "$plans/ok" ok)
expect_fail out sk_skein rollout start "$plans/ok.plan"
sk_assert_contains "$out" "envelope" "an unsigned plan is refused"
sk_assert_contains "$out" "hint: rollout start takes a signed plan" "and the operator is told what to do"
cp "$signed" "$plans/tampered.signed"
printf '\x01' | dd of="$plans/tampered.signed" bs=1 seek=40 conv=notrunc status=none
expect_fail out "$skein" plan verify "$plans/tampered.signed" --pub "$SK_WORK/keys/release.pub"
expect_fail out sk_skein rollout start "$plans/tampered.signed"
"$skein" keygen --out "$SK_WORK/keys/rogue" >/dev/null
"$skein" plan sign "$plans/ok.plan" --key "$SK_WORK/keys/rogue.key" -o "$plans/rogue.signed" >/dev/null
expect_fail out sk_skein rollout start "$plans/rogue.signed"
sk_assert_contains "$out" "not a pinned key" "a plan signed by an unpinned key is refused"

# An expired plan: verify fails and the coordinator refuses it.
# 4 s: building and signing under ASan on a busy machine took over 1 s.
sk_write_plan "$plans/short" short 4s "$SK_TWO_PHASES" "0001_ok=SELECT 1;"
short=$(sk_sign_plan "$plans/short" short)
sleep 5
expect_fail out "$skein" plan verify "$short" --pub "$SK_WORK/keys/release.pub"
sk_assert_contains "$out" "expired" "verify reports expiry"
expect_fail out sk_skein rollout start "$short"
sk_assert_contains "$out" "expired" "rollout start reports expiry"
sk_assert_eq "no rollouts" "$(sk_skein rollout status)" "still nothing started"

# A rollout command without a coordinator is a usage error.
set +e
SKEIN_COORDINATOR= "$skein" rollout status >/dev/null 2>&1
rc=$?
set -e
sk_assert_eq 2 "$rc" "rollout status without a coordinator"
echo "PASS fault_bad_input"

#!/usr/bin/env bash
# Phase gates (issue 10 items 1, 6): the canary soaks 6 s after it
# succeeded (status shows the soak while it runs, the next phase does not
# start); the next phase needs 2 approvals from alice, bob and admin, not
# by its starter (admin). alice approves early, during the soak. Refused,
# each counting nothing: an unpinned key, the starter, an operator not
# among the approvers, a phase without approval, a phase the rollout does
# not have, another rollout, and alice again; after the end, an approval
# of the finished rollout. (A replayed signed request
# is refused by its nonce: tests/unit/coordinator/approval_test.c.) bob's
# approval lets the phase start; the rollout succeeds and the report lists
# both approvals with their key ids.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup gate_soak_approval
skein=$SKEIN_BIN/skein
sk_keys
for k in alice bob carol stranger; do "$skein" keygen --out "$SK_WORK/keys/$k" >/dev/null; done
SK_COORDINATOR_EXTRA="  - {name: alice, key: ../keys/alice.pub, role: approver}
  - {name: bob, key: ../keys/bob.pub, role: approver}
  - {name: carol, key: ../keys/carol.pub, role: approver}"
sk_deploy_three

plan="$SK_WORK/plans/gates-src"
sk_write_plan "$plan" gates 1h '  - name: canary
    regions: [af]
    soak: 6s
  - name: rest
    regions: [in, ksa]
    approval: {count: 2, from: [alice, bob, admin], not_by_starter: true}' \
	"0001_t=CREATE TABLE gate_t (id int);"
signed=$(sk_sign_plan "$plan" gates)
other_src="$SK_WORK/plans/other-src"
sk_write_plan "$other_src" other 1h '  - name: solo
    regions: [af]
    soak: 5m' "0001_o=CREATE TABLE other_t (id int);"
other_signed=$(sk_sign_plan "$other_src" other)

as() { local who=$1; shift; SKEIN_KEY=$SK_WORK/keys/$who.key sk_skein "$@"; }
ledger() {
	[[ "$(sk_rpsql "$1" "select to_regclass('skein.steps') is not null")" == t ]] || return 0
	sk_rpsql "$1" "select coalesce(string_agg(step_id, ','), '') from skein.steps where plan_name = 'gates'"
}
approvals() { sk_skein rollout status "$id" --json | grep -c '"operator": ' || true; }
refused() { # refused WHO PHASE ROLLOUT EXPECTED MESSAGE
	local out
	if out=$(as "$1" rollout approve "$3" --phase "$2" 2>&1); then sk_fail "$5: taken: $out"; fi
	sk_assert_contains "$out" "$4" "$5"
	sk_assert_eq 1 "$(approvals)" "$5: nothing counted"
}

id=$(sk_skein rollout start "$signed")
out=$(as alice rollout approve "$id" --phase rest 2>&1) || sk_fail "alice could not approve early: $out"
sk_assert_contains "$out" "rollout $id phase rest approved (1 approval so far)" "alice's approval"

soaking() { sk_skein rollout status "$id" | grep -q "gate: phase canary waits for soak [1-5]/6 s"; }
sk_wait_until 30 soaking || sk_fail "status never showed the canary soaking: $(sk_skein rollout status "$id")"
sk_assert_eq "" "$(ledger in)" "in: nothing runs during the canary's soak"
json=$(sk_skein rollout status "$id" --json)
sk_assert_contains "$json" '"waiting_for": "soak"' "status --json shows the soak"

refused stranger rest "$id" "is not an operator of this coordinator" "an unpinned key"
refused admin rest "$id" "the operator started the rollout" "the starter"
refused carol rest "$id" "not one of the phase's approvers" "an operator not in from"
refused alice canary "$id" "the phase needs no approval" "a phase without approval"
refused alice nosuch "$id" "the rollout has no such phase" "an unknown phase"
refused alice rest "$id" "has approved it already" "alice twice"
other=$(sk_skein rollout start "$other_signed")
refused bob rest "$other" "the rollout has no such phase" "another rollout"
refused bob rest r-nosuch "no such rollout" "an unknown rollout"
sk_assert_eq "" "$(ledger in)" "in: refusals started nothing"

waiting() { sk_skein rollout status "$id" | grep -q "gate: phase rest waits for approval 1/2 (approved by alice)"; }
sk_wait_until 20 waiting || sk_fail "the rest never waited for its approval: $(sk_skein rollout status "$id")"
sleep 1
sk_assert_eq "" "$(ledger in)" "in: the phase waits for its second approval"
events=$(sk_skein rollout wait "$id" --timeout 1s 2>&1 || true)
sk_assert_contains "$events" "exit gate passed (soak 6s served)" "the soak's end is an event"
sk_assert_contains "$events" "waits for approval 1/2 from alice, bob, admin, not by its starter" "the wait is an event"

out=$(as bob rollout approve "$id" --phase rest 2>&1) || sk_fail "bob could not approve: $out"
out=$(sk_skein rollout wait "$id") || sk_fail "the rollout did not succeed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
for r in af in ksa; do sk_assert_eq 0001_t "$(ledger "$r")" "$r: the step once"; done

report=$(sk_skein rollout report "$id")
sk_assert_contains "$report" "## Gates and approvals" "the report has its gates"
sk_assert_contains "$report" "| canary | passed | 6s of 6s |" "the report shows the soak served"
json=$(sk_skein rollout report "$id" --format json)
grep -A1 '"operator": "alice"' <<<"$json" | grep -Eq '"key_id": "[0-9a-f]+"' || sk_fail "the JSON report lacks alice's approval: $json"
grep -Eq '^\| rest \| alice \| `[0-9a-f]+` \|' <<<"$report" || sk_fail "the report does not list alice's approval: $report"
grep -Eq '^\| rest \| bob \| `[0-9a-f]+` \|' <<<"$report" || sk_fail "the report does not list bob's approval: $report"
grep -aq "alice" "$SK_WORK/coordinator/state/journal" || sk_fail "the journal does not hold alice's approval"
if out=$(as carol rollout approve "$id" --phase rest 2>&1); then sk_fail "an approval of a finished rollout was taken: $out"; fi
sk_assert_contains "$out" "the rollout has finished" "an approval of a finished rollout"
sk_assert_eq 2 "$(approvals)" "a finished rollout keeps its two approvals"
echo "PASS gate_soak_approval"

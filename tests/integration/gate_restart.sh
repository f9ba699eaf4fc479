#!/usr/bin/env bash
# A coordinator killed with -9 mid-soak (issue 10, bad input): the canary
# soaks 10 s; alice approves the next phase early. The coordinator is
# killed 5 s into the soak and kept down 3 s. After the restart the soak
# resumes with the time already served (journaled every 2 s: not zero,
# not the downtime counted, not skipped), the approval is kept (the next
# phase needs no new one), and the rollout succeeds once the rest of the
# soak is served.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup gate_restart
skein=$SKEIN_BIN/skein
sk_keys
"$skein" keygen --out "$SK_WORK/keys/alice" >/dev/null
SK_COORDINATOR_EXTRA="  - {name: alice, key: ../keys/alice.pub, role: approver}"
sk_deploy_three

plan="$SK_WORK/plans/restart-src"
sk_write_plan "$plan" restart 1h '  - name: canary
    regions: [af]
    soak: 10s
  - name: rest
    regions: [in, ksa]
    approval: {count: 1, from: [alice]}' \
	"0001_t=CREATE TABLE restart_t (id int);"
signed=$(sk_sign_plan "$plan" restart)

ledger() {
	[[ "$(sk_rpsql "$1" "select to_regclass('skein.steps') is not null")" == t ]] || return 0
	sk_rpsql "$1" "select coalesce(string_agg(step_id, ','), '') from skein.steps where plan_name = 'restart'"
}
served() { sk_skein rollout status "$id" --json | grep -m1 -o '"soak_served_ms": [0-9]*' | grep -o '[0-9]*$'; }

id=$(sk_skein rollout start "$signed")
out=$(SKEIN_KEY=$SK_WORK/keys/alice.key sk_skein rollout approve "$id" --phase rest 2>&1) ||
	sk_fail "alice could not approve: $out"
five() { s=$(served) && ((s >= 5000)); }
sk_wait_until 30 five || sk_fail "the soak never reached 5 s: $(sk_skein rollout status "$id")"
before=$(served)
sk_kill9 coordinator
sleep 3
sk_start_coordinator || sk_fail "the coordinator did not start again"
after=$(served)
echo "soak served: ${before} ms before kill -9, ${after} ms after the restart"
((after >= before - 2500)) || sk_fail "the soak lost more than 2.5 s over the restart: $before -> $after"
((after <= before + 1000)) || sk_fail "the downtime counted as soak: $before -> $after"
((after < 10000)) || sk_fail "the soak was skipped: $after"
sk_assert_eq "" "$(ledger in)" "in: the next phase waits for the rest of the soak"
status=$(sk_skein rollout status "$id")
sk_assert_contains "$status" "approved: phase rest by alice" "the approval is kept after the restart"
sk_assert_contains "$status" "gate: phase canary waits for soak" "status shows the soak after the restart"

t0=$SECONDS
out=$(sk_skein rollout wait "$id") || sk_fail "the rollout did not succeed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
left=$((SECONDS - t0))
((left >= (10000 - after) / 1000 - 1)) || sk_fail "the rest of the soak took ${left}s, less than what was left"
for r in af in ksa; do sk_assert_eq 0001_t "$(ledger "$r")" "$r: the step once"; done
report=$(sk_skein rollout report "$id")
grep -Eq '^\| rest \| alice \| `[0-9a-f]+` \|' <<<"$report" || sk_fail "the report lost alice's approval: $report"
echo "PASS gate_restart"

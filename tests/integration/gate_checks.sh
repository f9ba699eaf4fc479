#!/usr/bin/env bash
# Sampled exit gates (issue 10 items 1, bad input): during the canary's
# soak the coordinator has its agent sample the phase's checks and health
# signals every second.
#  - gfail: a gate check that does not hold HALTS the rollout: failed,
#    the reason names the gate, where, the value seen and what it expected;
#    the next phase never starts; the report records the judged value.
#  - gfew: a health gate that cannot have min_samples good samples by the
#    end of its soak PAUSES the rollout for a human (paused by "gate",
#    saying which gate and how many samples it had); nothing advances,
#    also after a coordinator restart.
#  - gnone: a region whose agent is gone when the soak starts gives no
#    samples at all: PAUSED, naming that region.
#  - gerr: a gate check whose statement fails (no value) PAUSES it too;
#    once the cause is fixed, a resume samples again and the rollout
#    succeeds.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup gate_checks
sk_deploy_three

gated() { # gated NAME CANARY GATE_YAML STEP_SQL
	local dir="$SK_WORK/plans/$1-src"
	sk_write_plan "$dir" "$1" 1h "  - name: canary
    regions: [$2]
$3
  - name: rest
    regions: [$([[ $2 == af ]] && echo in || echo af)]" "0001_t=$4"
	sk_sign_plan "$dir" "$1"
}
ledger() { # ledger REGION PLAN
	[[ "$(sk_rpsql "$1" "select to_regclass('skein.steps') is not null")" == t ]] || return 0
	sk_rpsql "$1" "select coalesce(string_agg(step_id, ','), '') from skein.steps where plan_name = '$2'"
}
state() { sk_skein rollout status "$1" --json | grep -m1 -o '"state": "[a-z]*"' | cut -d'"' -f4; }
paused_by_gate() { sk_skein rollout status "$1" | grep -q "paused: by gate"; }

fail_signed=$(gated gfail af "    soak: 6s
    checks: [ {name: no_neg, sql: \"SELECT count(*) FROM gfail_t WHERE v < 0\", expect: 0} ]
    sample: {every: 1s, min: 2}" "CREATE TABLE gfail_t (v int); INSERT INTO gfail_t VALUES (-1);")
few_signed=$(gated gfew ksa "    soak: 3s
    health: {lock_waits: 100, deadlocks: 100}
    sample: {every: 1s, min: 20}" "CREATE TABLE gfew_t (v int);")
err_signed=$(gated gerr af "    soak: 3s
    checks: [ {name: probe, sql: \"SELECT count(*) FROM gerr_missing\", expect: 0} ]
    health: {rollbacks_per_s: 1000}
    sample: {every: 1s, min: 2}" "CREATE TABLE gerr_t (v int);")

# gfail and gfew run side by side (canaries af and ksa).
fail=$(sk_skein rollout start "$fail_signed")
few=$(sk_skein rollout start "$few_signed")

out=$(sk_skein rollout wait "$fail" 2>&1) && sk_fail "a failing gate check did not halt: $out"
sk_assert_eq failed "$(state "$fail")" "gfail: halted"
status=$(sk_skein rollout status "$fail")
sk_assert_contains "$status" "halted: gate check no_neg in af/app failed: seen 1, expected = 0" "gfail: the reason names the gate, the value and the threshold"
sk_assert_eq "" "$(ledger in gfail)" "gfail: the next phase never started"
report=$(sk_skein rollout report "$fail")
sk_assert_contains "$report" "Judged in phase canary" "gfail: the report records what was judged"
sk_assert_contains "$report" "check no_neg in af/app: 1 (threshold 0) FAILED" "gfail: the report shows the failed value"
json=$(sk_skein rollout report "$fail" --format json)
sk_assert_contains "$json" '"outcome": "halted"' "gfail: the JSON report has the gate's outcome"

sk_wait_until 30 paused_by_gate "$few" || sk_fail "gfew: a gate short of samples did not pause: $(sk_skein rollout status "$few")"
status=$(sk_skein rollout status "$few")
sk_assert_contains "$status" "good samples at the end of the soak" "gfew: the pause says why"
sk_assert_contains "$status" "of 20" "gfew: the pause names the minimum"
sk_assert_eq running "$(state "$few")" "gfew: paused, not failed"
sleep 1.5
sk_assert_eq "" "$(ledger af gfew)" "gfew: the next phase does not start while paused"
# The gate's pause is journaled: a restarted coordinator keeps it.
sk_stop coordinator || sk_fail "the coordinator did not stop"
sk_start_coordinator || sk_fail "the coordinator did not start again"
status=$(sk_skein rollout status "$few")
sk_assert_contains "$status" "paused: by gate" "gfew: the gate's pause after a restart"
sk_assert_contains "$status" "of 20 good samples at the end of the soak" "gfew: its reason after a restart"
sk_assert_eq "" "$(ledger af gfew)" "gfew: still held after the restart"

# gnone: the canary is af and ksa; ksa's agent stops once ksa succeeded,
# while af's step still sleeps: ksa never samples.
none_dir="$SK_WORK/plans/gnone-src"
sk_write_plan "$none_dir" gnone 1h '  - name: canary
    regions: [af, ksa]
    soak: 2s
    health: {lock_waits: 100}
    sample: {every: 500ms, min: 1}
  - name: rest
    regions: [in]' "0001_t=SELECT pg_sleep(CASE WHEN current_database() = 'af_app' THEN 3 ELSE 0 END);"
none_signed=$(sk_sign_plan "$none_dir" gnone)
noneid=$(sk_skein rollout start "$none_signed")
ksa_done() { [[ "$(ledger ksa gnone)" == 0001_t ]]; }
sk_wait_until 20 ksa_done || sk_fail "gnone: ksa never applied its step"
sk_stop agent-ksa || true
sk_assert_eq "" "$(ledger af gnone)" "gnone: af still runs its step when ksa's agent stops"
sk_wait_until 30 paused_by_gate "$noneid" || sk_fail "gnone: a region without samples did not pause: $(sk_skein rollout status "$noneid")"
status=$(sk_skein rollout status "$noneid")
sk_assert_contains "$status" "gate health lock_waits in ksa/app has 0 of 1 good samples" "gnone: the pause names the region without samples"
sk_assert_eq "" "$(ledger in gnone)" "gnone: the next phase does not start"
sk_start_agent ksa || sk_fail "ksa's agent did not start again"

# gerr: the check erred (no such table): paused; fixed and resumed: passes.
errid=$(sk_skein rollout start "$err_signed")
sk_wait_until 30 paused_by_gate "$errid" || sk_fail "gerr: an erring gate check did not pause: $(sk_skein rollout status "$errid")"
status=$(sk_skein rollout status "$errid")
sk_assert_contains "$status" "gate check probe in af/app erred" "gerr: the pause names the gate that erred"
sk_assert_eq "" "$(ledger in gerr)" "gerr: the next phase does not start"
sk_rpsql af "CREATE TABLE gerr_missing (v int)" >/dev/null
sk_skein rollout resume "$errid" >/dev/null || sk_fail "gerr: resume refused"
out=$(sk_skein rollout wait "$errid" --timeout 30s) || sk_fail "gerr: the resumed rollout did not succeed: $out"
sk_assert_eq "rollout $errid: succeeded in 2/2 regions" "$(tail -n 1 <<<"$out")" "gerr: final line"
sk_assert_eq 0001_t "$(ledger in gerr)" "gerr: the next phase ran after the resume"
json=$(sk_skein rollout report "$errid" --format json)
sk_assert_contains "$json" '"gate": "health rollbacks_per_s"' "gerr: the report has the health values judged"
echo "PASS gate_checks"

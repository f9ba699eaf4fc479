#!/usr/bin/env bash
# A phase outside its window (issue 10, bad input): the canary's window
# opens about 10 s after the rollout starts, written as HH:MM:SS in
# Asia/Kolkata. Until then nothing runs and status says when it opens
# (local time, zone); the canary's step starts within 2 s of the opening,
# and the rollout succeeds.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup gate_window
sk_deploy_three

tz=Asia/Kolkata
opens=$(($(date +%s) + 12))
from=$(TZ=$tz date -d "@$opens" +%H:%M:%S)
until=$(TZ=$tz date -d "@$((opens + 3600))" +%H:%M:%S)
plan="$SK_WORK/plans/window-src"
sk_write_plan "$plan" window 1h "  - name: canary
    regions: [af]
    window: {from: \"$from\", until: \"$until\", tz: $tz}
  - name: rest
    regions: [in, ksa]" \
	"0001_t=CREATE TABLE window_t (id int);"
signed=$(sk_sign_plan "$plan" window)

ledger() {
	[[ "$(sk_rpsql "$1" "select to_regclass('skein.steps') is not null")" == t ]] || return 0
	sk_rpsql "$1" "select coalesce(string_agg(step_id, ','), '') from skein.steps where plan_name = 'window'"
}

id=$(sk_skein rollout start "$signed")
((opens - $(date +%s) >= 5)) || sk_fail "too slow to set up: the window opens in under 5 s"
status=$(sk_skein rollout status "$id")
sk_assert_contains "$status" "gate: phase canary waits for window opens" "status says the phase waits for its window"
sk_assert_contains "$status" "$from $tz" "status says when, in the window's zone"
json=$(sk_skein rollout status "$id" --json)
sk_assert_contains "$json" "\"window_opens_ms\": ${opens}000" "status --json says when it opens"
sleep 2
sk_assert_eq "" "$(ledger af)" "af: nothing runs before the window opens"

while [[ -z "$(ledger af)" ]]; do
	(($(date +%s) < opens + 10)) || sk_fail "the canary did not start within 10 s of its window opening"
	sleep 0.1
done
started=$(sk_rpsql af "select extract(epoch from started_at)::numeric(20,3) from skein.steps where plan_name = 'window'")
late=$(awk -v s="$started" -v o="$opens" 'BEGIN { printf "%d", (s - o) * 1000 }')
echo "the canary's step started ${late} ms after its window opened"
((late >= 0)) || sk_fail "the step started ${late} ms before the window opened"
((late <= 2000)) || sk_fail "the step started ${late} ms after the window opened (more than 2 s)"
out=$(sk_skein rollout wait "$id") || sk_fail "the rollout did not succeed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
sk_assert_contains "$out" "waits for its window: opens" "the wait is an event"
echo "PASS gate_window"

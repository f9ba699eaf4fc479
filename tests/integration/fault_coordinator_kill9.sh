#!/usr/bin/env bash
# kill -9 of the coordinator in the middle of a rollout, then a restart: the
# journal brings the rollout back, it resumes and completes, and no step
# ran twice. A `rollout wait` that was following the rollout on its kept
# connection when the coordinator died follows it to the end on the new
# coordinator.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_coordinator_kill9
sk_deploy_three

steps=("0000_effects=CREATE TABLE effects (step text NOT NULL);")
for i in 1 2 3 4; do
	steps+=("000${i}_slow=INSERT INTO effects (step) VALUES ('000${i}'); SELECT pg_sleep(0.5);")
done
sk_write_plan "$SK_WORK/plans/slow-src" slow 1h "$SK_TWO_PHASES" "${steps[@]}"
signed=$(sk_sign_plan "$SK_WORK/plans/slow-src" slow)
id=$(sk_skein rollout start "$signed")

sk_wait_until 30 bash -c "[[ \$('$SK_PGCLUSTER' psql '$SK_WORK/pg' pg af_app -Atc \"select count(*) from effects\" 2>/dev/null || echo 0) -ge 2 ]]" ||
	sk_fail "the canary never started"
sk_skein rollout wait "$id" --timeout 90s >"$SK_WORK/wait-across.out" 2>&1 &
across=$!
sleep 1 # its connection is up and has polled
sk_kill9 coordinator
# The canary keeps applying while the coordinator is down.
sleep 1
sk_start_coordinator
out=$(sk_skein rollout wait "$id" --timeout 90s) || sk_fail "rollout did not complete after the coordinator restart: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
wait "$across" || sk_fail "the wait begun before the kill failed: $(cat "$SK_WORK/wait-across.out")"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 "$SK_WORK/wait-across.out")" "the wait across the restart: final line"
sk_assert_contains "$(cat "$SK_WORK/logs/coordinator.log")" "journal replayed: 1 rollouts, 1 still running" "the journal was replayed"
for r in af in ksa; do
	sk_assert_eq 4 "$(sk_rpsql "$r" "select count(*) from effects")" "$r: four effects"
	sk_assert_eq "" "$(sk_rpsql "$r" "select step from effects group by step having count(*) > 1")" "$r: no step ran twice"
done
echo "PASS fault_coordinator_kill9"

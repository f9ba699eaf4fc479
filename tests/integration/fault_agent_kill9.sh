#!/usr/bin/env bash
# kill -9 of an agent in the middle of a plan, then a restart: the plan
# completes and every step ran exactly once (each step leaves one row in an
# effects table in the same transaction as its ledger row).
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_agent_kill9
sk_deploy_three

steps=("0000_effects=CREATE TABLE effects (step text NOT NULL, at timestamptz DEFAULT clock_timestamp());")
for i in 1 2 3 4 5 6; do
	steps+=("000${i}_slow=INSERT INTO effects (step) VALUES ('000${i}'); SELECT pg_sleep(0.6);")
done
sk_write_plan "$SK_WORK/plans/slow-src" slow 1h "$SK_TWO_PHASES" "${steps[@]}"
signed=$(sk_sign_plan "$SK_WORK/plans/slow-src" slow)
id=$(sk_skein rollout start "$signed")

# Kill the canary's agent once it is part-way through.
sk_wait_until 30 bash -c "[[ \$('$SK_PGCLUSTER' psql '$SK_WORK/pg' pg af_app -Atc \"select count(*) from effects\" 2>/dev/null || echo 0) -ge 3 ]]" ||
	sk_fail "the canary never got part-way"
sk_kill9 agent-af
done_at_kill=$(sk_rpsql af "select count(*) from skein.steps")
((done_at_kill < 7)) || sk_fail "the plan finished before the kill; make the steps slower"
sk_start_agent af

out=$(sk_skein rollout wait "$id") || sk_fail "rollout did not complete after the agent restart: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
for r in af in ksa; do
	sk_assert_eq 6 "$(sk_rpsql "$r" "select count(*) from effects")" "$r: six effects"
	sk_assert_eq "" "$(sk_rpsql "$r" "select step from effects group by step having count(*) > 1")" "$r: no step ran twice"
	sk_assert_eq 7 "$(sk_rpsql "$r" "select count(*) from skein.steps where plan_name = 'slow'")" "$r: ledger complete"
done
echo "PASS fault_agent_kill9"

#!/usr/bin/env bash
# A regional database that is down when its phase starts: the agent retries
# with backoff and reports that it waits; when the database comes back the
# rollout continues and completes.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_db_down
sk_deploy_three pg pg_in pg
"$SK_PGCLUSTER" stop "$SK_WORK/pg" pg_in

signed=$(sk_sign_plan "$SKEIN_SRC/examples/quickstart" quickstart)
id=$(sk_skein rollout start "$signed")
sk_approve "$id" rest >/dev/null
sk_wait_until 30 bash -c "'$SKEIN_BIN/skein' rollout status '$id' --coordinator '$SK_CONTROL_URL' | grep -q 'waiting'" ||
	sk_fail "region in never reported that it waits for its database: $(sk_skein rollout status "$id")"
status=$(sk_skein rollout status "$id")
sk_assert_contains "$status" "running" "the rollout still runs"
sk_assert_eq 4 "$(sk_rpsql af "select count(*) from skein.steps")" "the canary completed"
sleep 2 # let it retry a few times
waits=$(grep -c 'waiting' <<<"$(sk_skein rollout wait "$id" --timeout 1s 2>/dev/null || true)" || true)
((waits >= 1)) || sk_fail "no waiting events in the progress stream"

"$SK_PGCLUSTER" start "$SK_WORK/pg" pg_in >/dev/null
out=$(sk_skein rollout wait "$id" --timeout 60s) || sk_fail "rollout did not continue after the database came back: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
sk_assert_eq 4 "$(sk_rpsql in "select count(*) from skein.steps")" "region in applied after recovery"
echo "PASS fault_db_down"

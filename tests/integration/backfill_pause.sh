#!/usr/bin/env bash
# An operator's pause and tune of a running backfill (issue 9 item 3): a
# backfill paced at 1000 rows a second, paused mid-way by an operator,
# stops at its next batch (no batch commits while paused, the agent says
# why), is tuned while paused (no rate limit, bigger batches; a tune that
# leaves batch_min above batch_max is refused and changes nothing), and
# once resumed finishes at the new pace — and so do the later phases,
# whose runs start tuned. Every row is updated exactly once. Prints how
# long the pause took to stop the backfill.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup backfill_pause
skein=$SKEIN_BIN/skein
sk_keys
"$skein" keygen --out "$SK_WORK/keys/op" >/dev/null
SK_COORDINATOR_EXTRA="  - {name: otto, key: ../keys/op.pub, role: operator}"
sk_deploy_three

rows=20000
for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
	  INSERT INTO t (id) SELECT g FROM generate_series(1, $rows) g; ANALYZE t" >/dev/null
done
sk_plan_yaml "$SK_WORK/plans/paced" paced <<'YAML'
  - id: fill
    kind: backfill
    table: t
    update: SET n = n + 1
    batch: { min: 100, max: 500, target: 50ms }
    max_rows_per_second: 1000
YAML
signed=$(sk_sign_plan "$SK_WORK/plans/paced" paced)
as_op() { SKEIN_KEY=$SK_WORK/keys/op.key sk_skein "$@"; }
done_rows() { sk_rpsql "$1" "SELECT count(*) FROM t WHERE n <> 0"; }
ms() { date +%s%3N; }
log=$SK_WORK/logs/agent-af.log

id=$(sk_skein rollout start "$signed")
for ((i = 0; i < 300; i++)); do
	(($(done_rows af) > 1000)) && break
	sleep 0.1
done
(($(done_rows af) > 1000)) || sk_fail "af's backfill never got going"

# 1. Paused: the backfill stops at its next batch.
n=$(wc -l <"$log")
t0=$(ms)
as_op rollout pause "$id" --reason "checking replica lag" >/dev/null || sk_fail "otto could not pause"
while ! tail -n "+$((n + 1))" "$log" | grep "backfill fill: paused by the operator" >/dev/null; do
	(($(ms) - t0 < 10000)) || sk_fail "the backfill never said it was paused"
	sleep 0.02
done
echo "the backfill stopped $(($(ms) - t0)) ms after skein rollout pause was run"
sleep 1
held=$(done_rows af)
((held < rows)) || sk_fail "the backfill finished before the pause took"
sleep 3
sk_assert_eq "$held" "$(done_rows af)" "af: no batch committed while paused"
sk_assert_contains "$(sk_skein rollout status "$id")" "paused: by otto" "status says who paused"

# 2. Tuned while paused; a tune that would put batch_min above batch_max
# is refused and changes nothing.
out=$(as_op rollout tune "$id" --max-rows-per-second none --batch-min 1000 --batch-max 5000) ||
	sk_fail "otto could not tune: $out"
sk_assert_contains "$out" "max_rows_per_second no limit, batch_min 1000, batch_max 5000" "the tune's answer"
if out=$(as_op rollout tune "$id" --batch-min 6000 2>&1); then sk_fail "batch_min above the tuned batch_max was taken: $out"; fi
sk_assert_contains "$out" "batch_min above batch_max" "the refused tune says why"
status=$(sk_skein rollout status "$id")
sk_assert_contains "$status" "tuned: max_rows_per_second no limit, batch_min 1000, batch_max 5000" "status shows the tune, unchanged by the refusal"
sk_assert_eq "$held" "$(done_rows af)" "af: still nothing while paused and tuned"

# 3. Resumed: it finishes at the new pace, and so do the later phases.
t0=$(ms)
as_op rollout resume "$id" >/dev/null || sk_fail "otto could not resume"
out=$(sk_skein rollout wait "$id" --timeout 120s) || sk_fail "the resumed backfill did not finish: $out"
echo "resumed: the rollout ended $(($(ms) - t0)) ms later ($((rows - held)) rows left in af, $rows in each other region)"
for r in af in ksa; do
	sk_assert_eq "$rows|1" "$(sk_rpsql "$r" "SELECT count(*), max(n) FROM t WHERE n = 1")" "$r: every row exactly once"
done
for r in in ksa; do
	secs=$(sk_rpsql "$r" "SELECT extract(epoch FROM finished_at - started_at)::int FROM skein.steps WHERE plan_name = 'paced'")
	((secs < 10)) || sk_fail "$r: its backfill took $secs s: its run did not start tuned (the plan's 1000 rows/s takes 20 s)"
done
grep -q "backfill fill: running" "$log" || sk_fail "af's agent never said the backfill runs again"
echo "PASS backfill_pause"

#!/usr/bin/env bash
# A backfill's throttles: while its throttle query returns true no batch
# commits, and the agent says why; once it returns false the backfill
# goes on and finishes. With max_rows_per_second set it never goes
# faster than the limit (and not much slower).
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup backfill_throttle
sk_deploy_three

rows=24000
for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
	  INSERT INTO t (id) SELECT g FROM generate_series(1, $rows) g;
	  CREATE TABLE switch (hold boolean NOT NULL); INSERT INTO switch VALUES (true)" >/dev/null
done
sk_plan_yaml "$SK_WORK/plans/held" held <<'YAML'
  - id: fill
    kind: backfill
    table: t
    update: SET n = n + 1
    throttle_query: SELECT hold FROM switch
YAML
signed=$(sk_sign_plan "$SK_WORK/plans/held" held)
id=$(sk_skein rollout start "$signed")
sk_wait_until 20 grep -q "backfill fill: throttle query returned true" "$SK_WORK/logs/agent-af.log" ||
	sk_fail "the agent never said the throttle query holds it"
sleep 2
sk_assert_eq "0|0" "$(sk_rpsql af "SELECT coalesce(sum(batches), 0), (SELECT count(*) FROM t WHERE n <> 0) FROM skein.backfills WHERE plan_name = 'held'")" \
	"a batch committed while the throttle query returned true"
for r in af in ksa; do sk_rpsql "$r" "UPDATE switch SET hold = false" >/dev/null; done
out=$(sk_skein rollout wait "$id" --timeout 60s) || sk_fail "the backfill did not finish once released: $out"
sk_assert_eq "$rows|1" "$(sk_rpsql af "SELECT count(*), max(n) FROM t WHERE n = 1")" "af: every row once"
sk_assert_contains "$(cat "$SK_WORK/logs/agent-af.log")" "backfill fill: running" "the agent says it runs again"
# The time it was held is in its checkpoint rows (at least the 2 s waited
# above; not more than the whole run).
held_ms=$(sk_rpsql af "SELECT sum(throttled_ms) FROM skein.backfills WHERE plan_name = 'held'")
python3 -c "import sys; sys.exit(0 if 2000 <= int(sys.argv[1]) <= 60000 else 1)" "$held_ms" ||
	sk_fail "skein.backfills.throttled_ms is $held_ms ms for a backfill held over 2 s"

# The rate limit, measured from the ledger's start and end of the step.
limit=6000
sk_plan_yaml "$SK_WORK/plans/paced" paced <<YAML
  - id: fill
    kind: backfill
    table: t
    update: SET n = n + 1
    batch: { min: 500, max: 2000, target: 50ms }
    max_rows_per_second: $limit
YAML
signed=$(sk_sign_plan "$SK_WORK/plans/paced" paced)
id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id" --timeout 60s) || sk_fail "the paced backfill failed: $out"
ratio=$(sk_rpsql af "SELECT round(($rows / extract(epoch FROM finished_at - started_at)) / $limit, 2)
    FROM skein.steps WHERE plan_name = 'paced'")
echo "af: $rows rows at $ratio of the limit" >&2
python3 -c "import sys; r = float(sys.argv[1]); sys.exit(0 if 0.6 <= r <= 1.1 else 1)" "$ratio" ||
	sk_fail "the rate was $ratio of max_rows_per_second (want 0.6–1.1)"
sk_assert_eq "$rows|2" "$(sk_rpsql af "SELECT count(*), max(n) FROM t WHERE n = 2")" "af: every row once more"
echo "PASS backfill_throttle"

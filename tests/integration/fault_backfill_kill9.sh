#!/usr/bin/env bash
# A backfill survives its agent killed with SIGKILL at 12 points — six of
# them exact (between a batch's UPDATE and its COMMIT, and just after the
# COMMIT, through SKEIN_FAILPOINT), six at random moments — and its
# database restarted with pg_ctl -m immediate in the middle: the update
# is not idempotent (n = n + 1) and yet every row ends with n = 1: no
# batch was applied twice and none was skipped.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_backfill_kill9
sk_deploy_three

rows=60000
for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE big (id bigint PRIMARY KEY, n int NOT NULL DEFAULT 0, pad text);
	  INSERT INTO big (id, pad) SELECT g, repeat('x', 60) FROM generate_series(1, $rows) g;
	  ANALYZE big" >/dev/null
done
plan="$SK_WORK/plans/bump"
sk_plan_yaml "$plan" bump <<'YAML'
  - id: bump
    kind: backfill
    table: big
    update: SET n = n + 1
    batch: { min: 300, max: 1500, target: 20ms }
    max_rows_per_second: 3000
YAML
signed=$(sk_sign_plan "$plan" bump)

# Restart af's agent, armed with failpoint $1 ("" for none).
restart_af() {
	if [[ -n "$1" ]]; then export SKEIN_FAILPOINT=$1 SK_MAY_EXIT=1; else unset SKEIN_FAILPOINT; fi
	sk_start_agent af
	unset SKEIN_FAILPOINT SK_MAY_EXIT
}
# Wait for af's agent to die at its failpoint, and clear its pid file.
wait_dead() {
	sk_wait_until 60 bash -c "! kill -0 \$(cat '$SK_WORK/pids/agent-af.pid') 2>/dev/null" ||
		sk_fail "the agent never reached its failpoint $1"
	sk_kill9 agent-af
}

sk_kill9 agent-af
restart_af backfill-before-commit:5
id=$(sk_skein rollout start "$signed")
kills=0
for point in backfill-after-commit:4 backfill-before-commit:6 backfill-after-commit:5 \
	backfill-before-commit:4 backfill-after-commit:7; do
	wait_dead "$point"
	kills=$((kills + 1))
	restart_af "$point"
done
wait_dead last
kills=$((kills + 1))
restart_af ""

# Six kills at random moments, then the database restarted at once.
for i in 1 2 3 4 5 6; do
	sleep "0.$((RANDOM % 7 + 2))"
	sk_kill9 agent-af
	kills=$((kills + 1))
	restart_af ""
done
sleep 0.5
scanned=$(sk_rpsql af "SELECT coalesce(sum(rows_scanned), 0) FROM skein.backfills WHERE plan_name = 'bump'")
((scanned < rows)) || sk_fail "af finished before the database restart; slow it down"
"$SK_PGCLUSTER" restart "$SK_WORK/pg" pg >/dev/null
echo "af: $kills kills, the database restarted after $scanned of $rows rows" >&2

out=$(sk_skein rollout wait "$id" --timeout 180s) || sk_fail "the rollout did not complete: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
for r in af in ksa; do
	sk_assert_eq "$rows|1|1" "$(sk_rpsql "$r" "SELECT count(*), min(n), max(n) FROM big")" \
		"$r: every row updated exactly once"
	sk_assert_eq "$rows|$rows" "$(sk_rpsql "$r" "SELECT rows, (SELECT sum(rows_scanned) FROM skein.backfills
	    WHERE plan_name = 'bump') FROM skein.steps WHERE plan_name = 'bump'")" "$r: the ledger's figures"
done
((kills >= 12)) || sk_fail "only $kills kills"
echo "PASS fault_backfill_kill9 ($kills kills and a database restart)"

#!/usr/bin/env bash
# A flag flip in a region whose PostgreSQL is down (issue 10): on apply
# the region waits, retries and says so, and flips once it is back. Then
# rollback by flag with it down again: the flags-first pass flips
# the flags back in the other regions at once, the down region retries
# and status says it waits ("flags first: 2/3 regions flipped") while no
# revert script runs anywhere, also across a coordinator restart; once
# its database is back it flips, and the rollback completes, every revert
# after every flip.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_flag_db_down
sk_deploy_three pg pg pg_ksa

for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE revert_probe (at timestamptz, flags_left bigint)" >/dev/null
done
plan="$SK_WORK/plans/down-src"
sk_plan_yaml "$plan" down <<'EOF2'
  - id: 0001_reports
    sql: 0001_reports.sql
    revert: 0001_reports.revert.sql
  - id: 0002_everyone_on
    kind: flag
    flag: feature.reporting_v1
    value: true
EOF2
echo "CREATE TABLE reports (id int);" >"$plan/0001_reports.sql"
echo "INSERT INTO revert_probe SELECT clock_timestamp(), (SELECT count(*) FROM skein.flags); DROP TABLE reports;" \
	>"$plan/0001_reports.revert.sql"
signed=$(sk_sign_plan "$plan" down)
flag() { sk_rpsql "$1" "SELECT coalesce(skein.flag('feature.reporting_v1', 'any-tenant'), 'NULL')"; }

# The apply with ksa down: its flip waits and retries, and says so;
# the others are set.
sk_rpsql ksa "CHECKPOINT" >/dev/null
"$SK_PGCLUSTER" stop "$SK_WORK/pg" pg_ksa
id=$(sk_skein rollout start "$signed")
sk_wait_until 30 bash -c "'$SKEIN_BIN/skein' rollout status '$id' --coordinator '$SK_CONTROL_URL' | grep -q 'ksa.*waiting'" ||
	sk_fail "ksa never said it waits for its database: $(sk_skein rollout status "$id")"
for r in af in; do
	sk_assert_eq true "$(flag "$r")" "$r: the flag is on while ksa is down"
done
"$SK_PGCLUSTER" start "$SK_WORK/pg" pg_ksa >/dev/null
out=$(sk_skein rollout wait "$id" --timeout 60s) || sk_fail "apply failed: $out"
for r in af in ksa; do
	sk_assert_eq true "$(flag "$r")" "$r: the flag is on after the apply"
done

# The test clusters run with synchronous_commit off and stop
# immediately: a checkpoint first, so that the apply survives the stop.
sk_rpsql ksa "CHECKPOINT" >/dev/null
"$SK_PGCLUSTER" stop "$SK_WORK/pg" pg_ksa
rb=$(sk_skein rollout rollback --yes "$id" --no-backup)
flipped2() { sk_skein rollout status "$rb" | grep -q "flags first: 2/3 regions flipped"; }
sk_wait_until 30 flipped2 || sk_fail "af and in did not flip while ksa is down: $(sk_skein rollout status "$rb")"
for r in af in; do
	sk_assert_eq NULL "$(flag "$r")" "$r: flipped back while ksa is down"
done
sk_wait_until 30 bash -c "'$SKEIN_BIN/skein' rollout status '$rb' --coordinator '$SK_CONTROL_URL' | grep -A3 'flags first' | grep -q 'ksa.*waiting'" ||
	sk_fail "ksa never said it waits for its database: $(sk_skein rollout status "$rb")"
status=$(sk_skein rollout status "$rb")
sk_assert_contains "$status" "no revert runs before every region flipped" "status says the reverts wait"
sk_assert_eq '"running"' "$(sk_skein rollout status "$rb" --json | jq '.flags_first.regions[] | select(.name == "ksa") | .state')" "ksa's pass is running"
sleep 2 # let ksa retry; nothing may revert meanwhile
for r in af in; do
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT count(*) FROM revert_probe")" "$r: no revert ran while ksa waits"
	sk_assert_eq 1 "$(sk_rpsql "$r" "SELECT count(*) FROM pg_class WHERE relname = 'reports'")" "$r: reports still there"
done
sk_assert_contains "$(sk_skein rollout status "$rb")" "running" "the rollback still runs"
# The pass is journaled (as the agents' reports): a coordinator restart
# keeps it where it was.
sk_stop coordinator || sk_fail "the coordinator did not stop"
sk_start_coordinator || sk_fail "the coordinator did not start again"
sk_assert_contains "$(sk_skein rollout status "$rb")" "flags first: 2/3 regions flipped" "the pass after a restart"

"$SK_PGCLUSTER" start "$SK_WORK/pg" pg_ksa >/dev/null
out=$(sk_skein rollout wait "$rb" --timeout 60s) || sk_fail "the rollback did not complete after ksa came back: $out"
sk_assert_eq "rollout $rb: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "rollback final line"
sk_assert_contains "$(sk_skein rollout status "$rb")" "flags first: 3/3 regions flipped" "every region flipped"
for r in af in ksa; do
	sk_assert_eq NULL "$(flag "$r")" "$r: flag unset after the rollback"
	sk_assert_eq "1|0" "$(sk_rpsql "$r" "SELECT count(*), max(flags_left) FROM revert_probe")" "$r: one revert, after the flip"
done
waits=$(sk_skein rollout report "$rb" --format json | jq '[.regions[] | select(.name == "ksa")] | length')
sk_assert_eq 1 "$waits" "the report has ksa"
echo "PASS fault_flag_db_down"
sk_teardown

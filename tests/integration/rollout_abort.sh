#!/usr/bin/env bash
# An operator aborts a running rollout (issue 10 item 3): a two-phase
# plan of three steps whose first sleeps 3 s, aborted while the canary
# runs it. A viewer's and an unsigned abort are refused and change
# nothing. The abort answers with what it left in each region and the
# command to roll back; the running step finishes, no further step
# starts there (ledger), the next phase never starts; status (text and
# JSON) and the report (md and JSON) say "aborted" and show the abort in
# their control section (who, key, when, why). Aborting it again, or an
# unknown rollout, fails clearly and changes nothing; the rollback of the
# aborted rollout undoes what ran.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup rollout_abort
skein=$SKEIN_BIN/skein
sk_keys
for k in viewer op; do "$skein" keygen --out "$SK_WORK/keys/$k" >/dev/null; done
SK_COORDINATOR_EXTRA="  - {name: vera, key: ../keys/viewer.pub, role: viewer}
  - {name: otto, key: ../keys/op.pub, role: operator}"
sk_deploy_three

plan="$SK_WORK/plans/abort-src"
sk_plan_yaml "$plan" abort <<'EOF'
  - id: 0001_slow
    sql: 0001_slow.sql
    revert: 0001_slow.revert.sql
  - id: 0002_next
    sql: 0002_next.sql
    revert: 0002_next.revert.sql
  - id: 0003_last
    sql: 0003_last.sql
    revert: 0003_last.revert.sql
EOF
echo "CREATE TABLE abort_one (id int); SELECT pg_sleep(3);" >"$plan/0001_slow.sql"
echo "DROP TABLE abort_one;" >"$plan/0001_slow.revert.sql"
echo "CREATE TABLE abort_two (id int);" >"$plan/0002_next.sql"
echo "DROP TABLE abort_two;" >"$plan/0002_next.revert.sql"
echo "CREATE TABLE abort_three (id int);" >"$plan/0003_last.sql"
echo "DROP TABLE abort_three;" >"$plan/0003_last.revert.sql"
signed=$(sk_sign_plan "$plan" abort)

as_op() { SKEIN_KEY=$SK_WORK/keys/op.key sk_skein "$@"; }
as_viewer() { SKEIN_KEY=$SK_WORK/keys/viewer.key sk_skein "$@"; }
unsigned() {
	env -u SKEIN_KEY HOME=/nonexistent XDG_CONFIG_HOME=/nonexistent \
		"$skein" "$@" --coordinator "$SK_CONTROL_URL"
}
ledger() {
	[[ "$(sk_rpsql "$1" "select to_regclass('skein.steps') is not null")" == t ]] || return 0
	sk_rpsql "$1" "select coalesce(string_agg(step_id, ',' order by step_id), '') from skein.steps where plan_name = 'abort'"
}
has_table() { sk_rpsql "$1" "select count(*) from pg_class where relname = '$2' and relkind = 'r'"; }
state() { sk_skein rollout status "$id" --json | sed -n 's/^  "state": "\(.*\)",$/\1/p' | head -1; }
sleeping() { [[ "$(sk_rpsql af "select count(*) from pg_stat_activity where query like '%pg_sleep(3)%' and state = 'active' and pid <> pg_backend_pid()")" -ge 1 ]]; }

id=$(sk_skein rollout start "$signed")
sk_wait_until 30 sleeping || sk_fail "the canary's first step never started"

# 1. Refusals change nothing.
if out=$(as_viewer rollout abort "$id" 2>&1); then sk_fail "a viewer aborted: $out"; fi
sk_assert_contains "$out" "operator vera (viewer) may not abort: that needs role operator" "the viewer's abort"
if out=$(unsigned rollout abort "$id" 2>&1); then sk_fail "an unsigned abort was taken: $out"; fi
sk_assert_contains "$out" "not a signed operator request" "the unsigned abort"
sk_assert_eq running "$(state)" "refused aborts leave it running"

# 2. otto aborts while af sleeps in 0001_slow.
out=$(as_op rollout abort "$id" --reason "wrong tenant list" 2>&1) || sk_fail "otto could not abort: $out"
sk_assert_contains "$out" "rollout $id aborted: running steps finish, nothing else starts" "abort answers"
sk_assert_contains "$out" "what it left:" "the answer says what it left"
sk_assert_contains "$out" "in: pending, nothing ran there" "the answer names a region that never started"
sk_assert_contains "$out" "skein rollout rollback $id" "the answer gives the rollback command"
sk_wait_until 20 grep -q "rollout $id aborted by otto" "$SK_WORK/logs/agent-af.log" ||
	sk_fail "the abort never reached af's agent"
region_failed() { sk_skein rollout status "$id" --json | grep -q '"name": "af",' && [[ "$(sk_skein rollout status "$id" --json | grep -c '"state": "failed"')" -ge 1 ]]; }
sk_wait_until 20 region_failed || sk_fail "af never reported the end of its aborted run"
sk_assert_eq 0001_slow "$(ledger af)" "af: the running step finished, no other started"
sk_assert_eq 0 "$(has_table af abort_two)" "af: abort_two never created"
sleep 1
for r in in ksa; do
	sk_assert_eq "" "$(ledger "$r")" "$r: the next phase never started"
done
sk_assert_eq aborted "$(state)" "status: aborted"
status=$(sk_skein rollout status "$id")
sk_assert_contains "$status" "control: abort by otto (key " "status shows who aborted"
sk_assert_contains "$status" ": wrong tenant list" "status says why"
sk_assert_contains "$status" "af/app: 1/3 steps done; step 0001_slow finished" "status: what it left in af"
sk_assert_contains "$status" "to roll back what ran: skein rollout rollback $id" "status: the rollback command"
json=$(sk_skein rollout status "$id" --json)
sk_assert_contains "$json" '"action": "abort"' "status --json: the abort"
sk_assert_contains "$json" '"operator": "otto"' "status --json: who"
sk_assert_contains "$json" '"reason": "wrong tenant list"' "status --json: why"
sk_assert_contains "$json" "\"rollback_command\": \"skein rollout rollback $id\"" "status --json: the rollback command"
md=$(sk_skein rollout report "$id")
sk_assert_contains "$md" "## Control" "the report has a control section"
sk_assert_contains "$md" "| abort | all | otto |" "the report's control row"
sk_assert_contains "$md" "wrong tenant list" "the report says why"
rj=$(sk_skein rollout report "$id" --format json)
sk_assert_contains "$rj" '"action": "abort"' "the json report has the abort"
grep -aq "wrong tenant list" "$SK_WORK/coordinator/state/journal" || sk_fail "the journal does not have the abort"

# 3. Aborting it again, or an unknown rollout: refused, nothing changes.
before=$(sk_skein rollout status "$id" --json | grep -v '"at_ms"\|updated')
if out=$(as_op rollout abort "$id" 2>&1); then sk_fail "a second abort was taken: $out"; fi
sk_assert_contains "$out" "it has finished (aborted); there is nothing to abort" "abort of an aborted rollout"
if out=$(as_op rollout abort r-nosuchrollout 2>&1); then sk_fail "abort of an unknown rollout was taken: $out"; fi
sk_assert_contains "$out" "abort rollout r-nosuchrollout: no such rollout" "abort of an unknown rollout"
sk_assert_eq "$before" "$(sk_skein rollout status "$id" --json | grep -v '"at_ms"\|updated')" "refused aborts changed nothing"

# 4. The rollback undoes what ran (af's first step).
out=$(sk_skein rollout rollback "$id" --no-backup --wait 2>&1) || sk_fail "the rollback of the aborted rollout failed: $out"
sk_assert_eq 0 "$(has_table af abort_one)" "af: abort_one reverted"
sk_assert_eq "" "$(ledger af)" "af: nothing of the plan left in the ledger"
echo "PASS rollout_abort"

#!/usr/bin/env bash
# An operator aborts a running rollout (issue 10 item 3): a two-phase
# plan of three steps whose first waits for the test to release it (a
# row in abort_gate), aborted while the canary runs it. A viewer's and
# an unsigned abort are refused and change nothing. The abort answers
# with what it left in each region and the command to roll back; the
# running step finishes, no further step starts there (ledger), the next
# phase never starts; status (text and JSON) and the report (md and
# JSON) say "aborted" and show the abort in their control section (who,
# key, when, why). Aborting it again, or an unknown rollout, fails
# clearly and changes nothing; the rollback of the aborted rollout
# undoes what ran.
#
# Then a scoped abort (skein rollout abort ID --region R): a plan whose
# first phase is af and in (in's steps are quick, af's first waits for a
# row in sc_gate), then ksa. in finishes; a viewer's, an unsigned abort,
# an unknown region, one named twice and the finished in are refused,
# changing nothing. otto aborts af while it sleeps: af records only its
# running step, ends failed "aborted by otto", the rollout fails, ksa
# never starts; a second abort of af and one of the failed rollout are
# refused. Status and the report say who aborted af, why, and what it
# left; a coordinator restart keeps it; the rollback undoes what ran.
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
# The step holds until the test releases it, so that the abort lands
# while it runs however slow the build (a fixed sleep was outrun under
# ASan: af finished and the next phase started before the abort).
echo "CREATE TABLE abort_one (id int);
DO \$\$BEGIN WHILE NOT EXISTS (SELECT 1 FROM abort_gate) LOOP PERFORM pg_sleep(0.05); END LOOP; END\$\$;" >"$plan/0001_slow.sql"
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
sleeping() { [[ "$(sk_rpsql af "select count(*) from pg_stat_activity where query like '%FROM abort_gate%' and state = 'active' and pid <> pg_backend_pid()")" -ge 1 ]]; }

sk_rpsql af "create table abort_gate (go int)" >/dev/null
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
# Heard: release the running step (it finishes; no other starts).
sk_rpsql af "insert into abort_gate values (1)" >/dev/null
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
out=$(sk_skein rollout rollback --yes "$id" --no-backup --wait 2>&1) || sk_fail "the rollback of the aborted rollout failed: $out"
sk_assert_eq 0 "$(has_table af abort_one)" "af: abort_one reverted"
sk_assert_eq "" "$(ledger af)" "af: nothing of the plan left in the ledger"

# 5. A scoped abort.
plan2="$SK_WORK/plans/scoped-src"
mkdir -p "$plan2"
cat >"$plan2/plan.yaml" <<'EOF2'
name: abortsc
expires: 1h
phases:
  - name: first
    regions: [af, in]
  - name: last
    regions: [ksa]
steps:
  - id: 0001_slow
    sql: 0001_slow.sql
    revert: 0001_slow.revert.sql
  - id: 0002_next
    sql: 0002_next.sql
    revert: 0002_next.revert.sql
EOF2
echo "CREATE TABLE sc_one (id int);
DO \$\$BEGIN IF current_database() = 'af_app' THEN WHILE NOT EXISTS (SELECT 1 FROM sc_gate) LOOP PERFORM pg_sleep(0.05); END LOOP; END IF; END\$\$;" >"$plan2/0001_slow.sql"
echo "DROP TABLE sc_one;" >"$plan2/0001_slow.revert.sql"
echo "CREATE TABLE sc_two (id int);" >"$plan2/0002_next.sql"
echo "DROP TABLE sc_two;" >"$plan2/0002_next.revert.sql"
signed2=$(sk_sign_plan "$plan2" abortsc)
ledger2() {
	[[ "$(sk_rpsql "$1" "select to_regclass('skein.steps') is not null")" == t ]] || return 0
	sk_rpsql "$1" "select coalesce(string_agg(step_id, ',' order by step_id), '') from skein.steps where plan_name = 'abortsc'"
}
ledgers2() { local r; for r in af in ksa; do echo "$r=$(ledger2 "$r")"; done; }
ledger2_is() { [[ "$(ledger2 "$1")" == "$2" ]]; }
state2() { sk_skein rollout status "$id2" --json | sed -n 's/^  "state": "\(.*\)",$/\1/p' | head -1; }
state2_is() { [[ "$(state2)" == "$1" ]]; }
in_done() { sk_skein rollout status "$id2" --json | tr -d '\n ' | grep -q '"name":"in","state":"succeeded"'; }
sleeping2() { [[ "$(sk_rpsql af "select count(*) from pg_stat_activity where query like '%FROM sc_gate%' and state = 'active' and pid <> pg_backend_pid()")" -ge 1 ]]; }
view2() { sk_skein rollout status "$id2" --json | grep -v '"at_ms"\|updated\|"seq"\|"age'; }

sk_rpsql af "create table sc_gate (go int)" >/dev/null
id2=$(sk_skein rollout start "$signed2")
sk_wait_until 30 sleeping2 || sk_fail "af's first step never started"
sk_wait_until 10 in_done || sk_fail "in did not finish while af slept"
before="$(ledgers2)$(view2)"
if out=$(as_viewer rollout abort "$id2" --region af 2>&1); then sk_fail "a viewer aborted af: $out"; fi
sk_assert_contains "$out" "may not abort: that needs role operator" "the viewer's scoped abort"
if out=$(unsigned rollout abort "$id2" --region af 2>&1); then sk_fail "an unsigned scoped abort was taken: $out"; fi
sk_assert_contains "$out" "not a signed operator request" "the unsigned scoped abort"
if out=$(as_op rollout abort "$id2" --region mars 2>&1); then sk_fail "an abort of mars was taken: $out"; fi
sk_assert_contains "$out" "the rollout has no region mars" "an unknown region"
if out=$(as_op rollout abort "$id2" --region af --region af 2>&1); then sk_fail "an abort naming af twice was taken: $out"; fi
sk_assert_contains "$out" "region af named twice" "a region named twice"
if out=$(as_op rollout abort "$id2" --region in 2>&1); then sk_fail "an abort of the finished in was taken: $out"; fi
sk_assert_contains "$out" "the region has finished (succeeded)" "a finished region"
sk_assert_eq "$before" "$(ledgers2)$(view2)" "refused scoped aborts changed nothing"

out=$(as_op rollout abort "$id2" --region af --reason "bad index in af" 2>&1) || sk_fail "otto could not abort af: $out"
sk_assert_contains "$out" "rollout $id2 aborted in region af: a running step finishes" "the scoped abort answers"
sk_assert_contains "$out" "what it left in the aborted regions:" "the answer says what af left"
sk_assert_contains "$out" "skein rollout rollback $id2" "the answer gives the rollback command"
if out=$(as_op rollout abort "$id2" --region af 2>&1); then sk_fail "a second abort of af was taken: $out"; fi
sk_assert_contains "$out" "it is already aborted there, by otto" "a second abort of af"
sk_wait_until 20 grep -q "rollout $id2 aborted" "$SK_WORK/logs/agent-af.log" ||
	sk_fail "the scoped abort never reached af's agent"
sk_rpsql af "insert into sc_gate values (1)" >/dev/null
sk_wait_until 20 state2_is failed || sk_fail "the rollout did not fail after af's abort (state $(state2))"
sk_assert_eq 0001_slow "$(ledger2 af)" "af: only the running step"
sk_assert_eq 0001_slow,0002_next "$(ledger2 in)" "in: finished its steps"
sleep 1
sk_assert_eq "" "$(ledger2 ksa)" "ksa: the later phase never started"
if out=$(as_op rollout abort "$id2" --region ksa 2>&1); then sk_fail "an abort of the failed rollout was taken: $out"; fi
sk_assert_contains "$out" "it has finished (failed); there is nothing to abort" "a finished rollout"
status=$(sk_skein rollout status "$id2")
sk_assert_contains "$status" "region af aborted by otto (key " "status: who aborted af"
sk_assert_contains "$status" ": bad index in af" "status: why"
sk_assert_contains "$status" "control: abort in af by otto" "status: the control line"
sk_assert_contains "$status" "af/app: 1/2 steps done; step 0001_slow finished" "status: what af left"
sk_assert_contains "$status" "to roll back what ran: skein rollout rollback $id2" "status: the rollback command"
sk_assert_contains "$(sk_skein rollout status "$id2" --json)" "\"rollback_command\": \"skein rollout rollback $id2\"" "status --json: the rollback command"
md=$(sk_skein rollout report "$id2")
sk_assert_contains "$md" "| abort | af | otto |" "the report's control row"
sk_assert_contains "$md" "Aborted in some regions. What it left:" "the report: what af left"
sk_stop coordinator || sk_fail "the coordinator did not stop"
sk_start_coordinator || sk_fail "the coordinator did not start again"
sk_assert_contains "$(sk_skein rollout status "$id2")" "region af aborted by otto" "after a restart"
sk_assert_eq failed "$(state2)" "after a restart: failed"
out=$(sk_skein rollout rollback --yes "$id2" --no-backup --wait 2>&1) || sk_fail "the rollback of the failed rollout failed: $out"
for r in af in; do
	sk_assert_eq 0 "$(has_table "$r" sc_one)" "$r: sc_one reverted"
	sk_assert_eq "" "$(ledger2 "$r")" "$r: nothing of abortsc left in the ledger"
done
echo "PASS rollout_abort"

#!/usr/bin/env bash
# A pause scoped to one region (issue 10 item 3): a plan whose first
# phase is af and in, then ksa, with a first step that sleeps 5 s (time
# for the pause to reach af on a loaded machine before it ends). otto
# pauses af while it sleeps: af finishes that step and starts no other
# (ledger), in goes on to the end, and the first phase does not complete
# (ksa does not start). ksa, of the later phase, paused too, is not
# started when af is resumed. Status (text and JSON) shows who paused
# each region, when and why; the pauses survive a coordinator restart. A
# viewer's and an unsigned scoped pause, an unknown region, a second
# pause of a region and a resume of a region that is not paused are
# refused and change nothing.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup rollout_scoped_pause
skein=$SKEIN_BIN/skein
sk_keys
for k in viewer op; do "$skein" keygen --out "$SK_WORK/keys/$k" >/dev/null; done
SK_COORDINATOR_EXTRA="  - {name: vera, key: ../keys/viewer.pub, role: viewer}
  - {name: otto, key: ../keys/op.pub, role: operator}"
sk_deploy_three

plan="$SK_WORK/plans/scoped-src"
sk_write_plan "$plan" scoped 1h '  - name: first
    regions: [af, in]
  - name: last
    regions: [ksa]' \
	"0001_slow=CREATE TABLE scoped_one (id int); SELECT pg_sleep(5);" \
	"0002_next=CREATE TABLE scoped_two (id int);"
signed=$(sk_sign_plan "$plan" scoped)

as_op() { SKEIN_KEY=$SK_WORK/keys/op.key sk_skein "$@"; }
as_viewer() { SKEIN_KEY=$SK_WORK/keys/viewer.key sk_skein "$@"; }
unsigned() {
	env -u SKEIN_KEY HOME=/nonexistent XDG_CONFIG_HOME=/nonexistent \
		"$skein" "$@" --coordinator "$SK_CONTROL_URL"
}
ledger() {
	[[ "$(sk_rpsql "$1" "select to_regclass('skein.steps') is not null")" == t ]] || return 0
	sk_rpsql "$1" "select coalesce(string_agg(step_id, ',' order by step_id), '') from skein.steps where plan_name = 'scoped'"
}
ledger_is() { [[ "$(ledger "$1")" == "$2" ]]; }
ledgers() { local r; for r in af in ksa; do echo "$r=$(ledger "$r")"; done; }
pauses() { sk_skein rollout status "$id" --json | tr -d '\n ' | grep -o '"region_pauses":\[[^]]*\]'; }
sleeping() { [[ "$(sk_rpsql af "select count(*) from pg_stat_activity where query like '%pg_sleep(5)%' and state = 'active' and pid <> pg_backend_pid()")" -ge 1 ]]; }

id=$(sk_skein rollout start "$signed")
sk_wait_until 30 sleeping || sk_fail "af's first step never started"

# 1. otto pauses af while it sleeps; in goes on.
out=$(as_op rollout pause "$id" --region af --reason "replica lag in af" 2>&1) || sk_fail "otto could not pause af: $out"
sk_assert_contains "$out" "rollout $id paused in region af" "the scoped pause answers"
sk_wait_until 15 ledger_is in 0001_slow,0002_next || sk_fail "in did not go on while af was paused"
sk_wait_until 15 ledger_is af 0001_slow || sk_fail "af's running step did not finish"
sleep 2
sk_assert_eq 0001_slow "$(ledger af)" "af: no step starts while af is paused"
sk_assert_eq "" "$(ledger ksa)" "ksa: the first phase does not complete while af is paused"
status=$(sk_skein rollout status "$id")
sk_assert_contains "$status" "paused in af: by otto (key " "status: who paused af"
sk_assert_contains "$status" ": replica lag in af" "status: why"
sk_assert_contains "$status" "control: pause in af by otto" "status: the control line"
sk_assert_contains "$(pauses)" '"region":"af","operator":"otto"' "status --json: af's pause"
sk_assert_contains "$(sk_skein rollout list)" "pause in af by otto" "list: waits for af's pause"

# ksa, of the later phase, paused too.
out=$(as_op rollout pause "$id" --region ksa --reason "ksa freeze") || sk_fail "otto could not pause ksa: $out"
sk_assert_contains "$out" "paused in region ksa" "the pause of ksa answers"

# 2. Refusals change nothing.
before="$(ledgers)$(pauses)"
if out=$(as_viewer rollout pause "$id" --region in 2>&1); then sk_fail "a viewer paused in: $out"; fi
sk_assert_contains "$out" "may not pause: that needs role operator" "the viewer's scoped pause"
if out=$(unsigned rollout resume "$id" --region af 2>&1); then sk_fail "an unsigned resume was taken: $out"; fi
sk_assert_contains "$out" "not a signed operator request" "the unsigned scoped resume"
if out=$(as_op rollout pause "$id" --region mars 2>&1); then sk_fail "a pause of mars was taken: $out"; fi
sk_assert_contains "$out" "the rollout has no region mars" "an unknown region"
if out=$(as_op rollout pause "$id" --region af 2>&1); then sk_fail "a second pause of af was taken: $out"; fi
sk_assert_contains "$out" "it is already paused there" "a second pause of af"
if out=$(as_op rollout pause "$id" --region in --region in 2>&1); then sk_fail "a pause naming in twice was taken: $out"; fi
sk_assert_contains "$out" "region in named twice" "a region named twice"
if out=$(as_op rollout resume "$id" --region in 2>&1); then sk_fail "a resume of in was taken: $out"; fi
sk_assert_contains "$out" "it is not paused there" "a resume of a region not paused"
sk_assert_eq "$before" "$(ledgers)$(pauses)" "refusals changed nothing"

# 3. The pauses survive a coordinator restart.
sk_stop coordinator || sk_fail "the coordinator did not stop"
sk_start_coordinator || sk_fail "the coordinator did not start again"
sk_assert_eq "$before" "$(ledgers)$(pauses)" "the pauses after a restart"

# 4. af resumed: the first phase completes; ksa, paused, is not started.
as_op rollout resume "$id" --region af >/dev/null || sk_fail "otto could not resume af"
sk_wait_until 15 ledger_is af 0001_slow,0002_next || sk_fail "af did not go on after its resume"
sleep 2
sk_assert_eq "" "$(ledger ksa)" "ksa: paused, not started with its phase"
sk_assert_contains "$(sk_skein rollout status "$id")" "paused in ksa: by otto" "status: ksa still paused"
as_op rollout resume "$id" --region ksa >/dev/null || sk_fail "otto could not resume ksa"
out=$(sk_skein rollout wait "$id" --timeout 30s) || sk_fail "the rollout did not succeed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
md=$(sk_skein rollout report "$id")
sk_assert_contains "$md" "| pause | af | otto |" "the report: af's pause"
sk_assert_contains "$md" "| resume | ksa | otto |" "the report: ksa's resume"
echo "PASS rollout_scoped_pause"

#!/usr/bin/env bash
# An operator pauses a running rollout (issue 9 item 3): a two-phase plan
# whose first step sleeps 3 s, paused while the canary runs that step.
# The step finishes, the second step does not start while paused (the
# ledger and the table say so), the next phase does not start, status
# shows who paused it and why (text and JSON), and the pause survives a
# coordinator restart; a viewer's and an unsigned pause or resume are
# refused and change nothing, as are a second pause, a tune of a plan
# with no backfill and a tune whose batch_min is above its batch_max;
# resume lets the rollout finish; pausing, resuming or tuning an unknown
# or finished rollout fails clearly. Prints how long a pause and a resume
# took to reach the canary's agent.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup rollout_pause
skein=$SKEIN_BIN/skein
sk_keys
for k in viewer op; do "$skein" keygen --out "$SK_WORK/keys/$k" >/dev/null; done
SK_COORDINATOR_EXTRA="  - {name: vera, key: ../keys/viewer.pub, role: viewer}
  - {name: otto, key: ../keys/op.pub, role: operator}"
sk_deploy_three

plan="$SK_WORK/plans/pause-src"
sk_write_plan "$plan" pause 1h "$SK_TWO_PHASES" \
	"0001_slow=CREATE TABLE pause_one (id int); SELECT pg_sleep(3);" \
	"0002_next=CREATE TABLE pause_two (id int);"
signed=$(sk_sign_plan "$plan" pause)

as_op() { SKEIN_KEY=$SK_WORK/keys/op.key sk_skein "$@"; }
as_viewer() { SKEIN_KEY=$SK_WORK/keys/viewer.key sk_skein "$@"; }
# unsigned ARGS...: the CLI with no operator key anywhere.
unsigned() {
	env -u SKEIN_KEY HOME=/nonexistent XDG_CONFIG_HOME=/nonexistent \
		"$skein" "$@" --coordinator "$SK_CONTROL_URL"
}
ms() { date +%s%3N; }
# ledger REGION: the plan's steps in REGION's ledger ("" before it has one).
ledger() {
	[[ "$(sk_rpsql "$1" "select to_regclass('skein.steps') is not null")" == t ]] || return 0
	sk_rpsql "$1" "select coalesce(string_agg(step_id, ',' order by step_id), '') from skein.steps where plan_name = 'pause'"
}
has_table() { sk_rpsql "$1" "select count(*) from pg_class where relname = '$2' and relkind = 'r'"; }
# everything: the state a refused request must leave as it was.
everything() {
	local r
	for r in af in ksa; do echo "$r=$(ledger "$r")"; done
	sk_skein rollout status "$id" --json | grep -E '"(operator|reason|state)"|pause|tune' | grep -v '"state": "' || true
}
sleeping() { [[ "$(sk_rpsql af "select count(*) from pg_stat_activity where query like '%pg_sleep(3)%' and state = 'active' and pid <> pg_backend_pid()")" -ge 1 ]]; }

id=$(sk_skein rollout start "$signed")
sk_wait_until 30 sleeping || sk_fail "the canary's first step never started"

# 1. otto (operator) pauses while af sleeps in 0001_slow.
t0=$(ms)
out=$(as_op rollout pause "$id" --reason "replica lag in the canary" 2>&1) || sk_fail "otto could not pause: $out"
sk_assert_contains "$out" "rollout $id paused" "pause answers"
reached() { grep -q "rollout $id paused by otto" "$SK_WORK/logs/agent-af.log"; }
while ! reached; do
	(($(ms) - t0 < 10000)) || sk_fail "the pause never reached af's agent"
	sleep 0.01
done
echo "pause reached agent af $(($(ms) - t0)) ms after skein rollout pause was run"

# The running step finishes; the next one waits.
waited=0
while [[ "$(ledger af)" != 0001_slow ]]; do
	((waited < 150)) || sk_fail "0001_slow did not finish while paused: ledger $(ledger af)"
	sleep 0.1
	waited=$((waited + 1))
done
sleep 3
sk_assert_eq 0001_slow "$(ledger af)" "af: the next step does not start while paused"
sk_assert_eq 0 "$(has_table af pause_two)" "af: pause_two not created while paused"
for r in in ksa; do
	sk_assert_eq "" "$(ledger "$r")" "$r: the next phase does not start while paused"
done
grep -q "paused by the operator before step 0002_next" "$SK_WORK/logs/agent-af.log" ||
	sk_fail "af's agent does not say it holds before 0002_next"

status=$(sk_skein rollout status "$id")
sk_assert_contains "$status" "paused: by otto (key " "status names who paused"
sk_assert_contains "$status" ": replica lag in the canary" "status says why"
sk_assert_contains "$status" "paused by the operator before step 0002_next" "status shows the database held"
json=$(sk_skein rollout status "$id" --json)
sk_assert_contains "$json" '"operator": "otto"' "status --json names who paused"
sk_assert_contains "$json" '"reason": "replica lag in the canary"' "status --json says why"
sk_assert_contains "$json" '"state": "running"' "a paused rollout is still running"
events=$(sk_skein rollout wait "$id" --timeout 5s 2>&1 || true)
sk_assert_contains "$events" "rollout paused by otto (replica lag in the canary)" "the pause is an event"

# 2. Refusals change nothing.
before=$(everything)
if out=$(as_viewer rollout resume "$id" 2>&1); then sk_fail "a viewer resumed: $out"; fi
sk_assert_contains "$out" "operator vera (viewer) may not resume: that needs role operator" "the viewer's resume"
if out=$(as_viewer rollout pause "$id" 2>&1); then sk_fail "a viewer paused: $out"; fi
sk_assert_contains "$out" "may not pause: that needs role operator" "the viewer's pause"
if out=$(unsigned rollout resume "$id" 2>&1); then sk_fail "an unsigned resume was taken: $out"; fi
sk_assert_contains "$out" "not a signed operator request" "the unsigned resume"
if out=$(unsigned rollout pause "$id" 2>&1); then sk_fail "an unsigned pause was taken: $out"; fi
sk_assert_contains "$out" "not a signed operator request" "the unsigned pause"
if out=$(as_op rollout pause "$id" --reason again 2>&1); then sk_fail "a second pause was taken: $out"; fi
sk_assert_contains "$out" "is already paused, by otto" "a second pause"
rc=0
out=$(as_op rollout tune "$id" --batch-min 5000 --batch-max 100 2>&1) || rc=$?
sk_assert_eq 2 "$rc" "a tune with batch_min above batch_max is a usage error"
sk_assert_contains "$out" "--batch-min 5000 is above --batch-max 100" "the tune's refusal"
rc=0
out=$(as_op rollout tune "$id" --batch-max 100 2>&1) || rc=$?
sk_assert_eq 1 "$rc" "a tune of a plan without a backfill is refused"
sk_assert_contains "$out" "has no backfill or expand step: nothing to tune" "the tune's refusal"
rc=0
out=$(as_op rollout tune "$id" --batch-max -1 2>&1) || rc=$?
sk_assert_eq 2 "$rc" "a negative batch is a usage error"
rc=0
out=$(as_op rollout tune "$id" --max-rows-per-second lots 2>&1) || rc=$?
sk_assert_eq 2 "$rc" "a rate that is not a number is a usage error"
sleep 1
sk_assert_eq "$before" "$(everything)" "no refused request changed anything"
sk_assert_eq 0 "$(has_table af pause_two)" "af: still no pause_two"
grep -aq "vera" "$SK_WORK/coordinator/state/journal" || sk_fail "the journal does not name vera's refused request"

# 3. The pause survives a coordinator restart.
sk_stop coordinator || sk_fail "the coordinator did not stop"
sk_start_coordinator || sk_fail "the coordinator did not start again"
status=$(sk_skein rollout status "$id")
sk_assert_contains "$status" "paused: by otto (key " "the pause after a restart"
sleep 2
sk_assert_eq 0001_slow "$(ledger af)" "af: still paused after the coordinator restarted"
sk_assert_eq "" "$(ledger in)" "in: the next phase still waits after the restart"

# 4. otto resumes; the rollout ends well, canary first.
t0=$(ms)
out=$(as_op rollout resume "$id" 2>&1) || sk_fail "otto could not resume: $out"
sk_assert_contains "$out" "rollout $id resumed" "resume answers"
resumed() { grep -q "rollout $id resumed" "$SK_WORK/logs/agent-af.log"; }
while ! resumed; do
	(($(ms) - t0 < 10000)) || sk_fail "the resume never reached af's agent"
	sleep 0.01
done
echo "resume reached agent af $(($(ms) - t0)) ms after skein rollout resume was run"
out=$(sk_skein rollout wait "$id") || sk_fail "the resumed rollout did not succeed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
sk_assert_canary_first "$out"
for r in af in ksa; do
	sk_assert_eq "0001_slow,0002_next" "$(ledger "$r")" "$r: every step once"
done
json=$(sk_skein rollout status "$id" --json)
sk_assert_contains "$json" '"paused": null' "a finished rollout is not paused"

# 5. Unknown and finished rollouts.
for verb in pause resume; do
	if out=$(as_op rollout "$verb" "$id" 2>&1); then sk_fail "$verb of a finished rollout was taken: $out"; fi
	sk_assert_contains "$out" "it has finished (succeeded); there is nothing to $verb" "$verb of a finished rollout"
	if out=$(as_op rollout "$verb" r-nosuchrollout 2>&1); then sk_fail "$verb of an unknown rollout was taken: $out"; fi
	sk_assert_contains "$out" "$verb rollout r-nosuchrollout: no such rollout" "$verb of an unknown rollout"
done
if out=$(as_op rollout tune "$id" --batch-max 100 2>&1); then sk_fail "a tune of a finished rollout was taken: $out"; fi
sk_assert_contains "$out" "it has finished (succeeded); there is nothing to tune" "tune of a finished rollout"
grep -aq "otto" "$SK_WORK/coordinator/state/journal" || sk_fail "the journal does not name otto"
echo "PASS rollout_pause"

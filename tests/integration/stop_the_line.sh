#!/usr/bin/env bash
# Stop the line (issue 10 item 3): `skein stop --all` pauses every
# running rollout at its next safe point except those named (--except);
# a rollout started while it is stopped starts paused ("stopped by otto:
# <reason>"); `skein stop` shows who stopped it, since when and why; a
# coordinator killed with -9 while stopped comes back stopped, the same
# rollouts paused; `skein stop --lift` resumes exactly the rollouts the
# stop paused, not the one otto paused himself. A viewer's and an
# unsigned stop, a second stop, a lift of a running line and an unknown
# --except are refused and change nothing; a viewer may look.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup stop_the_line
skein=$SKEIN_BIN/skein
sk_keys
for k in viewer op; do "$skein" keygen --out "$SK_WORK/keys/$k" >/dev/null; done
SK_COORDINATOR_EXTRA="  - {name: vera, key: ../keys/viewer.pub, role: viewer}
  - {name: otto, key: ../keys/op.pub, role: operator}"
sk_deploy_three

# plan NAME FIRST_SQL [PHASES]: a two-step plan (two phases by default).
plan() {
	sk_write_plan "$SK_WORK/plans/$1-src" "$1" 1h "${3:-$SK_TWO_PHASES}" \
		"0001_first=CREATE TABLE $1_one (id int); $2" \
		"0002_second=CREATE TABLE $1_two (id int);"
	sk_sign_plan "$SK_WORK/plans/$1-src" "$1"
}
sa=$(plan sa "SELECT pg_sleep(4);") # time for the stop to reach af on a loaded machine
sb=$(plan sb "")
# C runs in ksa only: its own pause holds ksa's database (an agent keeps
# its session and skein's lock while paused), not the canary's.
sc=$(plan sc "SELECT pg_sleep(4);" '  - name: only
    regions: [ksa]')
sd=$(plan sd "")

as_op() { SKEIN_KEY=$SK_WORK/keys/op.key sk_skein "$@"; }
as_viewer() { SKEIN_KEY=$SK_WORK/keys/viewer.key sk_skein "$@"; }
unsigned() {
	env -u SKEIN_KEY HOME=/nonexistent XDG_CONFIG_HOME=/nonexistent \
		"$skein" "$@" --coordinator "$SK_CONTROL_URL"
}
ledger() {
	[[ "$(sk_rpsql "$1" "select to_regclass('skein.steps') is not null")" == t ]] || return 0
	sk_rpsql "$1" "select coalesce(string_agg(step_id, ',' order by step_id), '') from skein.steps where plan_name = '$2'"
}
ledger_is() { [[ "$(ledger "$1" "$2")" == "$3" ]]; }
ledgers() { local r p; for p in sa sb sc sd; do for r in af in ksa; do echo "$p/$r=$(ledger "$r" "$p")"; done; done; }
sleeping() { [[ "$(sk_rpsql af "select count(*) from pg_stat_activity where query like '%pg_sleep(4)%' and state = 'active' and pid <> pg_backend_pid()")" -ge 1 ]]; }
paused_json() { sk_skein rollout status "$1" --json | tr -d '\n ' | grep -o '"paused":{"operator":"[a-z]*"' | sed 's/.*:"//;s/"$//'; }

# otto pauses C himself before it runs; A sleeps in its first step.
c=$(sk_skein rollout start "$sc")
# (C's first step sleeps 4 s: otto's pause lands before C has finished,
# however loaded the machine.)
out=$(as_op rollout pause "$c" --reason "mine" 2>&1) || sk_fail "otto could not pause C: $out"
a=$(sk_skein rollout start "$sa")
sk_wait_until 30 sleeping || sk_fail "A's first step never started"
b=$(sk_skein rollout start "$sb")

# 1. Refusals change nothing.
before=$(as_op stop)
sk_assert_contains "$before" "the line runs (not stopped)" "skein stop shows a running line"
sk_assert_contains "$(as_viewer stop --status)" "the line runs (not stopped)" "a viewer may look at the line"
if out=$(as_viewer stop --all 2>&1); then sk_fail "a viewer stopped the line: $out"; fi
sk_assert_contains "$out" "operator vera (viewer) may not stop: that needs role operator" "the viewer's stop"
if out=$(unsigned stop --all 2>&1); then sk_fail "an unsigned stop was taken: $out"; fi
sk_assert_contains "$out" "not a signed operator request" "the unsigned stop"
if out=$(as_op stop --lift 2>&1); then sk_fail "a lift of a running line was taken: $out"; fi
sk_assert_contains "$out" "the line is not stopped" "a lift of a running line"
if out=$(as_op stop --all --except r-nosuchrollout 2>&1); then sk_fail "a stop with an unknown --except was taken: $out"; fi
sk_assert_contains "$out" "--except r-nosuchrollout: no such rollout" "an unknown --except"
rc=0
out=$(as_op stop --lift --reason x 2>&1) || rc=$?
sk_assert_eq 2 "$rc" "--reason with --lift is a usage error"
sk_assert_eq "$before" "$(as_op stop)" "refusals left the line running"
sk_assert_eq "" "$(paused_json "$a")" "refusals left A running"

# 2. otto stops the line, except B, while A sleeps.
out=$(as_op stop --all --reason "incident 7" --except "$b" 2>&1) || sk_fail "otto could not stop the line: $out"
sk_assert_contains "$out" "the line is stopped by otto since " "the stop answers"
sk_assert_contains "$out" ": incident 7" "the stop says why"
sk_assert_contains "$out" "except $b" "the stop names the exception"
sk_assert_contains "$out" "holds $a paused" "the stop holds A"
sk_wait_until 20 grep -q "rollout $a paused by otto" "$SK_WORK/logs/agent-af.log" || sk_fail "the stop never reached af"
sk_wait_until 15 ledger_is af sa 0001_first || sk_fail "A's running step did not finish"
sk_assert_eq otto "$(paused_json "$a")" "A is paused by the stop"
sk_assert_eq "" "$(paused_json "$b")" "B (excepted) is not paused"
sk_assert_eq otto "$(paused_json "$c")" "C is still otto's own pause"
status=$(sk_skein rollout status "$a")
sk_assert_contains "$status" "stopped by otto: incident 7" "status: stopped by otto"
sk_assert_contains "$status" "control: stop by otto (key " "status: the stop in the control lines"
if out=$(as_op stop --all 2>&1); then sk_fail "a second stop was taken: $out"; fi
sk_assert_contains "$out" "it is already stopped, by otto: incident 7" "a second stop"

# A rollout started while the line is stopped starts paused.
d=$(sk_skein rollout start "$sd")
status=$(sk_skein rollout status "$d")
sk_assert_contains "$status" "stopped by otto: incident 7" "D starts stopped"
list=$(sk_skein rollout list)
sk_assert_contains "$list" "the line is stopped by otto: incident 7" "list: the line"
sk_assert_contains "$(grep "^$d " <<<"$list")" "stopped line: by otto: incident 7" "list: D waits for the line"
sk_assert_contains "$(grep "^$c " <<<"$list")" "pause by otto: mine" "list: C waits for otto's pause"
sk_assert_contains "$(sk_skein rollout list --json)" '"line_stopped": true' "list --json: the line"
sleep 2
sk_assert_eq 0001_first "$(ledger af sa)" "A holds after its running step"
for r in af in ksa; do sk_assert_eq "" "$(ledger "$r" sd)" "$r: D does not run"; done

# 3. kill -9 the coordinator while stopped: it comes back stopped.
held=$(ledgers)
sk_kill9 coordinator
sk_start_coordinator || sk_fail "the coordinator did not start again"
out=$(as_op stop --status)
sk_assert_contains "$out" "the line is stopped by otto since " "stopped after the restart"
sk_assert_contains "$out" "holds $a paused" "A held after the restart"
sk_assert_contains "$out" "holds $d paused" "D held after the restart"
sk_assert_eq otto "$(paused_json "$c")" "C still otto's after the restart"
sk_assert_contains "$(as_op stop --json)" '"stopped":true' "skein stop --json"
sleep 2
sk_assert_eq "$held" "$(ledgers)" "nothing held ran while the coordinator restarted"

# 4. Lift: A and D go on; C stays paused.
out=$(as_op stop --lift 2>&1) || sk_fail "otto could not lift the stop: $out"
sk_assert_contains "$out" "the line stop is lifted" "the lift answers"
sk_assert_eq "" "$(paused_json "$a")" "A resumed by the lift"
sk_assert_eq "" "$(paused_json "$d")" "D resumed by the lift"
sk_assert_eq otto "$(paused_json "$c")" "C, paused by otto, is not resumed by the lift"
# (paused at once: before it was sent, or during its first step)
[[ "$(ledger ksa sc)" != *0002_second* ]] || sk_fail "C ran its second step while otto had it paused"
as_op rollout resume "$c" >/dev/null
for id in "$a" "$d" "$b"; do
	out=$(sk_skein rollout wait "$id" --timeout 40s) || sk_fail "$id did not finish after the lift: $out"
	sk_assert_contains "$(tail -n 1 <<<"$out")" "succeeded in 3/3 regions" "$id finished"
done
sk_skein rollout wait "$c" --timeout 30s >/dev/null || sk_fail "C did not finish"
md=$(sk_skein rollout report "$a")
sk_assert_contains "$md" "| stop | all | otto |" "the report: the stop"
sk_assert_contains "$md" "| lift | all | otto |" "the report: the lift"
grep -aq "incident 7" "$SK_WORK/coordinator/state/journal" || sk_fail "the journal does not have the stop"
echo "PASS stop_the_line"

#!/usr/bin/env bash
# An agent whose connection close never returns (nng 1.5's reaper wedged
# on a TLS pipe: seen in CI, 2026-12-03, fault_flag_db_down). The
# failpoint session-close-hang makes the first close of the session's
# socket hang, and every later one with it, as a wedged reaper does.
#
# 1. The coordinator restarts: each agent's redial leaves the stuck close
#    behind within 5 s, says so, and dials on a new socket; a rollout
#    then completes in every region.
#    A SIGTERM then stops the agent within the close's bound (without
#    it the agent ignored SIGTERM for good).
# 2. The coordinator stays away: the agents' closes pile up; at the third
#    the agent gives up and exits 1 on its own, saying why, so that a
#    supervisor starts it afresh.
# 3. Started afresh, the agents complete a second rollout; nothing the
#    first one did is lost or done twice.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_agent_close_hang
SKEIN_FAILPOINT=session-close-hang:1 sk_deploy_three

for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE effects (step text NOT NULL)" >/dev/null
done
rollout() { # NAME: a plan of two steps, each leaving one row
	sk_write_plan "$SK_WORK/plans/$1-src" "$1" 1h "$SK_TWO_PHASES" \
		"0001_$1=INSERT INTO effects VALUES ('$1 one');" \
		"0002_$1=INSERT INTO effects VALUES ('$1 two');"
	local signed id out
	signed=$(sk_sign_plan "$SK_WORK/plans/$1-src" "$1")
	id=$(sk_skein rollout start "$signed")
	out=$(sk_skein rollout wait "$id" --timeout 60s) || sk_fail "rollout $1 did not complete: $out"
	sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "rollout $1"
}
logged() { grep -q -- "$2" "$SK_WORK/logs/agent-$1.log"; }

# 1. A close that hangs is left behind; the agent talks on a new socket.
sk_stop coordinator || sk_fail "the coordinator did not stop"
for r in af in ksa; do
	sk_wait_until 40 logged "$r" "leaving it behind and dialing on a new socket (1 of 3" ||
		sk_fail "$r never left its stuck close behind: $(tail -n 5 "$SK_WORK/logs/agent-$r.log")"
	logged "$r" "failpoint session-close-hang" || sk_fail "$r: the failpoint did not fire"
done
sk_start_coordinator || sk_fail "the coordinator did not start again"
rollout first
for r in af in ksa; do
	sk_running "$r" || sk_fail "$r: the agent exited after one stuck close"
done

# A SIGTERM while wedged: the stop's close is bounded too (5 s), and the
# agent exits 0. (Without the bound it ignored SIGTERM for good.)
t0=$SECONDS
sk_stop af || sk_fail "af did not stop within 30 s of SIGTERM"
sk_assert_eq 0 "$SK_LAST_STATUS" "af: exit status of a stop"
((SECONDS - t0 <= 10)) || sk_fail "af took $((SECONDS - t0)) s to stop"
logged af "stopping: closing the connection to the coordinator did not end within 5000 ms" ||
	sk_fail "af: its stop did not say it left the close behind"
SKEIN_FAILPOINT=session-close-hang:1 sk_start_agent af || sk_fail "af did not start again"

# 2. The coordinator stays away: every close now waits on the wedged
# reaper. At the third the agent exits 1 on its own, within its bounds.
sk_stop coordinator || sk_fail "the coordinator did not stop"
t0=$SECONDS
for r in af in ksa; do
	sk_wait_until 90 bash -c "! kill -0 $(sk_pid "$r") 2>/dev/null" ||
		sk_fail "$r did not give up on its stuck closes: $(tail -n 5 "$SK_WORK/logs/agent-$r.log")"
done
elapsed=$((SECONDS - t0))
((elapsed <= 60)) || sk_fail "the agents took ${elapsed}s to give up (bound: 3 x (5 s send + 5 s close))"
for r in af in ksa; do
	logged "$r" "3 closes of the connection to the coordinator never ended" ||
		sk_fail "$r: no word of why it exits: $(tail -n 5 "$SK_WORK/logs/agent-$r.log")"
	sk_stop "$r" >/dev/null 2>&1 || true # reap it; it had exited
	sk_assert_eq 1 "$SK_LAST_STATUS" "$r: exit status"
done

# 3. Started afresh (as systemd's Restart=always would), all is well.
sk_start_coordinator || sk_fail "the coordinator did not start again"
sk_start_agent af in ksa || sk_fail "the agents did not start again"
rollout second
for r in af in ksa; do
	sk_assert_eq "first one|1
first two|1
second one|1
second two|1" "$(sk_rpsql "$r" "SELECT step, count(*) FROM effects GROUP BY step ORDER BY step")" "$r: every step once"
done
echo "PASS fault_agent_close_hang"

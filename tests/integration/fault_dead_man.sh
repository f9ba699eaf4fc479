#!/usr/bin/env bash
# The dead-man pause of every step (issue 10 item 4): an agent with
# dead_man: 2s runs a plan of twenty steps that sleep 0.3 s each. When the
# coordinator goes silent — stopped with SIGSTOP, then the connection cut
# (a network partition, tests/lib/netns.sh; without namespaces the
# second silence is a SIGSTOP too) — the agent finishes the step it is in
# and starts no other (the ledger stays put while silent), says so in
# its log, and goes on once it hears the coordinator again (the ledger
# moves); it reports each hold (REPORT_EVENT_DEAD_MAN: since when, for
# how long), and the coordinator shows each as an event. The rollout
# succeeds with every step once.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/netns.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_dead_man
netns=1
sk_netns_available || netns=0
sk_cluster pg
sk_db pg af_app
sk_keys
sk_region af af
export SK_AGENT_EXTRA="dead_man: 2s"
if ((netns)); then
	sk_netns_region af
	sk_netns_region other # keeps the bridge up (fault_partition_redial.sh)
	sk_netns_coordinator_config
	sk_netns_agent_config af app=pg:af_app
	sk_start_coordinator
	sk_netns_start_agent af
else
	echo "the second silence is SIGSTOP too${SK_NETNS_WHY:+ (network namespaces unavailable: $SK_NETNS_WHY)}"
	sk_agent_config af app=pg:af_app
	sk_start_coordinator
	sk_start_agent af
fi
log=$SK_WORK/logs/agent-af.log
steps=()
for i in $(seq -w 1 20); do
	steps+=("00${i}_s=CREATE TABLE dm_$i (id int); SELECT pg_sleep(0.3);")
done
plan="$SK_WORK/plans/dm-src"
sk_write_plan "$plan" dm 1h '  - name: only
    regions: [af]' "${steps[@]}"
signed=$(sk_sign_plan "$plan" dm)
done_steps() {
	[[ "$(sk_psql pg af_app "select to_regclass('skein.steps') is not null")" == t ]] || {
		echo 0
		return 0
	}
	sk_psql pg af_app "select count(*) from skein.steps where plan_name = 'dm'"
}
at_least() { (($(done_steps) >= $1)); }
logged_since() { tail -n "+$(($1 + 1))" "$log" | grep -q "$2"; }

# silence HOW: make the coordinator silent (stop or cut) for a while;
# assert the agent holds, then that it goes on once heard again.
silence() {
	local how=$1 n c1 c2
	n=$(wc -l <"$log")
	if [[ $how == cut ]]; then sk_netns_cut af; else kill -STOP "$(sk_pid coordinator)"; fi
	sk_wait_until 15 logged_since "$n" "coordinator has been silent" ||
		sk_fail "$how: the agent did not hold for the silent coordinator"
	sleep 0.6 # a step that started just before is done by now
	c1=$(done_steps)
	sleep 2.5
	c2=$(done_steps)
	sk_assert_eq "$c1" "$c2" "$how: no step started while the coordinator was silent"
	((c1 < 20)) || sk_fail "$how: every step ran: the hold came too late"
	if [[ $how == cut ]]; then sk_netns_heal af; else kill -CONT "$(sk_pid coordinator)"; fi
	sk_wait_until 15 at_least $((c1 + 1)) || sk_fail "$how: no step ran once the coordinator was heard again"
	sk_wait_until 10 logged_since "$n" "heard the coordinator again after a dead-man pause" ||
		sk_fail "$how: the agent does not say it went on"
	echo "$how: held at $c1/20 steps while silent, went on after"
}

id=$(sk_skein rollout start "$signed")
sk_wait_until 20 at_least 1 || sk_fail "the first step never ran"
silence stop
if ((netns)); then silence cut; else silence stop; fi
out=$(sk_skein rollout wait "$id" --timeout 60s) || sk_fail "the rollout did not succeed: $out"
sk_assert_eq "rollout $id: succeeded in 1/1 regions" "$(tail -n 1 <<<"$out")" "final line"
sk_assert_eq 20 "$(done_steps)" "every step once"
holds=$(grep -c "dead-man pause: heard nothing from the coordinator, so held from 20[0-9-]*T[0-9:]*Z for [0-9.]* *s, before step 00[0-9]*_s" <<<"$out" || true)
sk_assert_eq 2 "$holds" "the coordinator shows each hold as an event: since when, how long, before which step"
echo "PASS fault_dead_man"

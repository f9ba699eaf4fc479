#!/usr/bin/env bash
# After the coordinator has been unreachable for longer than the agent's
# reply timeout, the agent talks to it again within a few seconds of it
# being reachable: it drops the connection that went unanswered and dials
# a new one, rather than wait for TCP to retransmit what the coordinator
# sent into the partition on a schedule that doubled meanwhile (up to two
# minutes; tests/chaos/README.md, "Finding"). What a backfill's dead-man
# pause waits for.
#
#   1. The coordinator stopped (SIGSTOP) for 8 s, then continued.
#   2. The agent's network cut (its namespace's link down, packets
#      dropped both ways, tests/lib/netns.sh) for REDIAL_PARTITION_S
#      (30 s) while a rollout for its region is started, then healed:
#      the rollout succeeds soon after. Needs root and network
#      namespaces; skipped without them.
#
# Each prints the time from the coordinator being reachable again to the
# agent's next answered request, and fails past REDIAL_LIMIT_S (8 s).
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/netns.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

limit_ms=$((${REDIAL_LIMIT_S:-8} * 1000))
sk_setup fault_partition_redial
netns=1
sk_netns_available || netns=0
sk_cluster pg
sk_db pg af_app
sk_keys
sk_region af af
if ((netns)); then
	sk_netns_region af
	# A second port keeps the bridge up, as in any deployment of several
	# regions: cut off, af's packets are then dropped on the bridge, not
	# refused by a bridge without carrier (which TCP retries at once,
	# without backing off, and so recovers at once anyway).
	sk_netns_region other
	sk_netns_coordinator_config
	sk_netns_agent_config af app=pg:af_app
	sk_start_coordinator
	sk_netns_start_agent af
else
	echo "network namespaces unavailable ($SK_NETNS_WHY): the partition part is skipped"
	sk_agent_config af app=pg:af_app
	sk_start_coordinator
	sk_start_agent af
fi
log=$SK_WORK/logs/agent-af.log
ms() { date +%s%3N; }
# connected_since N: true once the agent logged "connected to
# coordinator" after line N of its log.
connected_since() { tail -n "+$(($1 + 1))" "$log" | grep "connected to coordinator" >/dev/null; }
lines() { wc -l <"$log"; }
# wait_answered N T0 WHAT: wait for the agent's next answered request
# after line N; print and check the time since T0.
wait_answered() {
	local n=$1 t0=$2 what=$3 took
	while ! connected_since "$n"; do
		(($(ms) - t0 < 120000)) || sk_fail "$what: the agent never talked to the coordinator again"
		sleep 0.05
	done
	took=$(($(ms) - t0))
	echo "$what: the agent's next answered request came $took ms after"
	((took <= limit_ms)) || sk_fail "$what: $took ms, more than $limit_ms ms"
}
sk_wait_until 30 grep -q "connected to coordinator" "$log" || sk_fail "the agent never connected"

# 1. SIGSTOP the coordinator past the reply timeout (poll_ms + 5 s).
n=$(lines)
kill -STOP "$(sk_pid coordinator)"
sleep 8
kill -CONT "$(sk_pid coordinator)"
t0=$(ms)
tail -n "+$((n + 1))" "$log" | grep "no answer from coordinator" >/dev/null ||
	sk_fail "the agent did not notice the stopped coordinator"
wait_answered "$n" "$t0" "coordinator stopped 8 s"

if ((!netns)); then
	echo "PASS fault_partition_redial (without the partition)"
	exit 0
fi

# 2. A partition, a rollout started during it.
cut=${REDIAL_PARTITION_S:-30}
plan="$SK_WORK/plans/redial-src"
sk_write_plan "$plan" redial 1h "  - name: only
    regions: [af]" "0001_t=CREATE TABLE redial_t (id int);"
signed=$(sk_sign_plan "$plan" redial)
sleep 1
n=$(lines)
sk_netns_cut af
id=$(sk_skein rollout start "$signed")
sleep "$cut"
sk_netns_heal af
t0=$(ms)
tail -n "+$((n + 1))" "$log" | grep "no answer from coordinator" >/dev/null ||
	sk_fail "the agent did not notice the partition"
wait_answered "$n" "$t0" "partition $cut s"
sk_skein rollout wait "$id" --quiet --timeout 60s >/dev/null || sk_fail "the rollout did not succeed after the heal"
echo "partition $cut s: the rollout succeeded $(($(ms) - t0)) ms after the heal"
sk_assert_eq 1 "$(sk_psql pg af_app "select count(*) from pg_class where relname = 'redial_t'")" "the step ran"
echo "PASS fault_partition_redial"

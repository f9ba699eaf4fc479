#!/usr/bin/env bash
# A backfill's dead-man pause, end to end (issue 9): cut off from the
# coordinator for longer than its dead_man (3 s here), a running backfill
# stops at its next batch and says why; once the coordinator is reachable
# again it goes on within a few seconds — the agent drops the connection
# that went unanswered and dials a new one rather than wait for TCP's
# retransmissions (tests/integration/fault_partition_redial.sh) — and
# finishes with every row updated exactly once.
#
# The cut is a network partition of the agent's namespace for 20 s
# (tests/lib/netns.sh; root), or else the coordinator stopped with
# SIGSTOP for as long (DEAD_MAN_CUT=sigstop forces this). Prints the time
# from the heal until the backfill runs again; fails past
# DEAD_MAN_LIMIT_S (8 s).
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/netns.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

limit_ms=$((${DEAD_MAN_LIMIT_S:-8} * 1000))
sk_setup fault_backfill_dead_man
netns=1
sk_netns_available || netns=0
[[ "${DEAD_MAN_CUT:-}" != sigstop ]] || netns=0
sk_cluster pg
sk_db pg af_app
sk_keys
sk_region af af
if ((netns)); then
	sk_netns_region af
	sk_netns_region other # keeps the bridge up (fault_partition_redial.sh)
	sk_netns_coordinator_config
	sk_netns_agent_config af app=pg:af_app
	sk_start_coordinator
	sk_netns_start_agent af
else
	echo "the cut is SIGSTOP of the coordinator${SK_NETNS_WHY:+ (network namespaces unavailable: $SK_NETNS_WHY)}"
	sk_agent_config af app=pg:af_app
	sk_start_coordinator
	sk_start_agent af
fi
log=$SK_WORK/logs/agent-af.log
ms() { date +%s%3N; }
done_rows() { sk_psql pg af_app "SELECT count(*) FROM t WHERE n <> 0"; }
# logged_since N TEXT: the agent logged TEXT after line N of its log.
logged_since() { tail -n "+$(($1 + 1))" "$log" | grep "$2" >/dev/null; }

rows=30000
sk_psql pg af_app "CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
  INSERT INTO t (id) SELECT g FROM generate_series(1, $rows) g; ANALYZE t" >/dev/null
plan="$SK_WORK/plans/dm"
mkdir -p "$plan"
cat >"$plan/plan.yaml" <<'YAML'
name: dm
expires: 1h
phases:
  - name: only
    regions: [af]
steps:
  - id: fill
    kind: backfill
    table: t
    update: SET n = n + 1
    batch: { min: 100, max: 200, target: 50ms }
    max_rows_per_second: 1000
    dead_man: 3s
YAML
signed=$(sk_sign_plan "$plan" dm)
id=$(sk_skein rollout start "$signed")
for ((i = 0; i < 300; i++)); do
	(($(done_rows) > 1000)) && break
	sleep 0.1
done
(($(done_rows) > 1000)) || sk_fail "the backfill never got going"

# Cut off: the backfill stops once the coordinator has been silent for
# longer than dead_man.
n=$(wc -l <"$log")
if ((netns)); then sk_netns_cut af; else kill -STOP "$(sk_pid coordinator)"; fi
t0=$(ms)
while ! logged_since "$n" "backfill fill: coordinator silent"; do
	(($(ms) - t0 < 15000)) || sk_fail "the backfill did not pause for the silent coordinator"
	sleep 0.05
done
echo "cut off: the backfill paused $(($(ms) - t0)) ms later (dead_man 3 s)"
sleep 1
held=$(done_rows)
sleep 3
sk_assert_eq "$held" "$(done_rows)" "no batch committed while the coordinator was silent"
sleep $((20 - ($(ms) - t0) / 1000))

# Reachable again: it runs again within a few seconds.
n=$(wc -l <"$log")
if ((netns)); then sk_netns_heal af; else kill -CONT "$(sk_pid coordinator)"; fi
t0=$(ms)
while ! logged_since "$n" "backfill fill: running"; do
	(($(ms) - t0 < 120000)) || sk_fail "the backfill never ran again"
	sleep 0.05
done
took=$(($(ms) - t0))
echo "reachable again: the backfill ran again $took ms later"
((took <= limit_ms)) || sk_fail "the backfill ran again $took ms after the coordinator was reachable, more than $limit_ms ms"
out=$(sk_skein rollout tune "$id" --max-rows-per-second none) || sk_fail "tune failed: $out"
out=$(sk_skein rollout wait "$id" --timeout 120s) || sk_fail "the backfill did not finish: $out"
sk_assert_eq "$rows|1" "$(sk_psql pg af_app "SELECT count(*), max(n) FROM t WHERE n = 1")" "every row exactly once"
echo "PASS fault_backfill_dead_man"

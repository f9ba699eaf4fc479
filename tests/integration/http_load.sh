#!/usr/bin/env bash
# 1,000 clients streaming a rollout's events (docs/http.md) do not slow
# rollouts: the second phase of a small rollout (25 steps in two
# regions, from its approval to its end) is timed alone, then that of a
# like rollout watched by 1,000 Server-Sent Events clients, connected
# before the approval and reading every change to the end (one python3
# thread holds every connection), then a third alone again; the ratio is
# to the mean of the two alone.
# Both succeed; every client connected and saw the rollout succeed; the
# ratio of the two durations is printed ("load ratio") and must stay
# under 3 (noise on 2 shared cores; measured figures are in the report).
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup http_load
client="python3 $SKEIN_SRC/tests/tools/http_client.py"
port=$(sk_free_port)
SK_COORDINATOR_EXTRA="http: {listen: 127.0.0.1:$port}"
sk_deploy_three
base="http://127.0.0.1:$port"

# plan N: a canary phase, then a phase that waits for an approval and
# runs 25 steps of its own (table tN) in two regions.
plan() {
	local dir="$SK_WORK/plans/small$1-src" k
	mkdir -p "$dir"
	{
		echo "name: small$1"
		echo "expires: 1h"
		echo "phases:"
		echo "  - {name: canary, regions: [af]}"
		echo "  - {name: rest, regions: [in, ksa], approval: {count: 1, not_by_starter: true}}"
		echo "steps:"
		echo "  - {id: 0000_t$1, sql: 0000.sql}"
		for k in $(seq 10 33); do
			echo "  - {id: 00${k}_t$1_c$k, sql: 00$k.sql}"
			echo "ALTER TABLE t$1 ADD COLUMN IF NOT EXISTS c$k int;" >"$dir/00$k.sql"
		done
	} >"$dir/plan.yaml"
	echo "CREATE TABLE IF NOT EXISTS t$1 (id int primary key);" >"$dir/0000.sql"
	sk_sign_plan "$dir" "small$1"
}

# approval_wait ID: until rollout ID waits for the approval of phase rest.
approval_wait() {
	sk_wait_until 30 bash -c "curl -sf $base/api/v1/rollouts/$1 | grep -q '\"waiting_for\": \"approval\"'"
}

# timed SIGNED [LOAD]: start, wait for the approval (with LOAD: then
# connect 1,000 streams to the rollout and wait until each has its first
# message), then time the approval to the end (ms, on stdout).
timed() {
	local signed=$1 load=${2:-} t0 t1 id out settle
	id=$(sk_skein rollout start "$signed")
	approval_wait "$id"
	settle=$(($(date +%s%N) + 2000000000))
	if [[ -n "$load" ]]; then
		$client load "$base/api/v1/rollouts/$id/events" 1000 --seconds 120 \
			--until-state succeeded --ready "$SK_WORK/load.ready" \
			>"$SK_WORK/load.out" 2>"$SK_WORK/load.err" &
		sk_wait_until 60 test -e "$SK_WORK/load.ready" ||
			sk_fail "1000 streams did not connect: $(tail -n 5 "$SK_WORK/load.err")"
	fi
	# Every run approves 2 s after the canary ended (the streams take
	# about one to connect): how long a phase takes to start depends on
	# where the agents are in their polls, which this evens out.
	while (($(date +%s%N) < settle)); do sleep 0.05; done
	t0=$(date +%s%N)
	sk_approve "$id" rest >/dev/null
	out=$(sk_skein rollout wait "$id") || sk_fail "rollout $id failed: $out"
	t1=$(date +%s%N)
	sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "rollout $id"
	echo "$id" >"$SK_WORK/last.id"
	echo $(((t1 - t0) / 1000000))
}

s1=$(plan 1)
s2=$(plan 2)
s3=$(plan 3)
alone1=$(timed "$s1")
loaded=$(timed "$s2" load)
alone2=$(timed "$s3")
alone=$(((alone1 + alone2) / 2))
sk_wait_until 60 test -s "$SK_WORK/load.out" || sk_fail "the load client: $(tail -n 5 "$SK_WORK/load.err")"
# The CLI and the agents were served throughout (the rollout ended); the
# clients all connected and each saw the rollout end.
python3 - "$SK_WORK/load.out" <<'EOF' || sk_fail "the load: $(cat "$SK_WORK/load.out") $(tail -n 5 "$SK_WORK/load.err")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["connected"] == 1000 and r["failed"] == 0, r
assert r["finished"] == 1000, r
EOF
ratio=$(python3 -c "print(f'{$loaded / $alone:.2f}')")
echo "load ratio: a small rollout's phase took $alone1 and $alone2 ms alone, $loaded ms with 1000 SSE clients: $ratio"
python3 -c "import sys; sys.exit(0 if $loaded / $alone < 3 else 1)" ||
	sk_fail "1000 SSE clients slowed a rollout $ratio times ($alone ms -> $loaded ms)"
sk_skein rollout status "$(cat "$SK_WORK/last.id")" >/dev/null
echo "PASS http_load"

#!/usr/bin/env bash
# The coordinator's part of a tenant move (moves), with real daemons: a
# plan moving a tenant out of a region whose regions/NAME.yaml has no
# move_endpoint is refused at `rollout start`, naming the region and the
# step; a plan moving one from ksa (phase 2) into af (the canary) makes
# the coordinator send ksa's agent a MOVE_SERVE as soon as af's run is
# dispatched, though ksa's own phase has not started: ksa's agent (with
# move: {listen}) holds the move and says so. (What af's agent then does
# with the step is the move engine's, not tested here.)
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup move_dispatch
mport=$(sk_free_port)
for r in af in ksa; do
	sk_cluster pg
	sk_db pg "${r}_app"
done
sk_keys
for r in af in ksa; do
	sk_region "$r" "$r"
done
echo "move_endpoint: tcp://127.0.0.1:$mport" >>"$SK_WORK/regions/ksa.yaml"
sk_agent_config af "app=pg:af_app"
sk_agent_config in "app=pg:in_app"
SK_AGENT_EXTRA="move: {listen: 'tcp://127.0.0.1:$mport'}" sk_agent_config ksa "app=pg:ksa_app"
sk_coordinator_config
sk_start_coordinator
sk_start_agent af in ksa

move_plan() { # move_plan NAME FROM TO: a signed plan moving hotel h1
	local dir="$SK_WORK/plans/$1-src"
	sk_plan_yaml "$dir" "$1" <<EOF2
  - id: 0001_t
    sql: 0001_t.sql
  - id: 0002_move
    kind: move_tenant
    tenant: {column: hotel_id, value: "h1"}
    from: $2
    to: $3
    tables: [bookings]
EOF2
	echo "SELECT 1;" >"$dir/0001_t.sql"
	sk_sign_plan "$dir" "$1"
}

# 1. Out of in, which has no move_endpoint: refused, nothing started.
signed=$(move_plan from_in in af)
if out=$(sk_skein rollout start "$signed" 2>&1); then sk_fail "started: $out"; fi
sk_assert_contains "$out" "step 0002_move moves a tenant from region in, which has no move_endpoint" \
	"the refusal names the step and region"
sk_assert_contains "$out" "regions/in.yaml" "and says where to add it"

# 2. Out of ksa into af: ksa hears MOVE_SERVE once af is dispatched.
signed=$(move_plan from_ksa ksa af)
id=$(sk_skein rollout start "$signed") || sk_fail "start failed: $id"
sk_wait_until 15 grep -q "rollout $id: serving move 0002_move to region af" "$SK_WORK/logs/agent-ksa.log" ||
	sk_fail "ksa's agent was not told to serve the move"
grep -q "rollout $id: running plan" "$SK_WORK/logs/agent-ksa.log" &&
	sk_fail "ksa ran the plan before its phase"
echo "PASS move_dispatch"

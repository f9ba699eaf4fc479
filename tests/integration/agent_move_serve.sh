#!/usr/bin/env bash
# A real agent answering MOVE_SERVE (moves), driven by the rogue
# coordinator (tests/tools/rogue_coordinator --mode move-serve, holding
# the coordinator's key): without move: {listen} in agent.yaml it refuses
# with one STEP_FAILED report of the move step saying why (however often
# the command comes) and lists nothing; with it, it verifies the plan and
# lists "<rollout>/<step>" in serving_moves; a plan signed by a key it
# does not pin is refused, and the agent lives on. Nothing is written to
# the database.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup agent_move_serve
skein=$SKEIN_BIN/skein
rogue=$SKEIN_BIN/tests/rogue_coordinator

sk_cluster pg
sk_db pg af_app
sk_keys
"$skein" keygen --out "$SK_WORK/keys/other" >/dev/null
sk_region af af
sk_region in in

rport=$(sk_free_port)
mport=$(sk_free_port)
sk__coord_ports
rurl="${SK_LISTEN_URL%%://*}://127.0.0.1:$rport"
sk_tls_opts coordinator
agent_config() { # agent_config [EXTRA]: af's agent.yaml, dialing the rogue
	SK_AGENT_EXTRA="${1:-}" sk_agent_config af "app=pg:af_app"
	sed -i "s|^coordinator: .*|coordinator: \"$rurl\"|" "$SK_WORK/agents/af.yaml"
}

sk_write_plan "$SK_WORK/plans/move-src" move "1h" "  - name: canary
    regions: [af]
  - name: rest
    regions: [in]" "0001_t=SELECT 1;"
cat >>"$SK_WORK/plans/move-src/plan.yaml" <<'YAML'
  - id: 0002_move
    kind: move_tenant
    tenant: {column: hotel_id, value: "h1"}
    from: af
    to: in
    tables: [bookings]
YAML
plan=$(sk_sign_plan "$SK_WORK/plans/move-src" move)
"$skein" plan sign "$SK_WORK/plans/move.plan" --key "$SK_WORK/keys/other.key" \
	-o "$SK_WORK/plans/unpinned.signed" >/dev/null

run_rogue() { # run_rogue PLAN FINALS SECONDS: the rogue's output
	local plan=$1 n=$2 secs=$3 f="$SK_WORK/rogue.out" pid
	sk_start_agent af
	"$rogue" --listen "$rurl" "${SK_TLS_OPTS[@]}" --key "$SK_WORK/keys/coordinator.key" \
		--agent-pub "$SK_WORK/keys/agent-af.pub" --plan "$plan" --rollout r-move \
		--mode move-serve --step 0002_move --target-region in \
		--target-pub "$SK_WORK/keys/agent-in.pub" --finals "$n" \
		--seconds "$secs" >"$f" 2>&1 &
	pid=$!
	sk_wait_until "$secs" bash -c "! kill -0 $pid" 2>/dev/null || true
	sk_running agent-af || sk_fail "the agent died on MOVE_SERVE"
	sk_kill9 agent-af
	sk_wait_until 2 bash -c "! kill -0 $pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" || true
	cat "$f"
}

# 1. No move: listen: refused once, with the reason; nothing listed.
agent_config
out=$(run_rogue "$plan" 99 8)
sk_assert_eq 1 "$(grep -c '^report step-failed r-move - 0002_move ' <<<"$out")" \
	"one refusal however often it is asked: $out"
sk_assert_contains "$out" "this agent has no move: listen in agent.yaml" "the refusal says why"
(( $(grep -oE '^replies [0-9]+' <<<"$out" | cut -d' ' -f2) > 2 )) ||
	sk_fail "the rogue asked only once: $out"
[[ "$out" != *"serving "* ]] || sk_fail "a refused move is listed: $out"

# 2. With move: listen: held, and listed in serving_moves.
agent_config "move: {listen: 'tcp://127.0.0.1:$mport'}"
out=$(run_rogue "$plan" 1 10)
sk_assert_contains "$out" "serving r-move/0002_move" "the move is listed"
[[ "$out" != *"report step-failed"* ]] || sk_fail "refused with move: listen: $out"
sk_assert_contains "$(cat "$SK_WORK/logs/agent-af.log")" "serving move 0002_move to region in" \
	"the agent logged it"

# 3. A plan signed by a key the agent does not pin: refused, not listed.
out=$(run_rogue "$SK_WORK/plans/unpinned.signed" 1 10)
sk_assert_contains "$out" "report step-failed r-move - 0002_move signature" "an unpinned plan is refused"
sk_assert_contains "$out" "not a pinned key" "with the reason"
[[ "$out" != *"serving "* ]] || sk_fail "an unpinned plan's move is listed: $out"
sk_assert_eq "" "$(sk_psql pg af_app "select to_regnamespace('skein')")" "nothing written, not even the ledger"
echo "PASS agent_move_serve"

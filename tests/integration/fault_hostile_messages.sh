#!/usr/bin/env bash
# Hostile bytes on the coordinator's sockets: random bytes, empty and
# oversized messages, a flipped payload byte, a flipped signature byte, a
# message signed by an unpinned key, a PLAN-kind signature where an agent
# message belongs, a truncated envelope, and an agent key claiming another
# region. Each is refused with a clear log line; the coordinator keeps
# serving and a rollout afterwards still succeeds.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_hostile_messages
sk_deploy_three
poke=$SKEIN_BIN/tests/poke
key=$SK_WORK/keys/agent-af.key
# Over TLS with af's certificate: the bytes reach the coordinator's own
# checks (fault_tls.sh tests the peers TLS turns away).
sk_tls_opts af

for mode in random empty oversized; do
	"$poke" --url "$SK_LISTEN_URL" --mode "$mode" "${SK_TLS_OPTS[@]}" >/dev/null
	"$poke" --url "$SK_CONTROL_URL" --mode "$mode" "${SK_TLS_OPTS[@]}" >/dev/null
done
for mode in flip-payload flip-signature unpinned wrong-kind truncated; do
	"$poke" --url "$SK_LISTEN_URL" --mode "$mode" --agent-key "$key" --region af "${SK_TLS_OPTS[@]}" >/dev/null
done
"$poke" --url "$SK_LISTEN_URL" --mode valid --agent-key "$key" --region ksa "${SK_TLS_OPTS[@]}" >/dev/null

sk_running coordinator || sk_fail "the coordinator died"
log=$(cat "$SK_WORK/logs/coordinator.log")
sk_assert_contains "$log" "refuse agent message (1024 bytes): open envelope: not a valid envelope" "random bytes"
sk_assert_contains "$log" "control request unknown refused (operator unknown, key none): not a signed operator request" "garbage on the control socket"
sk_assert_contains "$log" "bad signature for key" "flipped bytes"
sk_assert_contains "$log" "is not a pinned key" "unpinned key"
sk_assert_contains "$log" "refuse agent message (16778240 bytes)" "an oversized agent message"
[[ $(grep -c 'control request unknown refused' <<<"$log") -ge 2 ]] ||
	sk_fail "garbage and an oversized control request were not both refused: $log"
sk_assert_contains "$log" "where agent was expected" "wrong kind"
sk_assert_contains "$log" "signed by the agent key of af but claims region ksa" "an agent key claiming another region"
[[ $(grep -c 'refuse agent message' <<<"$log") -ge 8 ]] || sk_fail "not every hostile agent message was refused: $log"

# Still serving: a real rollout succeeds afterwards.
signed=$(sk_sign_plan "$SKEIN_SRC/examples/quickstart" quickstart)
id=$(sk_skein rollout start "$signed")
sk_approve "$id" rest >/dev/null
out=$(sk_skein rollout wait "$id") || sk_fail "rollout after hostile input failed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
echo "PASS fault_hostile_messages"

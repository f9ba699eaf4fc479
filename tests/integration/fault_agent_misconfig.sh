#!/usr/bin/env bash
# A misconfigured agent says so in its own log (issue 13 item 4), with
# a hint, and changes nothing:
#  (a) signing with another region's key: the coordinator answers with a
#      signed refusal naming both regions, the agent logs it as an error
#      with the hint, once (not at every retry);
#  (b) signing with a key no region pins: likewise;
#  (c) pointed at a closed port: "cannot reach coordinator ...:
#      Connection refused" at once, with the hint;
#  (d) pointed at the control socket instead of the agent socket: "not a
#      signed control message" with the hint naming listen: and control:.
# Meanwhile a rollout for af stays where it was: nothing ran in any
# database (no table, not even the ledger's schema).
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_agent_misconfig
skein=$SKEIN_BIN/skein
clog="$SK_WORK/logs/coordinator.log"

SK_REGIONS=(af in ksa)
SK_REGION_CLUSTERS=(pg pg pg)
sk_cluster pg
for r in af in; do sk_db pg "${r}_app"; done
sk_keys
sk_region af af
sk_region in in
sk_agent_config af "app=pg:af_app"
sk_coordinator_config
sk_start_coordinator
"$skein" keygen --out "$SK_WORK/keys/stranger" >/dev/null

# variant NAME SED...: agents/NAME.yaml, af's config edited by SED, with a
# state of its own.
variant() {
	local name=$1
	shift
	sed -e "s|^state: .*|state: $name.state|" "$@" "$SK_WORK/agents/af.yaml" >"$SK_WORK/agents/$name.yaml"
	chmod 600 "$SK_WORK/agents/$name.yaml"
}
closed=$(sk_free_port)
variant wrongkey -e "s|^key: .*|key: ../keys/agent-in.key|"
variant stranger -e "s|^key: .*|key: ../keys/stranger.key|"
variant closedport -e "s|^coordinator: .*|coordinator: \"${SK_LISTEN_URL%:*}:$closed\"|"
variant controlsock -e "s|^coordinator: .*|coordinator: \"$SK_CONTROL_URL\"|"
sk_start_agent wrongkey stranger closedport controlsock

sk_write_plan "$SK_WORK/plans/src" misconf 1h '  - name: only
    regions: [af]' "0001_t=CREATE TABLE misconf_t (id int);"
id=$(sk_skein rollout start "$(sk_sign_plan "$SK_WORK/plans/src" misconf)")

log() { echo "$SK_WORK/logs/agent-$1.log"; }
sk_wait_until 20 grep -q "refused this agent" "$(log wrongkey)" ||
	sk_fail "the agent with in's key logged no refusal: $(tail -5 "$(log wrongkey)")"
sk_wait_until 20 grep -q "refused this agent" "$(log stranger)" ||
	sk_fail "the agent with a stranger's key logged no refusal: $(tail -5 "$(log stranger)")"
sk_wait_until 20 grep -q "cannot reach coordinator" "$(log closedport)" ||
	sk_fail "the agent at a closed port logged nothing: $(tail -5 "$(log closedport)")"
sk_wait_until 20 grep -q "not a signed control message" "$(log controlsock)" ||
	sk_fail "the agent at the control socket logged nothing: $(tail -5 "$(log controlsock)")"
# Refused again and again (the coordinator logs each), logged once.
sk_wait_until 20 test "$(grep -c "signed by the agent key of in but claims region af" "$clog")" -ge 3 ||
	sk_fail "the coordinator did not see the wrong key's agent retry"

out=$(cat "$(log wrongkey)")
sk_assert_contains "$out" "error: coordinator $SK_LISTEN_URL refused this agent: it signs with the agent key of region in but says it is region af" "wrong key: the reason"
sk_assert_contains "$out" "agent.yaml's key: must be region af's agent key" "wrong key: the hint"
sk_assert_contains "$out" "key id " "wrong key: its key id"
sk_assert_eq 1 "$(grep -c "refused this agent" "$(log wrongkey)")" "wrong key: logged once, not at every retry"

out=$(cat "$(log stranger)")
sk_assert_contains "$out" "is not the agent key of any region this coordinator knows (it says it is region af)" "stranger: the reason"
sk_assert_contains "$out" "pin this agent's public key as agent_key in the coordinator's regions/af.yaml" "stranger: the hint"

out=$(cat "$(log closedport)")
sk_assert_contains "$out" "error: cannot reach coordinator ${SK_LISTEN_URL%:*}:$closed: 127.0.0.1 port $closed: Connection refused" "closed port: the reason"
sk_assert_contains "$out" "is skein-coordinator running" "closed port: the hint"
sk_assert_eq 1 "$(grep -c "cannot reach coordinator" "$(log closedport)")" "closed port: logged once in its first minute"

out=$(cat "$(log controlsock)")
sk_assert_contains "$out" "error: refuse control message from $SK_CONTROL_URL" "control socket: the reason"
sk_assert_contains "$out" "not its control socket (control:)" "control socket: the hint"
sk_assert_eq 1 "$(grep -c "not a signed control message" "$(log controlsock)")" "control socket: logged once"

# Nothing ran anywhere: the rollout never reached af.
status=$(sk_skein rollout status "$id")
sk_assert_contains "$status" "running" "the rollout still waits: $status"
for r in af in; do
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regclass('public.misconf_t')")" "$r: nothing applied"
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regnamespace('skein')")" "$r: not even the ledger"
done
sk_teardown

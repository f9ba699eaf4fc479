#!/usr/bin/env bash
# A move whose source is impersonated. af's real agent is down; at af's
# move endpoint an impostor answers: a real skein-agent configured as
# region af but holding a key of its own (not the inventory's agent_key
# of af), authorized for this very rollout and step by a rogue coordinator
# (tests/tools/rogue_coordinator --mode move-serve, holding the
# coordinator's key), so it passes the cleartext preamble and reaches the
# handshake. The target (in) verifies the source's handshake signature
# with the key the real coordinator pinned for af, and:
#   - the step fails at once (a crypto failure is not retried like a lost
#     link), the rollout fails, and `rollout status` names the handshake;
#   - in holds no row of the tenant and no move trigger or state; af's
#     database has no move trigger or state either; the impostor's own
#     database was never opened for the move (no skein.moves there).
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"
. "$SKEIN_SRC/tests/lib/move_faults.sh"

sk_setup fault_move_forged
rogue=$SKEIN_BIN/tests/rogue_coordinator
mf_world 200
tenant=hotel-af-008
step=move_hotel_af_008
signed=$(mf_plan "$tenant")

# The impostor: af's config, another key, the rogue as its coordinator,
# a database of its own.
"$SKEIN_BIN/skein" keygen --out "$SK_WORK/keys/impostor" >/dev/null
sk_db pg impostor_app
rport=$(sk_free_port)
rurl="${SK_LISTEN_URL%%://*}://127.0.0.1:$rport"
sed -e "s|^coordinator: .*|coordinator: \"$rurl\"|" \
	-e "s|^key: .*|key: ../keys/impostor.key|" \
	-e "s|^state: .*|state: impostor.state|" \
	-e "s|dbname=af_app|dbname=impostor_app|" \
	"$SK_WORK/agents/af.yaml" >"$SK_WORK/agents/impostor.yaml"
chmod 600 "$SK_WORK/agents/impostor.yaml"

sk_stop af
id=$(sk_skein rollout start "$signed")
sk_tls_opts coordinator
"$rogue" --listen "$rurl" "${SK_TLS_OPTS[@]}" --key "$SK_WORK/keys/coordinator.key" \
	--agent-pub "$SK_WORK/keys/impostor.pub" --plan "$signed" --rollout "$id" \
	--mode move-serve --step "$step" --target-region in \
	--target-pub "$SK_WORK/keys/agent-in.pub" --finals 1000 --seconds 60 \
	>"$SK_WORK/rogue.out" 2>&1 &
rogue_pid=$!
sk_start_agent impostor
t0=$SECONDS
out=$(sk_skein rollout wait "$id" --timeout 45s 2>&1) && sk_fail "the move with an impostor source succeeded: $out"
took=$((SECONDS - t0))
kill "$rogue_pid" 2>/dev/null || true
wait "$rogue_pid" 2>/dev/null || true
grep -q "serving $id/$step" "$SK_WORK/rogue.out" ||
	sk_fail "the impostor never held the move's authorization: $(cat "$SK_WORK/rogue.out")"
grep -q "move link from .* for $id/$step" "$SK_WORK/logs/agent-impostor.log" ||
	sk_fail "in never reached the impostor's handshake: $(tail -5 "$SK_WORK/logs/agent-impostor.log")"

status=$(sk_skein rollout status "$id" 2>&1 || true)
echo "$status" | grep -m1 'error:' >&2 || true
sk_assert_eq failed "$(sk_skein rollout status "$id" --json | jq -r .state)" "the rollout failed"
sk_assert_contains "$status" "handshake REPLY: signature does not verify with the pinned source agent key" \
	"status names the handshake and the key"
((took < 40)) || sk_fail "the step took ${took}s to fail: a forged source was retried like a lost link"

sk_assert_eq 0 "$(sk_rpsql in "SELECT (SELECT count(*) FROM tenants WHERE tenant_id = '$tenant') +
  (SELECT count(*) FROM bookings WHERE tenant_id = '$tenant') +
  (SELECT count(*) FROM invoices WHERE tenant_id = '$tenant')")" "in holds no row of the tenant"
for r in af in; do
	sk_assert_eq 0 "$(mf_triggers "$r")" "no move trigger in $r"
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT CASE WHEN to_regclass('skein.moves') IS NULL THEN 0
	  ELSE (SELECT count(*) FROM skein.moves) END")" "no move state in $r"
done
sk_assert_eq "" "$(sk_psql pg impostor_app "SELECT to_regclass('skein.moves')")" "the impostor opened nothing for the move"
echo "forged source: the step failed in ${took}s" >&2
echo "PASS fault_move_forged"

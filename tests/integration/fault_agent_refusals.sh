#!/usr/bin/env bash
# What an agent refuses, and that a refusal changes nothing:
#  - with the real coordinator: a plan signed by a release key the agent
#    does not pin, and a plan that expired before its phase reached the
#    region: refused, reported, the rollout halts, nothing applied there;
#  - with a rogue coordinator (tests/tools/rogue_coordinator, holding the
#    real coordinator key): a plan for another region, a stale control
#    message, a replayed one, one for another region, and garbage.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_agent_refusals
skein=$SKEIN_BIN/skein
rogue=$SKEIN_BIN/tests/rogue_coordinator

# Two release keys: the coordinator, af and ksa pin both; in pins only one.
sk_cluster pg
for r in af in ksa; do sk_db pg "${r}_app"; done
SK_REGIONS=(af in ksa)
SK_REGION_CLUSTERS=(pg pg pg)
sk_keys
"$skein" keygen --out "$SK_WORK/keys/release2" >/dev/null
for r in af in ksa; do
	sk_region "$r" "$r"
	sk_agent_config "$r" "app=pg:${r}_app"
done
sed -i 's|^release_keys: .*|release_keys: [../keys/release.pub, ../keys/release2.pub]|' \
	"$SK_WORK/agents/af.yaml" "$SK_WORK/agents/ksa.yaml"
sk_coordinator_config
sed -i 's|^release_keys: .*|release_keys: [../keys/release.pub, ../keys/release2.pub]|' \
	"$SK_WORK/coordinator/coordinator.yaml"
sk_start_coordinator
sk_start_agent af in ksa

# 1. Signed by a key region "in" does not pin.
sk_write_plan "$SK_WORK/plans/k2-src" keytwo 1h "$SK_TWO_PHASES" "0001_t=CREATE TABLE k2 (id int);"
"$skein" plan build "$SK_WORK/plans/k2-src" -o "$SK_WORK/plans/k2.plan" --regions "$SK_WORK/regions" >/dev/null
"$skein" plan sign "$SK_WORK/plans/k2.plan" --key "$SK_WORK/keys/release2.key" -o "$SK_WORK/plans/k2.signed" >/dev/null
id=$(sk_skein rollout start "$SK_WORK/plans/k2.signed")
if out=$(sk_skein rollout wait "$id"); then sk_fail "an unpinned signature was accepted: $out"; fi
sk_assert_contains "$out" "in: plan refused" "region in refused"
sk_assert_contains "$out" "not a pinned key" "the reason is given"
sk_assert_eq "" "$(sk_rpsql in "select to_regclass('public.k2')")" "nothing applied in region in"
sk_assert_eq "" "$(sk_rpsql in "select to_regnamespace('skein')")" "region in not even touched"
sk_assert_eq "k2" "$(sk_rpsql ksa "select to_regclass('public.k2')")" "ksa (pins the key) applied"

# 2. Expired before phase 2 reached in and ksa.
sk_write_plan "$SK_WORK/plans/exp-src" expiring 6s "$SK_TWO_PHASES" \
	"0001_slow=CREATE TABLE exp_t (id int); SELECT pg_sleep(7);"
signed=$(sk_sign_plan "$SK_WORK/plans/exp-src" expiring)
id=$(sk_skein rollout start "$signed")
if out=$(sk_skein rollout wait "$id"); then sk_fail "an expired plan was applied: $out"; fi
sk_assert_contains "$out" "expired" "expiry is the reason"
sk_assert_eq "exp_t" "$(sk_rpsql af "select to_regclass('public.exp_t')")" "the canary applied in time"
for r in in ksa; do
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regclass('public.exp_t')")" "$r: nothing applied"
done

# 3. A rogue coordinator with the coordinator's key, talking to a fresh agent
#    for region af that manages a fresh database. Over TLS it has the
#    coordinator's certificate too: the agent's checks are what is tested.
sk_db pg rogue_app
rport=$(sk_free_port)
rurl="${SK_LISTEN_URL%%://*}://127.0.0.1:$rport"
sk_tls_opts coordinator
sed -e "s|^coordinator: .*|coordinator: \"$rurl\"|" \
	-e "s|^state: .*|state: rogue.state|" -e "s|dbname=af_app|dbname=rogue_app|" \
	"$SK_WORK/agents/af.yaml" >"$SK_WORK/agents/rogueaf.yaml"
grep -q rogue_app "$SK_WORK/agents/rogueaf.yaml" || sk_fail "could not point the rogue agent at rogue_app"
sk_write_plan "$SK_WORK/plans/ksa-only-src" ksaonly 1h '  - name: only
    regions: [ksa]' "0001_t=CREATE TABLE rogue_t (id int);"
ksa_only=$(sk_sign_plan "$SK_WORK/plans/ksa-only-src" ksaonly)
sk_write_plan "$SK_WORK/plans/af-src" afplan 1h '  - name: only
    regions: [af]' "0001_t=CREATE TABLE replayed_t (id int); INSERT INTO replayed_t VALUES (1);"
af_plan=$(sk_sign_plan "$SK_WORK/plans/af-src" afplan)

run_rogue() { # run_rogue MODE PLAN FINALS SECONDS: prints the rogue's output
	local mode=$1 plan=$2 finals=$3 secs=$4 out
	echo "fault_agent_refusals: rogue coordinator, mode $mode ($(date +%T))" >&2
	sk_start_agent rogueaf
	out=$("$rogue" --listen "$rurl" "${SK_TLS_OPTS[@]}" --key "$SK_WORK/keys/coordinator.key" \
		--agent-pub "$SK_WORK/keys/agent-af.pub" --plan "$plan" --mode "$mode" \
		--finals "$finals" --seconds "$secs" 2>&1 || true)
	sk_running agent-rogueaf || sk_fail "the agent died during the $mode test"
	sk_stop agent-rogueaf
	printf '%s\n' "$out"
}
rogue_log() { cat "$SK_WORK/logs/agent-rogueaf.log"; }

out=$(run_rogue run "$ksa_only" 1 20)
sk_assert_contains "$out" "report plan-refused" "a plan for another region is refused"
sk_assert_contains "$out" "addresses ksa, not this region" "the reason names the regions"
sk_assert_eq "" "$(sk_psql pg rogue_app "select to_regnamespace('skein')")" "nothing applied for another region's plan"

out=$(run_rogue stale "$af_plan" 99 4)
sk_assert_contains "$(rogue_log)" "refuse stale control message" "a stale control message is refused"
sk_assert_eq "" "$(sk_psql pg rogue_app "select to_regnamespace('skein')")" "nothing applied from a stale message"

out=$(run_rogue wrong-region "$af_plan" 99 3)
sk_assert_contains "$(rogue_log)" "refuse control message for region elsewhere" "a message for another region is refused"

out=$(run_rogue garbage "$af_plan" 99 3)
sk_assert_contains "$(rogue_log)" "refuse control message" "garbage is refused"
refusals=$(grep -c "refuse control message" <<<"$(rogue_log)")
((refusals < 40)) || sk_fail "the agent spun on garbage replies: $refusals refusals in 3 s (no backoff)"
sk_assert_eq "" "$(sk_psql pg rogue_app "select to_regnamespace('skein')")" "nothing applied from garbage"

out=$(run_rogue replay "$af_plan" 99 5)
sk_assert_contains "$out" "report plan-succeeded" "the genuine message was applied"
sk_assert_contains "$(rogue_log)" "answers another request" "replays are refused"
sk_assert_eq 1 "$(sk_psql pg rogue_app "select count(*) from replayed_t")" "applied exactly once despite replays"
echo "PASS fault_agent_refusals"

#!/usr/bin/env bash
# Agents you can see (issue 13 item 3):
#  - `skein agents` lists each region's agent: af connected (version,
#    databases), in "never seen"; --json says the same in its documented
#    fields; --help and a bad option;
#  - a rollout whose second phase is in's: `rollout status` and `rollout
#    wait` say "agent of in never connected", not a bare pending;
#  - af's agent stops: the coordinator logs its disconnect once, and
#    `skein agents` says "not connected for ..."; in's agent starts: the
#    rollout ends, its events say the agent connected; each connect and
#    disconnect is logged once.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup agents_cli
skein=$SKEIN_BIN/skein
clog="$SK_WORK/logs/coordinator.log"
SK_REGIONS=(af in ksa)
SK_REGION_CLUSTERS=(pg pg pg)
sk_cluster pg
for r in af in; do sk_db pg "${r}_app"; done
sk_keys
for r in af in; do
	sk_region "$r" "$r"
	sk_agent_config "$r" "app=pg:${r}_app"
done
sk_coordinator_config
sk_start_coordinator
sk_start_agent af

"$skein" agents --help | grep -q "Usage:" || sk_fail "skein agents --help"
if "$skein" agents --bogus 2>/dev/null; then sk_fail "a bad option was taken"; fi
[[ $("$skein" agents --bogus 2>&1 >/dev/null | head -1) == *"unknown option"* ]] || sk_fail "a bad option is not named"

sk_wait_until 20 sh -c "'$skein' agents --coordinator '$SK_CONTROL_URL' --key '$SK_WORK/keys/admin.key' | grep -q '^af  *connected'" ||
	sk_fail "af's agent never shows connected: $(sk_skein agents)"
out=$(sk_skein agents)
sk_assert_contains "$out" "REGION" "a header"
grep -Eq '^af +connected +[0-9][^ ]* +1 +-$' <<<"$out" || sk_fail "af's line: $out"
grep -Eq '^in +never seen +- +- +-$' <<<"$out" || sk_fail "in's line: $out"
json=$(sk_skein agents --json)
python3 - "$json" <<'PY' || sk_fail "skein agents --json: $json"
import json, sys
v = {a["region"]: a for a in json.loads(sys.argv[1])}
assert set(v) == {"af", "in"}, v
af, inr = v["af"], v["in"]
assert af["connected"] is True and af["databases"] == 1 and af["version"], af
assert isinstance(af["last_seen_unix_ms"], int) and af["window_ms"] == 5600, af
assert af["running"] == [], af
assert inr["connected"] is False and inr["last_seen_unix_ms"] is None, inr
assert set(af) == {"region", "connected", "last_seen_unix_ms", "silent_ms",
                   "window_ms", "version", "databases", "running"}, af
PY

# Phase 1 af, phase 2 in, whose agent is not there.
sk_write_plan "$SK_WORK/plans/src" agents 1h '  - name: canary
    regions: [af]
  - name: rest
    regions: [in]' "0001_t=CREATE TABLE agents_t (id int);"
id=$(sk_skein rollout start "$(sk_sign_plan "$SK_WORK/plans/src" agents)")
sk_wait_until 30 sh -c "'$skein' rollout status '$id' --coordinator '$SK_CONTROL_URL' --key '$SK_WORK/keys/admin.key' | grep -q 'agent of in never connected'" ||
	sk_fail "status never says in's agent is away: $(sk_skein rollout status "$id")"
status=$(sk_skein rollout status "$id")
grep -Eq '^ +in +pending .*agent of in never connected \(the coordinator started [0-9]+s ago\)' <<<"$status" ||
	sk_fail "in's line in status: $status"
if out=$(sk_skein rollout wait "$id" --timeout 8s 2>&1); then sk_fail "the rollout ended without in: $out"; fi
sk_assert_contains "$out" "agent of in never connected" "wait says in's agent is away"
sk_assert_contains "$out" "region in waits for it" "... and what waits for it"
sk_assert_eq 1 "$(grep -c "agent of in never connected" <<<"$out")" "said once"

# af's agent goes away; in's comes.
sk_stop agent-af
sk_wait_until 20 grep -q "agent af disconnected" "$clog" || sk_fail "the coordinator never logged af's disconnect"
grep -Eq '^af +not connected for [0-9]' <<<"$(sk_skein agents)" || sk_fail "af not shown away: $(sk_skein agents)"
sk_start_agent in
out=$(sk_skein rollout wait "$id" --timeout 30s) || sk_fail "the rollout did not end once in's agent came: $out"
sk_assert_contains "$out" "agent of in connected" "the return is an event"
sk_assert_eq agents_t "$(sk_rpsql in "select to_regclass('public.agents_t')")" "in applied"
sk_assert_eq 1 "$(grep -c "agent af connected" "$clog")" "af's connect logged once"
sk_assert_eq 1 "$(grep -c "agent af disconnected" "$clog")" "af's disconnect logged once"
sk_assert_eq 1 "$(grep -c "agent in connected" "$clog")" "in's connect logged once"
sk_teardown

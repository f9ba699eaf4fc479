#!/usr/bin/env bash
# The coordinator's read-only HTTP API (docs/http.md), over TLS with a
# bearer token, during a real three-region rollout of the quickstart:
#  - /api/v1/rollouts, /api/v1/rollouts/{id} and .../report answer the
#    very JSON of `skein rollout list --json`, `skein rollout status ID
#    --json` and `skein rollout report ID --format json`;
#    /api/v1/regions lists the three agents, connected, with their version
#    and databases;
#  - /api/v1/rollouts/{id}/events streams the rollout (running, then
#    succeeded) and its events, and a reconnect with Last-Event-ID gets
#    only the events after it;
#  - without a token, or with a wrong one: 401 and an empty body; plain
#    HTTP on the TLS port gets no answer;
#  - POST, PUT, DELETE: 405, nothing changed; unknown paths 404, malformed
#    paths, ids and query strings 400, an unknown rollout's stream 404;
#  - a slow-loris client and 1 MB URLs and headers: the coordinator keeps
#    serving the CLI and the agents meanwhile (the rollout ends).
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup http_api
client="python3 $SKEIN_SRC/tests/tools/http_client.py"
sk_tls_certs
port=$(sk_free_port)
head -c 24 /dev/urandom | base64 | tr -d '\n/+=' >"$SK_WORK/coordinator/http.token"
token=$(cat "$SK_WORK/coordinator/http.token")
SK_COORDINATOR_EXTRA="http:
  listen: 127.0.0.1:$port
  tls: {cert: ../tls/coordinator.crt, key: ../tls/coordinator.key}
  tokens: [http.token]"
sk_deploy_three
base="https://127.0.0.1:$port"
ca="$SK_WORK/tls/ca.crt"

# get PATH [CURL ARGS...]: the body; the status into $SK_WORK/status.
get() {
	local path=$1
	shift
	curl -sS --cacert "$ca" -H "Authorization: Bearer $token" -o "$SK_WORK/body" \
		-w '%{http_code}' "$@" "$base$path" >"$SK_WORK/status" || echo 000 >"$SK_WORK/status"
	cat "$SK_WORK/body" 2>/dev/null || true
}
status_of() { cat "$SK_WORK/status"; }

# --- who may ask ----------------------------------------------------------
out=$(curl -sS --cacert "$ca" -o "$SK_WORK/body" -w '%{http_code}' "$base/api/v1/rollouts")
sk_assert_eq 401 "$out" "no token"
sk_assert_eq 0 "$(stat -c %s "$SK_WORK/body")" "a 401 without a token says nothing"
out=$(curl -sS --cacert "$ca" -H "Authorization: Bearer ${token}x" -o "$SK_WORK/body" -w '%{http_code}' "$base/api/v1/regions")
sk_assert_eq 401 "$out" "a wrong token"
sk_assert_eq 0 "$(stat -c %s "$SK_WORK/body")" "a 401 with a wrong token says nothing"
out=$(curl -sS --cacert "$ca" -H "Authorization: Basic $token" -o /dev/null -w '%{http_code}' "$base/api/v1/regions")
sk_assert_eq 401 "$out" "not a bearer token"
if out=$(curl -sS --max-time 5 "http://127.0.0.1:$port/api/v1/rollouts" 2>&1); then
	sk_fail "plain HTTP on the TLS port was answered: $out"
fi

# --- regions ----------------------------------------------------------------
sk_wait_until 20 bash -c "curl -sf --cacert '$ca' -H 'Authorization: Bearer $token' $base/api/v1/regions | python3 -c 'import json,sys; r=json.load(sys.stdin); sys.exit(0 if len(r)==3 and all(x[\"connected\"] for x in r) else 1)'"
regions=$(get /api/v1/regions)
sk_assert_eq 200 "$(status_of)" "regions"
python3 - "$regions" <<'EOF' || sk_fail "regions: $regions"
import json, sys
r = json.loads(sys.argv[1])
assert [x["region"] for x in r] == ["af", "in", "ksa"], r
for x in r:
    assert x["connected"] is True and x["databases"] == 1, x
    assert x["version"] and x["last_seen"].endswith("Z") and x["running"] == [], x
EOF
# One schema: the same objects as skein agents --json (timings aside).
python3 - "$regions" "$(sk_skein agents --json)" <<'EOF' || sk_fail "regions and skein agents --json differ: $regions"
import json, sys
def strip(v):
    return [{k: x[k] for k in x if k not in ("last_seen", "last_seen_unix_ms", "silent_ms")} for x in v]
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert [set(x) for x in a] == [set(x) for x in b], (a, b)
assert strip(a) == strip(b), (a, b)
EOF

# --- a rollout, streamed ----------------------------------------------------
signed=$(sk_sign_plan "$SKEIN_SRC/examples/quickstart" quickstart)
id=$(sk_skein rollout start "$signed")
$client sse "$base/api/v1/rollouts/$id/events" --token "$token" --cacert "$ca" \
	--until-state succeeded --timeout 60 --ready "$SK_WORK/sse.ready" >"$SK_WORK/sse.out" &
sse_pid=$!
# Hostile clients while it runs: a slow-loris and two 1 MB requests.
$client slowloris 127.0.0.1 "$port" --tls --cacert "$ca" --seconds 8 >"$SK_WORK/slowloris.out" &
loris_pid=$!
big_url=$($client oversized 127.0.0.1 "$port" url --tls --cacert "$ca")
big_header=$($client oversized 127.0.0.1 "$port" header --tls --cacert "$ca")
sk_assert_eq "HTTP/1.1 414 URI Too Long" "$big_url" "a 1 MB URL"
sk_assert_eq "HTTP/1.1 431 Request Header Fields Too Large" "$big_header" "a 1 MB header"
sk_wait_until 10 test -e "$SK_WORK/sse.ready"
sk_approve "$id" rest >/dev/null
# The CLI is served meanwhile.
sk_skein rollout status "$id" >/dev/null
out=$(sk_skein rollout wait "$id") || sk_fail "rollout wait failed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "the rollout ends"
wait "$sse_pid" || sk_fail "the stream did not show the rollout succeeded: $(tail -n 5 "$SK_WORK/sse.out")"
wait "$loris_pid" || true

python3 - "$SK_WORK/sse.out" <<'EOF' || sk_fail "the stream: $(head -c 3000 "$SK_WORK/sse.out")"
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
assert msgs[0]["event"] == "rollout", msgs[0]
states = [m["data"]["state"] for m in msgs if m["event"] == "rollout"]
assert states[0] == "running" and states[-1] == "succeeded", states
logs = [m for m in msgs if m["event"] == "log"]
assert len(logs) >= 5, logs
seqs = [m["data"]["seq"] for m in logs]
assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
assert all(str(m["data"]["seq"]) == m["id"] for m in logs)
assert any("phase 2/2 rest started" in m["data"]["message"] for m in logs), logs
for m in logs:
    assert set(m["data"]) == {"seq", "time", "region", "step", "message"}, m
    assert m["data"]["time"].endswith("Z")
# Every state the rollout went through reached the stream, in order: the
# canary's cell succeeded before the rest's.
phases = [[p["state"] for p in m["data"]["phases"]] for m in msgs if m["event"] == "rollout"]
assert ["succeeded", "running"] in phases or ["succeeded", "pending"] in phases or \
    any(p[0] == "succeeded" and p[1] != "succeeded" for p in phases), phases
EOF

# Reconnect with the id of the fifth event: the rollout, then only later ones.
fifth=$(python3 -c "import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; print([m for m in l if m['event']=='log'][4]['id'])" "$SK_WORK/sse.out")
last=$(python3 -c "import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; print([m for m in l if m['event']=='log'][-1]['id'])" "$SK_WORK/sse.out")
$client sse "$base/api/v1/rollouts/$id/events" --token "$token" --cacert "$ca" \
	--last-event-id "$fifth" --until-seq "$last" --timeout 20 >"$SK_WORK/sse2.out" ||
	sk_fail "no event up to $last after a reconnect: $(tail -n 3 "$SK_WORK/sse2.out")"
python3 - "$SK_WORK/sse2.out" "$fifth" "$last" <<'EOF' || sk_fail "resume after $fifth: $(head -c 2000 "$SK_WORK/sse2.out")"
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
fifth, last = int(sys.argv[2]), int(sys.argv[3])
assert msgs[0]["event"] == "rollout" and msgs[0]["data"]["state"] == "succeeded", msgs[0]
seqs = [m["data"]["seq"] for m in msgs if m["event"] == "log"]
assert seqs and min(seqs) > fifth and max(seqs) >= last, (fifth, last, seqs)
EOF

# --- the same JSON as the CLI's ---------------------------------------------
api=$(get "/api/v1/rollouts/$id")
sk_assert_eq 200 "$(status_of)" "GET rollout"
cli=$(sk_skein rollout status "$id" --json)
sk_assert_eq "$cli" "$api" "GET /api/v1/rollouts/$id is rollout status --json"
api_list=$(get /api/v1/rollouts)
cli_list=$(sk_skein rollout list --json)
sk_assert_eq "$cli_list" "$api_list" "GET /api/v1/rollouts is rollout list --json"
api_report=$(get "/api/v1/rollouts/$id/report")
sk_assert_eq 200 "$(status_of)" "GET report"
cli_report=$(sk_skein rollout report "$id" --format json)
sk_assert_eq "$cli_report" "$api_report" "GET /api/v1/rollouts/$id/report is rollout report --format json"
sk_assert_contains "$api_report" '"reports": ' "the report has its reports"
ctype=$(curl -sS --cacert "$ca" -H "Authorization: Bearer $token" -o /dev/null -w '%{content_type}' "$base/api/v1/rollouts")
sk_assert_eq application/json "$ctype" "content type"

# --- nothing here changes a rollout ---------------------------------------
for m in POST PUT DELETE PATCH; do
	get "/api/v1/rollouts/$id" -X "$m" -d '{"state":"aborted"}' >/dev/null
	sk_assert_eq 405 "$(status_of)" "$m"
done
get "/api/v1/rollouts/$id/abort" -X POST >/dev/null
sk_assert_eq 405 "$(status_of)" "POST .../abort"
sk_assert_eq "$cli" "$(sk_skein rollout status "$id" --json)" "the rollout after POST, PUT, DELETE"

# --- bad paths and queries ------------------------------------------------
for p in /nope /api/v1 /api/v1/rollouts/ /api/v1/rollouts/$id/nope /api/v2/rollouts /metric; do
	get "$p" >/dev/null
	sk_assert_eq 404 "$(status_of)" "GET $p"
done
get /api/v1/rollouts/r-nope >/dev/null
sk_assert_eq 404 "$(status_of)" "an unknown rollout"
sk_assert_contains "$(cat "$SK_WORK/body")" '"error"' "an unknown rollout's answer"
get /api/v1/rollouts/r-nope/events >/dev/null
sk_assert_eq 404 "$(status_of)" "an unknown rollout's stream"
get /api/v1/rollouts/r-nope/report >/dev/null
sk_assert_eq 404 "$(status_of)" "an unknown rollout's report"
for p in "/api/v1/rollouts/a%20b" "/api/v1/rollouts/%01" "/api/v1//rollouts" "/api/v1/rollouts/.." \
	"/api/v1/rollouts/$(printf 'x%.0s' {1..80})" "/api/v1/rollouts?x=1" "/api/v1/rollouts?%zz" \
	"/api/v1/regions?limit=10&&&"; do
	get "$p" --path-as-is >/dev/null
	sk_assert_eq 400 "$(status_of)" "GET $p"
done
get "/api/v1/rollouts/$id/events" -H "Last-Event-ID: -1" >/dev/null
sk_assert_eq 400 "$(status_of)" "a negative Last-Event-ID"

# /metrics: the Prometheus text exposition, valid to promtool, with the
# rollout counted and every agent connected; behind the token like the
# rest.
out=$(curl -sS --cacert "$ca" -o /dev/null -w '%{http_code}' "$base/metrics")
sk_assert_eq 401 "$out" "/metrics without a token"
get /metrics >/dev/null
sk_assert_eq 200 "$(status_of)" "GET /metrics"
ctype=$(curl -sS --cacert "$ca" -H "Authorization: Bearer $token" -o /dev/null -w '%{content_type}' "$base/metrics")
sk_assert_contains "$ctype" "text/plain; version=0.0.4" "the metrics' content type"
promtool check metrics <"$SK_WORK/body" || sk_fail "promtool refuses /metrics: $(head -c 600 "$SK_WORK/body")"
grep -Eq '^skein_rollouts\{state="succeeded"\} [1-9]' "$SK_WORK/body" ||
	sk_fail "/metrics does not count the succeeded rollout: $(grep '^skein_rollouts' "$SK_WORK/body")"
for r in af in ksa; do
	grep -Eq "^skein_agent_connected\\{region=\"$r\"\\} 1" "$SK_WORK/body" ||
		sk_fail "/metrics does not say $r's agent is connected: $(grep '^skein_agent_connected' "$SK_WORK/body")"
done

# The slow-loris held a connection and nothing else.
sk_assert_contains "$(cat "$SK_WORK/slowloris.out")" "sent" "the slow-loris ran"
sk_skein rollout status "$id" >/dev/null

# A stream open at stop does not hold the coordinator up (libmicrohttpd
# refuses to stop with a suspended connection: they are woken first).
$client sse "$base/api/v1/rollouts/$id/events" --token "$token" --cacert "$ca" \
	--timeout 30 --ready "$SK_WORK/sse3.ready" >/dev/null &
sk_wait_until 10 test -e "$SK_WORK/sse3.ready"
sk_stop coordinator
grep -q "skein-coordinator info: stopped" "$SK_WORK/logs/coordinator.log" ||
	sk_fail "the coordinator did not stop cleanly: $(tail -n 3 "$SK_WORK/logs/coordinator.log")"
echo "PASS http_api"

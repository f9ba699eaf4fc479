#!/usr/bin/env bash
# A real agent answering SAMPLE commands (sampling), driven by the rogue
# coordinator (tests/tools/rogue_coordinator --mode sample, holding the
# coordinator's key): one GATE_SAMPLE report per gate check and health
# signal per database and one for the http probe (a python http.server);
# a check that errs says why; and a SAMPLE it cannot use (a plan signed by
# a key it does not pin, a phase the plan lacks, a phase of another
# region) is answered with a refusal report, the agent lives on, and
# nothing is written to the database (not even the skein schema).
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup agent_sample
skein=$SKEIN_BIN/skein
rogue=$SKEIN_BIN/tests/rogue_coordinator

sk_cluster pg
sk_db pg af_app
sk_keys
"$skein" keygen --out "$SK_WORK/keys/other" >/dev/null
sk_region af af
sk_region ksa ksa

# The application's health endpoint: a file served by python's http.server.
hport=$(sk_free_port)
mkdir -p "$SK_WORK/www"
echo "0.5 fine" >"$SK_WORK/www/health"
sk__spawn probe python3 -m http.server "$hport" --bind 127.0.0.1 --directory "$SK_WORK/www"
sk_wait_until 10 curl -sf -m 1 "http://127.0.0.1:$hport/health" ||
	sk_fail "the probe server did not start"

SK_AGENT_EXTRA="health_probe: http://127.0.0.1:$hport/health" sk_agent_config af "app=pg:af_app"
sk_psql pg af_app "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)" >/dev/null
rport=$(sk_free_port)
sk__coord_ports
rurl="${SK_LISTEN_URL%%://*}://127.0.0.1:$rport"
sk_tls_opts coordinator
sed -i "s|^coordinator: .*|coordinator: \"$rurl\"|" "$SK_WORK/agents/af.yaml"

gates='    soak: 10s
    checks:
      - {name: rows, sql: "SELECT count(*) FROM t", expect: 3}
      - {name: writes, sql: "INSERT INTO t VALUES (4) RETURNING 1", expect: 1}
    health: {lock_waits: 0, deadlocks: 0, http: 1}
    sample: {every: 1s, min: 1}'
sk_write_plan "$SK_WORK/plans/gated-src" gated 1h "  - name: canary
    regions: [af]
$gates
  - name: rest
    regions: [ksa]
$gates" "0001_t=SELECT 1;"
gated=$(sk_sign_plan "$SK_WORK/plans/gated-src" gated)
"$skein" plan sign "$SK_WORK/plans/gated.plan" --key "$SK_WORK/keys/other.key" \
	-o "$SK_WORK/plans/unpinned.signed" >/dev/null

run_rogue() { # run_rogue PLAN PHASE REPORTS SECONDS: the rogue's output
	local plan=$1 phase=$2 n=$3 secs=$4 f="$SK_WORK/rogue.out" pid
	sk_start_agent af
	"$rogue" --listen "$rurl" "${SK_TLS_OPTS[@]}" --key "$SK_WORK/keys/coordinator.key" \
		--agent-pub "$SK_WORK/keys/agent-af.pub" --plan "$plan" --rollout r-gate \
		--mode sample --phase "$phase" --finals "$n" --seconds "$secs" >"$f" 2>&1 &
	pid=$!
	sk_wait_until "$secs" bash -c "(( \$(grep -c '^sample ' '$f') >= $n ))" || true
	sk_running agent-af || sk_fail "the agent died sampling phase $phase"
	# The agent goes first: the rogue's exit can wait on a reply to a
	# connected agent (its nng_close). How the agent stops is not tested.
	sk_kill9 agent-af
	# Its output is flushed line by line: a rogue that hangs in nng_close
	# now and then (see its alarm) is not waited for.
	sk_wait_until 2 bash -c "! kill -0 $pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" || true
	cat "$f"
}
item() { # item OUT ROUND DATABASE NAME: that item's line of the first round
	grep -E "^sample $2 $3 $4 " <<<"$1" | head -n 1
}

# 1. Phase 0: http once, two checks and two signals in app.
out=$(run_rogue "$gated" 0 5 15)
round=$(grep -m1 -oE '^sample [0-9]+' <<<"$out" | cut -d' ' -f2)
[[ -n "$round" ]] || sk_fail "no sample reports: $out"
sk_assert_eq 5 "$(grep -c "^sample $round " <<<"$out")" "five reports in round $round"
sk_assert_contains "$(item "$out" "$round" - http)" "0.5 -" "the probe's number"
sk_assert_contains "$(item "$out" "$round" app rows)" "pass -" "a check that holds"
sk_assert_contains "$(item "$out" "$round" app writes)" "fail sql 25006" "a writing check errs"
sk_assert_contains "$(item "$out" "$round" app writes)" "read-only transaction" "and says why"
sk_assert_contains "$(item "$out" "$round" app lock_waits)" "lock_waits 0 -" "no lock waits"
sk_assert_contains "$(item "$out" "$round" app deadlocks)" "deadlocks 0 -" "no deadlocks"
sk_assert_eq 3 "$(sk_psql pg af_app "SELECT count(*) FROM t")" "the writing check changed nothing"

# 2. What the agent cannot use: refused with a report, nothing touched.
out=$(run_rogue "$SK_WORK/plans/unpinned.signed" 0 1 10)
sk_assert_contains "$out" "sample" "an unpinned plan's SAMPLE is answered"
sk_assert_contains "$out" "not a pinned key" "with the reason"
sk_assert_contains "$out" " signature " "as a signature error"
out=$(run_rogue "$gated" 7 1 10)
sk_assert_contains "$out" "the plan has 2 phases" "a phase the plan lacks is refused"
out=$(run_rogue "$gated" 1 1 10)
sk_assert_contains "$out" "does not hold this region" "another region's phase is refused"
sk_assert_eq "" "$(sk_psql pg af_app "select to_regnamespace('skein')")" "sampling wrote nothing, not even the ledger"
sk_assert_contains "$(cat "$SK_WORK/logs/agent-af.log")" "sample gate" "the agent logged the refusals"
echo "PASS agent_sample"

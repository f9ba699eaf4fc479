#!/usr/bin/env bash
# The transport's refusals (issue 8, "Encrypted transports"), in a world
# over TLS:
#  (a) an agent whose certificate comes from another CA is turned away in
#      the TLS handshake: it never connects, nothing runs in its region,
#      both sides log it, and the other regions work; with its own
#      certificate back, the same agent connects and the rollout ends;
#  (b) a plain-TCP client on the TLS ports gets nothing and reaches none
#      of the coordinator's handlers, which go on serving (a rollout
#      succeeds), and a capture of the agents' link shows none of what
#      plain TCP shows (fault_private_detail.sh);
#  (c) plain tcp:// to a non-loopback address is refused at start, with
#      the documented message, unless insecure_transport: true; a TLS
#      file that cannot be read stops the coordinator, named;
#  (d) the CLI without a CA, with another CA or the wrong server name
#      against the TLS control socket fails clearly and starts nothing.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

SK_PLAIN_TCP=0 # this test is about TLS, whatever the environment says
sk_setup fault_tls
skein=$SKEIN_BIN/skein
poke=$SKEIN_BIN/tests/poke
clog="$SK_WORK/logs/coordinator.log"

# The deployment of sk_deploy_three, but region in's agent shows a
# certificate of another CA (it still trusts ours: only its own is wrong).
SK_REGIONS=(af in ksa)
SK_REGION_CLUSTERS=(pg pg pg)
sk_cluster pg
for r in af in ksa; do sk_db pg "${r}_app"; done
sk_keys
for r in af in ksa; do
	sk_region "$r" "$r"
	sk_agent_config "$r" "app=pg:${r}_app"
done
"$SKEIN_SRC/deploy/tls/make-certs" "$SK_WORK/other-ca" --agent in >/dev/null
cp "$SK_WORK/agents/in.yaml" "$SK_WORK/agents/in.yaml.good"
sed -i -e "s|^  cert: .*|  cert: ../other-ca/agent-in.crt|" -e "s|^  key: .*|  key: ../other-ca/agent-in.key|" \
	"$SK_WORK/agents/in.yaml"
grep -q "other-ca/agent-in.crt" "$SK_WORK/agents/in.yaml" || sk_fail "could not give agent in the other CA's certificate"
sk_coordinator_config
sk_start_coordinator
sk_start_agent af in ksa

# --- (a) another CA's certificate ---------------------------------------------
sk_wait_until 20 grep -q "listen on $SK_LISTEN_URL: refused [0-9]* connections\? in the TLS handshake" "$clog" ||
	sk_fail "the coordinator did not log the refused handshakes"
sk_wait_until 20 grep -q "dial $SK_LISTEN_URL: the TLS handshake failed" "$SK_WORK/logs/agent-in.log" ||
	sk_fail "agent in did not log its failed handshakes"
sk_wait_until 20 grep -q "agent ksa connected" "$clog" || sk_fail "agent ksa never connected"
sk_wait_until 20 grep -q "agent af connected" "$clog" || sk_fail "agent af never connected"

sk_write_plan "$SK_WORK/plans/t-src" tlsplan 1h "$SK_TWO_PHASES" \
	"0001_tls_marker_step=CREATE TABLE tls_t (id int);"
signed=$(sk_sign_plan "$SK_WORK/plans/t-src" tlsplan)

# Capture the agents' link from here on: TLS must hide what plain TCP shows.
pcap="$SK_WORK/wire.pcap"
tcpdump -i lo -U -s 0 -w "$pcap" "tcp port $SK_LISTEN_PORT" >"$SK_WORK/logs/tcpdump.log" 2>&1 &
tcpdump_pid=$!
sk_wait_until 10 grep -q 'listening on' "$SK_WORK/logs/tcpdump.log" || sk_fail "tcpdump did not start"

id=$(sk_skein rollout start "$signed")
sk_wait_until 60 bash -c "'$skein' rollout status '$id' --coordinator '$SK_CONTROL_URL' | grep -Eq '^ +ksa +succeeded'" ||
	sk_fail "ksa did not succeed while agent in was refused: $(sk_skein rollout status "$id")"
sleep 2 # time for in, had it been let in, to be told and to start
status=$(sk_skein rollout status "$id")
grep -Eq '^ +in +(pending|dispatched) ' <<<"$status" || sk_fail "region in moved though its agent was refused: $status"
sk_assert_eq "tls_t" "$(sk_rpsql af "select to_regclass('public.tls_t')")" "the canary af applied"
sk_assert_eq "" "$(sk_rpsql in "select to_regclass('public.tls_t')")" "nothing applied in region in"
sk_assert_eq "" "$(sk_rpsql in "select to_regnamespace('skein')")" "region in's database not even touched"
if grep -q "agent in connected" "$clog"; then
	sk_fail "the coordinator let agent in connect with another CA's certificate"
fi
sk_running in || sk_fail "agent in died instead of retrying"
sk_running coordinator || sk_fail "the coordinator died"

# Its own certificate back, nothing else changed: it connects and the
# rollout ends.
sk_stop in
cp "$SK_WORK/agents/in.yaml.good" "$SK_WORK/agents/in.yaml"
sk_start_agent in
out=$(sk_skein rollout wait "$id" --timeout 60s) || sk_fail "the rollout did not end once agent in had its certificate: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "the rollout ends"
sk_assert_contains "$(cat "$clog")" "agent in connected" "agent in connects with its own certificate"

sleep 1
kill "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null || true
[[ $(stat -c %s "$pcap") -gt 2000 ]] || sk_fail "the capture holds too little to prove anything ($(stat -c %s "$pcap") bytes)"
for text in 0001_tls_marker_step tlsplan "CREATE TABLE tls_t"; do
	if grep -aq "$text" "$pcap"; then
		sk_fail "'$text' crossed the agents' TLS link in clear"
	fi
done

# --- (b) plain TCP on the TLS ports -------------------------------------------
before=$(grep -c "refuse agent message\|control request refused" "$clog" || true)
plain_listen="tcp://127.0.0.1:$SK_LISTEN_PORT"
plain_control="tcp://127.0.0.1:$SK_CONTROL_PORT"
for url in "$plain_listen" "$plain_control"; do
	if out=$("$poke" --url "$url" --mode valid --agent-key "$SK_WORK/keys/agent-af.key" --region af 2>&1); then
		[[ "$out" == "no answer" ]] || sk_fail "a plain-TCP client on $url got an answer: $out"
	fi
	if out=$("$poke" --url "$url" --mode random 2>&1); then
		[[ "$out" == "no answer" ]] || sk_fail "a plain-TCP client on $url got an answer: $out"
	fi
done
# Bytes that are neither TLS nor SP, and a client that says nothing.
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 bash -c "cat >/dev/tcp/127.0.0.1/$SK_LISTEN_PORT" 2>/dev/null || true
rc=0
out=$(env -u SKEIN_TLS_CA "$skein" rollout status --coordinator "$plain_control" 2>&1) || rc=$?
sk_assert_eq 1 "$rc" "skein over plain TCP on the TLS control port: exit status"
sk_assert_contains "$out" "reach coordinator: dial $plain_control" "the CLI says it could not reach it"
sk_assert_contains "$out" "tls+tcp:// when it uses TLS" "the hint names TLS"
sk_wait_until 10 grep -q "listen on $SK_CONTROL_URL: refused [0-9]* connections\? in the TLS handshake" "$clog" ||
	sk_fail "the coordinator did not log the refused plain-TCP clients of its control socket"
after=$(grep -c "refuse agent message\|control request refused" "$clog" || true)
sk_assert_eq "$before" "$after" "no plain-TCP byte reached the coordinator's handlers"
sk_running coordinator || sk_fail "the coordinator died"

# Still serving the CLI and the agents: a rollout succeeds.
signed2=$(sk_sign_plan "$SKEIN_SRC/examples/quickstart" quickstart)
id2=$(sk_skein rollout start "$signed2")
sk_approve "$id2" rest >/dev/null
out=$(sk_skein rollout wait "$id2") || sk_fail "rollout after the refusals failed: $out"
sk_assert_eq "rollout $id2: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "a rollout after the refusals"

# --- (c) plain TCP to a non-loopback address ----------------------------------
mkdir -p "$SK_WORK/coord2"
p1=$(sk_free_port)
p2=$(sk_free_port)
{
	echo "listen: 'tcp://0.0.0.0:$p1'"
	echo "control: 'tcp://127.0.0.1:$p2'"
	echo "regions: ../regions"
	echo "key: ../keys/coordinator.key"
	echo "release_keys: [../keys/release.pub]"
	echo "state: state"
	echo "operators:"
	echo "  - {name: admin, key: ../keys/admin.pub, role: admin}"
} >"$SK_WORK/coord2/coordinator.yaml"
rc=0
out=$(timeout 20 "$SKEIN_BIN/skein-coordinator" --config "$SK_WORK/coord2/coordinator.yaml" 2>&1) || rc=$?
sk_assert_eq 1 "$rc" "a coordinator on plain TCP to 0.0.0.0: exit status"
sk_assert_contains "$out" "coordinator.yaml:1:" "the error names the file and line"
sk_assert_contains "$out" "listen: tcp://0.0.0.0:$p1 is plain TCP to 0.0.0.0, which is not loopback: messages would cross the network unencrypted" \
	"the documented refusal"
sk_assert_contains "$out" "hint: use tls+tcp:// with a tls: section" "the hint says what to do"
sk_assert_contains "$out" "insecure_transport: true" "the hint names the way out"
[[ ! -e "$SK_WORK/coord2/state" ]] || sk_fail "the refused coordinator created its state directory"
[[ -z "$(ss -Hltn "sport = :$p1" 2>/dev/null)" ]] || sk_fail "the refused coordinator listens on $p1"

echo "insecure_transport: true" >>"$SK_WORK/coord2/coordinator.yaml"
sk__spawn coordinator2 "$SKEIN_BIN/skein-coordinator" --config "$SK_WORK/coord2/coordinator.yaml"
sk_wait_until 20 sk__listening "$p1" || sk_fail "with insecure_transport: true the coordinator did not listen on 0.0.0.0:$p1"
sk_running coordinator2 || sk_fail "with insecure_transport: true the coordinator exited"
sk_assert_contains "$(cat "$SK_WORK/logs/coordinator2.log")" "serving agents on tcp://0.0.0.0:$p1" "it serves on plain TCP"
sk_stop coordinator2

# A TLS file that cannot be read stops the coordinator at start, named.
{
	echo "listen: 'tls+tcp://127.0.0.1:$p1'"
	echo "control: 'tls+tcp://127.0.0.1:$p2'"
	echo "regions: ../regions"
	echo "key: ../keys/coordinator.key"
	echo "release_keys: [../keys/release.pub]"
	echo "state: state-badtls"
	echo "tls: {ca: ../tls/ca.crt, cert: ../tls/missing.crt, key: ../tls/coordinator.key}"
	echo "operators:"
	echo "  - {name: admin, key: ../keys/admin.pub, role: admin}"
} >"$SK_WORK/coord2/badtls.yaml"
rc=0
out=$(timeout 20 "$SKEIN_BIN/skein-coordinator" --config "$SK_WORK/coord2/badtls.yaml" 2>&1) || rc=$?
sk_assert_eq 1 "$rc" "a coordinator whose tls.cert is missing: exit status"
sk_assert_contains "$out" "open agent socket: TLS for tls+tcp://127.0.0.1:$p1: tls.cert: read file $SK_WORK/coord2/../tls/missing.crt" \
	"the error names the missing file"
[[ -z "$(ss -Hltn "sport = :$p1" 2>/dev/null)" ]] || sk_fail "the coordinator with a missing certificate listens on $p1"

# The agent's side of the same rule.
sed -e "s|^coordinator: .*|coordinator: 'tcp://192.0.2.10:$p1'|" -e "s|^state: .*|state: plain.state|" \
	-e '/^tls:/,/^  key:/d' \
	"$SK_WORK/agents/af.yaml" >"$SK_WORK/agents/plain.yaml"
rc=0
out=$(timeout 20 "$SKEIN_BIN/skein-agent" --config "$SK_WORK/agents/plain.yaml" 2>&1) || rc=$?
sk_assert_eq 1 "$rc" "an agent dialing plain TCP to 192.0.2.10: exit status"
sk_assert_contains "$out" "is plain TCP to 192.0.2.10, which is not loopback" "the agent's refusal"
[[ ! -e "$SK_WORK/agents/plain.state" ]] || sk_fail "the refused agent created its state directory"

# --- (d) the CLI without the right CA -----------------------------------------
count() { sk_skein rollout status --json | grep -c '"plan_id"' || true; }
rollouts=$(count)
sk_write_plan "$SK_WORK/plans/t3-src" tlsplan3 1h "$SK_TWO_PHASES" "0001_t=CREATE TABLE tls3_t (id int);"
signed3=$(sk_sign_plan "$SK_WORK/plans/t3-src" tlsplan3)

rc=0
out=$(env -u SKEIN_TLS_CA "$skein" rollout start "$signed3" --coordinator "$SK_CONTROL_URL" 2>&1) || rc=$?
sk_assert_eq 2 "$rc" "the CLI without a CA: exit status"
sk_assert_contains "$out" "the coordinator's URL $SK_CONTROL_URL is TLS but no CA certificate is given" "the CLI says what is missing"
sk_assert_contains "$out" "pass --tls-ca FILE or set SKEIN_TLS_CA" "and how to give it"

rc=0
out=$("$skein" rollout start "$signed3" --coordinator "$SK_CONTROL_URL" --tls-ca "$SK_WORK/other-ca/ca.crt" 2>&1) || rc=$?
sk_assert_eq 1 "$rc" "the CLI with another CA: exit status"
sk_assert_contains "$out" "the TLS handshake failed" "the CLI says the handshake failed"
sk_assert_contains "$out" "other-ca/ca.crt" "and names the CA it used"
sk_assert_contains "$out" "hint: --tls-ca (SKEIN_TLS_CA) must be the CA" "the hint"

rc=0
out=$("$skein" rollout start "$signed3" --coordinator "$SK_CONTROL_URL" --tls-server-name coordinator.example.net 2>&1) || rc=$?
sk_assert_eq 1 "$rc" "the CLI expecting another server name: exit status"
sk_assert_contains "$out" "does not carry the name coordinator.example.net" "the CLI names the name it wanted"

rc=0
out=$("$skein" rollout status --coordinator "$SK_CONTROL_URL" --tls-ca "$SK_WORK/tls/no-such-ca.crt" 2>&1) || rc=$?
sk_assert_eq 1 "$rc" "the CLI with a missing CA file: exit status"
sk_assert_contains "$out" "no-such-ca.crt" "the CLI names the missing file"

rc=0
out=$("$skein" rollout status --coordinator "$SK_CONTROL_URL" --tls-cert "$SK_WORK/tls/agent-af.crt" 2>&1) || rc=$?
sk_assert_eq 2 "$rc" "--tls-cert without --tls-key: exit status"
sk_assert_contains "$out" "--tls-cert and --tls-key" "the CLI says they go together"

# Nothing started: as many rollouts as before, nothing in any database.
sk_assert_eq "$rollouts" "$(count)" "no rollout was started by the refused commands"
for r in af in ksa; do
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regclass('public.tls3_t')")" "$r: nothing ran"
	sk_assert_eq 0 "$(sk_rpsql "$r" "select count(*) from skein.steps where plan_name = 'tlsplan3'")" "$r: nothing in the ledger"
done

# The right CA, from the option instead of the environment, works.
out=$(env -u SKEIN_TLS_CA "$skein" rollout status "$id2" --coordinator "$SK_CONTROL_URL" --tls-ca "$SK_WORK/tls/ca.crt") ||
	sk_fail "the CLI with --tls-ca failed: $out"
sk_assert_contains "$out" "succeeded" "status over TLS with --tls-ca"
sk_running coordinator || sk_fail "the coordinator died"
echo "PASS fault_tls"

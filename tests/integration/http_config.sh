#!/usr/bin/env bash
# coordinator.yaml's http: section, when it is wrong: the coordinator
# refuses to start, says what and where (file:line:col for the YAML, the
# file for a token or certificate), and nothing listens — neither the HTTP
# port nor the agents' and CLI's. Then a good section with a token file
# starts, serves plain HTTP on loopback, pings a silent stream every 15 s,
# and a second coordinator on the same HTTP port refuses to start and
# names the address.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"

sk_setup http_config
sk_keys
sk_region af af
coord=$SKEIN_BIN/skein-coordinator
cfg="$SK_WORK/coordinator/coordinator.yaml"
port=$(sk_free_port)
sk_coordinator_config
cp "$cfg" "$cfg.base"

# refuse NAME YAML WANT: with YAML appended, the coordinator exits non-zero
# saying WANT, and no port of it listens.
refuse() {
	local name=$1 yaml=$2 want=$3 out rc=0
	{
		cat "$cfg.base"
		printf '%s\n' "$yaml"
	} >"$cfg"
	out=$(timeout 20 "$coord" --config "$cfg" 2>&1) || rc=$?
	((rc != 0 && rc != 124)) || sk_fail "$name: the coordinator did not refuse (exit $rc): $out"
	sk_assert_contains "$out" "$want" "$name"
	if sk__listening "$port" || sk__listening "$SK_LISTEN_PORT" || sk__listening "$SK_CONTROL_PORT"; then
		sk_fail "$name: a port listens after a refused start"
	fi
}

refuse "not a mapping" "http: on" "coordinator.yaml:$(($(wc -l <"$cfg.base") + 1)):7: http: expected a mapping"
refuse "unknown key" "http: {listen: 127.0.0.1:$port, port: 1}" "unknown key \"port\""
refuse "no port" "http: {listen: localhost}" "http.listen: expected HOST:PORT"
refuse "port out of range" "http: {listen: 127.0.0.1:70000}" "http.listen: expected HOST:PORT with a port from 1 to 65535"
refuse "tls without key" "http: {listen: 127.0.0.1:$port, tls: {cert: ../tls/coordinator.crt}}" "key"
refuse "empty token list" "http: {listen: 127.0.0.1:$port, tokens: []}" "expected a list of token file paths, got an empty list"
refuse "missing token file" "http: {listen: 127.0.0.1:$port, tokens: [nope.token]}" "nope.token"
: >"$SK_WORK/coordinator/empty.token"
refuse "empty token file" "http: {listen: 127.0.0.1:$port, tokens: [empty.token]}" "empty.token: the file is empty"
echo short >"$SK_WORK/coordinator/short.token"
refuse "short token" "http: {listen: 127.0.0.1:$port, tokens: [short.token]}" "at least 16 characters"
printf 'abcdefgh ijklmnopqrstuvwxyz\n' >"$SK_WORK/coordinator/space.token"
refuse "token with a space" "http: {listen: 127.0.0.1:$port, tokens: [space.token]}" "not printable ASCII"
refuse "missing certificate" "http: {listen: 127.0.0.1:$port, tls: {cert: nope.crt, key: nope.key}}" "nope.crt"
echo "not a certificate" >"$SK_WORK/coordinator/bad.crt"
refuse "bad certificate" "http: {listen: 127.0.0.1:$port, tls: {cert: bad.crt, key: bad.crt}}" "start http on 127.0.0.1:$port"
refuse "unresolvable host" "http: {listen: no-such-host.invalid:$port}" "http listen no-such-host.invalid:$port"
# Refused before the journal was opened: no state was made.
[[ ! -e "$SK_WORK/coordinator/state" ]] || sk_fail "a refused start made $(ls "$SK_WORK/coordinator/state")"

# A good section starts; plain HTTP on loopback with a token.
printf '  %s  \n' "0123456789abcdef0123456789abcdef" >"$SK_WORK/coordinator/good.token"
{
	cat "$cfg.base"
	echo "http: {listen: 127.0.0.1:$port, tokens: [good.token]}"
} >"$cfg"
sk_start_coordinator
sk_wait_until 10 sk__listening "$port"
out=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer 0123456789abcdef0123456789abcdef" "http://127.0.0.1:$port/api/v1/rollouts")
sk_assert_eq 200 "$out" "the token with the file's white space trimmed"
out=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer 0123456789abcdef0123456789abcde" "http://127.0.0.1:$port/api/v1/rollouts")
sk_assert_eq 401 "$out" "a prefix of the token"
out=$(curl -sS -H "Authorization: Bearer 0123456789abcdef0123456789abcdef" "http://127.0.0.1:$port/api/v1/rollouts")
sk_assert_contains "$out" "\"rollouts\": []" "no rollouts"

# A stream with nothing to say pings every 15 s: a rollout of region af,
# whose agent never comes, stays running and silent.
mkdir -p "$SK_WORK/plans/quiet"
printf 'name: quiet\nexpires: 1h\nphases:\n  - {name: all, regions: [af]}\nsteps:\n  - {id: 0001_t, sql: 0001.sql}\n' \
	>"$SK_WORK/plans/quiet/plan.yaml"
echo "CREATE TABLE t (id int);" >"$SK_WORK/plans/quiet/0001.sql"
id=$(sk_skein rollout start "$(sk_sign_plan "$SK_WORK/plans/quiet" quiet 2>/dev/null)")
t0=$SECONDS
python3 "$SKEIN_SRC/tests/tools/http_client.py" sse "http://127.0.0.1:$port/api/v1/rollouts/$id/events" \
	--token 0123456789abcdef0123456789abcdef --until-event ping --timeout 20 >"$SK_WORK/ping.out" ||
	sk_fail "no ping within 20 s: $(cat "$SK_WORK/ping.out")"
((SECONDS - t0 >= 13)) || sk_fail "a ping came after $((SECONDS - t0)) s, before 15 s of silence"
sk_assert_eq rollout "$(head -n 1 "$SK_WORK/ping.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["event"])')" "the stream's first message"

# The HTTP port taken: a second coordinator (other state, other ports)
# refuses to start and names it.
mkdir -p "$SK_WORK/coordinator2"
sed -e "s|^listen: .*|listen: tcp://127.0.0.1:$(sk_free_port)|" -e "s|^control: .*|control: tcp://127.0.0.1:$(sk_free_port)|" \
	-e "s|^state: .*|state: $SK_WORK/coordinator2/state|" -e "s|: \.\./|: $SK_WORK/|g" -e "s|\[\.\./|[$SK_WORK/|g" \
	-e "s|good.token|$SK_WORK/coordinator/good.token|" -e "/^tls:/,/^  key:/d" "$cfg" >"$SK_WORK/coordinator2/coordinator.yaml"
sed -i -e "s|tls+tcp://|tcp://|g" "$SK_WORK/coordinator2/coordinator.yaml"
rc=0
out=$(timeout 20 "$coord" --config "$SK_WORK/coordinator2/coordinator.yaml" 2>&1) || rc=$?
((rc != 0 && rc != 124)) || sk_fail "a second coordinator on a taken HTTP port started (exit $rc): $out"
sk_assert_contains "$out" "start http on 127.0.0.1:$port" "the taken port is named"
echo "PASS http_config"

#!/usr/bin/env bash
# The dashboard in a real browser: a headless Chromium, driven over the
# DevTools protocol (tests/tools/cdp.py), loads the page the coordinator
# serves at / during a real three-region rollout and sees the canary cell
# turn succeeded, then every cell; keeps working, without a reload, across a
# coordinator restart mid-rollout (it shows "reconnecting…", then the final
# state); and shows a failing plan's error in the failed cell (region, step,
# SQLSTATE) with the next command. Every request the page makes stays on the
# coordinator. The coordinator asks for a bearer token: the page gets it
# from its address and says 401 without it. Screenshots are saved under
# $SKEIN_BIN/test-output/ (or $SK_SHOTS) and their paths printed.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

command -v chromium >/dev/null ||
	sk_fail "chromium is missing (tests/lib/install-deps.sh installs it)"
/usr/bin/python3 -c 'import websocket' 2>/dev/null ||
	sk_fail "python3-websocket is missing for /usr/bin/python3 (tests/lib/install-deps.sh installs it)"

sk_setup dashboard_browser
shots=${SK_SHOTS:-$SKEIN_BIN/test-output/dashboard_browser}
mkdir -p "$shots"
rm -f "$shots"/*.png

hport=$(sk_free_port)
token=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
printf '%s\n' "$token" >"$SK_WORK/coordinator/http.token"
chmod 600 "$SK_WORK/coordinator/http.token"
SK_COORDINATOR_EXTRA="http:
  listen: 127.0.0.1:$hport
  tokens: [http.token]"
export SK_COORDINATOR_EXTRA
sk_deploy_three
url="http://127.0.0.1:$hport"
# The page itself holds no data: served without the token; the API not.
sk_wait_until 10 curl -sf -m 1 -o /dev/null "$url/" ||
	sk_fail "the coordinator does not serve $url/"
ctype=$(curl -s -m 2 -o /dev/null -w '%{content_type}' "$url/")
sk_assert_eq "text/html; charset=utf-8" "$ctype" "GET / content type"
sk_assert_eq 401 "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$url/api/v1/rollouts")" "the API without the token"

# The browser: its own profile in the work dir, gone with it.
dport=$(sk_free_port)
no_sandbox=()
[[ $(id -u) -eq 0 ]] && no_sandbox=(--no-sandbox)
sk__spawn chromium chromium --headless=new --remote-debugging-address=127.0.0.1 \
	--remote-debugging-port="$dport" --user-data-dir="$SK_WORK/chromium" \
	"${no_sandbox[@]}" --window-size=1366,900 --no-first-run --no-default-browser-check \
	--disable-gpu --disable-extensions --disable-background-networking --disable-sync \
	--disable-component-update --mute-audio about:blank
cdp() {
	/usr/bin/python3 "$SKEIN_SRC/tests/tools/cdp.py" --port "$dport" "$@"
}
cdp ready --timeout 20 || sk_fail "headless Chromium did not come up (see $SK_WORK/logs/chromium.log)"
# JS helpers for the checks: the text of one cell of the grid.
cell() {
	printf "(document.querySelector('#grid td[data-phase=\"%s\"][data-region=\"%s\"]') || {innerText: ''}).innerText" "$1" "$2"
}
body='document.body.innerText'
shot() {
	cdp shot "$shots/$1.png" "${@:2}" || sk_fail "screenshot $1 failed"
}

signed=$(sk_sign_plan "$SKEIN_SRC/examples/quickstart" quickstart)
id=$(sk_skein rollout start "$signed")

# Without the token the page says what is missing.
cdp open "$url/" || sk_fail "the page did not load"
cdp wait "document.getElementById('list-note').innerText.includes('401 unauthorized')" --timeout 10 \
	--show "document.getElementById('list-note').innerText" ||
	sk_fail "the page without a token did not say 401"
# A link to the rollout works: the address names it in its fragment, and
# carries the token, which the page keeps and takes out of the address.
cdp open "$url/#/rollouts/$id&token=$token" || sk_fail "the page did not load"
sk_assert_eq "#/rollouts/$id" "$(cdp eval "location.hash")" "the token is out of the address"
cdp eval "window.__sameLoad = 1" >/dev/null
cdp wait "$(cell canary af).includes('succeeded')" --show "$body" ||
	sk_fail "the canary cell never showed succeeded"
# The rest phase waits for an approval by someone else: its cells pending,
# the page says what it waits for and the command that ends the wait.
cdp wait "document.getElementById('ro-waits').innerText.includes('approval 0/1')" --show "$body" ||
	sk_fail "the page does not say the rollout waits for an approval"
for r in in ksa; do
	sk_assert_contains "$(cdp eval "$(cell rest $r)")" "pending" "$r cell before the approval"
done
sk_assert_contains "$(cdp eval "$body")" "skein rollout approve $id --phase rest" "next command while waiting"
shot canary

# The coordinator restarts mid-rollout: the stream drops, the page says so,
# then reconnects by itself and follows the rollout to its end.
# An open event stream must not keep it from stopping cleanly.
sk_stop coordinator || sk_fail "the coordinator did not stop within ${SK_STOP_TIMEOUT:-30}s"
[[ "${SK_LAST_STATUS:-}" == 0 ]] ||
	sk_fail "the coordinator exited with status ${SK_LAST_STATUS:-unknown} when stopped with the page's stream open (see $SK_WORK/logs/coordinator.log)"
cdp wait "document.getElementById('conn').dataset.state === 'reconnecting'" --timeout 15 \
	--show "document.getElementById('conn').innerText" ||
	sk_fail "the page did not show that its stream dropped"
sk_assert_contains "$(cdp eval "document.getElementById('conn').innerText")" "reconnecting…" "connection line"
shot reconnecting
sk_start_coordinator
cdp wait "document.getElementById('conn').dataset.state === 'live'" --timeout 15 \
	--show "document.getElementById('conn').innerText" ||
	sk_fail "the page did not reconnect after the coordinator restarted"
sk_approve "$id" rest >/dev/null
cdp wait "document.body.dataset.rolloutState === 'succeeded' && ['in', 'ksa'].every(function (r) {
	return (document.querySelector('#grid td[data-phase=\"rest\"][data-region=\"' + r + '\"]') || {innerText: ''}).innerText.includes('succeeded'); })" \
	--timeout 30 --show "$body" || sk_fail "the page never showed every cell succeeded"
sk_assert_eq 1 "$(cdp eval "window.__sameLoad")" "no reload happened"
sk_assert_contains "$(cdp eval "document.getElementById('timeline').innerText")" "rollout succeeded in 3/3 regions" "timeline after the restart"
sk_assert_contains "$(cdp eval "$(cell canary af)")" "succeeded" "canary cell at the end"
shot succeeded --full

# A failing plan, picked from the list: the failed cell names the region,
# the step and the SQLSTATE, and the page gives the next commands.
plan="$SK_WORK/plans/broken-src"
sk_write_plan "$plan" broken 1h "$SK_TWO_PHASES" \
	"0001_create_a=CREATE TABLE a (id int);" \
	"0002_half_done=CREATE TABLE partial_b (id int); INSERT INTO no_such_table VALUES (1);"
bad=$(sk_sign_plan "$plan" broken)
id2=$(sk_skein rollout start "$bad")
if out=$(sk_skein rollout wait "$id2"); then
	sk_fail "the failing plan succeeded: $out"
fi
cdp wait "document.querySelector('#rollouts a[data-id=\"$id2\"]') !== null" --timeout 15 --show "document.getElementById('rollouts').innerText" ||
	sk_fail "the failing rollout never appeared in the list"
cdp eval "document.querySelector('#rollouts a[data-id=\"$id2\"]').click()" >/dev/null
cdp wait "$(cell canary af).includes('42P01')" --show "$body" ||
	sk_fail "the failed cell never showed its SQLSTATE"
failed=$(cdp eval "$(cell canary af)")
for needle in failed af 0002_half_done "SQLSTATE 42P01" no_such_table; do
	sk_assert_contains "$failed" "$needle" "the failed cell names $needle"
done
sk_assert_eq "#/rollouts/$id2" "$(cdp eval "location.hash")" "the address follows the selection"
failure=$(cdp eval "document.getElementById('failure').hidden ? '' : document.getElementById('failure').innerText")
sk_assert_contains "$failure" "region af, database app, step 0002_half_done, SQLSTATE 42P01" "failure panel"
sk_assert_contains "$failure" "skein rollout report $id2" "next command"
sk_assert_contains "$(cdp eval "$(cell rest in)")" "pending" "phase 2 untouched"

# The execution record opens in place, read with the token: the report's
# JSON when the coordinator serves it, else what to run instead.
cdp eval "document.getElementById('report').open = true" >/dev/null
code=$(curl -s -m 5 -o "$SK_WORK/report.json" -w '%{http_code}' -H "Authorization: Bearer $token" "$url/api/v1/rollouts/$id2/report")
if [[ "$code" == 200 ]]; then
	expect="\"$id2\""
else
	expect="does not serve the execution record over HTTP ($code)"
fi
cdp wait "document.getElementById('report-body').innerText.includes('$expect')" --timeout 10 \
	--show "document.getElementById('report-body').innerText" ||
	sk_fail "the execution record did not show (HTTP $code)"
sk_assert_contains "$(cdp eval "document.getElementById('report').innerText")" "In a terminal: skein rollout report $id2" "the report's command"
cdp eval "document.getElementById('report').open = false" >/dev/null
shot failed --full

# A link to a rollout the coordinator does not know: the page says so and
# stops asking; the list is unchanged.
cdp eval "location.hash = '#/rollouts/r-nosuchrollout'" >/dev/null
cdp wait "document.getElementById('conn').dataset.state === 'error'" --timeout 10 \
	--show "document.getElementById('conn').innerText" ||
	sk_fail "the page did not say the rollout is unknown"
sk_assert_eq "no rollout r-nosuchrollout on this coordinator" "$(cdp eval "document.getElementById('conn').innerText")" "unknown rollout"
sk_assert_eq 2 "$(cdp eval "document.querySelectorAll('#rollouts li').length")" "rollouts listed"

# The page threw nothing and fetched nothing from anywhere else.
cdp errors || sk_fail "the page threw JavaScript errors"
sk_assert_eq true "$(cdp eval "performance.getEntriesByType('resource').every(function (e) { return e.name.indexOf(location.origin + '/') === 0; })")" \
	"every request stays on the coordinator"
for f in canary reconnecting succeeded failed; do
	echo "screenshot: $shots/$f.png"
done
echo "PASS dashboard_browser"

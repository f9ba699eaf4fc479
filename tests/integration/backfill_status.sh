#!/usr/bin/env bash
# What an operator sees of a backfill while it runs and after: `rollout
# status` gives each database running one a line of its own (through a
# pipe a plain line, on a terminal a bar), `--json` the same figures as
# numbers; a coordinator restarted while the agent is away shows the same
# line, folded again from its journal; `rollout report` totals the
# backfill per database with the time its throttle query held it.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup backfill_status
sk_deploy_three

rows=24000
for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
	  INSERT INTO t (id) SELECT g FROM generate_series(1, $rows) g; ANALYZE t;
	  CREATE TABLE switch (hold boolean NOT NULL); INSERT INTO switch VALUES (true)" >/dev/null
done
sk_plan_yaml "$SK_WORK/plans/held" held <<'YAML'
  - id: fill
    kind: backfill
    table: t
    update: SET n = n + 1
    batch: { min: 500, max: 2000 }
    throttle_query: SELECT hold FROM switch
YAML
signed=$(sk_sign_plan "$SK_WORK/plans/held" held)
id=$(sk_skein rollout start "$signed")

# 1. Held by its throttle query: the canary's line says why, plainly.
backfill_line() { sk_skein rollout status "$id" | grep -F "af/app  backfill fill  "; }
sk_wait_until 30 backfill_line || sk_fail "status never showed the backfill: $(sk_skein rollout status "$id")"
line=$(backfill_line)
echo "status through a pipe: $line" >&2
sk_assert_contains "$line" "paused: throttle query returned true" "status says why the backfill waits"
sk_assert_contains "$line" "/24,000 rows" "status shows the rows of the key range"
[[ "$line" != *$'\033'* && "$line" != *"["* ]] || sk_fail "a bar or escape codes through a pipe: $line"
json=$(sk_skein rollout status "$id" --json)
python3 - "$json" <<'PY' || sk_fail "status --json lacks the backfill's figures: $json"
import json, sys
v = json.loads(sys.argv[1])
dbs = [d for p in v["phases"] for r in p["regions"] if r["name"] == "af" for d in r["databases"]]
b = dbs[0]["backfill"]
assert b["step"] == "fill" and b["kind"] == "backfill", b
assert b["paused"] is True and b["throttle"] == "throttle query returned true", b
assert b["rows_total"] == 24000 and b["percent"] == 0, b
assert isinstance(b["rate"], float) and isinstance(b["throttled_ms"], int), b
PY

# 2. On a terminal: a bar, fitted to its width (tmux gives the CLI one).
if command -v tmux >/dev/null 2>&1; then
	tsock="$SK_WORK/tmux.sock"
	cat >"$SK_WORK/status-tty" <<EOF
#!/usr/bin/env bash
export TERM=xterm-256color SKEIN_KEY='$SKEIN_KEY' SKEIN_TLS_CA='${SKEIN_TLS_CA:-}'
'$SKEIN_BIN/skein' rollout status '$id' --coordinator '$SK_CONTROL_URL' >'$SK_WORK/status-tty.out' 2>&1
echo "rc=\$?" >>'$SK_WORK/status-tty.out'
'$SKEIN_BIN/skein' rollout status '$id' --coordinator '$SK_CONTROL_URL'
sleep 30
EOF
	chmod +x "$SK_WORK/status-tty"
	tmux -S "$tsock" new-session -d -x 150 -y 40 "$SK_WORK/status-tty"
	sk_wait_until 20 grep -q "rc=" "$SK_WORK/status-tty.out" ||
		sk_fail "status on a terminal did not finish: $(cat "$SK_WORK/status-tty.out" 2>/dev/null)"
	sleep 0.5
	pane=$(tmux -S "$tsock" capture-pane -p -J)
	tmux -S "$tsock" kill-server 2>/dev/null || true
	sk_assert_contains "$(cat "$SK_WORK/status-tty.out")" "rc=0" "status on a terminal"
	bar=$(grep -F "af/app  backfill fill  [" <<<"$pane") || sk_fail "no bar on a terminal: $pane"
	echo "status on a terminal: $bar" >&2
	[[ "$bar" =~ \[\.{10,40}\]\ \ 0%\ \ 0/24,000\ rows\ \ paused:\ throttle\ query\ returned\ true ]] ||
		sk_fail "the bar is not as expected: $bar"
	((${#bar} <= 149)) || sk_fail "the bar line is wider than the terminal (${#bar}): $bar"
	# --no-color on the same terminal: the plain line.
	sk_assert_contains "$(sk_skein rollout status "$id" --no-color)" "af/app  backfill fill  0%" "--no-color"
else
	echo "backfill_status: no tmux here; the bar on a terminal is checked by coordinator.status_progress only" >&2
fi

# 3. A coordinator restarted while af's agent is away (no report can
# refresh it) shows the same line: folded again from the journal.
sk_stop agent-af >/dev/null
before=$(backfill_line)
sk_stop coordinator >/dev/null
sk_start_coordinator
after=$(backfill_line) || sk_fail "after a restart, status lost the backfill: $(sk_skein rollout status "$id")"
sk_assert_eq "$before" "$after" "the backfill's line after a coordinator restart"
sk_start_agent af
held() { (($(grep -c "backfill fill: throttle query returned true" "$SK_WORK/logs/agent-af.log") >= 2)); }
sk_wait_until 30 held || sk_fail "the backfill was not held again after the agent's restart"

# 4. Released, it runs to its end; the report totals it.
for r in af in ksa; do sk_rpsql "$r" "UPDATE switch SET hold = false" >/dev/null; done
out=$(sk_skein rollout wait "$id" --timeout 90s) || sk_fail "the backfill did not finish once released: $out"
sk_assert_eq "$rows|1" "$(sk_rpsql af "SELECT count(*), max(n) FROM t WHERE n = 1")" "af: every row once"
md=$(sk_skein rollout report "$id")
sk_assert_contains "$md" "## Backfills" "the report's backfills"
row=$(grep -E '^\| af \| app \| fill \| applied \| ' <<<"$md") || sk_fail "no backfill row for af/app: $md"
echo "report: $row" >&2
[[ "$row" =~ \|\ query\ [0-9.]+m?s ]] || sk_fail "the time held by the throttle query is not in: $row"
report=$(sk_skein rollout report "$id" --format json)
python3 - "$report" <<'PY' || sk_fail "the report's JSON lacks the backfill's totals: $report"
import json, sys
r = json.loads(sys.argv[1])
for g in r["regions"]:
    for d in g["databases"]:
        s = [s for s in d["steps"] if s["id"] == "fill"][0]
        b = s["backfill"]
        assert b is not None and b["batches"] > 0 and b["rows"] == 24000, (g["name"], s)
        assert b["throttled_ms"] >= b["throttled_by"]["query"], (g["name"], b)
        assert b["rows_per_second"] > 0, (g["name"], b)
        # Only the canary was released while held (the others started after).
        assert g["name"] != "af" or b["throttled_by"]["query"] > 0, b
        assert set(b["throttled_by"]) == {"operator", "coordinator", "lag", "query", "autovacuum", "rate"}, b
PY
# The step has ended: no database of a finished rollout shows a backfill.
[[ "$(sk_skein rollout status "$id")" != *"backfill fill"* ]] || sk_fail "a finished backfill is still shown"
echo "PASS backfill_status"

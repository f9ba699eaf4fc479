#!/usr/bin/env bash
# `skein rollout wait` on a terminal, in a pipe and with --json, all
# following one real rollout of two phases whose canary (af) waits ~2 s
# for a lock held by an open transaction, then the other regions run:
#
#   - on a terminal (a detached tmux session, 120x30): the live view draws
#     the phases and regions, the step af is at with an elapsed time that
#     ticks, the lock's holder by pid, then the bar of af's backfill
#     (held by its throttle query until the test lets it go); it is redrawn in place (the pane's
#     whole history holds each region's line once), no line reaches the
#     last column, colours are used; when it ends every region shows
#     succeeded and the final line follows. Under NO_COLOR=1 the same
#     view has no colour codes (capture-pane -e). On a 60x6 terminal the
#     lines are cut to 59 columns and the block to the screen, and the
#     history still holds no region's line twice.
#   - in a pipe: no escape sequence, the lock wait is one line when it
#     starts and one when it ends (with its duration), the final line as
#     before.
#   - --json: every line is a JSON object, the events as the HTTP event
#     stream's, the last the outcome; `rollout start --json` prints the
#     rollout's id, plan, plan_id, mode and regions.
#   - bad flag combinations are usage errors that start nothing.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

command -v tmux >/dev/null || sk_fail "tmux is not installed (tests/lib/install-deps.sh)"
command -v jq >/dev/null || sk_fail "jq is not installed (tests/lib/install-deps.sh)"

sk_setup rollout_live_view
sk_deploy_three
for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE t (id int PRIMARY KEY);
	  INSERT INTO t SELECT generate_series(1, 2000); ANALYZE t;
	  CREATE TABLE switch (hold boolean NOT NULL); INSERT INTO switch VALUES (true)" >/dev/null
done

dir="$SK_WORK/plans/live"
sk_plan_yaml "$dir" live "defaults:
  lock_timeout: 300ms
  lock_retries: 30
  retry_backoff: 200ms" <<'EOF'
  - id: 0001_alter
    sql: 0001_alter.sql
  - id: 0002_more
    sql: 0002_more.sql
  - id: fill
    kind: backfill
    table: t
    update: SET c = 1
    batch: { min: 500, max: 1000 }
    throttle_query: SELECT hold FROM switch
EOF
echo "ALTER TABLE t ADD COLUMN c int;" >"$dir/0001_alter.sql"
echo "ALTER TABLE t ADD COLUMN d int;" >"$dir/0002_more.sql"
signed=$(sk_sign_plan "$dir" live)

# ---- bad flags: usage errors, nothing started ----------------------------
# bad NEEDLE ARGS...: skein rollout ARGS exits 2 saying NEEDLE.
bad() {
	local needle=$1 rc=0 out
	shift
	out=$(sk_skein rollout "$@" 2>&1) || rc=$?
	sk_assert_eq 2 "$rc" "rollout $*: exit status ($out)"
	sk_assert_contains "$out" "$needle" "rollout $*: the message"
}
bad "--json with --rehearse" start --rehearse "$signed" --json
bad "--json with --quiet" wait r-x --json --quiet
bad "--watch (only status does" start "$signed" --watch
bad "--json with --watch" status r-x --watch --json
bad "status --watch takes exactly one rollout ID" status --watch
sk_assert_eq "no rollouts" "$(sk_skein rollout status)" "the bad flags started nothing"

# ---- the rollout, its canary held up by a reader of t --------------------
sk_session reader pg af_app
sk_session_send reader "BEGIN; SELECT count(*) FROM t;"
rpid=$(sk_session_pid pg af_app reader) || sk_fail "the reader never connected"
sk_wait_until 10 test "$(sk_psql pg af_app "SELECT count(*) FROM pg_locks WHERE pid = $rpid AND relation = 't'::regclass AND granted")" = 1 ||
	sk_fail "the reader never got its lock on t"

started=$(sk_skein rollout start "$signed" --json)
id=$(jq -r .id <<<"$started")
[[ "$id" == r-* ]] || sk_fail "start --json: no id in $started"
sk_assert_eq "live apply af,in,ksa" "$(jq -r '[.plan, .mode, (.regions | join(","))] | join(" ")' <<<"$started")" "start --json"
[[ "$(jq -r .plan_id <<<"$started")" =~ ^p-[a-z0-9]+$ ]] || sk_fail "start --json: plan_id: $started"
sk_assert_eq '["id","plan","plan_id","mode","regions"]' "$(jq -c keys_unsorted <<<"$started")" "start --json keys"

# A pipe and --json follow it in the background.
skein=$(sk__bin skein)
sk__coord_ports
run_wait() {
	SKEIN_KEY=$SK_WORK/keys/admin.key "$skein" rollout wait "$id" --coordinator "$SK_CONTROL_URL" "$@"
}
run_wait >"$SK_WORK/plain.out" 2>"$SK_WORK/plain.err" &
plain=$!
run_wait --json >"$SK_WORK/json.out" 2>"$SK_WORK/json.err" &
json=$!

# Two terminals, 120x30: with colours, and with NO_COLOR=1.
sock="$SK_WORK/tmux.sock"
sk__spawn tmux tmux -S "$sock" -f /dev/null -D
sk_wait_until 5 test -S "$sock" || sk_fail "the tmux server never made its socket"
# And a small one, 60x6: lines cut to 59 columns, the block to 5 lines.
for s in live mono small; do
	nc=""
	[[ $s == mono ]] && nc="NO_COLOR=1"
	cat >"$SK_WORK/$s.sh" <<EOF
export TERM=xterm-256color SKEIN_KEY=$SK_WORK/keys/admin.key SKEIN_TLS_CA=${SKEIN_TLS_CA:-} $nc
"$skein" rollout wait "$id" --coordinator "$SK_CONTROL_URL"
echo "EXIT=\$?"
EOF
	size="-x 120 -y 30"
	[[ $s == small ]] && size="-x 60 -y 6"
	# shellcheck disable=SC2086 # two options
	tmux -S "$sock" new-session -d -s "$s" $size "bash $SK_WORK/$s.sh; sleep 600"
done
cap() { tmux -S "$sock" capture-pane -p -t "$1" "${@:2}"; }
shows() { cap "$1" | grep -qF -- "$2"; }

sk_wait_until 15 shows live "waiting for a lock held by pid $rpid" ||
	sk_fail "the live view never showed the lock holder: $(cap live)"
screen=$(cap live)
for want in "rollout $id" "plan live" "phase 1/2 canary" "phase 2/2 rest" "at app/0001_alter (" "waits for a lock"; do
	sk_assert_contains "$screen" "$want" "the live view"
done
for r in af in ksa; do
	grep -qE "^    $r +(pending|dispatched|running) " <<<"$screen" || sk_fail "no line for region $r: $screen"
done
# The step's time moves while it waits.
step_time() { cap live | grep -E '^    af ' | grep -oE 'at app/0001_alter \([0-9hms]+\)'; }
t1=$(step_time)
sleep 1.3
t2=$(step_time)
[[ -n "$t1" && "$t1" != "$t2" ]] || sk_fail "the step's elapsed time did not move: '$t1' then '$t2'"
echo "ticking: $t1 -> $t2"
echo "--- the terminal while af waits:"
cap live | sed '/^$/d'
sleep 0.8 # another report of the same wait

small=$(cap small)
sk_assert_contains "$small" "more lines (a taller terminal shows them)" "the small terminal: the block is cut"
sk_assert_eq "" "$(awk 'length($0) > 59' <<<"$small")" "the small terminal: lines within 59 columns"
sk_session_send reader "COMMIT;"
# The backfill, held by its throttle query: a bar and why it waits.
bar() { cap "$1" | grep -E "^    af/app +backfill fill +\[[#.]+\] .*paused: throttle query returned true"; }
sk_wait_until 20 bar live || sk_fail "the live view never showed af's backfill bar: $(cap live)"
sk_wait_until 5 bar mono || sk_fail "NO_COLOR: no backfill bar: $(cap mono)"
echo "--- the terminal while af's backfill is held:"
cap live | sed '/^$/d' | tail -n 8
for r in af in ksa; do
	sk_rpsql "$r" "UPDATE switch SET hold = false" >/dev/null
done
for s in live mono small; do
	sk_wait_until 20 shows "$s" "EXIT=" || sk_fail "$s: wait never ended: $(cap "$s")"
done
wait "$plain" || sk_fail "the piped wait failed: $(cat "$SK_WORK/plain.out" "$SK_WORK/plain.err")"
wait "$json" || sk_fail "wait --json failed: $(cat "$SK_WORK/json.out" "$SK_WORK/json.err")"

final=$(cap live)
echo "--- the terminal at the end:"
echo "$final" | sed '/^$/d'
sk_assert_contains "$final" "rollout $id: succeeded in 3/3 regions" "the final line"
sk_assert_contains "$final" "EXIT=0" "the exit status"
for r in af in ksa; do
	grep -qE "^    $r +succeeded +[0-9hms]+  3/3 steps" <<<"$final" || sk_fail "region $r not shown succeeded: $final"
done
# Redrawn in place: the whole history (scrollback too) has each region's
# line once, and no line reaches the last column.
for s in live mono; do
	hist=$(cap "$s" -S -)
	for r in af in ksa; do
		n=$(grep -cE "^    $r +[a-z-]+ " <<<"$hist" || true)
		sk_assert_eq 1 "$n" "$s: lines of region $r in the pane's history"
	done
	long=$(awk 'length($0) > 119' <<<"$hist")
	[[ -z "$long" ]] || sk_fail "$s: lines wider than 119 columns: $long"
done
# The small one: never a region's line twice in its history either.
hist=$(cap small -S -)
for r in af in ksa; do
	n=$(grep -cE "^    $r +[a-z-]+ " <<<"$hist" || true)
	((n <= 1)) || sk_fail "small: $n lines of region $r in the pane's history: $hist"
done
sk_assert_eq "" "$(awk 'length($0) > 59' <<<"$hist")" "small: lines within 59 columns"
sk_assert_contains "$hist" "EXIT=0" "small: the exit status"
grep -qP '\x1b\[3[0-9]m' <<<"$(cap live -e -S -)" || sk_fail "no colours on the terminal without NO_COLOR"
if grep -qP '\x1b\[[0-9;]*m' <<<"$(cap mono -e -S -)"; then
	sk_fail "NO_COLOR=1: colour codes on the terminal: $(cap mono -e | grep -P '\x1b\[' | head -3 | cat -v)"
fi
sk_stop tmux >/dev/null

# ---- the pipe ------------------------------------------------------------
out=$(cat "$SK_WORK/plain.out")
if grep -qP '\x1b' <<<"$out"; then
	sk_fail "escape sequences in a pipe: $(cat -v <<<"$out")"
fi
sk_assert_eq 1 "$(grep -c 'af/app: step 0001_alter waits for a lock' <<<"$out" || true)" "a lock wait's first line, once: $out"
sk_assert_eq 1 "$(grep -cE 'af/app: step 0001_alter stopped waiting for a lock after [0-9.]+m?s' <<<"$out" || true)" "a lock wait's end, once: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "the pipe's final line"

# ---- --json --------------------------------------------------------------
jq -e . "$SK_WORK/json.out" >/dev/null || sk_fail "wait --json printed something not JSON: $(cat "$SK_WORK/json.out")"
nev=$(jq -s '[.[] | select(has("seq"))] | length' "$SK_WORK/json.out")
((nev >= 6)) || sk_fail "wait --json: $nev events"
sk_assert_eq 0 "$(jq -s '[.[] | select(has("seq")) | select((keys_unsorted != ["seq","time","region","step","message"]) or (.time | test("^[0-9-]+T[0-9:]+Z$") | not))] | length' "$SK_WORK/json.out")" \
	"every event has seq, time, region, step, message"
sk_assert_eq "succeeded $id succeeded 3 3 succeeded" \
	"$(tail -n 1 "$SK_WORK/json.out" | jq -r '[.outcome, .id, .state, .regions_succeeded, .regions_total, .rollout.state] | join(" ")')" "the last object"
sk_assert_eq 1 "$(jq -s '[.[] | select(has("outcome"))] | length' "$SK_WORK/json.out")" "one outcome object"
# The agent reported the wait more than once (JSON has every event); the
# pipe folded them into one line.
nlock=$(jq -s '[.[] | select(has("seq")) | select(.message | test("waits for a lock"))] | length' "$SK_WORK/json.out")
((nlock >= 2)) || sk_fail "wait --json: $nlock lock-wait events, expected the agent's repeats"

# status --watch off a terminal, once it has ended: the final line, 0.
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(sk_skein rollout status "$id" --watch | tail -n 1)" "status --watch"
echo "PASS rollout_live_view"

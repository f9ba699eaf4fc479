#!/usr/bin/env bash
# Bad input to `skein rollout` from the operator's seat, against a live
# three-region deployment. Each gets a clear error and the documented exit
# code (0 ok, 1 failure, 2 usage), and changes nothing: no rollout is
# started, no database changes.
#   - every subcommand answers --help (exit 0, on stdout);
#   - usage errors (exit 2): unknown option, missing ID or option value,
#     --format xml, --json with --format md, --timeout garbage; a pause,
#     resume or tune with another's options, a tune of nothing, a batch
#     or rate that is not a number in range, batch_min above batch_max;
#   - refusals (exit 1): unknown rollout id (report, rollback, wait,
#     pause, resume, tune), rollback of a running rollout,
#     --region of a region not in the plan, rollback of a rehearsal,
#     rollback twice, rollback of a rollout a later apply superseded,
#     rehearsal and rollback of an expired plan;
#   - `report` of a running rollout says the record is partial;
#   - `start --rehearse` with one agent down ends within --timeout, naming
#     the silent region, and changes nothing.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_cli_rollout
# A rollback backs each database up before its first revert.
mkdir -p "$SK_WORK/backups"
SK_AGENT_EXTRA="backup_dir: $SK_WORK/backups" sk_deploy_three
skein=$SKEIN_BIN/skein
for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL);
		INSERT INTO accounts SELECT g, 'acct-' || g FROM generate_series(1, 10) g;" >/dev/null
done

# run RC_VAR OUT_VAR CMD...: run CMD, keeping its exit status and output.
run() {
	local __rc=$1 __out=$2 __o __s
	shift 2
	set +e
	__o=$("$@" 2>&1)
	__s=$?
	set -e
	printf -v "$__rc" '%s' "$__s"
	printf -v "$__out" '%s' "$__o"
}
# expect RC NEEDLE MESSAGE CMD...: CMD exits RC and says NEEDLE.
expect() {
	local want=$1 needle=$2 msg=$3 rc out
	shift 3
	run rc out "$@"
	sk_assert_eq "$want" "$rc" "$msg: exit status (output: $out)"
	sk_assert_contains "$out" "$needle" "$msg"
}
nrollouts() { sk_skein rollout status | grep -c '^rollout ' || true; }
snapshot() { for r in af in ksa; do sk_db_snapshot "$r"; done; }

# 1. --help: every subcommand, exit 0, usage on stdout.
for sub in "" start status wait rollback report pause resume tune; do
	# shellcheck disable=SC2086 # "" means no subcommand
	out=$("$skein" rollout $sub --help 2>/dev/null) || sk_fail "rollout $sub --help failed"
	sk_assert_contains "$out" "Usage:" "rollout $sub --help prints its usage"
	sk_assert_contains "$out" "Exit status: 0" "rollout $sub --help states its exit codes"
	[ -z "$sub" ] || sk_assert_contains "$out" "Example" "rollout $sub --help has an example"
done
for sub in "" build lint sign verify show; do
	# shellcheck disable=SC2086 # "" means no subcommand
	out=$("$skein" plan $sub --help 2>/dev/null) || sk_fail "plan $sub --help failed"
	sk_assert_contains "$out" "Exit status: 0" "plan $sub --help states its exit codes"
	[ -z "$sub" ] || sk_assert_contains "$out" "Example" "plan $sub --help has an example"
done
out=$("$skein" rollout rollback --help)
sk_assert_contains "$out" "--region R" "rollback --help names --region"
sk_assert_contains "$out" "--no-backup" "rollback --help names --no-backup"
out=$("$skein" rollout start --help)
sk_assert_contains "$out" "--reapply" "start --help names --reapply"
out=$("$skein" rollout report --help)
sk_assert_contains "$out" "--format F" "report --help names --format"

# 2. Usage errors: exit 2, the error names what is wrong, nothing starts.
before=$(snapshot)
expect 2 "start: unknown option --bogus" "unknown option" sk_skein rollout start --bogus x
expect 2 "rollback takes exactly one rollout ID" "rollback without an id" sk_skein rollout rollback --yes
expect 2 "report takes exactly one rollout ID" "report without an id" sk_skein rollout report
expect 2 "rollback takes exactly one rollout ID" "rollback of two ids" sk_skein rollout rollback --yes r-a r-b
expect 2 "'xml' is neither md nor json" "report --format xml" sk_skein rollout report r-a --format xml
expect 2 "--json and --format md disagree" "report --json --format md" sk_skein rollout report r-a --json --format md
expect 2 'parse duration "garbage"' "--timeout garbage" sk_skein rollout wait r-a --timeout garbage
expect 2 "wait: --timeout needs a value" "--timeout without a value" "$skein" rollout wait r-a --coordinator "$SK_CONTROL_URL" --timeout
expect 2 "rollback does not take --timeout or --quiet without --wait" "rollback --timeout" sk_skein rollout rollback --yes r-a --timeout 5s
expect 2 "'bad name' is not a region name" "--region with a bad name" sk_skein rollout rollback --yes r-a --region "bad name"
expect 2 "report does not take that option" "report --region" sk_skein rollout report r-a --region af
expect 2 "status does not take --rehearse" "status --rehearse" sk_skein rollout status --rehearse
expect 2 "start does not take --region, --wait, --format, --quiet or --no-backup" "start --no-backup" sk_skein rollout start x --no-backup
expect 2 "status does not take --no-backup (only rollback does)" "status --no-backup" sk_skein rollout status --no-backup
expect 2 "start does not take --reapply with --rehearse" "start --rehearse --reapply" sk_skein rollout start --rehearse x --reapply
expect 2 "rollback does not take --reapply (only start does)" "rollback --reapply" sk_skein rollout rollback --yes r-a --reapply
expect 2 "start does not take --no-color (only status, wait and rollback --wait do)" "start --no-color" sk_skein rollout start x --no-color
expect 2 "rollback does not take --no-color (only status, wait and rollback --wait do)" "rollback --no-color" sk_skein rollout rollback --yes r-a --no-color
expect 2 "report does not take --no-color (only status, wait and rollback --wait do)" "report --no-color" sk_skein rollout report r-a --no-color
expect 2 "pause takes exactly one rollout ID" "pause without an id" sk_skein rollout pause
expect 2 "resume takes exactly one rollout ID" "resume of two ids" sk_skein rollout resume r-a r-b
expect 2 "pause does not take --max-rows-per-second, --batch-min or --batch-max (only tune does)" "pause --batch-max" sk_skein rollout pause r-a --batch-max 5
expect 2 "resume does not take --reason (only pause does)" "resume --reason" sk_skein rollout resume r-a --reason why
expect 2 "start does not take --reason or --max-rows-per-second" "start --reason" sk_skein rollout start x --reason why
expect 2 "status does not take --reason (only pause does)" "status --reason" sk_skein rollout status --reason why
expect 2 "pause --reason: give it on one line" "a reason of two lines" sk_skein rollout pause r-a --reason "$(printf 'two\nlines')"
expect 2 "tune: nothing to tune" "tune of nothing" sk_skein rollout tune r-a
expect 2 "tune: --batch-min 10 is above --batch-max 5" "tune batch_min above batch_max" sk_skein rollout tune r-a --batch-min 10 --batch-max 5
expect 2 "tune --batch-max: 'lots' is not a number of rows in [1, 1000000]" "tune --batch-max lots" sk_skein rollout tune r-a --batch-max lots
expect 2 "tune --batch-min: '-3' is not a number of rows" "tune --batch-min -3" sk_skein rollout tune r-a --batch-min -3
expect 2 "tune --batch-max: '2000000' is not a number of rows" "tune --batch-max too large" sk_skein rollout tune r-a --batch-max 2000000
expect 2 "(none removes the limit; to stop, skein rollout pause)" "tune --max-rows-per-second 0" sk_skein rollout tune r-a --max-rows-per-second 0
expect 2 "'-1' is not a positive number of rows a second" "tune a negative rate" sk_skein rollout tune r-a --max-rows-per-second -1
expect 2 "tune --max-rows-per-second: 'nan' is not a positive number" "tune a rate of nan" sk_skein rollout tune r-a --max-rows-per-second nan

# 3. Unknown rollout: exit 1, named, with a hint.
expect 1 "skein rollout report: no rollout r-nosuchrollout" "report of an unknown rollout" sk_skein rollout report r-nosuchrollout
expect 1 "hint: skein rollout status lists the rollouts" "report hint" sk_skein rollout report r-nosuchrollout
expect 1 "roll back rollout r-nosuchrollout: no such rollout" "rollback of an unknown rollout" sk_skein rollout rollback --yes r-nosuchrollout
expect 1 "skein rollout wait: no rollout r-nosuchrollout" "wait for an unknown rollout" sk_skein rollout wait r-nosuchrollout
expect 1 "skein rollout pause: pause rollout r-nosuchrollout: no such rollout" "pause of an unknown rollout" sk_skein rollout pause r-nosuchrollout
expect 1 "resume rollout r-nosuchrollout: no such rollout" "resume of an unknown rollout" sk_skein rollout resume r-nosuchrollout
expect 1 "tune rollout r-nosuchrollout: no such rollout" "tune of an unknown rollout" sk_skein rollout tune r-nosuchrollout --batch-max 100
sk_assert_eq 0 "$(nrollouts)" "no rollout started by bad input"
sk_assert_same_dump "$before" "$(snapshot)" "bad input changed a database"

# 4. A running rollout: a session in `in` holds a lock the step needs,
# with retries enough to keep the rollout running while we poke at it.
plan="$SK_WORK/plans/cli-src"
sk_plan_yaml "$plan" cli 'defaults:
  lock_timeout: 200ms
  lock_retries: 30
  retry_backoff: 200ms' <<'EOF'
  - id: 0001_add_note
    sql: 0001_add_note.sql
    revert: 0001_add_note.revert.sql
EOF
echo "ALTER TABLE accounts ADD COLUMN note text;" >"$plan/0001_add_note.sql"
echo "ALTER TABLE accounts DROP COLUMN note;" >"$plan/0001_add_note.revert.sql"
signed=$(sk_sign_plan "$plan" cli)
# A plan signed by a key the coordinator does not pin: refused, with what
# to do, and nothing started.
"$skein" keygen --out "$SK_WORK/keys/stranger" >/dev/null
"$skein" plan sign "$SK_WORK/plans/cli.plan" --key "$SK_WORK/keys/stranger.key" -o "$SK_WORK/plans/stranger.signed" >/dev/null
n=$(nrollouts)
expect 1 "is not a pinned key" "a plan signed by an unpinned key" sk_skein rollout start "$SK_WORK/plans/stranger.signed"
expect 1 "hint: this coordinator takes plans signed by the release keys of its coordinator.yaml" "and what to do" \
	sk_skein rollout start "$SK_WORK/plans/stranger.signed"
sk_assert_eq "$n" "$(nrollouts)" "the unpinned plan started nothing"
sk_session holder pg in_app
sk_session_send holder "BEGIN; SELECT count(*) FROM accounts;"
sk_session_pid pg in_app holder >/dev/null || sk_fail "the lock holder did not connect"
id=$(sk_skein rollout start "$signed")
sk_wait_until 30 bash -c "'$skein' rollout status $id --coordinator '$SK_CONTROL_URL' | grep -q 'waiting for a lock'" ||
	sk_fail "the step never waited for the lock: $(sk_skein rollout status "$id")"
n=$(nrollouts)
expect 1 "roll back rollout $id: it is still running" "rollback of a running rollout" sk_skein rollout rollback --yes "$id"
expect 1 "hint: wait for it to end (skein rollout wait $id)" "and what to do" sk_skein rollout rollback --yes "$id" --region in
md=$(sk_skein rollout report "$id") || sk_fail "report of a running rollout failed: $md"
sk_assert_contains "$md" "| State | running |" "the record of a running rollout says so"
sk_assert_contains "$md" "the rollout is still running: this record is partial" "and that it is partial"
json=$(sk_skein rollout report "$id" --format json)
python3 -c 'import json,sys; d=json.load(sys.stdin); assert any("still running" in n for n in d["notes"]), d["notes"]' <<<"$json" ||
	sk_fail "the JSON record of a running rollout has no note: $json"
sk_assert_eq "$n" "$(nrollouts)" "refused rollbacks started nothing"
sk_session_send holder "COMMIT;"
out=$(sk_skein rollout wait "$id" --timeout 60s) || sk_fail "the rollout failed once the lock was freed: $out"
md=$(sk_skein rollout report "$id")
[[ "$md" != *"this record is partial"* ]] || sk_fail "a finished rollout's record says it is partial: $md"
# The lock waits are the lock timeouts the agent counted (the ledger's
# lock_waits), however many LOCK_WAIT reports it sent meanwhile: the
# holder was a long transaction, so the step waited for it without
# queueing (reporting LOCK_WAIT every second) and may have met no lock
# timeout at all.
ledger=$(sk_rpsql in "SELECT lock_waits || ' ' || attempts FROM skein.steps WHERE plan_name = 'cli'")
waited=$(sk_rpsql in "SELECT lock_wait_ms FROM skein.steps WHERE plan_name = 'cli'")
((waited > 0)) || sk_fail "the step in 'in' spent no time waiting for its lock: $waited ms"
json=$(sk_skein rollout report "$id" --format json)
got=$(python3 -c 'import json,sys; d=json.load(sys.stdin)
r=[g for g in d["regions"] if g["name"] == "in"][0]
s=r["databases"][0]["steps"][0]
print(s["lock_waits"], s["attempts"])' <<<"$json")
sk_assert_eq "$ledger" "$got" "in: lock waits and attempts in the record match the ledger"

# 5. Rollback: a region the plan lacks, a rehearsal, twice, superseded.
expect 1 "plan cli has no region mars (its regions: af, in, ksa)" "rollback --region mars" sk_skein rollout rollback --yes "$id" --region mars
out=$(sk_skein rollout start --rehearse "$signed" --timeout 60s 2>/dev/null) || sk_fail "the rehearsal was not READY: $out"
rh=$(tail -n 1 <<<"$out" | cut -d' ' -f2 | tr -d :)
expect 1 "it is a rehearsal, which changed nothing" "rollback of a rehearsal" sk_skein rollout rollback --yes "$rh"
n=$(nrollouts)
out=$(sk_skein rollout rollback --yes "$id" --region in --wait --quiet) || sk_fail "rollback of in failed: $out"
rb=$(head -n 1 <<<"$out")
expect 1 "rollback $rb already undid it in region in" "rollback of in twice" sk_skein rollout rollback --yes "$id" --region in
out=$(sk_skein rollout rollback --yes "$id" --wait --quiet) || sk_fail "rollback of the rest failed: $out"
rb2=$(head -n 1 <<<"$out")
expect 1 "already undid it in every region it reached" "rollback of everything twice" sk_skein rollout rollback --yes "$id"
sk_assert_eq "$((n + 2))" "$(nrollouts)" "only the two real rollbacks started"
for r in af in ksa; do
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT count(*) FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'note'")" "$r rolled back"
done
again=$(sk_skein rollout start "$signed" --reapply)
sk_skein rollout wait "$again" --quiet >/dev/null || sk_fail "applying again failed"
after_apply=$(snapshot)
expect 1 "rollout $again of plan cli started after it" "rollback of a superseded rollout" sk_skein rollout rollback --yes "$id"
expect 1 "hint: roll back the newest rollout of the plan: skein rollout rollback $again" "names the newest" sk_skein rollout rollback --yes "$id"
sk_assert_same_dump "$after_apply" "$(snapshot)" "a refused rollback changed a database"
[[ "$rb2" == r-* && "$rb2" != "$rb" ]] || sk_fail "the second rollback printed '$rb2'"

# 6. An expired plan: a rehearsal and a rollback are refused, nothing starts.
short="$SK_WORK/plans/short-src"
sk_plan_yaml "$short" short <<'EOF'
  - id: 0001_t
    sql: 0001_t.sql
    revert: 0001_t.revert.sql
EOF
sed -i 's/^expires: 1h$/expires: 4s/' "$short/plan.yaml"
echo "CREATE TABLE short_t (id int);" >"$short/0001_t.sql"
echo "DROP TABLE short_t;" >"$short/0001_t.revert.sql"
ssigned=$(sk_sign_plan "$short" short)
sid=$(sk_skein rollout start "$ssigned")
sk_skein rollout wait "$sid" --quiet --timeout 30s >/dev/null || sk_fail "the short plan did not apply"
sleep 5
before=$(snapshot)
n=$(nrollouts)
expect 1 "expired" "rehearsal of an expired plan" sk_skein rollout start --rehearse "$ssigned" --timeout 10s
expect 1 "agents refuse an expired plan" "rollback of an expired plan" sk_skein rollout rollback --yes "$sid"
expect 1 "hint: build and sign the same plan directory again" "and what to do instead" sk_skein rollout rollback --yes "$sid"
sk_assert_eq "$n" "$(nrollouts)" "nothing started for an expired plan"
sk_assert_same_dump "$before" "$(snapshot)" "an expired plan changed a database"

# 7. A rehearsal with one agent down ends within --timeout, names it.
sk_stop agent-ksa >/dev/null
sk_write_plan "$SK_WORK/plans/r2-src" r2 1h "$SK_TWO_PHASES" "0001_t=CREATE TABLE r2_t (id int);"
r2=$(sk_sign_plan "$SK_WORK/plans/r2-src" r2)
before=$(snapshot)
start=$SECONDS
run rc out sk_skein rollout start --rehearse "$r2" --timeout 3s
sk_assert_eq 1 "$rc" "a rehearsal with a silent region exits 1 (output: $out)"
((SECONDS - start <= 8)) || sk_fail "the rehearsal took $((SECONDS - start))s with --timeout 3s"
sk_assert_contains "$out" "ksa: NO VERDICT: the agent never took the plan" "the silent region is named"
sk_assert_contains "$out" "1 of 3 regions gave no verdict within 3s" "and how many"
sk_assert_contains "$out" "no verdict from 1 (ksa)" "in the summary line"
sk_assert_same_dump "$before" "$(snapshot)" "a rehearsal changed a database"
echo "PASS fault_cli_rollout"

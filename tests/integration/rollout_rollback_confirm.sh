#!/usr/bin/env bash
# The rollback's brakes: `skein rollout rollback ID` lists what it would
# revert (regions with the canary last, databases, steps newest first,
# each revert's first line) and, on a terminal, goes on only for "yes".
# Driven under a pseudo-terminal: "no" changes nothing in any database,
# "yes" reverts everywhere. Off a terminal without --yes it refuses (exit
# 2) and changes nothing; --dry-run prints the listing and changes
# nothing.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup rollout_rollback_confirm
sk_deploy_three

plan="$SK_WORK/plans/confirm-src"
sk_plan_yaml "$plan" confirm 'rollback_backup: false' <<'EOF'
  - id: 0001_widgets
    sql: 0001_widgets.sql
    revert: 0001_widgets.revert.sql
  - id: 0002_widget_rows
    sql: 0002_widget_rows.sql
    revert: 0002_widget_rows.revert.sql
EOF
echo "CREATE TABLE widgets (id int PRIMARY KEY);" >"$plan/0001_widgets.sql"
printf -- '-- the table goes, with its rows\nDROP TABLE widgets;\n' >"$plan/0001_widgets.revert.sql"
echo "INSERT INTO widgets VALUES (1), (2);" >"$plan/0002_widget_rows.sql"
echo "DELETE FROM widgets WHERE id IN (1, 2);" >"$plan/0002_widget_rows.revert.sql"
signed=$(sk_sign_plan "$plan" confirm)
id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id" --quiet) || sk_fail "the rollout failed: $out"

# widgets_everywhere: "af:2 in:2 ksa:2" while the plan is applied.
widgets_everywhere() {
	local r s=""
	for r in af in ksa; do
		s+="$r:$(sk_rpsql "$r" "select coalesce((select count(*) from widgets where to_regclass('widgets') is not null), -1)" 2>/dev/null || echo gone) "
	done
	echo "${s% }"
}
applied="af:2 in:2 ksa:2"
sk_assert_eq "$applied" "$(widgets_everywhere)" "applied everywhere"
nrollouts=$(sk_skein rollout status | grep -c '^rollout ' || true)
[[ "$nrollouts" -ge 1 ]] || sk_fail "rollout status lists no rollout"

# Off a terminal, without --yes: refused, nothing done.
rc=0
out=$(sk_skein rollout rollback "$id" 2>&1) || rc=$?
sk_assert_eq 2 "$rc" "rollback off a terminal without --yes: exit status"
sk_assert_contains "$out" "not on a terminal, so nobody can confirm it; nothing was done. Pass --yes" "the refusal says why and what to do"
sk_assert_eq "$applied" "$(widgets_everywhere)" "the refused rollback changed nothing"

# The options are rollback's alone, and a dry run does nothing else.
rc=0
out=$(sk_skein rollout rollback "$id" --dry-run --yes 2>&1) || rc=$?
sk_assert_eq 2 "$rc" "--dry-run with --yes: exit status"
sk_assert_contains "$out" "rollback does not take --dry-run with --yes or --wait" "--dry-run with --yes is refused"
rc=0
out=$(sk_skein rollout start "$signed" --yes 2>&1) || rc=$?
sk_assert_eq 2 "$rc" "start --yes: exit status"
sk_assert_contains "$out" "start does not take --yes or --dry-run (only rollback does)" "start --yes is refused"

# --dry-run: the listing, nothing done.
out=$(sk_skein rollout rollback "$id" --dry-run) || sk_fail "rollback --dry-run failed: $out"
expected="rollout $id (plan confirm): a rollback reverts, canary last:
  region in (phase rest)
    database app
      0002_widget_rows             DELETE FROM widgets WHERE id IN (1, 2);
      0001_widgets                 DROP TABLE widgets;
  region ksa (phase rest)
    database app
      0002_widget_rows             DELETE FROM widgets WHERE id IN (1, 2);
      0001_widgets                 DROP TABLE widgets;
  region af (phase canary)
    database app
      0002_widget_rows             DELETE FROM widgets WHERE id IN (1, 2);
      0001_widgets                 DROP TABLE widgets;
No backup is taken first (the plan says rollback_backup: false).
Dry run: nothing was reverted."
sk_assert_eq "$expected" "$out" "the dry run's listing"
out=$(sk_skein rollout rollback "$id" --dry-run --region af) || sk_fail "rollback --dry-run --region af failed: $out"
[[ "$out" != *"region in"* && "$out" == *"region af (phase canary)"* ]] || sk_fail "--region af lists only af: $out"
sk_assert_eq "$applied" "$(widgets_everywhere)" "the dry run changed nothing"

# On a terminal: the command runs under a pseudo-terminal and gets ANSWER
# after its question; prints what it wrote and exits with its status.
on_tty() {
	local answer=$1
	shift
	SKEIN_KEY=$SK_WORK/keys/admin.key python3 - "$answer" "$SKEIN_BIN/skein" "$@" --coordinator "$SK_CONTROL_URL" <<'EOPY'
import os, pty, select, sys, time
answer, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out, sent, deadline = b"", False, time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    if not sent and b"Enter a value:" in out:
        os.write(fd, answer.encode() + b"\n")
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
sys.exit(os.waitstatus_to_exitcode(status))
EOPY
}

rc=0
out=$(on_tty no rollout rollback "$id") || rc=$?
sk_assert_eq 1 "$rc" "answering no: exit status"
sk_assert_contains "$out" "region af (phase canary)" "the question comes with the listing"
sk_assert_contains "$out" "Roll back rollout $id? Only 'yes' goes on" "the question"
sk_assert_contains "$out" "Rollback cancelled: nothing was reverted." "answering no cancels"
sk_assert_eq "$applied" "$(widgets_everywhere)" "answering no changed nothing"
sk_assert_eq "$nrollouts" "$(sk_skein rollout status | grep -c '^rollout ' || true)" "answering no started no rollback"

rc=0
out=$(on_tty yes rollout rollback "$id") || rc=$?
sk_assert_eq 0 "$rc" "answering yes: exit status ($out)"
rb=$(grep -o '^r-[a-z0-9]*' <<<"$out" | tail -n 1)
[[ -n "$rb" && "$rb" != "$id" ]] || sk_fail "answering yes printed no rollback id: $out"
out=$(sk_skein rollout wait "$rb" --quiet) || sk_fail "the confirmed rollback failed: $out"
sk_assert_eq "af:gone in:gone ksa:gone" "$(widgets_everywhere)" "answering yes reverted everywhere"

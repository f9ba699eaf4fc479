#!/usr/bin/env bash
# A rollback is a destructive act and is treated as one (issue 8 item 2),
# across three regions whose `notes` table (made by the plan) holds 1,002
# rows the application wrote after the apply:
#   - a rollback in a region whose agent has no backup_dir is refused
#     before any revert, with a hint: every table intact, ledger too;
#   - a rollback backs each database up first: the dump is recorded,
#     shown by status and the report, and restores into a scratch
#     database with the 1,002 rows the revert dropped;
#   - --no-backup: no dump, journaled with who said it (it survives a
#     coordinator kill -9), shown by status and the report;
#   - `rollout start` of the rolled-back plan is refused without
#     --reapply and applies nothing; with it, it applies, journaled with
#     who said it and shown;
#   - two rehearsals of a plan within rehearsal_interval (the default,
#     5m): the second is refused saying when the next is allowed, and
#     nothing runs in any region;
#   - a plan that says rollback_backup: false is rolled back without a
#     dump, even where the agent has no backup_dir, and the record says
#     which plan setting skipped it.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup rollout_rollback_safety
backups=$SK_WORK/backups
mkdir -p "$backups"
SK_AGENT_EXTRA="backup_dir: $backups" sk_deploy_three
# ksa's agent has no backup_dir.
sk_stop agent-ksa >/dev/null
sed -i '/^backup_dir: /d' "$SK_WORK/agents/ksa.yaml"
sk_start_agent ksa

pgbin=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}
nrollouts() { sk_skein rollout status | grep -c '^rollout ' || true; }
ndumps() { find "$backups" -name '*.dump' | wc -l; }
snapshot() { for r in af in ksa; do sk_db_snapshot "$r"; done; }
rows() { sk_rpsql "$1" "SELECT count(*) FROM notes"; }
has_table() { sk_rpsql "$1" "SELECT to_regclass('public.$2') IS NOT NULL"; }
ledger() { # REGION PLAN: "steps reverts"
	sk_rpsql "$1" "SELECT (SELECT count(*) FROM skein.steps WHERE plan_name = '$2') || ' ' ||
		(SELECT count(*) FROM skein.reverts WHERE plan_name = '$2')"
}
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
# json_check JSON PY [ARG...]: run the Python assertions PY on the
# parsed JSON (as d); sys.argv[1:] are the ARGs.
json_check() {
	local json=$1 py=$2
	shift 2
	python3 -c "import json, sys
d = json.load(sys.stdin)
$py" "$@" <<<"$json"
}

# The plan: a table of its own; its revert drops it, rows and all.
plan="$SK_WORK/plans/notes-src"
sk_plan_yaml "$plan" notes <<'EOF'
  - id: 0001_create_notes
    sql: 0001_create_notes.sql
    revert: 0001_create_notes.revert.sql
EOF
echo "CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);" >"$plan/0001_create_notes.sql"
echo "DROP TABLE notes;" >"$plan/0001_create_notes.revert.sql"
signed=$(sk_sign_plan "$plan" notes)

id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id") || sk_fail "the apply failed: $out"
for r in af in ksa; do
	sk_rpsql "$r" "INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 1002) g" >/dev/null
	sk_assert_eq 1002 "$(rows "$r")" "$r: the application wrote 1,002 notes"
done

# 1. An agent without backup_dir refuses the rollback before any revert.
before=$(snapshot)
run rc out sk_skein rollout rollback --yes "$id" --region ksa --wait
sk_assert_eq 1 "$rc" "the rollback in ksa without a backup_dir (output: $out)"
rb_ksa=$(head -n 1 <<<"$out")
[[ "$rb_ksa" == r-* ]] || sk_fail "no rollback id in: $out"
status=$(sk_skein rollout status "$rb_ksa" --json)
json_check "$status" '
e = d["phases"][0]["regions"][0]["error"]
assert d["state"] == "failed", d["state"]
assert "roll back plan notes in ksa/app: refused: back up ksa/app before rolling back plan notes" in e["message"], e
assert "agent.yaml sets no backup_dir" in e["message"], e
assert "set backup_dir in agent.yaml" in e["hint"] and "--no-backup" in e["hint"], e
' || sk_fail "the refusal does not say what, why and what to do: $status"
sk_assert_eq "$before" "$(snapshot)" "a refused rollback changed nothing in any region"
sk_assert_eq 1002 "$(rows ksa)" "ksa: every note is still there"
sk_assert_eq "1 0" "$(ledger ksa notes)" "ksa: the ledger still holds the step"
sk_assert_eq 0 "$(ndumps)" "no dump was taken"

# 2. A rollback backs the database up before its first revert.
out=$(sk_skein rollout rollback --yes "$id" --region in --wait) || sk_fail "the rollback in 'in' failed: $out"
rb_in=$(head -n 1 <<<"$out")
sk_assert_eq f "$(has_table in notes)" "in: the revert dropped notes"
sk_assert_eq "0 1" "$(ledger in notes)" "in: the step is reverted"
sk_assert_eq 1 "$(ndumps)" "one dump: in's"
dump=$(sk_rpsql in "SELECT path FROM skein.backups WHERE rollout_id = '$rb_in'")
[[ "$dump" == "$backups/in_app_notes_${rb_in}_"*.dump && -s "$dump" ]] ||
	sk_fail "in: the recorded dump '$dump' is not in $backups"
list=$("$pgbin/pg_restore" --list "$dump") || sk_fail "pg_restore --list cannot read $dump"
sk_assert_contains "$list" "TABLE DATA public notes" "the dump holds the notes"
sk_db pg scratch
"$pgbin/pg_restore" --no-owner -d "$(sk_conninfo pg scratch)" "$dump" || sk_fail "the dump does not restore"
sk_assert_eq 1002 "$(sk_psql pg scratch "SELECT count(*) FROM notes")" "1,002 notes in, 1,002 out"
status=$(sk_skein rollout status "$rb_in")
sk_assert_contains "$status" "backup before revert: taken in each database before its first revert" "status: the backup decision"
sk_assert_contains "$status" "in/app: $dump (" "status: where the backup went"
md=$(sk_skein rollout report "$rb_in")
sk_assert_contains "$md" "| Backup before revert | taken in each database before its first revert |" "report: the decision"
sk_assert_contains "$md" "- Backup: \`$dump\`" "report: where, for the database"
json=$(sk_skein rollout report "$rb_in" --format json)
json_check "$json" '
b = d["rollout"]["backup_before_revert"]
assert b["skipped"] is False and b["skipped_by"] == "", b
assert d["rollout"]["reapply"] is None
db = [g for g in d["regions"] if g["name"] == "in"][0]["databases"][0]
assert db["backup"]["path"] == sys.argv[1], db["backup"]
' "$dump" || sk_fail "JSON report of the rollback with a backup: $json"

# 3. --no-backup: no dump, and on record with who said it.
out=$(sk_skein rollout rollback --yes "$id" --region ksa --no-backup --wait) || sk_fail "the rollback --no-backup in ksa failed: $out"
rb_nb=$(head -n 1 <<<"$out")
sk_assert_eq f "$(has_table ksa notes)" "ksa: reverted"
sk_assert_eq 1 "$(ndumps)" "--no-backup took no dump"
sk_assert_eq 0 "$(sk_rpsql ksa "SELECT count(*) FROM skein.backups")" "ksa: no backup recorded"
grep -q "rollout $rb_nb: running plan notes (.*, rollback --no-backup)" "$SK_WORK/logs/agent-ksa.log" ||
	sk_fail "ksa's agent was not told --no-backup: $(tail -n 20 "$SK_WORK/logs/agent-ksa.log")"
sk_kill9 coordinator
sk_start_coordinator
status=$(sk_skein rollout status "$rb_nb")
sk_assert_contains "$status" "backup before revert: skipped: --no-backup by admin (key " "status after a restart: who skipped the backup"
md=$(sk_skein rollout report "$rb_nb")
sk_assert_contains "$md" "| Backup before revert | skipped: --no-backup by admin (key " "report: who skipped the backup"
sk_assert_contains "$md" "- Backup: none (skipped: --no-backup by admin" "report: none taken, and why"
json=$(sk_skein rollout report "$rb_nb" --format json)
json_check "$json" '
b = d["rollout"]["backup_before_revert"]
assert b["skipped"] is True and b["skipped_by"] == "--no-backup", b
assert b["operator"] == "admin" and len(b["operator_key"]) == 16, b
' || sk_fail "JSON report of the rollback --no-backup: $json"

# 4. The rolled-back plan is not applied again without --reapply.
before=$(snapshot)
n=$(nrollouts)
run rc out sk_skein rollout start "$signed"
sk_assert_eq 1 "$rc" "start of a rolled-back plan without --reapply (output: $out)"
sk_assert_contains "$out" "its latest apply, rollout $id, was rolled back" "the refusal names the apply"
sk_assert_contains "$out" "hint: if that is what you mean, start it again with --reapply" "and the way out"
sk_assert_eq "$n" "$(nrollouts)" "nothing started"
sleep 1 # time enough for a wrong dispatch to show
sk_assert_eq "$before" "$(snapshot)" "nothing applied in any region"
again=$(sk_skein rollout start "$signed" --reapply)
[[ "$again" == r-* && "$again" != "$id" ]] || sk_fail "--reapply printed '$again'"
out=$(sk_skein rollout wait "$again") || sk_fail "the re-apply failed: $out"
for r in in ksa; do
	sk_assert_eq 0 "$(rows "$r")" "$r: the table is back, without the notes the revert dropped"
	sk_assert_eq "1 1" "$(ledger "$r" notes)" "$r: applied again"
done
sk_assert_eq 1002 "$(rows af)" "af (never rolled back) keeps its notes"
sk_kill9 coordinator
sk_start_coordinator
status=$(sk_skein rollout status "$again")
sk_assert_contains "$status" "re-applied: --reapply by admin (key " "status after a restart: who said --reapply"
sk_assert_contains "$status" "after rollout $id of the plan was rolled back" "status: what it re-applies"
md=$(sk_skein rollout report "$again")
sk_assert_contains "$md" "| Re-apply | --reapply by admin (key " "report: who said --reapply"
json=$(sk_skein rollout report "$again" --format json)
json_check "$json" '
r = d["rollout"]
assert r["reapply"]["of_rollout"] == sys.argv[1] and r["reapply"]["operator"] == "admin", r
assert r["backup_before_revert"] is None, r
' "$id" || sk_fail "JSON report of the re-apply: $json"

# 5. Rehearsals of a plan: one per rehearsal_interval (5m by default).
tags="$SK_WORK/plans/tags-src"
sk_plan_yaml "$tags" tags 'rollback_backup: false' <<'EOF'
  - id: 0001_create_tags
    sql: 0001_create_tags.sql
    revert: 0001_create_tags.revert.sql
EOF
echo "CREATE TABLE tags (id int PRIMARY KEY); INSERT INTO tags SELECT generate_series(1, 10);" >"$tags/0001_create_tags.sql"
echo "DROP TABLE tags;" >"$tags/0001_create_tags.revert.sql"
tsigned=$(sk_sign_plan "$tags" tags)
out=$(sk_skein rollout start --rehearse "$tsigned" --timeout 60s 2>&1) || sk_fail "the first rehearsal was not READY: $out"
rh=$(grep -Eo 'rehearsal r-[a-z0-9]+' <<<"$out" | head -n 1 | cut -d' ' -f2)
[[ "$rh" == r-* ]] || sk_fail "no rehearsal id in: $out"
before=$(snapshot)
n=$(nrollouts)
run rc out sk_skein rollout start --rehearse "$tsigned" --timeout 60s
sk_assert_eq 1 "$rc" "a second rehearsal within the interval (output: $out)"
sk_assert_contains "$out" "rehearsal $rh of it started" "the refusal names the last rehearsal"
sk_assert_contains "$out" "at most one rehearsal every 5m (coordinator.yaml rehearsal_interval)" "and the limit"
grep -Eq "the next is allowed at [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z, in [0-9]" <<<"$out" ||
	sk_fail "the refusal does not say when the next is allowed: $out"
sk_assert_eq "$n" "$(nrollouts)" "no rehearsal started"
sleep 1
sk_assert_eq "$before" "$(snapshot)" "nothing ran in any region"
for r in af in ksa; do
	sk_assert_eq 1 "$(grep -c 'running plan tags (.*, rehearse)' "$SK_WORK/logs/agent-$r.log")" "$r: the agent ran one rehearsal"
done

# 6. The plan says rollback_backup: false: no dump, even in ksa.
tid=$(sk_skein rollout start "$tsigned")
sk_skein rollout wait "$tid" >/dev/null || sk_fail "applying tags failed"
dumps=$(ndumps)
out=$(sk_skein rollout rollback --yes "$tid" --wait) || sk_fail "the rollback of tags failed: $out"
rb_t=$(head -n 1 <<<"$out")
for r in af in ksa; do
	sk_assert_eq f "$(has_table "$r" tags)" "$r: tags reverted"
done
sk_assert_eq "$dumps" "$(ndumps)" "rollback_backup: false took no dump"
md=$(sk_skein rollout report "$rb_t")
sk_assert_contains "$md" "| Backup before revert | skipped: the plan says rollback_backup: false |" "report: which plan setting skipped the backup"
sk_assert_contains "$(sk_skein rollout status "$rb_t")" "backup before revert: skipped: the plan says rollback_backup: false" "status: the same"
echo "PASS rollout_rollback_safety"

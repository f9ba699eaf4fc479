#!/usr/bin/env bash
# Plans with `backup: true`:
#  - with a good backup_dir every region's database is dumped before the
#    first change: the ledger holds the backup (path, size, duration), the
#    file reads back with pg_restore --list and the report prints the
#    restore command;
#  - with a backup_dir on a full file system (a 64k tmpfs) the step does
#    not run (schema unchanged) and the error says "No space left on
#    device";
#  - with a backup role that may not read a table the step does not run
#    and the error says "permission denied".
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_backup
full="$SK_WORK/full"
mkdir -p "$SK_WORK/backups" "$full"
# The tmpfs must go before the harness removes the work dir.
trap 'st=$?; umount "$full" 2>/dev/null; (exit $st); sk__cleanup; exit $?' EXIT

SK_AGENT_EXTRA="backup_dir: $SK_WORK/backups" sk_deploy_three

for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE notes (id int PRIMARY KEY, body text);
		INSERT INTO notes SELECT g, md5(g::text) FROM generate_series(1, 2000) g;" >/dev/null
done

# write_plan DIR NAME TABLE: a plan that backs up, then creates TABLE.
write_plan() {
	sk_plan_yaml "$1" "$2" 'backup: true' <<EOF
  - id: 0001_create_$3
    sql: 0001.sql
EOF
	echo "CREATE TABLE $3 (id int);" >"$1/0001.sql"
}

# ---- a good backup directory -------------------------------------------
write_plan "$SK_WORK/plans/good-src" backed-up after_backup
signed=$(sk_sign_plan "$SK_WORK/plans/good-src" backed-up)
id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id") || sk_fail "the rollout with a good backup_dir failed: $out"
for r in af in ksa; do
	row=$(sk_rpsql "$r" "select path, size, duration_ms >= 0 from skein.backups where plan_name = 'backed-up'")
	path=${row%%|*}
	[[ -n "$path" ]] || sk_fail "$r: no backup in the ledger"
	[[ "$path" == "$SK_WORK/backups/"* ]] || sk_fail "$r: backup $path is not in the backup_dir"
	size=$(stat -c %s "$path") || sk_fail "$r: backup file $path is missing"
	sk_assert_eq "$path|$size|t" "$row" "$r: the ledger has the file's path and size"
	list=$(pg_restore --list "$path") || sk_fail "$r: pg_restore --list cannot read $path"
	sk_assert_contains "$list" "TABLE DATA public notes" "$r: the dump holds the data"
	# Taken before the first change: the new table is not in it.
	[[ "$list" != *after_backup* ]] || sk_fail "$r: the backup was taken after the step"
	sk_assert_eq "after_backup" "$(sk_rpsql "$r" "select to_regclass('public.after_backup')")" "$r: step ran"
done
report=$(sk_skein rollout report "$id" --format md)
sk_assert_contains "$report" "pg_restore" "the report prints the restore command"

# ---- a full file system -------------------------------------------------
mount -t tmpfs -o size=64k tmpfs "$full" || sk_fail "cannot mount a tmpfs at $full (the test needs root)"
dd if=/dev/zero of="$full/filler" bs=1k count=56 status=none 2>/dev/null || true
sk_stop af >/dev/null
sed -i "s|^backup_dir: .*|backup_dir: $full|" "$SK_WORK/agents/af.yaml"
sk_start_agent af

schema_before=$(sk_rpsql af "select string_agg(relname, ',' order by relname) from pg_class where relnamespace = 'public'::regnamespace")
write_plan "$SK_WORK/plans/full-src" disk-full after_full
signed=$(sk_sign_plan "$SK_WORK/plans/full-src" disk-full)
id=$(sk_skein rollout start "$signed")
if out=$(sk_skein rollout wait "$id"); then
	sk_fail "the rollout succeeded although the backup had no room: $out"
fi
sk_assert_contains "$out" "No space left on device" "the error says why"
sk_assert_contains "$(tail -n 1 <<<"$out")" "failed in phase canary" "the rollout halts"
sk_assert_eq "$schema_before" "$(sk_rpsql af "select string_agg(relname, ',' order by relname) from pg_class where relnamespace = 'public'::regnamespace")" "af schema unchanged"
sk_assert_eq 0 "$(sk_rpsql af "select count(*) from skein.steps where plan_name = 'disk-full'")" "af: the step did not run"
sk_assert_eq 0 "$(sk_rpsql af "select count(*) from skein.backups where plan_name = 'disk-full'")" "af: no backup recorded"
sk_assert_eq "filler" "$(ls -A "$full")" "no partial dump left behind"
status=$(sk_skein rollout status "$id" --json)
sk_assert_contains "$status" "No space left on device" "status keeps the reason"
for r in in ksa; do
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regclass('public.after_full')")" "$r untouched"
done

# ---- a backup role without permission ---------------------------------
sk_rpsql af "CREATE ROLE backup_weak LOGIN; CREATE TABLE payroll (id int); REVOKE ALL ON payroll FROM PUBLIC;" >/dev/null
schema_before=$(sk_rpsql af "select string_agg(relname, ',' order by relname) from pg_class where relnamespace = 'public'::regnamespace")
weak="host=127.0.0.1 port=$(sk_cluster_port pg) user=backup_weak dbname=af_app"
sk_stop af >/dev/null
sed -i "s|^backup_dir: .*|backup_dir: $SK_WORK/backups|" "$SK_WORK/agents/af.yaml"
sed -i "/^    conninfo: /a\\    backup_conninfo: '$weak'" "$SK_WORK/agents/af.yaml"
sk_start_agent af
write_plan "$SK_WORK/plans/perm-src" no-permission after_perm
signed=$(sk_sign_plan "$SK_WORK/plans/perm-src" no-permission)
id=$(sk_skein rollout start "$signed")
if out=$(sk_skein rollout wait "$id"); then
	sk_fail "the rollout succeeded although the backup role may not read a table: $out"
fi
sk_assert_contains "$out" "permission denied" "the error says why"
sk_assert_eq "$schema_before" "$(sk_rpsql af "select string_agg(relname, ',' order by relname) from pg_class where relnamespace = 'public'::regnamespace")" "af schema unchanged"
sk_assert_eq 0 "$(sk_rpsql af "select count(*) from skein.steps where plan_name = 'no-permission'")" "af: the step did not run"
sk_assert_eq "" "$(ls "$SK_WORK/backups" | grep no-permission || true)" "no partial dump left behind"
echo "PASS fault_backup"

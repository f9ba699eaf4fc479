#!/usr/bin/env bash
# Every command on the control socket is signed by an operator key the
# coordinator pins with a role (issue 8: "any local user can destroy
# data"). Run as user nobody with no key, `skein rollout rollback` and
# `rollout start` are refused and change nothing; a key nobody pinned is
# refused; a viewer may look but not start; an operator may start but not
# roll back; an admin may. Every refusal is journaled with who tried, the
# journal is 0600 in a 0700 directory, and status and report say who
# started each rollout.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_operator_auth
skein=$SKEIN_BIN/skein
sk_keys
for k in viewer op stranger; do "$skein" keygen --out "$SK_WORK/keys/$k" >/dev/null; done
SK_COORDINATOR_EXTRA="  - {name: vera, key: ../keys/viewer.pub, role: viewer}
  - {name: otto, key: ../keys/op.pub, role: operator}"
# A rollback backs each database up before its first revert.
mkdir -p "$SK_WORK/backups"
SK_AGENT_EXTRA="backup_dir: $SK_WORK/backups"
sk_deploy_three

for r in af in ksa; do sk_rpsql "$r" "create table accounts (id int primary key, balance int)" >/dev/null; done
plan="$SK_WORK/plans/auth-src"
sk_write_plan "$plan" auth 1h "$SK_TWO_PHASES" \
	"0001_add_note=ALTER TABLE accounts ADD COLUMN note text;"
echo "ALTER TABLE accounts DROP COLUMN note;" >"$plan/0001_add_note.revert.sql"
sed -i 's|^    sql: 0001_add_note.sql$|&\n    revert: 0001_add_note.revert.sql|' "$plan/plan.yaml"
grep -q 'revert: 0001_add_note.revert.sql' "$plan/plan.yaml" || sk_fail "could not add the revert script"
signed=$(sk_sign_plan "$plan" auth)
chmod 0644 "$signed"
id=$(sk_skein rollout start "$signed")
sk_skein rollout wait "$id" >/dev/null || sk_fail "the admin's rollout failed"

snapshot() { for r in af in ksa; do sk_rpsql "$r" "select string_agg(column_name, ',' order by column_name) from information_schema.columns where table_name = 'accounts'"; done; }
before=$(snapshot)
sk_assert_contains "$before" "note" "the admin's rollout applied"

# The CA certificate is public: nobody may reach it (traverse, not list,
# the test's directories; every key file stays 0600).
chmod 0711 "$SK_WORK" "$(dirname "$SKEIN_TLS_CA")"
chmod 0644 "$SKEIN_TLS_CA"
ca_copy=$SKEIN_TLS_CA

# run_as USER [VAR=VALUE...] -- ARGS...: the skein CLI as USER; prints
# its stdout and stderr, keeps going on failure (the status in $rc).
run_as() {
	local user=$1
	shift
	local envs=()
	while [[ "$1" != "--" ]]; do envs+=("$1"); shift; done
	shift
	rc=0
	out=$(cd / && runuser -u "$user" -- env -i PATH=/usr/bin:/bin HOME=/nonexistent \
		SKEIN_COORDINATOR="$SK_CONTROL_URL" SKEIN_TLS_CA="$ca_copy" "${envs[@]}" \
		"$skein" "$@" 2>&1) || rc=$?
}

# 1. nobody, no key at all.
run_as nobody -- rollout rollback --yes "$id"
[[ $rc -ne 0 ]] || sk_fail "nobody rolled back a rollout: $out"
sk_assert_contains "$out" "not a signed operator request" "nobody's rollback: the refusal says why"
sk_assert_contains "$out" "no operator key: pass --key FILE, set SKEIN_KEY" "nobody's rollback: the hint says where keys are looked for"
run_as nobody -- rollout start "$signed"
[[ $rc -ne 0 ]] || sk_fail "nobody started a rollout: $out"
run_as nobody -- rollout status
[[ $rc -ne 0 ]] || sk_fail "nobody read the status without a key: $out"
sk_assert_eq "$before" "$(snapshot)" "nothing changed in any region"

# 2. A key, but one nobody pinned.
cp "$SK_WORK/keys/stranger.key" /tmp/skein-stranger-$$.key
chown nobody /tmp/skein-stranger-$$.key
run_as nobody SKEIN_KEY=/tmp/skein-stranger-$$.key -- rollout rollback --yes "$id"
rm -f /tmp/skein-stranger-$$.key
[[ $rc -ne 0 ]] || sk_fail "an unpinned key rolled back: $out"
sk_assert_contains "$out" "is not an operator of this coordinator" "the unpinned key is named as such"

# 3. Roles: a viewer looks, an operator starts, neither rolls back.
out=$(SKEIN_KEY=$SK_WORK/keys/viewer.key sk_skein rollout status "$id" 2>&1) || sk_fail "the viewer could not read the status: $out"
if out=$(SKEIN_KEY=$SK_WORK/keys/viewer.key sk_skein rollout rollback --yes "$id" 2>&1); then
	sk_fail "a viewer rolled back: $out"
fi
sk_assert_contains "$out" "operator vera (viewer) may not rollback: that needs role admin" "the viewer's rollback"
if out=$(SKEIN_KEY=$SK_WORK/keys/op.key sk_skein rollout rollback --yes "$id" 2>&1); then
	sk_fail "an operator rolled back: $out"
fi
sk_assert_contains "$out" "operator otto (operator) may not rollback" "the operator's rollback"
sk_assert_eq "$before" "$(snapshot)" "no refused request changed anything"

# 4. The admin may: and the record says who did what.
rb=$(sk_skein rollout rollback --yes "$id") || sk_fail "the admin's rollback was refused"
sk_skein rollout wait "$rb" >/dev/null || sk_fail "the rollback failed"
for r in af in ksa; do
	[[ "$(sk_rpsql "$r" "select count(*) from information_schema.columns where table_name = 'accounts' and column_name = 'note'")" == 0 ]] ||
		sk_fail "$r: the admin's rollback did not revert"
done
status=$(sk_skein rollout status "$rb" --json)
sk_assert_contains "$status" '"started_by": "admin"' "status names who rolled back"

# 5. The journal: private, with every refusal and who tried.
journal=$SK_WORK/coordinator/state/journal
sk_assert_eq 600 "$(stat -c %a "$journal")" "the journal is 0600"
sk_assert_eq 700 "$(stat -c %a "$(dirname "$journal")")" "the state directory is 0700"
for who in vera otto; do
	grep -aq "$who" "$journal" || sk_fail "the journal does not name $who's refused request"
done
grep -aq "not a signed operator request" "$journal" || sk_fail "the journal lacks nobody's refusals"
grep -q "control request rollback refused (operator unknown" "$SK_WORK/logs/coordinator.log" ||
	sk_fail "the coordinator's log does not show the refused rollback"
echo "PASS fault_operator_auth"

#!/usr/bin/env bash
# Feature flags as steps (issue 10 item 2), across three regions: a plan
# with a schema step and one flag step per residency (pilot tenants of
# af, in and ksa) is applied; each region's skein.flag() answers for its
# own pilot and not for the others'; `rollout report` lists the flips
# (md and json). The rollback flips the flags back in every region
# before the first revert script runs anywhere (the revert script
# records clock_timestamp() and the flags it sees; skein.flag_history
# dates the flips), and status says "flags first: 3/3 regions flipped".
# Then `skein flag set|get|list` through the agent's own config, with
# the operator and reason recorded, and its refusals: a bad name, an
# unknown database, a database without the skein schema, no place
# given; each changes nothing.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup flag_rollout
sk_deploy_three

for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE revert_probe (at timestamptz, flags_left bigint)" >/dev/null
done

plan="$SK_WORK/plans/flags-src"
sk_plan_yaml "$plan" flags <<'EOF2'
  - id: 0001_reports
    sql: 0001_reports.sql
    revert: 0001_reports.revert.sql
  - id: 0002_pilot_af
    kind: flag
    flag: feature.reporting_v1
    value: on
    tenants: [hotel-af-001]
    residency: [af]
  - id: 0003_pilot_in
    kind: flag
    flag: feature.reporting_v1
    value: on
    tenants: [hotel-in-001]
    residency: [in]
  - id: 0004_pilot_ksa
    kind: flag
    flag: feature.reporting_v1
    value: on
    tenants: [hotel-ksa-001]
    residency: [ksa]
EOF2
echo "CREATE TABLE reports (id int);" >"$plan/0001_reports.sql"
echo "INSERT INTO revert_probe SELECT clock_timestamp(), (SELECT count(*) FROM skein.flags); DROP TABLE reports;" \
	>"$plan/0001_reports.revert.sql"
signed=$(sk_sign_plan "$plan" flags)
shown=$(sk_skein plan show "$signed")
sk_assert_contains "$shown" "flag feature.reporting_v1 = true, tenants hotel-af-001, regions af" "plan show"
sk_assert_eq '["ksa"]' "$(sk_skein plan show "$signed" --json | jq -c '.steps[3].flag.regions')" "plan show --json: ksa's flag step"

flag() { sk_rpsql "$1" "SELECT coalesce(skein.flag('feature.reporting_v1', '$2'), 'NULL')"; }

# 1. Apply.
id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id") || sk_fail "apply failed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "apply final line"
for r in af in ksa; do
	sk_assert_eq true "$(flag "$r" "hotel-$r-001")" "$r: its pilot's flag is on"
	for o in af in ksa; do
		[[ "$o" == "$r" ]] || sk_assert_eq NULL "$(flag "$r" "hotel-$o-001")" "$r: $o's pilot is not set here"
	done
	sk_assert_eq 4 "$(sk_rpsql "$r" "SELECT count(*) FROM skein.steps WHERE plan_name = 'flags'")" "$r: every step in the ledger"
done

# 2. The record lists the flips.
md=$(sk_skein rollout report "$id")
sk_assert_contains "$md" "## Feature flags" "report has a flags section"
sk_assert_contains "$md" "| af | app | 0002_pilot_af | feature.reporting_v1 | hotel-af-001 | (unset) -> true | apply |" "report: af's flip"
sk_assert_contains "$md" "| ksa | app | 0004_pilot_ksa | feature.reporting_v1 | hotel-ksa-001 | (unset) -> true | apply |" "report: ksa's flip"
json=$(sk_skein rollout report "$id" --format json)
sk_assert_eq 3 "$(jq '.flags | length' <<<"$json")" "report json: three flips"
sk_assert_eq '"hotel-in-001"' "$(jq '.flags[] | select(.region == "in") | .tenant' <<<"$json")" "report json: in's tenant"

# 3. Rollback: flags first, everywhere, then the reverts.
rb=$(sk_skein rollout rollback --yes "$id" --no-backup)
out=$(sk_skein rollout wait "$rb" --timeout 60s) || sk_fail "rollback failed: $out"
sk_assert_eq "rollout $rb: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "rollback final line"
sk_assert_contains "$out" "flags first: flipped back in every region; the reverts start" "rollback narrates the pass"
status=$(sk_skein rollout status "$rb")
sk_assert_contains "$status" "flags first: 3/3 regions flipped" "status shows the pass"
sk_assert_eq 3 "$(sk_skein rollout status "$rb" --json | jq '.flags_first.flipped')" "status json: 3 flipped"
last_flip=""
first_revert=""
for r in af in ksa; do
	sk_assert_eq NULL "$(flag "$r" "hotel-$r-001")" "$r: the pilot's flag is unset again"
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT count(*) FROM pg_class WHERE relname = 'reports'")" "$r: reverted"
	sk_assert_eq "1|0" "$(sk_rpsql "$r" "SELECT count(*), max(flags_left) FROM revert_probe")" "$r: the revert saw no flag left"
	f=$(sk_rpsql "$r" "SELECT to_char(max(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM skein.flag_history WHERE revert_of IS NOT NULL")
	v=$(sk_rpsql "$r" "SELECT to_char(min(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM revert_probe")
	[[ -z "$last_flip" || "$f" > "$last_flip" ]] && last_flip=$f
	[[ -z "$first_revert" || "$v" < "$first_revert" ]] && first_revert=$v
done
[[ "$last_flip" < "$first_revert" ]] ||
	sk_fail "a revert script ran ($first_revert) before the last flag flipped back ($last_flip)"
echo "last flag flipped back at $last_flip, first revert script at $first_revert"
md=$(sk_skein rollout report "$rb")
sk_assert_contains "$md" "| af | app | 0002_pilot_af | feature.reporting_v1 | hotel-af-001 | true -> (unset) | rollback, flags first |" "rollback report: af's flip back"

# 4. skein flag, straight to the databases, coordinator or not.
cfg=$SK_WORK/agents/af.yaml
fl() { SKEIN_KEY=$SK_WORK/keys/ops-oncall.key "$SKEIN_BIN/skein" flag "$@"; }
hist() { sk_rpsql af "SELECT count(*) FROM skein.flag_history"; }
out=$(fl set feature.kill on --tenant t1 --tenant t2 --reason "INC-7" --agent-config "$cfg") || sk_fail "flag set: $out"
sk_assert_contains "$out" "app: feature.kill for t1: (unset) -> true" "flag set answers"
sk_assert_eq "true" "$(fl get feature.kill --tenant t2 --agent-config "$cfg" | sed 's/.* = //')" "flag get"
sk_assert_eq "(unset)" "$(fl get feature.kill --tenant t3 --agent-config "$cfg" | sed 's/.* = //')" "flag get: another tenant"
sk_assert_eq 2 "$(fl list --json --agent-config "$cfg" | jq '[.[] | select(.name == "feature.kill")] | length')" "flag list --json"
sk_assert_eq "ops-oncall|INC-7" "$(sk_rpsql af "SELECT DISTINCT set_by || '|' || reason FROM skein.flag_history WHERE name = 'feature.kill'")" "who and why recorded"
conn=$(sk_conninfo pg af_app)
out=$(fl set feature.kill off --db "$conn") || sk_fail "flag set --db: $out"
sk_assert_eq "true" "$(fl get feature.kill --tenant t1 --db "$conn" | sed 's/.* = //')" "the tenant's row still wins"
sk_assert_eq "false" "$(fl get feature.kill --tenant t9 --db "$conn" | sed 's/.* = //')" "the every-tenant row for the others"

before=$(hist)
snap=$(sk_rpsql af "SELECT string_agg(name || coalesce(tenant, '*') || value, ',' ORDER BY name, tenant) FROM skein.flags")
rc=0; out=$(fl set 'Feature.Kill!' on --agent-config "$cfg" 2>&1) || rc=$?
sk_assert_eq 2 "$rc" "a bad flag name is a usage error"
sk_assert_contains "$out" "is not a flag name" "the bad name's message"
rc=0; out=$(fl set feature.kill on --agent-config "$cfg" --database nope 2>&1) || rc=$?
sk_assert_eq 2 "$rc" "an unknown database is a usage error"
sk_assert_contains "$out" "unknown database \"nope\"" "the unknown database's message"
sk_assert_contains "$out" "manages app" "it lists the databases there are"
rc=0; out=$(fl set feature.kill on 2>&1) || rc=$?
sk_assert_eq 2 "$rc" "no place given is a usage error"
sk_db pg bare_app
rc=0; out=$(fl set feature.kill on --db "$(sk_conninfo pg bare_app)" 2>&1) || rc=$?
sk_assert_eq 1 "$rc" "a database without skein fails"
sk_assert_contains "$out" "no skein.flags yet" "the missing schema's message"
sk_assert_contains "$out" "Start the region's skein-agent once" "the missing schema's hint"
sk_assert_eq 0 "$(sk_psql pg bare_app "SELECT count(*) FROM pg_namespace WHERE nspname = 'skein'")" "no schema made"
rc=0; out=$(fl set feature.kill "" --agent-config "$cfg" 2>&1) || rc=$?
sk_assert_eq 2 "$rc" "an empty value is a usage error"
sk_assert_eq "$before" "$(hist)" "no refused flip is recorded"
sk_assert_eq "$snap" "$(sk_rpsql af "SELECT string_agg(name || coalesce(tenant, '*') || value, ',' ORDER BY name, tenant) FROM skein.flags")" "no refused flip changed a flag"
help=$("$SKEIN_BIN/skein" flag --help)
sk_assert_contains "$help" "skein flag set NAME VALUE" "flag --help"

sk_teardown

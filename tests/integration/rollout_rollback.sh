#!/usr/bin/env bash
# Apply a two-phase plan (with a backup and checks) across three regions,
# read its record, roll it back in one region and then everywhere, and
# apply it again:
#   - `rollout report` lists every step of every region and database with
#     start, end, duration, attempts, lock waits and rows, every check
#     with the value seen, the backup with its restore command, and the
#     plan's waivers; the same record after a coordinator kill -9;
#   - `rollout rollback ID --region in` reverts in that region only;
#     a region the plan does not have is refused and nothing starts;
#   - `rollout rollback ID` reverts everywhere, phases in reverse (the
#     canary last): the objects are gone, skein.reverts has the rows,
#     skein.steps has none of the plan;
#   - starting the signed plan again with --reapply applies it again.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup rollout_rollback
mkdir -p "$SK_WORK/backups"
SK_AGENT_EXTRA="backup_dir: $SK_WORK/backups" sk_deploy_three

for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL, legacy text);
		INSERT INTO accounts SELECT g, 'acct-' || g, 'old' FROM generate_series(1, 30) g;" >/dev/null
done

plan="$SK_WORK/plans/rb-src"
sk_plan_yaml "$plan" rb 'backup: true' <<'EOF'
  - id: 0001_create_clients
    sql: 0001_create_clients.sql
    revert: 0001_create_clients.revert.sql
    post:
      - name: one_client
        sql: SELECT count(*) FROM clients
        expect: 1
  - id: 0002_add_region
    sql: 0002_add_region.sql
    revert: 0002_add_region.revert.sql
    pre:
      - name: no_unnamed_accounts
        sql: SELECT count(*) FROM accounts WHERE name IS NULL
        expect: 0
    post:
      - name: every_account_has_a_region
        sql: SELECT count(*) FROM accounts WHERE region IS NULL
        expect: 0
  - id: 0003_drop_legacy
    sql: 0003_drop_legacy.sql
    revert: 0003_drop_legacy.revert.sql
    waive:
      - rule: drop-column
        reason: nothing has read accounts.legacy since release 12
EOF
echo "CREATE TABLE clients (id int PRIMARY KEY, name text NOT NULL); INSERT INTO clients VALUES (1, 'first');" >"$plan/0001_create_clients.sql"
echo "DROP TABLE clients;" >"$plan/0001_create_clients.revert.sql"
echo "ALTER TABLE accounts ADD COLUMN region text; UPDATE accounts SET region = 'eu';" >"$plan/0002_add_region.sql"
echo "ALTER TABLE accounts DROP COLUMN region;" >"$plan/0002_add_region.revert.sql"
echo "ALTER TABLE accounts DROP COLUMN legacy;" >"$plan/0003_drop_legacy.sql"
echo "ALTER TABLE accounts ADD COLUMN legacy text;" >"$plan/0003_drop_legacy.revert.sql"
signed=$(sk_sign_plan "$plan" rb)

# applied REGION: "clients region-column legacy-column" as t/f.
applied() {
	sk_rpsql "$1" "SELECT (to_regclass('public.clients') IS NOT NULL)::text || ' ' ||
		EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'region')::text || ' ' ||
		EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'legacy')::text"
}
ledger() { # REGION: "steps reverts" rows of plan rb
	sk_rpsql "$1" "SELECT (SELECT count(*) FROM skein.steps WHERE plan_name = 'rb') || ' ' ||
		(SELECT count(*) FROM skein.reverts WHERE plan_name = 'rb')"
}

# 1. Apply.
id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id") || sk_fail "apply failed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "apply final line"
for r in af in ksa; do
	sk_assert_eq "true true false" "$(applied "$r")" "$r after apply"
	sk_assert_eq "3 0" "$(ledger "$r")" "$r ledger after apply"
done

# 2. The record: every step of every region with times and checks, the
# backup and its restore command, the waiver.
md=$(sk_skein rollout report "$id")
sk_assert_contains "$md" "# Execution record: rollout $id" "report title"
sk_assert_contains "$md" "| 0003_drop_legacy | drop-column | nothing has read accounts.legacy since release 12 |" "the waiver"
for r in af in ksa; do
	phase=rest
	[[ $r == af ]] && phase=canary
	sk_assert_contains "$md" "## Region $r (phase $phase): succeeded" "report region $r"
done
[[ $(grep -c '^### Database app: applied$' <<<"$md") -eq 3 ]] || sk_fail "three databases applied: $md"
for step in 0001_create_clients 0002_add_region 0003_drop_legacy; do
	# | step | applied | start | end | duration | attempts | lock waits | wait time | rows |
	n=$(grep -cE "^\| $step \| applied \| [0-9T:.Z-]{24} \| [0-9T:.Z-]{24} \| [0-9.]+(ms|s) \| [1-9][0-9]* \| [0-9]+ \| [0-9.]+(ms|s) \| [0-9]+ \|$" <<<"$md" || true)
	sk_assert_eq 3 "$n" "step $step has start, end, duration, attempts, lock waits and rows in every region"
done
[[ $(grep -c '^| 0002_add_region | applied |.* 30 |$' <<<"$md") -eq 3 ]] || sk_fail "rows of the backfill: $md"
[[ $(grep -c '^| every_account_has_a_region | post | 0002_add_region | 0 | = 0 | pass |$' <<<"$md") -eq 3 ]] ||
	sk_fail "the post-check with its value in every region: $md"
[[ $(grep -c '^| no_unnamed_accounts | pre | 0002_add_region | 0 | = 0 | pass |$' <<<"$md") -eq 3 ]] ||
	sk_fail "the pre-check with its value in every region: $md"
[[ $(grep -c '^- Restore command:$' <<<"$md") -eq 3 ]] || sk_fail "a restore command per database: $md"
for r in af in ksa; do
	dump=$(grep -Eo "^- Backup: \`[^\`]*/${r}_app_[^\`]*\`" <<<"$md" | cut -d'`' -f2)
	[[ -n "$dump" && -s "$dump" ]] || sk_fail "$r: the backup named in the report ($dump) does not exist: $md"
	grep -q "^pg_restore .*$dump" <<<"$md" || sk_fail "$r: no restore command for $dump: $md"
done
json=$(sk_skein rollout report "$id" --format json)
sk_assert_contains "$json" '"restore_command": "' "JSON restore command"
sk_assert_contains "$json" '"rule": "drop-column"' "JSON waiver"
[[ $(grep -c '"result": "applied"' <<<"$json") -eq 9 ]] || sk_fail "JSON: nine applied steps: $json"

# 3. The record survives a coordinator crash.
sk_kill9 coordinator
sk_start_coordinator
sk_assert_eq "$md" "$(sk_skein rollout report "$id")" "report after a coordinator kill -9 and restart"

# 4. Bad input: a region the plan does not have, an unknown rollout.
nrollouts=$(sk_skein rollout status | grep -c '^rollout ')
if out=$(sk_skein rollout rollback --yes "$id" --region mars 2>&1); then
	sk_fail "rollback in a region the plan does not have started: $out"
fi
sk_assert_contains "$out" "plan rb has no region mars (its regions: af, in, ksa)" "the error names the region and the plan's regions"
if out=$(sk_skein rollout rollback --yes r-nosuchrollout 2>&1); then
	sk_fail "rollback of an unknown rollout started: $out"
fi
sk_assert_contains "$out" "no such rollout" "unknown rollout"
set +e
"$SKEIN_BIN/skein" rollout rollback --coordinator "$SK_CONTROL_URL" >/dev/null 2>&1
rc=$?
set -e
sk_assert_eq 2 "$rc" "rollback without an id is a usage error"
sk_assert_eq "$nrollouts" "$(sk_skein rollout status | grep -c '^rollout ')" "nothing started"
for r in af in ksa; do
	sk_assert_eq "true true false" "$(applied "$r")" "$r untouched by refused rollbacks"
done

# 5. Roll back one region.
out=$(sk_skein rollout rollback --yes "$id" --region in --wait) || sk_fail "rollback --region in failed: $out"
rb1=$(head -n 1 <<<"$out")
[[ "$rb1" == r-* && "$rb1" != "$id" ]] || sk_fail "rollback did not print a new rollout id: $out"
sk_assert_eq "rollout $rb1: succeeded in 1/1 regions" "$(tail -n 1 <<<"$out")" "rollback --region final line"
sk_assert_eq "false false true" "$(applied in)" "in after its rollback"
sk_assert_eq "0 3" "$(ledger in)" "in ledger after its rollback"
sk_assert_eq 30 "$(sk_rpsql in "SELECT count(*) FROM accounts")" "in keeps its rows"
for r in af ksa; do
	sk_assert_eq "true true false" "$(applied "$r")" "$r untouched by the rollback of in"
	sk_assert_eq "3 0" "$(ledger "$r")" "$r ledger untouched"
done

# 6. Roll back everywhere: the rest first, the canary last. With ksa's
# agent down the rollback waits in its first phase: the canary is still
# untouched, and neither a second rollback nor an apply of the plan may
# start beside it.
sk_stop agent-ksa >/dev/null
rb2=$(sk_skein rollout rollback --yes "$id")
[[ "$rb2" == r-* && "$rb2" != "$rb1" ]] || sk_fail "second rollback id: $rb2"
sk_wait_until 30 bash -c "'$SKEIN_BIN/skein' rollout status $rb2 --coordinator '$SK_CONTROL_URL' | grep -Eq '^ +in +succeeded'" ||
	sk_fail "region in of the rollback did not finish: $(sk_skein rollout status "$rb2")"
sleep 1 # time enough for a wrong dispatch to the canary to show
sk_assert_eq "true true false" "$(applied af)" "the canary waits for the rest to be rolled back"
sk_assert_eq "$rb2" "$(sk_skein rollout rollback --yes "$id")" "the same rollback asked again"
if out=$(sk_skein rollout rollback --yes "$id" --region af 2>&1); then
	sk_fail "a second rollback started beside a running one: $out"
fi
sk_assert_contains "$out" "rollback $rb2 of it is still running" "a concurrent rollback is refused"
if out=$(sk_skein rollout start "$signed" 2>&1); then
	sk_fail "an apply started beside a running rollback of the plan: $out"
fi
sk_assert_contains "$out" "rollback $rb2 of it is running" "an apply during the rollback is refused"
sk_start_agent ksa
out=$(sk_skein rollout wait "$rb2" --timeout 60s) || sk_fail "rollback of every region failed: $out"
sk_assert_eq "rollout $rb2: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "rollback final line"
rest_at=$(grep -n 'phase 1/2 rest started' <<<"$out" | head -n 1 | cut -d: -f1)
canary_at=$(grep -n 'phase 2/2 canary started' <<<"$out" | head -n 1 | cut -d: -f1)
[[ -n "$rest_at" && -n "$canary_at" ]] && ((rest_at < canary_at)) ||
	sk_fail "the canary must be rolled back last: $out"
for r in af in ksa; do
	sk_assert_eq "false false true" "$(applied "$r")" "$r after the rollback"
	sk_assert_eq "0 3" "$(ledger "$r")" "$r ledger after the rollback"
	sk_assert_eq "0003_drop_legacy,0002_add_region,0001_create_clients" \
		"$(sk_rpsql "$r" "SELECT string_agg(step_id, ',' ORDER BY id) FROM skein.reverts WHERE plan_name = 'rb'")" \
		"$r reverted newest first"
done
md=$(sk_skein rollout report "$rb2")
sk_assert_contains "$md" "| Mode | rollback |" "rollback report mode"
sk_assert_contains "$md" "| Rolls back | $id |" "rollback report names the original"
[[ $(grep -c '^| 0003_drop_legacy | reverted |' <<<"$md") -eq 2 ]] || sk_fail "af and ksa reverted 0003 in this rollback: $md"
sk_assert_contains "$md" "Steps reverted: 3" "the count of reverted steps"

# 7. Apply again (the plan was rolled back: --reapply): a new rollout,
# everything back.
again=$(sk_skein rollout start "$signed" --reapply)
[[ "$again" != "$id" ]] || sk_fail "a rolled-back rollout must not be reused: $again"
out=$(sk_skein rollout wait "$again") || sk_fail "applying again failed: $out"
sk_assert_eq "rollout $again: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "apply again final line"
for r in af in ksa; do
	sk_assert_eq "true true false" "$(applied "$r")" "$r after applying again"
	sk_assert_eq "3 3" "$(ledger "$r")" "$r ledger after applying again"
done
sk_assert_eq "$again" "$(sk_skein rollout start "$signed")" "the new apply is the plan's rollout now"
echo "PASS rollout_rollback"

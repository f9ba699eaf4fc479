#!/usr/bin/env bash
# `skein rollout start --rehearse` of a good plan across three regions:
# every region and database says READY, the step that cannot be rehearsed
# (CREATE INDEX CONCURRENTLY) is named, and nothing changed in any database
# (pg_dump --schema-only and the row count of every table, the ledger's
# included, are the same before and after). A region whose agent is down
# gets no verdict: the command gives up at --timeout, names it and exits 1;
# the rehearsal finishes once the agent is back. The same signed plan then
# applies for real, and rehearsing it again changes nothing.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup rollout_rehearse
# This test rehearses one plan three times in a row: no rate limit
# (rollout_rollback_safety.sh tests the limit).
SK_COORDINATOR_EXTRA="rehearsal_interval: 0" sk_deploy_three

for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL);
		INSERT INTO accounts SELECT g, 'acct-' || g FROM generate_series(1, 50) g;" >/dev/null
done

plan="$SK_WORK/plans/good-src"
sk_plan_yaml "$plan" good <<'EOF'
  - id: 0001_create_clients
    sql: 0001_create_clients.sql
    post:
      - name: one_client
        sql: SELECT count(*) FROM clients
        expect: 1
  - id: 0002_add_region
    sql: 0002_add_region.sql
    pre:
      - name: no_unnamed_accounts
        sql: SELECT count(*) FROM accounts WHERE name IS NULL
        expect: 0
    post:
      - name: every_account_has_a_region
        sql: SELECT count(*) FROM accounts WHERE region IS NULL
        expect: 0
  - id: 0003_index_region
    sql: 0003_index_region.sql
    transaction: false
EOF
echo "CREATE TABLE clients (id int PRIMARY KEY, name text NOT NULL); INSERT INTO clients VALUES (1, 'first');" >"$plan/0001_create_clients.sql"
echo "ALTER TABLE accounts ADD COLUMN region text; UPDATE accounts SET region = 'eu';" >"$plan/0002_add_region.sql"
echo "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_region_idx ON accounts (region);" >"$plan/0003_index_region.sql"
signed=$(sk_sign_plan "$plan" good)

declare -A before
for r in af in ksa; do
	before[$r]=$(sk_db_snapshot "$r")
done

# 1. READY everywhere, per region and database; nothing changed.
out=$(sk_skein rollout start --rehearse "$signed" 2>&1) || sk_fail "a rehearsal of a good plan failed: $out"
id=$(grep -Eo 'rehearsal r-[a-z0-9]+' <<<"$out" | head -n 1 | cut -d' ' -f2)
[[ "$id" == r-* ]] || sk_fail "no rehearsal id in: $out"
sk_assert_eq "rehearsal $id: READY in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
for r in af in ksa; do
	grep -qx "  $r/app: READY" <<<"$out" || sk_fail "$r/app is not READY: $out"
done
sk_assert_eq 3 "$(grep -c 'not rehearsable: step 0003_index_region' <<<"$out")" "the non-transactional step is named in every database"
[[ "$out" != *BLOCKED* ]] || sk_fail "something is BLOCKED: $out"
for r in af in ksa; do
	sk_assert_eq "${before[$r]}" "$(sk_db_snapshot "$r")" "$r: schema and row counts after the rehearsal"
	sk_assert_eq "" "$(sk_rpsql "$r" "SELECT to_regclass('public.clients')")" "$r: no clients table"
done
status=$(sk_skein rollout status "$id" --json)
sk_assert_contains "$status" '"state": "ready"' "status of the rehearsal"
sk_assert_contains "$status" '"mode": "rehearse"' "status names the mode"

# The record of the rehearsal says what ran and that it was rolled back.
md=$(sk_skein rollout report "$id")
sk_assert_contains "$md" "| Mode | rehearsal (every change rolled back) |" "report mode"
sk_assert_contains "$md" "## Region ksa (phase rest): READY" "report verdict of ksa"
sk_assert_contains "$md" "| 0002_add_region | rehearsed |" "report lists the rehearsed step"
sk_assert_contains "$md" "| every_account_has_a_region | post | 0002_add_region | 0 | = 0 | pass |" "report has the post check"
json=$(sk_skein rollout report "$id" --format json)
sk_assert_contains "$json" '"verdict": "READY"' "JSON verdict"
sk_assert_contains "$json" '"not_rehearsable": [' "JSON lists the steps not rehearsed"

# 2. A region whose agent is down: no verdict from it, named, exit 1 at
# the timeout; the rehearsal ends once the agent is back.
sk_stop agent-ksa >/dev/null
set +e
out=$(sk_skein rollout start --rehearse "$signed" --timeout 4s 2>&1)
rc=$?
set -e
sk_assert_eq 1 "$rc" "exit status when a region gives no verdict"
id2=$(grep -Eo 'rehearsal r-[a-z0-9]+' <<<"$out" | head -n 1 | cut -d' ' -f2)
[[ "$id2" != "$id" ]] || sk_fail "a finished rehearsal was reused: $out"
sk_assert_contains "$out" "ksa: NO VERDICT" "the silent region is named"
sk_assert_contains "$out" "1 of 3 regions gave no verdict within 4s" "the timeout is explained"
grep -qx "  af/app: READY" <<<"$out" || sk_fail "af should still be READY: $out"
sk_start_agent ksa
out=$(sk_skein rollout wait "$id2" --timeout 60s) || sk_fail "the rehearsal did not finish once ksa was back: $out"
sk_assert_eq "rehearsal $id2: READY in 3/3 regions" "$(tail -n 1 <<<"$out")" "rehearsal after ksa came back"
for r in af in ksa; do
	sk_assert_eq "${before[$r]}" "$(sk_db_snapshot "$r")" "$r: unchanged by the second rehearsal"
done

# 3. Bad input: a file that is not a signed plan; nothing started.
nrollouts=$(sk_skein rollout status | grep -c '^rollout ')
if out=$(sk_skein rollout start --rehearse "$plan/plan.yaml" 2>&1); then
	sk_fail "rehearsing a non-plan succeeded: $out"
fi
sk_assert_contains "$out" "rollout start --rehearse" "the error names the command"
sk_assert_eq "$nrollouts" "$(sk_skein rollout status | grep -c '^rollout ')" "nothing started"

# 4. The rehearsal left nothing behind that stops the real thing.
apply=$(sk_skein rollout start "$signed")
[[ "$apply" != "$id" && "$apply" != "$id2" ]] || sk_fail "apply reused a rehearsal id"
out=$(sk_skein rollout wait "$apply") || sk_fail "apply after the rehearsal failed: $out"
sk_assert_eq "rollout $apply: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "apply final line"
for r in af in ksa; do
	sk_assert_eq 3 "$(sk_rpsql "$r" "SELECT count(*) FROM skein.steps WHERE plan_name = 'good'")" "$r ledger after apply"
	sk_assert_eq 50 "$(sk_rpsql "$r" "SELECT count(*) FROM accounts WHERE region = 'eu'")" "$r backfilled"
done

# 5. Rehearsing an applied plan: READY, nothing to run, nothing changed.
for r in af in ksa; do
	before[$r]=$(sk_db_snapshot "$r")
done
out=$(sk_skein rollout start --rehearse "$signed" 2>&1) || sk_fail "rehearsing an applied plan failed: $out"
sk_assert_contains "$(tail -n 1 <<<"$out")" "READY in 3/3 regions" "rehearsal of the applied plan"
for r in af in ksa; do
	sk_assert_eq "${before[$r]}" "$(sk_db_snapshot "$r")" "$r: unchanged by rehearsing the applied plan"
done
echo "PASS rollout_rehearse"

#!/usr/bin/env bash
# A rehearsal of a plan with a failing step: every region is BLOCKED (the
# canary's verdict does not stop the others), each names its reason — the
# failed statement with its SQLSTATE, or the pre-check with the value it
# saw — the command exits 1, and every database is exactly as before
# (pg_dump --schema-only and the row count of every table), ledger
# included. The record (`rollout report`) says the same.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_rehearse_blocked
sk_deploy_three

for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL);
		INSERT INTO accounts SELECT g, 'acct-' || g FROM generate_series(1, 20) g;" >/dev/null
done
# Region in holds a row the plan's pre-check forbids.
sk_rpsql in "INSERT INTO accounts VALUES (99, 'bad')" >/dev/null

plan="$SK_WORK/plans/failing-src"
sk_plan_yaml "$plan" failing <<'EOF'
  - id: 0001_create_clients
    sql: 0001_create_clients.sql
  - id: 0002_update_accounts
    sql: 0002_update_accounts.sql
    pre:
      - name: no_bad_accounts
        sql: SELECT count(*) FROM accounts WHERE name = 'bad'
        expect: 0
  - id: 0003_broken
    sql: 0003_broken.sql
EOF
echo "CREATE TABLE clients (id int PRIMARY KEY); INSERT INTO clients VALUES (1);" >"$plan/0001_create_clients.sql"
echo "UPDATE accounts SET name = upper(name);" >"$plan/0002_update_accounts.sql"
echo "INSERT INTO no_such_table VALUES (1);" >"$plan/0003_broken.sql"
signed=$(sk_sign_plan "$plan" failing)

declare -A before
for r in af in ksa; do
	before[$r]=$(sk_db_snapshot "$r")
done

set +e
out=$(sk_skein rollout start --rehearse "$signed" --timeout 90s 2>&1)
rc=$?
set -e
sk_assert_eq 1 "$rc" "exit status of a BLOCKED rehearsal"
id=$(grep -Eo 'rehearsal r-[a-z0-9]+' <<<"$out" | head -n 1 | cut -d' ' -f2)
[[ "$id" == r-* ]] || sk_fail "no rehearsal id in: $out"
sk_assert_eq "rehearsal $id: BLOCKED in 3/3 regions (af, in, ksa)" "$(tail -n 1 <<<"$out")" "final line"
for r in af in ksa; do
	grep -qx "  $r/app: BLOCKED" <<<"$out" || sk_fail "$r/app is not BLOCKED: $out"
done
# af and ksa: the failed statement, with its SQLSTATE.
[[ $(grep -c 'step 0003_broken failed: .*no_such_table.*42P01' <<<"$out") -eq 2 ]] ||
	sk_fail "af and ksa should name the failed statement with SQLSTATE 42P01: $out"
# in: the pre-check, with the value seen.
sk_assert_contains "$out" "- pre check no_bad_accounts of step 0002_update_accounts: saw 1, expected = 0" "the pre-check and the value seen"
[[ "$out" != *READY* ]] || sk_fail "nothing should be READY: $out"

# Nothing changed anywhere: not the schema, not a row, not the ledger.
for r in af in ksa; do
	sk_assert_eq "${before[$r]}" "$(sk_db_snapshot "$r")" "$r: schema and row counts after the rehearsal"
	sk_assert_eq "" "$(sk_rpsql "$r" "SELECT to_regclass('public.clients')")" "$r: no clients table left"
done
sk_assert_eq "acct-1" "$(sk_rpsql af "SELECT name FROM accounts WHERE id = 1")" "af: the rehearsed UPDATE was rolled back"

# The coordinator's view and the record agree.
status=$(sk_skein rollout status "$id" --json)
sk_assert_contains "$status" '"state": "blocked"' "status of the rehearsal"
[[ "$status" != *'"state": "not-started"'* ]] || sk_fail "a rehearsal leaves no phase unstarted: $status"
json=$(sk_skein rollout report "$id" --format json)
[[ $(grep -c '"verdict": "BLOCKED"' <<<"$json") -ge 6 ]] || sk_fail "regions and databases should be BLOCKED in the JSON: $json"
sk_assert_contains "$json" '"sqlstate": "42P01"' "JSON keeps the SQLSTATE"
sk_assert_contains "$json" '"seen": "1"' "JSON keeps the value the check saw"
md=$(sk_skein rollout report "$id")
sk_assert_contains "$md" "| no_bad_accounts | pre | 0002_update_accounts | 1 | = 0 | FAIL |" "the failed check in the record"
sk_assert_contains "$md" "Blocked because:" "the record gives reasons"

# A rehearsal does not count as the plan being applied: applying it still
# runs (and fails at the same step in the canary), so nothing was recorded.
apply=$(sk_skein rollout start "$signed")
[[ "$apply" != "$id" ]] || sk_fail "apply reused the rehearsal"
if out=$(sk_skein rollout wait "$apply" --timeout 60s); then
	sk_fail "applying the failing plan succeeded: $out"
fi
sk_assert_contains "$out" "no_such_table" "apply fails at the broken step"
echo "PASS fault_rehearse_blocked"

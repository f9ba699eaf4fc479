#!/usr/bin/env bash
# Checks that do not hold, across three regions (canary af, then in and
# ksa):
#  (a) a failing pre-check: nothing applied in that database, the rollout
#      halts, and the status, the ledger and the progress stream name the
#      check and the value seen;
#  (b) a failing post-check: the step's transaction rolls back (its table
#      is absent), the rollout halts, later phases are untouched;
#  (c) a constraint test (fails_with) that unexpectedly succeeds: the step
#      fails and the row the test inserted is not left behind.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_checks
sk_deploy_three

for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE accounts (id int PRIMARY KEY, owner text, amount int NOT NULL DEFAULT 0);
		INSERT INTO accounts (id, owner) VALUES (1, 'a'), (2, 'b');" >/dev/null
done
# Only the canary has accounts without an owner.
sk_rpsql af "INSERT INTO accounts (id, owner) VALUES (3, NULL), (4, NULL)" >/dev/null

schema_of() {
	sk_rpsql "$1" "select string_agg(table_name || '.' || column_name, ',' order by table_name, column_name)
		from information_schema.columns where table_schema = 'public'"
}
declare -A before
for r in af in ksa; do
	before[$r]=$(schema_of "$r")
done

# ---- (a) a pre-check that fails ----------------------------------------
plan="$SK_WORK/plans/pre-src"
sk_plan_yaml "$plan" owners <<'EOF'
  - id: 0001_owner_region
    sql: 0001_owner_region.sql
    pre:
      - name: every_account_has_owner
        sql: SELECT count(*) FROM accounts WHERE owner IS NULL
        expect: 0
  - id: 0002_owner_log
    sql: 0002_owner_log.sql
EOF
echo "ALTER TABLE accounts ADD COLUMN owner_region text;" >"$plan/0001_owner_region.sql"
echo "CREATE TABLE owner_log (id int);" >"$plan/0002_owner_log.sql"
signed=$(sk_sign_plan "$plan" owners)
id=$(sk_skein rollout start "$signed")
if out=$(sk_skein rollout wait "$id"); then
	sk_fail "a rollout with a failing pre-check succeeded: $out"
fi
sk_assert_contains "$(tail -n 1 <<<"$out")" "rollout $id: failed in phase canary" "(a) halts in the canary"
sk_assert_contains "$out" "every_account_has_owner" "(a) wait names the check"
sk_assert_contains "$out" "saw 2" "(a) wait names the value seen"

# Nothing applied in af: schema as before, no step in the ledger.
sk_assert_eq "${before[af]}" "$(schema_of af)" "(a) af schema unchanged"
sk_assert_eq 0 "$(sk_rpsql af "select count(*) from skein.steps")" "(a) af ledger has no step"
sk_assert_eq "0001_owner_region|every_account_has_owner|pre|f|2|= 0" \
	"$(sk_rpsql af "select step_id, name, \"when\", passed, seen, expected from skein.checks where plan_name = 'owners'")" \
	"(a) the ledger keeps the check and its value"
status=$(sk_skein rollout status "$id" --json)
sk_assert_contains "$status" "every_account_has_owner" "(a) status names the check"
sk_assert_contains "$status" "saw 2" "(a) status names the value"
sk_assert_contains "$status" '"state": "not-started"' "(a) phase 2 not started"
for r in in ksa; do
	sk_assert_eq "${before[$r]}" "$(schema_of "$r")" "(a) $r schema unchanged"
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regnamespace('skein')")" "(a) $r never touched"
done
# The progress stream carried the check (the report has every event).
report=$(sk_skein rollout report "$id" --format json) || sk_fail "(a) rollout report failed"
sk_assert_contains "$report" "every_account_has_owner" "(a) report names the check"

# ---- (b) a post-check that fails ---------------------------------------
plan="$SK_WORK/plans/post-src"
sk_plan_yaml "$plan" audit <<'EOF'
  - id: 0001_audit_table
    sql: 0001_audit_table.sql
    post:
      - name: audit_has_a_row_per_account
        sql: SELECT (SELECT count(*) FROM audit) - (SELECT count(*) FROM accounts)
        expect: 0
  - id: 0002_after
    sql: 0002_after.sql
EOF
cat >"$plan/0001_audit_table.sql" <<'EOF'
CREATE TABLE audit (account_id int);
INSERT INTO audit SELECT id FROM accounts WHERE owner IS NOT NULL;
EOF
echo "CREATE TABLE audit_after (id int);" >"$plan/0002_after.sql"
signed=$(sk_sign_plan "$plan" audit)
id=$(sk_skein rollout start "$signed")
if out=$(sk_skein rollout wait "$id"); then
	sk_fail "a rollout with a failing post-check succeeded: $out"
fi
sk_assert_contains "$(tail -n 1 <<<"$out")" "rollout $id: failed in phase canary" "(b) halts in the canary"
sk_assert_contains "$out" "audit_has_a_row_per_account" "(b) wait names the check"
sk_assert_contains "$out" "saw -2" "(b) wait names the value seen"
# The step's transaction rolled back: no table, no ledger row, no later step.
for t in audit audit_after; do
	sk_assert_eq "" "$(sk_rpsql af "select to_regclass('public.$t')")" "(b) af has no $t"
done
sk_assert_eq 0 "$(sk_rpsql af "select count(*) from skein.steps where plan_name = 'audit'")" "(b) af ledger"
sk_assert_eq "audit_has_a_row_per_account|post|f|-2" \
	"$(sk_rpsql af "select name, \"when\", passed, seen from skein.checks where plan_name = 'audit'")" \
	"(b) the ledger keeps the failed post-check"
status=$(sk_skein rollout status "$id" --json)
sk_assert_contains "$status" '"state": "not-started"' "(b) phase 2 not started"
for r in in ksa; do
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regclass('public.audit')")" "(b) $r untouched"
	sk_assert_eq "${before[$r]}" "$(schema_of "$r")" "(b) $r schema unchanged"
done

# ---- (c) a constraint test that unexpectedly succeeds -------------------
plan="$SK_WORK/plans/constraint-src"
sk_plan_yaml "$plan" amounts <<'EOF'
  - id: 0001_amount_not_negative
    sql: 0001_amount_not_negative.sql
    post:
      - name: negative_amount_refused
        sql: INSERT INTO accounts (id, owner, amount) VALUES (900, 'probe', -5)
        fails_with: check_violation
EOF
# The constraint is wrong: it lets -5 through.
echo "ALTER TABLE accounts ADD CONSTRAINT amount_not_negative CHECK (amount > -100) NOT VALID;" \
	>"$plan/0001_amount_not_negative.sql"
signed=$(sk_sign_plan "$plan" amounts)
id=$(sk_skein rollout start "$signed")
if out=$(sk_skein rollout wait "$id"); then
	sk_fail "a rollout whose constraint test succeeded did not fail: $out"
fi
sk_assert_contains "$out" "negative_amount_refused" "(c) wait names the constraint test"
sk_assert_contains "$out" "fails with 23514" "(c) wait says what was expected"
sk_assert_eq 0 "$(sk_rpsql af "select count(*) from accounts where id = 900")" "(c) the probe row is gone"
sk_assert_eq 4 "$(sk_rpsql af "select count(*) from accounts")" "(c) af rows unchanged"
sk_assert_eq 0 "$(sk_rpsql af "select count(*) from pg_constraint where conname = 'amount_not_negative'")" "(c) the constraint rolled back"
sk_assert_contains "$(sk_rpsql af "select seen from skein.checks where plan_name = 'amounts'")" "succeeded" "(c) the ledger says it succeeded"
for r in in ksa; do
	sk_assert_eq 2 "$(sk_rpsql "$r" "select count(*) from accounts")" "(c) $r rows unchanged"
done
echo "PASS fault_checks"

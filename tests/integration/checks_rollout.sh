#!/usr/bin/env bash
# A plan with every kind of check, rolled out across three regions:
# preflight, phase pre/post checks, step pre/post checks (a value, no rows,
# a constraint test that must fail) and a non-transactional index step.
# Every result, with the value seen, lands in each database's ledger and in
# the report. Then a plan whose preflight requires a plan that never ran:
# blocked in the canary, named in the error, nothing applied.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup checks_rollout
sk_deploy_three

for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE invoices (id int PRIMARY KEY, amount int NOT NULL);
		INSERT INTO invoices SELECT g, g * 10 FROM generate_series(1, 50) g;" >/dev/null
done

plan="$SK_WORK/plans/checked-src"
mkdir -p "$plan"
cat >"$plan/plan.yaml" <<'EOF'
name: invoices-positive
expires: 1h
defaults:
  lock_timeout: 2s
  lock_retries: 2
  retry_backoff: 100ms
preflight:
  server_version: "15"
  extensions: [plpgsql]
  max_connections: 90%
phases:
  - name: canary
    regions: [af]
    pre:
      - name: invoices_present
        sql: SELECT count(*) FROM invoices
        expect: ">= 1"
    post:
      - name: constraint_validated
        sql: SELECT convalidated FROM pg_constraint WHERE conname = 'amount_positive'
        expect: true
  - name: rest
    regions: [in, ksa]
    post:
      - name: constraint_validated
        sql: SELECT convalidated FROM pg_constraint WHERE conname = 'amount_positive'
        expect: true
steps:
  - id: 0001_amount_positive
    sql: 0001_amount_positive.sql
    waive:
      - rule: validate-in-same-transaction
        reason: invoices holds 50 rows in this test; the checks are what it tests
    pre:
      - name: no_bad_amounts
        sql: SELECT id FROM invoices WHERE amount <= 0
        no_rows: true
    post:
      - name: negative_refused
        sql: INSERT INTO invoices VALUES (-1, -5)
        fails_with: check_violation
      - name: rows_kept
        sql: SELECT count(*) FROM invoices
        expect: 50
  - id: 0002_amount_idx
    sql: 0002_amount_idx.sql
    transaction: false
    post:
      - name: index_valid
        sql: SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.invoices_amount_idx'::regclass
        expect: true
EOF
cat >"$plan/0001_amount_positive.sql" <<'EOF'
ALTER TABLE invoices ADD CONSTRAINT amount_positive CHECK (amount > 0) NOT VALID;
ALTER TABLE invoices VALIDATE CONSTRAINT amount_positive;
EOF
echo "CREATE INDEX CONCURRENTLY IF NOT EXISTS invoices_amount_idx ON invoices (amount);" >"$plan/0002_amount_idx.sql"
signed=$(sk_sign_plan "$plan" invoices-positive)
id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id") || sk_fail "the checked rollout failed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"

for r in af in ksa; do
	sk_assert_eq 2 "$(sk_rpsql "$r" "select count(*) from skein.steps where plan_name = 'invoices-positive'")" "$r: both steps"
	sk_assert_eq 50 "$(sk_rpsql "$r" "select count(*) from invoices")" "$r: the constraint test left no row"
	sk_assert_eq 0 "$(sk_rpsql "$r" "select count(*) from skein.checks where plan_name = 'invoices-positive' and not passed")" "$r: every check passed"
	sk_assert_eq "0002_amount_idx|post|index_valid|t" \
		"$(sk_rpsql "$r" "select step_id, \"when\", name, seen from skein.checks where name = 'index_valid'")" "$r: non-transactional step's check"
	sk_assert_eq "50" "$(sk_rpsql "$r" "select seen from skein.checks where name = 'rows_kept'")" "$r: the value seen is kept"
	sk_assert_contains "$(sk_rpsql "$r" "select seen from skein.checks where name = 'negative_refused'")" "23514" "$r: constraint test failed as it must"
	sk_assert_eq "connections,extension:plpgsql,server_version" \
		"$(sk_rpsql "$r" "select string_agg(name, ',' order by name) from skein.checks where \"when\" = 'preflight'")" "$r: preflight recorded"
	sk_assert_eq "t" "$(sk_rpsql "$r" "select passed from skein.checks where name = 'constraint_validated' and step_id is null")" "$r: phase post-check"
done
sk_assert_eq "canary|t" "$(sk_rpsql af "select phase, passed from skein.checks where name = 'invoices_present'")" "af: phase pre-check"
sk_assert_eq 0 "$(sk_rpsql in "select count(*) from skein.checks where name = 'invoices_present'")" "in: the canary's phase check did not run there"
report=$(sk_skein rollout report "$id" --format md)
for needle in no_bad_amounts negative_refused rows_kept index_valid constraint_validated; do
	sk_assert_contains "$report" "$needle" "the report lists check $needle"
done

# A preflight that requires a plan that never ran: nothing applied.
plan2="$SK_WORK/plans/prereq-src"
sk_plan_yaml "$plan2" needs-base 'preflight:
  requires:
    - {plan: base-schema, step: 0009_base}' <<'EOF'
  - id: 0001_extra
    sql: 0001_extra.sql
EOF
echo "CREATE TABLE extra (id int);" >"$plan2/0001_extra.sql"
signed2=$(sk_sign_plan "$plan2" needs-base)
id2=$(sk_skein rollout start "$signed2")
if out2=$(sk_skein rollout wait "$id2"); then
	sk_fail "a plan whose prerequisite is missing ran: $out2"
fi
sk_assert_contains "$out2" "preflight blocked" "the error says preflight"
sk_assert_contains "$out2" "requires:base-schema/0009_base" "the error names the check"
sk_assert_contains "$(tail -n 1 <<<"$out2")" "failed in phase canary" "halts in the canary"
for r in af in ksa; do
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regclass('public.extra')")" "$r: nothing applied"
done
sk_assert_eq "f" "$(sk_rpsql af "select passed from skein.checks where name = 'requires:base-schema/0009_base'")" "af: the failed preflight is in the ledger"
echo "PASS checks_rollout"

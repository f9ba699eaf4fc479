#!/usr/bin/env bash
# A step whose SQL fails in the canary: its transaction rolls back (no
# partial schema), the rollout halts before phase 2, the error names region,
# database, step and SQLSTATE, and the regions of phase 2 are untouched.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_canary_sql_failure
sk_deploy_three

plan="$SK_WORK/plans/broken-src"
sk_write_plan "$plan" broken 1h "$SK_TWO_PHASES" \
	"0001_create_a=CREATE TABLE a (id int);" \
	"0002_half_done=CREATE TABLE partial_b (id int); INSERT INTO no_such_table VALUES (1);" \
	"0003_never=CREATE TABLE never_c (id int);"
signed=$(sk_sign_plan "$plan" broken)
id=$(sk_skein rollout start "$signed")
if out=$(sk_skein rollout wait "$id"); then
	sk_fail "rollout of a failing plan succeeded: $out"
fi
last=$(tail -n 1 <<<"$out")
sk_assert_contains "$last" "rollout $id: failed in phase canary" "final line names the phase"
for needle in af app 0002_half_done 42P01 no_such_table; do
	sk_assert_contains "$out" "$needle" "the error names $needle"
done

# No partial schema in the canary: step 1 committed, step 2 rolled back whole.
sk_assert_eq "a" "$(sk_rpsql af "select string_agg(relname, ',') from pg_class where relname in ('a', 'partial_b', 'never_c')")" "af schema"
sk_assert_eq "0001_create_a" "$(sk_rpsql af "select string_agg(step_id, ',') from skein.steps")" "af ledger"
sk_assert_contains "$(sk_rpsql af "select string_agg(sqlstate, ',') from skein.events")" "42P01" "failure recorded in the ledger's events"

# Phase 2 untouched: the agents never even created their ledger.
for r in in ksa; do
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regnamespace('skein')")" "$r has no skein schema"
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regclass('public.a')")" "$r untouched"
done
status=$(sk_skein rollout status "$id" --json)
sk_assert_contains "$status" '"state": "not-started"' "phase 2 not started"
sk_assert_contains "$status" '"sqlstate": "42P01"' "status keeps the SQLSTATE"
echo "PASS fault_canary_sql_failure"

#!/usr/bin/env bash
# examples/004-two-phase-rename (seed runbook 004: reporting-service's
# schema evolution policy, "two-phase for renames") rolled out across
# three regions, canary first, on a busy table:
#
# - a rehearsal of the expand plan changes nothing and estimates the
#   backfill;
# - the expand plan runs while v1 of the service (pgbench: run_date only)
#   writes in every region; afterwards every row has business_date =
#   run_date, v1's rows written during the backfill too, and the ledger
#   holds the completed expand;
# - v2 (business_date only) is deployed beside v1 (a rolling deploy): each
#   version's rows carry the other's column (the trigger, both ways); then
#   v1 is gone;
# - the contract plan runs under v2's writes: the backup is taken and
#   verified, business_date is NOT NULL (validated), run_date, its index
#   and the trigger are gone, v2 keeps writing; the report shows the
#   backfill and every check;
# - the contract plan cannot be rolled back (forward-only): refused with
#   nothing changed, the backup's restore command is the way back.
#
# EXAMPLE_004_ROWS sets the table's rows per region: the example's
# default is 1000000 (about 5 minutes here), the suite's 200000.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"
. "$SKEIN_SRC/tests/lib/load.sh"

EX="$SKEIN_SRC/examples/004-two-phase-rename"
ROWS=${EXAMPLE_004_ROWS:-200000}
EXPAND=reporting-0042-business-date-expand
CONTRACT=reporting-0043-business-date-contract

sk_setup example_004
mkdir -p "$SK_WORK/backups"
SK_AGENT_EXTRA="backup_dir: $SK_WORK/backups"
export SK_AGENT_EXTRA
sk_deploy_three

t0=$SECONDS
pids=()
for r in af in ksa; do
	"$SK_PGCLUSTER" psql "$SK_WORK/pg" "$(sk_region_cluster "$r")" "${r}_app" \
		-q -v ON_ERROR_STOP=1 -v rows="$ROWS" <"$EX/fixture/schema.sql" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || sk_fail "loading the fixture failed"
done
echo "fixture: $ROWS report runs in each of 3 regions in $((SECONDS - t0)) s"

load() { # NAME VERSION: the service's version VERSION writing in every region
	local r
	for r in af in ksa; do
		sk_load_start "$1-$r" "$r" "$EX/load/$2.sql" 40 2 -D rows="$ROWS"
	done
}
unload() { # NAME
	local r
	for r in af in ksa; do
		sk_load_stop "$1-$r"
	done
}
columns() {
	sk_rpsql "$1" "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
	    WHERE attrelid = 'report_runs'::regclass AND attnum > 0 AND NOT attisdropped"
}

# --- The rehearsal ------------------------------------------------------------
expand=$(sk_sign_plan "$EX/expand" "$EXPAND")
before=$(sk_db_snapshot af)
out=$(sk_skein rollout start --rehearse "$expand" 2>&1) || sk_fail "the rehearsal failed: $out"
sk_assert_contains "$out" "READY in 3/3 regions" "the rehearsal's verdict"
rid=$(grep -o 'r-[a-z0-9]*' <<<"$out" | head -1)
sk_assert_contains "$(sk_skein rollout report "$rid")" "first batch: " "the rehearsal's estimate"
sk_assert_same_dump "$before" "$(sk_db_snapshot af)" "the rehearsal changed af"

# --- The expand, under v1's writes --------------------------------------------
load v1 v1
t0=$SECONDS
id=$(sk_skein rollout start "$expand")
out=$(sk_skein rollout wait "$id") || sk_fail "the expand failed: $out"
echo "expand: $((SECONDS - t0)) s"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "expand: final line"
sk_assert_canary_first "$out"
for r in af in ksa; do
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT count(*) FROM report_runs WHERE business_date IS DISTINCT FROM run_date")" \
		"$r: rows whose business_date differs from run_date"
	during=$(sk_rpsql "$r" "SELECT count(*) FROM report_runs r, skein.steps s WHERE s.plan_name = '$EXPAND'
	    AND s.step_id = '0042a_business_date' AND r.template_version = 3 AND r.requested_at BETWEEN s.started_at AND s.finished_at")
	((during > 0)) || sk_fail "$r: v1 added no run while the expand ran"
	sk_assert_eq "true|1" "$(sk_rpsql "$r" "SELECT (completed_at IS NOT NULL AND contracted_at IS NULL) || '|' ||
	    (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'report_runs'::regclass AND tgname = trigger_name)
	    FROM skein.expansions WHERE plan_name = '$EXPAND'")" "$r: the expansion in the ledger and its trigger"
	sk_assert_eq t "$(sk_rpsql "$r" "SELECT indisvalid FROM pg_index WHERE indexrelid = 'report_runs_tenant_business_date_idx'::regclass")" \
		"$r: the new index is valid"
	# Every row was looked at; v1's updates during the backfill left
	# some for the trigger.
	sk_assert_eq "expand|true|true" "$(sk_rpsql "$r" "SELECT kind || '|' || (rows > 0) || '|' || (SELECT sum(rows_scanned) >= $ROWS
	    FROM skein.backfills b WHERE b.plan_name = s.plan_name AND b.step_id = s.step_id) FROM skein.steps s
	    WHERE plan_name = '$EXPAND' AND step_id = '0042a_business_date'")" "$r: the backfill's rows"
done
report=$(sk_skein rollout report "$id") || sk_fail "rollout report failed: $report"
sk_assert_contains "$report" "0042a_business_date" "the report names the expand"
sk_assert_contains "$report" "business_date_matches_run_date" "the report shows the post-check"

# --- v2 deployed beside v1, then v1 gone --------------------------------------
load v2 v2
sleep 3
unload v1
for r in af in ksa; do
	sk_assert_eq "0|0" "$(sk_rpsql "$r" "SELECT count(*) FILTER (WHERE template_version = 4 AND run_date IS NULL)
	    || '|' || count(*) FILTER (WHERE business_date IS DISTINCT FROM run_date) FROM report_runs")" \
		"$r: v2's rows have run_date, all rows agree"
	sk_assert_eq t "$(sk_rpsql "$r" "SELECT count(*) > 0 FROM report_runs WHERE template_version = 4")" "$r: v2 wrote"
done

# --- The contract, under v2's writes ------------------------------------------
contract=$(sk_sign_plan "$EX/contract" "$CONTRACT")
t0=$SECONDS
id=$(sk_skein rollout start "$contract")
out=$(sk_skein rollout wait "$id") || sk_fail "the contract failed: $out"
echo "contract: $((SECONDS - t0)) s"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "contract: final line"
declare -A v2rows
for r in af in ksa; do
	v2rows[$r]=$(sk_rpsql "$r" "SELECT count(*) FROM report_runs WHERE template_version = 4")
done
sleep 2
unload v2
for r in af in ksa; do
	sk_assert_eq "id,tenant_id,template_id,template_version,status,artifact_bytes,requested_at,finished_at,business_date" \
		"$(columns "$r")" "$r: the columns after the contract"
	sk_assert_eq "report_runs_pkey,report_runs_tenant_business_date_idx" "$(sk_rpsql "$r" "SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY 1)
	    FROM pg_index WHERE indrelid = 'report_runs'::regclass")" "$r: run_date's index went with it"
	sk_assert_eq "0|0" "$(sk_rpsql "$r" "SELECT (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'report_runs'::regclass AND NOT tgisinternal)
	    || '|' || (SELECT count(*) FROM pg_proc WHERE proname LIKE 'skein\_sync\_%')")" "$r: trigger and function gone"
	sk_assert_eq t "$(sk_rpsql "$r" "SELECT convalidated FROM pg_constraint WHERE conname = 'report_runs_business_date_not_null'")" \
		"$r: business_date is NOT NULL, validated"
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT count(*) FROM report_runs WHERE business_date IS NULL")" "$r: no NULL business_date"
	sk_assert_eq t "$(sk_rpsql "$r" "SELECT count(*) > ${v2rows[$r]} FROM report_runs WHERE template_version = 4")" \
		"$r: v2 kept writing after the contract"
	sk_assert_eq t "$(sk_rpsql "$r" "SELECT contracted_at IS NOT NULL FROM skein.expansions WHERE plan_name = '$EXPAND'")" \
		"$r: the expansion is contracted"
	backup=$(sk_rpsql "$r" "SELECT path FROM skein.backups WHERE rollout_id = '$id'")
	[[ -s "$backup" ]] || sk_fail "$r: no backup file at '$backup'"
	pg_restore --list "$backup" | grep 'TABLE DATA public report_runs ' >/dev/null ||
		sk_fail "$r: the backup $backup does not hold report_runs"
done
report=$(sk_skein rollout report "$id") || sk_fail "rollout report failed: $report"
for needle in 0043c_drop_run_date run_date_gone sync_trigger_gone business_date_not_null_validated pg_restore; do
	sk_assert_contains "$report" "$needle" "the contract's report shows $needle"
done

# --- Forward-only: the contract plan is not rolled back -----------------------
before=$(sk_schema_dump af --exclude-schema=skein)
if out=$(sk_skein rollout rollback --yes "$id" --no-backup --wait 2>&1); then
	sk_fail "the contract plan was rolled back: $out"
fi
sk_assert_contains "$out" "no revert script for step 0043c_drop_run_date" "the refusal names the contract"
sk_assert_same_dump "$before" "$(sk_schema_dump af --exclude-schema=skein)" "af changed by the refused rollback"
sk_assert_eq 3 "$(sk_rpsql af "SELECT count(*) FROM skein.steps WHERE plan_name = '$CONTRACT'")" "af: the contract stays recorded"
echo "PASS example_004"

#!/usr/bin/env bash
# A backfill across the three regions: a non-idempotent UPDATE (n = n + 1)
# over 30,000 rows of a table with a composite key, in batches, by two
# workers in the canary: every row that matched `where` is updated exactly
# once, the others not at all; rows inserted after the start stay as
# they are; the ledger holds the step and its checkpoints; progress was
# reported; a rehearsal first changes nothing and estimates the work.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup backfill_rollout
sk_deploy_three

for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE items (tenant int NOT NULL, id int NOT NULL, n int NOT NULL DEFAULT 0,
	    flag boolean NOT NULL, PRIMARY KEY (tenant, id));
	  INSERT INTO items (tenant, id, flag)
	    SELECT g % 7, g, g % 3 <> 0 FROM generate_series(1, 30000) g;
	  ANALYZE items" >/dev/null
done

plan="$SK_WORK/plans/fill"
sk_plan_yaml "$plan" fill <<'YAML'
  - id: bump
    kind: backfill
    table: items
    update: SET n = n + 1
    where: t.flag
    batch: { min: 200, max: 3000, target: 50ms }
    workers: 2
YAML
signed=$(sk_sign_plan "$plan" fill)

before=$(sk_db_snapshot af)
out=$(sk_skein rollout start --rehearse "$signed" 2>&1) || sk_fail "rehearsal failed: $out"
sk_assert_contains "$out" "READY in 3/3 regions" "the rehearsal's verdict"
rid=$(grep -o 'r-[a-z0-9]*' <<<"$out" | head -1)
out=$(sk_skein rollout report "$rid")
sk_assert_contains "$out" "first batch: " "the rehearsal reports its first batch"
sk_assert_contains "$out" "rows in " "the rehearsal estimates the rows and batches"
sk_assert_same_dump "$before" "$(sk_db_snapshot af)" "the rehearsal changed af"

id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id") || sk_fail "the backfill rollout failed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
for r in af in ksa; do
	sk_assert_eq "20000|0" "$(sk_rpsql "$r" "SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n > 1) FROM items WHERE flag")" \
		"$r: each flagged row once"
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT count(*) FROM items WHERE NOT flag AND n <> 0")" "$r: unflagged rows untouched"
	sk_assert_eq "backfill|20000" "$(sk_rpsql "$r" "SELECT kind, rows FROM skein.steps WHERE plan_name = 'fill'")" "$r: ledger row"
	sk_assert_eq "t|30000" "$(sk_rpsql "$r" "SELECT bool_and(done), sum(rows_scanned) FROM skein.backfills WHERE plan_name = 'fill'")" \
		"$r: checkpoints done"
done
sk_assert_eq 2 "$(sk_rpsql af "SELECT count(*) FROM skein.backfills WHERE plan_name = 'fill'")" "af: two workers"
# Progress was reported while it ran, with the rows of the key range.
report=$(sk_skein rollout report "$id" --format json)
python3 - "$report" <<'PY' || sk_fail "no backfill figures in the report"
import json, sys
r = json.loads(sys.argv[1])
text = json.dumps(r)
assert '"bump"' in text, "the step is not in the report"
PY

# A rollback: the backfill has no revert script, so its rows stay as they
# are; its ledger row moves to skein.reverts and its checkpoints go, so
# that an apply after the rollback would start it over.
out=$(sk_skein rollout rollback --yes "$id" --no-backup --wait 2>&1) || sk_fail "the rollback failed: $out"
for r in af in ksa; do
	sk_assert_eq "0|0|1" "$(sk_rpsql "$r" "SELECT (SELECT count(*) FROM skein.steps WHERE plan_name = 'fill'),
	    (SELECT count(*) FROM skein.backfills WHERE plan_name = 'fill'),
	    (SELECT count(*) FROM skein.reverts WHERE plan_name = 'fill')")" "$r: the ledger after the rollback"
	sk_assert_eq 20000 "$(sk_rpsql "$r" "SELECT count(*) FROM items WHERE n = 1")" "$r: rows left as they were"
done
echo "PASS backfill_rollout"

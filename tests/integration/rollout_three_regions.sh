#!/usr/bin/env bash
# A signed plan rolled out in two phases to three regional databases:
# every step lands once in every region; the same plan started again is the
# same rollout; a rebuilt plan with the same content runs no step twice; a
# changed step is refused as drift and changes nothing.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup rollout_three_regions
sk_deploy_three

signed=$(sk_sign_plan "$SKEIN_SRC/examples/quickstart" quickstart)
id=$(sk_skein rollout start "$signed")
[[ "$id" == r-* ]] || sk_fail "rollout start printed '$id', not a rollout id"
# The quickstart's rest phase waits for an approval by someone else.
sk_approve "$id" rest >/dev/null

out=$(sk_skein rollout wait "$id") || sk_fail "rollout wait failed: $out"
last=$(tail -n 1 <<<"$out")
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$last" "final line"
sk_assert_contains "$out" "phase 2/2 rest started" "phases are announced"

# The canary finished before the rest started.
canary_done=$(grep -n 'af: succeeded' <<<"$out" | head -1 | cut -d: -f1)
rest_start=$(grep -n 'phase 2/2 rest started' <<<"$out" | head -1 | cut -d: -f1)
((canary_done < rest_start)) || sk_fail "phase 2 started before the canary succeeded"

for r in af in ksa; do
	sk_assert_eq 4 "$(sk_rpsql "$r" "select count(*) from skein.steps where plan_name = 'quickstart'")" "$r ledger rows"
	sk_assert_eq true "$(sk_rpsql "$r" "select skein.flag('clients.status', 'any-tenant')")" "$r: the flag is on"
	sk_assert_eq t "$(sk_rpsql "$r" "select relrowsecurity from pg_class where oid = 'public.clients'::regclass")" "$r RLS on clients"
	sk_assert_eq t "$(sk_rpsql "$r" "select indisvalid from pg_index where indexrelid = 'public.clients_tenant_idx'::regclass")" "$r index valid"
	sk_assert_eq active "$(sk_rpsql "$r" "insert into clients (tenant_id, name) values (gen_random_uuid(), 'x') returning status")" "$r new column default"
done

status=$(sk_skein rollout status "$id" --json)
sk_assert_contains "$status" '"state": "succeeded"' "status --json"

# The same signed plan again is the same rollout.
again=$(sk_skein rollout start "$signed")
sk_assert_eq "$id" "$again" "starting the same signed plan twice"

# Rebuilt (new plan id, same content): every step is skipped via the ledger.
before=$(sk_rpsql af "select string_agg(step_id || '@' || finished_at, ',' order by step_id) from skein.steps")
signed2=$(sk_sign_plan "$SKEIN_SRC/examples/quickstart" quickstart-again)
id2=$(sk_skein rollout start "$signed2")
[[ "$id2" != "$id" ]] || sk_fail "a rebuilt plan must be a new rollout"
sk_approve "$id2" rest >/dev/null
out2=$(sk_skein rollout wait "$id2") || sk_fail "second rollout failed: $out2"
sk_assert_contains "$out2" "already applied (ledger), skipped" "second rollout skips"
[[ "$out2" != *"applied in"* ]] || sk_fail "a step ran again: $out2"
after=$(sk_rpsql af "select string_agg(step_id || '@' || finished_at, ',' order by step_id) from skein.steps")
sk_assert_eq "$before" "$after" "ledger untouched by the repeat"

# Drift: the same step id with other content is refused, nothing applied.
drift="$SK_WORK/plans/drift-src"
cp -r "$SKEIN_SRC/examples/quickstart" "$drift"
printf 'ALTER TABLE clients ADD COLUMN status text;\nALTER TABLE clients ADD COLUMN drifted int;\n' >"$drift/0002_add_client_status.sql"
signed3=$(sk_sign_plan "$drift" drift)
id3=$(sk_skein rollout start "$signed3")
if out3=$(sk_skein rollout wait "$id3"); then
	sk_fail "a drifted plan succeeded: $out3"
fi
sk_assert_contains "$out3" "drift" "drift is named"
sk_assert_contains "$out3" "0002_add_client_status" "the drifted step is named"
[[ $(grep -Eo '[0-9a-f]{16}' <<<"$out3" | sort -u | wc -l) -ge 2 ]] || sk_fail "both checksums should be shown: $out3"
sk_assert_eq 0 "$(sk_rpsql af "select count(*) from information_schema.columns where table_name = 'clients' and column_name = 'drifted'")" "drifted column not added"
sk_assert_eq "$after" "$(sk_rpsql af "select string_agg(step_id || '@' || finished_at, ',' order by step_id) from skein.steps")" "ledger unchanged by drift"
sk_assert_contains "$(sk_skein rollout status "$id3")" "not-started" "later phases untouched after drift"
echo "PASS rollout_three_regions"

#!/usr/bin/env bash
# A tenant residency move in a real three-region rollout (issue 11):
# examples/004-residency-move moves hotel-af-007 from af to in while a
# writer keeps writing another af hotel and the moving one.
#   - in holds the tenant's rows exactly as af does (an independent count
#     and md5 over every moved table, computed by psql on both sides);
#   - af keeps its rows, now read-only: a write fails with SKM01;
#   - the staying table did not move, and in's index names each of its
#     rows with original_region af; the outbox has the event; the tenant
#     directory says in on both sides;
#   - every write of the other hotel succeeded during the whole move;
#   - the rollout succeeded in 3/3 regions, the source and ksa recorded the
#     step without running it, and the report carries both agents' sums;
#   - skein rollout rollback moves the tenant back, with the changes made
#     in in since, and routes it to af again; a purge_tenant step then
#     deletes in's fenced copy, and one of af (not moved away) is refused;
#   - no row passed through the coordinator: it read far fewer bytes than
#     the move carried, and the rows' marker text is nowhere in its
#     journal or log.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

ex="$SKEIN_SRC/examples/004-residency-move"
sk_setup move_rollout
SK_MOVES=1 sk_deploy_three

# 1. The schema everywhere, then each region's hotels (af's carry a
#    marker in their guests' names, to look for in the control plane).
signed=$(sk_sign_plan "$ex/0-schema" residency-schema)
id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id") || sk_fail "schema rollout failed: $out"
for r in af in ksa; do
	"$SK_PGCLUSTER" psql "$SK_WORK/pg" "$(sk_region_cluster "$r")" "${r}_app" -q \
		-v ON_ERROR_STOP=1 -v region="$r" -v bookings=3000 -f "$ex/fixture/hotels.sql" >/dev/null
done
sk_rpsql af "UPDATE bookings SET guest = guest || ' MARKER-7c1e-tenantdata', extras = extras || jsonb_build_object('pad', repeat('p', 600)) WHERE tenant_id = 'hotel-af-007'" >/dev/null
# One row larger than the source's COPY batch (64 KiB): it travels in
# replies of its own, between batches of small rows.
sk_rpsql af "UPDATE bookings SET extras = extras || jsonb_build_object('big', repeat('b', 200000)) WHERE id = (SELECT min(id) + 5 FROM bookings WHERE tenant_id = 'hotel-af-007')" >/dev/null

# 2. Writers: hotel-af-001 (must never fail) and hotel-af-007 (until the
#    move freezes and then refuses it).
writer() { # TENANT LOG
	local n=0 ok=0 err
	while [[ ! -e "$SK_WORK/stop-writers" ]]; do
		n=$((n + 1))
		if err=$(sk_rpsql af "UPDATE bookings SET nights = nights % 9 + 1 WHERE id = (SELECT min(id) FROM bookings WHERE tenant_id = '$1') + $((n % 50))" 2>&1); then
			ok=$((ok + 1))
		else
			echo "fail $n: ${err//$'\n'/ }" >>"$2"
		fi
		echo "$n $ok" >"$2.count"
	done
}
writer hotel-af-001 "$SK_WORK/other.log" &
w1=$!
writer hotel-af-007 "$SK_WORK/moving.log" &
w2=$!

coord=$(sk_pid coordinator)
read_before=$(awk '/^rchar/ {print $2}' "/proc/$coord/io")

# 3. The move.
signed=$(sk_sign_plan "$ex/1-move-hotel-af-007" move-hotel-af-007)
id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id") || sk_fail "move rollout failed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "move rollout's final line"
read_after=$(awk '/^rchar/ {print $2}' "/proc/$coord/io")
sleep 1
touch "$SK_WORK/stop-writers"
wait "$w1" "$w2"

# 4. The rows, compared by psql on both sides.
digest() { # REGION TABLE
	sk_rpsql "$1" "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM $2 t WHERE tenant_id = 'hotel-af-007'"
}
for t in tenants bookings invoices; do
	src=$(digest af "$t")
	sk_assert_eq "$src" "$(digest in "$t")" "in's $t equal af's"
	[[ "${src%% *}" -gt 0 ]] || sk_fail "af has no $t rows of hotel-af-007"
done
sk_assert_eq 0 "$(sk_rpsql in "SELECT count(*) FROM police_submissions WHERE tenant_id = 'hotel-af-007'")" "police submissions stay in af"
staying=$(sk_rpsql af "SELECT count(*) FROM police_submissions WHERE tenant_id = 'hotel-af-007'")
sk_assert_eq "$staying" "$(sk_rpsql in "SELECT count(*) FROM regulatory_index WHERE original_region = 'af'")" "in indexes every staying submission"
sk_assert_eq 0 "$(sk_rpsql in "SELECT count(*) FROM regulatory_index r LEFT JOIN bookings b ON b.id = r.booking_id WHERE b.id IS NULL")" "the index points at moved bookings"
sk_assert_eq "tenant.region_changed.v1 af in" \
	"$(sk_rpsql in "SELECT event_type || ' ' || (payload->>'from') || ' ' || (payload->>'to') FROM outbox WHERE payload->>'tenant' = 'hotel-af-007'")" "in's outbox has the event"
for r in af in; do
	sk_assert_eq in "$(sk_rpsql "$r" "SELECT region FROM tenant_directory WHERE tenant_id = 'hotel-af-007'")" "$r's directory routes the tenant to in"
done
sk_assert_eq 0 "$(sk_rpsql in "SELECT count(*) FROM bookings WHERE tenant_id = 'hotel-af-001'")" "no other hotel's rows in in"

# 5. af's copy is read-only now; the other hotels write on.
if err=$(sk_rpsql af "UPDATE bookings SET nights = 2 WHERE tenant_id = 'hotel-af-007'" 2>&1); then
	sk_fail "a write to the moved tenant in af succeeded"
fi
sk_assert_contains "$err" "moved to region in" "af refuses the moved tenant's writes"
sk_rpsql af "UPDATE bookings SET nights = 2 WHERE id = (SELECT min(id) FROM bookings WHERE tenant_id = 'hotel-af-002')" >/dev/null
read -r n ok <"$SK_WORK/other.log.count"
[[ "$n" -gt 5 ]] || sk_fail "the other hotel's writer wrote only $n times"
sk_assert_eq "$n" "$ok" "every write of the other hotel succeeded ($n); failures: $(cat "$SK_WORK/other.log" 2>/dev/null | head -3)"
if [[ -s "$SK_WORK/moving.log" ]]; then
	grep -v "moved to region in" "$SK_WORK/moving.log" && sk_fail "the moving hotel's writes failed for another reason"
fi

# 6. Ledgers, status and the report.
for r in af in ksa; do
	sk_assert_eq 1 "$(sk_rpsql "$r" "SELECT count(*) FROM skein.steps WHERE plan_name = 'move-hotel-af-007'")" "$r records the move step"
done
status=$(sk_skein rollout status "$id" --json)
sk_assert_eq succeeded "$(jq -r .state <<<"$status")" "status"
report=$(sk_skein rollout report "$id" --format json)
[[ "$(jq '[.. | objects | select(has("source_sums"))] | length' <<<"$report")" -ge 1 ]] ||
	sk_fail "the report carries no signed sums: $report"

# 7. The rollback moves the tenant back, with what it wrote in in: af
#    takes its writes again and in refuses them; both directories say
#    af; af's outbox has the event back; no ledger keeps the step.
sk_rpsql in "UPDATE bookings SET nights = 7 WHERE tenant_id = 'hotel-af-007'; INSERT INTO invoices (id, tenant_id, booking_id, total) SELECT 900000000 + id, tenant_id, id, 1.50 FROM bookings WHERE tenant_id = 'hotel-af-007' ORDER BY id LIMIT 3" >/dev/null
in_bookings=$(digest in bookings)
in_invoices=$(digest in invoices)
rid=$(sk_skein rollout rollback --yes "$id") || sk_fail "rollback refused: $rid"
out=$(sk_skein rollout wait "$rid") || sk_fail "the rollback (move back) failed: $out"
sk_assert_eq "$in_bookings" "$(digest af bookings)" "af has the tenant's bookings back, as in had them"
sk_assert_eq "$in_invoices" "$(digest af invoices)" "af has the tenant's invoices back, with those written in in"
sk_rpsql af "UPDATE bookings SET nights = 3 WHERE id = (SELECT min(id) FROM bookings WHERE tenant_id = 'hotel-af-007')" >/dev/null
if err=$(sk_rpsql in "UPDATE bookings SET nights = 2 WHERE tenant_id = 'hotel-af-007'" 2>&1); then
	sk_fail "a write to the tenant in in succeeded after the move back"
fi
sk_assert_contains "$err" "moved to region af" "in refuses the tenant's writes"
for r in af in; do
	sk_assert_eq af "$(sk_rpsql "$r" "SELECT region FROM tenant_directory WHERE tenant_id = 'hotel-af-007'")" "$r's directory routes the tenant to af"
done
sk_assert_eq "tenant.region_changed.v1 in af" \
	"$(sk_rpsql af "SELECT event_type || ' ' || (payload->>'from') || ' ' || (payload->>'to') FROM outbox WHERE payload->>'tenant' = 'hotel-af-007'")" "af's outbox has the event back"
for r in af in ksa; do
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT count(*) FROM skein.steps WHERE plan_name = 'move-hotel-af-007'")" "$r no longer records the move step"
done
sk_assert_eq 0 "$(sk_rpsql af "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'skein_move%'")" "af keeps no move trigger"

# 8. Purges. in keeps the tenant's fenced rows after the move back; a
#    purge_tenant step deletes them there in batches. A purge of af,
#    which the tenant has not left (its move is undone), is refused and
#    deletes nothing.
purge_plan() { # NAME FROM TO
	mkdir -p "$SK_WORK/$1"
	cat >"$SK_WORK/$1/plan.yaml" <<YAML
name: $1
expires: 2h
phases:
  - name: all
    regions: [$2, $3]
steps:
  - id: purge_hotel_af_007
    kind: purge_tenant
    tenant: {column: tenant_id, value: hotel-af-007}
    from: $2
    to: $3
    tables: [tenants, bookings, invoices]
YAML
	sk_sign_plan "$SK_WORK/$1" "$1"
}
af_before=$(digest af bookings)
pid=$(sk_skein rollout start "$(purge_plan purge-af af in)")
if out=$(sk_skein rollout wait "$pid"); then
	sk_fail "a purge of af, where the tenant lives, succeeded: $out"
fi
sk_assert_contains "$(sk_skein rollout status "$pid")" "has not moved from af to in" "the purge of af is refused, saying why"
sk_assert_eq "$af_before" "$(digest af bookings)" "the refused purge deleted nothing in af"
pid=$(sk_skein rollout start "$(purge_plan purge-in in af)")
out=$(sk_skein rollout wait "$pid") || sk_fail "the purge of in failed: $out"
for t in tenants bookings invoices; do
	sk_assert_eq "0 -" "$(digest in "$t")" "in holds no $t row of the tenant after the purge"
done
sk_assert_eq "$af_before" "$(digest af bookings)" "af's rows untouched by in's purge"
if err=$(sk_rpsql in "INSERT INTO tenants (tenant_id, name) VALUES ('hotel-af-007', 'x')" 2>&1); then
	sk_fail "in took a write of the tenant after the purge"
fi
sk_assert_contains "$err" "moved to region af" "in still refuses the tenant's writes"
sk_assert_eq 1 "$(sk_rpsql in "SELECT count(*) FROM skein.steps WHERE plan_name = 'purge-in'")" "in records the purge"

# 9. No row through the coordinator.
moved=$(sk_rpsql af "SELECT sum(pg_column_size(t)) FROM (SELECT * FROM bookings WHERE tenant_id = 'hotel-af-007') t")
delta=$((read_after - read_before))
echo "the move carried about $moved bytes of bookings; the coordinator read $delta bytes meanwhile"
[[ "$delta" -lt $((moved / 4)) ]] || sk_fail "the coordinator read $delta bytes during a move of $moved"
if grep -rl "MARKER-7c1e" "$SK_WORK/coordinator" "$SK_WORK/logs/coordinator.log" 2>/dev/null; then
	sk_fail "tenant rows reached the coordinator"
fi
echo "move_rollout: ok"

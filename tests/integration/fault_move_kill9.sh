#!/usr/bin/env bash
# A tenant move survives kill -9 of either agent at exact points (through
# SKEIN_FAILPOINT), each in a move of its own while a writer updates the
# moving hotel and another writes a hotel that stays:
#   (a) the SOURCE agent (af) in the copy, after 2000 COPY frames were sent
#       (move-serve-copy:2000: one per row, in the bookings table);
#   (b) the TARGET agent (in) in the copy, as the second table starts
#       (move-copy:3: the tenants table copied, uncommitted);
#   (c) the TARGET agent in the catch-up, as it starts (move-catchup:1:
#       the copy committed, the writer's changes not yet applied);
#   (d) the SOURCE agent in the catch-up, at its first CHANGES request
#       (move-serve-changes:1);
#   (e) the TARGET agent in a parallel copy once a table committed
#       (move-copy-committed:1): that table stays in in until the next
#       run deletes it and copies again (see parallel_case).
# Each time the agent is restarted; the rollout succeeds in 3/3 regions
# (a killed source makes the target abort and copy again, 6001 rows; a
# target killed in the copy copies again; killed in the catch-up it
# resumes from its recorded position and copies nothing), the writer's
# changes were applied (the report's changes > 0),
# the tenant's rows in in equal af's exactly (an independent count and md5
# per moved table), af is fenced ("moved to region in"), af's capture is
# gone (only the fence's guard triggers stay, no change rows left), in
# keeps no move trigger, and every write of the other hotel succeeded.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"
. "$SKEIN_SRC/tests/lib/move_faults.sh"

sk_setup fault_move_kill9
mf_world 3000
mf_writer hotel-af-001 other

# kill_case TENANT REGION FAILPOINT WHAT COPIED: COPIED is the rows the
# attempt that finished copied (all 6001 of the tenant when it had to copy
# again, 0 when it resumed the catch-up from the recorded position).
kill_case() {
	local tenant=$1 region=$2 point=$3 what=$4 copied=$5 signed id out fig rows changes committed t0=$SECONDS
	# A copy of about two seconds (flat out, it can end before the
	# writer's next write): the writer's changes during it
	# are what the catch-up must apply.
	signed=$(mf_plan "$tenant" "    max_copy_rate: 500kB")
	mf_restart "$region" "$point"
	mf_writer "$tenant" "moving-$tenant"
	sleep 0.3
	id=$(sk_skein rollout start "$signed")
	mf_wait_dead "$region" "$what"
	sk_start_agent "$region"
	out=$(sk_skein rollout wait "$id" --timeout 60s) || sk_fail "$what: the move did not complete: $out"
	sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "$what: final line"
	sleep 0.3
	touch "$SK_WORK/stop-writers"
	wait "${MF_WRITERS[-1]}"
	unset 'MF_WRITERS[-1]'
	rm -f "$SK_WORK/stop-writers"
	fig=$(sk_skein rollout report "$id" --format json |
		jq -r '[.. | objects | select(has("changes") and .step != null)][0] | "\(.rows) \(.changes) \(.committed)"')
	read -r rows changes committed <<<"$fig"
	sk_assert_eq "$copied true" "$rows $committed" "$what: rows the finishing attempt copied, committed"
	((changes > 0)) || sk_fail "$what: no change of the writer was applied in the catch-up ($fig)"
	mf_assert_same "$tenant"
	mf_assert_fenced "$tenant"
	mf_assert_writes "moving-$tenant" 1
	mf_assert_finished "$what"
	echo "$what: ok in $((SECONDS - t0))s (copied $rows rows, applied $changes changes)" >&2
}

kill_case hotel-af-002 af move-serve-copy:2000 "(a) source killed in the copy" 6001
kill_case hotel-af-003 in move-copy:3 "(b) target killed in the copy" 6001
kill_case hotel-af-004 in move-catchup:1 "(c) target killed in the catch-up" 0
kill_case hotel-af-005 af move-serve-changes:1 "(d) source killed in the catch-up" 6001

# copy_times LOG: "table start end" of each table the last attempt in LOG
# copied (the copy workers' "starts" and "committed" lines, ISO times).
copy_times() {
	tac "$1" | sed '/^--- .* start: /q' | tac | awk '
		/copy worker [0-9]+ starts / { st[$NF] = $1 }
		/copy worker [0-9]+ committed / { t = $0; sub(/.* committed /, "", t); sub(/:.*/, "", t); en[t] = $1 }
		END { for (t in st) print t, st[t], (t in en ? en[t] : "-") }'
}

# (e) the TARGET agent in a parallel copy (parallel: 2),
# once one worker's table committed (move-copy-committed:1): that table's
# rows stay committed in in while the agent is dead; the next run deletes
# them before it copies again, so that the move ends exact, no row twice.
# Then the workers' log lines show the copy's order: with replica
# sessions two tables overlap, without them invoices starts only after
# bookings (which it references) committed.
parallel_case() {
	local tenant=hotel-af-006 what="(e) target killed in a parallel copy" signed id out left rows t0=$SECONDS
	# The rate stretches each 3000-row table's copy to about half a
	# second, so that workers opening their links do not decide the order.
	signed=$(mf_plan "$tenant" "    max_copy_rate: 600kB
    parallel: 2")
	mf_restart in move-copy-committed:1
	id=$(sk_skein rollout start "$signed")
	mf_wait_dead in "$what"
	left=$(sk_rpsql in "SELECT (SELECT count(*) FROM tenants WHERE tenant_id = '$tenant') + (SELECT count(*) FROM bookings WHERE tenant_id = '$tenant') + (SELECT count(*) FROM invoices WHERE tenant_id = '$tenant')")
	((left > 0 && left < 6001)) || sk_fail "$what: in holds $left of the tenant's 6001 rows while the agent is dead (a committed table, not all)"
	sk_assert_eq copy "$(sk_rpsql in "SELECT state FROM skein.moves WHERE tenant_value = '$tenant'")" "$what: the move's state in in"
	sk_start_agent in
	out=$(sk_skein rollout wait "$id" --timeout 60s) || sk_fail "$what: the move did not complete: $out"
	sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "$what: final line"
	rows=$(sk_skein rollout report "$id" --format json |
		jq -r '[.. | objects | select(has("changes") and .step != null)][0].rows')
	sk_assert_eq 6001 "$rows" "$what: rows the finishing attempt copied"
	mf_assert_same "$tenant"
	mf_assert_fenced "$tenant"
	mf_assert_finished "$what"
	local times b_st b_en i_st i_en
	times=$(copy_times "$SK_WORK/logs/agent-in.log")
	# (|| true: a missing line must reach the check below, which says so,
	# not end the test at the read without a word.)
	read -r _ b_st b_en < <(grep '^public.bookings ' <<<"$times") || true
	read -r _ i_st i_en < <(grep '^public.invoices ' <<<"$times") || true
	[[ -n "$b_en" && -n "$i_en" && "$b_en" != - && "$i_en" != - ]] ||
		sk_fail "$what: no workers' lines for bookings and invoices: '$times'; agent in's log since its start: $(tac "$SK_WORK/logs/agent-in.log" | sed '/^--- .* start: /q' | tac | tail -n 30)"
	if tac "$SK_WORK/logs/agent-in.log" | sed '/^--- .* start: /q' | grep -q "2 at once (replica sessions"; then
		[[ "$b_st" < "$i_en" && "$i_st" < "$b_en" ]] || sk_fail "$what: bookings ($b_st..$b_en) and invoices ($i_st..$i_en) were not copied at the same time"
	else
		[[ ! "$i_st" < "$b_en" ]] || sk_fail "$what: invoices started ($i_st) before bookings committed ($b_en)"
	fi
	echo "$what: ok in $((SECONDS - t0))s ($left rows were left committed; bookings $b_st..$b_en, invoices $i_st..$i_en)" >&2
}
parallel_case

mf_stop_writers
mf_assert_writes other
sk_assert_eq 0 "$(sk_rpsql in "SELECT count(*) FROM bookings WHERE tenant_id = 'hotel-af-001'")" "no other hotel's rows in in"
echo "PASS fault_move_kill9"

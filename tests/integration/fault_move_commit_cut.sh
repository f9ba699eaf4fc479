#!/usr/bin/env bash
# The source agent killed -9 at the move's commit point, the worst
# moment: the target cannot know whether the source committed. Writers
# on the moving hotel and on one that stays.
#   (a) just after the commit point (move-serve-committed: af fenced and
#       routed to in, the COMMIT's answer never sent). While af's agent is
#       down: af refuses the tenant's writes ("moved to region in"), in
#       keeps its whole copy (equal to af's, still guarded: in refuses the
#       application's writes of the tenant) in its catch-up state — not
#       deleted as an abort would. af's agent back, the next attempt finds
#       the source moved and only flips (it copies nothing).
#   (b) just before it (move-serve-commit: COMMIT received, not run).
#       While af's agent is down: af takes the tenant's writes again (the
#       freeze died with the agent), in keeps its copy in its catch-up
#       state. af's agent back, the next attempt resumes the catch-up
#       (copies nothing, applies the writes made meanwhile) and moves the
#       tenant.
# Both end with the rollout succeeded in 3/3, in's rows equal af's (count
# and md5 per table), af fenced, both directories saying in, af's capture
# gone, and every write of the other hotel succeeded.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"
. "$SKEIN_SRC/tests/lib/move_faults.sh"

sk_setup fault_move_commit_cut
mf_world 1000
mf_writer hotel-af-001 other

in_state() { sk_rpsql in "SELECT state FROM skein.moves WHERE tenant_value = '$1'"; }

# cut TENANT FAILPOINT WHAT: start the move, let af's agent die there.
cut() {
	local signed tries
	signed=$(mf_plan "$1")
	tries=$(grep -c "trying again" "$SK_WORK/logs/agent-in.log" || true)
	mf_restart af "$2"
	mf_writer "$1" "moving-$1"
	sleep 0.3
	CUT_ID=$(sk_skein rollout start "$signed")
	mf_wait_dead af "$3"
	# in's abort (or not) has run once it tries to dial af again.
	sk_wait_until 20 bash -c "(( \$(grep -c 'trying again' '$SK_WORK/logs/agent-in.log') > $tries ))" ||
		sk_fail "$3: in never tried again"
}

# finish TENANT WHAT: af's agent back, the move completes exactly.
finish() {
	local out fig rows changes
	sk_start_agent af
	out=$(sk_skein rollout wait "$CUT_ID" --timeout 60s) || sk_fail "$2: the move did not complete: $out"
	sk_assert_eq "rollout $CUT_ID: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "$2: final line"
	sleep 0.3
	touch "$SK_WORK/stop-writers"
	wait "${MF_WRITERS[-1]}"
	unset 'MF_WRITERS[-1]'
	rm -f "$SK_WORK/stop-writers"
	fig=$(sk_skein rollout report "$CUT_ID" --format json |
		jq -r '[.. | objects | select(has("changes") and .step != null)][0] | "\(.rows) \(.changes)"')
	read -r rows changes <<<"$fig"
	sk_assert_eq 0 "$rows" "$2: the finishing attempt copied nothing"
	mf_assert_same "$1"
	mf_assert_fenced "$1"
	mf_assert_writes "moving-$1" 1
	mf_assert_finished "$2"
	sk_assert_eq "done" "$(in_state "$1")" "$2: in's move state"
	for r in af in; do
		sk_assert_eq in "$(sk_rpsql "$r" "SELECT region FROM tenant_directory WHERE tenant_id = '$1'")" "$2: $r's directory"
	done
	echo "$2: ok (the finishing attempt applied $changes changes)" >&2
}

# (a) after the commit point.
t=hotel-af-009
cut "$t" move-serve-committed:1 "(a) after the commit point"
mf_assert_fenced "$t"
sk_assert_eq in "$(sk_rpsql af "SELECT region FROM tenant_directory WHERE tenant_id = '$t'")" "(a) af routes the tenant to in"
sleep 0.5
sk_assert_eq catchup "$(in_state "$t")" "(a) in's move state with af's agent down"
mf_assert_same "$t"
if sk_rpsql in "UPDATE bookings SET nights = 1 WHERE tenant_id = '$t'" >/dev/null 2>&1; then
	sk_fail "(a) in took an application write of the tenant before its flip"
fi
finish "$t" "(a) after the commit point"

# (b) before it.
t=hotel-af-010
cut "$t" move-serve-commit:1 "(b) before the commit point"
out=$(sk_rpsql af "SET lock_timeout = '3s'; UPDATE bookings SET nights = nights % 9 + 1 WHERE id = (SELECT min(id) FROM bookings WHERE tenant_id = '$t') RETURNING 'written'" 2>&1) ||
	sk_fail "(b) af refused the tenant's write with its agent down before the commit point: $out"
sk_assert_eq af "$(sk_rpsql af "SELECT region FROM tenant_directory WHERE tenant_id = '$t'")" "(b) af still routes the tenant to af"
sk_assert_eq catchup "$(in_state "$t")" "(b) in's move state with af's agent down"
sk_assert_eq 1000 "$(sk_rpsql in "SELECT count(*) FROM bookings WHERE tenant_id = '$t'")" "(b) in keeps its copy"
sleep 0.5
finish "$t" "(b) before the commit point"

mf_stop_writers
mf_assert_writes other
echo "PASS fault_move_commit_cut"

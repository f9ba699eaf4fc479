#!/usr/bin/env bash
# The source agent killed -9 while the moving tenant is frozen (failpoint
# move-serve-frozen: FREEZE granted, the source holding the tenant's lock),
# with writers on the moving hotel and on one that stays:
#   - at once, before af's agent is restarted: a write of the tenant in af
#     succeeds (the freeze died with the agent's session), and so do the
#     writers' (none failed, none is left waiting);
#   - in's abort runs: it soon holds no row of the tenant in any moved
#     table and no move guard; af is not fenced;
#   - af's agent restarted, the target's retry moves the tenant (copying
#     it again, all 6001 rows): the rollout succeeds in 3/3, in's rows equal af's (count and md5 per
#     table), af is fenced, its capture gone, and every write of the other
#     hotel succeeded throughout.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"
. "$SKEIN_SRC/tests/lib/move_faults.sh"

sk_setup fault_move_freeze_cut
mf_world 3000
tenant=hotel-af-006
signed=$(mf_plan "$tenant")
mf_restart af move-serve-frozen:1
mf_writer hotel-af-001 other
mf_writer "$tenant" moving
sleep 0.3
id=$(sk_skein rollout start "$signed")
sk_wait_until 40 bash -c "! kill -0 \$(cat '$SK_WORK/pids/agent-af.pid') 2>/dev/null" ||
	sk_fail "af's agent never reached move-serve-frozen"
grep -q "failpoint move-serve-frozen: pass 1" "$SK_WORK/logs/agent-af.log" ||
	sk_fail "af's agent died, but not in the freeze"
sk_kill9 agent-af
t_kill=$SECONDS

# 1. The freeze is released with the agent gone: the tenant writes in af.
out=$(sk_rpsql af "SET lock_timeout = '3s'; SET statement_timeout = '5s';
  UPDATE bookings SET nights = nights % 9 + 1 WHERE id = (SELECT min(id) FROM bookings WHERE tenant_id = '$tenant') RETURNING 'written'" 2>&1) ||
	sk_fail "a write of the tenant in af failed after the source agent died in the freeze: $out"
sk_assert_contains "$out" written "the tenant writes in af with its source agent dead"
sk_assert_eq 0 "$(sk_rpsql af "SELECT count(*) FROM pg_stat_activity WHERE datname = 'af_app' AND wait_event_type = 'Lock'")" \
	"no session of af waits on a lock"

# 2. The target's abort: no row of the tenant visible in in, no guard.
in_rows() {
	sk_rpsql in "SELECT (SELECT count(*) FROM tenants WHERE tenant_id = '$tenant') +
	  (SELECT count(*) FROM bookings WHERE tenant_id = '$tenant') +
	  (SELECT count(*) FROM invoices WHERE tenant_id = '$tenant')"
}
for ((i = 0; i < 200; i++)); do
	[[ "$(in_rows)" != 0 ]] || break
	sleep 0.1
done
sk_assert_eq 0 "$(in_rows)" "in holds no row of the tenant after its abort"
sk_assert_eq 0 "$(mf_triggers in)" "in's move guard removed by the abort"
sk_assert_eq af "$(sk_rpsql af "SELECT region FROM tenant_directory WHERE tenant_id = '$tenant'")" "af still routes the tenant to af"
grep -q "aborted" "$SK_WORK/logs/agent-in.log" || sk_fail "in's log does not say the move aborted"
echo "freeze cut: af writable at once, in's copy gone within $((SECONDS - t_kill))s" >&2
sleep 1
n_before=$(cut -d' ' -f1 "$SK_WORK/moving.log.count")
[[ ! -s "$SK_WORK/moving.log" ]] || sk_fail "a write of the moving tenant failed while af was authoritative: $(head -3 "$SK_WORK/moving.log")"

# 3. af's agent back: the target's retry moves the tenant.
sk_start_agent af
out=$(sk_skein rollout wait "$id" --timeout 60s) || sk_fail "the move did not complete after af's agent came back: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
fig=$(sk_skein rollout report "$id" --format json |
	jq -r '[.. | objects | select(has("changes") and .step != null)][0] | "\(.rows) \(.committed)"')
sk_assert_eq "6001 true" "$fig" "the retry copied the tenant again (in's abort had deleted its copy) and committed"
sleep 0.3
mf_stop_writers
mf_assert_same "$tenant"
mf_assert_fenced "$tenant"
mf_assert_finished "after the retry"
mf_assert_writes moving 1
mf_assert_writes other
((n_before > 3)) || sk_fail "the moving tenant's writer wrote only $n_before times before the retry"
echo "PASS fault_move_freeze_cut"

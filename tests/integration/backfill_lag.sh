#!/usr/bin/env bash
# A backfill's max_replication_lag: while a standby of af's cluster
# replays more than the limit behind, no batch commits and the agent says
# why; once the standby catches up the backfill goes on and every row is
# updated exactly once.
#
# replay_lag (pg_stat_replication) is measured by the primary from the
# standby's replies, which come when WAL arrives and otherwise every
# wal_receiver_status_interval (10s). While replay is paused it grows only
# as long as new WAL reaches the standby; on an idle primary it freezes
# at its last value, and it keeps that value for a while after the
# standby has caught up too (it is NULL only after two replies that find
# everything replayed). So a session keeps a small write load going on
# another table for the whole test, and the standby replies at least
# every second.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup backfill_lag
# af gets a cluster of its own: the standby and its lag are af's alone.
sk_deploy_three pgaf pg pg

rows=20000
for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0);
	  INSERT INTO t (id) SELECT g FROM generate_series(1, $rows) g" >/dev/null
done
sk_rpsql af "CREATE TABLE noise (i int NOT NULL)" >/dev/null

sk_standby pgaf_standby pgaf || sk_fail "no streaming standby of af's cluster"
sk_psql pgaf_standby postgres "ALTER SYSTEM SET wal_receiver_status_interval = '1s'" >/dev/null
sk_psql pgaf_standby postgres "SELECT pg_reload_conf()" >/dev/null

# Ten small commits a second on the primary (synchronous_commit is off in
# test clusters: the WAL writer flushes them to the standby every 200ms).
sk_session writer pgaf af_app
sk_session_send writer "DO \$\$ BEGIN FOR i IN 1..6000 LOOP
    INSERT INTO noise VALUES (i); COMMIT; PERFORM pg_sleep(0.1); END LOOP; END \$\$;"

lag_ms() {
	sk_psql pgaf postgres "SELECT coalesce(max(extract(epoch FROM replay_lag)) * 1000, 0)::bigint
	    FROM pg_stat_replication"
}
lag_over() { (($(lag_ms) > $1)); }
standby_paused() {
	[[ "$(sk_psql pgaf_standby postgres "SELECT pg_get_wal_replay_pause_state()")" == paused ]]
}

sk_psql pgaf_standby postgres "SELECT pg_wal_replay_pause()" >/dev/null
sk_wait_until 30 standby_paused || sk_fail "the standby's replay never paused"
sk_wait_until 30 lag_over 1500 ||
	sk_fail "replay_lag stayed at $(lag_ms) ms with replay paused and writes going on"
echo "af: standby paused, replay_lag $(lag_ms) ms" >&2

sk_plan_yaml "$SK_WORK/plans/lagged" lagged <<'YAML'
  - id: fill
    kind: backfill
    table: t
    update: SET n = n + 1
    max_replication_lag: 1s
YAML
signed=$(sk_sign_plan "$SK_WORK/plans/lagged" lagged)
id=$(sk_skein rollout start "$signed")
t0=$SECONDS
sk_wait_until 30 grep -qE "backfill fill: replication lag [0-9]+\.[0-9] s > 1\.0 s" "$SK_WORK/logs/agent-af.log" ||
	sk_fail "the agent never said the replication lag holds it"
grep -E "backfill fill: replication lag" "$SK_WORK/logs/agent-af.log" | head -1 >&2

# Held: for three seconds, sampled five times a second, nothing commits
# (neither a batch in the ledger nor a row) while the lag stays over 1s.
committed() {
	sk_rpsql af "SELECT coalesce(sum(batches), 0), (SELECT count(*) FROM t WHERE n <> 0)
	    FROM skein.backfills WHERE plan_name = 'lagged'"
}
for ((i = 0; i < 15; i++)); do
	sk_assert_eq "0|0" "$(committed)" "a batch committed while replay_lag was $(lag_ms) ms > 1s"
	sleep 0.2
done
lag_over 1000 || sk_fail "replay_lag fell to $(lag_ms) ms while replay was still paused"

sk_psql pgaf_standby postgres "SELECT pg_wal_replay_resume()" >/dev/null
t1=$SECONDS
out=$(sk_skein rollout wait "$id" --timeout 90s) || sk_fail "the backfill did not finish once the standby caught up: $out"
echo "af: held $((t1 - t0)) s, then finished $((SECONDS - t1)) s after replay resumed" >&2
sk_assert_eq "$rows|1|1" "$(sk_rpsql af "SELECT count(*), min(n), max(n) FROM t")" "af: every row once"
for r in in ksa; do
	sk_assert_eq "$rows|1|1" "$(sk_rpsql "$r" "SELECT count(*), min(n), max(n) FROM t")" "$r: every row once"
done
sk_assert_contains "$(cat "$SK_WORK/logs/agent-af.log")" "backfill fill: running" "the agent says it runs again"
# And the standby has replayed the backfill, so it was really behind, not
# gone.
standby_done() {
	[[ "$(sk_psql pgaf_standby af_app "SELECT count(*) FROM t WHERE n = 1")" == "$rows" ]]
}
sk_wait_until 30 standby_done || sk_fail "the standby never replayed the backfill"
echo "PASS backfill_lag"

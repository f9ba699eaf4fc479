#!/usr/bin/env bash
# A backfill's autovacuum throttle: while an autovacuum worker is on the
# backfill's table no batch commits and the agent says why; once the
# worker is gone the backfill goes on and updates every row exactly once.
# A backfill with `autovacuum: false` does not wait for the same worker.
#
# To keep a worker on the table for a long, observable time, af's cluster
# (its own) looks for work every second and af's table has a dead tuple
# per row and storage parameters that make its vacuum crawl: a cost limit
# of 1 and a cost delay of 100ms put it to sleep after every page, about
# 5-10 pages a second, so the heap's ~700 pages take minutes. The table's
# autovacuum stays off until the dead tuples are there, so that the
# worker that comes is the crawling one.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup backfill_autovacuum
sk_deploy_three pgaf pg pg

rows=80000
for r in af in ksa; do
	with=""
	[[ "$r" != af ]] || with="WITH (autovacuum_enabled = false)"
	sk_rpsql "$r" "CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0) $with;
	  INSERT INTO t (id) SELECT g FROM generate_series(1, $rows) g" >/dev/null
done
sk_rpsql af "UPDATE t SET n = 0" >/dev/null
sk_psql pgaf postgres "ALTER SYSTEM SET autovacuum_naptime = '1s'" >/dev/null
sk_psql pgaf postgres "SELECT pg_reload_conf()" >/dev/null
sk_rpsql af "ALTER TABLE t SET (autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1,
    autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0, autovacuum_enabled = true)" >/dev/null

# The pid of the autovacuum worker vacuuming af's t, as the agent looks
# for it (pg_stat_progress_vacuum and pg_stat_activity); empty if none.
av_pid() {
	sk_rpsql af "SELECT v.pid FROM pg_stat_progress_vacuum v
	    JOIN pg_stat_activity a ON a.pid = v.pid
	   WHERE v.relid = 't'::regclass AND v.datname = current_database()
	     AND a.backend_type = 'autovacuum worker'"
}
av_on() { [[ -n "$(av_pid)" ]]; }
av_off() { [[ -z "$(av_pid)" ]]; }
av_phase() {
	sk_rpsql af "SELECT phase || ', ' || heap_blks_scanned || ' of ' || heap_blks_total || ' blocks'
	    FROM pg_stat_progress_vacuum WHERE relid = 't'::regclass AND datname = current_database()"
}
sk_wait_until 60 av_on || sk_fail "no autovacuum worker came to af's t"
worker=$(av_pid)
echo "af: autovacuum worker $worker on t: $(av_phase)" >&2

committed() {
	sk_rpsql af "SELECT coalesce(sum(batches), 0), (SELECT count(*) FROM t WHERE n <> $2)
	    FROM skein.backfills WHERE plan_name = '$1'"
}

# autovacuum: false: runs through while the worker is there.
sk_plan_yaml "$SK_WORK/plans/unheeding" unheeding <<'YAML'
  - id: bump
    kind: backfill
    table: t
    update: SET n = n + 1
    autovacuum: false
YAML
signed=$(sk_sign_plan "$SK_WORK/plans/unheeding" unheeding)
t0=$SECONDS
id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id" --timeout 120s) || sk_fail "the backfill with autovacuum: false failed: $out"
echo "af: autovacuum: false finished in $((SECONDS - t0)) s beside the worker" >&2
sk_assert_eq "$worker" "$(av_pid)" \
	"the autovacuum worker is no longer on t after the first backfill, so it proves nothing ($(av_phase))"
for r in af in ksa; do
	sk_assert_eq "$rows|1|1" "$(sk_rpsql "$r" "SELECT count(*), min(n), max(n) FROM t")" "$r: every row once"
done
if grep -q "backfill bump: autovacuum" "$SK_WORK/logs/agent-af.log"; then
	sk_fail "the backfill with autovacuum: false waited for autovacuum"
fi

# The default, autovacuum: true: held while the worker is there.
sk_plan_yaml "$SK_WORK/plans/heeding" heeding <<'YAML'
  - id: fill
    kind: backfill
    table: t
    update: SET n = n + 1
YAML
signed=$(sk_sign_plan "$SK_WORK/plans/heeding" heeding)
id=$(sk_skein rollout start "$signed")
t0=$SECONDS
sk_wait_until 30 grep -q "backfill fill: autovacuum is working on t" "$SK_WORK/logs/agent-af.log" ||
	sk_fail "the agent never said autovacuum holds it"
# Held: for three seconds, sampled five times a second, nothing commits.
for ((i = 0; i < 15; i++)); do
	sk_assert_eq "0|0" "$(committed heeding 1)" "a batch committed while autovacuum worked on t"
	sleep 0.2
done
sk_assert_eq "$worker" "$(av_pid)" "the autovacuum worker left t during the hold ($(av_phase))"
echo "af: held while the worker was at $(av_phase)" >&2

# Turning the table's autovacuum off waits for the worker's lock, and
# PostgreSQL cancels an autovacuum that blocks a lock request after
# deadlock_timeout (1s); the setting keeps another from starting. A
# worker still there is cancelled by hand.
sk_rpsql af "ALTER TABLE t SET (autovacuum_enabled = false)" >/dev/null
pid=$(av_pid)
[[ -z "$pid" ]] || sk_rpsql af "SELECT pg_cancel_backend($pid)" >/dev/null
sk_wait_until 30 av_off || sk_fail "the autovacuum worker on t was not cancelled"
t1=$SECONDS
out=$(sk_skein rollout wait "$id" --timeout 120s) || sk_fail "the backfill did not finish once autovacuum was gone: $out"
echo "af: held $((t1 - t0)) s, then finished $((SECONDS - t1)) s after the worker was cancelled" >&2
for r in af in ksa; do
	sk_assert_eq "$rows|2|2" "$(sk_rpsql "$r" "SELECT count(*), min(n), max(n) FROM t")" "$r: every row once more"
done
sk_assert_contains "$(cat "$SK_WORK/logs/agent-af.log")" "backfill fill: running" "the agent says it runs again"
grep -q "canceling autovacuum task" "$SK_WORK/pg/pgaf/log" ||
	sk_fail "af's server log does not show the autovacuum task cancelled"
echo "PASS backfill_autovacuum"

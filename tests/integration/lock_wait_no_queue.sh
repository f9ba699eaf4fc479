#!/usr/bin/env bash
# A step waits out a long transaction without joining the lock queue,
# through a real coordinator and agent, on a direct connection (r1) and
# through a transaction-pooling PgBouncer (r2):
#
#   A. A reader holds ACCESS SHARE on t (a psql session: BEGIN; SELECT
#      ... FROM t; its transaction ends, with a SELECT saying when, once
#      the test has looked). Half a second in, older than the step's
#      lock_timeout (300ms), an ALTER TABLE t step starts. While the reader
#      holds t, sampled eight times, nothing in the database waits in the
#      lock queue (pg_locks, pg_stat_activity), no attempt timed out (the
#      step saw the reader before its first attempt), and status names the
#      reader. The step lands (its ledger row) within 0.5 s of the reader's
#      end.
#   B. Short churn still gets bounded attempts: under a stream of short
#      writes (pgbench) a step on their table queues behind them as before
#      and lands, never waiting "without queueing"; and under back-to-back
#      transactions that each hold the table for longer than lock_timeout
#      but are young when the step looks, the step makes
#      lock_retries + 1 attempts (each given up after lock_timeout, counted
#      in the server log) and fails with SK_ELOCK "gave up after 3 lock
#      timeouts", naming the session, nothing changed.
#   C. A long transaction that outlasts the step's retry budget (3 x 300 +
#      100 + 200 ms) fails the step with SK_ELOCK naming it, without a
#      single attempt, nothing changed.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/pgbouncer.sh"

sk_setup lock_wait_no_queue
sk_cluster pg
sk_db pg app1
sk_db pg app2
port=$(sk_cluster_port pg)
pglog="$SK_WORK/pg/pg/log"
pgbin=""
for d in /usr/lib/postgresql/*/bin; do
	[[ -x "$d/pgbench" ]] && pgbin=$d
done
[[ -n "$pgbin" ]] || sk_fail "no pgbench under /usr/lib/postgresql/*/bin (tests/lib/install-deps.sh)"

for db in app1 app2; do
	sk_psql pg "$db" "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL DEFAULT 0);
		INSERT INTO t (id) SELECT generate_series(1, 100);
		CREATE TABLE t2 (id int PRIMARY KEY, v int NOT NULL DEFAULT 0);
		INSERT INTO t2 (id) SELECT generate_series(1, 100);
		CREATE TABLE t3 (id int);
		CREATE TABLE t4 (id int PRIMARY KEY, v int NOT NULL DEFAULT 0);
		INSERT INTO t4 (id) SELECT generate_series(1, 100);
		CREATE TABLE churn_stop (x int);" >/dev/null
done

sk_keys
sk_region r1 r1
sk_region r2 r2
sk_pgbouncer_start pool pg app2=app2
sk_agent_config r1 app=pg:app1
sk_pgbouncer_agent_config r2 app pool app2 pg app2
sk_coordinator_config
sk_start_coordinator
sk_start_agent r1
sk_start_agent r2

# plan DIR NAME REGION RETRIES BACKOFF SQL: a one-step plan for REGION
# with lock_timeout 300ms; prints the signed plan.
plan() {
	local dir="$SK_WORK/plans/$1" name=$2 region=$3 retries=$4 backoff=$5 sql=$6
	mkdir -p "$dir"
	echo "$sql" >"$dir/0001_step.sql"
	cat >"$dir/plan.yaml" <<EOF
name: $name
expires: 1h
defaults:
  lock_timeout: 300ms
  lock_retries: $retries
  retry_backoff: $backoff
phases:
  - name: only
    regions: [$region]
steps:
  - id: 0001_step
    sql: 0001_step.sql
EOF
	sk_sign_plan "$dir" "$name"
}

# The server log's lock timeouts in database DB so far.
lock_timeouts() {
	grep -c " $1 ERROR:  canceling statement due to lock timeout" "$pglog" || true
}

# is DB SQL VALUE: SQL's answer in DB is VALUE (for sk_wait_until, which
# runs its command again each time).
is() {
	[[ "$(sk_psql pg "$1" "$2")" == "$3" ]]
}

# Nothing in database DB waits in the lock queue now.
nothing_queued() {
	[[ "$(sk_psql pg "$1" "SELECT (SELECT count(*) FROM pg_locks l WHERE NOT l.granted
		AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
		+ (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND wait_event_type = 'Lock')")" == 0 ]]
}

# ---- A. A long reader, waited out without queueing ----------------------

long_reader() {
	local region=$1 db=$2 name=A-$1 reader=lockq-reader-$1 signed id rpid i t0
	local ended landed before
	signed=$(plan "a-$region" "$name" "$region" 30 200ms "ALTER TABLE t ADD COLUMN c int;")
	before=$(lock_timeouts "$db")
	# The reader's transaction ends when the test says so (after the
	# samples, however slow the machine), its last statement saying when.
	sk_session "$reader" pg "$db"
	sk_session_send "$reader" "BEGIN; SELECT count(*) FROM t;"
	rpid=$(sk_session_pid pg "$db" "$reader") || sk_fail "$region: the reader never connected"
	sk_wait_until 10 is "$db" "SELECT count(*) FROM pg_locks WHERE pid = $rpid AND relation = 't'::regclass AND granted" 1 ||
		sk_fail "$region: the reader never got its lock on t"
	sleep 0.5
	id=$(sk_skein rollout start "$signed")
	t0=$SECONDS
	# The agent has looked and waits: status names the reader.
	status_waits() {
		sk_skein rollout status "$id" | grep -q "waiting for a lock held by pid $rpid"
	}
	sk_wait_until 20 status_waits || sk_fail "$region: status never showed the wait for pid $rpid: $(sk_skein rollout status "$id")"
	for ((i = 0; i < 8; i++)); do
		nothing_queued "$db" || sk_fail "$region: sample $i: something waits in the lock queue:
$(sk_psql pg "$db" "SELECT a.pid, a.application_name, l.mode, l.relation::regclass FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted")"
		sleep 0.15
	done
	is "$db" "SELECT count(*) FROM pg_locks WHERE pid = $rpid AND relation = 't'::regclass AND granted" 1 ||
		sk_fail "$region: the reader let go of t before the samples were taken"
	grep -q "step 0001_step in $region/app: waiting for pid $rpid's transaction to end without queueing" \
		"$SK_WORK/logs/agent-$region.log" || sk_fail "$region: the agent's log does not say it waits without queueing"
	sk_session_send "$reader" "SELECT 'ended ' || extract(epoch FROM clock_timestamp()); COMMIT;"
	sk_skein rollout wait "$id" >"$SK_WORK/wait-$region.out" 2>&1 ||
		sk_fail "$region: the step failed once the reader had ended: $(cat "$SK_WORK/wait-$region.out")"
	((SECONDS - t0 < 60)) || sk_fail "$region: the rollout took $((SECONDS - t0)) s"
	sk_assert_eq "$before" "$(lock_timeouts "$db")" "$region: no attempt timed out (the reader was seen before the first)"
	sk_wait_until 10 grep -q "^ended " "$SK_WORK/logs/$reader.log" || sk_fail "$region: the reader never said when it ended"
	ended=$(sed -n 's/^ended //p' "$SK_WORK/logs/$reader.log")
	landed=$(sk_psql pg "$db" "SELECT extract(epoch FROM finished_at) FROM skein.steps WHERE plan_name = '$name'")
	[[ -n "$ended" && -n "$landed" ]] || sk_fail "$region: no end of the reader ('$ended') or no ledger row ('$landed')"
	awk -v e="$ended" -v l="$landed" 'BEGIN { exit !(l - e < 0.5 && l - e > -0.05) }' ||
		sk_fail "$region: the step landed $(awk -v e="$ended" -v l="$landed" 'BEGIN { printf "%.3f", l - e }') s after the reader ended (want < 0.5 s)"
	echo "$region: landed $(awk -v e="$ended" -v l="$landed" 'BEGIN { printf "%.3f", l - e }') s after the reader ended"
	sk_assert_eq 1 "$(sk_psql pg "$db" "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'c'")" \
		"$region: column added"
	sk_assert_eq "0" "$(sk_psql pg "$db" "SELECT lock_waits FROM skein.steps WHERE plan_name = '$name'")" "$region: no lock timeout on record"
	sk_stop "$reader" >/dev/null
}

long_reader r1 app1
long_reader r2 app2

# ---- B. Short churn: bounded attempts, as before ------------------------

# B1: short writes. The step queues behind them (each is far younger than
# lock_timeout) and lands.
cat >"$SK_WORK/write.sql" <<'EOF'
\set id random(1, 100)
UPDATE t4 SET v = v + 1 WHERE id = :id;
EOF
signed=$(plan b1 B1 r1 5 100ms "ALTER TABLE t4 ADD COLUMN c int;")
unqueued_waits() {
	grep -c "without queueing" "$SK_WORK/logs/agent-r1.log" || true
}
waits=$(unqueued_waits)
"$pgbin/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -f "$SK_WORK/write.sql" -R 200 -T 4 -c 4 -j 2 app1 \
	>"$SK_WORK/pgbench-b1.out" 2>&1 &
bench=$!
sleep 1
id=$(sk_skein rollout start "$signed")
sk_skein rollout wait "$id" >"$SK_WORK/wait-b1.out" 2>&1 || sk_fail "B1: the step failed under short writes: $(cat "$SK_WORK/wait-b1.out")"
wait "$bench" || sk_fail "B1: pgbench failed: $(tail -n 5 "$SK_WORK/pgbench-b1.out")"
sk_assert_eq "$waits" "$(unqueued_waits)" "B1: the step never waited without queueing for a short write"
sk_assert_eq 1 "$(sk_psql pg app1 "SELECT count(*) FROM information_schema.columns WHERE table_name = 't4' AND column_name = 'c'")" \
	"B1: column added"

# B2: back-to-back transactions, each holding t2 for 700 ms (more than
# twice lock_timeout, so that an attempt made while one is younger than
# lock_timeout still times out) and each young when the step looks (one
# DO block that commits between them). Every attempt queues behind a
# young one and is given up after lock_timeout (the step then waits for
# that one, old by now, to end without queueing, and tries the next);
# lock_retries 2 bounds them to three, well within the retry budget.
PGAPPNAME=lockq-churn "$SK_PGCLUSTER" psql "$SK_WORK/pg" pg app1 -X -At -c "DO \$\$
BEGIN
	FOR i IN 1..100 LOOP
		EXIT WHEN EXISTS (SELECT 1 FROM churn_stop);
		PERFORM 1 FROM t2 LIMIT 1;
		PERFORM pg_sleep(0.7);
		COMMIT;
	END LOOP;
END \$\$" >"$SK_WORK/churn.out" 2>&1 &
churn=$!
sk_wait_until 10 is app1 "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
	WHERE a.application_name = 'lockq-churn' AND l.relation = 't2'::regclass AND l.granted" 1 ||
	sk_fail "B2: the churn session never started"
cpid=$(sk_psql pg app1 "SELECT pid FROM pg_stat_activity WHERE application_name = 'lockq-churn'")
signed=$(plan b2 B2 r1 2 2s "ALTER TABLE t2 ADD COLUMN c int;")
before=$(lock_timeouts app1)
id=$(sk_skein rollout start "$signed")
if out=$(sk_skein rollout wait "$id" 2>&1); then
	sk_psql pg app1 "INSERT INTO churn_stop VALUES (1)" >/dev/null
	sk_fail "B2: the step got its lock through the churn: $out"
fi
sk_psql pg app1 "INSERT INTO churn_stop VALUES (1)" >/dev/null
wait "$churn" || sk_fail "B2: the churn session failed: $(cat "$SK_WORK/churn.out")"
sk_assert_contains "$out" "gave up after 3 lock timeouts of 300 ms" "B2: bounded attempts"
sk_assert_contains "$out" "blocked by pid $cpid" "B2: the error names the churn session"
sk_assert_eq 3 "$(($(lock_timeouts app1) - before))" "B2: three attempts queued, each given up after lock_timeout"
sk_assert_eq 0 "$(sk_psql pg app1 "SELECT count(*) FROM information_schema.columns WHERE table_name = 't2' AND column_name = 'c'")" \
	"B2: nothing changed"
sk_assert_eq 0 "$(sk_psql pg app1 "SELECT count(*) FROM skein.steps WHERE plan_name = 'B2'")" "B2: no ledger row"

# ---- C. A long transaction that outlasts the retry budget ---------------

sk_session holder pg app1
sk_session_send holder "BEGIN; SELECT count(*) FROM t3;"
hpid=$(sk_session_pid pg app1 holder) || sk_fail "C: the holder never connected"
sk_wait_until 10 is app1 "SELECT count(*) FROM pg_locks WHERE pid = $hpid AND relation = 't3'::regclass AND granted" 1 ||
	sk_fail "C: the holder never got its lock"
sleep 0.5
signed=$(plan c C r1 2 100ms "ALTER TABLE t3 ADD COLUMN c int;")
before=$(lock_timeouts app1)
t0=$SECONDS
id=$(sk_skein rollout start "$signed")
if out=$(sk_skein rollout wait "$id" 2>&1); then
	sk_fail "C: the step succeeded although t3 stayed held: $out"
fi
((SECONDS - t0 < 20)) || sk_fail "C: giving up took $((SECONDS - t0)) s"
sk_assert_contains "$out" "without queueing for a long transaction to end (the step's retry budget, 1.2s: 3 attempts of 300 ms" \
	"C: the error says the budget ran out"
sk_assert_contains "$out" "blocked by pid $hpid (idle in transaction" "C: the error names the holder"
sk_assert_contains "$out" "55P03" "C: the error keeps the SQLSTATE"
sk_assert_eq "$before" "$(lock_timeouts app1)" "C: no attempt queued"
sk_assert_eq 0 "$(sk_psql pg app1 "SELECT count(*) FROM information_schema.columns WHERE table_name = 't3' AND column_name = 'c'")" \
	"C: nothing changed"
sk_assert_eq 0 "$(sk_psql pg app1 "SELECT count(*) FROM skein.steps WHERE plan_name = 'C'")" "C: no ledger row"
sk_assert_eq "0001_step|55P03" "$(sk_psql pg app1 "SELECT step_id || '|' || sqlstate FROM skein.events WHERE event = 'step-failed' AND plan_name = 'C'")" \
	"C: the failure is on record"
sk_session_send holder "ROLLBACK;"
echo "PASS lock_wait_no_queue"

#!/usr/bin/env bash
# A lock that never frees: a session sits idle in a transaction that read
# the canary's table. The step (ALTER TABLE, lock_timeout 300ms, 3 retries,
# backoff 500ms) sees a transaction older than its lock_timeout holding
# the table and waits for it without queueing (after at most one attempt
# while it was younger); once its retry budget (4 x 300 + 500 + 1000 +
# 2000 ms = 4.7 s) is spent it gives up with an error that names the blocker's
# pid, state and query; the rollout halts before phase 2. Meanwhile reads
# and writes on the table from a third session never waited much longer
# than lock_timeout: no lock queue built up behind the step.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_lock_timeout
sk_deploy_three

for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE hot (id int PRIMARY KEY, v int NOT NULL DEFAULT 0);
		INSERT INTO hot (id) SELECT generate_series(1, 100);" >/dev/null
done

plan="$SK_WORK/plans/flag-src"
sk_plan_yaml "$plan" hot-flag <<'EOF'
  - id: 0001_add_flag
    sql: 0001_add_flag.sql
    lock_timeout: 300ms
    lock_retries: 3
    retry_backoff: 500ms
EOF
echo "ALTER TABLE hot ADD COLUMN flag boolean;" >"$plan/0001_add_flag.sql"
signed=$(sk_sign_plan "$plan" hot-flag)

# The blocker: an open transaction that read the table (ACCESS SHARE).
sk_session holder pg af_app
sk_session_send holder "BEGIN; SELECT count(*) FROM hot;"
holder_pid=$(sk_session_pid pg af_app holder) || sk_fail "the holder session never connected"
sk_wait_until 10 test "$(sk_rpsql af "select count(*) from pg_locks where pid = $holder_pid and relation = 'hot'::regclass and granted")" = 1 ||
	sk_fail "the holder never got its lock"

# Probes: reads and writes with statement_timeout 800ms (lock_timeout plus
# room), back to back while the rollout runs. A probe stuck in a lock
# queue behind the step for longer than that fails.
probes="$SK_WORK/probes"
stopfile="$SK_WORK/probes.stop"
port=$(sk_cluster_port pg)
(
	while [[ ! -e "$stopfile" ]]; do
		for sql in "SELECT count(*) FROM hot" "UPDATE hot SET v = v + 1 WHERE id = 1"; do
			t0=$(date +%s%N)
			if PGOPTIONS='-c statement_timeout=800' psql -X -q -At -h 127.0.0.1 -p "$port" -U postgres -d af_app \
				-c "$sql" >/dev/null 2>"$SK_WORK/probe.err"; then
				ok=ok
			else
				ok="fail:$(tr '\n' ' ' <"$SK_WORK/probe.err")"
			fi
			echo "$(( ($(date +%s%N) - t0) / 1000000 )) $ok" >>"$probes"
		done
	done
) &
prober=$!

t0=$SECONDS
id=$(sk_skein rollout start "$signed")
# While the step waits, status shows the waiting database and its blocker.
status_waits() {
	local st
	st=$(sk_skein rollout status "$id") || return 1
	grep -q "at app/0001_add_flag  waiting for a lock held by pid $holder_pid" <<<"$st" &&
		sk_skein rollout status "$id" --json | grep -q "\"blocker_pid\": $holder_pid"
}
sk_wait_until 10 status_waits || sk_fail "status never showed database app waiting for pid $holder_pid: $(sk_skein rollout status "$id")"
if out=$(sk_skein rollout wait "$id"); then
	touch "$stopfile"
	wait "$prober" || true
	sk_fail "the step succeeded although its table stayed locked: $out"
fi
took=$((SECONDS - t0))
touch "$stopfile"
wait "$prober" || true

sk_assert_contains "$(tail -n 1 <<<"$out")" "rollout $id: failed in phase canary" "halts in the canary"
sk_assert_contains "$out" "without queueing for a long transaction to end (the step's retry budget, 4.7s: 4 attempts of 300 ms" \
	"the error says the step waited out its retry budget"
sk_assert_contains "$out" "blocked by pid $holder_pid" "the error names the blocker's pid"
sk_assert_contains "$out" "idle in transaction" "the error names the blocker's state"
sk_assert_contains "$out" "SELECT count(*) FROM hot" "the error names the blocker's query"
sk_assert_contains "$out" "55P03" "the error keeps the SQLSTATE"
((took < 30)) || sk_fail "giving up took ${took}s"

status=$(sk_skein rollout status "$id" --json)
sk_assert_contains "$status" "blocked by pid $holder_pid" "status names the blocker"
sk_assert_contains "$status" '"state": "not-started"' "phase 2 not started"
# The lock waits were reported while they happened.
report=$(sk_skein rollout report "$id" --format json)
sk_assert_contains "$report" "$holder_pid" "the report names the blocker"

# Nothing changed; the failure is on record.
sk_assert_eq 0 "$(sk_rpsql af "select count(*) from information_schema.columns where table_name = 'hot' and column_name = 'flag'")" "af: no column"
sk_assert_eq "0001_add_flag|55P03" "$(sk_rpsql af "select step_id, sqlstate from skein.events where event = 'step-failed'")" "af ledger event"
for r in in ksa; do
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regnamespace('skein')")" "$r untouched"
done

# No queue: every probe finished, none waited much past lock_timeout.
n=$(wc -l <"$probes")
((n >= 10)) || sk_fail "only $n probes ran while the step retried"
if grep -v ' ok$' "$probes" >/dev/null; then
	sk_fail "a probe failed while the step retried: $(grep -v ' ok$' "$probes" | head -3)"
fi
worst=$(sort -n "$probes" | tail -n 1 | cut -d' ' -f1)
((worst < 800)) || sk_fail "a probe waited ${worst}ms behind the step"
echo "probes: $n, worst wait ${worst}ms (lock_timeout 300ms)"

# The holder ends: the same plan, rebuilt, now goes through everywhere.
sk_session_send holder "ROLLBACK;"
signed2=$(sk_sign_plan "$plan" hot-flag-again)
id2=$(sk_skein rollout start "$signed2")
out2=$(sk_skein rollout wait "$id2") || sk_fail "the rollout failed once the lock was free: $out2"
for r in af in ksa; do
	sk_assert_eq 1 "$(sk_rpsql "$r" "select count(*) from information_schema.columns where table_name = 'hot' and column_name = 'flag'")" "$r: column added"
done
echo "PASS fault_lock_timeout"

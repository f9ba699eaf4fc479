#!/usr/bin/env bash
# An agent killed during CREATE INDEX CONCURRENTLY: the build is held up
# by a transaction that wrote to the table (so the index entry already
# exists, INVALID); the agent is killed with SIGKILL and its backends are
# terminated, which leaves the INVALID index behind. Once the writer ends
# and the agent restarts, the step completes: the index exists and is
# valid, no INVALID index remains, and the step ran to the ledger once.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_cic_kill9
sk_deploy_three

for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL);
		INSERT INTO events SELECT g, 'k' || (g % 7) FROM generate_series(1, 5000) g;" >/dev/null
done

plan="$SK_WORK/plans/cic-src"
sk_plan_yaml "$plan" events-kind-index <<'EOF'
  - id: 0001_events_kind_idx
    sql: 0001_events_kind_idx.sql
    transaction: false
    # Wait for the writer as long as it takes: the test kills the agent
    # while it waits.
    lock_timeout: 0
EOF
echo "CREATE INDEX CONCURRENTLY IF NOT EXISTS events_kind_idx ON events (kind);" >"$plan/0001_events_kind_idx.sql"
signed=$(sk_sign_plan "$plan" events-kind-index)

# A writer whose transaction stays open: CREATE INDEX CONCURRENTLY waits
# for it after creating the (not yet valid) index.
sk_session writer pg af_app
sk_session_send writer "BEGIN; INSERT INTO events VALUES (100000, 'late');"
writer_pid=$(sk_session_pid pg af_app writer) || sk_fail "the writer never connected"
sk_wait_until 10 test "$(sk_rpsql af "select count(*) from pg_locks where pid = $writer_pid and relation = 'events'::regclass and granted")" = 1 ||
	sk_fail "the writer never got its lock"

id=$(sk_skein rollout start "$signed")
index_waiting() {
	[[ "$(sk_rpsql af "select count(*) from pg_index i join pg_class c on c.oid = i.indexrelid
		where c.relname = 'events_kind_idx' and not i.indisvalid")" == 1 ]] &&
		[[ "$(sk_rpsql af "select count(*) from pg_stat_activity where application_name = 'skein-agent/af'
			and query like 'CREATE INDEX CONCURRENTLY%' and wait_event_type = 'Lock'")" == 1 ]]
}
sk_wait_until 30 index_waiting || sk_fail "the index build never started waiting for the writer"
# The progress stream says who holds it up.
sk_wait_until 15 bash -c "'$SKEIN_BIN/skein' rollout status '$id' --json --coordinator '$SK_CONTROL_URL' | grep -q 'pid $writer_pid'" ||
	sk_fail "no lock-wait report named the writer (pid $writer_pid)"

# Kill the agent mid-build; its backends do not notice a dead client while
# they wait, so end them the way an operator (or a failover) would.
sk_kill9 agent-af
sk_rpsql af "select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name like 'skein-agent/af%'" >/dev/null
sk_wait_until 10 test "$(sk_rpsql af "select count(*) from pg_stat_activity where application_name like 'skein-agent/af%'")" = 0 ||
	sk_fail "the agent's backends did not go away"
sk_assert_eq 1 "$(sk_rpsql af "select count(*) from pg_index where not indisvalid")" "the interrupted build left an INVALID index"
sk_assert_eq 0 "$(sk_rpsql af "select count(*) from skein.steps")" "the step is not in the ledger"

# The writer finishes; the agent comes back and completes the step.
sk_session_send writer "COMMIT;"
sk_wait_until 10 test "$(sk_rpsql af "select count(*) from events where id = 100000")" = 1 ||
	sk_fail "the writer never committed"
sk_start_agent af
out=$(sk_skein rollout wait "$id") || sk_fail "the rollout did not complete after the restart: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"

for r in af in ksa; do
	sk_assert_eq 0 "$(sk_rpsql "$r" "select count(*) from pg_index where not indisvalid")" "$r: no INVALID index"
	sk_assert_eq "t|t" "$(sk_rpsql "$r" "select i.indisvalid, i.indisready from pg_index i
		where i.indexrelid = 'public.events_kind_idx'::regclass")" "$r: the index is valid"
	sk_assert_eq "0001_events_kind_idx|f" "$(sk_rpsql "$r" "select step_id, transactional from skein.steps")" "$r: ledger"
done
# The index answers queries on the writer's row too.
sk_assert_eq 1 "$(sk_rpsql af "set enable_seqscan = off; select count(*) from events where kind = 'late'")" "af: index sees every row"
# The agent said what it did (STEP_FINISHED carries it in its detail).
sk_assert_contains "$(cat "$SK_WORK/logs/agent-af.log")" "dropping INVALID index public.events_kind_idx" \
	"the agent says it rebuilt the broken index"
echo "PASS fault_cic_kill9"

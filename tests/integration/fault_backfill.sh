#!/usr/bin/env bash
# A backfill's bad input and faults, each checked for its error and for
# nothing changed or lost:
#   - an update that does not parse: plan build refuses it, naming
#     plan.yaml's line and the field, and writes no plan;
#   - a table without a usable key, a where naming an unknown column:
#     refused before any batch, the table unchanged, no checkpoint;
#   - a batch that breaks a constraint: the backfill stops at that batch,
#     naming its key range and SQLSTATE 23514; earlier batches stay
#     committed and recorded; after the data is fixed, a new rollout goes
#     on from the checkpoint and every row ends updated exactly once;
#   - a row lock held longer than the retry budget: the step fails naming
#     the blocking session, and no skein session is left waiting.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_backfill
sk_deploy_three

for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE nokey (a int, n int NOT NULL DEFAULT 0);
	  INSERT INTO nokey (a) SELECT g FROM generate_series(1, 100) g;
	  CREATE TABLE c (id int PRIMARY KEY, n int NOT NULL DEFAULT 0 CHECK (n < 3));
	  INSERT INTO c (id) SELECT g FROM generate_series(1, 10000) g;
	  UPDATE c SET n = 2 WHERE id BETWEEN 5000 AND 5100" >/dev/null
done
digest() { sk_rpsql af "SELECT md5(string_agg(format('%s:%s', a, n), ',' ORDER BY a)) FROM nokey"; }
cdigest() { sk_rpsql af "SELECT md5(string_agg(format('%s:%s', id, n), ',' ORDER BY id)) FROM c"; }
checkpoints() { sk_rpsql af "SELECT count(*) FROM skein.backfills WHERE plan_name = '$1'" 2>/dev/null || echo 0; }

# --- an update that does not parse -----------------------------------------
plan="$SK_WORK/plans/badsql"
sk_plan_yaml "$plan" badsql <<'YAML'
  - id: fill
    kind: backfill
    table: c
    update: SET n = (n + 1
YAML
if out=$(sk_skein plan build "$plan" -o "$SK_WORK/plans/badsql.plan" 2>&1); then
	sk_fail "plan build took an update that does not parse: $out"
fi
sk_assert_contains "$out" "plan.yaml:12:13: steps[0].update: update leaves 1 parenthesis open" "the parse error"
[[ ! -e "$SK_WORK/plans/badsql.plan" ]] || sk_fail "a plan was written"

# --- no usable key ------------------------------------------------------------
run_failing() { # NAME: start its signed plan and wait for it to fail
	local id out
	id=$(sk_skein rollout start "$SK_WORK/plans/$1.signed")
	if out=$(sk_skein rollout wait "$id" --timeout 60s); then
		sk_fail "plan $1 succeeded: $out"
	fi
	printf '%s\n' "$out"
}
before=$(digest)
sk_plan_yaml "$SK_WORK/plans/nokey" nokey <<'YAML'
  - id: fill
    kind: backfill
    table: nokey
    update: SET n = n + 1
YAML
sk_sign_plan "$SK_WORK/plans/nokey" nokey >/dev/null
out=$(run_failing nokey)
sk_assert_contains "$out" "table nokey has no primary key or unique index on NOT NULL columns" "no key"
sk_assert_eq "$before" "$(digest)" "nokey changed"
sk_assert_eq 0 "$(checkpoints nokey)" "a checkpoint for nokey"

# --- a where with an unknown column ----------------------------------------
before=$(cdigest)
sk_plan_yaml "$SK_WORK/plans/nocol" nocol <<'YAML'
  - id: fill
    kind: backfill
    table: c
    update: SET n = n + 1
    where: t.nosuch IS NULL
YAML
sk_sign_plan "$SK_WORK/plans/nocol" nocol >/dev/null
out=$(run_failing nocol)
sk_assert_contains "$out" 'where: column t.nosuch does not exist' "unknown column"
sk_assert_eq "$before" "$(cdigest)" "c changed"
sk_assert_eq 0 "$(checkpoints nocol)" "a checkpoint for nocol"

# --- a batch that breaks a constraint --------------------------------------
sk_plan_yaml "$SK_WORK/plans/bump" bump <<'YAML'
  - id: fill
    kind: backfill
    table: c
    update: SET n = n + 1
    batch: { min: 500, max: 500 }
YAML
signed=$(sk_sign_plan "$SK_WORK/plans/bump" bump)
out=$(run_failing bump)
sk_assert_contains "$out" "batch of keys after (4500) up to (5000)" "the failed batch's key range"
sk_assert_contains "$out" "23514" "the SQLSTATE"
sk_assert_eq "4500|0|101" "$(sk_rpsql af "SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n = 1 AND id > 4500),
    count(*) FILTER (WHERE n = 2) FROM c")" "earlier batches stay committed, the failed one rolled back"
sk_assert_eq "{4500}|4500|9" "$(sk_rpsql af "SELECT last_key, rows_done, batches FROM skein.backfills WHERE plan_name = 'bump'")" \
	"the checkpoint"
for r in af in ksa; do sk_rpsql "$r" "UPDATE c SET n = 0 WHERE n = 2" >/dev/null; done
id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id" --timeout 60s) || sk_fail "the re-run failed: $out"
for r in af in ksa; do
	sk_assert_eq "10000|1|1" "$(sk_rpsql "$r" "SELECT count(*), min(n), max(n) FROM c")" "$r: each row once after the re-run"
done
sk_assert_eq "10000" "$(sk_rpsql af "SELECT rows FROM skein.steps WHERE plan_name = 'bump'")" "af: rows in the ledger"

# --- a lock held past the retry budget -------------------------------------
sk_plan_yaml "$SK_WORK/plans/locked" locked <<'YAML'
  - id: fill
    kind: backfill
    table: c
    update: SET n = n - 1
    batch: { min: 1000, max: 1000 }
    lock_timeout: 200ms
    lock_retries: 2
    retry_backoff: 100ms
YAML
signed=$(sk_sign_plan "$SK_WORK/plans/locked" locked)
sk_session holder pg af_app
sk_session_send holder "BEGIN; SELECT * FROM c WHERE id = 7000 FOR UPDATE;"
holder=$(sk_session_pid pg af_app holder) || sk_fail "the holder never connected"
out=$(run_failing locked)
sk_assert_contains "$out" "blocked by pid $holder" "the blocker is named"
sk_assert_contains "$out" "batch of keys after (6000) up to (7000)" "the batch"
sk_assert_eq 0 "$(sk_rpsql af "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'skein%' AND wait_event_type = 'Lock'")" \
	"a skein session still waits for a lock"
sk_assert_eq "6000|4000" "$(sk_rpsql af "SELECT count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE n = 1) FROM c")" \
	"the batches before the lock stay committed"
sk_session_send holder "ROLLBACK;"
echo "PASS fault_backfill"

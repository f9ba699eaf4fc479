#!/usr/bin/env bash
# skein through a real PgBouncer in transaction pooling mode. Region af's
# agent reaches its database only through the pooler (pooler:
# transaction, two server connections that consecutive transactions take
# in turn); in and ksa connect directly. A plan with checks, per-step
# lock_timeout, a backup and a CREATE INDEX CONCURRENTLY step rolls out
# across all three. Asserted: the rollout succeeds; ledger rows, checks'
# effects and a valid index in every region; each step saw its own
# lock_timeout, statement_timeout and search_path; the agent's
# transactions ran on both pooled server connections; none of them ran a
# session-level SET, a session advisory lock or a named prepared
# statement; afterwards every pooled server connection shows the server's
# defaults and holds no advisory lock; the backup went straight to
# PostgreSQL. First, the leak check is shown able to fail: a session SET
# and a session advisory lock through the pool do reach the next client.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"
. "$SKEIN_SRC/tests/lib/pgbouncer.sh"

sk_setup pgbouncer
SK_REGIONS=(af in ksa)
SK_REGION_CLUSTERS=(pg pg pg)
sk_cluster pg
for r in "${SK_REGIONS[@]}"; do
	sk_db pg "${r}_app"
done
sk_db pg leak_demo
# Every statement run in af_app goes to the server log with its backend
# pid (log_line_prefix '%m [%p] %d ', tests/lib/pgcluster.sh).
sk_psql pg postgres "ALTER DATABASE af_app SET log_statement = 'all'" >/dev/null
pglog="$SK_WORK/pg/pg/log"

# One pooler: af_app with the default pool of 2, and leak_demo with a pool
# of 1 so that the leak below lands on the next client for certain.
sk_pgbouncer_start pool pg af_app=af_app leak=leak_demo,pool_size=1

# What a server connection shows when nobody changed its session, read on
# a direct connection.
state_sql="current_setting('lock_timeout') || '|' || current_setting('statement_timeout')
	|| '|' || current_setting('search_path')
	|| '|' || (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())
	|| '|' || coalesce((SELECT string_agg(name, ',' ORDER BY name) FROM pg_settings
		WHERE source = 'session' AND lower(name) NOT IN ('application_name', 'client_encoding',
		'datestyle', 'timezone', 'intervalstyle', 'standard_conforming_strings')), '')"
defaults=$(sk_psql pg af_app "SELECT $state_sql")
[[ "$defaults" == *"|0|" ]] || sk_fail "a direct session should hold no advisory lock and no session setting: $defaults"

# pool_clean ALIAS N: every one of N server connections of ALIAS's pool
# shows $defaults. Prints what differs and fails otherwise.
pool_clean() {
	local alias=$1 n=$2 lines line bad=0
	lines=$(sk_pgbouncer_sessions pool "$alias" "$n" "$state_sql") || return 1
	while IFS= read -r line; do
		if [[ "${line#*|}" != "$defaults" ]]; then
			echo "server connection ${line%%|*}: lock_timeout|statement_timeout|search_path|advisory locks|session settings" \
				"= '${line#*|}', expected '$defaults'"
			bad=1
		fi
	done <<<"$lines"
	return $bad
}

# --- The failure mode skein avoids: session state leaks through the pool.
out=$(pool_clean leak 1) || sk_fail "the leak pool should start clean: $out"
sk_pgbouncer_psql pool leak "SET lock_timeout = '4321ms'" >/dev/null
sk_pgbouncer_psql pool leak "SELECT pg_advisory_lock(4242)" >/dev/null
sk_assert_eq 4321ms "$(sk_pgbouncer_psql pool leak "SHOW lock_timeout")" \
	"a session SET by one client is seen by the next client of the pool"
if out=$(pool_clean leak 1); then
	sk_fail "the leak check did not notice a leaked SET and advisory lock"
fi
sk_assert_contains "$out" "4321ms" "the leak check names the leaked lock_timeout"
sk_assert_contains "$out" "|1|" "the leak check counts the leaked advisory lock"

# --- The deployment: af through the pooler, in and ksa direct.
sk_keys
for r in "${SK_REGIONS[@]}"; do
	sk_region "$r" "$r"
	mkdir -p "$SK_WORK/backups/$r"
done
for r in in ksa; do
	SK_AGENT_EXTRA="backup_dir: $SK_WORK/backups/$r" sk_agent_config "$r" "app=pg:${r}_app"
done
SK_AGENT_EXTRA="backup_dir: $SK_WORK/backups/af" sk_pgbouncer_agent_config af app pool af_app pg af_app
grep -q "pooler: transaction" "$SK_WORK/agents/af.yaml" || sk_fail "af's agent.yaml has no pooler line"
sk_coordinator_config
sk_start_coordinator
sk_start_agent "${SK_REGIONS[@]}"

# Open both server connections of af_app's pool before the rollout, so
# that with server_round_robin consecutive transactions alternate.
warm=$(sk_pgbouncer_sessions pool af_app 2 "'warm'") || sk_fail "cannot open two server connections through the pool"
pool_pids=$(cut -d'|' -f1 <<<"$warm" | sort -n)
sk_assert_eq "$pool_pids" "$(sk_pgbouncer_server_pids pool af_app)" "SHOW SERVERS lists the two warmed connections"

plan="$SK_WORK/plans/pooled-src"
mkdir -p "$plan"
# record STEP: SQL that notes the step's backend and session limits.
record() {
	echo "INSERT INTO pooled_steps VALUES ('$1', pg_backend_pid(), current_setting('lock_timeout'),
    current_setting('statement_timeout'), current_setting('search_path'));"
}
cat >"$plan/0001_orders.sql" <<EOF
CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    total_cents bigint    NOT NULL CHECK (total_cents >= 0)
);
CREATE TABLE pooled_steps (
    step              text PRIMARY KEY,
    backend           int  NOT NULL,
    lock_timeout      text NOT NULL,
    statement_timeout text NOT NULL,
    search_path       text NOT NULL
);
$(record 0001)
EOF
cat >"$plan/0002_status.sql" <<EOF
ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'new';
$(record 0002)
EOF
cat >"$plan/0003_status_idx.sql" <<'EOF'
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_idx ON orders (status);
EOF
cat >"$plan/0004_after.sql" <<EOF
$(record 0004)
EOF
cat >"$plan/plan.yaml" <<'EOF'
name: pooled
expires: 1h
backup: true
defaults:
  lock_timeout: 2s
  statement_timeout: 1m
  lock_retries: 3
  retry_backoff: 100ms
phases:
  - name: canary
    regions: [af]
  - name: rest
    regions: [in, ksa]
steps:
  - id: 0001_orders
    sql: 0001_orders.sql
    pre:
      - name: no_orders_table_yet
        sql: SELECT count(*) FROM pg_class WHERE relname = 'orders'
        expect: 0
    post:
      - name: orders_empty
        sql: SELECT count(*) FROM orders
        expect: 0
      - name: negative_total_refused
        sql: INSERT INTO orders (total_cents) VALUES (-1)
        fails_with: check_violation
  - id: 0002_status
    sql: 0002_status.sql
    lock_timeout: 500ms
    statement_timeout: 20s
    post:
      - name: status_defaults_to_new
        sql: INSERT INTO orders (total_cents) VALUES (1) RETURNING status
        expect: new
  - id: 0003_status_idx
    sql: 0003_status_idx.sql
    transaction: false
  - id: 0004_after
    sql: 0004_after.sql
    pre:
      - name: status_idx_valid
        sql: SELECT indisvalid FROM pg_index WHERE indexrelid = 'orders_status_idx'::regclass
        expect: true
EOF
signed=$(sk_sign_plan "$plan" pooled)

log_from=$(($(wc -l <"$pglog") + 1))
id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id" --timeout 120s) || sk_fail "the rollout through PgBouncer failed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
log_to=$(wc -l <"$pglog")

# Every region: the ledger, the checks' effects, a valid index, and each
# step's limits as the step saw them (SET LOCAL in its own transaction).
for r in "${SK_REGIONS[@]}"; do
	sk_assert_eq 4 "$(sk_rpsql "$r" "SELECT count(*) FROM skein.steps WHERE plan_name = 'pooled'")" "$r ledger rows"
	sk_assert_eq t "$(sk_rpsql "$r" "SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.orders_status_idx'::regclass")" "$r index valid"
	# The post-check's INSERT stayed (it ran in the step's transaction);
	# the failing one did not.
	sk_assert_eq "1|new" "$(sk_rpsql "$r" "SELECT count(*), min(status) FROM orders")" "$r orders after the checks"
	sk_assert_eq "0001|2s|1min|public
0002|500ms|20s|public
0004|2s|1min|public" "$(sk_rpsql "$r" "SELECT step, lock_timeout, statement_timeout, search_path FROM pooled_steps ORDER BY step")" \
		"$r: each step's lock_timeout, statement_timeout, search_path"
	n=$(find "$SK_WORK/backups/$r" -type f -size +0 | wc -l)
	((n >= 1)) || sk_fail "$r: no backup file in $SK_WORK/backups/$r"
done

# The pool still holds the two connections warmed up before: every server
# session af's agent used is one of them (or the log check below would
# miss one).
sk_assert_eq "$pool_pids" "$(sk_pgbouncer_server_pids pool af_app)" "af_app's pooled server connections after the rollout"

# What af_app's sessions ran during the rollout, per backend pid: the
# agent through the pool, pg_dump directly.
sed -n "${log_from},${log_to}p" "$pglog" | awk '
	/^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { pid = $4; gsub(/[][]/, "", pid); db = $5 }
	db == "af_app" { print pid "\t" $0 }' >"$SK_WORK/logs/af_app-statements.log"
pooled_lines=$(awk -F'\t' -v pids="$(tr '\n' ' ' <<<"$pool_pids")" '
	BEGIN { n = split(pids, p, " "); for (i = 1; i <= n; i++) pool[p[i]] = 1 }
	$1 in pool' "$SK_WORK/logs/af_app-statements.log")
[[ -n "$pooled_lines" ]] || sk_fail "no statement of af's agent in the server log between lines $log_from and $log_to"
used=$(grep -E 'LOG:  (statement|execute)' <<<"$pooled_lines" | cut -f1 | sort -u | wc -l)
sk_assert_eq 2 "$used" "server connections that ran af's agent transactions"
grep -q 'advisory_xact_lock' <<<"$pooled_lines" ||
	sk_fail "af's agent never took the ledger lock as a transaction-level advisory lock"
# A SET counts where a statement starts (a function's own "SET
# search_path" clause in the ledger's CREATE FUNCTION is not session
# state).
bad=$(grep -Ei "pg_(try_)?advisory_lock(_shared)?\(|(statement:|;)[[:space:]]*set[[:space:]]+(session[[:space:]]+)?(lock_timeout|statement_timeout|search_path|role|session_authorization)|set_config\([^)]*,[[:space:]]*false[[:space:]]*\)|LOG:  execute [^<]" <<<"$pooled_lines" || true)
[[ -z "$bad" ]] || sk_fail "session-level state sent through the pool:
$bad"
# pg_dump used backup_conninfo: its own session, not a pooled one.
dump_pids=$(grep -F "set_config('search_path', '', false)" "$SK_WORK/logs/af_app-statements.log" | cut -f1 | sort -u)
[[ -n "$dump_pids" ]] || sk_fail "no pg_dump session in af_app's log"
if grep -qxF -f <(echo "$pool_pids") <<<"$dump_pids"; then
	sk_fail "pg_dump ran through the pool (pids $dump_pids, pool $pool_pids)"
fi

# Nothing leaked into the pool: both server connections show the
# server's defaults and hold no advisory lock; none anywhere in af_app.
out=$(pool_clean af_app 2) || sk_fail "session state leaked into af_app's pool: $out"
sk_assert_eq 0 "$(sk_psql pg af_app "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
	AND database = (SELECT oid FROM pg_database WHERE datname = 'af_app')")" "advisory locks left in af_app"

# A rebuilt plan through the pool: the ledger (read through the pool)
# skips every step.
signed2=$(sk_sign_plan "$plan" pooled-again)
id2=$(sk_skein rollout start "$signed2")
out2=$(sk_skein rollout wait "$id2" --timeout 120s) || sk_fail "the repeated rollout failed: $out2"
sk_assert_contains "$out2" "already applied (ledger), skipped" "the repeat skips"
[[ "$out2" != *"applied in"* ]] || sk_fail "a step ran again through the pool: $out2"
sk_assert_eq 3 "$(sk_rpsql af "SELECT count(*) FROM pooled_steps")" "af steps recorded once"
out=$(pool_clean af_app 2) || sk_fail "session state leaked into af_app's pool after the repeat: $out"
echo "PASS pgbouncer"

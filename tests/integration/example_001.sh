#!/usr/bin/env bash
# examples/001-ledger-append-only (seed runbook 001: migrations 0008-0011 of
# the economic ledger) rolled out across three regions, canary first:
#
# - the pre-migration checklist is enforced: without the arrakis_app role
#   the preflight refuses the canary and nothing changes anywhere;
# - every invariant the runbook lists holds in every region, checked here
#   with psql as the application role, not only by skein's own checks: the
#   guard raises P0001 without context, RLS is on and forced, a query
#   without context returns 0 rows, a cross-tenant query returns 0 rows, an
#   INSERT without context fails, UPDATE/DELETE on immutable tables raise,
#   lot_balances computes balances, the payment status trigger refuses a
#   regression, webhook redelivery is refused, the reconciliation cursor
#   can be created and updated;
# - a backup was taken and verified per database, every check skein ran is
#   in the ledger as passed, and `rollout report` shows them;
# - `rollout rollback` runs the runbook's individual rollbacks newest
#   first: the schema is back byte for byte (pg_dump --schema-only).
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

PLAN_DIR="$SKEIN_SRC/examples/001-ledger-append-only"
PLAN=ledger-append-only
A=a1111111-1111-4111-8111-111111111111 # two communities
B=b2222222-2222-4222-8222-222222222222

sk_setup example_001
mkdir -p "$SK_WORK/backups"
SK_AGENT_EXTRA="backup_dir: $SK_WORK/backups"
export SK_AGENT_EXTRA
sk_deploy_three

# app_sql REGION COMMUNITY SQL: SQL in one transaction as arrakis_app with
# app.community_id set locally (COMMUNITY "" leaves it unset), as the
# application does through PgBouncer; prints the result, fails on error
# with "ERROR:  SQLSTATE" on stderr.
app_sql() {
	local ctx=()
	[[ -n "$2" ]] && ctx=(-c "SELECT app.set_community_context('$2')")
	local out
	out=$("$SK_PGCLUSTER" psql "$SK_WORK/pg" "$(sk_region_cluster "$1")" "$1_app" \
		-qAt -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate \
		-c "BEGIN" -c "SET LOCAL ROLE arrakis_app" "${ctx[@]}" -c "$3" -c "COMMIT" </dev/null) || return 1
	# set_community_context returns void: an empty line.
	grep -v '^$' <<<"$out" || true
}

# sqlstate_of CMD...: the SQLSTATE the command's SQL failed with, or "ok".
sqlstate_of() {
	local err
	if err=$("$@" 2>&1 >/dev/null); then
		echo ok
	else
		sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\).*/\1/p' <<<"$err" | head -n 1
	fi
}

# owner_sql REGION SQL: as the migration user (postgres), with SQLSTATEs.
owner_sql() {
	"$SK_PGCLUSTER" psql "$SK_WORK/pg" "$(sk_region_cluster "$1")" "$1_app" \
		-qAt -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -c "$2" </dev/null
}

# --- The pre-migration checklist: "arrakis_app role exists" ---------------
norole=$(sk_sign_plan "$PLAN_DIR" ledger-without-role)
id0=$(sk_skein rollout start "$norole")
if out0=$(sk_skein rollout wait "$id0"); then
	sk_fail "the plan ran without the arrakis_app role: $out0"
fi
sk_assert_contains "$out0" "arrakis_app" "the preflight names the missing role"
sk_assert_contains "$out0" "failed in phase canary" "the canary is where it stops"
for r in af in ksa; do
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regnamespace('app')")" "$r: no app schema after the refused preflight"
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regclass('public.credit_lots')")" "$r: no credit_lots after the refused preflight"
done

# Roles belong to the cluster: create it in each one the regions use.
for c in $(printf '%s\n' "${SK_REGION_CLUSTERS[@]}" | sort -u); do
	sk_psql "$c" postgres "CREATE ROLE arrakis_app LOGIN" >/dev/null
done
declare -A before
for r in af in ksa; do
	before[$r]=$(sk_schema_dump "$r" --exclude-schema=skein)
done

# --- The rollout -----------------------------------------------------------
signed=$(sk_sign_plan "$PLAN_DIR" "$PLAN")
id=$(sk_skein rollout start "$signed")
[[ "$id" == r-* ]] || sk_fail "rollout start printed '$id', not a rollout id"
out=$(sk_skein rollout wait "$id") || sk_fail "rollout wait failed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
sk_assert_canary_first "$out"

for r in af in ksa; do
	sk_assert_eq 4 "$(sk_rpsql "$r" "select count(*) from skein.steps where plan_name = '$PLAN'")" "$r: 4 steps in the ledger"

	# 0008: "guard function exists and raises on missing context (P0001)"
	sk_assert_eq P0001 "$(sqlstate_of owner_sql "$r" "SELECT app.current_community_id()")" "$r: guard without context"
	sk_assert_eq "$A" "$(app_sql "$r" "$A" "SELECT app.current_community_id()")" "$r: guard with context"

	# 0009: "tables exist and RLS is active" (forced: the owner is filtered too)
	sk_assert_eq "credit_lots|true|true,lot_entries|true|true" \
		"$(sk_rpsql "$r" "select string_agg(relname || '|' || relrowsecurity || '|' || relforcerowsecurity, ',' order by relname) from pg_class where relname in ('credit_lots', 'lot_entries') and relkind = 'r'")" \
		"$r: RLS enabled and forced"

	# 0010: "status monotonicity trigger"; 0011: "append-only triggers"
	sk_assert_contains "$(sk_rpsql "$r" "SELECT string_agg(tgname, ',') FROM pg_trigger WHERE tgrelid = 'crypto_payments'::regclass")" \
		crypto_payments_status_monotonic "$r: crypto_payments trigger"
	sk_assert_contains "$(sk_rpsql "$r" "SELECT string_agg(tgname, ',') FROM pg_trigger WHERE tgrelid = 'usage_events'::regclass")" \
		usage_events_append_only "$r: usage_events trigger"

	# "RLS blocks queries without tenant context": 0 rows, before any data...
	sk_assert_eq 0 "$(app_sql "$r" "" "SELECT count(*) FROM credit_lots")" "$r: empty credit_lots"
	# ..."lot_balances view works: 0 rows (no data yet), but no errors"
	sk_assert_eq 0 "$(app_sql "$r" "" "SELECT count(*) FROM lot_balances")" "$r: empty lot_balances"
	# "INSERT ... without SET LOCAL: ERROR"
	sk_assert_eq P0001 "$(sqlstate_of app_sql "$r" "" "INSERT INTO credit_lots (community_id, source, amount_micro) VALUES (gen_random_uuid(), 'seed', 1000000)")" \
		"$r: insert without context"

	# Data for two communities, written as the application writes it.
	lot=$(app_sql "$r" "$A" "INSERT INTO credit_lots (community_id, source, amount_micro) VALUES ('$A', 'purchase', 5000000) RETURNING id")
	[[ "$lot" =~ ^[0-9a-f-]{36}$ ]] || sk_fail "$r: lot insert with context printed '$lot'"
	app_sql "$r" "$A" "INSERT INTO lot_entries (lot_id, community_id, entry_type, amount_micro) VALUES ('$lot', '$A', 'debit', -1250000), ('$lot', '$A', 'debit', -250000)" >/dev/null
	app_sql "$r" "$B" "INSERT INTO credit_lots (community_id, source, amount_micro) VALUES ('$B', 'grant', 700000)" >/dev/null
	app_sql "$r" "$A" "INSERT INTO usage_events (community_id, meter, quantity, cost_micro, idempotency_key, occurred_at) VALUES ('$A', 'tokens', 1200, 1500000, 'req-1', now())" >/dev/null

	# "cross-tenant query returns 0 rows"; without context still 0 rows.
	sk_assert_eq 1 "$(app_sql "$r" "$A" "SELECT count(*) FROM credit_lots")" "$r: A sees its lot"
	sk_assert_eq 0 "$(app_sql "$r" "$B" "SELECT count(*) FROM credit_lots WHERE community_id = '$A'")" "$r: B cannot see A's lot"
	sk_assert_eq 0 "$(app_sql "$r" "$B" "SELECT count(*) FROM lot_entries")" "$r: B cannot see A's entries"
	sk_assert_eq 0 "$(app_sql "$r" "$B" "SELECT count(*) FROM usage_events")" "$r: B cannot see A's usage"
	sk_assert_eq 0 "$(app_sql "$r" "" "SELECT count(*) FROM credit_lots")" "$r: no context, no rows"
	sk_assert_eq 0 "$(app_sql "$r" "" "SELECT count(*) FROM lot_balances")" "$r: no context, no balances"
	sk_assert_eq 42501 "$(sqlstate_of app_sql "$r" "$B" "INSERT INTO credit_lots (community_id, source, amount_micro) VALUES ('$A', 'grant', 1)")" \
		"$r: B cannot write into A"
	# The context is transaction-scoped (SET LOCAL): PgBouncer-safe.
	ctx_after=$("$SK_PGCLUSTER" psql "$SK_WORK/pg" "$(sk_region_cluster "$r")" "${r}_app" -qAt \
		-c "BEGIN" -c "SELECT app.set_community_context('$A')" -c "COMMIT" \
		-c "SELECT 'after commit: [' || coalesce(current_setting('app.community_id', true), '') || ']'" </dev/null)
	sk_assert_eq "after commit: []" "$(grep -v '^$' <<<"$ctx_after")" "$r: context does not outlive its transaction"

	# "lot_balances view returns correct computed values"
	sk_assert_eq "5000000|3500000" "$(app_sql "$r" "$A" "SELECT original_micro || '|' || remaining_micro FROM lot_balances WHERE lot_id = '$lot'")" \
		"$r: lot balance"

	# "Append-only triggers verified: UPDATE/DELETE on immutable tables
	# raises error" -- even for the table owner.
	sk_assert_eq 23001 "$(sqlstate_of owner_sql "$r" "UPDATE lot_entries SET amount_micro = -1")" "$r: UPDATE lot_entries"
	sk_assert_eq 23001 "$(sqlstate_of owner_sql "$r" "DELETE FROM lot_entries")" "$r: DELETE lot_entries"
	sk_assert_eq 23001 "$(sqlstate_of owner_sql "$r" "DELETE FROM credit_lots")" "$r: DELETE credit_lots"
	sk_assert_eq 23001 "$(sqlstate_of owner_sql "$r" "UPDATE usage_events SET quantity = 1")" "$r: UPDATE usage_events"
	sk_assert_eq 23001 "$(sqlstate_of owner_sql "$r" "TRUNCATE lot_entries")" "$r: TRUNCATE lot_entries"
	sk_assert_eq 2 "$(app_sql "$r" "$A" "SELECT count(*) FROM lot_entries")" "$r: entries untouched"
	# Only a lot's status moves, forward, through app.update_lot_status.
	app_sql "$r" "$A" "SELECT app.update_lot_status('$lot', 'exhausted')" >/dev/null
	sk_assert_eq exhausted "$(app_sql "$r" "$A" "SELECT status FROM credit_lots WHERE id = '$lot'")" "$r: lot status"
	sk_assert_eq P0001 "$(sqlstate_of app_sql "$r" "$A" "SELECT app.update_lot_status('$lot', 'active')")" "$r: lot status back to active"
	sk_assert_eq 42501 "$(sqlstate_of app_sql "$r" "$A" "UPDATE credit_lots SET amount_micro = 1")" "$r: lot amount is not writable"

	# Payment status monotonicity.
	app_sql "$r" "$A" "INSERT INTO crypto_payments (community_id, payment_id, amount_micro, currency) VALUES ('$A', 'np-1', 5000000, 'usdc')" >/dev/null
	app_sql "$r" "$A" "UPDATE crypto_payments SET status = 'confirming' WHERE payment_id = 'np-1'" >/dev/null
	app_sql "$r" "$A" "UPDATE crypto_payments SET status = 'finished', lot_id = '$lot' WHERE payment_id = 'np-1'" >/dev/null
	sk_assert_eq P0001 "$(sqlstate_of app_sql "$r" "$A" "UPDATE crypto_payments SET status = 'waiting' WHERE payment_id = 'np-1'")" "$r: payment status regression"
	sk_assert_eq finished "$(app_sql "$r" "$A" "SELECT status FROM crypto_payments WHERE payment_id = 'np-1'")" "$r: payment still finished"

	# Webhook dedup: a redelivered event is refused.
	app_sql "$r" "" "INSERT INTO webhook_events (provider, provider_event_id, event_type) VALUES ('nowpayments', 'evt-1', 'payment.finished')" >/dev/null
	sk_assert_eq 23505 "$(sqlstate_of app_sql "$r" "" "INSERT INTO webhook_events (provider, provider_event_id, event_type) VALUES ('nowpayments', 'evt-1', 'payment.finished')")" \
		"$r: webhook redelivery"

	# "Reconciliation cursor can be created and updated"
	app_sql "$r" "" "INSERT INTO reconciliation_cursor (name) VALUES ('ledger')" >/dev/null
	app_sql "$r" "" "UPDATE reconciliation_cursor SET last_event_at = now(), updated_at = now() WHERE name = 'ledger'" >/dev/null
	sk_assert_eq t "$(app_sql "$r" "" "SELECT last_event_at > 'epoch' FROM reconciliation_cursor WHERE name = 'ledger'")" "$r: cursor updated"

	# skein's own record: every check it ran passed (per database: 12 step
	# post-checks and 4 phase post-checks), and one verified backup.
	sk_assert_eq "16|16" "$(sk_rpsql "$r" "select count(*) filter (where passed) || '|' || count(*) from skein.checks where plan_name = '$PLAN' and rollout_id = '$id' and \"when\" in ('pre', 'post')")" \
		"$r: checks in the ledger"
	sk_assert_eq "4|4" "$(sk_rpsql "$r" "select count(*) filter (where passed) || '|' || count(*) from skein.checks where rollout_id = '$id' and \"when\" = 'preflight'")" \
		"$r: preflight checks in the ledger"
	backup=$(sk_rpsql "$r" "select path from skein.backups where rollout_id = '$id'")
	[[ -s "$backup" ]] || sk_fail "$r: no backup file at '$backup'"
	pg_restore --list "$backup" >/dev/null || sk_fail "$r: pg_restore --list $backup failed"
done

report=$(sk_skein rollout report "$id") || sk_fail "rollout report failed: $report"
for needle in guard_raises_without_context credit_lots_rls_forced lot_entries_update_refused \
	payment_status_regression_refused usage_events_update_refused rls_cross_tenant_reads_nothing \
	insert_without_context_fails tenant_tables_without_forced_rls lot_balances_view_works pg_restore; do
	sk_assert_contains "$report" "$needle" "the report shows $needle"
done
for r in af in ksa; do
	sk_assert_contains "$report" "$r" "the report covers $r"
done
json=$(sk_skein rollout report "$id" --format json) || sk_fail "rollout report --format json failed"
python3 -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$json" || sk_fail "the JSON report does not parse: $json"

# --- The rollback: the runbook's individual rollbacks, 0011 -> 0008 -------
rb=$(sk_skein rollout rollback --yes "$id" --wait) || sk_fail "rollback failed: $rb"
sk_assert_contains "$(tail -n 1 <<<"$rb")" "succeeded" "rollback final line"
for r in af in ksa; do
	sk_assert_eq 0 "$(sk_rpsql "$r" "select count(*) from skein.steps where plan_name = '$PLAN'")" "$r: no step of the plan left in the ledger"
	sk_assert_eq 4 "$(sk_rpsql "$r" "select count(*) from skein.reverts where plan_name = '$PLAN'")" "$r: four reverts recorded"
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regnamespace('app')")" "$r: app schema gone"
	sk_assert_same_dump "${before[$r]}" "$(sk_schema_dump "$r" --exclude-schema=skein)" \
		"$r: the schema after the rollback differs from before the rollout"
	sk_assert_eq 1 "$(sk_rpsql "$r" "select count(*) from pg_roles where rolname = 'arrakis_app'")" "$r: the role is the operator's, not the plan's"
done
echo "PASS example_001"

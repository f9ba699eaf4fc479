#!/usr/bin/env bash
# examples/000-client-subscriptions (seed runbook 000: Sankofa / Phoenix
# migration 027, clients / subscriptions / entitlements) rolled out across
# three regions, canary first:
#
# - the precondition "the target database already includes migrations
#   through 026_api_keys" is enforced: before the base plan ran, the
#   preflight refuses the canary and nothing changes anywhere;
# - on databases with the base schema and existing tenants and billing
#   rows, every check of the runbook's verification checklist holds in
#   every region, checked here with the runbook's own queries: the four
#   tables exist, no tenant / subscription / entitlement is left unlinked,
#   the spot-checked tenant has one client, a tenant-workspace subscription
#   and a tenant.workspace entitlement; billing rows are linked; the
#   migration is additive (tenant-scoped rows and columns untouched);
# - a backup was taken and verified per database, every check skein ran is
#   in the ledger as passed, and `rollout report` shows them;
# - `rollout rollback` is the runbook's down path: the schema is back byte
#   for byte (pg_dump --schema-only), the base plan and the data it holds
#   untouched.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

EX="$SKEIN_SRC/examples/000-client-subscriptions"
PLAN=sankofa-027-client-subscriptions
T1=7e000000-0000-0000-0000-000000000001 # the spot-checked tenant

sk_setup example_000
mkdir -p "$SK_WORK/backups"
SK_AGENT_EXTRA="backup_dir: $SK_WORK/backups"
export SK_AGENT_EXTRA
sk_deploy_three

# owner_sql REGION SQL: as the migration user, "ERROR:  SQLSTATE" on failure.
owner_sql() {
	"$SK_PGCLUSTER" psql "$SK_WORK/pg" "$(sk_region_cluster "$1")" "$1_app" \
		-qAt -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -c "$2" </dev/null
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

# The tenant-scoped data the migration must not change.
base_data() {
	sk_rpsql "$1" "select (select string_agg(id || ':' || name || ':' || status, ',' order by id) from tenants)
		|| ' ' || (select string_agg(tenant_id || ':' || period_start || ':' || amount_cents || ':' || status, ',' order by tenant_id, period_start) from invoices)
		|| ' ' || (select string_agg(tenant_id || ':' || metric || ':' || quantity, ',' order by id) from usage_records)
		|| ' ' || (select count(*) from api_keys)"
}

# --- The precondition: migrations through 026_api_keys -------------------
early=$(sk_sign_plan "$EX" sankofa-027-too-early)
id0=$(sk_skein rollout start "$early")
if out0=$(sk_skein rollout wait "$id0"); then
	sk_fail "migration 027 ran before 026_api_keys: $out0"
fi
sk_assert_contains "$out0" "0026_api_keys" "the preflight names the missing prerequisite"
sk_assert_contains "$out0" "failed in phase canary" "the canary is where it stops"
for r in af in ksa; do
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regclass('public.clients')")" "$r: no clients table after the refused preflight"
done

# --- The base schema (through 026) and production-like data --------------
base=$(sk_sign_plan "$EX/base" sankofa-base)
idb=$(sk_skein rollout start "$base")
outb=$(sk_skein rollout wait "$idb") || sk_fail "the base plan failed: $outb"
declare -A before data
for r in af in ksa; do
	"$SK_PGCLUSTER" psql "$SK_WORK/pg" "$(sk_region_cluster "$r")" "${r}_app" \
		-q -v ON_ERROR_STOP=1 <"$EX/fixture/seed.sql" || sk_fail "$r: loading the seed data failed"
	before[$r]=$(sk_schema_dump "$r" --exclude-schema=skein)
	data[$r]=$(base_data "$r")
done

# --- The rollout -----------------------------------------------------------
signed=$(sk_sign_plan "$EX" "$PLAN")
id=$(sk_skein rollout start "$signed")
[[ "$id" == r-* ]] || sk_fail "rollout start printed '$id', not a rollout id"
out=$(sk_skein rollout wait "$id") || sk_fail "rollout wait failed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
sk_assert_canary_first "$out"

for r in af in ksa; do
	sk_assert_eq 8 "$(sk_rpsql "$r" "select count(*) from skein.steps where plan_name = '$PLAN'")" "$r: 8 steps in the ledger"
	# The billing links ran as backfills, in batches with checkpoints.
	sk_assert_eq "backfill|backfill|3|3" "$(sk_rpsql "$r" "select string_agg(kind, '|' order by step_id) || '|'
	    || (select sum(rows_done) from skein.backfills where plan_name = '$PLAN' and step_id = '0027c_link_invoices') || '|'
	    || (select sum(rows_done) from skein.backfills where plan_name = '$PLAN' and step_id = '0027c_link_usage')
	    from skein.steps where plan_name = '$PLAN' and step_id like '0027c\_link\_%'")" "$r: the billing backfills"

	# Database verification, the runbook's queries as written.
	sk_assert_eq "clients|client_users|service_subscriptions|entitlements" \
		"$(sk_rpsql "$r" "SELECT to_regclass('public.clients'), to_regclass('public.client_users'), to_regclass('public.service_subscriptions'), to_regclass('public.entitlements')")" \
		"$r: all four new tables exist"
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT COUNT(*) AS tenants_without_client FROM tenants WHERE client_id IS NULL")" "$r: tenants_without_client"
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT COUNT(*) AS subscriptions_without_client FROM service_subscriptions WHERE client_id IS NULL")" "$r: subscriptions_without_client"
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT COUNT(*) AS entitlements_without_subscription FROM entitlements WHERE subscription_id IS NULL")" "$r: entitlements_without_subscription"

	# Data-shape verification: the runbook's spot check of one tenant.
	shape=$(sk_rpsql "$r" "SELECT t.id AS tenant_id, t.name AS tenant_name, t.client_id, c.name AS client_name,
		s.id AS subscription_id, s.offer_code, s.commercial_model, e.id AS entitlement_id, e.entitlement_key
		FROM tenants t
		LEFT JOIN clients c ON c.id = t.client_id
		LEFT JOIN service_subscriptions s ON s.tenant_id = t.id
		LEFT JOIN entitlements e ON e.subscription_id = s.id
		WHERE t.id = '$T1'")
	sk_assert_eq 1 "$(cut -d'|' -f3 <<<"$shape" | sort -u | grep -c .)" "$r: one linked client"
	sk_assert_eq "Accra Logistics" "$(cut -d'|' -f4 <<<"$shape" | sort -u)" "$r: the client is named after its tenant"
	grep -q '|tenant-workspace|subscription|' <<<"$shape" || sk_fail "$r: no tenant-workspace subscription in: $shape"
	grep -q '|tenant.workspace$' <<<"$shape" || sk_fail "$r: no tenant.workspace entitlement in: $shape"
	# ...and the same shape for every tenant, not just one.
	sk_assert_eq 3 "$(sk_rpsql "$r" "SELECT count(DISTINCT t.id) FROM tenants t JOIN clients c ON c.id = t.client_id
		JOIN service_subscriptions s ON s.tenant_id = t.id AND s.client_id = c.id AND s.offer_code = 'tenant-workspace'
		JOIN entitlements e ON e.subscription_id = s.id AND e.entitlement_key = 'tenant.workspace'")" "$r: every tenant has the workspace shape"
	sk_assert_eq 3 "$(sk_rpsql "$r" "SELECT count(DISTINCT client_id) FROM tenants")" "$r: one client per tenant"
	sk_assert_eq suspended "$(sk_rpsql "$r" "SELECT s.status FROM service_subscriptions s JOIN tenants t ON t.id = s.tenant_id WHERE t.status = 'suspended'")" \
		"$r: a suspended tenant's subscription is suspended"

	# Billing: client_id / subscription_id linked to the tenant's own.
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT count(*) FROM invoices i JOIN tenants t ON t.id = i.tenant_id
		LEFT JOIN service_subscriptions s ON s.id = i.subscription_id
		WHERE i.client_id IS DISTINCT FROM t.client_id OR s.tenant_id IS DISTINCT FROM t.id")" "$r: invoices linked"
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT count(*) FROM usage_records u JOIN tenants t ON t.id = u.tenant_id
		LEFT JOIN service_subscriptions s ON s.id = u.subscription_id
		WHERE u.client_id IS DISTINCT FROM t.client_id OR s.tenant_id IS DISTINCT FROM t.id")" "$r: usage records linked"
	sk_assert_eq 5 "$(sk_rpsql "$r" "SELECT count(*) FROM pg_constraint WHERE convalidated AND conname IN ('tenants_client_id_fkey',
		'invoices_client_id_fkey', 'invoices_subscription_id_fkey', 'usage_records_client_id_fkey', 'usage_records_subscription_id_fkey')")" \
		"$r: the new foreign keys are validated"
	sk_assert_eq 23503 "$(sqlstate_of owner_sql "$r" "UPDATE tenants SET client_id = gen_random_uuid() WHERE id = '$T1'")" \
		"$r: a tenant cannot point at a client that does not exist"
	sk_assert_eq "true|true" "$(sk_rpsql "$r" "SELECT (SELECT indisvalid FROM pg_index WHERE indexrelid = 'tenants_client_id_idx'::regclass)
		|| '|' || (SELECT indisvalid FROM pg_index WHERE indexrelid = 'invoices_client_id_idx'::regclass)")" "$r: the new indexes are valid"

	# Additive: the tenant-based shape and its rows are untouched.
	sk_assert_eq "${data[$r]}" "$(base_data "$r")" "$r: tenant-scoped data unchanged"

	# skein's own record: every check passed (per database: 8 step checks
	# and 6 phase post-checks), and one verified backup.
	sk_assert_eq "14|14" "$(sk_rpsql "$r" "select count(*) filter (where passed) || '|' || count(*) from skein.checks where plan_name = '$PLAN' and rollout_id = '$id' and \"when\" in ('pre', 'post')")" \
		"$r: checks in the ledger"
	sk_assert_eq "1|1" "$(sk_rpsql "$r" "select count(*) filter (where passed) || '|' || count(*) from skein.checks where rollout_id = '$id' and \"when\" = 'preflight'")" \
		"$r: preflight checks in the ledger"
	backup=$(sk_rpsql "$r" "select path from skein.backups where rollout_id = '$id'")
	[[ -s "$backup" ]] || sk_fail "$r: no backup file at '$backup'"
	listing=$(pg_restore --list "$backup") || sk_fail "$r: pg_restore --list $backup failed"
	grep -q 'TABLE DATA public invoices ' <<<"$listing" ||
		sk_fail "$r: the backup $backup does not hold the invoices"
done

report=$(sk_skein rollout report "$id") || sk_fail "rollout report failed: $report"
for needle in new_tables_exist tenants_without_client subscriptions_without_client \
	entitlements_without_subscription tenants_missing_workspace billing_rows_unlinked invoices_unlinked \
	link_foreign_keys_validated tenant_with_unknown_client_refused pg_restore; do
	sk_assert_contains "$report" "$needle" "the report shows $needle"
done

# --- The rollback: "run the down path for migration 027" -----------------
rb=$(sk_skein rollout rollback --yes "$id" --wait) || sk_fail "rollback failed: $rb"
sk_assert_contains "$(tail -n 1 <<<"$rb")" "succeeded" "rollback final line"
for r in af in ksa; do
	sk_assert_eq 0 "$(sk_rpsql "$r" "select count(*) from skein.steps where plan_name = '$PLAN'")" "$r: no step of 027 left in the ledger"
	sk_assert_eq 3 "$(sk_rpsql "$r" "select count(*) from skein.steps where plan_name = 'sankofa-base'")" "$r: the base plan stays"
	sk_assert_eq "" "$(sk_rpsql "$r" "select to_regclass('public.clients')")" "$r: clients gone"
	sk_assert_eq 0 "$(sk_rpsql "$r" "select count(*) from information_schema.columns where table_schema = 'public' and column_name in ('client_id', 'subscription_id')")" \
		"$r: client_id / subscription_id gone"
	sk_assert_same_dump "${before[$r]}" "$(sk_schema_dump "$r" --exclude-schema=skein)" \
		"$r: the schema after the rollback differs from before the rollout"
	sk_assert_eq "${data[$r]}" "$(base_data "$r")" "$r: tenant-scoped data survives the rollback"
done
echo "PASS example_000"

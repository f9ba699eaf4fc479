#!/usr/bin/env bash
# examples/002-domain-identity (seed runbook 002: Mandate migration 008,
# RFC-002 domain identity) rolled out across three regions, canary first,
# on databases holding the schema and data the runbook assumes:
#
# - "If ANY check fails: STOP": a domain name that is not a slug blocks the
#   migration at its pre-checks, with the check and the value seen named,
#   and changes nothing; once the data is fixed the rollout goes through;
# - every item of the runbook's verification checklist holds in every
#   region, checked here with the runbook's own queries: domain_id gone,
#   domain columns text, scope_id text, prefixes consistent, no NULL
#   domains, the migration_log row; the constraint tests of steps 7 and 8
#   (inserts that must succeed, and the two that must fail with a check
#   violation and the GOVERNANCE VIOLATION) run as written; every row kept
#   its domain;
# - a backup was taken and verified per database, every check skein ran is
#   in the ledger as passed, `rollout report` shows them with the waived
#   lint rules and their reasons;
# - `rollout rollback` undoes 008 in place: the schema is back byte for
#   byte (pg_dump --schema-only), the original domain_id values are back,
#   and rows written after the migration survive.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

EX="$SKEIN_SRC/examples/002-domain-identity"
PLAN=mandate-008-domain-identity
ORG1=00000000-0000-0000-0000-000000000001

sk_setup example_002
mkdir -p "$SK_WORK/backups"
SK_AGENT_EXTRA="backup_dir: $SK_WORK/backups"
export SK_AGENT_EXTRA
sk_deploy_three

# owner_sql REGION SQL: as the migration user, "ERROR:  ..." on failure.
owner_sql() {
	"$SK_PGCLUSTER" psql "$SK_WORK/pg" "$(sk_region_cluster "$1")" "$1_app" \
		-qAt -v ON_ERROR_STOP=1 -c "$2" </dev/null
}

# Which domain each row belongs to, before and after (by slug).
domain_map() {
	local col=$2
	sk_rpsql "$1" "select (select string_agg(s.scope_id || '>' || d.$col, ',' order by s.scope_id) from scopes s join domains d using ($3))
		|| ' ' || (select string_agg(p.snapshot_id || '>' || d.$col, ',' order by p.snapshot_id) from policy_snapshots p join domains d using ($3))
		|| ' ' || (select string_agg(e.event_id || '>' || d.$col, ',' order by e.event_id) from decision_events e join domains d using ($3))"
}

for r in af in ksa; do
	"$SK_PGCLUSTER" psql "$SK_WORK/pg" "$(sk_region_cluster "$r")" "${r}_app" \
		-q -v ON_ERROR_STOP=1 <"$EX/fixture/schema-007.sql" || sk_fail "$r: loading the 007 schema failed"
done

# --- Pre-checks stop a migration that would fail -------------------------
sk_rpsql af "UPDATE domains SET name = 'Logistics' WHERE name = 'logistics'" >/dev/null
bad_before=$(sk_schema_dump af --exclude-schema=skein)
early=$(sk_sign_plan "$EX" mandate-008-dirty-data)
id0=$(sk_skein rollout start "$early")
if out0=$(sk_skein rollout wait "$id0"); then
	sk_fail "008 ran over a domain name that is not a slug: $out0"
fi
sk_assert_contains "$out0" "domain_names_not_slugs" "the failing pre-check is named"
sk_assert_contains "$out0" "failed in phase canary" "the canary is where it stops"
sk_assert_eq "$bad_before" "$(sk_schema_dump af --exclude-schema=skein)" "af: nothing changed by the blocked migration"
sk_assert_eq 0 "$(sk_rpsql af "select count(*) from skein.steps where plan_name = '$PLAN'")" "af: nothing in the ledger"
for r in in ksa; do
	sk_assert_eq 1 "$(sk_rpsql "$r" "select count(*) from information_schema.columns where table_name = 'domains' and column_name = 'domain_id'")" "$r: untouched"
done
# "Fix: Clean data, retry"
sk_rpsql af "UPDATE domains SET name = 'logistics' WHERE name = 'Logistics'" >/dev/null

declare -A before map ids
for r in af in ksa; do
	before[$r]=$(sk_schema_dump "$r" --exclude-schema=skein)
	map[$r]=$(domain_map "$r" name domain_id)
	ids[$r]=$(sk_rpsql "$r" "select string_agg(organization_id || '/' || name || '=' || domain_id, ',' order by domain_id) from domains")
done

# --- The migration ---------------------------------------------------------
signed=$(sk_sign_plan "$EX" "$PLAN")
id=$(sk_skein rollout start "$signed")
[[ "$id" == r-* ]] || sk_fail "rollout start printed '$id', not a rollout id"
out=$(sk_skein rollout wait "$id") || sk_fail "rollout wait failed: $out"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
sk_assert_canary_first "$out"

for r in af in ksa; do
	# Post-migration verification (the runbook's schema is "mandate"; the
	# example's tables live in public).
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT COUNT(*) FROM information_schema.columns WHERE column_name = 'domain_id' AND table_schema = 'public'")" \
		"$r: domain_id columns completely gone"
	sk_assert_eq "decision_events|text,domains|text,policy_snapshots|text,scopes|text" \
		"$(sk_rpsql "$r" "SELECT string_agg(table_name || '|' || data_type, ',' ORDER BY table_name) FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'domain'")" \
		"$r: domain columns are text"
	sk_assert_eq text "$(sk_rpsql "$r" "SELECT data_type FROM information_schema.columns WHERE table_name = 'scopes' AND column_name = 'scope_id'")" "$r: scope_id type is TEXT"
	sk_assert_eq "4|0" "$(sk_rpsql "$r" "SELECT count(*) FILTER (WHERE split_part(scope_id, '.', 1) = domain) || '|' || count(*) FILTER (WHERE split_part(scope_id, '.', 1) <> domain) FROM scopes")" \
		"$r: scopes_with_domain_prefix_match|mismatch"
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT (SELECT count(*) FROM domains WHERE domain IS NULL) + (SELECT count(*) FROM scopes WHERE domain IS NULL)
		+ (SELECT count(*) FROM policy_snapshots WHERE domain IS NULL) + (SELECT count(*) FROM decision_events WHERE domain IS NULL)")" "$r: no NULL domains"
	sk_assert_eq "008_rfc002_domain_identity_migration" "$(sk_rpsql "$r" "SELECT name FROM migration_log WHERE migration_version = 8")" "$r: migration_log"
	# Every row kept its domain (by slug now instead of by id).
	sk_assert_eq "${map[$r]}" "$(domain_map "$r" domain "organization_id, domain")" "$r: every row kept its domain"

	# 7. Test constraints: this should succeed...
	owner_sql "$r" "INSERT INTO domains (organization_id, domain) VALUES ('$ORG1', 'test-domain')" >/dev/null ||
		sk_fail "$r: inserting a well-formed domain failed"
	# ...this should FAIL (uppercase not allowed)
	if err=$(owner_sql "$r" "INSERT INTO domains (organization_id, domain) VALUES ('$ORG1', 'TEST-DOMAIN')" 2>&1); then
		sk_fail "$r: an uppercase domain was accepted"
	fi
	sk_assert_contains "$err" 'new row for relation "domains" violates check constraint' "$r: uppercase domain"
	# 8. Test scope_id prefix validation: this should succeed...
	owner_sql "$r" "INSERT INTO scopes (scope_id, domain, organization_id, owning_team) VALUES ('test-domain.prod.service.agent', 'test-domain', '$ORG1', 'Team')" >/dev/null ||
		sk_fail "$r: inserting a well-prefixed scope failed"
	# ...this should FAIL (domain prefix mismatch)
	if err=$(owner_sql "$r" "INSERT INTO scopes (scope_id, domain, organization_id, owning_team) VALUES ('wrong-domain.prod.service.agent', 'test-domain', '$ORG1', 'Team')" 2>&1); then
		sk_fail "$r: a scope with the wrong prefix was accepted"
	fi
	sk_assert_contains "$err" "GOVERNANCE VIOLATION: scope_id 'wrong-domain.prod.service.agent' does not embed domain prefix 'test-domain'" "$r: prefix mismatch"
	# The troubleshooting example: an UPDATE cannot break the rule either.
	if err=$(owner_sql "$r" "UPDATE scopes SET scope_id = 'logistics.prod.service' WHERE scope_id = 'finance.prod.payments.agent'" 2>&1); then
		sk_fail "$r: a scope was renamed out of its domain"
	fi
	sk_assert_contains "$err" "GOVERNANCE VIOLATION" "$r: prefix mismatch on update"
	# A domain slug is unique per organization, not globally.
	if owner_sql "$r" "INSERT INTO domains (organization_id, domain) VALUES ('$ORG1', 'finance')" >/dev/null 2>&1; then
		sk_fail "$r: a duplicate domain slug was accepted"
	fi

	# 11. The execution log's two queries.
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT COUNT(*) FROM information_schema.columns WHERE column_name = 'domain_id' AND table_schema = 'public'")" "$r: log: domain_id columns removed"
	sk_assert_eq 1 "$(sk_rpsql "$r" "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'scopes' AND column_name = 'scope_id' AND data_type = 'text'")" "$r: log: scope_id TEXT columns"

	# skein's own record: 8 pre-checks and 10 post-checks, all passed, in
	# the migration's transaction; one verified backup.
	sk_assert_eq "18|18" "$(sk_rpsql "$r" "select count(*) filter (where passed) || '|' || count(*) from skein.checks where plan_name = '$PLAN' and rollout_id = '$id' and \"when\" in ('pre', 'post')")" \
		"$r: checks in the ledger"
	sk_assert_eq "2|2" "$(sk_rpsql "$r" "select count(*) filter (where passed) || '|' || count(*) from skein.checks where rollout_id = '$id' and \"when\" = 'preflight'")" \
		"$r: preflight checks in the ledger"
	sk_assert_eq 1 "$(sk_rpsql "$r" "select count(*) from skein.checks where rollout_id = '$id' and name = 'scope_prefix_mismatch_refused' and passed and seen like 'P0001%'")" \
		"$r: the constraint test recorded with the SQLSTATE seen"
	backup=$(sk_rpsql "$r" "select path from skein.backups where rollout_id = '$id'")
	[[ -s "$backup" ]] || sk_fail "$r: no backup file at '$backup'"
	listing=$(pg_restore --list "$backup") || sk_fail "$r: pg_restore --list $backup failed"
	grep -q 'TABLE DATA public scopes ' <<<"$listing" ||
		sk_fail "$r: the backup $backup does not hold the scopes"
done

report=$(sk_skein rollout report "$id") || sk_fail "rollout report failed: $report"
for needle in domain_id_nulls domain_id_orphans domain_names_not_slugs domain_id_columns_remaining \
	scope_id_is_text scopes_with_domain_prefix_mismatch domain_slug_uppercase_refused \
	scope_prefix_mismatch_refused migration_logged rename-in-one-step drop-column "binary-coercible" pg_restore; do
	sk_assert_contains "$report" "$needle" "the report shows $needle"
done

# --- The rollback ----------------------------------------------------------
rb=$(sk_skein rollout rollback --yes "$id" --wait) || sk_fail "rollback failed: $rb"
sk_assert_contains "$(tail -n 1 <<<"$rb")" "succeeded" "rollback final line"
for r in af in ksa; do
	sk_assert_eq 0 "$(sk_rpsql "$r" "select count(*) from skein.steps where plan_name = '$PLAN'")" "$r: no step of 008 left in the ledger"
	sk_assert_eq 0 "$(sk_rpsql "$r" "select count(*) from migration_log where migration_version = 8")" "$r: migration_log row gone"
	sk_assert_same_dump "${before[$r]}" "$(sk_schema_dump "$r" --exclude-schema=skein)" \
		"$r: the schema after the rollback differs from before the rollout"
	# The original identifiers are back; the domain and scope written
	# after the migration survive with a fresh domain_id.
	now_ids=$(sk_rpsql "$r" "select string_agg(organization_id || '/' || name || '=' || domain_id, ',' order by domain_id) from domains where name <> 'test-domain'")
	sk_assert_eq "${ids[$r]}" "$now_ids" "$r: domain_id values restored"
	sk_assert_eq "test-domain.prod.service.agent>test-domain" \
		"$(sk_rpsql "$r" "select s.scope_id || '>' || d.name from scopes s join domains d using (domain_id) where s.scope_id like 'test-domain.%'")" \
		"$r: rows written after the migration survive"
	sk_assert_eq "${map[$r]}" "$(domain_map "$r" name domain_id | sed 's/,test-domain.prod.service.agent>test-domain//')" "$r: every row kept its domain"
done
echo "PASS example_002"

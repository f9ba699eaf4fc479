#!/usr/bin/env bash
# deployment.sh: the three-region deployment most integration tests use,
# on top of harness.sh. Source it after harness.sh.
#
#   sk_deploy_three [CLUSTER_OF_af CLUSTER_OF_in CLUSTER_OF_ksa]
#
# Starts the named clusters (default: one cluster "pg" shared by all three
# regions, which is faster; a test that stops one region's database gives
# that region a cluster of its own), creates database <region>_app in each
# region's cluster, writes keys, the inventory (residency = region name),
# the coordinator and agent configs (each agent manages one database named
# "app"), and starts the coordinator and the three agents.

# sk_region_cluster REGION: the cluster holding REGION's database.
sk_region_cluster() {
	local i
	for i in 0 1 2; do
		if [[ "${SK_REGIONS[$i]}" == "$1" ]]; then
			echo "${SK_REGION_CLUSTERS[$i]}"
			return 0
		fi
	done
	return 1
}

# sk_rpsql REGION SQL: run SQL in REGION's app database.
sk_rpsql() {
	sk_psql "$(sk_region_cluster "$1")" "$1_app" "$2"
}

sk_deploy_three() {
	SK_REGIONS=(af in ksa)
	SK_REGION_CLUSTERS=("${1:-pg}" "${2:-pg}" "${3:-pg}")
	local i r c
	for i in 0 1 2; do
		r=${SK_REGIONS[$i]}
		c=${SK_REGION_CLUSTERS[$i]}
		sk_cluster "$c" || return 1
		sk_db "$c" "${r}_app" || return 1
	done
	sk_keys || return 1
	for i in 0 1 2; do
		r=${SK_REGIONS[$i]}
		sk_region "$r" "$r" || return 1
		sk_agent_config "$r" "app=${SK_REGION_CLUSTERS[$i]}:${r}_app" || return 1
	done
	sk_coordinator_config || return 1
	sk_start_coordinator || return 1
	sk_start_agent "${SK_REGIONS[@]}" || return 1
}

# sk_write_plan DIR NAME EXPIRES PHASES_YAML STEP_ID=SQL...: write a plan
# directory with one SQL file per step (all transactional).
sk_write_plan() {
	local dir=$1 name=$2 expires=$3 phases=$4 spec id
	shift 4
	mkdir -p "$dir"
	{
		echo "name: $name"
		echo "expires: $expires"
		echo "phases:"
		printf '%s\n' "$phases"
		echo "steps:"
	} >"$dir/plan.yaml"
	for spec in "$@"; do
		id=${spec%%=*}
		printf '%s\n' "${spec#*=}" >"$dir/$id.sql"
		printf '  - id: %s\n    sql: %s.sql\n' "$id" "$id" >>"$dir/plan.yaml"
	done
}

# The usual two phases: canary af, then in and ksa.
SK_TWO_PHASES='  - name: canary
    regions: [af]
  - name: rest
    regions: [in, ksa]'

# sk_plan_yaml DIR NAME [TOP]: write DIR/plan.yaml with NAME, expires 1h,
# the lines TOP (e.g. "backup: true"), the usual two phases and "steps:",
# then the step list read from stdin.
sk_plan_yaml() {
	mkdir -p "$1"
	{
		echo "name: $2"
		echo "expires: 1h"
		[[ -z "${3:-}" ]] || printf '%s\n' "$3"
		echo "phases:"
		printf '%s\n' "$SK_TWO_PHASES"
		echo "steps:"
		cat
	} >"$1/plan.yaml"
}

# sk_schema_dump REGION [PG_DUMP_ARG...]: pg_dump --schema-only of REGION's
# app database, without the \restrict and \unrestrict lines (they carry a
# random key per dump).
sk_schema_dump() {
	local r=$1 pgbin dump
	shift
	pgbin=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}
	dump=$("$pgbin/pg_dump" "$(sk_conninfo "$(sk_region_cluster "$r")" "${r}_app")" --schema-only "$@") ||
		{ echo "sk_schema_dump: pg_dump of ${r}_app failed" >&2; return 1; }
	[[ -n "$dump" ]] || { echo "sk_schema_dump: pg_dump of ${r}_app printed nothing" >&2; return 1; }
	grep -Ev '^\\(un)?restrict ' <<<"$dump"
}

# sk_db_snapshot REGION: the schema and the row count of every table (the
# skein ledger's too) of REGION's database, for "nothing changed" checks.
sk_db_snapshot() {
	sk_schema_dump "$1" || return 1
	sk_rpsql "$1" "SELECT coalesce(string_agg(format('%s=%s', c.oid::regclass,
	    (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s',
	      c.oid::regclass), false, true, '')))[1]::text), ' ' ORDER BY c.oid::regclass::text), 'none')
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
}

# sk_assert_same_dump BEFORE AFTER MESSAGE: fail with MESSAGE and the diff
# unless the two dumps are the same.
sk_assert_same_dump() {
	if [[ "$2" != "$1" ]]; then
		diff <(echo "$1") <(echo "$2") >&2 || true
		sk_fail "$3"
	fi
}

# sk_assert_canary_first OUT: in `rollout wait` output OUT, the canary af
# succeeded before phase 2 started.
sk_assert_canary_first() {
	local canary_done rest_start
	canary_done=$(grep -n 'af: succeeded' <<<"$1" | head -1 | cut -d: -f1)
	rest_start=$(grep -n 'phase 2/2 rest started' <<<"$1" | head -1 | cut -d: -f1)
	if [[ -z "$canary_done" || -z "$rest_start" ]] || ((canary_done > rest_start)); then
		sk_fail "the rest started before the canary succeeded: $1"
	fi
}

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
	for r in "${SK_REGIONS[@]}"; do
		sk_start_agent "$r" || return 1
	done
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

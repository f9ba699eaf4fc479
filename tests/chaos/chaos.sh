#!/usr/bin/env bash
# chaos.sh: the parts of tests/chaos/run — the world (three regions, one
# PostgreSQL cluster each with two databases, three agents, a
# coordinator), the plan of a trial, the faults and the checks. Sourced by
# tests/chaos/run after harness.sh and netns.sh.
#
# The world is built once and reused by every trial; each trial has a plan
# of its own (chaos-NNNN) whose objects live in a schema of their own
# (chaos_NNNN), so trials do not see each other. A trial that fails gets a
# fresh world for the next one (unless --keep).

CHAOS_REGIONS=(af in ksa)
CHAOS_DBS=(app app2)
# Rows of each trial's table; each row costs the index build and the last
# bump about half a millisecond (slow_key sleeps).
CHAOS_ROWS=${CHAOS_ROWS:-1000}
# Faults land in [0.3 s, CHAOS_HORIZON_MS] after the rollout starts:
# about as long as a rollout takes without faults (7 s on 2 cores).
CHAOS_HORIZON_MS=${CHAOS_HORIZON_MS:-7000}
# How long a trial's rollout may take once the last fault is over.
CHAOS_WAIT=${CHAOS_WAIT:-120s}
# At most this many faults a trial (at least one).
CHAOS_FAULTS_MAX=${CHAOS_FAULTS_MAX:-3}
# A partition lasts at least 2 s and less than this (keep it above 2000).
CHAOS_PARTITION_MS=${CHAOS_PARTITION_MS:-6000}
# netns or sigstop: how a partition is made (chaos_world_up decides).
CHAOS_PARTITION=""
# Faults counted by what their target was doing (chaos__where).
declare -A CHAOS_WHERE=()
CHAOS_PGDUMP=""
CHAOS_REF_DUMP=""

chaos__ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# chaos__secs MS: "1.2s".
chaos__secs() {
	printf '%d.%ds' $(($1 / 1000)) $((($1 % 1000) / 100))
}

# ---------------------------------------------------------------------------
# The world

# chaos_cluster REGION: the cluster of REGION.
chaos_cluster() {
	echo "pg_$1"
}

# chaos_world_up MODE: build the world (MODE netns, sigstop or auto: netns
# when this machine allows it). Sets CHAOS_PARTITION; prints one line.
chaos_world_up() {
	local mode=$1 r c d specs
	sk_setup chaos || return 1
	CHAOS_SAN_SEEN=0
	CHAOS_PARTITION=sigstop
	if [[ "$mode" != sigstop ]]; then
		if sk_netns_available; then
			CHAOS_PARTITION=netns
		elif [[ "$mode" == netns ]]; then
			sk__err "chaos: network namespaces unavailable: $SK_NETNS_WHY"
			return 1
		else
			echo "chaos: network namespaces unavailable ($SK_NETNS_WHY);" \
				"partitions fall back to SIGSTOP of the agent"
		fi
	fi
	for r in "${CHAOS_REGIONS[@]}"; do
		c=$(chaos_cluster "$r")
		sk_cluster "$c" || return 1
		# The agent's "committed" must survive a crash of the server:
		# the harness's clusters run with synchronous_commit off. fsync
		# stays off: an immediate stop kills the server, not the
		# machine, and the kernel keeps what was written.
		sk_psql "$c" postgres "ALTER SYSTEM SET synchronous_commit = on" >/dev/null || return 1
		sk_psql "$c" postgres "SELECT pg_reload_conf()" >/dev/null || return 1
		for d in "${CHAOS_DBS[@]}"; do
			sk_db "$c" "$d" || return 1
		done
	done
	sk_keys || return 1
	for r in "${CHAOS_REGIONS[@]}"; do
		sk_region "$r" "$r" || return 1
	done
	if [[ "$CHAOS_PARTITION" == netns ]]; then
		sk_netns_bridge || return 1
		for r in "${CHAOS_REGIONS[@]}"; do
			sk_netns_region "$r" || return 1
		done
		sk_netns_coordinator_config || return 1
	else
		sk_coordinator_config || return 1
	fi
	for r in "${CHAOS_REGIONS[@]}"; do
		c=$(chaos_cluster "$r")
		specs=()
		for d in "${CHAOS_DBS[@]}"; do
			specs+=("$d=$c:$d")
		done
		if [[ "$CHAOS_PARTITION" == netns ]]; then
			sk_netns_agent_config "$r" "${specs[@]}" || return 1
		else
			sk_agent_config "$r" "${specs[@]}" || return 1
		fi
	done
	sk_start_coordinator || return 1
	for r in "${CHAOS_REGIONS[@]}"; do
		chaos_start_agent "$r" || return 1
	done
	chaos_reference || return 1
	echo "chaos: world up in $SK_WORK: regions ${CHAOS_REGIONS[*]}, databases" \
		"${CHAOS_DBS[*]} each, partition by $CHAOS_PARTITION${SK_NETNS_ADDR:+ (coordinator on $SK_NETNS_ADDR, agents in namespaces)}"
}

# chaos_world_down: stop everything and remove the work dir. Returns 1
# if a daemon's log holds a sanitizer report (a leak is reported as a
# daemon stops), which it shows.
chaos_world_down() {
	local rc=0
	# Stopped first so that their reports are in the logs to look at.
	sk__stop_all
	if ! chaos_sanitizer_check 0; then
		grep -E -A30 "$CHAOS_SAN_RE" "$SK_WORK"/logs/*.log | head -n 80 >&2
		rc=1
	fi
	sk_teardown
	if [[ "$CHAOS_PARTITION" == netns ]]; then
		sk_netns_destroy
	fi
	SK_WORK=""
	return $rc
}

CHAOS_SAN_RE='ERROR: (Address|Leak)Sanitizer|runtime error:'
CHAOS_SAN_SEEN=0

# chaos_sanitizer_check [SEEN]: false if the daemons' logs hold more
# sanitizer reports than SEEN (default: as many as at the last call).
chaos_sanitizer_check() {
	local n
	n=$(cat "$SK_WORK"/logs/*.log 2>/dev/null | grep -cE "$CHAOS_SAN_RE" || true)
	if ((n > ${1:-$CHAOS_SAN_SEEN})); then
		CHAOS_SAN_SEEN=$n
		return 1
	fi
	CHAOS_SAN_SEEN=$n
	return 0
}

# chaos_start_agent REGION: start REGION's agent (in its namespace).
chaos_start_agent() {
	if [[ "$CHAOS_PARTITION" == netns ]]; then
		sk_netns_start_agent "$1"
	else
		sk_start_agent "$1"
	fi
}

# chaos__retry N CMD...: CMD until it succeeds, at most N times, 0.5 s
# apart (a restart whose port is still held, a cluster still stopping).
chaos__retry() {
	local n=$1 i
	shift
	for ((i = 1; i <= n; i++)); do
		if "$@"; then
			return 0
		fi
		sleep 0.5
	done
	return 1
}

# chaos_world_check: before a trial, everything must be up and joined.
# Prints what was found down (a daemon that died on its own is a
# failure of the trial before) and brings it back; fails if it cannot.
chaos_world_check() {
	local r c found=""
	for r in "${CHAOS_REGIONS[@]}"; do
		if [[ "$CHAOS_PARTITION" == netns ]] && sk_netns_is_cut "$r"; then
			sk_netns_heal "$r" || return 1
			found+=" partition($r)"
		fi
		if [[ -s "$SK_WORK/pids/agent-$r.pid" ]]; then
			kill -CONT "$(cat "$SK_WORK/pids/agent-$r.pid")" 2>/dev/null || true
		fi
		c=$(chaos_cluster "$r")
		if ! "$SK_PGCLUSTER" psql "$SK_WORK/pg" "$c" postgres -Atc 'select 1' >/dev/null 2>&1; then
			found+=" postgres($r)"
			"$SK_PGCLUSTER" start "$SK_WORK/pg" "$c" >/dev/null || return 1
		fi
	done
	if ! sk_running coordinator; then
		found+=" coordinator"
		chaos__retry 5 sk_start_coordinator || return 1
	fi
	for r in "${CHAOS_REGIONS[@]}"; do
		if ! sk_running "agent-$r"; then
			found+=" agent-$r"
			chaos__retry 5 chaos_start_agent "$r" || return 1
		fi
	done
	if [[ -n "$found" ]]; then
		echo "chaos: found down before the trial and restarted:$found"
	fi
	return 0
}

# ---------------------------------------------------------------------------
# The plan

# chaos_write_plan DIR NAME SCHEMA: a plan of six steps over a table of
# CHAOS_ROWS rows: transactional steps that each record themselves in an
# effects table and two that add to every row's n (1, then 10: applied
# twice, n would not be 11), a column, a CREATE INDEX CONCURRENTLY
# (transaction: false) whose build calls a slow function so that faults
# land in it, and a check step. Phases: af, then in and ksa.
chaos_write_plan() {
	local dir=$1 name=$2 s=$3
	mkdir -p "$dir"
	cat >"$dir/plan.yaml" <<EOF
name: $name
expires: 6h
defaults:
  lock_timeout: 3s
  lock_retries: 10
phases:
  - name: canary
    regions: [af]
  - name: rest
    regions: [in, ksa]
steps:
  - id: 0001_create
    sql: 0001_create.sql
  - id: 0002_bump
    sql: 0002_bump.sql
  - id: 0003_note
    sql: 0003_note.sql
  - id: 0004_kind_idx
    sql: 0004_kind_idx.sql
    transaction: false
  - id: 0005_bump
    sql: 0005_bump.sql
  - id: 0006_check
    kind: check
    checks:
      - name: bumped_once
        sql: SELECT count(*) FROM $s.items WHERE n <> 11
        expect: 0
EOF
	cat >"$dir/0001_create.sql" <<EOF
CREATE SCHEMA $s;
-- Immutable for the index's sake; slow so that the index build takes a
-- while and faults land in it.
CREATE FUNCTION $s.slow_key(k text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS \$\$
BEGIN
  PERFORM pg_sleep(0.0005);
  RETURN lower(k);
END
\$\$;
CREATE TABLE $s.items (
  id integer PRIMARY KEY,
  n integer NOT NULL DEFAULT 0,
  kind text NOT NULL
);
CREATE TABLE $s.effects (
  step text NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO $s.items (id, kind) SELECT g, 'K' || (g % 7) FROM generate_series(1, $CHAOS_ROWS) g;
INSERT INTO $s.effects (step) VALUES ('0001_create');
EOF
	cat >"$dir/0002_bump.sql" <<EOF
UPDATE $s.items SET n = n + 1;
INSERT INTO $s.effects (step) VALUES ('0002_bump');
SELECT pg_sleep(0.6);
EOF
	cat >"$dir/0003_note.sql" <<EOF
ALTER TABLE $s.items ADD COLUMN note text;
INSERT INTO $s.effects (step) VALUES ('0003_note');
SELECT pg_sleep(0.3);
EOF
	cat >"$dir/0004_kind_idx.sql" <<EOF
CREATE INDEX CONCURRENTLY IF NOT EXISTS items_kind_idx ON $s.items ($s.slow_key(kind));
EOF
	cat >"$dir/0005_bump.sql" <<EOF
UPDATE $s.items SET n = n + 10;
INSERT INTO $s.effects (step) VALUES ('0005_bump');
EOF
}

CHAOS_STEPS="0001_create,0002_bump,0003_note,0004_kind_idx,0005_bump,0006_check"
CHAOS_EFFECTS="0001_create=1,0002_bump=1,0003_note=1,0005_bump=1"

# chaos__pg_dump CLUSTER DB SCHEMA: the schema's definition, with its
# name replaced by SCHEMA and without comments, blank lines and the
# \restrict lines (a random key per dump).
chaos__pg_dump() {
	local dump
	dump=$("$CHAOS_PGDUMP" "$(sk_conninfo "$1" "$2")" --schema-only -n "$3") || return 1
	grep -Ev '^(--|\\(un)?restrict |$)' <<<"$dump" | sed "s/\b$3\b/SCHEMA/g"
}

# chaos_reference: apply the plan's SQL with psql, once, to a database no
# agent manages; its schema dump is what every trial's must equal.
chaos_reference() {
	local dir="$SK_WORK/plans/reference" c f
	c=$(chaos_cluster "${CHAOS_REGIONS[0]}")
	CHAOS_PGDUMP="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}/pg_dump"
	chaos_write_plan "$dir" reference chaos_ref
	sk_db "$c" chaos_ref || return 1
	for f in 0001_create 0002_bump 0003_note 0004_kind_idx 0005_bump; do
		"$SK_PGCLUSTER" psql "$SK_WORK/pg" "$c" chaos_ref -f "$dir/$f.sql" </dev/null >/dev/null || {
			sk__err "chaos: the reference apply of $f failed"
			return 1
		}
	done
	CHAOS_REF_DUMP=$(chaos__pg_dump "$c" chaos_ref chaos_ref) || return 1
	[[ "$CHAOS_REF_DUMP" == *items_kind_idx* ]] || {
		sk__err "chaos: the reference dump has no items_kind_idx"
		return 1
	}
}

# ---------------------------------------------------------------------------
# Faults

CHAOS_KINDS=(kill9-agent kill9-coordinator pg-restart partition)

# chaos_schedule: 1 to CHAOS_FAULTS_MAX faults drawn from RANDOM (seed it
# first) into CHAOS_EVENTS ("MS ACTION ARG FAULT" lines, sorted; FAULT is
# the fault's index on the event that starts it, - on the one that ends
# it), CHAOS_FAULTS (what happened, for the trial's line) and
# CHAOS_FAULT_KINDS. Faults on one target (an agent, the coordinator, a
# cluster, a region's link) do not overlap: a later one starts 0.3 s after
# the earlier one ends.
chaos_schedule() {
	local n i kind r t d key lo hi lines=()
	local -A busy=()
	CHAOS_FAULTS=()
	CHAOS_FAULT_KINDS=()
	n=$((1 + RANDOM % CHAOS_FAULTS_MAX))
	for ((i = 0; i < n; i++)); do
		kind=${CHAOS_KINDS[RANDOM % ${#CHAOS_KINDS[@]}]}
		r=${CHAOS_REGIONS[RANDOM % ${#CHAOS_REGIONS[@]}]}
		# Most faults on a region strike while its phase runs: af's in
		# the first half of the horizon, in's and ksa's in the second;
		# one in five strikes any time (a region idle, or between phases).
		lo=300 hi=$CHAOS_HORIZON_MS
		if [[ "$kind" != kill9-coordinator ]] && ((RANDOM % 5 != 0)); then
			if [[ "$r" == "${CHAOS_REGIONS[0]}" ]]; then
				hi=$((CHAOS_HORIZON_MS / 2))
			else
				lo=$((CHAOS_HORIZON_MS / 2 - 500))
			fi
		fi
		t=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
		case "$kind" in
		kill9-agent) key="agent-$r" d=$((RANDOM % 3000)) ;;
		kill9-coordinator) key=coordinator d=$((RANDOM % 3000)) r="" ;;
		pg-restart) key="pg-$r" d=$((RANDOM % 2000)) ;;
		partition) key="net-$r" d=$((2000 + RANDOM % (CHAOS_PARTITION_MS - 2000))) ;;
		esac
		if [[ -n "${busy[$key]:-}" ]] && ((t < busy[$key] + 300)); then
			t=$((busy[$key] + 300))
		fi
		busy[$key]=$((t + d))
		case "$kind" in
		kill9-agent) lines+=("$t kill agent-$r $i" "$((t + d)) start-agent $r -") ;;
		kill9-coordinator) lines+=("$t kill coordinator $i" "$((t + d)) start-coordinator - -") ;;
		pg-restart) lines+=("$t pg-stop $r $i" "$((t + d)) pg-start $r -") ;;
		partition) lines+=("$t cut $r $i" "$((t + d)) heal $r -") ;;
		esac
		CHAOS_FAULTS+=("$kind${r:+($r)}@$(chaos__secs "$t")/$(chaos__secs "$d")")
		CHAOS_FAULT_KINDS+=("$kind")
	done
	mapfile -t CHAOS_EVENTS < <(printf '%s\n' "${lines[@]}" | sort -n -s -k1,1)
}

# chaos_faults_line: CHAOS_FAULTS in the order they struck, comma-separated.
chaos_faults_line() {
	printf '%s\n' "${CHAOS_FAULTS[@]}" | sort -t@ -k2 -n | paste -sd, -
}

# chaos__act ACTION ARG: one event.
chaos__act() {
	local c
	case "$1" in
	kill) sk_kill9 "$2" ;;
	start-agent) chaos__retry 10 chaos_start_agent "$2" ;;
	start-coordinator) chaos__retry 10 sk_start_coordinator ;;
	pg-stop)
		c=$(chaos_cluster "$2")
		# pgcluster.sh stops with pg_ctl stop -m immediate.
		"$SK_PGCLUSTER" stop "$SK_WORK/pg" "$c"
		;;
	pg-start)
		c=$(chaos_cluster "$2")
		chaos__retry 10 "$SK_PGCLUSTER" start "$SK_WORK/pg" "$c" >/dev/null
		;;
	cut)
		if [[ "$CHAOS_PARTITION" == netns ]]; then
			sk_netns_cut "$2"
		elif [[ -s "$SK_WORK/pids/agent-$2.pid" ]]; then
			kill -STOP "$(cat "$SK_WORK/pids/agent-$2.pid")"
		fi
		;;
	heal)
		if [[ "$CHAOS_PARTITION" == netns ]]; then
			sk_netns_heal "$2"
		elif [[ -s "$SK_WORK/pids/agent-$2.pid" ]]; then
			kill -CONT "$(cat "$SK_WORK/pids/agent-$2.pid")"
		fi
		;;
	esac
}

# chaos__activity REGION: what REGION's agent is doing in its cluster:
# cic (a CREATE INDEX CONCURRENTLY is being built), busy (some other
# statement or an open transaction), idle, or down (the cluster is).
chaos__activity() {
	sk_psql "$(chaos_cluster "$1")" postgres "SELECT CASE
		WHEN EXISTS (SELECT 1 FROM pg_stat_progress_create_index) THEN 'cic'
		WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'skein-agent/%'
		               AND state <> 'idle' AND pid <> pg_backend_pid()) THEN 'busy'
		ELSE 'idle' END" 2>/dev/null || echo down
}

# chaos__where FAULT: what the fault's target was doing as it struck
# (the coordinator's: the busiest region's), appended to its description
# and counted in CHAOS_WHERE.
chaos__where() {
	local i=$1 desc=${CHAOS_FAULTS[$1]} r w a
	if [[ "$desc" =~ ^[a-z0-9-]+\(([a-z]+)\) ]]; then
		w=$(chaos__activity "${BASH_REMATCH[1]}")
	else
		w=idle
		for r in "${CHAOS_REGIONS[@]}"; do
			a=$(chaos__activity "$r")
			case "$a" in
			cic) w=cic ;;
			busy) [[ "$w" == cic ]] || w=busy ;;
			esac
		done
	fi
	CHAOS_FAULTS[i]+="[$w]"
	CHAOS_WHERE[$w]=$((${CHAOS_WHERE[$w]:-0} + 1))
}

# chaos_inject T0_MS: run CHAOS_EVENTS at their times after T0_MS. An
# action that fails (a daemon that will not start again) is a problem.
chaos_inject() {
	local t0=$1 ev t act arg fault wait_ms
	for ev in "${CHAOS_EVENTS[@]}"; do
		read -r t act arg fault <<<"$ev"
		wait_ms=$((t0 + t - $(chaos__ms)))
		if ((wait_ms > 0)); then
			sleep "$(printf '%d.%03d' $((wait_ms / 1000)) $((wait_ms % 1000)))"
		fi
		if [[ "$fault" != - ]]; then
			chaos__where "$fault"
		fi
		if ! chaos__act "$act" "$arg" >/dev/null 2>>"$SK_WORK/logs/chaos.log"; then
			CHAOS_PROBLEMS+=("$act $arg at $(chaos__secs "$t") failed (see $SK_WORK/logs/chaos.log)")
		fi
	done
}

# ---------------------------------------------------------------------------
# Checks

# chaos_check_db REGION DB SCHEMA PLAN: what a database must hold after a
# trial; each difference is added to CHAOS_PROBLEMS.
chaos_check_db() {
	local r=$1 db=$2 s=$3 plan=$4 c out got dump
	local ledger effects items invalid idx
	c=$(chaos_cluster "$r")
	if ! out=$(sk_psql "$c" "$db" "SELECT
		(SELECT coalesce(string_agg(step_id, ',' ORDER BY step_id), '') FROM skein.steps WHERE plan_name = '$plan'),
		(SELECT coalesce(string_agg(step || '=' || k, ',' ORDER BY step), '')
		   FROM (SELECT step, count(*) AS k FROM $s.effects GROUP BY step) e),
		(SELECT count(*) || '/' || count(*) FILTER (WHERE n <> 11) FROM $s.items),
		(SELECT count(*) FROM pg_index WHERE NOT indisvalid OR NOT indisready),
		coalesce((SELECT indisvalid::text FROM pg_index WHERE indexrelid = to_regclass('$s.items_kind_idx')), 'missing')" 2>&1); then
		CHAOS_PROBLEMS+=("$r/$db: cannot read the trial's objects: $out")
		return
	fi
	IFS='|' read -r ledger effects items invalid idx <<<"$out"
	[[ "$ledger" == "$CHAOS_STEPS" ]] ||
		CHAOS_PROBLEMS+=("$r/$db: ledger holds [$ledger] for $plan, expected each of [$CHAOS_STEPS] once")
	[[ "$effects" == "$CHAOS_EFFECTS" ]] ||
		CHAOS_PROBLEMS+=("$r/$db: steps applied (step=times) [$effects], expected [$CHAOS_EFFECTS]")
	[[ "$items" == "$CHAOS_ROWS/0" ]] ||
		CHAOS_PROBLEMS+=("$r/$db: items rows/rows with n != 11 = $items, expected $CHAOS_ROWS/0 (a bump applied twice or not at all)")
	[[ "$invalid" == 0 ]] ||
		CHAOS_PROBLEMS+=("$r/$db: $invalid INVALID (or not ready) index(es) left in the database")
	[[ "$idx" == true ]] ||
		CHAOS_PROBLEMS+=("$r/$db: $s.items_kind_idx indisvalid = $idx")
	if ! dump=$(chaos__pg_dump "$c" "$db" "$s" 2>&1); then
		CHAOS_PROBLEMS+=("$r/$db: pg_dump -n $s failed: $dump")
	elif [[ "$dump" != "$CHAOS_REF_DUMP" ]]; then
		got=$(diff <(echo "$CHAOS_REF_DUMP") <(echo "$dump") | head -n 20 | tr '\n' ' ' || true)
		CHAOS_PROBLEMS+=("$r/$db: schema $s differs from the reference (diff reference trial): $got")
	fi
}

# chaos_check_daemons: every daemon still runs (none died on its own)
# and none wrote a sanitizer report.
chaos_check_daemons() {
	local name
	if ! chaos_sanitizer_check; then
		CHAOS_PROBLEMS+=("a sanitizer report in a daemon's log: $(grep -hE "$CHAOS_SAN_RE" "$SK_WORK"/logs/*.log | tail -n 1)")
	fi
	for name in coordinator "${CHAOS_REGIONS[@]/#/agent-}"; do
		if ! sk_running "$name"; then
			CHAOS_PROBLEMS+=("$name is not running after the trial (it died on its own)")
		fi
	done
}

# chaos_report_logs: the tails of the daemons' logs, on stderr.
chaos_report_logs() {
	local f
	for f in "$SK_WORK"/logs/*.log; do
		[[ -e "$f" ]] || continue
		echo "--- last 25 lines of $(basename "$f")" >&2
		tail -n 25 "$f" >&2
	done
	for f in "$SK_WORK"/pg/*/log; do
		[[ -e "$f" ]] || continue
		echo "--- last 8 lines of PostgreSQL log $(basename "$(dirname "$f")")" >&2
		tail -n 8 "$f" >&2
	done
}

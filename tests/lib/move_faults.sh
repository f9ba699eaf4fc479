#!/usr/bin/env bash
# move_faults.sh: what the fault tests of tenant moves share
# (tests/integration/fault_move_*.sh), on top of harness.sh and
# deployment.sh. Source it after both.
#
#   mf_world [BOOKINGS]    an SK_MOVES=1 three-region world with
#                          examples/004-residency-move's schema in every
#                          region, af's ten hotels (BOOKINGS bookings each,
#                          default 3000) and in's ten (10 bookings each)
#   mf_plan TENANT [LINES] sign a plan moving TENANT (hotel-af-NNN) from af
#                          to in, built from the example's, its tables
#                          MF_TABLES, LINES added to the move step's keys;
#                          prints its path
#   mf_writer TENANT TAG   start a writer updating TENANT's bookings in af
#                          until mf_stop_writers (or the test's exit); its
#                          pid in MF_WRITERS,
#                          each failure in $SK_WORK/TAG.log, "n ok" in
#                          $SK_WORK/TAG.log.count
#   mf_stop_writers        stop them all and wait
#   mf_digest REGION TABLE TENANT   count and md5 of TENANT's rows (psql)
#   mf_assert_same TENANT  af's and in's rows of TENANT equal, table by table
#   mf_assert_fenced TENANT a write of TENANT in af fails "moved to region in"
#   mf_assert_writes TAG [MOVING]  every write of TAG succeeded (MOVING=1:
#                          only "moved to region in" may have failed)
#   mf_restart REGION [FAILPOINT]  kill -9 REGION's agent and start it again,
#                          armed with SKEIN_FAILPOINT=FAILPOINT if given
#   mf_wait_dead REGION WHAT       wait for REGION's agent to die at its
#                          failpoint (WHAT says which), then restart it
#   mf_triggers REGION     the skein_move% triggers in REGION's database
#   mf_assert_finished WHAT after a move: af keeps only guard triggers (the
#                          fence) and no captured change, in no trigger

MF_EX="$SKEIN_SRC/examples/004-residency-move"
MF_TABLES=(tenants bookings invoices)
MF_WRITERS=()

# Writers die before the harness's cleanup removes the work dir (a
# failure exits the test without mf_stop_writers).
mf__kill_writers() {
	((${#MF_WRITERS[@]} == 0)) && return 0
	kill "${MF_WRITERS[@]}" 2>/dev/null || true
	wait "${MF_WRITERS[@]}" 2>/dev/null || true
	MF_WRITERS=()
}

mf_world() {
	local signed id out exit_trap
	exit_trap=$(trap -p EXIT)
	exit_trap=${exit_trap#trap -- \'}
	exit_trap=${exit_trap%\' EXIT}
	# shellcheck disable=SC2064,SC2154 # the harness's trap, expanded now
	trap "mf__st=\$?; mf__kill_writers; (exit \$mf__st); $exit_trap" EXIT
	SK_MOVES=1 sk_deploy_three || return 1
	signed=$(sk_sign_plan "$MF_EX/0-schema" residency-schema) || return 1
	id=$(sk_skein rollout start "$signed") || return 1
	out=$(sk_skein rollout wait "$id") || sk_fail "schema rollout failed: $out"
	"$SK_PGCLUSTER" psql "$SK_WORK/pg" "$(sk_region_cluster af)" af_app -q \
		-v ON_ERROR_STOP=1 -v region=af -v bookings="${1:-3000}" -f "$MF_EX/fixture/hotels.sql" >/dev/null
	"$SK_PGCLUSTER" psql "$SK_WORK/pg" "$(sk_region_cluster in)" in_app -q \
		-v ON_ERROR_STOP=1 -v region=in -v bookings=10 -f "$MF_EX/fixture/hotels.sql" >/dev/null
}

mf_plan() {
	local t=$1 dir="$SK_WORK/plans/move-$1-src"
	mkdir -p "$dir"
	local tables="${MF_TABLES[*]}"
	sed "s/hotel-af-007/$t/g; s/hotel_af_007/${t//-/_}/g; s/^    tables: .*/    tables: [${tables// /, }]/" \
		"$MF_EX/1-move-hotel-af-007/plan.yaml" >"$dir/plan.yaml"
	[[ -z "${2:-}" ]] || printf '%s\n' "$2" >>"$dir/plan.yaml"
	sk_sign_plan "$dir" "move-$t"
}

mf_writer() {
	local tenant=$1 log="$SK_WORK/$2.log" test_pid=$$
	(
		n=0 ok=0
		# Also ends with the test (a failure exits it without
		# mf_stop_writers) and with its work dir.
		while [[ ! -e "$SK_WORK/stop-writers" && -d "$SK_WORK/pids" ]] &&
			kill -0 "$test_pid" 2>/dev/null; do
			n=$((n + 1))
			if err=$(sk_rpsql af "UPDATE bookings SET nights = nights % 9 + 1 WHERE id = (SELECT min(id) FROM bookings WHERE tenant_id = '$tenant') + $((n % 50))" 2>&1); then
				ok=$((ok + 1))
			else
				echo "fail $n: ${err//$'\n'/ }" >>"$log"
			fi
			echo "$n $ok" >"$log.count"
		done
	) &
	MF_WRITERS+=($!)
}

mf_stop_writers() {
	touch "$SK_WORK/stop-writers"
	((${#MF_WRITERS[@]} == 0)) || wait "${MF_WRITERS[@]}"
	MF_WRITERS=()
	rm -f "$SK_WORK/stop-writers"
}

mf_digest() {
	sk_rpsql "$1" "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM $2 t WHERE tenant_id = '$3'"
}

mf_assert_same() {
	local t src
	for t in "${MF_TABLES[@]}"; do
		src=$(mf_digest af "$t" "$1")
		[[ "${src%% *}" -gt 0 ]] || sk_fail "af has no $t rows of $1"
		sk_assert_eq "$src" "$(mf_digest in "$t" "$1")" "$1: in's $t equal af's"
	done
}

mf_assert_fenced() {
	local err
	if err=$(sk_rpsql af "UPDATE bookings SET nights = 2 WHERE tenant_id = '$1'" 2>&1); then
		sk_fail "a write of the moved tenant $1 in af succeeded"
	fi
	sk_assert_contains "$err" "moved to region in" "af refuses $1's writes"
}

mf_assert_writes() {
	local n ok
	read -r n ok <"$SK_WORK/$1.log.count"
	((n > 3)) || sk_fail "writer $1 wrote only $n times"
	if [[ "${2:-0}" == 1 ]]; then
		if [[ -s "$SK_WORK/$1.log" ]] && grep -v "moved to region in" "$SK_WORK/$1.log"; then
			sk_fail "writer $1: a write failed for another reason than the fence"
		fi
		((ok > 0)) || sk_fail "writer $1: no write succeeded before the fence"
	else
		sk_assert_eq "$n" "$ok" "writer $1: every write succeeded ($n); failures: $(head -3 "$SK_WORK/$1.log" 2>/dev/null)"
	fi
}

mf_restart() {
	sk_kill9 "agent-$1" 2>/dev/null || true
	if [[ -n "${2:-}" ]]; then
		SKEIN_FAILPOINT=$2 SK_MAY_EXIT=1 sk_start_agent "$1"
	else
		sk_start_agent "$1"
	fi
}

mf_wait_dead() {
	# The restarted agent's pid file is written by the agent's own shell,
	# so right after mf_restart it may still name the killed process:
	# wait for the failpoint's line in the log since the last start
	# first, then for that process to be gone.
	sk_wait_until 40 bash -c "tac '$SK_WORK/logs/agent-$1.log' | sed '/^--- .* start: /q' | grep -q 'failpoint .*killing this process'" ||
		sk_fail "agent $1 never reached its failpoint ($2)"
	sk_wait_until 20 bash -c "! kill -0 \$(cat '$SK_WORK/pids/agent-$1.pid') 2>/dev/null" ||
		sk_fail "agent $1 logged its failpoint but did not die ($2)"
	sk_kill9 "agent-$1"
}

mf_triggers() {
	sk_rpsql "$1" "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'skein_move%'"
}

mf_assert_finished() {
	sk_assert_eq 0 "$(sk_rpsql af "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'skein_move%' AND tgname NOT LIKE 'skein_move%guard%'")" \
		"$1: af's capture and truncate triggers removed"
	sk_assert_eq 0 "$(sk_rpsql af "SELECT count(*) FROM skein.move_changes")" "$1: af's captured changes removed"
	sk_assert_eq 0 "$(mf_triggers in)" "$1: in's move guard removed"
}

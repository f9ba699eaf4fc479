#!/usr/bin/env bash
# harness.sh: stand up a whole skein deployment on loopback — PostgreSQL
# clusters, keys, a region inventory, a coordinator and agents — and tear it
# down again whatever happens. Sourced by the integration tests, the demo
# (deploy/local/demo) and the benchmarks (bench/), so all of them build a
# deployment the same way.
#
#   . "$SKEIN_SRC/tests/lib/harness.sh"
#   sk_setup mytest                # work dir, cleanup trap, watchdog
#   sk_cluster pg1; sk_db pg1 app  # PostgreSQL cluster + database
#   sk_standby pg1s pg1            # a streaming hot standby of pg1
#   sk_keys; sk_region af af       # release/coordinator keys; region af
#   sk_agent_config af pg1:app
#   sk_coordinator_config; sk_start_coordinator; sk_start_agent af
#   signed=$(sk_sign_plan "$SKEIN_SRC/examples/quickstart")
#   id=$(sk_skein rollout start "$signed"); sk_skein rollout wait "$id"
#
# Layout of $SK_WORK (world-traversable, so the `postgres` user can reach
# its clusters): pg/ (pgcluster.sh clusters), keys/, tls/ (certificates),
# regions/, agents/, coordinator/, plans/, logs/NAME.log, pids/NAME.pid.
#
# Transport: every world runs over TLS. The configs get tls+tcp:// URLs
# and tls: sections; tls/ holds a CA, the coordinator's certificate and
# one client certificate per agent, made once per world by
# deploy/tls/make-certs; SKEIN_TLS_CA is exported for the CLI.
# SK_PLAIN_TCP=1 (set before the first config is written) makes a world
# of plain tcp:// on loopback instead, for a test that must read the wire
# (fault_private_detail.sh); in the environment it runs the suite without
# TLS, to compare (fault_tls.sh keeps TLS).
#
# Environment:
#   SKEIN_SRC   source tree (default: two levels above this file)
#   SKEIN_BIN   directory holding skein, skein-coordinator, skein-agent
#               (default: $SKEIN_SRC/build)
#   SK_KEEP=1   keep the work dir after the run (processes still stop)
#   SK_AGENT_POLL_MS, SK_AGENT_PARALLEL   agent.yaml poll_ms / parallel
#   SK_AGENT_EXTRA, SK_COORDINATOR_EXTRA  extra YAML lines for those files
#   SK_STOP_TIMEOUT   seconds sk_stop waits after SIGTERM (default 30)
#   SK_READY_TIMEOUT  seconds sk_start_coordinator waits (default 30)
#   SK_WATCH_DAEMONS=0  let a CLI command run on when a daemon has died
#               (by default the harness stops it and shows that log)
#   SK_PLAIN_TCP=1  plain tcp:// instead of TLS (see Transport above)
#
# Functions print nothing on success unless they return data on stdout;
# failures print "harness: <what>: <why>" on stderr and return non-zero.

if [[ -n "${SK_HARNESS_LOADED:-}" ]]; then
	return 0
fi
SK_HARNESS_LOADED=1

SKEIN_SRC=${SKEIN_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SKEIN_BIN=${SKEIN_BIN:-$SKEIN_SRC/build}
SK_PGCLUSTER=${SK_PGCLUSTER:-$SKEIN_SRC/tests/lib/pgcluster.sh}
SK_WORK=${SK_WORK:-}
SK__CLEANED=0
SK__FG_PIDS=()
SK__WATCHDOG_PID=""

sk__err() {
	echo "harness: $*" >&2
}

# The path of a skein program, or an error that says how to build it.
sk__bin() {
	local p="$SKEIN_BIN/$1"
	if [[ ! -x "$p" ]]; then
		sk__err "find $1: $p is missing or not executable; build it with:" \
			"cmake -S $SKEIN_SRC -B $SKEIN_BIN && cmake --build $SKEIN_BIN -j2 (or set SKEIN_BIN)"
		return 1
	fi
	echo "$p"
}

sk__need_work() {
	if [[ -z "$SK_WORK" || ! -d "$SK_WORK" ]]; then
		sk__err "${FUNCNAME[1]}: no work dir; call sk_setup first"
		return 1
	fi
}

# Quote a string as a YAML single-quoted scalar.
sk__yq() {
	local s=${1//\'/\'\'}
	printf "'%s'" "$s"
}

# True if pid is a live process (a zombie counts as dead).
# No process is started for it: loops call it every 50 ms.
sk__alive() {
	local pid=$1 stat
	[[ -n "$pid" ]] || return 1
	read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
	# "PID (COMM) STATE ...": COMM may hold ") ", so after the last one.
	stat=${stat##*) }
	[[ -n "$stat" && "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

# ---------------------------------------------------------------------------
# Work dir, cleanup, watchdog

# sk_setup [NAME]: make $SK_WORK under /tmp, install the cleanup trap on
# EXIT, INT and TERM, and start a watchdog that cleans up should this shell
# die without running its trap (SIGKILL, e.g. a ctest timeout).
sk_setup() {
	local name=${1:-$(basename "${BASH_SOURCE[1]:-skein}" .sh)}
	name=${name//[^A-Za-z0-9_.-]/_}
	if [[ -n "$SK_WORK" && -d "$SK_WORK/pids" ]]; then
		sk__err "sk_setup: already set up in $SK_WORK"
		return 1
	fi
	[[ -x "$SK_PGCLUSTER" ]] || {
		sk__err "sk_setup: $SK_PGCLUSTER is missing or not executable"
		return 1
	}
	SK_WORK=$(mktemp -d "/tmp/skein-$name.XXXXXX") || {
		sk__err "sk_setup: cannot create a work dir under /tmp"
		return 1
	}
	chmod 755 "$SK_WORK"
	mkdir -p "$SK_WORK"/{pg,keys,regions,agents,coordinator,plans,logs,pids}
	chmod 755 "$SK_WORK/pg"
	export SK_WORK
	sk__arm
}

# sk_attach DIR: take over an existing work dir (one left running by
# `demo --keep`), with the same trap, so that exiting tears it down.
sk_attach() {
	local dir=$1
	if [[ ! -d "$dir/pids" ]]; then
		sk__err "sk_attach: $dir is not a harness work dir"
		return 1
	fi
	SK_WORK=$(cd "$dir" && pwd)
	export SK_WORK
	sk__arm
}

sk__arm() {
	SK__CLEANED=0
	# Exiting from the trap is what lets cleanup turn a pass into a
	# failure (a sanitizer report in a daemon's log).
	trap 'sk__cleanup; exit $?' EXIT
	trap 'sk__on_signal INT 130' INT
	trap 'sk__on_signal TERM 143' TERM
	trap 'sk__on_signal HUP 129' HUP
	sk__start_watchdog
}

# sk_detach: leave everything running (demo --keep): drop the trap and the
# watchdog. The daemons run in their own sessions and outlive this shell.
sk_detach() {
	trap - EXIT INT TERM HUP
	if [[ -n "$SK__WATCHDOG_PID" ]]; then
		kill -TERM "$SK__WATCHDOG_PID" 2>/dev/null || true
		SK__WATCHDOG_PID=""
	fi
	SK__CLEANED=1
}

# sk_teardown: clean up now (what the EXIT trap would do) and disarm the
# trap; for scripts that want to print something after the teardown.
sk_teardown() {
	local had_e=0
	[[ $- == *e* ]] && had_e=1
	sk__cleanup || true
	trap - EXIT INT TERM HUP
	((had_e)) && set -e
	return 0
}

sk__on_signal() {
	local sig=$1 status=$2
	# A second Ctrl-C while cleaning up must not cut the cleanup short.
	trap '' INT TERM HUP
	echo "harness: caught SIG$sig, stopping everything" >&2
	sk__cleanup
	trap - EXIT
	exit "$status"
}

# Kill every tracked process (daemons by process group), stop the
# clusters, and remove the work dir unless SK_KEEP=1. Idempotent.
sk__cleanup() {
	# shellcheck disable=SC2320 # the status the shell is exiting with
	local status=$?
	[[ "$SK__CLEANED" == 1 ]] && return "$status"
	SK__CLEANED=1
	trap '' INT TERM HUP
	set +e
	[[ -n "$SK_WORK" && -d "$SK_WORK" ]] || return "$status"
	local pid
	for pid in "${SK__FG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	sk__stop_all
	# Daemons built with sanitizers report on stderr, which is their log:
	# a report fails the test even when everything else passed.
	local log
	for log in "$SK_WORK"/logs/*.log; do
		[[ -e "$log" ]] || continue
		if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
			sk__err "sanitizer report in $(basename "$log"):"
			grep -E -A40 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log" | head -80 >&2
			status=1
		fi
	done
	"$SK_PGCLUSTER" stopall "$SK_WORK/pg" >/dev/null 2>&1 ||
		sk__err "cleanup: pgcluster.sh stopall $SK_WORK/pg failed"
	if [[ -n "$SK__WATCHDOG_PID" ]]; then
		kill -TERM "$SK__WATCHDOG_PID" 2>/dev/null
	fi
	if [[ "${SK_KEEP:-0}" == 1 ]]; then
		echo "harness: kept $SK_WORK (logs in $SK_WORK/logs)" >&2
	else
		rm -rf "$SK_WORK"
	fi
	return "$status"
}

# Stop every tracked daemon: SIGTERM to all but the coordinator at once,
# then to the coordinator (an agent whose coordinator vanished first sits
# out its request timeout before it notices the signal), SIGKILL for what
# is left after SK_STOP_TIMEOUT seconds.
sk__stop_all() {
	local f
	local -a first=() last=()
	for f in "$SK_WORK"/pids/*.pid; do
		[[ -e "$f" ]] || continue
		if [[ "$(basename "$f")" == coordinator.pid ]]; then
			last+=("$f")
		else
			first+=("$f")
		fi
	done
	[[ ${#first[@]} -gt 0 ]] && sk__stop_group "${first[@]}"
	[[ ${#last[@]} -gt 0 ]] && sk__stop_group "${last[@]}"
	return 0
}

# sk__stop_group PIDFILE...: SIGTERM all, wait, SIGKILL leftovers.
sk__stop_group() {
	local f name pids=() pid deadline
	for f in "$@"; do
		pid=$(cat "$f" 2>/dev/null) || continue
		[[ "$pid" =~ ^[0-9]+$ ]] || continue
		pids+=("$pid")
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done
	deadline=$((SECONDS + ${SK_STOP_TIMEOUT:-30}))
	for pid in "${pids[@]}"; do
		while sk__alive "$pid" && ((SECONDS < deadline)); do
			sleep 0.05
		done
		if sk__alive "$pid"; then
			sk__err "cleanup: pid $pid ignored SIGTERM for ${SK_STOP_TIMEOUT:-30}s; killing it"
		fi
		kill -KILL -- "-$pid" 2>/dev/null || true
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for f in "$@"; do
		name=$(basename "$f" .pid)
		mv -f "$f" "$SK_WORK/pids/$name.stopped" 2>/dev/null || true
	done
}

# The watchdog is a separate session that polls for this shell; if the
# shell vanishes without cleaning up, it kills the daemons, stops the
# clusters and removes the work dir (unless SK_KEEP=1).
sk__start_watchdog() {
	local parent=$$
	# shellcheck disable=SC2016 # expanded by the inner bash
	(setsid bash -c '
		trap "exit 0" TERM
		parent=$1 work=$2 pgc=$3 keep=$4
		while kill -0 "$parent" 2>/dev/null; do sleep 1 & wait $!; done
		[[ -d "$work" ]] || exit 0
		for f in "$work"/pids/*.pid "$work"/pids/*.fg; do
			[[ -e "$f" ]] || continue
			pid=$(cat "$f")
			case "$f" in
			*.pid) kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null ;;
			*) kill -TERM "$pid" 2>/dev/null ;;
			esac
		done
		"$pgc" stopall "$work/pg" >/dev/null 2>&1
		[[ "$keep" == 1 ]] || rm -rf "$work"
	' sk-watchdog "$parent" "$SK_WORK" "$SK_PGCLUSTER" "${SK_KEEP:-0}" \
		</dev/null >/dev/null 2>&1 &
	# Not this shell's child (the subshell exits at once), so that a bare
	# `wait` in a test does not wait for it forever.
	echo $! >"$SK_WORK/pids/watchdog")
	SK__WATCHDOG_PID=$(cat "$SK_WORK/pids/watchdog")
}

# ---------------------------------------------------------------------------
# Processes

# sk__spawn NAME CMD...: start CMD in its own session (so a terminal's
# Ctrl-C reaches the harness, which then stops it in order), stdout and
# stderr appended to logs/NAME.log, pid in pids/NAME.pid.
sk__spawn() {
	sk__need_work || return 1
	local name=$1
	shift
	local pidfile="$SK_WORK/pids/$name.pid" log="$SK_WORK/logs/$name.log" i
	if [[ -e "$pidfile" ]] && sk__alive "$(cat "$pidfile")"; then
		sk__err "start $name: already running as pid $(cat "$pidfile")"
		return 1
	fi
	rm -f "$pidfile" "$SK_WORK/pids/$name.stopped"
	echo "--- $(date -u +%FT%TZ) start: $*" >>"$log"
	# shellcheck disable=SC2016 # expanded by the inner bash
	setsid bash -c 'echo $$ >"$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' \
		"$pidfile" "$@" </dev/null >>"$log" 2>&1 &
	for ((i = 0; i < 200; i++)); do
		[[ -s "$pidfile" ]] && return 0
		sleep 0.01
	done
	sk__err "start $name: no pid file after 2s; see $log"
	return 1
}

# sk_pid NAME: the pid of a tracked process ("af" finds agent-af).
sk_pid() {
	sk__need_work || return 1
	local f
	for f in "$SK_WORK/pids/$1.pid" "$SK_WORK/pids/agent-$1.pid"; do
		if [[ -s "$f" ]]; then
			cat "$f"
			return 0
		fi
	done
	sk__err "find process $1: not started, or already stopped"
	return 1
}

# sk_running NAME: true if the tracked process is alive.
sk_running() {
	local pid
	pid=$(sk_pid "$1" 2>/dev/null) || return 1
	sk__alive "$pid"
}

sk__pidfile() {
	local f
	for f in "$SK_WORK/pids/$1.pid" "$SK_WORK/pids/agent-$1.pid"; do
		[[ -s "$f" ]] && {
			echo "$f"
			return 0
		}
	done
	return 1
}

# sk_stop NAME: SIGTERM, wait up to SK_STOP_TIMEOUT seconds, then SIGKILL.
# Returns 0 if it exited on its own, 1 if it had to be killed or was not
# running. Its exit status, when it was this shell's child, is left in
# SK_LAST_STATUS.
sk_stop() {
	sk__need_work || return 1
	local f pid deadline rc=0
	SK_LAST_STATUS=""
	f=$(sk__pidfile "$1") || {
		sk__err "stop $1: not started, or already stopped"
		return 1
	}
	pid=$(cat "$f")
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$((SECONDS + ${SK_STOP_TIMEOUT:-30}))
	while sk__alive "$pid" && ((SECONDS < deadline)); do
		sleep 0.05
	done
	if sk__alive "$pid"; then
		sk__err "stop $1: pid $pid still running ${SK_STOP_TIMEOUT:-30}s after SIGTERM; killing it"
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		rc=1
	fi
	# Anything it left in its process group goes too.
	kill -KILL -- "-$pid" 2>/dev/null || true
	if wait "$pid" 2>/dev/null; then
		SK_LAST_STATUS=0
	else
		SK_LAST_STATUS=$?
		[[ $SK_LAST_STATUS == 127 ]] && SK_LAST_STATUS=""
	fi
	mv -f "$f" "${f%.pid}.stopped"
	return $rc
}

# sk_kill9 NAME: SIGKILL the process (and its group) and wait for it: the
# crash every daemon must survive.
sk_kill9() {
	sk__need_work || return 1
	local f pid i
	f=$(sk__pidfile "$1") || {
		sk__err "kill $1: not started, or already stopped"
		return 1
	}
	pid=$(cat "$f")
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 500; i++)); do
		sk__alive "$pid" || break
		sleep 0.01
	done
	wait "$pid" 2>/dev/null || true
	mv -f "$f" "${f%.pid}.stopped"
	echo "--- $(date -u +%FT%TZ) killed with SIGKILL by the harness" >>"$SK_WORK/logs/$(basename "$f" .pid).log"
}

# sk__run_fg CMD...: run CMD as a tracked child and wait for it. Unlike a
# plain foreground command this lets a signal to the harness run the
# cleanup at once (bash defers traps until a foreground child exits).
# With SK__TEE set, stdout and stderr are also copied to that file.
sk__run_fg() {
	local pid rc=0 teepid="" fd
	if [[ -n "${SK__TEE:-}" ]]; then
		exec {fd}> >(tee "$SK__TEE")
		teepid=$!
		"$@" </dev/null >&"$fd" 2>&1 &
		pid=$!
	else
		"$@" </dev/null &
		pid=$!
	fi
	SK__FG_PIDS+=("$pid")
	# The watchdog cannot see this shell's variables: leave a note.
	echo "$pid" >"$SK_WORK/pids/fg-$pid.fg"
	local note="$SK_WORK/pids/fg-$pid.died" monpid=""
	if [[ "${SK_WATCH_DAEMONS:-1}" == 1 ]]; then
		sk__monitor "$pid" "$note" </dev/null >/dev/null 2>&1 &
		monpid=$!
		echo "$monpid" >"$SK_WORK/pids/fg-$monpid.fg"
	fi
	wait "$pid" || rc=$?
	# A signal interrupts wait before the child is done: keep waiting, so
	# the status is the child's (the trap has already run and exited if it
	# was INT or TERM).
	while sk__alive "$pid"; do
		wait "$pid" && rc=0 || rc=$?
	done
	unset 'SK__FG_PIDS[-1]'
	rm -f "$SK_WORK/pids/fg-$pid.fg"
	if [[ -n "$monpid" ]]; then
		kill -TERM "$monpid" 2>/dev/null || true
		wait "$monpid" 2>/dev/null || true
		rm -f "$SK_WORK/pids/fg-$monpid.fg"
	fi
	if [[ -n "$teepid" ]]; then
		exec {fd}>&-
		wait "$teepid" 2>/dev/null || true
	fi
	if [[ -s "$note" ]]; then
		local name names
		read -r -a names <"$note"
		for name in "${names[@]}"; do
			sk__err "$name exited on its own while '$*' ran, which was stopped;" \
				"last lines of $SK_WORK/logs/$name.log:"
			tail -n 15 "$SK_WORK/logs/$name.log" >&2 || true
			# Reported once: from now on it counts as stopped.
			if [[ -e "$SK_WORK/pids/$name.pid" ]]; then
				wait "$(cat "$SK_WORK/pids/$name.pid")" 2>/dev/null || true
				mv -f "$SK_WORK/pids/$name.pid" "$SK_WORK/pids/$name.crashed"
			fi
		done
		rm -f "$note"
		((rc != 0)) || rc=1
	fi
	return $rc
}

# sk__monitor PID NOTE: while PID runs, look for tracked daemons that died
# without sk_stop or sk_kill9 (a crash, a sanitizer abort). One seen dead
# twice, half a second apart, is named in NOTE and PID gets SIGTERM, so a
# CLI command waiting on a dead agent fails in a second instead of hanging
# until the test's timeout. SK_WATCH_DAEMONS=0 turns this off.
sk__monitor() {
	local cli=$1 note=$2 f pid dead suspect="" name
	trap 'exit 0' TERM
	# Nothing to look at before the first half second: most commands are
	# done by then.
	while :; do
		sleep 0.5 &
		wait $!
		sk__alive "$cli" || break
		dead=""
		for f in "$SK_WORK"/pids/*.pid; do
			[[ -e "$f" ]] || continue
			read -r pid 2>/dev/null <"$f" || continue
			# Re-check the file: sk_stop/sk_kill9 move it once done.
			if ! sk__alive "$pid" && [[ -e "$f" ]]; then
				name=${f##*/}
				dead="$dead ${name%.pid}"
			fi
		done
		if [[ -n "$dead" && "$dead" == "$suspect" ]]; then
			echo "$dead" >"$note"
			kill -TERM "$cli" 2>/dev/null
			exit 0
		fi
		suspect=$dead
	done
}

# ---------------------------------------------------------------------------
# PostgreSQL

# sk_free_port: a TCP port on 127.0.0.1 nobody listens on, below the
# ephemeral range, not handed out before in this work dir.
sk_free_port() {
	local i p used="${SK_WORK:+$SK_WORK/ports.used}"
	for ((i = 0; i < 100; i++)); do
		p=$(shuf -i 20000-32000 -n 1)
		if [[ -n "$used" ]] && grep -qx "$p" "$used" 2>/dev/null; then
			continue
		fi
		if [[ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]]; then
			continue
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			continue
		fi
		[[ -n "$used" ]] && echo "$p" >>"$used"
		echo "$p"
		return 0
	done
	sk__err "find a free port: none found in 100 tries"
	return 1
}

# sk_cluster NAME: initdb (first time) and start a PostgreSQL cluster.
sk_cluster() {
	sk__need_work || return 1
	"$SK_PGCLUSTER" start "$SK_WORK/pg" "$1" >/dev/null || {
		sk__err "start cluster $1: pgcluster.sh start failed"
		return 1
	}
}

# sk_cluster_port NAME: the cluster's TCP port.
sk_cluster_port() {
	sk__need_work || return 1
	cat "$SK_WORK/pg/$1/port"
}

# sk_standby NAME PRIMARY: a hot standby cluster NAME streaming from the
# started cluster PRIMARY (pgcluster.sh standby), once the primary's
# pg_stat_replication shows it streaming (waits up to 60s). Cleanup stops
# it like any cluster.
sk_standby() {
	sk__need_work || return 1
	local name=$1 primary=$2 i
	"$SK_PGCLUSTER" standby "$SK_WORK/pg" "$name" "$primary" >/dev/null || {
		sk__err "start standby $name of $primary: pgcluster.sh standby failed"
		return 1
	}
	for ((i = 0; i < 600; i++)); do
		if [[ "$(sk_psql "$primary" postgres "SELECT state FROM pg_catalog.pg_stat_replication
		    WHERE application_name = '$name'" 2>/dev/null)" == streaming ]]; then
			return 0
		fi
		sleep 0.1
	done
	sk__err "start standby $name of $primary: not streaming after 60s; see $SK_WORK/pg/$name/log"
	return 1
}

# sk_db CLUSTER DB: create a database (fine if it exists).
sk_db() {
	sk__need_work || return 1
	"$SK_PGCLUSTER" createdb "$SK_WORK/pg" "$1" "$2"
}

# sk_conninfo CLUSTER DB: the libpq conninfo of a database.
sk_conninfo() {
	sk__need_work || return 1
	"$SK_PGCLUSTER" conninfo "$SK_WORK/pg" "$1" "$2"
}

# sk_service_file DB CLUSTER...: write $SK_WORK/pg_service.conf, one libpq
# service per CLUSTER (named after it) for its database DB, and create DB
# in each; prints the file's path (for PGSERVICEFILE). A deployment of
# `skein init` reaches its databases this way (conninfo service=REGION).
sk_service_file() {
	sk__need_work || return 1
	local db=$1 c f="$SK_WORK/pg_service.conf"
	shift
	: >"$f" || return 1
	for c in "$@"; do
		sk_db "$c" "$db" || return 1
		printf '[%s]\nhost=127.0.0.1\nport=%s\nuser=postgres\ndbname=%s\n\n' \
			"$c" "$(sk_cluster_port "$c")" "$db" >>"$f" || return 1
	done
	echo "$f"
}

# sk_psql CLUSTER DB SQL: run SQL, print unaligned tuples-only output
# (columns separated by |). Fails on any SQL error.
sk_psql() {
	sk__need_work || return 1
	"$SK_PGCLUSTER" psql "$SK_WORK/pg" "$1" "$2" -At -c "$3" </dev/null
}

# sk_session NAME CLUSTER DB: an interactive psql session kept open in the
# background (application_name NAME), tracked like a daemon (sk_stop NAME
# or the cleanup ends it), fed SQL with sk_session_send. For tests that
# need a transaction held open while something else runs.
sk_session() {
	sk__need_work || return 1
	local name=$1 cluster=$2 db=$3 fifo="$SK_WORK/pids/$1.fifo"
	rm -f "$fifo"
	mkfifo "$fifo" || {
		sk__err "start session $name: mkfifo $fifo failed"
		return 1
	}
	# Opened read-write, the fifo never reports EOF to psql between
	# writers. Output (errors too) goes to logs/NAME.log.
	# shellcheck disable=SC2016 # expanded by the inner bash
	PGAPPNAME=$name sk__spawn "$name" bash -c 'exec 3<>"$0" && exec "$1" psql "$2" "$3" "$4" -At -v ON_ERROR_STOP=0 <&3' \
		"$fifo" "$SK_PGCLUSTER" "$SK_WORK/pg" "$cluster" "$db"
}

# sk_session_send NAME SQL: queue SQL (end it with ';') in the session.
sk_session_send() {
	sk__need_work || return 1
	printf '%s\n' "$2" >"$SK_WORK/pids/$1.fifo"
}

# sk_session_pid CLUSTER DB NAME: the backend pid of session NAME, once it
# has connected (waits up to 10s); empty if it never did.
sk_session_pid() {
	local i pid
	for ((i = 0; i < 100; i++)); do
		pid=$(sk_psql "$1" "$2" "select pid from pg_stat_activity where application_name = '$3' limit 1")
		if [[ -n "$pid" ]]; then
			echo "$pid"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------------------
# Keys, inventory, configs

# sk_keys: the release key (signs plans), the coordinator key, the
# operator key "admin" (signs every CLI command; pinned with role admin),
# exported as SKEIN_KEY for every skein command the test runs, and the
# operator key "reviewer" (pinned with role approver: sk_approve).
sk_keys() {
	sk__need_work || return 1
	local skein k
	skein=$(sk__bin skein) || return 1
	for k in release coordinator admin reviewer; do
		[[ -e "$SK_WORK/keys/$k.key" ]] && continue
		"$skein" keygen --out "$SK_WORK/keys/$k" >/dev/null || {
			sk__err "create the $k key: skein keygen failed"
			return 1
		}
	done
	export SKEIN_KEY=$SK_WORK/keys/admin.key
}

# sk_move_port REGION: the TCP port of REGION's agent's move listener
# (allocated once per world; SK_MOVES=1 worlds give every region one).
sk_move_port() {
	sk__need_work || return 1
	local f="$SK_WORK/move-port-$1"
	if [[ ! -s "$f" ]]; then
		sk_free_port >"$f" || return 1
	fi
	cat "$f"
}

# sk_region NAME RESIDENCY: the agent's key pair and regions/NAME.yaml
# (with SK_MOVES=1, its agent's move endpoint).
sk_region() {
	sk__need_work || return 1
	local name=$1 residency=$2 skein
	skein=$(sk__bin skein) || return 1
	if [[ ! -e "$SK_WORK/keys/agent-$name.key" ]]; then
		"$skein" keygen --out "$SK_WORK/keys/agent-$name" >/dev/null || {
			sk__err "create the key of agent $name: skein keygen failed"
			return 1
		}
	fi
	cat >"$SK_WORK/regions/$name.yaml" <<EOF
name: $(sk__yq "$name")
residency: $(sk__yq "$residency")
agent_key: $(sk__yq "../keys/agent-$name.pub")
EOF
	if [[ "${SK_MOVES:-0}" == 1 ]]; then
		echo "move_endpoint: tcp://127.0.0.1:$(sk_move_port "$name")" \
			>>"$SK_WORK/regions/$name.yaml"
	fi
}

# ---------------------------------------------------------------------------
# TLS

# True unless this world runs plain TCP (SK_PLAIN_TCP=1).
sk_tls_on() {
	[[ "${SK_PLAIN_TCP:-0}" != 1 ]]
}

# sk_tls_certs [REGION...]: the world's CA and the coordinator's
# certificate in $SK_WORK/tls, and a client certificate for each REGION's
# agent; what exists already is kept (deploy/tls/make-certs).
sk_tls_certs() {
	sk__need_work || return 1
	local r args=()
	for r in "$@"; do
		args+=(--agent "$r")
	done
	"$SKEIN_SRC/deploy/tls/make-certs" "$SK_WORK/tls" "${args[@]}" >/dev/null || {
		sk__err "make TLS certificates in $SK_WORK/tls: deploy/tls/make-certs failed"
		return 1
	}
}

# sk_tls_opts WHO: set the array SK_TLS_OPTS to the --tls-ca, --tls-cert
# and --tls-key options of WHO (a region's agent, or "coordinator") for a
# test tool (tests/tools/poke, rogue_coordinator); empty in a plain-TCP
# world. Usage: sk_tls_opts af; "$poke" ... "${SK_TLS_OPTS[@]}"
sk_tls_opts() {
	SK_TLS_OPTS=()
	sk_tls_on || return 0
	local name=coordinator
	if [[ "$1" == coordinator ]]; then
		sk_tls_certs || return 1
	else
		name="agent-$1"
		sk_tls_certs "$1" || return 1
	fi
	SK_TLS_OPTS=(--tls-ca "$SK_WORK/tls/ca.crt" --tls-cert "$SK_WORK/tls/$name.crt"
		--tls-key "$SK_WORK/tls/$name.key")
}

# The coordinator's two ports, chosen once per work dir, and its URLs.
sk__coord_ports() {
	local f="$SK_WORK/coordinator/ports" scheme=tcp
	if [[ ! -s "$f" ]]; then
		local l c
		l=$(sk_free_port) && c=$(sk_free_port) || return 1
		echo "$l $c" >"$f"
	fi
	read -r SK_LISTEN_PORT SK_CONTROL_PORT <"$f"
	if sk_tls_on; then
		scheme=tls+tcp
		SKEIN_TLS_CA="$SK_WORK/tls/ca.crt"
		export SKEIN_TLS_CA
	fi
	SK_LISTEN_URL="$scheme://127.0.0.1:$SK_LISTEN_PORT"
	SK_CONTROL_URL="$scheme://127.0.0.1:$SK_CONTROL_PORT"
	export SK_LISTEN_URL SK_CONTROL_URL
}

# sk_agent_config REGION [NAME=]CLUSTER:DB...: write agents/REGION.yaml
# managing those databases (named NAME, default DB). The agent's state
# lives in agents/REGION.state.
sk_agent_config() {
	sk__need_work || return 1
	local region=$1 spec name cluster db conninfo
	shift
	if [[ $# -eq 0 ]]; then
		sk__err "sk_agent_config $region: no databases given (CLUSTER:DB...)"
		return 1
	fi
	sk__coord_ports || return 1
	if sk_tls_on; then
		sk_tls_certs "$region" || return 1
	fi
	local f="$SK_WORK/agents/$region.yaml"
	{
		echo "region: $(sk__yq "$region")"
		echo "coordinator: $(sk__yq "$SK_LISTEN_URL")"
		echo "key: $(sk__yq "../keys/agent-$region.key")"
		echo "coordinator_key: ../keys/coordinator.pub"
		echo "release_keys: [../keys/release.pub]"
		echo "state: $(sk__yq "$region.state")"
		echo "poll_ms: ${SK_AGENT_POLL_MS:-200}"
		echo "parallel: ${SK_AGENT_PARALLEL:-4}"
		if sk_tls_on; then
			echo "tls:"
			echo "  ca: ../tls/ca.crt"
			echo "  cert: $(sk__yq "../tls/agent-$region.crt")"
			echo "  key: $(sk__yq "../tls/agent-$region.key")"
		fi
		echo "databases:"
	} >"$f"
	for spec in "$@"; do
		name=""
		if [[ "$spec" == *=* ]]; then
			name=${spec%%=*}
			spec=${spec#*=}
		fi
		if [[ "$spec" != *:* ]]; then
			sk__err "sk_agent_config $region: '$spec' is not CLUSTER:DB"
			return 1
		fi
		cluster=${spec%%:*}
		db=${spec#*:}
		conninfo=$(sk_conninfo "$cluster" "$db") || {
			sk__err "sk_agent_config $region: no conninfo for $cluster:$db (is the cluster started?)"
			return 1
		}
		{
			echo "  - name: $(sk__yq "${name:-$db}")"
			echo "    conninfo: $(sk__yq "$conninfo")"
		} >>"$f"
	done
	if [[ "${SK_MOVES:-0}" == 1 ]]; then
		printf 'move:\n  listen: tcp://127.0.0.1:%s\n' "$(sk_move_port "$region")" >>"$f"
		if [[ -n "${SK_MOVE_DRAIN:-}" ]]; then
			printf '  drain: %s\n' "$SK_MOVE_DRAIN" >>"$f"
		fi
	fi
	if [[ -n "${SK_AGENT_EXTRA:-}" ]]; then
		printf '%s\n' "$SK_AGENT_EXTRA" >>"$f"
	fi
	chmod 600 "$f"
}

# sk_coordinator_config: write coordinator/coordinator.yaml.
sk_coordinator_config() {
	sk__need_work || return 1
	sk__coord_ports || return 1
	if sk_tls_on; then
		sk_tls_certs || return 1
	fi
	{
		echo "listen: $(sk__yq "$SK_LISTEN_URL")"
		echo "control: $(sk__yq "$SK_CONTROL_URL")"
		echo "regions: ../regions"
		echo "key: ../keys/coordinator.key"
		echo "release_keys: [../keys/release.pub]"
		echo "state: state"
		if sk_tls_on; then
			echo "tls:"
			echo "  ca: ../tls/ca.crt"
			echo "  cert: ../tls/coordinator.crt"
			echo "  key: ../tls/coordinator.key"
		fi
		echo "operators:"
		echo "  - {name: admin, key: ../keys/admin.pub, role: admin}"
		echo "  - {name: reviewer, key: ../keys/reviewer.pub, role: approver}"
		if [[ -n "${SK_COORDINATOR_EXTRA:-}" ]]; then
			printf '%s\n' "$SK_COORDINATOR_EXTRA"
		fi
	} >"$SK_WORK/coordinator/coordinator.yaml"
}

# ---------------------------------------------------------------------------
# Daemons

sk__listening() {
	[[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
}

# sk_start_coordinator: start skein-coordinator and wait until both its
# ports listen. Fails (with the log's tail) if it dies or never listens.
sk_start_coordinator() {
	sk__need_work || return 1
	local bin deadline pid
	bin=$(sk__bin skein-coordinator) || return 1
	[[ -s "$SK_WORK/coordinator/coordinator.yaml" ]] || sk_coordinator_config || return 1
	sk__coord_ports || return 1
	sk__spawn coordinator "$bin" --config "$SK_WORK/coordinator/coordinator.yaml" || return 1
	pid=$(cat "$SK_WORK/pids/coordinator.pid")
	deadline=$((SECONDS + ${SK_READY_TIMEOUT:-30}))
	while ((SECONDS < deadline)); do
		if ! sk__alive "$pid"; then
			wait "$pid" 2>/dev/null || true
			mv -f "$SK_WORK/pids/coordinator.pid" "$SK_WORK/pids/coordinator.stopped"
			sk__err "start coordinator: it exited; last lines of $SK_WORK/logs/coordinator.log:"
			tail -n 20 "$SK_WORK/logs/coordinator.log" >&2
			return 1
		fi
		if sk__listening "$SK_LISTEN_PORT" && sk__listening "$SK_CONTROL_PORT"; then
			return 0
		fi
		sleep 0.05
	done
	sk_stop coordinator >/dev/null 2>&1 || true
	sk__err "start coordinator: not listening on ports $SK_LISTEN_PORT and $SK_CONTROL_PORT after ${SK_READY_TIMEOUT:-30}s; see $SK_WORK/logs/coordinator.log"
	return 1
}

# sk_start_agent REGION...: start skein-agent with agents/REGION.yaml for
# each REGION, tracked as agent-REGION (sk_stop REGION works too). Fails
# if one exits within its first half second (a bad config, an unreadable
# key), unless SK_MAY_EXIT=1. Several regions share that half second.
sk_start_agent() {
	sk__need_work || return 1
	local region bin pids=() i j
	bin=$(sk__bin skein-agent) || return 1
	for region in "$@"; do
		if [[ ! -s "$SK_WORK/agents/$region.yaml" ]]; then
			sk__err "start agent $region: no agents/$region.yaml; call sk_agent_config first"
			return 1
		fi
		sk__spawn "agent-$region" "$bin" --config "$SK_WORK/agents/$region.yaml" || return 1
		pids+=("$(cat "$SK_WORK/pids/agent-$region.pid")")
	done
	# SK_MAY_EXIT=1: the test expects the agent to die soon (a failpoint)
	# and watches for it itself.
	[[ -z "${SK_MAY_EXIT:-}" ]] || return 0
	for ((i = 0; i < 10; i++)); do
		sleep 0.05
		for ((j = 0; j < ${#pids[@]}; j++)); do
			sk__alive "${pids[$j]}" && continue
			region=${*:j+1:1}
			wait "${pids[$j]}" 2>/dev/null || true
			mv -f "$SK_WORK/pids/agent-$region.pid" "$SK_WORK/pids/agent-$region.stopped"
			sk__err "start agent $region: it exited; last lines of $SK_WORK/logs/agent-$region.log:"
			tail -n 20 "$SK_WORK/logs/agent-$region.log" >&2
			return 1
		done
	done
}

# ---------------------------------------------------------------------------
# CLI

# sk_skein ARGS...: run the skein CLI against this deployment's coordinator
# as operator admin (SKEIN_COORDINATOR, SKEIN_KEY and, over TLS,
# SKEIN_TLS_CA are set, and `rollout` commands get --coordinator). Stdout
# and the exit status are the CLI's.
sk_skein() {
	sk__need_work || return 1
	local skein
	skein=$(sk__bin skein) || return 1
	sk__coord_ports || return 1
	if [[ "${1:-}" == rollout ]]; then
		SKEIN_KEY=${SKEIN_KEY:-$SK_WORK/keys/admin.key} SKEIN_COORDINATOR=$SK_CONTROL_URL \
			sk__run_fg "$skein" "$@" --coordinator "$SK_CONTROL_URL"
	else
		SKEIN_KEY=${SKEIN_KEY:-$SK_WORK/keys/admin.key} SKEIN_COORDINATOR=$SK_CONTROL_URL \
			sk__run_fg "$skein" "$@"
	fi
}

# sk_approve ID PHASE: operator "reviewer" (role approver) approves phase
# PHASE of rollout ID (skein rollout approve); prints what the CLI said.
sk_approve() {
	SKEIN_KEY=$SK_WORK/keys/reviewer.key sk_skein rollout approve "$1" --phase "$2"
}

# sk_skein_tee FILE ARGS...: sk_skein, also copying stdout and stderr to
# FILE (for output that should be shown live and inspected afterwards).
sk_skein_tee() {
	local file=$1
	shift
	SK__TEE=$file sk_skein "$@"
}

# sk_sign_plan PLAN_DIR [NAME]: build the plan against this inventory and
# sign it with the release key; prints the signed file's path.
sk_sign_plan() {
	sk__need_work || return 1
	local dir=$1 name=${2:-} skein out
	skein=$(sk__bin skein) || return 1
	[[ -f "$dir/plan.yaml" ]] || {
		sk__err "sign plan: $dir/plan.yaml does not exist"
		return 1
	}
	[[ -n "$name" ]] || name=$(basename "$(cd "$dir" && pwd)")
	out="$SK_WORK/plans/$name"
	"$skein" plan build "$dir" -o "$out.plan" --regions "$SK_WORK/regions" >&2 || {
		sk__err "sign plan: skein plan build $dir failed"
		return 1
	}
	"$skein" plan sign "$out.plan" --key "$SK_WORK/keys/release.key" -o "$out.signed" >&2 || {
		sk__err "sign plan: skein plan sign $out.plan failed"
		return 1
	}
	echo "$out.signed"
}

# ---------------------------------------------------------------------------
# Assertions for tests

# sk_fail MESSAGE: report a failure with the tails of all daemon logs and
# exit 1 (the trap cleans up). Called in a $(...) subshell it only leaves
# that subshell, so call it from the test's own shell.
sk_fail() {
	local f
	echo "FAIL: $*" >&2
	if [[ -n "$SK_WORK" && -d "$SK_WORK/logs" ]]; then
		for f in "$SK_WORK"/logs/*.log; do
			[[ -e "$f" ]] || continue
			echo "--- last 30 lines of $(basename "$f")" >&2
			tail -n 30 "$f" >&2
		done
		for f in "$SK_WORK"/pg/*/log; do
			[[ -e "$f" ]] || continue
			echo "--- last 10 lines of PostgreSQL log $(basename "$(dirname "$f")")" >&2
			tail -n 10 "$f" >&2
		done
	fi
	exit 1
}

# sk_assert_eq EXPECTED ACTUAL MESSAGE
sk_assert_eq() {
	if [[ "$1" != "$2" ]]; then
		sk_fail "$3: expected '$1', got '$2'"
	fi
}

# sk_assert_contains HAYSTACK NEEDLE MESSAGE
sk_assert_contains() {
	if [[ "$1" != *"$2"* ]]; then
		sk_fail "$3: '$2' not found in: $1"
	fi
}

# sk_wait_until TIMEOUT_S CMD...: run CMD (output discarded) every 0.1s
# until it succeeds; returns 1 if it never did within TIMEOUT_S seconds.
sk_wait_until() {
	local timeout=$1
	shift
	local deadline=$((SECONDS + timeout))
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		((SECONDS < deadline)) || break
		sleep 0.1
	done
	sk__err "wait: '$*' did not succeed within ${timeout}s"
	return 1
}

# Run rather than sourced: it is a library; say how to use it.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
	case "${1:-}" in
	-h | --help) exit 0 ;;
	*) exit 2 ;;
	esac
fi

#!/usr/bin/env bash
# pgcluster.sh: throwaway PostgreSQL clusters for skein's tests and demo.
#
# Each cluster lives in DIR/NAME: data/ (the cluster), port (its TCP port),
# log (the server log) and the unix socket. Clusters trust every local
# connection and run without fsync: they hold nothing worth keeping.
# PostgreSQL refuses to run as root, so as root the server runs as the
# `postgres` user (override with PGCLUSTER_USER); otherwise as the caller.
#
#   pgcluster.sh start    DIR NAME        initdb if needed (a copy of a
#                                         template made by initdb once), start;
#                                         prints port
#   pgcluster.sh stop     DIR NAME        immediate stop; fine if not running
#   pgcluster.sh stopall  DIR             stop every cluster under DIR
#   pgcluster.sh restart  DIR NAME        stop and start on the same port
#   pgcluster.sh standby  DIR NAME PRIMARY  a streaming standby of PRIMARY
#                                         (pg_basebackup -R), started; prints port
#   pgcluster.sh createdb DIR NAME DB     create DB unless it exists
#   pgcluster.sh psql     DIR NAME DB [psql args...]
#   pgcluster.sh conninfo DIR NAME DB     prints a libpq key=value conninfo
set -euo pipefail

prog=${0##*/}

die() {
	echo "$prog: $*" >&2
	exit 1
}

usage() {
	cat >&2 <<EOF
usage: $prog start|stop|restart DIR NAME
       $prog standby DIR NAME PRIMARY
       $prog stopall DIR
       $prog createdb|conninfo DIR NAME DB
       $prog psql DIR NAME DB [psql args...]
EOF
	exit 2
}

# The newest installed server wins unless PGBIN says otherwise.
# find_pgbin: set pgbin (no subshell: psql runs often in tests).
find_pgbin() {
	if [[ -n "${PGBIN:-}" ]]; then
		[[ -x "$PGBIN/pg_ctl" ]] || die "find PostgreSQL: no pg_ctl in PGBIN=$PGBIN"
		pgbin=$PGBIN
		return
	fi
	local d best=""
	for d in /usr/lib/postgresql/*/bin; do
		[[ -x "$d/pg_ctl" ]] && best=$d
	done
	if [[ -z "$best" ]] && command -v pg_config >/dev/null 2>&1; then
		d=$(pg_config --bindir)
		[[ -x "$d/pg_ctl" ]] && best=$d
	fi
	[[ -n "$best" ]] || die "find PostgreSQL: no pg_ctl under /usr/lib/postgresql/*/bin; set PGBIN"
	pgbin=$best
}

if [[ $EUID -eq 0 ]]; then
	run_user=${PGCLUSTER_USER:-postgres}
	# Not for psql and conninfo, which run as the caller (and often).
	[[ "${1:-}" == psql || "${1:-}" == conninfo ]] || id "$run_user" >/dev/null 2>&1 ||
		die "find user $run_user: no such user (PostgreSQL will not run as root)"
else
	run_user=$(id -un)
fi

# Run a server-side command as the cluster's owner.
as_owner() {
	# From /, so that an unreadable working directory (root's home) does
	# not upset initdb or pg_ctl.
	if [[ $EUID -eq 0 ]]; then
		(cd / && runuser -u "$run_user" -- "$@")
	else
		(cd / && "$@")
	fi
}

# Absolute form of a path that may not exist yet.
abspath() {
	case "$1" in
	/*) echo "$1" ;;
	*) echo "$PWD/$1" ;;
	esac
}

# mkdir -p that makes every directory it creates world-traversable, so the
# server's user can reach a cluster below a root-owned tree.
make_dir() {
	local path=$1 cur="" part
	local IFS=/
	for part in $path; do
		[[ -z "$part" ]] && continue
		cur="$cur/$part"
		if [[ ! -d "$cur" ]]; then
			mkdir "$cur" 2>/dev/null || [[ -d "$cur" ]] || die "create directory $cur: mkdir failed"
			chmod 755 "$cur" || die "create directory $cur: chmod failed"
		fi
	done
}

port_in_use() {
	local p=$1
	if command -v ss >/dev/null 2>&1; then
		[[ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]] && return 0
	fi
	# A connect that succeeds means a listener, whatever ss said.
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		return 0
	fi
	return 1
}

# Below the Linux ephemeral range, so client sockets never hold our port.
pick_port() {
	local p
	for _ in $(seq 1 50); do
		p=$(shuf -i 15000-32000 -n 1)
		if ! port_in_use "$p"; then
			echo "$p"
			return
		fi
	done
	die "pick port: no free port found after 50 tries"
}

is_running() {
	local data=$1
	[[ -f "$data/PG_VERSION" ]] || return 1
	as_owner "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

read_port() {
	local f=$1/port
	[[ -s "$f" ]] || die "read port of $1: $f is missing; is the cluster started?"
	cat "$f"
}

write_conf() {
	local cdir=$1 port=$2
	# Written as the owner so the server can read it; regenerated on every
	# start so that a new port takes effect.
	as_owner tee "$cdir/data/skein_test.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$cdir'
max_connections = 200
shared_buffers = 16MB
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 256MB
log_min_messages = warning
log_line_prefix = '%m [%p] %d '
EOF
}

# initdb_into DATA LOG: a fresh cluster in DATA that includes
# skein_test.conf (write_conf writes it before each start).
initdb_into() {
	as_owner "$pgbin/initdb" -D "$1" -U postgres --auth=trust -E UTF8 \
		--locale=C --no-sync --no-instructions >"$2" 2>&1 || return 1
	echo "include 'skein_test.conf'" | as_owner tee -a "$1/postgresql.conf" >/dev/null
}

# new_data CDIR: CDIR/data as a copy of a template cluster, made by initdb
# once per PostgreSQL build and user under PGCLUSTER_TEMPLATES (default
# /tmp/skein-pgtemplates) and never started: the tests start about a
# hundred clusters, and a copy takes 0.15 s where initdb takes 0.9 s.
# Falls back to initdb in place if the template cannot be made or copied.
new_data() {
	local cdir=$1 root tdir
	root=${PGCLUSTER_TEMPLATES:-/tmp/skein-pgtemplates}
	tdir="$root/$(stat -c %Y-%s "$pgbin/initdb")-${pgbin//\//_}-$run_user"
	if [[ ! -f "$tdir/data/PG_VERSION" ]]; then
		make_dir "$root"
		(
			exec 8>>"$root/.lock"
			flock -w 120 8 || exit 1
			[[ -f "$tdir/data/PG_VERSION" ]] && exit 0
			rm -rf "$tdir"
			mkdir -p "$tdir" && chmod 755 "$tdir" && chown "$run_user" "$tdir" 2>/dev/null
			initdb_into "$tdir/data.tmp" "$tdir/initdb.log" && mv "$tdir/data.tmp" "$tdir/data"
		) 8>&- 9>&- || true
	fi
	if [[ -f "$tdir/data/PG_VERSION" ]] && cp -a "$tdir/data" "$cdir/data" 2>/dev/null; then
		return 0
	fi
	rm -rf "$cdir/data"
	initdb_into "$cdir/data" "$cdir/initdb.log" || die "initdb $cdir/data: failed; see $cdir/initdb.log"
}

cmd_start() {
	local dir name cdir data port tries
	dir=$(abspath "$1")
	name=$2
	cdir="$dir/$name"
	data="$cdir/data"
	make_dir "$dir"
	if [[ ! -d "$cdir" ]]; then
		mkdir "$cdir" 2>/dev/null || [[ -d "$cdir" ]] || die "create directory $cdir: mkdir failed"
		chmod 700 "$cdir"
	fi
	chown "$run_user" "$cdir" 2>/dev/null || true
	[[ "$(stat -c %U "$cdir")" == "$run_user" ]] || die "start cluster $cdir: directory is not owned by $run_user"
	as_owner test -w "$cdir" || die "start cluster $cdir: $run_user cannot write there (is a parent directory not traversable?)"

	# Serialise concurrent starts of one cluster. The lock fd is closed
	# for the server (9>&- below) so that the postmaster never holds it.
	exec 9>>"$cdir/.lock"
	flock -w 120 9 || die "start cluster $cdir: another pgcluster.sh holds $cdir/.lock"

	if is_running "$data"; then
		read_port "$cdir"
		return
	fi

	if [[ ! -f "$data/PG_VERSION" ]]; then
		rm -rf "$data"
		new_data "$cdir"
	fi

	# Keep the port of an earlier start when we can, so that conninfo
	# strings handed out before a restart stay valid.
	if [[ -s "$cdir/port" ]]; then
		port=$(cat "$cdir/port")
		tries=1
	else
		port=$(pick_port)
		tries=5
	fi
	while :; do
		write_conf "$cdir" "$port"
		if as_owner "$pgbin/pg_ctl" -D "$data" -l "$cdir/log" -w -t 60 start >/dev/null 2>&1 9>&-; then
			break
		fi
		tries=$((tries - 1))
		# Another process may have bound the port between the check and
		# the start; a fresh port usually fixes that.
		if [[ $tries -le 0 ]] || ! tail -n 20 "$cdir/log" 2>/dev/null | grep -q 'could not bind\|in use'; then
			tail -n 5 "$cdir/log" >&2 2>/dev/null || true
			die "start cluster $cdir on port $port: pg_ctl start failed; see $cdir/log"
		fi
		port=$(pick_port)
	done
	echo "$port" >"$cdir/port.tmp"
	mv "$cdir/port.tmp" "$cdir/port"
	echo "$port"
}

cmd_stop() {
	local dir name cdir data
	dir=$(abspath "$1")
	name=$2
	cdir="$dir/$name"
	data="$cdir/data"
	[[ -d "$cdir" ]] || return 0
	# Wait briefly for a concurrent start, but never let a stale lock
	# holder keep a cluster running: stopping is what cleanup relies on.
	exec 9>>"$cdir/.lock"
	flock -w 10 9 || echo "$prog: stop cluster $cdir: lock busy, stopping anyway" >&2
	if is_running "$data"; then
		as_owner "$pgbin/pg_ctl" -D "$data" -m immediate -w -t 60 stop >/dev/null 2>&1 ||
			die "stop cluster $cdir: pg_ctl stop failed"
	fi
}

cmd_stopall() {
	local dir d rc=0
	dir=$(abspath "$1")
	[[ -d "$dir" ]] || return 0
	for d in "$dir"/*/; do
		d=${d%/}
		[[ -f "$d/data/PG_VERSION" ]] || continue
		( cmd_stop "$dir" "$(basename "$d")" ) || rc=1
	done
	return $rc
}

cmd_restart() {
	local cdir
	cdir="$(abspath "$1")/$2"
	[[ -s "$cdir/port" ]] || die "restart cluster $cdir: never started"
	( cmd_stop "$1" "$2" )
	cmd_start "$1" "$2"
}

# A hot standby of PRIMARY in DIR/NAME: a base backup over the primary's
# replication connection (initdb's pg_hba.conf trusts local replication,
# and wal_level replica and max_wal_senders are PostgreSQL's defaults),
# with -R writing standby.signal and primary_conninfo (application_name
# NAME, so the primary's pg_stat_replication names it). The copied
# postgresql.conf includes skein_test.conf, which cmd_start rewrites with
# the standby's own port and socket. Fails if DIR/NAME already holds a
# cluster.
cmd_standby() {
	local dir name primary cdir pport
	dir=$(abspath "$1")
	name=$2
	primary=$3
	cdir="$dir/$name"
	[[ ! -f "$cdir/data/PG_VERSION" ]] || die "make standby $cdir: it already holds a cluster"
	pport=$(read_port "$dir/$primary")
	make_dir "$dir"
	if [[ ! -d "$cdir" ]]; then
		mkdir "$cdir" 2>/dev/null || [[ -d "$cdir" ]] || die "create directory $cdir: mkdir failed"
		chmod 700 "$cdir"
	fi
	chown "$run_user" "$cdir" 2>/dev/null || true
	rm -rf "$cdir/data"
	as_owner "$pgbin/pg_basebackup" -d "host=127.0.0.1 port=$pport user=postgres application_name=$name" \
		-D "$cdir/data" -R -X stream -c fast -N >"$cdir/basebackup.log" 2>&1 ||
		die "make standby $cdir of $primary: pg_basebackup failed; see $cdir/basebackup.log"
	cmd_start "$dir" "$name"
}

run_psql() {
	local cdir=$1 db=$2 port
	shift 2
	[[ -s "$cdir/port" ]] || die "read port of $cdir: $cdir/port is missing; is the cluster started?"
	read -r port <"$cdir/port"
	"$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"
}

cmd_psql() {
	local cdir=$1/$2
	[[ "$cdir" == /* ]] || cdir=$PWD/$cdir
	local db=$3
	shift 3
	run_psql "$cdir" "$db" "$@"
}

cmd_createdb() {
	local cdir db
	cdir="$(abspath "$1")/$2"
	db=$3
	# One psql: the CREATE only when the database is missing (\gexec runs
	# what the query returns). Through stdin: psql interpolates :'db'
	# there, not in -c.
	run_psql "$cdir" postgres -v "db=$db" >/dev/null <<'SQL' ||
SELECT pg_catalog.format('CREATE DATABASE %I', :'db')
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = :'db') \gexec
SQL
		die "create database $db in $cdir: CREATE DATABASE failed"
}

cmd_conninfo() {
	local cdir port
	cdir="$(abspath "$1")/$2"
	port=$(read_port "$cdir")
	echo "host=127.0.0.1 port=$port user=postgres dbname=$3"
}

valid_name() {
	[[ "$1" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || die "bad cluster name '$1': use [A-Za-z0-9_.-]"
}

[[ $# -ge 2 ]] || usage
op=$1
shift
find_pgbin

case "$op" in
start | stop | restart)
	[[ $# -eq 2 ]] || usage
	valid_name "$2"
	"cmd_$op" "$1" "$2"
	;;
standby)
	[[ $# -eq 3 ]] || usage
	valid_name "$2"
	valid_name "$3"
	cmd_standby "$1" "$2" "$3"
	;;
stopall)
	[[ $# -eq 1 ]] || usage
	cmd_stopall "$1"
	;;
createdb | conninfo)
	[[ $# -eq 3 ]] || usage
	valid_name "$2"
	"cmd_$op" "$1" "$2" "$3"
	;;
psql)
	[[ $# -ge 3 ]] || usage
	valid_name "$2"
	cmd_psql "$@"
	;;
-h | --help | help)
	usage
	;;
*)
	usage
	;;
esac

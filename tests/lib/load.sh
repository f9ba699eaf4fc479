#!/usr/bin/env bash
# load.sh: a live write load on a region's database while a rollout runs
# (pgbench at a fixed rate, with a script of the test's own), on top of
# harness.sh and deployment.sh. Source it after them.
#
#   sk_load_start NAME REGION SCRIPT [RATE [CLIENTS [PGBENCH_ARG...]]]
#   ...                                  # the rollout
#   sk_load_stop NAME
#
# The load is a tracked process (logs/NAME.log): one that dies on its own
# fails the CLI command running then, and the cleanup stops it whatever
# happens. pgbench ships with the server package.

# sk_pgbench: the pgbench of the newest PostgreSQL installed (or $PGBIN's).
sk_pgbench() {
	local bin=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}
	[[ -x "$bin/pgbench" ]] || {
		sk__err "pgbench: none under $bin; install the server package or set PGBIN"
		return 1
	}
	echo "$bin/pgbench"
}

# sk_load_start NAME REGION SCRIPT [RATE [CLIENTS [PGBENCH_ARG...]]]: run
# pgbench's SCRIPT (a file) against REGION's app database, RATE scripts a
# second in all (default 100) over CLIENTS connections (default 2), with
# the further arguments (-D var=value), until sk_load_stop. Each
# statement of SCRIPT is a transaction of its own.
sk_load_start() {
	local name=$1 r=$2 port
	shift 2
	port=$(sk_cluster_port "$(sk_region_cluster "$r")") || return 1
	sk_load_start_db "$name" "$port" "${r}_app" "$@"
}

# sk_load_start_db NAME PORT DB SCRIPT [RATE [CLIENTS [PGBENCH_ARG...]]]:
# the same against database DB of the cluster on 127.0.0.1:PORT.
sk_load_start_db() {
	local name=$1 port=$2 db=$3 script=$4 rate=${5:-100} clients=${6:-2} pgbench
	shift $(($# < 6 ? $# : 6))
	pgbench=$(sk_pgbench) || return 1
	sk__spawn "$name" "$pgbench" -n -h 127.0.0.1 -p "$port" -U postgres \
		-f "$script" -c "$clients" -j "$clients" -R "$rate" -T 86400 "$@" "$db"
}

# sk_load_stop NAME: stop the load (fine if it has stopped already).
sk_load_stop() {
	sk_running "$1" || return 0
	SK_STOP_TIMEOUT=5 sk_stop "$1" || true
}

#!/usr/bin/env bash
# pgbouncer.sh: a real PgBouncer in front of a harness cluster, for tests
# that prove skein works through transaction pooling. Source it after
# harness.sh.
#
#   sk_pgbouncer_start NAME CLUSTER ALIAS=DB[,key=value...]...
#   sk_pgbouncer_conninfo NAME ALIAS     libpq conninfo through the pooler
#   sk_pgbouncer_psql NAME ALIAS SQL     like sk_psql, through the pooler
#   sk_pgbouncer_admin NAME COMMAND      the admin console (SHOW SERVERS...)
#   sk_pgbouncer_sessions NAME ALIAS N EXPR   EXPR on N server connections at once
#   sk_pgbouncer_server_pids NAME ALIAS  backend pids pooled for ALIAS
#   sk_pgbouncer_agent_config REGION DBNAME NAME ALIAS CLUSTER DB
#   sk_pgbouncer_stop NAME
#
# The pooler listens on a free port of 127.0.0.1 with pool_mode =
# transaction, auth_type = trust (user postgres in its userlist), no
# server_reset_query in transaction mode (PgBouncer's default: nothing
# cleans a server connection between clients, which is what makes a
# session-level SET leak) and server_round_robin = 1, so that consecutive
# transactions of one client take turns on the pool's idle server
# connections instead of reusing the last one. Per-alias options follow
# the database (`leak=leak_demo,pool_size=1`). It runs as the cluster's
# user (postgres under root), tracked by the harness as pgbouncer-NAME:
# the cleanup trap stops it, and a CLI command fails if it dies.
#
# Environment: SK_PGBOUNCER_POOL_SIZE (default_pool_size, default 2),
# SK_PGBOUNCER_EXTRA (more lines for the [pgbouncer] section),
# SK_PGBOUNCER_BIN (default: pgbouncer in PATH, else /usr/sbin/pgbouncer).

sk__pgbouncer_bin() {
	local p=${SK_PGBOUNCER_BIN:-}
	if [[ -z "$p" ]]; then
		# Debian installs it in /usr/sbin, which a user's PATH may lack.
		p=$(command -v pgbouncer 2>/dev/null) || p=/usr/sbin/pgbouncer
	fi
	if [[ ! -x "$p" ]]; then
		sk__err "find pgbouncer: $p is missing (Debian package pgbouncer; tests/lib/install-deps.sh installs it)"
		return 1
	fi
	echo "$p"
}

sk__pgbouncer_dir() {
	echo "$SK_WORK/pgbouncer/$1"
}

# sk_pgbouncer_port NAME: the port the pooler listens on.
sk_pgbouncer_port() {
	sk__need_work || return 1
	cat "$(sk__pgbouncer_dir "$1")/port"
}

# sk_pgbouncer_start NAME CLUSTER ALIAS=DB[,key=value...]...: write
# pgbouncer/NAME/pgbouncer.ini with one [databases] entry per alias (DB
# in CLUSTER), start PgBouncer and wait until its admin console answers.
sk_pgbouncer_start() {
	sk__need_work || return 1
	local name=$1 cluster=$2 spec alias db opts bin dir port pgport i
	shift 2
	if [[ $# -eq 0 ]]; then
		sk__err "sk_pgbouncer_start $name: no databases given (ALIAS=DB...)"
		return 1
	fi
	bin=$(sk__pgbouncer_bin) || return 1
	pgport=$(sk_cluster_port "$cluster") || {
		sk__err "sk_pgbouncer_start $name: cluster $cluster is not started"
		return 1
	}
	dir=$(sk__pgbouncer_dir "$name")
	mkdir -p "$dir"
	chmod 755 "$SK_WORK/pgbouncer" "$dir"
	port=$(sk_free_port) || return 1
	echo "$port" >"$dir/port"
	{
		echo "[databases]"
		for spec in "$@"; do
			if [[ "$spec" != *=* ]]; then
				sk__err "sk_pgbouncer_start $name: '$spec' is not ALIAS=DB"
				return 1
			fi
			alias=${spec%%=*}
			db=${spec#*=}
			opts=""
			if [[ "$db" == *,* ]]; then
				opts=" ${db#*,}"
				opts=${opts//,/ }
				db=${db%%,*}
			fi
			echo "$alias = host=127.0.0.1 port=$pgport dbname=$db user=postgres$opts"
		done
		cat <<EOF

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = ${SK_PGBOUNCER_POOL_SIZE:-2}
max_client_conn = 100
server_round_robin = 1
log_connections = 0
log_disconnections = 0
EOF
		if [[ -n "${SK_PGBOUNCER_EXTRA:-}" ]]; then
			printf '%s\n' "$SK_PGBOUNCER_EXTRA"
		fi
	} >"$dir/pgbouncer.ini"
	echo '"postgres" ""' >"$dir/userlist.txt"
	chmod 644 "$dir/pgbouncer.ini" "$dir/userlist.txt"
	# PgBouncer will not run as root; like PostgreSQL it runs as postgres.
	# runuser passes the harness's SIGTERM on to it.
	if [[ $(id -u) -eq 0 ]]; then
		sk__spawn "pgbouncer-$name" runuser -u postgres -- "$bin" "$dir/pgbouncer.ini" || return 1
	else
		sk__spawn "pgbouncer-$name" "$bin" "$dir/pgbouncer.ini" || return 1
	fi
	for ((i = 0; i < 100; i++)); do
		if ! sk_running "pgbouncer-$name"; then
			sk__err "start pgbouncer $name: it exited; last lines of $SK_WORK/logs/pgbouncer-$name.log:"
			tail -n 20 "$SK_WORK/logs/pgbouncer-$name.log" >&2
			return 1
		fi
		if sk_pgbouncer_admin "$name" "SHOW VERSION" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	sk__err "start pgbouncer $name: no answer on port $port after 10s; see $SK_WORK/logs/pgbouncer-$name.log"
	return 1
}

# sk_pgbouncer_conninfo NAME ALIAS: libpq conninfo of ALIAS through NAME.
sk_pgbouncer_conninfo() {
	sk__need_work || return 1
	local port
	port=$(sk_pgbouncer_port "$1") || return 1
	echo "host=127.0.0.1 port=$port user=postgres dbname=$2"
}

# sk_pgbouncer_psql NAME ALIAS SQL [psql args...]: run SQL through the
# pooler; unaligned tuples-only output, fails on any SQL error.
sk_pgbouncer_psql() {
	sk__need_work || return 1
	local name=$1 alias=$2 sql=$3 port
	shift 3
	port=$(sk_pgbouncer_port "$name") || return 1
	psql -X -q -v ON_ERROR_STOP=1 -At -h 127.0.0.1 -p "$port" -U postgres -d "$alias" \
		-c "$sql" "$@" </dev/null
}

# sk_pgbouncer_admin NAME COMMAND: a command on the admin console
# (SHOW SERVERS, SHOW POOLS...), unaligned output with a header row.
sk_pgbouncer_admin() {
	sk__need_work || return 1
	local port
	port=$(sk_pgbouncer_port "$1") || return 1
	psql -X -q -A -P footer=off -h 127.0.0.1 -p "$port" -U postgres -d pgbouncer -c "$2" </dev/null
}

# sk_pgbouncer_agent_config REGION DBNAME NAME ALIAS CLUSTER DB: write
# agents/REGION.yaml (sk_agent_config) for one database DBNAME reached
# through pooler NAME as ALIAS, with `pooler: transaction` and
# `backup_conninfo` pointing straight at DB in CLUSTER (pg_dump needs a
# session of its own, which a transaction pooler cannot give it).
sk_pgbouncer_agent_config() {
	sk__need_work || return 1
	local region=$1 dbname=$2 name=$3 alias=$4 cluster=$5 db=$6 f pooled direct
	sk_agent_config "$region" "$dbname=$cluster:$db" || return 1
	pooled=$(sk_pgbouncer_conninfo "$name" "$alias") || return 1
	direct=$(sk_conninfo "$cluster" "$db") || return 1
	f="$SK_WORK/agents/$region.yaml"
	if ! awk -v c="$(sk__yq "$pooled")" -v b="$(sk__yq "$direct")" '
		/^    conninfo: / && !done {
			print "    conninfo: " c
			print "    backup_conninfo: " b
			print "    pooler: transaction"
			done = 1
			next
		}
		{ print }' "$f" >"$f.tmp" || ! mv -f "$f.tmp" "$f"; then
		sk__err "sk_pgbouncer_agent_config $region: cannot rewrite $f"
		return 1
	fi
	chmod 600 "$f"
}

# sk_pgbouncer_stop NAME: stop it (SIGTERM, then SIGKILL).
sk_pgbouncer_stop() {
	sk_stop "pgbouncer-$1"
}

# sk_pgbouncer_sessions NAME ALIAS N EXPR: look at N server connections of
# ALIAS's pool at once. N clients each run `SELECT pg_backend_pid() ||
# '|' || (EXPR)` with a 3 s sleep, concurrently, so each holds its own
# server connection (a transaction owns one until it ends); prints one
# "PID|VALUE" line per client. Fails if a client fails or fewer than N
# distinct server connections answered (a pool smaller than N).
sk_pgbouncer_sessions() {
	sk__need_work || return 1
	local name=$1 alias=$2 n=$3 expr=$4 port i rc=0 out distinct
	local -a jobs=()
	port=$(sk_pgbouncer_port "$name") || return 1
	out="$(sk__pgbouncer_dir "$name")/sessions"
	rm -f "$out".*
	for ((i = 0; i < n; i++)); do
		psql -X -q -v ON_ERROR_STOP=1 -At -h 127.0.0.1 -p "$port" -U postgres -d "$alias" \
			-c "SELECT pg_backend_pid() || '|' || ($expr) FROM pg_sleep(3)" \
			</dev/null >"$out.$i" 2>&1 &
		jobs+=($!)
	done
	for i in "${!jobs[@]}"; do
		if ! wait "${jobs[$i]}"; then
			sk__err "pgbouncer $name: session $i on $alias failed: $(cat "$out.$i")"
			rc=1
		fi
	done
	((rc == 0)) || return 1
	distinct=$(cat "$out".* | cut -d'|' -f1 | sort -u | wc -l)
	if ((distinct < n)); then
		sk__err "pgbouncer $name: $n concurrent sessions on $alias shared $distinct server connection(s); is the pool smaller than $n?"
		return 1
	fi
	cat "$out".*
}

# sk_pgbouncer_server_pids NAME ALIAS: the backend pids of the server
# connections pooled for ALIAS (SHOW SERVERS), one per line, sorted.
sk_pgbouncer_server_pids() {
	sk__need_work || return 1
	sk_pgbouncer_admin "$1" "SHOW SERVERS" | awk -F'|' -v db="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		col["database"] && $col["database"] == db { print $col["remote_pid"] }' | sort -n
}

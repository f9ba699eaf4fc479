#!/usr/bin/env bash
# netns.sh: network partitions between a region and the coordinator, on
# top of harness.sh. Agents dial the coordinator over TCP on loopback; to
# cut one region off, its agent runs in a network namespace of its own,
# joined to the host by a veth pair whose host end is a port of one
# bridge. The coordinator listens on the bridge's address; bringing a
# region's port down drops every packet between that agent and the
# coordinator, both ways, until it is brought up again (a silent
# partition: no reset, no "unreachable", TCP just retransmits). The agent
# still reaches its own PostgreSQL, through the cluster's unix socket (a
# path in the file system, which network namespaces do not separate).
#
#   . "$SKEIN_SRC/tests/lib/harness.sh"; . "$SKEIN_SRC/tests/lib/netns.sh"
#   sk_setup mytest
#   sk_netns_available || echo "no netns: $SK_NETNS_WHY"
#   sk_netns_bridge                          # bridge, address, watchdog
#   sk_netns_region af                       # namespace + veth for af
#   sk_netns_coordinator_config              # listen on the bridge
#   sk_netns_agent_config af app=pg:af_app   # dial the bridge, unix socket
#   sk_start_coordinator; sk_netns_start_agent af
#   sk_netns_cut af; sleep 5; sk_netns_heal af
#
# Needs root (ip netns, ip link) and iproute2. Addresses are taken from
# 10.213.0.0/16, inside namespaces and on the bridge only: nothing leaves
# the machine. Names carry this shell's pid: bridge skb<pid>, host veth
# ends skv<pid>-<n>, namespaces skein-<pid>-<region>; a watchdog removes
# them when this shell exits (however it exits), sk_netns_destroy at once,
# and sk_netns_bridge sweeps those of shells that died without cleaning up
# (unless a process still runs in one of their namespaces). The names made
# are listed in $SK_WORK/netns.list.

SK_NETNS_ID=${SK_NETNS_ID:-$$}
SK_NETNS_BRIDGE=""
SK_NETNS_ADDR=""
SK_NETNS_WHY=""
SK_NETNS_REGIONS=()
SK__NETNS_WATCHDOG=""

# sk_netns_available: true if this shell can make namespaces and veth
# pairs; otherwise false with the reason in SK_NETNS_WHY.
# shellcheck disable=SC2034 # SK_NETNS_WHY is the caller's to read
sk_netns_available() {
	local probe="skein-probe-$SK_NETNS_ID"
	SK_NETNS_WHY=""
	if [[ $(id -u) -ne 0 ]]; then
		SK_NETNS_WHY="not root (ip netns needs CAP_SYS_ADMIN and CAP_NET_ADMIN)"
		return 1
	fi
	if ! command -v ip >/dev/null 2>&1; then
		SK_NETNS_WHY="no ip command (install iproute2)"
		return 1
	fi
	if ! ip netns add "$probe" 2>/dev/null; then
		SK_NETNS_WHY="ip netns add failed (no permission to make namespaces here)"
		return 1
	fi
	if ! ip -n "$probe" link add skprobe0 type veth peer name skprobe1 2>/dev/null; then
		ip netns del "$probe" 2>/dev/null || true
		SK_NETNS_WHY="cannot create a veth pair (no veth support in this kernel?)"
		return 1
	fi
	ip netns del "$probe" 2>/dev/null || true
	return 0
}

# Remove namespaces and links left by shells that no longer run, unless a
# process still runs in one of their namespaces (a deployment kept for
# inspection).
sk__netns_sweep() {
	local ns id ids=() busy link
	while read -r ns _; do
		if [[ "$ns" =~ ^skein-([0-9]+)- ]]; then
			ids+=("${BASH_REMATCH[1]}")
		fi
	done < <(ip netns list 2>/dev/null)
	while read -r link; do
		if [[ "$link" =~ ^sk[bv]([0-9]+) ]]; then
			ids+=("${BASH_REMATCH[1]}")
		fi
	done < <(sk__netns_links '[0-9]+')
	for id in $(printf '%s\n' "${ids[@]}" | sort -u); do
		if [[ "$id" == "$SK_NETNS_ID" ]] || kill -0 "$id" 2>/dev/null; then
			continue
		fi
		busy=0
		while read -r ns _; do
			if [[ "$ns" == "skein-$id-"* && -n "$(ip netns pids "$ns" 2>/dev/null)" ]]; then
				busy=1
			fi
		done < <(ip netns list 2>/dev/null)
		if ((busy)); then
			continue
		fi
		while read -r ns _; do
			if [[ "$ns" == "skein-$id-"* ]]; then
				ip netns del "$ns" 2>/dev/null || true
			fi
		done < <(ip netns list 2>/dev/null)
		while read -r link; do
			ip link del "$link" 2>/dev/null || true
		done < <(sk__netns_links "$id")
	done
	return 0
}

# sk__netns_links ID_REGEX: the bridges and host veth ends named for ID.
sk__netns_links() {
	ip -o link show 2>/dev/null | sed -nE "s/^[0-9]+: (sk[bv]$1(-[0-9]+)?)[@:].*/\1/p"
}

# sk_netns_bridge: the bridge the regions' namespaces hang off, with
# 10.213.X.1/24 for a /24 nobody on this machine uses; sets SK_NETNS_ADDR
# (the coordinator's address) and starts the watchdog.
sk_netns_bridge() {
	sk__need_work || return 1
	[[ -z "$SK_NETNS_BRIDGE" ]] || return 0
	sk__netns_sweep
	local x i br="skb$SK_NETNS_ID"
	for ((i = 0; i < 50; i++)); do
		x=$(((SK_NETNS_ID + i * 37) % 256))
		if ! ip -4 -o addr show 2>/dev/null | grep -q " 10\.213\.$x\." &&
			! ip -4 route show 2>/dev/null | grep -q "^10\.213\.$x\."; then
			break
		fi
		x=""
	done
	if [[ -z "$x" ]]; then
		sk__err "netns bridge: no free /24 in 10.213.0.0/16"
		return 1
	fi
	if ! ip link add "$br" type bridge ||
		! ip addr add "10.213.$x.1/24" dev "$br" ||
		! ip link set "$br" up; then
		ip link del "$br" 2>/dev/null || true
		sk__err "netns bridge: cannot create bridge $br with 10.213.$x.1/24"
		return 1
	fi
	SK_NETNS_BRIDGE=$br
	SK_NETNS_ADDR="10.213.$x.1"
	SK__NETNS_NET=$x
	printf 'id %s\nlink %s\n' "$SK_NETNS_ID" "$br" >>"$SK_WORK/netns.list"
	sk__netns_watchdog
}

# The watchdog, a session of its own like the harness's: once this shell
# is gone it deletes every namespace and link named in netns.list (read
# now, since the work dir may be gone by then).
sk__netns_watchdog() {
	[[ -z "$SK__NETNS_WATCHDOG" ]] || return 0
	# shellcheck disable=SC2016 # expanded by the inner bash
	(setsid bash -c '
		trap "exit 0" TERM
		parent=$1 id=$2
		while kill -0 "$parent" 2>/dev/null; do sleep 1 & wait $!; done
		for ns in $(ip netns list 2>/dev/null | awk "{print \$1}"); do
			[[ "$ns" == skein-$id-* ]] && ip netns del "$ns" 2>/dev/null
		done
		for l in $(ip -o link show 2>/dev/null | sed -nE "s/^[0-9]+: (sk[bv]$id(-[0-9]+)?)[@:].*/\1/p"); do
			ip link del "$l" 2>/dev/null
		done
		exit 0
	' sk-netns-watchdog "$$" "$SK_NETNS_ID" </dev/null >/dev/null 2>&1 &
	echo $! >"$SK_WORK/pids/netns-watchdog")
	SK__NETNS_WATCHDOG=$(cat "$SK_WORK/pids/netns-watchdog")
}

# The index of REGION among the namespaces made, or nothing.
sk__netns_index() {
	local i
	for i in "${!SK_NETNS_REGIONS[@]}"; do
		if [[ "${SK_NETNS_REGIONS[$i]}" == "$1" ]]; then
			echo "$i"
			return 0
		fi
	done
	return 1
}

# sk_netns_name REGION: the namespace of REGION.
sk_netns_name() {
	echo "skein-$SK_NETNS_ID-$1"
}

# sk__netns_port REGION: the host end of REGION's veth pair.
sk__netns_port() {
	local i
	i=$(sk__netns_index "$1") || {
		sk__err "netns: region $1 has no namespace; call sk_netns_region $1"
		return 1
	}
	echo "skv$SK_NETNS_ID-$i"
}

# sk_netns_region REGION: a namespace for REGION's agent, its veth pair
# (eth0 inside, 10.213.X.(10+n)/24) joined to the bridge, lo up.
sk_netns_region() {
	sk__need_work || return 1
	local region=$1 ns n port
	[[ -n "$SK_NETNS_BRIDGE" ]] || sk_netns_bridge || return 1
	if sk__netns_index "$region" >/dev/null; then
		return 0
	fi
	n=${#SK_NETNS_REGIONS[@]}
	if ((n > 200)); then
		sk__err "netns: too many regions"
		return 1
	fi
	ns=$(sk_netns_name "$region")
	port="skv$SK_NETNS_ID-$n"
	if ! ip netns add "$ns"; then
		sk__err "netns region $region: ip netns add $ns failed"
		return 1
	fi
	echo "netns $ns" >>"$SK_WORK/netns.list"
	if ! ip link add "$port" type veth peer name eth0 netns "$ns" ||
		! ip link set "$port" master "$SK_NETNS_BRIDGE" ||
		! ip link set "$port" up ||
		! ip -n "$ns" addr add "10.213.$SK__NETNS_NET.$((10 + n))/24" dev eth0 ||
		! ip -n "$ns" link set eth0 up ||
		! ip -n "$ns" link set lo up; then
		sk__err "netns region $region: cannot wire $ns to $SK_NETNS_BRIDGE"
		return 1
	fi
	echo "link $port" >>"$SK_WORK/netns.list"
	SK_NETNS_REGIONS+=("$region")
}

# sk_netns_coordinator_config: coordinator.yaml (sk_coordinator_config)
# with the agents' socket on the bridge's address instead of 127.0.0.1.
# The control socket (the CLI's) stays on loopback.
sk_netns_coordinator_config() {
	[[ -n "$SK_NETNS_ADDR" ]] || sk_netns_bridge || return 1
	if sk_tls_on; then
		# The coordinator's certificate must name the bridge's address,
		# which the agents dial: made before sk_tls_certs would make one
		# for loopback only.
		"$SKEIN_SRC/deploy/tls/make-certs" "$SK_WORK/tls" --name localhost \
			--name 127.0.0.1 --name "$SK_NETNS_ADDR" >/dev/null || return 1
	fi
	sk_coordinator_config || return 1
	sed -i -E "s#^listen: '?(tls\+tcp|tcp)://[^:]*:.*#listen: '\1://$SK_NETNS_ADDR:$SK_LISTEN_PORT'#" \
		"$SK_WORK/coordinator/coordinator.yaml"
}

# sk_netns_agent_config REGION [NAME=]CLUSTER:DB...: agents/REGION.yaml
# (sk_agent_config) dialing the coordinator on the bridge's address, and
# reaching each database through its cluster's unix socket, which a
# partition does not cut.
sk_netns_agent_config() {
	local region=$1 spec cluster
	[[ -n "$SK_NETNS_ADDR" ]] || sk_netns_bridge || return 1
	sk_agent_config "$@" || return 1
	local f="$SK_WORK/agents/$region.yaml"
	sed -i -E "s#^coordinator: '?(tls\+tcp|tcp)://[^:]*:.*#coordinator: '\1://$SK_NETNS_ADDR:$SK_LISTEN_PORT'#" "$f"
	shift
	for spec in "$@"; do
		spec=${spec#*=}
		cluster=${spec%%:*}
		# pgcluster.sh puts the socket in the cluster's directory and
		# conninfo says host=127.0.0.1 with the same port.
		sed -i -E "s|host=127\.0\.0\.1 port=($(sk_cluster_port "$cluster")) |host=$SK_WORK/pg/$cluster port=\1 |" "$f"
	done
}

# sk_netns_start_agent REGION: start skein-agent in REGION's namespace,
# tracked as agent-REGION like sk_start_agent (sk_kill9, sk_stop work).
sk_netns_start_agent() {
	sk__need_work || return 1
	local region=$1 bin pid i ns
	bin=$(sk__bin skein-agent) || return 1
	sk__netns_index "$region" >/dev/null || {
		sk__err "start agent $region: no namespace; call sk_netns_region $region"
		return 1
	}
	ns=$(sk_netns_name "$region")
	[[ -s "$SK_WORK/agents/$region.yaml" ]] || {
		sk__err "start agent $region: no agents/$region.yaml; call sk_netns_agent_config first"
		return 1
	}
	# ip netns exec execs the program (no fork): the pid is the agent's.
	sk__spawn "agent-$region" ip netns exec "$ns" "$bin" --config "$SK_WORK/agents/$region.yaml" || return 1
	pid=$(cat "$SK_WORK/pids/agent-$region.pid")
	for ((i = 0; i < 10; i++)); do
		sleep 0.05
		if ! sk__alive "$pid"; then
			wait "$pid" 2>/dev/null || true
			mv -f "$SK_WORK/pids/agent-$region.pid" "$SK_WORK/pids/agent-$region.stopped"
			sk__err "start agent $region in $ns: it exited; last lines of $SK_WORK/logs/agent-$region.log:"
			tail -n 20 "$SK_WORK/logs/agent-$region.log" >&2
			return 1
		fi
	done
}

# sk_netns_cut REGION: partition REGION from the coordinator (its bridge
# port goes down; packets both ways are dropped).
sk_netns_cut() {
	local port
	port=$(sk__netns_port "$1") || return 1
	ip link set "$port" down || {
		sk__err "netns cut $1: ip link set $port down failed"
		return 1
	}
}

# sk_netns_heal REGION: end the partition of REGION.
sk_netns_heal() {
	local port
	port=$(sk__netns_port "$1") || return 1
	ip link set "$port" up || {
		sk__err "netns heal $1: ip link set $port up failed"
		return 1
	}
}

# sk_netns_is_cut REGION: true while REGION is partitioned.
sk_netns_is_cut() {
	local port
	port=$(sk__netns_port "$1") || return 1
	! ip -o link show "$port" 2>/dev/null | grep -q '[<,]UP[,>]'
}

# sk_netns_destroy [ID]: delete the namespaces and links of ID (default
# this shell's, SK_NETNS_ID) and stop the watchdog. Call it after the
# agents are stopped (sk_teardown). For a work dir left running by an
# earlier shell, read the ID first: sk_netns_id DIR.
sk_netns_destroy() {
	local id=${1:-$SK_NETNS_ID} ns link
	while read -r ns _; do
		if [[ "$ns" == "skein-$id-"* ]]; then
			ip netns del "$ns" 2>/dev/null || true
		fi
	done < <(ip netns list 2>/dev/null)
	while read -r link; do
		ip link del "$link" 2>/dev/null || true
	done < <(sk__netns_links "$id")
	if [[ "$id" == "$SK_NETNS_ID" ]]; then
		sk_netns_detach
		SK_NETNS_BRIDGE=""
		SK_NETNS_ADDR=""
		SK_NETNS_REGIONS=()
	fi
	return 0
}

# sk_netns_id DIR: the ID whose namespaces a work dir's deployment uses
# (nothing if it made none).
sk_netns_id() {
	sed -n 's/^id //p' "$1/netns.list" 2>/dev/null | head -n 1
}

# sk_netns_detach: leave the namespaces in place when this shell exits
# (with sk_detach, for a deployment kept for inspection).
sk_netns_detach() {
	if [[ -n "$SK__NETNS_WATCHDOG" ]]; then
		kill -TERM "$SK__NETNS_WATCHDOG" 2>/dev/null || true
		SK__NETNS_WATCHDOG=""
	fi
	return 0
}

#!/usr/bin/env bash
# install-deps.sh: install the Debian packages skein needs to build, test and
# run its demo, asking apt only for what is missing. Shared by tests/run and
# deploy/local/demo, so both install the same way.
#
# Sourced:  . tests/lib/install-deps.sh; sk_install_deps [--with-format] [--with-fuzz] [--with-browser]
# Run:      tests/lib/install-deps.sh [--with-format] [--with-fuzz] [--with-browser] [--dry-run]
#
# As root apt-get runs directly; otherwise through sudo. `apt-get update`
# runs only when something has to be installed.

# The build, the unit tests and the daemons' runtime; prometheus for its
# promtool, which checks the coordinator's /metrics text
# (tests/unit/coordinator/metrics_test.c).
SK_DEPS_BUILD=(
	cmake build-essential pkg-config
	libnng-dev libprotobuf-c-dev protobuf-c-compiler libsodium-dev
	libcmocka-dev libyaml-dev libpq-dev libjansson-dev libpg-query-dev
	libmicrohttpd-dev
	prometheus
)
# Real clusters for the integration tests, the demo and the benchmarks
# (pgbench, used by bench/ddl-lock, ships in the server package
# postgresql-15); pgbouncer for the transaction-pooling test; iproute2 for
# ss, to find free ports; tcpdump for the packet capture of
# fault_private_detail.sh; python3-jsonschema checks the lint's SARIF
# output (tests/integration/lint_cli.sh); curl and python3 are the HTTP
# API's clients in tests/integration/http_*.sh (python3 comes with
# python3-jsonschema); python3-yaml reads the Kubernetes manifests and
# systemd's systemd-analyze verifies the units
# (tests/integration/deploy_kubernetes.sh, deploy_systemd.sh); tmux runs
# `rollout wait` on a terminal of fixed size and jq reads the CLI's JSON
# (tests/integration/rollout_live_view.sh and others).
SK_DEPS_PG=(postgresql postgresql-client pgbouncer iproute2 tcpdump python3-jsonschema
	curl python3-yaml systemd tmux jq)
# The style check in tests/run.
SK_DEPS_FORMAT=(clang-format)
# The fuzz harnesses (tests/fuzz): clang, libFuzzer and the sanitizer
# runtimes (libclang-rt-dev: libclang_rt.fuzzer*.a), llvm-symbolizer
# (llvm) for readable stacks.
SK_DEPS_FUZZ=(clang libclang-rt-dev llvm)
# The dashboard's browser test (tests/integration/dashboard_browser.sh):
# headless Chromium, driven over the DevTools protocol by tests/tools/cdp.py
# with Debian's python3-websocket. Not for the demo: Chromium is large.
SK_DEPS_BROWSER=(chromium python3-websocket)

# Print the names, out of the arguments, that dpkg does not show installed.
sk_missing_packages() {
	local pkg status
	for pkg in "$@"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
		[[ "$status" == "installed" ]] || echo "$pkg"
	done
}

# sk_install_deps [--with-format] [--with-fuzz] [--with-browser] [--dry-run]: install what
# is missing. Returns non-zero, with a message on stderr, when apt fails.
sk_install_deps() {
	local with_format=0 with_fuzz=0 with_browser=0 dry_run=0 arg
	for arg in "$@"; do
		case "$arg" in
		--with-format) with_format=1 ;;
		--with-fuzz) with_fuzz=1 ;;
		--with-browser) with_browser=1 ;;
		--dry-run) dry_run=1 ;;
		*)
			echo "install-deps: unknown option '$arg'" >&2
			return 2
			;;
		esac
	done

	if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
		echo "install-deps: this is not a Debian-like system (no dpkg-query/apt-get);" \
			"install by hand: ${SK_DEPS_BUILD[*]} ${SK_DEPS_PG[*]}" >&2
		return 1
	fi

	local wanted=("${SK_DEPS_BUILD[@]}" "${SK_DEPS_PG[@]}")
	((with_format)) && wanted+=("${SK_DEPS_FORMAT[@]}")
	((with_fuzz)) && wanted+=("${SK_DEPS_FUZZ[@]}")
	((with_browser)) && wanted+=("${SK_DEPS_BROWSER[@]}")
	local missing=()
	mapfile -t missing < <(sk_missing_packages "${wanted[@]}")
	if [[ ${#missing[@]} -eq 0 ]]; then
		return 0
	fi
	echo "install-deps: installing ${missing[*]}" >&2
	if ((dry_run)); then
		return 0
	fi

	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "install-deps: missing packages (${missing[*]}) and not root, and sudo is not installed;" \
				"run as root: apt-get install ${missing[*]}" >&2
			return 1
		fi
		sudo=(sudo)
	fi
	local apt_env=(env DEBIAN_FRONTEND=noninteractive)
	if ! "${sudo[@]}" "${apt_env[@]}" apt-get update -qq >&2; then
		echo "install-deps: apt-get update failed; check the network and /etc/apt/sources.list" >&2
		return 1
	fi
	if ! "${sudo[@]}" "${apt_env[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
		echo "install-deps: apt-get install ${missing[*]} failed" >&2
		return 1
	fi
	# A second look catches a package apt claimed to install but did not.
	mapfile -t missing < <(sk_missing_packages "${wanted[@]}")
	if [[ ${#missing[@]} -ne 0 ]]; then
		echo "install-deps: still missing after install: ${missing[*]}" >&2
		return 1
	fi
}

# Run as a program rather than sourced.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	set -euo pipefail
	case "${1:-}" in
	-h | --help)
		cat <<'EOF'
usage: tests/lib/install-deps.sh [--with-format] [--with-fuzz] [--with-browser] [--dry-run]

Install the Debian packages skein needs (build tools and libraries,
PostgreSQL server and client, PgBouncer), asking apt only for what is
missing.
  --with-format  also clang-format, for the style check in tests/run
  --with-fuzz    also clang, libFuzzer and llvm, for tests/fuzz
  --with-browser also chromium and python3-websocket, for the dashboard's
                 browser test
  --dry-run      say what would be installed, install nothing
As root apt-get runs directly; otherwise through sudo.
EOF
		exit 0
		;;
	esac
	sk_install_deps "$@"
fi

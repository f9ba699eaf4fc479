#!/usr/bin/env bash
# skein-agent --check (the Kubernetes manifests' probe): exit 0 and one
# line for a config whose keys, TLS files, state and backup directories
# are all usable; exit 1 naming the file and the cause for each kind of
# breakage, and nothing created either way. No coordinator, no database.
set -euo pipefail
SKEIN_SRC=${SKEIN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SKEIN_BIN=${SKEIN_BIN:-$SKEIN_SRC/build}
agent=$SKEIN_BIN/skein-agent
work=$(mktemp -d /tmp/skein-agentcheck.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() {
	echo "agent_config_check: $*" >&2
	exit 1
}
d="$work/dep"
"$SKEIN_BIN/skein" init "$d" --regions af >/dev/null
"$SKEIN_SRC/deploy/tls/make-certs" "$d/tls" --agent af >/dev/null
cfg="$d/agents/af.yaml"
sed -i 's|^coordinator: tcp://|coordinator: tls+tcp://|' "$cfg"
echo 'tls: {ca: ../tls/ca.crt, cert: ../tls/agent-af.crt, key: ../tls/agent-af.key}' >>"$cfg"

out=$("$agent" --config "$cfg" --check) || fail "--check refused a good config"
[[ "$out" == "skein-agent: config ok: region af, agent key "*", 1 database, coordinator tls+tcp://127.0.0.1:7400 (TLS files load)" ]] ||
	fail "--check said: $out"
[[ ! -e "$d/state/agent-af" ]] || fail "--check created the state directory"
"$agent" --check --help | grep -q -- '--check' || fail "--help does not describe --check"

# broken WANT SETUP UNDO: after SETUP, --check exits 1 saying WANT; UNDO.
broken() {
	local want=$1 rc=0
	eval "$2"
	"$agent" --check --config "$cfg" >"$work/out" 2>"$work/err" || rc=$?
	eval "$3"
	[[ $rc == 1 ]] || fail "after '$2': exit $rc, want 1"
	grep -qF -- "$want" "$work/err" || fail "after '$2': stderr lacks '$want': $(cat "$work/err")"
	[[ ! -s "$work/out" ]] || fail "after '$2': printed $(cat "$work/out")"
}
broken "is accessible by group or others" "chmod 644 '$d/keys/agent-af.key'" "chmod 600 '$d/keys/agent-af.key'"
broken "agent-af.key" "mv '$d/keys/agent-af.key' '$work/k'" "mv '$work/k' '$d/keys/agent-af.key'"
broken "coordinator.pub" "mv '$d/keys/coordinator.pub' '$work/p'" "mv '$work/p' '$d/keys/coordinator.pub'"
broken "release.pub" "cp '$d/keys/release.pub' '$work/r'; echo junk >'$d/keys/release.pub'" "mv '$work/r' '$d/keys/release.pub'"
broken "backup_dir" "rmdir '$d/backups/af'" "mkdir '$d/backups/af'"
broken "is not a PEM file" "cp '$d/tls/agent-af.crt' '$work/c'; echo junk >'$d/tls/agent-af.crt'" "mv '$work/c' '$d/tls/agent-af.crt'"
rc=0
"$agent" --check --config "$work/nope.yaml" >/dev/null 2>"$work/err" || rc=$?
[[ $rc == 1 ]] && grep -q 'nope.yaml' "$work/err" || fail "a missing config: exit $rc, $(cat "$work/err")"
rc=0
"$agent" --check >/dev/null 2>&1 || rc=$?
[[ $rc == 2 ]] || fail "--check without --config: exit $rc, want 2"
"$agent" --config "$cfg" --check >/dev/null || fail "the config is not good again after the undos"
echo "agent_config_check: ok"

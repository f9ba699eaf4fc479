#!/usr/bin/env bash
# skein init DIR: what it writes (keys 0600 and never printed, the
# inventory, configs, a first plan that lints and builds against the
# inventory), --regions, --conninfo, --port, and every refusal: a
# non-empty DIR without --force, bad options, a DIR that is a file; each
# refusal checked for its message and for leaving the disk as it was.
# --force rewrites the configs and keeps the key pairs. No daemons here:
# tests/integration/readme_walkthrough.sh runs a deployment of skein init.
set -euo pipefail
SKEIN_SRC=${SKEIN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SKEIN_BIN=${SKEIN_BIN:-$SKEIN_SRC/build}
skein=$SKEIN_BIN/skein
work=$(mktemp -d /tmp/skein-init.XXXXXX)
trap 'rm -rf "$work"' EXIT

fail() {
	echo "init_cli: $*" >&2
	exit 1
}
# snapshot DIR: every path under DIR with its mode and content hash.
snapshot() {
	(cd "$1" && find . -printf '%p %m\n' | sort && find . -type f -exec sha256sum {} + | sort)
}
# refused WANT_RC WANT_MSG ARGS...: skein init ARGS exits WANT_RC, says
# WANT_MSG on stderr, prints nothing on stdout.
refused() {
	local want_rc=$1 want=$2 rc=0
	shift 2
	"$skein" init "$@" >"$work/out" 2>"$work/err" || rc=$?
	[[ $rc == "$want_rc" ]] || fail "skein init $*: exit $rc, want $want_rc ($(cat "$work/err"))"
	grep -qF -- "$want" "$work/err" || fail "skein init $*: stderr lacks '$want': $(cat "$work/err")"
	[[ ! -s "$work/out" ]] || fail "skein init $*: printed on stdout: $(cat "$work/out")"
}

"$skein" init --help | grep -q '^Usage:' || fail "skein init --help shows no usage"

# A fresh deployment.
d="$work/dep"
"$skein" init "$d" >"$work/init.out" || fail "skein init $d failed"
[[ "$(stat -c %a "$d")" == 700 ]] || fail "$d is mode $(stat -c %a "$d"), not 0700"
for k in release coordinator admin reviewer agent-af agent-in agent-ksa; do
	[[ -f "$d/keys/$k.key" && -f "$d/keys/$k.pub" ]] || fail "no key pair keys/$k"
	[[ "$(stat -c %a "$d/keys/$k.key")" == 600 ]] || fail "keys/$k.key is not mode 0600"
	secret=$(grep -v '^#' "$d/keys/$k.key" | tr -d '\n' | tail -c 40)
	[[ -n "$secret" ]] || fail "keys/$k.key has no content"
	! grep -qF -- "$secret" "$work/init.out" || fail "skein init printed keys/$k.key's content"
	grep -q "keys/$k " "$work/init.out" || fail "skein init did not name keys/$k"
done
for r in af in ksa; do
	grep -qx "agent_key: ../keys/agent-$r.pub" "$d/regions/$r.yaml" || fail "regions/$r.yaml names no agent key"
	grep -qx "region: $r" "$d/agents/$r.yaml" || fail "agents/$r.yaml is not region $r's"
	grep -qF 'conninfo: "service='"$r"'"' "$d/agents/$r.yaml" || fail "agents/$r.yaml: conninfo is not service=$r"
	[[ "$(stat -c %a "$d/agents/$r.yaml")" == 600 ]] || fail "agents/$r.yaml is not mode 0600"
	[[ -d "$d/backups/$r" ]] || fail "no backups/$r for agents/$r.yaml's backup_dir"
done
grep -q '^listen: tcp://127.0.0.1:7400 ' "$d/coordinator.yaml" || fail "coordinator.yaml: listen is not port 7400"
grep -q 'key: keys/admin.pub, role: admin' "$d/coordinator.yaml" || fail "coordinator.yaml pins no admin operator"
grep -q 'key: keys/reviewer.pub, role: approver' "$d/coordinator.yaml" || fail "coordinator.yaml pins no approver"
(cd "$d" && "$skein" plan lint plans/first --regions regions >/dev/null) || fail "plans/first does not lint"
(cd "$d" && "$skein" plan build plans/first -o "$work/first.plan" --regions regions >/dev/null 2>&1) ||
	fail "plans/first does not build against regions/"
(cd "$d" && "$skein" plan sign "$work/first.plan" --key keys/release.key -o "$work/first.signed" >/dev/null &&
	"$skein" plan verify "$work/first.signed" --pub keys/release.pub >/dev/null) ||
	fail "the first plan does not sign and verify with keys/release"
"$skein" plan show "$work/first.plan" 2>/dev/null | grep -q 'approval' || fail "the first plan's rest phase has no approval"

# Refusals: nothing changes.
before=$(snapshot "$d")
refused 1 "is not empty; nothing was written" "$d"
refused 1 "is not empty; nothing was written" "$d" --regions af
[[ "$(snapshot "$d")" == "$before" ]] || fail "a refused skein init changed $d"
for args in "--regions ,af" "--regions af,,in" "--regions af," "--regions bad/name" "--regions -x"; do
	# shellcheck disable=SC2086 # one word per option on purpose
	refused 2 "is not a region name" "$work/new" $args
done
refused 2 "region af is named twice" "$work/new" --regions af,in,af
refused 2 "--port 70000: not a port" "$work/new" --port 70000
refused 2 "--port x: not a port" "$work/new" --port x
refused 2 "unknown option --nope" "$work/new" --nope
refused 2 "DIR is required" --regions af
refused 2 "unexpected argument extra" "$work/new" extra
refused 2 "--conninfo must be one non-empty line" "$work/new" --conninfo ''
[[ ! -e "$work/new" ]] || fail "a refused skein init created $work/new"
touch "$work/file"
refused 1 "exists and is not a directory" "$work/file"
[[ -f "$work/file" && ! -s "$work/file" ]] || fail "skein init changed the file $work/file"

# --force: configs rewritten, key pairs kept, a new region gets its keys.
id_before=$(cat "$d/keys/release.pub")
"$skein" init "$d" --force --regions af,in,ksa,eu --port 7600 --conninfo 'host=db-{region} dbname="app"' >"$work/force.out" ||
	fail "skein init --force failed"
[[ "$(cat "$d/keys/release.pub")" == "$id_before" ]] || fail "--force replaced the release key"
grep -q 'keys/release .*(kept)' "$work/force.out" || fail "--force did not say the release key was kept"
[[ -f "$d/keys/agent-eu.key" && -f "$d/regions/eu.yaml" && -f "$d/agents/eu.yaml" ]] || fail "--force made no region eu"
grep -q '^coordinator: tcp://127.0.0.1:7600 ' "$d/agents/eu.yaml" || fail "--port 7600 not in agents/eu.yaml"
grep -qF 'conninfo: "host=db-eu dbname=\"app\""' "$d/agents/eu.yaml" || fail "--conninfo not substituted and quoted: $(grep conninfo "$d/agents/eu.yaml")"
(cd "$d" && "$skein" plan lint plans/first --regions regions >/dev/null) || fail "plans/first does not lint after --force"

# One region: a plan with the canary phase only.
"$skein" init "$work/one" --regions solo >/dev/null || fail "skein init --regions solo failed"
! grep -q 'name: rest' "$work/one/plans/first/plan.yaml" || fail "a one-region plan has a rest phase"
(cd "$work/one" && "$skein" plan lint plans/first --regions regions >/dev/null) || fail "the one-region plan does not lint"
echo "init_cli: ok"

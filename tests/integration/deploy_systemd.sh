#!/usr/bin/env bash
# deploy/systemd: the units as written.
#
# - `systemd-analyze verify` on both units (ExecStart pointed at this
#   build): no complaint at all, and no two LoadCredential= of a unit share
#   a name;
# - the units' install lines run as written, with /etc/skein, /var/lib and
#   /usr/local/bin moved under a scratch root, from a directory made by
#   `skein init --regions af` with certificates from deploy/tls/make-certs;
#   coordinator.yaml and agent.yaml are the units' documented ones (only
#   the ports, the coordinator's address and the database's conninfo
#   changed);
# - what systemd would do is done by hand: LoadCredential= copies each
#   secret into a credentials directory the service's user alone can read
#   (0500, files 0400), StateDirectory= makes the state directories owned
#   by that user, and ExecStart runs as `nobody` (runuser) in place of the
#   DynamicUser (the sandboxing options are not emulated: there is no
#   systemd running in the test container);
# - the old mistake stays caught: with the inventory directory 0750 root,
#   the coordinator as nobody fails with "Permission denied";
# - as nobody, both daemons take a rollout of skein init's first plan to
#   success, and its rollback (the agent's pg_dump into its backups state
#   directory included).
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"

units="$SKEIN_SRC/deploy/systemd"
command -v systemd-analyze >/dev/null || sk_fail "systemd-analyze is missing (package systemd)"
id nobody >/dev/null 2>&1 || sk_fail "there is no user nobody to run the daemons as"

sk_setup deploy_systemd
root="$SK_WORK/root"
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/var/lib" "$root/run/credentials"
chmod -R 755 "$root"

# rebase: the units' absolute paths, under $root; build/ is this build.
rebase() {
	sed -e "s|/etc/skein|$root/etc/skein|g" -e "s|/var/lib/|$root/var/lib/|g" \
		-e "s|/usr/local/bin|$root/usr/local/bin|g" -e "s|/run/credentials|$root/run/credentials|g" \
		-e "s|build/|$SKEIN_BIN/|g"
}

# --- systemd-analyze verify --------------------------------------------------
mkdir "$SK_WORK/units"
for u in skein-coordinator skein-agent; do
	sed "s|^ExecStart=/usr/local/bin/|ExecStart=$SKEIN_BIN/|" "$units/$u.service" >"$SK_WORK/units/$u.service"
	out=$(systemd-analyze verify "$SK_WORK/units/$u.service" 2>&1) ||
		sk_fail "systemd-analyze verify $u.service failed: $out"
	[[ -z "$out" ]] || sk_fail "systemd-analyze verify $u.service complained: $out"
	dup=$(sed -n 's/^LoadCredential=\([^:]*\):.*/\1/p' "$units/$u.service" | sort | uniq -d)
	[[ -z "$dup" ]] || sk_fail "$u.service loads two credentials named $dup"
done

# --- a deployment directory, installed as the units say --------------------------
sk_cluster af
sk_db af app
stage="$SK_WORK/stage"
"$SKEIN_BIN/skein" init "$stage" --regions af >/dev/null
"$SKEIN_SRC/deploy/tls/make-certs" "$stage/tls" --agent af >/dev/null
listen=$(sk_free_port)
control=$(sk_free_port)

# block UNIT NAME: the documented NAME (between "# --- NAME" and "# ---").
block() {
	sed -n "/^# --- $2\$/,/^# ---\$/p" "$units/$1.service" | sed -e '1d' -e '$d' -e 's/^#   //'
}
block skein-coordinator coordinator.yaml | rebase |
	sed -e "s|0.0.0.0:7400|127.0.0.1:$listen|" -e "s|127.0.0.1:7401|127.0.0.1:$control|" \
		>"$stage/coordinator.yaml"
conninfo=$(sk_conninfo af app)
block skein-agent agent.yaml | rebase |
	sed -e "s|coordinator.example.net:7400|127.0.0.1:$listen|" \
		-e "s|conninfo: .*|conninfo: \"$conninfo\"|" >"$stage/agent.yaml"
grep -q "^listen: tls+tcp://127.0.0.1:$listen" "$stage/coordinator.yaml" ||
	sk_fail "no listen: line in skein-coordinator.service's coordinator.yaml"
grep -q "^coordinator: tls+tcp://127.0.0.1:$listen" "$stage/agent.yaml" ||
	sk_fail "no coordinator: line in skein-agent.service's agent.yaml"

for u in skein-coordinator skein-agent; do
	grep '^#   install ' "$units/$u.service" | sed -e 's/^#   //' -e 's/ *#.*$//' | rebase >"$SK_WORK/install-$u.sh"
	[[ -s "$SK_WORK/install-$u.sh" ]] || sk_fail "$u.service documents no install lines"
	(cd "$stage" && bash -euxo pipefail "$SK_WORK/install-$u.sh") >"$SK_WORK/install-$u.log" 2>&1 ||
		sk_fail "$u.service's install lines failed: $(tail -n 5 "$SK_WORK/install-$u.log")"
done

# start UNIT NAME: what systemd does for UNIT, by hand; NAME for the harness.
start_unit() {
	local u=$1 name=$2 cred="$root/run/credentials/$1.service" line cname cpath d mode exec
	mkdir -p "$cred"
	while IFS= read -r line; do
		cname=${line%%:*}
		cpath=$(rebase <<<"${line#*:}")
		install -o nobody -g nogroup -m 0400 "$cpath" "$cred/$cname" ||
			sk_fail "$u: cannot load credential $cname from $cpath"
	done < <(sed -n 's/^LoadCredential=//p' "$units/$u.service")
	chown nobody:nogroup "$cred"
	chmod 0500 "$cred"
	mode=$(sed -n 's/^StateDirectoryMode=//p' "$units/$u.service")
	for d in $(sed -n 's/^StateDirectory=//p' "$units/$u.service"); do
		install -d -o nobody -g nogroup -m "${mode:-0755}" "$root/var/lib/$d"
	done
	exec=$(sed -n 's/^ExecStart=//p' "$units/$u.service" | rebase | sed "s|%d|$cred|g")
	# shellcheck disable=SC2086 # ExecStart's words
	sk__spawn "$name" runuser -u nobody -- $exec
}

# The mistake the units made before: an inventory only root can read.
chmod 0750 "$root/etc/skein/regions"
cred="$root/run/credentials/skein-coordinator.service"
start_unit skein-coordinator coordinator-0750
for ((i = 0; i < 100; i++)); do
	sk_running coordinator-0750 || break
	sleep 0.05
done
! sk_running coordinator-0750 || sk_fail "the coordinator ran with an inventory it cannot read"
# Counted as stopped, so the harness does not take it for a crash later.
sk_stop coordinator-0750 >/dev/null 2>&1 || true
grep -q 'Permission denied' "$SK_WORK/logs/coordinator-0750.log" ||
	sk_fail "the coordinator as nobody did not say 'Permission denied': $(tail -n 3 "$SK_WORK/logs/coordinator-0750.log")"
chmod 0755 "$root/etc/skein/regions"
chmod 0700 "$cred" && rm -rf "$cred"

# --- both daemons as nobody ------------------------------------------------------
start_unit skein-coordinator coordinator
for ((i = 0; i < 200; i++)); do
	[[ -n "$(ss -Hltn "sport = :$control" 2>/dev/null)" ]] && break
	sk_running coordinator || break
	sleep 0.05
done
[[ -n "$(ss -Hltn "sport = :$control" 2>/dev/null)" ]] ||
	sk_fail "the coordinator (as nobody) does not listen: $(tail -n 5 "$SK_WORK/logs/coordinator.log")"
start_unit skein-agent agent-af
for name in coordinator agent-af; do
	pid=$(pgrep -P "$(sk_pid "$name")" | head -n 1 || true)
	[[ -n "$pid" && "$(ps -o user= -p "$pid")" == nobody ]] ||
		sk_fail "$name does not run as nobody ($(ps -o user=,args= --ppid "$(sk_pid "$name")"))"
done

export SKEIN_COORDINATOR="tls+tcp://127.0.0.1:$control" SKEIN_TLS_CA="$stage/tls/ca.crt"
export SKEIN_KEY="$stage/keys/admin.key"
skein=$SKEIN_BIN/skein
"$skein" plan build "$stage/plans/first" -o "$SK_WORK/first.plan" --regions "$root/etc/skein/regions" >/dev/null
"$skein" plan sign "$SK_WORK/first.plan" --key "$stage/keys/release.key" -o "$SK_WORK/first.signed" >/dev/null
id=$(sk__run_fg "$skein" rollout start "$SK_WORK/first.signed") || sk_fail "rollout start refused"
sk__run_fg "$skein" rollout wait "$id" --timeout 60s >"$SK_WORK/wait.out" ||
	sk_fail "the rollout failed: $(tail -n 5 "$SK_WORK/wait.out")"
grep -q "succeeded in 1/1 regions" "$SK_WORK/wait.out" || sk_fail "no success line: $(tail -n 3 "$SK_WORK/wait.out")"
[[ "$(sk_psql af app "select to_regclass('public.greetings') is not null")" == t ]] ||
	sk_fail "the agent as nobody did not create greetings"
sk__run_fg "$skein" rollout rollback "$id" --yes --wait --timeout 60s >"$SK_WORK/rollback.out" 2>&1 ||
	sk_fail "the rollback failed: $(tail -n 5 "$SK_WORK/rollback.out")"
[[ "$(sk_psql af app "select to_regclass('public.greetings') is null")" == t ]] ||
	sk_fail "the rollback left greetings"
dump=$(find "$root/var/lib/skein-agent/backups" -name '*.dump' -user nobody | head -n 1)
[[ -n "$dump" ]] || sk_fail "no backup by nobody in the agent's backups state directory"
echo "deploy_systemd: ok"

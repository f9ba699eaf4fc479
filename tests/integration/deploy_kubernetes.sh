#!/usr/bin/env bash
# deploy/kubernetes: the manifests as written, without a cluster.
#
# No schema validator is packaged in Debian 12 (kubeconform is not;
# kubectl's client-side dry run needs a cluster), so:
# - tests/tools/k8s_manifests.py parses both files (python3-yaml) and
#   checks the names they rely on (volumes and mounts, ConfigMaps and
#   Secrets against the headers' setup commands, Service selectors and
#   ports, the probes against the HTTP API's port and skein-agent
#   --check); three broken copies show it fails when it should;
# - then the pods are played out on this machine: the headers' setup
#   commands run (a stand-in kubectl stores each Secret and ConfigMap as
#   files) in a directory made by `skein init --regions af` with
#   make-certs certificates; each container's filesystem is laid out as
#   its mounts say (ConfigMap volumes with their ..data links, the init
#   containers' scripts run as written), PostgreSQL's init script makes
#   role skein_agent in a real cluster, and both daemons run as uid 10001
#   (setpriv) with the manifests' own coordinator.yaml and agent.yaml
#   (only the addresses and ports changed): the coordinator's probe path
#   answers 200 over HTTPS, the agent's probe command exits 0, the agent
#   connects, and a rollout succeeds with the agent logged in as
#   skein_agent through the Secret's pg_service.conf.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"

check=$SKEIN_SRC/tests/tools/k8s_manifests.py
python3 -c 'import yaml' 2>/dev/null || sk_fail "python3-yaml is missing"
sk_setup deploy_kubernetes
out="$SK_WORK/out"
mkdir -p "$out"
python3 "$check" check "$SKEIN_SRC/deploy/kubernetes" "$out" || sk_fail "the manifests do not check out (above)"

# The checker fails on a broken copy.
broken() {
	local want=$1 file=$2 from=$3 to=$4 d="$SK_WORK/broken"
	rm -rf "$d" && mkdir -p "$d/out"
	cp "$SKEIN_SRC"/deploy/kubernetes/*.yaml "$d/"
	sed -i "0,\|$from|s|$from|$to|" "$d/$file" # the first one only
	! python3 "$check" check "$d" "$d/out" 2>"$d/err" || sk_fail "the checker passed $file with '$from' -> '$to'"
	grep -qF -- "$want" "$d/err" || sk_fail "the checker did not say '$want': $(cat "$d/err")"
}
broken "Secret skein-agent-keyz is not made" agent-sidecar.yaml "secretName: skein-agent-keys" "secretName: skein-agent-keyz"
broken "mounts agent-keyz, which is no volume" agent-sidecar.yaml "- name: agent-keys$" "- name: agent-keyz"
broken "readinessProbe on port 7400" coordinator.yaml "port: http$" "port: agents"

# --- the setup commands, with a kubectl that stores what they create -----------
stage="$SK_WORK/stage"
kube="$SK_WORK/kube"
"$SKEIN_BIN/skein" init "$stage" --regions af >/dev/null
"$SKEIN_SRC/deploy/tls/make-certs" "$stage/tls" --name skein-coordinator.skein.svc.cluster.local \
	--name 127.0.0.1 --agent af >/dev/null
mkdir -p "$SK_WORK/bin" "$kube"
cat >"$SK_WORK/bin/kubectl" <<'EOF'
#!/usr/bin/env bash
# A stand-in: `create secret generic NAME` and `create configmap NAME`
# store their --from-file/--from-literal keys under $KUBE/KIND/NAME/.
set -euo pipefail
args=()
while [[ $# -gt 0 ]]; do
	case "$1" in
	-n) shift ;;
	*) args+=("$1") ;;
	esac
	shift
done
set -- "${args[@]}"
[[ "$1" == create ]] || exit 0
case "$2" in
secret) kind=secret name=$4; shift 4 ;;
configmap) kind=configmap name=$3; shift 3 ;;
*) exit 0 ;;
esac
d="$KUBE/$kind/$name"
mkdir -p "$d"
for a in "$@"; do
	case "$a" in
	--from-literal=*) v=${a#--from-literal=}; printf '%s' "${v#*=}" >"$d/${v%%=*}" ;;
	--from-file=*=*) v=${a#--from-file=}; cp "${v#*=}" "$d/${v%%=*}" ;;
	--from-file=*) v=${a#--from-file=}; if [[ -d "$v" ]]; then cp "$v"/* "$d/"; else cp "$v" "$d/"; fi ;;
	*) echo "kubectl stand-in: unexpected argument $a" >&2; exit 1 ;;
	esac
done
EOF
chmod 755 "$SK_WORK/bin/kubectl"
for f in setup-coordinator setup-agent-sidecar; do
	(cd "$stage" && PATH="$SK_WORK/bin:$PATH" KUBE="$kube" bash -euo pipefail "$out/$f.sh") ||
		sk_fail "the setup commands of $f failed"
done

# cm_volume SRC DEST: DEST laid out as a ConfigMap or Secret volume is:
# the files in a ..data directory, each name a link into it.
cm_volume() {
	local f
	mkdir -p "$2/..2026_data"
	cp "$1"/* "$2/..2026_data/"
	chmod "${3:-0644}" "$2/..2026_data"/*
	ln -s ..2026_data "$2/..data"
	for f in "$1"/*; do
		ln -s "..data/$(basename "$f")" "$2/$(basename "$f")"
	done
}

# --- the coordinator's pod ---------------------------------------------------------
listen=$(sk_free_port)
control=$(sk_free_port)
http=$(sk_free_port)
croot="$SK_WORK/coord-root"
mkdir -p "$croot/etc/skein/secret" "$croot/var/lib/skein-coordinator"
chmod -R 755 "$croot"
chown 10001:10001 "$croot/var/lib/skein-coordinator"
sed -e "s|/var/lib/|$croot/var/lib/|" -e "s|0.0.0.0:7400|127.0.0.1:$listen|" \
	-e "s|127.0.0.1:7401|127.0.0.1:$control|" -e "s|0.0.0.0:7480|127.0.0.1:$http|" \
	"$out/coordinator.yaml" >"$croot/etc/skein/coordinator.yaml"
cm_volume "$kube/configmap/skein-regions" "$croot/etc/skein/regions"
cm_volume "$kube/configmap/skein-public-keys" "$croot/etc/skein/keys"
sed -e "s|/secrets/|$kube/secret/skein-coordinator-keys/|g" -e "s| /keys/| $croot/etc/skein/secret/|g" \
	"$out/init-coordinator.sh" >"$SK_WORK/init-coordinator.sh"
bash -eu "$SK_WORK/init-coordinator.sh" || sk_fail "the coordinator's init container script failed"
sk__spawn coordinator setpriv --reuid=10001 --regid=10001 --clear-groups \
	"$SKEIN_BIN/skein-coordinator" --config "$croot/etc/skein/coordinator.yaml"
probe_path=$(cat "$out/probe-path")
get() {
	python3 - "https://127.0.0.1:$http$1" <<'PY'
import ssl, sys, urllib.request
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE   # as the kubelet's HTTPS probes
try:
    r = urllib.request.urlopen(sys.argv[1], context=ctx, timeout=5)
    print(r.status)
    print(r.read().decode())
except Exception as e:
    print(f"error {e}")
    sys.exit(1)
PY
}
coord_up() { get "$probe_path" | head -n 1 | grep -qx 200; }
sk_wait_until 20 coord_up ||
	sk_fail "the coordinator's probe GET $probe_path did not answer 200: $(get "$probe_path" | head -n 3)"

# --- the database's pod: PostgreSQL's init script, the agent --------------------------
sk_cluster af
sk_db af app
port=$(sk_cluster_port af)
sed "s|/run/skein-db/password|$kube/secret/skein-agent-db/password|" "$out/initdb.sh" >"$SK_WORK/initdb.sh"
(cd / && PGHOST=127.0.0.1 PGPORT=$port POSTGRES_USER=postgres POSTGRES_DB=app sh "$SK_WORK/initdb.sh") \
	>"$SK_WORK/initdb.log" 2>&1 || sk_fail "the postgres init script failed: $(cat "$SK_WORK/initdb.log")"
[[ "$(sk_psql af app "select pg_get_userbyid(datdba) from pg_database where datname = 'app'")" == skein_agent ]] ||
	sk_fail "after the init script, skein_agent does not own database app"

aroot="$SK_WORK/agent-root"
mkdir -p "$aroot/etc/skein/keys" "$aroot/var/lib/skein-agent"
chmod -R 755 "$aroot"
chown 10001:10001 "$aroot/var/lib/skein-agent" "$aroot/etc/skein/keys"
sed -e "s|/var/lib/|$aroot/var/lib/|g" \
	-e "s|skein-coordinator.skein.svc.cluster.local:7400|127.0.0.1:$listen|" \
	"$out/agent.yaml" >"$aroot/etc/skein/agent.yaml"
cm_volume "$kube/secret/skein-agent-db" "$aroot/etc/skein/db" 0440
chgrp -R 10001 "$aroot/etc/skein/db/..2026_data"
sed -i "s/^port=5432$/port=$port/" "$aroot/etc/skein/db/..2026_data/pg_service.conf"
sed -e "s|/secrets/|$kube/secret/skein-agent-keys/|g" -e "s| /keys/| $aroot/etc/skein/keys/|g" \
	-e "s|/state/|$aroot/var/lib/skein-agent/|g" "$out/init-agent-sidecar.sh" >"$SK_WORK/init-agent.sh"
bash -eu "$SK_WORK/init-agent.sh" || sk_fail "the agent's init container script failed"

mapfile -t probe <"$out/agent-probe"
probe=("${probe[@]/\/usr\/local\/bin\/skein-agent/$SKEIN_BIN/skein-agent}")
probe=("${probe[@]/\/etc\/skein\/agent.yaml/$aroot/etc/skein/agent.yaml}")
setpriv --reuid=10001 --regid=10001 --clear-groups "${probe[@]}" >"$SK_WORK/probe.out" 2>&1 ||
	sk_fail "the agent's probe (${probe[*]}) failed: $(cat "$SK_WORK/probe.out")"

PGSERVICEFILE="$aroot/etc/skein/db/pg_service.conf" sk__spawn agent-af \
	setpriv --reuid=10001 --regid=10001 --groups=10001 \
	"$SKEIN_BIN/skein-agent" --config "$aroot/etc/skein/agent.yaml"
connected() { get /api/v1/regions | grep -q '"connected": *true'; }
sk_wait_until 20 connected || sk_fail "the agent did not connect: $(get /api/v1/regions)"

export SKEIN_COORDINATOR="tls+tcp://127.0.0.1:$control" SKEIN_TLS_CA="$stage/tls/ca.crt"
export SKEIN_KEY="$stage/keys/admin.key"
"$SKEIN_BIN/skein" plan build "$stage/plans/first" -o "$SK_WORK/first.plan" --regions "$stage/regions" >/dev/null
"$SKEIN_BIN/skein" plan sign "$SK_WORK/first.plan" --key "$stage/keys/release.key" -o "$SK_WORK/first.signed" >/dev/null
id=$(sk__run_fg "$SKEIN_BIN/skein" rollout start "$SK_WORK/first.signed") || sk_fail "rollout start refused"
sk__run_fg "$SKEIN_BIN/skein" rollout wait "$id" --timeout 60s >"$SK_WORK/wait.out" ||
	sk_fail "the rollout failed: $(tail -n 5 "$SK_WORK/wait.out")"
[[ "$(sk_psql af app "select tableowner from pg_tables where tablename = 'greetings'")" == skein_agent ]] ||
	sk_fail "greetings is not owned by skein_agent: the agent did not log in through the Secret's service file"
echo "deploy_kubernetes: ok"

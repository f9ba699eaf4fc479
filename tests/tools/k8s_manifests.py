#!/usr/bin/env python3
"""k8s_manifests.py: read deploy/kubernetes/*.yaml as Kubernetes would and
check the names they rely on (tests/integration/deploy_kubernetes.sh).
No schema validator is packaged in Debian 12 (kubeconform is not, and
Debian's kubernetes-client 1.20 needs a cluster even for a client-side
dry run), so this checks what a typo would break:

  - every document parses and has apiVersion, kind, metadata.name;
  - in each pod template: every volumeMount names a volume of the pod,
    mount paths are unique per container, every ConfigMap, Secret and
    PersistentVolumeClaim a volume or secretKeyRef names is made by the
    manifests or by the setup commands of the file's header comment
    (`kubectl create secret generic NAME`, `kubectl create configmap
    NAME`), and the files an init container copies out of a Secret are
    keys that the setup command gives it (--from-file=KEY=... or
    --from-literal=KEY=...);
  - a Service's selector matches a pod template's labels and its
    targetPort a named containerPort of it;
  - the probes: coordinator readiness and liveness are httpGet on the
    container port whose number is the `http: listen` port of the
    coordinator.yaml it mounts, HTTPS when that has tls; the agent's
    startup and liveness probes run `skein-agent --check` with the same
    --config as the container's args, and it has no readiness probe;
  - the agent's coordinator URL is the coordinator Service's DNS name and
    port.

  k8s_manifests.py check DIR OUT
      check DIR/agent-sidecar.yaml and DIR/coordinator.yaml; write into OUT
      what the shell test runs for real: agent.yaml, coordinator.yaml,
      initdb.sh (the postgres init script), setup-agent-sidecar.sh and
      setup-coordinator.sh (the headers' setup commands),
      init-agent-sidecar.sh and init-coordinator.sh (the init containers'
      scripts), probe-path (the coordinator's probe path), agent-probe
      (the agent probe's command, one word a line). Exit 1 with every
      problem found.
"""
import re
import shlex
import sys

import yaml

problems = []


def bad(msg):
    problems.append(msg)


def header_commands(path):
    """The header comment's shell lines (after '#   '), joined at '\\'."""
    lines = []
    for raw in open(path):
        if not raw.startswith("#"):
            break
        if raw.startswith("#   "):
            lines.append(raw[4:].rstrip("\n"))
    out, cur = [], ""
    for ln in lines:
        if ln.endswith("\\"):
            cur += ln[:-1] + " "
        else:
            out.append(cur + ln)
            cur = ""
    return out


def made_by_setup(cmds):
    """{(kind, name): set of keys} of kubectl create secret/configmap."""
    made = {}
    for c in cmds:
        if not c.startswith("kubectl "):
            continue
        words = shlex.split(c.split("  #")[0], comments=False)
        if "create" not in words:
            continue
        i = words.index("create")
        kind = words[i + 1]
        if kind == "secret":
            name = words[i + 3]
        elif kind == "configmap":
            name = words[i + 2]
        else:
            continue
        keys = set()
        for w in words:
            m = re.match(r"--from-(file|literal)=(.*)", w)
            if not m:
                continue
            v = m.group(2)
            if "=" in v:
                keys.add(v.split("=", 1)[0])
            elif v.endswith("/"):
                keys.add("*")  # a directory: its files
            else:
                keys.add(v.rsplit("/", 1)[-1])
        made[(kind, name)] = keys
    return made


def pod_spec(doc):
    if doc["kind"] in ("Deployment", "StatefulSet"):
        return doc["spec"]["template"]["spec"], doc["spec"]["template"]["metadata"].get("labels", {})
    return None, None


def check(dirname, outdir):
    files = {f: f"{dirname}/{f}" for f in ("agent-sidecar.yaml", "coordinator.yaml")}
    docs = {}
    made = {}
    for f, path in files.items():
        try:
            docs[f] = [d for d in yaml.safe_load_all(open(path)) if d is not None]
        except yaml.YAMLError as e:
            bad(f"{f}: not YAML: {e}")
            continue
        cmds = header_commands(path)
        made[f] = made_by_setup(cmds)
        with open(f"{outdir}/setup-{f.split('.')[0]}.sh", "w") as out:
            out.write("\n".join(cmds) + "\n")
        for d in docs[f]:
            for k in ("apiVersion", "kind"):
                if k not in d:
                    bad(f"{f}: a document without {k}")
            if not d.get("metadata", {}).get("name"):
                bad(f"{f}: a {d.get('kind')} without metadata.name")
    if problems:
        return

    def objects(f, kind):
        return {d["metadata"]["name"]: d for d in docs[f] if d["kind"] == kind}

    for f in files:
        cms = objects(f, "ConfigMap")
        pvcs = objects(f, "PersistentVolumeClaim")
        setup = made[f]
        for d in docs[f]:
            spec, labels = pod_spec(d)
            if spec is None:
                continue
            vols = {v["name"]: v for v in spec.get("volumes", [])}
            claim_templates = {t["metadata"]["name"] for t in d["spec"].get("volumeClaimTemplates", [])}
            for v in vols.values():
                if "configMap" in v:
                    n = v["configMap"]["name"]
                    if n not in cms and ("configmap", n) not in setup:
                        bad(f"{f}: volume {v['name']}: ConfigMap {n} is made neither here nor by the setup commands")
                if "secret" in v:
                    n = v["secret"]["secretName"]
                    if ("secret", n) not in setup:
                        bad(f"{f}: volume {v['name']}: Secret {n} is not made by the setup commands")
                if "persistentVolumeClaim" in v:
                    n = v["persistentVolumeClaim"]["claimName"]
                    if n not in pvcs:
                        bad(f"{f}: volume {v['name']}: no PersistentVolumeClaim {n}")
            containers = spec.get("initContainers", []) + spec["containers"]
            for c in containers:
                seen = set()
                for m in c.get("volumeMounts", []):
                    if m["name"] not in vols and m["name"] not in claim_templates:
                        bad(f"{f}: container {c['name']} mounts {m['name']}, which is no volume of the pod")
                    if m["mountPath"] in seen:
                        bad(f"{f}: container {c['name']} mounts {m['mountPath']} twice")
                    seen.add(m["mountPath"])
                for e in c.get("env", []):
                    ref = e.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        keys = setup.get(("secret", ref["name"]))
                        if keys is None:
                            bad(f"{f}: {c['name']} env {e['name']}: Secret {ref['name']} is not made by the setup commands")
                        elif ref["key"] not in keys:
                            bad(f"{f}: {c['name']} env {e['name']}: Secret {ref['name']} has no key {ref['key']}")
            # What init containers copy out of a Secret volume.
            for c in spec.get("initContainers", []):
                script = " ".join(c.get("command", []))
                open(f"{outdir}/init-{f.split('.')[0]}.sh", "w").write(c["command"][-1])
                for m in c.get("volumeMounts", []):
                    v = vols.get(m["name"], {})
                    if "secret" not in v:
                        continue
                    keys = setup.get(("secret", v["secret"]["secretName"]), set())
                    for used in re.findall(re.escape(m["mountPath"]) + r"/([\w.-]+)", script):
                        if used not in keys:
                            bad(f"{f}: init container {c['name']} copies {m['mountPath']}/{used}, "
                                f"but Secret {v['secret']['secretName']} gets no key {used}")
        for svc in objects(f, "Service").values():
            sel = svc["spec"].get("selector", {})
            pods = [pod_spec(d) for d in docs[f] if pod_spec(d)[0] is not None]
            match = [p for p in pods if all(p[1].get(k) == v for k, v in sel.items())]
            if not match:
                bad(f"{f}: Service {svc['metadata']['name']} selects no pod of this file")
                continue
            names = {p["name"] for s, _ in match for c in s["containers"] for p in c.get("ports", [])}
            for p in svc["spec"]["ports"]:
                t = p.get("targetPort", p["port"])
                if isinstance(t, str) and t not in names:
                    bad(f"{f}: Service {svc['metadata']['name']}: targetPort {t} is no named container port")

    # The coordinator: its config, probes and Service.
    ccms = objects("coordinator.yaml", "ConfigMap")
    cconf_text = ccms["skein-coordinator-config"]["data"]["coordinator.yaml"]
    cconf = yaml.safe_load(cconf_text)
    open(f"{outdir}/coordinator.yaml", "w").write(cconf_text)
    http = cconf.get("http")
    if not http:
        bad("coordinator.yaml: coordinator.yaml has no http: section for the probes")
        return
    http_port = int(http.get("listen", "127.0.0.1:7480").rsplit(":", 1)[1])
    if http.get("listen", "127.0.0.1").startswith("127."):
        bad("coordinator.yaml: http listens on loopback, where the kubelet's probes cannot reach it")
    dep = objects("coordinator.yaml", "Deployment")["skein-coordinator"]
    if dep["spec"].get("strategy", {}).get("type") != "Recreate" or dep["spec"]["replicas"] != 1:
        bad("coordinator.yaml: the Deployment must be one replica, strategy Recreate (one journal)")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for probe in ("readinessProbe", "livenessProbe"):
        g = c.get(probe, {}).get("httpGet")
        if not g:
            bad(f"coordinator.yaml: no {probe} httpGet")
            continue
        port = ports.get(g["port"], g["port"])
        if port != http_port:
            bad(f"coordinator.yaml: {probe} on port {port}, the HTTP API listens on {http_port}")
        if g.get("scheme", "HTTP") != ("HTTPS" if http.get("tls") else "HTTP"):
            bad(f"coordinator.yaml: {probe} scheme {g.get('scheme', 'HTTP')} does not match http.tls")
        open(f"{outdir}/probe-path", "w").write(g["path"] + "\n")
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    if cconf["state"] not in mounts:
        bad(f"coordinator.yaml: state {cconf['state']} is not a mounted volume")
    svc = objects("coordinator.yaml", "Service")["skein-coordinator"]
    ns = svc["metadata"]["namespace"]
    svc_port = svc["spec"]["ports"][0]["port"]
    listen_port = int(cconf["listen"].rsplit(":", 1)[1])
    if ports.get(svc["spec"]["ports"][0]["targetPort"]) != listen_port:
        bad("coordinator.yaml: the Service does not reach the coordinator's listen port")

    # The agent: its config, its probes, the init script.
    acms = objects("agent-sidecar.yaml", "ConfigMap")
    aconf_text = acms["skein-agent-config"]["data"]["agent.yaml"]
    aconf = yaml.safe_load(aconf_text)
    open(f"{outdir}/agent.yaml", "w").write(aconf_text)
    want = f"tls+tcp://skein-coordinator.{ns}.svc.cluster.local:{svc_port}"
    if aconf["coordinator"] != want:
        bad(f"agent-sidecar.yaml: agent.yaml's coordinator {aconf['coordinator']}, the Service is {want}")
    initdb = acms["postgres-af-initdb"]["data"]
    open(f"{outdir}/initdb.sh", "w").write(next(iter(initdb.values())))
    sts = objects("agent-sidecar.yaml", "StatefulSet")["postgres-af"]
    agent = [c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "skein-agent"][0]
    cfg = agent["args"][agent["args"].index("--config") + 1]
    if "readinessProbe" in agent:
        bad("agent-sidecar.yaml: the agent has a readinessProbe (it would take the database out of its Service)")
    for probe in ("startupProbe", "livenessProbe"):
        cmd = agent.get(probe, {}).get("exec", {}).get("command", [])
        if "--check" not in cmd or cmd[cmd.index("--config") + 1] != cfg or cmd[0] != agent["command"][0]:
            bad(f"agent-sidecar.yaml: the agent's {probe} is not `{agent['command'][0]} --check --config {cfg}`")
        else:
            open(f"{outdir}/agent-probe", "w").write("\n".join(cmd) + "\n")
    amounts = {m["mountPath"] for m in agent["volumeMounts"]}
    if aconf["state"] not in amounts:
        bad(f"agent-sidecar.yaml: state {aconf['state']} is not a mounted volume")


def main():
    if len(sys.argv) != 4 or sys.argv[1] != "check":
        print(__doc__, file=sys.stderr)
        return 2
    check(sys.argv[2], sys.argv[3])
    for p in problems:
        print(f"k8s_manifests: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Structured logs (issue 12 item 4): with log_format: json in agent.yaml
# and coordinator.yaml, a rollout whose step fails with a SQL error
# leaves logs in which every line is one JSON object with time, level,
# component and message (and region on the agent's); the agent's lines of
# the run name its rollout, the failing step's its step, and the error
# its SQLSTATE. Fields are never null or empty (they are left out).
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup json_logs
SK_REGIONS=(af in ksa)
SK_REGION_CLUSTERS=(pg pg pg)
sk_cluster pg
sk_db pg af_app
sk_keys
sk_region af af
SK_AGENT_EXTRA="log_format: json" sk_agent_config af "app=pg:af_app"
sk_coordinator_config
echo "log_format: json" >>"$SK_WORK/coordinator/coordinator.yaml"
sk_start_coordinator
sk_start_agent af

sk_write_plan "$SK_WORK/plans/src" jsonlogs 1h '  - name: only
    regions: [af]' "0001_ok=CREATE TABLE json_t (id int);" "0002_div=SELECT 1/0;"
id=$(sk_skein rollout start "$(sk_sign_plan "$SK_WORK/plans/src" jsonlogs)")
if out=$(sk_skein rollout wait "$id" --timeout 30s); then sk_fail "a division by zero succeeded: $out"; fi
sk_assert_contains "$out" "22012" "the step failed with division_by_zero"
sk_stop agent-af
sk_stop coordinator

# The harness writes "--- <time> start: ..." above each daemon's output.
python3 - "$SK_WORK/logs/agent-af.log" "$SK_WORK/logs/coordinator.log" "$id" <<'PY' || sk_fail "the JSON logs are not as documented"
import json, sys
agent_log, coord_log, rollout = sys.argv[1:4]
def records(path, component):
    out = []
    for n, line in enumerate(open(path), 1):
        if line.startswith("--- "):
            continue
        try:
            r = json.loads(line)
        except ValueError as e:
            sys.exit(f"{path}:{n}: not JSON ({e}): {line!r}")
        for k in ("time", "level", "component", "message"):
            assert k in r, f"{path}:{n}: no {k}: {line!r}"
        assert set(r) <= {"time", "level", "component", "region", "rollout", "step",
                          "message", "sqlstate", "detail", "hint"}, f"{path}:{n}: {r}"
        assert all(isinstance(v, str) and v for v in r.values()), f"{path}:{n}: {r}"
        assert r["component"] == component, r
        assert r["level"] in ("debug", "info", "warning", "error"), r
        assert r["time"].endswith("Z") and len(r["time"]) == 24, r
        out.append(r)
    assert out, f"{path}: no records"
    return out
agent = records(agent_log, "skein-agent")
coord = records(coord_log, "skein-coordinator")
assert all(r.get("region") == "af" for r in agent), "an agent line without its region"
assert all("region" not in r for r in coord), "a coordinator line with a region"
run = [r for r in agent if r.get("rollout") == rollout]
assert run, "no agent line names the rollout"
failed = [r for r in run if r.get("sqlstate") == "22012"]
assert failed, f"no agent line with SQLSTATE 22012: {run}"
assert any(r.get("step") == "0002_div" for r in failed), f"the failure does not name its step: {failed}"
print(f"json_logs: {len(agent)} agent and {len(coord)} coordinator records, all JSON")
PY
sk_teardown

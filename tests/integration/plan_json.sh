#!/usr/bin/env bash
# skein plan build --json and skein plan verify --json: the object each
# prints (docs/formats.md, "A plan file as JSON") matches the plan (ids,
# steps, checksums as plan show --json has them, the signer's key id),
# and a failure prints nothing on stdout and writes nothing. No daemons.
set -euo pipefail
SKEIN_SRC=${SKEIN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SKEIN_BIN=${SKEIN_BIN:-$SKEIN_SRC/build}
skein=$SKEIN_BIN/skein
work=$(mktemp -d /tmp/skein-planjson.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() {
	echo "plan_json: $*" >&2
	exit 1
}

"$skein" keygen --out "$work/release" >/dev/null
"$skein" keygen --out "$work/other" >/dev/null
mkdir "$work/regions"
for r in af in ksa; do
	"$skein" keygen --out "$work/agent-$r" >/dev/null
	printf 'name: %s\nresidency: %s\nagent_key: ../agent-%s.pub\n' "$r" "$r" "$r" >"$work/regions/$r.yaml"
done
ex="$SKEIN_SRC/examples/quickstart"

"$skein" plan build "$ex" -o "$work/q.plan" --regions "$work/regions" --json >"$work/build.json" ||
	fail "plan build --json failed"
"$skein" plan show "$work/q.plan" --json >"$work/show.json" 2>/dev/null || fail "plan show --json failed"
"$skein" plan sign "$work/q.plan" --key "$work/release.key" -o "$work/q.signed" >"$work/sign.out"
"$skein" plan verify "$work/q.signed" --pub "$work/other.pub" --pub "$work/release.pub" --json >"$work/verify.json" ||
	fail "plan verify --json failed"
keyid=$(sed -n 's/.* with key \([0-9a-f]*\) .*/\1/p' "$work/sign.out")

python3 - "$work" "$keyid" <<'PY' || fail "the JSON objects do not match the plan (see above)"
import json, sys
work, keyid = sys.argv[1], sys.argv[2]
b = json.load(open(f"{work}/build.json"))
v = json.load(open(f"{work}/verify.json"))
show = json.load(open(f"{work}/show.json"))
keys = ["path", "plan_id", "name", "created", "expires", "signed",
        "signer_key_id", "regions", "phases", "steps"]
for o, what in ((b, "build"), (v, "verify")):
    assert list(o) == keys, f"{what}: keys {list(o)}"
    assert o["name"] == "quickstart", what
    assert o["regions"] == ["af", "in", "ksa"], (what, o["regions"])
    assert [p["name"] for p in o["phases"]] == ["canary", "rest"], what
    assert o["phases"][1]["regions"] == ["in", "ksa"], what
    ids = [s["id"] for s in o["steps"]]
    assert ids == ["0001_create_clients", "0002_add_client_status",
                   "0003_index_clients_tenant", "0004_clients_status_flag"], ids
    assert [s["revert"] for s in o["steps"]] == [True, True, True, False], what
    assert o["created"].endswith("Z") and o["expires"] > o["created"], what
assert b["path"] == f"{work}/q.plan" and v["path"] == f"{work}/q.signed"
assert b["signed"] is False and b["signer_key_id"] is None
assert v["signed"] is True and v["signer_key_id"] == keyid and len(keyid) == 16, (v["signer_key_id"], keyid)
assert b["plan_id"] == v["plan_id"]
# The checksums are the plan's own, as plan show --json has them.
show_steps = {s["id"]: s.get("checksum") for s in show["steps"]}
for s in b["steps"]:
    assert len(s["checksum"]) == 64, s
    assert show_steps[s["id"]] == s["checksum"], (s["id"], show_steps[s["id"]], s["checksum"])
assert b["steps"] == v["steps"]
PY

# Failures: nothing on stdout, the reason on stderr, exit 1.
rc=0
"$skein" plan verify "$work/q.signed" --pub "$work/other.pub" --json >"$work/out" 2>"$work/err" || rc=$?
[[ $rc == 1 ]] || fail "verify with the wrong key: exit $rc, want 1"
[[ ! -s "$work/out" ]] || fail "verify --json printed on stdout on failure: $(cat "$work/out")"
grep -q 'is not a pinned key' "$work/err" || fail "verify --json: stderr lacks the reason: $(cat "$work/err")"
mkdir "$work/bad"
printf 'name: bad\nexpires: 1h\nphases:\n  - name: all\n    regions: [af]\nsteps:\n  - id: s1\n    sql: s1.sql\n' >"$work/bad/plan.yaml"
echo 'SELEC 1;' >"$work/bad/s1.sql"
rc=0
"$skein" plan build "$work/bad" -o "$work/bad.plan" --json >"$work/out" 2>"$work/err" || rc=$?
[[ $rc == 1 ]] || fail "build of a plan whose SQL does not parse: exit $rc, want 1"
[[ ! -s "$work/out" ]] || fail "build --json printed on stdout on failure: $(cat "$work/out")"
[[ ! -e "$work/bad.plan" ]] || fail "a failed build --json wrote $work/bad.plan"
[[ -s "$work/err" ]] || fail "a failed build --json said nothing on stderr"
echo "plan_json: ok"

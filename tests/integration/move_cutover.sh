#!/usr/bin/env bash
# Seed 003's patient cutover as a move (examples/003-patient-cutover):
# tenant-curaway-patients moves from in to ksa.
#   - the rehearsal says READY for ksa with the estimated copy time,
#     freeze and rollback bound, and changes nothing;
#   - the move POSTs the source agent's drain hook once, with the tenant,
#     before the freeze;
#   - its twelve smoke checks (post checks A1-A12) run in the target and
#     pass; the six tables are equal on both sides (psql);
#   - a cutover of another tenant whose smoke check fails aborts: the
#     source stays authoritative (its writes succeed), the target holds
#     none of its rows, no capture trigger is left, the rollout failed
#     naming the check.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

ex="$SKEIN_SRC/examples/003-patient-cutover"
sk_setup move_cutover

# The application's drain endpoint: records each POST's body.
dport=$(sk_free_port)
cat >"$SK_WORK/drain.py" <<'EOF'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with open(sys.argv[2], 'ab') as f:
            f.write(body + b'\n')
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"drained": true}')
    def log_message(self, *a):
        pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
EOF
sk__spawn drain python3 "$SK_WORK/drain.py" "$dport" "$SK_WORK/drained"
SK_MOVES=1 SK_MOVE_DRAIN="http://127.0.0.1:$dport/admin/system/drain-streams" sk_deploy_three

signed=$(sk_sign_plan "$ex/0-schema" patients-schema)
id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id") || sk_fail "schema rollout failed: $out"
for r in af in ksa; do
	"$SK_PGCLUSTER" psql "$SK_WORK/pg" "$(sk_region_cluster "$r")" "${r}_app" -q \
		-v ON_ERROR_STOP=1 -v region="$r" -v patients=400 -f "$ex/fixture/patients.sql" >/dev/null
done
tables="tenants patients cases events documents idempotency_keys"
digest() { # REGION TABLE TENANT
	sk_rpsql "$1" "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM $2 t WHERE tenant_id = '$3'"
}
triggers() { sk_rpsql "$1" "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'skein_move%'"; }

# 1. Rehearsal: READY, estimates, nothing changed.
signed=$(sk_sign_plan "$ex/1-cutover" patient-cutover)
out=$(sk_skein rollout start --rehearse "$signed" 2>&1) || sk_fail "rehearsal failed: $out"
echo "$out"
id=$(grep -Eo 'rehearsal r-[a-z0-9]+' <<<"$out" | head -n 1 | cut -d' ' -f2)
grep -qx "  ksa/app: READY" <<<"$out" || sk_fail "ksa/app is not READY: $out"
grep -Eq "^      move cutover_curaway_patients \(in -> ksa\): [1-9][0-9]* rows, .* MB; copy about .*, writes held about .*, rollback bound " <<<"$out" ||
	sk_fail "the rehearsal does not announce the move's estimates: $out"
rep=$(sk_skein rollout report "$id" --format json)
sk_assert_eq READY "$(jq -r '.moves[0].verdict' <<<"$rep")" "rehearsal verdict"
for k in est_copy_ms est_freeze_ms est_rollback_ms; do
	[[ "$(jq ".moves[0].$k" <<<"$rep")" -gt 0 ]] || sk_fail "rehearsal: no $k in $rep"
done
sk_assert_contains "$(sk_skein rollout report "$id")" "estimated copy" "the record shows the estimates"
sk_assert_eq 0 "$(sk_rpsql ksa "SELECT count(*) FROM patients WHERE tenant_id = 'tenant-curaway-patients'")" "rehearsal copied nothing"
sk_assert_eq 0 "$(triggers in)" "rehearsal installed nothing in the source"
[[ ! -s "$SK_WORK/drained" ]] || sk_fail "the rehearsal called the drain hook"

# 2. The cutover.
id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id") || sk_fail "cutover failed: $out"
for t in $tables; do
	src=$(digest in "$t" tenant-curaway-patients)
	sk_assert_eq "$src" "$(digest ksa "$t" tenant-curaway-patients)" "ksa's $t equal in's"
	[[ "${src%% *}" -gt 0 ]] || sk_fail "in has no $t rows of the tenant"
done
sk_assert_eq 1 "$(wc -l <"$SK_WORK/drained")" "the drain hook was called once"
sk_assert_eq tenant-curaway-patients "$(jq -r .tenant "$SK_WORK/drained")" "the drain hook named the tenant"
rep=$(sk_skein rollout report "$id" --format json)
smoke=$(jq '[.regions[] | select(.name == "ksa") | .databases[].steps[].checks[] | select(.when == "post" and .passed)] | length' <<<"$rep")
sk_assert_eq 12 "$smoke" "twelve smoke checks passed in ksa"
sk_assert_eq true "$(jq '.moves[0].verified and .moves[0].verified_in_freeze' <<<"$rep")" "both sides' signed sums agree"
if err=$(sk_rpsql in "UPDATE patients SET full_name = 'x' WHERE tenant_id = 'tenant-curaway-patients'" 2>&1); then
	sk_fail "the moved tenant is still writable in in"
fi
sk_assert_contains "$err" "moved to region ksa" "in refuses the moved tenant"

# 3. A cutover whose smoke check fails aborts it. (The moved tenant's
#    guard stays in the source, by design: count what is added.)
guards=$(triggers in)
bad="$SK_WORK/plans/bad-cutover"
mkdir -p "$bad"
sed -e 's/tenant-curaway-patients/tenant-clinic-in/g' -e 's/^name: patient-cutover/name: clinic-cutover/' \
	"$ex/1-cutover/plan.yaml" >"$bad/plan.yaml"
cat >>"$bad/plan.yaml" <<'EOF'
      - name: a13_always_fails
        sql: SELECT count(*) FROM patients WHERE tenant_id = 'tenant-clinic-in'
        expect: 0
EOF
signed=$(sk_sign_plan "$bad" clinic-cutover)
id=$(sk_skein rollout start "$signed")
if out=$(sk_skein rollout wait "$id"); then
	sk_fail "a cutover with a failing smoke check succeeded: $out"
fi
sk_assert_contains "$(sk_skein rollout status "$id")" "a13_always_fails" "status names the failing check"
sk_assert_eq 0 "$(sk_rpsql ksa "SELECT count(*) FROM patients WHERE tenant_id = 'tenant-clinic-in'")" "the target holds none of the aborted tenant's rows"
sk_assert_eq 0 "$(sk_rpsql ksa "SELECT count(*) FROM tenant_directory WHERE tenant_id = 'tenant-clinic-in'")" "the target's directory was not flipped"
sk_assert_eq in "$(sk_rpsql in "SELECT region FROM tenant_directory WHERE tenant_id = 'tenant-clinic-in'")" "the source still routes the tenant to itself"
sk_rpsql in "UPDATE patients SET full_name = full_name || '.' WHERE id = (SELECT min(id) FROM patients WHERE tenant_id = 'tenant-clinic-in')" >/dev/null
sk_assert_eq "$guards" "$(triggers in)" "the aborted move left no trigger in the source"
sk_assert_eq 0 "$(triggers ksa)" "no guard left in the target"
echo "move_cutover: ok"

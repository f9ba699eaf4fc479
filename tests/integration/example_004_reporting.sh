#!/usr/bin/env bash
# examples/004-reporting-rollout (seed 004's green-field rollout of
# reporting-service) across three regions, its five phases as five plans,
# each requiring the one before:
#
# 0 foundation: the schema with RLS, canary af soaks with its RLS check
#   sampled, then in and ksa;
# 1 internal canary: feature.reporting_v1 for the internal tenant, af only;
# 2 pilots: one pilot hotel per residency; the phase after af waits for
#   priya's approval (the starter's own is refused);
# 3 regulatory opt-in: two compliance approvals (amina, omar);
# 4 general availability, per residency cohort: af soaks healthy; in is
#   approved, and while it soaks its database rolls back transactions far
#   above the gate's rollbacks_per_s: the gate halts the rollout naming the
#   signal, its value and the threshold, ksa is never started, and
#   `rollout rollback` turns the flag off again by flag flip in every
#   region it reached (the pilots keep theirs, set by their own plan).
#
# Checked with the application's own question, skein.flag(name, tenant),
# in each region, and with the reports (gates judged, approvals, flips).
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

EX="$SKEIN_SRC/examples/004-reporting-rollout"
FLAG=feature.reporting_v1

sk_setup example_004_reporting
skein=$SKEIN_BIN/skein
sk_keys
for k in priya amina omar; do "$skein" keygen --out "$SK_WORK/keys/$k" >/dev/null; done
SK_COORDINATOR_EXTRA="  - {name: priya, key: ../keys/priya.pub, role: approver}
  - {name: amina, key: ../keys/amina.pub, role: approver}
  - {name: omar, key: ../keys/omar.pub, role: approver}"
sk_deploy_three

for r in af in ksa; do
	"$SK_PGCLUSTER" psql "$SK_WORK/pg" "$(sk_region_cluster "$r")" "${r}_app" \
		-q -v ON_ERROR_STOP=1 -v residency="$r" <"$EX/fixture/tenants.sql" ||
		sk_fail "$r: loading the tenants failed"
done

as() {
	local who=$1
	shift
	SKEIN_KEY=$SK_WORK/keys/$who.key sk_skein "$@"
}
# flag REGION TENANT: what the application's request-entry check reads.
flag() { sk_rpsql "$1" "select coalesce(skein.flag('$FLAG', '$2'), 'unset')"; }
# run PLANDIR NAME: build, sign and start it; prints the rollout id.
start() {
	local signed
	signed=$(sk_sign_plan "$EX/$1" "$2")
	sk_skein rollout start "$signed"
}
succeeded() {
	local out
	out=$(sk_skein rollout wait "$1" --timeout 90s) || sk_fail "$2 did not succeed: $out"
	sk_assert_eq "rollout $1: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "$2: final line"
}

# --- 0 foundation --------------------------------------------------------
id0=$(start 0-foundation foundation)
soaking() { sk_skein rollout status "$id0" | grep -q "gate: phase canary waits for soak"; }
sk_wait_until 30 soaking || sk_fail "the foundation's canary never soaked: $(sk_skein rollout status "$id0")"
succeeded "$id0" foundation
for r in af in ksa; do
	sk_assert_eq t "$(sk_rpsql "$r" "select relrowsecurity from pg_class where relname = 'report_runs'")" "$r: report_runs has RLS"
done
report=$(sk_skein rollout report "$id0")
sk_assert_contains "$report" "## Gates and approvals" "foundation: the report has its gates"
sk_assert_contains "$report" "tenant_tables_without_rls" "foundation: the sampled check is in the report"

# --- 1 internal canary ---------------------------------------------------
id1=$(start 1-internal-canary internal-canary)
succeeded "$id1" internal-canary
sk_assert_eq true "$(flag af internal-ops)" "af: the internal tenant has the feature"
sk_assert_eq unset "$(flag af hotel-af-002)" "af: a hotel has not"
sk_assert_eq unset "$(flag in hotel-in-001)" "in: nobody has it"

# --- 2 pilots ------------------------------------------------------------
id2=$(start 2-pilots pilots)
if out=$(sk_skein rollout approve "$id2" --phase pilot-in-ksa 2>&1); then
	sk_fail "admin, not among the approvers, approved: $out"
fi
sk_assert_contains "$out" "not one of the phase's approvers" "pilots: only priya may approve"
waiting() { sk_skein rollout status "$id2" | grep -q "phase pilot-in-ksa waits for approval 0/1"; }
sk_wait_until 40 waiting || sk_fail "the pilots outside af never waited for approval: $(sk_skein rollout status "$id2")"
sk_assert_eq unset "$(flag in hotel-in-001)" "in: the pilot waits for the approval"
as priya rollout approve "$id2" --phase pilot-in-ksa >/dev/null || sk_fail "priya could not approve"
succeeded "$id2" pilots
for r in af in ksa; do
	sk_assert_eq true "$(flag "$r" "hotel-$r-001")" "$r: the pilot hotel has the feature"
	sk_assert_eq unset "$(flag "$r" "hotel-$r-002")" "$r: other hotels have not"
done

# --- 3 regulatory opt-in -------------------------------------------------
id3=$(start 3-regulatory regulatory)
as amina rollout approve "$id3" --phase af >/dev/null || sk_fail "amina could not approve"
as omar rollout approve "$id3" --phase af >/dev/null || sk_fail "omar could not approve"
succeeded "$id3" regulatory
sk_assert_eq true "$(sk_rpsql af "select skein.flag('feature.reporting_police_af', 'hotel-af-001')")" "af: police submission for the AF pilot"
sk_assert_eq true "$(sk_rpsql ksa "select skein.flag('feature.reporting_vat_ksa', 'hotel-ksa-001')")" "ksa: VAT for the KSA pilot"
report=$(sk_skein rollout report "$id3")
grep -Eq '^\| af \| amina \| `[0-9a-f]+` \|' <<<"$report" || sk_fail "the report does not list amina's approval: $report"
grep -Eq '^\| af \| omar \| `[0-9a-f]+` \|' <<<"$report" || sk_fail "the report does not list omar's approval: $report"

# --- 4 general availability: a health gate halts, the flag rolls back ----
id4=$(start 4-general-availability ga)
soaking_af() { sk_skein rollout status "$id4" | grep -q "gate: phase af waits for soak"; }
sk_wait_until 30 soaking_af || sk_fail "GA's af cohort never soaked: $(sk_skein rollout status "$id4")"
sk_assert_eq true "$(flag af hotel-af-017)" "af: every tenant has the feature in GA"
# in's database starts rolling back transactions (a bad deploy of the
# service, say): hundreds a second, against a gate of 2.
conninfo_in=$(sk_conninfo "$(sk_region_cluster in)" in_app)
(
	while :; do
		for _ in $(seq 500); do echo 'BEGIN; SELECT 1; ROLLBACK;'; done |
			psql -q -X "$conninfo_in" >/dev/null 2>&1 || true
	done
) &
storm=$!
trap 'kill $storm 2>/dev/null || true' EXIT
as priya rollout approve "$id4" --phase in >/dev/null || sk_fail "priya could not approve GA in"
if out=$(sk_skein rollout wait "$id4" --timeout 90s); then
	sk_fail "GA went through while in rolled back hundreds of transactions a second: $out"
fi
kill $storm 2>/dev/null || true
wait $storm 2>/dev/null || true
trap - EXIT
sk_assert_contains "$out" "rollbacks_per_s" "the halt names the signal"
grep -Eq "gate health rollbacks_per_s in in/app failed: [0-9.e+]+ is over the threshold 2" <<<"$out" ||
	grep -Eq "rollbacks_per_s in in/app failed: [0-9.e+]+ is over the threshold 2" <<<"$(sk_skein rollout status "$id4")" ||
	sk_fail "the halt does not give the value judged and the threshold: $out"
sk_assert_contains "$(sk_skein rollout status "$id4" --json)" '"state": "failed"' "GA halted"
sk_assert_eq true "$(flag in hotel-in-009)" "in: the cohort was flipped before its soak"
sk_assert_eq unset "$(flag ksa hotel-ksa-009)" "ksa: never started"

# Rollback by flag flip: af and in lose the GA value; the pilots keep theirs.
rb=$(sk_skein rollout rollback --yes "$id4")
out=$(sk_skein rollout wait "$rb" --timeout 90s) || sk_fail "the rollback by flag did not succeed: $out"
for r in af in; do
	sk_assert_eq unset "$(flag "$r" "hotel-$r-009")" "$r: the GA flag is off again"
	sk_assert_eq true "$(flag "$r" "hotel-$r-001")" "$r: the pilot keeps its own flag"
done
sk_assert_eq true "$(flag af internal-ops)" "af: the internal tenant keeps its flag"
report=$(sk_skein rollout report "$id4")
sk_assert_contains "$report" "rollbacks_per_s" "the GA report shows the value the gate judged"
rreport=$(sk_skein rollout report "$rb")
sk_assert_contains "$rreport" "Feature flags" "the rollback's report lists its flips"
echo "PASS example_004_reporting"

#!/usr/bin/env bash
# Tenant data stays in the region (DESIGN.md decision 3). A step whose
# CREATE UNIQUE INDEX fails on duplicated e-mail addresses gets PostgreSQL's
# DETAIL "Key (email)=(...) is duplicated." and a check that reads a row
# value gets that value: neither crosses to the coordinator — not on the
# wire (a packet capture of the agent's link), not in the coordinator's
# journal, not in `rollout status --json`, `wait` or `report`. The region's
# skein schema keeps both whole. A check that opts in (report_value: true)
# does report its value; figures (counts) always do.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_private_detail
command -v tcpdump >/dev/null || sk_fail "tcpdump is not installed (tests/lib/install-deps.sh installs it)"
# Plain TCP: the capture must show what the agents send, which TLS would
# hide (fault_tls.sh checks that it does).
SK_PLAIN_TCP=1
sk_deploy_three

secret=alice.private@af.example
for r in af in ksa; do
	sk_rpsql "$r" "create table users (id int primary key, tenant_id int not null, email text);
		insert into users values (1, 1, '$secret'), (2, 1, '$secret'), (3, 2, 'bob@$r.example')" >/dev/null
done

plan="$SK_WORK/plans/private-src"
mkdir -p "$plan"
cat >"$plan/plan.yaml" <<'YAML'
name: private
expires: 1h
phases:
  - name: canary
    regions: [af]
  - name: rest
    regions: [in, ksa]
steps:
  - id: 0001_count
    kind: check
    checks:
      - name: users_present
        sql: SELECT count(*) FROM users
        expect: ">= 3"
      - name: first_email
        sql: SELECT email FROM users WHERE id = 1
        expect: "!= nobody"
      - name: third_email_reported
        sql: SELECT email FROM users WHERE id = 3
        expect: "!= nobody"
        report_value: true
  - id: 0002_unique_email
    sql: 0002.sql
    waive:
      - rule: index-not-concurrent
        reason: a three-row test table
YAML
echo "CREATE UNIQUE INDEX users_email ON users (email);" >"$plan/0002.sql"
signed=$(sk_sign_plan "$plan" private)

# Capture the agents' link to the coordinator while the rollout runs.
pcap="$SK_WORK/wire.pcap"
tcpdump -i lo -U -s 0 -w "$pcap" "tcp port $SK_LISTEN_PORT" >"$SK_WORK/logs/tcpdump.log" 2>&1 &
tcpdump_pid=$!
trap 'kill $tcpdump_pid 2>/dev/null || true' EXIT
sk_wait_until 10 grep -q 'listening on' "$SK_WORK/logs/tcpdump.log" || sk_fail "tcpdump did not start"

id=$(sk_skein rollout start "$signed")
if out=$(sk_skein rollout wait "$id"); then
	sk_fail "a failing unique index succeeded: $out"
fi
status=$(sk_skein rollout status "$id" --json)
report=$(sk_skein rollout report "$id" --format json)
sleep 1
kill "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null || true

sk_assert_contains "$out" "23505" "the wait names the SQLSTATE"
sk_assert_contains "$out" "users_email" "the wait names the index"
sk_assert_contains "$status" '"sqlstate": "23505"' "status keeps the SQLSTATE"
sk_assert_contains "$status" "withheld from the control plane" "status says where the DETAIL is"
# The opted-in value and the figure cross; the text value does not.
sk_assert_contains "$report" "bob@af.example" "a check with report_value: true reports its value"
sk_assert_contains "$report" '"seen": "3"' "a count crosses as a figure"
sk_assert_contains "$report" "[withheld]" "a text value is withheld"

[[ -s "$pcap" ]] || sk_fail "the packet capture is empty"
[[ $(stat -c %s "$pcap") -gt 2000 ]] || sk_fail "the capture holds too little to prove anything ($(stat -c %s "$pcap") bytes)"
grep -aq "0002_unique_email" "$pcap" || sk_fail "the capture does not show the agent's reports (wrong port?)"
for where in "wire capture:$pcap" "journal:$SK_WORK/coordinator/state/journal"; do
	file=${where#*:}
	if grep -aq "$secret" "$file"; then
		sk_fail "the private value is in the ${where%%:*}"
	fi
done
for text in "$out" "$status" "$report"; do
	if grep -q "$secret" <<<"$text"; then
		sk_fail "the private value reached the CLI: $(grep -o ".\{60\}$secret.\{20\}" <<<"$text" | head -n 1)"
	fi
done

# The region keeps it: PostgreSQL's DETAIL in skein.events, the value in
# skein.checks.
sk_assert_contains "$(sk_rpsql af "select detail from skein.events where step_id = '0002_unique_email'")" \
	"$secret" "skein.events in the region has the DETAIL"
sk_assert_contains "$(sk_rpsql af "select seen from skein.checks where name = 'first_email'")" \
	"$secret" "skein.checks in the region has the value"
# Nothing was left half-done: the index does not exist, the rows are intact.
sk_assert_eq "" "$(sk_rpsql af "select to_regclass('public.users_email')")" "no index left behind"
sk_assert_eq 3 "$(sk_rpsql af "select count(*) from users")" "the rows are intact"
echo "PASS fault_private_detail"

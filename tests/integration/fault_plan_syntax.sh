#!/usr/bin/env bash
# SQL the parser refuses and SQL the lint refuses, end to end through the
# CLI: `plan build` names file, line and the parser's message and writes no
# plan; `plan lint` exits 1 on an unwaived error and names the rule; a
# waiver with a reason lets the plan build, and `plan show` prints it.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_plan_syntax
skein=$SKEIN_BIN/skein
sk_keys
for r in af in ksa; do sk_region "$r" "$r"; done
plans=$SK_WORK/plans
regions=$SK_WORK/regions

# run_rc VAR_OUT VAR_RC CMD...: run, keeping combined output and status.
run_rc() {
	local __o=$1 __r=$2 __out __rc=0
	shift 2
	__out=$("$@" 2>&1) || __rc=$?
	printf -v "$__o" '%s' "$__out"
	printf -v "$__r" '%s' "$__rc"
}

# A syntax error on line 3 of the second step's file.
sk_write_plan "$plans/bad" bad 1h "$SK_TWO_PHASES" \
	"0001_ok=CREATE TABLE ok_t (id int);" \
	"0002_bad=-- a comment line
SELECT 1;
CREATE TABEL oops (id int);"
run_rc out rc "$skein" plan build "$plans/bad" -o "$plans/bad.plan" --regions "$regions"
sk_assert_eq 1 "$rc" "plan build exit status on a syntax error"
sk_assert_contains "$out" "$plans/bad/0002_bad.sql:3: syntax error at or near \"TABEL\"" \
	"build names file, line and the parser's message"
sk_assert_contains "$out" "line 3: CREATE TABEL oops (id int);" "build shows the line"
[[ ! -e "$plans/bad.plan" ]] || sk_fail "a build with a syntax error wrote its output"
run_rc out rc "$skein" plan lint "$plans/bad" --regions "$regions"
sk_assert_eq 1 "$rc" "plan lint exit status on a syntax error"
sk_assert_contains "$out" "0002_bad.sql:3: syntax error at or near \"TABEL\"" "lint names it too"

# A syntax error in a verify script is caught as well, at build time.
sk_write_plan "$plans/badverify" badverify 1h "$SK_TWO_PHASES" "0001_ok=SELECT 1;"
printf 'SELECT count(*\nFROM pg_class;\n' >"$plans/badverify/0001_ok.verify.sql"
printf '    verify: 0001_ok.verify.sql\n' >>"$plans/badverify/plan.yaml"
run_rc out rc "$skein" plan build "$plans/badverify" -o "$plans/badverify.plan" --regions "$regions"
sk_assert_eq 1 "$rc" "plan build exit status on a bad verify script"
sk_assert_contains "$out" "$plans/badverify/0001_ok.verify.sql:2: syntax error at or near \"FROM\"" \
	"the verify file and line are named"
[[ ! -e "$plans/badverify.plan" ]] || sk_fail "a build with a bad verify script wrote its output"

# An unwaived DROP COLUMN: lint exits 1 naming the rule; build refuses.
sk_write_plan "$plans/drop" drop 1h "$SK_TWO_PHASES" \
	"0001_drop=ALTER TABLE clients DROP COLUMN legacy_status;"
run_rc out rc "$skein" plan lint "$plans/drop" --regions "$regions"
sk_assert_eq 1 "$rc" "plan lint exit status on an unwaived error"
sk_assert_contains "$out" "$plans/drop/0001_drop.sql:1: error drop-column: drops column legacy_status of clients" \
	"the finding names file, line, severity and rule"
sk_assert_contains "$out" "  fix: " "the finding says how to fix it"
sk_assert_contains "$out" "1 blocking" "the summary counts it"
run_rc out rc "$skein" plan build "$plans/drop" -o "$plans/drop.plan" --regions "$regions"
sk_assert_eq 1 "$rc" "plan build exit status on an unwaived error"
sk_assert_contains "$out" "1 lint error not waived: drop-column ($plans/drop/0001_drop.sql:1)" "build says why"
sk_assert_contains "$out" "hint: " "build says what to do"
[[ ! -e "$plans/drop.plan" ]] || sk_fail "a build refused by the lint wrote its output"
run_rc out rc "$skein" plan lint "$plans/drop" --regions "$regions" --json
sk_assert_eq 1 "$rc" "plan lint --json exit status on an unwaived error"
sk_assert_contains "$out" '"rule": "drop-column"' "the JSON names the rule"
sk_assert_contains "$out" '"blocking": 1' "the JSON counts it"

# A foreign key written on ADD COLUMN validates every existing row at
# once: the lint names it (it used to let it through), and VACUUM FULL in
# a transaction: false step is a table rewrite.
sk_write_plan "$plans/addfk" addfk 1h "$SK_TWO_PHASES" \
	"0001_fk=ALTER TABLE orders
  ADD COLUMN note text,
  ADD COLUMN client_id bigint REFERENCES clients (id);"
run_rc out rc "$skein" plan lint "$plans/addfk" --regions "$regions"
sk_assert_eq 1 "$rc" "plan lint exit status on ADD COLUMN ... REFERENCES"
sk_assert_contains "$out" "$plans/addfk/0001_fk.sql:1: error constraint-not-valid: adds column client_id to orders with a FOREIGN KEY constraint" \
	"the finding names the column and the rule"
sk_write_plan "$plans/vacfull" vacfull 1h "$SK_TWO_PHASES" "0001_vac=VACUUM FULL orders;"
printf '    transaction: false\n' >>"$plans/vacfull/plan.yaml"
run_rc out rc "$skein" plan build "$plans/vacfull" -o "$plans/vacfull.plan" --regions "$regions"
sk_assert_eq 1 "$rc" "plan build exit status on VACUUM FULL"
sk_assert_contains "$out" "table-rewrite" "the build names the rule"
[[ ! -e "$plans/vacfull.plan" ]] || sk_fail "a build refused by table-rewrite wrote its output"

# TRUNCATE of a table the plan did not create loses its rows (of the one
# it creates, it does not fire); LOCK TABLE in a transaction: false step
# fails at run time; renaming a constraint only warns.
sk_write_plan "$plans/trunc" trunc 1h "$SK_TWO_PHASES" \
	"0001_trunc=CREATE TABLE scratch (id int);
TRUNCATE scratch;
TRUNCATE orders;
ALTER TABLE orders RENAME CONSTRAINT orders_ref_key TO orders_ref_uniq;" \
	"0002_lock=LOCK TABLE orders;"
printf '    transaction: false\n' >>"$plans/trunc/plan.yaml"
run_rc out rc "$skein" plan lint "$plans/trunc" --regions "$regions"
sk_assert_eq 1 "$rc" "plan lint exit status on TRUNCATE and LOCK TABLE"
sk_assert_contains "$out" "$plans/trunc/0001_trunc.sql:3: error truncate: truncates table orders, and orders is not created by this plan" \
	"TRUNCATE of an existing table is named at its line"
[[ "$out" != *"truncates table scratch"* ]] || sk_fail "TRUNCATE of the plan's own table fired: $out"
sk_assert_contains "$out" "$plans/trunc/0002_lock.sql:1: error lock-outside-transaction: LOCK TABLE orders can only be used in a transaction block" \
	"LOCK TABLE in a transaction: false step is named"
sk_assert_contains "$out" "$plans/trunc/0001_trunc.sql:4: warning rename-index-or-constraint: renames constraint orders_ref_key of orders" \
	"a constraint rename is a warning"
# (the two others: no-revert, as neither step has a revert script)
sk_assert_contains "$out" "2 errors, 3 warnings, 0 waived; 2 blocking" "only the two errors block"

# A waiver naming a rule that does not exist is refused at its line.
cp -r "$plans/drop" "$plans/typo"
printf '    waive:\n      - rule: drop-colum\n        reason: typo\n' >>"$plans/typo/plan.yaml"
run_rc out rc "$skein" plan build "$plans/typo" -o "$plans/typo.plan" --regions "$regions"
sk_assert_eq 1 "$rc" "plan build exit status on an unknown waived rule"
sk_assert_contains "$out" "unknown lint rule \"drop-colum\"" "the unknown rule is named"
[[ "$out" =~ plan\.yaml:[0-9]+:[0-9]+ ]] || sk_fail "the waiver's line should be named: $out"
[[ ! -e "$plans/typo.plan" ]] || sk_fail "a build with an unknown waiver wrote its output"

# With a waiver and its reason: lint passes, build writes the plan, and
# the reason travels in it.
reason="legacy_status unread since release 41; backup taken by the plan"
printf '    waive:\n      - rule: drop-column\n        reason: "%s"\n' "$reason" >>"$plans/drop/plan.yaml"
run_rc out rc "$skein" plan lint "$plans/drop" --regions "$regions"
sk_assert_eq 0 "$rc" "plan lint exit status with the error waived"
sk_assert_contains "$out" "error drop-column" "the waived finding is still shown"
sk_assert_contains "$out" "waived (reason: $reason)" "with its reason"
sk_assert_contains "$out" "0 blocking" "and does not block"
run_rc out rc "$skein" plan build "$plans/drop" -o "$plans/drop.plan" --regions "$regions"
sk_assert_eq 0 "$rc" "plan build exit status with the error waived"
[[ -s "$plans/drop.plan" ]] || sk_fail "the waived plan was not written"
run_rc out rc "$skein" plan show "$plans/drop.plan"
sk_assert_eq 0 "$rc" "plan show exit status"
sk_assert_contains "$out" "drop-column" "plan show names the waived rule"
sk_assert_contains "$out" "$reason" "plan show prints the waiver's reason"

# The rule list, and usage errors.
run_rc out rc "$skein" plan lint --rules
sk_assert_eq 0 "$rc" "plan lint --rules exit status"
for rule in rename-in-one-step drop-column drop-table index-not-concurrent \
	concurrent-index-unnamed constraint-not-valid alter-column-type \
	tenant-table-without-rls non-transactional-in-transaction \
	transaction-control session-set table-rewrite truncate \
	lock-outside-transaction rename-index-or-constraint; do
	sk_assert_contains "$out" "$rule" "plan lint --rules lists $rule"
done
run_rc out rc "$skein" plan lint
sk_assert_eq 2 "$rc" "plan lint without PLAN_DIR"
run_rc out rc "$skein" plan lint "$plans/drop" --bogus
sk_assert_eq 2 "$rc" "plan lint with an unknown option"

# The shipped quickstart passes the lint.
run_rc out rc "$skein" plan lint "$SKEIN_SRC/examples/quickstart" --regions "$regions"
sk_assert_eq 0 "$rc" "the quickstart example lints clean: $out"
echo "PASS fault_plan_syntax"

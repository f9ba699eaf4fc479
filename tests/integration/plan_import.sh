#!/usr/bin/env bash
# skein plan import: a Flyway, a golang-migrate and a Sqitch directory
# become plan directories that keep ids, order, reverts and verify scripts,
# say on stderr what they could not carry, pass plan lint and plan build,
# and roll out to three regions. A Sqitch verify that returns 1 passes; one
# that raises fails its step, which is rolled back. Bad sources and a
# non-empty -o are refused with the reason, and nothing is written.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup plan_import
skein=$(sk__bin skein)
src="$SK_WORK/src"
out="$SK_WORK/imported"
mkdir -p "$src" "$out"

# import TOOL DIR NAME: import into $out/NAME; stderr to $out/NAME.err.
import() {
	"$skein" plan import --from "$1" "$2" -o "$out/$3" --phase canary=af --phase rest=in,ksa 2>"$out/$3.err"
}

# --- Flyway -----------------------------------------------------------------
fw="$src/flyway"
mkdir -p "$fw"
echo "CREATE TABLE fw_accounts (id bigint PRIMARY KEY, name text NOT NULL);" >"$fw/V1__create_accounts.sql"
echo "DROP TABLE fw_accounts;" >"$fw/U1__create_accounts.sql"
printf 'BEGIN;\nALTER TABLE fw_accounts ADD COLUMN email text;\nCOMMIT;\n' >"$fw/V1_1__add_email.sql"
echo "INSERT INTO fw_accounts (id, name) VALUES (1, 'owner \${owner}');" >"$fw/V10__seed.sql"
echo "INSERT INTO fw_accounts (id, name) VALUES (2, 'two');" >"$fw/V2__second.sql"
echo "CREATE OR REPLACE VIEW fw_v AS SELECT 1 AS one;" >"$fw/R__views.sql"
echo "SELECT 1;" >"$fw/afterMigrate.sql"
echo "flyway.placeholders.owner=x" >"$fw/flyway.conf"
import flyway "$fw" fw || sk_fail "flyway import failed: $(cat "$out/fw.err")"
err=$(cat "$out/fw.err")
sk_assert_contains "$err" "R__views.sql: a repeatable migration: not carried" "flyway: R__ named"
sk_assert_contains "$err" "afterMigrate.sql: a Flyway callback: not carried" "flyway: callback named"
sk_assert_contains "$err" "V10__seed.sql: holds \${...}: placeholders are not substituted" "flyway: placeholder named"
sk_assert_contains "$err" "3 of 4 migrations have no undo script" "flyway: missing undo counted"
sk_assert_contains "$err" "BEGIN/COMMIT/ROLLBACK removed from 1 script" "flyway: BEGIN/COMMIT removed"
# Numeric order of version parts: 1, 1.1, 2, 10 (not 1, 1.1, 10, 2).
sk_assert_eq "V1__create_accounts V1_1__add_email V2__second V10__seed" \
	"$(sed -n 's/^  - id: "\(.*\)"$/\1/p' "$out/fw/plan.yaml" | tr '\n' ' ' | sed 's/ $//')" "flyway: ids in version order"
grep -q 'revert: "U1__create_accounts.sql"' "$out/fw/plan.yaml" || sk_fail "flyway: the undo script is not the revert"
if grep -q "COMMIT;" "$out/fw/V1_1__add_email.sql"; then sk_fail "flyway: COMMIT left in the script"; fi

# --- golang-migrate -----------------------------------------------------------
gm="$src/migrate"
mkdir -p "$gm"
echo "CREATE TABLE gm_items (id bigint PRIMARY KEY, sku text);" >"$gm/000001_create_items.up.sql"
echo "DROP TABLE gm_items;" >"$gm/000001_create_items.down.sql"
echo "CREATE INDEX CONCURRENTLY IF NOT EXISTS gm_items_sku ON gm_items (sku);" >"$gm/000002_index_sku.up.sql"
echo "notes" >"$gm/README.md"
import golang-migrate "$gm" gm || sk_fail "golang-migrate import failed: $(cat "$out/gm.err")"
err=$(cat "$out/gm.err")
sk_assert_contains "$err" "1 of 2 migrations have no .down.sql" "golang-migrate: missing down counted"
sk_assert_contains "$err" "README.md: not a golang-migrate SQL file" "golang-migrate: other file named"
sk_assert_eq "000001_create_items 000002_index_sku" \
	"$(sed -n 's/^  - id: "\(.*\)"$/\1/p' "$out/gm/plan.yaml" | tr '\n' ' ' | sed 's/ $//')" "golang-migrate: ids and order"
grep -q "transaction: false" "$out/gm/plan.yaml" || sk_fail "golang-migrate: the concurrent index is not transaction: false"

# --- Sqitch -------------------------------------------------------------------
sq="$src/sqitch"
mkdir -p "$sq"/{deploy,revert,verify}
printf '[core]\n\tengine = pg\n' >"$sq/sqitch.conf"
cat >"$sq/sqitch.plan" <<'EOF'
%syntax-version=1.0.0
%project=flipr
%uri=https://example.com/flipr/

appschema 2013-12-30T23:19:49Z Marge N. O'Vera <marge@example.com> # App schema for all flipr objects.
users [appschema !legacy] 2013-12-30T23:49:00Z Marge <marge@example.com> # Creates table to track our users.
@v1.0 2013-12-31T00:00:00Z Marge <marge@example.com> # Tag v1.0.
users [users@v1.0] 2014-01-02T00:00:00Z Marge <marge@example.com> # Users get an email.
EOF
printf 'BEGIN;\nCREATE SCHEMA flipr;\nCOMMIT;\n' >"$sq/deploy/appschema.sql"
printf 'BEGIN;\nDROP SCHEMA flipr;\nCOMMIT;\n' >"$sq/revert/appschema.sql"
printf -- "-- Verify flipr:appschema on pg\nBEGIN;\nSELECT 1/count(*) FROM pg_catalog.pg_namespace WHERE nspname = 'flipr';\nROLLBACK;\n" >"$sq/verify/appschema.sql"
printf 'BEGIN;\nCREATE TABLE flipr.users (nickname text PRIMARY KEY);\nCOMMIT;\n' >"$sq/deploy/users@v1.0.sql"
echo "DROP TABLE flipr.users;" >"$sq/revert/users@v1.0.sql"
echo "SELECT nickname FROM flipr.users WHERE false;" >"$sq/verify/users@v1.0.sql"
echo "ALTER TABLE flipr.users ADD COLUMN email text;" >"$sq/deploy/users.sql"
echo "ALTER TABLE flipr.users DROP COLUMN email;" >"$sq/revert/users.sql"
echo "-- XXX Add verifications here." >"$sq/verify/users.sql"
import sqitch "$sq" sq || sk_fail "sqitch import failed: $(cat "$out/sq.err")"
err=$(cat "$out/sq.err")
sk_assert_contains "$err" "tags @v1.0 are not carried" "sqitch: tags named"
sk_assert_contains "$err" "sqitch.plan:6: users conflicts with legacy: not carried" "sqitch: conflict named with its line"
sk_assert_contains "$err" "sqitch.plan:8: users is reworked after @v1.0: imported as step users.v1.0" "sqitch: rework named"
sk_assert_contains "$err" "1 of 3 changes have no verify script with a statement" "sqitch: empty verify counted"
sk_assert_eq "appschema users users.v1.0" \
	"$(sed -n 's/^  - id: "\(.*\)"$/\1/p' "$out/sq/plan.yaml" | tr '\n' ' ' | sed 's/ $//')" "sqitch: ids and order"
grep -q 'sql: "deploy/users@v1.0.sql"' "$out/sq/plan.yaml" || sk_fail "sqitch: the earlier users is not deploy/users@v1.0.sql"
sk_assert_eq 2 "$(grep -c 'succeeds: true' "$out/sq/plan.yaml")" "sqitch: two verify checks"
sk_assert_eq 'name: "flipr"' "$(grep '^name:' "$out/sq/plan.yaml")" "sqitch: the project is the plan's name"

# A cross-project requirement becomes a preflight requirement.
sq2="$src/sqitch-x"
mkdir -p "$sq2/deploy"
printf '%%project=billing\ninvoices [flipr:users] 2014-01-03T00:00:00Z Bob <bob@example.com>\nnull 2014-01-04T00:00:00Z Bob <bob@example.com>\n' >"$sq2/sqitch.plan"
echo "CREATE TABLE invoices (id int);" >"$sq2/deploy/invoices.sql"
echo "CREATE TABLE nothing (id int);" >"$sq2/deploy/null.sql" # a step called null is still a name
import sqitch "$sq2" sq2 || sk_fail "sqitch import with a cross-project requirement failed: $(cat "$out/sq2.err")"
grep -A2 "requires:" "$out/sq2/plan.yaml" | grep -q 'plan: "flipr"' || sk_fail "sqitch: flipr:users is not a preflight requirement"

# Every imported plan passes the lint and builds; the import is deterministic.
for p in fw gm sq sq2; do
	"$skein" plan lint "$out/$p" >/dev/null 2>"$out/$p.lint" || sk_fail "plan lint $p: $(cat "$out/$p.lint")"
	"$skein" plan build "$out/$p" -o "$out/$p.plan" 2>"$out/$p.build" || sk_fail "plan build $p: $(cat "$out/$p.build")"
done
"$skein" plan import --from sqitch "$sq" -o "$out/sq-again" --phase canary=af --phase rest=in,ksa 2>/dev/null
diff -r "$out/sq" "$out/sq-again" >/dev/null || sk_fail "two imports of the same source differ"

# --- bad sources and outputs: the reason, and nothing written -------------------
# refused TOOL DIR NEEDLE [OUT]: the import fails (exit 1) saying NEEDLE,
# and OUT (default: a new name) stays absent (or as it was).
refused() {
	local o=${4:-$out/refused} before after rc=0 msg
	before=$(ls -A "$o" 2>/dev/null || echo absent)
	msg=$("$skein" plan import --from "$1" "$2" -o "$o" --phase all=af 2>&1) || rc=$?
	sk_assert_eq 1 "$rc" "import of $2: exit status"
	sk_assert_contains "$msg" "$3" "import of $2: the error"
	after=$(ls -A "$o" 2>/dev/null || echo absent)
	sk_assert_eq "$before" "$after" "import of $2: $o unchanged"
	if ls -d "$o".import-* >/dev/null 2>&1; then sk_fail "a temporary directory was left beside $o"; fi
}
refused flyway "$src/missing" "read $src/missing: No such file or directory"
bad="$src/bad-plan"
mkdir -p "$bad/deploy"
printf '%%project=bad\nok 2020-01-01T00:00:00Z A <a@x>\nbroken 2020-01-01 A <a@x>\n' >"$bad/sqitch.plan"
echo "CREATE TABLE ok (id int);" >"$bad/deploy/ok.sql"
refused sqitch "$bad" "$bad/sqitch.plan:3: cannot read this line: expected a timestamp"
dup="$src/dup"
mkdir -p "$dup"
echo "SELECT 1;" >"$dup/V1__a.sql"
echo "SELECT 2;" >"$dup/V1.0__b.sql"
refused flyway "$dup" "V1.0__b.sql and V1__a.sql have the same version 1"
down="$src/down"
mkdir -p "$down"
echo "CREATE TABLE d (id int);" >"$down/1_d.up.sql"
echo "DROP TABLE e;" >"$down/2_e.down.sql"
refused golang-migrate "$down" "2_e.down.sql has no 2_e.up.sql"
mysql="$src/mysql"
mkdir -p "$mysql"
printf '[core]\n    engine = mysql\n' >"$mysql/sqitch.conf"
printf '%%project=m\n' >"$mysql/sqitch.plan"
refused sqitch "$mysql" "sqitch.conf says engine = mysql"
mkdir -p "$out/empty"
refused golang-migrate "$down" "2_e.down.sql has no 2_e.up.sql" "$out/empty"
refused flyway "$fw" "the directory is not empty" "$out/fw"

# --- the three imported plans, rolled out -----------------------------------------
sk_deploy_three
for p in fw gm sq; do
	signed=$(sk_sign_plan "$out/$p" "imported-$p")
	id=$(sk_skein rollout start "$signed")
	msg=$(sk_skein rollout wait "$id" --quiet 2>&1) || sk_fail "rollout of the imported $p plan: $msg"
done
for r in af in ksa; do
	sk_assert_eq "2" "$(sk_rpsql "$r" "select count(*) from fw_accounts where email is null")" "$r: flyway plan applied"
	sk_assert_eq "t" "$(sk_rpsql "$r" "select indisvalid from pg_index where indexrelid = 'gm_items_sku'::regclass")" "$r: golang-migrate index built"
	sk_assert_eq "email" "$(sk_rpsql "$r" "select column_name from information_schema.columns where table_schema = 'flipr' and column_name = 'email'")" "$r: sqitch plan applied"
	sk_assert_eq "appschema|verify|t|succeeded" \
		"$(sk_rpsql "$r" "select step_id, name, passed, seen from skein.checks where plan_name = 'flipr' and step_id = 'appschema'")" \
		"$r: the verify that returns 1 passed"
done

# A Sqitch verify that raises fails its step, which is rolled back.
sqbad="$src/sqitch-bad"
mkdir -p "$sqbad"/{deploy,verify}
printf '%%project=badverify\nwidgets 2014-01-03T00:00:00Z Bob <bob@example.com>\n' >"$sqbad/sqitch.plan"
echo "CREATE TABLE widgets (id int);" >"$sqbad/deploy/widgets.sql"
echo "SELECT 1/count(*) FROM widgets;" >"$sqbad/verify/widgets.sql"
"$skein" plan import --from sqitch "$sqbad" -o "$out/sqbad" --phase canary=af --phase rest=in,ksa 2>/dev/null
signed=$(sk_sign_plan "$out/sqbad" badverify)
id=$(sk_skein rollout start "$signed")
if msg=$(sk_skein rollout wait "$id" --quiet 2>&1); then
	sk_fail "a raising verify did not fail the rollout: $msg"
fi
sk_assert_contains "$msg" "check verify (post) failed: expected succeeds, saw 22012" "the failure names the verify"
sk_assert_eq "" "$(sk_rpsql af "select to_regclass('widgets')")" "af: the step was rolled back"
sk_assert_eq 0 "$(sk_rpsql af "select count(*) from skein.steps where plan_name = 'badverify'")" "af: no ledger row"
sk_assert_eq "" "$(sk_rpsql in "select to_regclass('widgets')")" "in: the canary's failure stopped the rollout"

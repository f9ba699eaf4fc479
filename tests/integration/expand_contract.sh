#!/usr/bin/env bash
# A two-phase rename and type change across the three regions, under a
# live write load of the old application (pgbench: UPDATEs of name and qty,
# INSERTs without the new columns) for the whole expand:
#   - a rehearsal first changes nothing;
#   - the expand (name -> display_name, same type; qty int -> qty_big
#     bigint with using and reverse) completes: every row has display_name
#     = name and qty_big = qty, the rows written during the backfill too
#     (the trigger's work), and skein.expansions records both as complete;
#   - the new application's writes, which set only the new columns, reach
#     the old ones (reverse);
#   - a contract of a column no expand added is refused with nothing
#     changed; the contract of name and qty drops them and the triggers;
#   - an expand whose from column does not exist fails before changing
#     anything;
#   - a rollback of an expand (another table, another run) drops its
#     trigger, function and column everywhere.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"
. "$SKEIN_SRC/tests/lib/load.sh"

ROWS=50000
sk_setup expand_contract
sk_deploy_three

for r in af in ksa; do
	sk_rpsql "$r" "CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL,
	    qty int NOT NULL DEFAULT 0, touched_at timestamptz);
	  INSERT INTO items (name, qty) SELECT 'item ' || g, g % 1000 FROM generate_series(1, $ROWS) g;
	  CREATE TABLE notes (id int PRIMARY KEY, subject text);
	  INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 5000) g;
	  ANALYZE items; ANALYZE notes" >/dev/null
done

# The old application: a row's name and qty changed, a row added.
cat >"$SK_WORK/old_app.sql" <<SQL
\set id random(1, $ROWS)
UPDATE items SET name = 'renamed ' || :id || '.' || (random() * 1000)::int, qty = qty + 1, touched_at = clock_timestamp() WHERE id = :id;
INSERT INTO items (name, qty, touched_at) VALUES ('added ' || :id, :id % 1000, clock_timestamp());
SQL

# items' columns, triggers and skein_sync_ functions, and its rows.
shape() {
	sk_rpsql "$1" "SELECT (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
	    FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 AND NOT attisdropped)
	  || ' | triggers ' || (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal)
	  || ' | functions ' || (SELECT count(*) FROM pg_proc WHERE proname LIKE 'skein\_sync\_%')
	  || ' | rows ' || (SELECT md5(string_agg(i::text, ',' ORDER BY id)) FROM items i)"
}
run_failing() { # SIGNED: start it, wait for it to fail, print the output
	local id out
	id=$(sk_skein rollout start "$1")
	if out=$(sk_skein rollout wait "$id" --timeout 60s); then
		sk_fail "$1 succeeded: $out"
	fi
	printf '%s\n' "$out"
}

plan="$SK_WORK/plans/items-expand"
sk_plan_yaml "$plan" items-expand <<'YAML'
  - id: 0001_display_name
    kind: expand
    table: items
    column: display_name
    type: text
    from: name
    batch: { min: 500, max: 2000, target: 50ms }
    max_rows_per_second: 20000
  - id: 0002_qty_big
    kind: expand
    table: items
    column: qty_big
    type: bigint
    from: qty
    using: t.qty::bigint
    reverse: t.qty_big::int
    batch: { min: 500, max: 2000, target: 50ms }
    max_rows_per_second: 20000
YAML
signed=$(sk_sign_plan "$plan" items-expand)

# --- rehearsal: nothing changes ---------------------------------------------
before=$(sk_db_snapshot af)
out=$(sk_skein rollout start --rehearse "$signed" 2>&1) || sk_fail "rehearsal failed: $out"
sk_assert_contains "$out" "READY in 3/3 regions" "the rehearsal's verdict"
sk_assert_same_dump "$before" "$(sk_db_snapshot af)" "the rehearsal changed af"

# --- the expand, under the old application's writes -------------------------
for r in af in ksa; do
	sk_load_start "old-app-$r" "$r" "$SK_WORK/old_app.sql" 150
done
t0=$SECONDS
id=$(sk_skein rollout start "$signed")
out=$(sk_skein rollout wait "$id") || sk_fail "the expand failed: $out"
echo "expand of $ROWS rows in 3 regions under load: $((SECONDS - t0)) s"
sk_assert_eq "rollout $id: succeeded in 3/3 regions" "$(tail -n 1 <<<"$out")" "final line"
sleep 1 # writes after the expand are the trigger's alone
for r in af in ksa; do
	sk_load_stop "old-app-$r"
done
for r in af in ksa; do
	sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT count(*) FROM items WHERE display_name IS DISTINCT FROM name OR qty_big IS DISTINCT FROM qty")" \
		"$r: rows whose new columns differ from the old"
	sk_assert_eq t "$(sk_rpsql "$r" "SELECT count(*) > $ROWS FROM items")" "$r: the old application added rows"
	# Rows the old application wrote while the expand ran.
	during=$(sk_rpsql "$r" "SELECT count(*) FROM items i, skein.steps s WHERE s.plan_name = 'items-expand'
	    AND s.step_id = '0001_display_name' AND i.touched_at BETWEEN s.started_at AND s.finished_at")
	((during > 0)) || sk_fail "$r: no write landed while the expand ran"
	sk_assert_eq "2|2|expand,expand" "$(sk_rpsql "$r" "SELECT (SELECT count(*) FROM skein.expansions WHERE plan_name = 'items-expand'
	    AND completed_at IS NOT NULL AND contracted_at IS NULL) || '|' || (SELECT count(DISTINCT trigger_name) FROM skein.expansions)
	    || '|' || (SELECT string_agg(kind, ',' ORDER BY step_id) FROM skein.steps WHERE plan_name = 'items-expand')")" \
		"$r: the ledger"
	sk_assert_eq 2 "$(sk_rpsql "$r" "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'items'::regclass AND tgname LIKE 'skein\_sync\_%'")" \
		"$r: two sync triggers"
	# The new application writes only the new columns; the old ones follow.
	sk_rpsql "$r" "UPDATE items SET display_name = 'set by the new app', qty_big = 4242 WHERE id = 7" >/dev/null
	sk_assert_eq "set by the new app|4242" "$(sk_rpsql "$r" "SELECT name || '|' || qty FROM items WHERE id = 7")" \
		"$r: an update of the new columns alone"
	new_id=$(sk_rpsql "$r" "INSERT INTO items (display_name, qty_big) VALUES ('inserted by the new app', 99) RETURNING id" | head -n 1)
	sk_assert_eq "inserted by the new app|99" "$(sk_rpsql "$r" "SELECT name || '|' || qty FROM items WHERE id = $new_id")" \
		"$r: an insert of the new columns alone"
done

# --- a contract of a column no expand added: refused, nothing changed ------
sk_plan_yaml "$SK_WORK/plans/contract-wrong" contract-wrong <<'YAML'
  - id: 0001_drop_old
    kind: contract
    table: items
    column: name2
    from: name
YAML
wrong=$(sk_sign_plan "$SK_WORK/plans/contract-wrong" contract-wrong)
before=$(shape af)
out=$(run_failing "$wrong")
sk_assert_contains "$out" "contract of items.name: this database's ledger has no completed expand of column name2 from name; run the expand (and let it finish) first" \
	"the refusal"
sk_assert_eq "$before" "$(shape af)" "af changed by the refused contract"
sk_assert_eq 0 "$(sk_rpsql af "SELECT count(*) FROM skein.steps WHERE plan_name = 'contract-wrong'")" "af: the refused contract recorded"

# --- the contract ------------------------------------------------------------
sk_plan_yaml "$SK_WORK/plans/items-contract" items-contract <<'YAML'
  - id: 0001_drop_name
    kind: contract
    table: items
    column: display_name
    from: name
  - id: 0002_drop_qty
    kind: contract
    table: items
    column: qty_big
    from: qty
YAML
contract=$(sk_sign_plan "$SK_WORK/plans/items-contract" items-contract)
id=$(sk_skein rollout start "$contract")
out=$(sk_skein rollout wait "$id") || sk_fail "the contract failed: $out"
for r in af in ksa; do
	sk_assert_eq "id bigint, touched_at timestamp with time zone, display_name text, qty_big bigint | triggers 0 | functions 0" \
		"$(shape "$r" | sed 's/ | rows .*//')" "$r: after the contract"
	sk_assert_eq 2 "$(sk_rpsql "$r" "SELECT count(*) FROM skein.expansions WHERE contracted_at IS NOT NULL")" "$r: contracted in the ledger"
	sk_rpsql "$r" "INSERT INTO items (display_name, qty_big) VALUES ('after the contract', 1)" >/dev/null
done

# --- an expand from a column that does not exist -----------------------------
sk_plan_yaml "$SK_WORK/plans/bad-from" bad-from <<'YAML'
  - id: 0001_subject
    kind: expand
    table: items
    column: label
    type: text
    from: name
YAML
bad=$(sk_sign_plan "$SK_WORK/plans/bad-from" bad-from)
before=$(shape af)
out=$(run_failing "$bad")
sk_assert_contains "$out" "table items has no column name (from)" "the unknown from column"
sk_assert_eq "$before" "$(shape af)" "af changed by the refused expand"
sk_assert_eq 0 "$(sk_rpsql af "SELECT count(*) FROM skein.expansions WHERE plan_name = 'bad-from'")" "af: an expansion row for bad-from"

# --- a rollback of an expand -------------------------------------------------
sk_plan_yaml "$SK_WORK/plans/notes-expand" notes-expand <<'YAML'
  - id: 0001_title
    kind: expand
    table: notes
    column: title
    type: text
    from: subject
YAML
notes=$(sk_sign_plan "$SK_WORK/plans/notes-expand" notes-expand)
id=$(sk_skein rollout start "$notes")
out=$(sk_skein rollout wait "$id") || sk_fail "the notes expand failed: $out"
sk_assert_eq "0|1" "$(sk_rpsql in "SELECT (SELECT count(*) FROM notes WHERE title IS DISTINCT FROM subject)
    || '|' || (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'notes'::regclass AND NOT tgisinternal)")" "in: notes expanded"
out=$(sk_skein rollout rollback --yes "$id" --no-backup --wait 2>&1) || sk_fail "the rollback failed: $out"
for r in af in ksa; do
	sk_assert_eq "id,subject|0|0|0|0" "$(sk_rpsql "$r" "SELECT (SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
	      WHERE attrelid = 'notes'::regclass AND attnum > 0 AND NOT attisdropped)
	  || '|' || (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'notes'::regclass AND NOT tgisinternal)
	  || '|' || (SELECT count(*) FROM skein.expansions WHERE plan_name = 'notes-expand')
	  || '|' || (SELECT count(*) FROM skein.backfills WHERE plan_name = 'notes-expand')
	  || '|' || (SELECT count(*) FROM skein.steps WHERE plan_name = 'notes-expand')")" "$r: after the rollback"
	sk_rpsql "$r" "INSERT INTO notes VALUES (9001, 'no trigger now')" >/dev/null
done
echo "PASS expand_contract"

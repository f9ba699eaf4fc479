#!/usr/bin/env bash
# A move the preflight refuses (BLOCKED) through a real rollout: `rollout
# wait` fails, `rollout status` names the table and the difference (its
# --json says in's error code is "preflight"), and
# nothing was copied or installed: in holds no row of the tenant (beyond
# one planted there on purpose), neither database has a skein_move%
# trigger, af keeps no move state and the tenant still writes in af.
#   (a) a column's type differs: bookings.nights is bigint in in;
#   (b) the tenant already has a row in in (its tenants row);
#   (c) a moved table without a primary key (notes, in both regions).
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"
. "$SKEIN_SRC/tests/lib/move_faults.sh"

sk_setup fault_move_blocked
mf_world 200
mf_writer hotel-af-001 other

# blocked TENANT WHAT IN_ROWS NEEDLE...: a move of TENANT fails BLOCKED,
# status naming each NEEDLE; in keeps IN_ROWS rows of the tenant.
blocked() {
	local tenant=$1 what=$2 in_rows=$3 signed id out status n
	shift 3
	signed=$(mf_plan "$tenant")
	id=$(sk_skein rollout start "$signed")
	if out=$(sk_skein rollout wait "$id" --timeout 30s 2>&1); then
		sk_fail "$what: the move succeeded: $out"
	fi
	status=$(sk_skein rollout status "$id" 2>&1 || true)
	sk_assert_eq preflight "$(sk_skein rollout status "$id" --json | jq -r '.phases[0].regions[0].error.code')" \
		"$what: in's error is the preflight's (BLOCKED)"
	for n in "$@"; do
		sk_assert_contains "$status" "$n" "$what: status names it"
	done
	sk_assert_eq failed "$(sk_skein rollout status "$id" --json | jq -r .state)" "$what: the rollout's state"
	sk_assert_eq "$in_rows" "$(sk_rpsql in "SELECT (SELECT count(*) FROM tenants WHERE tenant_id = '$tenant') +
	  (SELECT count(*) FROM bookings WHERE tenant_id = '$tenant') +
	  (SELECT count(*) FROM invoices WHERE tenant_id = '$tenant')")" "$what: in's rows of the tenant"
	sk_assert_eq 0 "$(mf_triggers af)" "$what: no move trigger in af"
	sk_assert_eq 0 "$(mf_triggers in)" "$what: no move trigger in in"
	for r in af in; do
		sk_assert_eq 0 "$(sk_rpsql "$r" "SELECT CASE WHEN to_regclass('skein.moves') IS NULL THEN 0
		  ELSE (SELECT count(*) FROM skein.moves WHERE tenant_value = '$tenant') END")" "$what: no move state in $r"
	done
	sk_rpsql af "UPDATE bookings SET nights = 3 WHERE tenant_id = '$tenant'" >/dev/null ||
		sk_fail "$what: the tenant cannot write in af"
	echo "$what: $(grep -m1 -o 'halted: .*' <<<"$status")" >&2
}

# (a) a column type differs.
sk_rpsql in "ALTER TABLE bookings ALTER COLUMN nights TYPE bigint" >/dev/null
blocked hotel-af-002 "(a) type" 0 bookings "column nights is integer in the source, bigint in the target"
sk_rpsql in "ALTER TABLE bookings ALTER COLUMN nights TYPE integer" >/dev/null

# (b) the tenant already in the target.
sk_rpsql in "INSERT INTO tenants (tenant_id, name) VALUES ('hotel-af-003', 'already here')" >/dev/null
blocked hotel-af-003 "(b) rows" 1 "tenant hotel-af-003 already has 1 rows in table public.tenants of the target"
sk_assert_eq "already here" "$(sk_rpsql in "SELECT name FROM tenants WHERE tenant_id = 'hotel-af-003'")" "(b) in's own row untouched"
sk_rpsql in "DELETE FROM tenants WHERE tenant_id = 'hotel-af-003'" >/dev/null

# (c) a moved table without a primary key.
for r in af in; do
	sk_rpsql "$r" "CREATE TABLE notes (tenant_id text NOT NULL, body text)" >/dev/null
done
sk_rpsql af "INSERT INTO notes SELECT 'hotel-af-004', 'note ' || g FROM generate_series(1, 5) g" >/dev/null
MF_TABLES=(tenants bookings invoices notes)
blocked hotel-af-004 "(c) no key" 0 "table public.notes has no primary key"
sk_assert_eq 0 "$(sk_rpsql in "SELECT count(*) FROM notes")" "(c) in's notes empty"

mf_stop_writers
mf_assert_writes other
echo "PASS fault_move_blocked"

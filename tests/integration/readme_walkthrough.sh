#!/usr/bin/env bash
# README.md's walkthrough, as a person on a fresh clone runs it:
#
# - `./deploy/local/demo --keep` (the README's first command, with this
#   build's binaries): its rollout succeeds, it prints the export lines and
#   writes them to its env file, and its world stays up;
# - in a fresh directory, with only that env file sourced, the code block
#   of README.md that starts with `skein init` runs line by line under
#   `set -e` (the first failing line is named): init, the coordinator and
#   agents of the new deployment, lint, build, sign, verify, rehearse,
#   start, approve, wait, list, status, report, rollback, stop;
# - what it did is checked where it happened: the greetings table the
#   first plan created was dropped again by the rollback in every
#   region's sandbox database, and the secret keys are mode 0600;
# - `./deploy/local/demo --stop` takes the world down.
set -euo pipefail
SKEIN_SRC=${SKEIN_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
SKEIN_BIN=${SKEIN_BIN:-$SKEIN_SRC/build}
export SKEIN_SRC SKEIN_BIN

fail() {
	echo "readme_walkthrough: $*" >&2
	exit 1
}

work=$(mktemp -d /tmp/skein-readme.XXXXXX)
chmod 755 "$work"
export SK_DEMO_RUN_DIR="$work/run"
walk_pid=""
cleanup() {
	local rc=$?
	if [[ -n "$walk_pid" ]]; then
		kill -TERM -- "-$walk_pid" 2>/dev/null || true
	fi
	if [[ -s "$SK_DEMO_RUN_DIR/workdir" ]]; then
		"$SKEIN_SRC/deploy/local/demo" --stop >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT

# The walkthrough's coordinator listens on skein init's default ports.
for p in 7400 7401; do
	if [[ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]]; then
		fail "port $p is in use; the walkthrough's coordinator (skein init's default) needs it"
	fi
done

# The README's code block that starts with `skein init`.
awk '
	/^```sh$/ { inblock = 1; first = 1; n = 0; next }
	/^```$/ { if (keep) exit; inblock = 0; next }
	inblock && first { first = 0; keep = ($0 ~ /^skein init /) }
	inblock && keep { print }
' "$SKEIN_SRC/README.md" >"$work/walk.lines"
[[ -s "$work/walk.lines" ]] || fail "README.md has no \`\`\`sh block starting with 'skein init'"

echo "== ./deploy/local/demo --keep"
"$SKEIN_SRC/deploy/local/demo" --keep >"$work/demo.out" 2>&1 || {
	tail -n 40 "$work/demo.out" >&2
	fail "deploy/local/demo --keep failed"
}
grep -E '^rollout r-[^:]+: succeeded in 3/3 regions$' "$work/demo.out" >/dev/null ||
	fail "the demo's last line is not its rollout's success: $(tail -n 1 "$work/demo.out")"
env_file="$SK_DEMO_RUN_DIR/env"
[[ -s "$env_file" ]] || fail "demo --keep wrote no $env_file"
for v in PATH SKEIN_COORDINATOR SKEIN_TLS_CA SKEIN_KEY PGSERVICEFILE; do
	grep -q "^    export $v=" "$work/demo.out" || fail "demo --keep did not print 'export $v=...'"
done
# The printed exports drive the demo's world from another shell.
(
	# shellcheck disable=SC1090
	. "$env_file"
	skein rollout list </dev/null | grep -q succeeded
) || fail "the exports demo --keep printed do not reach its coordinator (skein rollout list)"

# The walkthrough: one command a line, in a fresh directory, in its own
# process group (the daemons it starts included), stopped on the first
# failing line.
mkdir "$work/fresh"
{
	echo 'set -euo pipefail'
	# shellcheck disable=SC2016 # for the walkthrough's shell
	echo 'trap '\''echo "walkthrough: line $LINENO failed: $BASH_COMMAND" >&2'\'' ERR'
	cat "$work/walk.lines"
} >"$work/walk.sh"
echo "== README walkthrough ($(wc -l <"$work/walk.lines") lines; demo took ${SECONDS}s)"
(
	cd "$work/fresh"
	# shellcheck disable=SC1090
	. "$env_file"
	# At most 3 minutes: a line that hangs (a coordinator that never answers) fails.
	exec setsid timeout 180 bash "$work/walk.sh" </dev/null >"$work/walk.out" 2>&1
) &
walk_pid=$!
rc=0
wait "$walk_pid" || rc=$?
if ((rc != 0)); then
	tail -n 40 "$work/walk.out" >&2
	for f in "$work"/fresh/mydeploy/*.log; do
		[[ -e "$f" ]] || continue
		echo "--- $f" >&2
		tail -n 15 "$f" >&2
	done
	fail "the README walkthrough failed (exit $rc; see above)"
fi
# Its last line stopped the daemons it started.
if pgrep -g "$walk_pid" >/dev/null 2>&1; then
	fail "the walkthrough's daemons still run after its last line (kill \$(jobs -p))"
fi
walk_pid=""
echo "== walkthrough done at ${SECONDS}s"

d="$work/fresh/mydeploy"
grep -q 'READY' "$work/walk.out" || fail "the rehearsal printed no READY"
grep -qE '^rollout r-[^:]+: succeeded in 3/3 regions' "$work/walk.out" ||
	fail "skein rollout wait did not end with success in 3/3 regions"
for k in "$d"/keys/*.key; do
	[[ "$(stat -c %a "$k")" == 600 ]] || fail "$k is mode $(stat -c %a "$k"), not 0600"
done
# The rollback dropped the table in every region's sandbox database.
# shellcheck disable=SC1090
. "$env_file"
for r in af in ksa; do
	g=$(psql "service=$r" -At -c "select to_regclass('skein.steps') is not null, to_regclass('public.greetings') is null" </dev/null) ||
		fail "cannot read region $r's database sandbox"
	[[ "$g" == "t|t" ]] || fail "region $r: skein's ledger missing or table greetings still there after the rollback ($g)"
done

"$SKEIN_SRC/deploy/local/demo" --stop >"$work/stop.out" 2>&1 || fail "demo --stop failed: $(cat "$work/stop.out")"
[[ ! -s "$SK_DEMO_RUN_DIR/workdir" ]] || fail "demo --stop left its pointer"
echo "readme_walkthrough: ok"

#!/usr/bin/env bash
# A hostile plan directory (CI builds plans from pull requests), end to end
# through the CLI: `plan build` reads only regular files inside the plan
# directory. A FIFO never hangs it, a path or link leading outside is
# refused before the file is read (nothing of it reaches the output), a
# directory or a 1 GiB file is refused; each error names plan.yaml:LINE:COL
# and the path as written, and no plan file is written.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup fault_plan_input
skein=$SKEIN_BIN/skein
plans=$SK_WORK/plans
outside=$SK_WORK/outside
mkdir -p "$outside"
# Files outside the plan that would parse as SQL, or fail to parse and be
# quoted by the parser's message: neither may be read.
printf "SELECT 'root:x:0:0:secret';\n" >"$outside/ok.sql"
printf "SELEC 'root:x:0:0:secret';\n" >"$outside/bad.sql"

# run_rc VAR_OUT VAR_RC CMD...: run, keeping combined output and status.
# A build that hangs (a FIFO opened for reading) is killed after 20 s.
run_rc() {
	local __o=$1 __r=$2 __out __rc=0
	shift 2
	__out=$(timeout 20 "$@" 2>&1) || __rc=$?
	printf -v "$__o" '%s' "$__out"
	printf -v "$__r" '%s' "$__rc"
}

# plan DIR SQL_REF: a one-step plan whose step names SQL_REF, and a good
# s1.sql beside it. The reference is on line 8, column 10.
plan() {
	mkdir -p "$1"
	printf 'CREATE TABLE t (id int);\n' >"$1/s1.sql"
	cat >"$1/plan.yaml" <<EOF
name: hostile
expires: 1h
phases:
  - name: all
    regions: [af]
steps:
  - id: s1
    sql: $2
EOF
}

# refused NAME WANT...: plan build of $plans/NAME fails with exit 1, says
# every WANT, quotes nothing from outside, and writes no plan.
refused() {
	local name=$1 out rc want
	shift
	run_rc out rc "$skein" plan build "$plans/$name" -o "$plans/$name.plan"
	[[ "$rc" != 124 ]] || sk_fail "$name: plan build hung (killed after 20 s)"
	sk_assert_eq 1 "$rc" "$name: plan build exit status: $out"
	for want in "$@"; do
		sk_assert_contains "$out" "$want" "$name: the error"
	done
	[[ "$out" != *"root:"* ]] || sk_fail "$name: the output quotes a file outside the plan: $out"
	[[ ! -e "$plans/$name.plan" ]] || sk_fail "$name: a refused build wrote $plans/$name.plan"
}

# plan.yaml is a FIFO: refused at once, never opened for a blocking read.
mkdir -p "$plans/fifo_yaml"
mkfifo "$plans/fifo_yaml/plan.yaml"
refused fifo_yaml "read plan file $plans/fifo_yaml/plan.yaml: is a FIFO, not a regular file"

# plan.yaml is a link to /etc/passwd.
mkdir -p "$plans/link_yaml"
ln -s /etc/passwd "$plans/link_yaml/plan.yaml"
refused link_yaml "read plan file $plans/link_yaml/plan.yaml: it resolves to a file outside the directory"

# A SQL file that is a FIFO.
plan "$plans/fifo_sql" s2.sql
mkfifo "$plans/fifo_sql/s2.sql"
refused fifo_sql "$plans/fifo_sql/plan.yaml:8:10: steps[0].sql: read SQL file $plans/fifo_sql/s2.sql: is a FIFO, not a regular file"

# sql: an absolute path outside the plan, to a file that would parse, and
# to one whose syntax error would have been quoted.
plan "$plans/abs" "$outside/ok.sql"
refused abs "$plans/abs/plan.yaml:8:10: steps[0].sql: read SQL file $outside/ok.sql: not a path relative to the directory"
plan "$plans/abs_bad" "$outside/bad.sql"
refused abs_bad "$plans/abs_bad/plan.yaml:8:10: steps[0].sql: read SQL file $outside/bad.sql: not a path relative to the directory"
plan "$plans/passwd" /etc/passwd
refused passwd "$plans/passwd/plan.yaml:8:10: steps[0].sql: read SQL file /etc/passwd: not a path relative to the directory"

# sql: ../../../etc/hostname, and ".." to a file beside the plan.
plan "$plans/dotdot" ../../../etc/hostname
refused dotdot "$plans/dotdot/plan.yaml:8:10: steps[0].sql: read SQL file $plans/dotdot/../../../etc/hostname: it climbs out of the directory"
host=$(head -c 64 /etc/hostname 2>/dev/null | tr -d '\n' || true)
if [[ ${#host} -ge 4 && "$SK_WORK" != *"$host"* ]]; then
	run_rc out rc "$skein" plan build "$plans/dotdot" -o "$plans/dotdot.plan"
	[[ "$out" != *"$host"* ]] || sk_fail "the output quotes /etc/hostname: $out"
fi
plan "$plans/beside" ../../outside/bad.sql
refused beside "read SQL file $plans/beside/../../outside/bad.sql: it climbs out of the directory"

# A link inside the plan to /etc/passwd, and to a directory outside.
plan "$plans/link" passwd.sql
ln -s /etc/passwd "$plans/link/passwd.sql"
refused link "$plans/link/plan.yaml:8:10: steps[0].sql: read SQL file $plans/link/passwd.sql: it resolves to a file outside the directory"
plan "$plans/linkdir" out/bad.sql
ln -s "$outside" "$plans/linkdir/out"
refused linkdir "$plans/linkdir/plan.yaml:8:10: steps[0].sql: read SQL file $plans/linkdir/out/bad.sql: it resolves to a file outside the directory"

# A directory as sql:.
plan "$plans/dir" sub
mkdir "$plans/dir/sub"
refused dir "$plans/dir/plan.yaml:8:10: steps[0].sql: read SQL file $plans/dir/sub: is a directory, not a regular file"

# A 1 GiB SQL file (sparse, so the test is fast): refused by its size
# before it is read, in little memory.
plan "$plans/huge" huge.sql
truncate -s 1G "$plans/huge/huge.sql"
refused huge "$plans/huge/plan.yaml:8:10: steps[0].sql: read SQL file $plans/huge/huge.sql: 1073741824 bytes is more than the 8388608 byte limit"
if [[ -x /usr/bin/time ]]; then
	# time exits with skein's status (1): keep only its last line.
	rss_kb=$({ /usr/bin/time -f '%M' "$skein" plan build "$plans/huge" -o "$plans/huge.plan" 2>&1 >/dev/null || true; } | tail -n 1)
	[[ "$rss_kb" =~ ^[0-9]+$ && "$rss_kb" -lt 65536 ]] ||
		sk_fail "refusing a 1 GiB file took $rss_kb KiB of memory"
fi

# A check file outside the plan is refused like a step's SQL.
plan "$plans/check" s1.sql
printf '    post:\n      - name: c\n        file: ../../outside/ok.sql\n        no_rows: true\n' >>"$plans/check/plan.yaml"
refused check "$plans/check/plan.yaml:11:15: steps[0].post[0].file: read SQL file $plans/check/../../outside/ok.sql: it climbs out of the directory"

# What stays inside is fine: a link to a file of the plan, a subdirectory.
plan "$plans/fine" alias.sql
mkdir "$plans/fine/sql"
printf 'CREATE TABLE u (id int);\n' >"$plans/fine/sql/u.sql"
ln -s sql/u.sql "$plans/fine/alias.sql"
run_rc out rc "$skein" plan build "$plans/fine" -o "$plans/fine.plan"
sk_assert_eq 0 "$rc" "a link that stays inside the plan builds: $out"
[[ -s "$plans/fine.plan" ]] || sk_fail "the good build wrote no plan"
run_rc out rc "$skein" plan show "$plans/fine.plan" --json
sk_assert_contains "$out" "\"sql\": \"CREATE TABLE u (id int);\\n\"" "the plan holds the linked file's SQL"
echo "PASS fault_plan_input"

#!/usr/bin/env bash
# coordinator/dashboard/embed.cmake, the build step that makes the
# dashboard's C source: a good page becomes one self-contained document
# and its bytes; a page missing the CSS or JS tag, naming an external URL,
# or whose JS would end the inlined <script> early, is refused with a
# message that names the problem, and the files of the last good run are
# left as they were.
set -euo pipefail
src=${SKEIN_SRC:?}/coordinator/dashboard
work=$(mktemp -d /tmp/skein-dashboard_embed.XXXXXX)
trap 'rm -rf "$work"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# embed DIR: run the script on DIR's page into $work/out.*; prints its output.
embed() {
	cmake -DSRC="$1" -DOUT_HTML="$work/out.html" -DOUT_C="$work/out.c" \
		-P "$src/embed.cmake" 2>&1
}

out=$(embed "$src") || fail "the real page was refused: $out"
[[ -s "$work/out.c" && -s "$work/out.html" ]] || fail "no output from the real page"
grep -q '^const size_t coord_dashboard_html_len = [0-9]*;$' "$work/out.c" ||
	fail "out.c lacks the length"
len=$(sed -n 's/^const size_t coord_dashboard_html_len = \([0-9]*\);$/\1/p' "$work/out.c")
[[ "$len" == "$(stat -c %s "$work/out.html")" ]] || fail "length $len is not the page's size"
# The bytes in out.c are the page's, in order.
bytes=$(grep -o '0x[0-9a-f][0-9a-f]' "$work/out.c" | head -n "$len" | sed 's/0x//' | tr -d '\n')
[[ "$bytes" == "$(od -An -v -tx1 "$work/out.html" | tr -d ' \n')" ]] || fail "out.c's bytes differ from the page"
grep -q 'href="dashboard.css"\|src="dashboard.js"' "$work/out.html" && fail "a tag was left in place"
cp "$work/out.c" "$work/good.c"
cp "$work/out.html" "$work/good.html"

# refused CASE NEEDLE: embed $work/bad and expect failure naming NEEDLE,
# and the last good output untouched.
refused() {
	local out
	if out=$(embed "$work/bad"); then
		fail "$1: accepted"
	fi
	# CMake wraps its messages: compare with the line breaks undone.
	out=$(tr -s ' \n' '  ' <<<"$out")
	[[ "$out" == *"$2"* ]] || fail "$1: the error does not say '$2': $out"
	cmp -s "$work/out.c" "$work/good.c" || fail "$1: out.c changed"
	cmp -s "$work/out.html" "$work/good.html" || fail "$1: out.html changed"
	rm -rf "$work/bad"
}
fresh() {
	rm -rf "$work/bad"
	cp -r "$src" "$work/bad"
}

fresh
sed -i 's|<link rel="stylesheet" href="dashboard.css">||' "$work/bad/index.html"
refused "no CSS tag" 'lacks <link rel="stylesheet" href="dashboard.css">'

fresh
sed -i 's|<script src="dashboard.js"></script>||' "$work/bad/index.html"
refused "no JS tag" 'lacks <script src="dashboard.js"></script>'

fresh
sed -i 's|</body>|<img src="https://example.com/pixel.png" alt=""></body>|' "$work/bad/index.html"
refused "an external URL" 'names an external URL (src="https://'

fresh
sed -i 's|</body>|<a href="//example.com/">x</a></body>|' "$work/bad/index.html"
refused "a scheme-relative URL" 'names an external URL (href="//'

fresh
printf '\nvar s = "</script>";\n' >>"$work/bad/dashboard.js"
refused "JS that ends its script" 'contains </script'

fresh
rm "$work/bad/dashboard.css"
refused "a missing file" 'dashboard.css'

if out=$(cmake -DOUT_HTML="$work/x.html" -DOUT_C="$work/x.c" -P "$src/embed.cmake" 2>&1); then
	fail "no -DSRC: accepted"
fi
[[ "$(tr -s ' \n' '  ' <<<"$out")" == *"-DSRC=... is required"* ]] || fail "no -DSRC: $out"
[[ ! -e "$work/x.c" && ! -e "$work/x.html" ]] || fail "no -DSRC: wrote output"
echo "PASS dashboard_embed"

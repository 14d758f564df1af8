#!/usr/bin/env bash
# packaging/deb.sh on the build tree: the .deb holds /usr/bin/cairn and
# /usr/lib/cairn/cairn-server, depends on their shared libraries, and the
# unpacked cairn finds its server half (cairn snapshot inspect runs there).
# Usage: packaging_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
deb=$("$src/packaging/deb.sh" "$build" "$work")
contents=$(dpkg-deb -c "$deb")
grep -q ' ./usr/bin/cairn$' <<< "$contents" || fail "no /usr/bin/cairn in: $contents"
grep -q ' ./usr/lib/cairn/cairn-server$' <<< "$contents" || fail "no /usr/lib/cairn/cairn-server in: $contents"
depends=$(dpkg-deb -f "$deb" Depends)
grep -q 'libssl' <<< "$depends" || fail "Depends lacks libssl: $depends"
dpkg-deb -x "$deb" "$work/root"
"$work/root/usr/bin/cairn" version > "$work/version" && grep -q Cairn "$work/version" || fail "cairn version"
# An archive that is not one: the error comes from cairn-server's snapshot command.
echo junk > "$work/junk.snap"
set +e
err=$("$work/root/usr/bin/cairn" snapshot inspect "$work/junk.snap" 2>&1 > /dev/null)
code=$?
set -e
[[ $code == 1 ]] || fail "snapshot inspect of junk exited $code"
grep -q -v "cairn-server" <<< "$err" || fail "cairn did not reach cairn-server: $err"
echo "packaging_test: ok ($deb)"
